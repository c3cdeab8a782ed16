"""Models the frameworks exported themselves run in neurocomp as their framework ran them.

``tests/data/nir/<framework>/<model>.nir`` was written by the framework's own NIR exporter
and ``<model>.npz`` holds the framework's own output spike counts for a few input rasters
(both made by ``tools/make_nir_fixtures.py`` in a venv of its own: the frameworks are
not neurocomp dependencies). The float reference, fed the same rasters, must give the
same counts: the expectation is the framework's output, not ours.

neurocomp delivers a spike one step later per layer, so an output layer at depth ``d``
answers the framework's step ``t`` at step ``t + d``: the run is ``T + d`` steps, the
input zero-padded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nir")

import neurocomp as nc  # noqa: E402
from neurocomp.interop.nir_import import import_nir  # noqa: E402
from neurocomp.interop.nir_import.depth import depths  # noqa: E402

DATA = Path(__file__).parent / "data" / "nir"


def counts_in_neurocomp(nir_file: Path, fixture: Path, output: str, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(neurocomp's output spike counts, the framework's), one row per sample."""
    data = np.load(fixture, allow_pickle=False)
    net = import_nir(nir_file, float(data["dt_ms"]), **kw)
    depth = depths(net)[output]
    samples, steps, n_in = data["inputs"].shape
    got = np.zeros_like(data["counts"])
    for s in range(samples):
        x = np.zeros((steps + depth, n_in))
        x[:steps] = data["inputs"][s]
        got[s] = nc.simulate(net, steps + depth, inputs={"input": x}).spike_counts(output)
    return got, data["counts"]


def test_snntorch_leaky_reset_zero_with_biases_gives_snntorch_counts() -> None:
    # Linear -> Leaky(beta 0.9, reset zero) -> Linear -> Leaky(beta 0.8), both Linear with biases;
    # snnTorch's exporter writes its time constants for dt = 0.1 ms.
    got, want = counts_in_neurocomp(DATA / "snntorch" / "leaky_zero.nir", DATA / "snntorch" / "leaky_zero.npz",
                                    "n_3")
    assert want.sum() > 100 and (want > 0).mean() > 0.5  # the comparison means something only with activity
    np.testing.assert_array_equal(got, want)


def test_snntorch_leaky_default_reset_is_subtract_at_the_next_step() -> None:
    # snnTorch's default Leaky subtracts the threshold at the next step, after the leak; its
    # exporter writes the same NIR LIF as for reset zero, so the import is told.
    nir_file, fixture = DATA / "snntorch" / "leaky_subtract.nir", DATA / "snntorch" / "leaky_subtract.npz"
    got, want = counts_in_neurocomp(nir_file, fixture, "n_3", reset="subtract-next")
    assert want.sum() > 100 and (want > 0).mean() > 0.5
    np.testing.assert_array_equal(got, want)
    # NIR's own reading of the same file (reset to zero) is a different network
    zero, _ = counts_in_neurocomp(nir_file, fixture, "n_3")
    assert not np.array_equal(zero, want)


def test_subtract_next_is_written_with_parts_loihi_has(tmp_path: Path) -> None:
    """The lowering: membrane in the current (alpha = beta, beta = 0), a self-connection of
    weight -threshold; it survives the .snn text and compiles for Loihi (zero reset only)."""
    from neurocomp.cli import main

    nir_file = DATA / "snntorch" / "leaky_subtract.nir"
    assert main(["import", str(nir_file), "--dt", "0.1ms", "--reset", "subtract-next",
                 "-o", str(tmp_path / "m.snn")]) == 0
    net = nc.load(tmp_path / "m.snn")
    m = net.populations["n_1"].neuron
    assert (m.alpha, m.beta, m.reset) == (pytest.approx(0.9, abs=1e-7), 0.0, "zero")  # float32 beta
    loop = next(p for p in net.projections if p.pre == p.post == "n_1")
    assert loop.connector.weight == -1.0 and loop.delay_steps == 0
    data = np.load(DATA / "snntorch" / "leaky_subtract.npz", allow_pickle=False)
    x = np.zeros((27, data["inputs"].shape[2]))
    x[:25] = data["inputs"][0]
    assert np.array_equal(nc.simulate(net, 27, inputs={"input": x}).spike_counts("n_3"), data["counts"][0])
    nc.compile(net, "loihi")  # refused before: reset 'subtract' is not available on loihi


def test_snntorch_step_is_inferred_and_a_wrong_one_refused() -> None:
    from neurocomp.diagnostics import InteropError

    nir_file = DATA / "snntorch" / "leaky_zero.nir"
    net = import_nir(nir_file)  # no dt: snnTorch's exporter writes r = tau / 1e-4 s
    assert net.dt_ms == 0.1 and net.populations["n_1"].neuron.beta == pytest.approx(0.9, abs=1e-7)
    # at 1 ms it would silently be beta = 1 - 10*(1 - 0.9) = 0 with weights x 10: refused, naming 0.1 ms
    with pytest.raises(InteropError, match=r"written by snnTorch's exporter .* at dt = 1 ms \(euler\) it would "
                                           r"be another network\n= help: import with --dt 0\.1ms \(dt_ms=0\.1\)"):
        import_nir(nir_file, 1.0)
    with pytest.raises(InteropError, match=r"--dt 0\.1ms"):
        import_nir(nir_file, 0.1, method="exp")


def test_norse_writes_tau_times_dt_and_the_error_names_dt_squared() -> None:
    from neurocomp.diagnostics import InteropError, UsageError

    nir_file, fixture = DATA / "norse" / "lifbox.nir", DATA / "norse" / "lifbox.npz"
    assert float(np.load(fixture)["framework_dt_ms"]) == 1.0
    with pytest.raises(InteropError, match=r"node '1' \(LIF\): dt = 1 ms is longer than tau = .*\n= help: this "
                                           r"looks like Norse's exporter .*: if Norse ran it at dt = 1 ms, "
                                           r"import with --dt 1us \(dt_ms=0\.001"):
        import_nir(nir_file, 1.0)
    with pytest.raises(UsageError, match=r"does not say which one it was written for \(Norse"):
        import_nir(nir_file)  # Norse's own dt is not in the file
    # at dt^2 = 1 us: Linear (with biases) -> LIFBoxCell -> Linear -> LIFBoxCell, Norse's exact counts
    got, want = counts_in_neurocomp(nir_file, fixture, "n_3")
    assert want.sum() > 100 and (want > 0).mean() > 0.5
    np.testing.assert_array_equal(got, want)


def test_cli_import_infers_the_snntorch_step(tmp_path: Path, capsys) -> None:
    from neurocomp.cli import main

    assert main(["import", str(DATA / "snntorch" / "leaky_zero.nir"), "-o", str(tmp_path / "m.snn")]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert ("reset: zero (snnTorch: snnTorch's exporter writes the same LIF for every reset_mechanism, and its "
            "own import_from_nir reads it back with reset_mechanism='zero'") in said
    assert main(["import", str(DATA / "sinabs" / "lif.nir"), "-o", str(tmp_path / "s.snn")]) == 0
    assert "reset: subtract (Sinabs: Sinabs' own from_nir reads a LIF back" in " ".join(capsys.readouterr().out.split())
    assert any(p.pre == p.post == "n_1" for p in nc.load(tmp_path / "s.snn").projections)  # the reset's loop
    assert nc.load(tmp_path / "m.snn").dt_ms == 0.1
    assert main(["import", str(DATA / "snntorch" / "leaky_zero.nir"), "--dt", "1ms", "-o",
                 str(tmp_path / "w.snn")]) != 0
    assert not (tmp_path / "w.snn").exists()


def test_validate_classifies_with_a_read_out_that_connects_to_itself() -> None:
    """With snnTorch's subtract reset every layer has a self-connection; the read-out is still
    found (a self-connection is not an outgoing one), and the float reference's classes are
    snnTorch's own (the labels here are snnTorch's argmax of its counts)."""
    from neurocomp.diagnostics import UsageError

    data = np.load(DATA / "snntorch" / "leaky_subtract.npz", allow_pickle=False)
    net = import_nir(DATA / "snntorch" / "leaky_subtract.nir", reset="subtract-next")
    samples, steps, n_in = data["inputs"].shape
    x = np.zeros((samples, steps + 2, n_in))
    x[:, :steps] = data["inputs"]
    y = np.argmax(data["counts"], axis=1)
    report = nc.validate(net, "loihi", steps + 2, samples=(x, y))
    assert report.classifier.output == "n_3" and report.classifier.accuracy_ref == 1.0
    with pytest.raises(UsageError, match=r"no neuron population 'n3' to classify with\n= help: did you mean 'n_3'"):
        nc.validate(net, "loihi", steps + 2, samples=(x, y), output="n3")


def test_sinabs_time_axis_input_same_step_subtract_and_its_step() -> None:
    # Sinabs writes Input [T, N] and Output [T, outputs]; tau_mem counted in steps (dt = 1 s, exp);
    # its default reset subtracts the threshold in the step of the spike; it fires on v >= threshold
    from neurocomp.diagnostics import InteropError

    nir_file, fixture = DATA / "sinabs" / "lif.nir", DATA / "sinabs" / "lif.npz"
    net = import_nir(nir_file, reset="subtract")  # the step and method are Sinabs' convention
    assert (net.dt_ms, net.populations["input"].shape) == (1000.0, (16,))
    assert net.populations["n_1"].neuron.alpha == pytest.approx(np.exp(-1 / 10), abs=1e-12)
    got, want = counts_in_neurocomp(nir_file, fixture, "n_3", method="exp", reset="subtract")
    assert want.sum() > 100 and (want > 0).mean() >= 0.5
    np.testing.assert_array_equal(got, want)
    # no --reset: the file is Sinabs' (its conventions), and Sinabs reads a LIF back with MembraneSubtract
    got, _ = counts_in_neurocomp(nir_file, fixture, "n_3", method="exp")
    np.testing.assert_array_equal(got, want)
    zero, _ = counts_in_neurocomp(nir_file, fixture, "n_3", method="exp", reset="zero")
    assert not np.array_equal(zero, want)
    with pytest.raises(InteropError, match=r"Sinabs's exporter .*\n= help: import with --dt 1s --method exp"):
        import_nir(nir_file, 1.0)


def test_cli_simulate_takes_the_framework_raster_and_pads_it(tmp_path: Path, capsys) -> None:
    from neurocomp.cli import main

    data = np.load(DATA / "snntorch" / "leaky_zero.npz", allow_pickle=False)
    assert main(["import", str(DATA / "snntorch" / "leaky_zero.nir"), "-o", str(tmp_path / "m.snn")]) == 0
    np.savez(tmp_path / "x.npz", input=data["inputs"][3])  # 25 steps; the output layer is 2 deep
    assert main(["simulate", str(tmp_path / "m.snn"), "--steps", "27", "--inputs", str(tmp_path / "x.npz"),
                 "--out", str(tmp_path / "run")]) == 0
    assert "input 'input': 25 steps given, padded with zeros to 27" in capsys.readouterr().out
    with np.load(tmp_path / "run" / "spikes.npz", allow_pickle=False) as spikes:
        got = np.bincount(spikes["n_3.indices"], minlength=6)
    np.testing.assert_array_equal(got, data["counts"][3])
    assert main(["simulate", str(tmp_path / "m.snn"), "--steps", "27", "--inputs", str(tmp_path / "x.npz"),
                 "--framework-steps", "--out", str(tmp_path / "fw")]) == 0
    with np.load(tmp_path / "fw" / "spikes.npz", allow_pickle=False) as spikes:
        raster = np.zeros((25, 6), dtype=np.uint8)
        raster[spikes["n_3.times"], spikes["n_3.indices"]] = 1
    np.testing.assert_array_equal(raster, data["spikes"][3])  # snnTorch's own steps


FIXTURES = [("snntorch", "leaky_zero", {}), ("snntorch", "leaky_subtract", {"reset": "subtract-next"}),
            ("norse", "lifbox", {}), ("sinabs", "lif", {"method": "exp", "reset": "subtract"})]


@pytest.mark.parametrize("framework, model, kw", FIXTURES, ids=[f"{f}-{m}" for f, m, _ in FIXTURES])
def test_framework_steps_give_the_frameworks_own_raster_step_for_step(framework: str, model: str, kw: dict) -> None:
    """Each population shifted back by its depth: the output raster is the framework's,
    step for step (its own per-step output spikes, saved by tools/make_nir_fixtures.py)."""
    from neurocomp.interop.steps import framework_steps

    data = np.load(DATA / framework / f"{model}.npz", allow_pickle=False)
    net = import_nir(DATA / framework / f"{model}.nir", float(data["dt_ms"]), **kw)
    samples, steps, n_in = data["inputs"].shape
    assert data["spikes"].shape == (samples, steps, data["counts"].shape[1])
    for s in range(samples):
        x = np.zeros((steps + 2, n_in))
        x[:steps] = data["inputs"][s]
        result, shift = framework_steps(nc.simulate(net, steps + 2, inputs={"input": x}), net)
        assert (result.steps, shift["input"], shift["n_1"], shift["n_3"]) == (steps, 0, 1, 2)
        ev = result.spikes["n_3"]
        raster = np.zeros((steps, ev.n), dtype=np.uint8)
        raster[ev.times, ev.indices] = 1
        np.testing.assert_array_equal(raster, data["spikes"][s], err_msg=f"sample {s}")
        ev = result.spikes["input"]
        raster = np.zeros((steps, n_in), dtype=np.uint8)
        raster[ev.times, ev.indices] = 1
        np.testing.assert_array_equal(raster, data["inputs"][s])


def test_framework_steps_refuse_a_run_too_short_for_the_deepest_layer() -> None:
    from neurocomp.diagnostics import UsageError
    from neurocomp.interop.steps import framework_steps

    net = import_nir(DATA / "snntorch" / "leaky_zero.nir")
    result = nc.simulate(net, 26, inputs={"input": np.zeros((26, 16))})
    with pytest.raises(UsageError, match=r"26 steps are too few for 25 framework steps: 'n_3' is 2 steps from "
                                         r"the input\n= help: run 27 steps"):
        framework_steps(result, net, 25)
    assert framework_steps(result, net)[0].steps == 24


def test_cli_run_pads_a_short_raster_and_saves_framework_steps(tmp_path: Path, capsys) -> None:
    from neurocomp.cli import main

    data = np.load(DATA / "snntorch" / "leaky_zero.npz", allow_pickle=False)
    assert main(["import", str(DATA / "snntorch" / "leaky_zero.nir"), "-o", str(tmp_path / "m.snn")]) == 0
    np.savez(tmp_path / "x.npz", input=data["inputs"][3])
    capsys.readouterr()
    assert main(["run", str(tmp_path / "m.snn"), "--chip", "loihi", "--steps", "27", "--inputs",
                 str(tmp_path / "x.npz"), "--framework-steps", "--out", str(tmp_path / "run")]) == 0
    said = capsys.readouterr()
    assert "input 'input': 25 steps given, padded with zeros to 27" in said.err
    assert "framework steps: 25 steps" in " ".join(said.out.split())
    with np.load(tmp_path / "run" / "spikes.npz", allow_pickle=False) as spikes:
        assert spikes["n_3.times"].max() < 25 and spikes["n_1.times"].max() < 25
        np.testing.assert_array_equal(np.sort(spikes["input.times"]), np.nonzero(data["inputs"][3])[0])
    assert main(["run", str(tmp_path / "m.snn"), "--chip", "loihi", "--steps", "27", "--framework-steps"]) != 0


def test_cli_validate_pads_rasters_and_says_when_the_run_is_too_short(tmp_path: Path, capsys) -> None:
    from neurocomp.cli import main

    data = np.load(DATA / "snntorch" / "leaky_zero.npz", allow_pickle=False)
    assert main(["import", str(DATA / "snntorch" / "leaky_zero.nir"), "-o", str(tmp_path / "m.snn")]) == 0
    np.savez(tmp_path / "s.npz", x=data["inputs"], y=np.argmax(data["counts"], axis=1))
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "m.snn"), "--chip", "loihi", "--steps", "25", "--samples",
                 str(tmp_path / "s.npz"), "--output", "n_3"]) == 0
    assert ("note: 'n_3' is 2 steps from the input, so input steps after 22 do not reach it in 25 steps; "
            "--steps 27 runs the whole raster") in " ".join(capsys.readouterr().out.split())
    assert main(["validate", str(tmp_path / "m.snn"), "--chip", "loihi", "--steps", "27", "--samples",
                 str(tmp_path / "s.npz")]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "samples are rasters of 25 steps: padded with zeros to --steps 27" in said and "is 2 steps from" not in said


def test_a_partly_written_file_is_named_as_such(tmp_path: Path) -> None:
    # an exporter that failed half-way leaves an HDF5 file whose node has no 'type'
    from neurocomp.diagnostics import InteropError

    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "partial.nir", "w") as f:
        f.create_group("node").create_dataset("version", data="1.0")
    with pytest.raises(InteropError, match=r"lacks the field 'type' that NIR needs \(a file written only in part"):
        import_nir(tmp_path / "partial.nir", 1.0)
