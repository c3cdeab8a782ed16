"""The Network: populations and projections with float parameters, as the user wrote them.

This is the front end's product and every later stage's input. It is frozen; arrays
inside it are read-only. Times are already in steps of ``dt_ms``; decays are per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Mapping, Union

import numpy as np

from ..diagnostics import Span
from .connectors import Connector
from .encoders import Encoder
from .learning import LearningRule
from .values import ArrayValue, Value, same_value

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = [
    "NeuronModel",
    "Population",
    "Projection",
    "Probe",
    "Network",
    "NativeValue",
    "PROBE_VARIABLES",
]

ResetMode = Literal["zero", "subtract", "none"]
Family = Literal["lif", "if", "li"]
NativeValue = Union[int, tuple[int, ...], str, ArrayValue]

PROBE_VARIABLES = ("spikes", "voltage", "current")


@dataclass(frozen=True, eq=False, kw_only=True)
class NeuronModel:
    """Discrete-time current-based neuron, one step of ``dt``.

    Per step, in this order (``x[t]`` is the weighted input arriving at step ``t``)::

        I[t] = alpha · I[t-1] + x[t]
        V[t] = beta  · V[t-1] + I[t] + bias          (held at 0 while refractory)
        spike[t] = V[t] > threshold                  (strict; not for ``li``)
        on spike: zero -> V = 0;  subtract -> V -= threshold;  none -> V unchanged;
                  then the neuron is refractory for ``refractory_steps`` steps

    While refractory the current keeps integrating and ``V`` is held at 0 (so what a
    subtract reset left over is dropped). Probes record ``V`` and ``I`` at the end of the
    step, after any reset.

    ``lif`` has a leak (``beta < 1``); ``if`` has ``beta = 1``; ``li`` never spikes (a
    read-out). Physical time constants were turned into decays by the builder:
    ``beta = exp(-dt / tau_mem)``, ``alpha = exp(-dt / tau_syn)`` (``alpha = 0`` when no
    synaptic time constant is given: the current holds one step's input only).
    """

    family: Family
    alpha: Value = 0.0
    beta: Value = 1.0
    threshold: Value = 1.0
    bias: Value = 0.0
    reset: ResetMode = "zero"
    refractory_steps: int = 0

    @property
    def spiking(self) -> bool:
        return self.family != "li"

    def same_as(self, other: "NeuronModel") -> bool:
        return all(same_value(getattr(self, f), getattr(other, f)) for f in
                   ("family", "alpha", "beta", "threshold", "bias", "reset", "refractory_steps"))


@dataclass(frozen=True, eq=False, kw_only=True)
class Population:
    """A group of neurons of one model (``neuron``), or an input source (``encoder``).

    Exactly one of ``neuron`` and ``encoder`` is set. ``native`` pins the integers a chip
    stores, by chip family: ``{"loihi": {"du": 410, ...}}``; the compiler uses them as
    given.
    """

    name: str
    shape: tuple[int, ...]
    neuron: NeuronModel | None = None
    encoder: Encoder | None = None
    native: Mapping[str, Mapping[str, NativeValue]] = field(default_factory=dict)
    span: Span | None = None

    @property
    def size(self) -> int:
        return math.prod(int(d) for d in self.shape)  # Python ints: no int64 wrap-around

    @property
    def is_input(self) -> bool:
        return self.encoder is not None


@dataclass(frozen=True, eq=False, kw_only=True)
class Projection:
    """Synapses from ``pre`` to ``post`` (population names).

    ``delay_steps`` is the extra synaptic delay: a spike emitted at step ``t`` arrives at
    step ``t + 1 + delay``. It is one integer for all synapses, or an array laid out like
    the connector's synapses: dense and all_to_all ``[post, pre]``, one_to_one one per
    neuron, conv2d one per kernel tap ``[C_out, C_in, kH, kW]``, sparse one per listed
    synapse. Random and pooling projections take one delay.
    """

    name: str
    pre: str
    post: str
    connector: Connector
    delay_steps: Union[int, ArrayValue] = 0
    native: Mapping[str, Mapping[str, NativeValue]] = field(default_factory=dict)
    span: Span | None = None
    learning: LearningRule | None = None  # plastic: ``learn ...`` (docs/learning.md)


@dataclass(frozen=True, eq=False, kw_only=True)
class Probe:
    """Record ``variables`` (``spikes``, ``voltage``, ``current``) of one population."""

    population: str
    variables: tuple[str, ...]
    span: Span | None = None


@dataclass(frozen=True, eq=False, kw_only=True)
class Network:
    """A whole network: named populations, projections between them, and probes.

    ``base_dir`` is where relative file names in the text were resolved (so the network
    can be printed back with the same names).
    """

    name: str
    dt_ms: float = 1.0
    constants: Mapping[str, float] = field(default_factory=dict)
    populations: Mapping[str, Population] = field(default_factory=dict)
    projections: tuple[Projection, ...] = ()
    probes: tuple[Probe, ...] = ()
    base_dir: Path = field(default_factory=Path)

    @cached_property
    def graph(self) -> "nx.MultiDiGraph":
        """The population graph: a node per population, an edge per projection (read-only)."""
        import networkx as nx  # here: it takes ~0.2 s to import and only this property needs it

        g = nx.MultiDiGraph()
        for name, pop in self.populations.items():
            g.add_node(name, size=pop.size, input=pop.is_input)
        for proj in self.projections:
            g.add_edge(proj.pre, proj.post, key=proj.name)
        return nx.freeze(g)

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations.values())

    def projection(self, name: str) -> Projection:
        for proj in self.projections:
            if proj.name == name:
                return proj
        raise KeyError(name)

    def __eq__(self, other: object) -> bool:
        """Structural equality (spans and file locations are ignored)."""
        if not isinstance(other, Network):
            return NotImplemented
        return network_diff(self, other) is None

    __hash__ = None  # type: ignore[assignment]


def _same_pop(a: Population, b: Population) -> bool:
    if a.name != b.name or a.shape != b.shape or not same_value(_native(a.native), _native(b.native)):
        return False
    if (a.neuron is None) != (b.neuron is None) or (a.encoder is None) != (b.encoder is None):
        return False
    if a.neuron is not None and not a.neuron.same_as(b.neuron):  # type: ignore[arg-type]
        return False
    return a.encoder is None or _same_fields(a.encoder, b.encoder)


def _same_fields(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    fields = getattr(a, "__dataclass_fields__", {})
    return all(same_value(getattr(a, f), getattr(b, f)) for f in fields if f != "path")


def _native(native: Mapping[str, Mapping[str, NativeValue]]) -> dict:
    return {chip: dict(params) for chip, params in native.items()}


def network_diff(a: Network, b: Network) -> str | None:
    """The first difference between two networks, in words (``None`` when equal)."""
    if a.name != b.name:
        return f"name: {a.name!r} != {b.name!r}"
    if a.dt_ms != b.dt_ms:
        return f"dt: {a.dt_ms} != {b.dt_ms}"
    if list(a.populations) != list(b.populations):
        return f"populations: {list(a.populations)} != {list(b.populations)}"
    for name in a.populations:
        if not _same_pop(a.populations[name], b.populations[name]):
            return f"population {name!r} differs"
    if [p.name for p in a.projections] != [p.name for p in b.projections]:
        return "projection names differ"
    for pa, pb in zip(a.projections, b.projections):
        if (pa.pre, pa.post) != (pb.pre, pb.post) or not _same_fields(pa.connector, pb.connector) \
                or not same_value(pa.delay_steps, pb.delay_steps) \
                or not same_value(_native(pa.native), _native(pb.native)) \
                or (pa.learning is None) != (pb.learning is None) \
                or (pa.learning is not None and not pa.learning.same_as(pb.learning)):
            return f"projection {pa.name!r} differs"
    if [(p.population, p.variables) for p in a.probes] != [(p.population, p.variables) for p in b.probes]:
        return "probes differ"
    return None
