"""kubedc.ovn_tuning.ovn_chassis_probe against the session lab's chassis (its own Open_vSwitch
ovsdb-server and a running ovn-controller).

The module runs through ansible-playbook; what it wrote is read back with ovs-vsctl on the chassis
host, and that ovn-controller stayed up and connected is read with ovn-appctl there and ovn-sbctl. Every test puts
the chassis' external_ids back as it found them.
"""

import functools
import json
import os
import re
import time

import pytest

from support import ansible_run, oracle, three_runs

MODULE = "kubedc.ovn_tuning.ovn_chassis_probe"
PROBE_KEYS = ("ovn-remote-probe-interval", "ovn-bridge-remote-probe-interval",
              "ovn-openflow-probe-interval")


# One module run through ansible-playbook; ``failed`` comes from the task's status.
run_module = functools.partial(ansible_run.run_module, MODULE, timeout=180)
# Several module runs in one playbook (one ansible-playbook process); results by case name.
run_many = functools.partial(three_runs.run_many, MODULE)


# The chassis behind each database remote the module is given: the oracle runs ovs-vsctl on that
# chassis' host, against its local /run/openvswitch/db.sock.
_CHASSIS_OF_REMOTE = {}


def vsctl(remote, *args):
    lab_info, chassis = _CHASSIS_OF_REMOTE[remote]
    return oracle.run(oracle.vsctl_argv(lab_info, chassis, *args)).strip()


def external_ids(remote):
    """external_ids of the Open_vSwitch row as ovs-vsctl prints and parses it."""
    text = vsctl(remote, "--format=json", "--columns=external_ids", "list", "Open_vSwitch")
    data = json.loads(text)["data"][0][0]
    assert data[0] == "map"
    return dict(data[1])


def controller_connected(chassis):
    lab_info, _chassis = _CHASSIS_OF_REMOTE[chassis["ovs_remote"]]
    out = oracle.attempt(oracle.on_host(lab_info, chassis["host"], ["ovn-appctl", "-t", "ovn-controller",
                                                                    "connection-status"]), timeout=20)
    return out.returncode == 0 and out.stdout.strip() == "connected"


def sb_has_chassis(lab, name):
    out = oracle.sbctl(lab.remotes("sb"), "--no-leader-only", "--bare", "--columns=name", "find", "Chassis",
                       "name=" + name).split()
    return name in out


@pytest.fixture
def chassis(ovn_lab):
    """The lab's chassis; its external_ids are restored after the test whatever happened."""
    lab_info = ovn_lab.info()
    info = lab_info["chassis"][0]
    remote = info["ovs_remote"]
    _CHASSIS_OF_REMOTE[remote] = (lab_info, info)
    before = external_ids(remote)
    yield info
    now = external_ids(remote)
    # The plain keys and their per-chassis forms (KEY-<system-id>).
    for key in sorted(set(k for k in set(before) | set(now) if k.startswith(PROBE_KEYS))):
        if key in before and now.get(key) != before[key]:
            vsctl(remote, "set", "Open_vSwitch", ".", 'external_ids:%s="%s"' % (key, before[key]))
        elif key not in before and key in now:
            vsctl(remote, "remove", "Open_vSwitch", ".", "external_ids", key)
    assert external_ids(remote) == before


def assert_controller_healthy(lab, info):
    assert os.path.exists("/proc/%d" % info["controller_pid"]), "ovn-controller is gone"
    assert controller_connected(info), "ovn-controller is not connected to the SB"
    assert sb_has_chassis(lab, info["name"])


def test_a_disabled_sb_probe_is_warned_about(chassis):
    remote = chassis["ovs_remote"]
    before = external_ids(remote)
    checked = run_module({"remote": remote, "remote_probe_interval": 0}, check=True)
    assert not checked["failed"], checked.get("msg")
    assert checked["changed"] is True and checked["external_ids_after"] == {"ovn-remote-probe-interval": "0"}
    assert checked["warnings"] == [
        "remote_probe_interval: 0 disables ovn-controller's probe of its SB connection: over TCP or SSL it then"
        " never notices a dead SB server or a cut path and keeps waiting on it instead of reconnecting"]
    assert external_ids(remote) == before, "check mode wrote to the database"


def test_set_probes_check_then_real_then_again(ovn_lab, chassis):
    remote = chassis["ovs_remote"]
    original = external_ids(remote)
    for key in PROBE_KEYS:
        assert key not in original, "the lab chassis should start without %s" % key
    args = {"remote": remote, "remote_probe_interval": "60s", "bridge_remote_probe_interval": 30000,
            "openflow_probe_interval": 30}
    expected = {"ovn-remote-probe-interval": "60000", "ovn-bridge-remote-probe-interval": "30000",
                "ovn-openflow-probe-interval": "30"}

    checked = run_module(args, check=True, diff=True)
    assert not checked["failed"], checked.get("msg")
    assert checked["changed"] is True
    assert checked["external_ids_before"] == {}
    assert checked["external_ids_after"] == expected
    assert checked["diff"] == {"before": {"external_ids": {}}, "after": {"external_ids": expected}}
    assert checked["chassis"] == chassis["name"]
    warnings = " ".join(checked.get("warnings", []))
    assert "bridge_remote_probe_interval" in warnings and "24.09" in warnings
    assert "openflow_probe_interval" in warnings and "24.03" in warnings
    assert "disables" not in warnings
    assert external_ids(remote) == original, "check mode wrote to the database"

    applied = run_module(args, diff=True)
    assert not applied["failed"], applied.get("msg")
    assert applied["changed"] is True
    assert applied["external_ids_after"] == expected
    assert applied["diff"]["after"] == {"external_ids": expected}
    now = external_ids(remote)
    for key, value in expected.items():
        assert now[key] == value
    # Only the named keys changed: system-id, ovn-remote, ovn-encap-* are untouched.
    assert dict((k, v) for k, v in now.items() if k not in expected) == original
    assert_controller_healthy(ovn_lab, chassis)

    again = run_module(args, diff=True)
    assert not again["failed"], again.get("msg")
    assert again["changed"] is False
    assert again["external_ids_before"] == expected == again["external_ids_after"]
    assert external_ids(remote) == now


def test_remove_named_probes_check_then_real_then_again(ovn_lab, chassis):
    remote = chassis["ovs_remote"]
    vsctl(remote, "set", "Open_vSwitch", ".", 'external_ids:ovn-remote-probe-interval="45000"',
          'external_ids:ovn-openflow-probe-interval="20"',
          'external_ids:ovn-bridge-remote-probe-interval="15000"')
    start = external_ids(remote)
    args = {"remote": remote, "state": "absent", "remote_probe_interval": True,
            "openflow_probe_interval": "yes", "bridge_remote_probe_interval": False}
    remaining = {"ovn-bridge-remote-probe-interval": "15000"}

    checked = run_module(args, check=True, diff=True)
    assert not checked["failed"], checked.get("msg")
    assert checked["changed"] is True
    assert checked["external_ids_before"] == {"ovn-remote-probe-interval": "45000",
                                              "ovn-bridge-remote-probe-interval": "15000",
                                              "ovn-openflow-probe-interval": "20"}
    assert checked["external_ids_after"] == remaining
    assert checked["diff"]["after"] == {"external_ids": remaining}
    assert external_ids(remote) == start, "check mode wrote to the database"

    removed = run_module(args, diff=True)
    assert not removed["failed"], removed.get("msg")
    assert removed["changed"] is True
    now = external_ids(remote)
    assert "ovn-remote-probe-interval" not in now and "ovn-openflow-probe-interval" not in now
    assert now["ovn-bridge-remote-probe-interval"] == "15000"  # given as false: kept
    assert now["system-id"] == chassis["name"]
    assert_controller_healthy(ovn_lab, chassis)

    again = run_module(args, diff=True)
    assert not again["failed"], again.get("msg")
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"] == {"external_ids": remaining}
    assert external_ids(remote) == now


BAD_INPUTS = [
    ("below 1000 ms", {"remote_probe_interval": 500}, "remote_probe_interval"),
    ("negative", {"remote_probe_interval": -1}, "remote_probe_interval"),
    ("not a number", {"remote_probe_interval": "abc"}, "remote_probe_interval"),
    ("over one hour", {"remote_probe_interval": "2h"}, "remote_probe_interval"),
    ("true with present", {"remote_probe_interval": True}, "remote_probe_interval"),
    ("bridge unit", {"bridge_remote_probe_interval": "5 parsecs"}, "bridge_remote_probe_interval"),
    ("openflow in ms", {"openflow_probe_interval": 60000}, "openflow_probe_interval"),
    ("absent with a value", {"state": "absent", "remote_probe_interval": 30000}, "remote_probe_interval"),
    ("absent with nothing named", {"state": "absent"}, "state=absent"),
    ("nothing given", {}, "remote_probe_interval"),
    ("bad remote", {"remote": "tcp:nowhere", "remote_probe_interval": 30000}, "remote"),
    ("per-chassis choice", {"remote_probe_interval": 30000, "per_chassis_keys": "always"}, "value of per_chassis_keys"),
    ("restore with an interval", {"restore": {}, "remote_probe_interval": 30000}, "restore"),
    ("restore and absent", {"restore": {}, "state": "absent"}, "restore"),
    ("restore an unknown key", {"restore": {"ovn-remote": "tcp:1.2.3.4:6642"}}, "restore"),
    ("restore a bad value", {"restore": {"ovn-remote-probe-interval-hv1": "5 parsecs"}},
     "restore.ovn-remote-probe-interval-hv1"),
]


def test_bad_inputs_fail_naming_the_option_and_change_nothing(chassis):
    remote = chassis["ovs_remote"]
    before = external_ids(remote)
    cases = []
    for name, args, _param in BAD_INPUTS:
        full = {"remote": remote}
        full.update(args)
        cases.append((name, full))
    results = run_many(cases)
    for name, _args, param in BAD_INPUTS:
        result = results[name]
        assert result["failed"], "%s: did not fail: %r" % (name, result)
        assert result["msg"].startswith(param), (name, result["msg"])
        assert result.get("changed") is False
    assert external_ids(remote) == before


def test_a_per_chassis_key_is_reported_warned_about_followed_and_restored(ovn_lab, chassis):
    """ovn-controller reads external_ids:KEY-<system-id> before KEY. With one set, the plain key alone
    does not reach it: warn (default) says so, set changes both, restore puts both back. Each step
    three times - check mode, for real, again - read back with ovs-vsctl on the chassis host, and judged
    by ovn_health on the value ovn-controller really reads."""
    remote = chassis["ovs_remote"]
    specific = "ovn-remote-probe-interval-%s" % chassis["name"]
    vsctl(remote, "set", "Open_vSwitch", ".", 'external_ids:%s="10000"' % specific,
          'external_ids:ovn-remote-probe-interval="5000"')
    original = external_ids(remote)
    recorded = {"ovn-remote-probe-interval": "5000", specific: "10000"}
    warn = {"remote": remote, "remote_probe_interval": "60s"}
    follow = dict(warn, per_chassis_keys="set")
    restore = {"remote": remote, "restore": recorded}
    health = {"database": "Open_vSwitch", "remote": remote, "timeout": 10, "fail_on_unhealthy": False,
              "expected_probes": {"ovn-remote-probe-interval": 60000}}
    tasks = [("warn check", warn, True), ("warn", warn, False), ("warn again", warn, False),
             ("health after warn", None, False),
             ("set check", follow, True), ("set", follow, False), ("set again", follow, False),
             ("health after set", None, False),
             ("restore check", restore, True), ("restore", restore, False), ("restore again", restore, False)]
    results = {}
    seen = {}
    for name, args, check in tasks:
        if args is None:
            results[name] = ansible_run.run_module("ovn_health", health, timeout=180)
        else:
            results[name] = run_module(args, check=check, diff=True)
            assert not results[name]["failed"], (name, results[name].get("msg"))
        seen[name] = external_ids(remote)

    # warn: the plain key changes, the per-chassis key keeps ovn-controller at 10 s - and it says so.
    checked = results["warn check"]
    assert checked["changed"] is True and seen["warn check"] == original
    assert checked["external_ids_before"] == recorded
    assert checked["external_ids_after"] == dict(recorded, **{"ovn-remote-probe-interval": "60000"})
    assert checked["effective_before"]["ovn-remote-probe-interval"] == {"value": "10000", "from": specific}
    assert checked["effective_after"]["ovn-remote-probe-interval"] == {"value": "10000", "from": specific}
    sentence = ("external_ids:%s=10000 overrides ovn-remote-probe-interval on this chassis: ovn-controller reads"
                " the per-chassis key first and keeps 10000; per_chassis_keys=set changes it too" % specific)
    assert sentence in checked["warnings"]
    assert results["warn"]["changed"] is True
    assert seen["warn"] == dict(original, **{"ovn-remote-probe-interval": "60000"})
    assert results["warn again"]["changed"] is False and sentence in results["warn again"]["warnings"]
    # The health gate judges the value ovn-controller reads, and names the key it comes from.
    judged = results["health after warn"]
    assert judged["healthy"] is False
    assert judged["facts"]["end"]["probe_settings"]["options_effective"]["ovn-remote-probe-interval"] == 10000
    assert judged["facts"]["end"]["probe_settings"]["options_from"]["ovn-remote-probe-interval"] == specific
    assert judged["failed_gates"] == [
        "expected_probes: Open_vSwitch:ovn-remote-probe-interval is 10000 ms (set as the per-chassis key %s),"
        " expected 60000" % specific]

    # set: both keys get the value, so that it reaches ovn-controller.
    checked = results["set check"]
    assert checked["changed"] is True and seen["set check"] == seen["warn"]
    assert checked["effective_after"]["ovn-remote-probe-interval"] == {"value": "60000", "from": specific}
    assert checked["diff"]["after"] == {"external_ids": {"ovn-remote-probe-interval": "60000", specific: "60000"}}
    assert "warnings" not in checked or not any("overrides" in w for w in checked["warnings"])
    assert results["set"]["changed"] is True
    assert seen["set"] == dict(original, **{"ovn-remote-probe-interval": "60000", specific: "60000"})
    assert results["set again"]["changed"] is False and seen["set again"] == seen["set"]
    assert results["health after set"]["healthy"] is True, results["health after set"]["failed_gates"]
    assert_controller_healthy(ovn_lab, chassis)

    # restore: what external_ids_before recorded, both keys, exactly.
    checked = results["restore check"]
    assert checked["changed"] is True and seen["restore check"] == seen["set"]
    assert checked["external_ids_after"] == recorded
    assert results["restore"]["changed"] is True and seen["restore"] == original
    assert results["restore again"]["changed"] is False and seen["restore again"] == original


def test_ovn_controller_obeys_the_per_chassis_key(lab_factory):
    """The trap is real on this OVN: with the plain key at 60 s and the chassis' own key at 1 s,
    ovn-controller drops a silent SB after about 2 s; with the plain key alone it waits."""
    lab = lab_factory(name="perchassis", databases=("sb",), members=1, chassis=1)
    info = lab.info()
    chassis_info = info["chassis"][0]
    remote = chassis_info["ovs_remote"]
    _CHASSIS_OF_REMOTE[remote] = (info, chassis_info)
    specific = "ovn-remote-probe-interval-%s" % chassis_info["name"]
    log_file = chassis_info["controller_log_file"]
    dropped = re.compile(r"no response to inactivity probe after 1 seconds, disconnecting")

    def silent_sb(seconds=3.5):
        """Pause the one SB server; the number of times ovn-controller gave up on it meanwhile."""
        with open(log_file) as handle:
            handle.seek(0, os.SEEK_END)
            lab.pause("sb", 0)
            try:
                time.sleep(seconds)
            finally:
                lab.resume("sb", 0)
            time.sleep(0.5)
            return len(dropped.findall(handle.read()))

    plain = run_module({"remote": remote, "remote_probe_interval": 60000})
    assert plain["changed"] is True and plain["effective_after"]["ovn-remote-probe-interval"] == {
        "value": "60000", "from": "ovn-remote-probe-interval"}
    time.sleep(1)  # ovn-controller applies external_ids changes in its main loop
    assert silent_sb() == 0
    vsctl(remote, "set", "Open_vSwitch", ".", 'external_ids:%s="1000"' % specific)
    read = run_module({"remote": remote, "remote_probe_interval": 60000}, check=True)
    assert read["changed"] is False
    assert read["effective_after"]["ovn-remote-probe-interval"] == {"value": "1000", "from": specific}
    time.sleep(1)
    assert silent_sb() >= 1
