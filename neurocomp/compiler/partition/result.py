"""The Partition a fitted cut becomes: slices per logical core, their usage, and the report."""

from __future__ import annotations

import numpy as np

from ...ir.mapping import CoreSlice
from ...ir.partition import RELAY_SLICE, LogicalCore, Partition, PartitionReport
from .measure import Measure, stable_order
from .problem import Problem
from .strategies import Cut

__all__ = ["to_partition"]


def to_partition(prob: Problem, cut: Cut, m: Measure, passes: int, strategy: str, baseline,
                 notes=(), tried=()) -> Partition:
    """The Partition of ``cut`` as measured by ``m``: a core's slices are runs of consecutive
    neurons of one population (then its relays); ``baseline`` is ``(strategy, cores, cut
    routes)`` of the candidate ``auto`` compares with, or None."""
    g = prob.g
    neurons = np.flatnonzero(~prob.pop_input[g.node_pop]) if prob.n_nodes else np.zeros(0, dtype=np.int64)
    node_core = cut.node_core
    order = neurons[stable_order(node_core[neurons], cut.n_cores)]
    cores_sorted = node_core[order].astype(np.int64)
    n_cores = cut.n_cores
    counts = np.bincount(cores_sorted, minlength=n_cores)
    first = np.zeros(n_cores + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    node_local = np.full(prob.n_nodes, -1, dtype=np.int32)
    node_local[order] = (np.arange(order.size, dtype=np.int64) - first[cores_sorted]).astype(np.int32)

    # Slices: runs of consecutive node ids of one population on one core.
    brk = np.ones(order.size, dtype=np.bool_)
    if order.size > 1:
        brk[1:] = (cores_sorted[1:] != cores_sorted[:-1]) | (order[1:] != order[:-1] + 1) \
            | (g.node_pop[order[1:]] != g.node_pop[order[:-1]])
    run_start = np.flatnonzero(brk)
    run_stop = np.append(run_start[1:], order.size)
    slices: list[list[CoreSlice]] = [[] for _ in range(n_cores)]
    # (one slice per neuron on a shuffled graph: ~10^5 of them, so the numbers go to lists first)
    run_pop = g.node_pop[order[run_start]]
    run_lo = order[run_start] - prob.pop_first[run_pop]
    for c, q, lo, size in zip(cores_sorted[run_start].tolist(), run_pop.tolist(), run_lo.tolist(),
                              (run_stop - run_start).tolist()):
        slices[c].append(CoreSlice(population=prob.pops[q], start=lo, stop=lo + size))
    relays_per_core = np.bincount(node_core[neurons].astype(np.int64), weights=m.relay_count[neurons],
                                  minlength=n_cores).astype(np.int64) if neurons.size else np.zeros(n_cores, np.int64)
    limits = prob.chip.limits()
    masks = _core_masks(prob, node_core, neurons, n_cores)
    cores = []
    for c in range(n_cores):
        if relays_per_core[c]:
            slices[c].append(CoreSlice(population=RELAY_SLICE, start=0, stop=int(relays_per_core[c])))
        usage = {name: int(m.usage[c, idx]) for name, idx in zip(prob.res_names, prob.res_index)}
        kinds = tuple(k for bit, k in enumerate(prob.proc_kinds) if int(masks[c]) >> bit & 1)
        cores.append(LogicalCore(index=c, slices=tuple(slices[c]), usage=usage, processor_kinds=kinds))
    report = PartitionReport(strategy=strategy, cores=n_cores, cut_routes=m.cut_routes,
                             total_routes=m.total_routes, passes=passes,
                             baseline_strategy=baseline[0] if baseline else None,
                             baseline_cores=baseline[1] if baseline else None,
                             baseline_cut_routes=baseline[2] if baseline else None,
                             relays=int(m.relay_count.sum()), notes=tuple(notes), tried=tuple(tried))
    return Partition(qnet=prob.qnet, chip=prob.chip, cores=tuple(cores),
                     node_offset={p: int(o) for p, o in zip(prob.pops, prob.pop_first)},
                     node_core=node_core, node_local=node_local,
                     relay_count=m.relay_count.astype(np.int32), axon_proj=m.axon_proj, axon_pre=m.axon_pre,
                     axon_core=m.axon_core, axon_count=m.axon_count, traffic_src=m.traffic_src,
                     traffic_dst=m.traffic_dst, traffic_routes=m.traffic_routes, report=report,
                     limits=limits)


def _core_masks(prob: Problem, node_core: np.ndarray, neurons: np.ndarray, n_cores: int) -> np.ndarray:
    """Per core, the processor kinds that run every population on it (AND of their masks)."""
    masks = np.full(n_cores, -1, dtype=np.int64)
    if not prob.proc_kinds or neurons.size == 0:
        return masks
    n_pops = len(prob.pops)
    pairs = np.unique(node_core[neurons].astype(np.int64) * n_pops + prob.g.node_pop[neurons])
    core, pop = pairs // n_pops, pairs % n_pops
    starts = np.flatnonzero(np.r_[True, core[1:] != core[:-1]])
    masks[core[starts]] = np.bitwise_and.reduceat(prob.g.pop_mask[pop], starts)
    return masks


# =========================================================================== baselines
