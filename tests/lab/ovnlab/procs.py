"""Processes the lab starts, and what /proc says about them.

The lab only ever signals processes it started itself.  Each one is recorded
with its pid *and* its kernel start time, so a recycled pid is never mistaken
for a lab process (that matters when `python -m ovnlab stop` works from
lab.json long after the start).
"""

import ctypes
import os
import signal
import subprocess
import time

from .waiting import LabError

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


def proc_stat(pid):
    """(state letter, start time in clock ticks) of a pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces: parse after its ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[19])


def _die_with_parent():
    """In the child before exec: get SIGKILL when the starting process dies,
    so a test run that crashes does not leave servers behind."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class ManagedProcess:
    """One process started by the lab.

    `key` names its role ("nb/0", "northd", "chassis-1/controller"...).  When
    the lab started it in this Python process, `popen` is set and the process
    is reaped here; a process known only from lab.json has popen None.
    """

    def __init__(self, key, argv, log_file, ctl=None, pid=None, start_ticks=None,
                 cgroup_procs=None):
        self.key = key
        self.argv = list(argv)
        self.log_file = log_file
        self.ctl = ctl
        self.pid = pid
        self.start_ticks = start_ticks
        self.cgroup_procs = cgroup_procs
        self.popen = None

    @classmethod
    def from_record(cls, record):
        return cls(record["key"], record["argv"], record.get("log_file"),
                   record.get("ctl"), record["pid"], record["start_ticks"])

    def record(self):
        return {"key": self.key, "pid": self.pid, "start_ticks": self.start_ticks,
                "argv": self.argv, "log_file": self.log_file, "ctl": self.ctl}

    def spawn(self, env, cwd):
        """Start the program in its own session (and in its host's CPU cgroup); its
        output goes to its log."""
        cgroup_procs = self.cgroup_procs

        def before_exec():
            _die_with_parent()
            if cgroup_procs:
                with open(cgroup_procs, "w") as procs:
                    procs.write(str(os.getpid()))

        with open(self.log_file, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=cwd, env=env, start_new_session=True, close_fds=True,
                preexec_fn=before_exec)
        self.pid = self.popen.pid
        stat = proc_stat(self.pid)
        self.start_ticks = stat[1] if stat else None

    # -- state ---------------------------------------------------------------

    def _is_ours(self):
        """True while self.pid still names the process the lab started."""
        if self.pid is None:
            return False
        stat = proc_stat(self.pid)
        return stat is not None and stat[1] == self.start_ticks

    def state(self):
        """"running", "paused" (stopped by a signal) or "dead" (gone or zombie)."""
        if self.popen is not None and self.popen.poll() is not None:
            return "dead"
        stat = proc_stat(self.pid) if self.pid is not None else None
        if stat is None or stat[1] != self.start_ticks or stat[0] in "ZX":
            return "dead"
        return "paused" if stat[0] in "Tt" else "running"

    def alive(self):
        return self.state() != "dead"

    def exit_note(self):
        if self.popen is not None and self.popen.returncode is not None:
            return f" (exit status {self.popen.returncode})"
        return ""

    # -- signals -------------------------------------------------------------

    def send(self, signum):
        """Signal the process if it is still the one the lab started."""
        if not self._is_ours():
            return False
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def pause(self, timeout=5.0):
        """SIGSTOP, and wait until the kernel reports the process stopped:
        kill() returns before that, while the process may still finish a
        system call such as bind()."""
        if not self.send(signal.SIGSTOP):
            raise LabError(f"cannot pause {self.key}: pid {self.pid} is not running")
        deadline = time.monotonic() + timeout
        while self.state() == "running":
            if time.monotonic() > deadline:
                raise LabError(f"{self.key} (pid {self.pid}) did not stop within {timeout:g} s")
            time.sleep(0.001)

    def resume(self):
        self.send(signal.SIGCONT)

    def wait_exit(self, timeout):
        """Wait until the process is gone, reaping it when it is our child."""
        deadline = time.monotonic() + timeout
        if self.popen is not None:
            try:
                self.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
                return True
            except subprocess.TimeoutExpired:
                return False
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def kill_now(self, timeout=10.0):
        """SIGKILL and wait until the process has exited (its sockets are then closed)."""
        self.send(signal.SIGKILL)
        if not self.wait_exit(timeout):
            raise LabError(f"{self.key} (pid {self.pid}) survived SIGKILL for {timeout:g} s")


def stop_processes(processes, timeout=5.0):
    """SIGTERM every live process, then SIGKILL those still alive at the
    deadline; reap our children.  Stopped processes are continued so they
    can act on the SIGTERM."""
    live = [process for process in processes if process.alive()]
    for process in live:
        process.send(signal.SIGTERM)
        process.send(signal.SIGCONT)
    deadline = time.monotonic() + timeout
    for process in live:
        if not process.wait_exit(max(0.0, deadline - time.monotonic())):
            process.send(signal.SIGKILL)
    for process in live:
        process.wait_exit(5.0)
    return [process for process in live if process.alive()]
