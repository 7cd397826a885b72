"""What runs where: the databases, the members of their clusters and the
chassis, each on a host of its own (hosts.py), at the paths a real host uses.

Member i (from 0) of the NB and SB clusters runs on central host i + 1
(10.A.B.(i+1)); chassis j (from 1) is host 10.A.B.(100+j).  Paths in a
member's or chassis' info are the paths inside its host ("host_ctl", ...);
"ctl", "ovs_remote" and the log and db files are the same files seen from
the controller through the lab's workdir, for the lab's own bookkeeping.
"""

from dataclasses import dataclass

OVN_NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"
OVN_SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema"
VSWITCH_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
LOCAL_CONFIG_SCHEMA = "/usr/share/openvswitch/local-config.ovsschema"

CHASSIS_HOST_BASE = 100  # chassis j is 10.A.B.(100 + j)


@dataclass(frozen=True)
class DatabaseSpec:
    key: str            # "nb" / "sb"
    name: str           # OVSDB database name
    schema: str
    global_table: str   # the root table whose "connections" column lists listeners
    port: int           # client port, the same on every member
    raft_port: int      # RAFT port, the same on every member
    extra_port: int     # kube-ovn mode: an extra command-line listener
    file_stem: str      # ovn-ctl's names: ovnnb_db / ovnsb_db
    log_name: str       # ovn-ctl's log file names

    @property
    def db_remote(self):
        """The --remote that makes a server listen on the global row's Connection rows."""
        return f"db:{self.name},{self.global_table},connections"

    def listen_target(self, ssl=False):
        """The listener as ovn-ctl, kolla-ansible and kube-ovn set it: every address of the host."""
        return f"{'pssl' if ssl else 'ptcp'}:{self.port}:0.0.0.0"

    def extra_target(self, ssl=False):
        return f"{'pssl' if ssl else 'ptcp'}:{self.extra_port}:0.0.0.0"


DATABASES = {
    "nb": DatabaseSpec("nb", "OVN_Northbound", OVN_NB_SCHEMA, "NB_Global", 6641, 6643, 6651,
                       "ovnnb_db", "ovsdb-server-nb"),
    "sb": DatabaseSpec("sb", "OVN_Southbound", OVN_SB_SCHEMA, "SB_Global", 6642, 6644, 6652,
                       "ovnsb_db", "ovsdb-server-sb"),
}


class Member:
    """One RAFT member (one ovsdb-server) of the NB or SB cluster, on its host."""

    def __init__(self, spec, index, host, kube_ovn, ssl=False):
        self.spec = spec
        self.index = index
        self.host = host
        self.address = host.address
        self.key = f"{spec.key}/{index}"
        stem = spec.file_stem
        self.host_db_file = f"/var/lib/ovn/{stem}.db"
        self.host_log_file = f"/var/log/ovn/{spec.log_name}.log"
        self.host_ctl = f"/run/ovn/{stem}.ctl"
        self.host_pid_file = f"/run/ovn/{stem}.pid"
        self.host_unix_socket = f"/run/ovn/{stem}.sock"
        self.host_local_config_file = f"/etc/ovn/{stem}_local_config.db" if kube_ovn else None
        self.db_file = host.path(self.host_db_file)
        self.log_file = host.path(self.host_log_file)
        self.ctl = host.path(self.host_ctl)
        self.local_config_file = host.path(self.host_local_config_file) if kube_ovn else None
        proto = "ssl" if ssl else "tcp"
        self.remote = f"{proto}:{self.address}:{spec.port}"
        self.raft = f"{proto}:{self.address}:{spec.raft_port}"
        self.extra_remote = f"{proto}:{self.address}:{spec.extra_port}" if kube_ovn else None
        self.process = None

    def info(self):
        return {
            "index": self.index,
            "host": self.host.name,
            "address": self.address,
            "remote": self.remote,
            "raft": self.raft,
            "host_ctl": self.host_ctl,
            "host_unix": f"unix:{self.host_unix_socket}",
            "host_db_file": self.host_db_file,
            "ctl": self.ctl,
            "unix": f"unix:{self.host.path(self.host_unix_socket)}",
            "pid": self.process.pid if self.process else None,
            "db_file": self.db_file,
            "log_file": self.log_file,
            "local_config_file": self.local_config_file,
            "extra_remote": self.extra_remote,
        }


class Chassis:
    """A hypervisor with a userspace datapath: its own Open_vSwitch ovsdb-server on
    /run/openvswitch/db.sock, ovs-vswitchd (br-int of datapath type netdev: no kernel
    module) and an ovn-controller that registers it in the SB and installs its flows -
    which is what makes it acknowledge nb_cfg in Chassis_Private, as a real one does."""

    def __init__(self, number, host):
        self.number = number
        self.name = f"chassis-{number}"
        self.host = host
        self.encap_ip = host.address
        self.host_db_file = "/etc/openvswitch/conf.db"
        self.host_ovs_socket = "/run/openvswitch/db.sock"
        self.host_ovs_pid_file = "/run/openvswitch/ovsdb-server.pid"
        self.host_ovs_log_file = "/var/log/openvswitch/ovsdb-server.log"
        self.host_vswitchd_pid_file = "/run/openvswitch/ovs-vswitchd.pid"
        self.host_vswitchd_log_file = "/var/log/openvswitch/ovs-vswitchd.log"
        self.host_controller_pid_file = "/run/ovn/ovn-controller.pid"
        self.host_controller_log_file = "/var/log/ovn/ovn-controller.log"
        self.db_file = host.path(self.host_db_file)
        self.ovs_socket = host.path(self.host_ovs_socket)
        self.ovs_remote = f"unix:{self.ovs_socket}"
        self.ovs_log_file = host.path(self.host_ovs_log_file)
        self.controller_log_file = host.path(self.host_controller_log_file)
        self.vswitchd_log_file = host.path(self.host_vswitchd_log_file)
        self.ovsdb = None
        self.vswitchd = None
        self.controller = None

    def _host_ctl(self, process, program, directory):
        return f"/run/{directory}/{program}.{process.pid}.ctl" if process else None

    def info(self):
        host_ovs_ctl = self._host_ctl(self.ovsdb, "ovsdb-server", "openvswitch")
        host_controller_ctl = self._host_ctl(self.controller, "ovn-controller", "ovn")
        return {
            "name": self.name,
            "host": self.host.name,
            "address": self.host.address,
            "host_ovs_remote": f"unix:{self.host_ovs_socket}",
            "host_ovs_ctl": host_ovs_ctl,
            "host_controller_ctl": host_controller_ctl,
            "ovs_remote": self.ovs_remote,
            "ovs_ctl": self.host.path(host_ovs_ctl) if host_ovs_ctl else None,
            "ovsdb_pid": self.ovsdb.pid if self.ovsdb else None,
            "controller_pid": self.controller.pid if self.controller else None,
            "controller_ctl": self.host.path(host_controller_ctl) if host_controller_ctl else None,
            "encap_ip": self.encap_ip,
            "db_file": self.db_file,
            "ovsdb_log_file": self.ovs_log_file,
            "controller_log_file": self.controller_log_file,
            "vswitchd_pid": self.vswitchd.pid if self.vswitchd else None,
            "vswitchd_log_file": self.vswitchd_log_file,
        }
