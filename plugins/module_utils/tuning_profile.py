# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuning profile: its fields, each field's tunable (unit and range), and its validation.

A tuning profile says which probe settings a deployment gets (``ovn_tuning_profile`` in the
roles, ``profile`` of the ovn_tuning_apply module). :func:`normalize_profile` validates it with
the tunables table (the same parser every module uses) and converts each value to its knob's
unit, so that ``60s`` and ``60000`` are the same profile; :func:`kube_ovn_workload_env` says which
kube-ovn workload gets which variable of it. The profile filters (plugins/filter/tuning_profile.py)
and the modules both use this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_env, tunables


class ProfileError(ValueError):
    """A profile that cannot be used; the text names the field."""


# Profile field -> the tunable whose unit and range it takes.
PROFILE_FIELDS = (
    ("nb_inactivity_probe", "inactivity_probe"),
    ("sb_inactivity_probe", "inactivity_probe"),
    ("local_config_inactivity_probe", "inactivity_probe"),
    ("northd_probe_interval", "northd_probe_interval"),
    ("nbctl_probe_interval", "nbctl_probe_interval"),
    ("ic_probe_interval", "ic_probe_interval"),
    ("sbctl_probe_interval", "sbctl_probe_interval"),
    ("chassis_remote_probe_interval", "ovn-remote-probe-interval"),
    ("chassis_bridge_remote_probe_interval", "ovn-bridge-remote-probe-interval"),
    ("nb_election_timer", "election_timer"),
    ("sb_election_timer", "election_timer"),
)
FIELD_TUNABLE = dict(PROFILE_FIELDS)
ENV_FIELD = "kube_ovn_env"
# The operator's consent to a listener probe of 0 (tunables.disabled_listener_probe says why it is refused
# otherwise). In the normalized profile only when true, so that a profile without it keeps its checksum.
ALLOW_DISABLED_FIELD = "allow_disabled_probe"
LISTENER_PROBE_FIELDS = ("nb_inactivity_probe", "sb_inactivity_probe", "local_config_inactivity_probe")
ACCEPTED_FIELDS = tuple(field for field, _tunable in PROFILE_FIELDS) + (ENV_FIELD, ALLOW_DISABLED_FIELD)


# --------------------------------------------------------------------------- where each field goes

NB, SB, LOCAL_CONFIG = "OVN_Northbound", "OVN_Southbound", "Local_Config"
# Per database: its listener probe field, its election timer field.
DATABASE_FIELDS = ((NB, "nb_inactivity_probe", "nb_election_timer"),
                   (SB, "sb_inactivity_probe", "sb_election_timer"))
LOCAL_CONFIG_FIELD = "local_config_inactivity_probe"
_GLOBAL_TABLE = dict((database, tunables.DATABASE_LOCATIONS[database]["table"]) for database in (NB, SB))
_CHASSIS_TABLE = tunables.DATABASE_LOCATIONS["Open_vSwitch"]["table"]


def option_fields(database, with_nb):
    """``{profile field: options key}`` of the probe options written in ``database``'s global row.

    ovn-northd copies NB_Global.options into SB_Global.options (and undoes a write there), so a key
    ovn-sbctl reads from SB_Global (sbctl_probe_interval) is written in NB_Global when the
    deployment has NB (``with_nb``), and in SB_Global only when it has not."""
    table = _GLOBAL_TABLE[database]
    if database == NB or not with_nb:
        keys = tunables.option_keys_set_in(table)
    else:
        written_in_nb = tunables.option_keys_set_in(_GLOBAL_TABLE[NB])
        keys = dict((key, tunable) for key, tunable in tunables.map_keys(table).items() if key not in written_in_nb)
    return dict((field, tunable) for field, tunable in PROFILE_FIELDS if tunable in keys)


def chassis_fields():
    """``{profile field: external_ids key}`` of ovn-controller's probe keys."""
    keys = tunables.map_keys(_CHASSIS_TABLE)
    return dict((field, tunable) for field, tunable in PROFILE_FIELDS if tunable in keys)


def chassis_option(key):
    """ovn_chassis_probe's option of an external_ids key (ovn-remote-probe-interval -> remote_probe_interval)."""
    return key[len("ovn-"):].replace("-", "_")


def _set(values):
    return dict((key, value) for key, value in values.items() if value is not None)


def profile_targets(profile, with_nb=True, listener_databases=(NB, SB)):
    """Where each field of a normalized ``profile`` is written, and what the gate expects after it -
    the one mapping the roles (the profile_targets filter) and ovn_tuning_apply both use. Null fields
    are left out (their knob is left alone).

    ``with_nb``: the deployment has NB (where the options ovn-northd copies into SB are written).
    ``listener_databases``: the databases whose listener rows are what the servers use (not in kube-ovn
    clustered mode, where Local_Config carries the listeners): their probe is expected by the gate.
    Returns ``{"listener_probes": {database: ms}, "options": {database: {key: "ms"}},
    "chassis": {ovn_chassis_probe option: ms}, "chassis_keys": {external_ids key: "ms"},
    "election_timers": {database: ms}, "expected_probes": {database: {name: ms}}}``.
    """
    if not isinstance(profile, dict) or any(field not in profile for field in FIELD_TUNABLE):
        raise ProfileError("profile_targets: expected a normalized profile (every field of %s), got %r"
                           % (", ".join(FIELD_TUNABLE), profile))
    options = {}
    expected = {}
    for database, probe_field, timer_field in DATABASE_FIELDS:
        written = _set(dict((key, None if profile[field] is None else str(profile[field]))
                            for field, key in option_fields(database, with_nb).items()))
        if written:
            options[database] = written
        # The gate reads each database's effective options: SB_Global carries ovn-northd's copy.
        read_here = tunables.map_keys(_GLOBAL_TABLE[database])
        expected[database] = _set(dict(
            [("inactivity_probe", profile[probe_field] if database in listener_databases else None),
             ("election_timer", profile[timer_field])]
            + [(key, profile[field]) for field, key in PROFILE_FIELDS if key in read_here]))
    chassis_keys = _set(dict((key, None if profile[field] is None else str(profile[field]))
                             for field, key in chassis_fields().items()))
    return {
        "listener_probes": _set({NB: profile["nb_inactivity_probe"], SB: profile["sb_inactivity_probe"],
                                 LOCAL_CONFIG: profile[LOCAL_CONFIG_FIELD]}),
        "options": options,
        "chassis": dict((chassis_option(key), int(value)) for key, value in chassis_keys.items()),
        "chassis_keys": chassis_keys,
        "election_timers": _set(dict((database, profile[timer_field]) for database, _p, timer_field in DATABASE_FIELDS)),
        "expected_probes": expected,
    }


def _normalize_env(env, param):
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise ProfileError("%s: expected a dict of variable name to value, got %r" % (param, env))
    known = dict((t.name, t) for t in tunables.by_kind(tunables.KIND_K8S_ENV))
    normalized = {}
    for name in sorted(env, key=to_text):
        value = env[name]
        label = "%s.%s" % (param, name)
        problem = k8s_env.env_name_problem(name if isinstance(name, string_types) else None)
        if problem:
            raise ProfileError("%s: %s" % (param, problem))
        if value is None:
            continue  # not managed by this profile
        if name in known:
            normalized[name] = _parse(value, known[name], label)
        elif isinstance(value, bool):
            normalized[name] = "true" if value else "false"
        elif isinstance(value, (string_types, int, float)):
            normalized[name] = to_text(value)
        else:
            raise ProfileError("%s: expected a string or a number, got %r" % (label, value))
    return normalized


def _parse(value, tunable, label):
    try:
        return tunables.parse_interval(value, tunable, label)
    except tunables.IntervalError as exc:
        raise ProfileError(to_text(exc))


def normalize_profile(profile, param="ovn_tuning_profile"):
    """The profile with every field present, each value in its knob's unit (int) or null."""
    if not isinstance(profile, dict):
        raise ProfileError("%s: expected a dict of profile fields, got %r" % (param, profile))
    unknown = sorted(to_text(key) for key in profile if key not in ACCEPTED_FIELDS)
    if unknown:
        raise ProfileError("%s: unknown field(s) %s; accepted fields: %s"
                           % (param, ", ".join(unknown), ", ".join(ACCEPTED_FIELDS)))
    try:
        allow_disabled = boolean(profile.get(ALLOW_DISABLED_FIELD, False), strict=True)
    except TypeError:
        raise ProfileError("%s.%s: expected true or false, got %r" % (
            param, ALLOW_DISABLED_FIELD, profile.get(ALLOW_DISABLED_FIELD)))
    normalized = {}
    for field, tunable_name in PROFILE_FIELDS:
        value = profile.get(field)
        normalized[field] = None if value is None else _parse(
            value, tunables.get(tunable_name), "%s.%s" % (param, field))
        if field in LISTENER_PROBE_FIELDS and normalized[field] == 0 and not allow_disabled:
            raise ProfileError(tunables.disabled_listener_probe(
                "%s.%s" % (param, field), "these listeners", "%s.%s: true" % (param, ALLOW_DISABLED_FIELD)))
    normalized[ENV_FIELD] = _normalize_env(profile.get(ENV_FIELD), "%s.%s" % (param, ENV_FIELD))
    for name, field, value in _chassis_env(normalized):
        given = normalized[ENV_FIELD].get(name)
        if given is not None and given != value:
            raise ProfileError(
                "%s.%s.%s: %s disagrees with %s.%s (%s): kube-ovn's ovs-ovn pods write %s into every node's %s at"
                " each start, so the node would run one value now and the other after its next ovs-ovn restart."
                " Give one value (the variable can be left out: it follows %s)"
                % (param, ENV_FIELD, name, given, param, field, value, name, tunables.get(name).writes, field))
    if allow_disabled:
        normalized[ALLOW_DISABLED_FIELD] = True
    return normalized


def _chassis_env(profile):
    """``(variable, field, value)`` for each ovs-ovn variable whose chassis key the profile sets."""
    for tunable in tunables.env_tunables("ovs-ovn").values():
        for field, tunable_name in PROFILE_FIELDS:
            if tunable_name == tunable.writes and profile.get(field) is not None:
                yield tunable.name, field, profile[field]


def kube_ovn_workload_env(profile):
    """The profile's ``kube_ovn_env`` by workload: ``{"ovn-central": {...}, "ovs-ovn": {...}}``.

    ``profile``: a normalized profile. A variable goes to the workload whose container reads it
    (tunables.K8S_WORKLOADS; one the table does not know goes to ovn-central, as before). The ovs-ovn
    DaemonSet also gets each variable whose chassis key the profile sets (OVN_REMOTE_PROBE_INTERVAL
    from chassis_remote_probe_interval), so that the next ovs-ovn pod start keeps the live value.
    """
    if not isinstance(profile, dict) or not isinstance(profile.get(ENV_FIELD, {}), dict):
        raise ProfileError("kube_ovn_workload_env: expected a normalized profile, got %r" % (profile,))
    known = tunables.env_tunables()
    split = dict((workload, {}) for workload in tunables.K8S_WORKLOADS)
    for name, value in (profile.get(ENV_FIELD) or {}).items():
        workload = known[name].workload if name in known else "ovn-central"
        split[workload][name] = value
    for name, _field, value in _chassis_env(profile):
        split["ovs-ovn"].setdefault(name, value)
    return split
