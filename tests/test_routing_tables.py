"""The routing tables (``emulator/kernels/routing.py``) against a slow, obvious twin.

``routing_tables`` builds its tables with sorts and scatters over whole arrays; the twin
below builds the same tables the plain way -- a dict from core id to column, a sorted
set of (column, class) pairs, then a loop over every source, route and synapse -- and
every array must come out equal, dtype and all. Checked on random Loihi and TrueNorth
mappings, on class keys far apart (where the fast path cannot pack a class beside its
column), and on the examples compiled for each chip.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from neurocomp.diagnostics import UsageError
from neurocomp.emulator.kernels import routing
from neurocomp.emulator.kernels.routing import narrowest_int, routing_tables
from test_emulator_loihi import LOIHI, TINY, random_case

ROOT = Path(__file__).resolve().parent.parent


def twin_tables(m, axon_class=None, syn_value=None) -> dict:
    """Every table of the module docstring, one Python loop at a time."""
    core_ids = [c.core_id for c in m.cores]
    col_of = {cid: j for j, cid in enumerate(core_ids)}
    comp_start = {j: c.comp_start for j, c in enumerate(m.cores)}
    comp_col = [col_of[int(c)] for c in m.comp_core]
    axon_col = [col_of[int(c)] for c in m.axon_core]
    cls = [0] * m.n_axons if axon_class is None else [int(x) for x in axon_class]
    pairs = sorted({(axon_col[a], cls[a]) for a in range(m.n_axons)})
    block_of = {pair: b for b, pair in enumerate(pairs)}
    block_axon = [min(a for a in range(m.n_axons) if (axon_col[a], cls[a]) == pair) for pair in pairs]
    block_size = [m.cores[col].comp_stop - m.cores[col].comp_start for col, _ in pairs]
    block_row = [sum(block_size[:b]) for b in range(len(pairs))]
    values = m.syn_weight if syn_value is None else syn_value
    relay = [int(p) == -1 for p in m.comp_pop]

    def row_of(k, a):
        tgt = int(m.syn_target[k])
        return block_row[block_of[(axon_col[a], cls[a])]] + tgt - comp_start[comp_col[tgt]]

    rows = {}
    for a in range(m.n_axons):
        for k in range(int(m.axon_syn_ptr[a]), int(m.axon_syn_ptr[a + 1])):
            rows[k] = row_of(k, a)
    flat_k, route_words, src = [], [], []
    for s in range(m.n_sources):
        lo_syn, ew, ns, ic = len(flat_k), 0, 0, 0
        for r in range(int(m.route_ptr[s]), int(m.route_ptr[s + 1])):
            a = int(m.route_axon[r])
            k0, k1 = int(m.axon_syn_ptr[a]), int(m.axon_syn_ptr[a + 1])
            flat_k += range(k0, k1)
            route_words.append((axon_col[a], k1 - k0))
            if s < m.n_comp:
                h = m.chip.hops(int(m.comp_core[s]), int(m.axon_core[a]))
                ew, ns, ic = ew + h[0], ns + h[1], ic + h[2]
        src.append([lo_syn, len(flat_k), int(m.route_ptr[s]), int(m.route_ptr[s + 1]),
                    comp_col[s] if s < m.n_comp else -1, ew, ns, ic])
    flat_value = [1 if relay[int(m.syn_target[k])] else int(values[k]) for k in flat_k]
    vbits = max([1] + [v.bit_length() + 1 if v > 0 else (-v - 1).bit_length() + 1 if v < 0 else 1
                       for v in flat_value])
    n_rows = sum(block_size)
    row_bits = max(1, (n_rows - 1).bit_length())
    syn = [(rows[k] << vbits) | (v & ((1 << vbits) - 1)) for k, v in zip(flat_k, flat_value)]
    route_bits = max(1, max([n for _, n in route_words], default=1).bit_length())
    col_bits = max(1, (len(core_ids) - 1).bit_length())
    delays = [int(d) for d in m.syn_delay]
    uniform = len(set(delays)) <= 1
    bound = [0] * n_rows
    for k in range(m.n_synapses):
        bound[rows[k]] += abs(1 if relay[int(m.syn_target[k])] else int(values[k]))
    return {
        "src": np.array(src, dtype=np.int64).reshape(-1, 8),
        "route": np.array([(c << route_bits) | n for c, n in route_words],
                          dtype=np.uint16 if route_bits + col_bits <= 16 else
                          np.uint32 if route_bits + col_bits <= 32 else np.uint64),
        "route_bits": route_bits,
        "syn": np.array(syn, dtype=np.int32 if row_bits + vbits <= 31 else np.int64),
        "syn_vbits": vbits,
        "syn_delay": np.zeros(0, np.uint8) if uniform else
        np.array([delays[k] for k in flat_k], dtype=narrowest_int(np.array(delays), unsigned_ok=True)),
        "delay": delays[0] if delays and uniform else 0,
        "n_slots": max(delays, default=0) + 2,
        "block_row": np.array(block_row, dtype=np.int64),
        "block_comp": np.array([comp_start[col] for col, _ in pairs], dtype=np.int64),
        "block_size": np.array(block_size, dtype=np.int64),
        "block_key": np.array([k for _, k in pairs], dtype=np.int64),
        "block_axon": np.array(block_axon, dtype=np.int64),
        "core_block_ptr": np.array([sum(1 for col, _ in pairs if col < j)
                                    for j in range(len(core_ids) + 1)], dtype=np.int64),
        "core_comp_ptr": np.array([c.comp_start for c in m.cores] + [m.n_comp], dtype=np.int64),
        "comp_col": np.array(comp_col, dtype=np.int32),
        "comp_relay": np.array(relay, dtype=np.uint8),
        "info.n_rows": n_rows,
        "info.n_cols": len(core_ids),
        "info.core_ids": np.array(core_ids, dtype=np.int32),
        "info.acc_dtype": np.dtype(np.int16 if max(bound, default=0) < 2**15 else np.int32),
    }


def assert_same_tables(m, axon_class=None, syn_value=None) -> None:
    rt, info = routing_tables(m, axon_class, syn_value)
    want = twin_tables(m, axon_class, syn_value)
    for name, expected in want.items():
        got = getattr(info, name[5:]) if name.startswith("info.") else getattr(rt, name)
        if isinstance(expected, np.ndarray):
            assert got.dtype == expected.dtype, name
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            assert got == expected, name
    assert rt.src.ctypes.data % 64 == 0


@pytest.mark.parametrize("seed", range(6))
def test_random_loihi_mappings_give_the_twins_tables(seed):
    chip = LOIHI.with_system(2, 1, "user: tests, two chips for inter-chip hops")
    m, _, _ = random_case(seed, chip, uniform=seed == 5)
    from neurocomp.targets.loihi import kernel as loihi

    exp = np.asarray(m.axon_weight_exp, dtype=np.int64)
    proj = np.asarray(m.axon_projection, dtype=np.int64)
    key = np.where(exp >= 0, exp, -((proj + 1) * 256 + (-exp)))  # Loihi's classes
    assert len(set(key.tolist())) > 2  # several blocks per core
    assert_same_tables(m, key)
    assert_same_tables(m)  # one class
    tables = loihi.prepare(m)
    np.testing.assert_array_equal(tables.routing.block_key, twin_tables(m, key)["block_key"])


@pytest.mark.parametrize("seed", range(6, 9))
def test_random_tiny_chip_mappings_and_far_apart_classes(seed):
    m, _, _ = random_case(seed, TINY)
    rng = np.random.default_rng(seed)
    assert_same_tables(m)
    # Classes near both ends of int64: no (column, class) key packs into 64 bits.
    far = rng.choice(np.array([-2**63, -5, 0, 7, 2**63 - 1], dtype=np.int64), size=m.n_axons)
    assert_same_tables(m, far)
    # Values of any sign, wider than the weights.
    assert_same_tables(m, rng.integers(0, 3, m.n_axons), rng.integers(-5000, 5000, m.n_synapses))


def test_the_column_lookup_marks_cores_outside_the_mapping():
    core_ids = np.array([2, 9, 16], dtype=np.int64)
    got = routing._columns(core_ids, np.array([16, 2, 3, 9, 17, 0, 16, -4], dtype=np.int32))
    np.testing.assert_array_equal(got, [2, 0, -1, 1, -1, -1, 2, -1])
    assert got.dtype == np.int32
    # Core ids too far apart for a table from id to column: a binary search instead.
    far = np.array([2, 9, 2**40], dtype=np.int64)
    got = routing._columns(far, np.array([2**40, 9, 5, 2, 2**40 + 1], dtype=np.int64))
    np.testing.assert_array_equal(got, [2, 1, -1, 0, -1])
    assert got.dtype == np.int32


@pytest.mark.parametrize("by_pair", [True, False])
def test_both_ways_of_counting_hops_give_the_twins_tables(by_pair, monkeypatch):
    """Hops from a table over pairs of used cores, or route by route (each is chosen by
    size; here both are forced on the same mappings, with routes between two chips)."""
    chip = LOIHI.with_system(2, 1, "user: tests, two chips for inter-chip hops")
    original = routing._hop_table
    used = []

    def forced(*args):
        used.append(by_pair)
        return original(*args, by_pair=by_pair)

    monkeypatch.setattr(routing, "_hop_table", forced)
    interchip = 0
    for seed in range(4):
        m, _, _ = random_case(seed, chip)
        assert_same_tables(m)
        interchip += int(twin_tables(m)["src"][:, routing.HOPS_IC].sum())
    assert used == [by_pair] * 4
    assert interchip > 0  # some routes cross between the chips


def test_a_mapping_array_of_another_integer_type_is_read_or_refused():
    """The compiled passes index with the Mapping's arrays unchecked, so an array of
    another dtype is converted only when no value changes."""
    m, _, _ = random_case(2, TINY)
    wide = dataclasses.replace(m, syn_target=m.syn_target.astype(np.int64))
    want = twin_tables(m)
    rt, _ = routing_tables(wide)
    np.testing.assert_array_equal(rt.syn, want["syn"])
    target = m.syn_target.astype(np.int64)
    target[0] += 2**32  # the same int32 after a wrapping cast
    with pytest.raises(UsageError, match="array 'syn_target' holds values that are not int32"):
        routing_tables(dataclasses.replace(m, syn_target=target))


@pytest.mark.parametrize("example,chip", [("chain", "loihi"), ("mnist_mlp", "loihi"),
                                          ("encoders", "loihi"), ("mnist_mlp", "truenorth")])
def test_the_examples_give_the_twins_tables(example, chip, monkeypatch):
    """What each family's ``prepare`` gets from ``routing_tables`` for a compiled example."""
    import importlib

    import neurocomp as nc

    m = nc.compile(ROOT / "examples" / f"{example}.snn", chip)
    kernel = importlib.import_module(f"neurocomp.targets.{chip}.kernel")
    calls = []

    def recording(mapping, axon_class=None, syn_value=None):
        calls.append((mapping, axon_class, syn_value))
        return routing_tables(mapping, axon_class, syn_value)

    monkeypatch.setattr(kernel, "routing_tables", recording)
    kernel.prepare(m)
    assert len(calls) == 1 and calls[0][0] is m
    assert_same_tables(*calls[0])


@pytest.mark.parametrize("seed", range(4))
def test_loihi_parameter_runs_match_the_obvious_build(seed):
    """``_segments`` (Loihi's runs of equal parameter rows per core) against the plain
    way: every row's index among the sorted distinct rows, then the runs core by core."""
    from neurocomp.targets.loihi.kernel import _segments

    rng = np.random.default_rng(seed)
    # runs of a few repeated rows drawn from a small pool, so that rows recur apart
    pool = rng.integers(-3, 4, size=(5, 6))
    rows = np.concatenate([np.repeat(pool[rng.integers(0, 5)][None], rng.integers(1, 60), axis=0)
                           for _ in range(30)])
    cuts = np.sort(rng.choice(np.arange(1, rows.shape[0]), size=4, replace=False))
    ptr = np.concatenate([[0], cuts, [rows.shape[0]]]).astype(np.int64)
    got = _segments(rows, ptr, min_run=8)
    distinct = sorted({tuple(r) for r in rows.tolist()})
    np.testing.assert_array_equal(got["cfg"], np.array(distinct, dtype=np.int64))
    index = {r: i for i, r in enumerate(distinct)}
    seg_ptr, starts, stops, cfgs = [0], [], [], []
    for j in range(ptr.size - 1):
        ids = [index[tuple(r)] for r in rows[ptr[j]:ptr[j + 1]].tolist()]
        runs = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
        if ids and len(ids) >= 8 * len(runs):
            starts += runs
            stops += runs[1:] + [len(ids)]
            cfgs += [ids[i] for i in runs]
        seg_ptr.append(len(starts))
    assert seg_ptr[-1] > 0  # some core takes the runs
    for name, want in (("core_seg_ptr", seg_ptr), ("seg_start", starts), ("seg_stop", stops),
                       ("seg_cfg", cfgs)):
        np.testing.assert_array_equal(got[name], np.array(want, dtype=np.int64), err_msg=name)


def test_an_axon_no_route_reaches_counts_in_the_bounds_not_in_the_packing():
    """A synapse of an axon that no route reaches is never delivered: its value does not
    widen the packed synapses (the flat list's values), yet the row bound counts it."""
    m, _, _ = random_case(7, TINY)
    core = int(m.comp_core[0])
    big = 2**20  # wider than any weight of the random case
    lonely = dataclasses.replace(
        m, axon_core=np.append(m.axon_core, np.int32(core)),
        axon_projection=np.append(m.axon_projection, np.int32(0)),
        axon_weight_exp=np.append(m.axon_weight_exp, np.int8(0)),
        axon_type=np.append(m.axon_type, np.int8(0)),
        axon_syn_ptr=np.append(m.axon_syn_ptr, m.n_synapses + 1),
        syn_target=np.append(m.syn_target, np.int32(0)),
        syn_weight=np.append(m.syn_weight, np.int32(big)),
        syn_delay=np.append(m.syn_delay, np.int16(0)))
    assert lonely.n_axons == m.n_axons + 1 and big not in lonely.syn_weight[:m.n_synapses]
    rt, info = routing_tables(lonely)
    assert rt.syn_vbits < 21 and info.acc_dtype == np.int32  # 2**20 into one row
    assert_same_tables(lonely)


def test_the_threaded_passes_give_the_twins_tables(monkeypatch):
    """Above ``BUILD_THREADS_FROM`` synapses the passes over synapses run on threads (here
    forced on small mappings, with three pieces: more than this machine's cores need not
    be, the pieces are fixed): the same tables, wide values and delays included, and the
    same first synapse refused."""
    calls = []
    for name in ("_synapse_pieces", "_flatten_threads"):
        original = getattr(routing, name)
        monkeypatch.setattr(routing, name,
                            lambda *a, _f=original, _n=name: (calls.append(_n), _f(*a))[1])
    monkeypatch.setattr(routing, "BUILD_THREADS_FROM", 0)
    monkeypatch.setattr(routing.numba, "get_num_threads", lambda: 3)
    chip = LOIHI.with_system(2, 1, "user: tests, two chips for inter-chip hops")
    for seed in range(3):
        m, _, _ = random_case(seed, chip)
        assert_same_tables(m)
        rng = np.random.default_rng(seed)
        assert_same_tables(m, rng.integers(0, 3, m.n_axons), rng.integers(-5000, 5000, m.n_synapses))
    assert calls.count("_flatten_threads") == 6 and calls.count("_synapse_pieces") == 6
    # a synapse onto another core than its axon's, late in the list: found all the same
    m, _, _ = random_case(1, chip)
    target = m.syn_target.copy()
    k = m.n_synapses - 1
    a = int(np.searchsorted(m.axon_syn_ptr, k, side="right") - 1)
    other = np.flatnonzero(np.asarray(m.comp_core) != m.axon_core[a])[0]
    target[k] = other
    with pytest.raises(UsageError, match="targets a compartment on another core"):
        routing_tables(dataclasses.replace(m, syn_target=target))
