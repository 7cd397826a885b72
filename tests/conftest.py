"""Shared pytest setup: the collection on the import path, the lab fixtures, Ansible helpers.

The collection is exposed at .build/collections/ansible_collections/kubedc/ovn_tuning (a link to
the repository root) so that both Python imports and ansible-playbook find it.
"""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_DIR = os.path.join(REPO_ROOT, ".build", "collections")
_LINK = os.path.join(COLLECTIONS_DIR, "ansible_collections", "kubedc", "ovn_tuning")

if not os.path.exists(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    try:
        os.symlink(os.path.join("..", "..", "..", ".."), _LINK)
    except FileExistsError:
        pass

for path in (COLLECTIONS_DIR, os.path.join(REPO_ROOT, "tests", "lab"), os.path.join(REPO_ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS_DIR

pytest_plugins = ["ovnlab.fixtures"]
