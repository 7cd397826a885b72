"""lab.json: what a running lab records about itself, so that another
process (`python -m ovnlab status` / `stop`) can describe or stop it."""

import json
import os

from .addresses import release_claim
from .hosts import destroy_recorded
from .layout import DATABASES
from .procs import ManagedProcess, stop_processes
from .waiting import LabError

STATE_FILE = "lab.json"


def read_state(state_dir):
    """The content of a lab's lab.json."""
    path = os.path.join(state_dir, STATE_FILE)
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError as exc:
        raise LabError(f"no lab in {state_dir} ({STATE_FILE} not found)") from exc


def recorded_status(state_dir):
    """info() from a lab.json, with the current state ("running", "paused"
    or "dead") of each recorded process next to its pid: "state" for
    members and northd, "ovsdb_state"/"controller_state" for chassis, and
    "owner_state" for the process that runs the lab."""
    state = read_state(state_dir)
    processes = {record["key"]: ManagedProcess.from_record(record)
                 for record in state["processes"]}

    def state_of(key):
        process = processes.get(key)
        return process.state() if process else "dead"

    info = state["info"]
    for key in DATABASES:
        if info.get(key):
            for member in info[key]["members"]:
                member["state"] = state_of(f"{key}/{member['index']}")
    if info.get("northd"):
        info["northd"]["state"] = state_of("northd")
    for chassis in info.get("chassis", []):
        chassis["ovsdb_state"] = state_of(f"{chassis['name']}/ovsdb")
        chassis["vswitchd_state"] = state_of(f"{chassis['name']}/vswitchd")
        chassis["controller_state"] = state_of(f"{chassis['name']}/controller")
    for relay in info.get("sb_relays", []):
        relay["state"] = state_of(f"relay/{relay['index']}")
    for host in info.get("hosts", []):
        host["sshd_state"] = state_of(f"{host['name']}/sshd")
    owner = state.get("owner") or {}
    owner_process = ManagedProcess("owner", [], None, pid=owner.get("pid"),
                                   start_ticks=owner.get("start_ticks"))
    info["owner_state"] = owner_process.state()
    info["phase"] = state.get("phase")
    return info


def stop_recorded(state_dir, timeout=5.0):
    """Stop the processes recorded in a lab.json, from any process.

    Used when the process that started the lab is gone.  Each pid is checked
    against its recorded start time, so a recycled pid is never signalled.
    """
    state = read_state(state_dir)
    processes = [ManagedProcess.from_record(record) for record in state["processes"]]
    survivors = stop_processes(processes, timeout=timeout)
    if state.get("network") and not survivors:
        destroy_recorded(state["network"])
    if state.get("claim_file"):
        release_claim(state["claim_file"])
    return survivors
