# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``chassis`` part of a snapshot: the probe keys of each hypervisor's
``Open_vSwitch.external_ids``, read through the chassis' remote (descriptor ``chassis``) or, for
the hosts of ``chassis_hosts``, read and restored on the host by the caller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import chassis_probe
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import validate_connection_params
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_part import (
    Part, SnapshotError, check_string_map, check_type, fail, single_remote, transact)

# The source recorded for a chassis whose keys the caller read on the chassis host.
CHASSIS_HOST_SOURCE = "read on the chassis host"


def chassis_keys():
    return sorted(chassis_probe.MANAGED_KEYS)


def _label(name):
    return "chassis[%s]" % name


class ChassisPart(Part):

    key = "chassis"

    # -- the descriptor
    def check_descriptor(self, deployment, result, param):
        chassis = deployment.get(self.key)
        if chassis is not None:
            result[self.key] = self._check_items(chassis, param + ".chassis")
        hosts = deployment.get("chassis_hosts")
        if hosts:
            where = param + ".chassis_hosts"
            twice = sorted(set(h for h in hosts if list(hosts).count(h) > 1))
            if twice:
                fail(where, "each chassis host once; listed twice: %s" % ", ".join(twice))
            both = sorted(set(hosts) & set(item["name"] for item in result.get(self.key) or []))
            if both:
                fail(where, "%s also named in %s.chassis; a chassis is reached either on its host or by its"
                     " remote" % (", ".join(both), param))
            result["chassis_hosts"] = list(hosts)

    @staticmethod
    def _check_items(chassis, where):
        names = []
        items = []
        for index, item in enumerate(chassis):
            here = "%s[%d]" % (where, index)
            chassis_name = item.get("name")
            if not (chassis_name or "").strip():
                fail(here + ".name", "required: the chassis' name (the key it is recorded under)")
            if chassis_name in names:
                fail(here + ".name", "%r is listed twice" % chassis_name)
            names.append(chassis_name)
            items.append({"name": chassis_name, "remote": single_remote(item.get("remote"), here + ".remote")})
        return items

    def shape(self, descriptor, given_timers):
        return ([_label(item["name"]) for item in descriptor.get(self.key) or []]
                + [_label(name) for name in descriptor.get("chassis_hosts") or []])

    def sources(self, descriptor):
        if not (descriptor.get(self.key) or descriptor.get("chassis_hosts")):
            return None
        sources = dict((c["name"], c["remote"]) for c in descriptor.get(self.key) or [])
        sources.update((name, CHASSIS_HOST_SOURCE) for name in descriptor.get("chassis_hosts") or [])
        return sources

    # -- the document
    def document_shape(self, value):
        return [_label(name) for name in value]

    def check_document(self, value, where):
        check_type(value, dict, where, "a dictionary of chassis names")
        accepted = chassis_keys()
        for name, part in value.items():
            here = "%s[%s]" % (where, name)
            check_type(part, dict, here, "a dictionary")
            check_string_map(part.get("external_ids"), here + ".external_ids", allow_null=True)
            extra = sorted(set(part["external_ids"]) - set(accepted))
            if not set(accepted) <= set(part["external_ids"]) or any(
                    not chassis_probe.probe_key_of(key) for key in extra):
                raise SnapshotError("%s.external_ids: records keys %s; expected %s and per-chassis keys"
                                    " (KEY-<system-id>) of them"
                                    % (here, ", ".join(sorted(part["external_ids"])), ", ".join(accepted)))

    def flatten(self, value):
        return [("chassis[%s].external_ids.%s" % (name, external_id), item)
                for name, part in value.items() for external_id, item in part["external_ids"].items()]

    def plan(self, live, want, copied):
        parts = {}
        for name, part in want.items():
            if name not in (live.get(self.key) or {}):
                continue
            have = dict((k, v) for k, v in live[self.key][name]["external_ids"].items() if v is not None)
            keys = chassis_probe.plan(have, part["external_ids"])
            if keys["changed"]:
                parts[_label(name)] = {"external_ids": {"set": keys["set"], "remove": keys["remove"]}}
        return parts

    # -- the live deployment
    @staticmethod
    def client(session, item):
        tables = {chassis_probe.TABLE: [chassis_probe.COLUMN]}
        return session.client(_label(item["name"]), item["remote"], chassis_probe.DATABASE, tables,
                              leader_only=False)

    def validate_params(self, session):
        for item in session.descriptor.get(self.key) or []:
            validate_connection_params(session.params_for(item["remote"]), chassis_probe.DATABASE)

    def read(self, session, live):
        """Each chassis by its remote; the chassis hosts' keys as the caller gave them (when given)."""
        if session.descriptor.get(self.key):
            live[self.key] = dict((item["name"], self._read_one(session, item))
                                  for item in session.descriptor[self.key])
        if session.descriptor.get("chassis_hosts") and session.given_chassis is not None:
            live.setdefault(self.key, {}).update(
                (name, {"external_ids": chassis_probe.recorded(session.given_chassis[name])})
                for name in session.descriptor["chassis_hosts"])

    def _read_one(self, session, item):
        client = self.client(session, item)
        client.refresh()
        try:
            _row, external_ids = chassis_probe.read(client)
        except OvsdbError as exc:
            raise SnapshotError("deployment.chassis[%s]: %s" % (item["name"], exc))
        return {"external_ids": chassis_probe.recorded(chassis_probe.managed(external_ids))}

    def restore_rows(self, session, want, parts):
        """The chassis reached by their remote, each on its own (one that fails leaves the others
        restored); those of chassis_hosts are left to the caller."""
        for item in session.descriptor.get(self.key) or []:
            label = _label(item["name"])
            if label in parts:
                session.restore_item(label, lambda item=item, label=label: self._write(
                    session, item, label, want[item["name"]]["external_ids"]))

    def _write(self, session, item, label, wanted):
        def build(_txn, ovsdb):
            row, external_ids = chassis_probe.read(ovsdb)
            return chassis_probe.apply(row, chassis_probe.plan(external_ids, wanted))

        transact(label, self.client(session, item), build)
