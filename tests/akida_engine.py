"""Driving BrainChip's ``akida`` engine in a venv of its own, for the vendor tests.

The engine is never a dependency of neurocomp: a test writes a script for the engine's
Python (``NEUROCOMP_AKIDA_PYTHON``), sends it one JSON request on stdin and reads one JSON
answer, the line that starts with :data:`MARK` (the engine prints its own messages too).
Tests that need it use :data:`needs_engine` as their ``pytestmark``; ``.ci/run`` creates the
venv and sets the variable.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

PYTHON = os.environ.get("NEUROCOMP_AKIDA_PYTHON", "")

#: The line of the engine's output that carries the answer starts with this.
MARK = "@@neurocomp@@"

needs_engine = [
    pytest.mark.slow,
    pytest.mark.skipif(not PYTHON or not Path(PYTHON).exists(),
                       reason="set NEUROCOMP_AKIDA_PYTHON to a Python with BrainChip's akida package"),
]


def ask(script: str, request: dict, timeout: float = 600) -> dict:
    """Run ``script`` in the engine's venv with ``request`` on stdin; its marked answer."""
    proc = subprocess.run([PYTHON, "-c", script], input=json.dumps(request), capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith(MARK)][-1]
    return json.loads(line[len(MARK):])
