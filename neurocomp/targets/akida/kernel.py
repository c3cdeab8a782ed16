"""The Akida neuron (``akida``): one event-based integer layer per population, per frame.

What one step (one Akida *frame*) computes for compartment ``c`` (``docs/chips/akida_neuron.md``
derives it and says where each choice comes from; the integers are those of
:mod:`neurocomp.targets.akida.quantize`)::

    pot = Σ_projections p  in_scale[c, p] · Σ_{synapses k of p that delivered} w_k   (int64)
    pot = clamp(pot)        # numerics.state.v: saturate (or wrap) at its width, if given
    fire = pot > threshold  # '>=' when neuron.threshold_compare says so
    v    = 0 if fire else pot          # what the probes read at the end of the step

Nothing is carried from one step to the next (an Akida layer computes each frame from
that frame's input events alone), so ``pot`` starts from 0 every step; there is no leak,
no bias, no refractory period and no synaptic current. A spike sent at step ``t`` through
a synapse of extra delay ``d`` is in the input of step ``t + 1 + d`` (Akida: ``d = 0``, so
layer ``k`` of a feed-forward stack sees frame ``f`` at step ``f + k``).

Events carry the value 1 (``act_bits = 1``: binary spikes, the float model's). The chip's
wider activations (``act_bits`` 2 or 4, an event worth ``1 .. 2^act_bits - 1``) are not
emulated in this version: :func:`prepare` refuses them (see the page for how they would
enter). ``scale_shift`` only converts traces (``v_scale``) and is not read here.

Accumulation: the synapses of one projection add their integer weights into their
class's row (``routing`` blocks keyed by the projection's scale, so projections with one
scale share a row); at the update each row is multiplied by its scale in int64 and the
rows are added (in int64). A row holds one step's events; the routing sizes it (int16
when the sum of ``|w|`` into every row fits, else int32, which 8-bit weights cannot
overflow below 2**24 synapses into one neuron).

Work counted (``Counters``): ``spikes_in``, ``synops``, ``messages_out`` and hops by the
shared routing; ``spikes_out`` per firing compartment; an update is *active* exactly
when it can produce anything: the step's ``pot`` (before the clamp) is nonzero, or the
threshold lets the neuron fire at ``pot = 0`` (``threshold < 0``, or ``<= 0`` with
``>=``). No state is carried in to make it active otherwise. A relay
(``comp_pop == -1``) fires when a spike reached it, and is then active.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ...diagnostics import EmulationError, UsageError
from ...emulator.kernels import KernelInputs, KernelRun, overflow_sentence, run_resumable, where_is
from ...emulator.kernels.routing import (N_COUNTERS, SPIKES_OUT, UPDATES_ACTIVE, UPDATES_INACTIVE, Routing,
                      RoutingInfo, deliver_many, routing_tables)

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
    free_fire: np.ndarray  # uint8 [n_comp]: fires with no input (threshold below 0)
    v_min: int  # state range (int64's when the chip file gives no width)
    v_max: int
    wrap: bool  # two's-complement wrap instead of saturation
    bits: int  # the state width (64 when none is given)
    ge: bool  # '>=' instead of '>'


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


def prepare(mapping) -> AkidaTables:
    """The kernel's tables for an Akida Mapping (see the module docstring).

    Checks every neuron's ``act_bits`` (1 only, in this version; within the chip's
    ``numerics.activations.bits``), the delays (``numerics.delay``) and the scales.

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
    allowed = tuple(num.activations.bits) if num.activations is not None else (1,)
    bad = ~relay & ((act_bits != 1) | ~np.isin(act_bits, allowed))
    if np.any(bad):
        c = int(np.argmax(bad))
        core, name = where_is(mapping, c)
        b = int(act_bits[c])
        why = (f"{chip.name} sends events of {', '.join(map(str, allowed))} bits" if b not in allowed
               else "graded events (act_bits > 1) are not emulated in this version")
        raise UsageError(f"{name} (compartment {c}, core {core}): act_bits = {b}: {why}",
                         hint="quantize the network for this chip again (binary spikes: act_bits = 1)")
    delays = np.asarray(mapping.syn_delay, dtype=np.int64)
    max_extra = num.delay.max_steps - num.delay.min_steps
    if delays.size and delays.max() > max_extra:
        raise UsageError(f"a synapse of the Mapping has a delay of "
                         f"{int(delays.max()) + num.delay.min_steps} steps; chip '{chip.name}' allows "
                         f"{num.delay.min_steps}..{num.delay.max_steps}")
    scale = axon_scales(mapping)
    # One accumulator class per scale: a projection's weights are summed, then scaled.
    rt, info = routing_tables(mapping, scale)
    state = num.state.get("v")
    if state is not None:
        bits = int(state.bits)
        v_min, v_max, wrap = -(1 << (bits - 1)), (1 << (bits - 1)) - 1, state.overflow == "wrap"
    else:
        bits, v_min, v_max, wrap = 64, int(_INT64_MIN), int(_INT64_MAX), False
    ge = chip.neuron.threshold_compare == ">="
    free_fire = ((threshold <= 0) if ge else (threshold < 0)) & ~relay
    return AkidaTables(mapping=mapping, routing=rt, info=info, threshold=threshold,
                       free_fire=free_fire.astype(np.uint8), v_min=v_min, v_max=v_max, wrap=wrap,
                       bits=bits, ge=ge)


def run(tables: AkidaTables, inputs: KernelInputs) -> KernelRun:
    """One run from rest (nothing in flight) of ``inputs.steps`` steps.

    Raises
    ------
    EmulationError
        In strict mode, at the first saturation (or wrap) of a potential at the chip's
        state width.
    """
    tb = tables
    n = tb.mapping.n_comp
    steps = int(inputs.steps)
    v = np.zeros(n, dtype=np.int64)
    acc = np.zeros(tb.info.acc_shape, dtype=tb.info.acc_dtype)
    cnt = np.zeros((N_COUNTERS, steps, tb.info.n_cols), dtype=np.int64)
    probe = np.ascontiguousarray(inputs.probe_comp, dtype=np.int64)
    v_out = np.zeros((steps, probe.size), dtype=np.int64)
    ovf = np.zeros(1, dtype=np.int64)
    first = np.full(2, -1, dtype=np.int64)
    args = (tb.routing, acc, cnt, v, tb.threshold, tb.free_fire, tb.v_min, tb.v_max, tb.wrap, tb.ge,
            bool(inputs.strict), np.ascontiguousarray(inputs.in_ptr, dtype=np.int64),
            np.ascontiguousarray(inputs.in_src, dtype=np.int64), probe, v_out, ovf, first)
    spike_t, spike_c, n_spikes, stopped, wall_s = run_resumable(run_akida, steps, n, args, np.int64)
    if stopped >= 0:
        _raise_overflow(tb, int(first[0]), int(first[1]))
    first_overflow = {"v": (int(first[0]), int(first[1]))} if first[0] >= 0 else {}
    return KernelRun(spike_step=spike_t[:n_spikes].copy(), spike_comp=spike_c[:n_spikes].copy(),
                     counters=cnt, core_ids=tb.info.core_ids, traces={"v": v_out},
                     overflows={"v": int(ovf[0])}, first_overflow=first_overflow, wall_s=wall_s)


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
def _update_core(t, slot, c0, m, blk_lo, blk_hi, rt, acc, v, threshold, free_fire, v_min, v_max,
                 wrap, ge, strict, pot, fired, ovf, first):
    """Step ``t`` of the compartments ``c0 .. c0 + m - 1`` of one core.

    Drains the core's rows of ``slot`` (blocks ``blk_lo .. blk_hi - 1``; each row's sum
    times its block's scale), then updates every compartment (module docstring) and
    writes the ones that fired to ``fired``, in order. Returns ``(n_fired, n_active,
    stop)``; ``stop`` is true when strict mode met an overflow (``first`` then holds its
    step and compartment).
    """
    pot[:m] = 0
    for b in range(blk_lo, blk_hi):
        row0 = rt.block_row[b]
        k = rt.block_key[b]
        for i in range(rt.block_size[b]):
            x = acc[slot, row0 + i]
            if x != 0:
                acc[slot, row0 + i] = 0
                pot[i] += np.int64(x) * k
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
        fire = p >= threshold[c] if ge else p > threshold[c]
        if fire:
            v[c] = 0
            fired[n_fired] = c
            n_fired += 1
        else:
            v[c] = p
    return n_fired, active, False


@njit(cache=True)
def run_akida(t0, steps, spike_t, spike_c, n_spikes, rt, acc, cnt, v, threshold, free_fire, v_min,
              v_max, wrap, ge, strict, in_ptr, in_src, probe, v_out, ovf, first):
    """Run steps ``t0 .. steps - 1``, updating ``v``, ``acc`` and ``cnt`` in place.

    Spikes are appended to ``spike_t``/``spike_c`` from ``n_spikes`` on. Returns
    ``(n_spikes, t, stopped)``: ``t`` is the next step to run (``steps`` when done,
    earlier when the spike buffer might not hold step ``t``: call again with a bigger
    one), and ``stopped`` is -1 or the step at which strict mode met an overflow.

    Within a step: core after core, drain and update its compartments; then deliver the
    step's spikes (they land in later slots, so the order never changes what the step
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
                                                 free_fire, v_min, v_max, wrap, ge, strict, pot, fired,
                                                 ovf, first)
            if stop:
                return n_spikes, t, t
            cnt[UPDATES_ACTIVE, t, j] += active
            cnt[UPDATES_INACTIVE, t, j] += m - active
            cnt[SPIKES_OUT, t, j] += n_fired
            for k in range(n_fired):
                spike_t[n_spikes] = t
                spike_c[n_spikes] = fired[k]
                n_spikes += 1
        deliver_many(rt, spike_c, step_start, n_spikes, t, acc, cnt)
        for k in range(probe.shape[0]):
            v_out[t, k] = v[probe[k]]
        deliver_many(rt, in_src, in_ptr[t], in_ptr[t + 1], t, acc, cnt)
    return n_spikes, steps, -1
