# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The text of ovsdb-server's ``cluster/status`` unixctl command, parsed.

The RAFT facts (role, term, leader, election timer and a pending change of it, log,
uncommitted entries, disconnections, the members and their connections) exist only in
this text; the modules read it over each member's control socket
(:func:`ovsdb_rpc.unixctl`) and judge it through :func:`parse_cluster_status`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_INT_FIELDS = ("Term", "Election timer", "Entries not yet committed", "Entries not yet applied",
               "Disconnections")


def parse_cluster_status(text):
    """Parse ``cluster/status`` output into a dict with typed fields.

    Keys are lower_snake_case versions of the labels (``election_timer``,
    ``entries_not_yet_committed``...).  ``election_timer_pending`` is the
    target of a change in progress or None; ``log`` is ``[first, last]``;
    ``connections`` lists ``{"direction": "out"|"in", "server": sid, "pending": bool}``;
    ``servers`` lists each member with its sid (short server id), name (the
    nickname ``Leader``, ``Vote`` and ``Connections`` use), address and, on the
    leader, next_index/match_index; ``self`` marks this server.  The election
    timer shows a pending change on the leader only.
    """
    result = {"servers": [], "connections": [], "election_timer_pending": None}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        election = re.match(r"^Last Election (started|won):? (\d+) ms ago(?:, reason: (.*))?$", line)
        if election:
            result["last_election_%s_ms_ago" % election.group(1)] = int(election.group(2))
            if election.group(3):
                result["last_election_reason"] = election.group(3).strip()
            continue
        if not line.strip() or ":" not in line:
            continue
        label, _sep, value = line.partition(":")
        label = label.strip()
        value = value.strip()
        key = label.lower().replace(" ", "_").replace("-", "_")
        if label == "Servers":
            while index < len(lines) and lines[index].startswith(" "):
                server = _parse_server_line(lines[index].strip())
                if server:
                    result["servers"].append(server)
                index += 1
            continue
        if label == "Election timer":
            match = re.match(r"^(\d+)(?:\s+\(changing to (\d+)\))?", value)
            if match:
                result["election_timer"] = int(match.group(1))
                if match.group(2):
                    result["election_timer_pending"] = int(match.group(2))
            continue
        if label == "Log":
            match = re.match(r"^\[(\d+),\s*(\d+)\]", value)
            result["log"] = [int(match.group(1)), int(match.group(2))] if match else value
            continue
        if label == "Connections":
            for token in value.split():
                pending = token.startswith("(") and token.endswith(")")
                token = token.strip("()")
                direction = "out" if token.startswith("->") else "in"
                result["connections"].append(
                    {"direction": direction, "server": token[2:], "pending": pending})
            continue
        if label in _INT_FIELDS:
            try:
                result[key] = int(value.split()[0])
            except (ValueError, IndexError):
                result[key] = value
            continue
        if label in ("Cluster ID", "Server ID"):
            match = re.match(r"^(\w+)\s+\(([0-9a-f-]+)\)", value)
            result[key] = match.group(2) if match else value
            result[key + "_short"] = match.group(1) if match else value
            continue
        if label in ("Leader", "Vote"):
            result[key] = None if value in ("unknown", "") else value
            continue
        result[key] = value
    return result


# "    NICKNAME (SID at ADDRESS) ...": the nickname is the short server id for tcp:/ssl:
# members and the socket's file name for unix: members.
_SERVER_RE = re.compile(r"^(?P<name>\S+)\s+\((?P<sid>[0-9a-f]{4,}) at (?P<address>[^\s)]+)\)"
                        r"(?P<rest>.*)$")


def _parse_server_line(line):
    match = _SERVER_RE.match(line)
    if not match:
        return None
    rest = match.group("rest")
    server = {"sid": match.group("sid"), "name": match.group("name"),
              "address": match.group("address"), "self": "(self)" in rest}
    for field in ("next_index", "match_index"):
        found = re.search(r"%s=(\d+)" % field, rest)
        if found:
            server[field] = int(found.group(1))
    found = re.search(r"last msg (\d+) ms ago", rest)
    if found:
        server["last_msg_ms_ago"] = int(found.group(1))
    return server
