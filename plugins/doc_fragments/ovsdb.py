# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The OVSDB client's options, shared by every OVSDB module of kubedc.ovn_tuning. A module that takes
    # its remotes from the option ``remote`` adds the REMOTE fragment (kubedc.ovn_tuning.ovsdb.remote);
    # ovn_tuning_snapshot takes them from its deployment descriptor.
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Deadline in seconds for the whole module run against the database - connecting (with retries),
        the initial read, the transaction and the read-back. A stopped or unreachable server makes the
        module fail after this long with the remotes tried and the last reason; it never waits longer.
    type: float
    default: 30.0
  leader_only:
    description:
      - For a clustered database, talk only to the RAFT leader. Members that are followers or not
        connected to their cluster are skipped. Has no effect on standalone databases.
    type: bool
    default: true
  ssl_private_key:
    description: Private key file for C(ssl:) remotes. Checked before use.
    type: path
  ssl_certificate:
    description: Certificate file for C(ssl:) remotes. Checked before use.
    type: path
  ssl_ca_cert:
    description: CA certificate file that signed the server certificates, for C(ssl:) remotes. Checked before use.
    type: path
  backoff_initial:
    description:
      - The unit of the pauses between rounds of connection attempts. After a round in which every remote
        failed, the pause is drawn at random between two and three times this value (at most O(backoff_max)) -
        it does not grow with the outage, so the client tries again within three times this value of the
        server's return, and the jitter keeps many clients that failed together from retrying in step. While
        a cluster member answers that it is not the leader (an election), the pause is 0.2 to 0.5 times this value.
      - A B(re)connection (the connection dropped during the run) to a database with other members listed
        tries those at once, the lost server last; with one server listed it first waits a random pause of up
        to three times this value (at most O(backoff_max)), so that the clients of a server that went away do
        not all come back in the same moment. Pauses never run past O(timeout).
    type: float
    default: 1.0
  backoff_max:
    description: Longest pause in seconds between rounds of connection attempts (the pauses of O(backoff_initial) are cut to it).
    type: float
    default: 30.0
  client_probe_interval:
    description:
      - Interval of this module's own echo probe on its OVSDB connection, in milliseconds or as a string
        with a unit (V(5s)). A silent server is detected and the connection dropped instead of waited on.
      - V(0) disables it (not recommended); 1-999 ms and values over one hour are refused.
    type: raw
    default: 5000

requirements:
  - ovs (Python package, 4.0 or later) on the host that runs the module
attributes:
  action_group:
    description: Use C(group/kubedc.ovn_tuning.ovsdb) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - kubedc.ovn_tuning.ovsdb
"""

    # The option ``remote`` (kubedc.ovn_tuning.ovsdb.remote).
    REMOTE = r"""
options:
  remote:
    description:
      - OVSDB remote(s) of the database, as OVN writes them - C(tcp:IP:PORT), C(ssl:IP:PORT) or C(unix:PATH),
        comma separated for the members of a RAFT cluster (for example the value of E(OVN_NB_DB)).
      - When omitted, E(OVN_NB_DB) is used for OVN_Northbound and E(OVN_SB_DB) for OVN_Southbound.
    type: str
"""
