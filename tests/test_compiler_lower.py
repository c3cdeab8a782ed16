"""Lowering projections to CSR synapses, each checked against an independent expectation."""

from __future__ import annotations

import math
import typing

import numpy as np
import pytest
import scipy.signal
import scipy.sparse

from neurocomp.compiler import _lower_kernels as K
from neurocomp.compiler.lower import LOWERINGS, lower, lower_projection
from neurocomp.diagnostics import DslError, InputFileError, Source, Span
from neurocomp.ir.connectors import (
    AllToAll,
    Connector,
    Conv2d,
    Dense,
    OneToOne,
    Pool2d,
    Random,
    Sparse,
)
from neurocomp.ir.network import Network, NeuronModel, Population, Projection
from neurocomp.ir.synapses import Synapses
from neurocomp.ir.values import ArrayValue, Distribution

LIF = NeuronModel(family="lif", beta=0.9)


def pop(name: str, *shape: int) -> Population:
    return Population(name=name, shape=tuple(shape), neuron=LIF)


def arr(values, path: str = "w.npy") -> ArrayValue:
    return ArrayValue(np.array(values), path)


def low(connector: Connector, pre: Population, post: Population | None = None, *,
        delay=0) -> Synapses:
    post = pre if post is None else post
    proj = Projection(name="p", pre=pre.name, post=post.name, connector=connector, delay_steps=delay)
    syn = lower_projection(proj, pre, post)
    check_invariants(syn)
    return syn


def check_invariants(s: Synapses) -> None:
    """The contract every lowering result obeys (module docstring of lower.py)."""
    assert s.indptr.dtype == np.int64 and s.indptr.shape == (s.n_pre + 1,)
    assert s.indices.dtype == np.int32 and s.weights.dtype == np.float64
    assert s.indptr[0] == 0 and np.all(np.diff(s.indptr) >= 0)
    assert len(s.indices) == len(s.weights) == s.indptr[-1]
    if len(s.indices):
        assert 0 <= s.indices.min() and s.indices.max() < s.n_post
    rows = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
    step = np.diff(s.indices.astype(np.int64))
    assert np.all((step >= 0) | (rows[1:] != rows[:-1])), "targets must ascend within a row"
    assert not np.any(s.weights == 0.0)
    if s.delays is not None:
        assert s.delays.dtype == np.int32 and len(s.delays) == len(s.indices)


def to_matrix(s: Synapses) -> np.ndarray:
    """Weights as a dense [post, pre] matrix (duplicates add up)."""
    m = np.zeros((s.n_post, s.n_pre))
    rows = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
    np.add.at(m, (s.indices, rows), s.weights)
    return m


def triples(s: Synapses) -> list[tuple[int, int, float]]:
    rows = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
    return list(zip(rows.tolist(), s.indices.tolist(), s.weights.tolist()))


# -- registry and entry point ----------------------------------------------------------
def test_every_connector_has_a_lowering():
    assert set(LOWERINGS) == set(typing.get_args(Connector))


def test_lower_keys_in_projection_order_and_carries_scalar_delay():
    a, b = pop("a", 3), pop("b", 3)
    projs = (
        Projection(name="z", pre="a", post="b", connector=OneToOne(2.0), delay_steps=3),
        Projection(name="y", pre="b", post="a", connector=AllToAll(0.5)),
    )
    net = Network(name="n", populations={"a": a, "b": b}, projections=projs)
    out = lower(net)
    assert list(out) == ["z", "y"]
    assert out["z"].projection == "z" and out["z"].delay == 3 and out["z"].delays is None
    assert out["y"].delay == 0 and out["y"].n_synapses == 9


def test_lower_names_a_missing_population():
    proj = Projection(name="ab", pre="a", post="bb", connector=OneToOne(1.0))
    net = Network(name="n", populations={"a": pop("a", 2), "b": pop("b", 2)}, projections=(proj,))
    with pytest.raises(DslError, match="projection 'ab': no population named 'bb'") as err:
        lower(net)
    assert "did you mean 'b'" in str(err.value)


def test_errors_point_at_the_projection_line():
    text = "population a[3] : LIF(beta = 0.9)\nconnect a -> a : random(p = 2, weight = 1, seed = 1)\n"
    src = Source("net.snn", text)
    start = text.index("connect")
    proj = Projection(name="a_to_a", pre="a", post="a", connector=Random(2.0, 1.0, 1),
                      span=Span(start, len(text) - 1, src))
    with pytest.raises(DslError) as err:
        lower_projection(proj, pop("a", 3), pop("a", 3))
    assert str(err.value).splitlines()[:3] == [
        "net.snn:2:1: error: projection 'a_to_a': p = 2.0 is not a probability",
        " 2 | connect a -> a : random(p = 2, weight = 1, seed = 1)",
        "   | " + "^" * len("connect a -> a : random(p = 2, weight = 1, seed = 1)"),
    ]


@pytest.mark.parametrize("delay", [-1, 1.5, "2"])
def test_bad_scalar_delay_is_a_dsl_error(delay):
    with pytest.raises(DslError, match="delay"):
        low(OneToOne(1.0), pop("a", 2), delay=delay)


# -- dense -----------------------------------------------------------------------------
def test_dense_is_the_nonzeros_of_the_matrix():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(7, 5)) * (rng.random((7, 5)) < 0.5)  # [post, pre]
    s = low(Dense(arr(w)), pop("a", 5), pop("b", 7))
    # CSC of [post, pre] is CSR by pre: scipy gives the expectation independently.
    ref = scipy.sparse.csc_matrix(w)
    ref.sort_indices()
    np.testing.assert_array_equal(s.indptr, ref.indptr)
    np.testing.assert_array_equal(s.indices, ref.indices)
    np.testing.assert_array_equal(s.weights, ref.data)
    assert s.delays is None


def test_dense_accepts_integer_and_float32_files_and_nd_populations():
    w = np.array([[0, 2, 0, 0], [1, 0, 0, 3], [0, 0, 0, 0]], dtype=np.int16)
    s = low(Dense(arr(w)), pop("a", 2, 2), pop("b", 3))
    assert triples(s) == [(0, 1, 1.0), (1, 0, 2.0), (3, 1, 3.0)]
    s32 = low(Dense(arr(w.astype(np.float32))), pop("a", 2, 2), pop("b", 3))
    np.testing.assert_array_equal(to_matrix(s32), w)


def test_dense_delays_follow_the_weights_layout():
    w = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 4.0]])
    d = np.array([[5, 9, 6], [9, 7, 8]])
    s = low(Dense(arr(w)), pop("a", 3), pop("b", 2), delay=arr(d, "d.npy"))
    rows = np.repeat(np.arange(3), np.diff(s.indptr))
    np.testing.assert_array_equal(s.delays, d[s.indices, rows])
    assert s.delays.tolist() == [5, 7, 6, 8]  # dropped zeros take their delays with them


def test_dense_wrong_shape_and_nan_are_file_errors():
    with pytest.raises(InputFileError, match=r"'w.npy' has shape \[3, 2\].*\[post, pre\] = \[2, 3\]"):
        low(Dense(arr(np.ones((3, 2)))), pop("a", 3), pop("b", 2))
    with pytest.raises(InputFileError, match="NaN or infinite"):
        low(Dense(arr([[1.0, np.nan]])), pop("a", 2), pop("b", 1))
    with pytest.raises(InputFileError, match="not whole numbers"):
        low(Dense(arr([[1.0, 1.0]])), pop("a", 2), pop("b", 1), delay=arr([[1.5, 2]], "d.npy"))
    with pytest.raises(InputFileError, match="delay of -1"):
        low(Dense(arr([[1.0, 1.0]])), pop("a", 2), pop("b", 1), delay=arr([[1, -1]], "d.npy"))
    with pytest.raises(InputFileError, match="has 3 delays"):
        low(Dense(arr([[1.0, 1.0]])), pop("a", 2), pop("b", 1), delay=arr([1, 2, 3], "d.npy"))


# -- sparse ----------------------------------------------------------------------------
def test_sparse_sorts_keeps_duplicates_in_file_order_and_drops_zeros():
    pre = np.array([2, 0, 2, 1, 0, 2, 0])
    post = np.array([1, 3, 0, 2, 3, 1, 0])
    w = np.array([1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 7.0])
    d = np.array([10, 11, 12, 13, 14, 15, 16])
    s = low(Sparse(pre, post, w, "s.npz"), pop("a", 4), pop("b", 4), delay=arr(d, "s.npz"))
    # Expected: sort the nonzero entries by (pre, post, position in the file).
    keep = [k for k in range(len(w)) if w[k] != 0]
    order = sorted(keep, key=lambda k: (pre[k], post[k], k))
    assert triples(s) == [(int(pre[k]), int(post[k]), float(w[k])) for k in order]
    assert s.delays.tolist() == [int(d[k]) for k in order]
    assert s.indptr.tolist() == [0, 3, 3, 6, 6]
    assert to_matrix(s)[3, 0] == 7.0  # the duplicate pair's inputs add up


def test_sparse_large_random_coo_matches_scipy():
    rng = np.random.default_rng(1)
    n = 20_000
    pre, post = rng.integers(0, 300, n), rng.integers(0, 200, n)
    w = rng.normal(size=n)
    s = low(Sparse(pre, post, w, "s.npz"), pop("a", 300), pop("b", 200))
    ref = scipy.sparse.coo_matrix((w, (post, pre)), shape=(200, 300)).toarray()
    np.testing.assert_allclose(to_matrix(s), ref, rtol=1e-12, atol=1e-12)


def test_sparse_bad_indices_are_file_errors():
    with pytest.raises(InputFileError, match="postsynaptic index 5, but the target population has 3"):
        low(Sparse(np.array([0]), np.array([5]), np.array([1.0]), "s.npz"), pop("a", 2), pop("b", 3))
    with pytest.raises(InputFileError, match="presynaptic index -1"):
        low(Sparse(np.array([-1]), np.array([0]), np.array([1.0]), "s.npz"), pop("a", 2), pop("b", 3))
    with pytest.raises(InputFileError, match="lengths 2, 1, 1"):
        low(Sparse(np.array([0, 1]), np.array([0]), np.array([1.0]), "s.npz"), pop("a", 2), pop("b", 3))


# -- one_to_one and all_to_all ---------------------------------------------------------
def test_one_to_one_scalar_and_per_neuron_weights():
    s = low(OneToOne(1.5), pop("a", 2, 2), pop("b", 4))
    assert triples(s) == [(i, i, 1.5) for i in range(4)]
    s = low(OneToOne(arr([[1.0, 0.0], [3.0, 4.0]])), pop("a", 2, 2), pop("b", 4),
            delay=arr([1, 2, 3, 4], "d.npy"))
    assert triples(s) == [(0, 0, 1.0), (2, 2, 3.0), (3, 3, 4.0)]
    assert s.indptr.tolist() == [0, 1, 1, 2, 3] and s.delays.tolist() == [1, 3, 4]
    with pytest.raises(InputFileError, match="has 3 weights, one_to_one needs 4"):
        low(OneToOne(arr([1.0, 2.0, 3.0])), pop("a", 4), pop("b", 4))


def test_all_to_all_exact():
    s = low(AllToAll(0.25), pop("a", 3), pop("b", 2))
    assert triples(s) == [(i, j, 0.25) for i in range(3) for j in range(2)]
    assert low(AllToAll(0.0), pop("a", 3), pop("b", 2)).n_synapses == 0


def test_all_to_all_without_self_skips_the_diagonal_only_when_recurrent():
    a = pop("a", 4)
    s = low(AllToAll(1.0, allow_self=False), a)
    assert triples(s) == [(i, j, 1.0) for i in range(4) for j in range(4) if i != j]
    # A -> B of equal size: there is no "self", so i -> i stays.
    s = low(AllToAll(1.0, allow_self=False), a, pop("b", 4))
    assert s.n_synapses == 16


def test_all_to_all_delays_are_post_pre():
    d = np.arange(9).reshape(3, 3)
    s = low(AllToAll(1.0, allow_self=False), pop("a", 3), delay=arr(d, "d.npy"))
    rows = np.repeat(np.arange(3), np.diff(s.indptr))
    np.testing.assert_array_equal(s.delays, d[s.indices, rows])


# -- random ----------------------------------------------------------------------------
def rand(p=0.05, weight=1.0, seed=1, allow_self=True, n=2000, recurrent=True) -> Synapses:
    a = pop("a", n)
    return low(Random(p, weight, seed, allow_self), a, a if recurrent else pop("b", n))


def test_random_fraction_and_row_counts_are_bernoulli():
    n, p = 2000, 0.05
    s = rand(p=p, n=n)
    mean, sd = n * n * p, math.sqrt(n * n * p * (1 - p))
    assert abs(s.n_synapses - mean) < 5 * sd
    # Each row count is Binomial(n, p): its variance is n·p·(1-p), not that of some
    # other law with the same mean (e.g. a fixed count per row has variance 0).
    counts = np.diff(s.indptr)
    var_ref = n * p * (1 - p)
    assert abs(counts.var(ddof=1) / var_ref - 1) < 0.15
    # Targets are uniform: every tenth of the target range gets a tenth of the synapses.
    per_tenth = np.bincount(s.indices // (n // 10), minlength=10)
    assert np.all(np.abs(per_tenth - mean / 10) < 5 * math.sqrt(mean / 10))


def test_random_is_deterministic_per_seed_and_differs_between_seeds():
    a, b, c = rand(seed=7, n=500), rand(seed=7, n=500), rand(seed=8, n=500)
    for x, y in ((a.indptr, b.indptr), (a.indices, b.indices), (a.weights, b.weights)):
        np.testing.assert_array_equal(x, y)
    assert a.n_synapses != c.n_synapses or not np.array_equal(a.indices, c.indices)


def test_random_same_bits_on_any_machine():
    """Pinned output: the generator uses integer arithmetic and + - * / only, so these
    exact values must come out everywhere. If this fails, the seed -> synapses mapping
    changed, which breaks every saved network that relies on it."""
    s = rand(p=0.2, weight=Distribution("normal", 0.5, 0.1), seed=42, n=20, allow_self=False)
    assert s.indptr[:6].tolist() == PINNED_INDPTR
    assert s.indices[:8].tolist() == PINNED_INDICES
    assert [w.hex() for w in s.weights[:4].tolist()] == PINNED_WEIGHTS


def test_random_without_self_never_connects_i_to_i():
    s = rand(p=0.5, allow_self=False, n=300)
    rows = np.repeat(np.arange(300), np.diff(s.indptr))
    assert not np.any(rows == s.indices)
    full = rand(p=1.0, allow_self=False, n=50)
    assert full.n_synapses == 50 * 49
    # On A -> B there is no self to skip.
    assert rand(p=1.0, allow_self=False, n=50, recurrent=False).n_synapses == 2500


def test_random_normal_and_uniform_weights():
    s = rand(p=0.05, weight=Distribution("normal", 0.3, 0.1), n=2000)
    se = 0.1 / math.sqrt(s.n_synapses)
    assert abs(s.weights.mean() - 0.3) < 5 * se
    assert abs(s.weights.std() / 0.1 - 1) < 0.01
    # Fraction within one std of the mean: 68.27 % for a normal law.
    assert abs(np.mean(np.abs(s.weights - 0.3) < 0.1) - 0.6827) < 0.01
    u = rand(p=0.05, weight=Distribution("uniform", -1.0, 3.0), n=2000)
    assert u.weights.min() >= -1.0 and u.weights.max() < 3.0
    assert abs(u.weights.mean() - 1.0) < 5 * (4 / math.sqrt(12)) / math.sqrt(u.n_synapses)
    assert abs(u.weights.var() / (16 / 12) - 1) < 0.02


def test_random_weight_law_does_not_change_which_synapses_exist():
    a = rand(seed=3, weight=0.5, n=400)
    b = rand(seed=3, weight=Distribution("normal", 0.0, 1.0), n=400)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)


def test_random_edge_cases():
    assert rand(p=0.0).n_synapses == 0
    assert rand(p=0.5, weight=0.0).n_synapses == 0
    assert rand(p=1.0, n=30).n_synapses == 900
    with pytest.raises(DslError, match="p = 1.5 is not a probability"):
        rand(p=1.5)
    with pytest.raises(DslError, match="negative standard deviation"):
        rand(weight=Distribution("normal", 0.0, -1.0))
    with pytest.raises(DslError, match="no fixed synapse layout"):
        low(Random(0.1, 1.0, 1), pop("a", 3), delay=arr([1, 2, 3], "d.npy"))


def test_random_grows_and_resumes_when_the_estimate_is_short(monkeypatch):
    """Force the rare path (more synapses than mean + 8 sd) by capping the first
    allocation: the result must be the same as without the cap."""
    ref = rand(p=0.1, n=300, weight=Distribution("uniform", 0.0, 1.0))
    real_fill = K.random_fill
    calls = []

    def short_first_call(n_pre, n_post, lp, ss, wk, wa, wb, kc, kw, row, pos, indptr, idx, w):
        calls.append(row)
        if row == 0:
            idx, w = idx[:100], w[:100]
        return real_fill(n_pre, n_post, lp, ss, wk, wa, wb, kc, kw, row, pos, indptr, idx, w)

    monkeypatch.setattr(K, "random_fill", short_first_call)
    s = rand(p=0.1, n=300, weight=Distribution("uniform", 0.0, 1.0))
    assert len(calls) == 2 and 0 < calls[1] < 300  # stopped mid-way, resumed once
    for x, y in ((s.indptr, ref.indptr), (s.indices, ref.indices), (s.weights, ref.weights)):
        np.testing.assert_array_equal(x, y)


def test_portable_log_matches_math_log():
    x = np.concatenate([np.random.default_rng(2).random(20_000), [1e-300, 2.0 ** -53, 0.5, 1.0, 3.7e5]])
    for v in x[x > 0]:
        ref = math.log(v)
        assert abs(K.portable_log(v) - ref) <= 4 * math.ulp(ref) + 1e-300
    for v in (-0.9, -0.2, -1e-4, -1e-12, 1e-6, 0.3):
        assert abs(K.portable_log1p(v) - math.log1p(v)) <= 4 * math.ulp(math.log1p(v))


# -- conv2d and pooling ----------------------------------------------------------------
def reference_conv(x: np.ndarray, k: np.ndarray, stride, padding) -> np.ndarray:
    """PyTorch conv2d (cross-correlation, zero padding) from scipy's correlate2d."""
    (sy, sx), (py, px) = stride, padding
    xp = np.pad(x, ((0, 0), (py, py), (px, px)))
    out = []
    for co in range(k.shape[0]):
        acc = sum(scipy.signal.correlate2d(xp[ci], k[co, ci], mode="valid") for ci in range(k.shape[1]))
        out.append(acc[::sy, ::sx])
    return np.stack(out)


def apply(s: Synapses, x: np.ndarray) -> np.ndarray:
    """What the targets receive when the sources emit ``x``: W^T x through the CSR."""
    csr = scipy.sparse.csr_matrix((s.weights, s.indices, s.indptr), shape=(s.n_pre, s.n_post))
    return csr.T @ x.reshape(-1)


@pytest.mark.parametrize("c_in,c_out,hw,khw,stride,padding", [
    (1, 1, (5, 5), (3, 3), (1, 1), (0, 0)),
    (2, 3, (8, 7), (3, 3), (1, 1), (1, 1)),
    (3, 2, (9, 9), (3, 3), (2, 2), (1, 1)),
    (2, 4, (10, 8), (5, 3), (2, 1), (2, 0)),
    (1, 2, (7, 7), (2, 2), (3, 2), (0, 1)),
    (4, 1, (6, 6), (1, 1), (1, 1), (0, 0)),
    (2, 2, (4, 4), (3, 3), (1, 1), (2, 2)),  # padding > kernel/2: border taps see only zeros
])
def test_conv2d_matches_reference_convolution(c_in, c_out, hw, khw, stride, padding):
    rng = np.random.default_rng(sum(hw) + c_in)
    k = rng.normal(size=(c_out, c_in, *khw))
    k[rng.random(k.shape) < 0.2] = 0.0  # zero taps are no synapse
    x = rng.normal(size=(c_in, *hw))
    ref = reference_conv(x, k, stride, padding)
    s = low(Conv2d(arr(k, "k.npy"), stride, padding), pop("a", c_in, *hw), pop("b", *ref.shape))
    np.testing.assert_allclose(apply(s, x), ref.reshape(-1), rtol=1e-12, atol=1e-12)
    # Each synapse is one tap: no pair appears twice.
    rows = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
    assert len(set(zip(rows.tolist(), s.indices.tolist()))) == s.n_synapses


def test_conv2d_delays_per_kernel_tap():
    k = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])  # 1x1x2x2
    d = np.array([[[[10, 20], [30, 40]]]])
    s = low(Conv2d(arr(k, "k.npy")), pop("a", 1, 2, 2), pop("b", 1, 1, 1), delay=arr(d, "d.npy"))
    # Only output (0, 0): input (y, x) meets tap (y, x).
    assert triples(s) == [(0, 0, 1.0), (1, 0, 2.0), (2, 0, 3.0), (3, 0, 4.0)]
    assert s.delays.tolist() == [10, 20, 30, 40]


def test_conv2d_inconsistent_shapes_are_errors():
    k = arr(np.ones((2, 1, 3, 3)), "k.npy")
    with pytest.raises(InputFileError, match=r"'k.npy' has shape \[2, 1, 3, 3\]"):
        low(Conv2d(k), pop("a", 2, 5, 5), pop("b", 2, 3, 3))
    with pytest.raises(DslError, match=r"gives \[2, 3, 3\], but the target is \[2, 4, 4\]"):
        low(Conv2d(k), pop("a", 1, 5, 5), pop("b", 2, 4, 4))


def test_sum_pool_by_hand():
    s = low(Pool2d("sum", (2, 2), (2, 2)), pop("a", 1, 4, 4), pop("b", 1, 2, 2))
    # Input (y, x) feeds output (y // 2, x // 2): one synapse each, weight 1.
    assert triples(s) == [(y * 4 + x, (y // 2) * 2 + x // 2, 1.0) for y in range(4) for x in range(4)]


def test_avg_pool_overlapping_windows_and_channels():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 6, 5))
    s = low(Pool2d("avg", (3, 2), (2, 1)), pop("a", 3, 6, 5), pop("b", 3, 2, 4))
    assert np.all(s.weights == 1 / 6)
    ref = np.array([[[x[c, 2 * oy:2 * oy + 3, ox:ox + 2].mean() for ox in range(4)] for oy in range(2)]
                    for c in range(3)])
    np.testing.assert_allclose(apply(s, x), ref.reshape(-1), rtol=1e-12)
    # Per channel: no synapse crosses channels.
    rows = np.repeat(np.arange(s.n_pre), np.diff(s.indptr))
    assert np.all(rows // 30 == s.indices // 8)


def test_pool_shape_mismatch_is_a_dsl_error():
    with pytest.raises(DslError, match=r"sum_pool of \[1, 4, 4\].*gives \[1, 2, 2\]"):
        low(Pool2d("sum", (2, 2), (2, 2)), pop("a", 1, 4, 4), pop("b", 1, 3, 3))


# Output of rand(p=0.2, weight=normal(0.5, 0.1), seed=42, n=20, allow_self=False).
PINNED_INDPTR = [0, 6, 10, 13, 17, 21]
PINNED_INDICES = [1, 5, 6, 9, 12, 19, 0, 9]
PINNED_WEIGHTS = ["0x1.91191cca263e8p-2", "0x1.c17b0297a2b72p-2", "0x1.6b07b3ac924a0p-1",
                  "0x1.0310f06c5b5a8p-2"]
