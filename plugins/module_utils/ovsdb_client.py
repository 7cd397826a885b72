# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one OVSDB client of kubedc.ovn_tuning, built on the ``ovs`` package.

Why it exists: the ``ovs`` library waits forever on a stopped server, retries
in lock-step with no jitter and happily monitors a whole database.  This client
puts a deadline on every step (connect, initial monitor, transaction, read
back, unixctl call), backs off with decorrelated jitter between rounds of
connection attempts and spreads a reconnection (:class:`Backoff`), keeps a
client-side probe on, monitors only the columns a module registers, and
retries a transaction whose verified reads went stale (:meth:`OvsdbClient.converge`
is the modules' one write path).

One :class:`OvsdbClient` holds one connection.  Every failure is an
:class:`OvsdbError` whose message names what was tried and why it failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import random
import re
import time

try:
    import ovs.db.idl
    import ovs.jsonrpc
    import ovs.poller
    import ovs.stream
    import ovs.vlog
    HAS_OVS = True
    OVS_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover - reported by modules
    HAS_OVS = False
    OVS_IMPORT_ERROR = import_error


# --------------------------------------------------------------------------- errors

class OvsdbError(Exception):
    """Base of every error this client raises; its text is meant for operators."""


class OvsdbConfigError(OvsdbError):
    """Bad connection options (remote syntax, TLS files...): nothing was contacted."""


class OvsdbConnectionError(OvsdbError):
    """No usable server could be reached before the deadline."""


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
    """Jittered backoff that spreads clients which failed together.

    - :meth:`pause` is decorrelated jitter: each pause is drawn uniformly from
      ``[initial, multiplier * previous]`` (``previous`` = ``initial`` before the
      first), at most ``maximum``.  Clients that failed at the same moment drift
      further apart with every round instead of staying within one doubling window.
    - :meth:`reconnect_pause` comes before the first attempt of a *re*-connection,
      drawn from ``[0, spread]`` with ``spread = min(maximum, RECONNECT_SPREAD *
      initial)`` (5 s with the 1 s default): every client of a server that went
      away lost it in the same instant, and 100 of them spread over 5 s come back
      about 10 at a time in any 100 ms (docs/performance.md, benchmark 5).
    """

    RECONNECT_SPREAD = 5.0

    def __init__(self, initial=1.0, multiplier=3.0, maximum=30.0, rng=None):
        if initial <= 0 or maximum < initial or multiplier < 1:
            raise OvsdbConfigError(
                "backoff: need 0 < backoff_initial <= backoff_max and a multiplier >= 1 "
                "(got initial=%r, max=%r, multiplier=%r)" % (initial, maximum, multiplier))
        self.initial = float(initial)
        self.multiplier = float(multiplier)
        self.maximum = float(maximum)
        self.rng = rng or random.Random()

    @property
    def spread(self):
        return min(self.maximum, self.RECONNECT_SPREAD * self.initial)

    def pause(self, previous=None):
        """The next pause after ``previous`` (None: the first of a series)."""
        upper = self.multiplier * min(self.maximum, previous or self.initial)
        return min(self.maximum, self.rng.uniform(self.initial, upper))

    def reconnect_pause(self):
        return self.rng.uniform(0.0, self.spread)


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


class TlsFiles(object):
    """Private key, certificate and CA certificate for ``ssl:`` remotes."""

    def __init__(self, private_key=None, certificate=None, ca_cert=None):
        self.private_key = private_key
        self.certificate = certificate
        self.ca_cert = ca_cert

    def any(self):
        return bool(self.private_key or self.certificate or self.ca_cert)

    def check(self):
        """Raise OvsdbConfigError naming the first missing or unreadable file."""
        for option, path in (("ssl_private_key", self.private_key),
                             ("ssl_certificate", self.certificate),
                             ("ssl_ca_cert", self.ca_cert)):
            if not path:
                raise OvsdbConfigError("%s: required for ssl: remotes (give ssl_private_key, "
                                       "ssl_certificate and ssl_ca_cert)" % option)
            if not os.path.isfile(path):
                raise OvsdbConfigError("%s: %s does not exist or is not a file" % (option, path))
            if not os.access(path, os.R_OK):
                raise OvsdbConfigError("%s: %s is not readable" % (option, path))

    def apply(self):
        # The ovs library keeps TLS files process-wide; a module process talks to one
        # deployment, so setting them here is safe.
        ovs.stream.Stream.ssl_set_private_key_file(self.private_key)
        ovs.stream.Stream.ssl_set_certificate_file(self.certificate)
        ovs.stream.Stream.ssl_set_ca_cert_file(self.ca_cert)


def _quiet_ovs_logging():
    # The library logs to stderr by default; Ansible would show it as module noise.
    try:
        ovs.vlog.Vlog.set_levels_from_string("console:off")
    except Exception:  # pylint: disable=broad-except
        pass


# --------------------------------------------------------------------------- JSON-RPC

class RpcChannel(object):
    """One JSON-RPC connection (OVSDB remote or unixctl socket) driven against deadlines."""

    def __init__(self, name, deadline, tls=None):
        self.name = name
        if not HAS_OVS:
            raise OvsdbError("the 'ovs' Python package is required (pip install ovs): %s"
                             % OVS_IMPORT_ERROR)
        if name.startswith("ssl:"):
            if tls is None or not tls.any():
                raise OvsdbConfigError("%s: ssl: remotes need ssl_private_key, ssl_certificate "
                                       "and ssl_ca_cert" % name)
            tls.check()
            tls.apply()
        started = time.monotonic()
        error, stream = ovs.stream.Stream.open_block(
            ovs.stream.Stream.open(name), max(1, deadline.remaining_ms()))
        if error:
            reason = "timed out" if error == errno.ETIMEDOUT else os.strerror(error)
            raise OvsdbConnectionError("%s: cannot connect: %s" % (name, reason))
        self.connect_seconds = time.monotonic() - started
        self.connection = ovs.jsonrpc.Connection(stream)

    def request(self, method, params, deadline):
        """Send one request and wait for its reply until ``deadline``; return the result."""
        request = ovs.jsonrpc.Message.create_request(method, params)
        error = self.connection.send(request)
        if error:
            raise OvsdbConnectionError("%s: send failed: %s" % (self.name, os.strerror(error)))
        while True:
            self.connection.run()
            error, msg = self.connection.recv()
            if error and error != errno.EAGAIN:
                reason = "connection closed" if error == ovs.jsonrpc.EOF else os.strerror(error)
                raise OvsdbConnectionError("%s: %s while waiting for %s" % (self.name, reason, method))
            if msg is not None:
                if msg.type == ovs.jsonrpc.Message.T_REQUEST and msg.method == "echo":
                    self.connection.send(ovs.jsonrpc.Message.create_reply(msg.params, msg.id))
                    continue
                if msg.id != request.id:
                    continue
                if msg.type == ovs.jsonrpc.Message.T_ERROR:
                    raise OvsdbRequestError("%s: %s failed: %s" % (self.name, method, msg.error),
                                            msg.error)
                return msg.result
            if deadline.expired():
                raise OvsdbTimeoutError("%s: no reply to %s within %.1f s"
                                        % (self.name, method, deadline.seconds))
            poller = ovs.poller.Poller()
            self.connection.wait(poller)
            self.connection.recv_wait(poller)
            poller.timer_wait(max(1, min(deadline.remaining_ms(), 1000)))
            poller.block()

    def echo(self, deadline):
        """Round-trip time of an OVSDB echo, in milliseconds."""
        started = time.monotonic()
        self.request("echo", ["kubedc.ovn_tuning"], deadline)
        return (time.monotonic() - started) * 1000.0

    def server_database(self, database, deadline):
        """The ``_Server.Database`` row of ``database`` on this server, or None.

        Without the ``schema`` column: it holds the whole schema as one escaped string, which
        get_schema fetches anyway."""
        result = self.request("transact", ["_Server", {
            "op": "select", "table": "Database", "where": [["name", "==", database]],
            "columns": ["name", "model", "connected", "leader", "cid", "sid", "index"]}],
            deadline)
        if not result or "error" in result[0]:
            raise OvsdbError("%s: cannot read _Server: %s" % (self.name, result))
        rows = result[0].get("rows", [])
        return _server_row_to_dict(rows[0]) if rows else None

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _optional(value):
    # OVSDB encodes an empty optional column as ["set", []].
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return value[1][0] if value[1] else None
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        return value[1]
    return value


def _server_row_to_dict(row):
    data = dict((key, _optional(row.get(key))) for key in
                ("name", "model", "connected", "leader", "cid", "sid", "index"))
    return data


def unixctl(ctl_socket, command, args=(), timeout=10.0):
    """Run a unixctl ``command`` on an ovsdb-server/ovn daemon control socket, with a deadline.

    Returns the command's text output; raises UnixctlError when the daemon
    answers with an error, the socket is missing, or the deadline passes.
    """
    deadline = Deadline(timeout, "unixctl %s on %s" % (command, ctl_socket))
    if not os.path.exists(ctl_socket):
        raise UnixctlError("ctl_socket: %s does not exist (is the server running, and is this its"
                           " --unixctl path?)" % ctl_socket, kind="missing")
    try:
        channel = RpcChannel("unix:" + ctl_socket, deadline)
    except OvsdbError as exc:
        raise UnixctlError("%s: %s" % (command, exc),
                           kind="timeout" if isinstance(exc, OvsdbTimeoutError) else "unreachable")
    try:
        return channel.request(command, [str(a) for a in args], deadline)
    except OvsdbTimeoutError as exc:
        raise UnixctlError(str(exc), kind="timeout")
    except OvsdbRequestError as exc:
        raise UnixctlError("%s %s: %s" % (command, " ".join(str(a) for a in args), exc),
                           kind="refused", server_error=str(exc.error or "").strip())
    except OvsdbError as exc:
        raise UnixctlError("%s %s: %s" % (command, " ".join(str(a) for a in args), exc),
                           kind="unreachable")
    finally:
        channel.close()


# --------------------------------------------------------------------------- the client

class OvsdbClient(object):
    """A deadline-bounded, leader-aware connection to one OVSDB database.

    ``tables`` maps each table to the columns this module reads or writes; only
    those are monitored.  Use as a context manager or call :meth:`close`.
    """

    def __init__(self, remote, database, tables, timeout=30.0, leader_only=True,
                 probe_interval_ms=5000, backoff=None, tls=None, param="remote"):
        if not HAS_OVS:
            raise OvsdbError("the 'ovs' Python package is required on the node that runs this"
                             " module (pip install ovs): %s" % OVS_IMPORT_ERROR)
        self.remotes = parse_remotes(remote, param)
        self.database = database
        self.tables = dict((table, list(columns)) for table, columns in tables.items())
        self.timeout = float(timeout)
        self.leader_only = leader_only
        self.probe_interval_ms = int(probe_interval_ms)
        self.backoff = backoff or Backoff()
        self.tls = tls or TlsFiles()
        if any(r.startswith("ssl:") for r in self.remotes):
            self.tls.check()
        self.idl = None
        self.remote = None  # the remote we are connected to
        self.server_row = None  # its _Server.Database row
        self.attempts = []  # (remote, reason) of every failed attempt, for error messages
        self.connect_count = 0
        _quiet_ovs_logging()

    # -- context manager
    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self.idl is not None:
            self.idl.close()
            self.idl = None

    # -- connecting
    def _describe_failures(self):
        if not self.attempts:
            return "no attempt finished"
        last = {}
        for remote, reason in self.attempts:
            last[remote] = reason
        return "; ".join("%s: %s" % (remote, reason) for remote, reason in last.items())

    def attempt_seconds(self):
        return max(1.0, self.timeout / (len(self.remotes) + 1))

    def connect(self, deadline=None):
        """Connect to a usable server (the leader, for a clustered database when
        ``leader_only``) and load the registered columns, within the deadline."""
        deadline = deadline or Deadline(self.timeout, "connecting to %s" % self.database)
        self.close()
        if self.connect_count:
            # A reconnection: every client that lost the same server lost it at the same moment,
            # so even the first new attempt is spread (Backoff.reconnect_pause).
            sleep_until(deadline, self.backoff.reconnect_pause())
        order = list(self.remotes)
        random.shuffle(order)
        pause = None
        while True:
            for remote in order:
                if deadline.expired():
                    break
                # A stopped member accepts TCP connections and never answers: give each
                # attempt a share of the deadline so the other members still get their turn.
                attempt = Deadline(min(deadline.remaining(), self.attempt_seconds()),
                                   "connecting to %s" % remote)
                try:
                    self._connect_one(remote, attempt)
                    return self
                except OvsdbError as exc:
                    reason = str(exc)
                    if reason.startswith(remote + ": "):
                        reason = reason[len(remote) + 2:]
                    self.attempts.append((remote, reason))
                    self.close()
            if deadline.expired():
                break
            pause = self.backoff.pause(pause)
            sleep_until(deadline, pause)
            if deadline.expired():
                break
        raise OvsdbConnectionError(
            "could not reach a usable %s server within %.1f s (tried %s); last errors: %s"
            % (self.database, deadline.seconds, ", ".join(self.remotes), self._describe_failures()))

    def _connect_one(self, remote, deadline):
        channel = RpcChannel(remote, deadline, self.tls)
        try:
            databases = channel.request("list_dbs", [], deadline)
            if self.database not in databases:
                raise OvsdbError("%s: serves %s, not %s" % (remote, ", ".join(databases), self.database))
            server_row = channel.server_database(self.database, deadline)
            if server_row and server_row.get("model") == "clustered":
                if not server_row.get("connected"):
                    raise OvsdbError("%s: not connected to its cluster" % remote)
                if self.leader_only and not server_row.get("leader"):
                    raise OvsdbError("%s: not the cluster leader" % remote)
            schema_json = channel.request("get_schema", [self.database], deadline)
        except OvsdbError:
            channel.close()
            raise
        helper = ovs.db.idl.SchemaHelper(schema_json=schema_json)
        for table, columns in self.tables.items():
            if table not in schema_json["tables"]:
                channel.close()
                raise OvsdbError("%s: the %s schema has no table %s" % (remote, self.database, table))
            known = schema_json["tables"][table]["columns"]
            present = [c for c in columns if c in known]
            helper.register_columns(table, present)
        idl = ovs.db.idl.Idl(remote, helper, probe_interval=self.probe_interval_ms,
                             leader_only=self.leader_only)
        # Hand the connection we already opened to the IDL: one connection per run, and no
        # reconnection by the library (it would retry without jitter); we reconnect ourselves.
        idl._session.close()  # pylint: disable=protected-access
        session = ovs.jsonrpc.Session.open_unreliably(channel.connection)
        session.rpc = channel.connection
        session.reconnect.set_probe_interval(self.probe_interval_ms)
        idl._session = session  # pylint: disable=protected-access
        self.idl = idl
        self.remote = remote
        self.server_row = server_row
        self._run_until(lambda: idl.state == idl.IDL_S_MONITORING and idl.has_ever_connected(),
                        deadline, "initial monitor of %s on %s" % (self.database, remote))
        self.connect_count += 1

    def is_connected(self):
        # After a disconnect Idl.state can stay MONITORING; the session tells the truth.
        return (self.idl is not None and self.idl._session.is_connected()  # pylint: disable=protected-access
                and self.idl.state == self.idl.IDL_S_MONITORING)

    def _run_until(self, predicate, deadline, what):
        idl = self.idl
        while True:
            idl.run()
            if predicate():
                return
            if not idl._session.is_alive() or not idl._session.is_connected():  # pylint: disable=protected-access
                raise OvsdbConnectionError("%s: connection lost during %s" % (self.remote, what))
            if deadline.expired():
                raise OvsdbTimeoutError("%s: %s did not finish within %.1f s"
                                        % (self.remote, what, deadline.seconds))
            poller = ovs.poller.Poller()
            idl.wait(poller)
            poller.timer_wait(max(1, min(deadline.remaining_ms(), 500)))
            poller.block()

    def wait_until(self, predicate, deadline, what):
        """Process updates until ``predicate()`` holds; OvsdbTimeoutError at ``deadline``,
        OvsdbConnectionError when the connection drops."""
        self._require_connection()
        self._run_until(predicate, deadline, what)

    # -- reading
    def rows(self, table):
        """The current rows of ``table`` (ovs.db.idl.Row objects)."""
        self._require_connection()
        return list(self.idl.tables[table].rows.values())

    def monitored(self):
        """What this client monitors: {table: [columns]} as the IDL registered it."""
        self._require_connection()
        return dict((name, sorted(table.columns.keys())) for name, table in self.idl.tables.items())

    def refresh(self):
        """Process updates already received, so that reads see them."""
        self._require_connection()
        self.idl.run()

    def _require_connection(self):
        if self.idl is None:
            raise OvsdbError("not connected to %s" % self.database)

    # -- writing
    def transact(self, build, comment=None, deadline=None, max_attempts=5):
        """Run ``build(txn, client)`` and commit, retrying on stale reads.

        ``build`` reads the replica, calls ``row.verify(column)`` for what its
        decision depends on and writes; it must return a truthy value when it
        wrote something (False/None means nothing to do).  On TRY_AGAIN (a
        concurrent writer changed a verified column, or the connection was
        lost) the replica is refreshed, ``build`` runs again against the new
        data and the commit is retried, with jittered backoff, at most
        ``max_attempts`` times.  Returns the committed Transaction or None.
        """
        deadline = deadline or Deadline(self.timeout, "transaction on %s" % self.database)
        last_reason = None
        pause = None
        for _attempt in range(max_attempts):
            if not self.is_connected():
                self.connect(deadline)
            txn = ovs.db.idl.Transaction(self.idl)
            try:
                wrote = build(txn, self)
            except Exception:
                txn.abort()
                raise
            if not wrote:
                txn.abort()
                return None
            if comment:
                txn.add_comment(comment)
            seqno_before = self.idl.change_seqno
            status = self._commit(txn, deadline)
            if status == ovs.db.idl.Transaction.SUCCESS:
                self._wait_for_own_update(seqno_before, deadline)
                return txn
            if status == ovs.db.idl.Transaction.UNCHANGED:
                return txn
            if status == ovs.db.idl.Transaction.TRY_AGAIN:
                last_reason = "a verified column changed under us or the connection dropped"
                if deadline.expired():
                    break
                # A conflict is resolved by the next read, not by time: a quarter of a backoff pause.
                pause = self.backoff.pause(pause)
                sleep_until(deadline, pause / 4.0)
                if self.is_connected():
                    self.idl.run()
                continue
            error = txn.get_error() or ovs.db.idl.Transaction.status_to_string(status)
            raise OvsdbTransactionError("%s: transaction on %s failed: %s"
                                        % (self.remote, self.database, error))
        raise OvsdbTransactionError(
            "%s: transaction on %s did not commit after %d attempts: %s"
            % (self.remote, self.database, max_attempts, last_reason or "deadline reached"))

    def converge(self, plan, write, check_mode=False, comment=None):
        """The modules' one write path: plan, and unless nothing is to change or ``check_mode``,
        re-read, re-plan and write inside a verified transaction (:meth:`transact`: a retry
        follows a concurrent change).

        ``plan(client)`` reads the replica and returns the changes (a dict with ``changed``);
        ``write(txn, client, changes)`` puts them into the transaction (verifying what the
        decision rests on) and returns whether it wrote. Returns ``(planned, committed)``:
        ``committed`` is the plan of the attempt that committed, None when nothing was written.
        """
        planned = plan(self)
        if not planned["changed"] or check_mode:
            return planned, None
        committed = {}

        def build(txn, ovsdb):
            committed["changes"] = plan(ovsdb)
            return write(txn, ovsdb, committed["changes"])

        self.transact(build, comment=comment)
        return planned, committed.get("changes")

    def _commit(self, txn, deadline):
        while True:
            status = txn.commit()
            if status != ovs.db.idl.Transaction.INCOMPLETE:
                return status
            if not self.is_connected():
                txn.abort()
                return ovs.db.idl.Transaction.TRY_AGAIN
            if deadline.expired():
                txn.abort()
                raise OvsdbTimeoutError(
                    "%s: no answer to a transaction on %s within %.1f s (it may or may not have"
                    " been applied; read the database before retrying)"
                    % (self.remote, self.database, deadline.seconds))
            self.idl.run()
            poller = ovs.poller.Poller()
            self.idl.wait(poller)
            txn.wait(poller)
            poller.timer_wait(max(1, min(deadline.remaining_ms(), 500)))
            poller.block()

    def _wait_for_own_update(self, seqno, deadline):
        # The server sends the monitor update for our own change around the reply;
        # draining it makes read-back from the replica see what we wrote.
        short = Deadline(min(1.0, max(0.05, deadline.remaining())), "read-back")
        while self.idl.change_seqno == seqno and not short.expired() and self.is_connected():
            self.idl.run()
            if self.idl.change_seqno != seqno:
                break
            poller = ovs.poller.Poller()
            self.idl.wait(poller)
            poller.timer_wait(max(1, min(short.remaining_ms(), 50)))
            poller.block()


def row_to_dict(row, columns):
    """Plain Python values of ``columns`` of an IDL row.

    Optional columns become a value or None, sets a sorted list, maps a dict and
    references their UUID string, so results compare and serialise cleanly.
    """
    data = {"_uuid": str(row.uuid)}
    for column in columns:
        column_type = row._table.columns[column].type  # pylint: disable=protected-access
        value = getattr(row, column)
        if column_type.is_map():
            data[column] = dict((str(k), _plain(v)) for k, v in value.items())
        elif column_type.is_optional():
            data[column] = _plain(value[0]) if value else None
        elif column_type.n_max > 1:
            data[column] = sorted((_plain(v) for v in value), key=str)
        else:
            data[column] = _plain(value)
    return data


def _plain(value):
    if hasattr(value, "uuid"):
        return str(value.uuid)
    if hasattr(value, "hex") and not isinstance(value, (int, float, str)):
        return str(value)
    return value
