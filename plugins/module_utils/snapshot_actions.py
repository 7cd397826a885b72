# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ovn_tuning_snapshot does: capture, restore and remove one deployment's snapshot, in a file or
in the deployment (state_store.InBandStore). The parts and the session of one run are snapshot.py,
the document snapshot_document.py; this file checks the module's options against them and runs each
state. A StoreError of the in-band store is a SnapshotError naming ``store`` here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import (
    chassis_probe, documents, snapshot, snapshot_document, state_store)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import diff_result
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_chassis import CHASSIS_HOST_SOURCE, chassis_keys
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_part import SnapshotError


def store_errors(work):
    """``work(module)`` with the in-band store's errors told as the module's ``store`` option's."""
    def run(module):
        try:
            return work(module)
        except state_store.StoreError as exc:
            raise SnapshotError("store: %s" % exc)
    return run


def given_timers(params, descriptor):
    """``election_timers`` checked: only for a database of the descriptor without ctl_sockets."""
    given = dict((k, int(v) if isinstance(v, str) and v.isdigit() else v)
                 for k, v in (params.get("election_timers") or {}).items())
    for key, value in sorted(given.items()):
        if key not in ("nb", "sb"):
            raise SnapshotError("election_timers: unknown key %r; accepted: nb, sb" % key)
        if value is None:
            continue
        if descriptor.get(key) is None:
            raise SnapshotError("election_timers.%s: the deployment has no %s part" % (key, key))
        if descriptor[key]["ctl_sockets"]:
            raise SnapshotError(
                "election_timers.%s: not with deployment.%s.ctl_sockets (the timer is then read through them)"
                % (key, key))
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise SnapshotError("election_timers.%s: must be the committed timer in ms (a positive"
                                " integer), got %r" % (key, value))
    return dict((k, v) for k, v in given.items() if v is not None)


def given_chassis(params, descriptor):
    """``chassis_state`` checked against ``deployment.chassis_hosts``: ``{host: {key: value or None}}``,
    or None when not given."""
    given = params.get("chassis_state")
    hosts = descriptor.get("chassis_hosts") or []
    if given is None:
        if hosts and params["state"] == "captured":
            raise SnapshotError(
                "chassis_state: required with deployment.chassis_hosts - the probe keys read on each chassis"
                " host (kubedc.ovn_tuning.ovn_chassis_probe's external_ids_before)")
        return None
    if not hosts:
        raise SnapshotError("chassis_state: only with deployment.chassis_hosts (the hosts it was read on)")
    if sorted(given) != sorted(hosts):
        raise SnapshotError(
            "chassis_state: must hold every chassis host of deployment.chassis_hosts and no other; missing: %s;"
            " not chassis hosts: %s" % (", ".join(sorted(set(hosts) - set(given))) or "none",
                                        ", ".join(sorted(set(given) - set(hosts))) or "none"))
    accepted = chassis_keys()
    out = {}
    for host in hosts:
        keys = given[host]
        where = "chassis_state.%s" % host
        if not isinstance(keys, dict):
            raise SnapshotError("%s: expected a map of probe keys to values, got %r" % (where, keys))
        unknown = sorted(key for key in keys if not chassis_probe.probe_key_of(str(key)))
        if unknown:
            raise SnapshotError("%s: unknown key(s) %s; accepted: %s and their per-chassis keys"
                                " (KEY-<system-id>)" % (where, ", ".join(unknown), ", ".join(accepted)))
        entry = {}
        for key in sorted(set(accepted) | set(keys)):
            value = keys.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
                raise SnapshotError("%s.%s: expected the key's string value or null, got %r"
                                    % (where, key, value))
            entry[key] = None if value is None else str(value)
        out[host] = entry
    return out


def _session(module, document=None):
    descriptor = snapshot.validate_deployment(module.params["deployment"])
    if document is not None and descriptor.get("chassis_hosts"):
        # A snapshot taken when the profile left the chassis alone holds none of them: restore what it holds.
        sources = (document.get("sources") or {}).get("chassis") or {}
        descriptor["chassis_hosts"] = [host for host in descriptor["chassis_hosts"]
                                       if sources.get(host) == CHASSIS_HOST_SOURCE] or None
    timers = given_timers(module.params, descriptor)
    chassis = given_chassis(module.params, descriptor)
    if chassis is None and document is not None and descriptor.get("chassis_hosts"):
        # Not read by the caller: compare with the snapshot's own values, hand every one back.
        recorded = document["tunables"].get("chassis") or {}
        chassis = dict((host, dict((recorded.get(host) or {}).get("external_ids") or {}))
                       for host in descriptor["chassis_hosts"])
    session = snapshot.DeploymentSession(descriptor, module.params, warn=module.warn, given_timers=timers,
                                         given_chassis=chassis)
    session.validate()
    return descriptor, session


def check_store_params(params):
    """The options of the chosen store, checked before anything is contacted."""
    if params["store"] == "file":
        if not params.get("path"):
            raise SnapshotError("path: required with store: file (the snapshot file); or keep the snapshot"
                                " in the deployment with store: deployment")
        if params.get("name") is not None:
            raise SnapshotError("name: only with store: deployment; a file snapshot is named by path")
        return
    if params.get("path"):
        raise SnapshotError("path: not with store: deployment (the snapshot is kept in the deployment and"
                            " named by name)")
    if params["keep"] is None or params["keep"] < 1:
        raise SnapshotError("keep: must be at least 1 (how many snapshots the deployment keeps), got %r"
                            % params["keep"])
    if params.get("name") is not None:
        try:
            state_store.name_of("snapshot", params["name"])
        except state_store.StoreError as exc:
            raise SnapshotError(str(exc))


def open_store(module, descriptor):
    """The deployment's in-band snapshots: the external_ids of its NB_Global (SB_Global without nb)."""
    part = "nb" if descriptor.get("nb") else "sb" if descriptor.get("sb") else None
    if part is None:
        raise SnapshotError("store: deployment keeps the snapshots in the global row of deployment.nb"
                            " (or deployment.sb); the descriptor has neither")
    return state_store.InBandStore(module.params, snapshot.DATABASE_OF[part], descriptor[part]["remote"],
                                   "kubedc.ovn_tuning.ovn_tuning_snapshot")


def load_in_band(store, external_ids, name):
    """The snapshot ``name`` of the store's ``external_ids``, checked."""
    key = state_store.key_of("snapshot", name)
    if key not in external_ids:
        held = state_store.names(external_ids, "snapshot")
        raise SnapshotError("name: no snapshot %s in %s; it holds %s" % (
            name, store.where, ", ".join(held) if held else "none (capture one with store: deployment)"))
    try:
        document = json.loads(external_ids[key])
    except ValueError as exc:
        raise SnapshotError("name: %s is not a JSON snapshot: %s" % (key, exc))
    try:
        return snapshot_document.validate_document(document)
    except SnapshotError as exc:
        raise SnapshotError("name: %s refused: %s" % (key, exc))


def _where(params, name=None):
    if params["store"] == "file":
        return {"path": params["path"]}
    return {"name": name, "key": state_store.key_of("snapshot", name) if name else None}


@store_errors
def capture(module):
    params = module.params
    check_store_params(params)
    existing = snapshot_document.check_destination(params["path"], params["force"]) if params["store"] == "file" else False
    descriptor, session = _session(module)
    try:
        live = session.read()
    finally:
        session.close()
    document = snapshot_document.build_document(descriptor["name"], session.sources, live)
    before = {}
    result = {"changed": True, "checksum": document["checksum"], "snapshot": document}
    if params["store"] == "deployment":
        name = state_store.name_of("snapshot", params.get("name") or (
            document["created_at"].replace("-", "").replace(":", "").replace("Z", ".000000Z") + "-snapshot"))
        value = documents.canonical_json(document)
        with open_store(module, descriptor) as store:
            current = store.read()
            if state_store.key_of("snapshot", name) in current:
                if not params["force"]:
                    raise SnapshotError("name: the deployment already holds a snapshot %s; give another name"
                                        " or force: true to replace it" % name)
                before = load_in_band(store, current, name)["tunables"]
            plan = state_store.plan_put(current, "snapshot", name, value, params["keep"])
            if not module.check_mode:
                plan = store.write(lambda ids: state_store.plan_put(ids, "snapshot", name, value, params["keep"]),
                                   "capture %s" % name)
        prefix = state_store.key_of("snapshot", "")
        result.update(_where(params, name), pruned=[key[len(prefix):] for key in plan["remove"]])
    else:
        if existing:
            try:
                before = snapshot_document.load_document(params["path"])["tunables"]
            except SnapshotError:
                before = {}
        if not module.check_mode:
            snapshot_document.write_document(params["path"], document, params["force"])
        result.update(_where(params))
    result.update(diff_result(module, before, copy.deepcopy(live)))
    return result


@store_errors
def remove(module):
    params = module.params
    check_store_params(params)
    if params["store"] == "file":
        there = os.path.lexists(params["path"])
        if there and not module.check_mode:
            os.remove(params["path"])
        return dict(_where(params), changed=there)
    if not params.get("name"):
        raise SnapshotError("name: required with state: absent and store: deployment")
    name = state_store.name_of("snapshot", params["name"])
    descriptor = snapshot.validate_deployment(params["deployment"])
    with open_store(module, descriptor) as store:
        there = state_store.key_of("snapshot", name) in store.read()
        if there and not module.check_mode:
            store.write(lambda ids: state_store.plan_remove(ids, "snapshot", name), "remove %s" % name)
    return dict(_where(params, name), changed=there)


def load_snapshot(module):
    """``(document, where)``: the snapshot to restore and the result keys that say where it was."""
    params = module.params
    check_store_params(params)
    if params["store"] == "file":
        return snapshot_document.load_document(params["path"]), _where(params), params["path"]
    descriptor = snapshot.validate_deployment(params["deployment"])
    with open_store(module, descriptor) as store:
        current = store.read()
        if params.get("name"):
            name = state_store.name_of("snapshot", params["name"])
        else:
            name = state_store.latest_snapshot(state_store.names(current, "snapshot"))
            if name is None:
                raise SnapshotError("name: %s holds no snapshot of kubedc.ovn_tuning; capture one with"
                                    " store: deployment" % store.where)
        document = load_in_band(store, current, name)
    return document, _where(params, name), state_store.key_of("snapshot", name)


@store_errors
def restore(module):
    params = module.params
    document, where, label = load_snapshot(module)
    descriptor, session = _session(module, document)
    read_on_hosts = params.get("chassis_state") is not None
    problems = snapshot.shape_differences(document, descriptor, session.given_timers)
    if problems:
        raise SnapshotError(
            "%s: %s is a snapshot of another deployment shape, so nothing was restored: %s. Give the"
            " descriptor the snapshot was captured with" % ("path" if params["store"] == "file" else "name", label,
                                                            "; ".join(problems)))
    wanted = document["tunables"]
    if snapshot.older_than_ovs_ovn(document, descriptor):
        module.warn("%s records kube-ovn's ovn-central env but not the ovs-ovn DaemonSet's (it was captured"
                    " before that part existed); the DaemonSet's env is left as it is" % label)
    try:
        live = session.read()
        plan = snapshot.plan_restore(live, wanted, session.copied)
        steps = {}
        after = live
        if plan["changed"]:
            try:
                steps = session.restore(wanted, plan, module.check_mode)
            except snapshot.RestoreIncomplete as exc:
                # Some parts were written: say which, and which not (the read-back would only repeat it).
                module.fail_json(msg=str(exc), changed=bool(exc.restored) and not module.check_mode,
                                 restored=exc.restored, not_restored=exc.not_restored, **where)
            if module.check_mode:
                after = wanted
            else:
                session.wait_for_copies(wanted)
                after = session.read()
                # Timers left to the caller were not written here (the given value is no read-back).
                left = [line for line in snapshot_document.differences(after, wanted)
                        if not any(line.startswith(key + ".election_timer:") for key in session.given_timers)
                        and not any(line.startswith("chassis[%s]." % host)
                                    for host in descriptor.get("chassis_hosts") or [])]
                if left:
                    raise SnapshotError(
                        "the restore was written but the read-back still differs from the snapshot (another"
                        " writer?): %s" % "; ".join(left))
    finally:
        session.close()
    result = dict(where)
    result.update(
        changed=plan["changed"], checksum=document["checksum"], snapshot=document, changes=plan["parts"],
        differences=snapshot_document.differences(live, wanted), steps=steps,
        election_timers_to_restore=dict(
            (label.split(".")[0], fact["target"]) for label, fact in steps.items() if fact.get("left_to_caller")),
        chassis_to_restore=dict(
            (host, wanted["chassis"][host]["external_ids"]) for host in descriptor.get("chassis_hosts") or []
            if not read_on_hosts or "chassis[%s]" % host in plan["parts"]))
    result.update(diff_result(module, live, after))
    return result
