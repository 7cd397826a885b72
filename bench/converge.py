"""Benchmark 1 (converge cost against the shell way) and benchmark 6 (the incident's metric),
which share one pair of lab deployments started with the incident's settings."""

import os
import time

from common import (INCIDENT_SETTINGS, TUNED, BENCH_DIR, REPO_ROOT, BenchError, lab_inventory,
                    reset_to_incident_settings)
from ovnlab import Lab
from support.ansible_run import run_playbook

import incident

PLAYBOOKS = {
    "modules": os.path.join(BENCH_DIR, "playbooks", "converge_modules.yml"),
    "shell": os.path.join(BENCH_DIR, "playbooks", "converge_shell.yml"),
    "apply": os.path.join(BENCH_DIR, "playbooks", "converge_apply.yml"),
}
ROLLOUT = os.path.join(REPO_ROOT, "playbooks", "rollout.yml")
# The playbooks of benchmark 1, in the order of the odd rounds (the even ones run them reversed).
STYLES = ("apply", "modules", "shell")
TITLES = {"apply": "ovn_tuning_apply (one task)", "modules": "single-purpose modules",
          "shell": "shell (CLI get-then-set)"}


class LabPair:
    """Two deployments (staging and production), each with 3-member NB and SB clusters, ovn-northd
    and two chassis, started with 5 s probes and 1 s election timers; stopped on exit."""

    def __init__(self, workdir, chassis=2):
        self.labs = [Lab(workdir=os.path.join(workdir, name), name=name, northd=True, chassis=chassis,
                         start_timeout=120, **INCIDENT_SETTINGS)
                     for name in ("bench-staging", "bench-prod")]
        self.inventory = os.path.join(workdir, "inventory.yml")

    def __enter__(self):
        try:
            for lab in self.labs:
                lab.start()
        except BaseException:
            self.stop()
            raise
        lab_inventory(self.labs, self.inventory)
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        for lab in self.labs:
            lab.stop()

    @property
    def state_dirs(self):
        return [lab.workdir for lab in self.labs]

    def reset(self):
        for lab in self.labs:
            reset_to_incident_settings(lab)


def _count(run):
    """Tasks, module/command invocations (loop items) and changes of one playbook run."""
    tasks = set()
    results = invocations = changed = skipped_items = 0
    for record in run.records:
        if record["status"] == "skipped":
            continue
        tasks.add(record["task"])
        results += 1
        result = record["result"]
        items = result.get("results") if isinstance(result.get("results"), list) else [result]
        for item in items:
            if item.get("skipped"):
                skipped_items += 1
                continue
            invocations += 1
            changed += 1 if item.get("changed") else 0
    return {"tasks": len(tasks), "task_results": results, "invocations": invocations, "changed": changed,
            "skipped_items": skipped_items,
            "records": [[record["host"], record["task"], record["status"],
                         len(record["result"].get("results") or [])] for record in run.records]}


def _converge(pair, style, label, log):
    started = time.monotonic()
    run = run_playbook(PLAYBOOKS[style], inventory=pair.inventory, extra_vars={"tuning": TUNED}, timeout=900)
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise BenchError("%s (%s) failed (rc %d):\n%s\n%s"
                         % (PLAYBOOKS[style], label, run.returncode, run.stdout[-3000:], run.stderr[-2000:]))
    figures = dict(_count(run), seconds=round(seconds, 2))
    log("converge %s %s: %.1f s, %d tasks, %d invocations, %d changed"
        % (style, label, seconds, figures["tasks"], figures["invocations"], figures["changed"]))
    return figures


def _rollout(pair, state_dir, label, log):
    """The collection's staged rollout (kubedc.ovn_tuning.rollout) on both deployments, without a
    baseline window or a soak: what the rollout's own tasks cost."""
    started = time.monotonic()
    run = run_playbook(ROLLOUT, inventory=pair.inventory, timeout=900,
                       extra_vars={"ovn_tuning_baseline_seconds": 0, "ovn_tuning_soak_seconds": 0,
                                   "ovn_tuning_state_dir": state_dir})
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise BenchError("%s (%s) failed (rc %d):\n%s\n%s"
                         % (ROLLOUT, label, run.returncode, run.stdout[-3000:], run.stderr[-2000:]))
    figures = dict(_count(run), seconds=round(seconds, 2))
    # Every task result, skipped ones included: what ansible-playbook walks through.
    figures["task_results_all"] = len(run.records)
    log("rollout %s: %.1f s, %d tasks, %d task results (%d with skipped), %d changed"
        % (label, seconds, figures["tasks"], figures["task_results"], figures["task_results_all"],
           figures["changed"]))
    return figures


def _rollouts(pair, workdir, log):
    """A rollout from the incident's settings (the labs put back with the CLIs first), then the same
    again: the no-op rollout, which must change nothing."""
    state_dir = os.path.join(workdir, "rollout-state")
    pair.reset()
    first = _rollout(pair, state_dir, "first", log)
    again = _rollout(pair, state_dir, "no-op", log)
    if again["changed"]:
        raise BenchError("the no-op rollout changed %d value(s): %s" % (again["changed"], again["records"]))
    return {"first": first, "noop": again}


def _verify_tuned(pair):
    """Read the tuned values back with the CLIs (independently of either playbook)."""
    for lab in pair.labs:
        settings = incident.probes(incident.LabTargets(lab.workdir))
        expected = {"nb_inactivity_probe": [TUNED["listener_probe"]], "sb_inactivity_probe": [TUNED["listener_probe"]],
                    "northd_probe_interval": [TUNED["northd_probe"]],
                    "chassis_remote_probe_interval": [TUNED["chassis_probe"]],
                    "nb_election_timer": [TUNED["election_timer"]], "sb_election_timer": [TUNED["election_timer"]]}
        wrong = dict((key, settings.get(key)) for key, value in expected.items() if settings.get(key) != value)
        if wrong:
            raise BenchError("%s is not tuned after the run: %s" % (lab.name, wrong))


def run_converge_and_incident(workdir, run_converge, run_incident, window_seconds, seed, log, rounds=2):
    """Benchmarks 1 and/or 6 on one pair of deployments. Returns {1: result, 6: result}.

    Benchmark 1 runs `rounds` rounds, the order of the two playbooks alternating between rounds;
    before each first run the labs are put back to the incident's settings. Benchmark 6 measures its
    "after" window right after the first run of the first playbook (ovn_tuning_apply's)."""
    results = {}
    runs = dict(("%s_%s" % (style, run), []) for style in STYLES for run in ("first", "rerun"))
    with LabPair(workdir) as pair:
        before = after = None
        if run_incident:
            before = incident.measure(pair.state_dirs, window_seconds, seed, label="before", log=log)
        pristine = True
        for round_number in range(rounds if run_converge else 1):
            order = STYLES if round_number % 2 == 0 else tuple(reversed(STYLES))
            for style in order if run_converge else STYLES[:1]:
                if not pristine:
                    pair.reset()
                pristine = False
                label = "round %d" % (round_number + 1)
                runs[style + "_first"].append(_converge(pair, style, label + ", first run", log))
                _verify_tuned(pair)
                rerun = _converge(pair, style, label + ", re-run", log)
                if rerun["changed"]:
                    raise BenchError("the re-run of %s changed %d value(s): %s" % (style, rerun["changed"], rerun["records"]))
                runs[style + "_rerun"].append(rerun)
                if run_incident and after is None:
                    after = incident.measure(pair.state_dirs, window_seconds, seed, label="after", log=log)
        if run_incident:
            results[6] = incident_result(before, after)
        if run_converge:
            results[1] = converge_result(runs, _rollouts(pair, workdir, log))
    return results


def _mean(values):
    return sum(values) / float(len(values))


def converge_result(runs, rollouts=None):
    seconds = dict((key, [run["seconds"] for run in value]) for key, value in runs.items() if value)
    ratios = dict(("%s_%s" % (style, run), round(_mean(seconds["shell_" + run]) / _mean(seconds["%s_%s" % (style, run)]), 2))
                  for style in STYLES if style != "shell" and style + "_first" in seconds for run in ("first", "rerun"))
    rounds = len(seconds["shell_first"])
    table = [
        "| playbook | run | wall time (s), mean of %d | each round | tasks | task results | invocations | changed |"
        % rounds,
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for style in STYLES:
        title = TITLES[style]
        for run, run_title in (("first", "first"), ("rerun", "no-op re-run")):
            key = "%s_%s" % (style, run)
            if key not in seconds:
                continue
            figures = runs[key][0]
            table.append("| %s | %s | %.1f | %s | %d | %d | %d | %d |" % (
                title, run_title, _mean(seconds[key]), ", ".join("%.1f" % value for value in seconds[key]),
                figures["tasks"], figures["task_results"], figures["invocations"], figures["changed"]))
    table.append("")
    table.append("Shell / collection wall-time ratio (above 1: the collection is faster): %s. Two deployments"
                 " (3+3 RAFT members, 2 chassis each) tuned from 5 s probes and 1 s election timers to 60 s / 60 s /"
                 " 5 min and 16 s." % "; ".join(
                     "%s first run %.2f, no-op re-run %.2f" % (TITLES[style], ratios[style + "_first"],
                                                               ratios[style + "_rerun"])
                     for style in STYLES if style + "_first" in ratios))
    consistent = all(len({(run["tasks"], run["invocations"], run["changed"]) for run in value}) == 1
                     for value in runs.values() if value)
    summary_rollout = {}
    if rollouts:
        table += [
            "",
            "| kubedc.ovn_tuning.rollout (baseline 0 s, soak 0 s) | wall time (s) | tasks run | task results"
            " | task results with skipped | invocations | changed |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for key, title in (("first", "first run (from the incident's settings)"), ("noop", "no-op re-run")):
            figures = rollouts[key]
            table.append("| %s | %.1f | %d | %d | %d | %d | %d |" % (
                title, figures["seconds"], figures["tasks"], figures["task_results"], figures["task_results_all"],
                figures["invocations"], figures["changed"]))
        summary_rollout = {"rollout_noop_seconds": rollouts["noop"]["seconds"],
                           "rollout_noop_task_results": rollouts["noop"]["task_results"],
                           "rollout_noop_changed": rollouts["noop"]["changed"]}
    return {
        "id": 1, "title": "Converge cost vs. the shell way",
        "summary": dict(
            {"rounds": rounds, "counts_equal_in_every_round": consistent},
            **dict([("ratio_%s_shell_over_%s" % ("first_run" if run == "first" else run, style), ratios[style + "_" + run])
                    for style in STYLES if style + "_first" in ratios for run in ("first", "rerun")]
                   + [("%s_rerun_changed" % style, runs[style + "_rerun"][0]["changed"])
                      for style in STYLES if runs[style + "_rerun"]]
                   + [("%s_tasks" % style, runs[style + "_first"][0]["tasks"])
                      for style in STYLES if runs[style + "_first"]]
                   + list(summary_rollout.items()))),
        "table": table, "details": dict(runs, rollouts=rollouts),
    }


def incident_result(before, after):
    text, comparison = incident.markdown(before, after)
    every = comparison["all_disconnections"]
    figures = comparison["figures"]
    table = text.rstrip("\n").split("\n")
    table.append("")
    table.append("Seed incident: %s disconnections a day before, target < %s a day. In this lab, at this fault rate: "
                 "RAFT %s -> %s per hour, client %s -> %s per hour."
                 % ("{:,}".format(incident.INCIDENT_PER_DAY), "{:,}".format(incident.TARGET_PER_DAY),
                    figures["raft_disconnections"]["before_per_hour"], figures["raft_disconnections"]["after_per_hour"],
                    figures["client_disconnections"]["before_per_hour"],
                    figures["client_disconnections"]["after_per_hour"]))
    return {
        "id": 6, "title": "The incident's metric",
        "summary": {"raft_per_hour_before": figures["raft_disconnections"]["before_per_hour"],
                    "raft_per_hour_after": figures["raft_disconnections"]["after_per_hour"],
                    "client_per_hour_before": figures["client_disconnections"]["before_per_hour"],
                    "client_per_hour_after": figures["client_disconnections"]["after_per_hour"],
                    "elections_before": figures["elections"]["before"],
                    "elections_after": figures["elections"]["after"],
                    "reduction_percent": every["reduction_percent"], "aim_met": comparison["aim_met"],
                    "same_fault_plan": comparison["same_fault_plan"]},
        "table": table, "details": {"comparison": comparison, "before": before, "after": after},
    }
