"""Errors and bounded polling: every wait in the lab has a deadline and, when
it expires, says what it was waiting for and shows the end of the logs that
explain why."""

import os
import time

from .rpc import RpcError


class LabError(Exception):
    """Something in the lab failed; the message says what and shows the log tails."""


class LabTimeout(LabError):
    """A readiness condition was not reached before its deadline."""


# Exceptions that only mean "not ready yet" while polling a starting process.
TRANSIENT_ERRORS = (OSError, RpcError, ValueError, KeyError, IndexError)


def log_tail(path, lines=25):
    """The last `lines` lines of a log file, or a note saying why there are none."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 64 * 1024))
            text = log.read().decode(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def describe_logs(log_files):
    return "".join(f"\n--- last lines of {path} ---\n{log_tail(path)}"
                   for path in log_files if path)


def wait_until(predicate, timeout, what, log_files=(), processes=(), interval=0.05):
    """Poll `predicate` until it returns something truthy, and return that.

    `what` names the condition for the error message.  A predicate may raise
    one of TRANSIENT_ERRORS to mean "not yet"; the last such error is reported
    on timeout.  `processes` are ManagedProcess objects that must stay alive
    meanwhile: if one exits, the wait fails at once instead of at the deadline.
    """
    deadline = time.monotonic() + timeout
    last_problem = None
    while True:
        try:
            result = predicate()
        except TRANSIENT_ERRORS as exc:
            result, last_problem = None, exc
        if result:
            return result
        for process in processes:
            if not process.alive():
                raise LabError(f"{process.key} (pid {process.pid}) exited while waiting "
                               f"for {what}{process.exit_note()}"
                               + describe_logs(log_files or [process.log_file]))
        if time.monotonic() >= deadline:
            detail = f" (last problem: {last_problem})" if last_problem else ""
            raise LabTimeout(f"timed out after {timeout:g} s waiting for {what}{detail}"
                             + describe_logs(log_files))
        time.sleep(interval)
