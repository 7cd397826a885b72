"""Shared pieces of the benchmarks: paths, statistics, running a module as its own process, and
putting the lab back to the incident's settings."""

import json
import os
import resource
import subprocess
import sys
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
COLLECTIONS_DIR = os.path.join(REPO_ROOT, ".build", "collections")
MODULES_DIR = os.path.join(COLLECTIONS_DIR, "ansible_collections", "kubedc", "ovn_tuning", "plugins", "modules")

for _path in (COLLECTIONS_DIR, os.path.join(REPO_ROOT, "tests", "lab"), os.path.join(REPO_ROOT, "tests"), BENCH_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from ovnlab.deployment import descriptor  # noqa: E402 pylint: disable=wrong-import-position

# The incident's aggressive settings the lab starts with, and the tuning applied to it.
INCIDENT_SETTINGS = {"inactivity_probe_ms": 5000, "northd_probe_ms": 5000, "chassis_probe_ms": 5000,
                     "election_timer_ms": 1000}
TUNED = {"listener_probe": 60000, "northd_probe": 60000, "chassis_probe": 300000, "election_timer": 16000}


class BenchError(Exception):
    pass


def percentile(values, fraction):
    """Nearest-rank percentile (no interpolation): an observed value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values):
    return percentile(values, 0.5)


def summary(values, digits=3):
    if not values:
        return {"n": 0}
    return {"n": len(values), "min": round(min(values), digits), "p50": round(percentile(values, 0.5), digits),
            "p95": round(percentile(values, 0.95), digits), "max": round(max(values), digits)}


def ensure_collection_link():
    """The collection under .build/collections (what `make link` creates)."""
    link = os.path.join(COLLECTIONS_DIR, "ansible_collections", "kubedc", "ovn_tuning")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join("..", "..", "..", ".."), link)


# Runs one command and reports its wall time and ru_maxrss (wait4) on its last stderr line. It is a
# small process of its own: a child's ru_maxrss also counts the memory of the process that forked it
# (until exec), so forking modules straight from a benchmark that holds 200,000 rows in memory would
# report the benchmark's size, not the module's.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.monotonic()
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
deadline = started + float(sys.argv[1])
while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() > deadline:
        child.kill()
        pid, status, usage = os.wait4(child.pid, 0)
        break
    time.sleep(0.002)
sys.stderr.write(json.dumps({"seconds": time.monotonic() - started, "maxrss_kb": usage.ru_maxrss,
                             "rc": os.waitstatus_to_exitcode(status)}) + "\\n")
"""


def run_module_process(module, args, timeout=120.0):
    """Run one of the collection's modules as its own Python process, as Ansible runs it on the
    target (the module file with its arguments in a JSON file), without Ansible around it.

    Returns {"seconds": wall time of the module process, "maxrss_kb": its peak RSS (wait4),
    "rc", "result"}.
    """
    path = os.path.join(MODULES_DIR, module + ".py")
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="bench-args-", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        args_file = handle.name
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_DIR)
    try:
        done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(timeout), sys.executable, path, args_file],
                              capture_output=True, text=True, env=env, timeout=timeout + 30, check=False)
    finally:
        os.unlink(args_file)
    try:
        measured = json.loads(done.stderr.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError("launching module %s failed: %s" % (module, done.stderr[-2000:]))
    if measured["rc"] == -9:
        raise BenchError("module %s did not finish within %g s" % (module, timeout))
    text = done.stdout
    try:
        result = json.loads(text[text.index("{"):])
    except ValueError:
        result = {"failed": True, "msg": "no JSON result: " + (text + done.stderr)[-2000:]}
    return dict(measured, result=result)


def self_maxrss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def tool(argv, timeout=30):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise BenchError("%s failed: %s" % (" ".join(argv), done.stderr.strip() or done.stdout.strip()))
    return done.stdout.strip()


def reset_to_incident_settings(lab):
    """Put a lab (started with INCIDENT_SETTINGS) back to them with the CLIs, after a tuning run."""
    info = lab.info()
    for key, cli in (("nb", "ovn-nbctl"), ("sb", "ovn-sbctl")):
        remotes = info[key]["remotes"]
        uuids = tool([cli, "--timeout=30", "--db=" + remotes, "--bare", "--columns=_uuid", "list", "Connection"]).split()
        for uuid in uuids:
            tool([cli, "--timeout=30", "--db=" + remotes, "set", "Connection", uuid,
                  "inactivity_probe=%d" % INCIDENT_SETTINGS["inactivity_probe_ms"]])
        lab.change_election_timer(key, INCIDENT_SETTINGS["election_timer_ms"], timeout=60)
    tool(["ovn-nbctl", "--timeout=30", "--db=" + info["nb"]["remotes"], "set", "NB_Global", ".",
          "options:northd_probe_interval=%d" % INCIDENT_SETTINGS["northd_probe_ms"]])
    for chassis in info["chassis"]:
        tool(["ovs-vsctl", "--no-wait", "--timeout=30", "--db=" + chassis["ovs_remote"], "set", "Open_vSwitch", ".",
              "external_ids:ovn-remote-probe-interval=%d" % INCIDENT_SETTINGS["chassis_probe_ms"]])


def lab_inventory(labs, path):
    """An inventory (as lab.yml writes it) with one host per lab: groups ovn_staging (first lab)
    and ovn_production (the others)."""
    groups = {"ovn_staging": {"hosts": {}}, "ovn_production": {"hosts": {}}}
    for number, lab in enumerate(labs):
        info = lab.info()
        group = "ovn_staging" if number == 0 else "ovn_production"
        groups[group]["hosts"][info["name"]] = {"ovn_deployment": descriptor(info)}
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": groups}}
    with open(path, "w") as handle:
        json.dump(inventory, handle, indent=2)
    return path


def machine():
    """The machine and the versions the figures were measured with."""
    def first_line(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout.splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    cpu_model = "unknown"
    memory_kb = 0
    try:
        with open("/proc/cpuinfo") as handle:
            cpu_model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                             "unknown")
        with open("/proc/meminfo") as handle:
            memory_kb = int(next(line.split()[1] for line in handle if line.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        pass
    try:
        import ansible.release  # pylint: disable=import-outside-toplevel
        ansible_core = ansible.release.__version__
    except ImportError:
        ansible_core = "not installed"
    try:
        from importlib.metadata import version  # pylint: disable=import-outside-toplevel
        ovs_python = version("ovs")
    except Exception:  # pylint: disable=broad-except
        ovs_python = "unknown"
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024.0 / 1024.0, 1),
        "cpu_model": cpu_model,
        "kernel": os.uname().release,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "ovsdb_server": first_line(["ovsdb-server", "--version"]),
        "ovn": first_line(["ovn-northd", "--version"]),
        "ovs": first_line(["ovs-vsctl", "--version"]),
        "ansible_core": ansible_core,
        "python": sys.version.split()[0],
        "ovs_python_package": ovs_python,
    }
