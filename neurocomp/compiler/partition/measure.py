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
from .kernels import row_axons
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
    for i, q in enumerate(prob.projs):
        syn = q.synapses
        post_off = prob.pop_first[prob.proj_post[i]]
        n = row_axons(syn.indptr, syn.indices, post_off, node_core, stamp, slot, False,
                      np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))
        ax_core = np.empty(n, dtype=np.int32)
        ax_count = np.empty(n, dtype=np.int64)
        row_ptr = np.zeros(syn.n_pre + 1, dtype=np.int64)
        row_axons(syn.indptr, syn.indices, post_off, node_core, stamp, slot, True, ax_core, ax_count, row_ptr)
        ax_pre = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(row_ptr))
        parts.append((np.full(n, i, dtype=np.int32), ax_pre, ax_core, ax_count))
    if len(parts) == 1:  # no copies of ~10 M axons for one projection
        axon_proj, axon_pre, axon_core, axon_count = parts[0]
    elif parts:
        axon_proj = np.concatenate([p[0] for p in parts])
        axon_pre = np.concatenate([p[1] for p in parts])
        axon_core = np.concatenate([p[2] for p in parts])
        axon_count = np.concatenate([p[3] for p in parts])
    else:
        axon_proj = np.zeros(0, dtype=np.int32)
        axon_pre = np.zeros(0, dtype=np.int64)
        axon_core = np.zeros(0, dtype=np.int32)
        axon_count = np.zeros(0, dtype=np.int64)
    del parts
    src_node = prob.pop_first[prob.proj_pre[axon_proj]] + axon_pre if axon_proj.size else axon_pre
    routes = np.bincount(src_node, minlength=prob.n_nodes).astype(np.int64)
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
    for i in range(len(prob.projs)):
        sel = np.flatnonzero(axon_proj == i)
        if sel.size == 0:
            continue
        cores = axon_core[sel]
        order = stable_order(cores, n_cores)
        cores = cores[order]
        cnts = axon_count[sel][order]
        bounds = np.flatnonzero(np.diff(cores)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [cores.size]])
        wbits, mult = prob.pack_bits[i]
        dbits = prob.delay_bits[i]
        post = prob.proj_post[i]
        for a, b in zip(starts.tolist(), stops.tolist()):
            c = int(cores[a])
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
    from_neuron = ~prob.pop_input[prob.proj_pre[axon_proj]] if axon_proj.size else np.zeros(0, np.bool_)
    if from_neuron.all():  # no input population's axons: no copies through the mask
        a = node_core[src_node].astype(np.int64)
        b = axon_core.astype(np.int64)
    else:
        a = node_core[src_node[from_neuron]].astype(np.int64)
        b = axon_core[from_neuron].astype(np.int64)
    relaying = np.flatnonzero(relay_count > 0)
    if relaying.size:  # the neuron's own route to its splitter axon
        a = np.concatenate([a, node_core[relaying].astype(np.int64)])
        b = np.concatenate([b, node_core[relaying].astype(np.int64)])
    pair, cnt = count_pairs(a * max(n_cores, 1) + b, max(n_cores, 1) ** 2)
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
