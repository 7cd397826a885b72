# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment of one container of a kube-ovn workload, set the one way both env modules set it.

``ovn_central_env`` (the ovn-central Deployment) and ``ovs_ovn_env`` (the ovs-ovn DaemonSet) are
this code with a workload of ``tunables.K8S_WORKLOADS``: the requested variables are checked in
their unit (a variable of the other workload is refused, naming the module that manages it), the
new env is planned on every fresh read and written guarded by resourceVersion, the stored values
are read back, and the consequence for the pods is said in words. What differs is the restart:
a Deployment's template change always replaces its pods (the operator asked for it by calling the
module); a DaemonSet's with ``updateStrategy: RollingUpdate`` restarts OVS on every node, so it is
refused unless ``allow_restart`` says otherwise, and with ``OnDelete`` it waits for each pod's
next restart and disrupts nothing now.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.k8s_client import K8sClient, k8s_auth_spec
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.k8s_workload import (
    DAEMONSET, K8sError, K8sRolloutError, container_patch, env_to_dict, find_container, plan_env, revision_of,
    rollback_env, rollout_status, update_strategy)

# What a pod of each workload runs, for the sentence that says what a restart means.
RESTART_MEANS = {
    "ovn-central": "every OVN database member in them restarts",
    "ovs-ovn": "OVS (ovs-vswitchd, ovsdb-server) and ovn-controller restart on each node: its datapath is"
               " disrupted while they do",
}


# A name Kubernetes accepts for an environment variable (a C identifier, or with '-' and '.'), the one
# rule of the env modules and of the profile's kube_ovn_env.
ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def env_name_problem(name):
    """Why ``name`` is not an environment variable name Kubernetes accepts, or None."""
    if isinstance(name, str) and ENV_NAME_RE.match(name):
        return None
    return ("%r is not a valid environment variable name (letters, digits, '_', '-' and '.', not starting"
            " with a digit)" % (name,))


def workload_spec(workload, extra=None):
    """The argument_spec of an env module of ``workload`` (a key of tunables.K8S_WORKLOADS)."""
    where = tunables.K8S_WORKLOADS[workload]
    spec = dict(
        namespace=dict(type="str", default=where["namespace"]),
        name=dict(type="str", default=where["name"]),
        container=dict(type="str"),
        env=dict(type="dict", default={}),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    spec.update(extra or {})
    spec.update(k8s_auth_spec())
    return spec


def normalize_env(env, workload):
    """The requested env as name -> string, ``{"valueFrom": ...}`` or None; raises on bad input."""
    own = tunables.env_tunables(workload)
    others = tunables.env_tunables()
    desired = {}
    for name, value in (env or {}).items():
        param = "env.%s" % name
        problem = env_name_problem(name)
        if problem:
            raise K8sError("env: %s" % problem)
        if name in others and name not in own:
            other = tunables.K8S_WORKLOADS[others[name].workload]
            raise K8sError("%s: %s is read by kube-ovn's %s %s (container %s), not by this %s; set it with %s"
                           % (param, name, other["name"], other["kind"], other["container"],
                              tunables.K8S_WORKLOADS[workload]["kind"], other["module"]))
        if value is None:
            desired[name] = None
        elif isinstance(value, dict):
            if list(value) != ["valueFrom"] or not isinstance(value["valueFrom"], dict) or not value["valueFrom"]:
                raise K8sError("%s: a mapping must be {valueFrom: {fieldRef|secretKeyRef|configMapKeyRef|"
                               "resourceFieldRef: ...}} as Kubernetes writes it; got keys %s"
                               % (param, ", ".join(sorted(str(k) for k in value)) or "none"))
            desired[name] = {"valueFrom": copy.deepcopy(value["valueFrom"])}
        elif isinstance(value, (list, tuple, set)):
            raise K8sError("%s: %r is a list; an environment variable takes a string, a number, null"
                           " (remove) or {valueFrom: ...}" % (param, value))
        elif name in own:
            desired[name] = str(tunables.parse_interval(value, own[name], param))
        elif isinstance(value, bool):
            desired[name] = "true" if value else "false"
        else:
            desired[name] = str(value)
    return desired


def validate(params, workload):
    desired = normalize_env(params["env"], workload)
    if params["wait_timeout"] is None or params["wait_timeout"] <= 0:
        raise K8sError("wait_timeout: must be a positive number of seconds, got %r" % params["wait_timeout"])
    for option in ("namespace", "name"):
        if not params[option]:
            raise K8sError("%s: must not be empty" % option)
    return desired


def _show(value):
    if value is None:
        return "(absent)"
    if isinstance(value, dict):
        return "valueFrom %s" % ", ".join(sorted(value["valueFrom"]))
    return repr(value)


def _pods(obj):
    if obj.get("kind") == DAEMONSET:
        return "%s pods (one per node)" % (obj.get("status") or {}).get("desiredNumberScheduled", "its")
    return "%s pods" % (obj.get("spec") or {}).get("replicas", 1)


def change_warnings(changes, obj, check_mode, workload="ovn-central"):
    """What each changed variable really affects, and what the change does to the pods."""
    own = tunables.env_tunables(workload)
    warnings = []
    for change in changes:
        tunable = own.get(change["name"])
        if tunable is not None and change["after"] is not None:
            warnings.append("%s %s -> %s: %s %s" % (change["name"], _show(change["before"]), _show(change["after"]),
                                                    tunable.description, tunable.notes))
        if isinstance(change["before"], dict) and not isinstance(change["after"], dict):
            becomes = "would become" if check_mode else "is now"
            warnings.append("%s was set from a reference (%s) and %s a fixed value; env_before/rollback_env keep"
                            " the reference for a rollback" % (change["name"], _show(change["before"]), becomes))
    if changes:
        how, text = update_strategy(obj)
        metadata = obj["metadata"]
        changed = "would change" if check_mode else "changed"
        what = "%s %s/%s" % (obj.get("kind") or "Deployment", metadata["namespace"], metadata["name"])
        if how == "OnDelete":
            warnings.append("changing the environment %s the pod template of %s; with updateStrategy OnDelete"
                            " no pod restarts now: each of its %s takes the new environment when it is next"
                            " deleted or restarted" % (changed, what, _pods(obj)))
        else:
            warnings.append("changing the environment %s the pod template of %s: Kubernetes replaces its %s"
                            " (%s) and %s" % (changed, what, _pods(obj), text, RESTART_MEANS[workload]))
    return warnings


def restart_refusal(obj, changes, workload):
    """The sentence that refuses a template change which would restart every node's OVS, or None."""
    how, text = update_strategy(obj)
    if how == "OnDelete" or not changes:
        return None
    metadata = obj["metadata"]
    return ("allow_restart: DaemonSet %s/%s has updateStrategy %s, so changing %s would make Kubernetes"
            " restart its pod on every node - %s. Nothing was written. Set allow_restart: true to accept"
            " that, or switch the DaemonSet to updateStrategy OnDelete (the new environment then waits for"
            " each pod's next restart) and set the running nodes' values with"
            " kubedc.ovn_tuning.ovn_chassis_probe" % (
                metadata["namespace"], metadata["name"], text,
                ", ".join(change["name"] for change in changes), RESTART_MEANS[workload]))


def converge(module, workload, restart_guard=False):
    """Set the env of the workload's container as ``module.params`` say; returns the result dict.

    ``restart_guard``: refuse a change that would restart pods by a RollingUpdate unless
    ``module.params["allow_restart"]`` (the ovs-ovn DaemonSet).
    """
    params = module.params
    where = tunables.K8S_WORKLOADS[workload]
    kind = where["kind"]
    desired = validate(params, workload)
    namespace, name = params["namespace"], params["name"]
    container_name = params["container"] or where["container"]
    client = K8sClient.from_params(params)

    def plan(obj):
        container = find_container(obj, container_name)
        new_env, changes = plan_env(container.get("env"), desired)
        info = {"env_before": env_to_dict(container.get("env")), "new_env": new_env, "changes": changes}
        if not changes:
            return None, info
        if restart_guard and not params.get("allow_restart"):
            refusal = restart_refusal(obj, changes, workload)
            if refusal:
                raise K8sError(refusal, result={"changes": changes, "env_before": info["env_before"]})
        return container_patch(obj, container_name, new_env), info

    try:
        before, written, info, conflicts = client.modify(kind, namespace, name, plan, check_mode=module.check_mode)
        changes = info["changes"]
        if written is None:
            current = before
            env_after = env_to_dict(info["new_env"])
        else:
            current = written
            env_after = env_to_dict(find_container(written, container_name).get("env"))
            not_stored = [c["name"] for c in changes if env_after.get(c["name"]) != c["after"]]
            if not_stored:
                raise K8sError("the API server stored different values than written for %s (an admission"
                               " webhook may have changed them): %s"
                               % (", ".join(not_stored), dict((n, env_after.get(n)) for n in not_stored)))
        for warning in change_warnings(changes, before, module.check_mode, workload):
            module.warn(warning)
        strategy, _text = update_strategy(before)
        result = dict(
            changed=bool(changes), namespace=namespace, name=name, container=container_name,
            env_before=info["env_before"], env_after=env_after, changes=changes,
            rollback_env=rollback_env(changes), revision_before=revision_of(before),
            revision_after=revision_of(current), generation=current["metadata"].get("generation"),
            conflicts=conflicts, update_strategy=strategy,
            restarts=bool(changes) and strategy != "OnDelete")
        if module._diff:  # pylint: disable=protected-access
            header = "%s %s/%s container %s env" % (kind, namespace, name, container_name)
            result["diff"] = {"before": info["env_before"], "after": env_after,
                              "before_header": header, "after_header": header}
        if params["wait"] and not module.check_mode:
            try:
                current, rollout = client.wait_for_rollout(kind, namespace, name, params["wait_timeout"],
                                                           generation=result["generation"])
            except K8sRolloutError as exc:
                failed = exc.result.get("deployment") or current
                exc.result = dict(result, rollout=dict(exc.result.get("rollout") or {}, waited=True),
                                  revision_after=revision_of(failed))
                raise
            rollout["waited"] = True
            result["revision_after"] = revision_of(current)
        else:
            rollout = rollout_status(current)
            rollout["waited"] = False
        result["rollout"] = rollout
        return result
    finally:
        client.close()
