"""ovn_tuning_snapshot through Ansible against the lab, read back with the OVN/OVS CLIs.

Oracles: ovn-nbctl / ovn-sbctl (Connection rows and global options, leader-only over the lab's remotes),
ovs-vsctl (a chassis' external_ids), ovs-appctl cluster/status on every member (election timer),
and hashlib for the checksum.  None of them shares code with the module.

The session lab is only read (captures) or refused (tampered and mismatched snapshots, which must write
nothing).  Every restore that writes runs on a private lab from lab_factory.  Connection rows that the lab's
members listen through are kept in every state; only their probes change, and extra rows use active targets
on an unused address of the lab's block, so no test takes a listening address from a member.
"""

import copy
import datetime
import hashlib
import json
import os
import re
import stat
import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# The stand-in's fixtures, used by the kube-ovn test.
from k8s_standin.fixtures import (  # noqa: F401 pylint: disable=unused-import
    http_get_daemonset, http_get_deployment, k8s_standin, k8s_standin_server)
from support import oracle
from support.ansible_run import run_cases, run_module, run_tasks

MODULE = "ovn_tuning_snapshot"
# sbctl_probe_interval is read from SB_Global; while ovn-northd runs it is set in NB_Global and copied.
NB_OPTION_KEYS = ("ic_probe_interval", "nbctl_probe_interval", "northd_probe_interval", "sbctl_probe_interval")
SB_OPTION_KEYS = ("sbctl_probe_interval",)
CHASSIS_KEYS = ("ovn-bridge-remote-probe-interval", "ovn-openflow-probe-interval", "ovn-remote-probe-interval")
NB_COLUMNS = ("target", "inactivity_probe", "max_backoff", "other_config")
SB_COLUMNS = NB_COLUMNS + ("read_only", "role")


# --------------------------------------------------------------------------- CLI oracles

def cli(*argv):
    return oracle.run(argv)


def db_argv(lab, db, *args):
    return oracle.ctl_argv(db, lab.info()[db]["remotes"], *args, timeout=30)


def db_cli(lab, db, *args):
    return cli(*db_argv(lab, db, *args))


def vsctl(lab, chassis, *args):
    """ovs-vsctl on the chassis host, against its local database. No ovs-vswitchd runs in the lab:
    never wait for it."""
    return cli(*oracle.vsctl_argv(lab.info(), chassis, *args, timeout=30))


def _value(cell):
    """An OVSDB JSON cell as plain Python: empty optional -> None, map -> dict, uuid -> str."""
    if isinstance(cell, list) and len(cell) == 2 and cell[0] in ("set", "map", "uuid"):
        kind, payload = cell
        if kind == "uuid":
            return payload
        if kind == "map":
            return dict((key, _value(item)) for key, item in payload)
        if not payload:
            return None
        if len(payload) == 1:
            return _value(payload[0])
        return [_value(item) for item in payload]
    return cell


def cli_rows(argv_prefix, table, columns):
    out = cli(*(argv_prefix + ["--format=json", "--columns=" + ",".join(columns), "list", table]))
    data = json.loads(out)
    return [dict(zip(data["headings"], [_value(cell) for cell in row])) for row in data["data"]]


def cli_connections(lab, db):
    columns = SB_COLUMNS if db == "sb" else NB_COLUMNS
    prefix = db_argv(lab, db)
    rows = cli_rows(prefix, "Connection", ("_uuid",) + columns)
    for row in rows:
        row["other_config"] = row["other_config"] or {}
    return sorted(rows, key=lambda r: r["target"])


def cli_options(lab, db):
    table = "NB_Global" if db == "nb" else "SB_Global"
    prefix = db_argv(lab, db)
    options = cli_rows(prefix, table, ("options",))[0]["options"] or {}
    keys = NB_OPTION_KEYS if db == "nb" else SB_OPTION_KEYS
    return dict((key, options.get(key)) for key in keys)


def cli_chassis_keys(lab, chassis):
    """Every managed key (null when unset) and the per-chassis keys (KEY-<system-id>) that are set."""
    external_ids = cli_rows(oracle.vsctl_argv(lab.info(), chassis, timeout=30), "Open_vSwitch",
                            ("external_ids",))[0]["external_ids"] or {}
    keys = dict((key, external_ids.get(key)) for key in CHASSIS_KEYS)
    keys.update((key, value) for key, value in external_ids.items()
                if key in set(k + "-" + external_ids["system-id"] for k in CHASSIS_KEYS))
    return keys


def cli_election_timer(lab, db):
    """The election timer every member shows (they must agree, with no change pending)."""
    name = lab.info()[db]["database"]
    seen = {}
    for member in lab.info()[db]["members"]:
        text = cli(*oracle.appctl_argv(lab.info(), member, "cluster/status", name))
        found = re.search(r"^Election timer: (\d+)(.*)$", text, re.M)
        seen[member["host"]] = (int(found.group(1)), found.group(2).strip())
    values = set(seen.values())
    assert len(values) == 1 and list(values)[0][1] == "", "members disagree on the %s timer: %s" % (db, seen)
    return list(values)[0][0]


def cli_tunables(lab, timers=("nb", "sb"), chassis=True):
    """What the CLIs read, in the snapshot's ``tunables`` shape."""
    state = {}
    for db in ("nb", "sb"):
        rows = [dict((k, v) for k, v in row.items() if k != "_uuid") for row in cli_connections(lab, db)]
        state[db] = {"connections": rows, "options": cli_options(lab, db)}
        if db in timers:
            state[db]["election_timer"] = cli_election_timer(lab, db)
    if chassis:
        state["chassis"] = dict((c["name"], {"external_ids": cli_chassis_keys(lab, c)})
                                for c in lab.info()["chassis"])
    return state


def descriptor(lab, name="lab-under-test", timers=("nb", "sb"), chassis=True):
    info = lab.info()
    deployment = {"name": name}
    for db in ("nb", "sb"):
        deployment[db] = {"remote": info[db]["remotes"]}
        if db in timers:
            deployment[db]["ctl_sockets"] = [m["ctl"] for m in info[db]["members"]]
    if chassis:
        deployment["chassis"] = [{"name": c["name"], "remote": c["ovs_remote"]} for c in info["chassis"]]
    return deployment


def listener_targets(lab, db):
    """The lab's listener rows: one, on every address of each member's host."""
    return ["ptcp:%d:0.0.0.0" % lab.info()[db]["port"]]


def spare_address(lab):
    """An address of the lab's block no member, chassis or other lab uses (extra rows point there)."""
    return lab.info()["block"].split("/")[0].rsplit(".", 1)[0] + ".250"


def sha256_of_content(document):
    content = dict((k, v) for k, v in document.items() if k != "checksum")
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --------------------------------------------------------------------------- setting a state by hand

def set_rows_cli(lab, db, rows):
    """Make the Connection rows exactly ``rows`` ({target: {column: value}}) in one ovn-*ctl call.

    Rows not named are dropped from the global row (and so deleted); named rows are updated in place
    or created.  A column value None clears it.
    """
    table = "NB_Global" if db == "nb" else "SB_Global"
    current = dict((row["target"], row["_uuid"]) for row in cli_connections(lab, db))
    args = []
    for target, uuid in sorted(current.items()):
        if target not in rows:
            args += ["--", "remove", table, ".", "connections", uuid]
    for number, (target, columns) in enumerate(sorted(rows.items())):
        settings = []
        clears = []
        for column, value in sorted(columns.items()):
            if value is None:
                clears.append(column)
            elif isinstance(value, dict):
                settings.append("%s=%s" % (column, "{%s}" % ",".join('"%s"="%s"' % kv for kv in sorted(value.items()))
                                           if value else "{}"))
            elif isinstance(value, bool):
                settings.append("%s=%s" % (column, "true" if value else "false"))
            elif isinstance(value, str):
                settings.append('%s="%s"' % (column, value))
            else:
                settings.append("%s=%s" % (column, value))
        if target in current:
            if settings:
                args += ["--", "set", "Connection", current[target]] + settings
            if clears:
                args += ["--", "clear", "Connection", current[target]] + clears
        else:
            name = "@row%d" % number
            args += ["--", "--id=" + name, "create", "Connection", 'target="%s"' % target] + settings
            args += ["--", "add", table, ".", "connections", name]
    if args:
        db_cli(lab, db, *args)


def set_options_cli(lab, db, options):
    table = "NB_Global" if db == "nb" else "SB_Global"
    args = []
    for key, value in sorted(options.items()):
        if value is None:
            args += ["--", "remove", table, ".", "options", key]
        else:
            args += ["--", "set", table, ".", 'options:%s="%s"' % (key, value)]
    if args:
        db_cli(lab, db, *args)


def set_chassis_keys_cli(lab, chassis, keys):
    args = []
    for key, value in sorted(keys.items()):
        if value is None:
            args += ["--", "remove", "Open_vSwitch", ".", "external_ids", key]
        else:
            args += ["--", "set", "Open_vSwitch", ".", 'external_ids:%s="%s"' % (key, value)]
    if args:
        vsctl(lab, chassis, *args)


def wait_for_northd_copy(lab, timeout=30.0):
    """Until ovn-northd has copied NB_Global.options:sbctl_probe_interval into SB_Global (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        wanted = cli_options(lab, "nb")["sbctl_probe_interval"]
        if cli_options(lab, "sb")["sbctl_probe_interval"] == wanted:
            return wanted
        assert time.monotonic() < deadline, "ovn-northd did not copy sbctl_probe_interval within %s s" % timeout
        time.sleep(0.1)


def change_timer_by_hand(lab, db, milliseconds):
    """Step the timer with ovs-appctl on the leader (doubling at most), and wait until every member shows it."""
    name = lab.info()[db]["database"]
    lab.change_election_timer(db, milliseconds)  # the lab's own unixctl client, not the module's
    assert cli_election_timer(lab, db) == milliseconds, name


# --------------------------------------------------------------------------- capture (session lab, read only)

def test_capture_writes_a_checksummed_snapshot_of_what_the_clis_read(ovn_lab, tmp_path):
    path = str(tmp_path / "session.json")
    args = {"state": "captured", "path": path, "deployment": descriptor(ovn_lab, name="session-lab")}
    expected = cli_tunables(ovn_lab)

    checked = run_module(MODULE, args, check=True, diff=True)
    assert checked.get("failed") is not True, checked.get("msg")
    assert checked["changed"] is True
    assert not os.path.exists(path), "check mode wrote the snapshot"
    assert checked["snapshot"]["tunables"] == expected
    assert checked["diff"] == {"before": {}, "after": expected}

    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    result = run_module(MODULE, args)
    finished = datetime.datetime.now(datetime.timezone.utc)
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True and result["path"] == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ["session.json"], "a temporary file was left behind"
    with open(path) as handle:
        on_disk = json.load(handle)
    assert on_disk == result["snapshot"]
    assert on_disk["checksum"] == sha256_of_content(on_disk) == result["checksum"]
    assert on_disk["kind"] == "kubedc.ovn_tuning/snapshot" and on_disk["schema_version"] == 1
    assert on_disk["deployment"] == "session-lab"
    created = datetime.datetime.strptime(on_disk["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert started <= created <= finished, (started, on_disk["created_at"], finished)
    assert on_disk["tunables"] == cli_tunables(ovn_lab) == expected
    # Presence and absence: every managed key is recorded, unset ones as null.
    assert sorted(on_disk["tunables"]["nb"]["options"]) == list(NB_OPTION_KEYS)
    assert sorted(on_disk["tunables"]["chassis"]["chassis-1"]["external_ids"]) == list(CHASSIS_KEYS)
    assert [r["target"] for r in on_disk["tunables"]["nb"]["connections"]] == listener_targets(ovn_lab, "nb")
    info = ovn_lab.info()
    assert on_disk["sources"]["nb"]["remote"] == info["nb"]["remotes"]
    assert on_disk["sources"]["nb"]["server"] == info["nb"]["members"][ovn_lab.leader("nb")]["remote"]
    assert on_disk["sources"]["chassis"] == {"chassis-1": info["chassis"][0]["ovs_remote"]}


def test_capture_refuses_to_overwrite_unless_forced(ovn_lab, tmp_path):
    path = str(tmp_path / "snap.json")
    args = {"state": "captured", "path": path, "deployment": descriptor(ovn_lab, timers=())}
    first = run_module(MODULE, args)
    assert first["changed"] is True
    with open(path, "rb") as handle:
        original = handle.read()
    inode = os.stat(path).st_ino

    results = run_cases(module=MODULE, cases=[("refused check", args, True), ("refused", args, False),
                                              ("forced check", dict(args, force=True), True)])
    for label in ("refused check", "refused"):
        assert results[label]["failed"] is True
        assert "path: %s already exists and force is false" % path in results[label]["msg"]
    with open(path, "rb") as handle:
        assert handle.read() == original
    assert results["forced check"]["failed"] is False and results["forced check"]["changed"] is True
    assert os.stat(path).st_ino == inode, "check mode replaced the file"

    forced = run_module(MODULE, dict(args, force=True))
    assert forced.get("failed") is not True, forced.get("msg")
    assert forced["changed"] is True
    assert os.stat(path).st_ino != inode, "the file was not replaced by a rename"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        replaced = json.load(handle)
    assert replaced["checksum"] == sha256_of_content(replaced) == forced["checksum"]
    assert sorted(os.listdir(str(tmp_path))) == ["snap.json"]


# --------------------------------------------------------------------------- refusals (session lab, nothing written)

def _write(path, document):
    with open(path, "w") as handle:
        json.dump(document, handle)


def test_tampered_foreign_or_mismatched_snapshots_are_refused_before_any_write(ovn_lab, tmp_path):
    deployment = descriptor(ovn_lab, name="session-lab", timers=())
    path = str(tmp_path / "good.json")
    captured = run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment})
    assert captured["changed"] is True
    live_before = cli_tunables(ovn_lab, timers=())

    # Untouched snapshot of an untouched lab: nothing to do.
    same = run_module(MODULE, {"state": "restored", "path": path, "deployment": deployment}, check=True)
    assert same.get("failed") is not True, same.get("msg")
    assert same["changed"] is False and same["changes"] == {} and same["differences"] == []

    # A snapshot that WOULD change the lab if it were trusted.
    altered = copy.deepcopy(captured["snapshot"])
    altered["tunables"]["nb"]["options"]["northd_probe_interval"] = "12345"
    altered["tunables"]["chassis"]["chassis-1"]["external_ids"]["ovn-remote-probe-interval"] = "12345"
    resealed = dict(altered, checksum=sha256_of_content(altered))
    version_two = dict(altered, schema_version=2)
    version_two["checksum"] = sha256_of_content(version_two)
    no_chassis = dict(deployment, chassis=None)
    renamed = dict(deployment, name="another-deployment")
    cases = [
        ("tampered.json", altered, deployment, "checksum mismatch"),
        ("v2.json", version_two, deployment, "schema_version is 2"),
        ("shape.json", resealed, no_chassis, "holds chassis[chassis-1], which the descriptor lacks"),
        ("name.json", resealed, renamed, "the snapshot is of deployment 'session-lab', the descriptor names"
                                         " 'another-deployment'"),
    ]
    tasks = []
    for name, document, used_deployment, _expected in cases:
        _write(str(tmp_path / name), document)
        for check in (True, False):
            tasks.append(("%s check=%s" % (name, check),
                          {"state": "restored", "path": str(tmp_path / name), "deployment": used_deployment}, check))
    results = run_cases(module=MODULE, cases=tasks)
    for name, _document, _deployment, expected in cases:
        for check in (True, False):
            refused = results["%s check=%s" % (name, check)]
            assert refused["failed"] is True, (name, refused)
            assert expected in refused["msg"], (name, refused["msg"])
            assert refused["msg"].startswith("path: %s" % str(tmp_path / name)), refused["msg"]
    assert cli_tunables(ovn_lab, timers=()) == live_before, "a refused restore wrote"


BAD_INPUTS = [
    ({"deployment": {"name": "x", "nbdb": {"remote": "tcp:127.0.0.1:6641"}}}, "deployment.nbdb"),
    ({"deployment": {"nb": {"remote": "tcp:127.0.0.1:6641"}}}, "name"),
    ({"deployment": {"name": "x"}}, "deployment: name at least one part"),
    ({"deployment": {"name": "x", "nb": {"remote": "tcp:127.0.0.1"}}}, "deployment.nb.remote"),
    ({"deployment": {"name": "x", "nb": {"remote": "tcp:127.0.0.1:6641", "ctl_sockets": ["nb1.ctl"]}}},
     "deployment.nb.ctl_sockets[0]"),
    ({"deployment": {"name": "x", "nb": {"remote": "tcp:127.0.0.1:6641", "ctl_sockets": ["/nonexistent/nb.ctl"]}}},
     "deployment.nb.ctl_sockets"),
    ({"deployment": {"name": "x", "chassis": [{"name": "c", "remote": "unix:/a,unix:/b"}]}},
     "deployment.chassis[0].remote"),
    ({"deployment": {"name": "x", "chassis": [{"name": "c", "remote": "unix:/a"}, {"name": "c", "remote": "unix:/b"}]}},
     "deployment.chassis[1].name"),
    ({"deployment": {"name": "x", "local_config": {"remotes": []}}}, "deployment.local_config.remotes"),
    ({"deployment": {"name": "x", "kube_ovn": {"kubeconfig": "/nonexistent/kubeconfig"}}},
     "deployment.kube_ovn.kubeconfig"),
    # Refused by the argument spec (types, unknown keys) before the module's own checks.
    ({"deployment": {"name": "x", "nb": {"remote": "tcp:127.0.0.1:6641", "ctl_socket": "/a"}}},
     "deployment.nb.ctl_socket"),
    ({"deployment": {"name": "x", "chassis": [{"name": "a", "remote": "unix:/a", "probe": 1}]}},
     "deployment.chassis.probe"),
    ({"deployment": {"name": "x", "chassis": {"name": "a"}}}, "argument 'chassis' is of type dict"),
    ({"deployment": {"name": "x", "kube_ovn": {"deployment": "y"}}}, "deployment.kube_ovn.deployment"),
    ({"deployment": {"name": "x", "kube_ovn": {"ovs_ovn": {"strategy": "x"}}}}, "deployment.kube_ovn.ovs_ovn.strategy"),
    ({"deployment": {"name": "x", "kube_ovn": {"ovs_ovn": {"allow_restart": "maybe"}}}},
     "argument 'allow_restart' is of type str"),
    ({"deployment": {"name": "x", "nb": {"remote": "tcp:127.0.0.1:6641"},
                     "sb_relays": {"remote": "tcp:127.0.0.1:6642", "hosts": []}}}, "deployment.sb_relays.hosts"),
    # A string where a dictionary of options is wanted: ansible-core's message does not name the key.
    ({"deployment": {"name": "x", "kube_ovn": {"ovs_ovn": "ovs-ovn"}}}, "dictionary requested"),
    ({"deployment": {"name": "x", "nb": {"remote": "tcp:127.0.0.1:6641"}, "sb_relays": "tcp:127.0.0.1:6642"}},
     "dictionary requested"),
    ({"state": "present"}, "state"),
    ({"remote": "tcp:127.0.0.1:6641"}, "remote"),
    ({"client_probe_interval": 500}, "client_probe_interval"),
    ({"timeout": 0}, "timeout"),
    ({"path": "/nonexistent-dir/snap.json"}, "path: the directory /nonexistent-dir does not exist"),
    ({"state": "restored", "path": "/nonexistent-dir/snap.json"}, "path: /nonexistent-dir/snap.json does not exist"),
]


def test_bad_input_fails_naming_the_parameter(ovn_lab, tmp_path):
    before = cli_tunables(ovn_lab, timers=())
    cases = []
    for number, (args, _param) in enumerate(BAD_INPUTS):
        full = {"state": "captured", "path": str(tmp_path / ("snap%d.json" % number)),
                "deployment": descriptor(ovn_lab, timers=())}
        full.update(args)
        cases.append(("case %d" % number, full, False))
    results = run_cases(module=MODULE, cases=cases)
    for number, (args, param) in enumerate(BAD_INPUTS):
        result = results["case %d" % number]
        assert result["failed"] is True, (args, result)
        assert param in result["msg"], (param, result["msg"])
    assert os.listdir(str(tmp_path)) == []
    assert cli_tunables(ovn_lab, timers=()) == before


# --------------------------------------------------------------------------- restore (private lab)

def prepare_state_a(lab):
    spare = spare_address(lab)
    nb_listeners = listener_targets(lab, "nb")
    sb_listeners = listener_targets(lab, "sb")
    nb_rows = dict((t, {}) for t in nb_listeners)
    nb_rows[nb_listeners[0]] = {"inactivity_probe": 60000}
    nb_rows["tcp:%s:7001" % spare] = {"inactivity_probe": 30000}
    nb_rows["tcp:%s:7002" % spare] = {"max_backoff": 4000, "other_config": {"dscp": "46"}}
    set_rows_cli(lab, "nb", nb_rows)
    sb_rows = dict((t, {}) for t in sb_listeners)
    sb_rows["tcp:%s:7003" % spare] = {"inactivity_probe": 20000, "read_only": True, "role": "ovn-controller"}
    set_rows_cli(lab, "sb", sb_rows)
    # ovn-northd runs here: SB_Global.options is its copy of NB_Global.options.
    set_options_cli(lab, "nb", {"northd_probe_interval": "60000", "nbctl_probe_interval": "30000",
                                "sbctl_probe_interval": "20000"})
    assert wait_for_northd_copy(lab) == "20000"
    chassis = lab.info()["chassis"][0]
    # Its own per-chassis key too, which ovn-controller reads first.
    set_chassis_keys_cli(lab, chassis, {"ovn-remote-probe-interval": "30000",
                                        "ovn-remote-probe-interval-" + chassis["name"]: "25000"})


def change_to_state_b(lab):
    """Changes made with the modules, then by hand with the CLIs."""
    info = lab.info()
    spare = spare_address(lab)
    nb_listeners = listener_targets(lab, "nb")
    chassis_remote = info["chassis"][0]["ovs_remote"]
    connection = {"remote": info["nb"]["remotes"], "database": "OVN_Northbound"}
    tasks = [
        {"name": "row removed since", "kubedc.ovn_tuning.ovsdb_connection":
            dict(connection, target="tcp:%s:7001" % spare, state="absent")},
        {"name": "listener probe changed", "kubedc.ovn_tuning.ovsdb_connection":
            dict(connection, target=nb_listeners[0], inactivity_probe="5s")},
        {"name": "row added since", "kubedc.ovn_tuning.ovsdb_connection":
            dict(connection, target="tcp:%s:7004" % spare, inactivity_probe=90000)},
        {"name": "keys", "kubedc.ovn_tuning.ovn_global_options":
            {"remote": info["nb"]["remotes"], "database": "OVN_Northbound",
             "options": {"northd_probe_interval": None, "ic_probe_interval": 15000}}},
        {"name": "chassis keys", "kubedc.ovn_tuning.ovn_chassis_probe":
            {"remote": chassis_remote, "remote_probe_interval": 10000, "openflow_probe_interval": 30}},
        {"name": "nb timer", "kubedc.ovn_tuning.ovsdb_election_timer":
            {"ctl_socket": [m["ctl"] for m in info["nb"]["members"]], "database": "OVN_Northbound",
             "election_timer": 4000}},
    ]
    run = run_tasks(tasks)
    assert not run.failed_tasks(), run.failed_tasks()
    assert all(r["changed"] for r in run.results()), run.results()
    # By hand.
    nb_rows = dict((row["target"], {}) for row in cli_connections(lab, "nb"))
    nb_rows["tcp:%s:7002" % spare] = {"max_backoff": None, "other_config": {}}
    nb_rows["tcp:%s:7005" % spare] = {"inactivity_probe": 0}
    set_rows_cli(lab, "nb", nb_rows)
    sb_rows = dict((t, {}) for t in listener_targets(lab, "sb"))
    sb_rows[listener_targets(lab, "sb")[0]] = {"max_backoff": 2000}
    sb_rows["tcp:%s:7006" % spare] = {}
    set_rows_cli(lab, "sb", sb_rows)  # drops the 7003 row
    set_options_cli(lab, "nb", {"nbctl_probe_interval": "45000", "sbctl_probe_interval": None})
    assert wait_for_northd_copy(lab) is None
    set_chassis_keys_cli(lab, info["chassis"][0], {"ovn-bridge-remote-probe-interval": "7000",
                                                   "ovn-remote-probe-interval-" + info["chassis"][0]["name"]: "8000"})
    change_timer_by_hand(lab, "sb", 2000)


def test_restore_puts_back_exactly_what_was_captured(lab_factory, tmp_path):
    lab = lab_factory(name="snaprestore", chassis=1, northd=True)
    deployment = descriptor(lab)
    path = str(tmp_path / "a.json")
    prepare_state_a(lab)
    state_a = cli_tunables(lab)
    captured = run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment})
    assert captured.get("failed") is not True, captured.get("msg")
    assert captured["snapshot"]["tunables"] == state_a
    assert state_a["chassis"]["chassis-1"]["external_ids"]["ovn-remote-probe-interval-chassis-1"] == "25000"
    assert state_a["nb"]["election_timer"] == state_a["sb"]["election_timer"] == 1000

    change_to_state_b(lab)
    state_b = cli_tunables(lab)
    assert state_b != state_a
    assert state_b["nb"]["election_timer"] == 4000 and state_b["sb"]["election_timer"] == 2000

    args = {"state": "restored", "path": path, "deployment": deployment}
    checked = run_module(MODULE, args, check=True, diff=True)
    assert checked.get("failed") is not True, checked.get("msg")
    assert checked["changed"] is True
    assert checked["diff"] == {"before": state_b, "after": state_a}
    assert cli_tunables(lab) == state_b, "check mode changed the lab"
    spare = spare_address(lab)
    nb = checked["changes"]["nb"]
    assert sorted(nb["connections"]["create"]) == ["tcp:%s:7001" % spare]
    assert sorted(nb["connections"]["delete"]) == ["tcp:%s:7004" % spare, "tcp:%s:7005" % spare]
    assert nb["options"] == {"set": {"nbctl_probe_interval": "30000", "northd_probe_interval": "60000",
                                     "sbctl_probe_interval": "20000"},
                             "remove": ["ic_probe_interval"]}
    # SB_Global.options is ovn-northd's copy: restored through NB_Global, never written directly.
    assert "options" not in checked["changes"]["sb"]
    assert "sb.options.sbctl_probe_interval: absent -> \"20000\"" in checked["differences"]
    assert nb["election_timer"] == {"before": 4000, "after": 1000, "steps": [1000]}
    assert checked["changes"]["sb"]["election_timer"]["before"] == 2000
    assert checked["changes"]["chassis[chassis-1]"] == {"external_ids": {
        "set": {"ovn-remote-probe-interval": "30000", "ovn-remote-probe-interval-chassis-1": "25000"},
        "remove": ["ovn-bridge-remote-probe-interval", "ovn-openflow-probe-interval"]}}

    restored = run_module(MODULE, args, diff=True)
    assert restored.get("failed") is not True, restored.get("msg")
    assert restored["changed"] is True
    assert cli_tunables(lab) == state_a  # the SB copy included: the module waits for ovn-northd
    assert restored["diff"] == {"before": state_b, "after": state_a}
    assert [s["election_timer"] for s in restored["steps"]["nb.election_timer"]["steps"]] == [1000]
    for db in ("nb", "sb"):  # every member serves its database again
        for member in lab.info()[db]["members"]:
            assert lab.info()[db]["database"] in cli("ovsdb-client", "--timeout=20", "list-dbs",
                                                     member["remote"]).split()

    again = run_module(MODULE, args, diff=True)
    assert again.get("failed") is not True, again.get("msg")
    assert again["changed"] is False and again["changes"] == {} and again["differences"] == []
    assert again["diff"] == {"before": state_a, "after": state_a}
    assert cli_tunables(lab) == state_a


def test_restore_steps_the_election_timer_up(lab_factory, tmp_path):
    lab = lab_factory(name="snaptimer", databases=("nb",))
    deployment = {"name": "timer", "nb": {"remote": lab.info()["nb"]["remotes"],
                                          "ctl_sockets": [m["ctl"] for m in lab.info()["nb"]["members"]]}}
    change_timer_by_hand(lab, "nb", 4000)
    path = str(tmp_path / "timer.json")
    assert run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment})["changed"] is True
    change_timer_by_hand(lab, "nb", 500)
    args = {"state": "restored", "path": path, "deployment": deployment}
    checked = run_module(MODULE, args, check=True)
    assert checked["changes"]["nb"]["election_timer"] == {"before": 500, "after": 4000, "steps": [1000, 2000, 4000]}
    assert cli_election_timer(lab, "nb") == 500
    restored = run_module(MODULE, args)
    assert restored["changed"] is True, restored.get("msg")
    steps = restored["steps"]["nb.election_timer"]["steps"]
    assert [(s["previous"], s["election_timer"]) for s in steps] == [(500, 1000), (1000, 2000), (2000, 4000)]
    assert cli_election_timer(lab, "nb") == 4000
    assert run_module(MODULE, args)["changed"] is False


def member_reads(lab, member, target):
    """One NB member's own view, read with the CLIs on it alone: the listener row's inactivity_probe
    (ovn-nbctl --no-leader-only against its remote) and its election timer (ovs-appctl cluster/status)."""
    info = lab.info()
    rows = cli_rows(oracle.ctl_argv("nb", member["remote"], "--no-leader-only", timeout=30), "Connection",
                    ("target", "inactivity_probe"))
    text = cli(*oracle.appctl_argv(info, member, "cluster/status", info["nb"]["database"]))
    found = re.search(r"^Election timer: (\d+)(.*)$", text, re.M)
    return (dict((row["target"], row["inactivity_probe"]) for row in rows)[target],
            int(found.group(1)), found.group(2).strip())


def test_restore_with_a_paused_follower_restores_through_the_leader_and_a_majority(lab_factory, tmp_path):
    """A rollback while one RAFT follower is stopped (SIGSTOP: it keeps its sockets and answers nothing).
    The leader and the other member are a majority: the listener probe and the election timer are
    restored - check mode first, writing nothing - the paused member is named as not confirmed, and it
    takes the restored values from the leader's log once it runs again."""
    lab = lab_factory(name="snappause", databases=("nb",))
    info = lab.info()
    members = info["nb"]["members"]
    deployment = {"name": "paused", "nb": {"remote": info["nb"]["remotes"], "ctl_sockets": [m["ctl"] for m in members]}}
    target = listener_targets(lab, "nb")[0]
    set_rows_cli(lab, "nb", {target: {"inactivity_probe": 60000}})
    path = str(tmp_path / "paused.json")
    captured = run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment})
    assert captured.get("failed") is not True, captured.get("msg")
    assert captured["snapshot"]["tunables"]["nb"]["election_timer"] == 1000
    # The incident's state: a 5 s listener probe, and a timer that differs from the snapshot's.
    set_rows_cli(lab, "nb", {target: {"inactivity_probe": 5000}})
    change_timer_by_hand(lab, "nb", 4000)
    leader_index = lab.leader("nb")
    paused_index = next(i for i in range(3) if i != leader_index)
    live = [members[i] for i in range(3) if i != paused_index]
    paused_ctl = members[paused_index]["ctl"]
    args = {"state": "restored", "path": path, "deployment": deployment}

    def paused_unconfirmed(result):
        unconfirmed = result["steps"]["nb.election_timer"]["unconfirmed"]
        assert [u["ctl_socket"] for u in unconfirmed] == [paused_ctl], unconfirmed
        assert unconfirmed[0]["reason"].startswith("did not answer: "), unconfirmed
        assert any(paused_ctl in w and "did not answer" in w for w in result.get("warnings", [])), \
            result.get("warnings")

    lab.pause("nb", paused_index)
    try:
        checked = run_module(MODULE, args, check=True)
        assert checked.get("failed") is not True, checked.get("msg")
        assert checked["changed"] is True
        assert [u["target"] for u in checked["changes"]["nb"]["connections"]["update"]] == [target]
        assert checked["changes"]["nb"]["election_timer"] == {"before": 4000, "after": 1000, "steps": [1000]}
        paused_unconfirmed(checked)
        assert [member_reads(lab, m, target) for m in live] == [(5000, 4000, "")] * 2, "check mode wrote"

        restored = run_module(MODULE, args)
        assert restored.get("failed") is not True, restored.get("msg")
        assert restored["changed"] is True
        assert [(s["previous"], s["election_timer"], s["committed"])
                for s in restored["steps"]["nb.election_timer"]["steps"]] == [(4000, 1000, True)]
        paused_unconfirmed(restored)
        assert [member_reads(lab, m, target) for m in live] == [(60000, 1000, "")] * 2

        again = run_module(MODULE, args)
        assert again.get("failed") is not True, again.get("msg")
        assert again["changed"] is False and again["differences"] == []
    finally:
        lab.resume("nb", paused_index)
    deadline = time.monotonic() + 60
    while member_reads(lab, members[paused_index], target)[:2] != (60000, 1000):
        assert time.monotonic() < deadline, "the resumed member did not catch up within 60 s"
        time.sleep(0.5)
    assert cli_election_timer(lab, "nb") == 1000


# --------------------------------------------------------------------------- kube-ovn clustered mode

ENV_NAMES = ("OVN_LEADER_PROBE_INTERVAL", "OVN_NORTHD_N_THREADS", "OVN_NORTHD_PROBE_INTERVAL", "PROBE_INTERVAL")


def cli_local_config_rows(remote):
    """Local_Config Connection rows read with ovsdb-client (the members' real listeners in kube-ovn mode)."""
    out = cli("ovsdb-client", "--timeout=30", "transact", remote, json.dumps([
        "Local_Config", {"op": "select", "table": "Connection", "where": [],
                         "columns": list(SB_COLUMNS)}]))
    rows = []
    for row in json.loads(out)[0]["rows"]:
        row = dict((column, _value(value)) for column, value in row.items())
        row["other_config"] = row["other_config"] or {}
        rows.append(row)
    return sorted(rows, key=lambda r: r["target"])


def standin_env(server):
    """The ovn-central container's env as the stand-in serves it (read with urllib)."""
    deployment = http_get_deployment(server)
    container = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "ovn-central"][0]
    env = dict((e["name"], {"valueFrom": e["valueFrom"]} if e.get("valueFrom") else e.get("value", ""))
               for e in container.get("env") or [])
    return dict((name, env.get(name)) for name in ENV_NAMES)


def standin_ovs_env(server):
    """The ovs-ovn DaemonSet's openvswitch container env as the stand-in serves it."""
    container = http_get_daemonset(server)["spec"]["template"]["spec"]["containers"][0]
    env = dict((e["name"], e.get("value", "")) for e in container.get("env") or [])
    return dict((name, env.get(name)) for name in ("OVN_REMOTE_OPENFLOW_INTERVAL", "OVN_REMOTE_PROBE_INTERVAL"))


def test_kube_ovn_local_config_rows_and_deployment_env_are_restored(lab_factory, k8s_standin, tmp_path):
    lab = lab_factory(name="snapkube", databases=("nb",), kube_ovn=True)
    local_remotes = [m["extra_remote"] for m in lab.info()["nb"]["members"]]
    deployment = {"name": "kube", "nb": {"remote": lab.info()["nb"]["remotes"]},
                  "local_config": {"remotes": local_remotes},
                  "kube_ovn": {"kubeconfig": k8s_standin.kubeconfig}}
    spare = spare_address(lab)

    def live():
        return ({"local_config": dict((r, cli_local_config_rows(r)) for r in local_remotes)}, standin_env(k8s_standin),
                standin_ovs_env(k8s_standin))

    path = str(tmp_path / "kube.json")
    captured = run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment})
    assert captured.get("failed") is not True, captured.get("msg")
    rows_a, env_a, ovs_a = live()
    tunables = captured["snapshot"]["tunables"]
    assert tunables["ovs_ovn"] == {"namespace": "kube-system", "name": "ovs-ovn", "container": "openvswitch",
                                   "env": ovs_a} and ovs_a["OVN_REMOTE_PROBE_INTERVAL"] == "10000"
    assert dict((r, p["connections"]) for r, p in tunables["local_config"].items()) == rows_a["local_config"]
    assert tunables["kube_ovn"]["env"] == env_a
    assert tunables["kube_ovn"]["namespace"] == "kube-system" and tunables["nb"]["connections"] == []

    change = run_tasks([
        {"name": "listener probe", "kubedc.ovn_tuning.ovsdb_connection": {
            "database": "Local_Config", "remote": local_remotes[0],
            "target": rows_a["local_config"][local_remotes[0]][0]["target"], "inactivity_probe": 60000}},
        {"name": "env", "kubedc.ovn_tuning.ovn_central_env": {
            "kubeconfig": k8s_standin.kubeconfig, "wait": False,
            "env": {"OVN_LEADER_PROBE_INTERVAL": 15, "PROBE_INTERVAL": None}}},
        {"name": "ovs env", "kubedc.ovn_tuning.ovs_ovn_env": {
            "kubeconfig": k8s_standin.kubeconfig, "env": {"OVN_REMOTE_PROBE_INTERVAL": "5m"}}},
    ])
    assert not change.failed_tasks(), change.failed_tasks()
    cli("ovsdb-client", "--timeout=30", "transact", local_remotes[1], json.dumps([
        "Local_Config",
        {"op": "insert", "table": "Connection", "uuid-name": "extra",
         "row": {"target": "tcp:%s:7301" % spare, "inactivity_probe": 5000}},
        {"op": "mutate", "table": "Config", "where": [],
         "mutations": [["connections", "insert", ["set", [["named-uuid", "extra"]]]]]}]))
    rows_b, env_b, ovs_b = live()
    assert rows_b != rows_a and env_b != env_a and ovs_b != ovs_a

    args = {"state": "restored", "path": path, "deployment": deployment}
    checked = run_module(MODULE, args, check=True)
    assert checked["changed"] is True, checked.get("msg")
    assert live() == (rows_b, env_b, ovs_b), "check mode changed something"
    assert checked["changes"]["ovs_ovn"] == {"env": [
        {"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "300000", "after": "10000"}]}
    assert checked["changes"]["kube_ovn"] == {"env": [
        {"name": "OVN_LEADER_PROBE_INTERVAL", "before": "15", "after": env_a["OVN_LEADER_PROBE_INTERVAL"]},
        {"name": "PROBE_INTERVAL", "before": None, "after": env_a["PROBE_INTERVAL"]}]}
    assert checked["changes"]["local_config[%s]" % local_remotes[1]]["connections"]["delete"] == [
        "tcp:%s:7301" % spare]

    restored = run_module(MODULE, args)
    assert restored["changed"] is True, restored.get("msg")
    assert live() == (rows_a, env_a, ovs_a)
    assert any("restarts" in warning for warning in restored.get("warnings", []))
    assert any("no pod restarts now" in warning for warning in restored.get("warnings", []))  # OnDelete
    assert k8s_standin.restarts_of("kube-system", "ovs-ovn") == 0
    again = run_module(MODULE, args)
    assert again["changed"] is False, again.get("msg")
    assert live() == (rows_a, env_a, ovs_a)

    # A DaemonSet that now rolls every node on a template change: the restore is refused before anything
    # is written (the Local_Config row changed by hand stays as it is), unless the descriptor allows it.
    def rolling(daemonset):
        daemonset["spec"]["updateStrategy"] = {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    k8s_standin.write("kube-system", "ovs-ovn", rolling, resource="daemonsets")
    changed_again = run_tasks([
        {"name": "ovs env", "kubedc.ovn_tuning.ovs_ovn_env": {
            "kubeconfig": k8s_standin.kubeconfig, "allow_restart": True,
            "env": {"OVN_REMOTE_PROBE_INTERVAL": "5m"}}},
        {"name": "listener probe", "kubedc.ovn_tuning.ovsdb_connection": {
            "database": "Local_Config", "remote": local_remotes[0],
            "target": rows_a["local_config"][local_remotes[0]][0]["target"], "inactivity_probe": 60000}},
    ])
    assert not changed_again.failed_tasks(), changed_again.failed_tasks()
    state_c = live()
    assert k8s_standin.restarts_of("kube-system", "ovs-ovn") == 3
    refused = run_module(MODULE, args)
    assert refused.get("failed") is True and refused.get("changed") is not True
    assert "deployment.kube_ovn.ovs_ovn.allow_restart: DaemonSet kube-system/ovs-ovn has updateStrategy" \
        " RollingUpdate" in refused["msg"], refused["msg"]
    assert live() == state_c
    allowed = dict(deployment, kube_ovn=dict(deployment["kube_ovn"], ovs_ovn={"allow_restart": True}))
    restored = run_module(MODULE, dict(args, deployment=allowed))
    assert restored["changed"] is True, restored.get("msg")
    assert live() == (rows_a, env_a, ovs_a)
    # The module does not wait for that rollout (the role follows with ovs_ovn_env to wait): the stand-in's
    # controller goes on replacing the pods, one node at a time, until all 3 run the restored template.
    deadline = time.monotonic() + 30
    while k8s_standin.restarts_of("kube-system", "ovs-ovn") < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert k8s_standin.restarts_of("kube-system", "ovs-ovn") == 6


# --------------------------------------------------------------------------- the property

PROBE = st.one_of(st.none(), st.just(0), st.integers(1000, 600000))
LISTENER_PROBE = st.one_of(st.none(), st.just(0), st.integers(10000, 600000))
BACKOFF = st.one_of(st.none(), st.integers(1000, 60000))
OPTION = st.one_of(st.none(), st.just("0"), st.integers(1000, 600000).map(str))
EXTRA_ROW = st.fixed_dictionaries({"inactivity_probe": PROBE, "max_backoff": BACKOFF})
STATE = st.fixed_dictionaries({
    "nb_listener_probes": st.lists(LISTENER_PROBE, min_size=1, max_size=1),
    "sb_listener_probes": st.lists(LISTENER_PROBE, min_size=1, max_size=1),
    "nb_extra": st.dictionaries(st.sampled_from([7101, 7102, 7103, 7104]), EXTRA_ROW, max_size=3),
    "sb_extra": st.dictionaries(st.sampled_from([7201, 7202, 7203]), EXTRA_ROW, max_size=2),
    "nb_options": st.fixed_dictionaries(dict((k, OPTION) for k in NB_OPTION_KEYS)),
    "sb_options": st.fixed_dictionaries(dict((k, OPTION) for k in SB_OPTION_KEYS)),
    "chassis": st.fixed_dictionaries({
        "ovn-remote-probe-interval": OPTION,
        "ovn-bridge-remote-probe-interval": OPTION,
        "ovn-openflow-probe-interval": st.one_of(st.none(), st.integers(1, 3600).map(str)),
    }),
    "nb_election_timer": st.sampled_from([1000, 2000, 4000]),
})


def set_state(lab, state, via_modules=False):
    """Set every tunable of ``state``: rows and the timer by hand; options and chassis keys by hand
    or with the modules."""
    spare = spare_address(lab)
    for db in ("nb", "sb"):
        rows = {}
        for target, probe in zip(listener_targets(lab, db), state[db + "_listener_probes"]):
            rows[target] = {"inactivity_probe": probe, "max_backoff": None}
        for port, row in state[db + "_extra"].items():
            rows["tcp:%s:%d" % (spare, port)] = dict(row)
        set_rows_cli(lab, db, rows)
    chassis_remote = lab.info()["chassis"][0]["ovs_remote"]
    if via_modules:
        info = lab.info()
        tasks = [
            {"kubedc.ovn_tuning.ovn_global_options": {
                "remote": info[db]["remotes"], "database": info[db]["database"], "options": state[db + "_options"]}}
            for db in ("nb", "sb")
        ]
        options = {"ovn-remote-probe-interval": "remote_probe_interval",
                   "ovn-bridge-remote-probe-interval": "bridge_remote_probe_interval",
                   "ovn-openflow-probe-interval": "openflow_probe_interval"}
        present = dict((options[k], v) for k, v in state["chassis"].items() if v is not None)
        absent = dict((options[k], True) for k, v in state["chassis"].items() if v is None)
        for chosen, chassis_state in ((present, "present"), (absent, "absent")):
            if chosen:
                tasks.append({"kubedc.ovn_tuning.ovn_chassis_probe":
                              dict(chosen, remote=chassis_remote, state=chassis_state)})
        run = run_tasks(tasks)
        assert not run.failed_tasks(), run.failed_tasks()
    else:
        set_options_cli(lab, "nb", state["nb_options"])
        set_options_cli(lab, "sb", state["sb_options"])
        set_chassis_keys_cli(lab, lab.info()["chassis"][0], state["chassis"])
    if cli_election_timer(lab, "nb") != state["nb_election_timer"]:
        change_timer_by_hand(lab, "nb", state["nb_election_timer"])


@pytest.fixture
def property_lab(lab_factory):
    return lab_factory(name="snapprop", chassis=1)


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(state_a=STATE, state_b=STATE, b_via_modules=st.booleans())
def test_property_restore_returns_any_state_b_to_the_captured_state_a(property_lab, tmp_path_factory,
                                                                      state_a, state_b, b_via_modules):
    lab = property_lab
    deployment = descriptor(lab, name="property", timers=("nb",))
    path = str(tmp_path_factory.mktemp("property") / "a.json")
    set_state(lab, state_a)
    live_a = cli_tunables(lab, timers=("nb",))
    captured = run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment})
    assert captured.get("failed") is not True, captured.get("msg")
    assert captured["snapshot"]["tunables"] == live_a

    set_state(lab, state_b, via_modules=b_via_modules)
    live_b = cli_tunables(lab, timers=("nb",))
    args = {"state": "restored", "path": path, "deployment": deployment}
    restored = run_module(MODULE, args)
    assert restored.get("failed") is not True, restored.get("msg")
    assert restored["changed"] is (live_b != live_a)
    assert cli_tunables(lab, timers=("nb",)) == live_a

    again = run_module(MODULE, args)
    assert again.get("failed") is not True, again.get("msg")
    assert again["changed"] is False
    assert cli_tunables(lab, timers=("nb",)) == live_a


def test_election_timers_given_by_the_caller_are_recorded_and_left_to_it_on_restore(ovn_lab, tmp_path):
    """A descriptor with central hosts and no ctl_sockets: the timers the roles read on the hosts
    are recorded as given; a restore whose live timer differs writes nothing of it and says what the
    caller must walk it back to."""
    path = str(tmp_path / "snap.json")
    deployment = dict(descriptor(ovn_lab, timers=()), central_hosts=["central-1", "central-2", "central-3"])
    live_timer = ovn_lab.election_timer_ms
    captured = run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment,
                                   "election_timers": {"nb": live_timer, "sb": str(live_timer)}})
    assert captured.get("failed") is not True, captured.get("msg")
    with open(path) as handle:
        on_disk = json.load(handle)
    assert on_disk["tunables"]["nb"]["election_timer"] == live_timer
    assert on_disk["tunables"]["sb"]["election_timer"] == live_timer
    assert on_disk["sources"]["nb"]["election_timer"] == "given (read on the central hosts)"
    before = json.loads(oracle.nbctl(ovn_lab.info()["nb"]["remotes"], "--format=json", "list", "Connection"))

    restore = {"state": "restored", "path": path, "deployment": deployment}
    results = run_cases(module=MODULE, cases=[
        ("walked up since", dict(restore, election_timers={"nb": live_timer * 4, "sb": live_timer}), False),
        ("same", dict(restore, election_timers={"nb": live_timer, "sb": live_timer}), False),
        ("not given", restore, False),
        ("with sockets", dict(restore, deployment=descriptor(ovn_lab), election_timers={"nb": live_timer}), False),
        ("unknown key", dict(restore, election_timers={"ic": live_timer}), False),
        ("not a timer", dict(restore, election_timers={"nb": -5, "sb": live_timer}), False),
    ])
    walked = results["walked up since"]
    assert walked.get("failed") is not True, walked.get("msg")
    assert walked["changed"] is True
    assert walked["election_timers_to_restore"] == {"nb": live_timer}
    assert list(walked["changes"]) == ["nb"] and list(walked["changes"]["nb"]) == ["election_timer"]
    change = walked["changes"]["nb"]["election_timer"]
    assert change["before"] == live_timer * 4 and change["after"] == live_timer and change["steps"][-1] == live_timer
    assert walked["steps"]["nb.election_timer"] == {"left_to_caller": True, "target": live_timer}
    assert results["same"]["changed"] is False and results["same"]["election_timers_to_restore"] == {}
    # Nothing of the database was written by either restore.
    assert json.loads(oracle.nbctl(ovn_lab.info()["nb"]["remotes"], "--format=json", "list", "Connection")) == before
    assert results["not given"]["failed"] and "nb.election_timer" in results["not given"]["msg"]
    assert results["with sockets"]["failed"]
    assert "election_timers.nb: not with deployment.nb.ctl_sockets" in results["with sockets"]["msg"]
    assert results["unknown key"]["failed"] and "election_timers: unknown key 'ic'; accepted: nb, sb" in (
        results["unknown key"]["msg"])
    assert results["not a timer"]["failed"] and "election_timers.nb: must be the committed timer in ms" in (
        results["not a timer"]["msg"])


def test_chassis_hosts_keys_given_by_the_caller_are_recorded_and_handed_back_on_restore(ovn_lab, tmp_path):
    """A descriptor with chassis hosts: the probe keys the roles read on each chassis host are recorded
    as given; a restore writes none of them and returns the keys each host must be given back (only
    the differing ones when the live keys are given, all recorded ones when not)."""
    path = str(tmp_path / "snap.json")
    base = descriptor(ovn_lab, timers=())
    base.pop("chassis", None)
    deployment = dict(base, chassis_hosts=["hv-1", "hv-2"])
    given = {"hv-1": {"ovn-remote-probe-interval": "5000"}, "hv-2": {}}
    captured = run_module(MODULE, {"state": "captured", "path": path, "deployment": deployment,
                                   "chassis_state": given})
    assert captured.get("failed") is not True, captured.get("msg")
    with open(path) as handle:
        on_disk = json.load(handle)
    assert on_disk["tunables"]["chassis"] == {
        "hv-1": {"external_ids": {"ovn-bridge-remote-probe-interval": None, "ovn-openflow-probe-interval": None,
                                  "ovn-remote-probe-interval": "5000"}},
        "hv-2": {"external_ids": {"ovn-bridge-remote-probe-interval": None, "ovn-openflow-probe-interval": None,
                                  "ovn-remote-probe-interval": None}}}
    assert on_disk["sources"]["chassis"] == {"hv-1": "read on the chassis host", "hv-2": "read on the chassis host"}

    restore = {"state": "restored", "path": path, "deployment": deployment}
    results = run_cases(module=MODULE, cases=[
        ("changed since", dict(restore, chassis_state={"hv-1": {"ovn-remote-probe-interval": "300000"},
                                                       "hv-2": {}}), False),
        ("not read", restore, False),
        ("without chassis hosts", dict(restore, deployment=base), False),
        ("capture without keys", {"state": "captured", "path": str(tmp_path / "b.json"),
                                  "deployment": deployment}, False),
        ("a host missing", {"state": "captured", "path": str(tmp_path / "c.json"), "deployment": deployment,
                            "chassis_state": {"hv-1": {}}}, False),
        ("unknown key", {"state": "captured", "path": str(tmp_path / "d.json"), "deployment": deployment,
                         "chassis_state": {"hv-1": {"system-id": "x"}, "hv-2": {}}}, False),
        ("listed twice", {"state": "captured", "path": str(tmp_path / "e.json"),
                          "deployment": dict(deployment, chassis_hosts=["hv-1", "hv-1"]),
                          "chassis_state": {"hv-1": {}}}, False),
    ])
    changed = results["changed since"]
    assert changed.get("failed") is not True, changed.get("msg")
    assert changed["chassis_to_restore"] == {"hv-1": on_disk["tunables"]["chassis"]["hv-1"]["external_ids"]}
    assert "chassis[hv-1]" in changed["changes"], changed["changes"]
    not_read = results["not read"]
    assert not_read.get("failed") is not True, not_read.get("msg")
    assert sorted(not_read["chassis_to_restore"]) == ["hv-1", "hv-2"]
    assert not_read["changed"] is False, not_read
    # A descriptor without the chassis hosts the snapshot holds: another shape, nothing restored.
    assert results["without chassis hosts"]["failed"]
    assert "chassis[hv-1]" in results["without chassis hosts"]["msg"]
    assert results["capture without keys"]["failed"]
    assert "chassis_state: required with deployment.chassis_hosts" in results["capture without keys"]["msg"]
    assert results["a host missing"]["failed"] and "missing: hv-2" in results["a host missing"]["msg"]
    assert results["unknown key"]["failed"] and "chassis_state.hv-1: unknown key(s) system-id" in (
        results["unknown key"]["msg"])
    assert results["listed twice"]["failed"] and "listed twice: hv-1" in results["listed twice"]["msg"]
    assert not os.path.exists(str(tmp_path / "b.json"))
