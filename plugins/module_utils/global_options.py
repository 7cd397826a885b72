# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys of ``NB_Global.options`` / ``SB_Global.options``: validate, plan, apply.

Only the named keys ever change: :func:`apply` mutates them one by one
(``Row.setkey``/``Row.delkey``), so keys other clients write meanwhile (ovn-northd,
an operator's ovn-nbctl) are kept.  :func:`plan` is pure, so a snapshot restore
can reuse it with the keys it recorded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import connection_rows, string_map, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError, OvsdbError

OPTIONS_COLUMN = "options"

GLOBAL_TABLES = tunables.global_tables(tunables.OPTIONS_DATABASES)


def global_table(database):
    return connection_rows.global_table(database, GLOBAL_TABLES)


# Keys ovn-northd writes into NB_Global.options: a SB_Global.options map that holds one of
# them is ovn-northd's copy of NB_Global.options.
NORTHD_KEYS = ("northd_internal_version", "mac_prefix", "svc_monitor_mac", "max_tunid")


def known_keys():
    """``{key: Tunable}`` of every options key of NB_Global and SB_Global in the tunables table."""
    keys = {}
    for table in GLOBAL_TABLES.values():
        keys.update(tunables.map_keys(table))
    return keys


def _database_of(table):
    for database, name in GLOBAL_TABLES.items():
        if name == table:
            return database
    return table


def _table_to_set(tunable):
    return tunables.OPTIONS_COPIED_FROM.get(tunable.table, tunable.table)


def check_not_a_copy(database, current_options, param="options"):
    """Refuse, before any write, to change a map ovn-northd overwrites with a copy of another.

    ``current_options`` is the map as read; holding one of ovn-northd's own keys shows that
    ovn-northd maintains it, and would undo the change at once.
    """
    table = global_table(database)
    source = tunables.OPTIONS_COPIED_FROM.get(table)
    if source is None:
        return
    northd_keys = [key for key in NORTHD_KEYS if key in current_options]
    if northd_keys:
        raise OvsdbError(
            "%s: %s.options is ovn-northd's copy of %s.options here (it holds %s): ovn-northd would"
            " undo this change at once; set the keys with database: %s, and ovn-northd copies them"
            " into %s" % (param, table, source, ", ".join(northd_keys), _database_of(source), table))


def _string_value(key, value, param):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise OvsdbConfigError("%s.%s: expected a string, a number, true/false, or null to remove the key;"
                           " got %r" % (param, key, value))


def desired_options(database, options, state="present", param="options"):
    """Validate the operator's ``options`` and return ``{key: string value or None (remove)}``.

    ``state=present``: ``options`` is a dict; a null value removes its key.
    ``state=absent``: ``options`` is a list of key names or a dict (its values are ignored).
    Known probe keys are parsed as intervals and written as integer milliseconds;
    a known key given for the wrong database is refused, naming the right one.
    """
    table = global_table(database)
    if state not in ("present", "absent"):
        raise OvsdbConfigError("state: expected present or absent, got %r" % (state,))
    if state == "absent" and isinstance(options, (list, tuple)):
        names = list(options)
    elif isinstance(options, dict):
        names = list(options)
    else:
        accepted = ("a list of key names or a dictionary" if state == "absent"
                    else "a dictionary of key: value (null removes the key)")
        raise OvsdbConfigError("%s: expected %s, got %r" % (param, accepted, options))
    if not names:
        raise OvsdbConfigError("%s: name at least one key" % param)
    known = known_keys()
    settable = tunables.option_keys_set_in(table)
    desired = {}
    for key in names:
        if not isinstance(key, str) or not key.strip() or key != key.strip():
            raise OvsdbConfigError("%s: keys must be non-empty strings without surrounding spaces,"
                                   " got %r" % (param, key))
        tunable = known.get(key)
        if tunable is not None and key not in settable:
            right = _table_to_set(tunable)
            where = "%s.options of %s" % (right, _database_of(right))
            if right != tunable.table:
                where += " (ovn-northd copies it into %s.options)" % tunable.table
            raise OvsdbConfigError("%s.%s: this key is set in %s, not in %s.options; use database: %s"
                                   % (param, key, where, table, _database_of(right)))
        value = None if state == "absent" else options[key]
        if value is None:
            desired[key] = None
        elif tunable is not None:
            desired[key] = str(tunables.parse_interval(value, tunable, "%s.%s" % (param, key)))
        else:
            desired[key] = _string_value(key, value, param)
    return desired


def plan(current_options, desired):
    """Compare the current map with the desired keys (pure; :func:`string_map.plan`).

    Returns ``{"set": {key: value}, "remove": [keys], "before": {key: value or None},
    "after": {key: value or None}, "options_after": full predicted map, "changed"}``;
    ``before``/``after`` cover the named keys only.
    """
    changes = string_map.plan(current_options, desired)
    changes["options_after"] = changes.pop("map_after")
    changes["before"] = dict((key, current_options.get(key)) for key in sorted(desired))
    changes["after"] = dict((key, desired[key]) for key in sorted(desired))
    return changes


def read_options(client, database, column=OPTIONS_COLUMN):
    """``(global_row, options)``: the IDL global row (or None) and its options (or another string
    map ``column``) as a dict."""
    table = global_table(database)
    rows = client.rows(table)
    if len(rows) > 1:
        raise OvsdbError("%s has %d rows; expected one" % (table, len(rows)))
    if not rows:
        return None, {}
    return rows[0], dict((str(k), str(v)) for k, v in getattr(rows[0], column).items())


def apply(txn, client, changes, database):
    """Write ``changes`` (from :func:`plan`) into ``txn`` as per-key mutations.

    Verifies ``options`` so that a concurrent change between read and commit makes
    the caller re-read and re-plan (what it reports stays true); the write itself
    touches only the named keys.  A missing global row is created, as ovn-nbctl does.
    """
    if not changes["changed"]:
        return False
    table = global_table(database)
    rows = client.rows(table)
    if not rows:
        row = txn.insert(client.idl.tables[table])
        setattr(row, OPTIONS_COLUMN, dict(changes["set"]))
        return True
    return string_map.apply(rows[0], OPTIONS_COLUMN, changes)
