"""Quantization warnings reach the user: nc.compile issues a QuantizationWarning per
warning of the Mapping's quantization report, and `neurocomp run` prints them as
`neurocomp compile` does; `validate` and `compare` show them as notes."""

from __future__ import annotations

import warnings
from html import escape
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


# --------------------------------------------------------------------------- one collector


def _report_json(folder: Path) -> dict:
    import json

    return json.loads((folder / "report.json").read_text())


def test_run_keeps_quantization_warnings_in_report_json_and_html(net_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizationWarning)
        assert main(["run", str(net_file), "--chip", "loihi", "--steps", "5", "--out", str(out), "--html"]) == 0
    (got,) = _report_json(out)["warnings"]
    assert got["stage"] == "quantization"
    assert got["about"] == ["projection 'src->a'"]
    assert got["message"].startswith(EXPECTED)
    assert got["spikes_can_differ"] is True  # weights that round to 0 can change the spikes
    page = (out / "report.html").read_text()
    assert "<h2>Warnings (1)</h2>" in page
    assert escape(EXPECTED) in page
    # 'neurocomp report' draws the page again from the folder: the warning stays on it
    (out / "report.html").unlink()
    assert main(["report", str(out), "--html"]) == 0
    assert escape(EXPECTED) in (out / "report.html").read_text()


FLOOR = """network floor
dt = 1 ms
input x[5] : spikes(file = "in.npz")
population n[1] : IF(threshold = 1.0) native loihi(du = 4095, dv = 0, vth_mant = 1000, bias_mant = 0, bias_exp = 0, refractory = 0)
connect x -> n : dense(weights = "w.npy") native loihi(weights = "wi.npy", weight_exp = 7, weight_bits = 8, sign_mode = mixed)
"""


def _floor_net(tmp_path: Path, weights: list[int], times: list[int], indices: list[int]) -> Path:
    np.save(tmp_path / "w.npy", np.sign(np.array([weights], dtype=np.float64)))
    np.save(tmp_path / "wi.npy", np.array([weights], dtype=np.int64))
    np.savez(tmp_path / "in.npz", times=np.array(times), indices=np.array(indices))
    (tmp_path / "floor.snn").write_text(FLOOR.replace("x[5]", f"x[{len(weights)}]"))
    return tmp_path / "floor.snn"


def test_an_overflow_reaches_stderr_report_json_and_html(tmp_path: Path, capsys) -> None:
    # test_emulator_loihi's hand-derived case: five inputs of weight -128 << 7 at steps 0
    # and 1 take v to -10,485,760 at step 2, which saturates once at the 24-bit floor
    # -(2**23 - 1). Nothing comes after: the neuron never fires, with or without the
    # floor, and the warning says the spikes are unchanged.
    from neurocomp.report.notices import collect

    net = _floor_net(tmp_path, [-128] * 5, [0] * 5 + [1] * 5, list(range(5)) * 2)
    out = tmp_path / "out"
    assert main(["run", str(net), "--chip", "loihi", "--steps", "6", "--out", str(out), "--html"]) == 0
    err = capsys.readouterr().err.replace("\n", " ")
    want = ("population 'n': v saturated at its 24-bit floor 1 time (first: step 2, core 0, compartment 0, "
            "neuron 0): spikes can differ from the float model")
    assert f"warning: {want}" in err and "but in this run they did not" in err
    (got,) = _report_json(out)["warnings"]
    assert (got["stage"], got["about"], got["spikes_can_differ"]) == ("emulation", ["population 'n'"], False)
    assert got["message"].startswith(want)
    assert (got["samples_overflowed"], got["samples"]) == (1, 1)
    assert "saturated at its 24-bit floor 1 time" in (out / "report.html").read_text()
    # the Python form: the emulator's OverflowWarning carries the same record, without
    # the advice to stop at the first overflow
    mapping = nc.compile(net, chip="loihi")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nc.run(mapping, steps=6)
    (notice,) = collect(mapping, caught)
    assert notice.message == got["message"] and "strict" not in str(caught[0].message)


def test_a_floor_that_changes_the_spikes_says_so(tmp_path: Path) -> None:
    # As above, then inputs of weight 127 << 7 (1,040,384 in u after << 6): five at step
    # 3, four at step 4 (u stays below 2**23: it does not wrap). From the floor:
    # v(4) = -8,388,607 + 5,201,920 = -3,186,687, v(5) = -3,186,687 + 4,161,536 = 974,849
    # > 64,000 (vth_mant 1000 << 6): it fires at step 5. From -10,485,760 it would reach
    # -1,122,304 and not fire. The floor changed the spikes.
    from neurocomp.report.notices import collect

    net = _floor_net(tmp_path, [-128] * 5 + [127] * 9, [0] * 5 + [1] * 5 + [3] * 5 + [4] * 4,
                     list(range(5)) * 2 + list(range(5, 14)))
    mapping = nc.compile(net, chip="loihi")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = nc.run(mapping, steps=7)
    assert result.spikes["n"].times.tolist() == [5]
    (notice,) = collect(None, caught)
    assert notice.spikes_can_differ and "in this run they did not" not in notice.message
    assert "Run with strict=True" in str(caught[0].message)


def test_a_ceiling_that_leaves_the_spikes_alone_says_so() -> None:
    from neurocomp.diagnostics import OverflowWarning
    from neurocomp.report.notices import collect

    text = ("population 'n': v saturated at its 24-bit ceiling 1 time (first: step 1, core 0, compartment 0, "
            "neuron 0): spikes unchanged: v above the ceiling is above threshold")
    (n,) = collect(None, [OverflowWarning("emulating ...", detail=text, overflowed=2, samples=5)])
    assert not n.spikes_can_differ
    assert n.line() == f"warning: in 2 of 5 samples: {text}"
    # a TrueNorth-style sentence that says nothing of the spikes is taken to change them
    (m,) = collect(None, [OverflowWarning("v saturated 3 times (first: step 7, core 0, compartment 2, "
                                          "population 'a' neuron 2)")])
    assert m.spikes_can_differ and m.about == ("population 'a'",)
    assert m.line().endswith("(spikes can differ from the float model)")


def test_quiet_keeps_stderr_empty_and_verbose_logs_each_stage(net_file: Path, capsys) -> None:
    argv = ["run", str(net_file), "--chip", "loihi", "--steps", "5"]
    assert main(argv + ["--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "run of 'tiny_w' on loihi" in out  # the results, no warning
    assert main(argv + ["-v"]) == 0
    err = capsys.readouterr().err
    for stage in ("lower", "quantize", "partition", "place", "route"):
        assert f"compiling 'tiny_w' for loihi: {stage} took " in err
    assert "emulated 5 steps of 'tiny_w' on loihi (sample 0) in " in err and EXPECTED in err
    assert main(argv + ["-q", "-v"]) == 1
    assert "--quiet and --verbose ask for opposite things" in capsys.readouterr().err
