# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One rollout at a time per deployment, and what an interrupted one left behind.

Two records per deployment, kept where the other records are (``ovn_tuning_state_store``):

* the **lease** - which run works on the deployment now: taken before the run's snapshot, renewed
  with every journal entry, released when the run ends. A second run is refused while it is held.
  A lease whose run is gone is taken over: when it expired (``expires_at_epoch``), when its holder
  ran on this controller and its ansible-playbook process no longer exists, or when the operator
  breaks it (``break_lease``).
* the **journal** - what the last run did to the deployment: ``changing`` from the snapshot taken
  right before its change (the snapshot a rollback restores), ``gated`` once its gate passed,
  ``done`` when its part of the rollout finished, ``rolled_back`` / ``rollback_failed`` after a
  failure. A journal left ``changing`` or ``gated`` belongs to a run that died before it finished:
  the next run must soak and gate that change (or roll it back) before anything is promoted.

File store: ``STATE_DIR/leases/DEPLOYMENT.json`` and ``STATE_DIR/journal/DEPLOYMENT.json``; every
read-decide-write holds an exclusive ``flock`` of ``STATE_DIR/leases/DEPLOYMENT.lock``, so two runs on
one controller (or on a shared disk with working locks) cannot both take the lease.
Deployment store: the keys ``kubedc-ovn-tuning:lease:rollout`` and ``kubedc-ovn-tuning:journal:rollout``
of the deployment's ``NB_Global.external_ids``, written in a transaction that verifies the map it
decided on: a concurrent writer makes the commit retry, and the retry sees the other lease.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import socket
import time

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents, global_options, state_store, string_map

RECORD_NAME = "rollout"
LEASE_KIND = "kubedc.ovn_tuning/lease"
JOURNAL_KIND = "kubedc.ovn_tuning/journal"
# Journal statuses; a run that left one of UNFINISHED died before its change was judged.
STATUSES = ("changing", "gated", "done", "rolled_back", "rollback_failed")
UNFINISHED = ("changing", "gated")
# Processes whose argv names one of these are the run (the topmost one is ansible-playbook itself,
# the ones below it its forked workers, which carry the same argv).
_RUNNER_NAMES = ("ansible-playbook", "ansible")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class JournalError(ValueError):
    """The lease or journal cannot be read, taken or written; the text names what and why."""


class LeaseHeld(JournalError):
    """Another run holds the lease."""


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --------------------------------------------------------------------------- who runs

def _proc_stat(pid):
    """``(ppid, start time in clock ticks)`` of a process, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
    except (IOError, OSError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rfind(")") + 2:].split()
    return int(fields[1]), int(fields[19])


def _proc_argv(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except (IOError, OSError):
        return []


def _is_runner(argv):
    return any(os.path.basename(arg) in _RUNNER_NAMES for arg in argv[:3])


def current_run(pid=None):
    """The run this process belongs to: ``{"controller", "pid", "pid_start"}`` of the topmost
    ansible-playbook (or ansible) process above it - the same for every task of one run, and
    different for every run. Without one (not run by Ansible), the parent process."""
    pid = pid or os.getpid()
    found = None
    seen = 0
    current = _proc_stat(pid)
    parent = current[0] if current else None
    while parent and parent > 1 and seen < 64:
        seen += 1
        stat = _proc_stat(parent)
        if stat is None:
            break
        if _is_runner(_proc_argv(parent)):
            found = (parent, stat[1])
        elif found is not None:
            break
        parent = stat[0]
    if found is None:
        ppid = os.getppid()
        stat = _proc_stat(ppid)
        found = (ppid, stat[1] if stat else 0)
    return {"controller": socket.gethostname(), "pid": found[0], "pid_start": found[1]}


def run_id_of(run):
    return "%s:%d:%d" % (run["controller"], run["pid"], run["pid_start"])


def holder_alive(lease, controller):
    """False when the lease's run was on ``controller`` and its process is gone (or the pid now
    belongs to another process); True when it lives or cannot be judged from here."""
    if lease.get("controller") != controller or not lease.get("pid"):
        return True
    stat = _proc_stat(int(lease["pid"]))
    if stat is None:
        return False
    return lease.get("pid_start") in (None, stat[1])


# --------------------------------------------------------------------------- decisions (pure)

def describe_holder(lease):
    text = "run %s on controller %s (pid %s" % (lease.get("run_id"), lease.get("controller"), lease.get("pid"))
    if lease.get("job_id"):
        text += ", AWX job %s" % lease["job_id"]
    text += ") since %s" % lease.get("since")
    if lease.get("expires_at_epoch") is not None:
        text += ", lease until %s" % _iso(float(lease["expires_at_epoch"]))
    return text


def lease_decision(current, run_id, now, alive, break_lease=False):
    """What to do with the lease ``current`` (a record or None) for ``run_id``: ``("take", None)``,
    ``("renew", None)``, ``("take_over", why)`` or ``("refuse", why)``. ``alive`` says whether the
    holder's run may still be running (:func:`holder_alive`)."""
    if not current:
        return "take", None
    if current.get("run_id") == run_id:
        return "renew", None
    holder = describe_holder(current)
    if float(current.get("expires_at_epoch") or 0) <= now:
        return "take_over", "the lease of %s expired" % holder
    if not alive:
        return "take_over", "%s is gone (its process no longer runs on this controller)" % holder
    if break_lease:
        return "take_over", "the lease of %s was broken (break_lease)" % holder
    return "refuse", holder


def new_lease(deployment, run, run_id, job_id, ttl_seconds, now, since=None):
    return {"kind": LEASE_KIND, "deployment": deployment, "run_id": run_id,
            "controller": run["controller"], "pid": run["pid"], "pid_start": run["pid_start"],
            "job_id": job_id, "since": since or _iso(now), "renewed_at": _iso(now),
            "ttl_seconds": ttl_seconds, "expires_at_epoch": round(now + ttl_seconds, 3)}


def journal_entry(previous, deployment, run_id, entry, replace, now):
    """The journal after ``entry`` (status, phase, snapshot, checksum, ...) of ``run_id``:
    merged into the run's own journal, or a new one (``replace``, or another run's journal)."""
    status = entry.get("status")
    if status not in STATUSES:
        raise JournalError("journal.status: %r is not a journal status; use one of %s"
                           % (status, ", ".join(STATUSES)))
    base = {} if replace or not previous or previous.get("run_id") != run_id else dict(previous)
    journal = dict(base)
    journal.update(entry)
    journal.update({"kind": JOURNAL_KIND, "deployment": deployment, "run_id": run_id,
                    "updated_at": _iso(now), "updated_at_epoch": round(now, 3)})
    if status == "changing" and (replace or "changing_since" not in journal):
        journal["changing_since"] = _iso(now)
        journal["changing_since_epoch"] = round(now, 3)
    history = list(base.get("history") or [])
    history.append({"status": status, "at": _iso(now)})
    journal["history"] = history[-20:]
    return journal


def unfinished(journal):
    return bool(journal) and journal.get("status") in UNFINISHED


def describe_journal(journal):
    if not journal:
        return "no journal"
    text = "%s (run %s" % (journal.get("status"), journal.get("run_id"))
    if journal.get("phase"):
        text += ", %s" % journal["phase"]
    text += ")"
    if journal.get("changing_since"):
        text += ", changing since %s" % journal["changing_since"]
    if journal.get("snapshot"):
        text += ", snapshot before the change: %s" % journal["snapshot"]
    return text


def check_name(deployment):
    if not isinstance(deployment, str) or not _NAME_RE.match(deployment):
        raise JournalError("deployment: %r is not a deployment name; use 1-200 letters, digits, '.', '_' or '-'"
                           % (deployment,))
    return deployment


# --------------------------------------------------------------------------- the stores

def _make_directory(directory):
    """Create ``directory`` (mode 0700); another run creating it at the same moment is no error."""
    try:
        os.makedirs(directory, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(directory):
            raise


def _try_lock(handle):
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except (IOError, OSError) as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False


# Both stores offer ``transition(decide, check_mode)``: ``decide(lease, journal)`` returns the records to
# write (``{"lease": record or None to remove it, "journal": record}``; a key left out stays as it is).

class FileStore(object):
    """The lease and journal as files under the state directory, decided under an flock."""

    def __init__(self, state_dir, deployment, timeout=30.0):
        self.deployment = check_name(deployment)
        self.timeout = float(timeout)
        if not state_dir or not os.path.isabs(state_dir):
            raise JournalError("state_dir: %r is not an absolute path; give the state directory of the"
                               " rollout (ovn_tuning_state_dir)" % (state_dir,))
        self.lease_path = os.path.join(state_dir, "leases", deployment + ".json")
        self.journal_path = os.path.join(state_dir, "journal", deployment + ".json")
        self.lock_path = os.path.join(state_dir, "leases", deployment + ".lock")
        self.where = state_dir

    def _load(self, path):
        try:
            with open(path) as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise JournalError("%s: cannot be read (%s)" % (path, exc))
        try:
            return state_store.unseal(text, path)
        except state_store.StoreError as exc:
            raise JournalError("%s; remove the file by hand if it is damaged" % exc)

    def _put(self, path, record):
        if record is None:
            if os.path.lexists(path):
                os.unlink(path)
            return
        _make_directory(os.path.dirname(path))
        data = json.dumps(state_store.seal(record), indent=2, sort_keys=True) + "\n"
        documents.write_atomically(path, data.encode("utf-8"))

    def _lock(self, handle):
        """The exclusive lock, within ``timeout``: a holder that hangs (a stopped process, a stuck
        file system) fails this run instead of stalling it."""
        deadline = time.time() + self.timeout
        pause = 0.01
        while not _try_lock(handle):
            if time.time() >= deadline:
                raise JournalError("%s: another process held the lock for more than %.0f s (timeout); nothing was"
                                   " written" % (self.lock_path, self.timeout))
            time.sleep(min(pause, max(0.0, deadline - time.time())))
            pause = min(pause * 2, 0.2)

    def transition(self, decide, check_mode):
        if check_mode and not os.path.exists(os.path.dirname(self.lock_path)):
            return decide(None, self._load(self.journal_path))
        if check_mode:
            return decide(self._load(self.lease_path), self._load(self.journal_path))
        _make_directory(os.path.dirname(self.lock_path))
        with open(self.lock_path, "a") as lock:
            self._lock(lock)
            try:
                writes = decide(self._load(self.lease_path), self._load(self.journal_path))
                if "lease" in writes:
                    self._put(self.lease_path, writes["lease"])
                if "journal" in writes:
                    self._put(self.journal_path, writes["journal"])
                return writes
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


class DeploymentStore(object):
    """The lease and journal as keys of the deployment's global row, decided in a verified transaction."""

    LEASE_KEY = state_store.key_of("lease", RECORD_NAME)
    JOURNAL_KEY = state_store.key_of("journal", RECORD_NAME)

    def __init__(self, client, database, deployment):
        self.client = client
        self.database = database
        self.deployment = check_name(deployment)
        self.where = client.remote

    def _records(self, external_ids):
        out = []
        for key in (self.LEASE_KEY, self.JOURNAL_KEY):
            try:
                out.append(state_store.unseal(external_ids[key], key) if key in external_ids else None)
            except state_store.StoreError as exc:
                raise JournalError("%s; remove the key by hand if it is damaged" % exc)
        return out

    def transition(self, decide, check_mode):
        _row, current = state_store.read(self.client, self.database)
        if check_mode:
            return decide(*self._records(current))
        outcome = {}

        def build(_txn, ovsdb):
            row, external_ids = global_options.read_options(ovsdb, self.database, column=state_store.COLUMN)
            if row is None:
                raise JournalError("%s has no row (the database was never initialised); nothing was stored"
                                   % global_options.global_table(self.database))
            writes = decide(*self._records(external_ids))
            outcome.clear()
            outcome.update(writes)
            plan = {"set": {}, "remove": []}
            for name, key in (("lease", self.LEASE_KEY), ("journal", self.JOURNAL_KEY)):
                if name not in writes:
                    continue
                if writes[name] is None:
                    if key in external_ids:
                        plan["remove"].append(key)
                else:
                    plan["set"][key] = documents.canonical_json(state_store.seal(writes[name]))
            # Verified: another controller's lease written since this read makes the commit retry,
            # and the retry decides again on what it wrote.
            return string_map.apply(row, state_store.COLUMN, plan, verify=True)

        self.client.transact(build, comment="kubedc.ovn_tuning lease/journal of %s" % self.deployment)
        return outcome


class Decision(object):
    """What one run of ovn_tuning_journal decides over the lease and journal it finds (``decide``, given to
    a store's ``transition``): ``params`` the module's options, ``warn`` its warnings."""

    def __init__(self, params, check_mode, warn):
        self.params = params
        self.check_mode = check_mode
        self.warn = warn
        self.run = current_run()
        self.run_id = self.params["run_id"] or run_id_of(self.run)
        self.now = time.time()
        self.result = {"acquired": False, "held_by": None, "taken_over": None, "run_id": self.run_id}

    def _lease(self, current):
        """The lease this run holds after it takes or renews ``current``; raises LeaseHeld."""
        alive = current is None or holder_alive(current, self.run["controller"])
        action, why = lease_decision(current, self.run_id, self.now, alive, self.params["break_lease"])
        if action == "refuse":
            raise LeaseHeld(why)
        if action == "take_over":
            self.result["taken_over"] = why
        since = current.get("since") if action == "renew" else None
        return new_lease(self.params["deployment"], self.run, self.run_id, self.params["job_id"],
                         self.params["ttl_seconds"], self.now, since=since)

    def decide(self, lease, journal):
        state = self.params["state"]
        self.result.update(lease=lease, journal=journal)
        if state == "read":
            alive = lease is not None and holder_alive(lease, self.run["controller"])
            if lease and lease.get("run_id") != self.run_id and alive \
                    and float(lease.get("expires_at_epoch") or 0) > self.now:
                self.result["held_by"] = lease
            self.result["acquired"] = bool(lease) and lease.get("run_id") == self.run_id
            return {}
        if state == "released":
            if lease and lease.get("run_id") == self.run_id:
                self.result["lease"] = None
                return {"lease": None}
            return {}
        try:
            mine = self._lease(lease)
        except LeaseHeld as exc:
            if not self.check_mode:
                raise
            self.result["held_by"] = lease
            self.warn("%s: another rollout holds the lease: %s; a real run would be refused"
                      % (self.params["deployment"], exc))
            return {}
        self.result.update(lease=mine, acquired=True)
        writes = {"lease": mine}
        if state == "present":
            entry = journal_entry(journal, self.params["deployment"], self.run_id,
                                  self.params["journal"], self.params["journal_replace"], self.now)
            self.result["journal"] = entry
            writes["journal"] = entry
        return writes
