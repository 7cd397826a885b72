"""The report filters of the roles: health_summary, tuning_changes, listener_probe_mismatches."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubedc.ovn_tuning.plugins.filter import rollout_report
from ansible_collections.kubedc.ovn_tuning.plugins.filter.rollout_report import (
    chassis_gate_problem, health_summary, listener_probe_mismatches, tuning_changes)


def health_result(healthy=True, window=True, failed=(), term=4, transfers=0):
    """The shape of an ovn_health result (as the module returns it) with the fields the filter reads."""
    end = {
        "database": "OVN_Southbound",
        "collected_at": "2026-11-22T07:30:00Z",
        "collected_at_epoch": 1795332600.0,
        "summary": {
            "model": "clustered", "leader": {"sid": "a1", "address": "tcp:10.0.0.11:6644",
                                             "remote": "tcp:10.0.0.11:6642"},
            "members_connected": 3, "members_total": 3, "quorum": True, "term": term,
            "election_timer": 1000, "election_timer_pending": None, "entries_not_committed_max": 0,
            "disconnections_total": 12, "command_line_listeners": ["punix:/run/ovn/sb1.sock"],
        },
        "probe_settings": {
            "connections": [
                {"target": "ptcp:6642:10.0.0.11", "referenced": True, "inactivity_probe_effective": 60000},
                {"target": "ptcp:6642:10.0.0.12", "referenced": True, "inactivity_probe_effective": 5000},
                {"target": "ptcp:7000", "referenced": False, "inactivity_probe_effective": 5000},
            ],
            "options_effective": {"sbctl_probe_interval": 5000},
        },
    }
    return {
        "changed": False, "healthy": healthy, "failed_gates": list(failed),
        "gates_not_evaluated": [{"name": "expected_probes", "reason": "expected_probes not given"}],
        "facts": {"start": end, "end": end},
        "window_seconds": 30.0 if window else None,
        "disconnections_delta": 2 if window else None,
        "disconnections_per_hour": 240.0 if window else None,
        "elections": 0 if window else None,
        "leadership_transfers": transfers if window else None,
    }


def test_health_summary_keeps_the_numbers():
    summary = health_summary(health_result())
    assert summary["database"] == "OVN_Southbound"
    assert summary["healthy"] is True
    assert summary["leader"] == "tcp:10.0.0.11:6642"
    assert (summary["members_connected"], summary["members_total"], summary["term"]) == (3, 3, 4)
    assert summary["disconnections_total"] == 12
    assert (summary["window_seconds"], summary["disconnections_delta"], summary["elections"]) == (30.0, 2, 0)
    assert summary["disconnections_per_hour"] == 240.0
    assert summary["listeners"] == {"ptcp:6642:10.0.0.11": 60000, "ptcp:6642:10.0.0.12": 5000}
    assert summary["options"] == {"sbctl_probe_interval": 5000}
    assert summary["gates_not_evaluated"] == ["expected_probes"]
    assert summary["measured_at_epoch"] == 1795332600.0
    assert summary["text"] == (
        "OVN_Southbound healthy, leader tcp:10.0.0.11:6642, 3/3 members connected, term 4, election timer"
        " 1000 ms, RAFT disconnections 12, in 30.0 s: +2 disconnections (240.0/h), 0 elections, listener"
        " probe 5000/60000 ms, sbctl_probe_interval 5000 ms")


def test_health_summary_says_when_the_term_rose_by_a_leadership_transfer():
    summary = health_summary(health_result(transfers=1))
    assert (summary["elections"], summary["leadership_transfers"]) == (0, 1)
    assert "in 30.0 s: +2 disconnections (240.0/h), 0 elections (+1 leadership transfers), listener" in summary["text"]
    assert health_summary(health_result())["leadership_transfers"] == 0


def test_health_summary_of_an_unhealthy_result_lists_the_failed_gates():
    summary = health_summary(health_result(healthy=False, window=False, failed=["quorum: 1 of 3"]))
    assert summary["healthy"] is False
    assert summary["window_seconds"] is None
    assert " in " not in summary["text"].split(" - failed")[0]
    assert summary["text"].startswith("OVN_Southbound UNHEALTHY, leader")
    assert summary["text"].endswith(" - failed: quorum: 1 of 3")


def test_health_summary_of_a_cluster_info_result():
    end = health_result()["facts"]["end"]
    summary = health_summary({"changed": False, "cluster": end})
    assert summary["healthy"] is None and summary["term"] == 4
    assert summary["text"].startswith("OVN_Southbound read, leader")


def test_health_summary_of_a_failed_task_is_unhealthy_with_the_reason():
    summary = health_summary({"failed": True, "msg": "timeout: must be positive",
                              "item": {"database": "OVN_Northbound"}})
    assert summary["healthy"] is False
    assert summary["database"] == "OVN_Northbound"
    assert summary["text"] == "OVN_Northbound could not be read: timeout: must be positive"
    assert set(summary) == set(rollout_report.SUMMARY_KEYS) | {"text"}


def test_health_summary_refuses_what_is_not_a_result():
    with pytest.raises(AnsibleFilterError, match="expected a result"):
        health_summary(["not", "a", "result"])


def test_listener_probe_mismatches():
    summaries = {"OVN_Southbound": health_summary(health_result()),
                 "OVN_Northbound": dict(health_summary(health_result()), listeners={})}
    assert listener_probe_mismatches(summaries, {"OVN_Southbound": 60000}) == [
        "OVN_Southbound listener ptcp:6642:10.0.0.12: inactivity probe 5000 ms, expected 60000 ms"]
    assert listener_probe_mismatches(summaries, {"OVN_Southbound": None, "OVN_Northbound": 60000}) == [
        "OVN_Northbound: no listener row is referenced from NB_Global, so no listener has the expected"
        " inactivity probe of 60000 ms"]
    assert listener_probe_mismatches(summaries, {"OVN_Southbound": None}) == []
    assert listener_probe_mismatches(summaries, {"Other": 1000}) == []
    with pytest.raises(AnsibleFilterError, match="two dicts"):
        listener_probe_mismatches([], {})


def test_tuning_changes_reads_every_module_result():
    listeners = {"changed": True, "results": [
        {"changed": True, "item": [{"item": {"database": "OVN_Northbound"}}, {"target": "ptcp:6641:10.0.0.11"}],
         "before": {"target": "ptcp:6641:10.0.0.11", "inactivity_probe": None, "max_backoff": None},
         "connection": {"target": "ptcp:6641:10.0.0.11", "inactivity_probe": 60000, "max_backoff": None},
         "removed": []},
        {"changed": False, "item": [{"item": {"database": "OVN_Northbound"}}, {"target": "ptcp:6641:10.0.0.12"}],
         "before": {"target": "ptcp:6641:10.0.0.12", "inactivity_probe": 60000},
         "connection": {"target": "ptcp:6641:10.0.0.12", "inactivity_probe": 60000}, "removed": []},
        {"skipped": True, "changed": False, "item": [{}, {"target": "x"}]},
    ]}
    local_config = {"changed": True, "results": [
        {"changed": True, "item": [{"item": "unix:/run/nb1.sock", "cluster": {"database": "Local_Config"}},
                                   {"target": "ptcp:6641:10.0.0.11"}],
         "before": None, "connection": {"target": "ptcp:6641:10.0.0.11", "inactivity_probe": 60000},
         "removed": ["ptcp:6641:0.0.0.0"]}]}
    options = {"changed": True, "results": [
        {"changed": True, "item": {"database": "OVN_Northbound"},
         "options_before": {"northd_probe_interval": "5000"}, "options_after": {"northd_probe_interval": "60000"}},
        {"changed": True, "item": {"database": "OVN_Southbound"},
         "options_before": {"sbctl_probe_interval": None}, "options_after": {"sbctl_probe_interval": "30000"}}]}
    chassis = {"changed": True, "results": [
        {"changed": True, "chassis": "hv1", "external_ids_before": {},
         "external_ids_after": {"ovn-remote-probe-interval": "300000"}}]}
    timers = {"changed": True, "results": [
        {"changed": True, "item": {"database": "OVN_Southbound"}, "election_timer_before": 1000,
         "election_timer_after": 4000, "steps": [{"election_timer": 2000}, {"election_timer": 4000}]}]}
    env = {"changed": True, "namespace": "kube-system", "name": "ovn-central", "env_before": {},
           "changes": [{"name": "OVN_LEADER_PROBE_INTERVAL", "before": "5", "after": "60"}]}
    ovs_env = {"changed": True, "namespace": "kube-system", "name": "ovs-ovn", "env_before": {}, "restarts": False,
               "changes": [{"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "10000", "after": "300000"}]}
    restore = {"changed": True, "differences": ["nb.options.northd_probe_interval: \"60000\" -> \"5000\""]}
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}

    assert tuning_changes([listeners, local_config, options, chassis, timers, ovs_env, env, restore, skipped]) == [
        "OVN_Northbound listener ptcp:6641:10.0.0.11: inactivity_probe unset -> 60000",
        "Local_Config listener ptcp:6641:10.0.0.11: created (inactivity_probe 60000)",
        "Local_Config listener ptcp:6641:0.0.0.0: removed",
        "NB_Global options:northd_probe_interval 5000 -> 60000",
        "SB_Global options:sbctl_probe_interval unset -> 30000",
        "chassis hv1 external_ids:ovn-remote-probe-interval unset -> 300000",
        "OVN_Southbound election timer 1000 -> 4000 ms in steps 2000, 4000",
        "kube-system/ovs-ovn env OVN_REMOTE_PROBE_INTERVAL 10000 -> 300000 (kept for each pod's next restart,"
        " none restarts now)",
        "kube-system/ovn-central env OVN_LEADER_PROBE_INTERVAL 5 -> 60 (the pods restart)",
        "restore nb.options.northd_probe_interval: \"60000\" -> \"5000\"",
    ]


def test_tuning_changes_of_unchanged_results_is_empty():
    assert tuning_changes([{"changed": False, "results": []}, {"changed": False, "options_before": {}}]) == []
    assert tuning_changes({"changed": False}) == []


def test_tuning_changes_refuses_what_is_not_a_result():
    with pytest.raises(AnsibleFilterError, match="registered task results"):
        tuning_changes(["text"])


def test_filters_are_registered():
    assert set(rollout_report.FilterModule().filters()) == {
        "chassis_gate_problem", "chassis_outcome", "chassis_pending", "cluster_leader", "gate_allowance", "health_summary",
        "listener_probe_mismatches", "member_status", "read_ends", "timer_walk_round", "timer_walk_step",
        "tuning_changes"}


# --------------------------------------------------------------------------- chassis_gate_problem

CHANGED = {"changed": True, "chassis": "hv1", "external_ids_before": {}, "external_ids_after": {}}
CONNECTED = {"connected": True, "connection_status": "connected", "error": None}
SYNCED = {"synced": True, "nb_cfg": 7, "sb_nb_cfg": 7, "chassis": {"hv1": 7}, "lagging": [], "missing": []}


def test_chassis_gate_problem_passes_a_changed_chassis_that_is_connected_and_caught_up():
    assert chassis_gate_problem(CHANGED, "node-1", CONNECTED, SYNCED, True, 30) == ""
    # Nothing changed: nothing to gate, whatever the gate tasks say (they were skipped).
    assert chassis_gate_problem({"changed": False, "chassis": "hv1"}, "node-1", {"skipped": True}, {}) == ""
    # Without the nb_cfg part, connected is enough.
    assert chassis_gate_problem(CHANGED, "node-1", CONNECTED, {}, False, 30) == ""
    # Another chassis of the batch lagged: the module failed, this one is not to blame.
    other = dict(SYNCED, synced=False, lagging=["hv2"], msg="1 of 2 chassis did not reach nb_cfg 7")
    assert chassis_gate_problem(CHANGED, "node-1", CONNECTED, other, True, 30) == ""


def test_chassis_gate_problem_names_each_way_a_chassis_fails():
    assert chassis_gate_problem({"unreachable": True, "msg": "ssh: no route"}, "node-1") == (
        "node-1: unreachable: ssh: no route")
    assert chassis_gate_problem({"failed": True, "msg": "remote: bad"}, "node-1") == (
        "node-1: setting the probe failed: remote: bad")
    assert "no external_ids:system-id" in chassis_gate_problem(dict(CHANGED, chassis=None), "node-1", CONNECTED)
    paused = {"connected": False, "connection_status": None, "error": "no reply to connection-status within 5.0 s"}
    assert chassis_gate_problem(CHANGED, "node-1", paused, SYNCED) == (
        "node-1: ovn-controller is not connected to the SB after the change: no reply to connection-status"
        " within 5.0 s")
    assert "not connected" in chassis_gate_problem(CHANGED, "node-1", {"unreachable": True, "msg": "gone"}, SYNCED)
    lagging = dict(SYNCED, synced=False, chassis={"hv1": 6}, lagging=["hv1"], msg="...")
    assert chassis_gate_problem(CHANGED, "node-1", CONNECTED, lagging, True, 30) == (
        "node-1: Chassis_Private.nb_cfg of hv1 is 6, not 7 after 30 s (ovn-controller does not process the SB)")
    no_northd = dict(lagging, sb_nb_cfg=6, msg="... ovn-northd has not copied it into SB_Global.nb_cfg (6)")
    assert chassis_gate_problem(CHANGED, "node-1", CONNECTED, no_northd, True, 30) == (
        "node-1: the nb_cfg gate failed: ... ovn-northd has not copied it into SB_Global.nb_cfg (6)")
    assert chassis_gate_problem(CHANGED, "node-1", CONNECTED, {"failed": True, "msg": "NB unreachable"}) == (
        "node-1: the nb_cfg gate failed: NB unreachable")


def test_chassis_gate_problem_refuses_what_is_not_a_result():
    with pytest.raises(AnsibleFilterError, match="chassis_gate_problem: expected the registered result"):
        chassis_gate_problem("changed", "node-1")


def test_gate_allowance_adds_the_baseline_rate_for_the_window_to_the_maxima():
    baseline = {"disconnections_per_hour": 90.0, "elections": 2, "window_seconds": 30}
    # 90 per hour over 120 s is 3; 2 elections in 30 s are 8 in 120 s.
    assert rollout_report.gate_allowance(baseline, 120, 1.0, 0, 0) == {"disconnections": 3, "elections": 8}
    assert rollout_report.gate_allowance(baseline, 120, 0.5, 1, 2) == {"disconnections": 3, "elections": 6}
    # Rounded up: 90 per hour over 10 s is 0.25 -> 1.
    assert rollout_report.gate_allowance(baseline, 10, 1.0, 0, 0) == {"disconnections": 1, "elections": 1}


def test_gate_allowance_without_a_baseline_is_the_maxima():
    for baseline in ({}, None, {"disconnections_per_hour": None, "elections": None, "window_seconds": 0}):
        assert rollout_report.gate_allowance(baseline, 120, 1.0, 2, 1) == {"disconnections": 2, "elections": 1}


@pytest.mark.parametrize("args", [("not a summary", 120), ({}, "soon"), ({}, 120, -1.0), ({}, 120, 1.0, -1, 0)])
def test_gate_allowance_refuses_bad_input(args):
    with pytest.raises(AnsibleFilterError, match="gate_allowance"):
        rollout_report.gate_allowance(*args)


def walk_read(host, role, timer, pending=None):
    return {"host": host, "ctl_socket": "/run/ovn/ovnnb_db.ctl",
            "cluster_status": {"role": role, "election_timer": timer, "election_timer_pending": pending}}


def unread(host):
    return {"host": host, "cluster_status": None, "cluster_status_error": "%s is unreachable" % host}


@pytest.mark.parametrize("reads, done", [
    ([walk_read("c1", "leader", 4000), walk_read("c2", "follower", 4000), walk_read("c3", "follower", 4000)], True),
    # A majority read, all at the target: done without the silent member.
    ([walk_read("c1", "leader", 4000), walk_read("c2", "follower", 4000), unread("c3")], True),
    # One member still at the old value, or with a change pending.
    ([walk_read("c1", "leader", 4000), walk_read("c2", "follower", 2000), walk_read("c3", "follower", 4000)], False),
    ([walk_read("c1", "leader", 4000, pending=4000), walk_read("c2", "follower", 4000)], False),
    # No majority read.
    ([walk_read("c1", "leader", 4000), unread("c2"), unread("c3")], False),
])
def test_timer_walk_round_is_done_when_a_majority_shows_the_target(reads, done):
    walk = rollout_report.timer_walk_round(reads, "4000", 3, 2)
    assert walk["done"] is done
    assert walk["leader"]["host"] == "c1"
    assert walk["seen"].startswith("round 2: c1 leader 4000, ")


def test_timer_walk_round_names_what_each_member_showed_and_finds_no_leader():
    walk = rollout_report.timer_walk_round([walk_read("c1", "candidate", 2000), unread("c2")], 4000, 3, 1)
    assert walk == {"leader": None, "done": False, "seen": "round 1: c1 candidate 2000, c2 unread ?"}
    with pytest.raises(AnsibleFilterError, match="timer_walk_round: expected the member_status entries"):
        rollout_report.timer_walk_round({"results": []}, 4000, 3, 1)
    with pytest.raises(AnsibleFilterError, match="target and members must be integers"):
        rollout_report.timer_walk_round([], "four", 3, 1)


def test_timer_walk_step_keeps_a_changing_step_and_tells_a_failed_one():
    walk = {"leader": walk_read("c1", "leader", 2000), "done": False, "seen": "round 1: c1 leader 2000"}
    stepped = rollout_report.timer_walk_step(walk, {"changed": True, "steps": [4000]})
    assert stepped == {"done": False, "seen": "round 1: c1 leader 2000", "keep": True}
    nothing = rollout_report.timer_walk_step(walk, {"changed": False, "steps": []})
    assert nothing["keep"] is False
    moved = rollout_report.timer_walk_step(walk, {"failed": True, "msg": "not the leader"})
    assert moved == {"done": False, "seen": "round 1: c1 leader 2000; leader c1: not the leader", "keep": False}
    gone = rollout_report.timer_walk_step(walk, {"unreachable": True, "failed": True})
    assert gone["seen"].endswith("; leader c1: stepped") and not gone["keep"]
    # In check mode the planned step is the whole walk; a failed plan is not.
    assert rollout_report.timer_walk_step(walk, {"steps": [4000]}, True)["done"] is True
    assert rollout_report.timer_walk_step(walk, {"failed": True, "msg": "x"}, True)["done"] is False
    with pytest.raises(AnsibleFilterError, match="timer_walk_step: expected"):
        rollout_report.timer_walk_step(walk, None)


# --------------------------------------------------------------------------- chassis_pending, chassis_outcome

def test_chassis_pending_lists_the_hosts_a_read_says_change():
    hostvars = {
        "hv1": {"chassis_read": {"external_ids_before": {"k": "5000"}, "external_ids_after": {"k": "300000"}}},
        "hv2": {"chassis_read": {"external_ids_before": {"k": "300000"}, "external_ids_after": {"k": "300000"}}},
        "hv3": {"chassis_read": {"skipped": True}},
        "hv4": {},
    }
    assert rollout_report.chassis_pending(["hv4", "hv3", "hv2", "hv1"], hostvars) == ["hv1"]
    assert rollout_report.chassis_pending([], hostvars) == []
    with pytest.raises(AnsibleFilterError, match="chassis_pending: 'hv9' is not a host of the inventory"):
        rollout_report.chassis_pending(["hv9"], hostvars)
    with pytest.raises(AnsibleFilterError, match="chassis_pending: expected a list of inventory host names"):
        rollout_report.chassis_pending("hv1", hostvars)


def test_chassis_outcome_sorts_the_hosts_by_what_their_batch_did():
    hostvars = {
        # The first batch: changed, put back after the second failed.
        "hv1": {"chassis_apply": {"changed": True}, "chassis_changed": True},
        # The failed batch: changed, its put-back failed.
        "hv2": {"chassis_apply": {"changed": True}, "chassis_changed": True, "chassis_restore_error": "unreachable"},
        # Already at the profile.
        "hv3": {"chassis_apply": {"changed": False}},
        # A later batch never ran.
        "hv4": {},
    }
    hosts = ["hv1", "hv2", "hv3", "hv4"]
    assert rollout_report.chassis_outcome(hosts, hostvars) == {
        "changed": ["hv1", "hv2"], "restored": ["hv1"], "untouched": ["hv4"], "restore_errors": ["hv2: unreachable"]}
    # In check mode nothing is changed: the hosts whose apply would change them.
    planned = {"hv1": {"chassis_apply": {"changed": True}}, "hv3": {"chassis_apply": {"changed": False}}, "hv4": {}}
    assert rollout_report.chassis_outcome(["hv1", "hv3", "hv4"], planned, True) == {
        "changed": ["hv1"], "restored": [], "untouched": ["hv4"], "restore_errors": []}


def test_read_ends_keeps_each_databases_end_facts_by_label():
    registered = {"results": [
        {"item": {"key": "nb", "label": "OVN_Northbound"}, "facts": {"end": {"term": 3}}},
        {"item": {"key": "sb", "label": "OVN_Southbound"}, "facts": {"end": {"term": 5}}},
        {"item": {"key": "sb_relays", "label": "OVN_Southbound relays"}, "skipped": True},
        {"item": {"key": "x", "label": "failed"}, "failed": True},
    ]}
    assert rollout_report.read_ends(registered) == {"OVN_Northbound": {"term": 3}, "OVN_Southbound": {"term": 5}}
    # A loop skipped as a whole, or not run: no ends.
    assert rollout_report.read_ends({"skipped": True, "results": []}) == {}
    assert rollout_report.read_ends({"changed": False}) == {}
    with pytest.raises(AnsibleFilterError, match="read_ends: expected a registered loop"):
        rollout_report.read_ends([])


def test_cluster_leader_is_the_member_that_says_so():
    reads = [unread("c1"), walk_read("c2", "follower", 1000), walk_read("c3", "leader", 1000)]
    assert rollout_report.cluster_leader(reads)["host"] == "c3"
    assert rollout_report.cluster_leader(reads[:2]) is None
    assert rollout_report.cluster_leader([]) is None
    with pytest.raises(AnsibleFilterError, match="cluster_leader: expected member_status entries"):
        rollout_report.cluster_leader(None)
