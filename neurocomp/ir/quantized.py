"""The quantized network: the integers a chip stores, before they are placed on cores.

Produced by :func:`neurocomp.compiler.quantize.quantize` from a
:class:`~neurocomp.ir.network.Network` and a chip. It is a new artifact: the float
network is never overwritten. Everything here is per neuron and per synapse, in the
chip's own integer formats; nothing here says where a neuron sits (that is the
:class:`~neurocomp.ir.mapping.Mapping`).

Parameter keys by neuron family (``QPopulation.params``, one int array per key, one
entry per neuron, flat C order):

* ``loihi_cuba_lif``: ``du``, ``dv`` (decay, ``chip.numerics.decay.bits`` wide),
  ``vth_mant`` (compared as ``vth_mant << threshold.shift``), ``bias_mant``,
  ``bias_exp``, ``refractory`` (steps). Weights: ``weight_exp`` per projection; a
  synapse adds ``(w << weight_exp) << input_shift`` to ``u``
  (``w >> -weight_exp`` for negative exponents, arithmetic shift).
* ``truenorth``: ``leak``, ``threshold`` (alpha), ``neg_threshold`` (beta),
  ``reset_value``, ``reset_mode`` (0 zero/normal, 1 linear, 2 none), ``leak_reversal``
  (0/1), ``threshold_mask`` (bits), ``axon_weights`` ``(n, 4)`` (one signed weight per
  axon type); optional, with these defaults when absent: ``neg_saturate`` (κ: 1 sets V
  to ``-neg_threshold`` below it, 0 applies the mirrored reset; default 1),
  ``syn_stochastic`` ``(n, 4)`` and ``leak_stochastic`` (0/1, default 0). Projections
  carry ``axon_type`` per source neuron and binary synapses (``weights`` all 1); the
  effective weight of a synapse is ``axon_weights[post, axon_type[pre]]``.
* ``akida``: ``threshold``, ``act_bits``, ``act_step``, the layer's ``scale_shift`` and ``in_scale``
  ``(n, len(network.projections))``: column ``p`` is the positive integer scale of
  ``network.projections[p]`` for the neurons it feeds (0 elsewhere), the same number as
  that projection's ``extra["scale"]``, kept per neuron so that the Mapping carries it.
  Weights are signed symmetric ``weight_bits``-bit integers (``weight_exp`` is 0). Per
  step (one Akida frame: nothing is kept from the step before)::

      pot = Σ_projections scale · Σ_{events} w · a   (int64; a: the event's value)
      pot = clamp(pot)            (to numerics.state.v when the chip file gives it)
      act_bits ≥ 1: a = clip(ceil((pot − threshold) / act_step), 0, 2^act_bits − 1)
      act_bits = 0: a = pot (activation off); an event when a ≠ 0; pot shown after it: 0

  ``act_bits`` is the width of the events (1: binary spikes, the float model's; 0: the
  potential itself, an ``LI`` population); ``act_step`` the potential per level;
  ``scale_shift`` only places the binary point: ``V_float = pot · 2^-scale_shift``
  (= ``v_scale``), no shift is applied. See ``docs/chips/akida_neuron.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .network import Network
from .synapses import Synapses


if TYPE_CHECKING:  # pragma: no cover
    from ..chip.spec import ChipSpec

__all__ = ["QPopulation", "QProjection", "ProjectionError", "PopulationError",
           "QuantizationReport", "QuantizedNetwork"]


@dataclass(frozen=True, eq=False, kw_only=True)
class QPopulation:
    """One population in the chip's integers.

    ``v_scale`` converts the chip's membrane state back to the float model's units
    (``v_float ≈ v_int * v_scale``), so traces can be compared. Input populations have
    no ``params``; their encoder stays in the float network.
    """

    name: str
    size: int
    is_input: bool
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    v_scale: float = 1.0


@dataclass(frozen=True, eq=False, kw_only=True)
class QProjection:
    """One projection's synapses with integer weights (``synapses.weights`` is int64).

    ``weight_exp`` scales every weight of the projection (Loihi); ``sign_mode`` is one of
    the chip's sign modes; ``axon_type`` (TrueNorth) is one type per source neuron.
    ``extra`` holds any other per-projection integer the family needs.
    """

    name: str
    pre: str
    post: str
    synapses: Synapses
    weight_bits: int
    weight_exp: int = 0
    sign_mode: str = "mixed"
    axon_type: np.ndarray | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ProjectionError:
    """How far one projection's integer weights are from its float weights.

    Errors are relative to the largest float weight magnitude of the projection.
    """

    projection: str
    weight_bits: int
    weight_exp: int
    max_error: float
    rms_error: float
    clipped_fraction: float
    zeroed_fraction: float
    pinned: bool = False  # the user gave the integers (``native``)
    sign_mode: str | None = None  # the chip's sign mode chosen for the projection


@dataclass(frozen=True, kw_only=True)
class PopulationError:
    """How far one population's integer parameters are from its float parameters
    (relative errors of the decays, threshold and bias as the chip applies them)."""

    population: str
    max_errors: Mapping[str, float]
    pinned: bool = False


@dataclass(frozen=True, kw_only=True)
class QuantizationReport:
    """Per projection and population errors, plus warnings in words (naming the object).

    ``warnings`` say where precision was lost or a value may misbehave; ``notes`` say
    which choices the quantizer made (scales, read-out thresholds), so a reader can
    follow how each float became an integer.
    """

    projections: tuple[ProjectionError, ...] = ()
    populations: tuple[PopulationError, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False, kw_only=True)
class QuantizedNetwork:
    """A network in one chip's integer formats; ``chip`` is the ChipSpec it targets."""

    network: Network
    chip: ChipSpec
    family: str
    populations: Mapping[str, QPopulation]
    projections: Mapping[str, QProjection]
    report: QuantizationReport
