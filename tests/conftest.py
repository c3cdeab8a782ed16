"""Shared pytest options: ``--update-golden`` rewrites golden files instead of comparing.

Every compile in the tests checks the IR invariants after each pass
(:mod:`neurocomp.ir.verify`), subprocesses included.
"""

import os

import pytest

os.environ.setdefault("NEUROCOMP_VERIFY", "1")


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
