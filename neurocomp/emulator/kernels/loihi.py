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

import numpy as np
from numba import njit

from ...diagnostics import EmulationError, UsageError
from . import KernelInputs, KernelRun
from .routing import (N_COUNTERS, SPIKES_OUT, UPDATES_ACTIVE, UPDATES_INACTIVE, Routing,
                      RoutingInfo, deliver, routing_tables)

__all__ = ["TRACES", "GRADED_INPUTS", "VARIABLES", "LoihiTables", "prepare", "run",
           "overflow_message"]

TRACES = {"voltage": "v", "current": "u"}
GRADED_INPUTS = False  # Loihi 1 spikes carry no payload
VARIABLES = ("u", "v")  # codes 0, 1 in the kernel's overflow records

_OVERFLOW_CODES = {"wrap": 0, "saturate": 1}


@dataclass(frozen=True, eq=False)
class LoihiTables:
    """Everything one Mapping needs, built once by :func:`prepare` and reused per run."""

    mapping: Any
    routing: Routing
    info: RoutingInfo
    f_u: np.ndarray  # int32 [n_comp]: 2**D - (du + offset_u)
    f_v: np.ndarray  # int32 [n_comp]: 2**D - (dv + offset_v)
    bias: np.ndarray  # int32 [n_comp]: bias_mant shifted by bias_exp
    vth: np.ndarray  # int32 [n_comp]: vth_mant << threshold.shift
    refractory: np.ndarray  # int32 [n_comp]
    block_exp: np.ndarray  # int64 [n_blocks]: weight exponent of each accumulator class
    # scalars: decay bits, input shift, u/v half ranges and overflow modes, '>=' flag
    decay_bits: int
    input_shift: int
    half_u: int
    half_v: int
    wrap_u: int
    wrap_v: int
    ge: bool
    state_dtype: np.dtype


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
    widest = max(su.bits, sv.bits)
    state_dtype = np.dtype(np.int32 if widest <= 30 else np.int64)
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

    exp = np.asarray(mapping.axon_weight_exp, dtype=np.int64)
    proj = np.asarray(mapping.axon_projection, dtype=np.int64)
    # Classes: one per exponent >= 0; one per (projection, exponent) below 0, because
    # floor(a / 2**k) + floor(b / 2**k) is not floor((a + b) / 2**k).
    key = np.where(exp >= 0, exp, -((proj + 1) * 256 + (-exp)))
    rt, info = routing_tables(mapping, key)
    block_exp = exp[rt.block_axon] if rt.block_axon.size else np.zeros(0, dtype=np.int64)
    return LoihiTables(
        mapping=mapping, routing=rt, info=info,
        f_u=f_u.astype(np.int32), f_v=f_v.astype(np.int32), bias=bias.astype(np.int32),
        vth=vth.astype(np.int32), refractory=refractory.astype(np.int32),
        block_exp=np.ascontiguousarray(block_exp, dtype=np.int64),
        decay_bits=bits, input_shift=int(num.input_shift),
        half_u=1 << (su.bits - 1), half_v=1 << (sv.bits - 1),
        wrap_u=_OVERFLOW_CODES[su.overflow], wrap_v=_OVERFLOW_CODES[sv.overflow],
        ge=chip.neuron.threshold_compare == ">=", state_dtype=state_dtype,
    )


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
    ref = np.zeros(n, dtype=np.int32)
    acc = np.zeros(tb.info.acc_shape, dtype=np.int32)
    cnt = np.zeros((N_COUNTERS, steps, tb.info.n_cols), dtype=np.int64)
    probe = np.ascontiguousarray(inputs.probe_comp, dtype=np.int64)
    u_out = np.zeros((steps, probe.size), dtype=np.int64)
    v_out = np.zeros((steps, probe.size), dtype=np.int64)
    ovf = np.zeros(2, dtype=np.int64)
    first = np.full((2, 2), -1, dtype=np.int64)
    args = (tb.routing, acc, cnt, u, v, ref, tb.f_u, tb.f_v, tb.bias, tb.vth, tb.refractory,
            tb.block_exp, tb.decay_bits, tb.input_shift, tb.half_u, tb.half_v, tb.wrap_u,
            tb.wrap_v, tb.ge, bool(inputs.strict),
            np.ascontiguousarray(inputs.in_ptr, dtype=np.int64),
            np.ascontiguousarray(inputs.in_src, dtype=np.int64),
            probe, u_out, v_out, ovf, first)
    # A run of 0 steps compiles the kernel (or loads it from Numba's cache), so the timed
    # call below measures the emulation alone.
    run_loihi(0, *args)
    start = time.perf_counter()
    spike_t, spike_c, n_spikes, stopped = run_loihi(steps, *args)
    wall_s = time.perf_counter() - start
    if stopped >= 0:
        code = 0 if first[0, 0] >= 0 else 1
        _raise_overflow(tb, VARIABLES[code], int(first[code, 0]), int(first[code, 1]))
    overflows = {name: int(ovf[i]) for i, name in enumerate(VARIABLES)}
    first_overflow = {name: (int(first[i, 0]), int(first[i, 1]))
                      for i, name in enumerate(VARIABLES) if first[i, 0] >= 0}
    return KernelRun(spike_step=spike_t[:n_spikes].copy(), spike_comp=spike_c[:n_spikes].copy(),
                     counters=cnt, core_ids=tb.info.core_ids,
                     traces={"u": u_out, "v": v_out}, overflows=overflows,
                     first_overflow=first_overflow, wall_s=wall_s)


def _where(tb: LoihiTables, comp: int) -> tuple[int, str]:
    m = tb.mapping
    core = int(m.comp_core[comp])
    pop = int(m.comp_pop[comp])
    name = "a relay" if pop < 0 else f"population '{m.population_names[pop]}' neuron {int(m.comp_index[comp])}"
    return core, name


def _raise_overflow(tb: LoihiTables, var: str, step: int, comp: int) -> None:
    core, name = _where(tb, comp)
    what = "wrapped around" if (tb.wrap_u if var == "u" else tb.wrap_v) == 0 else "saturated"
    bits = (tb.half_u if var == "u" else tb.half_v).bit_length()
    err = EmulationError(f"core {core}, compartment {comp} ({name}): {var} {what} at its "
                         f"{bits}-bit limit at step {step}",
                         where=f"core {core}",
                         hint="lower the weights or the weight exponent of the projections into "
                              "it, or run with strict=False to count overflows instead")
    err.core, err.compartment, err.variable, err.step = core, comp, var, step
    raise err


def overflow_message(tb: LoihiTables, result: KernelRun) -> str | None:
    """What overflowed in a non-strict run, in words (``None`` when nothing did)."""
    parts = []
    for var in VARIABLES:
        count = result.overflows.get(var, 0)
        if count:
            step, comp = result.first_overflow[var]
            core, name = _where(tb, comp)
            what = "wrapped" if (tb.wrap_u if var == "u" else tb.wrap_v) == 0 else "saturated"
            parts.append(f"{var} {what} {count} time{'s' if count != 1 else ''} (first: step "
                         f"{step}, core {core}, compartment {comp}, {name})")
    return "; ".join(parts) if parts else None


# --------------------------------------------------------------------------- the kernel


@njit(cache=True, inline="always")
def _trunc_decay(x, factor, bits):
    """``sign(x·factor) · (|x·factor| >> bits)`` in int64: decay rounded toward zero."""
    p = np.int64(x) * np.int64(factor)
    if p >= 0:
        return p >> bits
    return -((-p) >> bits)


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
def _grow(a, n):
    b = np.empty(2 * a.shape[0], dtype=a.dtype)
    b[:n] = a[:n]
    return b


@njit(cache=True)
def run_loihi(steps, rt, acc, cnt, u, v, ref, f_u, f_v, bias, vth, refractory, block_exp,
              decay_bits, input_shift, half_u, half_v, wrap_u, wrap_v, ge, strict,
              in_ptr, in_src, probe, u_out, v_out, ovf, first):
    """Run ``steps`` steps; returns (spike steps, spike compartments, count, stopped step).

    ``stopped`` is -1, or the step at which strict mode met an overflow (``first``
    holds its (step, compartment) per variable). State arrays are updated in place.
    """
    n_cols = rt.core_comp_ptr.shape[0] - 1
    max_core = 1
    for j in range(n_cols):
        size = rt.core_comp_ptr[j + 1] - rt.core_comp_ptr[j]
        if size > max_core:
            max_core = size
    a_in = np.zeros(max_core, dtype=np.int64)
    had = np.zeros(max_core, dtype=np.uint8)
    cap = 1024
    spike_t = np.empty(cap, dtype=np.int64)
    spike_c = np.empty(cap, dtype=np.int64)
    n_spikes = 0
    n_slots = rt.n_slots
    for t in range(steps):
        slot = t % n_slots
        for j in range(n_cols):
            c0 = rt.core_comp_ptr[j]
            c1 = rt.core_comp_ptr[j + 1]
            m = c1 - c0
            a_in[:m] = 0
            had[:m] = 0
            # Dense: each class's sum shifted by its exponent, then the classes added.
            for b in range(rt.core_block_ptr[j], rt.core_block_ptr[j + 1]):
                row0 = rt.block_row[b]
                e = block_exp[b]
                for i in range(m):
                    x = acc[slot, row0 + i]
                    if x != 0:
                        acc[slot, row0 + i] = 0
                        had[i] = 1
                        if e >= 0:
                            a_in[i] += np.int64(x) << e
                        else:
                            a_in[i] += np.int64(x) >> (-e)
            active = 0
            for i in range(m):
                c = c0 + i
                if rt.comp_relay[c] != 0:
                    # A relay fires iff a spike reached it; it has no other state.
                    if had[i] != 0:
                        active += 1
                        cnt[SPIKES_OUT, t, j] += 1
                        if n_spikes == spike_t.shape[0]:
                            spike_t = _grow(spike_t, n_spikes)
                            spike_c = _grow(spike_c, n_spikes)
                        spike_t[n_spikes] = t
                        spike_c[n_spikes] = c
                        n_spikes += 1
                        deliver(rt, c, t, acc, cnt)
                    continue
                u0 = np.int64(u[c])
                v0 = np.int64(v[c])
                if a_in[i] == 0 and u0 == 0 and v0 == 0 and bias[c] == 0 and ref[c] == 0 \
                        and not (ge and vth[c] <= 0):
                    continue  # at rest: nothing changes (a decay of 0 is 0), no spike
                active += 1
                uu = _trunc_decay(u0, f_u[c], decay_bits) + (a_in[i] << input_shift)
                uu, hit = _fold(uu, half_u, wrap_u)
                if hit:
                    if first[0, 0] < 0:
                        first[0, 0] = t
                        first[0, 1] = c
                    ovf[0] += 1
                    if strict:
                        return spike_t, spike_c, n_spikes, t
                u[c] = uu
                if ref[c] > 0:
                    v[c] = 0
                    ref[c] -= 1
                    continue
                vv = _trunc_decay(v0, f_v[c], decay_bits) + uu + bias[c]
                vv, hit = _fold(vv, half_v, wrap_v)
                if hit:
                    if first[1, 0] < 0:
                        first[1, 0] = t
                        first[1, 1] = c
                    ovf[1] += 1
                    if strict:
                        return spike_t, spike_c, n_spikes, t
                fire = vv >= vth[c] if ge else vv > vth[c]
                if fire:
                    vv = 0
                    ref[c] = refractory[c]
                    cnt[SPIKES_OUT, t, j] += 1
                    if n_spikes == spike_t.shape[0]:
                        spike_t = _grow(spike_t, n_spikes)
                        spike_c = _grow(spike_c, n_spikes)
                    spike_t[n_spikes] = t
                    spike_c[n_spikes] = c
                    n_spikes += 1
                    deliver(rt, c, t, acc, cnt)
                v[c] = vv
            cnt[UPDATES_ACTIVE, t, j] += active
            cnt[UPDATES_INACTIVE, t, j] += m - active
        for k in range(probe.shape[0]):
            u_out[t, k] = u[probe[k]]
            v_out[t, k] = v[probe[k]]
        for e in range(in_ptr[t], in_ptr[t + 1]):
            deliver(rt, in_src[e], t, acc, cnt)
    return spike_t, spike_c, n_spikes, -1
