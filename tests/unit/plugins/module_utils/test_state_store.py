"""The in-band store's pure parts: names, keys, the pruning plan, seals, the default snapshot."""

import json

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import state_store as store


def test_keys_and_names():
    assert store.key_of("snapshot", "20261206T101500.000000Z-before-staging") == \
        "kubedc-ovn-tuning:snapshot:20261206T101500.000000Z-before-staging"
    assert store.name_of("snapshot", "kubedc-ovn-tuning:snapshot:a-1") == "a-1"
    assert store.name_of("snapshot", "a-1") == "a-1"
    with pytest.raises(store.StoreError, match="is not a key of a snapshot record"):
        store.name_of("snapshot", "kubedc-ovn-tuning:promotion:abc")
    for bad in ("", "-x", "a b", "a/b", "x" * 201, None):
        with pytest.raises(store.StoreError, match="name: .* is not a record name"):
            store.name_of("snapshot", bad)
    external = {"other-tool": "1", store.key_of("snapshot", "b"): "{}", store.key_of("snapshot", "a"): "{}",
                store.key_of("promotion", "c"): "{}"}
    assert store.names(external, "snapshot") == ["a", "b"] and store.names(external, "promotion") == ["c"]


def test_a_put_keeps_at_most_keep_and_never_names_another_tools_key():
    external = {"other-tool": "1"}
    for stamp in ("20260101", "20260102", "20260103"):
        external[store.key_of("snapshot", stamp + "-x")] = "{}"
    plan = store.plan_put(external, "snapshot", "20260104-x", "{\"a\":1}", keep=2)
    assert plan == {"set": {store.key_of("snapshot", "20260104-x"): "{\"a\":1}"},
                    "remove": [store.key_of("snapshot", "20260101-x"), store.key_of("snapshot", "20260102-x")]}
    assert store.plan_put(external, "snapshot", "20260104-x", "{}", keep=10)["remove"] == []
    same = dict(external, **{store.key_of("snapshot", "20260104-x"): "{}"})
    assert store.plan_put(same, "snapshot", "20260104-x", "{}", keep=10) == {"set": {}, "remove": []}
    assert store.plan_remove(external, "snapshot", "20260101-x")["remove"] == [store.key_of("snapshot", "20260101-x")]
    assert store.plan_remove(external, "snapshot", "gone") == {"set": {}, "remove": []}


def test_the_newest_snapshot_taken_before_a_change_is_kept_while_others_can_go():
    external = dict((store.key_of("snapshot", n), "{}") for n in ("1-before-staging", "2-config", "3-config"))
    plan = store.plan_put(external, "snapshot", "4-config", "{}", keep=2)
    assert plan["remove"] == [store.key_of("snapshot", "2-config"), store.key_of("snapshot", "3-config")]
    # A newer before-change snapshot takes its place as the one rollback restores.
    plan = store.plan_put(external, "snapshot", "4-before-production", "{}", keep=2)
    assert plan["remove"] == [store.key_of("snapshot", "1-before-staging"), store.key_of("snapshot", "2-config")]
    # keep: 1 with only the protected one left - then it goes too.
    only = {store.key_of("snapshot", "1-before-staging"): "{}"}
    assert store.plan_put(only, "snapshot", "2-config", "{}", keep=1)["remove"] == [
        store.key_of("snapshot", "1-before-staging")]


def test_promotion_records_are_pruned_oldest_stored_first():
    external = {store.key_of("promotion", "b" * 64): json.dumps({"stored_at_epoch": 10}),
                store.key_of("promotion", "a" * 64): json.dumps({"stored_at_epoch": 20}),
                store.key_of("promotion", "c" * 64): "not json"}
    plan = store.plan_put(external, "promotion", "d" * 64, "{}", keep=2)
    assert plan["remove"] == [store.key_of("promotion", "c" * 64), store.key_of("promotion", "b" * 64)]


def test_a_sealed_record_is_trusted_and_an_altered_one_is_not():
    record = store.seal({"status": "promoted", "checksum": "abc"})
    value = documents.canonical_json(record)
    assert store.unseal(value, "k") == record
    altered = json.dumps(dict(record, status="failed"))
    with pytest.raises(store.StoreError, match="k: the seal does not match"):
        store.unseal(altered, "k")
    with pytest.raises(store.StoreError, match="k: not a JSON record"):
        store.unseal("{", "k")
    with pytest.raises(store.StoreError, match="k: not a sealed record"):
        store.unseal("{}", "k")


def test_a_rollback_takes_the_newest_snapshot_taken_before_a_change():
    assert store.latest_snapshot(["1-config", "2-before-staging", "3-manual"]) == "2-before-staging"
    assert store.latest_snapshot(["1-config", "3-manual"]) == "3-manual"
    assert store.latest_snapshot([]) is None


class FakeRow(object):
    def __init__(self):
        self.calls = []

    def setkey(self, column, key, value):
        self.calls.append(("set", column, key, value))

    def delkey(self, column, key):
        self.calls.append(("del", column, key))


def test_apply_mutates_single_keys_of_external_ids():
    row = FakeRow()
    assert store.apply(row, {"set": {"kubedc-ovn-tuning:snapshot:b": "{}"}, "remove": ["kubedc-ovn-tuning:snapshot:a"]})
    assert row.calls == [("del", "external_ids", "kubedc-ovn-tuning:snapshot:a"),
                         ("set", "external_ids", "kubedc-ovn-tuning:snapshot:b", "{}")]
    assert store.apply(FakeRow(), {"set": {}, "remove": []}) is False
