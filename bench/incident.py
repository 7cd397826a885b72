"""The incident's metric in the lab: disconnections under faults, before and after a rollout.

    python bench/incident.py measure --lab DIR [--lab DIR ...] --seconds 75 --seed 7 --out before.json
    python bench/incident.py report --before before.json --after after.json --markdown report.md

`measure` runs a seeded fault plan (tests/lab/ovnlab/faults.py: ovn-northd, ovn-controllers and
RAFT followers paused with SIGSTOP for a few seconds, always resumed) against running labs for a
window of fixed length and counts, over exactly that window:

- RAFT disconnections: the rise of the `Disconnections:` counter of `ovs-appctl cluster/status`,
  summed over every NB and SB member (the counter the incident was measured with);
- elections: the rise of the highest RAFT term of each cluster;
- client disconnections: lines in which ovn-northd or an ovn-controller logs the end of an
  established session to an NB/SB member - `connection closed by peer` (the server dropped it)
  or `connection dropped` (the client dropped it, e.g. after its own inactivity probe). The
  reconnect library writes exactly one of them each time a connected session ends; attempts
  that never connected write neither. Read from the byte offsets the logs had at the start and
  at the end of the window.

It also reads the probe settings with the CLIs (ovn-nbctl, ovn-sbctl, ovs-vsctl, ovs-appctl),
independently of the collection's modules. `report` puts two measurements side by side.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "lab"))

from ovnlab.faults import KINDS, LabTargets, plan_faults, run_faults  # noqa: E402 pylint: disable=wrong-import-position

DATABASES = {"nb": ("OVN_Northbound", "ovn-nbctl"), "sb": ("OVN_Southbound", "ovn-sbctl")}
# The incident write-up: 16,964 disconnections a day before, fewer than 2,000 a day wanted.
INCIDENT_PER_DAY = 16964
TARGET_PER_DAY = 2000
TOOL_TIMEOUT = 15

# reconnect.c / ovs/reconnect.py: the one line written when an established session ends.
SESSION_END_RE = re.compile(
    r"\|reconnect\|[A-Z]+\|(?:tcp|ssl):[0-9.]+:(?P<port>\d+): "
    r"(?P<what>connection closed by peer|connection dropped)")


class MeasureError(Exception):
    pass


def _tool(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MeasureError("%s did not answer within %d s" % (" ".join(argv), TOOL_TIMEOUT)) from exc
    if done.returncode != 0:
        raise MeasureError("%s failed: %s" % (" ".join(argv), done.stderr.strip() or done.stdout.strip()))
    return done.stdout.strip()


def cluster_status(ctl, database):
    """term, disconnections, role and election timer of one member (ovs-appctl)."""
    text = _tool(["ovs-appctl", "--timeout=%d" % TOOL_TIMEOUT, "-t", ctl, "cluster/status", database])
    fields = dict(line.split(":", 1) for line in text.splitlines() if re.match(r"^[A-Z][^:]*:", line))
    timer = re.match(r"\s*(\d+)", fields.get("Election timer", ""))
    return {"term": int(fields["Term"]), "disconnections": int(fields["Disconnections"]),
            "role": fields["Role"].strip(), "election_timer": int(timer.group(1)) if timer else None}


def client_logs(info):
    """{log file: what it belongs to} of the lab's OVN clients."""
    logs = {}
    if info.get("northd"):
        logs[info["northd"]["log_file"]] = "northd"
    for chassis in info.get("chassis", []):
        logs[chassis["controller_log_file"]] = chassis["name"]
    return logs


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def counters(labs):
    """The counters of every lab at one moment."""
    result = {}
    for lab in labs:
        clusters = {}
        for key, (database, _cli) in DATABASES.items():
            if lab.info.get(key):
                clusters[key] = [cluster_status(member["ctl"], database)
                                 for member in lab.info[key]["members"]]
        result[lab.name] = {"clusters": clusters,
                            "log_offsets": {path: _size(path) for path in client_logs(lab.info)}}
    return result


def session_ends(path, start, end, ports):
    """Client session ends logged between two byte offsets of a log, by port."""
    found = []
    with open(path, "rb") as handle:
        handle.seek(start)
        text = handle.read(max(0, end - start)).decode(errors="replace")
    for line in text.splitlines():
        match = SESSION_END_RE.search(line)
        if match and int(match.group("port")) in ports:
            found.append(line)
    return found


def probes(lab):
    """The probe settings of a lab, read with the CLIs."""
    info = lab.info
    result = {}
    for key, (database, cli) in DATABASES.items():
        if not info.get(key):
            continue
        remotes = info[key]["remotes"]
        values = _tool([cli, "--timeout=%d" % TOOL_TIMEOUT, "--no-leader-only", "--db=" + remotes,
                        "--bare", "--columns=inactivity_probe", "list", "Connection"]).split()
        result[key + "_inactivity_probe"] = sorted({int(v) for v in values}) if values else ["default"]
        result[key + "_election_timer"] = sorted({
            cluster_status(member["ctl"], database)["election_timer"] for member in info[key]["members"]})
    if info.get("nb"):
        try:
            value = _tool(["ovn-nbctl", "--timeout=%d" % TOOL_TIMEOUT, "--no-leader-only",
                           "--db=" + info["nb"]["remotes"], "get", "NB_Global", ".",
                           "options:northd_probe_interval"]).strip('"')
        except MeasureError:
            value = "default"
        result["northd_probe_interval"] = [int(value) if value.isdigit() else value]
    chassis_values = set()
    for chassis in info.get("chassis", []):
        try:
            value = _tool(["ovs-vsctl", "--no-wait", "--timeout=%d" % TOOL_TIMEOUT, "--db=" + chassis["ovs_remote"],
                           "get", "Open_vSwitch", ".", "external_ids:ovn-remote-probe-interval"]).strip('"')
        except MeasureError:
            value = "default"
        chassis_values.add(int(value) if value.isdigit() else value)
    if chassis_values:
        result["chassis_remote_probe_interval"] = sorted(chassis_values, key=str)
    return result


def _difference(labs, start, end, window_seconds):
    per_lab = {}
    totals = {"raft_disconnections": 0, "elections": 0, "client_disconnections": 0}
    for lab in labs:
        first, last = start[lab.name], end[lab.name]
        raft = {}
        elections = {}
        for key, members in last["clusters"].items():
            before = first["clusters"][key]
            # A counter that went down belongs to a restarted member: count from zero.
            raft[key] = sum(b["disconnections"] - a["disconnections"]
                            if b["disconnections"] >= a["disconnections"] else b["disconnections"]
                            for a, b in zip(before, members))
            elections[key] = max(m["term"] for m in members) - max(m["term"] for m in before)
        ports = {lab.info[key]["port"] for key in DATABASES if lab.info.get(key)}
        clients = {}
        lines = []
        for path, owner in client_logs(lab.info).items():
            ends = session_ends(path, first["log_offsets"][path], last["log_offsets"][path], ports)
            clients[owner] = len(ends)
            lines += ["%s: %s" % (owner, line) for line in ends]
        per_lab[lab.name] = {"raft_disconnections": raft, "elections": elections,
                             "client_disconnections": clients, "client_disconnection_lines": lines}
        totals["raft_disconnections"] += sum(raft.values())
        totals["elections"] += sum(elections.values())
        totals["client_disconnections"] += sum(clients.values())
    per_hour = dict((name, round(value * 3600.0 / window_seconds, 1)) for name, value in totals.items())
    return per_lab, totals, per_hour


def measure(state_dirs, seconds, seed, label="", log=None, pause_seconds=(8.0, 13.0),
            interval_seconds=(2.0, 5.0), settle_seconds=15.0, faults=True, kinds=None):
    """Run the fault plan against the labs for `seconds` and count; returns a JSON-able dict.

    `kinds` limits the fault targets (default: every kind the labs have)."""
    log = log or (lambda message: None)
    labs = [LabTargets(path) for path in state_dirs]
    if len({lab.name for lab in labs}) != len(labs):
        raise MeasureError("every lab needs its own name")
    if kinds is None:
        kinds = [kind for kind in KINDS
                 if kind != "northd" or all(lab.info.get("northd") for lab in labs)]
    plan = []
    if faults:
        plan = plan_faults({lab.name: len(lab.info.get("chassis", [])) for lab in labs}, seed, seconds,
                           pause_seconds=pause_seconds, interval_seconds=interval_seconds,
                           settle_seconds=settle_seconds, kinds=kinds)
    settings = dict((lab.name, probes(lab)) for lab in labs)
    start = counters(labs)
    started = time.monotonic()
    log("%s: %d faults over %g s (seed %s)" % (label or "window", len(plan), seconds, seed))
    applied = run_faults(plan, state_dirs, log=log, deadline_seconds=seconds + 30.0) if plan else []
    # Bounded: the faults ended `settle_seconds` before the window does.
    while time.monotonic() - started < seconds:
        time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - started))))
    end = counters(labs)
    window = time.monotonic() - started
    per_lab, totals, per_hour = _difference(labs, start, end, window)
    return {
        "label": label,
        "seed": seed,
        "window_seconds": round(window, 1),
        "pause_seconds": list(pause_seconds),
        "interval_seconds": list(interval_seconds),
        "settle_seconds": settle_seconds,
        "faults_planned": len(plan),
        "faults_applied": len([f for f in applied if "skipped" not in f]),
        "faults": applied,
        "labs": per_lab,
        "totals": totals,
        "per_hour": per_hour,
        "probes": settings,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# --------------------------------------------------------------------------- report

def _merged_probe(measurement, name):
    values = set()
    for settings in measurement["probes"].values():
        values.update(str(v) for v in settings.get(name, []))
    return " / ".join(sorted(values, key=lambda v: (len(v), v))) or "-"


def _change(before, after):
    if before == 0:
        return "n/a (none before)" if after == 0 else "new"
    return "%+.0f %%" % ((after - before) * 100.0 / before)


def _reduction(before, after):
    return None if before == 0 else round((before - after) * 100.0 / before, 1)


def compare(before, after):
    """The before/after figures as a dict (the JSON report)."""
    figures = {}
    for name in ("raft_disconnections", "elections", "client_disconnections"):
        figures[name] = {"before": before["totals"][name], "after": after["totals"][name],
                         "before_per_hour": before["per_hour"][name], "after_per_hour": after["per_hour"][name],
                         "reduction_percent": _reduction(before["totals"][name], after["totals"][name])}
    all_before = before["totals"]["raft_disconnections"] + before["totals"]["client_disconnections"]
    all_after = after["totals"]["raft_disconnections"] + after["totals"]["client_disconnections"]
    reduction = _reduction(all_before, all_after)
    return {
        "figures": figures,
        "all_disconnections": {
            "before": all_before, "after": all_after,
            "before_per_day": round(all_before * 86400.0 / before["window_seconds"]),
            "after_per_day": round(all_after * 86400.0 / after["window_seconds"]),
            "reduction_percent": reduction},
        "aim_met": reduction is not None and reduction >= 80.0,
        "incident": {"before_per_day": INCIDENT_PER_DAY, "target_per_day": TARGET_PER_DAY,
                     "target_reduction_percent": round((INCIDENT_PER_DAY - TARGET_PER_DAY) * 100.0
                                                       / INCIDENT_PER_DAY, 1)},
        "same_fault_plan": [(f["at"], f["lab"], f["kind"], f["index"], f["seconds"]) for f in before["faults"]]
        == [(f["at"], f["lab"], f["kind"], f["index"], f["seconds"]) for f in after["faults"]],
    }


def markdown(before, after):
    result = compare(before, after)
    figures = result["figures"]
    labs = ", ".join(sorted(before["labs"]))
    pauses = before["pause_seconds"]
    partitions = len([f for f in before["faults"] if f["kind"] == "partition" and not f.get("skipped")])
    lines = [
        "Window: %g s before and %g s after the rollout, deployments %s; the same %d faults of %g-%g s"
        " (%d pauses, %d partitions of a central host; seed %s) in each window%s."
        % (before["window_seconds"], after["window_seconds"], labs, before["faults_applied"], pauses[0],
           pauses[1], before["faults_applied"] - partitions, partitions, before["seed"],
           "" if result["same_fault_plan"] else " (WARNING: the plans differ)"),
        "",
        "| metric | before | after | change |",
        "|---|---:|---:|---:|",
    ]

    def row(title, name, per_hour=False):
        key_before, key_after = ("before_per_hour", "after_per_hour") if per_hour else ("before", "after")
        value_before, value_after = figures[name][key_before], figures[name][key_after]
        change = "" if per_hour else _change(value_before, value_after)
        lines.append("| %s | %s | %s | %s |" % (title, _number(value_before), _number(value_after), change))

    row("RAFT disconnections (cluster/status, all members)", "raft_disconnections")
    row("  per hour", "raft_disconnections", per_hour=True)
    row("elections (RAFT term changes)", "elections")
    row("client disconnections (northd/ovn-controller sessions ended)", "client_disconnections")
    row("  per hour", "client_disconnections", per_hour=True)
    every = result["all_disconnections"]
    lines.append("| all disconnections, per day at this fault rate | %s | %s | %s |" % (
        _number(every["before_per_day"]), _number(every["after_per_day"]),
        _change(every["before"], every["after"])))
    for title, name in (("NB/SB listener inactivity_probe (ms)", ("nb_inactivity_probe", "sb_inactivity_probe")),
                        ("northd_probe_interval (ms)", ("northd_probe_interval",)),
                        ("chassis ovn-remote-probe-interval (ms)", ("chassis_remote_probe_interval",)),
                        ("RAFT election timer (ms)", ("nb_election_timer", "sb_election_timer"))):
        lines.append("| %s | %s | %s | |" % (
            title, " / ".join(sorted({_merged_probe(before, n) for n in name})),
            " / ".join(sorted({_merged_probe(after, n) for n in name}))))
    lines.append("")
    if every["reduction_percent"] is None:
        lines.append("No disconnection at all before the rollout: the faults did not reach the probes' limits.")
    else:
        lines.append("Disconnections (RAFT + client) fell by %.1f %% (aim: at least 80 %%; the incident's target"
                     " is %d -> < %d a day, -%.1f %%): %s."
                     % (every["reduction_percent"], INCIDENT_PER_DAY, TARGET_PER_DAY,
                        result["incident"]["target_reduction_percent"],
                        "aim met" if result["aim_met"] else "AIM NOT MET"))
    return "\n".join(lines) + "\n", result


def _number(value):
    if isinstance(value, float) and not value.is_integer():
        return "{:,.1f}".format(value)
    return "{:,}".format(int(value))


# --------------------------------------------------------------------------- CLI

class _Terminated(Exception):
    pass


def _terminate(signum, frame):
    raise _Terminated("signal %d" % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/incident.py", description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("measure", help="faults + counters over one window")
    run.add_argument("--lab", action="append", required=True, metavar="STATE_DIR",
                     help="a running lab's state dir (repeat for each deployment)")
    run.add_argument("--seconds", type=float, default=75.0)
    run.add_argument("--seed", type=int, default=7)
    run.add_argument("--label", default="")
    run.add_argument("--no-faults", action="store_true", help="count only (no fault injection)")
    run.add_argument("--out", required=True)
    report = commands.add_parser("report", help="compare two measurements")
    report.add_argument("--before", required=True)
    report.add_argument("--after", required=True)
    report.add_argument("--markdown", help="also write the table here")
    report.add_argument("--json", help="also write the comparison here")
    options = parser.parse_args(argv)

    if options.command == "measure":
        if not 10 <= options.seconds <= 3600:
            parser.error("--seconds: give 10 to 3600")
        signal.signal(signal.SIGTERM, _terminate)
        try:
            result = measure(options.lab, options.seconds, options.seed, label=options.label,
                             log=lambda message: print(message, file=sys.stderr, flush=True),
                             faults=not options.no_faults)
        except (MeasureError, OSError, ValueError, KeyError) as exc:
            print("incident.py: %s" % exc, file=sys.stderr)
            return 1
        with open(options.out, "w") as handle:
            json.dump(result, handle, indent=2)
        print(json.dumps({"label": result["label"], "totals": result["totals"], "per_hour": result["per_hour"],
                          "faults_applied": result["faults_applied"]}))
        return 0

    with open(options.before) as handle:
        before = json.load(handle)
    with open(options.after) as handle:
        after = json.load(handle)
    text, result = markdown(before, after)
    if options.markdown:
        with open(options.markdown, "w") as handle:
            handle.write("# Demo: before and after the rollout\n\n" + text)
    if options.json:
        with open(options.json, "w") as handle:
            json.dump(dict(result, before=before, after=after), handle, indent=2)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
