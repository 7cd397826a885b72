"""The in-band store: ovn_tuning_snapshot with store: deployment, and ovn_tuning_record, against a lab's
real NB database - each case in check mode, for real and again, and the keys read back with ovn-nbctl
(the way docs/awx.md tells operators to read them). Another tool's external_ids key must survive all of it.
"""

import json
import os

import pytest
import yaml

from ovnlab import Lab
from support import oracle
from support.ansible_run import run_cases

PREFIX = "kubedc-ovn-tuning:"


@pytest.fixture(scope="module")
def store_lab():
    """A one-member lab shared by the tests of this file, with another tool's key in NB_Global."""
    lab = Lab(name="store", members=1, northd_probe_ms=5000, keep=os.environ.get("OVNLAB_KEEP", "") not in ("", "0"))
    lab.start()
    try:
        oracle.nbctl(lab.info()["nb"]["remotes"], "set", "NB_Global", ".", "external_ids:other-tool=keep-me")
        yield lab
    finally:
        lab.stop()


def nbctl(lab, *args):
    return oracle.nbctl(lab.info()["nb"]["remotes"], *args)


def external_ids(lab):
    out = json.loads(nbctl(lab, "--format=json", "--columns=external_ids", "list", "NB_Global"))
    return dict((key, value) for key, value in out["data"][0][0][1])


def ours(lab, kind):
    return dict((k, v) for k, v in external_ids(lab).items() if k.startswith(PREFIX + kind + ":"))


def northd(lab):
    return nbctl(lab, "--if-exists", "get", "NB_Global", ".", "options:northd_probe_interval").strip('"')


def deployment(lab):
    return {"name": "store", "nb": {"remote": lab.info()["nb"]["remotes"]}}


def test_snapshots_kept_in_the_deployment(store_lab):
    lab = store_lab
    base = {"store": "deployment", "deployment": deployment(lab), "keep": 2}
    results = run_cases([
        ("check", "ovn_tuning_snapshot", dict(base, name="20260101T000000.000000Z-before-a"), True),
        ("first", "ovn_tuning_snapshot", dict(base, name="20260101T000000.000000Z-before-a"), False),
        ("second", "ovn_tuning_snapshot", dict(base, name="20260102T000000.000000Z-before-b"), False),
        ("third", "ovn_tuning_snapshot", dict(base, name="20260103T000000.000000Z-manual"), False),
        ("again", "ovn_tuning_snapshot", dict(base, name="20260103T000000.000000Z-manual"), False),
    ])
    assert not results["check"]["failed"], results["check"].get("msg")
    assert results["check"]["key"] == PREFIX + "snapshot:20260101T000000.000000Z-before-a"
    assert results["first"]["pruned"] == [] and results["second"]["pruned"] == []
    assert results["third"]["pruned"] == ["20260101T000000.000000Z-before-a"]
    assert results["again"]["failed"] and "already holds a snapshot 20260103T000000.000000Z-manual" in \
        results["again"]["msg"]
    kept = ours(lab, "snapshot")
    assert sorted(kept) == [PREFIX + "snapshot:20260102T000000.000000Z-before-b",
                            PREFIX + "snapshot:20260103T000000.000000Z-manual"]
    document = json.loads(kept[PREFIX + "snapshot:20260103T000000.000000Z-manual"])
    assert document["checksum"] == results["third"]["checksum"] and document["deployment"] == "store"
    assert external_ids(lab)["other-tool"] == "keep-me"

    # A restore without a name takes the newest snapshot taken before a change (-before-b: northd 5000).
    nbctl(lab, "set", "NB_Global", ".", "options:northd_probe_interval=12345")
    restore = {"state": "restored", "store": "deployment", "deployment": deployment(lab)}
    results = run_cases([("check", "ovn_tuning_snapshot", restore, True)])
    assert results["check"]["changed"] is True and results["check"]["name"] == "20260102T000000.000000Z-before-b"
    assert northd(lab) == "12345"
    results = run_cases([("real", "ovn_tuning_snapshot", restore, False),
                         ("again", "ovn_tuning_snapshot", restore, False)])
    assert results["real"]["changed"] is True and results["again"]["changed"] is False, results
    assert northd(lab) == "5000"

    # An altered snapshot is refused, naming its key, and nothing is restored.
    key = PREFIX + "snapshot:20260103T000000.000000Z-manual"
    altered = json.loads(kept[key])
    altered["tunables"]["nb"]["options"]["northd_probe_interval"] = "99999"
    nbctl(lab, "set", "NB_Global", ".", 'external_ids:"%s"=%s' % (key, json.dumps(json.dumps(altered))))
    nbctl(lab, "set", "NB_Global", ".", "options:northd_probe_interval=12345")
    results = run_cases([("tampered", "ovn_tuning_snapshot", dict(restore, name=key), False)])
    assert results["tampered"]["failed"] and "name: %s refused: checksum mismatch" % key in results["tampered"]["msg"]
    assert northd(lab) == "12345"

    # state: absent - in check mode nothing goes; then the key goes, and nothing else.
    absent = {"state": "absent", "store": "deployment", "deployment": deployment(lab), "name": key}
    results = run_cases([("check", "ovn_tuning_snapshot", absent, True), ("real", "ovn_tuning_snapshot", absent, False),
                         ("again", "ovn_tuning_snapshot", absent, False)])
    assert [results[k]["changed"] for k in ("check", "real", "again")] == [True, True, False]
    assert sorted(ours(lab, "snapshot")) == [PREFIX + "snapshot:20260102T000000.000000Z-before-b"]
    assert external_ids(lab)["other-tool"] == "keep-me"


def test_bad_store_options_are_refused_before_anything_is_read(store_lab):
    before = external_ids(store_lab)
    d = deployment(store_lab)
    results = run_cases([
        ("path", "ovn_tuning_snapshot", {"store": "deployment", "path": "/tmp/x.json", "deployment": d}, False),
        ("nopath", "ovn_tuning_snapshot", {"store": "file", "deployment": d}, False),
        ("name", "ovn_tuning_snapshot", {"store": "file", "path": "/tmp/x.json", "name": "a", "deployment": d}, False),
        ("keep", "ovn_tuning_snapshot", {"store": "deployment", "keep": 0, "deployment": d}, False),
        ("badname", "ovn_tuning_snapshot", {"store": "deployment", "name": "a b", "deployment": d}, False),
        ("missing", "ovn_tuning_snapshot", {"state": "restored", "store": "deployment", "name": "nope",
                                            "deployment": d}, False),
        ("kind", "ovn_tuning_record", {"remote": d["nb"]["remote"], "kind": "promotion",
                                       "name": PREFIX + "snapshot:x"}, False),
    ])
    expected = {"path": "path: not with store: deployment", "nopath": "path: required with store: file",
                "name": "name: only with store: deployment", "keep": "keep: must be at least 1",
                "badname": "name: 'a b' is not a record name", "missing": "name: no snapshot nope in NB_Global",
                "kind": "is not a key of a promotion record"}
    for label, words in expected.items():
        assert results[label]["failed"] and words in results[label]["msg"], (label, results[label].get("msg"))
    assert external_ids(store_lab) == before


def test_promotion_records_kept_in_the_deployment(store_lab):
    lab = store_lab
    remote = lab.info()["nb"]["remotes"]
    checksum = "a" * 64
    write = {"remote": remote, "kind": "promotion", "name": checksum, "state": "present",
             "content": {"status": "promoted", "checksum": checksum}}
    read = {"remote": remote, "kind": "promotion", "name": checksum}
    results = run_cases([("check", "ovn_tuning_record", write, True), ("read-none", "ovn_tuning_record", read, False)])
    assert results["check"]["changed"] is True and results["check"]["record"]["status"] == "promoted"
    assert results["read-none"]["record"] is None and ours(lab, "promotion") == {}
    results = run_cases([("write", "ovn_tuning_record", write, False), ("read", "ovn_tuning_record", read, False)])
    assert not results["write"]["failed"], results["write"].get("msg")
    # One key, read as docs/awx.md shows it (quoted: it holds ':').
    stored = json.loads(nbctl(lab, "get", "NB_Global", ".", 'external_ids:"%spromotion:%s"' % (PREFIX, checksum)))
    assert json.loads(stored)["status"] == "promoted"
    assert results["read"]["record"] == json.loads(stored) and "seal" in results["read"]["record"]
    # keep: 1 - the second record pushes the first out.
    results = run_cases([("other", "ovn_tuning_record", dict(write, name="b" * 64, keep=1), False)])
    assert results["other"]["pruned"] == [PREFIX + "promotion:" + checksum]
    assert sorted(ours(lab, "promotion")) == [PREFIX + "promotion:" + "b" * 64]
    # An altered record is not trusted.
    key = PREFIX + "promotion:" + "b" * 64
    record = json.loads(ours(lab, "promotion")[key])
    record["status"] = "failed"
    nbctl(lab, "set", "NB_Global", ".", 'external_ids:"%s"=%s' % (key, json.dumps(json.dumps(record))))
    results = run_cases([("tampered", "ovn_tuning_record", dict(read, name="b" * 64), False)])
    assert results["tampered"]["failed"] and "%s: the seal does not match" % key in results["tampered"]["msg"]
    assert external_ids(lab)["other-tool"] == "keep-me"


def test_one_lease_at_a_time_in_the_deployment(store_lab, tmp_path):
    """The rollout's lease kept in NB_Global.external_ids: two controllers taking it at the same moment -
    exactly one wins, the other is refused naming the holder and writes nothing; check mode takes no lease
    but names the holder; the holder renews and releases; an expired lease is taken over."""
    from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents, state_store
    from support.ansible_run import run_module, run_playbook

    lab = store_lab
    base = {"deployment": "store", "store": "deployment", "remote": lab.info()["nb"]["remotes"]}
    key = PREFIX + "lease:rollout"
    # Two controllers at the same moment: two hosts of one play, each its own worker (forks), so both
    # holders' ansible-playbook lives while the other decides.
    playbook = tmp_path / "race.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "take the lease at once", "hosts": "ctl_a,ctl_b", "gather_facts": False, "tasks": [
            {"name": "Take the lease", "kubedc.ovn_tuning.ovn_tuning_journal": dict(
                base, state="acquired", run_id="{{ inventory_hostname }}"),
             "register": "taken", "ignore_errors": True}]}]))
    inventory = tmp_path / "race-inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "hosts": {"ctl_a": {}, "ctl_b": {}}}}))
    race = run_playbook(str(playbook), inventory=str(inventory), extra_args=("--forks", "2"))
    results = dict((r["host"], r["result"]) for r in race.records if r["task"] == "Take the lease")
    assert sorted(results) == ["ctl_a", "ctl_b"], race.stdout[-3000:]
    winners = [run_id for run_id, result in results.items() if not result.get("failed")]
    assert len(winners) == 1, results
    loser = next(run_id for run_id in results if run_id not in winners)
    message = results[loser]["msg"]
    assert "another rollout works on this deployment: run %s" % winners[0] in message, message
    assert "Nothing was written" in message and "ovn_tuning_lease_break=true" in message, message
    stored = state_store.unseal(external_ids(lab)[key], key)
    assert stored["run_id"] == winners[0]
    # The winner's ansible-playbook has ended, and on this controller a lease of a run that is gone is taken
    # over: from here on the holder stands for a run on another controller, whose life cannot be seen.
    stored = state_store.seal(dict(stored, controller="elsewhere"))
    nbctl(lab, "set", "NB_Global", ".", 'external_ids:"%s"=%s' % (key, json.dumps(documents.canonical_json(stored))))

    check = run_module("ovn_tuning_journal", dict(base, state="acquired", run_id=loser), check=True)
    assert not check.get("failed") and check["acquired"] is False and check["held_by"]["run_id"] == winners[0]
    assert state_store.unseal(external_ids(lab)[key], key) == stored

    entry = run_module("ovn_tuning_journal", dict(base, state="present", run_id=winners[0], journal_replace=True,
                                                  journal={"status": "changing", "snapshot": "s1"}))
    assert entry["journal"]["status"] == "changing" and not entry["unfinished"]
    journal = state_store.unseal(external_ids(lab)[PREFIX + "journal:rollout"], PREFIX + "journal:rollout")
    assert journal["status"] == "changing" and journal["snapshot"] == "s1" and journal["run_id"] == winners[0]
    seen = run_module("ovn_tuning_journal", dict(base, state="read", run_id=loser))
    # (the lease was renewed by a run of this controller that has ended: not held any more)
    assert seen["unfinished"] is True and seen["journal"]["run_id"] == winners[0] and seen["held_by"] is None

    released = run_module("ovn_tuning_journal", dict(base, state="released", run_id=winners[0]))
    assert released["lease"] is None and key not in external_ids(lab)
    assert PREFIX + "journal:rollout" in external_ids(lab) and external_ids(lab)["other-tool"] == "keep-me"

    # A lease whose time ran out (its holder died on another controller) is taken over, and says so.
    expired = state_store.seal(dict(stored, run_id="ctl-dead:9:9", controller="elsewhere", expires_at_epoch=1.0))
    nbctl(lab, "set", "NB_Global", ".", 'external_ids:"%s"=%s' % (key, json.dumps(documents.canonical_json(expired))))
    taken = run_module("ovn_tuning_journal", dict(base, state="acquired", run_id=loser))
    assert not taken.get("failed") and "the lease of run ctl-dead:9:9" in taken["taken_over"], taken
    assert state_store.unseal(external_ids(lab)[key], key)["run_id"] == loser
    run_module("ovn_tuning_journal", dict(base, state="released", run_id=loser))
    assert key not in external_ids(lab)


def test_bad_input_to_the_journal_is_refused_before_anything_is_written(store_lab, tmp_path):
    from support.ansible_run import run_cases

    lab = store_lab
    inband = {"deployment": "store", "store": "deployment", "remote": lab.info()["nb"]["remotes"]}
    state_dir = str(tmp_path / "state")
    in_file = {"deployment": "store", "state_dir": state_dir}
    before = external_ids(lab)
    cases = [
        ("ttl", dict(inband, state="acquired", ttl_seconds=5), "ttl_seconds: 5 is out of range; give 10 to 604800"),
        ("status", dict(inband, state="present", journal={"status": "soaking"}),
         "journal.status: 'soaking' is not a journal status; use one of changing, gated, done"),
        ("no journal", dict(inband, state="present"), "journal: required with state: present"),
        ("journal on read", dict(inband, journal={"status": "done"}), "journal: only with state: present"),
        ("name", dict(inband, deployment="bad name", state="acquired"), "deployment: 'bad name' is not a deployment name"),
        ("no state_dir", {"deployment": "store", "state": "acquired"}, "state_dir: required with store: file"),
        ("relative", dict(in_file, state_dir="relative/dir", state="acquired"),
         "state_dir: 'relative/dir' is not an absolute path"),
    ]
    results = run_cases([(label, "ovn_tuning_journal", args) for label, args, _message in cases])
    for label, _args, message in cases:
        assert results[label].get("failed"), (label, results[label])
        assert message in results[label]["msg"], (label, results[label]["msg"])
    assert external_ids(lab) == before
    assert not os.path.exists(state_dir)
