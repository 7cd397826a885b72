"""The kubedc.ovn_tuning.ovsdb doc fragment documents the client's options and its REMOTE variant the
option ``remote``: together exactly the argument spec the modules build from
module_utils/ovsdb_module.py, with the same types and defaults."""

import glob
import os

import yaml

from ansible_collections.kubedc.ovn_tuning.plugins.doc_fragments.ovsdb import ModuleDocFragment
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec


def test_fragments_document_the_connection_spec():
    client = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    remote = yaml.safe_load(ModuleDocFragment.REMOTE)["options"]
    assert sorted(remote) == ["remote"] and "remote" not in client
    documented = dict(client, **remote)
    spec = connection_spec()
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name


def test_the_ovsdb_action_group_is_every_module_of_the_fragment():
    """meta/runtime.yml's group ovsdb (module_defaults: group/kubedc.ovn_tuning.ovsdb) lists exactly the
    modules that take the fragment's options: a module outside it would not get the rollout's options, a
    module in it without them would fail on options it does not take."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
    with open(os.path.join(root, "meta", "runtime.yml")) as handle:
        group = yaml.safe_load(handle)["action_groups"]["ovsdb"]
    taking = []
    for path in sorted(glob.glob(os.path.join(root, "plugins", "modules", "*.py"))):
        with open(path) as handle:
            source = handle.read()
        documentation = yaml.safe_load(source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
        if "kubedc.ovn_tuning.ovsdb" in documentation.get("extends_documentation_fragment", []):
            taking.append(os.path.basename(path)[:-3])
    assert sorted(group) == taking
    assert yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["attributes"]["action_group"]["membership"] == [
        "kubedc.ovn_tuning.ovsdb"]
