"""Run a module the way every module test must: in check mode, for real, and again.

One ansible-playbook process runs the three module runs (all with --diff) with an independent
CLI read of the database before and after each of them, and the assertions that hold for every
case are made here once.
"""

from support.ansible_run import module_task, run_cases, run_tasks, task_result


def run_many(module, cases):
    """Several runs of ``module`` (``(name, args)`` cases) in one ansible-playbook process; results
    by case name, as ``run_cases`` gives them."""
    return run_cases(cases, module=module, timeout=300)


def refused(module, cases):
    """Runs of ``module`` that must be refused before anything is done, in one ansible-playbook
    process: ``cases`` are ``(name, args, param)``. Asserts that each failed, changed nothing, names
    ``param`` in its message and never tried a remote ("could not reach"); returns the results by name."""
    results = run_many(module, [(name, args) for name, args, _param in cases])
    for name, _args, param in cases:
        result = results[name]
        assert result["failed"], "%s: did not fail: %r" % (name, result)
        assert not result.get("changed"), name
        assert param in result["msg"], "%s: %r does not name %s" % (name, result["msg"], param)
        assert "could not reach" not in result["msg"], name
    return results


def check_real_again(module, args, reader, between=()):
    """Run ``module`` with ``args`` in check mode, for real, and again, ``reader`` (an independent
    CLI read with ``tasks(label)`` and ``from_records(records, label)``) around each run.

    ``between`` are extra tasks (another writer) run after the real run and before its read,
    so that the second run starts from what someone else changed meanwhile.  Asserts: no
    failure, check mode reports a change and writes nothing, the real run reports a change and
    writes, the second run reports none and writes nothing.  Returns the three results and the
    four database states.
    """
    tasks = []
    for step, check in (("check", True), ("real", False), ("again", False)):
        if step == "again":
            tasks += list(between)
        tasks += reader.tasks("before " + step)
        tasks.append(dict(module_task(step, module, args, check), diff=True))
    tasks += reader.tasks("after again")
    run = run_tasks(tasks, timeout=300)
    run.outcomes([task["name"] for task in tasks])  # asserts that every task has a record
    records = dict((record["task"], record) for record in run.records)
    for task in between:
        assert records[task["name"]]["status"] == "ok", records[task["name"]]["result"]
    checked, applied, again = (task_result(records[step]) for step in ("check", "real", "again"))
    states = [reader.from_records(records, label)
              for label in ("before check", "before real", "before again", "after again")]
    for name, result in (("check", checked), ("real", applied), ("again", again)):
        assert not result["failed"], "%s: %s" % (name, result.get("msg"))
    assert checked["changed"] is True
    assert states[1] == states[0], "check mode wrote to the database"
    assert applied["changed"] is True
    assert states[2] != states[1], "the real run left the database unchanged"
    assert again["changed"] is False
    assert states[3] == states[2], "the second run changed the database"
    assert again["diff"]["before"] == again["diff"]["after"]
    return checked, applied, again, states
