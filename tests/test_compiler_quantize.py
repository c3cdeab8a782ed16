"""The quantize pass: every integer checked against a hand derivation or an independent twin.

Loihi numbers are Lava's bit-accurate model (/work/shared/reference/loihi.md §1): 12-bit
decays with offsets u: 1, v: 0; threshold mantissa 17 bits compared after << 6; input
<< 6; bias mantissa 13 bits signed with exponent 0..7; weights 8-bit Dense rule; weight
exponent -7..7; u, v 24 bits (u_max = 2**23 - 1 = 8388607).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.compiler.encode import encode
from neurocomp.compiler.lower import lower
from neurocomp.compiler.quantize import quantize, report_text
from neurocomp.targets.akida.quantize import choose_scale_shift, choose_step, narrowest, symmetric_levels
from neurocomp.targets.loihi.quantize import (applied_decay, bias_registers, choose_exponent, decay_register,
                                               lava_dense_weights, quantize_weights, weight_format)
from neurocomp.diagnostics import QuantizationError, UsageError
from neurocomp.dsl.parse import parse
from neurocomp.ir.build import build
from neurocomp.ir.connectors import Dense
from neurocomp.ir.encoders import RateCode
from neurocomp.ir.network import Network, NeuronModel, Population, Projection
from neurocomp.ir.values import ArrayValue

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def loihi():
    return load_chip("loihi")


@pytest.fixture(scope="module")
def akida():
    return load_chip("akida")


def net_of(text: str, base: Path | None = None) -> Network:
    return build(parse(text, "t.snn"), base)


def dense_net(w, *, pre_input: bool = True, src_model: NeuronModel | None = None, **model) -> Network:
    """``src -> a`` through a dense ``[post, pre]`` matrix; ``src`` an input or a population
    (``src_model``, default IF)."""
    w = np.asarray(w, dtype=np.float64)
    if pre_input:
        src = Population(name="src", shape=(w.shape[1],), encoder=RateCode(value=1.0, max_rate_hz=1000.0, seed=0))
    else:
        src = Population(name="src", shape=(w.shape[1],), neuron=src_model or NeuronModel(family="if"))
    model = {"family": "lif", "beta": 0.5, **model}
    post = Population(name="a", shape=(w.shape[0],), neuron=NeuronModel(**model))
    proj = Projection(name="src->a", pre="src", post="a", connector=Dense(ArrayValue(w, "w.npy")))
    return Network(name="t", populations={"src": src, "a": post}, projections=(proj,))


def message(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value)


# ======================================================================================
# Loihi: the arithmetic rules, one at a time.


def test_decay_registers_from_time_constants_by_hand(loihi) -> None:
    net = net_of("population a[1] : LIF(tau_mem = 20 ms, tau_syn = 5 ms)")
    q = quantize(net, loihi)
    p = q.populations["a"].params
    # alpha = exp(-1/5) = 0.818730753; 4096 * (1 - alpha) = 742.467 -> 742; du = 742 - offset_u 1 = 741.
    # applied: (4096 - (741 + 1)) / 4096 = 3354 / 4096 = 0.818847656
    assert p["du"].tolist() == [741]
    # beta = exp(-1/20) = 0.951229425; 4096 * (1 - beta) = 199.764 -> 200; dv = 200 - offset_v 0 = 200.
    # applied: 3896 / 4096 = 0.951171875
    assert p["dv"].tolist() == [200]
    assert applied_decay(741, 1, 12) == 3354 / 4096
    err = q.report.populations[0].max_errors
    assert err["alpha"] == pytest.approx(abs(3354 / 4096 - math.exp(-0.2)) / math.exp(-0.2), rel=1e-12)
    assert err["beta"] == pytest.approx(abs(3896 / 4096 - math.exp(-0.05)) / math.exp(-0.05), rel=1e-12)


def test_decay_register_edges() -> None:
    # alpha = 0: 4096 * 1 - 1 = 4095, factor (4096 - 4096) / 4096 = 0: the current holds one step's input.
    # beta = 1: 0, factor 1 (no leak). beta = 0.5: 2048 exactly. A decay > 1 clips to 0.
    assert decay_register(np.array([0.0, 0.5, 1.0, 1.2]), 1, 12).tolist() == [4095, 2047, 0, 0]
    assert decay_register(np.array([0.0, 0.5, 1.0]), 0, 12).tolist() == [4095, 2048, 0]


def test_alpha_one_is_out_of_reach_on_loihi_1_and_reported(loihi) -> None:
    net = net_of("population a[1] : LIF(beta = 0.5, alpha = 1.0)")
    q = quantize(net, loihi)
    # du = rint(4096 * 0) - 1 = -1 -> clipped to 0; the chip applies 4095/4096, not 1.
    assert q.populations["a"].params["du"].tolist() == [0]
    assert q.report.populations[0].max_errors["alpha"] == 1 / 4096
    assert ("population 'a': alpha = 1 is out of reach on loihi: du = 0 gives the slowest decay, "
            "0.999756 per step (decay offset 1)") in q.report.warnings


def test_weight_format_is_lavas_dense_range() -> None:
    # (lo, hi, step); step = 2**(8 - bits + mixed)
    assert weight_format(8, 8, "mixed") == (-256, 254, 2)
    assert weight_format(8, 8, "excitatory") == (0, 255, 1)
    assert weight_format(8, 4, "inhibitory") == (-240, 0, 16)
    assert weight_format(8, 1, "excitatory") == (0, 128, 128)
    assert weight_format(8, 2, "mixed") == (-256, 128, 128)


def test_lava_dense_rule_on_loihi_md_examples() -> None:
    # loihi.md §1.3: mixed sign, 8 bits -> k = 1, odd weights floor to even.
    got = lava_dense_weights(np.array([3, -43, 71, -7]), max_bits=8, bits=8, sign_mode="mixed")
    assert got.tolist() == [2, -44, 70, -8]
    # clip to -256..255 first, then floor to even: 300 -> 255 -> 254, -300 -> -256
    assert lava_dense_weights(np.array([300, -300]), max_bits=8, bits=8, sign_mode="mixed").tolist() == [254, -256]
    # excitatory: clip to 0..255, k = 0
    assert lava_dense_weights(np.array([300, -5, 7]), max_bits=8, bits=8, sign_mode="excitatory").tolist() == [255, 0, 7]
    # inhibitory 4-bit: magnitude 43 -> (43 >> 4) << 4 = 32 -> -32; a positive weight clips to 0
    assert lava_dense_weights(np.array([-43, 5, -300]), max_bits=8, bits=4, sign_mode="inhibitory").tolist() == [-32, 0, -240]
    # mixed 4-bit: k = 5; 71 -> 64, -7 -> floor(-7/32) * 32 = -32
    assert lava_dense_weights(np.array([71, -7]), max_bits=8, bits=4, sign_mode="mixed").tolist() == [64, -32]


def test_quantize_weights_rounds_to_the_grid_and_clips() -> None:
    # units 100 per float, exponent 1: x = w * 50; mixed 8-bit grid of even numbers.
    q, clipped = quantize_weights(np.array([0.1, 0.11, -5.2, 5.2]), 100.0, 1, (-256, 254, 2))
    # 5 -> rint(2.5) = 2 (ties to even) * 2 = 4; 5.5 -> rint(2.75) = 3 -> 6; -260 -> clip -256; 260 -> 254
    assert q.tolist() == [4, 6, -256, 254]
    assert clipped.tolist() == [False, False, True, True]
    # the smallest exponent that holds 5.2 * 100 = 520 without clipping: 520 / 2 = 260 > 254,
    # 520 / 4 = 130 fits.
    assert choose_exponent(5.2, 5.2, 100.0, (-256, 254, 2), 0, 7) == 2
    assert choose_exponent(5.2, 0.0, 100.0, (-256, 254, 2), 0, 0) is None


def test_bias_registers_by_hand() -> None:
    # ideal 0.3 * 2**20 = 314572.8; 13-bit signed mantissa -4096..4095:
    # e = 6: 4915.2 too big; e = 7: 2457.6 -> 2458 (2458 << 7 = 314624)
    mant, exp, too_big = bias_registers(np.array([0.3 * 2**20, -1000.4, 0.0, 1e9]), -4096, 4095, 7)
    assert mant.tolist()[:3] == [2458, -1000, 0]
    assert exp.tolist() == [7, 0, 0, 7]
    assert too_big.tolist() == [False, False, False, True]
    assert mant[3] == 4095  # clipped


# ======================================================================================
# Loihi: whole populations and projections.


def test_weight_matrix_with_its_exponent_by_hand(loihi) -> None:
    # w[post, pre] = [[0.5, -0.25], [0.1, 0.3]] into a LIF with threshold 1 (mixed signs).
    # Bounds on s = 2**K:
    #   threshold: 1 * 2**K / 64 <= 131071            -> K <= 22
    #   weights:   0.5 * 2**K / 64 <= 254 * 2**7       -> K <= 21 (2**K <= 4161536)
    #              0.25 * 2**K / 64 <= 256 * 2**7      -> K <= 23
    #   headroom:  max(0.5, 0.25, 0.1 + 0.3) * 2**K <= 8388607 -> K <= 23
    # s = 2**21, units = s / 64 = 32768. Exponent: 0.5 * 32768 = 16384 -> / 2**7 = 128 <= 254, / 2**6 = 256 > 254.
    # Stored = rint(w * 256 / 2) * 2: 0.5 -> 128, -0.25 -> -64, 0.1 -> 25.6 -> 26, 0.3 -> 76.8 -> 38.4 -> 76.
    q = quantize(dense_net([[0.5, -0.25], [0.1, 0.3]], threshold=1.0), loihi)
    proj = q.projections["src->a"]
    assert (proj.weight_exp, proj.weight_bits, proj.sign_mode) == (7, 8, "mixed")
    syn = proj.synapses  # CSR by source: src0 -> a0 (0.5), a1 (0.1); src1 -> a0 (-0.25), a1 (0.3)
    assert syn.weights.dtype == np.int64 and syn.weights.tolist() == [128, 26, -64, 76]
    assert syn.indices.tolist() == [0, 1, 0, 1] and syn.indptr.tolist() == [0, 2, 4]
    assert q.populations["a"].v_scale == 2.0**-21
    assert q.populations["a"].params["vth_mant"].tolist() == [32768, 32768]  # 2**21 / 64
    # applied = q / 256: 26/256 = 0.1015625 (err 0.0015625), 76/256 = 0.296875 (err 0.003125)
    err = q.report.projections[0]
    assert err.max_error == pytest.approx(0.003125 / 0.5, rel=1e-12)
    assert err.rms_error == pytest.approx(math.sqrt((0.0015625**2 + 0.003125**2) / 4) / 0.5, rel=1e-12)
    assert (err.clipped_fraction, err.zeroed_fraction, err.pinned) == (0.0, 0.0, False)


def test_sign_mode_from_the_signs_gives_one_more_bit(loihi) -> None:
    # All negative -> inhibitory (k = 0 at 8 bits: -255..0, odd values allowed).
    q = quantize(dense_net([[-0.5, -0.1]]), loihi)
    proj = q.projections["src->a"]
    assert proj.sign_mode == "inhibitory"
    # s = 2**21 (weight bound 255 * 2**7 * 64 / 0.5 = 4177920 -> K <= 21; threshold K <= 22),
    # units 32768: 0.5 * 32768 = 16384 >> 6 = 256 > 255, >> 7 = 128; 0.1 -> 25.6 -> 26.
    # No narrower width holds 26 and 128 at one exponent.
    assert proj.synapses.weights.tolist() == [-128, -26] and proj.weight_exp == 7


def test_narrowest_width_that_keeps_the_same_weights(loihi) -> None:
    # One weight 1.0 into threshold 1: s = 2**20 (weight bound: 255 * 2**13 >= 2**K -> K = 20),
    # units 2**14; the smallest exponent is 7: 2**14 / 2**7 = 128. 128 is one 1-bit
    # excitatory step (k = 7): stored 128 at 1 bit, the same weight with 1/8 of the memory.
    q = quantize(dense_net([[1.0]]), loihi)
    proj = q.projections["src->a"]
    assert (proj.weight_bits, proj.weight_exp, proj.synapses.weights.tolist()) == (1, 7, [128])


def test_chain_quantizes_exactly_by_hand(loihi) -> None:
    q = quantize(nc.load(EXAMPLES / "chain.snn"), loihi)
    # a: weight 0.75, threshold 1: weight bound 0.75 * 2**K / 64 <= 255 * 128 -> K = 21;
    # units 2**15: 0.75 * 2**15 = 24576 = 192 << 7. 192 = 3 * 64 is a 2-bit step (k = 6).
    a = q.populations["a"].params
    assert (a["du"][0], a["dv"][0], a["vth_mant"][0], a["bias_mant"][0]) == (4095, 2048, 32768, 0)
    assert q.populations["a"].v_scale == 2.0**-21
    stim_a = q.projections["stim->a"]
    assert (stim_a.synapses.weights.tolist(), stim_a.weight_exp, stim_a.weight_bits) == ([192], 7, 2)
    # b: weight 1.5 -> K = 20, units 2**14: 1.5 * 2**14 = 24576 = 192 << 7 again.
    assert q.populations["b"].v_scale == 2.0**-20
    assert q.projections["a->b"].synapses.weights.tolist() == [192]
    # c: 0.875 -> K = 21 (0.875 * 2**21 / 64 = 28672 <= 32640), 28672 = 224 << 7; 224 = 7 * 32: 3 bits.
    b_c = q.projections["b->c"]
    assert (b_c.synapses.weights.tolist(), b_c.weight_exp, b_c.weight_bits) == ([224], 7, 3)
    for e in q.report.projections:
        assert (e.max_error, e.rms_error) == (0.0, 0.0)
    for e in q.report.populations:
        assert all(v == 0.0 for v in e.max_errors.values()), e
    assert q.report.warnings == ()


def lava_twin(q, steps: int):
    """A slow, obviously-correct run of Lava's bit-accurate LIF + Dense (loihi.md §1.2-1.3)
    over a QuantizedNetwork, with Python ints; refractory holds v at 0 as the float model."""
    net, num = q.network, q.chip.numerics
    D, H = num.decay.bits, 1 << (num.state["u"].bits - 1)
    unity, s_in, s_th = 1 << D, num.input_shift, num.threshold.shift

    def trunc(p: int) -> int:  # toward zero, sign-magnitude
        return -((-p) >> D) if p < 0 else p >> D

    neurons = [p for p in q.populations.values() if not p.is_input]
    u = {p.name: [0] * p.size for p in neurons}
    v = {p.name: [0] * p.size for p in neurons}
    ref = {p.name: [0] * p.size for p in neurons}
    acc = defaultdict(int)  # (projection, step, target) -> summed stored weights
    spikes = {p.name: [] for p in neurons}
    vtrace = {p.name: np.zeros((steps, p.size), dtype=np.int64) for p in neurons}
    events = {name: encode(pop, steps, net.dt_ms) for name, pop in net.populations.items() if pop.is_input}

    def send(pop: str, i: int, t: int) -> None:
        for proj in q.projections.values():
            if proj.pre != pop:
                continue
            syn = proj.synapses
            for k in range(syn.indptr[i], syn.indptr[i + 1]):
                d = syn.delay if syn.delays is None else int(syn.delays[k])
                acc[(proj.name, t + 1 + d, int(syn.indices[k]))] += int(syn.weights[k])

    for t in range(steps):
        fired = []
        for p in neurons:
            P = {k: [int(x) for x in a] for k, a in p.params.items()}
            into = [pr for pr in q.projections.values() if pr.post == p.name]
            for i in range(p.size):
                a_in = 0
                for pr in into:
                    s = acc.pop((pr.name, t, i), 0)
                    a_in += s << pr.weight_exp if pr.weight_exp >= 0 else s >> -pr.weight_exp
                uu = trunc(u[p.name][i] * (unity - (P["du"][i] + num.decay.offset_u))) + (a_in << s_in)
                if uu > H:
                    uu -= 2 * H
                elif uu <= -H:
                    uu += 2 * H
                u[p.name][i] = uu
                if ref[p.name][i] > 0:
                    v[p.name][i] = 0
                    ref[p.name][i] -= 1
                else:
                    vv = trunc(v[p.name][i] * (unity - (P["dv"][i] + num.decay.offset_v))) + uu \
                        + (P["bias_mant"][i] << P["bias_exp"][i])
                    vv = max(-(H - 1), min(H - 1, vv))
                    if vv > P["vth_mant"][i] << s_th:
                        vv = 0
                        ref[p.name][i] = P["refractory"][i]
                        fired.append((p.name, i))
                    v[p.name][i] = vv
                vtrace[p.name][t, i] = v[p.name][i]
        for pop, i in fired:
            spikes[pop].append((t, i))
            send(pop, i, t)
        for name, ev in events.items():
            for k in range(ev.step_ptr[t], ev.step_ptr[t + 1]):
                send(name, int(ev.indices[k]), t)
    return spikes, vtrace


def test_exact_chain_runs_like_the_float_model_bit_for_bit(loihi) -> None:
    """The emulator team's proof: on an exact network, chip integers · v_scale == float V."""
    net = nc.load(EXAMPLES / "chain.snn")
    q = quantize(net, loihi)
    spikes, vtrace = lava_twin(q, 20)
    ref = nc.simulate(net, 20)
    for pop in ("a", "b", "c"):
        ev = ref.spikes[pop]
        assert spikes[pop] == list(zip(ev.times.tolist(), ev.indices.tolist()))
        assert np.array_equal(vtrace[pop] * q.populations[pop].v_scale, ref.traces[pop]["voltage"])
    # and the documented spike steps of chain.snn
    assert [t for t, _ in spikes["a"]] == [3, 5, 11] and [t for t, _ in spikes["c"]] == [9]


def test_dyadic_network_quantizes_with_zero_error(loihi) -> None:
    # Weights k/64 (k in -128..127), threshold 1.5, beta 0.75, alpha 0.5: all on the grid.
    # s = 2**20 (weight bound: 2 * 2**20 / 64 = 256 * 2**7; headroom: 3 inputs of at most 2 =
    # 6 * 2**20 < 2**23), units 2**14: w * units = k * 2**8, exponent 7 stores 2k: even,
    # within -256..254 (127 is odd, so no narrower width holds 254).
    rng = np.random.default_rng(4)
    k = rng.integers(-128, 128, size=(6, 3))
    k[0, 0], k[1, 1] = -128, 127
    q = quantize(dense_net(k / 64.0, threshold=1.5, beta=0.75, alpha=0.5), loihi)
    assert q.populations["a"].v_scale == 2.0**-20
    proj = q.projections["src->a"]
    assert proj.weight_exp == 7
    assert proj.synapses.weights.tolist() == (2 * k.T[k.T != 0]).tolist()  # CSR by source = k.T order
    e = q.report.projections[0]
    assert (e.max_error, e.rms_error, e.zeroed_fraction, e.clipped_fraction) == (0.0, 0.0, 0.0, 0.0)
    assert q.populations["a"].params["du"].tolist()[0] == 2047  # (4096 - 2048) / 4096 = 0.5
    assert q.populations["a"].params["dv"].tolist()[0] == 1024  # (4096 - 1024) / 4096 = 0.75
    assert all(v == 0.0 for v in q.report.populations[0].max_errors.values())


def test_headroom_of_u_bounds_the_scale(loihi) -> None:
    # 100 inputs of 0.9 onto one neuron: 90 float units in one step must fit 2**23 - 1:
    # 90 * 2**K <= 8388607 -> K <= 16 (the threshold alone would allow 22).
    q = quantize(dense_net(np.full((1, 100), 0.9)), loihi)
    assert q.populations["a"].v_scale == 2.0**-16
    assert any("input headroom of u" in n for n in q.report.notes)
    # 0.9 * 2**16 / 64 = 921.6 -> exponent 2: 230.4 -> 230 (excitatory 8-bit)
    assert q.projections["src->a"].synapses.weights[0] == 230


def test_tiny_weights_next_to_large_ones_are_zeroed_and_warned(loihi) -> None:
    src = Population(name="src", shape=(4,), encoder=RateCode(value=1.0, max_rate_hz=1000.0, seed=0))
    a = Population(name="a", shape=(1,), neuron=NeuronModel(family="lif", beta=0.5))
    big = Projection(name="big", pre="src", post="a", connector=Dense(ArrayValue(np.array([[1.0, 0, 0, 0]]), "b")))
    small = Projection(name="small", pre="src", post="a",
                       connector=Dense(ArrayValue(np.array([[0, 1e-6, 2e-6, 0.5]]), "s")))
    net = Network(name="t", populations={"src": src, "a": a}, projections=(big, small))
    q = quantize(net, loihi)
    # s = 2**20 (set by 'big'), units 2**14: 1e-6 * 2**14 = 0.016 -> 0 at exponent 0; 0.5 -> 8192 = 128 << 6.
    e = {p.projection: p for p in q.report.projections}["small"]
    assert e.zeroed_fraction == pytest.approx(2 / 3)
    assert q.projections["small"].synapses.weights.tolist() == [128]
    assert q.projections["small"].synapses.indptr.tolist() == [0, 0, 0, 0, 1]  # zeros dropped
    assert any(w.startswith("projection 'small': 67% of its weights round to 0") for w in q.report.warnings)


def test_li_readout_gets_the_mantissa_maximum_and_a_note(loihi) -> None:
    q = quantize(net_of("population r[2] : LI(beta = 0.5)"), loihi)
    assert q.populations["r"].params["vth_mant"].tolist() == [131071, 131071]
    assert "threshold" not in q.report.populations[0].max_errors
    assert ("population 'r' is a non-spiking read-out (li): its threshold is the mantissa maximum "
            "(vth_mant = 131071), so it never spikes in practice") in q.report.notes


def test_if_population_has_no_leak(loihi) -> None:
    q = quantize(net_of("population a[3] : IF(threshold = 2.0, bias = 0.25)"), loihi)
    p = q.populations["a"].params
    assert p["dv"].tolist() == [0, 0, 0]
    # s = 2**K: threshold 2 * 2**K / 64 <= 131071 -> K <= 21 (2**22 / 64 * 2 would be 131072);
    # bias 0.25 * 2**K <= 4095 << 7 = 524160 -> K <= 20 (0.25 * 2**21 = 524288 is one too many).
    # Without a decay (IF: u decays fully, v not at all) nothing truncates, so s is then
    # halved while the threshold and bias stay exact, for room below zero: threshold
    # 2 * 2**K / 64 is an integer down to K = 5 (vth_mant 1); bias 0.25 * 2**5 = 8.
    assert q.populations["a"].v_scale == 2.0**-5
    assert (p["bias_mant"][0], p["bias_exp"][0]) == (8, 0)
    assert p["vth_mant"][0] == 1
    assert any("allowed by the bias mantissa and exponent, then halved to leave v room below "
               "zero: at 2^5 every weight, threshold and bias applies the same float value as "
               "at 2^20" in note for note in q.report.notes), q.report.notes


def test_a_leaky_population_keeps_the_largest_scale(loihi) -> None:
    # A leak truncates (trunc(v * f) loses less at a larger s): no halving. Threshold 2,
    # bias 0.25 as above: the bias bound K <= 20 decides.
    q = quantize(net_of("population a[3] : LIF(tau_mem = 20 ms, threshold = 2.0, bias = 0.25)"), loihi)
    assert q.populations["a"].v_scale == 2.0**-20


# ======================================================================================
# Loihi: pinned integers.


def write(tmp_path: Path, **arrays) -> None:
    for name, arr in arrays.items():
        np.save(tmp_path / f"{name}.npy", arr)


def test_pinned_natives_are_kept_bit_for_bit(tmp_path, loihi) -> None:
    write(tmp_path, w=np.array([[0.8, -1.6, 0.01], [0.32, 0.48, -20.48]]),
          wi=np.array([[10, -20, 0], [4, 6, -256]], dtype=np.int64))
    net = net_of("""
        input src[3] : rate(value = 0.5, seed = 1)
        population a[2] : LIF(beta = 0.9, threshold = 1.0, bias = 0.01)
            native loihi(du = 4095, dv = 410, vth_mant = 100, bias_mant = -3, bias_exp = 2, refractory = 2)
        connect src -> a : dense(weights = "w.npy")
            native loihi(weights = "wi.npy", weight_exp = 3, weight_bits = 8, sign_mode = mixed)
    """, tmp_path)
    q = quantize(net, loihi)
    p = q.populations["a"].params
    assert {k: v.tolist() for k, v in p.items()} == {
        "du": [4095, 4095], "dv": [410, 410], "vth_mant": [100, 100], "bias_mant": [-3, -3],
        "bias_exp": [2, 2], "refractory": [2, 2]}
    # s from the pinned threshold: 100 << 6 = 6400 units for threshold 1.0
    assert q.populations["a"].v_scale == 1 / 6400
    proj = q.projections["src->a"]
    assert (proj.weight_exp, proj.weight_bits, proj.sign_mode) == (3, 8, "mixed")
    assert proj.synapses.weights.tolist() == [10, 4, -20, 6, -256]  # the pinned 0 is no synapse
    assert proj.synapses.indices.tolist() == [0, 1, 0, 1, 1] and proj.synapses.indptr.tolist() == [0, 2, 4, 5]
    # applied = q << 3 << 6 / 6400 = 0.08 q: 0.8, 0.32, -1.6, 0.48, -20.48 exact; the pinned 0 misses 0.01
    e = q.report.projections[0]
    assert e.pinned and e.max_error == pytest.approx(0.01 / 20.48, rel=1e-9)
    assert e.zeroed_fraction == pytest.approx(1 / 6)
    pe = q.report.populations[0]
    assert pe.pinned
    assert pe.max_errors["beta"] == pytest.approx((0.9 - 3686 / 4096) / 0.9, rel=1e-9)
    # bias applied: -3 << 2 = -12 units = -0.001875 float, against 0.01
    assert pe.max_errors["bias"] == pytest.approx(0.011875 / 0.01, rel=1e-9)


def test_pinned_weights_below_the_lowest_bit_round_down_as_lava_does(tmp_path, loihi) -> None:
    write(tmp_path, w=np.array([[0.03, -0.43, 0.71, -0.07]]), wi=np.array([[3, -43, 71, -7]], dtype=np.int64))
    net = net_of("""
        input src[4] : rate(value = 0.5)
        population a[1] : LIF(beta = 0.5)
        connect src -> a : dense(weights = "w.npy") native loihi(weights = "wi.npy", sign_mode = mixed, weight_bits = 8)
    """, tmp_path)
    q = quantize(net, loihi)
    assert q.projections["src->a"].synapses.weights.tolist() == [2, -44, 70, -8]
    assert q.projections["src->a"].weight_exp == 0  # Lava's default
    assert ("projection 'src->a': 4 pinned weight(s) have bits below the 8-bit mixed format's lowest bit; "
            "the chip uses them rounded down, as Lava's Dense does (e.g. 3 -> 2)") in q.report.warnings


def test_pinned_weights_fix_the_scale_by_least_squares(tmp_path, loihi) -> None:
    # Pinned 100 for float 0.5 at exponent 0: 100 << 6 = 6400 units = 0.5 s -> s = 12800.
    write(tmp_path, w=np.array([[0.5]]), wi=np.array([[100]], dtype=np.int64))
    net = net_of("""
        input src[1] : rate(value = 0.5)
        population a[1] : LIF(beta = 0.5, threshold = 1.0)
        connect src -> a : dense(weights = "w.npy") native loihi(weights = "wi.npy")
    """, tmp_path)
    q = quantize(net, loihi)
    assert q.populations["a"].v_scale == 1 / 12800
    assert q.populations["a"].params["vth_mant"].tolist() == [200]  # 12800 / 64
    proj = q.projections["src->a"]
    # 100 = 25 * 4: excitatory k = 8 - bits must be <= 2, so the narrowest width is 6
    assert (proj.sign_mode, proj.weight_bits, proj.weight_exp) == ("excitatory", 6, 0)


# ======================================================================================
# Loihi: what the chip cannot do, in the exact words a user sees.


def test_reset_subtract_on_loihi_is_an_error_naming_the_population(loihi) -> None:
    with pytest.raises(QuantizationError) as exc:
        quantize(net_of("population hidden[4] : IF(threshold = 1.0, reset = subtract)"), loihi)
    assert message(exc) == (
        "t.snn:1:12: error: population 'hidden': reset 'subtract' is not available on loihi "
        "(its neurons reset by: 'zero')\n"
        " 1 | population hidden[4] : IF(threshold = 1.0, reset = subtract)\n"
        "   |            ^^^^^^\n"
        "  = help: write reset = zero in the population, or choose a chip whose neuron.reset_modes "
        "include 'subtract'")


def test_graded_input_is_an_error_suggesting_bias(loihi) -> None:
    with pytest.raises(QuantizationError) as exc:
        quantize(net_of("input drive[2] : current(value = 0.5)\npopulation a[2] : LIF(beta = 0.9)\n"
                        "connect drive -> a : one_to_one(weight = 2.0)"), loihi)
    assert message(exc) == (
        "t.snn:1:7: error: input 'drive': a graded source (current) cannot drive loihi, whose synapses "
        "carry binary spikes\n"
        " 1 | input drive[2] : current(value = 0.5)\n"
        "   |       ^^^^^\n"
        "  = help: remove the input and write bias = (weight × value) on 'a' instead: a bias adds the "
        "same amount to V every step")


def test_refractory_beyond_the_chip_is_an_error(loihi) -> None:
    with pytest.raises(QuantizationError) as exc:
        quantize(net_of("population a[2] : LIF(beta = 0.9, refractory = 64)"), loihi)
    assert message(exc).splitlines()[0] == (
        "t.snn:1:12: error: population 'a': refractory period of 64 steps exceeds loihi's maximum (63)")
    assert message(exc).splitlines()[-1] == "  = help: use at most 63 steps"


def test_pinned_values_out_of_range_are_all_reported(tmp_path, loihi) -> None:
    write(tmp_path, w=np.array([[0.5, 0.5]]), wi=np.array([[300, 2]], dtype=np.int64))
    text = """input src[2] : rate(value = 0.5)
population a[1] : LIF(beta = 0.9) native loihi(vth_mant = 200000, du = 4096)
connect src -> a : dense(weights = "w.npy") native loihi(weights = "wi.npy", sign_mode = mixed)
connect src -> a as again : dense(weights = "w.npy") native loihi(weight_exp = 9)"""
    with pytest.raises(QuantizationError) as exc:
        quantize(net_of(text, tmp_path), loihi)
    heads = [line for line in message(exc).splitlines() if ": error: " in line]
    assert heads == [
        "t.snn:2:12: error: population 'a': native loihi vth_mant = 200000 does not fit the 17-bit "
        "threshold mantissa (0..131071)",
        "t.snn:2:12: error: population 'a': native loihi du = 4096 does not fit the 12-bit current decay (0..4095)",
        "t.snn:3:1: error: projection 'src->a': native loihi weight 300 does not fit the 8-bit mixed weight "
        "range (-256..255)",
        "t.snn:4:1: error: projection 'again': native loihi weight_exp = 9 does not fit the weight exponent (-7..7)",
    ]
    assert "  = help: give a value in 0..131071, or leave vth_mant out and let the compiler choose it" \
        in message(exc).splitlines()


def test_negative_threshold_is_an_error(loihi) -> None:
    with pytest.raises(QuantizationError, match=r"population 'a': threshold -0.5 is negative, but loihi's "
                                                r"threshold mantissa is unsigned"):
        quantize(net_of("population a[1] : LIF(beta = 0.9, threshold = -0.5)"), loihi)


def test_delay_beyond_the_chip_is_an_error() -> None:
    tiny = load_chip(Path(__file__).parent / "data" / "tiny.toml")  # delays 1..8 steps
    net = net_of("input s[1] : rate(value = 1)\npopulation a[1] : LIF(beta = 0.5)\n"
                 "connect s -> a : one_to_one(weight = 1.0, delay = 8)")
    with pytest.raises(QuantizationError) as exc:
        quantize(net, tiny)
    assert message(exc).splitlines()[0] == (
        "t.snn:3:1: error: projection 's->a': a spike arrives 9 steps after it is sent (delay 8 + 1), but "
        "tiny delivers every spike after 1..8 steps")


# ======================================================================================
# The door and the registry.


def test_quantize_uses_the_given_synapses_and_changes_nothing(loihi) -> None:
    net = nc.load(EXAMPLES / "dvs_conv.snn")
    syn = lower(net)
    before = {k: s.weights.copy() for k, s in syn.items()}
    q = quantize(net, loihi, synapses=syn)
    for name, s in syn.items():
        assert np.array_equal(s.weights, before[name])  # the float synapses are untouched
        qs = q.projections[name].synapses
        assert qs.weights.dtype == np.int64 and np.all(qs.weights != 0)
        assert qs.indptr.dtype == np.int64 and qs.indices.dtype == np.int32
        assert qs.indptr[-1] == len(qs.indices) == len(qs.weights)
    assert list(q.populations) == list(net.populations) and list(q.projections) == [p.name for p in net.projections]
    assert q.family == "loihi_cuba_lif" and q.populations["dvs"].is_input


def test_missing_synapses_and_unknown_family_are_usage_errors(loihi) -> None:
    net = nc.load(EXAMPLES / "chain.snn")
    with pytest.raises(UsageError, match=r"miss projection\(s\) 'a->b', 'b->c'"):
        quantize(net, loihi, synapses={"stim->a": lower(net)["stim->a"]})
    other = loihi.model_copy(update={"neuron": loihi.neuron.model_copy(update={"family": "loihi_cuba_liff"})})
    with pytest.raises(UsageError, match=r"no quantizer for neuron family 'loihi_cuba_liff'") as exc:
        quantize(net, other)
    assert "did you mean 'loihi_cuba_lif'?" in message(exc)


def test_register_refuses_a_second_quantizer_for_a_family() -> None:
    import dataclasses

    from neurocomp.targets import FAMILIES, family, register

    quantize(nc.load(EXAMPLES / "chain.snn"), load_chip("loihi"))  # loads the family modules
    assert {"loihi_cuba_lif", "akida"} <= set(FAMILIES)
    with pytest.raises(ValueError, match="already registered"):
        register(dataclasses.replace(family("akida"), quantizer=lambda network, chip, synapses: None))


# ======================================================================================
# Akida.


#: Akida's neurons keep nothing between steps (frames): the float model with beta = 0.
FRAME = {"family": "lif", "beta": 0.0}
FRAME_SRC = NeuronModel(family="lif", beta=0.0)


def test_akida_small_layer_by_hand(akida) -> None:
    # 3 weights [0.5, -0.25, 0.75] from a population (not an input: 4-bit, levels -7..7).
    # Steps: full range 0.75/7 = 0.1071 (q = 5, -2, 7: errors 0.036, 0.036, 0);
    #        power of two 2**ceil(log2 0.1071) = 0.125 (q = 4, -2, 6: exact) -> 0.125 wins.
    # Narrowest: gcd(4, 2, 6) = 2 -> q = 2, -1, 3 with step 0.25; 3 > 1 (2-bit) -> 4 bits.
    # Layer: scale_shift F from ceil(-log2 0.25) = 2: 0.25 * 4 = 1 and threshold 1 * 4 = 4 are integers.
    q = quantize(dense_net([[0.5, -0.25, 0.75]], pre_input=False, src_model=FRAME_SRC, **FRAME), akida)
    proj = q.projections["src->a"]
    assert proj.synapses.weights.tolist() == [2, -1, 3]
    assert (proj.weight_bits, proj.extra["scale"], proj.sign_mode) == (4, 1, "mixed")
    p = q.populations["a"].params
    assert (p["threshold"][0], p["scale_shift"][0], p["act_bits"][0]) == (4, 2, 1)
    assert q.populations["a"].v_scale == 0.25
    e = q.report.projections[0]
    assert (e.max_error, e.rms_error) == (0.0, 0.0)
    # the kernel's arithmetic on these integers: all three sources spike in one step ->
    # pot = 1 * (2 - 1 + 3) = 4 units = 1.0 float = 0.5 - 0.25 + 0.75; 4 > 4 is false: no spike.
    assert int(proj.extra["scale"] * proj.synapses.weights.sum()) * q.populations["a"].v_scale == 1.0


def test_akida_threshold_off_the_grid(akida) -> None:
    # Same layer, threshold 1.3: 1.3 * 2**F is an integer for no F in 2..10 (= 2 + 8 guard bits),
    # so F = 10: scale 0.25 * 1024 = 256, threshold floor(1331.2) = 1331 (an integer potential
    # exceeds 1331.2 exactly when it exceeds 1331).
    q = quantize(dense_net([[0.5, -0.25, 0.75]], pre_input=False, src_model=FRAME_SRC, threshold=1.3, **FRAME), akida)
    p = q.populations["a"].params
    assert (p["threshold"][0], p["scale_shift"][0]) == (1331, 10)
    assert q.projections["src->a"].extra["scale"] == 256
    err = {e.population: e for e in q.report.populations}["a"]
    assert err.max_errors["threshold"] == pytest.approx(abs(1331 / 1024 - 1.3) / 1.3, rel=1e-9)


def test_akida_full_range_step_and_rounded_scale_by_hand(akida) -> None:
    # [0.5, -0.25, 0.1, 0.3], 4-bit: full step 0.5/7: q = 7, rint(-3.5) = -4, rint(1.4) = 1, rint(4.2) = 4,
    # RMS sqrt((0 + 0.0357^2 + 0.0286^2 + 0.0143^2) / 4) = 0.02396; power of two 0.125:
    # q = 4, -2, 1, 2, RMS sqrt((0.025^2 + 0.05^2) / 4) = 0.02795 -> the full step wins.
    w = np.array([0.5, -0.25, 0.1, 0.3])
    assert choose_step(w, 7) == 0.5 / 7
    q = quantize(dense_net([w], pre_input=False, src_model=FRAME_SRC, **FRAME), akida)
    proj = q.projections["src->a"]
    assert proj.synapses.weights.tolist() == [7, -4, 1, 4] and proj.weight_bits == 4
    # 2**F / 14 is never an integer: F = ceil(-log2(1/14)) + 8 = 4 + 8 = 12; scale rint(4096 / 14) = 293.
    assert q.populations["a"].params["scale_shift"][0] == 12 and proj.extra["scale"] == 293
    applied = np.array([7, -4, 1, 4]) * 293 / 4096
    assert q.report.projections[0].max_error == pytest.approx(np.max(np.abs(applied - w)) / 0.5, rel=1e-12)


def test_akida_input_layer_uses_its_own_width_only_for_a_convolution(akida) -> None:
    # A dense layer from an input population is the engine's FullyConnected after InputData:
    # 1, 2 or 4-bit weights (levels 7). Power of two 2**ceil(log2(0.75/7)) = 2**-3: q = 4, -2, 6
    # exact; gcd 2 -> 2, -1, 3 at step 0.25: 4 bits (8 bits only for InputConvolutional).
    q = quantize(dense_net([[0.5, -0.25, 0.75]], **FRAME), akida)
    proj = q.projections["src->a"]
    assert proj.weight_bits == 4 and proj.synapses.weights.tolist() == [2, -1, 3]


def test_akida_helpers() -> None:
    assert [symmetric_levels(b) for b in (1, 2, 4, 8)] == [0, 1, 7, 127]
    q, step, bits = narrowest(np.array([4, -2, 6]), 0.125, (2, 4))
    assert (q.tolist(), step, bits) == ([2, -1, 3], 0.25, 4)
    assert choose_scale_shift([0.25, 0.5], np.array([1.0, 0.75])) == 2
    assert choose_scale_shift([], np.array([0.1])) == 8  # 0.1 is dyadic nowhere: 0 + 8 guard bits


def test_akida_rejects_leak_and_current_decay(akida) -> None:
    with pytest.raises(QuantizationError) as exc:
        quantize(net_of("population a[2] : LIF(beta = 0.9, tau_syn = 3 ms)"), akida)
    lines = message(exc).splitlines()
    assert lines[0] == ("t.snn:1:12: error: population 'a': beta = 0.9 keeps part of the potential from one step "
                        "to the next, which akida cannot do: its neurons keep no state between frames, each "
                        "step's potential is that step's input alone (beta = 0)")
    assert lines[3] == "  = help: write LIF(beta = 0, ...) for populations on this chip; see docs/chips/akida_neuron.md"
    assert lines[5].startswith("t.snn:1:12: error: population 'a': alpha = 0.716531 (a synaptic current decay)")


def test_akida_li_readout_never_spikes(akida) -> None:
    q = quantize(net_of("population r[1] : LI(beta = 0)"), akida)
    assert q.populations["r"].params["threshold"][0] == np.iinfo(np.int64).max


# ======================================================================================
# The examples, end to end (figures in docs/quantization.md).


@pytest.mark.parametrize("example", ["chain", "brunel", "dvs_conv", "encoders"])
def test_examples_quantize_on_loihi_within_a_percent(example, loihi) -> None:
    q = quantize(nc.load(EXAMPLES / f"{example}.snn"), loihi)
    assert all(e.max_error < 0.01 and e.clipped_fraction == 0 for e in q.report.projections)
    assert all(v < 1e-3 for e in q.report.populations for v in e.max_errors.values())
    assert "projection" in report_text(q.report)


def test_reset_by_subtraction_is_refused_on_loihi(loihi, tmp_path) -> None:
    text = (EXAMPLES / "mnist_mlp.snn").read_text().replace("reset = zero", "reset = subtract")
    (tmp_path / "m.snn").write_text(text)
    (tmp_path / "data").symlink_to(EXAMPLES / "data")
    with pytest.raises(QuantizationError, match="reset 'subtract' is not available on loihi"):
        quantize(nc.load(tmp_path / "m.snn"), loihi)


def test_mnist_example_quantizes_on_loihi(loihi) -> None:
    qnet = quantize(nc.load(EXAMPLES / "mnist_mlp.snn"), loihi)
    assert set(qnet.projections) == {"pixels->hidden", "hidden->out"}
    assert all(e.max_error < 0.01 for e in qnet.report.projections)


def test_projection_integers_equal_rounding_each_synapse_on_its_own(loihi) -> None:
    # The quantizer rounds each distinct weight once (found once per projection, not once
    # per scale tried); the integers and the clipped count must be those of rounding every
    # synapse by itself, at every scale, clipping or not.
    from neurocomp.ir.synapses import Synapses
    from neurocomp.targets.loihi.quantize import LoihiFormat, _ProjPlan, _quantize_projection

    fmt = LoihiFormat.of(loihi)
    rng = np.random.default_rng(7)
    n_pre, n_post = 40, 50
    w = rng.choice(np.linspace(-2.0, 3.0, 23), size=n_pre * n_post)  # repeated values
    syn = Synapses(projection="p", n_pre=n_pre, n_post=n_post,
                   indptr=np.arange(0, n_pre * n_post + 1, n_post, dtype=np.int64),
                   indices=np.tile(np.arange(n_post, dtype=np.int32), n_pre), weights=w)
    for exp in (None, 0):  # free exponent; pinned low, so the large weights clip
        pp = _ProjPlan(proj=None, syn=syn, natives={}, sign_mode="mixed", exp=exp,
                       max_pos=float(w.max()), max_neg=float(-w.min()))
        for s in (2.0 ** 6, 2.0 ** 10, 2.0 ** 14):
            res, ok = _quantize_projection(pp, fmt, s)
            units = s / 2.0 ** fmt.input_shift
            fmt_w = weight_format(fmt.max_bits, res.bits, "mixed")
            x = w * (units / 2.0 ** res.exp)
            each = np.rint(x / fmt_w[2]) * fmt_w[2]  # every synapse rounded on its own
            clipped = int(np.count_nonzero((each < fmt_w[0]) | (each > fmt_w[1])))
            assert np.array_equal(res.q, np.clip(each, fmt_w[0], fmt_w[1]).astype(np.int64))
            assert res.clipped == clipped
            assert ok == (clipped == 0)
    assert res.clipped > 0  # the pinned exponent did clip at the largest scale
