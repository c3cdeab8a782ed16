"""The Cuthill-McKee ordering of the ``bfs`` partitioner and its stable sort, and the
heap of the ``greedy`` partitioner.

``_sort_by_degree`` replaces ``np.argsort(kind="mergesort")`` (slow to compile in Numba):
it must give the same order, ties included, which numpy's stable sort checks here. The
greedy partitioner's two-array heap replaces ``heapq`` on a list of tuples (also slow to
compile): it must pop the same entries, which ``heapq`` checks here. The atom graph's
symmetric CSR (two counting sorts; numpy's ``np.unique`` for small graphs) must equal what
``np.unique`` over the edge keys gives, written out here.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocomp.compiler.partition.orderings import (_sort_by_degree, _symmetric_csr, _symmetric_csr_numpy,
                                                    cuthill_mckee)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=80), st.integers(0, 4), st.data())
def test_sort_by_degree_is_numpys_stable_sort(degrees, lo, data):
    degree = np.array(degrees, dtype=np.int64)
    order = np.array(data.draw(st.permutations(range(degree.size))), dtype=np.int64)
    lo = min(lo, order.size - 1)
    hi = data.draw(st.integers(lo, order.size))
    expected = order.copy()
    seg = expected[lo:hi].copy()
    expected[lo:hi] = seg[np.argsort(degree[seg], kind="mergesort")]
    _sort_by_degree(order, lo, hi, degree, np.empty(order.size, dtype=np.int64))
    assert np.array_equal(order, expected)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(1, 9)),
                                    max_size=60))
def test_symmetric_csr_is_the_unique_of_both_directions(n, edges):
    # the former numpy build: both directions, np.unique over a * n + b, weights summed
    edges = [(a % n, b % n, w) for a, b, w in edges]
    ea = np.array([e[0] for e in edges], dtype=np.int64)
    eb = np.array([e[1] for e in edges], dtype=np.int64)
    ew = np.array([e[2] for e in edges], dtype=np.int64)
    a2, b2, w2 = np.concatenate([ea, eb]), np.concatenate([eb, ea]), np.concatenate([ew, ew])
    key, inverse = np.unique(a2 * n + b2, return_inverse=True)
    weight = np.bincount(inverse.reshape(-1), weights=w2, minlength=key.size).astype(np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // n, minlength=n), out=ptr[1:])
    for got in (_symmetric_csr(ea, eb, ew, n), _symmetric_csr_numpy(ea, eb, ew, n)):
        assert np.array_equal(got[0], ptr)
        assert np.array_equal(got[1], key % n)
        assert np.array_equal(got[2], weight)


def test_symmetric_csr_by_hand():
    # edges 0-2 (w 3) twice and 1-2 (w 5): row 0 -> 2 (6); row 1 -> 2 (5); row 2 -> 0 (6), 1 (5)
    for build in (_symmetric_csr, _symmetric_csr_numpy):
        ptr, nbr, w = build(np.array([0, 2, 1]), np.array([2, 0, 2]), np.array([3, 3, 5]), 3)
        assert ptr.tolist() == [0, 1, 2, 4]
        assert nbr.tolist() == [2, 2, 0, 1]
        assert w.tolist() == [6, 5, 6, 5]


def test_cuthill_mckee_by_hand():
    # A star 0 - {1, 2, 3} and a tail 3 - 4; degrees 3, 1, 1, 2, 1. The first start is
    # atom 1 (lowest degree); a breadth-first walk from it ends at 4, one from 4 ends at
    # 2 (of 1 and 2, both at distance 3, 2 is dequeued last): 2 is the start. Then 0, then
    # 0's unvisited neighbours by degree: 1 (degree 1) before 3 (degree 2); then 4.
    edges = [(0, 1), (0, 2), (0, 3), (3, 4)]
    n = 5
    adj = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    ptr = np.cumsum([0] + [len(x) for x in adj]).astype(np.int64)
    nbr = np.array([b for x in adj for b in x], dtype=np.int64)
    degree = np.diff(ptr)
    by_degree = np.argsort(degree, kind="stable").astype(np.int64)
    assert cuthill_mckee(ptr, nbr, by_degree, degree).tolist() == [2, 0, 1, 3, 4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-4, 4), st.integers(0, 6)), max_size=60))
def test_the_greedy_heap_pops_what_heapq_pops(ops):
    # pack_greedy's two-array heap against Python's heapq on (key, item) tuples, under the
    # same pushes and pops (ties on the key broken by the item, as tuples compare).
    import heapq

    from neurocomp.compiler.partition.kernels import _sift_down, _sift_up

    key = np.empty(len(ops) + 1, dtype=np.int64)
    item = np.empty(len(ops) + 1, dtype=np.int64)
    n = 0
    ref: list[tuple[int, int]] = []
    for push, k, x in ops:
        if push or not ref:
            heapq.heappush(ref, (k, x))
            _sift_up(key, item, n, k, x)
            n += 1
        else:
            want = heapq.heappop(ref)
            got = (int(key[0]), int(item[0]))
            n -= 1
            _sift_down(key, item, n, key[n], item[n])
            assert got == want
    assert n == len(ref)
    while n:
        got = (int(key[0]), int(item[0]))
        n -= 1
        _sift_down(key, item, n, key[n], item[n])
        assert got == heapq.heappop(ref)
