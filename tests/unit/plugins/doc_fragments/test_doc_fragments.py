"""The kubedc.ovn_tuning.ovsdb doc fragment documents the client's options and its REMOTE variant the
option ``remote``: together exactly the argument spec the modules build from
module_utils/ovsdb_module.py, with the same types and defaults."""

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
