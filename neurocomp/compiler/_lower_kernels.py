"""Numba kernels behind :mod:`neurocomp.compiler.lower`.

Every kernel writes CSR by presynaptic neuron straight into arrays the caller
preallocated (``indptr`` int64, ``indices`` int32, ``weights`` float64, ``delays``
int32); none builds an intermediate COO list. Kernels that cannot know the number of
synapses in advance either count first (a cheap pass over the same loops) or report
where they stopped so the caller can grow the arrays and resume.

Random numbers (for :class:`~neurocomp.ir.connectors.Random`) come from a generator
written here in integer arithmetic, not from NumPy or Numba's ``np.random``: the
synapses of a seed are then a function of the seed alone, the same with any NumPy,
Numba or libm on any IEEE-754 machine.

* Generator: xoshiro256** (Blackman & Vigna, 2018), one fresh stream per (seed, purpose,
  source row), its 256-bit state expanded from the key by SplitMix64. Row ``i``'s
  synapses depend only on ``(seed, i)`` and the connector: rows could be filled in any
  order or in parallel with the same result.
* Two purposes, two streams: one decides which pairs are connected, the other draws
  the weights. Changing the weight law therefore never changes which synapses exist.
* Uniforms are ``k · 2^-53`` from the top 53 bits (exact). The logarithm needed by
  geometric skipping and by the normal draw is :func:`_log`, a polynomial using only
  ``+ - * /`` and ``frexp`` (all exactly rounded by IEEE 754), so no platform ``log``
  enters the result. Numba does not fuse multiply-adds unless ``fastmath`` is on, and
  these kernels never turn it on.
"""

from __future__ import annotations

import math

import numpy as np
from ._jit import njit

__all__ = [
    "STREAM_CONNECT",
    "STREAM_WEIGHT",
    "W_CONST",
    "W_NORMAL",
    "W_UNIFORM",
    "portable_log",
    "portable_log1p",
    "stream_key",
    "random_fill",
    "dense_counts",
    "dense_fill",
    "coo_to_csr",
    "conv_rows",
]

# -- the generator ---------------------------------------------------------------------
# Constants are np.uint64 so Numba keeps every operation in unsigned 64-bit arithmetic
# (mixing uint64 with a plain int would promote to float64).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64 increment (2^64 / golden ratio)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ROW_MUL = np.uint64(0xD1B54A32D192ED03)  # odd: row -> distinct key offsets
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S17 = np.uint64(17)
_S7 = np.uint64(7)
_S57 = np.uint64(57)
_S45 = np.uint64(45)
_S19 = np.uint64(19)
_U5 = np.uint64(5)
_U9 = np.uint64(9)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2^-53, exact

STREAM_CONNECT = 0x636F6E6E65637421  # "connect!" — which pairs are synapses
STREAM_WEIGHT = 0x7765696768747321  # "weights!" — the weight of each synapse

W_CONST = 0
W_NORMAL = 1
W_UNIFORM = 2


@njit(inline="always")
def _splitmix(x):
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


def stream_key(seed: int, purpose: int) -> int:
    """The 64-bit key of one purpose's streams for a user seed (pure Python, exact)."""
    mask = (1 << 64) - 1

    def mix(x: int) -> int:
        z = (x + 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    return mix(mix(seed & mask) ^ purpose)


@njit(inline="always")
def _seed_row(state, o, key, row):
    # A distinct, well-mixed starting point per row; the four state words are then
    # consecutive SplitMix64 outputs from it (the generator's recommended seeding).
    x = _splitmix(key + np.uint64(row) * _ROW_MUL)
    state[o] = _splitmix(x)
    state[o + 1] = _splitmix(x + _GOLDEN)
    state[o + 2] = _splitmix(x + _U2 * _GOLDEN)
    state[o + 3] = _splitmix(x + _U3 * _GOLDEN)


@njit(inline="always")
def _next(state, o):
    s0 = state[o]
    s1 = state[o + 1]
    s2 = state[o + 2]
    s3 = state[o + 3]
    x = s1 * _U5
    result = ((x << _S7) | (x >> _S57)) * _U9
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _S45) | (s3 >> _S19)
    state[o] = s0
    state[o + 1] = s1
    state[o + 2] = s2
    state[o + 3] = s3
    return result


@njit(inline="always")
def _uniform(state, o):
    """Uniform on [0, 1): k · 2^-53."""
    return np.float64(_next(state, o) >> _S11) * _TWO_M53


@njit(inline="always")
def _uniform_pos(state, o):
    """Uniform on (0, 1]: (k + 1) · 2^-53, safe to take the log of."""
    return np.float64((_next(state, o) >> _S11) + _U1) * _TWO_M53


# -- a logarithm from + - * / only ----------------------------------------------------
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so e·LN2_HI is exact for |e| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_SQRT_HALF = 0.70710678118654752440


@njit(inline="always")
def _atanh_series(s):
    # log(m) = 2·atanh(s), s = (m-1)/(m+1), |s| <= 0.1716 for m in [sqrt(1/2), sqrt(2)):
    # 2s·(1 + s²/3 + s⁴/5 + ...); 12 terms leave a truncation error < 1e-18 relative.
    z = s * s
    p = 1.0 / 25.0
    p = 1.0 / 23.0 + z * p
    p = 1.0 / 21.0 + z * p
    p = 1.0 / 19.0 + z * p
    p = 1.0 / 17.0 + z * p
    p = 1.0 / 15.0 + z * p
    p = 1.0 / 13.0 + z * p
    p = 1.0 / 11.0 + z * p
    p = 1.0 / 9.0 + z * p
    p = 1.0 / 7.0 + z * p
    p = 1.0 / 5.0 + z * p
    p = 1.0 / 3.0 + z * p
    return 2.0 * s + 2.0 * s * (z * p)


@njit(inline="always")
def _log(x):
    """Natural log of a finite ``x > 0``, within a few ulp, the same bits everywhere."""
    m, e = math.frexp(x)  # x = m · 2^e, m in [0.5, 1): exact on any IEEE machine
    if m < _SQRT_HALF:
        m *= 2.0
        e -= 1
    s = (m - 1.0) / (m + 1.0)
    return e * _LN2_HI + (_atanh_series(s) + e * _LN2_LO)


@njit(cache=True)
def portable_log(x):
    """:func:`_log` for callers outside the kernels (and for testing it)."""
    return _log(x)


@njit(cache=True)
def portable_log1p(x):
    """``log(1 + x)`` for ``x > -1`` from + - * / only (accurate for small ``|x|`` too)."""
    if -0.25 < x < 0.25:
        # log(1+x) = 2·atanh(x / (2 + x)); |s| < 0.143, the series converges fast.
        return _atanh_series(x / (2.0 + x))
    return _log(1.0 + x)


# -- random (Bernoulli p per pair) -----------------------------------------------------
@njit(cache=True)
def random_fill(n_pre, n_post, log1m_p, skip_self, w_kind, w_a, w_b, key_connect, key_weight,
                row0, pos0, indptr, indices, weights):
    """Fill rows ``row0..`` of a Bernoulli(p) connectivity, from position ``pos0``.

    Per row, the connected targets are found by geometric skipping: the gap to the next
    connected pair is ``floor(log U / log(1 - p))`` (U uniform on (0, 1]), which gives
    each pair an independent probability ``p`` and the targets in ascending order.
    With ``skip_self`` the candidates of row ``i`` are every target but ``i``.
    Weights are drawn in the same pass (``w_kind``: constant ``w_a``; normal mean ``w_a``,
    std ``w_b`` by Marsaglia's polar method; uniform on ``[w_a, w_b)``). A drawn weight
    of exactly 0 is no synapse, like everywhere else.

    Returns ``(row, pos)``: ``row == n_pre`` when done; otherwise the arrays are full,
    rows before ``row`` are complete and ``indptr[row] == pos``, and the caller grows
    the arrays and calls again from ``(row, pos)`` (the row is redrawn identically).
    """
    state = np.empty(8, dtype=np.uint64)
    cap = indices.shape[0]
    pos = pos0
    for i in range(row0, n_pre):
        _seed_row(state, 0, key_connect, i)
        _seed_row(state, 4, key_weight, i)
        n_cand = n_post
        if skip_self and i < n_post:
            n_cand = n_post - 1
        has_spare = False
        spare = 0.0
        start = pos
        j = -1  # last candidate considered
        while True:
            remaining = n_cand - 1 - j  # candidates left after j
            gap = _log(_uniform_pos(state, 0)) / log1m_p
            # floor(gap) >= remaining  <=>  gap >= remaining (remaining is an integer);
            # compared as floats so a huge gap never overflows an integer.
            if not gap < remaining:
                break
            j += 1 + int(gap)
            if w_kind == W_CONST:
                w = w_a
            elif w_kind == W_NORMAL:
                if has_spare:
                    z = spare
                    has_spare = False
                else:
                    while True:
                        v1 = 2.0 * _uniform(state, 4) - 1.0
                        v2 = 2.0 * _uniform(state, 4) - 1.0
                        r2 = v1 * v1 + v2 * v2
                        if 0.0 < r2 < 1.0:
                            break
                    f = math.sqrt(-2.0 * _log(r2) / r2)  # sqrt is exactly rounded
                    z = v1 * f
                    spare = v2 * f
                    has_spare = True
                w = w_a + w_b * z
            else:
                w = w_a + (w_b - w_a) * _uniform(state, 4)
            if w == 0.0:
                continue
            if pos == cap:
                indptr[i] = start
                return i, start
            t = j
            if skip_self and j >= i:
                t = j + 1
            indices[pos] = t
            weights[pos] = w
            pos += 1
        indptr[i + 1] = pos
    return n_pre, pos


# -- dense [post, pre] -> CSR by pre --------------------------------------------------
@njit(cache=True)
def dense_counts(w):
    """Nonzeros per column (presynaptic neuron) of ``w[post, pre]``."""
    n_post, n_pre = w.shape
    counts = np.zeros(n_pre, dtype=np.int64)
    for q in range(n_post):
        for p in range(n_pre):
            if w[q, p] != 0.0:
                counts[p] += 1
    return counts


@njit(cache=True)
def dense_fill(w, d, has_delays, indptr, indices, weights, delays):
    """Scatter the nonzeros of ``w[post, pre]`` into CSR by pre.

    ``w`` is read row by row (cache friendly); walking ``post`` in increasing order
    leaves each presynaptic row's targets ascending. ``d`` (same layout) is gathered
    into ``delays`` when ``has_delays``.
    """
    n_post, n_pre = w.shape
    nxt = indptr[:-1].copy()
    for q in range(n_post):
        for p in range(n_pre):
            v = w[q, p]
            if v != 0.0:
                k = nxt[p]
                indices[k] = q
                weights[k] = v
                if has_delays:
                    delays[k] = d[q, p]
                nxt[p] = k + 1


# -- sparse COO -> CSR by pre ----------------------------------------------------------
@njit(cache=True)
def coo_to_csr(pre, post, w, d, has_delays, n_pre, indptr, indices, weights, delays):
    """Sort COO synapses into CSR by pre, targets ascending, duplicates kept.

    A counting sort by ``pre`` (stable: file order is kept), then each row that is not
    already ascending is sorted by a stable merge sort, so duplicates of one
    ``(pre, post)`` pair stay separate synapses in file order.
    """
    n = pre.shape[0]
    indptr[0] = 0
    for k in range(n):
        indptr[pre[k] + 1] += 1
    for i in range(n_pre):
        indptr[i + 1] += indptr[i]
    nxt = indptr[:-1].copy()
    for k in range(n):
        s = nxt[pre[k]]
        indices[s] = post[k]
        weights[s] = w[k]
        if has_delays:
            delays[s] = d[k]
        nxt[pre[k]] = s + 1
    for i in range(n_pre):
        a = indptr[i]
        b = indptr[i + 1]
        ordered = True
        for s in range(a + 1, b):
            if indices[s] < indices[s - 1]:
                ordered = False
                break
        if ordered:
            continue
        order = np.argsort(indices[a:b], kind="mergesort")
        indices[a:b] = indices[a:b][order]
        weights[a:b] = weights[a:b][order]
        if has_delays:
            delays[a:b] = delays[a:b][order]


# -- convolution and pooling -----------------------------------------------------------
@njit(cache=True)
def conv_rows(kernel, kd, has_delays, depthwise, h, w, h_out, w_out, sy, sx, py, px,
              fill, indptr, indices, weights, delays):
    """Count (``fill=False``, into ``indptr[1:]``) or write (``fill=True``) conv synapses.

    Source neuron ``(ci, iy, ix)`` drives target ``(co, oy, ox)`` through kernel tap
    ``(ky, kx)`` when ``iy = oy·sy − py + ky`` and ``ix = ox·sx − px + kx`` (PyTorch's
    cross-correlation with zero padding). For each ``co``, walking ``ky`` and ``kx``
    downwards walks ``oy`` and ``ox`` upwards, so targets come out ascending with no
    sort. ``depthwise`` (pooling) connects channel ``c`` to channel ``c`` only, with
    kernel ``[C, 1, kH, kW]``. Zero taps are no synapse. ``kd`` holds one delay per tap.
    """
    c_out, c_k, kh, kw = kernel.shape
    c_in = c_k if not depthwise else c_out
    for ci in range(c_in):
        co_lo = ci if depthwise else 0
        co_hi = ci + 1 if depthwise else c_out
        kc = 0 if depthwise else ci
        for iy in range(h):
            for ix in range(w):
                row = (ci * h + iy) * w + ix
                pos = indptr[row] if fill else 0
                for co in range(co_lo, co_hi):
                    base = co * h_out * w_out
                    for ky in range(kh - 1, -1, -1):
                        ty = iy + py - ky
                        if ty < 0 or ty % sy != 0:
                            continue
                        oy = ty // sy
                        if oy >= h_out:
                            continue
                        for kx in range(kw - 1, -1, -1):
                            tx = ix + px - kx
                            if tx < 0 or tx % sx != 0:
                                continue
                            ox = tx // sx
                            if ox >= w_out:
                                continue
                            v = kernel[co, kc, ky, kx]
                            if v == 0.0:
                                continue
                            if fill:
                                indices[pos] = base + oy * w_out + ox
                                weights[pos] = v
                                if has_delays:
                                    delays[pos] = kd[co, kc, ky, kx]
                            pos += 1
                if not fill:
                    indptr[row + 1] = pos


# -- numpy forms (small networks; see compiler._jit) -----------------------------------
# Same arguments and results as the kernels above (tests/test_compiler_python_forms.py).

@dense_counts.python_form
def _dense_counts_numpy(w):
    return np.count_nonzero(w != 0.0, axis=0).astype(np.int64)


@dense_fill.python_form
def _dense_fill_numpy(w, d, has_delays, indptr, indices, weights, delays):
    # Nonzeros of w.T in C order: by pre, then post ascending (the kernel's CSR order).
    pre, post = np.nonzero(w.T != 0.0)
    pos = indptr[pre] + (np.arange(pre.size) - np.searchsorted(pre, pre, side="left"))
    indices[pos] = post
    weights[pos] = w[post, pre]
    if has_delays:
        delays[pos] = d[post, pre]


@coo_to_csr.python_form
def _coo_to_csr_numpy(pre, post, w, d, has_delays, n_pre, indptr, indices, weights, delays):
    order = np.lexsort((post, pre))  # stable: duplicates of a pair stay in file order
    indptr[0] = 0
    np.cumsum(np.bincount(pre, minlength=n_pre)[:n_pre], out=indptr[1:])
    indices[:order.size] = post[order]
    weights[:order.size] = w[order]
    if has_delays:
        delays[:order.size] = d[order]
