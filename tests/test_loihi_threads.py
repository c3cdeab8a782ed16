"""The Loihi kernel cut into pieces run by threads (``kernel.run_loihi_threads``) against
one thread and against the twin (the plain Python model of tests/test_emulator_loihi.py):
spikes, traces, every counter and the overflow records bit for bit, on the random
Mappings there (relays, delays, refractory periods, exponents of both signs, overflows
under every pair of modes), with more pieces than cores and than Numba's threads.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurocomp.diagnostics import EmulationError
from neurocomp.emulator.kernels import KernelInputs
from test_emulator_loihi import LOIHI, random_case, twin, with_overflow

STEPS = 40


def inputs_of(mapping, by_step, steps, **kw):
    in_ptr = np.zeros(steps + 1, dtype=np.int64)
    in_ptr[1:] = np.cumsum([len(by_step.get(t, [])) for t in range(steps)])
    in_src = np.array([s for t in range(steps) for s in by_step.get(t, [])], dtype=np.int64)
    return KernelInputs(steps=steps, in_ptr=in_ptr, in_src=in_src,
                        probe_comp=np.arange(mapping.n_comp, dtype=np.int64), **kw)


def run(mapping, by_step, threads, steps=STEPS, **kw):
    from neurocomp.targets.loihi import kernel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return kernel.run(kernel.prepare(mapping), inputs_of(mapping, by_step, steps, threads=threads, **kw))


def assert_same(a, b):
    np.testing.assert_array_equal(a.spike_step, b.spike_step)
    np.testing.assert_array_equal(a.spike_comp, b.spike_comp)
    np.testing.assert_array_equal(a.counters, b.counters)
    for var in a.traces:
        np.testing.assert_array_equal(a.traces[var], b.traces[var])
    assert a.overflows == b.overflows
    assert a.first_overflow == b.first_overflow


def assert_twin(mapping, r, tw):
    want = sorted(tw["spikes"])
    got = sorted(zip(r.spike_step.tolist(), r.spike_comp.tolist()))
    assert got == want
    np.testing.assert_array_equal(r.traces["u"], tw["u"])
    np.testing.assert_array_equal(r.traces["v"], tw["v"])


# Lava's overflow modes (the chip's) compile one variant of the threaded kernel; other
# modes compile another (slow).
CASES = [(seed, dict()) for seed in range(3)] + [(7, dict(uniform=True))] \
    + [pytest.param(seed, dict(big=True), marks=pytest.mark.slow) for seed in (2, 3)]


@pytest.mark.parametrize("seed,kw", CASES)
def test_pieces_equal_one_thread_and_the_twin(seed, kw):
    chip = LOIHI.with_system(2, 1, "user: tests, two chips for inter-chip hops")
    if kw.get("big"):
        chip = with_overflow(chip, u="wrap", v="wrap")
    mapping, raster, by_step = random_case(seed, chip, **kw)
    one = run(mapping, by_step, 1)
    tw = twin(mapping, STEPS, by_step)
    assert_twin(mapping, one, tw)
    assert len(mapping.cores) >= 2
    for pieces in (2, 3, 8):  # 8: more than the cores (capped at one per core)
        assert_same(one, run(mapping, by_step, pieces))
    assert (sum(one.overflows.values()) > 0) == bool(kw.get("big"))
    assert one.spike_step.size > 10


@pytest.mark.parametrize("modes", [("wrap", "saturate"),
                                   pytest.param(("saturate", "saturate"), marks=pytest.mark.slow)])
def test_pieces_keep_the_first_overflow_and_the_counts(modes):
    chip = with_overflow(LOIHI, u=modes[0], v=modes[1])
    mapping, raster, by_step = random_case(4, chip, big=True)
    one = run(mapping, by_step, 1)
    assert sum(one.overflows.values()) > 3
    assert_same(one, run(mapping, by_step, 3))
    tw = twin(mapping, STEPS, by_step)
    for var in ("u", "v"):
        got = one.overflows.get(f"{var}@floor", 0) + one.overflows.get(f"{var}@ceiling", 0)
        assert got == tw["overflows"][var], var


def test_strict_pieces_stop_at_the_same_overflow():
    chip = with_overflow(LOIHI, u="wrap", v="saturate")
    mapping, raster, by_step = random_case(3, chip, big=True)
    messages = []
    for threads in (1, 3):
        with pytest.raises(EmulationError) as err:
            run(mapping, by_step, threads, strict=True)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "step" in messages[0]


def test_an_adaptive_run_switches_ways_and_changes_nothing(monkeypatch):
    """threads=None: pieces of steps timed with and without threads, the faster kept and
    the other tried again (``_run_both``); the ring buffers change hands at each switch."""
    from neurocomp.targets.loihi import kernel

    mapping, raster, by_step = random_case(4, LOIHI, steps=60, big=True)
    one = run(mapping, by_step, 1, steps=60)
    assert sum(one.overflows.values()) > 3  # records from both ways, merged
    calls = {"one": 0, "threads": 0}
    plain, threaded = kernel.run_loihi, kernel.run_loihi_threads

    def count(name, f):
        def call(*a):
            calls[name] += a[1] > a[0]
            return f(*a)
        return call

    monkeypatch.setattr(kernel, "run_loihi", count("one", plain))
    monkeypatch.setattr(kernel, "run_loihi_threads", count("threads", threaded))
    monkeypatch.setattr(kernel, "THREADS_FROM", 0)
    monkeypatch.setattr(kernel.numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(kernel, "_SHARE", 60)  # one step a piece
    monkeypatch.setattr(kernel, "_RETRY", 2)  # the other way every second piece
    auto = run(mapping, by_step, None, steps=60)
    assert calls["one"] >= 10 and calls["threads"] >= 10, calls
    assert_same(one, auto)


def test_a_small_network_runs_on_one_thread_unless_asked():
    from neurocomp.targets.loihi import kernel

    mapping, _, _ = random_case(0, LOIHI)
    tb = kernel.prepare(mapping)
    assert mapping.n_comp < kernel.THREADS_FROM
    assert kernel._pieces_of(tb, None) == 1
    assert kernel._pieces_of(tb, 2) == 2
    assert kernel._pieces_of(tb, 64) == len(mapping.cores)
