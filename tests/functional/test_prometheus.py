"""The alert rules (docs/prometheus/ovn-tuning.rules.yml) and the dashboard (docs/grafana/ovn-tuning.json)
against metrics the collection wrote on a lab, judged by Debian's promtool and a real Prometheus server
scraping a real node_exporter.

- promtool check rules; each rule has a severity, a summary, a description and a runbook section that
  exists.
- promtool test rules: the input series are the metric files ovn_health wrote on the lab in a healthy
  window, with a paused follower, with two members paused (no quorum), after a real election and with the
  profile's probes not applied (drifted). Three faults no lab of three honest members can show in a test's
  time - a disconnection storm of hundreds an hour, two leaders, a growing backlog of uncommitted entries -
  are the healthy files with those series changed, and say so. Each alert fires where it should and stays
  silent where it should not.
- The health playbook fills a textfile directory; node_exporter's textfile collector serves it; Prometheus
  (loopback, its own data directory) scrapes it and loads the rules. Every query of every dashboard panel and
  variable returns series of the deployment, and only the probe drift the lab really has is alerting.
"""

import copy
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from ovnlab import Lab
from ovnlab.waiting import wait_until
from support.ansible_run import REPO_ROOT, run_all, run_module, run_playbook
from support.rollout import HEALTH, descriptor, extra_vars, write_inventory
from test_cluster_info import facts_args, settled
from test_ovn_health import parse_metrics

RULES = os.path.join(REPO_ROOT, "docs", "prometheus", "ovn-tuning.rules.yml")
DASHBOARD = os.path.join(REPO_ROOT, "docs", "grafana", "ovn-tuning.json")
RUNBOOK = os.path.join(REPO_ROOT, "docs", "runbook.md")
ALERTS = ("OvnRaftNoQuorum", "OvnRaftMultipleLeaders", "OvnRaftMemberDown", "OvnRaftDisconnectionRateHigh",
          "OvnRaftElections", "OvnRaftUncommittedEntriesGrowing", "OvnProbesDrifted", "OvnHealthAssertionFailed",
          "OvnTuningMetricsStale")
DEPLOYMENT = "lab-prom"
LABELS = {"deployment": DEPLOYMENT, "read": "health"}
MINUTES = 120  # length of each promtool test case's input, one sample a minute
TIMESTAMP = "ovn_tuning_facts_timestamp_seconds"
LAST_ELECTION = "ovn_tuning_raft_last_election_timestamp_seconds"


def load_rules():
    with open(RULES) as handle:
        return yaml.safe_load(handle)


def rules_by_name():
    return dict((rule["alert"], rule) for group in load_rules()["groups"] for rule in group["rules"])


@pytest.fixture(scope="module")
def lab():
    lab = Lab(name="prom", election_timer_ms=1000, keep=os.environ.get("OVNLAB_KEEP", "") not in ("", "0"))
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


# --------------------------------------------------------------------------- the rules file

def runbook_anchors():
    anchors = set()
    with open(RUNBOOK) as handle:
        for line in handle:
            if line.startswith("## "):
                title = line[3:].strip().lower()
                anchors.add(re.sub(r"[^a-z0-9 -]", "", title).replace(" ", "-"))
    return anchors


def test_rules_pass_promtool_and_say_what_to_do():
    out = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: %d rules found" % len(ALERTS) in out.stdout, out.stdout
    rules = rules_by_name()
    assert sorted(rules) == sorted(ALERTS)
    anchors = runbook_anchors()
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        annotations = rule["annotations"]
        assert annotations["summary"] and len(annotations["description"]) > 80, name
        page, anchor = annotations["runbook"].split("#")
        assert page == "docs/runbook.md" and anchor in anchors, (name, annotations["runbook"], sorted(anchors))
        # The rollout's one-off reads are not watched.
        assert 'read!~"preflight|gate"' in rule["expr"], name


def test_the_runbooks_systemd_timer_verifies_and_names_real_variables(tmp_path):
    """docs/examples/ovn-tuning-health.{service,timer} pass systemd-analyze verify (with this machine's
    ansible-playbook in place of the example's venv path), and set variables the roles have."""
    examples = os.path.join(REPO_ROOT, "docs", "examples")
    with open(os.path.join(examples, "ovn-tuning-health.service")) as handle:
        service = handle.read()
    exec_start = re.search(r"^ExecStart=(.+?)(?<!\\)$", service, re.M | re.S).group(1).replace("\\\n", " ")
    argv = exec_start.split()
    assert argv[0] == "/opt/ovn-tuning/venv/bin/ansible-playbook" and "kubedc.ovn_tuning.health" in argv
    names = [argv[i + 1].split("=")[0] for i, arg in enumerate(argv) if arg == "-e" and "=" in argv[i + 1]]
    with open(os.path.join(REPO_ROOT, "roles", "config", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    assert sorted(names) == ["ovn_tuning_health_expect_profile", "ovn_tuning_health_sample_seconds",
                             "ovn_tuning_metrics_dir"]
    assert all(name in defaults for name in names), names
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    (tmp_path / "ovn-tuning-health.service").write_text(service.replace(argv[0], playbook))
    with open(os.path.join(examples, "ovn-tuning-health.timer")) as handle:
        (tmp_path / "ovn-tuning-health.timer").write_text(handle.read())
    out = subprocess.run(["systemd-analyze", "verify", "ovn-tuning-health.timer", "ovn-tuning-health.service"],
                         cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert out.returncode == 0 and not out.stderr.strip(), out.stdout + out.stderr


# --------------------------------------------------------------------------- promtool test rules

def series_name(key):
    name, labels = key
    text = ",".join('%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"')) for k, v in labels)
    return "%s{%s}" % (name, text)


def input_series(segments, freeze_timestamp_at=None):
    """promtool input_series from ``segments`` [(first minute, samples)]: every series takes, each
    minute, its value in the segment that covers the minute (missing there: no sample). The facts'
    timestamp is the test's own clock (promtool starts at 0), frozen at ``freeze_timestamp_at``; the
    members' last-election times keep their distance to the read of their file, which is placed at the
    first minute that file (its facts' timestamp) appears."""
    keys = sorted(set(key for _first, samples in segments for key in samples))
    anchors = {}
    for first, samples in segments:
        read_at = [value for key, value in samples.items() if key[0] == TIMESTAMP]
        anchors.setdefault(tuple(read_at), first)
    series = []
    for key in keys:
        values = []
        for minute in range(MINUTES + 1):
            samples = [s for first, s in segments if first <= minute][-1]
            if key not in samples:
                values.append("_")
            elif key[0] == TIMESTAMP:
                clock = minute if freeze_timestamp_at is None else min(minute, freeze_timestamp_at)
                values.append(str(clock * 60))
            elif key[0] == LAST_ELECTION:
                read_at = [value for k, value in samples.items() if k[0] == TIMESTAMP]
                values.append(repr(anchors[tuple(read_at)] * 60 - (read_at[0] - samples[key])))
            else:
                values.append(repr(float(samples[key])))
        series.append({"series": series_name(key), "values": " ".join(values)})
    return series


def with_series(samples, name, change):
    """A copy of ``samples`` with ``change(labels dict, value)`` applied to the series of ``name``; it returns
    the new value, a function of the minute, or None to keep the value."""
    changed = {}
    for key, value in samples.items():
        if key[0] == name:
            new = change(dict(key[1]), value)
            changed[key] = value if new is None else new
        else:
            changed[key] = value
    return changed


def rising(samples, name, per_minute, select=lambda labels: True):
    """Per-minute segments in which the series of ``name`` (those ``select`` picks) rise by
    ``per_minute`` from the file's value."""
    return [(minute, with_series(samples, name, lambda labels, value, m=minute:
                                 value + per_minute * (m + 1) if select(labels) else None))
            for minute in range(MINUTES + 1)]


SEVERITY = dict((name, rule["labels"]["severity"]) for name, rule in rules_by_name().items())


def alert(name, **labels):
    labels.setdefault("severity", SEVERITY[name])
    return {"exp_labels": labels}


def case(title, series, eval_expectations):
    """One promtool test case: at each (minute, {alert: [expected]}) every alert of the rules file not named
    is expected silent."""
    tests = []
    for minute, expected in eval_expectations:
        assert set(expected) <= set(ALERTS), expected
        for name in ALERTS:
            tests.append({"eval_time": "%dm" % minute, "alertname": name, "exp_alerts": expected.get(name, [])})
    return {"name": title, "interval": "1m", "input_series": series, "alert_rule_test": tests}


def metric_files(lab, tmp_path):
    """The lab's NB as ovn_health wrote it in five windows: {window: samples}, the members' remotes, and the
    members paused (first alone, then both)."""
    nb = lab.info()["nb"]
    paths = dict((name, str(tmp_path / ("%s.prom" % name)))
                 for name in ("healthy", "drifted", "one_paused", "two_paused", "after_election", "after_transfer"))

    def read(name, **extra):
        args = facts_args(lab, "nb", timeout=5, metrics_file=paths[name], metrics_labels=LABELS, **extra)
        return {"name": name, "kubedc.ovn_tuning.ovn_health": args}

    settled(lab)
    results = run_all([read("healthy", expected_probes={"inactivity_probe": "5s"}),
                       read("drifted", expected_probes={"inactivity_probe": "60s"})])
    assert results["healthy"]["healthy"] is True, results["healthy"].get("msg")
    assert results["drifted"]["failed_gates"][0].startswith("expected_probes:"), results["drifted"]
    paused_sets = {}
    for name, count in (("one_paused", 1), ("two_paused", 2)):
        # Followers of the leader of the moment (the last pause may have moved it): it keeps leading.
        settled(lab)
        leader = lab.leader("nb")
        paused = paused_sets[name] = [index for index in range(3) if index != leader][:count]
        for index in paused:
            lab.pause("nb", index)
        try:
            result = run_module("ovn_health", read(name)["kubedc.ovn_tuning.ovn_health"])
        finally:
            for index in paused:
                lab.resume("nb", index)
        reachable = [m["reachable"] for m in result["facts"]["end"]["members"]]
        assert reachable == [index not in paused for index in range(3)], result["facts"]["end"]["members"]
    # A real election: the leader paused past two RAFT probe intervals (election timer + 1000 ms each).
    term_before = settled(lab)[0]["term"]
    current_leader = lab.leader("nb")
    lab.pause("nb", current_leader)
    try:
        time.sleep(5)
    finally:
        lab.resume("nb", current_leader)
    # The resumed old leader may stir one more election before all agree: read once they have.
    for _attempt in range(3):
        assert settled(lab)[0]["term"] > term_before
        result = run_module("ovn_health", read("after_election")["kubedc.ovn_tuning.ovn_health"])
        if result["healthy"]:
            break
    assert result["healthy"] is True, result.get("msg")
    # A leadership transfer: the leader stopped gracefully (it hands over first) and started again.
    leader = lab.leader("nb")
    lab.run_on(lab.host_of("nb", leader).name, ["ovs-appctl", "-t", "/run/ovn/ovnnb_db.ctl", "exit"])
    lab.restart("nb", leader)
    settled(lab)
    transfer = run_module("ovn_health", dict(read("after_transfer")["kubedc.ovn_tuning.ovn_health"],
                                             window_start=result["facts"]["end"], max_disconnections=10))
    assert transfer["healthy"] is True, transfer.get("msg")
    assert (transfer["term_rise"], transfer["elections"], transfer["leadership_transfers"]) == (1, 0, 1)
    remotes = [m["remote"] for m in nb["members"]]
    return dict((name, parse_metrics(path)) for name, path in paths.items()), remotes, paused_sets


def test_alerts_fire_on_the_lab_windows_and_only_there(lab, tmp_path):
    files, remotes, paused = metric_files(lab, tmp_path)
    healthy, drifted = files["healthy"], files["drifted"]
    common = {"deployment": DEPLOYMENT, "database": "OVN_Northbound"}
    series_labels = dict(common, read="health")
    # The files carry the labels the rules group by.
    assert healthy[("ovn_tuning_healthy", tuple(sorted(series_labels.items())))] == 1
    assert drifted[("ovn_tuning_health_gate", tuple(sorted(dict(series_labels, gate="expected_probes").items())))] == 0
    assert files["two_paused"][("ovn_tuning_cluster_quorum", tuple(sorted(series_labels.items())))] == 0
    term = "ovn_tuning_raft_term"
    assert max(v for k, v in files["after_election"].items() if k[0] == term) > \
        max(v for k, v in healthy.items() if k[0] == term)
    assert max(v for k, v in files["after_transfer"].items() if k[0] == term) == \
        max(v for k, v in files["after_election"].items() if k[0] == term) + 1
    reasons = sorted(dict(k[1])["reason"] for k in files["after_transfer"] if k[0] == LAST_ELECTION)
    assert "leadership_transfer" in reasons, reasons

    paused_remote = remotes[paused["one_paused"][0]]
    # The healthy file's leader and one of its followers, for the built cases.
    roles = dict((dict(key[1])["member"], dict(key[1])["role"]) for key, value in healthy.items()
                 if key[0] == "ovn_tuning_raft_role" and value == 1)
    leader_remote = [member for member, role in roles.items() if role == "leader"][0]
    follower_remote = sorted(member for member, role in roles.items() if role == "follower")[0]
    cases = [
        case("healthy window", input_series([(0, healthy)]), [(10, {}), (90, {})]),
        case("drifted probe", input_series([(0, drifted)]), [
            (3, {}), (10, {"OvnProbesDrifted": [alert("OvnProbesDrifted", gate="expected_probes", **series_labels)]})]),
        case("paused follower", input_series([(0, files["one_paused"])]), [
            (3, {}), (10, {"OvnRaftMemberDown": [alert("OvnRaftMemberDown", member=paused_remote, **series_labels)]})]),
        case("two members paused", input_series([(0, files["two_paused"])]), [
            (10, {"OvnRaftNoQuorum": [alert("OvnRaftNoQuorum", **series_labels)],
                  "OvnRaftMemberDown": [alert("OvnRaftMemberDown", member=remotes[index], **series_labels)
                                        for index in paused["two_paused"]]})]),
        case("an election", input_series([(0, healthy), (30, files["after_election"])]), [
            (20, {}), (40, {"OvnRaftElections": [alert("OvnRaftElections", **common)]}), (100, {})]),
        case("a leadership transfer", input_series([(0, files["after_election"]), (30, files["after_transfer"])]), [
            (20, {}), (40, {}), (89, {}), (100, {})]),
        case("metrics stale (the health job stopped at minute 10)",
             input_series([(0, healthy)], freeze_timestamp_at=10), [
                 (20, {}), (40, {"OvnTuningMetricsStale": [alert("OvnTuningMetricsStale", **series_labels)]})]),
        # Built from the healthy file: its labels and start values, the fault's series changed.
        case("disconnection storm (built: +2 a minute on each member)",
             input_series(rising(healthy, "ovn_tuning_raft_disconnections_total", 2)), [
                 (10, {}), (45, {"OvnRaftDisconnectionRateHigh": [alert("OvnRaftDisconnectionRateHigh", **common)]})]),
        case("two leaders (built: a follower says leader)",
             input_series([(0, with_series(healthy, "ovn_tuning_raft_role", lambda labels, value: (
                 (1 if labels["role"] == "leader" else 0) if labels["member"] == follower_remote else None)))]), [
                 (5, {}), (15, {"OvnRaftMultipleLeaders": [alert("OvnRaftMultipleLeaders", **common)]})]),
        case("uncommitted entries growing (built: one more a minute on the leader)",
             input_series(rising(healthy, "ovn_tuning_raft_entries_not_committed", 1,
                                 select=lambda labels: labels["member"] == leader_remote)), [
                 (3, {}), (30, {"OvnRaftUncommittedEntriesGrowing": [
                     alert("OvnRaftUncommittedEntriesGrowing", member=leader_remote, **series_labels)]})]),
    ]
    # promtool compares annotations too; they are checked rendered by the Prometheus test below.
    rules = load_rules()
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations")
    rules_path = tmp_path / "rules.yml"
    rules_path.write_text(yaml.safe_dump(rules))
    test_path = tmp_path / "tests.yml"
    test_path.write_text(yaml.safe_dump({"rule_files": [str(rules_path)], "evaluation_interval": "1m",
                                         "tests": cases}))
    out = subprocess.run(["promtool", "test", "rules", str(test_path)], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-6000:]
    assert "SUCCESS" in out.stdout, out.stdout

    # The test can fail: the healthy window expected to alert is refused.
    broken = copy.deepcopy(cases[0])
    broken["alert_rule_test"][0]["exp_alerts"] = [alert("OvnRaftNoQuorum", **series_labels)]
    test_path.write_text(yaml.safe_dump({"rule_files": [str(rules_path)], "evaluation_interval": "1m",
                                         "tests": [broken]}))
    out = subprocess.run(["promtool", "test", "rules", str(test_path)], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode != 0 and "OvnRaftNoQuorum" in out.stdout + out.stderr, out.stdout + out.stderr


# --------------------------------------------------------------------------- a real Prometheus

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
        return json.loads(response.read().decode())


def query(base, expr):
    data = get_json("%s/api/v1/query?%s" % (base, urllib.parse.urlencode({"query": expr})))
    assert data["status"] == "success", (expr, data)
    return data["data"]["result"]


def dashboard_queries(substitutions):
    """(where, expr) of every panel target and variable of the dashboard, variables substituted."""
    with open(DASHBOARD) as handle:
        dashboard = json.load(handle)

    def substitute(expr):
        for name, value in substitutions.items():
            expr = expr.replace("$" + name, value)
        assert "$" not in expr, expr
        return expr
    queries = [("panel %r %s" % (panel["title"], target["refId"]), substitute(target["expr"]))
               for panel in dashboard["panels"] for target in panel["targets"]]
    variables = []
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"])
            variables.append((variable["name"], substitute(match.group(1)), match.group(2)))
    return dashboard, queries, variables


@pytest.fixture
def prometheus(tmp_path):
    """node_exporter (textfile collector only) and Prometheus scraping it every second, with the rules;
    yields (Prometheus URL, textfile directory)."""
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    exporter_port, prometheus_port = free_port(), free_port()
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [RULES],
              "scrape_configs": [{"job_name": "node", "static_configs": [
                  {"targets": ["127.0.0.1:%d" % exporter_port]}]}]}
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    logs = open(str(tmp_path / "daemons.log"), "w")
    processes = [
        subprocess.Popen(["prometheus-node-exporter", "--web.listen-address=127.0.0.1:%d" % exporter_port,
                          "--collector.disable-defaults", "--collector.textfile",
                          "--collector.textfile.directory=%s" % textfile_dir],
                         stdout=logs, stderr=subprocess.STDOUT),
        subprocess.Popen(["prometheus", "--config.file=%s" % config_path,
                          "--storage.tsdb.path=%s" % (tmp_path / "data"),
                          "--web.listen-address=127.0.0.1:%d" % prometheus_port],
                         stdout=logs, stderr=subprocess.STDOUT),
    ]
    base = "http://127.0.0.1:%d" % prometheus_port
    try:
        wait_until(lambda: get_json(base + "/api/v1/status/runtimeinfo")["status"] == "success", 60,
                   "Prometheus ready", log_files=[logs.name], interval=0.5)
        yield base, str(textfile_dir)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()


def test_prometheus_scrapes_the_health_playbook_and_every_panel_has_series(lab, prometheus, tmp_path):
    base, textfile_dir = prometheus
    settled(lab)
    settled(lab, "sb")
    inventory = write_inventory(tmp_path / "inventory.yml", {"ovn_staging": {DEPLOYMENT: descriptor(DEPLOYMENT, lab)}})
    run = run_playbook(HEALTH, inventory=inventory, extra_vars=extra_vars(
        str(tmp_path / "state"), ovn_tuning_metrics_dir=textfile_dir, ovn_tuning_health_expect_profile=True))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # A rollout's gate read of another deployment beside it: its own series, not watched.
    gate = run_module("ovn_health", facts_args(lab, "sb", metrics_file=os.path.join(textfile_dir, "other-sb-gate.prom"),
                                               metrics_labels={"deployment": "rollout-only", "read": "gate"}))
    assert gate["healthy"] is True, gate.get("msg")
    assert sorted(os.listdir(textfile_dir)) == ["%s-nb.prom" % DEPLOYMENT, "%s-sb.prom" % DEPLOYMENT, "other-sb-gate.prom"]

    # Scraped without errors, five samples at least of each series (the rates need two).
    wait_until(lambda: query(base, "min(count_over_time(ovn_tuning_healthy[1m])) >= 5"), 90, "five scrapes",
               interval=0.5)
    assert [r["value"][1] for r in query(base, "node_textfile_scrape_error")] == ["0"]
    assert sorted(r["metric"]["read"] for r in query(base, "ovn_tuning_healthy")) == ["gate", "health", "health"]

    dashboard, queries, variables = dashboard_queries({"deployment": DEPLOYMENT, "database": ".*"})
    assert dashboard["templating"]["list"][0]["type"] == "datasource"
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])
    assert len(queries) >= 15
    for where, expr in queries:
        result = query(base, expr)
        assert result, "%s returns no series: %s" % (where, expr)
        for series in result:
            labels = series["metric"]
            assert labels.get("deployment", DEPLOYMENT) == DEPLOYMENT, (where, labels)
            assert labels.get("read", "health") == "health", (where, labels)
        databases = set(s["metric"]["database"] for s in result if "database" in s["metric"])
        assert databases <= {"OVN_Northbound", "OVN_Southbound"}, (where, databases)
    by_name = dict((name, (match, label)) for name, match, label in variables)
    for name, (match, label) in by_name.items():
        data = get_json("%s/api/v1/series?%s" % (base, urllib.parse.urlencode({"match[]": match})))
        values = sorted(set(series[label] for series in data["data"]))
        assert values == {"deployment": [DEPLOYMENT], "database": ["OVN_Northbound", "OVN_Southbound"]}[name], \
            (name, values)
    # The panels' numbers are the playbook's: the listener probe the lab runs, the profile's 60 s.
    probes = query(base, 'ovn_tuning_connection_inactivity_probe_milliseconds{read="health"}')
    assert sorted(r["value"][1] for r in probes) == ["5000", "5000"]
    expected = query(base, 'ovn_tuning_expected_probe_milliseconds{setting="inactivity_probe"}')
    assert sorted(r["value"][1] for r in expected) == ["60000", "60000"]

    # The rules load and evaluate; the lab's real drift (5 s listeners, the profile asks 60 s) is the only
    # alert, pending for its 5 minutes, its annotations rendered.
    groups = get_json(base + "/api/v1/rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert sorted(rule["name"] for rule in rules) == sorted(ALERTS)
    wait_until(lambda: all(
        rule.get("lastEvaluation", "").startswith("2") and rule["health"] == "ok"
        for group in get_json(base + "/api/v1/rules")["data"]["groups"] for rule in group["rules"]),
        60, "every rule evaluated", interval=0.5)
    alerts = wait_until(lambda: get_json(base + "/api/v1/alerts")["data"]["alerts"], 60, "the drift alert",
                        interval=0.5)
    assert sorted((a["labels"]["alertname"], a["labels"]["database"], a["state"]) for a in alerts) == [
        ("OvnProbesDrifted", "OVN_Northbound", "pending"), ("OvnProbesDrifted", "OVN_Southbound", "pending")], alerts
    nb_alert = [a for a in alerts if a["labels"]["database"] == "OVN_Northbound"][0]
    assert nb_alert["labels"]["deployment"] == DEPLOYMENT and nb_alert["labels"]["severity"] == "warning"
    assert nb_alert["annotations"]["summary"] == "%s OVN_Northbound: probe settings differ from the profile" % DEPLOYMENT
    assert "in %s is not what the profile asks" % DEPLOYMENT in nb_alert["annotations"]["description"]
