"""kubedc.ovn_tuning.ovn_health against the lab, run through ansible-playbook.

Verdicts are checked against independent readings (`ovs-appctl cluster/status`, `ovn-nbctl`), the
metrics file with prometheus_client's parser.
"""

import os
import re
import threading
import time
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support import oracle
from support.ansible_run import run_all, run_module
from test_cluster_info import appctl, facts_args, oracle_status, server_rows, settled, stable_oracle

BUILT_IN = ["quorum", "single_leader", "uncommitted_entries", "members_healthy"]
PAUSE_SECONDS = 5.0


def parse_metrics(path):
    with open(path) as handle:
        text = handle.read()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_healthy_cluster_passes_and_metrics_match_the_facts(ovn_lab, tmp_path):
    metrics = tmp_path / "ovn_nb.prom"
    before = stable_oracle(ovn_lab, "nb")
    result = run_module("ovn_health", facts_args(ovn_lab, "nb", metrics_file=str(metrics), assertions=[
        "summary.quorum",
        "length(members[?reachable && cluster_status.status == 'cluster member']) == `3`",
        "summary.election_timer == `%d`" % ovn_lab.election_timer_ms,
        "window == null && start.summary.term == end.summary.term",
    ]))
    after = stable_oracle(ovn_lab, "nb")
    assert not result["failed"], result.get("msg")
    assert result["changed"] is False and result["healthy"] is True
    assert result["failed_gates"] == []
    names = [gate["name"] for gate in result["gates"]]
    assert names == BUILT_IN + ["assertion_0", "assertion_1", "assertion_2", "assertion_3"]
    assert all(gate["passed"] for gate in result["gates"])
    not_evaluated = sorted(g["name"] for g in result["gates_not_evaluated"])
    assert not_evaluated == ["disconnections", "expected_probes", "no_elections"]
    assert result["disconnections_delta"] is None and result["elections"] is None
    end = result["facts"]["end"]
    assert result["facts"]["start"] == end

    # The facts agree with ovs-appctl (no election happened meanwhile).
    assert [s["term"] for s in before] == [s["term"] for s in after]
    for member, oracle in zip(end["members"], after):
        assert member["cluster_status"]["term"] == oracle["term"]
        assert member["cluster_status"]["role"] == oracle["role"]

    # The metrics file: parses, and says what the facts say.
    assert result["metrics_file"] == str(metrics)
    values = parse_metrics(str(metrics))
    db = ("database", "OVN_Northbound")
    for member in end["members"]:
        labels = (db, ("member", member["remote"]))
        status = member["cluster_status"]
        assert values[("ovn_tuning_member_up", labels)] == 1
        assert values[("ovn_tuning_raft_term", labels)] == status["term"]
        assert values[("ovn_tuning_raft_election_timer_milliseconds", labels)] == status["election_timer"]
        assert values[("ovn_tuning_raft_entries_not_committed", labels)] == status["entries_not_yet_committed"]
        assert values[("ovn_tuning_raft_disconnections_total", labels)] == status["disconnections"]
        assert values[("ovn_tuning_echo_rtt_milliseconds", labels)] == pytest.approx(member["echo_rtt_ms"])
        assert values[("ovn_tuning_raft_role", labels + (("role", status["role"]),))] == 1
    for row in end["probe_settings"]["connections"]:
        assert values[("ovn_tuning_connection_inactivity_probe_milliseconds",
                       (db, ("target", row["target"])))] == row["inactivity_probe_effective"]
    for key, value in end["probe_settings"]["options_effective"].items():
        assert values[("ovn_tuning_probe_option_milliseconds", (db, ("key", key)))] == value
    for gate in result["gates"]:
        assert values[("ovn_tuning_health_gate", (db, ("gate", gate["name"])))] == 1
    assert values[("ovn_tuning_healthy", (db,))] == 1
    assert values[("ovn_tuning_cluster_quorum", (db,))] == 1
    assert sorted(os.listdir(tmp_path)) == ["ovn_nb.prom"]


def test_check_mode_reads_the_same_and_writes_metrics(ovn_lab, tmp_path):
    metrics = tmp_path / "check.prom"
    result = run_module("ovn_health", facts_args(ovn_lab, "sb", metrics_file=str(metrics)), check=True)
    assert not result["failed"], result.get("msg")
    assert result["changed"] is False and result["healthy"] is True
    assert [g["name"] for g in result["gates"]] == BUILT_IN
    oracle = oracle_status(ovn_lab, "sb")
    assert result["facts"]["end"]["summary"]["term"] == max(s["term"] for s in oracle)
    values = parse_metrics(str(metrics))
    assert values[("ovn_tuning_healthy", (("database", "OVN_Southbound"),))] == 1


def test_expected_probes_match_and_mismatch(ovn_lab):
    nb = ovn_lab.info()["nb"]
    northd = oracle.nbctl(nb["remotes"], "--if-exists", "get", "NB_Global", ".", "options:northd_probe_interval")
    northd_ms = int(northd.strip('"')) if northd else 5000
    results = run_all([
        {"name": "match", "kubedc.ovn_tuning.ovn_health": facts_args(ovn_lab, "nb", expected_probes={
            "inactivity_probe": "5s", "northd_probe_interval": northd_ms,
            "election_timer": ovn_lab.election_timer_ms})},
        {"name": "mismatch", "kubedc.ovn_tuning.ovn_health": facts_args(ovn_lab, "nb", expected_probes={
            "inactivity_probe": "60s", "northd_probe_interval": northd_ms + 1000})},
    ])
    match = results["match"]
    assert not match["failed"], match.get("msg")
    gate = [g for g in match["gates"] if g["name"] == "expected_probes"][0]
    assert gate["passed"] is True

    mismatch = results["mismatch"]
    assert mismatch["failed"] is True and mismatch["healthy"] is False
    assert [s.split(":")[0] for s in mismatch["failed_gates"]] == ["expected_probes"]
    msg = mismatch["msg"]
    assert msg.startswith("OVN_Northbound is unhealthy: 1 of 5 gates failed - expected_probes: ")
    # The one listener row every member serves, reported once.
    assert msg.count("inactivity_probe of listener ptcp:6641:0.0.0.0 is 5000 ms (unset, the default), "
                     "expected 60000") == 1, msg
    for member in nb["members"]:
        # ovsdb-server never probes its command-line unix listener: no mismatch to report there
        assert member["host_unix"].replace("unix:", "punix:", 1) not in msg
    assert "NB_Global:northd_probe_interval is %d ms" % northd_ms in msg
    assert "expected %d" % (northd_ms + 1000) in msg


def test_assertions_pass_fail_and_report_the_value_seen(ovn_lab):
    assertions = [
        "summary.quorum",
        "summary.members_total == `5`",
        "summary.entries_not_committed_max",
        "members[0].cluster_status.election_timer",
    ]
    results = run_all([
        {"name": "failing", "kubedc.ovn_tuning.ovn_health": facts_args(ovn_lab, "nb", assertions=assertions)},
        {"name": "reported only", "kubedc.ovn_tuning.ovn_health": facts_args(
            ovn_lab, "nb", assertions=assertions, fail_on_unhealthy=False)},
    ])
    reported = results["reported only"]
    assert reported["failed"] is False and reported["healthy"] is False and "msg" not in reported
    assert [s.split(":")[0] for s in reported["failed_gates"]] == ["assertion_1", "assertion_2"]
    result = results["failing"]
    assert result["failed"] is True and result["healthy"] is False
    assert result["failed_gates"] == reported["failed_gates"]
    by_name = dict((g["name"], g) for g in result["gates"])
    assert by_name["assertion_0"]["passed"] and by_name["assertion_3"]["passed"]
    assert all(by_name[name]["passed"] for name in BUILT_IN)
    msg = result["msg"]
    assert msg.startswith("OVN_Northbound is unhealthy: 2 of 8 gates failed - ")
    assert "assertion_1: assertion 'summary.members_total == `5`' is not truthy: value false" in msg
    # the value seen is the one the facts hold (0 entries not committed: not truthy)
    committed = result["facts"]["end"]["summary"]["entries_not_committed_max"]
    assert committed == 0
    assert "assertion_2: assertion 'summary.entries_not_committed_max' is not truthy: value 0" in msg
    assert "value %d" % ovn_lab.election_timer_ms in by_name["assertion_3"]["detail"]


def test_invalid_assertion_fails_before_sampling(ovn_lab):
    started = time.monotonic()
    result = run_module("ovn_health", facts_args(ovn_lab, "nb", sample_seconds=60, assertions=[
        "summary.quorum", "summary.term >"]))
    elapsed = time.monotonic() - started
    assert result["failed"] is True
    assert result["msg"].startswith("assertions[1]: 'summary.term >' is not a valid JMESPath expression:")
    assert "facts" not in result and "gates" not in result
    assert elapsed < 40, "took %.1f s: the module sampled before it checked its input" % elapsed


def test_bad_input_names_the_option(ovn_lab, tmp_path):
    cases = [
        ({"expected_probes": {"sbctl_probe_interval": 5000}}, "expected_probes: 'sbctl_probe_interval' is not a"
                                                              " probe setting of OVN_Northbound"),
        ({"expected_probes": {"inactivity_probe": 500}}, "expected_probes.inactivity_probe: 500 is below the minimum"),
        ({"expected_probes": {"inactivity_probe": "5000"}, "probe_settings": False},
         "expected_probes: needs probe_settings=true"),
        ({"expected_probes": {"inactivity_probe": 0}},
         "expected_probes.inactivity_probe: 0 disables the probe of the listeners; ovsdb-server then never"),
        ({"sample_seconds": -1}, "sample_seconds: must be between 0"),
        ({"max_disconnections": -1}, "max_disconnections: must be 0 or more"),
        ({"metrics_file": str(tmp_path / "missing" / "x.prom")}, "metrics_file: directory %s does not exist"
         % (tmp_path / "missing")),
        ({"metrics_file": str(tmp_path)}, "metrics_file: %s is a directory" % tmp_path),
        ({"ctl_socket": ["/nonexistent.ctl"]}, "ctl_socket: give one control socket per remote"),
        ({"metrics_file": str(tmp_path / "x.prom"), "metrics_labels": {"member": "a"}},
         "metrics_labels: 'member' is a label the metrics set themselves; taken: database, gate, instance, job, key,"),
        ({"metrics_file": str(tmp_path / "x.prom"), "metrics_labels": {"0dc": "a"}},
         "metrics_labels: '0dc' is not a Prometheus label name"),
        ({"metrics_labels": {"deployment": "a"}},
         "metrics_labels: label the samples of metrics_file, which is not given"),
    ]
    results = run_all([{"name": "case %d" % i, "kubedc.ovn_tuning.ovn_health": facts_args(ovn_lab, "nb", **extra)}
                       for i, (extra, _fragment) in enumerate(cases)])
    for i, (extra, fragment) in enumerate(cases):
        result = results["case %d" % i]
        assert result["failed"] is True, (extra, result)
        assert fragment in result["msg"], (fragment, result["msg"])
        assert "facts" not in result
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- sampling window

def _module_process(marker):
    """pid of the AnsiballZ process of the run whose environment carries ``marker``, or None."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
            if not argv or not argv[0].endswith(b"python") or not any(
                    b"AnsiballZ_ovn_health" in arg for arg in argv):
                continue
            with open("/proc/%s/environ" % pid, "rb") as handle:
                if marker.encode() in handle.read():
                    return int(pid)
        except OSError:
            continue
    return None


def _socket_count(pid):
    count = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                    count += 1
            except OSError:
                continue
    except OSError:
        return None
    return count


def wait_for_first_read(marker, timeout=60.0, quiet_seconds=0.4):
    """Block until the module process of this run has read its start facts: it opened sockets
    (to the members) and has then held none for ``quiet_seconds`` (it sleeps through the window)."""
    deadline = time.monotonic() + timeout
    pid = None
    seen_sockets = False
    quiet_since = None
    while time.monotonic() < deadline:
        if pid is None:
            pid = _module_process(marker)
            time.sleep(0.01)
            continue
        count = _socket_count(pid)
        if count is None:
            raise AssertionError("the module process ended before its sampling window")
        if count:
            seen_sockets, quiet_since = True, None
        elif seen_sockets:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_seconds:
                return
        time.sleep(0.002)
    raise AssertionError("the module did not read its start facts within %.0f s" % timeout)


def test_paused_follower_in_the_window_fails_with_the_numbers(lab_factory, tmp_path):
    lab = lab_factory(databases=("nb",), election_timer_ms=1000)
    leader = lab.leader("nb")
    follower = (leader + 1) % 3
    follower_remote = lab.member("nb", follower)["remote"]
    metrics = tmp_path / "window.prom"
    before = oracle_status(lab, "nb")
    marker = "kubedc-health-%s" % uuid.uuid4().hex
    outcome = {}

    def run():
        try:
            outcome["result"] = run_module("ovn_health", facts_args(
                lab, "nb", timeout=5, sample_seconds=10, max_disconnections=0, max_elections=0,
                metrics_file=str(metrics)), extra_env={"KUBEDC_TEST_RUN": marker})
        except BaseException as exc:  # reported by the test thread below
            outcome["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    try:
        wait_for_first_read(marker)
        paused_at = time.time()
        lab.pause("nb", follower)
        # The fault itself. RAFT peers probe each other every election timer + 1000 ms and drop a
        # silent peer after two probe intervals: 5 s > 2 x 2000 ms makes the leader drop the paused
        # follower every time (a pause of 3-4 s only sometimes leaves a trace).
        time.sleep(PAUSE_SECONDS)
    finally:
        lab.resume("nb", follower)
    runner.join(120)
    assert not runner.is_alive()
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    start = result["facts"]["start"]
    # The fault fell inside the window: after the start read, before the end read.
    assert start["collected_at_epoch"] + start["duration_ms"] / 1000.0 < paused_at
    assert result["facts"]["end"]["collected_at_epoch"] > paused_at + PAUSE_SECONDS

    assert result["failed"] is True and result["healthy"] is False
    failed = dict((g["name"], g) for g in result["gates"] if not g["passed"])
    # Always the disconnections gate (see PAUSE_SECONDS); the term gate too when the resumed
    # follower forced an election.
    assert "disconnections" in failed and set(failed) <= {"disconnections", "no_elections"}, result["gates"]
    msg = result["msg"]
    # The start read agrees with ovs-appctl before the fault.
    assert [m["cluster_status"]["disconnections"] for m in start["members"]] == [
        s["disconnections"] for s in before]
    delta = result["disconnections_delta"]
    assert delta >= 1 and result["disconnections_by_member"][follower_remote] >= 1
    sentence = "disconnections: RAFT disconnections rose by %d in %.1f s (%s per hour; limit" \
        " max_disconnections=0)" % (delta, result["window_seconds"], result["disconnections_per_hour"])
    assert sentence in msg
    assert "%s: +%d" % (follower_remote, result["disconnections_by_member"][follower_remote]) in msg
    assert result["disconnections_per_hour"] == round(delta * 3600.0 / result["window_seconds"], 1)
    if "no_elections" in failed:
        assert result["elections"] >= 1
        assert "no_elections: term %d -> %d: %d election(s)" % (
            start["summary"]["term"], result["facts"]["end"]["summary"]["term"], result["elections"]) in msg
    # The end read agrees with ovs-appctl once the cluster has settled.
    after = oracle_status(lab, "nb")
    end_members = result["facts"]["end"]["members"]
    assert [m["cluster_status"]["disconnections"] for m in end_members] == [s["disconnections"] for s in after]
    assert sum(s["disconnections"] for s in after) - sum(s["disconnections"] for s in before) == \
        result["disconnections_delta"]

    values = parse_metrics(str(metrics))
    db = ("database", "OVN_Northbound")
    assert values[("ovn_tuning_healthy", (db,))] == 0
    assert values[("ovn_tuning_health_window_disconnections", (db,))] == result["disconnections_delta"]
    assert values[("ovn_tuning_health_window_elections", (db,))] == result["elections"]
    for name in failed:
        assert values[("ovn_tuning_health_gate", (db, ("gate", name)))] == 0


def test_quiet_window_passes(ovn_lab):
    result = run_module("ovn_health", facts_args(ovn_lab, "nb", sample_seconds=2, assertions=[
        "end.summary.term == start.summary.term", "window.elections == `0`"]))
    assert not result["failed"], result.get("msg")
    gates = dict((g["name"], g) for g in result["gates"])
    assert gates["no_elections"]["passed"] and gates["disconnections"]["passed"]
    assert result["disconnections_delta"] == 0 and result["elections"] == 0
    assert result["window_seconds"] >= 2.0
    assert result["facts"]["start"]["collected_at_epoch"] < result["facts"]["end"]["collected_at_epoch"]


def test_member_status_read_apart_and_a_window_from_an_earlier_read(ovn_lab):
    """Each member's control socket read by ovsdb_server_status on its own (as on its host), merged
    into ovn_health by member_status; the window is between two ovn_health runs (window_start)."""
    info = ovn_lab.info()["nb"]
    members = [{"host": "nb-host-%d" % m["index"], "ctl": m["ctl"]} for m in info["members"]]
    read = {"name": "read the members", "kubedc.ovn_tuning.ovsdb_server_status": {
        "databases": ["OVN_Northbound"], "ctl_sockets": {"OVN_Northbound": "{{ item.ctl }}"}, "timeout": 10},
        "loop": members, "register": "reads"}
    judged = {"database": "OVN_Northbound", "remote": info["remotes"], "timeout": 10,
              "member_status": "{{ reads | kubedc.ovn_tuning.member_status('OVN_Northbound') }}",
              "fail_on_unhealthy": False}
    results = run_all([
        dict(read, name="read the members at the start"),
        {"name": "start", "kubedc.ovn_tuning.ovn_health": dict(judged, probe_settings=False), "register": "start"},
        {"name": "wait", "ansible.builtin.pause": {"seconds": 2}},
        dict(read, name="read the members at the end"),
        {"name": "end", "kubedc.ovn_tuning.ovn_health": dict(judged, window_start="{{ start.facts.end }}",
                                                             max_elections=0, max_disconnections=0)},
        {"name": "both ways", "kubedc.ovn_tuning.ovn_health": dict(judged, ctl_socket=[m["ctl"] for m in info["members"]])},
        {"name": "two windows", "kubedc.ovn_tuning.ovn_health": dict(judged, sample_seconds=1,
                                                                     window_start="{{ start.facts.end }}")},
        {"name": "other database", "kubedc.ovn_tuning.ovn_health": dict(
            judged, database="OVN_Southbound", remote=ovn_lab.info()["sb"]["remotes"],
            window_start="{{ start.facts.end }}")},
    ])
    oracle = stable_oracle(ovn_lab, "nb")
    reads = results["read the members at the end"]["results"]
    for item, expected in zip(reads, oracle):
        status = item["servers"]["OVN_Northbound"]
        assert status["ctl_socket"] == item["item"]["ctl"] and status["cluster_status_error"] is None
        assert status["cluster_status"]["server_id"] == expected["server_id"]
        assert status["cluster_status"]["role"] == expected["role"]
        assert status["listeners"], status
    end = results["end"]
    assert not end["failed"], end.get("msg")
    assert end["healthy"] is True, end["failed_gates"]
    names = [gate["name"] for gate in end["gates"]]
    assert names == BUILT_IN + ["no_elections", "disconnections"]
    assert end["elections"] == 0 and end["disconnections_delta"] == 0
    assert 2.0 <= end["window_seconds"] < 60
    facts = end["facts"]["end"]
    # Every member got the read of its own server (by server id), whatever the order of the reads.
    for member in facts["members"]:
        assert member["status_source"] == "host"
        assert member["host"] == "nb-host-%d" % next(
            m["index"] for m in info["members"] if m["remote"] == member["remote"])
        assert member["cluster_status"]["server_id"] == member["server"]["sid"]
    assert facts["summary"]["members_status_read"] == 3
    assert end["facts"]["start"]["collected_at_epoch"] == results["start"]["facts"]["end"]["collected_at_epoch"]
    # Bad combinations fail before anything is read, naming the options.
    assert results["both ways"]["failed"]
    assert "mutually exclusive" in results["both ways"]["msg"] and "member_status" in results["both ways"]["msg"]
    assert results["two windows"]["failed"]
    assert "window_start: not together with sample_seconds" in results["two windows"]["msg"]
    assert results["other database"]["failed"]
    assert "window_start: those facts are of database 'OVN_Northbound', not of OVN_Southbound" in (
        results["other database"]["msg"])


def last_election_reason(lab, index):
    """Why the member started its last election, as ovs-appctl cluster/status prints it on its host."""
    text = appctl(lab, lab.info()["nb"]["members"][index], "cluster/status", "OVN_Northbound")
    match = re.search(r"^Last Election started \d+ ms ago, reason: (\S+)$", text, re.M)
    return match.group(1) if match else None


def test_leadership_transfer_is_not_an_election(lab_factory):
    """A leader that stops gracefully hands leadership over (as before writing a snapshot): the term
    rises, the no_elections gate passes and says why; a real election (the leader paused past the
    election timer) still fails it. Both told apart through the control sockets on this host and
    through ovsdb_server_status reads (member_status), as with central hosts."""
    lab = lab_factory(databases=("nb",), election_timer_ms=1000)
    info = lab.info()["nb"]
    before = settled(lab)
    start = run_module("ovn_health", facts_args(lab, "nb", timeout=5))
    assert start["healthy"] is True, start.get("msg")

    # A graceful stop of the leader (ovn-ctl and kube-ovn's pods stop ovsdb-server with `exit`): it
    # transfers leadership first. Started again at once, as a restart does.
    old = lab.leader("nb")
    old_member = info["members"][old]
    oracle.run(oracle.appctl_argv(lab.info(), old_member, "exit", timeout=10))
    lab.restart("nb", old)
    after = settled(lab)
    assert after[0]["term"] == before[0]["term"] + 1
    new = next(i for i, s in enumerate(after) if s["role"] == "leader")
    assert new != old
    # ovs-appctl says why the new leader's election started, and its log says from whom.
    assert last_election_reason(lab, new) == "leadership_transfer"
    with open(lab.member("nb", new)["log_file"]) as handle:
        assert "received leadership transfer from %s" % before[old]["server_id"][:4] in handle.read()

    members = [{"host": "nb-host-%d" % m["index"], "ctl": m["ctl"]} for m in info["members"]]
    window = {"database": "OVN_Northbound", "remote": info["remotes"], "timeout": 10, "window_start": start["facts"]["end"],
              "max_disconnections": 10, "fail_on_unhealthy": False}
    results = run_all([
        {"name": "sockets here", "kubedc.ovn_tuning.ovn_health": dict(
            window, ctl_socket=[m["ctl"] for m in info["members"]])},
        {"name": "transfers counted", "kubedc.ovn_tuning.ovn_health": dict(
            window, ctl_socket=[m["ctl"] for m in info["members"]], count_leadership_transfers=True)},
        {"name": "read the members", "kubedc.ovn_tuning.ovsdb_server_status": {
            "databases": ["OVN_Northbound"], "ctl_sockets": {"OVN_Northbound": "{{ item.ctl }}"}, "timeout": 10},
         "loop": members, "register": "reads"},
        {"name": "member status", "kubedc.ovn_tuning.ovn_health": dict(
            window, member_status="{{ reads | kubedc.ovn_tuning.member_status('OVN_Northbound') }}")},
    ])
    term_before, term_after = before[0]["term"], after[0]["term"]
    new_remote = info["members"][new]["remote"]
    for name in ("sockets here", "member status"):
        result = results[name]
        assert not result["failed"] and result["healthy"] is True, (name, result["failed_gates"])
        assert (result["term_rise"], result["elections"], result["leadership_transfers"]) == (1, 0, 1), name
        gate = next(g for g in result["gates"] if g["name"] == "no_elections")
        assert gate["detail"].startswith("term %d -> %d: 0 election(s) and 1 leadership transfer(s), not counted"
                                         % (term_before, term_after)), gate
        end = result["facts"]["end"]
        leader = next(m for m in end["members"] if m["remote"] == new_remote)
        assert leader["last_election"]["reason"] == "leadership_transfer"
        assert start["facts"]["end"]["collected_at_epoch"] < leader["last_election"]["started_at_epoch"] < \
            end["collected_at_epoch"]
    counted = results["transfers counted"]
    assert counted["healthy"] is False and counted["failed_gates"] == [
        "no_elections: term %d -> %d: 1 election(s) and leadership transfer(s) in %.1f s (limit max_elections=0)"
        % (term_before, term_after, counted["window_seconds"])]

    # A real election: the leader paused past two RAFT probe intervals (election timer + 1000 ms each).
    window_start = results["sockets here"]["facts"]["end"]
    lab.pause("nb", new)
    try:
        time.sleep(PAUSE_SECONDS)
    finally:
        lab.resume("nb", new)
    final = settled(lab)
    result = run_module("ovn_health", dict(window, ctl_socket=[m["ctl"] for m in info["members"]],
                                           window_start=window_start))
    rise = final[0]["term"] - term_after
    assert rise >= 1
    assert result["healthy"] is False
    assert (result["term_rise"], result["elections"], result["leadership_transfers"]) == (rise, rise, 0)
    assert result["failed_gates"] == ["no_elections: term %d -> %d: %d election(s) in %.1f s (limit max_elections=0)"
                                      % (term_after, final[0]["term"], rise, result["window_seconds"])]
    # The member that won says why: a timeout, not a transfer.
    assert [last_election_reason(lab, i) for i, s in enumerate(final) if s["role"] == "leader"] == ["timeout"]


def test_relays_are_judged_as_relays(lab_factory):
    """SB relays (ovsdb-server relay:OVN_Southbound:<the cluster>) read as what they are: no leader of
    their own, healthy while connected to their source, their command-line listeners reported as not
    tunable at run time - and a relay cut from its source fails members_healthy (ovsdb-server 3.1 says
    so after keeping the last state for up to 30 s)."""
    lab = lab_factory(name="relays", databases=("nb", "sb"), sb_relays=2)
    info = lab.info()
    relays = info["sb_relays"]
    args = {"database": "OVN_Southbound", "remote": info["sb_relay_remotes"], "timeout": 10,
            "ctl_socket": [r["ctl"] for r in relays], "fail_on_unhealthy": False,
            "expected_probes": {"inactivity_probe": 5000}}
    # The oracle: ovsdb-client's _Server row and ovs-appctl list-remotes on the relay's host.
    for entry in relays:
        row = server_rows(entry["remote"], "OVN_Southbound")
        assert (row["model"], row["connected"], row["leader"]) == ("relay", True, False)
        remotes = oracle.run(oracle.on_host(info, entry["host"], [
            "ovs-appctl", "-t", entry["host_ctl"], "ovsdb-server/list-remotes"])).split()
        assert "ptcp:6642:0.0.0.0" in remotes and not [r for r in remotes if r.startswith("db:")]

    result = run_module("ovn_health", args)
    assert result["healthy"] is True, result["failed_gates"]
    gates = dict((g["name"], g) for g in result["gates"])
    assert gates["single_leader"]["detail"] == "relay database: no leader of its own (writes go to its source's leader)"
    assert gates["quorum"]["detail"] == "relay database: 2 of 2 relays reachable and connected to their source"
    assert gates["expected_probes"]["passed"]
    end = result["facts"]["end"]
    assert end["summary"]["model"] == "relay"
    for member in end["members"]:
        listener = next(l for l in member["listeners"] if l["remote"] == "ptcp:6642:0.0.0.0")
        assert (listener["source"], listener["tunable"], listener["inactivity_probe_effective"]) == (
            "command_line", False, 5000)
        assert ("%s serves ptcp:6642:0.0.0.0 given on its command line (or in its --config-file): that listener's"
                " inactivity probe is the built-in default and cannot be changed at run time (it is a relay; the"
                " SB_Global rows seen through it are its source's)" % member["remote"]) in result["warnings"]
    # The cluster's own SB_Global row (seen through the relays) does not make the relays' probe 60 s.
    sixty = run_module("ovn_health", dict(args, expected_probes={"inactivity_probe": 60000}))
    assert sixty["healthy"] is False
    assert sixty["failed_gates"] == ["expected_probes: " + "; ".join(
        "inactivity_probe of listener ptcp:6642:0.0.0.0 on %s is set on the command line (5000 ms, the built-in"
        " default) and cannot be tuned, expected 60000" % r["remote"] for r in relays)]

    # Cut the cluster off: the relays keep serving, and after a while say they lost their source.
    central = [h["name"] for h in info["hosts"] if h["kind"] == "central"]
    for name in central:
        lab.partition(name)
    try:
        deadline = time.monotonic() + 60
        while server_rows(relays[0]["remote"], "OVN_Southbound")["connected"]:
            assert time.monotonic() < deadline, "the relay still says it is connected to its source"
            time.sleep(1)
        cut = run_module("ovn_health", dict(args, expected_probes=None))
    finally:
        for name in central:
            lab.heal(name)
    assert cut["healthy"] is False
    members = dict((g["name"], g) for g in cut["gates"])["members_healthy"]
    assert not members["passed"]
    assert "%s says (_Server) it is not connected to its source" % relays[0]["remote"] in members["detail"]
