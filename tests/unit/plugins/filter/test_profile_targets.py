"""The roles (the profile_targets filter) and ovn_tuning_apply place every profile field alike. A filter
test: the filter needs the controller's Ansible, which ansible-test's module_utils unit context lacks."""

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.filter.tuning_profile import profile_targets
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tuning_apply, tuning_profile
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec

PARAMS = dict((name, spec.get("default")) for name, spec in connection_spec().items())
NB = {"remote": "tcp:127.0.0.1:6641", "ctl_sockets": ["/run/ovn/ovnnb_db.ctl"]}
SB = {"remote": "tcp:127.0.0.1:6642", "ctl_sockets": []}


def deployment(**parts):
    base = dict((key, None) for key in ("nb", "sb", "local_config", "chassis", "chassis_hosts"))
    base.update(name="unit", **parts)
    return base


# Every tunable field of the profile with a value of its own, so that a field placed in the wrong knob shows.
ALL_FIELDS = dict((field, 60000 + 1000 * index) for index, (field, _t) in enumerate(tuning_profile.PROFILE_FIELDS))
ALL_FIELDS.update(nb_election_timer=16000, sb_election_timer=8000)


@pytest.mark.parametrize("parts", [
    {"nb": NB, "sb": dict(SB, ctl_sockets=["/run/ovn/ovnsb_db.ctl"]), "local_config": {"remotes": ["tcp:127.0.0.1:6645"]},
     "chassis": [{"name": "hv1", "remote": "unix:/run/openvswitch/db.sock"}]},
    {"sb": dict(SB, ctl_sockets=["/run/ovn/ovnsb_db.ctl"]),
     "chassis": [{"name": "hv1", "remote": "unix:/run/openvswitch/db.sock"}]},
])
def test_the_roles_and_ovn_tuning_apply_place_every_field_alike(parts):
    """The roles (the profile_targets filter) and ovn_tuning_apply write each profile field into the same
    knob: the listener rows and options of each database, Local_Config, the chassis keys, the timers."""
    profile = tuning_profile.normalize_profile(dict(ALL_FIELDS))
    described = deployment(**parts)
    roles = profile_targets(profile, described)
    tuning = tuning_apply.DeploymentTuning(described, dict(ALL_FIELDS), PARAMS, lambda text: None)
    applied = {"listener_probes": {}, "options": {}, "chassis_keys": {}, "election_timers": {}}
    for target in tuning.targets:
        if isinstance(target, tuning_apply.ChassisTarget):
            applied["chassis_keys"] = target.keys
            continue
        if target.probe is not None:
            applied["listener_probes"][target.database] = target.probe
        if target.options:
            applied["options"][target.database] = target.options
    applied["election_timers"] = dict((database, timer) for _key, _sockets, database, timer in tuning.timers)
    wanted = dict((name, roles[name]) for name in applied)
    # The roles' mapping holds every database's fields; the module writes those of the parts it has.
    present = set([tuning_profile.LOCAL_CONFIG] if parts.get("local_config") else []) | set(
        database for key, database in (("nb", "OVN_Northbound"), ("sb", "OVN_Southbound")) if parts.get(key))
    for name in ("listener_probes", "options", "election_timers"):
        wanted[name] = dict((db, value) for db, value in wanted[name].items() if db in present)
    assert applied == wanted
    # Where ovn-northd copies it (a deployment with NB), sbctl_probe_interval goes to NB_Global and is
    # expected back in SB_Global, where ovn-sbctl reads it.
    if parts.get("nb"):
        assert roles["options"]["OVN_Northbound"]["sbctl_probe_interval"] == str(ALL_FIELDS["sbctl_probe_interval"])
        assert "OVN_Southbound" not in roles["options"]
        assert [entry["database"] for entry in roles["global_options"]] == ["OVN_Northbound"]
        assert roles["expected_probes"]["OVN_Southbound"]["sbctl_probe_interval"] == ALL_FIELDS["sbctl_probe_interval"]
    else:
        assert roles["options"]["OVN_Southbound"] == {"sbctl_probe_interval": str(ALL_FIELDS["sbctl_probe_interval"])}
        assert [entry["database"] for entry in roles["global_options"]] == ["OVN_Southbound"]
    assert roles["chassis"] == {"remote_probe_interval": ALL_FIELDS["chassis_remote_probe_interval"],
                                "bridge_remote_probe_interval": ALL_FIELDS["chassis_bridge_remote_probe_interval"]}
