#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_chassis_probe
short_description: Set or remove ovn-controller's probe intervals in a hypervisor's local Open_vSwitch database
version_added: "0.1.0"
description:
  - Sets or removes the probe keys ovn-controller reads from C(external_ids) of the one C(Open_vSwitch) row of the
    hypervisor's local database - C(ovn-remote-probe-interval) (its connection to the Southbound database),
    C(ovn-bridge-remote-probe-interval) and C(ovn-openflow-probe-interval) (its OpenFlow connection to the
    integration bridge).
  - Only the named keys change. The write is a per-key mutation in one transaction, not a rewrite of the map, so
    C(system-id), C(ovn-remote), C(ovn-encap-*) and every other key are kept, even when someone writes them
    between this module's read and its write. The map is read back after the write.
  - ovn-controller reads a per-chassis key C(KEY-<system-id>) before the plain C(KEY) (so that chassis sharing
    one configuration can differ). Where this chassis has one, a change of the plain key alone does not reach
    ovn-controller; O(per_chassis_keys) says what to do, and RV(effective_after) reports the value each key
    really has for ovn-controller and which key it comes from.
  - ovn-controller picks the new values up at run time; it is not restarted.
  - Bad input fails before the database is contacted, with a message naming the option and the accepted values.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.ovsdb.remote
attributes:
  check_mode:
    description: Reads the map and reports what would change, without writing.
    support: full
  diff_mode:
    description: Returns the managed probe keys that are set, before and after.
    support: full
options:
  remote:
    description:
      - The hypervisor's local Open_vSwitch database (the one ovs-vswitchd and ovn-controller use), as
        C(unix:PATH), C(tcp:IP:PORT) or C(ssl:IP:PORT).
      - This database is standalone; O(leader_only) has no effect.
    type: str
    default: unix:/var/run/openvswitch/db.sock
  remote_probe_interval:
    description:
      - C(external_ids:ovn-remote-probe-interval) - how often ovn-controller probes its Southbound connection.
      - With O(state=present), milliseconds as an integer or a string with a unit (V(30s), V(1m), V(30000ms)) -
        V(0) (disabled) or 1000 ms to one hour. Unset means 5000 ms.
      - With O(state=absent), V(true) removes the key.
    type: raw
  bridge_remote_probe_interval:
    description:
      - C(external_ids:ovn-bridge-remote-probe-interval) - the probe of ovn-controller's OpenFlow connection to the
        integration bridge. Read by OVN 24.09 and later only; older ovn-controller ignores it (the module warns).
      - With O(state=present), milliseconds as for O(remote_probe_interval). With O(state=absent), V(true)
        removes the key.
    type: raw
  openflow_probe_interval:
    description:
      - C(external_ids:ovn-openflow-probe-interval) - the same OpenFlow probe in B(seconds), read by OVN before
        24.03 and ignored since (the module warns).
      - With O(state=present), seconds as an integer or a string with a unit (V(30s), V(1m)) - V(0) (disabled) or
        1 to 3600 s. With O(state=absent), V(true) removes the key.
    type: raw
  per_chassis_keys:
    description:
      - What to do when this chassis has a per-chassis key C(KEY-<system-id>) (C(system-id) from the same
        C(external_ids)) for a key being set or removed - ovn-controller reads it first.
      - V(warn) changes the plain key only and warns that the per-chassis key keeps its value in force.
      - V(set) gives the per-chassis key the same value (or removes it with O(state=absent)), so that the value
        reaches ovn-controller. A per-chassis key that is not set is never created.
    type: str
    choices: [warn, set]
    default: warn
  restore:
    description:
      - Put the managed probe keys back exactly as recorded - a map of key to value or null as RV(external_ids_before)
        returns it or a snapshot records it (kubedc.ovn_tuning.ovn_tuning_snapshot's C(chassis_to_restore)). Keys
        with a value are set, null ones removed; a plain key left out counts as null. Per-chassis keys
        (C(KEY-<system-id>)) are put back too; one not in the map is left alone.
      - Values are checked as the interval options are (milliseconds; seconds for C(ovn-openflow-probe-interval)).
      - Not together with the interval options, O(state=absent) or O(per_chassis_keys=set).
    type: dict
  state:
    description:
      - V(present) sets each given option's key to its value.
      - V(absent) removes the key of each option given as V(true) (ovn-controller then uses its built-in default);
        options left out, or V(false), are not touched. At least one option (or O(restore)) is needed either way.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Run it on each hypervisor (or delegate with O(remote) pointing at the hypervisor's database).
  - The Southbound side of the same connection is the SB listener's C(inactivity_probe)
    (M(kubedc.ovn_tuning.ovsdb_connection)); raise both together.
seealso:
  - module: kubedc.ovn_tuning.ovsdb_connection
  - name: ovn-controller(8) Open_vSwitch external_ids
    description: The keys ovn-controller reads and their meaning.
    link: https://docs.ovn.org/en/latest/ref/ovn-controller.8.html
"""

EXAMPLES = r"""
- name: Give ovn-controller a 60 s probe to the Southbound database
  kubedc.ovn_tuning.ovn_chassis_probe:
    remote_probe_interval: 60s

- name: Tune the OpenFlow probe for old and new OVN alike
  kubedc.ovn_tuning.ovn_chassis_probe:
    remote_probe_interval: 60000
    bridge_remote_probe_interval: 30s   # OVN >= 24.09
    openflow_probe_interval: 30         # seconds; OVN < 24.03

- name: Set the probe also where this chassis has its own per-chassis key (ovn-remote-probe-interval-<system-id>)
  kubedc.ovn_tuning.ovn_chassis_probe:
    remote_probe_interval: 60s
    per_chassis_keys: set

- name: Put the keys back as an earlier run found them
  kubedc.ovn_tuning.ovn_chassis_probe:
    restore: "{{ probe_before.external_ids_before }}"

- name: Back to ovn-controller's defaults
  kubedc.ovn_tuning.ovn_chassis_probe:
    remote_probe_interval: true
    openflow_probe_interval: true
    state: absent
"""

RETURN = r"""
changed:
  description: Whether a key was (or, in check mode, would be) set or removed.
  returned: always
  type: bool
external_ids_before:
  description: >-
    The managed probe keys that were set before the run, per-chassis keys of this chassis (C(KEY-<system-id>))
    included (other external_ids keys are left out).
  returned: always
  type: dict
  sample: {ovn-remote-probe-interval: "5000", ovn-remote-probe-interval-hv1: "10000"}
external_ids_after:
  description: The managed probe keys set after the run, read back (predicted in check mode).
  returned: always
  type: dict
  sample: {ovn-remote-probe-interval: "60000", ovn-openflow-probe-interval: "30"}
effective_before:
  description: >-
    For each managed key, what ovn-controller of this chassis reads before the run - C(value) (null: unset, the
    built-in default) and C(from), the key it comes from (the per-chassis key where set, else the plain key).
  returned: always
  type: dict
  sample: {ovn-remote-probe-interval: {value: "10000", from: ovn-remote-probe-interval-hv1}}
effective_after:
  description: The same after the run (read back; predicted in check mode).
  returned: always
  type: dict
  sample: {ovn-remote-probe-interval: {value: "60000", from: ovn-remote-probe-interval-hv1}}
chassis:
  description: The chassis name (C(external_ids:system-id)) of this database, or null when it has none.
  returned: always
  type: str
  sample: hv1
diff:
  description: The managed probe keys that are set, before and after.
  returned: when Ansible runs with C(--diff)
  type: dict
  contains:
    before:
      description: "C({external_ids: {KEY: VALUE}}) before."
      type: dict
    after:
      description: "C({external_ids: {KEY: VALUE}}) after (predicted in check mode)."
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import chassis_probe
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    client_from_params, connection_spec, diff_result, run_module, validate_connection_params)


def desired_from(params):
    """The keys to write, from the interval options or from O(restore); checked before any connection."""
    if params["restore"] is None:
        return chassis_probe.desired_keys(params, params["state"])
    given = [option for option, _key in chassis_probe.OPTION_KEYS if params.get(option) is not None]
    if given or params["state"] == "absent" or params["per_chassis_keys"] == "set":
        raise chassis_probe.ChassisProbeError(
            "restore: puts back the keys as recorded, not together with %s" % ", ".join(
                given + (["state=absent"] if params["state"] == "absent" else [])
                + (["per_chassis_keys=set"] if params["per_chassis_keys"] == "set" else [])))
    return chassis_probe.restore_keys(params["restore"])


def manage_probes(module):
    params = module.params
    desired = desired_from(params)
    # A restore names every key it puts back; per-chassis keys it does not name are left alone.
    per_chassis = None if params["restore"] is not None else params["per_chassis_keys"]
    validate_connection_params(params, chassis_probe.DATABASE)
    for warning in chassis_probe.warnings_for(desired):
        module.warn(warning)
    tables = {chassis_probe.TABLE: [chassis_probe.COLUMN]}
    with client_from_params(params, chassis_probe.DATABASE, tables, leader_only=False) as client:
        _row, external_ids = chassis_probe.read(client)
        changes, committed = client.converge(
            lambda ovsdb: chassis_probe.plan(chassis_probe.read(ovsdb)[1], desired, per_chassis),
            lambda _txn, ovsdb, planned: chassis_probe.apply(chassis_probe.read(ovsdb)[0], planned),
            check_mode=module.check_mode,
            comment="kubedc.ovn_tuning.ovn_chassis_probe %s" % ",".join(sorted(desired)))
        after = changes["after"]
        if committed is not None:
            changes = committed
            client.refresh()
            _row, external_ids = chassis_probe.read(client)
            after = chassis_probe.managed(external_ids)
            if after != changes["after"]:
                raise chassis_probe.ChassisProbeError(
                    "read back after the write: external_ids shows %s, expected %s (another writer"
                    " changed these keys at the same time?)" % (after, changes["after"]))
    for warning in changes["warnings"]:
        module.warn(warning)
    result = {
        "changed": changes["changed"],
        "external_ids_before": changes["before"],
        "external_ids_after": after,
        "effective_before": changes["effective_before"],
        "effective_after": changes["effective_after"],
        "chassis": external_ids.get(chassis_probe.SYSTEM_ID_KEY),
    }
    result.update(diff_result(module, {"external_ids": changes["before"]}, {"external_ids": after}))
    return result


def main():
    argument_spec = dict(
        remote_probe_interval=dict(type="raw"),
        bridge_remote_probe_interval=dict(type="raw"),
        openflow_probe_interval=dict(type="raw"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        per_chassis_keys=dict(type="str", default="warn", choices=list(chassis_probe.PER_CHASSIS_CHOICES)),
        restore=dict(type="dict"),
    )
    argument_spec.update(connection_spec(remote=dict(default=chassis_probe.DEFAULT_REMOTE)))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, lambda: manage_probes(module))


if __name__ == "__main__":
    main()
