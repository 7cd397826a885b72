# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The deployment descriptor (module_utils/deployment.py descriptor_spec): the ``deployment`` option of
    # the modules that take a whole deployment, and the roles' ``ovn_deployment``
    # (tests/unit/test_role_specs.py keeps the role spec equal to it).
    DOCUMENTATION = r"""
options:
  deployment:
    description:
      - The OVN deployment - which databases, members, chassis and kube-ovn workloads its tunables live in. The
        roles' C(ovn_deployment) has this shape and can be passed as it is (the roles also require O(deployment.nb)
        and O(deployment.sb)).
    type: dict
    required: true
    suboptions:
      name:
        description: Name of the deployment (letters, digits, C(.), C(_), C(-)); it names the deployment in messages, snapshots and records.
        type: str
        required: true
      nb:
        description: The Northbound database.
        type: dict
        suboptions:
          remote:
            description: Its remotes as OVN writes them (C(tcp:IP:PORT,tcp:IP:PORT,...), C(ssl:...), C(unix:PATH)).
            type: str
            required: true
          ctl_sockets:
            description:
              - The unixctl sockets of its cluster members (C(ovsdb-server --unixctl)) on the host the module runs on,
                in the order of O(deployment.nb.remote). The election timer is read and changed through them; the
                leader must be among them, and more than half of them must answer (a member that does not is warned
                about, not waited for - see M(kubedc.ovn_tuning.ovsdb_election_timer)).
            type: list
            elements: path
      sb:
        description: The Southbound database, as O(deployment.nb).
        type: dict
        suboptions:
          remote:
            description: Its remotes as OVN writes them.
            type: str
            required: true
          ctl_sockets:
            description: The unixctl sockets of its cluster members, as for O(deployment.nb.ctl_sockets).
            type: list
            elements: path
      central_hosts:
        description:
          - The inventory names of the deployment's central hosts, where the kubedc.ovn_tuning roles read the
            members' control sockets (M(kubedc.ovn_tuning.ovsdb_server_status)) and walk election timers through the
            leader's host. Not together with O(deployment.nb.ctl_sockets) / O(deployment.sb.ctl_sockets). A module
            that takes this descriptor contacts none of these hosts.
        type: list
        elements: str
      chassis_hosts:
        description:
          - The inventory names of the deployment's chassis hosts, whose probe keys the kubedc.ovn_tuning roles read
            and write on each host (its local C(unix:/run/openvswitch/db.sock), M(kubedc.ovn_tuning.ovn_chassis_probe)).
            A module that takes this descriptor contacts none of these hosts. A name may not also be in
            O(deployment.chassis).
        type: list
        elements: str
      sb_relays:
        description:
          - The deployment's SB relays (C(ovsdb-server relay:OVN_Southbound:...)). The roles read their health with NB
            and SB; nothing is written to them - a relay's listeners and source probe are on its command line.
        type: dict
        suboptions:
          remote:
            description: The relays' remotes, comma separated.
            type: str
            required: true
      local_config:
        description:
          - kube-ovn clustered mode - each member's standalone C(Local_Config) database, whose C(Connection)
            rows are the listeners the members really open.
        type: dict
        suboptions:
          remotes:
            description: One remote per member's C(Local_Config) database.
            type: list
            elements: str
            required: true
      chassis:
        description: Hypervisors whose local C(Open_vSwitch) database holds ovn-controller's probe keys.
        type: list
        elements: dict
        suboptions:
          name:
            description: The chassis' name (it labels its results and its part of a snapshot).
            type: str
            required: true
          remote:
            description: Its local Open_vSwitch database (C(unix:/var/run/openvswitch/db.sock), C(tcp:IP:PORT)).
            type: str
            required: true
      kube_ovn:
        description:
          - kube-ovn's C(ovn-central) Deployment, whose probe variables (E(OVN_LEADER_PROBE_INTERVAL),
            E(OVN_NORTHD_PROBE_INTERVAL), E(PROBE_INTERVAL), E(OVN_NORTHD_N_THREADS)) a snapshot captures and
            restores and the rollout changes last.
          - Connection keys are those of M(kubedc.ovn_tuning.ovn_central_env) (C(K8S_AUTH_*) variables apply).
        type: dict
        suboptions:
          kubeconfig:
            description: Kubeconfig file (default E(K8S_AUTH_KUBECONFIG), E(KUBECONFIG), C(~/.kube/config)).
            type: path
          context:
            description: Context of the kubeconfig.
            type: str
          host:
            description: API server URL, with O(deployment.kube_ovn.api_key) instead of a kubeconfig.
            type: str
          api_key:
            description: Bearer token for O(deployment.kube_ovn.host).
            type: str
          validate_certs:
            description: Verify the API server's certificate.
            type: bool
          ca_cert:
            description: CA certificate of the API server.
            type: path
          client_cert:
            description: Client certificate.
            type: path
          client_key:
            description: Key of the client certificate.
            type: path
          request_timeout:
            description: Deadline of each API request, in seconds.
            type: float
            default: 30.0
          namespace:
            description: Namespace of the Deployment.
            type: str
            default: kube-system
          name:
            description: Name of the Deployment.
            type: str
            default: ovn-central
          container:
            description: Container whose environment holds the variables.
            type: str
            default: ovn-central
          ovs_ovn:
            description:
              - kube-ovn's C(ovs-ovn) DaemonSet in the same namespace, whose E(OVN_REMOTE_PROBE_INTERVAL) (ms) and
                E(OVN_REMOTE_OPENFLOW_INTERVAL) (s) every ovs-ovn pod writes into its node's OVS database at start.
                Managed with the Deployment unless O(deployment.kube_ovn.ovs_ovn.manage=false).
              - A change of it with C(updateStrategy) C(RollingUpdate) would restart OVS on every node; it is refused
                before anything is written unless O(deployment.kube_ovn.ovs_ovn.allow_restart=true). With C(OnDelete)
                a new env waits for each pod's next restart.
            type: dict
            suboptions:
              manage:
                description: Manage the DaemonSet's env (and record it in snapshots).
                type: bool
                default: true
              name:
                description: Name of the DaemonSet.
                type: str
                default: ovs-ovn
              container:
                description: Container whose environment holds the variables.
                type: str
                default: openvswitch
              allow_restart:
                description: Accept a change that restarts the DaemonSet's pods on every node (C(RollingUpdate)).
                type: bool
                default: false
"""
