"""The float reference against the chip: agreement figures checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import neurocomp.report.validate as V
import neurocomp.workflows.samples as S
import neurocomp.workflows.validate as W
from neurocomp.chip.load import load_chip
from neurocomp.diagnostics import InputFileError, UsageError
from neurocomp.ir.build import load
from neurocomp.ir.result import RunResult, SpikeEvents
from neurocomp.ir.synapses import InputEvents

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_of(pops: dict[str, tuple[list[int], list[int], int]], steps: int = 10) -> RunResult:
    spikes = {}
    for name, (times, indices, n) in pops.items():
        order = np.lexsort((np.asarray(indices), np.asarray(times)))
        spikes[name] = SpikeEvents(times=np.asarray(times, dtype=np.int64)[order],
                                   indices=np.asarray(indices, dtype=np.int64)[order], n=n)
    return RunResult(network="hand", steps=steps, dt_ms=1.0, spikes=spikes)


def test_agreement_by_hand() -> None:
    # 3 neurons, 10 steps of 1 ms (0.01 s).
    #   float: neuron 0 fires at 2 and 5, neuron 1 at 3, neuron 2 never  -> counts [2, 1, 0]
    #   chip:  neuron 0 fires at 3, 5 and 7, the others never             -> counts [3, 0, 0]
    ref = run_of({"a": ([2, 5, 3], [0, 0, 1], 3)})
    chip = run_of({"a": ([3, 5, 7], [0, 0, 0], 3)})
    p = V._agreement("a", [ref], [chip], steps=10, dt_ms=1.0)
    # Pearson: deviations [1, 0, -1] and [2, -1, -1]; r = 3 / (sqrt(2) sqrt(6)) = sqrt(3) / 2
    assert p.correlation == pytest.approx(math.sqrt(3) / 2, rel=1e-12)
    # mean rates: 3 spikes / (3 neurons x 0.01 s) = 100 Hz in both, so no rate error
    assert p.rate_ref_hz == pytest.approx(100.0) and p.rate_chip_hz == pytest.approx(100.0)
    assert p.rate_error == pytest.approx(0.0)
    # per neuron [200, 100, 0] vs [300, 0, 0] Hz: |diff| [100, 100, 0], mean 66.67 Hz
    assert p.rate_mae_hz == pytest.approx(200.0 / 3)
    # first spikes: neuron 0 at 2 vs 3 (|1|); neuron 1 fires in the float run only
    assert p.first_spike_error_steps == 1.0 and p.fire_in_one_only == 1
    assert (p.spikes_ref, p.spikes_chip, p.size) == (3, 3, 3)


def test_a_silent_reference_has_no_rate_error() -> None:
    p = V._agreement("a", [run_of({"a": ([], [], 2)})], [run_of({"a": ([4], [1], 2)})], steps=10, dt_ms=1.0)
    assert p.rate_error is None and p.first_spike_error_steps is None and p.correlation is None
    assert p.fire_in_one_only == 1


def test_pearson_edge_cases() -> None:
    assert V.pearson(np.array([1, 1, 1]), np.array([1, 1, 1])) == 1.0
    assert V.pearson(np.array([0, 0]), np.array([0, 1])) is None
    assert V.pearson(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1.0)


def test_classifier_by_hand() -> None:
    # labels 0, 1, 2; the float model predicts 0, 1 and (silent) 0; the chip 0 (a tie of
    # neurons 0 and 1 goes to the lower index), 0 and 2.
    ref = [run_of({"out": ([0] * 5 + [1], [0] * 5 + [1], 3)}), run_of({"out": ([1, 2, 3, 4], [1, 1, 1, 2], 3)}),
           run_of({"out": ([], [], 3)})]
    chip = [run_of({"out": ([1] * 8, [0, 0, 0, 0, 1, 1, 1, 1], 3)}), run_of({"out": ([4], [0], 3)}),
            run_of({"out": ([1, 2, 3], [1, 2, 2], 3)})]
    c = V._classify("out", ref, chip, np.array([0, 1, 2]))
    assert c.accuracy_ref == pytest.approx(2 / 3) and c.accuracy_chip == pytest.approx(2 / 3)
    assert c.agreement == pytest.approx(1 / 3)
    assert (c.silent_ref, c.silent_chip, c.samples) == (1, 0, 3)


def test_output_population_is_the_probed_sink() -> None:
    assert S.output_population(load(EXAMPLES / "mnist_mlp.snn")) == "out"
    assert S.output_population(load(EXAMPLES / "chain.snn")) == "c"  # a, b project on; c is the sink


def test_no_probed_output_is_a_usage_error() -> None:
    from neurocomp.dsl.parse import parse
    from neurocomp.ir.build import build

    net = build(parse("network n\ninput x[2] : current(value = 1)\npopulation a[2] : IF()\n"
                      "connect x -> a : one_to_one(weight = 1)\n", name="n.snn"))
    with pytest.raises(UsageError, match="has no probed output population") as info:
        S.output_population(net)
    assert "probe the output population" in info.value.render()


def test_samples_replace_the_rate_encoders_value() -> None:
    net = load(EXAMPLES / "mnist_mlp.snn")
    x = np.zeros((2, 784), dtype=np.float32)
    x[0, :10] = 1.0  # ten pixels that always fire (p = 1 per step)
    x[1, 5] = 1.0
    runs = S.sample_inputs(net, 4, x)
    first, second = runs[0]["pixels"], runs[1]["pixels"]
    assert isinstance(first, InputEvents) and first.n_events == 40
    assert first.raster()[:, :10].all() and not first.raster()[:, 10:].any()
    assert second.n_events == 4 and set(second.indices.tolist()) == {5}


def test_samples_may_be_rasters() -> None:
    net = load(EXAMPLES / "mnist_mlp.snn")
    x = np.zeros((3, 6, 784), dtype=np.uint8)
    x[1, 2, 7] = 1
    runs = S.sample_inputs(net, 5, x)
    assert runs[1]["pixels"].shape == (5, 784) and runs[1]["pixels"][2, 7] == 1
    padded = S.sample_inputs(net, 10, x)  # only 6 steps given: zeros after them
    assert padded[1]["pixels"].shape == (10, 784) and padded[1]["pixels"][2, 7] == 1
    assert padded[1]["pixels"].sum() == 1
    with pytest.raises(InputFileError, match=r"fits neither input 'pixels' \(784 values\) nor a raster"):
        S.sample_inputs(net, 10, x[:, :, :100])


def test_sample_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such sample file"):
        S.load_samples(tmp_path / "none.npz")
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((2, 3)))
    with pytest.raises(InputFileError, match="lacks array y"):
        S.load_samples(tmp_path / "nolabels.npz")
    np.savez(tmp_path / "short.npz", x=np.zeros((2, 3)), y=np.zeros(3, dtype=np.int64))
    with pytest.raises(InputFileError, match=r"x \(2, 3\) and y \(3,\) must be"):
        S.load_samples(tmp_path / "short.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(InputFileError, match="is not a readable .npz file"):
        S.load_samples(tmp_path / "junk.npz")


def test_several_inputs_cannot_take_samples() -> None:
    net = load(EXAMPLES / "encoders.snn")
    with pytest.raises(UsageError, match="samples drive one input population"):
        S.sample_inputs(net, 5, np.zeros((1, 4)))


@pytest.fixture
def reference_as_chip(monkeypatch):
    """A 'chip' that is the float reference itself: validation must find perfect agreement."""
    from neurocomp.emulator.reference import simulate

    monkeypatch.setattr(W, "compile_for", lambda network, chip: network)
    monkeypatch.setattr(W, "_emulator", lambda: (lambda net, steps, chunk: [(simulate(net, steps, inputs), None)
                                                                          for inputs in chunk]))


def test_the_reference_agrees_with_itself(reference_as_chip) -> None:
    net = load(EXAMPLES / "chain.snn")
    rep = W.validate(net, load_chip("loihi"), 20)
    assert [p.name for p in rep.populations] == ["a", "b", "c"]
    for p in rep.populations:
        assert p.correlation == 1.0 and p.rate_error == 0.0 and p.rate_mae_hz == 0.0
        assert p.first_spike_error_steps == 0.0 and p.fire_in_one_only == 0
    # chain.snn's hand derivation: a fires 3 times, b 3, c once in 20 steps
    assert [p.spikes_ref for p in rep.populations] == [3, 3, 1]
    assert rep.classifier is None
    text = rep.to_text()
    assert "float reference vs loihi emulation of 'chain': 20 steps" in text


def test_classifier_validation_runs_every_sample(reference_as_chip) -> None:
    net = load(EXAMPLES / "mnist_mlp.snn")
    seen: list[tuple[int, int]] = []
    with np.load(EXAMPLES / "data" / "mnist_test.npz") as data:
        x, y = data["x"][:8], data["y"][:8]
    rep = W.validate(net, load_chip("loihi"), 30, samples=(x, y), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(i, 8) for i in range(1, 9)]
    c = rep.classifier
    assert c is not None and c.output == "out" and c.samples == 8 and rep.samples == 8
    assert c.agreement == 1.0 and c.accuracy_ref == c.accuracy_chip
    assert c.accuracy_ref >= 6 / 8  # the example reaches 96.5 % over 200 images
    assert "classifier (output 'out', 8 samples)" in rep.to_text()
    d = rep.to_dict()
    assert d["classifier"]["agreement"] == 1.0 and d["populations"]["hidden"]["correlation"] == 1.0


def test_inputs_and_samples_are_exclusive() -> None:
    net = load(EXAMPLES / "chain.snn")
    with pytest.raises(UsageError, match="either inputs .* or samples"):
        W.validate(net, load_chip("loihi"), 5, inputs={"stim": np.zeros((5, 1))},
                   samples=(np.zeros((1, 1)), np.zeros(1, dtype=np.int64)))
    with pytest.raises(UsageError, match="steps must be a whole number > 0"):
        W.validate(net, load_chip("loihi"), 0)
