# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshots of every tunable of one OVN deployment, and their exact restore.

A snapshot is a JSON document (``schema_version`` 1)::

    {"kind": "kubedc.ovn_tuning/snapshot", "schema_version": 1,
     "collection_version": "0.1.0", "created_at": "2025-01-31T12:00:00Z",
     "deployment": "staging-1",
     "sources": {...where each part was read...},
     "tunables": {
       "nb": {"connections": [ROW, ...], "options": {KEY: VALUE or null}, "election_timer": MS},
       "sb": {...},
       "local_config": {REMOTE: {"connections": [ROW, ...]}},
       "chassis": {NAME: {"external_ids": {KEY: VALUE or null}}},
       "kube_ovn": {"namespace": NS, "name": NAME, "container": C, "env": {VAR: VALUE or null}},
       "ovs_ovn": {...the same, of kube-ovn's ovs-ovn DaemonSet...}},
     "checksum": SHA256_HEX}

``checksum`` is the sha256 of the canonical JSON (sorted keys, no spaces) of
the document without ``checksum``.  A null value records that a key was
absent: restoring removes it.  ``election_timer`` is there only when the
descriptor gave the members' ctl sockets; ``local_config``, ``chassis``,
``kube_ovn`` and ``ovs_ovn`` only when the descriptor has them (``ovs_ovn``:
``kube_ovn`` unless its ``ovs_ovn.manage`` is false).

The pure parts (document building and checking, the descriptor's shape, the
restore plan, differences) are separate from :class:`DeploymentSession`, which
reads and writes the live deployment by reusing the plan/apply helpers of the
modules (connection_rows, global_options, chassis_probe, election_timer,
k8s_client).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import errno
import hashlib
import json
import os
import tempfile

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import (
    chassis_probe, connection_rows, election_timer, global_options, k8s_client, k8s_env, tunables)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_client import (
    Deadline, OvsdbError, parse_remotes, sleep_until)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    client_from_params, validate_connection_params)

KIND = "kubedc.ovn_tuning/snapshot"
SCHEMA_VERSION = 1
# Kept equal to galaxy.yml's version (a unit test checks it): modules run without the collection's files.
COLLECTION_VERSION = "0.1.0"

# Descriptor key -> clustered OVN database.
DATABASES = (("nb", "OVN_Northbound"), ("sb", "OVN_Southbound"))
DATABASE_OF = dict(DATABASES)
LOCAL_CONFIG = "Local_Config"

# The Connection columns a snapshot records (those the schema has; NB has no read_only/role).
CAPTURED_COLUMNS = ("target",) + tunables.CONNECTION_SETTINGS

# The kube-ovn workloads a snapshot records: part key -> key of tunables.K8S_WORKLOADS.
KUBE_PARTS = (("kube_ovn", "ovn-central"), ("ovs_ovn", "ovs-ovn"))
KUBE_OVN_DEFAULTS = dict((key, tunables.K8S_WORKLOADS["ovn-central"][key]) for key in ("namespace", "name", "container"))
OVS_OVN_DEFAULTS = dict((key, tunables.K8S_WORKLOADS["ovs-ovn"][key]) for key in ("name", "container"))
OVS_OVN_KEYS = ("manage", "name", "container", "allow_restart")
KUBE_OVN_AUTH_KEYS = tuple(sorted(k8s_client.K8S_AUTH_SPEC))
DESCRIPTOR_KEYS = ("name", "nb", "sb", "local_config", "chassis", "kube_ovn")
# Keys of the descriptor that name the deployment's hosts for the roles (which read the members'
# control sockets there); accepted, checked and not read by this module.
HOST_KEYS = ("central_hosts", "chassis_hosts")
# Parts of the descriptor the roles read for health only: SB relays hold no tunable that a snapshot
# could put back (their listeners and source probe are on their command line).
READ_ONLY_KEYS = ("sb_relays",)
# The source recorded for a chassis whose keys the caller read on the chassis host.
CHASSIS_HOST_SOURCE = "read on the chassis host"
DATABASE_KEYS = ("remote", "ctl_sockets")
CHASSIS_KEYS = ("name", "remote")
KUBE_OVN_KEYS = tuple(sorted(set(KUBE_OVN_AUTH_KEYS) | set(KUBE_OVN_DEFAULTS) | set(["ovs_ovn"])))


class SnapshotError(OvsdbError):
    """A snapshot that cannot be written, read, trusted or restored; the text says why."""


# --------------------------------------------------------------------------- tunables table

def option_keys(database):
    """The probe keys set in ``database``'s global options map (from the tunables table): its own,
    plus those ovn-northd copies from it into the other database (NB_Global's sbctl_probe_interval)."""
    return sorted(global_options.keys_set_in(global_options.global_table(database)))


def is_northd_copy(database, options):
    """True when ``database``'s options map is ovn-northd's copy of another (it would undo a write)."""
    try:
        global_options.check_not_a_copy(database, options)
    except OvsdbError:
        return True
    return False


def chassis_keys():
    return sorted(chassis_probe.MANAGED_KEYS)


def env_names(workload="ovn-central"):
    return sorted(tunables.env_tunables(workload))


# --------------------------------------------------------------------------- the descriptor

def _fail(param, why):
    raise SnapshotError("%s: %s" % (param, why))


def _unknown_keys(value, allowed, param):
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        _fail("%s.%s" % (param, unknown[0]),
              "unknown key; accepted keys of %s are %s" % (param, ", ".join(allowed)))


def _single_remote(value, param):
    if not isinstance(value, str) or not value.strip():
        _fail(param, "expected one remote (tcp:IP:PORT, ssl:IP:PORT or unix:PATH), got %r" % (value,))
    remotes = parse_remotes(value, param)
    if len(remotes) != 1:
        _fail(param, "expected one remote, got %d (%s)" % (len(remotes), value))
    return remotes[0]


def _database_part(value, param):
    if not isinstance(value, dict):
        _fail(param, "expected a dictionary with remote (and optionally ctl_sockets), got %r" % (value,))
    _unknown_keys(value, DATABASE_KEYS, param)
    remote = value.get("remote")
    if not isinstance(remote, str) or not remote.strip():
        _fail(param + ".remote", "required: the database's remotes as OVN writes them"
              " (tcp:IP:PORT,tcp:IP:PORT,... or unix:PATH)")
    parse_remotes(remote, param + ".remote")
    sockets = value.get("ctl_sockets")
    if sockets is None:
        sockets = []
    if isinstance(sockets, str) or not isinstance(sockets, (list, tuple)):
        _fail(param + ".ctl_sockets", "expected a list of unixctl socket paths, got %r" % (sockets,))
    paths = []
    for index, path in enumerate(sockets):
        if not isinstance(path, str) or not os.path.isabs(path):
            _fail("%s.ctl_sockets[%d]" % (param, index),
                  "expected the absolute path of an ovsdb-server unixctl socket, got %r" % (path,))
        if path not in paths:
            paths.append(path)
    return {"remote": remote.strip(), "ctl_sockets": paths}


def validate_deployment(deployment, param="deployment"):
    """Check the deployment descriptor and return it normalised (no contact with anything).

    Raises SnapshotError naming the bad key (``deployment.chassis[1].remote: ...``).
    """
    if not isinstance(deployment, dict):
        _fail(param, "expected a dictionary with name and nb, sb, local_config, chassis, kube_ovn")
    _unknown_keys(deployment, DESCRIPTOR_KEYS + HOST_KEYS + READ_ONLY_KEYS, param)
    relays = deployment.get("sb_relays")
    if relays is not None:
        if not isinstance(relays, dict):
            _fail(param + ".sb_relays", "expected a dictionary with remote (the relays' remotes), got %r" % (relays,))
        _unknown_keys(relays, ("remote",), param + ".sb_relays")
        if not isinstance(relays.get("remote"), str) or not relays["remote"].strip():
            _fail(param + ".sb_relays.remote", "expected the relays' remotes, comma separated")
    for key in HOST_KEYS:
        hosts = deployment.get(key)
        if hosts is not None and (not isinstance(hosts, (list, tuple))
                                  or not all(isinstance(h, str) and h.strip() for h in hosts)):
            _fail("%s.%s" % (param, key), "expected a list of inventory host names, got %r" % (hosts,))
    name = deployment.get("name")
    if not isinstance(name, str) or not name.strip():
        _fail(param + ".name", "required: a non-empty name of the deployment (recorded in the snapshot)")
    result = {"name": name, "nb": None, "sb": None, "local_config": None, "chassis": None, "kube_ovn": None,
              "ovs_ovn": None, "chassis_hosts": None}
    for key, _database in DATABASES:
        if deployment.get(key) is not None:
            result[key] = _database_part(deployment[key], "%s.%s" % (param, key))
    local = deployment.get("local_config")
    if local is not None:
        where = param + ".local_config"
        if not isinstance(local, dict):
            _fail(where, "expected a dictionary with remotes (one Local_Config database per member)")
        _unknown_keys(local, ("remotes",), where)
        remotes = local.get("remotes")
        if not isinstance(remotes, (list, tuple)) or not remotes:
            _fail(where + ".remotes", "expected a non-empty list, one remote per member's Local_Config"
                  " database (e.g. tcp:127.0.0.1:6645)")
        seen = []
        for index, remote in enumerate(remotes):
            remote = _single_remote(remote, "%s.remotes[%d]" % (where, index))
            if remote in seen:
                _fail("%s.remotes[%d]" % (where, index), "%s is listed twice" % remote)
            seen.append(remote)
        result["local_config"] = {"remotes": seen}
    chassis = deployment.get("chassis")
    if chassis is not None:
        where = param + ".chassis"
        if not isinstance(chassis, (list, tuple)):
            _fail(where, "expected a list of {name, remote}, one per hypervisor's local Open_vSwitch database")
        names = []
        items = []
        for index, item in enumerate(chassis):
            here = "%s[%d]" % (where, index)
            if not isinstance(item, dict):
                _fail(here, "expected a dictionary with name and remote, got %r" % (item,))
            _unknown_keys(item, CHASSIS_KEYS, here)
            chassis_name = item.get("name")
            if not isinstance(chassis_name, str) or not chassis_name.strip():
                _fail(here + ".name", "required: the chassis' name (the key it is recorded under)")
            if chassis_name in names:
                _fail(here + ".name", "%r is listed twice" % chassis_name)
            names.append(chassis_name)
            items.append({"name": chassis_name,
                          "remote": _single_remote(item.get("remote"), here + ".remote")})
        result["chassis"] = items
    hosts = deployment.get("chassis_hosts")
    if hosts:
        where = param + ".chassis_hosts"
        twice = sorted(set(h for h in hosts if list(hosts).count(h) > 1))
        if twice:
            _fail(where, "each chassis host once; listed twice: %s" % ", ".join(twice))
        both = sorted(set(hosts) & set(item["name"] for item in result["chassis"] or []))
        if both:
            _fail(where, "%s also named in %s.chassis; a chassis is reached either on its host or by its"
                  " remote" % (", ".join(both), param))
        result["chassis_hosts"] = list(hosts)
    kube = deployment.get("kube_ovn")
    if kube is not None:
        where = param + ".kube_ovn"
        if not isinstance(kube, dict):
            _fail(where, "expected a dictionary (kubeconfig, context, namespace, name, container)")
        _unknown_keys(kube, KUBE_OVN_KEYS, where)
        normalised = dict((key, kube.get(key)) for key in KUBE_OVN_AUTH_KEYS)
        if normalised.get("request_timeout") is None:
            normalised["request_timeout"] = 30.0
        for key, default in KUBE_OVN_DEFAULTS.items():
            value = kube.get(key)
            if value is None:
                value = default
            if not isinstance(value, str) or not value.strip():
                _fail("%s.%s" % (where, key), "must be a non-empty string, got %r" % (value,))
            normalised[key] = value
        result["kube_ovn"] = normalised
        result["ovs_ovn"] = _ovs_ovn_part(kube.get("ovs_ovn"), normalised, where + ".ovs_ovn")
    if not any(result[key] for key in DESCRIPTOR_KEYS + ("chassis_hosts",) if key != "name"):
        _fail(param, "name at least one part to snapshot: nb, sb, local_config, chassis or kube_ovn")
    return result


def _ovs_ovn_part(part, kube, where):
    """kube-ovn's ovs-ovn DaemonSet (same namespace and credentials as ovn-central), or None when
    ``manage`` is false."""
    part = {} if part is None else part
    if not isinstance(part, dict):
        _fail(where, "expected a dictionary (manage, name, container, allow_restart), got %r" % (part,))
    _unknown_keys(part, OVS_OVN_KEYS, where)
    for key in ("manage", "allow_restart"):
        if part.get(key) is not None and not isinstance(part[key], bool):
            _fail("%s.%s" % (where, key), "expected true or false, got %r" % (part[key],))
    if part.get("manage") is False:
        return None
    result = {"namespace": kube["namespace"], "allow_restart": bool(part.get("allow_restart"))}
    for key, default in OVS_OVN_DEFAULTS.items():
        value = part.get(key)
        if value is None:
            value = default
        if not isinstance(value, str) or not value.strip():
            _fail("%s.%s" % (where, key), "must be a non-empty string, got %r" % (value,))
        result[key] = value
    return result


def _kube_label(key, part):
    return "%s[%s/%s/%s]" % (key, part["namespace"], part["name"], part["container"])


def descriptor_shape(descriptor, given_timers=()):
    """The parts a snapshot of ``descriptor`` holds, as sorted labels (``given_timers``: the
    databases whose election timer the caller read and gives)."""
    shape = []
    for key, _database in DATABASES:
        part = descriptor.get(key)
        if part:
            shape.append(key)
            if part.get("ctl_sockets") or key in given_timers:
                shape.append(key + ".election_timer")
    for remote in (descriptor.get("local_config") or {}).get("remotes", []):
        shape.append("local_config[%s]" % remote)
    for item in descriptor.get("chassis") or []:
        shape.append("chassis[%s]" % item["name"])
    for name in descriptor.get("chassis_hosts") or []:
        shape.append("chassis[%s]" % name)
    for key, _workload in KUBE_PARTS:
        if descriptor.get(key):
            shape.append(_kube_label(key, descriptor[key]))
    return sorted(shape)


def tunables_shape(tunables_doc):
    """The parts a snapshot's ``tunables`` holds, labelled as :func:`descriptor_shape` does."""
    shape = []
    for key, _database in DATABASES:
        part = tunables_doc.get(key)
        if part is not None:
            shape.append(key)
            if "election_timer" in part:
                shape.append(key + ".election_timer")
    for remote in tunables_doc.get("local_config") or {}:
        shape.append("local_config[%s]" % remote)
    for name in tunables_doc.get("chassis") or {}:
        shape.append("chassis[%s]" % name)
    for key, _workload in KUBE_PARTS:
        if tunables_doc.get(key) is not None:
            shape.append(_kube_label(key, tunables_doc[key]))
    return sorted(shape)


def older_than_ovs_ovn(document, descriptor):
    """A snapshot of kube-ovn taken before the ovs-ovn DaemonSet was recorded (collection 0.1.0): it
    restores what it holds and leaves the DaemonSet as it is."""
    tunables_doc = document.get("tunables") or {}
    return bool(descriptor.get("ovs_ovn")) and "kube_ovn" in tunables_doc and "ovs_ovn" not in tunables_doc


def shape_differences(document, descriptor, given_timers=()):
    """Sentences saying how the snapshot and the descriptor differ in what they cover (empty: same shape)."""
    problems = []
    if document.get("deployment") != descriptor["name"]:
        problems.append("the snapshot is of deployment %r, the descriptor names %r"
                        % (document.get("deployment"), descriptor["name"]))
    in_snapshot = set(tunables_shape(document["tunables"]))
    in_descriptor = set(descriptor_shape(descriptor, given_timers))
    if older_than_ovs_ovn(document, descriptor):
        in_descriptor.discard(_kube_label("ovs_ovn", descriptor["ovs_ovn"]))
    only_snapshot = sorted(in_snapshot - in_descriptor)
    only_descriptor = sorted(in_descriptor - in_snapshot)
    if only_snapshot:
        problems.append("the snapshot holds %s, which the descriptor lacks" % ", ".join(only_snapshot))
    if only_descriptor:
        problems.append("the descriptor has %s, which the snapshot does not hold" % ", ".join(only_descriptor))
    return problems


# --------------------------------------------------------------------------- documents

def canonical_json(value):
    """The one serialisation checksums are computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def checksum_of(document):
    """sha256 (hex) of the canonical JSON of ``document`` without its ``checksum`` key."""
    content = dict((k, v) for k, v in document.items() if k != "checksum")
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


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


def _check_type(value, types, where, expected):
    if not isinstance(types, tuple):
        types = (types,)
    if isinstance(value, bool) and bool not in types:
        raise SnapshotError("%s: expected %s, got %r" % (where, expected, value))
    if not isinstance(value, types):
        raise SnapshotError("%s: expected %s, got %r" % (where, expected, value))


def _check_string_map(value, where, allow_null):
    _check_type(value, dict, where, "a dictionary of strings")
    for key, item in value.items():
        if item is None and allow_null:
            continue
        _check_type(item, str, "%s.%s" % (where, key), "a string" + (" or null" if allow_null else ""))


def _check_rows(rows, where):
    _check_type(rows, list, where, "a list of Connection rows")
    targets = []
    for index, row in enumerate(rows):
        here = "%s[%d]" % (where, index)
        _check_type(row, dict, here, "a Connection row")
        unknown = sorted(set(row) - set(CAPTURED_COLUMNS))
        if unknown:
            raise SnapshotError("%s: unknown column %s" % (here, unknown[0]))
        _check_type(row.get("target"), str, here + ".target", "a target string")
        if row["target"] in targets:
            raise SnapshotError("%s.target: %s appears twice" % (here, row["target"]))
        targets.append(row["target"])
        for column in tunables.CONNECTION_PROBE_COLUMNS:
            if row.get(column) is not None:
                _check_type(row[column], int, "%s.%s" % (here, column), "an integer or null")
        if "read_only" in row:
            _check_type(row["read_only"], bool, here + ".read_only", "true or false")
        if "role" in row:
            _check_type(row["role"], str, here + ".role", "a string")
        if "other_config" in row:
            _check_string_map(row["other_config"], here + ".other_config", allow_null=False)


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
    _check_type(document.get("deployment"), str, "deployment", "the deployment name")
    tunables_doc = document.get("tunables")
    _check_type(tunables_doc, dict, "tunables", "a dictionary")
    unknown = sorted(set(tunables_doc) - set(("nb", "sb", "local_config", "chassis", "kube_ovn", "ovs_ovn")))
    if unknown:
        raise SnapshotError("tunables.%s: unknown part" % unknown[0])
    for key, database in DATABASES:
        part = tunables_doc.get(key)
        if part is None:
            continue
        where = "tunables." + key
        _check_type(part, dict, where, "a dictionary")
        _check_rows(part.get("connections"), where + ".connections")
        options = part.get("options")
        _check_string_map(options, where + ".options", allow_null=True)
        if sorted(options) != option_keys(database):
            raise SnapshotError("%s.options: records keys %s; schema_version %d records exactly %s"
                                % (where, ", ".join(sorted(options)) or "none", SCHEMA_VERSION,
                                   ", ".join(option_keys(database))))
        if "election_timer" in part:
            _check_type(part["election_timer"], int, where + ".election_timer", "an integer (ms)")
    for remote, part in (tunables_doc.get("local_config") or {}).items():
        where = "tunables.local_config[%s]" % remote
        _check_type(part, dict, where, "a dictionary")
        _check_rows(part.get("connections"), where + ".connections")
    for name, part in (tunables_doc.get("chassis") or {}).items():
        where = "tunables.chassis[%s]" % name
        _check_type(part, dict, where, "a dictionary")
        _check_string_map(part.get("external_ids"), where + ".external_ids", allow_null=True)
        extra = sorted(set(part["external_ids"]) - set(chassis_keys()))
        if not set(chassis_keys()) <= set(part["external_ids"]) or any(
                not chassis_probe.probe_key_of(key) for key in extra):
            raise SnapshotError("%s.external_ids: records keys %s; expected %s and per-chassis keys"
                                " (KEY-<system-id>) of them"
                                % (where, ", ".join(sorted(part["external_ids"])), ", ".join(chassis_keys())))
    for part_key, _workload in KUBE_PARTS:
        kube = tunables_doc.get(part_key)
        if kube is None:
            continue
        where = "tunables." + part_key
        _check_type(kube, dict, where, "a dictionary")
        for key in KUBE_OVN_DEFAULTS:
            _check_type(kube.get(key), str, "%s.%s" % (where, key), "a string")
        env = kube.get("env")
        _check_type(env, dict, where + ".env", "a dictionary")
        for name, value in env.items():
            if value is None or isinstance(value, str):
                continue
            if isinstance(value, dict) and list(value) == ["valueFrom"] and isinstance(value["valueFrom"], dict):
                continue
            raise SnapshotError("%s.env.%s: expected a string, {valueFrom: ...} or null, got %r"
                                % (where, name, value))
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
    data = serialise(document)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                             dir=directory)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise SnapshotError("path: %s appeared while the snapshot was taken and force is false;"
                                        " nothing was written" % path)
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                # A file system without hard links: the check before reading has to do.
                if os.path.lexists(path):
                    raise SnapshotError("path: %s appeared while the snapshot was taken and force is"
                                        " false; nothing was written" % path)
                os.rename(temporary, path)
        _fsync_directory(directory)
    except (IOError, OSError) as exc:
        raise SnapshotError("path: cannot write %s: %s" % (path, exc.strerror or exc))
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


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


# --------------------------------------------------------------------------- differences

def _rows_by_target(rows):
    return dict((row["target"], dict((k, v) for k, v in row.items() if k != "target")) for row in rows)


def flatten(tunables_doc):
    """``{label: value}`` of every recorded value; a Connection row is one value (its columns)."""
    flat = {}
    for key, _database in DATABASES:
        part = tunables_doc.get(key)
        if part is None:
            continue
        for target, row in _rows_by_target(part["connections"]).items():
            flat["%s.connections[%s]" % (key, target)] = row
        for option, value in part["options"].items():
            flat["%s.options.%s" % (key, option)] = value
        if "election_timer" in part:
            flat["%s.election_timer" % key] = part["election_timer"]
    for remote, part in (tunables_doc.get("local_config") or {}).items():
        for target, row in _rows_by_target(part["connections"]).items():
            flat["local_config[%s].connections[%s]" % (remote, target)] = row
    for name, part in (tunables_doc.get("chassis") or {}).items():
        for external_id, value in part["external_ids"].items():
            flat["chassis[%s].external_ids.%s" % (name, external_id)] = value
    for key, _workload in KUBE_PARTS:
        if tunables_doc.get(key) is not None:
            for variable, value in tunables_doc[key]["env"].items():
                flat["%s.env.%s" % (key, variable)] = value
    return flat


_ABSENT = object()


def _show(value):
    if value is _ABSENT or value is None:
        return "absent"
    return canonical_json(value)


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


# --------------------------------------------------------------------------- restore plans (pure)

def captured_row(row, columns):
    """The recorded columns of a Connection row (as read_connections returns it)."""
    return dict((column, copy.deepcopy(row[column])) for column in CAPTURED_COLUMNS
                if column in row and column in columns)


def desired_rows(snapshot_rows):
    """The snapshot's rows as connection_rows.plan takes them (every column recorded is set)."""
    return [{"target": row["target"], "state": "present",
             "settings": dict((k, copy.deepcopy(v)) for k, v in row.items() if k != "target")}
            for row in snapshot_rows]


def plan_connections(current_rows, snapshot_rows, columns):
    """connection_rows.plan to exactly the snapshot's rows (others removed)."""
    return connection_rows.plan(current_rows, desired_rows(snapshot_rows), exclusive=True,
                                columns=columns)


def summarise_connections(changes):
    return {"create": [c["target"] for c in changes["create"]],
            "update": [{"target": u["target"], "set": u["set"]} for u in changes["update"]],
            "delete": [d["target"] for d in changes["delete"]]}


def plan_restore(live, snapshot, copied=()):
    """What a restore changes, part by part (pure, from two ``tunables`` documents of the same shape).

    Returns ``{"changed": bool, "parts": {label: change}}`` where only parts with
    a change appear: ``nb``/``sb`` (``connections``, ``options``, ``election_timer``),
    ``local_config[REMOTE]``, ``chassis[NAME]`` and ``kube_ovn``.  The options of the
    databases in ``copied`` (``sb`` while ovn-northd copies NB_Global.options into
    SB_Global.options) are not planned: restoring the other database's options restores them.
    """
    parts = {}
    for key, _database in DATABASES:
        if snapshot.get(key) is None:
            continue
        want, have = snapshot[key], live[key]
        change = {}
        columns = sorted(set(c for row in want["connections"] + have["connections"] for c in row))
        rows = plan_connections([dict(row, _uuid=row["target"]) for row in have["connections"]],
                                want["connections"], columns)
        if rows["changed"]:
            change["connections"] = summarise_connections(rows)
        options = global_options.plan(dict((k, v) for k, v in have["options"].items() if v is not None),
                                      want["options"])
        if options["changed"] and key not in copied:
            change["options"] = {"set": options["set"], "remove": options["remove"]}
        if "election_timer" in want and have.get("election_timer") != want["election_timer"]:
            change["election_timer"] = {
                "before": have.get("election_timer"), "after": want["election_timer"],
                "steps": election_timer.plan_steps(have["election_timer"], want["election_timer"])
                if have.get("election_timer") else [want["election_timer"]]}
        if change:
            parts[key] = change
    for remote, want in (snapshot.get("local_config") or {}).items():
        have = live["local_config"][remote]
        columns = sorted(set(c for row in want["connections"] + have["connections"] for c in row))
        rows = plan_connections([dict(row, _uuid=row["target"]) for row in have["connections"]],
                                want["connections"], columns)
        if rows["changed"]:
            parts["local_config[%s]" % remote] = {"connections": summarise_connections(rows)}
    for name, want in (snapshot.get("chassis") or {}).items():
        if name not in (live.get("chassis") or {}):
            continue
        have = dict((k, v) for k, v in live["chassis"][name]["external_ids"].items() if v is not None)
        keys = chassis_probe.plan(have, want["external_ids"])
        if keys["changed"]:
            parts["chassis[%s]" % name] = {"external_ids": {"set": keys["set"], "remove": keys["remove"]}}
    for key, _workload in KUBE_PARTS:
        if snapshot.get(key) is None:
            continue
        want, have = snapshot[key]["env"], live[key]["env"]
        env = [{"name": name, "before": have.get(name), "after": want[name]}
               for name in sorted(want) if have.get(name) != want[name]]
        if env:
            parts[key] = {"env": env}
    return {"changed": bool(parts), "parts": parts}


# --------------------------------------------------------------------------- the live deployment

def _sources_of(descriptor):
    sources = {}
    for key, _database in DATABASES:
        if descriptor.get(key):
            sources[key] = {"remote": descriptor[key]["remote"],
                            "ctl_sockets": list(descriptor[key]["ctl_sockets"])}
    if descriptor.get("local_config"):
        sources["local_config"] = list(descriptor["local_config"]["remotes"])
    if descriptor.get("chassis") or descriptor.get("chassis_hosts"):
        sources["chassis"] = dict((c["name"], c["remote"]) for c in descriptor.get("chassis") or [])
        sources["chassis"].update((name, CHASSIS_HOST_SOURCE) for name in descriptor.get("chassis_hosts") or [])
    for key, _workload in KUBE_PARTS:
        if descriptor.get(key):
            sources[key] = dict((name, descriptor[key][name]) for name in ("namespace", "name", "container"))
    return sources


class DeploymentSession(object):
    """Connections to every part of one deployment for one module run.

    ``params`` holds the shared client options (timeout, leader_only, TLS,
    backoff, client_probe_interval); ``warn`` receives sentences for the operator.
    Nothing is contacted before :meth:`validate` has checked every option.
    """

    def __init__(self, descriptor, params, warn=None, given_timers=None, given_chassis=None):
        self.descriptor = descriptor
        self.params = params
        self.warn = warn or (lambda text: None)
        self.clients = {}
        self.k8s = None
        self.sources = _sources_of(descriptor)
        self.copied = set()  # databases whose options map is ovn-northd's copy of the other's
        # Election timers the caller read on the central hosts (no ctl_sockets here): recorded as
        # given, and on restore left to the caller to walk through the leader's host.
        self.given_timers = dict(given_timers or {})
        for key in self.given_timers:
            if key in self.sources:
                self.sources[key]["election_timer"] = "given (read on the central hosts)"
        # The probe keys of each chassis host (descriptor chassis_hosts), read there by the caller;
        # None: not given (a restore then hands every recorded chassis back to the caller).
        self.given_chassis = given_chassis

    # -- checks before any contact
    def _params_for(self, remote):
        return dict(self.params, remote=remote)

    def validate(self):
        for key, database in DATABASES:
            part = self.descriptor.get(key)
            if part:
                validate_connection_params(self._params_for(part["remote"]), database)
                if part["ctl_sockets"]:
                    election_timer.validate_ctl_sockets(part["ctl_sockets"],
                                                        "deployment.%s.ctl_sockets" % key)
        for remote in (self.descriptor.get("local_config") or {}).get("remotes", []):
            validate_connection_params(self._params_for(remote), LOCAL_CONFIG)
        for item in self.descriptor.get("chassis") or []:
            validate_connection_params(self._params_for(item["remote"]), chassis_probe.DATABASE)
        kube = self.descriptor.get("kube_ovn")
        if kube:
            try:
                k8s_client.validate_auth_params(kube)
            except k8s_client.K8sError as exc:
                raise SnapshotError("deployment.kube_ovn.%s" % exc)

    # -- connections
    def _client(self, label, remote, database, tables, leader_only=None):
        client = self.clients.get(label)
        if client is not None and not client.is_connected():
            # Dropped while idle (a long election timer walk): read and write on a fresh connection.
            client.close()
            client = None
        if client is None:
            client = client_from_params(self._params_for(remote), database, tables, leader_only=leader_only)
            try:
                client.connect()
            except OvsdbError as exc:
                raise SnapshotError("deployment.%s: %s" % (label, exc))
            self.clients[label] = client
        return client

    def database_client(self, key):
        database = DATABASE_OF[key]
        table = connection_rows.global_table(database)
        tables = {table: ["connections", global_options.OPTIONS_COLUMN],
                  connection_rows.CONNECTION_TABLE: list(connection_rows.CONNECTION_COLUMNS)}
        return self._client(key, self.descriptor[key]["remote"], database, tables)

    def local_config_client(self, remote):
        tables = {connection_rows.global_table(LOCAL_CONFIG): ["connections"],
                  connection_rows.CONNECTION_TABLE: list(connection_rows.CONNECTION_COLUMNS)}
        return self._client("local_config[%s]" % remote, remote, LOCAL_CONFIG, tables, leader_only=False)

    def chassis_client(self, item):
        tables = {chassis_probe.TABLE: [chassis_probe.COLUMN]}
        return self._client("chassis[%s]" % item["name"], item["remote"], chassis_probe.DATABASE, tables,
                            leader_only=False)

    def k8s_client(self):
        if self.k8s is None:
            try:
                self.k8s = k8s_client.K8sClient.from_params(self.descriptor["kube_ovn"])
            except k8s_client.K8sError as exc:
                raise SnapshotError("deployment.kube_ovn: %s" % exc)
        return self.k8s

    def close(self):
        for client in self.clients.values():
            client.close()
        self.clients = {}
        if self.k8s is not None:
            self.k8s.close()
            self.k8s = None

    # -- reading
    @staticmethod
    def _columns(client):
        monitored = client.monitored().get(connection_rows.CONNECTION_TABLE, ())
        return [c for c in connection_rows.CONNECTION_COLUMNS if c in monitored]

    def _read_rows(self, client, database):
        columns = self._columns(client)
        _global, rows = connection_rows.read_connections(client, database)
        return [captured_row(row, columns) for row in rows]

    def read_database(self, key):
        database = DATABASE_OF[key]
        client = self.database_client(key)
        client.refresh()
        self.sources[key]["server"] = client.remote
        _row, options = global_options.read_options(client, database)
        if is_northd_copy(database, options):
            self.copied.add(key)
            self.sources[key]["options_copied_by_northd"] = True
        part = {"connections": self._read_rows(client, database),
                "options": dict((k, options.get(k)) for k in option_keys(database))}
        sockets = self.descriptor[key]["ctl_sockets"]
        if sockets:
            part["election_timer"] = self.read_election_timer(key, sockets)
        elif key in self.given_timers:
            part["election_timer"] = self.given_timers[key]
        return part

    def _timer_walk(self, key, sockets, target_ms):
        return election_timer.ElectionTimerChange(sockets, DATABASE_OF[key], target_ms, self.params["timeout"],
                                                  warn=self.warn)

    def read_election_timer(self, key, sockets):
        walk = self._timer_walk(key, sockets, 0)
        try:
            statuses = walk.read_all()
            path, status = walk.wait_for_leader(statuses)
        except OvsdbError as exc:
            raise SnapshotError("deployment.%s.ctl_sockets: %s" % (key, exc))
        if status.get("election_timer_pending") is not None:
            self.warn("%s: an election timer change from %d to %d ms was pending on leader %s; the committed"
                      " %d ms is recorded" % (DATABASE_OF[key], status["election_timer"],
                                              status["election_timer_pending"], path, status["election_timer"]))
        return status["election_timer"]

    def read_local_config(self, remote):
        client = self.local_config_client(remote)
        client.refresh()
        return {"connections": self._read_rows(client, LOCAL_CONFIG)}

    def read_chassis(self, item):
        client = self.chassis_client(item)
        client.refresh()
        try:
            _row, external_ids = chassis_probe.read(client)
        except OvsdbError as exc:
            raise SnapshotError("deployment.chassis[%s]: %s" % (item["name"], exc))
        return {"external_ids": chassis_probe.recorded(chassis_probe.managed(external_ids))}

    def _kube_target(self, key):
        part = self.descriptor[key]
        kind = tunables.K8S_WORKLOADS[dict(KUBE_PARTS)[key]]["kind"]
        return kind, part["namespace"], part["name"], part["container"]

    def read_workload_env(self, key):
        """The recorded env of one kube-ovn workload (``kube_ovn``: ovn-central, ``ovs_ovn``: ovs-ovn)."""
        kind, namespace, name, container_name = self._kube_target(key)
        label = "deployment.kube_ovn" + ("" if key == "kube_ovn" else ".ovs_ovn")
        try:
            client = self.k8s_client()
            obj = client.read(kind, namespace, name)
            container = k8s_client.find_container(obj, container_name)
        except k8s_client.K8sError as exc:
            raise SnapshotError("%s: %s" % (label, exc))
        self.sources[key]["host"] = client.host
        env = k8s_client.env_to_dict(container.get("env"))
        return {"namespace": namespace, "name": name, "container": container_name,
                "env": dict((variable, copy.deepcopy(env.get(variable)))
                            for variable in env_names(dict(KUBE_PARTS)[key]))}

    def read(self):
        """The live ``tunables`` document of the deployment (every part the descriptor has)."""
        live = {}
        for key, _database in DATABASES:
            if self.descriptor.get(key):
                live[key] = self.read_database(key)
        if self.descriptor.get("local_config"):
            live["local_config"] = dict((remote, self.read_local_config(remote))
                                        for remote in self.descriptor["local_config"]["remotes"])
        if self.descriptor.get("chassis"):
            live["chassis"] = dict((item["name"], self.read_chassis(item)) for item in self.descriptor["chassis"])
        if self.descriptor.get("chassis_hosts") and self.given_chassis is not None:
            live.setdefault("chassis", {}).update(
                (name, {"external_ids": chassis_probe.recorded(self.given_chassis[name])})
                for name in self.descriptor["chassis_hosts"])
        for key, _workload in KUBE_PARTS:
            if self.descriptor.get(key):
                live[key] = self.read_workload_env(key)
        return live

    def wait_for_copies(self, snapshot):
        """After a restore, wait (up to ``timeout``) until ovn-northd has copied the restored
        NB_Global.options into each copied database's options."""
        for key in sorted(self.copied):
            database = DATABASE_OF[key]
            deadline = Deadline(self.params["timeout"], "ovn-northd copying the options into %s" % database)
            while True:
                client = self.database_client(key)
                client.refresh()
                _row, options = global_options.read_options(client, database)
                current = dict((k, options.get(k)) for k in option_keys(database))
                if current == snapshot[key]["options"]:
                    break
                if deadline.expired():
                    raise SnapshotError(
                        "%s.options: ovn-northd did not copy the restored NB_Global.options into %s.options"
                        " within %.0f s (still %s, snapshot %s); is ovn-northd running and active?"
                        % (key, global_options.global_table(database), deadline.seconds,
                           canonical_json(current), canonical_json(snapshot[key]["options"])))
                sleep_until(deadline, 0.1)

    # -- writing
    def _transact(self, label, client, build):
        try:
            client.transact(build, comment="kubedc.ovn_tuning.ovn_tuning_snapshot restore %s" % label)
        except OvsdbError as exc:
            raise SnapshotError("%s: %s" % (label, exc))

    def restore_database(self, key, want):
        """Connection rows and probe options of one database, in one transaction."""
        database = DATABASE_OF[key]
        client = self.database_client(key)
        table = connection_rows.global_table(database)
        columns = self._columns(client)
        missing = sorted(set(c for row in want["connections"] for c in row) - set(columns))
        if missing:
            raise SnapshotError("%s: the snapshot records Connection.%s, which the %s schema served at %s lacks"
                                % (key, ", ".join(missing), database, client.remote))

        def build(txn, ovsdb):
            global_row, rows = connection_rows.read_connections(ovsdb, database)
            _row, options = global_options.read_options(ovsdb, database)
            row_changes = plan_connections(rows, want["connections"], columns)
            option_changes = global_options.plan(options, {} if key in self.copied else want["options"])
            if global_row is None and (row_changes["changed"] or option_changes["changed"]):
                raise SnapshotError("%s: %s has no row (the database was never initialised); nothing of it"
                                    " was restored" % (key, table))
            wrote_rows = connection_rows.apply(txn, ovsdb, row_changes, database)
            wrote_options = global_options.apply(txn, ovsdb, option_changes, database)
            return wrote_rows or wrote_options

        self._transact(key, client, build)

    def restore_local_config(self, remote, want):
        label = "local_config[%s]" % remote
        client = self.local_config_client(remote)
        columns = self._columns(client)

        def build(txn, ovsdb):
            global_row, rows = connection_rows.read_connections(ovsdb, LOCAL_CONFIG)
            changes = plan_connections(rows, want["connections"], columns)
            if global_row is None and changes["delete"]:
                raise SnapshotError("%s: Config has no row; nothing was restored" % label)
            return connection_rows.apply(txn, ovsdb, changes, LOCAL_CONFIG)

        self._transact(label, client, build)

    def restore_chassis(self, item, want):
        label = "chassis[%s]" % item["name"]
        client = self.chassis_client(item)

        def build(_txn, ovsdb):
            row, external_ids = chassis_probe.read(ovsdb)
            return chassis_probe.apply(row, chassis_probe.plan(external_ids, want["external_ids"]))

        self._transact(label, client, build)

    def restore_election_timer(self, key, target_ms, check_mode):
        walk = self._timer_walk(key, self.descriptor[key]["ctl_sockets"], target_ms)
        try:
            return walk.run(check_mode=check_mode)
        except OvsdbError as exc:
            raise SnapshotError("%s.election_timer: %s" % (key, exc))

    def _env_plan(self, key, want_env):
        _kind, _namespace, _name, container_name = self._kube_target(key)
        guard = key == "ovs_ovn" and not self.descriptor[key]["allow_restart"]

        def plan(obj):
            container = k8s_client.find_container(obj, container_name)
            new_env, changes = k8s_client.plan_env(container.get("env"), want_env)
            if not changes:
                return None, changes
            refusal = guard and k8s_env.restart_refusal(obj, changes, dict(KUBE_PARTS)[key])
            if refusal:
                raise SnapshotError("deployment.kube_ovn.ovs_ovn.%s" % refusal)
            return k8s_client.container_patch(obj, container_name, new_env), changes
        return plan

    def check_workload_env(self, key, want_env):
        """Refuse, before anything is written, an env restore that would restart every node's OVS."""
        kind, namespace, name, _container = self._kube_target(key)
        try:
            self.k8s_client().modify(kind, namespace, name, self._env_plan(key, want_env), check_mode=True)
        except k8s_client.K8sError as exc:
            raise SnapshotError("%s: %s" % (key, exc))

    def restore_workload_env(self, key, want_env, check_mode):
        kind, namespace, name, _container = self._kube_target(key)
        try:
            before, written, changes, _conflicts = self.k8s_client().modify(
                kind, namespace, name, self._env_plan(key, want_env), check_mode=check_mode)
        except k8s_client.K8sError as exc:
            raise SnapshotError("%s: %s" % (key, exc))
        if changes:
            self.warn(k8s_env.change_warnings(changes, before, check_mode, dict(KUBE_PARTS)[key])[-1])
        return k8s_client.revision_of(written if written is not None else before)

    def restore(self, snapshot, plan, check_mode):
        """Write what ``plan`` (from :func:`plan_restore`) says, part by part, the kube-ovn env last.

        Returns ``{label: extra facts}`` (election timer steps, Deployment revision).
        A failure names the parts already restored.
        """
        parts = plan["parts"]
        done = []
        facts = {}
        try:
            if "ovs_ovn" in parts:
                self.check_workload_env("ovs_ovn", snapshot["ovs_ovn"]["env"])
            if not check_mode:
                for key, _database in DATABASES:
                    if key in parts and set(parts[key]) - set(["election_timer"]):
                        self.restore_database(key, snapshot[key])
                        done.append(key)
                for remote in (snapshot.get("local_config") or {}):
                    label = "local_config[%s]" % remote
                    if label in parts:
                        self.restore_local_config(remote, snapshot["local_config"][remote])
                        done.append(label)
                for item in self.descriptor.get("chassis") or []:
                    label = "chassis[%s]" % item["name"]
                    if label in parts:
                        self.restore_chassis(item, snapshot["chassis"][item["name"]])
                        done.append(label)
            for key, _database in DATABASES:
                if "election_timer" in parts.get(key, {}) and key in self.given_timers:
                    # No socket here: the caller walks it through the leader's host.
                    facts[key + ".election_timer"] = {"left_to_caller": True,
                                                      "target": snapshot[key]["election_timer"]}
                elif "election_timer" in parts.get(key, {}):
                    result = self.restore_election_timer(key, snapshot[key]["election_timer"], check_mode)
                    facts[key + ".election_timer"] = {"steps": result["steps"], "leader": result["leader"]}
                    done.append(key + ".election_timer")
            # Last: the workloads' env (ovs-ovn's waits for its pods' next restart unless its
            # strategy restarts them; changing ovn-central's restarts the database pods).
            for key in ("ovs_ovn", "kube_ovn"):
                if key in parts:
                    facts[key] = {"revision": self.restore_workload_env(key, snapshot[key]["env"], check_mode)}
                    done.append(key)
        except OvsdbError as exc:
            already = ", ".join(done) if done and not check_mode else "nothing"
            raise SnapshotError("restore failed at %s; already restored: %s" % (exc, already))
        return facts
