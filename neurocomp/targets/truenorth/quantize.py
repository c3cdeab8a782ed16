"""Quantization for the TrueNorth neuron family: axon types, type weights, integer leak.

Input: a :class:`~neurocomp.ir.network.Network`, a ChipSpec of family ``truenorth`` and
the lowered synapses (``lower(network)``). Output: a
:class:`~neurocomp.ir.quantized.QuantizedNetwork` in TrueNorth's integers (parameter
keys in :mod:`neurocomp.ir.quantized`), with a report of every approximation.

TrueNorth's synapses are bits. A synapse from axon ``i`` onto neuron ``j`` adds
``s_j[G_i]``: the axon has ONE type ``G_i`` (of ``chip.connectivity.axon_types``) shared
by all its targets, and each neuron holds one signed weight per type. A float weight
matrix is therefore approximated per target population, over all its incoming
projections together (every source neuron of every incoming projection is one axon):

1. start from a sign split: an axon whose mean weight is positive gets one of the
   "positive" types, a negative one a "negative" type; the types are shared between
   the signs by how many distinct magnitudes each has, and within a sign the axons are
   clustered by magnitude (exactly, when there are no more distinct magnitudes than
   types; else by quantiles refined with 1-D k-means);
2. refine by alternating least squares (k-means whose centroids are per neuron): each
   neuron's type weight ``s_j[g]`` is the mean of its float weights from axons of type
   ``g``; each axon takes the type that minimises ``Σ_j (w_ij - s_j[g])²`` over its
   targets. Both steps lower the squared error, so it stops (at most 25 rounds);
3. choose one scale ``c`` per population (``v_int ≈ c · v_float``, ``v_scale = 1/c``): the
   largest the widths allow (type weights and leak within their signed widths,
   ``floor(θ·c) + 1`` within the threshold's), lowered to the largest scale that makes
   every type weight and leak an exact integer when the float values are multiples of
   one unit (:func:`choose_scale`); integer weights are ``round(s·c)``.

Neuron parameters, per neuron (``θ`` threshold, ``β`` decay, ``b`` bias of the float model)::

    threshold α = floor(θ·c) + 1     (the float model fires on V > θ, TrueNorth on V >= α:
                                      the same test on integers; floor(θ·c) with ">")
    β = 1 (IF):       leak λ = round(b·c), no reversal            (exact up to rounding)
    β < 1, b = 0:     λ = -round((1-β)·θ/2·c) with leak reversal   (approximate: TrueNorth's
                      leak is additive; it removes what the float decay removes at |V| = θ/2)
    β < 1, b != 0:    λ = round((b - (1-β)·θ/2)·c), no reversal    (approximate)
    β < 1 (spiking):  α lowered by the decay's part of the leak, round((1-β)·θ/2·c): TrueNorth
                      leaks after integrating, the float model decays the old V before adding
                      the input, so the same-tick leak must not count against the threshold
    reset zero -> γ 0 (normal) with R = 0; subtract -> γ 1 (linear); none -> γ 2
    negative threshold β_neg = the largest the widths hold, κ = 1 (saturate there); for a
                      spiking neuron with β < 1 and b = 0, β_neg = 0: V saturates at 0
                      from below (the additive leak would take many ticks to undo a
                      large negative potential the float decay forgets in a few)
    threshold_mask = 0 (deterministic), no stochastic synapse or leak

Axon copies: with one type per axon, a source whose weights differ in sign between its
targets cannot be fitted (a convolution's ``+w`` on the kernel's line and ``-w`` off it).
When a population's largest weight error exceeds 5 %, each free incoming projection is
also tried as 2 projections from the same sources (an excitatory and an inhibitory copy,
each synapse in the copy of its sign: the way Esser et al. 2016, PNAS 113(41), brought
each input in on two axons of opposite sign types) and as 4 (each sign split at its
median magnitude); the fewest copies within 1 % of the best error are kept. A copy is
one more axon per source on every core it reaches and, since a TrueNorth neuron has one
destination, one more splitter neuron (partitioning counts both); a neuron's own fan-in
does not grow (each synapse is in one copy). The copies appear in the QuantizedNetwork as
projections ``name``, ``name_inh`` (and ``name_strong``, ``name_inh_strong``), and a
note gives the axons they cost and the error before and after.

A float synaptic current (``alpha > 0``) has no TrueNorth counterpart: a spike then
delivers ``w/(1-alpha)`` at once (the charge the float model spreads over time), with a
warning. A refractory period, a graded input (``current``) and a delay outside
``chip.numerics.delay`` are errors.

``native truenorth(...)`` values are used exactly as given (``docs/dsl.md``); the DSL's
``reset_mode`` words map to Cassidy's γ and to the chip file's reset-mode names:

=========  =====  ================  ===========================================
DSL word   γ      chip file name    meaning
=========  =====  ================  ===========================================
``zero``   0      ``value``         normal: V = reset_value (0 unless given)
``linear`` 1      ``subtract``      linear: V = V - (α + η)
``none``   2      ``none``          V unchanged
=========  =====  ================  ===========================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from ...diagnostics import Collector, QuantizationError
from ...ir.network import Network, Population, Projection
from ...ir.quantized import (PopulationError, ProjectionError, QPopulation, QProjection,
                            QuantizationReport, QuantizedNetwork)
from ...ir.synapses import Synapses
from ...ir.connectors import Sparse
from .fan_in import split_fan_in
from ...ir.values import ArrayValue, as_array
from ...compiler.quantize import (check_delays, check_graded_inputs, native_ints, natives_of, population_error,
                       projection_error)

__all__ = ["quantize_truenorth", "assign_axon_types", "choose_scale", "RESET_MODES"]

#: DSL reset words (the float model's and ``native truenorth``'s) -> (γ, chip-file name).
RESET_MODES: dict[str, tuple[int, str]] = {
    "zero": (0, "value"),
    "linear": (1, "subtract"),
    "subtract": (1, "subtract"),
    "none": (2, "none"),
}

_MAX_ROUNDS = 25  # alternating least squares; each round can only lower the error
_MAX_DENOMINATOR = 16  # units u/1 .. u/16 tried for an exact scale
_SCALE_SAMPLE = 20000  # values the exactness test looks at (a fixed subsample beyond)
_WARN_ERROR = 0.05  # warn when a projection's max error exceeds 5 % of its largest weight


# --------------------------------------------------------------------------- chip widths


@dataclass(frozen=True)
class _Widths:
    """The integer ranges of ``chip`` that quantization fills."""

    native: str
    n_types: int
    w_bits: int
    w_lo: int
    w_hi: int
    leak_lo: int
    leak_hi: int
    thr_hi: int
    neg_hi: int
    reset_lo: int
    reset_hi: int
    mask_hi: int
    strict: bool
    reset_modes: tuple[str, ...]
    delay_lo: int
    delay_hi: int

    @classmethod
    def of(cls, chip: Any) -> "_Widths":
        num = chip.numerics
        w_bits = num.weights.max_bits

        def signed(bits: int) -> tuple[int, int]:
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1

        w_lo, w_hi = signed(w_bits)
        leak_lo, leak_hi = signed(num.leak.bits) if num.leak.signed else (0, (1 << num.leak.bits) - 1)
        reset_lo, reset_hi = signed(num.reset_value.bits) if num.reset_value.signed \
            else (0, (1 << num.reset_value.bits) - 1)
        v_max = (1 << (num.state["v"].bits - 1)) - 1
        thr_hi = min((1 << num.threshold.mantissa_bits) - 1, v_max)
        neg_hi = min((1 << num.negative_threshold.mantissa_bits) - 1, v_max)
        return cls(native=chip.neuron.native, n_types=int(chip.connectivity.axon_types),
                   w_bits=w_bits, w_lo=w_lo, w_hi=w_hi, leak_lo=leak_lo, leak_hi=leak_hi,
                   thr_hi=thr_hi, neg_hi=neg_hi, reset_lo=reset_lo, reset_hi=reset_hi,
                   mask_hi=int(num.threshold.mask_bits or 0),
                   strict=chip.neuron.threshold_compare == ">",
                   reset_modes=tuple(chip.neuron.reset_modes),
                   delay_lo=num.delay.min_steps, delay_hi=num.delay.max_steps)


# --------------------------------------------------------------------------- types and scale


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values, equal within a relative 1e-9."""
    if values.size == 0:
        return values
    v = np.sort(values)
    tol = 1e-9 * max(1.0, float(np.abs(v).max()))
    keep = np.concatenate(([True], np.diff(v) > tol))
    return v[keep]


def _cluster_1d(values: np.ndarray, k: int) -> np.ndarray:
    """Labels ``0..k-1`` grouping ``values`` by size (ascending); exact when few distinct."""
    uniq = _distinct(values)
    if uniq.size <= k:
        return np.clip(np.searchsorted(uniq, values - 1e-9 * max(1.0, float(np.abs(uniq).max()))),
                       0, max(uniq.size - 1, 0))
    centers = np.quantile(values, (np.arange(k) + 0.5) / k)
    for _ in range(_MAX_ROUNDS):
        labels = np.argmin(np.abs(values[:, None] - centers[None, :]), axis=1)
        sums = np.bincount(labels, weights=values, minlength=k)
        counts = np.bincount(labels, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centers)
        if np.allclose(new, centers, rtol=0.0, atol=1e-12):
            break
        centers = new
    order = np.argsort(centers)
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[np.argmin(np.abs(values[:, None] - centers[None, :]), axis=1)]


def _initial_types(axon: np.ndarray, w: np.ndarray, n_axons: int, n_types: int) -> np.ndarray:
    """The sign-split, magnitude-clustered start of :func:`assign_axon_types`."""
    types = np.zeros(n_axons, dtype=np.int64)
    count = np.bincount(axon, minlength=n_axons)
    used = count > 0
    rep = np.bincount(axon, weights=w, minlength=n_axons) / np.maximum(count, 1)
    pos = used & (rep >= 0)
    neg = used & (rep < 0)
    u_pos = _distinct(rep[pos]).size
    u_neg = _distinct(-rep[neg]).size
    if u_pos and u_neg:
        if u_pos + u_neg <= n_types:
            k_pos, k_neg = u_pos, u_neg
        else:
            k_pos = int(np.clip(round(n_types * u_pos / (u_pos + u_neg)), 1, n_types - 1))
            k_neg = n_types - k_pos
    else:
        k_pos, k_neg = min(u_pos, n_types), min(u_neg, n_types)
    if k_pos:
        types[pos] = _cluster_1d(rep[pos], k_pos)
    if k_neg:
        # Negative types follow the positive ones, largest magnitude first.
        types[neg] = k_pos + _cluster_1d(-rep[neg], k_neg)
    return types


def _centroids(axon, post, w, types, n_post, n_types) -> np.ndarray:
    """Per neuron and type, the mean float weight from axons of that type (0 when none)."""
    key = post * n_types + types[axon]
    sums = np.bincount(key, weights=w, minlength=n_post * n_types)
    counts = np.bincount(key, minlength=n_post * n_types)
    return (sums / np.maximum(counts, 1)).reshape(n_post, n_types)


def assign_axon_types(axon: np.ndarray, post: np.ndarray, w: np.ndarray, n_axons: int, n_post: int,
                      n_types: int, fixed_types: np.ndarray | None = None,
                      fixed_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One type per axon and one float weight per (neuron, type), fitting ``w`` in least squares.

    Parameters
    ----------
    axon, post, w : numpy.ndarray
        One entry per synapse: its axon (0..n_axons-1), its target neuron (0..n_post-1)
        and its float weight.
    n_axons, n_post, n_types : int
    fixed_types : numpy.ndarray, optional
        int64 ``[n_axons]``: a type to keep for an axon, or -1 where the type is free.
    fixed_weights : numpy.ndarray, optional
        float64 ``(n_post, n_types)``: type weights to keep (then only the free axons'
        types are chosen, each the best for these weights).

    Returns
    -------
    (types, weights)
        int64 ``[n_axons]`` and float64 ``(n_post, n_types)``; the synapse ``k`` is
        approximated by ``weights[post[k], types[axon[k]]]``. Axons without synapses
        get type 0 unless fixed.

    Minimises ``Σ_k (w_k - weights[post_k, types[axon_k]])²`` by alternating the two
    least-squares steps of the module docstring from the sign-split start; the result
    is exact whenever some assignment is (e.g. weights of one sign per axon and at most
    ``n_types`` distinct values per neuron, as in ``{-1, +1}`` networks).
    """
    axon = np.asarray(axon, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    free = np.ones(n_axons, dtype=bool) if fixed_types is None else np.asarray(fixed_types) < 0
    types = _initial_types(axon, w, n_axons, n_types)
    if fixed_types is not None:
        types = np.where(free, types, np.asarray(fixed_types, dtype=np.int64))
    for _ in range(_MAX_ROUNDS):
        weights = fixed_weights if fixed_weights is not None else \
            _centroids(axon, post, w, types, n_post, n_types)
        cost = np.stack([np.bincount(axon, weights=(w - weights[post, g]) ** 2, minlength=n_axons)
                         for g in range(n_types)], axis=1)
        best = np.argmin(cost, axis=1)
        # Keep the current type on ties, so the loop ends.
        current = cost[np.arange(n_axons), types]
        tol = 1e-12 * np.maximum(1.0, current)
        moved = free & (current > cost[np.arange(n_axons), best] + tol)
        if not moved.any():
            break
        types = np.where(moved, best, types)
    weights = fixed_weights if fixed_weights is not None else \
        _centroids(axon, post, w, types, n_post, n_types)
    return types.astype(np.int64), np.asarray(weights, dtype=np.float64)


def choose_scale(c_max: float, values: np.ndarray) -> float:
    """The scale ``c <= c_max`` for ``values·c``: exact integers when possible, else ``c_max``.

    When every nonzero value is an integer multiple of a unit ``g = u/m`` (``u`` the
    smallest magnitude, ``m = 1..16``) and ``floor(c_max·g) >= 1``, returns the largest such
    ``c = floor(c_max·g)/g``: every ``v·c`` is then an exact integer (``{-1, +1}`` weights
    give ``c = 255`` with 9-bit weights; ``{1, 0.5}`` gives 254). Otherwise ``c_max``, the
    finest grid the widths allow. ``values`` beyond 20,000 are subsampled with a fixed seed
    for the test.
    """
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[v != 0.0]
    if not np.isfinite(c_max):
        return 1.0
    if v.size == 0:
        return float(c_max)
    if v.size > _SCALE_SAMPLE:
        v = np.random.default_rng(0).choice(v, _SCALE_SAMPLE, replace=False)
    u = float(v.min())
    for m in range(1, _MAX_DENOMINATOR + 1):
        g = u / m
        ratio = v / g
        if np.all(np.abs(ratio - np.round(ratio)) <= 1e-9 * np.maximum(1.0, ratio)):
            k = np.floor(c_max * g * (1.0 + 1e-12))
            return float(k / g) if k >= 1 else float(c_max)
    return float(c_max)


def _floor(x: np.ndarray) -> np.ndarray:
    """``floor`` that treats values within float noise of an integer as that integer."""
    return np.floor(x + 1e-9 * np.maximum(1.0, np.abs(x)))


# --------------------------------------------------------------------------- natives


@dataclass(frozen=True)
class _PopNatives:
    """A population's pinned integers, parsed and range-checked (absent keys are None)."""

    ints: Mapping[str, np.ndarray]  # leak, threshold, neg_threshold, reset_value, threshold_mask
    reset_mode: int | None
    leak_reversal: int | None
    axon_weights: np.ndarray | None  # int64 (n, n_types)

    @property
    def any(self) -> bool:
        return bool(self.ints) or self.reset_mode is not None or self.leak_reversal is not None \
            or self.axon_weights is not None


def _reset_gamma(errors: Collector, pop: Population, word: str, w: _Widths, what: str) -> int | None:
    """γ of a DSL reset word, if the chip offers the matching reset mode."""
    gamma, chip_mode = RESET_MODES[word]
    offered = w.reset_modes
    if chip_mode in offered or (chip_mode == "value" and "zero" in offered):
        return gamma
    errors.error(f"population '{pop.name}': {what} '{word}' needs the chip's '{chip_mode}' reset "
                 f"mode; it offers {', '.join(repr(m) for m in offered)}", span=pop.span,
                 hint="choose a reset this chip offers")
    return None


def _pop_natives(errors: Collector, pop: Population, chip: Any, w: _Widths) -> _PopNatives:
    native = natives_of(pop, chip)
    n = pop.size
    ranges = {
        "leak": (w.leak_lo, w.leak_hi, "the leak's signed width"),
        "threshold": (0, w.thr_hi, "an unsigned threshold"),
        "neg_threshold": (0, w.neg_hi, "an unsigned negative threshold"),
        "reset_value": (w.reset_lo, w.reset_hi, "the reset value's signed width"),
        "threshold_mask": (0, w.mask_hi, "the bits of the threshold's random mask"),
    }
    ints = {}
    for key, (lo, hi, what) in ranges.items():
        if key in native:
            arr = native_ints(errors, pop, chip, key, native[key], n, lo, hi, what)
            if arr is not None:
                ints[key] = arr
    gamma = None
    if "reset_mode" in native:
        gamma = _reset_gamma(errors, pop, str(native["reset_mode"]), w, "native reset_mode")
    reversal = int(bool(native["leak_reversal"])) if "leak_reversal" in native else None
    weights = None
    if "axon_weights" in native:
        value = native["axon_weights"]
        arr = np.asarray(value.values if isinstance(value, ArrayValue) else value,
                         dtype=np.int64).reshape(-1)
        if arr.size == 1:
            arr = np.repeat(arr, w.n_types)
        if arr.size == w.n_types:
            arr = np.tile(arr, n)
        if arr.size != n * w.n_types:
            errors.error(f"population '{pop.name}': native {w.native} axon_weights has {arr.size} "
                         f"values, expected {w.n_types} (one per axon type) or [{n}, {w.n_types}]",
                         span=pop.span, hint=f"give {w.n_types} integers, or a file of shape "
                                             f"[{n}, {w.n_types}]")
        elif ((arr < w.w_lo) | (arr > w.w_hi)).any():
            got = int(arr[(arr < w.w_lo) | (arr > w.w_hi)][0])
            errors.error(f"population '{pop.name}': native {w.native} axon_weights = {got} does not "
                         f"fit a {w.w_bits}-bit signed type weight ({w.w_lo}..{w.w_hi})",
                         span=pop.span, hint=f"give values in {w.w_lo}..{w.w_hi}, or leave "
                                             "axon_weights out and let the compiler choose them")
        else:
            weights = arr.reshape(n, w.n_types)
    return _PopNatives(ints=ints, reset_mode=gamma, leak_reversal=reversal, axon_weights=weights)


def _check_model(errors: Collector, pop: Population, chip: Any, w: _Widths) -> None:
    """The float model's reset and refractory period against the chip."""
    model = pop.neuron
    if model.spiking:
        _reset_gamma(errors, pop, model.reset, w, "reset")
    limit = chip.neuron.refractory_max_steps
    if model.refractory_steps > limit:
        errors.error(f"population '{pop.name}': refractory period of {model.refractory_steps} steps "
                     f"exceeds {chip.name}'s maximum ({limit})", span=pop.span,
                     hint=f"use at most {limit} steps" if limit else
                          f"{chip.name} has no refractory period: leave 'refractory' out")


# --------------------------------------------------------------------------- per projection


@dataclass(frozen=True)
class _Incoming:
    """One projection into a population, its synapses merged per (pre, post, delay)."""

    proj: Projection
    n_pre: int
    n_post: int
    pre: np.ndarray  # int64 [m]
    post: np.ndarray  # int64 [m]
    w: np.ndarray  # float64 [m], as lowered (duplicates summed)
    delay: np.ndarray  # int64 [m], extra steps
    pinned_types: np.ndarray | None  # int64 [n_pre]


def _incoming(errors: Collector, proj: Projection, syn: Synapses, chip: Any, w: _Widths) -> _Incoming:
    pre = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
    post = syn.indices.astype(np.int64)
    delay = syn.delay_array().astype(np.int64)
    weights = syn.weights.astype(np.float64)
    # A crossbar holds one bit per (axon, neuron): a pair listed twice becomes one synapse
    # with the summed weight (pairs with different delays stay apart).
    if pre.size:
        order = np.lexsort((delay, post, pre))
        pre, post, delay, weights = pre[order], post[order], delay[order], weights[order]
        new = np.ones(pre.size, dtype=bool)
        new[1:] = (np.diff(pre) != 0) | (np.diff(post) != 0) | (np.diff(delay) != 0)
        if not new.all():
            weights = np.bincount(np.cumsum(new) - 1, weights=weights)
            pre, post, delay = pre[new], post[new], delay[new]
    pinned = None
    native = natives_of(proj, chip)
    if "axon_type" in native:
        pinned = native_ints(errors, proj, chip, "axon_type", native["axon_type"], syn.n_pre, 0,
                             w.n_types - 1, f"one of the chip's {w.n_types} axon types")
    return _Incoming(proj=proj, n_pre=syn.n_pre, n_post=syn.n_post, pre=pre, post=post, w=weights,
                     delay=delay, pinned_types=pinned)


def _qprojection(inc: _Incoming, types: np.ndarray, keep: np.ndarray, w: _Widths) -> QProjection:
    """Binary synapses (weight 1) where the effective integer weight is nonzero."""
    pre, post, delay = inc.pre[keep], inc.post[keep], inc.delay[keep]
    indptr = np.zeros(inc.n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=inc.n_pre), out=indptr[1:])
    one_delay = delay.size == 0 or bool(np.all(delay == delay[0]))
    syn = Synapses(projection=inc.proj.name, n_pre=inc.n_pre, n_post=inc.n_post, indptr=indptr,
                   indices=post.astype(np.int32), weights=np.ones(pre.size, dtype=np.int64),
                   delay=int(delay[0]) if one_delay and delay.size else 0,
                   delays=None if one_delay else delay.astype(np.int32))
    return QProjection(name=inc.proj.name, pre=inc.proj.pre, post=inc.proj.post, synapses=syn,
                       weight_bits=w.w_bits, weight_exp=0, sign_mode="mixed",
                       axon_type=types.astype(np.int8))


def _projection_warnings(err: ProjectionError, w: _Widths) -> list[str]:
    out = []
    name = err.projection
    if err.max_error > _WARN_ERROR:
        out.append(f"projection '{name}': {w.n_types} axon types cannot hold its weights exactly: "
                   f"max error {err.max_error:.1%} of its largest weight (RMS {err.rms_error:.1%})")
    if err.clipped_fraction:
        out.append(f"projection '{name}': {err.clipped_fraction:.1%} of its synapses have a type "
                   f"weight clipped to {w.w_lo}..{w.w_hi}")
    if err.zeroed_fraction:
        out.append(f"projection '{name}': {err.zeroed_fraction:.1%} of its synapses round to 0 "
                   f"and are dropped")
    return out


# --------------------------------------------------------------------------- per population


@dataclass(frozen=True)
class _PopResult:
    qpop: QPopulation
    qprojs: list[QProjection]
    proj_errors: list[ProjectionError]
    pop_error: PopulationError
    warnings: list[str]
    notes: list[str]


def _quantize_population(pop: Population, incoming: list[_Incoming], nat: _PopNatives,
                         w: _Widths) -> _PopResult:
    """Integers of one neuron population and of the projections into it (module docstring)."""
    model = pop.neuron
    n = pop.size
    warnings: list[str] = []
    notes: list[str] = []
    theta = as_array(model.threshold, n)
    beta = as_array(model.beta, n)
    alpha_syn = as_array(model.alpha, n)
    bias = as_array(model.bias, n)
    spiking = model.spiking
    errors: dict[str, float] = {}

    # A synaptic current: deliver a spike's whole charge w/(1-alpha) at once.
    gain = 1.0 / (1.0 - alpha_syn)
    if np.any(alpha_syn != 0.0):
        errors["alpha"] = float(alpha_syn.max())
        warnings.append(f"population '{pop.name}': TrueNorth has no synaptic current; each spike "
                        f"delivers its whole charge w/(1-alpha) in the tick it arrives (the float "
                        f"model spreads up to {alpha_syn.max():.1%} of it over later steps)")

    # Every source neuron of every incoming projection is one axon.
    offsets = np.cumsum([0] + [inc.n_pre for inc in incoming]).astype(np.int64)
    n_axons = int(offsets[-1])
    empty_i = np.zeros(0, dtype=np.int64)
    axon = np.concatenate([empty_i] + [inc.pre + off for inc, off in zip(incoming, offsets)])
    post = np.concatenate([empty_i] + [inc.post for inc in incoming])
    target = np.concatenate([np.zeros(0, dtype=np.float64)] + [inc.w for inc in incoming]) * gain[post]
    fixed_types = np.full(n_axons, -1, dtype=np.int64)
    for inc, off in zip(incoming, offsets):
        if inc.pinned_types is not None:
            fixed_types[off:off + inc.n_pre] = inc.pinned_types

    # Scale: pinned integers fix it; otherwise it is as large as the widths allow.
    c = None
    limited_by = ""
    if "threshold" in nat.ints and spiking and np.any(theta > 0):
        ok = theta > 0
        c = float(np.median(nat.ints["threshold"][ok] / theta[ok]))
        limited_by = "the pinned thresholds"
    if c is None and nat.axon_weights is not None and target.size and np.abs(target).max() > 0:
        c = float(np.abs(nat.axon_weights).max() / np.abs(target).max())
        limited_by = "the pinned axon_weights"
    if c is not None and c <= 0:
        c = None
    if nat.axon_weights is not None:
        c = 1.0 if c is None else c
        types, s_float = assign_axon_types(axon, post, target, n_axons, n, w.n_types,
                                           fixed_types=fixed_types,
                                           fixed_weights=nat.axon_weights / c)
    else:
        types, s_float = assign_axon_types(axon, post, target, n_axons, n, w.n_types,
                                           fixed_types=fixed_types)

    # The float leak the integer leak stands for, per tick (module docstring).
    decays = beta < 1.0
    v_ref = theta / 2.0 if spiking else np.abs(s_float).max(axis=1, initial=0.0) / 2.0
    leak_f = np.where(decays, bias - (1.0 - beta) * v_ref, bias)
    reversal = (decays & (bias == 0.0)).astype(np.int64)
    if c is None:
        caps = {"": np.inf}
        if np.abs(s_float).max(initial=0.0) > 0:
            caps["the type weights"] = min(w.w_hi, -w.w_lo) / np.abs(s_float).max()
        if np.abs(leak_f).max(initial=0.0) > 0:
            caps["the leak"] = min(w.leak_hi, -w.leak_lo) / np.abs(leak_f).max()
        if spiking and theta.max(initial=0.0) > 0:
            caps["the threshold"] = (w.thr_hi - 1) / theta.max()
        limited_by = min(caps, key=caps.get)
        c_max = float(caps[limited_by])
        # Only an exact leak (a bias with beta = 1) asks for an exact scale; a leak standing
        # for a decay is approximate whatever the scale.
        c = choose_scale(c_max, np.concatenate([s_float.reshape(-1), leak_f[~decays]]))
        if not np.isfinite(c_max):
            limited_by = "nothing (no weights, leak or threshold)"
    notes.append(f"population '{pop.name}': {c:.6g} integer units per float unit "
                 f"(v_scale {1.0 / c:.6g}), set by {limited_by}")

    # Type weights.
    if nat.axon_weights is not None:
        s_int = nat.axon_weights.astype(np.int64)
        clipped_w = np.zeros((n, w.n_types), dtype=bool)
    else:
        raw = np.round(s_float * c)
        clipped_w = (raw < w.w_lo) | (raw > w.w_hi)
        s_int = np.clip(raw, w.w_lo, w.w_hi).astype(np.int64)

    params: dict[str, np.ndarray] = {}
    # Threshold: V > θ of the float model is V >= floor(θ·c) + 1 on integers.
    off = 0 if w.strict else 1
    if spiking:
        alpha = _floor(theta * c) + off
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(theta != 0, np.abs(alpha - off - theta * c) / np.abs(theta * c), 0.0)
        errors["threshold"] = float(rel.max(initial=0.0))
        if (alpha < 0).any():
            warnings.append(f"population '{pop.name}': thresholds below 0 become 0 (TrueNorth "
                            f"thresholds are unsigned)")
        if (alpha > w.thr_hi).any():
            warnings.append(f"population '{pop.name}': thresholds above {w.thr_hi} are clipped")
    else:
        alpha = np.full(n, w.thr_hi, dtype=np.float64)
        notes.append(f"population '{pop.name}': a read-out; its threshold is the largest "
                     f"({w.thr_hi}) and it does not reset")
    params["threshold"] = np.clip(alpha, 0, w.thr_hi).astype(np.int64)

    # Leak.
    lam_raw = np.round(leak_f * c)
    if (lam_raw < w.leak_lo).any() or (lam_raw > w.leak_hi).any():
        warnings.append(f"population '{pop.name}': the leak ({float(np.abs(lam_raw).max()):.0f} "
                        f"per tick) is clipped to {w.leak_lo}..{w.leak_hi}")
    lam = np.clip(lam_raw, w.leak_lo, w.leak_hi).astype(np.int64)
    ref = np.abs(theta) if spiking else 2.0 * v_ref
    ref = np.where(ref > 0, ref, 1.0)
    if np.any(bias != 0.0):
        errors["bias"] = float(np.max(np.abs(lam / c - leak_f) / ref, initial=0.0))
    if decays.any():
        worst = float((1.0 - beta[decays]).max()) / 2.0
        errors["beta"] = worst
        rounds_off = decays & (lam == 0)
        warnings.append(f"population '{pop.name}': TrueNorth's leak is additive; the float decay "
                        f"(beta down to {beta.min():.4g}) becomes a leak of up to "
                        f"{int(np.abs(lam).max())} per tick"
                        + (" toward 0" if reversal.any() else "")
                        + f", off by up to {worst:.2%} of the "
                        + ("threshold" if spiking else "largest input") + " per tick"
                        + (" (for some neurons it rounds to 0)" if rounds_off.any() else "")
                        + ("; negative potentials saturate at 0" if (decays & (bias == 0.0)).any() and spiking
                           else ""))
    params["leak"] = lam
    params["leak_reversal"] = reversal

    # Reset (the word was checked against the chip before), negative threshold, modes.
    gamma = RESET_MODES[model.reset if spiking else "none"][0]
    params["reset_mode"] = np.full(n, gamma, dtype=np.int64)
    params["reset_value"] = np.zeros(n, dtype=np.int64)
    if spiking and gamma == RESET_MODES["subtract"][0]:
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.where(theta > 0, (params["threshold"] - theta * c) / (theta * c), 0.0)
        errors["reset"] = float(extra.max(initial=0.0))
    # TrueNorth integrates, then leaks, then tests the threshold; the float model decays the
    # old potential, then adds the input, then tests. So the leak standing for the decay
    # would also be taken from the input of the same tick (3 coincident spikes of weight 1
    # and threshold 2.5 at beta 0.5: 3 - 0.625 < 2.5, no spike). Lowering the threshold by
    # that leak (α' = α - λ_decay) makes the test the float one: V_prev·(leaked) + x >= α.
    # A subtracting reset then takes α' from the leaked V: the float V_prev·β + x - θ.
    if spiking and decays.any():
        lam_decay = np.where(decays, np.round((1.0 - beta) * v_ref * c), 0.0)
        params["threshold"] = np.clip(params["threshold"] - lam_decay, 0, w.thr_hi).astype(np.int64)
    # A decaying neuron without bias forgets a negative potential as fast as a positive
    # one; TrueNorth's additive leak removes at most |λ| per tick, so a potential driven far
    # below 0 by inhibitory inputs would silence the neuron for many ticks. Such neurons
    # saturate at 0 from below instead (β_neg = 0, κ = 1): the float model's negative
    # excursion is lost, which it mostly is within a few ticks anyway.
    floored = decays & (bias == 0.0) & spiking
    params["neg_threshold"] = np.where(floored, 0, w.neg_hi).astype(np.int64)
    params["neg_saturate"] = np.ones(n, dtype=np.int64)
    params["threshold_mask"] = np.zeros(n, dtype=np.int64)
    params["syn_stochastic"] = np.zeros((n, w.n_types), dtype=np.int64)
    params["leak_stochastic"] = np.zeros(n, dtype=np.int64)

    # What the user pinned is used as given.
    params.update(nat.ints)
    if nat.reset_mode is not None:
        params["reset_mode"] = np.full(n, nat.reset_mode, dtype=np.int64)
    if nat.leak_reversal is not None:
        params["leak_reversal"] = np.full(n, nat.leak_reversal, dtype=np.int64)
    params["axon_weights"] = s_int

    # Projections: binary synapses, one type per source, errors against the float weights.
    qprojs, proj_errors = [], []
    k0 = 0
    for inc, off_a in zip(incoming, offsets):
        m = inc.pre.size
        t_axon = types[off_a:off_a + inc.n_pre]
        eff_int = s_int[inc.post, t_axon[inc.pre]]
        qprojs.append(_qprojection(inc, t_axon, eff_int != 0, w))
        err = projection_error(inc.proj.name, target[k0:k0 + m], eff_int / c, weight_bits=w.w_bits,
                               weight_exp=0,
                               clipped=int(np.count_nonzero(clipped_w[inc.post, t_axon[inc.pre]])),
                               sign_mode="mixed", pinned=inc.pinned_types is not None)
        proj_errors.append(err)
        warnings.extend(_projection_warnings(err, w))
        k0 += m

    qpop = QPopulation(name=pop.name, size=n, is_input=False, params=params, v_scale=1.0 / c)
    return _PopResult(qpop=qpop, qprojs=qprojs, proj_errors=proj_errors,
                      pop_error=population_error(pop.name, errors, nat.any),
                      warnings=warnings, notes=notes)


# --------------------------------------------------------------------------- axon copies


#: Axon copies per source tried, in order: 1 (one axon per source), 2 (an excitatory and
#: an inhibitory copy, Esser et al. 2016), 4 (each sign in a strong and a weak copy).
COPIES = (1, 2, 4)


def _part_labels(w: np.ndarray, copies: int) -> np.ndarray:
    """The copy (0..copies-1) that carries each synapse: by sign, then by magnitude band.

    ``copies == 2``: 0 for ``w >= 0``, 1 for ``w < 0``. ``copies == 4``: within each sign
    the synapses above the sign's median magnitude go to their own copy, so each copy's
    weights span half the range the neuron's type weight must stand for.
    """
    neg = (w < 0).astype(np.int64)
    if copies == 2:
        return neg
    labels = 2 * neg
    for sign in (0, 1):
        sel = neg == sign
        if sel.any():
            mag = np.abs(w[sel])
            labels[np.flatnonzero(sel)] += (mag > np.median(mag)).astype(np.int64)
    return labels


def _copy_name(base: str, part: int, copies: int, taken: set[str]) -> str:
    """``base`` for the first copy; ``base_inh``, ``base_strong``... for the others (unique)."""
    words = {2: ("", "_inh"), 4: ("", "_strong", "_inh", "_inh_strong")}[copies]
    name = base + words[part]
    while part and name in taken:
        name += "_"
    return name


def _split(inc: _Incoming, copies: int, taken: set[str]) -> list[_Incoming]:
    """``inc`` as ``copies`` projections from the same sources, each synapse in one of them."""
    labels = _part_labels(inc.w, copies)
    out = []
    for part in range(copies):
        sel = labels == part
        if not sel.any() and part:
            continue
        name = _copy_name(inc.proj.name, part, copies, taken)
        taken.add(name)
        pre, post, wt, delay = inc.pre[sel], inc.post[sel], inc.w[sel], inc.delay[sel]
        path = f"{getattr(inc.proj.connector, 'path', inc.proj.name)} (axon copy {part + 1} of {copies})"
        proj = replace(inc.proj, name=name, connector=Sparse(pre=pre, post=post, weights=wt, path=path),
                       delay_steps=ArrayValue(delay.astype(np.int64), path) if delay.size and
                       np.any(delay != delay[0]) else (int(delay[0]) if delay.size else 0))
        out.append(_Incoming(proj=proj, n_pre=inc.n_pre, n_post=inc.n_post, pre=pre, post=post, w=wt,
                             delay=delay, pinned_types=None))
    return out


def _mixed_sources(inc: _Incoming) -> int:
    """Sources with synapses of both signs (one axon type cannot give them both)."""
    if inc.pre.size == 0:
        return 0
    pos = np.bincount(inc.pre, weights=(inc.w > 0), minlength=inc.n_pre) > 0
    neg = np.bincount(inc.pre, weights=(inc.w < 0), minlength=inc.n_pre) > 0
    return int(np.count_nonzero(pos & neg))


def _with_copies(pop: Population, incoming: list[_Incoming], nat: _PopNatives, w: _Widths,
                 taken: set[str]) -> tuple[_PopResult, list[list[_Incoming]]]:
    """Quantize ``pop`` with 1, 2 or 4 axons per source of its free projections; keep the
    fewest copies whose largest weight error is within 1 % of the best (module docstring).

    Returns the result and, per original incoming projection, the projections it became.
    """
    one = _quantize_population(pop, incoming, nat, w)
    worst = max((e.max_error for e in one.proj_errors), default=0.0)
    free = [inc.pinned_types is None and nat.axon_weights is None and inc.pre.size > 0 for inc in incoming]
    if worst <= _WARN_ERROR or not any(free):
        return one, [[inc] for inc in incoming]
    tried = [(worst, 1, one, [[inc] for inc in incoming])]
    for copies in COPIES[1:]:
        names = set(taken)
        groups = [_split(inc, copies, names) if f else [inc] for inc, f in zip(incoming, free)]
        res = _quantize_population(pop, [g for grp in groups for g in grp], nat, w)
        tried.append((max((e.max_error for e in res.proj_errors), default=0.0), copies, res, groups))
    best_err = min(t[0] for t in tried)
    err, copies, res, groups = next(t for t in tried if t[0] <= best_err + 0.01)
    if copies == 1:
        return one, [[inc] for inc in incoming]
    for grp in groups:
        taken.update(g.proj.name for g in grp)
    notes, warnings = list(res.notes), list(res.warnings)
    for inc, grp, f in zip(incoming, groups, free):
        if not f or len(grp) == 1:
            continue
        extra = sum(int(np.unique(g.pre).size) for g in grp) - int(np.unique(inc.pre).size)
        notes.append(f"projection '{inc.proj.name}': each source drives up to {copies} axons of different types "
                     f"({', '.join(repr(g.proj.name) for g in grp)}; Esser et al. 2016): {extra:,} more axons "
                     f"and a splitter neuron per extra copy; largest weight error {err:.1%} "
                     f"(one axon per source: {worst:.1%})")
    return replace(res, notes=notes, warnings=warnings), groups


# --------------------------------------------------------------------------- the door


def quantize_truenorth(network: Network, chip: Any, synapses: Mapping[str, Synapses]) -> QuantizedNetwork:
    """The network in TrueNorth's integers (module docstring), with its error report.

    Parameters
    ----------
    network : Network
    chip : ChipSpec
        A chip of neuron family ``truenorth``; every width comes from it.
    synapses : Mapping[str, Synapses]
        ``lower(network)``: the float synapses of every projection.

    Returns
    -------
    QuantizedNetwork
        Every neuron population has the parameter keys of :mod:`neurocomp.ir.quantized`
        for ``truenorth`` (plus ``neg_saturate`` κ, ``syn_stochastic`` ``(n, types)`` and
        ``leak_stochastic``, all int64); every projection has binary synapses (weights 1,
        pairs with a zero type weight dropped) and one ``axon_type`` (int8) per source
        neuron. The report has one ProjectionError per projection (errors of the
        effective weight ``axon_weights[post, axon_type[pre]] · v_scale`` against the
        float weight, relative to the projection's largest) and one PopulationError per
        neuron population (keys ``alpha``, ``beta``, ``threshold``, ``bias``, ``reset``
        where they apply, each relative to the threshold).

    Raises
    ------
    QuantizationError
        Every problem at once: a graded input (``current``), a delay outside the chip's
        range, a reset mode the chip lacks, a refractory period, a pinned native value
        that does not fit (each naming the population or projection).
    """
    w = _Widths.of(chip)
    errors = Collector()
    check_graded_inputs(errors, network, chip)
    for proj in network.projections:
        check_delays(errors, proj, synapses[proj.name], chip)
    # Neurons with more sources than a core has axons: partial sums (fan_in.py).
    network, synapses, split_notes = split_fan_in(network, synapses, int(chip.core.axons_in))
    natives: dict[str, _PopNatives] = {}
    incoming: dict[str, list[_Incoming]] = {}
    for pop in network.populations.values():
        if not pop.is_input:
            _check_model(errors, pop, chip, w)
            natives[pop.name] = _pop_natives(errors, pop, chip, w)
            incoming[pop.name] = []
    for proj in network.projections:
        if proj.post in incoming:
            incoming[proj.post].append(_incoming(errors, proj, synapses[proj.name], chip, w))
    errors.raise_if_any(QuantizationError)

    qpops: dict[str, QPopulation] = {}
    qprojs: dict[str, QProjection] = {}
    proj_errors: dict[str, ProjectionError] = {}
    pop_errors: list[PopulationError] = []
    warnings: list[str] = list(split_notes)  # partial sums change timing and cost cores: said loudly
    notes: list[str] = []
    taken = {p.name for p in network.projections}
    became: dict[str, list[Projection]] = {}
    for pop in network.populations.values():
        if pop.is_input:
            qpops[pop.name] = QPopulation(name=pop.name, size=pop.size, is_input=True)
            continue
        res, groups = _with_copies(pop, incoming[pop.name], natives[pop.name], w, taken)
        for inc, grp in zip(incoming[pop.name], groups):
            became[inc.proj.name] = [g.proj for g in grp]
        qpops[pop.name] = res.qpop
        for qp, pe in zip(res.qprojs, res.proj_errors):
            qprojs[qp.name] = qp
            proj_errors[qp.name] = pe
        pop_errors.append(res.pop_error)
        warnings.extend(res.warnings)
        notes.extend(res.notes)
    # A projection split into axon copies is, from here on, its copies (the network's
    # float model is unchanged: each synapse is in exactly one copy).
    projections = tuple(q for p in network.projections for q in became.get(p.name, [p]))
    if len(projections) != len(network.projections):
        network = replace(network, projections=projections)
    report = QuantizationReport(projections=tuple(proj_errors[p.name] for p in network.projections),
                                populations=tuple(pop_errors), warnings=tuple(warnings),
                                notes=tuple(notes))
    return QuantizedNetwork(network=network, chip=chip, family=chip.neuron.family, populations=qpops,
                            projections={p.name: qprojs[p.name] for p in network.projections},
                            report=report)
