# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection rows of an ovsdb-server's listeners: target syntax, plan and apply.

The listeners an ovsdb-server takes from a database are the ``Connection`` rows
referenced from the ``connections`` column of the database's one global row
(``NB_Global``, ``SB_Global``, or ``Config`` of kube-ovn's ``Local_Config``).

The work is split so that every caller (the ovsdb_connection module, a
snapshot restore) shares it:

- :func:`parse_target` and :func:`validate_settings` check input, before anything is contacted;
- :func:`read_connections` reads the current rows from a connected client as plain dicts;
- :func:`plan` (pure) compares the current rows with the desired ones and returns the changes;
- :func:`apply` turns those changes into writes of one IDL transaction, attaching new rows
  to, and detaching removed rows from, the global row in that same transaction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import re

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError, OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_client import row_to_dict

CONNECTION_TABLE = "Connection"

# The one row whose ``connections`` column lists the listeners ovsdb-server opens
# (--remote=db:<database>,<table>,connections) - from the table of locations.
GLOBAL_TABLES = tunables.global_tables(tunables.CONNECTION_DATABASES)

# Columns of Connection this collection reads.  ``is_connected`` and ``status`` are
# ephemeral and change on their own; they are never compared nor diffed.
CONNECTION_COLUMNS = tunables.CONNECTION_COLUMNS

# Columns a plan may write (besides ``target``, which identifies a row).
WRITABLE_COLUMNS = tunables.CONNECTION_SETTINGS + ("external_ids",)

# Optional (0 or 1 value) columns: None means "unset".
OPTIONAL_COLUMNS = tunables.CONNECTION_PROBE_COLUMNS
MAP_COLUMNS = ("other_config", "external_ids")

# Columns that only some schemas have (OVN_Northbound's Connection has neither RBAC
# role nor read_only).  Checked again against the schema the server sends.
SCHEMA_ONLY_IN = {
    "read_only": ("OVN_Southbound", "Local_Config"),
    "role": ("OVN_Southbound", "Local_Config"),
}

# --------------------------------------------------------------------------- targets

PASSIVE_METHODS = ("ptcp", "pssl", "punix")
ACTIVE_METHODS = ("tcp", "ssl", "unix")
TARGET_SYNTAX = ("ptcp:PORT[:IP], pssl:PORT[:IP], punix:PATH, tcp:IP:PORT, ssl:IP:PORT or unix:PATH"
                 " (an IPv6 address in brackets, e.g. ptcp:6641:[::1])")

_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                          r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _target_error(param, target, why):
    return OvsdbConfigError("%s: %r %s; expected %s" % (param, target, why, TARGET_SYNTAX))


def _parse_port(text, param, target):
    if not text.isdigit():
        raise _target_error(param, target, "has no valid port (%r)" % text)
    port = int(text)
    if not 0 < port < 65536:
        raise _target_error(param, target, "has port %d, outside 1-65535" % port)
    return port


def _parse_address(text, param, target, allow_hostname):
    """An IPv4 address, a bracketed IPv6 address, or (active targets) a host name."""
    if text.startswith("[") and text.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise _target_error(param, target, "has an invalid IPv6 address %s" % text)
    if ":" in text:
        raise _target_error(param, target, "has an IPv6 address without brackets")
    if re.match(r"^[0-9.]+$", text):
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise _target_error(param, target, "has an invalid IPv4 address %s" % text)
    if allow_hostname and _HOSTNAME_RE.match(text):
        return text
    raise _target_error(param, target, "has an invalid address %r" % text)


def parse_target(target, param="target"):
    """Check the syntax of a Connection ``target`` and return its parts.

    Returns a dict ``{"method", "passive", "port", "address", "path"}`` (port and
    address None for unix sockets, path None otherwise; address None when a
    passive target listens on every address).  Raises OvsdbConfigError with a
    sentence naming ``param`` otherwise.
    """
    if not isinstance(target, str) or not target:
        raise _target_error(param, target, "is not a target")
    if target != target.strip() or any(c in target for c in " \t\r\n,\0"):
        raise _target_error(param, target, "contains spaces, commas or control characters")
    method, sep, rest = target.partition(":")
    if not sep or method not in PASSIVE_METHODS + ACTIVE_METHODS:
        raise _target_error(param, target, "has no known method (%s)" % method)
    parsed = {"method": method, "passive": method in PASSIVE_METHODS,
              "port": None, "address": None, "path": None}
    if method in ("punix", "unix"):
        if not rest:
            raise _target_error(param, target, "has no socket path")
        parsed["path"] = rest
        return parsed
    if parsed["passive"]:
        # ptcp:PORT[:IP]
        port_text, sep, address_text = rest.partition(":")
        parsed["port"] = _parse_port(port_text, param, target)
        if sep:
            if not address_text:
                raise _target_error(param, target, "ends with ':' but no address")
            parsed["address"] = _parse_address(address_text, param, target, allow_hostname=False)
        return parsed
    # tcp:IP:PORT
    address_text, sep, port_text = rest.rpartition(":")
    if not sep or not address_text:
        raise _target_error(param, target, "needs both an address and a port")
    parsed["address"] = _parse_address(address_text, param, target, allow_hostname=True)
    parsed["port"] = _parse_port(port_text, param, target)
    return parsed


# --------------------------------------------------------------------------- desired rows

def global_table(database, tables=None):
    """The table of ``database``'s global row among ``tables`` (default: the databases with
    Connection rows); another database is refused naming the accepted ones."""
    tables = GLOBAL_TABLES if tables is None else tables
    try:
        return tables[database]
    except KeyError:
        raise OvsdbConfigError("database: %r is not one of %s"
                               % (database, ", ".join(sorted(tables))))


def _string_map(value, param):
    if not isinstance(value, dict):
        raise OvsdbConfigError("%s: expected a dictionary of string keys and string values, got %r"
                               % (param, value))
    result = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise OvsdbConfigError("%s: keys must be non-empty strings, got %r" % (param, key))
        if isinstance(item, bool) or item is None or not isinstance(item, (str, int)):
            raise OvsdbConfigError("%s.%s: values must be strings (or integers), got %r"
                                   % (param, key, item))
        result[key] = str(item)
    return result


def validate_settings(database, settings, param_prefix=""):
    """Check and normalise desired column values; returns a new dict.

    ``settings`` maps writable column names to values as an operator gives them
    (intervals as int or string with a unit).  Columns absent from the dict are
    left untouched by :func:`plan`; ``None`` for an optional column means "unset it".
    """
    global_table(database)
    result = {}
    for column, value in settings.items():
        param = param_prefix + column
        if column not in WRITABLE_COLUMNS:
            raise OvsdbConfigError("%s: not a column this collection writes (accepted: %s)"
                                   % (param, ", ".join(WRITABLE_COLUMNS)))
        if column in SCHEMA_ONLY_IN and database not in SCHEMA_ONLY_IN[column]:
            raise OvsdbConfigError(
                "%s: the %s schema's Connection table has no %s column; it exists in %s only"
                % (param, database, column, " and ".join(SCHEMA_ONLY_IN[column])))
        if column in OPTIONAL_COLUMNS:
            result[column] = (None if value is None
                              else tunables.parse_interval(value, column, param))
        elif column == "read_only":
            if not isinstance(value, bool):
                raise OvsdbConfigError("%s: expected true or false, got %r" % (param, value))
            result[column] = value
        elif column == "role":
            if not isinstance(value, str):
                raise OvsdbConfigError("%s: expected a string (an RBAC role name such as"
                                       " ovn-controller, or '' for none), got %r" % (param, value))
            result[column] = value
        else:
            result[column] = _string_map(value, param)
    return result


def desired_row(database, target, state="present", settings=None, param_prefix="", allow_disabled_probe=False):
    """A validated desired Connection: {"target", "state", "settings"}. An inactivity_probe of 0 on a
    probed listener (ptcp:, pssl:) is refused unless ``allow_disabled_probe``."""
    if state not in ("present", "absent"):
        raise OvsdbConfigError("%sstate: expected present or absent, got %r" % (param_prefix, state))
    parsed = parse_target(target, param_prefix + "target")
    settings = validate_settings(database, settings or {}, param_prefix)
    if (settings.get("inactivity_probe") == 0 and parsed["passive"] and parsed["method"] != "punix"
            and not allow_disabled_probe):
        raise OvsdbConfigError(tunables.disabled_listener_probe(
            param_prefix + "inactivity_probe", "listener " + target, param_prefix + "allow_disabled_probe=true"))
    if state == "absent" and settings:
        raise OvsdbConfigError("%s: only used with state=present (state=absent removes the row)"
                               % ", ".join(param_prefix + c for c in sorted(settings)))
    return {"target": target, "state": state, "settings": settings}


def check_schema(database, monitored_columns, desired):
    """Fail, before any write, when the server's schema lacks a column to be written."""
    for row in desired:
        for column in row["settings"]:
            if column not in monitored_columns:
                raise OvsdbError("%s: the %s schema served here has no Connection.%s column;"
                                 " leave the option out for this database" % (column, database, column))


# --------------------------------------------------------------------------- reading

def _default_of(column):
    if column in OPTIONAL_COLUMNS:
        return None
    if column in MAP_COLUMNS:
        return {}
    if column == "read_only":
        return False
    return ""


def read_connections(client, database):
    """``(global_row, rows)``: the IDL global row (or None) and its Connection rows as dicts.

    Rows are plain dicts (``_uuid`` plus the Connection columns the schema has),
    sorted by target.  Connection is not a root table: a row that no global row
    references does not survive its transaction, so these are all the rows.
    """
    table = global_table(database)
    global_rows = client.rows(table)
    if len(global_rows) > 1:
        raise OvsdbError("%s has %d rows; expected one" % (table, len(global_rows)))
    global_row = global_rows[0] if global_rows else None
    columns = [c for c in CONNECTION_COLUMNS if c in client.monitored().get(CONNECTION_TABLE, ())]
    rows = []
    if global_row is not None:
        rows = [row_to_dict(row, columns) for row in global_row.connections]
    return global_row, sorted(rows, key=lambda r: r["target"])


def without_uuid(row):
    if row is None:
        return None
    return dict((k, v) for k, v in row.items() if k != "_uuid")


def by_target(rows):
    """``{target: row without _uuid}``: the shape diffs use."""
    return dict((row["target"], without_uuid(row)) for row in rows)


# --------------------------------------------------------------------------- plan

def plan(current_rows, desired, exclusive=False, columns=None):
    """Compare current Connection rows with desired ones; return the changes (pure).

    ``current_rows``: dicts as :func:`read_connections` returns them.
    ``desired``: dicts as :func:`desired_row` returns them (one per target).
    ``exclusive``: remove every current row whose target is not desired present.
    ``columns``: the Connection columns the schema has (defaults to those of the
    current rows, else all), used to shape predicted new rows.

    Returns ``{"create": [{"target", "settings"}], "update": [{"uuid", "target",
    "set": {column: value}}], "delete": [{"uuid", "target"}], "rows_before",
    "rows_after", "changed"}``; rows_after predicts the rows after the changes
    (new rows have ``_uuid`` None).
    """
    targets = [row["target"] for row in desired]
    duplicates = sorted(set(t for t in targets if targets.count(t) > 1))
    if duplicates:
        raise OvsdbConfigError("target: %s given more than once" % ", ".join(duplicates))
    if columns is None:
        columns = (sorted(set(k for row in current_rows for k in row if k != "_uuid"))
                   or list(CONNECTION_COLUMNS))
    current_by_target = dict((row["target"], row) for row in current_rows)
    wanted = dict((row["target"], row) for row in desired if row["state"] == "present")
    unwanted = set(row["target"] for row in desired if row["state"] == "absent")
    changes = {"create": [], "update": [], "delete": []}
    after = {}
    for target, row in current_by_target.items():
        if target in unwanted or (exclusive and target not in wanted):
            changes["delete"].append({"uuid": row["_uuid"], "target": target})
            continue
        predicted = copy.deepcopy(row)
        if target in wanted:
            updates = {}
            for column, value in wanted[target]["settings"].items():
                if row.get(column, _default_of(column)) != value:
                    updates[column] = copy.deepcopy(value)
                    predicted[column] = copy.deepcopy(value)
            if updates:
                changes["update"].append({"uuid": row["_uuid"], "target": target, "set": updates})
        after[target] = predicted
    for target in sorted(wanted):
        if target in current_by_target:
            continue
        settings = copy.deepcopy(wanted[target]["settings"])
        changes["create"].append({"target": target, "settings": settings})
        predicted = {"_uuid": None}
        for column in columns:
            predicted[column] = copy.deepcopy(settings.get(column, _default_of(column)))
        predicted["target"] = target
        after[target] = predicted
    changes["delete"].sort(key=lambda d: d["target"])
    changes["update"].sort(key=lambda u: u["target"])
    changes["rows_before"] = sorted(copy.deepcopy(current_rows), key=lambda r: r["target"])
    changes["rows_after"] = [after[t] for t in sorted(after)]
    changes["changed"] = bool(changes["create"] or changes["update"] or changes["delete"])
    return changes


# --------------------------------------------------------------------------- apply

def _column_value(column, value):
    # The IDL takes a list for an optional column: [] unsets it.
    if column in OPTIONAL_COLUMNS:
        return [] if value is None else [value]
    return value


def apply(txn, client, changes, database):
    """Write ``changes`` (from :func:`plan`) into ``txn``; returns True when anything was written.

    Verifies the global row's ``connections`` and every column it overwrites, so a
    concurrent writer turns the commit into a retry (the caller re-reads and re-plans)
    instead of a lost update.  New rows are referenced from, and removed rows
    dereferenced from, the global row in this same transaction.
    """
    if not changes["changed"]:
        return False
    table = global_table(database)
    global_rows = client.rows(table)
    global_row = global_rows[0] if global_rows else None
    if global_row is None:
        if changes["update"] or changes["delete"]:
            raise OvsdbError("%s has no row, yet rows to update or delete were planned" % table)
        global_row = txn.insert(client.idl.tables[table])
    else:
        global_row.verify("connections")
    connection_rows = client.idl.tables[CONNECTION_TABLE].rows
    for delete in changes["delete"]:
        row = _row_by_uuid(connection_rows, delete["uuid"], delete["target"])
        global_row.delvalue("connections", row)
        row.delete()
    for update in changes["update"]:
        row = _row_by_uuid(connection_rows, update["uuid"], update["target"])
        for column, value in update["set"].items():
            row.verify(column)
            setattr(row, column, _column_value(column, value))
    for create in changes["create"]:
        row = txn.insert(client.idl.tables[CONNECTION_TABLE])
        row.target = create["target"]
        for column, value in create["settings"].items():
            setattr(row, column, _column_value(column, value))
        global_row.addvalue("connections", row)
    return True


def _row_by_uuid(rows, uuid_text, target):
    for uuid, row in rows.items():
        if str(uuid) == uuid_text:
            return row
    raise OvsdbError("Connection row %s (%s) disappeared while planning" % (uuid_text, target))
