# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the rollout's leases and journals (kubedc.ovn_tuning.ovn_tuning_journal): journal_text
(one sentence for an operator) and leased_hosts (which deployments of this run hold a lease a failure
must release). Documentation: journal_text.yml and leased_hosts.yml next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import rollout_journal


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


class FilterModule(object):
    def filters(self):
        return {"journal_text": journal_text, "leased_hosts": leased_hosts}
