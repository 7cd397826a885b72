#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovsdb_connection
short_description: Manage the Connection rows (listeners and their inactivity probe) of an OVN database
version_added: "0.1.0"
description:
  - Creates, updates or removes one C(Connection) row of an OVSDB database - the listeners and outgoing
    connections that ovsdb-server takes from the database (C(--remote=db:OVN_Northbound,NB_Global,connections)
    and the like), with their C(inactivity_probe), C(max_backoff), C(read_only), C(role) and C(other_config).
  - The row is identified by its O(target); with O(all_connections=true) the settings apply to every row the
    database has (every listener and connection its servers take from it) in one transaction. A new row is attached to, and a removed row detached from, the
    C(connections) column of the database's global row (C(NB_Global), C(SB_Global), or C(Config) of
    C(Local_Config)) in the same transaction, so no row is ever left unreferenced. A missing global row is
    created, as C(ovn-nbctl) does.
  - Declarative and partial - options left out keep their current value. Unlike
    C(ovn-nbctl set-connection), the probe of an existing row is not reset and other rows are kept unless
    O(exclusive=true).
  - Reads, compares and writes in one transaction that verifies what it read (a concurrent writer makes it
    re-read and re-plan), then reads the rows back.
  - Bad input (target syntax, intervals, a column the database's schema lacks) fails before the database is
    contacted, with a message naming the option and the accepted values.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.ovsdb.remote
attributes:
  check_mode:
    description: Reads the rows and reports what would change, including the predicted row, without writing.
    support: full
  diff_mode:
    description: Returns the database's Connection rows (by target) before and after the change.
    support: full
options:
  database:
    description:
      - The database whose listeners to manage.
      - V(Local_Config) is kube-ovn's per-server database in clustered mode (the servers then run with
        C(--remote=db:Local_Config,Config,connections) and ignore the C(Connection) rows of NB and SB).
        Each server has its own C(Local_Config), so O(remote) must name one server, not a list. kube-ovn
        recreates C(Local_Config) with only C(target) set when a pod starts, so a change there lasts until
        the next restart of that pod.
    type: str
    required: true
    choices: [OVN_Northbound, OVN_Southbound, Local_Config]
  target:
    description:
      - The C(target) column that identifies the row, in ovsdb-server's syntax - C(ptcp:PORT[:IP]),
        C(pssl:PORT[:IP]), C(punix:PATH) (listeners), C(tcp:IP:PORT), C(ssl:IP:PORT), C(unix:PATH)
        (connections the server makes). IPv6 addresses go in brackets (C(ptcp:6641:[::1])).
      - Targets are compared as written - C(ptcp:6641) and C(ptcp:6641:0.0.0.0) are different rows.
      - Exactly one of O(target) and O(all_connections=true) is required.
    type: str
  all_connections:
    description:
      - With V(true), the settings given apply to every C(Connection) row of the database - every row
        referenced from the C(connections) column of its global row, which are all the listeners and
        connections its servers take from the database - read, compared and written in one transaction and
        one connection. No row is created or removed; a database without rows is left as it is.
      - Instead of O(target); needs at least one setting (O(inactivity_probe), O(max_backoff), O(read_only),
        O(role), O(other_config)); not with O(state=absent) or O(exclusive).
      - A probe of V(0) is refused, before anything is written, when a row is a C(ptcp:)/C(pssl:) listener and
        O(allow_disabled_probe) is not set.
    type: bool
    default: false
  inactivity_probe:
    description:
      - Milliseconds a client of this listener may stay silent before ovsdb-server probes it and then drops
        it, as an integer in ms or a string with a unit (V(60s), V(5m), V(60000ms)).
      - V(0) disables the probe; on a C(ptcp:) or C(pssl:) listener only with O(allow_disabled_probe) (a dead
        client then keeps its locks). 1-999 ms (ovsdb-server would raise them to 1000 ms), negative values and
        values over one hour are refused. Left out, the current value is kept.
    type: raw
  allow_disabled_probe:
    description:
      - Accept O(inactivity_probe=0) on a C(ptcp:)/C(pssl:) listener. Without a probe ovsdb-server never
        notices a client that died without closing its connection (a crashed host, a cut network) and
        keeps that client's locks - a dead ovn-northd keeps the C(ovn_northd) lock and the standby never
        takes over. C(punix:) listeners are never probed, so 0 there needs no consent.
    type: bool
    default: false
  max_backoff:
    description:
      - Longest pause, in ms (or a string with a unit), between attempts of an active (C(tcp:)/C(ssl:))
        connection of the server. 1000 ms to one hour. Left out, the current value is kept.
    type: raw
  read_only:
    description:
      - Whether clients of this connection may only read. Exists in the OVN_Southbound and Local_Config
        schemas only; refused for OVN_Northbound. Left out, the current value is kept.
    type: bool
  role:
    description:
      - RBAC role of clients of this connection (for example V(ovn-controller)); V("") for none.
        Exists in the OVN_Southbound and Local_Config schemas only; refused for OVN_Northbound.
        Left out, the current value is kept.
    type: str
  other_config:
    description:
      - "The whole C(other_config) map of the row (for example V({dscp: '46'})); keys not given are removed."
      - Values must be strings (integers are converted). Left out, the map is kept.
    type: dict
  exclusive:
    description:
      - With V(true), every other Connection row of the database is removed in the same transaction, so that
        O(target) is the only listener taken from the database (what C(ovn-nbctl set-connection) does).
      - Removing a row closes that listener at once, unless the server's command line also has it.
        In a cluster whose members each listen through their own row, this takes the other members'
        listeners away.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the row; V(absent) removes it (the options of the row must then be
        left out).
    type: str
    choices: [present, absent]
    default: present
notes:
  - A listener given on ovsdb-server's command line (C(--remote=ptcp:...), C(ovn-ctl --db-nb-create-insecure-remote=yes))
    has no row; its probe cannot be changed at run time, and a row with the same target only adds a listener
    that fails to bind. This module cannot see the command line; C(ovsdb-server/list-remotes) on the server's
    control socket shows it (see the kubedc.ovn_tuning.ovsdb_cluster_info module).
  - A C(Connection) row's C(inactivity_probe) applies to the connections of that listener only; the probes
    of clients (ovn-northd, ovn-controller) are set elsewhere (kubedc.ovn_tuning.ovn_global_options,
    kubedc.ovn_tuning.ovn_chassis_probe).
seealso:
  - module: kubedc.ovn_tuning.ovn_global_options
  - name: ovsdb-server(1), Connection table of ovn-nb(5) / ovn-sb(5)
    description: The columns of the Connection table and the target syntax.
    link: https://docs.ovn.org/en/latest/ref/ovn-nb.5.html#connection-table
"""

EXAMPLES = r"""
- name: Raise the NB listener's inactivity probe to 60 s, keeping every other listener
  kubedc.ovn_tuning.ovsdb_connection:
    remote: tcp:10.0.0.11:6641,tcp:10.0.0.12:6641,tcp:10.0.0.13:6641
    database: OVN_Northbound
    target: ptcp:6641:0.0.0.0
    inactivity_probe: 60s

- name: One SB listener for ovn-controller with RBAC, replacing all others (like ovn-sbctl set-connection)
  kubedc.ovn_tuning.ovsdb_connection:
    remote: "{{ ovn_sb_db }}"
    database: OVN_Southbound
    target: pssl:6642
    role: ovn-controller
    inactivity_probe: 180000
    exclusive: true
    ssl_private_key: /etc/ovn/key.pem
    ssl_certificate: /etc/ovn/cert.pem
    ssl_ca_cert: /etc/ovn/cacert.pem

- name: kube-ovn clustered mode - tune one member's Local_Config listener
  kubedc.ovn_tuning.ovsdb_connection:
    remote: unix:/var/run/ovn/ovnnb_db.sock
    database: Local_Config
    target: ptcp:6641:[fd00::11]
    inactivity_probe: 2m

- name: Raise the probe of every NB listener in one run (whatever their targets)
  kubedc.ovn_tuning.ovsdb_connection:
    remote: "{{ ovn_nb_db }}"
    database: OVN_Northbound
    all_connections: true
    inactivity_probe: 60s

- name: Remove a listener
  kubedc.ovn_tuning.ovsdb_connection:
    remote: "{{ ovn_nb_db }}"
    database: OVN_Northbound
    target: ptcp:6645
    state: absent
"""

RETURN = r"""
changed:
  description: Whether a row was (or, in check mode, would be) created, changed or removed.
  returned: always
  type: bool
connection:
  description:
    - The row of O(target) after the run (null with O(all_connections)), as read back from the database; in check mode, the predicted row
      (C(_uuid) is null for a row not yet created). Null when the row does not exist (O(state=absent)).
    - Holds C(_uuid) and the Connection columns the schema has (C(target), C(inactivity_probe),
      C(max_backoff), C(other_config), C(external_ids), and C(read_only), C(role) in OVN_Southbound and
      Local_Config). An unset C(inactivity_probe)/C(max_backoff) is null (ovsdb-server then uses its default).
  returned: always
  type: dict
  sample:
    _uuid: 3f6e3b7c-6f8e-4e39-9a49-3a8b0d7b1d21
    target: ptcp:6641:0.0.0.0
    inactivity_probe: 60000
    max_backoff: null
    other_config: {}
    external_ids: {}
before:
  description: The row of O(target) before the run (same keys as RV(connection)), or null if there was none (always
    null with O(all_connections)).
  returned: always
  type: dict
connections:
  description:
    - The rows this run managed, after it (predicted in check mode), sorted by target - the row of O(target)
      (none when it does not exist), or every row with O(all_connections). Same keys as RV(connection).
  returned: always
  type: list
  elements: dict
connections_before:
  description: The same rows before the run.
  returned: always
  type: list
  elements: dict
removed:
  description: Targets of the rows removed (or, in check mode, to be removed) by O(state=absent) or O(exclusive).
  returned: always
  type: list
  elements: str
  sample: [ptcp:6641:127.0.0.2, ptcp:6641:127.0.0.3]
diff:
  description: Every Connection row of the database by target (without C(_uuid)), before and after.
  returned: when Ansible runs with C(--diff)
  type: dict
  contains:
    before:
      description: "C({connections: {TARGET: ROW}}) before."
      type: dict
    after:
      description: "C({connections: {TARGET: ROW}}) after (predicted in check mode)."
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import connection_rows, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Deadline, OvsdbConfigError, OvsdbError, parse_remotes)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    client_from_params, connection_spec, diff_result, run_module, validate_connection_params)

SETTING_OPTIONS = tunables.CONNECTION_SETTINGS


def settings_from_params(params):
    return dict((name, params[name]) for name in SETTING_OPTIONS if params[name] is not None)


def desired_from_params(params):
    """Validate the module options; everything here runs before the database is contacted.
    Returns the desired rows, or None with all_connections (they follow from the rows read)."""
    database = params["database"]
    settings = settings_from_params(params)
    if params["all_connections"]:
        if params["state"] == "absent" or params["exclusive"]:
            raise OvsdbConfigError("all_connections: sets options on every existing row; not with state=absent"
                                   " or exclusive=true (give a target for those)")
        if not settings:
            raise OvsdbConfigError("all_connections: give at least one of %s to set on every row"
                                   % ", ".join(SETTING_OPTIONS))
        connection_rows.validate_settings(database, settings)
        desired = None
    else:
        desired = [connection_rows.desired_row(database, params["target"], params["state"], settings,
                                               allow_disabled_probe=params["allow_disabled_probe"])]
    if params["exclusive"] and params["state"] == "absent":
        raise OvsdbConfigError("exclusive: only used with state=present (it removes every row but target's)")
    remote = validate_connection_params(params, database)
    if database == "Local_Config" and len(parse_remotes(remote)) > 1:
        raise OvsdbConfigError("remote: Local_Config is each server's own database; give the remote of one"
                               " server, not a list (%s)" % remote)
    return desired


def desired_rows(params, desired, rows):
    """The desired rows of this run: the given one, or (all_connections) one per row read."""
    if desired is not None:
        return desired
    settings = settings_from_params(params)
    return [connection_rows.desired_row(params["database"], row["target"], "present", settings,
                                        allow_disabled_probe=params["allow_disabled_probe"])
            for row in rows]


# Reconnecting to read back after our own change closed the listener we came through.
READ_BACK_TIMEOUT = 10.0


def manage_connection(module):
    params = module.params
    database = params["database"]
    target = params["target"]
    given = desired_from_params(params)
    tables = {connection_rows.CONNECTION_TABLE: list(connection_rows.CONNECTION_COLUMNS),
              connection_rows.global_table(database): ["connections"]}
    with client_from_params(params, database, tables) as client:
        columns = client.monitored()[connection_rows.CONNECTION_TABLE]
        _global_row, current = connection_rows.read_connections(client, database)
        connection_rows.check_schema(database, columns, desired_rows(params, given, current))
        columns = [c for c in connection_rows.CONNECTION_COLUMNS if c in columns]

        def plan(ovsdb):
            _row, rows = connection_rows.read_connections(ovsdb, database)
            return connection_rows.plan(rows, desired_rows(params, given, rows), params["exclusive"], columns)

        changes, committed = client.converge(
            plan, lambda txn, ovsdb, planned: connection_rows.apply(txn, ovsdb, planned, database),
            check_mode=module.check_mode, comment="kubedc.ovn_tuning.ovsdb_connection %s" % (target or "*"))
        rows_after = changes["rows_after"]
        if committed is not None:
            rows_after = read_back(module, client, database, committed["rows_after"])
            if committed["changed"]:
                changes = committed
            else:
                # The last attempt found nothing left to do: an earlier attempt whose answer was
                # lost with the connection (or another writer) made the change.
                changes = dict(changes, changed=(connection_rows.by_target(rows_after)
                                                 != connection_rows.by_target(changes["rows_before"])))
    removed = [d["target"] for d in changes["delete"]] if changes["changed"] else []
    if removed:
        verb = "would remove" if module.check_mode else "removed"
        module.warn("%s Connection row(s) %s of %s: ovsdb-server stops listening on them unless its command"
                    " line also has them" % (verb, ", ".join(removed), database))
    managed = set(row["target"] for row in (changes["rows_before"] + rows_after)
                  if params["all_connections"] or row["target"] == target)
    result = {
        "changed": changes["changed"],
        "connection": _find(rows_after, target),
        "before": _find(changes["rows_before"], target),
        "connections": [row for row in rows_after if row["target"] in managed],
        "connections_before": [row for row in changes["rows_before"] if row["target"] in managed],
        "removed": removed,
    }
    result.update(diff_result(
        module, {"connections": connection_rows.by_target(changes["rows_before"])},
        {"connections": connection_rows.by_target(rows_after)}))
    return result


def read_back(module, client, database, predicted_rows):
    """The rows after our commit, as the server has them.

    Removing or re-creating the row of the listener this module came through makes
    ovsdb-server close that listener's sessions, ours included, before the update of our
    own change reaches us: reconnect then, and read again.
    """
    if not client.is_connected():
        try:
            client.connect(Deadline(min(client.timeout, READ_BACK_TIMEOUT),
                                    "reconnecting to %s to read back" % database))
        except OvsdbError as exc:
            module.warn("the change to %s was committed but could not be read back (%s); the rows"
                        " returned are the predicted ones" % (database, exc))
            return predicted_rows
    client.refresh()
    return connection_rows.read_connections(client, database)[1]


def _find(rows, target):
    for row in rows:
        if row["target"] == target:
            return row
    return None


def main():
    argument_spec = dict(
        database=dict(type="str", required=True, choices=sorted(connection_rows.GLOBAL_TABLES)),
        target=dict(type="str"),
        all_connections=dict(type="bool", default=False),
        inactivity_probe=dict(type="raw"),
        max_backoff=dict(type="raw"),
        read_only=dict(type="bool"),
        role=dict(type="str"),
        other_config=dict(type="dict"),
        exclusive=dict(type="bool", default=False),
        allow_disabled_probe=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    argument_spec.update(connection_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("all_connections", False, ("target",))])
    if module.params["all_connections"] and module.params["target"] is not None:
        module.fail_json(msg="target: not with all_connections=true (it sets every row; give one or the other)")
    run_module(module, lambda: manage_connection(module))


if __name__ == "__main__":
    main()
