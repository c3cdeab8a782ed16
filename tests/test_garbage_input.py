"""Garbage a user hands in is refused with one located message, never taken silently.

Each case is a file that used to be accepted (a complex array with its imaginary part
dropped, NaN samples, an infinite energy) or to end in a traceback (string spike times,
JSON nested 200,000 deep, a system file naming itself — see test_resource_guards.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurocomp.cli import main

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "examples" / "chain.snn"
TINY = ROOT / "tests" / "data" / "tiny.toml"


def _cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def _spiking_net(tmp_path, data_file: str) -> Path:
    path = tmp_path / "net.snn"
    path.write_text("network g\ndt = 1 ms\n"
                    f'input stim[1] : spikes(file = "{data_file}")\n'
                    "population a[1] : LIF(beta = 0.5, threshold = 1.0)\n"
                    "connect stim -> a : one_to_one(weight = 0.75)\n")
    return path


@pytest.mark.parametrize("arrays, message", [
    (dict(times=np.array(["a", "b"]), indices=np.array([0, 0])), "'times' holds <U1 values; expected whole numbers"),
    (dict(times=np.array([1, 2]), indices=np.array([b"x", b"y"])), "'indices' holds |S1 values"),
    (dict(times=np.array(3), indices=np.array(0)), "'times' and 'indices' must be 1-D arrays of one length"),
    (dict(raster=np.array([["1"], ["0"]])), "the raster holds <U1 values; expected 0 and 1"),
])
def test_a_spike_file_of_the_wrong_dtype_is_located(tmp_path, capsys, arrays, message):
    np.savez(tmp_path / "s.npz", **arrays)
    code, err = _cli(capsys, "check", _spiking_net(tmp_path, "s.npz"))
    assert code == 1 and "net.snn:3:24: error: 's.npz': " + message in err


def test_a_complex_array_is_refused_not_truncated(tmp_path, capsys):
    np.save(tmp_path / "c.npy", np.array([1 + 2j, 1, 1, 1]))
    path = tmp_path / "net.snn"
    path.write_text('network g\ndt = 1 ms\ninput x[4] : rate(value = "c.npy", max_rate = 10 Hz)\n')
    code, err = _cli(capsys, "check", path)
    assert code == 1 and "'c.npy' holds complex numbers (complex128); expected real ones" in err


@pytest.mark.parametrize("x, message", [
    (np.array([[np.nan], [1.0]]), "samples x hold nan at [0, 0]; every value must be a finite number"),
    (np.array([[1.0], [np.inf]]), "samples x hold inf at [1, 0]"),
    (np.array([["a"], ["b"]]), "samples x must be real numbers (got <U1)"),
    (np.array([[1j], [1.0]]), "samples x must be real numbers (got complex128)"),
])
def test_validate_samples_must_be_real_and_finite(tmp_path, capsys, x, message):
    np.savez(tmp_path / "samples.npz", x=x, y=np.array([0, 1]))
    code, err = _cli(capsys, "validate", ROOT / "examples" / "mnist_mlp.snn", "--chip", "loihi", "--steps", "5",
                     "--samples", tmp_path / "samples.npz")
    assert code == 1 and message in err


def test_run_inputs_must_be_real_and_finite(tmp_path, capsys):
    np.savez(tmp_path / "in.npz", stim=np.array([[np.nan]] * 5))
    code, err = _cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", "5", "--inputs", tmp_path / "in.npz")
    assert code == 1 and "array 'stim' holds NaN or infinite values" in err
    np.savez(tmp_path / "in.npz", stim=np.ones((5, 1), dtype=np.complex64))
    code, err = _cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", "5", "--inputs", tmp_path / "in.npz")
    assert code == 1 and "array 'stim' holds complex64 values; expected real numbers" in err


def test_json_nested_too_deep_is_one_error(tmp_path, capsys):
    (tmp_path / "deep.map.json").write_text("[" * 200_000 + "]" * 200_000)
    code, err = _cli(capsys, "run", tmp_path / "deep.map.json", "--steps", "3")
    assert code == 1 and "its JSON is nested too deeply to be a mapping" in err


def test_toml_nested_too_deep_is_one_error(tmp_path, capsys):
    (tmp_path / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, err = _cli(capsys, "compile", CHAIN, "--chip", tmp_path / "deep.toml", "-o", tmp_path / "m.map.json")
    assert code == 1 and "its TOML is nested too deeply to be a chip file" in err


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_chip_float_must_be_finite(tmp_path, capsys, value):
    text = TINY.read_text()
    key = next(line for line in text.splitlines() if line.startswith("synop_pj"))
    (tmp_path / "c.toml").write_text(text.replace(key, key.split("=")[0] + f"= {{ value = {value}, "
                                                  'source = "assumed: test" }'))
    code, err = _cli(capsys, "compile", CHAIN, "--chip", tmp_path / "c.toml", "-o", tmp_path / "m.map.json")
    assert code == 1 and "energy.synop_pj: input should be a finite number" in err


def test_a_recorded_dt_that_is_not_a_number_is_ignored():
    from neurocomp.cli.import_nir import _recorded_dt_ms

    assert _recorded_dt_ms(0.5) == 0.5 and _recorded_dt_ms("2") == 2.0
    assert [_recorded_dt_ms(v) for v in ("abc", b"abc", None, True, float("nan"), -1.0, [1.0])] == [None] * 7


def test_an_unknown_nir_node_type_has_a_reason(tmp_path, capsys):
    pytest.importorskip("nir")
    h5py = pytest.importorskip("h5py")
    code, _ = _cli(capsys, "export", CHAIN, "-o", tmp_path / "c.nir")
    assert code == 0
    with h5py.File(tmp_path / "c.nir", "r+") as f:
        node = f["node"]["nodes"]["a"]
        del node["type"]
        node["type"] = b"Bogus"
    code, err = _cli(capsys, "import", tmp_path / "c.nir", "--dt", "1ms", "-o", tmp_path / "c.snn")
    assert code == 1
    assert "cannot read '" in err and "as a NIR graph: a node of a type the nir package does not know" in err
