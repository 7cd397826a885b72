"""A lab as the collection sees it: its deployment descriptor (``ovn_deployment``, see
roles/config/meta/argument_specs.yml) and the variables of the lab's own checks beside it
(``ovn_lab_oracle``), both from the lab's info().

The one mapping from a lab to a descriptor: `python -m ovnlab status` adds it to what it prints
(``inventory_vars``, which playbooks/lab.yml renders into its inventory), and the tests
(tests/support/rollout.py) and the benchmarks (bench/common.py) call ``descriptor``.

Two modes, as lab.yml's ``lab_inventory_mode``:

controller
    The modules run on the controller: NB and SB over the lab's network, the members' control
    sockets (``ctl_sockets``) and each chassis' database (``chassis``) through the lab's workdir.
hosts
    The central and chassis hosts are inventory hosts reached over SSH (``central_hosts``,
    ``chassis_hosts``, named by their inventory names); NB and SB over the lab's network.

A kube-ovn lab also gets ``local_config``: each server's Local_Config on its unix socket.
"""

MODES = ("controller", "hosts")


def descriptor(info, name=None, mode="controller"):
    """The ovn_deployment of the lab described by ``info`` (Lab.info(), lab.json's or
    `python -m ovnlab status`'s), named ``name`` (default: the lab's name)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    deployment = {"name": info["name"] if name is None else name}
    for db in ("nb", "sb"):
        deployment[db] = {"remote": info[db]["remotes"]}
        if mode == "controller":
            deployment[db]["ctl_sockets"] = [member["ctl"] for member in info[db]["members"]]
    if mode == "hosts":
        deployment["central_hosts"] = [host["name"] for host in info["hosts"] if host["kind"] == "central"]
    if info.get("kube_ovn"):
        deployment["local_config"] = {"remotes": [member["unix"] for db in ("nb", "sb")
                                                  for member in info[db]["members"]]}
    if info["chassis"]:
        if mode == "hosts":
            deployment["chassis_hosts"] = [chassis["host"] for chassis in info["chassis"]]
        else:
            deployment["chassis"] = [{"name": chassis["name"], "remote": chassis["ovs_remote"]}
                                     for chassis in info["chassis"]]
    return deployment


def oracle(info, mode="controller"):
    """Where the lab's own checks (extensions/molecule) run a CLI: inside the NB members' and the
    chassis' hosts (``enter``: the command prefix that enters a host's namespaces), where their
    control sockets and local databases are. Each chassis by the name the descriptor gives it (its
    inventory host in hosts mode). Not used by the collection."""
    enter = dict((host["name"], host["enter"]) for host in info["hosts"])
    return {
        "nb_members": [{"enter": enter[member["host"]], "ctl": member["host_ctl"]}
                       for member in info["nb"]["members"]],
        "chassis": [{"name": chassis["host"] if mode == "hosts" else chassis["name"],
                     "enter": enter[chassis["host"]]} for chassis in info["chassis"]],
    }


def inventory_vars(info, name=None):
    """The host variables of the lab's deployment in an inventory, by mode:
    {mode: {"ovn_deployment": ..., "ovn_lab_oracle": ...}}."""
    return dict((mode, {"ovn_deployment": descriptor(info, name, mode), "ovn_lab_oracle": oracle(info, mode)})
                for mode in MODES)
