#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovn_tuning_journal
short_description: The rollout's lease (one run at a time) and journal (what a run left behind) of one deployment
version_added: "0.2.0"
description:
  - Keeps two records of one OVN deployment where the rollout keeps its snapshots (O(store)) - a B(lease) that says
    which run works on the deployment now, and a B(journal) that says what the last run did to it.
  - The lease is taken (O(state=acquired)) before a run's snapshot, renewed with every journal entry
    (O(state=present)) and released when the run ends (O(state=released)). While another run holds it, taking it
    fails naming the holder (controller, ansible-playbook pid, AWX job id, since when, until when) and writes nothing.
    A lease is taken over when it expired (O(ttl_seconds) after its last renewal), when its holder ran on this
    controller and its ansible-playbook process is gone, or when O(break_lease) says so.
  - The journal says V(changing) from the snapshot taken right before a change (the snapshot a rollback restores),
    V(gated) once the change's gate passed, V(done) when the run's part on the deployment finished, V(rolled_back) or
    V(rollback_failed) after a failure. A journal left V(changing) or V(gated) (RV(unfinished)) is a run that died
    before its change was judged; the rollout soaks and gates that change (or rolls it back) before it promotes
    anything, and the rollback playbook restores the journal's snapshot.
  - A run is the ansible-playbook process the module runs under (found from its process ancestry on the controller),
    so every task of one run holds the same lease and two runs never do. The module runs on the controller
    (C(ansible_connection=local)), like the other modules of the rollout.
  - File store - C(STATE_DIR/leases/DEPLOYMENT.json) and C(STATE_DIR/journal/DEPLOYMENT.json), decided under an
    exclusive lock of C(STATE_DIR/leases/DEPLOYMENT.lock), waited for at most O(timeout). Deployment store - the keys
    C(kubedc-ovn-tuning:lease:rollout) and C(kubedc-ovn-tuning:journal:rollout) of C(NB_Global.external_ids),
    written in a transaction that verifies the map it decided on, so that two controllers cannot both take the lease.
author:
  - kubedc.ovn_tuning contributors (@kubedc)
extends_documentation_fragment:
  - kubedc.ovn_tuning.ovsdb
  - kubedc.ovn_tuning.ovsdb.remote
attributes:
  check_mode:
    support: full
    description: Nothing is written and no lease is taken; O(state=acquired) reports the holder of a lease held by
      another run (RV(held_by)) with a warning instead of failing.
  diff_mode:
    support: none
    description: The records are bookkeeping, not settings.
options:
  deployment:
    description: The deployment's name (C(ovn_deployment.name)); it names the files of the file store and is kept in the records.
    type: str
    required: true
  store:
    description: V(file) - files under O(state_dir) on the host that runs the module; V(deployment) - keys of the
      deployment's global row, through O(remote).
    type: str
    choices: [file, deployment]
    default: file
  state_dir:
    description: With O(store=file), the rollout's state directory (C(ovn_tuning_state_dir)); an absolute path.
    type: path
  database:
    description: With O(store=deployment), the database whose global row holds the records.
    type: str
    choices: [OVN_Northbound, OVN_Southbound]
    default: OVN_Northbound
  state:
    description:
      - V(read) returns the lease and the journal.
      - V(acquired) takes the lease for this run (or renews it when this run holds it).
      - V(present) writes O(journal) and renews the lease (taking it when it is free); fails when another run holds it.
      - V(released) removes the lease when this run holds it (another run's lease is left alone).
    type: str
    choices: [read, acquired, present, released]
    default: read
  journal:
    description: With O(state=present), the journal entry - C(status) (one of V(changing), V(gated), V(done),
      V(rolled_back), V(rollback_failed)) and whatever the run records with it (C(phase), C(snapshot), C(checksum)).
      It is merged into this run's journal; another run's journal is replaced.
    type: dict
  journal_replace:
    description: With O(state=present), start a new journal instead of merging into this run's.
    type: bool
    default: false
  ttl_seconds:
    description: How long a lease lasts after it was taken or renewed; a run renews it at every step, so this
      bounds the longest step (a soak, an election timer walk, a kube-ovn rollout wait) and how long a dead run
      from another controller blocks the deployment.
    type: int
    default: 1800
  break_lease:
    description: Take the lease even while another run holds it and it has not expired - only when that run is
      known to be dead (a killed AWX job, a controller that is gone).
    type: bool
    default: false
  job_id:
    description: The AWX job id of this run (C(awx_job_id)), kept in the lease so that a refused run can name it.
    type: str
  run_id:
    description: The run's identity; by default the controller's host name, the pid of the ansible-playbook
      process the module runs under and that process's start time. Two tasks with the same O(run_id) share a lease.
    type: str
notes:
  - The roles register these writes with C(changed_when=false) - a lease or journal is not a change to how the
    deployment runs.
seealso:
  - module: kubedc.ovn_tuning.ovn_tuning_snapshot
  - module: kubedc.ovn_tuning.ovn_tuning_record
"""

EXAMPLES = r"""
- name: Take the lease of the deployment before its snapshot (fails naming the holder while another run works on it)
  kubedc.ovn_tuning.ovn_tuning_journal:
    deployment: "{{ ovn_deployment.name }}"
    state_dir: "{{ ovn_tuning_state_dir }}"
    state: acquired
    job_id: "{{ awx_job_id | default(omit) }}"
  register: lease

- name: Say that the change starts, and from which snapshot a rollback restores
  kubedc.ovn_tuning.ovn_tuning_journal:
    deployment: "{{ ovn_deployment.name }}"
    store: deployment
    remote: "{{ ovn_deployment.nb.remote }}"
    state: present
    journal_replace: true
    journal: {status: changing, phase: staging, snapshot: "kubedc-ovn-tuning:snapshot:20261207T101500.000000Z-before-staging"}
"""

RETURN = r"""
lease:
  description: The lease after the module ran (with C(run_id), C(controller), C(pid), C(job_id), C(since),
    C(renewed_at), C(expires_at_epoch)), or null when none is held.
  returned: always
  type: dict
journal:
  description: The journal after the module ran (C(status), C(run_id), C(changing_since), C(snapshot), C(history), ...), or null.
  returned: always
  type: dict
unfinished:
  description: The journal belongs to a run that died before its change was judged (status V(changing) or V(gated))
    and to another run than this one.
  returned: always
  type: bool
acquired:
  description: This run holds the lease after the module ran (in check mode, whether it would).
  returned: always
  type: bool
held_by:
  description: The lease of another run that is still held (O(state=read), or O(state=acquired) in check mode), or null.
  returned: always
  type: dict
taken_over:
  description: Why another run's lease was taken over (expired, its process gone, broken), or null.
  returned: always
  type: str
run_id:
  description: This run's identity.
  returned: always
  type: str
  sample: controller-1:48211:9318842
where:
  description: The state directory or the server the records were read from or written to.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import rollout_journal, state_store
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import connection_spec, run_module


def argument_spec():
    spec = dict(
        deployment=dict(type="str", required=True),
        store=dict(type="str", default="file", choices=["file", "deployment"]),
        state_dir=dict(type="path"),
        database=dict(type="str", default="OVN_Northbound", choices=["OVN_Northbound", "OVN_Southbound"]),
        state=dict(type="str", default="read", choices=["read", "acquired", "present", "released"]),
        journal=dict(type="dict"),
        journal_replace=dict(type="bool", default=False),
        ttl_seconds=dict(type="int", default=1800),
        break_lease=dict(type="bool", default=False),
        job_id=dict(type="str"),
        run_id=dict(type="str"),
    )
    spec.update(connection_spec())
    return spec


def check_params(params):
    if params["ttl_seconds"] is None or not 10 <= params["ttl_seconds"] <= 7 * 24 * 3600:
        raise rollout_journal.JournalError("ttl_seconds: %r is out of range; give 10 to 604800 seconds"
                                           % params["ttl_seconds"])
    if params["state"] == "present":
        if not params["journal"]:
            raise rollout_journal.JournalError("journal: required with state: present (a mapping with status: one"
                                               " of %s)" % ", ".join(rollout_journal.STATUSES))
        if params["journal"].get("status") not in rollout_journal.STATUSES:
            raise rollout_journal.JournalError("journal.status: %r is not a journal status; use one of %s"
                                               % (params["journal"].get("status"), ", ".join(rollout_journal.STATUSES)))
    elif params["journal"] is not None:
        raise rollout_journal.JournalError("journal: only with state: present")
    if params["store"] == "file" and not params["state_dir"]:
        raise rollout_journal.JournalError("state_dir: required with store: file (the rollout's ovn_tuning_state_dir)")
    rollout_journal.check_name(params["deployment"])


def refusal(params, why):
    return ("%s: another rollout works on this deployment: %s. Nothing was written. Wait for it to end; if that run"
            " is dead (a killed job on another controller), its lease expires %d s after its last renewal, or break it"
            " now with ovn_tuning_lease_break=true (break_lease)" % (params["deployment"], why, params["ttl_seconds"]))


def work(module):
    params = module.params
    try:
        check_params(params)
    except rollout_journal.JournalError as exc:
        raise OvsdbError(str(exc))
    run = rollout_journal.Decision(params, module.check_mode, module.warn)
    try:
        if params["store"] == "file":
            store = rollout_journal.FileStore(params["state_dir"], params["deployment"], params["timeout"])
            writes = store.transition(run.decide, module.check_mode)
        else:
            with state_store.InBandStore(params, params["database"], params["remote"],
                                         "kubedc.ovn_tuning.ovn_tuning_journal") as records:
                store = rollout_journal.DeploymentStore(records.client, params["database"], params["deployment"])
                writes = store.transition(run.decide, module.check_mode)
    except rollout_journal.LeaseHeld as exc:
        raise OvsdbError(refusal(params, exc))
    except (rollout_journal.JournalError, state_store.StoreError, OSError) as exc:
        raise OvsdbError("%s: %s" % (params["deployment"], exc))
    result = run.result
    journal = result.get("journal")
    result.update(
        changed=bool(writes) and not module.check_mode,
        where=store.where,
        unfinished=rollout_journal.unfinished(journal) and journal.get("run_id") != run.run_id)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, lambda: work(module))


if __name__ == "__main__":
    main()
