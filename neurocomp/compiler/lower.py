"""Lowering: every projection of a :class:`~neurocomp.ir.network.Network` to explicit synapses.

Input: a built ``Network`` (connector shapes were checked by the builder; they are
checked again here so a network made in Python cannot slip through).
Output: one :class:`~neurocomp.ir.synapses.Synapses` per projection, CSR by
presynaptic neuron.

Invariants of every result:

* ``indptr`` is int64 of length ``n_pre + 1``, starts at 0, never decreases, and ends
  at the number of synapses;
* ``indices`` is int32, flat target indices (C order of the target's shape), ascending
  within a row (non-decreasing: a sparse file may list one pair twice);
* ``weights`` is float64 and no weight is exactly 0 (a zero weight is no synapse);
* ``delays`` is ``None`` when the projection has one delay (then in ``delay``), or
  int32 per synapse, aligned with ``indices``, when the user gave an array;
* the result depends only on the network: the same random seed gives the same synapses
  on any machine (see :mod:`neurocomp.compiler._lower_kernels`).

Each connector type has one function in a registry (:data:`LOWERINGS`), looked up by
the connector's type. Per-synapse work runs in Numba kernels or vectorised NumPy, never
in a Python loop per synapse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple, TypeVar

import numpy as np

from ..diagnostics import DslError, InputFileError, did_you_mean
from ..ir.connectors import (
    AllToAll,
    Conv2d,
    Dense,
    OneToOne,
    Pool2d,
    Random,
    Sparse,
    conv_output_hw,
)
from ..ir.network import Network, Population, Projection
from ..ir.synapses import Synapses
from ..ir.values import ArrayValue, Distribution
from ..resources import require_memory
from . import _lower_kernels as K

__all__ = ["lower", "lower_projection", "LOWERINGS", "LowerJob", "Csr"]

_INT32_MAX = np.iinfo(np.int32).max


class Csr(NamedTuple):
    """What a connector's lowering returns: CSR arrays, ``delays`` only if per synapse."""

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    delays: np.ndarray | None = None


@dataclass(frozen=True)
class LowerJob:
    """What every lowering function is asked: one projection and its two populations."""

    projection: Projection
    pre: Population
    post: Population

    @property
    def n_pre(self) -> int:
        return self.pre.size

    @property
    def n_post(self) -> int:
        return self.post.size

    @property
    def recurrent(self) -> bool:
        """The projection connects a population to itself (``A -> A``)."""
        return self.projection.pre == self.projection.post

    @property
    def where(self) -> str:
        return f"projection {self.projection.name!r}"

    def bad(self, message: str, hint: str | None = None) -> DslError:
        """An error in how the projection was written, pointing at its line."""
        return DslError(f"{self.where}: {message}", span=self.projection.span, where=self.where,
                        hint=hint)

    def bad_file(self, path: str, message: str, hint: str | None = None) -> InputFileError:
        """An error in a file the projection reads."""
        return InputFileError(f"{self.where}: '{path}' {message}", span=self.projection.span,
                              where=self.where, hint=hint)

    @property
    def delay_file(self) -> ArrayValue | None:
        d = self.projection.delay_steps
        return d if isinstance(d, ArrayValue) else None

    def delay_array(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """The per-synapse delay array laid out as ``shape``, or ``None`` for one delay.

        Checked: the right number of values, whole numbers, ``0 <= d <= 2^31 - 1``.
        """
        d = self.delay_file
        if d is None:
            return None
        values = np.asarray(d.values)
        if values.size != math.prod(shape):
            raise self.bad_file(d.path, f"has {values.size} delays of shape {list(values.shape)}, "
                                f"but the synapses are laid out as {list(shape)}",
                                hint="give one delay per weight, in the weights' layout")
        values = values.reshape(shape)
        if values.dtype.kind not in "iu":
            if values.dtype.kind != "f" or not np.all(np.isfinite(values)) \
                    or not np.all(values == np.round(values)):
                raise self.bad_file(d.path, "holds delays that are not whole numbers of steps")
        if values.size and (values.min() < 0 or values.max() > _INT32_MAX):
            bad = values.min() if values.min() < 0 else values.max()
            raise self.bad_file(d.path, f"holds a delay of {int(bad)} steps; delays must be "
                                "between 0 and 2^31 - 1")
        return np.ascontiguousarray(values, dtype=np.int32)

    def no_delay_file(self, connector: str) -> None:
        """Refuse a per-synapse delay file where synapses have no fixed layout."""
        d = self.delay_file
        if d is not None:
            raise self.bad(f"{connector} has no fixed synapse layout for a delay file ('{d.path}')",
                           hint="give one delay for all synapses, e.g. delay = 2")


C = TypeVar("C")
LowerFn = Callable[[C, LowerJob], Csr]

_REGISTRY: dict[type, LowerFn] = {}

LOWERINGS: Mapping[type, LowerFn] = MappingProxyType(_REGISTRY)
"""Connector type -> the function that lowers it (read-only view of the registry)."""


def _register(kind: type) -> Callable[[LowerFn], LowerFn]:
    def add(fn: LowerFn) -> LowerFn:
        _REGISTRY[kind] = fn
        return fn

    return add


# -- entry points ----------------------------------------------------------------------
def lower(network: Network) -> dict[str, Synapses]:
    """Every projection of ``network`` as explicit synapses.

    Parameters
    ----------
    network
        A built network. Each projection's ``pre`` and ``post`` name one of its
        populations.

    Returns
    -------
    dict[str, Synapses]
        Keyed by projection name, in the network's projection order. Each value obeys
        the invariants in the module docstring.

    Raises
    ------
    DslError
        A projection names a population the network does not have, or its parameters
        do not fit its populations.
    InputFileError
        A weight, kernel or delay file does not fit (wrong shape, non-finite values,
        out-of-range indices).
    """
    out: dict[str, Synapses] = {}
    for proj in network.projections:
        pops = []
        for end in (proj.pre, proj.post):
            pop = network.populations.get(end)
            if pop is None:
                raise DslError(f"projection {proj.name!r}: no population named {end!r}",
                               span=proj.span, where=f"projection {proj.name!r}",
                               hint=did_you_mean(end, network.populations))
            pops.append(pop)
        out[proj.name] = lower_projection(proj, pops[0], pops[1])
    return out


def lower_projection(projection: Projection, pre: Population, post: Population) -> Synapses:
    """One projection as CSR by presynaptic neuron.

    Parameters
    ----------
    projection
        The projection; its connector's type selects the function in :data:`LOWERINGS`.
    pre, post
        Its source and target populations (``projection.pre`` / ``projection.post``).

    Returns
    -------
    Synapses
        ``n_pre = pre.size`` rows over ``n_post = post.size`` targets; invariants in the
        module docstring. A single ``delay_steps`` becomes ``Synapses.delay``; a delay
        file becomes ``Synapses.delays``.
    """
    job = LowerJob(projection, pre, post)
    if post.size > _INT32_MAX + 1:
        raise job.bad(f"the target {post.name!r} has {post.size} neurons; at most 2^31 can be "
                      "addressed", hint="split the population")
    fn = _REGISTRY.get(type(projection.connector))
    if fn is None:
        raise job.bad(f"no lowering for connector {type(projection.connector).__name__}",
                      hint="known: " + ", ".join(sorted(k.__name__ for k in _REGISTRY)))
    delay = 0 if isinstance(projection.delay_steps, ArrayValue) else _scalar_delay(job)
    expected = _expected_synapses(projection.connector, job)
    if expected is not None:  # Python ints: 200,000 x 200,000 is 4e10, refused before np.tile
        require_memory(expected * _BYTES_PER_SYNAPSE + (job.n_pre + 1) * 8,
                       f"projection '{projection.name}' ({expected:,} synapses)", where=job.where,
                       span=projection.span, hint="use fewer neurons or a sparser connector")
    csr = fn(projection.connector, job)
    return Synapses(projection=projection.name, n_pre=pre.size, n_post=post.size,
                    indptr=csr.indptr, indices=csr.indices, weights=csr.weights,
                    delay=delay, delays=csr.delays)


#: What lowering holds per synapse at least: an int32 target and a float64 weight.
_BYTES_PER_SYNAPSE = 4 + 8


def estimated_bytes(network: Network) -> int:
    """A lower bound of what :func:`lower` holds for ``network``: a float64 per neuron and
    :data:`_BYTES_PER_SYNAPSE` per synapse of the connectors whose size is fixed by their
    parameters (Python integers: no wrap-around)."""
    total = 8 * sum(pop.size for pop in network.populations.values())
    for proj in network.projections:
        pre, post = network.populations.get(proj.pre), network.populations.get(proj.post)
        if pre is not None and post is not None:
            n = _expected_synapses(proj.connector, LowerJob(proj, pre, post))
            total += _BYTES_PER_SYNAPSE * (n or 0)
    return total


def _expected_synapses(conn: Any, job: LowerJob) -> int | None:
    """The synapses a connector whose size its parameters fix will make (``None`` for
    the others: files are already in memory, convolutions count before they fill)."""
    if isinstance(conn, AllToAll):
        return job.n_pre * job.n_post
    if isinstance(conn, OneToOne):
        return job.n_pre
    if isinstance(conn, Random) and isinstance(conn.p, (int, float)) and 0.0 <= conn.p <= 1.0:
        return int(conn.p * job.n_pre * job.n_post)
    return None


def _scalar_delay(job: LowerJob) -> int:
    d = job.projection.delay_steps
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer, float, np.floating)) \
            or not math.isfinite(d) or d != int(d):
        raise job.bad(f"delay {d!r} is not a whole number of steps")
    if not 0 <= d <= _INT32_MAX:
        raise job.bad(f"delay {int(d)} is out of range; delays are between 0 and 2^31 - 1 steps")
    return int(d)


# -- helpers ---------------------------------------------------------------------------
def _empty(n_pre: int) -> Csr:
    return Csr(np.zeros(n_pre + 1, dtype=np.int64), np.zeros(0, dtype=np.int32),
               np.zeros(0, dtype=np.float64))


def _finite_weights(job: LowerJob, values: np.ndarray, path: str) -> np.ndarray:
    out = np.ascontiguousarray(values, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise job.bad_file(path, "holds NaN or infinite weights", hint="every weight must be a finite number")
    return out


def _finite_number(job: LowerJob, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise job.bad(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _pair(job: LowerJob, name: str, value: tuple[int, int], low: int) -> tuple[int, int]:
    pair = tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= low for v in pair):
        raise job.bad(f"{name} must be two whole numbers >= {low}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _chw(job: LowerJob, kind: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    pre, post = tuple(job.pre.shape), tuple(job.post.shape)
    if len(pre) != 3 or len(post) != 3:
        raise job.bad(f"{kind} connects [C, H, W] populations, got {list(pre)} -> {list(post)}")
    return pre, post  # type: ignore[return-value]


# -- one function per connector --------------------------------------------------------
@_register(Dense)
def _lower_dense(conn: Dense, job: LowerJob) -> Csr:
    """Every nonzero ``w[post, pre]`` is a synapse; a delay file is laid out alike."""
    shape = (job.n_post, job.n_pre)
    if conn.weights.values.shape != shape:
        raise job.bad_file(conn.weights.path, f"has shape {list(conn.weights.values.shape)}, but "
                           f"{list(job.post.shape)} <- {list(job.pre.shape)} needs [post, pre] = {list(shape)}")
    w = _finite_weights(job, conn.weights.values, conn.weights.path)
    d = job.delay_array(shape)
    counts = K.dense_counts(w)
    indptr = np.zeros(job.n_pre + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    weights = np.empty(nnz, dtype=np.float64)
    delays = np.empty(nnz if d is not None else 0, dtype=np.int32)
    K.dense_fill(w, d if d is not None else np.zeros((1, 1), dtype=np.int32), d is not None,
                 indptr, indices, weights, delays)
    return Csr(indptr, indices, weights, delays if d is not None else None)


@_register(Sparse)
def _lower_sparse(conn: Sparse, job: LowerJob) -> Csr:
    """COO synapses sorted into CSR; zero weights dropped.

    Several entries for one ``(pre, post)`` pair stay separate synapses (their inputs
    add up, as two physical synapses would), in the order the file lists them. A delay
    file has one delay per listed entry.
    """
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    n = len(conn.weights)
    if pre.ndim != 1 or post.ndim != 1 or np.ndim(conn.weights) != 1 or len(pre) != n or len(post) != n:
        raise job.bad_file(conn.path, f"has pre, post and weight arrays of lengths "
                           f"{pre.size}, {post.size}, {np.size(conn.weights)}; they must be 1-D and equal")
    for name, idx, size in (("presynaptic", pre, job.n_pre), ("postsynaptic", post, job.n_post)):
        if idx.dtype.kind not in "iu" and not (idx.dtype.kind == "f" and np.all(idx == np.floor(idx))):
            raise job.bad_file(conn.path, f"has {name} indices that are not whole numbers")
        if n and (idx.min() < 0 or idx.max() >= size):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise job.bad_file(conn.path, f"has a {name} index {int(bad)}, but the "
                               f"{'source' if name == 'presynaptic' else 'target'} population has {size} neurons")
    w = _finite_weights(job, conn.weights, conn.path)
    d = job.delay_array((n,))
    keep = w != 0.0
    if not keep.all():
        pre, post, w = pre[keep], post[keep], w[keep]
        d = d[keep] if d is not None else None
    nnz = len(w)
    indptr = np.zeros(job.n_pre + 1, dtype=np.int64)
    indices = np.empty(nnz, dtype=np.int32)
    weights = np.empty(nnz, dtype=np.float64)
    delays = np.empty(nnz if d is not None else 0, dtype=np.int32)
    K.coo_to_csr(pre.astype(np.int64, copy=False), post.astype(np.int32, copy=False), w,
                 d if d is not None else np.zeros(1, dtype=np.int32), d is not None,
                 job.n_pre, indptr, indices, weights, delays)
    return Csr(indptr, indices, weights, delays if d is not None else None)


@_register(OneToOne)
def _lower_one_to_one(conn: OneToOne, job: LowerJob) -> Csr:
    """Source ``i`` -> target ``i``; a weight (or delay) file has one value per neuron."""
    n = job.n_pre
    if job.n_post != n:
        raise job.bad(f"one_to_one needs equal sizes, got {list(job.pre.shape)} -> {list(job.post.shape)}")
    if isinstance(conn.weight, ArrayValue):
        if conn.weight.values.size != n:
            raise job.bad_file(conn.weight.path, f"has {conn.weight.values.size} weights, one_to_one needs {n}")
        w = _finite_weights(job, conn.weight.values.reshape(-1), conn.weight.path)
    else:
        w = np.full(n, _finite_number(job, "weight", conn.weight), dtype=np.float64)
    d = job.delay_array((n,))
    keep = w != 0.0
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(keep, out=indptr[1:])
    indices = np.flatnonzero(keep).astype(np.int32)
    return Csr(indptr, indices, w[keep], d[keep] if d is not None else None)


@_register(AllToAll)
def _lower_all_to_all(conn: AllToAll, job: LowerJob) -> Csr:
    """Every pair; ``allow_self=False`` drops ``i -> i`` when the projection is ``A -> A``.

    A delay file is laid out ``[post, pre]`` like a dense matrix (its ``i -> i`` entries
    are ignored when those synapses are skipped).
    """
    n_pre, n_post = job.n_pre, job.n_post
    w = _finite_number(job, "weight", conn.weight)
    d = job.delay_array((n_post, n_pre))
    if w == 0.0 or n_pre == 0 or n_post == 0:
        return _empty(n_pre)
    skip_self = not conn.allow_self and job.recurrent
    row_len = n_post - 1 if skip_self else n_post
    indptr = np.arange(n_pre + 1, dtype=np.int64) * row_len
    if skip_self:
        # Row i: 0..n-2 with every target >= i shifted up by one, i.e. all but i.
        cols = np.arange(row_len, dtype=np.int32)
        idx = cols[None, :] + (cols[None, :] >= np.arange(n_pre, dtype=np.int32)[:, None])
        indices = idx.astype(np.int32, copy=False).reshape(-1)
    else:
        indices = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
    weights = np.full(len(indices), w, dtype=np.float64)
    delays = None
    if d is not None:
        rows = np.repeat(np.arange(n_pre, dtype=np.int64), row_len)
        delays = d.T[rows, indices]  # d is [post, pre]
    return Csr(indptr, indices, weights, delays)


@_register(Random)
def _lower_random(conn: Random, job: LowerJob) -> Csr:
    """Bernoulli(``p``) per (pre, post) pair, seeded by ``seed``.

    See :func:`neurocomp.compiler._lower_kernels.random_fill` for the draw.

    The rows are filled in one pass into arrays sized for the expected count plus
    eight standard deviations (grown and resumed in the rare case that is not enough),
    so memory is the result's size plus a few kilobytes of slack.
    """
    job.no_delay_file("random")
    p = _finite_number(job, "p", conn.p)
    if not 0.0 <= p <= 1.0:
        raise job.bad(f"p = {p} is not a probability", hint="p must be between 0 and 1")
    if isinstance(conn.seed, bool) or not isinstance(conn.seed, (int, np.integer)):
        raise job.bad(f"seed must be a whole number, got {conn.seed!r}")
    if isinstance(conn.weight, Distribution):
        a = _finite_number(job, "the weight distribution's first parameter", conn.weight.a)
        b = _finite_number(job, "the weight distribution's second parameter", conn.weight.b)
        if conn.weight.kind == "normal":
            if b < 0:
                raise job.bad(f"normal({a}, {b}) has a negative standard deviation")
            kind = K.W_NORMAL if b > 0 else K.W_CONST
        elif conn.weight.kind == "uniform":
            if b < a:
                raise job.bad(f"uniform({a}, {b}) has high < low", hint=f"write uniform({b}, {a})")
            kind = K.W_UNIFORM if b > a else K.W_CONST
        else:
            raise job.bad(f"unknown weight distribution {conn.weight.kind!r}",
                          hint="use normal(mean, std) or uniform(low, high)")
    else:
        a, b, kind = _finite_number(job, "weight", conn.weight), 0.0, K.W_CONST
    n_pre, n_post = job.n_pre, job.n_post
    if p == 0.0 or (kind == K.W_CONST and a == 0.0) or n_pre == 0 or n_post == 0:
        return _empty(n_pre)
    skip_self = not conn.allow_self and job.recurrent
    n_pairs = n_pre * n_post - (min(n_pre, n_post) if skip_self else 0)
    mean = n_pairs * p
    cap = min(n_pairs, int(mean + 8.0 * math.sqrt(mean * (1.0 - p)) + 1024))
    log1m_p = -math.inf if p == 1.0 else K.portable_log1p(-p)
    key_c = np.uint64(K.stream_key(int(conn.seed), K.STREAM_CONNECT))
    key_w = np.uint64(K.stream_key(int(conn.seed), K.STREAM_WEIGHT))
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    indices = np.empty(cap, dtype=np.int32)
    weights = np.empty(cap, dtype=np.float64)
    row, pos = 0, 0
    while True:
        row, pos = K.random_fill(n_pre, n_post, log1m_p, skip_self, kind, a, b, key_c, key_w,
                                 row, pos, indptr, indices, weights)
        if row == n_pre:
            break
        # Out of room (more than 8 sigma above the mean): grow by what the remaining
        # rows are expected to need, with the same margin, and resume at `row`.
        left = (n_pre - row) * n_post * p
        cap = min(n_pairs, int(pos + 1.25 * left + 8.0 * math.sqrt(left) + 1024))
        indices = _grown(indices, pos, cap)
        weights = _grown(weights, pos, cap)
    nnz = int(indptr[-1])
    # Views of the first nnz entries: the untouched slack was never paged in.
    return Csr(indptr, indices[:nnz], weights[:nnz])


def _grown(a: np.ndarray, used: int, cap: int) -> np.ndarray:
    out = np.empty(cap, dtype=a.dtype)
    out[:used] = a[:used]
    return out


@_register(Conv2d)
def _lower_conv2d(conn: Conv2d, job: LowerJob) -> Csr:
    """PyTorch ``conv2d`` (cross-correlation, zero padding) as synapses; zero taps dropped.

    A delay file is laid out like the kernel, ``[C_out, C_in, kH, kW]``: one delay per tap.
    """
    (c_in, h, w), (c_out, h_out, w_out) = _chw(job, "conv2d")
    kern = conn.kernel.values
    if kern.ndim != 4 or kern.shape[1] != c_in or kern.shape[0] != c_out:
        raise job.bad_file(conn.kernel.path, f"has shape {list(kern.shape)}; conv2d of {list(job.pre.shape)} "
                           f"-> {list(job.post.shape)} needs [C_out, C_in, kH, kW] = [{c_out}, {c_in}, kH, kW]")
    stride = _pair(job, "stride", conn.stride, 1)
    padding = _pair(job, "padding", conn.padding, 0)
    want = conv_output_hw((h, w), kern.shape[2:], stride, padding)
    if want != (h_out, w_out):
        raise job.bad(f"conv2d of {list(job.pre.shape)} with kernel {list(kern.shape)}, stride "
                      f"{list(stride)}, padding {list(padding)} gives [{c_out}, {want[0]}, {want[1]}], "
                      f"but the target is {list(job.post.shape)}")
    kernel = _finite_weights(job, kern, conn.kernel.path)
    return _conv(job, kernel, job.delay_array(kernel.shape), False, (h, w), (h_out, w_out), stride, padding)


@_register(Pool2d)
def _lower_pool2d(conn: Pool2d, job: LowerJob) -> Csr:
    """Per-channel window sum or max (weight 1) or average (weight ``1 / (kH·kW)``), no padding.

    (A max pool's target takes the largest input: the chip's kernel does that, the
    synapses are the same as a sum pool's.)"""
    job.no_delay_file(f"{conn.kind}_pool")
    (c, h, w), post = _chw(job, f"{conn.kind}_pool")
    size = _pair(job, "size", conn.size, 1)
    stride = _pair(job, "stride", conn.stride, 1)
    if conn.kind in ("sum", "max"):
        value = 1.0
    elif conn.kind == "avg":
        value = 1.0 / (size[0] * size[1])
    else:
        raise job.bad(f"unknown pooling {conn.kind!r}", hint="use sum_pool, avg_pool or max_pool")
    want = (c, *conv_output_hw((h, w), size, stride, (0, 0)))
    if want != post:
        raise job.bad(f"{conn.kind}_pool of {list(job.pre.shape)} with size {list(size)}, stride "
                      f"{list(stride)} gives {list(want)}, but the target is {list(post)}")
    kernel = np.full((c, 1, *size), value, dtype=np.float64)
    return _conv(job, kernel, None, True, (h, w), post[1:], stride, (0, 0))


def _conv(job: LowerJob, kernel: np.ndarray, kd: np.ndarray | None, depthwise: bool,
          hw: tuple[int, int], hw_out: tuple[int, int], stride: tuple[int, int],
          padding: tuple[int, int]) -> Csr:
    has_d = kd is not None
    kd_arg = kd if has_d else np.zeros((1, 1, 1, 1), dtype=np.int32)
    indptr = np.zeros(job.n_pre + 1, dtype=np.int64)
    dummy_i = np.zeros(0, dtype=np.int32)
    dummy_w = np.zeros(0, dtype=np.float64)
    args = (kernel, kd_arg, has_d, depthwise, *hw, *hw_out, *stride, *padding)
    K.conv_rows(*args, False, indptr, dummy_i, dummy_w, dummy_i)  # counts into indptr[1:]
    np.cumsum(indptr, out=indptr)
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    weights = np.empty(nnz, dtype=np.float64)
    delays = np.empty(nnz if has_d else 0, dtype=np.int32)
    K.conv_rows(*args, True, indptr, indices, weights, delays)
    return Csr(indptr, indices, weights, delays if has_d else None)
