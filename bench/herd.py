"""Benchmark 5: no thundering herd.

N clients, one process each, connected to one server (the single NB member of a lab host,
docs/lab.md, reached over the lab's network); the server is killed and started again after each
outage of a sweep (0.5 to 7.5 s by default). Every connection attempt (each call of ovs.stream.Stream.open, which both libraries make
once per attempt) is timestamped with the system's monotonic clock.

- ours: this collection's OvsdbClient with the modules' defaults (backoff_initial 1 s, backoff_max 30 s):
  reconnecting with connect() once its session drops, its first attempt after a pause drawn from
  [0, 3 s], then a pause drawn from [2 s, 3 s] between attempts (ovsdb_base.Backoff);
- ovs.reconnect: an ovs.db.idl.Idl, whose session reconnects with the library's defaults (1 s,
  doubling up to 8 s, no jitter), as OVN's Python tools use it.

Reported: attempts per 100 ms from the kill, and the most attempts within any 100 ms as a share of
the clients - over every attempt, and over the attempts made once the server listened again (those
land on the restarted server).
"""

import multiprocessing
import os
import queue
import socket
import time

import ovs.db.idl
import ovs.poller
import ovs.stream

from common import BenchError, summary
from ovnlab import Lab

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_base, ovsdb_client

BUCKET_SECONDS = 0.1
DOWN_SECONDS = 1.5
# The outages measured (seconds the server stays down): a fixed schedule's luck depends on where the
# outage ends (ovs.reconnect tries at +1, +3, +7, +15 s: just after a 1.5 s outage, long after a 3.5 s
# one), so the full run sweeps them (bench/run.py --outages).
OUTAGES = (0.5, 1.5, 2.5, 3.5, 5.0, 7.5)
RECONNECT_DEADLINE = 45.0
NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema"


def _record_attempts(remote, attempts):
    """Append the time of every connection attempt to `remote` (in this process) to `attempts`."""
    original = ovs.stream.Stream.open

    def open_and_log(name, *args, **kwargs):
        if name == remote:
            attempts.append(time.monotonic())
        return original(name, *args, **kwargs)

    ovs.stream.Stream.open = staticmethod(open_and_log)


def _wait(poll_object, milliseconds):
    poller = ovs.poller.Poller()
    poll_object.wait(poller)
    poller.timer_wait(milliseconds)
    poller.block()


def _our_client(remote, ready, results, deadline):
    """One client of this collection's library: connect, and once the session drops, connect()
    again (attempts spaced by its jittered backoff)."""
    attempts = []
    _record_attempts(remote, attempts)
    report = {"attempts": [], "reconnected": None, "error": None}
    client = ovsdb_client.OvsdbClient(remote, "OVN_Northbound", {"NB_Global": ["options"]}, timeout=30,
                                      probe_interval_ms=5000, backoff=ovsdb_base.Backoff(1.0, maximum=30.0))
    try:
        client.connect()
        ready.put(os.getpid())
        while client.is_connected() and time.monotonic() < deadline:
            client.idl.run()
            _wait(client.idl, 100)
        dropped_at = time.monotonic()
        client.connect(ovsdb_base.Deadline(max(1.0, deadline - time.monotonic()), "reconnecting"))
        report["reconnected"] = time.monotonic()
        report["attempts"] = [t for t in attempts if t >= dropped_at]
    except ovsdb_base.OvsdbError as exc:
        report["error"] = str(exc)
        report["attempts"] = attempts
    finally:
        client.close()
        results.put(report)


def _ovs_client(remote, ready, results, deadline):
    """One client of the ovs library as OVN's Python tools use it: an Idl, whose session reconnects
    with ovs.reconnect's defaults (1 s, doubling up to 8 s, no jitter)."""
    attempts = []
    _record_attempts(remote, attempts)
    report = {"attempts": [], "reconnected": None, "error": None}
    helper = ovs.db.idl.SchemaHelper(location=NB_SCHEMA)
    helper.register_columns("NB_Global", ["options"])
    idl = ovs.db.idl.Idl(remote, helper)
    try:
        while not (idl.state == idl.IDL_S_MONITORING and idl.has_ever_connected()):
            if time.monotonic() > deadline:
                raise BenchError("never connected")
            idl.run()
            _wait(idl, 100)
        ready.put(os.getpid())
        while idl._session.is_connected() and time.monotonic() < deadline:  # pylint: disable=protected-access
            idl.run()
            _wait(idl, 100)
        dropped_at = time.monotonic()
        seqno = idl._session.get_seqno()  # pylint: disable=protected-access
        while time.monotonic() < deadline:
            idl.run()
            session = idl._session  # pylint: disable=protected-access
            if session.is_connected() and session.get_seqno() != seqno and idl.state == idl.IDL_S_MONITORING:
                report["reconnected"] = time.monotonic()
                break
            _wait(idl, 20)
        if report["reconnected"] is None:
            report["error"] = "did not reconnect before the deadline"
        report["attempts"] = [t for t in attempts if t >= dropped_at]
    except BenchError as exc:
        report["error"] = str(exc)
    finally:
        idl.close()
        results.put(report)


def _outage_with_clients(server, client, clients, log, name, down_seconds=DOWN_SECONDS):
    """Start the clients (one process each), wait until all are connected, kill the server, start it
    again ``down_seconds`` later and collect what every client saw."""
    context = multiprocessing.get_context("fork")
    ready, results = context.Queue(), context.Queue()
    deadline = time.monotonic() + 120 + RECONNECT_DEADLINE
    processes = [context.Process(target=client, args=(server.remote, ready, results, deadline), daemon=True)
                 for _client in range(clients)]
    reports = []
    try:
        for process in processes:
            process.start()
        for _client in range(clients):
            ready.get(timeout=max(1.0, deadline - RECONNECT_DEADLINE - time.monotonic()))
        killed_at = time.monotonic()
        server.kill()
        time.sleep(down_seconds)
        listening_at = server.start()
        for _client in range(clients):
            reports.append(results.get(timeout=max(1.0, deadline + 15 - time.monotonic())))
    except queue.Empty:
        raise BenchError("%s: %d of %d clients reported" % (name, len(reports), clients))
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    attempts = sorted(t for report in reports for t in report["attempts"])
    reconnected = [report["reconnected"] for report in reports if report["reconnected"] is not None]
    errors = [report["error"] for report in reports if report["error"]]
    log("%s (down %.1f s): %d attempts, %d of %d reconnected"
        % (name, down_seconds, len(attempts), len(reconnected), clients))
    return {"killed_at": killed_at, "listening_at": listening_at, "attempts": attempts,
            "reconnected": reconnected, "errors": errors}


class LabServer:
    """One NB server on a lab host of its own (a 1-member cluster, its listener ptcp:6641:0.0.0.0).
    Killed and started again by this benchmark through the lab, which only ever signals its own
    processes; the lab is stopped on exit."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.lab = None
        self.address = None
        self.port = 6641

    @property
    def remote(self):
        return "tcp:%s:%d" % (self.address, self.port)

    def __enter__(self):
        self.lab = Lab(workdir=self.workdir, name="bench-herd", members=1, databases=("nb",))
        self.lab.start()
        self.address = self.lab.member("nb", 0)["address"]
        return self

    def __exit__(self, *exc_info):
        if self.lab is not None:
            self.lab.stop()
            self.lab = None

    def start(self, timeout=30.0):
        """Start the server again; the moment it accepts connections."""
        self.lab.restart("nb", 0, wait=False)
        deadline = time.monotonic() + timeout
        while not self.listening():
            if time.monotonic() > deadline:
                raise BenchError("ovsdb-server did not listen on %s; see %s"
                                 % (self.remote, self.lab.member("nb", 0)["log_file"]))
            time.sleep(0.002)
        return time.monotonic()

    def listening(self):
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.05)
        try:
            probe.connect((self.address, self.port))
            return True
        except OSError:
            return False
        finally:
            probe.close()

    def kill(self):
        self.lab.kill("nb", 0)


def _histogram(times, origin):
    buckets = {}
    for moment in times:
        bucket = int((moment - origin) / BUCKET_SECONDS)
        buckets[bucket] = buckets.get(bucket, 0) + 1
    return buckets


def _describe(outage, clients):
    origin = outage["killed_at"]
    listening = outage["listening_at"] - origin
    all_buckets = _histogram(outage["attempts"], origin)
    after = [t for t in outage["attempts"] if t >= outage["listening_at"]]
    reconnect_seconds = [t - outage["listening_at"] for t in outage["reconnected"]]

    def peak(times):
        """The most attempts within any 100 ms window (windows start at an attempt)."""
        best, best_start, first = 0, None, 0
        for last, moment in enumerate(times):
            while moment - times[first] > BUCKET_SECONDS:
                first += 1
            if last - first + 1 > best:
                best, best_start = last - first + 1, times[first]
        return {"window_start_s": None if best_start is None else round(best_start - origin, 2),
                "attempts": best, "share_of_clients": round(best / float(clients), 3)}

    return {
        "clients": clients,
        "server_listening_after_s": round(listening, 2),
        "attempts": len(outage["attempts"]),
        "attempts_after_listening": len(after),
        "peak_all": peak(outage["attempts"]),
        "peak_after_listening": peak(after),
        "reconnected": len(outage["reconnected"]),
        "reconnect_after_listening_s": summary(reconnect_seconds),
        "histogram_100ms": dict((str(key), value) for key, value in sorted(all_buckets.items())),
        "errors": outage["errors"][:5],
    }


def _sparkline(histogram, until_bucket):
    marks = " .:-=+*#%@"
    peak = max(histogram.values()) if histogram else 1
    return "".join(marks[min(len(marks) - 1, -(-histogram.get(str(bucket), 0) * (len(marks) - 1) // peak))]
                   for bucket in range(until_bucket))


def run_herd(workdir, clients, log, outages=OUTAGES):
    """Benchmark 5: each outage of ``outages`` (seconds the server stays down), for our client and
    for ovs.reconnect, one after the other on the same server."""
    measured = []
    with LabServer(os.path.join(workdir, "herd")) as server:
        for down in outages:
            measured.append((down, {
                "ours": _describe(_outage_with_clients(server, _our_client, clients, log, "ours", down), clients),
                "ovs.reconnect": _describe(_outage_with_clients(server, _ovs_client, clients, log, "ovs.reconnect",
                                                                down), clients)}))
    for down, results in measured:
        for name, result in results.items():
            if result["reconnected"] < clients:
                raise BenchError("%s (down %.1f s): only %d of %d clients reconnected: %s"
                                 % (name, down, result["reconnected"], clients, result["errors"]))
    first_down, first = measured[0]
    ours, theirs = first["ours"], first["ovs.reconnect"]
    span = max(int(max([float(k) for k in ours["histogram_100ms"]] + [float(k) for k in theirs["histogram_100ms"]]
                       + [0])) + 1, 1)
    span = min(span, 120)
    table = [
        "| server down (s) | library | attempts | most attempts in 100 ms | the same, once the server listens"
        " | reconnected p50 / p95 after it listens (s) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    per_outage = []
    for down, results in measured:
        for title, result in (("ours (spread, capped jittered pause)", results["ours"]),
                              ("ovs.reconnect default (no jitter)", results["ovs.reconnect"])):
            table.append("| %.2f | %s | %d | %d (%.0f %%) at %.1f s | %d (%.0f %%) at %.1f s | %.2f / %.2f |" % (
                result["server_listening_after_s"], title, result["attempts"],
                result["peak_all"]["attempts"], 100 * result["peak_all"]["share_of_clients"],
                result["peak_all"]["window_start_s"] or 0.0,
                result["peak_after_listening"]["attempts"], 100 * result["peak_after_listening"]["share_of_clients"],
                result["peak_after_listening"]["window_start_s"] or 0.0,
                result["reconnect_after_listening_s"].get("p50", 0.0),
                result["reconnect_after_listening_s"].get("p95", 0.0)))
        per_outage.append({
            "down_s": down,
            "ours_peak_share_all": results["ours"]["peak_all"]["share_of_clients"],
            "ours_peak_share_after_listening": results["ours"]["peak_after_listening"]["share_of_clients"],
            "ours_reconnect_p95_s": results["ours"]["reconnect_after_listening_s"].get("p95"),
            "ovs_reconnect_p95_s": results["ovs.reconnect"]["reconnect_after_listening_s"].get("p95")})
    not_worse = [o["down_s"] for o in per_outage if o["ours_reconnect_p95_s"] <= o["ovs_reconnect_p95_s"]]
    table += [
        "",
        "%d clients. Our p95 after the server listens is no worse than ovs.reconnect's after %s of the %d outages"
        " (%s); our busiest 100 ms held %.0f-%.0f %% of the clients over all attempts, ovs.reconnect's %.0f-%.0f %%."
        % (clients, len(not_worse), len(per_outage), ", ".join("%.1f s" % d for d in not_worse) or "none",
           100 * min(o["ours_peak_share_all"] for o in per_outage),
           100 * max(o["ours_peak_share_all"] for o in per_outage),
           100 * min(r["ovs.reconnect"]["peak_all"]["share_of_clients"] for _d, r in measured),
           100 * max(r["ovs.reconnect"]["peak_all"]["share_of_clients"] for _d, r in measured)),
        "",
        "Attempts per 100 ms from the kill, %.1f s outage (one character per bucket, scaled to each row's peak):"
        % first_down,
        "",
        "```",
        "ours           |%s|" % _sparkline(ours["histogram_100ms"], span),
        "ovs.reconnect  |%s|" % _sparkline(theirs["histogram_100ms"], span),
        "```",
    ]
    return {"id": 5, "title": "No thundering herd", "table": table,
            # The ours_*/ovs_* figures are the first outage's (first_outage_s); per_outage has them all.
            "summary": {"clients": clients, "outages_s": [down for down, _r in measured], "first_outage_s": first_down,
                        "ours_peak_share_all": ours["peak_all"]["share_of_clients"],
                        "ours_peak_share_after_listening": ours["peak_after_listening"]["share_of_clients"],
                        "ovs_peak_share_all": theirs["peak_all"]["share_of_clients"],
                        "ovs_peak_share_after_listening": theirs["peak_after_listening"]["share_of_clients"],
                        "ours_reconnect_p95_s": ours["reconnect_after_listening_s"].get("p95"),
                        "ovs_reconnect_p95_s": theirs["reconnect_after_listening_s"].get("p95"),
                        "ours_worst_peak_share_all": max(o["ours_peak_share_all"] for o in per_outage),
                        "outages_where_ours_p95_is_not_worse": not_worse,
                        "per_outage": per_outage},
            "details": {"ours": ours, "ovs_reconnect": theirs,
                        "outages": [{"down_seconds": down, "ours": results["ours"],
                                     "ovs_reconnect": results["ovs.reconnect"]} for down, results in measured]}}
