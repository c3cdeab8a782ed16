"""Quantization warnings reach the user: nc.compile issues a QuantizationWarning per
warning of the Mapping's quantization report, and `neurocomp run` prints them as
`neurocomp compile` does; `validate` and `compare` show them as notes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import main
from neurocomp.diagnostics import QuantizationWarning

NET = """network tiny_w
dt = 1 ms
input src[3] : rate(value = 1.0, max_rate = 1000 Hz, seed = 0)
population a[1] : IF(threshold = 1.0, reset = zero)
connect src -> a : dense(weights = "w.npy")
"""

# Loihi stores 8-bit weights on one grid per projection: with 1.0 the largest, a step is
# 1/255 (excitatory, 0..255) and 0.001 is below half a step: 2 of the 3 weights round
# to 0 (67 %, above the quantizer's 50 % warning line).
EXPECTED = "projection 'src->a': 67% of its weights round to 0"


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    np.save(tmp_path / "w.npy", np.array([[1.0, 0.001, 0.001]], dtype=np.float64))
    (tmp_path / "tiny_w.snn").write_text(NET)
    return tmp_path / "tiny_w.snn"


def test_compile_issues_a_quantization_warning(net_file: Path) -> None:
    with pytest.warns(QuantizationWarning, match=r"compiling 'tiny_w' for loihi: .*" + EXPECTED) as rec:
        mapping = nc.compile(net_file, chip="loihi")
    assert rec[0].filename == __file__  # points at the caller's line
    assert len(rec) == len(mapping.quantization.warnings) == 1


@pytest.mark.parametrize("command", ["compile", "run"])
def test_every_compiling_command_prints_them(net_file: Path, capsys, command: str) -> None:
    argv = [command, str(net_file), "--chip", "loihi"] + (["--steps", "5"] if command == "run" else [])
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)  # the CLI prints, never re-warns
        assert main(argv) == 0
    out, err = capsys.readouterr()
    lines = [line for line in (out + err).splitlines() if line.startswith("warning: ")]
    assert len(lines) == 1 and EXPECTED in lines[0], out + err


def test_validate_shows_them_as_notes(net_file: Path) -> None:
    check = nc.validate(net_file, chip="loihi", steps=5)
    assert any(EXPECTED in note for note in check.notes), check.notes
    assert any(line.startswith("note: ") and EXPECTED in line for line in check.to_text().splitlines())


def test_compare_shows_them_as_notes_of_the_chips_row(net_file: Path, capsys) -> None:
    assert main(["compare", str(net_file), "--chip", "loihi", "--steps", "5"]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert any(line.startswith("note: loihi: ") and EXPECTED in line for line in lines), lines
