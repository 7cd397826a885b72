"""Every module's documentation renders with ansible-doc, as an operator would read it.

One ansible-doc process renders all modules as JSON and one as text; when that fails, each module is
rendered on its own so that the failure is reported for the module that causes it. ansible-doc can
exit 0 while skipping a module it cannot document, so each module's page is looked for.
Runs under plain pytest (the collection through .build/collections) and under ansible-test units
(the collection where ansible-test placed it).
"""

import json
import os
import re
import subprocess
import sys

import pytest

COLLECTION = "kubedc.ovn_tuning"
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_DIR = os.path.join(COLLECTION_ROOT, "plugins", "modules")

MODULES = sorted(
    os.path.splitext(name)[0] for name in os.listdir(MODULE_DIR)
    if name.endswith(".py") and not name.startswith("_")
) if os.path.isdir(MODULE_DIR) else []


def collections_path():
    """The directory that holds ansible_collections/kubedc/ovn_tuning for this checkout."""
    namespace_dir = os.path.dirname(COLLECTION_ROOT)
    base = os.path.dirname(namespace_dir)
    if os.path.basename(base) == "ansible_collections" and os.path.basename(namespace_dir) == "kubedc":
        return os.path.dirname(base)
    # A plain checkout: tests/conftest.py links the repository to .build/collections.
    return os.path.join(COLLECTION_ROOT, ".build", "collections")


def ansible_doc(args, modules):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_path(),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "1",
        "ANSIBLE_PAGER": "cat",
        "PAGER": "cat",
    })
    names = ["%s.%s" % (COLLECTION, module) for module in modules]
    command = [sys.executable, "-m", "ansible.cli.doc", "-t", "module"] + list(args) + names
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def render(args):
    """{module: process that rendered it}: all in one process, or one each when that fails."""
    proc = ansible_doc(args, MODULES)
    if proc.returncode == 0:
        return dict((module, proc) for module in MODULES)
    return dict((module, ansible_doc(args, [module])) for module in MODULES)


def warnings_about(stderr, module):
    return [line for line in stderr.splitlines()
            if ("WARNING" in line or "ERROR" in line) and module in line]


@pytest.fixture(scope="module")
def rendered_json():
    return render(["--json"])


@pytest.fixture(scope="module")
def rendered_text():
    return render([])


def json_doc(rendered, module):
    proc = rendered[module]
    name = "%s.%s" % (COLLECTION, module)
    assert proc.returncode == 0, proc.stderr
    assert not warnings_about(proc.stderr, module), proc.stderr
    docs = json.loads(proc.stdout)
    assert name in docs, "ansible-doc skipped %s:\n%s" % (name, proc.stderr)
    return docs[name]


def text_page(rendered, module):
    proc = rendered[module]
    name = "%s.%s" % (COLLECTION, module)
    assert proc.returncode == 0, proc.stderr
    assert not warnings_about(proc.stderr, module), proc.stderr
    # Each module's page starts with "> MODULE kubedc.ovn_tuning.<name> (path)".
    parts = re.split(r"^> MODULE (\S+)", proc.stdout, flags=re.MULTILINE)
    pages = dict((parts[index], parts[index + 1]) for index in range(1, len(parts) - 1, 2))
    assert name in pages, "ansible-doc rendered no page for %s:\n%s" % (name, proc.stderr)
    return pages[name]


def test_there_are_modules_to_check():
    assert MODULES, "no modules found in %s" % MODULE_DIR


@pytest.mark.parametrize("module", MODULES)
def test_json_documentation_is_complete(rendered_json, module):
    name = "%s.%s" % (COLLECTION, module)
    entry = json_doc(rendered_json, module)
    doc = entry["doc"]
    assert doc["module"] == module
    assert doc.get("short_description")
    assert doc.get("description")
    assert doc.get("author")
    assert doc.get("version_added")
    options = doc.get("options")
    assert options, "%s documents no options" % name
    for option, spec in options.items():
        assert spec.get("description"), "%s: option %s has no description" % (name, option)
        assert spec.get("type"), "%s: option %s has no type" % (name, option)
    attributes = doc.get("attributes") or {}
    for attribute in ("check_mode", "diff_mode"):
        assert attribute in attributes, "%s does not document attribute %s" % (name, attribute)
        assert attributes[attribute].get("support") in ("full", "partial", "none", "N/A")
    assert (entry.get("examples") or "").strip(), "%s has no EXAMPLES" % name
    assert entry.get("return"), "%s has no RETURN" % name
    for key, spec in entry["return"].items():
        assert spec.get("description"), "%s: return value %s has no description" % (name, key)
        assert spec.get("returned"), "%s: return value %s does not say when it is returned" % (name, key)


@pytest.mark.parametrize("module", MODULES)
def test_text_page_renders(rendered_text, rendered_json, module):
    name = "%s.%s" % (COLLECTION, module)
    page = text_page(rendered_text, module)
    for heading in ("OPTIONS", "ATTRIBUTES", "EXAMPLES", "RETURN VALUES"):
        assert heading in page, "%s: the page has no %s section" % (name, heading)
    options = json_doc(rendered_json, module)["doc"].get("options") or {}
    for option in options:
        assert re.search(r"^\s*[*-]?\s*%s\b" % re.escape(option), page, flags=re.MULTILINE), \
            "%s: option %s is missing from the rendered page" % (name, option)
