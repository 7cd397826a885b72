"""Fault injection for running labs: pause OVN clients and RAFT followers for a
few seconds, as garbage-collection pauses and CPU spikes do, or cut a central
host off the network for as long, and always resume (heal) them.

A fault plan is a list of `Fault`s computed from a seed (`plan_faults`), so
two measurement windows can be given exactly the same schedule.  `run_faults`
executes a plan against labs described by their lab.json (started with
`python -m ovnlab start` or a Lab with keep=True): it pauses with SIGSTOP,
resumes with SIGCONT, and in a `finally` resumes everything it paused, whatever
happened (an error, KeyboardInterrupt, a SIGTERM turned into an exception by
the caller).

Only processes recorded in a lab's lab.json are signalled, and each one only
while its pid still carries the recorded kernel start time (see
procs.ManagedProcess), so a recycled pid is never touched.

Targets:

- ``northd``: the lab's ovn-northd;
- ``controller``: ovn-controller of chassis ``index + 1``;
- ``nb-follower`` / ``sb-follower``: a member of the NB / SB cluster that is
  not the leader when the fault starts (``index`` picks among them in member
  order), so a plan never pauses a leader;
- ``partition``: a central host that leads neither cluster when the fault
  starts, its link taken down at the lab's bridge (both its members, and
  ovn-northd if it runs there, lose the network; nothing is paused).

A plan never pauses the same process, nor two members of the same cluster, at
the same time: pausing two of three members would take the cluster's quorum
away, which is an outage, not a hiccup.  A partition counts as a fault of
both clusters.
"""

import random
import time
from dataclasses import asdict, dataclass

from . import rpc
from .layout import DATABASES
from .hosts import set_bridge_port
from .procs import ManagedProcess
from .state import read_state
from .waiting import LabError

KINDS = ("northd", "controller", "nb-follower", "sb-follower", "partition")
MAX_FAULTS = 500


@dataclass(frozen=True)
class Fault:
    at: float        # seconds from the start of the run
    lab: str         # the lab's name
    kind: str        # one of KINDS
    index: int       # chassis index (controller) or rank among the followers
    seconds: float   # how long the process stays paused

    def slots(self):
        """What may not be faulted twice at once: the process, or for a
        follower the whole cluster, for a partition both clusters."""
        if self.kind == "partition":
            return {(self.lab, "nb-follower"), (self.lab, "sb-follower")}
        if self.kind.endswith("-follower"):
            return {(self.lab, self.kind)}
        return {(self.lab, self.kind, self.index)}


def plan_faults(labs, seed, window_seconds, pause_seconds=(8.0, 13.0),
                interval_seconds=(2.0, 5.0), settle_seconds=15.0, kinds=KINDS):
    """A deterministic fault plan for `window_seconds`.

    `labs` maps each lab name to its number of chassis.  A fault starts every
    `interval_seconds` (drawn uniformly), lasts `pause_seconds` (drawn
    uniformly) and targets a process chosen uniformly among those free at
    that moment.  Every pause ends at least `settle_seconds` before the end
    of the window, so what a pause sets off (a reconnection, an election) is
    seen within the window.  At most MAX_FAULTS faults.
    """
    shortest, longest = pause_seconds
    if not 0 < shortest <= longest:
        raise LabError(f"pause_seconds={pause_seconds!r}: need 0 < shortest <= longest")
    if not 0 < interval_seconds[0] <= interval_seconds[1]:
        raise LabError(f"interval_seconds={interval_seconds!r}: need 0 < shortest <= longest")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise LabError(f"kinds: unknown {sorted(unknown)}; accepted: {', '.join(KINDS)}")
    candidates = []
    for name in sorted(labs):
        for kind in kinds:
            if kind == "controller":
                candidates += [(name, kind, index) for index in range(labs[name])]
            else:
                candidates.append((name, kind, 0))
    if not candidates:
        raise LabError("no fault targets: give labs with northd, chassis or followers")

    rng = random.Random(seed)
    last_end = window_seconds - settle_seconds
    busy_until = {}
    plan = []
    at = rng.uniform(*interval_seconds) / 2
    while len(plan) < MAX_FAULTS and at + shortest <= last_end:
        seconds = round(min(rng.uniform(shortest, longest), last_end - at), 2)
        free = [c for c in candidates
                if all(busy_until.get(slot, -1.0) <= at
                       for slot in Fault(0, c[0], c[1], c[2], 0).slots())]
        if free:
            name, kind, index = free[rng.randrange(len(free))]
            if kind.endswith("-follower") or kind == "partition":
                index = rng.randrange(2)
            fault = Fault(round(at, 2), name, kind, index, seconds)
            plan.append(fault)
            for slot in fault.slots():
                busy_until[slot] = at + seconds
        at += rng.uniform(*interval_seconds)
    return plan


class LabTargets:
    """The processes of one lab, from its lab.json."""

    def __init__(self, state_dir):
        state = read_state(state_dir)
        self.state_dir = state_dir
        self.info = state["info"]
        self.name = self.info["name"]
        self.processes = {record["key"]: ManagedProcess.from_record(record)
                          for record in state["processes"]}

    def resolve(self, fault):
        """(key, target) for a fault, chosen now: a ManagedProcess, or for a
        partition a Partition (the same pause/resume interface)."""
        if fault.kind == "partition":
            host = self._quiet_central_host(fault.index)
            return f"{host['name']}/link", Partition(self.info["network"]["bridge_netns"], host)
        if fault.kind == "northd":
            key = "northd"
        elif fault.kind == "controller":
            key = f"chassis-{fault.index + 1}/controller"
        else:
            key = self._follower(fault.kind.split("-")[0], fault.index)
        process = self.processes.get(key)
        if process is None:
            raise LabError(f"lab {self.name} has no {key} to pause")
        return key, process

    def _role(self, db, member):
        """A running member's RAFT role, or None when it is not running or does not answer."""
        if self.processes[f"{db}/{member['index']}"].state() != "running":
            return None
        try:
            status = rpc.unixctl(member["ctl"], "cluster/status", DATABASES[db].name, timeout=2.0)
        except rpc.RpcError:
            return None
        return next((line.split(":", 1)[1].strip() for line in status.splitlines()
                     if line.startswith("Role:")), None)

    def _follower(self, db, rank):
        cluster = self.info.get(db)
        if not cluster:
            raise LabError(f"lab {self.name} has no {db} cluster")
        followers = [f"{db}/{member['index']}" for member in cluster["members"]
                     if self._role(db, member) not in (None, "leader")]
        if not followers:
            raise LabError(f"lab {self.name}: no running {db} member answers as a non-leader")
        return followers[rank % len(followers)]

    def _quiet_central_host(self, rank):
        """A central host none of whose members leads (every member answering)."""
        quiet = []
        for host in self.info["hosts"]:
            if host["kind"] != "central":
                continue
            roles = [self._role(db, member) for db in DATABASES if self.info.get(db)
                     for member in self.info[db]["members"] if member["host"] == host["name"]]
            if roles and None not in roles and "leader" not in roles:
                quiet.append(host)
        if not quiet:
            raise LabError(f"lab {self.name}: no central host without a leader to partition")
        return quiet[rank % len(quiet)]


class Partition:
    """A central host's link at the lab's bridge: pause() takes it down, resume() up."""

    def __init__(self, bridge_netns, host):
        self.bridge_netns = bridge_netns
        self.port = host["bridge_port"]
        self.pid = None

    def pause(self, timeout=2.0):
        del timeout  # one netlink request
        set_bridge_port(self.bridge_netns, self.port, up=False)

    def resume(self):
        set_bridge_port(self.bridge_netns, self.port, up=True, check=False)


def run_faults(plan, state_dirs, log=None, deadline_seconds=None):
    """Execute `plan` against the labs in `state_dirs` (paths of lab
    workdirs); return one record per fault: the fault's fields plus
    "process" (lab key), "pid", "paused_at"/"resumed_at" (seconds from the
    start) or "skipped" (why it could not be applied).

    Bounded: it returns once every fault has been applied and resumed, or at
    `deadline_seconds` (default: the end of the last fault plus 30 s).
    Everything paused is resumed before it returns or raises.
    """
    labs = {}
    for state_dir in state_dirs:
        targets = LabTargets(state_dir)
        labs[targets.name] = targets
    missing = sorted({fault.lab for fault in plan} - set(labs))
    if missing:
        raise LabError(f"the plan names labs that were not given: {', '.join(missing)}")
    if deadline_seconds is None:
        deadline_seconds = max((f.at + f.seconds for f in plan), default=0.0) + 30.0
    log = log or (lambda message: None)

    pending = sorted(plan, key=lambda fault: fault.at)
    active = []  # [resume at, record, process]
    records = []
    started = time.monotonic()

    def now():
        return time.monotonic() - started

    try:
        while pending or active:
            if now() > deadline_seconds:
                log(f"deadline of {deadline_seconds:g} s reached; resuming everything")
                break
            for entry in [entry for entry in active if entry[0] <= now()]:
                _resume(entry, now(), log)
                active.remove(entry)
            while pending and pending[0].at <= now():
                fault = pending.pop(0)
                record = dict(asdict(fault))
                records.append(record)
                try:
                    key, process = labs[fault.lab].resolve(fault)
                except LabError as exc:
                    record["skipped"] = str(exc)
                    log(f"{now():6.1f}s skip {fault.lab} {fault.kind}: {exc}")
                    continue
                # Tracked before the signal is sent, so that the finally resumes it
                # whatever happens from here on.
                entry = [now() + fault.seconds, record, process]
                record.update(process=key, pid=process.pid)
                active.append(entry)
                try:
                    process.pause(timeout=2.0)
                except LabError as exc:
                    active.remove(entry)
                    process.resume()
                    record["skipped"] = str(exc)
                    log(f"{now():6.1f}s skip {fault.lab} {key}: {exc}")
                    continue
                record["paused_at"] = round(now(), 3)
                entry[0] = now() + fault.seconds
                what = f"(pid {process.pid})" if process.pid else "(link down)"
                log(f"{now():6.1f}s pause {fault.lab} {key} {what} for {fault.seconds:g} s")
            upcoming = [entry[0] for entry in active] + [f.at for f in pending[:1]]
            if upcoming:
                time.sleep(min(0.2, max(0.0, min(upcoming) - now())))
    finally:
        # Resume every paused process, even if resuming (or logging) one of them fails.
        failures = []
        for _resume_at, record, process in active:
            try:
                process.resume()
                record["resumed_at"] = round(now(), 3)
            except OSError as exc:
                failures.append(f"{record['process']}: {exc}")
        for _resume_at, record, _process in active:
            try:
                log(f"{record.get('resumed_at', now()):6.1f}s resume {record['lab']} {record['process']}")
            # Never stop resuming for a log line.
            except Exception:  # noqa: BLE001 pylint: disable=broad-except
                pass
        if failures:
            raise LabError("could not resume " + "; ".join(failures))
    return records


def _resume(entry, at, log):
    _resume_at, record, process = entry
    process.resume()
    record["resumed_at"] = round(at, 3)
    log(f"{at:6.1f}s resume {record['lab']} {record['process']}")
