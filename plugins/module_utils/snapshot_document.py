# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot document (its format is described in snapshot.py): building and sealing it,
checking a document before anything is contacted, its file, and the differences between two
``tunables``. Pure but for the file functions; the parts' own checks are the parts'."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import errno
import json
import os

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot import PARTS
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_part import (
    SCHEMA_VERSION, SnapshotError, check_type)

KIND = "kubedc.ovn_tuning/snapshot"
# Kept equal to galaxy.yml's version (a unit test checks it): modules run without the collection's files.
COLLECTION_VERSION = "0.1.0"


def checksum_of(document):
    """sha256 (hex) of the canonical JSON of ``document`` without its ``checksum`` key."""
    return documents.sha256_hex(dict((k, v) for k, v in document.items() if k != "checksum"))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


def build_document(deployment_name, sources, tunables_doc, created_at=None):
    """A sealed snapshot document (with its checksum)."""
    document = {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "collection_version": COLLECTION_VERSION,
        "created_at": created_at or utc_now(),
        "deployment": deployment_name,
        "sources": copy.deepcopy(sources),
        "tunables": copy.deepcopy(tunables_doc),
    }
    document["checksum"] = checksum_of(document)
    return document


def serialise(document):
    """The bytes written to the file: readable JSON, keys sorted, one final newline."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False)
            + "\n").encode("utf-8")


def validate_document(document):
    """Refuse a snapshot that is not one of ours, of another schema version, altered, or malformed.

    Runs before anything is contacted; raises SnapshotError with the reason.
    """
    if not isinstance(document, dict):
        raise SnapshotError("the file does not hold a snapshot (a JSON object), got %s" % type(document).__name__)
    if document.get("kind") != KIND:
        raise SnapshotError("kind is %r, not %r: this is not a kubedc.ovn_tuning snapshot"
                            % (document.get("kind"), KIND))
    version = document.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise SnapshotError("schema_version is %r; this collection (%s) reads schema_version %d only, so"
                            " nothing was restored" % (version, COLLECTION_VERSION, SCHEMA_VERSION))
    recorded = document.get("checksum")
    actual = checksum_of(document)
    if recorded != actual:
        raise SnapshotError("checksum mismatch: the file records %r but its content hashes to %s; the"
                            " snapshot was altered or damaged after it was written, so nothing was restored"
                            % (recorded, actual))
    check_type(document.get("deployment"), str, "deployment", "the deployment name")
    tunables_doc = document.get("tunables")
    check_type(tunables_doc, dict, "tunables", "a dictionary")
    unknown = sorted(set(tunables_doc) - set(part.key for part in PARTS))
    if unknown:
        raise SnapshotError("tunables.%s: unknown part" % unknown[0])
    for part in PARTS:
        if tunables_doc.get(part.key) is not None:
            part.check_document(tunables_doc[part.key], "tunables." + part.key)
    return document


def load_document(path):
    """Read and check a snapshot file; raises SnapshotError naming ``path``."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            raise SnapshotError("path: %s does not exist; capture a snapshot first (state: captured)" % path)
        raise SnapshotError("path: cannot read %s: %s" % (path, exc.strerror or exc))
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise SnapshotError("path: %s is not a JSON snapshot: %s" % (path, exc))
    try:
        return validate_document(document)
    except SnapshotError as exc:
        raise SnapshotError("path: %s refused: %s" % (path, exc))


def check_destination(path, force):
    """Fail (before anything is read) when ``path`` cannot take a new snapshot; returns
    whether a file is already there."""
    if not path:
        raise SnapshotError("path: required; give the file the snapshot is written to")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SnapshotError("path: the directory %s does not exist; create it first" % directory)
    if os.path.isdir(path):
        raise SnapshotError("path: %s is a directory; give a file name" % path)
    exists = os.path.lexists(path)
    if exists and not force:
        raise SnapshotError("path: %s already exists and force is false; nothing was written. Give another"
                            " path, or force: true to replace it" % path)
    if not os.access(directory, os.W_OK):
        raise SnapshotError("path: the directory %s is not writable" % directory)
    return exists


def write_document(path, document, force):
    """Write atomically: a 0600 temporary file in the same directory, fsync, then rename
    (without force, a hard link that fails if ``path`` appeared meanwhile)."""
    try:
        documents.write_atomically(path, serialise(document), mode=0o600, replace=force)
    except FileExistsError:
        raise SnapshotError("path: %s appeared while the snapshot was taken and force is false;"
                            " nothing was written" % path)
    except (IOError, OSError) as exc:
        raise SnapshotError("path: cannot write %s: %s" % (path, exc.strerror or exc))


# --------------------------------------------------------------------------- differences

def flatten(tunables_doc):
    """``{label: value}`` of every recorded value; a Connection row is one value (its columns)."""
    return dict(item for part in PARTS if tunables_doc.get(part.key) is not None
                for item in part.flatten(tunables_doc[part.key]))


_ABSENT = object()


def _show(value):
    if value is _ABSENT or value is None:
        return "absent"
    return documents.canonical_json(value)


def differences(before, after):
    """Sentences ``label: before -> after`` for every value that differs (sorted by label)."""
    flat_before = flatten(before)
    flat_after = flatten(after)
    out = []
    for label in sorted(set(flat_before) | set(flat_after)):
        old = flat_before.get(label, _ABSENT)
        new = flat_after.get(label, _ABSENT)
        if old is _ABSENT and new is None or new is _ABSENT and old is None:
            continue
        if old != new:
            out.append("%s: %s -> %s" % (label, _show(old), _show(new)))
    return out
