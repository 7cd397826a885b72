"""The roles' argument specs agree with the Python that reads the same input.

- ``ovn_tuning_profile`` of the config role lists exactly the profile's accepted fields
  (tuning_profile.ACCEPTED_FIELDS): a field added in Python and not in the spec is refused by role
  validation, a field left in the spec and gone from Python is refused by normalize_profile.
- Every built-in profile names every profile field (null: left alone) and normalizes.
- ``ovn_deployment`` of the config role, and the ``kubedc.ovn_tuning.deployment`` doc fragment, describe
  the deployment descriptor the modules take (module_utils/deployment.py): the same keys at every
  level, of the same type, elements, requiredness and choices, and a default only where the module
  has the same one.
- The staging and production roles take the same profile and descriptor (by reference to the config
  role) under the same names.
"""

import os

import pytest
import yaml

from ansible_collections.kubedc.ovn_tuning.plugins.doc_fragments import deployment as deployment_fragment
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import deployment, tuning_profile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def role_spec(role, entry="main"):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"][entry]["options"]


def role_defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


def spec_differences(role_options, module_options, path):
    """Where a role's option tree and a module's argument spec disagree, one line each."""
    found = []
    for key in sorted(set(role_options) | set(module_options)):
        where = "%s.%s" % (path, key)
        if key not in module_options:
            found.append("%s: in the role spec, not taken by the module" % where)
            continue
        if key not in role_options:
            found.append("%s: taken by the module, missing from the role spec" % where)
            continue
        ours, theirs = role_options[key], module_options[key]
        for attribute, default in (("type", "str"), ("elements", None), ("required", False), ("choices", None)):
            if ours.get(attribute, default) != theirs.get(attribute, default):
                found.append("%s: %s %r in the role spec, %r in the module" % (
                    where, attribute, ours.get(attribute, default), theirs.get(attribute, default)))
        if "default" in ours and ours["default"] != theirs.get("default"):
            found.append("%s: default %r in the role spec, %r in the module" % (
                where, ours["default"], theirs.get("default")))
        if theirs.get("options") is not None or ours.get("options") is not None:
            found.extend(spec_differences(ours.get("options") or {}, theirs.get("options") or {}, where))
    return found


def test_the_profile_spec_lists_exactly_the_accepted_fields():
    options = role_spec("config")["ovn_tuning_profile"]["options"]
    assert sorted(options) == sorted(tuning_profile.ACCEPTED_FIELDS)
    for field in tuning_profile.FIELD_TUNABLE:
        # A field takes a number or a string with a unit: validated by normalize_profile, not the spec.
        assert options[field]["type"] == "raw", field
        assert options[field]["description"], field


@pytest.mark.parametrize("name", sorted(role_defaults("config")["ovn_tuning_builtin_profiles"]))
def test_every_builtin_profile_names_every_field(name):
    profile = role_defaults("config")["ovn_tuning_builtin_profiles"][name]
    missing = [field for field in tuning_profile.FIELD_TUNABLE if field not in profile]
    assert missing == [], "built-in profile %s: name every field (null leaves it alone): %s" % (name, missing)
    normalized = tuning_profile.normalize_profile(profile)
    assert set(tuning_profile.FIELD_TUNABLE) <= set(normalized)


# A rollout judges NB and SB both: the roles require what a snapshot alone may go without.
ROLE_STRICTER = [
    "ovn_deployment.nb: required True in the role spec, False in the module",
    "ovn_deployment.sb: required True in the role spec, False in the module",
]


def test_the_deployment_spec_is_the_descriptor_the_modules_take():
    ours = role_spec("config")["ovn_deployment"]["options"]
    theirs = deployment.descriptor_spec()
    assert spec_differences(ours, theirs, "ovn_deployment") == ROLE_STRICTER


def test_spec_differences_finds_each_kind_of_disagreement():
    module = {"a": {"type": "str", "required": True}, "b": {"type": "dict", "options": {"c": {"type": "int"}}},
              "d": {"type": "bool", "default": False}}
    role = {"a": {"type": "str"}, "b": {"type": "dict", "options": {"c": {"type": "str"}, "e": {}}},
            "d": {"type": "bool", "default": True}, "f": {"type": "str"}}
    assert spec_differences(role, module, "x") == [
        "x.a: required False in the role spec, True in the module",
        "x.b.c: type 'str' in the role spec, 'int' in the module",
        "x.b.e: in the role spec, not taken by the module",
        "x.d: default True in the role spec, False in the module",
        "x.f: in the role spec, not taken by the module",
    ]
    assert spec_differences(module, module, "x") == []


@pytest.mark.parametrize("role", ["staging", "production"])
def test_staging_and_production_take_the_profile_and_descriptor_of_the_config_role(role):
    config = role_spec("config")
    options = role_spec(role)
    for name in ("ovn_deployment", "ovn_tuning_profile", "ovn_tuning_profile_name"):
        assert name in options, "%s role: %s missing from its argument spec" % (role, name)
        assert options[name]["type"] == config[name]["type"], name


def fragment_options():
    return yaml.safe_load(deployment_fragment.ModuleDocFragment.DOCUMENTATION)["options"]


def as_spec(documented):
    """A documented option tree in argument-spec words (suboptions -> options)."""
    spec = {}
    for key, option in documented.items():
        spec[key] = dict((k, v) for k, v in option.items() if k not in ("description", "suboptions"))
        if "suboptions" in option:
            spec[key]["options"] = as_spec(option["suboptions"])
    return spec


def test_the_deployment_doc_fragment_documents_the_descriptor_spec():
    documented = as_spec(fragment_options())["deployment"]
    assert documented["type"] == "dict" and documented["required"] is True
    assert spec_differences(documented["options"], deployment.descriptor_spec(), "deployment") == []
