"""Unit tests of the OVSDB client's pure parts (backoff schedule, remote parsing, the write path) and of
cluster/status parsing."""

import random
import statistics

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import cluster_status
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_base as base
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_client as client
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_rpc as rpc


class TestBackoff:
    def test_the_pause_between_rounds_is_jittered_between_two_thirds_of_the_cap_and_the_cap(self):
        backoff = base.Backoff(initial=1.0, maximum=30.0, rng=random.Random(7))
        pauses = [backoff.pause() for _draw in range(2000)]
        assert 2.0 <= min(pauses) < 2.01 and 2.99 < max(pauses) <= 3.0
        # Jitter, not one value: no two draws alike.
        assert len(set(pauses)) == len(pauses)
        assert base.Backoff(initial=1.0, maximum=2.0).cap == 2.0
        assert base.Backoff(initial=2.0, maximum=30.0).cap == 6.0
        # A cap no larger than the initial pause: the pause is the initial one.
        assert base.Backoff(initial=1.0, maximum=1.0, rng=random.Random(1)).pause() == 1.0

    def test_reconnect_pause_is_spread_over_three_initial_pauses(self):
        rng = random.Random(11)
        backoff = base.Backoff(initial=1.0, maximum=30.0, rng=rng)
        pauses = [backoff.reconnect_pause() for _client in range(1000)]
        assert 0.0 <= min(pauses) < 0.1 and 2.9 < max(pauses) <= 3.0
        assert base.Backoff(initial=1.0, maximum=2.0).spread == 2.0

    def test_jitter_spreads_clients_that_fail_together(self):
        # 1000 clients that lost the same server: no 100 ms bucket holds more than 5 % of them
        # (a uniform spread over 3 s puts 3.3 % in each).
        rng = random.Random(11)
        pauses = [base.Backoff(rng=rng).reconnect_pause() for _client in range(1000)]
        buckets = {}
        for pause in pauses:
            buckets[int(pause * 10)] = buckets.get(int(pause * 10), 0) + 1
        assert len(buckets) == 30
        assert max(buckets.values()) < 0.05 * len(pauses)
        assert statistics.pstdev(pauses) > 0.8  # uniform over 3 s: 0.87

    def test_an_election_is_waited_out_in_short_jittered_pauses(self):
        backoff = base.Backoff(initial=1.0, maximum=30.0, rng=random.Random(9))
        pauses = [backoff.election_pause() for _draw in range(1000)]
        assert 0.2 <= min(pauses) < 0.22 and 0.48 < max(pauses) <= 0.5

    @pytest.mark.parametrize("initial,maximum", [(0, 30), (-1, 30), (5, 1)])
    def test_bad_settings_are_refused(self, initial, maximum):
        with pytest.raises(base.OvsdbConfigError, match="backoff"):
            base.Backoff(initial=initial, maximum=maximum)

    def test_sleep_until_never_passes_the_deadline(self):
        deadline = base.Deadline(0.05)
        assert base.sleep_until(deadline, 10.0) is False
        assert deadline.expired()


class TestRemotes:
    @pytest.mark.parametrize("text,expected", [
        ("tcp:127.0.0.1:6641", ["tcp:127.0.0.1:6641"]),
        ("tcp:127.0.0.1:6641,tcp:127.0.0.2:6641, tcp:127.0.0.3:6641",
         ["tcp:127.0.0.1:6641", "tcp:127.0.0.2:6641", "tcp:127.0.0.3:6641"]),
        ("ssl:[::1]:6642", ["ssl:[::1]:6642"]),
        ("unix:/var/run/ovn/ovnnb_db.sock", ["unix:/var/run/ovn/ovnnb_db.sock"]),
        ("ssl:ovn-central.kube-system:6641", ["ssl:ovn-central.kube-system:6641"]),
    ])
    def test_accepted(self, text, expected):
        assert base.parse_remotes(text) == expected

    @pytest.mark.parametrize("text,fragment", [
        ("", "no remote"),
        ("127.0.0.1:6641", "cannot read '127.0.0.1:6641'"),
        ("tcp:127.0.0.1", "cannot read"),
        ("ptcp:6641", "cannot read"),
        ("tcp:127.0.0.1:70000", "out of range"),
        ("unix:", "no socket path"),
    ])
    def test_refused_with_the_parameter_named(self, text, fragment):
        with pytest.raises(base.OvsdbConfigError) as caught:
            base.parse_remotes(text, param="remote")
        assert str(caught.value).startswith("remote:")
        assert fragment in str(caught.value)

    def test_ssl_files_are_checked_before_use(self, tmp_path):
        key = tmp_path / "key.pem"
        key.write_text("x")
        tls = rpc.TlsFiles(str(key), str(tmp_path / "missing-cert.pem"), str(key))
        with pytest.raises(base.OvsdbConfigError, match="ssl_certificate: .*missing-cert.pem does not exist"):
            tls.check()
        with pytest.raises(base.OvsdbConfigError, match="ssl_ca_cert: required"):
            rpc.TlsFiles(str(key), str(key), None).check()


LEADER_STATUS = """\
acb0
Name: OVN_Northbound
Cluster ID: 971a (971aefc8-da7b-4b30-93d2-13ea568a2406)
Server ID: acb0 (acb08cce-f905-46a8-8d85-1e9c2ef43fd4)
Address: tcp:127.9.9.1:6643
Status: cluster member
Role: leader
Term: 3
Leader: self
Vote: self

Last Election started 2023 ms ago, reason: timeout
Last Election won: 2023 ms ago
Election timer: 2000 (changing to 4000)
Log: [2, 41]
Entries not yet committed: 1
Entries not yet applied: 0
Connections: ->2ae6 <-2ae6 (->5f1c) <-5f1c
Disconnections: 17
Servers:
    acb0 (acb0 at tcp:127.9.9.1:6643) (self) next_index=2 match_index=40
    2ae6 (2ae6 at tcp:127.9.9.2:6643) next_index=41 match_index=40 last msg 333 ms ago
    5f1c (5f1c at tcp:127.9.9.3:6643) next_index=41 match_index=39 last msg 87 ms ago
"""

FOLLOWER_STATUS = """\
2ae6
Name: OVN_Northbound
Cluster ID: 971a (971aefc8-da7b-4b30-93d2-13ea568a2406)
Server ID: 2ae6 (2ae6e57e-6b17-48d8-a7e3-97c0df6c4b85)
Address: tcp:127.9.9.2:6643
Status: cluster member
Role: follower
Term: 3
Leader: acb0
Vote: unknown

Election timer: 1000
Log: [2, 5]
Entries not yet committed: 0
Entries not yet applied: 0
Connections: ->0000 <-acb0
Disconnections: 0
Servers:
    acb0 (acb0 at tcp:127.9.9.1:6643)
    2ae6 (2ae6 at tcp:127.9.9.2:6643) (self)
"""


class TestClusterStatus:
    def test_leader_fields_are_typed(self):
        status = cluster_status.parse_cluster_status(LEADER_STATUS)
        assert status["name"] == "OVN_Northbound"
        assert status["cluster_id"] == "971aefc8-da7b-4b30-93d2-13ea568a2406"
        assert status["cluster_id_short"] == "971a"
        assert status["server_id_short"] == "acb0"
        assert status["status"] == "cluster member"
        assert status["role"] == "leader"
        assert status["term"] == 3
        assert status["leader"] == "self"
        assert status["election_timer"] == 2000
        assert status["election_timer_pending"] == 4000
        assert status["log"] == [2, 41]
        assert status["entries_not_yet_committed"] == 1
        assert status["entries_not_yet_applied"] == 0
        assert status["disconnections"] == 17
        assert status["last_election_started_ms_ago"] == 2023
        assert status["last_election_reason"] == "timeout"
        assert status["last_election_won_ms_ago"] == 2023
        assert {"direction": "out", "server": "5f1c", "pending": True} in status["connections"]
        assert len(status["connections"]) == 4

    def test_servers_list_with_indexes(self):
        servers = cluster_status.parse_cluster_status(LEADER_STATUS)["servers"]
        assert [s["sid"] for s in servers] == ["acb0", "2ae6", "5f1c"]
        assert servers[0]["self"] is True and servers[1]["self"] is False
        assert servers[1] == {"sid": "2ae6", "name": "2ae6", "address": "tcp:127.9.9.2:6643",
                              "self": False, "next_index": 41, "match_index": 40, "last_msg_ms_ago": 333}

    def test_follower_without_pending_change(self):
        status = cluster_status.parse_cluster_status(FOLLOWER_STATUS)
        assert status["role"] == "follower"
        assert status["leader"] == "acb0"
        assert status["vote"] is None
        assert status["election_timer"] == 1000
        assert status["election_timer_pending"] is None
        assert "last_election_started_ms_ago" not in status
        assert status["servers"][1]["self"] is True


class TestConverge:
    """OvsdbClient.converge, the modules' one write path, with transact() replaced by a recorder."""

    class Recorder(client.OvsdbClient):
        def __init__(self, reads):  # pylint: disable=super-init-not-called
            self.reads = list(reads)
            self.transactions = []

        def transact(self, build, comment=None, deadline=None, max_attempts=5):
            self.transactions.append(comment)
            return build("txn", self)

    @staticmethod
    def plan(ovsdb):
        value = ovsdb.reads.pop(0)
        return {"changed": value != "want", "value": value}

    def test_nothing_to_change_writes_nothing(self):
        recorder = self.Recorder(["want"])
        planned, committed = recorder.converge(self.plan, lambda *args: True, comment="c")
        assert planned == {"changed": False, "value": "want"} and committed is None
        assert recorder.transactions == []

    def test_check_mode_plans_and_writes_nothing(self):
        recorder = self.Recorder(["have"])
        planned, committed = recorder.converge(self.plan, lambda *args: True, check_mode=True)
        assert planned["changed"] and committed is None and recorder.transactions == []

    def test_a_change_is_planned_again_inside_the_transaction(self):
        written = []
        recorder = self.Recorder(["have", "changed-meanwhile"])
        planned, committed = recorder.converge(
            self.plan, lambda txn, ovsdb, changes: written.append((txn, changes["value"])) or True, comment="c")
        assert planned["value"] == "have" and committed["value"] == "changed-meanwhile"
        assert written == [("txn", "changed-meanwhile")] and recorder.transactions == ["c"]


class TestReconnectionSchedule:
    """connect() after a lost connection, with the attempts and pauses recorded instead of made."""

    REMOTES = "tcp:127.0.0.1:1,tcp:127.0.0.1:2,tcp:127.0.0.1:3"

    def run(self, monkeypatch, remotes, lost, answers):
        ours = client.OvsdbClient(remotes, "OVN_Northbound", {"NB_Global": ["options"]}, timeout=30)
        ours.connect_count, ours.remote = 1, lost
        tried, slept = [], []
        monkeypatch.setattr(client, "sleep_until", lambda _deadline, seconds: slept.append(seconds) or True)

        def connect_one(remote, _deadline):
            tried.append(remote)
            answer = answers(remote, len(tried))
            if answer is not None:
                raise answer

        monkeypatch.setattr(ours, "_connect_one", connect_one)
        ours.connect()
        return tried, slept

    def test_a_failover_tries_the_other_members_at_once_and_waits_out_the_election_briefly(self, monkeypatch):
        lost = "tcp:127.0.0.1:2"

        def answers(remote, count):
            if remote == lost:
                return base.OvsdbConnectionError(remote + ": connection refused")
            return None if count > 6 else base.OvsdbNotReady(remote + ": not the cluster leader")

        tried, slept = self.run(monkeypatch, self.REMOTES, lost, answers)
        # No pause before the first try; the lost server last in every round.
        assert lost not in tried[:2] and tried[2] == lost and tried[5] == lost
        assert len(slept) == 2 and all(0.2 <= pause <= 0.5 for pause in slept), slept

    def test_the_only_server_is_tried_again_after_a_spread_pause_then_capped_pauses(self, monkeypatch):
        remote = "tcp:127.0.0.1:1"
        tried, slept = self.run(monkeypatch, remote, remote,
                                lambda r, count: None if count > 8 else base.OvsdbConnectionError(r + ": refused"))
        assert tried == [remote] * 9
        assert 0.0 <= slept[0] <= 3.0
        assert all(2.0 <= pause <= 3.0 for pause in slept[1:]), slept
