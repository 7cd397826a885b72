"""The lab, checked through the OVS/OVN command-line tools rather than through
the lab's own code: ovs-appctl, ovsdb-client, ovn-nbctl, ovn-sbctl, ovs-vsctl."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from ovnlab import Lab, LabError
from ovnlab.addresses import CLAIM_DIR
from ovnlab.waiting import LabTimeout, wait_until

LAB_DIR = os.path.dirname(os.path.abspath(__file__))


def run(*argv, timeout=20):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr or done.stdout}"
    return done.stdout


def cluster_status(member, database):
    """`ovs-appctl cluster/status` of a member, as {field: value} plus "Servers"."""
    text = run("ovs-appctl", "-t", member["ctl"], "cluster/status", database)
    fields = dict(re.findall(r"^([A-Z][^:\n]*): (.*)$", text, re.MULTILINE))
    fields["Servers"] = re.findall(r"^\s+\w+ \(\w+ at (\S+)\)", text, re.MULTILINE)
    return fields


def full_server_id(status):
    return re.search(r"\((\S+)\)", status["Server ID"]).group(1)


def server_id_behind(remote, database):
    """The RAFT server id of whichever server answers on `remote` (_Server)."""
    query = json.dumps(["_Server", {"op": "select", "table": "Database",
                                    "where": [["name", "==", database]], "columns": ["sid"]}])
    rows = json.loads(run("ovsdb-client", "query", remote, query))[0]["rows"]
    return rows[0]["sid"][1]


def pid_gone(pid):
    """True once the pid no longer exists (reaped), or is only a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except FileNotFoundError:
        return True


def silent_client(address, port, results, key, limit):
    """Connect, never answer: record when the server first speaks (its echo
    probe) and when it hangs up, in seconds (None if not within `limit`)."""
    started = time.monotonic()
    first_message = closed = None
    with socket.create_connection((address, port)) as connection:
        connection.settimeout(limit)
        try:
            while True:
                data = connection.recv(4096)
                elapsed = time.monotonic() - started
                if not data:
                    closed = elapsed
                    break
                if first_message is None:
                    first_message = elapsed
        except socket.timeout:
            pass
    results[key] = (first_message, closed)


def silent_clients(targets, limit):
    """Run silent_client against every (address, port) at once."""
    results = {}
    threads = [threading.Thread(target=silent_client, args=(address, port, results,
                                                            (address, port), limit))
               for address, port in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- the shared lab ------------------------------------------------------------

@pytest.mark.parametrize("db", ["nb", "sb"])
def test_cluster_has_three_members_and_one_leader(ovn_lab, db):
    info = ovn_lab.info()[db]
    statuses = [cluster_status(member, info["database"]) for member in info["members"]]
    assert [status["Status"] for status in statuses] == ["cluster member"] * 3
    assert sorted(status["Role"] for status in statuses) == ["follower", "follower", "leader"]
    leader = next(status for status in statuses if status["Role"] == "leader")
    leader_sid = leader["Server ID"].split()[0]
    for status in statuses:
        assert status["Leader"] in ("self", leader_sid)
        assert sorted(status["Servers"]) == \
            sorted(member["raft"] for member in info["members"])
        assert status["Election timer"] == "1000"
    assert ovn_lab.leader(db) == statuses.index(leader)


@pytest.mark.parametrize("db", ["nb", "sb"])
def test_each_member_serves_its_own_address(ovn_lab, db):
    info = ovn_lab.info()[db]
    ctl_tool = {"nb": "ovn-nbctl", "sb": "ovn-sbctl"}[db]
    for member in info["members"]:
        assert info["database"] in run("ovsdb-client", "list-dbs", member["remote"]).split()
        run(ctl_tool, f"--db={member['remote']}", "--no-leader-only", "show")
        # The server answering on the member's address is the member itself,
        # not a peer that took the address over.
        assert server_id_behind(member["remote"], info["database"]) == \
            full_server_id(cluster_status(member, info["database"]))
        assert member["address"].startswith("127.")


@pytest.mark.parametrize("db", ["nb", "sb"])
def test_listeners_come_from_one_connection_row_per_member(ovn_lab, db):
    info = ovn_lab.info()[db]
    ctl_tool = {"nb": "ovn-nbctl", "sb": "ovn-sbctl"}[db]
    targets = [f"ptcp:{info['port']}:{member['address']}" for member in info["members"]]
    assert sorted(run(ctl_tool, f"--db={info['remotes']}", "--bare", "--columns=target",
                      "list", "Connection").split()) == sorted(targets)
    connections = run(ctl_tool, f"--db={info['remotes']}", "--bare", "--columns=connections",
                      "list", "NB_Global" if db == "nb" else "SB_Global").split()
    assert len(connections) == 3
    probes = run(ctl_tool, f"--db={info['remotes']}", "--bare", "--columns=inactivity_probe",
                 "list", "Connection").split()
    assert probes == []  # no probe asked for: the server default applies
    global_table = {"nb": "NB_Global", "sb": "SB_Global"}[db]
    for member, target in zip(info["members"], targets):
        remotes = run("ovs-appctl", "-t", member["ctl"], "ovsdb-server/list-remotes").split()
        assert f"db:{info['database']},{global_table},connections" in remotes
        assert target in remotes
        assert f"ptcp:{info['port']}" not in " ".join(r for r in remotes if r != target)


def test_northd_and_chassis_are_up(ovn_lab):
    info = ovn_lab.info()
    assert "Status: active" in run("ovs-appctl", "-t", info["northd"]["ctl"], "status")
    chassis = info["chassis"][0]
    sb = info["sb"]["remotes"]
    assert run("ovn-sbctl", f"--db={sb}", "--bare", "--columns=name,hostname",
               "list", "Chassis").split() == [chassis["name"], chassis["name"]]
    assert run("ovn-sbctl", f"--db={sb}", "--bare", "--columns=type,ip",
               "list", "Encap").split() == ["geneve", chassis["encap_ip"]]
    external_ids = run("ovs-vsctl", f"--db={chassis['ovs_remote']}", "get", "Open_vSwitch", ".",
                       "external_ids")
    assert f'ovn-remote="{sb}"' in external_ids
    assert "ovn-remote-probe-interval" not in external_ids
    assert run("ovs-appctl", "-t", chassis["controller_ctl"], "version").startswith("ovn-controller")


def test_pause_and_resume_a_follower(ovn_lab):
    nb = ovn_lab.info()["nb"]
    follower = (ovn_lab.leader("nb") + 1) % 3
    pid = nb["members"][follower]["pid"]
    # A paused server still accepts TCP connections (the kernel does) but
    # never answers: a client would wait for its own probe on that remote.
    others = ",".join(member["remote"] for index, member in enumerate(nb["members"])
                      if index != follower)
    ovn_lab.pause("nb", follower)
    try:
        assert run("ps", "-o", "stat=", "-p", str(pid)).strip().startswith("T")
        # The other two still form a majority and accept writes.
        run("ovn-nbctl", f"--db={others}", "set", "NB_Global", ".",
            "external_ids:ovnlab-test=paused")
    finally:
        ovn_lab.resume("nb", follower)
        run("ovn-nbctl", f"--db={nb['remotes']}", "remove", "NB_Global", ".",
            "external_ids", "ovnlab-test")
    assert not run("ps", "-o", "stat=", "-p", str(pid)).strip().startswith("T")
    with pytest.raises(LabError):
        ovn_lab.pause_process(1)  # not a lab process


# -- private labs ----------------------------------------------------------------

def test_row_inactivity_probe_applies_to_each_member_listener(lab_factory):
    lab = lab_factory(databases=("nb",), inactivity_probe_ms=1000)
    nb = lab.info()["nb"]
    targets = [(member["address"], nb["port"]) for member in nb["members"]]
    # A silent client gets the server's echo after 1 s and is dropped 1 s later.
    for first_message, closed in silent_clients(targets, limit=6).values():
        assert 0.8 <= first_message <= 1.6 and 1.7 <= closed <= 3.5, (first_message, closed)

    # A change of one member's row applies to that member's listener at once.
    second = nb["members"][1]
    row = run("ovn-nbctl", f"--db={nb['remotes']}", "--bare", "--columns=_uuid", "find",
              "Connection", f'target="ptcp:{nb["port"]}:{second["address"]}"').strip()
    run("ovn-nbctl", f"--db={nb['remotes']}", "set", "Connection", row, "inactivity_probe=2500")
    results = silent_clients(targets, limit=3.5)
    assert 2.3 <= results[targets[1]][0] <= 3.3, results
    assert results[targets[0]][0] <= 1.6 and results[targets[2]][0] <= 1.6, results


def test_kill_and_restart_the_leader(lab_factory):
    lab = lab_factory(databases=("nb",))
    nb = lab.info()["nb"]
    old = lab.leader("nb")
    old_member = nb["members"][old]
    old_sid = full_server_id(cluster_status(old_member, "OVN_Northbound"))

    lab.kill("nb", old)
    assert pid_gone(old_member["pid"])
    # Nobody serves the dead member's address (no peer took it over).
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((old_member["address"], nb["port"]), timeout=2).close()
    new = lab.leader("nb")
    assert new != old
    survivors = [member for member in nb["members"] if member is not old_member]
    assert {cluster_status(member, "OVN_Northbound")["Role"] for member in survivors} == \
        {"leader", "follower"}

    lab.restart("nb", old)
    restarted = lab.member("nb", old)
    assert restarted["pid"] != old_member["pid"]
    status = cluster_status(restarted, "OVN_Northbound")
    assert status["Status"] == "cluster member"
    assert status["Role"] == "follower"
    assert status["Leader"] == cluster_status(nb["members"][new], "OVN_Northbound")[
        "Server ID"].split()[0]
    assert full_server_id(status) == old_sid  # same server, from its own db file
    assert server_id_behind(restarted["remote"], "OVN_Northbound") == old_sid
    # It serves reads and forwards writes again.
    run("ovn-nbctl", f"--db={restarted['remote']}", "--no-leader-only", "ls-add", "sw-after")
    assert "sw-after" in run("ovn-nbctl", f"--db={nb['remotes']}", "ls-list")
    lab.verify_listeners()


def test_restart_after_a_crash_takes_the_address_back(lab_factory):
    lab = lab_factory(databases=("nb",))
    nb = lab.info()["nb"]
    crashed = nb["members"][2]
    # A SIGKILL the lab did not send: a surviving member takes the address at
    # once, because every member is told to listen on every row's target.
    os.kill(crashed["pid"], signal.SIGKILL)
    wait_until(lambda: server_id_behind(crashed["remote"], "OVN_Northbound") in
               {full_server_id(cluster_status(m, "OVN_Northbound")) for m in nb["members"][:2]},
               10, "a peer to take over the crashed member's address")

    lab.restart("nb", 2)
    for index in range(3):
        member = lab.member("nb", index)
        assert server_id_behind(member["remote"], "OVN_Northbound") == \
            full_server_id(cluster_status(member, "OVN_Northbound"))


def test_election_timer_is_raised_in_steps(lab_factory):
    lab = lab_factory(databases=("nb",), election_timer_ms=5000)
    for member in lab.info()["nb"]["members"]:
        assert cluster_status(member, "OVN_Northbound")["Election timer"] == "5000"


def test_kube_ovn_layout(lab_factory):
    lab = lab_factory(kube_ovn=True, inactivity_probe_ms=1000, northd_probe_ms=7000)
    info = lab.info()
    assert info["kube_ovn"] is True
    for db, global_table in (("nb", "NB_Global"), ("sb", "SB_Global")):
        spec = info[db]
        for member in spec["members"]:
            remotes = run("ovs-appctl", "-t", member["ctl"], "ovsdb-server/list-remotes").split()
            assert "db:Local_Config,Config,connections" in remotes
            assert f"ptcp:{spec['extra_port']}:{member['address']}" in remotes
            assert not any(remote.startswith(f"ptcp:{spec['port']}") for remote in remotes)
            dump = run("ovsdb-client", "-f", "json", "dump", member["remote"], "Local_Config",
                       "Connection")
            rows = json.loads(dump)["data"]
            assert len(rows) == 1 and f"ptcp:{spec['port']}:{member['address']}" in rows[0]
        # The NB/SB Connection rows are not what the servers use here: none exist.
        ctl_tool = {"nb": "ovn-nbctl", "sb": "ovn-sbctl"}[db]
        assert run(ctl_tool, f"--db={spec['remotes']}", "--bare", "--columns=target",
                   "list", "Connection").strip() == ""
    assert run("ovn-nbctl", f"--db={info['nb']['remotes']}", "get", "NB_Global", ".",
               "options:northd_probe_interval").strip() == '"7000"'

    # The Local_Config row's probe applies to its listener; the command-line
    # listener keeps the server default (5 s): after 2.5 s it has not probed.
    member = info["nb"]["members"][0]
    results = silent_clients([(member["address"], 6641), (member["address"], 6651)], limit=2.5)
    first_message, closed = results[(member["address"], 6641)]
    assert first_message <= 1.6 and closed <= 3.0, results
    assert results[(member["address"], 6651)] == (None, None), results

    leader = lab.leader("nb")
    lab.kill("nb", leader)
    lab.restart("nb", leader)
    lab.verify_listeners()


def test_labs_get_distinct_blocks_and_release_them(lab_factory):
    first = lab_factory(databases=("nb",), members=1)
    second = lab_factory(databases=("nb",), members=1)
    assert first.info()["block"] != second.info()["block"]
    claims = [os.path.join(CLAIM_DIR, lab.info()["block"][:-len(".0/24")])
              for lab in (first, second)]
    assert all(os.path.exists(claim) for claim in claims)
    first.stop()
    second.stop()
    assert not any(os.path.exists(claim) for claim in claims)


def test_stop_leaves_no_process_and_no_workdir():
    lab = Lab(northd=True, chassis=1, name="stop-test")
    lab.start()
    info = lab.info()
    pids = [member["pid"] for db in ("nb", "sb") for member in info[db]["members"]]
    pids += [info["northd"]["pid"], info["chassis"][0]["ovsdb_pid"],
             info["chassis"][0]["controller_pid"]]
    lab.pause("sb", 0)  # a paused process must be stopped too
    lab.stop()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), f"pid {pid} left behind"
    assert not os.path.exists(info["workdir"])
    lab.stop()  # idempotent


def test_readiness_failure_names_the_condition_and_shows_the_log(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("first line\nlisten failed: Address already in use\n")
    with pytest.raises(LabTimeout) as failure:
        wait_until(lambda: False, 0.2, "the impossible", [str(log)])
    message = str(failure.value)
    assert "the impossible" in message and "Address already in use" in message


def test_failed_start_shows_the_log_and_cleans_up(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "ovn-controller"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ovn-controller: simulated failure' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    lab = Lab(chassis=1, name="failing")
    with pytest.raises(LabError) as failure:
        lab.start()
    message = str(failure.value)
    assert "chassis-1/controller" in message and "simulated failure" in message
    info = lab.info()
    for member in info["nb"]["members"] + info["sb"]["members"]:
        assert not os.path.exists(f"/proc/{member['pid']}")
    assert not os.path.exists(info["workdir"])


def test_invalid_arguments_fail_before_anything_starts():
    for kwargs in ({"members": 0}, {"databases": ("nb", "xx")}, {"northd": True, "databases": ("nb",)},
                   {"election_timer_ms": 50}, {"inactivity_probe_ms": -1},
                   {"chassis": 1, "databases": ("nb",)}):
        with pytest.raises(LabError):
            Lab(**kwargs)


def test_cli_start_status_stop(tmp_path):
    state_dir = str(tmp_path / "lab")
    env = dict(os.environ, PYTHONPATH=LAB_DIR)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "ovnlab", *args, "--state-dir", state_dir],
                              capture_output=True, text=True, env=env, timeout=120, check=False)

    started = cli("start", "--chassis", "1", "--northd", "--inactivity-probe", "4000",
                  "--chassis-probe", "9000")
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    assert info["owner_pid"] != os.getpid()  # a keeper runs the lab, not the CLI
    nb = info["nb"]["remotes"]
    assert run("ovn-nbctl", f"--db={nb}", "--bare", "--columns=inactivity_probe", "list",
               "Connection").split() == ["4000"] * 3
    assert run("ovs-vsctl", f"--db={info['chassis'][0]['ovs_remote']}", "get", "Open_vSwitch",
               ".", "external_ids:ovn-remote-probe-interval").strip() == '"9000"'

    status = cli("status")
    assert status.returncode == 0, status.stderr
    described = json.loads(status.stdout)
    assert described["owner_state"] == "running"
    assert [m["state"] for m in described["nb"]["members"] + described["sb"]["members"]] == \
        ["running"] * 6
    assert described["northd"]["state"] == "running"
    assert described["chassis"][0]["controller_state"] == "running"

    stopped = cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["survivors"] == []
    pids = [m["pid"] for m in info["nb"]["members"] + info["sb"]["members"]]
    pids += [info["northd"]["pid"], info["chassis"][0]["ovsdb_pid"],
             info["chassis"][0]["controller_pid"]]
    assert all(pid_gone(pid) for pid in pids)
    assert not os.path.exists(state_dir)
    assert cli("status").returncode == 2
