"""ovnlab: real OVN NB/SB RAFT clusters, ovn-northd and chassis, each node a host
of its own (network, mount and UTS namespaces, sshd), for tests and demos.
See docs/lab.md."""

from .inventory import inventory
from .lab import Lab, parse_cluster_status
from .layout import DATABASES
from .rpc import RpcError, select, transact, unixctl
from .state import read_state, recorded_status, stop_recorded
from .waiting import LabError, LabTimeout

__all__ = [
    "DATABASES",
    "Lab",
    "inventory",
    "LabError",
    "LabTimeout",
    "RpcError",
    "parse_cluster_status",
    "read_state",
    "recorded_status",
    "select",
    "stop_recorded",
    "transact",
    "unixctl",
]
