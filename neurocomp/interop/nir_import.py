"""Import a NIR graph as a :class:`~neurocomp.ir.network.Network` (written as `.snn` by :mod:`neurocomp.ir.write`).

Input: a ``nir.NIRGraph`` (or the path of a ``.nir`` file), an explicit time step
``dt_ms`` and a discretisation method. Output: a frozen Network whose populations are
the graph's neuron nodes (and its Input nodes), whose projections are the chains of
weight nodes between them, and whose probes are its Output nodes. The graph is not
changed. ``docs/nir.md`` is the user's guide.

The mapping
-----------
NIR states continuous-time ODEs; neurocomp runs one discrete step of ``dt`` at a time
(``docs/models.md``)::

    I[t] = alpha·I[t-1] + x[t];   V[t] = beta·V[t-1] + I[t] + bias;   spike if V > threshold

Every time constant ``tau`` (seconds) becomes a step fraction ``h`` by the chosen
discretisation: ``"euler"`` (forward Euler, the default) ``h = dt / tau``, or ``"exp"``
(exponential, the input held constant over the step) ``h = 1 - exp(-dt / tau)``. Then:

* ``LIF``  ``tau dv/dt = (v_leak - v) + r·u``: ``beta = 1 - h``; everything arriving
  is multiplied by the input gain ``r·h``; ``bias = h·v_leak`` (exact: the voltage
  relaxes towards ``v_leak`` as in NIR).
* ``CubaLIF``: ``alpha = 1 - h_syn``, ``beta = 1 - h_mem``; neurocomp's current is
  ``r·h_mem`` times NIR's, so the input gain is ``(w_in·h_syn)·(r·h_mem)``;
  ``bias = h_mem·v_leak``. The current is updated first and the voltage uses the new
  current (semi-implicit Euler, as Loihi and snnTorch do).
* ``IF`` (``dv/dt = r·u``): ``beta = 1``, gain ``r·dt``. ``I`` (integrator): an ``LI``
  population with ``beta = 1``, gain ``r·dt``. ``LI``/``CubaLI``: as ``LIF``/``CubaLIF``
  without a threshold. ``Threshold`` (``z = H(u - thr)``): ``beta = 0``, gain 1.
* The reset: NIR resets to ``v_reset``, neurocomp to 0, so ``v_reset`` must be 0.
  Both compare strictly (``v > threshold``). NIR has no refractory period.
* ``Affine``, ``Linear``, ``Scale``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``,
  ``Flatten`` and ``Delay`` between two neuron nodes are composed into one projection,
  its weights multiplied by the target's input gain. A constant (an ``Affine`` or
  ``Conv2d`` bias, passed through the later nodes) becomes the target's ``bias``
  (times the gain). A current-based target would filter that constant through its
  synaptic current; neurocomp's bias enters the voltage, so that is refused unless
  ``cuba_bias="steady"`` (the settled value, added from step 0).

Timing: every chain into a neuron delivers one step later: an input or spike at step
``t`` reaches the next neuron node at ``t + 1 + delay/dt``. So ``u[t]`` of a neuron is
the chain applied to its sources' outputs of step ``t - 1`` (nothing before step 0),
plus the constants, which are on from step 0.

Output nodes fed straight by a neuron or input node become probes; an Output fed
through weight nodes becomes a read-out population (``LI`` with ``beta = 0``: its
voltage is the weighted sum each step). Input nodes become spike inputs reading an
empty event file, to be replaced by the user's data.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from ..diagnostics import InteropError, UsageError, did_you_mean
from ..ir import connectors as cn
from ..ir import encoders as en
from ..ir.network import PROBE_VARIABLES, Network, NeuronModel, Population, Probe, Projection
from ..ir.values import ArrayValue
from ..ir.write import write_snn

__all__ = [
    "import_nir",
    "write_snn",
    "describe_discretisation",
    "require_nir",
    "Discretisation",
    "DISCRETISATIONS",
    "DEFAULT_DENSE_LIMIT",
]

#: Largest dense ``[post, pre]`` matrix (entries) built when a chain of weight nodes has
#: no single connector; a memory guard (128 MiB of float64), not a hardware number.
DEFAULT_DENSE_LIMIT = 1 << 24

CubaBias = Literal["error", "steady"]


def require_nir() -> Any:
    """The ``nir`` package, or a :class:`UsageError` saying how to install it."""
    try:
        import nir
    except ImportError:
        raise UsageError("reading and writing NIR needs the 'nir' package, which is not installed",
                         hint="pip install neurocomp[nir]") from None
    return nir


# -- discretisation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Discretisation:
    """How a time constant ``tau`` (s) becomes the fraction ``h`` of one step ``dt``.

    Decays are ``1 - h``; the input gain of a leaky node is ``r·h``.
    """

    name: str
    title: str
    formula: str
    fraction: Callable[[np.ndarray, float], np.ndarray]

    def h(self, tau_s: np.ndarray | float, dt_s: float) -> np.ndarray:
        """The step fraction, elementwise (``tau = inf`` gives 0)."""
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return self.fraction(np.asarray(tau_s, dtype=np.float64), dt_s)


def _euler(tau_s: np.ndarray, dt_s: float) -> np.ndarray:
    return dt_s / tau_s


def _exponential(tau_s: np.ndarray, dt_s: float) -> np.ndarray:
    return -np.expm1(-dt_s / tau_s)


DISCRETISATIONS: dict[str, Discretisation] = {
    "euler": Discretisation("euler", "forward Euler", "h = dt / tau", _euler),
    "exp": Discretisation("exp", "exponential, input held over the step",
                          "h = 1 - exp(-dt / tau)", _exponential),
}


def discretisation(method: str) -> Discretisation:
    """The registered discretisation called ``method`` (a :class:`UsageError` if none)."""
    if method not in DISCRETISATIONS:
        raise UsageError(f"unknown discretisation '{method}'", hint=did_you_mean(method, DISCRETISATIONS))
    return DISCRETISATIONS[method]


def describe_discretisation(method: str, dt_ms: float) -> str:
    """The discretisation in words, one rule a line (for the `.snn` header and the CLI)."""
    d = discretisation(method)
    return "\n".join([
        f"NIR discretised with dt = {_fmt(dt_ms)} ms, {d.title}: {d.formula} (tau in s)",
        "  LIF, LI:          beta = 1 - h;  inputs x r*h;  bias = h*v_leak",
        "  CubaLIF, CubaLI:  alpha = 1 - h_syn, beta = 1 - h_mem;  inputs x (w_in*h_syn)*(r*h_mem);"
        "  bias = h_mem*v_leak",
        "  IF, I:            beta = 1;  inputs x r*dt",
        "  Threshold:        beta = 0;  inputs x 1",
        "  an Affine/Conv2d bias b adds (input gain)*b to the target's bias",
        "  an input or spike of step t reaches the next neuron node at step t + 1 + delay/dt",
        "  reset to 0 (NIR v_reset = 0); spike when v > threshold (strict, as NIR)",
    ])


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


# -- the door -----------------------------------------------------------------------------


def import_nir(graph_or_path: Any, dt_ms: float, *, name: str | None = None,
               method: str = "euler", cuba_bias: CubaBias = "error",
               max_dense_entries: int = DEFAULT_DENSE_LIMIT) -> Network:
    """Turn a NIR graph into a neurocomp :class:`Network` (see the module docstring).

    Parameters
    ----------
    graph_or_path
        A ``nir.NIRGraph`` (left unchanged) or the path of a ``.nir`` file.
    dt_ms
        The time step in milliseconds. NIR has none; every time constant and delay is
        discretised with it.
    name
        The network's name (default: the graph's recorded name, else the file's stem).
    method
        ``"euler"`` (forward Euler, default) or ``"exp"``; see :data:`DISCRETISATIONS`.
    cuba_bias
        ``"error"`` (default) refuses a constant input (a bias) into a CubaLIF/CubaLI
        whose synaptic current decays; ``"steady"`` adds its settled value to the bias.
    max_dense_entries
        Largest ``[post, pre]`` matrix built for a chain of weight nodes that no single
        connector represents.

    Returns
    -------
    Network
        ``dt_ms`` as given; arrays are :class:`ArrayValue` with paths
        ``<name>_data/<node>.<param>.npy`` relative to where :func:`~neurocomp.ir.write.write_snn` puts the
        `.snn` file; each Input node reads ``<name>_data/<input>.spikes.npz``.

    Raises
    ------
    UsageError
        ``nir`` is missing, a bad ``dt_ms``/``method``/``name``, or no such file.
    InteropError
        A graph that fails NIR's type check, an unsupported node, or a value neurocomp
        cannot represent; the message names the node and says why.
    """
    nir = require_nir()
    if isinstance(dt_ms, bool) or not isinstance(dt_ms, (int, float, np.floating, np.integer)) \
            or not math.isfinite(dt_ms) or dt_ms <= 0:
        raise UsageError(f"dt must be a positive number of milliseconds, got {dt_ms!r}",
                         hint="NIR has no time step; choose the one the model was trained with")
    disc = discretisation(method)
    if cuba_bias not in ("error", "steady"):
        raise UsageError(f"cuba_bias must be 'error' or 'steady', got {cuba_bias!r}")
    if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"'{name}' is not a valid network name",
                         hint="letters, digits and '_', not starting with a digit")
    graph, stem = _load_graph(nir, graph_or_path)
    _type_check(graph)
    flat = _flatten(nir, graph)
    recorded = flat.metadata.get("neurocomp_network")
    net_name = name or _identifier(str(recorded) if isinstance(recorded, str) and recorded
                                   else stem or "nir_network")
    return _Importer(nir, flat, float(dt_ms), disc, net_name, cuba_bias, max_dense_entries).run()


# -- reading and checking the graph ---------------------------------------------------------


def _load_graph(nir: Any, graph_or_path: Any) -> tuple[Any, str | None]:
    if isinstance(graph_or_path, (str, Path)):
        path = Path(graph_or_path)
        if not path.is_file():
            raise UsageError(f"NIR file not found: '{path}'")
        try:
            graph = nir.read(path, type_check=False)
        except Exception as exc:  # h5py and nir raise many kinds; all mean "not a NIR file"
            raise InteropError(f"cannot read '{path}' as a NIR graph: {exc}", where=str(path),
                               hint="a .nir file is HDF5 written by nir.write") from None
        return graph, path.stem
    if isinstance(graph_or_path, nir.NIRGraph):
        return copy.deepcopy(graph_or_path), None
    raise UsageError(f"expected a nir.NIRGraph or the path of a .nir file, "
                     f"got {type(graph_or_path).__name__}")


def _type_check(graph: Any) -> None:
    """NIR's own shape inference and type check; failures name the nodes."""
    try:
        graph.infer_types()
        graph.check_types()
    except (ValueError, AssertionError, NotImplementedError, TypeError, KeyError, IndexError) as exc:
        raise InteropError(f"the graph fails NIR's own type check: {exc}",
                           hint="each edge must carry the shape its target expects "
                                "(nir.NIRGraph(...).infer_types() reports the same)") from None


class _Pass:
    """The Input or Output node of a nested graph: passes its signal through."""

    def __init__(self, node: Any) -> None:
        self.input_type = node.input_type
        self.output_type = node.output_type
        self.metadata: dict = {}


@dataclass
class _Flat:
    nodes: dict[str, Any]
    edges: list[tuple[str, str]]
    metadata: dict


def _flatten(nir: Any, graph: Any) -> _Flat:
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
    return _Flat(nodes, edges, meta)


# -- node kinds ---------------------------------------------------------------------------

_NEURONS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I", "Threshold")
_SPIKING = ("LIF", "CubaLIF", "IF", "Threshold")
_WEIGHTS = ("Affine", "Linear", "Scale", "Conv2d", "SumPool2d", "AvgPool2d")
_PASSING = ("Flatten", "Delay", "Identity", "_Pass")
_ELEMENTWISE = ("Scale", "Flatten", "Delay", "Identity", "_Pass")
_UNSUPPORTED_WHY = {
    "Conv1d": "neurocomp's convolutions are 2-D [C, H, W]; reshape the model to Conv2d with a 1-pixel height",
}


def _type_name(node: Any) -> str:
    return type(node).__name__


def _shape_of(types: Any, key: str) -> tuple[int, ...]:
    value = types[key] if isinstance(types, dict) else None
    return tuple(int(s) for s in np.asarray(value).reshape(-1))


def _meta(node: Any) -> dict:
    meta = getattr(node, "metadata", None)
    return meta if isinstance(meta, dict) else {}


def _identifier(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if re.match(r"[A-Za-z_]", name) else f"n_{name}"


def _pair(value: Any, what: str, node: str) -> tuple[int, int]:
    arr = np.asarray(value).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(arr == np.round(arr)):
        raise InteropError(f"node '{node}': {what} {np.asarray(value).tolist()} is not one or two "
                           "whole numbers")
    return int(arr[0]), int(arr[1])


# -- the importer ---------------------------------------------------------------------------


@dataclass
class _Spec:
    """A neuron node (or a read-out) as a neurocomp model, before its bias is known."""

    node: str
    kind: str
    shape: tuple[int, ...]
    family: str
    alpha: np.ndarray
    beta: np.ndarray
    threshold: np.ndarray
    gain: np.ndarray  # flat: multiplies every input that arrives
    leak_bias: np.ndarray  # flat: h·v_leak
    reset: str = "zero"
    refractory: int = 0
    constant: np.ndarray | None = None  # flat: the constants arriving (before the gain)
    constant_from: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class _Path:
    source: str
    ops: tuple[str, ...]
    sink: str


class _Importer:
    def __init__(self, nir: Any, flat: _Flat, dt_ms: float, disc: Discretisation, name: str,
                 cuba_bias: str, max_dense: int) -> None:
        self.nir = nir
        self.nodes = flat.nodes
        self.edges = flat.edges
        self.dt_ms = dt_ms
        self.dt_s = dt_ms / 1000.0
        self.disc = disc
        self.name = name
        self.data_dir = f"{name}_data"
        self.cuba_bias = cuba_bias
        self.max_dense = max_dense
        self.index = {k: i for i, k in enumerate(self.nodes)}
        self.succ: dict[str, list[str]] = {k: [] for k in self.nodes}
        for a, b in self.edges:
            self.succ[a].append(b)
        self.kind = {k: self._classify(k, n) for k, n in self.nodes.items()}
        self.pop_names: dict[str, str] = {}
        self._taken_pops: set[str] = set()

    # -- classification -----------------------------------------------------------------
    def _classify(self, key: str, node: Any) -> str:
        t = _type_name(node)
        if isinstance(node, self.nir.Input):
            return "input"
        if isinstance(node, self.nir.Output):
            return "output"
        if t in _NEURONS:
            return "neuron"
        if t in _WEIGHTS or t in _PASSING:
            return "op"
        why = _UNSUPPORTED_WHY.get(t, f"'{t}' is not a NIR node neurocomp knows")
        raise InteropError(f"node '{key}' is a {t}, which neurocomp cannot import: {why}",
                           hint="supported: Input, Output, " + ", ".join(_NEURONS + _WEIGHTS + ("Flatten", "Delay"))
                                + ", and nested graphs")

    def describe(self, key: str) -> str:
        return f"'{key}' ({_type_name(self.nodes[key]).lstrip('_')})"

    def pop_name(self, key: str) -> str:
        if key not in self.pop_names:
            base = _identifier(key)
            name, k = base, 1
            while name in self._taken_pops:
                k += 1
                name = f"{base}_{k}"
            self._taken_pops.add(name)
            self.pop_names[key] = name
        return self.pop_names[key]

    # -- the whole import ---------------------------------------------------------------
    def run(self) -> Network:
        specs = {k: self.neuron_spec(k) for k, kind in self.kind.items() if kind == "neuron"}
        paths = self.all_paths()
        by_sink: dict[str, list[_Path]] = {}
        for p in paths:
            by_sink.setdefault(p.sink, []).append(p)
        probes: dict[str, list[str]] = {}
        readouts: dict[str, _Spec] = {}
        for key, kind in self.kind.items():
            if kind == "output":
                self.output(key, by_sink.get(key, []), specs, probes, readouts)
        targets = {**specs, **readouts}
        for key, spec in targets.items():
            spec.constant = np.zeros(spec.size, dtype=np.float64)
        self.constants(targets)

        populations: dict[str, Population] = {}
        for key, kind in self.kind.items():
            if kind == "input":
                populations[self.pop_name(key)] = self.input_population(key)
            elif key in specs:
                populations[self.pop_name(key)] = self.neuron_population(specs[key])
            elif key in readouts:
                populations[self.pop_name(key)] = self.neuron_population(readouts[key])
        projections = self.projections([p for p in paths if p.sink in targets], targets)
        probe_list = tuple(Probe(population=pop, variables=tuple(v)) for pop, v in probes.items() if v)
        return Network(name=self.name, dt_ms=self.dt_ms, populations=populations,
                       projections=projections, probes=probe_list, base_dir=Path())

    # -- neurons --------------------------------------------------------------------------
    def param(self, key: str, node: Any, attr: str, shape: tuple[int, ...], *,
              allow_inf: bool = False) -> np.ndarray:
        raw = getattr(node, attr, None)
        if raw is None:
            raise InteropError(f"node {self.describe(key)} has no '{attr}'")
        arr = np.asarray(raw, dtype=np.float64)
        try:
            arr = np.broadcast_to(arr, shape)
        except ValueError:
            raise InteropError(f"node {self.describe(key)}: '{attr}' has shape {list(arr.shape)}, "
                               f"the node's shape is {list(shape)}") from None
        bad = np.isnan(arr) | (np.isinf(arr) if not allow_inf else np.zeros(arr.shape, dtype=bool))
        if np.any(bad):
            raise InteropError(f"node {self.describe(key)}: '{attr}' holds NaN or infinite values")
        return np.ascontiguousarray(arr, dtype=np.float64).reshape(-1)

    def fraction(self, key: str, node: Any, attr: str, shape: tuple[int, ...]) -> np.ndarray:
        """h = fraction of tau that one step covers; checked for a usable decay."""
        tau = self.param(key, node, attr, shape, allow_inf=True)
        if np.any(tau <= 0):
            raise InteropError(f"node {self.describe(key)}: '{attr}' must be positive, got "
                               f"{float(tau[tau <= 0][0])!r} s")
        h = self.disc.h(tau, self.dt_s)
        if np.any(h > 1):
            i = int(np.argmax(h > 1))
            raise InteropError(
                f"node {self.describe(key)}: dt = {_fmt(self.dt_ms)} ms is longer than {attr} = "
                f"{_fmt(float(tau[i]) * 1000)} ms, so forward Euler gives the decay "
                f"{1.0 - float(h[i])!r} < 0, which oscillates",
                hint="choose a smaller dt, or the exponential discretisation (method='exp', --method exp)")
        return h

    def neuron_spec(self, key: str) -> _Spec:
        node = self.nodes[key]
        t = _type_name(node)
        shape = _shape_of(node.input_type, "input")
        n = int(np.prod(shape, dtype=np.int64))
        zeros = np.zeros(n, dtype=np.float64)
        ones = np.ones(n, dtype=np.float64)
        if t in ("LIF", "CubaLIF", "IF"):
            v_reset = self.param(key, node, "v_reset", shape) if getattr(node, "v_reset", None) is not None \
                else zeros
            if np.any(v_reset != 0):
                raise InteropError(
                    f"node {self.describe(key)}: v_reset = {float(v_reset[v_reset != 0][0])!r}, but "
                    "neurocomp resets the voltage to 0",
                    hint="shift the voltage in the source model (v_threshold - v_reset, v_leak - v_reset, "
                         "v_reset = 0); the neuron then starts at v_reset instead of 0")
        if t == "LIF":
            h = self.fraction(key, node, "tau", shape)
            r = self.param(key, node, "r", shape)
            spec = _Spec(key, t, shape, "lif", zeros, 1.0 - h, self.param(key, node, "v_threshold", shape),
                         r * h, h * self.param(key, node, "v_leak", shape))
        elif t in ("CubaLIF", "CubaLI"):
            hs = self.fraction(key, node, "tau_syn", shape)
            hm = self.fraction(key, node, "tau_mem", shape)
            w_in = self.param(key, node, "w_in", shape)
            r = self.param(key, node, "r", shape)
            thr = self.param(key, node, "v_threshold", shape) if t == "CubaLIF" else zeros
            # neurocomp's current is r·h_mem times NIR's, so V sees it with gain 1.
            spec = _Spec(key, t, shape, "lif" if t == "CubaLIF" else "li", 1.0 - hs, 1.0 - hm, thr,
                         (w_in * hs) * (r * hm), hm * self.param(key, node, "v_leak", shape))
        elif t == "IF":
            spec = _Spec(key, t, shape, "if", zeros, ones, self.param(key, node, "v_threshold", shape),
                         self.param(key, node, "r", shape) * self.dt_s, zeros)
        elif t == "LI":
            h = self.fraction(key, node, "tau", shape)
            spec = _Spec(key, t, shape, "li", zeros, 1.0 - h, zeros, self.param(key, node, "r", shape) * h,
                         h * self.param(key, node, "v_leak", shape))
        elif t == "I":
            spec = _Spec(key, t, shape, "li", zeros, ones, zeros,
                         self.param(key, node, "r", shape) * self.dt_s, zeros)
        else:  # Threshold: z = H(u - thr), no memory
            spec = _Spec(key, t, shape, "lif", zeros, zeros, self.param(key, node, "threshold", shape),
                         ones, zeros)
        meta = _meta(node)
        reset = meta.get("neurocomp_reset", "zero")
        if reset not in ("zero", "subtract", "none"):
            raise InteropError(f"node {self.describe(key)}: metadata neurocomp_reset = {reset!r} "
                               "is not 'zero', 'subtract' or 'none'")
        refractory = meta.get("neurocomp_refractory_steps", 0)
        if not float(refractory).is_integer() or refractory < 0:
            raise InteropError(f"node {self.describe(key)}: metadata neurocomp_refractory_steps = "
                               f"{refractory!r} is not a whole number >= 0")
        spec.reset, spec.refractory = str(reset), int(refractory)
        return spec

    def neuron_population(self, spec: _Spec) -> Population:
        pop = self.pop_name(spec.node)
        assert spec.constant is not None
        has_const = spec.constant != 0
        if spec.kind in ("CubaLIF", "CubaLI"):
            filtered = has_const & (spec.alpha != 0)
            if np.any(filtered) and self.cuba_bias == "error":
                raise InteropError(
                    f"node {self.describe(spec.node)} receives a constant input (the bias of "
                    f"{', '.join(repr(k) for k in spec.constant_from)}) into its synaptic current: NIR "
                    "filters it through tau_syn, so it builds up over the first steps, while a "
                    "neurocomp bias is added to the voltage in full from step 0",
                    hint="pass cuba_bias='steady' (CLI: --cuba-bias steady) to add its settled value "
                         "(w_in*r*h_mem*b) as the bias, or remove the bias from the model")
            # the settled current is gain·c / (1 - alpha); exact when alpha = 0
            with np.errstate(invalid="ignore", divide="ignore"):
                const_gain = spec.gain / np.where(spec.alpha != 0, 1.0 - spec.alpha, 1.0)
        else:
            const_gain = spec.gain
        with np.errstate(invalid="ignore", divide="ignore"):
            bias = spec.leak_bias + np.where(has_const, const_gain * spec.constant, 0.0)
        shape = spec.shape
        model = NeuronModel(family=spec.family,  # type: ignore[arg-type]
                            alpha=self.value(spec.alpha, shape, pop, "alpha"),
                            beta=self.value(spec.beta, shape, pop, "beta"),
                            threshold=self.value(spec.threshold, shape, pop, "threshold")
                            if spec.family != "li" else 1.0,
                            bias=self.value(bias, shape, pop, "bias"),
                            reset=spec.reset,  # type: ignore[arg-type]
                            refractory_steps=spec.refractory)
        for decay, values in (("alpha", spec.alpha), ("beta", spec.beta)):
            if np.any(values < 0) or np.any(values > 1):
                raise InteropError(f"node {self.describe(spec.node)}: {decay} = "
                                   f"{float(values[(values < 0) | (values > 1)][0])!r} is outside [0, 1]")
        return Population(name=pop, shape=shape, neuron=model)

    def value(self, flat: np.ndarray, shape: tuple[int, ...], pop: str, param: str) -> float | ArrayValue:
        """A scalar when every neuron has the same value, else an array file."""
        flat = np.asarray(flat, dtype=np.float64).reshape(-1)
        if flat.size and np.all(flat == flat[0]):
            return float(flat[0]) + 0.0  # +0.0 turns -0.0 into 0.0
        return ArrayValue(flat.reshape(shape).copy(), f"{self.data_dir}/{pop}.{param}.npy")

    def input_population(self, key: str) -> Population:
        pop = self.pop_name(key)
        shape = _shape_of(self.nodes[key].output_type, "output")
        path = f"{self.data_dir}/{pop}.spikes.npz"
        empty = en.SpikeFile(times=np.zeros(0, dtype=np.int64), indices=np.zeros(0, dtype=np.int64),
                             path=path)
        return Population(name=pop, shape=shape, encoder=empty)

    # -- outputs ---------------------------------------------------------------------------
    def output(self, key: str, paths: list[_Path], specs: dict[str, _Spec],
               probes: dict[str, list[str]], readouts: dict[str, _Spec]) -> None:
        if self.succ[key]:
            raise InteropError(f"Output node '{key}' has outgoing edges (to '{self.succ[key][0]}')",
                               hint="an Output ends the graph")
        meta = _meta(self.nodes[key])
        wanted = meta.get("neurocomp_probe")
        if len(paths) == 1 and not paths[0].ops:
            src = paths[0].source
            spiking = self.kind[src] == "input" or _type_name(self.nodes[src]) in _SPIKING
            if isinstance(wanted, str):
                variables = [v for v in wanted.split(",") if v]
                bad = [v for v in variables if v not in PROBE_VARIABLES]
                if bad:
                    raise InteropError(f"Output node '{key}': metadata neurocomp_probe names '{bad[0]}'",
                                       hint=did_you_mean(bad[0], PROBE_VARIABLES))
            else:
                variables = ["spikes"] if spiking else ["voltage"]
            if self.kind[src] == "input" and set(variables) - {"spikes"}:
                raise InteropError(f"Output node '{key}': only the spikes of the input '{src}' can be probed")
            have = probes.setdefault(self.pop_name(src), [])
            have += [v for v in variables if v not in have]
            return
        if not paths:
            return
        # Weighted sums of spikes: a read-out that holds the sum each step (beta = 0).
        shape = _shape_of(self.nodes[key].input_type, "input")
        n = int(np.prod(shape, dtype=np.int64))
        zeros = np.zeros(n, dtype=np.float64)
        readouts[key] = _Spec(key, "Output", shape, "li", zeros, zeros, zeros,
                              np.ones(n, dtype=np.float64), zeros)
        probes[self.pop_name(key)] = ["voltage"]

    # -- paths and constants -------------------------------------------------------------
    def all_paths(self) -> list[_Path]:
        paths: list[_Path] = []
        for key, kind in self.kind.items():
            if kind == "input" or kind == "neuron":
                paths += self.paths_from(key)
        return paths

    def paths_from(self, src: str) -> list[_Path]:
        out: list[_Path] = []
        spiking = self.kind[src] == "input" or _type_name(self.nodes[src]) in _SPIKING

        def go(node: str, ops: tuple[str, ...]) -> None:
            for nxt in self.succ[node]:
                kind = self.kind[nxt]
                if kind == "op":
                    if nxt in ops:
                        loop = " -> ".join(ops[ops.index(nxt):] + (nxt,))
                        raise InteropError(f"the cycle {loop} has no neuron node in it (an algebraic "
                                           "loop); neurocomp needs a neuron in every cycle",
                                           hint="recurrence is written neuron -> weights -> the same neuron")
                    go(nxt, ops + (nxt,))
                elif kind == "input":
                    raise InteropError(f"node '{node}' has an edge into the Input node '{nxt}'")
                else:
                    if not spiking and not (kind == "output" and not ops):
                        raise InteropError(
                            f"node {self.describe(src)} drives {self.describe(nxt)}, but {_type_name(self.nodes[src])} "
                            "never spikes and neurocomp passes only spikes between populations",
                            hint="a non-spiking node (LI, CubaLI, I) can only feed an Output as a read-out")
                    out.append(_Path(src, ops, nxt))

        go(src, ())
        return out

    def constants(self, targets: dict[str, _Spec]) -> None:
        """Add every Affine/Conv2d bias, carried through the later nodes, to its targets."""
        for key, kind in self.kind.items():
            if kind != "op":
                continue
            bias = self.op_bias(key)
            if bias is None:
                continue

            def push(node: str, value: np.ndarray, seen: tuple[str, ...]) -> None:
                for nxt in self.succ[node]:
                    if self.kind[nxt] == "op":
                        if nxt in seen:
                            raise InteropError(f"the cycle {' -> '.join(seen[seen.index(nxt):] + (nxt,))} "
                                               "has no neuron node in it (an algebraic loop)")
                        push(nxt, self.apply(nxt, value[None])[0], seen + (nxt,))
                    elif nxt in targets:
                        spec = targets[nxt]
                        assert spec.constant is not None
                        spec.constant += value.reshape(-1)
                        if key not in spec.constant_from:
                            spec.constant_from.append(key)

            push(key, bias, (key,))

    # -- weight nodes as arrays --------------------------------------------------------------
    def in_shape(self, key: str) -> tuple[int, ...]:
        return _shape_of(self.nodes[key].input_type, "input")

    def out_shape(self, key: str) -> tuple[int, ...]:
        return _shape_of(self.nodes[key].output_type, "output")

    def op_bias(self, key: str) -> np.ndarray | None:
        node = self.nodes[key]
        t = _type_name(node)
        if t not in ("Affine", "Conv2d") or getattr(node, "bias", None) is None:
            return None
        b = np.asarray(node.bias, dtype=np.float64)
        if not np.all(np.isfinite(b)):
            raise InteropError(f"node {self.describe(key)}: the bias holds NaN or infinite values")
        if not np.any(b != 0):
            return None
        out = self.out_shape(key)
        if t == "Conv2d":
            b = np.broadcast_to(b.reshape(-1, 1, 1), out) if b.size == out[0] else np.broadcast_to(b, out)
        return np.ascontiguousarray(np.broadcast_to(b, out), dtype=np.float64)

    def weight(self, key: str) -> np.ndarray:
        node = self.nodes[key]
        w = np.asarray(node.weight)
        if not np.issubdtype(w.dtype, np.floating):
            w = w.astype(np.float64)
        if not np.all(np.isfinite(w)):
            raise InteropError(f"node {self.describe(key)}: the weights hold NaN or infinite values")
        return w

    def conv_geometry(self, key: str) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]],
                                                tuple[int, int], int]:
        """stride, ((top, bottom), (left, right)) padding, dilation, groups of a Conv2d."""
        node = self.nodes[key]
        stride = _pair(node.stride, "stride", key)
        dilation = _pair(node.dilation, "dilation", key)
        groups = int(np.asarray(node.groups).reshape(-1)[0])
        kh, kw = np.asarray(node.weight).shape[2:]
        pad = node.padding
        if isinstance(pad, bytes):
            pad = pad.decode()
        if isinstance(pad, str):
            if pad == "valid":
                p = ((0, 0), (0, 0))
            else:  # 'same', as PyTorch: the extra row/column of an even kernel goes last
                tot = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
                p = ((tot[0] // 2, tot[0] - tot[0] // 2), (tot[1] // 2, tot[1] - tot[1] // 2))
        else:
            py, px = _pair(pad, "padding", key)
            p = ((py, py), (px, px))
        return stride, p, dilation, groups

    def pool_geometry(self, key: str) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        node = self.nodes[key]
        return (_pair(node.kernel_size, "kernel_size", key), _pair(node.stride, "stride", key),
                _pair(node.padding, "padding", key))

    def apply(self, key: str, x: np.ndarray) -> np.ndarray:
        """The linear part of a weight node on a batch ``[B, *in_shape]``."""
        node = self.nodes[key]
        t = _type_name(node)
        b = x.shape[0]
        out = (b, *self.out_shape(key))
        if t in ("Affine", "Linear"):
            w = self.weight(key)
            if w.ndim != 2:
                raise InteropError(f"node {self.describe(key)}: weights of {w.ndim} dimensions; "
                                   "neurocomp reads [out, in] matrices")
            return (x.reshape(b, -1) @ w.T.astype(np.float64)).reshape(out)
        if t == "Scale":
            return (x * np.asarray(node.scale, dtype=np.float64)).reshape(out)
        if t == "Conv2d":
            stride, pad, dilation, groups = self.conv_geometry(key)
            return _conv(x.reshape(b, *self.in_shape(key)), self.weight(key).astype(np.float64),
                         stride, pad, dilation, groups)
        if t in ("SumPool2d", "AvgPool2d"):
            size, stride, padding = self.pool_geometry(key)
            c = self.in_shape(key)[0]
            ones = np.ones((c, 1, *size), dtype=np.float64)
            if t == "AvgPool2d":
                ones /= size[0] * size[1]  # padding counts in the divisor, as PyTorch's default
            pad = ((padding[0], padding[0]), (padding[1], padding[1]))
            return _conv(x.reshape(b, *self.in_shape(key)), ones, stride, pad, (1, 1), c)
        return x.reshape(out)  # Flatten, Delay, pass-through: the flat order never changes

    # -- projections ------------------------------------------------------------------------
    def projections(self, paths: list[_Path], targets: dict[str, _Spec]) -> tuple[Projection, ...]:
        def order(p: _Path) -> tuple[int, int, int]:
            first = self.index[p.ops[0]] if p.ops else self.index[p.sink]
            return first, self.index[p.source], self.index[p.sink]

        made: list[Projection] = []
        taken: set[str] = set()
        for path in sorted(paths, key=order):
            pre, post = self.pop_name(path.source), self.pop_name(path.sink)
            name = self.projection_name(self.name_of(path), pre, post, taken)
            taken.add(name)
            made.append(self.projection(path, targets[path.sink], name))
        return tuple(made)

    def name_of(self, path: _Path) -> str:
        """The chain's first weight node (or its recorded neurocomp name)."""
        named = [op for op in path.ops if _type_name(self.nodes[op]) in _WEIGHTS] or list(path.ops)
        if not named:
            return f"{self.pop_name(path.source)}->{self.pop_name(path.sink)}"
        recorded = _meta(self.nodes[named[0]]).get("neurocomp_name")
        return recorded if isinstance(recorded, str) and recorded else named[0]

    @staticmethod
    def projection_name(name: str, pre: str, post: str, taken: set[str]) -> str:
        """An identifier, or the DSL's default ``pre->post`` form where it is the default."""
        base = f"{pre}->{post}"
        default, k = base, 1
        while default in taken:
            k += 1
            default = f"{base}#{k}"
        if name == default:
            return name
        name = _identifier(name)
        for candidate in (name, f"{name}_{post}"):
            if candidate not in taken:
                return candidate
        k = 2
        while f"{name}_{k}" in taken:
            k += 1
        return f"{name}_{k}"

    def projection(self, path: _Path, target: _Spec, name: str) -> Projection:
        pre_key, post_key = path.source, path.sink
        pre = (self.pop_name(pre_key), _shape_of(self.nodes[pre_key].output_type, "output"))
        post = (self.pop_name(post_key), target.shape)
        weights = [op for op in path.ops if _type_name(self.nodes[op]) in _WEIGHTS]
        where = f"the chain {' -> '.join((pre_key, *path.ops, post_key))}"
        connector = self.connector(path, weights, target.gain, pre, post, name, where)
        delay = self.delay(path, connector, pre, post, name, where)
        problem = connector.check_shapes(pre[1], post[1])
        if problem:
            raise InteropError(f"{where}: {problem}")
        return Projection(name=name, pre=pre[0], post=post[0], connector=connector, delay_steps=delay)

    def file(self, name: str, what: str) -> str:
        return f"{self.data_dir}/{_identifier(name)}.{what}.npy"

    def connector(self, path: _Path, weights: list[str], gain: np.ndarray, pre: tuple[str, tuple[int, ...]],
                  post: tuple[str, tuple[int, ...]], name: str, where: str) -> cn.Connector:
        n_pre = int(np.prod(pre[1], dtype=np.int64))
        n_post = int(np.prod(post[1], dtype=np.int64))
        unit = bool(np.all(gain == 1.0))
        kinds = [_type_name(self.nodes[w]) for w in weights]
        if not weights:  # an identity chain: one to one, weighted by the gain
            if np.all(gain == gain[0]):
                return cn.OneToOne(weight=float(gain[0]) + 0.0)
            return cn.OneToOne(weight=ArrayValue(gain.copy(), self.file(name, "weight")))
        if kinds == ["Scale"]:
            s = np.broadcast_to(np.asarray(self.nodes[weights[0]].scale, dtype=np.float64),
                                self.in_shape(weights[0])).reshape(-1) * gain
            if np.all(s == s[0]):
                return cn.OneToOne(weight=float(s[0]) + 0.0)
            return cn.OneToOne(weight=ArrayValue(s.copy(), self.file(name, "weight")))
        if kinds in (["Affine"], ["Linear"]):
            w = self.weight(weights[0])
            if w.ndim == 2 and w.shape == (n_post, n_pre):
                if not unit:
                    w = w.astype(np.float64) * gain[:, None]
                return cn.Dense(weights=ArrayValue(w.copy(), self.file(name, "weight")))
        if kinds == ["Conv2d"]:
            conv = self.conv_connector(weights[0], gain, pre[1], post[1], name)
            if conv is not None:
                return conv
        if kinds in (["SumPool2d"], ["AvgPool2d"]):
            size, stride, padding = self.pool_geometry(weights[0])
            pool = cn.Pool2d(kind="sum" if kinds[0] == "SumPool2d" else "avg", size=size, stride=stride)
            if unit and padding == (0, 0) and pool.check_shapes(pre[1], post[1]) is None:
                return pool
            conv = self.pool_as_conv(weights[0], gain, pre[1], post[1], name)
            if conv is not None:
                return conv
        return self.dense_fallback(path, gain, n_pre, n_post, name, where)

    def per_channel(self, gain: np.ndarray, post: tuple[int, ...]) -> np.ndarray | None:
        """The gain per output channel, when it is uniform within each channel."""
        if len(post) != 3:
            return None
        g = gain.reshape(post)
        if not np.all(g == g[:, :1, :1]):
            return None
        return g[:, 0, 0].copy()

    def conv_connector(self, key: str, gain: np.ndarray, pre: tuple[int, ...], post: tuple[int, ...],
                       name: str) -> cn.Conv2d | None:
        stride, pad, dilation, groups = self.conv_geometry(key)
        if groups != 1 or dilation != (1, 1) or pad[0][0] != pad[0][1] or pad[1][0] != pad[1][1]:
            return None
        g = self.per_channel(gain, post)
        if g is None:
            return None
        kernel = self.weight(key)
        if not np.all(g == 1.0):
            kernel = kernel.astype(np.float64) * g[:, None, None, None]
        conv = cn.Conv2d(kernel=ArrayValue(kernel.copy(), self.file(name, "kernel")), stride=stride,
                         padding=(pad[0][0], pad[1][0]))
        return conv if conv.check_shapes(pre, post) is None else None

    def pool_as_conv(self, key: str, gain: np.ndarray, pre: tuple[int, ...], post: tuple[int, ...],
                     name: str) -> cn.Conv2d | None:
        """Pooling with a gain: a convolution whose kernel is diagonal in the channels."""
        size, stride, padding = self.pool_geometry(key)
        g = self.per_channel(gain, post)
        if g is None or len(pre) != 3:
            return None
        c = pre[0]
        per_tap = 1.0 if _type_name(self.nodes[key]) == "SumPool2d" else 1.0 / (size[0] * size[1])
        kernel = np.zeros((c, c, *size), dtype=np.float64)
        kernel[np.arange(c), np.arange(c)] = (g * per_tap)[:, None, None]
        conv = cn.Conv2d(kernel=ArrayValue(kernel, self.file(name, "kernel")), stride=stride, padding=padding)
        return conv if conv.check_shapes(pre, post) is None else None

    def dense_fallback(self, path: _Path, gain: np.ndarray, n_pre: int, n_post: int, name: str,
                       where: str) -> cn.Dense:
        """Compose the chain into one [post, pre] matrix by pushing the unit vectors through it."""
        widest = max([n_post] + [int(np.prod(self.out_shape(op), dtype=np.int64)) for op in path.ops])
        if n_pre * widest > self.max_dense:
            raise InteropError(
                f"{where} has no single neurocomp connector, and composing it gives a dense matrix "
                f"of {n_pre:,} x {widest:,} entries, above the limit of {self.max_dense:,}",
                hint="put a neuron node between the weight nodes, or raise max_dense_entries")
        x = np.eye(n_pre, dtype=np.float64).reshape(n_pre, *_shape_of(self.nodes[path.source].output_type,
                                                                      "output"))
        for op in path.ops:
            x = self.apply(op, x.reshape(n_pre, *self.in_shape(op)))
        w = x.reshape(n_pre, n_post).T * gain[:, None]
        return cn.Dense(weights=ArrayValue(np.ascontiguousarray(w), self.file(name, "weight")))

    # -- delays -----------------------------------------------------------------------------
    def delay_steps(self, key: str) -> np.ndarray:
        node = self.nodes[key]
        seconds = np.broadcast_to(np.asarray(node.delay, dtype=np.float64), self.in_shape(key)).reshape(-1)
        steps = seconds / self.dt_s
        rounded = np.round(steps)
        if np.any(~np.isfinite(steps)) or np.any(np.abs(steps - rounded) > 1e-6 * np.maximum(1.0, np.abs(steps))):
            bad = seconds[np.argmax(np.abs(steps - rounded))]
            raise InteropError(f"node {self.describe(key)}: the delay {float(bad) * 1000!r} ms is not a "
                               f"whole number of steps of dt = {_fmt(self.dt_ms)} ms",
                               hint="choose a dt that divides every delay")
        if np.any(rounded < 0):
            raise InteropError(f"node {self.describe(key)}: negative delay")
        return rounded

    def delay(self, path: _Path, connector: cn.Connector, pre: tuple[str, tuple[int, ...]],
              post: tuple[str, tuple[int, ...]], name: str, where: str) -> int | ArrayValue:
        """Delay nodes before the first mixing node act per source neuron, after the last per
        target neuron; between two mixing nodes they must be the same for every element."""
        n_pre = int(np.prod(pre[1], dtype=np.int64))
        n_post = int(np.prod(post[1], dtype=np.int64))
        mixing = [i for i, op in enumerate(path.ops) if _type_name(self.nodes[op]) not in _ELEMENTWISE]
        d_pre = np.zeros(n_pre, dtype=np.float64)
        d_post = np.zeros(n_post, dtype=np.float64)
        shared = 0.0
        for i, op in enumerate(path.ops):
            if _type_name(self.nodes[op]) != "Delay":
                continue
            steps = self.delay_steps(op)
            if not mixing or i < mixing[0]:
                d_pre += steps
            elif i > mixing[-1]:
                d_post += steps
            elif np.all(steps == steps[0]):
                shared += steps[0]
            else:
                raise InteropError(f"{where}: the Delay node '{op}' between two weight nodes has "
                                   "different delays per element, which no synapse delay can hold")
        if not mixing:
            total = d_pre + d_post + shared
        elif np.all(d_pre == d_pre[0]) and np.all(d_post == d_post[0]):
            return int(d_pre[0] + d_post[0] + shared) if n_pre and n_post else 0
        elif isinstance(connector, cn.Dense):
            total = d_post[:, None] + d_pre[None, :] + shared
        else:
            raise InteropError(f"{where}: a delay per neuron through a {type(connector).__name__.lower()} "
                               "connector cannot be held as one delay per synapse",
                               hint="use the same delay for every neuron")
        if total.size and np.all(total == total.reshape(-1)[0]):
            return int(total.reshape(-1)[0])
        return ArrayValue(total.copy(), self.file(name, "delay"))


def _conv(x: np.ndarray, w: np.ndarray, stride: tuple[int, int],
          pad: tuple[tuple[int, int], tuple[int, int]], dilation: tuple[int, int], groups: int) -> np.ndarray:
    """Cross-correlation as PyTorch's conv2d: ``x [B, C, H, W]``, ``w [Co, C/groups, kh, kw]``."""
    b, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pad[0], pad[1]))
    ho = (h + sum(pad[0]) - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + sum(pad[1]) - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((b, co, ho, wo), dtype=np.float64)
    og = co // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                y0, x0 = i * dilation[0], j * dilation[1]
                patch = xs[:, :, y0:y0 + stride[0] * (ho - 1) + 1:stride[0],
                           x0:x0 + stride[1] * (wo - 1) + 1:stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("bchw,oc->bohw", patch,
                                                         w[g * og:(g + 1) * og, :, i, j])
    return out
