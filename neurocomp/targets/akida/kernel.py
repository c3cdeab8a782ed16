"""The Akida neuron (``akida``): one AKD1000 layer per population, one frame per step.

What one step (one Akida *frame*) computes for compartment ``c`` (``docs/chips/akida_neuron.md``
derives every line from BrainChip's engine, pip ``akida`` 2.19.3, and
``tests/test_akida_vendor.py`` checks it integer for integer; the integers are those of
:mod:`neurocomp.targets.akida.quantize`)::

    pot = Σ_projections p  in_scale[c, p] · Σ_{events e of p that arrived} w_e · a_e   (int64)
          (a max_pool projection: max_e (w_e · a_e) instead of the sum)
    pot = clamp(pot)        # numerics.state.v: saturate (or wrap) at its width, if given
    act_bits >= 1 (LIF):    a = clip(ceil((pot - threshold) / act_step), 0, 2^act_bits - 1)
                            ('>=': floor((pot - threshold) / act_step) + 1 when pot >= threshold)
    act_bits == 0 (LI):     a = pot          # the engine's activation=False: the potential
    event  = a != 0         # sent with its value a; an LI population sends only if it has targets
    v      = 0 if event and act_bits >= 1 else pot      # what the probes read

``a_e`` is the value of the event (an activation of 1, 2 or 4 bits, a potential of an
activation-off layer, or a pixel of an 8-bit input frame); with ``act_bits = 1``
``a = 1`` exactly when ``pot > threshold``, the binary spike. The engine's own variable
``act_step`` is ours divided by ``2^(4 - act_bits)``. Convolutions, separable convolutions
(a depthwise conv into an activation-off population, then a 1x1 conv), global average
pooling (an activation-off population, then a ``sum_pool`` over the whole map: the
engine sums, it divides nothing) and max pooling (a ``max_pool`` projection) are all
synapses of this one rule.

Nothing is carried from one step to the next (an Akida layer computes each frame from
that frame's input events alone), so ``pot`` starts from 0 every step; there is no leak,
no bias, no refractory period and no synaptic current. An event sent at step ``t``
through a synapse of extra delay ``d`` is in the input of step ``t + 1 + d`` (Akida:
``d = 0``, so layer ``k`` of a feed-forward stack sees frame ``f`` at step ``f + k``).
``scale_shift`` only converts traces (``v_scale``) and is not read here.

Accumulation: an event of value ``a`` adds ``w · a`` into its class's row (``routing``
blocks keyed by the projection's scale); at the update each row is multiplied by its
scale and the rows are added, all in int64 (rows of a max-pool target keep the maximum).

Work counted (``Counters``): ``spikes_in``, ``synops``, ``messages_out`` and hops as the
shared routing counts them, one per event whatever its value; ``spikes_out`` per event
sent; an update is *active* exactly when it can produce anything: the step's ``pot``
(before the clamp) is nonzero, or the threshold lets the neuron fire at ``pot = 0``
(``threshold < 0``, or ``<= 0`` with ``>=``). A relay (``comp_pop == -1``) sends an
event of value 1 when anything reached it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numba import njit

from ...diagnostics import EmulationError, UsageError
from ...emulator.kernels import KernelInputs, KernelRun, chunk_of, overflow_sentence, where_is
from ...emulator.kernels.routing import (N_COUNTERS, SPIKES_OUT, SYN_HI, SYN_LO, UPDATES_ACTIVE, UPDATES_INACTIVE,
                                         Routing, RoutingInfo, count_routes, routing_tables, syn_row,
                                         syn_value)

__all__ = ["AkidaTables", "prepare", "run", "run_akida",
           "axon_scales", "overflow_message"]


_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


@dataclass(frozen=True, eq=False)
class AkidaTables:
    """Everything one Mapping needs, built once by :func:`prepare` and reused per run."""

    mapping: Any
    routing: Routing
    info: RoutingInfo
    threshold: np.ndarray  # int64 [n_comp]
    act_bits: np.ndarray  # int64 [n_comp]: 0 = activation off (the potential is the event)
    act_step: np.ndarray  # int64 [n_comp], >= 1: potential per activation level
    sends: np.ndarray  # uint8 [n_comp]: has targets (an activation-off neuron sends only then)
    row_max: np.ndarray  # uint8 [n_rows]: the row keeps the maximum (a max_pool target)
    free_fire: np.ndarray  # uint8 [n_comp]: fires with no input (threshold below 0)
    v_min: int  # state range (int64's when the chip file gives no width)
    v_max: int
    wrap: bool  # two's-complement wrap instead of saturation
    bits: int  # the state width (64 when none is given)
    ge: bool  # '>=' instead of '>'
    max_input: int  # the largest value an input event may carry (2^input_bits - 1)


def _param(mapping, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in mapping.params:
        raise UsageError(f"the Mapping has no Akida parameter '{key}'",
                         hint="quantize and compile the network for this chip again")
    values = np.asarray(mapping.params[key])
    if values.shape != shape:
        raise UsageError(f"the Akida parameter '{key}' has shape {values.shape}, expected {shape}")
    return np.ascontiguousarray(values, dtype=np.int64)


def axon_scales(mapping) -> np.ndarray:
    """int64 ``[n_axons]``: the integer scale of each axon's projection for its targets.

    Read from the ``in_scale`` parameter (``[n_comp, len(network.projections)]``, column
    ``p`` for ``network.projections[p]``) at the axon's neuron targets; every such target
    of one axon must agree, and the scale be positive. Relay-input axons (no
    projection), axons that reach only relays, and every axon of a Mapping without
    ``in_scale`` (a hand-built one) have scale 1.

    Raises
    ------
    UsageError
        When an axon's targets disagree or a scale is not positive (naming the
        projection and the compartment).
    """
    n_axons = mapping.n_axons
    scale = np.ones(n_axons, dtype=np.int64)
    if "in_scale" not in mapping.params or n_axons == 0:
        return scale
    columns = [p.name for p in mapping.network.projections]
    in_scale = _param(mapping, "in_scale", (mapping.n_comp, len(columns)))
    col_of = np.array([columns.index(name) if name in columns else -1
                       for name in mapping.projection_names], dtype=np.int64)
    ptr = np.asarray(mapping.axon_syn_ptr, dtype=np.int64)
    target = np.asarray(mapping.syn_target, dtype=np.int64)
    syn_axon = np.repeat(np.arange(n_axons, dtype=np.int64), np.diff(ptr))
    syn_proj = np.asarray(mapping.axon_projection, dtype=np.int64)[syn_axon]
    # Synapses of a projection onto a neuron (not a relay): these carry its scale.
    keep = (syn_proj >= 0) & (np.asarray(mapping.comp_pop, dtype=np.int64)[target] >= 0)
    k_axon, k_proj, k_target = syn_axon[keep], syn_proj[keep], target[keep]
    col = col_of[k_proj]
    if np.any(col < 0):
        k = int(np.argmax(col < 0))
        raise UsageError(f"projection '{mapping.projection_names[k_proj[k]]}' of the Mapping is not "
                         "a projection of its network", hint="compile the network again")
    value = in_scale[k_target, col]
    if value.size and value.min() <= 0:
        k = int(np.argmin(value))
        core, name = where_is(mapping, int(k_target[k]))
        raise UsageError(f"{name} (compartment {int(k_target[k])}, core {core}): projection "
                         f"'{mapping.projection_names[k_proj[k]]}' reaches it with in_scale "
                         f"{int(value[k])}; a scale must be a positive integer",
                         hint="quantize and compile the network for this chip again")
    # The first neuron target of each axon names its scale; the others must agree.
    order = np.arange(k_axon.size, dtype=np.int64)
    firsts = np.unique(k_axon, return_index=True)[1] if k_axon.size else order
    scale[k_axon[firsts]] = value[firsts]
    if np.any(value != scale[k_axon]):
        k = int(np.argmax(value != scale[k_axon]))
        raise UsageError(f"an axon of projection '{mapping.projection_names[k_proj[k]]}' reaches "
                         f"compartments of different in_scale ({int(scale[k_axon[k]])} and "
                         f"{int(value[k])}); one projection has one scale",
                         hint="quantize and compile the network for this chip again")
    return scale


def _max_pool_rows(mapping, rt: Routing, n_rows: int) -> np.ndarray:
    """uint8 ``[n_rows]``: 1 for the rows of compartments a ``max_pool`` projection feeds."""
    from ...ir.connectors import Pool2d

    names = {p.name for p in mapping.network.projections
             if isinstance(p.connector, Pool2d) and p.connector.kind == "max"}
    row_max = np.zeros(n_rows, dtype=np.uint8)
    if not names:
        return row_max
    proj = np.asarray(mapping.axon_projection, dtype=np.int64)
    ptr = np.asarray(mapping.axon_syn_ptr, dtype=np.int64)
    target = np.asarray(mapping.syn_target, dtype=np.int64)
    pooled = np.zeros(mapping.n_comp, dtype=bool)
    for a in np.flatnonzero([p >= 0 and mapping.projection_names[p] in names for p in proj]):
        pooled[target[ptr[a]:ptr[a + 1]]] = True
    for b in range(rt.block_row.shape[0]):
        c0, size, r0 = int(rt.block_comp[b]), int(rt.block_size[b]), int(rt.block_row[b])
        row_max[r0:r0 + size] = pooled[c0:c0 + size]
    return row_max


def prepare(mapping) -> AkidaTables:
    """The kernel's tables for an Akida Mapping (see the module docstring).

    Checks every neuron's ``act_bits`` (0, or one of the chip's
    ``numerics.activations.bits``) and ``act_step`` (a positive integer; 1 when the
    Mapping has none), the delays (``numerics.delay``) and the scales.

    Raises
    ------
    UsageError
        When a parameter is missing, of the wrong shape or out of range, naming the
        population, neuron and compartment.
    """
    chip = mapping.chip
    num = chip.numerics
    n = mapping.n_comp
    relay = np.asarray(mapping.comp_pop) == -1
    threshold = _param(mapping, "threshold", (n,))
    threshold[relay] = 0
    act_bits = _param(mapping, "act_bits", (n,))
    act_bits[relay] = 1
    act_step = (_param(mapping, "act_step", (n,)) if "act_step" in mapping.params
                else np.ones(n, dtype=np.int64))
    act_step[relay] = 1
    allowed = tuple(num.activations.bits) if num.activations is not None else (1,)
    bad = ~np.isin(act_bits, (0,) + allowed)
    if np.any(bad):
        c = int(np.argmax(bad))
        core, name = where_is(mapping, c)
        raise UsageError(f"{name} (compartment {c}, core {core}): act_bits = {int(act_bits[c])}: "
                         f"{chip.name} sends events of {', '.join(map(str, allowed))} bits "
                         f"(0: the potential itself, activation off)",
                         hint="quantize the network for this chip again")
    if np.any(act_step < 1):
        c = int(np.argmax(act_step < 1))
        core, name = where_is(mapping, c)
        raise UsageError(f"{name} (compartment {c}, core {core}): act_step = {int(act_step[c])}; "
                         "an activation step is a positive integer",
                         hint="quantize the network for this chip again")
    delays = np.asarray(mapping.syn_delay, dtype=np.int64)
    max_extra = num.delay.max_steps - num.delay.min_steps
    if delays.size and delays.max() > max_extra:
        raise UsageError(f"a synapse of the Mapping has a delay of "
                         f"{int(delays.max()) + num.delay.min_steps} steps; chip '{chip.name}' allows "
                         f"{num.delay.min_steps}..{num.delay.max_steps}")
    scale = axon_scales(mapping)
    # One accumulator class per scale: a projection's weighted events are summed, then scaled.
    rt, info = routing_tables(mapping, scale)
    state = num.state.get("v")
    if state is not None:
        bits = int(state.bits)
        v_min, v_max, wrap = -(1 << (bits - 1)), (1 << (bits - 1)) - 1, state.overflow == "wrap"
    else:
        bits, v_min, v_max, wrap = 64, int(_INT64_MIN), int(_INT64_MAX), False
    ge = chip.neuron.threshold_compare == ">="
    free_fire = ((threshold <= 0) if ge else (threshold < 0)) & ~relay & (act_bits > 0)
    route_ptr = np.asarray(mapping.route_ptr, dtype=np.int64)
    sends = (route_ptr[1:n + 1] > route_ptr[:n]).astype(np.uint8)
    in_bits = num.activations.input_bits if num.activations is not None else (1,)
    return AkidaTables(mapping=mapping, routing=rt, info=info, threshold=threshold, act_bits=act_bits,
                       act_step=act_step, sends=sends, row_max=_max_pool_rows(mapping, rt, info.n_rows),
                       free_fire=free_fire.astype(np.uint8), v_min=v_min, v_max=v_max, wrap=wrap,
                       bits=bits, ge=ge, max_input=(1 << max(in_bits)) - 1)


def _input_values(tb: AkidaTables, inputs: KernelInputs) -> np.ndarray:
    """int64 values of the input events (1 when the inputs carry none), range-checked."""
    n = inputs.in_src.shape[0]
    values = inputs.in_val
    if values is None:
        return np.ones(n, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    ints = np.rint(values)
    bad = (ints != values) | (ints < 0) | (ints > tb.max_input)
    if np.any(bad):
        k = int(np.argmax(bad))
        t = int(np.searchsorted(inputs.in_ptr, k, side="right") - 1)
        raise UsageError(f"an input event of step {t} carries the value {values[k]:g}; "
                         f"{tb.mapping.chip.name} takes input values that are whole numbers "
                         f"0..{tb.max_input}", hint="scale the input to unsigned integers (8-bit: 0..255)")
    return ints.astype(np.int64)


def run(tables: AkidaTables, inputs: KernelInputs) -> KernelRun:
    """One run from rest (nothing in flight) of ``inputs.steps`` steps.

    Returns the events with their values (``spike_value``).

    Raises
    ------
    EmulationError
        In strict mode, at the first saturation (or wrap) of a potential at the chip's
        state width.
    UsageError
        An input event whose value is not an unsigned integer of the chip's input width.
    """
    tb = tables
    n = tb.mapping.n_comp
    steps = int(inputs.steps)
    in_val = _input_values(tb, inputs)
    v = np.zeros(n, dtype=np.int64)
    acc = np.zeros(tb.info.acc_shape, dtype=np.int64)  # w · value: wider than the routing's rows
    cnt = np.zeros((N_COUNTERS, steps, tb.info.n_cols), dtype=np.int64)
    probe = np.ascontiguousarray(inputs.probe_comp, dtype=np.int64)
    v_out = np.zeros((steps, probe.size), dtype=np.int64)
    ovf = np.zeros(1, dtype=np.int64)
    first = np.full(2, -1, dtype=np.int64)
    args = (tb.routing, acc, cnt, v, tb.threshold, tb.act_bits, tb.act_step, tb.sends, tb.row_max,
            tb.free_fire, tb.v_min, tb.v_max, tb.wrap, tb.ge, bool(inputs.strict),
            np.ascontiguousarray(inputs.in_ptr, dtype=np.int64),
            np.ascontiguousarray(inputs.in_src, dtype=np.int64), in_val, probe, v_out, ovf, first)
    spike_t, spike_c, spike_a, n_spikes, stopped, wall_s = _run_resumable(steps, n, args, inputs.progress)
    if stopped >= 0:
        _raise_overflow(tb, int(first[0]), int(first[1]))
    first_overflow = {"v": (int(first[0]), int(first[1]))} if first[0] >= 0 else {}
    return KernelRun(spike_step=spike_t[:n_spikes].copy(), spike_comp=spike_c[:n_spikes].copy(),
                     spike_value=spike_a[:n_spikes].copy(),
                     counters=cnt, core_ids=tb.info.core_ids, traces={"v": v_out},
                     overflows={"v": int(ovf[0])}, first_overflow=first_overflow, wall_s=wall_s)


def _run_resumable(steps: int, n_comp: int, args: tuple,
                   progress: Callable[[int], None] | None = None) -> tuple:
    """:func:`~neurocomp.emulator.kernels.run_resumable` with a third buffer, the events'
    values: the loop stops when the next step might not fit, and is called again with
    buffers twice as big. With ``progress``, it runs in pieces of
    :func:`~neurocomp.emulator.kernels.chunk_of` steps and ``progress(steps run)`` is called
    after each (the state lives in ``args``, so the pieces change no result)."""
    cap = max(1024, 2 * n_comp)
    bufs = [np.empty(cap, dtype=np.int64) for _ in range(3)]
    run_akida(0, 0, bufs[0], bufs[1], bufs[2], 0, *args)  # compile (or load) first: wall_s is the run
    start = time.perf_counter()
    t, n_spikes, stopped = 0, 0, -1
    chunk = chunk_of(steps) if progress is not None else steps
    while True:
        end = min(t + chunk, steps)
        n_spikes, t, stopped = run_akida(t, end, bufs[0], bufs[1], bufs[2], n_spikes, *args)
        if progress is not None:
            progress(t)
        if t >= steps or stopped >= 0:
            break
        if t < end:  # stopped early: the buffers might not hold step t
            bufs = [np.concatenate([b, np.empty_like(b)]) for b in bufs]
    return bufs[0], bufs[1], bufs[2], n_spikes, stopped, time.perf_counter() - start


def _what(tb: AkidaTables) -> str:
    return "wrapped around" if tb.wrap else "saturated"


def _raise_overflow(tb: AkidaTables, step: int, comp: int) -> None:
    core, name = where_is(tb.mapping, comp)
    err = EmulationError(f"compartment {comp} ({name}): v {_what(tb)} at its "
                         f"{tb.bits}-bit limit at step {step}", where=f"core {core}",
                         hint="lower the weights or the number of events reaching it in one step, "
                              "or run with strict=False to count saturations instead")
    err.core, err.compartment, err.variable, err.step = core, comp, "v", step
    raise err


def overflow_message(tb: AkidaTables, result: KernelRun) -> str | None:
    """What saturated in a non-strict run, in words (``None`` when nothing did)."""
    return overflow_sentence(tb.mapping, result, "v", tb.wrap)


# --------------------------------------------------------------------------- the kernel


@njit(cache=True)
def _deliver(rt, row_max, sources, values, lo, hi, t, acc, cnt):
    """Send the events ``sources[lo:hi]`` (values ``values[lo:hi]``) of step ``t``.

    The routing's delivery (:func:`~neurocomp.emulator.kernels.routing.deliver`: its
    counts are :func:`~neurocomp.emulator.kernels.routing.count_routes`) with each
    synapse's weight multiplied by the event's value; a row of a max-pool target keeps the
    largest product instead of the sum.
    """
    n_slots = rt.n_slots
    has_delay = rt.syn_delay.shape[0] > 0
    for e in range(lo, hi):
        s = sources[e]
        a = values[e]
        count_routes(rt, s, t, cnt)
        for k in range(rt.src[s, SYN_LO], rt.src[s, SYN_HI]):
            row = syn_row(rt, k)
            x = syn_value(rt, k) * a
            extra = np.int64(rt.syn_delay[k]) if has_delay else np.int64(rt.delay)
            slot = (t + 1 + extra) % n_slots
            if row_max[row]:
                if x > acc[slot, row]:
                    acc[slot, row] = x
            else:
                acc[slot, row] += x


@njit(cache=True)
def _update_core(t, slot, c0, m, blk_lo, blk_hi, rt, acc, v, threshold, act_bits, act_step, sends,
                 free_fire, v_min, v_max, wrap, ge, strict, pot, fired, fired_a, ovf, first):
    """Step ``t`` of the compartments ``c0 .. c0 + m - 1`` of one core.

    Drains the core's rows of ``slot`` (blocks ``blk_lo .. blk_hi - 1``; each row's sum
    times its block's scale), then updates every compartment (module docstring) and
    writes the ones that sent an event to ``fired`` (their values to ``fired_a``), in
    order. Returns ``(n_fired, n_active, stop)``; ``stop`` is true when strict mode met
    an overflow (``first`` then holds its step and compartment).
    """
    pot[:m] = 0
    for b in range(blk_lo, blk_hi):
        row0 = rt.block_row[b]
        k = rt.block_key[b]
        for i in range(rt.block_size[b]):
            x = acc[slot, row0 + i]
            if x != 0:
                acc[slot, row0 + i] = 0
                pot[i] += x * k
    n_fired = 0
    active = 0
    for i in range(m):
        c = c0 + i
        p = pot[i]
        if rt.comp_relay[c]:
            # A relay fires iff a spike reached it (its rows only ever add): it keeps nothing.
            v[c] = 0
            if p != 0:
                active += 1
                fired[n_fired] = c
                fired_a[n_fired] = 1
                n_fired += 1
            continue
        if p != 0 or free_fire[c]:
            active += 1
        if p > v_max or p < v_min:
            if wrap:
                span = v_max - v_min + 1
                p = (p - v_min) % span + v_min
            else:
                p = v_max if p > v_max else v_min
            if first[0] < 0:
                first[0] = t
                first[1] = c
            ovf[0] += 1
            if strict:
                return n_fired, active, True
        bits = act_bits[c]
        if bits == 0:  # activation off: the potential is the event
            v[c] = p
            if p != 0 and sends[c]:
                fired[n_fired] = c
                fired_a[n_fired] = p
                n_fired += 1
            continue
        th = threshold[c]
        a = np.int64(0)
        if (p >= th) if ge else (p > th):
            a = 1
            if bits > 1:
                d = p - th  # >= 0 unless it wrapped (a threshold near int64's floor): then the top
                step = act_step[c]
                top = (np.int64(1) << bits) - 1
                if d < 0:
                    a = top
                else:
                    a = d // step + 1 if ge else (d - 1) // step + 1  # '>': ceil(d / step), d > 0
                    if a > top:
                        a = top
        if a > 0:
            v[c] = 0
            fired[n_fired] = c
            fired_a[n_fired] = a
            n_fired += 1
        else:
            v[c] = p
    return n_fired, active, False


@njit(cache=True)
def run_akida(t0, steps, spike_t, spike_c, spike_a, n_spikes, rt, acc, cnt, v, threshold, act_bits,
              act_step, sends, row_max, free_fire, v_min, v_max, wrap, ge, strict, in_ptr, in_src,
              in_val, probe, v_out, ovf, first):
    """Run steps ``t0 .. steps - 1``, updating ``v``, ``acc`` and ``cnt`` in place.

    Events are appended to ``spike_t``/``spike_c``/``spike_a`` (step, compartment,
    value) from ``n_spikes`` on. Returns ``(n_spikes, t, stopped)``: ``t`` is the next
    step to run (``steps`` when done, earlier when the buffers might not hold step ``t``:
    call again with bigger ones), and ``stopped`` is -1 or the step at which strict
    mode met an overflow.

    Within a step: core after core, drain and update its compartments; then deliver the
    step's events (they land in later slots, so the order never changes what the step
    read); the probes; then the input events of the step.
    """
    n_cols = rt.core_comp_ptr.shape[0] - 1
    n_comp = rt.comp_col.shape[0]
    max_core = 1
    for j in range(n_cols):
        size = rt.core_comp_ptr[j + 1] - rt.core_comp_ptr[j]
        if size > max_core:
            max_core = size
    pot = np.zeros(max_core, dtype=np.int64)
    fired = np.zeros(max_core, dtype=np.int64)
    fired_a = np.zeros(max_core, dtype=np.int64)
    cap = spike_t.shape[0]
    n_slots = rt.n_slots
    for t in range(t0, steps):
        if n_spikes + n_comp > cap:
            return n_spikes, t, -1
        slot = t % n_slots
        step_start = n_spikes
        for j in range(n_cols):
            c0 = rt.core_comp_ptr[j]
            m = rt.core_comp_ptr[j + 1] - c0
            n_fired, active, stop = _update_core(t, slot, c0, m, rt.core_block_ptr[j],
                                                 rt.core_block_ptr[j + 1], rt, acc, v, threshold,
                                                 act_bits, act_step, sends, free_fire, v_min, v_max,
                                                 wrap, ge, strict, pot, fired, fired_a, ovf, first)
            if stop:
                return n_spikes, t, t
            cnt[UPDATES_ACTIVE, t, j] += active
            cnt[UPDATES_INACTIVE, t, j] += m - active
            cnt[SPIKES_OUT, t, j] += n_fired
            for k in range(n_fired):
                spike_t[n_spikes] = t
                spike_c[n_spikes] = fired[k]
                spike_a[n_spikes] = fired_a[k]
                n_spikes += 1
        _deliver(rt, row_max, spike_c, spike_a, step_start, n_spikes, t, acc, cnt)
        for k in range(probe.shape[0]):
            v_out[t, k] = v[probe[k]]
        _deliver(rt, row_max, in_src, in_val, in_ptr[t], in_ptr[t + 1], t, acc, cnt)
    return n_spikes, steps, -1
