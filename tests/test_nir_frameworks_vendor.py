"""The export calls docs/nir.md gives, run against today's snnTorch, Norse and Sinabs.

The frameworks are never neurocomp dependencies: ``tools/make_nir_fixtures.py`` makes
venvs of its own (``/tmp/snn-venv``, ``/tmp/sinabs-venv``) and runs itself in them. This
test (slow; skipped unless ``NEUROCOMP_NIR_VENVS=1``) writes the fixtures afresh into a
temporary folder and checks that the frameworks' counts are the ones the suite carries,
so the committed fixtures are what today's releases produce::

    NEUROCOMP_NIR_VENVS=1 pytest -m slow tests/test_nir_frameworks_vendor.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "nir"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("NEUROCOMP_NIR_VENVS") != "1",
                                 reason="set NEUROCOMP_NIR_VENVS=1 to build the frameworks' venvs and export")]


def test_todays_exporters_give_the_fixtures_the_suite_carries(tmp_path: Path) -> None:
    env = dict(os.environ, NEUROCOMP_NIR_FIXTURES=str(tmp_path))
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_nir_fixtures.py")], env=env,
                          capture_output=True, text=True, timeout=3000)
    if done.returncode != 0 and "pip" in done.stderr:
        pytest.skip(f"the frameworks' venvs could not be made: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    for fixture in sorted(DATA.glob("*/*.npz")):
        fresh = tmp_path / fixture.parent.name / fixture.name
        with np.load(fixture, allow_pickle=False) as want, np.load(fresh, allow_pickle=False) as got:
            np.testing.assert_array_equal(got["inputs"], want["inputs"])
            np.testing.assert_array_equal(got["counts"], want["counts"], err_msg=str(fixture))
