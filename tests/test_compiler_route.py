"""Route: the Mapping holds every synapse exactly once, within every limit of every core.

Two checks written independently of the compiler's own code:

* :func:`reconstruct` walks the Mapping the way a spike does (source -> route -> axon
  -> synapse) and lists ``(projection, pre, post, weight, delay)``; it must equal the
  quantized synapses (a relay adds one step, which the compiler takes out of the delay
  where it can);
* :func:`recount` counts every resource of every core from the Mapping's arrays with
  plain Python loops and the packing rule, and must equal ``CoreMap.usage`` and stay
  within ``chip.limits()``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiler_partition import TINY, hand_quantize, make_net

from neurocomp.chip.load import load_chip
from neurocomp.chip.packing import synapse_memory_bits
from neurocomp.chip.spec import ChipSpec
from neurocomp.chip.family import family
from neurocomp.compiler.partition import partition
from neurocomp.compiler.place import place
from neurocomp.compiler.route import route
from neurocomp.diagnostics import CapacityError
from neurocomp.ir.connectors import AllToAll, OneToOne, Random
from neurocomp.ir.mapping import Mapping
from neurocomp.ir.values import Distribution


def compile_q(q, chip, **kw) -> Mapping:
    return route(place(partition(q, chip, **kw), chip), q, chip)


# --------------------------------------------------------------------------- independent checks


def reconstruct(m: Mapping) -> list[tuple[str, int, int, int, int]]:
    """Every synapse as (projection, pre index, post index, weight, arrival delay).

    The arrival delay counts a relay's step: a spike through a relay arrives at
    ``t + 1 + delay + 1``, reported as ``delay + 1``."""
    inputs = {off: name for name, off in m.input_offset.items()}
    sizes = {name: m.network.populations[name].size for name in m.input_offset}

    def source(s: int) -> tuple[str, int, int]:
        """(population, index, relay steps) of source ``s``."""
        if s < m.n_comp:
            if m.comp_pop[s] == -1:
                pop, idx, _ = source(int(m.comp_index[s]))
                return pop, idx, 1
            return m.population_names[m.comp_pop[s]], int(m.comp_index[s]), 0
        k = s - m.n_comp
        for off in sorted(inputs, reverse=True):
            if k >= off:
                assert k - off < sizes[inputs[off]]
                return inputs[off], k - off, 0
        raise AssertionError(s)

    out = []
    for s in range(m.n_sources):
        for r in range(m.route_ptr[s], m.route_ptr[s + 1]):
            a = int(m.route_axon[r])
            if m.axon_projection[a] == -1:
                continue  # a relay input: followed through the relays' own routes
            proj = m.projection_names[m.axon_projection[a]]
            pre_pop, pre, relay = source(s)
            for k in range(m.axon_syn_ptr[a], m.axon_syn_ptr[a + 1]):
                t = int(m.syn_target[k])
                assert m.comp_pop[t] >= 0, "a projection synapse must end on a neuron"
                out.append((proj, pre, int(m.comp_index[t]), int(m.syn_weight[k]), int(m.syn_delay[k]) + relay))
    return sorted(out)


def expected(q, relayed: dict[str, set[int]]) -> list[tuple[str, int, int, int, int]]:
    """The quantized synapses; behind a relay a delay of 0 arrives one step late."""
    out = []
    for name, qp in q.projections.items():
        s = qp.synapses
        rows = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
        d = s.delay_array()
        for pre, post, w, dd in zip(rows.tolist(), s.indices.tolist(), s.weights.tolist(), d.tolist()):
            late = pre in relayed.get(qp.pre, set())
            out.append((name, pre, post, int(w), max(int(dd), 1) if late else int(dd)))
    return sorted(out)


def relayed_sources(m: Mapping) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for c in np.flatnonzero(m.comp_pop == -1).tolist():
        n = int(m.comp_index[c])
        out.setdefault(m.population_names[m.comp_pop[n]], set()).add(int(m.comp_index[n]))
    return out


def recount(m: Mapping, q) -> list[dict[str, int]]:
    """Every resource of every core, counted from the Mapping's arrays."""
    chip = m.chip
    limits = chip.limits()
    n_routes = np.diff(m.route_ptr)
    pop_of_proj = {name: m.population_names.index(qp.post) for name, qp in q.projections.items()}
    out = []
    for core in m.cores:
        comps = range(core.comp_start, core.comp_stop)
        axons = [a for a in range(m.n_axons) if m.axon_core[a] == core.core_id]
        u = {"neurons": len(comps), "axons_in": len(axons),
             "axons_out": int(sum(n_routes[c] for c in comps)), "synapse_memory_bits": 0}
        by_proj: dict[int, list[int]] = {}
        for a in axons:
            by_proj.setdefault(int(m.axon_projection[a]), []).append(int(m.axon_syn_ptr[a + 1] - m.axon_syn_ptr[a]))
        for p, counts in by_proj.items():
            if p == -1:
                u["synapse_memory_bits"] += synapse_memory_bits(chip, counts, weight_bits=min(chip.numerics.weights.bits),
                                                                index_range=min(len(comps), chip.core.neurons))
                continue
            qp = q.projections[m.projection_names[p]]
            n_here = sum(1 for c in comps if m.comp_pop[c] == pop_of_proj[qp.name])
            dbits = int(qp.synapses.max_delay).bit_length()
            pairs = list(zip(np.repeat(np.arange(qp.synapses.n_pre), np.diff(qp.synapses.indptr)).tolist(),
                             qp.synapses.indices.tolist()))
            dup = len(set(pairs)) != len(pairs)
            wb = qp.weight_bits
            bits = synapse_memory_bits(chip, counts, weight_bits=wb, delay_bits=dbits, index_range=n_here)
            if not dup and all(c == n_here for c in counts):
                bits = min(bits, synapse_memory_bits(chip, counts, weight_bits=wb, delay_bits=dbits))
            u["synapse_memory_bits"] += bits
        if "weight_sram_bytes" in limits:
            u["weight_sram_bytes"] = -(-u["synapse_memory_bits"] // 8)
        for key in limits:
            if not key.startswith("config_registers."):
                continue
            kind = key.split(".", 1)[1]
            params = family(m.family).neuron_registers.get(kind)
            if params:
                sets = {tuple(int(m.params[k][c]) for k in params if k in m.params) for c in comps
                        if m.comp_pop[c] >= 0}
                u[key] = len(sets)
            elif kind in family(m.family).synapse_registers:
                fmts = set()
                for p in by_proj:
                    if p >= 0:
                        qp = q.projections[m.projection_names[p]]
                        fmts.add((qp.weight_bits, qp.weight_exp, qp.sign_mode, int(qp.synapses.max_delay).bit_length()))
                u[key] = len(fmts)
            else:
                u[key] = 0
        out.append(u)
    return out


def check_mapping(m: Mapping, q) -> None:
    """Every synapse once, every core within every limit, counted independently."""
    assert reconstruct(m) == expected(q, relayed_sources(m))
    limits = m.chip.limits()
    for core, counted in zip(m.cores, recount(m, q)):
        for key, value in counted.items():
            assert core.usage[key] == value, (core.core_id, key)
        for key, limit in limits.items():
            assert core.usage[key] <= limit, (core.core_id, key)
    # Cores hold consecutive compartment ranges in ascending id (the emulator's rule).
    ids = [c.core_id for c in m.cores]
    assert ids == sorted(set(ids))
    assert [c.comp_start for c in m.cores] == [0] + [c.comp_stop for c in m.cores[:-1]]
    assert np.array_equal(m.comp_core, np.repeat(ids, [c.comp_stop - c.comp_start for c in m.cores]))
    dpn = m.chip.connectivity.destinations_per_neuron
    if dpn is not None:
        assert np.diff(m.route_ptr)[: m.n_comp].max(initial=0) <= dpn


# --------------------------------------------------------------------------- by hand


@pytest.fixture(scope="module")
def tiny4():
    return load_chip(TINY, chips=4)


def test_tables_by_hand_for_a_two_core_network(tiny4):
    # inp[2] -> a[20] all-to-all (weight 1, scale 3 -> 3), delay 2. a spans two cores:
    # a[0:16] and a[16:20]. Each input neuron therefore has two axons (one per core).
    net = make_net({"inp": 2, "a": 20}, [("p", "inp", "a", AllToAll(1.0), 2)], inputs=("inp",))
    q = hand_quantize(net, tiny4, scale=3.0)
    m = route(place(partition(q, tiny4, strategy="sequential"), tiny4, strategy="row_major"), q, tiny4)
    assert [c.core_id for c in m.cores] == [0, 1]
    assert m.n_comp == 20 and m.comp_core.tolist() == [0] * 16 + [1] * 4
    assert m.input_offset == {"inp": 0} and m.n_sources == 22
    # Axons by core, then projection, then source: core 0 {inp0, inp1}, core 1 {inp0, inp1}.
    assert m.axon_core.tolist() == [0, 0, 1, 1]
    assert m.axon_syn_ptr.tolist() == [0, 16, 32, 36, 40]
    # Source 20 (inp 0) routes to axons 0 and 2; source 21 to 1 and 3; compartments none.
    assert m.route_ptr.tolist() == [0] * 21 + [2, 4]
    assert m.route_axon.tolist() == [0, 2, 1, 3]
    assert m.syn_target[:16].tolist() == list(range(16)) and m.syn_target[32:36].tolist() == [16, 17, 18, 19]
    assert set(m.syn_weight.tolist()) == {3} and set(m.syn_delay.tolist()) == {2}
    check_mapping(m, q)


def test_weight_exponent_and_params_follow_their_projection_and_population(tiny4):
    net = make_net({"inp": 2, "a": 3, "b": 2}, [("p", "inp", "a", AllToAll(1.0)), ("r", "a", "b", AllToAll(1.0))],
                   inputs=("inp",))
    q = hand_quantize(net, tiny4, params={"a": {"du": 7}, "b": {"du": 9}})
    q.projections["r"].__dict__["weight_exp"] = 3  # a frozen dataclass: set it as quantize would
    m = compile_q(q, tiny4)
    r_axons = np.flatnonzero(m.axon_projection == m.projection_names.index("r"))
    assert set(m.axon_weight_exp[r_axons].tolist()) == {3}
    assert set(m.axon_weight_exp[m.axon_projection == 0].tolist()) == {0}
    a, b = m.population_names.index("a"), m.population_names.index("b")
    assert set(m.params["du"][m.comp_pop == a].tolist()) == {7}
    assert set(m.params["du"][m.comp_pop == b].tolist()) == {9}
    check_mapping(m, q)


# --------------------------------------------------------------------------- relays (TrueNorth)


@pytest.fixture(scope="module")
def mini_tn() -> ChipSpec:
    """TrueNorth's rules on a 2 x 2 mesh of 8-axon x 8-neuron crossbars."""
    data = load_chip("truenorth").model_dump(by_alias=True)
    data["topology"].update(tiles_x=2, tiles_y=2, cores_per_chip=4)
    data["core"].update(neurons=8, axons_in=8, axons_out=8, synapse_memory_bits=64)
    data["core"]["crossbar"].update(axons=8, neurons=8)
    return ChipSpec.model_validate(data)


def test_a_neuron_reaching_two_cores_gets_two_relays(mini_tn):
    # a[1] -> b[12] all-to-all, delay 2: b takes two cores (8 + 4), so a's one destination
    # is not enough: two relays beside a, fed by one relay-input axon.
    net = make_net({"a": 1, "b": 12}, [("ab", "a", "b", AllToAll(1.0), 2)])
    q = hand_quantize(net, mini_tn)
    m = compile_q(q, mini_tn, strategy="sequential")
    relays = np.flatnonzero(m.comp_pop == -1)
    assert relays.size == 2
    a_comp = int(np.flatnonzero(m.comp_pop == m.population_names.index("a"))[0])
    assert m.comp_index[relays].tolist() == [a_comp, a_comp]
    assert m.comp_core[relays].tolist() == [m.comp_core[a_comp]] * 2
    # a: one route, to its relay input; each relay: one route.
    (feed,) = m.route_axon[m.route_ptr[a_comp]:m.route_ptr[a_comp + 1]].tolist()
    assert m.axon_projection[feed] == -1 and m.axon_core[feed] == m.comp_core[a_comp]
    assert sorted(m.syn_target[m.axon_syn_ptr[feed]:m.axon_syn_ptr[feed + 1]].tolist()) == relays.tolist()
    assert all(m.route_ptr[r + 1] - m.route_ptr[r] == 1 for r in relays)
    # The relay's step is taken out of the delay: 2 -> 1 on every synapse of ab.
    assert set(m.syn_delay[m.axon_projection[np.repeat(np.arange(m.n_axons), np.diff(m.axon_syn_ptr))] == 0]
               .tolist()) == {1}
    assert m.compile_report["relay_extra_step_synapses"] == 0
    check_mapping(m, q)


def test_a_relay_behind_a_zero_delay_synapse_keeps_its_extra_step(mini_tn):
    net = make_net({"a": 1, "b": 12}, [("ab", "a", "b", AllToAll(1.0))])
    q = hand_quantize(net, mini_tn)
    m = compile_q(q, mini_tn)
    assert m.compile_report["relay_extra_step_synapses"] == 12
    check_mapping(m, q)


def test_more_distinct_inputs_than_crossbar_axons_is_a_clear_error(mini_tn):
    net = make_net({"inp": 9, "a": 1}, [("p", "inp", "a", AllToAll(1.0))], inputs=("inp",))
    with pytest.raises(CapacityError) as info:
        compile_q(hand_quantize(net, mini_tn), mini_tn)
    text = info.value.render()
    assert "needs fan-in 9 axons on one core for a single neuron" in text
    assert "partial-sum neurons only when its population has no native pins" in text


# --------------------------------------------------------------------------- property


@st.composite
def small_networks(draw):
    n_neuron_pops = draw(st.integers(1, 3))
    n_inputs = draw(st.integers(0, 2))
    pops = {f"n{i}": draw(st.integers(1, 24)) for i in range(n_neuron_pops)}
    inputs = {f"i{i}": draw(st.integers(1, 10)) for i in range(n_inputs)}
    all_pops = {**inputs, **pops}
    projs = []
    for k in range(draw(st.integers(1, 5))):
        pre = draw(st.sampled_from(sorted(all_pops)))
        post = draw(st.sampled_from(sorted(pops)))
        p = draw(st.floats(0.05, 0.6))
        weight = draw(st.sampled_from([1.0, -1.0, Distribution("normal", 0.0, 1.0)]))
        conn = Random(p=p, weight=weight, seed=draw(st.integers(0, 1000)))
        if all_pops[pre] == pops[post] and draw(st.booleans()):
            conn = OneToOne(draw(st.sampled_from([0.5, -2.0])))
        projs.append((f"p{k}", pre, post, conn, draw(st.integers(0, 3))))
    bits = draw(st.sampled_from([1, 2, 4, 8]))
    strategy = draw(st.sampled_from(["sequential", "greedy", "auto"]))
    params = {name: {"du": draw(st.lists(st.sampled_from([0, 100, 200]), min_size=size, max_size=size))}
              for name, size in pops.items()}
    return make_net({**inputs, **pops}, projs, inputs=tuple(inputs)), bits, strategy, params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks())
def test_every_mapping_respects_every_limit_and_keeps_every_synapse(case):
    net, bits, strategy, params = case
    chip = load_chip(TINY, chips=4)
    q = hand_quantize(net, chip, weight_bits=bits, params=params)
    try:
        m = compile_q(q, chip, strategy=strategy)
    except CapacityError as exc:
        # Only for a neuron that alone exceeds a core, or a network larger than 16 cores.
        text = exc.render()
        assert "for a single neuron" in text or "cores, the system has" in text, text
        return
    check_mapping(m, q)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(small_networks())
def test_relay_mappings_respect_every_limit_and_keep_every_synapse(mini_tn, case):
    # One destination per neuron, 8-neuron cores: most neurons with targets on several
    # cores need relays. A neuron with more than 8 distinct inputs cannot fit.
    net, _, strategy, _ = case
    chip = mini_tn.with_system(2, 2, source="user: test system")
    q = hand_quantize(net, chip)
    try:
        m = compile_q(q, chip, strategy=strategy)
    except CapacityError as exc:
        text = exc.render()
        assert "for a single neuron" in text or "cores, the system has" in text, text
        return
    check_mapping(m, q)
