"""Quantization: a float :class:`~neurocomp.ir.network.Network` in one chip's integers.

Input: a built network, a :class:`~neurocomp.chip.spec.ChipSpec`, and optionally the
network's lowered synapses (:func:`neurocomp.compiler.lower.lower`; lowered here when not
given). Output: a :class:`~neurocomp.ir.quantized.QuantizedNetwork` holding, per
population, the chip's neuron registers (keys by neuron family, see
:mod:`neurocomp.ir.quantized`) and, per projection, integer weights in CSR, plus a
:class:`~neurocomp.ir.quantized.QuantizationReport` saying how far every integer is from
the float it stands for.

Invariants of every result:

* the float network and the given synapses are not changed;
* every projection's ``synapses.weights`` is int64, and no weight is 0 (a weight that
  rounds to 0 is no synapse, as in :mod:`neurocomp.compiler.lower`); ``indptr`` and
  ``indices`` keep the lowering's dtypes and ordering;
* integers the user pinned with ``native CHIP(...)`` are kept exactly as given, after
  they were checked against the chip's widths (a pinned value out of range is a
  :class:`~neurocomp.diagnostics.QuantizationError` naming the object and the range);
* every population's ``v_scale`` converts the chip's membrane integer back to the float
  model's units: ``V_float ≈ v_int · v_scale``.

The arithmetic belongs to the chip's neuron family (``chip.neuron.family``): this door
looks the family up in :mod:`neurocomp.targets` and calls its quantizer
(``neurocomp/targets/<family>/quantize.py``). ``docs/quantization.md`` explains, for each
family, how a float becomes an integer and what the reported errors mean. The helpers
below (range checks, error figures, dropping zero weights, the checks every family
shares) are there for family quantizers to use; ``docs/extending.md`` shows how a new
family plugs in.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ..chip.spec import ChipSpec
from ..diagnostics import Collector, QuantizationError, UsageError, did_you_mean
from ..ir.encoders import ConstantCurrent, GradedFrames
from ..ir.network import Network, Population, Projection
from ..ir.quantized import (PopulationError, ProjectionError, QuantizationReport,
                            QuantizedNetwork)
from ..ir.synapses import Synapses
from ..ir.values import ArrayValue
from ..chip.family import FAMILIES, find

__all__ = [
    "quantize",
    "QuantizerFn",
    "report_text",
]

#: What a family's quantizer is called with: the network, the chip, and the lowered
#: synapses of every projection (keyed by projection name).
QuantizerFn = Callable[[Network, ChipSpec, Mapping[str, Synapses]], QuantizedNetwork]


def quantize(network: Network, chip: ChipSpec, *,
             synapses: Mapping[str, Synapses] | None = None) -> QuantizedNetwork:
    """The network in the chip's integer formats, with an error report.

    Parameters
    ----------
    network
        A built network (float parameters; ``native`` blocks pin integers).
    chip
        A :class:`~neurocomp.chip.spec.ChipSpec`; its ``neuron.family`` selects the
        family's quantizer (:mod:`neurocomp.targets`).
    synapses
        The network's lowered synapses, one per projection (``lower(network)``); lowered
        here when ``None``.

    Returns
    -------
    QuantizedNetwork
        One :class:`~neurocomp.ir.quantized.QPopulation` per population and one
        :class:`~neurocomp.ir.quantized.QProjection` per projection, in the network's
        order; invariants in the module docstring.

    Raises
    ------
    QuantizationError
        A value the chip cannot represent (a pinned integer out of range, a reset mode
        or a graded input the chip does not have, ...), naming the object.
    UsageError
        ``synapses`` misses a projection, or no quantizer exists for the chip's family.
    """
    name = chip.neuron.family
    fam = find(name)
    if fam is None:
        raise UsageError(f"chip '{chip.name}': no quantizer for neuron family {name!r}",
                         hint=did_you_mean(name, FAMILIES))
    plastic = [p for p in network.projections if p.learning is not None]
    if plastic and not fam.learning:
        errors = Collector()
        for proj in plastic:
            errors.error(f"projection '{proj.name}' learns, but chip '{chip.name}' (neuron family "
                         f"{name}) has no on-chip learning engine in neurocomp", span=proj.learning.span,
                         hint="compile for loihi, or drop the 'learn' clause and compile the learned "
                              "weights (docs/learning.md)")
        errors.raise_if_any(QuantizationError)
    fn = fam.quantize_fn()
    if synapses is None:
        from .lower import lower

        synapses = lower(network)
    else:
        missing = [p.name for p in network.projections if p.name not in synapses]
        if missing:
            raise UsageError(f"the synapses given to quantize() miss projection(s) "
                             f"{', '.join(repr(m) for m in missing)}",
                             hint="pass lower(network), or leave synapses out")
    _require_tables(network, synapses)
    if not fam.max_pool:
        _refuse_max_pool(network, chip)
    return fn(network, chip, synapses)


def _refuse_max_pool(network: Network, chip: ChipSpec) -> None:
    """A ``max_pool`` projection on a chip whose neurons can only add their inputs."""
    from ..ir.connectors import Pool2d

    errors = Collector()
    for proj in network.projections:
        if isinstance(proj.connector, Pool2d) and proj.connector.kind == "max":
            errors.error(f"{describe(proj)}: max_pool takes the largest input, which {chip.name}'s "
                         f"neurons cannot do (they add their inputs)", span=proj.span,
                         hint="use sum_pool or avg_pool, or compile for akida")
    errors.raise_if_any(QuantizationError)


def _require_tables(network: Network, synapses: Mapping[str, Synapses]) -> None:
    """Refuse a quantization whose tables cannot fit, before a family builds them: at least
    an int64 chip weight per synapse and an int64 register (its threshold) per neuron that
    is not an input (Python integers: no wrap-around)."""
    from ..resources import require_memory

    n_syn = sum(int(np.asarray(s.indices).size) for s in synapses.values())
    n_neurons = sum(int(p.size) for p in network.populations.values() if not p.is_input)
    require_memory(8 * n_syn + 8 * n_neurons,
                   f"quantizing network '{network.name}' ({n_syn:,} synapses, {n_neurons:,} neurons)",
                   where=f"network '{network.name}'", hint="use fewer neurons or sparser connectors")


# --------------------------------------------------------------------------------------
# Helpers for family quantizers.


def natives_of(obj: Population | Projection, chip: ChipSpec) -> dict[str, Any]:
    """The integers ``obj`` pins for this chip (``native CHIP(...)``), or ``{}``."""
    return dict(obj.native.get(chip.neuron.native, {}))


def describe(obj: Population | Projection) -> str:
    """``population 'x'``, ``input 'x'`` or ``projection 'x'``, for messages."""
    if isinstance(obj, Projection):
        return f"projection {obj.name!r}"
    return f"input {obj.name!r}" if obj.is_input else f"population {obj.name!r}"


def int_range_text(lo: int, hi: int) -> str:
    return f"{lo}..{hi}"


def native_ints(errors: Collector, obj: Population | Projection, chip: ChipSpec, key: str, value: Any,
                n: int, lo: int, hi: int, what: str) -> np.ndarray | None:
    """A pinned integer (or one per neuron) as an int64 array of ``n``, range-checked.

    ``value`` is an int, a tuple of ints (one, or ``n``), or an
    :class:`~neurocomp.ir.values.ArrayValue` of ``n`` values. A value outside
    ``lo..hi`` (inclusive) or of the wrong length is reported to ``errors`` (naming
    ``obj``, ``key``, ``what`` it is on the chip and the range) and gives ``None``.
    """
    native = chip.neuron.native
    if isinstance(value, ArrayValue):
        arr = np.asarray(value.values, dtype=np.int64).reshape(-1)
    else:
        arr = np.asarray(value, dtype=np.int64).reshape(-1)
    if arr.size == 1:
        arr = np.full(n, arr[0], dtype=np.int64)
    if arr.size != n:
        errors.error(f"{describe(obj)}: native {native} {key} has {arr.size} values, "
                     f"expected 1 or {n} (one per neuron)", span=obj.span)
        return None
    bad = (arr < lo) | (arr > hi)
    if np.any(bad):
        got = int(arr[bad][0])
        errors.error(f"{describe(obj)}: native {native} {key} = {got} does not fit {what} "
                     f"({int_range_text(lo, hi)})", span=obj.span,
                     hint=f"give a value in {int_range_text(lo, hi)}, or leave {key} out and "
                          f"let the compiler choose it")
        return None
    return arr


def relative_error(chip_values: np.ndarray, float_values: np.ndarray) -> float:
    """``max |chip − float|`` over the largest ``|float|`` (over 1 when all are 0).

    The yardstick of every figure in the report: an error of 0.01 is 1 % of the object's
    largest float value.
    """
    chip_values = np.asarray(chip_values, dtype=np.float64)
    float_values = np.asarray(float_values, dtype=np.float64)
    if chip_values.size == 0:
        return 0.0
    scale = float(np.max(np.abs(float_values)))
    diff = float(np.max(np.abs(chip_values - float_values)))
    return diff / scale if scale > 0 else diff


def projection_error(name: str, float_w: np.ndarray, chip_w: np.ndarray, *, weight_bits: int,
                     weight_exp: int, clipped: int, sign_mode: str | None,
                     pinned: bool = False) -> ProjectionError:
    """Error figures of one projection, from aligned float and chip weights.

    ``chip_w`` is what the chip applies for one spike through each synapse, in float
    units; errors are relative to the projection's largest ``|float_w|``; ``clipped``
    counts synapses whose integer hit the format's range.
    """
    float_w = np.asarray(float_w, dtype=np.float64)
    chip_w = np.asarray(chip_w, dtype=np.float64)
    n = float_w.size
    if n == 0:
        return ProjectionError(projection=name, weight_bits=weight_bits, weight_exp=weight_exp,
                               max_error=0.0, rms_error=0.0, clipped_fraction=0.0,
                               zeroed_fraction=0.0, pinned=pinned, sign_mode=sign_mode)
    scale = float(np.max(np.abs(float_w)))
    diff = np.abs(chip_w - float_w)
    denom = scale if scale > 0 else 1.0
    zeroed = int(np.count_nonzero((chip_w == 0) & (float_w != 0)))
    return ProjectionError(projection=name, weight_bits=weight_bits, weight_exp=weight_exp,
                           max_error=float(diff.max()) / denom,
                           rms_error=float(np.sqrt(np.mean(diff * diff))) / denom,
                           clipped_fraction=clipped / n, zeroed_fraction=zeroed / n,
                           pinned=pinned, sign_mode=sign_mode)


def keep_nonzero(syn: Synapses, weights: np.ndarray) -> Synapses:
    """``syn`` with integer ``weights`` (aligned with its synapses), zeros dropped.

    The result keeps the CSR order; ``delays`` (when per synapse) follow their synapses.
    """
    weights = np.asarray(weights, dtype=np.int64)
    keep = weights != 0
    if np.all(keep):
        return Synapses(projection=syn.projection, n_pre=syn.n_pre, n_post=syn.n_post,
                        indptr=syn.indptr, indices=syn.indices, weights=weights,
                        delay=syn.delay, delays=syn.delays)
    rows = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
    counts = np.bincount(rows[keep], minlength=syn.n_pre).astype(np.int64)
    indptr = np.zeros(syn.n_pre + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    delays = None if syn.delays is None else np.ascontiguousarray(syn.delays[keep], dtype=np.int32)
    return Synapses(projection=syn.projection, n_pre=syn.n_pre, n_post=syn.n_post, indptr=indptr,
                    indices=np.ascontiguousarray(syn.indices[keep], dtype=np.int32),
                    weights=np.ascontiguousarray(weights[keep], dtype=np.int64),
                    delay=syn.delay, delays=delays)


def pair_weights(syn: Synapses, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``pre * n_post + post`` keys and the summed weight of each pair.

    Aligns two lowerings of one projection whose synapse lists differ (a pinned weight
    file with zeros where the float weights have none, or the other way round).
    """
    w = syn.weights if weights is None else weights
    rows = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
    keys = rows * np.int64(syn.n_post) + syn.indices.astype(np.int64)
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inv, weights=np.asarray(w, dtype=np.float64), minlength=uniq.size)


def align_pairs(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Values of two :func:`pair_weights` results on the union of their keys (0 where absent)."""
    keys = np.union1d(a[0], b[0])
    out = []
    for k, v in (a, b):
        full = np.zeros(keys.size, dtype=np.float64)
        full[np.searchsorted(keys, k)] = v
        out.append(full)
    return out[0], out[1]


def check_neuron_features(errors: Collector, pop: Population, chip: ChipSpec,
                          implemented_resets: Iterable[str]) -> None:
    """Reset mode and refractory period against the chip (every family needs these).

    ``implemented_resets`` are the modes the family's emulator kernel implements; a mode
    the chip lists but the kernel lacks is reported too.
    """
    model = pop.neuron
    if model is None:
        return
    chip_modes = tuple(chip.neuron.reset_modes)
    if model.spiking and model.reset not in chip_modes:
        listed = ", ".join(f"'{m}'" for m in chip_modes)
        errors.error(f"{describe(pop)}: reset '{model.reset}' is not available on {chip.name} "
                     f"(its neurons reset by: {listed})", span=pop.span,
                     hint=f"write reset = {chip_modes[0]} in the population, or choose a chip whose "
                          f"neuron.reset_modes include '{model.reset}'")
    elif model.spiking and model.reset not in tuple(implemented_resets):
        errors.error(f"{describe(pop)}: reset '{model.reset}' is listed by {chip.name} but the "
                     f"{chip.neuron.family} quantizer implements only "
                     f"{', '.join(repr(m) for m in implemented_resets)}", span=pop.span)
    limit = chip.neuron.refractory_max_steps
    if model.refractory_steps > limit:
        errors.error(f"{describe(pop)}: refractory period of {model.refractory_steps} steps exceeds "
                     f"{chip.name}'s maximum ({limit})", span=pop.span,
                     hint=f"use at most {limit} steps" if limit else
                          f"{chip.name} has no refractory period: leave 'refractory' out")


def check_delays(errors: Collector, proj: Projection, syn: Synapses, chip: ChipSpec) -> None:
    """Every synapse's arrival (``1 + delay`` steps) within the chip's delay range."""
    rng = chip.numerics.delay
    if syn.n_synapses == 0:
        return
    longest = syn.max_delay + 1
    shortest = (int(syn.delays.min()) if syn.delays is not None else syn.delay) + 1
    window = (f"after exactly {rng.min_steps} step(s)" if rng.min_steps == rng.max_steps
              else f"after {rng.min_steps}..{rng.max_steps} steps")
    if longest > rng.max_steps:
        errors.error(f"{describe(proj)}: a spike arrives {longest} steps after it is sent "
                     f"(delay {longest - 1} + 1), but {chip.name} delivers every spike {window}",
                     span=proj.span,
                     hint=f"use delay <= {rng.max_steps - 1} steps"
                          if rng.max_steps > 1 else f"{chip.name} has no synaptic delays: leave 'delay' out")
    elif shortest < rng.min_steps:
        errors.error(f"{describe(proj)}: a spike arrives {shortest} step(s) after it is sent, but "
                     f"{chip.name} delivers every spike {window}", span=proj.span,
                     hint=f"use delay >= {rng.min_steps - 1} steps")


def check_graded_inputs(errors: Collector, network: Network, chip: ChipSpec) -> None:
    """A graded source (``current(...)``) on a chip whose synapses carry binary spikes."""
    for pop in network.populations.values():
        if isinstance(pop.encoder, GradedFrames):
            errors.error(f"{describe(pop)}: a graded source (frames) cannot drive {chip.name}, whose synapses "
                         f"carry binary spikes", span=pop.span,
                         hint="encode the frames as spikes (rate(...) or delta(...)), or run the network on akida")
            continue
        if not isinstance(pop.encoder, ConstantCurrent):
            continue
        targets = sorted({p.post for p in network.projections if p.pre == pop.name})
        where = (" on " + ", ".join(f"'{t}'" for t in targets)) if targets else ""
        errors.error(f"{describe(pop)}: a graded source (current) cannot drive {chip.name}, whose "
                     f"synapses carry binary spikes", span=pop.span,
                     hint=f"remove the input and write bias = (weight × value){where} instead: a "
                          f"bias adds the same amount to V every step")


def report_text(report: QuantizationReport) -> str:
    """The report as a plain-text table (projections, populations, warnings, notes)."""
    width = max([20] + [len(p.projection) for p in report.projections]
                + [len(q.population) for q in report.populations])
    lines = [f"{'projection':<{width}}  bits  exp  sign        max err   rms err  clipped  zeroed  pinned"]
    for p in report.projections:
        lines.append(f"{p.projection:<{width}}  {p.weight_bits:>4}  {p.weight_exp:>3}  "
                     f"{(p.sign_mode or '-'):<10}  {p.max_error:>8.2%}  {p.rms_error:>8.2%}  "
                     f"{p.clipped_fraction:>7.1%}  {p.zeroed_fraction:>6.1%}  {'yes' if p.pinned else ''}")
    lines.append("")
    lines.append(f"{'population':<{width}}  " + "  ".join(f"{k:>9}" for k in ("alpha", "beta", "threshold", "bias"))
                 + "  pinned")
    for q in report.populations:
        cells = [f"{q.max_errors[k]:>9.3%}" if k in q.max_errors else f"{'-':>9}"
                 for k in ("alpha", "beta", "threshold", "bias")]
        lines.append(f"{q.population:<{width}}  " + "  ".join(cells) + f"  {'yes' if q.pinned else ''}")
    for title, items in (("warnings", report.warnings), ("notes", report.notes)):
        if items:
            lines.append("")
            lines.append(f"{title}:")
            lines.extend(f"  - {w}" for w in items)
    return "\n".join(lines)


def pow2_text(x: float) -> str:
    """``2^k`` when ``x`` is a power of two, else the number (for notes)."""
    if x > 0:
        k = math.log2(x)
        if k == round(k):
            return f"2^{int(k)}"
    return f"{x:.6g}"


def population_error(name: str, errors: Mapping[str, float], pinned: bool) -> PopulationError:
    return PopulationError(population=name, max_errors=dict(errors), pinned=pinned)
