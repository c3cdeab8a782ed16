"""Lava 0.10's fixed-point learning on the benchmark network (run inside Lava's venv).

Usage: python lava_learning_peer.py spec.npz steps  ->  prints "seconds synaptic_events"

The network of ``bench_learning.py``: a spike source (``raster`` [T, n_pre]) through a
``LearningDense`` (``weights`` [n_post, n_pre], STDPLoihi-like rule) into a LIF
population whose spikes return to the dense process's ``s_in_bap`` port. One ``run``
call of ``steps`` steps is timed (Lava's process start-up and compilation are outside).
"""

import sys
import time

import numpy as np
from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import LearningDense
from lava.proc.io.source import RingBuffer as Source
from lava.proc.lif.process import LIF
from lava.utils.weightutils import SignMode


def main(spec_path: str, steps: str) -> None:
    s = np.load(spec_path, allow_pickle=False)
    raster = s["raster"].astype(bool)
    steps = int(steps)
    w = s["weights"].astype(np.int32)
    rule = Loihi2FLearningRule(dw=str(s["dw"]), x1_tau=float(s["tau"]), x1_impulse=16.0,
                               y1_tau=float(s["tau"]), y1_impulse=16.0,
                               t_epoch=int(s["t_epoch"]), rng_seed=1)
    src = Source(data=raster.T.astype(np.int32))
    dense = LearningDense(weights=w, learning_rule=rule, weight_exp=0, num_weight_bits=8,
                          sign_mode=SignMode.EXCITATORY)
    lif = LIF(shape=(w.shape[0],), du=4095, dv=int(s["dv"]), vth=int(s["vth"]), bias_mant=0, bias_exp=0)
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    lif.s_out.connect(dense.s_in_bap)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    dense.run(condition=RunSteps(num_steps=1), run_cfg=cfg)  # start-up, outside the timing
    start = time.perf_counter()
    dense.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
    seconds = time.perf_counter() - start
    dense.stop()
    events = int(raster[1:steps + 1].sum()) * w.shape[0]
    print(seconds, events)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
