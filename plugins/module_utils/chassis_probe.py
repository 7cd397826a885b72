# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chassis-side probe keys of a hypervisor's local Open_vSwitch database.

ovn-controller reads its probe settings from ``Open_vSwitch.external_ids`` of
the one ``Open_vSwitch`` row - and for each of them first the per-chassis key
``KEY-<system-id>``, then the plain ``KEY`` (OVN ``get_chassis_external_id_value``).
These helpers turn module options into the keys to set or remove
(:func:`desired_keys`), compare them with the current map (:func:`plan`, which
follows or warns about a per-chassis key that overrides a plain one) and write
only those keys as per-key mutations (:func:`apply`), so that the other
external_ids (``system-id``, ``ovn-remote``, ``ovn-encap-*``...) are never
rewritten.  The snapshot/restore module reuses them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import string_map, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError

DATABASE = "Open_vSwitch"
TABLE = tunables.DATABASE_LOCATIONS[DATABASE]["table"]
COLUMN = tunables.DATABASE_LOCATIONS[DATABASE]["options"]
SYSTEM_ID_KEY = "system-id"
DEFAULT_REMOTE = "unix:/var/run/openvswitch/db.sock"

# Module option -> external_ids key: every key of the tunables table that lives in this map, the
# option named after it (ovn-remote-probe-interval -> remote_probe_interval).
OPTION_KEYS = tuple((key[len("ovn-"):].replace("-", "_"), key) for key in tunables.map_keys(TABLE))
MANAGED_KEYS = tuple(key for _option, key in OPTION_KEYS)
# Keys whose tunable notes an operator must read when setting them (OVN version limits).
VERSION_NOTED_KEYS = ("ovn-bridge-remote-probe-interval", "ovn-openflow-probe-interval")
# What to do about a per-chassis key (KEY-<system-id>) that overrides a plain key being changed.
PER_CHASSIS_CHOICES = ("warn", "set")
# How the warning about an overriding per-chassis key ends (ovn_tuning_apply names the module instead).
PER_CHASSIS_HINT = "per_chassis_keys=set changes it too"


class ChassisProbeError(OvsdbError):
    """Bad options or an unexpected local database; the text names the option."""


def _options_text():
    return ", ".join(option for option, _key in OPTION_KEYS)


def _is_true(value, option, key):
    """An option given with state=absent: true removes its key, false leaves it."""
    try:
        if not isinstance(value, bool) and isinstance(value, (int, float)):
            raise TypeError("a number here is an interval given by mistake, not a yes/no")
        return boolean(value, strict=True)
    except TypeError:
        raise ChassisProbeError(
            "%s: with state=absent give true to remove %s (got %r); to set a value use"
            " state=present" % (option, key, value))


def desired_keys(params, state):
    """``{key: string value}`` to set (state=present) or ``{key: None}`` to remove (absent).

    With ``present`` each given option is validated as an interval in its
    tunable's unit; with ``absent`` each option to remove is given as ``true``.
    """
    desired = {}
    for option, key in OPTION_KEYS:
        value = params.get(option)
        if value is None:
            continue
        if state == "absent":
            if _is_true(value, option, key):
                desired[key] = None
        else:
            desired[key] = str(tunables.parse_interval(value, key, option))
    if not desired:
        if state == "absent":
            raise ChassisProbeError("state=absent: name the keys to remove by setting one or more of %s"
                                    " to true" % _options_text())
        raise ChassisProbeError("%s: give at least one of them" % _options_text())
    return desired


def warnings_for(desired):
    """Sentences about keys that only some OVN versions read, from the tunables table, and about an
    SB probe of 0."""
    out = []
    for option, key in OPTION_KEYS:
        if key in VERSION_NOTED_KEYS and desired.get(key) is not None:
            out.append("%s: external_ids:%s - %s" % (option, key, tunables.get(key).notes))
        if key == "ovn-remote-probe-interval" and desired.get(key) == "0":
            out.append("%s: %s" % (option, tunables.DISABLED_CHASSIS_PROBE))
    return out


def specific_key(key, system_id):
    """The per-chassis form of ``key`` that ovn-controller of chassis ``system_id`` reads first."""
    return "%s-%s" % (key, system_id)


def managed(external_ids):
    """The managed probe keys present in ``external_ids``: the plain keys and the per-chassis keys of
    this chassis (its ``system-id``)."""
    system_id = external_ids.get(SYSTEM_ID_KEY)
    own = set(MANAGED_KEYS)
    if system_id:
        own.update(specific_key(key, system_id) for key in MANAGED_KEYS)
    return dict((key, value) for key, value in external_ids.items() if key in own)


def effective(external_ids):
    """What ovn-controller of this chassis reads for each managed key: ``{KEY: {"value", "from"}}`` -
    the per-chassis key's value where it is set, else the plain key's; ``from`` names the key read,
    null (with a null value) when neither is set and ovn-controller uses its built-in default."""
    system_id = external_ids.get(SYSTEM_ID_KEY)
    out = {}
    for key in MANAGED_KEYS:
        source = None
        if system_id and specific_key(key, system_id) in external_ids:
            source = specific_key(key, system_id)
        elif key in external_ids:
            source = key
        out[key] = {"value": external_ids[source] if source else None, "from": source}
    return out


def _overrides(external_ids, desired):
    """``{plain key: per-chassis key}`` for the desired plain keys that a per-chassis key overrides."""
    system_id = external_ids.get(SYSTEM_ID_KEY)
    if not system_id:
        return {}
    return dict((key, specific_key(key, system_id)) for key in desired
                if key in MANAGED_KEYS and specific_key(key, system_id) in external_ids)


def plan(external_ids, desired, per_chassis=None):
    """What to write: ``set`` ({key: value}), ``remove`` ([key]), the managed keys ``before``/``after``,
    ``effective_before``/``effective_after`` (see :func:`effective`) and ``warnings``.

    A per-chassis key ``KEY-<system-id>`` that is set overrides ``KEY`` for ovn-controller. With
    ``per_chassis="set"`` it is given the plain key's new value (or removed with it); with ``"warn"``
    it is left alone and a warning says that the change does not reach ovn-controller; with None (a
    restore, which names every key it puts back) it is left alone. A per-chassis key is never
    created: where none is set, the plain key is what ovn-controller reads.
    """
    desired = dict(desired)
    warnings = []
    for key, specific in sorted(_overrides(external_ids, desired).items()):
        if specific in desired:
            continue
        if per_chassis == "set":
            desired[specific] = desired[key]
        elif per_chassis == "warn" and external_ids[specific] != desired[key]:
            warnings.append(
                "external_ids:%s=%s overrides %s on this chassis: ovn-controller reads the per-chassis key"
                " first and keeps %s; %s" % (
                    specific, external_ids[specific], key, external_ids[specific], PER_CHASSIS_HINT))
    changes = string_map.plan(external_ids, desired)
    after = changes.pop("map_after")
    changes.update({"before": managed(external_ids), "after": managed(after),
                    "effective_before": effective(external_ids), "effective_after": effective(after),
                    "warnings": warnings})
    return changes


def probe_key_of(key):
    """The managed key that ``key`` is or is a per-chassis form of (``KEY-SUFFIX``), else None."""
    return next((k for k in MANAGED_KEYS if key == k or key.startswith(k + "-")), None)


def recorded(keys):
    """The managed keys as a snapshot records them, from a map of keys that are set (external_ids, or
    an earlier ``external_ids_before``): every plain key, null when unset, and the per-chassis keys
    that are set."""
    out = dict((key, keys.get(key)) for key in MANAGED_KEYS)
    out.update((str(k), v) for k, v in keys.items() if v is not None and probe_key_of(str(k)))
    return out


def restore_keys(keys, option="restore"):
    """``{key: string value or None}`` from a recorded map of managed keys (``external_ids_before``,
    a snapshot's ``chassis`` part): the plain keys and per-chassis forms (``KEY-SUFFIX``) of them;
    None (or a key left out, for a plain key) - the key was not set. Values are checked as intervals
    in their key's unit."""
    if not isinstance(keys, dict):
        raise ChassisProbeError("%s: expected a map of probe key to value or null (as external_ids_before"
                                " returns it), got %r" % (option, keys))
    desired = dict((key, None) for key in MANAGED_KEYS)
    for key, value in keys.items():
        key = str(key)
        managed_key = probe_key_of(key)
        if managed_key is None:
            raise ChassisProbeError("%s: %s is not a probe key this module manages (%s, or KEY-<system-id>"
                                    " of one of them)" % (option, key, ", ".join(MANAGED_KEYS)))
        if value is None:
            desired[key] = None
            continue
        parsed = tunables.parse_interval(value, managed_key, "%s.%s" % (option, key))
        desired[key] = str(parsed)
    return desired


def read(client):
    """The one Open_vSwitch row and its external_ids as a plain dict."""
    rows = client.rows(TABLE)
    if len(rows) != 1:
        raise ChassisProbeError(
            "remote: %s holds %d rows in table Open_vSwitch, expected exactly one; is this a"
            " hypervisor's local Open_vSwitch database (ovs-vswitchd's conf.db)?"
            % (client.remote, len(rows)))
    row = rows[0]
    return row, dict((str(k), str(v)) for k, v in getattr(row, COLUMN).items())


def apply(row, changes):
    """Write ``changes`` (from :func:`plan`) as per-key mutations of ``row``; True if any."""
    return string_map.apply(row, COLUMN, changes)
