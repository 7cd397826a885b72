"""The chassis probe keys: ovn-controller reads external_ids:KEY-<system-id> before KEY (OVN
lib/ovn-util.c get_chassis_external_id_value); plans follow, warn about or leave alone such a key."""

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import chassis_probe, tunables

PLAIN = "ovn-remote-probe-interval"
SPECIFIC = "ovn-remote-probe-interval-hv1"
EXTERNAL_IDS = {"system-id": "hv1", "ovn-remote": "tcp:10.0.0.1:6642", PLAIN: "5000", SPECIFIC: "10000",
                # Another chassis' key in the same database is not this ovn-controller's.
                "ovn-remote-probe-interval-hv2": "2000"}


def test_effective_value_comes_from_the_per_chassis_key_first():
    effective = chassis_probe.effective(EXTERNAL_IDS)
    assert effective[PLAIN] == {"value": "10000", "from": SPECIFIC}
    assert effective["ovn-openflow-probe-interval"] == {"value": None, "from": None}
    without = dict(EXTERNAL_IDS)
    del without[SPECIFIC]
    assert chassis_probe.effective(without)[PLAIN] == {"value": "5000", "from": PLAIN}
    # No system-id: no per-chassis key applies.
    assert chassis_probe.effective({SPECIFIC: "1"})[PLAIN] == {"value": None, "from": None}


def test_managed_keys_are_the_plain_ones_and_this_chassis_own():
    assert chassis_probe.managed(EXTERNAL_IDS) == {PLAIN: "5000", SPECIFIC: "10000"}


def test_warn_changes_the_plain_key_and_says_the_per_chassis_one_stays():
    plan = chassis_probe.plan(EXTERNAL_IDS, {PLAIN: "60000"}, "warn")
    assert plan["set"] == {PLAIN: "60000"} and plan["remove"] == []
    assert plan["effective_after"][PLAIN] == {"value": "10000", "from": SPECIFIC}
    assert plan["warnings"] == [
        "external_ids:%s=10000 overrides %s on this chassis: ovn-controller reads the per-chassis key first and"
        " keeps 10000; per_chassis_keys=set changes it too" % (SPECIFIC, PLAIN)]
    # Nothing to say when the per-chassis key already has the value.
    assert chassis_probe.plan(dict(EXTERNAL_IDS, **{SPECIFIC: "60000"}), {PLAIN: "60000"}, "warn")["warnings"] == []


def test_set_follows_the_per_chassis_key_and_never_creates_one():
    plan = chassis_probe.plan(EXTERNAL_IDS, {PLAIN: "60000"}, "set")
    assert plan["set"] == {PLAIN: "60000", SPECIFIC: "60000"} and plan["warnings"] == []
    assert plan["effective_after"][PLAIN] == {"value": "60000", "from": SPECIFIC}
    removed = chassis_probe.plan(EXTERNAL_IDS, {PLAIN: None}, "set")
    assert removed["remove"] == [PLAIN, SPECIFIC]
    assert removed["effective_after"][PLAIN] == {"value": None, "from": None}
    plain_only = dict(EXTERNAL_IDS)
    del plain_only[SPECIFIC]
    assert chassis_probe.plan(plain_only, {PLAIN: "60000"}, "set")["set"] == {PLAIN: "60000"}


def test_a_restore_names_what_it_puts_back_and_leaves_the_rest():
    desired = chassis_probe.restore_keys({PLAIN: "5000", SPECIFIC: "10000"})
    assert desired == {PLAIN: "5000", SPECIFIC: "10000", "ovn-bridge-remote-probe-interval": None,
                       "ovn-openflow-probe-interval": None}
    now = dict(EXTERNAL_IDS, **{PLAIN: "60000", SPECIFIC: "60000", "ovn-openflow-probe-interval": "30"})
    plan = chassis_probe.plan(now, desired)
    assert plan["set"] == {PLAIN: "5000", SPECIFIC: "10000"} and plan["remove"] == ["ovn-openflow-probe-interval"]
    # A per-chassis key the record does not name is not touched.
    assert "ovn-remote-probe-interval-hv2" not in plan["set"] and plan["warnings"] == []


@pytest.mark.parametrize("recorded, message", [
    ({"ovn-remote": "x"}, "restore: ovn-remote is not a probe key this module manages"),
    ({SPECIFIC: "fast"}, "restore.%s" % SPECIFIC),
    ({"ovn-openflow-probe-interval": 60000}, "restore.ovn-openflow-probe-interval"),
    (["ovn-remote-probe-interval"], "restore: expected a map"),
])
def test_restore_refuses_what_is_not_a_recorded_probe_key(recorded, message):
    with pytest.raises((chassis_probe.ChassisProbeError, tunables.IntervalError)) as raised:
        chassis_probe.restore_keys(recorded)
    assert str(raised.value).startswith(message), str(raised.value)


def test_recorded_form_lists_every_plain_key_and_the_per_chassis_ones_set():
    assert chassis_probe.recorded({PLAIN: "5000", SPECIFIC: "10000"}) == {
        PLAIN: "5000", SPECIFIC: "10000", "ovn-bridge-remote-probe-interval": None,
        "ovn-openflow-probe-interval": None}
