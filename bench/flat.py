"""Benchmark 2: a module run costs the same whatever the size of the NB database.

One ovn_global_options run (read NB_Global.options, write northd_probe_interval, read back), as its own
process, against two one-member NB clusters: one empty, one holding N logical switch ports (inserted in
big JSON-RPC transactions). The runs alternate between the two, so both sizes see the same machine.
Wall time and peak memory (ru_maxrss of the module process) are compared, and so are the bytes the
client receives for the same read (the ports must never cross the wire).
"""

import os
import time

from common import BenchError, median, run_module_process, summary, tool
from ovnlab import Lab, rpc

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_client

BATCH = 50000
TABLES = {"NB_Global": ["options"]}


def _module_run(remote, value, label):
    run = run_module_process("ovn_global_options", {
        "database": "OVN_Northbound", "remote": remote, "timeout": 60,
        "options": {"northd_probe_interval": value}})
    result = run["result"]
    if run["rc"] != 0 or result.get("failed"):
        raise BenchError("ovn_global_options failed at %s: %s" % (label, result.get("msg")))
    if not result.get("changed"):
        raise BenchError("ovn_global_options did not write at %s" % label)
    return run


def _interleaved_runs(remotes, trials, log):
    """`trials` module runs against each database, alternating between them (and the order in each
    pair), so that both sizes see the same machine. One warm-up pair first, not counted."""
    runs = dict((label, {"seconds": [], "maxrss_kb": []}) for label in remotes)
    labels = sorted(remotes)
    for trial in range(trials + 1):
        order = labels if trial % 2 == 0 else list(reversed(labels))
        value = 60000 + 1000 * (trial % 2)
        for label in order:
            run = _module_run(remotes[label], value, label)
            if trial:
                runs[label]["seconds"].append(run["seconds"])
                runs[label]["maxrss_kb"].append(run["maxrss_kb"])
    for label in labels:
        figures = runs[label]
        figures["seconds_summary"] = summary(figures["seconds"])
        figures["maxrss_kb_median"] = median(figures["maxrss_kb"])
        figures["seconds"] = [round(value, 4) for value in figures["seconds"]]
        log("module runs at %s: median %.3f s, peak RSS median %d kB"
            % (label, figures["seconds_summary"]["p50"], figures["maxrss_kb_median"]))
    return runs


def _client_bytes(remote):
    with ovsdb_client.OvsdbClient(remote, "OVN_Northbound", TABLES, timeout=60) as client:
        return client.idl._session.rpc.get_received_bytes()  # pylint: disable=protected-access


def _server_rss_kb(pid):
    with open("/proc/%d/status" % pid) as handle:
        return int(next(line.split()[1] for line in handle if line.startswith("VmRSS:")))


def _insert_ports(remote, ports, log):
    started = time.monotonic()
    inserted = 0
    batch_number = 0
    while inserted < ports:
        count = min(BATCH, ports - inserted)
        operations = [{"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p%d" % i,
                       "row": {"name": "bench-lsp-%d-%d" % (batch_number, i)}} for i in range(count)]
        operations.append({"op": "insert", "table": "Logical_Switch", "row": {
            "name": "bench-ls-%d" % batch_number,
            "ports": ["set", [["named-uuid", "p%d" % i] for i in range(count)]]}})
        rpc.transact(remote, "OVN_Northbound", operations, timeout=600)
        inserted += count
        batch_number += 1
    log("inserted %d logical switch ports in %.1f s" % (inserted, time.monotonic() - started))


def _count_ports(remote):
    rows = rpc.select(remote, "OVN_Northbound", "Logical_Switch", columns=["ports"], timeout=300)
    return sum(len(row["ports"][1]) if row["ports"][0] == "set" else 1 for row in rows)


def _nb_lab(workdir, name):
    return Lab(workdir=os.path.join(workdir, name), name=name, databases=("nb",), members=1, start_timeout=60)


def run_flat(workdir, trials, ports, log):
    with _nb_lab(workdir, "bench-flat-empty") as empty_lab, _nb_lab(workdir, "bench-flat-full") as full_lab:
        empty_member = empty_lab.info()["nb"]["members"][0]
        full_member = full_lab.info()["nb"]["members"][0]
        _insert_ports(full_member["remote"], ports, log)
        counted = _count_ports(full_member["remote"])
        if counted != ports or _count_ports(empty_member["remote"]) != 0:
            raise BenchError("the NB databases hold %d and %d ports, not %d and 0"
                             % (counted, _count_ports(empty_member["remote"]), ports))
        # Compact now, so that the server does not snapshot the big log in the middle of the runs.
        tool(["ovs-appctl", "--timeout=300", "-t", full_member["ctl"], "ovsdb-server/compact", "OVN_Northbound"],
             timeout=330)
        runs = _interleaved_runs({"0 ports": empty_lab.info()["nb"]["remotes"],
                                  "%d ports" % ports: full_lab.info()["nb"]["remotes"]}, trials, log)
        empty, full = runs["0 ports"], runs["%d ports" % ports]
        empty_bytes = _client_bytes(empty_lab.info()["nb"]["remotes"])
        full_bytes = _client_bytes(full_lab.info()["nb"]["remotes"])
        empty_server_kb = _server_rss_kb(empty_member["pid"])
        full_server_kb = _server_rss_kb(full_member["pid"])
    time_ratio = round(full["seconds_summary"]["p50"] / empty["seconds_summary"]["p50"], 3)
    rss_ratio = round(full["maxrss_kb_median"] / float(empty["maxrss_kb_median"]), 3)
    bytes_ratio = round(full_bytes / float(empty_bytes), 3)
    table = [
        "| NB database | module wall time p50 (s) | p95 (s) | module peak RSS (MiB) | bytes the client receives"
        " | ovsdb-server RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
        "| 0 ports | %.3f | %.3f | %.1f | %d | %.0f |" % (
            empty["seconds_summary"]["p50"], empty["seconds_summary"]["p95"], empty["maxrss_kb_median"] / 1024.0,
            empty_bytes, empty_server_kb / 1024.0),
        "| %s ports | %.3f | %.3f | %.1f | %d | %.0f |" % (
            "{:,}".format(ports), full["seconds_summary"]["p50"], full["seconds_summary"]["p95"],
            full["maxrss_kb_median"] / 1024.0, full_bytes, full_server_kb / 1024.0),
        "",
        "Ratios (%s ports / 0 ports, %d runs each, alternating): wall time p50 %.2f (target <= 1.2), peak RSS %.2f,"
        " bytes %.2f."
        % ("{:,}".format(ports), trials, time_ratio, rss_ratio, bytes_ratio),
    ]
    return {
        "id": 2, "title": "Flat in database size",
        "summary": {"ports": ports, "wall_time_ratio_p50": time_ratio, "target_met": time_ratio <= 1.2,
                    "peak_rss_ratio": rss_ratio, "client_bytes_ratio": bytes_ratio},
        "table": table,
        "details": {"empty": empty, "full": full, "client_bytes": {"empty": empty_bytes, "full": full_bytes},
                    "server_rss_kb": {"empty": empty_server_kb, "full": full_server_kb}},
    }
