"""kubedc.ovn_tuning.ovn_central_env, run through ansible-playbook against the Kubernetes API stand-in
(tests/k8s_standin, NOT a Kubernetes) with a real kubeconfig file, and - for the cases marked with the
``kube`` fixture - against a real cluster when KUBECONFIG and KUBEDC_REAL_CLUSTER_NAMESPACE are set.

Every outcome is checked on the Deployment read back outside the module (urllib GET from the stand-in, or
the kubernetes client for a real cluster).
"""

import time

from k8s_standin.fixtures import http_get_deployment
from k8s_standin.server import ADMIN_TOKEN
from k8s_standin.targets import StandinTarget, container_env_list, env_dict
from support.ansible_run import module_task, run_module, run_tasks

MODULE = "kubedc.ovn_tuning.ovn_central_env"
NS = "kube-system"


def run(kube_or_args, check=False, diff=False, extra_env=None, **args):
    module_args = kube_or_args.module_args(**args) if hasattr(kube_or_args, "module_args") else kube_or_args
    return run_module(MODULE, module_args, check=check, diff=diff, extra_env=extra_env)


def task(name, args, register=None):
    entry = module_task(name, MODULE, args)
    if register:
        entry["register"] = register
    return entry


def assert_untouched(kube, before):
    after = kube.read()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert container_env_list(after) == container_env_list(before)


# --------------------------------------------------------------------------- change, check mode, diff

def test_change_in_check_mode_then_for_real_then_idempotent(kube, original_env):
    start = kube.read()
    names_before = [e["name"] for e in container_env_list(start)]
    args = dict(env={"OVN_LEADER_PROBE_INTERVAL": 15, "OVN_NORTHD_PROBE_INTERVAL": "60s",
                     "PROBE_INTERVAL": 180000}, wait_timeout=kube.wait_timeout)
    wanted = {"OVN_LEADER_PROBE_INTERVAL": "15", "OVN_NORTHD_PROBE_INTERVAL": "60000", "PROBE_INTERVAL": "180000"}

    checked = run(kube, check=True, diff=True, **args)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] is True
    assert checked["env_before"] == original_env
    assert checked["env_after"] == dict(original_env, **wanted)
    assert checked["diff"]["before"] == original_env
    assert checked["diff"]["after"] == dict(original_env, **wanted)
    assert checked["rollout"]["waited"] is False
    assert_untouched(kube, start)

    applied = run(kube, diff=True, **args)
    assert not applied.get("failed"), applied.get("msg")
    assert applied["changed"] is True
    assert applied["diff"] == checked["diff"]
    assert applied["changes"] == [
        {"name": "OVN_LEADER_PROBE_INTERVAL", "before": "5", "after": "15"},
        {"name": "OVN_NORTHD_PROBE_INTERVAL", "before": "5000", "after": "60000"},
        {"name": "PROBE_INTERVAL", "before": "5000", "after": "180000"}]
    assert applied["rollback_env"] == {"OVN_LEADER_PROBE_INTERVAL": "5", "OVN_NORTHD_PROBE_INTERVAL": "5000",
                                       "PROBE_INTERVAL": "5000"}
    stored = kube.read()
    assert env_dict(stored) == dict(original_env, **wanted)
    assert [e["name"] for e in container_env_list(stored)] == names_before  # order kept, nothing added
    assert applied["revision_before"] == "1"
    assert applied["revision_after"] == "2" == stored["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    assert applied["generation"] == stored["metadata"]["generation"] == start["metadata"]["generation"] + 1
    rollout = applied["rollout"]
    assert rollout["waited"] is True and rollout["complete"] is True
    assert rollout["observed_generation"] >= applied["generation"]
    assert rollout["updated_replicas"] == rollout["available_replicas"] == rollout["replicas"]
    assert rollout["progress"][-1]["message"].startswith("successfully rolled out")
    warnings = " ".join(applied.get("warnings", []))
    assert "OVN_LEADER_PROBE_INTERVAL '5' -> '15'" in warnings and "Seconds, not milliseconds" in warnings
    assert "first bootstrapped" in warnings and "ovn_global_options" in warnings
    assert "single-node path only" in warnings
    assert "restarts" in warnings

    again = run(kube, diff=True, **args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert again["changes"] == [] and again["rollback_env"] == {}
    assert again["diff"]["before"] == again["diff"]["after"] == dict(original_env, **wanted)
    assert not again.get("warnings")
    assert kube.read()["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


def test_unit_strings_are_converted_to_each_variables_unit(kube, original_env):
    result = run(kube, env={"OVN_LEADER_PROBE_INTERVAL": "60s", "OVN_NORTHD_PROBE_INTERVAL": "1m",
                            "OVN_NORTHD_N_THREADS": "4"}, wait=False)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    env = env_dict(kube.read())
    assert env["OVN_LEADER_PROBE_INTERVAL"] == "60"
    assert env["OVN_NORTHD_PROBE_INTERVAL"] == "60000"
    assert env["OVN_NORTHD_N_THREADS"] == "4"
    assert env["PROBE_INTERVAL"] == original_env["PROBE_INTERVAL"]
    assert result["rollout"]["waited"] is False


def test_null_removes_a_variable_and_rollback_env_puts_it_back(kube, original_env):
    play = run_tasks([
        task("remove", kube.module_args(env={"ENABLE_COMPACT": None, "NEW_FLAG": True}, wait=False), "removed"),
        task("remove again", kube.module_args(env={"ENABLE_COMPACT": None, "NEW_FLAG": True}, wait=False)),
        task("roll back", kube.module_args(env="{{ removed.rollback_env }}", wait=False)),
    ])
    removed, again, rolled_back = (play.outcome(name) for name in ("remove", "remove again", "roll back"))
    for result in (removed, again, rolled_back):
        assert not result.get("failed"), result.get("msg")
    assert removed["changed"] is True
    assert "ENABLE_COMPACT" not in removed["env_after"] and removed["env_after"]["NEW_FLAG"] == "true"
    assert removed["rollback_env"] == {"ENABLE_COMPACT": "false", "NEW_FLAG": None}
    assert again["changed"] is False
    assert rolled_back["changed"] is True
    assert rolled_back["env_after"] == original_env
    assert env_dict(kube.read()) == original_env


# --------------------------------------------------------------------------- rollback

def test_rollback_to_the_captured_values(kube, original_env):
    play = run_tasks([
        task("tune", kube.module_args(env={"OVN_LEADER_PROBE_INTERVAL": 30, "PROBE_INTERVAL": "3m",
                                           "POD_IP": "10.0.0.11"}, wait_timeout=kube.wait_timeout), "tuned"),
        task("roll back", kube.module_args(env="{{ tuned.env_before }}", wait_timeout=kube.wait_timeout)),
    ])
    tuned, rolled_back = play.outcome("tune"), play.outcome("roll back")
    assert not tuned.get("failed"), tuned.get("msg")
    assert not rolled_back.get("failed"), rolled_back.get("msg")
    assert tuned["changed"] is True
    assert any("POD_IP was set from a reference" in w for w in tuned.get("warnings", []))
    assert tuned["env_before"] == original_env
    assert rolled_back["changed"] is True
    assert rolled_back["env_after"] == original_env
    stored = kube.read()
    assert env_dict(stored) == original_env  # the valueFrom of POD_IP is back too
    assert (tuned["revision_before"], tuned["revision_after"], rolled_back["revision_after"]) == ("1", "2", "3")
    assert stored["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert rolled_back["rollout"]["complete"] is True


# --------------------------------------------------------------------------- refused input

BAD_INPUTS = [
    # (args, words the message must contain)
    ({"env": {"OVN_LEADER_PROBE_INTERVAL": 60000}},
     ["env.OVN_LEADER_PROBE_INTERVAL", "looks like milliseconds", "in seconds", "60000 ms is 60", "1-3600 s"]),
    ({"env": {"OVN_NORTHD_PROBE_INTERVAL": 5}},
     ["env.OVN_NORTHD_PROBE_INTERVAL", "looks like seconds", "5 s is 5000"]),
    ({"env": {"PROBE_INTERVAL": "5 minutes"}}, ["env.PROBE_INTERVAL", "cannot read"]),
    ({"env": {"OVN_LEADER_PROBE_INTERVAL": "500ms"}}, ["env.OVN_LEADER_PROBE_INTERVAL", "not a whole number of s"]),
    ({"env": {"OVN_NORTHD_N_THREADS": 0}}, ["env.OVN_NORTHD_N_THREADS", "1-256"]),
    ({"env": {"A=B": "x"}}, ["env:", "'A=B' is not a valid environment variable name"]),
    ({"env": {"FOO": [1, 2]}}, ["env.FOO", "list"]),
    ({"env": {"FOO": {"value": "1"}}}, ["env.FOO", "valueFrom"]),
    ({"wait_timeout": 0}, ["wait_timeout", "positive"]),
    ({"request_timeout": 0}, ["request_timeout", "positive"]),
    ({"kubeconfig": "/nonexistent/kubeconfig"}, ["kubeconfig", "/nonexistent/kubeconfig", "does not exist"]),
    ({"context": "no-such-context"}, ["kubeconfig", "no-such-context"]),
    ({"host": "127.0.0.1:6443"}, ["host", "not a URL"]),
    ({"client_cert": "/etc/hostname"}, ["client_cert and client_key"]),
]


def test_bad_input_fails_before_any_request(k8s_standin):
    kube = StandinTarget(k8s_standin)
    start = kube.read()
    requests_before = len(k8s_standin.requests_of())
    tasks = []
    for index, (args, _words) in enumerate(BAD_INPUTS):
        module_args = kube.module_args(**dict({"env": {"OVN_LEADER_PROBE_INTERVAL": 10}}, **args))
        tasks.append(task("bad %d" % index, module_args))
    play = run_tasks(tasks)
    for index, (args, words) in enumerate(BAD_INPUTS):
        result = play.outcome("bad %d" % index)
        assert result.get("failed") is True, (args, result)
        for word in words:
            assert word in result["msg"], (args, word, result["msg"])
    assert len(k8s_standin.requests_of()) == requests_before, k8s_standin.requests_of()[requests_before:]
    assert_untouched(kube, start)


# --------------------------------------------------------------------------- errors from the cluster

def test_missing_container_and_missing_deployment(kube):
    start = kube.read()
    play = run_tasks([
        task("container", kube.module_args(container="ovn-northd", env={"OVN_LEADER_PROBE_INTERVAL": 10})),
        task("deployment", kube.module_args(name="ovn-central-nope", env={"OVN_LEADER_PROBE_INTERVAL": 10})),
    ])
    container = play.outcome("container")
    assert container["failed"] is True
    assert "container:" in container["msg"] and "'ovn-northd'" in container["msg"]
    assert "its containers are: ovn-central" in container["msg"]
    missing = play.outcome("deployment")
    assert missing["failed"] is True
    assert "Deployment %s/ovn-central-nope not found (404)" % kube.namespace in missing["msg"]
    assert_untouched(kube, start)


def test_default_container_absent_lists_the_containers(k8s_standin):
    def rename(deployment):
        containers = deployment["spec"]["template"]["spec"]["containers"]
        containers[0]["name"] = "ovn-db"
        containers.append({"name": "northd", "image": "docker.io/kubeovn/kube-ovn:v1.13.0"})
    k8s_standin.write(NS, "ovn-central", rename)
    result = run({"kubeconfig": k8s_standin.kubeconfig, "env": {"OVN_LEADER_PROBE_INTERVAL": 10}})
    assert result["failed"] is True
    assert "no container named 'ovn-central'" in result["msg"]
    assert "its containers are: ovn-db, northd" in result["msg"]


def test_401_403_are_sentences_and_check_mode_needs_only_get(k8s_standin):
    start = http_get_deployment(k8s_standin)
    base = {"kubeconfig": k8s_standin.kubeconfig, "env": {"OVN_LEADER_PROBE_INTERVAL": 10}, "wait": False}
    play = run_tasks([
        task("readonly write", dict(base, context="standin-readonly")),
        task("bad token", dict(base, context="standin-badtoken")),
    ])
    readonly = play.outcome("readonly write")
    assert readonly["failed"] is True
    for words in ("forbidden (403)", "context standin-readonly", "may not patch Deployment kube-system/ovn-central",
                  "verb 'patch' on resource 'deployments' in API group 'apps' in namespace 'kube-system'",
                  'User "kubedc-readonly" cannot patch'):
        assert words in readonly["msg"], readonly["msg"]
    bad_token = play.outcome("bad token")
    assert bad_token["failed"] is True
    assert "401 Unauthorized" in bad_token["msg"] and "standin-badtoken" in bad_token["msg"]

    checked = run(dict(base, context="standin-readonly"), check=True)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] is True and checked["env_after"]["OVN_LEADER_PROBE_INTERVAL"] == "10"

    k8s_standin.forbidden_namespaces.add(NS)
    forbidden_get = run(dict(base))
    assert forbidden_get["failed"] is True
    assert "may not get Deployment kube-system/ovn-central" in forbidden_get["msg"]
    k8s_standin.forbidden_namespaces.clear()

    after = http_get_deployment(k8s_standin)
    assert after["metadata"]["resourceVersion"] == start["metadata"]["resourceVersion"]
    assert k8s_standin.requests_of("PATCH") and all(r["status"] == 403 for r in k8s_standin.requests_of("PATCH"))


# --------------------------------------------------------------------------- connection options

def test_host_api_key_and_k8s_auth_environment_variables(k8s_standin):
    direct = run({"host": k8s_standin.url, "api_key": ADMIN_TOKEN, "ca_cert": k8s_standin.ca_file,
                  "env": {}, "wait": False})
    assert not direct.get("failed"), direct.get("msg")
    assert direct["changed"] is False and direct["env_before"]["OVN_LEADER_PROBE_INTERVAL"] == "5"
    assert direct["rollout"]["complete"] is True
    assert ADMIN_TOKEN not in str(direct)  # no_log

    via_env = run({"env": {"OVN_LEADER_PROBE_INTERVAL": "2m"}, "wait": False}, check=True,
                  extra_env={"K8S_AUTH_KUBECONFIG": k8s_standin.kubeconfig, "K8S_AUTH_CONTEXT": "standin-readonly"})
    assert not via_env.get("failed"), via_env.get("msg")
    assert via_env["changed"] is True and via_env["env_after"]["OVN_LEADER_PROBE_INTERVAL"] == "120"
    users = set(r["user"] for r in k8s_standin.requests_of())
    assert {"kubedc-admin", "kubedc-readonly"} <= users


# --------------------------------------------------------------------------- concurrency

def test_a_concurrent_write_between_read_and_write_is_kept(k8s_standin):
    def concurrent_writer(deployment):
        for entry in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            if entry["name"] == "ENABLE_COMPACT":
                entry["value"] = "true"
        deployment["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "ADDED_BY_OTHER", "value": "1"})
    k8s_standin.inject_after_next_get(NS, "ovn-central", concurrent_writer)
    result = run({"kubeconfig": k8s_standin.kubeconfig, "env": {"OVN_LEADER_PROBE_INTERVAL": 30}, "wait": False})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    # At least the injected write conflicts; the stand-in's rollout controller may still be
    # finishing an earlier rollout (status writes move resourceVersion too, as in Kubernetes).
    assert result["conflicts"] >= 1
    patches = k8s_standin.requests_of("PATCH")
    assert [p["status"] for p in patches] == [409] * result["conflicts"] + [200]
    assert patches[0]["sent_resource_version"] != patches[-1]["sent_resource_version"]
    env = env_dict(http_get_deployment(k8s_standin))
    assert env["OVN_LEADER_PROBE_INTERVAL"] == "30"  # ours
    assert env["ENABLE_COMPACT"] == "true" and env["ADDED_BY_OTHER"] == "1"  # theirs, not overwritten
    assert result["env_before"]["ENABLE_COMPACT"] == "true"  # the read our write was based on


# --------------------------------------------------------------------------- rollout failures

def test_a_stuck_rollout_fails_within_wait_timeout_with_the_conditions(k8s_standin, original_env):
    k8s_standin.stuck_rollout = True
    wait_timeout = 3
    started = time.monotonic()
    result = run({"kubeconfig": k8s_standin.kubeconfig, "env": {"OVN_NORTHD_N_THREADS": 2},
                  "wait_timeout": wait_timeout})
    elapsed = time.monotonic() - started
    assert result["failed"] is True
    assert "did not finish rolling out within 3 s" in result["msg"]
    assert "1 of 3 new replicas have been updated" in result["msg"]
    assert "Progressing=True (ReplicaSetUpdated" in result["msg"]
    assert wait_timeout <= result["rollout"]["waited_seconds"] <= wait_timeout + 5
    assert elapsed < wait_timeout + 60  # ansible-playbook start-up included, on a busy machine
    # The write happened; the failure still returns what is needed to put it back.
    assert result["changed"] is True
    assert result["rollback_env"] == {"OVN_NORTHD_N_THREADS": "1"}
    assert result["env_before"] == original_env
    assert env_dict(http_get_deployment(k8s_standin))["OVN_NORTHD_N_THREADS"] == "2"


def test_progress_deadline_exceeded_fails_without_waiting_out_the_timeout(k8s_standin):
    k8s_standin.stuck_rollout = True
    k8s_standin.progress_deadline_seconds = 0.5
    result = run({"kubeconfig": k8s_standin.kubeconfig, "env": {"OVN_NORTHD_N_THREADS": 2}, "wait_timeout": 120})
    assert result["failed"] is True
    assert "failed to roll out" in result["msg"]
    assert "Progressing=False (ProgressDeadlineExceeded" in result["msg"]
    assert result["rollout"]["failed"] is True
    assert result["rollout"]["waited_seconds"] < 30
