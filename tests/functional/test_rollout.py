"""The staged rollout: roles config, staging and production driven through the collection's
playbooks (rollout, rollback, lab) with ansible-playbook, against two private labs of real
OVN databases - staging-1 (group ovn_staging) and prod-1 (group ovn_production).

The labs start with the incident's aggressive settings (5 s listener, northd and chassis probes,
1 s election timer). The profile is the built-in incident_2026 with a 2 s NB election timer on
top, so every kind of change is made (listener rows, NB_Global options, a chassis, a RAFT timer).

Oracles: ovn-nbctl / ovn-sbctl (listener rows and options, leader-only over the lab's remotes),
ovs-vsctl (the chassis' external_ids) and ovs-appctl cluster/status (election timer); the state
directory on disk; and the profile checksum recomputed here from the role's defaults.

The tests share the two labs and run in file order: none of the first ones leaves a change behind
(check mode, refusals and a rolled-back staging), the full rollout comes after them, then the
rollback, health and snapshot playbooks. Soak and baseline windows are 2 s to keep the run short.
"""
import glob
import json
import os
import time

import pytest
import yaml

from support.ansible_run import run_playbook
from support.rollout import (
    HEALTH, INITIAL, PLAYBOOK_TIMEOUT, PROFILE_OVERRIDES, ROLLBACK, SNAPSHOT, TUNED, assert_profile_values, changed_writes,
    descriptor, expected_checksum, extra_vars, failure_text, files_under, incident_labs, messages, rollout,
    state_of, task_results, touched, write_inventory, write_record)


@pytest.fixture(scope="module")
def labs():
    """staging-1 and prod-1: each a private lab (3-member NB and SB, one chassis) started with
    the incident's probes, shared by the tests of this file."""
    with incident_labs([("staging-1", "rollout-stg", 3, 1), ("prod-1", "rollout-prod", 3, 1)]) as started:
        yield started


@pytest.fixture
def inventory(labs, tmp_path):
    return write_inventory(tmp_path / "inventory.yml", {
        "ovn_staging": {"staging-1": descriptor("staging-1", labs["staging-1"])},
        "ovn_production": {"prod-1": descriptor("prod-1", labs["prod-1"])}})


@pytest.fixture
def state_dir(tmp_path):
    return str(tmp_path / "state")


@pytest.fixture(scope="module")
def rollout_state_dir(tmp_path_factory):
    """The state directory of the full rollout, which the rollback test then rolls back from."""
    return str(tmp_path_factory.mktemp("rollout") / "state")


# --------------------------------------------------------------------------- tests

def test_check_mode_of_the_whole_rollout_writes_nothing(labs, inventory, state_dir):
    before = {name: state_of(lab) for name, lab in labs.items()}
    for state in before.values():
        assert_profile_values(state, INITIAL)

    run = rollout(inventory, state_dir, check=True)

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    assert {name: state_of(lab) for name, lab in labs.items()} == before
    assert files_under(state_dir) == [], "check mode wrote %s" % files_under(state_dir)
    # The plan names every change the profile makes, on both deployments.
    for host in ("staging-1", "prod-1"):
        plan = messages(run, "Show the plan", host)
        assert plan[0].startswith("%s: 5 value(s) to change for profile incident_2026 " % host), plan
        text = "\n".join(plan)
        assert "OVN_Northbound listener ptcp:6641:" in text and "inactivity_probe 5000 -> 60000" in text
        assert "OVN_Southbound listener ptcp:6642:" in text
        assert "NB_Global options:northd_probe_interval 5000 -> 60000" in text
        assert "chassis chassis-1 external_ids:ovn-remote-probe-interval 5000 -> 300000" in text
        assert "OVN_Northbound election timer 1000 -> 2000 ms" in text
    # Staging and production ran their changes in check mode too (production on the strength of
    # the staging play of this same check run).
    assert "would change" in messages(run, "Show what changed", "staging-1")[0]
    assert "would change" in messages(run, "Show what changed", "prod-1")[0]
    assert "check run" in messages(run, "Refuse a profile that staging has not promoted", "prod-1")


def test_a_listener_probe_of_zero_is_refused_before_anything_changes(labs, inventory, state_dir, tmp_path):
    before = dict((name, state_of(lab)) for name, lab in labs.items())
    run = rollout(inventory, state_dir, ovn_tuning_profile=dict(PROFILE_OVERRIDES, sb_inactivity_probe="0s"))
    assert run.returncode != 0
    failed = run.failed_tasks()
    assert failed and set(r["task"].split(" : ")[-1] for r in failed) == {
        "Validate the profile and convert it to each knob's unit"}, [r["task"] for r in failed]
    message = failed[0]["result"]["msg"]
    assert "ovn_tuning_profile.sb_inactivity_probe: 0 disables the probe of these listeners" in message, message
    assert "a dead ovn-northd keeps the ovn_northd lock" in message
    assert "or set ovn_tuning_profile.allow_disabled_probe: true" in message
    assert touched(run) == []
    assert dict((name, state_of(lab)) for name, lab in labs.items()) == before
    assert files_under(state_dir) == []

    # With the consent in the profile, the role's argument spec and the profile accept it.
    playbook = tmp_path / "profile.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "profile only", "hosts": "ovn_staging", "gather_facts": False, "tasks": [
            {"name": "Load the profile", "ansible.builtin.include_role": {
                "name": "kubedc.ovn_tuning.config", "tasks_from": "profile", "public": True}},
            {"name": "Show the profile", "ansible.builtin.debug": {"var": "config_profile"}}]}]))
    run = run_playbook(str(playbook), inventory=inventory, extra_vars=extra_vars(
        state_dir, ovn_tuning_profile=dict(PROFILE_OVERRIDES, sb_inactivity_probe="0s", allow_disabled_probe=True)))
    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    profile = task_results(run, "Show the profile", "staging-1")[0]["result"]["config_profile"]
    assert profile["sb_inactivity_probe"] == 0 and profile["allow_disabled_probe"] is True
    assert touched(run) == []


def test_production_refuses_a_profile_without_a_fresh_promotion(labs, inventory, state_dir, tmp_path):
    """The production role alone (as an AWX production job template runs it)."""
    playbook = tmp_path / "production.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "production only", "hosts": "ovn_production", "gather_facts": False,
        "any_errors_fatal": True, "roles": [{"role": "kubedc.ovn_tuning.production"}]}]))
    checksum = expected_checksum()
    prod_before = state_of(labs["prod-1"])
    day = 3600.0 * 24
    cases = [
        ("no record", None, "there is no promotion record for it"),
        ("failed in staging", {"kind": "kubedc.ovn_tuning/promotion", "schema_version": 1, "status": "failed",
                               "checksum": checksum, "failed_at": "2026-01-01T00:00:00Z",
                               "failed_at_epoch": time.time(), "failed_deployment": "staging-1",
                               "reason": "gate failed"},
         "staging failed at 2026-01-01T00:00:00Z on staging-1: gate failed"),
        ("too old", {"kind": "kubedc.ovn_tuning/promotion", "schema_version": 1, "status": "promoted",
                     "checksum": checksum, "promoted_at": "2026-01-01T00:00:00Z",
                     "promoted_at_epoch": time.time() - 8 * day},
         "longer ago than ovn_tuning_promotion_max_age_hours=168"),
    ]
    for label, record, reason in cases:
        if record is not None:
            write_record(state_dir, checksum, record)
        run = run_playbook(str(playbook), inventory=inventory, extra_vars=extra_vars(state_dir),
                           timeout=PLAYBOOK_TIMEOUT)
        assert run.returncode != 0, label
        failed = run.failed_tasks()
        # The refusal, then the role's rescue (the run's leases released) failing the run with it.
        assert [r["task"].split(" : ")[-1] for r in failed] == [
            "Refuse a profile that staging has not promoted", "Fail the run"], label
        message = failed[0]["result"]["msg"]
        assert "Refusing to apply profile incident_2026 %s to production" % checksum in message, message
        assert reason in message, (label, message)
        assert "ovn_tuning_skip_promotion_check=true" in message
        assert touched(run) == [], "%s: a change started" % label
        assert state_of(labs["prod-1"]) == prod_before, label
    assert not os.path.exists(os.path.join(state_dir, "snapshots")), files_under(state_dir)

    # The override is loud and recorded; here in check mode, which records nothing and changes nothing.
    run = run_playbook(str(playbook), inventory=inventory, check=True,
                       extra_vars=extra_vars(state_dir, ovn_tuning_skip_promotion_check=True),
                       timeout=PLAYBOOK_TIMEOUT)
    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    warning = messages(run, "WARNING - the promotion check is skipped", "prod-1")
    assert "the promotion check is SKIPPED" in warning[0]
    assert "although it was promoted" in warning[2]
    assert "would change" in messages(run, "Show what changed", "prod-1")[0]
    assert not os.path.exists(os.path.join(state_dir, "overrides"))
    assert state_of(labs["prod-1"]) == prod_before


def test_failed_staging_gate_rolls_staging_back_and_leaves_production_untouched(labs, inventory, state_dir):
    before = {name: state_of(lab) for name, lab in labs.items()}
    impossible = "summary.members_total == `99`"

    run = rollout(inventory, state_dir, ovn_tuning_assertions=[impossible])

    assert run.returncode != 0
    # Staging changed everything, then the gate failed and the snapshot was restored exactly.
    changed = messages(run, "Show what changed", "staging-1")
    assert changed[0] == "staging-1: 5 value(s) changed", changed
    text = failure_text(run)
    assert "staging-1: ROLLED BACK to %s/snapshots/staging-1/" % state_dir in text, text
    assert impossible in text and "is not truthy" in text, text
    assert "health after the rollback: OVN_Northbound healthy" in text, text
    assert state_of(labs["staging-1"]) == before["staging-1"]
    # The run stopped: production was neither changed nor even started.
    assert state_of(labs["prod-1"]) == before["prod-1"]
    # prod-1 only had the config play (whose plan ran the modules in check mode).
    assert not task_results(run, "Read the promotion record of the profile")
    assert not task_results(run, "Show what changed", "prod-1")
    # Staging recorded the failure of this profile, so production refuses it until staging passes.
    checksum = expected_checksum()
    with open(os.path.join(state_dir, "promotions", checksum + ".json")) as handle:
        record = json.load(handle)
    assert record["status"] == "failed" and record["checksum"] == checksum
    assert record["failed_deployment"] == "staging-1" and "ROLLED BACK" in record["reason"]


def test_full_rollout_converges_and_a_second_run_changes_nothing(labs, inventory, rollout_state_dir):
    state_dir = rollout_state_dir
    run = rollout(inventory, state_dir)

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    for name, lab in labs.items():
        state = state_of(lab)
        assert_profile_values(state, TUNED)
        assert state["sb_election_timer"] == 1000  # not in the profile: left alone
    checksum = expected_checksum()
    facts = task_results(run, "Identify the profile by its checksum and list the deployment's databases",
                         "staging-1")[0]["result"]["ansible_facts"]
    assert facts["config_profile_checksum"] == checksum
    with open(os.path.join(state_dir, "promotions", checksum + ".json")) as handle:
        record = json.load(handle)
    assert record["status"] == "promoted" and record["checksum"] == checksum
    assert record["profile"]["nb_election_timer"] == 2000 and record["profile"]["nb_inactivity_probe"] == 60000
    assert list(record["deployments"]) == ["staging-1"]
    assert record["deployments"]["staging-1"]["gate"]["OVN_Northbound"]["healthy"] is True
    assert abs(record["promoted_at_epoch"] - time.time()) < PLAYBOOK_TIMEOUT
    # A snapshot of the state before the change, for each deployment.
    for name in ("staging-1", "prod-1"):
        before_change = glob.glob(os.path.join(state_dir, "snapshots", name, "*-before-*.json"))
        assert len(before_change) == 1, files_under(state_dir)
    assert "Promoted by staging at " in messages(run, "Refuse a profile that staging has not promoted", "prod-1")
    assert "gate passed" in messages(run, "Gate - NB and SB are healthy after the change", "prod-1")

    again = rollout(inventory, state_dir)

    assert again.returncode == 0, failure_text(again) or again.stdout[-4000:]
    assert changed_writes(again) == []
    for host in ("staging-1", "prod-1"):
        assert messages(again, "Show the plan", host)[0].endswith("- already tuned")
        # Already tuned when this run planned: no snapshot, no write, no soak, no gate.
        assert messages(again, "Show what changed", host) == [
            "%s: 0 value(s) changed" % host,
            "already tuned when this run planned: no snapshot, no write, no soak, no gate"]
        for task in ("Capture every tunable of the deployment", "Set the northd and client probe options of"
                     " NB_Global and SB_Global", "Read and judge NB and SB"):
            # Each ran once for this host: in the config play (snapshot, plan, preflight).
            assert len([r for r in task_results(again, task, host) if r["status"] != "skipped"]) == 1, task
        assert not [r for r in task_results(again, "Gate - NB and SB are healthy after the change", host)
                    if r["status"] != "skipped"]
    for lab in labs.values():
        assert_profile_values(state_of(lab), TUNED)
    # The second run took no before-change snapshot: nothing was to change.
    for name in ("staging-1", "prod-1"):
        assert len(glob.glob(os.path.join(state_dir, "snapshots", name, "*-before-*.json"))) == 1


def test_rollback_restores_the_state_before_the_last_change(labs, inventory, rollout_state_dir):
    """Runs on the state directory of the full rollout: staging-1 goes back to before its change."""
    for lab in labs.values():
        assert_profile_values(state_of(lab), TUNED)
    prod_tuned = state_of(labs["prod-1"])
    before_change = glob.glob(os.path.join(rollout_state_dir, "snapshots", "staging-1", "*-before-staging.json"))
    assert len(before_change) == 1, files_under(rollout_state_dir)

    check = run_playbook(ROLLBACK, inventory=inventory, check=True, diff=True,
                         extra_args=("--limit", "staging-1"), extra_vars=extra_vars(rollout_state_dir))
    assert check.returncode == 0, failure_text(check) or check.stdout[-4000:]
    assert messages(check, "Show what was restored", "staging-1")[0].startswith(
        "staging-1: would restore %s" % before_change[0])
    assert_profile_values(state_of(labs["staging-1"]), TUNED)

    run = run_playbook(ROLLBACK, inventory=inventory, extra_args=("--limit", "staging-1"),
                       extra_vars=extra_vars(rollout_state_dir))

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    assert_profile_values(state_of(labs["staging-1"]), INITIAL)
    assert state_of(labs["prod-1"]) == prod_tuned
    restored = messages(run, "Show what was restored", "staging-1")
    assert restored[0].startswith("staging-1: restored %s (" % before_change[0]), restored
    assert restored[0].endswith(" - 5 value(s) differed"), restored
    report = messages(run, "Report", "staging-1")
    assert report[1].startswith("OVN_Northbound healthy") and report[2].startswith("OVN_Southbound healthy"), report
    # Again: the snapshot is already the live state.
    again = run_playbook(ROLLBACK, inventory=inventory, extra_args=("--limit", "staging-1"),
                         extra_vars=extra_vars(rollout_state_dir))
    assert again.returncode == 0, failure_text(again)
    assert messages(again, "Show what was restored", "staging-1")[0].endswith(" - 0 value(s) differed")
    assert not [r for r in again.records
                if r["action"].endswith("ovn_tuning_snapshot") and r["result"].get("changed")]
    assert_profile_values(state_of(labs["staging-1"]), INITIAL)


def test_health_and_snapshot_playbooks_on_a_tuned_deployment(labs, inventory, tmp_path):
    """prod-1 is tuned by the full rollout (the rollback test only touched staging-1)."""
    state_dir = str(tmp_path / "state")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    prod = state_of(labs["prod-1"])
    assert_profile_values(prod, TUNED)

    health = run_playbook(HEALTH, inventory=inventory, extra_args=("--limit", "prod-1"),
                          extra_vars=extra_vars(state_dir, ovn_tuning_health_expect_profile=True,
                                                ovn_tuning_health_fail_on_unhealthy=True,
                                                ovn_tuning_metrics_dir=str(metrics_dir)))

    assert health.returncode == 0, failure_text(health) or health.stdout[-4000:]
    report = messages(health, "Report", "prod-1")
    assert report[0] == "prod-1:" and len(report) == 3, report  # no listener mismatch lines
    assert report[1].startswith("OVN_Northbound healthy, leader tcp:") and "listener probe 60000 ms" in report[1]
    assert "northd_probe_interval 60000 ms" in report[1] and "election timer 2000 ms" in report[1]
    assert report[2].startswith("OVN_Southbound healthy") and "listener probe 60000 ms" in report[2]
    for db in ("nb", "sb"):
        text = (metrics_dir / ("prod-1-%s.prom" % db)).read_text()
        assert "ovn_tuning_raft_disconnections_total" in text
    assert changed_writes(health) == []

    check = run_playbook(SNAPSHOT, inventory=inventory, check=True, extra_args=("--limit", "prod-1"),
                         extra_vars=extra_vars(state_dir))
    assert check.returncode == 0, failure_text(check)
    assert files_under(state_dir) == []

    run = run_playbook(SNAPSHOT, inventory=inventory, extra_args=("--limit", "prod-1"),
                       extra_vars=extra_vars(state_dir, ovn_tuning_snapshot_label="before-maintenance"))

    assert run.returncode == 0, failure_text(run)
    written = glob.glob(os.path.join(state_dir, "snapshots", "prod-1", "*-before-maintenance.json"))
    assert len(written) == 1, files_under(state_dir)
    with open(written[0]) as handle:
        snapshot = json.load(handle)
    assert snapshot["kind"] == "kubedc.ovn_tuning/snapshot" and snapshot["deployment"] == "prod-1"
    assert {row["target"]: row["inactivity_probe"] for row in snapshot["tunables"]["nb"]["connections"]} == \
        prod["nb_listeners"]
    assert snapshot["tunables"]["nb"]["election_timer"] == 2000
    assert state_of(labs["prod-1"]) == prod


def test_sb_relays_are_read_and_judged_by_every_health_read(lab_factory, tmp_path):
    """A deployment that lists its SB relays (ovn_deployment.sb_relays): preflight, the gate after the change
    and the health report judge them beside NB and SB, as relays; the rollout writes nothing through them;
    a relay that stops answering makes the health report fail naming it."""
    lab = lab_factory(name="rollrelay", chassis=1, sb_relays=2, election_timer_ms=1000, inactivity_probe_ms=5000,
                      northd_probe_ms=5000, chassis_probe_ms=5000)
    info = lab.info()
    deployment = dict(descriptor("relay-stg", lab), sb_relays={"remote": info["sb_relay_remotes"]})
    inventory = write_inventory(tmp_path / "inventory.yml", {"ovn_staging": {"relay-stg": deployment},
                                                             "ovn_production": {}})
    state_dir = str(tmp_path / "state")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    relays_line = "OVN_Southbound relays healthy, 2/2 relays connected to their source"

    run = rollout(inventory, state_dir)
    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:] + run.stderr[-3000:]
    assert_profile_values(state_of(lab), TUNED)
    reads = task_results(run, "Read and judge NB and SB", "relay-stg")
    judged = [item for r in reads for item in r["result"]["results"] if item["item"]["key"] == "sb_relays"]
    assert len(judged) == 3, "preflight, the change's start and the gate each read the relays"
    assert all(item["healthy"] and item["facts"]["end"]["summary"]["model"] == "relay" for item in judged), judged
    assert relays_line in str(messages(run, "Gate - NB and SB are healthy after the change", "relay-stg"))
    # Nothing went through the relays: every writing task names the cluster's remotes.
    assert changed_writes(run)
    relay_remotes = info["sb_relay_remotes"].split(",")
    for record in run.records:
        if record["action"].split(".")[-1] == "ovn_health":
            continue
        remote = str(((record["result"].get("invocation") or {}).get("module_args") or {}).get("remote"))
        assert not any(relay in remote for relay in relay_remotes), record["task"]

    health = run_playbook(HEALTH, inventory=inventory,
                          extra_vars=extra_vars(state_dir, ovn_tuning_health_fail_on_unhealthy=True,
                                                ovn_tuning_metrics_dir=str(metrics_dir)))
    assert health.returncode == 0, failure_text(health) or health.stdout[-4000:]
    report = messages(health, "Report", "relay-stg")
    assert report[0] == "relay-stg:" and report[3] == relays_line, report
    # The relays write no metrics file of their own: their series would be the SB members' twins.
    assert sorted(p.name for p in metrics_dir.iterdir()) == ["relay-stg-nb.prom", "relay-stg-sb.prom"]

    relay = info["sb_relays"][1]
    lab.pause_process(relay["pid"])
    try:
        down = run_playbook(HEALTH, inventory=inventory,
                            extra_vars=extra_vars(state_dir, ovn_tuning_health_fail_on_unhealthy=True))
    finally:
        lab.resume_process(relay["pid"])
    assert down.returncode != 0
    text = failure_text(down)
    assert "relay-stg is unhealthy: OVN_Southbound relays UNHEALTHY, 1/2 relays connected to their source" in text, text
    assert "%s is unreachable" % relay["remote"] in text, text
