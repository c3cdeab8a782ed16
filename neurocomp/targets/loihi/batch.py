"""Many samples through one Loihi Mapping in one compiled call, bit-exact with :func:`kernel.run`.

Input: the tables of :func:`~neurocomp.targets.loihi.kernel.prepare` and one
:class:`~neurocomp.emulator.kernels.KernelInputs` per sample (same steps, probes and
strict flag). Output: one :class:`~neurocomp.emulator.kernels.KernelRun` per sample, equal
to what :func:`~neurocomp.targets.loihi.kernel.run` gives for it (spikes, counters,
probed traces, overflow records, the strict stop), or ``None`` when this path does not
apply (plastic projections, samples of different lengths, probes or strictness): the
caller then runs the samples one by one.

Why it is faster: the neuron update is the kernel's own (:func:`kernel._update_cores`,
imported, not copied), but a spike's synapses are added as *dense rows*. Per source and
delay, the synapses' values are laid out over the span of ``acc`` rows they reach
(summed where a source reaches one row twice, zero in the gaps): one contiguous,
vectorized add per piece instead of a scatter that decodes every synapse's row. Integer
addition into ``acc`` is modular in its dtype whatever the order, so summing a source's
synapses before adding them gives the same ``acc`` bit for bit. The counters of each
spike (messages, hops, spikes in, synaptic operations) are counted route by route as
:func:`~neurocomp.emulator.kernels.routing.count_routes` does (the same inlined helpers).
The input events of a step, where an :class:`InputMatrix` applies, are added as one
sum of their sources' rows (exact modulo ``acc``'s width, see there). And the samples
run in one call: the Python work per sample (the kernel's arguments, its compile check,
buffer resumptions) is paid once per batch.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from numba import njit

from ...emulator.kernels import KernelInputs, KernelRun, doubled
from ...emulator.kernels.routing import (HOPS_EAST_WEST, HOPS_INTERCHIP, HOPS_NORTH_SOUTH, MESSAGES_OUT,
                                         N_COUNTERS, SPIKES_IN, SYN_HI, SYN_LO, SYNOPS, _scatter, count_routes,
                                         count_sent, flush_received, gather_received)
from .kernel import VARIABLES, LoihiTables, _modes, _raise_overflow, _update_cores

__all__ = ["DenseRows", "InputMatrix", "dense_rows", "input_matrix", "spike_matrix", "run_batch"]

#: A source's synapses become dense rows when these hold at most this many values per
#: synapse (plus a few); past it the gaps would cost more than the scatter saves, and
#: the source's synapses are scattered one by one, as the kernel does.
MAX_FILL = 4

#: Per sample, state of at most this many bytes (counters, traces) is kept per call; a
#: larger batch runs in several calls.
CALL_BYTES = 64 << 20

#: A call takes samples of at most this many input events in all (as one int32 array;
#: at least one sample): the arrays of a call then stay under NumPy's 4 MiB, from
#: which it asks the kernel for huge pages, and on a box whose memory is fragmented
#: the kernel then compacts memory first (30-70 ms per 200 mnist_mlp samples measured
#: on a shared box, as system time, against ~5 ms for ordinary pages).
CALL_EVENTS = 1 << 19


@dataclass(frozen=True, eq=False)
class DenseRows:
    """Each source's synapses as pieces of dense rows of ``acc``.

    The pieces of source ``s`` are ``ptr[s] .. ptr[s + 1] - 1`` (none: its synapses, if
    any, are scattered from the routing tables, as the kernel does); piece ``q`` adds
    ``value[off[q] : off[q] + length[q]]`` to rows ``row0[q] ..`` of the slot of step
    ``t + 1 + delay[q]`` for a spike of step ``t``.
    """

    ptr: np.ndarray  # int64 [n_sources + 1]
    delay: np.ndarray  # int64 [n_pieces]
    row0: np.ndarray  # int64 [n_pieces]
    length: np.ndarray  # int64 [n_pieces]
    off: np.ndarray  # int64 [n_pieces]
    value: np.ndarray  # acc dtype [sum of lengths]


_DENSE: "weakref.WeakKeyDictionary[LoihiTables, DenseRows | None]" = weakref.WeakKeyDictionary()


def dense_rows(tables: LoihiTables) -> DenseRows:
    """The dense rows of ``tables``, built once per tables (sources whose rows would hold
    more than :data:`MAX_FILL` values per synapse have none: they are scattered)."""
    hit = _DENSE.get(tables)
    if hit is not None:
        return hit
    rt = tables.routing
    n_src = rt.src.shape[0]
    delays = rt.syn_delay if rt.syn_delay.size else np.zeros(0, dtype=np.int64)
    counts = np.zeros(2, dtype=np.int64)
    ptr = np.zeros(n_src + 1, dtype=np.int64)
    _count_pieces(rt.src, rt.syn, rt.syn_vbits, delays, rt.n_slots, float(MAX_FILL), ptr, counts)
    n_pieces = int(ptr[-1])
    delay, row0, length, off = (np.zeros(n_pieces, dtype=np.int64) for _ in range(4))
    value = np.zeros(int(counts[1]), dtype=tables.info.acc_dtype)
    _fill_pieces(rt.src, rt.syn, rt.syn_vbits, delays, rt.delay, rt.n_slots, ptr, delay, row0,
                 length, off, value)
    out = DenseRows(ptr=ptr, delay=delay, row0=row0, length=length, off=off, value=value)
    _DENSE[tables] = out
    return out


@dataclass(frozen=True, eq=False)
class InputMatrix:
    """What one event of a source adds, as one row of integers: the events of a step
    are delivered as the sum of their sources' rows. One matrix for the input sources
    (:func:`input_matrix`), one for the compartments' spikes (:func:`spike_matrix`).

    Row ``i`` is the matrix's source ``i`` (input source ``n_comp + i``, or compartment
    ``i``); columns ``piece_col[p] .. piece_col[p] + piece_len[p] - 1`` are its values
    for rows ``piece_row0[p] ..`` of ``acc`` in the slot of step ``t + 1 +
    piece_delay[p]``, and from ``count_col`` on, ``n_cols`` columns per counter of
    ``counters``, what one event adds to that counter per core column: spikes in and
    synaptic operations for an input (it has no core: it sends no message and crosses
    no link), also the sender's messages and hops for a spike; zeros after them, up to
    a whole number of 64-byte vectors.

    Why the sum is exact: the matrix has ``acc``'s dtype (int16 or int32), the value
    columns modulo its width; the step's sum is taken modulo that width and added into
    ``acc`` modulo it, as every add into ``acc`` is. Integer addition modulo ``2**k``
    gives the same result in any order and grouping, so adding the step's sum once
    equals adding each synapse in turn. The count columns are true counts: they are
    read as unsigned, and the rows are used only when a step's count cannot reach
    ``2**k`` (the most events of one step times :attr:`max_count`: checked per batch
    for inputs; for spikes, every compartment firing at once).
    (An int16 row holds twice as many values per vector instruction as int32.)

    The rows are read from memory (mnist_mlp's input matrix does not fit in L1), so
    they are stored in as few bytes as they allow: as int8 when every value column is a
    multiple of one integer ``scale`` whose quotients fit int8 and every count fits
    int8 (Loihi's signed weights are even: mnist_mlp's rows hold weight / 2), and
    summed in ``acc``'s dtype; the value columns of the sum are multiplied by ``scale``
    as they go into ``acc``. Exact for the same reason: multiplying by an integer
    commutes with addition modulo ``2**k``, so ``scale`` times the sum of the quotients
    equals the sum of the values, modulo ``2**k``. Otherwise ``matrix`` has ``acc``'s
    dtype and ``scale`` is 1.
    """

    matrix: np.ndarray  # int8 or acc dtype [n_inputs, width]
    piece_delay: np.ndarray  # int64 [n_pieces]
    piece_row0: np.ndarray  # int64
    piece_len: np.ndarray  # int64
    piece_col: np.ndarray  # int64
    count_col: int
    counters: np.ndarray  # int64: the counter of each group of n_cols count columns
    max_count: int  # the largest entry of the count columns
    fill: float  # mean number of adds into acc per input event without the matrix
    scale: int = 1  # what the value columns were divided by (int8 rows)


_MATRIX: "weakref.WeakKeyDictionary[LoihiTables, InputMatrix | None]" = weakref.WeakKeyDictionary()

#: The input matrix has at most this many entries (int32: 64 MB).
MAX_MATRIX = 1 << 24


def input_matrix(tables: LoihiTables, dr: DenseRows) -> InputMatrix | None:
    """The :class:`InputMatrix` of ``tables``' input sources (built once), or ``None``
    when it would be too large."""
    if tables not in _MATRIX:
        n_comp = tables.mapping.n_comp
        _MATRIX[tables] = _source_matrix(tables, dr, n_comp, tables.routing.src.shape[0], (SPIKES_IN, SYNOPS))
    return _MATRIX[tables]


def spike_matrix(tables: LoihiTables, dr: DenseRows) -> InputMatrix | None:
    """The :class:`InputMatrix` of ``tables``' compartments (built once): what one spike
    of each adds, its sender's messages and hops included; ``None`` when it would be
    too large or when a step's counts could reach ``2**bits`` of its dtype (every
    compartment firing at once)."""
    if tables not in _SPIKES:
        out = _source_matrix(tables, dr, 0, tables.mapping.n_comp, SENT + (SPIKES_IN, SYNOPS))
        bits = 8 * np.dtype(tables.info.acc_dtype).itemsize
        _SPIKES[tables] = out if out is not None and out.max_count * tables.mapping.n_comp < 2 ** bits else None
    return _SPIKES[tables]


#: The counters of a spike's sender core (:func:`count_sent`).
SENT = (MESSAGES_OUT, HOPS_EAST_WEST, HOPS_NORTH_SOUTH, HOPS_INTERCHIP)

_SPIKES: "weakref.WeakKeyDictionary[LoihiTables, InputMatrix | None]" = weakref.WeakKeyDictionary()


def _source_matrix(tables: LoihiTables, dr: DenseRows, s0: int, s1: int, counters: tuple[int, ...]
                   ) -> InputMatrix | None:
    """The :class:`InputMatrix` of sources ``s0 .. s1 - 1``, counting ``counters``."""
    rt = tables.routing
    n_in = s1 - s0
    n_cols = tables.info.n_cols
    # per extra delay, the rows the sources reach (compiled, before any array per
    # synapse: a large network's matrix is refused without one)
    lo = np.empty(rt.n_slots, dtype=np.int64)
    hi = np.empty(rt.n_slots, dtype=np.int64)
    _source_spans(rt.src, rt.syn, rt.syn_vbits, rt.syn_delay if rt.syn_delay.size else np.zeros(0, dtype=np.int64),
                  rt.n_slots, s0, s1, lo, hi)
    spans = [(d if rt.syn_delay.size else int(rt.delay), int(lo[d]), int(hi[d]) + 1)
             for d in range(rt.n_slots) if lo[d] <= hi[d]]
    dtype = np.dtype(tables.info.acc_dtype)
    # zero columns up to a whole number of 64-byte vectors: the row sum then has no
    # scalar remainder loop
    lanes = 64 // dtype.itemsize
    width = -(-(sum(b - a for _, a, b in spans) + len(counters) * n_cols) // lanes) * lanes
    if not n_in or n_in * width > MAX_MATRIX:
        return None
    # every synapse of every source: its source, acc row, value and delay
    lo_k = rt.src[s0:s1, SYN_LO]
    n_k = rt.src[s0:s1, SYN_HI] - lo_k
    src_of = np.repeat(np.arange(n_in, dtype=np.int64), n_k)
    k = np.arange(src_of.size, dtype=np.int64) + np.repeat(lo_k - (np.cumsum(n_k) - n_k), n_k)
    packed = rt.syn[k].astype(np.int64)
    rows = packed >> rt.syn_vbits
    shift = 64 - rt.syn_vbits
    vals = (packed << shift) >> shift
    delay = rt.syn_delay[k].astype(np.int64) if rt.syn_delay.size else np.full(k.size, rt.delay, np.int64)
    mat = np.zeros((n_in, width), dtype=np.int64)
    col = np.zeros(len(spans), dtype=np.int64)
    at = 0
    for p, (d, lo, hi) in enumerate(spans):
        col[p] = at
        at += hi - lo
        mine = delay == d
        np.add.at(mat, (src_of[mine], at - hi + rows[mine]), vals[mine])
    _count_matrix(rt, s0, s1, mat, at, n_cols, np.array(counters, dtype=np.int64))
    max_count = int(mat[:, at:].max()) if n_cols else 0
    if max_count >= 2 ** (8 * dtype.itemsize):
        return None
    # adds per event without the matrix: its dense rows, or its synapses
    q0, q1 = int(dr.ptr[s0]), int(dr.ptr[s1])
    scattered = dr.ptr[s0 + 1:s1 + 1] == dr.ptr[s0:s1]
    adds = int(dr.length[q0:q1].sum()) + int(n_k[scattered].sum())
    narrow, scale = _as_int8(mat, at)
    # astype wraps: the value columns modulo acc's width
    return InputMatrix(matrix=narrow if narrow is not None else mat.astype(dtype), scale=scale,
                       piece_delay=np.array([d for d, _, _ in spans], dtype=np.int64),
                       piece_row0=np.array([lo for _, lo, _ in spans], dtype=np.int64),
                       piece_len=np.array([hi - lo for _, lo, hi in spans], dtype=np.int64),
                       piece_col=col, count_col=at, counters=np.array(counters, dtype=np.int64),
                       max_count=max_count, fill=adds / n_in)


def _as_int8(mat: np.ndarray, at: int) -> tuple[np.ndarray | None, int]:
    """``mat`` (int64) as int8 rows and the scale of its value columns (the first
    ``at``): each value column divided by the value columns' greatest common divisor,
    the count columns as they are; ``(None, 1)`` when a quotient or a count does not
    fit int8 (:class:`InputMatrix`)."""
    scale = int(np.gcd.reduce(mat[:, :at].ravel())) if at and mat.size else 0
    scale = max(scale, 1)
    small = mat.copy()
    small[:, :at] //= scale  # exact: every value is a multiple of scale
    info = np.iinfo(np.int8)
    if small.size and (small.min() < info.min or small.max() > info.max):
        return None, 1
    return small.astype(np.int8), scale


@njit(cache=True)
def _count_matrix(rt, s0, s1, mat, at, n_cols, counters):
    """Per source ``s0 .. s1 - 1``, what :func:`count_routes` counts of ``counters`` for
    one of its events, from column ``at`` on (``n_cols`` per counter)."""
    cnt = np.zeros((N_COUNTERS, 1, n_cols), dtype=np.int64)
    for s in range(s0, s1):
        cnt[:] = 0
        count_routes(rt, s, 0, cnt)
        for i in range(counters.shape[0]):
            for j in range(n_cols):
                mat[s - s0, at + i * n_cols + j] = cnt[counters[i], 0, j]


@njit(cache=True, no_cpython_wrapper=True)
def _spans(src, syn, vbits, delays, n_slots, s, lo, hi):
    """Per extra delay, the lowest and highest row source ``s``'s synapses reach
    (``lo[d] > hi[d]``: none)."""
    for d in range(n_slots):
        lo[d] = np.int64(1) << 62
        hi[d] = -1
    for k in range(src[s, SYN_LO], src[s, SYN_HI]):
        r = np.int64(syn[k]) >> vbits
        d = np.int64(delays[k]) if delays.shape[0] else 0
        lo[d] = min(lo[d], r)
        hi[d] = max(hi[d], r)


@njit(cache=True)
def _source_spans(src, syn, vbits, delays, n_slots, s0, s1, lo, hi):
    """:func:`_spans` over sources ``s0 .. s1 - 1`` together."""
    a = np.empty(n_slots, dtype=np.int64)
    b = np.empty(n_slots, dtype=np.int64)
    for d in range(n_slots):
        lo[d] = np.int64(1) << 62
        hi[d] = -1
    for s in range(s0, s1):
        _spans(src, syn, vbits, delays, n_slots, s, a, b)
        for d in range(n_slots):
            lo[d] = min(lo[d], a[d])
            hi[d] = max(hi[d], b[d])


@njit(cache=True)
def _count_pieces(src, syn, vbits, delays, n_slots, max_fill, ptr, counts):
    """``ptr`` (pieces per source, as a CSR pointer) and ``counts[1]``, the values; a
    source whose pieces would hold more than ``max_fill`` values per synapse gets none."""
    lo = np.empty(n_slots, dtype=np.int64)
    hi = np.empty(n_slots, dtype=np.int64)
    for s in range(src.shape[0]):
        _spans(src, syn, vbits, delays, n_slots, s, lo, hi)
        n = 0
        size = 0
        for d in range(n_slots):
            if lo[d] <= hi[d]:
                n += 1
                size += hi[d] - lo[d] + 1
        if size > max_fill * (src[s, SYN_HI] - src[s, SYN_LO]) + 8:
            n = 0
            size = 0
        counts[1] += size
        ptr[s + 1] = ptr[s] + n


@njit(cache=True)
def _fill_pieces(src, syn, vbits, delays, delay0, n_slots, ptr, delay, row0, length, off, value):
    lo = np.empty(n_slots, dtype=np.int64)
    hi = np.empty(n_slots, dtype=np.int64)
    at = 0
    shift = 64 - vbits
    for s in range(src.shape[0]):
        if ptr[s + 1] == ptr[s]:
            continue  # scattered
        _spans(src, syn, vbits, delays, n_slots, s, lo, hi)
        q = ptr[s]
        for d in range(n_slots):
            if lo[d] <= hi[d]:
                delay[q] = d if delays.shape[0] else delay0
                row0[q] = lo[d]
                length[q] = hi[d] - lo[d] + 1
                off[q] = at
                at += hi[d] - lo[d] + 1
                q += 1
        for k in range(src[s, SYN_LO], src[s, SYN_HI]):
            p = np.int64(syn[k])
            d = np.int64(delays[k]) if delays.shape[0] else 0
            # the piece of delay d of this source: count the delays below it
            q = ptr[s]
            for e in range(d):
                if lo[e] <= hi[e]:
                    q += 1
            # modular in the acc dtype, as every add into acc is
            value[off[q] + (p >> vbits) - row0[q]] += (p << shift) >> shift


@njit(cache=True, no_cpython_wrapper=True)
def _deliver_dense(rt, dr_ptr, dr_delay, dr_row0, dr_len, dr_off, dr_val, sources, lo, hi, t,
                   acc, acc_flat, n_rows, cnt, inc):
    """The effect of ``routing.deliver_many`` for ``sources[lo:hi]`` at step ``t``, the
    synapses added as dense rows (module docstring). ``inc`` (int64 ``[n_cols]``, zero)
    gathers the receiving cores' counts, as ``deliver_many`` does."""
    n_slots = rt.n_slots
    base_slot = (t + 1) % n_slots
    for e in range(lo, hi):
        s = sources[e]
        count_sent(rt, s, t, cnt)
        gather_received(rt, s, inc)
        if dr_ptr[s] == dr_ptr[s + 1]:
            _scatter(rt, rt.src[s, SYN_LO], rt.src[s, SYN_HI], t, acc)
            continue
        for q in range(dr_ptr[s], dr_ptr[s + 1]):
            slot = base_slot + dr_delay[q]  # < 2 * n_slots: a subtraction, not a modulo
            if slot >= n_slots:
                slot -= n_slots
            base = np.uint64(slot * n_rows + dr_row0[q])
            o = np.uint64(dr_off[q])
            for i in range(np.uint64(dr_len[q])):
                acc_flat[base + i] += dr_val[o + i]
    flush_received(inc, t, cnt)


@njit(cache=True, no_cpython_wrapper=True)
def _add_rows(m_flat, width, sources, lo, hi, offset, row):
    """Add to ``row`` the rows ``sources[lo:hi] - offset`` of a matrix of ``width``
    columns (``m_flat``: the matrix, flat), modulo their dtype's width. Its own function,
    not inlined, so that the add compiles to wide vector instructions (it does not
    inside the large loop); eight rows per pass, so that ``row`` is read and written an
    eighth as often (the rows come from L2: mnist_mlp's matrix is 250 kB)."""
    e = lo
    # unsigned offsets: no test for negative indices, so the adds vectorize
    while e + 8 <= hi:
        a = np.uint64(sources[e] - offset) * width
        b = np.uint64(sources[e + 1] - offset) * width
        c = np.uint64(sources[e + 2] - offset) * width
        d = np.uint64(sources[e + 3] - offset) * width
        a2 = np.uint64(sources[e + 4] - offset) * width
        b2 = np.uint64(sources[e + 5] - offset) * width
        c2 = np.uint64(sources[e + 6] - offset) * width
        d2 = np.uint64(sources[e + 7] - offset) * width
        for i in range(width):
            row[i] += (((m_flat[a + i] + m_flat[b + i]) + (m_flat[c + i] + m_flat[d + i]))
                       + ((m_flat[a2 + i] + m_flat[b2 + i]) + (m_flat[c2 + i] + m_flat[d2 + i])))
        e += 8
    while e < hi:
        a = np.uint64(sources[e] - offset) * width
        for i in range(width):
            row[i] += m_flat[a + i]
        e += 1


@njit(cache=True, inline="always")
def _add_events(m_flat, width, sources, lo, hi, offset, row, m_delay, m_row0, m_len, m_col, m_count,
                m_counters, m_scale, t, acc_flat, n_rows, n_slots, cnt_b, n_cols):
    """Deliver the events ``sources[lo:hi]`` of step ``t`` through an :class:`InputMatrix`
    (flat in ``m_flat``; its source ``i`` is ``offset + i``): the sum of their rows in
    ``row`` (``acc``'s dtype), then that sum times ``m_scale`` into ``acc`` (modulo its
    width, as every add into it) and the counters."""
    row[:] = 0
    _add_rows(m_flat, width, sources, lo, hi, offset, row)
    for p in range(m_delay.shape[0]):
        base = np.uint64(((t + 1 + m_delay[p]) % n_slots) * n_rows + m_row0[p])
        c = np.uint64(m_col[p])
        for i in range(np.uint64(m_len[p])):
            acc_flat[base + i] += row[c + i] * m_scale
    unsigned = (np.int64(1) << (8 * row.itemsize)) - 1  # a count column, read as unsigned
    for k in range(m_counters.shape[0]):
        c = m_count + k * n_cols
        for j in range(n_cols):
            cnt_b[m_counters[k], t, j] += np.int64(row[c + j]) & unsigned


@njit(cache=True)
def _run_samples(b, t, n_spikes, spike_t, spike_c, sample_ptr, dr_ptr, dr_delay, dr_row0, dr_len,
                 dr_off, dr_val, rt, acc, acc_flat, cnt, u, v, ref, f_u, f_v, bias, vth, refractory,
                 block_exp, core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv, cfg_bias,
                 cfg_vth, cfg_refr, cfg_relay, core_relay_ptr, relay_local, decay_bits, input_shift,
                 half_u, half_v, wrap_u, wrap_v, ge, strict, in_ptr, in_src, probe, u_out, v_out,
                 ovf, first, m_rows, m_delay, m_row0, m_len, m_col, m_count, m_counters, m_scale, c_rows,
                 c_delay, c_row0, c_len, c_col, c_count, c_counters, c_scale):
    """Run samples ``b ..`` from step ``t`` of sample ``b`` (state of sample ``b`` in
    ``u``/``v``/``ref``/``acc``; a sample at step 0 starts from rest).

    Returns ``(b, t, n_spikes, stopped)``: where to go on (``b`` = the number of samples
    when done; earlier when the spike buffer might not hold step ``t``: call again with a
    bigger one), and whether strict mode stopped sample ``b`` at step ``t``. Sample ``k``'s
    spikes are ``sample_ptr[k] .. sample_ptr[k + 1] - 1``.

    With ``m_rows`` (the :class:`InputMatrix`'s rows), the input events of a step are
    delivered as the sum of their sources' rows; with none (no rows), one by one as
    dense rows.
    """
    n_cols = rt.core_comp_ptr.shape[0] - 1
    n_comp = rt.comp_col.shape[0]
    n_rows = acc.shape[1]
    max_core = 1
    for j in range(n_cols):
        max_core = max(max_core, rt.core_comp_ptr[j + 1] - rt.core_comp_ptr[j])
    a_in = np.zeros(max_core, dtype=np.int64)
    had = np.zeros(max_core, dtype=np.uint8)
    flags8 = np.zeros((max_core + 7) // 8, dtype=np.uint64)
    flags = flags8.view(np.uint8)
    inc = np.zeros(n_cols, dtype=np.int64)
    width = np.uint64(m_rows.shape[1])
    m_flat = m_rows.reshape(-1)
    row = np.zeros(width, dtype=acc.dtype)  # the sums: acc's dtype, whatever the rows'
    c_width = np.uint64(c_rows.shape[1])
    c_flat = c_rows.reshape(-1)
    c_row = np.zeros(c_width, dtype=acc.dtype)
    cap = spike_t.shape[0]
    n_slots = rt.n_slots
    n_samples = in_ptr.shape[0]
    steps = in_ptr.shape[1] - 1
    while b < n_samples:
        if t == 0:
            u[:] = 0
            v[:] = 0
            ref[:] = 0
            acc_flat[:] = 0
            sample_ptr[b] = n_spikes
        cnt_b = cnt[b]
        ovf_b = ovf[b]
        first_b = first[b]
        while t < steps:
            if n_spikes + n_comp > cap:
                return b, t, n_spikes, False
            step_start = n_spikes
            n_spikes, stop = _update_cores(
                t, t % n_slots, rt, acc, cnt_b, u, v, ref, f_u, f_v, bias, vth, refractory,
                block_exp, core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv, cfg_bias,
                cfg_vth, cfg_refr, cfg_relay, core_relay_ptr, relay_local, decay_bits,
                input_shift, half_u, half_v, wrap_u, wrap_v, ge, strict, a_in, had, flags,
                flags8, spike_t, spike_c, n_spikes, ovf_b, first_b)
            if stop:
                sample_ptr[b + 1] = n_spikes
                return b, t, n_spikes, True
            if c_rows.shape[0]:
                # the step's spikes: the sum of their compartments' rows (spike_matrix)
                _add_events(c_flat, c_width, spike_c, step_start, n_spikes, 0, c_row, c_delay, c_row0,
                            c_len, c_col, c_count, c_counters, c_scale, t, acc_flat, n_rows, n_slots, cnt_b, n_cols)
            else:
                _deliver_dense(rt, dr_ptr, dr_delay, dr_row0, dr_len, dr_off, dr_val, spike_c,
                               step_start, n_spikes, t, acc, acc_flat, n_rows, cnt_b, inc)
            for k in range(probe.shape[0]):
                u_out[b, t, k] = u[probe[k]]
                v_out[b, t, k] = v[probe[k]]
            if m_rows.shape[0]:
                # the step's input events: the sum of their sources' rows (input_matrix)
                _add_events(m_flat, width, in_src, in_ptr[b, t], in_ptr[b, t + 1], n_comp, row, m_delay,
                            m_row0, m_len, m_col, m_count, m_counters, m_scale, t, acc_flat, n_rows, n_slots,
                            cnt_b, n_cols)
            else:
                _deliver_dense(rt, dr_ptr, dr_delay, dr_row0, dr_len, dr_off, dr_val, in_src,
                               in_ptr[b, t], in_ptr[b, t + 1], t, acc, acc_flat, n_rows, cnt_b, inc)
            t += 1
        sample_ptr[b + 1] = n_spikes
        b += 1
        t = 0
    return b, 0, n_spikes, False


def run_batch(tables: LoihiTables, inputs: Sequence[KernelInputs]) -> list[KernelRun] | None:
    """:func:`kernel.run` of every sample of ``inputs``, in one compiled call per
    :data:`CALL_BYTES` of per-sample state; ``None`` when this path does not apply
    (module docstring). The samples share ``steps``, ``probe_comp`` and ``strict``;
    progress callbacks are not called (the caller reports per sample).

    Raises
    ------
    EmulationError
        In strict mode, the error :func:`kernel.run` raises for the first sample that
        overflows.
    """
    if tables.plastic or not inputs:
        return None
    first_in = inputs[0]
    steps = int(first_in.steps)
    probe = np.ascontiguousarray(first_in.probe_comp, dtype=np.int64)
    if any(int(x.steps) != steps or bool(x.strict) != bool(first_in.strict)
           or not np.array_equal(x.probe_comp, probe) for x in inputs):
        return None
    dr = dense_rows(tables)
    per_sample = (N_COUNTERS * tables.info.n_cols + 2 * probe.size + 2) * 8 * max(steps, 1)
    size = max(1, CALL_BYTES // per_sample)
    events = np.array([int(x.in_ptr[steps]) - int(x.in_ptr[0]) for x in inputs], dtype=np.int64)
    runs: list[KernelRun] = []
    lo = 0
    while lo < len(inputs):
        # up to `size` samples and CALL_EVENTS events (at least one sample)
        hi = min(lo + size, len(inputs))
        hi = min(hi, max(lo + 1, lo + int(np.searchsorted(np.cumsum(events[lo:hi]), CALL_EVENTS, side="right"))))
        runs += _run_part(tables, dr, inputs[lo:hi], steps, probe, bool(first_in.strict))
        lo = hi
    return runs


_NONE = np.zeros(0, dtype=np.int64)


def _rows_dtype(tb: LoihiTables, *mats: InputMatrix | None) -> np.dtype:
    """One dtype for the rows of both matrices: int8 when each of them is (or absent),
    else ``acc``'s: one compiled :func:`_run_samples` per pair of dtypes, and no more."""
    if all(mat is None or mat.matrix.dtype == np.int8 for mat in mats):
        return np.dtype(np.int8)
    return np.dtype(tb.info.acc_dtype)


def _widened(mat: InputMatrix, dtype: np.dtype) -> InputMatrix:
    """``mat`` with rows of ``dtype`` (``acc``'s) and scale 1: its value columns times
    its scale, modulo the dtype's width, as :func:`_source_matrix` stores them."""
    wide = mat.matrix.astype(np.int64)
    wide[:, :mat.count_col] *= mat.scale
    return replace(mat, matrix=wide.astype(dtype), scale=1)

#: The events of a step (input events; compartments' spikes) are delivered as the sum
#: of their sources' :class:`InputMatrix` rows when a row holds at most this many values
#: per add that delivering an event one by one makes (its dense rows or scattered
#: synapses), plus one vector: the rows are summed in one contiguous, vectorized loop
#: per event, with no route counting and no acc index per piece. mnist_mlp's input rows
#: hold 1.2x their adds (160 values for 138), its spike rows 3.5x (32 for 9.2).
MATRIX_FILL = 2.0


def _matrix_args(mat: InputMatrix | None, dtype: np.dtype) -> tuple:
    """``mat`` as :func:`_run_samples` takes it, its rows of ``dtype`` (no rows: none)."""
    if mat is None:
        return np.zeros((0, 0), dtype=dtype), _NONE, _NONE, _NONE, _NONE, 0, _NONE, 1
    if mat.matrix.dtype != dtype:
        mat = _widened(mat, dtype)
    return (mat.matrix, mat.piece_delay, mat.piece_row0, mat.piece_len, mat.piece_col, mat.count_col, mat.counters,
            mat.scale)


def _narrow(tb: LoihiTables, mat: InputMatrix | None) -> bool:
    """Whether ``mat``'s rows are not much wider than the adds one event makes without
    them (:data:`MATRIX_FILL`, plus one vector of ``acc``'s dtype, in which they are summed)."""
    return mat is not None and mat.matrix.shape[1] <= MATRIX_FILL * mat.fill + 64 // _acc_bytes(tb)


def _acc_bytes(tb: LoihiTables) -> int:
    return np.dtype(tb.info.acc_dtype).itemsize


def _spike_rows(tb: LoihiTables, dr: DenseRows) -> InputMatrix | None:
    """The :func:`spike_matrix` through which the compartments' spikes are delivered, or
    ``None`` (one by one as dense rows)."""
    mat = spike_matrix(tb, dr)
    return mat if _narrow(tb, mat) else None


def _input_rows(tb: LoihiTables, dr: DenseRows, in_ptr: np.ndarray) -> InputMatrix | None:
    """The :class:`InputMatrix` through which the input events of ``in_ptr`` (one CSR
    by step per sample) are delivered, or ``None`` (one by one as dense rows): when it
    exists, its rows are not much wider than an event's own adds, and no step's counts
    can reach ``2**bits`` of the rows' dtype (where an unsigned read of them would wrap)."""
    mat = input_matrix(tb, dr)
    if not _narrow(tb, mat) or in_ptr.shape[1] < 2:
        return None
    most = int(np.diff(in_ptr, axis=1).max())
    if most * mat.max_count >= 2 ** (8 * _acc_bytes(tb)):
        return None
    return mat


def _run_part(tb: LoihiTables, dr: DenseRows, inputs: Sequence[KernelInputs], steps: int,
              probe: np.ndarray, strict: bool) -> list[KernelRun]:
    n = tb.mapping.n_comp
    n_samples = len(inputs)
    in_ptr = np.empty((n_samples, steps + 1), dtype=np.int64)
    at = 0
    for k, x in enumerate(inputs):
        in_ptr[k] = np.asarray(x.in_ptr[:steps + 1], dtype=np.int64) + (at - int(x.in_ptr[0]))
        at += int(x.in_ptr[steps]) - int(x.in_ptr[0])
    # source ids as int32, as the spikes' compartments are (half the bytes to copy and
    # read; one compiled variant of the delivery for both)
    ids = np.int32 if tb.routing.src.shape[0] < 2 ** 31 else np.int64
    in_src = np.concatenate([x.in_src[int(x.in_ptr[0]):int(x.in_ptr[steps])] for x in inputs], dtype=ids,
                            casting="unsafe") if at else np.zeros(0, dtype=ids)
    mat = _input_rows(tb, dr, in_ptr)
    spikes = _spike_rows(tb, dr)
    dtype = _rows_dtype(tb, mat, spikes)
    u = np.zeros(n, dtype=tb.state_dtype)
    v = np.zeros(n, dtype=tb.state_dtype)
    ref = np.zeros(n, dtype=tb.refractory.dtype)
    acc = np.zeros(tb.info.acc_shape, dtype=tb.info.acc_dtype)
    cnt = np.zeros((n_samples, N_COUNTERS, steps, tb.info.n_cols), dtype=np.int64)
    u_out = np.zeros((n_samples, steps, probe.size), dtype=np.int64)
    v_out = np.zeros((n_samples, steps, probe.size), dtype=np.int64)
    ovf = np.zeros((n_samples, 4), dtype=np.int64)
    first = np.full((n_samples, 4, 2), -1, dtype=np.int64)
    sample_ptr = np.zeros(n_samples + 1, dtype=np.int64)
    # Room for a quarter of every compartment firing every step: resumed (twice as
    # big) when a step might not fit.
    cap = max(1024, 2 * n, min(n_samples * steps * n // 4 + n, 1 << 22))
    spike_t = np.empty(cap, dtype=np.int64)
    spike_c = np.empty(cap, dtype=np.int32)
    args = (dr.ptr, dr.delay, dr.row0, dr.length, dr.off, dr.value, tb.routing, acc, acc.reshape(-1), cnt,
            u, v, ref, tb.f_u, tb.f_v, tb.bias, tb.vth, tb.refractory, tb.block_exp, tb.core_seg_ptr,
            tb.seg_start, tb.seg_stop, tb.seg_cfg, *(np.ascontiguousarray(tb.cfg[:, i]) for i in range(6)),
            tb.core_relay_ptr, tb.relay_local, tb.decay_bits, tb.input_shift, tb.half_u, tb.half_v,
            *_modes(tb), tb.ge, strict, in_ptr, in_src, probe, u_out, v_out, ovf, first,
            *_matrix_args(mat, dtype), *_matrix_args(spikes, dtype))
    _run_samples(n_samples, 0, 0, spike_t, spike_c, sample_ptr, *args)  # compile (or load) untimed
    start = time.perf_counter()
    b, t, n_spikes, stopped = 0, 0, 0, False
    while True:
        b, t, n_spikes, stopped = _run_samples(b, t, n_spikes, spike_t, spike_c, sample_ptr, *args)
        if stopped or b >= n_samples:
            break
        spike_t, spike_c = doubled(spike_t, spike_c)
    wall_s = (time.perf_counter() - start) / n_samples
    if stopped:
        code = int(np.flatnonzero(first[b, :, 0] >= 0)[0])
        _raise_overflow(tb, VARIABLES[code % 2], int(first[b, code, 0]), int(first[b, code, 1]),
                        "ceiling" if code >= 2 else "floor")
    runs = []
    # the samples' spikes: views of one copy of the batch's spikes (not a copy each)
    spike_t = spike_t[:n_spikes].copy()
    spike_c = spike_c[:n_spikes].astype(np.int64)
    for k in range(n_samples):
        lo, hi = int(sample_ptr[k]), int(sample_ptr[k + 1])
        o, f = ovf[k], first[k]
        runs.append(KernelRun(
            spike_step=spike_t[lo:hi], spike_comp=spike_c[lo:hi],
            counters=cnt[k], core_ids=tb.info.core_ids, traces={"u": u_out[k], "v": v_out[k]},
            overflows={f"{name}@{bound}": int(o[i + off]) for i, name in enumerate(VARIABLES)
                       for off, bound in ((0, "floor"), (2, "ceiling")) if o[i + off]},
            first_overflow={f"{name}@{bound}": (int(f[i + off, 0]), int(f[i + off, 1]))
                            for i, name in enumerate(VARIABLES)
                            for off, bound in ((0, "floor"), (2, "ceiling")) if f[i + off, 0] >= 0},
            wall_s=wall_s))
    return runs
