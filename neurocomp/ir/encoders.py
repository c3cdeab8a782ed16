"""Input populations: what each spike source emits, as data.

Each class states the rule that turns it into per-step events; the rules run in
:mod:`neurocomp.compiler.encode`. Every event emitted at step ``t`` reaches its targets
at step ``t + 1 + delay``, like any other spike. Times here are in steps; the builder
converted the user's units with the network's ``dt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from .values import ArrayValue, Value

__all__ = [
    "SpikeFile",
    "RateCode",
    "LatencyCode",
    "DeltaCode",
    "EventStream",
    "ConstantCurrent",
    "GradedFrames",
    "Encoder",
]


@dataclass(frozen=True, eq=False)
class SpikeFile:
    """Recorded spikes: neuron ``indices[k]`` fires at step ``times[k]``.

    Read from ``.npz`` events (``times``, ``indices``) or a dense ``T x N`` raster
    (``.npy``, or ``raster`` in an ``.npz``), nonzero = spike.
    """

    times: np.ndarray  # int64, steps
    indices: np.ndarray  # int64, flat neuron index
    path: str


@dataclass(frozen=True, eq=False)
class RateCode:
    """Bernoulli rate coding: at every step neuron ``i`` fires with probability
    ``p_i = clip(value_i, 0, 1) · max_rate · dt`` (``max_rate`` in Hz, ``dt`` in s).

    ``value`` is a scalar (all neurons alike) or an array of the population's shape;
    the generator is ``numpy.random.default_rng(seed)``.
    """

    value: Value
    max_rate_hz: float
    seed: int


@dataclass(frozen=True, eq=False)
class LatencyCode:
    """Latency coding, one spike per neuron: brighter fires earlier.

    ``t_i = tau · ln(I_i / (I_i − θ))`` (in steps, rounded down); no spike when
    ``I_i <= θ``.
    """

    value: Value
    tau_steps: float
    threshold: float


@dataclass(frozen=True, eq=False)
class DeltaCode:
    """Delta modulation of a ``T x N...`` signal into ON/OFF spikes.

    The population is ``[2, N...]``: channel 0 is ON, 1 is OFF. A reference level
    starts at ``signal[0]``; at step ``t >= 1`` an ON spike fires when
    ``signal[t] − ref > threshold`` and an OFF spike when ``ref − signal[t] > threshold``;
    either resets ``ref = signal[t]``.
    """

    signal: ArrayValue
    threshold: float


@dataclass(frozen=True, eq=False)
class EventStream:
    """An event-camera stream (fields ``x, y, t, p``, ``t`` in microseconds, as Tonic
    produces) binned into steps: the event fires neuron ``[p, y, x]`` of a
    ``[2, H, W]`` population at step ``t // dt``. Several events of one pixel in one step
    are one spike.
    """

    x: np.ndarray
    y: np.ndarray
    t_us: np.ndarray
    p: np.ndarray
    path: str


@dataclass(frozen=True, eq=False)
class ConstantCurrent:
    """A graded source: every neuron emits ``value`` at every step (not a spike).

    Through a projection it adds ``weight · value`` to its targets' input each step.
    """

    value: Value


@dataclass(frozen=True, eq=False)
class GradedFrames:
    """A graded source read from a file of frames ``[T, shape...]``: at step ``t < T``
    neuron ``i`` emits ``values[t, i]`` (not a spike; a 0 emits nothing), and nothing
    after the last frame. One frame per step is how Akida takes its input (an 8-bit
    image is one frame); through a projection it adds ``weight · value``.
    """

    values: ArrayValue


Encoder = Union[SpikeFile, RateCode, LatencyCode, DeltaCode, EventStream, ConstantCurrent, GradedFrames]
