# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus metrics of the health facts and gates (``health``), in the text format of
node_exporter's textfile collector.

The metric definitions (:data:`METRICS`) are the one source of both the exposition written by
``ovn_health`` and ``docs/metrics.md`` (``python -m`` this file prints the page).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import sys

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.health import HealthInputError


class Metric(object):
    def __init__(self, name, metric_type, labels, help_text):
        self.name = name
        self.type = metric_type
        self.labels = tuple(labels)
        self.help = help_text


# The one list of metrics written by ovn_health's metrics_file; docs/metrics.md is generated from it.
METRICS = (
    Metric("ovn_tuning_member_up", "gauge", ("database", "member"),
           "1 when the member answered an OVSDB echo, 0 when it did not."),
    Metric("ovn_tuning_member_connected", "gauge", ("database", "member"),
           "1 when the member's _Server.Database row says it is connected to its cluster."),
    Metric("ovn_tuning_echo_rtt_milliseconds", "gauge", ("database", "member"),
           "Round-trip time of an OVSDB echo to the member, in milliseconds (reachable members only)."),
    Metric("ovn_tuning_raft_role", "gauge", ("database", "member", "role"),
           "1 for the member's current RAFT role (leader, follower, candidate), 0 for the others."),
    Metric("ovn_tuning_raft_term", "gauge", ("database", "member"),
           "Current RAFT term of the member (cluster/status Term); it rises by one per election and per"
           " leadership transfer."),
    Metric("ovn_tuning_raft_last_election_timestamp_seconds", "gauge", ("database", "member", "reason"),
           "Unix time at which the member started the last election it started (cluster/status Last"
           " Election started), with its reason: timeout (an election) or leadership_transfer."),
    Metric("ovn_tuning_raft_election_timer_milliseconds", "gauge", ("database", "member"),
           "RAFT election timer of the member, in milliseconds (cluster/status Election timer)."),
    Metric("ovn_tuning_raft_entries_not_committed", "gauge", ("database", "member"),
           "Log entries not yet committed on the member (cluster/status)."),
    Metric("ovn_tuning_raft_entries_not_applied", "gauge", ("database", "member"),
           "Log entries not yet applied on the member (cluster/status)."),
    Metric("ovn_tuning_raft_disconnections_total", "counter", ("database", "member"),
           "RAFT peer disconnections the member counted since it started (cluster/status"
           " Disconnections)."),
    Metric("ovn_tuning_cluster_members", "gauge", ("database",),
           "Servers in the cluster configuration (or remotes given, without cluster/status)."),
    Metric("ovn_tuning_cluster_members_connected", "gauge", ("database",),
           "Members reachable and connected to their cluster."),
    Metric("ovn_tuning_cluster_quorum", "gauge", ("database",),
           "1 when more than half of the members are connected and a leader is known."),
    Metric("ovn_tuning_listener", "gauge", ("database", "member", "remote", "source"),
           "1 per listener of the member's ovsdb-server/list-remotes; source is database (a db:"
           " remote, tunable) or command_line (cannot be tuned at run time)."),
    Metric("ovn_tuning_connection_inactivity_probe_milliseconds", "gauge", ("database", "target"),
           "Effective inactivity probe of each listener row referenced from the global table"
           " (default applied when unset; 0 = disabled)."),
    Metric("ovn_tuning_connection_max_backoff_milliseconds", "gauge", ("database", "target"),
           "Effective max_backoff of each listener row referenced from the global table."),
    Metric("ovn_tuning_probe_option_milliseconds", "gauge", ("database", "key"),
           "Effective probe option of the global table (NB_Global/SB_Global options,"
           " Open_vSwitch external_ids), default applied when unset; a key kept in seconds"
           " (ovn-openflow-probe-interval) is converted."),
    Metric("ovn_tuning_expected_probe_milliseconds", "gauge", ("database", "setting"),
           "What expected_probes (the profile) asks for each setting it names: inactivity_probe,"
           " max_backoff, a probe option key or election_timer (only with expected_probes)."),
    Metric("ovn_tuning_health_gate", "gauge", ("database", "gate"),
           "1 when the health gate passed, 0 when it failed."),
    Metric("ovn_tuning_healthy", "gauge", ("database",),
           "1 when every health gate passed, 0 otherwise."),
    Metric("ovn_tuning_health_window_seconds", "gauge", ("database",),
           "Length of the sampling window, in seconds (only with sample_seconds > 0)."),
    Metric("ovn_tuning_health_window_disconnections", "gauge", ("database",),
           "Increase of the members' summed RAFT disconnections over the sampling window."),
    Metric("ovn_tuning_health_window_elections", "gauge", ("database",),
           "Elections over the sampling window: the rise of the RAFT term less the leadership transfers"
           " the members' cluster/status shows."),
    Metric("ovn_tuning_health_window_leadership_transfers", "gauge", ("database",),
           "Leadership transfers over the sampling window (a leader handing over before it writes a"
           " snapshot, or as it stops gracefully): rises of the RAFT term that are not elections."),
    Metric("ovn_tuning_facts_timestamp_seconds", "gauge", ("database",),
           "Unix time at which the (end) facts were read."),
)

METRICS_BY_NAME = dict((m.name, m) for m in METRICS)

_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape_label_value(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def check_metric_labels(labels):
    """``metrics_labels`` validated: Prometheus label names that no metric already uses, string
    values. Returns them as a sorted list of (name, value) pairs."""
    if not labels:
        return []
    if not isinstance(labels, dict):
        raise HealthInputError("metrics_labels: expected a dict of label name to value, got %r" % (labels,))
    # Prometheus sets instance and job itself (a file's would become exported_instance, exported_job).
    taken = sorted(set(label for metric in METRICS for label in metric.labels) | {"instance", "job"})
    pairs = []
    for name, value in sorted(labels.items()):
        if not isinstance(name, str) or not _LABEL_NAME_RE.match(name) or name.startswith("__"):
            raise HealthInputError(
                "metrics_labels: %r is not a Prometheus label name (letters, digits and _, not"
                " starting with a digit or __)" % (name,))
        if name in taken:
            raise HealthInputError("metrics_labels: %r is a label the metrics set themselves; taken: %s"
                                   % (name, ", ".join(taken)))
        if isinstance(value, (dict, list)) or value is None:
            raise HealthInputError("metrics_labels.%s: expected a string, got %r" % (name, value))
        pairs.append((name, str(value)))
    return pairs


def _in_milliseconds(name, value):
    """A probe setting's value in milliseconds (the few kept in seconds are converted)."""
    tunable = tunables.BY_NAME.get(name)
    if tunable is not None and tunable.unit == "s" and isinstance(value, int):
        return value * 1000
    return value


def metric_samples(facts, gates=None, healthy=None, window=None, expected=None):
    """``{metric name: [(labels dict, value)]}`` for one facts document (and gates, and the
    ``expected_probes`` the gates judged, each in its tunable's unit)."""
    database = facts["database"]
    samples = dict((m.name, []) for m in METRICS)

    def add(name, value, **labels):
        if value is None:
            return
        labels = dict(database=database, **labels)
        if tuple(labels) != METRICS_BY_NAME[name].labels:
            raise AssertionError((name, tuple(labels)))
        samples[name].append((labels, value))

    for member in facts["members"]:
        remote = member["remote"]
        add("ovn_tuning_member_up", 1 if member["reachable"] else 0, member=remote)
        add("ovn_tuning_member_connected", 1 if member["connected"] else 0, member=remote)
        add("ovn_tuning_echo_rtt_milliseconds", member.get("echo_rtt_ms"), member=remote)
        status = member.get("cluster_status")
        if status:
            role = status.get("role")
            roles = ["leader", "follower", "candidate"]
            if role and role not in roles:
                roles.append(role)
            for name in roles:
                add("ovn_tuning_raft_role", 1 if name == role else 0, member=remote, role=name)
            for metric, field in (("ovn_tuning_raft_term", "term"),
                                  ("ovn_tuning_raft_election_timer_milliseconds", "election_timer"),
                                  ("ovn_tuning_raft_entries_not_committed", "entries_not_yet_committed"),
                                  ("ovn_tuning_raft_entries_not_applied", "entries_not_yet_applied"),
                                  ("ovn_tuning_raft_disconnections_total", "disconnections")):
                value = status.get(field)
                add(metric, value if isinstance(value, int) else None, member=remote)
        election = member.get("last_election")
        if election and election.get("reason"):
            add("ovn_tuning_raft_last_election_timestamp_seconds", election["started_at_epoch"],
                member=remote, reason=election["reason"])
        for listener in member.get("listeners") or []:
            add("ovn_tuning_listener", 1, member=remote, remote=listener["remote"],
                source=listener["source"])
    summary = facts["summary"]
    add("ovn_tuning_cluster_members", summary["members_total"])
    add("ovn_tuning_cluster_members_connected", summary["members_connected"])
    add("ovn_tuning_cluster_quorum", 1 if summary["quorum"] else 0)
    settings = facts.get("probe_settings") or {}
    for row in settings.get("connections") or []:
        if row.get("referenced") and row.get("target"):
            add("ovn_tuning_connection_inactivity_probe_milliseconds",
                row.get("inactivity_probe_effective"), target=row["target"])
            add("ovn_tuning_connection_max_backoff_milliseconds",
                row.get("max_backoff_effective"), target=row["target"])
    for key, value in sorted((settings.get("options_effective") or {}).items()):
        add("ovn_tuning_probe_option_milliseconds", _in_milliseconds(key, value), key=key)
    for setting, value in sorted((expected or {}).items()):
        add("ovn_tuning_expected_probe_milliseconds", _in_milliseconds(setting, value), setting=setting)
    for gate in gates or []:
        add("ovn_tuning_health_gate", 1 if gate["passed"] else 0, gate=gate["name"])
    if healthy is not None:
        add("ovn_tuning_healthy", 1 if healthy else 0)
    if window is not None:
        add("ovn_tuning_health_window_seconds", window["seconds"])
        add("ovn_tuning_health_window_disconnections", window["disconnections_delta"])
        add("ovn_tuning_health_window_elections", window["elections"])
        add("ovn_tuning_health_window_leadership_transfers", window["leadership_transfers"])
    add("ovn_tuning_facts_timestamp_seconds", facts.get("collected_at_epoch"))
    return samples


def render_metrics(samples, extra_labels=()):
    """Prometheus text exposition (version 0.0.4) of ``metric_samples`` output; ``extra_labels``
    (``check_metric_labels`` pairs) come first on every sample."""
    prefix = "".join('%s="%s",' % (key, escape_label_value(value)) for key, value in extra_labels)
    lines = []
    for metric in METRICS:
        entries = samples.get(metric.name) or []
        if not entries:
            continue
        lines.append("# HELP %s %s" % (metric.name, _escape_help(metric.help)))
        lines.append("# TYPE %s %s" % (metric.name, metric.type))
        for labels, value in entries:
            label_text = ",".join('%s="%s"' % (key, escape_label_value(labels[key])) for key in metric.labels)
            lines.append("%s{%s%s} %s" % (metric.name, prefix, label_text, _format_value(value)))
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    """Write ``text`` to ``path`` (mode 0644) through a temporary file and a rename, so that a
    reader (node_exporter) never sees a half-written file."""
    documents.write_atomically(path, text.encode("utf-8"), mode=0o644)


# --------------------------------------------------------------------------- docs

DOC_HEADER = """# Metrics

`kubedc.ovn_tuning.ovn_health` writes these metrics to its `metrics_file` in the Prometheus text
exposition format, for node_exporter's textfile collector (point `--collector.textfile.directory`
at the file's directory; the file name must end in `.prom`). The file is replaced atomically (a
temporary file in the same directory, then a rename), also in check mode: metrics are an output
of the check, not a change to the system.

This page is generated from `METRICS` in `plugins/module_utils/health_metrics.py`
(`python -m ansible_collections.kubedc.ovn_tuning.plugins.module_utils.health_metrics > docs/metrics.md`);
the unit tests fail when the two disagree.

Label `member` is the member's OVSDB remote as given in `remote`; `target` is a listener row's
`target`; `gate` is a gate name of the module's `gates` result (`quorum`, `single_leader`,
`uncommitted_entries`, `members_healthy`, `expected_probes`, `no_elections`, `disconnections`,
`assertion_N`); `setting` is a key of `expected_probes`; `reason` is why a member started its last
election (`timeout`: an election; `leadership_transfer`: a leader handed over to it). A metric whose value could not be read
(member down, no `ctl_socket`, no sampling window) is left out rather than written as 0.

`metrics_labels` adds labels of the operator's to every sample, first. The collection's playbooks
set `deployment` (the inventory's `ovn_deployment.name`) and `read`: `health` for the health
playbook's report, `preflight` and `gate` for a rollout's one-off reads (files `NAME-nb.prom`,
`NAME-nb-preflight.prom`, `NAME-nb-gate.prom` in `ovn_tuning_metrics_dir`). The alert rules
(`docs/prometheus/ovn-tuning.rules.yml`) and the dashboard (`docs/grafana/ovn-tuning.json`) watch
everything but `read="preflight"` and `read="gate"`: a rollout's last gate stays on disk long after
it passed or failed. How to keep the watch: docs/runbook.md §6.

"""


def markdown_table():
    lines = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for metric in METRICS:
        lines.append("| `%s` | %s | %s | %s |" % (
            metric.name, metric.type, ", ".join("`%s`" % label for label in metric.labels), metric.help))
    return "\n".join(lines) + "\n"


def markdown_page():
    return DOC_HEADER + markdown_table()


if __name__ == "__main__":
    sys.stdout.write(markdown_page())
