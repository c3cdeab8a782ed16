"""emulate() and emulate_batch(): counters, inputs, probes, batches, and the float reference.

* The counters of a two-core run, every entry derived by hand from the Counters
  docstring (which events count, the active-update rule).
* The validation hook: with quantization exact (alpha = 0 -> du = 4095, beta = 1 -> dv = 0,
  integer weights, thresholds and biases on the chip's grid), the float reference
  (:func:`neurocomp.emulator.reference.simulate`) and the Loihi emulation give the same
  spikes and, through ``v_scale``, the same voltages and currents.
* Inputs default to the encoders and can be overridden as in ``simulate``; probes map
  compartments back to neurons; user mistakes raise UsageError naming the object.
* Batches: independent samples, the kernel compiled once, counters summed, mergeable.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.diagnostics import UsageError
from neurocomp.targets.loihi import kernel as loihi_kernel
from neurocomp.emulator.reference import simulate
from neurocomp.emulator.run import BatchResult, emulate, emulate_batch
from neurocomp.ir.mapping import Mapping
from neurocomp.ir.network import NeuronModel, Probe
from neurocomp.ir.result import Counters

from test_emulator_loihi import build_mapping, network_of, syns_of

TINY = load_chip("tests/data/tiny.toml")
LOIHI = load_chip("loihi")


# -- counters by hand -------------------------------------------------------------------


def two_core_case() -> Mapping:
    """Input x[1]; a[2] on core 0 (tile 0), b[1] on core 2 (tile 1 of the tiny chip's 2 x 1
    tiles: one east-west hop away). Synapses: x0 -> a0, a1 (w 101); a0 -> b0 (w 100);
    a0 -> a1 (w 1). du = 4095 (u = input each step), dv = 4095 (v keeps 1/4096),
    threshold 100 << 6 = 6400. x0 spikes at step 0 only."""
    projections = {
        "xa": ("x", "a", 0, [(0, 0, 101, 0), (0, 1, 101, 0)]),
        "ab": ("a", "b", 0, [(0, 0, 100, 0)]),
        "aa": ("a", "a", 0, [(0, 1, 1, 0)]),
    }
    net = network_of("two", {"a": 2, "b": 1}, {"x": 1}, projections,
                     probes={"a": ("voltage", "current"), "b": ("voltage", "current")},
                     input_spikes={"x": ([0], [0])})
    comps = [(0, "a", 0), (0, "a", 1), (2, "b", 0)]
    params = {"du": [4095] * 3, "dv": [4095] * 3, "vth_mant": [100] * 3}
    return build_mapping(TINY, net, comps, syns_of(projections), params,
                         {"xa": 0, "ab": 0, "aa": 0})


def test_counters_of_a_two_core_run_by_hand():
    # Columns: core 0 (a0, a1), core 2 (b0).
    # t=0: everything at rest, no input: inactive 2 | 1. x0 fires (from the host: no
    #      message or hop is charged to a core); its one axon lands on core 0 with two
    #      synapses: spikes_in [1, 0], synops [2, 0].
    # t=1: a0, a1: a_in = 101, u = 6464, v = 6464 > 6400: both fire (active 2 | b0 at rest
    #      0). spikes_out [2, 0]. a0 has two routes: to core 2 (1 E-W hop, synapse to b0)
    #      and to core 0 (0 hops, synapse to a1); a1 has none. messages_out [2, 0],
    #      hops_east_west [1, 0]; spikes_in [1, 1], synops [1, 1].
    # t=2: a0: u was 6464 (state nonzero): active, u = 0, v = 0. a1: a_in = 1, u = 64,
    #      v = 64: active. b0: a_in = 100, u = 6400, v = 6400, not > 6400: active.
    # t=3: a0 at rest: inactive. a1: u, v were 64: active, u = 0, v = trunc(64/4096) = 0.
    #      b0: u was 6400: active, u = 0, v = trunc(6400·1 >> 12) = 1.
    # t=4: a0, a1 at rest. b0: v was 1: active, v = trunc(1/4096) = 0.
    # t=5: all at rest.
    r = emulate(two_core_case(), 6, strict=True)
    c = r.counters
    assert c.core_ids.tolist() == [0, 2]
    expected = {
        "spikes_in": [[1, 0], [1, 1], [0, 0], [0, 0], [0, 0], [0, 0]],
        "synops": [[2, 0], [1, 1], [0, 0], [0, 0], [0, 0], [0, 0]],
        "updates_active": [[0, 0], [2, 0], [2, 1], [1, 1], [0, 1], [0, 0]],
        "updates_inactive": [[2, 1], [0, 1], [0, 0], [1, 0], [2, 0], [2, 1]],
        "spikes_out": [[0, 0], [2, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
        "messages_out": [[0, 0], [2, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
        "hops_east_west": [[0, 0], [1, 0], [0, 0], [0, 0], [0, 0], [0, 0]],
        "hops_north_south": [[0, 0]] * 6,
        "hops_interchip": [[0, 0]] * 6,
        "trace_updates": [[0, 0]] * 6,  # no plastic projection
        "synaptic_updates": [[0, 0]] * 6,
    }
    assert set(expected) == set(Counters.FIELDS)
    for field, want in expected.items():
        got = getattr(c, field)
        assert got.dtype == np.int64 and got.shape == (6, 2)
        assert got.tolist() == want, field
    assert r.spikes["a"].times.tolist() == [1, 1] and r.spikes["b"].count == 0
    assert r.traces["b"]["voltage"][:, 0].tolist() == [0, 0, 6400, 1, 0, 0]
    # Synaptic events are the synaptic operations the chip did; updates, neurons x steps.
    assert r.synaptic_events == 2 + 1 + 1
    assert r.neuron_updates == 3 * 6


# -- the validation hook: exact quantization, the float reference agrees ------------------


def exact_case(seed: int, steps: int = 60):
    """A random network whose float parameters sit exactly on Loihi's grid, and its
    Mapping. Float model: alpha = 0 (I = x), beta = 1 (V = V + I + bias), integer weights,
    thresholds and biases, reset to zero, refractory periods, delays, recurrence.
    Loihi: du = 4095 (u = a_in << 6), dv = 0 (no leak), weight exponent 0,
    vth_mant = threshold, bias = bias_mant << 6: every integer is 64 x the float, and
    v_scale = 1/64."""
    rng = np.random.default_rng(seed)
    sizes = {"a": 12, "b": 7}
    n_in = 5
    thresholds = {p: rng.integers(2, 9, size=1)[0] for p in sizes}
    biases = {"a": 0, "b": 1}
    refr = {"a": 1, "b": 0}
    model = {p: NeuronModel(family="lif", alpha=0.0, beta=1.0, threshold=float(thresholds[p]),
                            bias=float(biases[p]), reset="zero", refractory_steps=refr[p])
             for p in sizes}
    pairs = {"xa": ("x", "a"), "xb": ("x", "b"), "aa": ("a", "a"), "ab": ("a", "b"), "ba": ("b", "a")}
    size_of = {"x": n_in, **sizes}
    projections = {}
    for name, (pre, post) in pairs.items():
        table = [(i, j, int(rng.integers(-3, 6)) if pre != "b" else int(rng.integers(-6, 2)),
                  int(rng.integers(0, 4)))
                 for i in range(size_of[pre]) for j in range(size_of[post]) if rng.random() < 0.35]
        projections[name] = (pre, post, 0, table)
    times, idx = np.nonzero(rng.random((steps, n_in)) < 0.25)
    net = network_of(f"exact{seed}", sizes, {"x": n_in}, projections,
                     probes={"a": ("spikes", "voltage", "current"), "b": ("voltage",)},
                     model=model, input_spikes={"x": (times.tolist(), idx.tolist())})
    comps = [(0, "a", i) for i in range(8)] + [(5, "a", i) for i in range(8, 12)] \
        + [(9, "b", i) for i in range(7)]
    n = len(comps)
    pop_of = [c[1] for c in comps]
    params = {"du": [4095] * n, "dv": [0] * n,
              "vth_mant": [int(thresholds[p]) for p in pop_of],
              "bias_mant": [biases[p] for p in pop_of], "bias_exp": [6] * n,
              "refractory": [refr[p] for p in pop_of]}
    mapping = build_mapping(LOIHI, net, comps, syns_of(projections), params,
                            {p: 0 for p in projections}, v_scale=[1 / 64] * n)
    return net, mapping


@pytest.mark.parametrize("seed", range(4))
def test_exact_quantization_reproduces_the_float_reference(seed):
    net, mapping = exact_case(seed)
    ref = simulate(net, 60)
    emu = emulate(mapping, 60, strict=True)
    total = 0
    for pop in ("a", "b"):
        assert emu.spikes[pop].times.tolist() == ref.spikes[pop].times.tolist(), pop
        assert emu.spikes[pop].indices.tolist() == ref.spikes[pop].indices.tolist(), pop
        total += emu.spikes[pop].count
        np.testing.assert_array_equal(emu.traces[pop]["voltage"], ref.traces[pop]["voltage"])
    np.testing.assert_array_equal(emu.traces["a"]["current"], ref.traces["a"]["current"])
    np.testing.assert_array_equal(emu.traces["a"]["spikes"], ref.traces["a"]["spikes"])
    assert emu.spikes["x"].times.tolist() == ref.spikes["x"].times.tolist()
    assert total > 30  # the networks are active, so the agreement means something


def test_an_off_grid_leak_makes_the_emulation_differ():
    # The same check can fail: with dv = 1 (v loses 1/4096 per step, rounded toward
    # zero) the voltages are no longer 64 x the float reference's.
    net, mapping = exact_case(0)
    leaky = dict(mapping.params, dv=np.ones(mapping.n_comp, dtype=np.int64))
    other = build_like(mapping, params=leaky)
    ref = simulate(net, 60)
    emu = emulate(other, 60, strict=True)
    assert not np.array_equal(emu.traces["a"]["voltage"], ref.traces["a"]["voltage"])


def build_like(mapping: Mapping, **changes) -> Mapping:
    fields = {f: getattr(mapping, f) for f in mapping.__dataclass_fields__}
    fields.update(changes)
    return Mapping(**fields)


# -- inputs -------------------------------------------------------------------------------


def test_inputs_default_to_the_encoders_and_overrides_replace_them():
    net, mapping = exact_case(1)
    by_encoder = emulate(mapping, 60)
    raster = np.zeros((60, 5), dtype=np.bool_)
    ev = by_encoder.spikes["x"]
    raster[ev.times, ev.indices] = True
    by_raster = emulate(mapping, 60, {"x": raster})
    assert by_raster.spikes["a"].times.tolist() == by_encoder.spikes["a"].times.tolist()
    silent = emulate(mapping, 60, {"x": np.zeros((60, 5))})
    assert silent.spikes["x"].count == 0
    assert silent.spikes["a"].count < by_encoder.spikes["a"].count


def test_input_mistakes_name_the_input():
    _, mapping = exact_case(0)
    with pytest.raises(UsageError, match=r"inputs name population 'xx', which the network does not have") as e:
        emulate(mapping, 5, {"xx": np.zeros((5, 5))})
    assert "did you mean 'x'" in e.value.render()
    with pytest.raises(UsageError, match=r"inputs name population 'a', which is not an input"):
        emulate(mapping, 5, {"a": np.zeros((5, 12))})
    with pytest.raises(UsageError, match=r"raster given for input 'x' has shape \[5, 4\]; expected \[steps, 5\]"):
        emulate(mapping, 5, {"x": np.zeros((5, 4))})
    with pytest.raises(UsageError, match=r"input given for 'x' covers 3 steps, the run has 5"):
        emulate(mapping, 5, {"x": np.zeros((3, 5))})
    graded = np.zeros((5, 5))
    graded[2, 1] = 0.5
    with pytest.raises(UsageError, match=r"input 'x' emits the value 0.5 at step 2; this chip's spikes carry no value"):
        emulate(mapping, 5, {"x": graded})
    for bad in (-1, 2.5, True):
        with pytest.raises(UsageError, match="steps must be a whole number >= 0"):
            emulate(mapping, bad)


def test_zero_steps_is_an_empty_run():
    _, mapping = exact_case(0)
    r = emulate(mapping, 0)
    assert r.steps == 0 and r.spikes["a"].count == 0
    assert r.counters.synops.shape == (0, 3)
    assert r.traces["a"]["voltage"].shape == (0, 12)


# -- probes -------------------------------------------------------------------------------


def test_probes_map_compartments_back_to_neurons_and_scale_by_v_scale():
    # Neurons of 'a' placed in reverse order over two cores; each neuron gets its own
    # v_scale. A probe must still read neuron i's state in column i, times its scale.
    projections = {"xa": ("x", "a", 0, [(0, i, 10 * (i + 1), 0) for i in range(3)])}
    net = network_of("rev", {"a": 3}, {"x": 1}, projections, probes={"a": ("voltage", "current")},
                     input_spikes={"x": ([0], [0])})
    comps = [(0, "a", 2), (0, "a", 1), (1, "a", 0)]
    m = build_mapping(TINY, net, comps, syns_of(projections),
                      {"du": [4095] * 3, "dv": [0] * 3, "vth_mant": [1000] * 3}, {"xa": 0},
                      v_scale=[0.5, 0.25, 0.125])
    r = emulate(m, 2)
    # neuron i: u = v = 10·(i+1)·64 at t=1; its compartment is 2 - i, scale [0.5, 0.25, 0.125][2 - i].
    assert r.traces["a"]["current"][1].tolist() == [640 * 0.125, 1280 * 0.25, 1920 * 0.5]
    assert r.traces["a"]["voltage"][1].tolist() == [640 * 0.125, 1280 * 0.25, 1920 * 0.5]
    # Probes given at run time replace the network's, as a mapping or as Probe objects.
    r = emulate(m, 2, probes={"a": "current"})
    assert list(r.traces["a"]) == ["current"]
    r = emulate(m, 2, probes=[Probe(population="x", variables=("spikes",))])
    assert list(r.traces) == ["x"] and r.traces["x"]["spikes"][:, 0].tolist() == [True, False]


def test_probe_mistakes_name_the_population():
    _, mapping = exact_case(0)
    with pytest.raises(UsageError, match=r"a probe names population 'c'"):
        emulate(mapping, 3, probes={"c": ("voltage",)})
    with pytest.raises(UsageError, match=r"cannot probe the voltage of input 'x'"):
        emulate(mapping, 3, probes={"x": ("voltage",)})
    with pytest.raises(UsageError, match=r"cannot probe 'volts' of 'a'") as e:
        emulate(mapping, 3, probes={"a": ("volts",)})
    assert "did you mean 'voltage'" in e.value.render()


def test_an_unknown_family_is_refused():
    _, mapping = exact_case(0)
    with pytest.raises(UsageError, match=r"no emulator kernel for neuron family 'loihi_cuba_lf'") as e:
        emulate(build_like(mapping, family="loihi_cuba_lf"), 3)
    assert "did you mean 'loihi_cuba_lif'" in e.value.render()


# -- batches ------------------------------------------------------------------------------


def test_a_batch_is_its_samples_run_one_by_one_with_one_compilation():
    _, mapping = exact_case(2)
    rng = np.random.default_rng(7)
    samples = [{"x": rng.random((40, 5)) < p} for p in (0.1, 0.3, 0.5)] + [None]
    emulate(mapping, 40, samples[0])  # compiled (or loaded from the cache) here
    compiled = len(loihi_kernel.run_loihi.signatures)
    batch = emulate_batch(mapping, 40, samples)
    assert len(loihi_kernel.run_loihi.signatures) == compiled
    assert isinstance(batch, BatchResult) and len(batch) == 4
    for sample, got in zip(samples, batch):
        alone = emulate(mapping, 40, sample)
        for pop in ("a", "b", "x"):
            assert got.spikes[pop].times.tolist() == alone.spikes[pop].times.tolist()
            assert got.spikes[pop].indices.tolist() == alone.spikes[pop].indices.tolist()
        for f in Counters.FIELDS:
            np.testing.assert_array_equal(getattr(got.counters, f), getattr(alone.counters, f))
    # The samples differ, and the batch's counters are their sum.
    assert len({r.spikes["a"].count for r in batch}) > 1
    for f in Counters.FIELDS:
        np.testing.assert_array_equal(getattr(batch.counters, f),
                                      sum(getattr(r.counters, f) for r in batch))
    # Split anywhere, run separately, merged: the same batch.
    merged = BatchResult.merge(emulate_batch(mapping, 40, samples[:1]),
                               emulate_batch(mapping, 40, samples[1:]))
    assert [r.spikes["a"].count for r in merged] == [r.spikes["a"].count for r in batch]
    np.testing.assert_array_equal(merged.counters.synops, batch.counters.synops)


def test_batches_of_different_lengths_do_not_merge():
    _, mapping = exact_case(0)
    with pytest.raises(UsageError, match="cannot merge batches of different networks or numbers of steps"):
        BatchResult.merge(emulate_batch(mapping, 5, [None]), emulate_batch(mapping, 6, [None]))


def test_compiled_event_checks_find_what_numpy_finds():
    # emulator/csr.py, the checks _sources_by_step runs on every sample, against their
    # plain NumPy definitions: the first value other than 1 (NaN included), and falls
    # of the index within a step (not at a step's first event).
    from neurocomp.emulator.csr import csr_in_order, first_not_one

    for values in ([], [1.0, 1.0], [1.0, 1.0, 0.5, 2.0], [1.0, np.nan], [3.0]):
        v = np.array(values, dtype=np.float64)
        want = int(np.argmax(v != 1.0)) if np.any(v != 1.0) else -1
        assert first_not_one(v) == want
    ptr = np.array([0, 3, 3, 5, 6], dtype=np.int64)
    assert csr_in_order(ptr, np.array([1, 4, 9, 0, 2, 1]), 4)  # each step rises; a step starts lower
    assert not csr_in_order(ptr, np.array([1, 9, 4, 0, 2, 1]), 4)  # 9 then 4 within step 0
    assert not csr_in_order(ptr, np.array([1, 4, 9, 2, 0, 1]), 4)  # within step 2
    assert csr_in_order(ptr, np.array([1, 9, 4, 0, 2, 1]), 0)  # no step: nothing to compare
    assert not csr_in_order(np.array([0, 3, 2], dtype=np.int64), np.arange(3), 2)  # ptr falls
