#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_tuning_apply
short_description: Apply a tuning profile to one OVN deployment in one run - listener probes, probe options, chassis, election timers
version_added: "0.2.0"
description:
  - Brings one deployment to a tuning profile (the fields of the roles' C(ovn_tuning_profile)) in one module run,
    with no gate, snapshot or staging - the direct way for ad-hoc runs and for playbooks of one's own; the staged
    rollout (C(kubedc.ovn_tuning.rollout)) adds those around the same writes.
  - Per database of O(deployment) one connection and one transaction - the C(inactivity_probe) of every listener row
    its global row references (C(NB_Global)/C(SB_Global) C(connections)) together with the probe keys of its
    C(options) (C(northd_probe_interval), C(nbctl_probe_interval), C(ic_probe_interval) and C(sbctl_probe_interval)
    in C(NB_Global) - ovn-northd copies C(NB_Global.options) into C(SB_Global.options) and undoes a write there; in
    C(SB_Global) only for a deployment without O(deployment.nb)); one per member's C(Local_Config) (kube-ovn
    clustered mode) and one per chassis in O(deployment.chassis) (ovn-controller's keys in
    C(Open_vSwitch.external_ids), only the named keys); then the RAFT election timers, stepped on the leader through
    O(deployment.nb.ctl_sockets) and O(deployment.sb.ctl_sockets) (at most doubling per step, each step committed
    before the next).
  - The order is the roles' apply step - every listener row before any probe option (SB's, each C(Local_Config)'s,
    then NB's in the transaction that also sets C(NB_Global.options)), then the chassis, then the timers - the
    servers become more patient before any client changes how often it speaks.
  - A database whose global row references no listener row (its listeners are on ovsdb-server's command line) gets a
    warning that its listener probe changes nothing there. A per-chassis key C(KEY-<system-id>) that overrides a
    plain key is left alone, with a warning (M(kubedc.ovn_tuning.ovn_chassis_probe) with C(per_chassis_keys=set)
    changes it too).
  - Every database is connected to and read, and every cluster's members are read, before the first write, so an
    unreachable part fails the run with nothing changed. Each write is a verified transaction (re-planned on a
    concurrent change) and is read back; a failure later in the run names the parts already applied. O(timeout)
    bounds each connection, each transaction and each election timer walk (each walk's from its start).
  - A profile field left out or V(null) leaves its knob alone; a field for a part the deployment does not have (no
    O(deployment.local_config), no chassis) is skipped, so that one profile serves every deployment.
  - kube-ovn's workload env (the profile's C(kube_ovn_env)) is not applied here - a new env restarts the database
    pods; M(kubedc.ovn_tuning.ovn_central_env), M(kubedc.ovn_tuning.ovs_ovn_env) and the rollout apply it.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.deployment
attributes:
  check_mode:
    description: Reads everything and reports every value that would change (election timer steps planned), without writing.
    support: full
  diff_mode:
    description: Returns every setting the profile names, per part, before and after.
    support: full
options:
  profile:
    description:
      - The tuning profile - the fields of C(ovn_tuning_profile) (docs/tunables.md gives each knob's unit and range;
        V(60s) and V(60000) are the same). Unknown fields and values out of range are refused before anything is
        contacted, naming the field.
      - C(nb_inactivity_probe), C(sb_inactivity_probe), C(local_config_inactivity_probe) - every listener row of
        that database; V(0) (no probe) only with C(allow_disabled_probe=true).
      - C(northd_probe_interval), C(nbctl_probe_interval), C(ic_probe_interval), C(sbctl_probe_interval)
        (C(NB_Global.options); ovn-northd copies C(sbctl_probe_interval) into C(SB_Global.options)).
      - C(chassis_remote_probe_interval), C(chassis_bridge_remote_probe_interval) - C(ovn-remote-probe-interval) and
        C(ovn-bridge-remote-probe-interval) of each chassis' C(external_ids).
      - C(nb_election_timer), C(sb_election_timer) - need the database's O(deployment.nb.ctl_sockets) /
        O(deployment.sb.ctl_sockets).
      - C(kube_ovn_env) must be empty or left out (see the description).
    type: dict
    required: true
notes:
  - Of O(deployment) this module writes O(deployment.nb), O(deployment.sb), O(deployment.local_config) and
    O(deployment.chassis). O(deployment.central_hosts), O(deployment.chassis_hosts), O(deployment.sb_relays) and
    O(deployment.kube_ovn) are accepted, so that the roles' C(ovn_deployment) can be passed as it is, and not
    contacted - an election timer in the profile needs the database's O(deployment.nb.ctl_sockets) /
    O(deployment.sb.ctl_sockets) on the host this module runs on (with central hosts the rollout walks it through
    the leader's host), and a chassis probe on chassis hosts is set with M(kubedc.ovn_tuning.ovn_chassis_probe)
    there (a warning says so).
  - One module run instead of one per database, listener row, chassis and timer - a deployment of NB, SB and two
    chassis is one task where the single-purpose modules take seven (docs/performance.md, benchmark 1).
  - The single-purpose modules (M(kubedc.ovn_tuning.ovsdb_connection), M(kubedc.ovn_tuning.ovn_global_options),
    M(kubedc.ovn_tuning.ovn_chassis_probe), M(kubedc.ovn_tuning.ovsdb_election_timer)) remain for one knob, for
    rows by target, removals and the options this profile does not carry.
seealso:
  - module: kubedc.ovn_tuning.ovn_tuning_snapshot
  - module: kubedc.ovn_tuning.ovsdb_connection
  - module: kubedc.ovn_tuning.ovn_global_options
  - module: kubedc.ovn_tuning.ovn_chassis_probe
  - module: kubedc.ovn_tuning.ovsdb_election_timer
"""

EXAMPLES = r"""
- name: Apply the incident's recommendation to this host's deployment (no staging, no gate)
  kubedc.ovn_tuning.ovn_tuning_apply:
    deployment: "{{ ovn_deployment }}"
    profile:
      nb_inactivity_probe: 60s
      sb_inactivity_probe: 60s
      northd_probe_interval: 60s
      chassis_remote_probe_interval: 5m
      nb_election_timer: 16s
      sb_election_timer: 16s

- name: Plan only - what would change, with the values before and after
  kubedc.ovn_tuning.ovn_tuning_apply:
    deployment:
      name: prod-1
      nb:
        remote: tcp:10.0.0.1:6641,tcp:10.0.0.2:6641,tcp:10.0.0.3:6641
      sb:
        remote: tcp:10.0.0.1:6642,tcp:10.0.0.2:6642,tcp:10.0.0.3:6642
    profile:
      nb_inactivity_probe: 60000
      sb_inactivity_probe: 60000
  check_mode: true
  diff: true
  register: plan
"""

RETURN = r"""
changes:
  description: Every value that changed (in check mode, would change), in the order written.
  returned: always
  type: list
  elements: dict
  contains:
    part:
      description: C(nb), C(sb), C(local_config[REMOTE]), C(chassis[NAME]), C(nb.election_timer) or C(sb.election_timer).
      type: str
    setting:
      description: C(connections[TARGET].inactivity_probe), C(options.KEY), C(external_ids.KEY) or C(election_timer).
      type: str
    before:
      description: The value before (V(null) - not set).
      type: raw
    after:
      description: The value after.
      type: raw
  sample:
    - {part: nb, setting: "connections[ptcp:6641:0.0.0.0].inactivity_probe", before: 5000, after: 60000}
    - {part: nb.election_timer, setting: election_timer, before: 1000, after: 16000}
before:
  description:
    - Every setting the profile names, per part, before the run (listener probes in ms, keys as strings); for a chassis
      also the per-chassis forms C(KEY-<system-id>) of the named keys that it has.
  returned: always
  type: dict
  sample: {"nb": {"connections[ptcp:6641:0.0.0.0].inactivity_probe": 5000, "options.northd_probe_interval": "5000"}}
after:
  description: The same settings after the run, as read back (in check mode, as they would be).
  returned: always
  type: dict
  sample: {"nb": {"connections[ptcp:6641:0.0.0.0].inactivity_probe": 60000, "options.northd_probe_interval": "60000"}}
election_timers:
  description: Per database whose timer the profile sets - the steps taken (planned in check mode) and the leader.
  returned: always
  type: dict
  sample: {"nb": {"election_timer_before": 1000, "election_timer_after": 16000, "leader": "...", "steps": []}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import deployment, snapshot
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    connection_spec, diff_result, run_module)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_part import SnapshotError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.tuning_apply import DeploymentTuning

TUNED_PARTS = ("nb", "sb", "local_config", "chassis")


def apply_profile(module):
    given = module.params["deployment"]
    if not any(given.get(key) for key in TUNED_PARTS):
        raise OvsdbConfigError("deployment: name at least one part to tune: %s" % ", ".join(TUNED_PARTS))
    # The descriptor's checks without its kube-ovn part, which this module does not use.
    try:
        descriptor = snapshot.validate_deployment(dict(given, kube_ovn=None))
    except SnapshotError as exc:
        raise OvsdbConfigError(str(exc))
    tuning = DeploymentTuning(descriptor, module.params["profile"], module.params, module.warn)
    result = tuning.run(check_mode=module.check_mode)
    result.update(diff_result(module, result["before"], result["after"]))
    return result


def main():
    spec = dict(
        profile=dict(type="dict", required=True),
        deployment=deployment.deployment_option(),
    )
    spec.update(connection_spec())
    del spec["remote"]  # each part of the deployment names its own remotes
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    run_module(module, lambda: apply_profile(module))


if __name__ == "__main__":
    main()
