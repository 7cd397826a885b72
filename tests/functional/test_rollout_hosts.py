"""The staged rollout with the members and chassis as hosts of their own: each deployment names its
central hosts and chassis hosts (ovn_deployment.central_hosts, chassis_hosts), reached over SSH as
Ansible hosts, where the members' control sockets are read (ovsdb_server_status at the platform
paths /run/ovn/*.ctl) and each chassis' probe is set against its local
unix:/run/openvswitch/db.sock, in batches with a gate after each (ovn-controller connected,
Chassis_Private.nb_cfg caught up); NB and SB are read and written over TCP from the controller.

Two private labs (staging and production, 3 central hosts, ovn-northd and 3 chassis each) with the incident's
aggressive settings; the profile is the built-in incident_2026 with a 2 s NB election timer, which
is walked through the current leader's host (found at run time, followed when it moves). Oracles:
ovn-nbctl / ovn-sbctl and ovs-appctl run inside every central host against its local sockets,
ovs-vsctl inside every chassis host, and a second connection from the controller (state_of).

In file order: check mode writes nothing; a follower host partitioned during the staging soak
fails the gate and rolls staging back (the election timer walked back too), production untouched;
the rollout converges - staging's NB leader moved off the first central host before the run,
production's moved to another host in the middle of its walk - read back in each host, and a
second run changes nothing; then a staging chassis whose ovn-controller is stopped fails its batch's
gate: that batch and the canary before it are put back, the last chassis is never touched, and
production never starts.
"""
import json
import re
import time

import pytest

from support import oracle
from support.rollout import (
    INITIAL, assert_profile_values, changed_writes, chassis_probes, failure_text, files_under, hosts_descriptor,
    incident_labs, messages, rollout, state_of, task_results, touched, write_inventory)

PROFILE = {"nb_election_timer": "2s"}
TUNED = {"nb_listener_probe": 60000, "sb_listener_probe": 60000, "northd_probe_interval": "60000",
         "chassis_probe": "300000", "nb_election_timer": 2000, "sb_election_timer": 1000}
NB_CTL = "/run/ovn/ovnnb_db.ctl"


@pytest.fixture(scope="module")
def labs():
    with incident_labs([("hosts-stg", "hosts-stg", 3, 3, True), ("hosts-prod", "hosts-prod", 3, 3, True)]) as started:
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
        nb = json.loads(oracle.run(oracle.on_host(info, host, oracle.ctl_argv(
            "nb", "unix:/run/ovn/ovnnb_db.sock", "--no-leader-only", "--format=json",
            "--columns=inactivity_probe", "list", "Connection"))))
        sb = json.loads(oracle.run(oracle.on_host(info, host, oracle.ctl_argv(
            "sb", "unix:/run/ovn/ovnsb_db.sock", "--no-leader-only", "--format=json",
            "--columns=inactivity_probe", "list", "Connection"))))
        northd = oracle.run(oracle.on_host(info, host, oracle.ctl_argv(
            "nb", "unix:/run/ovn/ovnnb_db.sock", "--no-leader-only", "--if-exists",
            "get", "NB_Global", ".", "options:northd_probe_interval"))).strip().strip('"')
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
    chassis = {name: chassis_probes(lab) for name, lab in labs.items()}
    for state in before.values():
        assert_profile_values(state, INITIAL)
    assert all(set(probes.values()) == {"5000"} for probes in chassis.values()), chassis

    run = run_rollout(inventory, state_dir, check=True)

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:] + run.stderr[-2000:]
    assert {name: state_of(lab) for name, lab in labs.items()} == before
    assert {name: inside_hosts(lab) for name, lab in labs.items()} == inside
    assert {name: chassis_probes(lab) for name, lab in labs.items()} == chassis
    assert files_under(state_dir) == []
    # Each chassis was read on its host and would change; the batches ran in check mode.
    for name, lab in labs.items():
        for host in chassis[name]:
            read = task_results(run, "Read this chassis' probe keys and what the profile would change", host)
            assert read and read[0]["result"]["external_ids_before"] == {"ovn-remote-probe-interval": "5000"}, read
            assert read[0]["result"]["external_ids_after"] == {"ovn-remote-probe-interval": "300000"}, read
            applied = task_results(run, "Set ovn-controller's probe intervals on this chassis", host)
            assert applied and applied[0]["result"]["changed"] is True, applied
    assert "3 chassis host(s); 3 would change" in messages(run, "Report the deployment's chassis", "hosts-prod")
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
    assert "hosts-stg: 7 value(s) to change" in plan, plan
    for number in (1, 2, 3):
        assert 'chassis chassis-%d external_ids:ovn-remote-probe-interval 5000 -> 300000' % number in plan, plan
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
                done = oracle.attempt(oracle.appctl_argv(info, member, "cluster/status", database, timeout=5),
                                      timeout=30)
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
    # The run stopped before any chassis changed.
    assert [t for t in touched(run) if "chassis" in t[0]] == [], touched(run)
    assert all(set(chassis_probes(lab).values()) == {"5000"} for lab in labs.values())


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

    # The canary, then the other two chassis at once.
    run = run_rollout(inventory, state_dir, on_record=move_prod_leader_mid_walk, ovn_tuning_chassis_batch=[1, "100%"])

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:] + run.stderr[-2000:]
    for name, lab in labs.items():
        assert_profile_values(state_of(lab), TUNED)
        for host, seen in inside_hosts(lab).items():
            assert seen["nb_probes"] == [60000] and seen["sb_probes"] == [60000], (host, seen)
            assert seen["northd_probe_interval"] == "60000", (host, seen)
            assert seen["election_timers"] == {"nb": 2000, "sb": 1000}, (host, seen)
        assert set(chassis_probes(lab).values()) == {"300000"}, chassis_probes(lab)
    # The chassis went in batches - the canary, then the two others at once - each batch gated: one
    # nb_cfg wait for all the chassis of a batch.
    batches = [r["result"]["msg"] for r in task_results(run, "Report this batch")]
    assert batches == ["1 chassis, 1 changed: gate passed", "2 chassis, 2 changed: gate passed"] * 2, batches
    syncs = [r for r in task_results(run, "Gate - the chassis that changed catch up with NB_Global.nb_cfg")
             if r["status"] == "ok"]
    assert [len(r["result"]["results"][0]["chassis"]) for r in syncs] == [1, 2, 1, 2], syncs
    assert all(r["result"]["results"][0]["synced"] for r in syncs), syncs
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
        assert "3 chassis host(s); 0 changed" in messages(again, "Report the deployment's chassis", host)
    assert not [r for r in task_results(again, "Gate - ovn-controller on this chassis is still connected to the SB")
                if r["status"] != "skipped"]


def test_a_chassis_batch_that_fails_its_gate_is_put_back_with_the_earlier_ones(labs, inventory, tmp_path):
    """After the converged run: staging's chassis back at 5000 (the third at 7000), the second one's
    ovn-controller stopped; batches of one - the canary passes, the second fails its gate."""
    state_dir = str(tmp_path / "state")
    staging, production = labs["hosts-stg"], labs["hosts-prod"]
    info = staging.info()
    first, second, third = [c["host"] for c in info["chassis"]]
    for chassis in info["chassis"]:
        value = "7000" if chassis["host"] == third else "5000"
        oracle.run(oracle.vsctl_argv(info, chassis, "set", "Open_vSwitch", ".",
                                     "external_ids:ovn-remote-probe-interval=" + value))
    # The canary also has its own per-chassis key, which ovn-controller reads first: with
    # per_chassis_keys=set the rollout changes it too, and the put-back restores it exactly.
    canary = info["chassis"][0]
    specific = "external_ids:ovn-remote-probe-interval-%s" % canary["name"]

    def canary_specific():
        return oracle.run(oracle.vsctl_argv(info, canary, "--if-exists", "get", "Open_vSwitch", ".", specific)).strip().strip('"')

    oracle.run(oracle.vsctl_argv(info, canary, "set", "Open_vSwitch", ".", specific + "=9000"))
    production_before = (state_of(production), chassis_probes(production))
    stopped = info["chassis"][1]
    staging.pause_process(stopped["controller_pid"])
    try:
        run = run_rollout(inventory, state_dir, ovn_tuning_chassis_batch=[1, 1], ovn_tuning_chassis_gate_timeout=5,
                          ovn_tuning_chassis_per_chassis_keys="set")
    finally:
        staging.resume_process(stopped["controller_pid"])
    canary_written = task_results(run, "Set ovn-controller's probe intervals on this chassis", first)
    try:
        assert canary_specific() == "9000"
    finally:
        oracle.run(oracle.vsctl_argv(info, canary, "remove", "Open_vSwitch", ".", "external_ids",
                                     specific.split(":", 1)[1]))
    assert [r["result"]["external_ids_after"] for r in canary_written] == [
        {"ovn-remote-probe-interval": "300000", specific.split(":", 1)[1]: "300000"}]

    assert run.returncode != 0
    text = failure_text(run)
    assert "hosts-stg: CHASSIS ROLLOUT STOPPED - the batch of 1 chassis (%s) failed its gate" % second in text, text
    assert "%s: ovn-controller is not connected to the SB after the change" % second in text, text
    assert "Put back to " in text and ": %s, %s (the failed batch" % (first, second) in text, text
    assert "never touched: 1 chassis of later batches" in text, text
    # In every chassis host: the canary and the failed one are back, the third was never written.
    assert chassis_probes(staging) == {first: "5000", second: "5000", third: "7000"}
    assert not [r for r in task_results(run, "Set ovn-controller's probe intervals on this chassis", third)
                if r["status"] != "skipped"]
    assert [r["result"]["changed"] for r in task_results(run, "Set ovn-controller's probe intervals on this chassis")
            if r["status"] != "skipped"] == [True, True]
    # Staging failed: the profile is recorded as failed, production never started.
    records = [json.load(open(path)) for path in files_under(state_dir) if "/promotions/" in path]
    assert [r["status"] for r in records] == ["failed"], records
    assert (state_of(production), chassis_probes(production)) == production_before
    assert not task_results(run, "Show what changed", "hosts-prod")


def test_a_run_killed_during_the_chassis_batches_is_gated_again_before_promoting(labs, inventory, tmp_path):
    """After the failed batch: staging's central part is tuned, its chassis at 5000, 5000, 7000. The
    controller dies (SIGKILL) right after the canary chassis was written: the journal says the change
    passed the central gate but was never finished. The next run says so, gates staging's change again
    before the promotion, finishes the chassis, and keeps the journal's snapshot - the state before the
    killed run (test_rollout_safety.py restores such a snapshot)."""
    from support.ansible_run import KILL

    state_dir = str(tmp_path / "state")
    staging = labs["hosts-stg"]
    first = staging.info()["chassis"][0]["host"]
    seen = {}

    def kill_after_the_canary(record):
        if record["host"] == first and not seen and \
                record["task"].split(" : ")[-1] == "Set ovn-controller's probe intervals on this chassis":
            seen["killed"] = True
            return KILL
        return None

    killed = run_rollout(inventory, state_dir, on_record=kill_after_the_canary, ovn_tuning_chassis_batch=[1, 1])
    assert seen and killed.returncode != 0
    journal = json.load(open("%s/journal/hosts-stg.json" % state_dir))
    assert journal["status"] == "gated", journal
    assert chassis_probes(staging)[first] == "300000"

    run = run_rollout(inventory, state_dir, ovn_tuning_chassis_batch=[1, "100%"])

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    report = messages(run, "Report an interrupted run", "hosts-stg")
    assert "gated (run " in report and journal["snapshot"] in report, report
    gate = [i for i, r in enumerate(run.records) if r["host"] == "hosts-stg"
            and r["task"].endswith("Gate - NB and SB are healthy after the change")]
    promoted = [i for i, r in enumerate(run.records) if r["host"] == "hosts-stg"
                and r["task"].endswith("Keep the promotion record of the profile")]
    assert gate and promoted and gate[-1] < promoted[0], (gate, promoted)
    assert set(chassis_probes(staging).values()) == {"300000"}
    after = json.load(open("%s/journal/hosts-stg.json" % state_dir))
    assert after["status"] == "done" and after["snapshot"] == journal["snapshot"], after
