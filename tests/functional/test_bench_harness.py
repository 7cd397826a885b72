"""Smoke test of the benchmark harness (bench/run.py): the structure of its reports, never its times."""

import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(REPO_ROOT, "bench", "run.py")


def bench(*args, timeout=300):
    return subprocess.run([sys.executable, RUN] + list(args), capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT, check=False)


def test_herd_benchmark_writes_a_markdown_and_a_json_report(tmp_path):
    done = bench("--only", "5", "--quick", "--results-dir", str(tmp_path), "--no-docs")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(tmp_path / "latest.json") as handle:
        report = json.load(handle)
    assert report["selected"] == [5]
    assert report["options"]["quick"] is True and report["options"]["clients"] == 10
    for key in ("nproc", "memory_gib", "cpu_model", "ovsdb_server", "ovn", "ovs", "ansible_core"):
        assert report["machine"][key], key
    herd = report["benchmarks"]["5"]
    assert "error" not in herd, herd.get("error")
    for library in ("ours", "ovs_reconnect"):
        details = herd["details"][library]
        assert details["clients"] == 10
        assert details["reconnected"] == 10, details["errors"]
        # Every client tried at least once after the kill, and the histogram holds every attempt.
        assert details["attempts"] >= 10
        assert sum(details["histogram_100ms"].values()) == details["attempts"]
        assert 0 < details["peak_all"]["share_of_clients"] <= details["attempts"] / 10.0
    assert set(herd["summary"]) >= {"ours_peak_share_after_listening", "ovs_peak_share_after_listening"}
    markdown = (tmp_path / "latest.md").read_text()
    assert "### 5. No thundering herd" in markdown
    assert "ovs.reconnect default (no jitter)" in markdown
    stamped = [name for name in os.listdir(tmp_path) if name.endswith(".md") and name != "latest.md"]
    assert len(stamped) == 1


def test_bad_options_are_refused_before_anything_runs(tmp_path):
    for args, words in ((["--only", "8"], "--only"), (["--trials", "0"], "--trials"),
                        (["--window", "5"], "--window"), (["--outages", "1.5,0"], "--outages"),
                        (["--outages", "soon"], "--outages")):
        done = bench(*(args + ["--results-dir", str(tmp_path)]), timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr, (args, done.stderr)
    assert os.listdir(tmp_path) == []
