#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovsdb_cluster_info
short_description: Facts about an OVSDB database and each member of its RAFT cluster
version_added: "0.1.0"
description:
  - Reads, for one database, what every member of its cluster says about itself and the cluster - each
    member on its own, not only the leader - and returns it under RV(cluster) - a stable structure that
    health gates and JMESPath assertions (kubedc.ovn_tuning.ovn_health) run over.
  - Over OVSDB, for each remote of O(remote) - whether it answers, the round-trip time of an echo and its
    C(_Server.Database) row (model, connected, leader, log index, cluster id, server id).
  - Over the control socket of each member, when O(ctl_socket) is given - the parsed C(cluster/status)
    (role, term, leader, vote, election timer and a pending change, log range, entries not yet committed
    and applied, RAFT connections, RAFT disconnections, servers) and the listeners of
    C(ovsdb-server/list-remotes), each marked with where it comes from - V(database) (a C(db:) remote, whose
    rows can be tuned) or V(command_line) (C(ptcp:)/C(pssl:)/C(punix:) given when the server started; its
    probe cannot be changed at run time unless a referenced listener row has the very same target).
  - The effective probe settings, read from the leader (or another connected member) with only the
    columns they need - the listener rows (C(Connection), C(Manager) for Open_vSwitch) with
    C(inactivity_probe) and C(max_backoff) as set and as effective, whether each is referenced from the
    global row, and the probe keys of C(NB_Global)/C(SB_Global) C(options) (C(Open_vSwitch) C(external_ids)).
  - A summary - the leader (server id, RAFT address and remote), members connected out of the cluster's
    size, quorum, the highest term, whether members agree on the cluster id and on the leader, the
    election timer, and the sum of the members' RAFT disconnections.
  - A member that is down, stopped or refuses is reported as data (its C(error)); it does not fail the
    module and does not keep the other members from being reported. All members are probed at once,
    each bounded by its share of O(timeout), so the module returns within O(timeout) even when a member
    is stopped (SIGSTOP) and never answers. The module fails only on bad input.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.ovsdb.remote
attributes:
  check_mode:
    description: The module only reads; it runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
options:
  database:
    description:
      - Name of the database - V(OVN_Northbound), V(OVN_Southbound), or any other database the servers
        serve (V(Local_Config), V(Open_vSwitch)...).
      - Probe settings are known for OVN_Northbound, OVN_Southbound, Local_Config and Open_vSwitch; for
        another database C(error) of C(probe_settings) in RV(cluster) says so.
    type: str
    required: true
  ctl_socket:
    description:
      - The unixctl control socket of each member (C(ovs-appctl -t) path), in the same order as the
        remotes of O(remote) - one per remote; an empty string for a member without one. A single socket
        may be given as a string when O(remote) names one server.
      - Without it, RAFT facts (term, election timer, entries not committed, disconnections) and listeners
        are not read.
    type: list
    elements: path
  member_status:
    description:
      - The control-socket part read on each member's own host instead - one entry per member host, each
        the database's entry of C(servers) in a registered kubedc.ovn_tuning.ovsdb_server_status result,
        with C(host) (its inventory name) added. Matched to the members by server id (else by the host of
        the RAFT address); see kubedc.ovn_tuning.ovn_health. Not together with O(ctl_socket).
    type: list
    elements: dict
  probe_settings:
    description: Read the listener rows and probe options (one extra connection, to the leader).
    type: bool
    default: true
  leader_only:
    description:
      - Ignored - every member is probed on its own, and probe settings are read from the leader when one
        is reachable, else from another member connected to the cluster.
  timeout:
    description:
      - Deadline in seconds for the whole run. The members are probed at once, within
        60% of it (all of it when O(probe_settings=false)); the probe settings are read within the rest.
notes:
  - A stopped member (SIGSTOP) accepts TCP connections and never answers; it is reported with a
    "no reply ... within" error once its share of O(timeout) has passed.
  - The C(status) and C(is_connected) columns of the listener rows are not read - they are ephemeral and
    only describe the server that is asked.
seealso:
  - module: kubedc.ovn_tuning.ovn_health
  - name: ovsdb-server(1) - cluster/status and ovsdb-server/list-remotes
    description: The unixctl commands whose output this module parses.
    link: https://www.openvswitch.org/support/dist-docs/ovsdb-server.1.html
"""

EXAMPLES = r"""
- name: Facts of a three-member Northbound cluster
  kubedc.ovn_tuning.ovsdb_cluster_info:
    database: OVN_Northbound
    remote: tcp:10.0.0.11:6641,tcp:10.0.0.12:6641,tcp:10.0.0.13:6641
    ctl_socket:
      - /var/run/ovn/ovnnb_db-1.ctl
      - /var/run/ovn/ovnnb_db-2.ctl
      - /var/run/ovn/ovnnb_db-3.ctl
    timeout: 10
  register: nb

- name: Stop when the cluster has no quorum
  ansible.builtin.assert:
    that:
      - nb.cluster.summary.quorum
      - nb.cluster.summary.leader_agreed
    fail_msg: "{{ nb.cluster.summary }}"

- name: Members that cannot be reached
  ansible.builtin.debug:
    msg: "{{ nb.cluster.members | rejectattr('reachable') | map(attribute='error') | list }}"

- name: kube-ovn clustered mode - the listeners of one member come from Local_Config
  kubedc.ovn_tuning.ovsdb_cluster_info:
    database: Local_Config
    remote: unix:/var/run/ovn/ovnnb_db.sock
    ctl_socket: /var/run/ovn/ovnnb_db.ctl
"""

RETURN = r"""
cluster:
  description: Facts of the database and its members.
  returned: always
  type: dict
  contains:
    database:
      description: The database name.
      type: str
      sample: OVN_Northbound
    collected_at:
      description: UTC time the read started (ISO 8601).
      type: str
      sample: "2026-11-22T07:30:00Z"
    collected_at_epoch:
      description: The same, as Unix time in seconds.
      type: float
    duration_ms:
      description: How long the read took, in milliseconds.
      type: float
    timeout:
      description: The deadline of the read, in seconds.
      type: float
    members:
      description: One entry per remote of O(remote), in that order.
      type: list
      elements: dict
      contains:
        index:
          description: Position in O(remote).
          type: int
        remote:
          description: The member's OVSDB remote.
          type: str
          sample: tcp:10.0.0.11:6641
        ctl_socket:
          description: Its control socket (on RV(cluster.members[].host) when that is set), or null.
          type: str
        host:
          description: The inventory name of the host its control socket was read on (O(member_status)), or null.
          type: str
        status_source:
          description: >-
            Where its control-socket part comes from - V(ctl_socket) (read by this module), V(host) (given by
            O(member_status)) - or null when none is expected.
          type: str
        reachable:
          description: Whether it answered an OVSDB echo.
          type: bool
        error:
          description: Why it could not be reached or read over OVSDB; null when it was.
          type: str
          sample: "tcp:10.0.0.12:6641: no reply to echo within 6.0 s"
        echo_rtt_ms:
          description: Round-trip time of an OVSDB echo, in milliseconds; null when unreachable.
          type: float
        server:
          description: >-
            Its C(_Server.Database) row - C(model) (standalone, clustered or relay), C(connected), C(leader),
            C(index), C(cid), C(sid); null when it could not be read.
          type: dict
        connected:
          description: Reachable and connected to its cluster (C(_Server)).
          type: bool
        is_leader:
          description: Connected and says (C(_Server)) it is the leader.
          type: bool
        sid:
          description: Its server id (full UUID), from C(_Server) or C(cluster/status).
          type: str
        address:
          description: Its RAFT address (C(cluster/status) Address), or null.
          type: str
        role:
          description: Its RAFT role (leader, follower, candidate) from C(cluster/status), or null.
          type: str
        leader_reported:
          description: >-
            The leader it names - the full server id where it can be resolved, else the short id that
            C(cluster/status) prints; null when it names none.
          type: str
        cluster_status:
          description: >-
            Parsed C(cluster/status) - C(name), C(cluster_id), C(server_id), C(address), C(status), C(role),
            C(term), C(leader), C(vote), C(election_timer), C(election_timer_pending), C(log) ([first, last]),
            C(entries_not_yet_committed), C(entries_not_yet_applied), C(connections) (direction, server,
            pending), C(disconnections), C(servers) (sid, name, address, self, next_index, match_index,
            last_msg_ms_ago) and the last election; null without a readable O(ctl_socket).
          type: dict
        cluster_status_error:
          description: Why C(cluster/status) could not be read; null when it was or no socket was given.
          type: str
        status_read_at_epoch:
          description: Unix time at which C(cluster/status) was read; null when it was not.
          type: float
        last_election:
          description: >-
            The last election this member started, from C(cluster/status) - C(reason) (V(timeout): an
            election; V(leadership_transfer): the leader handed over to this member, before writing a snapshot
            or as it stopped gracefully), C(started_at_epoch) and C(won_at_epoch) (Unix times, C(won_at_epoch)
            null when it did not win); null when it started none since it started.
          type: dict
          sample: {reason: leadership_transfer, started_at_epoch: 1764590000.123, won_at_epoch: 1764590000.125}
        listeners:
          description: >-
            The server's C(ovsdb-server/list-remotes), each with C(remote), C(source) (V(database) or
            V(command_line)), C(database)/C(table)/C(column) of a C(db:) remote, C(tunable) and, for a
            command-line listener, C(inactivity_probe_effective) (the probe it runs with); null without a
            readable O(ctl_socket).
          type: list
          elements: dict
        listeners_error:
          description: Why C(list-remotes) could not be read.
          type: str
    summary:
      description: The cluster as a whole.
      type: dict
      contains:
        model:
          description: The model the members report (clustered, standalone, relay), V(mixed) when they differ.
          type: str
        leader:
          description: >-
            The leader - C(sid), C(address) (RAFT), C(remote) (the member's remote, null when the leader is
            not among O(remote)); null when no leader is known.
          type: dict
        leaders_reported:
          description: The distinct leaders the members name.
          type: list
          elements: str
        leader_agreed:
          description: >-
            At least one member names a leader and every member that names one names the same one
            (for a standalone database - a server answered).
          type: bool
        members_total:
          description: >-
            Servers in the cluster configuration (the leader's C(cluster/status) Servers list), else the
            number of remotes given.
          type: int
        members_reachable:
          description: Members that answered over OVSDB.
          type: int
        members_connected:
          description: Members reachable and connected to the cluster.
          type: int
        members_status_read:
          description: Members whose C(cluster/status) was read.
          type: int
        quorum:
          description: >-
            More than half of C(members_total) connected (reachable, and connected according to
            C(_Server)) and a leader known - one member says it leads or the members name one leader.
            For a standalone database - a server answered.
          type: bool
        term:
          description: The highest RAFT term seen; null without C(cluster/status).
          type: int
        cluster_id:
          description: The cluster id when all members agree on one.
          type: str
        cluster_id_agreed:
          description: No two members report different cluster ids.
          type: bool
        election_timer:
          description: Election timer in ms (the leader's, else the highest seen).
          type: int
        election_timer_pending:
          description: The target of an election timer change in progress, or null.
          type: int
        disconnections_total:
          description: Sum of the members' RAFT C(Disconnections) counters; null when none was read.
          type: int
        entries_not_committed_max:
          description: The most entries not yet committed on any member.
          type: int
        entries_not_applied_max:
          description: The most entries not yet applied on any member.
          type: int
        command_line_listeners:
          description: The distinct listeners given on the servers' command lines.
          type: list
          elements: str
    probe_settings:
      description: >-
        Effective probe settings; null when O(probe_settings=false). C(read_from) (the remote read),
        C(error) (why they could not be read, else null), C(table) (the global table),
        C(connections) (listener rows - C(uuid), C(target), C(inactivity_probe), C(max_backoff) as set or
        null, C(inactivity_probe_effective) and C(max_backoff_effective) with defaults applied,
        C(read_only), C(role) where the schema has them, C(referenced) from the global row),
        C(options) (probe keys that are set, in ms) and C(options_effective) (every probe key, defaults applied).
        For an C(Open_vSwitch) database both are what ovn-controller reads - the per-chassis key
        C(KEY-<system-id>) where it is set, else the plain key - and C(options_from) names the key each
        value comes from (null - unset, the default).
      type: dict
    warnings:
      description: Listeners given on a command line that cannot be tuned at run time (also emitted as warnings).
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import cluster_facts
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec, run_module


def build_module():
    argument_spec = dict(cluster_facts.FACTS_SPEC)
    argument_spec.update(connection_spec())
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                         mutually_exclusive=cluster_facts.FACTS_MUTUALLY_EXCLUSIVE)


def gather_facts(module):
    request = cluster_facts.validate_facts_params(module.params)
    cluster = cluster_facts.gather(request)
    for warning in cluster["warnings"]:
        module.warn(warning)
    return {"changed": False, "cluster": cluster}


def main():
    module = build_module()
    run_module(module, lambda: gather_facts(module))


if __name__ == "__main__":
    main()
