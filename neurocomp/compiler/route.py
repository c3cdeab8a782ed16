"""Route: build every table of the Mapping from a placed partition.

Input: a :class:`~neurocomp.ir.partition.Placement`, the
:class:`~neurocomp.ir.quantized.QuantizedNetwork` it was made from, and the chip.
Output: the :class:`~neurocomp.ir.mapping.Mapping` (its module docstring defines every
array filled here).

How the tables are laid out
---------------------------
* Compartments: cores in ascending physical id; within a core, the logical core's
  slices in order (populations in network order, then start), then its relays.
* Axons: grouped by physical core (ascending), then by projection (network order),
  then by source neuron; a core's relay-input axons (``axon_projection == -1``) come
  last. An axon's synapses are in ascending target compartment.
* Routes: a source's routes are its axons in ascending axon id.

Relays (splitters, where ``connectivity.destinations_per_neuron`` is set): a neuron that
must reach more (core, projection) pairs than that sends one spike to a relay-input axon
on its own core (weight 1, no delay); the axon feeds one relay compartment per pair; each
relay routes to one of the pair's axons. A relay fires in the step a spike reaches it,
one step after the neuron, so each synapse behind a relay has its delay reduced by one
where it is at least 1 (the timing is then exact); a synapse of delay 0 keeps the extra
step, and ``Mapping.compile_report["relay_extra_step_synapses"]`` counts them.

Delays are checked against ``chip.numerics.delay`` (a synapse with extra delay ``d``
takes ``d + 1`` chip steps) before anything is built.
"""

from __future__ import annotations

import numpy as np
from ._jit import njit

from ..chip.spec import ChipSpec
from ..diagnostics import QuantizationError
from ..ir.mapping import CoreMap, Mapping
from ..ir.partition import Partition, Placement
from ..ir.quantized import QuantizedNetwork

__all__ = ["route"]

_INT32 = np.iinfo(np.int32)


@njit(cache=True)
def _fill(indptr, indices, weights, delays, delay, has_delays, post_first, node_core, node_local, comp_start,
          ax_row_ptr, ax_core, new_id, syn_ptr, cursor, relayed, slot, syn_target, syn_weight, syn_delay):
    """Write one projection's synapses into the Mapping's arrays.

    Returns how many synapses behind a relay keep the relay's extra step (delay 0)."""
    extra = 0
    for row in range(indptr.shape[0] - 1):
        for a in range(ax_row_ptr[row], ax_row_ptr[row + 1]):
            slot[ax_core[a]] = new_id[a]
        for k in range(indptr[row], indptr[row + 1]):
            t = post_first + indices[k]
            c = node_core[t]
            aid = slot[c]
            pos = syn_ptr[aid] + cursor[aid]
            cursor[aid] += 1
            syn_target[pos] = comp_start[c] + node_local[t]
            syn_weight[pos] = weights[k]
            d = delays[k] if has_delays else delay
            if relayed[row]:
                if d >= 1:
                    d -= 1  # the relay's step replaces one step of the synapse's delay
                else:
                    extra += 1
            syn_delay[pos] = d
    return extra



@_fill.python_form
def _fill_numpy(indptr, indices, weights, delays, delay, has_delays, post_first, node_core, node_local, comp_start,
                ax_row_ptr, ax_core, new_id, syn_ptr, cursor, relayed, slot, syn_target, syn_weight, syn_delay):
    """:func:`_fill` in whole-array steps (small networks; see :mod:`._jit`)."""
    nnz = int(indptr[-1])
    rows = np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))
    t = post_first + indices[:nnz].astype(np.int64)
    c = node_core[t].astype(np.int64)
    # The axon of each synapse: the one of its row that goes to its target's core.
    a0, a1 = int(ax_row_ptr[0]), int(ax_row_ptr[-1])  # this projection's axons
    n_cores = int(max(c.max(initial=-1), ax_core[a0:a1].max(initial=-1))) + 1
    ax_rows = np.repeat(np.arange(ax_row_ptr.shape[0] - 1, dtype=np.int64), np.diff(ax_row_ptr))
    ax_key = ax_rows * n_cores + ax_core[a0:a1]
    by_key = np.argsort(ax_key, kind="stable")
    aid = new_id[a0 + by_key[np.searchsorted(ax_key[by_key], rows * n_cores + c)]].astype(np.int64)
    # Each axon's synapses in the loop's order, after those an earlier call wrote.
    order = np.argsort(aid, kind="stable")
    sa = aid[order]
    pos = np.empty(nnz, np.int64)
    pos[order] = syn_ptr[sa] + cursor[sa] + np.arange(nnz) - np.searchsorted(sa, sa, side="left")
    np.add.at(cursor, aid, 1)
    syn_target[pos] = comp_start[c] + node_local[t]
    syn_weight[pos] = weights[:nnz]
    d = delays[:nnz].astype(np.int64) if has_delays else np.full(nnz, delay, np.int64)
    relay = relayed[rows].astype(bool)
    extra = int(np.count_nonzero(relay & (d < 1)))
    d = np.where(relay & (d >= 1), d - 1, d)
    syn_delay[pos] = d
    return extra


def _require_tables(part: Partition, name: str) -> None:
    """Refuse a Mapping whose tables cannot fit, before :func:`route` makes them. It holds
    at least, per synapse, its target, weight (int32 each) and delay (int16): 10 B; per
    compartment, its core, population (int32 each), index (int64) and ``v_scale``
    (float64): 24 B; per node, its population, compartment, source and relay base (int64
    each): 32 B; per axon (the partition's plus one per relaying neuron), its core,
    projection (int32 each) and synapse pointer (int64): 16 B. Python integers."""
    from ..resources import require_memory

    relays = np.asarray(part.relay_count)
    n_syn = int(np.asarray(part.axon_count).sum(dtype=np.int64)) + int(relays.sum(dtype=np.int64))
    n_comp = sum(int(c.n_compartments) for c in part.cores)
    n_axons = int(np.asarray(part.axon_count).size) + int(np.count_nonzero(relays))
    need = 10 * n_syn + 24 * n_comp + 32 * int(part.n_nodes) + 16 * n_axons
    require_memory(need, f"the mapping of network '{name}' ({n_syn:,} synapses, {n_comp:,} compartments)",
                   where=f"network '{name}'", hint="use fewer neurons or sparser connectors")


def route(placement: Placement, qnet: QuantizedNetwork | None = None, chip: ChipSpec | None = None) -> Mapping:
    """Build the Mapping: compartments, sources, axons, routes and synapse tables.

    Parameters
    ----------
    placement
        Logical cores on physical cores (its partition holds the cut).
    qnet
        The quantized network the partition was made from (default: the partition's).
    chip
        The chip or system (default: the placement's).

    Returns
    -------
    Mapping
        Every array as :mod:`neurocomp.ir.mapping` documents it; ``cores`` carry the
        partition's exact per-resource usage.

    Raises
    ------
    QuantizationError
        A weight that does not fit 32 bits. (Delays were checked by ``partition``, whose
        Partition this placement is; :mod:`neurocomp.ir.verify` keeps that promise.)
    """
    part = placement.partition
    qnet = part.qnet if qnet is None else qnet
    chip = placement.chip if chip is None else chip
    net = qnet.network
    _require_tables(part, net.name)
    pops = list(net.populations)
    pop_index = {p: i for i, p in enumerate(pops)}
    neuron_pops = [p for p in pops if not net.populations[p].is_input]
    input_pops = [p for p in pops if net.populations[p].is_input]
    projections = [p.name for p in net.projections if p.name in qnet.projections]
    P = len(projections)
    node_first = np.array([part.node_offset[p] for p in pops], dtype=np.int64)
    sizes = np.array([net.populations[p].size for p in pops], dtype=np.int64)
    node_pop = np.repeat(np.arange(len(pops), dtype=np.int64), sizes)
    n_nodes = part.n_nodes
    node_core = part.node_core
    is_neuron = node_core >= 0

    # ---- compartments
    L = part.n_cores
    core_id = placement.core_id.astype(np.int64)
    by_phys = np.argsort(core_id, kind="stable")
    n_comp_l = np.array([c.n_compartments for c in part.cores], dtype=np.int64)
    n_relay_l = np.array([c.n_relays for c in part.cores], dtype=np.int64)
    comp_start = np.zeros(L, dtype=np.int64)
    if L:
        starts = np.zeros(L, dtype=np.int64)
        np.cumsum(n_comp_l[by_phys][:-1], out=starts[1:])
        comp_start[by_phys] = starts
    n_comp = int(n_comp_l.sum())
    neurons = np.flatnonzero(is_neuron)
    node_comp = np.full(n_nodes, -1, dtype=np.int64)
    node_comp[neurons] = comp_start[node_core[neurons]] + part.node_local[neurons]

    comp_core = np.repeat(core_id[by_phys], n_comp_l[by_phys]).astype(np.int32)
    comp_pop = np.full(n_comp, -1, dtype=np.int32)
    comp_index = np.zeros(n_comp, dtype=np.int64)
    neuron_pop_index = {p: i for i, p in enumerate(neuron_pops)}
    pop_to_neuron = np.array([neuron_pop_index.get(p, -1) for p in pops], dtype=np.int32)
    comp_pop[node_comp[neurons]] = pop_to_neuron[node_pop[neurons]]
    comp_index[node_comp[neurons]] = neurons - node_first[node_pop[neurons]]

    # Relays: after a core's neurons, grouped by the neuron they serve (ascending node).
    relay_count = part.relay_count.astype(np.int64)
    relaying = np.flatnonzero(relay_count > 0)
    relay_base = np.full(n_nodes, -1, dtype=np.int64)
    if relaying.size:
        order = relaying[np.lexsort((relaying, node_core[relaying]))]
        cores_r = node_core[order].astype(np.int64)
        counts = relay_count[order]
        cum = np.cumsum(counts) - counts  # relays before, over all cores
        first_of_core = np.searchsorted(cores_r, cores_r, side="left")
        within = cum - cum[first_of_core]
        relay_base[order] = comp_start[cores_r] + (n_comp_l[cores_r] - n_relay_l[cores_r]) + within

    # Parameters and v_scale per compartment (relays: zeros, v_scale 1).
    params: dict[str, np.ndarray] = {}
    v_scale = np.ones(n_comp, dtype=np.float64)
    for p in neuron_pops:
        qp = qnet.populations[p]
        q = pop_index[p]
        comps = node_comp[node_first[q]:node_first[q] + sizes[q]]
        v_scale[comps] = float(qp.v_scale)
        for key, values in qp.params.items():
            arr = np.asarray(values, dtype=np.int64)
            if arr.ndim == 0:  # one value for the whole population
                arr = np.broadcast_to(arr, (int(sizes[q]),))
            if key not in params:
                params[key] = np.zeros((n_comp, *arr.shape[1:]), dtype=np.int64)
            params[key][comps] = arr

    # ---- sources
    input_offset: dict[str, int] = {}
    acc = 0
    for p in input_pops:
        input_offset[p] = acc
        acc += int(net.populations[p].size)
    n_sources = n_comp + acc
    node_source = node_comp.copy()
    for p in input_pops:
        q = pop_index[p]
        node_source[node_first[q]:node_first[q] + sizes[q]] = n_comp + input_offset[p] + np.arange(
            sizes[q], dtype=np.int64)

    # ---- axons: the partition's (projection, source, logical core) plus relay inputs
    proj_index = {name: i for i, name in enumerate(projections)}
    part_proj_names = [p.name for p in net.projections if p.name in qnet.projections]
    remap = np.array([proj_index[n] for n in part_proj_names], dtype=np.int64)
    tab_proj = remap[part.axon_proj.astype(np.int64)] if part.axon_proj.size else np.zeros(0, np.int64)
    pre_pop = np.array([pop_index[qnet.projections[n].pre] for n in projections], dtype=np.int64)
    tab_src_node = node_first[pre_pop[tab_proj]] + part.axon_pre if tab_proj.size else np.zeros(0, np.int64)
    n_tab = tab_proj.size
    all_core = np.concatenate([core_id[part.axon_core.astype(np.int64)], core_id[node_core[relaying]]])
    all_proj = np.concatenate([tab_proj, np.full(relaying.size, P, dtype=np.int64)])
    all_count = np.concatenate([part.axon_count.astype(np.int64), relay_count[relaying]])
    order = np.argsort(all_core * (P + 1) + all_proj, kind="stable")
    new_id = np.empty(order.size, dtype=np.int64)
    new_id[order] = np.arange(order.size, dtype=np.int64)
    n_axons = order.size
    axon_core = all_core[order].astype(np.int32)
    axon_projection = np.where(all_proj[order] == P, -1, all_proj[order]).astype(np.int32)
    axon_syn_ptr = np.zeros(n_axons + 1, dtype=np.int64)
    np.cumsum(all_count[order], out=axon_syn_ptr[1:])
    n_syn = int(axon_syn_ptr[-1])

    weight_exp = np.array([qnet.projections[n].weight_exp for n in projections] + [0], dtype=np.int64)
    axon_weight_exp = weight_exp[all_proj[order]].astype(np.int8)
    axon_type_all = np.zeros(order.size, dtype=np.int64)
    for i, name in enumerate(projections):
        at = qnet.projections[name].axon_type
        if at is None:
            continue
        sel = np.flatnonzero(tab_proj == i)
        axon_type_all[sel] = np.asarray(at, dtype=np.int64)[part.axon_pre[sel]]
    axon_type = axon_type_all[order].astype(np.int8)

    # ---- synapses
    syn_target = np.empty(n_syn, dtype=np.int32)
    syn_weight = np.empty(n_syn, dtype=np.int32)
    syn_delay = np.empty(n_syn, dtype=np.int16)
    cursor = np.zeros(n_axons, dtype=np.int64)
    slot = np.zeros(max(L, 1), dtype=np.int64)
    extra_steps = 0
    node_local = part.node_local.astype(np.int64)
    # comp_start per logical core is what _fill needs (node_core is logical).
    for i, name in enumerate(projections):
        qp = qnet.projections[name]
        syn = qp.synapses
        sel = np.flatnonzero(tab_proj == i)  # contiguous, ordered by source row
        row_ptr = np.searchsorted(part.axon_pre[sel], np.arange(syn.n_pre + 1, dtype=np.int64)) + (
            sel[0] if sel.size else 0)
        weights = np.asarray(syn.weights)
        if weights.size and (weights.max() > _INT32.max or weights.min() < _INT32.min):
            raise QuantizationError(f"projection '{name}' has weights beyond 32 bits",
                                    where=f"projection '{name}'")
        first = node_first[pop_index[qp.pre]]
        relayed = relay_count[first:first + syn.n_pre] > 0
        has_delays = syn.delays is not None
        delays = np.asarray(syn.delays if has_delays else np.zeros(1, np.int32))
        extra_steps += _fill(syn.indptr, syn.indices, weights, delays, int(syn.delay), has_delays,
                             node_first[pop_index[qp.post]], node_core, node_local,
                             comp_start, row_ptr, part.axon_core, new_id, axon_syn_ptr, cursor, relayed, slot,
                             syn_target, syn_weight, syn_delay)
    # Relay-input axons: one synapse (weight 1, no delay) to each relay of the neuron.
    if relaying.size:
        rid = new_id[n_tab:]
        starts = axon_syn_ptr[rid]
        k = relay_count[relaying]
        pos = np.repeat(starts, k) + (np.arange(k.sum(), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k))
        syn_target[pos] = np.repeat(relay_base[relaying], k) + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
        syn_weight[pos] = 1
        syn_delay[pos] = 0

    # ---- routes
    src_new = np.empty(n_axons, dtype=np.int64)
    tab_src = node_source[tab_src_node] if n_tab else np.zeros(0, np.int64)
    src_new[new_id[:n_tab]] = tab_src
    src_new[new_id[n_tab:]] = node_comp[relaying]
    if relaying.size:
        # Axons of a relaying neuron are fed by its relays, one each, in axon order.
        via = np.flatnonzero(relay_count[tab_src_node] > 0) if n_tab else np.zeros(0, np.int64)
        ids = new_id[via]
        nodes = tab_src_node[via]
        o = np.lexsort((ids, nodes))
        ids, nodes = ids[o], nodes[o]
        first = np.searchsorted(nodes, nodes, side="left")
        src_new[ids] = relay_base[nodes] + (np.arange(nodes.size) - first)
    route_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    np.cumsum(np.bincount(src_new, minlength=n_sources), out=route_ptr[1:])
    route_axon = np.argsort(src_new, kind="stable").astype(np.int64)

    if relaying.size:
        k = relay_count[relaying]
        relay_comps = np.repeat(relay_base[relaying], k) + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
        comp_index[relay_comps] = np.repeat(node_comp[relaying], k)

    # ---- cores
    cores = []
    for l in by_phys.tolist():
        lc = part.cores[l]
        cores.append(CoreMap(core_id=int(core_id[l]), slices=lc.slices, comp_start=int(comp_start[l]),
                             comp_stop=int(comp_start[l] + n_comp_l[l]), usage=dict(lc.usage)))
    report = {
        "partition": part.report.as_dict(),
        "placement": placement.report.as_dict(),
        "relay_extra_step_synapses": int(extra_steps),
        "processor_kinds": {str(int(core_id[l])): placement.processor_kind[l] for l in range(L)
                            if placement.processor_kind[l]},
    }
    return Mapping(chip=chip, network=net, family=qnet.family, cores=tuple(cores), comp_core=comp_core,
                   comp_pop=comp_pop, comp_index=comp_index, params=params, v_scale=v_scale,
                   population_names=tuple(neuron_pops), input_offset=input_offset, route_ptr=route_ptr,
                   route_axon=route_axon, axon_core=axon_core, axon_projection=axon_projection,
                   axon_weight_exp=axon_weight_exp, axon_type=axon_type, axon_syn_ptr=axon_syn_ptr,
                   syn_target=syn_target, syn_weight=syn_weight, syn_delay=syn_delay,
                   projection_names=tuple(projections), quantization=qnet.report, compile_report=report)
