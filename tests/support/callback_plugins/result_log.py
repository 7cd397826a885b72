# Test-only callback: appends every task result as one JSON line to $KUBEDC_RESULT_LOG,
# so tests can assert on module results without scraping human output.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: result_log
type: aggregate
short_description: write task results as JSON lines (tests only)
description: Writes every task result to the file named by KUBEDC_RESULT_LOG.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "result_log"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._task_started = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_started = time.monotonic()

    def _write(self, result, status):
        path = os.environ.get("KUBEDC_RESULT_LOG")
        if not path:
            return
        record = {
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "action": result._task.action,
            "status": status,
            "result": self._clean(result._result),
            # seconds from the start of the task to this host's result
            "seconds": round(time.monotonic() - self._task_started, 3) if self._task_started else None,
        }
        # ansible-core 2.19 keeps the failure in the task status, not always in the result.
        record["result"].setdefault("failed", status == "failed")
        with open(path, "a") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    @staticmethod
    def _clean(data):
        return json.loads(json.dumps(data, default=str))

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "unreachable")
