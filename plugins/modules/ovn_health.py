#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_health
short_description: Judge the health of an OVN database cluster with gates and JMESPath assertions
version_added: "0.1.0"
description:
  - Reads the facts of a database and its members exactly as kubedc.ovn_tuning.ovsdb_cluster_info does
    (same options, same RV(facts) structure) and judges them with built-in gates and the operator's
    JMESPath O(assertions). Fails the task, unless O(fail_on_unhealthy=false), with every failed gate
    listed in words and numbers.
  - "Built-in gates, judged on the (end) facts: C(quorum) - more than half of the members connected and a
    leader known; C(single_leader) - exactly one member leads and every member that names a leader names it;
    C(uncommitted_entries) - no member has more than O(max_uncommitted) entries not yet committed;
    C(members_healthy) - every member reachable, connected (C(_Server)) and, where its control socket is
    given, in C(cluster/status) Status C(cluster member); C(expected_probes) - the effective probe settings
    equal O(expected_probes), when given."
  - With a sampling window (O(sample_seconds) > 0) the facts are read at its start and at its end, and two
    more gates compare them - C(no_elections) (the RAFT term rose by at most O(max_elections)) and
    C(disconnections) (the members' RAFT disconnections rose by at most O(max_disconnections); the rise is
    also returned as a rate per hour).
  - A gate that cannot be measured with what was given (no O(ctl_socket), no window, no O(expected_probes))
    is not evaluated and is listed in RV(gates_not_evaluated).
  - Bad input - an invalid JMESPath expression, an unknown or out-of-range expected probe, a
    O(metrics_file) in a missing directory - fails before anything is contacted or sampled.
  - O(metrics_file) writes the facts and the gates in the Prometheus text format for node_exporter's
    textfile collector; the metric names are documented in C(docs/metrics.md).
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.ovsdb.remote
attributes:
  check_mode:
    description: >-
      The module only reads the databases; it runs the same in check mode, including the sampling window.
      O(metrics_file) is written in check mode too - the metrics are an output of the check, not a change
      to the system - and C(changed) is always false.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
options:
  database:
    description:
      - Name of the database - V(OVN_Northbound), V(OVN_Southbound), or another database the servers
        serve (V(Local_Config), V(Open_vSwitch)...).
    type: str
    required: true
  ctl_socket:
    description:
      - The unixctl control socket of each member, in the same order as the remotes of O(remote) - one per
        remote; an empty string for a member without one.
      - Needed for the RAFT facts - C(uncommitted_entries), the C(cluster/status) part of
        C(members_healthy), and both window gates - unless O(member_status) gives them.
    type: list
    elements: path
  member_status:
    description:
      - The control-socket part of the facts read on each member's own host, where its socket is - one
        entry per member host, each the database's entry of C(servers) in a registered
        kubedc.ovn_tuning.ovsdb_server_status result, with C(host) (the inventory name) added.
      - Each entry is given to the member whose C(_Server) server id its C(cluster/status) names (else the
        member whose remote has the host of its RAFT address). A member no entry matches is reported with
        that error and fails C(members_healthy); an entry that matches no member is a warning.
      - Not together with O(ctl_socket).
    type: list
    elements: dict
  probe_settings:
    description: Read the listener rows and probe options. Required by O(expected_probes).
    type: bool
    default: true
  leader_only:
    description: Ignored - every member is probed on its own (see kubedc.ovn_tuning.ovsdb_cluster_info).
  timeout:
    description:
      - Deadline in seconds of each read of the facts (one read, or two with a sampling window). A stopped
        member is reported as unreachable once its share has passed; the module never waits longer.
  fail_on_unhealthy:
    description: Fail the task when a gate fails. With V(false) the verdict is only returned (RV(healthy)).
    type: bool
    default: true
  max_uncommitted:
    description: Most log entries not yet committed a member may have (C(uncommitted_entries) gate).
    type: int
    default: 10
  expected_probes:
    description:
      - The probe profile the database must have, as tunable name to value (an integer in the tunable's
        unit or a string with a unit, V(60s)), validated like the tuning modules validate it.
      - "Accepted keys: V(inactivity_probe) and V(max_backoff) (every listener row referenced from the
        global row; for V(inactivity_probe) also every listener given on a command line that no row tunes,
        which runs with the built-in default), the probe keys of the global row (V(northd_probe_interval),
        V(nbctl_probe_interval), V(ic_probe_interval) for OVN_Northbound, V(sbctl_probe_interval) for
        OVN_Southbound, V(ovn-remote-probe-interval)... for Open_vSwitch; unset keys count as their default)
        and V(election_timer) for clustered OVN databases."
    type: dict
  command_line_listeners:
    description:
      - How O(expected_probes) C(inactivity_probe) treats the listeners given on a server's command line
        (C(--remote=ptcp:...), no Connection row), whose probe is ovsdb-server's built-in default and cannot
        be changed at run time.
      - V(judge) fails the gate when their probe is not the expected one (the truth about every listener).
        V(ignore) judges the Connection rows only, as a rollout's gate does - for a scheduled report on a
        deployment whose command-line listeners are known and cannot be fixed by a rollout.
        C(punix:) listeners are never probed and never judged.
    type: str
    choices: [judge, ignore]
    default: judge
  allow_disabled_probe:
    description:
      - Accept V(0) as the expected C(inactivity_probe) of O(expected_probes). Without it, 0 is refused - a
        listener without a probe lets a dead client keep its locks (a dead ovn-northd keeps the
        C(ovn_northd) lock), a hazard to fix rather than a state to expect.
    type: bool
    default: false
  sample_seconds:
    description:
      - Length of the sampling window in seconds. V(0) reads the facts once. Otherwise they are read, the
        module waits this long, and reads them again; the window gates compare the two.
    type: float
    default: 0
  window_start:
    description:
      - The facts read at the start of a window that ends with this run's read - the C(facts.end) of an
        earlier run of this module for the same database (registered). The window gates then compare that
        read with this one, over the seconds between the two reads.
      - For windows whose wait the playbook makes itself - for example when the members' control sockets
        are read on their own hosts with kubedc.ovn_tuning.ovsdb_server_status before and after a soak.
        Not together with O(sample_seconds) above 0.
    type: dict
  max_disconnections:
    description: >-
      Most RAFT disconnections (the members' C(cluster/status) Disconnections, summed; a counter that went
      down, after a restart, counts from zero) allowed to be added over the window.
    type: int
    default: 0
  max_elections:
    description:
      - Most elections allowed over the window - rises of the RAFT term, less the leadership transfers
        unless O(count_leadership_transfers) is set.
    type: int
    default: 0
  count_leadership_transfers:
    description:
      - Whether O(max_elections) counts leadership transfers too.
      - A leader hands leadership to a peer before it writes a snapshot of its log (every 10-20 minutes
        on a busy database, more often on a growing one) and when it is stopped gracefully
        (C(ovs-appctl exit), C(ovn-ctl stop_*), a pod's rolling restart); each raises the term but
        is no failure. With V(false) they are told apart by the members' C(cluster/status) (C(Last
        Election started ... reason leadership_transfer) on the member that took over) and not counted;
        a rise the members' status cannot show to be a transfer counts as an election.
    type: bool
    default: false
  assertions:
    description:
      - JMESPath expressions evaluated over the facts document - the C(end) facts of RV(facts) (C(summary),
        C(members), C(probe_settings)...) with C(start), C(end) and C(window) (the window's numbers, null
        without one) added at its top. Each must be truthy as Ansible's C(assert) sees it - false, null, 0,
        empty strings, lists and objects fail.
      - A failing assertion is reported with its expression and the value it saw. An invalid expression
        fails the module at once, before any read or sampling, with the parse error.
    type: list
    elements: str
    default: []
  metrics_file:
    description:
      - Path of a Prometheus text exposition file to write the (end) facts, the gates and the verdict to,
        for node_exporter's textfile collector (name it C(*.prom)). Written atomically - a temporary file in
        the same directory, then a rename - whether healthy or not. Its directory must exist.
    type: path
  metrics_labels:
    description:
      - Labels added, first, to every sample of O(metrics_file) - for example the deployment's name and what
        the read is for, so that the files of several deployments (and a rollout's gate beside the
        scheduled report) share one textfile directory without clashing series.
      - Names are Prometheus label names (letters, digits and C(_), not starting with a digit or C(__)) that
        no metric sets itself (C(database), C(member), C(role), C(target), C(remote), C(source), C(key),
        C(gate), C(setting)), nor C(instance) and C(job) (Prometheus sets those); values are strings.
    type: dict
    default: {}
notes:
  - Gates are judged on the facts at the end of the window; a cluster that lost and regained its leader
    within the window passes C(quorum) but fails C(no_elections).
  - A leadership transfer is told from an election only while the member that took over is read at the
    window's end (its C(cluster/status) shows its last election) - from this host's O(ctl_socket) or from
    O(member_status), as the term itself is.
seealso:
  - module: kubedc.ovn_tuning.ovsdb_cluster_info
  - name: JMESPath
    description: The expression language of O(assertions).
    link: https://jmespath.org/specification.html
"""

EXAMPLES = r"""
- name: Gate a rollout - no election and no RAFT disconnection in a 60 s soak
  kubedc.ovn_tuning.ovn_health:
    database: OVN_Southbound
    remote: tcp:10.0.0.11:6642,tcp:10.0.0.12:6642,tcp:10.0.0.13:6642
    ctl_socket:
      - /var/run/ovn/ovnsb_db-1.ctl
      - /var/run/ovn/ovnsb_db-2.ctl
      - /var/run/ovn/ovnsb_db-3.ctl
    sample_seconds: 60
    max_disconnections: 0
    expected_probes:
      inactivity_probe: 60s
    assertions:
      - "summary.election_timer >= `5000`"
      - "length(members[?echo_rtt_ms > `50`]) == `0`"
    metrics_file: /var/lib/node_exporter/textfile/ovn_sb.prom
    metrics_labels:
      deployment: prod-1

- name: Record the verdict without failing
  kubedc.ovn_tuning.ovn_health:
    database: OVN_Northbound
    remote: "{{ ovn_nb_db }}"
    fail_on_unhealthy: false
  register: nb_health

- name: Show what failed
  ansible.builtin.debug:
    var: nb_health.failed_gates
  when: not nb_health.healthy
"""

RETURN = r"""
healthy:
  description: Every evaluated gate passed.
  returned: always
  type: bool
gates:
  description: >-
    Every evaluated gate - C(name) (quorum, single_leader, uncommitted_entries, members_healthy,
    expected_probes, no_elections, disconnections, assertion_N for the N-th assertion), C(passed) and C(detail)
    (a sentence with the numbers).
  returned: always
  type: list
  elements: dict
  sample:
    - name: quorum
      passed: true
      detail: 3 of 3 members connected (quorum needs 2)
failed_gates:
  description: One sentence per failed gate, C(name) first.
  returned: always
  type: list
  elements: str
  sample:
    - "disconnections: RAFT disconnections rose by 2 in 8.0 s (900.0 per hour; limit max_disconnections=0) -
      tcp:127.0.0.2:6641: +2"
gates_not_evaluated:
  description: Gates left out, each with C(name) and C(reason).
  returned: always
  type: list
  elements: dict
facts:
  description: >-
    C(start) and C(end) - the facts read at the start and the end of the window, each with the structure
    of kubedc.ovn_tuning.ovsdb_cluster_info's C(cluster) result. Without a window both are the one read.
  returned: always
  type: dict
window_seconds:
  description: Seconds between the start of the two reads; null without a window.
  returned: always
  type: float
disconnections_delta:
  description: Rise of the members' summed RAFT disconnections over the window; null without a window or socket.
  returned: always
  type: int
disconnections_by_member:
  description: That rise per member remote (members read at both ends).
  returned: always
  type: dict
disconnections_per_hour:
  description: The same as a rate per hour.
  returned: always
  type: float
elections:
  description:
    - Elections over the window - the rise of the RAFT term less the leadership transfers in
      RV(leadership_transfers); null without a window or socket.
  returned: always
  type: int
leadership_transfers:
  description:
    - Rises of the RAFT term over the window that were leadership transfers (a leader handing over
      before a snapshot or as it stops gracefully), seen in the C(cluster/status) of the member that
      took over; null without a window or socket.
  returned: always
  type: int
term_rise:
  description: Rise of the RAFT term over the window (elections and leadership transfers); null without a window or socket.
  returned: always
  type: int
metrics_file:
  description: The metrics file written, or null.
  returned: always
  type: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import cluster_facts, health, health_metrics
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError, OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec, run_module

MAX_SAMPLE_SECONDS = 86400


def build_module():
    argument_spec = dict(cluster_facts.FACTS_SPEC)
    argument_spec.update(
        fail_on_unhealthy=dict(type="bool", default=True),
        max_uncommitted=dict(type="int", default=10),
        expected_probes=dict(type="dict"),
        sample_seconds=dict(type="float", default=0),
        window_start=dict(type="dict"),
        max_disconnections=dict(type="int", default=0),
        max_elections=dict(type="int", default=0),
        count_leadership_transfers=dict(type="bool", default=False),
        assertions=dict(type="list", elements="str", default=[]),
        metrics_file=dict(type="path"),
        metrics_labels=dict(type="dict", default={}),
        allow_disabled_probe=dict(type="bool", default=False),
        command_line_listeners=dict(type="str", default="judge", choices=["judge", "ignore"]),
    )
    argument_spec.update(connection_spec())
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                         mutually_exclusive=cluster_facts.FACTS_MUTUALLY_EXCLUSIVE)


def validate(params):
    """Every option checked before anything is contacted; returns what the run needs."""
    request = cluster_facts.validate_facts_params(params)
    try:
        assertions = health.compile_assertions(params["assertions"])
        expected = health.parse_expected_probes(params["expected_probes"], request.database,
                                                params["allow_disabled_probe"])
        labels = health_metrics.check_metric_labels(params["metrics_labels"])
    except health.HealthInputError as exc:
        raise OvsdbConfigError(str(exc))
    if expected and not request.probe_settings:
        raise OvsdbConfigError("expected_probes: needs probe_settings=true (the settings must be read"
                               " to be compared)")
    for name in ("max_uncommitted", "max_disconnections", "max_elections"):
        if params[name] < 0:
            raise OvsdbConfigError("%s: must be 0 or more, got %d" % (name, params[name]))
    if not 0 <= params["sample_seconds"] <= MAX_SAMPLE_SECONDS:
        raise OvsdbConfigError("sample_seconds: must be between 0 (one read) and %d seconds, got %r"
                               % (MAX_SAMPLE_SECONDS, params["sample_seconds"]))
    if params["window_start"] is not None:
        if params["sample_seconds"] > 0:
            raise OvsdbConfigError("window_start: not together with sample_seconds=%r; give one window"
                                   % params["sample_seconds"])
        check_window_start(params["window_start"], request.database)
    metrics_file = params["metrics_file"]
    if metrics_file:
        directory = os.path.dirname(os.path.abspath(metrics_file))
        if os.path.isdir(metrics_file):
            raise OvsdbConfigError("metrics_file: %s is a directory; give a file path (*.prom)" % metrics_file)
        if not os.path.isdir(directory):
            raise OvsdbConfigError("metrics_file: directory %s does not exist" % directory)
        if not os.access(directory, os.W_OK):
            raise OvsdbConfigError("metrics_file: directory %s is not writable" % directory)
    if labels and not metrics_file:
        raise OvsdbConfigError("metrics_labels: label the samples of metrics_file, which is not given")
    return request, assertions, expected, labels


def check_window_start(facts, database):
    """``window_start`` must be the facts of an earlier read of the same database."""
    if not isinstance(facts.get("members"), list) or not isinstance(facts.get("summary"), dict):
        raise OvsdbConfigError("window_start: give the facts.end of an earlier ovn_health result (a dict"
                               " with members and summary); got keys %s" % ", ".join(sorted(facts)))
    if facts.get("database") != database:
        raise OvsdbConfigError("window_start: those facts are of database %r, not of %s"
                               % (facts.get("database"), database))
    if not isinstance(facts.get("collected_at_epoch"), (int, float)):
        raise OvsdbConfigError("window_start: collected_at_epoch (when it was read) is missing")


def check_health(module):
    params = module.params
    request, assertions, expected, labels = validate(params)
    started = time.monotonic()
    window = None
    if params["window_start"] is not None:
        start = params["window_start"]
        end = cluster_facts.gather(request)
        window = health.window_stats(start, end, end["collected_at_epoch"] - start["collected_at_epoch"])
    elif params["sample_seconds"] > 0:
        start = cluster_facts.gather(request)
        time.sleep(max(0.0, params["sample_seconds"] - (time.monotonic() - started)))
        end_started = time.monotonic()
        end = cluster_facts.gather(request)
        window = health.window_stats(start, end, end_started - started)
    else:
        start = end = cluster_facts.gather(request)
    for warning in end["warnings"]:
        module.warn(warning)
    gates, not_evaluated = health.evaluate(
        start, end, window, max_uncommitted=params["max_uncommitted"], expected_probes=expected,
        max_elections=params["max_elections"], max_disconnections=params["max_disconnections"],
        assertions=assertions, command_line_listeners=params["command_line_listeners"],
        count_leadership_transfers=params["count_leadership_transfers"])
    healthy = all(gate["passed"] for gate in gates)
    failed = health.failed_sentences(gates)
    if params["metrics_file"]:
        samples = health_metrics.metric_samples(end, gates, healthy, window, expected)
        try:
            health_metrics.write_atomically(params["metrics_file"], health_metrics.render_metrics(samples, labels))
        except (IOError, OSError) as exc:
            raise OvsdbError("metrics_file: cannot write %s: %s" % (params["metrics_file"], exc))
    result = {
        "changed": False, "healthy": healthy, "gates": gates, "failed_gates": failed,
        "gates_not_evaluated": not_evaluated, "facts": {"start": start, "end": end},
        "window_seconds": window["seconds"] if window else None,
        "disconnections_delta": window["disconnections_delta"] if window else None,
        "disconnections_by_member": window["disconnections_by_member"] if window else {},
        "disconnections_per_hour": window["disconnections_per_hour"] if window else None,
        "elections": window["elections"] if window else None,
        "leadership_transfers": window["leadership_transfers"] if window else None,
        "term_rise": window["term_rise"] if window else None,
        "metrics_file": params["metrics_file"],
    }
    if not healthy and params["fail_on_unhealthy"]:
        msg = "%s is unhealthy: %d of %d gates failed - %s" % (
            request.database, len(failed), len(gates), "; ".join(failed))
        module.fail_json(msg=msg, **result)
    return result


def main():
    module = build_module()
    run_module(module, lambda: check_health(module))


if __name__ == "__main__":
    main()
