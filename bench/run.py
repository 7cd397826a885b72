"""Benchmarks and fault drills of kubedc.ovn_tuning (`make bench`; docs/performance.md).

    .venv/bin/python bench/run.py                  # all seven (~25 minutes on 2 cores)
    .venv/bin/python bench/run.py --only 3,4 --trials 10
    .venv/bin/python bench/run.py --only 5 --quick

1. converge cost vs. the shell way     4. no hang (SIGSTOPped leader, module timeout)
2. flat in database size               5. no thundering herd (100 clients, server restart)
3. failover (SIGKILLed leader)         6. the incident's metric (faults, before/after)
7. chassis fleet (10, 30, 100 chassis hosts over SSH: gated batches vs. one after another)

Every figure is a ratio, a count or a distribution measured in the same run against its baseline;
the machines are shared and noisy. Reports go to bench/results/ (<UTC time>.md/.json, latest.md/.json);
a full run (all seven, not --quick) also rewrites the results section of docs/performance.md.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

# common sets up sys.path (the collection, the lab, the test helpers) for the imports below.
import common  # noqa: F401 pylint: disable=unused-import
from common import REPO_ROOT, BenchError, ensure_collection_link, machine

ALL = (1, 2, 3, 4, 5, 6, 7)
TITLES = {1: "Converge cost vs. the shell way", 2: "Flat in database size", 3: "Failover", 4: "No hang",
          5: "No thundering herd", 6: "The incident's metric",
          7: "Chassis fleet"}
DOCS = os.path.join(REPO_ROOT, "docs", "performance.md")
BEGIN, END = "<!-- bench results: begin (written by bench/run.py) -->", "<!-- bench results: end -->"


def _options(argv):
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--only", action="append", default=[], metavar="N[,N...]",
                        help="run only these benchmarks (1-7); repeatable")
    parser.add_argument("--trials", type=int, help="trials of 3 and 4, and module runs per size in 2 "
                        "(defaults 20, 20 and 7)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts, to check the harness (3 trials, 5,000 ports, 10 clients, 30 s windows)")
    parser.add_argument("--ports", type=int, help="logical switch ports for 2 (default 200,000)")
    parser.add_argument("--clients", type=int, help="clients for 5 (default 100)")
    parser.add_argument("--outages", metavar="S[,S...]",
                        help="seconds the server stays down in 5, one measurement each (default 0.5,1.5,2.5,3.5,5,7.5;"
                             " --quick: 1.5)")
    parser.add_argument("--window", type=float, help="seconds of each measuring window of 6 (default 60)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the fault plan of 6 (default 7)")
    parser.add_argument("--rounds", type=int, help="rounds of 1, the two playbooks in alternating order (default 2)")
    parser.add_argument("--hang-timeout", type=float, default=3.0, help="module timeout T of 4, seconds (default 3)")
    parser.add_argument("--results-dir", default=os.path.join(REPO_ROOT, "bench", "results"))
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--update-docs", action="store_true", help="rewrite docs/performance.md even for a partial run")
    docs.add_argument("--no-docs", action="store_true", help="never touch docs/performance.md")
    options = parser.parse_args(argv)
    selected = set()
    for text in options.only:
        for part in text.split(","):
            if not part.strip().isdigit() or int(part) not in ALL:
                parser.error("--only: give benchmark numbers 1-7, got %r" % part)
            selected.add(int(part))
    options.selected = sorted(selected) or list(ALL)
    quick = options.quick
    if options.trials is not None and not 1 <= options.trials <= 1000:
        parser.error("--trials: give 1 to 1000")
    options.flat_trials = options.trials or (3 if quick else 7)
    options.failover_trials = options.trials or (3 if quick else 20)
    options.ports = options.ports or (5000 if quick else 200000)
    options.clients = options.clients or (10 if quick else 100)
    options.window = options.window or (30.0 if quick else 60.0)
    options.rounds = options.rounds or (1 if quick else 2)
    if not 1 <= options.rounds <= 10:
        parser.error("--rounds: give 1 to 10")
    if not 1 <= options.ports <= 1000000:
        parser.error("--ports: give 1 to 1,000,000")
    if not 1 <= options.clients <= 500:
        parser.error("--clients: give 1 to 500")
    try:
        options.outages = tuple(float(part) for part in (options.outages or ("1.5" if quick else "")).split(",")
                                if part.strip()) or None
    except ValueError:
        parser.error("--outages: give seconds separated by commas, got %r" % options.outages)
    if options.outages and not all(0.1 <= down <= 30 for down in options.outages):
        parser.error("--outages: give 0.1 to 30 seconds each")
    if not 20 <= options.window <= 900:
        parser.error("--window: give 20 to 900 seconds")
    if not 1 <= options.hang_timeout <= 60:
        parser.error("--hang-timeout: give 1 to 60 seconds")
    return options


def herd_outages():
    import herd  # pylint: disable=import-outside-toplevel
    return herd.OUTAGES


def _log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def _run_all(options, workdir):
    # Imported here: they import the collection, the lab and Ansible's test helpers.
    import converge  # pylint: disable=import-outside-toplevel
    import failover  # pylint: disable=import-outside-toplevel
    import flat  # pylint: disable=import-outside-toplevel
    import herd  # pylint: disable=import-outside-toplevel
    import fleet  # pylint: disable=import-outside-toplevel

    results = {}
    wanted = options.selected

    def attempt(numbers, work):
        started = time.monotonic()
        _log("benchmark %s: %s" % ("+".join(str(n) for n in numbers), ", ".join(TITLES[n] for n in numbers)))
        try:
            produced = work()
        # One failed benchmark must not stop the others.
        except Exception as exc:  # pylint: disable=broad-except
            _log("benchmark %s FAILED: %s" % (numbers, exc))
            produced = dict((n, {"id": n, "title": TITLES[n], "error": "%s: %s" % (type(exc).__name__, exc),
                                 "traceback": traceback.format_exc()[-4000:]}) for n in numbers)
        seconds = round(time.monotonic() - started, 1)
        for number in numbers:
            produced[number]["seconds"] = seconds
        results.update(produced)

    if 1 in wanted or 6 in wanted:
        numbers = [n for n in (1, 6) if n in wanted]
        attempt(numbers, lambda: converge.run_converge_and_incident(
            os.path.join(workdir, "converge"), 1 in wanted, 6 in wanted, options.window, options.seed, _log,
            rounds=options.rounds))
    if 2 in wanted:
        attempt([2], lambda: {2: flat.run_flat(workdir, options.flat_trials, options.ports, _log)})
    if 3 in wanted:
        attempt([3], lambda: {3: failover.run_failover(workdir, options.failover_trials, _log)})
    if 4 in wanted:
        attempt([4], lambda: {4: failover.run_no_hang(workdir, options.failover_trials, options.hang_timeout, _log)})
    if 5 in wanted:
        attempt([5], lambda: {5: herd.run_herd(workdir, options.clients, _log, options.outages or herd.OUTAGES)})
    if 7 in wanted:
        attempt([7], lambda: {7: fleet.run_fleet(workdir, options.quick, _log)})
    return results


def markdown(report):
    described = report["machine"]
    lines = [
        "Measured %s in %.0f s (benchmarks %s%s)."
        % (report["started_at"], report["duration_s"], ", ".join(str(n) for n in report["selected"]),
           ", --quick" if report["options"]["quick"] else ""),
        "",
        "| machine | |",
        "|---|---|",
        "| CPUs (nproc) | %s |" % described["nproc"],
        "| memory | %s GiB |" % described["memory_gib"],
        "| CPU model | %s |" % described["cpu_model"],
        "| kernel | %s |" % described["kernel"],
        "| load average at start (1, 5, 15 min) | %s |" % ", ".join(str(v) for v in described["load_average_at_start"]),
        "| ovsdb-server | %s |" % described["ovsdb_server"],
        "| OVN | %s |" % described["ovn"],
        "| Open vSwitch | %s |" % described["ovs"],
        "| ansible-core | %s |" % described["ansible_core"],
        "| Python / ovs package | %s / %s |" % (described["python"], described["ovs_python_package"]),
        "",
    ]
    for number in report["selected"]:
        result = report["benchmarks"][str(number)]
        lines.append("### %d. %s" % (number, result["title"]))
        lines.append("")
        if "error" in result:
            lines.append("**Failed:** %s" % result["error"].replace("\n", " ")[:1500])
        else:
            lines += result["table"]
        lines.append("")
        lines.append("_(%.0f s)_" % result.get("seconds", 0))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_reports(report, results_dir):
    os.makedirs(results_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = "# kubedc.ovn_tuning benchmarks\n\n" + markdown(report)
    paths = []
    for name in (stamp, "latest"):
        with open(os.path.join(results_dir, name + ".json"), "w") as handle:
            json.dump(report, handle, indent=2, default=str)
        with open(os.path.join(results_dir, name + ".md"), "w") as handle:
            handle.write(text)
        paths.append(os.path.join(results_dir, name + ".md"))
    return paths[0], text


def update_docs(report):
    with open(DOCS) as handle:
        current = handle.read()
    if BEGIN not in current or END not in current:
        raise BenchError("%s has no results section (%s ... %s)" % (DOCS, BEGIN, END))
    head, rest = current.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    with open(DOCS + ".tmp", "w") as handle:
        handle.write(head + BEGIN + "\n\n" + markdown(report) + "\n" + END + tail)
    os.replace(DOCS + ".tmp", DOCS)


class _Terminated(BaseException):
    """SIGTERM: unwinds like Ctrl-C, so that every lab is stopped on the way out."""


def _terminate(signum, frame):
    raise _Terminated("terminated by signal %d" % signum)


def main(argv=None):
    options = _options(argv)
    signal.signal(signal.SIGTERM, _terminate)
    ensure_collection_link()
    os.makedirs(os.path.join(REPO_ROOT, ".build"), exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="bench-", dir=os.path.join(REPO_ROOT, ".build"))
    started = time.monotonic()
    report = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "selected": options.selected,
              "options": {"quick": options.quick, "flat_trials": options.flat_trials,
                          "failover_trials": options.failover_trials, "ports": options.ports,
                          "clients": options.clients, "window_seconds": options.window, "seed": options.seed,
                          "converge_rounds": options.rounds, "outages_s": list(options.outages or herd_outages()),
                          "hang_timeout_s": options.hang_timeout}}
    _log("benchmarks %s on %s CPUs, load %s"
         % (options.selected, report["machine"]["nproc"], report["machine"]["load_average_at_start"]))
    try:
        results = _run_all(options, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["benchmarks"] = dict((str(number), results[number]) for number in options.selected)
    path, text = write_reports(report, options.results_dir)
    print(text)
    _log("report: %s (and latest.md / latest.json)" % path)
    full = options.selected == list(ALL) and not options.quick
    failed = [number for number in options.selected if "error" in results[number]]
    if not options.no_docs and (options.update_docs or full) and not failed:
        update_docs(report)
        _log("docs/performance.md updated")
    elif not options.no_docs:
        reason = "a benchmark failed" if failed else "partial or quick run; --update-docs to write it anyway"
        _log("docs/performance.md left as it is (%s)" % reason)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
