"""Fan-in splitting on TrueNorth: partial-sum populations for neurons with more than 256
sources (neurocomp/targets/truenorth/fan_in.py).

The expectations are the float model of the network as written (the reference
simulation, a second implementation) and figures derived by hand from the scheme.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.compiler.lower import lower
from neurocomp.compiler.quantize import quantize
from neurocomp.emulator.reference import simulate
from neurocomp.ir.connectors import Dense
from neurocomp.ir.encoders import SpikeFile
from neurocomp.ir.network import Network, NeuronModel, Population, Probe, Projection
from neurocomp.ir.values import ArrayValue
from neurocomp.targets.truenorth.fan_in import PARTIAL_THRESHOLD_FRACTION, max_fan_in, split_fan_in

ROOT = Path(__file__).resolve().parent.parent
CHIP = nc.load_chip("truenorth")


def _mlp(sizes: list[int], seed: int, steps: int = 0, rate: float = 0.0) -> Network:
    """An MLP of IF neurons with random normal weights; the input fires at random."""
    rng = np.random.default_rng(seed)
    t = np.nonzero(rng.random((steps, sizes[0])) < rate)
    enc = SpikeFile(times=t[0].astype(np.int64), indices=t[1].astype(np.int64), path="in.npz")
    pops = {"l0": Population(name="l0", shape=(sizes[0],), encoder=enc)}
    projs = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        pops[f"l{i}"] = Population(name=f"l{i}", shape=(b,), neuron=NeuronModel(family="if", threshold=1.0))
        w = rng.normal(0.0, 2.0 / np.sqrt(a), size=(b, a))
        projs.append(Projection(name=f"p{i}", pre=f"l{i - 1}", post=f"l{i}",
                                connector=Dense(ArrayValue(w, f"w{i}.npy"))))
    return Network(name="mlp", populations=pops, projections=tuple(projs),
                   probes=tuple(Probe(population=p, variables=("spikes",)) for p in pops if p != "l0"))


def test_a_neuron_with_300_sources_is_summed_in_two_groups_by_hand():
    # 300 sources > 256 axons (l1 sends nothing, so all 256 are its): K = ceil(300 / 256)
    # = 2 groups of 150; with mixed-sign
    # weights each group has an excitatory and an inhibitory partial population of the
    # target's size; the target listens to them one to one with +-theta/2.
    net = _mlp([300, 4], seed=0)
    syn = lower(net)
    assert max_fan_in([(net.projections[0], syn["p1"])], 4) == 300
    new, new_syn, (note,) = split_fan_in(net, syn, 256)
    assert list(new.populations) == ["l0", "l1_part0_exc", "l1_part0_inh", "l1_part1_exc", "l1_part1_inh", "l1"]
    w = net.projections[0].connector.weights.values
    for k in (0, 1):
        for word, sign in (("exc", 1), ("inh", -1)):
            s = new_syn[f"p1_part{k}_{word}"]
            pre = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
            assert set(np.unique(pre)) <= set(range(150 * k, 150 * (k + 1)))
            np.testing.assert_array_equal(s.weights, np.abs(w[s.indices, pre]))
            assert np.all(sign * w[s.indices, pre] > 0)
            c = new_syn[f"l1_part{k}_{word}->l1"]
            np.testing.assert_array_equal(c.indices, np.arange(4))
            np.testing.assert_array_equal(c.weights, sign * PARTIAL_THRESHOLD_FRACTION * 1.0)
    assert "300 sources per neuron exceed 256 axons" in note and "2 groups of at most 150" in note
    # Every synapse of the original projection is in exactly one partial.
    held = np.zeros_like(w)
    for k in (0, 1):
        for word, sign in (("exc", 1), ("inh", -1)):
            s = new_syn[f"p1_part{k}_{word}"]
            pre = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
            np.add.at(held, (s.indices, pre), sign * s.weights)
    np.testing.assert_allclose(held, w, rtol=0, atol=0)


def test_the_keyword_spotting_mlp_compiles_on_truenorth():
    # issue 11: a 390-256-256-12 MLP with random weights.
    m = nc.compile(_mlp([390, 256, 256, 12], seed=1), chip=CHIP)
    assert m.n_comp > 256 + 256 + 12
    assert any("partial-sum" in n for n in m.quantization.warnings)


def test_split_neurons_follow_the_float_model():
    # 600 random inputs at 5 % per tick into 20 IF neurons: the chip (partial sums,
    # quantized weights) fires within 15 % of the float model's spikes in total (measured:
    # 208 against 186; with quanta of exactly theta/2, which need three to exceed theta: 146), and its
    # per-neuron counts follow the float model's (correlation above 0.9). (At 10 % per
    # tick each group's input is above theta/2 per tick, its partials fire every tick and
    # the sum is lost: the limit the module docstring names.)
    net = _mlp([600, 20], seed=2, steps=300, rate=0.05)
    ref = simulate(net, steps=300).spike_counts("l1").astype(float)
    chip = nc.run(nc.compile(net, chip=CHIP), steps=300).spike_counts("l1").astype(float)
    assert ref.sum() > 150
    assert abs(chip.sum() - ref.sum()) < 0.15 * ref.sum()
    assert np.corrcoef(ref, chip)[0, 1] > 0.9


def test_a_population_within_the_axons_is_left_alone():
    # 256 sources fit a read-out; a population that sends spikes keeps one axon for its
    # splitters, so 256 sources are split there and 255 are not.
    assert list(quantize(_mlp([256, 4], seed=3), CHIP).network.populations) == ["l0", "l1"]
    assert list(quantize(_mlp([255, 4, 2], seed=3), CHIP).network.populations) == ["l0", "l1", "l2"]
    split = list(quantize(_mlp([256, 4, 2], seed=3), CHIP).network.populations)
    assert split[:-1] == ["l0", "l1_part0_exc", "l1_part0_inh", "l1_part1_exc", "l1_part1_inh", "l1"]


@pytest.mark.slow
def test_mnist_mlp_classifies_on_truenorth():
    # issue 11: at least 90 % of the bundled test digits (the float model: 97 %).
    rep = nc.validate(ROOT / "examples" / "mnist_mlp.snn", chip="truenorth", steps=100,
                      samples=ROOT / "examples" / "data" / "mnist_test.npz")
    assert rep.classifier.accuracy_ref >= 0.95
    assert rep.classifier.accuracy_chip >= 0.90
