"""What runs where: the databases, the members of their clusters and the
chassis, with the names of their files in the workdir.

Member i (from 0) of the NB and SB clusters uses 127.A.B.(i+1) with the same
ports on every member, as separate hosts would; chassis j (from 1) uses
127.A.B.(100+j) as its tunnel (encap) address.
"""

import os
from dataclasses import dataclass

OVN_NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
OVN_SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VSWITCH_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
LOCAL_CONFIG_SCHEMA = "/usr/share/openvswitch/local-config.ovsschema"

CHASSIS_HOST_BASE = 100  # chassis j gets 127.A.B.(100 + j)


@dataclass(frozen=True)
class DatabaseSpec:
    key: str            # "nb" / "sb"
    name: str           # OVSDB database name
    schema: str
    global_table: str   # the root table whose "connections" column lists listeners
    port: int           # client port, the same on every member
    raft_port: int      # RAFT port, the same on every member
    extra_port: int     # kube-ovn mode: an extra command-line listener

    @property
    def db_remote(self):
        """The --remote that makes a server listen on the global row's Connection rows."""
        return f"db:{self.name},{self.global_table},connections"


DATABASES = {
    "nb": DatabaseSpec("nb", "OVN_Northbound", OVN_NB_SCHEMA, "NB_Global", 6641, 6643, 6651),
    "sb": DatabaseSpec("sb", "OVN_Southbound", OVN_SB_SCHEMA, "SB_Global", 6642, 6644, 6652),
}


class Member:
    """One RAFT member (one ovsdb-server) of the NB or SB cluster."""

    def __init__(self, spec, index, address, workdir, kube_ovn):
        stem = os.path.join(workdir, f"{spec.key}{index + 1}")
        self.spec = spec
        self.index = index
        self.address = address
        self.key = f"{spec.key}/{index}"
        self.db_file = f"{stem}.db"
        self.log_file = f"{stem}.log"
        self.ctl = f"{stem}.ctl"
        self.pid_file = f"{stem}.pid"
        self.unix_socket = f"{stem}.sock"
        self.local_config_file = f"{stem}-local-config.db" if kube_ovn else None
        self.remote = f"tcp:{address}:{spec.port}"
        self.raft = f"tcp:{address}:{spec.raft_port}"
        self.listen_target = f"ptcp:{spec.port}:{address}"
        self.extra_remote = f"tcp:{address}:{spec.extra_port}" if kube_ovn else None
        self.process = None

    def info(self):
        return {
            "index": self.index,
            "address": self.address,
            "remote": self.remote,
            "raft": self.raft,
            "ctl": self.ctl,
            "unix": f"unix:{self.unix_socket}",
            "pid": self.process.pid if self.process else None,
            "db_file": self.db_file,
            "log_file": self.log_file,
            "local_config_file": self.local_config_file,
            "extra_remote": self.extra_remote,
        }


class Chassis:
    """A hypervisor without a datapath: its own Open_vSwitch ovsdb-server on a
    unix socket, and an ovn-controller that registers it in the SB."""

    def __init__(self, number, encap_ip, workdir):
        self.name = f"chassis-{number}"
        self.encap_ip = encap_ip
        self.db_file = os.path.join(workdir, f"ovs{number}.db")
        self.ovs_socket = os.path.join(workdir, f"ovs{number}.sock")
        self.ovs_remote = f"unix:{self.ovs_socket}"
        self.ovs_ctl = os.path.join(workdir, f"ovs{number}.ctl")
        self.ovs_log_file = os.path.join(workdir, f"ovs{number}.log")
        self.ovs_pid_file = os.path.join(workdir, f"ovs{number}.pid")
        self.controller_log_file = os.path.join(workdir, f"controller{number}.log")
        self.controller_pid_file = os.path.join(workdir, f"controller{number}.pid")
        self.ovsdb = None
        self.controller = None

    def info(self):
        return {
            "name": self.name,
            "ovs_remote": self.ovs_remote,
            "ovs_ctl": self.ovs_ctl,
            "ovsdb_pid": self.ovsdb.pid if self.ovsdb else None,
            "controller_pid": self.controller.pid if self.controller else None,
            "controller_ctl": self.controller.ctl if self.controller else None,
            "encap_ip": self.encap_ip,
            "db_file": self.db_file,
            "ovsdb_log_file": self.ovs_log_file,
            "controller_log_file": self.controller_log_file,
        }
