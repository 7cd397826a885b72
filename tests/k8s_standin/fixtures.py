"""pytest fixtures for the Kubernetes API stand-in (NOT a Kubernetes; see server.py).

- ``k8s_standin_server`` (session): one stand-in on 127.0.0.1 and a real kubeconfig file pointing at it.
- ``k8s_standin`` (function): the same server, reset and seeded with kube-ovn's ovn-central
  Deployment in kube-system (3 replicas, revision 1, fully rolled out) and its ovs-ovn DaemonSet
  (3 nodes, ``updateStrategy: OnDelete``, all pods on the current template).

``http_get_deployment`` and ``http_get_daemonset`` read an object straight from the stand-in with
urllib: an oracle that does not share a line of code with the modules or the ``kubernetes`` client.
"""

import json
import ssl
import urllib.error
import urllib.request

import pytest

from k8s_standin.server import ADMIN_TOKEN, StandinApiServer, ovn_central_deployment, ovs_ovn_daemonset


@pytest.fixture(scope="session")
def k8s_standin_server():
    server = StandinApiServer().start()
    server.kubeconfig = server.write_kubeconfig()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def k8s_standin(k8s_standin_server):
    k8s_standin_server.reset()
    k8s_standin_server.seed(ovn_central_deployment())
    k8s_standin_server.seed(ovs_ovn_daemonset())
    return k8s_standin_server


def http_get_daemonset(server, namespace="kube-system", name="ovs-ovn", token=ADMIN_TOKEN, timeout=10):
    """The DaemonSet as the stand-in serves it (a dict), or None on 404."""
    return http_get_deployment(server, namespace, name, token, timeout, resource="daemonsets")


def http_get_deployment(server, namespace="kube-system", name="ovn-central", token=ADMIN_TOKEN, timeout=10,
                        resource="deployments"):
    """The Deployment as the stand-in serves it (a dict), or None on 404. Bypasses any proxy."""
    handlers = [urllib.request.ProxyHandler({})]
    if server.url.startswith("https"):
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=server.ca_file)))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        "%s/apis/apps/v1/namespaces/%s/%s/%s" % (server.url, namespace, resource, name),
        headers={"Authorization": "Bearer %s" % token, "Accept": "application/json"})
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
