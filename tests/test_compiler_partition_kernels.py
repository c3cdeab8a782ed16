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


# -- auto stops a next-fit candidate that cannot win -------------------------------------

import pytest  # noqa: E402

from neurocomp.chip.load import load_chip  # noqa: E402
from neurocomp.compiler.partition import partition  # noqa: E402
from neurocomp.ir.connectors import AllToAll  # noqa: E402
from neurocomp.ir.network import Network, NeuronModel, Population, Projection  # noqa: E402
from neurocomp.ir.quantized import QPopulation, QProjection, QuantizationReport, QuantizedNetwork  # noqa: E402
from neurocomp.ir.synapses import Synapses  # noqa: E402

_FIELDS = ("node_core", "node_local", "relay_count", "axon_proj", "axon_pre", "axon_core", "axon_count",
           "traffic_src", "traffic_dst", "traffic_routes")


def _local(n, k, window, seed, shuffle):
    """One population, each neuron to ``k`` distinct targets within ``window`` neighbours
    (the benchmark's generator, small); ``shuffle`` renames the neurons at random."""
    rng = np.random.default_rng(seed)
    start = np.clip(np.arange(n) - window // 2, 0, n - window)
    idx = np.stack([start + j * (window // k) + rng.integers(0, window // k, n) for j in range(k)], axis=1)
    if shuffle:
        perm = rng.permutation(n)
        rows = np.empty(n, dtype=np.int64)
        rows[perm] = np.arange(n)
        idx = np.sort(perm[idx][rows], axis=1)
    lif = NeuronModel(family="lif", beta=0.9)
    net = Network(name="local", populations={"a": Population(name="a", shape=(n,), neuron=lif)},
                  projections=(Projection(name="rec", pre="a", post="a", connector=AllToAll(1.0)),))
    syn = Synapses(projection="rec", n_pre=n, n_post=n, indptr=np.arange(n + 1, dtype=np.int64) * k,
                   indices=idx.reshape(-1).astype(np.int32), weights=rng.integers(1, 8, n * k).astype(np.int64))
    params = {key: np.full(n, v, dtype=np.int64) for key, v in
              dict(du=4095, dv=410, vth_mant=100, bias_mant=0, bias_exp=0, refractory=0).items()}
    return QuantizedNetwork(network=net, chip=None, family="loihi_cuba_lif",
                            populations={"a": QPopulation(name="a", size=n, is_input=False, params=params)},
                            projections={"rec": QProjection(name="rec", pre="a", post="a", synapses=syn,
                                                            weight_bits=4)},
                            report=QuantizationReport())


@pytest.mark.parametrize("shuffle", [False, True])
def test_auto_keeps_the_cut_its_rule_picks_from_every_strategy_run_alone(shuffle):
    chip = load_chip("loihi")
    q = _local(4000, 64, 512, 3, shuffle)
    alone = {s: partition(q, chip, strategy=s) for s in ("sequential", "bfs", "greedy")}
    # the rule, by hand: fewest cores, then fewest routes leaving their core, then the earlier
    want = min(alone, key=lambda s: (alone[s].n_cores, alone[s].report.cut_routes,
                                     ["sequential", "bfs", "greedy"].index(s)))
    got = partition(q, chip, strategy="auto")
    assert got.report.strategy == want
    for f in _FIELDS:
        assert np.array_equal(getattr(got, f), getattr(alone[want], f)), f
    assert [c.slices for c in got.cores] == [c.slices for c in alone[want].cores]
    tried = {t[0]: t for t in got.report.tried}
    for s, p in alone.items():
        if tried[s][3] is None:  # ran to the end: its own figures
            assert tried[s][1:3] == (p.n_cores, p.report.cut_routes)
        else:  # stopped: only a next-fit candidate, and only one that needs more cores than the kept cut
            assert s in ("sequential", "bfs") and p.n_cores > got.n_cores
            assert tried[s][3].startswith("stopped in pass ")
    if shuffle:  # the shuffled order defeats the sequential split, which auto stops early
        assert tried["sequential"][3] is not None and alone["sequential"].n_cores > got.n_cores


def test_a_bounded_sequential_pass_is_the_unbounded_one_or_stops():
    from neurocomp.compiler.partition.kernels import STOPPED
    from neurocomp.compiler.partition.problem import build, new_scratch
    from neurocomp.compiler.partition.strategies import sequential

    chip = load_chip("loihi")
    prob = build(_local(3000, 40, 512, 5, True), chip)
    s = new_scratch(prob)
    full = sequential(prob, s, prob.fresh_epochs(prob.n_nodes + 2), None)
    assert full.fail_at == -1 and full.n_cores >= 3
    for bound in (1, full.n_cores - 1, full.n_cores, full.n_cores + 10):
        cut = sequential(prob, s, prob.fresh_epochs(prob.n_nodes + 2), None, bound)
        if bound >= full.n_cores:
            assert cut.fail_code == 0 and np.array_equal(cut.node_core, full.node_core)
        else:
            assert cut.fail_code == STOPPED and cut.n_cores == bound + 1
            # the cores it did fill are the unbounded cut's
            done = cut.node_core >= 0
            assert np.array_equal(cut.node_core[done], full.node_core[done])


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("atom_size", [1, 3])
def test_bfs_neighbours_are_the_atom_graphs_without_weights(shuffle, atom_size):
    # a second implementation: atom_graph's edge list summed into a CSR (compiled), and
    # neighbours' numpy form (np.unique over both directions of every synapse)
    from neurocomp.compiler._jit import python_forms
    from neurocomp.compiler.partition.orderings import atom_graph, atoms, neighbours
    from neurocomp.compiler.partition.problem import build

    prob = build(_local(3000, 40, 512, 7, shuffle), load_chip("loihi"))
    start, stop, atom_of = atoms(prob, atom_size)
    want_ptr, want_nbr, _w = atom_graph(prob, atom_of, start.size)
    ptr, nbr = neighbours(prob, start, stop, atom_of)
    assert np.array_equal(ptr, want_ptr) and np.array_equal(nbr, want_nbr)
    with python_forms():
        ptr, nbr = neighbours(prob, start, stop, atom_of)
    assert np.array_equal(ptr, want_ptr) and np.array_equal(nbr, want_nbr)
