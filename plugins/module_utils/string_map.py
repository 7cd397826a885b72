# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-key changes of one OVSDB string map.

The one planner and writer for the maps this collection changes key by key -
``NB_Global.options``/``SB_Global.options``, a chassis' ``Open_vSwitch.external_ids``
and the in-band state keys of ``NB_Global.external_ids``: only the keys named are
written (``setkey``/``delkey`` mutations), never the whole map, so what other tools
keep in the same map is left as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def plan(current, desired):
    """Compare ``current`` ({key: value}) with ``desired`` ({key: string value, or None to
    remove the key}); pure.

    Returns ``{"set": {key: value}, "remove": [key, ...] (sorted), "map_after": the whole
    map as it will be, "changed": bool}``.
    """
    to_set = {}
    to_remove = []
    for key in sorted(desired):
        value = desired[key]
        if value is None:
            if key in current:
                to_remove.append(key)
        elif current.get(key) != value:
            to_set[key] = value
    after = dict(current)
    after.update(to_set)
    for key in to_remove:
        after.pop(key, None)
    return {"set": to_set, "remove": to_remove, "map_after": after, "changed": bool(to_set or to_remove)}


def apply(row, column, changes, verify=True):
    """Write ``changes`` (from :func:`plan`) as per-key mutations of ``row.column``; True if any.

    With ``verify`` the decision rests on the map as read: a concurrent writer of the
    column makes the commit retry (the caller re-reads and re-plans)."""
    if not (changes["set"] or changes["remove"]):
        return False
    if verify:
        row.verify(column)
    for key in changes["remove"]:
        row.delkey(column, key)
    for key, value in sorted(changes["set"].items()):
        row.setkey(column, key, value)
    return True
