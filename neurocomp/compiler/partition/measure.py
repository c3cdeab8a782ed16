"""Measure a cut exactly: per core what the Mapping will hold, and the traffic between cores.

Fan-out and relays depend on where the *targets* went, so the packer only reserves them
from estimates; this measurement, with the real packing function over whole cores, is
what :mod:`.fit` checks against the limits and what the Partition reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...chip.spec import ChipSpec
from ...ir.quantized import QuantizedNetwork
from .kernels import add_traffic, axons_by_core, row_axons
from .problem import Problem, build
from .resources import (
    AXONS_IN,
    AXONS_OUT,
    INPUT_SRAM,
    NEURONS,
    RESOURCES,
    SYNAPSE_MEM,
    WEIGHT_SRAM,
    synapse_memory_bits,
)

__all__ = ["Measure", "measure", "population_usage"]


@dataclass(eq=False)
class Measure:
    """A cut, measured exactly (what the Mapping will hold)."""

    n_cores: int
    usage: np.ndarray  # int64 [n_cores, kernel resources]
    axon_proj: np.ndarray
    axon_pre: np.ndarray
    axon_core: np.ndarray
    axon_count: np.ndarray
    routes: np.ndarray  # int64 [n_nodes]: (core, projection) pairs each node reaches
    relay_count: np.ndarray  # int64 [n_nodes]
    route_cost: np.ndarray  # int64 [n_nodes]: routes the node and its relays take
    traffic_src: np.ndarray
    traffic_dst: np.ndarray
    traffic_routes: np.ndarray

    @property
    def cut_routes(self) -> int:
        return int(self.traffic_routes[self.traffic_src != self.traffic_dst].sum())

    @property
    def total_routes(self) -> int:
        return int(self.traffic_routes.sum())


def measure(prob: Problem, node_core: np.ndarray, n_cores: int) -> Measure:
    """Usage per core (kernel resource order), axons, relays and traffic of the cut that puts
    node ``j`` on core ``node_core[j]`` (``-1`` for input neurons)."""
    chip = prob.chip
    g = prob.g
    neurons = ~prob.pop_input[g.node_pop] if prob.n_nodes else np.zeros(0, dtype=np.bool_)
    stamp = np.empty(max(n_cores, 1), dtype=np.int64)
    slot = np.empty(max(n_cores, 1), dtype=np.int64)
    parts = []
    routes = np.zeros(prob.n_nodes, dtype=np.int64)  # (core, projection) pairs each node reaches
    for i, q in enumerate(prob.projs):
        syn = q.synapses
        post_off = prob.pop_first[prob.proj_post[i]]
        # One pass into arrays as long as the synapses (an axon has one at least); pages
        # past the axons written are never touched, and the copies keep only the axons.
        ax_core = np.empty(syn.n_synapses, dtype=np.int32)
        ax_count = np.empty(syn.n_synapses, dtype=np.int64)
        row_ptr = np.zeros(syn.n_pre + 1, dtype=np.int64)
        n = row_axons(syn.indptr, syn.indices, post_off, node_core, stamp, slot, True, ax_core, ax_count, row_ptr)
        ax_core, ax_count = ax_core[:n].copy(), ax_count[:n].copy()
        pre_off = prob.pop_first[prob.proj_pre[i]]
        routes[pre_off:pre_off + syn.n_pre] += np.diff(row_ptr)
        parts.append((i, row_ptr, ax_core, ax_count))
    if len(parts) == 1:  # no copies of ~10 M axons for one projection
        i, row_ptr, axon_core, axon_count = parts[0]
        axon_proj = np.full(axon_core.size, i, dtype=np.int32)
        axon_pre = np.repeat(np.arange(row_ptr.size - 1, dtype=np.int64), np.diff(row_ptr))
    elif parts:
        axon_proj = np.repeat(np.array([p[0] for p in parts], dtype=np.int32), [p[2].size for p in parts])
        axon_pre = np.concatenate([np.repeat(np.arange(p[1].size - 1, dtype=np.int64), np.diff(p[1]))
                                   for p in parts])
        axon_core = np.concatenate([p[2] for p in parts])
        axon_count = np.concatenate([p[3] for p in parts])
    else:
        axon_proj = np.zeros(0, dtype=np.int32)
        axon_pre = np.zeros(0, dtype=np.int64)
        axon_core = np.zeros(0, dtype=np.int32)
        axon_count = np.zeros(0, dtype=np.int64)
    relay_count = np.zeros(prob.n_nodes, dtype=np.int64)
    dpn = chip.connectivity.destinations_per_neuron
    if dpn is not None:
        relay_count = np.where(neurons & (routes > dpn), routes, 0).astype(np.int64)
    route_cost = np.where(relay_count > 0, routes + 1, routes) * neurons

    R = g.limits.shape[0]
    usage = np.zeros((n_cores, R), dtype=np.int64)
    nc = node_core[neurons].astype(np.int64)
    usage[:, NEURONS] = np.bincount(nc, minlength=n_cores) + np.bincount(nc, weights=relay_count[neurons],
                                                                         minlength=n_cores).astype(np.int64)
    usage[:, AXONS_IN] = np.bincount(axon_core, minlength=n_cores) + np.bincount(
        nc, weights=(relay_count[neurons] > 0), minlength=n_cores).astype(np.int64)
    usage[:, AXONS_OUT] = np.bincount(nc, weights=route_cost[neurons], minlength=n_cores).astype(np.int64)

    # Synapse memory per (core, projection), with the real packing function.
    n_pops = len(prob.pops)
    pop_n = np.bincount(nc * n_pops + g.node_pop[neurons], minlength=n_cores * n_pops).reshape(n_cores, n_pops)
    mem = np.zeros(n_cores, dtype=np.int64)
    present = []  # (core, projection) pairs with axons
    for i, _row_ptr, ax_core, ax_count in parts:
        if ax_core.size == 0:
            continue
        ptr, cnts = axons_by_core(ax_core, ax_count, n_cores)  # each core's axons, in axon order
        wbits, mult = prob.pack_bits[i]
        dbits = prob.delay_bits[i]
        post = prob.proj_post[i]
        for c in np.flatnonzero(np.diff(ptr)).tolist():
            a, b = int(ptr[c]), int(ptr[c + 1])
            n_here = int(pop_n[c, post])
            seg = cnts[a:b] * mult
            # (population_usage puts a whole population on one core; an index never
            # addresses more than a core's compartments)
            rng = min(max(n_here, 1), prob.neurons_limit)
            bits = synapse_memory_bits(chip, seg, weight_bits=wbits, delay_bits=dbits, index_range=rng)
            if g.proj_dense[i] and np.all(cnts[a:b] == n_here):
                bits = min(bits, synapse_memory_bits(chip, seg, weight_bits=wbits, delay_bits=dbits))
            mem[c] += bits
            present.append((c, i))
    if relay_count.any():
        relaying = np.flatnonzero(relay_count > 0)
        comp_here = usage[:, NEURONS]
        for c in np.unique(node_core[relaying]).tolist():
            ks = relay_count[relaying[node_core[relaying] == c]]
            mem[c] += synapse_memory_bits(chip, ks, weight_bits=prob.relay_weight_bits, delay_bits=0,
                                          index_range=int(min(max(comp_here[c], 1), prob.neurons_limit)))
    usage[:, SYNAPSE_MEM] = mem
    usage[:, WEIGHT_SRAM] = (mem + 7) // 8
    if chip.core.sram is not None:
        bits = np.bincount(axon_core, weights=g.key_bits[prob.key_base[axon_proj] + axon_pre],
                           minlength=n_cores).astype(np.int64) if axon_proj.size else np.zeros(n_cores, np.int64)
        usage[:, INPUT_SRAM] = (bits + 7) // 8

    # Registers: distinct parameter sets (neurons) and synapse formats (projections).
    for col, r in enumerate(g.reg_node.tolist()):
        ids = g.node_sets[neurons, col]
        ok = ids >= 0
        pairs = np.unique(nc[ok] * max(prob.n_sets, 1) + ids[ok])
        usage[:, len(RESOURCES) + r] += np.bincount(pairs // max(prob.n_sets, 1), minlength=n_cores)
    if g.reg_proj.size and present:
        pc = np.array(present, dtype=np.int64)
        for col, r in enumerate(g.reg_proj.tolist()):
            ids = g.proj_sets[pc[:, 1], col]
            ok = ids >= 0  # a projection that takes no register of this kind
            pairs = np.unique(pc[ok, 0] * max(prob.n_sets, 1) + ids[ok])
            usage[:, len(RESOURCES) + r] += np.bincount(pairs // max(prob.n_sets, 1), minlength=n_cores)

    # Traffic between cores: every route of a neuron (or of its relays) is one packet.
    relaying = np.flatnonzero(relay_count > 0)
    width = max(n_cores, 1)
    if width * width <= max(4 * axon_core.size, 1 << 20):  # a table of every pair of cores
        table = np.zeros(width * width, dtype=np.int64)
        for i, row_ptr, ax_core, _ax_count in parts:
            pre = prob.proj_pre[i]
            if not prob.pop_input[pre]:  # an input population's axons come from off-chip
                src_core = node_core[prob.pop_first[pre]:prob.pop_first[pre] + row_ptr.size - 1]
                add_traffic(row_ptr, ax_core, src_core, width, table)
        if relaying.size:  # the neuron's own route to its splitter axon
            np.add.at(table, node_core[relaying].astype(np.int64) * (width + 1), 1)
        pair = np.flatnonzero(table)
        cnt = table[pair]
    else:
        src_node = prob.pop_first[prob.proj_pre[axon_proj]] + axon_pre if axon_proj.size else axon_pre
        from_neuron = ~prob.pop_input[prob.proj_pre[axon_proj]] if axon_proj.size else np.zeros(0, np.bool_)
        a = node_core[src_node[from_neuron]].astype(np.int64)
        b = axon_core[from_neuron].astype(np.int64)
        if relaying.size:
            a = np.concatenate([a, node_core[relaying].astype(np.int64)])
            b = np.concatenate([b, node_core[relaying].astype(np.int64)])
        pair, cnt = count_pairs(a * width + b, width ** 2)
    del parts
    return Measure(n_cores=n_cores, usage=usage, axon_proj=axon_proj, axon_pre=axon_pre, axon_core=axon_core,
                   axon_count=axon_count, routes=routes, relay_count=relay_count,
                   route_cost=route_cost.astype(np.int64),
                   traffic_src=(pair // max(n_cores, 1)).astype(np.int32),
                   traffic_dst=(pair % max(n_cores, 1)).astype(np.int32),
                   traffic_routes=cnt.astype(np.int64))


def stable_order(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for keys in ``[0, n_keys)``: as 16-bit keys when
    they fit, which numpy sorts by radix (linear) instead of by merging (~10x faster at
    10 M axons)."""
    if n_keys <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    return np.argsort(keys, kind="stable")


def count_pairs(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_counts=True)`` for keys in ``[0, n_keys)``: one ``bincount``
    when its table is not much larger than the keys (no sort of every route)."""
    if n_keys <= max(4 * keys.size, 1 << 20):
        counts = np.bincount(keys, minlength=n_keys)
        pair = np.flatnonzero(counts)
        return pair, counts[pair]
    return np.unique(keys, return_counts=True)


# =========================================================================== strategies


def population_usage(qnet: QuantizedNetwork, chip: ChipSpec | None = None) -> dict[str, dict[str, int]]:
    """What each population would use as one block on one core (limits not enforced).

    This is the per-block usage that nengo-loihi's splitting rule divides by the limits
    (see ``nengo_loihi_cores`` in ``benchmarks/baselines.py``).
    """
    chip = qnet.chip if chip is None else chip
    prob = build(qnet, chip)
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    labels = {}
    for q, pop in enumerate(prob.pops):
        if prob.pop_input[q] or prob.pop_size[q] == 0:
            continue
        labels[pop] = len(labels)
        node_core[prob.pop_first[q]:prob.pop_first[q] + prob.pop_size[q]] = labels[pop]
    m = measure(prob, node_core, len(labels))
    return {pop: {name: int(m.usage[c, idx]) for name, idx in zip(prob.res_names, prob.res_index)}
            for pop, c in labels.items()}
