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


# The longest test files first. With --dist loadfile --no-loadscope-reorder (make test) each file goes
# whole to one worker, in collection order: a long file collected last would run alone at the end
# while the other worker idles.
SLOW_FILES_FIRST = (
    "functional/test_rollout_hosts.py",
    "functional/test_rollout_safety.py",
    "functional/test_rollout.py",
    "functional/test_rollout_production.py",
    "functional/test_rollout_kube_ovn.py",
    "functional/test_snapshot.py",
    "functional/test_awx_jobs.py",
)


def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    def rank(item):
        path = item.nodeid.split("::")[0]
        for index, name in enumerate(SLOW_FILES_FIRST):
            if path.endswith(name):
                return index
        return len(SLOW_FILES_FIRST)
    # A stable sort: the order within each file, and among the other files, stays as collected.
    items.sort(key=rank)
