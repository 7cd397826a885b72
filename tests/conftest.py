"""Shared pytest setup: the collection on the import path, the lab fixtures, Ansible helpers.

The collection is exposed at .build/collections/ansible_collections/kubedc/ovn_tuning (a link to
the repository root) so that both Python imports and ansible-playbook find it.
"""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_DIR = os.path.join(REPO_ROOT, ".build", "collections")
_LINK = os.path.join(COLLECTIONS_DIR, "ansible_collections", "kubedc", "ovn_tuning")

# Already inside an ansible_collections/kubedc/ovn_tuning tree (ansible-test units places the
# collection so, and its pytest plugin loads the collection from there): use that tree.
_NAMESPACE_DIR = os.path.dirname(REPO_ROOT)
if (os.path.basename(REPO_ROOT) == "ovn_tuning" and os.path.basename(_NAMESPACE_DIR) == "kubedc"
        and os.path.basename(os.path.dirname(_NAMESPACE_DIR)) == "ansible_collections"):
    COLLECTIONS_DIR = os.path.dirname(os.path.dirname(_NAMESPACE_DIR))
elif not os.path.exists(_LINK):
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
