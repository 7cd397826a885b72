# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one OVSDB client of kubedc.ovn_tuning, built on the ``ovs`` package.

Why it exists: the ``ovs`` library waits forever on a stopped server, retries
in lock-step with no jitter and happily monitors a whole database.  This client
puts a deadline on every step (connect, initial monitor, transaction, read
back), pauses with jitter between rounds of connection attempts, fails over to
another member at once and spreads a reconnection to one server
(``ovsdb_base.Backoff`` holds the schedule), keeps a client-side probe
on, monitors only the columns a module registers, and retries a transaction
whose verified reads went stale (:meth:`OvsdbClient.converge` is the modules'
one write path).

One :class:`OvsdbClient` holds one connection.  Every failure is an
``ovsdb_base.OvsdbError`` whose message names what was tried and why it failed.
The errors, deadlines, backoff and remote parsing are in ``ovsdb_base``; one
JSON-RPC connection without the IDL (and unixctl) in ``ovsdb_rpc``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

try:
    import ovs.db.idl
    import ovs.jsonrpc
    import ovs.poller
    import ovs.vlog
except ImportError:  # pragma: no cover - ovsdb_rpc.HAS_OVS is False, and OvsdbClient says so
    pass

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Backoff, Deadline, OvsdbConnectionError, OvsdbError, OvsdbNotReady, OvsdbTimeoutError,
    OvsdbTransactionError, parse_remotes, sleep_until)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_rpc import (
    HAS_OVS, OVS_IMPORT_ERROR, RpcChannel, TlsFiles)


def _quiet_ovs_logging():
    # The library logs to stderr by default; Ansible would show it as module noise.
    try:
        ovs.vlog.Vlog.set_levels_from_string("console:off")
    except Exception:  # pylint: disable=broad-except
        pass


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
        lost = self.remote if self.connect_count else None
        self.close()
        order = list(self.remotes)
        random.shuffle(order)
        if lost is not None and len(order) > 1:
            # Failover: the server this client talked to is gone and others are listed - try them at
            # once, the lost one last (Backoff says why the first try needs no spread here).
            order = [remote for remote in order if remote != lost] + [remote for remote in order if remote == lost]
        elif lost is not None:
            # A reconnection to the only server: every client that lost it lost it at the same moment,
            # so even the first new attempt is spread (Backoff.reconnect_pause).
            sleep_until(deadline, self.backoff.reconnect_pause())
        while True:
            electing = False
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
                    electing = electing or isinstance(exc, OvsdbNotReady)
                    reason = str(exc)
                    if reason.startswith(remote + ": "):
                        reason = reason[len(remote) + 2:]
                    self.attempts.append((remote, reason))
                    self.close()
            if deadline.expired():
                break
            if electing:
                # A live member said it is not the leader (yet): an election is under way.
                sleep_until(deadline, self.backoff.election_pause())
            else:
                sleep_until(deadline, self.backoff.pause())
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
                    raise OvsdbNotReady("%s: not connected to its cluster" % remote)
                if self.leader_only and not server_row.get("leader"):
                    raise OvsdbNotReady("%s: not the cluster leader" % remote)
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
                sleep_until(deadline, self.backoff.pause() / 4.0)
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
