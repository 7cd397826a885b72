"""Pure logic of the kube-ovn Deployment module: env planning, value normalisation, rollout judgement,
the conflict retry loop and the error sentences. No server involved."""

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_client as k8s
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_workload
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_base
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_env

POD_IP = {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
ENV = [
    {"name": "ENABLE_SSL", "value": "false"},
    {"name": "POD_IP", "valueFrom": POD_IP["valueFrom"]},
    {"name": "PROBE_INTERVAL", "value": "5000"},
    {"name": "OVN_LEADER_PROBE_INTERVAL", "value": "5"},
    {"name": "EMPTY"},
]


# --------------------------------------------------------------------------- plan_env

def test_changing_a_variable_keeps_its_position_and_every_other_entry():
    new, changes = k8s_workload.plan_env(ENV, {"PROBE_INTERVAL": "180000"})
    assert [e["name"] for e in new] == [e["name"] for e in ENV]
    assert new[2] == {"name": "PROBE_INTERVAL", "value": "180000"}
    assert [e for i, e in enumerate(new) if i != 2] == [e for i, e in enumerate(ENV) if i != 2]
    assert changes == [{"name": "PROBE_INTERVAL", "before": "5000", "after": "180000"}]


def test_equal_values_plan_no_change():
    new, changes = k8s_workload.plan_env(ENV, {"PROBE_INTERVAL": "5000", "POD_IP": copy.deepcopy(POD_IP), "EMPTY": "",
                                               "ABSENT": None})
    assert changes == []
    assert new == ENV


def test_new_variables_are_appended_in_the_order_given():
    new, changes = k8s_workload.plan_env(ENV, {"B_NEW": "2", "A_NEW": "1"})
    assert [e["name"] for e in new][-2:] == ["B_NEW", "A_NEW"]
    assert [c["name"] for c in changes] == ["B_NEW", "A_NEW"]
    assert changes[0]["before"] is None


def test_null_removes_every_entry_of_the_name():
    doubled = ENV + [{"name": "PROBE_INTERVAL", "value": "6000"}]
    new, changes = k8s_workload.plan_env(doubled, {"PROBE_INTERVAL": None})
    assert "PROBE_INTERVAL" not in [e["name"] for e in new]
    assert changes == [{"name": "PROBE_INTERVAL", "before": "6000", "after": None}]  # the last entry was in effect


def test_a_value_replaces_a_value_from_and_back():
    new, changes = k8s_workload.plan_env(ENV, {"POD_IP": "10.0.0.1"})
    assert new[1] == {"name": "POD_IP", "value": "10.0.0.1"}
    assert changes == [{"name": "POD_IP", "before": POD_IP, "after": "10.0.0.1"}]
    back, changes_back = k8s_workload.plan_env(new, k8s_workload.rollback_env(changes))
    assert back == ENV and changes_back[0]["after"] == POD_IP


def test_duplicates_of_a_managed_variable_collapse_into_one_entry():
    doubled = ENV + [{"name": "PROBE_INTERVAL", "value": "7000"}]
    new, changes = k8s_workload.plan_env(doubled, {"PROBE_INTERVAL": "7000"})
    assert [e["name"] for e in new].count("PROBE_INTERVAL") == 1
    assert changes  # the list changes even though the effective value does not


def test_container_patch_carries_every_container_whole():
    deployment = {"spec": {"template": {"spec": {"containers": [
        {"name": "ovn-central", "image": "x", "env": ENV, "futureField": {"a": 1}},
        {"name": "sidecar", "image": "y", "env": [{"name": "A", "value": "1"}]}]}}}}
    patch = k8s_workload.container_patch(deployment, "ovn-central", [{"name": "A", "value": "2"}])
    containers = patch["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {"name": "ovn-central", "image": "x", "env": [{"name": "A", "value": "2"}],
                             "futureField": {"a": 1}}
    assert containers[1] == deployment["spec"]["template"]["spec"]["containers"][1]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"] == ENV  # input untouched
    emptied = k8s_workload.container_patch(deployment, "ovn-central", [])
    assert "env" not in emptied["spec"]["template"]["spec"]["containers"][0]


def test_find_container_lists_the_containers_it_has():
    deployment = {"metadata": {"namespace": "kube-system", "name": "ovn-central"},
                  "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}}
    with pytest.raises(k8s_workload.K8sError) as caught:
        k8s_workload.find_container(deployment, "ovn-central")
    assert "no container named 'ovn-central'; its containers are: a, b" in str(caught.value)


names = st.sampled_from(["A", "B", "C", "D", "PROBE_INTERVAL"])
values = st.one_of(st.sampled_from(["", "1", "2", "x"]), st.just(POD_IP))
entries = st.builds(k8s_workload._entry_for, names, values)  # pylint: disable=protected-access


@settings(max_examples=200, deadline=None)
@given(env=st.lists(entries, max_size=6), desired=st.dictionaries(names, st.one_of(st.none(), values), max_size=4))
def test_plan_is_idempotent_and_rollback_env_restores_the_effective_environment(env, desired):
    new, changes = k8s_workload.plan_env(env, desired)
    effective = k8s_workload.env_to_dict(new)
    for name, value in desired.items():
        assert effective.get(name) == value
    untouched = dict((n, v) for n, v in k8s_workload.env_to_dict(env).items() if n not in desired)
    assert dict((n, v) for n, v in effective.items() if n not in desired) == untouched
    assert k8s_workload.plan_env(new, desired)[1] == []
    restored = k8s_workload.plan_env(new, k8s_workload.rollback_env(changes))[0]
    assert k8s_workload.env_to_dict(restored) == k8s_workload.env_to_dict(env)


# --------------------------------------------------------------------------- normalize_env

def test_known_variables_are_converted_to_their_unit_and_written_as_strings():
    assert k8s_env.normalize_env({
        "OVN_LEADER_PROBE_INTERVAL": "60s", "OVN_NORTHD_PROBE_INTERVAL": "1m", "PROBE_INTERVAL": 180000,
        "OVN_NORTHD_N_THREADS": 4, "ENABLE_SSL": False, "OTHER": 1.5, "GONE": None, "POD_IP": POD_IP,
    }, "ovn-central") == {
        "OVN_LEADER_PROBE_INTERVAL": "60", "OVN_NORTHD_PROBE_INTERVAL": "60000", "PROBE_INTERVAL": "180000",
        "OVN_NORTHD_N_THREADS": "4", "ENABLE_SSL": "false", "OTHER": "1.5", "GONE": None, "POD_IP": POD_IP}


def test_every_k8s_env_tunable_belongs_to_one_workload_whose_module_validates_it():
    env_tunables = tunables.by_kind(tunables.KIND_K8S_ENV)
    assert set(t.workload for t in env_tunables) == set(tunables.K8S_WORKLOADS)
    for workload in tunables.K8S_WORKLOADS:
        own = tunables.env_tunables(workload)
        assert own and set(own) == set(t.name for t in env_tunables if t.workload == workload)
    for tunable in env_tunables:
        if tunable.writes:  # a chassis key the workload writes at a pod start: same unit
            assert tunables.get(tunable.writes).unit == tunable.unit
            assert tunables.env_written_by(tunable.writes) is tunable


def test_ovs_ovn_variables_are_converted_in_their_own_unit():
    assert k8s_env.normalize_env({"OVN_REMOTE_PROBE_INTERVAL": "5m", "OVN_REMOTE_OPENFLOW_INTERVAL": "3m",
                                  "ENABLE_SSL": True}, "ovs-ovn") == {
        "OVN_REMOTE_PROBE_INTERVAL": "300000", "OVN_REMOTE_OPENFLOW_INTERVAL": "180", "ENABLE_SSL": "true"}


@pytest.mark.parametrize("workload,env,words", [
    ("ovs-ovn", {"OVN_LEADER_PROBE_INTERVAL": 60},
     ["env.OVN_LEADER_PROBE_INTERVAL", "ovn-central Deployment (container ovn-central)",
      "kubedc.ovn_tuning.ovn_central_env"]),
    ("ovn-central", {"OVN_REMOTE_PROBE_INTERVAL": 60000},
     ["env.OVN_REMOTE_PROBE_INTERVAL", "ovs-ovn DaemonSet (container openvswitch)", "not by this Deployment",
      "kubedc.ovn_tuning.ovs_ovn_env"]),
    ("ovs-ovn", {"OVN_REMOTE_OPENFLOW_INTERVAL": 180000},
     ["env.OVN_REMOTE_OPENFLOW_INTERVAL", "looks like milliseconds", "180 or '180s'"]),
    ("ovs-ovn", {"OVN_REMOTE_PROBE_INTERVAL": 300}, ["env.OVN_REMOTE_PROBE_INTERVAL", "looks like seconds"]),
])
def test_a_variable_of_the_other_workload_or_in_the_wrong_unit_is_refused(workload, env, words):
    with pytest.raises((k8s_workload.K8sError, tunables.IntervalError)) as caught:
        k8s_env.normalize_env(env, workload)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("env,words", [
    ({"OVN_LEADER_PROBE_INTERVAL": 60000}, ["env.OVN_LEADER_PROBE_INTERVAL", "looks like milliseconds", "60 or '60s'"]),
    ({"OVN_NORTHD_PROBE_INTERVAL": 5}, ["env.OVN_NORTHD_PROBE_INTERVAL", "looks like seconds", "5000 or '5s'"]),
    ({"PROBE_INTERVAL": "2h"}, ["env.PROBE_INTERVAL", "above the maximum"]),
    ({"OVN_NORTHD_N_THREADS": "many"}, ["env.OVN_NORTHD_N_THREADS", "whole number 1-256"]),
    ({"": "x"}, ["env:", "not a valid environment variable name"]),
    ({"1X": "x"}, ["env:", "'1X' is not a valid environment variable name"]),
    ({"A B": "x"}, ["env:", "'A B'"]),
    ({"A=B": "x"}, ["env:", "'A=B'"]),
    ({"X": ["a"]}, ["env.X", "list"]),
    ({"X": {"valueFrom": {}}}, ["env.X", "valueFrom"]),
    ({"X": {"valueFrom": {"fieldRef": {}}, "value": "1"}}, ["env.X", "got keys value, valueFrom"]),
])
def test_refused_values_name_the_variable(env, words):
    with pytest.raises((k8s_workload.K8sError, tunables.IntervalError)) as caught:
        k8s_env.normalize_env(env, "ovn-central")
    for word in words:
        assert word in str(caught.value)


def test_warnings_say_what_a_variable_affects_and_that_pods_restart():
    deployment = {"metadata": {"namespace": "kube-system", "name": "ovn-central"},
                  "spec": {"replicas": 3, "strategy": {"type": "RollingUpdate",
                                                       "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}}
    changes = [{"name": "OVN_NORTHD_PROBE_INTERVAL", "before": "5000", "after": "60000"},
               {"name": "POD_IP", "before": POD_IP, "after": "1.2.3.4"}]
    warnings = k8s_env.change_warnings(changes, deployment, check_mode=True)
    assert "first bootstrapped" in warnings[0] and "ovn_global_options" in warnings[0]
    assert warnings[1].startswith("POD_IP was set from a reference (valueFrom fieldRef) and would become")
    assert "would change the pod template" in warnings[2]
    assert "replaces its 3 pods (RollingUpdate with maxUnavailable 1, maxSurge 0)" in warnings[2]
    assert k8s_env.change_warnings([], deployment, check_mode=False) == []


def daemonset(strategy="RollingUpdate", generation=2, observed=2, desired=4, updated=4, available=4):
    spec = {"updateStrategy": {"type": strategy}}
    if strategy == "RollingUpdate":
        spec["updateStrategy"]["rollingUpdate"] = {"maxSurge": 1, "maxUnavailable": 0}
    return {"kind": "DaemonSet",
            "metadata": {"namespace": "kube-system", "name": "ovs-ovn", "generation": generation,
                         "annotations": {k8s_workload.DAEMONSET_GENERATION_ANNOTATION: str(generation)}},
            "spec": spec,
            "status": {"observedGeneration": observed, "desiredNumberScheduled": desired,
                       "currentNumberScheduled": desired, "updatedNumberScheduled": updated,
                       "numberReady": available, "numberAvailable": available}}


def test_a_daemonset_rolling_update_restarting_every_node_is_refused_and_on_delete_is_not():
    changes = [{"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "10000", "after": "300000"}]
    refusal = k8s_env.restart_refusal(daemonset(), changes, "ovs-ovn")
    for words in ("allow_restart:", "DaemonSet kube-system/ovs-ovn has updateStrategy RollingUpdate with"
                  " maxUnavailable 0, maxSurge 1", "OVN_REMOTE_PROBE_INTERVAL", "every node",
                  "datapath is disrupted", "Nothing was written", "OnDelete"):
        assert words in refusal
    assert k8s_env.restart_refusal(daemonset("OnDelete"), changes, "ovs-ovn") is None
    assert k8s_env.restart_refusal(daemonset(), [], "ovs-ovn") is None
    on_delete = k8s_env.change_warnings(changes, daemonset("OnDelete"), False, "ovs-ovn")
    assert "no pod restarts now" in on_delete[-1] and "4 pods (one per node)" in on_delete[-1]
    rolling = k8s_env.change_warnings(changes, daemonset(), True, "ovs-ovn")
    assert "replaces its 4 pods (one per node)" in rolling[-1] and "datapath" in rolling[-1]


@pytest.mark.parametrize("state,complete,pending,message", [
    (daemonset(), True, 0, "successfully rolled out (4 of 4 pods"),
    (daemonset(observed=1), False, 0, "DaemonSet controller to observe generation 2"),
    (daemonset(updated=1, available=3), False, 3, "1 of 4 new pods have been updated"),
    (daemonset(available=3), False, 0, "3 of 4 updated pods are available"),
    (daemonset("OnDelete", updated=0), True, 4, "0 of 4 pods run the current template; OnDelete"),
    (daemonset("OnDelete"), True, 0, "all 4 pods run the current template (OnDelete)"),
    (daemonset("OnDelete", observed=1, updated=0), False, 4, "observe generation 2"),
])
def test_daemonset_rollout_status(state, complete, pending, message):
    summary = k8s_workload.rollout_status(state)
    assert (summary["complete"], summary["failed"], summary["pods_pending_restart"]) == (complete, False, pending)
    assert message in summary["message"]
    assert summary["revision"] == "2" and summary["strategy"] == state["spec"]["updateStrategy"]["type"]


# --------------------------------------------------------------------------- rollout_status

def deployment(generation=2, observed=2, replicas=3, updated=3, available=3, total=None, progressing=None):
    conditions = []
    if progressing:
        conditions.append({"type": "Progressing", "status": "False", "reason": progressing, "message": "m"})
    return {"metadata": {"generation": generation, "annotations": {k8s_workload.REVISION_ANNOTATION: "4"}},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "replicas": replicas if total is None else total,
                       "updatedReplicas": updated, "availableReplicas": available, "conditions": conditions}}


@pytest.mark.parametrize("state,complete,failed,message", [
    (deployment(), True, False, "successfully rolled out"),
    (deployment(observed=1), False, False, "observe generation 2"),
    (deployment(updated=1, available=2), False, False, "1 of 3 new replicas have been updated"),
    (deployment(total=4), False, False, "1 old replicas are pending termination"),
    (deployment(available=2), False, False, "2 of 3 updated replicas are available"),
    (deployment(updated=1, progressing="ProgressDeadlineExceeded"), False, True, "progress deadline exceeded"),
])
def test_rollout_status_judges_like_kubectl(state, complete, failed, message):
    summary = k8s_workload.rollout_status(state)
    assert (summary["complete"], summary["failed"]) == (complete, failed)
    assert message in summary["message"]
    assert summary["revision"] == "4"


def test_rollout_waits_for_the_generation_it_wrote():
    assert not k8s_workload.rollout_status(deployment(generation=2, observed=2), generation=3)["complete"]


# --------------------------------------------------------------------------- conflict retry

class FakeClient(k8s.K8sClient):
    """K8sClient with the two HTTP calls replaced: answers 409 ``conflicts`` times."""

    def __init__(self, conflicts, attempts=5):  # pylint: disable=super-init-not-called
        self.conflicts_left = conflicts
        self.reads = 0
        self.patches = []
        self.attempts = attempts
        self.backoff = ovsdb_base.Backoff(0.2, maximum=2.0)

    def read(self, kind, namespace, name, deadline=None):
        self.reads += 1
        return {"metadata": {"resourceVersion": str(100 + self.reads)}, "value": self.reads}

    def patch(self, kind, namespace, name, patch, deadline=None):
        self.patches.append(patch)
        if self.conflicts_left:
            self.conflicts_left -= 1
            raise k8s_workload.K8sConflictError("conflict", status=409)
        return {"metadata": {"resourceVersion": "999"}}


def test_a_conflict_is_re_read_re_planned_and_written_with_the_new_resource_version():
    client = FakeClient(conflicts=2)
    pauses = []
    planned = []

    def plan(current):
        planned.append(current["value"])
        return {"spec": {"n": current["value"]}}, current["value"]

    before, after, info, conflicts = client.modify("Deployment", "ns", "d", plan, sleep=pauses.append)
    assert conflicts == 2 and planned == [1, 2, 3] and info == 3
    assert [p["metadata"]["resourceVersion"] for p in client.patches] == ["101", "102", "103"]
    assert client.patches[-1]["spec"] == {"n": 3}
    assert before["value"] == 3 and after["metadata"]["resourceVersion"] == "999"
    # Decorrelated jitter: from the initial pause to three times the previous one.
    assert len(pauses) == 2 and 0.2 <= pauses[0] <= 0.6 and 0.2 <= pauses[1] <= 3 * pauses[0]


def test_conflicts_are_retried_a_bounded_number_of_times():
    client = FakeClient(conflicts=100, attempts=5)
    with pytest.raises(k8s_workload.K8sConflictError) as caught:
        client.modify("Deployment", "ns", "d", lambda d: ({"x": 1}, None), sleep=lambda s: None)
    assert len(client.patches) == 5
    assert "kept changing" in str(caught.value) and "5 writes" in str(caught.value)


def test_check_mode_and_no_change_never_write():
    client = FakeClient(conflicts=0)
    assert client.modify("Deployment", "ns", "d", lambda d: ({"x": 1}, "i"), check_mode=True)[1] is None
    assert client.modify("Deployment", "ns", "d", lambda d: (None, "i"))[1] is None
    assert client.patches == []


# --------------------------------------------------------------------------- error sentences

class FakeApiException(Exception):
    def __init__(self, status, reason, message):
        super(FakeApiException, self).__init__(reason)
        self.status = status
        self.reason = reason
        self.body = json.dumps({"kind": "Status", "message": message})


@pytest.mark.parametrize("status,verb,words,kind", [
    (401, "get", ["401 Unauthorized", "kubeconfig /k (context c)"], k8s_workload.K8sApiError),
    (403, "patch", ["forbidden (403)", "may not patch Deployment kube-system/ovn-central",
                    "verb 'patch' on resource 'deployments' in API group 'apps' in namespace 'kube-system'",
                    "The API server said: nope"], k8s_workload.K8sApiError),
    (404, "get", ["Deployment kube-system/ovn-central not found (404)", "nope"], k8s_workload.K8sApiError),
    (409, "patch", ["409 Conflict"], k8s_workload.K8sConflictError),
    (422, "patch", ["invalid (422)", "nope"], k8s_workload.K8sApiError),
    (500, "get", ["answered 500 Internal"], k8s_workload.K8sApiError),
])
def test_api_errors_become_sentences(status, verb, words, kind):
    reason = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable",
              500: "Internal Server Error"}[status]
    error = k8s.api_error(FakeApiException(status, reason, "nope"), verb, "kube-system", "ovn-central",
                          "https://127.0.0.1:6443", "kubeconfig /k (context c)")
    assert type(error) is kind and error.status == status  # pylint: disable=unidiomatic-typecheck
    for word in words:
        assert word in str(error)


def test_api_errors_name_the_kind_and_its_resource():
    error = k8s.api_error(FakeApiException(403, "Forbidden", "nope"), "patch", "kube-system", "ovs-ovn",
                          "https://127.0.0.1:6443", "kubeconfig /k", kind=k8s_workload.DAEMONSET)
    assert "may not patch DaemonSet kube-system/ovs-ovn" in str(error)
    assert "verb 'patch' on resource 'daemonsets' in API group 'apps'" in str(error)


# --------------------------------------------------------------------------- connection options

def params(**overrides):
    base = dict(kubeconfig=None, context=None, host=None, api_key=None, validate_certs=None, ca_cert=None,
                client_cert=None, client_key=None, request_timeout=30.0)
    base.update(overrides)
    return base


def write_kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "one",
        "clusters": [{"name": "c1", "cluster": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True}},
                     {"name": "c2", "cluster": {"server": "https://127.0.0.2:6443"}}],
        "users": [{"name": "u1", "user": {"token": "t1"}}, {"name": "u2", "user": {"token": "t2"}}],
        "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u1"}},
                     {"name": "two", "context": {"cluster": "c2", "user": "u2"}}]}))
    return str(path)


def test_kubeconfig_context_and_overrides(tmp_path):
    path = write_kubeconfig(tmp_path)
    configuration, source = k8s.build_configuration(params(kubeconfig=path))
    assert configuration.host == "https://127.0.0.1:6443" and configuration.verify_ssl is False
    assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer t1"
    assert source == "kubeconfig %s" % path
    configuration, source = k8s.build_configuration(params(kubeconfig=path, context="two", api_key="override",
                                                           host="https://127.0.0.3:6443/", validate_certs=True))
    assert configuration.host == "https://127.0.0.3:6443" and configuration.verify_ssl is True
    assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer override"
    assert source.endswith("(context two)")


def test_kubeconfig_environment_variable_is_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", write_kubeconfig(tmp_path))
    configuration, _source = k8s.build_configuration(params())
    assert configuration.host == "https://127.0.0.1:6443"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(k8s_workload.K8sConfigError) as caught:
        k8s.build_configuration(params())
    assert "no Kubernetes connection configured" in str(caught.value)


@pytest.mark.parametrize("overrides,words", [
    ({"request_timeout": 0}, "request_timeout: must be a positive"),
    ({"host": "127.0.0.1:6443"}, "host: '127.0.0.1:6443' is not a URL"),
    ({"client_key": "/etc/hostname"}, "client_cert and client_key"),
    ({"ca_cert": "/nonexistent/ca.crt"}, "ca_cert: /nonexistent/ca.crt does not exist"),
    ({"kubeconfig": "KUBECONFIG_FILE", "context": "three"}, "(context three)"),
])
def test_bad_connection_options_are_refused_before_any_request(tmp_path, overrides, words):
    if overrides.get("kubeconfig") == "KUBECONFIG_FILE":
        overrides = dict(overrides, kubeconfig=write_kubeconfig(tmp_path))
    with pytest.raises(k8s_workload.K8sConfigError) as caught:
        k8s.build_configuration(params(**overrides))
    assert words in str(caught.value)


def test_a_silent_api_server_fails_the_request_at_its_deadline():
    import socket
    import time
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # the kernel completes the handshake; nobody ever answers
    try:
        client = k8s.K8sClient.from_params(params(host="http://127.0.0.1:%d" % silent.getsockname()[1],
                                                  api_key="t", request_timeout=0.5))
        started = time.monotonic()
        with pytest.raises(k8s_workload.K8sConnectionError) as caught:
            client.read("Deployment", "kube-system", "ovn-central")
        assert time.monotonic() - started < 10  # bounded by request_timeout (0.5 s), with a wide margin
        assert "did not answer within 0 s" not in str(caught.value)
        assert "cannot get Deployment kube-system/ovn-central" in str(caught.value)
        assert "Read timed out" in str(caught.value)
    finally:
        silent.close()
