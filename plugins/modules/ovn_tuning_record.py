#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_tuning_record
short_description: Keep a promotion or override record of the rollout in the OVN deployment itself
version_added: "0.2.0"
description:
  - Writes and reads the bookkeeping records of the kubedc.ovn_tuning roles - the promotion record staging writes for
    a profile (what production requires) and the record of an overridden promotion check - B(in the deployment), so
    that a job that runs in a fresh container with no disk that outlives it (an AWX job) finds what an earlier job
    wrote. Snapshots go the same way with M(kubedc.ovn_tuning.ovn_tuning_snapshot) O(kubedc.ovn_tuning.ovn_tuning_snapshot#module:store=deployment).
  - A record is the key C(kubedc-ovn-tuning:KIND:NAME) of C(external_ids) of the database's global row
    (C(NB_Global), or C(SB_Global) with O(database=OVN_Southbound)); its value is compact JSON sealed with the
    sha256 of its content (C(seal)) and stamped with C(stored_at_epoch). Read one with
    C(ovn-nbctl get NB_Global . 'external_ids:"kubedc-ovn-tuning:promotion:CHECKSUM"') (the key holds C(:), so it is quoted).
  - Only keys under C(kubedc-ovn-tuning:) are ever written (map mutations of single keys); another tool's keys are
    not touched. At most O(keep) records of a kind are kept; a write removes the oldest in the same transaction.
  - A record whose seal does not match its content is refused (the module fails naming the key).
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.ovsdb.remote
attributes:
  check_mode:
    support: full
    description: O(state=present) returns the record it would write and the records it would remove; writes nothing.
  diff_mode:
    support: none
    description: A record is bookkeeping, not a setting; there is nothing to show as a diff.
options:
  database:
    description: The database whose global row holds the records.
    type: str
    choices: [OVN_Northbound, OVN_Southbound]
    default: OVN_Northbound
  kind:
    description: V(promotion) - a profile's promotion record (named by the profile checksum); V(override) - a record of an overridden promotion check.
    type: str
    choices: [promotion, override]
    required: true
  name:
    description: The record's name (1-200 letters, digits, C(.), C(_), C(-)), or its whole key.
    type: str
    required: true
  state:
    description: V(present) writes O(content) under O(name); V(read) returns the record (null when there is none).
    type: str
    choices: [present, read]
    default: read
  content:
    description: With O(state=present), the record - a mapping of plain JSON data.
    type: dict
  keep:
    description: With O(state=present), how many records of O(kind) the deployment keeps (the oldest by C(stored_at_epoch) go).
    type: int
    default: 10
notes:
  - Writing a record is bookkeeping, not a change to how the deployment runs; the roles register it with
    C(changed_when=false) so that a rollout that changes no tunable still reports no change.
seealso:
  - module: kubedc.ovn_tuning.ovn_tuning_snapshot
"""

EXAMPLES = r"""
- name: Staging passed - keep the promotion record in the staging deployment
  kubedc.ovn_tuning.ovn_tuning_record:
    remote: tcp:10.0.0.11:6641,tcp:10.0.0.12:6641,tcp:10.0.0.13:6641
    kind: promotion
    name: "{{ profile_checksum }}"
    state: present
    content: {status: promoted, checksum: "{{ profile_checksum }}"}

- name: Production - read it back from a staging deployment
  kubedc.ovn_tuning.ovn_tuning_record:
    remote: "{{ hostvars['staging-1'].ovn_deployment.nb.remote }}"
    kind: promotion
    name: "{{ profile_checksum }}"
  register: promotion
"""

RETURN = r"""
key:
  description: The C(external_ids) key of the record.
  returned: always
  type: str
  sample: kubedc-ovn-tuning:promotion:5f0c6a6a3e2f0f4b8d1c9e0a7b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c
record:
  description: The record as stored (with C(seal) and C(stored_at_epoch)), or null when O(state=read) finds none.
  returned: always
  type: dict
  sample: {"status": "promoted", "checksum": "5f0c...", "stored_at_epoch": 1796543210.5, "seal": "9a1b..."}
pruned:
  description: With O(state=present), the keys of the older records removed (or that would be) to keep O(keep).
  returned: with O(state=present)
  type: list
  elements: str
  sample: []
remote:
  description: The server the record was read from or written to.
  returned: always
  type: str
  sample: tcp:10.0.0.11:6641
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents, state_store
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec, run_module


def argument_spec():
    spec = dict(
        database=dict(type="str", default="OVN_Northbound", choices=["OVN_Northbound", "OVN_Southbound"]),
        kind=dict(type="str", required=True, choices=["promotion", "override"]),
        name=dict(type="str", required=True),
        state=dict(type="str", default="read", choices=["present", "read"]),
        content=dict(type="dict"),
        keep=dict(type="int", default=10),
    )
    spec.update(connection_spec())
    return spec


def work(module):
    params = module.params
    try:
        name = state_store.name_of(params["kind"], params["name"])
        if params["state"] == "present":
            if params["keep"] is None or params["keep"] < 1:
                raise state_store.StoreError("keep: must be at least 1, got %r" % params["keep"])
            record = state_store.seal(dict(params["content"], stored_at_epoch=round(time.time(), 3)))
            value = documents.canonical_json(record)
        elif params["content"] is not None:
            raise state_store.StoreError("content: only with state: present")
    except (state_store.StoreError, TypeError, ValueError) as exc:
        raise OvsdbError(str(exc))
    key = state_store.key_of(params["kind"], name)
    try:
        with state_store.InBandStore(params, params["database"], params["remote"],
                                     "kubedc.ovn_tuning.ovn_tuning_record") as store:
            current = store.read()
            result = {"key": key, "remote": store.client.remote, "changed": False}
            if params["state"] == "read":
                result["record"] = state_store.unseal(current[key], key) if key in current else None
                return result

            def plan(external_ids):
                return state_store.plan_put(external_ids, params["kind"], name, value, params["keep"])
            planned = plan(current)
            if not module.check_mode:
                planned = store.write(plan, key)
    except state_store.StoreError as exc:
        raise OvsdbError(str(exc))
    result.update(record=record, pruned=planned["remove"], changed=True)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "present", ("content",))])
    run_module(module, lambda: work(module))


if __name__ == "__main__":
    main()
