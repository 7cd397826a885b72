"""The lease decisions and journal entries of the rollout (module_utils/rollout_journal.py), and the file
store's lock: pure, or on a temporary directory, without Ansible."""

import os
import threading

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import rollout_journal as rj

NOW = 1796000000.0
RUN = {"controller": "ctl-1", "pid": 4242, "pid_start": 77}


def lease(run_id="ctl-2:1:1", expires=NOW + 60, **more):
    record = rj.new_lease("stg", dict(RUN, controller="ctl-2"), run_id, None, 600, NOW - 540)
    record.update(expires_at_epoch=expires, **more)
    return record


@pytest.mark.parametrize("current, alive, broken, action, why", [
    (None, True, False, "take", None),
    (lease(run_id="me"), True, False, "renew", None),
    (lease(expires=NOW - 1), True, False, "take_over", "expired"),
    (lease(), False, False, "take_over", "is gone"),
    (lease(), True, True, "take_over", "was broken (break_lease)"),
    (lease(job_id="311"), True, False, "refuse", "AWX job 311"),
])
def test_lease_decisions(current, alive, broken, action, why):
    got, text = rj.lease_decision(current, "me", NOW, alive, broken)
    assert got == action
    if why is None:
        assert text is None
    else:
        assert why in text and "run ctl-2:1:1 on controller ctl-2" in text, text


def test_a_holder_on_this_controller_whose_process_is_gone_is_not_alive():
    me = rj.current_run()
    assert rj.holder_alive({"controller": me["controller"], "pid": me["pid"], "pid_start": me["pid_start"]},
                           me["controller"])
    assert not rj.holder_alive({"controller": me["controller"], "pid": me["pid"], "pid_start": me["pid_start"] + 1},
                               me["controller"])
    assert not rj.holder_alive({"controller": me["controller"], "pid": 2 ** 22 + 17}, me["controller"])
    # Another controller's run cannot be judged from here: alive until its lease expires.
    assert rj.holder_alive({"controller": "elsewhere", "pid": 2 ** 22 + 17}, me["controller"])


def test_journal_entries_merge_within_a_run_and_start_anew_for_another():
    first = rj.journal_entry(None, "stg", "run-a", {"status": "changing", "snapshot": "s1"}, True, NOW)
    assert first["changing_since_epoch"] == NOW and first["snapshot"] == "s1"
    gated = rj.journal_entry(first, "stg", "run-a", {"status": "gated"}, False, NOW + 10)
    assert gated["snapshot"] == "s1" and gated["changing_since_epoch"] == NOW
    assert [h["status"] for h in gated["history"]] == ["changing", "gated"]
    assert rj.unfinished(gated) and not rj.unfinished(dict(gated, status="done"))
    other = rj.journal_entry(gated, "stg", "run-b", {"status": "done"}, False, NOW + 20)
    assert "snapshot" not in other and [h["status"] for h in other["history"]] == ["done"]
    with pytest.raises(rj.JournalError, match="journal.status: 'soaking' is not a journal status"):
        rj.journal_entry(None, "stg", "run-a", {"status": "soaking"}, False, NOW)
    assert "changing (run run-a, staging), changing since" in rj.describe_journal(dict(first, phase="staging"))


def test_the_file_store_lets_one_of_two_takers_win(tmp_path):
    """Two takers decide at once on one deployment's lease: the flock makes them decide one after the
    other, so the second sees the first's lease."""
    outcomes = {}
    barrier = threading.Barrier(2)

    def take(run_id):
        store = rj.FileStore(str(tmp_path), "stg")
        barrier.wait()

        def decide(current, _journal):
            action, _why = rj.lease_decision(current, run_id, NOW, True)
            if action == "refuse":
                outcomes[run_id] = "refused"
                return {}
            outcomes[run_id] = action
            return {"lease": rj.new_lease("stg", RUN, run_id, None, 600, NOW)}
        store.transition(decide, False)

    threads = [threading.Thread(target=take, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["refused", "take"], outcomes
    assert oct(os.stat(str(tmp_path / "leases" / "stg.json")).st_mode & 0o777) == "0o600"
    stored = rj.FileStore(str(tmp_path), "stg")._load(str(tmp_path / "leases" / "stg.json"))
    assert stored["run_id"] == next(run for run, outcome in outcomes.items() if outcome == "take")


def test_a_damaged_record_is_refused_naming_it(tmp_path):
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal" / "stg.json").write_text('{"status": "done", "seal": "0"}')
    with pytest.raises(rj.JournalError, match="the seal does not match"):
        rj.FileStore(str(tmp_path), "stg").transition(lambda lease, journal: {}, True)
    with pytest.raises(rj.JournalError, match="state_dir: 'relative' is not an absolute path"):
        rj.FileStore("relative", "stg")


def test_a_lock_held_too_long_fails_within_the_timeout(tmp_path):
    import fcntl
    import time

    store = rj.FileStore(str(tmp_path), "stg", timeout=0.3)
    os.makedirs(os.path.dirname(store.lock_path))
    with open(store.lock_path, "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(rj.JournalError, match="held the lock for more than 0 s"):
            store.transition(lambda lease, journal: {"lease": None}, False)
        assert time.monotonic() - started < 1.0
