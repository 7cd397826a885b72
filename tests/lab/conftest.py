"""Puts tests/lab on sys.path and loads the ovnlab fixtures for test_lab.py.

tests/conftest.py loads the same plugin when the whole suite runs; pytest
refuses `pytest_plugins` in a conftest below the top level, hence the hook.
"""

import os
import sys

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
if LAB_DIR not in sys.path:
    sys.path.insert(0, LAB_DIR)


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("ovnlab.fixtures"):
        config.pluginmanager.import_plugin("ovnlab.fixtures")
