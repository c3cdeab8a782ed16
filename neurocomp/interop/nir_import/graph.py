"""Reading a NIR graph: load it, run NIR's own type check, inline its nested graphs.

Input: a ``nir.NIRGraph`` or the path of a ``.nir`` file. Output: a :class:`Flat`
graph, one level of nodes keyed ``subgraph.node``, whose edges join those keys. The
caller's graph is never changed (an in-memory graph is copied first).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...diagnostics import InteropError, UsageError

__all__ = ["require_nir", "load_graph", "type_check", "flatten", "Flat",
           "shape_of", "meta", "identifier", "pair", "type_name"]


def require_nir() -> Any:
    """The ``nir`` package, or a :class:`UsageError` saying how to install it."""
    try:
        import nir
    except ImportError:
        raise UsageError("reading and writing NIR needs the 'nir' package, which is not installed",
                         hint="pip install neurocomp[nir]") from None
    return nir


def load_graph(nir: Any, graph_or_path: Any) -> tuple[Any, str | None]:
    """The graph (a copy, when given in memory) and the stem of its file, if any."""
    if isinstance(graph_or_path, (str, Path)):
        path = Path(graph_or_path)
        if not path.is_file():
            raise UsageError(f"NIR file not found: '{path}'")
        try:
            graph = nir.read(path, type_check=False)
        except KeyError as exc:  # nir reads fields by name: a missing one is a partial file
            raise InteropError(f"cannot read '{path}' as a NIR graph: it lacks the field {exc} that NIR "
                               "needs (a file written only in part, or by an exporter that failed)",
                               where=str(path),
                               hint="write it again with nir.write(path, graph) after the export succeeds") from None
        except Exception as exc:  # h5py and nir raise many kinds; all mean "not a NIR file"
            # nir.read asserts on a node type it does not know: an AssertionError without words
            reason = str(exc) or ("a node of a type the nir package does not know, or a malformed node"
                                  if isinstance(exc, (AssertionError, KeyError)) else type(exc).__name__)
            raise InteropError(f"cannot read '{path}' as a NIR graph: {reason}", where=str(path),
                               hint="a .nir file is HDF5 written by nir.write") from None
        return graph, path.stem
    if isinstance(graph_or_path, nir.NIRGraph):
        return copy.deepcopy(graph_or_path), None
    raise UsageError(f"expected a nir.NIRGraph or the path of a .nir file, "
                     f"got {type(graph_or_path).__name__}")


def _shape(types: Any, port: str) -> tuple[int, ...] | None:
    value = (types or {}).get(port) if isinstance(types, dict) else None
    return None if value is None else tuple(int(v) for v in np.asarray(value).reshape(-1))


def drop_time_axis(nir: Any, graph: Any) -> Any:
    """``graph`` (changed in place) with a leading time axis dropped from its Input and Output
    nodes: Sinabs writes ``Input`` as ``[T, N]`` (the sample's steps) in front of a node that
    takes ``[N]``. An Input whose shape is ``[T, *shape]`` of everything it feeds becomes
    ``shape``; an Output fed ``shape`` that says ``[T, *shape]`` likewise. NIR's type check
    would refuse both; a step's input is what neurocomp's input population holds."""
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    for key, node in list(graph.nodes.items()):
        if isinstance(node, nir.Input):
            shape = _shape(node.input_type, "input")
            fed = {_shape(getattr(graph.nodes[b], "input_type", None), "input") for b in succ.get(key, [])}
            if shape and len(shape) > 1 and len(fed) == 1 and fed == {shape[1:]}:
                graph.nodes[key] = nir.Input(input_type={"input": np.array(shape[1:])})
        elif isinstance(node, nir.Output):
            shape = _shape(node.output_type, "output") or _shape(node.input_type, "input")
            feeding = {_shape(getattr(graph.nodes[a], "output_type", None), "output") for a in pred.get(key, [])}
            if shape and len(shape) > 1 and len(feeding) == 1 and feeding == {shape[1:]}:
                graph.nodes[key] = nir.Output(output_type={"output": np.array(shape[1:])})
    return graph


def type_check(graph: Any) -> None:
    """NIR's own shape inference and type check; failures name the nodes."""
    try:
        graph.infer_types()
        graph.check_types()
    except (ValueError, AssertionError, NotImplementedError, TypeError, KeyError, IndexError) as exc:
        raise InteropError(f"the graph fails NIR's own type check: {exc}",
                           hint="each edge must carry the shape its target expects "
                                "(nir.NIRGraph(...).infer_types() reports the same)") from None


class _Pass:
    """The Input or Output node of a nested graph: passes its signal through.

    Its type name (``_Pass``) is what the converter registry knows it by.
    """

    def __init__(self, node: Any) -> None:
        self.input_type = node.input_type
        self.output_type = node.output_type
        self.metadata: dict = {}


@dataclass(frozen=True)
class Flat:
    """A graph without nesting: nodes in the order to import them, edges between their keys."""

    nodes: dict[str, Any]
    edges: list[tuple[str, str]]
    metadata: dict


def flatten(nir: Any, graph: Any) -> Flat:
    """Inline nested graphs: node ``k`` of subgraph ``s`` becomes ``s.k``."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []

    def resolve(g: Any, prefix: str, key: str, side: str) -> str:
        node = g.nodes.get(key)
        if isinstance(node, nir.NIRGraph):
            ends = [k for k, n in node.nodes.items()
                    if isinstance(n, nir.Input if side == "in" else nir.Output)]
            if len(ends) != 1:
                what = "Input" if side == "in" else "Output"
                raise InteropError(f"an edge {'into' if side == 'in' else 'out of'} the nested "
                                   f"graph '{prefix + key}' is ambiguous: it has {len(ends)} "
                                   f"{what} nodes", hint=f"name one in the edge: '{key}.<node>'")
            return resolve(node, f"{prefix}{key}.", ends[0], side)
        if node is None and "." in key:
            head, rest = key.split(".", 1)
            if isinstance(g.nodes.get(head), nir.NIRGraph):
                return resolve(g.nodes[head], f"{prefix}{head}.", rest, side)
        return prefix + key

    def add(g: Any, prefix: str, top: bool) -> None:
        for key, node in g.nodes.items():
            if isinstance(node, nir.NIRGraph):
                add(node, f"{prefix}{key}.", False)
            elif not top and isinstance(node, (nir.Input, nir.Output)):
                nodes[prefix + key] = _Pass(node)
            else:
                nodes[prefix + key] = node
        for a, b in g.edges:
            edges.append((resolve(g, prefix, a, "out"), resolve(g, prefix, b, "in")))

    add(graph, "", True)
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    order = meta.get("neurocomp_order")
    if isinstance(order, str) and sorted(order.split()) == sorted(nodes):
        nodes = {k: nodes[k] for k in order.split()}
    return Flat(nodes, edges, meta)


# -- small readers every converter uses ----------------------------------------------------


def type_name(node: Any) -> str:
    """The NIR type a node is registered by (its class name)."""
    return type(node).__name__


def shape_of(types: Any, key: str) -> tuple[int, ...]:
    """The shape NIR's type inference recorded under ``key`` (``"input"``/``"output"``)."""
    value = types[key] if isinstance(types, dict) else None
    return tuple(int(s) for s in np.asarray(value).reshape(-1))


def meta(node: Any) -> dict:
    """The node's metadata, or an empty dict."""
    data = getattr(node, "metadata", None)
    return data if isinstance(data, dict) else {}


def identifier(text: str) -> str:
    """``text`` as a `.snn` identifier (other characters become ``_``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if re.match(r"[A-Za-z_]", name) else f"n_{name}"


def pair(value: Any, what: str, node: str) -> tuple[int, int]:
    """A 2-D geometry value (one number for both axes, or two)."""
    arr = np.asarray(value).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(arr == np.round(arr)):
        raise InteropError(f"node '{node}': {what} {np.asarray(value).tolist()} is not one or two "
                           "whole numbers")
    return int(arr[0]), int(arr[1])
