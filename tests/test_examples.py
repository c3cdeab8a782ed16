"""Every bundled example parses, checks and runs end to end; the chain matches its hand derivation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import main

EXAMPLES_DIR = Path(__file__).parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.snn"))
#: Examples written for one chip's arithmetic (tests/test_emulator_akida.py runs them).
CHIP_ONLY = {"digits_cnn_akida"}


def test_the_five_examples_the_docs_name_are_there() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"chain", "mnist_mlp", "brunel", "dvs_conv", "encoders"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_checks_and_simulates(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(path)]) == 0
    assert "ok" in capsys.readouterr().out
    out = tmp_path / "run"
    assert main(["simulate", str(path), "--steps", "50", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    with np.load(out / "spikes.npz", allow_pickle=False) as spikes:
        for name in nc.load(path).populations:
            assert f"{name}.times" in spikes
    assert summary["steps"] == 50


def test_chain_spikes_match_the_hand_derivation_in_the_file() -> None:
    # examples/chain.snn derives these steps by hand in its header comment.
    result = nc.simulate(nc.load(EXAMPLES_DIR / "chain.snn"), steps=20)
    expected = {"stim": [1, 2, 3, 4, 9, 10, 14, 16], "a": [3, 5, 11], "b": [4, 6, 12], "c": [9]}
    for pop, steps in expected.items():
        assert result.spikes[pop].times.tolist() == steps, pop
    # a's voltage at t = 2, 3: 0.75, then 0.375 + 0.75 = 1.125 > 1 -> spike and reset to 0
    v = result.traces["a"]["voltage"][:, 0]
    assert v[2] == 0.75 and v[3] == 0.0 and v[17] == 0.9375


def test_simulate_refuses_to_overwrite_a_previous_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chain = str(EXAMPLES_DIR / "chain.snn")
    assert main(["simulate", chain, "--steps", "5", "--out", str(tmp_path)]) == 0
    before = (tmp_path / "summary.json").read_bytes()
    assert main(["simulate", chain, "--steps", "7", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert (tmp_path / "summary.json").read_bytes() == before
    assert main(["simulate", chain, "--steps", "7", "--out", str(tmp_path), "--force"]) == 0
