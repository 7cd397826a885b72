# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Kubernetes client of kubedc.ovn_tuning, built on the ``kubernetes`` package.

What it adds to the library: connection options resolved the way kubernetes.core
users expect (kubeconfig and context, host and api_key, in-cluster service
account, ``K8S_AUTH_*`` variables), a deadline on every request, reads and
writes of apps/v1 Deployments and DaemonSets as raw JSON (so fields newer than
the library survive a write), writes guarded by ``metadata.resourceVersion``
with a bounded, jittered retry on 409 Conflict, rollout status read the way
``kubectl rollout status`` reads it, and API errors turned into sentences an
operator can act on.

Also here: pure helpers that compute a container's new ``env`` list, touching
only the variables asked for.  Every failure is a :class:`K8sError`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_client import Backoff

try:
    import kubernetes.client
    import kubernetes.config
    import urllib3
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover - reported by modules
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = import_error

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
# The pod template generation kube-apiserver keeps on a DaemonSet (its "revision" for operators).
DAEMONSET_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

DEPLOYMENT = "Deployment"
DAEMONSET = "DaemonSet"
# The workload kinds this client reads and writes: resource name (RBAC) and AppsV1Api method suffix.
KINDS = {
    DEPLOYMENT: {"resource": "deployments", "method": "deployment"},
    DAEMONSET: {"resource": "daemonsets", "method": "daemon_set"},
}
IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"

# Connection options, documented once in the kubedc.ovn_tuning.k8s_auth doc fragment.
# The variable names are those of kubernetes.core, so an existing AWX credential works.
K8S_AUTH_SPEC = dict(
    kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
    host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
    validate_certs=dict(type="bool", aliases=["verify_ssl"],
                        fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
    client_cert=dict(type="path", aliases=["cert_file"], fallback=(env_fallback, ["K8S_AUTH_CERT_FILE"])),
    client_key=dict(type="path", aliases=["key_file"], fallback=(env_fallback, ["K8S_AUTH_KEY_FILE"])),
    request_timeout=dict(type="float", default=30.0),
)


def k8s_auth_spec():
    """A fresh copy of the connection options, for a module's argument_spec."""
    return copy.deepcopy(K8S_AUTH_SPEC)


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


# --------------------------------------------------------------------------- connection

def _present(value):
    return value is not None and value != ""


def validate_auth_params(params):
    """Check the connection options before anything is read or contacted."""
    timeout = params.get("request_timeout")
    if timeout is None or timeout <= 0:
        raise K8sConfigError("request_timeout: must be a positive number of seconds, got %r" % timeout)
    host = params.get("host")
    if _present(host) and not (host.startswith("https://") or host.startswith("http://")):
        raise K8sConfigError("host: %r is not a URL; give the API server as https://HOST:PORT" % host)
    if _present(params.get("client_cert")) != _present(params.get("client_key")):
        raise K8sConfigError("client_cert and client_key: give both (a client certificate and its key) or neither")
    for option in ("kubeconfig", "ca_cert", "client_cert", "client_key"):
        path = params.get(option)
        if not _present(path):
            continue
        if not os.path.isfile(path):
            raise K8sConfigError("%s: %s does not exist or is not a file" % (option, path))
        if not os.access(path, os.R_OK):
            raise K8sConfigError("%s: %s is not readable" % (option, path))


def _in_cluster_available():
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.isfile(IN_CLUSTER_TOKEN)


def build_configuration(params):
    """A ``kubernetes.client.Configuration`` and a sentence saying where it came from.

    Order, as in kubernetes.core: ``kubeconfig``/``context`` when given; else,
    unless ``host`` is given, the pod's service account when running in a pod,
    else ``KUBECONFIG`` or ``~/.kube/config``.  ``host``, ``api_key``,
    ``ca_cert``, ``client_cert``, ``client_key`` and ``validate_certs`` then
    override what was loaded.
    """
    if not HAS_KUBERNETES:
        raise K8sConfigError("the 'kubernetes' Python package is required on the host that runs this"
                             " module (pip install kubernetes): %s" % KUBERNETES_IMPORT_ERROR)
    validate_auth_params(params)
    configuration = kubernetes.client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    source = None
    if _present(kubeconfig) or _present(context):
        path = kubeconfig if _present(kubeconfig) else _default_kubeconfig()
        source = _load_kubeconfig(configuration, path, context, "kubeconfig" if _present(kubeconfig) else "context")
    elif not _present(params.get("host")):
        if _in_cluster_available():
            try:
                kubernetes.config.load_incluster_config(client_configuration=configuration)
            except ConfigException as exc:
                raise K8sConfigError("in-cluster configuration: %s" % exc)
            source = "the pod's service account"
        else:
            path = _default_kubeconfig()
            if not any(os.path.isfile(os.path.expanduser(p)) for p in path.split(os.pathsep) if p):
                raise K8sConfigError(
                    "kubeconfig: no Kubernetes connection configured; give kubeconfig (or set"
                    " K8S_AUTH_KUBECONFIG or KUBECONFIG), host with api_key, or run inside a pod"
                    " (%s does not exist)" % path)
            source = _load_kubeconfig(configuration, path, None, "kubeconfig")
    if _present(params.get("host")):
        configuration.host = params["host"].rstrip("/")
        source = source or "host %s" % configuration.host
    if _present(params.get("api_key")):
        configuration.api_key["BearerToken"] = "Bearer %s" % params["api_key"]
        configuration.api_key_prefix.pop("BearerToken", None)
        configuration.refresh_api_key_hook = None
    if _present(params.get("ca_cert")):
        configuration.ssl_ca_cert = params["ca_cert"]
    if _present(params.get("client_cert")):
        configuration.cert_file = params["client_cert"]
        configuration.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = bool(params["validate_certs"])
    # Connection errors are retried twice by urllib3; a request that reached the server is
    # never replayed by the library (a write is retried only by K8sClient.modify, guarded
    # by its resourceVersion).
    configuration.retries = urllib3.util.Retry(total=2, connect=2, read=0, status=0, redirect=0,
                                               backoff_factor=0.2)
    return configuration, source


def _default_kubeconfig():
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


def _load_kubeconfig(configuration, path, context, option):
    try:
        kubernetes.config.load_kube_config(config_file=path, context=context,
                                           client_configuration=configuration, persist_config=False)
    except ConfigException as exc:
        raise K8sConfigError("%s: cannot use %s%s: %s" % (
            option, path, " (context %s)" % context if context else "", exc))
    except (IOError, OSError, ValueError) as exc:
        raise K8sConfigError("%s: cannot read %s: %s" % (option, path, exc))
    return "kubeconfig %s%s" % (path, " (context %s)" % context if context else "")


# --------------------------------------------------------------------------- client

class K8sClient(object):
    """Deployment and DaemonSet reads and writes with deadlines and readable errors."""

    def __init__(self, configuration, source, request_timeout=30.0, backoff=None, attempts=5):
        self.configuration = configuration
        self.source = source
        self.request_timeout = float(request_timeout)
        self.api_client = kubernetes.client.ApiClient(configuration)
        self.apps = kubernetes.client.AppsV1Api(self.api_client)
        self.backoff = backoff or Backoff(0.2, maximum=2.0)
        self.attempts = attempts

    @classmethod
    def from_params(cls, params):
        configuration, source = build_configuration(params)
        return cls(configuration, source, params["request_timeout"])

    @property
    def host(self):
        return self.configuration.host

    def close(self):
        try:
            self.api_client.close()
        except Exception:  # pylint: disable=broad-except
            pass

    def _timeout(self, deadline=None):
        """The (connect, read) timeout of one request; never past ``deadline`` (monotonic s)."""
        seconds = self.request_timeout
        if deadline is not None:
            seconds = min(seconds, deadline - time.monotonic())
            if seconds <= 0:
                raise K8sConnectionError("no time left for a request to the Kubernetes API at %s" % self.host)
        seconds = max(seconds, 0.05)
        return (seconds, seconds)

    def _call(self, verb, kind, namespace, name, call):
        try:
            response = call()
            return json.loads(response.data or b"{}")
        except ApiException as exc:
            raise api_error(exc, verb, namespace, name, self.host, self.source, kind=kind)
        except urllib3.exceptions.HTTPError as exc:
            raise K8sConnectionError("cannot %s %s %s/%s: the Kubernetes API at %s did not answer"
                                     " within %s s or could not be reached: %s"
                                     % (verb, kind, namespace, name, self.host, _seconds(self.request_timeout),
                                        _connection_reason(exc)))
        except ValueError as exc:
            raise K8sApiError("the Kubernetes API at %s returned something that is not JSON for %s"
                              " %s %s/%s: %s" % (self.host, verb, kind, namespace, name, exc))

    def _method(self, verb, kind):
        return getattr(self.apps, "%s_namespaced_%s" % (verb, KINDS[kind]["method"]))

    def read(self, kind, namespace, name, deadline=None):
        """The Deployment or DaemonSet as the API server returns it (a plain dict that always says
        its ``kind``, which the strategy, revision and rollout helpers go by)."""
        method = self._method("read", kind)
        return _with_kind(kind, self._call("get", kind, namespace, name, lambda: method(
            name, namespace, _preload_content=False, _request_timeout=self._timeout(deadline))))

    def patch(self, kind, namespace, name, patch, deadline=None):
        """Apply a JSON merge patch (RFC 7386); returns the object as stored (with its ``kind``)."""
        method = self._method("patch", kind)
        return _with_kind(kind, self._call("patch", kind, namespace, name, lambda: method(
            name, namespace, patch, _content_type="application/merge-patch+json",
            _preload_content=False, _request_timeout=self._timeout(deadline))))

    def modify(self, kind, namespace, name, plan, check_mode=False, sleep=time.sleep):
        """Read, plan, write guarded by resourceVersion; on 409 re-read and plan again.

        ``plan(obj)`` returns ``(merge_patch_or_None, info)``; it runs
        against every fresh read, so a concurrent writer's change is kept and
        ours is applied on top of it.  Returns ``(before, after, info,
        conflicts)`` where ``before`` is the read the write was based on and
        ``after`` is None when nothing was written (no change or check mode).
        """
        conflicts = 0
        pause = None
        for attempt in range(self.attempts):
            before = self.read(kind, namespace, name)
            patch, info = plan(before)
            if patch is None or check_mode:
                return before, None, info, conflicts
            patch = copy.deepcopy(patch)
            patch.setdefault("metadata", {})["resourceVersion"] = before["metadata"]["resourceVersion"]
            try:
                after = self.patch(kind, namespace, name, patch)
            except K8sConflictError:
                conflicts += 1
                if attempt + 1 < self.attempts:
                    pause = self.backoff.pause(pause)
                    sleep(pause)
                continue
            return before, after, info, conflicts
        raise K8sConflictError(
            "%s %s/%s kept changing under us: %d writes in a row met a concurrent writer"
            " (409 Conflict); nothing of ours was written. Run again when the other writer is done"
            % (kind, namespace, name, self.attempts), status=409, reason="Conflict")

    def wait_for_rollout(self, kind, namespace, name, timeout, generation=None, poll_max=2.0, sleep=time.sleep):
        """Poll until the rollout is complete; returns the summary with a ``progress`` log.

        Raises K8sRolloutError at once when a Deployment reports
        ProgressDeadlineExceeded, or after ``timeout`` seconds, with the
        object's conditions in the message.
        """
        started = time.monotonic()
        deadline = started + timeout
        interval = 0.2
        progress = []
        while True:
            deployment = self.read(kind, namespace, name, deadline=max(deadline, time.monotonic() + 1.0))
            summary = rollout_status(deployment, generation, kind=kind)
            elapsed = round(time.monotonic() - started, 1)
            if not progress or progress[-1]["message"] != summary["message"]:
                progress.append({"seconds": elapsed, "message": summary["message"]})
            summary["waited_seconds"] = elapsed
            summary["progress"] = progress
            if summary["complete"]:
                return deployment, summary
            if summary["failed"]:
                raise K8sRolloutError("%s %s/%s failed to roll out: %s. Conditions: %s"
                                      % (kind, namespace, name, summary["message"],
                                         conditions_text(summary["conditions"])),
                                      result={"rollout": summary, "deployment": deployment})
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise K8sRolloutError("%s %s/%s did not finish rolling out within %s s: %s."
                                      " Conditions: %s" % (kind, namespace, name, _seconds(timeout),
                                                           summary["message"],
                                                           conditions_text(summary["conditions"])),
                                      result={"rollout": summary, "deployment": deployment})
            sleep(min(interval, remaining))
            interval = min(poll_max, interval * 1.5)


def _with_kind(kind, obj):
    obj.setdefault("kind", kind)
    return obj


def _seconds(value):
    return ("%d" % value) if float(value) == int(value) else ("%.1f" % value)


def _connection_reason(exc):
    reason = getattr(exc, "reason", None) or exc
    return str(reason)


def _status_message(exc):
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        return str(exc.body or exc.reason or "").strip()
    if isinstance(body, dict):
        return body.get("message") or exc.reason or ""
    return str(body)


def api_error(exc, verb, namespace, name, host, source, kind=DEPLOYMENT):
    """Turn an ApiException into a K8sApiError whose message an operator can act on."""
    status = exc.status
    message = _status_message(exc)
    target = "%s %s/%s" % (kind, namespace, name)
    if status == 401:
        text = ("the Kubernetes API at %s did not accept the credentials from %s (401 Unauthorized):"
                " the token or client certificate is missing, expired or wrong" % (host, source))
    elif status == 403:
        text = ("forbidden (403): the credentials from %s may not %s %s. The Role bound to them must"
                " allow the verb '%s' on resource '%s' in API group 'apps' in namespace '%s'"
                " (see docs/kube-ovn.md for a minimal Role). The API server said: %s"
                % (source, verb, target, verb, KINDS[kind]["resource"], namespace, message))
    elif status == 404:
        text = ("%s not found (404) at %s: check namespace and name. The API server said: %s"
                % (target, host, message))
    elif status == 409:
        return K8sConflictError("%s changed since it was read (409 Conflict): %s" % (target, message),
                                status=status, reason=exc.reason)
    elif status == 422:
        text = "the API server refused the new %s as invalid (422): %s" % (target, message)
    else:
        text = "cannot %s %s: the Kubernetes API at %s answered %s %s: %s" % (
            verb, target, host, status, exc.reason, message)
    return K8sApiError(text, status=status, reason=exc.reason)


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


# --------------------------------------------------------------------------- modules

def require_kubernetes(module):
    if not HAS_KUBERNETES:
        module.fail_json(msg="the 'kubernetes' Python package is required on the host that runs this"
                             " module (pip install kubernetes): %s" % KUBERNETES_IMPORT_ERROR)


def run_module(module, work, errors=()):
    """Run ``work()`` (returns the result dict) and exit; K8sError (and ``errors``)
    become fail_json with the sentence the error carries and any facts it holds."""
    require_kubernetes(module)
    try:
        result = work()
    except K8sError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    except errors as exc:  # pylint: disable=catching-non-exception
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
