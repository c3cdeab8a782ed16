"""Input encoders: each case checks against an expectation written out by hand (or, for
rate coding, against the binomial law and the rule's own definition)."""

from __future__ import annotations

import math
import typing

import numpy as np
import pytest

from neurocomp.compiler.encode import ENCODERS, encode, events_from_raster, events_from_spikes
from neurocomp.diagnostics import DslError, InputFileError, UsageError
from neurocomp.ir.encoders import (
    ConstantCurrent,
    DeltaCode,
    Encoder,
    EventStream,
    LatencyCode,
    RateCode,
    SpikeFile,
)
from neurocomp.ir.network import NeuronModel, Population
from neurocomp.ir.synapses import InputEvents
from neurocomp.ir.values import ArrayValue


def pop(shape: tuple[int, ...], encoder: Encoder, name: str = "inp") -> Population:
    return Population(name=name, shape=shape, encoder=encoder)


def arr(values, path: str = "test.npy") -> ArrayValue:
    return ArrayValue(np.asarray(values, dtype=np.float64), path)


def check_invariants(ev: InputEvents) -> None:
    """What every InputEvents promises, whatever made it."""
    assert ev.step_ptr.dtype == np.int64 and ev.step_ptr.shape == (ev.steps + 1,)
    assert ev.indices.dtype == np.int64 and ev.values.dtype == np.float64
    assert ev.step_ptr[0] == 0 and ev.step_ptr[-1] == ev.indices.size == ev.values.size
    assert np.all(np.diff(ev.step_ptr) >= 0)
    if ev.indices.size:
        assert ev.indices.min() >= 0 and ev.indices.max() < ev.n
    for t in range(ev.steps):
        row = ev.indices[ev.step_ptr[t]:ev.step_ptr[t + 1]]
        assert np.all(np.diff(row) > 0), f"step {t}: indices not strictly ascending"


def events_of(ev: InputEvents) -> list[tuple[int, int]]:
    """(step, index) pairs in CSR order."""
    t = np.repeat(np.arange(ev.steps), np.diff(ev.step_ptr))
    return list(zip(t.tolist(), ev.indices.tolist()))


def test_every_encoder_type_is_registered():
    assert set(typing.get_args(Encoder)) <= set(ENCODERS)


# --- spike file and rasters -----------------------------------------------------------


def test_spike_file_sorts_collapses_duplicates_and_drops_late_spikes():
    # Neuron 2 fires twice in step 1 (one spike); step 5 is past a 5-step run.
    times = np.array([3, 1, 1, 0, 1, 5], dtype=np.int64)
    indices = np.array([0, 2, 2, 3, 0, 1], dtype=np.int64)
    ev = encode(pop((4,), SpikeFile(times, indices, "s.npz")), steps=5, dt_ms=1.0)
    check_invariants(ev)
    assert events_of(ev) == [(0, 3), (1, 0), (1, 2), (3, 0)]
    assert ev.step_ptr.tolist() == [0, 1, 3, 3, 4, 4]
    assert np.all(ev.values == 1.0)


def test_spike_file_indices_are_flat_c_order():
    # [2, 3] population: neuron (1, 2) is flat 1*3 + 2 = 5.
    ev = encode(pop((2, 3), SpikeFile(np.array([0]), np.array([5]), "s.npz")), 2, 1.0)
    assert ev.raster()[0].reshape(2, 3)[1, 2] == 1.0


def test_raster_round_trip():
    raster = np.zeros((4, 3))
    raster[0, 2] = 1.0
    raster[2, 0] = 0.25
    raster[2, 1] = -3.0
    ev = events_from_raster("r", raster)
    check_invariants(ev)
    assert (ev.steps, ev.n) == (4, 3)
    assert events_of(ev) == [(0, 2), (2, 0), (2, 1)]
    assert ev.values.tolist() == [1.0, 0.25, -3.0]
    np.testing.assert_array_equal(ev.raster(), raster)


def test_raster_of_booleans_and_of_a_shaped_population():
    raster = np.zeros((2, 2, 3), dtype=bool)  # T x [2, 3]
    raster[1, 1, 0] = True  # flat 3
    ev = events_from_raster("r", raster)
    assert (ev.steps, ev.n) == (2, 6)
    assert events_of(ev) == [(1, 3)] and ev.values.tolist() == [1.0]


def test_spike_file_round_trips_through_its_raster():
    times = np.array([0, 0, 2, 4, 4], dtype=np.int64)
    indices = np.array([1, 0, 2, 2, 0], dtype=np.int64)
    ev = encode(pop((3,), SpikeFile(times, indices, "s.npz")), 5, 1.0)
    back = events_from_raster("inp", ev.raster())
    np.testing.assert_array_equal(back.step_ptr, ev.step_ptr)
    np.testing.assert_array_equal(back.indices, ev.indices)
    np.testing.assert_array_equal(back.values, ev.values)


def test_events_from_spikes():
    ev = events_from_spikes("x", 3, 4, [2, 0, 2, 9], [1, 2, 1, 0])
    check_invariants(ev)
    assert events_of(ev) == [(0, 2), (2, 1)]  # duplicate collapsed, step 9 dropped


@pytest.mark.parametrize("times, indices, message", [
    ([0, 1], [0], "differ in length"),
    ([-1], [0], "before step 0"),
    ([0], [3], "spike index 3 is outside the population (0..2)"),
    ([0.5], [0], "spike times must be whole numbers"),
])
def test_events_from_spikes_rejects_bad_input(times, indices, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        events_from_spikes("x", 3, 4, times, indices)


# --- rate coding ----------------------------------------------------------------------


def test_rate_empirical_rate_within_binomial_tolerance():
    # 4 groups of 250 neurons at value 0, 0.2, 0.5, 1.0; 100 Hz at dt = 1 ms gives
    # p = 0, 0.02, 0.05, 0.1 per step.
    levels = np.array([0.0, 0.2, 0.5, 1.0])
    value = np.repeat(levels, 250)
    steps = 2000
    ev = encode(pop((1000,), RateCode(arr(value), 100.0, 7)), steps, 1.0)
    check_invariants(ev)
    counts = ev.raster().sum(axis=0)
    for g, level in enumerate(levels):
        p = level * 100.0 * 1e-3
        trials = 250 * steps
        fired = counts[g * 250:(g + 1) * 250].sum()
        sigma = math.sqrt(trials * p * (1 - p))
        assert abs(fired - trials * p) <= 5 * sigma, (level, fired, trials * p)
    assert counts[:250].sum() == 0


def test_rate_matches_its_definition_for_any_chunk_size():
    # The rule: rng.random((steps, n)) < p, drawn step-major from default_rng(seed).
    n, steps, seed = 13, 50, 3
    value = np.linspace(0.0, 1.0, n)
    p = value * 400.0 * 1e-3
    expected = (np.random.default_rng(seed).random((steps, n)) < p).astype(np.float64)
    population = pop((n,), RateCode(arr(value), 400.0, seed))
    for chunk in (1, n - 1, n, 3 * n + 2, steps * n, 10**9):
        ev = encode(population, steps, 1.0, chunk_elements=chunk)
        check_invariants(ev)
        np.testing.assert_array_equal(ev.raster(), expected, err_msg=f"chunk {chunk}")


def test_rate_is_reproducible_with_a_seed_and_differs_with_another():
    def raster(seed: int) -> np.ndarray:
        return encode(pop((100,), RateCode(0.5, 200.0, seed)), 100, 1.0).raster()

    np.testing.assert_array_equal(raster(1), raster(1))
    assert not np.array_equal(raster(1), raster(2))


def test_rate_clips_value_and_probability():
    # value 1.5 -> 1; 2000 Hz * 1 ms = 2 -> p = 1: fires every step. value -1 -> 0: never.
    ev = encode(pop((2,), RateCode(arr([1.5, -1.0]), 2000.0, 0)), 30, 1.0)
    r = ev.raster()
    assert r[:, 0].tolist() == [1.0] * 30 and r[:, 1].sum() == 0


def test_rate_uses_dt_in_seconds():
    # 1000 Hz at dt = 0.5 ms: p = 0.5. 1000 Hz at dt = 1 ms: p = 1.
    assert encode(pop((3,), RateCode(1.0, 1000.0, 0)), 10, 1.0).n_events == 30
    rate = encode(pop((2000,), RateCode(1.0, 1000.0, 0)), 10, 0.5).n_events / 20000
    assert abs(rate - 0.5) < 5 * math.sqrt(0.25 / 20000)


# --- latency coding -------------------------------------------------------------------


def test_latency_hand_computed_steps():
    # tau = 10 steps, θ = 1:  t = floor(10 · ln(I / (I − 1)))
    #   I = 2     -> 10·ln 2       =  6.93 -> 6
    #   I = 1.5   -> 10·ln 3       = 10.99 -> 10
    #   I = 5     -> 10·ln(5/4)    =  2.23 -> 2
    #   I = 101   -> 10·ln(1.01)   =  0.10 -> 0
    #   I = 1.001 -> 10·ln(1001)   = 69.1  -> past a 50-step run: dropped
    #   I = 1 (= θ), 0, -3: no spike
    value = [2.0, 1.5, 5.0, 101.0, 1.001, 1.0, 0.0, -3.0]
    ev = encode(pop((8,), LatencyCode(arr(value), 10.0, 1.0)), 50, 1.0)
    check_invariants(ev)
    assert events_of(ev) == [(0, 3), (2, 2), (6, 0), (10, 1)]


def test_latency_default_threshold_fires_positive_inputs_at_once():
    # θ = 0: ln(I / I) = 0 for every I > 0; zero and negative never fire.
    ev = encode(pop((2, 2), LatencyCode(arr([[0.1, 0.0], [7.0, -1.0]]), 5.0, 0.0)), 4, 1.0)
    assert events_of(ev) == [(0, 0), (0, 2)]


def test_latency_scalar_value_fires_every_neuron_at_one_step():
    ev = encode(pop((3,), LatencyCode(2.0, 10.0, 1.0)), 20, 1.0)
    assert events_of(ev) == [(6, 0), (6, 1), (6, 2)]


def test_latency_edge_values():
    # inf fires at the limit t = 0; NaN never. One ulp above θ = 1, I = 1 + 2^-52:
    # I / (I − 1) = 2^52 + 1, t = floor(10 · 52 · ln 2) = floor(360.4) = 360.
    value = [np.inf, np.nan, np.nextafter(1.0, 2.0)]
    ev = encode(pop((3,), LatencyCode(arr(value), 10.0, 1.0)), 1000, 1.0)
    assert events_of(ev) == [(0, 0), (360, 2)]
    ev = encode(pop((3,), LatencyCode(arr(value), 10.0, 1.0)), 360, 1.0)
    assert events_of(ev) == [(0, 0)]


def test_latency_rejects_negative_threshold():
    with pytest.raises(DslError, match="latency threshold must be >= 0"):
        encode(pop((1,), LatencyCode(1.0, 10.0, -0.5)), 10, 1.0)


# --- delta coding ---------------------------------------------------------------------


def test_delta_hand_written_signal():
    # θ = 0.5, two neurons; population [2, 2]: ON = 0 + i, OFF = 2 + i.
    signal = np.array([
        # n0    n1
        [0.0, 1.0],  # t0: references start here: ref = [0.0, 1.0]
        [0.3, 1.5],  # t1: n0 +0.3; n1 +0.5 is not > 0.5 (strict): nothing
        [0.9, 1.6],  # t2: n0 +0.9 -> ON (idx 0), ref 0.9; n1 +0.6 -> ON (idx 1), ref 1.6
        [1.0, 0.9],  # t3: n0 +0.1; n1 −0.7 -> OFF (idx 3), ref 0.9
        [0.2, 0.9],  # t4: n0 −0.7 -> OFF (idx 2), ref 0.2; n1 0
        [0.2, 2.0],  # t5: n0 0; n1 +1.1 -> ON (idx 1), ref 2.0
    ])
    ev = encode(pop((2, 2), DeltaCode(arr(signal), 0.5)), 6, 1.0)
    check_invariants(ev)
    assert events_of(ev) == [(2, 0), (2, 1), (3, 3), (4, 2), (5, 1)]


def test_delta_reference_moves_only_on_a_spike():
    # Creeping up by 0.3 per step with θ = 0.5: 0 -> 0.3 (no) -> 0.6 (ON, ref 0.6)
    # -> 0.9 (no) -> 1.2 (ON): the reference stays put between spikes.
    signal = np.array([0.0, 0.3, 0.6, 0.9, 1.2])[:, None]
    ev = encode(pop((2, 1), DeltaCode(arr(signal), 0.5)), 5, 1.0)
    assert events_of(ev) == [(2, 0), (4, 0)]


def test_delta_run_shorter_and_longer_than_signal():
    signal = np.array([[0.0], [1.0], [0.0], [1.0]])  # ON t1, OFF t2, ON t3 (θ = 0.5)
    short = encode(pop((2, 1), DeltaCode(arr(signal), 0.5)), 3, 1.0)
    assert events_of(short) == [(1, 0), (2, 1)]
    long = encode(pop((2, 1), DeltaCode(arr(signal), 0.5)), 8, 1.0)
    assert events_of(long) == [(1, 0), (2, 1), (3, 0)] and long.steps == 8


def test_delta_multidimensional_signal():
    # Population [2, 2, 2]: N = 4; pixel (1, 0) is flat 2; its OFF spike is 4 + 2 = 6.
    signal = np.zeros((2, 2, 2))
    signal[1, 1, 0] = -1.0
    ev = encode(pop((2, 2, 2), DeltaCode(arr(signal), 0.5)), 2, 1.0)
    assert events_of(ev) == [(1, 6)]


def test_delta_rejects_a_signal_of_the_wrong_shape():
    with pytest.raises(InputFileError, match=r"expected T x \[3\]"):
        encode(pop((2, 3), DeltaCode(arr(np.zeros((5, 4)), "sig.npy"), 0.5)), 5, 1.0)


def test_delta_rejects_a_population_without_two_channels():
    with pytest.raises(DslError, match=r"shape \[2, N...\]"):
        encode(pop((3,), DeltaCode(arr(np.zeros((5, 3))), 0.5)), 5, 1.0)


# --- event streams --------------------------------------------------------------------


def stream(x, y, t, p) -> EventStream:
    return EventStream(np.asarray(x), np.asarray(y), np.asarray(t), np.asarray(p), "ev.npz")


# Sensor H = 3, W = 4; index = p·12 + y·4 + x; dt = 1 ms = 1000 µs per step.
EVENTS = [  # (x, y, t_us, p) -> (step, index)
    (3, 2, 999, 1),   # step 0 (last µs of the bin), 12 + 8 + 3 = 23
    (0, 0, 0, 0),     # step 0, 0
    (3, 2, 500, 1),   # step 0, 23 again: collapses with the first
    (1, 1, 1000, 0),  # step 1 (first µs of the next bin), 4 + 1 = 5
    (1, 1, 1999, 1),  # step 1, 12 + 5 = 17
    (2, 0, 2000, 0),  # step 2, 2
    (2, 0, 5000, 0),  # step 5: past a 5-step run, dropped
]
EXPECTED_EVENTS = [(0, 0), (0, 23), (1, 5), (1, 17), (2, 2)]


def test_events_hand_placed_with_duplicates_and_bin_edges():
    x, y, t, p = (np.array(c) for c in zip(*EVENTS))
    ev = encode(pop((2, 3, 4), stream(x, y, t.astype(np.int64), p)), 5, 1.0)
    check_invariants(ev)
    assert events_of(ev) == EXPECTED_EVENTS
    assert np.all(ev.values == 1.0)


@pytest.mark.parametrize("polarity", ["bool", "signed", "float_t"])
def test_events_polarity_and_time_types(polarity):
    x, y, t, p = (np.array(c) for c in zip(*EVENTS))
    if polarity == "bool":
        p = p.astype(bool)
    elif polarity == "signed":
        p = np.where(p == 1, 1, -1)  # -1 is OFF, channel 0
    else:
        t = t.astype(np.float64)
    ev = encode(pop((2, 3, 4), stream(x, y, t, p)), 5, 1.0)
    assert events_of(ev) == EXPECTED_EVENTS


def test_events_fractional_dt():
    # dt = 0.25 ms = 250 µs: 249 -> 0, 250 -> 1, 1000 -> 4.
    # dt = 0.0015 ms = 1.5 µs (not whole µs): 2 -> floor(1.33) = 1, 3 -> 2.
    ev = encode(pop((2, 1, 1), stream([0] * 3, [0] * 3, [249, 250, 1000], [1, 0, 0])), 5, 0.25)
    assert events_of(ev) == [(0, 1), (1, 0), (4, 0)]
    ev = encode(pop((2, 1, 1), stream([0, 0], [0, 0], [2, 3], [0, 0])), 5, 0.0015)
    assert events_of(ev) == [(1, 0), (2, 0)]


def test_events_reject_out_of_range_pixels_and_bad_polarity():
    with pytest.raises(InputFileError, match=r"event x = 4 is outside the sensor \(0..3\)"):
        encode(pop((2, 3, 4), stream([4], [0], [0], [0])), 5, 1.0)
    with pytest.raises(InputFileError, match=r"polarity takes values \[0, 2\]"):
        encode(pop((2, 3, 4), stream([0, 0], [0, 0], [0, 1], [0, 2])), 5, 1.0)


# --- constant current -----------------------------------------------------------------


def test_current_every_neuron_every_step():
    ev = encode(pop((3,), ConstantCurrent(arr([0.5, 0.0, -2.0]))), 3, 1.0)
    check_invariants(ev)
    # Neuron 1 has value 0: it would add nothing, so it emits nothing.
    assert events_of(ev) == [(0, 0), (0, 2), (1, 0), (1, 2), (2, 0), (2, 2)]
    assert ev.values.tolist() == [0.5, -2.0] * 3
    expected = np.tile([0.5, 0.0, -2.0], (3, 1))
    np.testing.assert_array_equal(ev.raster(), expected)
    back = events_from_raster("inp", ev.raster())
    np.testing.assert_array_equal(back.indices, ev.indices)
    np.testing.assert_array_equal(back.values, ev.values)


def test_current_scalar():
    ev = encode(pop((2, 2), ConstantCurrent(0.75)), 2, 1.0)
    np.testing.assert_array_equal(ev.raster(), np.full((2, 4), 0.75))


def test_current_rejects_a_value_file_of_the_wrong_size():
    with pytest.raises(InputFileError, match=r"current value has shape \[2\] \(2 values\)"):
        encode(pop((3,), ConstantCurrent(arr([1.0, 2.0], "cur.npy"))), 2, 1.0)


# --- the entry point ------------------------------------------------------------------


def test_zero_steps_give_no_events():
    ev = encode(pop((4,), RateCode(1.0, 1000.0, 0)), 0, 1.0)
    assert ev.step_ptr.tolist() == [0] and ev.n_events == 0


def test_encode_rejects_a_neuron_population_and_bad_steps():
    neurons = Population(name="a", shape=(2,), neuron=NeuronModel(family="lif"))
    with pytest.raises(UsageError, match="population 'a' is not an input"):
        encode(neurons, 10, 1.0)
    with pytest.raises(UsageError, match="steps must be >= 0"):
        encode(pop((1,), ConstantCurrent(1.0)), -1, 1.0)
