"""The Loihi core (``loihi_cuba_lif``) against independent expectations.

Three kinds of evidence:

* impulse tests: one neuron, one input spike, every ``u`` and ``v`` written out with its
  derivation from Lava's bit-accurate LIF and Dense (shared/reference/loihi.md §1),
  including the wrap of ``u`` at ±2**23, the saturation of ``v``, ``du = 0`` and
  ``du = 4095``, decays rounding toward zero, per-projection exponents, bias shifts,
  refractory periods and delays;
* a slow twin (:func:`twin`, in this file): Python integers, one synapse at a time,
  Dense's per-projection sum-then-shift, hops asked of ``chip.hops``; random seeded
  Mappings (recurrence, several projections with exponents of both signs, delays,
  refractory, relays, several chips) must agree with the emulator bit for bit on
  spikes, ``u``, ``v`` and every counter;
* strict mode: the first overflow raises with the core, compartment, variable and step.

Mappings are built by hand from small tables (:func:`build_mapping`), so these tests do
not depend on the compiler.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from neurocomp.ir.connectors import Sparse
from neurocomp.ir.mapping import CoreMap, CoreSlice, Mapping
from neurocomp.ir.network import Network, NeuronModel, Population, Probe, Projection
from neurocomp.ir.encoders import SpikeFile
from neurocomp.ir.values import ArrayValue

LOIHI_KEYS = ("du", "dv", "vth_mant", "bias_mant", "bias_exp", "refractory")


def network_of(name: str, neurons: dict[str, int], inputs: dict[str, int],
               projections: dict[str, tuple], probes: dict[str, tuple[str, ...]] | None = None,
               model: NeuronModel | dict[str, NeuronModel] | None = None,
               input_spikes: dict[str, tuple[list[int], list[int]]] | None = None) -> Network:
    """A Network of the given sizes.

    ``projections[name] = (pre, post, exponent, [(i, j, weight, extra_delay), ...])``
    become Sparse connectors with those float weights and per-synapse delays;
    ``input_spikes[pop] = (times, indices)`` feed a SpikeFile encoder.
    """
    pops: dict[str, Population] = {}
    for pop, n in inputs.items():
        times, idx = (input_spikes or {}).get(pop, ([], []))
        enc = SpikeFile(times=np.asarray(times, dtype=np.int64), indices=np.asarray(idx, dtype=np.int64),
                        path=f"{pop}.npz")
        pops[pop] = Population(name=pop, shape=(n,), encoder=enc)
    for pop, n in neurons.items():
        m = model.get(pop) if isinstance(model, dict) else model
        pops[pop] = Population(name=pop, shape=(n,), neuron=m or NeuronModel(family="lif"))
    projs = []
    for p, (pre, post, _exp, table) in projections.items():
        arr = np.array([row[:3] for row in table], dtype=np.float64).reshape(-1, 3)
        delays = np.array([row[3] for row in table], dtype=np.int64)
        conn = Sparse(arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2].copy(), f"{p}.npz")
        projs.append(Projection(name=p, pre=pre, post=post, connector=conn,
                                delay_steps=ArrayValue(delays, f"{p}_delay.npy")))
    probe_list = tuple(Probe(population=p, variables=v) for p, v in (probes or {}).items())
    return Network(name=name, populations=pops, projections=tuple(projs), probes=probe_list)


def syns_of(projections: dict[str, tuple]) -> list:
    """The ``syns`` rows of :func:`build_mapping` for the synapses of ``projections``."""
    return [((pre, i), (post, j), w, d, p) for p, (pre, post, _e, table) in projections.items()
            for i, j, w, d in table]


def build_mapping(chip, network: Network, comps, syns, params, weight_exp, *,
                  v_scale=None, family: str = "loihi_cuba_lif") -> Mapping:
    """A Mapping from tables written by hand.

    comps
        ``[(core_id, population or None, index)]`` grouped by ascending core; ``None`` is a
        relay and ``index`` the compartment it copies.
    syns
        ``[(source, target, weight, extra_delay, projection)]``; ``source`` and
        ``target`` are ``(population, index)`` (a neuron; an input as a source), or
        ``("<comp>", c)`` for any compartment (relays).
    params
        ``{key: per-compartment list}`` (relays: any value).
    weight_exp
        ``{projection: exponent}``.

    One axon per (source, target core, projection); axons numbered in order of first
    appearance in ``syns``; routes of a source in axon order.
    """
    neuron_pops = tuple(n for n, p in network.populations.items() if not p.is_input)
    input_pops = [n for n, p in network.populations.items() if p.is_input]
    proj_names = tuple(p.name for p in network.projections)
    n_comp = len(comps)
    comp_core = np.array([c[0] for c in comps], dtype=np.int32)
    comp_pop = np.array([-1 if c[1] is None else neuron_pops.index(c[1]) for c in comps], dtype=np.int32)
    comp_index = np.array([c[2] for c in comps], dtype=np.int64)
    where = {(c[1], c[2]): k for k, c in enumerate(comps) if c[1] is not None}
    input_offset: dict[str, int] = {}
    at = 0
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

    axons: dict[tuple[int, int, str], list] = {}
    for src, tgt, w, d, proj in syns:
        tgt = source_id(tgt)
        key = (source_id(src), int(comp_core[tgt]), proj)
        axons.setdefault(key, []).append((int(tgt), int(w), int(d)))
    axon_keys = list(axons)
    routes: dict[int, list[int]] = defaultdict(list)
    for a, (s, _, _) in enumerate(axon_keys):
        routes[s].append(a)
    route_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    route_axon: list[int] = []
    for s in range(n_sources):
        route_axon += routes.get(s, [])
        route_ptr[s + 1] = len(route_axon)
    syn_ptr = [0]
    tgt_l, w_l, d_l = [], [], []
    for key in axon_keys:
        for tgt, w, d in sorted(axons[key]):
            tgt_l.append(tgt)
            w_l.append(w)
            d_l.append(d)
        syn_ptr.append(len(tgt_l))

    cores = []
    for core in sorted(set(comp_core.tolist())):
        ks = [k for k in range(n_comp) if comp_core[k] == core]
        slices = []
        for k in ks:
            pop = comps[k][1] or "<relay>"
            idx = comps[k][2] if comps[k][1] is not None else len([s for s in slices if s.population == "<relay>"])
            if slices and slices[-1].population == pop and slices[-1].stop == idx:
                slices[-1] = CoreSlice(population=pop, start=slices[-1].start, stop=idx + 1)
            else:
                slices.append(CoreSlice(population=pop, start=idx, stop=idx + 1))
        cores.append(CoreMap(core_id=core, slices=tuple(slices), comp_start=ks[0], comp_stop=ks[-1] + 1))

    full = {k: np.asarray(params.get(k, [0] * n_comp), dtype=np.int64) for k in LOIHI_KEYS}
    return Mapping(
        chip=chip, network=network, family=family, cores=tuple(cores),
        comp_core=comp_core, comp_pop=comp_pop, comp_index=comp_index, params=full,
        v_scale=np.ones(n_comp, dtype=np.float64) if v_scale is None else np.asarray(v_scale, dtype=np.float64),
        population_names=neuron_pops, input_offset=input_offset,
        route_ptr=route_ptr, route_axon=np.array(route_axon, dtype=np.int64),
        axon_core=np.array([k[1] for k in axon_keys], dtype=np.int32),
        axon_projection=np.array([proj_names.index(k[2]) for k in axon_keys], dtype=np.int32),
        axon_weight_exp=np.array([weight_exp[k[2]] for k in axon_keys], dtype=np.int8),
        axon_type=np.zeros(len(axon_keys), dtype=np.int8),
        axon_syn_ptr=np.array(syn_ptr, dtype=np.int64),
        syn_target=np.array(tgt_l, dtype=np.int32), syn_weight=np.array(w_l, dtype=np.int32),
        syn_delay=np.array(d_l, dtype=np.int16), projection_names=proj_names,
    )


# --------------------------------------------------------------------------- the twin


def _trunc(p: int, bits: int) -> int:
    """sign(p) * (|p| >> bits): Lava's decay rounding, toward zero."""
    return -((-p) >> bits) if p < 0 else p >> bits


def twin(mapping: Mapping, steps: int, in_events: dict[int, list[int]] | None = None):
    """Step ``mapping`` with Python ints, the slow way.

    ``in_events``: step -> input source ids emitting then. Returns a dict with
    ``spikes`` (list of (step, compartment)), ``u``, ``v`` (``steps x n_comp`` int64 at
    the end of each step) and ``counters`` (name -> ``steps x n_cores``), ``overflows``.
    """
    chip = mapping.chip
    num = chip.numerics
    D = num.decay.bits
    H_u = 1 << (num.state["u"].bits - 1)
    H_v = 1 << (num.state["v"].bits - 1)
    n = mapping.n_comp
    p = {k: [int(x) for x in mapping.params[k]] for k in LOIHI_KEYS}
    relay = [int(x) == -1 for x in mapping.comp_pop]
    core_ids = sorted({c.core_id for c in mapping.cores})
    col = {c: j for j, c in enumerate(core_ids)}
    names = ("spikes_in", "synops", "updates_active", "updates_inactive", "spikes_out",
             "messages_out", "hops_east_west", "hops_north_south", "hops_interchip")
    cnt = {k: np.zeros((steps, len(core_ids)), dtype=np.int64) for k in names}
    u = [0] * n
    v = [0] * n
    ref = [0] * n
    # pending[(step, target, projection)] = sum of integer weights arriving then
    pending: dict[tuple[int, int, int], int] = defaultdict(int)
    arrived: dict[tuple[int, int], int] = defaultdict(int)  # (step, target) -> spikes that reached it
    U = np.zeros((steps, n), dtype=np.int64)
    V = np.zeros((steps, n), dtype=np.int64)
    spikes = []
    overflows = {"u": 0, "v": 0}

    def send(s: int, t: int) -> None:
        if s < n:
            j = col[int(mapping.comp_core[s])]
        for r in range(int(mapping.route_ptr[s]), int(mapping.route_ptr[s + 1])):
            a = int(mapping.route_axon[r])
            dst_core = int(mapping.axon_core[a])
            if s < n:
                cnt["messages_out"][t, j] += 1
                h = chip.hops(int(mapping.comp_core[s]), dst_core)
                cnt["hops_east_west"][t, j] += h.east_west
                cnt["hops_north_south"][t, j] += h.north_south
                cnt["hops_interchip"][t, j] += h.interchip
            cnt["spikes_in"][t, col[dst_core]] += 1
            proj = int(mapping.axon_projection[a])
            for k in range(int(mapping.axon_syn_ptr[a]), int(mapping.axon_syn_ptr[a + 1])):
                cnt["synops"][t, col[dst_core]] += 1
                arrive = t + 1 + int(mapping.syn_delay[k])
                tgt = int(mapping.syn_target[k])
                pending[(arrive, tgt, proj)] += int(mapping.syn_weight[k])
                arrived[(arrive, tgt)] += 1

    for t in range(steps):
        fired = []
        for c in range(n):
            j = col[int(mapping.comp_core[c])]
            got = arrived.get((t, c), 0) > 0
            if relay[c]:
                cnt["updates_active" if got else "updates_inactive"][t, j] += 1
                if got:
                    fired.append(c)
                continue
            # Dense: per projection, the sum of weights shifted by the projection's exponent.
            a_in = 0
            for pj in range(len(mapping.projection_names)):
                total = pending.get((t, c, pj), 0)
                e = _proj_exp(mapping, pj)
                a_in += total << e if e >= 0 else total >> -e
            bias = p["bias_mant"][c] << p["bias_exp"][c] if p["bias_exp"][c] >= 0 \
                else p["bias_mant"][c] >> -p["bias_exp"][c]
            active = a_in != 0 or u[c] != 0 or v[c] != 0 or bias != 0 or ref[c] > 0
            cnt["updates_active" if active else "updates_inactive"][t, j] += 1
            # Lava run_spk, step 3: current
            uu = _trunc(u[c] * ((1 << D) - (p["du"][c] + num.decay.offset_u)), D) + (a_in << num.input_shift)
            uu, hit = _overflow(uu, H_u, num.state["u"].overflow)
            overflows["u"] += hit
            u[c] = uu
            if ref[c] > 0:
                v[c] = 0
                ref[c] -= 1
                continue
            # step 4: voltage, with the new u
            vv = _trunc(v[c] * ((1 << D) - (p["dv"][c] + num.decay.offset_v)), D) + uu + bias
            vv, hit = _overflow(vv, H_v, num.state["v"].overflow)
            overflows["v"] += hit
            # steps 5-6: strict '>', reset to zero
            if vv > p["vth_mant"][c] << num.threshold.shift:
                vv = 0
                ref[c] = p["refractory"][c]
                fired.append(c)
            v[c] = vv
        for c in fired:
            spikes.append((t, c))
            cnt["spikes_out"][t, col[int(mapping.comp_core[c])]] += 1
            send(c, t)
        for s in (in_events or {}).get(t, []):
            send(s, t)
        U[t] = u
        V[t] = v
    return {"spikes": spikes, "u": U, "v": V, "counters": cnt, "overflows": overflows}


def _overflow(x: int, half: int, mode: str) -> tuple[int, int]:
    """Lava's wrap (one period: x > H: x - 2H; x <= -H: x + 2H) or saturation to ±(H - 1);
    returns (value, 1 if it changed)."""
    if mode == "wrap":
        if x > half:
            return x - 2 * half, 1
        if x <= -half:
            return x + 2 * half, 1
        return x, 0
    if x > half - 1 or x < -(half - 1):
        return max(-(half - 1), min(half - 1, x)), 1
    return x, 0


def with_overflow(chip, u: str, v: str):
    """``chip`` with the overflow modes of u and v replaced."""
    data = chip.model_dump(by_alias=True)
    data["numerics"]["state"]["u"]["overflow"] = u
    data["numerics"]["state"]["v"]["overflow"] = v
    return type(chip).model_validate(data)


def _proj_exp(mapping: Mapping, pj: int) -> int:
    axons = np.flatnonzero(np.asarray(mapping.axon_projection) == pj)
    return int(mapping.axon_weight_exp[axons[0]]) if axons.size else 0


# =========================================================================== tests

import warnings  # noqa: E402

import pytest  # noqa: E402

from neurocomp.chip.load import load_chip  # noqa: E402
from neurocomp.diagnostics import EmulationError, UsageError  # noqa: E402
from neurocomp.emulator.run import emulate  # noqa: E402

LOIHI = load_chip("loihi")
TINY = load_chip("tests/data/tiny.toml")
BIG = 1000 * 64  # a threshold no test input reaches: vth_mant 1000 -> 64,000


def one_neuron(steps: int, inputs, *, strict: bool = True, chip=LOIHI, **params):
    """One neuron ``n`` fed by input neurons ``x[k]``, one per entry of ``inputs``:
    ``(projection, weight, exponent, extra_delay, spike_times)``. Entries sharing a
    projection name share its exponent. Returns (u, v, spike steps) as lists."""
    projections: dict[str, tuple] = {}
    times, idx = [], []
    for k, (proj, w, e, d, when) in enumerate(inputs):
        projections.setdefault(proj, ("x", "n", e, []))[3].append((k, 0, w, d))
        times += list(when)
        idx += [k] * len(when)
    net = network_of("one", {"n": 1}, {"x": max(1, len(inputs))}, projections,
                     probes={"n": ("voltage", "current")}, input_spikes={"x": (times, idx)})
    full = {"du": 0, "dv": 0, "vth_mant": BIG // 64, "bias_mant": 0, "bias_exp": 0, "refractory": 0}
    full.update(params)
    m = build_mapping(chip, net, [(0, "n", 0)], syns_of(projections),
                      {k: [v] for k, v in full.items()}, {p: t[2] for p, t in projections.items()})
    r = emulate(m, steps, strict=strict)
    u = r.traces["n"]["current"][:, 0].astype(np.int64).tolist()
    v = r.traces["n"]["voltage"][:, 0].astype(np.int64).tolist()
    return u, v, r.spikes["n"].times.tolist()


# -- impulses, derived by hand ------------------------------------------------------------
# Notation: f_u = 4096 - (du + 1), f_v = 4096 - dv; trunc(p) = sign(p)·(|p| >> 12);
# a spike through weight w of a projection with exponent e adds (w << e) << 6 to u one
# step after it was sent.


def test_du_4095_makes_u_the_input_of_each_step_and_dv_0_keeps_v():
    # du = 4095: f_u = 0, u = a_in << 6 every step. dv = 0: f_v = 4096, v never leaks.
    # w = 10, input spikes at 0 and 2 arrive at 1 and 3: a_in << 6 = 640.
    # t=1: u = 0 + 640 = 640          v = 0 + 640 = 640
    # t=2: u = trunc(640·0) + 0 = 0   v = trunc(640·4096) + 0 = 640
    # t=3: u = 640                    v = 640 + 640 = 1280
    # t=4: u = 0                      v = 1280
    u, v, s = one_neuron(5, [("p", 10, 0, 0, [0, 2])], du=4095, dv=0)
    assert u == [0, 640, 0, 640, 0]
    assert v == [0, 640, 640, 1280, 1280]
    assert s == []


def test_impulse_halving_current_and_a_voltage_that_keeps_1_in_4096():
    # du = 2047: f_u = 2048 (u halves); dv = 4095: f_v = 1 (v keeps 1/4096).
    # w = 64: a_in << 6 = 4096 at t=1.
    # t=1: u = 4096                   v = trunc(0) + 4096 = 4096
    # t=2: u = trunc(4096·2048) = 2048 v = trunc(4096·1) = 1, + 2048 = 2049
    # t=3: u = 1024                   v = trunc(2049·1) = 0, + 1024 = 1024
    # t=4: u = 512                    v = 0 + 512 = 512
    u, v, _ = one_neuron(5, [("p", 64, 0, 0, [0])], du=2047, dv=4095)
    assert u == [0, 4096, 2048, 1024, 512]
    assert v == [0, 4096, 2049, 1024, 512]


def test_du_0_still_decays_the_current_by_1_in_4096():
    # du = 0: f_u = 4096 - (0 + 1) = 4095 (Lava's ds_offset = 1). w = 64: u(1) = 4096.
    # t=2: u = trunc(4096·4095) = 4095
    # t=3: u = trunc(4095·4095 = 16,769,025) = 4094   (4094·4096 = 16,769,024)
    # t=4: u = trunc(4094·4095 = 16,764,930) = 4093   (4093·4096 = 16,764,928)
    # dv = 0: v sums u: 4096, 8191, 12285, 16378.
    u, v, _ = one_neuron(5, [("p", 64, 0, 0, [0])], du=0, dv=0)
    assert u == [0, 4096, 4095, 4094, 4093]
    assert v == [0, 4096, 8191, 12285, 16378]


def test_negative_decay_rounds_toward_zero_not_down():
    # w = -1: u(1) = -64. du = 4031: f_u = 4096 - 4032 = 64.
    # t=2: u = trunc(-64·64 = -4096) = -1        (floor would give -1 too)
    # t=3: u = trunc(-1·64 = -64) = -(64 >> 12) = 0   (floor would give -1, forever)
    # dv = 0: v = -64, -65, -65.
    u, v, _ = one_neuron(4, [("p", -1, 0, 0, [0])], du=4031, dv=0)
    assert u == [0, -64, -1, 0]
    assert v == [0, -64, -65, -65]


def test_u_minus_1_with_du_100_decays_to_0():
    # du = 100: f_u = 3995. From u(1) = -64:
    # t=2: trunc(-64·3995 = -255,680) = -(255,680 >> 12) = -62   (floor: -63)
    # t=3: trunc(-62·3995 = -247,690) = -60                      (floor: -61)
    # In magnitude, trunc gives |u| - ceil(|u|·101 / 4096): while |u| >= 41 the decay is
    # between 1 and 2 and two units go per step (-64, -62, ..., -42, -40); from |u| <= 40 it
    # is under 1 and exactly one unit goes: -39, -38, ..., -2, -1; and u = -1 gives
    # trunc(-3995) = 0 (floor would keep -1 forever). That is 13 + 39 + 1 = 53 steps.
    u, _, _ = one_neuron(55, [("p", -1, 0, 0, [0])], du=100, dv=0)
    by_two = list(range(-64, -39, 2))       # -64, -62, ..., -40
    by_one = list(range(-39, 1))            # -39, ..., -1, 0
    assert u == [0] + by_two + by_one + [0]
    assert u[-3:] == [-1, 0, 0]


def test_negative_voltage_decay_rounds_toward_zero():
    # bias = -1 every step (bias_mant -1, bias_exp 0), dv = 100: f_v = 3996.
    # t=0: v = trunc(0) + 0 + (-1) = -1
    # t=1: v = trunc(-1·3996) = -(3996 >> 12) = 0, + (-1) = -1   (floor: -2, -3, ...)
    u, v, _ = one_neuron(6, [], du=0, dv=100, bias_mant=-1)
    assert v == [-1] * 6
    assert u == [0] * 6


def test_bias_is_shifted_by_its_exponent_unaligned():
    # The bias adds bias_mant << bias_exp to v every step, NOT shifted by 6.
    # 3 << 7 = 384;  100 >> 2 = 25;  -5 >> 1 = -3 (arithmetic: floor of -2.5).
    for mant, exp, b in ((3, 7, 384), (100, -2, 25), (-5, -1, -3)):
        _, v, _ = one_neuron(3, [], dv=0, bias_mant=mant, bias_exp=exp)
        assert v == [b, 2 * b, 3 * b], (mant, exp)


def test_threshold_is_compared_strictly_after_its_shift():
    # vth_mant 100: threshold 100 << 6 = 6400. w = 100: u = 6400 at t=1 (du = 4095).
    # t=1: v = 6400, not > 6400: no spike. t=2: u = 6400 (second input), v = 12,800 > 6400:
    # spike, v = 0 (u is kept: 6400).
    u, v, s = one_neuron(3, [("p", 100, 0, 0, [0, 1])], du=4095, dv=0, vth_mant=100)
    assert s == [2]
    assert v == [0, 6400, 0]
    assert u == [0, 6400, 6400]


def test_weight_exponent_shifts_the_sum_of_each_projection_before_adding():
    # Four projections into one neuron (du = 4095, so u(1) = a_in << 6):
    #   p, q: exponent -1, one spike of weight 1 each:  (1 >> 1) + (1 >> 1) = 0 + 0
    #   (were they summed first, (1 + 1) >> 1 = 1 would reach u).
    u, _, _ = one_neuron(2, [("p", 1, -1, 0, [0]), ("q", 1, -1, 0, [0])], du=4095)
    assert u == [0, 0]
    #   one projection r, two spikes of weight 1: (1 + 1) >> 1 = 1 -> u = 64.
    u, _, _ = one_neuron(2, [("r", 1, -1, 0, [0]), ("r", 1, -1, 0, [0])], du=4095)
    assert u == [0, 64]
    #   weight -1, exponent -1: -1 >> 1 = -1 (floor) -> u = -64.
    u, _, _ = one_neuron(2, [("s", -1, -1, 0, [0])], du=4095)
    assert u == [0, -64]
    #   exponent 1, weight 3: 6; exponent -2, weight 5: 1; exponent 1 again (another
    #   projection), weight -1: -2. a_in = 6 + 1 - 2 = 5 -> u = 320.
    u, _, _ = one_neuron(2, [("a", 3, 1, 0, [0]), ("b", 5, -2, 0, [0]), ("c", -1, 1, 0, [0])],
                         du=4095)
    assert u == [0, 320]


def test_u_at_plus_2_23_is_kept_and_above_it_wraps():
    # Eight inputs of weight 128, exponent 7, at step 0: a_in = 8·(128 << 7) = 131,072,
    # << 6 = 8,388,608 = 2**23. Lava wraps only u > 2**23: u = 2**23 is kept.
    # v = 2**23 saturates to 2**23 - 1 = 8,388,607 > vth (131,071 << 6 = 8,388,544): spike.
    eight = [("p", 128, 7, 0, [0])] * 8
    with pytest.warns(RuntimeWarning, match=r"population 'n': v saturated at its 24-bit ceiling 1 time \(first: step 1, "
                      r"core 0, compartment 0, neuron 0\): spikes unchanged") as rec:
        u, v, s = one_neuron(2, eight, du=4095, dv=0, vth_mant=131071, strict=False)
    assert "u wrapped" not in str(rec[0].message)
    assert u == [0, 2**23]
    assert v == [0, 0] and s == [1]
    # Nine: 9·16,384 << 6 = 9,437,184 > 2**23 -> u = 9,437,184 - 2**24 = -7,340,032.
    with pytest.warns(RuntimeWarning, match=r": population 'n': u wrapped around past its 24-bit ceiling 1 time "
                                           r"\(first: step 1, core 0.*: spikes can differ"):
        u, v, s = one_neuron(2, eight + [("p", 128, 7, 0, [0])], du=4095, dv=0, strict=False)
    assert u == [0, -7340032]
    assert v == [0, -7340032] and s == []


def test_u_at_minus_2_23_wraps_to_plus_2_23():
    # Weights -128: a_in << 6 = -2**23, and Lava's rule u <= -2**23 adds 2**24: u = +2**23;
    # v = 2**23 saturates to 2**23 - 1 and fires (threshold 8,388,544).
    with pytest.warns(RuntimeWarning, match=r"u wrapped around past its 24-bit floor 1 time .*: spikes can differ .*; "
                                           r"population 'n': v saturated at its 24-bit ceiling 1 time"):
        u, v, s = one_neuron(2, [("p", -128, 7, 0, [0])] * 8, du=4095, dv=0, vth_mant=131071,
                             strict=False)
    assert u == [0, 2**23]
    assert s == [1]


def test_v_saturates_at_minus_2_23_plus_1():
    # Five inputs of weight -128, exponent 7, at steps 0 and 1: a_in << 6 = 5·(-16,384)·64
    # = -5,242,880 at t=1 and t=2 (du = 4095). dv = 0:
    # t=1: v = -5,242,880;  t=2: v = -10,485,760 -> saturates to -(2**23 - 1) = -8,388,607
    # t=3: u = 0, v = -8,388,607.
    five = [("p", -128, 7, 0, [0, 1])] * 5
    with pytest.warns(RuntimeWarning, match=r"v saturated at its 24-bit floor 1 time \(first: step 2.*"
                                           r"spikes can differ from the float model: the chip's v is "
                                           r"held above the float V"):
        u, v, _ = one_neuron(4, five, du=4095, dv=0, strict=False)
    assert u == [0, -5242880, -5242880, 0]
    assert v == [0, -5242880, -8388607, -8388607]


def test_refractory_holds_v_at_zero_and_lets_u_integrate():
    # bias 4000 per step, threshold 6400, dv = 0.
    # refractory 0 (Lava): v = 4000, 8000 > 6400 fire ->0, 4000, 8000 fire, ...: 1, 3, 5, 7.
    _, v, s = one_neuron(8, [], dv=0, bias_mant=4000, vth_mant=100)
    assert s == [1, 3, 5, 7]
    assert v == [4000, 0, 4000, 0, 4000, 0, 4000, 0]
    # refractory 2: after the spike at 1, v is held at 0 for steps 2 and 3; t=4: 4000;
    # t=5: 8000 fires; held 6, 7.
    _, v, s = one_neuron(8, [], dv=0, bias_mant=4000, vth_mant=100, refractory=2)
    assert s == [1, 5]
    assert v == [4000, 0, 0, 0, 4000, 0, 0, 0]
    # u keeps integrating while v is held: input w = 10 (u += 640) at t=2 (sent at 1), du = 0
    # keeps u (4096 - 1: 640 -> trunc(640·4095) = 639).
    u, v, s = one_neuron(4, [("p", 10, 0, 0, [1])], du=0, dv=0, bias_mant=4000, vth_mant=100,
                         refractory=2)
    assert s == [1]
    assert u == [0, 0, 640, 639]
    assert v == [4000, 0, 0, 0]


def test_a_synaptic_delay_postpones_arrival():
    # extra delay 3: sent at 0, arrives at 0 + 1 + 3 = 4 (du = 4095: u = 640 then only).
    u, _, _ = one_neuron(6, [("p", 10, 0, 3, [0])], du=4095)
    assert u == [0, 0, 0, 0, 640, 0]


def test_a_delay_beyond_the_chip_is_refused():
    # The tiny chip allows delays of 1..8 steps: extra 0..7.
    with pytest.raises(UsageError, match=r"projection 'p'.* 9 steps.* at most 8"):
        one_neuron(2, [("p", 1, 0, 8, [0])], chip=TINY)


# -- strict mode --------------------------------------------------------------------------


def test_strict_mode_raises_at_the_first_wrap_with_where_and_when():
    nine = [("p", 128, 7, 0, [2])] * 9
    with pytest.raises(EmulationError) as info:
        one_neuron(5, nine, du=4095, strict=True)
    err = info.value
    assert (err.core, err.compartment, err.variable, err.step) == (0, 0, "u", 3)
    assert "core 0, compartment 0 (population 'n' neuron 0): u wrapped around" in str(err)
    assert "step 3" in str(err)


def test_strict_mode_raises_at_the_first_saturation_of_v():
    five = [("p", -128, 7, 0, [0, 1])] * 5
    with pytest.raises(EmulationError) as info:
        one_neuron(4, five, du=4095, strict=True)
    assert (info.value.variable, info.value.step) == ("v", 2)
    assert "saturated" in str(info.value)


def test_without_strict_overflows_are_counted_and_warned_once():
    five = [("p", -128, 7, 0, [0, 1, 2, 3])] * 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, v, _ = one_neuron(6, five, du=4095, strict=False)
    assert v[2:5] == [-8388607] * 3
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    # v saturates at t = 2, 3, 4 (t=5: u = 0, v stays at the limit without overflowing).
    assert len(msgs) == 1
    assert "population 'n': v saturated at its 24-bit floor 3 times (first: step 2, core 0, " \
        "compartment 0, neuron 0)" in msgs[0]
    assert caught[0].filename == __file__  # the warning points at the caller's line


# -- parameters out of range --------------------------------------------------------------


def test_a_decay_outside_its_bits_is_refused_naming_the_neuron():
    with pytest.raises(UsageError, match=r"neuron 0 \(compartment 0\): du = 4096 is outside 0..4095"):
        one_neuron(2, [], du=4096)


# -- random Mappings against the twin -----------------------------------------------------


def random_case(seed: int, chip, *, relays: bool = True, steps: int = 40, uniform: bool = False,
                big: bool = False):
    """A random seeded network on random cores: two neuron populations, one input,
    recurrence, five projections with exponents of both signs (two sharing one),
    per-synapse delays up to the chip's maximum, refractory periods, bias, relays.
    ``uniform``: bigger populations, one parameter set per population, one population
    per core (the kernel's path for runs of equal parameters). ``big``: exponents of 6
    and 7, so that ``u`` and ``v`` overflow.
    Returns (mapping, input raster, input events by step for the twin)."""
    rng = np.random.default_rng(seed)
    sizes = {"a": int(rng.integers(90, 130)), "b": int(rng.integers(64, 90))} if uniform \
        else {"a": int(rng.integers(3, 14)), "b": int(rng.integers(3, 10))}
    density = 0.08 if uniform else 0.4
    n_in = int(rng.integers(2, 7))
    max_extra = chip.numerics.delay.max_steps - chip.numerics.delay.min_steps
    exps = {"xa": int(rng.integers(-2, 3)), "xb": 0, "aa": int(rng.integers(-3, 0)),
            "ab": 0, "ba": int(rng.integers(-1, 4))}
    if big:
        exps = {k: int(rng.integers(6, 8)) for k in exps}
    pairs = {"xa": ("x", "a"), "xb": ("x", "b"), "aa": ("a", "a"), "ab": ("a", "b"), "ba": ("b", "a")}
    size_of = {"x": n_in, **sizes}
    projections = {}
    for name, (pre, post) in pairs.items():
        table = []
        for i in range(size_of[pre]):
            for j in range(size_of[post]):
                if rng.random() < density:
                    w = int(rng.integers(-30, 80)) if pre != "b" else int(rng.integers(-80, 10))
                    if big:
                        w = int(rng.integers(100, 256)) * (1 if pre != "b" else -1)
                    table.append((i, j, w, int(rng.integers(0, max_extra + 1))))
        projections[name] = (pre, post, exps[name], table)
    net = network_of(f"rand{seed}", sizes, {"x": n_in}, projections,
                     probes={"a": ("voltage", "current"), "b": ("voltage", "current")})
    # Neurons in order over random cores (ascending ids), a few per core, relays at a
    # core's end.
    cap = chip.core.neurons
    order = [("a", i) for i in range(sizes["a"])] + [("b", i) for i in range(sizes["b"])]
    n_cores = 2 if uniform else int(rng.integers(2, 5))
    core_ids = np.sort(rng.choice(chip.total_cores, size=n_cores, replace=False)).tolist()
    cuts = [sizes["a"]] if uniform else \
        np.sort(rng.choice(np.arange(1, len(order)), size=n_cores - 1, replace=False)).tolist()
    chunks = np.split(np.arange(len(order)), cuts)
    comps = []
    relay_at = []
    for core, chunk in zip(core_ids, chunks):
        assert len(chunk) + 2 <= cap
        comps += [(core, *order[k]) for k in chunk]
        if relays and (uniform or rng.random() < 0.7):
            relay_at.append(len(comps))
            comps.append((core, None, 0))
    syns = syns_of(projections)
    for r in relay_at:
        # A neuron of 'a' reaches the relay, which forwards to random neurons of 'b'.
        src = int(rng.integers(0, sizes["a"]))
        comps[r] = (comps[r][0], None, [k for k, c in enumerate(comps) if c[1:] == ("a", src)][0])
        # Through 'aa', whose exponent is negative: the relay's count shifts to 0, yet a
        # spike reached it.
        syns.append((("a", src), ("<comp>", r), 1, int(rng.integers(0, max_extra + 1)), "aa"))
        for j in rng.choice(sizes["b"], size=3, replace=False):
            syns.append((("<comp>", r), ("b", int(j)), int(rng.integers(-20, 60)), 0, "ab"))
    n = len(comps)
    params = {
        "du": rng.integers(0, 4096, n).tolist(),
        "dv": rng.choice([0, 1] if big else [0, 1, 100, 2048, 4000, 4095], n).tolist(),
        "vth_mant": rng.integers(1, 120, n).tolist(),
        "bias_mant": rng.integers(-300, 700, n).tolist(),
        "bias_exp": rng.integers(-3, 4, n).tolist(),
        "refractory": rng.integers(0, 4, n).tolist(),
    }
    if uniform:
        for key in params:
            per_pop = {p: params[key][i] for i, p in enumerate(("a", "b"))}
            params[key] = [per_pop[c[1]] if c[1] else 0 for c in comps]
        # 'a' fires now and then (bias-driven), so the relays that copy it do too.
        for i, c in enumerate(comps):
            if c[1] == "a":
                params["bias_mant"][i], params["bias_exp"][i] = 500, 3
                params["vth_mant"][i] = 50  # below the bias alone: fires often
        relay_at = []
    for r in relay_at:
        # The neuron a relay copies fires now and then (bias-driven), so relays do too.
        src = comps[r][2]
        params["bias_mant"][src], params["bias_exp"][src] = 600, 3
        params["vth_mant"][src] = int(rng.integers(60, 120))
    mapping = build_mapping(chip, net, comps, syns, params, exps)
    raster = rng.random((steps, n_in)) < 0.3
    by_step = {t: [n + i for i in np.flatnonzero(raster[t]).tolist()] for t in range(steps)}
    return mapping, raster, by_step


def assert_matches_twin(mapping, raster, by_step, steps, *, overflows: bool = False):
    if overflows:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r = emulate(mapping, steps, {"x": raster})
    else:
        r = emulate(mapping, steps, {"x": raster}, strict=True)
    tw = twin(mapping, steps, by_step)
    assert (tw["overflows"]["u"] + tw["overflows"]["v"] > 0) == overflows, tw["overflows"]
    comp_pop = np.asarray(mapping.comp_pop)
    for p, name in enumerate(mapping.population_names):
        mine = np.flatnonzero(comp_pop == p)
        comps = mine[np.argsort(np.asarray(mapping.comp_index)[mine])]
        got = sorted(zip(r.spikes[name].times.tolist(), r.spikes[name].indices.tolist()))
        want = sorted((t, int(mapping.comp_index[c])) for t, c in tw["spikes"] if comp_pop[c] == p)
        assert got == want, name
        np.testing.assert_array_equal(r.traces[name]["voltage"], tw["v"][:, comps])
        np.testing.assert_array_equal(r.traces[name]["current"], tw["u"][:, comps])
    for field in tw["counters"]:
        np.testing.assert_array_equal(getattr(r.counters, field), tw["counters"][field], err_msg=field)
    np.testing.assert_array_equal(r.counters.core_ids, sorted(c.core_id for c in mapping.cores))
    return r, tw


@pytest.mark.parametrize("seed", range(6))
def test_random_mappings_on_two_loihi_chips_match_the_twin(seed):
    chip = LOIHI.with_system(2, 1, "user: tests, two chips for inter-chip hops")
    mapping, raster, by_step = random_case(seed, chip)
    r, tw = assert_matches_twin(mapping, raster, by_step, 40)
    # The case is not trivial: neurons fire, relays forward, spikes cross chips.
    assert len(tw["spikes"]) > 20
    assert r.counters.synops.sum() > 50


@pytest.mark.parametrize("seed", range(6, 10))
def test_random_mappings_on_the_tiny_chip_match_the_twin(seed):
    mapping, raster, by_step = random_case(seed, TINY)
    assert_matches_twin(mapping, raster, by_step, 40)


@pytest.mark.parametrize("seed", range(10, 13))
def test_random_uniform_mappings_match_the_twin(seed):
    # One parameter set per population and core: the kernel reads the parameters once
    # per run of compartments (and handles the relays of those cores as their own run).
    from neurocomp.targets.loihi import kernel as loihi

    mapping, raster, by_step = random_case(seed, LOIHI, uniform=True, steps=30)
    tables = loihi.prepare(mapping)
    assert np.all(np.diff(tables.core_seg_ptr) > 0)  # every core takes the runs' path
    r, tw = assert_matches_twin(mapping, raster, by_step, 30)
    relays = set(np.flatnonzero(np.asarray(mapping.comp_pop) == -1).tolist())
    assert any(c in relays for _, c in tw["spikes"])


def test_an_input_more_than_one_period_past_the_limit_wraps_modulo_2_24():
    # Thirty inputs of weight 255, exponent 7: a_in = 30·(255 << 7) = 979,200;
    # << 6 = 62,668,800, more than 3·2**23 (Lava's single subtraction would leave
    # 45,891,584, outside 24 bits). Modulo 2**24 into (-2**23, 2**23]:
    # 62,668,800 - 4·2**24 = -4,440,064 (and -4,440,064 + 2**24 = 12,337,152 > 2**23).
    thirty = [("p", 255, 7, 0, [0])] * 30
    with pytest.warns(RuntimeWarning, match="u wrapped around past its 24-bit ceiling 1 time"):
        u, v, _ = one_neuron(2, thirty, du=4095, dv=0, strict=False)
    assert u == [0, -4440064]
    assert v == [0, -4440064]


def test_the_overflow_modes_come_from_the_chip():
    # A chip whose u saturates and whose v wraps (one period, Lava's rule).
    chip = with_overflow(LOIHI, u="saturate", v="wrap")
    # Nine inputs of 128 << 7: u would be 9,437,184 > 2**23 - 1: saturates to 8,388,607;
    # v = 8,388,607 fits; it exceeds the highest threshold (131,071 << 6): fires.
    nine = [("p", 128, 7, 0, [0])] * 9
    with pytest.warns(RuntimeWarning, match="u saturated at its 24-bit ceiling 1 time"):
        u, v, s = one_neuron(2, nine, chip=chip, du=4095, dv=0, vth_mant=131071, strict=False)
    assert u == [0, 8388607] and s == [1]
    # Five inputs of -128 << 7 at steps 0 and 1: u = -5,242,880 at t=1, 2. v(2) =
    # -10,485,760 <= -2**23: wraps to -10,485,760 + 2**24 = 6,291,456 (below 8,388,544:
    # no spike).
    five = [("p", -128, 7, 0, [0, 1])] * 5
    with pytest.warns(RuntimeWarning, match="v wrapped around past its 24-bit floor 1 time"):
        _, v, s = one_neuron(3, five, chip=chip, du=4095, dv=0, vth_mant=131071, strict=False)
    assert v == [0, -5242880, 6291456] and s == []


@pytest.mark.parametrize("modes", [("wrap", "saturate"), ("saturate", "wrap"),
                                   ("wrap", "wrap"), ("saturate", "saturate")])
@pytest.mark.parametrize("uniform", [False, True])
def test_random_mappings_that_overflow_match_the_twin(modes, uniform):
    # Both update paths (runs of equal parameters, per-compartment arrays) under every
    # pair of overflow modes, with weights big enough to wrap or saturate u and v.
    chip = with_overflow(LOIHI, u=modes[0], v=modes[1])
    mapping, raster, by_step = random_case(30, chip, uniform=uniform, big=True, steps=25)
    assert_matches_twin(mapping, raster, by_step, 25, overflows=True)


def test_a_row_that_could_exceed_int16_accumulates_in_int32():
    # 200 inputs of weight 200, exponent -7, all at step 0, into one neuron: the row can
    # hold 200·200 = 40,000 > 2**15 - 1, so it is int32 (int16 would wrap to -25,536).
    # a_in = 40,000 >> 7 = 312 (floor of 312.5); u = 312 << 6 = 19,968 (du = 4095).
    from neurocomp.targets.loihi import kernel as loihi

    many = [("p", 200, -7, 0, [0])] * 200
    u, _, _ = one_neuron(2, many, du=4095)
    assert u == [0, 19968]
    few = [("p", 200, -7, 0, [0])] * 100  # 20,000 fits int16: 20,000 >> 7 = 156 -> 9,984
    u, _, _ = one_neuron(2, few, du=4095)
    assert u == [0, 9984]


def test_the_random_cases_exercise_what_they_claim():
    # Over the seeds above: negative and shared exponents, delays > 0, refractory
    # neurons that fire, relays that fire, hops of every kind.
    chip = LOIHI.with_system(2, 1, "user: tests")
    seen = defaultdict(int)
    for seed in range(6):
        m, raster, by_step = random_case(seed, chip)
        tw = twin(m, 40, by_step)
        seen["negative exponent"] += int(np.any(np.asarray(m.axon_weight_exp) < 0))
        seen["delays"] += int(np.asarray(m.syn_delay).max() > 0)
        relays = set(np.flatnonzero(np.asarray(m.comp_pop) == -1).tolist())
        seen["relay spikes"] += sum(1 for _, c in tw["spikes"] if c in relays)
        seen["refractory spikes"] += sum(1 for _, c in tw["spikes"] if m.params["refractory"][c] > 0)
        for f in ("hops_east_west", "hops_north_south", "hops_interchip"):
            seen[f] += int(tw["counters"][f].sum())
    assert all(seen[k] > 0 for k in ("negative exponent", "delays", "relay spikes",
                                     "refractory spikes", "hops_east_west",
                                     "hops_north_south", "hops_interchip")), dict(seen)


def test_an_if_neuron_driven_below_zero_keeps_the_float_trajectory():
    # One input spiking every step (rate 1000 Hz, value 1, dt 1 ms), weight -1, IF: the
    # float V after step t is -t (each spike arrives one step later). At the largest scale
    # the weight allows (2^20) the 24-bit v holds only -8 and saturated from step 8 on;
    # an IF neuron has no decay to truncate, so the quantizer lowers s while every value
    # stays exact (2^6: weight -1 -> -1 << 6, vth_mant 1): v reaches -39 unsaturated.
    from neurocomp.api import compile as nc_compile, run as nc_run
    from neurocomp.dsl.parse import parse
    from neurocomp.ir.build import build
    net = build(parse("network sink\ndt = 1 ms\n"
                      "input src[1] : rate(value = 1.0, max_rate = 1000 Hz, seed = 0)\n"
                      "population a[1] : IF(threshold = 1.0, reset = zero)\n"
                      "connect src -> a : one_to_one(weight = -1.0)\n"
                      "probe a : voltage\n", "sink.snn"), None)
    mapping = nc_compile(net, chip="loihi")
    assert mapping.v_scale[0] == 2.0**-6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning
        r = nc_run(mapping, steps=40)
    assert r.traces["a"]["voltage"][:, 0].tolist() == [-float(t) for t in range(40)]
