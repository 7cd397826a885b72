"""The chassis gate's modules against the session lab's chassis (ovsdb-server, ovs-vswitchd with a
userspace br-int, ovn-controller) and its ovn-northd.

kubedc.ovn_tuning.ovn_controller_status asks ovn-controller for connection-status over its control
socket, found from its pidfile; kubedc.ovn_tuning.ovn_hv_sync increments NB_Global.nb_cfg and waits
for Chassis_Private.nb_cfg. Oracles: ovn-appctl inside the chassis host, ovn-nbctl / ovn-sbctl.
Every test resumes what it pauses.
"""

import contextlib
import os

import pytest

from support import ansible_run, oracle

STATUS = "kubedc.ovn_tuning.ovn_controller_status"
SYNC = "kubedc.ovn_tuning.ovn_hv_sync"


def run_cases(cases, check=False):
    """Several ``(name, module, args)`` module runs in one playbook; results by case name, ``failed``
    from the task status."""
    return ansible_run.run_cases(cases, check=check, timeout=300)


@pytest.fixture
def chassis(ovn_lab):
    info = ovn_lab.info()
    return info, info["chassis"][0]


def run_dir_of(chassis_info):
    """The chassis host's /run/ovn, as the controller sees it (the pidfile and the socket are there)."""
    return os.path.dirname(chassis_info["controller_ctl"])


def connection_status(info, chassis_info):
    return oracle.run(oracle.on_host(info, chassis_info["host"], [
        "ovn-appctl", "-t", "ovn-controller", "connection-status"])).strip()


def nb_cfg(lab):
    return int(oracle.nbctl(lab.remotes("nb"), "get", "NB_Global", ".", "nb_cfg"))


def chassis_nb_cfg(lab, name):
    return int(oracle.sbctl(lab.remotes("sb"), "--bare", "--columns=nb_cfg", "find", "Chassis_Private", "name=" + name))


@contextlib.contextmanager
def paused_controller(lab, chassis_info):
    lab.pause_process(chassis_info["controller_pid"])
    try:
        yield
    finally:
        lab.resume_process(chassis_info["controller_pid"])


def test_controller_status_reads_connected_and_a_paused_controller(ovn_lab, chassis):
    info, chassis_info = chassis
    assert connection_status(info, chassis_info) == "connected"
    run_dir = run_dir_of(chassis_info)
    connected = run_cases([("connected", STATUS, {"run_dir": run_dir})])["connected"]
    with paused_controller(ovn_lab, chassis_info):
        results = run_cases([
            ("paused", STATUS, {"run_dir": run_dir, "timeout": 1, "wait_timeout": 2}),
            ("no pidfile", STATUS, {"run_dir": run_dir + "/nowhere"}),
            ("relative run_dir", STATUS, {"run_dir": "run/ovn"}),
            ("negative wait", STATUS, {"run_dir": run_dir, "wait_timeout": -1}),
        ])
    assert not connected["failed"], connected
    assert connected["connected"] is True and connected["connection_status"] == "connected", connected
    assert connected["pid"] == chassis_info["controller_pid"], connected
    assert connected["ctl_socket"] == chassis_info["controller_ctl"], connected
    assert connected["changed"] is False
    paused = results["paused"]
    assert not paused["failed"] and paused["connected"] is False, paused
    assert "no reply to connection-status" in paused["error"], paused
    assert paused["waited_s"] >= 2.0, paused
    missing = results["no pidfile"]
    assert not missing["failed"] and missing["connected"] is False and missing["pid"] is None, missing
    assert "ovn-controller.pid: cannot read" in missing["error"], missing
    assert results["relative run_dir"]["failed"], results["relative run_dir"]
    assert "run_dir: must be an absolute path" in results["relative run_dir"]["msg"]
    assert results["negative wait"]["failed"], results["negative wait"]
    assert "wait_timeout: must be 0" in results["negative wait"]["msg"]
    # The controller is back.
    assert connection_status(info, chassis_info) == "connected"


def test_hv_sync_waits_for_the_chassis_and_names_one_that_stays_behind(ovn_lab, chassis):
    info, chassis_info = chassis
    name = chassis_info["name"]
    base = {"remote": ovn_lab.remotes("nb"), "sb_remote": ovn_lab.remotes("sb")}
    before = nb_cfg(ovn_lab)

    synced = run_cases([("synced", SYNC, dict(base, chassis=[name]))])["synced"]

    assert not synced["failed"], synced
    assert synced["changed"] is False
    assert synced["nb_cfg"] == before + 1, (before, synced)
    assert nb_cfg(ovn_lab) == before + 1
    assert synced["synced"] is True and synced["lagging"] == [] and synced["missing"] == []
    assert synced["chassis"][name] >= before + 1
    assert chassis_nb_cfg(ovn_lab, name) >= before + 1

    with paused_controller(ovn_lab, chassis_info):
        results = run_cases([
            ("behind", SYNC, dict(base, chassis=[name], wait_timeout=3)),
            ("unknown", SYNC, dict(base, chassis=[name, "no-such-chassis"], wait_timeout=1)),
        ])
    behind = results["behind"]
    assert behind["failed"], behind
    assert behind["lagging"] == [name] and behind["synced"] is False, behind
    assert "1 of 1 chassis did not reach nb_cfg %d within 3 s: %s (at " % (behind["nb_cfg"], name) in behind["msg"]
    unknown = results["unknown"]
    assert unknown["failed"] and unknown["missing"] == ["no-such-chassis"], unknown
    assert "no-such-chassis (no Chassis_Private row)" in unknown["msg"], unknown
    # Resumed, the chassis catches up with everything it missed.
    caught_up = run_cases([("caught up", SYNC, dict(base, chassis=[name], bump=False))])["caught up"]
    assert not caught_up["failed"] and caught_up["nb_cfg"] == nb_cfg(ovn_lab), caught_up


def test_hv_sync_check_mode_and_bad_input_change_nothing(ovn_lab, chassis):
    _info, chassis_info = chassis
    base = {"remote": ovn_lab.remotes("nb"), "sb_remote": ovn_lab.remotes("sb")}
    before = nb_cfg(ovn_lab)
    checked = run_cases([("check", SYNC, dict(base, chassis=[chassis_info["name"]]))], check=True)["check"]
    bad = run_cases([
        ("no chassis", SYNC, dict(base, chassis=[])),
        ("twice", SYNC, dict(base, chassis=["a", "a"])),
        ("zero wait", SYNC, dict(base, chassis=["a"], wait_timeout=0)),
        ("bad sb remote", SYNC, dict(base, chassis=["a"], sb_remote="tcp:10.0.0.1")),
    ])
    assert not checked["failed"] and checked["nb_cfg"] == before, checked
    assert checked["synced"] is True, checked
    assert bad["no chassis"]["failed"] and "chassis: give the name" in bad["no chassis"]["msg"]
    assert bad["twice"]["failed"] and "listed twice: a" in bad["twice"]["msg"]
    assert bad["zero wait"]["failed"] and "wait_timeout: must be a positive number" in bad["zero wait"]["msg"]
    assert bad["bad sb remote"]["failed"] and "tcp:10.0.0.1" in bad["bad sb remote"]["msg"], bad["bad sb remote"]
    assert nb_cfg(ovn_lab) == before
