# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deployment descriptor's shape: the ``deployment`` option of the modules that take a whole OVN
deployment (ovn_tuning_snapshot, ovn_tuning_apply) and the roles' ``ovn_deployment``.

One spec here, documented once by the ``kubedc.ovn_tuning.deployment`` doc fragment; the config role's
argument spec is kept equal to it by tests/unit/test_role_specs.py. What the spec cannot check (remote
syntax, socket paths, names given twice) snapshot.validate_deployment does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_client, tunables

# Keys of the descriptor that name the deployment's hosts for the roles (which read the members'
# control sockets and the chassis' keys there); accepted and checked by the modules, never contacted.
HOST_KEYS = ("central_hosts", "chassis_hosts")


def kube_ovn_spec():
    """The suboptions of the descriptor's ``kube_ovn``: the Kubernetes connection and kube-ovn's workloads,
    their defaults kube-ovn's names from the one table of workloads."""
    central = tunables.K8S_WORKLOADS["ovn-central"]
    ovs = tunables.K8S_WORKLOADS["ovs-ovn"]
    options = k8s_client.k8s_auth_spec()
    for option in options.values():
        option.pop("aliases", None)  # one spelling per key inside the descriptor
    options.update(
        namespace=dict(type="str", default=central["namespace"]),
        name=dict(type="str", default=central["name"]),
        container=dict(type="str", default=central["container"]),
        ovs_ovn=dict(type="dict", options=dict(
            manage=dict(type="bool", default=True),
            name=dict(type="str", default=ovs["name"]),
            container=dict(type="str", default=ovs["container"]),
            allow_restart=dict(type="bool", default=False),
        )),
    )
    return options


def descriptor_spec():
    """The argument spec of the descriptor's keys (the ``options`` of a module's ``deployment``)."""
    def database():
        return dict(type="dict", options=dict(remote=dict(type="str", required=True),
                                              ctl_sockets=dict(type="list", elements="path")))

    return dict(
        name=dict(type="str", required=True),
        nb=database(),
        sb=database(),
        local_config=dict(type="dict", options=dict(remotes=dict(type="list", elements="str", required=True))),
        chassis=dict(type="list", elements="dict",
                     options=dict(name=dict(type="str", required=True), remote=dict(type="str", required=True))),
        kube_ovn=dict(type="dict", options=kube_ovn_spec()),
        central_hosts=dict(type="list", elements="str"),
        chassis_hosts=dict(type="list", elements="str"),
        sb_relays=dict(type="dict", options=dict(remote=dict(type="str", required=True))),
    )


def deployment_option():
    """A module's ``deployment`` option."""
    return dict(type="dict", required=True, options=descriptor_spec())
