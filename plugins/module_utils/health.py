# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health gates over ``cluster`` facts and JMESPath assertions.

Everything here is a pure function of facts documents (see ``cluster_facts``), so the
judgement can be tested on canned facts and re-run on recorded ones.  The Prometheus
metrics of the same facts and gates are in ``health_metrics``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

try:
    import jmespath
    import jmespath.exceptions
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover - reported by the module
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = import_error

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.cluster_facts import (
    MEMBER_OK_STATUS, PROBE_LOCATIONS)


class HealthInputError(ValueError):
    """Bad gate options (an invalid assertion, an unknown expected probe); the message names the option."""


# --------------------------------------------------------------------------- options

def expected_probe_keys(database):
    """Tunables an ``expected_probes`` dict may name for ``database``, by name."""
    location = PROBE_LOCATIONS.get(database)
    keys = {}
    for tunable in tunables.TUNABLES:
        if database not in tunable.databases:
            continue
        if tunable.kind == tunables.KIND_COLUMN and tunable.table == "Connection":
            keys[tunable.name] = tunable
        elif tunable.kind == tunables.KIND_MAP_KEY and location and tunable.table == location["table"]:
            keys[tunable.name] = tunable
        elif tunable.kind == tunables.KIND_UNIXCTL and tunable.name == "election_timer":
            keys[tunable.name] = tunable
    return keys


def parse_expected_probes(expected, database, allow_disabled_probe=False):
    """``expected_probes`` validated and converted to each tunable's unit; {} when not given. A listener
    probe of 0 is refused unless ``allow_disabled_probe``: it is a hazard to fix, not a state to expect."""
    if not expected:
        return {}
    if not isinstance(expected, dict):
        raise HealthInputError("expected_probes: expected a dict of tunable name to value, got %r"
                               % (expected,))
    allowed = expected_probe_keys(database)
    parsed = {}
    for key, value in sorted(expected.items()):
        if key not in allowed:
            raise HealthInputError(
                "expected_probes: %r is not a probe setting of %s; accepted keys: %s"
                % (key, database, ", ".join(sorted(allowed)) or "none"))
        parsed[key] = tunables.parse_interval(value, allowed[key], "expected_probes.%s" % key)
        if key == "inactivity_probe" and parsed[key] == 0 and not allow_disabled_probe:
            raise HealthInputError(tunables.disabled_listener_probe(
                "expected_probes.inactivity_probe", "the listeners", "allow_disabled_probe=true"))
    return parsed


def compile_assertions(expressions):
    """Compile JMESPath ``assertions``; an invalid one raises HealthInputError with the parse error."""
    if not expressions:
        return []
    if not HAS_JMESPATH:
        raise HealthInputError("assertions: the 'jmespath' Python package is required (pip install"
                               " jmespath): %s" % JMESPATH_IMPORT_ERROR)
    compiled = []
    for position, expression in enumerate(expressions):
        if not isinstance(expression, str) or not expression.strip():
            raise HealthInputError("assertions[%d]: expected a JMESPath expression string, got %r"
                                   % (position, expression))
        try:
            compiled.append((expression, jmespath.compile(expression)))
        except jmespath.exceptions.JMESPathError as exc:
            raise HealthInputError("assertions[%d]: %r is not a valid JMESPath expression: %s"
                                   % (position, expression, " ".join(str(exc).split())))
    return compiled


# --------------------------------------------------------------------------- the document

def assertion_document(start, end, window=None):
    """What assertions see: the end facts (``summary``, ``members``...) plus ``start``, ``end``
    and ``window`` (None without a sampling window)."""
    document = dict(end)
    document["start"] = start
    document["end"] = end
    document["window"] = window
    return document


def truthy(value):
    """An assertion passes when its value is truthy as Ansible's ``assert`` sees it:
    false, null, 0, "" and empty lists/objects fail."""
    return bool(value)


def _short(value, limit=300):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------- window

def member_counter_deltas(start, end, field):
    """Per-member increase of a cluster/status counter between two facts documents.

    A counter lower at the end than at the start means the server restarted: the end value
    is then the increase, as Prometheus' ``increase()`` would count it.  Returns
    ``(deltas {remote: n}, unmeasured [remote])``.
    """
    before = dict((m["remote"], (m.get("cluster_status") or {}).get(field)) for m in start["members"])
    deltas = {}
    unmeasured = []
    for member in end["members"]:
        first = before.get(member["remote"])
        last = (member.get("cluster_status") or {}).get(field)
        if not isinstance(first, int) or not isinstance(last, int):
            unmeasured.append(member["remote"])
            continue
        deltas[member["remote"]] = last - first if last >= first else last
    return deltas, unmeasured


def _status_read_at(member, facts):
    """When a member's cluster/status was read: its own time, or that of the whole read."""
    read_at = member.get("status_read_at_epoch")
    return read_at if isinstance(read_at, (int, float)) else facts.get("collected_at_epoch")


def leadership_transfers(start, end):
    """The members whose last election, started after every member's status at ``start`` was
    read, was a leadership transfer (``{remote: started_at_epoch}``).

    ovsdb-server prints only the last election a member started, so a member that started a
    transfer and then another election shows the latter: a rise of the term that the members'
    status cannot show to be a transfer is counted as an election.
    """
    reads = [_status_read_at(m, start) for m in start["members"] if m.get("cluster_status")]
    reads = [t for t in reads if isinstance(t, (int, float))]
    if not reads:
        return {}
    begin = max(reads)
    transfers = {}
    for member in end["members"]:
        election = member.get("last_election") or {}
        if election.get("reason") == "leadership_transfer" and election["started_at_epoch"] > begin:
            transfers[member["remote"]] = election["started_at_epoch"]
    return transfers


def window_stats(start, end, seconds):
    """Disconnections, elections and leadership transfers over a sampling window.

    ``term_rise`` is the rise of the RAFT term; ``leadership_transfers`` the rises the members'
    cluster/status shows to be leadership transfers (ovsdb-server hands leadership to a peer
    before it writes a snapshot, and when it stops gracefully); ``elections`` the rest.
    """
    seconds = round(seconds, 3)  # what is reported; the rate is computed from the same number
    deltas, unmeasured = member_counter_deltas(start, end, "disconnections")
    total = sum(deltas.values()) if deltas else None
    per_hour = None
    if total is not None and seconds > 0:
        per_hour = round(total * 3600.0 / seconds, 1)
    term_start = start["summary"].get("term")
    term_end = end["summary"].get("term")
    term_rise = elections = transfers = None
    transfers_by_member = {}
    if isinstance(term_start, int) and isinstance(term_end, int):
        term_rise = max(0, term_end - term_start)
        transfers_by_member = leadership_transfers(start, end)
        # Each transfer raised the term once; never more transfers than rises.
        transfers = min(len(transfers_by_member), term_rise)
        elections = term_rise - transfers
    return {"seconds": seconds, "disconnections_delta": total,
            "disconnections_per_hour": per_hour, "disconnections_by_member": deltas,
            "disconnections_unmeasured": unmeasured, "term_start": term_start, "term_end": term_end,
            "term_rise": term_rise, "elections": elections, "leadership_transfers": transfers,
            "leadership_transfers_by_member": transfers_by_member}


# --------------------------------------------------------------------------- gates

def _gate(name, passed, detail):
    return {"name": name, "passed": bool(passed), "detail": detail}


def gate_quorum(facts):
    summary = facts["summary"]
    needed = summary["members_total"] // 2 + 1
    leader = summary["leader"]
    detail = "%d of %d members connected (quorum needs %d)%s" % (
        summary["members_connected"], summary["members_total"], needed,
        "" if leader else " and no leader is known")
    if summary.get("model") == "relay":
        detail = "relay database: %d of %d relays reachable and connected to their source" % (
            summary["members_connected"], summary["members_total"])
    elif summary.get("model") not in (None, "clustered"):
        detail = "%s database: %d of %d servers reachable and connected" % (
            summary["model"], summary["members_connected"], summary["members_total"])
    return _gate("quorum", summary["quorum"], detail)


def gate_single_leader(facts):
    summary = facts["summary"]
    leaders = [m["remote"] for m in facts["members"] if m["is_leader"]]
    reported = summary["leaders_reported"]
    if summary.get("model") == "relay":
        # A relay serves its source's data and forwards writes to the source's leader.
        return _gate("single_leader", True, "relay database: no leader of its own (writes go to its"
                                            " source's leader)")
    if summary.get("model") not in (None, "clustered"):
        return _gate("single_leader", len(leaders) >= 1,
                     "%s database: no leader election" % summary["model"])
    passed = len(leaders) == 1 and summary["leader_agreed"]
    if passed:
        detail = "leader %s (%s); every member that names a leader names it" % (
            leaders[0], summary["leader"]["sid"])
    else:
        detail = "%d member(s) say they lead (%s); members name %d different leader(s)%s" % (
            len(leaders), ", ".join(leaders) or "none", len(reported),
            " (%s)" % ", ".join(reported) if reported else "")
    return _gate("single_leader", passed, detail)


def gate_uncommitted(facts, max_uncommitted):
    values = dict((m["remote"], m["cluster_status"].get("entries_not_yet_committed"))
                  for m in facts["members"] if m.get("cluster_status"))
    values = dict((k, v) for k, v in values.items() if isinstance(v, int))
    if not values:
        return None
    worst = max(values.values())
    over = ["%s: %d" % (remote, v) for remote, v in sorted(values.items()) if v > max_uncommitted]
    detail = "at most %d entries not yet committed (limit max_uncommitted=%d)%s" % (
        worst, max_uncommitted, "; over the limit: " + ", ".join(over) if over else "")
    return _gate("uncommitted_entries", worst <= max_uncommitted, detail)


def member_problems(member, model):
    """Sentences describing what is wrong with one member; [] when it is well."""
    problems = []
    name = member["remote"]
    if not member["reachable"]:
        problems.append("%s is unreachable (%s)" % (name, member.get("error") or "no answer"))
    elif member.get("server") is None:
        problems.append("%s: %s" % (name, member.get("error") or "no _Server row"))
    elif not member["server"].get("connected"):
        problems.append("%s says (_Server) it is not connected to its %s" % (
            name, "source (a relay serves what it last received)" if model == "relay" else "cluster"))
    clustered = model in (None, "clustered")
    # Expected when a control socket was given, or the member's host was read (member_status).
    if (member.get("status_source") or member.get("ctl_socket")) and clustered:
        status = member.get("cluster_status")
        if status is None:
            problems.append("%s: cluster/status could not be read (%s)"
                            % (name, member.get("cluster_status_error")))
        elif status.get("status") != MEMBER_OK_STATUS:
            problems.append("%s: cluster/status Status is %r, not %r"
                            % (name, status.get("status"), MEMBER_OK_STATUS))
    return problems


def gate_members(facts):
    model = facts["summary"].get("model")
    problems = []
    for member in facts["members"]:
        problems.extend(member_problems(member, model))
    detail = "; ".join(problems) if problems else "all %d members reachable and in the cluster" % len(
        facts["members"])
    return _gate("members_healthy", not problems, detail)


def probe_mismatches(facts, expected, command_line_listeners="judge"):
    """Sentences for each probe setting that differs from ``expected`` ({tunable: value}); listeners given
    on a server's command line are judged too unless ``command_line_listeners`` is ``ignore``."""
    settings = facts.get("probe_settings")
    if not settings or settings.get("error"):
        return ["probe settings could not be read: %s"
                % ((settings or {}).get("error") or "probe_settings was false")]
    mismatches = []
    # The listener rows seen through a relay are its source's; a relay's own listeners are on its
    # command line (or in its --config-file), judged below.
    relay = facts["summary"].get("model") == "relay"
    referenced = [] if relay else [row for row in settings["connections"] if row.get("referenced")]
    for key, want in sorted(expected.items()):
        tunable = tunables.get(key)
        if tunable.kind == tunables.KIND_COLUMN:
            if not referenced and not relay:
                mismatches.append("%s: no listener row is referenced from %s, so no listener has"
                                  " a tunable %s (want %d %s)" % (key, settings["table"], key, want,
                                                                  tunable.unit))
            for row in referenced:
                have = row.get(key + "_effective")
                if have != want:
                    mismatches.append("%s of listener %s is %s %s (%s), expected %d" % (
                        key, row.get("target"), have, tunable.unit,
                        "unset, the default" if row.get(key) is None else "set", want))
            if key == "inactivity_probe" and command_line_listeners == "judge":
                for member in facts["members"]:
                    for listener in member.get("listeners") or []:
                        if (listener["source"] == "command_line" and not listener.get("tunable")
                                and listener.get("probed", True)):
                            have = listener.get("inactivity_probe_effective")
                            if have != want:
                                mismatches.append(
                                    "inactivity_probe of listener %s on %s is set on the command line"
                                    " (%s ms, the built-in default) and cannot be tuned, expected %d"
                                    % (listener["remote"], member["remote"], have, want))
        elif tunable.kind == tunables.KIND_MAP_KEY:
            have = settings["options_effective"].get(key)
            source = (settings.get("options_from") or {}).get(key) or key
            if have != want:
                mismatches.append("%s:%s is %s %s (%s), expected %d" % (
                    settings["table"], key, have, tunable.unit,
                    ("set" if source == key else "set as the per-chassis key %s" % source)
                    if key in settings["options"] else "unset, the default", want))
        elif key == "election_timer":
            have = facts["summary"].get("election_timer")
            if have != want:
                mismatches.append("election_timer is %s ms, expected %d" % (have, want))
    return mismatches


def gate_expected_probes(facts, expected, command_line_listeners="judge"):
    if not expected:
        return None
    mismatches = probe_mismatches(facts, expected, command_line_listeners)
    detail = "; ".join(mismatches) if mismatches else "all of %s as expected" % ", ".join(
        "%s=%s" % item for item in sorted(expected.items()))
    return _gate("expected_probes", not mismatches, detail)


def gate_elections(window, max_elections, count_leadership_transfers=False):
    if window is None:
        return None
    elections = window["elections"]
    if elections is None:
        return _gate("no_elections", False,
                     "the RAFT term could not be read at both ends of the %.1f s window (needs a"
                     " readable ctl_socket)" % window["seconds"])
    transfers = window["leadership_transfers"]
    if count_leadership_transfers:
        counted = window["term_rise"]
        what = "%d election(s) and leadership transfer(s)" % counted
    else:
        counted = elections
        what = "%d election(s)" % elections
        if transfers:
            what += " and %d leadership transfer(s), not counted" % transfers
    return _gate("no_elections", counted <= max_elections,
                 "term %s -> %s: %s in %.1f s (limit max_elections=%d)" % (
                     window["term_start"], window["term_end"], what, window["seconds"],
                     max_elections))


def gate_disconnections(window, max_disconnections):
    if window is None:
        return None
    delta = window["disconnections_delta"]
    if delta is None:
        return _gate("disconnections", False,
                     "RAFT disconnections could not be read at both ends of the %.1f s window on any"
                     " member (needs a readable ctl_socket)" % window["seconds"])
    by_member = ", ".join("%s: +%d" % item for item in sorted(window["disconnections_by_member"].items()))
    detail = ("RAFT disconnections rose by %d in %.1f s (%s per hour; limit max_disconnections=%d)"
              " - %s" % (delta, window["seconds"], window["disconnections_per_hour"],
                         max_disconnections, by_member))
    if window["disconnections_unmeasured"]:
        detail += "; not measured on %s" % ", ".join(window["disconnections_unmeasured"])
    return _gate("disconnections", delta <= max_disconnections, detail)


def evaluate_assertions(compiled, document):
    gates = []
    for position, (expression, parsed) in enumerate(compiled):
        try:
            value = parsed.search(document)
        except jmespath.exceptions.JMESPathError as exc:
            gates.append(_gate("assertion_%d" % position, False, "assertion %r could not be"
                               " evaluated: %s" % (expression, " ".join(str(exc).split()))))
            continue
        passed = truthy(value)
        gates.append(_gate("assertion_%d" % position, passed, "assertion %r %s: value %s" % (
            expression, "holds" if passed else "is not truthy", _short(value))))
    return gates


def evaluate(start, end, window=None, max_uncommitted=10, expected_probes=None,
             max_elections=0, max_disconnections=0, assertions=(), command_line_listeners="judge",
             count_leadership_transfers=False):
    """All gates over the facts; returns ``(gates, not_evaluated)``.

    Built-in gates judge the end facts; window gates compare start and end.  A gate that
    cannot be measured with what was given (no ctl_socket, no sampling window) is left out
    and listed in ``not_evaluated`` with the reason.
    """
    gates = [gate_quorum(end), gate_single_leader(end)]
    not_evaluated = []
    uncommitted = gate_uncommitted(end, max_uncommitted)
    model = end["summary"].get("model")
    if uncommitted is None:
        not_evaluated.append({"name": "uncommitted_entries", "reason": (
            "a %s database has no RAFT log" % model if model not in (None, "clustered")
            else "no member's cluster/status was read (give ctl_socket)")})
    else:
        gates.append(uncommitted)
    gates.append(gate_members(end))
    probes = gate_expected_probes(end, expected_probes, command_line_listeners)
    if probes is None:
        not_evaluated.append({"name": "expected_probes", "reason": "expected_probes not given"})
    else:
        gates.append(probes)
    for name, gate in (("no_elections", gate_elections(window, max_elections, count_leadership_transfers)),
                       ("disconnections", gate_disconnections(window, max_disconnections))):
        if gate is None:
            not_evaluated.append({"name": name, "reason": "no sampling window (sample_seconds is 0)"})
        elif model not in (None, "clustered"):
            not_evaluated.append({"name": name, "reason": "a %s database has no RAFT term or"
                                                          " disconnections" % model})
        else:
            gates.append(gate)
    gates.extend(evaluate_assertions(list(assertions), assertion_document(start, end, window)))
    return gates, not_evaluated


def failed_sentences(gates):
    return ["%s: %s" % (gate["name"], gate["detail"]) for gate in gates if not gate["passed"]]
