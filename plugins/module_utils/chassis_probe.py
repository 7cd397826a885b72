# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chassis-side probe keys of a hypervisor's local Open_vSwitch database.

ovn-controller reads its probe settings from ``Open_vSwitch.external_ids`` of
the one ``Open_vSwitch`` row.  These helpers turn module options into the keys
to set or remove (:func:`desired_keys`), compare them with the current map
(:func:`plan`) and write only those keys as per-key mutations (:func:`apply`),
so that the other external_ids (``system-id``, ``ovn-remote``, ``ovn-encap-*``...)
are never rewritten.  The snapshot/restore module reuses them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_client import OvsdbError

DATABASE = "Open_vSwitch"
TABLE = "Open_vSwitch"
COLUMN = "external_ids"
SYSTEM_ID_KEY = "system-id"
DEFAULT_REMOTE = "unix:/var/run/openvswitch/db.sock"

# Module option -> external_ids key (also the tunable's name in the tunables table).
OPTION_KEYS = (
    ("remote_probe_interval", "ovn-remote-probe-interval"),
    ("bridge_remote_probe_interval", "ovn-bridge-remote-probe-interval"),
    ("openflow_probe_interval", "ovn-openflow-probe-interval"),
)
MANAGED_KEYS = tuple(key for _option, key in OPTION_KEYS)
# Keys whose tunable notes an operator must read when setting them (OVN version limits).
VERSION_NOTED_KEYS = ("ovn-bridge-remote-probe-interval", "ovn-openflow-probe-interval")


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


def managed(external_ids):
    """The managed probe keys present in ``external_ids``."""
    return dict((key, external_ids[key]) for key in MANAGED_KEYS if key in external_ids)


def plan(external_ids, desired):
    """What to write: ``set`` ({key: value}), ``remove`` ([key]) and the managed keys
    ``before``/``after``."""
    to_set = {}
    to_remove = []
    for key, value in desired.items():
        if value is None:
            if key in external_ids:
                to_remove.append(key)
        elif external_ids.get(key) != value:
            to_set[key] = value
    after = dict(external_ids)
    after.update(to_set)
    for key in to_remove:
        after.pop(key, None)
    return {"changed": bool(to_set or to_remove), "set": to_set, "remove": sorted(to_remove),
            "before": managed(external_ids), "after": managed(after)}


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
    if not changes["changed"]:
        return False
    # The decision rests on the map as read: a concurrent writer makes the commit retry.
    row.verify(COLUMN)
    for key, value in sorted(changes["set"].items()):
        row.setkey(COLUMN, key, value)
    for key in changes["remove"]:
        row.delkey(COLUMN, key)
    return True
