"""Loopback address blocks: each lab gets its own 127.A.B.0/24.

Linux routes all of 127.0.0.0/8 to the loopback interface, so any 127.x.y.z
can be bound without configuration.  A block is claimed by creating a file
named after it with O_EXCL under CLAIM_DIR, which is atomic across processes,
so labs started by parallel test runs never share addresses.  The claim is
removed when the lab stops.  A claim left by a crashed run only makes its
block unavailable; there are 25,600 blocks to choose from.
"""

import errno
import json
import os
import random
import socket
import time

from .waiting import LabError

CLAIM_DIR = "/tmp/ovnlab-claims"
FIRST_OCTET_RANGE = (100, 199)  # 127.100.x.x .. 127.199.x.x: clear of 127.0.0.0/16
SECOND_OCTET_RANGE = (0, 255)

# SystemRandom: test runners reseed the `random` module, which would make
# parallel runs pick the same sequence of blocks.
_chooser = random.SystemRandom()


class AddressBlock:
    """A claimed 127.A.B.0/24.  `host(n)` is 127.A.B.n."""

    def __init__(self, prefix, claim_file):
        self.prefix = prefix
        self.claim_file = claim_file

    @property
    def cidr(self):
        return f"{self.prefix}.0/24"

    def host(self, number):
        if not 1 <= number <= 254:
            raise ValueError(f"host number {number} outside 1..254")
        return f"{self.prefix}.{number}"

    def release(self):
        release_claim(self.claim_file)


def release_claim(claim_file):
    try:
        os.unlink(claim_file)
    except FileNotFoundError:
        pass


def _ports_free(addresses, ports):
    """True when nothing is bound to any address:port (a process that ignores
    claims could still be using the block)."""
    for address in addresses:
        for port in ports:
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((address, port))
            except OSError:
                return False
            finally:
                probe.close()
    return True


def claim_block(owner, host_numbers, ports, attempts=500):
    """Claim a free 127.A.B.0/24 whose given hosts have the given ports free.

    `owner` (a dict) is written into the claim file for humans and for
    `python -m ovnlab stop`.
    """
    os.makedirs(CLAIM_DIR, exist_ok=True)
    try:
        os.chmod(CLAIM_DIR, 0o1777)  # shared by every user's test runs
    except OSError:
        pass
    for _attempt in range(attempts):
        first = _chooser.randint(*FIRST_OCTET_RANGE)
        second = _chooser.randint(*SECOND_OCTET_RANGE)
        prefix = f"127.{first}.{second}"
        claim_file = os.path.join(CLAIM_DIR, prefix)
        try:
            descriptor = os.open(claim_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                continue
            raise LabError(f"cannot create claim file {claim_file}: {exc}") from exc
        with os.fdopen(descriptor, "w") as claim:
            json.dump(dict(owner, claimed_at=time.time()), claim)
        block = AddressBlock(prefix, claim_file)
        if _ports_free([block.host(n) for n in host_numbers], ports):
            return block
        block.release()
    raise LabError(f"no free 127.x.y.0/24 block found in {attempts} attempts "
                   f"(claims live in {CLAIM_DIR})")
