"""A plastic projection's learning rule: Loihi's sum-of-products form, as Lava writes it.

The rule is the weight change of one learning epoch, a sum of products::

    dw = Σ_p  s_p · D_p · Π_f F_f          s_p = m_p · 2**e_p   (-8 <= m_p <= 7, -7 <= e_p <= 8)

``D_p`` is the product's *dependency*, the event that gates it: ``x0`` (the pre neuron
spiked in the epoch), ``y0`` (the post neuron spiked) or ``u`` (every epoch, or every
``2**k``-th with ``u{k}``). The factors ``F`` are traces (``x1``, ``x2`` of the pre
neuron; ``y1``, ``y2``, ``y3`` of the post neuron), the weight ``w``, ``x0``/``y0`` as
plain factors, each with an optional integer constant ``(x1 - 2)``, or ``sgn(w + c)``.
Traces are read at the time of the dependency: for an ``x0`` product at the pre
neuron's last spike in the epoch, for ``y0`` at the post neuron's, for ``u`` at the end
of the epoch. docs/learning.md has the whole story, with Lava's sources.

A trace decays by ``exp(-1/tau)`` per step (``tau = 0``: it holds only the impulse of a
spike in the same step) and grows by ``impulse`` at each spike of its neuron.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..diagnostics import Span
from ..dsl.rule import Factor, Product  # the parsed rule's terms are the IR's (plain values)

__all__ = ["TRACES", "PRE_TRACES", "POST_TRACES", "Factor", "Product", "Trace", "LearningRule"]

PRE_TRACES = ("x1", "x2")
POST_TRACES = ("y1", "y2", "y3")
TRACES = PRE_TRACES + POST_TRACES


@dataclass(frozen=True)
class Trace:
    """A spike trace: ``tau`` in steps (0: no memory), ``impulse`` added per spike."""

    tau: float = 0.0
    impulse: float = 0.0


@dataclass(frozen=True, eq=False, kw_only=True)
class LearningRule:
    """The learning of one projection (see the module docstring).

    ``epoch`` is the learning epoch in steps (Lava's ``t_epoch``); the weights change
    only at its end. ``rng_seed`` fixes the random numbers of the stochastic rounding
    to Lava's streams for that seed (``None``: seeded from the run's ``seed``).
    ``probe_weights`` records the weights at every step (``probe PRE -> POST : weights``).
    """

    dw: str
    products: tuple[Product, ...]
    traces: Mapping[str, Trace] = field(default_factory=dict)
    epoch: int = 1
    rng_seed: int | None = None
    kind: str = "rule"  # "rule" or "stdp" (how it was written; for the printer)
    params: Mapping[str, float] = field(default_factory=dict)  # stdp(...) as written
    probe_weights: bool = False
    span: Span | None = None

    def trace(self, name: str) -> Trace:
        return self.traces.get(name, Trace())

    @property
    def used(self) -> frozenset[str]:
        """Every variable the rule reads (dependencies and factors)."""
        names = {p.dependency for p in self.products}
        names |= {f.var for p in self.products for f in p.factors}
        return frozenset(names)

    def same_as(self, other: "LearningRule") -> bool:
        return (self.products == other.products and dict(self.traces) == dict(other.traces)
                and self.epoch == other.epoch and self.rng_seed == other.rng_seed
                and self.probe_weights == other.probe_weights)
