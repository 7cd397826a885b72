"""A lab of real OVN hosts (see docs/lab.md).

Each Lab claims its own private 10.A.B.0/24 (addresses.py), makes one host per
node - a network, mount and UTS namespace of its own, with sshd (hosts.py,
ssh.py) - lays out its NB/SB RAFT members and chassis on those hosts
(layout.py), and starts them at the paths real hosts use.  Readiness is
always polled against a deadline (waiting.py).
"""

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from . import rpc
from .addresses import claim_block
from .hosts import Network, remove_leftovers
from .layout import (CHASSIS_HOST_BASE, DATABASES, LOCAL_CONFIG_SCHEMA, VSWITCH_SCHEMA, Chassis,
                     Member)
from .pki import LabPki
from .procs import proc_stat, stop_processes
from .ssh import LabSsh
from .state import STATE_FILE
from .waiting import LabError, describe_logs, wait_until

MAX_MEMBERS = 9
MAX_CHASSIS = 150
MAX_RELAYS = 5
RELAY_HOST_BASE = 50  # SB relay k is 10.A.B.(50 + k)
# Variables that would move the daemons' files away from the standard paths.
_DIR_VARIABLES = ("OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR",
                  "OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR", "OVN_SYSCONFDIR")


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
    """Real NB/SB RAFT clusters (plus optional ovn-northd and chassis), each
    member and chassis a host of its own.  Use as a context manager, or call
    start() and stop()."""

    def __init__(self, workdir=None, name="lab", members=3, databases=("nb", "sb"),
                 northd=False, chassis=0, kube_ovn=False, election_timer_ms=1000,
                 inactivity_probe_ms=None, northd_probe_ms=None, chassis_probe_ms=None,
                 keep=False, start_timeout=60.0, ssl=False, sb_relays=0, chassis_daemons=True):
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
        if not isinstance(chassis_daemons, bool):
            raise LabError(f"chassis_daemons={chassis_daemons!r}: True (ovs-vswitchd and ovn-controller on each"
                           " chassis) or False (only its Open_vSwitch database and sshd)")
        if not isinstance(election_timer_ms, int) or not 100 <= election_timer_ms <= 600000:
            raise LabError(f"election_timer_ms={election_timer_ms!r}: must be 100..600000")
        for label, value in (("inactivity_probe_ms", inactivity_probe_ms),
                             ("northd_probe_ms", northd_probe_ms),
                             ("chassis_probe_ms", chassis_probe_ms)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise LabError(f"{label}={value!r}: must be None or an integer >= 0 (ms)")
        if northd_probe_ms is not None and "nb" not in databases:
            raise LabError("northd_probe_ms needs the 'nb' database")
        if not isinstance(sb_relays, int) or not 0 <= sb_relays <= MAX_RELAYS:
            raise LabError(f"sb_relays={sb_relays!r}: must be an integer from 0 to {MAX_RELAYS}")
        if sb_relays and "sb" not in databases:
            raise LabError("sb_relays need the 'sb' database")
        if not isinstance(ssl, bool):
            raise LabError(f"ssl={ssl!r}: must be True (pssl:/ssl: listeners and RAFT) or False")

        self.name = name
        self.members = members
        self.databases = databases
        self.northd = northd
        self.chassis_count = chassis
        self.chassis_daemons = chassis_daemons
        self.kube_ovn = kube_ovn
        self.election_timer_ms = election_timer_ms
        self.inactivity_probe_ms = inactivity_probe_ms
        self.northd_probe_ms = northd_probe_ms
        self.chassis_probe_ms = chassis_probe_ms
        self.keep = keep
        self.start_timeout = start_timeout
        self.ssl = ssl
        self.sb_relay_count = sb_relays
        self.workdir = os.path.abspath(workdir) if workdir else None

        self._phase = "new"
        self._owns_workdir = False
        self._block = None
        self._network = None
        self._ssh = None
        self._central_hosts = []
        self._members = {}
        self._northd = None
        self._chassis = []
        self._sshd = []
        self._env = None
        self._pki = None
        self._relay_hosts = []
        self._relays = []         # [(host, ManagedProcess)]
        self._client_ssl = None   # (key, cert, CA) of the controller's clients, with ssl=True
        self._host_ssl = {}       # host name -> (key, cert, CA) paths inside the host

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
            self._network.create()
            if self.ssl:
                self._create_pki()
            self._ssh.create(self._network.hosts)
            self._sshd = [self._ssh.start_sshd(host, self._env, self.workdir)
                          for host in self._network.hosts]
            for key in self.databases:
                self._create_cluster_files(key)
            for member in self._all_members():
                self._spawn_member(member)
            for member in self._all_members():
                self._wait_control_socket(member, self._left(deadline))
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
            self._start_relays(self._left(deadline))
            self._start_chassis(self._left(deadline))
            for host, sshd in zip(self._network.hosts, self._sshd):
                self._ssh.wait_ready(host, sshd, self._left(deadline))
            self._phase = "running"
            self._write_state()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout=5.0):
        """Stop every process the lab started (SIGTERM, then SIGKILL at the
        deadline; paused ones are continued first), reap them, remove every
        namespace, link, mount and cgroup it made, release the address block
        and remove the workdir unless keep=True.  A workdir
        that already held files before start() is never removed.  Idempotent."""
        if self._phase in ("new", "stopped"):
            self._phase = "stopped"
            return
        self._phase = "stopping"
        survivors = stop_processes(self._all_processes(), timeout=timeout)
        if self._network is not None:
            self._network.destroy()
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
            "network": self._network.info() if self._network else None,
            "ssh": self._ssh.info() if self._ssh else None,
            "hosts": self.hosts(),
            "owner_pid": os.getpid(),
            "kube_ovn": self.kube_ovn,
            "election_timer_ms": self.election_timer_ms,
            "inactivity_probe_ms": self.inactivity_probe_ms,
            "northd_probe_ms": self.northd_probe_ms,
            "chassis_probe_ms": self.chassis_probe_ms,
            "chassis_daemons": self.chassis_daemons,
            "ssl": self._pki.info() if self._pki else None,
            "nb": databases["nb"],
            "sb": databases["sb"],
            "northd": None if self._northd is None else {
                "host": self._central_hosts[0].name,
                "host_ctl": f"/run/ovn/ovn-northd.{self._northd.pid}.ctl",
                "pid": self._northd.pid,
                "ctl": self._northd.ctl,
                "log_file": self._northd.log_file,
            },
            "chassis": [chassis.info() for chassis in self._chassis],
            "sb_relays": [{"index": index, "host": host.name, "address": host.address,
                           "remote": self._relay_remote(host),
                           "host_ctl": "/run/ovn/ovnsb_db.ctl", "ctl": process.ctl,
                           "pid": process.pid, "log_file": process.log_file}
                          for index, (host, process) in enumerate(self._relays)],
            "sb_relay_remotes": self.relay_remotes(),
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

    # -- public: hosts ---------------------------------------------------------

    def hosts(self):
        """info() of every host."""
        return [self._host_info(host) for host in self._network.hosts] if self._network else []

    def host(self, name):
        """The Host object named `name` (see hosts.py): run(), enter(), path()..."""
        for host in self._network.hosts if self._network else []:
            if host.name == name:
                return host
        raise LabError(f"lab {self.name} has no host {name!r}; hosts: "
                       + ", ".join(h.name for h in (self._network.hosts if self._network else [])))

    def host_of(self, db, index):
        """The Host object a member runs on."""
        return self._member(db, index).host

    def run_on(self, name, argv, timeout=30, check=True):
        """Run a program inside host `name` (its network, mounts and hostname)."""
        return self.host(name).run(argv, timeout=timeout, check=check)

    def ssh_argv(self, name):
        """argv prefix that runs a command on host `name` over SSH with the lab key."""
        return self._ssh.argv(self.host(name))

    # -- public: faults ------------------------------------------------------

    def partition(self, name):
        """Cut host `name` off the lab's network (its link down at the bridge)."""
        self.host(name).partition()

    def heal(self, name):
        """Bring a partitioned host's link back up."""
        self.host(name).heal()

    def starve(self, name, cpu_percent):
        """Give every process of host `name` at most cpu_percent of one core."""
        self.host(name).starve(cpu_percent)

    def feed(self, name):
        """Lift starve()."""
        self.host(name).feed()

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
        """SIGKILL a member; clients connecting to its address are then refused,
        as by a host whose server died."""
        member = self._member(db, index)
        if member.process is None or not member.process.alive():
            return
        member.process.kill_now()
        self._write_state()

    def restart(self, db, index, timeout=30.0, wait=True):
        """Start a member again from its db file (killing it first if it is
        running), and wait until it serves its database on its address and is
        back in the cluster with a known leader (with wait=False: return once
        it is started, for callers that time its return themselves)."""
        member = self._member(db, index)
        deadline = time.monotonic() + timeout
        if member.process is not None and member.process.alive():
            self.kill(db, index)
        self._spawn_member(member)
        if not wait:
            self._write_state()
            return
        self._wait_control_socket(member, self._left(deadline))
        self._wait_member_joined(member, self._left(deadline))
        self._wait_global_row(member, self._left(deadline))
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
        self._env = {key: value for key, value in os.environ.items()
                     if key not in _DIR_VARIABLES}

    def _claim_addresses(self):
        remove_leftovers()
        owner_stat = proc_stat(os.getpid())
        self._block = claim_block({
            "name": self.name, "workdir": self.workdir,
            "owner": {"pid": os.getpid(), "start_ticks": owner_stat[1] if owner_stat else None}})

    def _layout(self):
        self._network = Network(self._block, self.workdir)
        self._ssh = LabSsh(self.workdir)
        self._central_hosts = [
            self._network.add_host(f"{self.name}-central-{number}", f"c{number}", number)
            for number in range(1, self.members + 1)]
        for key in self.databases:
            self._members[key] = [
                Member(DATABASES[key], index, self._central_hosts[index], self.kube_ovn, self.ssl)
                for index in range(self.members)]
        self._chassis = [
            Chassis(number, self._network.add_host(f"{self.name}-chassis-{number}", f"h{number}",
                                                   CHASSIS_HOST_BASE + number))
            for number in range(1, self.chassis_count + 1)]
        self._relay_hosts = [
            self._network.add_host(f"{self.name}-relay-{number}", f"r{number}",
                                   RELAY_HOST_BASE + number)
            for number in range(1, self.sb_relay_count + 1)]

    def _connection_row(self, spec):
        row = {"target": spec.listen_target(self.ssl)}
        if self.inactivity_probe_ms is not None:
            row["inactivity_probe"] = self.inactivity_probe_ms
        return row

    def _seed_transaction(self, key):
        """Initial contents: the global row (with its one listener row, ptcp on
        0.0.0.0, unless in kube-ovn mode) and NB options."""
        spec = DATABASES[key]
        operations = []
        global_row = {}
        if not self.kube_ovn:
            operations.append({"op": "insert", "table": "Connection", "uuid-name": "conn",
                               "row": self._connection_row(spec)})
            global_row["connections"] = ["set", [["named-uuid", "conn"]]]
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
             "row": self._connection_row(member.spec)},
            {"op": "insert", "table": "Config",
             "row": {"connections": ["named-uuid", "conn"]}},
        ])])

    # -- internals: members ----------------------------------------------------

    def _create_pki(self):
        """A CA, a certificate for every host (in its /etc/ovn) and one for the controller."""
        self._pki = LabPki(self.workdir)
        self._pki.create([host.name for host in self._network.hosts] + ["controller"])
        for host in self._network.hosts:
            self._host_ssl[host.name] = self._pki.install(host, "/etc/ovn")
        self._client_ssl = self._pki.files("controller")

    def _ssl_options(self, host):
        if not self.ssl:
            return []
        key, cert, ca = self._host_ssl[host.name]
        return [f"--private-key={key}", f"--certificate={cert}", f"--ca-cert={ca}"]

    def _member_argv(self, member):
        spec = member.spec
        argv = ["ovsdb-server", member.host_db_file]
        if self.kube_ovn:
            argv.append(member.host_local_config_file)
        argv += [f"--pidfile={member.host_pid_file}", f"--log-file={member.host_log_file}",
                 f"--unixctl={member.host_ctl}", f"--remote=punix:{member.host_unix_socket}",
                 "-vconsole:off", "-vsyslog:off"]
        if self.kube_ovn:
            argv += ["--remote=db:Local_Config,Config,connections",
                     f"--remote={spec.extra_target(self.ssl)}"]
        else:
            argv += [f"--remote={spec.db_remote}"]
        return argv + self._ssl_options(member.host)

    def _spawn_member(self, member):
        member.process = member.host.process(member.key, self._member_argv(member),
                                             member.log_file)
        member.process.ctl = member.ctl
        member.process.spawn(self._env, "/")

    def _wait_control_socket(self, member, timeout):
        wait_until(lambda: rpc.unixctl(member.ctl, "version", timeout=1.0) is not None,
                   timeout, f"{member.key} to answer on {member.host_ctl} in {member.host.name}",
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
                      if rpc.select(member.remote, "_Server", "Database", ssl_files=self._client_ssl,
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
                                          ssl_files=self._client_ssl,
                                          columns=["_uuid"], timeout=2.0),
                       timeout, f"{spec.global_table} on {remote}",
                       [member.log_file], [member.process])

    # -- internals: northd and chassis -----------------------------------------

    def _start_northd(self, timeout):
        """ovn-northd on the first central host, as ovn-ctl starts it there."""
        host = self._central_hosts[0]
        self._northd = host.process(
            "northd",
            ["ovn-northd", f"--ovnnb-db={self.remotes('nb')}", f"--ovnsb-db={self.remotes('sb')}",
             "--log-file=/var/log/ovn/ovn-northd.log", "--pidfile=/run/ovn/ovn-northd.pid",
             "-vconsole:off", "-vsyslog:off"] + self._ssl_options(host),
            host.path("/var/log/ovn/ovn-northd.log"))
        self._northd.spawn(self._env, "/")
        # No --unixctl: its control socket is /run/ovn/ovn-northd.PID.ctl, as on a real host.
        self._northd.ctl = host.path(f"/run/ovn/ovn-northd.{self._northd.pid}.ctl")

        def northd_active():
            return "Status: active" in rpc.unixctl(self._northd.ctl, "status", timeout=1.0)

        wait_until(northd_active, timeout, "ovn-northd to become active",
                   [self._northd.log_file], [self._northd])

    def _relay_remote(self, host):
        return f"{'ssl' if self.ssl else 'tcp'}:{host.address}:{DATABASES['sb'].port}"

    def relay_remotes(self):
        """The client remotes of the SB relays (empty without relays)."""
        return ",".join(self._relay_remote(host) for host, _process in self._relays)

    def _start_relays(self, timeout):
        """SB relays (ovsdb-server relay:OVN_Southbound:REMOTES), one per relay host, listening
        on ptcp:6642:0.0.0.0 as the cluster members do; the chassis then connect to them."""
        deadline = time.monotonic() + timeout
        spec = DATABASES["sb"]
        for number, host in enumerate(self._relay_hosts, start=1):
            process = host.process(
                f"relay/{number - 1}",
                ["ovsdb-server", f"relay:{spec.name}:{self.remotes('sb')}",
                 "--pidfile=/run/ovn/ovnsb_db.pid", "--log-file=/var/log/ovn/ovsdb-server-sb.log",
                 "--unixctl=/run/ovn/ovnsb_db.ctl", "--remote=punix:/run/ovn/ovnsb_db.sock",
                 f"--remote={spec.listen_target(self.ssl)}", "-vconsole:off", "-vsyslog:off"]
                + self._ssl_options(host),
                host.path("/var/log/ovn/ovsdb-server-sb.log"))
            process.ctl = host.path("/run/ovn/ovnsb_db.ctl")
            process.spawn(self._env, "/")
            self._relays.append((host, process))
        for host, process in self._relays:
            remote = self._relay_remote(host)

            def relay_serves(remote=remote):
                rows = rpc.select(remote, "_Server", "Database", ssl_files=self._client_ssl,
                                  where=[["name", "==", spec.name]],
                                  columns=["model", "connected"], timeout=2.0)
                return rows and rows[0]["model"] == "relay" and rows[0]["connected"] is True \
                    and rpc.select(remote, spec.name, spec.global_table, columns=["_uuid"],
                                   ssl_files=self._client_ssl, timeout=2.0)

            wait_until(relay_serves, self._left(deadline), f"SB relay {host.name} to serve {remote}",
                       [process.log_file], [process])

    def _chassis_external_ids(self, chassis):
        external_ids = {
            "system-id": chassis.name,
            "hostname": chassis.host.name,
            "ovn-remote": self.relay_remotes() or self.remotes("sb"),
            "ovn-encap-type": "geneve",
            "ovn-encap-ip": chassis.encap_ip,
            # br-int in ovs-vswitchd's userspace datapath: no openvswitch kernel module needed.
            "ovn-bridge-datapath-type": "netdev",
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
            chassis.ovsdb = chassis.host.process(
                f"{chassis.name}/ovsdb",
                ["ovsdb-server", chassis.host_db_file, f"--remote=punix:{chassis.host_ovs_socket}",
                 f"--log-file={chassis.host_ovs_log_file}",
                 f"--pidfile={chassis.host_ovs_pid_file}", "-vconsole:off", "-vsyslog:off"],
                chassis.ovs_log_file)
            chassis.ovsdb.spawn(self._env, "/")
            chassis.ovsdb.ctl = chassis.info()["ovs_ctl"]
        for chassis in self._chassis:
            wait_until(lambda: os.path.exists(chassis.ovs_socket)
                       and rpc.select(chassis.ovs_remote, "Open_vSwitch", "Open_vSwitch",
                                      columns=["_uuid"], timeout=1.0),
                       self._left(deadline), f"{chassis.name}'s Open_vSwitch database",
                       [chassis.ovs_log_file], [chassis.ovsdb])
            if not self.chassis_daemons:
                continue
            chassis.vswitchd = chassis.host.process(
                f"{chassis.name}/vswitchd",
                ["ovs-vswitchd", f"unix:{chassis.host_ovs_socket}",
                 f"--log-file={chassis.host_vswitchd_log_file}",
                 f"--pidfile={chassis.host_vswitchd_pid_file}", "-vconsole:off", "-vsyslog:off"],
                chassis.vswitchd_log_file)
            chassis.vswitchd.spawn(self._env, "/")
            # Its control socket is /run/ovn/ovn-controller.PID.ctl, as on a real host.
            chassis.controller = chassis.host.process(
                f"{chassis.name}/controller",
                ["ovn-controller", f"unix:{chassis.host_ovs_socket}",
                 f"--log-file={chassis.host_controller_log_file}",
                 f"--pidfile={chassis.host_controller_pid_file}", "-vconsole:off",
                 "-vsyslog:off"] + self._ssl_options(chassis.host),
                chassis.controller_log_file)
            chassis.controller.spawn(self._env, "/")
            chassis.controller.ctl = chassis.info()["controller_ctl"]
        for chassis in self._chassis if self.chassis_daemons else []:
            wait_until(lambda: self._sb_has_chassis(chassis.name), self._left(deadline),
                       f"{chassis.name} to register in the SB",
                       [chassis.controller_log_file], [chassis.controller])

    def _sb_has_chassis(self, name):
        for member in self._cluster("sb"):
            if member.process is None or member.process.state() != "running":
                continue
            try:
                return bool(rpc.select(member.remote, "OVN_Southbound", "Chassis",
                                       ssl_files=self._client_ssl,
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
        """Every process the lab started, clients before servers, sshd last."""
        processes = [chassis.controller for chassis in self._chassis]
        processes += [chassis.vswitchd for chassis in self._chassis]
        processes.append(self._northd)
        processes += [process for _host, process in self._relays]
        processes += [chassis.ovsdb for chassis in self._chassis]
        processes += [member.process for member in self._all_members()]
        processes += self._sshd
        return [process for process in processes if process is not None]

    def _host_info(self, host):
        roles = [f"{key}/{member.index}" for key in self.databases
                 for member in self._members.get(key, []) if member.host is host]
        roles += ["northd"] if self._northd is not None and host is self._central_hosts[0] else []
        roles += [chassis.name for chassis in self._chassis if chassis.host is host]
        roles += ["sb-relay" for relay_host in self._relay_hosts if relay_host is host]
        kind = {"h": "chassis", "r": "relay"}.get(host.short[0], "central")
        return dict(host.info(), kind=kind, roles=roles)

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
            "network": self._network.record() if self._network else None,
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
