"""How a projection connects two populations, before lowering to explicit synapses.

Conventions every connector follows:

* A dense weight matrix is ``(post.size, pre.size)``, as ``torch.nn.Linear`` and
  NIR's ``Affine`` store it.
* N-D populations are flattened in C order; convolution and pooling populations are
  ``[channels, height, width]``.
* A weight of exactly 0 is no synapse (lowering drops it).

Each connector checks its shapes against the two populations with
:meth:`check_shapes`, which returns a message (or ``None``) so the builder can point at
the line in the network text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from .values import ArrayValue, Distribution, Value

__all__ = [
    "Dense",
    "Sparse",
    "OneToOne",
    "AllToAll",
    "Random",
    "Conv2d",
    "Pool2d",
    "Connector",
    "conv_output_hw",
]


def _fmt(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class Dense:
    """``w[post, pre]`` from a file; every nonzero entry is a synapse."""

    weights: ArrayValue

    def check_shapes(self, pre: tuple[int, ...], post: tuple[int, ...]) -> str | None:
        want = (_size(post), _size(pre))
        got = self.weights.values.shape
        if got != want:
            return (f"weights in '{self.weights.path}' have shape {_fmt(got)}, but "
                    f"{_fmt(post)} <- {_fmt(pre)} needs [post, pre] = {_fmt(want)}")
        return None


@dataclass(frozen=True, eq=False)
class Sparse:
    """Explicit synapses from a COO file (``pre``, ``post``, ``weight`` arrays, flat indices).

    Duplicate ``(pre, post)`` pairs are separate synapses (their inputs add up).
    """

    pre: np.ndarray
    post: np.ndarray
    weights: np.ndarray
    path: str
    delays: ArrayValue | None = None  # the file's ``delay`` array; the builder moves it to the projection

    def check_shapes(self, pre: tuple[int, ...], post: tuple[int, ...]) -> str | None:
        if len(self.pre) and int(self.pre.max()) >= _size(pre):
            return (f"'{self.path}' has a presynaptic index {int(self.pre.max())}, but the "
                    f"source population has {_size(pre)} neurons")
        if len(self.post) and int(self.post.max()) >= _size(post):
            return (f"'{self.path}' has a postsynaptic index {int(self.post.max())}, but the "
                    f"target population has {_size(post)} neurons")
        return None


@dataclass(frozen=True, eq=False)
class OneToOne:
    """Neuron ``i`` of the source drives neuron ``i`` of the target."""

    weight: Value

    def check_shapes(self, pre: tuple[int, ...], post: tuple[int, ...]) -> str | None:
        if _size(pre) != _size(post):
            return f"one_to_one needs equal sizes, got {_fmt(pre)} -> {_fmt(post)}"
        if isinstance(self.weight, ArrayValue) and self.weight.values.size != _size(pre):
            return (f"weights in '{self.weight.path}' have {self.weight.values.size} values, "
                    f"one_to_one needs {_size(pre)}")
        return None


@dataclass(frozen=True, eq=False)
class AllToAll:
    """Every source neuron drives every target neuron with one weight.

    With ``allow_self=False`` a recurrent projection (A -> A) skips ``i -> i``.
    """

    weight: float
    allow_self: bool = True

    def check_shapes(self, pre: tuple[int, ...], post: tuple[int, ...]) -> str | None:
        return None


@dataclass(frozen=True, eq=False)
class Random:
    """Each (pre, post) pair is a synapse with probability ``p`` (Bernoulli, seeded).

    The weight is a constant or drawn from a distribution; ``allow_self=False`` skips
    ``i -> i`` on a recurrent projection.
    """

    p: float
    weight: Union[float, Distribution]
    seed: int
    allow_self: bool = True

    def check_shapes(self, pre: tuple[int, ...], post: tuple[int, ...]) -> str | None:
        return None


def conv_output_hw(in_hw: tuple[int, int], kernel_hw: tuple[int, int],
                   stride: tuple[int, int], padding: tuple[int, int]) -> tuple[int, int]:
    """Output height and width of a 2-D convolution or pooling window."""
    return tuple(  # type: ignore[return-value]
        (in_hw[i] + 2 * padding[i] - kernel_hw[i]) // stride[i] + 1 for i in range(2)
    )


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D convolution (cross-correlation, as PyTorch) ``[C_in, H, W] -> [C_out, H', W']``.

    ``kernel`` is ``[C_out, C_in, kH, kW]``; ``H' = (H + 2·pad - kH) // stride + 1``.
    """

    kernel: ArrayValue
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    def check_shapes(self, pre: tuple[int, ...], post: tuple[int, ...]) -> str | None:
        k = self.kernel.values.shape
        if len(k) != 4:
            return f"kernel in '{self.kernel.path}' has shape {_fmt(k)}, conv2d needs [C_out, C_in, kH, kW]"
        if len(pre) != 3 or len(post) != 3:
            return f"conv2d connects [C, H, W] populations, got {_fmt(pre)} -> {_fmt(post)}"
        if k[1] != pre[0]:
            return f"kernel in '{self.kernel.path}' expects {k[1]} input channels, source has {pre[0]}"
        hw = conv_output_hw(pre[1:], k[2:], self.stride, self.padding)  # type: ignore[arg-type]
        want = (k[0], *hw)
        if tuple(post) != want:
            return (f"conv2d of {_fmt(pre)} with kernel {_fmt(k)}, stride {_fmt(self.stride)}, "
                    f"padding {_fmt(self.padding)} gives {_fmt(want)}, but the target is {_fmt(post)}")
        return None


@dataclass(frozen=True, eq=False)
class Pool2d:
    """Sum, average or max pooling per channel ``[C, H, W] -> [C, H', W']`` (no padding).

    Sum pooling has weight 1 per synapse; average pooling ``1 / (kH · kW)``. Max pooling
    has weight 1 per synapse and its target takes the largest input instead of the sum:
    only a chip that pools so (Akida) computes it.
    """

    kind: str  # "sum" | "avg" | "max"
    size: tuple[int, int]
    stride: tuple[int, int]

    def check_shapes(self, pre: tuple[int, ...], post: tuple[int, ...]) -> str | None:
        if len(pre) != 3 or len(post) != 3:
            return f"{self.kind}_pool connects [C, H, W] populations, got {_fmt(pre)} -> {_fmt(post)}"
        hw = conv_output_hw(pre[1:], self.size, self.stride, (0, 0))  # type: ignore[arg-type]
        want = (pre[0], *hw)
        if tuple(post) != want:
            return (f"{self.kind}_pool of {_fmt(pre)} with size {_fmt(self.size)}, stride "
                    f"{_fmt(self.stride)} gives {_fmt(want)}, but the target is {_fmt(post)}")
        return None


Connector = Union[Dense, Sparse, OneToOne, AllToAll, Random, Conv2d, Pool2d]
