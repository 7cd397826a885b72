"""Command line: start a lab that outlives the command, look at it, stop it.

    PYTHONPATH=tests/lab python -m ovnlab start --state-dir DIR [options]
    PYTHONPATH=tests/lab python -m ovnlab status --state-dir DIR
    PYTHONPATH=tests/lab python -m ovnlab stop --state-dir DIR [--keep]
    PYTHONPATH=tests/lab python -m ovnlab inventory --state-dir DIR [--state-dir DIR2 ...]

`start` launches a small keeper process (`_serve`) in its own session.  The
keeper owns the Lab: it starts it, reports info() back through a pipe, and
stops it on SIGTERM.  Because the keeper is the parent of every lab process,
they are reaped when they stop, and they die with it if it is killed.
"""

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

from .deployment import inventory_vars
from .inventory import inventory
from .lab import Lab
from .procs import ManagedProcess
from .state import STATE_FILE, read_state, recorded_status, stop_recorded
from .waiting import LabError, log_tail

KEEPER_LOG = "keeper.log"
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _add_lab_options(parser):
    parser.add_argument("--name", default="lab")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--chassis", type=int, default=0)
    parser.add_argument("--northd", action="store_true")
    parser.add_argument("--kube-ovn", action="store_true")
    parser.add_argument("--sb-relays", type=int, default=0, metavar="N",
                        help="SB relay hosts; the chassis then connect to them")
    parser.add_argument("--ssl", action="store_true",
                        help="pssl:/ssl: listeners and RAFT, with a lab CA (info: 'ssl')")
    parser.add_argument("--election-timer", type=int, default=1000, metavar="MS")
    parser.add_argument("--inactivity-probe", type=int, metavar="MS")
    parser.add_argument("--northd-probe", type=int, metavar="MS")
    parser.add_argument("--chassis-probe", type=int, metavar="MS")
    parser.add_argument("--chassis-db-only", action="store_true",
                        help="chassis with only their Open_vSwitch database and sshd (no ovs-vswitchd, no ovn-controller)")
    parser.add_argument("--timeout", type=float, default=90.0, metavar="SECONDS",
                        help="deadline for the whole start")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m ovnlab",
                                     description="OVN hosts in network namespaces for tests and demos")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a lab that keeps running after this command")
    start.add_argument("--state-dir", required=True)
    _add_lab_options(start)
    status = commands.add_parser("status", help="print the lab's info with process states")
    status.add_argument("--state-dir", required=True)
    stop = commands.add_parser("stop", help="stop the lab and remove its state dir")
    stop.add_argument("--state-dir", required=True)
    stop.add_argument("--keep", action="store_true", help="keep the state dir (logs, dbs)")
    hosts = commands.add_parser("inventory", help="print an Ansible inventory (JSON, valid YAML) "
                                "of the labs' hosts")
    hosts.add_argument("--state-dir", required=True, action="append")
    serve = commands.add_parser("_serve", help=argparse.SUPPRESS)
    serve.add_argument("--state-dir", required=True)
    _add_lab_options(serve)
    return parser


def _lab_from_options(options):
    return Lab(workdir=options.state_dir, name=options.name, members=options.members,
               northd=options.northd, chassis=options.chassis, kube_ovn=options.kube_ovn,
               election_timer_ms=options.election_timer,
               inactivity_probe_ms=options.inactivity_probe,
               northd_probe_ms=options.northd_probe, chassis_probe_ms=options.chassis_probe,
               keep=True, start_timeout=options.timeout, ssl=options.ssl,
               sb_relays=options.sb_relays, chassis_daemons=not options.chassis_db_only)


def _owner_process(state):
    owner = state.get("owner") or {}
    return ManagedProcess("keeper", [], None, pid=owner.get("pid"),
                          start_ticks=owner.get("start_ticks"))


class _StopRequested(BaseException):
    """Raised by the keeper's signal handler, so it also interrupts a start."""


def _serve(options):
    """The keeper: run the lab until SIGTERM/SIGINT."""
    def request_stop(signum, frame):
        raise _StopRequested()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, request_stop)
    lab = None
    try:
        lab = _lab_from_options(options)
        lab.start()
        sys.stdout.write(json.dumps({"ok": True, "info": lab.info()}) + "\n")
        sys.stdout.close()
        while True:
            signal.pause()
    except _StopRequested:
        return 0
    except Exception as exc:  # noqa: BLE001 - reported to the waiting `start`
        sys.stdout.write(json.dumps({"ok": False, "error": str(exc)}) + "\n")
        sys.stdout.close()
        return 1
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if lab is not None:
            lab.stop()


def _start(options):
    state_dir = os.path.abspath(options.state_dir)
    if os.path.exists(os.path.join(state_dir, STATE_FILE)):
        state = read_state(state_dir)
        running = _owner_process(state).alive()
        raise LabError(f"{state_dir} already holds a lab ({'running' if running else 'stopped'}); "
                       f"run `python -m ovnlab stop --state-dir {state_dir}` first")
    if os.path.isdir(state_dir) and os.listdir(state_dir):
        raise LabError(f"{state_dir} is not empty; give a new or empty directory")
    _lab_from_options(options)  # bad options fail here, before anything starts
    os.makedirs(state_dir, exist_ok=True)

    argv = [sys.executable, "-m", "ovnlab", "_serve", "--state-dir", state_dir,
            "--name", options.name, "--members", str(options.members),
            "--chassis", str(options.chassis), "--election-timer", str(options.election_timer),
            "--sb-relays", str(options.sb_relays),
            "--timeout", str(options.timeout)]
    argv += ["--northd"] if options.northd else []
    argv += ["--kube-ovn"] if options.kube_ovn else []
    argv += ["--ssl"] if options.ssl else []
    argv += ["--chassis-db-only"] if options.chassis_db_only else []
    for flag, value in (("--inactivity-probe", options.inactivity_probe),
                        ("--northd-probe", options.northd_probe),
                        ("--chassis-probe", options.chassis_probe)):
        if value is not None:
            argv += [flag, str(value)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    keeper_log = os.path.join(state_dir, KEEPER_LOG)
    with open(keeper_log, "ab") as log:
        keeper = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=log, cwd="/", env=env, start_new_session=True)

    # The keeper reports one JSON line once the lab is ready (or failed).
    deadline = time.monotonic() + options.timeout + 30
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            keeper.terminate()
            raise LabError(f"the lab did not start within {options.timeout + 30:g} s; "
                           f"see {keeper_log}")
        if select.select([keeper.stdout], [], [], remaining)[0]:
            chunk = os.read(keeper.stdout.fileno(), 65536)
            if not chunk:
                break
            line += chunk
    if not line.strip():
        keeper.wait(timeout=10)
        raise LabError(f"the keeper exited ({keeper.returncode}) without reporting:\n"
                       + log_tail(keeper_log) + _leftovers_note(state_dir))
    report = json.loads(line)
    if not report["ok"]:
        keeper.wait(timeout=30)
        raise LabError(report["error"] + _leftovers_note(state_dir))
    print(json.dumps(report["info"], indent=2))
    return 0


def _leftovers_note(state_dir):
    """After a failed start: the logs are kept for a look; say how to clean up."""
    return (f"\n(databases and logs kept in {state_dir}; "
            f"`python -m ovnlab stop --state-dir {state_dir}` removes them)")


def _status(options):
    info = recorded_status(os.path.abspath(options.state_dir))
    if info.get("nb") and info.get("sb"):
        # The deployment's host variables, as playbooks/lab.yml writes them into its inventory.
        info["inventory_vars"] = inventory_vars(info)
    print(json.dumps(info, indent=2))
    states = [member["state"] for key in ("nb", "sb") if info.get(key)
              for member in info[key]["members"]]
    states += [info["northd"]["state"]] if info.get("northd") else []
    for chassis in info.get("chassis", []):
        states += [chassis["ovsdb_state"], chassis["vswitchd_state"], chassis["controller_state"]]
    states += [host["sshd_state"] for host in info.get("hosts", [])]
    states += [relay["state"] for relay in info.get("sb_relays", [])]
    return 0 if "dead" not in states else 1


def _stop(options):
    state_dir = os.path.abspath(options.state_dir)
    state = read_state(state_dir)
    keeper = _owner_process(state)
    if keeper.alive():
        keeper.send(signal.SIGTERM)
        if not keeper.wait_exit(60.0):
            keeper.send(signal.SIGKILL)
            keeper.wait_exit(5.0)
    # Whatever the keeper did not stop (it was killed, or never existed
    # because a library Lab with keep=True wrote this state) is stopped here.
    survivors = stop_recorded(state_dir)
    result = {"name": state["info"]["name"], "state_dir": state_dir,
              "stopped": [record["pid"] for record in state["processes"]],
              "survivors": [process.pid for process in survivors],
              "removed": False}
    if not options.keep and not survivors:
        shutil.rmtree(state_dir, ignore_errors=True)
        result["removed"] = True
    print(json.dumps(result, indent=2))
    return 0 if not survivors else 1


def main(argv=None):
    options = _parser().parse_args(argv)
    try:
        if options.command == "_serve":
            return _serve(options)
        if options.command == "start":
            return _start(options)
        if options.command == "status":
            return _status(options)
        if options.command == "inventory":
            print(json.dumps(inventory(*[read_state(os.path.abspath(d))["info"]
                                         for d in options.state_dir]), indent=2))
            return 0
        return _stop(options)
    except LabError as exc:
        print(f"ovnlab: {exc}", file=sys.stderr)
        return 2 if options.command == "status" else 1


if __name__ == "__main__":
    sys.exit(main())
