"""NIR import and export.

The imported networks are run by the float reference and held, step by step, against
``NirTwin`` below: a second, direct implementation of the equations NIR's node
docstrings state, discretised with forward Euler and the timing docs/nir.md documents
(a node's input at step t is its incoming chain applied to its sources' outputs of step
t - 1; a node is held at rest, constants and leak included, until its depth: the first
step an input can reach it, as in a framework that runs every layer within the step;
current-based nodes are not held). It works in NIR's own parameters (tau, r, v_leak,
w_in, weights, biases) and evaluates the graph node by node, so it shares no code with
the importer.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import neurocomp as nc  # noqa: E402
from neurocomp.cli import main  # noqa: E402
from neurocomp.compiler.lower import lower  # noqa: E402
from neurocomp.diagnostics import InteropError, UsageError  # noqa: E402
from neurocomp.interop.nir_export import export_nir, write_nir  # noqa: E402
from neurocomp.interop.nir_import import import_nir  # noqa: E402
from neurocomp.ir import connectors as cn  # noqa: E402
from neurocomp.ir.network import Network, Probe, network_diff  # noqa: E402
from neurocomp.ir.write import write_snn  # noqa: E402

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.snn"))
#: Examples that pin chip-native settings, which NIR cannot carry: export refuses them.
CHIP_NATIVE = {"digits_cnn_akida"}
DT_MS = 1.0
DT_S = 1e-3


# -- the second implementation ----------------------------------------------------------------


class NirTwin:
    """Forward-Euler NIR, written from the node equations; one value per node and step."""

    def __init__(self, graph: nir.NIRGraph, dt_s: float) -> None:
        self.dt = dt_s
        self.nodes: dict[str, nir.NIRNode] = {}
        self.edges: list[tuple[str, str]] = []
        self._flatten(graph, "")
        self.preds = {k: [a for a, b in self.edges if b == k] for k in self.nodes}
        self.neurons = [k for k, n in self.nodes.items()
                        if type(n).__name__ in ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I", "Threshold")]

    def _flatten(self, g: nir.NIRGraph, prefix: str) -> None:
        # A nested graph's Input/Output become pass-through nodes named "<graph>.<node>".
        for k, n in g.nodes.items():
            if isinstance(n, nir.NIRGraph):
                self._flatten(n, f"{prefix}{k}.")
            else:
                self.nodes[prefix + k] = n

        def end(key: str, kind: type) -> str:
            n = g.nodes[key]
            if isinstance(n, nir.NIRGraph):
                inner = [k for k, m in n.nodes.items() if isinstance(m, kind)][0]
                return f"{prefix}{key}.{inner}"
            return prefix + key

        for a, b in g.edges:
            self.edges.append((end(a, nir.Output), end(b, nir.Input)))

    def run(self, inputs: dict[str, np.ndarray], steps: int) -> dict[str, dict[str, np.ndarray]]:
        self.x = inputs
        self.z = {k: [] for k in self.neurons}
        state = {k: {"v": np.zeros(self._shape(k)), "i": np.zeros(self._shape(k))} for k in self.neurons}
        rec = {k: {"spikes": [], "voltage": []} for k in self.neurons}
        first = self.depths()
        for t in range(steps):
            u = {k: self.into(k, t) for k in self.neurons}
            for k in self.neurons:
                # before its depth a layer sees only constants (biases), which start at its depth:
                # a LIF is held at rest, a CubaLIF's current gets nothing (its v_leak acts from step 0)
                cuba = type(self.nodes[k]).__name__ in ("CubaLIF", "CubaLI")
                held = t < first[k] and not cuba
                if cuba and t < first[k]:
                    u[k] = np.zeros_like(u[k])
                z = np.zeros(self._shape(k)) if held else self._update(self.nodes[k], state[k], u[k])
                self.z[k].append(z)
                rec[k]["spikes"].append(z)
                rec[k]["voltage"].append(state[k]["v"].copy())
        return {k: {var: np.array(vals).reshape(steps, -1) for var, vals in r.items()} for k, r in rec.items()}

    def _shape(self, key: str) -> tuple[int, ...]:
        return tuple(int(s) for s in self.nodes[key].input_type["input"])

    def depths(self) -> dict[str, float]:
        """The first step each node's input can carry data from an Input (inf: never)."""
        seen = {k: np.inf for k in self.nodes}  # the first step a node's output is seen downstream
        for _ in range(len(self.nodes) + 1):  # relax until nothing changes (cycles included)
            for k, n in self.nodes.items():
                arrive = min((seen[p] for p in self.preds[k]), default=np.inf)
                if isinstance(n, nir.Input) and not self.preds[k]:
                    arrive = 1.0
                elif type(n).__name__ == "Delay":
                    arrive += float(np.min(np.round(np.asarray(n.delay) / self.dt)))
                elif k in self.neurons:
                    arrive += 1.0  # what it emits at step t is seen at t + 1
                seen[k] = arrive
        return {k: (seen[k] - 1.0 if np.isfinite(seen[k]) else 0.0) for k in self.neurons}

    def _update(self, n: nir.NIRNode, s: dict, u: np.ndarray) -> np.ndarray:
        dt, kind = self.dt, type(n).__name__
        if kind == "LIF":
            s["v"] = s["v"] + dt / n.tau * (n.v_leak - s["v"] + n.r * u)
        elif kind == "LI":
            s["v"] = s["v"] + dt / n.tau * (n.v_leak - s["v"] + n.r * u)
            return np.zeros_like(u)
        elif kind in ("CubaLIF", "CubaLI"):
            s["i"] = s["i"] + dt / n.tau_syn * (-s["i"] + n.w_in * u)
            s["v"] = s["v"] + dt / n.tau_mem * (n.v_leak - s["v"] + n.r * s["i"])
            if kind == "CubaLI":
                return np.zeros_like(u)
        elif kind == "IF":
            s["v"] = s["v"] + dt * n.r * u
        elif kind == "I":
            s["v"] = s["v"] + dt * n.r * u
            return np.zeros_like(u)
        elif kind == "Threshold":
            s["v"] = u
            return (u > n.threshold).astype(np.float64)
        z = (s["v"] > n.v_threshold).astype(np.float64)
        s["v"] = np.where(z > 0, n.v_reset, s["v"])
        return z

    def into(self, key: str, t: int) -> np.ndarray:
        """The sum of everything arriving at ``key`` at step ``t``."""
        total = np.zeros(self._in_shape(key))
        for p in self.preds[key]:
            total = total + self.out(p, t).reshape(total.shape)
        return total

    def _in_shape(self, key: str) -> tuple[int, ...]:
        return tuple(int(s) for s in self.nodes[key].input_type["input"])

    def out(self, key: str, t: int) -> np.ndarray:
        """What ``key`` emits, as seen at step ``t`` by the neuron it feeds."""
        n, kind = self.nodes[key], type(self.nodes[key]).__name__
        if isinstance(n, nir.Input) and not self.preds[key]:
            data = self.x[key]
            return data[t - 1] if t >= 1 else np.zeros(data.shape[1:])
        if key in self.z:
            return self.z[key][t - 1] if t >= 1 else np.zeros(self._shape(key))
        if kind == "Delay":
            steps = np.round(np.asarray(n.delay) / self.dt).astype(int)
            out = np.zeros(steps.shape)
            for d in np.unique(steps):
                out = np.where(steps == d, self.into(key, t - d), out)
            return out
        x = self.into(key, t)
        if kind == "Affine":
            return n.weight @ x.reshape(-1) + n.bias
        if kind == "Linear":
            return n.weight @ x.reshape(-1)
        if kind == "Scale":
            return x * n.scale
        if kind == "Conv2d":
            return _conv_loops(x, n.weight, n.stride, n.padding) + np.asarray(n.bias).reshape(-1, 1, 1)
        if kind in ("SumPool2d", "AvgPool2d"):
            k = tuple(int(v) for v in n.kernel_size)
            pooled = _conv_loops(x, np.ones((x.shape[0], 1, *k)), n.stride, n.padding, depthwise=True)
            return pooled / (k[0] * k[1]) if kind == "AvgPool2d" else pooled
        if kind == "Flatten":
            return x.reshape(-1)
        return x  # Input/Output of a nested graph


def _conv_loops(x: np.ndarray, w: np.ndarray, stride, padding, depthwise: bool = False) -> np.ndarray:
    """Cross-correlation the slow, obvious way: one output value at a time."""
    sy, sx = (int(v) for v in np.broadcast_to(np.asarray(stride), (2,)))
    py, px = (int(v) for v in np.broadcast_to(np.asarray(padding), (2,)))
    c, h, wd = x.shape
    xp = np.zeros((c, h + 2 * py, wd + 2 * px))
    xp[:, py:py + h, px:px + wd] = x
    co, _, kh, kw = w.shape
    ho, wo = (h + 2 * py - kh) // sy + 1, (wd + 2 * px - kw) // sx + 1
    out = np.zeros((co, ho, wo))
    for o in range(co):
        for i in range(ho):
            for j in range(wo):
                win = xp[:, i * sy:i * sy + kh, j * sx:j * sx + kw]
                out[o, i, j] = np.sum(win[o] * w[o, 0]) if depthwise else np.sum(win * w[o])
    return out


# -- helpers ------------------------------------------------------------------------------------


def probe_all(net: Network) -> Network:
    probes = tuple(Probe(population=p.name, variables=("spikes", "voltage"))
                   for p in net.populations.values() if not p.is_input)
    return dataclasses.replace(net, probes=probes)


def compare(graph: nir.NIRGraph, inputs: dict[str, np.ndarray], steps: int,
            min_spikes: dict[str, int], **kw) -> Network:
    """Import ``graph``, run both implementations, and hold every neuron node step by step."""
    net = probe_all(import_nir(graph, DT_MS, **kw))
    result = nc.simulate(net, steps, inputs=inputs)
    twin = NirTwin(graph, DT_S).run(inputs, steps)
    for key, rec in twin.items():
        pop = key.replace(".", "_")
        spikes = np.zeros((steps, net.populations[pop].size))
        ev = result.spikes[pop]
        spikes[ev.times, ev.indices] = 1.0
        np.testing.assert_allclose(result.traces[pop]["voltage"], rec["voltage"], rtol=1e-9, atol=1e-12,
                                   err_msg=f"voltage of {pop}")
        np.testing.assert_array_equal(spikes, rec["spikes"], err_msg=f"spikes of {pop}")
    for pop, least in min_spikes.items():  # the comparison means something only with activity
        assert len(result.spikes[pop].times) >= least, pop
    return net


def bias_of(net: Network, pop: str) -> np.ndarray:
    """A population's bias per step once it runs: its own plus what the bias source brings."""
    n = net.populations[pop].size
    total = np.broadcast_to(np.asarray(getattr(net.populations[pop].neuron.bias, "values",
                                               net.populations[pop].neuron.bias)), (n,)).astype(float)
    for p in net.projections:
        if p.pre == "bias_source" and p.post == pop:
            total = total + p.connector.weights.values[:, 0]
    return total


def raster(rng: np.random.Generator, steps: int, shape: tuple[int, ...], p: float) -> np.ndarray:
    return (rng.random((steps, *shape)) < p).astype(np.float64)


def lif(n: int, rng: np.random.Generator, *, tau=(0.004, 0.02), r=(0.5, 3.0), leak=(-0.2, 0.3),
        thr=(0.4, 1.0), shape: tuple[int, ...] | None = None) -> nir.LIF:
    shape = shape or (n,)
    u = lambda lo_hi: rng.uniform(*lo_hi, size=shape)  # noqa: E731
    return nir.LIF(tau=u(tau), r=u(r), v_leak=u(leak), v_threshold=u(thr), v_reset=np.zeros(shape))


# -- simulations against the twin -----------------------------------------------------------------


def test_feedforward_affine_lif_matches_the_twin() -> None:
    rng = np.random.default_rng(1)
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([5])),
        "fc1": nir.Affine(weight=rng.normal(0.8, 0.6, (8, 5)), bias=rng.normal(0, 0.2, 8)),
        "lif1": lif(8, rng),
        "fc2": nir.Affine(weight=rng.normal(0.6, 0.5, (4, 8)), bias=rng.normal(0, 0.2, 4)),
        "lif2": lif(4, rng),
        "readout": nir.Linear(weight=rng.normal(0, 1, (2, 4))),
        "output": nir.Output(output_type=np.array([4])),
        "scores": nir.Output(output_type=np.array([2])),
    }, edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output"),
              ("lif2", "readout"), ("readout", "scores")])
    x = raster(rng, 80, (5,), 0.4)
    net = compare(g, {"input": x}, 80, {"lif1": 40, "lif2": 10})
    assert [type(p.connector) for p in net.projections] == [cn.Dense] * 5
    # lif1's input arrives from step 1, lif2's from step 2: so do their biases
    assert {p.post: p.delay_steps for p in net.projections if p.pre == "bias_source"} == {"lif1": 0, "lif2": 1}
    # The Output fed through 'readout' is an LI read-out holding W·z of the step before.
    result = nc.simulate(net, 80, inputs={"input": x})
    z = np.zeros((80, 4))
    z[result.spikes["lif2"].times, result.spikes["lif2"].indices] = 1
    want = np.vstack([np.zeros((1, 2)), z[:-1] @ g.nodes["readout"].weight.T])
    np.testing.assert_allclose(result.traces["scores"]["voltage"], want, rtol=1e-12, atol=1e-12)


def test_cuba_lif_matches_the_twin() -> None:
    rng = np.random.default_rng(2)
    cuba = lambda n: nir.CubaLIF(  # noqa: E731
        tau_syn=rng.uniform(0.002, 0.008, n), tau_mem=rng.uniform(0.005, 0.02, n), r=rng.uniform(1, 4, n),
        v_leak=rng.uniform(-0.1, 0.2, n), v_threshold=rng.uniform(0.3, 0.8, n), v_reset=np.zeros(n),
        w_in=rng.uniform(0.5, 2.0, n))
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([5])),
        "w1": nir.Linear(weight=rng.normal(1.0, 0.7, (7, 5))),
        "cuba1": cuba(7),
        "w2": nir.Linear(weight=rng.normal(1.0, 0.7, (3, 7))),
        "cuba2": cuba(3),
        "output": nir.Output(output_type=np.array([3])),
    }, edges=[("input", "w1"), ("w1", "cuba1"), ("cuba1", "w2"), ("w2", "cuba2"), ("cuba2", "output")])
    compare(g, {"input": raster(rng, 100, (5,), 0.5)}, 100, {"cuba1": 30, "cuba2": 5})


def _recurrent_nodes(rng: np.random.Generator) -> dict:
    return {
        "input": nir.Input(input_type=np.array([4])),
        "fc": nir.Affine(weight=rng.normal(1.0, 0.5, (6, 4)), bias=rng.normal(0, 0.1, 6)),
        "lif": lif(6, rng),
        "w_rec": nir.Linear(weight=rng.normal(0, 0.8, (6, 6))),
        "lag": nir.Delay(delay=np.array([0, 1, 2, 3, 1, 2]) * DT_S),  # per source neuron
        "w_if": nir.Linear(weight=rng.normal(0.8, 0.5, (3, 6))),
        "if": nir.IF(r=rng.uniform(200, 600, 3), v_threshold=rng.uniform(0.5, 1.5, 3), v_reset=np.zeros(3)),
        "w_li": nir.Linear(weight=rng.normal(0, 1, (2, 3))),
        "li": nir.LI(tau=np.array([0.005, 0.02]), r=np.array([1.0, 2.0]), v_leak=np.array([0.1, -0.1])),
        "output": nir.Output(output_type=np.array([2])),
    }


def test_recurrent_graph_with_delay_if_and_li_matches_the_twin() -> None:
    rng = np.random.default_rng(3)
    g = nir.NIRGraph(nodes=_recurrent_nodes(rng), edges=[
        ("input", "fc"), ("fc", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "lag"), ("lag", "w_if"),
        ("w_if", "if"), ("if", "w_li"), ("w_li", "li"), ("li", "output")])
    net = compare(g, {"input": raster(rng, 120, (4,), 0.4)}, 120, {"lif": 40, "if": 5})
    lag = next(p for p in net.projections if p.pre == "lif" and p.post == "if")
    # one delay per source neuron, laid out [post, pre] like the dense weights
    np.testing.assert_array_equal(lag.delay_steps.values, np.tile([0, 1, 2, 3, 1, 2], (3, 1)))
    # the LI read-out feeds the Output: its voltage is probed
    assert [(p.population, p.variables) for p in import_nir(g, DT_MS).probes] == [("li", ("voltage",))]


def test_nested_recurrent_subgraph_is_flattened_and_matches_the_twin() -> None:
    # The layout snnTorch writes for RLeaky: a subgraph input -> lif <-> w_rec, lif -> output.
    rng = np.random.default_rng(4)
    nodes = _recurrent_nodes(rng)
    rnn = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([6])), "lif": nodes["lif"],
                              "w_rec": nodes["w_rec"], "output": nir.Output(output_type=np.array([6]))},
                       edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    g = nir.NIRGraph(nodes={"input": nodes["input"], "fc": nodes["fc"], "rnn": rnn, "w_if": nodes["w_if"],
                            "if": nodes["if"], "output": nir.Output(output_type=np.array([3]))},
                     edges=[("input", "fc"), ("fc", "rnn"), ("rnn", "w_if"), ("w_if", "if"), ("if", "output")])
    net = compare(g, {"input": raster(rng, 100, (4,), 0.4)}, 100, {"rnn_lif": 30, "if": 3})
    assert sorted(net.populations) == ["bias_source", "if", "input", "rnn_lif"]
    assert {(p.pre, p.post) for p in net.projections} == {("input", "rnn_lif"), ("rnn_lif", "rnn_lif"),
                                                          ("rnn_lif", "if"), ("bias_source", "rnn_lif")}


def test_convolution_pooling_and_flatten_match_the_twin() -> None:
    rng = np.random.default_rng(5)
    c_gain = np.repeat(rng.uniform(1.0, 3.0, 3), 64).reshape(3, 8, 8)  # r uniform per channel
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([2, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0.4, 0.4, (3, 2, 3, 3)), stride=1, padding=1,
                           dilation=1, groups=1, bias=np.array([0.05, -0.05, 0.1])),
        "lif1": nir.LIF(tau=np.full((3, 8, 8), 0.01), r=c_gain, v_leak=np.zeros((3, 8, 8)),
                        v_threshold=np.full((3, 8, 8), 0.5), v_reset=np.zeros((3, 8, 8))),
        "sum": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "if1": nir.IF(r=np.full((3, 4, 4), 1000.0), v_threshold=np.full((3, 4, 4), 1.5),  # gain r*dt = 1
                      v_reset=np.zeros((3, 4, 4))),
        "avg": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "lif2": lif(12, rng, tau=(0.01, 0.01), r=(4.0, 4.0), leak=(0, 0), thr=(0.1, 0.1), shape=(3, 2, 2)),
        "flat": nir.Flatten(input_type={"input": np.array([3, 2, 2])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=rng.normal(0.5, 0.5, (5, 12)), bias=rng.normal(0, 0.05, 5)),
        "lif3": lif(5, rng, r=(2.0, 5.0)),
        # a convolution straight into pooling, with no neuron between: composed as one dense matrix
        "conv_b": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0.3, 0.3, (2, 2, 3, 3)), stride=1, padding=0,
                             dilation=1, groups=1, bias=np.array([0.02, 0.01])),
        "avg_b": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "lif_b": lif(18, rng, r=(5.0, 9.0), thr=(0.2, 0.4), shape=(2, 3, 3)),
        "output": nir.Output(output_type=np.array([5])),
        "output_b": nir.Output(output_type=np.array([2, 3, 3])),
    }, edges=[("input", "conv"), ("conv", "lif1"), ("lif1", "sum"), ("sum", "if1"), ("if1", "avg"),
              ("avg", "lif2"), ("lif2", "flat"), ("flat", "fc"), ("fc", "lif3"), ("lif3", "output"),
              ("input", "conv_b"), ("conv_b", "avg_b"), ("avg_b", "lif_b"), ("lif_b", "output_b")])
    net = compare(g, {"input": raster(rng, 60, (2, 8, 8), 0.3)}, 60,
                  {"lif1": 200, "if1": 20, "lif2": 5, "lif3": 3, "lif_b": 10})
    kinds = {p.name: type(p.connector) for p in net.projections if p.pre != "bias_source"}
    # gain 1 keeps NIR pooling as pooling; a gain turns it into a channel-diagonal conv2d
    assert kinds == {"conv": cn.Conv2d, "sum": cn.Pool2d, "avg": cn.Conv2d, "fc": cn.Dense, "conv_b": cn.Dense}


# -- parameters by hand ------------------------------------------------------------------------------


def _one_neuron_graph(neuron: nir.NIRNode, weight: float = 1.5) -> nir.NIRGraph:
    return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([1])),
                               "w": nir.Linear(weight=np.array([[weight]])), "n": neuron},
                        edges=[("input", "w"), ("w", "n")])


def test_lif_parameters_by_hand_for_both_discretisations() -> None:
    node = nir.LIF(tau=np.array([0.01]), r=np.array([2.0]), v_leak=np.array([0.5]), v_threshold=np.array([0.8]))
    # Euler, dt = 1 ms, tau = 10 ms: h = 0.1, beta = 0.9, gain r*h = 0.2, bias h*v_leak = 0.05
    net = import_nir(_one_neuron_graph(node), 1.0)
    m = net.populations["n"].neuron
    assert (m.family, m.threshold, m.reset, m.alpha) == ("lif", 0.8, "zero", 0.0)
    assert m.beta == pytest.approx(0.9, abs=1e-15) and bias_of(net, "n")[0] == pytest.approx(0.05, abs=1e-15)
    w = import_nir(_one_neuron_graph(node), 1.0).projections[0].connector.weights.values
    assert w[0, 0] == pytest.approx(1.5 * 0.2, abs=1e-15)
    # exp: h = 1 - e^-0.1 = 0.09516258196404048, beta = e^-0.1 = 0.9048374180359595
    net = import_nir(_one_neuron_graph(node), 1.0, method="exp")
    m = net.populations["n"].neuron
    assert m.beta == pytest.approx(0.9048374180359595, abs=1e-15)
    assert bias_of(net, "n")[0] == pytest.approx(0.5 * 0.09516258196404048, abs=1e-15)
    assert net.projections[0].connector.weights.values[0, 0] == pytest.approx(1.5 * 2 * 0.09516258196404048,
                                                                              abs=1e-15)


def test_cuba_if_and_threshold_parameters_by_hand() -> None:
    cuba = nir.CubaLIF(tau_syn=np.array([0.005]), tau_mem=np.array([0.01]), r=np.array([2.0]),
                       v_leak=np.array([0.0]), v_threshold=np.array([1.0]), w_in=np.array([3.0]))
    net = import_nir(_one_neuron_graph(cuba, 1.0), 1.0)
    m = net.populations["n"].neuron
    # alpha = 1 - 1/5, beta = 1 - 1/10, input gain (w_in*h_syn)*(r*h_mem) = (3*0.2)*(2*0.1) = 0.12
    assert m.alpha == pytest.approx(0.8, abs=1e-15) and m.beta == pytest.approx(0.9, abs=1e-15)
    assert net.projections[0].connector.weights.values[0, 0] == pytest.approx(0.12, abs=1e-15)
    m = import_nir(_one_neuron_graph(nir.IF(r=np.array([500.0]), v_threshold=np.array([2.0])), 1.0), 2.0)
    assert m.populations["n"].neuron.family == "if"
    assert m.projections[0].connector.weights.values[0, 0] == pytest.approx(500 * 0.002, abs=1e-15)
    t = import_nir(_one_neuron_graph(nir.Threshold(threshold=np.array([0.25]))), 1.0).populations["n"].neuron
    assert (t.family, t.beta, t.alpha, t.threshold) == ("lif", 0.0, 0.0, 0.25)


def test_snntorch_export_convention_gives_back_beta_and_unit_weights() -> None:
    # snnTorch writes Leaky(beta) as tau = dt/(1-beta), r = tau/dt with dt = 1e-4 s.
    beta, dt = 0.875, 1e-4
    tau = dt / (1 - beta)
    node = nir.LIF(tau=np.array([tau]), r=np.array([tau / dt]), v_leak=np.array([0.0]),
                   v_threshold=np.array([1.0]))
    net = import_nir(_one_neuron_graph(node, 0.75), 0.1)
    assert net.populations["n"].neuron.beta == pytest.approx(beta, abs=1e-12)
    assert net.projections[0].connector.weights.values[0, 0] == pytest.approx(0.75, abs=1e-12)


def test_cuba_biases_enter_the_current_at_the_layers_depth_like_the_twin() -> None:
    # snnTorch's Synaptic after nn.Linear: the bias is part of the input to the current
    rng = np.random.default_rng(5)
    cuba = lambda n: nir.CubaLIF(  # noqa: E731
        tau_syn=rng.uniform(0.002, 0.008, n), tau_mem=rng.uniform(0.005, 0.02, n), r=rng.uniform(1, 4, n),
        v_leak=np.zeros(n), v_threshold=rng.uniform(0.3, 0.8, n), v_reset=np.zeros(n),
        w_in=rng.uniform(0.5, 2.0, n))
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([5])),
        "w1": nir.Affine(weight=rng.normal(1.0, 0.7, (7, 5)), bias=rng.uniform(-0.5, 1.0, 7)),
        "cuba1": cuba(7),
        "w2": nir.Affine(weight=rng.normal(1.0, 0.7, (3, 7)), bias=rng.uniform(-0.5, 1.0, 3)),
        "cuba2": cuba(3),
        "output": nir.Output(output_type=np.array([3])),
    }, edges=[("input", "w1"), ("w1", "cuba1"), ("cuba1", "w2"), ("w2", "cuba2"), ("cuba2", "output")])
    compare(g, {"input": raster(rng, 100, (5,), 0.5)}, 100, {"cuba1": 30, "cuba2": 5})


def test_cuba_bias_into_the_current_by_hand() -> None:
    # tau_syn = 5 ms, tau_mem = 10 ms at dt = 1 ms: alpha = 0.8, beta = 0.9; w_in = 3, r = 2,
    # bias 0.5 reaches the current from step 1 (the layer's depth) as w_in*h_syn*r*h_mem*b = 0.06
    cuba = nir.CubaLIF(tau_syn=np.array([0.005]), tau_mem=np.array([0.01]), r=np.array([2.0]),
                       v_leak=np.array([0.0]), v_threshold=np.array([10.0]), w_in=np.array([3.0]))
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([1])),
                            "fc": nir.Affine(weight=np.array([[1.0]]), bias=np.array([0.5])), "n": cuba},
                     edges=[("input", "fc"), ("fc", "n")])
    net = probe_all(import_nir(g, 1.0))
    assert net.populations["n"].neuron.bias == 0.0
    current = nc.simulate(net, 5, inputs={"input": np.zeros((5, 1))}).traces["n"]["voltage"][:, 0]
    i1 = 0.06
    i2 = 0.8 * i1 + 0.06
    i3 = 0.8 * i2 + 0.06
    np.testing.assert_allclose(current, [0.0, i1, 0.9 * i1 + i2, 0.9 * (0.9 * i1 + i2) + i3,
                                         0.9 * (0.9 * (0.9 * i1 + i2) + i3) + 0.8 * i3 + 0.06], rtol=1e-12)


def test_cuba_bias_no_input_reaches_is_refused_unless_steady_is_asked_for() -> None:
    cuba = nir.CubaLIF(tau_syn=np.array([0.005]), tau_mem=np.array([0.01]), r=np.array([2.0]),
                       v_leak=np.array([0.0]), v_threshold=np.array([1.0]), w_in=np.array([3.0]))
    lif = nir.LIF(tau=np.array([0.01]), r=np.array([1.0]), v_leak=np.array([0.0]), v_threshold=np.array([1.0]))
    # 'n' is driven only by itself (through 'fc', which has the bias): no input reaches it
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([1])), "w": nir.Linear(weight=np.array([[1.0]])),
                            "a": lif, "fc": nir.Affine(weight=np.array([[1.0]]), bias=np.array([0.5])), "n": cuba},
                     edges=[("input", "w"), ("w", "a"), ("n", "fc"), ("fc", "n")])
    with pytest.raises(InteropError, match=r"node 'n' \(CubaLIF\) receives a constant input \(the bias of 'fc'\)"):
        import_nir(g, 1.0)
    # settled current w_in*b = 1.5, seen by V with r*h_mem = 0.2: bias 0.3 per step
    assert import_nir(g, 1.0, cuba_bias="steady").populations["n"].neuron.bias == pytest.approx(0.3, abs=1e-15)


# -- errors name the node ------------------------------------------------------------------------


def _graph_with(node: nir.NIRNode, n_in: int = 2) -> nir.NIRGraph:
    return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n_in])), "x": node},
                        edges=[("input", "x")], type_check=False)


def test_every_converter_is_registered_once_under_a_nir_type_name() -> None:
    from neurocomp.interop.nir_import.registry import NEURONS, OPS, neuron

    for type_name in [*NEURONS, *(k for k, c in OPS.items() if c.listed)]:  # the ones a refusal names
        assert hasattr(nir, type_name), type_name
    assert all(c.connector is not None for c in OPS.values() if c.weight)
    with pytest.raises(ValueError, match="'LIF' is already registered"):
        neuron("LIF", spiking=True)(lambda node, step: None)


def test_unsupported_node_is_named() -> None:
    conv1 = nir.Conv1d(input_shape=8, weight=np.ones((1, 1, 3)), stride=1, padding=0, dilation=1, groups=1,
                       bias=np.zeros(1))
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([1, 8])), "c1": conv1},
                     edges=[("input", "c1")])
    with pytest.raises(InteropError, match=r"node 'c1' is a Conv1d, which neurocomp cannot import: "
                                           r"neurocomp's convolutions are 2-D"):
        import_nir(g, 1.0)


def test_a_graph_failing_nirs_type_check_is_refused_with_the_nodes_named() -> None:
    g = _graph_with(nir.Affine(weight=np.ones((3, 4)), bias=np.zeros(3)), n_in=2)
    with pytest.raises(InteropError, match=r"fails NIR's own type check: .*input.*x\.input"):
        import_nir(g, 1.0)


def test_unrepresentable_values_are_refused_with_the_node_and_the_reason() -> None:
    base = dict(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    cases = [
        (nir.LIF(**{**base, "v_reset": np.array([0.0, 0.2])}),
         1.0, r"node 'x' \(LIF\): v_reset = 0.2, but neurocomp resets the voltage to 0"),
        (nir.LIF(**{**base, "tau": np.full(2, 0.001)}),
         2.0, r"node 'x' \(LIF\): dt = 2 ms is longer than tau = 1(\.0+\d*)? ms, so forward Euler"),
        (nir.Delay(delay=np.full(2, 0.0015)), 1.0, r"node 'x' \(Delay\): the delay 1.5 ms is not a whole number"),
    ]
    for node, dt, message in cases:
        g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])), "x": node,
                                "y": nir.LIF(**base)}, edges=[("input", "x"), ("x", "y")])
        with pytest.raises(InteropError, match=message):
            import_nir(g, dt)


def test_a_non_spiking_node_cannot_drive_a_population() -> None:
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])),
                            "li": nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2)),
                            "w": nir.Linear(weight=np.eye(2)),
                            "lif": nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2),
                                           v_threshold=np.ones(2))},
                     edges=[("input", "li"), ("li", "w"), ("w", "lif")])
    with pytest.raises(InteropError, match=r"node 'li' \(LI\) drives 'lif' \(LIF\), but LI never spikes"):
        import_nir(g, 1.0)


def test_bad_arguments_and_a_missing_nir_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    g = _one_neuron_graph(nir.IF(r=np.array([1.0]), v_threshold=np.array([1.0])))
    for dt in (0, -1.0, float("nan"), "1ms"):
        with pytest.raises(UsageError, match="dt must be a positive number of milliseconds"):
            import_nir(g, dt)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="unknown discretisation 'eular'"):
        import_nir(g, 1.0, method="eular")
    with pytest.raises(UsageError, match="NIR file not found"):
        import_nir(tmp_path / "none.nir", 1.0)
    (tmp_path / "junk.nir").write_text("not hdf5")
    with pytest.raises(InteropError, match="cannot read .*junk.nir' as a NIR graph"):
        import_nir(tmp_path / "junk.nir", 1.0)
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(UsageError) as info:
        import_nir(g, 1.0)
    assert "pip install neurocomp[nir]" in info.value.render()
    with pytest.raises(UsageError, match="needs the 'nir' package"):
        export_nir(nc.load(EXAMPLES[0]))


# -- export and the round trip -------------------------------------------------------------------------


def _small_brunel(tmp_path: Path) -> Path:
    """brunel.snn with the sizes divided by 50 (the same structure; the full one is 1e8 weights)."""
    text = (EXAMPLES[0].parent / "brunel.snn").read_text()
    for key, value in {"n_exc": 160, "n_inh": 40, "n_ext": 50, "k_rec": 10, "k_ext": 5}.items():
        text, count = re.subn(rf"const {key} = \d+", f"const {key} = {value}", text)
        assert count == 1
    path = tmp_path / "brunel_small.snn"
    path.write_text(text)
    return path


def _inputs_from(original: Network, imported: Network) -> Network:
    """NIR has no encoders: put the original input populations back before comparing."""
    pops = {k: (original.populations[k] if original.populations[k].is_input else p)
            for k, p in imported.populations.items()}
    return dataclasses.replace(imported, populations=pops)


def _same_synapses(a: Network, b: Network) -> None:
    sa, sb = lower(a), lower(b)
    assert list(sa) == list(sb)
    for name in sa:
        x, y = sa[name], sb[name]
        np.testing.assert_array_equal(x.indptr, y.indptr, err_msg=name)
        np.testing.assert_array_equal(x.indices, y.indices, err_msg=name)
        np.testing.assert_array_equal(x.weights, y.weights, err_msg=name)
        np.testing.assert_array_equal(x.delay_array(), y.delay_array(), err_msg=name)


@pytest.mark.parametrize("method", ["euler", "exp"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips_through_a_nir_file(path: Path, method: str, tmp_path: Path) -> None:
    original = nc.load(_small_brunel(tmp_path) if path.stem == "brunel" else path)
    if any(p.learning is not None for p in original.projections):  # stdp.snn: NIR has no plasticity
        with pytest.raises(InteropError, match="learns .* NIR has no node for plasticity"):
            write_nir(original, tmp_path / "net.nir", method=method, extensions=True)
        return
    if path.stem in CHIP_NATIVE:
        with pytest.raises(InteropError, match=r"population '\w+' has chip-native settings \(native akida\), "
                                               r"which NIR cannot carry"):
            write_nir(original, tmp_path / "net.nir", method=method, extensions=True)
        return
    out = write_nir(original, tmp_path / "net.nir", method=method, extensions=True)
    back = _inputs_from(original, import_nir(out, original.dt_ms, method=method))
    if path.stem == "brunel":
        # random connectivity has no NIR node: it comes back as the same synapses in a dense matrix
        assert all(isinstance(p.connector, cn.Dense) for p in back.projections)
        _same_synapses(original, back)
        back = dataclasses.replace(back, projections=original.projections)
    assert network_diff(original, back) is None
    assert [p.is_input for p in back.populations.values()] == [p.is_input for p in original.populations.values()]


def test_imported_network_text_loads_back_equal(tmp_path: Path) -> None:
    original = nc.load(EXAMPLES[0].parent / "dvs_conv.snn")
    imported = import_nir(export_nir(original), original.dt_ms, name="dvs_conv")
    written = write_snn(imported, tmp_path / "dvs.snn", header="a comment\nof two lines")
    assert written[0] == tmp_path / "dvs.snn"
    assert (tmp_path / "dvs_conv_data" / "dvs.spikes.npz") in written
    assert network_diff(imported, nc.load(tmp_path / "dvs.snn")) is None
    assert (tmp_path / "dvs.snn").read_text().startswith("# a comment\n# of two lines\n\nnetwork dvs_conv\n")


def test_write_snn_never_overwrites_unless_asked(tmp_path: Path) -> None:
    net = nc.load(EXAMPLES[0].parent / "chain.snn")
    write_snn(net, tmp_path / "chain.snn")
    (tmp_path / "data" / "chain_input.npz").write_bytes(b"mine")
    before = (tmp_path / "chain.snn").read_text()
    with pytest.raises(UsageError, match="already exists; not overwriting it"):
        write_snn(net, tmp_path / "other.snn")  # its data file is there: nothing is written
    assert not (tmp_path / "other.snn").exists()
    assert (tmp_path / "data" / "chain_input.npz").read_bytes() == b"mine"
    write_snn(net, tmp_path / "chain.snn", overwrite=True)
    assert (tmp_path / "chain.snn").read_text() == before
    assert network_diff(net, nc.load(tmp_path / "chain.snn")) is None


SUBTRACT_SNN = """network sub
input pixels[4] : rate(value = 0.5, seed = 1)
population hidden[3] : IF(threshold = 1, reset = subtract)
population out[2] : LIF(beta = 0.5, refractory = 2)
connect pixels -> hidden : all_to_all(weight = 0.4)
connect hidden -> out : all_to_all(weight = 0.6)
probe out : spikes
"""


def test_export_refuses_what_nir_cannot_express(tmp_path: Path) -> None:
    (tmp_path / "sub.snn").write_text(SUBTRACT_SNN)
    net = nc.load(tmp_path / "sub.snn")
    with pytest.raises(InteropError) as info:
        export_nir(net)
    text = info.value.render()
    assert "population 'hidden' has reset = subtract, which NIR cannot express" in text
    assert "sub.snn:3:12" in text and "extensions=True" in text
    with pytest.raises(InteropError, match="population 'out' has a refractory period of 2 steps"):
        export_nir(dataclasses.replace(net, populations={**net.populations, "hidden": dataclasses.replace(
            net.populations["hidden"], neuron=dataclasses.replace(net.populations["hidden"].neuron,
                                                                  reset="zero"))}))
    exported = export_nir(net, extensions=True)
    assert exported.nodes["hidden"].metadata["neurocomp_reset"] == "subtract"
    assert exported.nodes["out"].metadata["neurocomp_refractory_steps"] == 2
    assert isinstance(exported.nodes["hidden"], nir.IF)
    back = import_nir(exported, net.dt_ms)
    assert (back.populations["hidden"].neuron.reset, back.populations["out"].neuron.refractory_steps) == \
        ("subtract", 2)
    with pytest.raises(InteropError, match=r"projection 'ext_exc' \(ext -> exc\): random connectivity has no NIR "
                                           r"node, and as a dense matrix it has 8,000 x 2,500 entries"):
        export_nir(nc.load(EXAMPLES[0].parent / "brunel.snn"))


def test_export_gives_unit_gains_and_an_exact_beta() -> None:
    net = nc.load(EXAMPLES[0].parent / "chain.snn")
    g = export_nir(net)
    a = g.nodes["a"]
    h = DT_S / a.tau  # Euler
    assert isinstance(a, nir.LIF) and np.all(1.0 - h == 0.5) and np.all(a.r * h == 1.0)
    assert isinstance(g.nodes["b->c_delay"], nir.Delay) and g.nodes["b->c_delay"].delay[0] == pytest.approx(2e-3)
    assert g.nodes["a_out"].metadata["neurocomp_probe"] == "spikes,voltage"


# -- the command line -------------------------------------------------------------------------------------


def test_cli_export_then_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chain = str(EXAMPLES[0].parent / "chain.snn")
    assert main(["export", chain, "-o", str(tmp_path / "chain.nir")]) == 0
    assert "import it with --dt 1ms --method euler" in capsys.readouterr().out.replace("\n", " ")
    assert main(["import", str(tmp_path / "chain.nir"), "--dt", "1ms", "-o", str(tmp_path / "chain.snn")]) == 0
    out = capsys.readouterr().out
    assert "forward Euler: h = dt / tau" in out and "chain_data/stim.spikes.npz" in out
    text = (tmp_path / "chain.snn").read_text()
    assert text.startswith("# imported from chain.nir by 'neurocomp import'\n# NIR discretised with dt = 1 ms")
    assert network_diff(_inputs_from(nc.load(chain), nc.load(tmp_path / "chain.snn")),
                        dataclasses.replace(nc.load(chain), name="chain")) is None
    # a second import refuses to overwrite; --force replaces
    assert main(["import", str(tmp_path / "chain.nir"), "--dt", "1ms", "-o", str(tmp_path / "chain.snn")]) == 1
    err = capsys.readouterr().err
    assert "already exists; not overwriting it" in err and "Traceback" not in err
    assert main(["import", str(tmp_path / "chain.nir"), "--dt", "1000us", "-o", str(tmp_path / "chain.snn"),
                 "--force"]) == 0


def test_cli_reports_errors_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sub.snn").write_text(SUBTRACT_SNN)
    net = str(tmp_path / "sub.snn")
    assert main(["export", net, "-o", str(tmp_path / "m.nir")]) == 1
    err = capsys.readouterr().err
    assert "reset = subtract" in err and "--extensions" in err and "Traceback" not in err
    assert main(["export", net, "-o", str(tmp_path / "m.nir"), "--extensions"]) == 0
    assert main(["import", str(tmp_path / "m.nir"), "--dt", "fast", "-o", str(tmp_path / "m.snn")]) == 1
    assert "--dt 'fast' is not a time" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "m.nir"), "--dt", "2ms", "-o", str(tmp_path / "m.snn")]) == 0
    assert "note: this graph was exported by neurocomp at dt = 1 ms" in capsys.readouterr().out


def test_export_edge_cases_round_trip(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", times=np.array([0, 1, 3]), indices=np.array([0, 2, 1]))
    np.save(tmp_path / "abias.npy", np.array([0.1, 0.2, 0.0, -0.3]))
    np.save(tmp_path / "w_xa.npy", np.arange(12, dtype=np.float64).reshape(4, 3) / 7)
    np.save(tmp_path / "d_xa.npy", np.repeat([[0], [1], [2], [5]], 3, axis=1).astype(np.float64))  # per target
    np.save(tmp_path / "w_bc.npy", np.array([[1.0, 0, 2, 3], [0, 4, 5, 0]]))
    np.save(tmp_path / "d_bc.npy", np.tile([1.0, 7, 2, 0], (2, 1)))  # per source (7: a synapse of weight 0)
    (tmp_path / "edge.snn").write_text("""network edge
dt = 0.5 ms
input x[3] : spikes(file = "x.npz")
population a[4] : IF(threshold = 1, bias = "abias.npy")
population b[4] : LIF(beta = 1.0, threshold = 2)
population c[2] : LI(tau_mem = 5 ms, tau_syn = 2 ms, bias = 0.1)
population e[2] : LI(beta = 1)
population lone[3] : LIF(tau_mem = 10 ms, bias = 0.2)
connect x -> a : dense(weights = "w_xa.npy", delay = "d_xa.npy")
connect a -> b : all_to_all(weight = 0.5)
connect b -> c : dense(weights = "w_bc.npy", delay = "d_bc.npy")
connect a -> e : dense(weights = "w_bc.npy")
probe c, e : voltage
""")
    original = nc.load(tmp_path / "edge.snn")
    graph = export_nir(original)
    kinds = {k: type(graph.nodes[k]).__name__ for k in ("a", "b", "c", "e", "lone", "x->a", "b->c_delay", "a->b")}
    assert kinds == {"a": "IF", "b": "IF", "c": "CubaLI", "e": "I", "lone": "LIF", "x->a": "Affine",
                     "b->c_delay": "Delay", "a->b": "Linear"}
    back = import_nir(write_nir(original, tmp_path / "edge.nir"), 0.5)
    # What the round trip changes, as docs/nir.md lists: NIR puts an Input before the root
    # 'lone'; LIF with beta = 1 comes back as IF; all_to_all comes back as dense.
    assert "input_lone" in back.populations and back.populations["input_lone"].is_input
    assert back.populations["b"].neuron.family == "if"
    assert isinstance(back.projection("a->b").connector, cn.Dense)
    pops = {k: p for k, p in back.populations.items() if k != "input_lone"}
    pops["b"] = original.populations["b"]
    expected_back = dataclasses.replace(
        _inputs_from(original, dataclasses.replace(back, populations=pops)),
        projections=tuple(p for p in back.projections if p.pre != "input_lone"))
    _same_synapses(original, expected_back)
    expected_back = dataclasses.replace(expected_back, projections=tuple(
        original.projection("a->b") if p.name == "a->b" else p for p in expected_back.projections))
    assert network_diff(original, expected_back) is None


def test_export_refuses_delays_and_shapes_nir_cannot_hold(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.ones((2, 2)))
    np.save(tmp_path / "d.npy", np.array([[0.0, 1], [2, 0]]))
    (tmp_path / "bad.snn").write_text("""input x[2] : spikes(file = "x.npz")
population a[2] : LIF(beta = 0.5)
population g[2, 1] : LIF(beta = 0.5)
connect x -> a : dense(weights = "w.npy", delay = "d.npy")
""")
    np.savez(tmp_path / "x.npz", times=np.zeros(0, dtype=np.int64), indices=np.zeros(0, dtype=np.int64))
    with pytest.raises(InteropError, match=r"projection 'x->a' \(x -> a\): its delays differ per synapse, "
                                           r"neither one per target nor one per source"):
        export_nir(nc.load(tmp_path / "bad.snn"))
    (tmp_path / "bad.snn").write_text("""input x[2] : spikes(file = "x.npz")
population g[2, 1] : LIF(beta = 0.5)
connect x -> g : one_to_one(weight = 1)
""")
    with pytest.raises(InteropError, match="NIR rejects the exported graph of 'bad'"):
        export_nir(nc.load(tmp_path / "bad.snn"))


def test_a_nir_graph_compiles_and_runs_on_all_three_chips(tmp_path):
    # Linear + Threshold layers (stateless neurons: beta = 0), which every bundled chip
    # can hold. Loihi and Akida compute it exactly (integer weights, thresholds at x.5);
    # TrueNorth approximates it (one axon type per source, an additive leak for beta = 0),
    # so there it only has to run.
    import neurocomp as nc

    rng = np.random.default_rng(0)
    w1 = rng.integers(-3, 4, size=(8, 6)).astype(np.float32)
    w2 = rng.integers(-3, 4, size=(4, 8)).astype(np.float32)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([6])),
               "fc1": nir.Linear(weight=w1), "th1": nir.Threshold(threshold=np.full(8, 1.5)),
               "fc2": nir.Linear(weight=w2), "th2": nir.Threshold(threshold=np.full(4, 1.5)),
               "out": nir.Output(output_type=np.array([4]))},
        edges=[("in", "fc1"), ("fc1", "th1"), ("th1", "fc2"), ("fc2", "th2"), ("th2", "out")])
    net = import_nir(graph, dt_ms=1.0)
    spikes = (rng.random((30, 6)) < 0.5).astype(np.float64)
    ref = nc.simulate(net, 30, inputs={"in": spikes})
    assert ref.spikes["th2"].count > 0
    for chip in ("loihi", "truenorth", "akida"):
        result = nc.run(nc.compile(net, chip=chip), steps=30, inputs={"in": spikes})
        assert result.counters is not None and result.counters.synops.sum() > 0, chip
        if chip != "truenorth":
            for pop in ("th1", "th2"):
                assert result.spikes[pop].times.tolist() == ref.spikes[pop].times.tolist(), (chip, pop)
                assert result.spikes[pop].indices.tolist() == ref.spikes[pop].indices.tolist(), (chip, pop)
