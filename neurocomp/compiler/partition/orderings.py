"""Orderings: the order in which a strategy offers neurons to the packer.

``neuron_order``
    network order (the sequential split).
atoms
    runs of at most ``atom_size`` neurons of one population; :func:`atom_graph` joins two
    atoms by the expected packets between them (distinct (source neuron, target atom)
    pairs).
:func:`cuthill_mckee`
    breadth-first over the atom graph from a pseudo-peripheral atom, the neighbours of an
    atom by increasing degree: atoms joined by synapses, and atoms that share their
    sources, end up close in the order.
"""

from __future__ import annotations

import numpy as np
from .._jit import njit

from .problem import Problem


def neuron_order(prob: Problem) -> np.ndarray:
    """Every non-input neuron, in network order."""
    keep = ~prob.pop_input[prob.g.node_pop]
    return np.flatnonzero(keep).astype(np.int64)


def atoms(prob: Problem, atom_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Atoms of at most ``atom_size`` neurons of one population: (first node, stop node,
    atom of each node; -1 for input neurons)."""
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


def atom_graph(prob: Problem, atom_of: np.ndarray, n_atoms: int):
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
        # one pass, into arrays as long as the synapses (an edge per synapse at most): pages
        # past the edges written are never touched, so they cost no memory
        ea = np.empty(syn.n_synapses, dtype=np.int64)
        eb = np.empty(syn.n_synapses, dtype=np.int64)
        ew = np.empty(syn.n_synapses, dtype=np.int64)
        n = _atom_edges(*args, ea, eb, ew, 0, stamp, acc, seen)
        stamp[:] = -1
        edges.append((ea[:n], eb[:n], ew[:n]))
    if len(edges) == 1:
        ea, eb, ew = edges[0]
    elif edges:
        ea = np.concatenate([e[0] for e in edges])
        eb = np.concatenate([e[1] for e in edges])
        ew = np.concatenate([e[2] for e in edges])
    else:
        ea = eb = ew = np.zeros(0, dtype=np.int64)
    del edges
    if ea.size < _KERNEL_EDGES:  # small graphs: numpy, so a first run compiles no kernel for it
        return _symmetric_csr_numpy(ea, eb, ew, n_atoms)
    return _symmetric_csr(ea, eb, ew, n_atoms)


@njit(cache=True)
def _symmetric_csr(ea, eb, ew, n):
    """CSR of the edges ``a -> b`` and ``b -> a`` (weight ``w``) for every ``(a, b, w)``:
    each row's neighbours ascending, a pair met more than once with its weights summed
    (what ``np.unique`` over ``a * n + b`` gives, in two counting sorts instead of a sort
    of every edge: ~10x less time at 10 M edges)."""
    m = ea.shape[0]
    # 1. bucket both directions of every edge by its neighbour (the column)
    col_ptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        col_ptr[eb[e] + 1] += 1
        col_ptr[ea[e] + 1] += 1
    for c in range(n):
        col_ptr[c + 1] += col_ptr[c]
    # int32 inside (atoms and one edge's weight, a count of source neurons, fit): half the
    # memory traffic of the two scattering passes
    by_col_row = np.empty(2 * m, dtype=np.int32)
    by_col_w = np.empty(2 * m, dtype=np.int32)
    fill = np.empty(max(n, 1), dtype=np.int64)
    for c in range(n):  # (loops, not slice copies: those compile Numba's error formatting)
        fill[c] = col_ptr[c]
    row_ptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        a, b, w = ea[e], eb[e], ew[e]
        by_col_row[fill[b]] = a
        by_col_w[fill[b]] = w
        fill[b] += 1
        by_col_row[fill[a]] = b
        by_col_w[fill[a]] = w
        fill[a] += 1
        row_ptr[a + 1] += 1
        row_ptr[b + 1] += 1
    for r in range(n):
        row_ptr[r + 1] += row_ptr[r]
    # 2. columns in ascending order into their rows: each row comes out sorted
    nbr = np.empty(2 * m, dtype=np.int32)
    weight = np.empty(2 * m, dtype=np.int32)
    for r in range(n):
        fill[r] = row_ptr[r]
    for c in range(n):
        for k in range(col_ptr[c], col_ptr[c + 1]):
            r = by_col_row[k]
            nbr[fill[r]] = c
            weight[fill[r]] = by_col_w[k]
            fill[r] += 1
    # 3. sum repeated pairs into the int64 results
    ptr = np.zeros(n + 1, dtype=np.int64)
    out = 0
    for r in range(n):
        k = row_ptr[r]
        while k < row_ptr[r + 1]:
            c = nbr[k]
            k += 1
            while k < row_ptr[r + 1] and nbr[k] == c:
                k += 1
            out += 1
        ptr[r + 1] = out
    nbr_out = np.empty(out, dtype=np.int64)
    w_out = np.empty(out, dtype=np.int64)
    out = 0
    for r in range(n):
        k = row_ptr[r]
        while k < row_ptr[r + 1]:
            c = nbr[k]
            w = np.int64(weight[k])
            k += 1
            while k < row_ptr[r + 1] and nbr[k] == c:
                w += weight[k]
                k += 1
            nbr_out[out] = c
            w_out[out] = w
            out += 1
    return ptr, nbr_out, w_out


#: Edges from which the atom graph is built by the compiled :func:`_symmetric_csr` (~10x
#: faster than numpy at 10 M edges, but ~1 s of compiling on a first run).
_KERNEL_EDGES = 1 << 20


@_symmetric_csr.python_form
def _symmetric_csr_numpy(ea, eb, ew, n):
    """:func:`_symmetric_csr` by ``np.unique`` over the keys ``a * n + b`` of both directions."""
    a2, b2, w2 = np.concatenate([ea, eb]), np.concatenate([eb, ea]), np.concatenate([ew, ew])
    key, inverse = np.unique(a2 * max(n, 1) + b2, return_inverse=True)
    weight = np.bincount(np.asarray(inverse).reshape(-1), weights=w2, minlength=key.size).astype(np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // max(n, 1), minlength=n), out=ptr[1:])
    return ptr, (key % max(n, 1)).astype(np.int64), weight


def neighbours(prob: Problem, start: np.ndarray, stop: np.ndarray, atom_of: np.ndarray):
    """The atom graph without weights (what :func:`cuthill_mckee` reads): ``(ptr, nbr)``,
    each atom's distinct neighbours ascending, equal to :func:`atom_graph`'s. Built from
    the synapses out of each atom (the projections' rows) and into it (the problem's CSC),
    without a list of every edge: about half the time of :func:`atom_graph` at 10^7
    synapses."""
    g = prob.g
    n_pops = len(prob.pops)
    out = [[i for i in range(len(prob.projs)) if prob.proj_pre[i] == q and not prob.pop_input[q]]
           for q in range(n_pops)]
    pop_out_ptr = np.zeros(n_pops + 1, dtype=np.int64)
    np.cumsum([len(x) for x in out], out=pop_out_ptr[1:])
    pop_out_proj = np.array([i for x in out for i in x], dtype=np.int64)
    # every projection's rows as one CSR over axon keys, targets as node ids
    key_ptr = np.zeros(prob.n_keys + 1, dtype=np.int64)
    targets = []
    for i, q in enumerate(prob.projs):
        syn = q.synapses
        base = int(prob.key_base[i])
        key_ptr[base + 1:base + syn.n_pre + 1] = np.diff(syn.indptr)
        targets.append(syn.indices[:syn.n_synapses])
        targets[-1] = targets[-1] + np.int32(prob.pop_first[prob.proj_post[i]]) \
            if prob.pop_first[prob.proj_post[i]] else targets[-1]
    np.cumsum(key_ptr, out=key_ptr)
    key_target = targets[0] if len(targets) == 1 else (
        np.concatenate(targets) if targets else np.zeros(0, dtype=np.int32))
    return _neighbours(start, stop, atom_of.astype(np.int32), g.node_pop, pop_out_ptr, pop_out_proj, prob.key_base,
                       prob.pop_first, prob.proj_pre, prob.pop_input, key_ptr, key_target, g.csc_ptr, g.csc_key,
                       g.key_proj)


@njit(cache=True, inline="always")
def _visit(a, j, atom_of, node_pop, pop_out_ptr, pop_out_proj, key_base, pop_first, proj_pre, pop_input,
           key_ptr, key_target, csc_ptr, csc_key, key_proj, stamp, found, m):
    """The neighbours of atom ``a`` through node ``j`` not yet stamped ``a``, into ``found``."""
    P = node_pop[j]
    for i in range(pop_out_ptr[P], pop_out_ptr[P + 1]):
        p = pop_out_proj[i]
        key = key_base[p] + j - pop_first[proj_pre[p]]
        for k in range(key_ptr[key], key_ptr[key + 1]):
            b = atom_of[key_target[k]]
            if b >= 0 and b != a and stamp[b] != a:
                stamp[b] = a
                found[m] = b
                m += 1
    for k in range(csc_ptr[j], csc_ptr[j + 1]):
        key = csc_key[k]
        p = key_proj[key]
        pre = proj_pre[p]
        if pop_input[pre]:
            continue  # inputs come from off-chip
        b = atom_of[pop_first[pre] + key - key_base[p]]
        if b >= 0 and b != a and stamp[b] != a:
            stamp[b] = a
            found[m] = b
            m += 1
    return m


@njit(cache=True)
def _neighbours(start, stop, atom_of, node_pop, pop_out_ptr, pop_out_proj, key_base, pop_first, proj_pre,
                pop_input, key_ptr, key_target, csc_ptr, csc_key, key_proj):
    """:func:`neighbours`' kernel. One pass over the atoms lists each atom's distinct
    neighbours (unsorted) in a buffer, which gives the row pointers (the graph is
    symmetric: a row is as long as its list); then atom ``a`` is written into the row of
    each neighbour ``b`` it listed, ``a`` ascending: every row comes out sorted, no sort."""
    n = start.shape[0]
    stamp = np.full(max(n, 1), -1, dtype=np.int32)
    # at most both directions of every synapse (pages past the lists are never touched)
    found = np.empty(2 * key_target.shape[0] + 1, dtype=np.int32)
    ptr = np.zeros(n + 1, dtype=np.int64)
    m = 0
    for a in range(n):
        for j in range(start[a], stop[a]):
            m = _visit(a, j, atom_of, node_pop, pop_out_ptr, pop_out_proj, key_base, pop_first, proj_pre,
                       pop_input, key_ptr, key_target, csc_ptr, csc_key, key_proj, stamp, found, m)
        ptr[a + 1] = m
    nbr = np.empty(m, dtype=np.int64)
    fill = np.empty(max(n, 1), dtype=np.int64)
    for a in range(n):
        fill[a] = ptr[a]
    for a in range(n):
        for i in range(ptr[a], ptr[a + 1]):
            b = found[i]
            nbr[fill[b]] = a
            fill[b] += 1
    return ptr, nbr


@njit(cache=True, python=True)
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


@njit(cache=True, python=True)
def cuthill_mckee(ptr, nbr, by_degree, degree):
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
                _sort_by_degree(order, first, pos, degree, queue)
    return order


@njit(cache=True, python=True)
def _sort_by_degree(order, lo, hi, degree, tmp):
    """Sort ``order[lo:hi]`` by ``degree``, stably (equal degrees keep their order), as
    ``np.argsort(kind="mergesort")`` would: a bottom-up merge sort through ``tmp``.
    Numba's own mergesort took more than 2 s to compile on a first run; this, a fraction."""
    n = hi - lo
    width = 1
    src, dst = order, tmp
    s0, d0 = lo, 0  # where the run starts in src / dst
    in_tmp = False
    while width < n:
        for a in range(0, n, 2 * width):
            m = min(a + width, n)
            b = min(a + 2 * width, n)
            i, j, k = a, m, a
            while i < m and j < b:
                # '<=' takes the left run first on ties: stable
                if degree[src[s0 + i]] <= degree[src[s0 + j]]:
                    dst[d0 + k] = src[s0 + i]
                    i += 1
                else:
                    dst[d0 + k] = src[s0 + j]
                    j += 1
                k += 1
            while i < m:
                dst[d0 + k] = src[s0 + i]
                i += 1
                k += 1
            while j < b:
                dst[d0 + k] = src[s0 + j]
                j += 1
                k += 1
        src, dst = dst, src
        s0, d0 = d0, s0
        in_tmp = not in_tmp
        width *= 2
    if in_tmp:  # the sorted run ended in tmp
        for i in range(n):
            order[lo + i] = tmp[i]


@njit(cache=True)
def _atom_edges(indptr, indices, pre_off, post_off, atom_of, e_a, e_b, e_w, n0, stamp, acc, seen):
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
            e_a[n] = a
            e_b[n] = b
            e_w[n] = acc[b]
            acc[b] = 0
            n += 1
        row = r
    return n


@_atom_edges.python_form
def _atom_edges_numpy(indptr, indices, pre_off, post_off, atom_of, e_a, e_b, e_w, n0, stamp, acc, seen):
    """:func:`_atom_edges` by ``np.unique`` (small networks; see :mod:`.._jit`). Its edges
    may come in another order; :func:`atom_graph` sorts them into the same CSR."""
    nnz = int(indptr[-1])
    rows = np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))
    b = atom_of[post_off + indices[:nnz].astype(np.int64)]
    keep = b != atom_of[pre_off + rows]
    rows, b = rows[keep], b[keep]
    if b.size == 0:
        return n0
    nb = int(b.max()) + 1
    pair = np.unique(rows * nb + b)  # distinct (source neuron, post atom)
    key, count = np.unique(atom_of[pre_off + pair // nb] * nb + pair % nb, return_counts=True)
    n = key.size
    e_a[n0:n0 + n] = key // nb
    e_b[n0:n0 + n] = key % nb
    e_w[n0:n0 + n] = count
    return n0 + n


@_neighbours.python_form
def _neighbours_numpy(start, stop, atom_of, node_pop, pop_out_ptr, pop_out_proj, key_base, pop_first, proj_pre,
                      pop_input, key_ptr, key_target, csc_ptr, csc_key, key_proj):
    """:func:`_neighbours` by ``np.unique`` over both directions of every synapse's atom pair."""
    n = start.shape[0]
    keys = np.repeat(np.arange(key_ptr.shape[0] - 1, dtype=np.int64), np.diff(key_ptr))
    p = key_proj[keys]
    ok = ~pop_input[proj_pre[p]]
    a = atom_of[(pop_first[proj_pre[p]] + keys - key_base[p])[ok]].astype(np.int64)
    b = atom_of[key_target[:keys.size][ok].astype(np.int64)].astype(np.int64)
    keep = (a >= 0) & (b >= 0) & (a != b)
    a, b = a[keep], b[keep]
    w = max(n, 1)
    pair = np.unique(np.concatenate([a * w + b, b * w + a]))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair // w, minlength=n), out=ptr[1:])
    return ptr, (pair % w).astype(np.int64)
