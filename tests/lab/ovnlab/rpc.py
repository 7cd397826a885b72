"""Tiny JSON-RPC clients for OVS unixctl sockets and OVSDB servers.

Both talk JSON-RPC 1.0 over a stream socket with no framing: messages are
JSON objects written back to back.  Every call has a deadline, because a
stopped (SIGSTOP) server accepts the connection and then never answers.
"""

import json
import socket
import ssl
import time


class RpcError(Exception):
    """The peer answered with an error, closed the connection or timed out."""


def _connect(address, timeout, ssl_files=None):
    """Open a stream socket to "unix:PATH", "tcp:IP:PORT", "ssl:IP:PORT" (with
    ssl_files = (private key, certificate, CA certificate)) or a bare unixctl path."""
    if address.startswith("tcp:"):
        host, port = address[len("tcp:"):].rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=timeout)
    if address.startswith("ssl:"):
        if not ssl_files:
            raise RpcError(f"{address}: an ssl: remote needs the lab's client certificate")
        host, port = address[len("ssl:"):].rsplit(":", 1)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # OVS checks the CA signature, not names
        context.load_verify_locations(ssl_files[2])
        context.load_cert_chain(ssl_files[1], ssl_files[0])
        plain = socket.create_connection((host, int(port)), timeout=timeout)
        try:
            return context.wrap_socket(plain)
        except (OSError, ssl.SSLError):
            plain.close()
            raise
    path = address[len("unix:"):] if address.startswith("unix:") else address
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def call(address, method, params, timeout=5.0, ssl_files=None):
    """Send one request and return its reply message (a dict).

    Requests sent by the server in the meantime ("echo") are answered so a
    slow call is not dropped by the server's inactivity probe.
    """
    deadline = time.monotonic() + timeout
    try:
        sock = _connect(address, timeout, ssl_files)
    except OSError as exc:
        raise RpcError(f"{address}: cannot connect: {exc}") from exc
    with sock:
        request_id = 0
        try:
            sock.sendall(json.dumps({"method": method, "params": params,
                                     "id": request_id}).encode())
            buffered = b""
            decoder = json.JSONDecoder()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RpcError(f"{address}: no reply to {method} within {timeout:g} s")
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    raise RpcError(f"{address}: connection closed before the reply to {method}")
                buffered += chunk
                while True:
                    try:
                        text = buffered.decode()
                    except UnicodeDecodeError:
                        break  # a multi-byte character is split across reads
                    stripped = text.lstrip()
                    if not stripped:
                        break
                    try:
                        message, end = decoder.raw_decode(stripped)
                    except json.JSONDecodeError:
                        break  # incomplete message: read more
                    buffered = stripped[end:].encode()
                    if message.get("method") == "echo":
                        sock.sendall(json.dumps({"result": message.get("params", []),
                                                 "error": None,
                                                 "id": message.get("id")}).encode())
                    elif message.get("id") == request_id:
                        return message
        except socket.timeout as exc:
            raise RpcError(f"{address}: no reply to {method} within {timeout:g} s") from exc
        except OSError as exc:
            raise RpcError(f"{address}: {method} failed: {exc}") from exc


def unixctl(ctl_path, command, *args, timeout=5.0):
    """Run an ovs-appctl style command on a unixctl socket and return its text."""
    reply = call(ctl_path, command, [str(arg) for arg in args], timeout=timeout)
    if reply.get("error") is not None:
        raise RpcError(f"{ctl_path}: {command}: {str(reply['error']).strip()}")
    result = reply.get("result")
    return result if isinstance(result, str) else json.dumps(result)


def transact(remote, database, operations, timeout=5.0, ssl_files=None):
    """Run an OVSDB transaction and return the list of operation results.

    Raises RpcError when the transaction or any operation failed.
    """
    reply = call(remote, "transact", [database, *operations], timeout=timeout, ssl_files=ssl_files)
    if reply.get("error") is not None:
        raise RpcError(f"{remote}: transact on {database}: {reply['error']}")
    results = reply.get("result") or []
    for result in results:
        if isinstance(result, dict) and "error" in result:
            raise RpcError(f"{remote}: transact on {database}: {result}")
    return results


def select(remote, database, table, where=(), columns=None, timeout=5.0, ssl_files=None):
    """Return the rows of `table` matching `where` (a list of OVSDB conditions)."""
    operation = {"op": "select", "table": table, "where": list(where)}
    if columns is not None:
        operation["columns"] = list(columns)
    return transact(remote, database, [operation], timeout=timeout, ssl_files=ssl_files)[0]["rows"]
