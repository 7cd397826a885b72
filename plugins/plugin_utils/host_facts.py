# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The facts of inventory hosts as the controller-side filters read them from ``hostvars``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from jinja2.runtime import Undefined

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

# A fact the host does not have (None is a value a fact may hold).
MISSING = object()


def host_facts(hosts, hostvars, name):
    """``[(host, its hostvars)]`` of ``hosts``; the filter ``name`` refuses a host the inventory lacks."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("%s: expected a list of inventory host names, got %r" % (name, hosts))
    facts = []
    for host in hosts:
        try:
            facts.append((to_text(host), hostvars[host]))
        except (KeyError, TypeError):
            raise AnsibleFilterError("%s: %r is not a host of the inventory" % (name, host))
    return facts


def fact(facts, key):
    """The fact ``key`` of one host's ``facts``, or MISSING when it has none (or it is undefined)."""
    try:
        value = facts.get(key, MISSING) if hasattr(facts, "get") else facts[key]
    except KeyError:
        return MISSING
    return MISSING if isinstance(value, Undefined) else value
