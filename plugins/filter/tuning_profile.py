# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the tuning profile: normalize_profile, profile_checksum, kube_ovn_workload_env, and
promotion_refusal / promotion_age_hours (production's judgement of a promotion record).

A tuning profile is the one variable (``ovn_tuning_profile``) that says which probe
settings a rollout gives every deployment.  ``normalize_profile`` validates it with the
tunables table (the same parser every module uses; module_utils/tuning_profile.py) and
converts each value to its knob's unit, so that ``60s`` and ``60000`` are the same profile; ``profile_checksum``
identifies a profile by the sha256 of its canonical JSON; ``kube_ovn_workload_env``
says which kube-ovn workload gets which variable of the profile; ``promotion_refusal`` says why
a promotion record does not let a profile into production (empty when it does); ``record_stores``
says where the staging deployments keep their records, ``staged_in_this_run`` whether the staging play
of this run promoted the profile.

Documentation: the .yml files of the same names next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents, k8s_client
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tuning_profile as profile_utils
from ansible_collections.kubedc.ovn_tuning.plugins.plugin_utils.host_facts import fact, host_facts

# The profile's fields and checks are module_utils' (the ovn_tuning_apply module takes the same profile).
ACCEPTED_FIELDS = profile_utils.ACCEPTED_FIELDS


def _as_filter_error(function, *args):
    try:
        return function(*args)
    except profile_utils.ProfileError as exc:
        raise AnsibleFilterError(to_text(exc))


def normalize_profile(profile, param="ovn_tuning_profile"):
    """The profile with every field present, each value in its knob's unit (int) or null."""
    return _as_filter_error(profile_utils.normalize_profile, profile, param)


def kube_ovn_workload_env(profile):
    """The profile's ``kube_ovn_env`` by workload: ``{"ovn-central": {...}, "ovs-ovn": {...}}``
    (module_utils/tuning_profile.py says which variable goes where)."""
    return _as_filter_error(profile_utils.kube_ovn_workload_env, profile)


def profile_targets(profile, deployment, listener_databases=None):
    """Where each field of a normalized profile goes in ``deployment`` (an ovn_deployment) and what the
    gate expects after it (module_utils/tuning_profile.py ``profile_targets``, which ovn_tuning_apply
    uses too), with ``global_options``: the option maps to write, each with its database's remote."""
    if not isinstance(deployment, dict):
        raise AnsibleFilterError("profile_targets: expected an ovn_deployment (a dict), got %r" % (deployment,))
    databases = (profile_utils.NB, profile_utils.SB) if listener_databases is None else tuple(listener_databases)
    targets = _as_filter_error(profile_utils.profile_targets, profile, bool(deployment.get("nb")), databases)
    parts = {profile_utils.NB: deployment.get("nb"), profile_utils.SB: deployment.get("sb")}
    targets["global_options"] = [
        {"database": database, "remote": parts[database]["remote"], "options": options}
        for database, options in sorted(targets["options"].items()) if parts.get(database)]
    return targets


def _of_plain_json(function, data):
    try:
        return function(data)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("profile_checksum: the value is not plain JSON data: %s" % exc)


def canonical_json(data):
    """JSON with sorted keys and no insignificant whitespace: equal data, equal text."""
    return _of_plain_json(documents.canonical_json, data)


def profile_checksum(data):
    """sha256 (hex) of the canonical JSON of ``data``."""
    return _of_plain_json(documents.sha256_hex, data)


def promotion_refusal(record, checksum, source, max_age_hours, now_epoch):
    """Why a promotion record does not let the profile ``checksum`` into production; '' when it does.

    ``record`` is the promotion record found (empty: none), ``source`` says where it was looked for
    (it goes into the sentence), ``max_age_hours`` is ovn_tuning_promotion_max_age_hours and
    ``now_epoch`` the current time in seconds."""
    if not record:
        return "there is no promotion record for it (none in %s)" % source
    if not isinstance(record, dict):
        raise AnsibleFilterError("promotion_refusal: expected a promotion record (a dict), got %r" % (record,))
    if record.get("checksum") != checksum:
        return "%s holds the record of another profile (%s)" % (source, record.get("checksum") or "none")
    if boolean(record.get("check_mode") or False, strict=False):
        return "staging only checked it (--check) - %s says so" % source
    if record.get("status") != "promoted":
        return "staging %s at %s on %s: %s" % (
            record.get("status") or "did not promote it", record.get("failed_at", "?"),
            record.get("failed_deployment", "?"), record.get("reason", "?"))
    age = promotion_age_hours(record, now_epoch)
    try:
        limit = float(max_age_hours)
    except (TypeError, ValueError):
        raise AnsibleFilterError("promotion_refusal: ovn_tuning_promotion_max_age_hours must be a number of hours,"
                                 " got %r" % (max_age_hours,))
    if age is not None and age > limit:
        return ("it was promoted %s h ago (%s), longer ago than ovn_tuning_promotion_max_age_hours=%s"
                % (age, record.get("promoted_at"), max_age_hours))
    return ""


def promotion_age_hours(record, now_epoch):
    """Hours since the record's ``promoted_at_epoch`` (2 decimals), None when it has none."""
    if not isinstance(record, dict) or record.get("promoted_at_epoch") is None:
        return None
    try:
        return round((float(now_epoch) - float(record["promoted_at_epoch"])) / 3600.0, 2)
    except (TypeError, ValueError):
        raise AnsibleFilterError("promotion_age_hours: promoted_at_epoch and the time must be numbers (%r, %r)"
                                 % (record.get("promoted_at_epoch"), now_epoch))


def record_stores(hosts, hostvars):
    """Where each deployment of ``hosts`` keeps its in-band records (the deployment store): ``[{"name",
    "remote", "database"}]`` - its NB (SB for a deployment without NB); a host with neither is left out."""
    stores = []
    for host, facts in host_facts(hosts, hostvars, "record_stores"):
        deployment = fact(facts, "ovn_deployment")
        if not isinstance(deployment, dict):
            continue
        key = "nb" if deployment.get("nb") else "sb" if deployment.get("sb") else None
        if key is None:
            continue
        stores.append({"name": deployment.get("name") or host, "remote": deployment[key]["remote"],
                       "database": "OVN_Northbound" if key == "nb" else "OVN_Southbound"})
    return stores


def staged_in_this_run(hosts, hostvars, checksum):
    """True when every staging host of ``hosts`` (at least one) promoted the profile ``checksum`` in this
    run (its fact ``staging_outcome``): in check mode it stands in for the record staging would write."""
    outcomes = [fact(facts, "staging_outcome") for _host, facts in host_facts(hosts, hostvars, "staged_in_this_run")]
    return bool(outcomes) and all(isinstance(outcome, dict) and outcome.get("checksum") == checksum
                                  for outcome in outcomes)


def k8s_auth_options(kube_ovn):
    """The Kubernetes connection options given in a descriptor's ``kube_ovn`` (those of the
    kubedc.ovn_tuning.k8s_auth doc fragment, unset and empty ones left out): the module_defaults of the
    group kubedc.ovn_tuning.k8s."""
    if kube_ovn is None:
        return {}
    if not isinstance(kube_ovn, dict):
        raise AnsibleFilterError("k8s_auth_options: expected ovn_deployment.kube_ovn (a dict), got %r" % (kube_ovn,))
    return dict((key, value) for key, value in kube_ovn.items()
                if key in k8s_client.K8S_AUTH_SPEC and value is not None and value != "")


class FilterModule(object):
    def filters(self):
        return {
            "normalize_profile": normalize_profile,
            "profile_checksum": profile_checksum,
            "kube_ovn_workload_env": kube_ovn_workload_env,
            "promotion_age_hours": promotion_age_hours,
            "profile_targets": profile_targets,
            "promotion_refusal": promotion_refusal,
            "record_stores": record_stores,
            "k8s_auth_options": k8s_auth_options,
            "staged_in_this_run": staged_in_this_run,
        }
