#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovsdb_relay_probe
short_description: Set the probe of OVSDB relays' connections to their source, where the server can
version_added: "0.2.0"
description:
  - An OVSDB relay (C(ovsdb-server relay:OVN_Southbound:REMOTES)) keeps one connection to its source, the cluster,
    for all the clients behind it. Open vSwitch 3.2 and later set that connection's probe at run time with the
    unixctl command C(ovsdb-server/set-relay-source-probe-interval); this module sends it to each relay given in
    O(ctl_sockets).
  - A server that cannot take it is reported, not failed - C(supported=false) with the reason - so that one play
    serves a fleet of mixed versions - ovsdb-server 3.1 and older have no such command (checked with the
    server's own C(list-commands)); a server that takes its configuration from C(--config-file) refuses
    configuration over unixctl (C(tunable=false) - change the file and have the server reload it).
  - ovsdb-server has no command that reads the value back, so a run that sends it reports C(changed) for each
    server that took it, even when the value was already in force. The value lasts until the server restarts.
  - The listeners of a relay (C(--remote) on its command line, or its C(--config-file)) are not changed here;
    kubedc.ovn_tuning.ovn_health reports them.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
attributes:
  check_mode:
    support: full
    description: Reads each server's version and commands and says what would be sent; sends nothing.
  diff_mode:
    support: none
    description: There is no value to read back, so there is no before to show.
options:
  ctl_sockets:
    description: The unixctl sockets of the relay servers (C(ovsdb-server --unixctl=PATH)), absolute paths.
    type: list
    elements: path
    required: true
  probe_interval:
    description:
      - The probe interval of each relay's connection to its source, in milliseconds (V(60000)) or with a unit
        (V(60s), V(1m)); V(0) disables it (the relay then never notices a dead source on TCP).
      - 1000-3600000 ms; 1-999 ms is refused (OVS raises it to 1000).
    type: raw
    required: true
  timeout:
    description: Deadline of each unixctl call, in seconds.
    type: float
    default: 10.0
notes:
  - Run it where the relays' sockets are (the relay hosts, C(delegate_to)).
seealso:
  - module: kubedc.ovn_tuning.ovn_health
  - module: kubedc.ovn_tuning.ovsdb_server_status
"""

EXAMPLES = r"""
- name: A 60 s probe on each SB relay's connection to the cluster (where the server can take it)
  kubedc.ovn_tuning.ovsdb_relay_probe:
    ctl_sockets: [/run/ovn/ovnsb_db.ctl]
    probe_interval: 60s
  delegate_to: "{{ item }}"
  loop: "{{ groups['sb_relays'] }}"
  register: relay_probe

- name: Say which relays could not take it
  ansible.builtin.debug:
    msg: "{{ relay_probe.results | map(attribute='servers') | flatten | rejectattr('tunable') | map(attribute='message') }}"
"""

RETURN = r"""
probe_interval:
  description: The probe interval sent (or that would be), in ms.
  returned: always
  type: int
  sample: 60000
servers:
  description: One entry per socket of O(ctl_sockets).
  returned: always
  type: list
  elements: dict
  contains:
    ctl_socket:
      description: The socket.
      type: str
    version:
      description: The server's C(version) answer.
      type: str
    supported:
      description: The server has the command (Open vSwitch 3.2 and later).
      type: bool
    tunable:
      description: The value was set (or, in check mode, would be) - supported and not refused.
      type: bool
    changed:
      description: The command was sent and taken.
      type: bool
    message:
      description: What happened, in words; for a server that could not take it, why.
      type: str
  sample: [{"ctl_socket": "/run/ovn/ovnsb_db.ctl", "version": "ovsdb-server (Open vSwitch) 3.1.0", "supported": false,
            "tunable": false, "changed": false,
            "message": "/run/ovn/ovnsb_db.ctl: not supported by this server (ovsdb-server (Open vSwitch) 3.1.0) ..."}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError, UnixctlError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_rpc import unixctl
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import run_module

COMMAND = "ovsdb-server/set-relay-source-probe-interval"
TUNABLE = "relay_source_probe_interval"


def validate(params):
    sockets = params["ctl_sockets"] or []
    if not sockets:
        raise OvsdbConfigError("ctl_sockets: give the unixctl socket of at least one relay server")
    for index, path in enumerate(sockets):
        if not isinstance(path, str) or not path.startswith("/"):
            raise OvsdbConfigError("ctl_sockets[%d]: must be an absolute path, got %r" % (index, path))
    if len(set(sockets)) != len(sockets):
        raise OvsdbConfigError("ctl_sockets: each socket once, got %s" % ", ".join(sockets))
    if params["timeout"] is None or params["timeout"] <= 0:
        raise OvsdbConfigError("timeout: must be a positive number of seconds, got %r" % params["timeout"])
    return tunables.parse_interval(params["probe_interval"], TUNABLE, "probe_interval")


def judge(path, version, commands, refusal=None):
    """One server's entry from what it answered: its version, its list of commands, and the error it
    answered the set with (None: taken, or not sent)."""
    entry = {"ctl_socket": path, "version": version, "supported": COMMAND in commands, "tunable": False,
             "changed": False}
    if not entry["supported"]:
        entry["message"] = ("%s: not supported by this server (%s): %s exists from Open vSwitch 3.2; the relay's"
                            " source probe stays the server's own until it is upgraded" % (path, version, COMMAND))
    elif refusal is not None:
        entry["message"] = ("%s: the server refused %s (%s) - it takes its configuration from --config-file;"
                            " set the probe in that file" % (path, COMMAND, refusal))
    else:
        entry["tunable"] = True
        entry["message"] = "%s: %s" % (path, version)
    return entry


def work(module):
    params = module.params
    value = validate(params)
    servers = []
    for path in params["ctl_sockets"]:
        version = unixctl(path, "version", timeout=params["timeout"]).strip().splitlines()[0]
        commands = unixctl(path, "list-commands", timeout=params["timeout"])
        refusal = None
        sent = False
        if COMMAND in commands and not module.check_mode:
            try:
                unixctl(path, COMMAND, [value], timeout=params["timeout"])
                sent = True
            except UnixctlError as exc:
                if exc.kind != "refused":
                    raise
                refusal = exc.server_error or str(exc)
        entry = judge(path, version, commands, refusal)
        entry["changed"] = entry["tunable"] and (sent or module.check_mode)
        if not entry["tunable"]:
            module.warn(entry["message"])
        servers.append(entry)
    if any(entry["changed"] for entry in servers) and not module.check_mode:
        module.warn("ovsdb-server has no command that reads the relay source probe back: the value was sent"
                    " and is reported as a change on every run")
    return {"changed": any(entry["changed"] for entry in servers), "probe_interval": value, "servers": servers}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ctl_sockets=dict(type="list", elements="path", required=True),
            probe_interval=dict(type="raw", required=True),
            timeout=dict(type="float", default=10.0),
        ),
        supports_check_mode=True)
    run_module(module, lambda: work(module))


if __name__ == "__main__":
    main()
