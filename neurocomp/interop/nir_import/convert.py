"""The importer's door: a NIR graph in, a frozen :class:`~neurocomp.ir.network.Network` out.

:func:`import_nir` checks its arguments, reads and flattens the graph (:mod:`.graph`),
then walks it: every node is looked up in the converter registry (:mod:`.registry`;
the converters live in :mod:`.neurons` and :mod:`.connections`), each neuron node
becomes a population, each chain of op nodes between two of them one projection
(:mod:`.chains`), each Input a spike input and each Output a probe or a read-out. The
walk itself names no NIR type but Input and Output.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...diagnostics import InteropError, UsageError, did_you_mean
from ...ir import encoders as en
from ...ir.network import PROBE_VARIABLES, Network, NeuronModel, Population, Probe, Projection
from ...ir.values import ArrayValue, as_array
from . import chains
from . import connections, neurons  # noqa: F401  (importing them registers their converters)
from .conventions import check_dt, infer_dt_ms, infer_reset
from .depth import start_biases_at_depth
from .resets import RESETS, apply_reset
from .discretise import discretisation
from .graph import Flat, drop_time_axis, flatten, identifier, load_graph, meta, require_nir, type_check
from .neurons import with_metadata
from .registry import NEURONS, OPS, Node, NeuronSpec, Step, apply, kind_of

__all__ = ["import_nir", "DEFAULT_DENSE_LIMIT", "CubaBias"]

#: Largest dense ``[post, pre]`` matrix (entries) built when a chain of weight nodes has
#: no single connector; a memory guard (128 MiB of float64), not a hardware number.
DEFAULT_DENSE_LIMIT = 1 << 24

CubaBias = Literal["error", "steady"]


def import_nir(graph_or_path: Any, dt_ms: float | None = None, *, name: str | None = None,
               method: str | None = None, cuba_bias: CubaBias = "error",
               max_dense_entries: int = DEFAULT_DENSE_LIMIT, reset: str | None = None) -> Network:
    """Turn a NIR graph into a neurocomp :class:`Network` (see :mod:`neurocomp.interop.nir_import`).

    Parameters
    ----------
    graph_or_path
        A ``nir.NIRGraph`` (left unchanged) or the path of a ``.nir`` file.
    dt_ms
        The time step in milliseconds. NIR has none; every time constant and delay is
        discretised with it. ``None``: the step the graph's exporter wrote it for, when
        its conventions tell (:mod:`.conventions`; snnTorch: 0.1 ms), else an error. A step
        that contradicts a recognised exporter's convention is refused, naming the right one.
    name
        The network's name (default: the graph's recorded name, else the file's stem).
    method
        ``"euler"`` (forward Euler) or ``"exp"``; see :data:`DISCRETISATIONS`. Default:
        the exporter's, when ``dt_ms`` is inferred; else ``"euler"``.
    cuba_bias
        A constant input (a bias) into a CubaLIF/CubaLI whose synaptic current decays
        enters that current through a projection from the layer's depth on (exact, as
        NIR filters it); where no input reaches the population (or the graph is
        neurocomp's own), ``"error"`` (default) refuses it and ``"steady"`` adds its
        settled value to the bias.
    max_dense_entries
        Largest ``[post, pre]`` matrix built for a chain of weight nodes that no single
        connector represents.
    reset
        ``"zero"`` (NIR's reset), ``"subtract"`` (Sinabs' default) or ``"subtract-next"``
        (snnTorch's default ``Leaky``); NIR cannot state the last two, see
        :data:`~.resets.RESETS`. ``None``: the reset the recognised exporter's framework
        reads the file back with (Sinabs: ``"subtract"``; snnTorch, whose exporter writes
        the same LIF for every reset, and Norse: ``"zero"``), else ``"zero"``
        (:func:`~.conventions.infer_reset`).

    Returns
    -------
    Network
        ``dt_ms`` as given; arrays are :class:`ArrayValue` with paths
        ``<name>_data/<node>.<param>.npy`` relative to where
        :func:`~neurocomp.ir.write.write_snn` puts the `.snn` file; each Input node reads
        ``<name>_data/<input>.spikes.npz``.

    Raises
    ------
    UsageError
        ``nir`` is missing, a bad ``dt_ms``/``method``/``name``, or no such file.
    InteropError
        A graph that fails NIR's type check, an unsupported node, or a value neurocomp
        cannot represent; the message names the node and says why.
    """
    nir = require_nir()
    if dt_ms is not None and (isinstance(dt_ms, bool)
                              or not isinstance(dt_ms, (int, float, np.floating, np.integer))
                              or not math.isfinite(dt_ms) or dt_ms <= 0):
        raise UsageError(f"dt must be a positive number of milliseconds, got {dt_ms!r}",
                         hint="NIR has no time step; choose the one the model was trained with")
    discretisation(method or "euler")  # a bad name is refused before the file is read
    if reset is not None and reset not in RESETS:
        raise UsageError(f"unknown reset '{reset}'", hint=did_you_mean(reset, RESETS))
    if cuba_bias not in ("error", "steady"):
        raise UsageError(f"cuba_bias must be 'error' or 'steady', got {cuba_bias!r}")
    if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"'{name}' is not a valid network name",
                         hint="letters, digits and '_', not starting with a digit")
    graph, stem = load_graph(nir, graph_or_path)
    type_check(drop_time_axis(nir, graph))
    flat = flatten(nir, graph)
    ours = "neurocomp_network" in flat.metadata  # neurocomp's own export: its dt is in the metadata
    if dt_ms is None:
        recorded_dt = flat.metadata.get("neurocomp_dt_ms")
        if ours and recorded_dt is not None:
            dt_ms = float(recorded_dt)
        else:
            dt_ms, inferred = infer_dt_ms(flat.nodes)
            method = method or inferred
    method = method or "euler"
    if reset is None:
        reset = "zero" if ours else infer_reset(flat.nodes)[0]
    disc = discretisation(method)
    too_long_hint = None if ours else check_dt(flat.nodes, float(dt_ms), method)
    recorded = flat.metadata.get("neurocomp_network")
    net_name = name or identifier(str(recorded) if isinstance(recorded, str) and recorded
                                  else stem or "nir_network")
    importer = _Importer(nir, flat, Step(float(dt_ms), disc, too_long_hint), net_name, cuba_bias,
                         max_dense_entries, currents=not ours)
    net = importer.run()
    # A graph neurocomp wrote keeps neurocomp's timing (biases on from step 0); a graph from a
    # framework that runs every layer within one step gets each bias from its layer's depth,
    # and a constant into a synaptic current enters that current there, as in NIR.
    source = None
    if not ours:
        net, source, unplaced = start_biases_at_depth(
            net, {pop: c.current for pop, c in importer.currents.items()})
        net = importer.settle_unplaced(net, unplaced)
    return apply_reset(net, reset, keep=(source,) if source else ())


@dataclass(frozen=True)
class _Current:
    """A constant input into a population's synaptic current (an Affine/Conv2d bias before a
    CubaLIF): ``current`` per step, flat; ``steady`` its settled value as a voltage bias."""

    current: np.ndarray
    steady: np.ndarray
    node: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class _Path:
    """A chain from a neuron or input node through op nodes to a neuron or output node."""

    source: str
    ops: tuple[str, ...]
    sink: str


class _Importer:
    """One import's walk over the flat graph (its state: the population names given so far)."""

    def __init__(self, nir: Any, flat: Flat, step: Step, name: str, cuba_bias: str, max_dense: int,
                 currents: bool = False) -> None:
        self.nodes = {k: Node(k, obj) for k, obj in flat.nodes.items()}
        self.step = step
        self.name = name
        self.data_dir = f"{name}_data"
        self.cuba_bias = cuba_bias
        self.max_dense = max_dense
        self.index = {k: i for i, k in enumerate(self.nodes)}
        self.succ: dict[str, list[str]] = {k: [] for k in self.nodes}
        for a, b in flat.edges:
            self.succ[a].append(b)
        self.kind = {k: self._classify(nir, node) for k, node in self.nodes.items()}
        self.pop_names: dict[str, str] = {}
        self._taken_pops: set[str] = set()
        # constants into a synaptic current, per population, when they may ride on a projection
        self.take_currents = currents
        self.currents: dict[str, _Current] = {}

    @staticmethod
    def _classify(nir: Any, node: Node) -> str:
        if isinstance(node.obj, nir.Input):
            return "input"
        if isinstance(node.obj, nir.Output):
            return "output"
        return kind_of(node)

    def spiking(self, key: str) -> bool:
        """Whether the node's output is spikes (an input, or a spiking neuron)."""
        if self.kind[key] == "input":
            return True
        found = NEURONS.get(self.nodes[key].type_name)
        return found is not None and found.spiking

    def pop_name(self, key: str) -> str:
        if key not in self.pop_names:
            base = identifier(key)
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
        readouts: dict[str, NeuronSpec] = {}
        for key, kind in self.kind.items():
            if kind == "output":
                self.output(key, by_sink.get(key, []), probes, readouts)
        targets = {**specs, **readouts}
        constants = self.constants(targets)

        populations: dict[str, Population] = {}
        for key, kind in self.kind.items():
            if kind == "input":
                populations[self.pop_name(key)] = self.input_population(key)
            elif key in specs:
                populations[self.pop_name(key)] = self.neuron_population(specs[key], *constants[key])
            elif key in readouts:
                populations[self.pop_name(key)] = self.neuron_population(readouts[key], *constants[key])
        projections = self.projections([p for p in paths if p.sink in targets], targets)
        probe_list = tuple(Probe(population=pop, variables=tuple(v)) for pop, v in probes.items() if v)
        return Network(name=self.name, dt_ms=self.step.dt_ms, populations=populations,
                       projections=projections, probes=probe_list, base_dir=Path())

    # -- neurons --------------------------------------------------------------------------
    def neuron_spec(self, key: str) -> NeuronSpec:
        node = self.nodes[key]
        return with_metadata(NEURONS[node.type_name].spec(node, self.step), node)

    def neuron_population(self, spec: NeuronSpec, constant: np.ndarray, constant_from: list[str]) -> Population:
        """The population, its bias = ``h·v_leak`` plus the constants arriving times the gain."""
        pop = self.pop_name(spec.node)
        has_const = constant != 0
        if spec.cuba and np.any(has_const & (spec.alpha != 0)):
            # the settled current is gain·c / (1 - alpha): the bias cuba_bias='steady' adds
            with np.errstate(invalid="ignore", divide="ignore"):
                steady = np.where(has_const, spec.gain / np.where(spec.alpha != 0, 1.0 - spec.alpha, 1.0)
                                  * constant, 0.0)
                current = np.where(has_const, spec.gain * constant, 0.0)
            found = _Current(current, steady, spec.node, tuple(constant_from))
            if self.take_currents:  # it enters the current through a projection (convert.import_nir)
                self.currents[pop] = found
                bias = spec.leak_bias
            else:
                bias = spec.leak_bias + self.steady_or_refuse(found)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                bias = spec.leak_bias + np.where(has_const, spec.gain * constant, 0.0)
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
                raise InteropError(f"node {self.nodes[spec.node].describe()}: {decay} = "
                                   f"{float(values[(values < 0) | (values > 1)][0])!r} is outside [0, 1]")
        return Population(name=pop, shape=shape, neuron=model)

    def steady_or_refuse(self, found: _Current) -> np.ndarray:
        """The settled value of a constant that cannot enter the current where NIR has it
        (``cuba_bias='steady'``), else the error that says so."""
        if self.cuba_bias == "error":
            raise InteropError(
                f"node {self.nodes[found.node].describe()} receives a constant input (the bias of "
                f"{', '.join(repr(k) for k in found.sources)}) into its synaptic current, and no input "
                "reaches it to start that constant with (or the graph is neurocomp's own): NIR filters "
                "it through tau_syn, so it builds up over the first steps, while a neurocomp bias is "
                "added to the voltage in full from step 0",
                hint="pass cuba_bias='steady' (CLI: --cuba-bias steady) to add its settled value "
                     "(w_in*r*h_mem*b) as the bias, or remove the bias from the model")
        return found.steady

    def settle_unplaced(self, net: Network, unplaced: tuple[str, ...]) -> Network:
        """``net`` with the constants that no projection could carry (:func:`start_biases_at_depth`
        found no input reaching their population) added as settled biases, or refused."""
        populations = dict(net.populations)
        for pop in unplaced:
            found = self.currents[pop]
            p = populations[pop]
            bias = np.asarray(as_array(p.neuron.bias, p.size), dtype=np.float64) + self.steady_or_refuse(found)
            populations[pop] = dataclasses.replace(p, neuron=dataclasses.replace(
                p.neuron, bias=self.value(bias, p.shape, pop, "bias")))
        return dataclasses.replace(net, populations=populations) if unplaced else net

    def value(self, flat: np.ndarray, shape: tuple[int, ...], pop: str, param: str) -> float | ArrayValue:
        """A scalar when every neuron has the same value, else an array file."""
        flat = np.asarray(flat, dtype=np.float64).reshape(-1)
        if flat.size and np.all(flat == flat[0]):
            return float(flat[0]) + 0.0  # +0.0 turns -0.0 into 0.0
        return ArrayValue(flat.reshape(shape).copy(), f"{self.data_dir}/{pop}.{param}.npy")

    def input_population(self, key: str) -> Population:
        pop = self.pop_name(key)
        path = f"{self.data_dir}/{pop}.spikes.npz"
        empty = en.SpikeFile(times=np.zeros(0, dtype=np.int64), indices=np.zeros(0, dtype=np.int64),
                             path=path)
        return Population(name=pop, shape=self.nodes[key].out_shape, encoder=empty)

    # -- outputs ---------------------------------------------------------------------------
    def output(self, key: str, paths: list[_Path], probes: dict[str, list[str]],
               readouts: dict[str, NeuronSpec]) -> None:
        """A probe on the node feeding the Output, or a read-out of a weighted sum."""
        if self.succ[key]:
            raise InteropError(f"Output node '{key}' has outgoing edges (to '{self.succ[key][0]}')",
                               hint="an Output ends the graph")
        wanted = meta(self.nodes[key].obj).get("neurocomp_probe")
        if len(paths) == 1 and not paths[0].ops:
            src = paths[0].source
            if isinstance(wanted, str):
                variables = [v for v in wanted.split(",") if v]
                bad = [v for v in variables if v not in PROBE_VARIABLES]
                if bad:
                    raise InteropError(f"Output node '{key}': metadata neurocomp_probe names '{bad[0]}'",
                                       hint=did_you_mean(bad[0], PROBE_VARIABLES))
            else:
                variables = ["spikes"] if self.spiking(src) else ["voltage"]
            if self.kind[src] == "input" and set(variables) - {"spikes"}:
                raise InteropError(f"Output node '{key}': only the spikes of the input '{src}' can be probed")
            have = probes.setdefault(self.pop_name(src), [])
            have += [v for v in variables if v not in have]
            return
        if not paths:
            return
        # Weighted sums of spikes: a read-out that holds the sum each step (beta = 0).
        shape = self.nodes[key].in_shape
        n = int(np.prod(shape, dtype=np.int64))
        zeros = np.zeros(n, dtype=np.float64)
        readouts[key] = NeuronSpec(key, shape, "li", zeros, zeros, zeros, np.ones(n, dtype=np.float64), zeros)
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
        spiking = self.spiking(src)

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
                            f"node {self.nodes[src].describe()} drives {self.nodes[nxt].describe()}, but "
                            f"{self.nodes[src].type_name} never spikes and neurocomp passes only spikes "
                            "between populations",
                            hint="a non-spiking node (LI, CubaLI, I) can only feed an Output as a read-out")
                    out.append(_Path(src, ops, nxt))

        go(src, ())
        return out

    def constants(self, targets: dict[str, NeuronSpec]) -> dict[str, tuple[np.ndarray, list[str]]]:
        """Every Affine/Conv2d bias, carried through the later nodes, summed per target
        (flat, before the gain), with the op nodes it came from."""
        summed = {key: (np.zeros(spec.size, dtype=np.float64), []) for key, spec in targets.items()}
        for key, kind in self.kind.items():
            if kind != "op":
                continue
            bias_of = OPS[self.nodes[key].type_name].bias
            bias = bias_of(self.nodes[key]) if bias_of is not None else None
            if bias is None:
                continue

            def push(node: str, value: np.ndarray, seen: tuple[str, ...]) -> None:
                for nxt in self.succ[node]:
                    if self.kind[nxt] == "op":
                        if nxt in seen:
                            raise InteropError(f"the cycle {' -> '.join(seen[seen.index(nxt):] + (nxt,))} "
                                               "has no neuron node in it (an algebraic loop)")
                        push(nxt, apply(self.nodes[nxt], value[None])[0], seen + (nxt,))
                    elif nxt in summed:
                        total, sources = summed[nxt]
                        total += value.reshape(-1)
                        if key not in sources:
                            sources.append(key)

            push(key, bias, (key,))
        return summed

    # -- projections ------------------------------------------------------------------------
    def projections(self, paths: list[_Path], targets: dict[str, NeuronSpec]) -> tuple[Projection, ...]:
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
        named = [op for op in path.ops if OPS[self.nodes[op].type_name].weight] or list(path.ops)
        if not named:
            return f"{self.pop_name(path.source)}->{self.pop_name(path.sink)}"
        recorded = meta(self.nodes[named[0]].obj).get("neurocomp_name")
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
        name = identifier(name)
        for candidate in (name, f"{name}_{post}"):
            if candidate not in taken:
                return candidate
        k = 2
        while f"{name}_{k}" in taken:
            k += 1
        return f"{name}_{k}"

    def projection(self, path: _Path, target: NeuronSpec, name: str) -> Projection:
        source = self.nodes[path.source]
        pre, post = source.out_shape, target.shape
        ops = [self.nodes[op] for op in path.ops]
        where = f"the chain {' -> '.join((path.source, *path.ops, path.sink))}"

        def file(what: str) -> str:
            return f"{self.data_dir}/{identifier(name)}.{what}.npy"

        connector = chains.connector(ops, source, target.gain, pre, post, file, self.max_dense, where)
        delay = chains.delay(ops, connector, pre, post, self.step, file, where)
        problem = connector.check_shapes(pre, post)
        if problem:
            raise InteropError(f"{where}: {problem}")
        return Projection(name=name, pre=self.pop_name(path.source), post=self.pop_name(path.sink),
                          connector=connector, delay_steps=delay)
