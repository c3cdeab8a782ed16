"""The Loihi batch runner (``targets/loihi/batch.py``) against the per-sample kernel.

The second implementation is ``kernel.run``, one sample at a time (itself checked
against a plain-Python twin in ``test_emulator_loihi.py``): for every sample the batch
runner must give the same spikes, counters, probed ``u``/``v``, overflow counts and
first overflows, and raise the same error in strict mode. Cases: ``mnist_mlp`` samples
(every sample saturates ``v`` somewhere), and random Mappings from
``test_emulator_loihi.random_case`` (recurrence, exponents of both signs, delays,
refractory periods, relays, several cores and chips) under every pair of overflow
modes, with the input events delivered both ways (summed input rows, dense rows), the
rows stored as int8 with a scale or in ``acc``'s dtype (or one of each), and the
batch's RunResults against those built one by one.
"""

from __future__ import annotations

import math
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import neurocomp as nc
from neurocomp.chip.family import family as family_named
from neurocomp.compiler.encode import input_events
from neurocomp.diagnostics import EmulationError
from neurocomp.emulator import run as emu
from neurocomp.emulator.kernels import KernelInputs, batch_runner, run_resumable
from neurocomp.ir.synapses import InputEvents
from neurocomp.targets.loihi import batch as lb
from neurocomp.targets.loihi import kernel as loihi

from test_emulator_loihi import LOIHI, random_case, with_overflow

ROOT = Path(__file__).resolve().parents[1]


def kernel_inputs(mapping, steps, samples, *, strict=False):
    """The kernel's inputs of each sample, as ``emulate_batch`` builds them."""
    rec = emu._Recorder.of(mapping, None)
    refusal = emu._payload_refusal(mapping, family_named(mapping.family))
    out = []
    for s in samples:
        ev = input_events(mapping.network, steps, s, inputs=tuple(mapping.input_offset))
        ptr, src, val = emu._sources_by_step(mapping, steps, ev, refusal)
        out.append(KernelInputs(steps=steps, in_ptr=ptr, in_src=src, in_val=val, probe_comp=rec.comp,
                                strict=strict))
    return out


def assert_same_runs(got, want):
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(a.spike_step, b.spike_step, err_msg=f"sample {k}")
        np.testing.assert_array_equal(a.spike_comp, b.spike_comp, err_msg=f"sample {k}")
        np.testing.assert_array_equal(a.counters, b.counters, err_msg=f"sample {k}")
        np.testing.assert_array_equal(a.core_ids, b.core_ids)
        for var in ("u", "v"):
            np.testing.assert_array_equal(a.traces[var], b.traces[var], err_msg=f"sample {k} {var}")
        assert a.overflows == b.overflows, k
        assert a.first_overflow == b.first_overflow, k


@pytest.fixture(params=["matrix", "wide", "mixed", "rows", "scatter"])
def input_path(request, monkeypatch):
    """Input events of a step as the sum of their InputMatrix rows whenever the matrix
    exists (int8 rows where they fit; ``wide``: never; ``mixed``: every other matrix
    built, so the input rows int8 and the spike rows not, widened to one dtype), or
    never; every source's synapses as dense rows where they fit (``MAX_FILL``), or all
    scattered."""
    monkeypatch.setattr(lb, "MATRIX_FILL", -math.inf if request.param in ("rows", "scatter") else math.inf)
    if request.param == "scatter":
        monkeypatch.setattr(lb, "MAX_FILL", -1.0)
    as_int8, calls = lb._as_int8, []

    def sometimes(mat, at):
        calls.append(at)
        return (None, 1) if request.param == "wide" or (request.param == "mixed" and len(calls) % 2 == 0) \
            else as_int8(mat, at)

    monkeypatch.setattr(lb, "_as_int8", sometimes)
    return request.param


@pytest.fixture(scope="module")
def mnist():
    from neurocomp.workflows.samples import sample_inputs

    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        x = data["x"][:6]
    m = nc.compile(net, "loihi")
    return m, sample_inputs(net, 60, x)


def test_mnist_mlp_samples_match_the_per_sample_kernel(mnist, input_path):
    m, samples = mnist
    tables = loihi.prepare(m)
    inputs = kernel_inputs(m, 60, samples)
    got = lb.run_batch(tables, inputs)
    want = [loihi.run(tables, x) for x in inputs]
    assert_same_runs(got, want)
    # not a trivial case: the hidden layer fires, v saturates at its floor
    assert all(r.spike_step.size > 100 for r in want)
    assert all(r.overflows.get("v@floor", 0) > 0 for r in want)
    assert (lb.dense_rows(tables).ptr[-1] == 0) == (input_path == "scatter")
    if input_path in ("matrix", "wide", "mixed"):
        dr = lb.dense_rows(tables)
        rows = [lb.input_matrix(tables, dr).matrix.dtype, lb.spike_matrix(tables, dr).matrix.dtype]
        assert rows == {"matrix": [np.int8] * 2, "wide": [np.int16] * 2, "mixed": [np.int8, np.int16]}[input_path]


def test_mnist_mlp_uses_the_input_matrix_by_default(mnist):
    # An input reaches every hidden neuron (two cores), so its row is its 128 weights
    # over the hidden neurons' 138-row span and 2 counts per core: about what its dense
    # rows add; then zeros up to 160, five 64-byte vectors of the int16 sum. Loihi's
    # signed 8-bit weights are even: the rows hold weight / 2 as int8 (scale 2), half
    # the bytes to read per event.
    m, samples = mnist
    tables = loihi.prepare(m)
    inputs = kernel_inputs(m, 60, samples[:2])
    dr = lb.dense_rows(tables)
    in_ptr = np.stack([x.in_ptr for x in inputs])
    in_ptr[1] += in_ptr[0, -1]
    mat = lb._input_rows(tables, dr, in_ptr)
    assert mat is lb.input_matrix(tables, dr)
    assert tables.info.acc_dtype == np.int16 and mat.matrix.dtype == np.int8 and mat.scale == 2
    assert mat.matrix.shape == (784, 160)
    # the value columns times the scale: each input's dense rows (built apart, by _fill_pieces)
    n = m.n_comp
    for s in (0, 300, 783):
        q = int(dr.ptr[n + s])
        assert dr.ptr[n + s + 1] == q + 1 and dr.row0[q] == 0 and dr.length[q] == 138
        np.testing.assert_array_equal(mat.matrix[s, :138].astype(np.int16) * 2,
                                      dr.value[dr.off[q]:dr.off[q] + 138])
    assert int(mat.piece_len.sum()) + 2 * tables.info.n_cols == 142 == mat.count_col + 4
    assert not mat.matrix[:, 142:].any()
    # A hidden neuron's spike reaches the 10 outputs: 10 values, then 6 counters per
    # core (its sender's messages and hops, the receivers' spikes in and synaptic
    # operations) in one 64-byte vector; the output neurons' rows are zero.
    spikes = lb._spike_rows(tables, dr)
    assert spikes is lb.spike_matrix(tables, dr) and spikes.matrix.shape == (138, 32)
    assert spikes.matrix.dtype == np.int8 and spikes.scale == 2
    assert spikes.piece_len.tolist() == [10] and spikes.count_col == 10 and spikes.counters.size == 6
    assert not spikes.matrix[82:92].any()


def test_rows_as_int8_divide_the_values_by_their_common_divisor():
    # value columns (the first 3) over their gcd; count columns (the last) as they are
    mat = np.array([[4, -6, 0, 3], [2, 254, 0, 127]], dtype=np.int64)
    small, scale = lb._as_int8(mat, 3)
    assert scale == 2 and small.dtype == np.int8
    assert small.tolist() == [[2, -3, 0, 3], [1, 127, 0, 127]]
    assert lb._as_int8(mat + np.array([0, 2, 0, 0]), 3) == (None, 1)  # 256 / 2 = 128 does not fit
    assert lb._as_int8(mat + np.array([0, 0, 0, 1]), 3) == (None, 1)  # a count of 128 does not fit
    small, scale = lb._as_int8(np.array([[0, 0, 5]]), 2)  # no value: scale 1
    assert scale == 1 and small.tolist() == [[0, 0, 5]]
    small, scale = lb._as_int8(np.array([[-3, 9, 1]]), 2)  # the gcd of signed values
    assert scale == 3 and small.tolist() == [[-1, 3, 1]]


def assert_same_results(together, alone):
    """Two BatchResults alike: every population's spikes, every counter and trace."""
    assert together.overflows == alone.overflows
    assert len(together) == len(alone)
    for a, b in zip(together, alone):
        assert list(a.spikes) == list(b.spikes) and list(a.traces) == list(b.traces)
        for pop in a.spikes:
            np.testing.assert_array_equal(a.spikes[pop].times, b.spikes[pop].times)
            np.testing.assert_array_equal(a.spikes[pop].indices, b.spikes[pop].indices)
            assert (a.spikes[pop].n, a.spikes[pop].is_input) == (b.spikes[pop].n, b.spikes[pop].is_input)
        for f in a.counters.FIELDS:
            np.testing.assert_array_equal(getattr(a.counters, f), getattr(b.counters, f))
        np.testing.assert_array_equal(a.counters.core_ids, b.counters.core_ids)
        for pop in a.traces:
            assert list(a.traces[pop]) == list(b.traces[pop])
            for var in a.traces[pop]:
                assert a.traces[pop][var].dtype == b.traces[pop][var].dtype
                np.testing.assert_array_equal(a.traces[pop][var], b.traces[pop][var])
        assert (a.synaptic_events, a.neuron_updates, a.steps, a.network) == \
            (b.synaptic_events, b.neuron_updates, b.steps, b.network)


def test_emulate_batch_gives_what_one_by_one_gives(mnist, monkeypatch):
    # The batch's results are built for all samples at once (run._results); one by one,
    # each by run._result: the same RunResults. The hidden layer spans two cores, so its
    # spikes need sorting; the probes take spikes of an input and neurons and voltages;
    # one sample's input events come out of index order within a step (sorted for it).
    m, samples = mnist
    assert batch_runner(loihi) is lb.run_batch
    pixels = input_events(m.network, 60, samples[1], inputs=("pixels",))["pixels"]
    shuffled = np.concatenate([np.random.default_rng(1).permutation(pixels.indices[lo:hi])
                               for lo, hi in zip(pixels.step_ptr[:-1], pixels.step_ptr[1:])])
    assert not np.array_equal(shuffled, pixels.indices)
    mixed = list(samples) + [{"pixels": InputEvents(population="pixels", n=pixels.n, steps=60,
                                                    step_ptr=pixels.step_ptr, indices=shuffled,
                                                    values=pixels.values)}]
    probes = {"pixels": ("spikes",), "hidden": ("voltage", "spikes"), "out": ("spikes", "voltage")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in ({}, {"probes": probes}):
            with monkeypatch.context() as mp:
                mp.setattr(emu, "_result", None)  # not called for the batch runner's runs
                together = emu.emulate_batch(m, 60, mixed, **kw)
            with monkeypatch.context() as mp:
                mp.setattr(emu, "batch_runner", lambda kernel: None)
                alone = emu.emulate_batch(m, 60, mixed, **kw)
            assert together.overflows
            assert_same_results(together, alone)
    np.testing.assert_array_equal(together[-1].spikes["pixels"].indices, alone[1].spikes["pixels"].indices)


def test_a_batch_cut_into_calls_gives_the_same_results(mnist, monkeypatch):
    # Under CALL_EVENTS events per call (kept under NumPy's huge-page size): the same
    # results as one call, and as one by one.
    m, samples = mnist
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = emu.emulate_batch(m, 60, samples)
        calls = []
        run_part = lb._run_part
        monkeypatch.setattr(lb, "_run_part", lambda tb, dr, inputs, *a: calls.append(len(inputs))
                            or run_part(tb, dr, inputs, *a))
        monkeypatch.setattr(lb, "CALL_EVENTS", 33_000)
        cut = emu.emulate_batch(m, 60, samples)
        with monkeypatch.context() as mp:
            mp.setattr(emu, "batch_runner", lambda kernel: None)
            alone = emu.emulate_batch(m, 60, samples)
    events = [r.spikes["pixels"].times.size for r in whole]
    assert 14_000 < min(events) and max(events) < 19_000  # so one sample per call, or two
    # the last call: the overflow note's sample on the wider chip
    assert sum(calls[:-1]) == len(samples) and 2 in calls and calls[-1] == 1, calls
    assert_same_results(cut, whole)
    assert_same_results(cut, alone)


modes = st.sampled_from([("wrap", "saturate"), ("saturate", "wrap"), ("wrap", "wrap"),
                         ("saturate", "saturate")])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), modes=modes, uniform=st.booleans(), big=st.booleans(),
       chips=st.sampled_from([1, 2]))
def test_random_mappings_match_the_per_sample_kernel(input_path, seed, modes, uniform, big, chips):
    chip = with_overflow(LOIHI, u=modes[0], v=modes[1])
    if chips > 1:
        chip = chip.with_system(chips, 1, "user: tests, two chips for inter-chip hops")
    steps = 30
    mapping, raster, _ = random_case(seed, chip, uniform=uniform, big=big, steps=steps)
    rng = np.random.default_rng(seed)
    # dense, none, sparse, inputs that fire in most steps, and every event of those twice
    # (a source firing twice in one step)
    samples = [{"x": raster}] + [{"x": rng.random(raster.shape) < p} for p in (0.0, 0.2, 0.6, 0.9)]
    busy = input_events(mapping.network, steps, samples[-1], inputs=("x",))["x"]
    samples.append({"x": InputEvents(population="x", n=busy.n, steps=steps, step_ptr=2 * busy.step_ptr,
                                     indices=np.repeat(busy.indices, 2), values=np.repeat(busy.values, 2))})
    tables = loihi.prepare(mapping)
    inputs = kernel_inputs(mapping, steps, samples)
    assert_same_runs(lb.run_batch(tables, inputs), [loihi.run(tables, x) for x in inputs])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), modes=modes)
def test_strict_mode_raises_what_the_first_failing_sample_raises(input_path, seed, modes):
    chip = with_overflow(LOIHI, u=modes[0], v=modes[1])
    mapping, raster, _ = random_case(seed, chip, big=True, steps=25)
    samples = [{"x": np.zeros_like(raster)}, {"x": raster}, {"x": ~raster}]
    tables = loihi.prepare(mapping)
    inputs = kernel_inputs(mapping, 25, samples, strict=True)
    want = None
    for x in inputs:
        try:
            loihi.run(tables, x)
        except EmulationError as e:
            want = e
            break
    assume(want is not None)
    with pytest.raises(EmulationError) as got:
        lb.run_batch(tables, inputs)
    assert str(got.value) == str(want)
    assert (got.value.core, got.value.compartment, got.value.variable, got.value.step) == \
        (want.core, want.compartment, want.variable, want.step)


def test_a_small_run_is_not_cut_into_pieces():
    # run_resumable calls the loop once to compile it, then once for the whole run when
    # every compartment firing every step fits its first buffer (it was cut every
    # ~1,000 spikes: 691 calls for 200 mnist_mlp samples).
    calls = []

    def loop(t, steps, spike_t, spike_c, n, n_comp):
        calls.append((t, steps))
        for s in range(t, steps):
            if n + n_comp > spike_t.size:
                return n, s, -1
            spike_t[n:n + n_comp] = s
            n += n_comp
        return n, steps, -1

    spike_t, _, n, stopped, _ = run_resumable(loop, 100, 138, (138,))
    assert calls == [(0, 0), (0, 100)] and n == 13_800 and stopped == -1
    assert np.array_equal(spike_t[:n], np.repeat(np.arange(100), 138))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 40), st.integers(-3, 2 ** 40)), max_size=60), st.booleans())
def test_event_order_of_unsorted_spikes_is_the_lexsort_order(events, by_step):
    # emulate_batch orders each population's spikes (neurons of one core need not be in
    # index order) with one stable sort of a combined key: the same permutation as
    # np.lexsort, the plain way, including negative or huge values (lexsort then).
    times = np.array([t for t, _ in events], dtype=np.int64)
    idx = np.array([i for _, i in events], dtype=np.int64)
    if by_step:  # as the kernels emit them: by step, indices in any order
        times = np.sort(np.abs(times))
        idx = np.abs(idx) % 97
    order = emu._order_of(times, idx)
    np.testing.assert_array_equal(np.arange(times.size)[order], np.lexsort((idx, times)))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(0, 9), max_size=5), min_size=1, max_size=8), st.integers(0, 8))
def test_a_csr_is_found_in_order_exactly_when_each_step_ascends(per_step, steps):
    # the plain definition: within every step of the first `steps`, indices never fall
    steps = min(steps, len(per_step))
    ptr = np.concatenate([[0], np.cumsum([len(s) for s in per_step])]).astype(np.int64)
    idx = np.array([i for s in per_step for i in s], dtype=np.int64)
    want = all(all(a <= b for a, b in zip(s, s[1:])) for s in per_step[:steps])
    assert emu._csr_in_order(ptr, idx, steps) == want


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-2, 12)), max_size=80), st.booleans())
def test_grouped_order_of_spikes_by_step_is_the_lexsort_order(events, by_step):
    # emulate_batch orders a population's spikes (its neurons on two cores come core
    # by core each step) a run of equal times at a time: the same permutation as
    # np.lexsort; times that fall are refused (ok False) and sorted the general way.
    from neurocomp.emulator.csr import grouped_order

    times = np.array([t for t, _ in events], dtype=np.int64)
    idx = np.array([i for _, i in events], dtype=np.int64)
    if by_step:
        times = np.sort(times)
    order, ok, moved = grouped_order(times, idx)
    want = np.lexsort((idx, times))
    assert ok == bool(np.all(np.diff(times) >= 0))
    if ok:
        np.testing.assert_array_equal(order, want)
        assert moved == (not np.array_equal(want, np.arange(times.size)))
    np.testing.assert_array_equal(np.arange(times.size)[emu._grouped_order(times, idx)], want)


def test_a_run_one_by_one_checks_its_overflow_without_the_batch_runner(mnist, monkeypatch):
    # The overflow note's run on the wider chip goes through the batch runner only when
    # the call's own runs came from it: a run one by one (a progress callback, as the
    # CLI's run) must not compile the whole batch runner for that one check. Its note
    # says the same as the batch's.
    m, samples = mnist
    calls = []
    real = emu.batch_runner

    def spying(kernel):
        runner = real(kernel)
        return None if runner is None else (lambda *a, **k: calls.append(1) or runner(*a, **k))

    monkeypatch.setattr(emu, "batch_runner", spying)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = emu.emulate_batch(m, 60, samples[:2], warn=False)
        assert len(calls) == 2  # the samples, then the note's run on the wider chip
        calls.clear()
        seen = []
        alone = emu._run(m, 60, samples[:2], False, None, 0, warn=False,
                         progress=lambda done, steps: seen.append(done))
    assert calls == [] and seen
    assert batch.overflows and [msg for _, msg in alone.overflows] == [msg for _, msg in batch.overflows]
    assert emu.UNCHANGED_NOTE in batch.overflows[0][1]


def test_a_batch_keeps_its_input_steps_as_a_csr_until_they_are_read(mnist):
    # StepTimes by hand: steps 0, 1, 2 with 2, 0 and 3 events.
    from neurocomp.ir.result import SpikeEvents, StepTimes

    ev = SpikeEvents(times=StepTimes(np.array([0, 2, 2, 5])), indices=np.array([1, 3, 0, 1, 2]), n=4,
                     is_input=True)
    assert ev.count == 5 and isinstance(ev.__dict__["times"], StepTimes)
    np.testing.assert_array_equal(ev.times, [0, 0, 2, 2, 2])
    assert ev.times.dtype == np.int64 and ev.times is ev.times  # made once
    with pytest.raises(ValueError, match="one length"):
        SpikeEvents(times=StepTimes(np.array([0, 2])), indices=np.array([0]), n=1)
    # A batch's input populations: unread, pickled (as results come back from workers) and
    # then read, their steps are the one-by-one run's.
    m, samples = mnist
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        together = emu.emulate_batch(m, 60, samples)
        alone = [emu.emulate(m, 60, s) for s in samples]
    assert all(isinstance(r.spikes["pixels"].__dict__["times"], StepTimes) for r in together)
    back = pickle.loads(pickle.dumps(together[2], protocol=5))
    for a, b in zip([back] + list(together), [alone[2]] + alone):
        np.testing.assert_array_equal(a.spikes["pixels"].times, b.spikes["pixels"].times)
        np.testing.assert_array_equal(a.spikes["pixels"].indices, b.spikes["pixels"].indices)
        assert a.spikes["pixels"].count == b.spikes["pixels"].count
