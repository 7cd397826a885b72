"""Targets of the kube-ovn Deployment tests: the Kubernetes API stand-in (NOT a Kubernetes), or a real cluster.

``kube`` is parametrised over two targets with the same interface (``module_args``, ``read``):

- ``standin``: the stand-in of tests/k8s_standin, seeded with kube-ovn's ovn-central Deployment, read back
  with plain urllib;
- ``real`` (marker ``real_cluster``): the cluster KUBECONFIG points at. Runs only when KUBECONFIG is set and
  KUBEDC_REAL_CLUSTER_NAMESPACE names a disposable namespace (the tests create, change and delete a
  Deployment ``ovn-central`` there, running the pause image); skipped otherwise, with the reason in the skip
  message (``pytest -rs``). Read back with the kubernetes client directly, not through the module.
"""

import copy
import json
import os
import time

import pytest

from k8s_standin.fixtures import http_get_deployment
from k8s_standin.server import ovn_central_deployment

REAL_NAMESPACE_ENV = "KUBEDC_REAL_CLUSTER_NAMESPACE"


def container_env_list(deployment, container="ovn-central"):
    for item in deployment["spec"]["template"]["spec"]["containers"]:
        if item["name"] == container:
            return item.get("env") or []
    raise AssertionError("no container %s" % container)


def env_dict(deployment, container="ovn-central"):
    result = {}
    for entry in container_env_list(deployment, container):
        result[entry["name"]] = {"valueFrom": entry["valueFrom"]} if entry.get("valueFrom") else entry.get("value", "")
    return result


class StandinTarget(object):
    name = "standin"
    namespace = "kube-system"
    wait_timeout = 60

    def __init__(self, server):
        self.server = server

    def module_args(self, **args):
        base = {"kubeconfig": self.server.kubeconfig, "namespace": self.namespace}
        base.update(args)
        return base

    def read(self, name="ovn-central"):
        return http_get_deployment(self.server, self.namespace, name)


class RealClusterTarget(object):
    """A disposable ovn-central look-alike (pause image, 1 replica) in a namespace of a real cluster."""

    name = "real"
    wait_timeout = 300

    def __init__(self, namespace):
        import kubernetes.client
        import kubernetes.config
        self.namespace = namespace
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(client_configuration=configuration, persist_config=False)
        self.apps = kubernetes.client.AppsV1Api(kubernetes.client.ApiClient(configuration))

    def module_args(self, **args):
        base = {"namespace": self.namespace}  # the module finds KUBECONFIG by itself
        base.update(args)
        return base

    def read(self, name="ovn-central"):
        from kubernetes.client.rest import ApiException
        try:
            response = self.apps.read_namespaced_deployment(name, self.namespace, _preload_content=False,
                                                            _request_timeout=30)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return json.loads(response.data)

    def reset(self):
        from kubernetes.client.rest import ApiException
        body = ovn_central_deployment(namespace=self.namespace, replicas=1)
        pod_spec = body["spec"]["template"]["spec"]
        for key in ("hostNetwork", "nodeSelector", "priorityClassName", "serviceAccountName", "volumes"):
            pod_spec.pop(key, None)
        container = pod_spec["containers"][0]
        container.update(image="registry.k8s.io/pause:3.9", command=None, securityContext=None,
                         readinessProbe=None, volumeMounts=None,
                         resources={"requests": {"cpu": "10m", "memory": "16Mi"}})
        pod_spec["containers"][0] = dict((k, v) for k, v in container.items() if v is not None)
        body["spec"]["progressDeadlineSeconds"] = 120
        try:
            self.apps.delete_namespaced_deployment("ovn-central", self.namespace, _request_timeout=30)
        except ApiException as exc:
            if exc.status != 404:
                raise
        deadline = time.monotonic() + 120
        while self.read() is not None:
            assert time.monotonic() < deadline, "the previous test Deployment was not deleted within 120 s"
            time.sleep(1)
        self.apps.create_namespaced_deployment(self.namespace, body, _request_timeout=30)
        while True:
            current = self.read()
            status = current.get("status") or {}
            if status.get("observedGeneration") == current["metadata"]["generation"] and \
                    status.get("availableReplicas") == 1 and status.get("updatedReplicas") == 1:
                return
            assert time.monotonic() < deadline, "the test Deployment did not become available within 120 s"
            time.sleep(1)


@pytest.fixture(params=["standin", pytest.param("real", marks=pytest.mark.real_cluster)])
def kube(request):
    if request.param == "standin":
        return StandinTarget(request.getfixturevalue("k8s_standin"))
    namespace = os.environ.get(REAL_NAMESPACE_ENV)
    if not os.environ.get("KUBECONFIG") or not namespace:
        pytest.skip("real_cluster: set KUBECONFIG to a cluster and %s to a disposable namespace there to run"
                    " this test against a real Kubernetes (it creates and deletes a Deployment ovn-central in"
                    " that namespace)" % REAL_NAMESPACE_ENV)
    target = RealClusterTarget(namespace)
    target.reset()
    return target


@pytest.fixture
def original_env():
    return copy.deepcopy(env_dict(ovn_central_deployment()))
