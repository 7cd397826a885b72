# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The in-band state store: this collection's records kept in the deployment itself.

A job that runs in a fresh container (AWX) has no disk that outlives it. The snapshots and the
promotion records then live where every job can read them: in ``external_ids`` of the global row
of the deployment's Northbound database (``NB_Global``; ``SB_Global`` for a deployment without
NB), one key per record, each key under the prefix ``kubedc-ovn-tuning:``::

    kubedc-ovn-tuning:snapshot:<UTC time>-<label>   a snapshot document (its own sha256 inside)
    kubedc-ovn-tuning:promotion:<profile checksum>  a promotion record of staging
    kubedc-ovn-tuning:override:<UTC time>-<checksum12>   an override of the promotion check

Each value is compact canonical JSON; a promotion or override record is sealed with the sha256 of
its content (``seal``), as a snapshot is. ``ovn-nbctl get NB_Global . external_ids`` shows them.
Writes are map mutations of our own keys only (another tool's keys are never read into a write, so
never touched), in one transaction with the pruning that keeps at most ``keep`` records of a kind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents, global_options, string_map
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import client_from_params

PREFIX = "kubedc-ovn-tuning:"
COLUMN = "external_ids"
KINDS = ("snapshot", "promotion", "override", "lease", "journal")
# Names are file-name-like (a snapshot's name is the file name it would have, without .json).
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# A snapshot taken right before a change: what a rollback restores by default.
BEFORE_CHANGE = "-before-"


class StoreError(ValueError):
    """A record that cannot be written or trusted; the text names what and why."""


def key_of(kind, name):
    return "%s%s:%s" % (PREFIX, kind, name)


def check_name(name, param="name"):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise StoreError("%s: %r is not a record name; use 1-200 letters, digits, '.', '_' or '-', starting"
                         " with a letter or digit" % (param, name))
    return name


def name_of(kind, value, param="name"):
    """A record name, given as the name or as its whole key (``kubedc-ovn-tuning:KIND:NAME``)."""
    if isinstance(value, str) and value.startswith(PREFIX):
        prefix = "%s%s:" % (PREFIX, kind)
        if not value.startswith(prefix):
            raise StoreError("%s: %s is not a key of a %s record (%sNAME)" % (param, value, kind, prefix))
        value = value[len(prefix):]
    return check_name(value, param)


def names(external_ids, kind):
    """The names of the records of ``kind`` held in an ``external_ids`` map, oldest first by name."""
    prefix = "%s%s:" % (PREFIX, kind)
    return sorted(key[len(prefix):] for key in external_ids if key.startswith(prefix))


def seal(record):
    """The record with ``seal``: sha256 of its canonical JSON without the seal."""
    content = dict((k, v) for k, v in record.items() if k != "seal")
    return dict(content, seal=documents.sha256_hex(content))


def unseal(value, key):
    """The record stored under ``key``, checked against its seal; raises StoreError."""
    try:
        record = json.loads(value)
    except ValueError as exc:
        raise StoreError("%s: not a JSON record (%s); it was altered by hand?" % (key, exc))
    if not isinstance(record, dict) or "seal" not in record:
        raise StoreError("%s: not a sealed record of kubedc.ovn_tuning" % key)
    if seal(record)["seal"] != record["seal"]:
        raise StoreError("%s: the seal does not match the content; the record was altered after it was"
                         " written, so it is not trusted" % key)
    return record


def plan_put(external_ids, kind, name, value, keep):
    """``{"set": {key: value}, "remove": [key, ...]}``: write one record and keep at most ``keep`` of
    its kind (the oldest by name go; for promotion records, whose names are checksums, the oldest by
    their ``stored_at_epoch``). The newest snapshot taken before a change - what a rollback restores
    by default - is never the one to go while another can: snapshots taken at the start of runs that
    changed nothing do not push it out."""
    key = key_of(kind, name)
    present = names(external_ids, kind)
    others = [n for n in present if n != name]
    if kind == "snapshot" and BEFORE_CHANGE not in name:
        protected = latest_snapshot([n for n in others if BEFORE_CHANGE in n])
        if protected is not None:
            others = [n for n in others if n != protected] + [protected]
    if kind == "promotion":
        def stored(other):
            try:
                return float(json.loads(external_ids[key_of(kind, other)]).get("stored_at_epoch") or 0)
            except (ValueError, TypeError, AttributeError):
                return 0.0
        others.sort(key=stored)
    excess = max(0, len(others) + 1 - keep)
    return {"set": {key: value} if external_ids.get(key) != value else {},
            "remove": [key_of(kind, n) for n in others[:excess]]}


def plan_remove(external_ids, kind, name):
    key = key_of(kind, name)
    return {"set": {}, "remove": [key] if key in external_ids else []}


def apply(row, plan):
    """Mutate the global row's external_ids as ``plan`` says (only our keys); returns whether it wrote."""
    # Other tools' keys of the map are never touched, so nothing of theirs needs verifying.
    return string_map.apply(row, COLUMN, plan, verify=False)


def latest_snapshot(snapshot_names):
    """What a rollback restores by default: the newest snapshot taken right before a change, else the newest."""
    before = [n for n in snapshot_names if BEFORE_CHANGE in n]
    if before:
        return before[-1]
    return snapshot_names[-1] if snapshot_names else None


def read(client, database):
    """``(row, external_ids)`` of the database's global row (after processing pending updates)."""
    client.refresh()
    return global_options.read_options(client, database, column=COLUMN)


def write(client, database, make_plan, comment):
    """Plan on the current row (``make_plan(external_ids)``) and commit; re-planned on a retry.
    Returns the plan that was committed (or found already true)."""
    planned = {}

    def build(_txn, ovsdb):
        row, current = global_options.read_options(ovsdb, database, column=COLUMN)
        if row is None:
            raise StoreError("%s has no row (the database was never initialised); nothing was stored"
                             % global_options.global_table(database))
        planned["plan"] = make_plan(current)
        return apply(row, planned["plan"])

    client.transact(build, comment=comment)
    return planned["plan"]


class InBandStore(object):
    """One module run's connection to the records of one database's global row, as a context
    manager: ``read()`` the external_ids, ``write(make_plan, what)`` in a verified transaction. A
    connection that fails is a StoreError naming the row and its remotes."""

    def __init__(self, params, database, remote, module_name):
        self.database = database
        self.table = global_options.global_table(database)
        self.client = client_from_params(dict(params, remote=remote), database, {self.table: [COLUMN]})
        self.where = "%s external_ids at %s" % (self.table, remote)
        self.module_name = module_name

    def __enter__(self):
        try:
            self.client.connect()
        except OvsdbError as exc:
            raise StoreError("%s: %s" % (self.where, exc))
        return self

    def __exit__(self, *exc_info):
        self.client.close()

    def read(self):
        return read(self.client, self.database)[1]

    def write(self, make_plan, what):
        return write(self.client, self.database, make_plan, "%s %s" % (self.module_name, what))
