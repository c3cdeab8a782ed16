"""The Loihi core (``loihi_cuba_lif``), bit-exact with Lava's bit-accurate LIF and Dense.

Every width, offset and shift comes from the chip (``chip.numerics``); the names below
are those of ``chips/loihi.toml`` and the values in brackets are Loihi's. ``D`` =
``decay.bits`` [12], ``S_in`` = ``input_shift`` [6], ``S_th`` = ``threshold.shift``
[6], ``H_u = 2**(state.u.bits - 1)`` [2**23], ``H_v = 2**(state.v.bits - 1)`` [2**23].

Per compartment and step ``t``, in this order (all integers, no rounding but the ones
written; ``trunc`` rounds toward zero, sign-magnitude: ``trunc(p) = sign(p)·(|p| >> D)``)::

    a_in = Σ_classes shift(acc_class, e_class)        # Dense: per projection, see below
    u    = trunc(u · (2**D − (du + offset_u))) + (a_in << S_in)
    u    = wrap_u(u)                                   # or saturate, per state.u.overflow
    if refractory counter > 0:
        v = 0; counter −= 1                            # held, cannot fire (u integrates)
    else:
        v = trunc(v · (2**D − (dv + offset_v))) + u + B,  B = bias_mant << bias_exp
        v = saturate_v(v)                              # or wrap, per state.v.overflow
        if v > (vth_mant << S_th):                     # '>=' if threshold_compare says so
            fire; v = 0 (u is kept); counter = refractory

``wrap(x)`` is Lava's rule ``x > H: x −= 2H; x <= −H: x += 2H``, extended modulo ``2H``
into ``(−H, H]`` for an input that jumps more than one period; ``saturate(x)`` clips to
``±(H − 1)``. ``B`` is ``bias_mant >> −bias_exp`` (arithmetic) for a negative exponent.

Dense (the synaptic input): each projection sums the integer weights of the synapses
that delivered for step ``t`` and shifts that sum by its weight exponent ``e`` (``<< e``,
or arithmetic ``>> −e`` = floor for ``e < 0``); the shifted sums of all projections are
added. Because a left shift distributes over a sum, projections with one exponent
``e >= 0`` share one accumulator class; each projection with ``e < 0`` has its own.
A spike sent at step ``t`` through a synapse of delay ``d`` is in ``acc`` of step
``t + 1 + d``. ``refractory = 0`` and ``d = 0`` everywhere are Lava's model (which has
neither); Loihi has both.

Active updates (``Counters``): a compartment is active in a step when its input
``a_in`` is nonzero, ``u`` or ``v`` was nonzero at the start of the step, its bias is
nonzero or it is refractory -- exactly when its update can change anything (an
inactive compartment stays at ``u = v = 0`` and does not fire; '>=' thresholds of 0
count as active). A relay is active when a spike reached it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from ...diagnostics import EmulationError, UsageError
from ...emulator.kernels import (KernelInputs, KernelRun, doubled, overflow_sentence, spike_buffers,
                                 run_resumable, where_is)
from ...emulator.kernels.routing import (N_COUNTERS, SPIKES_OUT, UPDATES_ACTIVE, UPDATES_INACTIVE, Routing,
                      RoutingInfo, deliver_many, narrowest_int, routing_tables)
from . import learning as lrn

__all__ = ["VARIABLES", "LoihiTables", "prepare", "run",
           "overflow_message"]

VARIABLES = ("u", "v")  # codes 0, 1 in the kernel's overflow records

_OVERFLOW_CODES = {"wrap": 0, "saturate": 1}


@dataclass(frozen=True, eq=False)
class LoihiTables:
    """Everything one Mapping needs, built once by :func:`prepare` and reused per run."""

    mapping: Any
    routing: Routing
    info: RoutingInfo
    f_u: np.ndarray  # int16/int32 [n_comp]: 2**D - (du + offset_u)
    f_v: np.ndarray  # int16/int32 [n_comp]: 2**D - (dv + offset_v)
    bias: np.ndarray  # int32 [n_comp]: bias_mant shifted by bias_exp
    vth: np.ndarray  # int32 [n_comp]: vth_mant << threshold.shift
    refractory: np.ndarray  # int8/int16 [n_comp]
    block_exp: np.ndarray  # int64 [n_blocks]: weight exponent of each accumulator class
    # Runs of compartments sharing every parameter (a config), per core; a core whose
    # runs are short has none and is updated from the per-compartment arrays.
    core_seg_ptr: np.ndarray  # int64 [n_cols + 1]
    seg_start: np.ndarray  # int64 [n_seg], index within the core
    seg_stop: np.ndarray  # int64 [n_seg]
    seg_cfg: np.ndarray  # int64 [n_seg]
    cfg: np.ndarray  # int64 [n_cfg, 6]: f_u, f_v, bias, vth, refractory, relay
    core_relay_ptr: np.ndarray  # int64 [n_cols + 1]: the relays of column j are
    relay_local: np.ndarray  # int64: ... relay_local[ptr[j]:ptr[j+1]], indices in the core
    # scalars: decay bits, input shift, u/v half ranges and overflow modes, '>=' flag
    decay_bits: int
    input_shift: int
    half_u: int
    half_v: int
    wrap_u: int
    wrap_v: int
    ge: bool
    state_dtype: np.dtype  # int64 (see prepare)
    plastic: tuple = ()  # learning.PlasticTables of each plastic projection


def _param(mapping, key: str) -> np.ndarray:
    params = mapping.params
    if key not in params:
        raise UsageError(f"the Mapping has no Loihi parameter '{key}'",
                         hint="loihi_cuba_lif needs du, dv, vth_mant, bias_mant, bias_exp "
                              "(and optionally refractory) per compartment")
    values = np.asarray(params[key], dtype=np.int64)
    if values.shape != (mapping.n_comp,):
        raise UsageError(f"the Loihi parameter '{key}' has shape {values.shape}, "
                         f"the Mapping has {mapping.n_comp} compartments")
    return values


def _check_range(mapping, key: str, values: np.ndarray, lo: int, hi: int, why: str) -> None:
    bad = (values < lo) | (values > hi)
    relay = np.asarray(mapping.comp_pop) == -1
    bad &= ~relay
    if np.any(bad):
        c = int(np.argmax(bad))
        pop = mapping.population_names[int(mapping.comp_pop[c])]
        raise UsageError(f"neuron {int(mapping.comp_index[c])} (compartment {c}): "
                         f"{key} = {int(values[c])} is outside {lo}..{hi} ({why})",
                         where=f"population '{pop}'",
                         hint="quantize the network for this chip again")


def prepare(mapping) -> LoihiTables:
    """The integer tables of a Loihi Mapping (see the module docstring).

    Raises
    ------
    UsageError
        When a parameter is missing, of the wrong length or outside the chip's range.
    """
    chip = mapping.chip
    num = chip.numerics
    if num.decay is None or num.threshold is None or num.input_shift is None \
            or "u" not in num.state or "v" not in num.state:
        raise UsageError(f"chip '{chip.name}' lacks the numerics loihi_cuba_lif needs "
                         "(decay, threshold, input_shift, state.u, state.v)")
    bits = num.decay.bits
    unity = 1 << bits
    du, dv = _param(mapping, "du"), _param(mapping, "dv")
    # The offsets may push the factor 2**D - (d + offset) to 0 (no memory), never below.
    _check_range(mapping, "du", du, 0, unity - max(1, num.decay.offset_u), f"{bits}-bit decay")
    _check_range(mapping, "dv", dv, 0, unity - max(1, num.decay.offset_v), f"{bits}-bit decay")
    vth_mant = _param(mapping, "vth_mant")
    _check_range(mapping, "vth_mant", vth_mant, 0, (1 << num.threshold.mantissa_bits) - 1,
                 f"{num.threshold.mantissa_bits}-bit threshold mantissa")
    bias_mant, bias_exp = _param(mapping, "bias_mant"), _param(mapping, "bias_exp")
    # a shift of 64 or more is undefined in int64 (numpy wraps it on x86): refused, not run
    _check_range(mapping, "bias_exp", bias_exp, -63, 63, "a shift of a 64-bit integer")
    if "refractory" in mapping.params:
        refractory = _param(mapping, "refractory")
        _check_range(mapping, "refractory", refractory, 0, chip.neuron.refractory_max_steps,
                     "the chip's refractory_max_steps")
    else:
        refractory = np.zeros(mapping.n_comp, dtype=np.int64)
    bias = np.where(bias_exp >= 0, bias_mant << np.maximum(bias_exp, 0),
                    bias_mant >> np.maximum(-bias_exp, 0))
    vth = vth_mant << num.threshold.shift
    f_u = unity - (du + num.decay.offset_u)
    f_v = unity - (dv + num.decay.offset_v)
    relay = np.asarray(mapping.comp_pop) == -1
    for arr in (bias, vth, f_u, f_v, refractory):
        arr[relay] = 0

    su, sv = num.state["u"], num.state["v"]
    # u and v in int64 whatever the widths: one compiled kernel for every chip. The
    # overflow check of a run (emulator.run) reruns it with 16 bits more, past int32:
    # a second dtype compiled the whole kernel again (~12 s of CPU on a first run).
    state_dtype = np.dtype(np.int64)
    int32 = np.iinfo(np.int32)
    for name, arr in (("bias", bias), ("threshold", vth)):
        if arr.size and (arr.min() < int32.min or arr.max() > int32.max):
            raise UsageError(f"a {name} of this Mapping does not fit 32 bits")

    delays = np.asarray(mapping.syn_delay, dtype=np.int64)
    max_extra = num.delay.max_steps - num.delay.min_steps
    if delays.size and delays.max() > max_extra:
        k = int(np.argmax(delays))
        raise UsageError(f"a synapse of projection '{_proj_of_syn(mapping, k)}' has a delay of "
                         f"{int(delays[k]) + num.delay.min_steps} steps; chip '{chip.name}' "
                         f"allows at most {num.delay.max_steps}")

    exp = np.asarray(mapping.axon_weight_exp)
    # Classes: one per exponent >= 0; one per (projection, exponent) below 0, because
    # floor(a / 2**k) + floor(b / 2**k) is not floor((a + b) / 2**k). The key is
    # -((projection + 1) * 256 - exp) below 0, else exp, written in one compiled pass
    # (millions of axons: numpy's steps each wrote a temporary of them).
    key = _class_keys(np.asarray(mapping.axon_projection), exp)
    plastic = lrn.plastic_projections(mapping)
    rt, info = routing_tables(mapping, key, lrn.sizing_values(mapping, plastic) if plastic else None)
    plastic_tables = tuple(lrn.prepare_plastic(mapping, rt, key, plastic)) if plastic else ()
    block_exp = exp[rt.block_axon].astype(np.int64) if rt.block_axon.size else np.zeros(0, dtype=np.int64)
    decay_dtype = narrowest_int(np.array([unity], dtype=np.int64))
    refr_dtype = narrowest_int(np.array([chip.neuron.refractory_max_steps], dtype=np.int64))
    segments = _segments(np.stack([f_u, f_v, bias, vth, refractory,
                                   relay.astype(np.int64)], axis=1), rt.core_comp_ptr)
    relay_ids = np.flatnonzero(relay).astype(np.int64)
    relay_col = rt.comp_col[relay_ids].astype(np.int64)
    segments["core_relay_ptr"] = np.searchsorted(
        relay_col, np.arange(rt.core_comp_ptr.size, dtype=np.int64)).astype(np.int64)
    segments["relay_local"] = relay_ids - rt.core_comp_ptr[relay_col] if relay_ids.size \
        else np.zeros(0, dtype=np.int64)
    return LoihiTables(
        mapping=mapping, routing=rt, info=info,
        # dtypes from the chip's widths, not from the values: every Mapping for one chip
        # then runs the same compiled kernel (each new combination compiles for seconds).
        f_u=f_u.astype(decay_dtype), f_v=f_v.astype(decay_dtype),
        bias=bias.astype(np.int32), vth=vth.astype(np.int32),
        refractory=refractory.astype(refr_dtype),
        block_exp=np.ascontiguousarray(block_exp, dtype=np.int64), **segments,
        decay_bits=bits, input_shift=int(num.input_shift),
        half_u=1 << (su.bits - 1), half_v=1 << (sv.bits - 1),
        wrap_u=_OVERFLOW_CODES[su.overflow], wrap_v=_OVERFLOW_CODES[sv.overflow],
        ge=chip.neuron.threshold_compare == ">=", state_dtype=state_dtype,
        plastic=plastic_tables,
    )


@njit(cache=True)
def _class_keys(projection, exp):
    """Each axon's class key (see :func:`prepare`), int64."""
    key = np.empty(exp.shape[0], dtype=np.int64)
    for a in range(exp.shape[0]):
        e = np.int64(exp[a])
        key[a] = e if e >= 0 else -((np.int64(projection[a]) + 1) * 256 - e)
    return key


def _segments(params: np.ndarray, core_comp_ptr: np.ndarray, min_run: int = 32) -> dict:
    """Per core, the runs of consecutive compartments with one parameter row each.

    A core gets its runs when they average at least ``min_run`` compartments (then the
    kernel reads each run's parameters once, not once per compartment); otherwise none.
    """
    n = params.shape[0]
    if n:
        # The distinct rows, sorted (np.unique(axis=0)), found among the first rows of runs
        # of equal rows only: a row-wise sort of every compartment took most of this.
        head = np.ones(n, dtype=bool)
        np.any(params[1:] != params[:-1], axis=1, out=head[1:])
        starts = np.flatnonzero(head)
        cfg, run_cfg = np.unique(params[starts], axis=0, return_inverse=True)
        cfg_of = np.repeat(np.asarray(run_cfg, dtype=np.int64).reshape(-1),
                           np.diff(np.append(starts, n)))
    else:
        cfg, cfg_of = np.zeros((0, params.shape[1]), np.int64), np.zeros(0, np.int64)
    ptr = [0]
    starts, stops, cfgs = [], [], []
    for j in range(core_comp_ptr.size - 1):
        lo, hi = int(core_comp_ptr[j]), int(core_comp_ptr[j + 1])
        ids = cfg_of[lo:hi]
        if ids.size:
            cut = np.flatnonzero(ids[1:] != ids[:-1]) + 1
            a = np.r_[0, cut]
            b = np.r_[cut, ids.size]
            if ids.size >= min_run * a.size:
                starts.append(a)
                stops.append(b)
                cfgs.append(ids[a])
        ptr.append(ptr[-1] + (a.size if ids.size and ids.size >= min_run * a.size else 0))
    cat = (lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, dtype=np.int64))
    return {"core_seg_ptr": np.array(ptr, dtype=np.int64), "seg_start": cat(starts),
            "seg_stop": cat(stops), "seg_cfg": cat(cfgs),
            "cfg": np.ascontiguousarray(cfg, dtype=np.int64)}


def _proj_of_syn(mapping, k: int) -> str:
    a = int(np.searchsorted(mapping.axon_syn_ptr, k, side="right") - 1)
    return mapping.projection_names[int(mapping.axon_projection[a])]


def run(tables: LoihiTables, inputs: KernelInputs) -> KernelRun:
    """One run from rest (u = v = 0, nothing in flight) of ``inputs.steps`` steps.

    Raises
    ------
    EmulationError
        In strict mode, at the first wrap of ``u`` or saturation of ``v`` (its message
        names the core, compartment, variable and step).
    """
    tb = tables
    n = tb.mapping.n_comp
    steps = int(inputs.steps)
    u = np.zeros(n, dtype=tb.state_dtype)
    v = np.zeros(n, dtype=tb.state_dtype)
    ref = np.zeros(n, dtype=tb.refractory.dtype)
    acc = np.zeros(tb.info.acc_shape, dtype=tb.info.acc_dtype)
    cnt = np.zeros((N_COUNTERS, steps, tb.info.n_cols), dtype=np.int64)
    probe = np.ascontiguousarray(inputs.probe_comp, dtype=np.int64)
    u_out = np.zeros((steps, probe.size), dtype=np.int64)
    v_out = np.zeros((steps, probe.size), dtype=np.int64)
    # Per variable code i (VARIABLES): [i] past the floor, [i + 2] past the ceiling.
    ovf = np.zeros(4, dtype=np.int64)
    first = np.full((4, 2), -1, dtype=np.int64)
    args = (tb.routing, acc, cnt, u, v, ref, tb.f_u, tb.f_v, tb.bias, tb.vth, tb.refractory,
            tb.block_exp, tb.core_seg_ptr, tb.seg_start, tb.seg_stop, tb.seg_cfg,
            np.ascontiguousarray(tb.cfg[:, 0]), np.ascontiguousarray(tb.cfg[:, 1]),
            np.ascontiguousarray(tb.cfg[:, 2]), np.ascontiguousarray(tb.cfg[:, 3]),
            np.ascontiguousarray(tb.cfg[:, 4]), np.ascontiguousarray(tb.cfg[:, 5]),
            tb.core_relay_ptr, tb.relay_local, tb.decay_bits, tb.input_shift, tb.half_u, tb.half_v,
            *_modes(tb), tb.ge, bool(inputs.strict),
            np.ascontiguousarray(inputs.in_ptr, dtype=np.int64),
            # the spikes' dtype (below 2**31 sources): deliver_many is compiled once for both
            np.ascontiguousarray(inputs.in_src, dtype=np.int32 if tb.routing.src.shape[0] < 2**31
                                 else np.int64),
            probe, u_out, v_out, ovf, first)
    learned: dict = {}
    pieces = 1 if tb.plastic else _pieces_of(tb, inputs.threads)
    if tb.plastic:
        spike_t, spike_c, n_spikes, stopped, wall_s, learned = _run_learning(tb, inputs, args, acc, cnt)
    elif pieces > 1:
        spike_t, spike_c, n_spikes, stopped, wall_s = _run_threads(tb, inputs, args, pieces)
    else:
        spike_t, spike_c, n_spikes, stopped, wall_s = run_resumable(run_loihi, steps, tb.mapping.n_comp,
                                                                    args, np.int32, inputs.progress)
    if stopped >= 0:
        code = int(np.flatnonzero(first[:, 0] >= 0)[0])
        _raise_overflow(tb, VARIABLES[code % 2], int(first[code, 0]), int(first[code, 1]),
                        "ceiling" if code >= 2 else "floor")
    overflows = {f"{name}@{bound}": int(ovf[i + off]) for i, name in enumerate(VARIABLES)
                 for off, bound in ((0, "floor"), (2, "ceiling")) if ovf[i + off]}
    first_overflow = {f"{name}@{bound}": (int(first[i + off, 0]), int(first[i + off, 1]))
                      for i, name in enumerate(VARIABLES)
                      for off, bound in ((0, "floor"), (2, "ceiling")) if first[i + off, 0] >= 0}
    return KernelRun(spike_step=spike_t[:n_spikes].copy(),
                     spike_comp=spike_c[:n_spikes].astype(np.int64),
                     counters=cnt, core_ids=tb.info.core_ids,
                     traces={"u": u_out, "v": v_out}, overflows=overflows,
                     first_overflow=first_overflow, wall_s=wall_s, learned=learned)


#: Below this many compartments a run is one thread whatever is asked: a step of a small
#: network takes a few microseconds, about what starting the threads' work twice a step
#: costs (benchmarks/bench_emulator.py --threads).
THREADS_FROM = 20_000


def _pieces_of(tb: LoihiTables, threads: int | None) -> int:
    """How many pieces (threads) a run is cut into: ``threads``, or Numba's thread count
    when ``None`` (1 in a worker process, see ``workflows/parallel.py``), for a network of
    at least :data:`THREADS_FROM` compartments; at most one piece per core."""
    if threads is None:
        threads = numba.get_num_threads() if tb.mapping.n_comp >= THREADS_FROM else 1
    return max(1, min(int(threads), tb.info.n_cols))


def _run_threads(tb: LoihiTables, inputs: KernelInputs, args: tuple, pieces: int):
    """:func:`run_loihi` cut into ``pieces``, each run by a thread (:func:`run_loihi_threads`),
    and put back together into ``args``' counters and overflow records: the results equal
    one thread's, bit for bit, whatever the number of pieces or of Numba's threads.

    Piece ``k`` updates the cores ``cols[k] .. cols[k+1] - 1`` (contiguous, about equal
    compartments) and delivers a ``k``-th of each step's spikes into its own ring buffer,
    which the updates add up (integer sums: the same in any order); its counts go to its
    own counters, added up at the end.
    """
    (rt, acc, cnt, *mid, probe, u_out, v_out, ovf, first) = args
    ptr = rt.core_comp_ptr
    n_cols = ptr.size - 1
    cut = np.searchsorted(ptr, ptr[-1] * np.arange(1, pieces) // pieces)
    cols = np.unique(np.concatenate([[0], np.clip(cut, 1, n_cols - 1), [n_cols]])).astype(np.int64)
    pieces = cols.size - 1
    # Each piece sees only its cores: core_comp_ptr cut to them (padded rows of one array),
    # the other pointers indexed by core from its first core on (a longer array is
    # harmless: only entries j, j + 1 are read).
    n_ptr = np.diff(cols) + 1
    comp_ptrs = np.zeros((pieces, int(n_ptr.max())), dtype=np.int64)
    for k in range(pieces):
        comp_ptrs[k, :n_ptr[k]] = ptr[cols[k]:cols[k + 1] + 1]

    def from_core(a):
        return np.stack([np.concatenate([a[c:], np.full(c, a[-1])]) for c in cols[:-1]])

    block_ptrs = from_core(rt.core_block_ptr)
    seg_ptrs, relay_ptrs = from_core(mid[9]), from_core(mid[19])
    # the accumulator rows of each piece's cores (blocks are in column order)
    bptr = rt.core_block_ptr
    rows = np.array([rt.block_row[bptr[c]] if bptr[c] < rt.block_row.size else acc.shape[1]
                     for c in cols], dtype=np.int64)
    rows[-1] = acc.shape[1]
    accs = np.zeros((pieces,) + acc.shape, dtype=acc.dtype)
    cnt_u = np.zeros((pieces,) + cnt.shape, dtype=cnt.dtype)
    cnt_d = np.zeros((pieces,) + cnt.shape, dtype=cnt.dtype)
    ovfs = np.zeros((pieces, 4), dtype=np.int64)
    firsts = np.full((pieces, 4, 2), -1, dtype=np.int64)
    targs = (rt, comp_ptrs, n_ptr.astype(np.int64), block_ptrs, rows, accs, cnt_u, cnt_d,
             *mid[:9], seg_ptrs, *mid[10:19], relay_ptrs, *mid[20:], probe, u_out, v_out, ovfs,
             firsts)
    out = _run_both(args, targs, int(inputs.steps), tb.mapping.n_comp, accs, inputs.progress,
                    adapt=inputs.threads is None)
    stopped = out[3]
    for k in range(pieces):
        j0, j1 = cols[k], cols[k + 1]
        cnt[:, :, j0:j1] += cnt_u[k][:, :, :j1 - j0]
    cnt += cnt_d.sum(axis=0)
    if stopped >= 0 and (first[:, 0] >= 0).any():
        return out  # strict, stopped in one thread's steps: its record is the run's
    if stopped >= 0:
        # strict: the first piece that stopped holds the one-thread run's record
        k = int(np.flatnonzero((firsts[:, :, 0] >= 0).any(axis=1))[0])
        ovf[:] = ovfs[k]
        first[:] = firsts[k]
        return out
    ovf += ovfs.sum(axis=0)
    for code in range(4):
        at = np.concatenate([first[code:code + 1], firsts[:, code]])
        at = at[at[:, 0] >= 0]
        if at.size:
            # the earliest (step, compartment): the one a single thread meets first
            first[code] = at[np.lexsort((at[:, 1], at[:, 0]))[0]]
    return out


#: Steps of one piece of an adaptive run (:func:`_run_both`), as a share of the run, and
#: how often (in pieces) the slower way is tried again.
_SHARE, _RETRY = 40, 8


def _run_both(args: tuple, targs: tuple, steps: int, n_comp: int, accs: np.ndarray, progress,
              adapt: bool):
    """Run the steps with :func:`run_loihi_threads` (``targs``) or, when ``adapt``, with
    whichever of it and :func:`run_loihi` (``args``) has been faster lately.

    The threads wait for each other twice a step: when another program holds a core,
    a thread that loses it stalls the run (under load a second thread was up to 10x
    slower than one). So an adaptive run times pieces of about ``steps / _SHARE`` steps
    each way and keeps the faster, trying the other again every ``_RETRY`` pieces. The
    two loops share the state, spikes, probes and (added up) counters; only the
    accumulated input moves between the one ring buffer and the pieces' ones. What is
    computed is the same either way. Returns what :func:`run_resumable` returns.
    """
    acc = args[1]
    spike_t, spike_c = spike_buffers(steps, n_comp, np.int32)
    run_loihi_threads(0, 0, spike_t, spike_c, 0, *targs)
    if adapt:
        run_loihi(0, 0, spike_t, spike_c, 0, *args)
    chunk = max(1, -(-steps // _SHARE)) if adapt or progress is not None else steps
    per_step = {True: 0.0, False: 0.0}  # seconds per step, threads or not, last timed
    start = time.perf_counter()
    t, n_spikes, stopped, threads, piece = 0, 0, -1, True, 0
    while True:
        end = min(t + chunk, steps)
        t_before, clock = t, time.perf_counter()
        if threads:
            n_spikes, t, stopped = run_loihi_threads(t, end, spike_t, spike_c, n_spikes, *targs)
        else:
            n_spikes, t, stopped = run_loihi(t, end, spike_t, spike_c, n_spikes, *args)
        if t > t_before:
            per_step[threads] = (time.perf_counter() - clock) / (t - t_before)
        if progress is not None:
            progress(t)
        if t >= steps or stopped >= 0:
            break
        if t < end:  # stopped early: the spike buffer might not hold step t
            spike_t, spike_c = doubled(spike_t, spike_c)
            continue
        piece += 1
        if adapt:
            # one thread once, then the faster way, the slower one again now and then
            faster = per_step[True] <= per_step[False]
            want = False if not per_step[False] else (faster if piece % _RETRY else not faster)
            if want != threads:
                if want:  # the input waiting in the one ring buffer moves to piece 0's
                    accs[0] += acc
                    acc[:] = 0
                else:
                    np.sum(accs, axis=0, dtype=acc.dtype, out=acc)
                    accs[:] = 0
                threads = want
    return spike_t, spike_c, n_spikes, stopped, time.perf_counter() - start


def _modes(tb: LoihiTables) -> tuple:
    """The overflow modes as the kernel takes them: ``(None, None)`` for Lava's (u wraps,
    v saturates), compiled in as constants and without the general case (see
    :func:`_update_step`); the codes otherwise."""
    return (None, None) if (tb.wrap_u, tb.wrap_v) == (0, 1) else (tb.wrap_u, tb.wrap_v)


def _run_learning(tb: LoihiTables, inputs: KernelInputs, args: tuple, acc: np.ndarray,
                  cnt: np.ndarray):
    """:func:`run_loihi` and the learning engine (``learning.py``) of every plastic
    projection, step after step in one compiled loop (:func:`_learning_loop`): the engine
    delivers the plastic synapses' learned weights, updates the traces and, at the end of
    each epoch, the weights. Returns what :func:`run_resumable` returns (so a learning run
    reports its progress in pieces too), and per plastic projection the arrays of the result
    (``weights``, the traces, when probed; ``final_weights`` always, in the network's float
    units)."""
    steps = int(inputs.steps)
    states = [lrn.new_state(pt, steps, inputs.seed) for pt in tb.plastic]
    probes, projs = {}, []
    work = {pt.name: np.zeros(2, dtype=np.int64) for pt in tb.plastic}  # trace updates, rule evaluations
    for pt, st in zip(tb.plastic, states):
        n = steps if pt.rule.probe_weights else 0
        rec = (np.zeros((n, pt.w0.size), dtype=np.int16), np.zeros((n, 2, pt.n_pre), dtype=np.int16),
               np.zeros((n, 3, pt.n_post), dtype=np.int16))
        if n:
            probes[pt.name] = rec
        d = st.draws
        tab = pt.fast_tab[max(pt.lazy_prod, 0)]
        # (every projection's tuple has the same types: the loop iterates over them)
        projs.append((pt.pre_of_source, pt.post_of_comp, pt.pre_ptr, pt.row, pt.delay, pt.syn_pre,
                      pt.syn_post, pt.post_ptr, pt.post_syn, pt.post_col, pt.cols, st.w, st.x, st.y,
                      st.tx, st.ty, int(pt.rule.epoch), int(pt.prod_decimate[0]) if pt.prod_decimate.size else 0,
                      bool(np.any(pt.prod_dep == 2)), pt.x_decay, pt.y_decay, pt.x_has_tau, pt.y_has_tau,
                      pt.x_int, pt.x_frac, pt.y_int, pt.y_frac, d.x_decay, d.x_imp, d.y_decay, d.y_imp,
                      d.conn, pt.prod_dep, pt.prod_mant, pt.prod_exp, pt.fac_var, pt.fac_const, pt.fac_sgn,
                      lrn.SIGN_CODES[pt.sign_mode], *lrn.SIGN_BOUNDS[pt.sign_mode], bool(pt.fast_ok),
                      pt.fast_src, pt.fast_tab, bool(pt.dense), bool(pt.straight), work[pt.name], *rec,
                      # last, what the lag log (learning._log_epoch) needs: its product's table,
                      # whether that steps by whole weight units (learning.whole_steps)
                      (st.w, pt.pre_ptr, st.lag, tab, bool(lrn.whole_steps(tab)), lrn.SIGN_CODES[pt.sign_mode],
                       *lrn.SIGN_BOUNDS[pt.sign_mode])))
    loop_args = (args, np.ascontiguousarray(inputs.in_ptr, dtype=np.int64),
                 np.ascontiguousarray(inputs.in_src, dtype=np.int64), cnt, tuple(projs))
    # (the first call of 0 steps compiles or loads the loop outside the timing)
    spike_t, spike_c, n_spikes, stopped, wall_s = run_resumable(_learning_loop, steps, tb.mapping.n_comp,
                                                                loop_args, np.int32, inputs.progress)
    recorded = {name: {"weights": rec[0], **{f"x{c + 1}": np.ascontiguousarray(rec[1][:, c]) for c in range(2)},
                       **{f"y{c + 1}": np.ascontiguousarray(rec[2][:, c]) for c in range(3)}}
                for name, rec in probes.items()}
    return spike_t, spike_c, n_spikes, stopped, wall_s, _learned(tb, states, recorded, work)


def _learned(tb: LoihiTables, states: list, probes: dict, work: dict) -> dict:
    """Per plastic projection, the arrays of the result (see :func:`_run_learning`)."""
    learned = {}
    for pt, st in zip(tb.plastic, states):
        out = dict(probes.get(pt.name, {}))
        if pt.name in probes:
            out["synapses"] = np.stack([pt.syn_pre, pt.syn_post], axis=1)
        out["final_weights"] = lrn.float_weights(tb.mapping, pt, st.w)
        out["learning_work"] = work[pt.name].copy()
        learned[pt.name] = out
    return learned


@njit(cache=True, no_cpython_wrapper=True)
def _through(table, ids, lo, hi, out, n):
    """Append ``table[ids[q]]`` for ``q`` in ``lo .. hi - 1``, where it is ``>= 0``, to
    ``out`` from ``n`` on; returns the new length."""
    for q in range(lo, hi):
        p = table[ids[q]]
        if p >= 0:
            out[n] = p
            n += 1
    return n


@njit(cache=True)
def _learning_loop(t0, steps, spike_t, spike_c, n_spikes, args, in_ptr, in_src, cnt, projs):
    """:func:`run_loihi` and the learning engine of the plastic projections ``projs`` (a
    tuple of one tuple of arrays each, see :func:`_run_learning`), step after step in one
    compiled loop, resumable as :func:`run_resumable` drives it. Per projection, ``work``
    adds up trace updates and rule evaluations; ``rec_*`` (empty when not probed) record
    the weights and traces per step. Before it returns (at its end or between pieces), every
    row of the weights is caught up with its lag log, so the weights are whole then."""
    acc = args[1]
    n_comp = args[3].shape[0]
    per_col = np.zeros(cnt.shape[2], dtype=np.int64)
    n_slots = acc.shape[0]
    t_next, stop = steps, -1
    for t in range(t0, steps):
        if n_spikes + n_comp > spike_t.shape[0]:
            t_next = t
            break
        first = n_spikes
        n_spikes, _, stopped = run_loihi(t, t + 1, spike_t, spike_c, n_spikes, *args)
        if stopped >= 0:
            t_next, stop = t, stopped
            break
        tau = t + 1  # Lava's time step
        for n_proj in range(len(projs)):
            pa = projs[n_proj]
            (pre_of_source, post_of_comp, pre_ptr, row, delay, syn_pre, syn_post, post_ptr, post_syn,
             post_col, cols, w, x, y, tx, ty, epoch, decimate, has_u, x_decay, y_decay, x_has, y_has,
             x_int, x_frac, y_int, y_frac, d_xd, d_xi, d_yd, d_yi, d_conn, prod_dep, prod_mant,
             prod_exp, fac_var, fac_const, fac_sgn, sign_code, w_lo, w_hi, fast_ok, fast_src,
             fast_tab, dense, straight, work, rec_w, rec_x, rec_y, lagged) = pa
            lag, lazy_tab, whole = lagged[2], lagged[3], lagged[4]
            n_pre = pre_ptr.shape[0] - 1
            n_post = post_ptr.shape[0] - 1
            # the projection's pre neurons that fired (compartments, then inputs), its posts
            pre = np.empty(n_spikes - first + in_ptr[t + 1] - in_ptr[t], dtype=np.int64)
            n_fx = _through(pre_of_source, spike_c, first, n_spikes, pre, np.int64(0))
            n_fx = _through(pre_of_source, in_src, in_ptr[t], in_ptr[t + 1], pre, n_fx)
            post = np.empty(n_spikes - first, dtype=np.int64)
            n_fy = _through(post_of_comp, spike_c, first, n_spikes, post, np.int64(0))
            pre = pre[:n_fx]
            post = post[:n_fy]
            if lag[2].shape[0]:  # rows about to be delivered: their waiting updates first
                for q in range(n_fx):
                    lrn.catch_up(pre[q], w, pre_ptr, lag, lazy_tab, whole, sign_code, w_lo, w_hi)
            lrn.deliver_plastic(pre, pre_ptr, row, delay, w, acc, t, n_slots, straight)
            within = tau % epoch
            if within == 0:
                within = epoch
            # repeated spikes in the epoch: their traces get the impulse at once (x: on every
            # core holding the projection's synapses; y: on the post neuron's core)
            x_again = 0
            for q in range(n_fx):
                if tx[pre[q]] > 0:
                    x_again += 1
            if x_again:
                for c in cols:
                    cnt[lrn.TRACE_UPDATES, t, c] += 2 * x_again
            for q in range(n_fy):
                if ty[post[q]] > 0:
                    cnt[lrn.TRACE_UPDATES, t, post_col[post[q]]] += 3
            work[0] += lrn.spikes_step(pre, post, within, x, y, tx, ty, x_int, x_frac, y_int, y_frac,
                                       d_yi[2 * tau - 1])
            if tau % epoch == 0:
                u_on = has_u and (tau // epoch) % (1 << decimate) == 0
                # every trace with a decay is stepped E times per epoch: the pre traces on
                # every core of the projection, the post traces on their neuron's core
                n_xt = 0
                for c in range(x_has.shape[0]):
                    n_xt += 1 if x_has[c] else 0
                n_yt = 0
                for c in range(y_has.shape[0]):
                    n_yt += 1 if y_has[c] else 0
                work[0] += epoch * (n_pre * n_xt * cols.shape[0] + n_post * n_yt)
                for c in cols:
                    cnt[lrn.TRACE_UPDATES, t, c] += epoch * n_pre * n_xt
                if n_yt:
                    for j in range(n_post):
                        cnt[lrn.TRACE_UPDATES, t, post_col[j]] += epoch * n_yt
                for c in range(per_col.shape[0]):
                    per_col[c] = 0
                if lag[1][0] == lag[2].shape[0] > 0:  # the lag log is full: every row catches up
                    lrn.catch_up_all(w, pre_ptr, lag, lazy_tab, sign_code, w_lo, w_hi)
                work[1] += lrn.learn_epoch(
                    syn_pre, syn_post, pre_ptr, post_ptr, post_syn, w, x, y, tx, ty, epoch, u_on,
                    x_decay, y_decay, x_has, y_has, x_int, x_frac, y_int, y_frac, d_xd[2 * tau],
                    d_xi[2 * tau], d_yd[2 * tau], d_yi[2 * tau], d_conn[tau // epoch], prod_dep,
                    prod_mant, prod_exp, fac_var, fac_const, fac_sgn, lrn.FACTOR_WIDTH, sign_code,
                    w_lo, w_hi, post_col, per_col, fast_ok, fast_src, fast_tab, dense, lag)
                for c in range(per_col.shape[0]):
                    cnt[lrn.SYNAPTIC_UPDATES, t, c] += per_col[c]
            if rec_w.shape[0]:
                for k in range(w.shape[0]):
                    rec_w[t, k] = w[k]
                for c in range(2):
                    for i in range(n_pre):
                        rec_x[t, c, i] = x[c, i]
                for c in range(3):
                    for j in range(n_post):
                        rec_y[t, c, j] = y[c, j]
    for pa in projs:
        w, pre_ptr, lag, tab, _, sign_code, w_lo, w_hi = pa[-1]
        if lag[2].shape[0]:
            lrn.catch_up_all(w, pre_ptr, lag, tab, sign_code, w_lo, w_hi)
    return n_spikes, t_next, stop


def _raise_overflow(tb: LoihiTables, var: str, step: int, comp: int, bound: str) -> None:
    core, name = where_is(tb.mapping, comp)
    what = "wrapped around" if (tb.wrap_u if var == "u" else tb.wrap_v) == 0 else "saturated"
    bits = (tb.half_u if var == "u" else tb.half_v).bit_length()
    err = EmulationError(f"core {core}, compartment {comp} ({name}): {var} {what} at its "
                         f"{bits}-bit {bound} at step {step}",
                         where=f"core {core}",
                         hint="lower the weights or the weight exponent of the projections into "
                              "it, or run with strict=False to count overflows instead")
    err.core, err.compartment, err.variable, err.step = core, comp, var, step
    raise err


def _effect(tb: LoihiTables, var: str, bound: str, comp: int) -> str:
    """Whether an overflow of ``var`` past ``bound`` can make the spikes differ from the
    float model's, and why."""
    pop = int(tb.mapping.comp_pop[comp])
    spiking = pop < 0 or tb.mapping.network.populations[tb.mapping.population_names[pop]].neuron.spiking
    wrapped = (tb.wrap_u if var == "u" else tb.wrap_v) == 0
    if var == "v" and bound == "ceiling" and not wrapped and spiking:
        # The ceiling (2^23 - 1) lies above every threshold the chip can store
        # (vth_mant << shift), so the clipped v fires and resets to 0 as the float V does.
        return "spikes unchanged: v above the ceiling is above threshold, so the neuron fires " \
               "and resets as in the float model"
    if var == "v" and bound == "floor" and not wrapped:
        return "spikes can differ from the float model: the chip's v is held above the float V, " \
               "so later input can bring it to threshold sooner"
    return "spikes can differ from the float model"


def overflow_message(tb: LoihiTables, result: KernelRun) -> str | None:
    """What overflowed in a non-strict run, in words (``None`` when nothing did): per
    variable and bound, how often, the first compartment, and whether the spikes can
    differ from the float model because of it."""
    parts = []
    for var in VARIABLES:
        wrapped = (tb.wrap_u if var == "u" else tb.wrap_v) == 0
        bits = (tb.half_u if var == "u" else tb.half_v).bit_length()
        for bound in ("floor", "ceiling"):
            key = f"{var}@{bound}"
            text = overflow_sentence(tb.mapping, result, key, wrapped,
                                     what=f"{var} {'wrapped around past' if wrapped else 'saturated at'} "
                                          f"its {bits}-bit {bound}")
            if text:
                parts.append(f"{text}: {_effect(tb, var, bound, result.first_overflow[key][1])}")
    return "; ".join(parts) or None


# --------------------------------------------------------------------------- the kernel


@njit(cache=True, inline="always")
def _trunc_decay(x, factor, bits):
    """``sign(x·factor) · (|x·factor| >> bits)`` in int64: decay rounded toward zero."""
    p = np.int64(x) * np.int64(factor)
    # Adding 2**bits - 1 to a negative p before the arithmetic shift rounds toward zero
    # (sign-magnitude, as Lava does), without a branch the CPU would mispredict.
    return (p + ((p >> 63) & ((np.int64(1) << bits) - 1))) >> bits


@njit(cache=True, inline="always")
def _fold(x, half, wrap):
    """Bring ``x`` into range: wrap into ``(-half, half]`` (Lava's rule) or clip to
    ``±(half - 1)``. Returns (value, whether it changed)."""
    if wrap == 0:
        if x > half or x <= -half:
            return ((x + half - 1) % (2 * half)) - half + 1, True
        return x, False
    if x > half - 1:
        return half - 1, True
    if x < -(half - 1):
        return -(half - 1), True
    return x, False


@njit(cache=True)
def _neuron(u0, v0, r0, x, f_u, f_v, bias, vth, refractory, decay_bits, input_shift, half_u,
            half_v, wrap_u, wrap_v, ge):
    """One compartment's step, the plain way (every case, including inputs that jump
    more than one period of the wrap). Returns (u, v, refractory counter, fired,
    u overflowed, v overflowed)."""
    uu, ou = _fold(_trunc_decay(u0, f_u, decay_bits) + (x << input_shift), half_u, wrap_u)
    if r0 > 0:
        return uu, np.int64(0), r0 - 1, False, ou, False
    vv, ov = _fold(_trunc_decay(v0, f_v, decay_bits) + uu + bias, half_v, wrap_v)
    if vv >= vth if ge else vv > vth:
        return uu, np.int64(0), np.int64(refractory), True, ou, ov
    return uu, vv, r0, False, ou, ov


@njit(cache=True, inline="always")
def _fold_fast(x, half, wrap):
    """Lava's one-period wrap (``wrap == 0``) or saturation, without branches.

    Returns (value, overflowed, far): ``far`` when a wrap by one period is not enough
    (the caller redoes that compartment with :func:`_neuron`). Both results are computed
    and one selected: a branch on ``wrap`` inside a loop over compartments keeps the
    compiler from vectorizing it (4x slower).
    """
    w = wrap == 0
    hi_w = x > half
    lo_w = x <= -half
    y_w = x - (2 * half) * hi_w + (2 * half) * lo_w
    y_s = min(max(x, 1 - half), half - 1)
    y = y_w if w else y_s
    over = (hi_w | lo_w) if w else (y_s != x)
    far = w & ((y_w > half) | (y_w <= -half))
    return y, over, far


@njit(cache=True)
def _step(u0, v0, r0, x, f_u, f_v, bias, vth, refractory, rnd, decay_bits, input_shift,
          half_u, half_v, wrap_u, wrap_v, geb):
    """One neuron compartment's step without a data-dependent branch (so loops of it
    vectorize). Returns (u, v, refractory counter, flags, active). ``flags``: 1 fired,
    2 ``u`` overflowed, 4 ``v`` overflowed, 8 a one-period wrap was not enough (state
    left as it was; the caller redoes the compartment with :func:`_neuron`).

    Compiled once, for int64 arguments (the update loops cast theirs), and not inlined
    by Numba: LLVM inlines it into each loop, constants included, and vectorizes the
    loop as before (Numba's own inlining into the three loops cost about two seconds
    of compile on a first run)."""
    u0 = np.int64(u0)
    v0 = np.int64(v0)
    r0 = np.int64(r0)
    # current: trunc(u·f_u) + (a_in << input_shift), wrapped (or saturated)
    p = u0 * f_u
    uu, ou, far_u = _fold_fast(((p + ((p >> 63) & rnd)) >> decay_bits) + (x << input_shift),
                               half_u, wrap_u)
    # voltage: trunc(v·f_v) + u + bias, saturated (or wrapped); held while refractory
    q = v0 * f_v
    vv, ov, far_v = _fold_fast(((q + ((q >> 63) & rnd)) >> decay_bits) + uu + bias,
                               half_v, wrap_v)
    held = r0 > 0
    fire = (not held) and vv > vth - geb
    far = far_u or (far_v and not held)
    nu = u0 if far else uu
    nv = v0 if far else (0 if (held or fire) else vv)
    nr = r0 if far else (refractory if fire else (r0 - 1 if held else r0))
    act = (x != 0) or (u0 != 0) or (v0 != 0) or (bias != 0) or held or (geb > 0 and vth <= 0)
    f = np.uint8(fire) | (np.uint8(ou) << 1) | (np.uint8(ov and not held) << 2) \
        | (np.uint8(far) << 3)
    return nu, nv, nr, f, act


# A zero that is not a literal: the calls of _step then share one compiled signature.
_ZERO = np.int64(0)


@njit(cache=True, inline="always")
def _run(c0, lo, hi, u, v, a_in, flags, fu, fv, bias, vth, rnd, decay_bits, input_shift, half_u,
         half_v, wrap_u, wrap_v, geb):
    """:func:`_step` over compartments ``c0 + lo .. c0 + hi - 1`` sharing one parameter set
    whose refractory period is 0 (Lava's model): their refractory counters stay 0, so
    they are neither read nor written (one array fewer streamed per step: the idle update
    pass at N = 100,000 took 115 ms with it, 95 without). Returns (active updates, OR of
    the flags)."""
    active = 0
    any_flag = np.uint8(0)
    for i in range(lo, hi):
        c = c0 + i
        nu, nv, _, f, act = _step(u[c], v[c], _ZERO, a_in[i], fu, fv, bias, vth, _ZERO, rnd,
                                  decay_bits, input_shift, half_u, half_v, wrap_u, wrap_v, geb)
        u[c] = nu
        v[c] = nv
        flags[i] = f
        any_flag |= f
        active += act
    return active, any_flag


@njit(cache=True, inline="always")
def _run_acc(c0, lo, hi, u, v, acc_now, r0, el, er, flags, fu, fv, bias, vth, rnd, decay_bits,
             input_shift, half_u, half_v, wrap_u, wrap_v, geb):
    """:func:`_run` for a core with one accumulator class (rows ``r0 ..``), reading the
    input from its rows in ``acc_now`` (the caller zeroes them afterwards: a store to
    ``acc`` in this loop keeps the compiler from vectorizing it)."""
    active = 0
    any_flag = np.uint8(0)
    for i in range(lo, hi):
        c = c0 + i
        x = (np.int64(acc_now[r0 + i]) << el) >> er
        nu, nv, _, f, act = _step(u[c], v[c], _ZERO, x, fu, fv, bias, vth, _ZERO, rnd, decay_bits,
                                  input_shift, half_u, half_v, wrap_u, wrap_v, geb)
        u[c] = nu
        v[c] = nv
        flags[i] = f
        any_flag |= f
        active += act
    return active, any_flag


@njit(cache=True, inline="always")
def _run_each(c0, lo, hi, u, v, ref, a_in, flags, f_u, f_v, bias, vth, refractory, rnd,
              decay_bits, input_shift, half_u, half_v, wrap_u, wrap_v, geb):
    """:func:`_step` over compartments ``c0 + lo .. c0 + hi - 1``, each with its own
    parameters (the per-compartment arrays). Returns (active updates, OR of the flags)."""
    active = 0
    any_flag = np.uint8(0)
    for i in range(lo, hi):
        c = c0 + i
        nu, nv, nr, f, act = _step(u[c], v[c], np.int64(ref[c]), a_in[i], np.int64(f_u[c]),
                                   np.int64(f_v[c]), np.int64(bias[c]), np.int64(vth[c]),
                                   np.int64(refractory[c]), rnd, decay_bits, input_shift, half_u,
                                   half_v, wrap_u, wrap_v, geb)
        u[c] = nu
        v[c] = nv
        ref[c] = nr
        flags[i] = f
        any_flag |= f
        active += act
    return active, any_flag


@njit(cache=True)
def _update_step(t, slot, rt, acc, cnt, u, v, ref, f_u, f_v, bias, vth, refractory, block_exp,
                 core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv, cfg_bias, cfg_vth,
                 cfg_refr, cfg_relay, core_relay_ptr, relay_local, decay_bits, input_shift,
                 half_u, half_v, wrap_u, wrap_v, ge, strict, a_in, had, flags, flags8, spike_t,
                 spike_c, n_spikes, ovf, first):
    """Step ``t`` of every compartment (:func:`_update_cores`), for a caller that passes
    the overflow codes whatever they are: Lava's modes (codes 0, 1) still run with the
    modes compiled in as constants, chosen at run time (so both cases are compiled;
    ``None, None`` compiles Lava's alone)."""
    if wrap_u is None or (wrap_u == 0 and wrap_v == 1):
        return _update_cores(t, slot, rt, acc, cnt, u, v, ref, f_u, f_v, bias, vth, refractory,
                             block_exp, core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv,
                             cfg_bias, cfg_vth, cfg_refr, cfg_relay, core_relay_ptr, relay_local,
                             decay_bits, input_shift, half_u, half_v, None, None, ge, strict,
                             a_in, had, flags, flags8, spike_t, spike_c, n_spikes, ovf, first)
    return _update_cores(t, slot, rt, acc, cnt, u, v, ref, f_u, f_v, bias, vth, refractory,
                         block_exp, core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv,
                         cfg_bias, cfg_vth, cfg_refr, cfg_relay, core_relay_ptr, relay_local,
                         decay_bits, input_shift, half_u, half_v, wrap_u, wrap_v, ge, strict,
                         a_in, had, flags, flags8, spike_t, spike_c, n_spikes, ovf, first)


@njit(cache=True, no_cpython_wrapper=True)
def _update_cores(t, slot, rt, acc, cnt, u, v, ref, f_u, f_v, bias, vth, refractory, block_exp,
                  core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv, cfg_bias, cfg_vth,
                  cfg_refr, cfg_relay, core_relay_ptr, relay_local, decay_bits, input_shift,
                  half_u, half_v, wrap_u, wrap_v, ge, strict, a_in, had, flags, flags8, spike_t,
                  spike_c, n_spikes, ovf, first):
    """Step ``t`` of every compartment, core after core.

    ``wrap_u``, ``wrap_v``: the overflow codes (``_OVERFLOW_CODES``), or both ``None``
    for Lava's modes (u wraps, v saturates). ``None`` is a type of its own: Numba
    compiles this function (and its callers) once for it, with the modes as constants
    and without the general case, and once for integer codes; a run compiles only the
    one its chip needs (:func:`_modes`).

    For each core: drain its accumulator rows of ``slot`` into ``a_in`` (``had``: a spike
    arrived), update its compartments, count its updates and spikes in ``cnt``, and
    append the compartments that fired to ``spike_t``/``spike_c`` from ``n_spikes`` on.
    Segments ``core_seg_ptr[j] .. core_seg_ptr[j+1] - 1`` (none: use the per-compartment
    arrays) cover core ``j`` with runs of one parameter set each (``seg_start``/
    ``seg_stop`` indices within the core, ``seg_cfg`` into the ``cfg_*`` tables); its
    relays are at ``relay_local[core_relay_ptr[j]:core_relay_ptr[j+1]]`` within the core.
    Returns ``(n_spikes, stop)``; ``stop`` is true when strict mode met an overflow
    (``first`` then holds its step and compartment).

    Three update loops, each at one call site (Numba inlines a loop at every call, and
    each copy compiled for one to two seconds on a first run): runs without refractory
    period reading the input from the accumulator (a core with one accumulator class)
    or from ``a_in``, and the per-compartment arrays (cores without runs, runs with a
    refractory period). The loops have no data-dependent branch, so the compiler
    vectorizes them; what is rare (a spike, an overflow, an input that jumps more than
    one period of the wrap) is flagged per compartment and handled in a second, scalar
    pass. Indices are unsigned so that Numba drops its test for negative indices (which
    would keep the loops from vectorizing), and no array view is made per core (each
    costs reference counting: it dominated runs with many small cores).
    """
    # Lava's modes (None) as constants: the compiler drops the other mode's arithmetic
    # from the update loops (1.6x faster).
    wu = 0 if wrap_u is None else wrap_u
    wv = 1 if wrap_v is None else wrap_v
    rnd = (np.int64(1) << decay_bits) - 1
    geb = np.int64(1) if ge else np.int64(0)
    n_cols = rt.core_comp_ptr.shape[0] - 1
    acc_now = acc[slot]  # one view per step, not per core
    for j in range(n_cols):
        c0 = np.uint64(rt.core_comp_ptr[j])
        m = np.uint64(rt.core_comp_ptr[j + 1]) - c0
        g0, g1 = core_seg_ptr[j], core_seg_ptr[j + 1]
        b0, b1 = rt.core_block_ptr[j], rt.core_block_ptr[j + 1]
        active = 0
        any_flag = 0
        segmented = g0 < g1
        # The common case, one accumulator class and runs of one parameter set without
        # refractory period: the update reads the class's rows directly (no copy into
        # a_in), zeroed at the end.
        fused = segmented and b1 - b0 == 1
        for g in range(g0, g1):
            if cfg_refr[seg_cfg[g]] != 0:
                fused = False
        r0 = np.uint64(rt.block_row[b0]) if fused else np.uint64(0)
        el = np.int64(max(block_exp[b0], 0)) if fused else np.int64(0)
        er = np.int64(max(-block_exp[b0], 0)) if fused else np.int64(0)
        if not fused:
            for i in range(m):
                a_in[i] = 0
                had[i] = 0
            # Dense: each class's sum shifted by its exponent, then the classes added.
            # (No branch on x != 0: with half the compartments receiving input, a branch
            # would be mispredicted half the time.)
            for b in range(b0, b1):
                rb = np.uint64(rt.block_row[b])
                eb_l = np.int64(max(block_exp[b], 0))
                eb_r = np.int64(max(-block_exp[b], 0))
                for i in range(m):
                    x = np.int64(acc_now[rb + i])
                    acc_now[rb + i] = 0
                    had[i] |= x != 0
                    a_in[i] += (x << eb_l) >> eb_r
        # A core's pieces: its runs of one parameter set (a run of relays, a run of
        # neurons without refractory period: scalar parameters; a run with one: the
        # per-compartment arrays), or the whole core from the per-compartment arrays.
        # One call site per update loop: each is compiled once.
        for g in range(g0, g1 if segmented else g0 + 1):
            k = seg_cfg[g] if segmented else 0
            lo = np.uint64(seg_start[g]) if segmented else np.uint64(0)
            hi = np.uint64(seg_stop[g]) if segmented else m
            if segmented and cfg_relay[k] != 0:
                # Relays fire iff a spike reached them; they keep no state.
                for i in range(lo, hi):
                    h = np.uint8(acc_now[r0 + i] != 0) if fused else had[i]
                    flags[i] = h
                    any_flag |= h
                    active += h
                continue
            if fused:
                n_act, flag = _run_acc(c0, lo, hi, u, v, acc_now, r0, el, er, flags, cfg_fu[k],
                                       cfg_fv[k], cfg_bias[k], cfg_vth[k], rnd, decay_bits,
                                       input_shift, half_u, half_v, wu, wv, geb)
            elif segmented and cfg_refr[k] == 0:
                n_act, flag = _run(c0, lo, hi, u, v, a_in, flags, cfg_fu[k], cfg_fv[k],
                                   cfg_bias[k], cfg_vth[k], rnd, decay_bits, input_shift, half_u,
                                   half_v, wu, wv, geb)
            else:
                n_act, flag = _run_each(c0, lo, hi, u, v, ref, a_in, flags, f_u, f_v, bias, vth,
                                        refractory, rnd, decay_bits, input_shift, half_u,
                                        half_v, wu, wv, geb)
            active += n_act
            any_flag |= flag
        if not segmented:
            # Relays were stepped as neurons with all parameters 0; undo that.
            for q in range(core_relay_ptr[j], core_relay_ptr[j + 1]):
                i = np.uint64(relay_local[q])
                c = c0 + i
                active += np.int64(had[i]) - np.int64(a_in[i] != 0)
                u[c] = 0
                v[c] = 0
                ref[c] = 0
                flags[i] = had[i]
                any_flag |= had[i]
        # The rare cases, one by one (inline: a call per core costs reference counting),
        # found eight flags at a time (``flags8`` is ``flags`` seen as uint64).
        n_fired = 0
        if any_flag != 0:
            for w in range((m + np.uint64(7)) // np.uint64(8)):
                if flags8[w] == 0:
                    continue
                for i in range(w * np.uint64(8), min(w * np.uint64(8) + np.uint64(8), m)):
                    f = flags[i]
                    if f == 0:
                        continue
                    c = c0 + i
                    fire, ou, ov = (f & 1) != 0, (f & 2) != 0, (f & 4) != 0
                    if f & 8:
                        x = ((np.int64(acc_now[r0 + i]) << el) >> er) if fused else a_in[i]
                        nu, nv, nr, fire, ou, ov = _neuron(
                            np.int64(u[c]), np.int64(v[c]), np.int64(ref[c]), x, f_u[c],
                            f_v[c], bias[c], vth[c], refractory[c], decay_bits, input_shift,
                            half_u, half_v, wu, wv, ge)
                        u[c] = nu
                        v[c] = nv
                        ref[c] = nr
                    if ou:
                        # Past the ceiling: saturated to it (u > 0), or wrapped to u <= 0.
                        k = 2 if (u[c] > 0) == (wu != 0) else 0
                        if first[k, 0] < 0:
                            first[k, 0] = t
                            first[k, 1] = c
                        ovf[k] += 1
                        if strict:
                            return n_spikes, True
                    if ov:
                        # Past the ceiling: saturated there (then it fired, or v > 0
                        # for a read-out), or wrapped below zero without firing.
                        k = 3 if (fire or v[c] > 0) == (wv != 0) else 1
                        if first[k, 0] < 0:
                            first[k, 0] = t
                            first[k, 1] = c
                        ovf[k] += 1
                        if strict:
                            return n_spikes, True
                    if fire:
                        spike_t[n_spikes] = t
                        spike_c[n_spikes] = c
                        n_spikes += 1
                        n_fired += 1
        if fused:
            for i in range(m):
                acc_now[r0 + i] = 0
        cnt[UPDATES_ACTIVE, t, j] += active
        cnt[UPDATES_INACTIVE, t, j] += np.int64(m) - active
        cnt[SPIKES_OUT, t, j] += n_fired
    return n_spikes, False


@njit(cache=True)
def run_loihi(t0, steps, spike_t, spike_c, n_spikes, rt, acc, cnt, u, v, ref, f_u, f_v, bias,
              vth, refractory, block_exp, core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu,
              cfg_fv, cfg_bias, cfg_vth, cfg_refr, cfg_relay, core_relay_ptr, relay_local,
              decay_bits, input_shift, half_u,
              half_v, wrap_u, wrap_v, ge, strict, in_ptr, in_src, probe, u_out, v_out, ovf,
              first):
    """Run steps ``t0`` .. ``steps - 1``, updating the state arrays in place.

    Spikes are appended to ``spike_t``/``spike_c`` from ``n_spikes`` on. Returns
    ``(n_spikes, t, stopped)``: ``t`` is the next step to run (``steps`` when done, earlier
    when the spike buffer might not hold step ``t``: call again with a bigger one), and
    ``stopped`` is -1 or the step at which strict mode met an overflow (``first`` holds
    its (step, compartment) per variable).

    Within a step: core after core, drain and update its compartments; then deliver
    the step's spikes; the probes; then the input events of the step.
    """
    n_cols = rt.core_comp_ptr.shape[0] - 1
    n_comp = rt.comp_col.shape[0]
    max_core = 1
    for j in range(n_cols):
        size = rt.core_comp_ptr[j + 1] - rt.core_comp_ptr[j]
        if size > max_core:
            max_core = size
    a_in = np.zeros(max_core, dtype=np.int64)
    had = np.zeros(max_core, dtype=np.uint8)
    flags8 = np.zeros((max_core + 7) // 8, dtype=np.uint64)
    flags = flags8.view(np.uint8)
    cap = spike_t.shape[0]
    n_slots = rt.n_slots
    for t in range(t0, steps):
        if n_spikes + n_comp > cap:
            return n_spikes, t, -1
        step_start = n_spikes
        n_spikes, stop = _update_cores(
            t, t % n_slots, rt, acc, cnt, u, v, ref, f_u, f_v, bias, vth, refractory, block_exp,
            core_seg_ptr, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv, cfg_bias, cfg_vth,
            cfg_refr, cfg_relay, core_relay_ptr, relay_local, decay_bits, input_shift, half_u,
            half_v, wrap_u, wrap_v, ge, strict, a_in, had, flags, flags8, spike_t, spike_c,
            n_spikes,
            ovf, first)
        if stop:
            return n_spikes, t, t
        # All of the step's spikes in one list: the delivery prefetches along it.
        deliver_many(rt, spike_c, step_start, n_spikes, t, acc, cnt)
        for k in range(probe.shape[0]):
            u_out[t, k] = u[probe[k]]
            v_out[t, k] = v[probe[k]]
        deliver_many(rt, in_src, in_ptr[t], in_ptr[t + 1], t, acc, cnt)
    return n_spikes, steps, -1


@njit(cache=True, parallel=True)
def run_loihi_threads(t0, steps, spike_t, spike_c, n_spikes, rt, comp_ptrs, n_ptr, block_ptrs,
                      rows, accs, cnt_u, cnt_d, u, v, ref, f_u, f_v, bias, vth, refractory,
                      block_exp, seg_ptrs, seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv, cfg_bias,
                      cfg_vth, cfg_refr, cfg_relay, relay_ptrs, relay_local, decay_bits,
                      input_shift, half_u, half_v, wrap_u, wrap_v, ge, strict, in_ptr, in_src,
                      probe, u_out, v_out, ovfs, firsts):
    """:func:`run_loihi` in pieces, one thread each (:func:`_run_threads`), same calling
    convention; per piece ``k``: its cores' ``core_comp_ptr`` (``comp_ptrs[k, :n_ptr[k]]``),
    the block, segment and relay pointers from its first core on, its accumulator rows
    ``rows[k] .. rows[k + 1] - 1``, and its own ring buffer, counters and overflow records
    (a leading piece axis).

    Within a step: each piece adds its rows of the other pieces' ring buffers into the
    first one's, then updates its cores (:func:`_update_cores`, into its own spike list);
    the pieces' spikes are appended in core order (one thread's order); each piece
    delivers a share of the step's spikes and input events into its own ring buffer and
    counters. Compiled only for a run of several pieces.
    """
    pieces = accs.shape[0]
    n_comp = rt.comp_col.shape[0]
    max_core = 1
    max_piece = 1
    for k in range(pieces):
        p0 = comp_ptrs[k, 0]
        max_piece = max(max_piece, comp_ptrs[k, n_ptr[k] - 1] - p0)
        for j in range(n_ptr[k] - 1):
            max_core = max(max_core, comp_ptrs[k, j + 1] - comp_ptrs[k, j])
    a_in = np.zeros((pieces, max_core), dtype=np.int64)
    had = np.zeros((pieces, max_core), dtype=np.uint8)
    flags8 = np.zeros((pieces, (max_core + 7) // 8), dtype=np.uint64)
    own_t = np.empty((pieces, max_piece), dtype=spike_t.dtype)
    own_c = np.empty((pieces, max_piece), dtype=spike_c.dtype)
    fired = np.zeros(pieces, dtype=np.int64)
    stops = np.zeros(pieces, dtype=np.bool_)
    cap = spike_t.shape[0]
    n_slots = rt.n_slots
    # The Routing's fields, for a piece's Routing made inside the parallel loops (Numba
    # passes only arrays and scalars into them).
    (src, route, route_bits, syn, syn_vbits, syn_delay, delay, _, block_row, block_comp,
     block_size, block_key, block_axon, _, _, comp_col, comp_relay) = rt
    for t in range(t0, steps):
        if n_spikes + n_comp > cap:
            return n_spikes, t, -1
        slot = t % n_slots
        for kk in prange(pieces):
            k = np.int64(kk)
            for q in range(1, pieces):
                for r in range(rows[k], rows[k + 1]):
                    accs[0, slot, r] += accs[q, slot, r]
                    accs[q, slot, r] = 0
            mine = Routing(src, route, route_bits, syn, syn_vbits, syn_delay, delay, n_slots,
                           block_row, block_comp, block_size, block_key, block_axon,
                           block_ptrs[k], comp_ptrs[k, :n_ptr[k]], comp_col, comp_relay)
            n, stop = _update_cores(
                t, slot, mine, accs[0], cnt_u[k], u, v, ref, f_u, f_v, bias, vth, refractory,
                block_exp, seg_ptrs[k], seg_start, seg_stop, seg_cfg, cfg_fu, cfg_fv, cfg_bias,
                cfg_vth, cfg_refr, cfg_relay, relay_ptrs[k], relay_local, decay_bits,
                input_shift, half_u, half_v, wrap_u, wrap_v, ge, strict, a_in[k], had[k],
                flags8[k].view(np.uint8), flags8[k], own_t[k], own_c[k], np.int64(0), ovfs[k],
                firsts[k])
            fired[k] = n
            stops[k] = stop
        step_start = n_spikes
        for k in range(pieces):
            if stops[k]:
                return n_spikes, t, t
            for i in range(fired[k]):
                spike_t[n_spikes] = t
                spike_c[n_spikes] = own_c[k, i]
                n_spikes += 1
        n_out = n_spikes - step_start
        i0 = in_ptr[t]
        n_in = in_ptr[t + 1] - i0
        for kk in prange(pieces):
            k = np.int64(kk)
            whole = Routing(src, route, route_bits, syn, syn_vbits, syn_delay, delay, n_slots,
                            block_row, block_comp, block_size, block_key, block_axon,
                            block_ptrs[0], comp_ptrs[0, :n_ptr[0]], comp_col, comp_relay)
            deliver_many(whole, spike_c, step_start + n_out * k // pieces,
                         step_start + n_out * (k + 1) // pieces, t, accs[k], cnt_d[k])
            deliver_many(whole, in_src, i0 + n_in * k // pieces, i0 + n_in * (k + 1) // pieces, t,
                         accs[k], cnt_d[k])
        for k in range(probe.shape[0]):
            u_out[t, k] = u[probe[k]]
            v_out[t, k] = v[probe[k]]
    return n_spikes, steps, -1
