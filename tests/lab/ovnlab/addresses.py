"""Address blocks: each lab gets its own private 10.A.B.0/24.

The block's addresses exist only inside the network namespaces the lab makes
(hosts.py) and on the one veth that joins the controller to the lab's bridge,
so nothing is routed anywhere else.  A block is claimed by creating a file
named after it with O_EXCL under CLAIM_DIR, which is atomic across processes,
so labs started by parallel test runs never share addresses; a block that
overlaps a route this machine already has is never used.  The claim records
the owner (pid and kernel start time) and every namespace, link, mount and
cgroup the lab made, so that the next start removes what a crashed run left.
"""

import errno
import ipaddress
import json
import os
import random
import subprocess
import time

from .waiting import LabError

CLAIM_DIR = "/tmp/ovnlab-claims"
FIRST_OCTET = 10
SECOND_OCTET_RANGE = (200, 254)   # 10.200.x.x .. 10.254.x.x
THIRD_OCTET_RANGE = (0, 255)
CONTROLLER_HOST = 254             # the controller's side of the lab: 10.A.B.254

# SystemRandom: test runners reseed the `random` module, which would make
# parallel runs pick the same sequence of blocks.
_chooser = random.SystemRandom()


class AddressBlock:
    """A claimed 10.A.B.0/24.  `host(n)` is 10.A.B.n."""

    def __init__(self, prefix, claim_file):
        self.prefix = prefix
        self.claim_file = claim_file
        self.tag = "%02x%02x" % tuple(int(part) for part in prefix.split(".")[1:])

    @property
    def cidr(self):
        return f"{self.prefix}.0/24"

    def host(self, number):
        if not 1 <= number <= 254:
            raise ValueError(f"host number {number} outside 1..254")
        return f"{self.prefix}.{number}"

    @property
    def controller_address(self):
        return self.host(CONTROLLER_HOST)

    def record(self, **fields):
        """Add fields to the claim file (what the lab made, for a later clean-up)."""
        try:
            with open(self.claim_file) as claim:
                content = json.load(claim)
        except (OSError, ValueError):
            content = {}
        content.update(fields)
        with open(self.claim_file + ".tmp", "w") as claim:
            json.dump(content, claim)
        os.replace(self.claim_file + ".tmp", self.claim_file)

    def release(self):
        release_claim(self.claim_file)


def release_claim(claim_file):
    try:
        os.unlink(claim_file)
    except FileNotFoundError:
        pass


def _routed_networks():
    """Networks this machine already routes or has addresses in (root namespace)."""
    networks = []
    for argv in (["ip", "-4", "-o", "route", "show", "table", "all"], ["ip", "-4", "-o", "addr"]):
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
        for line in done.stdout.splitlines():
            for word in line.split():
                try:
                    network = ipaddress.ip_network(word, strict=False)
                except ValueError:
                    continue
                if network.prefixlen > 0:
                    networks.append(network)
    return networks


def claim_block(owner, attempts=500):
    """Claim a free 10.A.B.0/24 that overlaps nothing this machine routes.

    `owner` (a dict) is written into the claim file for humans and for the
    clean-up of leftovers (hosts.remove_leftovers).
    """
    os.makedirs(CLAIM_DIR, exist_ok=True)
    try:
        os.chmod(CLAIM_DIR, 0o1777)  # shared by every user's test runs
    except OSError:
        pass
    routed = _routed_networks()
    for _attempt in range(attempts):
        second = _chooser.randint(*SECOND_OCTET_RANGE)
        third = _chooser.randint(*THIRD_OCTET_RANGE)
        prefix = f"{FIRST_OCTET}.{second}.{third}"
        block_network = ipaddress.ip_network(f"{prefix}.0/24")
        if any(block_network.overlaps(network) for network in routed):
            continue
        claim_file = os.path.join(CLAIM_DIR, prefix)
        try:
            descriptor = os.open(claim_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                continue
            raise LabError(f"cannot create claim file {claim_file}: {exc}") from exc
        with os.fdopen(descriptor, "w") as claim:
            json.dump(dict(owner, block=f"{prefix}.0/24", claimed_at=time.time()), claim)
        return AddressBlock(prefix, claim_file)
    raise LabError(f"no free 10.x.y.0/24 block found in {attempts} attempts "
                   f"(claims live in {CLAIM_DIR})")


def claims():
    """(path, content) of every claim file."""
    found = []
    try:
        names = sorted(os.listdir(CLAIM_DIR))
    except FileNotFoundError:
        return found
    for name in names:
        if name.endswith(".tmp"):
            continue
        path = os.path.join(CLAIM_DIR, name)
        try:
            with open(path) as claim:
                found.append((path, json.load(claim)))
        except (OSError, ValueError):
            found.append((path, {}))
    return found
