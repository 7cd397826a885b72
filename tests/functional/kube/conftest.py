"""Fixtures of the kube-ovn Deployment tests; the targets live in tests/k8s_standin/targets.py.

Cases that need a fault only the stand-in can produce (a concurrent writer between read and write, a stuck
rollout, a forbidden verb, a request log) use ``k8s_standin`` directly; the others run on the ``kube``
targets (the stand-in, and a real cluster when asked for).
"""

from k8s_standin.fixtures import k8s_standin, k8s_standin_server  # pylint: disable=unused-import
from k8s_standin.targets import REAL_NAMESPACE_ENV, kube, original_env  # pylint: disable=unused-import


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "real_cluster: runs against the Kubernetes cluster of KUBECONFIG, in the disposable namespace"
                   " named by %s; skipped unless both are set" % REAL_NAMESPACE_ENV)
