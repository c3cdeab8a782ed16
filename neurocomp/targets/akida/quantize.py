"""Quantization for the ``akida`` family (BrainChip Akida's event-based integer layers).

What the chip computes, per neuron ``n`` of a layer (a target population) and step, as
neurocomp models it (``docs/chips/akida_neuron.md``; facts from
``/work/shared/reference/truenorth_akida_nir.md`` §2 and BrainChip's engine; widths from
the chip file)::

    pot[n] = Σ_projections p  scale_p · Σ_{source j sent a_j} w_p[j, n] · a_j     (int64)
    pot[n] = clamp(pot[n])                  (numerics.state.v when the chip file has it)
    LIF: a = clip(ceil((pot[n] - threshold[n]) / act_step[n]), 0, 2^act_bits - 1)
    LI:  a = pot[n]   (activation off)
    an event (value a) when a != 0; the potential shown after an LIF event is 0

* **No state between steps.** An Akida layer computes each input frame from that frame
  alone: neurocomp's step is the chip's frame, and ``pot`` starts from 0 every step.
  (BrainChip's engine, pip ``akida`` 2.19.3, checked: three identical frames, each
  below threshold, never fire; see the note in ``docs/chips/akida_neuron.md``.)
* ``w_p`` are signed, symmetric ``b``-bit integers ``-(2^(b-1) - 1) .. 2^(b-1) - 1``
  (``b`` from ``numerics.weights.bits``, or ``numerics.weights.input_layer_bits`` for a
  ``conv2d`` projection whose source is an input population: Akida's
  ``InputConvolutional``, the only layer with 8-bit weights; every other projection from
  an input, like any other layer, gets 1, 2 or 4 bits);
* ``scale_p`` is one positive integer per projection (``QProjection.extra["scale"]``,
  and per neuron in the ``in_scale`` parameter so that it reaches the Mapping): it puts
  the projection's weight step into the layer's common integer units;
* ``threshold`` is in the same units; ``scale_shift`` is where their binary point sits:
  one integer unit is ``2^-scale_shift`` float units, so ``V_float = pot · 2^-scale_shift``
  (``v_scale``). The kernel never shifts: ``scale_shift`` only converts traces;
* ``act_bits`` is the width of the events a neuron sends: 1 (binary spikes, the float
  model's) unless ``native akida(act_bits = 2 | 4, act_step = k)`` pins it on the
  population; ``act_step`` (a whole number in the units of ``threshold``, default 1) is
  the potential per activation level, in integer units ``act_step · 2^scale_shift``.
  An ``LI`` population has ``act_bits = 0``: its activation is off, its potential is its
  event (sent only when it has targets), as the engine's ``activation=False``.
* Input values (``current(value = ...)``, or graded samples) must be whole numbers
  ``0 .. 2^max(input_bits) - 1``: the chip takes unsigned integer frames.
* ``max_pool``: the only projection into its target, from a population of activations
  (LIF) or an input (non-negative values).

This is the float model (:class:`~neurocomp.ir.network.NeuronModel`) with ``alpha = 0``
(no synaptic current state), ``beta = 0`` (nothing kept from the previous step:
``V[t]`` is step ``t``'s input), no bias and no refractory period. A population that
asks for more -- an ``IF`` neuron's ``beta = 1`` included -- gets a
:class:`~neurocomp.diagnostics.QuantizationError`. Read-outs (``li``, also with
``beta = 0``) get ``act_bits = 0`` and the largest int64 threshold.

How the integers are chosen: per projection, a weight step ``Δ_p`` (either
``max|w| / (2^(b-1) - 1)``, which uses every level, or the next power of two above it,
which keeps dyadic weights exact; the one with the smaller RMS error wins, ties going to
the power of two) and ``w_p = rint(w / Δ_p)``. Then per layer the smallest
``scale_shift`` at which every ``Δ_p · 2^scale_shift`` and every threshold
``· 2^scale_shift`` is an integer, searching ``_SCALE_GUARD_BITS`` bits past the finest
step; when none is exact, the last one (the scales are then rounded, relative error
below ``2^-(_SCALE_GUARD_BITS + 1)``). A threshold off that grid is rounded the way the
comparison needs (down for ``>``, up for ``>=``), so that an integer potential crosses
it exactly when the float potential would. ``docs/quantization.md`` has a worked example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ...diagnostics import Collector, QuantizationError
from ...ir.network import Network
from ...ir.quantized import QPopulation, QProjection, QuantizationReport, QuantizedNetwork
from ...ir.synapses import Synapses
from ...ir.values import as_array
from ...compiler.quantize import (check_delays, check_neuron_features, describe, keep_nonzero, native_ints,
                                  natives_of, population_error, projection_error, relative_error)
from ...ir.connectors import Conv2d, Pool2d
from ...ir.encoders import ConstantCurrent, DeltaCode, EventStream, GradedFrames, LatencyCode, RateCode, SpikeFile

__all__ = [
    "FAMILY",
    "quantize_akida",
    "what_to_change",
    "symmetric_levels",
    "quantize_symmetric",
    "choose_step",
    "narrowest",
    "choose_scale_shift",
    "threshold_units",
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


def threshold_units(thresholds: np.ndarray, shift: int, compare: str = ">") -> np.ndarray:
    """Float thresholds in a layer's integer units (``· 2^shift``) as int64.

    An integer potential ``p`` crosses a real threshold ``x`` exactly when it crosses
    ``floor(x)`` for ``p > x``, or ``ceil(x)`` for ``p >= x``; a value within ``1e-9``
    (relative) of an integer is that integer (no float noise decides a spike).
    """
    x = np.asarray(thresholds, dtype=np.float64) * 2.0 ** shift
    near = np.rint(x)
    on_grid = np.abs(x - near) <= 1e-9 * np.maximum(1.0, np.abs(x))
    off = np.floor(x) if compare == ">" else np.ceil(x)
    return np.where(on_grid, near, off).astype(np.int64)


def _scale(step: float, shift: int) -> int:
    """A projection's integer scale: its weight step in the layer's units, at least 1."""
    return max(1, int(np.rint(step * 2.0 ** shift)))


@dataclass
class _Proj:
    q: np.ndarray
    step: float
    bits: int


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
        neuron), ``in_scale`` (int64 ``(n, len(network.projections))``: column ``p`` is
        the scale of ``network.projections[p]`` when it feeds the population, else 0)
        and ``v_scale = 2^-scale_shift``; projections with symmetric integer weights
        (zeros dropped), ``weight_bits``, ``weight_exp = 0``, ``sign_mode`` ``"mixed"``
        and ``extra = {"scale": int}``.

    Raises
    ------
    QuantizationError
        A potential kept between steps (``beta != 0``, an ``IF`` neuron's included),
        synaptic current decay, bias, a reset mode, a refractory period or a delay the
        chip does not have; an input value that is not an unsigned integer of the input
        width; an activation width or step the chip does not have; a max pool that is
        not a layer's pooling; pinned projection integers (none are defined). All at
        once, each naming its object.
    """
    errors = Collector()
    num = chip.numerics
    widths = tuple(b for b in num.weights.bits if symmetric_levels(b) >= 1)
    input_widths = (num.weights.input_layer_bits,) if num.weights.input_layer_bits else widths
    act_widths = tuple(num.activations.bits) if num.activations is not None else (1,)
    in_top = (1 << max(num.activations.input_bits if num.activations is not None else (1,))) - 1
    activation: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    for pop in network.populations.values():
        if pop.is_input:
            _check_input(errors, pop, chip, in_top)
            continue
        activation[pop.name] = _activation(errors, pop, chip, act_widths)
        check_neuron_features(errors, pop, chip, _KERNEL_RESETS)
        model, n = pop.neuron, pop.size
        beta = as_array(model.beta, n)
        if np.any(beta != 0):
            share = "all" if np.all(beta[beta != 0] == 1) else "part"
            kept = ("an IF neuron keeps its potential from one step to the next (beta = 1)"
                    if model.family == "if" else
                    f"beta = {float(beta[beta != 0][0]):g} keeps {share} of the potential from one step "
                    f"to the next")
            errors.error(f"{describe(pop)}: {kept}, which {chip.name} cannot do: its neurons keep no state "
                         f"between frames, each step's potential is that step's input alone (beta = 0)",
                         span=pop.span,
                         hint=("write LI(beta = 0) for a read-out on this chip" if not model.spiking else
                               "write LIF(beta = 0, ...) for populations on this chip")
                              + "; see docs/chips/akida_neuron.md")
        alpha = as_array(model.alpha, n)
        if np.any(alpha != 0):
            errors.error(f"{describe(pop)}: alpha = {float(alpha[alpha != 0][0]):g} (a synaptic current "
                         f"decay) is not available on {chip.name}: its neurons have no synaptic current, "
                         f"alpha = 0", span=pop.span, hint="leave tau_syn / alpha out (alpha = 0)")
        bias = as_array(model.bias, n)
        if np.any(bias != 0):
            errors.error(f"{describe(pop)}: bias = {float(bias[bias != 0][0]):g} is not available on "
                         f"{chip.name}: its neurons have no constant input", span=pop.span,
                         hint=("a bias is a negative threshold on a neuron that keeps nothing (x + bias > "
                               "threshold exactly when x > threshold - bias): write threshold = threshold - "
                               "bias and leave bias out" if model.spiking else
                               "an activation-off layer (LI) sends its potential: add the bias in the layer "
                               "it feeds, or drive it from an input population"))
    if not widths:
        errors.error(f"chip '{chip.name}': no weight width of 2 bits or more; the akida quantizer "
                     f"stores signed symmetric weights")
    _check_max_pools(errors, network, activation)
    projs = {}
    for proj in network.projections:
        if natives_of(proj, chip):
            errors.error(f"{describe(proj)}: no native {chip.neuron.native} integers can be pinned for "
                         f"this chip yet", span=proj.span, hint=f"remove the native {chip.neuron.native}(...) block")
        check_delays(errors, proj, synapses[proj.name], chip)
    if errors.diagnostics:
        raise QuantizationError(errors.diagnostics, notes=what_to_change(network, chip))

    for proj in network.projections:
        w = synapses[proj.name].weights
        input_conv = network.populations[proj.pre].is_input and isinstance(proj.connector, Conv2d)
        cands = input_widths if input_conv else widths
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
        bits, act_step = activation[name]
        f = choose_scale_shift(steps, np.r_[thr, act_step] if model.spiking else np.zeros(0, dtype=np.float64))
        shift_of[name] = f
        if model.spiking:
            threshold = threshold_units(thr, f, chip.neuron.threshold_compare or ">")
        else:
            threshold = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
            sends = any(p.pre == name for p in network.projections)
            notes.append(f"{describe(pop)} is an activation-off layer (li): " +
                         ("its potentials are its events" if sends else "a read-out of potentials"))
        # Each incoming projection's scale, per neuron, so that the Mapping (which keeps
        # per-compartment parameters, not per-projection extras) carries it to the kernel.
        in_scale = np.zeros((n, len(network.projections)), dtype=np.int64)
        for k, proj in enumerate(network.projections):
            if proj.post == name:
                in_scale[:, k] = _scale(projs[proj.name].step, f)
        params = {"threshold": threshold,
                  "act_bits": bits,
                  "act_step": np.maximum(1, np.rint(act_step * 2.0 ** f)).astype(np.int64),
                  "scale_shift": np.full(n, f, dtype=np.int64),
                  "in_scale": in_scale}
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
        scale = _scale(p.step, f)
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


def _check_input(errors: Collector, pop, chip: Any, top: int) -> None:
    """A graded source must emit what the chip takes: whole numbers ``0..top``."""
    if isinstance(pop.encoder, GradedFrames):
        values = np.asarray(pop.encoder.values.values, dtype=np.float64).reshape(-1)
    elif isinstance(pop.encoder, ConstantCurrent):
        values = as_array(pop.encoder.value, pop.size)
    else:
        return
    bad = (values != np.rint(values)) | (values < 0) | (values > top)
    if np.any(bad):
        errors.error(f"{describe(pop)}: emits the value {float(values[bad][0]):g}; {chip.name} takes "
                     f"input values that are whole numbers 0..{top}", span=pop.span,
                     hint="scale the input to unsigned integers (an 8-bit image: 0..255)")


def _activation(errors: Collector, pop, chip: Any, act_widths: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(act_bits, act_step)`` per neuron: pinned by ``native akida(...)``, else 1-bit events
    of step 1 (an LIF population) or the activation off, ``act_bits = 0`` (LI)."""
    n = pop.size
    pins = natives_of(pop, chip)
    if not pop.neuron.spiking:
        if pins:
            errors.error(f"{describe(pop)}: an LI population has its activation off (its potential is "
                         f"its event), so native {chip.neuron.native}(...) has nothing to set", span=pop.span,
                         hint="write LIF(beta = 0, threshold = ...) for a layer with an activation")
        return np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.float64)
    bits = np.ones(n, dtype=np.int64)
    step = np.ones(n, dtype=np.float64)
    if "act_bits" in pins:
        got = native_ints(errors, pop, chip, "act_bits", pins["act_bits"], n, 1, max(act_widths),
                          "an activation width")
        if got is not None:
            off = ~np.isin(got, act_widths)
            if np.any(off):
                errors.error(f"{describe(pop)}: native {chip.neuron.native} act_bits = {int(got[off][0])}; "
                             f"{chip.name} sends activations of {', '.join(map(str, act_widths))} bits",
                             span=pop.span)
            else:
                bits = got
    if "act_step" in pins:
        got = native_ints(errors, pop, chip, "act_step", pins["act_step"], n, 1, 1 << 30,
                          "an activation step (a whole number, in the units of threshold)")
        if got is not None:
            step = got.astype(np.float64)
    return bits, step


def _check_max_pools(errors: Collector, network: Network, activation: Mapping[str, tuple]) -> None:
    """A max pool is a layer's pooling: the only input of its target, over values >= 0."""
    for proj in network.projections:
        if not (isinstance(proj.connector, Pool2d) and proj.connector.kind == "max"):
            continue
        others = [p.name for p in network.projections if p.post == proj.post and p is not proj]
        if others:
            errors.error(f"{describe(proj)}: a max pool must be the only projection into "
                         f"'{proj.post}', which also gets {', '.join(repr(o) for o in others)}",
                         span=proj.span, hint="pool into a population of its own")
        pre = network.populations[proj.pre]
        if not pre.is_input and not np.all(activation[pre.name][0] > 0):
            errors.error(f"{describe(proj)}: max pooling of potentials (an LI source, activation off) "
                         f"is not emulated; the chip pools activations", span=proj.span,
                         hint=f"give '{pre.name}' an activation: LIF(beta = 0, threshold = ...)")


#: Input encoders that spread a value over many steps (a spike train, not a frame).
_OVER_TIME = {RateCode: "a rate code", LatencyCode: "a latency code", DeltaCode: "a delta code",
              SpikeFile: "recorded spikes", EventStream: "an event stream"}


def _names(pops) -> str:
    return ", ".join(f"'{p.name}'" for p in pops)


def what_to_change(network: Network, chip: Any) -> tuple[str, ...]:
    """For a network that keeps state between steps (``beta`` or ``alpha`` not 0), what
    would have to change to run it on Akida, one note per change (none for a network
    without state: its refusals say what is wrong on their own).

    A spiking network carries values in time: potentials integrated over steps, rates
    of spikes. An Akida layer computes one frame from that frame alone and carries values
    in its activations. So the change is the ANN the spiking network approximates, one
    frame per sample (``docs/tutorial/08-akida-frames.md``).
    """
    neurons = [p for p in network.populations.values() if not p.is_input]
    stateful = [p for p in neurons if np.any(as_array(p.neuron.beta, p.size) != 0)
                or np.any(as_array(p.neuron.alpha, p.size) != 0)]
    if not stateful:
        return ()
    projecting = {p.pre for p in network.projections if p.pre != p.post}
    hidden = [p for p in stateful if p.name in projecting]
    outputs = [p for p in stateful if p.name not in projecting]
    recurrent = sorted({p.post for p in network.projections if p.pre == p.post})
    timed = [p for p in network.populations.values() if p.is_input and type(p.encoder) in _OVER_TIME]
    notes = [f"what would have to change to run '{network.name}' on {chip.name}: its layers compute each "
             f"frame from that frame alone and pass values as activations, not as potentials kept over "
             f"steps or rates of spikes; the network to write is the ANN this one approximates "
             f"(docs/tutorial/08-akida-frames.md)"]
    if hidden:
        notes.append(f"{_names(hidden)}: a layer each, LIF(beta = 0, threshold = θ) native {chip.neuron.native}"
                     f"(act_bits = 4, act_step = S): its activation ceil((V - θ) / S), clipped to 0..15, is the "
                     f"ReLU activation on a grid of step S, in one frame instead of a rate over many steps")
    if outputs:
        notes.append(f"{_names(outputs)}: a read-out, LI(beta = 0): its potentials in the frame are the scores "
                     f"(the class is the largest), not spike counts")
    if recurrent:
        notes.append(f"{', '.join(repr(r) for r in recurrent)}: a recurrent projection has no frame-by-frame "
                     f"meaning on AKD1000 (its layers are feed-forward); unroll it or leave it out")
    for pop in timed:
        notes.append(f"input '{pop.name}' ({_OVER_TIME[type(pop.encoder)]} over steps): show each sample once, as "
                     f"one frame of whole numbers, current(value = ...) with 8-bit pixels 0..255 into a conv2d "
                     f"layer (Akida's input convolution), or 1, 2 or 4-bit values into any layer")
    notes.append("the weights: a converted network's weights are scaled for firing rates; an Akida layer takes "
                 "the ANN's own weights, 4-bit (8-bit in the input convolution), with thresholds and steps "
                 "chosen for its activations (examples/scripts/make_digits_cnn.py does it for a small CNN)")
    return tuple(notes)
