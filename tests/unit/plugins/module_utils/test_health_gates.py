"""Unit tests of the health gates, the facts summary, assertions and the metrics exposition,
on canned facts built from real cluster/status texts and _Server rows."""

import copy
import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import (
    cluster_facts, cluster_members, health, health_metrics)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.cluster_status import parse_cluster_status

# tests/unit/plugins/module_utils/ -> the collection root
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4))

CID = "962bd9a3-cf11-4982-b01b-6736c128ee0a"
SIDS = ["5c3f9de5-343b-480e-bae9-3da98ff3f951", "301f9c31-a0d7-4da8-8bd0-a7ac459832aa",
        "adff6c7e-9089-4461-bcf7-c079706eb483"]
REMOTES = ["tcp:127.0.0.51:16651", "tcp:127.0.0.52:16651", "tcp:127.0.0.53:16651"]


EPOCH = 1795331925.0


def status_text(index, role="follower", term=3, leader=0, disconnections=0, uncommitted=0,
                state="cluster member", timer=1000, election=None):
    sid = SIDS[index]
    if leader is None:
        leader_text = "unknown"
    elif leader == index:
        leader_text = "self"
    else:
        leader_text = SIDS[leader][:4]
    servers = []
    for other in range(3):
        line = "    %s (%s at tcp:127.0.0.5%d:16641)" % (SIDS[other][:4], SIDS[other][:4], other + 1)
        if other == index:
            line += " (self)"
        servers.append(line)
    return "\n".join([
        sid[:4],
        "Name: OVN_Northbound",
        "Cluster ID: %s (%s)" % (CID[:4], CID),
        "Server ID: %s (%s)" % (sid[:4], sid),
        "Address: tcp:127.0.0.5%d:16641" % (index + 1),
        "Status: %s" % state,
        "Role: %s" % role,
        "Term: %d" % term,
        "Leader: %s" % leader_text,
        "Vote: unknown",
        "",
    ] + ([] if election is None else [
        # As ovsdb-server 3.1 prints it: the last election this member started, and whether it won.
        "Last Election started %d ms ago, reason: %s" % election,
        "Last Election won: %d ms ago" % (election[0] - 2),
    ]) + [
        "Election timer: %d" % timer,
        "Log: [2, 7]",
        "Entries not yet committed: %d" % uncommitted,
        "Entries not yet applied: 0",
        "Connections: ->%s <-%s" % (SIDS[(index + 1) % 3][:4], SIDS[(index + 1) % 3][:4]),
        "Disconnections: %d" % disconnections,
        "Servers:",
    ] + servers)


def member(index, leader_index=0, reachable=True, connected=True, status=True, listeners=None,
           read_at=EPOCH, **status_args):
    entry = cluster_members._member_entry(index, REMOTES[index], "/run/s%d.ctl" % index)
    if reachable:
        entry["reachable"] = True
        entry["echo_rtt_ms"] = 0.5 + index
        entry["server"] = {"model": "clustered", "connected": connected,
                           "leader": index == leader_index and connected, "index": 7,
                           "cid": CID, "sid": SIDS[index]}
    else:
        entry["error"] = "%s: no reply to echo within 3.0 s" % REMOTES[index]
    if status:
        status_args.setdefault("role", "leader" if index == leader_index else "follower")
        status_args.setdefault("leader", leader_index)
        entry["cluster_status"] = parse_cluster_status(status_text(index, **status_args))
        entry["status_read_at_epoch"] = read_at
    else:
        entry["cluster_status_error"] = "unix:/run/s%d.ctl: no reply to cluster/status within 3.0 s" % index
    entry["listeners"] = listeners if listeners is not None else [
        cluster_members.describe_listener("db:OVN_Northbound,NB_Global,connections")]
    return entry


SETTINGS = {
    "read_from": REMOTES[0], "error": None, "table": "NB_Global",
    "connections": [
        {"uuid": "u1", "target": "ptcp:6641:127.0.0.51", "inactivity_probe": 60000, "max_backoff": None,
         "referenced": True, "inactivity_probe_effective": 60000, "max_backoff_effective": 8000},
        {"uuid": "u2", "target": "ptcp:6699", "inactivity_probe": 100, "max_backoff": None,
         "referenced": False, "inactivity_probe_effective": 1000, "max_backoff_effective": 8000},
    ],
    "options": {"northd_probe_interval": 30000},
    "options_effective": {"northd_probe_interval": 30000, "nbctl_probe_interval": 5000,
                          "ic_probe_interval": 5000},
}


def facts(members, settings=None, epoch=EPOCH):
    cluster_members.annotate_members(members, "OVN_Northbound")
    settings = copy.deepcopy(SETTINGS if settings is None else settings)
    cluster_facts.annotate_listeners(members, settings)
    return {"database": "OVN_Northbound", "collected_at": "2026-11-22T07:18:45Z",
            "collected_at_epoch": epoch, "duration_ms": 12.0, "timeout": 5.0, "members": members,
            "summary": cluster_facts.summarize(members), "probe_settings": settings, "warnings": []}


def healthy(**kwargs):
    return facts([member(i, **kwargs) for i in range(3)])


def by_name(gates):
    return dict((gate["name"], gate) for gate in gates)


# --------------------------------------------------------------------------- summary

class TestSummary:
    def test_healthy_cluster(self):
        summary = healthy(term=4, disconnections=2)["summary"]
        assert summary["leader"] == {"sid": SIDS[0], "address": "tcp:127.0.0.51:16641", "remote": REMOTES[0]}
        assert summary["leaders_reported"] == [SIDS[0]]
        assert summary["leader_agreed"] and summary["quorum"] and summary["cluster_id_agreed"]
        assert (summary["members_total"], summary["members_connected"], summary["term"]) == (3, 3, 4)
        assert summary["disconnections_total"] == 6
        assert summary["election_timer"] == 1000
        assert summary["cluster_id"] == CID

    def test_short_leader_ids_resolve_to_full_ones(self):
        members = healthy()["members"]
        assert [m["leader_reported"] for m in members] == [SIDS[0]] * 3

    def test_disagreeing_follower(self):
        members = [member(0), member(1), member(2, leader=1)]
        summary = facts(members)["summary"]
        assert not summary["leader_agreed"]
        assert summary["leaders_reported"] == sorted([SIDS[0], SIDS[1]])

    def test_two_members_down_lose_quorum(self):
        members = [member(0), member(1, reachable=False, status=False),
                   member(2, reachable=False, status=False)]
        summary = facts(members)["summary"]
        assert summary["members_connected"] == 1 and summary["members_total"] == 3
        assert not summary["quorum"]
        assert summary["disconnections_total"] == 0 and summary["members_status_read"] == 1

    def test_no_leader_means_no_quorum(self):
        members = [member(i, leader_index=None, leader=None) for i in range(3)]
        summary = facts(members)["summary"]
        assert summary["leader"] is None and not summary["quorum"] and not summary["leader_agreed"]

    def test_different_cluster_ids(self):
        members = [member(i) for i in range(3)]
        members[2]["server"]["cid"] = "00000000-0000-0000-0000-000000000000"
        assert not facts(members)["summary"]["cluster_id_agreed"]

    def test_standalone_server(self):
        entry = cluster_members._member_entry(0, "unix:/run/lc.sock", None)
        entry.update(reachable=True, echo_rtt_ms=0.3,
                     server={"model": "standalone", "connected": True, "leader": True, "index": None,
                             "cid": None, "sid": None})
        document = facts([entry], settings={"read_from": None, "error": "x", "connections": [],
                                            "options": {}, "options_effective": {}, "table": "Config"})
        summary = document["summary"]
        assert summary["model"] == "standalone" and summary["quorum"] and summary["leader_agreed"]
        assert summary["term"] is None and summary["disconnections_total"] is None
        gates = health.evaluate(document, document)[0]
        assert all(gate["passed"] for gate in gates), gates


# --------------------------------------------------------------------------- built-in gates

class TestGates:
    def test_healthy_cluster_passes_every_gate(self):
        document = healthy()
        gates, not_evaluated = health.evaluate(document, document)
        assert [g["name"] for g in gates] == ["quorum", "single_leader", "uncommitted_entries",
                                              "members_healthy"]
        assert all(g["passed"] for g in gates), gates
        assert sorted(n["name"] for n in not_evaluated) == ["disconnections", "expected_probes",
                                                            "no_elections"]

    def test_one_member_down_keeps_quorum_but_fails_members_gate(self):
        document = facts([member(0), member(1), member(2, reachable=False, status=False)])
        gates = by_name(health.evaluate(document, document)[0])
        assert gates["quorum"]["passed"]
        assert gates["quorum"]["detail"] == "2 of 3 members connected (quorum needs 2)"
        assert not gates["members_healthy"]["passed"]
        assert "tcp:127.0.0.53:16651 is unreachable (tcp:127.0.0.53:16651: no reply to echo within 3.0 s)" \
            in gates["members_healthy"]["detail"]
        assert "cluster/status could not be read" in gates["members_healthy"]["detail"]

    def test_two_members_down_fail_quorum_with_numbers(self):
        document = facts([member(0), member(1, reachable=False, status=False),
                          member(2, reachable=False, status=False)])
        gates = by_name(health.evaluate(document, document)[0])
        assert not gates["quorum"]["passed"]
        assert gates["quorum"]["detail"] == "1 of 3 members connected (quorum needs 2)"

    def test_two_members_claiming_leadership(self):
        members = [member(0), member(1), member(2)]
        members[1]["server"]["leader"] = True
        document = facts(members)
        gate = by_name(health.evaluate(document, document)[0])["single_leader"]
        assert not gate["passed"]
        assert gate["detail"].startswith("2 member(s) say they lead (tcp:127.0.0.51:16651, tcp:127.0.0.52:16651)")

    def test_disagreeing_member_fails_single_leader(self):
        document = facts([member(0), member(1), member(2, leader=1)])
        gate = by_name(health.evaluate(document, document)[0])["single_leader"]
        assert not gate["passed"] and "2 different leader(s)" in gate["detail"]

    def test_uncommitted_entries_over_the_limit(self):
        document = facts([member(0, uncommitted=12), member(1), member(2)])
        gate = by_name(health.evaluate(document, document, max_uncommitted=10)[0])["uncommitted_entries"]
        assert not gate["passed"]
        assert gate["detail"] == ("at most 12 entries not yet committed (limit max_uncommitted=10);"
                                  " over the limit: tcp:127.0.0.51:16651: 12")
        gate = by_name(health.evaluate(document, document, max_uncommitted=12)[0])["uncommitted_entries"]
        assert gate["passed"]

    def test_member_disconnected_from_its_cluster(self):
        document = facts([member(0), member(1),
                          member(2, connected=False, state="disconnected from the cluster (election timeout)",
                                 role="candidate")])
        gate = by_name(health.evaluate(document, document)[0])["members_healthy"]
        assert not gate["passed"]
        assert "tcp:127.0.0.53:16651 says (_Server) it is not connected to its cluster" in gate["detail"]
        assert "Status is 'disconnected from the cluster (election timeout)', not 'cluster member'" in gate["detail"]

    def test_no_ctl_socket_leaves_raft_gates_out(self):
        members = [member(i, status=False) for i in range(3)]
        for entry in members:
            # as _member_entry makes a member without a socket
            entry["ctl_socket"] = None
            entry["status_source"] = None
            entry["cluster_status_error"] = None
        document = facts(members)
        gates, not_evaluated = health.evaluate(document, document)
        assert all(g["passed"] for g in gates)
        assert "uncommitted_entries" in [n["name"] for n in not_evaluated]

    def test_failed_sentences_name_the_gate(self):
        document = facts([member(0, uncommitted=50), member(1), member(2)])
        gates = health.evaluate(document, document)[0]
        assert health.failed_sentences(gates) == [
            "uncommitted_entries: at most 50 entries not yet committed (limit max_uncommitted=10);"
            " over the limit: tcp:127.0.0.51:16651: 50"]


# --------------------------------------------------------------------------- window

class TestWindow:
    def test_disconnections_and_elections_with_rate(self):
        start = healthy(term=3, disconnections=1)
        end = facts([member(0, term=5, disconnections=1), member(1, term=5, disconnections=4),
                     member(2, term=5, disconnections=2)])
        window = health.window_stats(start, end, 8.0)
        assert window["disconnections_delta"] == 4
        assert window["disconnections_by_member"] == {REMOTES[0]: 0, REMOTES[1]: 3, REMOTES[2]: 1}
        assert window["disconnections_per_hour"] == 1800.0
        assert window["elections"] == 2
        gates = by_name(health.evaluate(start, end, window)[0])
        assert not gates["no_elections"]["passed"]
        assert gates["no_elections"]["detail"] == "term 3 -> 5: 2 election(s) in 8.0 s (limit max_elections=0)"
        assert not gates["disconnections"]["passed"]
        assert gates["disconnections"]["detail"].startswith(
            "RAFT disconnections rose by 4 in 8.0 s (1800.0 per hour; limit max_disconnections=0)")
        assert "tcp:127.0.0.52:16651: +3" in gates["disconnections"]["detail"]
        gates = by_name(health.evaluate(start, end, window, max_disconnections=4, max_elections=2)[0])
        assert gates["no_elections"]["passed"] and gates["disconnections"]["passed"]

    def test_restarted_member_counts_from_zero(self):
        start = healthy(disconnections=7)
        end = facts([member(0, disconnections=7), member(1, disconnections=2), member(2, disconnections=7)])
        window = health.window_stats(start, end, 10.0)
        assert window["disconnections_by_member"][REMOTES[1]] == 2
        assert window["disconnections_delta"] == 2

    def test_member_unread_at_one_end_is_not_measured(self):
        start = healthy(disconnections=3)
        end = facts([member(0, disconnections=3), member(1, reachable=False, status=False),
                     member(2, disconnections=3)])
        window = health.window_stats(start, end, 10.0)
        assert window["disconnections_delta"] == 0
        assert window["disconnections_unmeasured"] == [REMOTES[1]]
        gate = by_name(health.evaluate(start, end, window)[0])["disconnections"]
        assert gate["passed"] and "not measured on tcp:127.0.0.52:16651" in gate["detail"]

    def test_leadership_transfer_is_not_an_election(self):
        start = healthy(term=3)
        later = EPOCH + 30.0
        # Member 1 took over 2.5 s before the end read: ovsdb-server says it was handed leadership.
        end = facts([member(0, leader_index=1, term=4, read_at=later),
                     member(1, leader_index=1, term=4, read_at=later, election=(2500, "leadership_transfer")),
                     member(2, leader_index=1, term=4, read_at=later)], epoch=later)
        assert end["members"][1]["last_election"] == {
            "reason": "leadership_transfer", "started_at_epoch": later - 2.5, "won_at_epoch": later - 2.498}
        assert [m["last_election"] for m in (end["members"][0], end["members"][2])] == [None, None]
        window = health.window_stats(start, end, 30.0)
        assert (window["term_rise"], window["elections"], window["leadership_transfers"]) == (1, 0, 1)
        assert window["leadership_transfers_by_member"] == {REMOTES[1]: later - 2.5}
        gate = by_name(health.evaluate(start, end, window)[0])["no_elections"]
        assert gate["passed"]
        assert gate["detail"] == ("term 3 -> 4: 0 election(s) and 1 leadership transfer(s), not counted in"
                                  " 30.0 s (limit max_elections=0)")
        gate = by_name(health.evaluate(start, end, window, count_leadership_transfers=True)[0])["no_elections"]
        assert not gate["passed"]
        assert gate["detail"] == ("term 3 -> 4: 1 election(s) and leadership transfer(s) in 30.0 s"
                                  " (limit max_elections=0)")

    def test_timeout_is_an_election(self):
        start = healthy(term=3)
        later = EPOCH + 30.0
        end = facts([member(0, leader_index=2, term=4, read_at=later), member(1, leader_index=2, term=4, read_at=later),
                     member(2, leader_index=2, term=4, read_at=later, election=(4000, "timeout"))], epoch=later)
        window = health.window_stats(start, end, 30.0)
        assert (window["term_rise"], window["elections"], window["leadership_transfers"]) == (1, 1, 0)
        gate = by_name(health.evaluate(start, end, window)[0])["no_elections"]
        assert not gate["passed"]
        assert gate["detail"] == "term 3 -> 4: 1 election(s) in 30.0 s (limit max_elections=0)"

    def test_a_transfer_before_the_window_does_not_hide_an_election(self):
        # The transfer started before the start read; the term rose since for another reason
        # that no member's status shows (its candidate's status was not read): an election.
        start = healthy(term=4)
        later = EPOCH + 30.0
        end = facts([member(0, leader_index=1, term=5, read_at=later),
                     member(1, leader_index=1, term=5, read_at=later, election=(31000, "leadership_transfer")),
                     member(2, status=False)], epoch=later)
        window = health.window_stats(start, end, 30.0)
        assert (window["term_rise"], window["elections"], window["leadership_transfers"]) == (1, 1, 0)

    def test_only_the_last_election_of_a_member_shows(self):
        # The term rose by two; the member that leads now shows a transfer, the other rise is unexplained.
        start = healthy(term=3)
        later = EPOCH + 60.0
        end = facts([member(0, leader_index=1, term=5, read_at=later),
                     member(1, leader_index=1, term=5, read_at=later, election=(1000, "leadership_transfer")),
                     member(2, leader_index=1, term=5, read_at=later)], epoch=later)
        window = health.window_stats(start, end, 60.0)
        assert (window["term_rise"], window["elections"], window["leadership_transfers"]) == (2, 1, 1)
        assert not by_name(health.evaluate(start, end, window)[0])["no_elections"]["passed"]
        assert by_name(health.evaluate(start, end, window, max_elections=1)[0])["no_elections"]["passed"]

    def test_never_more_transfers_than_term_rises(self):
        start = healthy(term=3)
        later = EPOCH + 60.0
        end = facts([member(0, leader_index=1, term=4, read_at=later, election=(9000, "leadership_transfer")),
                     member(1, leader_index=1, term=4, read_at=later, election=(1000, "leadership_transfer")),
                     member(2, leader_index=1, term=4, read_at=later)], epoch=later)
        window = health.window_stats(start, end, 60.0)
        assert (window["term_rise"], window["elections"], window["leadership_transfers"]) == (1, 0, 1)
        assert len(window["leadership_transfers_by_member"]) == 2

    def test_nothing_measurable_fails_the_window_gates(self):
        start = facts([member(i, status=False) for i in range(3)])
        window = health.window_stats(start, start, 5.0)
        gates = by_name(health.evaluate(start, start, window)[0])
        assert not gates["disconnections"]["passed"] and not gates["no_elections"]["passed"]
        assert "could not be read" in gates["disconnections"]["detail"]


# --------------------------------------------------------------------------- expected probes

class TestExpectedProbes:
    def test_values_are_validated_through_the_tunables_table(self):
        parsed = health.parse_expected_probes(
            {"inactivity_probe": "60s", "northd_probe_interval": 30000, "election_timer": "2s"},
            "OVN_Northbound")
        assert parsed == {"inactivity_probe": 60000, "northd_probe_interval": 30000, "election_timer": 2000}

    @pytest.mark.parametrize("expected,fragment", [
        ({"sbctl_probe_interval": 5000}, "expected_probes: 'sbctl_probe_interval' is not a probe setting of"
                                         " OVN_Northbound; accepted keys: election_timer, ic_probe_interval,"
                                         " inactivity_probe, max_backoff, nbctl_probe_interval,"
                                         " northd_probe_interval"),
        ({"inactivity_probe": 500}, "expected_probes.inactivity_probe: 500 is below the minimum of 1000 ms"),
        ({"inactivity_probe": "soon"}, "expected_probes.inactivity_probe: cannot read 'soon'"),
        ({"election_timer": 50}, "expected_probes.election_timer: 50 is below the minimum of 100 ms"),
        (["inactivity_probe"], "expected_probes: expected a dict"),
    ])
    def test_bad_values_name_the_option(self, expected, fragment):
        with pytest.raises(ValueError) as raised:
            health.parse_expected_probes(expected, "OVN_Northbound")
        assert fragment in str(raised.value)

    def test_southbound_and_local_config_keys(self):
        assert "sbctl_probe_interval" in health.expected_probe_keys("OVN_Southbound")
        assert "northd_probe_interval" not in health.expected_probe_keys("OVN_Southbound")
        assert sorted(health.expected_probe_keys("Local_Config")) == ["inactivity_probe", "max_backoff"]

    def test_matching_profile_passes(self):
        document = healthy()
        gates = by_name(health.evaluate(document, document, expected_probes={
            "inactivity_probe": 60000, "northd_probe_interval": 30000, "nbctl_probe_interval": 5000,
            "election_timer": 1000})[0])
        assert gates["expected_probes"]["passed"], gates["expected_probes"]

    def test_mismatches_are_listed_with_numbers(self):
        document = healthy()
        gate = by_name(health.evaluate(document, document, expected_probes={
            "inactivity_probe": 30000, "ic_probe_interval": 60000, "election_timer": 5000})[0])["expected_probes"]
        assert not gate["passed"]
        assert "inactivity_probe of listener ptcp:6641:127.0.0.51 is 60000 ms (set), expected 30000" \
            in gate["detail"]
        assert "NB_Global:ic_probe_interval is 5000 ms (unset, the default), expected 60000" in gate["detail"]
        assert "election_timer is 1000 ms, expected 5000" in gate["detail"]
        # The unreferenced row is not a listener of the database and is not judged.
        assert "ptcp:6699" not in gate["detail"]

    def test_untunable_command_line_listener_counts_with_the_default(self):
        listeners = [cluster_members.describe_listener("db:OVN_Northbound,NB_Global,connections"),
                     cluster_members.describe_listener("ptcp:6641:127.0.0.51"),
                     cluster_members.describe_listener("ptcp:6642:127.0.0.51")]
        document = facts([member(0, listeners=listeners), member(1), member(2)])
        first = document["members"][0]["listeners"]
        assert [(l["source"], l["tunable"]) for l in first] == [
            ("database", True), ("command_line", True), ("command_line", False)]
        gate = by_name(health.evaluate(document, document,
                                       expected_probes={"inactivity_probe": 60000})[0])["expected_probes"]
        assert not gate["passed"]
        assert gate["detail"] == ("inactivity_probe of listener ptcp:6642:127.0.0.51 on tcp:127.0.0.51:16651"
                                  " is set on the command line (5000 ms, the built-in default) and cannot"
                                  " be tuned, expected 60000")
        # command_line_listeners=ignore judges the rows only, as a rollout's gate does.
        ignored = by_name(health.evaluate(document, document, expected_probes={"inactivity_probe": 60000},
                                          command_line_listeners="ignore")[0])["expected_probes"]
        assert ignored["passed"], ignored["detail"]
        assert ignored["detail"] == "all of inactivity_probe=60000 as expected"

    def test_rows_tune_no_listener_of_a_server_without_their_db_remote(self):
        # A relay, or a member listening through Local_Config: the rows seen through it are not its own.
        listeners = [cluster_members.describe_listener("ptcp:6641:127.0.0.51")]
        document = facts([member(0, listeners=listeners), member(1), member(2)])
        listener = document["members"][0]["listeners"][0]
        assert (listener["tunable"], listener["inactivity_probe_effective"]) == (False, 5000)

    def test_unreadable_settings_fail_the_gate(self):
        document = healthy()
        document["probe_settings"] = dict(SETTINGS, error="no member is reachable")
        gate = by_name(health.evaluate(document, document,
                                       expected_probes={"inactivity_probe": 60000})[0])["expected_probes"]
        assert not gate["passed"] and "no member is reachable" in gate["detail"]

    def test_effective_interval(self):
        assert cluster_facts.effective_interval(None, "inactivity_probe") == 5000
        assert cluster_facts.effective_interval(0, "inactivity_probe") == 0
        assert cluster_facts.effective_interval(250, "inactivity_probe") == 1000
        assert cluster_facts.effective_interval(None, "max_backoff") == 8000


# --------------------------------------------------------------------------- assertions

class TestAssertions:
    def test_invalid_expression_reports_the_parse_error(self):
        with pytest.raises(health.HealthInputError) as raised:
            health.compile_assertions(["summary.quorum", "summary.term >"])
        message = str(raised.value)
        assert message.startswith("assertions[1]: 'summary.term >' is not a valid JMESPath expression:")
        assert "Expecting" in message or "Unexpected" in message or "Invalid" in message

    @pytest.mark.parametrize("bad", ["", "   ", 5])
    def test_non_expressions_are_refused(self, bad):
        with pytest.raises(health.HealthInputError, match=r"assertions\[0\]"):
            health.compile_assertions([bad])

    def test_passing_and_failing_with_the_value_seen(self):
        start = healthy(term=3)
        end = facts([member(i, term=4) for i in range(3)])
        window = health.window_stats(start, end, 6.0)
        compiled = health.compile_assertions([
            "summary.quorum",
            "end.summary.term == start.summary.term",
            "length(members[?echo_rtt_ms > `1.0`])",
            "window.elections",
            "summary.entries_not_committed_max",
        ])
        gates = health.evaluate_assertions(compiled, health.assertion_document(start, end, window))
        assert [g["passed"] for g in gates] == [True, False, True, True, False]
        assert gates[1]["name"] == "assertion_1"
        assert gates[1]["detail"] == "assertion 'end.summary.term == start.summary.term' is not truthy: value false"
        assert gates[2]["detail"].endswith("holds: value 2")
        # 0 fails, as in Ansible's assert
        assert gates[4]["detail"].endswith("is not truthy: value 0")

    def test_runtime_type_error_is_a_failed_assertion(self):
        compiled = health.compile_assertions(["length(summary.term)"])
        document = healthy()
        gates = health.evaluate_assertions(compiled, health.assertion_document(document, document))
        assert not gates[0]["passed"] and "could not be evaluated" in gates[0]["detail"]

    def test_document_without_window(self):
        document = healthy()
        compiled = health.compile_assertions(["window == null", "start.summary.term == end.summary.term"])
        gates = health.evaluate_assertions(compiled, health.assertion_document(document, document))
        assert all(g["passed"] for g in gates)


# --------------------------------------------------------------------------- metrics

def parse_metrics(text):
    values = {}
    types = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return types, values


def test_an_expected_listener_probe_of_zero_needs_consent():
    with pytest.raises(health.HealthInputError) as error:
        health.parse_expected_probes({"inactivity_probe": 0}, "OVN_Southbound")
    message = str(error.value)
    assert message.startswith("expected_probes.inactivity_probe: 0 disables the probe of the listeners;")
    assert message.endswith("or set allow_disabled_probe=true"), message
    assert health.parse_expected_probes({"inactivity_probe": "0s"}, "OVN_Southbound", allow_disabled_probe=True) \
        == {"inactivity_probe": 0}
    # Other probes of 0 are states to expect.
    assert health.parse_expected_probes({"northd_probe_interval": 0}, "OVN_Northbound") == {"northd_probe_interval": 0}


class TestMetrics:
    def test_exposition_parses_and_matches_the_facts(self):
        start = healthy(disconnections=1)
        end = facts([member(0, disconnections=2, term=4, election=(1500, "leadership_transfer"),
                            read_at=EPOCH + 8.0),
                     member(1, disconnections=1, term=4, election=(900000, "timeout"), read_at=EPOCH + 8.0),
                     member(2, reachable=False, status=False)], epoch=EPOCH + 8.0)
        window = health.window_stats(start, end, 8.0)
        expected = {"inactivity_probe": 60000}
        gates = health.evaluate(start, end, window, expected_probes=expected)[0]
        text = health_metrics.render_metrics(health_metrics.metric_samples(end, gates, False, window, expected))
        types, values = parse_metrics(text)
        db = ("database", "OVN_Northbound")
        assert types["ovn_tuning_raft_disconnections"] == "counter"
        assert values[("ovn_tuning_raft_disconnections_total", (db, ("member", REMOTES[0])))] == 2
        assert ("ovn_tuning_raft_disconnections_total", (db, ("member", REMOTES[2]))) not in values
        assert values[("ovn_tuning_member_up", (db, ("member", REMOTES[2])))] == 0
        assert values[("ovn_tuning_member_up", (db, ("member", REMOTES[0])))] == 1
        assert values[("ovn_tuning_raft_role", (db, ("member", REMOTES[0]), ("role", "leader")))] == 1
        assert values[("ovn_tuning_raft_role", (db, ("member", REMOTES[1]), ("role", "leader")))] == 0
        assert values[("ovn_tuning_raft_term", (db, ("member", REMOTES[1])))] == 4
        assert values[("ovn_tuning_raft_last_election_timestamp_seconds",
                       (db, ("member", REMOTES[0]), ("reason", "leadership_transfer")))] == EPOCH + 6.5
        assert values[("ovn_tuning_raft_last_election_timestamp_seconds",
                       (db, ("member", REMOTES[1]), ("reason", "timeout")))] == EPOCH + 8.0 - 900.0
        assert values[("ovn_tuning_health_window_elections", (db,))] == 0
        assert values[("ovn_tuning_health_window_leadership_transfers", (db,))] == 1
        assert values[("ovn_tuning_raft_election_timer_milliseconds", (db, ("member", REMOTES[1])))] == 1000
        assert values[("ovn_tuning_echo_rtt_milliseconds", (db, ("member", REMOTES[1])))] == 1.5
        assert values[("ovn_tuning_connection_inactivity_probe_milliseconds",
                       (db, ("target", "ptcp:6641:127.0.0.51")))] == 60000
        assert ("ovn_tuning_connection_inactivity_probe_milliseconds", (db, ("target", "ptcp:6699"))) not in values
        assert values[("ovn_tuning_probe_option_milliseconds", (db, ("key", "northd_probe_interval")))] == 30000
        assert values[("ovn_tuning_health_gate", (db, ("gate", "quorum")))] == 1
        assert values[("ovn_tuning_health_gate", (db, ("gate", "members_healthy")))] == 0
        assert values[("ovn_tuning_health_gate", (db, ("gate", "disconnections")))] == 0
        assert values[("ovn_tuning_healthy", (db,))] == 0
        assert values[("ovn_tuning_health_window_disconnections", (db,))] == 1
        assert values[("ovn_tuning_cluster_members_connected", (db,))] == 2
        assert values[("ovn_tuning_expected_probe_milliseconds", (db, ("setting", "inactivity_probe")))] == 60000
        for metric in health_metrics.METRICS:
            assert "# HELP %s " % metric.name in text
            assert "# TYPE %s %s" % (metric.name, metric.type) in text

    def test_label_values_are_escaped(self):
        document = healthy()
        document["members"][0]["remote"] = 'unix:/tmp/we"ird\\path\nx'
        text = health_metrics.render_metrics(health_metrics.metric_samples(document))
        assert 'member="unix:/tmp/we\\"ird\\\\path\\nx"' in text
        values = parse_metrics(text)[1]
        assert values[("ovn_tuning_member_up", (("database", "OVN_Northbound"),
                                                ("member", 'unix:/tmp/we"ird\\path\nx')))] == 1

    def test_operator_labels_come_first_on_every_sample(self):
        document = healthy()
        labels = health_metrics.check_metric_labels({"read": "health", "deployment": 'prod-"1"'})
        assert labels == [("deployment", 'prod-"1"'), ("read", "health")]
        text = health_metrics.render_metrics(health_metrics.metric_samples(document), labels)
        samples = [line for line in text.splitlines() if not line.startswith("#")]
        assert samples and all(line.split("{", 1)[1].startswith('deployment="prod-\\"1\\"",read="health",')
                               for line in samples)
        values = parse_metrics(text)[1]
        key = (("database", "OVN_Northbound"), ("deployment", 'prod-"1"'), ("member", REMOTES[0]),
               ("read", "health"))
        assert values[("ovn_tuning_member_up", key)] == 1

    @pytest.mark.parametrize("labels, message", [
        ({"database": "x"}, "metrics_labels: 'database' is a label the metrics set themselves; taken: database,"),
        ({"instance": "x"}, "metrics_labels: 'instance' is a label the metrics set themselves; taken: database,"
                            " gate, instance, job,"),
        ({"setting": "x"}, "metrics_labels: 'setting' is a label the metrics set themselves"),
        ({"1st": "x"}, "metrics_labels: '1st' is not a Prometheus label name"),
        ({"__name__": "x"}, "metrics_labels: '__name__' is not a Prometheus label name"),
        ({"de-ployment": "x"}, "metrics_labels: 'de-ployment' is not a Prometheus label name"),
        ({"deployment": ["a"]}, "metrics_labels.deployment: expected a string, got ['a']"),
        ({"deployment": None}, "metrics_labels.deployment: expected a string, got None"),
        (["deployment"], "metrics_labels: expected a dict of label name to value"),
    ])
    def test_bad_operator_labels_name_the_option(self, labels, message):
        with pytest.raises(health.HealthInputError) as caught:
            health_metrics.check_metric_labels(labels)
        assert str(caught.value).startswith(message), str(caught.value)

    def test_expected_probes_are_written_in_milliseconds(self):
        document = healthy()
        expected = health.parse_expected_probes({"inactivity_probe": "60s", "election_timer": 5000},
                                                "OVN_Northbound")
        values = parse_metrics(health_metrics.render_metrics(health_metrics.metric_samples(document, expected=expected)))[1]
        db = ("database", "OVN_Northbound")
        assert values[("ovn_tuning_expected_probe_milliseconds", (db, ("setting", "inactivity_probe")))] == 60000
        assert values[("ovn_tuning_expected_probe_milliseconds", (db, ("setting", "election_timer")))] == 5000
        assert not [key for key in values if key[0] == "ovn_tuning_expected_probe_milliseconds"
                    and ("setting", "max_backoff") in key[1]]
        # Without expected_probes the metric is left out.
        text = health_metrics.render_metrics(health_metrics.metric_samples(document))
        assert "ovn_tuning_expected_probe_milliseconds" not in text

    def test_a_probe_kept_in_seconds_is_written_in_milliseconds(self):
        document = healthy()
        document["database"] = "Open_vSwitch"
        document["probe_settings"]["options_effective"] = {"ovn-openflow-probe-interval": 30,
                                                           "ovn-remote-probe-interval": 60000}
        expected = health.parse_expected_probes({"ovn-openflow-probe-interval": "1m"}, "Open_vSwitch")
        assert expected == {"ovn-openflow-probe-interval": 60}
        values = parse_metrics(health_metrics.render_metrics(health_metrics.metric_samples(document, expected=expected)))[1]
        db = ("database", "Open_vSwitch")
        assert values[("ovn_tuning_probe_option_milliseconds", (db, ("key", "ovn-openflow-probe-interval")))] == 30000
        assert values[("ovn_tuning_probe_option_milliseconds", (db, ("key", "ovn-remote-probe-interval")))] == 60000
        assert values[("ovn_tuning_expected_probe_milliseconds",
                       (db, ("setting", "ovn-openflow-probe-interval")))] == 60000

    def test_docs_page_is_generated_from_the_definitions(self):
        with open(os.path.join(REPO_ROOT, "docs", "metrics.md")) as handle:
            assert handle.read() == health_metrics.markdown_page(), (
                "docs/metrics.md is out of date: python -m"
                " ansible_collections.kubedc.ovn_tuning.plugins.module_utils.health_metrics > docs/metrics.md")

    def test_required_metric_names_exist(self):
        names = set(health_metrics.METRICS_BY_NAME)
        for name in ("ovn_tuning_raft_disconnections_total", "ovn_tuning_raft_role", "ovn_tuning_raft_term",
                     "ovn_tuning_raft_election_timer_milliseconds", "ovn_tuning_raft_entries_not_committed",
                     "ovn_tuning_member_up", "ovn_tuning_echo_rtt_milliseconds",
                     "ovn_tuning_connection_inactivity_probe_milliseconds",
                     "ovn_tuning_probe_option_milliseconds", "ovn_tuning_health_gate", "ovn_tuning_healthy"):
            assert name in names

    def test_atomic_write_leaves_no_temporary_file(self, tmp_path):
        path = tmp_path / "ovn.prom"
        path.write_text("old\n")
        health_metrics.write_atomically(str(path), "new\n")
        assert path.read_text() == "new\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ovn.prom"]
        assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_standalone_window_gates_are_not_evaluated():
    entry = cluster_members._member_entry(0, "unix:/run/lc.sock", "/run/lc.ctl")
    entry.update(reachable=True, echo_rtt_ms=0.3, cluster_status_error="not clustered",
                 server={"model": "standalone", "connected": True, "leader": True, "index": None,
                         "cid": None, "sid": None})
    document = facts([entry])
    window = health.window_stats(document, document, 5.0)
    gates, not_evaluated = health.evaluate(document, document, window)
    assert all(gate["passed"] for gate in gates), gates
    assert {"no_elections", "disconnections"} <= set(n["name"] for n in not_evaluated)


# --------------------------------------------------------------------------- relays

def relay(index, connected=True):
    entry = cluster_members._member_entry(index, REMOTES[index], "/run/r%d.ctl" % index)
    entry["reachable"] = True
    entry["echo_rtt_ms"] = 0.4
    # ovsdb-server 3.1's _Server row of a relay database.
    entry["server"] = {"model": "relay", "connected": connected, "leader": False, "index": None,
                       "cid": None, "sid": None}
    entry["cluster_status_error"] = ("cluster/status OVN_Southbound: \"cluster/status\" is not a valid command")
    entry["listeners"] = [cluster_members.describe_listener("ptcp:6642:0.0.0.0"),
                          cluster_members.describe_listener("punix:/run/ovn/ovnsb_db.sock")]
    return entry


class TestRelays:
    def relays(self, *connected):
        settings = dict(SETTINGS, table="SB_Global", connections=[dict(SETTINGS["connections"][0], target="ptcp:6642:0.0.0.0")])
        members = [relay(i, c) for i, c in enumerate(connected)]
        cluster_members.annotate_members(members, "OVN_Southbound")
        cluster_facts.annotate_listeners(members, settings)
        return {"database": "OVN_Southbound", "collected_at_epoch": EPOCH, "members": members,
                "summary": cluster_facts.summarize(members), "probe_settings": settings, "warnings": []}

    def test_connected_relays_are_healthy_with_no_leader_of_their_own(self):
        document = self.relays(True, True)
        assert document["summary"]["model"] == "relay"
        gates, not_evaluated = health.evaluate(document, document)
        assert all(gate["passed"] for gate in gates), gates
        gates = by_name(gates)
        assert gates["single_leader"]["detail"] == ("relay database: no leader of its own (writes go to its"
                                                    " source's leader)")
        assert gates["quorum"]["detail"] == "relay database: 2 of 2 relays reachable and connected to their source"
        assert {"name": "uncommitted_entries", "reason": "a relay database has no RAFT log"} in not_evaluated

    def test_a_relay_cut_from_its_source_fails(self):
        document = self.relays(True, False)
        gates = by_name(health.evaluate(document, document)[0])
        assert not gates["members_healthy"]["passed"]
        assert gates["members_healthy"]["detail"] == (
            "%s says (_Server) it is not connected to its source (a relay serves what it last received)" % REMOTES[1])

    def test_relay_listeners_are_not_tuned_by_the_rows_seen_through_it(self):
        document = self.relays(True, True)
        listener = document["members"][0]["listeners"][0]
        # The SB_Global row of the same target is the cluster's: the relay listens from its command line.
        assert (listener["source"], listener["tunable"], listener["inactivity_probe_effective"]) == (
            "command_line", False, 5000)
        gate = by_name(health.evaluate(document, document, expected_probes={"inactivity_probe": 60000})[0])
        # Only the relays' own listeners are judged (the row of 60000 ms would pass).
        assert gate["expected_probes"]["detail"] == "; ".join(
            "inactivity_probe of listener ptcp:6642:0.0.0.0 on %s is set on the command line (5000 ms, the"
            " built-in default) and cannot be tuned, expected 60000" % remote for remote in REMOTES[:2])
