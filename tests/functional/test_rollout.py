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

import copy
import glob
import json
import os
import re
import subprocess
import time

import pytest
import yaml

from ovnlab import Lab
from support import oracle
from support.ansible_run import REPO_ROOT, run_playbook

# The Kubernetes API stand-in's fixtures, for the kube-ovn test.
from k8s_standin.fixtures import (  # noqa: F401 pylint: disable=unused-import
    http_get_deployment, k8s_standin, k8s_standin_server)

from ansible_collections.kubedc.ovn_tuning.plugins.filter.tuning_profile import (
    normalize_profile, profile_checksum)

PLAYBOOKS = os.path.join(REPO_ROOT, "playbooks")
ROLLOUT = os.path.join(PLAYBOOKS, "rollout.yml")
ROLLBACK = os.path.join(PLAYBOOKS, "rollback.yml")
HEALTH = os.path.join(PLAYBOOKS, "health.yml")
SNAPSHOT = os.path.join(PLAYBOOKS, "snapshot.yml")
LAB_PLAYBOOK = os.path.join(PLAYBOOKS, "lab.yml")

PROFILE_OVERRIDES = {"nb_election_timer": "2s"}
TUNED = {"nb_listener_probe": 60000, "sb_listener_probe": 60000, "northd_probe_interval": "60000",
         "chassis_probe": "300000", "nb_election_timer": 2000}
INITIAL = {"nb_listener_probe": 5000, "sb_listener_probe": 5000, "northd_probe_interval": "5000",
           "chassis_probe": "5000", "nb_election_timer": 1000}
# Modules that write to a database; a converged rollout must run none of them with a change.
WRITING_ACTIONS = ("ovsdb_connection", "ovn_global_options", "ovn_chassis_probe", "ovsdb_election_timer",
                   "ovn_central_env")
PLAYBOOK_TIMEOUT = 1200


# --------------------------------------------------------------------------- labs and inventory

@pytest.fixture(scope="module")
def labs():
    """staging-1 and prod-1: each a private lab (3-member NB and SB, one chassis) started with
    the incident's probes, shared by the tests of this file."""
    keep = os.environ.get("OVNLAB_KEEP", "") not in ("", "0")
    started = {}
    try:
        for deployment, lab_name in (("staging-1", "rollout-stg"), ("prod-1", "rollout-prod")):
            lab = Lab(name=lab_name, chassis=1, election_timer_ms=1000, inactivity_probe_ms=5000,
                      northd_probe_ms=5000, chassis_probe_ms=5000, keep=keep)
            started[deployment] = lab
            lab.start()
        yield started
    finally:
        for lab in started.values():
            lab.stop()


def descriptor(name, lab):
    """ovn_deployment of a lab, as the lab playbook writes it."""
    info = lab.info()
    return {
        "name": name,
        "nb": {"remote": info["nb"]["remotes"], "ctl_sockets": [m["ctl"] for m in info["nb"]["members"]]},
        "sb": {"remote": info["sb"]["remotes"], "ctl_sockets": [m["ctl"] for m in info["sb"]["members"]]},
        "chassis": [{"name": c["name"], "remote": c["ovs_remote"]} for c in info["chassis"]],
    }


@pytest.fixture
def inventory(labs, tmp_path):
    path = tmp_path / "inventory.yml"
    data = {"all": {
        "vars": {"ansible_connection": "local",
                 "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {
            "ovn_staging": {"hosts": {"staging-1": {"ovn_deployment": descriptor("staging-1", labs["staging-1"])}}},
            "ovn_production": {"hosts": {"prod-1": {"ovn_deployment": descriptor("prod-1", labs["prod-1"])}}},
        }}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture
def state_dir(tmp_path):
    return str(tmp_path / "state")


@pytest.fixture(scope="module")
def rollout_state_dir(tmp_path_factory):
    """The state directory of the full rollout, which the rollback test then rolls back from."""
    return str(tmp_path_factory.mktemp("rollout") / "state")


def extra_vars(state_dir, **more):
    data = {"ovn_tuning_state_dir": state_dir, "ovn_tuning_baseline_seconds": 2, "ovn_tuning_soak_seconds": 2,
            "ovn_tuning_profile": dict(PROFILE_OVERRIDES)}
    data.update(more)
    return data


def rollout(inventory, state_dir, check=False, extra_args=(), **more):
    return run_playbook(ROLLOUT, inventory=inventory, check=check, diff=check,
                        extra_vars=extra_vars(state_dir, **more), extra_args=extra_args,
                        timeout=PLAYBOOK_TIMEOUT)


def expected_checksum(overrides=None):
    """The profile checksum from the role's own defaults, computed without Ansible."""
    with open(os.path.join(REPO_ROOT, "roles", "config", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    profile = copy.deepcopy(defaults["ovn_tuning_builtin_profiles"][defaults["ovn_tuning_profile_name"]])
    for key, value in (PROFILE_OVERRIDES if overrides is None else overrides).items():
        profile[key] = value
    return profile_checksum(normalize_profile(profile))


# --------------------------------------------------------------------------- CLI oracles

def cli(*argv):
    return oracle.run(argv).strip()


def listener_probes(lab, db):
    tool = "ovn-nbctl" if db == "nb" else "ovn-sbctl"
    out = json.loads(cli(tool, "--timeout=20", "--db=" + lab.info()[db]["remotes"], "--format=json",
                         "--columns=target,inactivity_probe", "list", "Connection"))
    probes = {}
    for target, probe in out["data"]:
        probes[target] = None if probe == ["set", []] else probe
    return probes


def election_timer(lab, db="nb"):
    """The election timer every member shows in cluster/status (they must agree)."""
    timers = set()
    for member in lab.info()[db]["members"]:
        text = cli("ovs-appctl", "--timeout=20", "-t", member["ctl"], "cluster/status",
                   "OVN_Northbound" if db == "nb" else "OVN_Southbound")
        timers.add(int(re.search(r"^Election timer: (\d+)", text, re.M).group(1)))
    assert len(timers) == 1, "members disagree on the election timer: %s" % timers
    return timers.pop()


def state_of(lab):
    """Everything the rollout may change in one deployment, read with the CLIs."""
    info = lab.info()
    nb_probes = listener_probes(lab, "nb")
    sb_probes = listener_probes(lab, "sb")
    return {
        "nb_listeners": nb_probes,
        "sb_listeners": sb_probes,
        "nb_listener_probe": sorted(set(nb_probes.values()))[0] if len(set(nb_probes.values())) == 1 else nb_probes,
        "sb_listener_probe": sorted(set(sb_probes.values()))[0] if len(set(sb_probes.values())) == 1 else sb_probes,
        "northd_probe_interval": cli("ovn-nbctl", "--timeout=20", "--db=" + info["nb"]["remotes"], "--if-exists",
                                     "get", "NB_Global", ".", "options:northd_probe_interval").strip('"'),
        "nb_options": cli("ovn-nbctl", "--timeout=20", "--db=" + info["nb"]["remotes"], "get", "NB_Global", ".",
                          "options"),
        "sb_options": cli("ovn-sbctl", "--timeout=20", "--db=" + info["sb"]["remotes"], "get", "SB_Global", ".",
                          "options"),
        "chassis_probe": cli("ovs-vsctl", "--timeout=20", "--db=" + info["chassis"][0]["ovs_remote"], "--if-exists",
                             "get", "Open_vSwitch", ".", "external_ids:ovn-remote-probe-interval").strip('"'),
        "nb_election_timer": election_timer(lab, "nb"),
        "sb_election_timer": election_timer(lab, "sb"),
    }


def assert_profile_values(state, values):
    for key, value in values.items():
        assert state[key] == value, "%s is %r, expected %r (state: %s)" % (key, state[key], value, state)


# --------------------------------------------------------------------------- run helpers

def task_results(run, task, host=None):
    """Records of a task by its name (the callback names tasks of roles "ROLE : NAME")."""
    return [r for r in run.records if (r["task"] == task or r["task"].endswith(" : " + task))
            and (host is None or r["host"] == host)]


def messages(run, task, host):
    found = task_results(run, task, host)
    assert found, "task %r did not run on %s:\n%s" % (task, host, run.stdout[-3000:])
    return found[-1]["result"].get("msg")


def failure_text(run):
    return "\n".join(str(r["result"].get("msg")) for r in run.failed_tasks())


def changed_writes(run):
    """(host, task) of every task of a writing module that changed (or would change) something."""
    return [(r["host"], r["task"]) for r in run.records
            if r["action"].split(".")[-1] in WRITING_ACTIONS and r["result"].get("changed")]


def touched(run):
    """(host, task) of every task that ran a writing module, or restored a snapshot."""
    return [(r["host"], r["task"]) for r in run.records if r["status"] != "skipped" and (
        r["action"].split(".")[-1] in WRITING_ACTIONS
        or (r["action"].endswith("ovn_tuning_snapshot") and "differences" in r["result"]))]


def files_under(directory):
    return sorted(glob.glob(os.path.join(directory, "**", "*"), recursive=True))


def write_record(state_dir, checksum, record):
    directory = os.path.join(state_dir, "promotions")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, checksum + ".json"), "w") as handle:
        json.dump(record, handle)


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
        assert plan[0].startswith("%s: 9 value(s) to change for profile incident_2026 " % host), plan
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
        assert [r["task"].split(" : ")[-1] for r in failed] == [
            "Refuse a profile that staging has not promoted"], label
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
    assert changed[0] == "staging-1: 9 value(s) changed", changed
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
        assert messages(again, "Show what changed", host) == ["%s: 0 value(s) changed" % host]
    for lab in labs.values():
        assert_profile_values(state_of(lab), TUNED)
    # The second run's own before-change snapshots were dropped: nothing changed after them.
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
    assert restored[0].endswith(" - 9 value(s) differed"), restored
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


def central_env(server):
    container = http_get_deployment(server)["spec"]["template"]["spec"]["containers"][0]
    return dict((entry["name"], entry.get("value", entry.get("valueFrom"))) for entry in container["env"])


def test_kube_ovn_local_config_probes_and_central_env_last_with_rollback(lab_factory, k8s_standin, tmp_path):
    """kube-ovn clustered mode: the listeners live in each member's Local_Config, and the ovn-central
    Deployment env (here on the Kubernetes API stand-in) changes last and is rolled back with the rest."""
    lab = lab_factory(name="rollout-kube", members=1, kube_ovn=True)
    info = lab.info()
    deployment = descriptor("kube-1", lab)
    deployment.pop("chassis")
    deployment["local_config"] = {"remotes": [m["unix"] for m in info["nb"]["members"] + info["sb"]["members"]]}
    deployment["kube_ovn"] = {"kubeconfig": k8s_standin.kubeconfig}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"ovn_staging": {"hosts": {"kube-1": {"ovn_deployment": deployment}}}}}}))
    state_dir = str(tmp_path / "state")
    env_before = central_env(k8s_standin)
    probes_before = local_config_probes(lab)
    assert len(probes_before) == 2 and set(probes_before.values()) == {None}

    failed = rollout(str(inventory), state_dir, ovn_tuning_profile={},
                     ovn_tuning_assertions=["summary.members_total == `99`"])

    assert failed.returncode != 0
    changed = messages(failed, "Show what changed", "kube-1")
    assert changed[0] == "kube-1: 5 value(s) changed", changed
    assert changed[1:3] == ["Local_Config listener %s: inactivity_probe unset -> 60000" % target
                            for _remote, target in sorted(probes_before)]
    assert changed[3] == "NB_Global options:northd_probe_interval unset -> 60000"
    assert sorted(changed[4:]) == [
        "kube-system/ovn-central env OVN_LEADER_PROBE_INTERVAL 5 -> 60 (the pods restart)",
        "kube-system/ovn-central env OVN_NORTHD_PROBE_INTERVAL 5000 -> 60000 (the pods restart)"]
    assert "ROLLED BACK" in failure_text(failed)
    assert central_env(k8s_standin) == env_before
    assert local_config_probes(lab) == probes_before

    run = rollout(str(inventory), state_dir, ovn_tuning_profile={})

    assert run.returncode == 0, failure_text(run) or run.stdout[-4000:]
    env_after = central_env(k8s_standin)
    assert env_after["OVN_LEADER_PROBE_INTERVAL"] == "60" and env_after["OVN_NORTHD_PROBE_INTERVAL"] == "60000"
    assert dict(env_after, OVN_LEADER_PROBE_INTERVAL="5", OVN_NORTHD_PROBE_INTERVAL="5000") == env_before
    assert set(local_config_probes(lab).values()) == {60000}
    # The Deployment env is the last write of the change (it restarts the database pods); after it only
    # the Local_Config probes are set again (kube-ovn recreates Local_Config at a pod start).
    plan_end = max(i for i, r in enumerate(run.records)
                   if r["host"] == "kube-1" and r["task"].endswith("Show the plan"))
    writes = [r for r in run.records[plan_end + 1:] if r["host"] == "kube-1" and r["status"] != "skipped"
              and r["action"].split(".")[-1] in WRITING_ACTIONS]
    assert [r["action"].split(".")[-1] for r in writes] == [
        "ovsdb_connection", "ovn_global_options", "ovn_central_env", "ovsdb_connection"], [r["task"] for r in writes]
    assert writes[-1]["result"]["changed"] is False
    record_path = os.path.join(state_dir, "promotions", expected_checksum({}) + ".json")
    with open(record_path) as handle:
        assert json.load(handle)["status"] == "promoted"


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
        assert cli("ovn-nbctl", "--timeout=20", "--db=" + stg["nb"]["remote"], "get", "NB_Global", ".", "_uuid")
        assert cli("ovs-appctl", "--timeout=20", "-t", prod["sb"]["ctl_sockets"][0], "cluster/status",
                   "OVN_Southbound")
        assert cli("ovs-vsctl", "--timeout=20", "--db=" + prod["chassis"][0]["remote"], "get", "Open_vSwitch",
                   ".", "_uuid")
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
    done = subprocess.run(["ovn-nbctl", "--timeout=3", "--db=" + stg["nb"]["remote"], "get", "NB_Global", ".",
                           "_uuid"], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0
