"""Shared by the rollout tests (test_rollout*.py): the playbooks, the profile values the labs start
with and end with, running the rollout, the CLI oracles of a deployment's state, and reading a run's
task records.
"""

import contextlib
import copy
import glob
import json
import os
import re

import yaml

from ovnlab import Lab, deployment
from ovnlab.inventory import inventory as inventory_of
from support import oracle
from support.ansible_run import REPO_ROOT, run_playbook

from ansible_collections.kubedc.ovn_tuning.plugins.filter.tuning_profile import (
    normalize_profile, profile_checksum)

PLAYBOOKS = os.path.join(REPO_ROOT, "playbooks")
ROLLOUT = os.path.join(PLAYBOOKS, "rollout.yml")
ROLLBACK = os.path.join(PLAYBOOKS, "rollback.yml")
HEALTH = os.path.join(PLAYBOOKS, "health.yml")
SNAPSHOT = os.path.join(PLAYBOOKS, "snapshot.yml")
LAB_PLAYBOOK = os.path.join(PLAYBOOKS, "lab.yml")

PROFILE_OVERRIDES = {"nb_election_timer": "2s"}
TUNED = {"nb_listener_probe": 60000, "sb_listener_probe": 60000, "northd_probe_interval": "60000",
         "chassis_probe": "300000", "nb_election_timer": 2000}
INITIAL = {"nb_listener_probe": 5000, "sb_listener_probe": 5000, "northd_probe_interval": "5000",
           "chassis_probe": "5000", "nb_election_timer": 1000}
# Modules that write to a database; a converged rollout must run none of them with a change.
WRITING_ACTIONS = ("ovsdb_connection", "ovn_global_options", "ovn_chassis_probe", "ovsdb_election_timer",
                   "ovn_central_env", "ovs_ovn_env")
PLAYBOOK_TIMEOUT = 1200


def incident_lab(name, members=3, chassis=1, northd=False):
    """A private lab (not started) with the incident's aggressive settings: 5 s listener, northd and
    chassis probes, 1 s election timer; with ``northd``, an ovn-northd runs (the chassis gate's nb_cfg
    needs it)."""
    return Lab(name=name, members=members, chassis=chassis, northd=northd, election_timer_ms=1000,
               inactivity_probe_ms=5000,
               northd_probe_ms=5000, chassis_probe_ms=5000,
               keep=os.environ.get("OVNLAB_KEEP", "") not in ("", "0"))


@contextlib.contextmanager
def incident_labs(shapes):
    """Start one incident_lab per (deployment, lab name, members, chassis[, northd]); yield them by deployment
    name; stop every one that was started."""
    started = {}
    try:
        for shape in shapes:
            deployment, lab_name, members, chassis = shape[:4]
            lab = incident_lab(lab_name, members=members, chassis=chassis, northd=len(shape) > 4 and shape[4])
            started[deployment] = lab
            lab.start()
        yield started
    finally:
        for lab in started.values():
            lab.stop()


def descriptor(name, lab):
    """ovn_deployment of a lab named ``name``, as the lab playbook writes it (ovnlab.deployment,
    controller mode: the members' sockets and the chassis' databases through the lab's workdir)."""
    return deployment.descriptor(lab.info(), name)


def hosts_descriptor(name, lab):
    """ovn_deployment of a lab whose members and chassis are Ansible hosts of their own (central_hosts,
    chassis_hosts, over SSH): the members' sockets are read and the chassis' probes set on each host
    (ovnlab.deployment, hosts mode)."""
    return deployment.descriptor(lab.info(), name, mode="hosts")


def chassis_probes(lab):
    """external_ids:ovn-remote-probe-interval of every chassis, read with ovs-vsctl inside its host."""
    info = lab.info()
    return dict((c["host"], cli(*oracle.vsctl_argv(info, c, "--if-exists", "get", "Open_vSwitch", ".",
                                                   "external_ids:ovn-remote-probe-interval")).strip('"'))
                for c in info["chassis"])


def write_inventory(path, groups, host_labs=()):
    """An inventory of lab deployments: ``groups`` maps a group name to {host: ovn_deployment} or to
    {host: {"ovn_deployment": ..., other host vars}}; the hosts of ``host_labs`` are added as SSH
    hosts (`python -m ovnlab inventory`)."""
    hosts_of = {}
    for group, hosts in groups.items():
        hosts_of[group] = {"hosts": dict(
            (host, value if "ovn_deployment" in value else {"ovn_deployment": value})
            for host, value in hosts.items())}
    if host_labs:
        hosts_of.update(inventory_of(*[lab.info() for lab in host_labs])["all"]["children"])
    data = {"all": {
        "vars": {"ansible_connection": "local",
                 "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": hosts_of}}
    with open(str(path), "w") as handle:
        handle.write(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def extra_vars(state_dir, **more):
    data = {"ovn_tuning_state_dir": state_dir, "ovn_tuning_baseline_seconds": 2, "ovn_tuning_soak_seconds": 2,
            "ovn_tuning_profile": dict(PROFILE_OVERRIDES)}
    data.update(more)
    return data


def rollout(inventory, state_dir, check=False, extra_args=(), on_record=None, **more):
    return run_playbook(ROLLOUT, inventory=inventory, check=check, diff=check,
                        extra_vars=extra_vars(state_dir, **more), extra_args=extra_args,
                        timeout=PLAYBOOK_TIMEOUT, on_record=on_record)


def expected_checksum(overrides=None):
    """The profile checksum from the role's own defaults, computed without Ansible."""
    with open(os.path.join(REPO_ROOT, "roles", "config", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    profile = copy.deepcopy(defaults["ovn_tuning_builtin_profiles"][defaults["ovn_tuning_profile_name"]])
    for key, value in (PROFILE_OVERRIDES if overrides is None else overrides).items():
        profile[key] = value
    return profile_checksum(normalize_profile(profile))


# --------------------------------------------------------------------------- CLI oracles

def cli(*argv):
    return oracle.run(argv).strip()


def listener_probes(lab, db):
    out = json.loads(oracle.dbctl(db, lab.info()[db]["remotes"], "--format=json", "--columns=target,inactivity_probe",
                                  "list", "Connection"))
    probes = {}
    for target, probe in out["data"]:
        probes[target] = None if probe == ["set", []] else probe
    return probes


def election_timer(lab, db="nb"):
    """The election timer every member shows in cluster/status (they must agree)."""
    timers = set()
    info = lab.info()
    for member in info[db]["members"]:
        text = cli(*oracle.appctl_argv(info, member, "cluster/status",
                                       "OVN_Northbound" if db == "nb" else "OVN_Southbound"))
        timers.add(int(re.search(r"^Election timer: (\d+)", text, re.M).group(1)))
    assert len(timers) == 1, "members disagree on the election timer: %s" % timers
    return timers.pop()


def state_of(lab):
    """Everything the rollout may change in one deployment, read with the CLIs."""
    info = lab.info()
    nb_probes = listener_probes(lab, "nb")
    sb_probes = listener_probes(lab, "sb")
    return {
        "nb_listeners": nb_probes,
        "sb_listeners": sb_probes,
        "nb_listener_probe": sorted(set(nb_probes.values()))[0] if len(set(nb_probes.values())) == 1 else nb_probes,
        "sb_listener_probe": sorted(set(sb_probes.values()))[0] if len(set(sb_probes.values())) == 1 else sb_probes,
        "northd_probe_interval": oracle.nbctl(info["nb"]["remotes"], "--if-exists", "get", "NB_Global", ".",
                                              "options:northd_probe_interval").strip('"'),
        "nb_options": oracle.nbctl(info["nb"]["remotes"], "get", "NB_Global", ".", "options"),
        "sb_options": oracle.sbctl(info["sb"]["remotes"], "get", "SB_Global", ".", "options"),
        # (the first chassis; a lab without chassis has none to read)
        "chassis_probe": cli(*oracle.vsctl_argv(info, info["chassis"][0], "--if-exists", "get", "Open_vSwitch", ".",
                                                "external_ids:ovn-remote-probe-interval")).strip('"')
        if info["chassis"] else None,
        "nb_election_timer": election_timer(lab, "nb"),
        "sb_election_timer": election_timer(lab, "sb"),
    }


def assert_profile_values(state, values):
    for key, value in values.items():
        assert state[key] == value, "%s is %r, expected %r (state: %s)" % (key, state[key], value, state)


# --------------------------------------------------------------------------- run helpers

def task_results(run, task, host=None):
    """Records of a task by its name (the callback names tasks of roles "ROLE : NAME")."""
    return [r for r in run.records if (r["task"] == task or r["task"].endswith(" : " + task))
            and (host is None or r["host"] == host)]


def messages(run, task, host):
    found = task_results(run, task, host)
    assert found, "task %r did not run on %s:\n%s" % (task, host, run.stdout[-3000:])
    return found[-1]["result"].get("msg")


def failure_text(run):
    return "\n".join(str(r["result"].get("msg")) for r in run.failed_tasks())


# Tasks of a writing module that only read (check_mode: true in the task itself).
READ_TASKS = ("Read this chassis' probe keys and what the profile would change",)


def _writes(run):
    return [r for r in run.records if r["action"].split(".")[-1] in WRITING_ACTIONS
            and r["task"].split(" : ")[-1] not in READ_TASKS]


def changed_writes(run):
    """(host, task) of every task of a writing module that changed (or would change) something."""
    return [(r["host"], r["task"]) for r in _writes(run) if r["result"].get("changed")]


def touched(run):
    """(host, task) of every task that ran a writing module, or restored a snapshot."""
    return [(r["host"], r["task"]) for r in _writes(run) if r["status"] != "skipped"] + [
        (r["host"], r["task"]) for r in run.records if r["status"] != "skipped"
        and r["action"].endswith("ovn_tuning_snapshot") and "differences" in r["result"]]


def files_under(directory):
    return sorted(glob.glob(os.path.join(directory, "**", "*"), recursive=True))


def write_record(state_dir, checksum, record):
    directory = os.path.join(state_dir, "promotions")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, checksum + ".json"), "w") as handle:
        json.dump(record, handle)
