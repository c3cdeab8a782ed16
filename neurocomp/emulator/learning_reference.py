"""The float reference's learning: a rule's ideal real-valued form (docs/learning.md).

The same events as the chip's engine (``neurocomp/targets/loihi/learning.py``), without
its integers: per plastic projection,

* traces are real exponential filters: ``x(t) = x(t-1)·exp(-1/tau) + impulse`` at each
  spike of its neuron (``tau = 0``: only the impulse of a spike in that step), never
  rounded or saturated;
* at the end of each epoch of ``E`` steps, ``x0``/``y0`` say whether the pre/post neuron
  spiked in the epoch; each synapse's weight changes by ``Σ m·2^e · D · Π (F + c)`` in
  real numbers, with the traces read at the dependency's time (the last spike of the
  neuron in the epoch, or the epoch's end for ``u``), as on the chip;
* the weight only keeps its sign (the projection's sign: all initial weights >= 0:
  never below 0; all <= 0: never above 0); it is not bounded in size.

Units: the rule's ``w`` and ``dw`` count *rule units*, one of which is ``w_unit`` of the
network's float weight. The chip's unit is its quantization's (a stored weight step); the
reference takes ``w_unit = max |initial weight| / 128``, where Loihi's quantizer puts
the largest weight of an 8-bit projection (within a factor of two), so the two learn at
comparable rates (not identically: the chip's unit is a power of two of the float one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.learning import LearningRule

__all__ = ["PlasticFloat", "plastic_float"]


@dataclass(eq=False)
class PlasticFloat:
    """One plastic projection's real-valued state (updated in place by :meth:`step`)."""

    rule: LearningRule
    pre: np.ndarray  # int64 [n_s], pre index
    post: np.ndarray  # int64 [n_s]
    w: np.ndarray  # float64 [n_s], rule units
    w_unit: float
    sign: int  # +1: kept >= 0; -1: kept <= 0; 0: free
    x: np.ndarray  # float64 [2, n_pre]
    y: np.ndarray  # float64 [3, n_post]
    tx: np.ndarray  # int64 [n_pre], within-epoch step of the last spike (0: none)
    ty: np.ndarray
    hx: list  # per within-epoch step k, x after step k (for the dependencies' reads)
    hy: list

    def decay_and_spike(self, pre_fired: np.ndarray, post_fired: np.ndarray, k: int) -> None:
        """Step ``k`` (1..E) of the epoch: decay every trace, add the impulses of the spikes."""
        for traces, names, fired, t_last in ((self.x, ("x1", "x2"), pre_fired, self.tx),
                                             (self.y, ("y1", "y2", "y3"), post_fired, self.ty)):
            for c, name in enumerate(names):
                tr = self.rule.trace(name)
                traces[c] *= np.exp(-1.0 / tr.tau) if tr.tau != 0 else 0.0
                traces[c, fired] += tr.impulse
            t_last[fired] = k
        self.hx.append(self.x.copy())
        self.hy.append(self.y.copy())

    def learn(self, epoch_index: int) -> None:
        """The end of an epoch: the weight change of every synapse, then a new epoch."""
        i, j = self.pre, self.post
        x0 = (self.tx > 0)[i].astype(np.float64)
        y0 = (self.ty > 0)[j].astype(np.float64)
        hx = np.stack(self.hx)  # [E, 2, n_pre] after steps 1..E
        hy = np.stack(self.hy)
        dw = np.zeros_like(self.w)
        for p in self.rule.products:
            if p.dependency == "x0":
                dep, at = x0, np.maximum(self.tx[i], 1) - 1
            elif p.dependency == "y0":
                dep, at = y0, np.maximum(self.ty[j], 1) - 1
            else:
                on = int(epoch_index) % (2 ** p.decimate) == 0
                dep, at = np.full(i.size, float(on)), np.full(i.size, hx.shape[0] - 1)
            term = p.scale * dep
            for f in p.factors:
                if f.var == "x0":
                    val = x0.copy()
                elif f.var == "y0":
                    val = y0.copy()
                elif f.var in ("x1", "x2"):
                    val = hx[at, int(f.var[1]) - 1, i]
                elif f.var in ("y1", "y2", "y3"):
                    val = hy[at, int(f.var[1]) - 1, j]
                else:
                    val = self.w.copy()
                val = val + f.const
                term = term * (np.sign(val) if f.sgn else val)
            dw += term
        self.w += dw
        if self.sign > 0:
            np.maximum(self.w, 0.0, out=self.w)
        elif self.sign < 0:
            np.minimum(self.w, 0.0, out=self.w)
        self.tx[:] = 0
        self.ty[:] = 0
        self.hx.clear()
        self.hy.clear()


def plastic_float(rule: LearningRule, syn, n_pre: int, n_post: int) -> PlasticFloat:
    """The state of a plastic projection from its lowered synapses (``Synapses``)."""
    counts = np.diff(syn.indptr).astype(np.int64)
    pre = np.repeat(np.arange(n_pre, dtype=np.int64), counts)
    w = np.asarray(syn.weights, dtype=np.float64)
    top = float(np.max(np.abs(w))) if w.size else 1.0
    unit = top / 128.0 if top > 0 else 1.0
    sign = 1 if w.size and w.min() >= 0 else (-1 if w.size and w.max() <= 0 else 0)
    return PlasticFloat(rule=rule, pre=pre, post=np.asarray(syn.indices, dtype=np.int64),
                        w=w / unit, w_unit=unit, sign=sign,
                        x=np.zeros((2, n_pre)), y=np.zeros((3, n_post)),
                        tx=np.zeros(n_pre, dtype=np.int64), ty=np.zeros(n_post, dtype=np.int64),
                        hx=[], hy=[])
