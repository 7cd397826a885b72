"""Run modules and playbooks of the collection through ansible-playbook, and read their results.

Every call is a real ansible-playbook process against localhost with the interpreter of this
virtualenv; results come back through the test-only ``result_log`` callback as dicts.
"""

import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS_DIR = os.path.join(REPO_ROOT, ".build", "collections")
CALLBACK_DIR = os.path.join(REPO_ROOT, "tests", "support", "callback_plugins")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


class PlaybookRun(object):
    """The outcome of one ansible-playbook run."""

    def __init__(self, returncode, stdout, stderr, records):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.records = records

    def results(self, action=None, task=None):
        return [r["result"] for r in self.records
                if (action is None or r["action"].endswith(action))
                and (task is None or r["task"] == task)]

    def tails(self):
        """The end of the run's stdout and stderr, for an assertion message."""
        return "%s\n%s" % (self.stdout[-4000:], self.stderr[-2000:])

    def outcomes(self, names):
        """The result of each task named in ``names`` (its last record), with ``failed`` taken from
        the task's status: {name: result}. Asserts that every one of them has a record."""
        results = dict((record["task"], task_result(record)) for record in self.records)
        missing = [name for name in names if name not in results]
        assert not missing, "no result for %s:\n%s" % (missing, self.tails())
        return results

    def outcome(self, name):
        """The result of the task named ``name``, as ``outcomes`` gives it."""
        return self.outcomes([name])[name]

    def failed_tasks(self):
        return [r for r in self.records if r["status"] == "failed"
                and not r["result"].get("_ansible_ignore_errors")]


def ansible_env(extra_env=None):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR,
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACK_DIR,
        "ANSIBLE_CALLBACKS_ENABLED": "result_log",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_ROLES_PATH": os.path.join(REPO_ROOT, "roles"),
    })
    if extra_env:
        env.update(extra_env)
    return env


KILL = "kill"


def _descendants(pid):
    """Every process below ``pid`` (from /proc), children before grandchildren."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                text = handle.read()
        except OSError:
            continue
        ppid = int(text[text.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out


def _kill_tree(proc):
    """SIGKILL a run and every process under it - as a controller that dies. Ansible's workers start
    sessions of their own (setsid), so the process group alone would leave them running."""
    # Frozen first, so that no process forks a new one between the listing and the kill.
    for sig in (signal.SIGSTOP, signal.SIGSTOP, signal.SIGKILL):
        for pid in [proc.pid] + _descendants(proc.pid):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    proc.wait()


def _run_watched(command, env, timeout, log_path, on_record):
    """Run ``command``, calling ``on_record(record)`` for each task record as it is written; when it
    returns KILL the run is SIGKILLed there (a controller that dies), and its records end there."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True, cwd=REPO_ROOT,
                                start_new_session=True)
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            finished = proc.poll() is not None
            if os.path.exists(log_path):
                with open(log_path) as handle:
                    lines = handle.read().splitlines()
                complete = lines if finished else lines[:-1]  # the last one may still be written
                for line in complete[seen:]:
                    if line.strip() and on_record(json.loads(line)) == KILL and not finished:
                        _kill_tree(proc)
                        finished = True
                seen = max(seen, len(complete))
            if finished:
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise subprocess.TimeoutExpired(command, timeout)
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())


def run_playbook(playbook, check=False, diff=False, extra_vars=None, inventory=None,
                 extra_env=None, extra_args=(), timeout=600, on_record=None):
    """Run a playbook file (path) and return a PlaybookRun. ``on_record`` (optional) is called
    with each task record while the playbook runs (to act at a given point of a run)."""
    with tempfile.TemporaryDirectory(prefix="kubedc-run-") as workdir:
        log_path = os.path.join(workdir, "results.jsonl")
        env = ansible_env(extra_env)
        env["KUBEDC_RESULT_LOG"] = log_path
        command = [ANSIBLE_PLAYBOOK, playbook]
        if inventory is None:
            inventory = "localhost,"
            command += ["-c", "local"]
        command += ["-i", inventory]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if extra_vars:
            vars_file = os.path.join(workdir, "extra_vars.json")
            with open(vars_file, "w") as handle:
                json.dump(extra_vars, handle)
            command += ["-e", "@" + vars_file]
        command += list(extra_args)
        # A failed run is a result for the caller to assert on, not an exception.
        if on_record is None:
            proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                                  cwd=REPO_ROOT, check=False)
        else:
            proc = _run_watched(command, env, timeout, log_path, on_record)
        records = []
        keep_dir = os.environ.get("KUBEDC_KEEP_RESULTS")
        if keep_dir and os.path.exists(log_path):
            # For a look at a run afterwards: every run's records (with each task's seconds).
            os.makedirs(keep_dir, exist_ok=True)
            handle, kept = tempfile.mkstemp(suffix=".jsonl", prefix=os.path.basename(playbook) + "-", dir=keep_dir)
            os.close(handle)
            shutil.copy(log_path, kept)
        if os.path.exists(log_path):
            with open(log_path) as handle:
                records = [json.loads(line) for line in handle if line.strip()]
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, records)


def run_tasks(tasks, check=False, diff=False, extra_vars=None, extra_env=None, timeout=600):
    """Run a list of task dicts in a one-play playbook on localhost."""
    play = [{"name": "kubedc test play", "hosts": "localhost", "gather_facts": False,
             "tasks": tasks}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="kubedc-play-", delete=False) as handle:
        yaml.safe_dump(play, handle, sort_keys=False)
        path = handle.name
    try:
        return run_playbook(path, check=check, diff=diff, extra_vars=extra_vars,
                            extra_env=extra_env, timeout=timeout)
    finally:
        os.unlink(path)


def module_name(module):
    """The fully qualified name of a module: one of the collection's given by its short name
    ("ovn_health") gets the ``kubedc.ovn_tuning.`` prefix; a qualified name stays as it is."""
    return module if "." in module else "kubedc.ovn_tuning." + module


def task_result(record):
    """A task's result with ``failed`` taken from the task's status (ansible-core 2.19 results of
    failed tasks do not always carry the key)."""
    result = dict(record["result"])
    result["failed"] = record["status"] == "failed"
    return result


def module_task(name, module, args, check=None):
    """A task named ``name`` running ``module`` (short or qualified name) with ``args``, with
    ``ignore_errors`` so that a failure is a result to assert on; ``check`` (if not None) is its
    ``check_mode``."""
    task = {"name": name, module_name(module): args}
    if check is not None:
        task["check_mode"] = check
    task["ignore_errors"] = True
    return task


def run_all(tasks, check=False, diff=False, extra_env=None, timeout=600):
    """Run task dicts in one playbook on localhost, each with ``ignore_errors`` (added to a copy);
    their results by task name, each with ``failed`` from the task's status. Asserts that every
    task has a result."""
    tasks = [dict(task, ignore_errors=True) for task in tasks]
    run = run_tasks(tasks, check=check, diff=diff, extra_env=extra_env, timeout=timeout)
    return run.outcomes([task["name"] for task in tasks])


def run_cases(cases, module=None, check=False, diff=False, extra_env=None, timeout=600):
    """Several module runs in one ansible-playbook process; their results by label, as ``run_all``.

    Each case is ``(label, module, args)`` or ``(label, module, args, check_mode)``; with
    ``module`` given, every case runs that module and omits it: ``(label, args[, check_mode])``.
    ``check`` runs the whole play in check mode.
    """
    tasks = []
    for case in cases:
        if module is not None:
            case = (case[0], module) + tuple(case[1:])
        tasks.append(module_task(*case))
    return run_all(tasks, check=check, diff=diff, extra_env=extra_env, timeout=timeout)


def run_module(module, args, check=False, diff=False, extra_env=None, timeout=600):
    """Run one module once through ansible-playbook; return its result dict (as ``run_all``).

    ``module`` is the collection's short module name or a qualified one. The task has
    ``ignore_errors`` so that a failure is returned (``failed: true`` and ``msg``) for the test to
    assert on, not raised.
    """
    return run_cases([("module under test", module, args)], check=check, diff=diff,
                     extra_env=extra_env, timeout=timeout)["module under test"]
