"""neurocomp's Akida emulation time per frame next to BrainChip's own engine, same model.

The model is ``examples/digits_cnn_akida.snn`` (an input convolution on 8-bit 8x8
digits, a convolution, both with 4-bit activations and max pools, a dense read-out),
and the frames are its 360 test digits (``examples/data/digits_cnn_test.npz``).
BrainChip's engine (pip ``akida`` 2.19.3, its software backend: a model mapped to
``None``) builds the same layers with the same integers in a venv of its own, driven in a
subprocess (it is never a dependency of neurocomp); ``--akida-python`` names that venv's
Python, or ``NEUROCOMP_AKIDA_PYTHON``.

Measured inside each process, after a warm-up (no interpreter start-up, no imports,
no compilation): the engine's ``model.forward`` of all frames as one batch; neurocomp's
``emulate`` of the same frames pipelined one per step (``n + 6`` steps), end to end, and
its kernel loop alone (``RunResult.wall_s``). Runs alternate between the two tools;
the figures are medians, as milliseconds per frame, with the ratio and the load
average at the start and the end. The script also checks that the two give the same
scores for every frame (and that they are the integer reference's).

Run::

    .venv/bin/python benchmarks/bench_akida_vendor.py --akida-python .akida-venv/bin/python --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data"

#: Runs in the engine's venv: builds the model, returns its scores and the times of ``forward``.
ENGINE = r'''
import json, sys, time
import numpy as np
import akida

req = json.loads(sys.stdin.read())
d = {k: np.asarray(v) for k, v in req["arrays"].items()}
m = akida.Model()
m.add(akida.InputConvolutional(input_shape=(8, 8, 1), kernel_size=(3, 3), filters=8, weights_bits=8, act_bits=4,
                               pool_type=akida.PoolType.Max, pool_size=(2, 2)))
m.add(akida.Convolutional(kernel_size=(3, 3), filters=16, weights_bits=4, act_bits=4,
                          pool_type=akida.PoolType.Max, pool_size=(2, 2)))
m.add(akida.FullyConnected(10, weights_bits=4, activation=False))
L1, L2, L3 = m.layers
# InputConvolutional is a cross-correlation; Convolutional a true convolution (flipped
# kernel); FullyConnected reads its (H, W, C) input in Fortran order.
L1.set_variable("weights", d["k1"].transpose(2, 3, 1, 0).astype(np.int8))
L2.set_variable("weights", d["k2"][:, :, ::-1, ::-1].transpose(2, 3, 1, 0).astype(np.int8))
w3 = d["w3"].reshape(10, 16, 2, 2).transpose(1, 3, 2, 0).reshape(L3.variables["weights"].shape)
L3.set_variable("weights", w3.astype(np.int8))
for L, th, st in ((L1, d["th1"], d["st1"]), (L2, d["th2"], d["st2"])):
    L.set_variable("threshold", th.astype(np.int32))
    L.set_variable("act_step", st.astype(np.float32))  # act_bits 4: the engine's step is ours
m.map(None)
x = d["x"].transpose(0, 2, 3, 1).astype(np.uint8)
out = m.forward(x)
times = []
for _ in range(req["runs"]):
    t = time.perf_counter()
    m.forward(x)
    times.append(time.perf_counter() - t)
print("@@neurocomp@@" + json.dumps({"out": out.reshape(len(x), -1).astype(np.int64).tolist(), "times": times}))
'''


def per_filter(a: np.ndarray) -> np.ndarray:
    """The first neuron's value of each filter of a per-neuron ``[F, H, W]`` array."""
    return a.reshape(a.shape[0], -1)[:, 0]


def engine_times(python: str, arrays: dict, runs: int) -> tuple[np.ndarray, list[float]]:
    req = {"arrays": {k: v.tolist() for k, v in arrays.items()}, "runs": runs}
    proc = subprocess.run([python, "-c", ENGINE], input=json.dumps(req), capture_output=True, text=True,
                          timeout=600, check=True)
    line = [x for x in proc.stdout.splitlines() if x.startswith("@@neurocomp@@")][-1]
    got = json.loads(line[len("@@neurocomp@@"):])
    return np.asarray(got["out"]), got["times"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--akida-python", default=os.environ.get("NEUROCOMP_AKIDA_PYTHON", ""),
                        help="the Python of a venv with akida==2.19.3")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not args.akida_python or not Path(args.akida_python).exists():
        sys.exit("give --akida-python (a venv with: pip install akida==2.19.3)")

    import neurocomp as nc

    load = os.getloadavg()
    data = np.load(DATA / "digits_cnn_test.npz", allow_pickle=False)
    x, reference = data["x"], data["out"]
    n = len(x)
    arrays = {"x": x, "k1": np.load(DATA / "digits_cnn_k1.npy"), "k2": np.load(DATA / "digits_cnn_k2.npy"),
              "w3": np.load(DATA / "digits_cnn_w3.npy"),
              "th1": per_filter(np.load(DATA / "digits_cnn_th1.npy")),
              "st1": per_filter(np.load(DATA / "digits_cnn_st1.npy")),
              "th2": per_filter(np.load(DATA / "digits_cnn_th2.npy")),
              "st2": per_filter(np.load(DATA / "digits_cnn_st2.npy"))}
    mapping = nc.compile(ROOT / "examples" / "digits_cnn_akida.snn", "akida")
    frames = np.zeros((n + 6, 64))
    frames[:n] = x.reshape(n, -1)
    warm = nc.run(mapping, steps=n + 6, inputs={"pixels": frames})
    ours = warm.traces["out"]["voltage"][5:5 + n].astype(np.int64)

    ours_total, ours_kernel, theirs = [], [], []
    out = None
    for _ in range(args.runs):  # alternate: one engine batch (in its process), one neurocomp run
        out, t = engine_times(args.akida_python, arrays, 1)
        theirs += t
        start = time.perf_counter()
        r = nc.run(mapping, steps=n + 6, inputs={"pixels": frames})
        ours_total.append(time.perf_counter() - start)
        ours_kernel.append(r.wall_s)
    same = np.array_equal(out, ours) and np.array_equal(ours, reference)
    ms = lambda ts: 1e3 * statistics.median(ts) / n  # noqa: E731
    print(f"digits_cnn_akida, {n} frames, {args.runs} runs each, alternating (medians)")
    print(f"  scores equal (engine, neurocomp, integer reference): {same}")
    print(f"  akida engine forward      {ms(theirs):8.4f} ms/frame")
    print(f"  neurocomp emulate         {ms(ours_total):8.4f} ms/frame  ({ms(ours_total) / ms(theirs):.2f}x the engine)")
    print(f"  neurocomp kernel loop     {ms(ours_kernel):8.4f} ms/frame  ({ms(ours_kernel) / ms(theirs):.2f}x the engine)")
    print(f"  load average: {load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    if not same:
        sys.exit("the scores differ")


if __name__ == "__main__":
    main()
