"""Each of the Loihi kernel's three update loops, against the twin (the plain Python
model of tests/test_emulator_loihi.py), on one Mapping that takes all of them:

* core 0: one accumulator class and runs without refractory period: the update reads
  the accumulator rows directly;
* core 1: a run without refractory period beside a run with one: the first reads the
  drained input (``a_in``) without touching the refractory counters, the second the
  per-compartment arrays;
* core 2: one run, but two accumulator classes (a negative exponent has a class of its
  own): drained into ``a_in``, then the run without refractory period.

The three loops are compiled into one kernel per overflow case, so the same network
under Lava's modes and under the other three pairs of modes covers both cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from test_emulator_loihi import LOIHI, assert_matches_twin, build_mapping, network_of, syns_of, with_overflow

STEPS = 30


def three_cores(chip, *, big: bool = False):
    rng = np.random.default_rng(5)
    sizes = {"a": 48, "b": 40, "c": 36, "d": 44}
    n_in = 6
    exps = {"xa": 0, "xb": 0, "xc": 0, "xd": 0, "xd_neg": -1, "ab": 0}
    if big:
        exps = {k: 6 for k in exps} | {"xd_neg": -1}
    pairs = {"xa": ("x", "a"), "xb": ("x", "b"), "xc": ("x", "c"), "xd": ("x", "d"),
             "xd_neg": ("x", "d"), "ab": ("a", "b")}
    size_of = {"x": n_in, **sizes}
    projections = {}
    for name, (pre, post) in pairs.items():
        table = []
        for i in range(size_of[pre]):
            for j in range(size_of[post]):
                if rng.random() < 0.3:
                    w = int(rng.integers(100, 256)) if big else int(rng.integers(-20, 90))
                    table.append((i, j, w, int(rng.integers(0, 3))))
        projections[name] = (pre, post, exps[name], table)
    net = network_of("paths", sizes, {"x": n_in}, projections,
                     probes={p: ("voltage", "current") for p in sizes})
    comps = [(0, "a", i) for i in range(sizes["a"])] \
        + [(1, "c", i) for i in range(sizes["c"])] + [(1, "b", i) for i in range(sizes["b"])] \
        + [(2, "d", i) for i in range(sizes["d"])]
    per_pop = {  # du, dv, vth_mant, bias_mant, bias_exp, refractory
        "a": (200, 300, 40, 300, 3, 0),
        "b": (4095, 100, 30, 400, 3, 2),
        "c": (1000, 0, 60, -100, 2, 0),
        "d": (50, 2048, 25, 200, 2, 0),
    }
    keys = ("du", "dv", "vth_mant", "bias_mant", "bias_exp", "refractory")
    params = {k: [per_pop[c[1]][n] for c in comps] for n, k in enumerate(keys)}
    mapping = build_mapping(chip, net, comps, syns_of(projections), params, exps)
    raster = rng.random((STEPS, n_in)) < 0.4
    by_step = {t: [len(comps) + i for i in np.flatnonzero(raster[t]).tolist()] for t in range(STEPS)}
    return mapping, raster, by_step


def test_the_mapping_takes_each_update_loop():
    from neurocomp.targets.loihi import kernel

    mapping, _, _ = three_cores(LOIHI)
    tb = kernel.prepare(mapping)
    blocks = np.diff(tb.routing.core_block_ptr)
    refr = [sorted({int(tb.cfg[tb.seg_cfg[g], 4]) for g in range(tb.core_seg_ptr[j], tb.core_seg_ptr[j + 1])})
            for j in range(3)]
    assert np.all(np.diff(tb.core_seg_ptr) > 0)  # every core has runs of one parameter set
    assert blocks.tolist() == [1, 1, 2]
    assert refr == [[0], [0, 2], [0]]


def test_every_update_loop_matches_the_twin_under_lavas_modes():
    mapping, raster, by_step = three_cores(LOIHI)
    r, tw = assert_matches_twin(mapping, raster, by_step, STEPS)
    fired = {p: r.spikes[p].count for p in ("a", "b", "c", "d")}
    assert all(n > 0 for n in fired.values()), fired
    # b's refractory period matters: it fires at most every third step
    times = np.sort(r.spikes["b"].times[r.spikes["b"].indices == 0])
    assert times.size > 1 and np.all(np.diff(times) >= 3)


@pytest.mark.parametrize("modes", [("wrap", "saturate"), ("saturate", "wrap"), ("wrap", "wrap"),
                                   ("saturate", "saturate")])
def test_every_update_loop_matches_the_twin_when_it_overflows(modes):
    mapping, raster, by_step = three_cores(with_overflow(LOIHI, u=modes[0], v=modes[1]), big=True)
    assert_matches_twin(mapping, raster, by_step, STEPS, overflows=True)
