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

The pure functions of a workload object (its revision and rollout status, a container's
new ``env`` list) and the errors are in ``k8s_workload``.  Every failure is a K8sError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.k8s_workload import (
    DAEMONSET, DEPLOYMENT, K8sApiError, K8sConfigError, K8sConflictError, K8sConnectionError, K8sError,
    K8sRolloutError, conditions_text, rollout_status)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import Backoff


class Kubernetes(object):
    """The kubernetes package (and urllib3 under it), imported on first use: the OVSDB modules and the
    profile filters import this file for its option spec and would otherwise pay for importing the whole
    API client in every task. ``load()`` says whether it is there; ``error`` why not."""

    error = None
    client = config = urllib3 = ApiException = ConfigException = None

    @classmethod
    def load(cls):
        if cls.client is None and cls.error is None:
            try:
                # pylint: disable=import-outside-toplevel
                import kubernetes.client
                import kubernetes.config
                import urllib3
                from kubernetes.client.rest import ApiException
                from kubernetes.config.config_exception import ConfigException
            except ImportError as exc:  # pragma: no cover - reported by the modules
                cls.error = exc
            else:
                cls.client, cls.config, cls.urllib3 = kubernetes.client, kubernetes.config, urllib3
                cls.ApiException, cls.ConfigException = ApiException, ConfigException
        return cls.error is None


def _missing_kubernetes():
    return ("the 'kubernetes' Python package is required on the host that runs this module"
            " (pip install kubernetes): %s" % Kubernetes.error)


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
    if not Kubernetes.load():
        raise K8sConfigError(_missing_kubernetes())
    validate_auth_params(params)
    configuration = Kubernetes.client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    source = None
    if _present(kubeconfig) or _present(context):
        path = kubeconfig if _present(kubeconfig) else _default_kubeconfig()
        source = _load_kubeconfig(configuration, path, context, "kubeconfig" if _present(kubeconfig) else "context")
    elif not _present(params.get("host")):
        if _in_cluster_available():
            try:
                Kubernetes.config.load_incluster_config(client_configuration=configuration)
            except Kubernetes.ConfigException as exc:
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
    configuration.retries = Kubernetes.urllib3.util.Retry(total=2, connect=2, read=0, status=0, redirect=0,
                                                          backoff_factor=0.2)
    return configuration, source


def _default_kubeconfig():
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


def _load_kubeconfig(configuration, path, context, option):
    try:
        Kubernetes.config.load_kube_config(config_file=path, context=context,
                                           client_configuration=configuration, persist_config=False)
    except Kubernetes.ConfigException as exc:
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
        Kubernetes.load()
        self.api_client = Kubernetes.client.ApiClient(configuration)
        self.apps = Kubernetes.client.AppsV1Api(self.api_client)
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
        except Kubernetes.ApiException as exc:
            raise api_error(exc, verb, namespace, name, self.host, self.source, kind=kind)
        except Kubernetes.urllib3.exceptions.HTTPError as exc:
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
                    sleep(self.backoff.pause())
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


# --------------------------------------------------------------------------- modules

def require_kubernetes(module):
    if not Kubernetes.load():
        module.fail_json(msg=_missing_kubernetes())


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
