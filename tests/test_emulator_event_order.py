"""``emulator/run.py`` puts events in (step, index) order without a sort when they are in
order already; the permutation must be the one ``np.lexsort`` gives, in every case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocomp.emulator.run import _event_order


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), max_size=40), st.booleans())
def test_the_order_is_lexsorts(events, presort):
    if presort:
        events = sorted(events)
    times = np.array([t for t, _ in events], dtype=np.int64)
    idx = np.array([i for _, i in events], dtype=np.int64)
    got = _event_order(times, idx)
    np.testing.assert_array_equal(got, np.lexsort((idx, times)))


@pytest.mark.parametrize("times,idx", [([0, 0, 1], [3, 3, 0]),  # ties keep their order
                                       ([0, 1, 1], [5, 2, 1]),  # one pair out of order
                                       ([1, 0], [0, 9])])
def test_nearly_ordered_events_are_sorted(times, idx):
    times, idx = np.array(times), np.array(idx)
    np.testing.assert_array_equal(_event_order(times, idx), np.lexsort((idx, times)))
