"""Unit tests of the election timer step planner and of the walk's decisions.

The walk is driven here by a scripted stand-in for the members' unixctl sockets that answers in
ovsdb-server 3.1's own words and formats (cluster/status text, the replies and refusals of
cluster/change-election-timer), so that the decisions - wait on a pending change, never collide,
follow a new leader, name a leader that is not among the sockets, go on with a majority when a
member does not answer, give lagging members a bounded grace - are checked one by one (waits of
seconds on a fake clock: nothing sleeps them). The functional tests run the same walk against real
ovsdb-server clusters.
"""

import math
import os
import random
import socket
import tempfile

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import election_timer as et
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_base
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.cluster_status import parse_cluster_status
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import UnixctlError


# --------------------------------------------------------------------------- plan_steps

@pytest.mark.parametrize("current,target,steps", [
    (1000, 10000, [2000, 4000, 8000, 10000]),
    (1000, 2000, [2000]),
    (1000, 1500, [1500]),
    (3000, 7000, [6000, 7000]),
    (1000, 1000, []),
    (10000, 1000, [1000]),
    (600000, 100, [100]),
    (100, 600000, [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400, 204800, 409600, 600000]),
])
def test_plan_steps(current, target, steps):
    assert et.plan_steps(current, target) == steps


def test_every_increase_step_at_most_doubles_and_ends_at_the_target():
    rng = random.Random(5)
    for _attempt in range(500):
        current = rng.randint(100, 600000)
        target = rng.randint(100, 600000)
        steps = et.plan_steps(current, target)
        if target == current:
            assert steps == []
            continue
        assert steps[-1] == target
        if target < current:
            assert steps == [target]
            continue
        previous = current
        for value in steps:
            assert previous < value <= 2 * previous
            previous = value
        # No more steps than doubling needs.
        assert len(steps) == math.ceil(math.log2(target / current))


def test_plan_from_status_counts_a_pending_change_as_done():
    assert et.plan_from_status({"election_timer": 1000, "election_timer_pending": 2000}, 10000) == [
        4000, 8000, 10000]
    assert et.plan_from_status({"election_timer": 1000, "election_timer_pending": 10000}, 10000) == []
    assert et.plan_from_status({"election_timer": 1000, "election_timer_pending": None}, 1000) == []


def test_plan_steps_refuses_a_non_positive_start():
    with pytest.raises(ValueError):
        et.plan_steps(0, 1000)


# --------------------------------------------------------------------------- a scripted cluster

CID = "971aefc8-da7b-4b30-93d2-13ea568a2406"


class Member:
    def __init__(self, number, timer):
        self.number = number
        self.sid = "a%03d000-0000-4000-8000-%012d" % (number, number)
        self.short = self.sid[:4]
        self.address = "tcp:127.9.9.%d:6643" % number
        self.path = "/run/test/nb%d.ctl" % number
        self.role = "follower"
        self.term = 1
        self.timer = timer
        self.pending = None
        self.alive = True
        self.leader = None  # Member or None
        self.incoming = None  # a committed value this follower has not applied yet
        self.incoming_polls = 0
        self.silent = False  # a stopped daemon (SIGSTOP): its socket takes the call and never answers
        self.stuck = False  # answers, but never applies a committed value (its RAFT connection is broken)


class FakeCluster:
    """Members of one cluster answering cluster/status and cluster/change-election-timer."""

    def __init__(self, size=3, timer=1000, leader=1):
        self.members = [Member(n, timer) for n in range(1, size + 1)]
        self.outsiders = []  # members whose sockets are not given to the module
        self.set_leader(self.members[leader - 1])
        self.commit_after_polls = 1  # leader status polls a pending change survives
        self.follower_lag_polls = 0  # status polls a follower still shows the old value
        self.polls_since_change = 0
        self.change_calls = []  # (path, value, answer)
        self.collisions = 0
        self.hooks = []  # callables(cluster, command, member) run before each answer
        self.status_calls = []  # the path of every cluster/status call, in order
        self.clock = None  # a FakeClock the calls advance (an answer takes CALL_SECONDS)

    def by_path(self, path):
        for member in self.members + self.outsiders:
            if member.path == path:
                return member
        raise AssertionError(path)

    def set_leader(self, leader):
        term = max(m.term for m in self.members + self.outsiders) + 1
        for member in self.members + self.outsiders:
            if not member.alive:
                continue
            member.term = term
            member.leader = leader
            member.role = "leader" if member is leader else "follower"
        leader.pending = None

    def leader(self):
        return next((m for m in self.members + self.outsiders if m.alive and m.role == "leader"), None)

    def status_text(self, member):
        leader = member.leader
        if leader is member:
            leader_text = "self"
        elif leader is None:
            leader_text = "unknown"
        else:
            leader_text = leader.short
        timer = "%d" % member.timer
        if member.role == "leader" and member.pending:
            timer += " (changing to %d)" % member.pending
        servers = []
        for other in self.members + self.outsiders:
            line = "    %s (%s at %s)" % (other.short, other.short, other.address)
            if other is member:
                line += " (self)"
            servers.append(line)
        return "\n".join([
            member.short,
            "Name: OVN_Northbound",
            "Cluster ID: %s (%s)" % (CID[:4], CID),
            "Server ID: %s (%s)" % (member.short, member.sid),
            "Address: %s" % member.address,
            "Status: cluster member",
            "Role: %s" % member.role,
            "Term: %d" % member.term,
            "Leader: %s" % leader_text,
            "Vote: %s" % leader_text,
            "",
            "Election timer: %s" % timer,
            "Log: [2, 40]",
            "Entries not yet committed: %d" % (1 if member.pending else 0),
            "Entries not yet applied: 0",
            "Connections: ->0000 <-0000",
            "Disconnections: 0",
            "Servers:",
        ] + servers) + "\n"

    def commit(self, leader):
        value = leader.pending
        leader.pending = None
        leader.timer = value
        for member in self.members + self.outsiders:
            if member is not leader and member.alive and member.term == leader.term:
                member.incoming, member.incoming_polls = value, self.follower_lag_polls

    def call(self, path, command, args, timeout):
        member = self.by_path(path)
        for hook in list(self.hooks):
            hook(self, command, member)
        if command == "cluster/status":
            self.status_calls.append(path)
        if not member.alive:
            raise UnixctlError("%s: cannot connect: Connection refused" % path, kind="unreachable")
        if member.silent:
            if self.clock is not None:
                self.clock.advance(timeout)
            raise UnixctlError("unixctl %s on %s did not finish within %.1f s" % (command, path, timeout),
                               kind="timeout")
        if self.clock is not None:
            self.clock.advance(CALL_SECONDS)
        if command == "cluster/status":
            assert args == ["OVN_Northbound"]
            if member.incoming is not None and not member.stuck:
                if member.incoming_polls <= 0:
                    member.timer, member.incoming = member.incoming, None
                member.incoming_polls -= 1
            if member.role == "leader" and member.pending:
                self.polls_since_change += 1
                if self.polls_since_change > self.commit_after_polls:
                    self.commit(member)
            return self.status_text(member)
        assert command == "cluster/change-election-timer"
        value = int(args[1])

        def refuse(text):
            self.change_calls.append((path, value, text))
            raise UnixctlError("cluster/change-election-timer: %s" % text, kind="refused",
                               server_error=text)

        if member.role != "leader":
            refuse("election timer must be changed through leader.")
        if member.pending:
            self.collisions += 1
            refuse("election timer change pending.")
        if value == member.timer:
            self.change_calls.append((path, value, "current"))
            return "change election timer to current value."
        if value > member.timer * 2:
            refuse("election timer increase should not exceed the current value x 2.")
        member.pending = value
        self.polls_since_change = 0
        self.change_calls.append((path, value, "initiated"))
        return "change of election timer initiated."


def walk(cluster, target, paths=None, timeout=5.0, check_mode=False, warnings=None, poll_interval=0.001):
    paths = paths or [m.path for m in cluster.members]
    change = et.ElectionTimerChange(paths, "OVN_Northbound", target, timeout, poll_interval=poll_interval,
                                    call=cluster.call,
                                    warn=(warnings.append if warnings is not None else None))
    return change.run(check_mode=check_mode)


# What one answered unixctl call takes on the fake clock (a silent member takes its whole timeout).
CALL_SECONDS = 0.001


class FakeClock:
    """time.monotonic and time.sleep as ovsdb_base sees them (Deadline, sleep_until): a sleep
    advances the clock at once, so that waits of seconds (call timeouts, a grace) take no real time."""

    def __init__(self):
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept += seconds
        self.advance(seconds)

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(ovsdb_base, "time", fake)
    return fake


def test_the_fake_speaks_the_real_format():
    cluster = FakeCluster()
    status = parse_cluster_status(cluster.status_text(cluster.members[0]))
    assert status["role"] == "leader" and status["term"] == 2
    assert status["server_id_short"] == cluster.members[0].short
    assert [s["address"] for s in status["servers"]] == [m.address for m in cluster.members]


# --------------------------------------------------------------------------- pure readers

def test_find_leader_prefers_the_highest_term():
    statuses = {"a": {"role": "leader", "term": 3}, "b": {"role": "leader", "term": 4},
                "c": {"role": "follower", "term": 4}, "d": None}
    assert et.find_leader(statuses)[0] == "b"
    assert et.find_leader({"a": {"role": "follower", "term": 1}, "b": None}) is None


def test_a_leader_outside_the_given_members_is_named():
    cluster = FakeCluster()
    statuses = dict((m.path, parse_cluster_status(cluster.status_text(m))) for m in cluster.members[1:])
    elsewhere = et.leader_elsewhere(statuses, {m.short for m in cluster.members[1:]})
    assert elsewhere["sid"] == cluster.members[0].short
    assert elsewhere["address"] == cluster.members[0].address
    # The same leader among the members' own ids is not "elsewhere": it is just not answering as leader.
    assert et.leader_elsewhere(statuses, {m.short for m in cluster.members}) is None


def test_lagging_members_counts_silent_members():
    statuses = {"a": {"election_timer": 2000}, "b": {"election_timer": 1000}, "c": None}
    assert et.lagging_members(statuses, 2000) == ["b", "c"]


# --------------------------------------------------------------------------- the walk

def test_walk_from_1000_to_10000_in_four_committed_steps():
    cluster = FakeCluster()
    result = walk(cluster, 10000)
    assert [s["election_timer"] for s in result["steps"]] == [2000, 4000, 8000, 10000]
    assert [s["previous"] for s in result["steps"]] == [1000, 2000, 4000, 8000]
    assert all(s["committed"] for s in result["steps"])
    assert {s["leader"]["ctl_socket"] for s in result["steps"]} == {cluster.members[0].path}
    assert result["changed"] is True
    assert (result["election_timer_before"], result["election_timer_after"]) == (1000, 10000)
    assert [m.timer for m in cluster.members] == [10000] * 3
    assert cluster.collisions == 0
    assert [c[2] for c in cluster.change_calls] == ["initiated"] * 4


def test_already_at_target_sets_nothing():
    cluster = FakeCluster(timer=10000)
    result = walk(cluster, 10000)
    assert result["changed"] is False and result["steps"] == []
    assert cluster.change_calls == []


def test_a_decrease_is_one_step():
    cluster = FakeCluster(timer=16000)
    result = walk(cluster, 1000)
    assert [s["election_timer"] for s in result["steps"]] == [1000]
    assert [m.timer for m in cluster.members] == [1000] * 3


def test_check_mode_plans_without_setting():
    cluster = FakeCluster()
    result = walk(cluster, 10000, check_mode=True)
    assert [s["election_timer"] for s in result["steps"]] == [2000, 4000, 8000, 10000]
    assert not any(s["committed"] for s in result["steps"])
    assert result["changed"] is True and result["election_timer_after"] == 10000
    assert cluster.change_calls == []
    assert [m.timer for m in cluster.members] == [1000] * 3


def test_check_mode_plans_from_a_pending_change():
    cluster = FakeCluster()
    cluster.members[0].pending = 2000
    cluster.commit_after_polls = 10 ** 6
    result = walk(cluster, 10000, check_mode=True)
    assert result["election_timer_pending_before"] == 2000
    assert [s["election_timer"] for s in result["steps"]] == [4000, 8000, 10000]
    assert cluster.change_calls == []


def test_a_pending_change_at_start_is_waited_on_not_collided_with():
    cluster = FakeCluster()
    cluster.members[0].pending = 2000
    cluster.commit_after_polls = 5
    result = walk(cluster, 8000)
    assert result["election_timer_before"] == 1000
    assert result["election_timer_pending_before"] == 2000
    assert [s["election_timer"] for s in result["steps"]] == [4000, 8000]
    assert cluster.collisions == 0
    assert [m.timer for m in cluster.members] == [8000] * 3


def test_followers_that_lag_hold_the_next_step():
    cluster = FakeCluster()
    cluster.follower_lag_polls = 3
    seen_when_set = []

    def record(cluster_, command, member):
        if command == "cluster/change-election-timer":
            seen_when_set.append([m.timer for m in cluster_.members])

    cluster.hooks.append(record)
    result = walk(cluster, 4000)
    assert [s["election_timer"] for s in result["steps"]] == [2000, 4000]
    # Each step was set only once every member showed the previous one.
    assert seen_when_set == [[1000, 1000, 1000], [2000, 2000, 2000]]
    assert [m.timer for m in cluster.members] == [4000] * 3


def test_a_leader_killed_before_committing_is_followed_and_the_step_set_again():
    cluster = FakeCluster()
    old, new = cluster.members[0], cluster.members[1]
    state = {"killed": False, "polls": 0}

    def kill_then_elect(cluster_, command, member):
        # The old leader dies with 4000 taken but not committed; an election follows.
        if not state["killed"] and old.pending == 4000:
            old.alive = False
            state["killed"] = True
            for other in cluster_.members[1:]:
                other.role, other.leader = "follower", None  # election under way
        elif state["killed"] and cluster_.leader() is None:
            state["polls"] += 1
            if state["polls"] > 4:
                cluster_.set_leader(new)

    cluster.hooks.append(kill_then_elect)
    warnings = []
    result = walk(cluster, 8000, warnings=warnings)
    values = [(s["election_timer"], s["leader"]["ctl_socket"], s["committed"]) for s in result["steps"]]
    assert values == [(2000, old.path, True), (4000, old.path, False), (4000, new.path, True),
                      (8000, new.path, True)]
    assert result["leader"]["ctl_socket"] == new.path
    assert [m.timer for m in cluster.members[1:]] == [8000, 8000]
    assert any(old.path in w and "went away" in w for w in warnings)
    member = next(m for m in result["members"] if m["ctl_socket"] == old.path)
    assert member["reachable"] is False


def test_no_leader_among_the_sockets_names_the_leader_and_sets_nothing():
    cluster = FakeCluster()
    leader = cluster.members[0]
    with pytest.raises(et.ElectionTimerError) as caught:
        walk(cluster, 4000, paths=[m.path for m in cluster.members[1:]])
    text = str(caught.value)
    assert leader.short in text and leader.address in text and "add the unixctl socket" in text
    assert cluster.change_calls == []


def test_a_leader_that_never_commits_fails_at_the_deadline_saying_so():
    cluster = FakeCluster()
    cluster.members[0].pending = 2000
    cluster.commit_after_polls = 10 ** 6
    with pytest.raises(et.ElectionTimerError) as caught:
        walk(cluster, 4000, timeout=0.3)
    text = str(caught.value)
    assert "did not reach 4000 ms within" in text
    assert "pending" in text and "1000 to 2000" in text
    assert cluster.change_calls == []


# --------------------------------------------------------------------------- a majority and the leader

def unixctl_timeout_text(path, seconds=5.0):
    return "unixctl cluster/status on %s did not finish within %.1f s" % (path, seconds)


def test_a_silent_follower_is_reported_and_not_waited_for(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    paused = cluster.members[2]
    paused.silent = True
    warnings = []
    started = clock.now
    result = walk(cluster, 8000, timeout=120, warnings=warnings)
    assert [s["election_timer"] for s in result["steps"]] == [2000, 4000, 8000]
    assert all(s["committed"] for s in result["steps"])
    assert result["changed"] is True and result["election_timer_after"] == 8000
    assert [m.timer for m in cluster.members[:2]] == [8000, 8000]
    assert result["unconfirmed"] == [{"ctl_socket": paused.path,
                                      "reason": "did not answer: " + unixctl_timeout_text(paused.path)}]
    assert [m["reachable"] for m in result["members"]] == [True, True, False]
    # Asked once, in the first read: the leader and a majority answer every later read, so the
    # walk costs that one call timeout and nothing more.
    assert cluster.status_calls.count(paused.path) == 1
    assert clock.now - started < 5.0 + 1.0
    assert any(w.startswith("ctl_socket: %s did not answer" % paused.path) for w in warnings)
    assert any("not confirmed on %s (did not answer" % paused.path in w for w in warnings)


def test_check_mode_reports_a_silent_follower(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    paused = cluster.members[1]
    paused.silent = True
    warnings = []
    result = walk(cluster, 4000, timeout=120, check_mode=True, warnings=warnings)
    assert result["changed"] is True
    assert [s["election_timer"] for s in result["steps"]] == [2000, 4000]
    assert [(u["ctl_socket"], u["reason"]) for u in result["unconfirmed"]] == [
        (paused.path, "did not answer: " + unixctl_timeout_text(paused.path))]
    assert cluster.change_calls == []
    assert [m.timer for m in cluster.members] == [1000] * 3
    assert any("not confirmed on %s" % paused.path in w for w in warnings)


def test_a_member_not_running_at_the_start_is_reported_not_fatal():
    cluster = FakeCluster()
    stopped = cluster.members[2]
    stopped.alive = False
    result = walk(cluster, 4000)
    assert result["changed"] is True and result["election_timer_after"] == 4000
    assert result["unconfirmed"] == [
        {"ctl_socket": stopped.path, "reason": "did not answer: %s: cannot connect: Connection refused" % stopped.path}]


def test_a_silent_majority_fails_naming_every_silent_member_and_changes_nothing(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    paused, stopped = cluster.members[1], cluster.members[2]
    paused.silent = True
    stopped.alive = False
    with pytest.raises(et.ElectionTimerError) as caught:
        walk(cluster, 4000, timeout=120)
    text = str(caught.value)
    assert text.startswith("ctl_socket: only 1 of the 3 given members answered cluster/status OVN_Northbound"
                           " and a majority is needed, so nothing was changed: ")
    assert "%s did not answer: %s" % (paused.path, unixctl_timeout_text(paused.path)) in text
    assert "%s did not answer: %s: cannot connect: Connection refused" % (stopped.path, stopped.path) in text
    # Two of two is a majority of two; one of two is not.
    with pytest.raises(et.ElectionTimerError, match="only 1 of the 2 given members answered"):
        walk(cluster, 4000, timeout=120, paths=[cluster.members[0].path, paused.path])
    assert cluster.change_calls == []
    assert [m.timer for m in cluster.members] == [1000] * 3


def test_nothing_to_change_returns_at_once_without_asking_a_silent_member_again(clock):
    cluster = FakeCluster(timer=4000)
    cluster.clock = clock
    behind, paused = cluster.members[1], cluster.members[2]
    behind.timer = 2000  # answers, but has not applied the committed value yet
    paused.silent = True
    warnings = []
    result = walk(cluster, 4000, timeout=120, warnings=warnings)
    assert result["changed"] is False and result["steps"] == []
    assert (result["election_timer_before"], result["election_timer_after"]) == (4000, 4000)
    # One read of each member and nothing after it: no poll, no pause, no grace.
    assert cluster.status_calls == [m.path for m in cluster.members]
    assert clock.slept == 0
    assert cluster.change_calls == []
    assert result["unconfirmed"] == [
        {"ctl_socket": behind.path, "reason": "shows 2000 ms"},
        {"ctl_socket": paused.path, "reason": "did not answer: " + unixctl_timeout_text(paused.path)}]
    assert any("not confirmed on %s (shows 2000 ms), %s (did not answer" % (behind.path, paused.path) in w
               for w in warnings)


def test_a_lagging_member_gets_one_short_grace_then_is_not_waited_for(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    stuck = cluster.members[2]
    stuck.stuck = True
    warnings = []
    started = clock.now
    result = walk(cluster, 8000, timeout=120, poll_interval=0.2, warnings=warnings)
    elapsed = clock.now - started
    assert [s["election_timer"] for s in result["steps"]] == [2000, 4000, 8000]
    assert all(s["committed"] for s in result["steps"])
    assert result["election_timer_after"] == 8000
    assert result["unconfirmed"] == [{"ctl_socket": stuck.path, "reason": "shows 1000 ms"}]
    # It had its grace at the first step; the later steps did not wait for it again (one grace,
    # not three), and the grace ended on time (within a poll interval).
    assert et.LAGGING_GRACE_SECONDS <= elapsed < et.LAGGING_GRACE_SECONDS + 0.5
    assert any("not confirmed on %s (shows 1000 ms)" % stuck.path in w for w in warnings)


def test_a_member_that_catches_up_within_its_grace_is_waited_for(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    cluster.follower_lag_polls = 5
    result = walk(cluster, 4000, timeout=120, poll_interval=0.2)
    assert result["unconfirmed"] == []
    assert [m.timer for m in cluster.members] == [4000] * 3


def test_the_grace_ends_before_the_deadline(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    stuck = cluster.members[2]
    stuck.stuck = True
    started = clock.now
    result = walk(cluster, 2000, timeout=1.0, poll_interval=0.05)
    assert clock.now - started < 1.0
    assert result["election_timer_after"] == 2000 and result["steps"][0]["committed"] is True
    assert result["unconfirmed"] == [{"ctl_socket": stuck.path, "reason": "shows 1000 ms"}]


def test_without_a_majority_showing_the_value_the_walk_fails_at_its_deadline(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    stuck, paused = cluster.members[1], cluster.members[2]
    stuck.stuck = True
    paused.silent = True
    with pytest.raises(et.ElectionTimerError) as caught:
        walk(cluster, 2000, timeout=20, poll_interval=0.2)
    text = str(caught.value)
    assert "did not reach 2000 ms within 20 s" in text
    assert "shown by 1 of the 3 given members, and a majority is needed; not yet by" in text
    assert "%s (shows 1000 ms)" % stuck.path in text and "%s (did not answer" % paused.path in text
    # Asked again - it may have come back - but once a grace, not on every read: each ask costs a
    # whole call timeout (5 s), so the first read and two more fit into 20 s.
    assert cluster.status_calls.count(paused.path) == 3


def test_a_silent_leader_is_replaced_and_the_new_one_followed(clock):
    cluster = FakeCluster()
    cluster.clock = clock
    old, new = cluster.members[0], cluster.members[1]
    old.silent = True
    reads = []

    def elect(cluster_, command, member):
        # The followers still name the stopped leader for a few reads, then elect another.
        if command == "cluster/status" and member is not old and cluster_.leader() is old:
            reads.append(member.path)
            if len(reads) > 4:
                cluster_.set_leader(new)

    cluster.hooks.append(elect)
    result = walk(cluster, 4000, timeout=120)
    assert result["leader"]["ctl_socket"] == new.path
    assert [(s["election_timer"], s["leader"]["ctl_socket"], s["committed"]) for s in result["steps"]] == [
        (2000, new.path, True), (4000, new.path, True)]
    assert [m.timer for m in cluster.members[1:]] == [4000, 4000]
    assert [u["ctl_socket"] for u in result["unconfirmed"]] == [old.path]


def test_a_socket_of_another_daemon_is_refused_before_any_change():
    cluster = FakeCluster()

    def unknown(path, command, args, timeout):
        if path.endswith("nb2.ctl"):
            raise UnixctlError("cluster/status OVN_Northbound: unknown cluster", kind="refused",
                               server_error="unknown cluster")
        return cluster.call(path, command, args, timeout)

    change = et.ElectionTimerChange([m.path for m in cluster.members], "OVN_Northbound", 4000, 5.0,
                                    poll_interval=0.001, call=unknown)
    with pytest.raises(et.ElectionTimerError, match="does not serve a clustered OVN_Northbound"):
        change.run()
    assert cluster.change_calls == []


# --------------------------------------------------------------------------- validation

def test_ctl_socket_validation():
    with tempfile.TemporaryDirectory() as workdir:
        sock_path = os.path.join(workdir, "s.ctl")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(sock_path)
        try:
            assert et.validate_ctl_sockets([sock_path, sock_path]) == [sock_path]
            assert et.validate_ctl_sockets(sock_path) == [sock_path]
            plain = os.path.join(workdir, "plain")
            open(plain, "w").close()
            with pytest.raises(et.ElectionTimerError, match="ctl_socket: .* is not a socket"):
                et.validate_ctl_sockets([plain])
            missing = os.path.join(workdir, "missing.ctl")
            with pytest.raises(et.ElectionTimerError, match="ctl_socket: .*missing.ctl does not exist"):
                et.validate_ctl_sockets([missing])
            with pytest.raises(et.ElectionTimerError, match="more than half of the 2 given must exist"):
                et.validate_ctl_sockets([sock_path, missing])
            # A stopped member's socket is gone: a minority of them is left to the walk (no answer).
            other = os.path.join(workdir, "t.ctl")
            second = socket.socket(socket.AF_UNIX)
            second.bind(other)
            try:
                assert et.validate_ctl_sockets([sock_path, missing, other]) == [sock_path, missing, other]
            finally:
                second.close()
            with pytest.raises(et.ElectionTimerError, match="not an absolute path"):
                et.validate_ctl_sockets(["nb.ctl"])
            with pytest.raises(et.ElectionTimerError, match="at least one"):
                et.validate_ctl_sockets([])
        finally:
            listener.close()


@pytest.mark.parametrize("value", [50, 99, 700000, 600001, "abc", -1, 0, True, "10 parsecs"])
def test_election_timer_values_outside_the_range_are_refused(value):
    with pytest.raises(ValueError, match="^election_timer: .*100-600000 ms"):
        et.parse_target(value)


@pytest.mark.parametrize("value,expected", [(100, 100), ("10s", 10000), ("10000ms", 10000), (600000, 600000)])
def test_election_timer_values_accepted(value, expected):
    assert et.parse_target(value) == expected
