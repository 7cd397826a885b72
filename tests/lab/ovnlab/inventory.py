"""An Ansible inventory of a lab's hosts (`python -m ovnlab inventory`).

Every host is reached as root over SSH with the lab key, its host key checked
against the lab's known_hosts, and runs Debian's /usr/bin/python3 (with the
`ovs` package of python3-openvswitch, as real OVN hosts have).  Groups, for a
lab named N: `N` with children `N_central` (NB/SB members; the first one also
runs ovn-northd when the lab has it), `N_chassis` and, with SB relays,
`N_relay`.  Host variables
`ovn_lab_roles` list what runs on the host ("nb/0", "sb/0", "northd",
"chassis-1").
"""

HOST_PYTHON = "/usr/bin/python3"


def inventory(*infos):
    """The inventory (a dict, as YAML/JSON inventories are written) of one or more labs."""
    groups = {}
    for info in infos:
        name = info["name"]
        ssh = info["ssh"]
        children = {}
        for kind in ("central", "chassis", "relay"):
            hosts = {}
            for host in info["hosts"]:
                if host["kind"] != kind:
                    continue
                hosts[host["name"]] = {
                    "ansible_connection": "ssh",
                    "ansible_host": host["address"],
                    "ansible_user": ssh["user"],
                    "ansible_ssh_private_key_file": ssh["private_key_file"],
                    "ansible_ssh_common_args": ssh["common_args"],
                    # One SSH command per task instead of a file copy and three commands.
                    "ansible_pipelining": True,
                    "ansible_python_interpreter": HOST_PYTHON,
                    "ovn_lab_roles": host["roles"],
                }
            if hosts or kind != "relay":
                children[f"{name}_{kind}"] = {"hosts": hosts}
        groups[name] = {"children": children}
    return {"all": {"children": groups}}
