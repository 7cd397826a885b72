"""The AWX survey specs under awx/surveys/ are importable and ask for variables the playbooks read.

`validate_survey_spec` applies the rules AWX's API applies when a survey spec is POSTed to
/api/v2/job_templates/<id>/survey_spec/ (awx/api/views JobTemplateSurveySpec._validate_spec_data);
the tests then tie each question to the collection: a variable the roles or playbooks read, of the
type their argument specs declare, with a default they accept.
"""

import glob
import json
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURVEY_DIR = os.path.join(ROOT, "awx", "surveys")
SURVEYS = sorted(glob.glob(os.path.join(SURVEY_DIR, "*.json")))

# Question types AWX accepts, and the Python type of their default.
ALLOWED_TYPES = {
    "text": str,
    "textarea": str,
    "password": str,
    "multiplechoice": str,
    "multiselect": str,
    "integer": int,
    "float": (float, int),
}


def validate_survey_spec(spec):
    """Errors AWX would answer a POST of this survey spec with (an empty list: accepted)."""
    errors = []
    for field, expected in (("name", str), ("description", str), ("spec", list)):
        if field not in spec:
            errors.append("Field '%s' is missing from survey spec." % field)
        elif not isinstance(spec[field], expected):
            errors.append("Expected %s for field '%s'." % (expected.__name__, field))
    if errors:
        return errors
    if not spec["spec"]:
        return ["'spec' doesn't contain any items."]
    variables = set()
    for index, item in enumerate(spec["spec"]):
        if not isinstance(item, dict):
            errors.append("Survey question %d is not a json object." % index)
            continue
        missing = [name for name in ("type", "question_name", "variable", "required") if name not in item]
        if missing:
            errors.append("%s missing from survey question %d" % (", ".join(missing), index))
            continue
        for name in ("type", "question_name", "variable"):
            if not isinstance(item[name], str):
                errors.append("'%s' in survey question %d expected to be string." % (name, index))
        if not isinstance(item["required"], bool):
            errors.append("'required' in survey question %d expected to be boolean." % index)
        if item["variable"] in variables:
            errors.append("'variable' '%s' duplicated in survey question %d." % (item["variable"], index))
        variables.add(item["variable"])
        qtype = item["type"]
        if qtype not in ALLOWED_TYPES:
            errors.append("'%s' in survey question %d is not an allowed question type." % (qtype, index))
            continue
        default = item.get("default", "")
        if default != "" and (not isinstance(default, ALLOWED_TYPES[qtype]) or isinstance(default, bool)):
            errors.append("Default value %r in survey question %d expected to be %s." % (default, index, qtype))
        for key in ("min", "max"):
            if item.get(key) is not None and (not isinstance(item[key], int) or isinstance(item[key], bool)):
                errors.append("The %s limit in survey question %d expected to be integer." % (key, index))
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append("Survey question %d of type %s must specify choices." % (index, qtype))
                continue
            choices = item["choices"]
            if isinstance(choices, str):
                choices = [choice for choice in choices.splitlines() if choice.strip()]
            if "default" in item and item["default"] != "":
                defaults = item["default"].splitlines() if isinstance(item["default"], str) else item["default"]
                if qtype == "multiplechoice" and len(defaults) > 1:
                    errors.append("Multiple Choice (Single Select) can only have one default value.")
                if any(value not in choices for value in defaults):
                    errors.append("Default choice must be answered from the choices listed (question %d)." % index)
        if isinstance(default, str) and default.startswith("$encrypted$"):
            errors.append("$encrypted$ is a reserved keyword (question %d)." % index)
    return errors


def load_json(path):
    with open(path) as handle:
        return json.load(handle)


def load_yaml(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def role_argument_specs():
    """{variable: spec} over every entry point of every role's meta/argument_specs.yml."""
    options = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        for entry in (load_yaml(path).get("argument_specs") or {}).values():
            options.update((entry or {}).get("options") or {})
    return options


def role_defaults():
    defaults = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml")):
        defaults.update(load_yaml(path))
    return defaults


def playbook_text():
    text = []
    for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        with open(path) as handle:
            text.append(handle.read())
    return "\n".join(text)


def questions():
    return [(os.path.basename(path), item) for path in SURVEYS for item in load_json(path)["spec"]]


def question_id(value):
    if isinstance(value, tuple):
        return "%s:%s" % (value[0], value[1]["variable"])
    return None


def test_the_four_job_templates_have_surveys():
    names = sorted(os.path.basename(path) for path in SURVEYS)
    assert names == ["health.json", "rollback.json", "rollout-production.json", "rollout-staging.json"]


@pytest.mark.parametrize("path", SURVEYS, ids=os.path.basename)
def test_awx_accepts_the_survey_spec(path):
    assert validate_survey_spec(load_json(path)) == []


@pytest.mark.parametrize("path", SURVEYS, ids=os.path.basename)
def test_docs_name_the_survey(path):
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        assert "awx/surveys/" + os.path.basename(path) in handle.read()


@pytest.mark.parametrize("survey,item", questions(), ids=question_id)
def test_question_asks_for_a_variable_the_collection_reads(survey, item):
    variable = item["variable"]
    known = variable in role_argument_specs() or variable in role_defaults() or variable in playbook_text()
    assert known, "%s asks for %s, which no role or playbook reads" % (survey, variable)
    assert item.get("question_description"), "%s: %s has no description" % (survey, variable)


# Where AWX's default is deliberately not the role's: an AWX job runs in a fresh container, so its
# state lives in the deployments (docs/awx.md), while plain ansible-playbook keeps files.
AWX_DEFAULTS = {"ovn_tuning_state_store": "deployment"}


@pytest.mark.parametrize("survey,item", questions(), ids=question_id)
def test_question_type_and_default_fit_the_argument_spec(survey, item):
    spec = role_argument_specs().get(item["variable"])
    defaults = role_defaults()
    qtype = item["type"]
    if qtype == "integer":
        if item.get("min") is not None:
            assert item["default"] >= item["min"]
        if item.get("max") is not None:
            assert item["default"] <= item["max"]
    if spec is None:
        # Read by a playbook or a role without argument specs: the default must at least be the role's.
        if item["variable"] in defaults and qtype == "integer":
            assert item["default"] == defaults[item["variable"]]
        return
    spec_type = spec.get("type", "str")
    if spec_type == "int":
        assert qtype == "integer"
    elif spec_type == "float":
        assert qtype in ("integer", "float")
    elif spec_type == "bool":
        # Survey answers are strings; the roles read these variables with `| bool`.
        assert qtype == "multiplechoice"
        assert set(item["choices"]) <= {"true", "false"}
    elif spec_type != "raw":
        assert spec_type in ("str", "path"), spec_type
        assert qtype in ("text", "textarea", "multiplechoice")
    if spec.get("choices"):
        assert set(item["choices"]) <= set(spec["choices"])
    if item["variable"] in defaults:
        role_default = AWX_DEFAULTS.get(item["variable"], defaults[item["variable"]])
        survey_default = item.get("default", "")
        if spec_type == "bool":
            survey_default = survey_default == "true"
        assert survey_default == role_default, "%s: %s defaults to %r, the role to %r" % (
            survey, item["variable"], survey_default, role_default)


def test_profile_choices_are_built_in_profiles():
    built_in = set(role_defaults().get("ovn_tuning_builtin_profiles") or {})
    asked = [item for _survey, item in questions() if item["variable"] == "ovn_tuning_profile_name"]
    assert asked
    for item in asked:
        assert set(item["choices"]) <= built_in


BAD_SPECS = [
    ({"name": "x", "description": "", "spec": []}, "doesn't contain any items"),
    ({"description": "", "spec": [{}]}, "'name' is missing"),
    ({"name": "x", "description": "", "spec": [{"type": "text", "question_name": "q", "required": True}]},
     "variable missing"),
    ({"name": "x", "description": "", "spec": [
        {"type": "text", "question_name": "q", "variable": "v", "required": True},
        {"type": "text", "question_name": "q2", "variable": "v", "required": False}]}, "duplicated"),
    ({"name": "x", "description": "", "spec": [
        {"type": "integer", "question_name": "q", "variable": "v", "required": True, "default": "5"}]},
     "expected to be integer"),
    ({"name": "x", "description": "", "spec": [
        {"type": "multiplechoice", "question_name": "q", "variable": "v", "required": True, "default": "c",
         "choices": ["a", "b"]}]}, "Default choice"),
    ({"name": "x", "description": "", "spec": [
        {"type": "multiplechoice", "question_name": "q", "variable": "v", "required": True}]}, "must specify choices"),
    ({"name": "x", "description": "", "spec": [
        {"type": "boolean", "question_name": "q", "variable": "v", "required": True}]}, "not an allowed question type"),
    ({"name": "x", "description": "", "spec": [
        {"type": "text", "question_name": "q", "variable": "v", "required": "yes"}]}, "expected to be boolean"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS, ids=[message for _spec, message in BAD_SPECS])
def test_the_validator_refuses_what_awx_refuses(spec, message):
    errors = validate_survey_spec(spec)
    assert any(message in error for error in errors), errors
