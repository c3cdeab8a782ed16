"""The float reference over a batch of samples (``simulate_batch``, the tables built once)
gives, bit for bit, what one ``simulate`` call per sample gives (the second
implementation); ``validate`` built on it reports the same as the per-sample path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurocomp as nc
from neurocomp.compiler.encode import input_events
from neurocomp.compiler.lower import lower
from neurocomp.emulator.reference import prepare_reference, simulate, simulate_batch
from neurocomp.ir.network import NeuronModel
from neurocomp.workflows.samples import sample_inputs

from test_emulator_loihi import network_of

ROOT = Path(__file__).resolve().parents[1]


def same_run(a, b) -> None:
    """``a`` and ``b`` equal bit for bit: every spike, every trace, every counter."""
    assert a.spikes.keys() == b.spikes.keys()
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name].times, b.spikes[name].times)
        np.testing.assert_array_equal(a.spikes[name].indices, b.spikes[name].indices)
    assert a.traces.keys() == b.traces.keys()
    for pop in a.traces:
        for var, arr in a.traces[pop].items():
            other = b.traces[pop][var]
            assert arr.dtype == other.dtype and arr.shape == other.shape
            assert arr.tobytes() == other.tobytes(), (pop, var)  # -0.0 and 0.0 told apart
    assert (a.synaptic_events, a.neuron_updates, a.steps) == (b.synaptic_events, b.neuron_updates, b.steps)


@st.composite
def small_case(draw):
    """Two neuron populations and one input, random models, projections with recurrence,
    and a batch of input rasters. Half the cases take the batch's matrix products (dense
    projections from the input, one delay each, spikes of value 1, weights whose sums are
    exact), half do not (sparse, delays per synapse, graded values, float64 weights)."""
    dense = draw(st.booleans())
    sizes = {"a": draw(st.integers(1, 6)), "b": draw(st.integers(1, 5))}
    n_in = draw(st.integers(1, 4))
    size_of = {"x": n_in, **sizes}
    # dense: weights on a grid of 2**-7 (sums exact) or float32 ones (exact unless tiny);
    # sparse: float64 ones
    weight = (st.integers(-256, 384).map(lambda k: k / 128) if draw(st.booleans())
              else st.floats(-2.0, 3.0, allow_nan=False, width=32)) if dense \
        else st.floats(-2.0, 3.0, allow_nan=False)
    projections = {}
    for name, (pre, post) in {"xa": ("x", "a"), "ab": ("a", "b"), "ba": ("b", "a"), "xb": ("x", "b")}.items():
        shared_delay = draw(st.integers(0, 3))
        table = [(i, j, draw(weight), shared_delay if dense else draw(st.integers(0, 3)))
                 for i in range(size_of[pre]) for j in range(size_of[post]) if dense or draw(st.booleans())]
        projections[name] = (pre, post, 0, table)
    models = {p: NeuronModel(family="lif", alpha=draw(st.sampled_from([0.0, 0.5, 0.9])),
                             beta=draw(st.sampled_from([0.0, 0.75, 1.0])),
                             threshold=draw(st.sampled_from([0.5, 1.0, 2.0])),
                             bias=draw(st.sampled_from([0.0, 0.1, -0.2])),
                             reset=draw(st.sampled_from(["zero", "subtract", "none"])),
                             refractory_steps=draw(st.integers(0, 2)))
              for p in sizes}
    net = network_of("small", sizes, {"x": n_in}, projections, model=models,
                     probes={"a": ("spikes", "voltage", "current"), "b": ("voltage",)})
    steps = draw(st.integers(1, 12))
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rasters = rng.choice([0.0, 1.0] if dense else [0.0, 0.0, 1.0, 0.5, -1.5], size=(n, steps, n_in))
    return net, steps, [{"x": r} for r in rasters]


TAKEN = []  # whether each case took the matrix products


@settings(max_examples=80, deadline=None)
@given(small_case())
def test_a_batch_is_each_sample_simulated_alone(case):
    net, steps, samples = case
    TAKEN.append(prepare_reference(net, steps).dense is not None)
    batch = simulate_batch(net, steps, samples)
    alone = [simulate(net, steps, s) for s in samples]
    assert len(batch) == len(alone)
    for a, b in zip(batch, alone):
        same_run(a, b)


def test_both_ways_were_tried():
    if not TAKEN:
        pytest.skip("runs after the property test")
    assert any(TAKEN) and not all(TAKEN)


def test_mnist_samples_in_a_batch_are_the_samples_alone():
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        x = data["x"][:6]
    runs = sample_inputs(net, 30, x)
    synapses = lower(net)
    # mnist_mlp's float32 weights into 'hidden' sum exactly: the batch takes the products
    assert prepare_reference(net, 30, synapses).dense is not None
    batch = simulate_batch(net, 30, runs, synapses=synapses)
    for a, r in zip(batch, runs):
        same_run(a, simulate(net, 30, r))
    # the samples differ (or the comparison above proves little)
    assert len({b.spikes["out"].count for b in batch} | {b.spikes["hidden"].count for b in batch}) > 1


def test_a_sample_the_products_cannot_take_runs_alone_among_those_they_take():
    """A batch that takes the matrix products with one sample among them whose events
    carry values other than 1 (graded): that sample runs alone, the others in one
    kernel call, every result in its place and each equal to its own ``simulate``."""
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        x = data["x"][:4]
    runs = sample_inputs(net, 20, x)
    graded = np.zeros((20, 784))
    graded[::3, 100:400] = 0.5
    graded[1::3, 200:500] = 1.0
    runs.insert(2, {"pixels": graded})
    prepared = prepare_reference(net, 20)
    assert prepared.dense is not None
    _, ok = prepared.dense.arrivals([input_events(net, 20, r, inputs=("pixels",)) for r in runs], 20)
    assert ok.tolist() == [True, True, False, True, True]
    batch = simulate_batch(net, 20, runs)
    for a, r in zip(batch, runs):
        same_run(a, simulate(net, 20, r))
    assert batch[2].spikes["hidden"].count != batch[1].spikes["hidden"].count


def test_events_out_of_order_are_sorted_as_before():
    """An input raster's events come in order; InputEvents built by hand may not: the
    reference sorts them by (step, index) either way."""
    from neurocomp.ir.synapses import InputEvents

    net = network_of("tiny", {"a": 3}, {"x": 3}, {"xa": ("x", "a", 0, [(0, 0, 1.5, 0), (1, 1, 0.7, 1),
                                                                         (2, 2, 2.0, 0)])},
                     probes={"a": ("voltage",)})
    ordered = InputEvents(step_ptr=np.array([0, 2, 3, 3]), indices=np.array([0, 2, 1]),
                          values=np.array([1.0, 0.5, 2.0]), n=3, population="x", steps=3)
    shuffled = InputEvents(step_ptr=np.array([0, 2, 3, 3]), indices=np.array([2, 0, 1]),
                           values=np.array([0.5, 1.0, 2.0]), n=3, population="x", steps=3)
    a, b = simulate_batch(net, 3, [{"x": ordered}, {"x": shuffled}])
    same_run(a, b)
    # by hand: step 0 brings 1.5 to a0 (fires at step 1: V = 1.5 > 1) and 1.0 to a2
    np.testing.assert_array_equal(a.traces["a"]["voltage"][1], [0.0, 0.0, 1.0])


@pytest.mark.parametrize("jobs", [1, 2])
def test_validate_reports_what_the_per_sample_path_reported(jobs, monkeypatch):
    """validate's batched chunk against the former path: ``simulate`` and ``emulate``
    per sample, each sample's first warning caught as it was raised."""
    import warnings

    from neurocomp.emulator.run import emulate
    from neurocomp.workflows import validate as W

    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        samples = (data["x"][:8], data["y"][:8])
    chip = nc.load_chip("loihi")
    mapping = nc.compile(net, chip)
    new = W.validate(net, chip, 40, samples=samples, mapping=mapping, jobs=jobs).to_dict()

    def per_sample(mapping, steps, chunk):
        out = []
        for inputs in chunk:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                run = emulate(mapping, steps, inputs)
            out.append((run, str(caught[0].message) if caught else None))
        return out

    monkeypatch.setattr(W, "_emulator", lambda: per_sample)
    monkeypatch.setattr("neurocomp.emulator.reference.prepare_reference",
                        lambda network, steps, synapses: _PerSample(network, steps, synapses))
    old = W.validate(net, chip, 40, samples=samples, mapping=mapping, jobs=1).to_dict()
    new.pop("wall_s"), old.pop("wall_s")
    assert new == old
    assert any("warned" in n for n in new["notes"])  # the overflow notes were compared too


class _PerSample:
    def __init__(self, network, steps, synapses):
        self.args = (network, steps, synapses)

    def run(self, inputs):
        network, steps, synapses = self.args
        return simulate(network, steps, inputs, synapses=synapses)

    def run_many(self, chunk):
        return [self.run(inputs) for inputs in chunk]


def test_sums_that_could_round_are_not_taken_by_products():
    """1 + 2**-60 + ... rounds in float64 in one order and not in another: the products
    are refused; with 2**-40 every sum is exact (bound 2 * 2**-40 * 2**53 = 2**14 > 2)."""
    def prepared(small):
        table = [(0, 0, 1.0, 0), (1, 0, small, 0), (2, 0, small, 0)]
        net = network_of("round", {"a": 1}, {"x": 3}, {"xa": ("x", "a", 0, table)}, probes={"a": ("voltage",)})
        return net, prepare_reference(net, 4)

    assert prepared(2.0 ** -60)[1].dense is None
    net, p = prepared(2.0 ** -40)
    assert p.dense is not None
    raster = np.array([[1, 1, 1], [0, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=np.float64)
    [a] = p.run_many([{"x": raster}])
    same_run(a, simulate(net, 4, {"x": raster}))
    # by hand (LIF defaults: no leak, threshold 1, reset to 0): step 1 gets 1 + 2**-39 > 1
    # and fires; step 2 gets 2**-39; step 3 adds 1: 1 + 2**-39 > 1, fires again
    assert a.spikes["a"].times.tolist() == [1, 3]
    assert a.traces["a"]["voltage"][2, 0] == 2.0 ** -39


def test_input_rows_are_the_raster_times_the_weights():
    """``add_input_rows`` against the matrix product it replaces: the events' 0/1 raster
    (numpy) times the dense weights, shifted by the delay, into the post's columns; and
    ``False`` for the events the product cannot stand for."""
    from neurocomp.emulator.kernels.reference_kernel import add_input_rows

    rng = np.random.default_rng(5)
    steps, n_pre, m, lo, n = 12, 9, 4, 3, 10
    dense = rng.integers(-64, 64, size=(n_pre, m)) / 32.0  # sums exact: any order agrees
    raster = (rng.random((steps, n_pre)) < 0.4).astype(np.float64)
    t, i = np.nonzero(raster)
    ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=steps), out=ptr[1:])
    values = np.ones(len(i))
    for delay in (0, 2, steps):
        out = np.full((steps, n), 0.25)  # what another projection already brought
        assert add_input_rows(ptr, i.astype(np.int64), values, dense, delay, lo, out)
        expected = np.full((steps, n), 0.25)
        expected[delay:, lo:lo + m] += (raster @ dense)[:steps - delay]
        np.testing.assert_array_equal(out, expected)
    graded = values.copy()
    graded[3] = 0.5
    twice = i.astype(np.int64).copy()
    twice[ptr[1] + 1] = twice[ptr[1]]  # step 1's second event from its first's source
    outside = i.astype(np.int64).copy()
    outside[-1] = n_pre
    assert ptr[2] - ptr[1] >= 2  # (step 1 has two events to make a twice-sent source of)
    for idx, val in ((i.astype(np.int64), graded), (twice, values), (outside, values)):
        assert not add_input_rows(ptr, idx, val, dense, 0, lo, np.zeros((steps, n)))
