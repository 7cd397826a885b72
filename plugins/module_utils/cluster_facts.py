# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about one OVSDB database and its cluster members, gathered within one deadline.

Shared by ``ovsdb_cluster_info`` (which returns them) and ``ovn_health`` (which judges
them).  Every member is probed on its own (``cluster_members``: over OVSDB and, when its
control socket is given, over unixctl), all members at once, each in its own thread, so
that a stopped member costs its share of the deadline and no more.  What one member does
not answer is recorded as data in that member's entry; only bad input raises.  Here: the
options of a facts read, the summary across the members, the probe settings (listener rows
and probe options, read from the leader or another connected member) and :func:`gather`,
which puts them together.

The document built here (``cluster``) is a stable, documented structure: health gates,
JMESPath assertions and the Prometheus metrics all read it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import chassis_probe, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.cluster_members import annotate_members, gather_members
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Backoff, Deadline, OvsdbConfigError, OvsdbError, parse_remotes)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_client import OvsdbClient, row_to_dict
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    tls_from_params, validate_connection_params)

# Options shared by the modules that gather facts (connection options come on top).
FACTS_SPEC = dict(
    database=dict(type="str", required=True),
    ctl_socket=dict(type="list", elements="path"),
    member_status=dict(type="list", elements="dict"),
    probe_settings=dict(type="bool", default=True),
)

# ``ctl_socket`` (sockets on this host) and ``member_status`` (read on the members' hosts) are
# two ways to give the same part of the facts.
FACTS_MUTUALLY_EXCLUSIVE = [("ctl_socket", "member_status")]

# The keys of one ``member_status`` entry: an ``ovsdb_server_status`` read of one database
# (its ``servers`` entry) with the inventory name of the host it was read on.
MEMBER_STATUS_KEYS = ("host", "ctl_socket", "cluster_status", "cluster_status_error", "listeners",
                      "listeners_error", "read_at_epoch")

# Share of ``timeout`` the members get (all at once) when the probe settings are read
# afterwards; the rest is left for that read.
MEMBER_SHARE = 0.6

# Where each database keeps its listener rows and its probe options: the one row of
# ``table`` references the listener rows through ``connections`` and keeps probe keys
# (those of tunables.map_keys(table)) in ``options``.
PROBE_LOCATIONS = tunables.DATABASE_LOCATIONS

# Columns of a listener row worth reporting; the ones a schema lacks are skipped.
CONNECTION_COLUMNS = ("target",) + tunables.CONNECTION_SETTINGS[:4]

# The cluster/status Status of a healthy member.
MEMBER_OK_STATUS = "cluster member"

_DATABASE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FactsRequest(object):
    """Validated options of one facts read."""

    def __init__(self, database, remotes, ctl_sockets, timeout, probe_settings, params,
                 member_status=None):
        self.database = database
        self.remotes = remotes
        self.ctl_sockets = ctl_sockets
        self.member_status = member_status
        self.unmatched_status = []
        self.timeout = timeout
        self.probe_settings = probe_settings
        self.params = params


def validate_facts_params(params):
    """Check the options of a facts read before anything is contacted; returns a FactsRequest.

    Raises OvsdbError (a sentence naming the option) on bad input.
    """
    database = params.get("database")
    if not database or not _DATABASE_NAME_RE.match(str(database)):
        raise OvsdbConfigError(
            "database: %r is not a database name; expected OVN_Northbound, OVN_Southbound or another"
            " OVSDB database name such as Local_Config or Open_vSwitch" % (database,))
    remote = validate_connection_params(params, database)
    remotes = parse_remotes(remote)
    ctl_sockets = [None] * len(remotes)
    given = params.get("ctl_socket")
    if given:
        if len(given) != len(remotes):
            raise OvsdbConfigError(
                "ctl_socket: give one control socket per remote, in the same order as remote"
                " (an empty string for a member without one); got %d socket(s) for %d remote(s)"
                % (len(given), len(remotes)))
        ctl_sockets = [str(path) if path else None for path in given]
    member_status = validate_member_status(params.get("member_status"))
    return FactsRequest(database, remotes, ctl_sockets, float(params["timeout"]),
                        bool(params.get("probe_settings", True)), params, member_status)


def validate_member_status(entries, param="member_status"):
    """The ``member_status`` entries, checked; None when not given."""
    if entries is None:
        return None
    checked = []
    hosts = set()
    for index, entry in enumerate(entries):
        where = "%s[%d]" % (param, index)
        unknown = sorted(set(entry) - set(MEMBER_STATUS_KEYS))
        if unknown:
            raise OvsdbConfigError("%s: unknown key(s) %s; accepted: %s" % (
                where, ", ".join(unknown), ", ".join(MEMBER_STATUS_KEYS)))
        host = entry.get("host")
        if not host or not isinstance(host, str):
            raise OvsdbConfigError("%s.host: the inventory name of the host the status was read on is"
                                   " required, got %r" % (where, host))
        if host in hosts:
            raise OvsdbConfigError("%s.host: %s is given twice; one entry per member host" % (where, host))
        hosts.add(host)
        for key in ("cluster_status", ):
            if entry.get(key) is not None and not isinstance(entry[key], dict):
                raise OvsdbConfigError("%s.%s: must be the parsed cluster/status of an"
                                       " ovsdb_server_status read, got %r" % (where, key, entry[key]))
        if entry.get("listeners") is not None and not isinstance(entry["listeners"], list):
            raise OvsdbConfigError("%s.listeners: must be a list, got %r" % (where, entry["listeners"]))
        item = dict((key, entry.get(key)) for key in MEMBER_STATUS_KEYS)
        if item["cluster_status"] is None and not item["cluster_status_error"]:
            item["cluster_status_error"] = "%s: no cluster/status read on this host" % host
        checked.append(item)
    return checked


# --------------------------------------------------------------------------- summary

def _max_or_none(values):
    values = [v for v in values if isinstance(v, int)]
    return max(values) if values else None


def summarize(members):
    """The ``summary`` of a ``cluster`` document from its annotated members."""
    models = sorted(set(m["server"]["model"] for m in members if m["server"] and m["server"].get("model")))
    model = models[0] if len(models) == 1 else (None if not models else "mixed")
    status_read = [m for m in members if m["cluster_status"] is not None]
    leader_member = next((m for m in members if m["is_leader"]), None)

    server_lists = [len(m["cluster_status"].get("servers", [])) for m in status_read]
    leader_status = leader_member["cluster_status"] if leader_member else None
    if leader_status and leader_status.get("servers"):
        members_total = len(leader_status["servers"])
    elif server_lists and max(server_lists):
        members_total = max(server_lists)
    else:
        members_total = len(members)
    members_connected = sum(1 for m in members if m["connected"])

    leaders_reported = sorted(set(m["leader_reported"] for m in members if m["leader_reported"]))
    if model == "clustered":
        leader_agreed = len(leaders_reported) == 1
    else:
        leader_agreed = leader_member is not None

    leader = None
    if leader_member is not None:
        leader = {"sid": leader_member["sid"], "address": leader_member["address"],
                  "remote": leader_member["remote"]}
    elif len(leaders_reported) == 1:
        sid = leaders_reported[0]
        owner = next((m for m in members if m["sid"] == sid), None)
        address = owner["address"] if owner else None
        if address is None:
            for m in status_read:
                for server in m["cluster_status"].get("servers", []):
                    if sid.startswith(server["sid"]):
                        address = server["address"]
        leader = {"sid": sid, "address": address, "remote": owner["remote"] if owner else None}

    if model == "clustered":
        quorum = members_connected > members_total / 2.0 and leader is not None
    else:
        quorum = members_connected > 0

    cluster_ids = set()
    for m in members:
        if m["server"] and m["server"].get("cid"):
            cluster_ids.add(m["server"]["cid"])
        if m["cluster_status"] and m["cluster_status"].get("cluster_id"):
            cluster_ids.add(m["cluster_status"]["cluster_id"])

    timer_source = leader_status if leader_status is not None else None
    election_timer = (timer_source or {}).get("election_timer")
    if election_timer is None:
        election_timer = _max_or_none(m["cluster_status"].get("election_timer") for m in status_read)
    pending = (timer_source or {}).get("election_timer_pending")
    if pending is None:
        pending = _max_or_none(m["cluster_status"].get("election_timer_pending") for m in status_read)

    disconnections = [m["cluster_status"].get("disconnections") for m in status_read]
    disconnections = [d for d in disconnections if isinstance(d, int)]
    command_line = sorted(set(
        listener["remote"] for m in members for listener in (m["listeners"] or [])
        if listener["source"] == "command_line"))
    return {
        "model": model,
        "leader": leader,
        "leaders_reported": leaders_reported,
        "leader_agreed": leader_agreed,
        "members_total": members_total,
        "members_reachable": sum(1 for m in members if m["reachable"]),
        "members_connected": members_connected,
        "members_status_read": len(status_read),
        "quorum": bool(quorum),
        "term": _max_or_none(m["cluster_status"].get("term") for m in status_read),
        "cluster_id": sorted(cluster_ids)[0] if len(cluster_ids) == 1 else None,
        "cluster_id_agreed": len(cluster_ids) <= 1,
        "election_timer": election_timer,
        "election_timer_pending": pending,
        "disconnections_total": sum(disconnections) if disconnections else None,
        "entries_not_committed_max": _max_or_none(
            m["cluster_status"].get("entries_not_yet_committed") for m in status_read),
        "entries_not_applied_max": _max_or_none(
            m["cluster_status"].get("entries_not_yet_applied") for m in status_read),
        "command_line_listeners": command_line,
    }


# --------------------------------------------------------------------------- probe settings

def effective_interval(value, tunable_name):
    """What the server uses for a listener/probe value: the default when unset, 1-999 raised to 1000."""
    tunable = tunables.get(tunable_name)
    if value is None:
        return tunable.default
    if tunable.unit == "ms" and tunable.minimum == 1000 and 0 < value < 1000:
        return 1000
    return value


def _settings_candidates(members):
    connected = sorted((m for m in members if m["connected"]),
                       key=lambda m: (not m["is_leader"], m["echo_rtt_ms"] or 0.0))
    return [m["remote"] for m in connected]


def read_probe_settings(request, members, deadline):
    """Listener rows and probe options, from the leader or else any connected member."""
    location = PROBE_LOCATIONS.get(request.database)
    settings = {"read_from": None, "error": None, "table": None, "connections": [],
                "options": {}, "options_effective": {}}
    if location is None:
        settings["error"] = ("no probe settings are known for database %s (known: %s)"
                             % (request.database, ", ".join(sorted(PROBE_LOCATIONS))))
        return settings
    settings["table"] = location["table"]
    global_columns = [location["connections"]] + ([location["options"]] if location["options"] else [])
    tables = {location["table"]: global_columns,
              location["connection_table"]: list(CONNECTION_COLUMNS)}
    candidates = _settings_candidates(members)
    if not candidates:
        settings["error"] = "no member is reachable and connected to its cluster"
        return settings
    errors = []
    params = request.params
    for position, remote in enumerate(candidates):
        if deadline.expired():
            errors.append("%s: not tried, the deadline of %.1f s passed" % (remote, request.timeout))
            continue
        # Each candidate gets an equal share of what is left, so one that stalls leaves time
        # for the next.
        share = max(0.1, deadline.remaining() / (len(candidates) - position))
        client = OvsdbClient(remote, request.database, tables, timeout=share,
                             leader_only=False,
                             probe_interval_ms=tunables.parse_interval(
                                 params["client_probe_interval"], "client_probe_interval",
                                 "client_probe_interval"),
                             backoff=Backoff(params["backoff_initial"], maximum=params["backoff_max"]),
                             tls=tls_from_params(params))
        try:
            client.connect(Deadline(share, "reading probe settings from %s" % remote))
            settings.update(_settings_from_client(client, location))
            settings["read_from"] = remote
            settings["error"] = None
            return settings
        except OvsdbError as exc:
            errors.append(str(exc))
        finally:
            client.close()
    settings["error"] = "; ".join(errors)
    return settings


def _settings_from_client(client, location):
    monitored = client.monitored()
    connection_columns = [c for c in CONNECTION_COLUMNS if c in monitored.get(location["connection_table"], [])]
    referenced = set()
    options = {}
    global_rows = client.rows(location["table"])
    if global_rows:
        row = global_rows[0]
        referenced = set(str(ref.uuid) for ref in getattr(row, location["connections"]))
        if location["options"]:
            options = dict((str(k), str(v)) for k, v in getattr(row, location["options"]).items())
    connections = []
    for row in client.rows(location["connection_table"]):
        data = row_to_dict(row, connection_columns)
        entry = {"uuid": data.pop("_uuid")}
        entry.update(data)
        entry["referenced"] = entry["uuid"] in referenced
        entry["inactivity_probe_effective"] = effective_interval(
            entry.get("inactivity_probe"), "inactivity_probe")
        entry["max_backoff_effective"] = effective_interval(entry.get("max_backoff"), "max_backoff")
        connections.append(entry)
    connections.sort(key=lambda c: (not c["referenced"], str(c.get("target"))))
    probe_keys = tunables.map_keys(location["table"]) if location["options"] else {}
    # A chassis' ovn-controller reads its per-chassis key (KEY-<system-id>) before the plain one.
    sources = dict((key, read["from"]) for key, read in chassis_probe.effective(options).items()) \
        if location["table"] == chassis_probe.TABLE else {}
    set_options = {}
    effective = {}
    for key, tunable in sorted(probe_keys.items()):
        raw = options.get(sources.get(key) or key)
        value = None
        if raw is not None:
            try:
                value = int(raw)
            except ValueError:
                value = raw
        if raw is not None:
            set_options[key] = value
        effective[key] = value if isinstance(value, int) else tunable.default
    settings = {"connections": connections, "options": set_options, "options_effective": effective}
    if sources:
        settings["options_from"] = sources
    return settings


def annotate_listeners(members, settings):
    """Mark command-line listeners whose target equals a referenced listener row: ovsdb-server
    then applies that row's options to them, so they are tunable after all."""
    targets = {}
    for row in (settings or {}).get("connections", []):
        if row.get("referenced") and row.get("target"):
            targets[row["target"]] = row
    table = (settings or {}).get("table")
    for member in members:
        # The rows reach a server's listeners only through its db: remote of that table; a relay
        # (or a server listening through Local_Config) reads none of the rows seen through it.
        rows_apply = any(listener["source"] == "database" and listener.get("table") == table
                         for listener in member["listeners"] or [])
        for listener in member["listeners"] or []:
            if listener["source"] == "database":
                listener["tunable"] = True
                listener["inactivity_probe_effective"] = None
                continue
            if listener["remote"].startswith("punix:"):
                # ovsdb-server gives command-line unix listeners no probe at all (their
                # clients are local): nothing to tune and nothing to warn about.
                listener["probed"] = False
                listener["tunable"] = False
                listener["inactivity_probe_effective"] = 0
                continue
            listener["probed"] = True
            row = targets.get(listener["remote"]) if rows_apply else None
            listener["tunable"] = row is not None
            listener["inactivity_probe_effective"] = (
                row["inactivity_probe_effective"] if row is not None
                else tunables.get("inactivity_probe").default)


# --------------------------------------------------------------------------- entry point

def gather(request):
    """The ``cluster`` document of ``request.database``, read within ``request.timeout`` seconds."""
    started_wall = time.time()
    started = time.monotonic()
    overall = Deadline(request.timeout, "gathering facts of %s" % request.database)
    share = MEMBER_SHARE if request.probe_settings else 0.95
    members = gather_members(request, Deadline(request.timeout * share, "probing members"))
    annotate_members(members, request.database)
    settings = None
    if request.probe_settings:
        settings = read_probe_settings(request, members, overall)
    annotate_listeners(members, settings)
    summary = summarize(members)
    warnings = []
    for status in request.unmatched_status:
        cluster = status.get("cluster_status") or {}
        warnings.append(
            "member_status read on %s matches no member of remote %s (%s)" % (
                status["host"], ",".join(request.remotes),
                "server id %s, RAFT address %s" % (cluster.get("server_id"), cluster.get("address"))
                if cluster else status.get("cluster_status_error")))
    table = (settings or {}).get("table")
    for member in members:
        relay = (member["server"] or {}).get("model") == "relay"
        for listener in member["listeners"] or []:
            if (listener["source"] != "command_line" or listener["tunable"]
                    or not listener.get("probed", True)):
                continue
            if relay:
                why = "it is a relay; the %s rows seen through it are its source's" % (table or "listener")
            else:
                why = "no listener row with that target is referenced from %s and read by it" % (
                    table or "the database's global row")
            warnings.append(
                "%s serves %s given on its command line%s: that listener's inactivity probe is the built-in"
                " default and cannot be changed at run time (%s)" % (
                    member["remote"], listener["remote"], " (or in its --config-file)" if relay else "", why))
    return {
        "database": request.database,
        "collected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_wall)),
        "collected_at_epoch": round(started_wall, 3),
        "duration_ms": round((time.monotonic() - started) * 1000.0, 1),
        "timeout": request.timeout,
        "members": members,
        "summary": summary,
        "probe_settings": settings,
        "warnings": warnings,
    }
