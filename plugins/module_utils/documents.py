# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON documents and files the collection writes: one canonical serialisation, one digest,
one atomic file write.

The canonical JSON (sorted keys, no insignificant whitespace, ASCII, no NaN) is what every
checksum is computed over: snapshot files, the in-band records' seals and the tuning profile's
checksum. ``write_atomically`` is how snapshot files and the metrics file reach the disk: a
reader sees the old file or the new one, never half of one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import tempfile

# Errors of os.link on file systems without hard links.
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV)


def canonical_json(value):
    """JSON with sorted keys and no insignificant whitespace: equal data, equal text.

    Raises TypeError or ValueError for what is not plain JSON data (NaN included).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def sha256_hex(value):
    """sha256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("ascii")).hexdigest()


def write_atomically(path, data, mode=0o600, replace=True):
    """Write the bytes ``data`` to ``path`` through a temporary file of ``mode`` in the same
    directory: written, fsynced, then renamed over ``path`` (``replace``), or hard-linked to
    ``path`` so that the write fails with FileExistsError when a file appeared there since the
    caller checked (without ``replace``; on a file system without hard links, checked once
    more and renamed). The directory is fsynced after. The temporary file never stays behind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                         dir=directory)
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            _link_new(temporary, path)
        _fsync_directory(directory)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def _link_new(temporary, path):
    try:
        os.link(temporary, path)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
        os.rename(temporary, path)


def _fsync_directory(directory):
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
