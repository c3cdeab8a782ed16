"""The float reference simulator against independent expectations.

Three kinds of evidence:

* single neurons and a three-neuron chain whose every voltage is derived by hand in the
  comments (values chosen to be short binary fractions where the derivation relies on
  exact equality);
* a second, obviously-correct implementation in this file (:func:`twin`): dense weight
  matrices, one per delay, stepped in plain numpy; it must give the same spikes and
  traces to 1e-12 on random networks with recurrence, mixed models and delays;
* the canonical network of ``shared/reference/perf.md``: its mean rate must fall in the
  10-14 Hz perf.md reports, and the twin must agree on it spike for spike.

Synapses and input events are built by hand here, so these tests do not depend on
lowering or encoding.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurocomp.diagnostics import UsageError
from neurocomp.emulator.reference import simulate
from neurocomp.ir.connectors import Sparse
from neurocomp.ir.encoders import SpikeFile
from neurocomp.ir.network import Network, NeuronModel, Population, Probe, Projection
from neurocomp.ir.result import RunResult, SpikeEvents
from neurocomp.ir.synapses import InputEvents, Synapses
from neurocomp.ir.values import ArrayValue, as_array

ALL_VARS = ("spikes", "voltage", "current")


# -- building blocks ------------------------------------------------------------------


def synapses_from_coo(name: str, n_pre: int, n_post: int, pre, post, weights,
                      delays=None, delay: int = 0) -> Synapses:
    """CSR by pre (targets ascending within a row) from COO lists."""
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    order = np.lexsort((post, pre))
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    return Synapses(projection=name, n_pre=n_pre, n_post=n_post, indptr=indptr,
                    indices=post[order].astype(np.int32), weights=weights[order],
                    delay=delay,
                    delays=None if delays is None else np.asarray(delays, dtype=np.int32)[order])


def connect(name: str, pre: str, post: str, n_pre: int, n_post: int, pre_idx, post_idx, weights,
            delays=None, delay: int = 0) -> tuple[Projection, Synapses]:
    """A projection (as a Sparse connector) and its hand-lowered synapses."""
    connector = Sparse(np.asarray(pre_idx, dtype=np.int64), np.asarray(post_idx, dtype=np.int64),
                       np.asarray(weights, dtype=np.float64), f"{name}.npz")
    proj = Projection(name=name, pre=pre, post=post, connector=connector,
                      delay_steps=delay if delays is None else
                      ArrayValue(np.asarray(delays, dtype=np.int64), f"{name}_delay.npy"))
    return proj, synapses_from_coo(name, n_pre, n_post, pre_idx, post_idx, weights, delays, delay)


def events(name: str, n: int, steps: int, times, indices, values=None) -> InputEvents:
    """InputEvents by hand (events sorted by time, then index)."""
    times = np.asarray(times, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    values = np.ones(times.size, dtype=np.float64) if values is None else np.asarray(values, dtype=np.float64)
    order = np.lexsort((indices, times))
    step_ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(times, minlength=steps), out=step_ptr[1:])
    return InputEvents(population=name, n=n, steps=steps, step_ptr=step_ptr,
                       indices=indices[order], values=values[order])


def spike_input(name: str, n: int, times=(), indices=()) -> Population:
    return Population(name=name, shape=(n,),
                      encoder=SpikeFile(np.asarray(times, dtype=np.int64),
                                        np.asarray(indices, dtype=np.int64), f"{name}.npz"))


def one_neuron(model: NeuronModel, stim_times=(), weight: float = 1.0, delay: int = 0,
               steps: int = 10) -> RunResult:
    """One input ``stim`` (spiking at ``stim_times``) -> one neuron ``n`` through ``weight``."""
    proj, syn = connect("p", "stim", "n", 1, 1, [0], [0], [weight], delay=delay)
    net = Network(name="one", populations={"stim": spike_input("stim", 1),
                                           "n": Population(name="n", shape=(1,), neuron=model)},
                  projections=(proj,), probes=(Probe(population="n", variables=ALL_VARS),))
    stim = events("stim", 1, steps, list(stim_times), [0] * len(stim_times))
    return simulate(net, steps, {"stim": stim}, synapses={"p": syn})


def trace(result: RunResult, var: str, pop: str = "n", i: int = 0) -> list[float]:
    return result.traces[pop][var][:, i].tolist()


def spike_times(result: RunResult, pop: str = "n") -> list[int]:
    return result.spikes[pop].times.tolist()


# -- single neurons, by hand ----------------------------------------------------------


def test_one_input_spike_through_a_weight_into_a_lif():
    # beta 0.9, alpha 0.5, weight 0.5; the input spike at step 0 arrives at step 1.
    # t=0: I = 0                         V = 0
    # t=1: I = 0.5                       V = 0.9·0     + 0.5    = 0.5
    # t=2: I = 0.5·0.5   = 0.25          V = 0.9·0.5   + 0.25   = 0.7
    # t=3: I = 0.5·0.25  = 0.125         V = 0.9·0.7   + 0.125  = 0.755
    # t=4: I = 0.0625                    V = 0.9·0.755 + 0.0625 = 0.742
    # t=5: I = 0.03125                   V = 0.9·0.742 + 0.03125 = 0.69905
    r = one_neuron(NeuronModel(family="lif", beta=0.9, alpha=0.5, threshold=10.0),
                   stim_times=[0], weight=0.5, steps=6)
    np.testing.assert_allclose(trace(r, "current"), [0, 0.5, 0.25, 0.125, 0.0625, 0.03125],
                               rtol=0, atol=1e-15)
    np.testing.assert_allclose(trace(r, "voltage"), [0, 0.5, 0.7, 0.755, 0.742, 0.69905],
                               rtol=0, atol=1e-15)
    assert spike_times(r) == []
    assert trace(r, "spikes") == [False] * 6


def test_threshold_crossing_is_strict():
    # IF (beta 1), alpha 0, weight 1.0, threshold 1.0: at t=1 V = 1.0 exactly, which is
    # not above the threshold: no spike. A second input at t=2 gives V = 2.0: spike.
    r = one_neuron(NeuronModel(family="if", threshold=1.0), stim_times=[0, 1], weight=1.0, steps=4)
    assert trace(r, "voltage") == [0.0, 1.0, 0.0, 0.0]  # t=2: 2.0 > 1, reset to 0
    assert spike_times(r) == [2]
    # The same neuron with threshold 0.99 fires at the first input already.
    r = one_neuron(NeuronModel(family="if", threshold=0.99), stim_times=[0], weight=1.0, steps=3)
    assert spike_times(r) == [1]


def test_lif_crosses_by_temporal_summation_of_a_filtered_input():
    # beta 0.9, alpha 0.5, weight 0.8, threshold 1, reset zero; input spike at 0.
    # t=1: I = 0.8,  V = 0.8
    # t=2: I = 0.4,  V = 0.72 + 0.4 = 1.12 > 1: spike, V = 0
    # t=3: I = 0.2,  V = 0 + 0.2 = 0.2
    # t=4: I = 0.1,  V = 0.18 + 0.1 = 0.28
    r = one_neuron(NeuronModel(family="lif", beta=0.9, alpha=0.5), stim_times=[0], weight=0.8, steps=5)
    assert spike_times(r) == [2]
    np.testing.assert_allclose(trace(r, "voltage"), [0, 0.8, 0, 0.2, 0.28], rtol=0, atol=1e-15)
    assert trace(r, "spikes") == [False, False, True, False, False]


def bias_driven(reset: str, refractory: int = 0, steps: int = 12) -> RunResult:
    # IF with bias 0.75, threshold 1.0, no input: every value is a binary fraction.
    return one_neuron(NeuronModel(family="if", bias=0.75, threshold=1.0, reset=reset,
                                  refractory_steps=refractory), steps=steps)


def test_reset_zero():
    # t=0: 0.75; t=1: 1.5 > 1 spike -> 0; t=2: 0.75; t=3: 1.5 spike -> 0; ... period 2.
    r = bias_driven("zero", steps=8)
    assert spike_times(r) == [1, 3, 5, 7]
    assert trace(r, "voltage") == [0.75, 0.0] * 4


def test_reset_subtract():
    # t=0: 0.75
    # t=1: 1.5  > 1 spike -> 0.5     t=2: 1.25 > 1 spike -> 0.25
    # t=3: 1.0  not > 1 (strict)     t=4: 1.75 > 1 spike -> 0.75
    # t=5: 1.5 spike -> 0.5          t=6: 1.25 spike -> 0.25     t=7: 1.0 ...
    # Three spikes every four steps: the mean rate is bias / threshold = 0.75 per step.
    r = bias_driven("subtract", steps=12)
    assert spike_times(r) == [1, 2, 4, 5, 6, 8, 9, 10]
    assert trace(r, "voltage") == [0.75, 0.5, 0.25, 1.0, 0.75, 0.5, 0.25, 1.0, 0.75, 0.5, 0.25, 1.0]


def test_reset_none():
    # The voltage is never reset: 0.75, 1.5, 2.25, ... fires every step from t=1 on.
    r = bias_driven("none", steps=5)
    assert spike_times(r) == [1, 2, 3, 4]
    assert trace(r, "voltage") == [0.75, 1.5, 2.25, 3.0, 3.75]


def test_refractory_holds_the_voltage_at_zero():
    # refractory 2: t=0: 0.75; t=1: 1.5 spike -> 0; t=2, t=3: held at 0 (refractory);
    # t=4: 0.75; t=5: 1.5 spike; t=6, 7 held; t=8: 0.75; t=9: spike. Period 4.
    r = bias_driven("zero", refractory=2, steps=10)
    assert spike_times(r) == [1, 5, 9]
    assert trace(r, "voltage") == [0.75, 0, 0, 0, 0.75, 0, 0, 0, 0.75, 0]


def test_refractory_with_subtract_still_holds_zero_and_current_keeps_integrating():
    # alpha 0.5, beta 1, threshold 1, reset subtract, refractory 2, weight 1.5.
    # Input spike at 0 arrives at 1:
    # t=1: I = 1.5,    V = 1.5 > 1 spike, V = 1.5 - 1 = 0.5, refractory 2
    # t=2: I = 0.75,   refractory: V = 0 (the 0.5 left by subtract is dropped)
    # t=3: I = 0.375,  refractory: V = 0
    # t=4: I = 0.1875, V = 0 + 0.1875 = 0.1875
    # t=5: I = 0.09375, V = 0.28125
    r = one_neuron(NeuronModel(family="if", alpha=0.5, reset="subtract", refractory_steps=2),
                   stim_times=[0], weight=1.5, steps=6)
    assert spike_times(r) == [1]
    assert trace(r, "current") == [0, 1.5, 0.75, 0.375, 0.1875, 0.09375]
    assert trace(r, "voltage") == [0, 0.5, 0, 0, 0.1875, 0.28125]


def test_bias_driven_lif_fires_with_its_exact_period():
    # beta 0.9, bias 0.2, threshold 1, reset zero. k steps after a reset (k = 1, 2, ...)
    # V = 0.2·(1 + 0.9 + ... + 0.9^(k-1)) = 2·(1 - 0.9^k):
    #   k=1: 0.2   k=2: 0.38   k=3: 0.542   k=4: 0.6878   k=5: 0.81902
    #   k=6: 0.937118   k=7: 1.0434062 > 1  -> fires every 7th step.
    # From rest at t=0 (k=1), the spikes are at t = 6, 13, 20, 27, ...
    r = one_neuron(NeuronModel(family="lif", beta=0.9, bias=0.2), steps=30)
    assert spike_times(r) == [6, 13, 20, 27]
    np.testing.assert_allclose(trace(r, "voltage")[:7],
                               [0.2, 0.38, 0.542, 0.6878, 0.81902, 0.937118, 0.0],
                               rtol=0, atol=1e-14)
    assert r.rates_hz("n")[0] == pytest.approx(4 / 0.030)


def test_if_integrates_without_leak():
    # IF, weight 0.25, inputs at 0, 1, 2, 3 arrive at 1..4: V = 0.25, 0.5, 0.75, 1.0
    # (not > 1), and stays at 1.0 (no leak) until the fifth input at t=5: 1.25, spike.
    r = one_neuron(NeuronModel(family="if"), stim_times=[0, 1, 2, 3, 4], weight=0.25, steps=8)
    assert trace(r, "voltage") == [0, 0.25, 0.5, 0.75, 1.0, 0.0, 0.0, 0.0]
    assert spike_times(r) == [5]


def test_li_never_spikes():
    # LI, beta 0.5, weight 3, threshold 1 (ignored): V = 3, 1.5, 0.75, ... well above
    # the threshold at first, and never a spike.
    r = one_neuron(NeuronModel(family="li", beta=0.5), stim_times=[0], weight=3.0, steps=5)
    assert trace(r, "voltage") == [0, 3.0, 1.5, 0.75, 0.375]
    assert spike_times(r) == []
    assert r.summary()["populations"]["n"]["spikes"] == 0


# -- delays ---------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0, 3])
def test_an_event_at_t_arrives_at_t_plus_1_plus_delay(delay):
    r = one_neuron(NeuronModel(family="if", threshold=10.0), stim_times=[2], weight=1.0,
                   delay=delay, steps=10)
    arrival = 2 + 1 + delay
    expected = [0.0] * 10
    expected[arrival] = 1.0  # alpha 0: the current holds one step's input only
    assert trace(r, "current") == expected


def test_per_synapse_delays():
    # One input drives three neurons with extra delays 0, 2, 5; its spike at t=1
    # arrives at 2, 4 and 7.
    steps = 9
    proj, syn = connect("p", "stim", "n", 1, 3, [0, 0, 0], [0, 1, 2], [1.0, 2.0, 3.0],
                        delays=[0, 2, 5])
    net = Network(name="d", populations={"stim": spike_input("stim", 1),
                                         "n": Population(name="n", shape=(3,),
                                                         neuron=NeuronModel(family="if", threshold=9.0))},
                  projections=(proj,), probes=(Probe(population="n", variables=("current",)),))
    r = simulate(net, steps, {"stim": events("stim", 1, steps, [1], [0])}, synapses={"p": syn})
    cur = r.traces["n"]["current"]
    assert np.flatnonzero(cur[:, 0]).tolist() == [2] and cur[2, 0] == 1.0
    assert np.flatnonzero(cur[:, 1]).tolist() == [4] and cur[4, 1] == 2.0
    assert np.flatnonzero(cur[:, 2]).tolist() == [7] and cur[7, 2] == 3.0


def test_chain_of_three_neurons():
    # examples/chain.snn, built here as IR. Every neuron: beta 0.5, threshold 1, reset
    # zero, alpha 0. stim fires at 1, 2, 3, 4, 9, 10, 14, 16.
    #   a (weight 0.75): inputs arrive at 2, 3, 4, 5, 10, 11, 15, 17
    #     t=2: 0.75   t=3: 0.375 + 0.75 = 1.125 spike   t=4: 0.75   t=5: 1.125 spike
    #     t=10: 0.75  t=11: 1.125 spike   t=15: 0.75   t=16: 0.375   t=17: 0.9375
    #   b (weight 1.5): a's spikes arrive at 4, 6, 12; each alone gives 1.5: spike.
    #   c (weight 0.875, delay 2): b's spikes (4, 6, 12) arrive at 7, 9, 15
    #     t=7: 0.875  t=8: 0.4375  t=9: 0.21875 + 0.875 = 1.09375 spike
    #     t=15: 0.875 then decays: no spike.
    steps = 20
    stim_t = [1, 2, 3, 4, 9, 10, 14, 16]
    model = NeuronModel(family="lif", beta=0.5, threshold=1.0, reset="zero")
    pops = {"stim": spike_input("stim", 1, stim_t, [0] * 8)}
    for name in "abc":
        pops[name] = Population(name=name, shape=(1,), neuron=model)
    p1, s1 = connect("stim_a", "stim", "a", 1, 1, [0], [0], [0.75])
    p2, s2 = connect("a_b", "a", "b", 1, 1, [0], [0], [1.5])
    p3, s3 = connect("b_c", "b", "c", 1, 1, [0], [0], [0.875], delay=2)
    net = Network(name="chain", populations=pops, projections=(p1, p2, p3),
                  probes=(Probe(population="a", variables=("spikes", "voltage")),
                          Probe(population="b", variables=("spikes", "voltage")),
                          Probe(population="c", variables=("spikes", "voltage"))))
    r = simulate(net, steps, {"stim": events("stim", 1, steps, stim_t, [0] * 8)},
                 synapses={"stim_a": s1, "a_b": s2, "b_c": s3})
    assert spike_times(r, "stim") == stim_t
    assert spike_times(r, "a") == [3, 5, 11]
    assert spike_times(r, "b") == [4, 6, 12]
    assert spike_times(r, "c") == [9]
    assert trace(r, "voltage", "a")[15:18] == [0.75, 0.375, 0.9375]
    assert trace(r, "voltage", "c")[7:10] == [0.875, 0.4375, 0.0]
    assert trace(r, "voltage", "c")[15:17] == [0.875, 0.4375]
    # Work: 8 input events + 3 spikes of a + 3 of b, each with fan-out 1; c drives nobody.
    assert r.synaptic_events == 14
    assert r.neuron_updates == 3 * steps


def test_graded_input_scales_the_weight():
    # A dense raster override with a graded value: 0.5 through weight 3 adds 1.5.
    proj, syn = connect("p", "stim", "n", 1, 1, [0], [0], [3.0])
    net = Network(name="g", populations={"stim": spike_input("stim", 1),
                                         "n": Population(name="n", shape=(1,),
                                                         neuron=NeuronModel(family="if", threshold=9.0))},
                  projections=(proj,), probes=(Probe(population="n", variables=("current",)),))
    raster = np.zeros((4, 1), dtype=np.float64)
    raster[1, 0] = 0.5
    r = simulate(net, 4, {"stim": raster}, synapses={"p": syn})
    assert trace(r, "current") == [0.0, 0.0, 1.5, 0.0]
    assert spike_times(r, "stim") == [1]


def test_input_spikes_probe_and_counts():
    proj, syn = connect("p", "stim", "n", 2, 1, [0, 1], [0, 0], [0.1, 0.1])
    net = Network(name="g", populations={"stim": spike_input("stim", 2),
                                         "n": Population(name="n", shape=(1,),
                                                         neuron=NeuronModel(family="if", threshold=9.0))},
                  projections=(proj,), probes=(Probe(population="stim", variables=("spikes",)),))
    raster = np.array([[1, 0], [1, 1], [0, 0]], dtype=np.bool_)
    r = simulate(net, 3, {"stim": raster}, synapses={"p": syn})
    assert r.traces["stim"]["spikes"].tolist() == raster.tolist()
    assert r.spikes["stim"].times.tolist() == [0, 1, 1]
    assert r.spikes["stim"].indices.tolist() == [0, 0, 1]
    assert r.spike_counts("stim").tolist() == [2, 1]


# -- the twin: a slow, obviously-correct dense simulator ------------------------------


def twin(net: Network, steps: int, synapses: dict[str, Synapses],
         inputs: dict[str, InputEvents]) -> tuple[dict, dict]:
    """Step the network with dense matrices: per delay ``d``, ``W_d[post, pre]``.

    Populations are laid out in the network's order (the kernel puts inputs last), and
    every step is the NeuronModel docstring, vectorised. Returns (spikes, traces):
    ``spikes[pop] = (times, indices)``, ``traces[pop][var]`` for every population.
    """
    offsets, at = {}, 0
    for name, pop in net.populations.items():
        offsets[name] = (at, at + pop.size)
        at += pop.size
    n = at
    alpha = np.zeros(n, dtype=np.float64)
    beta = np.zeros(n, dtype=np.float64)
    thr = np.zeros(n, dtype=np.float64)
    bias = np.zeros(n, dtype=np.float64)
    refr_steps = np.zeros(n, dtype=np.int64)
    spiking = np.zeros(n, dtype=np.bool_)
    reset = np.full(n, "", dtype=object)
    raster = np.zeros((steps, n), dtype=np.float64)
    for name, pop in net.populations.items():
        lo, hi = offsets[name]
        if pop.is_input:
            raster[:, lo:hi] = inputs[name].raster()[:steps]
            continue
        m = pop.neuron
        alpha[lo:hi] = as_array(m.alpha, pop.size)
        beta[lo:hi] = as_array(m.beta, pop.size)
        thr[lo:hi] = as_array(m.threshold, pop.size)
        bias[lo:hi] = as_array(m.bias, pop.size)
        refr_steps[lo:hi] = m.refractory_steps
        spiking[lo:hi] = m.family != "li"
        reset[lo:hi] = m.reset
    W: dict[int, np.ndarray] = {}
    for proj in net.projections:
        syn = synapses[proj.name]
        (plo, _), (qlo, _) = offsets[proj.pre], offsets[proj.post]
        d_all = syn.delay_array()
        rows = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
        for d in np.unique(d_all).tolist():
            if d not in W:
                W[d] = np.zeros((n, n), dtype=np.float64)
            k = d_all == d
            np.add.at(W[d], (qlo + syn.indices[k].astype(np.int64), plo + rows[k]), syn.weights[k])
    max_d = max(W, default=0)
    pending = np.zeros((steps + max_d + 2, n), dtype=np.float64)
    V = np.zeros(n, dtype=np.float64)
    I = np.zeros(n, dtype=np.float64)
    ref = np.zeros(n, dtype=np.int64)
    rec = {var: np.zeros((steps, n), dtype=np.bool_ if var == "spikes" else np.float64)
           for var in ALL_VARS}
    for t in range(steps):
        I = alpha * I + pending[t]
        held = ref > 0
        V = np.where(held, 0.0, beta * V + I + bias)
        ref = np.where(held, ref - 1, ref)
        fired = spiking & ~held & (V > thr)
        V = np.where(fired & (reset == "zero"), 0.0, V)
        V = np.where(fired & (reset == "subtract"), V - thr, V)
        ref = np.where(fired, refr_steps, ref)
        s = fired.astype(np.float64) + raster[t]  # input slots never fire as neurons
        for d, Wd in W.items():
            pending[t + 1 + d] += Wd @ s
        rec["spikes"][t] = fired | (raster[t] != 0)
        rec["voltage"][t] = V
        rec["current"][t] = I
    spikes, traces = {}, {}
    for name, (lo, hi) in offsets.items():
        t_idx, i_idx = np.nonzero(rec["spikes"][:, lo:hi])
        spikes[name] = (t_idx, i_idx)
        traces[name] = {var: rec[var][:, lo:hi] for var in ALL_VARS}
    return spikes, traces


def assert_agree(net: Network, steps: int, synapses: dict, inputs: dict) -> RunResult:
    r = simulate(net, steps, inputs, synapses=synapses)
    want_spikes, want_traces = twin(net, steps, synapses, inputs)
    for name in net.populations:
        t_idx, i_idx = want_spikes[name]
        assert r.spikes[name].times.tolist() == t_idx.tolist(), name
        assert r.spikes[name].indices.tolist() == i_idx.tolist(), name
        for var, got in r.traces.get(name, {}).items():
            if var == "spikes":
                np.testing.assert_array_equal(got, want_traces[name][var], err_msg=name)
            else:
                np.testing.assert_allclose(got, want_traces[name][var], rtol=0, atol=1e-12,
                                           err_msg=f"{name}.{var}")
    return r


def random_network(seed: int, steps: int) -> tuple[Network, dict, dict]:
    """Mixed models, per-neuron parameters, recurrence and per-synapse delays."""
    rng = np.random.default_rng(seed)
    pops: dict[str, Population] = {}
    inputs: dict[str, InputEvents] = {}
    for k in range(rng.integers(1, 3)):
        name, size = f"in{k}", int(rng.integers(3, 12))
        pops[name] = spike_input(name, size)
        hits = rng.random((steps, size)) < 0.15
        t_idx, i_idx = np.nonzero(hits)
        # Input 1 is graded: it emits values in [0.5, 1.5) rather than 1.0.
        vals = None if k == 0 else rng.uniform(0.5, 1.5, t_idx.size)
        inputs[name] = events(name, size, steps, t_idx, i_idx, vals)
    families = ["lif", "if", "li", "lif"]
    for k in range(int(rng.integers(2, 5))):
        name, size = f"p{k}", int(rng.integers(4, 20))
        family = families[k % len(families)]
        per_neuron = rng.random() < 0.5
        thr = ArrayValue(rng.uniform(0.5, 1.5, size), f"thr{k}.npy") if per_neuron else 1.0
        model = NeuronModel(
            family=family,
            alpha=float(rng.choice([0.0, 0.3, 0.7])),
            beta=1.0 if family == "if" else float(rng.uniform(0.6, 0.95)),
            threshold=thr,
            bias=ArrayValue(rng.uniform(-0.05, 0.15, size), f"bias{k}.npy") if per_neuron else 0.02,
            reset=str(rng.choice(["zero", "subtract", "none"])),
            refractory_steps=int(rng.integers(0, 4)),
        )
        pops[name] = Population(name=name, shape=(size,), neuron=model)
    names = list(pops)
    neuron_names = [n for n in names if not pops[n].is_input]
    projections, synapses = [], {}
    pairs = [(i, neuron_names[0]) for i in names if pops[i].is_input]
    pairs += [(a, b) for a in neuron_names for b in neuron_names if rng.random() < 0.6]
    pairs.append((neuron_names[-1], neuron_names[-1]))  # recurrence, always
    for j, (pre, post) in enumerate(pairs):
        n_pre, n_post = pops[pre].size, pops[post].size
        mask = rng.random((n_pre, n_post)) < 0.4
        pre_idx, post_idx = np.nonzero(mask)
        w = rng.normal(0.3, 0.4, pre_idx.size)
        name = f"c{j}"
        if rng.random() < 0.5:
            proj, syn = connect(name, pre, post, n_pre, n_post, pre_idx, post_idx, w,
                                delays=rng.integers(0, 5, pre_idx.size))
        else:
            proj, syn = connect(name, pre, post, n_pre, n_post, pre_idx, post_idx, w,
                                delay=int(rng.integers(0, 3)))
        projections.append(proj)
        synapses[name] = syn
    probes = tuple(Probe(population=n, variables=ALL_VARS) for n in neuron_names)
    probes += tuple(Probe(population=n, variables=("spikes",)) for n in names if pops[n].is_input)
    net = Network(name=f"random{seed}", populations=pops, projections=tuple(projections),
                  probes=probes)
    return net, synapses, inputs


@pytest.mark.parametrize("seed", range(8))
def test_agrees_with_the_dense_twin_on_random_networks(seed):
    steps = 120
    net, synapses, inputs = random_network(seed, steps)
    r = assert_agree(net, steps, synapses, inputs)
    # The networks must be doing something, or agreement proves little.
    assert r.summary()["totals"]["spikes"] > 0


def test_twin_agreement_covers_uniform_and_mixed_delays():
    # Seeds above draw per-synapse and shared delays; this pins a network with only one
    # shared nonzero delay (the kernel's fast path without a delay array).
    steps = 60
    rng = np.random.default_rng(7)
    pre_idx, post_idx = np.nonzero(rng.random((10, 10)) < 0.3)
    proj, syn = connect("rec", "a", "a", 10, 10, pre_idx, post_idx,
                        rng.normal(0.4, 0.2, pre_idx.size), delay=2)
    pin, sin = connect("in", "stim", "a", 5, 10, np.arange(5, dtype=np.int64),
                       np.arange(5, dtype=np.int64), np.full(5, 1.2, dtype=np.float64), delay=2)
    pops = {"stim": spike_input("stim", 5),
            "a": Population(name="a", shape=(10,), neuron=NeuronModel(family="lif", beta=0.8, alpha=0.4))}
    net = Network(name="uni", populations=pops, projections=(pin, proj),
                  probes=(Probe(population="a", variables=ALL_VARS),))
    t_idx, i_idx = np.nonzero(rng.random((steps, 5)) < 0.2)
    assert_agree(net, steps, {"rec": syn, "in": sin}, {"stim": events("stim", 5, steps, t_idx, i_idx)})


# -- the canonical network of perf.md -------------------------------------------------


def canonical(n: int, steps: int, seed: int = 1) -> tuple[Network, dict, dict]:
    """perf.md's network: 80 % exc, N/4 Bernoulli(0.02) inputs, K = 100 + 25, beta 0.9."""
    rng = np.random.default_rng(seed)
    n_exc, n_in = int(0.8 * n), n // 4
    # Recurrent Erdős–Rényi with p = 100 / N, self-loops dropped.
    mask = rng.random((n, n)) < 100.0 / n
    np.fill_diagonal(mask, False)
    pre_r, post_r = np.nonzero(mask)
    w_r = np.where(pre_r < n_exc, 0.04, -0.20)
    in_mask = rng.random((n_in, n)) < 25.0 / n_in
    pre_i, post_i = np.nonzero(in_mask)
    model = NeuronModel(family="lif", beta=0.9, threshold=1.0, reset="zero", alpha=0.0)
    pops = {"stim": spike_input("stim", n_in),
            "net": Population(name="net", shape=(n,), neuron=model)}
    p_in, s_in = connect("input", "stim", "net", n_in, n, pre_i, post_i, np.full(pre_i.size, 0.12, dtype=np.float64))
    p_rec, s_rec = connect("rec", "net", "net", n, n, pre_r, post_r, w_r)
    net = Network(name=f"canonical{n}", populations=pops, projections=(p_in, p_rec),
                  probes=(Probe(population="net", variables=("voltage",)),))
    t_idx, i_idx = np.nonzero(rng.random((steps, n_in)) < 0.02)
    return net, {"input": s_in, "rec": s_rec}, {"stim": events("stim", n_in, steps, t_idx, i_idx)}


def test_canonical_network_rate_and_twin():
    n, steps = 1000, 1000
    net, synapses, inputs = canonical(n, steps)
    r = assert_agree(net, steps, synapses, inputs)
    rate = r.summary()["populations"]["net"]["mean_rate_hz"]
    assert 10.0 <= rate <= 14.0, rate
    # Work counters: every spike and input event times its fan-out.
    fan_out = np.diff(synapses["rec"].indptr)
    fan_in = np.diff(synapses["input"].indptr)
    want = fan_out[r.spikes["net"].indices].sum() + fan_in[r.spikes["stim"].indices].sum()
    assert r.synaptic_events == want
    assert r.neuron_updates == n * steps


# -- inputs: defaults and mistakes ----------------------------------------------------


def small_net() -> tuple[Network, dict]:
    proj, syn = connect("p", "stim", "n", 2, 1, [0, 1], [0, 0], [0.6, 0.6])
    net = Network(name="small", populations={
        "stim": spike_input("stim", 2, [0, 0, 3], [0, 1, 1]),
        "n": Population(name="n", shape=(1,), neuron=NeuronModel(family="if"))},
        projections=(proj,), probes=(Probe(population="n", variables=("voltage",)),))
    return net, {"p": syn}


def test_default_inputs_come_from_the_encoder():
    net, syn = small_net()
    r = simulate(net, 6, synapses=syn)
    # The spike file fires both sources at 0 (1.2 arrives at 1: spike) and one at 3.
    assert r.spikes["stim"].times.tolist() == [0, 0, 3]
    assert spike_times(r) == [1]
    assert trace(r, "voltage") == [0.0, 0.0, 0.0, 0.0, 0.6, 0.6]


def test_override_unknown_population_suggests_a_name():
    net, syn = small_net()
    with pytest.raises(UsageError, match=r"population 'stm'.*\n.*did you mean 'stim'"):
        simulate(net, 3, {"stm": np.zeros((3, 2), dtype=np.bool_)}, synapses=syn)


def test_override_of_a_neuron_population_is_refused():
    net, syn = small_net()
    with pytest.raises(UsageError, match="'n', which is not an input"):
        simulate(net, 3, {"n": np.zeros((3, 1), dtype=np.bool_)}, synapses=syn)


def test_override_raster_of_the_wrong_width():
    net, syn = small_net()
    with pytest.raises(UsageError, match=r"has shape \[3, 5\]; expected \[steps, 2\]"):
        simulate(net, 3, {"stim": np.zeros((3, 5), dtype=np.bool_)}, synapses=syn)


def test_override_too_short():
    net, syn = small_net()
    with pytest.raises(UsageError, match="covers 2 steps, the run has 3"):
        simulate(net, 3, {"stim": np.zeros((2, 2), dtype=np.bool_)}, synapses=syn)


def test_override_events_of_the_wrong_size():
    net, syn = small_net()
    with pytest.raises(UsageError, match="for 3 neurons, the population has 2"):
        simulate(net, 3, {"stim": events("stim", 3, 3, [0], [2])}, synapses=syn)


def test_longer_override_is_cut_to_the_run():
    net, syn = small_net()
    raster = np.ones((10, 2), dtype=np.bool_)
    r = simulate(net, 4, {"stim": raster}, synapses=syn)
    assert r.spikes["stim"].count == 8


@pytest.mark.parametrize("steps", [-1, 2.5, True])
def test_bad_steps(steps):
    net, syn = small_net()
    with pytest.raises(UsageError, match="steps must be a whole number"):
        simulate(net, steps, synapses=syn)


def test_zero_steps():
    net, syn = small_net()
    r = simulate(net, 0, synapses=syn)
    assert r.traces["n"]["voltage"].shape == (0, 1)
    assert r.summary()["totals"]["spikes"] == 0


def test_synapses_that_do_not_fit_are_refused():
    net, syn = small_net()
    wrong = synapses_from_coo("p", 3, 1, [0], [0], [1.0])
    with pytest.raises(UsageError, match="'p' are 3 -> 1, the populations are 2 -> 1"):
        simulate(net, 3, synapses={"p": wrong})
    with pytest.raises(UsageError, match="no synapses for projection 'p'"):
        simulate(net, 3, synapses={})


def test_probe_of_an_input_voltage_is_refused():
    net, syn = small_net()
    bad = Network(name="b", populations=net.populations, projections=net.projections,
                  probes=(Probe(population="stim", variables=("voltage",)),))
    with pytest.raises(UsageError, match="inputs have only spikes"):
        simulate(bad, 3, synapses=syn)


def test_a_network_is_not_changed_and_runs_repeat_exactly():
    net, synapses, inputs = random_network(3, 50)
    a = simulate(net, 50, inputs, synapses=synapses)
    b = simulate(net, 50, inputs, synapses=synapses)
    for name in net.populations:
        np.testing.assert_array_equal(a.spikes[name].times, b.spikes[name].times)
        np.testing.assert_array_equal(a.spikes[name].indices, b.spikes[name].indices)


def test_the_real_lowering_gives_the_hand_built_synapses():
    from neurocomp.compiler.lower import lower

    net, synapses, inputs = random_network(5, 80)
    ours = simulate(net, 80, inputs, synapses=synapses)
    theirs = simulate(net, 80, inputs, synapses=lower(net))
    for name in net.populations:
        np.testing.assert_array_equal(ours.spikes[name].times, theirs.spikes[name].times)
        np.testing.assert_array_equal(ours.spikes[name].indices, theirs.spikes[name].indices)


# -- RunResult ------------------------------------------------------------------------


def test_result_save_load_round_trip(tmp_path):
    net, synapses, inputs = random_network(2, 40)
    r = simulate(net, 40, inputs, synapses=synapses)
    r.save(tmp_path / "run")
    back = RunResult.load(tmp_path / "run")
    assert (back.network, back.steps, back.dt_ms) == (r.network, r.steps, r.dt_ms)
    assert (back.synaptic_events, back.neuron_updates) == (r.synaptic_events, r.neuron_updates)
    assert list(back.spikes) == list(r.spikes)
    for name, ev in r.spikes.items():
        np.testing.assert_array_equal(back.spikes[name].times, ev.times)
        np.testing.assert_array_equal(back.spikes[name].indices, ev.indices)
        assert back.spikes[name].is_input == ev.is_input
        for var, tr in r.traces.get(name, {}).items():
            assert back.traces[name][var].dtype == tr.dtype
            np.testing.assert_array_equal(back.traces[name][var], tr)
    assert back.summary() == r.summary()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary == r.summary()
    with np.load(tmp_path / "run" / "spikes.npz") as data:
        assert "p0.times" in data.files and "p0.voltage" in data.files


def test_result_save_refuses_to_overwrite(tmp_path):
    r = bias_driven("zero", steps=4)
    (tmp_path / "summary.json").write_text("mine")
    with pytest.raises(UsageError, match=r"summary.json' already exists"):
        r.save(tmp_path)
    assert (tmp_path / "summary.json").read_text() == "mine"
    assert not (tmp_path / "spikes.npz").exists()
    r.save(tmp_path, overwrite=True)
    assert RunResult.load(tmp_path).spikes["n"].times.tolist() == [1, 3]


def test_result_load_of_a_folder_without_a_run(tmp_path):
    with pytest.raises(UsageError, match="spikes.npz' does not exist"):
        RunResult.load(tmp_path)


def test_result_summary_and_rates():
    # 3 populations by hand: a 2-neuron population over 10 steps of 1 ms.
    r = RunResult(network="x", steps=10, dt_ms=1.0, spikes={
        "in": SpikeEvents(times=np.array([0, 1], dtype=np.int64),
                          indices=np.array([0, 0], dtype=np.int64), n=1, is_input=True),
        "a": SpikeEvents(times=np.array([2, 3, 5], dtype=np.int64),
                         indices=np.array([0, 0, 0], dtype=np.int64), n=2)},
        wall_s=0.5, synaptic_events=10, neuron_updates=20)
    # Neuron 0 fired 3 times in 10 ms (300 Hz), neuron 1 never.
    assert r.rates_hz("a").tolist() == [300.0, 0.0]
    s = r.summary()
    assert s["populations"]["a"] == {"size": 2, "input": False, "spikes": 3,
                                     "mean_rate_hz": 150.0, "silent_fraction": 0.5}
    assert s["totals"]["spikes"] == 3 and s["totals"]["input_events"] == 2
    assert s["synaptic_events_per_s"] == 20.0 and s["neuron_updates_per_s"] == 40.0
    json.dumps(s)
    text = repr(r)
    assert "RunResult('x': 10 steps of 1 ms" in text and "150.000 Hz" in text
    with pytest.raises(UsageError, match="did you mean 'a'"):
        r.rates_hz("aa")
