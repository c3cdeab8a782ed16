"""The compiler kernels' Python forms (``compiler._jit``) against the compiled kernels.

A small network is compiled by the Python forms (the kernels' own code run by the
interpreter, or numpy forms of the per-synapse ones), a large one by the Numba kernels.
Both must give the same Mapping, array for array: here every network is compiled both
ways (the size bound set to zero for the compiled one), and the numpy forms are checked
one by one against their kernels on random inputs. A small compile must not load Numba.
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurocomp as nc
from neurocomp.compiler import _lower_kernels as K
from neurocomp.compiler import pipeline
from neurocomp.compiler.partition import kernels as PK
from neurocomp.compiler.partition import orderings
from neurocomp.compiler.route import _fill
from neurocomp.dsl.parse import parse
from neurocomp.ir.build import build

pytestmark = pytest.mark.filterwarnings("ignore::neurocomp.diagnostics.QuantizationWarning")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _compiled(monkeypatch, net, chip, **kw):
    with monkeypatch.context() as m:
        m.setattr(pipeline, "PYTHON_MAX_NEURONS", -1)
        return nc.compile(net, chip, **kw)


def _report(rep):
    """The compile report without its times."""
    if isinstance(rep, dict):
        return {k: _report(v) for k, v in rep.items() if "time" not in k and not k.endswith("_s")}
    if isinstance(rep, (list, tuple)):
        return [_report(v) for v in rep]
    return rep


def assert_same_mapping(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "pass_times_s":
            continue
        if f.name == "compile_report":
            assert _report(dict(x)) == _report(dict(y))
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        elif f.name == "params":
            assert x.keys() == y.keys()
            for k in x:
                assert np.array_equal(x[k], y[k]), k
        elif f.name == "cores":
            assert len(x) == len(y)
            for c, d in zip(x, y):
                for g in dataclasses.fields(c):
                    u, v = getattr(c, g.name), getattr(d, g.name)
                    assert np.array_equal(u, v) if isinstance(u, np.ndarray) else u == v, g.name
        else:
            assert x == y, f.name


def _net(text, tmp_path=None):
    return build(parse(text), str(tmp_path or ROOT))


# Several projections into one population, duplicate pairs and delays in a sparse file,
# a fan-in that splits a population, recurrence, and all-to-all / one-to-one connectors.
_MIXED = """network mixed
dt = 1 ms
input x[40] : rate(value = 0.5, max_rate = 200 Hz, seed = 2)
population a[300] : LIF(beta = 0.5, threshold = 1.0, reset = zero)
population b[70] : LIF(beta = 0.25, threshold = 2.0, reset = zero)
population c[5] : IF(threshold = 1.0, reset = zero)
connect x -> a : sparse(file = "syn.npz", delay = 2 ms)
connect x -> b : all_to_all(weight = 0.25)
connect a -> b : all_to_all(weight = 0.125, delay = 3 ms)
connect b -> b : one_to_one(weight = -0.5)
connect b -> c : all_to_all(weight = 0.75)
connect c -> a : all_to_all(weight = 0.5)
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixed")
    rng = np.random.default_rng(5)
    pre = rng.integers(0, 40, 3000)
    post = rng.integers(0, 300, 3000)
    pre[:50], post[:50] = 3, 7  # one pair fifty times
    np.savez(d / "syn.npz", pre=pre, post=post, weight=rng.uniform(-1, 1, 3000))
    return _net(_MIXED, d)


@pytest.mark.parametrize("partition", ["auto", "sequential", "bfs", "greedy"])
@pytest.mark.parametrize("place", ["anneal", "greedy"])
def test_a_mixed_network_compiles_alike_both_ways(monkeypatch, mixed, partition, place):
    kw = dict(partition=partition, place=place)
    assert pipeline.is_small(mixed)
    assert_same_mapping(nc.compile(mixed, "loihi", **kw), _compiled(monkeypatch, mixed, "loihi", **kw))


@pytest.mark.parametrize("example, chip", [("mnist_mlp", "loihi"), ("mnist_mlp", "truenorth"), ("chain", "loihi"),
                                           ("encoders", "loihi"), ("stdp", "loihi"),
                                           ("digits_cnn_akida", "akida")])
def test_the_examples_compile_alike_both_ways(monkeypatch, example, chip):
    net = nc.api.as_network(EXAMPLES / f"{example}.snn")
    assert pipeline.is_small(net)
    assert_same_mapping(nc.compile(net, chip), _compiled(monkeypatch, net, chip))


def test_a_tight_core_limit_splits_alike_both_ways(monkeypatch, mixed):
    # Cores of 64 neurons: many cores, limits broken and additions undone many times.
    chip = nc.api.resolve_chip("loihi").model_copy(deep=True)
    chip = chip.model_copy(update={"core": chip.core.model_copy(update={"neurons": 64})})
    for partition in ("sequential", "greedy"):
        assert_same_mapping(nc.compile(mixed, chip, partition=partition),
                            _compiled(monkeypatch, mixed, chip, partition=partition))


def test_a_small_compile_loads_no_numba():
    # nc.compile, then the command (which listens for Numba's compiles only once one loads it)
    code = ("import sys, neurocomp as nc; m = nc.compile('examples/mnist_mlp.snn', 'loihi'); "
            "print(len(m.cores), 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=dict(os.environ, NEUROCOMP_VERIFY="0"))
    assert out.stdout.split() == ["2", "False"]
    code = ("import sys; from neurocomp.cli import main; code = main(['compile', 'examples/mnist_mlp.snn', "
            "'--chip', 'loihi', '-q']); print(code, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["0", "False"]


def test_the_size_bound():
    small = _net("network s\ninput x[10] : rate(value = 0.5, max_rate = 100 Hz)\n"
                 "population a[4086] : IF(threshold = 1.0)\nconnect x -> a : all_to_all(weight = 0.5)\n")
    big = _net("network s\ninput x[10] : rate(value = 0.5, max_rate = 100 Hz)\n"
               "population a[4087] : IF(threshold = 1.0)\nconnect x -> a : all_to_all(weight = 0.5)\n")
    assert pipeline.PYTHON_MAX_NEURONS == 4096
    assert pipeline.is_small(small) and not pipeline.is_small(big)


# -- the numpy forms, one by one, on random inputs -------------------------------------

def _csr(rng, n_pre, n_post, nnz, dup):
    pre = np.sort(rng.integers(0, n_pre, nnz))
    post = rng.integers(0, n_post, nnz)
    if not dup:
        key = np.unique(pre * n_post + post)
        pre, post = key // n_post, key % n_post
    else:
        order = np.lexsort((post, pre))
        pre, post = pre[order], post[order]
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    return indptr, post.astype(np.int32)


def _both(kernel, args, outputs):
    """Run the kernel compiled and its Python form on copies of ``args``; compare the
    results and the arrays at ``outputs``."""
    a = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
    b = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
    ra, rb = kernel.compiled(*a), kernel.run_python(*b)
    if ra is not None:
        assert np.array_equal(np.asarray(ra), np.asarray(rb))
    for i in outputs:
        assert np.array_equal(a[i], b[i]), i


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 30), st.integers(1, 30), st.integers(0, 200), st.booleans())
def test_the_csr_kernels_numpy_forms(seed, n_pre, n_post, nnz, dup):
    rng = np.random.default_rng(seed)
    indptr, indices = _csr(rng, n_pre, n_post, nnz, dup)
    off = 3
    _both(PK.csc_count, (indptr, indices, off, np.zeros(off + n_post, np.int64)), [3])
    counts = np.zeros(off + n_post, np.int64)
    PK.csc_count.compiled(indptr, indices, off, counts)
    cursor = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    _both(PK.csc_fill, (indptr, indices, off, 11, cursor, np.zeros(int(counts.sum()), np.int32)), [4, 5])
    _both(PK.has_duplicates, (indptr, indices), [])
    node_core = rng.integers(0, 4, off + n_post).astype(np.int32)
    n = PK.row_axons.compiled(indptr, indices, off, node_core, np.zeros(4, np.int64), np.zeros(4, np.int64), False,
                              np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(1, np.int64))
    _both(PK.row_axons, (indptr, indices, off, node_core, np.zeros(4, np.int64), np.zeros(4, np.int64), True,
                         np.zeros(n, np.int32), np.zeros(n, np.int64), np.zeros(n_pre + 1, np.int64)), [7, 8, 9])
    # nodes: 3 others, the targets, then the sources; atoms of 3 nodes
    atom_of = (np.arange(off + n_post + n_pre) // 3).astype(np.int64)
    m = max(nnz, 1)
    ea, eb, ew = (np.zeros(m, np.int64) for _ in range(3))
    na = int(atom_of.max()) + 1
    args = (indptr, indices, off + n_post, off, atom_of, ea, eb, ew, 0, np.full(na, -1, np.int64), np.zeros(na, np.int64),
            np.zeros(na, np.int64))
    # the edges may come in another order: compare them as sets (atom_graph sorts them)
    a = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
    b = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
    na_, nb_ = orderings._atom_edges.compiled(*a), orderings._atom_edges.run_python(*b)
    assert na_ == nb_
    assert sorted(zip(a[5][:na_], a[6][:na_], a[7][:na_])) == sorted(zip(b[5][:nb_], b[6][:nb_], b[7][:nb_]))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 20), st.integers(1, 20), st.floats(0, 1), st.booleans())
def test_the_lowering_kernels_numpy_forms(seed, n_post, n_pre, density, delays):
    rng = np.random.default_rng(seed)
    w = np.where(rng.random((n_post, n_pre)) < density, rng.normal(size=(n_post, n_pre)), 0.0)
    d = rng.integers(0, 9, (n_post, n_pre)).astype(np.int32)
    counts = K.dense_counts.compiled(w)
    assert np.array_equal(counts, K.dense_counts.run_python(w))
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    _both(K.dense_fill, (w, d, delays, indptr, np.zeros(nnz, np.int32), np.zeros(nnz), np.zeros(nnz, np.int32)),
          [4, 5, 6])
    n = int(rng.integers(0, 60))
    pre, post = rng.integers(0, n_pre, n), rng.integers(0, n_post, n).astype(np.int32)
    _both(K.coo_to_csr, (pre, post, rng.normal(size=n), rng.integers(0, 9, n).astype(np.int32), delays, n_pre,
                         np.zeros(n_pre + 1, np.int64), np.zeros(n, np.int32), np.zeros(n), np.zeros(n, np.int32)),
          [6, 7, 8, 9])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 12), st.integers(1, 12), st.integers(0, 80), st.booleans())
def test_the_routing_fill_numpy_form(seed, n_pre, n_post, nnz, has_delays):
    rng = np.random.default_rng(seed)
    indptr, indices = _csr(rng, n_pre, n_post, nnz, True)
    off, n_cores = 2, 3
    node_core = rng.integers(0, n_cores, off + n_post).astype(np.int32)
    node_local = rng.integers(0, 5, off + n_post).astype(np.int64)
    comp_start = np.array([0, 10, 20], np.int64)
    # axons: one per (row, core) in order of first target, after 4 axons of another projection
    row_ptr = [4]
    ax_core = [0, 1, 2, 0]
    for r in range(n_pre):
        seen = []
        for k in range(indptr[r], indptr[r + 1]):
            c = int(node_core[off + indices[k]])
            if c not in seen:
                seen.append(c)
        ax_core += seen
        row_ptr.append(len(ax_core))
    ax_core = np.array(ax_core, np.int32)
    n_ax = ax_core.size
    new_id = rng.permutation(n_ax).astype(np.int64)
    counts = np.zeros(n_ax, np.int64)
    cursor = np.zeros(n_ax, np.int64)
    for r in range(n_pre):  # synapses per axon (new ids), plus 2 written before
        for k in range(indptr[r], indptr[r + 1]):
            a = next(a for a in range(row_ptr[r], row_ptr[r + 1]) if ax_core[a] == node_core[off + indices[k]])
            counts[new_id[a]] += 1
    counts += 2
    cursor[:] = 2
    syn_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(syn_ptr[-1])
    weights = rng.integers(-100, 100, nnz).astype(np.int64)
    delays = rng.integers(0, 4, max(nnz, 1)).astype(np.int32)
    relayed = rng.random(n_pre) < 0.5
    _both(_fill, (indptr, indices, weights, delays, 1, has_delays, off, node_core, node_local, comp_start,
                  np.array(row_ptr, np.int64), ax_core, new_id, syn_ptr, cursor, relayed, np.zeros(n_cores, np.int64),
                  np.full(total, -1, np.int32), np.full(total, -1, np.int32), np.full(total, -1, np.int16)),
          [14, 17, 18, 19])


def test_compile_listens_for_numba_once_a_kernel_loads_it(monkeypatch):
    from neurocomp.cli import _when_numba_loads
    from neurocomp.compiler import _jit

    events = []

    class Listening:
        def __enter__(self):
            events.append("enter")

        def __exit__(self, *exc):
            events.append("exit")

    monkeypatch.setattr(_jit, "_numba", None)  # as in a process where no kernel loaded Numba yet
    monkeypatch.setattr(_jit, "_on_load", [])
    with _when_numba_loads(Listening):
        assert events == []
    assert events == []  # a small compile: nothing to listen to
    with _when_numba_loads(Listening):
        _jit._load()  # a kernel is called compiled
        assert events == ["enter"]
    assert events == ["enter", "exit"]
