"""Export a :class:`~neurocomp.ir.network.Network` as a NIR graph, and write `.nir` files.

Input: a Network (its ``dt_ms`` is the step the discretisation is inverted with).
Output: a ``nir.NIRGraph`` that NIR type-checks, and that :func:`import_nir` with the same
``dt`` and method turns back into the same network: populations, neuron parameters,
projections and delays compare equal (``network_diff``), except what NIR has no place
for, listed below. The network is not changed.

How each part becomes NIR (the inverse of :mod:`neurocomp.interop.nir_import`):

* an input population: ``Input`` of its shape (NIR has no encoders; the re-import reads
  an empty spike file in its place);
* ``LIF`` with ``alpha = 0``: ``LIF``; with ``alpha > 0``: ``CubaLIF``; ``IF``: ``IF``;
  ``LI``: ``LI``, ``CubaLI``, or ``I`` when ``beta = 1``. Time constants are chosen so the
  discretisation gives back ``beta``/``alpha`` exactly (``tau = dt / (1 - beta)`` for
  Euler, then the nearest float that rounds back), ``r`` (and ``w_in``) so that the
  input gain is exactly 1, and ``v_leak`` so that ``h·v_leak`` is the bias. ``IF`` and
  ``I`` have no ``v_leak``: their bias rides on an incoming ``Affine`` (or ``Conv2d``)
  bias;
* ``dense``: ``Linear`` (after a ``Flatten`` when the source is not flat);
  ``one_to_one``: ``Scale``; ``conv2d``: ``Conv2d``; ``sum_pool``/``avg_pool``:
  ``SumPool2d``/``AvgPool2d``; ``all_to_all``, ``random`` and ``sparse`` (NIR has no
  sparse weights): the lowered synapses as a dense ``Linear``, up to
  ``max_dense_entries``;
* a delay: a ``Delay`` node (``delay = steps · dt``), after the weights when it is one
  per target neuron, before them when it is one per source neuron;
* a probe: an ``Output`` node; a population nothing reads gets one too (so NIR does not
  invent one).

NIR cannot express a subtractive or no reset, a refractory period, chip-native
settings, or a ``LIF``/``LI`` with a synaptic current and ``beta = 1``. The first two
raise an :class:`InteropError` unless ``extensions=True``, which writes them into the
node's ``metadata`` (``neurocomp_reset``, ``neurocomp_refractory_steps``): neurocomp reads
them back; other tools ignore them and reset to ``v_reset = 0``. Names and probe
variables travel in metadata too (``neurocomp_name``, ``neurocomp_probe``,
``neurocomp_order``, ``neurocomp_network``, ``neurocomp_dt_ms``), harmless elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..diagnostics import InteropError, UsageError
from ..ir import connectors as cn
from ..ir.network import Network, Population, Projection
from ..ir.values import ArrayValue, as_array
from .nir_import import DEFAULT_DENSE_LIMIT, Discretisation, discretisation, require_nir

__all__ = ["export_nir", "write_nir"]


def export_nir(network: Network, *, method: str = "euler", extensions: bool = False,
               max_dense_entries: int = DEFAULT_DENSE_LIMIT) -> Any:
    """A ``nir.NIRGraph`` of ``network`` (see the module docstring).

    Parameters
    ----------
    network
        The network; its ``dt_ms`` sets the time constants.
    method
        The discretisation to invert, as :func:`~neurocomp.interop.nir_import.import_nir`
        will apply it: ``"euler"`` (default) or ``"exp"``.
    extensions
        Keep a subtractive/no reset and a refractory period in node metadata instead of
        refusing them.
    max_dense_entries
        Largest ``[post, pre]`` matrix written for a connector NIR has no node for.

    Returns
    -------
    nir.NIRGraph
        Type-checked by NIR.

    Raises
    ------
    UsageError
        ``nir`` is not installed, or a bad ``method``.
    InteropError
        A part of the network NIR cannot carry; the message names the population or
        projection and says why.
    """
    nir = require_nir()
    return _Exporter(nir, network, discretisation(method), extensions, max_dense_entries).run()


def write_nir(network: Network, out_path: str | Path, *, overwrite: bool = False,
              method: str = "euler", extensions: bool = False,
              max_dense_entries: int = DEFAULT_DENSE_LIMIT) -> Path:
    """Export ``network`` and write it with ``nir.write``; returns the path written.

    Raises a :class:`UsageError` when the file exists and ``overwrite`` is false.
    """
    nir = require_nir()
    out = Path(out_path)
    if out.exists() and not overwrite:
        raise UsageError(f"'{out}' already exists; not overwriting it",
                         hint="choose another output name, or overwrite (--force)")
    graph = export_nir(network, method=method, extensions=extensions,
                       max_dense_entries=max_dense_entries)
    from ..atomic import write_by_name

    return write_by_name(out, lambda tmp: nir.write(tmp, graph))


# -- exact inversion of the discretisation -------------------------------------------------


def _solve(f: Callable[[np.ndarray], np.ndarray], target: np.ndarray, guess: np.ndarray,
           tries: int = 64) -> np.ndarray:
    """Floats near ``guess`` for which ``f`` gives exactly ``target`` (elementwise).

    The importer computes ``f`` with the same float operations, so a hit means the
    round trip is exact; where no float within ``tries`` ulps hits, the guess stays
    (off by rounding only).
    """
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = np.array(guess, dtype=np.float64)
        hit = f(x) == target
        up, down = x.copy(), x.copy()
        for _ in range(tries):
            if hit.all():
                break
            up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
            for cand in (up, down):
                ok = ~hit & (f(cand) == target)
                x[ok] = cand[ok]
                hit |= ok
    return x


class _Exporter:
    def __init__(self, nir: Any, network: Network, disc: Discretisation, extensions: bool,
                 max_dense: int) -> None:
        self.nir = nir
        self.net = network
        self.disc = disc
        self.extensions = extensions
        self.max_dense = max_dense
        self.dt_s = network.dt_ms / 1000.0
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.pending_bias: dict[str, np.ndarray] = {}

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.nodes:
            k += 1
            name = f"{base}_{k}"
        return name

    def run(self) -> Any:
        nir = self.nir
        for pop in self.net.populations.values():
            if pop.native:
                raise InteropError(f"population '{pop.name}' has chip-native settings (native "
                                   f"{', '.join(pop.native)}), which NIR cannot carry",
                                   where=f"population '{pop.name}'", span=pop.span,
                                   hint="remove the native block to export the network")
            if pop.is_input:
                self.nodes[pop.name] = nir.Input(input_type=np.array(pop.shape))
            else:
                self.nodes[pop.name] = self.neuron(pop)
        for proj in self.net.projections:
            if proj.learning is not None:
                raise InteropError(f"projection '{proj.name}' learns ('learn' clause), and NIR has no "
                                   "node for plasticity", where=f"projection '{proj.name}'",
                                   span=proj.learning.span,
                                   hint="export the learned network: save the run's final_weights and "
                                        "give them to dense(weights = ...) without 'learn' (docs/learning.md)")
            self.projection(proj)
        for pop_name, bias in self.pending_bias.items():
            pop = self.net.populations[pop_name]
            raise InteropError(
                f"population '{pop_name}' ({pop.neuron.family.upper() if pop.neuron else ''}) has a bias, "
                "and NIR's IF and I nodes have no leak voltage to hold it; it can ride on an incoming "
                "dense or conv2d projection (as its Affine/Conv2d bias), but this population has none "
                "that can carry it", where=f"population '{pop_name}'", span=pop.span,
                hint="give it a dense projection, or a leak (LIF with beta < 1 takes a bias)")
        probed = {p.population: p.variables for p in self.net.probes}
        for probe in self.net.probes:
            self.output(probe.population, probe.variables)
        sources = {a for a, _ in self.edges}
        for name in self.net.populations:
            if name not in sources and name not in probed:
                self.output(name, ())
        graph = nir.NIRGraph(nodes=self.nodes, edges=self.edges, type_check=False,
                             metadata={"neurocomp_network": self.net.name,
                                       "neurocomp_dt_ms": float(self.net.dt_ms),
                                       "neurocomp_discretisation": self.disc.name})
        try:
            graph.infer_types()
            graph.check_types()
        except (ValueError, AssertionError, NotImplementedError, TypeError) as exc:
            raise InteropError(f"NIR rejects the exported graph of '{self.net.name}': {exc}",
                               hint="a population whose shape differs from the flat output of "
                                    "its dense or one_to_one projection cannot be reshaped in NIR") from None
        graph.metadata["neurocomp_order"] = " ".join(graph.nodes)
        return graph

    def output(self, pop: str, variables: tuple[str, ...]) -> None:
        shape = self.net.populations[pop].shape
        key = self.unique(f"{pop}_out")
        self.nodes[key] = self.nir.Output(output_type=np.array(shape),
                                          metadata={"neurocomp_probe": ",".join(variables)})
        self.edges.append((pop, key))

    # -- neurons ----------------------------------------------------------------------------
    def tau(self, decay: np.ndarray) -> np.ndarray:
        """tau (s) whose step fraction h gives ``1 - h == decay`` exactly."""
        dt = self.dt_s
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.disc.name == "euler":
                guess = dt / (1.0 - decay)
            else:
                guess = np.where(decay == 0, dt / 1000.0, -dt / np.log(decay))
        guess = np.where(decay == 1, np.inf, guess)
        return _solve(lambda tau: 1.0 - self.disc.h(tau, dt), decay, guess)

    def unit_gain(self, h: np.ndarray) -> np.ndarray:
        """The factor ``r`` (or ``w_in``) with ``r·h == 1`` exactly."""
        with np.errstate(divide="ignore"):
            return _solve(lambda r: r * h, np.ones_like(h), 1.0 / h)

    def reset_metadata(self, pop: Population) -> dict:
        m = pop.neuron
        assert m is not None
        meta: dict = {}
        problems = []
        if m.family != "li" and m.reset != "zero":
            problems.append((f"reset = {m.reset}", "NIR resets the voltage to v_reset"))
            meta["neurocomp_reset"] = m.reset
        if m.family != "li" and m.refractory_steps:
            problems.append((f"a refractory period of {m.refractory_steps} steps", "NIR has none"))
            meta["neurocomp_refractory_steps"] = np.int64(m.refractory_steps)
        if problems and not self.extensions:
            what, why = problems[0]
            raise InteropError(f"population '{pop.name}' has {what}, which NIR cannot express ({why})",
                               where=f"population '{pop.name}'", span=pop.span,
                               hint="export with extensions=True (CLI: --extensions) to keep it in the "
                                    "node's metadata: neurocomp reads it back, other NIR tools reset to 0")
        return meta

    def neuron(self, pop: Population) -> Any:
        nir, m, n, shape = self.nir, pop.neuron, pop.size, pop.shape
        assert m is not None
        meta = self.reset_metadata(pop)
        alpha, beta = as_array(m.alpha, n), as_array(m.beta, n)
        thr, bias = as_array(m.threshold, n), as_array(m.bias, n)
        zeros = np.zeros(n, dtype=np.float64)

        def s(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(x, dtype=np.float64).reshape(shape)

        def refuse(why: str) -> InteropError:
            return InteropError(f"population '{pop.name}' ({m.family.upper()}): {why}",
                                where=f"population '{pop.name}'", span=pop.span)

        cuba = bool(np.any(alpha != 0))
        no_leak = beta == 1
        if cuba and np.any(no_leak):
            raise refuse("a synaptic current (alpha > 0) without a membrane leak (beta = 1) has no NIR "
                         "node: CubaLIF/CubaLI always leak, and their input gain r*h_mem is 0 at beta = 1")
        if np.any(no_leak) and not np.all(no_leak):
            raise refuse("some neurons leak (beta < 1) and some do not (beta = 1); NIR needs one node type "
                         "per population")
        if m.family == "if" or (not cuba and np.all(no_leak)):
            # No leak: NIR IF (spiking) or I (read-out); the bias rides on an incoming Affine.
            if np.any(bias != 0):
                self.pending_bias[pop.name] = bias
            r = s(self.unit_gain(np.full(n, self.dt_s)))
            if m.family == "li":
                return nir.I(r=r)
            return nir.IF(r=r, v_threshold=s(thr), v_reset=s(zeros), metadata=meta)
        tau_mem = self.tau(beta)
        h_mem = self.disc.h(tau_mem, self.dt_s)
        r = self.unit_gain(h_mem)
        v_leak = _solve(lambda v: h_mem * v, bias, bias / h_mem)
        if not np.all(np.isfinite(tau_mem[beta < 1])) or not np.all(np.isfinite(r)):
            raise refuse("no finite NIR time constant reproduces its decay")
        if cuba:
            tau_syn = self.tau(alpha)
            w_in = self.unit_gain(self.disc.h(tau_syn, self.dt_s))
            if not np.all(np.isfinite(w_in)):
                raise refuse("alpha = 1 (a current that never decays) gives NIR's CubaLIF an input "
                             "gain of 0")
            if m.family == "li":
                return nir.CubaLI(tau_syn=s(tau_syn), tau_mem=s(tau_mem), r=s(r), v_leak=s(v_leak),
                                  w_in=s(w_in))
            return nir.CubaLIF(tau_syn=s(tau_syn), tau_mem=s(tau_mem), r=s(r), v_leak=s(v_leak),
                               v_threshold=s(thr), v_reset=s(zeros), w_in=s(w_in), metadata=meta)
        if m.family == "li":
            return nir.LI(tau=s(tau_mem), r=s(r), v_leak=s(v_leak))
        return nir.LIF(tau=s(tau_mem), r=s(r), v_leak=s(v_leak), v_threshold=s(thr), v_reset=s(zeros),
                       metadata=meta)

    # -- projections ------------------------------------------------------------------------
    def refuse(self, proj: Projection, why: str, hint: str | None = None) -> InteropError:
        return InteropError(f"projection '{proj.name}' ({proj.pre} -> {proj.post}): {why}",
                            where=f"projection '{proj.name}'", span=proj.span, hint=hint)

    def projection(self, proj: Projection) -> None:
        nir = self.nir
        if proj.native:
            raise self.refuse(proj, f"chip-native settings (native {', '.join(proj.native)}) cannot "
                                    "be carried by NIR", hint="remove the native block to export")
        pre = self.net.populations[proj.pre]
        post = self.net.populations[proj.post]
        conn = proj.connector
        meta = {"neurocomp_name": proj.name}
        flat_in = False  # a Flatten goes before a matrix when the source is not flat
        delay = proj.delay_steps
        if isinstance(conn, cn.Dense):
            w = np.asarray(conn.weights.values)
            op = self.matrix(proj, w, meta)
            flat_in = len(pre.shape) != 1
            mask = w != 0
        elif isinstance(conn, cn.OneToOne):
            scale = as_array(conn.weight, pre.size).reshape(pre.shape)
            op = nir.Scale(scale=scale, metadata=meta)
            mask = scale.reshape(-1) != 0
        elif isinstance(conn, cn.Conv2d):
            kernel = np.asarray(conn.kernel.values)
            bias = self.channel_bias(proj, post, kernel.shape[0])
            op = nir.Conv2d(input_shape=tuple(pre.shape[1:]), weight=kernel, stride=conn.stride,
                            padding=conn.padding, dilation=(1, 1), groups=1,
                            bias=bias if bias is not None else np.zeros(kernel.shape[0]), metadata=meta)
            mask = kernel != 0
        elif isinstance(conn, cn.Pool2d):
            if conn.kind == "max":
                raise self.refuse(proj, "max_pool has no NIR node (NIR pools by sum or average)",
                                  hint="export a network without max pooling")
            kind = nir.SumPool2d if conn.kind == "sum" else nir.AvgPool2d
            op = kind(kernel_size=np.array(conn.size), stride=np.array(conn.stride),
                      padding=np.array([0, 0]), metadata=meta)
            mask = None
        else:  # all_to_all, random, sparse: NIR has no sparse weights, so a dense matrix
            w, delay, mask = self.lowered(proj, pre, post)
            op = self.matrix(proj, w, meta)
            flat_in = len(pre.shape) != 1
        before, after = self.delays(proj, delay, mask, pre, post)
        chain = []
        if before is not None:
            chain.append((f"{proj.name}_delay", nir.Delay(delay=before.reshape(pre.shape))))
        if flat_in:
            chain.append((f"{proj.name}_flatten",
                          nir.Flatten(input_type={"input": np.array(pre.shape)}, start_dim=0, end_dim=-1)))
        chain.append((proj.name, op))
        if after is not None:
            out_shape = post.shape if isinstance(conn, (cn.OneToOne, cn.Conv2d, cn.Pool2d)) else (post.size,)
            chain.append((f"{proj.name}_delay", nir.Delay(delay=after.reshape(out_shape))))
        prev = proj.pre
        for base, node in chain:
            key = self.unique(base)
            self.nodes[key] = node
            self.edges.append((prev, key))
            prev = key
        self.edges.append((prev, proj.post))

    def matrix(self, proj: Projection, w: np.ndarray, meta: dict) -> Any:
        """A Linear, or an Affine when it carries the target's bias."""
        bias = self.pending_bias.pop(proj.post, None)
        if bias is not None:
            return self.nir.Affine(weight=w, bias=bias, metadata=meta)
        return self.nir.Linear(weight=w, metadata=meta)

    def channel_bias(self, proj: Projection, post: Population, channels: int) -> np.ndarray | None:
        """The target's pending bias as a per-channel conv bias, when it is one."""
        bias = self.pending_bias.get(proj.post)
        if bias is None or len(post.shape) != 3:
            return None
        b = bias.reshape(post.shape)
        if not np.all(b == b[:, :1, :1]):
            return None
        del self.pending_bias[proj.post]
        return b[:, 0, 0].copy()

    def lowered(self, proj: Projection, pre: Population, post: Population) \
            -> tuple[np.ndarray, int | np.ndarray, np.ndarray]:
        from ..compiler.lower import lower_projection

        if pre.size * post.size > self.max_dense:
            raise self.refuse(proj, f"{type(proj.connector).__name__.lower()} connectivity has no NIR node, "
                                    f"and as a dense matrix it has {post.size:,} x {pre.size:,} entries, above "
                                    f"the limit of {self.max_dense:,}",
                              hint="raise max_dense_entries, or use a dense weight file")
        syn = lower_projection(proj, pre, post)
        rows = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
        cols = syn.indices.astype(np.int64)
        w = np.zeros((post.size, pre.size), dtype=np.float64)
        np.add.at(w, (cols, rows), syn.weights)
        mask = np.zeros((post.size, pre.size), dtype=bool)
        mask[cols, rows] = True
        if syn.delays is None:
            return w, syn.delay, mask
        d = np.zeros((post.size, pre.size), dtype=np.float64)
        d[cols, rows] = syn.delays
        clash = np.zeros((post.size, pre.size), dtype=bool)
        np.logical_or.at(clash, (cols, rows), d[cols, rows] != syn.delays)
        if np.any(clash):
            raise self.refuse(proj, "one source and target pair has synapses of different delays; "
                                    "a NIR weight matrix holds one per pair")
        return w, d, mask

    def delays(self, proj: Projection, delay: Any, mask: np.ndarray | None, pre: Population,
               post: Population) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Delay node contents in seconds: (per source, before the weights; per target, after)."""
        dt = self.dt_s
        if not isinstance(delay, (ArrayValue, np.ndarray)):
            if delay == 0:
                return None, None
            n = post.size
            return None, np.full(n, float(delay) * dt)
        d = np.asarray(delay.values if isinstance(delay, ArrayValue) else delay, dtype=np.float64)
        conn = proj.connector
        if isinstance(conn, cn.OneToOne):
            d = d.reshape(-1)
            return (None, d * dt) if np.any(d != 0) else (None, None)
        if mask is None or d.shape != mask.shape:
            raise self.refuse(proj, "its delays are not laid out like its synapses")
        used = d[mask]
        if used.size == 0 or np.all(used == used[0]):
            return (None, None) if not used.size or used[0] == 0 else (None, np.full(post.size, used[0] * dt))
        if isinstance(conn, cn.Conv2d):
            raise self.refuse(proj, "a delay per kernel tap has no NIR equivalent (a Delay node delays "
                                    "whole neurons)", hint="use one delay for the projection")
        # [post, pre]: one delay per target (rows) or per source (columns) fits a Delay node.
        per_post = np.where(mask, d, -np.inf).max(axis=1)
        per_pre = np.where(mask, d, -np.inf).max(axis=0)
        per_post[~np.isfinite(per_post)] = 0.0  # a neuron without synapses: any delay will do
        per_pre[~np.isfinite(per_pre)] = 0.0
        if np.all((d == per_post[:, None]) | ~mask):
            return None, per_post * dt
        if np.all((d == per_pre[None, :]) | ~mask):
            return per_pre * dt, None
        raise self.refuse(proj, "its delays differ per synapse, neither one per target nor one per "
                                "source neuron; NIR's Delay node delays whole neurons",
                          hint="split the projection by delay")
