"""kubedc.ovn_tuning.ovn_tuning_apply on a private lab (3-member NB and SB, ovn-northd, two chassis).

Oracles: ovn-nbctl / ovn-sbctl over the lab's remotes (Connection rows, NB_Global.options),
ovs-vsctl inside each chassis host (its external_ids), ovs-appctl cluster/status inside each
member's host (the election timer) - run as command tasks between the module runs
(support.three_runs) and directly. None of them shares code with the module.
"""

import json
import os
import re

import pytest

from ovnlab import Lab
from ovnlab.deployment import descriptor
from support import oracle, three_runs
from support.ansible_run import run_module

MODULE = "kubedc.ovn_tuning.ovn_tuning_apply"
PROFILE = {"nb_inactivity_probe": "60s", "sb_inactivity_probe": 60000, "northd_probe_interval": "1m",
           "chassis_remote_probe_interval": "5m", "nb_election_timer": 4000, "sb_election_timer": "2s"}


@pytest.fixture(scope="module")
def apply_lab():
    """A private lab shared by the tests of this file, started with the incident's probes (5 s) and a
    1 s election timer."""
    lab = Lab(name="apply", chassis=2, northd=True, inactivity_probe_ms=5000, northd_probe_ms=5000,
              chassis_probe_ms=5000, election_timer_ms=1000, keep=os.environ.get("OVNLAB_KEEP", "") not in ("", "0"))
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


def tunables_reader(lab):
    """Everything the profile sets, as the CLIs read it: {setting: value}."""
    info = lab.info()
    argvs = []
    labels = []
    for db in ("nb", "sb"):
        argvs.append(oracle.ctl_argv(db, info[db]["remotes"], "--format=json",
                                     "--columns=target,inactivity_probe", "list", "Connection"))
        labels.append((db, "rows"))
    argvs.append(oracle.ctl_argv("nb", info["nb"]["remotes"], "--format=json", "--columns=options", "list",
                                 "NB_Global"))
    labels.append(("nb", "options"))
    for chassis in info["chassis"]:
        argvs.append(oracle.vsctl_argv(info, chassis, "--format=json", "--columns=external_ids", "list",
                                       "Open_vSwitch"))
        labels.append((chassis["name"], "external_ids"))
    for db in ("nb", "sb"):
        for member in info[db]["members"]:
            argvs.append(oracle.appctl_argv(info, member, "cluster/status", info[db]["database"]))
            labels.append((db, "timer"))

    def parse(outputs):
        state = {}
        for (part, kind), text in zip(labels, outputs):
            if kind == "rows":
                for target, probe in json.loads(text)["data"]:
                    state["%s %s" % (part, target)] = probe if not isinstance(probe, list) else None
            elif kind == "timer":
                found = re.search(r"^Election timer: (\d+)(.*)$", text, re.M)
                state.setdefault("%s election_timer" % part, set()).add((int(found.group(1)), found.group(2).strip()))
            else:
                # The whole map: every key this module must leave alone, and those it sets.
                for key, value in json.loads(text)["data"][0][0][1]:
                    state["%s %s:%s" % (part, kind, key)] = value
        return state

    return oracle.Reader(argvs, parse)


def test_check_real_again_then_read_back(apply_lab):
    lab = apply_lab
    info = lab.info()
    deployment = descriptor(info, name="apply")
    before = tunables_reader(lab)()
    nb_row = "nb ptcp:%d:0.0.0.0" % info["nb"]["port"]
    sb_row = "sb ptcp:%d:0.0.0.0" % info["sb"]["port"]
    assert before["nb election_timer"] == before["sb election_timer"] == {(1000, "")}

    checked, applied, again, states = three_runs.check_real_again(
        MODULE, {"deployment": deployment, "profile": PROFILE}, tunables_reader(lab))

    after = states[2]
    probe_keys = ["%s external_ids:ovn-remote-probe-interval" % c["name"] for c in info["chassis"]]
    # Every member agrees, with no change pending; nothing else of the maps and rows moved.
    expected = dict(before, **{nb_row: 60000, sb_row: 60000, "nb options:northd_probe_interval": "60000",
                               "nb election_timer": {(4000, "")}, "sb election_timer": {(2000, "")}})
    expected.update((key, "300000") for key in probe_keys)
    assert after == expected
    assert len(before) > 12, before  # ovn-northd's options and the chassis' own external_ids are in it

    for result in (checked, applied):
        changes = dict(((c["part"], c["setting"]), (c["before"], c["after"])) for c in result["changes"])
        assert changes[("nb", "connections[ptcp:%d:0.0.0.0].inactivity_probe" % info["nb"]["port"])] == (
            before[nb_row], 60000)
        assert changes[("nb", "options.northd_probe_interval")] == (before["nb options:northd_probe_interval"], "60000")
        assert changes[("nb.election_timer", "election_timer")] == (1000, 4000)
        assert changes[("sb.election_timer", "election_timer")] == (1000, 2000)
        assert changes[("chassis[%s]" % info["chassis"][0]["name"], "external_ids.ovn-remote-probe-interval")][1] == "300000"
        assert len(result["changes"]) == 7, result["changes"]
        assert result["diff"]["before"] == result["before"] and result["diff"]["after"] == result["after"]
    # Listener rows first, then the chassis, the election timers last (the rollout's order).
    parts = [c["part"] for c in applied["changes"]]
    assert (parts.index("sb") < parts.index("nb") < parts.index("chassis[%s]" % info["chassis"][0]["name"])
            < parts.index("nb.election_timer") < parts.index("sb.election_timer")), parts
    assert [step["election_timer"] for step in applied["election_timers"]["nb"]["steps"]] == [2000, 4000]
    assert [step["election_timer"] for step in checked["election_timers"]["nb"]["steps"]] == [2000, 4000]
    assert not any(step["committed"] for step in checked["election_timers"]["nb"]["steps"])
    assert again["changes"] == [] and again["before"] == again["after"] == applied["after"]

    # A profile that leaves the election timers alone and lowers a probe: only that changes.
    lowered = dict(PROFILE, nb_election_timer=None, sb_election_timer=None, northd_probe_interval=None,
                   nb_inactivity_probe="30s")
    result = run_module(MODULE, {"deployment": deployment, "profile": lowered})
    assert result["changed"] is True, result.get("msg")
    assert [(c["part"], c["after"]) for c in result["changes"]] == [("nb", 30000)]
    state = tunables_reader(lab)()
    assert state == dict(after, **{nb_row: 30000})


def test_nothing_is_written_when_a_part_is_unreachable(apply_lab):
    """Every database is read before the first write: a chassis that cannot be reached fails the run
    and NB, read first, keeps its values."""
    lab = apply_lab
    info = lab.info()
    deployment = descriptor(info, name="apply")
    deployment["chassis"].append({"name": "gone", "remote": "unix:/nonexistent/db.sock"})
    before = tunables_reader(lab)()
    result = run_module(MODULE, {"deployment": deployment, "timeout": 3,
                                 "profile": dict(PROFILE, nb_inactivity_probe="45s", nb_election_timer=None,
                                                 sb_election_timer=None)})
    assert result["failed"] is True
    assert "deployment.chassis[gone]" in result["msg"] and "already applied: nothing" in result["msg"], result["msg"]
    assert tunables_reader(lab)() == before


def test_bad_input_is_refused_before_any_contact(apply_lab):
    info = apply_lab.info()
    deployment = descriptor(info, name="apply")
    no_sockets = dict(deployment, nb={"remote": info["nb"]["remotes"]})
    before = tunables_reader(apply_lab)()
    three_runs.refused(MODULE, [
        ("unknown field", {"deployment": deployment, "profile": {"nb_probe": 1000}},
         "profile: unknown field(s) nb_probe; accepted fields:"),
        ("out of range", {"deployment": deployment, "profile": {"sb_inactivity_probe": 500}},
         "profile.sb_inactivity_probe"),
        ("disabled listener probe", {"deployment": deployment, "profile": {"nb_inactivity_probe": 0}},
         "profile.nb_inactivity_probe: 0 disables the probe"),
        ("kube-ovn env", {"deployment": deployment, "profile": {"kube_ovn_env": {"OVN_LEADER_PROBE_INTERVAL": 60}}},
         "profile.kube_ovn_env"),
        ("timer without sockets", {"deployment": no_sockets, "profile": {"nb_election_timer": 4000}},
         "profile.nb_election_timer: changing the election timer needs deployment.nb.ctl_sockets"),
        ("nothing to tune", {"deployment": {"name": "x", "kube_ovn": {}}, "profile": PROFILE},
         "deployment: name at least one part to tune"),
        ("profile reaches nothing", {"deployment": dict(deployment, chassis=None),
                                     "profile": {"chassis_remote_probe_interval": 60000}},
         "profile: sets nothing that this deployment has"),
        ("bad remote", {"deployment": dict(deployment, sb={"remote": "tcp:nowhere"}), "profile": PROFILE},
         "deployment.sb.remote"),
        ("not a dict", {"deployment": deployment, "profile": "incident_2026"}, "'profile'"),
        ("timeout", {"deployment": deployment, "profile": {"nb_election_timer": 4000}, "timeout": 0}, "timeout"),
    ])
    # Refused once the SB map is read, before any write: ovn-northd owns SB_Global.options here.
    sb_only = {"name": "apply", "sb": deployment["sb"]}
    three_runs.refused(MODULE, [
        ("sbctl in a copied map", {"deployment": sb_only, "profile": {"sbctl_probe_interval": 30000}},
         "profile.sbctl_probe_interval: SB_Global.options is ovn-northd's copy"),
    ])
    assert tunables_reader(apply_lab)() == before


def test_a_per_chassis_key_is_left_alone_with_a_warning(apply_lab):
    info = apply_lab.info()
    chassis = info["chassis"][0]
    system_id = oracle.run(oracle.vsctl_argv(info, chassis, "get", "Open_vSwitch", ".",
                                             "external_ids:system-id")).strip().strip('"')
    specific = "ovn-remote-probe-interval-%s" % system_id
    oracle.run(oracle.vsctl_argv(info, chassis, "set", "Open_vSwitch", ".", 'external_ids:%s="7000"' % specific))
    try:
        deployment = dict(descriptor(info, name="apply"), chassis=[{"name": chassis["name"],
                                                                   "remote": chassis["ovs_remote"]}])
        result = run_module(MODULE, {"deployment": deployment, "profile": {"chassis_remote_probe_interval": "90s"}})
        assert result.get("failed") is not True, result.get("msg")
        label = "chassis[%s]" % chassis["name"]
        assert result["after"][label] == {"external_ids.ovn-remote-probe-interval": "90000",
                                          "external_ids.%s" % specific: "7000"}
        assert any(("deployment.%s: external_ids:%s=7000 overrides" % (label, specific)) in warning
                   and "ovn_chassis_probe with per_chassis_keys=set" in warning
                   for warning in result.get("warnings", [])), result.get("warnings")
        assert oracle.run(oracle.vsctl_argv(info, chassis, "get", "Open_vSwitch", ".",
                                            "external_ids:%s" % specific)).strip().strip('"') == "7000"
    finally:
        oracle.run(oracle.vsctl_argv(info, chassis, "remove", "Open_vSwitch", ".", "external_ids", specific))
