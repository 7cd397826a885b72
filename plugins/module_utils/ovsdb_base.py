# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every OVSDB step of kubedc.ovn_tuning is built on; nothing here opens a connection.

The errors (:class:`OvsdbError` and its kinds: every failure of the OVSDB code is one, and
its message names what was tried and why it failed), time (:class:`Deadline`, which bounds
every wait of one operation; :class:`Backoff`, decorrelated jitter between rounds of
connection attempts and the spread of a reconnection; :func:`sleep_until`) and the remote
syntax (:func:`parse_remotes`).  Plain Python: the ``ovs`` package is used by ``ovsdb_rpc``
(one JSON-RPC connection, unixctl) and ``ovsdb_client`` (the client) only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re
import time


# --------------------------------------------------------------------------- errors

class OvsdbError(Exception):
    """Base of every error this client raises; its text is meant for operators."""


class OvsdbConfigError(OvsdbError):
    """Bad connection options (remote syntax, TLS files...): nothing was contacted."""


class OvsdbConnectionError(OvsdbError):
    """No usable server could be reached before the deadline."""


class OvsdbNotReady(OvsdbConnectionError):
    """A cluster member answered but cannot serve now: not the leader, or not connected to its cluster."""


class OvsdbTimeoutError(OvsdbConnectionError):
    """A step did not finish before its deadline."""


class OvsdbTransactionError(OvsdbError):
    """The server refused a transaction, or it kept conflicting."""


class OvsdbRequestError(OvsdbError):
    """The server answered a JSON-RPC request with an error; ``error`` is its text."""

    def __init__(self, message, error=None):
        super(OvsdbRequestError, self).__init__(message)
        self.error = error


class UnixctlError(OvsdbError):
    """A unixctl command failed or its socket could not be used.

    ``kind`` says how, for callers that treat them differently: ``missing`` (no
    socket file), ``unreachable`` (nothing answers the socket: the daemon is
    gone), ``timeout`` (no answer in time: a stopped or overloaded daemon) or
    ``refused`` (the daemon answered with an error, kept in ``server_error``).
    """

    def __init__(self, message, kind="refused", server_error=None):
        super(UnixctlError, self).__init__(message)
        self.kind = kind
        self.server_error = server_error


# --------------------------------------------------------------------------- time

class Deadline(object):
    """A point in monotonic time that every wait of one operation is bounded by."""

    def __init__(self, seconds, what="operation"):
        self.seconds = float(seconds)
        self.what = what
        self.expires_at = time.monotonic() + self.seconds

    def remaining(self):
        return max(0.0, self.expires_at - time.monotonic())

    def remaining_ms(self):
        return int(self.remaining() * 1000)

    def expired(self):
        return time.monotonic() >= self.expires_at

    def check(self, detail=""):
        if self.expired():
            raise OvsdbTimeoutError("%s did not finish within %.1f s%s"
                                    % (self.what, self.seconds, ": " + detail if detail else ""))


class Backoff(object):
    """Jittered backoff that spreads clients which failed together, and brings them back soon.

    The schedule of one (re)connection (docs/performance.md, benchmarks 3 and 5):

    - the first attempt: with other members listed, at once, to those others first (failover: the
      server this client talked to is gone, another can serve); alone, after :meth:`reconnect_pause`,
      drawn from ``[0, spread]`` with ``spread = min(maximum, RECONNECT_SPREAD * initial)`` (3 s with
      the 1 s default) - every client of a server that went away lost it in the same instant;
    - between rounds in which a member answered "not the leader" or "not connected to its cluster"
      (an election under way): :meth:`election_pause`, ``[0.2, 0.5] * initial`` - the new leader is
      there within an election timer, and the members that answer are alive;
    - between other rounds: :meth:`pause`, drawn from ``[cap * 2/3, cap]`` with ``cap = min(maximum,
      RETRY_CAP * initial)`` (2-3 s by default). It does not grow with the outage: a client is never
      more than ``cap`` away from its next try after the server is back, and a refused connect costs
      the server nothing. The jitter keeps the clients' tries spread, and a pause of at least two
      thirds of the cap keeps the tries of 100 clients at about 4 in any 100 ms once they all retry.
    """

    RECONNECT_SPREAD = 3.0
    RETRY_CAP = 3.0
    RETRY_LOW = 2.0 / 3.0
    ELECTION_PAUSE = (0.2, 0.5)

    def __init__(self, initial=1.0, maximum=30.0, rng=None):
        if initial <= 0 or maximum < initial:
            raise OvsdbConfigError(
                "backoff: need 0 < backoff_initial <= backoff_max (got initial=%r, max=%r)" % (initial, maximum))
        self.initial = float(initial)
        self.maximum = float(maximum)
        self.rng = rng or random.Random()

    @property
    def spread(self):
        return min(self.maximum, self.RECONNECT_SPREAD * self.initial)

    @property
    def cap(self):
        return min(self.maximum, self.RETRY_CAP * self.initial)

    def pause(self):
        """The pause before the next round of attempts."""
        return self.rng.uniform(max(self.initial, self.RETRY_LOW * self.cap) if self.cap > self.initial
                                else self.initial, self.cap)

    def reconnect_pause(self):
        return self.rng.uniform(0.0, self.spread)

    def election_pause(self):
        low, high = self.ELECTION_PAUSE
        return self.rng.uniform(low * self.initial, high * self.initial)


def sleep_until(deadline, seconds):
    """Sleep ``seconds`` but never past ``deadline``; returns False if the deadline cut it."""
    pause = min(seconds, deadline.remaining())
    if pause > 0:
        time.sleep(pause)
    return pause >= seconds


# --------------------------------------------------------------------------- remotes

_REMOTE_RE = re.compile(
    r"^(?P<proto>tcp|ssl):(?P<host>\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[A-Za-z0-9.-]+)"
    r":(?P<port>[0-9]{1,5})$")


def parse_remotes(text, param="remote"):
    """Split an OVN remote string into a list of validated remotes.

    Accepts ``tcp:IP:PORT``, ``ssl:IP:PORT`` and ``unix:PATH``, comma separated
    for the members of a cluster (as in OVN_NB_DB / OVN_SB_DB).
    """
    if not text or not str(text).strip():
        raise OvsdbConfigError("%s: no remote given; expected tcp:IP:PORT, ssl:IP:PORT or unix:PATH,"
                               " comma separated for a cluster" % param)
    remotes = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if part.startswith("unix:"):
            if len(part) == len("unix:"):
                raise OvsdbConfigError("%s: %r has no socket path" % (param, part))
            remotes.append(part)
            continue
        match = _REMOTE_RE.match(part)
        if not match:
            raise OvsdbConfigError(
                "%s: cannot read %r; expected tcp:IP:PORT, ssl:IP:PORT or unix:PATH" % (param, part))
        port = int(match.group("port"))
        if not 0 < port < 65536:
            raise OvsdbConfigError("%s: port %d in %r is out of range 1-65535" % (param, port, part))
        remotes.append(part)
    if not remotes:
        raise OvsdbConfigError("%s: no remote given in %r" % (param, text))
    return remotes
