"""Benchmark 7: a fleet of chassis hosts - the time to tune and to no-op-verify 10, 30 and 100
chassis over SSH, in concurrent gated batches against one chassis after another, in the same run.

One lab per fleet size: a one-member NB and SB with ovn-northd, and N chassis hosts, each with its
own sshd, Open_vSwitch database, ovs-vswitchd and ovn-controller (so the gate after each batch is the
real one: connection-status on the host, Chassis_Private.nb_cfg caught up). Both sides run the same
playbook (bench/playbooks/fleet.yml, the chassis plays of kubedc.ovn_tuning.rollout):

- serial: ``-f 1`` and ``ovn_tuning_chassis_batch=1`` - one chassis after another, each gated;
- batched: the default batches ``[1, "10%"]`` (the canary, then 10 % at a time) with ``-f`` as large
  as a batch, every chassis of a batch at once.

Before each tuning run every chassis is put back to 5000 ms (ovs-vsctl inside its host); after it,
every chassis is read back inside its host. The no-op run follows on the tuned fleet and must change
nothing.
"""

import os
import time

from common import BenchError
from ovnlab import Lab
from support import oracle
from support.ansible_run import run_playbook
from support.rollout import chassis_probes

import yaml

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "fleet.yml")
SIZES = (10, 30, 100)
QUICK_SIZES = (4, 8)
BEFORE, AFTER = "5000", "300000"


def _inventory(lab, path):
    info = lab.info()
    from ovnlab.inventory import inventory as inventory_of  # pylint: disable=import-outside-toplevel
    data = inventory_of(info)
    data["all"]["children"]["ovn_staging"] = {"hosts": {"fleet": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "ovn_deployment": {"name": "fleet", "nb": {"remote": info["nb"]["remotes"]},
                           "sb": {"remote": info["sb"]["remotes"]},
                           "chassis_hosts": [c["host"] for c in info["chassis"]]}}}}
    with open(path, "w") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)
    return path


def _set_all(info, value):
    for chassis in info["chassis"]:
        oracle.run(oracle.vsctl_argv(info, chassis, "set", "Open_vSwitch", ".",
                                     "external_ids:ovn-remote-probe-interval=" + value))


def _changed(run):
    return sum(1 for r in run.records if r["task"].endswith("Set ovn-controller's probe intervals on this chassis")
               and r["result"].get("changed"))


def _run(inventory, forks, batch):
    started = time.monotonic()
    run = run_playbook(PLAYBOOK, inventory=inventory, extra_args=["-f", str(forks)],
                       extra_vars={"ovn_tuning_chassis_batch": batch}, timeout=3600)
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise BenchError("fleet playbook failed (rc %d): %s" % (run.returncode, run.stdout[-3000:]))
    return seconds, run


def _one_size(workdir, size, log):
    lab = Lab(workdir=os.path.join(workdir, "fleet-%d" % size), name="fleet%d" % size, members=1, northd=True,
              chassis=size, chassis_probe_ms=int(BEFORE), start_timeout=60 + 3 * size)
    with lab:
        info = lab.info()
        inventory = _inventory(lab, os.path.join(workdir, "fleet-%d.yml" % size))
        forks = max(1, -(-size // 10))
        row = {"chassis": size, "forks_batched": forks}
        for side, side_forks, batch in (("serial", 1, 1), ("batched", forks, [1, "10%"])):
            _set_all(info, BEFORE)
            tune_s, tune = _run(inventory, side_forks, batch)
            if _changed(tune) != size or set(chassis_probes(lab).values()) != {AFTER}:
                raise BenchError("%s: %d of %d chassis changed, read back %s"
                                 % (side, _changed(tune), size, sorted(set(chassis_probes(lab).values()))))
            noop_s, noop = _run(inventory, side_forks, batch)
            if _changed(noop):
                raise BenchError("%s: the no-op run changed %d chassis" % (side, _changed(noop)))
            row[side] = {"tune_s": round(tune_s, 1), "noop_s": round(noop_s, 1),
                         "tune_per_chassis_s": round(tune_s / size, 2), "noop_per_chassis_s": round(noop_s / size, 2)}
            log("fleet %d %s: tune %.1f s, no-op %.1f s" % (size, side, tune_s, noop_s))
        row["tune_ratio"] = round(row["batched"]["tune_s"] / row["serial"]["tune_s"], 2)
        row["noop_ratio"] = round(row["batched"]["noop_s"] / row["serial"]["noop_s"], 2)
        return row


def run_fleet(workdir, quick, log):
    rows = [_one_size(workdir, size, log) for size in (QUICK_SIZES if quick else SIZES)]
    table = [
        "| chassis | serial: tune / no-op (s) | per chassis (s) | batched: tune / no-op (s), forks | per chassis (s)"
        " | batched / serial: tune, no-op |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        serial, batched = row["serial"], row["batched"]
        table.append("| %d | %.1f / %.1f | %.2f / %.2f | %.1f / %.1f, -f %d | %.2f / %.2f | %.2f, %.2f |" % (
            row["chassis"], serial["tune_s"], serial["noop_s"], serial["tune_per_chassis_s"],
            serial["noop_per_chassis_s"], batched["tune_s"], batched["noop_s"], row["forks_batched"],
            batched["tune_per_chassis_s"], batched["noop_per_chassis_s"], row["tune_ratio"], row["noop_ratio"]))
    table += ["", "Serial: `-f 1`, `ovn_tuning_chassis_batch=1` (each chassis its own gated batch). Batched: the"
              " default `[1, \"10%\"]` with as many forks as a batch. Every chassis read back with ovs-vsctl inside its"
              " host; the no-op runs changed nothing."]
    return {"id": 7, "title": "Chassis fleet", "rows": rows, "table": table}
