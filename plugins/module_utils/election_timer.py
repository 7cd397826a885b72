# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changing the RAFT election timer of a clustered OVSDB database, safely.

Two layers, so that other modules (snapshot/restore) reuse the same rules:

* pure functions - the step plan (:func:`plan_steps`) and the reading of
  ``cluster/status`` documents (:func:`find_leader`, :func:`leader_elsewhere`,
  :func:`lagging_members`);
* :class:`ElectionTimerChange`, which walks a cluster through the plan over the
  members' unixctl sockets: it finds the leader, waits out a change already in
  progress, sets one step at a time on the leader, waits until the step is
  committed and shown by a majority of the given members (those that answer but
  lag get a short grace, :data:`LAGGING_GRACE_SECONDS`), follows a new leader when
  the old one goes away, and stops at one deadline.

It needs the leader and a majority of the given members, not every member: RAFT
commits with a majority, and a stalled follower (a paused daemon, a hung host)
must not hold a change - or the rollback of one - until its deadline. A member
that does not answer is warned about and reported as not confirmed
(``unconfirmed``); it takes the committed value from the leader's log when it
catches up. When the leader already shows the target with nothing pending,
nothing is waited for.

Facts of ovsdb-server (3.1) this rests on: ``cluster/change-election-timer DB MS``
is accepted by the leader only ("election timer must be changed through
leader."), for 100-600000 ms, refuses an increase above twice the current value
("election timer increase should not exceed the current value x 2.") but takes
any decrease in one step, refuses a second change while one is uncommitted
("election timer change pending."), and answers "change election timer to
current value." when nothing would change.  ``cluster/status`` shows
``Election timer: N (changing to M)`` on the leader only, until the change is
committed; followers show the new value once they apply it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.cluster_status import parse_cluster_status
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Deadline, OvsdbError, UnixctlError, sleep_until)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_rpc import unixctl

TUNABLE = "election_timer"
DATABASES = ("OVN_Northbound", "OVN_Southbound")
# ovsdb-server refuses an increase above twice the current timer: a follower that has not yet
# applied the new value must not time out a leader that already runs with it.
MAX_INCREASE_FACTOR = 2
# The first pause after a step; pauses double while nothing moves, up to the poll interval.
FIRST_POLL = 0.02
# Once the leader has a value committed and a majority of the given members show it, the members that
# answer but do not show it yet get this long to show it: a healthy follower applies a commit within
# milliseconds, and one still behind after that (its RAFT connection broken) is not waited for - it
# takes the value from the leader's log when it catches up.
LAGGING_GRACE_SECONDS = 2.0
# A grace ends at least this long before the deadline: a value committed on the leader and a majority
# is returned, not turned into a timeout by a lagging minority.
GRACE_MARGIN_SECONDS = 0.1
# How a unixctl call fails when nobody answers (a stopped or hung daemon, or none), as opposed to a
# daemon that answers with an error.
NO_ANSWER_KINDS = ("timeout", "missing", "unreachable")

REPLY_INITIATED = "change of election timer initiated"
REPLY_CURRENT = "change election timer to current value"
ERROR_PENDING = "change pending"
ERROR_NOT_LEADER = "changed through leader"
ERROR_INCREASE = "should not exceed"


class ElectionTimerError(OvsdbError):
    """The election timer could not be (safely) changed; the text says why and what was done."""


# --------------------------------------------------------------------------- pure parts

def plan_steps(current_ms, target_ms, factor=MAX_INCREASE_FACTOR):
    """The values to set, in order, to go from ``current_ms`` to ``target_ms``.

    An increase doubles at most per step (1000 -> 10000: 2000, 4000, 8000,
    10000); a decrease is one step; no change is no step.
    """
    current_ms = int(current_ms)
    target_ms = int(target_ms)
    if current_ms <= 0:
        raise ValueError("current election timer must be positive, got %r" % current_ms)
    if target_ms <= current_ms:
        return [] if target_ms == current_ms else [target_ms]
    steps = []
    value = current_ms
    while value < target_ms:
        value = min(target_ms, value * factor)
        steps.append(value)
    return steps


def plan_from_status(leader_status, target_ms):
    """Steps still to take from what the leader shows; a pending change counts as done
    (it is waited on, never collided with)."""
    start = leader_status.get("election_timer_pending") or leader_status["election_timer"]
    return plan_steps(start, target_ms)


def find_leader(statuses):
    """``(ctl_socket, status)`` of the member that says it leads (the highest term wins
    when a deposed leader has not noticed yet), or None.

    ``statuses`` maps ctl_socket -> parsed cluster/status (None when it did not answer).
    """
    leaders = [(status.get("term") or 0, path, status) for path, status in statuses.items()
               if status is not None and status.get("role") == "leader"]
    if not leaders:
        return None
    leaders.sort(key=lambda item: item[0], reverse=True)
    return leaders[0][1], leaders[0][2]


def reported_leader(statuses):
    """The server the members with the highest term name as leader: a dict with
    ``name``, ``sid`` and ``address`` (from their ``Servers:`` list), or None."""
    answered = [s for s in statuses.values() if s is not None]
    if not answered:
        return None
    top_term = max(s.get("term") or 0 for s in answered)
    for status in answered:
        if (status.get("term") or 0) != top_term:
            continue
        nickname = status.get("leader")
        if not nickname or nickname == "self":
            continue
        for server in status.get("servers", []):
            if nickname in (server.get("name"), server.get("sid")):
                return {"name": server.get("name"), "sid": server.get("sid"),
                        "address": server.get("address"), "term": top_term}
        return {"name": nickname, "sid": None, "address": None, "term": top_term}
    return None


def leader_elsewhere(statuses, member_sids):
    """The reported leader when it is none of the given members (short server ids in
    ``member_sids``), else None: a leader we cannot reach through the given sockets."""
    leader = reported_leader(statuses)
    if leader is None or find_leader(statuses) is not None:
        return None
    if leader["sid"] and any(sid.startswith(leader["sid"]) or leader["sid"].startswith(sid)
                             for sid in member_sids):
        return None
    if not leader["sid"] and leader["name"] in member_sids:
        return None
    return leader


def lagging_members(statuses, value_ms):
    """The members that do not (yet) show ``value_ms`` as their election timer;
    a member that did not answer counts as lagging."""
    return sorted(path for path, status in statuses.items()
                  if status is None or status.get("election_timer") != value_ms)


def is_majority(count, total):
    """True when ``count`` members are more than half of ``total``."""
    return count * 2 > total


def describe_server(server):
    if not server:
        return "an unknown server"
    text = "server %s" % (server.get("sid") or server.get("name"))
    if server.get("address"):
        text += " at %s" % server["address"]
    return text


# --------------------------------------------------------------------------- validation

def validate_ctl_sockets(ctl_sockets, param="ctl_socket"):
    """The given unixctl socket paths, de-duplicated, each checked to be absolute and, when it
    exists, a socket. A path that does not exist is a member that will not answer (a stopped
    ovsdb-server removes its socket): accepted while more than half of the paths exist, as the
    walk goes on with a majority; refused when it leaves no majority (a wrong path, most likely)."""
    if isinstance(ctl_sockets, str):
        ctl_sockets = [ctl_sockets]
    paths = []
    for path in ctl_sockets or []:
        path = str(path).strip()
        if path and path not in paths:
            paths.append(path)
    if not paths:
        raise ElectionTimerError("%s: give the unixctl socket path of at least one cluster member"
                                 " (ovsdb-server --unixctl=PATH; one path or a list)" % param)
    missing = []
    for path in paths:
        if not os.path.isabs(path):
            raise ElectionTimerError("%s: %r is not an absolute path; give the full path of the"
                                     " ovsdb-server unixctl socket (e.g. /var/run/ovn/ovnnb_db.ctl)"
                                     % (param, path))
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            missing.append("%s does not exist or cannot be read (%s)" % (path, exc.strerror))
            continue
        if not stat.S_ISSOCK(mode):
            raise ElectionTimerError("%s: %s is not a socket; give the --unixctl socket of a"
                                     " running ovsdb-server" % (param, path))
    if missing and not is_majority(len(paths) - len(missing), len(paths)):
        raise ElectionTimerError("%s: %s; give the --unixctl socket of a running ovsdb-server%s"
                                 % (param, "; ".join(missing),
                                    " (more than half of the %d given must exist)" % len(paths)
                                    if len(paths) > 1 else ""))
    return paths


def parse_target(value, param="election_timer"):
    return tunables.parse_interval(value, TUNABLE, param)


# --------------------------------------------------------------------------- the walk

class ElectionTimerChange(object):
    """Walk one cluster to ``target_ms`` through the given members' unixctl sockets.

    ``call`` is the unixctl function (``unixctl(path, command, args, timeout)``);
    ``warn`` receives sentences the operator should see.  Nothing is written
    before :meth:`run` has read the members - a majority of them must answer -
    and found the leader.  ``grace_seconds``: how long members that answer but
    lag behind a value committed on a majority are waited for.
    """

    def __init__(self, ctl_sockets, database, target_ms, timeout, call_timeout=5.0,
                 poll_interval=0.2, call=unixctl, warn=None, grace_seconds=LAGGING_GRACE_SECONDS):
        self.ctl_sockets = list(ctl_sockets)
        self.database = database
        self.target_ms = int(target_ms)
        self.deadline = Deadline(timeout, "changing the %s election timer" % database)
        self.call_timeout = float(call_timeout)
        self.poll_interval = float(poll_interval)
        self.grace_seconds = float(grace_seconds)
        self._restart_polls()
        self.call = call
        self.warn = warn or (lambda text: None)
        self.lost = []  # members whose daemon went away during the run: never asked again
        self.unanswered = {}  # ctl_socket -> why its last read got no answer (the lost ones too)
        self.member_sids = set()
        self.statuses = {}  # ctl_socket -> the last status it answered (what members() reports)
        self.current = {}  # ctl_socket -> the latest read, None when it did not answer
        self.steps = []
        self.last_state = "no member read yet"
        self._grace = None  # (committed ms, the deadline's remaining seconds when the grace ends)
        self._gave_up = set()  # members whose grace ran out and that have not shown a committed value since
        self._short_since = None  # the deadline's remaining seconds when a committed value last lacked a majority

    # -- reading
    def _timeout(self):
        remaining = self.deadline.remaining()
        if remaining <= 0.05:
            raise self._deadline_error()
        return min(self.call_timeout, remaining)

    def _status(self, path):
        text = self.call(path, "cluster/status", [self.database], self._timeout())
        return parse_cluster_status(text)

    def _answered(self, path, status):
        self.unanswered.pop(path, None)
        self.statuses[path] = status
        if status.get("server_id_short"):
            self.member_sids.add(status["server_id_short"])

    def _answering(self):
        return [path for path in self.ctl_sockets if path not in self.unanswered]

    def read_all(self):
        """Read every given member before anything changes. Those that answer must be a majority
        of the given sockets and all of one cluster; a member that does not answer (stopped, hung,
        not running) is recorded with the reason and warned about, not waited for."""
        statuses = {}
        for path in self.ctl_sockets:
            try:
                statuses[path] = self._status(path)
            except UnixctlError as exc:
                if exc.kind == "refused" and "unknown cluster" in (exc.server_error or ""):
                    raise ElectionTimerError(
                        "ctl_socket: %s does not serve a clustered %s database (the server says"
                        " 'unknown cluster'); give the sockets of the %s cluster members"
                        % (path, self.database, self.database))
                if exc.kind not in NO_ANSWER_KINDS:
                    raise ElectionTimerError(
                        "ctl_socket: %s answered cluster/status %s with an error, so nothing was changed: %s"
                        % (path, self.database, exc))
                statuses[path] = None
                self.unanswered[path] = str(exc)
        answered = dict((path, status) for path, status in statuses.items() if status is not None)
        if not is_majority(len(answered), len(self.ctl_sockets)):
            raise ElectionTimerError(
                "ctl_socket: only %d of the %d given members answered cluster/status %s and a majority"
                " is needed, so nothing was changed: %s"
                % (len(answered), len(self.ctl_sockets), self.database,
                   "; ".join("%s did not answer: %s" % (path, self.unanswered[path])
                             for path in self.ctl_sockets if path in self.unanswered)))
        cluster_ids = dict((path, status.get("cluster_id")) for path, status in answered.items())
        if len(set(cluster_ids.values())) > 1:
            raise ElectionTimerError(
                "ctl_socket: the given members belong to different clusters (%s); give the"
                " members of one cluster" % ", ".join("%s: %s" % item for item in sorted(cluster_ids.items())))
        for path, status in answered.items():
            self._answered(path, status)
        for path in self.ctl_sockets:
            if path in self.unanswered:
                self.warn("ctl_socket: %s did not answer cluster/status %s (%s); going on with the %d of %d"
                          " members that answered (a majority), without waiting for it"
                          % (path, self.database, self.unanswered[path], len(answered), len(self.ctl_sockets)))
        self.current = statuses
        return statuses

    def poll(self, everyone=False):
        """Read the members again: those that answered their last read and, with ``everyone``, also
        those that did not (asked when the others show no leader or are too few for a majority).

        A member whose daemon went away is dropped (with a warning); one that does not answer in
        time is warned about once and counts as not there until it answers again. Returns
        ctl_socket -> status (None: no answer, or not asked) for every member not dropped.
        """
        statuses = {}
        for path in self.ctl_sockets:
            if path in self.lost:
                continue
            if path in self.unanswered and not everyone:
                statuses[path] = None
                continue
            try:
                status = self._status(path)
            except UnixctlError as exc:
                if exc.kind not in NO_ANSWER_KINDS:
                    raise ElectionTimerError("%s: cluster/status %s failed: %s"
                                             % (path, self.database, exc))
                statuses[path] = None
                silent_before = path in self.unanswered
                self.unanswered[path] = str(exc)
                if silent_before:
                    continue
                if exc.kind in ("missing", "unreachable"):
                    self.lost.append(path)
                    del statuses[path]
                    self.warn("%s: the server behind this ctl_socket went away during the change"
                              " (%s); continuing with the other members" % (path, exc))
                else:
                    self.warn("%s: did not answer cluster/status %s (%s); continuing with the members"
                              " that answer, without waiting for it" % (path, self.database, exc))
                continue
            statuses[path] = status
            self._answered(path, status)
        if len(self.lost) == len(self.ctl_sockets):
            raise ElectionTimerError(
                "every given ctl_socket member went away (%s)%s"
                % (", ".join(self.lost), self._progress()))
        self.current = statuses
        return statuses

    def _poll_needed(self):
        """The next read: the members that answer; the others too when those are no majority, and
        once a grace while a committed value lacks a majority (a stopped member costs a whole call
        timeout, so it is not asked on every read)."""
        everyone = not is_majority(len(self._answering()), len(self.ctl_sockets))
        if self._short_since is not None and self._short_since - self.deadline.remaining() >= self.grace_seconds:
            everyone = True
            self._short_since = None  # counted again from the end of this read
        return self.poll(everyone=everyone)

    def leader(self, statuses):
        """``(path, status)`` of the leader, None while there is none among the members,
        or an error when the members name a leader that is not among them."""
        found = find_leader(statuses)
        if found is not None:
            return found
        elsewhere = leader_elsewhere(statuses, self.member_sids)
        never_read = [path for path in self.ctl_sockets if path not in self.statuses]
        if elsewhere is not None and never_read:
            # The leader they name may be a given member that has not answered yet (its server id
            # is unknown): wait for it or for the next leader instead of refusing.
            self.last_state = ("the members that answered name %s (term %s) as leader; it may be %s,"
                               " which did not answer" % (describe_server(elsewhere), elsewhere["term"],
                                                          ", ".join(never_read)))
            return None
        if elsewhere is not None:
            raise ElectionTimerError(
                "none of the given ctl_socket members (%s) is the leader of the %s cluster:"
                " %s leads (term %s); add the unixctl socket of that server to ctl_socket%s"
                % (", ".join(self.ctl_sockets), self.database, describe_server(elsewhere),
                   elsewhere["term"], self._progress()))
        roles = ", ".join("%s: %s" % (path, status.get("role") if status else "no answer")
                          for path, status in sorted(statuses.items()))
        self.last_state = "no leader among the members (%s)" % roles
        return None

    # -- reporting
    def _describe_leader(self, path, status):
        return {"ctl_socket": path, "server_id": status.get("server_id"),
                "address": status.get("address"), "term": status.get("term")}

    def _progress(self):
        if not self.steps:
            return "; no step was taken"
        return "; steps taken: " + ", ".join(
            "%d ms via %s (%s)" % (step["election_timer"], step["leader"]["ctl_socket"],
                                   "committed" if step["committed"] else "not committed")
            for step in self.steps)

    def _deadline_error(self):
        return ElectionTimerError(
            "the %s election timer did not reach %d ms within %.0f s (timeout); last seen: %s%s"
            % (self.database, self.target_ms, self.deadline.seconds, self.last_state,
               self._progress()))

    def _restart_polls(self):
        """The next read comes FIRST_POLL after now (at most ``poll_interval``)."""
        self._next_pause = min(FIRST_POLL, self.poll_interval)

    def _pause(self, limit_seconds=None):
        """Wait before the next read: FIRST_POLL after a step was taken (a RAFT commit takes
        milliseconds), doubling while nothing moves, at most ``poll_interval`` (and at most
        ``limit_seconds``: the end of a grace is read at once)."""
        pause = min(self.poll_interval, self._next_pause)
        self._next_pause = pause * 2
        if limit_seconds is not None:
            pause = min(pause, limit_seconds)
        if self.deadline.remaining() <= pause:
            raise self._deadline_error()
        sleep_until(self.deadline, pause)

    def members(self):
        out = []
        for path in self.ctl_sockets:
            status = self.statuses.get(path) or {}
            out.append({"ctl_socket": path, "server_id": status.get("server_id"),
                        "address": status.get("address"), "role": status.get("role"),
                        "term": status.get("term"), "election_timer": status.get("election_timer"),
                        "reachable": path not in self.unanswered})
        return out

    def unconfirmed(self, statuses, value_ms):
        """The given members whose latest read does not confirm ``value_ms``: ``ctl_socket`` and
        ``reason`` ('did not answer: WHY' or 'shows N ms')."""
        out = []
        for path in self.ctl_sockets:
            status = statuses.get(path)
            if status is None:
                reason = "did not answer: %s" % self.unanswered.get(path, "not read")
            elif status.get("election_timer") != value_ms:
                reason = "shows %s ms" % status.get("election_timer")
            else:
                continue
            out.append({"ctl_socket": path, "reason": reason})
        return out

    @staticmethod
    def describe_unconfirmed(unconfirmed):
        return ", ".join("%s (%s)" % (item["ctl_socket"], item["reason"]) for item in unconfirmed)

    # -- the walk
    def wait_for_leader(self, statuses):
        while True:
            found = self.leader(statuses)
            if found is not None:
                return found
            self._pause()
            # Every member is asked: the new leader may be one that did not answer before.
            statuses = self.poll(everyone=True)

    def _mark_committed(self, committed_ms):
        for step in reversed(self.steps):
            if step["election_timer"] == committed_ms:
                step["committed"] = True
                return

    def _grace_left(self):
        """Seconds until the running grace ends, or None."""
        if self._grace is None:
            return None
        return max(0.0, self.deadline.remaining() - self._grace[1])

    def _waiting_for(self, leader_path, committed_ms, statuses):
        """What still holds a value the leader has committed (a sentence), or None when it is
        confirmed: a majority of the given members (leader included) shows it, and the members
        that answer but lag have shown it too or had their grace."""
        shown = [path for path in self.ctl_sockets
                 if (statuses.get(path) or {}).get("election_timer") == committed_ms]
        self._gave_up.difference_update(shown)
        if not is_majority(len(shown), len(self.ctl_sockets)):
            self._grace = None
            if self._short_since is None:
                self._short_since = self.deadline.remaining()
            return ("leader %s has %d ms committed; shown by %d of the %d given members, and a majority"
                    " is needed; not yet by %s"
                    % (leader_path, committed_ms, len(shown), len(self.ctl_sockets),
                       self.describe_unconfirmed(self.unconfirmed(statuses, committed_ms))))
        self._short_since = None
        lagging = [path for path in self.ctl_sockets if statuses.get(path) is not None
                   and path not in shown and path not in self._gave_up]
        if not lagging:
            self._grace = None
            return None
        if self._grace is None or self._grace[0] != committed_ms:
            self._grace = (committed_ms, max(self.deadline.remaining() - self.grace_seconds, GRACE_MARGIN_SECONDS))
        if self.deadline.remaining() <= self._grace[1]:
            # Not waited for any longer: they take the value from the leader's log when they catch up.
            self._gave_up.update(lagging)
            self._grace = None
            return None
        return ("leader %s and a majority show %d ms committed; waiting %.1f s more for %s"
                % (leader_path, committed_ms, self._grace_left(), self.describe_unconfirmed(
                    [item for item in self.unconfirmed(statuses, committed_ms) if item["ctl_socket"] in lagging])))

    def _set(self, path, status, value_ms):
        """Ask the leader for one step; True when a step was (perhaps) taken."""
        step = {"election_timer": value_ms, "previous": status["election_timer"],
                "leader": self._describe_leader(path, status), "committed": False}
        try:
            reply = self.call(path, "cluster/change-election-timer",
                              [self.database, value_ms], self._timeout())
        except UnixctlError as exc:
            text = exc.server_error or ""
            if exc.kind == "refused" and (ERROR_PENDING in text or ERROR_NOT_LEADER in text
                                          or ERROR_INCREASE in text):
                # Someone else's change, or the leader moved, or our read went stale:
                # read again and decide again.
                self.last_state = "%s refused %d ms: %s" % (path, value_ms, text)
                return False
            if exc.kind == "timeout":
                # It may or may not have been taken; the next read tells.
                step["reply"] = "no answer: %s" % exc
                self.steps.append(step)
                return True
            if exc.kind in ("missing", "unreachable"):
                return False  # the next poll drops it and looks for the new leader
            raise ElectionTimerError("%s: setting the %s election timer to %d ms failed: %s%s"
                                     % (path, self.database, value_ms, exc, self._progress()))
        reply = (reply or "").strip()
        if REPLY_CURRENT in reply:
            return False
        step["reply"] = reply
        self.steps.append(step)
        self._restart_polls()
        return True

    def converge(self):
        """Set steps until the leader has the target committed, with nothing pending, and a majority
        of the given members shows it (lagging members after their grace, and silent ones, are not
        waited for); returns the leader ``(path, status)``."""
        while True:
            path, status = self.wait_for_leader(self.current)
            statuses = self.current
            committed = status["election_timer"]
            pending = status.get("election_timer_pending")
            self._mark_committed(committed)
            if pending is not None:
                self.last_state = ("a change from %d to %d ms is pending (not yet committed) on"
                                   " leader %s" % (committed, pending, path))
            else:
                waiting = self._waiting_for(path, committed, statuses)
                if waiting:
                    self.last_state = waiting
                elif committed == self.target_ms:
                    return path, status
                else:
                    # A step just taken is read back at once; anything else waits a poll interval.
                    if not self._set(path, status, plan_steps(committed, self.target_ms)[0]):
                        self._pause()
                    self._poll_needed()
                    continue
            self._pause(self._grace_left())
            self._poll_needed()

    def run(self, check_mode=False):
        """Read, plan and (unless ``check_mode``) walk; returns the module result."""
        statuses = self.read_all()
        path, status = self.wait_for_leader(statuses)
        before = status["election_timer"]
        pending_before = status.get("election_timer_pending")
        result = {"election_timer_before": before,
                  "election_timer_pending_before": pending_before}
        if check_mode:
            self.steps = [{"election_timer": value, "leader": self._describe_leader(path, status),
                           "committed": False}
                          for value in plan_from_status(status, self.target_ms)]
            previous = pending_before or before
            for step in self.steps:
                step["previous"] = previous
                previous = step["election_timer"]
            after = self.target_ms
            # What the leader has committed now: the members that do not show it would not be waited for.
            confirm_ms = before
        elif pending_before is None and before == self.target_ms:
            # Nothing to change: the leader has the target committed. Members that lag or did not
            # answer are reported, not waited for - a step that changes nothing needs only the leader.
            after = confirm_ms = before
        else:
            path, status = self.converge()
            after = confirm_ms = status["election_timer"]
        unconfirmed = self.unconfirmed(self.current, confirm_ms)
        if unconfirmed:
            if check_mode:
                self.warn("%s: leader %s has %d ms committed; not confirmed on %s; a run would not wait for"
                          " them" % (self.database, path, confirm_ms, self.describe_unconfirmed(unconfirmed)))
            else:
                self.warn("%s: the election timer is %d ms on leader %s and a majority of the given members;"
                          " not confirmed on %s; they take it from the leader's log when they catch up"
                          % (self.database, confirm_ms, path, self.describe_unconfirmed(unconfirmed)))
        result.update({
            "changed": bool(self.steps),
            "database": self.database,
            "election_timer_after": after,
            "steps": self.steps,
            "leader": self._describe_leader(path, status),
            "members": self.members(),
            "unconfirmed": unconfirmed,
        })
        return result
