# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every OVSDB module shares: the connection argument spec, building the
client from module parameters, and turning client errors into fail_json.

The options are documented once, in the ``kubedc.ovn_tuning.ovsdb`` doc fragment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import Backoff, OvsdbError, parse_remotes
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_client import OvsdbClient
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_rpc import HAS_OVS, OVS_IMPORT_ERROR, TlsFiles

OVSDB_CONNECTION_SPEC = dict(
    remote=dict(type="str"),
    timeout=dict(type="float", default=30.0),
    leader_only=dict(type="bool", default=True),
    ssl_private_key=dict(type="path"),
    ssl_certificate=dict(type="path"),
    ssl_ca_cert=dict(type="path"),
    backoff_initial=dict(type="float", default=1.0),
    backoff_max=dict(type="float", default=30.0),
    client_probe_interval=dict(type="raw", default=5000),
)

# Environment variables OVN users already export for their CLIs.
REMOTE_ENV = {
    "OVN_Northbound": "OVN_NB_DB",
    "OVN_Southbound": "OVN_SB_DB",
}


def connection_spec(**overrides):
    """A fresh copy of the connection options, with per-module overrides (e.g. a default remote)."""
    spec = copy.deepcopy(OVSDB_CONNECTION_SPEC)
    for name, changes in overrides.items():
        spec[name].update(changes)
    return spec


def resolve_remote(params, database):
    """``remote`` as given, else the OVN_NB_DB/OVN_SB_DB variable that fits ``database``."""
    remote = params.get("remote")
    if not remote and database in REMOTE_ENV:
        remote = os.environ.get(REMOTE_ENV[database])
    if not remote:
        hint = " or set %s" % REMOTE_ENV[database] if database in REMOTE_ENV else ""
        raise OvsdbError("remote: required for %s; give tcp:IP:PORT, ssl:IP:PORT or unix:PATH%s"
                         % (database, hint))
    return remote


def validate_connection_params(params, database):
    """Check every connection option before anything is contacted; returns the remote."""
    remote = resolve_remote(params, database)
    parse_remotes(remote)
    if params["timeout"] is None or params["timeout"] <= 0:
        raise OvsdbError("timeout: must be a positive number of seconds, got %r" % params["timeout"])
    Backoff(params["backoff_initial"], maximum=params["backoff_max"])
    tunables.parse_interval(params["client_probe_interval"], "client_probe_interval",
                            "client_probe_interval")
    if remote and "ssl:" in remote:
        tls_from_params(params).check()
    return remote


def tls_from_params(params):
    return TlsFiles(params.get("ssl_private_key"), params.get("ssl_certificate"),
                    params.get("ssl_ca_cert"))


def client_from_params(params, database, tables, leader_only=None):
    """An unconnected OvsdbClient for ``database`` that monitors only ``tables``."""
    remote = validate_connection_params(params, database)
    probe_ms = tunables.parse_interval(params["client_probe_interval"], "client_probe_interval",
                                       "client_probe_interval")
    return OvsdbClient(
        remote, database, tables, timeout=params["timeout"],
        leader_only=params["leader_only"] if leader_only is None else leader_only,
        probe_interval_ms=probe_ms,
        backoff=Backoff(params["backoff_initial"], maximum=params["backoff_max"]),
        tls=tls_from_params(params))


def require_ovs(module):
    if not HAS_OVS:
        module.fail_json(msg="the 'ovs' Python package is required on the host that runs this module"
                             " (Debian/Ubuntu: apt install python3-openvswitch; RHEL family: dnf install"
                             " python3-openvswitch, versioned python3-openvswitchX.Y with the versioned OVS"
                             " packages; any host: pip install ovs into the Python Ansible uses): %s"
                             % OVS_IMPORT_ERROR)


def run_module(module, work):
    """Run ``work()`` (returns the result dict) and exit; OvsdbError and invalid
    values become fail_json with the sentence the error carries."""
    require_ovs(module)
    try:
        result = work()
    except (OvsdbError, tunables.IntervalError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


def diff_result(module, before, after):
    """The ``diff`` key of a result, only when Ansible runs with --diff."""
    if module._diff:  # pylint: disable=protected-access
        return {"diff": {"before": before, "after": after}}
    return {}
