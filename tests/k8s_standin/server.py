"""A STAND-IN for the Kubernetes API server, for tests only. This is NOT Kubernetes.

No kube-apiserver can be installed on the test machines, so the kube-ovn modules are tested against this
small HTTP(S) server. It serves only what the ``kubernetes`` Python client sends for apps/v1
Deployments and DaemonSets, with the semantics the modules rely on:

- ``GET /apis/apps/v1/namespaces/{ns}/{deployments|daemonsets}[/{name}]`` (the list and one object);
- ``PATCH .../{resource}/{name}`` with ``Content-Type: application/merge-patch+json`` (RFC 7386), the
  one write method the module uses. Other patch types answer 415 and PUT answers 405: the stand-in
  refuses what it does not implement instead of pretending. ``POST`` (create) and ``DELETE`` exist so
  that the harness of the real-cluster tests can be tried against the stand-in too;
- ``metadata.resourceVersion``: one counter for the whole store, incremented by every write (ours, the
  tests' concurrent writers', the simulated controller's status updates). A patch that carries a stale
  ``metadata.resourceVersion`` gets 409 Conflict with a ``Status`` body, as kube-apiserver answers;
- ``metadata.generation`` increments when ``spec`` changes; ``status`` in a patch is ignored (it is a
  subresource); name, namespace, uid and creationTimestamp cannot change;
- a simulated Deployment controller: after a pod template change it observes the new generation,
  increments the ``deployment.kubernetes.io/revision`` annotation (a rollback moves it on too, as a
  revived ReplicaSet gets a new revision) and replaces the replicas one at a time every
  ``step_seconds`` until ``updatedReplicas`` and ``availableReplicas`` reach ``spec.replicas``; or never
  (``stuck_rollout``), optionally reporting ``ProgressDeadlineExceeded`` after
  ``progress_deadline_seconds``;
- a simulated DaemonSet controller: ``status.desiredNumberScheduled`` pods (the nodes); after a pod template
  change it observes the generation, moves the ``deprecated.daemonset.template.generation`` annotation
  on, and with ``updateStrategy: RollingUpdate`` replaces the pods one at a time every ``step_seconds``
  (``updatedNumberScheduled``, ``numberAvailable``); with ``OnDelete`` it replaces none:
  ``updatedNumberScheduled`` drops to 0 until a test deletes pods (``delete_daemonset_pods``), as
  kubelet restarts them with the new template. ``pod_restarts`` counts the pods each DaemonSet replaced;
- bearer-token authentication (401 for a missing or unknown token) and a small authorisation table
  (403 with kube-apiserver's sentence naming user, verb, resource, group and namespace);
- 404 with a ``Status`` body for missing objects; 422 for env entries Kubernetes would refuse;
- a hook that runs a concurrent write right after the next GET of an object, so that the module's write
  that follows is based on a stale read (``inject_after_next_get``).

It serves HTTPS with a self-signed certificate made by the ``openssl`` command in a temporary
directory (the kubeconfig names it as ``certificate-authority``), or plain HTTP when ``tls=False`` or
``openssl`` is missing. It listens on 127.0.0.1 on a port the kernel picks.

Run it by hand: ``python tests/k8s_standin/server.py`` prints the kubeconfig path and serves until
interrupted.
"""

import copy
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DS_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
DEPLOYMENTS = "deployments"
DAEMONSETS = "daemonsets"
KIND_OF = {DEPLOYMENTS: "Deployment", DAEMONSETS: "DaemonSet"}
ADMIN_TOKEN = "kubedc-standin-admin-token"
READONLY_TOKEN = "kubedc-standin-readonly-token"
_PATH_RE = re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>deployments|daemonsets)"
                      r"(?:/(?P<name>[^/]+))?/?$")
_ENV_NAME_RE = re.compile(r"^[^=]+$")


def _now_text():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _status(code, reason, message, name=None, kind="deployments"):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if name is not None:
        body["details"] = {"name": name, "group": "apps", "kind": kind}
    return body


def merge_patch(target, patch):
    """JSON merge patch, RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def template_hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


class User(object):
    def __init__(self, name, verbs=None):
        self.name = name
        self.verbs = None if verbs is None else set(verbs)  # None: every verb

    def may(self, verb):
        return self.verbs is None or verb in self.verbs


class ApiError(Exception):
    def __init__(self, code, body):
        super(ApiError, self).__init__(body.get("message"))
        self.code = code
        self.body = body


class StandinApiServer(object):
    """The stand-in API server: a store of Deployments and DaemonSets, simulated controllers, an HTTP front.

    Objects are keyed ``(resource, namespace, name)``; the helpers take ``resource=DEPLOYMENTS`` by default.
    """

    def __init__(self, tls=True, step_seconds=0.1, observe_seconds=0.05):
        self.tls = bool(tls) and shutil.which("openssl") is not None
        self.default_step_seconds = step_seconds
        self.default_observe_seconds = observe_seconds
        self.workdir = tempfile.mkdtemp(prefix="kubedc-k8s-standin-")
        self.ca_file = None
        self.lock = threading.Condition(threading.RLock())
        self.httpd = None
        self._threads = []
        self._stopped = False
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self):
        """Forget every object and test knob (the server keeps running)."""
        with self.lock:
            self.objects = {}
            self.rollouts = {}
            self.resource_version = 1000
            self.users = {ADMIN_TOKEN: User("kubedc-admin"),
                          READONLY_TOKEN: User("kubedc-readonly", verbs=("get", "list", "watch"))}
            self.forbidden_namespaces = set()
            self.requests = []
            self.after_get = {}
            self.step_seconds = self.default_step_seconds
            self.observe_seconds = self.default_observe_seconds
            self.stuck_rollout = False
            self.progress_deadline_seconds = None
            self.pod_restarts = {}
            self.lock.notify_all()

    def _next_rv(self):
        self.resource_version += 1
        return str(self.resource_version)

    def seed(self, deployment):
        """Store a Deployment (or a DaemonSet) as if it had been created and fully rolled out (revision 1)."""
        if deployment.get("kind") == "DaemonSet":
            return self._seed_daemonset(deployment)
        deployment = copy.deepcopy(deployment)
        with self.lock:
            meta = deployment.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now_text())
            meta["generation"] = 1
            meta.setdefault("annotations", {})[REVISION_ANNOTATION] = "1"
            replicas = deployment["spec"].get("replicas", 1)
            rs = "%s-%s" % (meta["name"], template_hash(deployment["spec"]["template"]))
            deployment["status"] = {
                "observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas,
                "conditions": [
                    self._condition("Available", "True", "MinimumReplicasAvailable",
                                    "Deployment has minimum availability."),
                    self._condition("Progressing", "True", "NewReplicaSetAvailable",
                                    'ReplicaSet "%s" has successfully progressed.' % rs),
                ]}
            meta["resourceVersion"] = self._next_rv()
            self.objects[(DEPLOYMENTS, meta["namespace"], meta["name"])] = deployment
        return copy.deepcopy(deployment)

    def _seed_daemonset(self, daemonset, nodes=None):
        daemonset = copy.deepcopy(daemonset)
        with self.lock:
            meta = daemonset.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now_text())
            meta["generation"] = 1
            meta.setdefault("annotations", {})[DS_GENERATION_ANNOTATION] = "1"
            nodes = nodes if nodes is not None else daemonset.pop("nodes", 3)
            daemonset["status"] = {
                "observedGeneration": 1, "desiredNumberScheduled": nodes, "currentNumberScheduled": nodes,
                "updatedNumberScheduled": nodes, "numberReady": nodes, "numberAvailable": nodes,
                "numberMisscheduled": 0}
            meta["resourceVersion"] = self._next_rv()
            self.objects[(DAEMONSETS, meta["namespace"], meta["name"])] = daemonset
        return copy.deepcopy(daemonset)

    def get(self, namespace, name, resource=DEPLOYMENTS):
        with self.lock:
            found = self.objects.get((resource, namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def write(self, namespace, name, mutate, resource=DEPLOYMENTS):
        """A write by another client (a concurrent writer): ``mutate(obj)`` edits in place."""
        with self.lock:
            key = (resource, namespace, name)
            current = self.objects[key]
            new = copy.deepcopy(current)
            mutate(new)
            return self._store(key, current, new)

    def inject_after_next_get(self, namespace, name, mutate, resource=DEPLOYMENTS):
        """Run ``write(namespace, name, mutate)`` right after the next GET of that object is answered."""
        with self.lock:
            self.after_get.setdefault((resource, namespace, name), []).append(mutate)

    def delete_daemonset_pods(self, namespace, name, count=None):
        """Delete ``count`` (default: all) pods of a DaemonSet that run an old template; they come back with
        the current one, as the DaemonSet controller recreates deleted pods (what OnDelete waits for)."""
        with self.lock:
            daemonset = self.objects[(DAEMONSETS, namespace, name)]
            status = daemonset["status"]
            old = status["desiredNumberScheduled"] - status["updatedNumberScheduled"]
            count = old if count is None else min(count, old)
            status["updatedNumberScheduled"] += count
            key = (DAEMONSETS, namespace, name)
            self.pod_restarts[key] = self.pod_restarts.get(key, 0) + count
            daemonset["metadata"]["resourceVersion"] = self._next_rv()
            return count

    def restarts_of(self, namespace, name, resource=DAEMONSETS):
        """How many pods of the object the simulated controller replaced (a template change under
        RollingUpdate, or deleted pods under OnDelete)."""
        with self.lock:
            return self.pod_restarts.get((resource, namespace, name), 0)

    def requests_of(self, method=None):
        with self.lock:
            return [dict(r) for r in self.requests if method is None or r["method"] == method]

    # ------------------------------------------------------------------ API semantics
    def _store(self, key, current, new):
        """Store ``new`` in place of ``current`` with kube-apiserver's bookkeeping; caller holds the lock."""
        meta = new.setdefault("metadata", {})
        for field in ("name", "namespace", "uid", "creationTimestamp"):
            meta[field] = current["metadata"].get(field)
        new["status"] = copy.deepcopy(current.get("status", {}))
        if new.get("spec") != current.get("spec"):
            meta["generation"] = current["metadata"].get("generation", 1) + 1
        else:
            meta["generation"] = current["metadata"].get("generation", 1)
        owned = REVISION_ANNOTATION if key[0] == DEPLOYMENTS else DS_GENERATION_ANNOTATION
        if (meta.get("annotations") or {}).get(owned) != (current["metadata"].get("annotations") or {}).get(owned):
            # The annotation belongs to the API server / controller; keep its value.
            meta.setdefault("annotations", {})[owned] = (current["metadata"].get("annotations") or {}).get(owned)
        if new == current:
            return copy.deepcopy(current)  # a no-op write does not move resourceVersion
        meta["resourceVersion"] = self._next_rv()
        self.objects[key] = new
        if meta["generation"] != current["metadata"].get("generation"):
            template_changed = new["spec"].get("template") != current["spec"].get("template")
            if template_changed and key[0] == DAEMONSETS:
                # kube-apiserver moves a DaemonSet's template generation annotation on with the write.
                meta.setdefault("annotations", {})[DS_GENERATION_ANNOTATION] = str(meta["generation"])
            self.rollouts[key] = {
                "generation": meta["generation"], "template_changed": template_changed,
                "phase": "observe", "started": time.monotonic(),
                "next": time.monotonic() + self.observe_seconds}
            self.lock.notify_all()
        return copy.deepcopy(new)

    def _validate(self, deployment):
        containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
        if not containers:
            return "spec.template.spec.containers: Required value"
        for index, container in enumerate(containers):
            for position, entry in enumerate(container.get("env") or []):
                where = "spec.template.spec.containers[%d].env[%d]" % (index, position)
                if not isinstance(entry, dict) or not entry.get("name") or not _ENV_NAME_RE.match(entry["name"]):
                    return "%s.name: Invalid value: %r: a valid environment variable name is required" % (
                        where, entry.get("name") if isinstance(entry, dict) else entry)
                if entry.get("value") not in (None, "") and entry.get("valueFrom") is not None:
                    return "%s.valueFrom: Invalid value: \"\": may not be specified when `value` is not empty" % where
                if "value" in entry and not isinstance(entry["value"], str):
                    return "%s.value: Invalid value: %r: must be a string" % (where, entry["value"])
        return None

    def handle(self, method, path, headers, body):
        """One API request; returns (code, body dict). Runs in the HTTP handler thread."""
        with self.lock:
            record = {"method": method, "path": path, "content_type": headers.get("Content-Type"),
                      "user": None, "status": None, "sent_resource_version": None}
            self.requests.append(record)
            try:
                code, payload, after = self._handle(method, path, headers, body, record)
            except ApiError as exc:
                code, payload, after = exc.code, exc.body, None
            record["status"] = code
            if after is not None:
                for mutate in self.after_get.pop(after, []):
                    self.write(after[1], after[2], mutate, resource=after[0])
            return code, payload

    def _handle(self, method, path, headers, body, record):
        path_only = urlsplit(path).path
        token = None
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):].strip()
        user = self.users.get(token)
        if user is None:
            raise ApiError(401, _status(401, "Unauthorized", "Unauthorized"))
        record["user"] = user.name
        match = _PATH_RE.match(path_only)
        if not match:
            raise ApiError(404, _status(404, "NotFound", "the server could not find the requested resource"
                                        " (this stand-in serves only apps/v1 Deployments and DaemonSets)"))
        namespace, name, resource = match.group("ns"), match.group("name"), match.group("resource")
        kind = KIND_OF[resource]
        key = (resource, namespace, name)
        verb = {"GET": "get" if name else "list", "PATCH": "patch", "PUT": "update",
                "POST": "create", "DELETE": "delete"}.get(method, method.lower())
        if not user.may(verb) or namespace in self.forbidden_namespaces:
            what = '%s.apps "%s" is forbidden' % (resource, name) if name else "%s.apps is forbidden" % resource
            raise ApiError(403, _status(
                403, "Forbidden", '%s: User "%s" cannot %s resource "%s" in API group "apps" in the'
                ' namespace "%s"' % (what, user.name, verb, resource, namespace), name=name, kind=resource))
        if method == "GET" and not name:
            items = [copy.deepcopy(obj) for (res, ns, _n), obj in sorted(self.objects.items())
                     if ns == namespace and res == resource]
            return 200, {"kind": kind + "List", "apiVersion": "apps/v1",
                         "metadata": {"resourceVersion": str(self.resource_version)}, "items": items}, None
        if method == "POST" and not name and resource == DEPLOYMENTS:
            return self._create(namespace, body)
        if method not in ("GET", "PATCH", "DELETE") or not name:
            raise ApiError(405, _status(405, "MethodNotAllowed", "the k8s stand-in implements only GET, PATCH"
                                        " (application/merge-patch+json), DELETE, and POST of Deployments",
                                        name=name, kind=resource))
        current = self.objects.get(key)
        if current is None:
            raise ApiError(404, _status(404, "NotFound", '%s.apps "%s" not found' % (resource, name), name=name,
                                        kind=resource))
        if method == "GET":
            return 200, copy.deepcopy(current), key
        if method == "DELETE":
            del self.objects[key]
            self.rollouts.pop(key, None)
            self._next_rv()
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": {"name": name, "group": "apps", "kind": resource}}, None
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type != "application/merge-patch+json":
            raise ApiError(415, _status(415, "UnsupportedMediaType", "the k8s stand-in implements only"
                                        " application/merge-patch+json patches, got %r" % content_type, name=name,
                                        kind=resource))
        try:
            patch = json.loads(body or b"null")
        except ValueError as exc:
            raise ApiError(400, _status(400, "BadRequest", "cannot parse the patch: %s" % exc, name=name,
                                        kind=resource))
        if not isinstance(patch, dict):
            raise ApiError(400, _status(400, "BadRequest", "a merge patch must be a JSON object", name=name,
                                        kind=resource))
        sent_rv = (patch.get("metadata") or {}).get("resourceVersion")
        record["sent_resource_version"] = sent_rv
        if sent_rv is not None and sent_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(409, _status(
                409, "Conflict", 'Operation cannot be fulfilled on %s.apps "%s": the object has been'
                ' modified; please apply your changes to the latest version and try again' % (resource, name),
                name=name, kind=resource))
        new = merge_patch(current, patch)
        problem = self._validate(new)
        if problem:
            raise ApiError(422, _status(422, "Invalid", '%s.apps "%s" is invalid: %s' % (kind, name, problem),
                                        name=name, kind=kind))
        return 200, self._store(key, current, new), None

    def _create(self, namespace, body):
        """POST: store a new Deployment (generation 1, no status yet) and let the controller roll it out."""
        try:
            new = json.loads(body or b"null")
        except ValueError as exc:
            raise ApiError(400, _status(400, "BadRequest", "cannot parse the object: %s" % exc))
        if not isinstance(new, dict) or not (new.get("metadata") or {}).get("name"):
            raise ApiError(422, _status(422, "Invalid", "Deployment.apps is invalid: metadata.name: Required value",
                                        kind="Deployment"))
        name = new["metadata"]["name"]
        if (DEPLOYMENTS, namespace, name) in self.objects:
            raise ApiError(409, _status(409, "AlreadyExists", 'deployments.apps "%s" already exists' % name,
                                        name=name))
        problem = self._validate(new)
        if problem:
            raise ApiError(422, _status(422, "Invalid", 'Deployment.apps "%s" is invalid: %s' % (name, problem),
                                        name=name, kind="Deployment"))
        meta = new["metadata"]
        meta.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=_now_text(), generation=1,
                    resourceVersion=self._next_rv())
        (meta.get("annotations") or {}).pop(REVISION_ANNOTATION, None)
        new["status"] = {}
        self.objects[(DEPLOYMENTS, namespace, name)] = new
        self.rollouts[(DEPLOYMENTS, namespace, name)] = {
            "generation": 1, "template_changed": True, "phase": "observe", "started": time.monotonic(),
            "next": time.monotonic() + self.observe_seconds}
        self.lock.notify_all()
        return 201, copy.deepcopy(new), None

    # ------------------------------------------------------------------ simulated controller
    @staticmethod
    def _condition(kind, status, reason, message):
        now = _now_text()
        return {"type": kind, "status": status, "reason": reason, "message": message,
                "lastUpdateTime": now, "lastTransitionTime": now}

    def _set_condition(self, deployment, kind, status, reason, message):
        conditions = deployment["status"].setdefault("conditions", [])
        for index, condition in enumerate(conditions):
            if condition["type"] == kind:
                new = self._condition(kind, status, reason, message)
                if condition["status"] == status:
                    new["lastTransitionTime"] = condition.get("lastTransitionTime", new["lastTransitionTime"])
                conditions[index] = new
                return
        conditions.append(self._condition(kind, status, reason, message))

    def _daemonset_step(self, key, daemonset, rollout, now):
        status = daemonset["status"]
        nodes = status.get("desiredNumberScheduled", 0)
        strategy = ((daemonset["spec"].get("updateStrategy") or {}).get("type")) or "RollingUpdate"
        if rollout["phase"] == "observe":
            status["observedGeneration"] = rollout["generation"]
            if not rollout["template_changed"]:
                rollout["phase"] = "done"
            else:
                status["updatedNumberScheduled"] = 0  # every pod runs the previous template now
                rollout["phase"] = "rolling" if strategy == "RollingUpdate" else "done"
                rollout["next"] = now + self.step_seconds
        elif rollout["phase"] == "rolling":
            # One node at a time: its pod is deleted and recreated with the new template.
            status["updatedNumberScheduled"] = min(nodes, status.get("updatedNumberScheduled", 0) + 1)
            self.pod_restarts[key] = self.pod_restarts.get(key, 0) + 1
            status["numberAvailable"] = status["numberReady"] = nodes
            if status["updatedNumberScheduled"] >= nodes:
                rollout["phase"] = "done"
            else:
                rollout["next"] = now + self.step_seconds
        daemonset["metadata"]["resourceVersion"] = self._next_rv()
        return rollout if rollout["phase"] != "done" else None

    def _controller_step(self, key, rollout, now):
        deployment = self.objects.get(key)
        if deployment is None or deployment["metadata"]["generation"] != rollout["generation"]:
            return None  # superseded by a newer write, or deleted
        if key[0] == DAEMONSETS:
            return self._daemonset_step(key, deployment, rollout, now)
        status = deployment["status"]
        replicas = deployment["spec"].get("replicas", 1)
        rs = "%s-%s" % (key[2], template_hash(deployment["spec"]["template"]))
        if rollout["phase"] == "observe":
            status["observedGeneration"] = rollout["generation"]
            if not rollout["template_changed"]:
                rollout["phase"] = "done"
            else:
                annotations = deployment["metadata"].setdefault("annotations", {})
                annotations[REVISION_ANNOTATION] = str(int(annotations.get(REVISION_ANNOTATION, "0")) + 1)
                status.update(updatedReplicas=0, replicas=replicas, readyReplicas=max(0, replicas - 1),
                              availableReplicas=max(0, replicas - 1))
                self._set_condition(deployment, "Progressing", "True", "ReplicaSetUpdated",
                                    'ReplicaSet "%s" is progressing.' % rs)
                rollout["phase"] = "rolling"
                rollout["next"] = now + self.step_seconds
        elif rollout["phase"] == "rolling" and self.stuck_rollout:
            if status.get("updatedReplicas", 0) == 0:
                status["updatedReplicas"] = 1  # its pod is created but never becomes ready
                self._set_condition(deployment, "Available", "True" if replicas > 1 else "False",
                                    "MinimumReplicasAvailable" if replicas > 1 else "MinimumReplicasUnavailable",
                                    "Deployment has minimum availability." if replicas > 1
                                    else "Deployment does not have minimum availability.")
            deadline = self.progress_deadline_seconds
            if deadline is not None and now >= rollout["started"] + deadline:
                self._set_condition(deployment, "Progressing", "False", "ProgressDeadlineExceeded",
                                    'ReplicaSet "%s" has timed out progressing.' % rs)
                rollout["phase"] = "done"
            else:
                rollout["next"] = rollout["started"] + deadline if deadline is not None else None
        elif rollout["phase"] == "rolling":
            status["updatedReplicas"] = status.get("updatedReplicas", 0) + 1
            if status["updatedReplicas"] >= replicas:
                status.update(updatedReplicas=replicas, readyReplicas=replicas, availableReplicas=replicas)
                self._set_condition(deployment, "Available", "True", "MinimumReplicasAvailable",
                                    "Deployment has minimum availability.")
                self._set_condition(deployment, "Progressing", "True", "NewReplicaSetAvailable",
                                    'ReplicaSet "%s" has successfully progressed.' % rs)
                rollout["phase"] = "done"
            else:
                rollout["next"] = now + self.step_seconds
        deployment["metadata"]["resourceVersion"] = self._next_rv()
        return rollout if rollout["phase"] != "done" else None

    def _controller_loop(self):
        with self.lock:
            while not self._stopped:
                now = time.monotonic()
                for key, rollout in list(self.rollouts.items()):
                    if rollout.get("next") is not None and rollout["next"] <= now:
                        if self._controller_step(key, rollout, now) is None:
                            if self.rollouts.get(key) is rollout:
                                del self.rollouts[key]
                due = [r["next"] for r in self.rollouts.values() if r.get("next") is not None]
                wait = min(due) - time.monotonic() if due else 1.0
                self.lock.wait(timeout=min(max(wait, 0.005), 1.0))

    # ------------------------------------------------------------------ HTTP front
    def start(self):
        if self.tls:
            self._make_certificate()
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "kubedc-k8s-standin/1"

            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                code, payload = server.handle(method, self.path, self.headers, body)
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 - http.server naming
                self._serve("GET")

            def do_PATCH(self):  # noqa: N802
                self._serve("PATCH")

            def do_PUT(self):  # noqa: N802
                self._serve("PUT")

            def do_POST(self):  # noqa: N802
                self._serve("POST")

            def do_DELETE(self):  # noqa: N802
                self._serve("DELETE")

            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(os.path.join(self.workdir, "tls.crt"), os.path.join(self.workdir, "tls.key"))
            # The handshake then happens in the handler thread, not in the accepting thread.
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.httpd = httpd
        for target in (httpd.serve_forever, self._controller_loop):
            thread = threading.Thread(target=target, name="k8s-standin", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _make_certificate(self):
        key = os.path.join(self.workdir, "tls.key")
        cert = os.path.join(self.workdir, "tls.crt")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=kubedc-k8s-standin",
             "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"],
            check=True, capture_output=True, timeout=60)
        self.ca_file = cert

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return "%s://%s:%d" % ("https" if self.tls else "http", host, port)

    def stop(self):
        with self.lock:
            self._stopped = True
            self.lock.notify_all()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def write_kubeconfig(self, path=None):
        """A real kubeconfig file for this server; contexts standin-admin (current), standin-readonly, standin-badtoken."""
        path = path or os.path.join(self.workdir, "kubeconfig")
        cluster = {"server": self.url}
        if self.tls:
            cluster["certificate-authority"] = self.ca_file
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "k8s-standin", "cluster": cluster}],
            "users": [{"name": "kubedc-admin", "user": {"token": ADMIN_TOKEN}},
                      {"name": "kubedc-readonly", "user": {"token": READONLY_TOKEN}},
                      {"name": "kubedc-badtoken", "user": {"token": "not-a-valid-token"}}],
            "contexts": [{"name": "standin-admin", "context": {"cluster": "k8s-standin", "user": "kubedc-admin"}},
                         {"name": "standin-readonly", "context": {"cluster": "k8s-standin", "user": "kubedc-readonly"}},
                         {"name": "standin-badtoken", "context": {"cluster": "k8s-standin", "user": "kubedc-badtoken"}}],
            "current-context": "standin-admin",
        }
        with open(path, "w") as handle:
            json.dump(config, handle, indent=2)  # JSON is valid kubeconfig YAML
        return path


def ovs_ovn_daemonset(namespace="kube-system", strategy="OnDelete", nodes=3):
    """kube-ovn's ovs-ovn DaemonSet as its Helm chart renders it (``nodes``: how many nodes run a pod)."""
    update = {"type": strategy}
    if strategy == "RollingUpdate":
        update["rollingUpdate"] = {"maxSurge": 1, "maxUnavailable": 0}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "nodes": nodes,
        "metadata": {"name": "ovs-ovn", "namespace": namespace,
                     "annotations": {"kubernetes.io/description": "This daemon set launches the openvswitch daemon.\n"}},
        "spec": {
            "selector": {"matchLabels": {"app": "ovs"}},
            "updateStrategy": update,
            "template": {
                "metadata": {"labels": {"app": "ovs", "component": "network", "type": "infra"}},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "serviceAccountName": "ovn-ovs",
                    "hostNetwork": True, "hostPID": True,
                    "tolerations": [{"effect": "NoSchedule", "operator": "Exists"}],
                    "containers": [{
                        "name": "openvswitch",
                        "image": "docker.io/kubeovn/kube-ovn:v1.13.0",
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/kube-ovn/start-ovs.sh"],
                        "securityContext": {"runAsUser": 0, "privileged": True},
                        "env": [
                            {"name": "ENABLE_SSL", "value": "false"},
                            _field_ref("POD_IP", "status.podIP"),
                            {"name": "HW_OFFLOAD", "value": "false"},
                            {"name": "TUNNEL_TYPE", "value": "geneve"},
                            _field_ref("KUBE_NODE_NAME", "spec.nodeName"),
                            {"name": "OVN_DB_IPS", "value": "10.0.0.11,10.0.0.12,10.0.0.13"},
                            {"name": "OVN_REMOTE_PROBE_INTERVAL", "value": "10000"},
                            {"name": "OVN_REMOTE_OPENFLOW_INTERVAL", "value": "180"},
                        ],
                        "volumeMounts": [{"mountPath": "/var/run/openvswitch", "name": "host-run-ovs"},
                                         {"mountPath": "/var/run/ovn", "name": "host-run-ovn"}],
                    }],
                    "volumes": [{"name": "host-run-ovs", "hostPath": {"path": "/run/openvswitch"}},
                                {"name": "host-run-ovn", "hostPath": {"path": "/run/ovn"}}],
                },
            },
        },
    }


def _field_ref(name, field_path):
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": field_path}}}


def ovn_central_deployment(namespace="kube-system", replicas=3):
    """kube-ovn's ovn-central Deployment as its Helm chart renders it, with the incident's 5 s probes."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": "ovn-central", "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"kubernetes.io/description": "OVN components: northd, nb and sb.\n"},
        },
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "selector": {"matchLabels": {"app": "ovn-central"}},
            "template": {
                "metadata": {"labels": {"app": "ovn-central", "component": "network", "type": "infra"}},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "ovn-ovs",
                    "hostNetwork": True,
                    "nodeSelector": {"kubernetes.io/os": "linux", "kube-ovn/role": "master"},
                    "tolerations": [{"effect": "NoSchedule", "operator": "Exists"},
                                    {"effect": "NoExecute", "operator": "Exists"},
                                    {"key": "CriticalAddonsOnly", "operator": "Exists"}],
                    "containers": [{
                        "name": "ovn-central",
                        "image": "docker.io/kubeovn/kube-ovn:v1.13.0",
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/kube-ovn/start-db.sh"],
                        "securityContext": {"capabilities": {"add": ["SYS_NICE"]}},
                        "env": [
                            {"name": "ENABLE_SSL", "value": "false"},
                            {"name": "NODE_IPS", "value": "10.0.0.11,10.0.0.12,10.0.0.13"},
                            _field_ref("POD_IP", "status.podIP"),
                            _field_ref("POD_NAME", "metadata.name"),
                            _field_ref("POD_NAMESPACE", "metadata.namespace"),
                            _field_ref("POD_IPS", "status.podIPs"),
                            {"name": "ENABLE_BIND_LOCAL_IP", "value": "true"},
                            {"name": "PROBE_INTERVAL", "value": "5000"},
                            {"name": "OVN_NORTHD_PROBE_INTERVAL", "value": "5000"},
                            {"name": "OVN_LEADER_PROBE_INTERVAL", "value": "5"},
                            {"name": "OVN_NORTHD_N_THREADS", "value": "1"},
                            {"name": "ENABLE_COMPACT", "value": "false"},
                            {"name": "OVN_VERSION_COMPATIBILITY", "value": ""},
                        ],
                        "resources": {"requests": {"cpu": "300m", "memory": "200Mi"},
                                      "limits": {"cpu": "3", "memory": "4Gi"}},
                        "readinessProbe": {"exec": {"command": ["bash", "/kube-ovn/ovn-healthcheck.sh"]},
                                           "periodSeconds": 15, "timeoutSeconds": 45},
                        "volumeMounts": [{"mountPath": "/etc/ovn", "name": "host-config-ovn"},
                                         {"mountPath": "/var/run/ovn", "name": "host-run-ovn"}],
                    }],
                    "volumes": [{"name": "host-config-ovn", "hostPath": {"path": "/etc/origin/ovn"}},
                                {"name": "host-run-ovn", "hostPath": {"path": "/run/ovn"}}],
                },
            },
        },
    }


def main():
    server = StandinApiServer().start()
    server.seed(ovn_central_deployment())
    server.seed(ovs_ovn_daemonset())
    print("k8s stand-in (NOT Kubernetes) at %s; kubeconfig: %s" % (server.url, server.write_kubeconfig()))
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
