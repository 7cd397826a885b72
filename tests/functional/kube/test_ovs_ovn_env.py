"""kubedc.ovn_tuning.ovs_ovn_env, run through ansible-playbook against the Kubernetes API stand-in
(tests/k8s_standin, NOT a Kubernetes) with a real kubeconfig file.

The stand-in's simulated DaemonSet controller replaces pods the way the strategy says (RollingUpdate: one
node at a time; OnDelete: none until a pod is deleted) and counts each pod it replaced. Every outcome is
checked on the DaemonSet read back with plain urllib and on that count.
"""

from k8s_standin.fixtures import http_get_daemonset
from k8s_standin.server import ovn_central_deployment, ovs_ovn_daemonset
from k8s_standin.targets import container_env_list, env_dict
from support.ansible_run import run_module

MODULE = "kubedc.ovn_tuning.ovs_ovn_env"
NS = "kube-system"


def run(server, check=False, diff=False, **args):
    module_args = dict({"kubeconfig": server.kubeconfig, "wait_timeout": 60}, **args)
    return run_module(MODULE, module_args, check=check, diff=diff)


def ovs_env(server):
    return env_dict(http_get_daemonset(server), "openvswitch")


def reseed(server, strategy):
    server.reset()
    server.seed(ovn_central_deployment())
    server.seed(ovs_ovn_daemonset(strategy=strategy))


def test_on_delete_persists_for_the_next_pod_start_and_restarts_nothing(k8s_standin):
    start = http_get_daemonset(k8s_standin)
    original = ovs_env(k8s_standin)
    names_before = [e["name"] for e in container_env_list(start, "openvswitch")]
    args = dict(env={"OVN_REMOTE_PROBE_INTERVAL": "5m", "OVN_REMOTE_OPENFLOW_INTERVAL": 180})

    checked = run(k8s_standin, check=True, diff=True, **args)
    assert not checked["failed"], checked.get("msg")
    assert checked["changed"] is True and checked["update_strategy"] == "OnDelete" and checked["restarts"] is False
    assert checked["changes"] == [{"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "10000", "after": "300000"}]
    assert checked["diff"]["after"]["OVN_REMOTE_PROBE_INTERVAL"] == "300000"
    assert any("no pod restarts now" in w and "3 pods (one per node)" in w for w in checked["warnings"])
    assert http_get_daemonset(k8s_standin)["metadata"]["resourceVersion"] == start["metadata"]["resourceVersion"]

    done = run(k8s_standin, **args)
    assert not done["failed"], done.get("msg")
    assert done["changed"] is True and done["restarts"] is False
    stored = http_get_daemonset(k8s_standin)
    assert ovs_env(k8s_standin) == dict(original, OVN_REMOTE_PROBE_INTERVAL="300000")
    assert [e["name"] for e in container_env_list(stored, "openvswitch")] == names_before  # order kept
    assert stored["metadata"]["generation"] == 2 and done["revision_after"] == "2" and done["revision_before"] == "1"
    # OnDelete: the controller observed the change and replaced no pod; all 3 wait for their next restart.
    assert done["rollout"]["complete"] is True and done["rollout"]["pods_pending_restart"] == 3
    assert stored["status"]["updatedNumberScheduled"] == 0
    assert k8s_standin.restarts_of(NS, "ovs-ovn") == 0
    assert done["rollback_env"] == {"OVN_REMOTE_PROBE_INTERVAL": "10000"}

    again = run(k8s_standin, **args)
    assert not again["failed"] and again["changed"] is False and again["changes"] == []
    assert http_get_daemonset(k8s_standin)["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]

    assert k8s_standin.delete_daemonset_pods(NS, "ovs-ovn", count=1) == 1
    read = run(k8s_standin, env={})
    assert read["rollout"]["pods_pending_restart"] == 2 and "1 of 3 pods run the current template" in \
        read["rollout"]["message"]

    back = run(k8s_standin, env=done["rollback_env"])
    assert not back["failed"] and back["changed"] is True
    assert ovs_env(k8s_standin) == original
    assert k8s_standin.restarts_of(NS, "ovs-ovn") == 1  # only the pod the test deleted


def test_rolling_update_is_refused_unless_allowed_and_then_rolls_every_node(k8s_standin):
    reseed(k8s_standin, "RollingUpdate")
    start = http_get_daemonset(k8s_standin)
    env = {"OVN_REMOTE_PROBE_INTERVAL": 300000}

    for check in (True, False):
        refused = run(k8s_standin, check=check, env=env)
        assert refused["failed"] and refused.get("changed") is not True
        for words in ("allow_restart:", "DaemonSet kube-system/ovs-ovn has updateStrategy RollingUpdate",
                      "restart its pod on every node", "Nothing was written"):
            assert words in refused["msg"], refused["msg"]
        assert refused["changes"] == [{"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "10000", "after": "300000"}]
        assert http_get_daemonset(k8s_standin)["metadata"]["resourceVersion"] == start["metadata"]["resourceVersion"]
    assert k8s_standin.requests_of("PATCH") == []

    # A run that changes nothing is not refused.
    same = run(k8s_standin, env={"OVN_REMOTE_PROBE_INTERVAL": "10s"})
    assert not same["failed"] and same["changed"] is False

    allowed = run(k8s_standin, env=env, allow_restart=True)
    assert not allowed["failed"], allowed.get("msg")
    assert allowed["changed"] is True and allowed["restarts"] is True
    assert allowed["rollout"]["waited"] is True and allowed["rollout"]["complete"] is True
    assert "successfully rolled out (3 of 3 pods" in allowed["rollout"]["message"]
    assert any("replaces its 3 pods (one per node)" in w and "datapath" in w for w in allowed["warnings"])
    assert ovs_env(k8s_standin)["OVN_REMOTE_PROBE_INTERVAL"] == "300000"
    assert k8s_standin.restarts_of(NS, "ovs-ovn") == 3
    assert http_get_daemonset(k8s_standin)["status"]["updatedNumberScheduled"] == 3


def test_bad_values_and_the_other_workloads_variables_are_refused_and_change_nothing(k8s_standin):
    start = http_get_daemonset(k8s_standin)
    cases = [
        ({"OVN_REMOTE_OPENFLOW_INTERVAL": 180000}, ["env.OVN_REMOTE_OPENFLOW_INTERVAL", "looks like milliseconds"]),
        ({"OVN_REMOTE_PROBE_INTERVAL": 300}, ["env.OVN_REMOTE_PROBE_INTERVAL", "looks like seconds"]),
        ({"OVN_LEADER_PROBE_INTERVAL": 60}, ["env.OVN_LEADER_PROBE_INTERVAL", "kubedc.ovn_tuning.ovn_central_env"]),
    ]
    for env, words in cases:
        result = run(k8s_standin, env=env)
        assert result["failed"]
        for word in words:
            assert word in result["msg"], result["msg"]
    wrong = run(k8s_standin, env={"OVN_REMOTE_PROBE_INTERVAL": 300000}, container="ovs")
    assert wrong["failed"] and "DaemonSet kube-system/ovs-ovn has no container named 'ovs'" in wrong["msg"]
    assert "openvswitch" in wrong["msg"]
    assert http_get_daemonset(k8s_standin)["metadata"]["resourceVersion"] == start["metadata"]["resourceVersion"]
    assert k8s_standin.requests_of("PATCH") == []
