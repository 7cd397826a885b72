# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every OVSDB module of kubedc.ovn_tuning.
    DOCUMENTATION = r"""
options:
  remote:
    description:
      - OVSDB remote(s) of the database, as OVN writes them - C(tcp:IP:PORT), C(ssl:IP:PORT) or C(unix:PATH),
        comma separated for the members of a RAFT cluster (for example the value of E(OVN_NB_DB)).
      - When omitted, E(OVN_NB_DB) is used for OVN_Northbound and E(OVN_SB_DB) for OVN_Southbound.
    type: str

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
      - First pause in seconds after every remote failed. Each further round doubles it up to
        O(backoff_max); each pause is drawn at random between half and all of that value so that many
        clients restarted together do not retry in step. Pauses never run past O(timeout).
    type: float
    default: 1.0
  backoff_max:
    description: Longest pause in seconds between rounds of connection attempts.
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
"""

    # The same without ``remote`` (kubedc.ovn_tuning.ovsdb.client), for a module that takes its
    # remotes from another option (ovn_tuning_snapshot's deployment descriptor). ansible-test reads
    # doc fragments only as string literals, so both are written out in full;
    # tests/unit/test_doc_fragments.py checks that they stay the same apart from ``remote``.
    CLIENT = r"""
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
      - First pause in seconds after every remote failed. Each further round doubles it up to
        O(backoff_max); each pause is drawn at random between half and all of that value so that many
        clients restarted together do not retry in step. Pauses never run past O(timeout).
    type: float
    default: 1.0
  backoff_max:
    description: Longest pause in seconds between rounds of connection attempts.
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
"""
