"""The packing and counting kernels: Numba over flat arrays, no Python objects.

A core is *open* while a strategy fills it: :func:`add_node` puts one neuron on it,
counting every resource as it goes (see :mod:`.resources`), and undoes the addition when
a limit breaks. Stamps in the scratch arrays are epochs: each core gets a fresh one, so
closing a core costs nothing. The ``pack_*`` kernels drive :func:`add_node` in an order a
strategy chose (:mod:`.strategies`); the counting kernels build and read the CSC view of
the synapses (:mod:`.problem`, :mod:`.measure`).

The kernels called only from other kernels (:func:`add_node` and what it calls) are
compiled without a CPython wrapper (``no_cpython_wrapper``): the wrapper unboxes the
two tuples of some forty arrays and cost about half a second of compile each on a
first run. From Python, :func:`single_usage` is their door.

A small network runs the kernels' Python forms instead (:mod:`neurocomp.compiler._jit`):
the drivers' own code in the interpreter, and numpy forms of the per-synapse ones (at the
end of this module), which work on the same arrays and give the same results.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from .._jit import njit

# State shared by the packing kernels (flat arrays; see Static / Scratch).
# scal layout: 0 projections on the core, 1 compartments, 2 axons in, 3 routes out,
# 4 input activation bits, 5 processor-kind mask, 6 relay synapse bits, 7.. registers.
_S_NPROJ, _S_NEUR, _S_AXIN, _S_ROUT, _S_INBITS, _S_MASK, _S_RELAYMEM, _S_REG = range(8)


class Static(NamedTuple):
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


class Scratch(NamedTuple):
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


@njit(cache=True, inline="always", python=True)
def _copy(src, dst):
    # a loop, not ``dst[:] = src``: Numba's slice assignment compiles its error message
    # (string formatting, about a second on a first run)
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(cache=True, no_cpython_wrapper=True, python=True)
def reset_core(s):
    s.scal[:] = 0
    s.scal[_S_MASK] = -1  # every processor kind


@njit(cache=True, no_cpython_wrapper=True, python=True)
def core_usage(g, s):
    """Fill ``s.usage`` from the open core's state."""
    mem = 0
    last = g.opt_of_n.shape[0] - 1  # the tables stop at a full core
    for i in range(s.scal[_S_NPROJ]):
        p = s.core_projs[i]
        # More compartments than a core holds: the neuron limit is broken first (and
        # reported); the memory is priced as for a full core instead of read past the table.
        n = min(s.pop_n[g.proj_post[p]], last)
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


@njit(cache=True, no_cpython_wrapper=True, python=True)
def over_limit(g, s):
    """Index of the first exceeded limit, ``len(limits)`` for no processor kind, or -1."""
    core_usage(g, s)
    for r in range(g.limits.shape[0]):
        if s.usage[r] > g.limits[r]:
            return r
    if s.scal[_S_MASK] == 0:
        return g.limits.shape[0]
    return -1


@njit(cache=True, no_cpython_wrapper=True)
def add_node(g, s, j, epoch, check):
    """Put node ``j`` on the open core (stamped ``epoch``).

    Returns 0, or (after undoing the addition) ``1 +`` the index of the limit it broke.
    """
    P = g.node_pop[j]
    _copy(s.scal, s.snap)
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
        # A table holds counts 0 .. L - 1 (up to a full core); a count past it only occurs
        # on a core already over its neuron limit, which is then refused (and undone).
        c0, c1 = min(old, L - 1), min(old + 1, L - 1)
        for o in range(n_opts):
            s.S[p, o] += g.tab[base + o * L + c1] - g.tab[base + o * L + c0]
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
    bad = over_limit(g, s)
    if bad < 0:
        return 0
    # Undo, newest first (a key logged twice is unwound in the right order).
    for i in range(nlog - 1, -1, -1):
        key = s.log_key[i]
        old = s.log_old[i]
        p = g.key_proj[key]
        base = g.tab_off[p]
        L = g.tab_len[p]
        c0, c1 = min(old, L - 1), min(old + 1, L - 1)
        for o in range(n_opts):
            s.S[p, o] -= g.tab[base + o * L + c1] - g.tab[base + o * L + c0]
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
    _copy(s.snap, s.scal)
    return bad + 1


@njit(cache=True, python=True)
def single_usage(g, s, nodes, epoch):
    """Fill ``s.usage`` with what ``nodes`` alone take on a fresh core stamped ``epoch``
    (limits not enforced)."""
    reset_core(s)
    for j in nodes:
        add_node(g, s, j, epoch, False)
    core_usage(g, s)


#: ``pack_sequential``'s failing code when it stopped at ``max_cores`` (the cut would need more).
STOPPED = -1


@njit(cache=True, python=True)
def pack_sequential(g, s, order, node_core, epoch0, max_cores):
    """Fill cores in ``order``. Returns (cores, failing node or -1, failing code); stops
    (code :data:`STOPPED`, ``max_cores + 1`` cores) rather than open core ``max_cores + 1``."""
    epoch = epoch0
    label = 0
    count = 0
    reset_core(s)
    for idx in range(order.shape[0]):
        j = order[idx]
        code = add_node(g, s, j, epoch, True)
        if code != 0:
            if count == 0:
                return 0, j, code
            if label + 1 >= max_cores:
                return label + 2, -1, STOPPED
            label += 1
            epoch += 1
            count = 0
            reset_core(s)
            code = add_node(g, s, j, epoch, True)
            if code != 0:
                return 0, j, code
        node_core[j] = label
        count += 1
    return (label + 1 if count > 0 else label), -1, 0


@njit(cache=True, python=True)
def pack_whole(g, s, pop_first, pop_size, node_core, epoch0):
    """Like :func:`pack_sequential`, but a population never spans two cores.

    Returns (cores, failing population or -1, failing code)."""
    epoch = epoch0
    label = 0
    count = 0
    reset_core(s)
    for q in range(pop_first.shape[0]):
        lo = pop_first[q]
        hi = lo + pop_size[q]
        if hi == lo:
            continue
        code = 0
        for j in range(lo, hi):
            code = add_node(g, s, j, epoch, True)
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
        reset_core(s)
        for j in range(lo, hi):
            code = add_node(g, s, j, epoch, True)
            if code != 0:
                return 0, q, code
        node_core[lo:hi] = label
        count = hi - lo
    return (label + 1 if count > 0 else label), -1, 0


@njit(cache=True, inline="always", python=True)
def _sift_up(key, item, n, k, x):
    """Put (k, x) into the heap ``key[:n]``/``item[:n]`` (which then has n + 1 entries),
    ordered by (key, item) as Python's heapq orders tuples."""
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if key[p] < k or (key[p] == k and item[p] <= x):
            break
        key[i] = key[p]
        item[i] = item[p]
        i = p
    key[i] = k
    item[i] = x


@njit(cache=True, inline="always", python=True)
def _sift_down(key, item, n, k, x):
    """After the root was taken: put (k, x), the former last entry, into the heap of
    ``n`` entries."""
    if n == 0:
        return
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and (key[c + 1] < key[c] or (key[c + 1] == key[c] and item[c + 1] < item[c])):
            c += 1
        if k < key[c] or (k == key[c] and x <= item[c]):
            break
        key[i] = key[c]
        item[i] = item[c]
        i = c
    key[i] = k
    item[i] = x


@njit(cache=True, python=True)
def pack_greedy(g, s, atom_start, atom_stop, adj_ptr, adj_nbr, adj_w, node_core, epoch0, max_fail):
    """Greedy graph growth over atoms (see the module docstring).

    Returns (cores, failing node or -1, failing code)."""
    n_atoms = atom_start.shape[0]
    next_free = atom_start.copy()
    placed = np.zeros(n_atoms, dtype=np.bool_)
    gain = np.zeros(n_atoms, dtype=np.int64)
    gain_stamp = np.full(n_atoms, -1, dtype=np.int64)
    failed = np.full(n_atoms, -1, dtype=np.int64)
    # A binary min-heap of (-gain, atom) in two arrays (heapq on a list of tuples took
    # about a second to compile); stale entries are skipped when popped. Between two
    # resets at most one entry per adjacency is pushed.
    heap_key = np.empty(adj_ptr[n_atoms] + 1, dtype=np.int64)
    heap_atom = np.empty(adj_ptr[n_atoms] + 1, dtype=np.int64)
    n_heap = 0
    epoch = epoch0
    label = 0
    count = 0
    fails = 0
    cursor = 0
    seed = -1
    reset_core(s)
    while True:
        a = -1
        from_cursor = False
        if seed >= 0 and not placed[seed]:
            a = seed
        seed = -1
        while a < 0 and n_heap > 0:
            ng, cand = heap_key[0], heap_atom[0]
            n_heap -= 1
            _sift_down(heap_key, heap_atom, n_heap, heap_key[n_heap], heap_atom[n_heap])
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
                n_heap = 0
                reset_core(s)
        added = 0
        j = next_free[a]
        code = 0
        while j < atom_stop[a]:
            code = add_node(g, s, j, epoch, True)
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
                _sift_up(heap_key, heap_atom, n_heap, -gain[b], b)
                n_heap += 1
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
            n_heap = 0
            reset_core(s)
            seed = a  # the next core starts where this one stopped (locality)
    return (label + 1 if count > 0 else label), -1, 0


@njit(cache=True)
def csc_count(indptr, indices, post_off, counts):
    for row in range(indptr.shape[0] - 1):
        for k in range(indptr[row], indptr[row + 1]):
            counts[post_off + indices[k]] += 1


@njit(cache=True)
def csc_fill(indptr, indices, post_off, key_base, cursor, csc_key):
    for row in range(indptr.shape[0] - 1):
        key = key_base + row
        for k in range(indptr[row], indptr[row + 1]):
            t = post_off + indices[k]
            csc_key[cursor[t]] = key
            cursor[t] += 1


@njit(cache=True)
def has_duplicates(indptr, indices):
    for row in range(indptr.shape[0] - 1):
        for k in range(indptr[row] + 1, indptr[row + 1]):
            if indices[k] == indices[k - 1]:
                return True
    return False


@njit(cache=True)
def row_axons(indptr, indices, post_off, node_core, stamp, slot, fill, ax_core, ax_count, row_ptr):
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
def axons_by_core(ax_core, ax_count, n_cores):
    """The axons of one projection grouped by core, as a stable sort by core would put them:
    (``ptr``: axons of core ``c`` are ``ptr[c]:ptr[c+1]``, their synapse counts in that
    order). A counting sort: linear, where a sort of ~10^7 axons was a second."""
    ptr = np.zeros(n_cores + 1, dtype=np.int64)
    for i in range(ax_core.shape[0]):
        ptr[ax_core[i] + 1] += 1
    for c in range(n_cores):
        ptr[c + 1] += ptr[c]
    fill = np.empty(max(n_cores, 1), dtype=np.int64)
    for c in range(n_cores):
        fill[c] = ptr[c]
    counts = np.empty(ax_core.shape[0], dtype=np.int64)
    for i in range(ax_core.shape[0]):
        c = ax_core[i]
        counts[fill[c]] = ax_count[i]
        fill[c] += 1
    return ptr, counts


@njit(cache=True)
def add_traffic(row_ptr, ax_core, src_core, n_cores, table):
    """Count the routes of one projection into ``table[a * n_cores + b]``: row ``r``'s
    axons ``row_ptr[r]:row_ptr[r+1]`` go from core ``src_core[r]`` to their ``ax_core``
    (no arrays of every route's pair)."""
    for r in range(row_ptr.shape[0] - 1):
        a = src_core[r] * n_cores
        for k in range(row_ptr[r], row_ptr[r + 1]):
            table[a + ax_core[k]] += 1


# -- numpy forms (small networks; see compiler._jit) -----------------------------------
# Each does what the kernel above it does, on the same arrays, with whole-array numpy
# steps instead of a loop per synapse (tests/test_compiler_python_forms.py checks that
# both give the same results).

def _starts(x):
    """Where each run of equal values of ``x`` starts."""
    return np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1]))) if x.size else np.zeros(0, np.int64)


def _claim_sets(s, sids, regs, epoch):
    """The kernel's loop over parameter sets ``sids`` (register kind ``regs`` each): stamp
    those not yet on the core and count each once; returns them. (A few per call: plain
    Python is faster here than numpy.)"""
    claimed = []
    for sid, r in zip(sids.tolist(), regs.tolist()):
        if sid >= 0 and s.set_stamp[sid] != epoch:
            s.set_stamp[sid] = epoch
            s.scal[_S_REG + r] += 1
            claimed.append(sid)
    return claimed


@add_node.python_form
def _add_node_numpy(g, s, j, epoch, check):
    P = g.node_pop[j]
    snap = s.scal.copy()
    if s.pop_stamp[P] != epoch:
        s.pop_stamp[P] = epoch
        s.pop_n[P] = 0
    n_old = int(s.pop_n[P])
    in_projs = g.pop_in_proj[g.pop_in_ptr[P]:g.pop_in_ptr[P + 1]]
    log_full = s.full[in_projs].copy()
    s.touch[in_projs] = 0
    # A node's keys ascend (problem.build: by projection, then source), so do their
    # projections: runs of equal keys are one axon's synapses, runs of projections are
    # in the kernel's order of first appearance.
    k = g.csc_key[g.csc_ptr[j]:g.csc_ptr[j + 1]]
    if k.size > 1 and not (k[1:] >= k[:-1]).all():
        raise ValueError("a node's axon keys are out of order")
    ks = _starts(k)
    keys, cnt = k[ks], np.diff(np.append(ks, k.size))
    p = g.key_proj[keys]
    ps = _starts(p)
    pv = p[ps]
    new_proj = pv[s.proj_stamp[pv] != epoch]
    claimed = []
    if new_proj.size:
        s.proj_stamp[new_proj] = epoch
        s.S[new_proj, :] = 0
        s.naxons[new_proj] = 0
        s.full[new_proj] = 0
        k0 = s.scal[_S_NPROJ]
        s.core_projs[k0:k0 + new_proj.size] = new_proj
        s.scal[_S_NPROJ] += new_proj.size
        sets = g.proj_sets[new_proj]
        claimed += _claim_sets(s, sets.ravel(), np.broadcast_to(g.reg_proj, sets.shape).ravel(), epoch)
    fresh = s.key_stamp[keys] != epoch
    s.key_stamp[keys[fresh]] = epoch
    s.key_cnt[keys[fresh]] = 0
    if ps.size:
        s.naxons[pv] += np.add.reduceat(fresh.astype(np.int64), ps)
    s.scal[_S_AXIN] += int(fresh.sum())
    s.scal[_S_INBITS] += int(g.key_bits[keys[fresh]].sum())
    old = s.key_cnt[keys].copy()
    # The kernel adds one to ``touch`` for the synapse that takes a count from n_old.
    if ps.size:
        s.touch[pv] += np.add.reduceat(((old <= n_old) & (n_old < old + cnt)).astype(np.int64), ps)
    s.key_cnt[keys] = old + cnt
    L = g.tab_len[p]
    col = g.tab_off[p][:, None] + np.arange(s.S.shape[1])[None, :] * L[:, None]
    # The per-synapse differences of the kernel telescope over one key's synapses.
    delta = g.tab[col + np.minimum(old + cnt, L - 1)[:, None]] - g.tab[col + np.minimum(old, L - 1)[:, None]]
    sums = np.add.reduceat(delta, ps, axis=0) if ps.size else delta[:0]
    s.S[pv] += sums
    s.full[in_projs] = s.touch[in_projs]
    s.pop_n[P] = n_old + 1
    claimed += _claim_sets(s, g.node_sets[j], g.reg_node, epoch)
    s.scal[_S_NEUR] += 1 + g.relay_est[j]
    s.scal[_S_ROUT] += g.routes_est[j]
    if g.relay_est[j] > 0:
        s.scal[_S_AXIN] += 1
        s.scal[_S_RELAYMEM] += g.relay_tab[min(g.relay_est[j], g.relay_tab.shape[0] - 1)]
    s.scal[_S_MASK] &= g.pop_mask[P]
    if not check:
        return 0
    bad = over_limit(g, s)
    if bad < 0:
        return 0
    s.S[pv] -= sums
    s.key_cnt[keys] = old
    gone = old == 0
    s.key_stamp[keys[gone]] = -1
    if ps.size:
        s.naxons[pv] -= np.add.reduceat(gone.astype(np.int64), ps)
    s.full[in_projs] = log_full
    s.pop_n[P] = n_old
    s.set_stamp[claimed] = -1
    s.proj_stamp[new_proj] = -1
    s.scal[:] = snap
    return bad + 1


def _rows(indptr):
    """The source row of every synapse of a CSR."""
    return np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))


@csc_count.python_form
def _csc_count_numpy(indptr, indices, post_off, counts):
    counts += np.bincount(post_off + indices[:indptr[-1]], minlength=counts.shape[0])[:counts.shape[0]]


@csc_fill.python_form
def _csc_fill_numpy(indptr, indices, post_off, key_base, cursor, csc_key):
    t = post_off + indices[:indptr[-1]].astype(np.int64)
    order = np.argsort(t, kind="stable")  # by target, rows ascending within one (as the loop)
    ts = t[order]
    starts = np.searchsorted(ts, ts, side="left")
    csc_key[cursor[ts] + np.arange(ts.size) - starts] = key_base + _rows(indptr)[order]
    np.add.at(cursor, ts, 1)


@has_duplicates.python_form
def _has_duplicates_numpy(indptr, indices):
    same = indices[1:indptr[-1]] == indices[:indptr[-1] - 1]
    same &= _rows(indptr)[1:] == _rows(indptr)[:-1]
    return bool(same.any())


@row_axons.python_form
def _row_axons_numpy(indptr, indices, post_off, node_core, stamp, slot, fill, ax_core, ax_count, row_ptr):
    stamp[:] = -1
    rows = _rows(indptr)
    c = node_core[post_off + indices[:indptr[-1]]].astype(np.int64)
    pair = rows * (int(c.max()) + 1 if c.size else 1) + c
    _, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    n = first.size
    if fill:
        rank = np.argsort(first, kind="stable")  # axons of a row in order of their first target
        ax_core[:n] = c[first[rank]]
        where = np.empty(n, np.int64)
        where[rank] = np.arange(n)
        ax_count[:n] = np.bincount(where[inverse.ravel()], minlength=n)
        row_ptr[1:] = np.cumsum(np.bincount(rows[first], minlength=indptr.shape[0] - 1))
    return n


@axons_by_core.python_form
def _axons_by_core_numpy(ax_core, ax_count, n_cores):
    ptr = np.zeros(n_cores + 1, dtype=np.int64)
    np.cumsum(np.bincount(ax_core, minlength=n_cores), out=ptr[1:])
    return ptr, ax_count[np.argsort(ax_core, kind="stable")].astype(np.int64)


@add_traffic.python_form
def _add_traffic_numpy(row_ptr, ax_core, src_core, n_cores, table):
    a = np.repeat(src_core.astype(np.int64), np.diff(row_ptr))
    table += np.bincount(a * n_cores + ax_core[:row_ptr[-1]], minlength=table.shape[0])
