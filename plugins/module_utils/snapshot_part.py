# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every part of a snapshot is: the :class:`Part` interface, the snapshot's error, and the
checks and Connection-row helpers several parts share.

A part is one key of the deployment descriptor and of the snapshot's ``tunables`` (``nb``,
``sb``, ``local_config``, ``chassis``, ``kube_ovn``, ``ovs_ovn``). Each knows how its piece of the
descriptor is checked, how its piece of a snapshot is checked and flattened, how a restore of it
is planned, and how it is read from and written to the live deployment through a
``DeploymentSession`` (snapshot.py), which holds the connections. Adding a part is one class
and one entry in ``snapshot.PARTS``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import connection_rows, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError, parse_remotes

# The version of the snapshot document's schema (what a snapshot records, part by part).
SCHEMA_VERSION = 1

# The Connection columns a snapshot records (those the schema has; NB has no read_only/role).
CAPTURED_COLUMNS = ("target",) + tunables.CONNECTION_SETTINGS


class SnapshotError(OvsdbError):
    """A snapshot that cannot be written, read, trusted or restored; the text says why."""


class Part(object):
    """One part of a snapshot. Every method has a default that does nothing, so that a part
    defines only what it has; ``key`` is its descriptor and ``tunables`` key."""

    key = None

    # -- the descriptor (pure)
    def check_descriptor(self, deployment, result, param):
        """Check the part's piece of ``deployment`` and put it, normalised, into ``result``."""

    def shape(self, descriptor, given_timers):
        """Labels of what a snapshot of ``descriptor`` holds of this part."""
        return []

    def sources(self, descriptor):
        """Where the part is read (recorded in the snapshot), or None."""
        return None

    # -- the document (pure)
    def document_shape(self, value):
        """Labels of what ``value`` (the part in a snapshot's ``tunables``) holds."""
        return []

    def check_document(self, value, where):
        """Refuse a malformed ``value``; raises SnapshotError naming the place."""

    def flatten(self, value):
        """``(label, value)`` of every recorded value of the part."""
        return []

    def plan(self, live, want, copied):
        """``{label: change}`` of what a restore from ``want`` changes in ``live``."""
        return {}

    # -- the live deployment, through a DeploymentSession
    def validate_params(self, session):
        """Check the client options for the part before anything is contacted."""

    def read(self, session, live):
        """Put the part's live value into ``live``."""

    def restore_check(self, session, want, parts):
        """Refuse, before anything is written, what the restore must not do."""

    # The writes: each item (a transaction, a chassis, a timer walk, a workload's env) goes through
    # ``session.restore_item(label, work)``, which records it as restored or, with the reason, as
    # not restored - one item's failure does not stop the others.
    def restore_rows(self, session, want, parts):
        """Write the planned rows and maps (not in check mode)."""

    def restore_timer(self, session, want, parts, check_mode, facts):
        """Walk a planned election timer."""

    def restore_env(self, session, want, parts, check_mode, facts):
        """Patch a planned workload env."""


# --------------------------------------------------------------------------- descriptor checks

def fail(param, why):
    raise SnapshotError("%s: %s" % (param, why))


def single_remote(value, param):
    if not (value or "").strip():
        fail(param, "expected one remote (tcp:IP:PORT, ssl:IP:PORT or unix:PATH), got %r" % (value,))
    remotes = parse_remotes(value, param)
    if len(remotes) != 1:
        fail(param, "expected one remote, got %d (%s)" % (len(remotes), value))
    return remotes[0]


def non_empty_strings(part, defaults, where):
    """``{key: part's value or the default}`` for each key of ``defaults``; each must be a
    non-empty string."""
    result = {}
    for key, default in defaults.items():
        value = part.get(key)
        if value is None:
            value = default
        if not value.strip():
            fail("%s.%s" % (where, key), "must be a non-empty string, got %r" % (value,))
        result[key] = value
    return result


# --------------------------------------------------------------------------- document checks

def check_type(value, types, where, expected):
    if not isinstance(types, tuple):
        types = (types,)
    if not isinstance(value, types) or isinstance(value, bool) and bool not in types:
        raise SnapshotError("%s: expected %s, got %r" % (where, expected, value))


def check_string_map(value, where, allow_null):
    check_type(value, dict, where, "a dictionary of strings")
    for key, item in value.items():
        if item is None and allow_null:
            continue
        check_type(item, str, "%s.%s" % (where, key), "a string" + (" or null" if allow_null else ""))


def check_rows(rows, where):
    check_type(rows, list, where, "a list of Connection rows")
    targets = []
    for index, row in enumerate(rows):
        here = "%s[%d]" % (where, index)
        check_type(row, dict, here, "a Connection row")
        unknown = sorted(set(row) - set(CAPTURED_COLUMNS))
        if unknown:
            raise SnapshotError("%s: unknown column %s" % (here, unknown[0]))
        check_type(row.get("target"), str, here + ".target", "a target string")
        if row["target"] in targets:
            raise SnapshotError("%s.target: %s appears twice" % (here, row["target"]))
        targets.append(row["target"])
        for column in tunables.CONNECTION_PROBE_COLUMNS:
            if row.get(column) is not None:
                check_type(row[column], int, "%s.%s" % (here, column), "an integer or null")
        if "read_only" in row:
            check_type(row["read_only"], bool, here + ".read_only", "true or false")
        if "role" in row:
            check_type(row["role"], str, here + ".role", "a string")
        if "other_config" in row:
            check_string_map(row["other_config"], here + ".other_config", allow_null=False)


# --------------------------------------------------------------------------- Connection rows

def rows_by_target(rows):
    return dict((row["target"], dict((k, v) for k, v in row.items() if k != "target")) for row in rows)


def captured_row(row, columns):
    """The recorded columns of a Connection row (as read_connections returns it)."""
    return dict((column, copy.deepcopy(row[column])) for column in CAPTURED_COLUMNS
                if column in row and column in columns)


def desired_rows(snapshot_rows):
    """The snapshot's rows as connection_rows.plan takes them (every column recorded is set)."""
    return [{"target": row["target"], "state": "present",
             "settings": dict((k, copy.deepcopy(v)) for k, v in row.items() if k != "target")}
            for row in snapshot_rows]


def plan_connections(current_rows, snapshot_rows, columns):
    """connection_rows.plan to exactly the snapshot's rows (others removed)."""
    return connection_rows.plan(current_rows, desired_rows(snapshot_rows), exclusive=True,
                                columns=columns)


def plan_recorded_rows(have_rows, want_rows):
    """The row changes from one recorded row list to another (pure; both as a snapshot records
    them), summarised as a restore plan shows them; None when they are the same."""
    columns = sorted(set(c for row in want_rows + have_rows for c in row))
    rows = plan_connections([dict(row, _uuid=row["target"]) for row in have_rows], want_rows, columns)
    if not rows["changed"]:
        return None
    return {"create": [c["target"] for c in rows["create"]],
            "update": [{"target": u["target"], "set": u["set"]} for u in rows["update"]],
            "delete": [d["target"] for d in rows["delete"]]}


def monitored_columns(client):
    """The Connection columns the schema served by ``client`` has."""
    monitored = client.monitored().get(connection_rows.CONNECTION_TABLE, ())
    return [c for c in connection_rows.CONNECTION_COLUMNS if c in monitored]


def read_rows(client, database):
    """The Connection rows referenced from ``database``'s global row, as a snapshot records them."""
    columns = monitored_columns(client)
    _global, rows = connection_rows.read_connections(client, database)
    return [captured_row(row, columns) for row in rows]


def transact(label, client, build):
    """One restore transaction; a failure is a SnapshotError naming the part."""
    try:
        client.transact(build, comment="kubedc.ovn_tuning.ovn_tuning_snapshot restore %s" % label)
    except OvsdbError as exc:
        raise SnapshotError("%s: %s" % (label, exc))
