# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One JSON-RPC connection to an OVSDB server or a daemon's control socket, without the IDL.

:class:`RpcChannel` opens a remote (``tcp:``, ``ssl:`` with the :class:`TlsFiles`, ``unix:``)
within a deadline and sends single requests on it (``echo``, the ``_Server.Database`` row,
``list_dbs``, ``get_schema``); :func:`unixctl` runs one command on the control socket of
ovsdb-server, ovn-northd or ovn-controller.  ``ovsdb_client.OvsdbClient`` opens its
connection through a channel; ``cluster_members`` probes each member with one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

try:
    import ovs.jsonrpc
    import ovs.poller
    import ovs.stream
    HAS_OVS = True
    OVS_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover - reported by modules
    HAS_OVS = False
    OVS_IMPORT_ERROR = import_error

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Deadline, OvsdbConfigError, OvsdbConnectionError, OvsdbError, OvsdbRequestError, OvsdbTimeoutError,
    UnixctlError)


class TlsFiles(object):
    """Private key, certificate and CA certificate for ``ssl:`` remotes."""

    def __init__(self, private_key=None, certificate=None, ca_cert=None):
        self.private_key = private_key
        self.certificate = certificate
        self.ca_cert = ca_cert

    def any(self):
        return bool(self.private_key or self.certificate or self.ca_cert)

    def check(self):
        """Raise OvsdbConfigError naming the first missing or unreadable file."""
        for option, path in (("ssl_private_key", self.private_key),
                             ("ssl_certificate", self.certificate),
                             ("ssl_ca_cert", self.ca_cert)):
            if not path:
                raise OvsdbConfigError("%s: required for ssl: remotes (give ssl_private_key, "
                                       "ssl_certificate and ssl_ca_cert)" % option)
            if not os.path.isfile(path):
                raise OvsdbConfigError("%s: %s does not exist or is not a file" % (option, path))
            if not os.access(path, os.R_OK):
                raise OvsdbConfigError("%s: %s is not readable" % (option, path))

    def apply(self):
        # The ovs library keeps TLS files process-wide; a module process talks to one
        # deployment, so setting them here is safe.
        ovs.stream.Stream.ssl_set_private_key_file(self.private_key)
        ovs.stream.Stream.ssl_set_certificate_file(self.certificate)
        ovs.stream.Stream.ssl_set_ca_cert_file(self.ca_cert)


# --------------------------------------------------------------------------- JSON-RPC

class RpcChannel(object):
    """One JSON-RPC connection (OVSDB remote or unixctl socket) driven against deadlines."""

    def __init__(self, name, deadline, tls=None):
        self.name = name
        if not HAS_OVS:
            raise OvsdbError("the 'ovs' Python package is required (pip install ovs): %s"
                             % OVS_IMPORT_ERROR)
        if name.startswith("ssl:"):
            if tls is None or not tls.any():
                raise OvsdbConfigError("%s: ssl: remotes need ssl_private_key, ssl_certificate "
                                       "and ssl_ca_cert" % name)
            tls.check()
            tls.apply()
        started = time.monotonic()
        error, stream = ovs.stream.Stream.open_block(
            ovs.stream.Stream.open(name), max(1, deadline.remaining_ms()))
        if error:
            reason = "timed out" if error == errno.ETIMEDOUT else os.strerror(error)
            raise OvsdbConnectionError("%s: cannot connect: %s" % (name, reason))
        self.connect_seconds = time.monotonic() - started
        self.connection = ovs.jsonrpc.Connection(stream)

    def request(self, method, params, deadline):
        """Send one request and wait for its reply until ``deadline``; return the result."""
        request = ovs.jsonrpc.Message.create_request(method, params)
        error = self.connection.send(request)
        if error:
            raise OvsdbConnectionError("%s: send failed: %s" % (self.name, os.strerror(error)))
        while True:
            self.connection.run()
            error, msg = self.connection.recv()
            if error and error != errno.EAGAIN:
                reason = "connection closed" if error == ovs.jsonrpc.EOF else os.strerror(error)
                raise OvsdbConnectionError("%s: %s while waiting for %s" % (self.name, reason, method))
            if msg is not None:
                if msg.type == ovs.jsonrpc.Message.T_REQUEST and msg.method == "echo":
                    self.connection.send(ovs.jsonrpc.Message.create_reply(msg.params, msg.id))
                    continue
                if msg.id != request.id:
                    continue
                if msg.type == ovs.jsonrpc.Message.T_ERROR:
                    raise OvsdbRequestError("%s: %s failed: %s" % (self.name, method, msg.error),
                                            msg.error)
                return msg.result
            if deadline.expired():
                raise OvsdbTimeoutError("%s: no reply to %s within %.1f s"
                                        % (self.name, method, deadline.seconds))
            poller = ovs.poller.Poller()
            self.connection.wait(poller)
            self.connection.recv_wait(poller)
            poller.timer_wait(max(1, min(deadline.remaining_ms(), 1000)))
            poller.block()

    def echo(self, deadline):
        """Round-trip time of an OVSDB echo, in milliseconds."""
        started = time.monotonic()
        self.request("echo", ["kubedc.ovn_tuning"], deadline)
        return (time.monotonic() - started) * 1000.0

    def server_database(self, database, deadline):
        """The ``_Server.Database`` row of ``database`` on this server, or None.

        Without the ``schema`` column: it holds the whole schema as one escaped string, which
        get_schema fetches anyway."""
        result = self.request("transact", ["_Server", {
            "op": "select", "table": "Database", "where": [["name", "==", database]],
            "columns": ["name", "model", "connected", "leader", "cid", "sid", "index"]}],
            deadline)
        if not result or "error" in result[0]:
            raise OvsdbError("%s: cannot read _Server: %s" % (self.name, result))
        rows = result[0].get("rows", [])
        return _server_row_to_dict(rows[0]) if rows else None

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _optional(value):
    # OVSDB encodes an empty optional column as ["set", []].
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return value[1][0] if value[1] else None
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        return value[1]
    return value


def _server_row_to_dict(row):
    data = dict((key, _optional(row.get(key))) for key in
                ("name", "model", "connected", "leader", "cid", "sid", "index"))
    return data


def unixctl(ctl_socket, command, args=(), timeout=10.0):
    """Run a unixctl ``command`` on an ovsdb-server/ovn daemon control socket, with a deadline.

    Returns the command's text output; raises UnixctlError when the daemon
    answers with an error, the socket is missing, or the deadline passes.
    """
    deadline = Deadline(timeout, "unixctl %s on %s" % (command, ctl_socket))
    if not os.path.exists(ctl_socket):
        raise UnixctlError("ctl_socket: %s does not exist (is the server running, and is this its"
                           " --unixctl path?)" % ctl_socket, kind="missing")
    try:
        channel = RpcChannel("unix:" + ctl_socket, deadline)
    except OvsdbError as exc:
        raise UnixctlError("%s: %s" % (command, exc),
                           kind="timeout" if isinstance(exc, OvsdbTimeoutError) else "unreachable")
    try:
        return channel.request(command, [str(a) for a in args], deadline)
    except OvsdbTimeoutError as exc:
        raise UnixctlError(str(exc), kind="timeout")
    except OvsdbRequestError as exc:
        raise UnixctlError("%s %s: %s" % (command, " ".join(str(a) for a in args), exc),
                           kind="refused", server_error=str(exc.error or "").strip())
    except OvsdbError as exc:
        raise UnixctlError("%s %s: %s" % (command, " ".join(str(a) for a in args), exc),
                           kind="unreachable")
    finally:
        channel.close()
