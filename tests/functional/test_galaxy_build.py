"""The collection builds with ansible-galaxy, installs, and its modules load from the install."""

import glob
import os
import subprocess
import sys
import tarfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, **kwargs)


def test_build_install_and_load(tmp_path):
    built = run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force",
                 "--output-path", str(tmp_path / "dist"), REPO_ROOT])
    assert built.returncode == 0, built.stderr
    tarballs = glob.glob(str(tmp_path / "dist" / "kubedc-ovn_tuning-*.tar.gz"))
    assert len(tarballs) == 1, tarballs

    with tarfile.open(tarballs[0]) as archive:
        names = archive.getnames()
    assert "meta/runtime.yml" in names and "MANIFEST.json" in names
    assert "plugins/module_utils/ovsdb_client.py" in names
    # What the runbook's watch installs from the collection (section 6).
    for shipped in ("docs/prometheus/ovn-tuning.rules.yml", "docs/grafana/ovn-tuning.json",
                    "docs/examples/ovn-tuning-health.service", "docs/examples/ovn-tuning-health.timer"):
        assert shipped in names, shipped
    assert not [n for n in names if n.startswith((".build", ".venv", ".ci/")) or "__pycache__" in n]

    installed = run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force",
                     "-p", str(tmp_path / "collections"), tarballs[0]])
    assert installed.returncode == 0, installed.stderr
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1")
    listed = run([os.path.join(BIN, "ansible-doc"), "-t", "module", "-l", "kubedc.ovn_tuning"], env=env)
    assert listed.returncode == 0, listed.stderr
    modules = sorted(os.path.splitext(os.path.basename(p))[0]
                     for p in glob.glob(os.path.join(REPO_ROOT, "plugins", "modules", "*.py")))
    assert modules
    for module in modules:
        assert "kubedc.ovn_tuning." + module in listed.stdout
    doc = run([os.path.join(BIN, "ansible-doc"), "-t", "module", "kubedc.ovn_tuning.ovsdb_connection"],
              env=env)
    assert doc.returncode == 0 and "inactivity_probe" in doc.stdout, doc.stderr
