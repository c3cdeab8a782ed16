"""The TrueNorth neuron (Cassidy et al. 2013, as NeMo implements it), bit for bit.

One tick of one neuron ``j``, in this order (``docs/chips/truenorth_neuron.md`` derives
every step and says where each choice comes from)::

    1. synaptic integration, every axon event of the tick:
           deterministic type g:  V += n_g · s[g]          (n_g: events of type g)
           stochastic type g:     per event, draw ρ;  V += sgn(s[g]) if |s[g]| >= ρ
       V = clamp(V)
    2. leak, Ω = 1 (leak_reversal = 0) or sgn(V) (leak_reversal = 1):
           deterministic:  V' = V + Ω·λ
           stochastic:     draw ρ;  V' = V + Ω·sgn(λ) if |λ| >= ρ else V
       leak reversal never crosses 0: V' = 0 when sgn(V') != sgn(V)  (NeMo "ringing")
       V = clamp(V')
    3. threshold, η = 0, or a draw ρ_T & M with M = 2**threshold_mask - 1:
           V >= α + η  -> spike; reset mode γ: 0 normal V = R; 1 linear V -= α + η; 2 none
           else V < -(β·κ + (β + η)(1 - κ)) -> κ = 1: V = -β (saturate at the floor);
                κ = 0: mirrored reset, γ 0: V = -R; 1: V += β + η; 2: V unchanged
       V = clamp(V)

``clamp`` is the state width (``chip.numerics.state.v``): saturation to
``[-2**(b-1), 2**(b-1) - 1]``, or two's-complement wrap when the chip file says ``wrap``.
The threshold test is ``>=`` (``chip.neuron.threshold_compare``; ``>`` is honoured when a
chip file says so). A relay compartment (``comp_pop == -1``, a splitter) fires in the tick
any spike reaches it and has no state.

Random numbers come from one xorshift32 generator per core (Marsaglia 2003: ``x ^= x <<
13; x ^= x >> 17; x ^= x << 5`` on 32 bits), seeded by :func:`core_seeds` from the run's
seed (``KernelInputs.seed``: ``emulate(..., seed=)``, default 0) and the core's id, so
runs are reproducible and a core's stream ignores the other cores. A draw steps
the generator once; ρ is its low ``chip.numerics.prng_bits`` bits, ρ_T its low 32 bits
(masked by ``M``). Within a tick a core's compartments draw in ascending order, each in
the order: its synaptic events (type 0 to 3, one draw per event of a stochastic type),
then its leak (when the leak is stochastic), then its threshold (when ``M > 0``). A draw
happens whenever the mode is on, whatever the state, so the sequence does not depend on
the potentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import numpy as np
from numba import njit

from ...diagnostics import EmulationError, UsageError
from ...emulator.kernels import KernelInputs, KernelRun, overflow_sentence, run_resumable, where_is
from ...emulator.kernels.routing import (N_COUNTERS, SPIKES_OUT, UPDATES_ACTIVE, UPDATES_INACTIVE, Routing,
                      RoutingInfo, deliver, routing_tables)

__all__ = [
    "RESET_NORMAL", "RESET_LINEAR", "RESET_NONE", "MASK32",
    "NeuronParams", "NeuronNumerics", "TrueNorthTables", "neuron_params", "neuron_numerics",
    "core_seeds", "xorshift32", "stochastic_input", "after_input", "update_neuron", "tick",
    "prepare", "run", "run_truenorth",
    "overflow_message",
]


#: Reset modes γ (Cassidy 2013's numbering, the ``reset_mode`` parameter).
RESET_NORMAL = 0
RESET_LINEAR = 1
RESET_NONE = 2

MASK32 = 0xFFFFFFFF


class NeuronParams(NamedTuple):
    """Per-compartment parameters as the kernel reads them (flat, one row per compartment).

    ``threshold_mask`` here is the mask ``M = 2**TM - 1``, not the bit count ``TM``.
    A relay's row is ignored except for ``relay``.
    """

    axon_weights: np.ndarray  # int64 (n, n_types): s_j^g
    syn_stochastic: np.ndarray  # uint8 (n, n_types): b_j^g
    leak: np.ndarray  # int64 (n): λ_j
    leak_reversal: np.ndarray  # uint8 (n): ε_j
    leak_stochastic: np.ndarray  # uint8 (n): c_j
    threshold: np.ndarray  # int64 (n): α_j
    threshold_mask: np.ndarray  # int64 (n): M_j
    neg_threshold: np.ndarray  # int64 (n): β_j
    neg_saturate: np.ndarray  # uint8 (n): κ_j
    reset_value: np.ndarray  # int64 (n): R_j
    reset_mode: np.ndarray  # int8 (n): γ_j
    relay: np.ndarray  # uint8 (n): 1 for a relay compartment


class NeuronNumerics(NamedTuple):
    """Chip widths the neuron update needs (from the ChipSpec, see :func:`neuron_numerics`)."""

    v_min: int  # -2**(bits-1)
    v_max: int  # 2**(bits-1) - 1
    wrap: bool  # two's-complement wrap instead of saturation
    prng_mask: int  # 2**prng_bits - 1
    strict: bool  # threshold test is ``>`` instead of ``>=``


def neuron_numerics(chip) -> NeuronNumerics:
    """The widths of ``chip`` (a ChipSpec of family ``truenorth``) as kernel constants."""
    v = chip.numerics.state["v"]
    return NeuronNumerics(v_min=-(1 << (v.bits - 1)), v_max=(1 << (v.bits - 1)) - 1,
                          wrap=v.overflow == "wrap",
                          prng_mask=(1 << chip.numerics.prng_bits) - 1,
                          strict=chip.neuron.threshold_compare == ">")


def neuron_params(params: Mapping[str, np.ndarray], relay: np.ndarray, n_types: int) -> NeuronParams:
    """Kernel arrays from a Mapping's (or QPopulation's) ``params`` of family ``truenorth``.

    Parameters
    ----------
    params : Mapping[str, numpy.ndarray]
        Keys of :mod:`neurocomp.ir.quantized` (``leak``, ``threshold``, ``neg_threshold``,
        ``reset_value``, ``reset_mode``, ``leak_reversal``, ``threshold_mask`` (bits TM),
        ``axon_weights`` ``(n, n_types)``) and the optional ``neg_saturate`` (κ, default
        1), ``syn_stochastic`` ``(n, n_types)`` and ``leak_stochastic`` (default 0).
    relay : numpy.ndarray
        ``(n,)``, nonzero for relay compartments.
    n_types : int
        ``chip.connectivity.axon_types``.

    Returns
    -------
    NeuronParams
        Contiguous arrays with the kernel's dtypes; ``threshold_mask`` becomes ``M``.
    """
    relay = np.ascontiguousarray(relay, dtype=np.uint8)
    n = relay.shape[0]

    def flat(key: str, default: int, dtype) -> np.ndarray:
        if key not in params:
            return np.full(n, default, dtype=dtype)
        return np.ascontiguousarray(np.asarray(params[key]).reshape(n), dtype=dtype)

    def per_type(key: str, dtype) -> np.ndarray:
        if key not in params:
            return np.zeros((n, n_types), dtype=dtype)
        return np.ascontiguousarray(np.asarray(params[key]).reshape(n, n_types), dtype=dtype)

    bits = flat("threshold_mask", 0, np.int64)
    return NeuronParams(
        axon_weights=per_type("axon_weights", np.int64),
        syn_stochastic=per_type("syn_stochastic", np.uint8),
        leak=flat("leak", 0, np.int64),
        leak_reversal=flat("leak_reversal", 0, np.uint8),
        leak_stochastic=flat("leak_stochastic", 0, np.uint8),
        threshold=flat("threshold", 0, np.int64),
        threshold_mask=((np.int64(1) << bits) - 1).astype(np.int64),
        neg_threshold=flat("neg_threshold", 0, np.int64),
        neg_saturate=flat("neg_saturate", 1, np.uint8),
        reset_value=flat("reset_value", 0, np.int64),
        reset_mode=flat("reset_mode", RESET_NORMAL, np.int8),
        relay=relay,
    )


def core_seeds(seed: int, core_ids: np.ndarray) -> np.ndarray:
    """The xorshift32 state each core starts from: int64 ``[len(core_ids)]``, in 1..2**32-1.

    State = low 32 bits of SplitMix64 (Steele et al. 2014) of ``seed · 2**32 + core_id``;
    a zero (xorshift's one fixed point) becomes 1. Each core's stream depends only on
    the run's seed and its own id, so it does not change when other cores are added.
    """
    out = np.empty(len(core_ids), dtype=np.int64)
    for k, core in enumerate(np.asarray(core_ids, dtype=np.int64).tolist()):
        z = ((int(seed) << 32) + core + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        z ^= z >> 31
        out[k] = (z & MASK32) or 1
    return out


@njit(cache=True, inline="always")
def xorshift32(x):
    """One step of Marsaglia's xorshift32 (shifts 13, 17, 5) on a state held in an int64."""
    x ^= (x << 13) & MASK32
    x ^= x >> 17
    x ^= (x << 5) & MASK32
    return x


@njit(cache=True, inline="always")
def _sgn(x):
    return (x > 0) - (x < 0)



@njit(cache=True, inline="always")
def _clamp(x, nm):
    """Fit ``x`` (int64) to the state width; returns (value, whether it had to change)."""
    if x > nm.v_max or x < nm.v_min:
        if nm.wrap:
            span = nm.v_max - nm.v_min + 1
            return (x - nm.v_min) % span + nm.v_min, True
        return (nm.v_max if x > nm.v_max else nm.v_min), True
    return x, False


@njit(cache=True, inline="always")
def stochastic_input(vj, x, s, n_ev, prng_mask):
    """``n_ev`` events of a stochastic type of weight ``s``: per event draw ρ and add
    ``sgn(s)`` when ``|s| >= ρ``. Returns (V, generator state)."""
    mag = abs(s)
    step = _sgn(s)
    for _ in range(n_ev):
        x = xorshift32(x)
        if mag >= (x & prng_mask):
            vj += step
    return vj, x


@njit(cache=True, inline="always")
def after_input(vj, x, lam, eps, c, alpha, mask, beta, kappa, reset_value, mode, nm):
    """Steps 1 (the clamp) to 3 of the module docstring, on scalars only.

    ``vj`` is the potential with the tick's synaptic input already added (int64, not yet
    clamped); ``x`` the core's generator state. Returns ``(V, x, fired, overflowed)``.
    Scalars only, so calling it costs no reference counting inside the tick loop.
    """
    vj, hit1 = _clamp(vj, nm)
    # 2. Leak; with reversal (Ω = sgn(V)) it drives V toward 0 and never across.
    omega = _sgn(vj) if eps else 1
    if c:
        x = xorshift32(x)
        delta = _sgn(lam) if abs(lam) >= (x & nm.prng_mask) else 0
    else:
        delta = lam
    new = vj + omega * delta
    if eps and _sgn(new) != _sgn(vj):
        new = 0
    vj, hit2 = _clamp(new, nm)
    # 3. Threshold and fire, reset; or the negative threshold.
    eta = 0
    if mask > 0:
        x = xorshift32(x)
        eta = x & mask
    up = alpha + eta
    fired = vj > up if nm.strict else vj >= up
    if fired:
        if mode == RESET_NORMAL:
            vj = reset_value
        elif mode == RESET_LINEAR:
            vj = vj - up
    else:
        floor = beta if kappa else beta + eta
        if vj < -floor:
            if kappa:
                vj = -beta
            elif mode == RESET_NORMAL:
                vj = -reset_value
            elif mode == RESET_LINEAR:
                vj = vj + floor
    vj, hit3 = _clamp(vj, nm)
    return vj, x, fired, hit1 or hit2 or hit3


@njit(cache=True)
def update_neuron(j, v, counts, p, nm, rng, col):
    """One tick of compartment ``j`` (module docstring).

    Parameters
    ----------
    j : int
        Compartment.
    v : numpy.ndarray
        int64 ``[n]``, membrane potentials; ``v[j]`` is updated in place.
    counts : numpy.ndarray
        int64 ``[n, n_types]``, axon events of each type that reached ``j`` this tick.
    p : NeuronParams
    nm : NeuronNumerics
    rng : numpy.ndarray
        int64 ``[n_cores]``, xorshift32 states; ``rng[col]`` is stepped once per draw.
    col : int
        Column of ``j``'s core in ``rng``.

    Returns
    -------
    (fired, overflowed) : (bool, bool)
        Whether ``j`` spikes, and whether its potential had to be saturated (or
        wrapped) to the state width at any point of the tick.
    """
    n_types = counts.shape[1]
    if p.relay[j]:
        fired = False
        for g in range(n_types):
            if counts[j, g] != 0:
                fired = True
        return fired, False
    vj = v[j]
    x = rng[col]
    # 1. Synaptic integration: exact in int64, clamped once after (in after_input), so
    #    the result does not depend on the order of the tick's axon events.
    for g in range(n_types):
        n_ev = counts[j, g]
        if n_ev != 0:
            if p.syn_stochastic[j, g]:
                vj, x = stochastic_input(vj, x, p.axon_weights[j, g], n_ev, nm.prng_mask)
            else:
                vj += n_ev * p.axon_weights[j, g]
    vj, x, fired, hit = after_input(vj, x, p.leak[j], p.leak_reversal[j], p.leak_stochastic[j],
                                    p.threshold[j], p.threshold_mask[j], p.neg_threshold[j],
                                    p.neg_saturate[j], p.reset_value[j], p.reset_mode[j], nm)
    v[j] = vj
    rng[col] = x
    return fired, hit


@njit(cache=True)
def tick(v, counts, p, nm, rng, comp_col, fired):
    """One tick of every compartment, in ascending order (no routing; for tests and tools).

    ``comp_col[j]`` is the column of ``j``'s core in ``rng``; ``fired[j]`` is set to 0/1.
    Returns the number of compartments that fired.
    """
    n_fired = 0
    for j in range(v.shape[0]):
        # int64 like a caller's Python int: one compiled update_neuron (int32 compiled a second)
        f, _ = update_neuron(j, v, counts, p, nm, rng, np.int64(comp_col[j]))
        fired[j] = f
        n_fired += f
    return n_fired


# --------------------------------------------------------------------------- Mapping -> kernel


@dataclass(frozen=True, eq=False)
class TrueNorthTables:
    """Everything one Mapping needs, built once by :func:`prepare` and reused per run."""

    mapping: Any
    routing: Routing
    info: RoutingInfo
    params: NeuronParams
    numerics: NeuronNumerics
    n_types: int


def prepare(mapping) -> TrueNorthTables:
    """The kernel's tables for a TrueNorth Mapping.

    Every parameter is checked against the chip's widths (relays excepted): the leak,
    reset value, type weights (signed), thresholds (unsigned), threshold mask (at most
    ``numerics.threshold.mask_bits`` bits), reset modes 0..2, axon types
    ``0..axon_types-1`` and delays within ``numerics.delay``.

    Raises
    ------
    UsageError
        When a parameter is missing, of the wrong shape or out of range (naming the
        population, neuron and compartment).
    """
    chip = mapping.chip
    num = chip.numerics
    n_types = int(chip.connectivity.axon_types)
    n = mapping.n_comp
    relay = np.asarray(mapping.comp_pop) == -1
    for key in ("leak", "threshold", "neg_threshold", "reset_value", "reset_mode", "axon_weights"):
        if key not in mapping.params:
            raise UsageError(f"the Mapping has no TrueNorth parameter '{key}'",
                             hint="quantize and compile the network for this chip again")
    for key, value in mapping.params.items():
        want = (n, n_types) if key in ("axon_weights", "syn_stochastic") else (n,)
        if np.asarray(value).shape != want:
            raise UsageError(f"the TrueNorth parameter '{key}' has shape {np.asarray(value).shape}, "
                             f"expected {want}")
    p = neuron_params(mapping.params, relay, n_types)

    def signed(bits: int) -> tuple[int, int]:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def check(key: str, values: np.ndarray, lo: int, hi: int, why: str) -> None:
        bad = (values < lo) | (values > hi)
        if values.ndim == 2:
            bad = bad.any(axis=1)
        bad &= ~relay
        if bad.any():
            c = int(np.argmax(bad))
            core, name = where_is(mapping, c)
            shown = values[c].tolist() if values.ndim == 2 else int(values[c])
            raise UsageError(f"{name} (compartment {c}, core {core}): {key} = {shown} is outside "
                             f"{lo}..{hi} ({why})", hint="quantize the network for this chip again")

    leak_lo, leak_hi = signed(num.leak.bits) if num.leak.signed else (0, (1 << num.leak.bits) - 1)
    check("leak", p.leak, leak_lo, leak_hi, f"{num.leak.bits}-bit leak")
    check("threshold", p.threshold, 0, (1 << num.threshold.mantissa_bits) - 1,
          f"{num.threshold.mantissa_bits}-bit threshold")
    check("neg_threshold", p.neg_threshold, 0, (1 << num.negative_threshold.mantissa_bits) - 1,
          f"{num.negative_threshold.mantissa_bits}-bit negative threshold")
    r_lo, r_hi = signed(num.reset_value.bits) if num.reset_value.signed \
        else (0, (1 << num.reset_value.bits) - 1)
    check("reset_value", p.reset_value, r_lo, r_hi, f"{num.reset_value.bits}-bit reset value")
    check("reset_mode", p.reset_mode.astype(np.int64), 0, 2, "0 normal, 1 linear, 2 none")
    w_lo, w_hi = signed(num.weights.max_bits)
    check("axon_weights", p.axon_weights, w_lo, w_hi, f"{num.weights.max_bits}-bit type weights")
    mask_bits = int(num.threshold.mask_bits or 0)
    check("threshold_mask", np.asarray(mapping.params.get("threshold_mask", np.zeros(n)),
                                       dtype=np.int64), 0, mask_bits, "bits of the random mask")

    axon_type = np.asarray(mapping.axon_type, dtype=np.int64)
    if axon_type.size and (axon_type.min() < 0 or axon_type.max() >= n_types):
        raise UsageError(f"an axon of the Mapping has type {int(axon_type.max())}; "
                         f"chip '{chip.name}' has types 0..{n_types - 1}")
    delays = np.asarray(mapping.syn_delay, dtype=np.int64)
    max_extra = num.delay.max_steps - num.delay.min_steps
    if delays.size and delays.max() > max_extra:
        raise UsageError(f"a synapse of the Mapping has a delay of {int(delays.max()) + 1} steps; "
                         f"chip '{chip.name}' allows {num.delay.min_steps}..{num.delay.max_steps}")
    # Each synapse is one crossbar bit: an event counts 1 in its type's row, and the
    # neuron multiplies the count by its weight for that type.
    syn_value = (np.asarray(mapping.syn_weight) != 0).astype(np.int64)
    rt, info = routing_tables(mapping, axon_type, syn_value)
    return TrueNorthTables(mapping=mapping, routing=rt, info=info, params=p,
                           numerics=neuron_numerics(chip), n_types=n_types)


def run(tables: TrueNorthTables, inputs: KernelInputs) -> KernelRun:
    """One run from rest (V = 0, nothing in flight) of ``inputs.steps`` ticks.

    The generators start from :func:`core_seeds` of ``inputs.seed`` and the Mapping's
    core ids.

    Raises
    ------
    EmulationError
        In strict mode, at the first saturation (or wrap) of a membrane potential.
    """
    tb = tables
    n = tb.mapping.n_comp
    steps = int(inputs.steps)
    v = np.zeros(n, dtype=np.int64)
    counts = np.zeros((n, tb.n_types), dtype=np.int64)
    acc = np.zeros(tb.info.acc_shape, dtype=np.int32)
    cnt = np.zeros((N_COUNTERS, steps, tb.info.n_cols), dtype=np.int64)
    rng = core_seeds(int(inputs.seed), tb.info.core_ids)
    probe = np.ascontiguousarray(inputs.probe_comp, dtype=np.int64)
    v_out = np.zeros((steps, probe.size), dtype=np.int64)
    ovf = np.zeros(1, dtype=np.int64)
    first = np.full(2, -1, dtype=np.int64)
    args = (tb.routing, acc, cnt, v, counts, tb.params, tb.numerics, rng, bool(inputs.strict),
            np.ascontiguousarray(inputs.in_ptr, dtype=np.int64),
            np.ascontiguousarray(inputs.in_src, dtype=np.int64), probe, v_out, ovf, first)
    # run_resumable compiles the kernel first (or loads it from Numba's cache), so wall_s
    # measures the emulation alone; with a progress callback it runs in pieces.
    spike_t, spike_c, n_spikes, stopped, wall_s = run_resumable(run_truenorth, steps, n, args,
                                                                progress=inputs.progress)
    if stopped >= 0:
        _raise_overflow(tb, int(first[0]), int(first[1]))
    first_overflow = {"v": (int(first[0]), int(first[1]))} if first[0] >= 0 else {}
    return KernelRun(spike_step=spike_t[:n_spikes].copy(), spike_comp=spike_c[:n_spikes].copy(),
                     counters=cnt, core_ids=tb.info.core_ids, traces={"v": v_out},
                     overflows={"v": int(ovf[0])}, first_overflow=first_overflow, wall_s=wall_s)


def _raise_overflow(tb: TrueNorthTables, step: int, comp: int) -> None:
    core, name = where_is(tb.mapping, comp)
    what = "wrapped around" if tb.numerics.wrap else "saturated"
    bits = (tb.numerics.v_max + 1).bit_length()
    err = EmulationError(f"core {core}, compartment {comp} ({name}): v {what} at its {bits}-bit "
                         f"limit at step {step}", where=f"core {core}",
                         hint="lower the type weights or the leak of the neurons it integrates, "
                              "or run with strict=False to count saturations instead")
    err.core, err.compartment, err.variable, err.step = core, comp, "v", step
    raise err


def overflow_message(tb: TrueNorthTables, result: KernelRun) -> str | None:
    """What saturated in a non-strict run, in words (``None`` when nothing did)."""
    return overflow_sentence(tb.mapping, result, "v", tb.numerics.wrap)


# --------------------------------------------------------------------------- the kernel


@njit(cache=True)
def _send(rt, sources, lo, hi, t, acc, cnt):
    """``deliver`` every source ``sources[lo:hi]`` at tick ``t``. Not inlined on purpose:
    inside the large tick loop the delivery loop compiles to slower code."""
    for e in range(lo, hi):
        deliver(rt, sources[e], t, acc, cnt)


@njit(cache=True)
def run_truenorth(t0, steps, spike_t, spike_c, n_spikes, rt, acc, cnt, v, counts, p, nm, rng, strict, in_ptr,
                  in_src, probe, v_out, ovf, first):
    """Run ticks ``t0 .. steps - 1``, updating the state (``v``, ``acc``, ``rng``, ``cnt``)
    in place, as :func:`~neurocomp.emulator.kernels.run_resumable` drives it.

    Spikes are appended to ``spike_t``/``spike_c`` from ``n_spikes`` on. Returns
    ``(n_spikes, t, stopped)``: ``t`` is the next tick to run (``steps`` when done,
    earlier when the buffers might not hold tick ``t``: call again with bigger ones).

    Per tick ``t``: (1) every core's arriving axon events of slot ``t`` are moved into
    ``counts`` (events per compartment and axon type; the slot is emptied before anything
    is sent, so a spike of the longest delay, which lands in this very slot, is not
    read early); (2) per core in column order, its compartments update in ascending order
    (:func:`update_neuron`), then the core's spikes are sent (``deliver``); (3) the
    probes record ``v``; (4) the input events of ``t`` are sent. ``stopped`` is -1, or the
    step at which strict mode met a saturation (``first`` = (step, compartment)).
    """
    n_cols = rt.core_comp_ptr.shape[0] - 1
    n_comp = v.shape[0]
    n_types = counts.shape[1]
    cap = spike_t.shape[0]
    n_slots = rt.n_slots
    for t in range(t0, steps):
        if n_spikes + n_comp > cap:  # a tick fires at most every compartment once
            return n_spikes, t, -1
        slot = t % n_slots
        for b in range(rt.block_row.shape[0]):
            row0 = rt.block_row[b]
            c0 = rt.block_comp[b]
            g = rt.block_key[b]
            for i in range(rt.block_size[b]):
                x = acc[slot, row0 + i]
                counts[c0 + i, g] = x
                if x != 0:
                    acc[slot, row0 + i] = 0
        for j in range(n_cols):
            active = 0
            core_first = n_spikes
            for c in range(rt.core_comp_ptr[j], rt.core_comp_ptr[j + 1]):
                had = False
                for g in range(n_types):
                    if counts[c, g] != 0:
                        had = True
                if p.relay[c]:
                    # A relay fires iff a spike reached it; it has no state.
                    fired = had
                    hit = False
                    if had:
                        active += 1
                else:
                    vj = v[c]
                    # SANA-FE's rule: input, a nonzero state or a nonzero leak (the bias).
                    if had or vj != 0 or p.leak[c] != 0:
                        active += 1
                    # The body of update_neuron, written out: a call passing arrays
                    # would cost reference counting per compartment and tick.
                    x = rng[j]
                    for g in range(n_types):
                        n_ev = counts[c, g]
                        if n_ev != 0:
                            if p.syn_stochastic[c, g]:
                                vj, x = stochastic_input(vj, x, p.axon_weights[c, g], n_ev,
                                                         nm.prng_mask)
                            else:
                                vj += n_ev * p.axon_weights[c, g]
                    vj, x, fired, hit = after_input(vj, x, p.leak[c], p.leak_reversal[c],
                                                    p.leak_stochastic[c], p.threshold[c],
                                                    p.threshold_mask[c], p.neg_threshold[c],
                                                    p.neg_saturate[c], p.reset_value[c],
                                                    p.reset_mode[c], nm)
                    v[c] = vj
                    rng[j] = x
                if hit:
                    if first[0] < 0:
                        first[0] = t
                        first[1] = c
                    ovf[0] += 1
                    if strict:
                        return n_spikes, t, t
                if fired:
                    cnt[SPIKES_OUT, t, j] += 1
                    spike_t[n_spikes] = t
                    spike_c[n_spikes] = c
                    n_spikes += 1
            # The core's spikes of this tick go out after its updates (they land in later
            # slots, so nothing read this tick changes).
            _send(rt, spike_c, core_first, n_spikes, t, acc, cnt)
            m = rt.core_comp_ptr[j + 1] - rt.core_comp_ptr[j]
            cnt[UPDATES_ACTIVE, t, j] += active
            cnt[UPDATES_INACTIVE, t, j] += m - active
        for k in range(probe.shape[0]):
            v_out[t, k] = v[probe[k]]
        _send(rt, in_src, in_ptr[t], in_ptr[t + 1], t, acc, cnt)
    return n_spikes, steps, -1
