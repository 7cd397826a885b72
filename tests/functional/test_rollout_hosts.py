"""The staged rollout with the members read on their own hosts: each deployment names its central
hosts (ovn_deployment.central_hosts), reached over SSH as Ansible hosts of their own, where the
members' control sockets are read (ovsdb_server_status at the platform paths /run/ovn/*.ctl);
NB and SB are read and written over TCP from the controller.

Two private labs (staging and production, 3 central hosts and 1 chassis each) with the incident's
aggressive settings; the profile is the built-in incident_2026 with a 2 s NB election timer, which
is walked through the current leader's host (found at run time, followed when it moves). Oracles:
ovn-nbctl / ovn-sbctl and ovs-appctl run inside every central host against its local sockets, and
a second connection from the controller (state_of).

In file order: check mode writes nothing; a follower host partitioned during the staging soak
fails the gate and rolls staging back (the election timer walked back too), production untouched;
the rollout converges - staging's NB leader moved off the first central host before the run,
production's moved to another host in the middle of its walk - read back in each host, and a
second run changes nothing.
"""
import json
import re
import subprocess
import time

import pytest

from support import oracle
from support.rollout import (
    INITIAL, assert_profile_values, changed_writes, failure_text, files_under, hosts_descriptor, incident_labs,
    messages, rollout, state_of, task_results, write_inventory)

PROFILE = {"nb_election_timer": "2s"}
TUNED = {"nb_listener_probe": 60000, "sb_listener_probe": 60000, "northd_probe_interval": "60000",
         "chassis_probe": "300000", "nb_election_timer": 2000, "sb_election_timer": 1000}
NB_CTL = "/run/ovn/ovnnb_db.ctl"


@pytest.fixture(scope="module")
def labs():
    with incident_labs([("hosts-stg", "hosts-stg", 3, 1), ("hosts-prod", "hosts-prod", 3, 1)]) as started:
        yield started


@pytest.fixture
def inventory(labs, tmp_path):
    return write_inventory(tmp_path / "inventory.yml", {
        "ovn_staging": {"hosts-stg": hosts_descriptor("hosts-stg", labs["hosts-stg"])},
        "ovn_production": {"hosts-prod": hosts_descriptor("hosts-prod", labs["hosts-prod"])}},
        host_labs=labs.values())


def run_rollout(inventory, state_dir, **more):
    more.setdefault("ovn_tuning_profile", PROFILE)
    return rollout(inventory, state_dir, **more)


def inside_hosts(lab):
    """Listener probes, northd probe and election timers as each central host reads them locally."""
    info = lab.info()
    seen = {}
    for host in [h["name"] for h in info["hosts"] if h["kind"] == "central"]:
        nb = json.loads(oracle.run(oracle.on_host(info, host, [
            "ovn-nbctl", "--no-leader-only", "--timeout=20", "--db=unix:/run/ovn/ovnnb_db.sock", "--format=json",
            "--columns=inactivity_probe", "list", "Connection"])))
        sb = json.loads(oracle.run(oracle.on_host(info, host, [
            "ovn-sbctl", "--no-leader-only", "--timeout=20", "--db=unix:/run/ovn/ovnsb_db.sock", "--format=json",
            "--columns=inactivity_probe", "list", "Connection"])))
        northd = oracle.run(oracle.on_host(info, host, [
            "ovn-nbctl", "--no-leader-only", "--timeout=20", "--db=unix:/run/ovn/ovnnb_db.sock", "--if-exists",
            "get", "NB_Global", ".", "options:northd_probe_interval"])).strip().strip('"')
        timers = {}
        for key, database in (("nb", "OVN_Northbound"), ("sb", "OVN_Southbound")):
            text = oracle.run(oracle.on_host(info, host, [
                "ovs-appctl", "--timeout=20", "-t", "/run/ovn/%s_db.ctl" % ("ovnnb" if key == "nb" else "ovnsb"),
                "cluster/status", database]))
            timers[key] = int(re.search(r"^Election timer: (\d+)", text, re.M).group(1))
        seen[host] = {"nb_probes": sorted(row[0] for row in nb["data"]),
                      "sb_probes": sorted(row[0] for row in sb["data"]),
                      "northd_probe_interval": northd, "election_timers": timers}
    return seen


def test_check_mode_over_ssh_writes_nothing(labs, inventory, tmp_path):
    state_dir = str(tmp_path / "state")
    before = {name: state_of(lab) for name, lab in labs.items()}
    inside = {name: inside_hosts(lab) for name, lab in labs.items()}
    for state in before.values():
        assert_profile_values(state, INITIAL)

    run = run_rollout(inventory, state_dir, check=True)

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    assert {name: state_of(lab) for name, lab in labs.items()} == before
    assert {name: inside_hosts(lab) for name, lab in labs.items()} == inside
    assert files_under(state_dir) == []
    # The members' sockets were read on each central host, over SSH.
    reads = task_results(run, "Read the members' control sockets on their hosts at the window's end", "hosts-stg")
    assert reads, run.stdout[-3000:]
    statuses = reads[0]["result"]["results"]
    assert sorted(r["item"] for r in statuses) == sorted(hosts_descriptor("hosts-stg", labs["hosts-stg"])["central_hosts"])
    for item in statuses:
        assert item["servers"]["OVN_Northbound"]["ctl_socket"] == "/run/ovn/ovnnb_db.ctl"
        assert item["servers"]["OVN_Northbound"]["cluster_status"]["status"] == "cluster member"
        assert item["servers"]["OVN_Southbound"]["cluster_status"]["role"] in ("leader", "follower")
    # The plan names every change of the profile (no election timer in it).
    plan = "\n".join(messages(run, "Show the plan", "hosts-stg"))
    assert "hosts-stg: 5 value(s) to change" in plan, plan
    assert "OVN_Northbound election timer 1000 -> 2000 ms" in plan, plan


def wait_settled(lab, timeout=60):
    """Until every member of NB and SB, read in its host, is in the cluster and names one leader."""
    info = lab.info()
    deadline = time.time() + timeout
    while True:
        views = []
        for key, database in (("nb", "OVN_Northbound"), ("sb", "OVN_Southbound")):
            leaders = set()
            for member in info[key]["members"]:
                done = subprocess.run(oracle.appctl_argv(info, member, "cluster/status", database, timeout=5),
                                      capture_output=True, text=True, check=False, timeout=30)
                status = re.search(r"^Status: (.*)$", done.stdout, re.M)
                leader = re.search(r"^Leader: (.*)$", done.stdout, re.M)
                own = re.search(r"^Server ID: (\w+)", done.stdout, re.M)
                views.append(bool(status and status.group(1) == "cluster member"))
                named = leader.group(1) if leader else "unknown"
                leaders.add(own.group(1) if named == "self" and own else named)
            views.append(len(leaders) == 1 and "unknown" not in leaders)
        if all(views):
            return
        assert time.time() < deadline, "the lab did not settle within %d s" % timeout
        time.sleep(1)


def test_partitioned_follower_host_fails_the_staging_gate_and_rolls_back(labs, inventory, tmp_path):
    state_dir = str(tmp_path / "state")
    staging, production = labs["hosts-stg"], labs["hosts-prod"]
    before = {name: state_of(lab) for name, lab in labs.items()}
    info = staging.info()
    leaders = set(info[db]["members"][staging.leader(db)]["host"] for db in ("nb", "sb"))
    follower = next(h["name"] for h in info["hosts"] if h["kind"] == "central" and h["name"] not in leaders)
    seen = {"changed": False, "cut": False}

    def cut_during_soak(record):
        # After staging's change, the gate's read at the window's start: cut the follower off.
        if record["host"] != "hosts-stg":
            return
        task = record["task"].split(" : ")[-1]
        if task == "Show what changed":
            seen["changed"] = True
        elif task == "Read NB and SB at the window's start" and seen["changed"] and not seen["cut"]:
            staging.partition(follower)
            seen["cut"] = True

    try:
        run = run_rollout(inventory, state_dir, ovn_tuning_soak_seconds=10, on_record=cut_during_soak)
    finally:
        if seen["cut"]:
            staging.heal(follower)
    assert seen["cut"], run.stdout[-3000:]
    assert run.returncode != 0
    text = failure_text(run)
    assert "hosts-stg: ROLLED BACK to" in text, text
    assert "%s is unreachable" % follower in text, text
    wait_settled(staging)
    # Staging is back where it was; production never started.
    assert state_of(staging) == before["hosts-stg"]
    assert state_of(production) == before["hosts-prod"]
    assert not task_results(run, "Show what changed", "hosts-prod")


def nb_leader_host(lab):
    info = lab.info()
    return info["nb"]["members"][lab.leader("nb")]["host"]


def transfer_nb_leadership(lab):
    """The NB leader hands leadership to a peer (as ovsdb-server does before writing a snapshot)."""
    lab.run_on(nb_leader_host(lab), ["ovs-appctl", "--timeout=10", "-t", NB_CTL, "cluster/failure-test",
                                     "transfer-leadership"])


def test_rollout_over_ssh_converges_and_a_second_run_changes_nothing(labs, inventory, tmp_path):
    state_dir = str(tmp_path / "state")
    staging, production = labs["hosts-stg"], labs["hosts-prod"]
    first = [h["name"] for h in staging.info()["hosts"] if h["kind"] == "central"][0]
    for _attempt in range(10):
        if nb_leader_host(staging) != first:
            break
        transfer_nb_leadership(staging)
        time.sleep(1)
    assert nb_leader_host(staging) != first, "the staging NB leader would not leave %s" % first
    moved = {}

    def move_prod_leader_mid_walk(record):
        # The first read of production's walk has found the leader: move leadership before the step.
        if (record["host"] == "hosts-prod" and not moved
                and record["task"].split(" : ")[-1] == "Read every member's role and timer on its host"):
            moved["from"] = nb_leader_host(production)
            transfer_nb_leadership(production)
            moved["to"] = nb_leader_host(production)

    run = run_rollout(inventory, state_dir, on_record=move_prod_leader_mid_walk)

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    for name, lab in labs.items():
        assert_profile_values(state_of(lab), TUNED)
        for host, seen in inside_hosts(lab).items():
            assert seen["nb_probes"] == [60000] and seen["sb_probes"] == [60000], (host, seen)
            assert seen["northd_probe_interval"] == "60000", (host, seen)
            assert seen["election_timers"] == {"nb": 2000, "sb": 1000}, (host, seen)
    gate = messages(run, "Gate - NB and SB are healthy after the change", "hosts-prod")
    assert "gate passed" in gate, gate
    # Production's leader moved after the walk had found it: a step failed on the old leader's host
    # and a later round stepped on the new leader's.
    assert moved and moved["from"] != moved["to"], moved
    steps = task_results(run, "Step the election timer on the leader's host", "hosts-prod")
    tried = [r for r in steps if r["status"] != "skipped"]
    assert tried and tried[-1]["status"] == "ok" and tried[-1]["result"]["election_timer_after"] == 2000, tried
    assert any(r["status"] == "failed" for r in tried), [r["result"].get("msg") for r in tried]
    assert "OVN_Northbound election timer 1000 -> 2000 ms" in "\n".join(
        messages(run, "Show what changed", "hosts-stg"))

    again = run_rollout(inventory, state_dir)

    assert again.returncode == 0, failure_text(again) or again.stdout[-4000:]
    assert changed_writes(again) == []
    for host in ("hosts-stg", "hosts-prod"):
        assert messages(again, "Show the plan", host)[0].endswith("- already tuned")
