"""The profile filters: normalize_profile (validation, units) and profile_checksum."""

import hashlib
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubedc.ovn_tuning.plugins.filter import tuning_profile
from ansible_collections.kubedc.ovn_tuning.plugins.filter.tuning_profile import (
    kube_ovn_workload_env, normalize_profile, profile_checksum)


def test_every_field_is_present_and_in_its_unit():
    profile = normalize_profile({
        "nb_inactivity_probe": "60s",
        "sb_inactivity_probe": 60000,
        "northd_probe_interval": "1m",
        "chassis_remote_probe_interval": "5m",
        "sb_election_timer": "4s",
        "kube_ovn_env": {"OVN_LEADER_PROBE_INTERVAL": "60s", "OVN_NORTHD_PROBE_INTERVAL": 60000,
                         "EXTRA_FLAG": True, "OTHER": 3},
    })
    assert profile["nb_inactivity_probe"] == 60000
    assert profile["sb_inactivity_probe"] == 60000
    assert profile["northd_probe_interval"] == 60000
    assert profile["chassis_remote_probe_interval"] == 300000
    assert profile["sb_election_timer"] == 4000
    assert profile["nb_election_timer"] is None
    assert profile["local_config_inactivity_probe"] is None
    assert profile["kube_ovn_env"] == {"OVN_LEADER_PROBE_INTERVAL": 60, "OVN_NORTHD_PROBE_INTERVAL": 60000,
                                       "EXTRA_FLAG": "true", "OTHER": "3"}
    # allow_disabled_probe appears only when true (a profile without it keeps its checksum).
    assert sorted(profile) == sorted(set(tuning_profile.ACCEPTED_FIELDS) - {"allow_disabled_probe"})


def test_zero_disables_a_probe():
    assert normalize_profile({"northd_probe_interval": 0})["northd_probe_interval"] == 0
    assert normalize_profile({"chassis_remote_probe_interval": 0})["chassis_remote_probe_interval"] == 0


@pytest.mark.parametrize("field", ["nb_inactivity_probe", "sb_inactivity_probe", "local_config_inactivity_probe"])
def test_a_listener_probe_of_zero_needs_consent(field):
    with pytest.raises(AnsibleFilterError) as error:
        normalize_profile({field: "0s"})
    message = str(error.value)
    assert message.startswith("ovn_tuning_profile.%s: 0 disables the probe of these listeners;" % field), message
    assert "the standby never takes over" in message
    assert message.endswith("or set ovn_tuning_profile.allow_disabled_probe: true"), message
    allowed = normalize_profile({field: 0, "allow_disabled_probe": True})
    assert allowed[field] == 0 and allowed["allow_disabled_probe"] is True
    # The consent is part of the profile: it changes the checksum; its absence does not.
    assert profile_checksum(normalize_profile({field: 60000, "allow_disabled_probe": True})) != \
        profile_checksum(normalize_profile({field: 60000}))
    assert profile_checksum(normalize_profile({"allow_disabled_probe": False})) == \
        profile_checksum(normalize_profile({}))
    # Ansible's booleans, as the role's argument spec accepts them.
    assert normalize_profile({field: 0, "allow_disabled_probe": "yes"})["allow_disabled_probe"] is True
    with pytest.raises(AnsibleFilterError, match=r"^ovn_tuning_profile.allow_disabled_probe: expected true or"
                                                 r" false, got 'maybe'"):
        normalize_profile({field: 60000, "allow_disabled_probe": "maybe"})


def test_null_env_variable_is_not_managed():
    profile = normalize_profile({"kube_ovn_env": {"OVN_LEADER_PROBE_INTERVAL": None, "X": "1"}})
    assert profile["kube_ovn_env"] == {"X": "1"}
    assert normalize_profile({"kube_ovn_env": None})["kube_ovn_env"] == {}


@pytest.mark.parametrize("profile,fragments", [
    ({"nb_inactivity_probe": 500}, ["ovn_tuning_profile.nb_inactivity_probe", "1000"]),
    ({"sb_inactivity_probe": "2h"}, ["ovn_tuning_profile.sb_inactivity_probe", "above the maximum"]),
    ({"northd_probe_interval": "soon"}, ["ovn_tuning_profile.northd_probe_interval", "cannot read"]),
    ({"chassis_remote_probe_interval": -1}, ["chassis_remote_probe_interval", "negative"]),
    ({"nb_election_timer": 50}, ["ovn_tuning_profile.nb_election_timer", "100"]),
    ({"nb_election_timer": 0}, ["nb_election_timer", "0 is not allowed"]),
    ({"nb_probe": 5000}, ["unknown field(s) nb_probe", "accepted fields", "nb_inactivity_probe"]),
    ({"kube_ovn_env": {"OVN_LEADER_PROBE_INTERVAL": 60000}},
     ["ovn_tuning_profile.kube_ovn_env.OVN_LEADER_PROBE_INTERVAL", "looks like milliseconds"]),
    ({"kube_ovn_env": {"1BAD": "x"}}, ["kube_ovn_env", "'1BAD' is not a valid environment variable name"]),
    ({"kube_ovn_env": {"A=B": "x"}}, ["kube_ovn_env", "'A=B' is not a valid environment variable name"]),
    ({"kube_ovn_env": {"X": {"valueFrom": {}}}}, ["kube_ovn_env.X", "string or a number"]),
    ({"kube_ovn_env": ["OVN_LEADER_PROBE_INTERVAL"]}, ["kube_ovn_env", "expected a dict"]),
    ("60s", ["ovn_tuning_profile", "expected a dict"]),
])
def test_bad_profiles_fail_naming_the_field(profile, fragments):
    with pytest.raises(AnsibleFilterError) as caught:
        normalize_profile(profile)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_param_name_is_used_in_messages():
    with pytest.raises(AnsibleFilterError, match=r"^my_profile\.northd_probe_interval"):
        normalize_profile({"northd_probe_interval": 10}, "my_profile")


def test_checksum_is_sha256_of_canonical_json():
    data = {"b": 1, "a": [1, 2, {"z": None, "y": "é"}]}
    canonical = '{"a":[1,2,{"y":"\\u00e9","z":null}],"b":1}'
    assert profile_checksum(data) == hashlib.sha256(canonical.encode()).hexdigest()


def test_checksum_ignores_key_order_and_units_after_normalizing():
    one = normalize_profile({"nb_inactivity_probe": "60s", "northd_probe_interval": 60000})
    two = normalize_profile({"northd_probe_interval": "1m", "nb_inactivity_probe": 60000})
    assert profile_checksum(one) == profile_checksum(two)
    three = normalize_profile({"northd_probe_interval": "1m", "nb_inactivity_probe": 61000})
    assert profile_checksum(one) != profile_checksum(three)


def test_checksum_refuses_what_is_not_json():
    with pytest.raises(AnsibleFilterError, match="not plain JSON"):
        profile_checksum({"x": float("nan")})
    with pytest.raises(AnsibleFilterError, match="not plain JSON"):
        profile_checksum({"x": object()})


def test_filters_are_registered():
    filters = tuning_profile.FilterModule().filters()
    assert filters["normalize_profile"] is normalize_profile
    assert filters["profile_checksum"] is profile_checksum
    assert json.loads(tuning_profile.canonical_json({"k": 1})) == {"k": 1}


def test_kube_ovn_variables_go_to_the_workload_that_reads_them():
    profile = normalize_profile({"chassis_remote_probe_interval": "5m", "kube_ovn_env": {
        "OVN_LEADER_PROBE_INTERVAL": "60s", "OVN_REMOTE_OPENFLOW_INTERVAL": "3m", "ENABLE_COMPACT": True}})
    assert kube_ovn_workload_env(profile) == {
        "ovn-central": {"OVN_LEADER_PROBE_INTERVAL": 60, "ENABLE_COMPACT": "true"},
        # The chassis probe the profile sets follows into the DaemonSet: the next ovs-ovn start keeps it.
        "ovs-ovn": {"OVN_REMOTE_OPENFLOW_INTERVAL": 180, "OVN_REMOTE_PROBE_INTERVAL": 300000}}
    assert kube_ovn_workload_env(normalize_profile({})) == {"ovn-central": {}, "ovs-ovn": {}}
    same = normalize_profile({"chassis_remote_probe_interval": 300000,
                              "kube_ovn_env": {"OVN_REMOTE_PROBE_INTERVAL": "300s"}})
    assert kube_ovn_workload_env(same)["ovs-ovn"] == {"OVN_REMOTE_PROBE_INTERVAL": 300000}


def test_a_daemonset_probe_that_disagrees_with_the_chassis_probe_is_refused():
    with pytest.raises(AnsibleFilterError) as caught:
        normalize_profile({"chassis_remote_probe_interval": 300000,
                           "kube_ovn_env": {"OVN_REMOTE_PROBE_INTERVAL": 60000}})
    for words in ("ovn_tuning_profile.kube_ovn_env.OVN_REMOTE_PROBE_INTERVAL: 60000 disagrees with"
                  " ovn_tuning_profile.chassis_remote_probe_interval (300000)", "ovn-remote-probe-interval",
                  "next ovs-ovn restart"):
        assert words in str(caught.value)
    with pytest.raises(AnsibleFilterError, match="OVN_REMOTE_OPENFLOW_INTERVAL.*looks like milliseconds"):
        normalize_profile({"kube_ovn_env": {"OVN_REMOTE_OPENFLOW_INTERVAL": 180000}})


# --------------------------------------------------------------------------- promotion_refusal

NOW = 1_800_000_000.0
PROMOTED = {"kind": "kubedc.ovn_tuning/promotion", "checksum": "abc", "status": "promoted", "check_mode": False,
            "promoted_at": "then", "promoted_at_epoch": NOW - 2 * 3600}


def refusal(record, max_age=168):
    return tuning_profile.promotion_refusal(record, "abc", "promotions/abc.json", max_age, NOW)


def test_a_fresh_promotion_of_this_profile_is_accepted():
    assert refusal(PROMOTED) == ""
    assert tuning_profile.promotion_age_hours(PROMOTED, NOW) == 2.0
    assert tuning_profile.promotion_age_hours({}, NOW) is None


def test_each_reason_to_refuse_is_named():
    assert refusal({}) == "there is no promotion record for it (none in promotions/abc.json)"
    assert refusal(dict(PROMOTED, checksum="other")) == \
        "promotions/abc.json holds the record of another profile (other)"
    assert refusal(dict(PROMOTED, check_mode=True)) == "staging only checked it (--check) - promotions/abc.json says so"
    failed = dict(PROMOTED, status="failed", failed_at="t1", failed_deployment="stg-1", reason="gate failed")
    assert refusal(failed) == "staging failed at t1 on stg-1: gate failed"
    assert refusal(dict(PROMOTED, status=None)) == "staging did not promote it at ? on ?: ?"
    assert refusal(PROMOTED, max_age=1) == (
        "it was promoted 2.0 h ago (then), longer ago than ovn_tuning_promotion_max_age_hours=1")
    # A record without its time is not refused for its age.
    assert refusal(dict(PROMOTED, promoted_at_epoch=None), max_age=1) == ""


def test_promotion_refusal_refuses_bad_input():
    with pytest.raises(AnsibleFilterError, match="promotion_refusal"):
        refusal(["not", "a", "record"])
    with pytest.raises(AnsibleFilterError, match="ovn_tuning_promotion_max_age_hours"):
        refusal(PROMOTED, max_age="a week")
    with pytest.raises(AnsibleFilterError, match="promotion_age_hours"):
        tuning_profile.promotion_age_hours(dict(PROMOTED, promoted_at_epoch="yesterday"), NOW)


# --------------------------------------------------------------------------- record_stores, staged_in_this_run

def test_record_stores_name_each_deployments_nb_else_its_sb():
    hostvars = {
        "stg1": {"ovn_deployment": {"name": "stg-1", "nb": {"remote": "tcp:10.0.0.1:6641"},
                                    "sb": {"remote": "tcp:10.0.0.1:6642"}}},
        "stg2": {"ovn_deployment": {"name": "stg-2", "nb": None, "sb": {"remote": "tcp:10.0.0.2:6642"}}},
        "stg3": {"ovn_deployment": {"name": "stg-3", "chassis": [{"name": "hv1", "remote": "unix:/x"}]}},
        "stg4": {},
    }
    assert tuning_profile.record_stores(["stg1", "stg2", "stg3", "stg4"], hostvars) == [
        {"name": "stg-1", "remote": "tcp:10.0.0.1:6641", "database": "OVN_Northbound"},
        {"name": "stg-2", "remote": "tcp:10.0.0.2:6642", "database": "OVN_Southbound"}]
    assert tuning_profile.record_stores([], hostvars) == []
    with pytest.raises(AnsibleFilterError, match="record_stores: 'nope' is not a host of the inventory"):
        tuning_profile.record_stores(["nope"], hostvars)
    with pytest.raises(AnsibleFilterError, match="record_stores: expected a list of inventory host names"):
        tuning_profile.record_stores("stg1", hostvars)


def test_staged_in_this_run_needs_every_staging_host_to_have_promoted_the_profile():
    promoted = {"staging_outcome": {"checksum": "abc"}}
    assert tuning_profile.staged_in_this_run(["s1", "s2"], {"s1": promoted, "s2": promoted}, "abc") is True
    assert tuning_profile.staged_in_this_run(["s1", "s2"], {"s1": promoted, "s2": {}}, "abc") is False
    assert tuning_profile.staged_in_this_run(["s1"], {"s1": {"staging_outcome": {"checksum": "other"}}}, "abc") is False
    assert tuning_profile.staged_in_this_run([], {}, "abc") is False
    filters = tuning_profile.FilterModule().filters()
    assert filters["record_stores"] is tuning_profile.record_stores
    assert filters["staged_in_this_run"] is tuning_profile.staged_in_this_run


def test_k8s_auth_options_are_the_connection_keys_given():
    kube_ovn = {"kubeconfig": "/root/.kube/config", "context": "", "host": None, "validate_certs": False,
                "request_timeout": 30.0, "namespace": "kube-system", "ovs_ovn": {"manage": True}}
    assert tuning_profile.k8s_auth_options(kube_ovn) == {
        "kubeconfig": "/root/.kube/config", "validate_certs": False, "request_timeout": 30.0}
    assert tuning_profile.k8s_auth_options(None) == {}
    with pytest.raises(AnsibleFilterError, match="k8s_auth_options: expected ovn_deployment.kube_ovn"):
        tuning_profile.k8s_auth_options("kube-system")
    assert tuning_profile.FilterModule().filters()["k8s_auth_options"] is tuning_profile.k8s_auth_options
