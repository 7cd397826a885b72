"""Rollouts that stay safe when things go wrong, on two private labs of real OVN databases
(safe-stg in ovn_staging, safe-prod in ovn_production, controller mode, 3-member NB and SB, a chassis
each), driven through the collection's rollout and rollback playbooks:

- a follower paused through staging's soak: the run fails, staging is restored exactly although the
  follower never answers, production is untouched;
- a fault between the snapshot and the soak window (RAFT connections dialled and dropped while the change
  is written) fails the gate, which judges the whole change;
- the controller SIGKILLed during the change or the soak: the next run finds the interrupted run in the
  journal, and soaks and gates that change before it promotes anything; or rolls it back to the state
  before the killed run;
- two runs at once: the second is refused before it writes anything, naming the first;
- a lease whose run is gone is taken over.

Oracles: ovn-nbctl / ovn-sbctl / ovs-vsctl / ovs-appctl (support.rollout.state_of), the state
directory on disk, and the order of the runs' task records.
"""
import glob
import json
import os
import socket
import threading

import pytest

from support import oracle
from support.ansible_run import KILL, run_playbook
from support.rollout import (
    INITIAL, PROFILE_OVERRIDES, ROLLBACK, TUNED, assert_profile_values, descriptor, failure_text, incident_labs,
    messages, rollout, state_of, task_results, touched, write_inventory)


@pytest.fixture(scope="module")
def labs():
    # With ovn-northd, as every real deployment: it copies NB_Global.options into SB_Global.options.
    with incident_labs([("safe-stg", "safe-stg", 3, 1, True), ("safe-prod", "safe-prod", 3, 1, True)]) as started:
        yield started


@pytest.fixture
def inventory(labs, tmp_path):
    return write_inventory(tmp_path / "inventory.yml", {
        "ovn_staging": {"safe-stg": descriptor("safe-stg", labs["safe-stg"])},
        "ovn_production": {"safe-prod": descriptor("safe-prod", labs["safe-prod"])}})


@pytest.fixture
def state_dir(tmp_path):
    return str(tmp_path / "state")


@pytest.fixture(autouse=True)
def back_to_initial(labs):
    """Every test starts from the incident's settings on both labs: what a test left is put back with the
    CLIs (not with the code under test)."""
    yield
    for lab in labs.values():
        state = state_of(lab)
        if any(state[key] != value for key, value in INITIAL.items()) or "sbctl_probe_interval" in state["nb_options"]:
            restore_initial(lab)


def restore_initial(lab):
    info = lab.info()
    for db in ("nb", "sb"):
        rows = json.loads(oracle.dbctl(db, info[db]["remotes"], "--format=json", "--columns=_uuid",
                                       "list", "Connection"))["data"]
        for row in rows:
            oracle.dbctl(db, info[db]["remotes"], "set", "Connection", row[0][1], "inactivity_probe=5000")
    oracle.nbctl(info["nb"]["remotes"], "set", "NB_Global", ".", "options:northd_probe_interval=5000")
    oracle.nbctl(info["nb"]["remotes"], "remove", "NB_Global", ".", "options", "sbctl_probe_interval")
    for chassis in info["chassis"]:
        oracle.run(oracle.vsctl_argv(info, chassis, "set", "Open_vSwitch", ".",
                                     "external_ids:ovn-remote-probe-interval=5000"))
    for db in ("nb", "sb"):
        if state_of(lab)["%s_election_timer" % db] != 1000:
            lab.change_election_timer(db, 1000)


def task_index(run, host, task):
    return [i for i, r in enumerate(run.records) if r["host"] == host and r["task"].split(" : ")[-1] == task]


def dial_raft_port(lab, db="nb", count=20):
    """Open and close plain TCP connections to every member's RAFT port, as kube-ovn's leader checker
    does: each adds one to the member's Disconnections count."""
    info = lab.info()
    for member in info[db]["members"]:
        for _attempt in range(count):
            with socket.create_connection((member["address"], info[db]["raft_port"]), timeout=2):
                pass


# --------------------------------------------------------------------------- a fault during the change

def test_a_fault_between_the_snapshot_and_the_soak_fails_the_gate(labs, inventory, state_dir):
    before = {name: state_of(lab) for name, lab in labs.items()}
    stg = labs["safe-stg"]

    def fault_while_changing(record):
        if record["host"] == "safe-stg" and record["task"].split(" : ")[-1] == "Journal - the change starts":
            dial_raft_port(stg)

    run = rollout(inventory, state_dir, on_record=fault_while_changing)

    assert run.returncode != 0
    text = failure_text(run)
    assert "safe-stg: ROLLED BACK to" in text, text
    assert "whole change: from" in text and "(before the snapshot) to the end of the soak" in text, text
    assert "disconnections" in text, text
    assert state_of(stg) == before["safe-stg"]
    assert state_of(labs["safe-prod"]) == before["safe-prod"]
    assert not task_results(run, "Show what changed", "safe-prod")
    journal = json.load(open(os.path.join(state_dir, "journal", "safe-stg.json")))
    assert journal["status"] == "rolled_back", journal
    # Every lease of the run was released when it stopped.
    assert glob.glob(os.path.join(state_dir, "leases", "*.json")) == []


def test_a_follower_paused_through_the_soak_is_rolled_back_without_it(labs, inventory, state_dir):
    before = {name: state_of(lab) for name, lab in labs.items()}
    stg = labs["safe-stg"]
    follower = next(i for i in range(3) if i != stg.leader("nb"))
    paused = {"done": False}

    def pause_in_soak(record):
        if record["host"] == "safe-stg" and not paused["done"] \
                and record["task"].split(" : ")[-1] == "Journal - the change starts":
            paused["done"] = True
            stg.pause("nb", follower)

    try:
        run = rollout(inventory, state_dir, ovn_tuning_soak_seconds=3, on_record=pause_in_soak)
        # Judged while the follower is still paused: the rollback needed only the leader and a majority.
        assert run.returncode != 0
        text = failure_text(run)
        assert "safe-stg: ROLLED BACK to" in text, text
        assert "ROLLBACK FAILED" not in text, text
    finally:
        stg.resume("nb", follower)
    assert paused["done"]
    assert state_of(stg) == before["safe-stg"]
    assert state_of(labs["safe-prod"]) == before["safe-prod"]
    assert not task_results(run, "Show what changed", "safe-prod")


# --------------------------------------------------------------------------- a controller that dies

def killed_at(task, host="safe-stg", after=None):
    """An on_record that SIGKILLs the run when ``task`` of ``host`` is recorded (after ``after`` was)."""
    seen = {"after": after is None, "killed": False}

    def watch(record):
        name = record["task"].split(" : ")[-1]
        if record["host"] != host or seen["killed"]:
            return None
        if name == after:
            seen["after"] = True
        if seen["after"] and name == task:
            seen["killed"] = True
            return KILL
        return None
    watch.seen = seen
    return watch


def test_a_run_killed_during_the_soak_is_soaked_and_gated_before_the_next_promotes(labs, inventory, state_dir):
    before = {name: state_of(lab) for name, lab in labs.items()}
    # The record before the soak's wait: the controller dies while staging soaks.
    watch = killed_at("Read NB and SB at the window's start", after="Show what changed")
    killed = rollout(inventory, state_dir, ovn_tuning_soak_seconds=10, on_record=watch)
    assert watch.seen["killed"], killed.stdout[-3000:]
    assert killed.returncode != 0
    journal = json.load(open(os.path.join(state_dir, "journal", "safe-stg.json")))
    assert journal["status"] == "changing", journal
    snapshot = journal["snapshot"]
    assert os.path.exists(snapshot) and "-before-staging" in snapshot
    # The killed run left its lease; production was never reached.
    assert os.path.exists(os.path.join(state_dir, "leases", "safe-stg.json"))
    assert state_of(labs["safe-prod"]) == before["safe-prod"]
    assert not os.path.exists(os.path.join(state_dir, "promotions"))

    run = rollout(inventory, state_dir)

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    report = messages(run, "Report an interrupted run", "safe-stg")
    assert "an earlier run was interrupted" in report and "changing" in report and snapshot in report, report
    # The lease of the dead run was taken over (its ansible-playbook is gone).
    lease = task_results(run, "The rollout's lease and journal - acquired", "safe-stg")[0]["result"]["results"][0]
    assert "is gone" in (lease["taken_over"] or ""), lease
    # Staging's change was soaked and gated in this run before the promotion, and it is not "already tuned".
    gate = task_index(run, "safe-stg", "Gate - NB and SB are healthy after the change")
    promoted = task_index(run, "safe-stg", "Keep the promotion record of the profile")
    assert gate and promoted and gate[-1] < promoted[0], (gate, promoted)
    shown = messages(run, "Show what changed", "safe-stg")
    assert not any("already tuned" in line for line in shown), shown
    # The snapshot a rollback restores stays the one taken before the killed run.
    journal = json.load(open(os.path.join(state_dir, "journal", "safe-stg.json")))
    assert journal["status"] == "done" and journal["snapshot"] == snapshot, journal
    assert journal["interrupted_run"], journal
    for lab in labs.values():
        assert_profile_values(state_of(lab), TUNED)
    assert glob.glob(os.path.join(state_dir, "leases", "*.json")) == []

    # And that snapshot is the state before the killed run.
    back = run_playbook(ROLLBACK, inventory=inventory, extra_args=("--limit", "safe-stg"),
                        extra_vars={"ovn_tuning_state_dir": state_dir,
                                    "ovn_tuning_rollback_snapshot": snapshot})
    assert back.returncode == 0, failure_text(back)
    assert state_of(labs["safe-stg"]) == before["safe-stg"]


def test_a_run_killed_during_the_timer_walk_is_rolled_back_by_the_next_when_asked(labs, inventory, state_dir):
    before = {name: state_of(lab) for name, lab in labs.items()}
    # The record before the election timer step: the controller dies while the timer is walked.
    watch = killed_at("Set ovn-controller's probe intervals on every chassis", after="Journal - the change starts")
    killed = rollout(inventory, state_dir, on_record=watch)
    assert watch.seen["killed"] and killed.returncode != 0
    assert state_of(labs["safe-stg"]) != before["safe-stg"], "the killed run changed nothing"

    run = rollout(inventory, state_dir, ovn_tuning_interrupted_run="rollback")

    assert run.returncode != 0
    text = failure_text(run)
    assert "safe-stg: ROLLED BACK to" in text and "ovn_tuning_interrupted_run=rollback" in text, text
    assert state_of(labs["safe-stg"]) == before["safe-stg"]
    assert state_of(labs["safe-prod"]) == before["safe-prod"]
    assert not os.path.exists(os.path.join(state_dir, "promotions")) or not glob.glob(
        os.path.join(state_dir, "promotions", "*.json")) or all(
        json.load(open(path))["status"] == "failed" for path in glob.glob(os.path.join(state_dir, "promotions", "*.json")))
    journal = json.load(open(os.path.join(state_dir, "journal", "safe-stg.json")))
    assert journal["status"] == "rolled_back", journal


# --------------------------------------------------------------------------- two runs at once

def test_two_runs_at_once_the_second_is_refused_naming_the_first(labs, inventory, state_dir):
    # The first run's profile also sets sbctl_probe_interval, which ovn-northd copies from NB_Global
    # into SB_Global: the rollout writes it in NB_Global (as ovn_tuning_apply does) and the gate finds
    # it in SB_Global.
    first_profile = dict(PROFILE_OVERRIDES, sbctl_probe_interval="30s")
    other_profile = dict(PROFILE_OVERRIDES, nb_inactivity_probe=90000, sb_inactivity_probe=90000)
    second = {}

    def start_second(record):
        if record["host"] == "safe-stg" and record["task"].split(" : ")[-1] == "Show what changed" \
                and "thread" not in second:
            def run_second():
                second["run"] = rollout(inventory, state_dir, ovn_tuning_profile=other_profile)
            second["thread"] = threading.Thread(target=run_second)
            second["thread"].start()

    first = rollout(inventory, state_dir, ovn_tuning_soak_seconds=8, ovn_tuning_profile=first_profile,
                    on_record=start_second)
    second["thread"].join(timeout=600)
    refused = second["run"]

    assert first.returncode == 0, failure_text(first) or first.stdout[-3000:]
    assert refused.returncode != 0
    text = failure_text(refused)
    assert "another rollout works on this deployment" in text and "Nothing was written" in text, text
    assert "run %s:" % socket.gethostname() in text and "pid" in text and "since" in text, text
    assert touched(refused) == [], touched(refused)
    # No snapshot of the refused run: it stopped before its snapshot.
    refused_snapshots = [r for r in refused.records if r["task"].endswith("Capture every tunable of the deployment")
                         and r["status"] not in ("skipped",)]
    assert refused_snapshots == [], refused_snapshots
    for lab in labs.values():
        assert_profile_values(state_of(lab), TUNED)
        info = lab.info()
        assert oracle.nbctl(info["nb"]["remotes"], "get", "NB_Global", ".",
                            "options:sbctl_probe_interval").strip('"') == "30000"
        assert oracle.sbctl(info["sb"]["remotes"], "get", "SB_Global", ".",
                            "options:sbctl_probe_interval").strip('"') == "30000"
    assert "NB_Global options:sbctl_probe_interval unset -> 30000" in "\n".join(
        messages(first, "Show what changed", "safe-stg"))
    assert glob.glob(os.path.join(state_dir, "leases", "*.json")) == []
