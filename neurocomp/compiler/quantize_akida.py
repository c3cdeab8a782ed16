"""Quantization for the ``akida`` family (BrainChip Akida's event-based integer layers).

What the chip computes, per neuron ``n`` of a layer (a target population) and step, as
neurocomp models it (``/work/shared/reference/truenorth_akida_nir.md`` §2; widths from
the chip file)::

    acc[n] = Σ_projections p  scale_p · Σ_{source j spiked} w_p[j, n]     (int64)
    pot[n] = pot[n] + acc[n]
    spike when pot[n] > threshold[n];  then pot[n] = 0;  the event's value is 1

* ``w_p`` are signed, symmetric ``b``-bit integers ``-(2^(b-1) - 1) .. 2^(b-1) - 1``
  (``b`` from ``numerics.weights.bits``, or ``numerics.weights.input_layer_bits`` for a
  projection whose source is an input population: Akida's input layer);
* ``scale_p`` is one positive integer per projection (``QProjection.extra["scale"]``):
  it puts the projection's weight step into the layer's common integer units;
* ``threshold`` is in the same units; ``scale_shift`` is where their binary point sits:
  one integer unit is ``2^-scale_shift`` float units, so ``V_float = pot · 2^-scale_shift``
  (``v_scale``). The kernel never shifts: ``scale_shift`` only converts traces;
* ``act_bits`` is the width of the events a neuron sends. The float model's neurons
  send binary spikes, so it is the narrowest width the chip offers and every event
  carries the value 1.

This is the float model (:class:`~neurocomp.ir.network.NeuronModel`) with ``alpha = 0``
(no synaptic current state), ``beta = 1`` (no leak), no bias and no refractory period:
integrate and fire. A population that asks for more gets a
:class:`~neurocomp.diagnostics.QuantizationError`. Read-outs (``li``) get the largest
int64 threshold and never spike.

How the integers are chosen: per projection, a weight step ``Δ_p`` (either
``max|w| / (2^(b-1) - 1)``, which uses every level, or the next power of two above it,
which keeps dyadic weights exact; the one with the smaller RMS error wins, ties going to
the power of two) and ``w_p = rint(w / Δ_p)``. Then per layer the smallest
``scale_shift`` at which every ``Δ_p · 2^scale_shift`` and every threshold
``· 2^scale_shift`` is an integer, searching ``_SCALE_GUARD_BITS`` bits past the finest
step; when none is exact, the last one (the scales are then rounded, relative error
below ``2^-(_SCALE_GUARD_BITS + 1)``). ``docs/quantization.md`` has a worked example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..diagnostics import Collector, QuantizationError
from ..ir.network import Network
from ..ir.quantized import QPopulation, QProjection, QuantizationReport, QuantizedNetwork
from ..ir.synapses import Synapses
from ..ir.values import as_array
from .quantize import (check_delays, check_graded_inputs, check_neuron_features, describe, keep_nonzero,
                       natives_of, population_error, projection_error, register, relative_error)

__all__ = [
    "FAMILY",
    "quantize_akida",
    "symmetric_levels",
    "quantize_symmetric",
    "choose_step",
    "narrowest",
    "choose_scale_shift",
]

FAMILY = "akida"

#: Reset modes the akida emulator kernel implements.
_KERNEL_RESETS = ("zero",)

#: Not a chip number: how many bits past the finest weight step the layer's integer
#: unit may go to make every scale and threshold exact (or, failing that, how finely
#: the per-projection scales are resolved).
_SCALE_GUARD_BITS = 8

#: A projection losing more than this fraction of its weights to zero gets a warning.
_ZEROED_WARNING = 0.5


def symmetric_levels(bits: int) -> int:
    """The largest magnitude of a signed symmetric ``bits``-bit weight: ``2^(bits-1) - 1``
    (2 bits: -1..1; 4 bits: -7..7; 8 bits: -127..127)."""
    return (1 << (bits - 1)) - 1


def quantize_symmetric(weights: np.ndarray, step: float, levels: int) -> np.ndarray:
    """``clip(rint(w / step), -levels, levels)`` as int64 (ties to even)."""
    q = np.rint(np.asarray(weights, dtype=np.float64) / step)
    return np.clip(q, -levels, levels).astype(np.int64)


def choose_step(weights: np.ndarray, levels: int) -> float:
    """The weight step of one projection (see the module docstring).

    Candidates: ``max|w| / levels`` (every level used) and ``2^ceil(log2(max|w| / levels))``
    (a power of two, no clipping); the smaller RMS error wins, ties to the power of two.
    """
    w = np.asarray(weights, dtype=np.float64)
    top = float(np.max(np.abs(w), initial=0.0))
    if top == 0.0:
        return 1.0
    full = top / levels
    pow2 = 2.0 ** math.ceil(math.log2(full))
    errs = []
    for step in (pow2, full):
        d = quantize_symmetric(w, step, levels) * step - w
        errs.append(float(np.sqrt(np.mean(d * d))))
    return pow2 if errs[0] <= errs[1] * (1 + 1e-12) else full


def narrowest(q: np.ndarray, step: float, widths: tuple[int, ...]) -> tuple[np.ndarray, float, int]:
    """The same applied weights (``q · step``) at the narrowest width that holds them.

    Divides out the common factor ``g`` of the integers (``q / g`` with step ``step · g``)
    and returns ``(q', step', bits)`` for the first width in ``widths`` (ascending) whose
    levels reach ``max |q'|``; the last width when none does.
    """
    q = np.asarray(q, dtype=np.int64)
    nz = np.abs(q[q != 0])
    g = int(np.gcd.reduce(nz)) if nz.size else 1
    q2, step2 = q // g, step * g
    top = int(np.max(np.abs(q2), initial=0))
    for b in widths:
        if symmetric_levels(b) >= top:
            return q2, step2, b
    return q, step, widths[-1]


def _is_integer(x: np.ndarray) -> bool:
    x = np.asarray(x, dtype=np.float64)
    return bool(np.all(np.abs(x - np.rint(x)) <= 1e-9 * np.maximum(1.0, np.abs(x))))


def choose_scale_shift(steps: list[float], thresholds: np.ndarray, guard: int = _SCALE_GUARD_BITS) -> int:
    """The layer's ``scale_shift`` ``F``: the smallest ``F`` from ``max ceil(-log2 Δ_p)``
    (every scale at least 1) up to ``guard`` bits further at which every ``Δ_p · 2^F`` and
    every threshold ``· 2^F`` is an integer; the last one when none is."""
    start = max((math.ceil(-math.log2(d)) for d in steps), default=0)
    for f in range(start, start + guard + 1):
        if _is_integer(np.asarray(steps, dtype=np.float64) * 2.0 ** f) and _is_integer(thresholds * 2.0 ** f):
            return f
    return start + guard


@dataclass
class _Proj:
    q: np.ndarray
    step: float
    bits: int


@register(FAMILY)
def quantize_akida(network: Network, chip: Any, synapses: Mapping[str, Synapses]) -> QuantizedNetwork:
    """Quantize ``network`` for an ``akida`` chip (see the module docstring).

    Parameters
    ----------
    network, chip, synapses
        As :func:`neurocomp.compiler.quantize.quantize` passes them.

    Returns
    -------
    QuantizedNetwork
        Populations with ``threshold``, ``act_bits``, ``scale_shift`` (int64, one per
        neuron) and ``v_scale = 2^-scale_shift``; projections with symmetric integer
        weights (zeros dropped), ``weight_bits``, ``weight_exp = 0``, ``sign_mode``
        ``"mixed"`` and ``extra = {"scale": int}``.

    Raises
    ------
    QuantizationError
        Leak, synaptic current decay, bias, a reset mode, a refractory period or a delay
        the chip does not have; a graded input; pinned integers (none are defined for
        this family yet). All at once, each naming its object.
    """
    errors = Collector()
    check_graded_inputs(errors, network, chip)
    num = chip.numerics
    widths = tuple(b for b in num.weights.bits if symmetric_levels(b) >= 1)
    input_widths = (num.weights.input_layer_bits,) if num.weights.input_layer_bits else widths
    act_bits = min(num.activations.bits) if num.activations is not None else 1

    for pop in network.populations.values():
        if natives_of(pop, chip):
            errors.error(f"{describe(pop)}: no native {chip.neuron.native} integers can be pinned for "
                         f"this chip yet", span=pop.span, hint=f"remove the native {chip.neuron.native}(...) block")
        if pop.is_input:
            continue
        check_neuron_features(errors, pop, chip, _KERNEL_RESETS)
        model, n = pop.neuron, pop.size
        for key, want, what in (("beta", 1.0, "a leak"), ("alpha", 0.0, "a synaptic current decay")):
            got = as_array(getattr(model, key), n)
            if np.any(got != want):
                errors.error(f"{describe(pop)}: {key} = {float(got[got != want][0]):g} ({what}) is not "
                             f"available on {chip.name}: its neurons integrate and fire, with {key} = "
                             f"{want:g}", span=pop.span,
                             hint="use IF(...) without tau_syn for populations on this chip"
                                  if key == "beta" else "leave tau_syn / alpha out (alpha = 0)")
        bias = as_array(model.bias, n)
        if np.any(bias != 0):
            errors.error(f"{describe(pop)}: bias = {float(bias[bias != 0][0]):g} is not available on "
                         f"{chip.name}: its neurons have no constant input", span=pop.span,
                         hint="drive the population from an input population instead")
    if not widths:
        errors.error(f"chip '{chip.name}': no weight width of 2 bits or more; the akida quantizer "
                     f"stores signed symmetric weights")
    projs = {}
    for proj in network.projections:
        if natives_of(proj, chip):
            errors.error(f"{describe(proj)}: no native {chip.neuron.native} integers can be pinned for "
                         f"this chip yet", span=proj.span, hint=f"remove the native {chip.neuron.native}(...) block")
        check_delays(errors, proj, synapses[proj.name], chip)
    errors.raise_if_any(QuantizationError)

    for proj in network.projections:
        w = synapses[proj.name].weights
        is_input = network.populations[proj.pre].is_input
        cands = input_widths if is_input else widths
        levels = symmetric_levels(cands[-1])
        step = choose_step(w, levels)
        q = quantize_symmetric(w, step, levels)
        q, step, bits = narrowest(q, step, cands)
        projs[proj.name] = _Proj(q=q, step=step, bits=bits)

    qpops: dict[str, QPopulation] = {}
    pop_errors = []
    notes: list[str] = []
    warnings: list[str] = []
    shift_of: dict[str, int] = {}
    for name, pop in network.populations.items():
        if pop.is_input:
            qpops[name] = QPopulation(name=name, size=pop.size, is_input=True)
            continue
        model, n = pop.neuron, pop.size
        steps = [projs[p.name].step for p in network.projections if p.post == name and projs[p.name].q.size]
        thr = as_array(model.threshold, n)
        f = choose_scale_shift(steps, thr if model.spiking else np.zeros(0, dtype=np.float64))
        shift_of[name] = f
        if model.spiking:
            threshold = np.rint(thr * 2.0 ** f).astype(np.int64)
        else:
            threshold = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
            notes.append(f"{describe(pop)} is a non-spiking read-out (li): its threshold is the largest "
                         f"int64, so it never spikes")
        params = {"threshold": threshold,
                  "act_bits": np.full(n, act_bits, dtype=np.int64),
                  "scale_shift": np.full(n, f, dtype=np.int64)}
        qpops[name] = QPopulation(name=name, size=n, is_input=False, params=params, v_scale=2.0 ** -f)
        errs = {"alpha": 0.0, "beta": 0.0, "bias": 0.0}
        if model.spiking:
            errs["threshold"] = relative_error(threshold * 2.0 ** -f, thr)
        pop_errors.append(population_error(name, errs, pinned=False))

    qprojs: dict[str, QProjection] = {}
    proj_errors = []
    for proj in network.projections:
        p, syn = projs[proj.name], synapses[proj.name]
        f = shift_of[proj.post]
        scale = max(1, int(np.rint(p.step * 2.0 ** f)))
        qprojs[proj.name] = QProjection(name=proj.name, pre=proj.pre, post=proj.post,
                                        synapses=keep_nonzero(syn, p.q), weight_bits=p.bits, weight_exp=0,
                                        sign_mode="mixed", extra={"scale": scale})
        err = projection_error(proj.name, syn.weights, p.q * (scale * 2.0 ** -f), weight_bits=p.bits,
                               weight_exp=0, clipped=0, sign_mode="mixed")
        proj_errors.append(err)
        notes.append(f"{describe(proj)}: {p.bits}-bit weights, step {p.step:.6g} = scale {scale} / 2^{f}")
        if err.zeroed_fraction > _ZEROED_WARNING:
            warnings.append(f"{describe(proj)}: {err.zeroed_fraction:.0%} of its weights round to 0 with "
                            f"{p.bits}-bit weights (step {p.step:.4g}); the chip drops them")
    report = QuantizationReport(projections=tuple(proj_errors), populations=tuple(pop_errors),
                                warnings=tuple(warnings), notes=tuple(notes))
    return QuantizedNetwork(network=network, chip=chip, family=FAMILY, populations=qpops,
                            projections=qprojs, report=report)
