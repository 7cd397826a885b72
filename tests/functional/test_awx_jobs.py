"""The AWX job templates run the way AWX runs them: through ansible-runner, each job in a private data
directory of its own (project, inventory, env/extravars built from the survey answers, --limit, job type
check as --check, its own HOME and async directory), with no state directory shared between jobs - the
snapshots and promotion records live in the deployments (ovn_tuning_state_store=deployment, the surveys'
default). A workflow node that follows another gets the earlier job's set_stats artifacts as extra
variables, as AWX hands them on.

Asserted on the runner's status and rc, on the events in artifacts/<ident>/job_events (the stats event's
artifact_data is what AWX hands on), and on the databases read with ovn-nbctl - never on log text.
Every survey answer comes from the survey files in awx/surveys: a survey whose questions no longer fit
the roles fails here.
"""

import glob
import json
import os
import shutil
import sys
import time

import ansible_runner
import yaml

from support import oracle
from support.ansible_run import COLLECTIONS_DIR, REPO_ROOT
from support.rollout import descriptor, expected_checksum, listener_probes

SURVEYS = os.path.join(REPO_ROOT, "awx", "surveys")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
PREFIX = "kubedc-ovn-tuning:"
# The job templates' extra variables (docs/awx.md): quick windows for the lab.
TEMPLATE_VARS = {"ovn_tuning_profile": {"nb_election_timer": "2s"}}
# A profile staging never passed (another checksum).
OTHER_PROFILE = {"ovn_tuning_profile": {"nb_election_timer": "2s", "northd_probe_interval": "30s"}}


def survey_answers(name, **answers):
    """The extra variables a job gets from the survey ``name``: each question's default, or the answer
    given - which must be one the question accepts. An answer for a question the survey does not ask fails."""
    with open(os.path.join(SURVEYS, name + ".json")) as handle:
        spec = json.load(handle)["spec"]
    out = {}
    for question in spec:
        value = answers.pop(question["variable"], question.get("default"))
        if question["type"] == "multiplechoice":
            assert value in question["choices"], (name, question["variable"], value)
        elif question["type"] == "integer":
            assert isinstance(value, int) and question.get("min", value) <= value <= question.get("max", value), (
                name, question["variable"], value)
        out[question["variable"]] = value
    assert not answers, "survey %s asks nothing about %s" % (name, sorted(answers))
    return out


class Job(object):
    """One AWX job: a fresh private data directory, run by ansible-runner."""

    def __init__(self, base, ident, playbook, inventory, extravars, limit=None, check=False, cancel_when=None):
        self.ident = ident
        self.dir = os.path.join(base, ident)
        os.makedirs(os.path.join(self.dir, "inventory"))
        os.makedirs(os.path.join(self.dir, "env"))
        os.symlink(REPO_ROOT, os.path.join(self.dir, "project"))  # the project checkout
        with open(os.path.join(self.dir, "inventory", "hosts.yml"), "w") as handle:
            yaml.safe_dump(inventory, handle)
        with open(os.path.join(self.dir, "env", "extravars"), "w") as handle:
            json.dump(extravars, handle)
        home = os.path.join(self.dir, "home")
        os.makedirs(home)
        # A fresh container: its own HOME, and the async job files with it (ansible-core's async_status
        # looks them up from the account's home, not $HOME, unless ANSIBLE_ASYNC_DIR says where).
        envvars = {"HOME": home, "ANSIBLE_ASYNC_DIR": os.path.join(home, ".ansible_async"),
                   "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR, "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                   "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1",
                   # The EE's ansible-playbook: this virtualenv's.
                   "PATH": os.path.dirname(ANSIBLE_PLAYBOOK) + os.pathsep + os.environ.get("PATH", "")}
        self.runner = ansible_runner.run(
            private_data_dir=self.dir, playbook=playbook, ident=ident, limit=limit, envvars=envvars,
            cmdline="--check --diff" if check else None, quiet=True,
            fact_cache_type="jsonfile", timeout=900,
            # AWX's "cancel": the runner ends the job when this says so.
            cancel_callback=cancel_when)

    @property
    def status(self):
        return self.runner.status

    @property
    def rc(self):
        return self.runner.rc

    def events(self):
        paths = glob.glob(os.path.join(self.dir, "artifacts", self.ident, "job_events", "*.json"))
        out = []
        for path in paths:
            with open(path) as handle:
                out.append(json.load(handle))
        return sorted(out, key=lambda event: event["counter"])

    def artifacts(self):
        """What AWX hands to the next workflow node: the stats event's artifact_data."""
        stats = [e for e in self.events() if e["event"] == "playbook_on_stats"]
        assert stats, "no stats event in %s" % self.ident
        return stats[-1]["event_data"].get("artifact_data") or {}

    def changed(self):
        stats = [e for e in self.events() if e["event"] == "playbook_on_stats"][-1]["event_data"]
        return dict((host, count) for host, count in (stats.get("changed") or {}).items())

    def results(self, task):
        return [e["event_data"]["res"] for e in self.events()
                if e["event"] in ("runner_on_ok", "runner_on_failed") and e["event_data"].get("task") == task]

    def failures(self):
        return [e["event_data"] for e in self.events() if e["event"] == "runner_on_failed"
                and not e["event_data"].get("ignore_errors")]

    def explain(self):
        return "%s: status %s rc %s; failures: %s" % (
            self.ident, self.status, self.rc,
            [(f.get("task"), (f.get("res") or {}).get("msg")) for f in self.failures()][:5])


def external_ids(lab):
    """NB_Global external_ids, read with ovn-nbctl (the way the docs tell operators to read the store)."""
    out = oracle.nbctl(lab.info()["nb"]["remotes"], "--format=json", "--columns=external_ids", "list", "NB_Global")
    pairs = json.loads(out)["data"][0][0][1]
    return dict((key, value) for key, value in pairs)


def ours(lab, kind=None):
    return dict((key, value) for key, value in external_ids(lab).items()
                if key.startswith(PREFIX + (kind + ":" if kind else "")))


def northd_probe(lab):
    return oracle.nbctl(lab.info()["nb"]["remotes"], "--if-exists", "get", "NB_Global", ".",
                        "options:northd_probe_interval").strip('"')


def test_job_templates_under_ansible_runner_with_the_state_in_the_deployments(lab_factory, tmp_path):
    labs = dict((name, lab_factory(name=name, members=1, election_timer_ms=1000, inactivity_probe_ms=5000,
                                   northd_probe_ms=5000)) for name in ("awx-stg", "awx-prod"))
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"ovn_staging": {"hosts": {"stg": {"ovn_deployment": descriptor("stg", labs["awx-stg"])}}},
                     "ovn_production": {"hosts": {"prod": {"ovn_deployment": descriptor("prod", labs["awx-prod"])}}}}}}
    base = str(tmp_path)
    # Another tool's key in each NB_Global: never touched.
    for lab in labs.values():
        oracle.nbctl(lab.info()["nb"]["remotes"], "set", "NB_Global", ".", "external_ids:other-tool=keep-me")
    quick = {"ovn_tuning_baseline_seconds": 0, "ovn_tuning_soak_seconds": 0}

    def job(ident, survey, playbook, limit=None, check=False, artifacts=None, template_vars=None, **answers):
        extravars = dict(TEMPLATE_VARS if template_vars is None else template_vars)
        extravars.update(artifacts or {})  # a workflow node inherits the earlier node's artifacts
        extravars.update(survey_answers(survey, **answers))
        return Job(base, ident, playbook, inventory, extravars, limit=limit, check=check)

    # 1. health
    health = job("health", "health", "playbooks/health.yml")
    assert (health.status, health.rc) == ("successful", 0), health.explain()
    assert sorted(health.artifacts()["ovn_tuning_health"]) == ["prod", "stg"]

    # A Check job of rollout-staging (the plan) writes nothing, bookkeeping included.
    plan = job("staging-check", "rollout-staging", "playbooks/rollout.yml", limit="ovn_staging", check=True, **quick)
    assert (plan.status, plan.rc) == ("successful", 0), plan.explain()
    assert ours(labs["awx-stg"]) == {} and northd_probe(labs["awx-stg"]) == "5000"

    # 2. rollout-staging, then rollout-production fed only the staging job's artifacts: it converges.
    checksum = expected_checksum(TEMPLATE_VARS["ovn_tuning_profile"])
    staging = job("staging", "rollout-staging", "playbooks/rollout.yml", limit="ovn_staging", **quick)
    assert (staging.status, staging.rc) == ("successful", 0), staging.explain()
    handed = staging.artifacts()
    assert handed["ovn_tuning_profile_checksum"] == checksum
    assert handed["ovn_tuning_promotion"]["status"] == "promoted" and handed["ovn_tuning_promotion"]["check_mode"] is False
    assert handed["ovn_tuning_promotion_record"] == PREFIX + "promotion:" + checksum
    stg_store = ours(labs["awx-stg"])
    assert json.loads(stg_store[PREFIX + "promotion:" + checksum])["status"] == "promoted"
    assert handed["ovn_tuning_snapshots"]["stg"] in stg_store  # the key of the snapshot taken before the change
    assert northd_probe(labs["awx-stg"]) == "60000" and external_ids(labs["awx-stg"])["other-tool"] == "keep-me"

    production = job("production", "rollout-production", "playbooks/rollout.yml", limit="ovn_production",
                     artifacts=handed, **quick)
    assert (production.status, production.rc) == ("successful", 0), production.explain()
    accepted = production.results("Refuse a profile that staging has not promoted")
    assert accepted and "read from the workflow artifact ovn_tuning_promotion" in accepted[0]["msg"]
    assert northd_probe(labs["awx-prod"]) == "60000"
    assert set(listener_probes(labs["awx-prod"], "nb").values()) == {60000}
    prod_snapshot = production.artifacts()["ovn_tuning_snapshots"]["prod"]
    assert prod_snapshot in ours(labs["awx-prod"], "snapshot")

    # Without artifacts, production reads the record the staging deployment keeps; nothing is left to
    # change, and writing no bookkeeping counts as a change.
    before_change = sorted(key for key in ours(labs["awx-prod"], "snapshot") if "-before-" in key)
    again = job("production-again", "rollout-production", "playbooks/rollout.yml", limit="ovn_production", **quick)
    assert (again.status, again.rc) == ("successful", 0), again.explain()
    accepted = again.results("Refuse a profile that staging has not promoted")
    assert "read from %spromotion:%s in the staging deployments (stg)" % (PREFIX, checksum) in accepted[0]["msg"]
    assert again.changed() == {}, again.changed()
    # The snapshot taken before a change that changed nothing is dropped again (the run's start snapshot,
    # "-config", stays: what the deployment looked like when the run began).
    assert sorted(key for key in ours(labs["awx-prod"], "snapshot") if "-before-" in key) == before_change

    # 3. rollout-production with no artifacts and a profile staging never passed: refused, nothing changes.
    before = (external_ids(labs["awx-prod"]), northd_probe(labs["awx-prod"]))
    before_snapshots = set(ours(labs["awx-prod"], "snapshot"))
    refused = job("production-refused", "rollout-production", "playbooks/rollout.yml", limit="ovn_production",
                  template_vars=OTHER_PROFILE, **quick)
    assert refused.status == "failed" and refused.rc != 0
    why = [f["res"]["msg"] for f in refused.failures() if f.get("task") == "Refuse a profile that staging has not promoted"]
    assert why and "there is no promotion record for it" in why[0], refused.explain()
    # Nothing changed; the one thing written is the snapshot of the run's start ("-config").
    added = set(ours(labs["awx-prod"], "snapshot")) - before_snapshots
    assert len(added) == 1 and added.pop().endswith("-config")
    after = dict((k, v) for k, v in external_ids(labs["awx-prod"]).items() if k not in set(ours(labs["awx-prod"], "snapshot")))
    assert (after, northd_probe(labs["awx-prod"])) == (
        dict((k, v) for k, v in before[0].items() if k not in before_snapshots), before[1])

    # 4. a staging job whose gate fails: rolled back, and the artifacts say so.
    failing = job("staging-gate-fails", "rollout-staging", "playbooks/rollout.yml", limit="ovn_staging",
                  template_vars=dict(OTHER_PROFILE, ovn_tuning_assertions=["summary.members_total == `99`"]), **quick)
    assert failing.status == "failed" and failing.rc != 0
    told = failing.artifacts()
    assert told["ovn_tuning_staging_failed"]["stg"]["rolled_back"] is True, told
    assert "ROLLED BACK" in told["ovn_tuning_staging_failed"]["stg"]["reason"]
    assert told["ovn_tuning_promotion"]["status"] == "failed"
    assert northd_probe(labs["awx-stg"]) == "60000"  # back from 30000
    other = expected_checksum(OTHER_PROFILE["ovn_tuning_profile"])
    assert json.loads(ours(labs["awx-stg"])[PREFIX + "promotion:" + other])["status"] == "failed"

    # 5. rollback in a fresh directory: the latest snapshot taken before a change, from the deployment.
    before_change = sorted(key for key in ours(labs["awx-prod"], "snapshot") if "-before-" in key)
    assert before_change[-1] == prod_snapshot
    rollback = job("rollback", "rollback", "awx/rollback.yml", limit="ovn_production")
    assert (rollback.status, rollback.rc) == ("successful", 0), rollback.explain()
    assert rollback.artifacts()["ovn_tuning_restored"] == {"prod": prod_snapshot}
    assert northd_probe(labs["awx-prod"]) == "5000"
    assert set(listener_probes(labs["awx-prod"], "nb").values()) == {5000}
    for lab in labs.values():
        assert external_ids(lab)["other-tool"] == "keep-me"
    # Each job had a directory of its own; none of them wrote a state directory.
    for ident in ("health", "staging-check", "staging", "production", "production-again", "production-refused",
                  "staging-gate-fails", "rollback"):
        assert not os.path.exists(os.path.join(base, ident, "home", ".ansible", "kubedc.ovn_tuning")), ident
    shutil.rmtree(base, ignore_errors=True)


def test_a_cancelled_staging_job_is_rolled_back_by_the_failure_node_from_the_journal(lab_factory, tmp_path):
    """A staging job cancelled while its change soaks hands nothing on (set_stats never ran). The workflow's
    failure node - the rollback job template with ovn_tuning_rollback_artifacts_only and no artifacts - finds
    the change in the deployment's journal and restores the snapshot taken before it."""
    lab = lab_factory(name="awx-cut", members=1, election_timer_ms=1000, inactivity_probe_ms=5000,
                      northd_probe_ms=5000)
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"ovn_staging": {"hosts": {"stg": {"ovn_deployment": descriptor("stg", lab)}}},
                     "ovn_production": {"hosts": {}}}}}
    base = str(tmp_path)
    journal_key = PREFIX + "journal:rollout"
    polled = {"at": 0.0}

    def changing():
        # At most every half second: is the change under way (the journal says changing)?
        if time.monotonic() - polled["at"] < 0.5:
            return False
        polled["at"] = time.monotonic()
        value = external_ids(lab).get(journal_key)
        return bool(value) and json.loads(value)["status"] == "changing" and northd_probe(lab) == "60000"

    extravars = dict(TEMPLATE_VARS, **survey_answers("rollout-staging", ovn_tuning_baseline_seconds=0,
                                                     ovn_tuning_soak_seconds=15))
    cut = Job(base, "staging-cancelled", "playbooks/rollout.yml", inventory, extravars, limit="ovn_staging",
              cancel_when=changing)
    # (ansible-runner reports the cancelled run as canceled or failed, by version; never successful)
    assert cut.status in ("canceled", "failed") and cut.rc != 0, cut.explain()
    assert northd_probe(lab) == "60000"
    assert json.loads(external_ids(lab)[journal_key])["status"] == "changing"
    assert not [e for e in cut.events() if e["event"] == "playbook_on_stats"
                and (e["event_data"].get("artifact_data") or {}).get("ovn_tuning_snapshots")]

    rollback = Job(base, "rollback-failure-node", "awx/rollback.yml", inventory,
                   dict(TEMPLATE_VARS, ovn_tuning_rollback_artifacts_only=True, **survey_answers("rollback")),
                   limit="ovn_staging")
    assert (rollback.status, rollback.rc) == ("successful", 0), rollback.explain()
    journal = json.loads(external_ids(lab)[journal_key])
    assert journal["status"] == "rolled_back", journal
    assert rollback.artifacts()["ovn_tuning_restored"]["stg"] == journal["snapshot"]
    assert "-before-staging" in journal["snapshot"]
    assert northd_probe(lab) == "5000"
    assert set(listener_probes(lab, "nb").values()) == {5000}
    assert PREFIX + "lease:rollout" not in external_ids(lab)
