"""The demo's fault injector and its counters, against a real lab.

The injector (tests/lab/ovnlab/faults.py) is checked through /proc (the kernel's view of each
process: stopped or not) and ovs-appctl; the counting of bench/incident.py against the servers'
own log lines about the same disconnections.
"""

import importlib.util
import os
import re
import threading
import time

import pytest

from ovnlab import parse_cluster_status
from ovnlab.faults import Fault, run_faults

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _incident_module():
    spec = importlib.util.spec_from_file_location(
        "bench_incident", os.path.join(REPO_ROOT, "bench", "incident.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kernel_state(pid):
    with open("/proc/%d/stat" % pid) as handle:
        raw = handle.read()
    return raw[raw.rindex(")") + 2:].split()[0]


def wait_for_state(pid, stopped, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (kernel_state(pid) in "Tt") == stopped:
            return True
        time.sleep(0.01)
    return False


def test_followers_and_clients_are_paused_then_resumed(lab_factory):
    lab = lab_factory(name="faults", northd=True, chassis=1)
    info = lab.info()
    leader = lab.leader("nb")
    plan = [Fault(0.2, "faults", "nb-follower", 1, 1.5), Fault(0.2, "faults", "controller", 0, 1.5)]
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(records=run_faults(plan, [lab.workdir])))
    worker.start()
    try:
        controller_pid = info["chassis"][0]["controller_pid"]
        assert wait_for_state(controller_pid, stopped=True, timeout=5), "controller never stopped"
        worker.join(timeout=15)
    finally:
        worker.join(timeout=15)
    assert not worker.is_alive()
    records = outcome["records"]
    assert [r.get("skipped") for r in records] == [None, None]
    follower = next(r for r in records if r["kind"] == "nb-follower")
    follower_index = int(follower["process"].split("/")[1])
    # Chosen among the members that were not the leader.
    assert follower_index != leader
    assert follower["pid"] == info["nb"]["members"][follower_index]["pid"]
    for record in records:
        assert 1.3 <= record["resumed_at"] - record["paused_at"] <= 3.0, record
        assert kernel_state(record["pid"]) not in "Tt"
    # The member is back and answers as a cluster member.
    status = parse_cluster_status(lab.cluster_status("nb", follower_index, timeout=5))
    assert status["status"] == "cluster member"


def test_everything_paused_is_resumed_when_the_run_is_interrupted(lab_factory):
    lab = lab_factory(name="faults-int", northd=True, chassis=1)
    northd_pid = lab.info()["northd"]["pid"]
    plan = [Fault(0.0, "faults-int", "northd", 0, 30.0), Fault(0.5, "faults-int", "sb-follower", 0, 30.0)]
    seen = []

    def interrupt_after_second_pause(message):
        seen.append(message)
        if message.endswith("for 30 s") and len([m for m in seen if " pause " in m]) == 2:
            seen.append(kernel_state(northd_pid))
            raise KeyboardInterrupt()

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_faults(plan, [lab.workdir], log=interrupt_after_second_pause)
    assert time.monotonic() - started < 10
    assert seen[2] in "Tt", seen  # northd was stopped when the run was interrupted
    assert kernel_state(northd_pid) not in "Tt"
    assert len([m for m in seen if " resume " in m]) == 2, seen
    for member in lab.info()["sb"]["members"]:
        assert kernel_state(member["pid"]) not in "Tt"


def test_a_plan_naming_another_lab_is_refused_before_any_pause(lab_factory):
    lab = lab_factory(name="faults-other", databases=("nb",))
    with pytest.raises(Exception) as caught:
        run_faults([Fault(0.0, "elsewhere", "nb-follower", 0, 1.0)], [lab.workdir])
    assert "elsewhere" in str(caught.value)
    assert all(kernel_state(m["pid"]) not in "Tt" for m in lab.info()["nb"]["members"])


def test_a_paused_controller_is_counted_once_as_a_client_disconnection(lab_factory):
    incident = _incident_module()
    # 1 s listener probe: the SB member drops a controller silent for 2 s. The 3 s pause does it.
    lab = lab_factory(name="faults-count", chassis=1, inactivity_probe_ms=1000, chassis_probe_ms=1000)
    sb_logs = [member["log_file"] for member in lab.info()["sb"]["members"]]
    sizes = [os.path.getsize(path) for path in sb_logs]
    result = incident.measure([lab.workdir], seconds=12, seed=1, pause_seconds=(3.0, 3.0),
                              interval_seconds=(2.0, 2.0), settle_seconds=5.0, kinds=("controller",))
    assert result["faults_applied"] == 1
    lines = result["labs"]["faults-count"]["client_disconnection_lines"]
    assert result["totals"]["client_disconnections"] == len(lines) == 1, lines
    assert ":%d: connection" % lab.info()["sb"]["port"] in lines[0]
    assert result["totals"]["raft_disconnections"] == 0
    # The servers' side of the same event: one client dropped after the 1 s probe went unanswered.
    server_lines = []
    for path, size in zip(sb_logs, sizes):
        with open(path) as handle:
            handle.seek(size)
            server_lines += [line for line in handle.read().splitlines()
                             if re.search(r"no response to inactivity probe after 1 seconds", line)]
    assert len(server_lines) == 1, server_lines
    assert result["probes"]["faults-count"]["sb_inactivity_probe"] == [1000]
    assert result["probes"]["faults-count"]["chassis_remote_probe_interval"] == [1000]


def _link_state(bridge_netns, port):
    import subprocess
    out = subprocess.run(["ip", "-n", bridge_netns, "-o", "link", "show", port], capture_output=True,
                         text=True, check=True, timeout=10).stdout
    return "down" if "state DOWN" in out else "up"


def test_a_partition_cuts_a_host_that_leads_nothing_and_heals_it(lab_factory):
    lab = lab_factory(name="faults-part")
    info = lab.info()
    leaders = {info[db]["members"][lab.leader(db)]["host"] for db in ("nb", "sb")}
    bridge = info["network"]["bridge_netns"]
    plan = [Fault(0.2, "faults-part", "partition", 0, 3.0)]
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(records=run_faults(plan, [lab.workdir])))
    worker.start()
    seen_down = set()
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not seen_down:
            seen_down = {host["name"] for host in info["hosts"]
                         if _link_state(bridge, host["bridge_port"]) == "down"}
            time.sleep(0.05)
    finally:
        worker.join(timeout=20)
    assert not worker.is_alive()
    (record,) = outcome["records"]
    assert record.get("skipped") is None, record
    host_name = record["process"].split("/")[0]
    assert seen_down == {host_name}
    assert host_name not in leaders  # a host with a leader on it is never cut off
    assert 2.8 <= record["resumed_at"] - record["paused_at"] <= 4.5, record
    assert all(_link_state(bridge, host["bridge_port"]) == "up" for host in info["hosts"])
