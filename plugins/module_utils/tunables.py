# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of tunables this collection manages, and the interval parser.

Every fact about a knob (its unit, its accepted range, its default and where it
really lives) is written here once.  Modules validate with it (so the roles,
which call the modules, do too) and ``docs/tunables.md`` is generated from it
(``python -m`` this file, see ``make docs``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import sys

ONE_HOUR_MS = 3600 * 1000

# Where a tunable lives.
KIND_COLUMN = "column"  # a column of every row of a table
KIND_MAP_KEY = "map_key"  # a key of a string map column of the one row of a table
KIND_UNIXCTL = "unixctl"  # set through an ovsdb-server unixctl command
KIND_K8S_ENV = "k8s_env"  # environment variable of a kube-ovn workload (see K8S_WORKLOADS)
KIND_CLIENT = "client"  # a setting of this collection's own OVSDB client


# Where each database keeps its listeners and probe options: the table of its one global row, the
# column of that row that references the listener rows, the table of those rows, and the string map
# of probe options (None: the database has none). Modules, filters and the snapshot read this.
DATABASE_LOCATIONS = {
    "OVN_Northbound": {"table": "NB_Global", "connections": "connections",
                       "connection_table": "Connection", "options": "options"},
    "OVN_Southbound": {"table": "SB_Global", "connections": "connections",
                       "connection_table": "Connection", "options": "options"},
    # kube-ovn's per-server database in clustered mode (--remote=db:Local_Config,Config,connections).
    "Local_Config": {"table": "Config", "connections": "connections",
                     "connection_table": "Connection", "options": None},
    # A chassis' own database: its managers, and ovn-controller's keys in external_ids.
    "Open_vSwitch": {"table": "Open_vSwitch", "connections": "manager_options",
                     "connection_table": "Manager", "options": "external_ids"},
}
# The databases whose listeners are Connection rows, and those whose global row has probe options.
CONNECTION_DATABASES = ("OVN_Northbound", "OVN_Southbound", "Local_Config")
OPTIONS_DATABASES = ("OVN_Northbound", "OVN_Southbound")


def global_tables(databases):
    """``{database: table of its global row}`` for ``databases``."""
    return dict((database, DATABASE_LOCATIONS[database]["table"]) for database in databases)


# The columns of a Connection row: what identifies it, the settings the modules write and compare
# (the probe columns are optional: unset means ovsdb-server's default), and its external_ids.
CONNECTION_SETTINGS = ("inactivity_probe", "max_backoff", "read_only", "role", "other_config")
CONNECTION_PROBE_COLUMNS = ("inactivity_probe", "max_backoff")
CONNECTION_COLUMNS = ("target",) + CONNECTION_SETTINGS + ("external_ids",)


class Tunable(object):
    """One knob: what it is called, its unit and range, and where it lives."""

    def __init__(self, name, unit, minimum, maximum, default, kind, location,
                 databases=(), table=None, column=None, key=None,
                 zero_disables=False, description="", notes="", workload=None, writes=None):
        self.name = name
        self.unit = unit  # "ms", "s" or "count"
        self.minimum = minimum
        self.maximum = maximum
        self.default = default
        self.kind = kind
        self.location = location
        self.databases = tuple(databases)
        self.table = table
        self.column = column
        self.key = key
        self.zero_disables = zero_disables
        self.description = description
        self.notes = notes
        self.workload = workload  # KIND_K8S_ENV: the key of K8S_WORKLOADS whose container reads it
        self.writes = writes  # KIND_K8S_ENV: the tunable the workload writes this value into at a pod start

    def range_text(self):
        if self.unit == "count":
            return "%s-%s" % (self.minimum, self.maximum)
        text = "%s-%s %s" % (self.minimum, self.maximum, self.unit)
        if self.zero_disables:
            text = "0 (disabled) or " + text
        return text

    def as_dict(self):
        return {
            "name": self.name, "unit": self.unit, "minimum": self.minimum,
            "maximum": self.maximum, "default": self.default, "kind": self.kind,
            "location": self.location, "databases": list(self.databases),
            "table": self.table, "column": self.column, "key": self.key,
            "zero_disables": self.zero_disables, "description": self.description,
            "notes": self.notes, "workload": self.workload, "writes": self.writes,
        }


# Why a listener probe of 0 is refused unless the operator allows it (ovsdb_connection, ovn_health's
# expected_probes, the rollout's profile).
DISABLED_LISTENER_PROBE = (
    "ovsdb-server then never notices a client that died without closing its connection (a crashed host, a"
    " cut network) and keeps that client's locks - a dead ovn-northd keeps the ovn_northd lock and the"
    " standby never takes over")


def disabled_listener_probe(param, where, consent):
    """The sentence that refuses a listener probe of 0: ``param`` the option, ``where`` the listener(s),
    ``consent`` how the operator allows it."""
    return "%s: 0 disables the probe of %s; %s. Give a probe (60s is common), or set %s" % (
        param, where, DISABLED_LISTENER_PROBE, consent)


# Why a chassis' SB probe of 0 is worth a warning.
DISABLED_CHASSIS_PROBE = (
    "0 disables ovn-controller's probe of its SB connection: over TCP or SSL it then never notices a dead"
    " SB server or a cut path and keeps waiting on it instead of reconnecting")

TUNABLES = (
    Tunable(
        "inactivity_probe", "ms", 1000, ONE_HOUR_MS, 5000, KIND_COLUMN,
        "Connection.inactivity_probe (rows referenced from NB_Global/SB_Global.connections,"
        " or Local_Config Config.connections in kube-ovn clustered mode)",
        databases=("OVN_Northbound", "OVN_Southbound", "Local_Config"),
        table="Connection", column="inactivity_probe", zero_disables=True,
        description="How long ovsdb-server waits on a silent client of this listener before it"
                    " sends an echo and then drops the connection.",
        notes="Unset means 5000 upstream (60000 in kube-ovn's patched build); ovsdb-server raises"
              " 1-999 to 1000. 0 on a ptcp:/pssl: listener is refused unless allow_disabled_probe is"
              " true: a dead client then keeps its locks (a dead ovn-northd keeps ovn_northd, the"
              " standby never takes over). punix: listeners are never probed. A listener given on the"
              " command line (--remote=ptcp:...) has no row and cannot be tuned at run time."),
    Tunable(
        "max_backoff", "ms", 1000, ONE_HOUR_MS, 8000, KIND_COLUMN,
        "Connection.max_backoff",
        databases=("OVN_Northbound", "OVN_Southbound", "Local_Config"),
        table="Connection", column="max_backoff",
        description="Longest pause between attempts of an active (tcp:/ssl:) connection of the server."),
    Tunable(
        "northd_probe_interval", "ms", 1000, ONE_HOUR_MS, 5000, KIND_MAP_KEY,
        "NB_Global.options:northd_probe_interval",
        databases=("OVN_Northbound",), table="NB_Global", column="options",
        key="northd_probe_interval", zero_disables=True,
        description="Probe interval of ovn-northd's connections to the NB and SB databases.",
        notes="kube-ovn's OVN_NORTHD_PROBE_INTERVAL only sets it when a cluster is bootstrapped."),
    Tunable(
        "nbctl_probe_interval", "ms", 1000, ONE_HOUR_MS, 5000, KIND_MAP_KEY,
        "NB_Global.options:nbctl_probe_interval",
        databases=("OVN_Northbound",), table="NB_Global", column="options",
        key="nbctl_probe_interval", zero_disables=True,
        description="Probe interval of ovn-nbctl (daemon mode) connections."),
    Tunable(
        "ic_probe_interval", "ms", 1000, ONE_HOUR_MS, 5000, KIND_MAP_KEY,
        "NB_Global.options:ic_probe_interval",
        databases=("OVN_Northbound",), table="NB_Global", column="options",
        key="ic_probe_interval", zero_disables=True,
        description="Probe interval of ovn-ic's connections."),
    Tunable(
        "sbctl_probe_interval", "ms", 1000, ONE_HOUR_MS, 5000, KIND_MAP_KEY,
        "SB_Global.options:sbctl_probe_interval, copied there by ovn-northd from"
        " NB_Global.options:sbctl_probe_interval",
        databases=("OVN_Southbound",), table="SB_Global", column="options",
        key="sbctl_probe_interval", zero_disables=True,
        description="Probe interval of ovn-sbctl (daemon mode) connections.",
        notes="ovn-northd replaces SB_Global.options with a copy of NB_Global.options: while it"
              " runs, set this key in OVN_Northbound (a value written to the SB is undone at once)."),
    Tunable(
        "ovn-remote-probe-interval", "ms", 1000, ONE_HOUR_MS, 5000, KIND_MAP_KEY,
        "Open_vSwitch.external_ids:ovn-remote-probe-interval (each chassis' local OVS database)",
        databases=("Open_vSwitch",), table="Open_vSwitch", column="external_ids",
        key="ovn-remote-probe-interval", zero_disables=True,
        description="Probe interval of ovn-controller's connection to the SB database.",
        notes="0 disables it (the modules warn): over TCP/SSL ovn-controller then never notices a dead"
              " SB server or a cut path. A per-chassis key ovn-remote-probe-interval-<system-id> wins over"
              " this one (likewise for the other chassis keys): ovn_chassis_probe reports the value in"
              " force and where it comes from, and per_chassis_keys=set changes both."),
    Tunable(
        "ovn-bridge-remote-probe-interval", "ms", 1000, ONE_HOUR_MS, 5000, KIND_MAP_KEY,
        "Open_vSwitch.external_ids:ovn-bridge-remote-probe-interval",
        databases=("Open_vSwitch",), table="Open_vSwitch", column="external_ids",
        key="ovn-bridge-remote-probe-interval", zero_disables=True,
        description="Probe interval of ovn-controller's OpenFlow connection to the integration bridge.",
        notes="Read by OVN 24.09 and later."),
    Tunable(
        "ovn-openflow-probe-interval", "s", 1, 3600, 0, KIND_MAP_KEY,
        "Open_vSwitch.external_ids:ovn-openflow-probe-interval",
        databases=("Open_vSwitch",), table="Open_vSwitch", column="external_ids",
        key="ovn-openflow-probe-interval", zero_disables=True,
        description="Probe interval, in seconds, of ovn-controller's OpenFlow connection.",
        notes="Ignored since OVN 24.03."),
    Tunable(
        "election_timer", "ms", 100, 600000, 1000, KIND_UNIXCTL,
        "ovs-appctl -t <ctl> cluster/change-election-timer <DB> <ms> (leader only)",
        databases=("OVN_Northbound", "OVN_Southbound"),
        description="RAFT election timer of a clustered database; RAFT peers probe each other at"
                    " the timer + 1000 ms.",
        notes="An increase may at most double the timer per step; one change at a time; persists"
              " once committed."),
    Tunable(
        "relay_source_probe_interval", "ms", 1000, ONE_HOUR_MS, None, KIND_UNIXCTL,
        "ovs-appctl -t <relay's ctl socket> ovsdb-server/set-relay-source-probe-interval <ms> (Open vSwitch"
        " 3.2 and later)",
        databases=("OVN_Southbound",), zero_disables=True,
        description="Probe interval of an OVSDB relay's connection to its source (the cluster).",
        notes="Run time only, on relays whose listeners are not in a --config-file (the server refuses"
              " the command then: change the file). ovsdb-server 3.1 has no such command:"
              " ovsdb_relay_probe reports 'not supported by this server' instead of failing. No command"
              " reads the value back."),
    Tunable(
        "OVN_LEADER_PROBE_INTERVAL", "s", 1, 3600, 5, KIND_K8S_ENV,
        "kube-ovn ovn-central Deployment env OVN_LEADER_PROBE_INTERVAL",
        workload="ovn-central",
        description="Period, in seconds, of kube-ovn's leader-checker loop in each ovn-central pod.",
        notes="Seconds, not milliseconds. Changing the pod template restarts the DB pods."),
    Tunable(
        "OVN_NORTHD_PROBE_INTERVAL", "ms", 1000, ONE_HOUR_MS, 5000, KIND_K8S_ENV,
        "kube-ovn ovn-central Deployment env OVN_NORTHD_PROBE_INTERVAL",
        workload="ovn-central",
        zero_disables=True,
        description="northd probe interval kube-ovn writes to NB_Global.options:northd_probe_interval.",
        notes="In clustered mode applied only when the cluster is first bootstrapped: pair it with"
              " ovn_global_options for the running cluster."),
    Tunable(
        "PROBE_INTERVAL", "ms", 1000, ONE_HOUR_MS, 180000, KIND_K8S_ENV,
        "kube-ovn ovn-central Deployment env PROBE_INTERVAL",
        workload="ovn-central",
        zero_disables=True,
        description="Listener inactivity probe kube-ovn sets on the NB/SB connections.",
        notes="Used on the single-node path only (written to the NB/SB Connection rows at every pod"
              " start); clustered mode listens through Local_Config Connection rows, which kube-ovn"
              " recreates without a probe. Unset means 180000 in kube-ovn's start-db.sh."),
    Tunable(
        "OVN_NORTHD_N_THREADS", "count", 1, 256, 1, KIND_K8S_ENV,
        "kube-ovn ovn-central Deployment env OVN_NORTHD_N_THREADS",
        workload="ovn-central",
        description="Number of ovn-northd worker threads.",
        notes="Passed to ovn-northd at every pod start."),
    Tunable(
        "OVN_REMOTE_PROBE_INTERVAL", "ms", 1000, ONE_HOUR_MS, 10000, KIND_K8S_ENV,
        "kube-ovn ovs-ovn DaemonSet env OVN_REMOTE_PROBE_INTERVAL (openvswitch container)",
        workload="ovs-ovn", writes="ovn-remote-probe-interval",
        zero_disables=True,
        description="The chassis' SB probe kube-ovn's start-ovs.sh writes into the node's"
                    " Open_vSwitch.external_ids:ovn-remote-probe-interval at every ovs-ovn pod start.",
        notes="A live change on the nodes is undone at the next ovs-ovn pod start unless this variable"
              " carries the same value. Changing it changes the DaemonSet's pod template: with"
              " updateStrategy RollingUpdate every node's OVS restarts (refused unless allowed), with"
              " OnDelete it waits for each pod's next restart."),
    Tunable(
        "OVN_REMOTE_OPENFLOW_INTERVAL", "s", 1, 3600, 180, KIND_K8S_ENV,
        "kube-ovn ovs-ovn DaemonSet env OVN_REMOTE_OPENFLOW_INTERVAL (openvswitch container)",
        workload="ovs-ovn", writes="ovn-openflow-probe-interval",
        zero_disables=True,
        description="Seconds, not milliseconds: the OpenFlow probe start-ovs.sh writes into the node's"
                    " Open_vSwitch.external_ids:ovn-openflow-probe-interval at every ovs-ovn pod start.",
        notes="Same restart rules as OVN_REMOTE_PROBE_INTERVAL."),
    Tunable(
        "client_probe_interval", "ms", 1000, ONE_HOUR_MS, 5000, KIND_CLIENT,
        "the client_probe_interval option of every module of this collection",
        zero_disables=True,
        description="Echo interval of the modules' own OVSDB connections: a silent server is"
                    " detected instead of waited on.",
        notes="0 disables it; a stopped server is then only caught by the module timeout."),
)

BY_NAME = dict((t.name, t) for t in TUNABLES)

# The kube-ovn workloads whose container environment holds tunables (KIND_K8S_ENV), as kube-ovn's
# install.sh and Helm chart name them, and the module of this collection that manages each.
K8S_WORKLOADS = {
    "ovn-central": {"kind": "Deployment", "namespace": "kube-system", "name": "ovn-central",
                    "container": "ovn-central", "module": "kubedc.ovn_tuning.ovn_central_env"},
    "ovs-ovn": {"kind": "DaemonSet", "namespace": "kube-system", "name": "ovs-ovn",
                "container": "openvswitch", "module": "kubedc.ovn_tuning.ovs_ovn_env"},
}


def env_tunables(workload=None):
    """name -> Tunable of the kube-ovn environment variables (of one workload when given)."""
    return dict((t.name, t) for t in TUNABLES
                if t.kind == KIND_K8S_ENV and (workload is None or t.workload == workload))


def env_written_by(key):
    """The environment variable a kube-ovn workload writes into the chassis key ``key`` at a pod start."""
    for tunable in TUNABLES:
        if tunable.kind == KIND_K8S_ENV and tunable.writes == key:
            return tunable
    return None


# Map columns that ovn-northd overwrites with a copy of another table's map (seen with OVN
# 23.03: a key written to SB_Global.options directly is removed again at once): {table: source}.
# Keys read from the copy are set in the source.
OPTIONS_COPIED_FROM = {"SB_Global": "NB_Global"}


def get(name):
    return BY_NAME[name]


def by_kind(kind):
    return [t for t in TUNABLES if t.kind == kind]


def map_keys(table):
    """The tunable keys kept in the map column of ``table`` (e.g. NB_Global)."""
    return dict((t.key, t) for t in TUNABLES if t.kind == KIND_MAP_KEY and t.table == table)


def option_keys_set_in(table):
    """``{key: Tunable}`` of the known keys an operator sets in ``table``'s options: its own, plus
    those ovn-northd copies from it into another table (sbctl_probe_interval, read from SB_Global, is
    set in NB_Global while ovn-northd runs; ovn-northd undoes a write to the copy)."""
    keys = dict(map_keys(table))
    for copy, source in OPTIONS_COPIED_FROM.items():
        if source == table:
            keys.update(map_keys(copy))
    return keys


class IntervalError(ValueError):
    """A value that is not an acceptable interval; the message names the parameter."""


_UNIT_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}
_INTERVAL_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def _describe(tunable):
    return "an integer number of %s or a string with a unit ('60s', '5m', '60000ms'): %s" % (
        {"ms": "milliseconds", "s": "seconds"}.get(tunable.unit, tunable.unit),
        tunable.range_text())


def parse_interval(value, tunable, param):
    """Return ``value`` converted to ``tunable.unit`` (an int), or raise IntervalError.

    ``value`` is an int (already in the tunable's unit) or a string with an
    optional unit suffix (ms, s, m, h).  ``param`` is the option name the
    operator wrote, used in every error sentence.
    """
    if isinstance(tunable, str):
        tunable = BY_NAME[tunable]
    if tunable.unit == "count":
        return parse_count(value, tunable, param)
    if isinstance(value, bool) or value is None:
        raise IntervalError("%s: got %r; expected %s" % (param, value, _describe(tunable)))
    if isinstance(value, int):
        number, suffix = value, None
    elif isinstance(value, float) and value == int(value):
        number, suffix = int(value), None
    else:
        match = _INTERVAL_RE.match(str(value))
        if not match:
            raise IntervalError("%s: cannot read %r as an interval; expected %s"
                                % (param, value, _describe(tunable)))
        number, suffix = float(match.group(1)), match.group(2)
    if number < 0:
        raise IntervalError("%s: %r is negative; expected %s" % (param, value, _describe(tunable)))
    if suffix is None:
        converted = number
    else:
        total_ms = number * _UNIT_MS[suffix]
        per_unit = _UNIT_MS[tunable.unit]
        if total_ms % per_unit:
            raise IntervalError("%s: %r is not a whole number of %s; expected %s"
                                % (param, value, tunable.unit, _describe(tunable)))
        converted = total_ms // per_unit
    converted = int(converted)
    if converted == 0:
        if tunable.zero_disables:
            return 0
        raise IntervalError("%s: 0 is not allowed here; expected %s" % (param, _describe(tunable)))
    if converted < tunable.minimum:
        hint = ""
        if (tunable.unit == "ms" and suffix is None and converted == number
                and tunable.minimum <= converted * 1000 <= tunable.maximum):
            hint = " (it looks like seconds; this value is in milliseconds: %d s is %d or '%ds')" % (
                converted, converted * 1000, converted)
        if tunable.unit == "ms" and tunable.minimum == 1000:
            hint = hint[:-1] + "; " if hint else " ("
            hint += "%s would silently raise it to 1000 ms)" % (
                "ovsdb-server" if tunable.kind == KIND_COLUMN else "the OVS library")
        raise IntervalError("%s: %r is below the minimum of %s %s%s; expected %s"
                            % (param, value, tunable.minimum, tunable.unit, hint, _describe(tunable)))
    if converted > tunable.maximum:
        hint = ""
        if tunable.unit == "s" and suffix is None:
            hint = " (it looks like milliseconds; this value is in seconds"
            if converted % 1000 == 0 and tunable.minimum <= converted // 1000 <= tunable.maximum:
                hint += ": %d ms is %d or '%ds'" % (converted, converted // 1000, converted // 1000)
            hint += ")"
        elif tunable.maximum == ONE_HOUR_MS:
            hint = " (over one hour is almost always a seconds/milliseconds mistake)"
        raise IntervalError("%s: %r is above the maximum of %s %s%s; expected %s"
                            % (param, value, tunable.maximum, tunable.unit, hint, _describe(tunable)))
    return converted


def parse_count(value, tunable, param):
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise IntervalError("%s: %r is not a whole number; expected a whole number %s"
                            % (param, value, tunable.range_text()))
    if number < tunable.minimum or number > tunable.maximum:
        raise IntervalError("%s: %r is out of range; expected a whole number %s"
                            % (param, value, tunable.range_text()))
    return number


def markdown_table():
    """The reference table of docs/tunables.md."""
    lines = [
        "| tunable | unit | accepted | default | where it lives | notes |",
        "|---|---|---|---|---|---|",
    ]
    for t in TUNABLES:
        notes = " ".join(x for x in (t.description, t.notes) if x)
        lines.append("| `%s` | %s | %s | %s | %s | %s |" % (
            t.name, t.unit, t.range_text(), "the server's" if t.default is None else t.default, t.location,
            notes))
    return "\n".join(lines) + "\n"


DOC_HEADER = """# Tunables

Every knob kubedc.ovn_tuning manages: its unit, the values the modules accept, the default the
software uses when the knob is unset, and where the value really lives. This page is generated from
`plugins/module_utils/tunables.py` (`make docs`); the test suite fails when the two disagree.

Intervals are given to the modules as an integer in the knob's unit or as a string with a unit
(`"60s"`, `"5m"`, `"60000ms"`). Negative values, 1-999 ms (ovsdb-server silently raises them to
1000 ms) and values over one hour (almost always a seconds/milliseconds mistake) are refused; `0`
means "disabled" where OVS allows it.

"""


def markdown_page():
    return DOC_HEADER + markdown_table()


if __name__ == "__main__":
    sys.stdout.write(markdown_page())
