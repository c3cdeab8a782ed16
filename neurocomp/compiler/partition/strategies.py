"""Strategies: how a network is cut into cores (:data:`PARTITIONERS`), and what ``auto`` tries.

``sequential``
    neurons in network order, each core filled until the next neuron does not fit; a
    core may hold the end of one population and the start of the next.
``bfs``
    the atoms (runs of at most ``atom_size`` neurons of one population) in Cuthill-McKee
    order (breadth-first over the synapse graph from a pseudo-peripheral atom, the
    neighbours of an atom by increasing degree), then filled into cores in that order as
    ``sequential`` does. Atoms joined by synapses end up on one core, and so do atoms that
    share their sources, which is what fan-in needs: on a local network with shuffled
    neuron ids it finds the neighbourhoods again.
``greedy``
    greedy graph growth over atoms: a core grows by the atom with the most synapses
    (distinct (source neuron, target atom) pairs, i.e. expected packets) to what it already
    holds, and falls back to network order when nothing connected fits. Best on small
    irregular graphs; it ignores shared sources, so on large local networks fan-in fills
    its cores early.
``auto`` (default)
    the candidates of :func:`auto_candidates`: ``sequential``, ``bfs`` (up to
    :data:`AUTO_GRAPH_MAX_SYNAPSES` synapses) and ``greedy`` (up to
    :data:`AUTO_GREEDY_MAX_SYNAPSES`); the door keeps the cut with the fewest cores, then
    the fewest routes that leave their core (ties: the earlier strategy).

A strategy makes one cut with the current reservations; :mod:`.fit` measures it and
asks again when fan-out or relays were under-reserved.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .kernels import Scratch, pack_greedy, pack_sequential
from .orderings import atom_graph, atoms, cuthill_mckee, neighbours, neuron_order
from .problem import Problem

__all__ = ["Cut", "PARTITIONERS", "BOUNDED", "NO_BOUND", "AUTO_GRAPH_MAX_SYNAPSES", "AUTO_GREEDY_MAX_SYNAPSES", "GREEDY_ATOMS",
           "auto_candidates"]

#: ``auto`` tries the breadth-first (Cuthill-McKee) partitioner up to this many synapses...
AUTO_GRAPH_MAX_SYNAPSES = 20_000_000
#: ... and the greedy graph-growth one up to this many (it is the slowest).
AUTO_GREEDY_MAX_SYNAPSES = 2_000_000

#: ``max_cores`` when there is no bound.
NO_BOUND = 1 << 62

#: Atoms the graph partitioners aim for at most (atom size = neurons / this, at least 1):
#: below it every neuron is its own atom, so a shuffled graph can be reordered freely.
GREEDY_ATOMS = 262_144


class Cut(NamedTuple):
    """One cut: ``node_core[j]`` is node ``j``'s core (``-1`` for input neurons)."""

    n_cores: int
    node_core: np.ndarray
    fail_at: int  # node (or population, for whole) that did not fit alone; -1
    fail_code: int


def sequential(prob: Problem, s: Scratch, epoch: int, atom_size: int | None, max_cores: int = NO_BOUND) -> Cut:
    """Neurons in network order, each core filled until the next one does not fit (or
    stopped, code :data:`.kernels.STOPPED`, rather than use more than ``max_cores``)."""
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    n, j, code = pack_sequential(prob.g, s, neuron_order(prob), node_core, epoch, max_cores)
    return Cut(int(n), node_core, int(j), int(code))


def greedy(prob: Problem, s: Scratch, epoch: int, atom_size: int | None, max_cores: int = NO_BOUND) -> Cut:
    """Greedy graph growth over atoms (see the module docstring); never stopped early (its
    cores may fall as the reservations grow, so ``max_cores`` is not used)."""
    n_neurons = int(prob.pop_size[~prob.pop_input].sum())
    size = atom_size or max(1, -(-n_neurons // GREEDY_ATOMS))
    start, stop, atom_of = atoms(prob, size)
    ptr, nbr, w = atom_graph(prob, atom_of, start.size)
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    n, j, code = pack_greedy(prob.g, s, start, stop, ptr, nbr, w, node_core, epoch, 8)
    return Cut(int(n), node_core, int(j), int(code))


def bfs(prob: Problem, s: Scratch, epoch: int, atom_size: int | None, max_cores: int = NO_BOUND) -> Cut:
    """Atoms in Cuthill-McKee order, filled into cores as :func:`sequential` does."""
    n_neurons = int(prob.pop_size[~prob.pop_input].sum())
    size = atom_size or max(1, -(-n_neurons // GREEDY_ATOMS))
    start, stop, atom_of = atoms(prob, size)
    ptr, nbr = neighbours(prob, start, stop, atom_of)
    degree = np.diff(ptr)
    by_degree = np.argsort(degree, kind="stable").astype(np.int64)
    order_of_atoms = cuthill_mckee(ptr, nbr, by_degree, degree)
    lengths = (stop - start)[order_of_atoms]
    # Nodes of the atoms in that order (each atom's neurons stay in ascending order).
    offsets = np.repeat(start[order_of_atoms] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    order = (np.arange(int(lengths.sum()), dtype=np.int64) + offsets).astype(np.int64)
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    n, j, code = pack_sequential(prob.g, s, order, node_core, epoch, max_cores)
    return Cut(int(n), node_core, int(j), int(code))


#: Partition strategies: ``(problem, scratch, first epoch, atom size, max cores) -> cut``.
PARTITIONERS: dict[str, Callable[..., Cut]] = {"sequential": sequential, "bfs": bfs, "greedy": greedy}

#: Strategies that fill cores in one fixed order, closing a core when the next neuron does
#: not fit (next fit). Their cut needs no fewer cores when the reservations grow (every
#: core ends no later: a run of neurons that fits with larger reservations fits with
#: smaller ones, as every resource a core counts only grows with its neurons and their
#: reservations), so a pass that already needs more cores than another candidate's cut
#: proves that the final cut cannot win, and ``auto`` stops it there (``max_cores``).
BOUNDED = frozenset({"sequential", "bfs"})


def auto_candidates(n_synapses: int) -> tuple[list[str], list[str]]:
    """The strategies ``auto`` tries on a network of ``n_synapses``, in order of preference,
    and notes on those it skips."""
    names = ["sequential"]
    notes = []
    if n_synapses <= AUTO_GRAPH_MAX_SYNAPSES:
        names.append("bfs")
    else:
        notes.append(f"graph partitioning skipped above {AUTO_GRAPH_MAX_SYNAPSES:,} synapses "
                     f"({n_synapses:,} here)")
    if n_synapses <= AUTO_GREEDY_MAX_SYNAPSES:
        names.append("greedy")
    return names, notes
