# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The members of one OVSDB database, each read on its own, for ``cluster_facts``.

Every member is probed over OVSDB (echo, ``_Server.Database``) and, when its control socket
is given, over unixctl (``cluster/status``, ``ovsdb-server/list-remotes``) - all members at
once, each in its own thread (:func:`run_bounded`), so that a stopped member costs its share
of the deadline and no more.  What one member does not answer is recorded as data in that
member's entry.  A ``member_status`` read on the members' own hosts is matched to its
member (:func:`attach_member_status`), and every entry is then annotated: connected,
leader, server id, the leader it reports, its last election (:func:`annotate_members`).
``ovsdb_server_status`` reads control sockets with :func:`read_ctl` and :func:`run_bounded`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import threading
import time

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.cluster_status import parse_cluster_status
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import tls_from_params
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_rpc import RpcChannel, unixctl

_DB_REMOTE_RE = re.compile(r"^db:(?P<database>[^,]+),(?P<table>[^,]+),(?P<column>[^,]+)$")


# --------------------------------------------------------------------------- members

def _probe_ovsdb(request, remote, deadline, out):
    """Echo and _Server.Database row of one member; fills ``out``."""
    channel = None
    try:
        channel = RpcChannel(remote, deadline, tls_from_params(request.params))
        out["echo_rtt_ms"] = round(channel.echo(deadline), 3)
        out["reachable"] = True
        row = channel.server_database(request.database, deadline)
        if row is None:
            out["error"] = "%s: this server does not serve a database named %s" % (
                remote, request.database)
        else:
            out["server"] = dict((key, row.get(key)) for key in
                                 ("model", "connected", "leader", "index", "cid", "sid"))
    except OvsdbError as exc:
        out["error"] = str(exc)
    finally:
        if channel is not None:
            channel.close()


def _probe_ctl(request, ctl_socket, deadline, out):
    """cluster/status and list-remotes of one member; fills ``out``."""
    read_ctl(request.database, ctl_socket, deadline, out)


def read_ctl(database, ctl_socket, deadline, out):
    """cluster/status of ``database`` and list-remotes over one control socket; fills ``out``
    (``cluster_status`` or ``cluster_status_error``, ``listeners`` or ``listeners_error``)."""
    try:
        text = unixctl(ctl_socket, "cluster/status", [database], timeout=deadline.remaining())
        out["cluster_status"] = parse_cluster_status(text)
        out["status_read_at_epoch"] = round(time.time(), 3)
    except OvsdbError as exc:
        out["cluster_status_error"] = str(exc)
    try:
        text = unixctl(ctl_socket, "ovsdb-server/list-remotes", timeout=deadline.remaining())
        out["listeners"] = [describe_listener(line.strip()) for line in text.splitlines()
                            if line.strip()]
    except OvsdbError as exc:
        out["listeners_error"] = str(exc)


def describe_listener(remote):
    """One ``ovsdb-server/list-remotes`` line, marked with where it comes from."""
    match = _DB_REMOTE_RE.match(remote)
    if match:
        return {"remote": remote, "source": "database", "database": match.group("database"),
                "table": match.group("table"), "column": match.group("column")}
    return {"remote": remote, "source": "command_line", "database": None, "table": None,
            "column": None}


def run_bounded(tasks, deadline):
    """Run ``(function, args, out)`` tasks in daemon threads; wait no longer than ``deadline``.

    Returns the set of indexes of tasks that had not finished; their ``out`` must not be
    read (their threads are left to hit their own deadline and die with the process).
    """
    threads = []
    for function, args, out in tasks:
        thread = threading.Thread(target=function, args=args + (out,))
        thread.daemon = True
        thread.start()
        threads.append(thread)
    for thread in threads:
        # A small grace over the deadline: the tasks check it themselves and return just after.
        thread.join(max(0.0, deadline.remaining()) + 0.2)
    return set(index for index, thread in enumerate(threads) if thread.is_alive())


def _member_entry(index, remote, ctl_socket):
    return {
        "index": index, "remote": remote, "ctl_socket": ctl_socket, "host": None,
        "status_source": "ctl_socket" if ctl_socket else None,
        "reachable": False, "error": None, "echo_rtt_ms": None, "server": None,
        "connected": False, "is_leader": False, "role": None, "leader_reported": None,
        "cluster_status": None, "cluster_status_error": None, "status_read_at_epoch": None,
        "last_election": None, "listeners": None, "listeners_error": None,
    }


def gather_members(request, deadline):
    members = [_member_entry(i, r, c) for i, (r, c) in
               enumerate(zip(request.remotes, request.ctl_sockets))]
    tasks = []
    owners = []
    for member in members:
        tasks.append((_probe_ovsdb, (request, member["remote"], deadline), {}))
        owners.append((member, "ovsdb"))
        if member["ctl_socket"]:
            tasks.append((_probe_ctl, (request, member["ctl_socket"], deadline), {}))
            owners.append((member, "ctl"))
    unfinished = run_bounded(tasks, deadline)
    late = "no answer within the member deadline of %.1f s" % deadline.seconds
    for index, ((member, kind), (_function, _args, out)) in enumerate(zip(owners, tasks)):
        if index in unfinished:
            if kind == "ovsdb":
                member["error"] = "%s: %s" % (member["remote"], late)
            else:
                member["cluster_status_error"] = member["cluster_status_error"] or "%s: %s" % (
                    member["ctl_socket"], late)
                member["listeners_error"] = member["listeners_error"] or "%s: %s" % (
                    member["ctl_socket"], late)
            continue
        member.update(out)
    if request.member_status is not None:
        request.unmatched_status = attach_member_status(members, request.member_status)
    return members


def _address_host(address):
    """The host part of a tcp:/ssl: remote or RAFT address (``tcp:10.0.0.1:6643`` -> ``10.0.0.1``)."""
    if not address or ":" not in address:
        return None
    kind, _sep, rest = address.partition(":")
    if kind not in ("tcp", "ssl"):
        return None
    host, _sep, _port = rest.rpartition(":")
    return host.strip("[]") or None


def attach_member_status(members, statuses):
    """Give each member the control-socket part read on its own host (``member_status``).

    A status belongs to the member whose ``_Server`` server id is the one its cluster/status
    names; failing that (the member did not answer over OVSDB), to the member whose remote
    has the host of the RAFT address.  Returns the statuses that matched no member.
    """
    unmatched = []
    free = list(members)
    for status in statuses:
        cluster = status.get("cluster_status") or {}
        sid = cluster.get("server_id")
        owner = None
        if sid:
            owner = next((m for m in free if (m["server"] or {}).get("sid") == sid), None)
        if owner is None and cluster.get("address"):
            address = _address_host(cluster["address"])
            owner = next((m for m in free if address and _address_host(m["remote"]) == address), None)
        if owner is None:
            unmatched.append(status)
            continue
        free.remove(owner)
        owner["host"] = status["host"]
        owner["ctl_socket"] = status.get("ctl_socket")
        owner["status_source"] = "host"
        for key in ("cluster_status", "cluster_status_error", "listeners", "listeners_error"):
            owner[key] = status.get(key)
        owner["status_read_at_epoch"] = status.get("read_at_epoch")
    for member in free:
        member["status_source"] = "host"
        reasons = ["%s: %s" % (s["host"], s.get("cluster_status_error") or "another member's status")
                   for s in unmatched]
        member["cluster_status_error"] = (
            "no member_status read on a member host matches this member%s" % (
                " (unmatched: %s)" % "; ".join(reasons) if reasons else ""))
        member["listeners_error"] = member["cluster_status_error"]
    return unmatched


# --------------------------------------------------------------------------- annotation

def _resolve_sid(sid, known):
    """A full server id for ``sid`` (full, or the 4-hex-digit short form cluster/status prints)."""
    if not sid:
        return None
    matches = sorted(full for full in known if full.startswith(sid))
    return matches[0] if len(matches) == 1 else sid


def annotate_members(members, database):
    known_sids = set()
    for member in members:
        if member["server"] and member["server"].get("sid"):
            known_sids.add(member["server"]["sid"])
        status = member["cluster_status"]
        if status and status.get("server_id"):
            known_sids.add(status["server_id"])
    for member in members:
        server = member["server"] or {}
        status = member["cluster_status"]
        member["connected"] = bool(member["reachable"] and server.get("connected"))
        member["is_leader"] = bool(member["connected"] and server.get("leader"))
        own_sid = server.get("sid") or (status or {}).get("server_id")
        reported = None
        if status is not None:
            member["role"] = status.get("role")
            leader = status.get("leader")
            if leader == "self":
                reported = own_sid
            elif leader:
                reported = _resolve_sid(leader, known_sids)
        elif member["is_leader"]:
            reported = own_sid
        if member["is_leader"] and server.get("model") != "clustered":
            reported = None  # a standalone server is its own "leader"; there is nothing to agree on
        member["leader_reported"] = reported
        member["sid"] = own_sid
        member["address"] = (status or {}).get("address")
        member["last_election"] = last_election(status, member["status_read_at_epoch"])
    return known_sids


def last_election(status, read_at_epoch):
    """The last election this member started, from its cluster/status: when (Unix time) and why.

    ``reason`` is ``timeout`` (an election: the member heard from no leader for an election timer)
    or ``leadership_transfer`` (the leader handed leadership over - before writing a snapshot, or
    as it shut down gracefully); ovsdb-server prints only the last one, and only on the member that
    started it.  None when the member started none since it was started, or when it is not known
    when its status was read.
    """
    if not status or status.get("last_election_started_ms_ago") is None or read_at_epoch is None:
        return None
    won = status.get("last_election_won_ms_ago")
    return {
        "reason": status.get("last_election_reason"),
        "started_at_epoch": round(read_at_epoch - status["last_election_started_ms_ago"] / 1000.0, 3),
        "won_at_epoch": round(read_at_epoch - won / 1000.0, 3) if won is not None else None,
    }
