# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Kubernetes connection options shared by every Kubernetes module of kubedc.ovn_tuning.
    # Names and environment variables follow kubernetes.core, so existing credentials work.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file.
      - When neither O(kubeconfig), O(context) nor O(host) is given, the module uses the pod's service
        account when it runs inside a pod, else E(KUBECONFIG) (a colon separated list is merged, as
        kubectl does) or C(~/.kube/config).
      - Falls back to E(K8S_AUTH_KUBECONFIG).
    type: path
  context:
    description:
      - Context of the kubeconfig to use; the kubeconfig's current context when omitted.
      - Falls back to E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server (C(https://HOST:PORT)). Overrides the server of the kubeconfig.
      - Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token to authenticate with. Overrides the credentials of the kubeconfig.
      - Falls back to E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. When omitted, the kubeconfig decides
        (verification is on unless it sets C(insecure-skip-tls-verify)).
      - Falls back to E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA certificate file that signed the API server's certificate. Overrides the kubeconfig's.
      - Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate file to authenticate with (give O(client_key) too).
      - Falls back to E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Key file of O(client_cert).
      - Falls back to E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  request_timeout:
    description:
      - Deadline in seconds of every request to the API server, for connecting and for reading the answer;
        no request is made without one. A connection that is refused or times out is tried at most twice
        more; a request that reached the server is never repeated by the client library.
    type: float
    default: 30.0
requirements:
  - kubernetes (Python package) on the host that runs the module
"""
