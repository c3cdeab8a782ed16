"""Quantization for the ``loihi_cuba_lif`` family (Loihi's current-based LIF, as Lava's
bit-accurate models compute it).

The chip, per neuron and step (``/work/shared/reference/loihi.md`` §1.2, §1.3; every
width below is read from the chip file)::

    a_in = Σ_projections shift(Σ_{spiking pre} w, weight_exp)   (<< e, or >> -e: floor)
    u'   = trunc0(u · (2^D − (du + offset_u)) / 2^D) + (a_in << input_shift)
    v'   = trunc0(v · (2^D − (dv + offset_v)) / 2^D) + u' + (bias_mant << bias_exp)
    spike when v' > vth_mant << threshold.shift;  then v' = 0

against the float model (:class:`~neurocomp.ir.network.NeuronModel`)::

    I = alpha · I + x;   V = beta · V + I + bias;   spike when V > threshold

The two agree when every integer stands for ``s`` times its float, with one **scale**
``s`` (integer units of ``u`` and ``v`` per float unit) per target population:

* ``(2^D − (du + offset_u)) / 2^D ≈ alpha`` and ``(2^D − (dv + offset_v)) / 2^D ≈ beta``
  (no scale: a decay is a ratio);
* ``(w_int << weight_exp) << input_shift ≈ w · s`` for every synapse into the population
  (one ``weight_exp`` per projection, so projections of very different magnitudes keep
  their bits);
* ``vth_mant << threshold.shift ≈ threshold · s``;
* ``bias_mant << bias_exp ≈ bias · s`` (the bias is not shifted by ``input_shift``).

``s`` is a power of two chosen as large as every limit allows (the largest ``s`` keeps
the most bits of the threshold and bias, and makes the decays' truncation smallest),
unless the user pinned integers that fix it; a power of two keeps every dyadic float
(0.75, 0.875, 1.5, ...) exact. ``v_scale = 1 / s``. ``docs/quantization.md`` walks
through it with numbers.

Weights follow Lava's Dense rule (loihi.md §1.3): the stored integer lies in the
``numerics.weights.max_bits``-bit range of its sign mode (mixed ``[-2^M, 2^M − 1]``,
excitatory ``[0, 2^M − 1]``, inhibitory ``[-(2^M − 1), 0]``) and its lowest
``k = M − weight_bits + (1 if mixed)`` bits are 0. The quantizer rounds to the nearest
such value; integers the user pins are passed through Lava's rule (clip, then
``(w >> k) << k``) exactly as Lava would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from ...diagnostics import Collector, QuantizationError
from ...ir.connectors import Conv2d, Dense, OneToOne, Sparse
from ...ir.network import Network, Population, Projection
from ...ir.quantized import QPopulation, QProjection, QuantizationReport, QuantizedNetwork
from ...ir.synapses import Synapses
from ...ir.values import ArrayValue, as_array
from ...compiler.quantize import (align_pairs, check_delays, check_graded_inputs, check_neuron_features,
                       describe, keep_nonzero, native_ints, natives_of, pair_weights,
                       population_error, pow2_text, projection_error, relative_error)

__all__ = [
    "FAMILY",
    "LoihiFormat",
    "quantize_loihi",
    "decay_register",
    "applied_decay",
    "weight_format",
    "lava_dense_weights",
    "quantize_weights",
    "choose_exponent",
    "applied_weights",
    "bias_registers",
]

FAMILY = "loihi_cuba_lif"

#: Reset modes the loihi_cuba_lif emulator kernel implements.
_KERNEL_RESETS = ("zero",)

#: A projection losing more than this fraction of its weights to zero gets a warning.
_ZEROED_WARNING = 0.5

#: How often a free scale may be halved before what still does not fit is reported.
_MAX_HALVINGS = 64


# --------------------------------------------------------------------------------------
# The chip's formats, read once.


@dataclass(frozen=True)
class LoihiFormat:
    """Every width the quantizer needs, from one :class:`~neurocomp.chip.spec.ChipSpec`."""

    decay_bits: int
    offset_u: int
    offset_v: int
    vth_bits: int
    vth_shift: int
    bias_mant_lo: int
    bias_mant_hi: int
    bias_exp_max: int
    input_shift: int
    u_max: int
    v_max: int
    weight_bits: tuple[int, ...]
    max_bits: int
    exp_min: int
    exp_max: int
    sign_modes: tuple[str, ...]

    @classmethod
    def of(cls, chip: Any) -> "LoihiFormat":
        num = chip.numerics
        bias = num.bias
        if bias.signed:
            lo, hi = -(1 << (bias.mantissa_bits - 1)), (1 << (bias.mantissa_bits - 1)) - 1
        else:
            lo, hi = 0, (1 << bias.mantissa_bits) - 1
        return cls(decay_bits=num.decay.bits, offset_u=num.decay.offset_u, offset_v=num.decay.offset_v,
                   vth_bits=num.threshold.mantissa_bits, vth_shift=num.threshold.shift,
                   bias_mant_lo=lo, bias_mant_hi=hi, bias_exp_max=(1 << bias.exponent_bits) - 1,
                   input_shift=num.input_shift or 0,
                   u_max=(1 << (num.state["u"].bits - 1)) - 1, v_max=(1 << (num.state["v"].bits - 1)) - 1,
                   weight_bits=tuple(num.weights.bits), max_bits=num.weights.max_bits,
                   exp_min=num.weights.exponent_min, exp_max=num.weights.exponent_max,
                   sign_modes=tuple(num.weights.sign_modes))

    @property
    def decay_max(self) -> int:
        return (1 << self.decay_bits) - 1

    @property
    def vth_max(self) -> int:
        return (1 << self.vth_bits) - 1

    def weight_clip(self, sign_mode: str) -> tuple[int, int]:
        """The range Lava clips a stored weight to, before the LSB rule."""
        full = 1 << self.max_bits
        if sign_mode == "mixed":
            return -full, full - 1
        if sign_mode == "excitatory":
            return 0, full - 1
        return -(full - 1), 0


# --------------------------------------------------------------------------------------
# The arithmetic, one pure function per rule (tests check each by hand).


def decay_register(decay: np.ndarray | float, offset: int, bits: int) -> np.ndarray:
    """The decay register ``d`` whose applied factor ``(2^bits − (d + offset)) / 2^bits``
    is nearest ``decay``, clipped to ``0 .. 2^bits − 1``.

    ``d = clip(rint(2^bits · (1 − decay)) − offset, 0, 2^bits − 1)`` (int64).
    """
    unity = 1 << bits
    d = np.rint(unity * (1.0 - np.asarray(decay, dtype=np.float64))) - offset
    return np.clip(d, 0, unity - 1).astype(np.int64)


def applied_decay(register: np.ndarray | int, offset: int, bits: int) -> np.ndarray:
    """The factor the chip multiplies by: ``(2^bits − (register + offset)) / 2^bits``."""
    unity = 1 << bits
    return (unity - (np.asarray(register, dtype=np.int64) + offset)) / float(unity)


def weight_format(max_bits: int, bits: int, sign_mode: str) -> tuple[int, int, int]:
    """``(lo, hi, step)`` of a stored weight: the values ``lo..hi`` that are multiples of
    ``step = 2^k``, ``k = max_bits − bits + (1 if mixed)`` (Lava's Dense, loihi.md §1.3).

    With ``max_bits = 8``: mixed 8-bit is the even numbers ``-256..254``; excitatory
    8-bit is ``0..255``; inhibitory 4-bit is the multiples of 16 in ``-240..0``.
    """
    mixed = 1 if sign_mode == "mixed" else 0
    step = 1 << (max_bits - bits + mixed)
    full = 1 << max_bits
    if sign_mode == "mixed":
        return -full, full - step, step
    if sign_mode == "excitatory":
        return 0, full - step, step
    return -(full - step), 0, step


def lava_dense_weights(weights: np.ndarray, *, max_bits: int, bits: int, sign_mode: str) -> np.ndarray:
    """What Lava's bit-accurate Dense makes of stored integers (loihi.md §1.3)::

        inhibitory: w = -w
        w = clip(w, -2^max_bits if mixed else 0, 2^max_bits − 1)
        k = max_bits − bits + (1 if mixed);  w = (w >> k) << k      (floor to 2^k)
        inhibitory: w = -w

    e.g. mixed 8-bit: 3 -> 2, -43 -> -44, 71 -> 70, -7 -> -8.
    """
    w = np.asarray(weights, dtype=np.int64)
    mixed = sign_mode == "mixed"
    inhibitory = sign_mode == "inhibitory"
    x = -w if inhibitory else w
    full = np.int64(1) << max_bits
    x = np.clip(x, -full if mixed else 0, full - 1)
    k = max_bits - bits + int(mixed)
    x = (x >> k) << k
    return -x if inhibitory else x


def quantize_weights(weights: np.ndarray, units: float, exp: int,
                     fmt: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Float weights to stored integers: ``rint(w · units / 2^exp / step) · step``, clipped.

    ``units`` is integer input units per float unit (``s / 2^input_shift``). Returns the
    int64 integers and a bool mask of those that were clipped to the format's range.
    Rounding is to nearest (ties to even).
    """
    lo, hi, step = fmt
    x = np.asarray(weights, dtype=np.float64) * (units / 2.0 ** exp)
    q = np.rint(x / step) * step
    clipped = (q < lo) | (q > hi)
    return np.clip(q, lo, hi).astype(np.int64), clipped


def choose_exponent(max_pos: float, max_neg: float, units: float, fmt: tuple[int, int, int],
                    exp_lo: int, exp_hi: int) -> int | None:
    """The smallest exponent in ``exp_lo..exp_hi`` at which the largest positive weight
    (``max_pos``) and the most negative one (``-max_neg``) round into the format without
    clipping; ``None`` when even ``exp_hi`` clips. The smallest such exponent leaves the
    finest grid, so it keeps the most bits."""
    lo, hi, step = fmt
    for e in range(exp_lo, exp_hi + 1):
        top = np.rint(max_pos * units / 2.0 ** e / step) * step if hi > 0 else 0.0
        bottom = -np.rint(max_neg * units / 2.0 ** e / step) * step if lo < 0 else 0.0
        if top <= hi and bottom >= lo:
            return e
    return None


def applied_weights(q: np.ndarray, exp: int) -> np.ndarray:
    """What one spike through each synapse adds to ``a_in``: ``q << exp``, or, for a
    negative exponent, ``q >> -exp`` (Lava shifts the summed input, flooring)."""
    q = np.asarray(q, dtype=np.int64)
    return q << exp if exp >= 0 else q >> -exp


def bias_registers(ideal: np.ndarray, mant_lo: int, mant_hi: int, exp_max: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per neuron, ``(bias_mant, bias_exp)`` with ``bias_mant << bias_exp ≈ ideal``.

    ``bias_exp`` is the smallest exponent in ``0..exp_max`` at which
    ``rint(ideal / 2^bias_exp)`` fits ``mant_lo..mant_hi`` (the finest grid that holds
    the value). Returns ``(mant, exp, too_big)``; ``too_big`` marks neurons that fit at
    no exponent (their mantissa is clipped).
    """
    ideal = np.asarray(ideal, dtype=np.float64)
    mant = np.zeros(ideal.shape, dtype=np.int64)
    exp = np.zeros(ideal.shape, dtype=np.int64)
    todo = np.ones(ideal.shape, dtype=bool)
    for e in range(exp_max + 1):
        m = np.rint(ideal / 2.0 ** e)
        ok = todo & (m >= mant_lo) & (m <= mant_hi)
        mant[ok] = m[ok].astype(np.int64)
        exp[ok] = e
        todo &= ~ok
    if np.any(todo):
        mant[todo] = np.clip(np.rint(ideal[todo] / 2.0 ** exp_max), mant_lo, mant_hi).astype(np.int64)
        exp[todo] = exp_max
    return mant, exp, todo


# --------------------------------------------------------------------------------------
# Plans: what is known about each projection and population before a scale is chosen.


@dataclass
class _ProjPlan:
    proj: Projection
    syn: Synapses                      # float lowering
    natives: dict[str, Any]
    sign_mode: str
    bits: int | None = None            # pinned width
    exp: int | None = None             # pinned exponent
    pinned_syn: Synapses | None = None  # lowering of pinned integers (weights = Lava-rule ints)
    pinned_raw: np.ndarray | None = None
    max_pos: float = 0.0
    max_neg: float = 0.0

    @cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The float weights' distinct values, each synapse's index into them and how many
        synapses hold each: the same at every scale, so found once, not once per scale tried."""
        return np.unique(self.syn.weights, return_inverse=True, return_counts=True)


@dataclass
class _ProjResult:
    q: np.ndarray          # int64 per synapse of the lowering it belongs to
    syn: Synapses          # that lowering
    exp: int
    bits: int
    clipped: int
    fmt: tuple[int, int, int]


@dataclass
class _PopPlan:
    pop: Population
    natives: dict[str, np.ndarray] = field(default_factory=dict)
    incoming: list[_ProjPlan] = field(default_factory=list)


def _sign_mode(weights: np.ndarray, modes: tuple[str, ...]) -> str | None:
    """Excitatory when no weight is negative, inhibitory when none is positive (one more
    bit than mixed in either case), else mixed; only among the chip's modes."""
    if weights.size and weights.min() >= 0 and "excitatory" in modes:
        return "excitatory"
    if weights.size and weights.max() <= 0 and "inhibitory" in modes:
        return "inhibitory"
    if "mixed" in modes:
        return "mixed"
    if weights.size == 0:
        return modes[0]
    return None


def _lower_pinned(errors: Collector, proj: Projection, pre: Population, post: Population,
                  values: ArrayValue, float_syn: Synapses, native: str) -> Synapses | None:
    """The pinned integer weights as synapses, laid out like the connector's own weights."""
    from ...compiler.lower import lower_projection

    vals = np.asarray(values.values, dtype=np.int64)
    con = proj.connector
    fvals = ArrayValue(vals.astype(np.float64), values.path)
    layout = None
    if isinstance(con, Dense):
        layout, ok = f"[post, pre] = [{post.size}, {pre.size}]", vals.shape == (post.size, pre.size)
        new = Dense(fvals)
    elif isinstance(con, OneToOne):
        layout, ok = f"one per neuron ({pre.size})", vals.size == pre.size
        new = OneToOne(ArrayValue(vals.reshape(-1).astype(np.float64), values.path))
    elif isinstance(con, Conv2d):
        shape = con.kernel.values.shape
        layout, ok = f"the kernel's shape {list(shape)}", vals.shape == shape
        new = replace(con, kernel=fvals)
    elif isinstance(con, Sparse):
        layout, ok = f"one per listed synapse ({con.pre.size})", vals.size == con.pre.size
        new = replace(con, weights=vals.reshape(-1).astype(np.float64))
    else:
        # A connector with no weight array: one integer for all, or one per synapse.
        flat = vals.reshape(-1)
        if flat.size not in (1, float_syn.n_synapses):
            errors.error(f"{describe(proj)}: native {native} weights in '{values.path}' have "
                         f"{flat.size} values; this connector takes 1 (for every synapse) or "
                         f"{float_syn.n_synapses} (one per synapse, by source neuron then target)",
                         span=proj.span)
            return None
        w = np.broadcast_to(flat, (float_syn.n_synapses,)).astype(np.float64)
        return replace(float_syn, weights=w)
    if not ok:
        errors.error(f"{describe(proj)}: native {native} weights in '{values.path}' have shape "
                     f"{list(vals.shape)}, but must be laid out like the connector's weights: "
                     f"{layout}", span=proj.span)
        return None
    return lower_projection(replace(proj, connector=new), pre, post)


# --------------------------------------------------------------------------------------
# The door.


def quantize_loihi(network: Network, chip: Any, synapses: Mapping[str, Synapses]) -> QuantizedNetwork:
    """Quantize ``network`` for a ``loihi_cuba_lif`` chip (see the module docstring).

    Parameters
    ----------
    network, chip, synapses
        As :func:`neurocomp.compiler.quantize.quantize` passes them.

    Returns
    -------
    QuantizedNetwork
        Populations with ``du``, ``dv``, ``vth_mant``, ``bias_mant``, ``bias_exp``,
        ``refractory`` (int64, one per neuron) and ``v_scale = 1 / s``; projections with
        stored integers (zeros dropped), ``weight_bits``, ``weight_exp``, ``sign_mode``.

    Raises
    ------
    QuantizationError
        Everything the chip cannot hold, all at once, each naming its object.
    """
    fmt = LoihiFormat.of(chip)
    native = chip.neuron.native
    errors = Collector()
    check_graded_inputs(errors, network, chip)

    pops: dict[str, _PopPlan] = {}
    for pop in network.populations.values():
        if pop.is_input:
            continue
        plan = pops[pop.name] = _PopPlan(pop)
        check_neuron_features(errors, pop, chip, _KERNEL_RESETS)
        _check_population(errors, plan, fmt, chip)

    projs: list[_ProjPlan] = []
    for proj in network.projections:
        syn = synapses[proj.name]
        check_delays(errors, proj, syn, chip)
        if proj.learning is not None:
            # imported here: the learning engine's kernels must not be imported by a compile
            # that runs with Numba off (cli/warmup.py's second process compiles that way)
            from .learning import check_learning

            check_learning(errors, proj, chip)
        if proj.post not in pops:
            errors.error(f"{describe(proj)}: targets input '{proj.post}'; an input cannot receive "
                         f"synapses", span=proj.span)
            continue
        plan = _plan_projection(errors, proj, syn, network, fmt, chip)
        if plan is not None:
            projs.append(plan)
            if proj.post in pops:
                pops[proj.post].incoming.append(plan)
    errors.raise_if_any(QuantizationError)

    warnings: list[str] = []
    notes: list[str] = []
    results: dict[str, _ProjResult] = {}
    qpops: dict[str, QPopulation] = {}
    pop_errors = []
    for name, pop in network.populations.items():
        if pop.is_input:
            qpops[name] = QPopulation(name=name, size=pop.size, is_input=True)
            continue
        plan = pops[name]
        s, why, fixed = _choose_scale(errors, plan, fmt)
        s_max = s
        params, pres, s = _quantize_population(errors, warnings, plan, fmt, s, fixed)
        if s < s_max and not fixed:
            why += (f", then halved to leave v room below zero: at {pow2_text(s)} every weight, "
                    f"threshold and bias applies the same float value as at {pow2_text(s_max)}")
        for pp in plan.incoming:
            pres_proj = pres.get(pp.proj.name)
            if pres_proj is not None:
                results[pp.proj.name] = pres_proj
        if params is None:
            continue
        qpops[name] = QPopulation(name=name, size=pop.size, is_input=False, params=params, v_scale=1.0 / s)
        pop_errors.append(_population_errors(plan, params, fmt, s))
        notes.append(f"{describe(pop)}: scale s = {pow2_text(s)} integer units per float unit "
                     f"({why}); v_scale = 1/s")
        if not pop.neuron.spiking:
            notes.append(f"{describe(pop)} is a non-spiking read-out (li): its threshold is the "
                         f"mantissa maximum (vth_mant = {fmt.vth_max}), so it never spikes in practice")
        warnings.extend(_population_warnings(plan, params, fmt, s, chip))
    errors.raise_if_any(QuantizationError)

    qprojs: dict[str, QProjection] = {}
    proj_errors = []
    for pp in projs:
        res = results[pp.proj.name]
        s = 1.0 / qpops[pp.proj.post].v_scale
        # a plastic synapse stays even at 0: it can learn a weight (docs/learning.md)
        qsyn = keep_nonzero(res.syn, res.q) if pp.proj.learning is None else \
            replace(res.syn, weights=np.asarray(res.q, dtype=np.int64))
        qprojs[pp.proj.name] = QProjection(name=pp.proj.name, pre=pp.proj.pre, post=pp.proj.post,
                                           synapses=qsyn, weight_bits=res.bits, weight_exp=res.exp,
                                           sign_mode=pp.sign_mode)
        err = _projection_error(pp, res, fmt, s)
        proj_errors.append(err)
        warnings.extend(_projection_warnings(pp, res, err, native))

    report = QuantizationReport(projections=tuple(proj_errors), populations=tuple(pop_errors),
                                warnings=tuple(warnings), notes=tuple(notes))
    return QuantizedNetwork(network=network, chip=chip, family=FAMILY, populations=qpops,
                            projections=qprojs, report=report)


# --------------------------------------------------------------------------------------
# Checking what the user wrote.


def _check_population(errors: Collector, plan: _PopPlan, fmt: LoihiFormat, chip: Any) -> None:
    pop, model = plan.pop, plan.pop.neuron
    n = pop.size
    nat = natives_of(pop, chip)
    ranges = {
        "du": (0, fmt.decay_max, f"the {fmt.decay_bits}-bit current decay"),
        "dv": (0, fmt.decay_max, f"the {fmt.decay_bits}-bit voltage decay"),
        "vth_mant": (0, fmt.vth_max, f"the {fmt.vth_bits}-bit threshold mantissa"),
        "bias_mant": (fmt.bias_mant_lo, fmt.bias_mant_hi, "the bias mantissa"),
        "bias_exp": (0, fmt.bias_exp_max, "the bias exponent"),
        "refractory": (0, chip.neuron.refractory_max_steps, "the refractory counter"),
    }
    for key, value in nat.items():
        if key not in ranges:
            errors.error(f"{describe(pop)}: native {chip.neuron.native} has no key '{key}' for a "
                         f"population", span=pop.span)
            continue
        lo, hi, what = ranges[key]
        arr = native_ints(errors, pop, chip, key, value, n, lo, hi, what)
        if arr is not None:
            plan.natives[key] = arr
    if model.spiking and "vth_mant" not in nat:
        thr = as_array(model.threshold, n)
        if np.any(thr < 0):
            errors.error(f"{describe(pop)}: threshold {float(thr.min()):g} is negative, but "
                         f"{chip.name}'s threshold mantissa is unsigned", span=pop.span,
                         hint="use a threshold >= 0 (shift the bias instead)")


def _plan_projection(errors: Collector, proj: Projection, syn: Synapses, network: Network,
                     fmt: LoihiFormat, chip: Any) -> _ProjPlan | None:
    native = chip.neuron.native
    nat = natives_of(proj, chip)
    unknown = [k for k in nat if k not in ("weights", "weight_exp", "weight_bits", "sign_mode")]
    for key in unknown:
        errors.error(f"{describe(proj)}: native {native} has no key '{key}' for a projection", span=proj.span)
    exp = nat.get("weight_exp")
    if exp is not None and not fmt.exp_min <= exp <= fmt.exp_max:
        errors.error(f"{describe(proj)}: native {native} weight_exp = {exp} does not fit the weight "
                     f"exponent ({fmt.exp_min}..{fmt.exp_max})", span=proj.span,
                     hint=f"give a value in {fmt.exp_min}..{fmt.exp_max}, or leave weight_exp out")
        return None
    bits = nat.get("weight_bits")
    if bits is not None and bits not in fmt.weight_bits:
        errors.error(f"{describe(proj)}: native {native} weight_bits = {bits} is not a weight width "
                     f"of {chip.name} ({', '.join(str(b) for b in fmt.weight_bits)})", span=proj.span)
        return None
    mode = nat.get("sign_mode")
    if mode is not None and mode not in fmt.sign_modes:
        errors.error(f"{describe(proj)}: native {native} sign_mode = '{mode}' is not a sign mode of "
                     f"{chip.name} ({', '.join(fmt.sign_modes)})", span=proj.span)
        return None

    pinned_syn = raw = None
    if "weights" in nat:
        pre, post = network.populations[proj.pre], network.populations[proj.post]
        pinned_syn = _lower_pinned(errors, proj, pre, post, nat["weights"], syn, native)
        if pinned_syn is None:
            return None
        raw = pinned_syn.weights.astype(np.int64)
        decide_from = raw
    else:
        decide_from = syn.weights
    if mode is None:
        mode = _sign_mode(decide_from, fmt.sign_modes)
        if mode is None:
            errors.error(f"{describe(proj)}: has weights of both signs, but {chip.name} offers only "
                         f"the sign modes {', '.join(fmt.sign_modes)}", span=proj.span,
                         hint="split it into an excitatory and an inhibitory projection")
            return None
    if raw is not None:
        lo, hi = fmt.weight_clip(mode)
        bad = (raw < lo) | (raw > hi)
        if np.any(bad):
            errors.error(f"{describe(proj)}: native {native} weight {int(raw[bad][0])} does not fit "
                         f"the {fmt.max_bits}-bit {mode} weight range ({lo}..{hi})", span=proj.span,
                         hint=f"keep the integers in {lo}..{hi} and carry the scale in weight_exp")
            return None
    w = syn.weights
    return _ProjPlan(proj=proj, syn=syn, natives=nat, sign_mode=mode, bits=bits, exp=exp,
                     pinned_syn=pinned_syn, pinned_raw=raw,
                     max_pos=float(w.max(initial=0.0)), max_neg=float(-w.min(initial=0.0)))


# --------------------------------------------------------------------------------------
# The scale of a population.


def _log2_floor(x: float) -> int:
    return math.floor(math.log2(x))


def _pinned_fit(plan: _PopPlan, fmt: LoihiFormat) -> tuple[float, str] | None:
    """Least-squares ``s`` from the pinned weights of projections into the population."""
    num = den = 0.0
    names = []
    for pp in plan.incoming:
        if pp.pinned_syn is None:
            continue
        res = _pinned_result(pp, fmt)
        applied = applied_weights(res.q, res.exp).astype(np.float64) * 2.0 ** fmt.input_shift
        a, b = align_pairs(pair_weights(pp.syn), pair_weights(pp.pinned_syn, applied))
        num += float(np.dot(a, b))
        den += float(np.dot(a, a))
        names.append(f"'{pp.proj.name}'")
    if not names or den == 0.0 or num <= 0.0:
        return None
    return num / den, "fitted to the pinned weights of " + ", ".join(names)


def _choose_scale(errors: Collector, plan: _PopPlan, fmt: LoihiFormat) -> tuple[float, str, bool]:
    """``(s, why, fixed)``: ``fixed`` when pinned integers set ``s`` (then nothing else may
    move it); otherwise the largest power of two under every bound, with the bound that
    decided it."""
    pop, model = plan.pop, plan.pop.neuron
    n = pop.size
    thr = as_array(model.threshold, n)
    if "vth_mant" in plan.natives and model.spiking and thr.max(initial=0.0) > 0:
        s = float(plan.natives["vth_mant"].max()) * 2.0 ** fmt.vth_shift / float(thr.max())
        return s, "set by the pinned vth_mant", True
    fit = _pinned_fit(plan, fmt)
    if fit is not None:
        return fit[0], fit[1], True
    return _free_scale(plan, fmt)


def _free_scale(plan: _PopPlan, fmt: LoihiFormat) -> tuple[float, str, bool]:
    pop, model = plan.pop, plan.pop.neuron
    n = pop.size
    bounds: list[tuple[int, str]] = []
    thr = as_array(model.threshold, n)
    thr_max = float(thr.max(initial=0.0))
    if model.spiking and "vth_mant" not in plan.natives and thr_max > 0:
        # vth_mant = threshold · s / 2^shift must fit the mantissa.
        bounds.append((_log2_floor(fmt.vth_max * 2.0 ** fmt.vth_shift / thr_max), "threshold mantissa"))
    bias = np.abs(as_array(model.bias, n))
    if "bias_mant" not in plan.natives and "bias_exp" not in plan.natives and bias.max(initial=0.0) > 0:
        bounds.append((_log2_floor(fmt.bias_mant_hi * 2.0 ** fmt.bias_exp_max / float(bias.max())),
                       "bias mantissa and exponent"))
    for pp in plan.incoming:
        # The largest weight must fit the format at the largest allowed exponent.
        lo, hi, step = weight_format(fmt.max_bits, pp.bits or fmt.max_bits, pp.sign_mode)
        e_hi = fmt.exp_max if pp.exp is None else pp.exp
        reach = 2.0 ** (e_hi + fmt.input_shift)
        if pp.max_pos > 0 and hi > 0:
            bounds.append((_log2_floor(hi * reach / pp.max_pos), f"weight exponent of '{pp.proj.name}'"))
        if pp.max_neg > 0 and lo < 0:
            bounds.append((_log2_floor(-lo * reach / pp.max_neg), f"weight exponent of '{pp.proj.name}'"))
    peak = _peak_input(plan)
    if peak > 0:
        # Every input of a neuron arriving in one step must not wrap u.
        bounds.append((_log2_floor(fmt.u_max / peak), "input headroom of u"))
    if not model.spiking:
        # A read-out never resets: its steady V, with every input at its peak, must not
        # saturate v (when it leaks at all; an integrating read-out has no bound).
        alpha = float(as_array(model.alpha, n).max())
        beta = float(as_array(model.beta, n).max())
        v_peak = (peak / (1 - alpha) + float(bias.max(initial=0.0))) / (1 - beta) \
            if alpha < 1 and beta < 1 else 0.0
        if v_peak > 0:
            bounds.append((_log2_floor(fmt.v_max / v_peak), "V headroom of the read-out"))
    if not bounds:
        # Nothing limits s (no input, no bias, threshold 0): one float unit as if the
        # threshold were 1.
        bounds.append((_log2_floor(fmt.vth_max * 2.0 ** fmt.vth_shift), "threshold mantissa at threshold 1"))
    k, why = min(bounds, key=lambda b: b[0])
    return 2.0 ** k, f"largest power of two allowed by the {why}", False


def _peak_input(plan: _PopPlan) -> float:
    """Largest float input a neuron can receive in one step (every source spiking), over
    positive and negative weights separately."""
    n = plan.pop.size
    pos = np.zeros(n, dtype=np.float64)
    neg = np.zeros(n, dtype=np.float64)
    for pp in plan.incoming:
        w = pp.syn.weights
        pos += np.bincount(pp.syn.indices, weights=np.where(w > 0, w, 0.0), minlength=n)
        neg += np.bincount(pp.syn.indices, weights=np.where(w < 0, -w, 0.0), minlength=n)
    return float(max(pos.max(initial=0.0), neg.max(initial=0.0)))


# --------------------------------------------------------------------------------------
# Integers at a given scale.


def _pinned_result(pp: _ProjPlan, fmt: LoihiFormat) -> _ProjResult:
    raw = pp.pinned_raw
    assert raw is not None and pp.pinned_syn is not None  # only called for pinned weights
    bits = pp.bits
    if bits is None:
        # The narrowest width that stores the pinned integers unchanged, else the widest.
        bits = next((b for b in fmt.weight_bits
                     if np.array_equal(lava_dense_weights(raw, max_bits=fmt.max_bits, bits=b,
                                                          sign_mode=pp.sign_mode), raw)), fmt.max_bits)
    q = lava_dense_weights(raw, max_bits=fmt.max_bits, bits=bits, sign_mode=pp.sign_mode)
    return _ProjResult(q=q, syn=pp.pinned_syn, exp=0 if pp.exp is None else pp.exp, bits=bits,
                       clipped=0, fmt=weight_format(fmt.max_bits, bits, pp.sign_mode))


def _quantize_projection(pp: _ProjPlan, fmt: LoihiFormat, s: float) -> tuple[_ProjResult, bool]:
    """The projection's integers at scale ``s``; the flag is True when nothing clipped."""
    if pp.pinned_syn is not None:
        return _pinned_result(pp, fmt), True
    units = s / 2.0 ** fmt.input_shift
    uw, inv, counts = pp.distinct
    # Negative exponents are not chosen: Lava floors the summed input after the shift,
    # so they would bias single spikes downwards (a pinned one is kept).
    e_lo = max(0, fmt.exp_min)
    widest = pp.bits or fmt.max_bits
    fmt_w = weight_format(fmt.max_bits, widest, pp.sign_mode)
    exp = pp.exp
    if exp is None:
        exp = choose_exponent(pp.max_pos, pp.max_neg, units, fmt_w, min(e_lo, fmt.exp_max), fmt.exp_max)
    fits = exp is not None
    if exp is None:
        exp = fmt.exp_max
    q_u, clip_u = quantize_weights(uw, units, exp, fmt_w)
    bits = widest
    if pp.bits is None and fits:
        # The narrowest width that applies exactly the same weights (less synapse memory).
        target = applied_weights(q_u, exp)
        for b in fmt.weight_bits:
            if b >= widest:
                break
            fmt_b = weight_format(fmt.max_bits, b, pp.sign_mode)
            e_b = exp if pp.exp is not None else choose_exponent(pp.max_pos, pp.max_neg, units, fmt_b,
                                                                 min(e_lo, fmt.exp_max), fmt.exp_max)
            if e_b is None:
                continue
            q_b, c_b = quantize_weights(uw, units, e_b, fmt_b)
            if not c_b.any() and np.array_equal(applied_weights(q_b, e_b), target):
                q_u, clip_u, exp, bits, fmt_w = q_b, c_b, e_b, b, fmt_b
                break
    return _ProjResult(q=q_u[inv], syn=pp.syn, exp=exp, bits=bits,
                       clipped=int(counts[clip_u].sum()), fmt=fmt_w), fits and not clip_u.any()


def _quantize_population(errors: Collector, warnings: list[str], plan: _PopPlan, fmt: LoihiFormat,
                         s: float, fixed: bool
                         ) -> tuple[dict[str, np.ndarray] | None, dict[str, _ProjResult], float]:
    """Registers of the population and integers of its incoming projections at ``s``.

    When ``s`` is free and something does not fit, ``s`` is halved until everything fits
    (the analytic bounds are exact up to rounding, so this loops once or twice).
    """
    for _ in range(_MAX_HALVINGS):
        params, results, problems = _at_scale(plan, fmt, s)
        if not problems or fixed:
            break
        s /= 2.0
    else:
        fixed = True  # nothing a smaller scale can mend (pinned integers): report it
    if not fixed and not problems and _exact_decays(params, fmt):
        # Without a decay that truncates, a larger s buys no precision once every weight,
        # threshold and bias applies the same float value: halve s while they do, so v
        # has as much room below zero as the numbers allow (an IF neuron driven negative
        # sinks without bound in the float model; at the largest s the 24-bit register
        # would hold only a few thresholds).
        same = _applied_floats(params, results, fmt, s)
        for _ in range(_MAX_HALVINGS):
            p2, r2, pr2 = _at_scale(plan, fmt, s / 2.0)
            if pr2 or not _same_floats(same, _applied_floats(p2, r2, fmt, s / 2.0)):
                break
            s, params, results = s / 2.0, p2, r2
    if fixed:
        for kind, text in problems:
            if kind == "error":
                errors.error(f"{describe(plan.pop)}: {text}", span=plan.pop.span,
                             hint="pin this register too (native loihi), or remove the pinned "
                                  "integers that fix the scale")
            else:
                warnings.append(f"{describe(plan.pop)}: {text}")
        if any(kind == "error" for kind, _ in problems):
            return None, results, s
    return params, results, s


def _exact_decays(params: Mapping[str, np.ndarray], fmt: LoihiFormat) -> bool:
    """Whether every decay factor is 0 or 1, so ``trunc(x · factor)`` rounds nothing and
    the integers are exactly ``s`` times the float state at any scale."""
    return all(np.all(np.isin(applied_decay(params[reg], off, fmt.decay_bits), (0.0, 1.0)))
               for reg, off in (("du", fmt.offset_u), ("dv", fmt.offset_v)))


def _applied_floats(params: Mapping[str, np.ndarray], results: Mapping[str, _ProjResult],
                    fmt: LoihiFormat, s: float) -> list[np.ndarray]:
    """The float values the chip applies at scale ``s``: each projection's weights, the
    thresholds and the biases, in float units."""
    units = s / 2.0 ** fmt.input_shift
    out = [applied_weights(r.q, r.exp) / units for _, r in sorted(results.items())]
    out.append(params["vth_mant"] * 2.0 ** fmt.vth_shift / s)
    out.append(applied_weights(params["bias_mant"], 0) * 2.0 ** params["bias_exp"] / s)
    return out


def _same_floats(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _at_scale(plan: _PopPlan, fmt: LoihiFormat, s: float
              ) -> tuple[dict[str, np.ndarray], dict[str, _ProjResult], list[tuple[str, str]]]:
    pop, model, nat = plan.pop, plan.pop.neuron, plan.natives
    n = pop.size
    problems: list[tuple[str, str]] = []
    results: dict[str, _ProjResult] = {}
    pos = np.zeros(n, dtype=np.int64)
    neg = np.zeros(n, dtype=np.int64)
    for pp in plan.incoming:
        res, ok = _quantize_projection(pp, fmt, s)
        results[pp.proj.name] = res
        if not ok:
            problems.append(("warning", f"weights of '{pp.proj.name}' clip at weight_exp {res.exp}"))
        a = applied_weights(res.q, res.exp) << fmt.input_shift
        pos += np.bincount(res.syn.indices, weights=np.where(a > 0, a, 0), minlength=n).astype(np.int64)
        neg += np.bincount(res.syn.indices, weights=np.where(a < 0, -a, 0), minlength=n).astype(np.int64)
    if max(pos.max(initial=0), neg.max(initial=0)) > fmt.u_max:
        problems.append(("warning", f"u can wrap when every input of a neuron arrives in one step "
                                    f"(up to {int(max(pos.max(), neg.max()))} > {fmt.u_max})"))

    alpha = as_array(model.alpha, n)
    beta = as_array(model.beta, n)
    params: dict[str, np.ndarray] = {}
    params["du"] = nat.get("du", decay_register(alpha, fmt.offset_u, fmt.decay_bits))
    if "dv" in nat:
        params["dv"] = nat["dv"]
    elif model.family == "if":
        params["dv"] = np.zeros(n, dtype=np.int64)  # no leak: factor (2^D - 0) / 2^D = 1
    else:
        params["dv"] = decay_register(beta, fmt.offset_v, fmt.decay_bits)

    if "vth_mant" in nat:
        params["vth_mant"] = nat["vth_mant"]
    elif not model.spiking:
        params["vth_mant"] = np.full(n, fmt.vth_max, dtype=np.int64)
    else:
        vth = np.rint(as_array(model.threshold, n) * s / 2.0 ** fmt.vth_shift)
        if vth.max(initial=0) > fmt.vth_max:
            problems.append(("error", f"threshold {float(as_array(model.threshold, n).max()):g} at scale "
                                      f"{pow2_text(s)} needs vth_mant = {int(vth.max())}, beyond the "
                                      f"{fmt.vth_bits}-bit mantissa (0..{fmt.vth_max})"))
        params["vth_mant"] = np.clip(vth, 0, fmt.vth_max).astype(np.int64)

    bias = as_array(model.bias, n)
    if "bias_mant" in nat or "bias_exp" in nat:
        b_exp = nat.get("bias_exp", np.zeros(n, dtype=np.int64))
        if "bias_mant" in nat:
            b_mant = nat["bias_mant"]
        else:
            m = np.rint(bias * s / 2.0 ** b_exp)
            if np.any((m < fmt.bias_mant_lo) | (m > fmt.bias_mant_hi)):
                problems.append(("error", f"bias at scale {pow2_text(s)} with the pinned bias_exp needs a "
                                          f"mantissa beyond {fmt.bias_mant_lo}..{fmt.bias_mant_hi}"))
            b_mant = np.clip(m, fmt.bias_mant_lo, fmt.bias_mant_hi).astype(np.int64)
    else:
        b_mant, b_exp, too_big = bias_registers(bias * s, fmt.bias_mant_lo, fmt.bias_mant_hi, fmt.bias_exp_max)
        if too_big.any():
            problems.append(("error", f"bias {float(bias[too_big][0]):g} at scale {pow2_text(s)} does not "
                                      f"fit the bias mantissa and exponent"))
    params["bias_mant"] = np.asarray(b_mant, dtype=np.int64)
    params["bias_exp"] = np.asarray(b_exp, dtype=np.int64)
    params["refractory"] = nat.get("refractory", np.full(n, model.refractory_steps, dtype=np.int64))
    return params, results, problems


# --------------------------------------------------------------------------------------
# The report.


def _projection_error(pp: _ProjPlan, res: _ProjResult, fmt: LoihiFormat, s: float):
    units = s / 2.0 ** fmt.input_shift
    applied = applied_weights(res.q, res.exp) / units
    if pp.pinned_syn is None:
        float_w, chip_w = pp.syn.weights, applied
    else:
        float_w, chip_w = align_pairs(pair_weights(pp.syn), pair_weights(pp.pinned_syn, applied))
    return projection_error(pp.proj.name, float_w, chip_w, weight_bits=res.bits, weight_exp=res.exp,
                            clipped=res.clipped, sign_mode=pp.sign_mode, pinned=pp.pinned_syn is not None)


def _projection_warnings(pp: _ProjPlan, res: _ProjResult, err, native: str) -> list[str]:
    out = []
    where = describe(pp.proj)
    if err.zeroed_fraction > _ZEROED_WARNING:
        out.append(f"{where}: {err.zeroed_fraction:.0%} of its weights round to 0 at weight_exp "
                   f"{res.exp} ({res.bits}-bit {pp.sign_mode}); the chip drops them. The population's "
                   f"other inputs or its threshold set the scale: see the notes")
    if res.clipped:
        out.append(f"{where}: {err.clipped_fraction:.1%} of its weights are clipped to the "
                   f"{res.bits}-bit {pp.sign_mode} range at weight_exp {res.exp}")
    if pp.pinned_raw is not None:
        changed = res.q != pp.pinned_raw
        if changed.any():
            i = int(np.flatnonzero(changed)[0])
            out.append(f"{where}: {int(changed.sum())} pinned weight(s) have bits below the "
                       f"{res.bits}-bit {pp.sign_mode} format's lowest bit; the chip uses them rounded "
                       f"down, as Lava's Dense does (e.g. {int(pp.pinned_raw[i])} -> {int(res.q[i])})")
    return out


def _population_errors(plan: _PopPlan, params: Mapping[str, np.ndarray], fmt: LoihiFormat, s: float):
    model, n = plan.pop.neuron, plan.pop.size
    errs = {
        "alpha": relative_error(applied_decay(params["du"], fmt.offset_u, fmt.decay_bits), as_array(model.alpha, n)),
        "beta": relative_error(applied_decay(params["dv"], fmt.offset_v, fmt.decay_bits), as_array(model.beta, n)),
    }
    if model.spiking:
        errs["threshold"] = relative_error(params["vth_mant"] * 2.0 ** fmt.vth_shift / s,
                                           as_array(model.threshold, n))
    bias_int = params["bias_mant"].astype(np.float64) * 2.0 ** params["bias_exp"]
    errs["bias"] = relative_error(bias_int / s, as_array(model.bias, n))
    return population_error(plan.pop.name, errs, pinned=bool(plan.natives))


def _population_warnings(plan: _PopPlan, params: Mapping[str, np.ndarray], fmt: LoihiFormat, s: float,
                         chip: Any) -> list[str]:
    pop, model, n = plan.pop, plan.pop.neuron, plan.pop.size
    out = []
    for key, reg, offset, value in (("alpha", "du", fmt.offset_u, model.alpha), ("beta", "dv", fmt.offset_v, model.beta)):
        if reg in plan.natives:
            continue
        want = as_array(value, n)
        slowest = float(applied_decay(0, offset, fmt.decay_bits))
        fastest = float(applied_decay(fmt.decay_max, offset, fmt.decay_bits))
        if want.max() > slowest + 0.5 / (1 << fmt.decay_bits):
            out.append(f"{describe(pop)}: {key} = {float(want.max()):g} is out of reach on {chip.name}: "
                       f"{reg} = 0 gives the slowest decay, {slowest:.6g} per step (decay offset {offset})")
        if want.min() < fastest - 0.5 / (1 << fmt.decay_bits):
            out.append(f"{describe(pop)}: {key} = {float(want.min()):g} is out of reach on {chip.name}: "
                       f"{reg} = {fmt.decay_max} gives the fastest decay, {fastest:.6g} per step")
    alpha_chip = float(applied_decay(params["du"], fmt.offset_u, fmt.decay_bits).max())
    if alpha_chip > 0 and plan.incoming:
        peak = _peak_input(plan) * s
        if peak / (1 - alpha_chip) > fmt.u_max:
            out.append(f"{describe(pop)}: u can wrap if inputs keep arriving at their peak: the current "
                       f"then grows to {peak / (1 - alpha_chip):.4g} > {fmt.u_max} integer units")
    return out
