"""Unit tests of the members' control-socket part read on their own hosts: the member_status
entries (validation), how they are matched to the members read over OVSDB, what the gates then
say, the member_status filter over registered loop results, and ovsdb_server_status' input checks."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kubedc.ovn_tuning.plugins.filter.rollout_report import member_status
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import cluster_facts, cluster_members, health
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.cluster_status import parse_cluster_status
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError
from ansible_collections.kubedc.ovn_tuning.plugins.modules.ovsdb_server_status import sockets_of

from ansible_collections.kubedc.ovn_tuning.tests.unit.plugins.module_utils.test_health_gates import REMOTES, SIDS, facts, member, status_text

HOSTS = ["central-1", "central-2", "central-3"]


def ovsdb_only(index, **kwargs):
    """A member as read over OVSDB alone (no control socket given)."""
    entry = member(index, **kwargs)
    for key in ("cluster_status", "cluster_status_error", "listeners", "listeners_error"):
        entry[key] = None
    entry["ctl_socket"] = None
    entry["status_source"] = None
    return entry


def host_read(index, host=None, **status_args):
    status_args.setdefault("role", "leader" if index == 0 else "follower")
    return {"host": host or HOSTS[index], "ctl_socket": "/run/ovn/ovnnb_db.ctl",
            "cluster_status": parse_cluster_status(status_text(index, **status_args)),
            "cluster_status_error": None,
            "listeners": [cluster_members.describe_listener("db:OVN_Northbound,NB_Global,connections")],
            "listeners_error": None, "read_at_epoch": 1795331925.0}


def merged(members, statuses):
    checked = cluster_facts.validate_member_status(statuses)
    unmatched = cluster_members.attach_member_status(members, checked)
    return facts(members), unmatched


def test_reads_are_matched_by_server_id_whatever_their_order():
    members = [ovsdb_only(i) for i in range(3)]
    doc, unmatched = merged(members, [host_read(2), host_read(0), host_read(1)])
    assert unmatched == []
    for index, entry in enumerate(doc["members"]):
        assert entry["host"] == HOSTS[index] and entry["status_source"] == "host"
        assert entry["cluster_status"]["server_id"] == SIDS[index]
        assert entry["ctl_socket"] == "/run/ovn/ovnnb_db.ctl"
    assert doc["summary"]["members_status_read"] == 3 and doc["summary"]["term"] == 3
    gates = dict((g["name"], g) for g in health.evaluate(doc, doc)[0])
    assert gates["members_healthy"]["passed"] and gates["uncommitted_entries"]["passed"]


def test_a_member_silent_over_ovsdb_gets_its_read_by_the_raft_address():
    members = [ovsdb_only(0), ovsdb_only(1), ovsdb_only(2, reachable=False)]
    # The lab's RAFT addresses are 127.0.0.5N, the client remotes 127.0.0.5N too (other ports).
    assert cluster_members._address_host(REMOTES[2]) == "127.0.0.53"
    doc, unmatched = merged(members, [host_read(0), host_read(1), host_read(2)])
    assert unmatched == []
    assert doc["members"][2]["host"] == "central-3"
    assert doc["members"][2]["cluster_status"]["role"] == "follower"
    gate = dict((g["name"], g) for g in health.evaluate(doc, doc)[0])["members_healthy"]
    assert not gate["passed"] and "tcp:127.0.0.53:16651 is unreachable" in gate["detail"]


def test_an_unreachable_host_leaves_its_member_unhealthy_and_says_why():
    members = [ovsdb_only(i) for i in range(3)]
    lost = {"host": "central-2", "cluster_status": None,
            "cluster_status_error": "central-2 is unreachable: ssh: connect timed out", "listeners": None,
            "listeners_error": "central-2 is unreachable: ssh: connect timed out"}
    doc, unmatched = merged(members, [host_read(0), lost, host_read(2)])
    assert [u["host"] for u in unmatched] == ["central-2"]
    assert doc["members"][1]["host"] is None and doc["members"][1]["status_source"] == "host"
    gate = dict((g["name"], g) for g in health.evaluate(doc, doc)[0])["members_healthy"]
    assert not gate["passed"]
    assert "central-2 is unreachable: ssh: connect timed out" in gate["detail"], gate
    # Without member_status a member without a socket is not expected to have a status.
    plain = facts([ovsdb_only(i) for i in range(3)])
    assert dict((g["name"], g) for g in health.evaluate(plain, plain)[0])["members_healthy"]["passed"]


def test_the_window_counts_disconnections_read_on_the_hosts():
    start, _unmatched = merged([ovsdb_only(i) for i in range(3)], [host_read(i) for i in range(3)])
    end, _unmatched = merged([ovsdb_only(i) for i in range(3)],
                             [host_read(0, disconnections=2), host_read(1), host_read(2, disconnections=1)])
    window = health.window_stats(start, end, 30.0)
    assert window["disconnections_delta"] == 3
    assert window["disconnections_by_member"] == {REMOTES[0]: 2, REMOTES[1]: 0, REMOTES[2]: 1}
    gates = dict((g["name"], g) for g in health.evaluate(start, end, window, max_disconnections=2)[0])
    assert not gates["disconnections"]["passed"] and gates["no_elections"]["passed"]


@pytest.mark.parametrize("entries, message", [
    ([{"ctl_socket": "/run/ovn/ovnnb_db.ctl"}], "member_status[0].host: the inventory name"),
    ([{"host": "a"}, {"host": "a"}], "member_status[1].host: a is given twice"),
    ([{"host": "a", "status": {}}], "member_status[0]: unknown key(s) status; accepted: host, ctl_socket"),
    ([{"host": "a", "cluster_status": "Role: leader"}], "member_status[0].cluster_status: must be the parsed"),
    ([{"host": "a", "listeners": "ptcp:6641"}], "member_status[0].listeners: must be a list"),
])
def test_bad_member_status_names_the_entry_and_the_key(entries, message):
    with pytest.raises(OvsdbConfigError) as raised:
        cluster_facts.validate_member_status(entries)
    assert message in str(raised.value)


# --------------------------------------------------------------------------- the filter

def loop_result(*results):
    return {"changed": False, "msg": "All items completed", "results": list(results)}


def test_filter_takes_each_hosts_database_entry_and_names_the_host():
    read = {"item": "central-1", "changed": False, "servers": {
        "OVN_Northbound": host_read(0), "OVN_Southbound": dict(host_read(0), ctl_socket="/run/ovn/ovnsb_db.ctl")}}
    entries = member_status(loop_result(read), "OVN_Southbound")
    assert len(entries) == 1
    assert entries[0]["host"] == "central-1" and entries[0]["ctl_socket"] == "/run/ovn/ovnsb_db.ctl"
    assert cluster_facts.validate_member_status(entries)[0]["cluster_status"]["role"] == "leader"


def test_filter_turns_unreachable_failed_and_skipped_hosts_into_errors():
    entries = member_status(loop_result(
        {"item": "central-1", "unreachable": True, "msg": "Failed to connect to the host via ssh"},
        {"item": "central-2", "failed": True, "msg": "the 'ovs' Python package is required"},
        {"item": "central-3", "skipped": True},
        {"item": "central-4", "servers": {"OVN_Northbound": host_read(0)}}), "OVN_Southbound")
    errors = [e["cluster_status_error"] for e in entries]
    assert errors == ["central-1 is unreachable: Failed to connect to the host via ssh",
                      "reading central-2 failed: the 'ovs' Python package is required",
                      "central-3 was not read (skipped)", "central-4 has no server of OVN_Southbound"]
    assert all(e["cluster_status"] is None for e in entries)
    # A loop whose task failed as a whole (it timed out) read no host.
    assert member_status({"failed": True, "msg": "The task timed out"}, "OVN_Northbound") == []


def test_filter_refuses_what_is_not_a_registered_loop():
    with pytest.raises(AnsibleFilterError, match="expected a registered loop"):
        member_status({"servers": {}}, "OVN_Northbound")
    with pytest.raises(AnsibleFilterError, match="inventory name of a member host"):
        member_status(loop_result({"item": None, "servers": {}}), "OVN_Northbound")


# --------------------------------------------------------------------------- ovsdb_server_status input

def params(**overrides):
    base = {"databases": ["OVN_Northbound", "OVN_Southbound"], "ctl_sockets": {}, "timeout": 10.0}
    base.update(overrides)
    return base


def test_server_status_uses_the_platform_paths_unless_told():
    assert sockets_of(params()) == {"OVN_Northbound": "/run/ovn/ovnnb_db.ctl",
                                    "OVN_Southbound": "/run/ovn/ovnsb_db.ctl"}
    assert sockets_of(params(databases=["OVN_Southbound"], ctl_sockets={"OVN_Southbound": "/var/run/ovn/sb.ctl"})) == {
        "OVN_Southbound": "/var/run/ovn/sb.ctl"}
    assert sockets_of(params(databases=["OVN_IC_Northbound"], ctl_sockets={"OVN_IC_Northbound": "/run/ovn/ic.ctl"}))


@pytest.mark.parametrize("overrides, message", [
    ({"databases": []}, "databases: give at least one database"),
    ({"databases": ["OVN_Northbound", "OVN_Northbound"]}, "databases: each database once"),
    ({"databases": ["OVN_Northbound"], "ctl_sockets": {"OVN_Southbound": "/run/ovn/ovnsb_db.ctl"}},
     "ctl_sockets: OVN_Southbound not in databases"),
    ({"ctl_sockets": {"OVN_Northbound": "run/ovn/ovnnb_db.ctl"}}, "ctl_sockets.OVN_Northbound: must be an absolute"),
    ({"databases": ["OVN_IC_Northbound"]}, "ctl_sockets: OVN_IC_Northbound has no default control socket"),
    ({"timeout": 0}, "timeout: must be a positive number"),
])
def test_server_status_bad_input_names_the_option(overrides, message):
    with pytest.raises(OvsdbConfigError) as raised:
        sockets_of(params(**overrides))
    assert message in str(raised.value)
