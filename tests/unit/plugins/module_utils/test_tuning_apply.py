"""Where ovn_tuning_apply writes each profile field, and what it refuses before any contact."""

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tuning_apply, tuning_profile
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec

PARAMS = dict((name, spec.get("default")) for name, spec in connection_spec().items())
NB = {"remote": "tcp:127.0.0.1:6641", "ctl_sockets": ["/run/ovn/ovnnb_db.ctl"]}
SB = {"remote": "tcp:127.0.0.1:6642", "ctl_sockets": []}


def deployment(**parts):
    base = dict((key, None) for key in ("nb", "sb", "local_config", "chassis", "chassis_hosts"))
    base.update(name="unit", **parts)
    return base


def test_sbctl_probe_goes_to_nb_global_when_northd_can_copy_it():
    assert tuning_profile.option_fields("OVN_Northbound", True) == {
        "northd_probe_interval": "northd_probe_interval", "nbctl_probe_interval": "nbctl_probe_interval",
        "ic_probe_interval": "ic_probe_interval", "sbctl_probe_interval": "sbctl_probe_interval"}
    assert tuning_profile.option_fields("OVN_Southbound", True) == {}
    assert tuning_profile.option_fields("OVN_Southbound", False) == {"sbctl_probe_interval": "sbctl_probe_interval"}


def test_listener_rows_before_options_then_chassis():
    tuning = tuning_apply.DeploymentTuning(
        deployment(nb=NB, sb=SB, local_config={"remotes": ["tcp:127.0.0.1:6645"]},
                   chassis=[{"name": "hv1", "remote": "unix:/run/openvswitch/db.sock"}]),
        {"nb_inactivity_probe": 60000, "sb_inactivity_probe": 60000, "local_config_inactivity_probe": 60000,
         "northd_probe_interval": 60000, "chassis_remote_probe_interval": 60000}, PARAMS, lambda text: None)
    assert [target.label for target in tuning.targets] == ["sb", "local_config[tcp:127.0.0.1:6645]", "nb",
                                                           "chassis[hv1]"]
    assert tuning.targets[2].options == {"northd_probe_interval": "60000"} and tuning.targets[0].options == {}


def test_timeout_is_checked_without_any_connection():
    with pytest.raises(OvsdbConfigError, match=r"^timeout: must be a positive number"):
        tuning_apply.DeploymentTuning(deployment(nb=NB), {"nb_election_timer": 16000}, dict(PARAMS, timeout=-1),
                                      lambda text: None)


def test_targets_and_skipped_parts():
    tuning = tuning_apply.DeploymentTuning(
        deployment(nb=NB, sb=SB, chassis=[{"name": "hv1", "remote": "unix:/run/openvswitch/db.sock"}]),
        {"nb_inactivity_probe": "60s", "sbctl_probe_interval": 30000, "local_config_inactivity_probe": 60000,
         "chassis_remote_probe_interval": "5m", "nb_election_timer": 16000}, PARAMS, lambda text: None)
    assert [target.label for target in tuning.targets] == ["nb", "chassis[hv1]"]
    assert tuning.targets[0].probe == 60000
    assert tuning.targets[0].options == {"sbctl_probe_interval": "30000"}
    assert tuning.targets[1].keys == {"ovn-remote-probe-interval": "300000"}
    assert [timer[0] for timer in tuning.timers] == ["nb"]


@pytest.mark.parametrize("parts,profile,message", [
    ({"nb": NB}, {"nb_election_timer": "fast"}, "profile.nb_election_timer"),
    ({"sb": SB}, {"sb_election_timer": 16000}, "profile.sb_election_timer: changing the election timer needs"
                                               " deployment.sb.ctl_sockets"),
    ({"nb": NB}, {"kube_ovn_env": {"OVN_LEADER_PROBE_INTERVAL": 60}}, "profile.kube_ovn_env: this module changes"),
    ({"nb": NB}, {"chassis_remote_probe_interval": 60000}, "profile: sets nothing that this deployment has"),
    ({"nb": NB}, ["nb_inactivity_probe"], "profile: expected a dict of profile fields"),
])
def test_refused_before_any_contact(parts, profile, message):
    with pytest.raises(OvsdbConfigError) as caught:
        tuning_apply.DeploymentTuning(deployment(**parts), profile, PARAMS, lambda text: None)
    assert message in str(caught.value), str(caught.value)


def test_chassis_hosts_are_named_in_a_warning():
    warnings = []
    tuning_apply.DeploymentTuning(deployment(nb=NB, chassis_hosts=["hv1", "hv2"]),
                                  {"nb_inactivity_probe": 60000, "chassis_remote_probe_interval": 60000},
                                  PARAMS, warnings.append)
    assert any("deployment.chassis_hosts: the chassis hosts hv1, hv2 are not tuned" in w for w in warnings), warnings
