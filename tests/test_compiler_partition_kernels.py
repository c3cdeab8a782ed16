"""The measurement's counting kernels (``partition.kernels.axons_by_core`` and
``add_traffic``), compiled and as numpy forms, against plain Python counts."""

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocomp.compiler.partition import kernels as PK


def _axons(seed, n_axons, n_cores):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_cores, n_axons).astype(np.int32), rng.integers(1, 50, n_axons).astype(np.int64)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(0, 300), st.integers(1, 12))
def test_axons_by_core_groups_each_cores_axons_in_axon_order(seed, n_axons, n_cores):
    core, count = _axons(seed, n_axons, n_cores)
    # expectation: a Python loop over the cores, keeping each core's axons in their order
    want = [count[i] for c in range(n_cores) for i in range(n_axons) if core[i] == c]
    want_ptr = [0]
    for c in range(n_cores):
        want_ptr.append(want_ptr[-1] + sum(1 for x in core.tolist() if x == c))
    for run in (PK.axons_by_core.compiled, PK.axons_by_core.run_python):
        ptr, sorted_counts = run(core, count, n_cores)
        assert ptr.tolist() == want_ptr
        assert sorted_counts.dtype == np.int64 and sorted_counts.tolist() == want


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(0, 25), st.integers(1, 7))
def test_add_traffic_counts_every_route_once(seed, n_rows, n_cores):
    rng = np.random.default_rng(seed)
    per_row = rng.integers(0, 5, n_rows)
    row_ptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)
    ax_core = rng.integers(0, n_cores, int(row_ptr[-1])).astype(np.int32)
    src_core = rng.integers(0, n_cores, n_rows).astype(np.int32)
    want = Counter()
    for r in range(n_rows):
        for k in range(row_ptr[r], row_ptr[r + 1]):
            want[(int(src_core[r]), int(ax_core[k]))] += 1
    for run in (PK.add_traffic.compiled, PK.add_traffic.run_python):
        table = np.zeros(n_cores * n_cores, dtype=np.int64)
        table[0] = 7  # counts are added to what the table holds
        run(row_ptr, ax_core, src_core, n_cores, table)
        table[0] -= 7
        got = {(i // n_cores, i % n_cores): int(v) for i, v in enumerate(table) if v}
        assert got == dict(want)
