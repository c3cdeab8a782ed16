"""Compiled passes over event lists for :mod:`.run`: the checks of a sample's input
events (a CSR by step) and the order of a batch's spikes.

One pass each over a sample's events instead of several NumPy temporaries: for 200
``mnist_mlp`` samples (24,000 events each) the NumPy checks were ~10 % of a batched run.
Imported by :mod:`.run` when a run needs them, so that importing it does not load Numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def csr_in_order(ptr, idx, steps):
    """Whether the events of steps ``0 .. steps - 1`` of a CSR by step (``ptr[0] == 0``)
    are in (step, index) order: ``ptr`` never falls and the indices within each step
    never fall (a new step may start lower)."""
    for t in range(steps):
        if ptr[t + 1] < ptr[t]:
            return False
    end = ptr[steps]
    # every fall counted in one flat pass (it vectorizes; a loop per step did not),
    # then the falls at a step's first event taken back
    down = 0
    for k in range(1, end):
        down += idx[k] < idx[k - 1]
    for t in range(1, steps):
        s = ptr[t]
        # once per start: an empty step repeats the next one's
        if ptr[t - 1] < s < end and idx[s] < idx[s - 1]:
            down -= 1
    return down == 0


@njit(cache=True)
def first_not_one(values):
    """The first position of ``values`` that is not 1.0 (NaN is not), or -1."""
    n = 0
    for k in range(values.shape[0]):
        n += values[k] != 1.0  # counted first: the loop vectorizes
    if n == 0:
        return -1
    for k in range(values.shape[0]):
        if not (values[k] == 1.0):
            return k
    return -1


@njit(cache=True)
def grouped_order(key, idx):
    """``(order, ok, moved)``: when ``key`` never falls (``ok``), the permutation that
    sorts the events by ``(key, idx)``, stably, as ``np.lexsort((idx, key))`` does, and
    whether it moves anything; ``ok`` False: ``key`` falls somewhere (sort otherwise).

    Each run of equal keys is sorted on its own, in one sequential pass when it is two
    ascending pieces: a batch's spikes come by (sample, step) already, and within one
    step a population on two cores comes core by core, each in index order; they are
    merged. A run of more pieces is sorted by a stable merge sort."""
    n = key.shape[0]
    order = np.arange(n)
    for k in range(1, n):
        if key[k] < key[k - 1]:
            return order, False, False
    moved = False
    lo = 0
    while lo < n:
        hi = lo + 1
        cut = -1  # where the run's second ascending piece starts
        pieces = 1
        while hi < n and key[hi] == key[lo]:
            if idx[hi] < idx[hi - 1]:
                pieces += 1
                cut = hi
            hi += 1
        if pieces == 2:
            a = lo
            b = cut
            for o in range(lo, hi):
                if b >= hi or (a < cut and idx[a] <= idx[b]):  # ties: the first piece's first
                    order[o] = a
                    a += 1
                else:
                    order[o] = b
                    b += 1
            moved = True
        elif pieces > 2:
            sub = np.argsort(idx[lo:hi], kind="mergesort")
            for o in range(hi - lo):
                order[lo + o] = lo + sub[o]
            moved = True
        lo = hi
    return order, True, moved
