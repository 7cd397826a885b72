"""The two variants of the kubedc.ovn_tuning.ovsdb doc fragment document the same client options.

ansible-test reads doc fragments only as string literals, so DOCUMENTATION (with ``remote``) and
CLIENT (without it) are both written out; they must not drift apart, and must match the argument
spec the modules build from module_utils/ovsdb_module.py.
"""

import yaml

from ansible_collections.kubedc.ovn_tuning.plugins.doc_fragments.ovsdb import ModuleDocFragment
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec


def test_client_variant_is_the_full_fragment_without_remote():
    full = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    client = yaml.safe_load(ModuleDocFragment.CLIENT)
    options = dict(full["options"])
    assert "remote" in options
    del options["remote"]
    assert client["options"] == options
    assert client["requirements"] == full["requirements"]


def test_fragment_documents_the_connection_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = connection_spec()
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
