"""kubedc.ovn_tuning.ovsdb_cluster_info against the lab, run through ansible-playbook.

Every fact is checked against an independent reading: `ovs-appctl -t <ctl> cluster/status` and
`ovsdb-server/list-remotes` (parsed by the lab's own parser), `ovsdb-client` for _Server, and
`ovn-nbctl`/`ovn-sbctl` for the listener rows and options.
"""

import json
import subprocess
import sys
import time

import pytest

from ovnlab import parse_cluster_status
from support import oracle
from support.ansible_run import run_all, run_module


def appctl(lab, member, *args):
    """ovs-appctl on the member's host."""
    return oracle.run(oracle.appctl_argv(lab.info(), member, *args, timeout=10))


def oracle_status(lab, db):
    """cluster/status of every member, read with ovs-appctl on its host and parsed by the lab."""
    info = lab.info()[db]
    return [parse_cluster_status(appctl(lab, m, "cluster/status", info["database"]))
            for m in info["members"]]


def server_rows(remote, database):
    """_Server.Database row of one member, read with ovsdb-client."""
    reply = oracle.transact(remote, "_Server", {"op": "select", "table": "Database",
                                                "where": [["name", "==", database]]}, timeout=10)
    return reply[0]["rows"][0]


def facts_args(lab, db, **extra):
    info = lab.info()[db]
    args = {"database": info["database"], "remote": info["remotes"],
            "ctl_socket": [m["ctl"] for m in info["members"]], "timeout": 10}
    args.update(extra)
    return args


def settled(lab, db="nb", timeout=60.0):
    """cluster/status of every member once all are cluster members of one term with one leader, in two
    readings a second apart (ovs-appctl on their hosts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = oracle_status(lab, db)
        if (all(s["status"] == "cluster member" for s in first) and len(set(s["term"] for s in first)) == 1
                and [s["role"] for s in first].count("leader") == 1):
            time.sleep(1)
            second = oracle_status(lab, db)
            if [(s["term"], s["role"], s["status"]) for s in second] == [
                    (s["term"], s["role"], s["status"]) for s in first]:
                return second
        time.sleep(0.5)
    raise AssertionError("the %s cluster did not settle within %.0f s: %r" % (db, timeout, oracle_status(lab, db)))


def stable_oracle(lab, db, attempts=5):
    """cluster/status of every member when two readings agree on term and leader (no election
    in between), so the module's reading can be compared with it."""
    for _attempt in range(attempts):
        first = oracle_status(lab, db)
        second = oracle_status(lab, db)
        key = [(s["term"], s["leader"], s["role"]) for s in first]
        if key == [(s["term"], s["leader"], s["role"]) for s in second]:
            return second
    raise AssertionError("the %s cluster kept changing leader or term" % db)


@pytest.mark.parametrize("db,check", [("nb", False), ("sb", True)])
def test_healthy_cluster_facts_match_ovs_appctl(ovn_lab, db, check):
    before = stable_oracle(ovn_lab, db)
    result = run_module("ovsdb_cluster_info", facts_args(ovn_lab, db), check=check)
    after = stable_oracle(ovn_lab, db)
    assert not result["failed"], result.get("msg")
    assert result["changed"] is False
    info = ovn_lab.info()[db]
    cluster = result["cluster"]
    assert cluster["database"] == info["database"]
    assert [m["remote"] for m in cluster["members"]] == [m["remote"] for m in info["members"]]
    assert [(s["term"], s["leader"]) for s in before] == [(s["term"], s["leader"]) for s in after], \
        "an election happened while the module ran"

    leader_index = next(i for i, s in enumerate(after) if s["role"] == "leader")
    for index, (member, seen) in enumerate(zip(cluster["members"], after)):
        assert member["reachable"] is True and member["error"] is None
        assert member["echo_rtt_ms"] > 0
        status = member["cluster_status"]
        assert member["cluster_status_error"] is None
        assert status["server_id_short"] == seen["sid"]
        assert status["role"] == seen["role"] == member["role"]
        assert status["term"] == seen["term"]
        assert status["election_timer"] == seen["election_timer"] == ovn_lab.election_timer_ms
        assert status["status"] == seen["status"] == "cluster member"
        assert status["disconnections"] == seen["disconnections"]
        assert sorted(s["sid"] for s in status["servers"]) == sorted(seen["servers"])
        # _Server, read with ovsdb-client
        row = server_rows(member["remote"], info["database"])
        assert member["server"]["sid"] == row["sid"][1] == member["sid"]
        assert member["server"]["cid"] == row["cid"][1]
        assert member["server"]["leader"] is row["leader"] is (index == leader_index)
        assert member["server"]["model"] == row["model"] == "clustered"
        assert member["connected"] is True and member["is_leader"] is (index == leader_index)

    leader_sid_short = after[leader_index]["sid"]
    summary = cluster["summary"]
    assert summary["leader"]["sid"].startswith(leader_sid_short)
    assert summary["leader"]["remote"] == info["members"][leader_index]["remote"]
    assert summary["leader"]["address"] == info["members"][leader_index]["raft"]
    assert summary["leaders_reported"] == [summary["leader"]["sid"]]
    assert summary["term"] == max(s["term"] for s in after)
    assert summary["election_timer"] == after[leader_index]["election_timer"]
    assert summary["disconnections_total"] == sum(s["disconnections"] for s in after)
    assert (summary["members_total"], summary["members_connected"], summary["members_status_read"]) == (3, 3, 3)
    assert summary["quorum"] is summary["leader_agreed"] is summary["cluster_id_agreed"] is True
    assert summary["model"] == "clustered"
    assert summary["cluster_id"] == cluster["members"][0]["server"]["cid"]

    # Probe settings, compared with ovn-nbctl/ovn-sbctl
    settings = cluster["probe_settings"]
    assert settings["error"] is None
    assert settings["read_from"] == info["members"][leader_index]["remote"]
    targets = oracle.dbctl(db, info["remotes"], "--bare", "--columns=target", "list", "Connection").split()
    assert sorted(row["target"] for row in settings["connections"]) == sorted(targets)
    assert all(row["referenced"] for row in settings["connections"])
    for row in settings["connections"]:
        probe = oracle.dbctl(db, info["remotes"], "--bare", "--columns=inactivity_probe", "find", "Connection",
                             "target=" + json.dumps(row["target"]))
        assert row["inactivity_probe"] == (int(probe) if probe else None)
        assert row["inactivity_probe_effective"] == (int(probe) if probe else 5000)
    global_table = "NB_Global" if db == "nb" else "SB_Global"
    options = json.loads(oracle.dbctl(db, info["remotes"], "--format=json", "--columns=options", "list", global_table))
    set_options = dict(options["data"][0][0][1])
    for key, value in settings["options_effective"].items():
        assert value == int(set_options.get(key, 5000))
    assert settings["table"] == global_table


def test_listeners_are_marked_with_their_source(ovn_lab):
    """The lab's members listen through db:...,connections (the row ptcp:6641:0.0.0.0) and a
    command-line punix (never probed: its clients are local, so there is nothing to tune or warn
    about)."""
    result = run_module("ovsdb_cluster_info", facts_args(ovn_lab, "nb", probe_settings=True))
    assert not result["failed"], result.get("msg")
    info = ovn_lab.info()["nb"]
    for member, lab_member in zip(result["cluster"]["members"], info["members"]):
        listed = [line.strip() for line in appctl(ovn_lab, lab_member, "ovsdb-server/list-remotes").splitlines()
                  if line.strip()]
        listeners = dict((entry["remote"], entry) for entry in member["listeners"])
        assert sorted(listeners) == sorted(listed)
        db_remote = listeners["db:OVN_Northbound,NB_Global,connections"]
        assert (db_remote["source"], db_remote["table"], db_remote["column"], db_remote["tunable"]) == (
            "database", "NB_Global", "connections", True)
        assert not any(remote.startswith("ptcp:") for remote in listeners)
        punix = listeners[lab_member["host_unix"].replace("unix:", "punix:", 1)]
        assert punix["source"] == "command_line" and punix["tunable"] is False
        assert punix["probed"] is False and punix["inactivity_probe_effective"] == 0
        assert not any(punix["remote"] in warning for warning in result.get("warnings", []))
    assert not any("ptcp:6641" in warning for warning in result.get("warnings", []))


def test_kube_ovn_local_config_listener_rows_and_command_line_port(lab_factory):
    lab = lab_factory(databases=("nb",), kube_ovn=True, members=1)
    member = lab.member("nb", 0)
    result = run_module("ovsdb_cluster_info", {
        "database": "Local_Config", "remote": member["unix"], "ctl_socket": member["ctl"], "timeout": 10})
    assert not result["failed"], result.get("msg")
    cluster = result["cluster"]
    entry = cluster["members"][0]
    assert entry["server"]["model"] == "standalone"
    assert cluster["summary"]["model"] == "standalone" and cluster["summary"]["quorum"] is True
    # A standalone database has no cluster/status: reported as data, not a failure.
    assert entry["cluster_status"] is None and entry["cluster_status_error"]
    rows = json.loads(oracle.run(["ovsdb-client", "--timeout=10", "dump", "--format=json", member["unix"],
                                  "Local_Config", "Connection", "target"]))
    targets = sorted(row[0] for row in rows["data"])
    settings = cluster["probe_settings"]
    assert settings["table"] == "Config"
    assert sorted(row["target"] for row in settings["connections"]) == targets
    assert all(row["referenced"] for row in settings["connections"])
    listeners = dict((l["remote"], l) for l in entry["listeners"])
    assert listeners["db:Local_Config,Config,connections"]["source"] == "database"
    extra = "ptcp:6651:0.0.0.0"
    assert listeners[extra]["source"] == "command_line" and listeners[extra]["tunable"] is False
    assert any(extra in warning for warning in result["warnings"])


def test_stopped_and_killed_members_are_reported_within_the_timeout(lab_factory):
    lab = lab_factory(databases=("nb",))
    info = lab.info()["nb"]
    timeout = 6.0
    lab.pause("nb", 1)
    lab.kill("nb", 2)
    try:
        started = time.monotonic()
        result = run_module("ovsdb_cluster_info", facts_args(lab, "nb", timeout=timeout))
        wall_seconds = time.monotonic() - started
        survivor_status = parse_cluster_status(appctl(lab, info["members"][0], "cluster/status",
                                                      "OVN_Northbound"))
    finally:
        lab.resume("nb", 1)
    assert not result["failed"], result.get("msg")
    cluster = result["cluster"]
    # The module's own clock, and an outside one with room for ansible-playbook's start-up.
    assert cluster["duration_ms"] <= timeout * 1000 + 500
    assert wall_seconds < timeout + 25, "ansible-playbook took %.1f s" % wall_seconds
    first, stopped, killed = cluster["members"]
    # The stopped member accepts connections and never answers: a timeout, as data.
    assert stopped["reachable"] is False and stopped["server"] is None
    assert "within" in stopped["error"] and stopped["remote"] in stopped["error"]
    assert stopped["cluster_status"] is None and "within" in stopped["cluster_status_error"]
    # The killed member refuses.
    assert killed["reachable"] is False and "refused" in killed["error"].lower()
    assert killed["cluster_status"] is None and killed["cluster_status_error"]
    # The third member is reported in full.
    assert first["reachable"] is True and first["error"] is None
    assert first["server"]["sid"].startswith(survivor_status["sid"])
    assert first["cluster_status"]["server_id_short"] == survivor_status["sid"]
    assert first["cluster_status"]["term"] <= survivor_status["term"]
    summary = cluster["summary"]
    assert summary["members_total"] == 3 and summary["members_reachable"] == 1
    assert summary["members_connected"] <= 1 and summary["quorum"] is False


def test_bad_input_fails_with_a_sentence_naming_the_option(ovn_lab):
    info = ovn_lab.info()["nb"]
    ctl = [m["ctl"] for m in info["members"]]
    cases = [
        ({"database": "OVN Northbound", "remote": info["remotes"]}, "database: 'OVN Northbound' is not a database name"),
        ({"database": "OVN_Northbound", "remote": "tcp:127.0.0.1"}, "remote: cannot read 'tcp:127.0.0.1'"),
        ({"database": "OVN_Northbound", "remote": info["remotes"], "ctl_socket": ctl[:2]},
         "ctl_socket: give one control socket per remote"),
        ({"database": "OVN_Northbound", "remote": info["remotes"], "timeout": 0}, "timeout: must be a positive"),
        ({"database": "OVN_Northbound", "remote": info["remotes"], "client_probe_interval": 10},
         "client_probe_interval: 10 is below the minimum"),
    ]
    results = run_all([{"name": "case %d" % i, "kubedc.ovn_tuning.ovsdb_cluster_info": args}
                       for i, (args, _fragment) in enumerate(cases)])
    for i, (args, fragment) in enumerate(cases):
        result = results["case %d" % i]
        assert result.get("failed") is True, (args, result)
        assert fragment in result["msg"], (fragment, result["msg"])
        assert "cluster" not in result


def test_facts_over_tls(lab_factory):
    """ssl: remotes with the lab's CA: the same facts as over TCP, checked against ovs-appctl."""
    lab = lab_factory(name="facts-tls", databases=("nb",), ssl=True)
    tls = lab.info()["ssl"]
    result = run_module("ovsdb_cluster_info", facts_args(
        lab, "nb", ssl_private_key=tls["private_key"], ssl_certificate=tls["certificate"],
        ssl_ca_cert=tls["ca_cert"]))
    assert not result["failed"], result.get("msg")
    cluster = result["cluster"]
    assert cluster["summary"]["quorum"] is True
    statuses = oracle_status(lab, "nb")
    leader_index = [s["role"] for s in statuses].index("leader")
    for member, status in zip(cluster["members"], statuses):
        assert member["remote"].startswith("ssl:")
        assert member["server"]["leader"] is (status["role"] == "leader")
    assert cluster["members"][leader_index]["server"]["leader"] is True


def test_a_host_without_ovs_gets_the_package_to_install(tmp_path):
    """A managed node whose Python lacks the ovs package: the module fails saying what to install."""
    python = tmp_path / "bare" / "bin" / "python3"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    done = subprocess.run([str(python), "-c", "import ovs"], capture_output=True, check=False)
    assert done.returncode != 0, "the bare venv must not see ovs"
    result = run_module("ovsdb_server_status", {}, extra_env={"ANSIBLE_PYTHON_INTERPRETER": str(python)})
    assert result["failed"]
    assert "the 'ovs' Python package is required on the host that runs this module" in result["msg"]
    assert "apt install python3-openvswitch" in result["msg"] and "dnf install python3-openvswitch" in result["msg"]
