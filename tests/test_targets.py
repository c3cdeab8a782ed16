"""The family registry: every bundled family is whole, and a new family plugs in from outside.

The toy family below is what docs/extending.md walks through: a shift-leak
integrate-and-fire neuron (``V = (V >> leak_shift) + x``; spike when ``V > threshold``;
reset to 0) with a quantizer and a plain-numpy kernel, registered from this module. It
edits nothing inside ``neurocomp/``, compiles ``examples/chain.snn`` through the generic
partitioner, placer and router, and runs it through ``emulate``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.load import list_chips, load_chip
from neurocomp.compiler.quantize import describe, keep_nonzero
from neurocomp.diagnostics import ChipSpecError, Collector, QuantizationError
from neurocomp.emulator.kernels import KernelRun
from neurocomp.emulator.reference import simulate
from neurocomp.ir.quantized import QPopulation, QProjection, QuantizationReport, QuantizedNetwork
from neurocomp.ir.result import Counters
from neurocomp.ir.values import as_array
from neurocomp.targets import KERNEL_PARTS, Family, families, family, register, unregister

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny.toml"


# --------------------------------------------------------------------------- every family is whole


def test_every_bundled_chip_names_a_registered_family():
    assert {load_chip(name).neuron.family for name in list_chips()} <= {f.name for f in families()}


@pytest.mark.parametrize("fam", list(families()), ids=lambda f: f.name)
def test_every_registered_family_provides_every_part(fam):
    assert callable(fam.quantize_fn())
    kernel = fam.kernel_module()
    assert all(callable(getattr(kernel, part, None)) for part in KERNEL_PARTS), fam.name
    assert set(fam.traces) <= {"voltage", "current"} and "voltage" in fam.traces
    chips = [load_chip(name) for name in list_chips() if load_chip(name).neuron.family == fam.name]
    assert chips, f"no bundled chip uses family {fam.name}"
    for chip in chips:  # the chip loader checked chip_keys; the native name agrees
        assert chip.neuron.native == fam.native


def test_a_chip_of_an_unknown_family_is_refused_naming_the_known_ones(tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text(TINY.read_text().replace('family = "loihi_cuba_lif"', 'family = "odd"'))
    with pytest.raises(ChipSpecError, match="unknown neuron family 'odd'; known: loihi_cuba_lif, "
                                            "truenorth, akida"):
        load_chip(path)


# --------------------------------------------------------------------------- a toy family

SCALE_BITS = 8  # chain.snn's voltages over 20 steps are all multiples of 2^-8


def quantize_toy(network, chip, synapses):
    """Weights and thresholds times 2^SCALE_BITS; beta must be a power of 1/2."""
    errors, pops, projs = Collector(), {}, {}
    for name, pop in network.populations.items():
        if pop.is_input:
            pops[name] = QPopulation(name=name, size=pop.size, is_input=True)
            continue
        beta = as_array(pop.neuron.beta, pop.size)
        shift = -np.log2(np.where(beta > 0, beta, 2.0 ** -63))
        if not np.all(shift == np.round(shift)):
            errors.error(f"{describe(pop)}: beta must be a power of 1/2 on {chip.name}", span=pop.span)
            continue
        threshold = np.round(as_array(pop.neuron.threshold, pop.size) * 2 ** SCALE_BITS)
        pops[name] = QPopulation(name=name, size=pop.size, is_input=False, v_scale=2.0 ** -SCALE_BITS,
                                 params={"threshold": threshold.astype(np.int64),
                                         "leak_shift": shift.astype(np.int64)})
    errors.raise_if_any(QuantizationError)
    for proj in network.projections:
        syn = synapses[proj.name]
        weights = np.round(syn.weights * 2 ** SCALE_BITS).astype(np.int64)
        projs[proj.name] = QProjection(name=proj.name, pre=proj.pre, post=proj.post,
                                       synapses=keep_nonzero(syn, weights), weight_bits=16)
    return QuantizedNetwork(network=network, chip=chip, family="toy_if", populations=pops,
                            projections=projs, report=QuantizationReport())


# The kernel: this module itself provides prepare, run and overflow_message.

def prepare(mapping):
    return mapping


def overflow_message(prepared, run):
    return None


def run(m, inputs):
    steps, n = inputs.steps, m.n_comp
    slots = int(m.syn_delay.max(initial=0)) + 2  # a spike lands 1 + delay steps later
    x = np.zeros((slots, n), dtype=np.int64)
    v = np.zeros(n, dtype=np.int64)
    core_ids = np.unique(np.asarray(m.comp_core))
    col = np.searchsorted(core_ids, m.comp_core)
    cnt = np.zeros((len(Counters.FIELDS), steps, core_ids.size), dtype=np.int64)
    out, synops = Counters.FIELDS.index("spikes_out"), Counters.FIELDS.index("synops")
    v_out = np.zeros((steps, inputs.probe_comp.size), dtype=np.int64)
    spikes = []

    def send(source, t):
        for axon in m.route_axon[m.route_ptr[source]:m.route_ptr[source + 1]]:
            for k in range(m.axon_syn_ptr[axon], m.axon_syn_ptr[axon + 1]):
                x[(t + 1 + m.syn_delay[k]) % slots, m.syn_target[k]] += m.syn_weight[k]
                cnt[synops, t, col[m.syn_target[k]]] += 1

    for t in range(steps):
        v = (v >> m.params["leak_shift"]) + x[t % slots]
        x[t % slots] = 0
        fired = np.flatnonzero(v > m.params["threshold"])
        v[fired] = 0
        for c in fired:
            spikes.append((t, c))
            cnt[out, t, col[c]] += 1
            send(c, t)
        for source in inputs.in_src[inputs.in_ptr[t]:inputs.in_ptr[t + 1]]:
            send(source, t)
        v_out[t] = v[inputs.probe_comp]
    step, comp = (np.array(a, dtype=np.int64) for a in zip(*spikes)) if spikes else (
        np.zeros(0, np.int64), np.zeros(0, np.int64))
    return KernelRun(spike_step=step, spike_comp=comp, counters=cnt, core_ids=core_ids,
                     traces={"v": v_out})


TOY = Family(name="toy_if", native="toy", chip_keys=("numerics.state.v",),
             quantizer=quantize_toy, kernel=sys.modules[__name__], traces={"voltage": "v"})


@pytest.fixture
def toy_chip(tmp_path):
    register(TOY)
    path = tmp_path / "toy.toml"
    path.write_text(TINY.read_text().replace('family = "loihi_cuba_lif"', 'family = "toy_if"')
                    .replace('native = "loihi"', 'native = "toy"').replace('name = "tiny"', 'name = "toy"')
                    # the toy stores weights times 2^8 (up to 384 in chain.snn): 16-bit weights
                    .replace('bits = { value = [1, 2, 4, 8], source', 'bits = { value = [1, 2, 4, 8, 16], source'))
    yield load_chip(path)
    unregister("toy_if")


def test_a_toy_family_registered_from_a_test_compiles_and_runs_like_the_float_model(toy_chip):
    net = nc.load(ROOT / "examples" / "chain.snn")
    mapping = nc.compile(net, chip=toy_chip)
    assert mapping.family == "toy_if" and mapping.n_comp == 3
    result = nc.run(mapping, steps=20)
    # chain.snn's own hand derivation: a fires at 3, 5, 11; b at 4, 6, 12; c at 9
    for pop, steps in {"a": [3, 5, 11], "b": [4, 6, 12], "c": [9]}.items():
        assert result.spikes[pop].times.tolist() == steps
    reference = simulate(net, steps=20)
    for pop in "abc":  # exact: no shift drops a bit at this scale
        np.testing.assert_array_equal(result.traces[pop]["voltage"], reference.traces[pop]["voltage"])
    assert result.counters.spikes_out.sum() == 7 and result.counters.synops.sum() == 8 + 3 + 3


def test_a_toy_family_refusal_is_located(toy_chip):
    net = nc.load(ROOT / "examples" / "chain.snn")
    odd = dataclasses.replace(net, populations={
        **net.populations, "a": dataclasses.replace(
            net.populations["a"], neuron=dataclasses.replace(net.populations["a"].neuron, beta=0.3))})
    with pytest.raises(QuantizationError, match="population 'a': beta must be a power of 1/2 on toy"):
        nc.compile(odd, chip=toy_chip)


def test_the_toy_family_is_gone_after_the_test():
    assert "toy_if" not in {f.name for f in families()}
    with pytest.raises(Exception, match="unknown neuron family 'toy_if'"):
        family("toy_if")
