"""The fault plan of the demo and the incident benchmark: deterministic, bounded, never two
pauses of the same process or the same cluster at once (tests/lab/ovnlab/faults.py)."""

import pytest

from ovnlab.faults import KINDS, MAX_FAULTS, Fault, plan_faults
from ovnlab.waiting import LabError

LABS = {"staging": 2, "prod": 2}


def _overlaps(plan):
    """Pairs of faults on the same slot whose pauses overlap."""
    found = []
    for i, first in enumerate(plan):
        for second in plan[i + 1:]:
            if first.slots() & second.slots() and second.at < first.at + first.seconds \
                    and first.at < second.at + second.seconds:
                found.append((first, second))
    return found


def test_same_seed_same_plan_other_seed_other_plan():
    first = plan_faults(LABS, seed=7, window_seconds=75)
    assert first == plan_faults(LABS, seed=7, window_seconds=75)
    assert first != plan_faults(LABS, seed=8, window_seconds=75)


@pytest.mark.parametrize("seed", range(20))
def test_pauses_fit_the_window_and_never_overlap_on_a_slot(seed):
    plan = plan_faults(LABS, seed=seed, window_seconds=75, pause_seconds=(8.0, 13.0),
                       settle_seconds=15.0)
    assert plan, "a 75 s window must hold faults"
    assert all(fault.kind in KINDS and fault.lab in LABS for fault in plan)
    assert all(fault.at + fault.seconds <= 75 - 15 + 1e-6 for fault in plan)
    assert all(fault.seconds <= 13.0 for fault in plan)
    # Only a pause cut short by the end of the window may be shorter than the range.
    assert all(fault.seconds >= 8.0 or abs(fault.at + fault.seconds - 60) < 0.02 for fault in plan)
    assert [fault.at for fault in plan] == sorted(fault.at for fault in plan)
    assert _overlaps(plan) == []
    controllers = [fault for fault in plan if fault.kind == "controller"]
    assert all(0 <= fault.index < LABS[fault.lab] for fault in controllers)


def test_followers_of_one_cluster_never_paused_together():
    plan = plan_faults({"only": 0}, seed=3, window_seconds=300, kinds=("nb-follower",),
                       interval_seconds=(1.0, 1.0))
    # One cluster, one slot: each pause starts after the previous one ended.
    assert len(plan) > 5
    for previous, following in zip(plan, plan[1:]):
        assert following.at >= previous.at + previous.seconds - 1e-6


def test_the_plan_is_bounded():
    plan = plan_faults({"lab%d" % n: 50 for n in range(10)}, seed=1, window_seconds=100000,
                       pause_seconds=(0.1, 0.2), interval_seconds=(0.01, 0.02))
    assert len(plan) == MAX_FAULTS


def test_a_window_shorter_than_settle_and_pause_has_no_fault():
    assert plan_faults(LABS, seed=7, window_seconds=20, settle_seconds=15.0) == []


@pytest.mark.parametrize("kwargs, words", [
    ({"pause_seconds": (0, 5)}, "pause_seconds"),
    ({"pause_seconds": (5, 2)}, "pause_seconds"),
    ({"interval_seconds": (0, 1)}, "interval_seconds"),
    ({"kinds": ("leader",)}, "kinds"),
])
def test_bad_input_is_refused_with_the_parameter_named(kwargs, words):
    with pytest.raises(LabError) as caught:
        plan_faults(LABS, seed=1, window_seconds=60, **kwargs)
    assert words in str(caught.value)


def test_no_target_at_all_is_refused():
    with pytest.raises(LabError) as caught:
        plan_faults({"bare": 0}, seed=1, window_seconds=60, kinds=("controller",))
    assert "no fault targets" in str(caught.value)


def test_follower_slot_is_the_cluster_and_client_slot_the_process():
    assert Fault(0, "a", "nb-follower", 0, 1).slots() == Fault(5, "a", "nb-follower", 1, 1).slots()
    assert Fault(0, "a", "controller", 0, 1).slots() != Fault(0, "a", "controller", 1, 1).slots()


def test_partition_is_a_fault_of_both_clusters():
    partition = Fault(0, "a", "partition", 0, 1).slots()
    assert Fault(0, "a", "nb-follower", 0, 1).slots() <= partition
    assert Fault(0, "a", "sb-follower", 1, 1).slots() <= partition
    assert not Fault(0, "a", "controller", 0, 1).slots() & partition
    assert not Fault(0, "b", "nb-follower", 0, 1).slots() & partition


@pytest.mark.parametrize("seed", range(5))
def test_default_plans_hold_partitions(seed):
    plan = plan_faults(LABS, seed=seed, window_seconds=300)
    assert any(fault.kind == "partition" for fault in plan)
