# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn module results into what an operator reads: health_summary, tuning_changes,
listener_probe_mismatches and chassis_gate_problem (the verdict on one chassis after its batch);
gate_allowance (what the gate after a change allows, from the preflight baseline); and member_status,
which hands the members' control-socket reads made on their own hosts to ovn_health.

The roles print a plan, a gate verdict and a health report from these, and keep the health
summaries as the preflight baseline.  Documentation: health_summary.yml, tuning_changes.yml,
listener_probe_mismatches.yml, chassis_gate_problem.yml, gate_allowance.yml and member_status.yml next to
this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.plugin_utils.host_facts import MISSING, fact, host_facts

GLOBAL_TABLES = tunables.global_tables(tunables.CONNECTION_DATABASES)
CONNECTION_COLUMNS = tunables.CONNECTION_SETTINGS


def _show(value, unit=""):
    if value is None:
        return "unset"
    return "%s%s" % (value, unit)


def health_summary(result):
    """The numbers of one ovn_health (or ovsdb_cluster_info) result, and one line of text."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("health_summary: expected a result of kubedc.ovn_tuning.ovn_health,"
                                 " got %r" % (result,))
    if "facts" in result:
        end = (result.get("facts") or {}).get("end") or {}
    else:
        end = result.get("cluster") or {}
    if not end:
        return _unread_summary(result)
    summary = end.get("summary") or {}
    settings = end.get("probe_settings") or {}
    leader = summary.get("leader") or {}
    # The listener rows seen through a relay are its source's, not the relay's.
    listeners = {} if summary.get("model") == "relay" else dict(
        (row.get("target"), row.get("inactivity_probe_effective"))
        for row in settings.get("connections") or [] if row.get("referenced"))
    out = {
        "database": end.get("database"),
        "healthy": result.get("healthy"),
        "failed_gates": list(result.get("failed_gates") or []),
        "gates_not_evaluated": [g.get("name") for g in result.get("gates_not_evaluated") or []],
        "measured_at": end.get("collected_at"),
        "measured_at_epoch": end.get("collected_at_epoch"),
        "model": summary.get("model"),
        "leader": leader.get("remote") or leader.get("address") or leader.get("sid"),
        "members_connected": summary.get("members_connected"),
        "members_total": summary.get("members_total"),
        "quorum": summary.get("quorum"),
        "term": summary.get("term"),
        "election_timer": summary.get("election_timer"),
        "election_timer_pending": summary.get("election_timer_pending"),
        "entries_not_committed_max": summary.get("entries_not_committed_max"),
        "disconnections_total": summary.get("disconnections_total"),
        "window_seconds": result.get("window_seconds"),
        "disconnections_delta": result.get("disconnections_delta"),
        "disconnections_per_hour": result.get("disconnections_per_hour"),
        "elections": result.get("elections"),
        "leadership_transfers": result.get("leadership_transfers"),
        "listeners": listeners,
        "command_line_listeners": list(summary.get("command_line_listeners") or []),
        "options": dict(settings.get("options_effective") or {}),
    }
    out["text"] = _health_text(out)
    return out


SUMMARY_KEYS = ("database", "healthy", "failed_gates", "gates_not_evaluated", "measured_at",
                "measured_at_epoch", "model", "leader", "members_connected", "members_total", "quorum",
                "term", "election_timer", "election_timer_pending", "entries_not_committed_max",
                "disconnections_total", "window_seconds", "disconnections_delta",
                "disconnections_per_hour", "elections", "leadership_transfers", "listeners",
                "command_line_listeners", "options")


def _unread_summary(result):
    """A result without facts (the task failed or was skipped): unhealthy, with the reason."""
    item = result.get("item")
    database = item.get("database") if isinstance(item, dict) else None
    database = database or ((result.get("invocation") or {}).get("module_args") or {}).get("database")
    reason = to_text(result.get("msg") or result.get("skip_reason") or "no facts in the result")
    out = dict((key, None) for key in SUMMARY_KEYS)
    out.update({"database": database, "healthy": False, "failed_gates": ["read: %s" % reason],
                "gates_not_evaluated": [], "listeners": {}, "command_line_listeners": [], "options": {}})
    out["text"] = "%s could not be read: %s" % (database or "the database", reason)
    return out


def _health_text(s):
    verdict = {True: "healthy", False: "UNHEALTHY", None: "read"}[s["healthy"]]
    if s["model"] == "relay":
        text = "%s relays %s, %s/%s relays connected to their source" % (
            s["database"], verdict, s["members_connected"], s["members_total"])
        return text + (" - failed: %s" % "; ".join(s["failed_gates"]) if s["failed_gates"] else "")
    parts = ["%s %s" % (s["database"], verdict)]
    parts.append("leader %s" % (s["leader"] or "none"))
    parts.append("%s/%s members connected" % (s["members_connected"], s["members_total"]))
    if s["term"] is not None:
        parts.append("term %s" % s["term"])
    if s["election_timer"] is not None:
        timer = "election timer %s ms" % s["election_timer"]
        if s["election_timer_pending"] is not None:
            timer += " (changing to %s)" % s["election_timer_pending"]
        parts.append(timer)
    if s["disconnections_total"] is not None:
        parts.append("RAFT disconnections %s" % s["disconnections_total"])
    if s["window_seconds"] is not None:
        parts.append("in %.1f s: +%s disconnections (%s/h), %s elections" % (
            s["window_seconds"], _show(s["disconnections_delta"]), _show(s["disconnections_per_hour"]),
            _show(s["elections"])))
        if s["leadership_transfers"]:
            parts[-1] += " (+%s leadership transfers)" % s["leadership_transfers"]
    probes = sorted(set(s["listeners"].values()), key=lambda v: (v is None, v))
    if probes:
        parts.append("listener probe %s ms" % "/".join(_show(v) for v in probes))
    for key in ("northd_probe_interval", "sbctl_probe_interval"):
        if key in s["options"]:
            parts.append("%s %s ms" % (key, _show(s["options"][key])))
    text = ", ".join(parts)
    if s["failed_gates"]:
        text += " - failed: " + "; ".join(s["failed_gates"])
    return text


def listener_probe_mismatches(summaries, expected):
    """Sentences for each referenced listener row whose effective inactivity probe is not the
    expected one. ``summaries``: database -> health_summary; ``expected``: database -> ms or null."""
    if not isinstance(summaries, dict) or not isinstance(expected, dict):
        raise AnsibleFilterError("listener_probe_mismatches: expected two dicts keyed by database, got"
                                 " %r and %r" % (type(summaries).__name__, type(expected).__name__))
    mismatches = []
    for database in sorted(expected):
        want = expected[database]
        if want is None or database not in summaries:
            continue
        listeners = summaries[database].get("listeners") or {}
        if not listeners:
            mismatches.append("%s: no listener row is referenced from %s, so no listener has the"
                              " expected inactivity probe of %s ms" % (
                                  database, GLOBAL_TABLES.get(database, "the global row"), want))
        for target in sorted(listeners, key=to_text):
            have = listeners[target]
            if have != want:
                mismatches.append("%s listener %s: inactivity probe %s ms, expected %s ms" % (
                    database, target, _show(have), want))
    return mismatches


def _leaf_results(registered):
    """The single results of registered variables (loop results flattened)."""
    if isinstance(registered, dict):
        registered = [registered]
    for item in registered or []:
        if not isinstance(item, dict):
            raise AnsibleFilterError("tuning_changes: expected registered task results, got %r" % (item,))
        if isinstance(item.get("results"), list):
            yield from _leaf_results(item["results"])
        else:
            yield item


def _arg(result, name):
    """An argument of the task that gave ``result``: from the loop item (a dict, or a pair of
    subelements whose first part is a registered result), else from the task's invocation."""
    item = result.get("item")
    if isinstance(item, dict) and item.get(name) is not None:
        return item[name]
    if isinstance(item, (list, tuple)):
        for part in item:
            if not isinstance(part, dict):
                continue
            for source in (part, part.get("item"), part.get("cluster")):
                if isinstance(source, dict) and source.get(name) is not None:
                    return source[name]
    return ((result.get("invocation") or {}).get("module_args") or {}).get(name)


def _connection_lines(result):
    before = result.get("before")
    after = result.get("connection")
    database = _arg(result, "database") or "?"
    target = (after or before or {}).get("target") or _arg(result, "target")
    lines = []
    if before is None and after is not None:
        lines.append("%s listener %s: created (inactivity_probe %s)" % (
            database, target, _show(after.get("inactivity_probe"))))
    elif after is None and before is not None:
        lines.append("%s listener %s: removed" % (database, target))
    elif before is not None:
        for column in CONNECTION_COLUMNS:
            if before.get(column) != after.get(column):
                lines.append("%s listener %s: %s %s -> %s" % (
                    database, target, column, _show(before.get(column)), _show(after.get(column))))
    for removed in result.get("removed") or []:
        if removed != target:
            lines.append("%s listener %s: removed" % (database, removed))
    return lines


def _map_lines(label, before, after):
    lines = []
    for key in sorted(set(before or {}) | set(after or {})):
        old, new = (before or {}).get(key), (after or {}).get(key)
        if old != new:
            lines.append("%s:%s %s -> %s" % (label, key, _show(old), _show(new)))
    return lines


def _result_lines(result):
    if "connection" in result and "before" in result:
        return _connection_lines(result)
    if "options_before" in result:
        database = _arg(result, "database")
        return _map_lines("%s options" % GLOBAL_TABLES.get(database, database),
                          result.get("options_before"), result.get("options_after"))
    if "external_ids_before" in result:
        name = result.get("chassis") or _arg(result, "name") or _arg(result, "remote")
        return _map_lines("chassis %s external_ids" % name, result.get("external_ids_before"),
                          result.get("external_ids_after"))
    if "election_timer_before" in result:
        steps = [s.get("election_timer") for s in result.get("steps") or []]
        return ["%s election timer %s -> %s ms%s" % (
            result.get("database") or _arg(result, "database"), _show(result.get("election_timer_before")),
            _show(result.get("election_timer_after")),
            " in steps %s" % ", ".join(to_text(s) for s in steps) if len(steps) > 1 else "")]
    if "changes" in result and "env_before" in result:
        restart = ("the pods restart" if result.get("restarts", True)
                   else "kept for each pod's next restart, none restarts now")
        return ["%s/%s env %s %s -> %s (%s)" % (
            result.get("namespace"), result.get("name"), change.get("name"),
            _show(change.get("before")), _show(change.get("after")), restart)
            for change in result.get("changes") or []]
    if "differences" in result:
        return ["restore %s" % difference for difference in result.get("differences") or []]
    return ["%s changed" % (result.get("item") or "a task")]


def tuning_changes(registered):
    """One sentence per value that changed (or would, in check mode) in the given task results."""
    lines = []
    for result in _leaf_results(registered):
        if result.get("skipped") or not result.get("changed"):
            continue
        lines.extend(_result_lines(result))
    return lines


def chassis_gate_problem(apply, host, controller=None, sync=None, sync_enabled=True, gate_timeout=None):
    """Why one chassis failed the gate after its batch ('' when it passed or had nothing to gate).

    ``apply``: the registered ovn_chassis_probe result of the chassis; ``controller``: its
    ovn_controller_status result; ``sync``: the ovn_hv_sync result of its deployment for the batch
    (the loop item of that deployment); ``sync_enabled``: whether the nb_cfg gate ran.
    """
    if not isinstance(apply, dict):
        raise AnsibleFilterError("chassis_gate_problem: expected the registered result of"
                                 " kubedc.ovn_tuning.ovn_chassis_probe, got %r" % (apply,))
    controller = controller if isinstance(controller, dict) else {}
    sync = sync if isinstance(sync, dict) else {}
    if apply.get("unreachable"):
        return "%s: unreachable: %s" % (host, apply.get("msg") or "")
    if apply.get("failed"):
        return "%s: setting the probe failed: %s" % (host, apply.get("msg") or "")
    if apply.get("skipped") or not apply.get("changed"):
        return ""
    chassis = apply.get("chassis")
    if not chassis:
        return "%s: its Open_vSwitch database has no external_ids:system-id (not a chassis?)" % host
    if controller.get("unreachable") or not controller.get("connected"):
        return "%s: ovn-controller is not connected to the SB after the change: %s" % (
            host, controller.get("error") or controller.get("msg") or "not asked")
    if not sync_enabled or sync.get("synced"):
        return ""
    if "lagging" in sync and chassis not in sync["lagging"]:
        return ""
    copied, target = sync.get("sb_nb_cfg"), sync.get("nb_cfg")
    if "lagging" in sync and (copied is None or target is None or copied >= target):
        return "%s: Chassis_Private.nb_cfg of %s is %s, not %s after %s s (ovn-controller does not process the SB)" % (
            host, chassis, (sync.get("chassis") or {}).get(chassis), target, gate_timeout)
    return "%s: the nb_cfg gate failed: %s" % (host, sync.get("msg") or "no result")


def member_status(results, database):
    """ovn_health's ``member_status`` for ``database`` from a registered loop of
    ovsdb_server_status over the member hosts (loop item: the inventory name of each)."""
    if isinstance(results, dict) and "results" not in results and (results.get("failed") or results.get("skipped")):
        # The whole loop failed (its task timed out) or did not run: no host was read.
        return []
    if not isinstance(results, dict) or not isinstance(results.get("results"), list):
        raise AnsibleFilterError("member_status: expected a registered loop of kubedc.ovn_tuning.ovsdb_server_status"
                                 " (with results), got %r" % (results,))
    entries = []
    for result in results["results"]:
        host = result.get("item")
        if isinstance(host, dict):
            host = host.get("host")
        if not host:
            raise AnsibleFilterError("member_status: each loop item must be the inventory name of a member host,"
                                     " got %r" % (result.get("item"),))
        host = to_text(host)
        server = (result.get("servers") or {}).get(database)
        if server is None:
            if result.get("unreachable"):
                why = "%s is unreachable: %s" % (host, to_text(result.get("msg") or "no answer"))
            elif result.get("skipped"):
                why = "%s was not read (skipped)" % host
            elif result.get("failed"):
                why = "reading %s failed: %s" % (host, to_text(result.get("msg") or "failed"))
            else:
                why = "%s has no server of %s" % (host, database)
            entries.append({"host": host, "cluster_status": None, "cluster_status_error": why,
                            "listeners": None, "listeners_error": why})
            continue
        entry = dict((key, server.get(key)) for key in
                     ("ctl_socket", "cluster_status", "cluster_status_error", "listeners",
                      "listeners_error", "read_at_epoch"))
        entry["host"] = host
        entries.append(entry)
    return entries


def gate_allowance(baseline, window_seconds, factor=1.0, max_disconnections=0, max_elections=0):
    """What the gate after a change allows in a soak window: ``{"disconnections", "elections"}``.

    Each is the operator's maximum plus ``factor`` times what the preflight baseline's rate gives for
    a window of ``window_seconds`` (rounded up): the change may not make things worse than before it.
    ``baseline`` is the health summary of the preflight read (``disconnections_per_hour``,
    ``elections`` over ``window_seconds``); an empty one (no baseline window) adds nothing."""
    baseline = baseline or {}
    if not isinstance(baseline, dict):
        raise AnsibleFilterError("gate_allowance: expected the baseline's health summary (a dict), got %r"
                                 % (baseline,))
    try:
        window = float(window_seconds)
        factor = float(factor)
        max_disconnections = int(max_disconnections)
        max_elections = int(max_elections)
        per_hour = float(baseline.get("disconnections_per_hour") or 0)
        elections = float(baseline.get("elections") or 0)
        base_window = max(float(baseline.get("window_seconds") or 0), 1.0)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("gate_allowance: window_seconds, factor and the maxima must be numbers (%s)" % exc)
    if window < 0 or factor < 0 or max_disconnections < 0 or max_elections < 0:
        raise AnsibleFilterError("gate_allowance: window_seconds, factor and the maxima must not be negative")
    return {"disconnections": max_disconnections + int(math.ceil(per_hour * window / 3600.0 * factor)),
            "elections": max_elections + int(math.ceil(elections / base_window * window * factor))}


def cluster_leader(reads):
    """The entry of ``reads`` (member_status entries) whose member says it is the cluster's leader, or None."""
    if not isinstance(reads, list):
        raise AnsibleFilterError("cluster_leader: expected member_status entries, got %r" % (reads,))
    return next((entry for entry in reads
                 if (entry.get("cluster_status") or {}).get("role") == "leader"), None)


def timer_walk_round(reads, target, members, round_number):
    """One round of the election timer walk with central hosts, from the members' reads of the round
    (``member_status`` entries): ``{"leader": the leader's entry or None, "done": bool, "seen": text}``.

    Done when a majority of ``members`` was read and every member read shows ``target`` with no change
    pending; ``seen`` says what each host showed (role and timer), for the failure message."""
    if not isinstance(reads, list):
        raise AnsibleFilterError("timer_walk_round: expected the member_status entries of the round, got %r"
                                 % (reads,))
    try:
        target, members = int(target), int(members)
    except (TypeError, ValueError):
        raise AnsibleFilterError("timer_walk_round: target and members must be integers, got %r, %r"
                                 % (target, members))
    read = [entry for entry in reads if entry.get("cluster_status")]
    leader = cluster_leader(read)
    done = (len(read) * 2 > members
            and all(entry["cluster_status"].get("election_timer") == target
                    and not entry["cluster_status"].get("election_timer_pending") for entry in read))
    seen = ", ".join("%s %s %s" % (entry.get("host"), (entry.get("cluster_status") or {}).get("role", "unread"),
                                   (entry.get("cluster_status") or {}).get("election_timer", "?"))
                     for entry in reads)
    return {"leader": leader, "done": done, "seen": "round %s: %s" % (round_number, seen)}


def timer_walk_step(walk_round, step, check_mode=False):
    """The round after its step on the leader's host (``step``: the registered ovsdb_election_timer result):
    ``{"done", "seen", "keep"}`` - ``keep``: the step changed the timer (kept in the walk's steps); in check
    mode the planned step is the whole walk; a step that failed (the leader moved) is added to ``seen`` and
    the next round follows the new leader."""
    if not isinstance(walk_round, dict) or not isinstance(step, dict):
        raise AnsibleFilterError("timer_walk_step: expected a timer_walk_round result and a registered step")
    ok = not step.get("failed") and not step.get("unreachable") and not step.get("skipped")
    seen = walk_round.get("seen") or ""
    if step.get("failed") or step.get("unreachable"):
        seen += "; leader %s: %s" % ((walk_round.get("leader") or {}).get("host"), to_text(step.get("msg") or "stepped"))
    return {"done": bool(walk_round.get("done")) or (bool(check_mode) and ok),
            "seen": seen, "keep": ok and bool(step.get("steps"))}


def chassis_pending(hosts, hostvars):
    """The chassis hosts whose read (``chassis_read``, ovn_chassis_probe in check mode) says the profile
    changes them: the chassis plays of the rollout follow for these."""
    pending = []
    for host, facts in host_facts(hosts, hostvars, "chassis_pending"):
        read = fact(facts, "chassis_read")
        if isinstance(read, dict) and "external_ids_before" in read \
                and read.get("external_ids_before") != read.get("external_ids_after"):
            pending.append(host)
    return pending


def chassis_outcome(hosts, hostvars, check_mode=False):
    """What the chassis plays did to a deployment's chassis hosts, from the facts the chassis role leaves:
    ``{"changed", "restored", "untouched", "restore_errors"}`` - hosts changed (in check mode: that would
    change), put back after a failed batch, never reached (later batches), and ``HOST: why`` of each host
    whose put-back failed."""
    out = {"changed": [], "restored": [], "untouched": [], "restore_errors": []}
    for host, facts in host_facts(hosts, hostvars, "chassis_outcome"):
        apply = fact(facts, "chassis_apply")
        changed = fact(facts, "chassis_changed") is not MISSING
        error = fact(facts, "chassis_restore_error")
        if (isinstance(apply, dict) and apply.get("changed")) if check_mode else changed:
            out["changed"].append(host)
        if changed and error is MISSING:
            out["restored"].append(host)
        if apply is MISSING:
            out["untouched"].append(host)
        if error is not MISSING:
            out["restore_errors"].append("%s: %s" % (host, to_text(error)))
    return out


def read_ends(registered):
    """``{database label: the facts at the read's end}`` of a registered loop of ovn_health over the
    deployment's databases (loop items with ``label``): where a window that a later read judges opens.
    Skipped items and reads without facts are left out."""
    if not isinstance(registered, dict):
        raise AnsibleFilterError("read_ends: expected a registered loop of kubedc.ovn_tuning.ovn_health, got %r"
                                 % (registered,))
    ends = {}
    for result in registered.get("results") or []:
        item = result.get("item")
        if result.get("skipped") or not isinstance(item, dict) or not isinstance(result.get("facts"), dict):
            continue
        ends[item.get("label")] = result["facts"].get("end")
    return ends


class FilterModule(object):
    def filters(self):
        return {
            "chassis_gate_problem": chassis_gate_problem,
            "chassis_outcome": chassis_outcome,
            "cluster_leader": cluster_leader,
            "chassis_pending": chassis_pending,
            "gate_allowance": gate_allowance,
            "health_summary": health_summary,
            "listener_probe_mismatches": listener_probe_mismatches,
            "member_status": member_status,
            "read_ends": read_ends,
            "timer_walk_round": timer_walk_round,
            "timer_walk_step": timer_walk_step,
            "tuning_changes": tuning_changes,
        }
