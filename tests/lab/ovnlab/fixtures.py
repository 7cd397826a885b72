"""pytest fixtures that start real OVN hosts (network namespaces, see docs/lab.md).

Load them with `pytest_plugins = ["ovnlab.fixtures"]` in the top-level
conftest.py, after putting tests/lab on sys.path.  Set OVNLAB_KEEP=1 to keep
every lab's workdir (databases and logs) after the run, for post-mortems.
"""

import os

import pytest

from .lab import Lab

KEEP_ENVIRONMENT_VARIABLE = "OVNLAB_KEEP"


def _keep_workdirs():
    return os.environ.get(KEEP_ENVIRONMENT_VARIABLE, "") not in ("", "0")


@pytest.fixture(scope="session")
def ovn_lab():
    """One lab shared by the whole session: 3-member NB and SB clusters,
    ovn-northd and one chassis, default probes and a 1000 ms election timer.

    Tests that use it must leave it as they found it: resume what they
    pause, restore options, rows and timers they change, and use
    lab_factory instead for anything destructive (killing members, deleting
    Connection rows).
    """
    lab = Lab(name="session", northd=True, chassis=1, keep=_keep_workdirs())
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def lab_factory():
    """A function that builds, starts and returns a private Lab; it takes
    Lab's keyword arguments.  Every lab it made is stopped at teardown."""
    labs = []

    def make_lab(**kwargs):
        kwargs.setdefault("name", "factory")
        kwargs.setdefault("keep", _keep_workdirs())
        lab = Lab(**kwargs)
        labs.append(lab)
        lab.start()
        return lab

    yield make_lab
    failures = []
    for lab in reversed(labs):
        try:
            lab.stop()
        except Exception as exc:  # noqa: BLE001 - stop the others, then report
            failures.append(exc)
    if failures:
        raise failures[0]
