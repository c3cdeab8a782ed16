"""Compiled checks of a sample's input events (a CSR by step), for :mod:`.run`.

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
