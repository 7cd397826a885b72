#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_tuning_snapshot
short_description: Capture every OVN tunable of a deployment into a snapshot file, and restore it exactly
version_added: "0.1.0"
description:
  - With O(state=captured), reads every tunable this collection manages for one OVN deployment and writes them to a
    versioned JSON file - the C(Connection) rows of the Northbound and Southbound databases (C(target),
    C(inactivity_probe), C(max_backoff), C(other_config), and C(read_only), C(role) where the schema has them), the
    probe keys of C(NB_Global)/C(SB_Global) C(options) (present or absent), the RAFT election timer of each
    clustered database whose members' ctl sockets are given, the C(Connection) rows of each member's
    C(Local_Config) database (kube-ovn clustered mode), the probe keys of each chassis' C(Open_vSwitch)
    C(external_ids), and the probe variables of kube-ovn's C(ovn-central) Deployment. Keys and variables that are
    not set are recorded as V(null).
  - The file also records when it was taken (UTC), the deployment's name, where each part was read from, the
    collection version, and a sha256 checksum of its content. It is written atomically (a temporary file, mode
    0600, renamed into place) and an existing file is never replaced unless O(force=true).
  - With O(state=restored), makes the live values exactly equal to the snapshot - C(Connection) rows added since
    are removed, rows removed since are created again, changed rows set back (one transaction per database,
    attaching rows to and detaching them from the global row's C(connections)); probe keys added since are
    removed and keys removed since are put back, touching no other key; the election timer is stepped back (at
    most doubling per step, on the leader, each step committed before the next); the kube-ovn Deployment's
    variables are put back last, because changing the pod template restarts the database pods.
  - While ovn-northd runs, C(SB_Global.options) is its copy of C(NB_Global.options) (it undoes a direct write).
    The snapshot records C(sbctl_probe_interval) in both; a restore then writes it to C(NB_Global) only and waits
    (up to O(timeout)) until ovn-northd has copied it, so the read-back of both matches the snapshot.
  - A snapshot whose checksum does not match its content, whose C(schema_version) is not 1, or that is malformed
    is refused before anything is contacted. A snapshot of another deployment, or of another shape (for example
    with a chassis the descriptor does not list), is refused before any write with the differences named.
  - Every part is read before anything is written, so an unreachable part fails the restore with nothing
    changed. After the writes everything is read back and compared with the snapshot.
  - When a write fails after that (the transaction of one database, one chassis, one election timer walk, a
    kube-ovn workload), the restore goes on with the other parts - none depends on another's write - and then
    fails naming what was restored (RV(restored)) and what was not, with the reason (RV(not_restored)), in the
    same order (rows, election timers, kube-ovn env). Check mode reports a part it cannot check the same way.
  - With O(store=deployment) the snapshot is kept B(in the deployment itself) instead of a file - for a job that
    runs in a fresh container with no disk that outlives it (AWX) - as the key
    C(kubedc-ovn-tuning:snapshot:NAME) of C(NB_Global.external_ids) (C(SB_Global) for a deployment without
    O(deployment.nb)), its value the snapshot's compact JSON with the same checksum inside. Read it with
    C(ovn-nbctl get NB_Global . 'external_ids:"kubedc-ovn-tuning:snapshot:NAME"') (the key holds C(:), so it is quoted). At most O(keep) snapshots are
    kept - a capture removes the oldest in the same transaction. Only keys under C(kubedc-ovn-tuning:) are ever
    written; another tool's keys are not touched.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.deployment
attributes:
  check_mode:
    support: full
    description:
      - O(state=captured) reads everything and returns the snapshot it would write, without writing the file (or the
        key).
      - O(state=restored) reads everything and returns what would change, without writing anything.
      - O(state=absent) says whether the snapshot is there, without removing it.
  diff_mode:
    support: full
    description:
      - O(state=restored) - the live tunables (before) and the snapshot's (after).
      - O(state=captured) - the tunables of the file being replaced (empty when there is none) and the new ones.
options:
  state:
    description:
      - V(captured) writes a snapshot of the live values to O(path) (or, with O(store=deployment), under O(name)).
      - V(restored) makes the live values equal to the snapshot in O(path) (or O(name)).
      - V(absent) removes the snapshot O(path) (or O(name)) - bookkeeping, no tunable changes.
    type: str
    choices: [captured, restored, absent]
    default: captured
  store:
    description:
      - V(file) - the snapshot is the file O(path).
      - V(deployment) - the snapshot is kept in the deployment (C(NB_Global.external_ids), see the description),
        named O(name).
    type: str
    choices: [file, deployment]
    default: file
  path:
    description:
      - The snapshot file, with O(store=file) (required then). Its directory must exist. It is on the host that runs
        the module (the controller when the task has C(delegate_to=localhost)).
    type: path
  name:
    description:
      - With O(store=deployment), the snapshot's name (1-200 letters, digits, C(.), C(_), C(-)), or its whole key
        C(kubedc-ovn-tuning:snapshot:NAME).
      - O(state=captured) - defaults to the UTC time (C(20261206T101500.123456Z-snapshot)); names sort by time when
        they start with it, which is how the oldest are found for O(keep).
      - O(state=restored) - defaults to the newest snapshot whose name holds C(-before-) (taken right before a change
        by the kubedc.ovn_tuning roles), else the newest.
    type: str
  keep:
    description: With O(store=deployment) and O(state=captured), how many snapshots the deployment keeps (the oldest go).
    type: int
    default: 5
  election_timers:
    description:
      - The committed RAFT election timer of V(nb) and V(sb) in ms, read by the caller on the deployment's central
        hosts (kubedc.ovn_tuning.ovsdb_server_status), for a O(deployment) whose databases have no C(ctl_sockets)
        - the kubedc.ovn_tuning roles give it when the deployment names C(central_hosts).
      - With O(state=captured) the values are recorded in the snapshot as given. With O(state=restored) they are
        the live values the snapshot is compared with; a timer that differs is not written by this module (it has
        no socket) but returned in RV(election_timers_to_restore), for the caller to walk through the leader's host
        with kubedc.ovn_tuning.ovsdb_election_timer.
    type: dict
  chassis_state:
    description:
      - The probe keys of every chassis host of O(deployment.chassis_hosts), read by the caller on that host
        (kubedc.ovn_tuning.ovn_chassis_probe's C(external_ids_before)), as host name to a map of key to value - keys
        C(ovn-remote-probe-interval), C(ovn-bridge-remote-probe-interval), C(ovn-openflow-probe-interval), a missing
        or null key is one that is not set - and the per-chassis keys C(KEY-<system-id>) of the chassis that are set
        (ovn-controller reads them first); those are recorded and put back too. The kubedc.ovn_tuning roles give it.
      - Required with O(state=captured) and O(deployment.chassis_hosts); recorded as C(chassis[HOST]) with the
        source C(read on the chassis host).
      - With O(state=restored), the live keys the snapshot is compared with; this module does not write them (it
        has no connection to the chassis) but returns those that differ in RV(chassis_to_restore). Left out, every
        recorded chassis host is returned there (writing a key that is already right changes nothing).
    type: dict
  force:
    description: With O(state=captured), replace an existing file at O(path). Without it an existing file fails the task.
    type: bool
    default: false
notes:
  - O(state=restored) needs the same descriptor (the same parts) as the capture; a snapshot of another
    O(deployment.name) is refused. A snapshot of a descriptor with O(deployment.central_hosts) and no
    O(deployment.nb.ctl_sockets) holds no election timer unless O(election_timers) gives it; the keys of
    O(deployment.chassis_hosts) come from O(chassis_state).
  - O(timeout) bounds each database connection and each election timer change separately; a restore of a whole
    deployment may take several times O(timeout) in the worst case.
  - Restoring the kube-ovn variables does not wait for the rollout; follow with
    M(kubedc.ovn_tuning.ovn_central_env) (O(kubedc.ovn_tuning.ovn_central_env#module:env={})) to wait for it
    (M(kubedc.ovn_tuning.ovs_ovn_env) likewise for a C(RollingUpdate) DaemonSet).
  - C(Connection) columns that are not tunables (C(external_ids)) are not recorded; a row created again by a
    restore has none.
seealso:
  - module: kubedc.ovn_tuning.ovsdb_connection
  - module: kubedc.ovn_tuning.ovn_global_options
  - module: kubedc.ovn_tuning.ovsdb_election_timer
  - module: kubedc.ovn_tuning.ovn_chassis_probe
  - module: kubedc.ovn_tuning.ovn_central_env
"""

EXAMPLES = r"""
- name: Snapshot every tunable before a change
  kubedc.ovn_tuning.ovn_tuning_snapshot:
    state: captured
    path: /var/lib/ovn-tuning/staging-1-before.json
    deployment:
      name: staging-1
      nb:
        remote: tcp:10.0.0.11:6641,tcp:10.0.0.12:6641,tcp:10.0.0.13:6641
        ctl_sockets: [/var/run/ovn/ovnnb_db.ctl]
      sb:
        remote: tcp:10.0.0.11:6642,tcp:10.0.0.12:6642,tcp:10.0.0.13:6642
        ctl_sockets: [/var/run/ovn/ovnsb_db.ctl]
      chassis:
        - {name: node-1, remote: "unix:/var/run/openvswitch/db.sock"}
  register: before

- name: Put everything back exactly
  kubedc.ovn_tuning.ovn_tuning_snapshot:
    state: restored
    path: "{{ before.path }}"
    deployment: "{{ ovn_deployment }}"

- name: Keep the snapshot in the deployment itself (AWX - no disk outlives the job)
  kubedc.ovn_tuning.ovn_tuning_snapshot:
    state: captured
    store: deployment
    name: "{{ now(utc=true, fmt='%Y%m%dT%H%M%S.%fZ') }}-before-change"
    keep: 5
    deployment: "{{ ovn_deployment }}"

- name: Put back the newest snapshot taken before a change, from the deployment
  kubedc.ovn_tuning.ovn_tuning_snapshot:
    state: restored
    store: deployment
    deployment: "{{ ovn_deployment }}"

- name: What would a restore change?
  kubedc.ovn_tuning.ovn_tuning_snapshot:
    state: restored
    path: /var/lib/ovn-tuning/staging-1-before.json
    deployment: "{{ ovn_deployment }}"
  check_mode: true
  diff: true
  register: pending
"""

RETURN = r"""
path:
  description: The snapshot file (O(store=file)).
  returned: with O(store=file)
  type: str
  sample: /var/lib/ovn-tuning/staging-1-before.json
name:
  description: The snapshot's name in the deployment (O(store=deployment)).
  returned: with O(store=deployment)
  type: str
  sample: 20261206T101500.123456Z-before-staging
key:
  description: The C(external_ids) key that holds it.
  returned: with O(store=deployment)
  type: str
  sample: kubedc-ovn-tuning:snapshot:20261206T101500.123456Z-before-staging
pruned:
  description: With O(store=deployment) and O(state=captured), the names of the older snapshots removed (or, in check mode, that would be) to keep O(keep).
  returned: with O(store=deployment) and O(state=captured)
  type: list
  elements: str
  sample: ["20261101T090000.000000Z-before-staging"]
checksum:
  description: sha256 (hex) of the canonical JSON (sorted keys, no spaces) of the snapshot without its C(checksum) key.
  returned: with O(state=captured) and O(state=restored)
  type: str
  sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
snapshot:
  description:
    - The snapshot - written (captured), or read from O(path) (restored).
    - C(tunables) holds C(nb)/C(sb) (C(connections) - a list of rows sorted by target, C(options) - every probe key
      of the table with its value or null, C(election_timer) in ms when ctl sockets were given), C(local_config)
      (remote to C(connections)), C(chassis) (name to C(external_ids) probe keys, value or null), C(kube_ovn)
      (C(namespace), C(name), C(container), C(env) - each known variable's value, C({valueFrom}) or null) and
      C(ovs_ovn) (the same, of the ovs-ovn DaemonSet).
  returned: always
  type: dict
  contains:
    kind:
      description: Always C(kubedc.ovn_tuning/snapshot).
      type: str
    schema_version:
      description: Version of this layout (1).
      type: int
    collection_version:
      description: Version of the collection that wrote it.
      type: str
    created_at:
      description: When it was captured, UTC, ISO 8601.
      type: str
    deployment:
      description: The deployment's name.
      type: str
    sources:
      description:
        - Where each part was read - remotes, the server read for nb/sb, ctl sockets, chassis remotes, the Deployment
          and API host; C(options_copied_by_northd) when that database's options were ovn-northd's copy.
      type: dict
    tunables:
      description: The values (see above).
      type: dict
    checksum:
      description: As RV(checksum).
      type: str
  sample:
    kind: kubedc.ovn_tuning/snapshot
    schema_version: 1
    collection_version: 0.1.0
    created_at: "2025-01-31T12:00:00Z"
    deployment: staging-1
    sources: {nb: {remote: "tcp:127.0.0.11:6641", server: "tcp:127.0.0.11:6641", ctl_sockets: []}}
    tunables:
      nb:
        connections: [{target: "ptcp:6641:127.0.0.11", inactivity_probe: 60000, max_backoff: null, other_config: {}}]
        options: {ic_probe_interval: null, nbctl_probe_interval: null, northd_probe_interval: "60000"}
    checksum: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
changes:
  description:
    - With O(state=restored), what changed (would change, in check mode), by part - C(nb)/C(sb) (C(connections) with
      C(create), C(update), C(delete) - rows; C(options) with C(set), C(remove) - keys; C(election_timer) with C(before), C(after),
      C(steps)), C(local_config[REMOTE]), C(chassis[NAME]) (C(external_ids) C(set), C(remove)), C(kube_ovn) and
      C(ovs_ovn) (C(env) - name, before, after). Parts without a change are left out.
  returned: when O(state=restored)
  type: dict
  sample:
    nb:
      connections: {create: [], update: [{target: "ptcp:6641:127.0.0.11", set: {inactivity_probe: 60000}}], delete: ["ptcp:7000"]}
      options: {set: {}, remove: [northd_probe_interval]}
differences:
  description: With O(state=restored), every value that differed from the snapshot before the run, as C(LABEL - LIVE -> SNAPSHOT).
  returned: when O(state=restored)
  type: list
  elements: str
  sample: ["nb.options.northd_probe_interval: \"5000\" -> absent"]
steps:
  description:
    - With O(state=restored), the election timer steps taken (or planned) per database, with the leader that took them
      and the members not seen showing the restored value (C(unconfirmed) - C(ctl_socket) and C(reason), as
      M(kubedc.ovn_tuning.ovsdb_election_timer) returns them).
  returned: when O(state=restored)
  type: dict
  sample: {nb.election_timer: {steps: [{election_timer: 1000, previous: 4000, committed: true}], leader: {ctl_socket: /run/nb1.ctl},
                               unconfirmed: []}}
restored:
  description:
    - When a restore (O(state=restored)) failed after its writes began - the parts it restored (in check mode,
      checked), as labels - C(nb), C(sb), C(local_config[REMOTE]), C(chassis[NAME]), C(nb.election_timer),
      C(sb.election_timer), C(kube_ovn), C(ovs_ovn).
  returned: when O(state=restored) failed with some parts not restored
  type: list
  elements: str
  sample: [sb, nb.election_timer]
not_restored:
  description:
    - When a restore (O(state=restored)) failed after its writes began - each part it could not restore (in check
      mode, check), with the reason; the other parts were restored all the same.
  returned: when O(state=restored) failed with some parts not restored
  type: list
  elements: dict
  contains:
    part:
      description: The part's label, as in RV(restored).
      type: str
    reason:
      description: Why it was not restored.
      type: str
  sample: [{part: "chassis[hv1]", reason: "could not reach a usable Open_vSwitch server within 30.0 s"}]
election_timers_to_restore:
  description: >-
    With O(state=restored) and O(election_timers) - the timer in ms each database must be walked back to by the
    caller (V(nb), V(sb)); empty when the live timers already equal the snapshot's.
  returned: when O(state=restored)
  type: dict
  sample: {nb: 1000}
chassis_to_restore:
  description: >-
    With O(state=restored) and O(deployment.chassis_hosts) - the probe keys each chassis host must be given back by
    the caller, as host name to C({KEY: VALUE or null}) (null - remove the key); with O(chassis_state), only the
    hosts whose keys differ from the snapshot.
  returned: when O(state=restored)
  type: dict
  sample: {hv1: {ovn-remote-probe-interval: "5000", ovn-bridge-remote-probe-interval: null, ovn-openflow-probe-interval: null}}
diff:
  description: The tunables before and after (see O(ignore:attributes.diff_mode)).
  returned: when Ansible runs with C(--diff)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import deployment, snapshot_actions
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec, run_module


def argument_spec():
    spec = dict(
        state=dict(type="str", default="captured", choices=["captured", "restored", "absent"]),
        store=dict(type="str", default="file", choices=["file", "deployment"]),
        path=dict(type="path"),
        name=dict(type="str"),
        keep=dict(type="int", default=5),
        force=dict(type="bool", default=False),
        deployment=deployment.deployment_option(),
        election_timers=dict(type="dict"),
        chassis_state=dict(type="dict"),
    )
    spec.update(connection_spec())
    del spec["remote"]  # each part of the deployment names its own remotes
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    work = {"captured": snapshot_actions.capture, "restored": snapshot_actions.restore,
            "absent": snapshot_actions.remove}[module.params["state"]]
    run_module(module, lambda: work(module))


if __name__ == "__main__":
    main()
