#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_hv_sync
short_description: Wait until the named chassis have caught up with the Northbound database (the C(--wait=hv) barrier)
version_added: "0.2.0"
description:
  - The barrier of C(ovn-nbctl --wait=hv sync), for a list of chassis - a gate that every one of them still
    processes what the Northbound database says.
  - Increments C(NB_Global.nb_cfg) (with O(bump)), then watches C(Chassis_Private.nb_cfg) in the Southbound
    database until every chassis of O(chassis) shows that value or more. ovn-northd copies the value into
    C(SB_Global.nb_cfg); each ovn-controller writes it into its C(Chassis_Private) row once it has processed the
    database contents up to that point. A chassis whose ovn-controller is stopped, disconnected or stuck stays
    behind.
  - Incrementing C(nb_cfg) changes no configuration (it is what C(--wait) does), so the module reports
    V(changed=false).
  - The module fails, naming each chassis that stayed behind and the value it shows, when O(wait_timeout) passes.
    In check mode it does not increment C(nb_cfg), does not wait and does not fail - it reports where each chassis
    stands against the current C(nb_cfg).
  - Needs ovn-northd running - without it C(nb_cfg) never reaches the chassis.
  - One connection to each database per run.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.ovsdb.remote
attributes:
  check_mode:
    description: Reads only - no increment, no wait; reports where each chassis stands.
    support: full
  diff_mode:
    description: Nothing is configured, so there is no diff.
    support: none
options:
  remote:
    description:
      - The Northbound database, as for every module (falls back to E(OVN_NB_DB)).
    type: str
  sb_remote:
    description:
      - The Southbound database of the same deployment (C(tcp:IP:PORT), C(ssl:IP:PORT), C(unix:PATH), a comma
        separated list for a cluster; falls back to E(OVN_SB_DB)). The TLS options apply to both.
    type: str
  chassis:
    description:
      - The chassis to wait for, by name - the C(system-id) of each chassis' Open_vSwitch database, as
        M(kubedc.ovn_tuning.ovn_chassis_probe) returns it in RV(kubedc.ovn_tuning.ovn_chassis_probe#module:chassis).
    type: list
    elements: str
    required: true
  bump:
    description:
      - Increment C(NB_Global.nb_cfg) first, as C(--wait=hv) does. With V(false), wait for the current value - which
        a chassis that stopped after catching up still shows, so only use it to read.
    type: bool
    default: true
  wait_timeout:
    description: Seconds every chassis has to catch up.
    type: float
    default: 30.0
notes:
  - C(Chassis_Private) is in the Southbound schema since OVN 20.09.
seealso:
  - module: kubedc.ovn_tuning.ovn_controller_status
  - name: ovn-nbctl(8) --wait
    description: What C(--wait=hv) waits for.
    link: https://docs.ovn.org/en/latest/ref/ovn-nbctl.8.html
"""

EXAMPLES = r"""
- name: Gate a batch of chassis - each ovn-controller must catch up within 30 s
  kubedc.ovn_tuning.ovn_hv_sync:
    remote: tcp:10.0.0.11:6641,tcp:10.0.0.12:6641,tcp:10.0.0.13:6641
    sb_remote: tcp:10.0.0.11:6642,tcp:10.0.0.12:6642,tcp:10.0.0.13:6642
    chassis: [hv1, hv2, hv3]
    wait_timeout: 30
"""

RETURN = r"""
nb_cfg:
  description: The C(NB_Global.nb_cfg) waited for (after the increment).
  returned: always
  type: int
  sample: 42
synced:
  description: Whether every chassis of O(chassis) shows RV(nb_cfg) or more.
  returned: always
  type: bool
chassis:
  description: Per chassis name, the C(nb_cfg) its C(Chassis_Private) row shows (null without a row).
  returned: always
  type: dict
  sample: {hv1: 42, hv2: 41}
lagging:
  description: The chassis behind RV(nb_cfg), including those without a C(Chassis_Private) row.
  returned: always
  type: list
  elements: str
sb_nb_cfg:
  description: C(SB_Global.nb_cfg) at the end - ovn-northd's copy; below RV(nb_cfg), no chassis can catch up.
  returned: always
  type: int
missing:
  description: The chassis without a C(Chassis_Private) row (never registered, or deleted).
  returned: always
  type: list
  elements: str
waited_s:
  description: Seconds spent waiting for the chassis.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Deadline, OvsdbConfigError, OvsdbError, OvsdbTimeoutError)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    client_from_params, connection_spec, run_module, validate_connection_params)

NB = "OVN_Northbound"
SB = "OVN_Southbound"


def build_module():
    argument_spec = dict(
        sb_remote=dict(type="str"),
        chassis=dict(type="list", elements="str", required=True),
        bump=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=30.0),
    )
    argument_spec.update(connection_spec())
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)


def sb_params(params):
    return dict(params, remote=params["sb_remote"])


def check_params(params):
    names = [str(name).strip() for name in params["chassis"]]
    if not names or not all(names):
        raise OvsdbConfigError("chassis: give the name (system-id) of every chassis to wait for, got %r"
                               % (params["chassis"],))
    twice = sorted(set(name for name in names if names.count(name) > 1))
    if twice:
        raise OvsdbConfigError("chassis: each chassis once, listed twice: %s" % ", ".join(twice))
    if params["wait_timeout"] is None or params["wait_timeout"] <= 0:
        raise OvsdbConfigError("wait_timeout: must be a positive number of seconds, got %r" % params["wait_timeout"])
    validate_connection_params(params, NB)
    validate_connection_params(sb_params(params), SB)
    return names


def _nb_global(client):
    rows = client.rows("NB_Global")
    if len(rows) != 1:
        raise OvsdbError("remote: %s holds %d NB_Global rows, expected one" % (client.remote, len(rows)))
    return rows[0]


def target_nb_cfg(params, check_mode):
    """The nb_cfg to wait for: the current one + 1 after incrementing it (bump), else the current one."""
    with client_from_params(params, NB, {"NB_Global": ["nb_cfg"]}) as client:
        if not params["bump"] or check_mode:
            return _nb_global(client).nb_cfg
        written = {}

        def build(_txn, ovsdb):
            row = _nb_global(ovsdb)
            row.verify("nb_cfg")
            written["nb_cfg"] = row.nb_cfg + 1
            row.nb_cfg = written["nb_cfg"]
            return True

        client.transact(build, comment="kubedc.ovn_tuning.ovn_hv_sync")
        return written["nb_cfg"]


def standing(client, names, target):
    shown = dict((name, None) for name in names)
    for row in client.rows("Chassis_Private"):
        if row.name in shown:
            shown[row.name] = row.nb_cfg
    missing = sorted(name for name, value in shown.items() if value is None)
    lagging = sorted(name for name, value in shown.items() if value is None or value < target)
    return shown, lagging, missing


def sync(params, check_mode):
    names = check_params(params)
    target = target_nb_cfg(params, check_mode)
    started = time.time()
    with client_from_params(sb_params(params), SB, {"Chassis_Private": ["name", "nb_cfg"],
                                                    "SB_Global": ["nb_cfg"]}) as client:
        state = {}

        def caught_up():
            state["now"] = standing(client, names, target)
            return not state["now"][1]

        if not caught_up() and not check_mode:
            try:
                client.wait_until(caught_up, Deadline(params["wait_timeout"], "the chassis catching up"),
                                  "waiting for the chassis to reach nb_cfg %d" % target)
            except OvsdbTimeoutError:
                pass
        sb_rows = client.rows("SB_Global")
        copied = sb_rows[0].nb_cfg if len(sb_rows) == 1 else None
    shown, lagging, missing = state["now"]
    result = {"changed": False, "nb_cfg": target, "synced": not lagging, "chassis": shown,
              "lagging": lagging, "missing": missing, "sb_nb_cfg": copied,
              "waited_s": round(time.time() - started, 3)}
    if lagging and not check_mode:
        why = ""
        if copied is None or copied < target:
            why = (" - ovn-northd has not copied it into SB_Global.nb_cfg (%s): is an ovn-northd running and"
                   " active for this deployment?" % copied)
        raise SyncError(result, "%d of %d chassis did not reach nb_cfg %d within %.0f s: %s%s" % (
            len(lagging), len(names), target, params["wait_timeout"],
            ", ".join("%s (%s)" % (name, "no Chassis_Private row" if shown[name] is None
                                   else "at %d" % shown[name]) for name in lagging), why))
    return result


class SyncError(Exception):
    def __init__(self, result, message):
        Exception.__init__(self, message)
        self.result = result


def main():
    module = build_module()

    def work():
        try:
            return sync(module.params, module.check_mode)
        except SyncError as exc:
            module.fail_json(msg=str(exc), **exc.result)

    run_module(module, work)


if __name__ == "__main__":
    main()
