"""The tests' independent oracles: the OVS/OVN command-line tools, run here or as command tasks.

ovn-nbctl, ovn-sbctl and ovs-vsctl make one connection attempt per remote and exit with
"database connection failed" when none of them answers as leader at that moment - which a
3-member cluster with the incident's 1 s election timer does for a moment whenever it elects a
new leader under load. Such a read says nothing about the state being checked, so it is repeated
(at most READ_ATTEMPTS times, a second apart). Every other failure fails the test at once.
"""

import json
import subprocess
import time

# What the CLIs print when no remote was usable (no leader, or none reachable) in this attempt.
TRANSIENT = "database connection failed"
READ_ATTEMPTS = 5
READ_PAUSE = 1.0


def transient(stderr):
    return TRANSIENT in (stderr or "")


def attempt(argv, timeout=60):
    """Run one CLI command once, whatever its outcome: its CompletedProcess (stdout and stderr as
    text). For a poll that expects failures for a while; ``run`` for a read that must succeed."""
    return subprocess.run([str(arg) for arg in argv], capture_output=True, text=True, check=False,
                          timeout=timeout)


def run(argv, timeout=60):
    """Run one CLI command; its stdout. Retries a transient "no leader" failure; asserts success."""
    argv = [str(arg) for arg in argv]
    for attempt_number in range(1, READ_ATTEMPTS + 1):
        done = attempt(argv, timeout=timeout)
        if done.returncode == 0:
            return done.stdout
        if not transient(done.stderr) or attempt_number == READ_ATTEMPTS:
            break
        time.sleep(READ_PAUSE)
    raise AssertionError("%s failed (attempt %d of %d): %s" % (
        " ".join(argv), attempt_number, READ_ATTEMPTS, done.stderr or done.stdout))


# The northbound and southbound CLIs, by the lab's key of the database.
CTL = {"nb": "ovn-nbctl", "sb": "ovn-sbctl"}


def ctl_argv(db, remote, *args, **options):
    """ovn-nbctl (``db`` "nb") or ovn-sbctl ("sb") against ``remote`` (one remote, or a cluster's
    comma-separated list), with --timeout (``timeout``, default 20 s)."""
    return [CTL[db], "--timeout=%d" % options.get("timeout", 20), "--db=" + remote] + list(args)


def dbctl(db, remote, *args, **options):
    """``ctl_argv`` run here with ``run``; its stdout, stripped."""
    return run(ctl_argv(db, remote, *args, **options)).strip()


def nbctl(remote, *args, **options):
    """ovn-nbctl against ``remote``, as ``dbctl``."""
    return dbctl("nb", remote, *args, **options)


def sbctl(remote, *args, **options):
    """ovn-sbctl against ``remote``, as ``dbctl``."""
    return dbctl("sb", remote, *args, **options)


def transact(remote, database, *operations, **options):
    """ovsdb-client transact of ``operations`` on ``database`` at ``remote`` (--timeout ``timeout``,
    default 20 s); the parsed reply. Asserts that the transaction and each operation succeeded."""
    reply = run(["ovsdb-client", "--timeout=%d" % options.get("timeout", 20), "transact", remote,
                 json.dumps([database] + list(operations))])
    assert '"error"' not in reply, reply
    return json.loads(reply)


class Reader(object):
    """An independent read of the database: CLI commands and a parser of their outputs (a list, one
    stdout per command). Called directly it runs the commands here; ``tasks`` runs them as command
    tasks inside a playbook, between module runs, and ``from_records`` parses what those tasks printed."""

    def __init__(self, argvs, parse):
        self.argvs = argvs
        self.parse = parse

    def __call__(self):
        return self.parse([run(argv) for argv in self.argvs])

    def tasks(self, label):
        return [command_task("%s %d" % (label, index), argv) for index, argv in enumerate(self.argvs)]

    def from_records(self, records, label):
        outputs = []
        for index in range(len(self.argvs)):
            record = records["%s %d" % (label, index)]
            assert record["status"] == "ok", record["result"]
            outputs.append(record["result"]["stdout"])
        return self.parse(outputs)


def command_task(name, argv):
    """The same read as an ansible.builtin.command task inside a playbook (never a change, also
    in check mode), repeated on the same transient failure as ``run``."""
    return {"name": name, "ansible.builtin.command": {"argv": [str(arg) for arg in argv]},
            "check_mode": False, "changed_when": False, "register": "oracle_read",
            "retries": READ_ATTEMPTS - 1, "delay": int(READ_PAUSE),
            "until": "oracle_read.rc == 0 or '%s' not in oracle_read.stderr" % TRANSIENT}


def on_host(lab_info, host_name, argv):
    """argv run inside a lab host (its network, mount and UTS namespaces), where that host's
    control sockets and local databases are: as an operator on that node would run it."""
    host = next(host for host in lab_info["hosts"] if host["name"] == host_name)
    return list(host["enter"]) + [str(arg) for arg in argv]


def appctl_argv(lab_info, member, *args, **options):
    """ovs-appctl on a member's host, against its control socket at the standard path."""
    return on_host(lab_info, member["host"], ["ovs-appctl", "--timeout=%d" % options.get("timeout", 20),
                                              "-t", member["host_ctl"]] + list(args))


def vsctl_argv(lab_info, chassis, *args, **options):
    """ovs-vsctl on a chassis host, against its local Open_vSwitch database."""
    return on_host(lab_info, chassis["host"], ["ovs-vsctl", "--no-wait", "--timeout=%d" % options.get("timeout", 20)]
                   + list(args))
