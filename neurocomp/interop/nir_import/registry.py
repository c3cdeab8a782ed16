"""The registry of NIR node converters: one entry per NIR node type neurocomp imports.

A NIR node is either a *neuron* node (it becomes a population) or an *op* node (a
weight or pass-through node on the chain between two neurons, composed into one
projection). Each type registers once, by its NIR type name, with :func:`neuron` or
:func:`op`; the importer (:mod:`.convert`) looks types up here and never names one.
``Input`` and ``Output`` are the graph's ends and are handled by the importer itself.

Adding a node type is one function in :mod:`.neurons` or :mod:`.connections` with its
decorator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from ...diagnostics import InteropError
from ...ir import connectors as cn
from .discretise import Discretisation
from .graph import shape_of, type_name

__all__ = ["Node", "Step", "NeuronSpec", "NeuronConverter", "OpConverter", "NEURONS", "OPS",
           "neuron", "op", "kind_of", "apply"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Node:
    """One node of the flattened graph, as a converter sees it."""

    key: str
    obj: Any  # the NIR node

    @property
    def type_name(self) -> str:
        return type_name(self.obj)

    @property
    def in_shape(self) -> Shape:
        return shape_of(self.obj.input_type, "input")

    @property
    def out_shape(self) -> Shape:
        return shape_of(self.obj.output_type, "output")

    def describe(self) -> str:
        """``'key' (Type)``, as messages name a node."""
        return f"'{self.key}' ({self.type_name.lstrip('_')})"


@dataclass(frozen=True)
class Step:
    """The time step every time constant and delay is discretised with."""

    dt_ms: float
    disc: Discretisation
    too_long_hint: str | None = None  # what to say when a time constant is shorter than the step

    @property
    def dt_s(self) -> float:
        return self.dt_ms / 1000.0


@dataclass(frozen=True, eq=False)
class NeuronSpec:
    """A neuron node (or a read-out) as a neurocomp model, before its bias is known.

    Arrays are flat (one value per neuron). ``gain`` multiplies every input that arrives;
    ``leak_bias`` is ``h·v_leak``. ``cuba`` says that inputs pass through a decaying
    synaptic current, which a constant input would have to build up in.
    """

    node: str
    shape: Shape
    family: str
    alpha: np.ndarray
    beta: np.ndarray
    threshold: np.ndarray
    gain: np.ndarray
    leak_bias: np.ndarray
    cuba: bool = False
    reset: str = "zero"
    refractory: int = 0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class NeuronConverter:
    """A NIR neuron type: how one node becomes a :class:`NeuronSpec`."""

    type_name: str
    spiking: bool  # whether it emits spikes (only spikes travel between populations)
    spec: Callable[[Node, Step], NeuronSpec]


#: ``connector(node, gain, pre_shape, post_shape, file)``: the one connector that holds a
#: chain whose only weight node is ``node`` (weights times the target's ``gain``), or None
#: to compose the chain densely; ``file(what)`` names a data file for an array.
ConnectorFn = Callable[[Node, np.ndarray, Shape, Shape, Callable[[str], str]], "cn.Connector | None"]


@dataclass(frozen=True)
class OpConverter:
    """A NIR node between neurons (weights, or a pass-through)."""

    type_name: str
    apply: Callable[[Node, np.ndarray], np.ndarray]  # its linear part on a batch [B, *in_shape]
    weight: bool = False  # a weight node: it picks the connector and names the projection
    mixing: bool = False  # combines elements (a delay across it is no longer per neuron)
    bias: Callable[[Node], np.ndarray | None] | None = None  # the constant it adds [*out_shape]
    connector: ConnectorFn | None = None
    delay_s: Callable[[Node], Any] | None = None  # the delay (seconds) of a delay node
    listed: bool = True  # named among the supported nodes when one is refused


NEURONS: dict[str, NeuronConverter] = {}
OPS: dict[str, OpConverter] = {}

#: Node types refused with a reason more useful than "unknown".
REFUSED: dict[str, str] = {
    "Conv1d": "neurocomp's convolutions are 2-D [C, H, W]; reshape the model to Conv2d with a 1-pixel height",
}


def _unique(type_name: str) -> None:
    if type_name in NEURONS or type_name in OPS:
        raise ValueError(f"a NIR converter for '{type_name}' is already registered")


def neuron(type_name: str, *, spiking: bool) -> Callable[[Callable[[Node, Step], NeuronSpec]],
                                                          Callable[[Node, Step], NeuronSpec]]:
    """Register the function that turns a NIR neuron node of ``type_name`` into a spec."""
    def register(fn: Callable[[Node, Step], NeuronSpec]) -> Callable[[Node, Step], NeuronSpec]:
        _unique(type_name)
        NEURONS[type_name] = NeuronConverter(type_name, spiking, fn)
        return fn
    return register


def op(type_name: str, **parts: Any) -> Callable[[Callable[[Node, np.ndarray], np.ndarray]],
                                                  Callable[[Node, np.ndarray], np.ndarray]]:
    """Register the decorated function as the linear part (``apply``) of an op node type;
    ``parts`` are the other fields of :class:`OpConverter`."""
    def register(fn: Callable[[Node, np.ndarray], np.ndarray]) -> Callable[[Node, np.ndarray], np.ndarray]:
        _unique(type_name)
        OPS[type_name] = OpConverter(type_name, fn, **parts)
        return fn
    return register


def kind_of(node: Node) -> Literal["neuron", "op"]:
    """Whether a (non-Input, non-Output) node is a neuron or an op; refuses unknown types."""
    t = node.type_name
    if t in NEURONS:
        return "neuron"
    if t in OPS:
        return "op"
    why = REFUSED.get(t, f"'{t}' is not a NIR node neurocomp knows")
    supported = [*NEURONS, *(k for k, c in OPS.items() if c.listed)]
    raise InteropError(f"node '{node.key}' is a {t}, which neurocomp cannot import: {why}",
                       hint="supported: Input, Output, " + ", ".join(supported) + ", and nested graphs")


def apply(node: Node, x: np.ndarray) -> np.ndarray:
    """The linear part of an op node on a batch ``[B, *in_shape]``."""
    return OPS[node.type_name].apply(node, x)
