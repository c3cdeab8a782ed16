"""NIR nodes between neurons (weights and pass-throughs): one converter per NIR type.

Each registers its linear part (``apply``, on a batch ``[B, *in_shape]``, used to
compose chains and to carry constants), and where it has them: its constant (the
bias of ``Affine`` and ``Conv2d``), the single neurocomp connector that holds a chain
whose only weight node it is, and its delay. ``Flatten``, ``Identity``, ``Delay``
and a nested graph's ends never change the flat order of the elements.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...diagnostics import InteropError
from ...ir import connectors as cn
from ...ir.values import ArrayValue
from .graph import pair
from .registry import ConnectorFn, Node, Shape, op

__all__ = ["weight", "conv_geometry", "pool_geometry", "conv"]

Padding = tuple[tuple[int, int], tuple[int, int]]


# -- reading weight nodes -------------------------------------------------------------------


def weight(node: Node) -> np.ndarray:
    """The node's weights, floating point and finite."""
    w = np.asarray(node.obj.weight)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise InteropError(f"node {node.describe()}: the weights hold NaN or infinite values")
    return w


def _bias(node: Node, per_channel: bool) -> np.ndarray | None:
    """The node's bias over its output shape, or None when it has none (or only zeros)."""
    if getattr(node.obj, "bias", None) is None:
        return None
    b = np.asarray(node.obj.bias, dtype=np.float64)
    if not np.all(np.isfinite(b)):
        raise InteropError(f"node {node.describe()}: the bias holds NaN or infinite values")
    if not np.any(b != 0):
        return None
    out = node.out_shape
    if per_channel:
        b = np.broadcast_to(b.reshape(-1, 1, 1), out) if b.size == out[0] else np.broadcast_to(b, out)
    return np.ascontiguousarray(np.broadcast_to(b, out), dtype=np.float64)


def conv_geometry(node: Node) -> tuple[tuple[int, int], Padding, tuple[int, int], int]:
    """stride, ((top, bottom), (left, right)) padding, dilation, groups of a Conv2d."""
    obj = node.obj
    stride = pair(obj.stride, "stride", node.key)
    dilation = pair(obj.dilation, "dilation", node.key)
    groups = int(np.asarray(obj.groups).reshape(-1)[0])
    kh, kw = np.asarray(obj.weight).shape[2:]
    pad = obj.padding
    if isinstance(pad, bytes):
        pad = pad.decode()
    if isinstance(pad, str):
        if pad == "valid":
            p = ((0, 0), (0, 0))
        else:  # 'same', as PyTorch: the extra row/column of an even kernel goes last
            tot = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
            p = ((tot[0] // 2, tot[0] - tot[0] // 2), (tot[1] // 2, tot[1] - tot[1] // 2))
    else:
        py, px = pair(pad, "padding", node.key)
        p = ((py, py), (px, px))
    return stride, p, dilation, groups


def pool_geometry(node: Node) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """kernel size, stride and padding of a pooling node."""
    obj = node.obj
    return (pair(obj.kernel_size, "kernel_size", node.key), pair(obj.stride, "stride", node.key),
            pair(obj.padding, "padding", node.key))


def conv(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], pad: Padding,
         dilation: tuple[int, int], groups: int) -> np.ndarray:
    """Cross-correlation as PyTorch's conv2d: ``x [B, C, H, W]``, ``w [Co, C/groups, kh, kw]``."""
    b, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pad[0], pad[1]))
    ho = (h + sum(pad[0]) - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + sum(pad[1]) - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((b, co, ho, wo), dtype=np.float64)
    og = co // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                y0, x0 = i * dilation[0], j * dilation[1]
                patch = xs[:, :, y0:y0 + stride[0] * (ho - 1) + 1:stride[0],
                           x0:x0 + stride[1] * (wo - 1) + 1:stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("bchw,oc->bohw", patch,
                                                         w[g * og:(g + 1) * og, :, i, j])
    return out


def _per_channel(gain: np.ndarray, post: Shape) -> np.ndarray | None:
    """The gain per output channel, when it is uniform within each channel."""
    if len(post) != 3:
        return None
    g = gain.reshape(post)
    if not np.all(g == g[:, :1, :1]):
        return None
    return g[:, 0, 0].copy()


# -- Affine and Linear ----------------------------------------------------------------------


def _dense(node: Node, gain: np.ndarray, pre: Shape, post: Shape,
           file: Callable[[str], str]) -> cn.Connector | None:
    """The [out, in] matrix itself, when it joins the two populations directly."""
    n_pre = int(np.prod(pre, dtype=np.int64))
    n_post = int(np.prod(post, dtype=np.int64))
    w = weight(node)
    if w.ndim != 2 or w.shape != (n_post, n_pre):
        return None
    if not bool(np.all(gain == 1.0)):
        w = w.astype(np.float64) * gain[:, None]
    return cn.Dense(weights=ArrayValue(w.copy(), file("weight")))


def _matmul(node: Node, x: np.ndarray) -> np.ndarray:
    w = weight(node)
    if w.ndim != 2:
        raise InteropError(f"node {node.describe()}: weights of {w.ndim} dimensions; "
                           "neurocomp reads [out, in] matrices")
    b = x.shape[0]
    return (x.reshape(b, -1) @ w.T.astype(np.float64)).reshape(b, *node.out_shape)


@op("Affine", weight=True, mixing=True, bias=lambda node: _bias(node, per_channel=False), connector=_dense)
def affine(node: Node, x: np.ndarray) -> np.ndarray:
    """``y = W x + b`` (the bias is carried separately, as a constant)."""
    return _matmul(node, x)


@op("Linear", weight=True, mixing=True, connector=_dense)
def linear(node: Node, x: np.ndarray) -> np.ndarray:
    """``y = W x``."""
    return _matmul(node, x)


# -- Scale ------------------------------------------------------------------------------------


def _scaled(node: Node, gain: np.ndarray, pre: Shape, post: Shape,
            file: Callable[[str], str]) -> cn.Connector:
    s = np.broadcast_to(np.asarray(node.obj.scale, dtype=np.float64), node.in_shape).reshape(-1) * gain
    if np.all(s == s[0]):
        return cn.OneToOne(weight=float(s[0]) + 0.0)
    return cn.OneToOne(weight=ArrayValue(s.copy(), file("weight")))


@op("Scale", weight=True, connector=_scaled)
def scale(node: Node, x: np.ndarray) -> np.ndarray:
    """``y = s ⊙ x``, elementwise."""
    return (x * np.asarray(node.obj.scale, dtype=np.float64)).reshape(x.shape[0], *node.out_shape)


# -- Conv2d -----------------------------------------------------------------------------------


def _conv2d(node: Node, gain: np.ndarray, pre: Shape, post: Shape,
            file: Callable[[str], str]) -> cn.Connector | None:
    """A neurocomp conv2d: no groups or dilation, symmetric padding, one gain per channel."""
    stride, pad, dilation, groups = conv_geometry(node)
    if groups != 1 or dilation != (1, 1) or pad[0][0] != pad[0][1] or pad[1][0] != pad[1][1]:
        return None
    g = _per_channel(gain, post)
    if g is None:
        return None
    kernel = weight(node)
    if not np.all(g == 1.0):
        kernel = kernel.astype(np.float64) * g[:, None, None, None]
    made = cn.Conv2d(kernel=ArrayValue(kernel.copy(), file("kernel")), stride=stride,
                     padding=(pad[0][0], pad[1][0]))
    return made if made.check_shapes(pre, post) is None else None


@op("Conv2d", weight=True, mixing=True, bias=lambda node: _bias(node, per_channel=True), connector=_conv2d)
def conv2d(node: Node, x: np.ndarray) -> np.ndarray:
    """PyTorch's conv2d over ``[C, H, W]`` (the bias is carried separately, as a constant)."""
    stride, pad, dilation, groups = conv_geometry(node)
    return conv(x.reshape(x.shape[0], *node.in_shape), weight(node).astype(np.float64),
                stride, pad, dilation, groups)


# -- SumPool2d and AvgPool2d ----------------------------------------------------------------


def _pool_apply(node: Node, x: np.ndarray, per_tap: Callable[[tuple[int, int]], float]) -> np.ndarray:
    size, stride, padding = pool_geometry(node)
    c = node.in_shape[0]
    ones = np.ones((c, 1, *size), dtype=np.float64) * per_tap(size)
    pad = ((padding[0], padding[0]), (padding[1], padding[1]))
    return conv(x.reshape(x.shape[0], *node.in_shape), ones, stride, pad, (1, 1), c)


def _pool_connector(kind: str, per_tap: Callable[[tuple[int, int]], float]) -> ConnectorFn:
    def connector(node: Node, gain: np.ndarray, pre: Shape, post: Shape,
                  file: Callable[[str], str]) -> cn.Connector | None:
        size, stride, padding = pool_geometry(node)
        pool = cn.Pool2d(kind=kind, size=size, stride=stride)  # type: ignore[arg-type]
        if bool(np.all(gain == 1.0)) and padding == (0, 0) and pool.check_shapes(pre, post) is None:
            return pool
        # with a gain: a convolution whose kernel is diagonal in the channels
        g = _per_channel(gain, post)
        if g is None or len(pre) != 3:
            return None
        c = pre[0]
        kernel = np.zeros((c, c, *size), dtype=np.float64)
        kernel[np.arange(c), np.arange(c)] = (g * per_tap(size))[:, None, None]
        made = cn.Conv2d(kernel=ArrayValue(kernel, file("kernel")), stride=stride, padding=padding)
        return made if made.check_shapes(pre, post) is None else None
    return connector


def _sum_tap(size: tuple[int, int]) -> float:
    return 1.0


def _avg_tap(size: tuple[int, int]) -> float:
    return 1.0 / (size[0] * size[1])  # padding counts in the divisor, as PyTorch's default


@op("SumPool2d", weight=True, mixing=True, connector=_pool_connector("sum", _sum_tap))
def sum_pool(node: Node, x: np.ndarray) -> np.ndarray:
    """The sum over each window, per channel."""
    return _pool_apply(node, x, _sum_tap)


@op("AvgPool2d", weight=True, mixing=True, connector=_pool_connector("avg", _avg_tap))
def avg_pool(node: Node, x: np.ndarray) -> np.ndarray:
    """The mean over each window, per channel."""
    return _pool_apply(node, x, _avg_tap)


# -- pass-throughs ------------------------------------------------------------------------------


def _same(node: Node, x: np.ndarray) -> np.ndarray:
    """The flat order never changes: only the shape."""
    return x.reshape(x.shape[0], *node.out_shape)


op("Flatten")(_same)
op("Delay", delay_s=lambda node: node.obj.delay)(_same)
op("Identity", listed=False)(_same)
op("_Pass", listed=False)(_same)  # the Input or Output of a nested graph
