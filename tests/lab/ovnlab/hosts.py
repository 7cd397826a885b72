"""Hosts as Linux namespaces: each lab node has its own network namespace (an
address on the lab's bridge), its own mount namespace (the standard OVS/OVN
paths are bind mounts of the host's directories in the lab's workdir) and its
own UTS namespace (its hostname).

    controller (root namespace)                 bridge namespace
      ovl<tag>  10.A.B.254/24  <--veth-->  uplink --+-- br0
                                                    +-- p<host> <--veth--> eth0 of a host
                                                                           (10.A.B.n/24)

Nothing else is in the root namespace: no route but the /24 of that veth, no
NAT, no forwarding into the lab.  The hosts have no default route, so none
of their traffic can leave the lab's /24.

Mount and UTS namespaces are bound to files under WORKDIR/ns (itself a
private bind mount, as the kernel asks), so they need no process to keep them
alive; `enter()` gives the argv prefix that runs a program inside a host.
"""

import os
import re
import subprocess

from .addresses import CLAIM_DIR, claims, release_claim
from .procs import ManagedProcess
from .waiting import LabError

# Paths inside a host -> the host's directory (under WORKDIR/hosts/NAME) mounted there.
# /run first: the others do not live under it.
HOST_MOUNTS = (
    ("/run", "run"),
    ("/etc/ovn", "etc/ovn"),
    ("/etc/openvswitch", "etc/openvswitch"),
    ("/var/lib/ovn", "lib/ovn"),
    ("/var/lib/openvswitch", "lib/openvswitch"),
    ("/var/log/ovn", "log/ovn"),
    ("/var/log/openvswitch", "log/openvswitch"),
    # Its own root home: no controller dot files (a pyenv in .bashrc, say) on the hosts.
    ("/root", "root"),
)
# Made inside a host's /run before anything starts (sshd's privilege separation dir among them).
RUN_DIRS = ("ovn", "openvswitch", "sshd")

NETNS_PREFIX = "ovnlab-"
LINK_PREFIX = "ovl"
CGROUP_CPU_ROOT = "/sys/fs/cgroup/cpu"
CFS_PERIOD_US = 100000


def ip(*args, check=True):
    """Run one iproute2 command; fail with its message."""
    argv = ["ip", *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as exc:
        raise LabError("ip not found: install Debian's iproute2") from exc
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout.strip()}"
                       " (the lab makes network namespaces: it needs root)")
    return done


def set_bridge_port(bridge_ns, port, up, check=True):
    """A host's link at the lab's bridge, up or down (a partition)."""
    ip("-n", bridge_ns, "link", "set", port, "up" if up else "down", check=check)


def _run(argv, what):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise LabError(f"{what}: {' '.join(argv)} failed: "
                       f"{done.stderr.strip() or done.stdout.strip()}")
    return done


def _umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True, timeout=30, check=False)


class Host:
    """One node of the lab: a network, mount and UTS namespace of its own."""

    def __init__(self, network, name, short, address):
        self.network = network
        self.name = name                     # hostname and inventory name
        self.short = short                   # c1, h2... (interface and namespace names)
        self.address = address
        self.netns = f"{NETNS_PREFIX}{network.tag}-{short}"
        self.root = os.path.join(network.workdir, "hosts", name)
        # The same directory through the network's short link: unix socket paths stay
        # under the kernel's 108 bytes however deep the workdir is.
        self.short_root = os.path.join(network.short_root, name)
        self.mount_ns = os.path.join(network.ns_dir, f"{name}.mnt")
        self.uts_ns = os.path.join(network.ns_dir, f"{name}.uts")
        self.bridge_port = f"p{short}"
        self.cgroup = os.path.join(CGROUP_CPU_ROOT, network.cgroup_name, short)

    # -- paths -----------------------------------------------------------------

    def path(self, inside):
        """Where a path inside the host is found from the controller (the lab's own
        bookkeeping; no real controller sees a host's files)."""
        for mount_point, directory in HOST_MOUNTS:
            if inside == mount_point or inside.startswith(mount_point + "/"):
                return os.path.join(self.short_root, directory,
                                    inside[len(mount_point):].lstrip("/"))
        raise LabError(f"{inside} is not under one of the host's own directories")

    def enter(self):
        """argv prefix that runs a program inside the host."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", f"--mount={self.mount_ns}",
                f"--uts={self.uts_ns}", "--"]

    def run(self, argv, timeout=30, check=True):
        """Run a program inside the host to completion; its CompletedProcess."""
        argv = [str(arg) for arg in argv]
        try:
            done = subprocess.run(self.enter() + argv, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"{self.name}: {' '.join(argv)} did not finish within "
                           f"{timeout:g} s") from exc
        if check and done.returncode != 0:
            raise LabError(f"{self.name}: {' '.join(argv)} failed ({done.returncode}): "
                           f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    def process(self, key, argv, log_file):
        """A ManagedProcess that runs argv inside the host (in its CPU cgroup)."""
        return ManagedProcess(key, self.enter() + list(argv), log_file,
                              cgroup_procs=os.path.join(self.cgroup, "cgroup.procs"))

    def info(self):
        return {"name": self.name, "address": self.address, "netns": self.netns,
                "mount_ns": self.mount_ns, "uts_ns": self.uts_ns, "root": self.root,
                "bridge_port": self.bridge_port, "enter": self.enter(), "ssh_port": 22}

    # -- life --------------------------------------------------------------------

    def create(self):
        network = self.network
        for _mount_point, directory in HOST_MOUNTS:
            os.makedirs(os.path.join(self.root, directory), exist_ok=True)
        for directory in RUN_DIRS:
            os.makedirs(os.path.join(self.root, "run", directory), mode=0o755, exist_ok=True)
        for mount_point, _directory in HOST_MOUNTS:
            os.makedirs(mount_point, exist_ok=True)  # mount points on the shared root fs
        ip("netns", "add", self.netns)
        ip("-n", self.netns, "link", "set", "lo", "up")
        ip("-n", self.netns, "link", "add", "eth0", "type", "veth",
           "peer", "name", self.bridge_port, "netns", network.bridge_ns)
        ip("-n", network.bridge_ns, "link", "set", self.bridge_port, "master", "br0", "up")
        ip("-n", self.netns, "addr", "add", f"{self.address}/24", "dev", "eth0")
        ip("-n", self.netns, "link", "set", "eth0", "up")
        for path in (self.mount_ns, self.uts_ns):
            open(path, "w").close()
        script = ["set -e", f"hostname {self.name}"]
        script += [f"mount --bind {os.path.join(self.root, directory)} {mount_point}"
                   for mount_point, directory in HOST_MOUNTS]
        _run(["unshare", f"--mount={self.mount_ns}", f"--uts={self.uts_ns}",
              "--propagation", "private", "sh", "-c", "\n".join(script)],
             f"mount namespace of {self.name}")
        os.makedirs(self.cgroup, exist_ok=True)

    # -- faults ------------------------------------------------------------------

    def partition(self):
        """Take the host's link down (at the bridge): it neither sends nor receives."""
        set_bridge_port(self.network.bridge_ns, self.bridge_port, up=False)

    def heal(self):
        set_bridge_port(self.network.bridge_ns, self.bridge_port, up=True)

    def starve(self, cpu_percent):
        """Limit every process of the host to cpu_percent of one core (CFS quota)."""
        if not 1 <= cpu_percent <= 100:
            raise LabError(f"cpu_percent={cpu_percent!r}: must be 1..100")
        _write(os.path.join(self.cgroup, "cpu.cfs_period_us"), CFS_PERIOD_US)
        _write(os.path.join(self.cgroup, "cpu.cfs_quota_us"), CFS_PERIOD_US * cpu_percent // 100)

    def feed(self):
        """Lift a starve()."""
        _write(os.path.join(self.cgroup, "cpu.cfs_quota_us"), -1)


def _write(path, value):
    with open(path, "w") as handle:
        handle.write(str(value))


def _remove_cgroup(path):
    """Remove a cgroup directory (moving any task left in it to the root first)."""
    if not os.path.isdir(path):
        return
    for child in os.listdir(path):
        if os.path.isdir(os.path.join(path, child)):
            _remove_cgroup(os.path.join(path, child))
    try:
        with open(os.path.join(path, "cgroup.procs")) as procs:
            pids = procs.read().split()
        for pid in pids:
            try:
                _write(os.path.join(CGROUP_CPU_ROOT, "cgroup.procs"), pid)
            except OSError:
                pass
        os.rmdir(path)
    except OSError:
        pass


class Network:
    """The lab's bridge namespace, the controller's veth and the hosts on it."""

    def __init__(self, block, workdir):
        self.block = block
        self.tag = block.tag
        self.workdir = workdir
        self.ns_dir = os.path.join(workdir, "ns")
        self.bridge_ns = f"{NETNS_PREFIX}{self.tag}-br"
        self.controller_link = f"{LINK_PREFIX}{self.tag}"
        self.cgroup_name = f"ovnlab-{self.tag}"
        self.short_root = f"/tmp/ovnlab-{self.tag}"   # a link to WORKDIR/hosts
        self.hosts = []

    def info(self):
        return {"block": self.block.cidr, "bridge_netns": self.bridge_ns,
                "controller_link": self.controller_link,
                "controller_address": self.block.controller_address}

    def add_host(self, name, short, number):
        host = Host(self, name, short, self.block.host(number))
        self.hosts.append(host)
        return host

    def record(self):
        """What destroy_recorded() needs to remove all of it from another process."""
        return {"netns": [host.netns for host in self.hosts] + [self.bridge_ns],
                "link": self.controller_link, "ns_dir": self.ns_dir, "short_root": self.short_root,
                "cgroup": os.path.join(CGROUP_CPU_ROOT, self.cgroup_name)}

    def create(self):
        """Bridge, controller veth, then every host added so far."""
        self.block.record(**self.record())
        os.makedirs(self.ns_dir, exist_ok=True)
        os.makedirs(os.path.join(self.workdir, "hosts"), exist_ok=True)
        if os.path.islink(self.short_root):
            os.unlink(self.short_root)
        os.symlink(os.path.join(self.workdir, "hosts"), self.short_root)
        _run(["mount", "--bind", self.ns_dir, self.ns_dir], "namespace directory")
        _run(["mount", "--make-private", self.ns_dir], "namespace directory")
        ip("netns", "add", self.bridge_ns)
        ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        ip("-n", self.bridge_ns, "link", "set", "br0", "up")
        ip("link", "add", self.controller_link, "type", "veth",
           "peer", "name", "uplink", "netns", self.bridge_ns)
        ip("-n", self.bridge_ns, "link", "set", "uplink", "master", "br0", "up")
        ip("addr", "add", f"{self.block.controller_address}/24", "dev", self.controller_link)
        ip("link", "set", self.controller_link, "up")
        os.makedirs(os.path.join(CGROUP_CPU_ROOT, self.cgroup_name), exist_ok=True)
        for host in self.hosts:
            host.create()

    def destroy(self):
        """Remove every host, the bridge, the veth, the mounts and the cgroups (idempotent;
        also after a start that failed half-way)."""
        destroy_recorded(self.record())


def _remove_link(path):
    if path and os.path.islink(path):
        os.unlink(path)


def _owner_alive(owner):
    if not owner or owner.get("pid") is None:
        return False
    return ManagedProcess("owner", [], None, pid=owner["pid"],
                          start_ticks=owner.get("start_ticks")).alive()


def destroy_recorded(record):
    """Remove the mounts, namespaces, link and cgroups named by a Network.record()."""
    ns_dir = record.get("ns_dir")
    if ns_dir:
        for mount_point in sorted(_mount_points(), reverse=True):
            if mount_point == ns_dir or mount_point.startswith(ns_dir + "/"):
                _umount(mount_point)
    for netns in record.get("netns", []):
        ip("netns", "del", netns, check=False)
    if record.get("link"):
        ip("link", "del", record["link"], check=False)
    if record.get("cgroup"):
        _remove_cgroup(record["cgroup"])
    _remove_link(record.get("short_root"))


def _claim_file_of_tag(tag):
    """The claim file of the block a 4-hex-digit tag names (10.A.B from A, B)."""
    return os.path.join(CLAIM_DIR, "10.%d.%d" % (int(tag[:2], 16), int(tag[2:], 16)))


def remove_leftovers():
    """Remove the namespaces, links, mounts and cgroups of labs whose owner is gone
    (a crashed run), and their claims.  Returns the blocks freed."""
    removed = []
    for path, claim in claims():
        if _owner_alive(claim.get("owner")):
            continue
        destroy_recorded(claim)
        release_claim(path)
        removed.append(os.path.basename(path))
    # Links and namespaces of ours that no claim accounts for (a claim removed by hand). A lab
    # creates its claim before any of them, so one whose claim file is missing is an orphan.
    for line in ip("-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        tag = name[len(LINK_PREFIX):]
        if name.startswith(LINK_PREFIX) and re.fullmatch(r"[0-9a-f]{4}", tag) \
                and not os.path.exists(_claim_file_of_tag(tag)):
            ip("link", "del", name, check=False)
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(NETNS_PREFIX + r"([0-9a-f]{4})-\w+", name)
        if match and not os.path.exists(_claim_file_of_tag(match.group(1))):
            ip("netns", "del", name, check=False)
    return removed


def _mount_points():
    with open("/proc/self/mountinfo") as mountinfo:
        return [line.split()[4] for line in mountinfo]


__all__ = ["CLAIM_DIR", "Host", "Network", "remove_leftovers"]
