"""kubedc.ovn_tuning.ovsdb_connection against real ovsdb-server clusters.

The module runs through ansible-playbook; what it wrote is read back with ovn-nbctl / ovn-sbctl
(`--db=` the lab's remotes) and, for kube-ovn's Local_Config, with ovsdb-client.

In the lab every member is a host of its own and listens through the database's one Connection
row, ptcp:6641:0.0.0.0 (SB 6642), as ovn-ctl and kolla-ansible set it.  Tests on the shared session
lab only change that row's probe columns or add rows of their own, and the `shared_rows` fixture
puts every row back exactly (same uuids, same values) and checks that every member still serves its
database.  Removing rows (`exclusive`, `state: absent`) and kube-ovn's Local_Config run on private
labs from lab_factory.
"""

import functools
import json
import socket

import pytest

from ovnlab.waiting import wait_until
from support import ansible_run, oracle, three_runs

MODULE = "kubedc.ovn_tuning.ovsdb_connection"


# One module run through ansible-playbook; ``failed`` comes from the task's status.
run_module = functools.partial(ansible_run.run_module, MODULE, timeout=180)
check_real_again = functools.partial(three_runs.check_real_again, MODULE)
refused = functools.partial(three_runs.refused, MODULE)


DATABASE = {"nb": "OVN_Northbound", "sb": "OVN_Southbound"}
GLOBAL = {"nb": "NB_Global", "sb": "SB_Global"}
EPHEMERAL = ("is_connected", "status")
OPTIONAL = ("inactivity_probe", "max_backoff")
EXTRA_NB_PORT = 6661
EXTRA_SB_PORT = 6662


# --------------------------------------------------------------------------- the independent oracle

def ovsdb_value(value):
    """OVSDB JSON notation (as the CLIs print it with --format=json) to plain Python."""
    if isinstance(value, list) and len(value) == 2 and value[0] in ("uuid", "named-uuid"):
        return value[1]
    if isinstance(value, list) and len(value) == 2 and value[0] == "map":
        return dict((k, ovsdb_value(v)) for k, v in value[1])
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return [ovsdb_value(v) for v in value[1]]
    return value


def uuid_list(value):
    """A set-of-uuids column as a sorted list (a one-element set is written as the bare uuid)."""
    value = ovsdb_value(value)
    return sorted([value] if isinstance(value, str) else value)


def _rows_from_table(headings, data):
    rows = {}
    for values in data:
        row = {}
        for heading, value in zip(headings, values):
            if heading in EPHEMERAL:
                continue
            value = ovsdb_value(value)
            if heading in OPTIONAL:
                value = value[0] if isinstance(value, list) and value else (
                    None if isinstance(value, list) else value)
            row[heading] = value
        rows[row["target"]] = row
    return rows


def ctl_argv(lab, db, *args, **where):
    """The CLI over the lab's TCP remotes, or with ``on_host=(host, unix remote)`` inside a host
    through its unix socket."""
    on_host = where.get("on_host")
    if on_host:
        return on_host[0].enter() + oracle.ctl_argv(db, on_host[1], *args)
    return oracle.ctl_argv(db, lab.remotes(db), *args)


def ctl(lab, db, *args):
    return oracle.run(ctl_argv(lab, db, *args))


def _connection_rows(list_json):
    table = json.loads(list_json)
    return _rows_from_table(table["headings"], table["data"])


def _references(list_json):
    table = json.loads(list_json)
    assert len(table["data"]) == 1, table
    return uuid_list(table["data"][0][0])


def db_reader(lab, db, on_host=None):
    """``(rows, refs)``: every Connection row by target, as ovn-nbctl/ovn-sbctl list it (ephemeral
    columns left out, an unset optional column as None), and the uuids the global row's
    ``connections`` column references, sorted."""
    # One ovn-nbctl run, two commands: both tables read in one transaction, one JSON line each.
    argv = ctl_argv(lab, db, "--format=json", "list", "Connection",
                    "--", "--columns=connections", "list", GLOBAL[db], on_host=on_host)

    def parse(outputs):
        connections, references = outputs[0].splitlines()
        return _connection_rows(connections), _references(references)

    return oracle.Reader([argv], parse)


def db_state(lab, db):
    return db_reader(lab, db)()


def cli_rows(lab, db):
    return db_state(lab, db)[0]


def shape(rows):
    """CLI rows in the module's diff shape: ``{target: row without _uuid}``."""
    return dict((target, dict((k, v) for k, v in row.items() if k != "_uuid"))
                for target, row in rows.items())


def assert_no_orphans(lab, db):
    rows, refs = db_state(lab, db)
    assert sorted(row["_uuid"] for row in rows.values()) == refs


def accepts(address, port):
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


def assert_members_listen(lab, db):
    """Every member still serves its database on its own address (its listener came back)."""
    for index in range(len(lab.info()[db]["members"])):
        remote = lab.member(db, index)["remote"]
        wait_until(lambda: DATABASE[db] in oracle.attempt(
            ["ovsdb-client", "--timeout=5", "list-dbs", remote], timeout=30).stdout.split(),
            15, "%s to serve %s" % (remote, DATABASE[db]))


def listener_target(db):
    """The lab's listener row: every address of each member's host."""
    return "ptcp:%d:0.0.0.0" % {"nb": 6641, "sb": 6642}[db]


# --------------------------------------------------------------------------- shared-lab guard

def _raw_rows(lab, db):
    """Connection rows in raw OVSDB JSON, by uuid, for an exact restore."""
    table = json.loads(ctl(lab, db, "--format=json", "list", "Connection"))
    rows = {}
    for values in table["data"]:
        row = dict(zip(table["headings"], values))
        rows[row["_uuid"][1]] = dict((k, v) for k, v in row.items()
                                     if k not in EPHEMERAL and k not in ("_uuid", "target"))
    return rows


@pytest.fixture
def shared_rows(ovn_lab):
    """Puts the session lab's NB and SB Connection rows back exactly as they were."""
    saved = dict((db, (db_state(ovn_lab, db), _raw_rows(ovn_lab, db))) for db in ("nb", "sb"))
    yield
    for db, ((rows_before, refs_before), raw_before) in saved.items():
        refs_now = db_state(ovn_lab, db)[1]
        operations = []
        extra = [uuid for uuid in refs_now if uuid not in refs_before]
        if extra:
            operations.append({"op": "mutate", "table": GLOBAL[db], "where": [], "mutations": [
                ["connections", "delete", ["set", [["uuid", uuid] for uuid in extra]]]]})
        for uuid, columns in raw_before.items():
            operations.append({"op": "update", "table": "Connection",
                               "where": [["_uuid", "==", ["uuid", uuid]]], "row": columns})
        oracle.transact(ovn_lab.member(db, 0)["remote"], DATABASE[db], *operations)
        assert db_state(ovn_lab, db) == (rows_before, refs_before)
        assert_members_listen(ovn_lab, db)


# --------------------------------------------------------------------------- shared lab: NB

def test_probe_of_the_listener_row_then_max_backoff_alone(ovn_lab, shared_rows):
    target = listener_target("nb")
    rows, refs = db_state(ovn_lab, "nb")
    assert target in rows and rows[target]["inactivity_probe"] is None
    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound", "target": target,
            "inactivity_probe": "60s"}

    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "nb"))
    expected_after = shape(rows)
    expected_after[target]["inactivity_probe"] = 60000
    for result in (checked, applied):
        assert result["before"] == rows[target]
        assert result["removed"] == []
        assert result["diff"] == {"before": {"connections": shape(rows)},
                                  "after": {"connections": expected_after}}
    assert checked["connection"] == dict(rows[target], inactivity_probe=60000)
    now, refs_now = db_state(ovn_lab, "nb")
    # Updated in place: same row, same references.
    assert now[target] == dict(rows[target], inactivity_probe=60000)
    assert applied["connection"] == now[target]
    assert refs_now == refs
    assert shape(now) == expected_after
    assert again["before"] == again["connection"] == now[target]

    # Options left out keep their value: max_backoff alone does not reset the probe
    # (ovn-nbctl set-connection would).
    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound", "target": target,
            "max_backoff": "10s"}
    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "nb"))
    assert checked["diff"]["after"]["connections"][target] == dict(
        expected_after[target], max_backoff=10000)
    after_backoff = cli_rows(ovn_lab, "nb")
    assert after_backoff[target]["inactivity_probe"] == 60000
    assert after_backoff[target]["max_backoff"] == 10000
    assert after_backoff[target]["_uuid"] == rows[target]["_uuid"]
    assert again["connection"] == after_backoff[target]


def test_second_target_then_absent(ovn_lab, shared_rows):
    member = ovn_lab.member("nb", 0)
    target = "ptcp:%d:%s" % (EXTRA_NB_PORT, member["address"])
    rows, refs = db_state(ovn_lab, "nb")
    assert target not in rows
    assert not accepts(member["address"], EXTRA_NB_PORT)
    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound", "target": target,
            "inactivity_probe": 7000, "other_config": {"dscp": 46}}
    new_row = {"target": target, "inactivity_probe": 7000, "max_backoff": None,
               "other_config": {"dscp": "46"}, "external_ids": {}}

    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "nb"))
    assert checked["before"] is None and applied["before"] is None
    assert checked["connection"] == dict(new_row, _uuid=None)
    expected_after = dict(shape(rows), **{target: new_row})
    assert checked["diff"] == {"before": {"connections": shape(rows)},
                               "after": {"connections": expected_after}}
    assert applied["diff"] == checked["diff"]
    now, refs_now = db_state(ovn_lab, "nb")
    assert now[target] == dict(new_row, _uuid=applied["connection"]["_uuid"])
    assert applied["connection"] == now[target] == again["connection"]
    # Attached in the same transaction: referenced from NB_Global, the listener row kept.
    assert refs_now == sorted(refs + [now[target]["_uuid"]])
    assert dict((t, r) for t, r in now.items() if t != target) == rows
    assert_no_orphans(ovn_lab, "nb")
    # ovsdb-server took the new listener from the row (on member 0's host: the only one that has
    # that address).
    wait_until(lambda: accepts(member["address"], EXTRA_NB_PORT), 15,
               "a member to listen on %s" % target)

    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound", "target": target,
            "state": "absent"}
    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "nb"))
    for result in (checked, applied):
        assert result["removed"] == [target]
        assert result["connection"] is None
        assert result["before"] == now[target]
        assert result["diff"] == {"before": {"connections": shape(now)},
                                  "after": {"connections": shape(rows)}}
        assert any(target in warning for warning in result.get("warnings", []))
    assert again["removed"] == [] and again["before"] is None and again["connection"] is None
    # Detached and gone: exactly the rows and references of the start.
    assert db_state(ovn_lab, "nb") == (rows, refs)
    assert_no_orphans(ovn_lab, "nb")
    wait_until(lambda: not accepts(member["address"], EXTRA_NB_PORT), 15,
               "the listener on %s to close" % target)


def test_all_connections_sets_every_row_in_one_run(ovn_lab, shared_rows):
    member = ovn_lab.member("nb", 0)
    extra = "ptcp:%d:%s" % (EXTRA_NB_PORT, member["address"])
    ctl(ovn_lab, "nb", "--", "--id=@c", "create", "Connection", "target=\"%s\"" % extra,
        "inactivity_probe=5000", "--", "add", "NB_Global", ".", "connections", "@c")
    rows, refs = db_state(ovn_lab, "nb")
    assert sorted(rows) == sorted([listener_target("nb"), extra]) and len(refs) == 2
    args = {"remote": ovn_lab.remotes("nb"), "database": "OVN_Northbound", "all_connections": True,
            "inactivity_probe": "45s"}

    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "nb"))
    expected = dict((target, dict(row, inactivity_probe=45000)) for target, row in rows.items())
    for result in (checked, applied):
        assert result["connection"] is None and result["before"] is None and result["removed"] == []
        assert result["connections_before"] == [rows[target] for target in sorted(rows)]
        assert result["diff"]["after"] == {"connections": shape(expected)}
    now, refs_now = db_state(ovn_lab, "nb")
    # Both rows updated in place (same uuids, same references), nothing created or removed.
    assert now == expected and refs_now == refs
    assert applied["connections"] == [now[target] for target in sorted(now)]
    assert again["connections"] == again["connections_before"] == applied["connections"]

    # A disabled probe on these ptcp: listeners needs consent: refused, nothing written.
    refused = run_module(dict(args, inactivity_probe=0))
    assert refused["failed"] and "allow_disabled_probe" in refused["msg"]
    assert db_state(ovn_lab, "nb") == (now, refs_now)
    # Options that cannot go with every row, each refused naming the option.
    for bad, word in (({"target": extra}, "target"), ({"state": "absent", "inactivity_probe": None}, "all_connections"),
                      ({"exclusive": True}, "all_connections"), ({"inactivity_probe": None}, "all_connections")):
        result = run_module(dict((k, v) for k, v in dict(args, **bad).items() if v is not None))
        assert result["failed"] and result["msg"].startswith(word), (bad, result["msg"])
    assert db_state(ovn_lab, "nb") == (now, refs_now)


# --------------------------------------------------------------------------- shared lab: SB

def test_sb_row_with_role_and_read_only(ovn_lab, shared_rows):
    member = ovn_lab.member("sb", 0)
    target = "ptcp:%d:%s" % (EXTRA_SB_PORT, member["address"])
    rows, refs = db_state(ovn_lab, "sb")
    assert target not in rows
    args = {"remote": ovn_lab.remotes("sb"), "database": "OVN_Southbound", "target": target,
            "role": "ovn-controller", "read_only": True, "inactivity_probe": "3m"}
    new_row = {"target": target, "inactivity_probe": 180000, "max_backoff": None, "other_config": {},
               "external_ids": {}, "read_only": True, "role": "ovn-controller"}

    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "sb"))
    assert checked["connection"] == dict(new_row, _uuid=None)
    assert checked["diff"]["after"]["connections"] == dict(shape(rows), **{target: new_row})
    now, refs_now = db_state(ovn_lab, "sb")
    assert now[target] == dict(new_row, _uuid=applied["connection"]["_uuid"])
    assert applied["connection"] == again["connection"] == now[target]
    assert refs_now == sorted(refs + [now[target]["_uuid"]])
    assert_no_orphans(ovn_lab, "sb")
    # The NB rows were not touched by an SB run.
    assert "ptcp:%d:%s" % (EXTRA_SB_PORT, member["address"]) not in cli_rows(ovn_lab, "nb")

    # Only the given column changes on an existing row.
    args = {"remote": ovn_lab.remotes("sb"), "database": "OVN_Southbound", "target": target,
            "read_only": False}
    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "sb"))
    assert checked["diff"]["after"]["connections"][target] == dict(new_row, read_only=False)
    assert cli_rows(ovn_lab, "sb")[target] == dict(now[target], read_only=False)


# --------------------------------------------------------------------------- bad input

def test_bad_inputs_fail_before_any_write(ovn_lab, shared_rows):
    nb = ovn_lab.remotes("nb")
    target = listener_target("nb")

    def nb_args(**changes):
        args = {"remote": nb, "database": "OVN_Northbound", "target": target}
        args.update(changes)
        return args

    cases = [
        ("target without brackets", nb_args(target="ptcp:6641:::1"), "target"),
        ("target tcp without port", nb_args(target="tcp:6641"), "target"),
        ("target bare port", nb_args(target="6641"), "target"),
        ("target two targets", nb_args(target="ptcp:6641,ptcp:6642"), "target"),
        ("probe 500", nb_args(inactivity_probe=500), "inactivity_probe"),
        ("probe -1", nb_args(inactivity_probe=-1), "inactivity_probe"),
        ("probe 2h", nb_args(inactivity_probe="2h"), "inactivity_probe"),
        ("probe words", nb_args(inactivity_probe="often"), "inactivity_probe"),
        ("max_backoff 0", nb_args(max_backoff=0), "max_backoff"),
        ("probe 0 without consent", nb_args(inactivity_probe="0s"), "allow_disabled_probe=true"),
        ("role on NB", nb_args(role="ovn-controller"), "role"),
        ("read_only on NB", nb_args(read_only=True), "read_only"),
        ("unknown database", nb_args(database="OVN_Nortbound"), "database"),
        ("other_config list value", nb_args(other_config={"dscp": [46]}), "other_config.dscp"),
        ("absent with a probe", nb_args(state="absent", inactivity_probe=5000), "inactivity_probe"),
        ("exclusive with absent", nb_args(state="absent", exclusive=True), "exclusive"),
        ("Local_Config with a list", nb_args(database="Local_Config", remote=nb), "remote"),
        # Validation comes before connecting: an unreachable remote is never tried.
        ("bad probe, dead remote", nb_args(remote="tcp:127.0.0.1:1", inactivity_probe=999, timeout=60),
         "inactivity_probe"),
    ]
    states = dict((db, db_state(ovn_lab, db)) for db in ("nb", "sb"))
    results = refused(cases)
    assert "1000" in results["probe 500"]["msg"]
    assert "one hour" in results["probe 2h"]["msg"]
    assert "OVN_Southbound and Local_Config" in results["role on NB"]["msg"]
    assert "ptcp:PORT[:IP]" in results["target bare port"]["msg"]
    assert "OVN_Northbound" in results["unknown database"]["msg"]
    assert results["probe 0 without consent"]["msg"].startswith(
        "inactivity_probe: 0 disables the probe of listener %s; ovsdb-server then never notices" % target)
    assert "a dead ovn-northd keeps the ovn_northd lock" in results["probe 0 without consent"]["msg"]
    for db in ("nb", "sb"):
        assert db_state(ovn_lab, db) == states[db]


def test_a_disabled_listener_probe_with_consent(ovn_lab, shared_rows):
    target = listener_target("sb")
    rows = db_state(ovn_lab, "sb")[0]
    args = {"remote": ovn_lab.remotes("sb"), "database": "OVN_Southbound", "target": target,
            "inactivity_probe": 0, "allow_disabled_probe": True}
    checked, applied, again, _states = check_real_again(args, db_reader(ovn_lab, "sb"))
    assert checked["connection"] == applied["connection"] == dict(rows[target], inactivity_probe=0)
    assert cli_rows(ovn_lab, "sb")[target]["inactivity_probe"] == 0
    assert again["before"] == again["connection"]
    assert_members_listen(ovn_lab, "sb")


# --------------------------------------------------------------------------- private labs

def test_exclusive_then_absent(lab_factory):
    lab = lab_factory(name="conn-exclusive", databases=("nb",), members=3)
    keep = listener_target("nb")
    # Two more listener rows, as a deployment that once had other ports keeps them.
    others = ["ptcp:6661:0.0.0.0", "ptcp:6662:0.0.0.0"]
    operations = []
    for number, target in enumerate(others):
        operations.append({"op": "insert", "table": "Connection", "row": {"target": target},
                           "uuid-name": "extra%d" % number})
        operations.append({"op": "mutate", "table": "NB_Global", "where": [], "mutations": [
            ["connections", "insert", ["set", [["named-uuid", "extra%d" % number]]]]]})
    oracle.transact(lab.remotes("nb").split(",")[lab.leader("nb")], "OVN_Northbound", *operations)
    wait_until(lambda: all(accepts(lab.member("nb", i)["address"], 6662) for i in range(3)), 15,
               "every member to listen on 6662")
    rows, refs = db_state(lab, "nb")
    assert sorted(rows) == sorted([keep] + others)
    args = {"remote": lab.remotes("nb"), "database": "OVN_Northbound", "target": keep,
            "inactivity_probe": 30000, "exclusive": True}

    checked, applied, again, _states = check_real_again(args, db_reader(lab, "nb"))
    kept_row = dict(rows[keep], inactivity_probe=30000)
    for result in (checked, applied):
        assert result["removed"] == others
        assert result["before"] == rows[keep]
        assert result["connection"] == kept_row
        assert result["diff"] == {"before": {"connections": shape(rows)},
                                  "after": {"connections": shape({keep: kept_row})}}
        assert all(t in " ".join(result.get("warnings", [])) for t in others)
    assert again["removed"] == [] and again["connection"] == kept_row
    # One row left, the same one (updated in place), the only reference; the others are gone.
    assert db_state(lab, "nb") == ({keep: kept_row}, [rows[keep]["_uuid"]])
    assert_no_orphans(lab, "nb")
    # Every member still answers through the kept row's listener; the removed ports are closed.
    assert_members_listen(lab, "nb")
    wait_until(lambda: not any(accepts(lab.member("nb", i)["address"], 6662) for i in range(3)), 15,
               "the listeners on 6662 to close")

    # Removing the last TCP listener cuts every TCP client off: done, and read back, through the
    # leader's unix socket (the module from the controller, the oracle inside the leader's host).
    leader = lab.leader("nb")
    inside = (lab.host_of("nb", leader), lab.member("nb", leader)["host_unix"])
    args = {"remote": lab.member("nb", leader)["unix"], "database": "OVN_Northbound",
            "target": keep, "state": "absent"}
    checked, applied, again, _states = check_real_again(args, db_reader(lab, "nb", on_host=inside))
    assert checked["removed"] == applied["removed"] == [keep]
    assert applied["diff"] == {"before": {"connections": shape({keep: kept_row})},
                               "after": {"connections": {}}}
    assert db_reader(lab, "nb", on_host=inside)() == ({}, [])
    assert not any(accepts(lab.member("nb", i)["address"], 6641) for i in range(3))


def local_config_reader(remote):
    """``(rows, refs)`` of Local_Config's Connection table and Config.connections, read with
    ovsdb-client."""
    query = json.dumps(["Local_Config",
                        {"op": "select", "table": "Connection", "where": []},
                        {"op": "select", "table": "Config", "where": [], "columns": ["connections"]}])

    def parse(outputs):
        answer = json.loads(outputs[0])
        rows = {}
        for raw in answer[0]["rows"]:
            headings = [k for k in raw if k not in EPHEMERAL and k != "_version"]
            rows.update(_rows_from_table(headings, [[raw[k] for k in headings]]))
        return rows, uuid_list(answer[1]["rows"][0]["connections"])

    return oracle.Reader([["ovsdb-client", "--timeout=20", "query", remote, query]], parse)


def test_local_config_of_a_kube_ovn_server(lab_factory):
    lab = lab_factory(name="conn-localconfig", databases=("nb",), members=1, kube_ovn=True)
    member = lab.member("nb", 0)
    target = listener_target("nb")
    reader = local_config_reader(member["unix"])
    rows, refs = reader()
    assert list(rows) == [target] and rows[target]["inactivity_probe"] is None
    assert refs == [rows[target]["_uuid"]]
    args = {"remote": member["unix"], "database": "Local_Config", "target": target,
            "inactivity_probe": "90s", "role": ""}

    checked, applied, again, _states = check_real_again(args, reader)
    expected = dict(rows[target], inactivity_probe=90000)
    assert checked["before"] == rows[target]
    assert checked["connection"] == applied["connection"] == again["connection"] == expected
    assert checked["diff"] == {"before": {"connections": shape(rows)},
                               "after": {"connections": shape({target: expected})}}
    assert reader() == ({target: expected}, refs)
    # Written to Local_Config, not to the NB database (which has no Connection rows here).
    assert cli_rows(lab, "nb") == {}
    # The server still listens on its row's target.
    assert "OVN_Northbound" in oracle.run(["ovsdb-client", "--timeout=20", "list-dbs", member["remote"]])
