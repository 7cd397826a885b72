"""The one planner and writer of per-key string-map changes (options, external_ids)."""

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import string_map


class FakeRow:
    """Records what the planner's writer does to one map column."""

    def __init__(self):
        self.calls = []

    def verify(self, column):
        self.calls.append(("verify", column))

    def setkey(self, column, key, value):
        self.calls.append(("setkey", column, key, value))

    def delkey(self, column, key):
        self.calls.append(("delkey", column, key))


def test_plan_sets_what_differs_and_removes_what_is_there():
    current = {"a": "1", "b": "2", "other-tool": "keep"}
    changes = string_map.plan(current, {"a": "1", "b": "3", "c": "4", "gone": None, "b-old": None})
    assert changes["set"] == {"b": "3", "c": "4"} and changes["remove"] == []
    changes = string_map.plan(current, {"b": None, "a": None})
    assert changes["remove"] == ["a", "b"] and changes["set"] == {} and changes["changed"]
    assert changes["map_after"] == {"other-tool": "keep"}
    assert current == {"a": "1", "b": "2", "other-tool": "keep"}  # pure: the input is not touched


def test_plan_of_what_is_already_there_changes_nothing():
    changes = string_map.plan({"a": "1"}, {"a": "1", "b": None})
    assert changes == {"set": {}, "remove": [], "map_after": {"a": "1"}, "changed": False}


def test_apply_writes_only_the_named_keys_after_verifying_the_column():
    row = FakeRow()
    assert string_map.apply(row, "options", {"set": {"z": "9", "a": "1"}, "remove": ["old"]}) is True
    assert row.calls == [("verify", "options"), ("delkey", "options", "old"),
                         ("setkey", "options", "a", "1"), ("setkey", "options", "z", "9")]
    row = FakeRow()
    assert string_map.apply(row, "external_ids", {"set": {"k": "v"}, "remove": []}, verify=False) is True
    assert row.calls == [("setkey", "external_ids", "k", "v")]
    row = FakeRow()
    assert string_map.apply(row, "options", {"set": {}, "remove": []}) is False and row.calls == []
