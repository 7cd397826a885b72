"""The execution environment definitions, checked with ansible-builder as an image build would use them.

Building the image needs podman or docker, which these machines lack; this runs the steps that
do not: `ansible-builder create` on awx/execution-environment.yml (schema, build context), and
ansible-builder's own introspection of the collection installed from its tarball - the step that,
inside the image build, turns meta/execution-environment.yml into the pip and bindep lists.
"""

import os
import shutil
import subprocess
import sys

import pytest
import yaml

ansible_builder = pytest.importorskip("ansible_builder")
pytest.importorskip("bindep")

# pylint: disable=wrong-import-position
from ansible_builder.ee_schema import validate_schema  # noqa: E402
from bindep.depends import Depends  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
META_EE = os.path.join(ROOT, "meta", "execution-environment.yml")
AWX_EE = os.path.join(ROOT, "awx", "execution-environment.yml")
# awx/execution-environment.yml copies the collection tarball from here (additional_build_files).
TARBALL = os.path.join(ROOT, ".build", "ee", "kubedc-ovn_tuning.tar.gz")


def run(command, **kwargs):
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (" ".join(command), proc.stdout, proc.stderr)
    return proc


def requirement_lines(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("ee")


@pytest.fixture(scope="module")
def installed_collections(workdir):
    """The collection built into a tarball (as `make build` does) and installed from it."""
    dist = workdir / "dist"
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dist), ROOT])
    tarballs = sorted(dist.glob("kubedc-ovn_tuning-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    os.makedirs(os.path.dirname(TARBALL), exist_ok=True)
    shutil.copyfile(str(tarballs[0]), TARBALL)
    collections = workdir / "collections"
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--force",
         "-p", str(collections), str(tarballs[0])])
    return collections


@pytest.fixture(scope="module")
def introspected(installed_collections, workdir):
    """What an image build would install for the collection: (pip lines, bindep lines)."""
    pip_file = workdir / "introspect-requirements.txt"
    bindep_file = workdir / "introspect-bindep.txt"
    run([os.path.join(BIN, "ansible-builder"), "introspect", str(installed_collections),
         "--write-pip", str(pip_file), "--write-bindep", str(bindep_file)])
    pip_lines = requirement_lines(pip_file) if pip_file.exists() else []
    bindep_lines = requirement_lines(bindep_file) if bindep_file.exists() else []
    return pip_lines, bindep_lines, bindep_file


def test_collection_metadata_is_format_3_and_names_the_requirement_files():
    definition = load(META_EE)
    assert definition["version"] == 3
    assert definition["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    validate_schema(dict(definition))
    for name in ("requirements.txt", "bindep.txt"):
        assert os.path.isfile(os.path.join(ROOT, name)), name


def test_image_gets_exactly_the_module_requirements(introspected):
    pip_lines, _bindep_lines, _bindep_file = introspected
    expected = requirement_lines(os.path.join(ROOT, "requirements.txt"))
    # introspect tags each line with the collection it came from.
    assert sorted(line.split("#")[0].strip() for line in pip_lines) == sorted(expected)
    test_only = [line for line in requirement_lines(os.path.join(ROOT, "requirements-test.txt"))
                 if not line.startswith("-r") and line not in expected]
    for line in pip_lines:
        assert line.split("#")[0].strip() not in test_only


def packages(bindep_text, profiles):
    """The packages bindep selects for the profiles (platform profiles included), as `bindep -l` does."""
    return sorted(rule[0] for rule in Depends(bindep_text).active_rules(profiles))


# The platform profiles bindep derives on an EE base image (CentOS Stream 9) and on Debian.
PLATFORMS = {
    "centos-stream9": ["platform:rpm", "platform:redhat", "platform:centos", "platform:centos-9"],
    "debian-12": ["platform:dpkg", "platform:debian", "platform:debian-12"],
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_image_installs_no_system_package(introspected, platform):
    _pip_lines, bindep_lines, _bindep_file = introspected
    # The image build runs `bindep -l newline` (default profile) on the collected lines: nothing
    # may come out. The OVS/OVN CLIs are for the lab and the tests only (profile `test`).
    assert bindep_lines, "bindep.txt was not collected"
    assert packages("\n".join(bindep_lines) + "\n", ["default"] + PLATFORMS[platform]) == []


def test_test_machines_get_the_ovn_packages():
    with open(os.path.join(ROOT, "bindep.txt")) as handle:
        text = handle.read()
    assert {"ovn-central", "ovn-host"} <= set(packages(text, ["test"] + PLATFORMS["debian-12"]))


def test_awx_definition_creates_a_build_context(installed_collections, workdir):
    definition = load(AWX_EE)
    assert definition["version"] == 3
    context = workdir / "context"
    run([os.path.join(BIN, "ansible-builder"), "create", "-f", AWX_EE, "--context", str(context),
         "--output-filename", "Containerfile"])
    containerfile = (context / "Containerfile").read_text()
    # The image runs the ansible-core the tests run.
    core_pin = [line for line in requirement_lines(os.path.join(ROOT, "requirements-test.txt"))
                if line.startswith("ansible-core==")]
    assert definition["dependencies"]["ansible_core"]["package_pip"] in core_pin
    assert core_pin[0] in containerfile
    assert "introspect.py introspect" in containerfile
    assert (context / "_build" / "collections" / "kubedc-ovn_tuning.tar.gz").is_file()
    galaxy = load(str(context / "_build" / "requirements.yml"))
    assert galaxy["collections"] == [{"name": "/build/collections/kubedc-ovn_tuning.tar.gz", "type": "file"}]
    # The Python that runs ansible-core in the image is one it supports (3.11 or later).
    assert definition["dependencies"]["python_interpreter"]["python_path"].endswith("python3.11")
