"""A chain of op nodes between two neuron nodes, as one projection's connector and delay.

Input: the chain's op nodes in order (weights, pass-throughs, delays), the shapes of
the two populations it joins and the target's input gain. Output: one neurocomp
connector whose weights include the gain, and the synaptic delay in steps. A chain
whose only weight node has a connector of its own (:mod:`.connections`) becomes that
connector; any other chain is composed into one dense ``[post, pre]`` matrix.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...diagnostics import InteropError
from ...ir import connectors as cn
from ...ir.values import ArrayValue
from .discretise import fmt
from .registry import OPS, Node, Shape, Step, apply

__all__ = ["connector", "delay"]


def connector(ops: list[Node], source: Node, gain: np.ndarray, pre: Shape, post: Shape,
              file: Callable[[str], str], max_dense: int, where: str) -> cn.Connector:
    """The connector of a chain from ``source`` (``gain`` is the target's, flat)."""
    weights = [node for node in ops if OPS[node.type_name].weight]
    if not weights:  # an identity chain: one to one, weighted by the gain
        if np.all(gain == gain[0]):
            return cn.OneToOne(weight=float(gain[0]) + 0.0)
        return cn.OneToOne(weight=ArrayValue(gain.copy(), file("weight")))
    if len(weights) == 1:
        own = OPS[weights[0].type_name].connector
        made = own(weights[0], gain, pre, post, file) if own is not None else None
        if made is not None:
            return made
    return _dense(ops, source, gain, pre, post, file, max_dense, where)


def _dense(ops: list[Node], source: Node, gain: np.ndarray, pre: Shape, post: Shape,
           file: Callable[[str], str], max_dense: int, where: str) -> cn.Dense:
    """Compose the chain into one [post, pre] matrix by pushing the unit vectors through it."""
    n_pre = int(np.prod(pre, dtype=np.int64))
    n_post = int(np.prod(post, dtype=np.int64))
    widest = max([n_post] + [int(np.prod(node.out_shape, dtype=np.int64)) for node in ops])
    if n_pre * widest > max_dense:
        raise InteropError(
            f"{where} has no single neurocomp connector, and composing it gives a dense matrix "
            f"of {n_pre:,} x {widest:,} entries, above the limit of {max_dense:,}",
            hint="put a neuron node between the weight nodes, or raise max_dense_entries")
    x = np.eye(n_pre, dtype=np.float64).reshape(n_pre, *source.out_shape)
    for node in ops:
        x = apply(node, x.reshape(n_pre, *node.in_shape))
    w = x.reshape(n_pre, n_post).T * gain[:, None]
    return cn.Dense(weights=ArrayValue(np.ascontiguousarray(w), file("weight")))


def _steps(node: Node, delay_s: object, step: Step) -> np.ndarray:
    """A delay node's delay per element, in whole steps."""
    seconds = np.broadcast_to(np.asarray(delay_s, dtype=np.float64), node.in_shape).reshape(-1)
    steps = seconds / step.dt_s
    rounded = np.round(steps)
    if np.any(~np.isfinite(steps)) or np.any(np.abs(steps - rounded) > 1e-6 * np.maximum(1.0, np.abs(steps))):
        bad = seconds[np.argmax(np.abs(steps - rounded))]
        raise InteropError(f"node {node.describe()}: the delay {float(bad) * 1000!r} ms is not a "
                           f"whole number of steps of dt = {fmt(step.dt_ms)} ms",
                           hint="choose a dt that divides every delay")
    if np.any(rounded < 0):
        raise InteropError(f"node {node.describe()}: negative delay")
    return rounded


def delay(ops: list[Node], made: cn.Connector, pre: Shape, post: Shape, step: Step,
          file: Callable[[str], str], where: str) -> int | ArrayValue:
    """The chain's delay in steps: one number, or one per synapse.

    Delay nodes before the first mixing node act per source neuron, after the last per
    target neuron; between two mixing nodes they must be the same for every element.
    """
    n_pre = int(np.prod(pre, dtype=np.int64))
    n_post = int(np.prod(post, dtype=np.int64))
    mixing = [i for i, node in enumerate(ops) if OPS[node.type_name].mixing]
    d_pre = np.zeros(n_pre, dtype=np.float64)
    d_post = np.zeros(n_post, dtype=np.float64)
    shared = 0.0
    for i, node in enumerate(ops):
        delay_s = OPS[node.type_name].delay_s
        if delay_s is None:
            continue
        steps = _steps(node, delay_s(node), step)
        if not mixing or i < mixing[0]:
            d_pre += steps
        elif i > mixing[-1]:
            d_post += steps
        elif np.all(steps == steps[0]):
            shared += steps[0]
        else:
            raise InteropError(f"{where}: the Delay node '{node.key}' between two weight nodes has "
                               "different delays per element, which no synapse delay can hold")
    if not mixing:
        total = d_pre + d_post + shared
    elif np.all(d_pre == d_pre[0]) and np.all(d_post == d_post[0]):
        return int(d_pre[0] + d_post[0] + shared) if n_pre and n_post else 0
    elif isinstance(made, cn.Dense):
        total = d_post[:, None] + d_pre[None, :] + shared
    else:
        raise InteropError(f"{where}: a delay per neuron through a {type(made).__name__.lower()} "
                           "connector cannot be held as one delay per synapse",
                           hint="use the same delay for every neuron")
    if total.size and np.all(total == total.reshape(-1)[0]):
        return int(total.reshape(-1)[0])
    return ArrayValue(total.copy(), file("delay"))
