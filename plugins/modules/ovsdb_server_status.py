#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovsdb_server_status
short_description: Read the RAFT status and listeners of the OVSDB servers on this host, over their control sockets
version_added: "0.2.0"
description:
  - Runs on a host of a database cluster member (an OVN central node) and reads, over each server's local
    unixctl control socket, the parsed C(cluster/status) of its database and the listeners of
    C(ovsdb-server/list-remotes) - the part of the facts that only a process on that host can read.
  - Its result, one entry of RV(servers) per database with C(host) added, is what O(kubedc.ovn_tuning.ovn_health#module:member_status)
    and O(kubedc.ovn_tuning.ovsdb_cluster_info#module:member_status) merge with the members' OVSDB facts into
    one health result per database - run it on every member host (C(delegate_to) or a play over the central
    hosts) and pass the results on.
  - A socket that is missing, refuses or does not answer within O(timeout) is reported in that database's
    C(cluster_status_error) / C(listeners_error); it does not fail the module. Only bad input fails.
  - Needs no OVSDB remote and no C(ovs) CLI - the control sockets are spoken to with the C(ovs) Python package.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
attributes:
  check_mode:
    description: The module only reads; it runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing is changed, so there is no diff.
    support: none
options:
  databases:
    description:
      - The clustered databases whose servers run on this host.
    type: list
    elements: str
    default: [OVN_Northbound, OVN_Southbound]
  ctl_sockets:
    description:
      - The control socket of each database's server on this host, as database name to path. A database
        not named here uses its platform default - V(/run/ovn/ovnnb_db.ctl) for OVN_Northbound and
        V(/run/ovn/ovnsb_db.ctl) for OVN_Southbound (kube-ovn, kolla-ansible and C(ovn-ctl) all put them
        there; C(/var/run) is a link to C(/run)).
    type: dict
    default: {}
  timeout:
    description: Deadline in seconds for the whole run; every socket is read at once, each within it.
    type: float
    default: 10.0
"""

EXAMPLES = r"""
- name: Read every NB and SB member on its own host
  kubedc.ovn_tuning.ovsdb_server_status:
  delegate_to: "{{ item }}"
  loop: "{{ groups['ovn_central'] }}"
  # A host that cannot be reached is reported as such by ovn_health (members_healthy fails).
  ignore_unreachable: true
  register: member_reads

- name: Judge NB with the members' status merged in
  kubedc.ovn_tuning.ovn_health:
    database: OVN_Northbound
    remote: tcp:10.0.0.11:6641,tcp:10.0.0.12:6641,tcp:10.0.0.13:6641
    member_status: "{{ member_reads | kubedc.ovn_tuning.member_status('OVN_Northbound') }}"
"""

RETURN = r"""
servers:
  description: >-
    Per database name - C(ctl_socket) (the path read), C(cluster_status) (parsed C(cluster/status), the
    structure of kubedc.ovn_tuning.ovsdb_cluster_info's C(members[].cluster_status)) or null and
    C(cluster_status_error), C(listeners) (each C(remote), C(source) V(database) or V(command_line), and for
    database listeners C(database), C(table), C(column)) or null and C(listeners_error), C(read_at_epoch).
  returned: always
  type: dict
  sample:
    OVN_Northbound:
      ctl_socket: /run/ovn/ovnnb_db.ctl
      cluster_status: {role: leader, term: 4, status: cluster member, server_id: 0c4b...}
      cluster_status_error: null
      listeners: [{remote: "db:OVN_Northbound,NB_Global,connections", source: database}]
      listeners_error: null
      read_at_epoch: 1764590000.123
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import cluster_members
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import Deadline, OvsdbConfigError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import run_module

# The control socket of each clustered OVN database's server, where the platforms put it.
DEFAULT_CTL_SOCKETS = {
    "OVN_Northbound": "/run/ovn/ovnnb_db.ctl",
    "OVN_Southbound": "/run/ovn/ovnsb_db.ctl",
}


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            databases=dict(type="list", elements="str", default=list(sorted(DEFAULT_CTL_SOCKETS))),
            ctl_sockets=dict(type="dict", default={}),
            timeout=dict(type="float", default=10.0),
        ),
        supports_check_mode=True)


def sockets_of(params):
    """``{database: control socket}`` to read; raises OvsdbConfigError naming the option."""
    databases = params["databases"]
    if not databases:
        raise OvsdbConfigError("databases: give at least one database (accepted: %s, or any database"
                               " with its socket in ctl_sockets)" % ", ".join(sorted(DEFAULT_CTL_SOCKETS)))
    if len(set(databases)) != len(databases):
        raise OvsdbConfigError("databases: each database once, got %s" % ", ".join(databases))
    unknown = sorted(set(params["ctl_sockets"]) - set(databases))
    if unknown:
        raise OvsdbConfigError("ctl_sockets: %s not in databases (%s)" % (", ".join(unknown), ", ".join(databases)))
    if params["timeout"] is None or params["timeout"] <= 0:
        raise OvsdbConfigError("timeout: must be a positive number of seconds, got %r" % params["timeout"])
    sockets = {}
    for database in databases:
        path = params["ctl_sockets"].get(database) or DEFAULT_CTL_SOCKETS.get(database)
        if not path:
            raise OvsdbConfigError(
                "ctl_sockets: %s has no default control socket; give its path in ctl_sockets (defaults"
                " are known for %s)" % (database, ", ".join(sorted(DEFAULT_CTL_SOCKETS))))
        if not str(path).startswith("/"):
            raise OvsdbConfigError("ctl_sockets.%s: must be an absolute path, got %r" % (database, path))
        sockets[database] = str(path)
    return sockets


def read_servers(params):
    sockets = sockets_of(params)
    deadline = Deadline(params["timeout"], "reading the control sockets")
    tasks = []
    for database, path in sorted(sockets.items()):
        tasks.append((cluster_members.read_ctl, (database, path, deadline), {}))
    unfinished = cluster_members.run_bounded(tasks, deadline)
    servers = {}
    for index, (database, path) in enumerate(sorted(sockets.items())):
        out = tasks[index][2]
        entry = {"ctl_socket": path, "cluster_status": None, "cluster_status_error": None,
                 "listeners": None, "listeners_error": None, "read_at_epoch": round(time.time(), 3)}
        if index in unfinished:
            late = "%s: no answer within %.1f s" % (path, params["timeout"])
            out = {"cluster_status_error": late, "listeners_error": late}
        entry.update(out)
        servers[database] = entry
    return {"changed": False, "servers": servers}


def main():
    module = build_module()
    run_module(module, lambda: read_servers(module.params))


if __name__ == "__main__":
    main()
