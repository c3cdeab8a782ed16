"""NIR neuron nodes as neurocomp neuron models: one converter per NIR type.

Each converter reads a node's parameters, discretises its time constants with the
step (:mod:`.discretise`) and returns a :class:`~.registry.NeuronSpec`:

* ``LIF``: ``beta = 1 - h``; input gain ``r·h``; ``bias = h·v_leak``.
* ``CubaLIF``/``CubaLI``: ``alpha = 1 - h_syn``, ``beta = 1 - h_mem``; gain
  ``(w_in·h_syn)·(r·h_mem)`` (neurocomp's current is ``r·h_mem`` times NIR's);
  ``bias = h_mem·v_leak``.
* ``IF``: ``beta = 1``, gain ``r·dt``. ``I``: an ``LI`` with ``beta = 1``, gain ``r·dt``.
* ``LI``: as ``LIF`` without a threshold. ``Threshold``: ``beta = 0``, gain 1.

The spiking ones reset to 0, so their ``v_reset`` must be 0.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...diagnostics import InteropError
from .discretise import fmt
from .graph import meta
from .registry import Node, NeuronSpec, Shape, Step, neuron

__all__ = ["param", "fraction", "with_metadata"]


def param(node: Node, attr: str, shape: Shape, *, allow_inf: bool = False) -> np.ndarray:
    """The parameter ``attr`` broadcast to the node's shape, flat, finite (or +-inf if allowed)."""
    raw = getattr(node.obj, attr, None)
    if raw is None:
        raise InteropError(f"node {node.describe()} has no '{attr}'")
    arr = np.asarray(raw, dtype=np.float64)
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise InteropError(f"node {node.describe()}: '{attr}' has shape {list(arr.shape)}, "
                           f"the node's shape is {list(shape)}") from None
    bad = np.isnan(arr) | (np.isinf(arr) if not allow_inf else np.zeros(arr.shape, dtype=bool))
    if np.any(bad):
        raise InteropError(f"node {node.describe()}: '{attr}' holds NaN or infinite values")
    return np.ascontiguousarray(arr, dtype=np.float64).reshape(-1)


def fraction(node: Node, attr: str, shape: Shape, step: Step) -> np.ndarray:
    """h = fraction of tau that one step covers; checked for a usable decay."""
    tau = param(node, attr, shape, allow_inf=True)
    if np.any(tau <= 0):
        raise InteropError(f"node {node.describe()}: '{attr}' must be positive, got "
                           f"{float(tau[tau <= 0][0])!r} s")
    h = step.disc.h(tau, step.dt_s)
    if np.any(h > 1):
        i = int(np.argmax(h > 1))
        raise InteropError(
            f"node {node.describe()}: dt = {fmt(step.dt_ms)} ms is longer than {attr} = "
            f"{fmt(float(tau[i]) * 1000)} ms, so forward Euler gives the decay "
            f"{1.0 - float(h[i])!r} < 0, which oscillates",
            hint=step.too_long_hint or "choose a smaller dt, or the exponential discretisation (method='exp', "
                                       "--method exp)")
    return h


def _zero_reset(node: Node, shape: Shape) -> None:
    """neurocomp resets the voltage to 0: refuse any other ``v_reset``."""
    if getattr(node.obj, "v_reset", None) is None:
        return
    v_reset = param(node, "v_reset", shape)
    if np.any(v_reset != 0):
        raise InteropError(
            f"node {node.describe()}: v_reset = {float(v_reset[v_reset != 0][0])!r}, but "
            "neurocomp resets the voltage to 0",
            hint="shift the voltage in the source model (v_threshold - v_reset, v_leak - v_reset, "
                 "v_reset = 0); the neuron then starts at v_reset instead of 0")


def _zeros(shape: Shape) -> np.ndarray:
    return np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=np.float64)


def _ones(shape: Shape) -> np.ndarray:
    return np.ones(int(np.prod(shape, dtype=np.int64)), dtype=np.float64)


@neuron("LIF", spiking=True)
def lif(node: Node, step: Step) -> NeuronSpec:
    """``tau dv/dt = (v_leak - v) + r·u``, spiking above ``v_threshold``."""
    shape = node.in_shape
    _zero_reset(node, shape)
    h = fraction(node, "tau", shape, step)
    r = param(node, "r", shape)
    return NeuronSpec(node.key, shape, "lif", _zeros(shape), 1.0 - h, param(node, "v_threshold", shape),
                      r * h, h * param(node, "v_leak", shape))


def _cuba(node: Node, step: Step, spiking: bool) -> NeuronSpec:
    shape = node.in_shape
    if spiking:
        _zero_reset(node, shape)
    hs = fraction(node, "tau_syn", shape, step)
    hm = fraction(node, "tau_mem", shape, step)
    w_in = param(node, "w_in", shape)
    r = param(node, "r", shape)
    thr = param(node, "v_threshold", shape) if spiking else _zeros(shape)
    # neurocomp's current is r·h_mem times NIR's, so V sees it with gain 1.
    return NeuronSpec(node.key, shape, "lif" if spiking else "li", 1.0 - hs, 1.0 - hm, thr,
                      (w_in * hs) * (r * hm), hm * param(node, "v_leak", shape), cuba=True)


@neuron("CubaLIF", spiking=True)
def cuba_lif(node: Node, step: Step) -> NeuronSpec:
    """A current-based LIF: the current is updated first, the voltage uses the new current."""
    return _cuba(node, step, spiking=True)


@neuron("IF", spiking=True)
def integrate_and_fire(node: Node, step: Step) -> NeuronSpec:
    """``dv/dt = r·u``, spiking above ``v_threshold``."""
    shape = node.in_shape
    _zero_reset(node, shape)
    return NeuronSpec(node.key, shape, "if", _zeros(shape), _ones(shape), param(node, "v_threshold", shape),
                      param(node, "r", shape) * step.dt_s, _zeros(shape))


@neuron("LI", spiking=False)
def leaky_integrator(node: Node, step: Step) -> NeuronSpec:
    """``tau dv/dt = (v_leak - v) + r·u``, never spiking."""
    shape = node.in_shape
    h = fraction(node, "tau", shape, step)
    return NeuronSpec(node.key, shape, "li", _zeros(shape), 1.0 - h, _zeros(shape),
                      param(node, "r", shape) * h, h * param(node, "v_leak", shape))


@neuron("CubaLI", spiking=False)
def cuba_li(node: Node, step: Step) -> NeuronSpec:
    """A current-based LI: a CubaLIF without a threshold."""
    return _cuba(node, step, spiking=False)


@neuron("I", spiking=False)
def integrator(node: Node, step: Step) -> NeuronSpec:
    """``dv/dt = r·u``: an LI with ``beta = 1``."""
    shape = node.in_shape
    return NeuronSpec(node.key, shape, "li", _zeros(shape), _ones(shape), _zeros(shape),
                      param(node, "r", shape) * step.dt_s, _zeros(shape))


@neuron("Threshold", spiking=True)
def threshold(node: Node, step: Step) -> NeuronSpec:
    """``z = H(u - threshold)``, no memory."""
    shape = node.in_shape
    return NeuronSpec(node.key, shape, "lif", _zeros(shape), _zeros(shape), param(node, "threshold", shape),
                      _ones(shape), _zeros(shape))


def with_metadata(spec: NeuronSpec, node: Node) -> NeuronSpec:
    """The reset and refractory period neurocomp recorded in the node's metadata on export."""
    data: dict[str, Any] = meta(node.obj)
    reset = data.get("neurocomp_reset", "zero")
    if reset not in ("zero", "subtract", "none"):
        raise InteropError(f"node {node.describe()}: metadata neurocomp_reset = {reset!r} "
                           "is not 'zero', 'subtract' or 'none'")
    refractory = data.get("neurocomp_refractory_steps", 0)
    if not float(refractory).is_integer() or refractory < 0:
        raise InteropError(f"node {node.describe()}: metadata neurocomp_refractory_steps = "
                           f"{refractory!r} is not a whole number >= 0")
    return dataclasses.replace(spec, reset=str(reset), refractory=int(refractory))
