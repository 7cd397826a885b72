# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Deployment or DaemonSet as the API server returns it, judged and changed by pure functions;
and the errors of the Kubernetes code.

No connection here: the workload kinds and their revision annotations, the update strategy,
the rollout status judged the way ``kubectl rollout status`` judges it, and one container's
``env`` - found, read, planned touching only the variables asked for, and written back
through a merge patch that keeps every other field as read.  ``k8s_client`` reads and
writes the objects these functions take and return.

The errors live here so that these functions and the client raise the same ones: every
failure is a :class:`K8sError`, its text meant for operators.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
# The pod template generation kube-apiserver keeps on a DaemonSet (its "revision" for operators).
DAEMONSET_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

DEPLOYMENT = "Deployment"
DAEMONSET = "DaemonSet"


# --------------------------------------------------------------------------- errors

class K8sError(Exception):
    """Base of every error of this client; its text is meant for operators.

    ``result`` carries facts a module should still return when it fails
    (for example the values it wrote before a rollout failed).
    """

    def __init__(self, message, result=None):
        super(K8sError, self).__init__(message)
        self.result = result or {}


class K8sConfigError(K8sError):
    """Bad or missing connection options: nothing was contacted."""


class K8sConnectionError(K8sError):
    """The API server could not be reached or did not answer in time."""


class K8sApiError(K8sError):
    """The API server answered with an error status."""

    def __init__(self, message, status=None, reason=None):
        super(K8sApiError, self).__init__(message)
        self.status = status
        self.reason = reason


class K8sConflictError(K8sApiError):
    """409 Conflict: the object changed since it was read."""


class K8sRolloutError(K8sError):
    """The rollout failed or did not finish in time."""


# --------------------------------------------------------------------------- rollout status

def conditions_of(deployment):
    conditions = (deployment.get("status") or {}).get("conditions") or []
    return [dict((key, condition.get(key)) for key in ("type", "status", "reason", "message"))
            for condition in conditions]


def conditions_text(conditions):
    if not conditions:
        return "none reported"
    return "; ".join("%s=%s (%s: %s)" % (c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
                     for c in conditions)


def kind_of(obj, kind=None):
    return kind or obj.get("kind") or DEPLOYMENT


def revision_of(obj, kind=None):
    """A Deployment's revision annotation; a DaemonSet's pod template generation annotation."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if kind_of(obj, kind) == DAEMONSET:
        return annotations.get(DAEMONSET_GENERATION_ANNOTATION)
    return annotations.get(REVISION_ANNOTATION)


def update_strategy(obj, kind=None):
    """``(type, text)``: the strategy type (RollingUpdate, OnDelete, Recreate) and how it replaces pods."""
    spec = obj.get("spec") or {}
    if kind_of(obj, kind) == DAEMONSET:
        strategy = spec.get("updateStrategy") or {}
    else:
        strategy = spec.get("strategy") or {}
    how = strategy.get("type", "RollingUpdate")
    text = how
    if how == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        default_surge = 0 if kind_of(obj, kind) == DAEMONSET else "25%"
        default_unavailable = 1 if kind_of(obj, kind) == DAEMONSET else "25%"
        text += " with maxUnavailable %s, maxSurge %s" % (
            rolling.get("maxUnavailable", default_unavailable), rolling.get("maxSurge", default_surge))
    return how, text


def rollout_status(obj, generation=None, kind=None):
    """Summarise a rollout the way ``kubectl rollout status`` judges it (a Deployment or a DaemonSet).

    ``generation``: the generation the caller wrote (defaults to the object's own).
    """
    if kind_of(obj, kind) == DAEMONSET:
        return daemonset_rollout_status(obj, generation)
    deployment = obj
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    generation = generation if generation is not None else metadata.get("generation", 0)
    replicas = spec.get("replicas", 1)
    summary = {
        "generation": metadata.get("generation"),
        "observed_generation": status.get("observedGeneration", 0),
        "replicas": replicas,
        "status_replicas": status.get("replicas", 0),
        "updated_replicas": status.get("updatedReplicas", 0),
        "ready_replicas": status.get("readyReplicas", 0),
        "available_replicas": status.get("availableReplicas", 0),
        "revision": revision_of(deployment),
        "conditions": conditions_of(deployment),
        "complete": False,
        "failed": False,
    }
    progressing = [c for c in summary["conditions"] if c["type"] == "Progressing"]
    if summary["observed_generation"] < generation:
        summary["message"] = "waiting for the Deployment controller to observe generation %s" % generation
    elif progressing and progressing[0].get("reason") == "ProgressDeadlineExceeded":
        summary["failed"] = True
        summary["message"] = "progress deadline exceeded (%s)" % progressing[0].get("message")
    elif summary["updated_replicas"] < replicas:
        summary["message"] = "%d of %d new replicas have been updated" % (summary["updated_replicas"], replicas)
    elif summary["status_replicas"] > summary["updated_replicas"]:
        summary["message"] = "%d old replicas are pending termination" % (
            summary["status_replicas"] - summary["updated_replicas"])
    elif summary["available_replicas"] < replicas:
        summary["message"] = "%d of %d updated replicas are available" % (summary["available_replicas"], replicas)
    else:
        summary["complete"] = True
        summary["message"] = "successfully rolled out (%d of %d replicas updated and available)" % (
            summary["available_replicas"], replicas)
    return summary


def daemonset_rollout_status(daemonset, generation=None):
    """A DaemonSet's rollout, in the keys of :func:`rollout_status` (replicas are its scheduled pods).

    RollingUpdate is judged as ``kubectl rollout status`` does. With OnDelete nothing rolls by
    itself: the status is complete once the controller has observed the generation, and
    ``pods_pending_restart`` counts the pods that still run an older template (they take the new
    one when each is deleted).
    """
    metadata = daemonset.get("metadata") or {}
    status = daemonset.get("status") or {}
    generation = generation if generation is not None else metadata.get("generation", 0)
    how, text = update_strategy(daemonset, DAEMONSET)
    desired = status.get("desiredNumberScheduled", 0)
    summary = {
        "generation": metadata.get("generation"),
        "observed_generation": status.get("observedGeneration", 0),
        "replicas": desired,
        "status_replicas": status.get("currentNumberScheduled", 0),
        "updated_replicas": status.get("updatedNumberScheduled", 0),
        "ready_replicas": status.get("numberReady", 0),
        "available_replicas": status.get("numberAvailable", 0),
        "revision": revision_of(daemonset, DAEMONSET),
        "conditions": conditions_of(daemonset),
        "strategy": how,
        "complete": False,
        "failed": False,
    }
    summary["pods_pending_restart"] = max(0, desired - summary["updated_replicas"])
    if summary["observed_generation"] < generation:
        summary["message"] = "waiting for the DaemonSet controller to observe generation %s" % generation
    elif how != "RollingUpdate":
        summary["complete"] = True
        if summary["pods_pending_restart"]:
            summary["message"] = ("%d of %d pods run the current template; %s: the other %d take it when each"
                                  " is deleted (restarted)" % (summary["updated_replicas"], desired, text,
                                                               summary["pods_pending_restart"]))
        else:
            summary["message"] = "all %d pods run the current template (%s)" % (desired, text)
    elif summary["updated_replicas"] < desired:
        summary["message"] = "%d of %d new pods have been updated" % (summary["updated_replicas"], desired)
    elif summary["available_replicas"] < desired:
        summary["message"] = "%d of %d updated pods are available" % (summary["available_replicas"], desired)
    else:
        summary["complete"] = True
        summary["message"] = "successfully rolled out (%d of %d pods updated and available)" % (
            summary["available_replicas"], desired)
    return summary


# --------------------------------------------------------------------------- container env

def find_container(deployment, container_name):
    """The container dict named ``container_name`` in the pod template (of a Deployment or
    DaemonSet), or raise K8sError."""
    metadata = deployment.get("metadata") or {}
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for container in containers:
        if container.get("name") == container_name:
            return container
    names = ", ".join(c.get("name", "?") for c in containers) or "none"
    raise K8sError("container: %s %s/%s has no container named %r; its containers are: %s"
                   % (kind_of(deployment), metadata.get("namespace"), metadata.get("name"), container_name, names))


def env_entry_value(entry):
    """What one env entry sets: its string value, or ``{"valueFrom": {...}}``."""
    if "valueFrom" in entry and entry["valueFrom"] is not None:
        return {"valueFrom": entry["valueFrom"]}
    return entry.get("value") if entry.get("value") is not None else ""


def env_to_dict(env_list):
    """A container's ``env`` list as name -> value (the last entry of a name wins, as in Kubernetes)."""
    result = {}
    for entry in env_list or []:
        result[entry["name"]] = env_entry_value(entry)
    return result


def _entry_for(name, value):
    if isinstance(value, dict):
        return {"name": name, "valueFrom": copy.deepcopy(value["valueFrom"])}
    return {"name": name, "value": value}


def plan_env(env_list, desired):
    """The new env list of a container and what changes.

    ``desired``: name -> string value, ``{"valueFrom": {...}}``, or None (remove).
    Entries not named in ``desired`` are kept as they are, in their order; a
    named variable keeps its position, a new one is appended.  Returns
    ``(new_env_list, changes)``; ``changes`` lists ``{"name", "before", "after"}``
    (None meaning absent) in the order of ``desired``; an empty list means
    nothing to write.
    """
    env_list = list(env_list or [])
    current = env_to_dict(env_list)
    new_list = []
    placed = set()
    for entry in env_list:
        name = entry.get("name")
        if name not in desired:
            new_list.append(entry)
            continue
        if name in placed:
            continue  # collapse duplicates of a variable we manage into one entry
        placed.add(name)
        if desired[name] is None:
            continue
        if desired[name] == env_entry_value(entry):
            new_list.append(entry)
        else:
            new_list.append(_entry_for(name, desired[name]))
    for name, value in desired.items():
        if name not in placed and value is not None:
            new_list.append(_entry_for(name, value))
    changes = []
    for name, value in desired.items():
        before = current.get(name)
        if before != value or (name in current and _count(env_list, name) > 1):
            changes.append({"name": name, "before": before, "after": value})
    return new_list, changes


def _count(env_list, name):
    return sum(1 for entry in env_list if entry.get("name") == name)


def rollback_env(changes):
    """The ``env`` to pass to put back what ``changes`` replaced (None removes an added variable)."""
    return dict((change["name"], change["before"]) for change in changes)


def container_patch(deployment, container_name, new_env):
    """A merge patch that sets the env of one container, keeping every other field as read.

    A JSON merge patch replaces lists whole, so the patch carries every
    container exactly as read; only the named container's env differs.  The
    caller adds metadata.resourceVersion, which makes the write conditional.
    """
    containers = copy.deepcopy(deployment["spec"]["template"]["spec"]["containers"])
    for container in containers:
        if container.get("name") == container_name:
            if new_env:
                container["env"] = new_env
            else:
                container.pop("env", None)
    return {"spec": {"template": {"spec": {"containers": containers}}}}
