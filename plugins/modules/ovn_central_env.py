#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_central_env
short_description: Set environment variables of kube-ovn's ovn-central Deployment, wait for the rollout
version_added: 0.1.0
description:
  - Sets, changes or removes environment variables of one container of kube-ovn's C(ovn-central)
    Deployment, touching only the variables named in O(env) and keeping every other entry and its order.
  - kube-ovn reads its OVN probe settings from these variables when an C(ovn-central) pod starts.
    Known variables are validated in their real unit (see the tunables table, C(docs/tunables.md)) -
    E(OVN_LEADER_PROBE_INTERVAL) is in B(seconds), E(OVN_NORTHD_PROBE_INTERVAL) and E(PROBE_INTERVAL) in
    milliseconds, E(OVN_NORTHD_N_THREADS) is a count. A value with a unit (V(60s), V(1m)) is converted to
    the variable's unit; a bare number that looks like the wrong unit (V(60000) for
    E(OVN_LEADER_PROBE_INTERVAL)) is refused with an explanation. Values are written as strings.
  - The module warns what each changed variable really affects. Most importantly, in kube-ovn's clustered
    mode E(OVN_NORTHD_PROBE_INTERVAL) only applies when a cluster is first bootstrapped and E(PROBE_INTERVAL)
    not at all - change the running databases with M(kubedc.ovn_tuning.ovn_global_options) and the
    Local_Config connection rows too, and use this module so that the values survive a cluster rebuild.
  - B(Changing the environment changes the pod template, so Kubernetes replaces the ovn-central pods) as the
    Deployment's strategy says (kube-ovn - one at a time). Each OVN database member restarts.
  - The write is conditional on the C(metadata.resourceVersion) that was read. When another writer changed the
    Deployment in between (409 Conflict), the module reads it again and re-applies its change on top, at most 5
    times with jittered backoff. It never overwrites a change it has not seen.
  - Returns the whole environment of the container before and after, and O(env)-ready values
    (RV(rollback_env)) that put back exactly what was replaced.
  - See C(docs/kube-ovn.md) for the RBAC the module needs and how it combines with the OVSDB modules.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
options:
  namespace:
    description: Namespace of the Deployment.
    type: str
    default: kube-system
  name:
    description: Name of the Deployment.
    type: str
    default: ovn-central
  container:
    description:
      - Container of the pod template whose environment is managed. Defaults to the container named
        C(ovn-central). When it does not exist the module fails and lists the containers there are.
    type: str
  env:
    description:
      - Variables to set, as name to value. Only these variables are touched.
      - A value of V(null) removes the variable.
      - E(OVN_LEADER_PROBE_INTERVAL) (seconds, 1-3600), E(OVN_NORTHD_PROBE_INTERVAL) and E(PROBE_INTERVAL)
        (milliseconds, 0 or 1000-3600000) take a number in their unit or a string with a unit (V(60s),
        V(5m), V(60000ms)); E(OVN_NORTHD_N_THREADS) takes a whole number (1-256).
      - Other variables are passed through as strings (V(true)/V(false) for booleans).
      - A mapping with the one key C(valueFrom) (as RV(env_before) returns such variables) sets the variable from
        a field, secret or config map reference, as Kubernetes writes it.
      - Empty (the default) only reads the Deployment and returns its environment and rollout status.
    type: dict
    default: {}
  wait:
    description:
      - Wait until the Deployment has rolled out - the controller has observed the new generation, every replica
        is updated and available - and fail with the Deployment's conditions when it does not within
        O(wait_timeout) or reports C(ProgressDeadlineExceeded).
      - Also waits when nothing changed, so that the module reports a healthy Deployment. Never in check mode.
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
    description: Reads the Deployment and returns what would change; writes nothing and does not wait.
  diff_mode:
    support: full
    description: The container's environment (name to value) before and after.
notes:
  - Needs C(get) and C(patch) on C(deployments) (API group C(apps)) in O(namespace); check mode and an empty
    O(env) need only C(get).
  - Without O(wait), RV(revision_after) may still show the previous revision - the Deployment controller sets
    the revision annotation shortly after the write.
  - A variable removed and later put back by a rollback is appended at the end of the list.
seealso:
  - module: kubedc.ovn_tuning.ovn_global_options
"""

EXAMPLES = r"""
- name: Relax kube-ovn's probes in the Deployment (survives a cluster rebuild)
  kubedc.ovn_tuning.ovn_central_env:
    kubeconfig: /etc/kubernetes/admin.conf
    env:
      OVN_LEADER_PROBE_INTERVAL: 15          # seconds
      OVN_NORTHD_PROBE_INTERVAL: 1m          # converted to 60000 (ms)
      PROBE_INTERVAL: 180000                 # ms
    wait_timeout: 900
  register: central_env

- name: Put back exactly what was there before
  kubedc.ovn_tuning.ovn_central_env:
    kubeconfig: /etc/kubernetes/admin.conf
    env: "{{ central_env.rollback_env }}"

- name: Read the current environment only (for a snapshot)
  kubedc.ovn_tuning.ovn_central_env:
    wait: false
  register: central_now

- name: Remove a variable
  kubedc.ovn_tuning.ovn_central_env:
    env:
      OVN_NORTHD_N_THREADS: null
"""

RETURN = r"""
namespace:
  description: Namespace of the Deployment.
  returned: always
  type: str
  sample: kube-system
name:
  description: Name of the Deployment.
  returned: always
  type: str
  sample: ovn-central
container:
  description: The container whose environment was managed.
  returned: always
  type: str
  sample: ovn-central
env_before:
  description:
    - The container's whole environment before the change, name to value. Variables set from a reference
      appear as a mapping with the one key C(valueFrom) and can be passed back in O(env) as they are.
  returned: success, and on a failed rollout
  type: dict
  sample: {"ENABLE_SSL": "false", "POD_IP": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           "OVN_LEADER_PROBE_INTERVAL": "5"}
env_after:
  description: The container's whole environment after the change as the API server stored it (in check mode, as it would be).
  returned: success, and on a failed rollout
  type: dict
  sample: {"ENABLE_SSL": "false", "POD_IP": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           "OVN_LEADER_PROBE_INTERVAL": "15"}
changes:
  description: The variables that changed (or would, in check mode); V(null) means absent.
  returned: success, and on a failed rollout
  type: list
  elements: dict
  sample: [{"name": "OVN_LEADER_PROBE_INTERVAL", "before": "5", "after": "15"}]
rollback_env:
  description: The value to pass as O(env) to put back exactly what this run replaced (V(null) removes a variable it added).
  returned: success, and on a failed rollout
  type: dict
  sample: {"OVN_LEADER_PROBE_INTERVAL": "5"}
revision_before:
  description: The Deployment's C(deployment.kubernetes.io/revision) annotation before the change.
  returned: success, and on a failed rollout
  type: str
  sample: "3"
revision_after:
  description:
    - The revision annotation after the change (after the rollout when O(wait)). Every pod template change,
      a rollback included, moves it on.
  returned: success, and on a failed rollout
  type: str
  sample: "4"
generation:
  description: C(metadata.generation) of the Deployment after the change.
  returned: success, and on a failed rollout
  type: int
  sample: 7
conflicts:
  description: How many writes met a concurrent writer (409 Conflict) and were re-planned on a fresh read.
  returned: success
  type: int
  sample: 0
rollout:
  description: Rollout status of the Deployment, judged as C(kubectl rollout status) does.
  returned: success, and on a failed rollout
  type: dict
  contains:
    complete:
      description: Every replica runs the current pod template and is available.
      type: bool
    failed:
      description: The Deployment reports C(ProgressDeadlineExceeded).
      type: bool
    waited:
      description: Whether the module waited for the rollout.
      type: bool
    message:
      description: Where the rollout stands, in words.
      type: str
    generation:
      description: C(metadata.generation).
      type: int
    observed_generation:
      description: C(status.observedGeneration).
      type: int
    replicas:
      description: Desired replicas (C(spec.replicas)).
      type: int
    updated_replicas:
      description: C(status.updatedReplicas).
      type: int
    ready_replicas:
      description: C(status.readyReplicas).
      type: int
    available_replicas:
      description: C(status.availableReplicas).
      type: int
    revision:
      description: The revision annotation when the status was read.
      type: str
    conditions:
      description: The Deployment's conditions (type, status, reason, message).
      type: list
      elements: dict
    waited_seconds:
      description: How long the module waited (when O(wait)).
      type: float
    progress:
      description: Each distinct state seen while waiting, with the seconds since the wait began.
      type: list
      elements: dict
  sample: {"complete": true, "failed": false, "waited": true, "message": "successfully rolled out (3 of 3 replicas updated and available)",
           "generation": 7, "observed_generation": 7, "replicas": 3, "updated_replicas": 3, "ready_replicas": 3,
           "available_replicas": 3, "revision": "4", "conditions": [], "waited_seconds": 41.5, "progress": []}
diff:
  description: The container's environment before and after (with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_env, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.k8s_client import run_module

WORKLOAD = "ovn-central"


def main():
    module = AnsibleModule(argument_spec=k8s_env.workload_spec(WORKLOAD), supports_check_mode=True)
    run_module(module, lambda: k8s_env.converge(module, WORKLOAD), errors=(tunables.IntervalError,))


if __name__ == "__main__":
    main()
