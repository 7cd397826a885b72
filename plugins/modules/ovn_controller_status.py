#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_controller_status
short_description: Read whether ovn-controller on this chassis is connected to the Southbound database
version_added: "0.2.0"
description:
  - Runs on a chassis (hypervisor, Kubernetes node) and asks the local ovn-controller, over its unixctl control
    socket, for C(connection-status) - the answer of C(ovn-appctl -t ovn-controller connection-status), without
    the CLI.
  - ovn-controller's control socket carries its process id (C(ovn-controller.PID.ctl)); unless O(ctl_socket) is
    given, the module reads the pid from C(ovn-controller.pid) in O(run_dir) and finds the socket beside it, as
    C(ovn-appctl -t ovn-controller) does.
  - With O(wait_timeout), the module keeps asking until the answer is V(connected) or the time is up - a gate
    after a change that gives a reconnecting controller time to come back.
  - A controller that is not running, a missing socket or a late answer is reported in RV(error) with
    RV(connected=false); it does not fail the module. Only bad input fails.
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
  run_dir:
    description:
      - The directory of ovn-controller's pidfile and control socket. V(/run/ovn) on Debian/Ubuntu, the RHEL
        family, kolla-ansible and kube-ovn nodes (the ovs-ovn pod shares it with the host); C(/var/run) is a link
        to C(/run).
    type: path
    default: /run/ovn
  ctl_socket:
    description:
      - The control socket itself, for a controller started with C(--unixctl). Overrides O(run_dir).
    type: path
  wait_timeout:
    description:
      - Seconds to keep asking until ovn-controller reports V(connected); V(0) asks once.
    type: float
    default: 0
  timeout:
    description: Deadline in seconds for each question to the control socket.
    type: float
    default: 5.0
"""

EXAMPLES = r"""
- name: Gate - ovn-controller is still connected to the SB after its probe changed
  kubedc.ovn_tuning.ovn_controller_status:
    wait_timeout: 30
  register: controller

- name: Fail when it is not
  ansible.builtin.assert:
    that: controller.connected
    fail_msg: "ovn-controller on {{ inventory_hostname }}: {{ controller.connection_status }} {{ controller.error or '' }}"
"""

RETURN = r"""
connected:
  description: Whether ovn-controller answered V(connected).
  returned: always
  type: bool
connection_status:
  description: Its answer to C(connection-status) (V(connected), V(not connected)), or null when it did not answer.
  returned: always
  type: str
  sample: connected
ctl_socket:
  description: The control socket asked (null when no pidfile named one).
  returned: always
  type: str
  sample: /run/ovn/ovn-controller.4242.ctl
pid:
  description: The process id read from the pidfile (null with O(ctl_socket) or without a pidfile).
  returned: always
  type: int
error:
  description: Why there is no V(connected) answer (no pidfile, no socket, no answer in time), else null.
  returned: always
  type: str
waited_s:
  description: Seconds spent until the last answer.
  returned: always
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import Deadline, OvsdbConfigError, OvsdbError, sleep_until
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_rpc import unixctl
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import run_module

PROGRAM = "ovn-controller"
# Between two questions while waiting for "connected".
ASK_INTERVAL = 0.5


def build_module():
    return AnsibleModule(
        argument_spec=dict(
            run_dir=dict(type="path", default="/run/ovn"),
            ctl_socket=dict(type="path"),
            wait_timeout=dict(type="float", default=0.0),
            timeout=dict(type="float", default=5.0),
        ),
        supports_check_mode=True)


def check_params(params):
    for name in ("run_dir", "ctl_socket"):
        value = params[name]
        if value is not None and not str(value).startswith("/"):
            raise OvsdbConfigError("%s: must be an absolute path, got %r" % (name, value))
    if params["timeout"] is None or params["timeout"] <= 0:
        raise OvsdbConfigError("timeout: must be a positive number of seconds, got %r" % params["timeout"])
    if params["wait_timeout"] is None or params["wait_timeout"] < 0:
        raise OvsdbConfigError("wait_timeout: must be 0 (ask once) or a positive number of seconds, got %r"
                               % params["wait_timeout"])


def find_socket(params):
    """``(ctl_socket, pid, error)`` - the socket to ask, from ctl_socket or the pidfile."""
    if params["ctl_socket"]:
        return params["ctl_socket"], None, None
    pidfile = os.path.join(params["run_dir"], PROGRAM + ".pid")
    try:
        with open(pidfile) as handle:
            text = handle.read().strip()
    except (IOError, OSError) as exc:
        return None, None, "%s: cannot read (is ovn-controller running on this host?): %s" % (pidfile, exc)
    if not text.isdigit():
        return None, None, "%s: holds %r, not a process id" % (pidfile, text[:40])
    pid = int(text)
    return os.path.join(params["run_dir"], "%s.%d.ctl" % (PROGRAM, pid)), pid, None


def ask(params):
    ctl_socket, pid, error = find_socket(params)
    status = None
    if ctl_socket:
        try:
            status = unixctl(ctl_socket, "connection-status", timeout=params["timeout"]).strip()
        except OvsdbError as exc:
            error = str(exc)
    return {"ctl_socket": ctl_socket, "pid": pid, "connection_status": status,
            "connected": status == "connected", "error": error}


def read_status(params):
    check_params(params)
    started = time.time()
    deadline = Deadline(params["wait_timeout"], "waiting for ovn-controller to connect")
    while True:
        answer = ask(params)
        # A pidfile can be rewritten by a restart between two questions: find the socket each time.
        if answer["connected"] or deadline.expired():
            break
        sleep_until(deadline, ASK_INTERVAL)
    if not answer["connected"] and answer["error"] is None:
        answer["error"] = "ovn-controller answered %r%s" % (
            answer["connection_status"],
            " for %.1f s" % params["wait_timeout"] if params["wait_timeout"] else "")
    answer["waited_s"] = round(time.time() - started, 3)
    answer["changed"] = False
    return answer


def main():
    module = build_module()
    run_module(module, lambda: read_status(module.params))


if __name__ == "__main__":
    main()
