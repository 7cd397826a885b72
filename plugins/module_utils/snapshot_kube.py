# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kube-ovn parts of a snapshot: the probe env of the ovn-central Deployment (``kube_ovn``)
and of the ovs-ovn DaemonSet (``ovs_ovn``, same namespace and credentials), read and patched
through the Kubernetes API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import k8s_client, k8s_env, k8s_workload, tunables
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.snapshot_part import (
    Part, SnapshotError, check_type, non_empty_strings)

KUBE_OVN_DEFAULTS = dict((key, tunables.K8S_WORKLOADS["ovn-central"][key]) for key in ("namespace", "name", "container"))
OVS_OVN_DEFAULTS = dict((key, tunables.K8S_WORKLOADS["ovs-ovn"][key]) for key in ("name", "container"))
KUBE_OVN_AUTH_KEYS = tuple(sorted(k8s_client.K8S_AUTH_SPEC))


def env_names(workload="ovn-central"):
    return sorted(tunables.env_tunables(workload))


def kube_label(key, part):
    return "%s[%s/%s/%s]" % (key, part["namespace"], part["name"], part["container"])


class WorkloadPart(Part):
    """One kube-ovn workload's probe env: ``key`` is the part, ``workload`` its key in
    tunables.K8S_WORKLOADS."""

    def __init__(self, key, workload):
        self.key = key
        self.workload = workload

    # -- the descriptor
    def check_descriptor(self, deployment, result, param):
        """``kube_ovn`` gives both workloads: ovn-central's from its own keys, ovs-ovn's from its
        ``ovs_ovn`` key (None when ``manage`` is false)."""
        kube = deployment.get("kube_ovn")
        if kube is None:
            return
        where = param + ".kube_ovn"
        if self.key == "kube_ovn":
            normalised = dict((key, kube.get(key)) for key in KUBE_OVN_AUTH_KEYS)
            if normalised.get("request_timeout") is None:
                normalised["request_timeout"] = 30.0
            normalised.update(non_empty_strings(kube, KUBE_OVN_DEFAULTS, where))
            result[self.key] = normalised
        else:
            result[self.key] = self._ovs_ovn(kube.get("ovs_ovn"), result["kube_ovn"], where + ".ovs_ovn")

    @staticmethod
    def _ovs_ovn(part, kube, where):
        part = {} if part is None else part
        if part.get("manage") is False:
            return None
        result = {"namespace": kube["namespace"], "allow_restart": bool(part.get("allow_restart"))}
        result.update(non_empty_strings(part, OVS_OVN_DEFAULTS, where))
        return result

    def shape(self, descriptor, given_timers):
        return [kube_label(self.key, descriptor[self.key])] if descriptor.get(self.key) else []

    def sources(self, descriptor):
        if descriptor.get(self.key):
            return dict((name, descriptor[self.key][name]) for name in ("namespace", "name", "container"))
        return None

    # -- the document
    def document_shape(self, value):
        return [kube_label(self.key, value)]

    def check_document(self, value, where):
        check_type(value, dict, where, "a dictionary")
        for key in KUBE_OVN_DEFAULTS:
            check_type(value.get(key), str, "%s.%s" % (where, key), "a string")
        env = value.get("env")
        check_type(env, dict, where + ".env", "a dictionary")
        for name, item in env.items():
            if item is None or isinstance(item, str):
                continue
            if isinstance(item, dict) and list(item) == ["valueFrom"] and isinstance(item["valueFrom"], dict):
                continue
            raise SnapshotError("%s.env.%s: expected a string, {valueFrom: ...} or null, got %r"
                                % (where, name, item))

    def flatten(self, value):
        return [("%s.env.%s" % (self.key, variable), item) for variable, item in value["env"].items()]

    def plan(self, live, want, copied):
        have = live[self.key]["env"]
        env = [{"name": name, "before": have.get(name), "after": want["env"][name]}
               for name in sorted(want["env"]) if have.get(name) != want["env"][name]]
        return {self.key: {"env": env}} if env else {}

    # -- the live deployment
    def _target(self, session):
        part = session.descriptor[self.key]
        return tunables.K8S_WORKLOADS[self.workload]["kind"], part["namespace"], part["name"], part["container"]

    def validate_params(self, session):
        kube = session.descriptor.get(self.key)
        if kube and self.key == "kube_ovn":
            try:
                k8s_client.validate_auth_params(kube)
            except k8s_workload.K8sError as exc:
                raise SnapshotError("deployment.kube_ovn.%s" % exc)

    def read(self, session, live):
        """The recorded env of the workload."""
        if not session.descriptor.get(self.key):
            return
        kind, namespace, name, container_name = self._target(session)
        label = "deployment.kube_ovn" + ("" if self.key == "kube_ovn" else ".ovs_ovn")
        try:
            client = session.k8s_client()
            obj = client.read(kind, namespace, name)
            container = k8s_workload.find_container(obj, container_name)
        except k8s_workload.K8sError as exc:
            raise SnapshotError("%s: %s" % (label, exc))
        session.sources[self.key]["host"] = client.host
        env = k8s_workload.env_to_dict(container.get("env"))
        live[self.key] = {"namespace": namespace, "name": name, "container": container_name,
                          "env": dict((variable, copy.deepcopy(env.get(variable)))
                                      for variable in env_names(self.workload))}

    def _env_plan(self, session, want_env):
        container_name = self._target(session)[3]
        guard = self.key == "ovs_ovn" and not session.descriptor[self.key]["allow_restart"]

        def plan(obj):
            container = k8s_workload.find_container(obj, container_name)
            new_env, changes = k8s_workload.plan_env(container.get("env"), want_env)
            if not changes:
                return None, changes
            refusal = guard and k8s_env.restart_refusal(obj, changes, self.workload)
            if refusal:
                raise SnapshotError("deployment.kube_ovn.ovs_ovn.%s" % refusal)
            return k8s_workload.container_patch(obj, container_name, new_env), changes
        return plan

    def _modify(self, session, want_env, check_mode):
        kind, namespace, name, _container = self._target(session)
        try:
            return session.k8s_client().modify(kind, namespace, name, self._env_plan(session, want_env),
                                               check_mode=check_mode)
        except k8s_workload.K8sError as exc:
            raise SnapshotError("%s: %s" % (self.key, exc))

    def restore_check(self, session, want, parts):
        """Refuse, before anything is written, an ovs-ovn env restore that would restart every
        node's OVS (ovn-central's env is checked when it is written, last)."""
        if self.key == "ovs_ovn" and self.key in parts:
            self._modify(session, want["env"], check_mode=True)

    def restore_env(self, session, want, parts, check_mode, facts):
        if self.key in parts:
            session.restore_item(self.key, lambda: self._write_env(session, want, check_mode, facts))

    def _write_env(self, session, want, check_mode, facts):
        before, written, changes, _conflicts = self._modify(session, want["env"], check_mode)
        if changes:
            session.warn(k8s_env.change_warnings(changes, before, check_mode, self.workload)[-1])
        facts[self.key] = {"revision": k8s_workload.revision_of(written if written is not None else before)}
