#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_global_options
short_description: Set or remove keys of NB_Global.options / SB_Global.options (northd and client probes)
version_added: "0.1.0"
description:
  - Sets or removes the named keys of the C(options) map of the one C(NB_Global) row (OVN_Northbound) or
    C(SB_Global) row (OVN_Southbound) - among them the probe intervals of ovn-northd
    (C(northd_probe_interval)), ovn-nbctl/ovn-sbctl in daemon mode (C(nbctl_probe_interval),
    C(sbctl_probe_interval)) and ovn-ic (C(ic_probe_interval)).
  - Only the named keys change. The write is a per-key mutation, not a rewrite of the map, so keys that
    ovn-northd or an operator set (even between this module's read and its write) are kept.
  - Known probe keys are validated as intervals (integer milliseconds or a string with a unit such as
    V(60s)) and written as the integer number of milliseconds; a known key given for the wrong database is
    refused, naming the database it belongs to. Other keys are written as strings.
  - Bad input fails before the database is contacted, with a message naming the option and the accepted values.
  - A missing global row is created, as ovn-nbctl does.
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
    description: Returns the named keys before and after (keys that are not set are left out).
    support: full
options:
  database:
    description:
      - The database whose global row to change - V(OVN_Northbound) (C(NB_Global)) or V(OVN_Southbound) (C(SB_Global)).
      - While ovn-northd runs, C(SB_Global.options) is its copy of C(NB_Global.options) - ovn-northd undoes any
        change made there at once. The module then refuses V(OVN_Southbound) (it recognises the map by the keys
        ovn-northd writes, such as C(northd_internal_version)); set the keys in V(OVN_Northbound) and ovn-northd
        copies them into C(SB_Global.options), where ovn-sbctl reads C(sbctl_probe_interval).
    type: str
    required: true
    choices: [OVN_Northbound, OVN_Southbound]
  options:
    description:
      - With O(state=present), a dictionary of key to value. A null value removes the key.
      - With O(state=absent), the keys to remove - a list of key names, or a dictionary whose values are ignored.
      - Known probe keys (C(northd_probe_interval), C(nbctl_probe_interval), C(ic_probe_interval) and
        C(sbctl_probe_interval) in OVN_Northbound; C(sbctl_probe_interval) in an OVN_Southbound that ovn-northd
        does not maintain) take V(0) (disabled) or 1000 ms to one hour,
        as an integer in ms or a string with a unit (V(30s), V(5m), V(60000ms)); negative values, 1-999 ms and
        values over one hour are refused. Other keys take a string, a number or a boolean (written as
        V(true)/V(false)).
    type: raw
    required: true
  state:
    description: V(present) sets the given keys (and removes those given as null); V(absent) removes the named keys whatever their value.
    type: str
    choices: [present, absent]
    default: present
notes:
  - ovn-northd reads C(northd_probe_interval) at run time; no restart is needed. kube-ovn's
    C(OVN_NORTHD_PROBE_INTERVAL) only sets it when a cluster is first bootstrapped, so a running cluster
    needs this module.
seealso:
  - module: kubedc.ovn_tuning.ovsdb_connection
  - name: ovn-nb(5) NB_Global options
    description: The keys of NB_Global.options and their meaning.
    link: https://docs.ovn.org/en/latest/ref/ovn-nb.5.html#nb-global-table
"""

EXAMPLES = r"""
- name: Give ovn-northd a 60 s probe to the NB and SB databases
  kubedc.ovn_tuning.ovn_global_options:
    remote: tcp:10.0.0.11:6641,tcp:10.0.0.12:6641,tcp:10.0.0.13:6641
    database: OVN_Northbound
    options:
      northd_probe_interval: 60s
      nbctl_probe_interval: 30000

- name: Back to the built-in default (remove the key)
  kubedc.ovn_tuning.ovn_global_options:
    database: OVN_Northbound   # remote from OVN_NB_DB
    options: [northd_probe_interval]
    state: absent

- name: ovn-sbctl's probe - set in NB_Global, ovn-northd copies it into SB_Global where ovn-sbctl reads it
  kubedc.ovn_tuning.ovn_global_options:
    remote: "{{ ovn_nb_db }}"
    database: OVN_Northbound
    options:
      sbctl_probe_interval: 1m
"""

RETURN = r"""
changed:
  description: Whether a key was (or, in check mode, would be) set or removed.
  returned: always
  type: bool
options_before:
  description: The named keys before the run; a key that was not set is null.
  returned: always
  type: dict
  sample: {northd_probe_interval: "5000"}
options_after:
  description: The named keys after the run, read back (predicted in check mode); a key that is not set is null.
  returned: always
  type: dict
  sample: {northd_probe_interval: "60000"}
options:
  description: The whole options map after the run, read back (predicted in check mode).
  returned: always
  type: dict
  sample: {northd_probe_interval: "60000", mac_prefix: "0a:f1:22"}
diff:
  description: The named keys that are set, before and after.
  returned: when Ansible runs with C(--diff)
  type: dict
  contains:
    before:
      description: "C({options: {KEY: VALUE}}) before."
      type: dict
    after:
      description: "C({options: {KEY: VALUE}}) after (predicted in check mode)."
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import global_options
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    client_from_params, connection_spec, diff_result, run_module, validate_connection_params)


def manage_options(module):
    params = module.params
    database = params["database"]
    desired = global_options.desired_options(database, params["options"], params["state"])
    validate_connection_params(params, database)
    table = global_options.global_table(database)
    with client_from_params(params, database, {table: [global_options.OPTIONS_COLUMN]}) as client:
        _row, current = global_options.read_options(client, database)
        global_options.check_not_a_copy(database, current)
        changes, committed = client.converge(
            lambda ovsdb: global_options.plan(global_options.read_options(ovsdb, database)[1], desired),
            lambda txn, ovsdb, planned: global_options.apply(txn, ovsdb, planned, database),
            check_mode=module.check_mode,
            comment="kubedc.ovn_tuning.ovn_global_options %s" % ",".join(sorted(desired)))
        options_after = changes["options_after"]
        if committed is not None:
            changes = committed
            client.refresh()
            _row, options_after = global_options.read_options(client, database)
    named_after = dict((key, options_after.get(key)) for key in sorted(desired))
    result = {
        "changed": changes["changed"],
        "options_before": changes["before"],
        "options_after": named_after,
        "options": options_after,
    }
    result.update(diff_result(
        module, {"options": _set_only(changes["before"])}, {"options": _set_only(named_after)}))
    return result


def _set_only(values):
    return dict((key, value) for key, value in values.items() if value is not None)


def main():
    argument_spec = dict(
        database=dict(type="str", required=True, choices=sorted(global_options.GLOBAL_TABLES)),
        options=dict(type="raw", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    argument_spec.update(connection_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, lambda: manage_options(module))


if __name__ == "__main__":
    main()
