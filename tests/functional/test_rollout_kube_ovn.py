"""The rollout of a kube-ovn deployment (Local_Config listener probes, the chassis probe live on the node
and persisted in the ovs-ovn DaemonSet env, and the ovn-central Deployment env - both workloads on the
Kubernetes API stand-in of tests/k8s_standin, not a real kube-apiserver), and the lab playbook that
starts, reports and stops labs for a rollout.

Oracles: ovsdb-client (each member's Local_Config), ovs-vsctl on the chassis, the stand-in's Deployment
and DaemonSet read over plain HTTP and its count of replaced pods, ovn-nbctl / ovs-appctl / ovs-vsctl
against the labs the lab playbook wrote into its inventory.
"""

import json
import os

import yaml

# The Kubernetes API stand-in's fixtures.
from k8s_standin.fixtures import (  # noqa: F401 pylint: disable=unused-import
    http_get_daemonset, http_get_deployment, k8s_standin, k8s_standin_server)
from k8s_standin.server import ovn_central_deployment, ovs_ovn_daemonset
from ovnlab import read_state
from support import oracle
from support.ansible_run import run_playbook
from support.rollout import (
    HEALTH, LAB_PLAYBOOK, WRITING_ACTIONS, changed_writes, cli, descriptor, expected_checksum, failure_text,
    messages, rollout, task_results)


def local_config_probes(lab):
    """target -> inactivity_probe of every member's Local_Config, read with ovsdb-client."""
    probes = {}
    for db in ("nb", "sb"):
        for member in lab.info()[db]["members"]:
            out = json.loads(cli("ovsdb-client", "--timeout=20", "--format=json", "dump", member["unix"],
                                 "Local_Config", "Connection", "target", "inactivity_probe"))
            table = out[0] if isinstance(out, list) else out
            columns = table["headings"]
            for row in table["data"]:
                values = dict(zip(columns, row))
                probe = values["inactivity_probe"]
                probes[(member["unix"], values["target"])] = None if probe == ["set", []] else probe
    return probes


def _env(container):
    return dict((entry["name"], entry.get("value", entry.get("valueFrom"))) for entry in container["env"])


def central_env(server):
    return _env(http_get_deployment(server)["spec"]["template"]["spec"]["containers"][0])


def ovs_env(server):
    return _env(http_get_daemonset(server)["spec"]["template"]["spec"]["containers"][0])


def chassis_probe(info):
    return cli(*oracle.vsctl_argv(info, info["chassis"][0], "get", "Open_vSwitch", ".",
                                  "external_ids:ovn-remote-probe-interval")).strip('"')


def kube_lab(lab_factory, k8s_standin, tmp_path, name, **kube):
    """A kube-ovn lab (1 member, 1 chassis with a 5 s probe) and a staging inventory for it."""
    lab = lab_factory(name=name, members=1, kube_ovn=True, chassis=1, chassis_probe_ms=5000)
    info = lab.info()
    deployment = descriptor("kube-1", lab)  # with local_config: each member's Local_Config
    deployment["kube_ovn"] = dict({"kubeconfig": k8s_standin.kubeconfig}, **kube)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"ovn_staging": {"hosts": {"kube-1": {"ovn_deployment": deployment}}}}}}))
    return lab, info, str(inventory)


def test_kube_ovn_local_config_probes_and_central_env_last_with_rollback(lab_factory, k8s_standin, tmp_path):
    """kube-ovn clustered mode: the listeners live in each member's Local_Config; the chassis probe is set
    live on the node and persisted in the ovs-ovn DaemonSet (OnDelete: no pod restarts); the ovn-central
    Deployment env (here on the Kubernetes API stand-in) changes last; all of it is rolled back together."""
    lab, info, inventory = kube_lab(lab_factory, k8s_standin, tmp_path, "rollout-kube")
    state_dir = str(tmp_path / "state")
    env_before = central_env(k8s_standin)
    ovs_before = ovs_env(k8s_standin)
    probes_before = local_config_probes(lab)
    assert len(probes_before) == 2 and set(probes_before.values()) == {None}
    assert chassis_probe(info) == "5000" and ovs_before["OVN_REMOTE_PROBE_INTERVAL"] == "10000"

    failed = rollout(inventory, state_dir, ovn_tuning_profile={},
                     ovn_tuning_assertions=["summary.members_total == `99`"])

    assert failed.returncode != 0
    changed = messages(failed, "Show what changed", "kube-1")
    assert changed[0] == "kube-1: 7 value(s) changed", changed
    assert changed[1:3] == ["Local_Config listener %s: inactivity_probe unset -> 60000" % target
                            for _remote, target in sorted(probes_before)]
    assert changed[3] == "NB_Global options:northd_probe_interval unset -> 60000"
    assert changed[4] == "chassis %s external_ids:ovn-remote-probe-interval 5000 -> 300000" % info["chassis"][0]["name"]
    assert changed[5] == ("kube-system/ovs-ovn env OVN_REMOTE_PROBE_INTERVAL 10000 -> 300000 (kept for each pod's"
                          " next restart, none restarts now)")
    assert sorted(changed[6:]) == [
        "kube-system/ovn-central env OVN_LEADER_PROBE_INTERVAL 5 -> 60 (the pods restart)",
        "kube-system/ovn-central env OVN_NORTHD_PROBE_INTERVAL 5000 -> 60000 (the pods restart)"]
    assert "ROLLED BACK" in failure_text(failed)
    assert central_env(k8s_standin) == env_before and ovs_env(k8s_standin) == ovs_before
    assert local_config_probes(lab) == probes_before and chassis_probe(info) == "5000"

    run = rollout(inventory, state_dir, ovn_tuning_profile={})

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    env_after = central_env(k8s_standin)
    assert env_after["OVN_LEADER_PROBE_INTERVAL"] == "60" and env_after["OVN_NORTHD_PROBE_INTERVAL"] == "60000"
    assert dict(env_after, OVN_LEADER_PROBE_INTERVAL="5", OVN_NORTHD_PROBE_INTERVAL="5000") == env_before
    assert set(local_config_probes(lab).values()) == {60000}
    # The chassis runs the new probe now, and its next ovs-ovn pod start writes the same value.
    assert chassis_probe(info) == "300000"
    assert ovs_env(k8s_standin) == dict(ovs_before, OVN_REMOTE_PROBE_INTERVAL="300000")
    assert k8s_standin.restarts_of("kube-system", "ovs-ovn") == 0
    assert http_get_daemonset(k8s_standin)["status"]["updatedNumberScheduled"] == 0  # all 3 wait (OnDelete)
    # The Deployment env is the last write of the change (it restarts the database pods); after it only
    # the Local_Config probes are set again (kube-ovn recreates Local_Config at a pod start).
    plan_end = max(i for i, r in enumerate(run.records)
                   if r["host"] == "kube-1" and r["task"].endswith("Show the plan"))
    writes = [r for r in run.records[plan_end + 1:] if r["host"] == "kube-1" and r["status"] != "skipped"
              and r["action"].split(".")[-1] in WRITING_ACTIONS]
    assert [r["action"].split(".")[-1] for r in writes] == [
        "ovsdb_connection", "ovn_global_options", "ovn_chassis_probe", "ovs_ovn_env", "ovn_central_env",
        "ovsdb_connection"], [r["task"] for r in writes]
    assert writes[-1]["result"]["changed"] is False
    record_path = os.path.join(state_dir, "promotions", expected_checksum({}) + ".json")
    with open(record_path) as handle:
        assert json.load(handle)["status"] == "promoted"


def test_a_rolling_update_ovs_ovn_daemonset_stops_the_plan_before_anything_changes(lab_factory, k8s_standin,
                                                                                   tmp_path):
    """With updateStrategy RollingUpdate, persisting the chassis probe would restart OVS on every node: the
    plan (the modules in check mode) refuses it unless the deployment allows it, and nothing changes."""
    k8s_standin.reset()
    k8s_standin.seed(ovn_central_deployment())
    k8s_standin.seed(ovs_ovn_daemonset(strategy="RollingUpdate"))
    lab, info, inventory = kube_lab(lab_factory, k8s_standin, tmp_path, "rollout-kube-ru")
    daemonset = http_get_daemonset(k8s_standin)
    deployment = http_get_deployment(k8s_standin)
    probes_before = local_config_probes(lab)

    run = rollout(inventory, str(tmp_path / "state"), ovn_tuning_profile={})

    assert run.returncode != 0
    refused = [r for r in run.records if r["host"] == "kube-1" and r["status"] == "failed"
               and r["action"].endswith("ovs_ovn_env")]
    assert refused and refused[0]["result"]["changes"] == [
        {"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "10000", "after": "300000"}]
    assert "allow_restart: DaemonSet kube-system/ovs-ovn has updateStrategy RollingUpdate" in \
        refused[0]["result"]["msg"]
    # It failed in the plan (the modules in check mode): kube-1 ran nothing after it.
    at = run.records.index(refused[0])
    assert [r["task"] for r in run.records[at + 1:] if r["host"] == "kube-1" and r["status"] != "skipped"
            and r["action"].split(".")[-1] in WRITING_ACTIONS] == []
    assert any(r["task"].endswith("Show the plan") for r in run.records[at:]) is False
    assert http_get_daemonset(k8s_standin)["metadata"]["resourceVersion"] == daemonset["metadata"]["resourceVersion"]
    assert http_get_deployment(k8s_standin)["metadata"]["resourceVersion"] == \
        deployment["metadata"]["resourceVersion"]
    assert k8s_standin.requests_of("PATCH") == []
    assert chassis_probe(info) == "5000" and local_config_probes(lab) == probes_before


def test_lab_playbook_starts_reports_and_stops_labs(tmp_path):
    lab_dir = str(tmp_path / "lab")
    inventory_path = str(tmp_path / "lab-inventory.yml")
    lab_vars = {"lab_state_dir": lab_dir, "lab_inventory_path": inventory_path,
                "lab_deployments": [{"name": "labpb-stg", "group": "ovn_staging", "members": 1},
                                    {"name": "labpb-prod", "group": "ovn_production", "members": 1,
                                     "chassis": 1, "kube_ovn": True}]}
    try:
        run = run_playbook(LAB_PLAYBOOK, extra_vars=dict(lab_vars, lab_action="start"))
        assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
        with open(inventory_path) as handle:
            written = yaml.safe_load(handle)
        assert written["all"]["vars"]["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
        stg = written["all"]["children"]["ovn_staging"]["hosts"]["labpb-stg"]["ovn_deployment"]
        prod = written["all"]["children"]["ovn_production"]["hosts"]["labpb-prod"]["ovn_deployment"]
        assert stg["name"] == "labpb-stg" and "chassis" not in stg and "local_config" not in stg
        assert prod["chassis"][0]["name"] == "chassis-1" and prod["chassis"][0]["remote"].startswith("unix:")
        assert len(prod["local_config"]["remotes"]) == 2
        # The remotes it wrote are live databases: read them with the CLIs.
        assert oracle.nbctl(stg["nb"]["remote"], "get", "NB_Global", ".", "_uuid")
        # The sockets it wrote are the members' own (read on the member's and the chassis' host).
        prod_lab = read_state(os.path.join(lab_dir, "labpb-prod"))["info"]
        assert prod["sb"]["ctl_sockets"] == [m["ctl"] for m in prod_lab["sb"]["members"]]
        assert prod["chassis"][0]["remote"] == prod_lab["chassis"][0]["ovs_remote"]
        assert cli(*oracle.appctl_argv(prod_lab, prod_lab["sb"]["members"][0], "cluster/status", "OVN_Southbound"))
        assert cli(*oracle.vsctl_argv(prod_lab, prod_lab["chassis"][0], "get", "Open_vSwitch", ".", "_uuid"))
        # With lab_inventory_mode=hosts the central hosts are SSH hosts of the inventory, where the
        # health playbook reads the members' control sockets.
        hosts_inventory = str(tmp_path / "lab-hosts-inventory.yml")
        again = run_playbook(LAB_PLAYBOOK, extra_vars=dict(lab_vars, lab_action="start", lab_inventory_mode="hosts",
                                                           lab_inventory_path=hosts_inventory))
        assert again.returncode == 0, failure_text(again) or again.stdout[-4000:]
        with open(hosts_inventory) as handle:
            written_hosts = yaml.safe_load(handle)
        stg_hosts = written_hosts["all"]["children"]["ovn_staging"]["hosts"]["labpb-stg"]["ovn_deployment"]
        central = written_hosts["all"]["children"]["labpb_stg_central"]["hosts"]
        assert "ctl_sockets" not in stg_hosts["nb"] and stg_hosts["central_hosts"] == list(central)
        assert all(host["ansible_connection"] == "ssh" for host in central.values())
        # The chassis are SSH hosts too, named in chassis_hosts; that lab runs no ovn-northd, so its chassis
        # gate only asks ovn-controller (no nb_cfg wait).
        prod_hosts = written_hosts["all"]["children"]["ovn_production"]["hosts"]["labpb-prod"]["ovn_deployment"]
        chassis_group = written_hosts["all"]["children"]["labpb_prod_chassis"]
        assert "chassis" not in prod_hosts and prod_hosts["chassis_hosts"] == list(chassis_group["hosts"])
        assert chassis_group["vars"] == {"ovn_tuning_chassis_sync": False}
        assert all(host["ansible_connection"] == "ssh" for host in chassis_group["hosts"].values())
        assert "labpb_stg_chassis" not in written_hosts["all"]["children"]
        health = run_playbook(HEALTH, inventory=hosts_inventory, extra_args=["--limit", "labpb-stg"])
        assert health.returncode == 0, failure_text(health) or health.stdout[-4000:]
        reads = task_results(health, "Read the members' control sockets on their hosts at the window's end",
                             "labpb-stg")[0]["result"]["results"]
        assert [r["item"] for r in reads] == list(central)
        assert reads[0]["servers"]["OVN_Northbound"]["cluster_status"]["status"] == "cluster member"
        judged = task_results(health, "Read and judge NB and SB", "labpb-stg")[0]["result"]["results"]
        member = judged[0]["facts"]["end"]["members"][0]
        assert member["host"] == list(central)[0] and member["status_source"] == "host"
        assert member["cluster_status"]["role"] == "leader"
        status = run_playbook(LAB_PLAYBOOK, extra_vars=dict(lab_vars, lab_action="status"))
        assert status.returncode == 0 and changed_writes(status) == []
        shown = messages(status, "Show the labs", "localhost")
        assert shown[0].startswith("labpb-stg  " + stg["nb"]["remote"]), shown
    finally:
        stop = run_playbook(LAB_PLAYBOOK, extra_vars=dict(lab_vars, lab_action="stop"))
    assert stop.returncode == 0, failure_text(stop)
    assert not os.path.exists(inventory_path)
    assert not os.path.exists(os.path.join(lab_dir, "labpb-stg")) and not os.path.exists(
        os.path.join(lab_dir, "labpb-prod"))
    done = oracle.attempt(oracle.ctl_argv("nb", stg["nb"]["remote"], "get", "NB_Global", ".", "_uuid", timeout=3),
                          timeout=30)
    assert done.returncode != 0
