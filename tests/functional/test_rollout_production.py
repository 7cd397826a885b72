"""Production one deployment at a time: the canary passes and keeps its change, the next deployment
fails its gate and is rolled back, and the run stops there - the deployment after it is never touched.

Four private labs started with the incident's settings: staging-1 (ovn_staging) and prod-1, prod-2,
prod-3 (ovn_production, in that order; the default ovn_tuning_production_batch of 1). prod-2 alone
carries a gate assertion that cannot hold (a host variable, as an operator would pin a stricter gate
on one deployment). prod-2 is a full lab (3-member clusters, a chassis) so that its rollback puts back
every kind of value; the others are single-member labs without chassis, to keep the run short.

Oracles: ovn-nbctl / ovn-sbctl / ovs-vsctl / ovs-appctl read each lab's state (support/rollout.py);
the task records give the order in which the deployments were worked on.
"""

import glob
import os

import pytest

from support.rollout import (
    INITIAL, TUNED, assert_profile_values, descriptor, failure_text, files_under, incident_labs, messages,
    rollout, state_of, task_results, write_inventory)

IMPOSSIBLE = "summary.members_total == `99`"
# deployment, cluster members, chassis
SHAPES = (("staging-1", 1, 0), ("prod-1", 1, 0), ("prod-2", 3, 1), ("prod-3", 1, 0))


@pytest.fixture(scope="module")
def labs():
    shapes = [(name, "canary-" + name.replace("-", ""), members, chassis)
              for name, members, chassis in SHAPES]
    with incident_labs(shapes) as started:
        yield started


def first_index(run, host, prefix):
    """Position of the first task record of ``host`` whose task name starts with ``prefix``."""
    for index, record in enumerate(run.records):
        if record["host"] == host and record["task"].startswith(prefix):
            return index
    return None


def test_canary_passes_next_deployment_fails_and_is_rolled_back_the_rest_untouched(labs, tmp_path):
    inventory = write_inventory(tmp_path / "inventory.yml", {
        "ovn_staging": {"staging-1": descriptor("staging-1", labs["staging-1"])},
        "ovn_production": {
            "prod-1": descriptor("prod-1", labs["prod-1"]),
            "prod-2": {"ovn_deployment": descriptor("prod-2", labs["prod-2"]),
                       "ovn_tuning_assertions": [IMPOSSIBLE]},
            "prod-3": descriptor("prod-3", labs["prod-3"])}})
    state_dir = str(tmp_path / "state")
    before = dict((name, state_of(lab)) for name, lab in labs.items())
    for name, state in before.items():
        values = dict(INITIAL, chassis_probe="5000" if name == "prod-2" else None)
        assert_profile_values(state, values)

    run = rollout(inventory, state_dir)

    assert run.returncode != 0, run.stdout[-4000:]
    # Staging and the canary passed their gates and keep the profile.
    for name in ("staging-1", "prod-1"):
        assert_profile_values(state_of(labs[name]), dict(TUNED, chassis_probe=None))
        assert "gate passed" in messages(run, "Gate - NB and SB are healthy after the change", name)
    # prod-2 changed everything, failed its gate on the assertion and was put back exactly.
    assert messages(run, "Show what changed", "prod-2")[0] == "prod-2: 5 value(s) changed"
    text = failure_text(run)
    assert "prod-2: ROLLED BACK to %s/snapshots/prod-2/" % state_dir in text, text
    assert IMPOSSIBLE in text and "is not truthy" in text, text
    assert state_of(labs["prod-2"]) == before["prod-2"]
    # prod-3 was validated, snapshotted and planned (in check mode) by the config play, then never
    # worked on: no task at all ran for it after that play, no snapshot before a change was taken,
    # and its values are as they were.
    staging_play = first_index(run, "staging-1", "kubedc.ovn_tuning.staging")
    assert [record["task"] for record in run.records[staging_play:] if record["host"] == "prod-3"] == []
    before_change = dict((name, glob.glob(os.path.join(state_dir, "snapshots", name, "*-before-*.json")))
                         for name in ("prod-1", "prod-2", "prod-3"))
    assert [len(before_change[name]) for name in ("prod-1", "prod-2", "prod-3")] == [1, 1, 0], \
        files_under(state_dir)
    assert state_of(labs["prod-3"]) == before["prod-3"]
    # One at a time, canary first: prod-2's production tasks start after prod-1's gate passed.
    canary_gate = [index for index, record in enumerate(run.records) if record["host"] == "prod-1"
                   and record["task"].endswith("Gate - NB and SB are healthy after the change")]
    assert canary_gate and canary_gate[-1] < first_index(run, "prod-2", "kubedc.ovn_tuning.production")
    assert task_results(run, "Refuse a profile that staging has not promoted", "prod-2")
