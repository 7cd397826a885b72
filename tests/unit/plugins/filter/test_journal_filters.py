"""The filters over leases, journals and snapshots: journal_text, leased_hosts, rollback_snapshot."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubedc.ovn_tuning.plugins.filter import rollout_journal as journal_filters

SNAPSHOTS = "/state/snapshots/stg"
FILES = [SNAPSHOTS + "/20261207T101500.000000Z-before-staging.json",
         SNAPSHOTS + "/20261207T120000.000000Z-manual.json",
         SNAPSHOTS + "/20261207T110000.000000Z-before-production.json"]


def test_journal_text_says_status_run_phase_and_snapshot():
    assert journal_filters.journal_text(None) == "no journal"
    text = journal_filters.journal_text({"status": "changing", "run_id": "ctl:42:7", "phase": "staging",
                                         "changing_since": "2026-12-07T10:15:00Z", "snapshot": FILES[0]})
    assert text == ("changing (run ctl:42:7, staging), changing since 2026-12-07T10:15:00Z, snapshot before the"
                    " change: %s" % FILES[0])
    with pytest.raises(AnsibleFilterError, match="journal_text: expected a journal"):
        journal_filters.journal_text("changing")


def test_leased_hosts_are_those_that_took_a_lease_each_once():
    hostvars = {"a": {"config_lease_acquired": True}, "b": {"config_lease_acquired": False}, "c": {},
                "d": {"config_lease_acquired": "True"}}
    assert journal_filters.leased_hosts(["a", "b", "c", "d", "a", "zz"], hostvars) == ["a", "d"]
    assert journal_filters.leased_hosts(["a", "d"], hostvars, ["d"]) == ["a"]
    with pytest.raises(AnsibleFilterError, match="leased_hosts: expected a list"):
        journal_filters.leased_hosts("a", hostvars)


@pytest.mark.parametrize("paths, requested, inband, chosen", [
    # The newest taken right before a change, over a newer snapshot of another kind.
    (FILES, "", False, FILES[2]),
    # No snapshot before a change: the newest.
    ([FILES[1], SNAPSHOTS + "/20261201T000000.000000Z-manual.json"], "", False, FILES[1]),
    ([], "", False, ""),
    # Named: a file of the directory, or a path.
    (FILES, "20261207T101500.000000Z-before-staging.json", False, FILES[0]),
    (FILES, "/elsewhere/x.json", False, "/elsewhere/x.json"),
    # The deployment store: as named, or the module's choice.
    ([], "20261207T101500.000000Z-before-staging", True, "20261207T101500.000000Z-before-staging"),
    ([], "", True, ""),
])
def test_rollback_snapshot_applies_the_one_rule(paths, requested, inband, chosen):
    assert journal_filters.rollback_snapshot(paths, requested, SNAPSHOTS, inband) == chosen


def test_rollback_snapshot_refuses_what_is_not_a_list():
    with pytest.raises(AnsibleFilterError, match="rollback_snapshot: expected a list of snapshot file paths"):
        journal_filters.rollback_snapshot("x.json")
    assert set(journal_filters.FilterModule().filters()) == {"journal_text", "leased_hosts", "rollback_snapshot"}
