#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovsdb_election_timer
short_description: Change the RAFT election timer of a clustered OVN database, step by step
version_added: "0.1.0"
description:
  - Changes the RAFT election timer of a clustered C(OVN_Northbound) or C(OVN_Southbound) database through the
    unixctl control sockets of its ovsdb-server members (C(ovs-appctl -t SOCKET cluster/change-election-timer)).
  - Reads C(cluster/status) of every given member first and finds the leader among those that answer. When none
    of them leads, the module fails and names the server that does (its server id and address).
  - A majority of the given members (more than half) must answer before anything changes, and those that answer
    must belong to one cluster. A member that does not answer (a stopped or hung ovsdb-server, or none running
    behind the socket) is warned about and reported in RV(unconfirmed), not waited for - RAFT commits with a
    majority, and a stalled follower must not hold a change or its rollback. With fewer than a majority
    answering, the module fails naming each member that did not answer and why, and changes nothing.
  - An increase goes in steps of at most twice the current value (1000 to 10000 ms sets 2000, 4000, 8000, then
    10000), because ovsdb-server refuses larger increases; a decrease is one step. Each step is waited on until
    the leader has committed it (no C(changing to) left in its C(cluster/status)) and a majority of the given
    members, the leader included, shows the new value, before the next step is set. Members that answer but do
    not show it yet get about 2 s more to show it (never past O(timeout)); after that the walk goes on without
    them, and they take the value from the leader's log when they catch up. Every member that does not show
    the final value is reported in RV(unconfirmed) and named in a warning.
  - A change already pending when the module starts is waited on, not collided with, and the plan continues from
    its value. When the leader already shows the target with no change pending, nothing is set and nothing is
    waited for - members that lag or do not answer are only reported.
  - When the leader goes away during the change (its daemon exits or is killed), the module waits for a new leader
    among the remaining given members and continues from the value that cluster has committed; a step the old
    leader took but never committed is set again. A member that goes away is reported as a warning. A member
    that stops answering (a hung or paused daemon) is warned about and not asked again while the leader and a
    majority answer; it is asked again while the others show no leader or too few of them show a committed
    value.
  - Everything, including the wait for a new leader, is bounded by O(timeout).
author:
  - kubedc.ovn_tuning contributors (@kubedc)
attributes:
  check_mode:
    description: Reads every member (a majority must answer, as in a real run) and reports the steps that would be
      set (from the pending value when a change is in progress) and the members in RV(unconfirmed), without
      setting anything or waiting for a pending change.
    support: full
  diff_mode:
    description: Returns the committed election timer before and after (the target in check mode).
    support: full
options:
  ctl_socket:
    description:
      - The unixctl socket of each cluster member, as given to ovsdb-server with C(--unixctl) (for example
        C(/var/run/ovn/ovnnb_db.ctl) on one host). One path or a list of paths; give every member the module can
        reach, so that it finds the leader and can follow a new one. More than half of them must answer.
      - Each path must be absolute, and a path that exists must be a socket; this is checked before anything is
        contacted. A path that does not exist (a stopped ovsdb-server removes its socket) counts as a member that
        does not answer, so more than half of the paths must exist.
    type: list
    elements: path
    required: true
  database:
    description: The clustered database, as C(cluster/status) names it.
    type: str
    required: true
    choices: [OVN_Northbound, OVN_Southbound]
  election_timer:
    description:
      - The election timer to reach, in milliseconds, or a string with a unit (V(10s), V(10000ms)).
      - Accepted are 100 to 600000 ms, the range ovsdb-server accepts; anything else fails before any change.
        RAFT members probe each other at the election timer plus 1000 ms.
    type: raw
    required: true
  timeout:
    description:
      - Deadline in seconds for the whole run - reading the members, every step and its commit, and waiting for a
        new leader. Each unixctl call is also bounded by the smaller of 5 s and what is left of it. When it passes,
        the module fails with the last state it saw and the steps it took.
    type: float
    default: 120
notes:
  - Run it on the host that holds the unixctl sockets (for kube-ovn, inside the ovn-central pods, where the
    sockets are C(/var/run/ovn/ovnnb_db.ctl) and C(/var/run/ovn/ovnsb_db.ctl)); with one pod per member,
    delegate to a host that can see every socket or give the sockets the pod can see.
  - The new value persists once committed; ovsdb-server keeps it across restarts.
seealso:
  - name: ovsdb-server(1) cluster/change-election-timer
    description: The unixctl command this module drives.
    link: https://www.openvswitch.org/support/dist-docs/ovsdb-server.1.html
requirements:
  - ovs (Python package, 4.0 or later) on the host that runs the module
"""

EXAMPLES = r"""
- name: Raise the NB election timer to 10 s (sets 2000, 4000, 8000 and 10000 ms)
  kubedc.ovn_tuning.ovsdb_election_timer:
    ctl_socket:
      - /var/run/ovn/ovnnb_db.ctl
    database: OVN_Northbound
    election_timer: 10s
  register: nb_timer

- name: Three members on one test host, with a longer deadline
  kubedc.ovn_tuning.ovsdb_election_timer:
    ctl_socket: [/run/lab/sb1.ctl, /run/lab/sb2.ctl, /run/lab/sb3.ctl]
    database: OVN_Southbound
    election_timer: 16000
    timeout: 300

- name: Show the steps it would take
  kubedc.ovn_tuning.ovsdb_election_timer:
    ctl_socket: /var/run/ovn/ovnsb_db.ctl
    database: OVN_Southbound
    election_timer: 30000
  check_mode: true
"""

RETURN = r"""
changed:
  description: Whether a step was (or, in check mode, would be) set.
  returned: always
  type: bool
database:
  description: The database whose election timer this is.
  returned: success
  type: str
  sample: OVN_Northbound
election_timer_before:
  description: The election timer the leader had committed when the module started, in ms.
  returned: always
  type: int
  sample: 1000
election_timer_pending_before:
  description: The target of a change that was pending (not yet committed) when the module started, or null.
  returned: always
  type: int
  sample: null
election_timer_after:
  description: The election timer committed at the end, in ms, read back from the leader (the target in check mode).
  returned: always
  type: int
  sample: 10000
steps:
  description:
    - The values set, in order (in check mode, the values that would be set). A step the leader took but lost
      before committing it (the leader went away) stays in the list with C(committed=false), followed by the step
      set again on the new leader.
  returned: always
  type: list
  elements: dict
  contains:
    election_timer:
      description: The value set, in ms.
      type: int
    previous:
      description: The committed value it replaced, in ms.
      type: int
    leader:
      description: The leader that took it - C(ctl_socket), C(server_id), C(address) and C(term).
      type: dict
    committed:
      description: Whether the cluster committed it (always false in check mode).
      type: bool
    reply:
      description: The leader's answer (not in check mode).
      type: str
  sample:
    - {election_timer: 2000, previous: 1000, committed: true, reply: change of election timer initiated.,
       leader: {ctl_socket: /run/lab/nb1.ctl, server_id: 2ae6f6a1-9a8e-4c1e-9a55-0f0c4e1f5b11,
                address: "tcp:127.0.0.11:6643", term: 3}}
leader:
  description: The leader at the end (C(ctl_socket), C(server_id), C(address), C(term)).
  returned: always
  type: dict
members:
  description: What each given member last showed - C(ctl_socket), C(server_id), C(address), C(role), C(term),
    C(election_timer) - and whether it was still C(reachable) at the end (false when its last read got no answer,
    or its daemon went away).
  returned: always
  type: list
  elements: dict
unconfirmed:
  description:
    - The given members that were not seen showing RV(election_timer_after) (in check mode, the value the leader
      has committed), in O(ctl_socket) order; empty when every member showed it. Each is named in a warning too.
    - "C(reason) is C(did not answer: WHY) for a member that did not answer its last read (or went away), or
      C(shows N ms) for one that answered with another value (not caught up yet; not waited for past its grace)."
  returned: always
  type: list
  elements: dict
  contains:
    ctl_socket:
      description: The member's control socket, as given.
      type: str
    reason:
      description: Why it is not confirmed.
      type: str
  sample:
    - {ctl_socket: /run/lab/nb2.ctl, reason: "did not answer: unixctl cluster/status on /run/lab/nb2.ctl did not finish within 5.0 s"}
diff:
  description: The committed election timer before and after.
  returned: when Ansible runs with C(--diff)
  type: dict
  contains:
    before:
      description: "C({election_timer: MS}) before."
      type: dict
    after:
      description: "C({election_timer: MS}) after (the target in check mode)."
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import election_timer
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import diff_result, run_module


def change_election_timer(module):
    params = module.params
    target_ms = election_timer.parse_target(params["election_timer"])
    database = params["database"]  # one of election_timer.DATABASES: the argument spec's choices
    ctl_sockets = election_timer.validate_ctl_sockets(params["ctl_socket"])
    if params["timeout"] is None or params["timeout"] <= 0:
        raise election_timer.ElectionTimerError(
            "timeout: must be a positive number of seconds, got %r" % params["timeout"])
    change = election_timer.ElectionTimerChange(ctl_sockets, database, target_ms, params["timeout"],
                                                warn=module.warn)
    result = change.run(check_mode=module.check_mode)
    result.update(diff_result(module, {"election_timer": result["election_timer_before"]},
                              {"election_timer": result["election_timer_after"]}))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ctl_socket=dict(type="list", elements="path", required=True),
            database=dict(type="str", required=True, choices=list(election_timer.DATABASES)),
            election_timer=dict(type="raw", required=True),
            timeout=dict(type="float", default=120.0),
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda: change_election_timer(module))


if __name__ == "__main__":
    main()
