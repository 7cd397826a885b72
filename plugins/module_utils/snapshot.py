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

Each part (a key of the descriptor and of ``tunables``) is one :class:`Part`
(snapshot_part.py) in :data:`PARTS`: snapshot_databases.py (``nb``, ``sb``,
``local_config``), snapshot_chassis.py, snapshot_kube.py (``kube_ovn``,
``ovs_ovn``). This file walks the parts: the descriptor's check and shape, the
restore plan, and :class:`DeploymentSession`, which holds the connections of one
module run and reads and restores the live deployment part by part. The document
itself (building, checksum, checks, files, differences) is snapshot_document.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.deployment import HOST_KEYS
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.k8s_client import K8sClient
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.k8s_workload import K8sError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import client_from_params
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_chassis import ChassisPart
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_databases import DatabasePart, LocalConfigPart
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_kube import WorkloadPart, kube_label
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_part import SnapshotError, fail

# The parts, in the order they are checked, read and written (ovn-central's env before
# ovs-ovn's in a descriptor: ovs-ovn's namespace and credentials are ovn-central's).
PARTS = (DatabasePart("nb", "OVN_Northbound"), DatabasePart("sb", "OVN_Southbound"), LocalConfigPart(),
         ChassisPart(), WorkloadPart("kube_ovn", "ovn-central"), WorkloadPart("ovs_ovn", "ovs-ovn"))
PART_OF = dict((part.key, part) for part in PARTS)
# Descriptor key -> clustered OVN database.
DATABASE_OF = dict((part.key, part.database) for part in PARTS if isinstance(part, DatabasePart))
# Last in a restore, ovs-ovn's env before ovn-central's: ovs-ovn's waits for its pods' next restart
# unless its strategy restarts them; changing ovn-central's restarts the database pods.
ENV_RESTORE_ORDER = (PART_OF["ovs_ovn"], PART_OF["kube_ovn"])


# --------------------------------------------------------------------------- the descriptor

def validate_deployment(deployment, param="deployment"):
    """Check the deployment descriptor and return it normalised (no contact with anything).

    ``deployment`` has passed the module's argument spec (types, required and unknown keys, each
    key's defaults); this checks what the spec cannot: empty strings, remote syntax, absolute
    socket paths, names given twice, and that something is to be snapshotted. Raises
    SnapshotError naming the bad key (``deployment.chassis[1].remote: ...``).
    """
    relays = deployment.get("sb_relays")
    if relays is not None and not (relays.get("remote") or "").strip():
        fail(param + ".sb_relays.remote", "expected the relays' remotes, comma separated")
    for key in HOST_KEYS:
        if not all((host or "").strip() for host in deployment.get(key) or []):
            fail("%s.%s" % (param, key), "expected a list of inventory host names, got %r" % (deployment[key],))
    name = deployment.get("name")
    if not (name or "").strip():
        fail(param + ".name", "required: a non-empty name of the deployment (recorded in the snapshot)")
    result = dict((part.key, None) for part in PARTS)
    result.update(name=name, chassis_hosts=None)
    for part in PARTS:
        part.check_descriptor(deployment, result, param)
    if not any(value for key, value in result.items() if key != "name"):
        fail(param, "name at least one part to snapshot: nb, sb, local_config, chassis or kube_ovn")
    return result


def descriptor_shape(descriptor, given_timers=()):
    """The parts a snapshot of ``descriptor`` holds, as sorted labels (``given_timers``: the
    databases whose election timer the caller read and gives)."""
    return sorted(label for part in PARTS for label in part.shape(descriptor, given_timers))


def tunables_shape(tunables_doc):
    """The parts a snapshot's ``tunables`` holds, labelled as :func:`descriptor_shape` does."""
    return sorted(label for part in PARTS if tunables_doc.get(part.key) is not None
                  for label in part.document_shape(tunables_doc[part.key]))


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
        in_descriptor.discard(kube_label("ovs_ovn", descriptor["ovs_ovn"]))
    only_snapshot = sorted(in_snapshot - in_descriptor)
    only_descriptor = sorted(in_descriptor - in_snapshot)
    if only_snapshot:
        problems.append("the snapshot holds %s, which the descriptor lacks" % ", ".join(only_snapshot))
    if only_descriptor:
        problems.append("the descriptor has %s, which the snapshot does not hold" % ", ".join(only_descriptor))
    return problems


# --------------------------------------------------------------------------- restore plans (pure)

def plan_restore(live, snapshot, copied=()):
    """What a restore changes, part by part (pure, from two ``tunables`` documents of the same shape).

    Returns ``{"changed": bool, "parts": {label: change}}`` where only parts with
    a change appear: ``nb``/``sb`` (``connections``, ``options``, ``election_timer``),
    ``local_config[REMOTE]``, ``chassis[NAME]``, ``kube_ovn`` and ``ovs_ovn``.  The options of the
    databases in ``copied`` (``sb`` while ovn-northd copies NB_Global.options into
    SB_Global.options) are not planned: restoring the other database's options restores them.
    """
    parts = {}
    for part in PARTS:
        if snapshot.get(part.key) is not None:
            parts.update(part.plan(live, snapshot[part.key], copied))
    return {"changed": bool(parts), "parts": parts}


# --------------------------------------------------------------------------- the live deployment

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
        self.sources = {}
        for part in PARTS:
            source = part.sources(descriptor)
            if source is not None:
                self.sources[part.key] = source
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
        # What the last restore wrote (labels) and what it could not (part and reason).
        self.restored = []
        self.not_restored = []

    def params_for(self, remote):
        return dict(self.params, remote=remote)

    def validate(self):
        """Check every part's client options before any contact."""
        for part in PARTS:
            part.validate_params(self)

    # -- connections
    def client(self, label, remote, database, tables, leader_only=None):
        """The connected OVSDB client of one part (``label``), opened on first use."""
        client = self.clients.get(label)
        if client is not None and not client.is_connected():
            # Dropped while idle (a long election timer walk): read and write on a fresh connection.
            client.close()
            client = None
        if client is None:
            client = client_from_params(self.params_for(remote), database, tables, leader_only=leader_only)
            try:
                client.connect()
            except OvsdbError as exc:
                raise SnapshotError("deployment.%s: %s" % (label, exc))
            self.clients[label] = client
        return client

    def k8s_client(self):
        if self.k8s is None:
            try:
                self.k8s = K8sClient.from_params(self.descriptor["kube_ovn"])
            except K8sError as exc:
                raise SnapshotError("deployment.kube_ovn: %s" % exc)
        return self.k8s

    def close(self):
        for client in self.clients.values():
            client.close()
        self.clients = {}
        if self.k8s is not None:
            self.k8s.close()
            self.k8s = None

    # -- reading and writing
    def read(self):
        """The live ``tunables`` document of the deployment (every part the descriptor has)."""
        live = {}
        for part in PARTS:
            part.read(self, live)
        return live

    def wait_for_copies(self, snapshot):
        """After a restore, wait (up to ``timeout``) until ovn-northd has copied the restored
        NB_Global.options into each copied database's options."""
        for key in sorted(self.copied):
            PART_OF[key].wait_for_copy(self, snapshot[key])

    def restore_item(self, label, work):
        """Write (in check mode: check) one item of a restore - ``label`` is ``nb``, ``sb``,
        ``local_config[REMOTE]``, ``chassis[NAME]``, ``nb.election_timer``, ``kube_ovn``... - by
        calling ``work()``. True when it was restored; a failure is recorded with its reason and the
        restore goes on with the other items: none of them depends on another's write."""
        try:
            work()
        except OvsdbError as exc:
            self.not_restored.append({"part": label, "reason": _reason(label, exc)})
            return False
        self.restored.append(label)
        return True

    def restore(self, snapshot, plan, check_mode):
        """Write what ``plan`` (from :func:`plan_restore`) says, part by part: rows and maps, then
        election timers, the kube-ovn env last.

        Returns ``{label: extra facts}`` (election timer steps, Deployment revision). A refusal
        (:meth:`Part.restore_check`) comes before anything is written. After that every item is
        restored that can be: one that fails (the rows of one database, a chassis, a timer) does not
        stop the others, and at the end :class:`RestoreIncomplete` lists what was restored and what
        was not, with the reasons - a rollback puts back all it can, not only what comes before the
        first failure.
        """
        parts = plan["parts"]
        facts = {}
        self.restored = []
        self.not_restored = []
        present = [part for part in PARTS if snapshot.get(part.key) is not None]
        try:
            for part in present:
                part.restore_check(self, snapshot[part.key], parts)
        except OvsdbError as exc:
            raise SnapshotError("%s; nothing was restored" % exc)

        def each(part, write):
            # An item's failure is recorded by restore_item; this catches one outside any item
            # (a part's own connection), charged to the whole part.
            try:
                write()
            except OvsdbError as exc:
                self.not_restored.append({"part": part.key, "reason": _reason(part.key, exc)})

        if not check_mode:
            for part in present:
                each(part, lambda: part.restore_rows(self, snapshot[part.key], parts))
        for part in present:
            each(part, lambda: part.restore_timer(self, snapshot[part.key], parts, check_mode, facts))
        for part in ENV_RESTORE_ORDER:
            if part in present:
                each(part, lambda: part.restore_env(self, snapshot[part.key], parts, check_mode, facts))
        if self.not_restored:
            raise RestoreIncomplete(self.restored, self.not_restored, check_mode)
        return facts


def _reason(label, exc):
    """An error's text without the item's label in front (the label is said next to it)."""
    text = str(exc)
    return text[len(label) + 2:] if text.startswith(label + ": ") else text


class RestoreIncomplete(SnapshotError):
    """A restore that wrote (or, in check mode, checked) some items and not others; ``restored``:
    their labels, ``not_restored``: ``{"part", "reason"}`` of each that failed."""

    def __init__(self, restored, not_restored, check_mode):
        failed = "; ".join("%s - %s" % (item["part"], item["reason"]) for item in not_restored)
        if check_mode:
            text = ("check mode: %d part(s) of the restore could not be checked, nothing was written: %s;"
                    " checked: %s" % (len(not_restored), failed, ", ".join(restored) or "nothing"))
        else:
            text = ("the restore did not restore every part: not restored: %s; restored: %s"
                    % (failed, ", ".join(restored) or "nothing"))
        super(RestoreIncomplete, self).__init__(text)
        self.restored = list(restored)
        self.not_restored = list(not_restored)
        self.check_mode = check_mode
