"""A dead man's switch for labs started by a playbook: stop them when the playbook is gone.

    python bench/lab_guard.py --state-dir DIR [--state-dir DIR ...] [--max-seconds 1800] [--log FILE]

The demo starts its labs with `python -m ovnlab start` (they outlive the command) and stops them
in its last play. A play that fails before that - a failed gate in the rollout stops the whole
ansible-playbook run - would leave them running. This guard is started first, detaches itself
(new session, so a Ctrl-C in the terminal does not reach it) and returns at once; it then watches
the ansible-playbook process that started it and, once that process has exited or `--max-seconds`
have passed, stops every lab still recorded in the state dirs with `python -m ovnlab stop`
(which only signals the pids recorded in lab.json, each checked against its start time).
"""

import argparse
import os
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
LAB_PACKAGE_PARENT = os.path.join(os.path.dirname(BENCH_DIR), "tests", "lab")
sys.path.insert(0, LAB_PACKAGE_PARENT)

from ovnlab.procs import proc_stat  # noqa: E402 pylint: disable=wrong-import-position


def _command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            raw = handle.read()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2:].split()[1])


def playbook_process():
    """(pid, start ticks) of the outermost ansible-playbook among our ancestors, or None."""
    found = None
    pid = os.getppid()
    for _level in range(64):
        if not pid or pid == 1:
            break
        if "ansible-playbook" in _command_line(pid):
            stat = proc_stat(pid)
            if stat:
                found = (pid, stat[1])
        pid = _parent(pid)
    return found


def _alive(watched):
    stat = proc_stat(watched[0])
    return stat is not None and stat[1] == watched[1] and stat[0] not in "ZX"


def stop_labs(state_dirs, log):
    for state_dir in state_dirs:
        if not os.path.exists(os.path.join(state_dir, "lab.json")):
            continue
        log("stopping the lab in %s" % state_dir)
        env = dict(os.environ, PYTHONPATH=LAB_PACKAGE_PARENT)
        try:
            done = subprocess.run([sys.executable, "-m", "ovnlab", "stop", "--state-dir", state_dir],
                                  env=env, capture_output=True, text=True, timeout=120, check=False)
            log("ovnlab stop: rc=%d %s" % (done.returncode, (done.stderr or done.stdout).strip()[-500:]))
        except subprocess.TimeoutExpired:
            log("ovnlab stop did not finish within 120 s for %s" % state_dir)


def watch(state_dirs, watched, max_seconds, log):
    """Wait for the playbook to exit (or the deadline), then stop what is left."""
    deadline = time.monotonic() + max_seconds
    reason = "deadline of %g s reached" % max_seconds
    while time.monotonic() < deadline:
        if watched is not None and not _alive(watched):
            reason = "ansible-playbook (pid %d) has exited" % watched[0]
            break
        time.sleep(1.0)
    log(reason)
    stop_labs(state_dirs, log)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/lab_guard.py", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--state-dir", action="append", required=True)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--log", default=os.devnull)
    options = parser.parse_args(argv)
    state_dirs = [os.path.abspath(path) for path in options.state_dir]
    if not 1 <= options.max_seconds <= 86400:
        parser.error("--max-seconds: give 1 to 86400")
    watched = playbook_process()

    # Detach: the playbook's command task returns as soon as this first process exits.
    if os.fork():
        print("guarding %s (ansible-playbook pid %s, at most %g s)"
              % (", ".join(state_dirs), watched[0] if watched else "not found", options.max_seconds))
        return 0
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    log_file = open(options.log, "a", buffering=1)  # pylint: disable=consider-using-with
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(log_file.fileno(), 1)
    os.dup2(log_file.fileno(), 2)

    def log(message):
        log_file.write("%s lab_guard[%d]: %s\n" % (time.strftime("%H:%M:%S"), os.getpid(), message))

    try:
        watch(state_dirs, watched, options.max_seconds, log)
    finally:
        os._exit(0)  # pylint: disable=protected-access
    return 0


if __name__ == "__main__":
    sys.exit(main())
