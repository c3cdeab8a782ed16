"""Shared pytest options: ``--update-golden`` rewrites golden files instead of comparing.

Every compile in the tests checks the IR invariants after each pass
(:mod:`neurocomp.ir.verify`), subprocesses included.

With pytest-xdist (the default options run one process per core, ``--dist loadfile``) a
test file is one unit of work, so its kernels compile once, in one process; the pages of
the documentation are the exception (:func:`unit_of`).
"""

import os

import pytest

os.environ.setdefault("NEUROCOMP_VERIFY", "1")

#: Tests that are each a unit of work of their own under ``--dist loadfile``: the pages of
#: the documentation share nothing (each runs in a fresh copy of the repository), and the
#: tutorial's chapters are each mostly the first compile of a different kernel family, so
#: they spread over the processes instead of queueing in one (their order:
#: ``tests/test_docs.py``'s ``FIRST``).
SPREAD = ("tests/test_docs.py::test_page_runs[",)


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or itself for :data:`SPREAD`."""
    return nodeid if nodeid.startswith(SPREAD) else nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with the units of :func:`unit_of`."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SpreadScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return SpreadScheduling(config, log)


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the expected-output golden files from the current output",
    )


@pytest.fixture
def update_golden(request) -> bool:
    """True when the run was started with ``--update-golden``."""
    return bool(request.config.getoption("--update-golden"))
