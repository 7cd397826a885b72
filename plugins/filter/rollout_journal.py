# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the rollout's leases, journals and snapshots: journal_text (one sentence for an operator),
leased_hosts (which deployments of this run hold a lease a failure must release) and rollback_snapshot
(which snapshot a rollback restores). Documentation: the .yml files of the same names next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import rollout_journal, state_store


def journal_text(journal):
    """What a journal says, in one sentence (status, run, phase, since when, the snapshot)."""
    if journal is not None and not isinstance(journal, dict):
        raise AnsibleFilterError("journal_text: expected a journal of kubedc.ovn_tuning.ovn_tuning_journal, got %r"
                                 % (journal,))
    return rollout_journal.describe_journal(journal)


def leased_hosts(hosts, hostvars, exclude=()):
    """The inventory hosts among ``hosts`` whose lease this run took (``config_lease_acquired``),
    without those in ``exclude``, each once, in order."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("leased_hosts: expected a list of inventory hosts, got %r" % (hosts,))
    out = []
    for host in hosts:
        if host in out or host in (exclude or ()):
            continue
        try:
            acquired = hostvars[host].get("config_lease_acquired")
        except KeyError:
            continue
        if str(acquired).lower() in ("true", "1", "yes"):
            out.append(host)
    return out


def rollback_snapshot(paths, requested="", snapshot_dir="", inband=False):
    """The snapshot a rollback restores: ``requested`` when given (a file name of ``snapshot_dir``, or a
    path; with the deployment store a name or key, as given); else, of the snapshot files ``paths``, the
    newest taken right before a change, else the newest (the rule of state_store.latest_snapshot, which
    ovn_tuning_snapshot applies to a deployment's in-band snapshots). '' when there is none; with the
    deployment store and nothing requested, '' leaves the choice to the module."""
    if not isinstance(paths, (list, tuple)):
        raise AnsibleFilterError("rollback_snapshot: expected a list of snapshot file paths, got %r" % (paths,))
    if requested:
        if inband or "/" in requested:
            return requested
        return os.path.join(snapshot_dir, requested)
    if inband:
        return ""
    by_name = dict((os.path.basename(path)[:-len(".json")] if path.endswith(".json") else os.path.basename(path),
                    path) for path in paths)
    chosen = state_store.latest_snapshot(sorted(by_name))
    return by_name[chosen] if chosen else ""


class FilterModule(object):
    def filters(self):
        return {"journal_text": journal_text, "leased_hosts": leased_hosts, "rollback_snapshot": rollback_snapshot}
