#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovs_ovn_env
short_description: Set environment variables of kube-ovn's ovs-ovn DaemonSet without restarting OVS by surprise
version_added: "0.2.0"
description:
  - Sets, changes or removes environment variables of one container of kube-ovn's C(ovs-ovn) DaemonSet (the
    C(openvswitch) container by default), touching only the variables named in O(env) and keeping every other entry
    and its order.
  - At every start of an ovs-ovn pod, kube-ovn's C(start-ovs.sh) writes E(OVN_REMOTE_PROBE_INTERVAL) (B(milliseconds),
    default 10000) into the node's C(Open_vSwitch.external_ids:ovn-remote-probe-interval) and
    E(OVN_REMOTE_OPENFLOW_INTERVAL) (B(seconds), default 180) into C(ovn-openflow-probe-interval). A chassis probe
    changed only on the running nodes (M(kubedc.ovn_tuning.ovn_chassis_probe)) is therefore undone at the next
    ovs-ovn pod start; this module makes the change persist. Both variables are validated in their unit; a value
    with a unit (V(5m), V(180s)) is converted.
  - B(What a change does to the nodes depends on the DaemonSet's C(updateStrategy)). With C(OnDelete) nothing
    restarts now - each pod takes the new environment when it is next deleted or restarted (RV(rollout) counts
    the pods still on the old template). With C(RollingUpdate) Kubernetes replaces the pod on every node, which
    restarts OVS and ovn-controller there and disrupts each node's datapath while they do - the module refuses
    such a change, in check mode too and before writing anything, unless O(allow_restart=true).
  - The write is conditional on the C(metadata.resourceVersion) that was read; on 409 Conflict the module reads
    again and re-applies its change on top, at most 5 times with jittered backoff.
  - Returns the container's whole environment before and after, and O(env)-ready values (RV(rollback_env)) that
    put back exactly what was replaced.
  - A variable of the C(ovn-central) Deployment (E(OVN_LEADER_PROBE_INTERVAL) and the like) is refused, naming
    M(kubedc.ovn_tuning.ovn_central_env).
author:
  - kubedc.ovn_tuning contributors (@kubedc)
options:
  namespace:
    description: Namespace of the DaemonSet.
    type: str
    default: kube-system
  name:
    description: Name of the DaemonSet.
    type: str
    default: ovs-ovn
  container:
    description:
      - Container of the pod template whose environment is managed. Defaults to the container named
        C(openvswitch). When it does not exist the module fails and lists the containers there are.
    type: str
  env:
    description:
      - Variables to set, as name to value. Only these variables are touched.
      - A value of V(null) removes the variable (C(start-ovs.sh) then uses its default).
      - E(OVN_REMOTE_PROBE_INTERVAL) (milliseconds, 0 or 1000-3600000) and E(OVN_REMOTE_OPENFLOW_INTERVAL)
        (seconds, 0 or 1-3600) take a number in their unit or a string with a unit.
      - Other variables are passed through as strings; a mapping with the one key C(valueFrom) sets a variable from
        a reference, as Kubernetes writes it.
      - Empty (the default) only reads the DaemonSet and returns its environment and rollout status.
    type: dict
    default: {}
  allow_restart:
    description:
      - Accept a change of a DaemonSet whose C(updateStrategy) is C(RollingUpdate) (or anything but C(OnDelete)),
        which makes Kubernetes restart OVS on every node, one node at a time as the strategy says.
      - Without it such a change fails, names the strategy and writes nothing. Not needed with C(OnDelete).
    type: bool
    default: false
  wait:
    description:
      - With C(RollingUpdate), wait until every scheduled pod runs the current template and is available (as
        C(kubectl rollout status) judges a DaemonSet), and fail when that does not happen within O(wait_timeout).
      - With C(OnDelete) there is nothing to wait for once the controller has observed the change.
      - Never in check mode.
    type: bool
    default: true
  wait_timeout:
    description: How long to wait for the rollout, in seconds.
    type: int
    default: 600
extends_documentation_fragment:
  - kubedc.ovn_tuning.k8s_auth
attributes:
  check_mode:
    support: full
    description: Reads the DaemonSet and returns what would change (or the refusal); writes nothing and does not wait.
  diff_mode:
    support: full
    description: The container's environment (name to value) before and after.
notes:
  - Needs C(get) and C(patch) on C(daemonsets) (API group C(apps)) in O(namespace); check mode and an empty O(env)
    need only C(get).
  - Pair it with M(kubedc.ovn_tuning.ovn_chassis_probe) on the nodes for the value in force now; the rollout role
    does both for a deployment with C(kube_ovn) (see C(docs/kube-ovn.md)).
seealso:
  - module: kubedc.ovn_tuning.ovn_chassis_probe
  - module: kubedc.ovn_tuning.ovn_central_env
"""

EXAMPLES = r"""
- name: Persist a 5 minute chassis probe for the next ovs-ovn pod starts (OnDelete - nothing restarts)
  kubedc.ovn_tuning.ovs_ovn_env:
    kubeconfig: /etc/kubernetes/admin.conf
    env:
      OVN_REMOTE_PROBE_INTERVAL: 5m          # converted to 300000 (ms)
  register: ovs_env

- name: Put back exactly what was there before
  kubedc.ovn_tuning.ovs_ovn_env:
    kubeconfig: /etc/kubernetes/admin.conf
    env: "{{ ovs_env.rollback_env }}"

- name: A RollingUpdate DaemonSet - accept that OVS restarts on every node, one at a time
  kubedc.ovn_tuning.ovs_ovn_env:
    env:
      OVN_REMOTE_PROBE_INTERVAL: 300000
      OVN_REMOTE_OPENFLOW_INTERVAL: 180      # seconds
    allow_restart: true
    wait_timeout: 1800
"""

RETURN = r"""
namespace:
  description: Namespace of the DaemonSet.
  returned: always
  type: str
  sample: kube-system
name:
  description: Name of the DaemonSet.
  returned: always
  type: str
  sample: ovs-ovn
container:
  description: The container whose environment was managed.
  returned: always
  type: str
  sample: openvswitch
env_before:
  description: The container's whole environment before the change, name to value (C({valueFrom}) for references).
  returned: success, on a refused restart, and on a failed rollout
  type: dict
  sample: {"OVN_REMOTE_PROBE_INTERVAL": "10000", "OVN_REMOTE_OPENFLOW_INTERVAL": "180"}
env_after:
  description: The container's whole environment after the change as stored (in check mode, as it would be).
  returned: success, and on a failed rollout
  type: dict
  sample: {"OVN_REMOTE_PROBE_INTERVAL": "300000", "OVN_REMOTE_OPENFLOW_INTERVAL": "180"}
changes:
  description: The variables that changed (or would, or would have on a refusal); V(null) means absent.
  returned: success, on a refused restart, and on a failed rollout
  type: list
  elements: dict
  sample: [{"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "10000", "after": "300000"}]
rollback_env:
  description: The value to pass as O(env) to put back exactly what this run replaced.
  returned: success, and on a failed rollout
  type: dict
  sample: {"OVN_REMOTE_PROBE_INTERVAL": "10000"}
update_strategy:
  description: The DaemonSet's C(spec.updateStrategy.type).
  returned: success, and on a failed rollout
  type: str
  sample: OnDelete
restarts:
  description: Whether this change makes Kubernetes restart pods now (a change with any strategy but C(OnDelete)).
  returned: success, and on a failed rollout
  type: bool
  sample: false
revision_before:
  description: The DaemonSet's C(deprecated.daemonset.template.generation) annotation before the change.
  returned: success, and on a failed rollout
  type: str
  sample: "3"
revision_after:
  description: The same annotation after the change.
  returned: success, and on a failed rollout
  type: str
  sample: "4"
generation:
  description: C(metadata.generation) of the DaemonSet after the change.
  returned: success, and on a failed rollout
  type: int
  sample: 4
conflicts:
  description: How many writes met a concurrent writer (409 Conflict) and were re-planned on a fresh read.
  returned: success
  type: int
  sample: 0
rollout:
  description: Rollout status of the DaemonSet (its scheduled pods are the C(replicas)).
  returned: success, and on a failed rollout
  type: dict
  contains:
    complete:
      description: RollingUpdate - every pod runs the current template and is available; OnDelete - the controller has observed the change.
      type: bool
    failed:
      description: Always false for a DaemonSet (it has no progress deadline).
      type: bool
    waited:
      description: Whether the module waited for the rollout.
      type: bool
    message:
      description: Where the rollout stands, in words.
      type: str
    strategy:
      description: C(spec.updateStrategy.type).
      type: str
    pods_pending_restart:
      description: Scheduled pods that still run an older template (with OnDelete they take the new one when each is deleted).
      type: int
    replicas:
      description: C(status.desiredNumberScheduled).
      type: int
    updated_replicas:
      description: C(status.updatedNumberScheduled).
      type: int
    available_replicas:
      description: C(status.numberAvailable).
      type: int
  sample: {"complete": true, "failed": false, "waited": true, "strategy": "OnDelete", "pods_pending_restart": 3,
           "message": "0 of 3 pods run the current template; OnDelete: the other 3 take it when each is deleted (restarted)",
           "replicas": 3, "updated_replicas": 0, "available_replicas": 3}
diff:
  description: The container's environment before and after (with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_env, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.k8s_client import run_module

WORKLOAD = "ovs-ovn"


def main():
    spec = k8s_env.workload_spec(WORKLOAD, extra=dict(allow_restart=dict(type="bool", default=False)))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    run_module(module, lambda: k8s_env.converge(module, WORKLOAD, restart_guard=True),
               errors=(tunables.IntervalError,))


if __name__ == "__main__":
    main()
