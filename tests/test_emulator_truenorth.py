"""The TrueNorth neuron kernel against independent expectations.

Three kinds of evidence:

* impulse tests: one neuron, a few axon events, every potential written out with its
  derivation from Cassidy et al. 2013 as shared/reference/truenorth_akida_nir.md §1.2
  states it (the six reset modes, leak reversal, the negative threshold and its
  saturation, saturation at the 20-bit state width, stochastic synapses, leak and
  threshold from a generator started at a fixed state);
* a slow twin (:func:`twin_neuron`, in this file): Python integers, one axon event at a
  time, the equations in the note's own form (Ω = (1-ε) + ε·sgn(V); the negative branch
  as NeMo's one expression in κ and γ); random seeded neurons in every mode, and random
  hand-built Mappings (several cores, relays, delays, inputs), must agree with the
  kernel bit for bit on spikes, potentials and the counters the kernel keeps;
* strict mode and ``prepare``'s range checks name the compartment.

Mappings are built by hand (:func:`build_mapping`), so nothing here depends on the
compiler.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.diagnostics import EmulationError, UsageError
from neurocomp.emulator.kernels import KernelInputs, kernel_for
from neurocomp.targets.truenorth import kernel as tn
from neurocomp.ir.connectors import Sparse
from neurocomp.ir.encoders import SpikeFile
from neurocomp.ir.mapping import CoreMap, CoreSlice, Mapping
from neurocomp.ir.network import Network, NeuronModel, Population, Projection

CHIP = load_chip("truenorth")
NM = tn.neuron_numerics(CHIP)
V_MAX = (1 << 19) - 1  # 20-bit signed state (chips/truenorth.toml numerics.state.v)
V_MIN = -(1 << 19)
M32 = 0xFFFFFFFF


def test_the_chip_widths_reach_the_kernel():
    assert (NM.v_min, NM.v_max, NM.wrap, NM.prng_mask, NM.strict) == (V_MIN, V_MAX, False, 255, False)


# --------------------------------------------------------------------------- one neuron


def params(n: int = 1, **kw) -> tn.NeuronParams:
    """Kernel parameters of ``n`` neurons: keys as in the Mapping (scalars broadcast).

    Defaults: all zero, except the negative threshold (large) and κ = 1.
    """
    full = {"neg_threshold": 100000, "neg_saturate": 1}
    full.update(kw)
    arrays = {}
    for key, value in full.items():
        if key in ("axon_weights", "syn_stochastic"):
            arrays[key] = np.broadcast_to(np.asarray(value, dtype=np.int64), (n, 4)).copy()
        elif key != "relay":
            arrays[key] = np.broadcast_to(np.asarray(value, dtype=np.int64), (n,)).copy()
    relay = np.broadcast_to(np.asarray(full.get("relay", 0), dtype=np.uint8), (n,)).copy()
    return tn.neuron_params(arrays, relay, 4)


def run_one(p: tn.NeuronParams, events: list[list[int]], *, nm=NM, rng_state: int = 1):
    """Tick one neuron through ``events[t]`` (counts per type); returns (v list, fired list)."""
    v = np.zeros(1, dtype=np.int64)
    rng = np.array([rng_state], dtype=np.int64)
    vs, fired = [], []
    for counts in events:
        c = np.array([counts], dtype=np.int64)
        f, _ = tn.update_neuron(0, v, c, p, nm, rng, 0)
        vs.append(int(v[0]))
        fired.append(bool(f))
    return vs, fired


E0 = [0, 0, 0, 0]


def test_integrate_then_normal_reset_to_r():
    # s0 = 100, α = 250, γ = 0, R = 7.
    # t0: two type-0 events: V = 200 < 250            -> 200
    # t1: one event: V = 300 >= 250: spike, V = R      -> 7
    # t2: nothing: 7                                   -> 7
    p = params(axon_weights=[100, 0, 0, 0], threshold=250, reset_mode=0, reset_value=7)
    assert run_one(p, [[2, 0, 0, 0], [1, 0, 0, 0], E0]) == ([200, 7, 7], [False, True, False])


def test_linear_reset_subtracts_the_threshold():
    # As above with γ = 1: t1: V = 300 - 250 = 50; t2: 50.
    p = params(axon_weights=[100, 0, 0, 0], threshold=250, reset_mode=1, reset_value=7)
    assert run_one(p, [[2, 0, 0, 0], [1, 0, 0, 0], E0]) == ([200, 50, 50], [False, True, False])


def test_no_reset_keeps_firing_without_input():
    # γ = 2: t1: V = 300 >= 250: spike, V stays 300; t2: 300 >= 250 again.
    p = params(axon_weights=[100, 0, 0, 0], threshold=250, reset_mode=2)
    assert run_one(p, [[2, 0, 0, 0], [1, 0, 0, 0], E0]) == ([200, 300, 300], [False, True, True])


def test_threshold_equal_fires_and_strict_numerics_do_not():
    # V = 250 = α: TrueNorth compares V >= α (fires); a chip file saying '>' does not.
    p = params(axon_weights=[250, 0, 0, 0], threshold=250, reset_mode=0)
    assert run_one(p, [[1, 0, 0, 0]]) == ([0], [True])
    strict = NM._replace(strict=True)
    assert run_one(p, [[1, 0, 0, 0]], nm=strict) == ([250], [False])


@pytest.mark.parametrize("gamma, expected", [(0, -7), (1, -50), (2, -200)])
def test_mirrored_negative_resets_when_kappa_is_0(gamma, expected):
    # s1 = -100, β = 150, κ = 0, R = 7; two type-1 events: V = -200 < -(β + η) = -150.
    # γ 0: V = -R = -7; γ 1: V = -200 + (150 + 0) = -50; γ 2: V stays -200.
    p = params(axon_weights=[0, -100, 0, 0], neg_threshold=150, neg_saturate=0,
               reset_mode=gamma, reset_value=7, threshold=1000)
    assert run_one(p, [[0, 2, 0, 0]]) == ([expected], [False])


@pytest.mark.parametrize("gamma", [0, 1, 2])
def test_negative_saturation_when_kappa_is_1(gamma):
    # κ = 1 in every reset mode: V = -200 < -β = -150 -> V = -β = -150. Exactly -150 is
    # not below -150 and stays; a leak of -1 then takes it to -151 < -150 -> -150 again.
    p = params(axon_weights=[0, -100, 0, -150], neg_threshold=150, neg_saturate=1,
               reset_mode=gamma, reset_value=7, threshold=1000)
    assert run_one(p, [[0, 2, 0, 0]]) == ([-150], [False])
    assert run_one(p, [[0, 0, 0, 1]]) == ([-150], [False])
    p2 = params(axon_weights=[0, 0, 0, -150], neg_threshold=150, neg_saturate=1, leak=-1,
                reset_mode=gamma, threshold=1000)
    # t0: -150, then leak -1: -151 < -150 -> -150; t1: -150 - 1 = -151 -> -150.
    assert run_one(p2, [[0, 0, 0, 1], E0]) == ([-150, -150], [False, False])


def test_leak_reversal_drives_toward_zero_and_stops_there():
    # λ = -3, ε = 1: Ω = sgn(V). From V = +10: 10-3 = 7, 4, 1, then 1-3 = -2 crosses 0:
    # V = 0 (NeMo's ringing check); then Ω = sgn(0) = 0 keeps it at 0.
    p = params(axon_weights=[10, -10, 0, 0], leak=-3, leak_reversal=1, threshold=1000)
    assert run_one(p, [[1, 0, 0, 0]] + [E0] * 4)[0] == [7, 4, 1, 0, 0]
    # From V = -10: Ω = -1 adds +3: -7, -4, -1, then -1+3 = 2 crosses: 0.
    assert run_one(p, [[0, 1, 0, 0]] + [E0] * 4)[0] == [-7, -4, -1, 0, 0]
    # Without reversal the leak is a plain -3 per tick: 7, 4, 1, -2, -5.
    p = params(axon_weights=[10, 0, 0, 0], leak=-3, leak_reversal=0, threshold=1000)
    assert run_one(p, [[1, 0, 0, 0]] + [E0] * 4)[0] == [7, 4, 1, -2, -5]
    # A positive leak with reversal drives away from 0: -10 + (-1)(3) = -13, -16.
    p = params(axon_weights=[0, -10, 0, 0], leak=3, leak_reversal=1, threshold=1000)
    assert run_one(p, [[0, 1, 0, 0], E0])[0] == [-13, -16]


def test_leak_applies_after_integration_and_before_the_threshold():
    # s0 = 5, λ = +2, α = 7: one event, V = 5 + 2 = 7 >= 7 in the same tick: spike.
    p = params(axon_weights=[5, 0, 0, 0], leak=2, threshold=7, reset_mode=0)
    assert run_one(p, [[1, 0, 0, 0]]) == ([0], [True])


def test_state_saturates_at_the_20_bit_width():
    # s0 = 255, 2100 events: 535,500 > 2**19 - 1 = 524,287 -> 524,287; α = 2**18 - 1, γ = 2:
    # it fires and keeps V. A leak of +5 then saturates again at 524,287.
    p = params(axon_weights=[255, -255, 0, 0], threshold=(1 << 18) - 1, reset_mode=2, leak=5)
    v = np.zeros(1, dtype=np.int64)
    rng = np.ones(1, dtype=np.int64)
    f, hit = tn.update_neuron(0, v, np.array([[2100, 0, 0, 0]], dtype=np.int64), p, NM, rng, 0)
    assert (int(v[0]), bool(f), bool(hit)) == (V_MAX, True, True)
    f, hit = tn.update_neuron(0, v, np.zeros((1, 4), dtype=np.int64), p, NM, rng, 0)
    assert (int(v[0]), bool(f), bool(hit)) == (V_MAX, True, True)
    # The low end: κ = 0, β = 0, γ = 2, no leak: -535,500 -> -524,288 (below -β, but
    # "none" leaves it).
    p = params(axon_weights=[255, -255, 0, 0], threshold=1000, reset_mode=2, neg_saturate=0,
               neg_threshold=0)
    v[0] = 0
    f, hit = tn.update_neuron(0, v, np.array([[0, 2100, 0, 0]], dtype=np.int64), p, NM, rng, 0)
    assert (int(v[0]), bool(f), bool(hit)) == (V_MIN, False, True)
    # A two's-complement chip wraps instead: 524,287 + 1 -> -524,288 (below -β, left there
    # by κ = 0 and γ = 2).
    p = params(axon_weights=[1, 0, 0, 0], threshold=(1 << 18) - 1, reset_mode=2, neg_saturate=0)
    v[0] = V_MAX
    tn.update_neuron(0, v, np.array([[1, 0, 0, 0]], dtype=np.int64), p, NM._replace(wrap=True), rng, 0)
    assert int(v[0]) == V_MIN


def test_xorshift32_from_state_1():
    # x = 1: x ^= x << 13 -> 8193; x ^= x >> 17 -> 8193; x ^= x << 5 -> 8193 ^ 262176 = 270369.
    x = 1
    seq = []
    for _ in range(3):
        x = int(tn.xorshift32(x))
        seq.append(x)
    assert seq[0] == 270369
    assert seq == [270369, 67634689, 2647435461]  # low bytes 33, 1, 197; low nibbles 1, 1, 5


def test_stochastic_threshold_with_a_fixed_state():
    # TM = 4 (M = 15), α = 10, s0 = 12, γ = 1, generator at state 1; one draw per tick.
    # t0: V = 12; η = 270369 & 15 = 1; 12 >= 11: spike, V = 12 - 11 = 1
    # t1: V = 13; η = 67634689 & 15 = 1; 13 >= 11: spike, V = 2
    # t2: V = 14; η = 2647435461 & 15 = 5; 14 < 15: no spike, V = 14
    p = params(axon_weights=[12, 0, 0, 0], threshold=10, threshold_mask=4, reset_mode=1)
    assert run_one(p, [[1, 0, 0, 0]] * 3) == ([1, 2, 14], [True, True, False])


def test_stochastic_threshold_eta_also_moves_the_negative_threshold():
    # κ = 0, γ = 1, β = 10, TM = 4: V = -12 after one event of s1 = -12; η = 1 (first draw)
    # -12 < -(10 + 1) = -11: V = -12 + 11 = -1.
    p = params(axon_weights=[0, -12, 0, 0], threshold=1000, threshold_mask=4, neg_threshold=10,
               neg_saturate=0, reset_mode=1)
    assert run_one(p, [[0, 1, 0, 0]]) == ([-1], [False])


def test_stochastic_synapses_add_one_when_the_weight_beats_the_draw():
    # b0 = 1, s0 = 64: three events draw ρ = 33, 1, 197 (low bytes of the sequence):
    # 64 >= 33: +1; 64 >= 1: +1; 64 < 197: +0 -> V = 2. A negative s adds -1 instead.
    p = params(axon_weights=[64, -64, 0, 0], syn_stochastic=[1, 1, 0, 0], threshold=1000)
    assert run_one(p, [[3, 0, 0, 0]]) == ([2], [False])
    assert run_one(p, [[0, 3, 0, 0]]) == ([-2], [False])


def test_stochastic_leak_steps_by_sgn_lambda():
    # c = 1, λ = -40, ε = 0; draws ρ = 33, 1, 197: 40 >= 33: -1; 40 >= 1: -1; 40 < 197: 0.
    p = params(leak=-40, leak_stochastic=1, threshold=1000)
    assert run_one(p, [E0] * 3)[0] == [-1, -2, -2]


def test_draw_order_is_synapses_then_leak_then_threshold():
    # b0 = 1, s0 = 40; c = 1, λ = 40; TM = 4, α = 2, γ = 2. One event, state 1:
    # synapse draw 33 (40 >= 33: +1), leak draw 1 (40 >= 1: +1), threshold draw
    # 2647435461 & 15 = 5: V = 2 < 2 + 5: no spike.
    p = params(axon_weights=[40, 0, 0, 0], syn_stochastic=[1, 0, 0, 0], leak=40, leak_stochastic=1,
               threshold=2, threshold_mask=4, reset_mode=2)
    assert run_one(p, [[1, 0, 0, 0]]) == ([2], [False])


def test_a_relay_fires_when_any_spike_reaches_it():
    p = params(relay=1, threshold=5)
    assert run_one(p, [E0, [0, 0, 1, 0], [3, 0, 0, 0], E0])[1] == [False, True, True, False]


def test_core_seeds_are_per_core_and_reproducible():
    a = tn.core_seeds(0, np.array([0, 1, 2]))
    assert a.dtype == np.int64 and np.all((a > 0) & (a <= M32))
    assert len(set(a.tolist())) == 3
    assert tn.core_seeds(0, np.array([2]))[0] == a[2]  # a core's stream ignores the others
    assert tn.core_seeds(1, np.array([0]))[0] != a[0]


# --------------------------------------------------------------------------- the twin


def sgn(x: int) -> int:
    return (x > 0) - (x < 0)


class Draws:
    """xorshift32 on Python ints, one state per core."""

    def __init__(self, states):
        self.x = [int(s) for s in states]

    def __call__(self, col: int) -> int:
        x = self.x[col]
        x ^= (x << 13) & M32
        x ^= x >> 17
        x ^= (x << 5) & M32
        self.x[col] = x
        return x


def clamp(x: int, nm) -> int:
    if nm.wrap:
        span = nm.v_max - nm.v_min + 1
        return (x - nm.v_min) % span + nm.v_min
    return max(nm.v_min, min(nm.v_max, x))


def twin_neuron(V: int, event_types: list[int], prm: dict, draw, nm) -> tuple[int, bool]:
    """Cassidy's neuron for one tick, one event at a time; ``prm`` holds Python ints."""
    if prm["relay"]:
        return V, len(event_types) > 0
    pm = nm.prng_mask
    for g in sorted(event_types):
        s = prm["w"][g]
        if prm["b"][g]:
            V += sgn(s) * (1 if abs(s) >= (draw() & pm) else 0)
        else:
            V += s
    V = clamp(V, nm)
    eps, lam = prm["eps"], prm["lam"]
    omega = (1 - eps) + eps * sgn(V)
    if prm["c"]:
        step = (1 if abs(lam) >= (draw() & pm) else 0) * sgn(lam)
    else:
        step = lam
    before = V
    V = V + omega * step
    if eps and sgn(V) != sgn(before):
        V = 0
    V = clamp(V, nm)
    M = (1 << prm["tm"]) - 1
    eta = draw() & M if M else 0
    a, b, k, gm, R = prm["alpha"], prm["beta"], prm["kappa"], prm["gamma"], prm["R"]
    fire = V > a + eta if nm.strict else V >= a + eta
    if fire:
        V = [R, V - (a + eta), V][gm]
    elif V < -(b * k + (b + eta) * (1 - k)):
        V = -b * k + (1 - k) * [-R, V + (b + eta), V][gm]
    return clamp(V, nm), fire


def random_params(rng: np.random.Generator, n: int, stochastic: bool = True) -> dict[str, np.ndarray]:
    """Random parameters in every mode, within the chip's widths."""
    def pick(lo, hi, size=n):
        return rng.integers(lo, hi + 1, size=size).astype(np.int64)

    return {
        "axon_weights": pick(-256, 255, (n, 4)),
        "syn_stochastic": (pick(0, 3, (n, 4)) == 0).astype(np.int64) if stochastic else np.zeros((n, 4), np.int64),
        "leak": pick(-256, 255) // rng.choice([1, 16], size=n),
        "leak_reversal": pick(0, 1),
        "leak_stochastic": (pick(0, 3) == 0).astype(np.int64) if stochastic else np.zeros(n, np.int64),
        "threshold": rng.choice([0, 1, 50, 500, 5000, (1 << 18) - 1], size=n).astype(np.int64),
        "threshold_mask": rng.choice([0, 0, 3, 8, 17], size=n).astype(np.int64) if stochastic
        else np.zeros(n, np.int64),
        "neg_threshold": rng.choice([0, 10, 300, 3000, (1 << 18) - 1], size=n).astype(np.int64),
        "neg_saturate": pick(0, 1),
        "reset_value": pick(-(1 << 17), (1 << 17) - 1) // rng.choice([1, 1000], size=n),
        "reset_mode": pick(0, 2),
    }


def twin_prm(raw: dict[str, np.ndarray], relay: np.ndarray, j: int) -> dict:
    return {"w": [int(x) for x in raw["axon_weights"][j]], "b": [int(x) for x in raw["syn_stochastic"][j]],
            "lam": int(raw["leak"][j]), "eps": int(raw["leak_reversal"][j]), "c": int(raw["leak_stochastic"][j]),
            "alpha": int(raw["threshold"][j]), "tm": int(raw["threshold_mask"][j]),
            "beta": int(raw["neg_threshold"][j]), "kappa": int(raw["neg_saturate"][j]),
            "R": int(raw["reset_value"][j]), "gamma": int(raw["reset_mode"][j]), "relay": int(relay[j])}


@pytest.mark.parametrize("seed", range(6))
def test_random_neurons_agree_with_the_twin_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    n, steps, n_cores = 24, 60, 3
    raw = random_params(rng, n)
    relay = (rng.random(n) < 0.1).astype(np.uint8)
    nm = NM._replace(wrap=bool(seed % 3 == 2), strict=bool(seed % 2))
    p = tn.neuron_params(raw, relay, 4)
    comp_col = np.sort(rng.integers(0, n_cores, size=n)).astype(np.int32)
    states = tn.core_seeds(seed, np.arange(n_cores))
    rng_k = states.copy()
    draws = Draws(states)
    v = np.zeros(n, dtype=np.int64)
    vt = [0] * n
    fired = np.zeros(n, dtype=np.uint8)
    prms = [twin_prm(raw, relay, j) for j in range(n)]
    n_fired_total = 0
    for t in range(steps):
        # Bursty input: sometimes thousands of events, to reach saturation.
        counts = rng.poisson(rng.choice([0.3, 3.0, 800.0]), size=(n, 4)).astype(np.int64)
        tn.tick(v, counts, p, nm, rng_k, comp_col, fired)
        for j in range(n):
            types = [g for g in range(4) for _ in range(int(counts[j, g]))]
            vt[j], f = twin_neuron(vt[j], types, prms[j], lambda col=int(comp_col[j]): draws(col), nm)
            assert bool(fired[j]) == f, (t, j)
            n_fired_total += f
        assert v.tolist() == vt, t
    assert draws.x == rng_k.tolist()
    assert n_fired_total > 0


# --------------------------------------------------------------------------- Mappings


def build_mapping(network: Network, comps, syns, params_by_comp, axon_types, chip=CHIP) -> Mapping:
    """A TrueNorth Mapping from tables written by hand.

    comps: ``[(core_id, population or None, index)]`` grouped by ascending core (None: a
    relay copying compartment ``index``). syns: ``[(source, target compartment,
    extra_delay, projection)]`` with ``source`` ``(population, i)`` or ``("<comp>", c)``.
    One axon per (source, target core, projection), of type ``axon_types[projection]``
    (a dict) or ``axon_types[(projection, source index)]``.
    """
    neuron_pops = tuple(n for n, p in network.populations.items() if not p.is_input)
    input_pops = [n for n, p in network.populations.items() if p.is_input]
    proj_names = tuple(p.name for p in network.projections)
    n_comp = len(comps)
    comp_core = np.array([c[0] for c in comps], dtype=np.int32)
    where = {(c[1], c[2]): k for k, c in enumerate(comps) if c[1] is not None}
    input_offset, at = {}, 0
    for name in input_pops:
        input_offset[name] = at
        at += network.populations[name].size
    n_sources = n_comp + at

    def source_id(src) -> int:
        pop, i = src
        if pop == "<comp>":
            return int(i)
        if pop in input_offset:
            return n_comp + input_offset[pop] + int(i)
        return where[(pop, int(i))]

    axons: dict[tuple, list] = {}
    for src, tgt, d, proj in syns:
        key = (source_id(src), int(comp_core[tgt]), proj, src[1])
        axons.setdefault(key, []).append((int(tgt), int(d)))
    keys = list(axons)
    routes = defaultdict(list)
    for a, k in enumerate(keys):
        routes[k[0]].append(a)
    route_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    route_axon: list[int] = []
    for s in range(n_sources):
        route_axon += routes.get(s, [])
        route_ptr[s + 1] = len(route_axon)
    syn_ptr, tgt_l, d_l = [0], [], []
    for k in keys:
        for tgt, d in sorted(axons[k]):
            tgt_l.append(tgt)
            d_l.append(d)
        syn_ptr.append(len(tgt_l))
    cores = []
    for core in sorted(set(comp_core.tolist())):
        ks = [k for k in range(n_comp) if comp_core[k] == core]
        slices = [CoreSlice(population=comps[k][1] or "<relay>", start=k, stop=k + 1) for k in ks]
        cores.append(CoreMap(core_id=core, slices=tuple(slices), comp_start=ks[0], comp_stop=ks[-1] + 1))

    def atype(k) -> int:
        proj, i = k[2], k[3]
        return axon_types.get((proj, i), axon_types.get(proj, 0))

    return Mapping(
        chip=chip, network=network, family="truenorth", cores=tuple(cores), comp_core=comp_core,
        comp_pop=np.array([-1 if c[1] is None else neuron_pops.index(c[1]) for c in comps], dtype=np.int32),
        comp_index=np.array([c[2] for c in comps], dtype=np.int64),
        params={k: np.asarray(v, dtype=np.int64) for k, v in params_by_comp.items()},
        v_scale=np.ones(n_comp, dtype=np.float64), population_names=neuron_pops,
        input_offset=input_offset, route_ptr=route_ptr, route_axon=np.array(route_axon, dtype=np.int64),
        axon_core=np.array([k[1] for k in keys], dtype=np.int32),
        axon_projection=np.array([proj_names.index(k[2]) for k in keys], dtype=np.int32),
        axon_weight_exp=np.zeros(len(keys), dtype=np.int8),
        axon_type=np.array([atype(k) for k in keys], dtype=np.int8),
        axon_syn_ptr=np.array(syn_ptr, dtype=np.int64), syn_target=np.array(tgt_l, dtype=np.int32),
        syn_weight=np.ones(len(tgt_l), dtype=np.int32), syn_delay=np.array(d_l, dtype=np.int16),
        projection_names=proj_names)


def small_network(n_in: int, n: int, proj_names: list[tuple[str, str, str]]) -> Network:
    pops = {"inp": Population(name="inp", shape=(n_in,),
                              encoder=SpikeFile(np.zeros(0, np.int64), np.zeros(0, np.int64), "inp.npz")),
            "a": Population(name="a", shape=(n,), neuron=NeuronModel(family="if"))}
    empty = Sparse(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), "x.npz")
    return Network(name="tn", populations=pops,
                   projections=tuple(Projection(name=nm_, pre=pre, post=post, connector=empty)
                                     for nm_, pre, post in proj_names))


def twin_run(m: Mapping, steps: int, inputs: dict[int, list[int]], seed: int = 0):
    """Step a Mapping with :func:`twin_neuron`: pending events per (step, compartment)."""
    raw = {k: np.asarray(v) for k, v in m.params.items()}
    relay = (np.asarray(m.comp_pop) == -1).astype(np.uint8)
    prms = [twin_prm(raw, relay, j) for j in range(m.n_comp)]
    core_ids = [c.core_id for c in m.cores]
    col = {c: j for j, c in enumerate(core_ids)}
    draws = Draws(tn.core_seeds(seed, np.array(core_ids)))
    pending: dict[tuple[int, int], list[int]] = defaultdict(list)
    spikes_in = np.zeros((steps, len(core_ids)), dtype=np.int64)
    synops = np.zeros_like(spikes_in)
    spikes_out = np.zeros_like(spikes_in)

    def send(s: int, t: int) -> None:
        for r in range(m.route_ptr[s], m.route_ptr[s + 1]):
            a = int(m.route_axon[r])
            j = col[int(m.axon_core[a])]
            spikes_in[t, j] += 1
            for k in range(m.axon_syn_ptr[a], m.axon_syn_ptr[a + 1]):
                synops[t, j] += 1
                pending[(t + 1 + int(m.syn_delay[k]), int(m.syn_target[k]))].append(int(m.axon_type[a]))

    V = [0] * m.n_comp
    spikes, vs = [], []
    for t in range(steps):
        for c in range(m.n_comp):
            j = col[int(m.comp_core[c])]
            V[c], f = twin_neuron(V[c], pending.pop((t, c), []), prms[c], lambda j=j: draws(j), NM)
            if f:
                spikes.append((t, c))
                spikes_out[t, j] += 1
                send(c, t)
        vs.append(list(V))
        for s in inputs.get(t, []):
            send(s, t)
    return spikes, np.array(vs, dtype=np.int64), {"spikes_in": spikes_in, "synops": synops,
                                                   "spikes_out": spikes_out}


def run_kernel(m: Mapping, steps: int, inputs: dict[int, list[int]], strict: bool = False):
    kernel = kernel_for("truenorth")
    assert kernel is tn
    src = [s for t in range(steps) for s in sorted(inputs.get(t, []))]
    ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum([len(inputs.get(t, [])) for t in range(steps)], out=ptr[1:])
    return kernel.run(kernel.prepare(m), KernelInputs(steps=steps, in_ptr=ptr, in_src=np.array(src, dtype=np.int64),
                                                      probe_comp=np.arange(m.n_comp, dtype=np.int64),
                                                      strict=strict))


def random_mapping(seed: int):
    """3 cores, 30 neurons + relays, recurrent synapses with delays 0..4, 8 inputs."""
    rng = np.random.default_rng(seed)
    n, n_in = 30, 8
    net = small_network(n_in, n, [("in_a", "inp", "a"), ("rec", "a", "a"), ("split", "a", "a")])
    core_of = np.sort(rng.integers(0, 3, size=n)) * 7 + 2  # core ids 2, 9, 16
    comps = [(int(core_of[i]), "a", i) for i in range(n)]
    relays = [(int(rng.choice([2, 9, 16])), None, int(rng.integers(0, n))) for _ in range(4)]
    comps = sorted(comps + relays, key=lambda c: c[0])
    where = {(c[1], c[2]): k for k, c in enumerate(comps) if c[1] is not None}
    relay_comps = [k for k, c in enumerate(comps) if c[1] is None]
    syns = []
    for i in range(n_in):
        for tgt in rng.choice(n, size=6, replace=False):
            syns.append((("inp", i), where[("a", int(tgt))], int(rng.integers(0, 3)), "in_a"))
    for i in range(n):
        for tgt in rng.choice(n, size=4, replace=False):
            syns.append((("a", i), where[("a", int(tgt))], int(rng.integers(0, 5)), "rec"))
    for r in relay_comps:
        src = comps[r][2]
        syns.append((("a", src), r, 0, "split"))
        for tgt in rng.choice(n, size=3, replace=False):
            syns.append((("<comp>", r), where[("a", int(tgt))], int(rng.integers(0, 3)), "rec"))
    raw = random_params(rng, len(comps))
    raw["axon_weights"] = rng.integers(-60, 120, size=(len(comps), 4)).astype(np.int64)
    raw["threshold"] = rng.integers(50, 400, size=len(comps)).astype(np.int64)
    types = {("in_a", i): int(rng.integers(0, 4)) for i in range(n_in)}
    types.update({("rec", i): int(rng.integers(0, 4)) for i in range(n)})
    types.update({("rec", r): int(rng.integers(0, 4)) for r in relay_comps})
    m = build_mapping(net, comps, syns, raw, types)
    inputs = {t: sorted({int(x) for x in rng.integers(0, n_in, size=3)}) for t in range(40) if rng.random() < 0.6}
    inputs = {t: [m.n_comp + s for s in v] for t, v in inputs.items()}
    return m, inputs


@pytest.mark.parametrize("seed", range(4))
def test_random_mappings_agree_with_the_twin(seed):
    m, inputs = random_mapping(seed)
    steps = 50
    spikes, vs, counts = twin_run(m, steps, inputs)
    r = run_kernel(m, steps, inputs)
    got = list(zip(r.spike_step.tolist(), r.spike_comp.tolist()))
    assert got == spikes
    np.testing.assert_array_equal(r.traces["v"], vs)
    from neurocomp.emulator.kernels.routing import SPIKES_IN, SPIKES_OUT, SYNOPS
    np.testing.assert_array_equal(r.counters[SPIKES_IN], counts["spikes_in"])
    np.testing.assert_array_equal(r.counters[SYNOPS], counts["synops"])
    np.testing.assert_array_equal(r.counters[SPIKES_OUT], counts["spikes_out"])
    assert len(spikes) > 20  # the network is active, relays included
    assert any(m.comp_pop[c] == -1 for _, c in spikes)


def test_a_spike_travels_through_a_relay_with_one_extra_tick():
    # inp 0 -> relay (delay 0) -> neuron 0 (delay 2, type 1, s1 = 5, α = 5).
    # t0: input fires; t1: the relay receives it and fires; t1 + 1 + 2 = t4: neuron 0
    # gets +5 >= 5 and fires.
    net = small_network(1, 1, [("in_r", "inp", "a"), ("r_a", "a", "a")])
    comps = [(0, "a", 0), (0, None, 0)]
    syns = [(("inp", 0), 1, 0, "in_r"), (("<comp>", 1), 0, 2, "r_a")]
    prm = {"axon_weights": [[0, 5, 0, 0], [0, 0, 0, 0]], "threshold": [5, 0], "leak": [0, 0],
           "neg_threshold": [0, 0], "reset_value": [0, 0], "reset_mode": [0, 0]}
    m = build_mapping(net, comps, syns, prm, {"r_a": 1})
    r = run_kernel(m, 6, {0: [m.n_comp]})
    assert list(zip(r.spike_step.tolist(), r.spike_comp.tolist())) == [(1, 1), (4, 0)]


def test_strict_mode_names_the_compartment_and_step():
    net = small_network(1, 2, [("in_a", "inp", "a")])
    comps = [(5, "a", 0), (5, "a", 1)]
    syns = [(("inp", 0), 1, 0, "in_a")]
    prm = {"axon_weights": [[0, 0, 0, 0], [255, 0, 0, 0]], "threshold": [100, (1 << 18) - 1],
           "leak": [0, 255], "neg_threshold": [0, 0], "reset_value": [0, 0], "reset_mode": [0, 2]}
    m = build_mapping(net, comps, syns, prm, {})
    # Neuron 1 gains 255 per tick from its leak: it passes 524,287 after 2057 ticks.
    steps = 2100
    with pytest.raises(EmulationError, match=r"core 5, compartment 1 \(population 'a' neuron 1\): "
                                             r"v saturated at its 20-bit limit at step 2056"):
        run_kernel(m, steps, {}, strict=True)
    r = run_kernel(m, steps, {})
    assert r.overflows == {"v": steps - 2056} and r.first_overflow == {"v": (2056, 1)}


def test_prepare_refuses_out_of_range_parameters():
    net = small_network(1, 1, [("in_a", "inp", "a")])
    base = {"axon_weights": [[0, 0, 0, 0]], "threshold": [1], "leak": [0], "neg_threshold": [0],
            "reset_value": [0], "reset_mode": [0]}
    for key, bad, text in [("axon_weights", [[256, 0, 0, 0]], r"axon_weights = \[256, 0, 0, 0\] is outside -256..255"),
                           ("leak", [-257], "leak = -257 is outside -256..255"),
                           ("threshold", [1 << 18], "threshold = 262144 is outside 0..262143"),
                           ("reset_mode", [3], "reset_mode = 3 is outside 0..2"),
                           ("threshold_mask", [18], "threshold_mask = 18 is outside 0..17")]:
        prm = dict(base, **{key: bad})
        m = build_mapping(net, [(0, "a", 0)], [(("inp", 0), 0, 0, "in_a")], prm, {})
        with pytest.raises(UsageError, match=r"population 'a' neuron 0 \(compartment 0, core 0\): " + text):
            tn.prepare(m)
    m = build_mapping(net, [(0, "a", 0)], [(("inp", 0), 0, 15, "in_a")], base, {})
    with pytest.raises(UsageError, match="delay of 16 steps; chip 'truenorth' allows 1..15"):
        tn.prepare(m)


def test_counters_of_a_quiet_and_a_busy_core():
    # Core 0: neuron 0 at rest (no input, V = 0, λ = 0) is inactive; neuron 1 with a leak
    # of -1 is active every tick. Core 3: neuron 2 gets the input at t0 (arrives t1).
    net = small_network(1, 3, [("in_a", "inp", "a")])
    comps = [(0, "a", 0), (0, "a", 1), (3, "a", 2)]
    syns = [(("inp", 0), 2, 0, "in_a")]
    prm = {"axon_weights": [[0] * 4, [0] * 4, [3, 0, 0, 0]], "threshold": [10, 10, 10],
           "leak": [0, -1, 0], "neg_threshold": [5, 5, 5], "reset_value": [0, 0, 0], "reset_mode": [0, 0, 0]}
    m = build_mapping(net, comps, syns, prm, {})
    r = run_kernel(m, 3, {0: [m.n_comp]})
    from neurocomp.emulator.kernels.routing import SPIKES_IN, UPDATES_ACTIVE, UPDATES_INACTIVE
    # Neuron 1: V = -1, -2, -3; neuron 2: V = 0, 3, 3 (active from t1 on: input, then V != 0).
    assert r.traces["v"].tolist() == [[0, -1, 0], [0, -2, 3], [0, -3, 3]]
    assert r.counters[UPDATES_ACTIVE].tolist() == [[1, 0], [1, 1], [1, 1]]
    assert r.counters[UPDATES_INACTIVE].tolist() == [[1, 1], [1, 0], [1, 0]]
    assert r.counters[SPIKES_IN].tolist() == [[0, 1], [0, 0], [0, 0]]


def test_the_run_seed_drives_the_stochastic_threshold(tmp_path):
    # A stochastic threshold (mask 4 bits: alpha + a random 0..15) makes the spike train
    # depend on the generators: the same seed must repeat it, another seed change it.
    import neurocomp as nc
    from neurocomp.emulator.run import emulate

    (tmp_path / "s.snn").write_text(
        "input x[8] : rate(value = 0.5, max_rate = 1000 Hz, seed = 3)\n"
        "population n[8] : IF(threshold = 2) native truenorth(threshold = 3, threshold_mask = 4)\n"
        "connect x -> n : one_to_one(weight = 1)\n")
    mapping = nc.compile(nc.load(tmp_path / "s.snn"), chip="truenorth")
    a, b = emulate(mapping, 200, seed=0).spikes["n"], emulate(mapping, 200, seed=0).spikes["n"]
    c = emulate(mapping, 200, seed=1).spikes["n"]
    assert a.count > 0
    assert a.times.tolist() == b.times.tolist() and a.indices.tolist() == b.indices.tolist()
    assert (a.times.tolist(), a.indices.tolist()) != (c.times.tolist(), c.indices.tolist())
