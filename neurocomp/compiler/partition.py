"""Partition: cut a quantized network into logical cores that each fit one core of the chip.

Input: a :class:`~neurocomp.ir.quantized.QuantizedNetwork` and the chip it targets.
Output: a :class:`~neurocomp.ir.partition.Partition` (logical cores, each holding
population slices; no physical core ids yet).

Invariants of the result:

* every neuron of every non-input population is on exactly one logical core;
* every core is within *every* limit of ``chip.limits()``, counted exactly as the
  Mapping will hold it (see "The resource model" below);
* the result depends only on the network and the chip (no randomness).

The resource model (per core)
-----------------------------
``neurons``
    its compartments: neurons plus relays.
``axons_in`` (fan-in)
    distinct (source neuron, projection) pairs with a synapse onto the core (one axon
    each), plus one axon per relaying neuron (the splitter's input).
``axons_out`` (fan-out)
    routes from its compartments: one per (compartment, destination core, projection).
``synapse_memory_bits``
    per projection, :func:`neurocomp.chip.packing.synapse_memory_bits` over the synapse
    counts of its axons on the core, with the projection's weight width and a delay
    field of ``max_delay.bit_length()`` bits. Dense format (no index) when every axon of
    the projection reaches every compartment the core holds of the target population,
    sparse otherwise with ``index_range`` = that number of compartments; the cheaper of
    the two when both apply.
``weight_sram_bytes`` / ``input_sram_bytes`` (Akida)
    synapse memory in bytes; the activations of the core's input axons (each source's
    ``act_bits``; input populations at the chip's widest input width) in bytes.
``config_registers.<kind>``
    distinct parameter sets on the core: per neuron family, the parameters that share a
    register (:data:`NEURON_REGISTERS`) or per projection the synapse format
    (:data:`SYNAPSE_REGISTERS`). A kind no registry names is counted 0 (neurocomp has no
    learning rules, so e.g. Loihi's ``stdp_pre`` is never used).
processor kinds (Akida)
    a core runs one processor kind, which must run every layer kind
    (:data:`LAYER_KINDS`) whose output the core holds.

Strategies (:data:`PARTITIONERS`)
---------------------------------
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
    ``sequential``, ``bfs`` (up to :data:`AUTO_GRAPH_MAX_SYNAPSES` synapses) and
    ``greedy`` (up to :data:`AUTO_GREEDY_MAX_SYNAPSES`), keeping the cut with the fewest
    cores, then the fewest routes that leave their core (ties: the earlier strategy).
    ``PartitionReport.tried`` lists every candidate.

Fan-out and relays depend on where the *targets* went, so a cut is measured after it
is made; when a core turns out over its fan-out (or relay) budget, each neuron's
measured need becomes its reservation and the cut is redone (``PartitionReport.passes``).

All per-synapse and per-neuron work runs in Numba kernels over flat arrays.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from numba import njit

from ..chip.packing import UnaddressableError
from ..chip.packing import synapse_memory_bits as _packing_bits
from ..diagnostics import CapacityError, Diagnostic, QuantizationError, UsageError, did_you_mean
from ..ir.connectors import AllToAll, Conv2d, Dense, OneToOne, Pool2d, Random, Sparse
from ..ir.mapping import CoreSlice
from ..ir.partition import RELAY_SLICE, LogicalCore, Partition, PartitionReport
from ..ir.quantized import QProjection, QuantizedNetwork

__all__ = [
    "partition",
    "PARTITIONERS",
    "LAYER_KINDS",
    "NEURON_REGISTERS",
    "SYNAPSE_REGISTERS",
    "AUTO_GREEDY_MAX_SYNAPSES",
    "AUTO_GRAPH_MAX_SYNAPSES",
    "RESOURCES",
    "check_delays",
    "population_usage",
    "nengo_loihi_cores",
    "resource_phrase",
]

#: Resource names in the order the kernels count them (a chip has a subset).
RESOURCES = ("neurons", "axons_in", "axons_out", "synapse_memory_bits", "input_sram_bytes",
             "weight_sram_bytes")
_NEUR, _AXIN, _AXOUT, _MEM, _INB, _WB = range(6)
_NO_LIMIT = np.iinfo(np.int64).max // 4

#: Layer kind of each connector (Akida's ``connectivity.layer_kinds`` vocabulary).
LAYER_KINDS: dict[type, str] = {Conv2d: "conv", Pool2d: "conv", Dense: "dense", Sparse: "dense",
                                Random: "dense", AllToAll: "dense", OneToOne: "dense"}

#: Per neuron family: register kind -> the parameters whose distinct combinations each
#: take one register of a core (nengo-loihi's CompartmentConfig / VthConfig).
NEURON_REGISTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "loihi_cuba_lif": {"compartment": ("du", "dv", "refractory"), "vth": ("vth_mant",)},
    "truenorth": {},
    "akida": {},
}

#: Per neuron family: register kinds taken once per distinct synapse format (weight
#: width, weight exponent, sign mode, delay width) among the projections a core receives.
SYNAPSE_REGISTERS: dict[str, tuple[str, ...]] = {"loihi_cuba_lif": ("synapse",)}

#: ``auto`` tries the breadth-first (Cuthill-McKee) partitioner up to this many synapses...
AUTO_GRAPH_MAX_SYNAPSES = 20_000_000
#: ... and the greedy graph-growth one up to this many (it is the slowest).
AUTO_GREEDY_MAX_SYNAPSES = 2_000_000

#: Atoms the graph partitioners aim for at most (atom size = neurons / this, at least 1):
#: below it every neuron is its own atom, so a shuffled graph can be reordered freely.
GREEDY_ATOMS = 262_144

_PHRASES = {
    "neurons": "{v} compartments",
    "axons_in": "fan-in {v} axons",
    "axons_out": "fan-out {v} axons",
    "synapse_memory_bits": "{v} bits of synapse memory",
    "input_sram_bytes": "{v} bytes of input SRAM",
    "weight_sram_bytes": "{v} bytes of weight SRAM",
}

_REDUCE = {
    "neurons": "reduce its fan-out (each relay takes a compartment)",
    "axons_in": "reduce fan-in",
    "axons_out": "reduce fan-out",
    "synapse_memory_bits": "reduce fan-in or the weight width",
    "input_sram_bytes": "reduce fan-in or the activation width",
    "weight_sram_bytes": "reduce fan-in or the weight width",
}


def synapse_memory_bits(chip, counts, **kwargs):
    """The packing rule's bits, or one more than a core holds where the sparse format cannot
    address the targets (so the partitioner splits the target population instead)."""
    try:
        return _packing_bits(chip, counts, **kwargs)
    except UnaddressableError:
        return chip.core.synapse_memory_bits + 1



def resource_phrase(resource: str, value: int) -> str:
    """``"fan-in 5,000 axons"``: a resource and an amount in words."""
    if resource.startswith("config_registers."):
        return f"{value:,} '{resource.split('.', 1)[1]}' config registers"
    return _PHRASES[resource].format(v=f"{value:,}")


# =========================================================================== kernels
# State shared by the packing kernels (flat arrays; see _Static / _Scratch).
# scal layout: 0 projections on the core, 1 compartments, 2 axons in, 3 routes out,
# 4 input activation bits, 5 processor-kind mask, 6 relay synapse bits, 7.. registers.
_S_NPROJ, _S_NEUR, _S_AXIN, _S_ROUT, _S_INBITS, _S_MASK, _S_RELAYMEM, _S_REG = range(8)


class _Static(NamedTuple):
    csc_ptr: np.ndarray  # int64 [n_nodes + 1]: in-synapses of each target node
    csc_key: np.ndarray  # int32 (int64 past 2**31 keys) [nnz]: axon key (key_base[p] + pre)
    key_proj: np.ndarray  # int32 [n_keys]
    key_bits: np.ndarray  # int64 [n_keys]: activation bits of the key's source
    node_pop: np.ndarray  # int32 [n_nodes]
    pop_in_ptr: np.ndarray  # int64 [n_pops + 1]
    pop_in_proj: np.ndarray  # int64: projections into each population
    proj_post: np.ndarray  # int64 [n_proj]
    proj_dense: np.ndarray  # int8 [n_proj]: dense format allowed (no duplicate pairs)
    tab: np.ndarray  # int64: per projection, n_opts tables of bits per axon by count
    tab_off: np.ndarray  # int64 [n_proj]
    tab_len: np.ndarray  # int64 [n_proj]
    opt_of_n: np.ndarray  # int64 [neurons + 2]: sparse table column for n target compartments
    node_sets: np.ndarray  # int64 [n_nodes, n_nreg]: parameter-set id per register kind
    proj_sets: np.ndarray  # int64 [n_proj, n_sreg]
    reg_node: np.ndarray  # int64 [n_nreg]: register index of each neuron kind
    reg_proj: np.ndarray  # int64 [n_sreg]
    pop_mask: np.ndarray  # int64 [n_pops]: processor kinds able to run the population
    limits: np.ndarray  # int64 [6 + n_regs]
    routes_est: np.ndarray  # int64 [n_nodes]: routes reserved per neuron
    relay_est: np.ndarray  # int64 [n_nodes]: relays reserved per neuron
    relay_tab: np.ndarray  # int64: bits of a relay axon with k synapses


class _Scratch(NamedTuple):
    key_stamp: np.ndarray  # int64 [n_keys]: epoch that last saw the axon
    key_cnt: np.ndarray  # int64 [n_keys]: its synapses on the open core
    set_stamp: np.ndarray  # int64 [n_sets]
    proj_stamp: np.ndarray  # int64 [n_proj]
    pop_stamp: np.ndarray  # int64 [n_pops]
    S: np.ndarray  # int64 [n_proj, n_opts]: synapse bits of each table column
    naxons: np.ndarray  # int64 [n_proj]
    full: np.ndarray  # int64 [n_proj]: axons that reach every target compartment
    touch: np.ndarray  # int64 [n_proj]
    pop_n: np.ndarray  # int64 [n_pops]: compartments of each population on the core
    core_projs: np.ndarray  # int64 [n_proj]
    scal: np.ndarray  # int64 [8 + n_regs]
    snap: np.ndarray  # int64 [8 + n_regs]
    log_key: np.ndarray  # int64 [max in-degree]
    log_old: np.ndarray  # int64 [max in-degree]
    log_proj: np.ndarray  # int64 [n_proj]
    log_set: np.ndarray  # int64 [n_nreg + n_proj * n_sreg]
    log_full: np.ndarray  # int64 [n_proj]
    usage: np.ndarray  # int64 [6 + n_regs]


@njit(cache=True)
def _reset(s):
    s.scal[:] = 0
    s.scal[_S_MASK] = -1  # every processor kind


@njit(cache=True)
def _usage(g, s):
    """Fill ``s.usage`` from the open core's state."""
    mem = 0
    for i in range(s.scal[_S_NPROJ]):
        p = s.core_projs[i]
        n = s.pop_n[g.proj_post[p]]
        v = s.S[p, g.opt_of_n[n]]
        if g.proj_dense[p] == 1 and s.full[p] == s.naxons[p] and s.S[p, 0] < v:
            v = s.S[p, 0]
        mem += v
    mem += s.scal[_S_RELAYMEM]
    s.usage[0] = s.scal[_S_NEUR]
    s.usage[1] = s.scal[_S_AXIN]
    s.usage[2] = s.scal[_S_ROUT]
    s.usage[3] = mem
    s.usage[4] = (s.scal[_S_INBITS] + 7) // 8
    s.usage[5] = (mem + 7) // 8
    for r in range(s.usage.shape[0] - 6):
        s.usage[6 + r] = s.scal[_S_REG + r]


@njit(cache=True)
def _over(g, s):
    """Index of the first exceeded limit, ``len(limits)`` for no processor kind, or -1."""
    _usage(g, s)
    for r in range(g.limits.shape[0]):
        if s.usage[r] > g.limits[r]:
            return r
    if s.scal[_S_MASK] == 0:
        return g.limits.shape[0]
    return -1


@njit(cache=True)
def _add(g, s, j, epoch, check):
    """Put node ``j`` on the open core (stamped ``epoch``).

    Returns 0, or (after undoing the addition) ``1 +`` the index of the limit it broke.
    """
    P = g.node_pop[j]
    s.snap[:] = s.scal
    if s.pop_stamp[P] != epoch:
        s.pop_stamp[P] = epoch
        s.pop_n[P] = 0
    n_old = s.pop_n[P]
    a0 = g.pop_in_ptr[P]
    a1 = g.pop_in_ptr[P + 1]
    for i in range(a0, a1):
        p = g.pop_in_proj[i]
        s.log_full[i - a0] = s.full[p]
        s.touch[p] = 0
    n_opts = s.S.shape[1]
    nlog = 0
    nproj = 0
    nset = 0
    for k in range(g.csc_ptr[j], g.csc_ptr[j + 1]):
        key = g.csc_key[k]
        p = g.key_proj[key]
        if s.proj_stamp[p] != epoch:
            s.proj_stamp[p] = epoch
            s.S[p, :] = 0
            s.naxons[p] = 0
            s.full[p] = 0
            s.core_projs[s.scal[_S_NPROJ]] = p
            s.scal[_S_NPROJ] += 1
            s.log_proj[nproj] = p
            nproj += 1
            for r in range(g.proj_sets.shape[1]):
                sid = g.proj_sets[p, r]
                if sid >= 0 and s.set_stamp[sid] != epoch:
                    s.set_stamp[sid] = epoch
                    s.scal[_S_REG + g.reg_proj[r]] += 1
                    s.log_set[nset] = sid
                    nset += 1
        if s.key_stamp[key] != epoch:
            s.key_stamp[key] = epoch
            s.key_cnt[key] = 0
            s.naxons[p] += 1
            s.scal[_S_AXIN] += 1
            s.scal[_S_INBITS] += g.key_bits[key]
        old = s.key_cnt[key]
        s.log_key[nlog] = key
        s.log_old[nlog] = old
        nlog += 1
        # An axon that reached all n_old compartments of the population and reaches
        # this one too still reaches all of them (dense format stays possible).
        if old == n_old:
            s.touch[p] += 1
        s.key_cnt[key] = old + 1
        base = g.tab_off[p]
        L = g.tab_len[p]
        for o in range(n_opts):
            s.S[p, o] += g.tab[base + o * L + old + 1] - g.tab[base + o * L + old]
    for i in range(a0, a1):
        p = g.pop_in_proj[i]
        s.full[p] = s.touch[p]
    s.pop_n[P] = n_old + 1
    for r in range(g.node_sets.shape[1]):
        sid = g.node_sets[j, r]
        if sid >= 0 and s.set_stamp[sid] != epoch:
            s.set_stamp[sid] = epoch
            s.scal[_S_REG + g.reg_node[r]] += 1
            s.log_set[nset] = sid
            nset += 1
    s.scal[_S_NEUR] += 1 + g.relay_est[j]
    s.scal[_S_ROUT] += g.routes_est[j]
    if g.relay_est[j] > 0:
        s.scal[_S_AXIN] += 1
        s.scal[_S_RELAYMEM] += g.relay_tab[min(g.relay_est[j], g.relay_tab.shape[0] - 1)]
    s.scal[_S_MASK] &= g.pop_mask[P]
    if not check:
        return 0
    bad = _over(g, s)
    if bad < 0:
        return 0
    # Undo, newest first (a key logged twice is unwound in the right order).
    for i in range(nlog - 1, -1, -1):
        key = s.log_key[i]
        old = s.log_old[i]
        p = g.key_proj[key]
        base = g.tab_off[p]
        L = g.tab_len[p]
        for o in range(n_opts):
            s.S[p, o] -= g.tab[base + o * L + old + 1] - g.tab[base + o * L + old]
        s.key_cnt[key] = old
        if old == 0:
            s.key_stamp[key] = -1
            s.naxons[p] -= 1
    for i in range(a0, a1):
        s.full[g.pop_in_proj[i]] = s.log_full[i - a0]
    s.pop_n[P] = n_old
    for i in range(nset):
        s.set_stamp[s.log_set[i]] = -1
    for i in range(nproj):
        s.proj_stamp[s.log_proj[i]] = -1
    s.scal[:] = s.snap
    return bad + 1


@njit(cache=True)
def _pack_sequential(g, s, order, node_core, epoch0):
    """Fill cores in ``order``. Returns (cores, failing node or -1, failing code)."""
    epoch = epoch0
    label = 0
    count = 0
    _reset(s)
    for idx in range(order.shape[0]):
        j = order[idx]
        code = _add(g, s, j, epoch, True)
        if code != 0:
            if count == 0:
                return 0, j, code
            label += 1
            epoch += 1
            count = 0
            _reset(s)
            code = _add(g, s, j, epoch, True)
            if code != 0:
                return 0, j, code
        node_core[j] = label
        count += 1
    return (label + 1 if count > 0 else label), -1, 0


@njit(cache=True)
def _pack_whole(g, s, pop_first, pop_size, node_core, epoch0):
    """Like :func:`_pack_sequential`, but a population never spans two cores.

    Returns (cores, failing population or -1, failing code)."""
    epoch = epoch0
    label = 0
    count = 0
    _reset(s)
    for q in range(pop_first.shape[0]):
        lo = pop_first[q]
        hi = lo + pop_size[q]
        if hi == lo:
            continue
        code = 0
        for j in range(lo, hi):
            code = _add(g, s, j, epoch, True)
            if code != 0:
                break
        if code == 0:
            node_core[lo:hi] = label
            count += hi - lo
            continue
        if count == 0:
            return 0, q, code
        # The population does not fit beside what the core holds: close it, start afresh.
        label += 1
        epoch += 1
        count = 0
        _reset(s)
        for j in range(lo, hi):
            code = _add(g, s, j, epoch, True)
            if code != 0:
                return 0, q, code
        node_core[lo:hi] = label
        count = hi - lo
    return (label + 1 if count > 0 else label), -1, 0


@njit(cache=True)
def _pack_greedy(g, s, atom_start, atom_stop, adj_ptr, adj_nbr, adj_w, node_core, epoch0, max_fail):
    """Greedy graph growth over atoms (see the module docstring).

    Returns (cores, failing node or -1, failing code)."""
    n_atoms = atom_start.shape[0]
    next_free = atom_start.copy()
    placed = np.zeros(n_atoms, dtype=np.bool_)
    gain = np.zeros(n_atoms, dtype=np.int64)
    gain_stamp = np.full(n_atoms, -1, dtype=np.int64)
    failed = np.full(n_atoms, -1, dtype=np.int64)
    heap = [(np.int64(0), np.int64(0))]
    heap.pop()
    epoch = epoch0
    label = 0
    count = 0
    fails = 0
    cursor = 0
    seed = -1
    _reset(s)
    while True:
        a = -1
        from_cursor = False
        if seed >= 0 and not placed[seed]:
            a = seed
        seed = -1
        while a < 0 and len(heap) > 0:
            ng, cand = heapq.heappop(heap)
            if placed[cand] or failed[cand] == label or gain_stamp[cand] != label or -ng != gain[cand]:
                continue
            a = cand
        if a < 0:
            while cursor < n_atoms and placed[cursor]:
                cursor += 1
            if cursor == n_atoms:
                break
            a = cursor
            from_cursor = True
            if failed[a] == label:
                # It did not fit here before: the core is full for it.
                label += 1
                epoch += 1
                count = 0
                fails = 0
                heap = [(np.int64(0), np.int64(0))]
                heap.pop()
                _reset(s)
        added = 0
        j = next_free[a]
        code = 0
        while j < atom_stop[a]:
            code = _add(g, s, j, epoch, True)
            if code != 0:
                break
            node_core[j] = label
            count += 1
            added += 1
            j += 1
        next_free[a] = j
        if j == atom_stop[a]:
            placed[a] = True
            for e in range(adj_ptr[a], adj_ptr[a + 1]):
                b = adj_nbr[e]
                if placed[b]:
                    continue
                if gain_stamp[b] != label:
                    gain_stamp[b] = label
                    gain[b] = 0
                gain[b] += adj_w[e]
                heapq.heappush(heap, (-gain[b], np.int64(b)))
            continue
        if count == 0:
            return 0, j, code
        if added > 0 or from_cursor:
            close = True
        else:
            failed[a] = label
            fails += 1
            close = fails >= max_fail
        if close:
            label += 1
            epoch += 1
            count = 0
            fails = 0
            heap = [(np.int64(0), np.int64(0))]
            heap.pop()
            _reset(s)
            seed = a  # the next core starts where this one stopped (locality)
    return (label + 1 if count > 0 else label), -1, 0


@njit(cache=True)
def _bfs_far(start, ptr, nbr, visited, mark, queue):
    """Breadth-first from ``start`` over unvisited atoms; returns the last atom reached
    (one of the farthest). ``visited`` is left unchanged; ``mark`` is scratch."""
    head = 0
    tail = 1
    queue[0] = start
    mark[start] = True
    last = start
    while head < tail:
        u = queue[head]
        head += 1
        last = u
        for e in range(ptr[u], ptr[u + 1]):
            v = nbr[e]
            if not visited[v] and not mark[v]:
                mark[v] = True
                queue[tail] = v
                tail += 1
    for i in range(tail):
        mark[queue[i]] = False
    return last


@njit(cache=True)
def _cuthill_mckee(ptr, nbr, by_degree, degree):
    """Cuthill-McKee order of a graph: breadth-first from a pseudo-peripheral atom of each
    component, neighbours taken by increasing degree. Neighbouring atoms end up close in
    the order, so cutting it into consecutive runs keeps connected atoms together."""
    n = ptr.shape[0] - 1
    order = np.empty(n, dtype=np.int64)
    visited = np.zeros(n, dtype=np.bool_)
    mark = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int64)
    pos = 0
    cursor = 0
    while pos < n:
        while visited[by_degree[cursor]]:
            cursor += 1
        start = by_degree[cursor]
        # George-Liu: twice to the far end of the component gives a pseudo-peripheral start.
        start = _bfs_far(start, ptr, nbr, visited, mark, queue)
        start = _bfs_far(start, ptr, nbr, visited, mark, queue)
        order[pos] = start
        visited[start] = True
        head = pos
        pos += 1
        while head < pos:
            u = order[head]
            head += 1
            first = pos
            for e in range(ptr[u], ptr[u + 1]):
                v = nbr[e]
                if not visited[v]:
                    visited[v] = True
                    order[pos] = v
                    pos += 1
            if pos - first > 1:
                seg = order[first:pos].copy()
                keys = degree[seg]
                idx = np.argsort(keys, kind="mergesort")
                order[first:pos] = seg[idx]
    return order


@njit(cache=True)
def _csc_count(indptr, indices, post_off, counts):
    for row in range(indptr.shape[0] - 1):
        for k in range(indptr[row], indptr[row + 1]):
            counts[post_off + indices[k]] += 1


@njit(cache=True)
def _csc_fill(indptr, indices, post_off, key_base, cursor, csc_key):
    for row in range(indptr.shape[0] - 1):
        key = key_base + row
        for k in range(indptr[row], indptr[row + 1]):
            t = post_off + indices[k]
            csc_key[cursor[t]] = key
            cursor[t] += 1


@njit(cache=True)
def _has_duplicates(indptr, indices):
    for row in range(indptr.shape[0] - 1):
        for k in range(indptr[row] + 1, indptr[row + 1]):
            if indices[k] == indices[k - 1]:
                return True
    return False


@njit(cache=True)
def _row_axons(indptr, indices, post_off, node_core, stamp, slot, fill, ax_core, ax_count, row_ptr):
    """Axons of one projection: one per (source row, target core). Returns their number.

    With ``fill``, writes each axon's core and synapse count, and ``row_ptr`` (axons of
    row ``r`` are ``row_ptr[r]:row_ptr[r+1]``, in order of their first target)."""
    stamp[:] = -1
    n = 0
    for row in range(indptr.shape[0] - 1):
        for k in range(indptr[row], indptr[row + 1]):
            c = node_core[post_off + indices[k]]
            if stamp[c] != row:
                stamp[c] = row
                slot[c] = n
                if fill:
                    ax_core[n] = c
                    ax_count[n] = 0
                n += 1
            if fill:
                ax_count[slot[c]] += 1
        if fill:
            row_ptr[row + 1] = n
    return n


@njit(cache=True)
def _atom_edges(indptr, indices, pre_off, post_off, atom_of, fill, e_a, e_b, e_w, n0, stamp, acc, seen):
    """Directed atom edges of one projection: (pre atom, post atom, distinct
    (source neuron, post atom) pairs). Returns the new edge count (from ``n0``)."""
    n = n0
    n_pre = indptr.shape[0] - 1
    row = 0
    while row < n_pre:
        a = atom_of[pre_off + row]
        m = 0
        r = row
        while r < n_pre and atom_of[pre_off + r] == a:
            for k in range(indptr[r], indptr[r + 1]):
                b = atom_of[post_off + indices[k]]
                if b == a or stamp[b] == pre_off + r:
                    continue
                stamp[b] = pre_off + r
                if acc[b] == 0:
                    seen[m] = b
                    m += 1
                acc[b] += 1
            r += 1
        for i in range(m):
            b = seen[i]
            if fill:
                e_a[n] = a
                e_b[n] = b
                e_w[n] = acc[b]
            acc[b] = 0
            n += 1
        row = r
    return n


# =========================================================================== the problem


@dataclass(eq=False)
class _Problem:
    """Everything the kernels need, built once per call (plain numpy)."""

    qnet: QuantizedNetwork
    chip: object
    pops: list[str]
    pop_input: np.ndarray  # bool [n_pops]
    pop_first: np.ndarray  # int64 [n_pops]
    pop_size: np.ndarray  # int64 [n_pops]
    projs: list[QProjection]
    proj_pre: np.ndarray  # int64
    proj_post: np.ndarray  # int64
    key_base: np.ndarray  # int64 [n_proj]
    n_nodes: int
    n_keys: int
    res_names: list[str]  # the chip's resources, in kernel order
    res_index: list[int]  # kernel slot of each chip resource
    proc_kinds: list[str]
    pack_bits: list[tuple[int, int]]  # per projection: (weight bits for packing, count multiplier)
    delay_bits: list[int]
    relay_weight_bits: int
    g: _Static
    max_indeg: int
    n_sets: int
    n_opts: int
    epoch: int = 0  # stamps in the scratch arrays are epochs: each core gets a fresh one

    def fresh_epochs(self, n: int) -> int:
        """Reserve ``n`` epochs no stamp has used; returns the first."""
        first = self.epoch
        self.epoch += n
        return first

    @property
    def neurons_limit(self) -> int:
        return int(self.chip.core.neurons)


def _packing_weight_bits(chip, qp: QProjection, pre_is_input: bool, where: str, span) -> tuple[int, int]:
    """Weight width to hand the packing rule, and how many stored weights one synapse takes.

    An input layer's wider weights (``numerics.weights.input_layer_bits``, Akida) are
    counted as several weights of the widest regular width."""
    bits = chip.numerics.weights
    if qp.weight_bits <= bits.max_bits:
        return int(qp.weight_bits), 1
    if pre_is_input and bits.input_layer_bits is not None and qp.weight_bits <= bits.input_layer_bits:
        return bits.max_bits, -(-int(qp.weight_bits) // bits.max_bits)
    raise QuantizationError(f"{where} has {qp.weight_bits}-bit weights, but {chip.name} stores at most "
                            f"{bits.max_bits} bits per weight", span=span, where=where,
                            hint="quantize the network for this chip (neurocomp.compiler.quantize)")


def _proj_span(qnet: QuantizedNetwork, name: str):
    try:
        return qnet.network.projection(name).span
    except KeyError:
        return None


def check_delays(qnet: QuantizedNetwork, chip) -> None:
    """Raise :class:`QuantizationError` for a synaptic delay the chip cannot hold.

    A chip delays a spike by ``min_steps .. max_steps`` steps counting the one-step
    transit (``chip.numerics.delay``); a synapse's extra delay ``d`` takes ``d + 1``.
    """
    rng = chip.numerics.delay
    lo, hi = rng.min_steps - 1, rng.max_steps - 1
    for qp in qnet.projections.values():
        syn = qp.synapses
        if syn.n_synapses == 0:
            continue
        if syn.delays is None:  # one delay for all: no need to spell it out per synapse
            d_min = d_max = int(syn.delay)
        else:
            d_min, d_max = int(syn.delays.min()), int(syn.delays.max())
        if d_min >= lo and d_max <= hi:
            continue
        bad = d_max if d_max > hi else d_min
        where = f"projection '{qp.name}'"
        raise QuantizationError(
            f"{where} has a delay of {bad:,} steps; {chip.name} delays a spike by {lo}..{hi} extra "
            f"steps (numerics.delay: {rng.min_steps}..{rng.max_steps} steps, counting the one-step transit)",
            span=_proj_span(qnet, qp.name), where=where,
            hint=f"use delays between {lo} and {hi} steps, or a chip with longer delays")


def _processor_masks(qnet: QuantizedNetwork, chip, pops: list[str]) -> tuple[list[str], np.ndarray]:
    """Processor kinds of the chip, and per population the bitmask of those that run
    every layer kind feeding it (all ones on chips without processor kinds)."""
    conn = chip.connectivity
    kinds = sorted({k for group in conn.processors for k in group.kinds})
    masks = np.full(len(pops), -1, dtype=np.int64)
    if not kinds:
        return [], masks
    index = {p: i for i, p in enumerate(pops)}
    needs: dict[str, set[str]] = {p: set() for p in pops}
    for proj in qnet.network.projections:
        kind = LAYER_KINDS.get(type(proj.connector), "dense")
        needs[proj.post].add(kind)
    for pop, wanted in needs.items():
        mask = 0
        for bit, kind in enumerate(kinds):
            if wanted <= set(conn.layer_kinds.get(kind, ())):
                mask |= 1 << bit
        masks[index[pop]] = mask
    return kinds, masks


def _tables(chip, neurons_limit: int, spec: list[tuple[int, int, int, int, bool]]):
    """Per projection, bits per axon by synapse count for the dense format (column 0) and
    every sparse index width (columns 1..): ``tab[o * L + c]``.

    ``spec`` rows: (weight bits, multiplier, delay bits, longest count, dense allowed).
    A packing rule's cost may depend on ``index_range`` only through its bit width, so
    sparse columns are computed for ranges 1, 2, 4, ... up to the core's neuron count.
    """
    widths = max(1, math.ceil(math.log2(max(neurons_limit, 1)))) + 1
    ranges = [None] + [1 << w for w in range(widths)]
    cache: dict[tuple, np.ndarray] = {}

    def column(wbits, mult, dbits, L, index_range):
        key = (wbits, mult, dbits, L, index_range)
        if key not in cache:
            cache[key] = np.array([synapse_memory_bits(chip, [c * mult], weight_bits=wbits, delay_bits=dbits,
                                                       index_range=index_range) for c in range(L + 1)],
                                  dtype=np.int64)
        return cache[key]

    per_proj = [[column(wbits, mult, dbits, L, r) for r in ranges] for wbits, mult, dbits, L, _dense in spec]
    # Index widths that cost the same for every projection share one column (Loihi's
    # narrowest index is 6 bits: ranges 1..64 all cost alike).
    signature = [tuple(cols[o].tobytes() for cols in per_proj) for o in range(len(ranges))]
    keep: list[int] = []
    column_of = np.zeros(len(ranges), dtype=np.int64)
    for o, sig in enumerate(signature):
        match = next((k for k, kept in enumerate(keep) if signature[kept] == sig and o > 0 and kept > 0), None)
        if match is None:
            keep.append(o)
            match = len(keep) - 1
        column_of[o] = match
    tabs, offs, lens = [], [], []
    off = 0
    for cols, (_w, _m, _d, L, _dense) in zip(per_proj, spec):
        tabs.append(np.concatenate([cols[o] for o in keep]))
        offs.append(off)
        lens.append(L + 1)
        off += (L + 1) * len(keep)
    n = np.arange(neurons_limit + 2, dtype=np.int64)
    need = np.zeros_like(n)
    need[2:] = np.ceil(np.log2(n[2:])).astype(np.int64)
    opt_of_n = column_of[1 + np.minimum(need, widths - 1)]
    tab = np.concatenate(tabs) if tabs else np.zeros(1, dtype=np.int64)
    return tab, np.array(offs, dtype=np.int64), np.array(lens, dtype=np.int64), len(keep), opt_of_n


def _set_ids(columns: list[np.ndarray], valid: np.ndarray, offset: int) -> tuple[np.ndarray, int]:
    """Ids of distinct rows of ``columns`` (where ``valid``), starting at ``offset``; -1 elsewhere."""
    n = valid.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    if not columns or not valid.any():
        return out, 0
    stacked = np.stack([c[valid] for c in columns], axis=1)
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = np.asarray(inverse, dtype=np.int64).reshape(-1)
    out[valid] = inverse + offset
    return out, int(inverse.max()) + 1 if inverse.size else 0


def _build(qnet: QuantizedNetwork, chip) -> _Problem:
    net = qnet.network
    pops = list(net.populations)
    index = {p: i for i, p in enumerate(pops)}
    pop_input = np.array([net.populations[p].is_input for p in pops], dtype=np.bool_)
    pop_size = np.array([net.populations[p].size for p in pops], dtype=np.int64)
    pop_first = np.zeros(len(pops), dtype=np.int64)
    if len(pops) > 1:
        np.cumsum(pop_size[:-1], out=pop_first[1:])
    n_nodes = int(pop_size.sum())
    node_pop = np.repeat(np.arange(len(pops), dtype=np.int32), pop_size)

    projs = [qnet.projections[p.name] for p in net.projections if p.name in qnet.projections]
    proj_pre = np.array([index[q.pre] for q in projs], dtype=np.int64)
    proj_post = np.array([index[q.post] for q in projs], dtype=np.int64)
    key_base = np.zeros(len(projs), dtype=np.int64)
    n_pre = np.array([q.synapses.n_pre for q in projs], dtype=np.int64)
    if len(projs) > 1:
        np.cumsum(n_pre[:-1], out=key_base[1:])
    n_keys = int(n_pre.sum())
    key_proj = np.repeat(np.arange(len(projs), dtype=np.int32), n_pre)

    # In-synapses by target node (counting sort; one pass to count, one to fill).
    counts = np.zeros(n_nodes, dtype=np.int64)
    for q, post in zip(projs, proj_post):
        _csc_count(q.synapses.indptr, q.synapses.indices, pop_first[post], counts)
    csc_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=csc_ptr[1:])
    max_indeg = int(counts.max()) if n_nodes else 0
    del counts
    # Keys are int32 when they fit (half the memory of the largest array built here).
    csc_key = np.empty(int(csc_ptr[-1]), dtype=np.int32 if n_keys < 2**31 else np.int64)
    cursor = csc_ptr[:-1].copy()
    for q, post, base in zip(projs, proj_post, key_base):
        _csc_fill(q.synapses.indptr, q.synapses.indices, pop_first[post], base, cursor, csc_key)
    del cursor

    pop_in = [[i for i, post in enumerate(proj_post) if post == q] for q in range(len(pops))]
    pop_in_ptr = np.zeros(len(pops) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in pop_in], out=pop_in_ptr[1:])
    pop_in_proj = np.array([i for x in pop_in for i in x], dtype=np.int64)

    # Synapse memory tables.
    neurons_limit = int(chip.core.neurons)
    spec, pack_bits, delay_bits, dense_ok = [], [], [], []
    for q, pre in zip(projs, proj_pre):
        where = f"projection '{q.name}'"
        wbits, mult = _packing_weight_bits(chip, q, bool(pop_input[pre]), where, _proj_span(qnet, q.name))
        syn = q.synapses
        dbits = int(syn.max_delay).bit_length() if syn.n_synapses else 0
        rows = np.diff(syn.indptr)
        longest = int(rows.max()) if rows.size else 0
        dup = bool(_has_duplicates(syn.indptr, syn.indices)) if syn.n_synapses else False
        L = longest if dup else min(longest, neurons_limit)
        spec.append((wbits, mult, dbits, max(L, 1), not dup))
        pack_bits.append((wbits, mult))
        delay_bits.append(dbits)
        dense_ok.append(not dup)
    tab, tab_off, tab_len, n_opts, opt_of_n = _tables(chip, neurons_limit, spec)

    # Registers: parameter sets per neuron kind, synapse formats per projection kind.
    family = qnet.family
    res_names = list(chip.limits())
    base_names = [r for r in RESOURCES]
    reg_names = [r for r in res_names if r.startswith("config_registers.")]
    limits = np.full(len(RESOURCES) + len(reg_names), _NO_LIMIT, dtype=np.int64)
    chip_limits = chip.limits()
    for i, r in enumerate(base_names):
        if r in chip_limits:
            limits[i] = chip_limits[r]
    for i, r in enumerate(reg_names):
        limits[len(RESOURCES) + i] = chip_limits[r]
    res_index = [base_names.index(r) if r in base_names else len(RESOURCES) + reg_names.index(r)
                 for r in res_names]

    neuron_kinds = NEURON_REGISTERS.get(family, {})
    valid = ~pop_input[node_pop] if n_nodes else np.zeros(0, dtype=np.bool_)
    node_cols, reg_node, n_sets = [], [], 0
    for r, name in enumerate(reg_names):
        kind = name.split(".", 1)[1]
        keys = neuron_kinds.get(kind)
        if not keys:
            continue
        columns = []
        for key in keys:
            col = np.zeros(n_nodes, dtype=np.int64)
            present = False
            for q, pop in enumerate(pops):
                qp = qnet.populations.get(pop)
                if qp is None or pop_input[q] or key not in qp.params:
                    continue
                vals = np.asarray(qp.params[key]).reshape(pop_size[q], -1)
                col[pop_first[q]:pop_first[q] + pop_size[q]] = vals[:, 0] if vals.shape[1] else 0
                present = True
            if present:
                columns.append(col)
        ids, n = _set_ids(columns, valid, n_sets)
        node_cols.append(ids)
        reg_node.append(r)
        n_sets += n
    node_sets = np.stack(node_cols, axis=1) if node_cols else np.zeros((n_nodes, 0), dtype=np.int64)

    syn_kinds = SYNAPSE_REGISTERS.get(family, ())
    proj_cols, reg_proj = [], []
    for r, name in enumerate(reg_names):
        if name.split(".", 1)[1] not in syn_kinds or not projs:
            continue
        fmt = [(q.weight_bits, q.weight_exp, q.sign_mode, d) for q, d in zip(projs, delay_bits)]
        distinct = {f: i for i, f in enumerate(dict.fromkeys(fmt))}
        proj_cols.append(np.array([distinct[f] + n_sets for f in fmt], dtype=np.int64))
        reg_proj.append(r)
        n_sets += len(distinct)
    proj_sets = np.stack(proj_cols, axis=1) if proj_cols else np.zeros((len(projs), 0), dtype=np.int64)

    # Activation bits of each axon's source (Akida's input SRAM).
    key_bits = np.zeros(n_keys, dtype=np.int64)
    if chip.core.sram is not None:
        acts = chip.numerics.activations
        input_bits = max(acts.input_bits) if acts is not None and acts.input_bits else 8
        for i, q in enumerate(projs):
            pre = proj_pre[i]
            seg = slice(key_base[i], key_base[i] + q.synapses.n_pre)
            qp = qnet.populations.get(pops[pre])
            if pop_input[pre] or qp is None or "act_bits" not in qp.params:
                key_bits[seg] = input_bits if pop_input[pre] else (max(acts.bits) if acts else 1)
            else:
                key_bits[seg] = np.asarray(qp.params["act_bits"], dtype=np.int64).reshape(-1)

    proc_kinds, pop_mask = _processor_masks(qnet, chip, pops)
    for q, pop in enumerate(pops):
        if not pop_input[q] and pop_size[q] and pop_mask[q] == 0:
            p = net.populations[pop]
            raise CapacityError(f"population '{pop}' is fed by layers ({_layer_kinds(qnet, pop)}) that no "
                                f"processor kind of {chip.name} runs ({', '.join(proc_kinds)})",
                                span=p.span, where=f"population '{pop}'",
                                hint="feed it with one kind of layer (conv or dense)")

    relay_wbits = min(chip.numerics.weights.bits)
    relay_tab = np.zeros(1, dtype=np.int64)
    if chip.connectivity.destinations_per_neuron is not None:
        relay_tab = np.array([synapse_memory_bits(chip, [k], weight_bits=relay_wbits, delay_bits=0,
                                                  index_range=neurons_limit)
                              for k in range(neurons_limit + 1)], dtype=np.int64)

    g = _Static(csc_ptr=csc_ptr, csc_key=csc_key, key_proj=key_proj, key_bits=key_bits, node_pop=node_pop,
                pop_in_ptr=pop_in_ptr, pop_in_proj=pop_in_proj, proj_post=proj_post,
                proj_dense=np.array(dense_ok, dtype=np.int8), tab=tab, tab_off=tab_off, tab_len=tab_len,
                opt_of_n=opt_of_n, node_sets=node_sets, proj_sets=proj_sets,
                reg_node=np.array(reg_node, dtype=np.int64), reg_proj=np.array(reg_proj, dtype=np.int64),
                pop_mask=pop_mask, limits=limits,
                routes_est=np.zeros(n_nodes, dtype=np.int64), relay_est=np.zeros(n_nodes, dtype=np.int64),
                relay_tab=relay_tab)
    return _Problem(qnet=qnet, chip=chip, pops=pops, pop_input=pop_input, pop_first=pop_first,
                    pop_size=pop_size, projs=projs, proj_pre=proj_pre, proj_post=proj_post, key_base=key_base,
                    n_nodes=n_nodes, n_keys=n_keys, res_names=res_names, res_index=res_index,
                    proc_kinds=proc_kinds, pack_bits=pack_bits, delay_bits=delay_bits,
                    relay_weight_bits=relay_wbits, g=g, max_indeg=max_indeg, n_sets=n_sets,
                    n_opts=n_opts)


def _layer_kinds(qnet: QuantizedNetwork, pop: str) -> str:
    kinds = sorted({LAYER_KINDS.get(type(p.connector), "dense") for p in qnet.network.projections
                    if p.post == pop})
    return ", ".join(kinds)


def _scratch(prob: _Problem) -> _Scratch:
    g = prob.g
    n_proj = len(prob.projs)
    n_opts = prob.n_opts
    n_regs = g.limits.shape[0] - len(RESOURCES)
    return _Scratch(
        key_stamp=np.full(prob.n_keys, -1, dtype=np.int64), key_cnt=np.zeros(prob.n_keys, dtype=np.int64),
        set_stamp=np.full(max(prob.n_sets, 1), -1, dtype=np.int64),
        proj_stamp=np.full(n_proj, -1, dtype=np.int64), pop_stamp=np.full(len(prob.pops), -1, dtype=np.int64),
        S=np.zeros((n_proj, n_opts), dtype=np.int64), naxons=np.zeros(n_proj, dtype=np.int64),
        full=np.zeros(n_proj, dtype=np.int64), touch=np.zeros(n_proj, dtype=np.int64),
        pop_n=np.zeros(len(prob.pops), dtype=np.int64), core_projs=np.zeros(n_proj, dtype=np.int64),
        scal=np.zeros(8 + n_regs, dtype=np.int64), snap=np.zeros(8 + n_regs, dtype=np.int64),
        log_key=np.zeros(max(prob.max_indeg, 1), dtype=np.int64),
        log_old=np.zeros(max(prob.max_indeg, 1), dtype=np.int64),
        log_proj=np.zeros(max(n_proj, 1), dtype=np.int64),
        log_set=np.zeros(g.node_sets.shape[1] + n_proj * g.proj_sets.shape[1] + 1, dtype=np.int64),
        log_full=np.zeros(max(n_proj, 1), dtype=np.int64),
        usage=np.zeros(len(RESOURCES) + n_regs, dtype=np.int64))


# =========================================================================== measuring


@dataclass(eq=False)
class _Measure:
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


def _measure(prob: _Problem, node_core: np.ndarray, n_cores: int) -> _Measure:
    chip = prob.chip
    g = prob.g
    neurons = ~prob.pop_input[g.node_pop] if prob.n_nodes else np.zeros(0, dtype=np.bool_)
    stamp = np.empty(max(n_cores, 1), dtype=np.int64)
    slot = np.empty(max(n_cores, 1), dtype=np.int64)
    parts = []
    for i, q in enumerate(prob.projs):
        syn = q.synapses
        post_off = prob.pop_first[prob.proj_post[i]]
        n = _row_axons(syn.indptr, syn.indices, post_off, node_core, stamp, slot, False,
                       np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))
        ax_core = np.empty(n, dtype=np.int32)
        ax_count = np.empty(n, dtype=np.int64)
        row_ptr = np.zeros(syn.n_pre + 1, dtype=np.int64)
        _row_axons(syn.indptr, syn.indices, post_off, node_core, stamp, slot, True, ax_core, ax_count, row_ptr)
        ax_pre = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(row_ptr))
        parts.append((np.full(n, i, dtype=np.int32), ax_pre, ax_core, ax_count))
    if parts:
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
    usage[:, _NEUR] = np.bincount(nc, minlength=n_cores) + np.bincount(nc, weights=relay_count[neurons],
                                                                        minlength=n_cores).astype(np.int64)
    usage[:, _AXIN] = np.bincount(axon_core, minlength=n_cores) + np.bincount(
        nc, weights=(relay_count[neurons] > 0), minlength=n_cores).astype(np.int64)
    usage[:, _AXOUT] = np.bincount(nc, weights=route_cost[neurons], minlength=n_cores).astype(np.int64)

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
        order = np.argsort(cores, kind="stable")
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
        comp_here = usage[:, _NEUR]
        for c in np.unique(node_core[relaying]).tolist():
            ks = relay_count[relaying[node_core[relaying] == c]]
            mem[c] += synapse_memory_bits(chip, ks, weight_bits=prob.relay_weight_bits, delay_bits=0,
                                          index_range=int(min(max(comp_here[c], 1), prob.neurons_limit)))
    usage[:, _MEM] = mem
    usage[:, _WB] = (mem + 7) // 8
    if chip.core.sram is not None:
        bits = np.bincount(axon_core, weights=g.key_bits[prob.key_base[axon_proj] + axon_pre],
                           minlength=n_cores).astype(np.int64) if axon_proj.size else np.zeros(n_cores, np.int64)
        usage[:, _INB] = (bits + 7) // 8

    # Registers: distinct parameter sets (neurons) and synapse formats (projections).
    for col, r in enumerate(g.reg_node.tolist()):
        ids = g.node_sets[neurons, col]
        ok = ids >= 0
        pairs = np.unique(nc[ok] * max(prob.n_sets, 1) + ids[ok])
        usage[:, len(RESOURCES) + r] += np.bincount(pairs // max(prob.n_sets, 1), minlength=n_cores)
    if g.reg_proj.size and present:
        pc = np.array(present, dtype=np.int64)
        for col, r in enumerate(g.reg_proj.tolist()):
            pairs = np.unique(pc[:, 0] * max(prob.n_sets, 1) + g.proj_sets[pc[:, 1], col])
            usage[:, len(RESOURCES) + r] += np.bincount(pairs // max(prob.n_sets, 1), minlength=n_cores)

    # Traffic between cores: every route of a neuron (or of its relays) is one packet.
    from_neuron = ~prob.pop_input[prob.proj_pre[axon_proj]] if axon_proj.size else np.zeros(0, np.bool_)
    a = node_core[src_node[from_neuron]].astype(np.int64)
    b = axon_core[from_neuron].astype(np.int64)
    relaying = np.flatnonzero(relay_count > 0)
    if relaying.size:  # the neuron's own route to its splitter axon
        a = np.concatenate([a, node_core[relaying].astype(np.int64)])
        b = np.concatenate([b, node_core[relaying].astype(np.int64)])
    pair, cnt = np.unique(a * max(n_cores, 1) + b, return_counts=True)
    return _Measure(n_cores=n_cores, usage=usage, axon_proj=axon_proj, axon_pre=axon_pre, axon_core=axon_core,
                    axon_count=axon_count, routes=routes, relay_count=relay_count,
                    route_cost=route_cost.astype(np.int64),
                    traffic_src=(pair // max(n_cores, 1)).astype(np.int32),
                    traffic_dst=(pair % max(n_cores, 1)).astype(np.int32),
                    traffic_routes=cnt.astype(np.int64))


# =========================================================================== strategies


class _Cut(NamedTuple):
    n_cores: int
    node_core: np.ndarray
    fail_at: int  # node (or population, for whole) that did not fit alone; -1
    fail_code: int


def _neuron_order(prob: _Problem) -> np.ndarray:
    keep = ~prob.pop_input[prob.g.node_pop]
    return np.flatnonzero(keep).astype(np.int64)


def _sequential(prob: _Problem, s: _Scratch, epoch: int, atom_size: int | None) -> _Cut:
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    n, j, code = _pack_sequential(prob.g, s, _neuron_order(prob), node_core, epoch)
    return _Cut(int(n), node_core, int(j), int(code))


def _atoms(prob: _Problem, atom_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts, stops = [], []
    for q in range(len(prob.pops)):
        if prob.pop_input[q] or prob.pop_size[q] == 0:
            continue
        lo = int(prob.pop_first[q])
        size = int(prob.pop_size[q])
        s = np.arange(lo, lo + size, atom_size, dtype=np.int64)
        starts.append(s)
        stops.append(np.minimum(s + atom_size, lo + size))
    start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    stop = np.concatenate(stops) if stops else np.zeros(0, dtype=np.int64)
    atom_of = np.full(prob.n_nodes, -1, dtype=np.int64)
    atom_of[np.flatnonzero(~prob.pop_input[prob.g.node_pop])] = np.repeat(
        np.arange(start.size, dtype=np.int64), stop - start)
    return start, stop, atom_of


def _atom_graph(prob: _Problem, atom_of: np.ndarray, n_atoms: int):
    """Symmetric atom adjacency (CSR) weighted by expected packets between atoms."""
    stamp = np.full(max(n_atoms, 1), -1, dtype=np.int64)
    acc = np.zeros(max(n_atoms, 1), dtype=np.int64)
    seen = np.zeros(max(n_atoms, 1), dtype=np.int64)
    edges = []
    for i, q in enumerate(prob.projs):
        pre, post = prob.proj_pre[i], prob.proj_post[i]
        if prob.pop_input[pre]:
            continue  # inputs come from off-chip: no traffic between cores
        syn = q.synapses
        args = (syn.indptr, syn.indices, prob.pop_first[pre], prob.pop_first[post], atom_of)
        empty = np.zeros(0, dtype=np.int64)
        n = _atom_edges(*args, False, empty, empty, empty, 0, stamp, acc, seen)
        ea = np.empty(n, dtype=np.int64)
        eb = np.empty(n, dtype=np.int64)
        ew = np.empty(n, dtype=np.int64)
        stamp[:] = -1
        _atom_edges(*args, True, ea, eb, ew, 0, stamp, acc, seen)
        stamp[:] = -1
        edges.append((ea, eb, ew))
    if edges:
        ea = np.concatenate([e[0] for e in edges] + [e[1] for e in edges])
        eb = np.concatenate([e[1] for e in edges] + [e[0] for e in edges])
        ew = np.concatenate([e[2] for e in edges] * 2)
    else:
        ea = eb = ew = np.zeros(0, dtype=np.int64)
    key, inverse = np.unique(ea * max(n_atoms, 1) + eb, return_inverse=True)
    weight = np.bincount(np.asarray(inverse).reshape(-1), weights=ew, minlength=key.size).astype(np.int64)
    src = key // max(n_atoms, 1)
    ptr = np.zeros(n_atoms + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_atoms), out=ptr[1:])
    return ptr, (key % max(n_atoms, 1)).astype(np.int64), weight


def _greedy(prob: _Problem, s: _Scratch, epoch: int, atom_size: int | None) -> _Cut:
    n_neurons = int(prob.pop_size[~prob.pop_input].sum())
    size = atom_size or max(1, -(-n_neurons // GREEDY_ATOMS))
    start, stop, atom_of = _atoms(prob, size)
    ptr, nbr, w = _atom_graph(prob, atom_of, start.size)
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    n, j, code = _pack_greedy(prob.g, s, start, stop, ptr, nbr, w, node_core, epoch, 8)
    return _Cut(int(n), node_core, int(j), int(code))


def _bfs(prob: _Problem, s: _Scratch, epoch: int, atom_size: int | None) -> _Cut:
    n_neurons = int(prob.pop_size[~prob.pop_input].sum())
    size = atom_size or max(1, -(-n_neurons // GREEDY_ATOMS))
    start, stop, atom_of = _atoms(prob, size)
    ptr, nbr, w = _atom_graph(prob, atom_of, start.size)
    degree = np.diff(ptr)
    by_degree = np.argsort(degree, kind="stable").astype(np.int64)
    atoms = _cuthill_mckee(ptr, nbr, by_degree, degree)
    lengths = (stop - start)[atoms]
    # Nodes of the atoms in that order (each atom's neurons stay in ascending order).
    offsets = np.repeat(start[atoms] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    order = (np.arange(int(lengths.sum()), dtype=np.int64) + offsets).astype(np.int64)
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    n, j, code = _pack_sequential(prob.g, s, order, node_core, epoch)
    return _Cut(int(n), node_core, int(j), int(code))


#: Partition strategies: ``(problem, scratch, first epoch, atom size) -> cut``.
PARTITIONERS: dict[str, Callable[..., _Cut]] = {"sequential": _sequential, "bfs": _bfs, "greedy": _greedy}


# =========================================================================== driver


def partition(qnet: QuantizedNetwork, chip=None, *, strategy: str = "auto", allow_split: bool = True,
              atom_size: int | None = None, max_passes: int = 12) -> Partition:
    """Cut ``qnet`` into logical cores that each fit one core of ``chip``.

    Parameters
    ----------
    qnet
        The quantized network (its projections' synapses are read, never changed).
    chip
        The chip (default ``qnet.chip``); only per-core limits matter here.
    strategy
        ``"auto"``, or a key of :data:`PARTITIONERS` (``"sequential"``, ``"bfs"``, ``"greedy"``).
    allow_split
        ``False`` keeps every population on one core (several may still share one).
    atom_size
        Neurons per atom for ``bfs`` and ``greedy`` (default: neurons / :data:`GREEDY_ATOMS`,
        at least 1).
    max_passes
        How many times a cut may be redone for fan-out and relays (see the module docstring).

    Returns
    -------
    Partition
        Logical cores with their slices and exact usage, the axons between them, the
        traffic they exchange, and how many relays each neuron needs.

    Raises
    ------
    CapacityError
        A single neuron (or, without splitting, a population) exceeds a per-core limit;
        the message names the population (with its line), the limit and both numbers.
    QuantizationError
        A delay or weight width the chip cannot hold.
    """
    chip = qnet.chip if chip is None else chip
    if strategy != "auto" and strategy not in PARTITIONERS:
        raise UsageError(f"no partition strategy '{strategy}'",
                         hint=did_you_mean(strategy, ["auto", *PARTITIONERS]))
    check_delays(qnet, chip)
    prob = _build(qnet, chip)
    s = _scratch(prob)
    n_syn = sum(q.synapses.n_synapses for q in prob.projs)
    if not allow_split:
        cut, m, passes = _run(prob, s, "whole", atom_size, max_passes)
        return _result(prob, cut, m, passes, "whole populations", None)
    if strategy == "auto":
        names = ["sequential"]
        notes = []
        if n_syn <= AUTO_GRAPH_MAX_SYNAPSES:
            names.append("bfs")
        else:
            notes.append(f"graph partitioning skipped above {AUTO_GRAPH_MAX_SYNAPSES:,} synapses ({n_syn:,} here)")
        if n_syn <= AUTO_GREEDY_MAX_SYNAPSES:
            names.append("greedy")
        runs = [(name, *_run(prob, s, name, atom_size, max_passes)) for name in names]
        # Fewest cores, then fewest routes leaving their core; ties keep the earlier
        # (simpler) strategy, so a graph strategy is kept only when it does better.
        best = min(range(len(runs)), key=lambda i: (runs[i][1].n_cores, runs[i][2].cut_routes, i))
        name, cut, m, passes = runs[best]
        tried = tuple((n, c.n_cores, mm.cut_routes) for n, c, mm, _ in runs)
        others = [r for r in tried if r[0] != name]
        baseline = next((r for r in others if r[0] == "sequential"), None) or \
            (min(others, key=lambda r: (r[1], r[2])) if others else None)
        return _result(prob, cut, m, passes, name, baseline, notes=tuple(notes), tried=tried)
    cut, m, passes = _run(prob, s, strategy, atom_size, max_passes)
    return _result(prob, cut, m, passes, strategy, None)


def _initial_estimates(prob: _Problem) -> None:
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


def _upper_estimates(prob: _Problem) -> tuple[np.ndarray, np.ndarray]:
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


def _run(prob: _Problem, s: _Scratch, strategy: str, atom_size, max_passes: int):
    """Cut, measure, and cut again with the measured fan-out and relays until it fits."""
    _initial_estimates(prob)
    g = prob.g
    # Relays and fan-out are reserved from estimates; everything else the packer counts
    # exactly (or, for the packed-weights rule, from above).
    estimated = [_AXOUT]
    if prob.chip.connectivity.destinations_per_neuron is not None:
        estimated += [_NEUR, _AXIN, _MEM, _WB]
    for passes in range(1, max_passes + 1):
        epoch = prob.fresh_epochs(prob.n_nodes + 2)
        if strategy == "whole":
            node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
            n, q, code = _pack_whole(g, s, prob.pop_first, np.where(prob.pop_input, 0, prob.pop_size),
                                     node_core, epoch)
            cut = _Cut(int(n), node_core, int(q), int(code))
            if cut.fail_at >= 0:
                raise _population_error(prob, s, cut.fail_at, cut.fail_code)
        else:
            cut = PARTITIONERS[strategy](prob, s, epoch, atom_size)
            if cut.fail_at >= 0:
                raise _neuron_error(prob, s, cut.fail_at, cut.fail_code)
        m = _measure(prob, cut.node_core, cut.n_cores)
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
            cap = np.minimum(upper_routes[hit], g.limits[_AXOUT])
            g.routes_est[hit] = np.maximum(g.routes_est[hit], np.minimum(2 * m.route_cost[hit], cap))
            cap = np.minimum(upper_relays[hit], g.limits[_NEUR] - 1)
            g.relay_est[hit] = np.maximum(g.relay_est[hit], np.minimum(2 * m.relay_count[hit], cap))
    worst = int(np.argmax(over.any(axis=1)))
    bad = int(np.flatnonzero(over[worst])[0])
    name = RESOURCES[bad]
    raise CapacityError(f"core {worst} still needs {resource_phrase(name, int(m.usage[worst, bad]))} "
                        f"after {max_passes} partition passes, limit {int(g.limits[bad]):,} on {prob.chip.name}",
                        hint="reduce the fan-out of the populations on it")


def _single_usage(prob: _Problem, s: _Scratch, nodes: range | list[int]) -> np.ndarray:
    epoch = prob.fresh_epochs(1)
    _reset(s)
    for j in nodes:
        _add(prob.g, s, j, epoch, False)
    _usage(prob.g, s)
    return s.usage.copy()


def _limit_name(prob: _Problem, code: int) -> str | None:
    slot = code - 1
    if slot >= prob.g.limits.shape[0]:
        return None
    if slot < len(RESOURCES):
        return RESOURCES[slot]
    regs = [r for r in prob.res_names if r.startswith("config_registers.")]
    return regs[slot - len(RESOURCES)]


def _neuron_error(prob: _Problem, s: _Scratch, j: int, code: int) -> CapacityError:
    q = int(prob.g.node_pop[j])
    pop = prob.pops[q]
    p = prob.qnet.network.populations[pop]
    where = f"population '{pop}'"
    resource = _limit_name(prob, code)
    if resource is None:
        return CapacityError(f"{where} has a neuron that no processor kind of {prob.chip.name} can run",
                             span=p.span, where=where)
    usage = _single_usage(prob, s, [j])
    slot = code - 1
    value, limit = int(usage[slot]), int(prob.g.limits[slot])
    hint = _REDUCE.get(resource, "reduce what the population needs")
    if resource == "axons_in" and prob.chip.core.crossbar is not None:
        hint = ("reduce fan-in: partial-sum neurons, which would spread one neuron's inputs over "
                "several cores, are not supported yet")
    elif resource == "axons_in":
        hint = "reduce fan-in (partial-sum neurons are not supported yet)"
    msg = (f"{where} needs {resource_phrase(resource, value)} on one core for a single neuron "
           f"(neuron {j - int(prob.pop_first[q]):,}), limit {limit:,} on {prob.chip.name}")
    return CapacityError([Diagnostic(msg, span=p.span, where=where, hint=hint)])


def _population_error(prob: _Problem, s: _Scratch, q: int, code: int) -> CapacityError:
    pop = prob.pops[q]
    p = prob.qnet.network.populations[pop]
    where = f"population '{pop}'"
    resource = _limit_name(prob, code)
    if resource is None:
        return CapacityError(f"{where} needs a processor kind {prob.chip.name} does not have", span=p.span,
                             where=where)
    lo = int(prob.pop_first[q])
    usage = _single_usage(prob, s, range(lo, lo + int(prob.pop_size[q])))
    slot = code - 1
    value, limit = int(usage[slot]), int(prob.g.limits[slot])
    reduce = _REDUCE.get(resource, "reduce what it needs").replace("reduce its fan-out (each relay takes a "
                                                                  "compartment)", "reduce its size")
    if resource == "neurons":
        reduce = "reduce its size"
    msg = f"{where} needs {resource_phrase(resource, value)} on one core, limit {limit:,} on {prob.chip.name}"
    return CapacityError([Diagnostic(msg, span=p.span, where=where,
                                     hint=f"allow splitting, add chips with --chips, or {reduce}")])


def _result(prob: _Problem, cut: _Cut, m: _Measure, passes: int, strategy: str, baseline,
            notes=(), tried=()) -> Partition:
    g = prob.g
    neurons = np.flatnonzero(~prob.pop_input[g.node_pop]) if prob.n_nodes else np.zeros(0, dtype=np.int64)
    node_core = cut.node_core
    order = neurons[np.argsort(node_core[neurons], kind="stable")]
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
    for a, b in zip(run_start.tolist(), run_stop.tolist()):
        node = int(order[a])
        q = int(g.node_pop[node])
        lo = node - int(prob.pop_first[q])
        slices[int(cores_sorted[a])].append(CoreSlice(population=prob.pops[q], start=lo, stop=lo + b - a))
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


def _core_masks(prob: _Problem, node_core: np.ndarray, neurons: np.ndarray, n_cores: int) -> np.ndarray:
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


def population_usage(qnet: QuantizedNetwork, chip=None) -> dict[str, dict[str, int]]:
    """What each population would use as one block on one core (limits not enforced).

    This is the per-block usage that nengo-loihi's splitting rule divides by the limits
    (see :func:`nengo_loihi_cores`).
    """
    chip = qnet.chip if chip is None else chip
    prob = _build(qnet, chip)
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    labels = {}
    for q, pop in enumerate(prob.pops):
        if prob.pop_input[q] or prob.pop_size[q] == 0:
            continue
        labels[pop] = len(labels)
        node_core[prob.pop_first[q]:prob.pop_first[q] + prob.pop_size[q]] = labels[pop]
    m = _measure(prob, node_core, len(labels))
    return {pop: {name: int(m.usage[c, idx]) for name, idx in zip(prob.res_names, prob.res_index)}
            for pop, c in labels.items()}


def nengo_loihi_cores(qnet: QuantizedNetwork, chip=None) -> int:
    """Cores nengo-loihi's rule would take: one block per core, each population split
    into ``n_split = max(ceil(usage / limit))`` equal blocks over compartments, in- and
    out-axons and synapse memory (nengo-loihi 1.1 ``split_blocks.py``).

    Its blocks are not re-checked here: on irregular graphs an equal split can still leave
    a block over a limit (nengo-loihi says so in its code), so this is a lower bound on
    what it would need.
    """
    chip = qnet.chip if chip is None else chip
    limits = chip.limits()
    total = 0
    for usage in population_usage(qnet, chip).values():
        total += max(math.ceil(usage[r] / limits[r]) for r in ("neurons", "axons_in", "axons_out",
                                                               "synapse_memory_bits") if r in limits)
    return total
