"""The Akida kernel (``akida``) against independent expectations.

Four kinds of evidence:

* impulse tests: one neuron, one or two input events, every potential written out with
  its derivation from the arithmetic docs/chips/akida_neuron.md states (one frame per
  step and nothing kept between them, the strict threshold and its edge, per-projection
  scales, saturation and wrap at a state width when the chip file gives one, thresholds
  below zero, read-outs);
* a slow twin (:func:`twin`, in this file): Python integers, one synapse at a time, the
  scale looked up in ``in_scale`` per synapse, hops asked of ``chip.hops``; random seeded
  Mappings (recurrence, several projections of different scales into one population,
  delays on a chip copy that allows them, relays, two chips, saturation) must agree with
  the emulator bit for bit on spikes, potentials and every counter;
* validation through the compiler: a network already on the chip's grid (``beta = 0``,
  integer weights within the chip's widths, integer thresholds, reset to zero) spikes
  exactly as the float reference, conv layer included; an ``IF`` network is refused;
* every example through ``neurocomp run --chip akida``: each is refused with a message
  that names the population (or projection) and says why.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.chip.spec import DelayRange, StateVar
from neurocomp.cli import main
from neurocomp.compiler.pipeline import compile as compile_network
from neurocomp.diagnostics import EmulationError, QuantizationError, UsageError
from neurocomp.targets.akida import kernel as ak
from neurocomp.targets import family
from neurocomp.emulator.kernels import kernel_for
from neurocomp.emulator.reference import simulate
from neurocomp.emulator.run import emulate
from neurocomp.ir.connectors import Sparse
from neurocomp.ir.encoders import SpikeFile
from neurocomp.ir.mapping import CoreMap, CoreSlice, Mapping
from neurocomp.ir.network import Network, NeuronModel, Population, Probe, Projection

AKIDA = load_chip("akida")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NEVER = int(np.iinfo(np.int64).max)  # a read-out's threshold


def with_state(chip, bits: int, overflow: str = "saturate"):
    """``chip`` with a ``bits``-wide signed potential (``numerics.state.v``)."""
    num = chip.numerics.model_copy(update={"state": {"v": StateVar(bits=bits, overflow=overflow)}})
    return chip.model_copy(update={"numerics": num})


def without_state(chip):
    """``chip`` with no width for the potential (exact integers)."""
    num = chip.numerics.model_copy(update={"state": {}})
    return chip.model_copy(update={"numerics": num})


def with_delays(chip, max_steps: int):
    num = chip.numerics.model_copy(update={"delay": DelayRange(min_steps=1, max_steps=max_steps)})
    return chip.model_copy(update={"numerics": num})


def with_compare(chip, compare: str):
    return chip.model_copy(update={"neuron": chip.neuron.model_copy(update={"threshold_compare": compare})})


# --------------------------------------------------------------------------- Mappings by hand


def network_of(neurons: dict[str, int], inputs: dict[str, int], projections: dict[str, tuple],
               probes: dict[str, tuple[str, ...]] | None = None) -> Network:
    """A Network of the given sizes; ``projections[name] = (pre, post, table)`` (the table
    only names the synapses: the Mapping below carries the integers)."""
    pops: dict[str, Population] = {}
    for pop, n in inputs.items():
        enc = SpikeFile(times=np.zeros(0, dtype=np.int64), indices=np.zeros(0, dtype=np.int64), path=f"{pop}.npz")
        pops[pop] = Population(name=pop, shape=(n,), encoder=enc)
    for pop, n in neurons.items():
        pops[pop] = Population(name=pop, shape=(n,), neuron=NeuronModel(family="lif", beta=0.0))
    empty = Sparse(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), "x.npz")
    projs = tuple(Projection(name=p, pre=pre, post=post, connector=empty) for p, (pre, post, _) in projections.items())
    probe_list = tuple(Probe(population=p, variables=v) for p, v in (probes or {}).items())
    return Network(name="akida_test", populations=pops, projections=projs, probes=probe_list)


def build_mapping(chip, network: Network, comps, syns, threshold, scales, *, act_bits=None,
                  in_scale: bool = True) -> Mapping:
    """A Mapping from tables written by hand.

    comps
        ``[(core_id, population or None, index)]`` grouped by ascending core; ``None`` is
        a relay and ``index`` the compartment it copies.
    syns
        ``[(source, target, weight, extra_delay, projection)]``; ``source``/``target`` are
        ``(population, index)`` or ``("<comp>", c)`` for any compartment.
    threshold
        Per compartment (relays: any value).
    scales
        ``{projection: scale}``; written into ``in_scale`` for the neurons of the
        projection's target population (``in_scale=False`` leaves the key out).

    One axon per (source, target core, projection), numbered in order of first appearance.
    """
    neuron_pops = tuple(n for n, p in network.populations.items() if not p.is_input)
    input_pops = [n for n, p in network.populations.items() if p.is_input]
    proj_names = tuple(p.name for p in network.projections)
    post_of = {p.name: p.post for p in network.projections}
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

    axons: dict[tuple[int, int, str], list] = {}
    for src, tgt, w, d, proj in syns:
        tgt = source_id(tgt)
        axons.setdefault((source_id(src), int(comp_core[tgt]), proj), []).append((tgt, int(w), int(d)))
    keys = list(axons)
    routes: dict[int, list[int]] = defaultdict(list)
    for a, (s, _, _) in enumerate(keys):
        routes[s].append(a)
    route_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    route_axon: list[int] = []
    for s in range(n_sources):
        route_axon += routes.get(s, [])
        route_ptr[s + 1] = len(route_axon)
    syn_ptr, tgt_l, w_l, d_l = [0], [], [], []
    for key in keys:
        for tgt, w, d in sorted(axons[key]):
            tgt_l.append(tgt)
            w_l.append(w)
            d_l.append(d)
        syn_ptr.append(len(tgt_l))
    cores = []
    for core in sorted(set(comp_core.tolist())):
        ks = [k for k in range(n_comp) if comp_core[k] == core]
        slices = tuple(CoreSlice(population=comps[k][1] or "<relay>", start=k, stop=k + 1) for k in ks)
        cores.append(CoreMap(core_id=core, slices=slices, comp_start=ks[0], comp_stop=ks[-1] + 1))
    params = {"threshold": np.asarray(threshold, dtype=np.int64),
              "act_bits": np.asarray(act_bits if act_bits is not None else [1] * n_comp, dtype=np.int64),
              "scale_shift": np.zeros(n_comp, dtype=np.int64)}
    if in_scale:
        table = np.zeros((n_comp, len(proj_names)), dtype=np.int64)
        for k, c in enumerate(comps):
            for j, p in enumerate(proj_names):
                if c[1] is not None and post_of[p] == c[1]:
                    table[k, j] = scales.get(p, 1)
        params["in_scale"] = table
    return Mapping(
        chip=chip, network=network, family="akida", cores=tuple(cores), comp_core=comp_core,
        comp_pop=np.array([-1 if c[1] is None else neuron_pops.index(c[1]) for c in comps], dtype=np.int32),
        comp_index=np.array([c[2] for c in comps], dtype=np.int64), params=params,
        v_scale=np.ones(n_comp, dtype=np.float64), population_names=neuron_pops, input_offset=input_offset,
        route_ptr=route_ptr, route_axon=np.array(route_axon, dtype=np.int64),
        axon_core=np.array([k[1] for k in keys], dtype=np.int32),
        axon_projection=np.array([proj_names.index(k[2]) for k in keys], dtype=np.int32),
        axon_weight_exp=np.zeros(len(keys), dtype=np.int8), axon_type=np.zeros(len(keys), dtype=np.int8),
        axon_syn_ptr=np.array(syn_ptr, dtype=np.int64), syn_target=np.array(tgt_l, dtype=np.int32),
        syn_weight=np.array(w_l, dtype=np.int32), syn_delay=np.array(d_l, dtype=np.int16),
        projection_names=proj_names)


# --------------------------------------------------------------------------- the twin


def twin(m: Mapping, steps: int, in_events: dict[int, list[int]], in_values: dict[int, list[int]] | None = None):
    """Step ``m`` with Python ints, the slow way (docs/chips/akida_neuron.md).

    Each synapse that delivers an event of value ``a`` adds ``weight · a · in_scale[target,
    its projection]`` (``a`` onto a relay) to its target's potential of the arrival step;
    a step's potential starts from 0. The activation: ``act_bits = 0`` sends the potential
    itself (when the neuron has routes); otherwise the number of whole ``act_step`` steps the
    potential is above the threshold, rounded up ('>'; '>=': down, plus one), at most
    ``2^act_bits - 1``. Returns events ``[(step, compartment)]`` and their ``values``, the
    potentials ``v`` (``steps x n_comp``, 0 after an activation's event), the nine
    counters and the overflow count.
    """
    chip = m.chip
    state = chip.numerics.state.get("v")
    ge = chip.neuron.threshold_compare == ">="
    n = m.n_comp
    thr = [int(x) for x in m.params["threshold"]]
    bits = [int(x) for x in m.params["act_bits"]]
    step = [int(x) for x in m.params["act_step"]] if "act_step" in m.params else [1] * n
    routes = [int(m.route_ptr[c + 1]) > int(m.route_ptr[c]) for c in range(n)]
    relay = [int(x) == -1 for x in m.comp_pop]
    columns = [p.name for p in m.network.projections]
    in_scale = np.asarray(m.params["in_scale"]) if "in_scale" in m.params else None
    core_ids = sorted(c.core_id for c in m.cores)
    col = {c: j for j, c in enumerate(core_ids)}
    names = ("spikes_in", "synops", "updates_active", "updates_inactive", "spikes_out",
             "messages_out", "hops_east_west", "hops_north_south", "hops_interchip")
    cnt = {k: np.zeros((steps, len(core_ids)), dtype=np.int64) for k in names}
    pending: dict[tuple[int, int], int] = defaultdict(int)  # (step, target) -> potential
    reached: dict[tuple[int, int], int] = defaultdict(int)  # (step, target) -> events
    V = np.zeros((steps, n), dtype=np.int64)
    spikes, values, overflows = [], [], 0

    def send(s: int, t: int, val: int) -> None:
        for r in range(int(m.route_ptr[s]), int(m.route_ptr[s + 1])):
            a = int(m.route_axon[r])
            dst = int(m.axon_core[a])
            if s < n:
                j = col[int(m.comp_core[s])]
                cnt["messages_out"][t, j] += 1
                h = chip.hops(int(m.comp_core[s]), dst)
                cnt["hops_east_west"][t, j] += h.east_west
                cnt["hops_north_south"][t, j] += h.north_south
                cnt["hops_interchip"][t, j] += h.interchip
            cnt["spikes_in"][t, col[dst]] += 1
            pj = int(m.axon_projection[a])
            for k in range(int(m.axon_syn_ptr[a]), int(m.axon_syn_ptr[a + 1])):
                cnt["synops"][t, col[dst]] += 1
                tgt = int(m.syn_target[k])
                arrive = t + 1 + int(m.syn_delay[k])
                if relay[tgt] or pj < 0 or in_scale is None:
                    value = 1 if relay[tgt] else int(m.syn_weight[k])
                else:
                    value = int(m.syn_weight[k]) * int(in_scale[tgt, columns.index(m.projection_names[pj])])
                pending[(arrive, tgt)] += value * val
                reached[(arrive, tgt)] += 1

    for t in range(steps):
        fired = []
        for c in range(n):
            j = col[int(m.comp_core[c])]
            pot = pending.pop((t, c), 0)
            if relay[c]:
                got = reached.pop((t, c), 0) > 0
                cnt["updates_active" if got else "updates_inactive"][t, j] += 1
                if got:
                    fired.append((c, 1))
                continue
            free = (thr[c] <= 0 if ge else thr[c] < 0) and bits[c] > 0
            cnt["updates_active" if pot != 0 or free else "updates_inactive"][t, j] += 1
            if state is not None:
                lo, hi = -(1 << (state.bits - 1)), (1 << (state.bits - 1)) - 1
                if not lo <= pot <= hi:
                    overflows += 1
                    pot = (pot - lo) % (hi - lo + 1) + lo if state.overflow == "wrap" else max(lo, min(hi, pot))
            if bits[c] == 0:
                if pot != 0 and routes[c]:
                    fired.append((c, pot))
            elif (pot >= thr[c]) if ge else (pot > thr[c]):
                d = pot - thr[c]
                a = d // step[c] + 1 if ge else -(-d // step[c])
                fired.append((c, min(a, 2 ** bits[c] - 1)))
                pot = 0
            V[t, c] = pot
        for c, a in fired:
            spikes.append((t, c))
            values.append(a)
            cnt["spikes_out"][t, col[int(m.comp_core[c])]] += 1
            send(c, t, a)
        given = (in_values or {}).get(t, [1] * len(in_events.get(t, [])))
        for s, a in zip(in_events.get(t, []), given):
            send(s, t, a)
    return {"spikes": spikes, "values": values, "v": V, "counters": cnt, "overflows": overflows}


def run_kernel(m: Mapping, steps: int, in_events: dict[int, list[int]], *, strict: bool = False,
               in_values: dict[int, list[int]] | None = None):
    """The kernel on input events by step (ascending source ids), with their values."""
    from neurocomp.emulator.kernels import KernelInputs

    src = [s for t in range(steps) for s in in_events.get(t, [])]
    val = None if in_values is None else np.array([a for t in range(steps) for a in in_values.get(t, [])],
                                                   dtype=np.float64)
    ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum([len(in_events.get(t, [])) for t in range(steps)], out=ptr[1:])
    return ak.run(ak.prepare(m), KernelInputs(steps=steps, in_ptr=ptr, in_src=np.array(src, dtype=np.int64),
                                              in_val=val, probe_comp=np.arange(m.n_comp, dtype=np.int64),
                                              strict=strict))


# --------------------------------------------------------------------------- one neuron


def one_neuron(steps: int, events, *, threshold: int, scales=None, chip=AKIDA, strict: bool = True):
    """One neuron ``n`` fed by input neurons ``x[k]``, one per entry of ``events``:
    ``(projection, weight, spike_steps)``. Returns (potential per step, spike steps)."""
    projections = {}
    syns = []
    in_events: dict[int, list[int]] = defaultdict(list)
    for k, (proj, w, when) in enumerate(events):
        projections.setdefault(proj, ("x", "n", None))
        syns.append((("x", k), ("n", 0), w, 0, proj))
        for t in when:
            in_events[t].append(1 + k)  # source ids: 1 compartment, then the inputs
    net = network_of({"n": 1}, {"x": max(1, len(events))}, projections)
    m = build_mapping(chip, net, [(0, "n", 0)], syns, [threshold], scales or {})
    r = run_kernel(m, steps, in_events, strict=strict)
    return r.traces["v"][:, 0].tolist(), r.spike_step.tolist(), r


def test_the_family_is_registered():
    assert kernel_for("akida") is ak
    assert family("akida").traces == {"voltage": "v"} and family("akida").payloads is True


def test_one_event_above_threshold_fires_one_step_later_and_leaves_nothing():
    # x0 (weight 3, scale 1) spikes at step 0; it is in n's input of step 1.
    # t0: pot = 0 (nothing yet)                  -> v 0
    # t1: pot = 1 · 3 = 3 > 2: spike, shown as 0  -> v 0, spike at 1
    # t2: pot = 0 (a frame keeps nothing)         -> v 0
    v, fired, r = one_neuron(3, [("p", 3, [0])], threshold=2)
    assert (v, fired) == ([0, 0, 0], [1])
    # Counters: input from the host (no messages, no hops); core 0 takes 1 spike in and
    # 1 synaptic op at step 0; the neuron is active at step 1 only (pot 3), and fires.
    c = r.counters
    assert c[0].tolist() == [[1], [0], [0]] and c[1].tolist() == [[1], [0], [0]]
    assert c[2].tolist() == [[0], [1], [0]] and c[3].tolist() == [[1], [0], [1]]
    assert c[4].tolist() == [[0], [1], [0]] and int(c[5:].sum()) == 0


def test_the_threshold_is_strict_and_a_subthreshold_potential_is_not_kept():
    # weight 2, threshold 2, the input spiking at steps 0, 1, 2:
    # t1, t2, t3: pot = 2 (not 2 + 2: nothing is kept), 2 > 2 is false -> v 2, no spike.
    # (An integrate-and-fire neuron would reach 4 > 2 at t2; Akida's engine does not: three
    # identical frames below threshold never fire, tests/test_akida_vendor.py.)
    v, fired, _ = one_neuron(5, [("p", 2, [0, 1, 2])], threshold=2)
    assert (v, fired) == ([0, 2, 2, 2, 0], [])
    # One more unit of weight crosses it: 3 > 2 at every step of input.
    v, fired, _ = one_neuron(5, [("p", 3, [0, 1, 2])], threshold=2)
    assert (v, fired) == ([0, 0, 0, 0, 0], [1, 2, 3])
    # A chip file saying '>=' fires at equality: 2 >= 2.
    v, fired, _ = one_neuron(3, [("p", 2, [0])], threshold=2, chip=with_compare(AKIDA, ">="))
    assert (v, fired) == ([0, 0, 0], [1])


def test_each_projection_is_scaled_before_the_projections_are_added():
    # p (scale 3): weights 2 and 5 from x0, x1; q (scale 5): weight -1 from x2.
    # t1: x0, x2 arrive: 3 · 2 + 5 · (-1) = 1            -> v 1 (threshold 6)
    # t2: x0, x1 arrive: 3 · (2 + 5) = 21 > 6: spike      -> v 0
    # t3: x2 alone: 5 · (-1) = -5                          -> v -5
    v, fired, _ = one_neuron(4, [("p", 2, [0, 1]), ("p", 5, [1]), ("q", -1, [0, 2])], threshold=6,
                             scales={"p": 3, "q": 5})
    assert (v, fired) == ([0, 1, 0, -5], [2])


def test_a_potential_saturates_at_the_state_width_when_the_chip_gives_one():
    # A 20-bit signed potential (BrainChip's engine saturates at 2**19 - 1 = 524,287 and
    # -2**19 = -524,288, as chips/akida.toml now says).
    # weight 7 at scale 100,000 from x0 and x1 together: 1,400,000 -> 524,287; threshold
    # 524,287: 524,287 > 524,287 is false, no spike. -7 twice: -1,400,000 -> -524,288.
    chip = with_state(AKIDA, 20)
    v, fired, r = one_neuron(3, [("p", 7, [0]), ("p", 7, [0]), ("p", -7, [1]), ("p", -7, [1])],
                             threshold=524_287, scales={"p": 100_000}, chip=chip, strict=False)
    assert (v, fired) == ([0, 524_287, -524_288], [])
    assert r.overflows == {"v": 2} and r.first_overflow == {"v": (1, 0)}
    assert AKIDA.numerics.state["v"] == chip.numerics.state["v"]
    # Without a width in the chip file the potential is exact: 1,400,000 > 524,287 fires.
    v, fired, _ = one_neuron(2, [("p", 7, [0]), ("p", 7, [0])], threshold=524_287, scales={"p": 100_000},
                             chip=without_state(AKIDA))
    assert fired == [1]
    # A two's-complement chip wraps instead: 1,400,000 - 2 · 2**20 = -697,152 is still
    # outside; modulo 2**20 into [-2**19, 2**19): 1,400,000 - 2**20 = 351,424.
    v, _, _ = one_neuron(2, [("p", 7, [0]), ("p", 7, [0])], threshold=NEVER, scales={"p": 100_000},
                         chip=with_state(AKIDA, 20, "wrap"), strict=False)
    assert v == [0, 351_424]


def test_strict_mode_names_the_core_compartment_and_step():
    chip = with_state(AKIDA, 8)  # -128..127
    net = network_of({"n": 2}, {"x": 1}, {"p": ("x", "n", None)})
    m = build_mapping(chip, net, [(4, "n", 0), (4, "n", 1)], [(("x", 0), ("n", 1), 100, 0, "p")], [5, 5], {"p": 2})
    with pytest.raises(EmulationError) as info:
        run_kernel(m, 3, {1: [2]}, strict=True)
    assert str(info.value).splitlines()[0] == ("core 4: error: compartment 1 (population 'n' neuron 1): v "
                                               "saturated at its 8-bit limit at step 2")
    assert (info.value.core, info.value.compartment, info.value.step) == (4, 1, 2)
    r = run_kernel(m, 3, {1: [2]})
    assert r.overflows == {"v": 1} and r.spike_step.tolist() == [2]  # 127 > 5 fires anyway
    assert ak.overflow_message(ak.prepare(m), r) == ("v saturated 1 time (first: step 2, core 4, compartment 1, "
                                                     "population 'n' neuron 1)")


def test_a_row_that_can_exceed_16_bits_is_summed_in_32():
    # 300 inputs at weight 120 into one neuron: up to 36,000 in one step, beyond int16's
    # 32,767, so the routing keeps int32 rows. All 300 at step 0: pot = 36,000 > 35,999.
    v, fired, _ = one_neuron(2, [("p", 120, [0])] * 300, threshold=35_999)
    assert (v, fired) == ([0, 0], [1])
    v, fired, _ = one_neuron(2, [("p", 120, [0])] * 300, threshold=36_000)
    assert (v, fired) == ([0, 36_000], [])
    net = network_of({"n": 1}, {"x": 300}, {"p": ("x", "n", None)})
    m = build_mapping(AKIDA, net, [(0, "n", 0)], [(("x", k), ("n", 0), 120, 0, "p") for k in range(300)], [0], {})
    assert ak.prepare(m).info.acc_dtype == np.int32


def test_a_threshold_below_zero_fires_every_step_without_input_and_counts_active():
    # threshold -1: pot 0 > -1 at every step. A read-out's largest int64 never fires.
    net = network_of({"n": 2}, {"x": 1}, {"p": ("x", "n", None)})
    m = build_mapping(AKIDA, net, [(0, "n", 0), (0, "n", 1)], [(("x", 0), ("n", 1), 9, 0, "p")], [-1, NEVER], {})
    r = run_kernel(m, 3, {0: [2]})
    assert list(zip(r.spike_step.tolist(), r.spike_comp.tolist())) == [(0, 0), (1, 0), (2, 0)]
    assert r.traces["v"].tolist() == [[0, 0], [0, 9], [0, 0]]
    # active: neuron 0 always (it can fire at 0), neuron 1 at step 1 (pot 9).
    assert r.counters[2, :, 0].tolist() == [1, 2, 1] and r.counters[3, :, 0].tolist() == [1, 0, 1]


def test_a_mapping_without_in_scale_uses_scale_1():
    net = network_of({"n": 1}, {"x": 1}, {"p": ("x", "n", None)})
    m = build_mapping(AKIDA, net, [(0, "n", 0)], [(("x", 0), ("n", 0), 4, 0, "p")], [3], {"p": 9},
                      in_scale=False)
    assert run_kernel(m, 2, {0: [1]}).spike_step.tolist() == [1]  # 4 > 3


def test_prepare_refuses_activation_widths_the_chip_lacks_and_bad_scales():
    net = network_of({"n": 2}, {"x": 1}, {"p": ("x", "n", None)})
    syns = [(("x", 0), ("n", 0), 1, 0, "p"), (("x", 0), ("n", 1), 1, 0, "p")]
    m = build_mapping(AKIDA, net, [(3, "n", 0), (3, "n", 1)], syns, [1, 1], {}, act_bits=[1, 3])
    with pytest.raises(UsageError) as info:
        ak.prepare(m)
    assert str(info.value).splitlines() == [
        "error: population 'n' neuron 1 (compartment 1, core 3): act_bits = 3: akida sends events of "
        "1, 2, 4 bits (0: the potential itself, activation off)",
        "= help: quantize the network for this chip again"]
    m = build_mapping(AKIDA, net, [(3, "n", 0), (3, "n", 1)], syns, [1, 1], {}, act_bits=[4, 2])
    m.params["act_step"] = np.array([0, 1], dtype=np.int64)
    with pytest.raises(UsageError, match=r"neuron 0 .*act_step = 0; an activation step is a positive integer"):
        ak.prepare(m)
    m = build_mapping(AKIDA, net, [(3, "n", 0), (3, "n", 1)], syns, [1, 1], {"p": 2})
    m.params["in_scale"][1, 0] = 5
    with pytest.raises(UsageError, match=r"an axon of projection 'p' reaches compartments of different "
                                         r"in_scale \(2 and 5\)"):
        ak.prepare(m)
    m.params["in_scale"][:, 0] = 0
    with pytest.raises(UsageError, match=r"neuron 0 \(compartment 0, core 3\): projection 'p' reaches it "
                                         r"with in_scale 0; a scale must be a positive integer"):
        ak.prepare(m)


def test_a_delay_beyond_the_chip_is_refused():
    net = network_of({"n": 1}, {"x": 1}, {"p": ("x", "n", None)})
    m = build_mapping(AKIDA, net, [(0, "n", 0)], [(("x", 0), ("n", 0), 1, 1, "p")], [0], {})
    with pytest.raises(UsageError, match="a delay of 2 steps; chip 'akida' allows 1..1"):
        ak.prepare(m)


# --------------------------------------------------------------------------- random Mappings


def random_case(seed: int, chip, *, relays: bool = True, steps: int = 40, graded: bool = False):
    """Two populations and an input on random cores: recurrence, five projections with
    random scales (two into each population), 4-bit weights (8-bit from the input),
    thresholds from below zero to a read-out's, relays, delays up to the chip's.
    ``graded``: activations of 0 (off), 1, 2 or 4 bits with steps 1..399, and input
    events of values 1..255 (returned third, by step).
    Returns (mapping, input events by step as source ids)."""
    rng = np.random.default_rng(seed)
    sizes = {"a": int(rng.integers(3, 14)), "b": int(rng.integers(3, 10))}
    n_in = int(rng.integers(2, 7))
    max_extra = chip.numerics.delay.max_steps - chip.numerics.delay.min_steps
    pairs = {"xa": ("x", "a"), "xb": ("x", "b"), "aa": ("a", "a"), "ab": ("a", "b"), "ba": ("b", "a")}
    scales = {p: int(rng.choice([1, 2, 3, 7, 293])) for p in pairs}
    size_of = {"x": n_in, **sizes}
    syns = []
    for name, (pre, post) in pairs.items():
        top = 127 if pre == "x" else 7
        for i in range(size_of[pre]):
            for j in range(size_of[post]):
                if rng.random() < 0.4:
                    w = int(rng.integers(-top, top + 1)) or 1
                    syns.append(((pre, i), (post, j), w, int(rng.integers(0, max_extra + 1)), name))
    net = network_of(sizes, {"x": n_in}, {p: (pre, post, None) for p, (pre, post) in pairs.items()})
    order = [("a", i) for i in range(sizes["a"])] + [("b", i) for i in range(sizes["b"])]
    n_cores = int(rng.integers(2, 5))
    core_ids = np.sort(rng.choice(chip.total_cores, size=n_cores, replace=False)).tolist()
    cuts = np.sort(rng.choice(np.arange(1, len(order)), size=n_cores - 1, replace=False)).tolist()
    comps, relay_at = [], []
    for core, chunk in zip(core_ids, np.split(np.arange(len(order)), cuts)):
        comps += [(core, *order[k]) for k in chunk]
        if relays and rng.random() < 0.7:
            relay_at.append(len(comps))
            comps.append((core, None, 0))
    for r in relay_at:
        # A neuron of 'a' reaches the relay, which forwards to neurons of 'b' (projection ab).
        src = int(rng.integers(0, sizes["a"]))
        comps[r] = (comps[r][0], None, [k for k, c in enumerate(comps) if c[1:] == ("a", src)][0])
        syns.append((("a", src), ("<comp>", r), 1, int(rng.integers(0, max_extra + 1)), "ab"))
        for j in rng.choice(sizes["b"], size=3, replace=False):
            syns.append((("<comp>", r), ("b", int(j)), int(rng.integers(-7, 8)) or 2, 0, "ab"))
    threshold = [int(rng.choice([-1, 0, 5, 50, 300, 2000, NEVER])) for _ in comps]
    act_bits = [int(rng.choice([0, 1, 2, 4])) if graded else 1 for _ in comps]
    mapping = build_mapping(chip, net, comps, syns, threshold, scales, act_bits=act_bits)
    if graded:
        mapping.params["act_step"] = rng.integers(1, 400, size=len(comps)).astype(np.int64)
    raster = rng.random((steps, n_in)) < 0.35
    n = len(comps)
    events = {t: [n + i for i in np.flatnonzero(raster[t]).tolist()] for t in range(steps)}
    if not graded:
        return mapping, events
    return mapping, events, {t: rng.integers(1, 256, size=len(e)).tolist() for t, e in events.items()}


def assert_matches_twin(mapping, by_step, steps, values=None):
    r = run_kernel(mapping, steps, by_step, in_values=values)
    tw = twin(mapping, steps, by_step, values)
    assert list(zip(r.spike_step.tolist(), r.spike_comp.tolist())) == tw["spikes"]
    assert r.spike_value.tolist() == tw["values"]
    np.testing.assert_array_equal(r.traces["v"], tw["v"])
    for f, name in enumerate(tw["counters"]):
        np.testing.assert_array_equal(r.counters[f], tw["counters"][name], err_msg=name)
    np.testing.assert_array_equal(r.core_ids, sorted(c.core_id for c in mapping.cores))
    assert r.overflows["v"] == tw["overflows"]
    return r, tw


@pytest.mark.parametrize("seed", range(6))
def test_random_mappings_on_two_chips_match_the_twin(seed):
    chip = AKIDA.with_system(2, 1, "user: tests, two chips for inter-chip hops")
    if seed % 2:
        chip = with_delays(chip, 4)
    if seed % 3 == 2:
        chip = with_state(chip, 12, "wrap" if seed == 5 else "saturate")
    if seed == 4:
        chip = with_compare(chip, ">=")
    mapping, by_step = random_case(seed, chip)
    r, tw = assert_matches_twin(mapping, by_step, 40)
    assert len(tw["spikes"]) > 20 and r.counters[1].sum() > 50


@pytest.mark.parametrize("seed", range(6))
def test_random_mappings_with_graded_events_match_the_twin(seed):
    chip = AKIDA.with_system(2, 1, "user: tests, two chips for inter-chip hops")
    if seed % 2:
        chip = with_delays(chip, 4)
    if seed % 3 == 2:
        chip = with_state(chip, 16, "wrap" if seed == 5 else "saturate")
    if seed == 4:
        chip = with_compare(chip, ">=")
    mapping, by_step, values = random_case(seed, chip, graded=True)
    r, tw = assert_matches_twin(mapping, by_step, 40, values)
    bits = np.asarray(mapping.params["act_bits"])[r.spike_comp]
    # Events of every kind: graded activations above 1, potentials (negative ones too).
    assert np.any((bits > 1) & (r.spike_value > 1)) and np.any((bits == 0) & (r.spike_value < 0)), seed


def test_the_random_cases_exercise_what_they_claim():
    seen = defaultdict(int)
    for seed in range(6):
        chip = AKIDA.with_system(2, 1, "user: tests")
        chip = with_delays(chip, 4) if seed % 2 else chip
        chip = with_state(chip, 12) if seed % 3 == 2 else chip
        m, by_step = random_case(seed, chip)
        tw = twin(m, 40, by_step)
        relays = set(np.flatnonzero(np.asarray(m.comp_pop) == -1).tolist())
        seen["relay spikes"] += sum(1 for _, c in tw["spikes"] if c in relays)
        seen["delays"] += int(np.asarray(m.syn_delay).max() > 0)
        seen["scales > 1"] += int(np.asarray(m.params["in_scale"]).max() > 1)
        seen["overflows"] += tw["overflows"]
        seen["negative potentials"] += int((tw["v"] < 0).sum())
        for f in ("hops_east_west", "hops_north_south", "hops_interchip"):
            seen[f] += int(tw["counters"][f].sum())
    assert all(seen[k] > 0 for k in ("relay spikes", "delays", "scales > 1", "overflows", "negative potentials",
                                     "hops_east_west", "hops_north_south", "hops_interchip")), dict(seen)


def test_emulate_runs_the_kernel_and_scales_the_traces(tmp_path):
    # Through the driver: v_scale turns the integer back into float units.
    net = network_of({"n": 1}, {"x": 1}, {"p": ("x", "n", None)}, probes={"n": ("voltage", "spikes")})
    m = build_mapping(AKIDA, net, [(0, "n", 0)], [(("x", 0), ("n", 0), 3, 0, "p")], [100], {"p": 5})
    m = Mapping(**{**m.__dict__, "v_scale": np.array([0.25])})
    r = emulate(m, 3, {"x": np.array([[1], [0], [0]])})
    assert r.traces["n"]["voltage"][:, 0].tolist() == [0.0, 3.75, 0.0]  # 3 · 5 = 15 units · 0.25


# --------------------------------------------------------------------------- through the compiler


def write(tmp_path: Path, text: str, arrays: dict[str, np.ndarray]) -> Path:
    for name, a in arrays.items():
        np.save(tmp_path / name, np.asarray(a, dtype=np.float64))
    path = tmp_path / "net.snn"
    path.write_text(text)
    return path


ON_GRID = """\
network on_grid
dt = 1 ms
input x[36] : rate(value = "rate.npy", max_rate = 1000 Hz, seed = 7)
input img[1, 6, 6] : rate(value = 0.6, max_rate = 1000 Hz, seed = 8)
population h[12] : LIF(beta = 0, threshold = 4, reset = zero)
population c[2, 4, 4] : LIF(beta = 0, threshold = 5, reset = zero)
population o[5] : LIF(beta = 0, threshold = 7, reset = zero)
population r[5] : LI(beta = 0)
connect x -> h : dense(weights = "w_xh.npy")
connect h -> h : dense(weights = "w_hh.npy")
connect img -> c : conv2d(kernel = "k.npy")
connect h -> o : dense(weights = "w_ho.npy")
connect c -> o : dense(weights = "w_co.npy")
connect x -> o : dense(weights = "w_xo.npy")
connect o -> r : dense(weights = "w_or.npy")
probe h : spikes, voltage
probe o : spikes, voltage
probe r : voltage
"""


def on_grid_arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Integer weights on the chip's grid: 4 bits (-7..7) between neurons and from an input
    into a dense layer, steps of 2 and 3 into one population (scales 2 and 3 against 1),
    8 bits only into the input convolution (the engine's InputConvolutional)."""
    def ints(shape, top, step=1, density=0.5):
        w = rng.integers(-top, top + 1, size=shape) * step
        return w * (rng.random(shape) < density)
    return {"rate.npy": rng.random(36), "w_xh.npy": ints((12, 36), 7), "w_hh.npy": ints((12, 12), 7, 2, 0.3),
            "k.npy": ints((2, 1, 3, 3), 100, 1, 1.0), "w_ho.npy": ints((5, 12), 7, 3),
            "w_co.npy": ints((5, 32), 7), "w_xo.npy": ints((5, 36), 7, 1, 0.4), "w_or.npy": ints((5, 5), 7)}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_network_on_the_grid_spikes_exactly_as_the_float_reference(tmp_path, seed):
    net = nc.load(write(tmp_path, ON_GRID, on_grid_arrays(np.random.default_rng(seed))))
    m = compile_network(net, AKIDA)
    scales = {p.name: int(m.params["in_scale"][:, k].max()) for k, p in enumerate(net.projections)}
    assert scales["h->o"] == 3 and scales["h->h"] == 2 and scales["x->o"] == 1
    kinds = m.compile_report["processor_kinds"]
    c_cores = {m.comp_core[k] for k in np.flatnonzero(np.asarray(m.comp_pop) == m.population_names.index("c"))}
    assert {kinds[str(int(core))] for core in c_cores} <= {"CNP1", "CNP2"}  # the conv layer on a CNP
    steps = 60
    got = emulate(m, steps, strict=True)
    want = simulate(net, steps)
    for pop in ("h", "c", "o", "r"):
        assert got.spikes[pop].times.tolist() == want.spikes[pop].times.tolist(), pop
        assert got.spikes[pop].indices.tolist() == want.spikes[pop].indices.tolist(), pop
    for pop in ("h", "o", "r"):
        np.testing.assert_array_equal(got.traces[pop]["voltage"], want.traces[pop]["voltage"])
    assert all(got.spikes[p].count > 10 for p in ("h", "c", "o"))
    assert np.any(want.traces["r"]["voltage"] != 0)


def test_a_threshold_off_the_grid_is_rounded_so_integer_potentials_cross_it_as_floats_do(tmp_path):
    # Weights 1 (step 1), threshold 2.999: no shift makes 2.999 an integer, so scale_shift is
    # 0 + 8 guard bits: scale 256, threshold 2.999 · 256 = 767.744. Three events give
    # pot = 768 = 3.0 float > 2.999: a spike. Rounded to nearest (768) it would not fire
    # (768 > 768 is false); rounded down (767) it does, exactly as the float model.
    np.save(tmp_path / "w.npy", np.ones((1, 3)))
    (tmp_path / "net.snn").write_text("""network edge
dt = 1 ms
input x[3] : rate(value = 1.0, max_rate = 1000 Hz, seed = 1)
population n[1] : LIF(beta = 0, threshold = 2.999)
connect x -> n : dense(weights = "w.npy")
""")
    net = nc.load(tmp_path / "net.snn")
    m = compile_network(net, AKIDA)
    assert (int(m.params["threshold"][0]), int(m.params["in_scale"][0, 0])) == (767, 256)
    raster = np.array([[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    got = emulate(m, 3, {"x": raster})
    want = simulate(net, 3, {"x": raster})
    assert got.spikes["n"].times.tolist() == want.spikes["n"].times.tolist() == [1]


GRADED = """\
network graded
dt = 1 ms
input x[1, 2, 2] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population a2[1] : LIF(beta = 0, threshold = 1) native akida(act_bits = 2, act_step = 2)
population a4[1] : LIF(beta = 0, threshold = 1) native akida(act_bits = 4, act_step = 2)
population m[1, 1, 1] : LI(beta = 0)
population s[1] : LI(beta = 0)
connect x -> a2 : dense(weights = "w.npy")
connect x -> a4 : dense(weights = "w.npy")
connect x -> m : max_pool(size = 2)
connect a4 -> s : dense(weights = "v.npy")
probe m : voltage
probe s : voltage
"""


def test_graded_inputs_activations_and_a_max_pool_by_hand(tmp_path):
    # One 8-bit frame [3, 0, 5, 2] at step 0, weights [1, 2, 1, 1]: pot = 3 + 5 + 2 = 10 at step 1.
    # act_bits 2, step 2, threshold 1: ceil((10 - 1) / 2) = 5, clipped to 3; act_bits 4: 5.
    # The max pool takes the largest pixel, 5; the read-out s gets 5 events · weight -3 = -15.
    np.save(tmp_path / "w.npy", np.array([[1.0, 2.0, 1.0, 1.0]]))
    np.save(tmp_path / "v.npy", np.array([[-3.0]]))
    (tmp_path / "net.snn").write_text(GRADED)
    m = compile_network(nc.load(tmp_path / "net.snn"), AKIDA)
    r = emulate(m, 3, {"x": np.array([[3, 0, 5, 2], [0, 0, 0, 0], [0, 0, 0, 0]])}, strict=True)
    assert (r.spikes["a2"].times.tolist(), r.spikes["a2"].values.tolist()) == ([1], [3])
    assert (r.spikes["a4"].times.tolist(), r.spikes["a4"].values.tolist()) == ([1], [5])
    assert r.spikes["x"].values.tolist() == [3, 5, 2]  # a zero pixel is no event
    assert r.traces["m"]["voltage"][:, 0].tolist() == [0, 5, 0]
    assert r.traces["s"]["voltage"][:, 0].tolist() == [0, 0, -15]
    assert r.spikes["m"].count == 0  # activation off and no targets: a read-out sends nothing
    # Potentials 1 and 2 against threshold 1: no event, then ceil(1 / 2) = 1.
    r = emulate(m, 2, {"x": np.array([[1, 0, 0, 0], [0, 0, 0, 0]])})
    assert r.spikes["a4"].count == 0 and r.traces["s"]["voltage"][:, 0].tolist() == [0, 0]
    r = emulate(m, 2, {"x": np.array([[2, 0, 0, 0], [0, 0, 0, 0]])})
    assert r.spikes["a4"].values.tolist() == [1]


def test_the_float_reference_computes_graded_activations_and_a_max_pool_by_hand(tmp_path):
    # The same frame as above through the float model: the same integers (nothing to round).
    np.save(tmp_path / "w.npy", np.array([[1.0, 2.0, 1.0, 1.0]]))
    np.save(tmp_path / "v.npy", np.array([[-3.0]]))
    (tmp_path / "net.snn").write_text(GRADED)
    r = simulate(nc.load(tmp_path / "net.snn"), 3, {"x": np.array([[3, 0, 5, 2], [0, 0, 0, 0], [0, 0, 0, 0]])})
    assert (r.spikes["a2"].times.tolist(), r.spikes["a2"].values.tolist()) == ([1], [3.0])
    assert (r.spikes["a4"].times.tolist(), r.spikes["a4"].values.tolist()) == ([1], [5.0])
    assert r.traces["m"]["voltage"][:, 0].tolist() == [0, 5, 0]
    assert r.traces["s"]["voltage"][:, 0].tolist() == [0, 0, -15]
    assert r.spikes["m"].count == 0
    # Real values: weights [0.5, 2, 0.25, 1] on the frame [3, 0.5, 5, 2.1] give
    # V = 1.5 + 1 + 1.25 + 2.1 = 5.85; act_bits 2, step 2, threshold 1:
    # ceil(4.85 / 2) = 3 (at the top, 3); act_bits 4: 3 as well; the read-out -3 · 3 = -9.
    # The max pool: the largest pixel, 5. A frame of [1.2, 0, 0, 0] (V = 0.6 < 1) sends nothing,
    # and one of [2.4, 0, 0, 0] (V = 1.2) sends ceil(0.2 / 2) = 1: no state is kept between them.
    np.save(tmp_path / "w.npy", np.array([[0.5, 2.0, 0.25, 1.0]]))
    net = nc.load(tmp_path / "net.snn")
    frames = np.array([[3, 0.5, 5, 2.1], [1.2, 0, 0, 0], [2.4, 0, 0, 0], [0, 0, 0, 0]])
    r = simulate(net, 4, {"x": frames})
    assert (r.spikes["a4"].times.tolist(), r.spikes["a4"].values.tolist()) == ([1, 3], [3.0, 1.0])
    assert r.spikes["a2"].values.tolist() == [3.0, 1.0]
    assert r.traces["m"]["voltage"][:, 0].tolist() == [0, 5, 1.2, 2.4]
    assert r.traces["s"]["voltage"][:, 0].tolist() == [0, 0, -9, 0]
    assert r.spikes["x"].values.tolist() == [3, 0.5, 5, 2.1, 1.2, 2.4]
    # A max pool that shares its target is refused, naming both projections.
    text = GRADED.replace("connect a4 -> s", "connect x -> s : dense(weights = \"w.npy\")\nconnect a4 -> s")
    text = text.replace("population s[1]", "population s[1, 1, 1]").replace("connect x -> s : dense", "connect x -> s : max_pool(size = 2)\n#")
    (tmp_path / "net.snn").write_text(text)
    with pytest.raises(UsageError, match=r"projection 'x->s': a max_pool projection must be the only one into 's', "
                                         r"which also gets a4->s"):
        simulate(nc.load(tmp_path / "net.snn"), 2)


def test_the_float_reference_and_the_akida_emulation_agree_on_the_example():
    # The example's weights, thresholds and steps are integers already: the float model and
    # the chip compute the same numbers, so they agree exactly on every frame (the tutorial's
    # 97.8 %), events and values included.
    net = nc.load(EXAMPLES / "digits_cnn_akida.snn")
    with np.load(EXAMPLES / "data" / "digits_cnn_test.npz", allow_pickle=False) as d:
        x, y, out = d["x"][:60], d["y"][:60], d["out"][:60]
    frames = {"pixels": np.concatenate([x.astype(np.float64), np.zeros((5, 1, 8, 8))])}
    ref = simulate(net, len(x) + 5, frames)
    chip = emulate(compile_network(net, AKIDA), len(x) + 5, frames)
    assert np.array_equal(ref.traces["out"]["voltage"][5:], out)  # the script's integer reference
    assert np.array_equal(chip.traces["out"]["voltage"][5:], out)
    for pop in ("conv1", "pool1", "conv2", "pool2"):
        assert ref.spikes[pop].count > 0
        assert np.array_equal(ref.spikes[pop].indices, chip.spikes[pop].indices)
        assert np.array_equal(ref.spikes[pop].values, chip.spikes[pop].values)


@pytest.mark.parametrize("change, message", [
    ("act_bits = 4, act_step = 2)", None),
    ("act_bits = 3, act_step = 2)", "population 'a4': native akida act_bits = 3; akida sends activations of 1, 2, 4 bits"),
    ("act_bits = 4, act_step = 0)", "population 'a4': native akida act_step = 0 does not fit an activation step"),
])
def test_activation_widths_and_steps_the_chip_lacks_are_refused(tmp_path, change, message):
    np.save(tmp_path / "w.npy", np.ones((1, 4)))
    np.save(tmp_path / "v.npy", np.ones((1, 1)))
    (tmp_path / "net.snn").write_text(GRADED.replace("act_bits = 4, act_step = 2)", change))
    net = nc.load(tmp_path / "net.snn")
    if message is None:
        compile_network(net, AKIDA)
        return
    with pytest.raises(QuantizationError, match=message):
        compile_network(net, AKIDA)


def test_inputs_the_chip_cannot_take_are_refused(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((1, 4)))
    np.save(tmp_path / "v.npy", np.ones((1, 1)))
    (tmp_path / "net.snn").write_text(GRADED)
    m = compile_network(nc.load(tmp_path / "net.snn"), AKIDA)
    with pytest.raises(UsageError, match=r"an input event of step 0 carries the value 256; akida takes input "
                                         r"values that are whole numbers 0..255"):
        emulate(m, 2, {"x": np.array([[256, 0, 0, 0], [0, 0, 0, 0]])})
    with pytest.raises(UsageError, match=r"carries the value 0.5"):
        emulate(m, 2, {"x": np.array([[0.5, 0, 0, 0], [0, 0, 0, 0]])})
    text = GRADED.replace('input x[1, 2, 2] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)',
                          'input x[1, 2, 2] : current(value = 0.5)')
    (tmp_path / "net.snn").write_text(text)
    with pytest.raises(QuantizationError, match=r"input 'x': emits the value 0.5; akida takes input values that "
                                                r"are whole numbers 0..255"):
        compile_network(nc.load(tmp_path / "net.snn"), AKIDA)
    # A whole-number current is an 8-bit frame repeated every step.
    (tmp_path / "net.snn").write_text(text.replace("current(value = 0.5)", "current(value = 7)"))
    r = emulate(compile_network(nc.load(tmp_path / "net.snn"), AKIDA), 3)
    assert r.traces["m"]["voltage"][:, 0].tolist() == [0, 7, 7]


def test_a_max_pool_is_refused_by_nir_export_and_built_by_the_builder(tmp_path):
    pytest.importorskip("nir")
    from neurocomp.diagnostics import InteropError
    from neurocomp.interop.nir_export import export_nir

    np.save(tmp_path / "w.npy", np.ones((1, 4)))
    np.save(tmp_path / "v.npy", np.ones((1, 1)))
    (tmp_path / "net.snn").write_text(GRADED.replace(" native akida(act_bits = 2, act_step = 2)", "")
                                      .replace(" native akida(act_bits = 4, act_step = 2)", ""))
    with pytest.raises(InteropError, match=r"projection 'x->m'.*max_pool has no NIR node"):
        export_nir(nc.load(tmp_path / "net.snn"))
    b = nc.NetworkBuilder("pool")
    b.input("x", (1, 2, 2), "current", value=np.array([[[3.0, 0.0], [5.0, 2.0]]]))
    b.population("m", (1, 1, 1), "LI", beta=0.0)
    b.connect("x", "m", "max_pool", size=2)
    b.probe("m", "voltage")
    r = emulate(compile_network(b.build(), AKIDA), 2)
    assert r.traces["m"]["voltage"][:, 0].tolist() == [0, 5]


def test_a_max_pool_is_refused_where_it_cannot_be_computed(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((1, 4)))
    np.save(tmp_path / "v.npy", np.ones((1, 1)))
    (tmp_path / "net.snn").write_text(GRADED.replace("LIF(beta = 0, threshold = 1) native akida(act_bits = 4, "
                                                     "act_step = 2)", "LIF(beta = 0, threshold = 1)"))
    net = nc.load(tmp_path / "net.snn")
    with pytest.raises(QuantizationError, match=r"projection 'x->m': max_pool takes the largest input, which "
                                                r"loihi's neurons cannot do"):
        compile_network(net, load_chip("loihi"))
    assert simulate(net, 2, {"x": np.array([[3, 0, 5, 2], [0, 0, 0, 0]])}).traces["m"]["voltage"][:, 0].tolist() \
        == [0, 5]  # the float reference pools by the maximum too
    text = GRADED + "population m2[1, 1, 1] : LI(beta = 0)\nconnect s -> m2 : max_pool(size = 1)\n"
    text = text.replace("population s[1] : LI(beta = 0)", "population s[1, 1, 1] : LI(beta = 0)")
    (tmp_path / "net.snn").write_text(text)
    with pytest.raises(QuantizationError, match=r"projection 's->m2': max pooling of potentials \(an LI source, "
                                                r"activation off\) is not emulated"):
        compile_network(nc.load(tmp_path / "net.snn"), AKIDA)


def test_an_integrate_and_fire_network_is_refused_naming_the_population(tmp_path):
    text = ON_GRID.replace("population h[12] : LIF(beta = 0, threshold = 4, reset = zero)",
                           "population h[12] : IF(threshold = 4, reset = zero)")
    net = nc.load(write(tmp_path, text, on_grid_arrays(np.random.default_rng(0))))
    with pytest.raises(QuantizationError) as info:
        compile_network(net, AKIDA)
    lines = info.value.render().splitlines()
    assert lines[0].endswith("net.snn:5:12: error: population 'h': an IF neuron keeps its potential from one "
                             "step to the next (beta = 1), which akida cannot do: its neurons keep no state "
                             "between frames, each step's potential is that step's input alone (beta = 0)")
    assert lines[3] == "  = help: write LIF(beta = 0, ...) for populations on this chip; see docs/chips/akida_neuron.md"


# --------------------------------------------------------------------------- the examples


def test_validate_and_compare_say_what_would_have_to_change_for_a_rate_coded_network(capsys):
    assert main(["validate", str(EXAMPLES / "mnist_mlp.snn"), "--chip", "akida", "--steps", "20"]) == 1
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert notes[0].startswith("note: what would have to change to run 'mnist_mlp' on akida: its layers compute "
                               "each frame from that frame alone")
    assert any(n.startswith("note: 'hidden': a layer each, LIF(beta = 0, threshold = θ) native akida(act_bits = 4, "
                            "act_step = S)") for n in notes)
    assert any(n.startswith("note: 'out': a read-out, LI(beta = 0)") for n in notes)
    assert any(n.startswith("note: input 'pixels' (a rate code over steps): show each sample once, as one frame")
               for n in notes)
    table = nc.compare("examples/mnist_mlp.snn", chips=["akida"], steps=5)
    row = table.rows[0]
    assert row.status == "cannot represent" and len(row.notes) == len(notes)
    assert "note: akida: 'out': a read-out, LI(beta = 0)" in table.to_text()
    # A brunel-like recurrent network is told that its recurrence has no frame-by-frame meaning.
    with pytest.raises(QuantizationError) as info:
        compile_network(nc.load(EXAMPLES / "brunel.snn"), AKIDA)
    assert any("a recurrent projection has no frame-by-frame meaning" in n for n in info.value.notes)


def test_compare_runs_the_akida_example_against_the_float_reference():
    table = nc.compare("examples/digits_cnn_akida.snn", chips=["loihi", "truenorth", "akida"], steps=6)
    assert [r.status for r in table.rows] == ["cannot represent", "cannot represent", "ok"]
    assert table.rows[0].reason.startswith("projection 'conv1->pool1': max_pool takes the largest input")
    akida = table["akida"]
    # The chip's own events: 5 steps of one frame through conv1, pool1, conv2, pool2 (out has no targets).
    r = emulate(compile_network(nc.load(EXAMPLES / "digits_cnn_akida.snn"), AKIDA), 6)
    assert akida.spikes_chip == sum(r.spikes[p].count for p in ("conv1", "pool1", "conv2", "pool2", "out"))
    # The float reference computes the graded layers too, and on integer parameters the same events.
    assert akida.spikes_ref == akida.spikes_chip and akida.energy_per_step_j > 0
    assert "float reference: none" not in table.to_text()


def test_a_network_without_state_gets_no_conversion_notes(tmp_path):
    text = GRADED.replace("population a2[1] : LIF(beta = 0, threshold = 1)", "population a2[1] : LIF(beta = 0, "
                          "threshold = 1, bias = 2)")
    np.save(tmp_path / "w.npy", np.ones((1, 4)))
    np.save(tmp_path / "v.npy", np.ones((1, 1)))
    (tmp_path / "net.snn").write_text(text)
    with pytest.raises(QuantizationError) as info:
        compile_network(nc.load(tmp_path / "net.snn"), AKIDA)
    assert "bias = 2 is not available" in str(info.value) and info.value.notes == ()
    assert "help: a bias is a negative threshold on a neuron that keeps nothing" in str(info.value)



def test_the_digits_cnn_gives_the_integer_references_potentials_for_every_test_digit():
    # examples/scripts/make_digits_cnn.py computes the same integers in plain numpy (its own
    # convolution, ceil activation and max pool) and stores the read-out's potentials.
    net = nc.load(EXAMPLES / "digits_cnn_akida.snn")
    m = compile_network(net, AKIDA)
    with np.load(EXAMPLES / "data" / "digits_cnn_test.npz", allow_pickle=False) as data:
        x, y, want = data["x"], data["y"], data["out"]
    n = len(y)
    raster = np.zeros((n + 6, x[0].size))
    raster[:n] = x.reshape(n, -1)  # one frame per step, pipelined: frame f's scores at step f + 5
    r = emulate(m, n + 6, {"pixels": raster}, strict=True)
    got = r.traces["out"]["voltage"][5:5 + n].astype(np.int64)
    np.testing.assert_array_equal(got, want)
    accuracy = float(np.mean(got.argmax(axis=1) == y))
    assert accuracy == pytest.approx(0.978, abs=0.001)  # the file's comment: 97.8 %
    # Graded events: 4-bit activations out of both conv layers, 8-bit pixels in.
    assert r.spikes["conv1"].values.max() > 1 and r.spikes["conv2"].values.max() > 1
    assert r.spikes["pixels"].values.max() == 240



@pytest.mark.parametrize("example, named", [
    ("brunel", ["population 'exc'", "population 'inh'"]),
    ("chain", ["population 'a'", "population 'b'", "population 'c'", "projection 'b->c'"]),
    ("dvs_conv", ["population 'conv'", "population 'pool'", "population 'out'"]),
    ("encoders", ["population 'rate_lif'", "population 'latency_lif'", "population 'delta_lif'"]),
    ("mnist_mlp", ["population 'hidden'", "population 'out'"]),
])
def test_every_example_is_refused_on_akida_saying_where_and_why(example, named, capsys):
    assert main(["run", str(EXAMPLES / f"{example}.snn"), "--chip", "akida", "--steps", "50"]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert [e for e in named if not any(e in line for line in errors)] == []
    for line in errors:
        assert ("which akida cannot do: its neurons keep no state between frames" in line
                or "but akida delivers every spike after exactly 1 step(s)" in line), line


# --------------------------------------------------------------------------- scoring a read-out of potentials


def test_a_read_out_of_potentials_is_scored_by_its_largest_potential():
    from neurocomp.report.validate import _classify, output_scores

    # Two samples through weights -1 and -2: potentials [-3, -2] and [-1, -6] at step 1
    # (0 elsewhere). The largest: neuron 1, then neuron 0. By spike counts (none) both
    # would be silent and read as class 0; the largest potential over time would be the 0
    # of the other steps.
    b = nc.NetworkBuilder("readout")
    b.input("x", 2, "current", value=np.zeros(2))
    b.population("out", 2, "LI", beta=0.0)
    b.connect("x", "out", "dense", weights=np.array([[-1.0, 0.0], [0.0, -2.0]]))
    b.probe("out", "voltage")
    net = b.build()
    runs = [simulate(net, 3, {"x": np.array([frame, [0, 0], [0, 0]])}) for frame in ([3.0, 1.0], [1.0, 3.0])]
    assert output_scores(runs[0], "out", spiking=False).tolist() == [-3.0, -2.0]
    assert output_scores(runs[1], "out", spiking=False).tolist() == [-1.0, -6.0]
    got = _classify("out", runs, runs, np.array([1, 0]), spiking=False)
    assert (got.accuracy_ref, got.silent_ref, got.scored_by) == (1.0, 0, "potentials")
    assert _classify("out", runs, runs, np.array([1, 0])).accuracy_ref == 0.5  # counts: both silent, class 0
    bare = nc.NetworkBuilder("bare")
    bare.input("x", 2, "current", value=np.zeros(2))
    bare.population("out", 2, "LI", beta=0.0)
    bare.connect("x", "out", "dense", weights=np.eye(2))
    bare.probe("out", "spikes")
    with pytest.raises(UsageError, match=r"the read-out 'out' sends no spikes: its class is its largest potential, "
                                         r"which is not probed"):
        output_scores(simulate(bare.build(), 2), "out", spiking=False)


def test_validate_scores_the_akida_example_by_its_potentials():
    # The tutorial's figure: 97.8 % of the 360 test digits (352), float model and chip alike.
    report = nc.validate(str(EXAMPLES / "digits_cnn_akida.snn"), "akida", 6,
                         samples=str(EXAMPLES / "data" / "digits_cnn_test.npz"), jobs=1)
    c = report.classifier
    assert (c.samples, c.scored_by, c.silent_ref, c.silent_chip) == (360, "potentials", 0, 0)
    assert round(c.accuracy_chip * 360) == 352 and round(c.accuracy_ref * 360) == 352 and c.agreement == 1.0
    assert "classifier (output 'out' by its largest potential, 360 samples)" in report.to_text()
    table = nc.compare(str(EXAMPLES / "digits_cnn_akida.snn"), chips=["akida"], steps=6,
                       samples=str(EXAMPLES / "data" / "digits_cnn_test.npz"), jobs=1)
    assert round(table.accuracy_ref * 360) == 352 and round(table["akida"].accuracy * 360) == 352


def test_run_out_writes_the_event_values_and_report_reads_them_back(tmp_path, capsys):
    from neurocomp.report.folder import load_folder

    np.save(tmp_path / "w.npy", np.array([[1.0, 2.0, 1.0, 1.0]]))
    np.save(tmp_path / "v.npy", np.array([[-3.0]]))
    (tmp_path / "net.snn").write_text(GRADED)
    np.savez(tmp_path / "in.npz", x=np.array([[3, 0, 5, 2], [0, 0, 0, 0], [2, 0, 0, 0]], dtype=np.float64))
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "net.snn"), "--chip", "akida", "--steps", "3", "--inputs",
                 str(tmp_path / "in.npz"), "--out", str(out)]) == 0
    with np.load(out / "spikes.npz", allow_pickle=False) as f:
        # the hand-computed events of test_graded_inputs_activations_and_a_max_pool_by_hand
        assert f["a2.values"].tolist() == [3] and f["a4.values"].tolist() == [5]
        assert f["x.values"].tolist() == [3, 5, 2, 2] and f["x.times"].tolist() == [0, 0, 0, 2]
        assert "m.values" in f.files and f["m.values"].size == 0
    back = load_folder(out).result
    assert back.spikes["a4"].values.tolist() == [5] and back.spikes["x"].values.tolist() == [3, 5, 2, 2]
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    # A values array that does not fit its events is named, not a traceback.
    with np.load(out / "spikes.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["a4.values"] = np.array([5, 1])
    np.savez(out / "spikes.npz", **arrays)
    assert main(["report", str(out)]) == 1
    assert "'a4.values' (int64, (2,)) does not give one number per event of 'a4'" in capsys.readouterr().err


def test_a_file_of_graded_frames_is_one_frame_per_step(tmp_path):
    from neurocomp.ir.printer import to_snn

    # frames(values = FILE): frame t at step t, then nothing. The example's first 12 test
    # digits through it give the script's integer potentials at steps t + 5, on the chip and
    # in the float model; a zero pixel is no event.
    with np.load(EXAMPLES / "data" / "digits_cnn_test.npz", allow_pickle=False) as d:
        x, out = d["x"][:12], d["out"][:12]
    np.save(tmp_path / "frames.npy", x)
    text = (EXAMPLES / "digits_cnn_akida.snn").read_text()
    text = text.replace('input pixels[1, 8, 8] : current(value = "data/digits_cnn_digit.npy")',
                        'input pixels[1, 8, 8] : frames(values = "frames.npy")').replace('"data/', f'"{EXAMPLES}/data/')
    (tmp_path / "net.snn").write_text(text)
    net = nc.load(tmp_path / "net.snn")
    chip = emulate(compile_network(net, AKIDA), 17)
    ref = simulate(net, 17)
    assert np.array_equal(chip.traces["out"]["voltage"][5:], out)
    assert np.array_equal(ref.traces["out"]["voltage"][5:], out)
    ev = chip.spikes["pixels"]
    assert ev.count == int(np.count_nonzero(x)) and ev.times.max() == 11
    assert ev.values.tolist() == x.reshape(12, -1)[x.reshape(12, -1) != 0].tolist()
    assert 'input pixels[1, 8, 8] : frames(values = "frames.npy")' in to_snn(net)
    # A file of the wrong shape is named where it is written.
    np.save(tmp_path / "bad.npy", np.zeros((3, 10)))
    (tmp_path / "bad.snn").write_text('network bad\ndt = 1 ms\ninput p[1, 8, 8] : frames(values = "bad.npy")\n'
                                      "population o[1] : LI(beta = 0)\nconnect p -> o : all_to_all(weight = 1)\n")
    with pytest.raises(Exception, match=r"the frames in 'bad.npy' have shape \[3, 10\], expected \[frames, 1, 8, 8\]"):
        nc.load(tmp_path / "bad.snn")
    # Values the chip does not take are refused naming the input.
    np.save(tmp_path / "neg.npy", -np.ones((2, 1, 8, 8)))
    (tmp_path / "neg.snn").write_text(text.replace('"frames.npy"', '"neg.npy"'))
    with pytest.raises(QuantizationError, match=r"input 'pixels': emits the value -1; akida takes input values"):
        compile_network(nc.load(tmp_path / "neg.snn"), AKIDA)


def test_graded_frames_are_refused_on_a_chip_of_binary_spikes(tmp_path):
    np.save(tmp_path / "f.npy", np.ones((2, 3)))
    (tmp_path / "net.snn").write_text('network f\ndt = 1 ms\ninput p[3] : frames(values = "f.npy")\n'
                                      "population o[2] : LIF(beta = 0, threshold = 1)\n"
                                      "connect p -> o : all_to_all(weight = 1)\n")
    with pytest.raises(QuantizationError, match=r"input 'p': a graded source \(frames\) cannot drive loihi"):
        compile_network(nc.load(tmp_path / "net.snn"), load_chip("loihi"))
    # On Akida: an input of 1-bit values; 3 events of 1 reach o at step 1 (V = 3 > 1), then 3 more.
    r = emulate(compile_network(nc.load(tmp_path / "net.snn"), AKIDA), 4)
    assert r.spikes["o"].times.tolist() == [1, 1, 2, 2]
    assert simulate(nc.load(tmp_path / "net.snn"), 4).spikes["o"].times.tolist() == [1, 1, 2, 2]


def test_graded_frames_from_python_are_written_and_read_back(tmp_path):
    from neurocomp.ir.write import write_snn

    # Frames [0..3], [4..7], [8..11] summed by weights 1: 6, 22, 38 at steps 1, 2, 3, then 0.
    b = nc.NetworkBuilder("fw")
    b.input("p", (1, 2, 2), "frames", values=np.arange(12.0).reshape(3, 1, 2, 2))
    b.population("o", 1, "LI", beta=0.0)
    b.connect("p", "o", "dense", weights=np.ones((1, 4)))
    b.probe("o", "voltage")
    write_snn(b.build(), tmp_path / "fw.snn")
    assert 'input p[1, 2, 2] : frames(values = "fw_data/p.values.npy")' in (tmp_path / "fw.snn").read_text()
    back = nc.load(tmp_path / "fw.snn")
    assert simulate(back, 5).traces["o"]["voltage"][:, 0].tolist() == [0, 6, 22, 38, 0]
