"""Unit tests of documents.py: the one canonical JSON, its digest, and the atomic file write."""

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents


def test_canonical_json_is_the_same_text_for_equal_data():
    assert documents.canonical_json({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"\\u00e9"]}'
    assert documents.canonical_json({"a": 1, "b": 2}) == documents.canonical_json({"b": 2, "a": 1})
    with pytest.raises(ValueError):
        documents.canonical_json({"a": float("nan")})
    with pytest.raises(TypeError):
        documents.canonical_json({"a": object()})


def test_sha256_hex_is_the_digest_of_the_canonical_json():
    value = {"z": {"y": "1"}, "a": [True]}
    expected = hashlib.sha256(b'{"a":[true],"z":{"y":"1"}}').hexdigest()
    assert documents.sha256_hex(value) == expected
    assert documents.sha256_hex(json.loads(json.dumps(value))) == expected


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_write_replaces_the_file_with_the_mode_asked_and_leaves_no_temporary(tmp_path, mode):
    path = tmp_path / "out.json"
    path.write_bytes(b"old")
    documents.write_atomically(str(path), b"new\n", mode=mode)
    assert path.read_bytes() == b"new\n"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_without_replace_creates_but_never_overwrites(tmp_path):
    path = tmp_path / "out.json"
    documents.write_atomically(str(path), b"first", replace=False)
    assert path.read_bytes() == b"first"
    with pytest.raises(FileExistsError):
        documents.write_atomically(str(path), b"second", replace=False)
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_leaves_no_temporary(tmp_path):
    with pytest.raises(OSError):
        documents.write_atomically(str(tmp_path / "missing-dir" / "out.json"), b"x")
    path = tmp_path / "dir"
    path.mkdir()
    with pytest.raises(OSError):
        documents.write_atomically(str(path), b"x")  # a directory is not replaced by a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]
