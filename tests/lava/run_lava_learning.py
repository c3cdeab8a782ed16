"""Run one plastic projection in Lava 0.10 (inside Lava's own venv) and save what it learned.

Usage: python run_lava_learning.py spec.npz out.npz

spec.npz: ``raster`` bool [T, n_pre] (input spikes per step), ``weights`` int [n_post, n_pre],
``weight_exp``, ``sign_mode`` (1 mixed, 2 excitatory, 3 inhibitory: Lava's SignMode), ``du``,
``dv``, ``vth``, ``bias_mant``, ``dw`` (the rule text), ``x1_tau``, ``x1_impulse``, ``y1_tau``,
``y1_impulse``, ``x2_tau``, ``x2_impulse``, ``t_epoch``, ``rng_seed``.
out.npz: per step (after it) ``weights`` [T, n_post, n_pre], ``x1``, ``x2`` [T, n_pre],
``y1`` [T, n_post], ``spikes`` [T, n_post] (the LIF's output).
"""

import sys

import numpy as np
from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import LearningDense
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.lif.process import LIF
from lava.utils.weightutils import SignMode


def main(spec_path: str, out_path: str) -> None:
    s = np.load(spec_path, allow_pickle=False)
    raster = s["raster"].astype(bool)
    steps, n_pre = raster.shape
    w = s["weights"].astype(np.int32)
    n_post = w.shape[0]
    rule = Loihi2FLearningRule(dw=str(s["dw"]), x1_tau=float(s["x1_tau"]), x1_impulse=float(s["x1_impulse"]),
                               x2_tau=float(s["x2_tau"]), x2_impulse=float(s["x2_impulse"]),
                               y1_tau=float(s["y1_tau"]), y1_impulse=float(s["y1_impulse"]),
                               t_epoch=int(s["t_epoch"]), rng_seed=int(s["rng_seed"]))
    src = Source(data=raster.T.astype(np.int32))
    dense = LearningDense(weights=w, learning_rule=rule, weight_exp=int(s["weight_exp"]),
                          num_weight_bits=8, sign_mode=SignMode(int(s["sign_mode"])))
    lif = LIF(shape=(n_post,), du=int(s["du"]), dv=int(s["dv"]), vth=int(s["vth"]),
              bias_mant=int(s["bias_mant"]), bias_exp=0)
    sink = Sink(shape=(n_post,), buffer=steps)
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    lif.s_out.connect(dense.s_in_bap)
    lif.s_out.connect(sink.a_in)
    weights = np.zeros((steps, n_post, n_pre), dtype=np.int64)
    x1 = np.zeros((steps, n_pre), dtype=np.int64)
    x2 = np.zeros((steps, n_pre), dtype=np.int64)
    y1 = np.zeros((steps, n_post), dtype=np.int64)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    for t in range(steps):
        dense.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
        weights[t] = dense.weights.get()
        x1[t] = dense.x1.get()
        x2[t] = dense.x2.get()
        y1[t] = dense.y1.get()
    spikes = sink.data.get().T.astype(bool)
    dense.stop()
    np.savez(out_path, weights=weights, x1=x1, x2=x2, y1=y1, spikes=spikes)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
