"""Fit: cut, measure, and cut again until every core is within every limit.

Fan-out and relays depend on where the *targets* went, so a cut is measured after it
is made; when a core turns out over its fan-out (or relay) budget, each neuron's
measured need becomes its reservation and the cut is redone (``PartitionReport.passes``).
"""

from __future__ import annotations

import numpy as np

from ...diagnostics import CapacityError
from .errors import neuron_error, population_error, resource_phrase
from .kernels import STOPPED, Scratch, pack_whole
from .measure import Measure, measure
from .problem import Problem
from .resources import AXONS_IN, AXONS_OUT, NEURONS, RESOURCES, SYNAPSE_MEM, WEIGHT_SRAM
from .strategies import NO_BOUND, PARTITIONERS, Cut

__all__ = ["fit", "Stopped"]


class Stopped(Exception):
    """A candidate stopped because its cut needs more than ``max_cores`` cores."""

    def __init__(self, cores: int, passes: int):
        super().__init__(f"needs more than {cores - 1:,} cores")
        self.cores = cores
        self.passes = passes


def _initial_estimates(prob: Problem) -> None:
    """Lower bounds: one route per (neuron, projection) with a synapse."""
    g = prob.g
    est = np.zeros(prob.n_nodes, dtype=np.int64)
    for i, q in enumerate(prob.projs):
        pre = prob.proj_pre[i]
        if prob.pop_input[pre]:
            continue
        lo = prob.pop_first[pre]
        est[lo:lo + q.synapses.n_pre] += (np.diff(q.synapses.indptr) > 0)
    g.routes_est[:] = est
    dpn = prob.chip.connectivity.destinations_per_neuron
    if dpn is not None:
        relays = np.where(est > dpn, est, 0)
        g.relay_est[:] = relays
        g.routes_est[:] = np.where(relays > 0, est + 1, est)


def _upper_estimates(prob: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Routes and relays no cut can exceed: one (core, projection) pair per synapse."""
    syn_out = np.zeros(prob.n_nodes, dtype=np.int64)
    for i, q in enumerate(prob.projs):
        pre = prob.proj_pre[i]
        if prob.pop_input[pre]:
            continue
        lo = prob.pop_first[pre]
        syn_out[lo:lo + q.synapses.n_pre] += np.diff(q.synapses.indptr)
    dpn = prob.chip.connectivity.destinations_per_neuron
    if dpn is None:
        return syn_out, np.zeros(prob.n_nodes, dtype=np.int64)
    relays = np.where(syn_out > dpn, syn_out, 0)
    return np.where(relays > 0, syn_out + 1, syn_out), relays


def fit(prob: Problem, s: Scratch, strategy: str, atom_size, max_passes: int,
        max_cores: int = NO_BOUND) -> tuple[Cut, Measure, int]:
    """Cut, measure, and cut again with the measured fan-out and relays until it fits.

    ``strategy`` is a key of :data:`.strategies.PARTITIONERS`, or ``"whole"`` (every
    population on one core). Returns the cut, its measurement and the passes it took;
    raises :class:`CapacityError` when a neuron (or a whole population) fits no core, or
    when ``max_passes`` are not enough; raises :class:`Stopped` when a strategy of
    :data:`.strategies.BOUNDED` needs more than ``max_cores`` cores in a pass (its final
    cut would need as many: see there).
    """
    _initial_estimates(prob)
    g = prob.g
    # Relays and fan-out are reserved from estimates; everything else the packer counts
    # exactly (or, for the packed-weights rule, from above).
    estimated = [AXONS_OUT]
    if prob.chip.connectivity.destinations_per_neuron is not None:
        estimated += [NEURONS, AXONS_IN, SYNAPSE_MEM, WEIGHT_SRAM]
    for passes in range(1, max_passes + 1):
        epoch = prob.fresh_epochs(prob.n_nodes + 2)
        if strategy == "whole":
            node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
            n, q, code = pack_whole(g, s, prob.pop_first, np.where(prob.pop_input, 0, prob.pop_size),
                                    node_core, epoch)
            cut = Cut(int(n), node_core, int(q), int(code))
            if cut.fail_at >= 0:
                raise population_error(prob, s, cut.fail_at, cut.fail_code)
        else:
            cut = PARTITIONERS[strategy](prob, s, epoch, atom_size, max_cores)
            if cut.fail_code == STOPPED:
                raise Stopped(cut.n_cores, passes)
            if cut.fail_at >= 0:
                raise neuron_error(prob, s, cut.fail_at, cut.fail_code)
        m = measure(prob, cut.node_core, cut.n_cores)
        over = m.usage > g.limits[None, :]
        if not over.any():
            return cut, m, passes
        unexpected = np.delete(over, estimated, axis=1)
        if unexpected.any():
            raise RuntimeError("partition: a core measured over a limit the packer counts exactly")
        g.routes_est[:] = np.maximum(g.routes_est, m.route_cost)
        g.relay_est[:] = np.maximum(g.relay_est, m.relay_count)
        if passes >= 2:
            # Still over: the neurons of the cores that overflow reserve twice what they
            # needed (never more than a route per synapse, nor more than a core has), so
            # the reservations outgrow the needs in a few passes and the cut settles.
            bad_cores = np.flatnonzero(over.any(axis=1))
            hit = np.isin(cut.node_core, bad_cores)
            upper_routes, upper_relays = _upper_estimates(prob)
            cap = np.minimum(upper_routes[hit], g.limits[AXONS_OUT])
            g.routes_est[hit] = np.maximum(g.routes_est[hit], np.minimum(2 * m.route_cost[hit], cap))
            cap = np.minimum(upper_relays[hit], g.limits[NEURONS] - 1)
            g.relay_est[hit] = np.maximum(g.relay_est[hit], np.minimum(2 * m.relay_count[hit], cap))
    worst = int(np.argmax(over.any(axis=1)))
    bad = int(np.flatnonzero(over[worst])[0])
    name = RESOURCES[bad]
    err = CapacityError(f"core {worst} still needs {resource_phrase(name, int(m.usage[worst, bad]))} "
                        f"after {max_passes} partition passes, limit {int(g.limits[bad]):,} on {prob.chip.name}",
                        hint="reduce the fan-out of the populations on it")
    err.excess = int(m.usage[worst, bad]) / max(int(g.limits[bad]), 1)
    raise err
