"""kubedc.ovn_tuning.ovn_global_options against the session lab's NB and SB clusters.

The module runs through ansible-playbook; the options map is read back with
`ovn-nbctl/ovn-sbctl --db=<the lab's remotes> list NB_Global/SB_Global`, run as command tasks
between the module runs of the same playbook (and directly by the tests).  ovn-northd runs
against the lab and owns keys of its own in NB_Global.options; every test checks that they
survive, and the `shared_options` fixture puts both maps back exactly as they were.
"""

import functools
import json

import pytest

from ovnlab.waiting import wait_until
from support import oracle, three_runs

MODULE = "kubedc.ovn_tuning.ovn_global_options"


run_many = functools.partial(three_runs.run_many, MODULE)
check_real_again = functools.partial(three_runs.check_real_again, MODULE)
refused = functools.partial(three_runs.refused, MODULE)


GLOBAL = {"nb": "NB_Global", "sb": "SB_Global"}


# --------------------------------------------------------------------------- the independent oracle

def ctl_argv(lab, db, *args):
    return oracle.ctl_argv(db, lab.remotes(db), *args)


def ctl(lab, db, *args):
    return oracle.run(ctl_argv(lab, db, *args))


def _options(list_json):
    table = json.loads(list_json)
    assert len(table["data"]) == 1, table
    kind, pairs = table["data"][0][0]
    assert kind == "map"
    return dict(pairs)


def options_reader(lab, db):
    """The global row's options map as ovn-nbctl/ovn-sbctl list it."""
    return oracle.Reader([ctl_argv(lab, db, "--format=json", "--columns=options", "list", GLOBAL[db])],
                         lambda outputs: _options(outputs[0]))


def cli_options(lab, db):
    return options_reader(lab, db)()


def ctl_task(lab, db, name, *args):
    """A command task that changes the database with ovn-nbctl/ovn-sbctl (another writer)."""
    return {"name": name, "ansible.builtin.command": {"argv": ctl_argv(lab, db, *args)},
            "check_mode": False}


def restore_options(lab, db, before):
    now = cli_options(lab, db)
    commands = []
    for key in sorted(set(before) | set(now)):
        if key not in before:
            commands += ["--", "remove", GLOBAL[db], ".", "options", key]
        elif now.get(key) != before[key]:
            commands += ["--", "set", GLOBAL[db], ".", "options:%s=%s" % (key, json.dumps(before[key]))]
    if commands:
        ctl(lab, db, *commands[1:])


@pytest.fixture
def shared_options(ovn_lab):
    """Puts the session lab's NB_Global and SB_Global options back exactly as they were.

    SB_Global.options is ovn-northd's copy of NB_Global.options: once NB is restored, the SB
    map follows it (waited for, within a bound)."""
    saved = dict((db, cli_options(ovn_lab, db)) for db in ("nb", "sb"))
    yield saved
    restore_options(ovn_lab, "nb", saved["nb"])
    assert cli_options(ovn_lab, "nb") == saved["nb"]
    wait_until(lambda: cli_options(ovn_lab, "sb") == saved["sb"], 20,
               "ovn-northd to copy the restored NB_Global.options into SB_Global.options")


def only(options, keys):
    return dict((k, v) for k, v in options.items() if k in keys)


# --------------------------------------------------------------------------- NB

def test_probe_keys_and_a_plain_key(ovn_lab, shared_options):
    original = shared_options["nb"]
    assert "northd_probe_interval" not in original and "nbctl_probe_interval" not in original
    northd_keys = dict(original)  # ovn-northd's own keys (mac_prefix, svc_monitor_mac...)
    assert northd_keys, "ovn-northd should have written keys of its own"
    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound",
            "options": {"northd_probe_interval": "60s", "nbctl_probe_interval": 30000,
                        "kubedc_test_note": "hello"}}
    written = {"northd_probe_interval": "60000", "nbctl_probe_interval": "30000",
               "kubedc_test_note": "hello"}

    checked, applied, again, states = check_real_again(args, options_reader(ovn_lab, "nb"))
    nothing = dict((key, None) for key in written)
    for result in (checked, applied):
        assert result["options_before"] == nothing
        assert result["options_after"] == written
        assert result["options"] == dict(original, **written)
        assert result["diff"] == {"before": {"options": {}}, "after": {"options": written}}
    assert states[0] == original
    # Written as integer milliseconds; every other key (ovn-northd's) kept.
    assert states[2] == dict(original, **written)
    assert again["options_before"] == again["options_after"] == written
    assert again["options"] == states[3]

    # A null value removes its key while another key changes, in one run.
    args["options"] = {"northd_probe_interval": "90s", "kubedc_test_note": None}
    checked, applied, again, states = check_real_again(args, options_reader(ovn_lab, "nb"))
    for result in (checked, applied):
        assert result["options_before"] == {"northd_probe_interval": "60000", "kubedc_test_note": "hello"}
        assert result["options_after"] == {"northd_probe_interval": "90000", "kubedc_test_note": None}
        assert result["diff"] == {
            "before": {"options": {"northd_probe_interval": "60000", "kubedc_test_note": "hello"}},
            "after": {"options": {"northd_probe_interval": "90000"}}}
    expected = dict(original, northd_probe_interval="90000", nbctl_probe_interval="30000")
    assert states[2] == states[3] == expected
    assert cli_options(ovn_lab, "nb") == expected


def test_another_writers_keys_survive(ovn_lab, shared_options):
    """Keys that ovn-nbctl changes between runs are kept: the module mutates the named keys
    only, it never writes the map back."""
    original = shared_options["nb"]
    nb = ovn_lab.remotes("nb")
    ctl(ovn_lab, "nb", "set", "NB_Global", ".", 'options:kubedc_test_other="before"')
    args = {"remote": nb, "database": "OVN_Northbound", "options": {"northd_probe_interval": 15000}}
    between = [
        ctl_task(ovn_lab, "nb", "another writer changes a key", "set", "NB_Global", ".",
                 'options:kubedc_test_other="changed"'),
        ctl_task(ovn_lab, "nb", "another writer adds a key", "set", "NB_Global", ".",
                 'options:kubedc_test_added="1"'),
    ]
    checked, applied, again, states = check_real_again(args, options_reader(ovn_lab, "nb"), between)
    assert states[1] == dict(original, kubedc_test_other="before")
    assert states[2] == dict(original, kubedc_test_other="changed", kubedc_test_added="1",
                             northd_probe_interval="15000")
    assert states[3] == states[2]
    assert applied["options"]["kubedc_test_other"] == "before"
    assert again["options"] == states[3]
    assert again["options_before"] == again["options_after"] == {"northd_probe_interval": "15000"}

    # Removing the named key leaves the other writer's keys too.
    results = run_many([("remove", {"remote": nb, "database": "OVN_Northbound",
                                    "options": ["northd_probe_interval"], "state": "absent"})])
    assert results["remove"]["changed"] is True
    assert cli_options(ovn_lab, "nb") == dict(original, kubedc_test_other="changed", kubedc_test_added="1")


def test_state_absent_with_a_list_then_a_dict(ovn_lab, shared_options):
    original = shared_options["nb"]
    ctl(ovn_lab, "nb", "set", "NB_Global", ".", 'options:northd_probe_interval="7000"',
        'options:ic_probe_interval="8000"')
    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound",
            "options": ["northd_probe_interval", "kubedc_never_set"], "state": "absent"}
    checked, applied, again, states = check_real_again(args, options_reader(ovn_lab, "nb"))
    for result in (checked, applied):
        assert result["options_before"] == {"northd_probe_interval": "7000", "kubedc_never_set": None}
        assert result["options_after"] == {"northd_probe_interval": None, "kubedc_never_set": None}
        assert result["diff"] == {"before": {"options": {"northd_probe_interval": "7000"}},
                                  "after": {"options": {}}}
    assert states[2] == dict(original, ic_probe_interval="8000")

    # A dict names the keys too; its values do not matter.
    args["options"] = {"ic_probe_interval": "whatever"}
    checked, applied, again, states = check_real_again(args, options_reader(ovn_lab, "nb"))
    assert applied["options_before"] == {"ic_probe_interval": "8000"}
    assert states[2] == original


# --------------------------------------------------------------------------- SB

def test_sbctl_probe_is_set_in_nb_and_reaches_sb(ovn_lab, shared_options):
    """ovn-northd replaces SB_Global.options with a copy of NB_Global.options: ovn-sbctl's probe
    is set through OVN_Northbound and read back from the SB with ovn-sbctl."""
    original = shared_options["nb"]
    sb_original = shared_options["sb"]
    assert "sbctl_probe_interval" not in original and "sbctl_probe_interval" not in sb_original
    assert "northd_internal_version" in sb_original, "the SB map should be ovn-northd's copy"
    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound",
            "options": {"sbctl_probe_interval": "45s"}}
    checked, applied, again, states = check_real_again(args, options_reader(ovn_lab, "nb"))
    for result in (checked, applied):
        assert result["options_before"] == {"sbctl_probe_interval": None}
        assert result["options_after"] == {"sbctl_probe_interval": "45000"}
    assert states[2] == dict(original, sbctl_probe_interval="45000")
    wait_until(lambda: cli_options(ovn_lab, "sb").get("sbctl_probe_interval") == "45000", 20,
               "ovn-northd to copy sbctl_probe_interval into SB_Global.options")
    assert cli_options(ovn_lab, "sb") == dict(sb_original, sbctl_probe_interval="45000")


def test_sb_without_ovn_northd(lab_factory):
    """Where no ovn-northd maintains SB_Global.options, the module writes it directly."""
    lab = lab_factory(name="options-sb", databases=("sb",), members=1)
    before = cli_options(lab, "sb")
    args = {"remote": lab.remotes("sb"), "database": "OVN_Southbound",
            "options": {"sbctl_probe_interval": "2m", "kubedc_test_note": 7}}
    written = {"sbctl_probe_interval": "120000", "kubedc_test_note": "7"}
    checked, applied, again, states = check_real_again(args, options_reader(lab, "sb"))
    assert states[0] == before
    for result in (checked, applied):
        assert result["options_after"] == written
        assert result["diff"] == {"before": {"options": {}}, "after": {"options": written}}
    assert states[2] == dict(before, **written)
    assert again["options"] == states[3]


# --------------------------------------------------------------------------- bad input

def test_bad_inputs_fail_before_any_write(ovn_lab, shared_options):
    nb = ovn_lab.remotes("nb")

    def nb_args(options, **changes):
        args = {"remote": nb, "database": "OVN_Northbound", "options": options}
        args.update(changes)
        return args

    cases = [
        ("probe 500", nb_args({"northd_probe_interval": 500}), "options.northd_probe_interval"),
        ("probe -1", nb_args({"northd_probe_interval": -1}), "options.northd_probe_interval"),
        ("probe 2h", nb_args({"nbctl_probe_interval": "2h"}), "options.nbctl_probe_interval"),
        ("probe words", nb_args({"ic_probe_interval": "soon"}), "options.ic_probe_interval"),
        ("NB key on SB", nb_args({"northd_probe_interval": 30000}, database="OVN_Southbound",
                                 remote=ovn_lab.remotes("sb")), "options.northd_probe_interval"),
        # ovn-northd runs: SB_Global.options is its copy of NB_Global.options.
        ("SB map kept by ovn-northd", nb_args({"sbctl_probe_interval": 30000}, database="OVN_Southbound",
                                              remote=ovn_lab.remotes("sb")), "options"),
        ("unknown database", nb_args({"x": "1"}, database="Local_Config"), "database"),
        ("list with present", nb_args(["northd_probe_interval"]), "options"),
        ("string with absent", nb_args("northd_probe_interval", state="absent"), "options"),
        ("no keys", nb_args({}), "options"),
        ("nested value", nb_args({"kubedc_test": {"a": 1}}), "options.kubedc_test"),
        # A good key next to a bad one: nothing is written.
        ("one good one bad", nb_args({"kubedc_test_note": "x", "northd_probe_interval": 999}),
         "options.northd_probe_interval"),
        # Validation comes before connecting: an unreachable remote is never tried.
        ("bad probe, dead remote", nb_args({"northd_probe_interval": 100}, remote="tcp:127.0.0.1:1",
                                           timeout=60), "options.northd_probe_interval"),
    ]
    before = dict((db, cli_options(ovn_lab, db)) for db in ("nb", "sb"))
    results = refused(cases)
    assert "use database: OVN_Northbound" in results["NB key on SB"]["msg"]
    assert "database: OVN_Northbound" in results["SB map kept by ovn-northd"]["msg"]
    assert "ovn-northd's copy" in results["SB map kept by ovn-northd"]["msg"]
    assert "1000" in results["probe 500"]["msg"]
    assert "one hour" in results["probe 2h"]["msg"]
    for db in ("nb", "sb"):
        assert cli_options(ovn_lab, db) == before[db]
