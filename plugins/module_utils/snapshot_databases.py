# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot parts of the central databases: ``nb`` and ``sb`` (listener rows, probe options,
the RAFT election timer) and ``local_config`` (the listener rows of each member's Local_Config
database)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import (
    connection_rows, documents, election_timer, global_options, tunables)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Deadline, OvsdbError, parse_remotes, sleep_until)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import validate_connection_params
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_part import (
    SCHEMA_VERSION, Part, SnapshotError, check_rows, check_string_map, check_type, fail, monitored_columns, plan_connections,
    plan_recorded_rows, read_rows, rows_by_target, single_remote, transact)

LOCAL_CONFIG = "Local_Config"


def option_keys(database):
    """The probe keys set in ``database``'s global options map (from the tunables table): its own,
    plus those ovn-northd copies from it into the other database (NB_Global's sbctl_probe_interval)."""
    return sorted(tunables.option_keys_set_in(global_options.global_table(database)))


def is_northd_copy(database, options):
    """True when ``database``'s options map is ovn-northd's copy of another (it would undo a write)."""
    try:
        global_options.check_not_a_copy(database, options)
    except OvsdbError:
        return True
    return False


class DatabasePart(Part):
    """``nb`` or ``sb``: a clustered database's listener rows, probe options and, with the
    members' control sockets (or a timer the caller read), its election timer."""

    def __init__(self, key, database):
        self.key = key
        self.database = database

    # -- the descriptor
    def check_descriptor(self, deployment, result, param):
        value = deployment.get(self.key)
        if value is None:
            return
        param = "%s.%s" % (param, self.key)
        remote = value.get("remote") or ""
        if not remote.strip():
            fail(param + ".remote", "required: the database's remotes as OVN writes them"
                 " (tcp:IP:PORT,tcp:IP:PORT,... or unix:PATH)")
        parse_remotes(remote, param + ".remote")
        paths = []
        for index, path in enumerate(value.get("ctl_sockets") or []):
            if not os.path.isabs(path):
                fail("%s.ctl_sockets[%d]" % (param, index),
                     "expected the absolute path of an ovsdb-server unixctl socket, got %r" % (path,))
            if path not in paths:
                paths.append(path)
        result[self.key] = {"remote": remote.strip(), "ctl_sockets": paths}

    def shape(self, descriptor, given_timers):
        part = descriptor.get(self.key)
        if not part:
            return []
        if part.get("ctl_sockets") or self.key in given_timers:
            return [self.key, self.key + ".election_timer"]
        return [self.key]

    def sources(self, descriptor):
        part = descriptor.get(self.key)
        if part:
            return {"remote": part["remote"], "ctl_sockets": list(part["ctl_sockets"])}
        return None

    # -- the document
    def document_shape(self, value):
        return [self.key, self.key + ".election_timer"] if "election_timer" in value else [self.key]

    def check_document(self, value, where):
        check_type(value, dict, where, "a dictionary")
        check_rows(value.get("connections"), where + ".connections")
        options = value.get("options")
        check_string_map(options, where + ".options", allow_null=True)
        if sorted(options) != option_keys(self.database):
            raise SnapshotError("%s.options: records keys %s; schema_version %d records exactly %s"
                                % (where, ", ".join(sorted(options)) or "none", SCHEMA_VERSION,
                                   ", ".join(option_keys(self.database))))
        if "election_timer" in value:
            check_type(value["election_timer"], int, where + ".election_timer", "an integer (ms)")

    def flatten(self, value):
        flat = [("%s.connections[%s]" % (self.key, target), row)
                for target, row in rows_by_target(value["connections"]).items()]
        flat.extend(("%s.options.%s" % (self.key, option), item) for option, item in value["options"].items())
        if "election_timer" in value:
            flat.append(("%s.election_timer" % self.key, value["election_timer"]))
        return flat

    def plan(self, live, want, copied):
        """The options of a database in ``copied`` (``sb`` while ovn-northd copies NB_Global.options
        into SB_Global.options) are not planned: restoring the other database's restores them."""
        have = live[self.key]
        change = {}
        rows = plan_recorded_rows(have["connections"], want["connections"])
        if rows:
            change["connections"] = rows
        options = global_options.plan(dict((k, v) for k, v in have["options"].items() if v is not None),
                                      want["options"])
        if options["changed"] and self.key not in copied:
            change["options"] = {"set": options["set"], "remove": options["remove"]}
        if "election_timer" in want and have.get("election_timer") != want["election_timer"]:
            change["election_timer"] = {
                "before": have.get("election_timer"), "after": want["election_timer"],
                "steps": election_timer.plan_steps(have["election_timer"], want["election_timer"])
                if have.get("election_timer") else [want["election_timer"]]}
        return {self.key: change} if change else {}

    # -- the live deployment
    def client(self, session):
        table = connection_rows.global_table(self.database)
        tables = {table: ["connections", global_options.OPTIONS_COLUMN],
                  connection_rows.CONNECTION_TABLE: list(connection_rows.CONNECTION_COLUMNS)}
        return session.client(self.key, session.descriptor[self.key]["remote"], self.database, tables)

    def validate_params(self, session):
        part = session.descriptor.get(self.key)
        if part:
            validate_connection_params(session.params_for(part["remote"]), self.database)
            if part["ctl_sockets"]:
                election_timer.validate_ctl_sockets(part["ctl_sockets"], "deployment.%s.ctl_sockets" % self.key)

    def read(self, session, live):
        if not session.descriptor.get(self.key):
            return
        client = self.client(session)
        client.refresh()
        session.sources[self.key]["server"] = client.remote
        _row, options = global_options.read_options(client, self.database)
        if is_northd_copy(self.database, options):
            session.copied.add(self.key)
            session.sources[self.key]["options_copied_by_northd"] = True
        part = {"connections": read_rows(client, self.database),
                "options": dict((k, options.get(k)) for k in option_keys(self.database))}
        sockets = session.descriptor[self.key]["ctl_sockets"]
        if sockets:
            part["election_timer"] = self.read_election_timer(session, sockets)
        elif self.key in session.given_timers:
            part["election_timer"] = session.given_timers[self.key]
        live[self.key] = part

    def _timer_walk(self, session, sockets, target_ms):
        return election_timer.ElectionTimerChange(sockets, self.database, target_ms, session.params["timeout"],
                                                  warn=session.warn)

    def read_election_timer(self, session, sockets):
        walk = self._timer_walk(session, sockets, 0)
        try:
            statuses = walk.read_all()
            path, status = walk.wait_for_leader(statuses)
        except OvsdbError as exc:
            raise SnapshotError("deployment.%s.ctl_sockets: %s" % (self.key, exc))
        if status.get("election_timer_pending") is not None:
            session.warn("%s: an election timer change from %d to %d ms was pending on leader %s; the"
                         " committed %d ms is recorded"
                         % (self.database, status["election_timer"], status["election_timer_pending"], path,
                            status["election_timer"]))
        return status["election_timer"]

    def wait_for_copy(self, session, want):
        """After a restore, wait (up to ``timeout``) until ovn-northd has copied the restored
        NB_Global.options into this database's options."""
        deadline = Deadline(session.params["timeout"], "ovn-northd copying the options into %s" % self.database)
        while True:
            client = self.client(session)
            client.refresh()
            _row, options = global_options.read_options(client, self.database)
            current = dict((k, options.get(k)) for k in option_keys(self.database))
            if current == want["options"]:
                return
            if deadline.expired():
                raise SnapshotError(
                    "%s.options: ovn-northd did not copy the restored NB_Global.options into %s.options"
                    " within %.0f s (still %s, snapshot %s); is ovn-northd running and active?"
                    % (self.key, global_options.global_table(self.database), deadline.seconds,
                       documents.canonical_json(current), documents.canonical_json(want["options"])))
            sleep_until(deadline, 0.1)

    def restore_rows(self, session, want, parts):
        """Connection rows and probe options of the database, in one transaction."""
        if set(parts.get(self.key, ())) - set(["election_timer"]):
            session.restore_item(self.key, lambda: self._write_rows(session, want))

    def _write_rows(self, session, want):
        database = self.database
        client = self.client(session)
        table = connection_rows.global_table(database)
        columns = monitored_columns(client)
        missing = sorted(set(c for row in want["connections"] for c in row) - set(columns))
        if missing:
            raise SnapshotError("%s: the snapshot records Connection.%s, which the %s schema served at %s lacks"
                                % (self.key, ", ".join(missing), database, client.remote))
        copied = self.key in session.copied

        def build(txn, ovsdb):
            global_row, rows = connection_rows.read_connections(ovsdb, database)
            _row, options = global_options.read_options(ovsdb, database)
            row_changes = plan_connections(rows, want["connections"], columns)
            option_changes = global_options.plan(options, {} if copied else want["options"])
            if global_row is None and (row_changes["changed"] or option_changes["changed"]):
                raise SnapshotError("%s: %s has no row (the database was never initialised); nothing of it"
                                    " was restored" % (self.key, table))
            wrote_rows = connection_rows.apply(txn, ovsdb, row_changes, database)
            wrote_options = global_options.apply(txn, ovsdb, option_changes, database)
            return wrote_rows or wrote_options

        transact(self.key, client, build)

    def restore_timer(self, session, want, parts, check_mode, facts):
        if "election_timer" not in parts.get(self.key, {}):
            return
        label = self.key + ".election_timer"
        if self.key in session.given_timers:
            # No socket here: the caller walks it through the leader's host.
            facts[label] = {"left_to_caller": True, "target": want["election_timer"]}
            return

        def walk():
            # The leader and a majority of the members: a stalled follower does not hold the rollback.
            result = self._timer_walk(session, session.descriptor[self.key]["ctl_sockets"],
                                      want["election_timer"]).run(check_mode=check_mode)
            facts[label] = {"steps": result["steps"], "leader": result["leader"],
                            "unconfirmed": result["unconfirmed"]}

        session.restore_item(label, walk)


class LocalConfigPart(Part):
    """``local_config``: the listener rows of each member's Local_Config database (OVN 23.03's
    member listeners), one remote per member."""

    key = "local_config"

    def check_descriptor(self, deployment, result, param):
        local = deployment.get(self.key)
        if local is None:
            return
        where = param + ".local_config"
        remotes = local.get("remotes")
        if not remotes:
            fail(where + ".remotes", "expected a non-empty list, one remote per member's Local_Config"
                 " database (e.g. tcp:127.0.0.1:6645)")
        seen = []
        for index, remote in enumerate(remotes):
            remote = single_remote(remote, "%s.remotes[%d]" % (where, index))
            if remote in seen:
                fail("%s.remotes[%d]" % (where, index), "%s is listed twice" % remote)
            seen.append(remote)
        result[self.key] = {"remotes": seen}

    def shape(self, descriptor, given_timers):
        return ["local_config[%s]" % remote for remote in (descriptor.get(self.key) or {}).get("remotes", [])]

    def sources(self, descriptor):
        if descriptor.get(self.key):
            return list(descriptor[self.key]["remotes"])
        return None

    def document_shape(self, value):
        return ["local_config[%s]" % remote for remote in value]

    def check_document(self, value, where):
        check_type(value, dict, where, "a dictionary of Local_Config remotes")
        for remote, part in value.items():
            here = "%s[%s]" % (where, remote)
            check_type(part, dict, here, "a dictionary")
            check_rows(part.get("connections"), here + ".connections")

    def flatten(self, value):
        return [("local_config[%s].connections[%s]" % (remote, target), row)
                for remote, part in value.items()
                for target, row in rows_by_target(part["connections"]).items()]

    def plan(self, live, want, copied):
        parts = {}
        for remote, part in want.items():
            rows = plan_recorded_rows(live[self.key][remote]["connections"], part["connections"])
            if rows:
                parts["local_config[%s]" % remote] = {"connections": rows}
        return parts

    @staticmethod
    def client(session, remote):
        tables = {connection_rows.global_table(LOCAL_CONFIG): ["connections"],
                  connection_rows.CONNECTION_TABLE: list(connection_rows.CONNECTION_COLUMNS)}
        return session.client("local_config[%s]" % remote, remote, LOCAL_CONFIG, tables, leader_only=False)

    def validate_params(self, session):
        for remote in (session.descriptor.get(self.key) or {}).get("remotes", []):
            validate_connection_params(session.params_for(remote), LOCAL_CONFIG)

    def read(self, session, live):
        if not session.descriptor.get(self.key):
            return
        value = {}
        for remote in session.descriptor[self.key]["remotes"]:
            client = self.client(session, remote)
            client.refresh()
            value[remote] = {"connections": read_rows(client, LOCAL_CONFIG)}
        live[self.key] = value

    def restore_rows(self, session, want, parts):
        """Each member's rows in a transaction of its own: one member that fails leaves the others restored."""
        for remote, part in want.items():
            label = "local_config[%s]" % remote
            if label in parts:
                session.restore_item(label, lambda remote=remote, part=part, label=label:
                                     self._write_rows(session, remote, part, label))

    def _write_rows(self, session, remote, part, label):
        client = self.client(session, remote)
        columns = monitored_columns(client)

        def build(txn, ovsdb):
            global_row, rows = connection_rows.read_connections(ovsdb, LOCAL_CONFIG)
            changes = plan_connections(rows, part["connections"], columns)
            if global_row is None and changes["delete"]:
                raise SnapshotError("%s: Config has no row; nothing was restored" % label)
            return connection_rows.apply(txn, ovsdb, changes, LOCAL_CONFIG)

        transact(label, client, build)
