"""A lab of real OVN databases on loopback addresses (see docs/lab.md).

Each Lab claims its own 127.A.B.0/24 (addresses.py), lays out its NB/SB
RAFT members and chassis on it (layout.py), and starts them with every file
in its workdir.  Readiness is always polled against a deadline (waiting.py).
"""

import atexit
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from . import rpc
from .addresses import claim_block
from .layout import (CHASSIS_HOST_BASE, DATABASES, LOCAL_CONFIG_SCHEMA, VSWITCH_SCHEMA, Chassis,
                     Member)
from .procs import AddressHold, ManagedProcess, listener_owner, proc_stat, stop_processes
from .state import STATE_FILE
from .waiting import LabError, describe_logs, wait_until

MAX_MEMBERS = 9
MAX_CHASSIS = 50
# Longest time a member's peers stay stopped while it takes its address; it
# normally takes a few milliseconds.
PAUSED_PEERS_LIMIT_S = 10.0


def parse_cluster_status(text):
    """Parse `cluster/status` output into a dict.

    Keys: "sid" (short server id), "server_id" (full uuid), "address" (its
    RAFT address), "status", "role", "term" (int), "leader"
    ("self", a short sid or "unknown"), "election_timer" (int),
    "election_timer_changing_to" (int or None), "servers" ({short sid: RAFT
    address}), "entries_not_committed", "entries_not_applied",
    "disconnections" (ints) and "raw".
    """
    fields = {}
    servers = {}
    for line in text.splitlines():
        server = re.match(r"\s+(\w+) \((\w+) at (\S+)\)", line)
        if server:
            servers[server.group(1)] = server.group(3)
            continue
        field = re.match(r"([A-Z][^:]*): (.*)$", line)
        if field:
            fields[field.group(1)] = field.group(2).strip()
    timer = re.match(r"(\d+)(?: \(changing to (\d+)\))?", fields.get("Election timer", ""))
    server_id = fields.get("Server ID", "")

    def number(key):
        value = fields.get(key, "")
        return int(value) if value.isdigit() else None

    full_server_id = re.search(r"\((\S+)\)", server_id)
    return {
        "sid": server_id.split()[0] if server_id else None,
        "server_id": full_server_id.group(1) if full_server_id else None,
        "address": fields.get("Address"),
        "status": fields.get("Status"),
        "role": fields.get("Role"),
        "term": number("Term"),
        "leader": fields.get("Leader", "unknown"),
        "election_timer": int(timer.group(1)) if timer else None,
        "election_timer_changing_to": int(timer.group(2)) if timer and timer.group(2) else None,
        "entries_not_committed": number("Entries not yet committed"),
        "entries_not_applied": number("Entries not yet applied"),
        "disconnections": number("Disconnections"),
        "servers": servers,
        "raw": text,
    }


def _run_tool(argv, timeout=30):
    """Run an OVS tool to completion; fail with its output."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} not found: install Debian's ovn-central and ovn-host") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv)} did not finish within {timeout} s") from exc
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed ({done.returncode}): "
                       f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class Lab:
    """Real NB/SB RAFT clusters (plus optional ovn-northd and chassis) on
    loopback.  Use as a context manager, or call start() and stop()."""

    def __init__(self, workdir=None, name="lab", members=3, databases=("nb", "sb"),
                 northd=False, chassis=0, kube_ovn=False, election_timer_ms=1000,
                 inactivity_probe_ms=None, northd_probe_ms=None, chassis_probe_ms=None,
                 keep=False, start_timeout=60.0):
        databases = tuple(databases)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
            raise LabError(f"name {name!r}: use letters, digits, '.', '_' or '-'")
        if not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
            raise LabError(f"members={members!r}: must be an integer from 1 to {MAX_MEMBERS}")
        if not databases or len(set(databases)) != len(databases) \
                or not set(databases) <= set(DATABASES):
            raise LabError(f"databases={databases!r}: a non-empty selection of 'nb' and 'sb'")
        if northd and set(databases) != {"nb", "sb"}:
            raise LabError("northd=True needs both databases ('nb', 'sb')")
        if not isinstance(chassis, int) or not 0 <= chassis <= MAX_CHASSIS:
            raise LabError(f"chassis={chassis!r}: must be an integer from 0 to {MAX_CHASSIS}")
        if chassis and "sb" not in databases:
            raise LabError("chassis need the 'sb' database")
        if not isinstance(election_timer_ms, int) or not 100 <= election_timer_ms <= 600000:
            raise LabError(f"election_timer_ms={election_timer_ms!r}: must be 100..600000")
        for label, value in (("inactivity_probe_ms", inactivity_probe_ms),
                             ("northd_probe_ms", northd_probe_ms),
                             ("chassis_probe_ms", chassis_probe_ms)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise LabError(f"{label}={value!r}: must be None or an integer >= 0 (ms)")
        if northd_probe_ms is not None and "nb" not in databases:
            raise LabError("northd_probe_ms needs the 'nb' database")

        self.name = name
        self.members = members
        self.databases = databases
        self.northd = northd
        self.chassis_count = chassis
        self.kube_ovn = kube_ovn
        self.election_timer_ms = election_timer_ms
        self.inactivity_probe_ms = inactivity_probe_ms
        self.northd_probe_ms = northd_probe_ms
        self.chassis_probe_ms = chassis_probe_ms
        self.keep = keep
        self.start_timeout = start_timeout
        self.workdir = os.path.abspath(workdir) if workdir else None

        self._phase = "new"
        self._owns_workdir = False
        self._block = None
        self._members = {}
        self._northd = None
        self._chassis = []
        self._holds = {}
        self._env = None

    # -- public: lifecycle ---------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        """Create and start everything, and return once all of it is ready."""
        if self._phase != "new":
            raise LabError(f"lab {self.name} was already started; make a new Lab")
        self._phase = "starting"
        atexit.register(self._stop_at_exit)
        deadline = time.monotonic() + self.start_timeout
        try:
            self._prepare_workdir()
            self._claim_addresses()
            self._layout()
            for key in self.databases:
                self._create_cluster_files(key)
            if self._members_share_listener_rows():
                # Every member will try every member's address from its first
                # moment: hold them all before any server starts.
                for member in self._all_members():
                    self._holds[member.key] = AddressHold(member.address, member.spec.port)
            for member in self._all_members():
                self._spawn_member(member)
            for member in self._all_members():
                self._wait_control_socket(member, self._left(deadline))
                self._claim_listener(member, self._left(deadline))
            for key in self.databases:
                self._wait_cluster_formed(key, self._left(deadline))
            for key in self.databases:
                self.change_election_timer(key, self.election_timer_ms,
                                           timeout=self._left(deadline))
            for member in self._all_members():
                self._wait_global_row(member, self._left(deadline))
            for key in self.databases:
                self._wait_leader_agreed(key, self._left(deadline))
            if self.northd:
                self._start_northd(self._left(deadline))
            self._start_chassis(self._left(deadline))
            self._phase = "running"
            self._write_state()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout=5.0):
        """Stop every process the lab started (SIGTERM, then SIGKILL at the
        deadline; paused ones are continued first), reap them, release the
        address block and remove the workdir unless keep=True.  A workdir
        that already held files before start() is never removed.  Idempotent."""
        if self._phase in ("new", "stopped"):
            self._phase = "stopped"
            return
        self._phase = "stopping"
        survivors = stop_processes(self._all_processes(), timeout=timeout)
        for hold in self._holds.values():
            hold.release()
        self._holds.clear()
        if self._block is not None:
            self._block.release()
        atexit.unregister(self._stop_at_exit)
        self._phase = "stopped"
        if self.workdir and os.path.isdir(self.workdir):
            if self.keep or not self._owns_workdir:
                self._write_state()
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        if survivors:
            raise LabError("processes survived SIGKILL: "
                           + ", ".join(f"{p.key} pid {p.pid}" for p in survivors))

    @property
    def running(self):
        return self._phase == "running"

    # -- public: description -------------------------------------------------

    def info(self):
        """A JSON-serialisable description of the lab (also saved as lab.json)."""
        databases = {}
        for key in DATABASES:
            if key not in self._members:
                databases[key] = None
                continue
            spec = DATABASES[key]
            databases[key] = {
                "database": spec.name,
                "port": spec.port,
                "raft_port": spec.raft_port,
                "extra_port": spec.extra_port if self.kube_ovn else None,
                "remotes": self.remotes(key),
                "members": [member.info() for member in self._members[key]],
            }
        return {
            "name": self.name,
            "workdir": self.workdir,
            "block": self._block.cidr if self._block else None,
            "owner_pid": os.getpid(),
            "kube_ovn": self.kube_ovn,
            "election_timer_ms": self.election_timer_ms,
            "inactivity_probe_ms": self.inactivity_probe_ms,
            "northd_probe_ms": self.northd_probe_ms,
            "chassis_probe_ms": self.chassis_probe_ms,
            "nb": databases["nb"],
            "sb": databases["sb"],
            "northd": None if self._northd is None else {
                "pid": self._northd.pid,
                "ctl": self._northd.ctl,
                "log_file": self._northd.log_file,
            },
            "chassis": [chassis.info() for chassis in self._chassis],
        }

    def remotes(self, db):
        """The client remotes of a cluster: "tcp:IP1:PORT,tcp:IP2:PORT,..."."""
        return ",".join(member.remote for member in self._cluster(db))

    def member(self, db, index):
        """info() of one member."""
        return self._member(db, index).info()

    # -- public: observation -------------------------------------------------

    def cluster_status(self, db, index, timeout=5.0):
        """Raw `cluster/status` text of one member (through its unixctl socket)."""
        member = self._member(db, index)
        return rpc.unixctl(member.ctl, "cluster/status", member.spec.name, timeout=timeout)

    def leader(self, db, timeout=15.0):
        """Index of the member that is leader, waiting (until `timeout`) for an
        election to finish.  Only running members are asked; a leader counts
        when no running member reports a higher term."""
        members = self._cluster(db)

        def current_leader():
            statuses = {}  # member index -> parsed cluster/status
            for member in members:
                if member.process is None or member.process.state() != "running":
                    continue
                try:
                    statuses[member.index] = parse_cluster_status(
                        self.cluster_status(db, member.index, timeout=1.0))
                except rpc.RpcError:
                    continue
            if not statuses:
                return None
            highest_term = max(status["term"] or 0 for status in statuses.values())
            for index, status in statuses.items():
                if status["role"] == "leader" and status["term"] == highest_term:
                    return (index,)  # a tuple: index 0 must count as found
            return None

        return wait_until(current_leader, timeout, f"a {db} leader",
                          [member.log_file for member in members])[0]

    def verify_listeners(self):
        """Raise LabError unless every running member's client address is
        served by that member itself (and not by a peer)."""
        problems = []
        everyone = self._all_processes()
        for member in self._all_members():
            if member.process is None or not member.process.alive():
                continue
            owner = listener_owner(member.address, member.spec.port, everyone)
            if owner is not member.process:
                holder = ("nobody" if owner is None else
                          "a process outside the lab" if owner == "other" else
                          f"{owner.key} (pid {owner.pid})")
                problems.append(f"{member.address}:{member.spec.port} of {member.key} "
                                f"is held by {holder}")
        if problems:
            raise LabError("; ".join(problems))

    def repair_listeners(self, timeout=30.0):
        """Give every running member its own client address back.

        Needed only after a test deleted *all* Connection rows and created
        them again in a later transaction: that switches every member's own
        listener between command-line and row options (their DSCP differs),
        so all members re-open their listeners at the same instant and one
        may take a peer's address.  Real hosts cannot bind each other's
        addresses; here the members involved are restarted.
        """
        deadline = time.monotonic() + timeout
        everyone = self._all_processes()
        for key in self.databases:
            members = [member for member in self._cluster(key)
                       if member.process is not None and member.process.alive()]
            by_process = {member.process: member for member in members}
            involved = []
            for member in members:
                owner = listener_owner(member.address, member.spec.port, everyone)
                if owner is member.process:
                    continue
                if owner is None:
                    self._claim_listener(member, self._left(deadline))
                    continue
                if owner not in by_process:
                    raise LabError(f"{member.address}:{member.spec.port} of {member.key} is held "
                                   "by a process outside this cluster; cannot repair")
                involved += [m for m in (member, by_process[owner]) if m not in involved]
            if not involved:
                continue
            bystanders = [member for member in members if member not in involved]
            with self._paused(bystanders):
                for member in involved:
                    member.process.kill_now()
                for member in involved:
                    self._holds[member.key] = AddressHold(member.address, member.spec.port)
            for member in involved:
                self._spawn_member(member)
            for member in involved:
                self._wait_control_socket(member, self._left(deadline))
                self._claim_listener(member, self._left(deadline))
            for member in involved:
                self._wait_member_joined(member, self._left(deadline))
        self._write_state()

    # -- public: faults ------------------------------------------------------

    def pause(self, db, index):
        """SIGSTOP a member (it keeps its sockets but answers nothing)."""
        self._member_process(db, index).pause()

    def resume(self, db, index):
        """SIGCONT a paused member."""
        self._member_process(db, index).resume()

    def pause_process(self, pid):
        """SIGSTOP any process the lab started (northd, a controller...)."""
        self._process_by_pid(pid).pause()

    def resume_process(self, pid):
        self._process_by_pid(pid).resume()

    def kill(self, db, index):
        """SIGKILL a member.  Its client address is then held by the lab so
        that no surviving member takes it over (see AddressHold); clients
        connecting to it are refused until restart()."""
        member = self._member(db, index)
        if member.process is None or not member.process.alive():
            return
        if self._members_share_listener_rows():
            with self._peers_paused(member):
                member.process.kill_now()
                self._holds[member.key] = AddressHold(member.address, member.spec.port)
        else:
            member.process.kill_now()
        self._write_state()

    def restart(self, db, index, timeout=30.0):
        """Start a member again from its db file (killing it first if it is
        running), and wait until it listens on its own address and is back in
        the cluster with a known leader.  If the member died without kill()
        and a peer took its address meanwhile, that peer is restarted as well
        (see repair_listeners)."""
        member = self._member(db, index)
        deadline = time.monotonic() + timeout
        if member.process is not None and member.process.alive():
            self.kill(db, index)
        taken_by_peer = False
        if self._members_share_listener_rows() and member.key not in self._holds:
            # It died without kill() (a crash, or a signal from outside the
            # lab): a peer has probably taken its address already.
            with self._peers_paused(member):
                if listener_owner(member.address, member.spec.port,
                                  self._all_processes()) is None:
                    self._holds[member.key] = AddressHold(member.address, member.spec.port)
                else:
                    taken_by_peer = True
        self._spawn_member(member)
        self._wait_control_socket(member, self._left(deadline))
        if taken_by_peer:
            self.repair_listeners(timeout=self._left(deadline))
        else:
            self._claim_listener(member, self._left(deadline))
        self._wait_member_joined(member, self._left(deadline))
        self._write_state()

    def change_election_timer(self, db, milliseconds, timeout=30.0):
        """Set a cluster's RAFT election timer through its leader, doubling at
        most per step (RAFT's limit), and wait until every running member
        applies each step."""
        if not 100 <= milliseconds <= 600000:
            raise LabError(f"election timer {milliseconds} ms outside 100..600000")
        deadline = time.monotonic() + timeout
        members = self._cluster(db)
        spec = DATABASES[db]
        logs = [member.log_file for member in members]
        current = self._applied_election_timer(db, self._left(deadline))
        while current != milliseconds:
            step = min(milliseconds, current * 2) if milliseconds > current else milliseconds
            leader = self._member(db, self.leader(db, timeout=self._left(deadline)))
            try:
                rpc.unixctl(leader.ctl, "cluster/change-election-timer", spec.name, step,
                            timeout=5.0)
            except rpc.RpcError as exc:
                # Leadership moved, or a change is still being committed: re-read and retry.
                if time.monotonic() > deadline:
                    raise LabError(f"cannot change the {db} election timer: {exc}"
                                   + describe_logs(logs)) from exc
                time.sleep(0.05)
                current = self._applied_election_timer(db, self._left(deadline))
                continue
            wait_until(lambda: self._timer_applied_everywhere(db, step), self._left(deadline),
                       f"the {db} election timer {step} ms to be committed on every member",
                       logs)
            current = step

    # -- internals: layout and files -------------------------------------------

    @staticmethod
    def _left(deadline):
        return max(0.1, deadline - time.monotonic())

    def _prepare_workdir(self):
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix=f"ovnlab-{self.name}-")
            self._owns_workdir = True
        elif not os.path.exists(self.workdir):
            os.makedirs(self.workdir)
            self._owns_workdir = True
        elif os.path.exists(os.path.join(self.workdir, STATE_FILE)):
            raise LabError(f"{self.workdir} already holds a lab ({STATE_FILE}); "
                           "stop it, remove it, or choose another workdir")
        elif not os.listdir(self.workdir):
            self._owns_workdir = True  # it held nothing before: safe to remove
        self._env = dict(os.environ)
        # Keep every default path of the daemons (pid files, control sockets,
        # br-int.mgmt...) inside the workdir, away from a system OVS/OVN.
        for variable in ("OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR",
                         "OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR"):
            self._env[variable] = self.workdir

    def _claim_addresses(self):
        ports = []
        for key in self.databases:
            spec = DATABASES[key]
            ports += [spec.port, spec.raft_port] + ([spec.extra_port] if self.kube_ovn else [])
        self._block = claim_block(
            {"pid": os.getpid(), "name": self.name, "workdir": self.workdir},
            host_numbers=range(1, self.members + 1), ports=ports)

    def _layout(self):
        for key in self.databases:
            self._members[key] = [
                Member(DATABASES[key], index, self._block.host(index + 1), self.workdir,
                       self.kube_ovn)
                for index in range(self.members)]
        self._chassis = [Chassis(number, self._block.host(CHASSIS_HOST_BASE + number),
                                 self.workdir)
                         for number in range(1, self.chassis_count + 1)]

    def _members_share_listener_rows(self):
        """True when every member reads every member's listener from the same
        replicated Connection rows (NB_Global/SB_Global.connections).  In
        kube-ovn mode each member reads only its own Local_Config."""
        return not self.kube_ovn

    def _connection_row(self, member):
        row = {"target": member.listen_target}
        if self.inactivity_probe_ms is not None:
            row["inactivity_probe"] = self.inactivity_probe_ms
        return row

    def _seed_transaction(self, key):
        """Initial contents: the global row (with one Connection row per
        member unless in kube-ovn mode) and NB options."""
        spec = DATABASES[key]
        operations = []
        global_row = {}
        if not self.kube_ovn:
            references = []
            for member in self._members[key]:
                uuid_name = f"conn{member.index}"
                operations.append({"op": "insert", "table": "Connection",
                                   "uuid-name": uuid_name, "row": self._connection_row(member)})
                references.append(["named-uuid", uuid_name])
            global_row["connections"] = ["set", references]
        if key == "nb" and self.northd_probe_ms is not None:
            global_row["options"] = ["map", [["northd_probe_interval",
                                              str(self.northd_probe_ms)]]]
        operations.append({"op": "insert", "table": spec.global_table, "row": global_row})
        return [spec.name, *operations]

    def _create_cluster_files(self, key):
        """Seed a standalone database with the rows the servers need to listen,
        then create the cluster from it, so those rows exist from each
        server's first moment."""
        spec = DATABASES[key]
        members = self._members[key]
        needed = [spec.schema] + ([LOCAL_CONFIG_SCHEMA] if self.kube_ovn else [])
        for path in needed:
            if not os.path.exists(path):
                raise LabError(f"schema {path} not found: install Debian's ovn-central "
                               "(and openvswitch-common for local-config.ovsschema)")
        seed = os.path.join(self.workdir, f"{key}-seed.db")
        _run_tool(["ovsdb-tool", "create", seed, spec.schema])
        _run_tool(["ovsdb-tool", "transact", seed, json.dumps(self._seed_transaction(key))])
        founder = members[0]
        _run_tool(["ovsdb-tool", "create-cluster", founder.db_file, seed, founder.raft])
        for member in members[1:]:
            _run_tool(["ovsdb-tool", "join-cluster", member.db_file, spec.name,
                       member.raft, founder.raft])
        if self.kube_ovn:
            for member in members:
                self._create_local_config(member)

    def _create_local_config(self, member):
        """kube-ovn's layout: a standalone Local_Config per server whose one
        Connection row is that server's own listener (target only, unless an
        inactivity probe was asked for)."""
        _run_tool(["ovsdb-tool", "create", member.local_config_file, LOCAL_CONFIG_SCHEMA])
        _run_tool(["ovsdb-tool", "transact", member.local_config_file, json.dumps([
            "Local_Config",
            {"op": "insert", "table": "Connection", "uuid-name": "conn",
             "row": self._connection_row(member)},
            {"op": "insert", "table": "Config",
             "row": {"connections": ["named-uuid", "conn"]}},
        ])])

    # -- internals: members ----------------------------------------------------

    def _member_argv(self, member):
        spec = member.spec
        argv = ["ovsdb-server", member.db_file]
        if self.kube_ovn:
            argv.append(member.local_config_file)
        argv += [f"--pidfile={member.pid_file}", f"--log-file={member.log_file}",
                 f"--unixctl={member.ctl}", f"--remote=punix:{member.unix_socket}",
                 "-vconsole:off", "-vsyslog:off"]
        if self.kube_ovn:
            argv += ["--remote=db:Local_Config,Config,connections",
                     f"--remote=ptcp:{spec.extra_port}:{member.address}"]
        else:
            argv += [f"--remote={spec.db_remote}", f"--remote={member.listen_target}"]
        return argv

    def _spawn_member(self, member):
        member.process = ManagedProcess(member.key, self._member_argv(member),
                                        member.log_file, ctl=member.ctl)
        member.process.spawn(self._env, self.workdir)

    def _wait_control_socket(self, member, timeout):
        wait_until(lambda: rpc.unixctl(member.ctl, "version", timeout=1.0) is not None,
                   timeout, f"{member.key} to answer on {member.ctl}",
                   [member.log_file], [member.process])

    @contextlib.contextmanager
    def _paused(self, members):
        """SIGSTOP the given members that are running (not those a test paused
        itself), and SIGCONT them on leaving."""
        paused = []
        try:
            for member in members:
                if member.process is not None and member.process.state() == "running":
                    member.process.pause()
                    paused.append(member.process)
            yield
        finally:
            for process in paused:
                process.resume()

    def _peers_paused(self, member):
        """Pause a member's peers for the few milliseconds in which its
        address is unbound, so none of them can bind it."""
        return self._paused([peer for peer in self._cluster(member.spec.key)
                             if peer is not member])

    def _claim_listener(self, member, timeout):
        """Make the member listen on its own client address (and fail if
        something else does)."""
        port = member.spec.port
        everyone = self._all_processes()

        def listening_itself():
            owner = listener_owner(member.address, port, everyone)
            if owner is member.process:
                return True
            if owner is not None:
                holder = "a process outside the lab" if owner == "other" else \
                    f"{owner.key} (pid {owner.pid})"
                raise LabError(f"{member.address}:{port} is held by {holder}, "
                               f"so {member.key} cannot listen there")
            # ovsdb-server retries a failed listen on each pass of its main
            # loop; a unixctl request makes it run one now.
            rpc.unixctl(member.ctl, "version", timeout=1.0)
            return False

        what = f"{member.key} to listen on {member.address}:{port}"
        if self._members_share_listener_rows():
            # The peers would bind the address too as soon as it is free:
            # keep them stopped until the member has it (milliseconds).
            with self._peers_paused(member):
                hold = self._holds.pop(member.key, None)
                if hold is not None:
                    hold.release()
                wait_until(listening_itself, min(timeout, PAUSED_PEERS_LIMIT_S), what,
                           [member.log_file], [member.process], interval=0.005)
        else:
            wait_until(listening_itself, timeout, what, [member.log_file], [member.process])
        if self.kube_ovn:
            wait_until(lambda: listener_owner(member.address, member.spec.extra_port,
                                              everyone) is member.process,
                       timeout, f"{member.key} to listen on {member.extra_remote}",
                       [member.log_file], [member.process])

    def _status_of(self, member, timeout=1.0):
        return parse_cluster_status(
            rpc.unixctl(member.ctl, "cluster/status", member.spec.name, timeout=timeout))

    def _member_joined(self, member):
        status = self._status_of(member)
        return (status["status"] == "cluster member"
                and status["leader"] not in (None, "unknown"))

    def _wait_member_joined(self, member, timeout):
        wait_until(lambda: self._member_joined(member), timeout,
                   f"{member.key} to be a cluster member with a known leader",
                   [member.log_file], [member.process])

    def _wait_cluster_formed(self, key, timeout):
        deadline = time.monotonic() + timeout
        for member in self._cluster(key):
            self._wait_member_joined(member, self._left(deadline))
        members = self._cluster(key)

        def everyone_listed():
            return all(len(self._status_of(member)["servers"]) == len(members)
                       for member in members)

        wait_until(everyone_listed, self._left(deadline),
                   f"all {len(members)} {key} members in every member's server list",
                   [member.log_file for member in members])

    def _wait_leader_agreed(self, key, timeout):
        """Exactly one member says it leads in its _Server row, and its cluster/status agrees.

        Right after a cluster forms, a member's _Server row can still claim leadership for a
        moment while cluster/status already shows the real leader; a health check then sees two
        leaders. The lab is started only when that has settled."""
        members = self._cluster(key)

        def one_leader():
            claims = [member for member in members
                      if rpc.select(member.remote, "_Server", "Database",
                                    where=[["name", "==", member.spec.name]], columns=["leader"],
                                    timeout=2.0)[0]["leader"] is True]
            return len(claims) == 1 and self._status_of(claims[0])["role"] == "leader"

        wait_until(one_leader, timeout, f"one {key} leader in every member's _Server row",
                   [member.log_file for member in members])

    def _applied_election_timer(self, key, timeout):
        def timer():
            values = {self._status_of(member)["election_timer"]
                      for member in self._cluster(key) if member.process.state() == "running"}
            return (values.pop(),) if len(values) == 1 and None not in values else None

        return wait_until(timer, timeout, f"the {key} members to agree on an election timer",
                          [member.log_file for member in self._cluster(key)])[0]

    def _timer_applied_everywhere(self, key, milliseconds):
        for member in self._cluster(key):
            if member.process.state() != "running":
                continue
            status = self._status_of(member)
            if status["election_timer"] != milliseconds \
                    or status["election_timer_changing_to"] is not None:
                return False
        return True

    def _wait_global_row(self, member, timeout):
        """The member serves its database over TCP and has the global row."""
        spec = member.spec
        remotes = [member.remote] + ([member.extra_remote] if member.extra_remote else [])
        for remote in remotes:
            wait_until(lambda: rpc.select(remote, spec.name, spec.global_table,
                                          columns=["_uuid"], timeout=2.0),
                       timeout, f"{spec.global_table} on {remote}",
                       [member.log_file], [member.process])

    # -- internals: northd and chassis -----------------------------------------

    def _start_northd(self, timeout):
        workdir = self.workdir
        self._northd = ManagedProcess(
            "northd",
            ["ovn-northd", f"--ovnnb-db={self.remotes('nb')}", f"--ovnsb-db={self.remotes('sb')}",
             f"--unixctl={workdir}/northd.ctl", f"--log-file={workdir}/northd.log",
             f"--pidfile={workdir}/northd.pid", "-vconsole:off", "-vsyslog:off"],
            f"{workdir}/northd.log", ctl=f"{workdir}/northd.ctl")
        self._northd.spawn(self._env, workdir)

        def northd_active():
            return "Status: active" in rpc.unixctl(self._northd.ctl, "status", timeout=1.0)

        wait_until(northd_active, timeout, "ovn-northd to become active",
                   [self._northd.log_file], [self._northd])

    def _chassis_external_ids(self, chassis):
        external_ids = {
            "system-id": chassis.name,
            "hostname": chassis.name,
            "ovn-remote": self.remotes("sb"),
            "ovn-encap-type": "geneve",
            "ovn-encap-ip": chassis.encap_ip,
        }
        if self.chassis_probe_ms is not None:
            external_ids["ovn-remote-probe-interval"] = str(self.chassis_probe_ms)
        return external_ids

    def _start_chassis(self, timeout):
        if not self._chassis:
            return
        deadline = time.monotonic() + timeout
        for chassis in self._chassis:
            _run_tool(["ovsdb-tool", "create", chassis.db_file, VSWITCH_SCHEMA])
            _run_tool(["ovsdb-tool", "transact", chassis.db_file, json.dumps([
                "Open_vSwitch",
                {"op": "insert", "table": "Open_vSwitch", "row": {
                    "external_ids": ["map", sorted(self._chassis_external_ids(chassis).items())]}},
            ])])
            chassis.ovsdb = ManagedProcess(
                f"{chassis.name}/ovsdb",
                ["ovsdb-server", chassis.db_file, f"--remote=punix:{chassis.ovs_socket}",
                 f"--unixctl={chassis.ovs_ctl}", f"--log-file={chassis.ovs_log_file}",
                 f"--pidfile={chassis.ovs_pid_file}", "-vconsole:off", "-vsyslog:off"],
                chassis.ovs_log_file, ctl=chassis.ovs_ctl)
            chassis.ovsdb.spawn(self._env, self.workdir)
        for chassis in self._chassis:
            wait_until(lambda: os.path.exists(chassis.ovs_socket)
                       and rpc.select(chassis.ovs_remote, "Open_vSwitch", "Open_vSwitch",
                                      columns=["_uuid"], timeout=1.0),
                       self._left(deadline), f"{chassis.name}'s Open_vSwitch database",
                       [chassis.ovs_log_file], [chassis.ovsdb])
            # ovn-controller 23.03 has no --unixctl option: its control socket
            # is $OVN_RUNDIR/ovn-controller.PID.ctl, and OVN_RUNDIR is the workdir.
            chassis.controller = ManagedProcess(
                f"{chassis.name}/controller",
                ["ovn-controller", chassis.ovs_remote,
                 f"--log-file={chassis.controller_log_file}",
                 f"--pidfile={chassis.controller_pid_file}", "-vconsole:off", "-vsyslog:off"],
                chassis.controller_log_file)
            chassis.controller.spawn(self._env, self.workdir)
            chassis.controller.ctl = os.path.join(
                self.workdir, f"ovn-controller.{chassis.controller.pid}.ctl")
        for chassis in self._chassis:
            wait_until(lambda: self._sb_has_chassis(chassis.name), self._left(deadline),
                       f"{chassis.name} to register in the SB",
                       [chassis.controller_log_file], [chassis.controller])

    def _sb_has_chassis(self, name):
        for member in self._cluster("sb"):
            if member.process is None or member.process.state() != "running":
                continue
            try:
                return bool(rpc.select(member.remote, "OVN_Southbound", "Chassis",
                                       where=[["name", "==", name]], columns=["name"],
                                       timeout=2.0))
            except rpc.RpcError:
                continue
        return False

    # -- internals: bookkeeping ------------------------------------------------

    def _cluster(self, db):
        if db not in self._members:
            raise LabError(f"this lab has no {db!r} database (it has {', '.join(self.databases)})")
        return self._members[db]

    def _member(self, db, index):
        members = self._cluster(db)
        if not isinstance(index, int) or not 0 <= index < len(members):
            raise LabError(f"{db} member index {index!r} outside 0..{len(members) - 1}")
        return members[index]

    def _member_process(self, db, index):
        member = self._member(db, index)
        if member.process is None:
            raise LabError(f"{member.key} was never started")
        return member.process

    def _all_members(self):
        return [member for key in self.databases for member in self._members.get(key, [])]

    def _all_processes(self):
        """Every process the lab started, clients before servers."""
        processes = [chassis.controller for chassis in self._chassis]
        processes.append(self._northd)
        processes += [chassis.ovsdb for chassis in self._chassis]
        processes += [member.process for member in self._all_members()]
        return [process for process in processes if process is not None]

    def _process_by_pid(self, pid):
        for process in self._all_processes():
            if process.pid == pid and process.alive():
                return process
        raise LabError(f"pid {pid} is not a running process of lab {self.name}")

    def _write_state(self):
        """Save info() and the process records to lab.json (atomically)."""
        if not self.workdir or not os.path.isdir(self.workdir):
            return
        owner_stat = proc_stat(os.getpid())
        state = {
            "format": 1,
            "phase": self._phase,
            "owner": {"pid": os.getpid(), "start_ticks": owner_stat[1] if owner_stat else None},
            "claim_file": self._block.claim_file if self._block else None,
            "info": self.info(),
            "processes": [process.record() for process in self._all_processes()],
        }
        path = os.path.join(self.workdir, STATE_FILE)
        with open(path + ".tmp", "w") as handle:
            json.dump(state, handle, indent=2)
        os.replace(path + ".tmp", path)

    def _stop_at_exit(self):
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - interpreter exit: nothing to report to
            pass
