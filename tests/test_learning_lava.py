"""Learning bit for bit against Lava 0.10 itself (its fixed-point LearningDense + LIF),
run in a venv of its own (``tools/make_lava_venv.sh``) through ``tests/lava/run_lava_learning.py``.

Skipped unless that venv exists (``$NEUROCOMP_LAVA_PYTHON``, default
``/work/venvs/lava/bin/python``); slow::

    tools/make_lava_venv.sh /work/venvs/lava
    pytest -m slow tests/test_learning_lava.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc

LAVA = Path(os.environ.get("NEUROCOMP_LAVA_PYTHON", "/work/venvs/lava/bin/python"))
DRIVER = Path(__file__).parent / "lava" / "run_lava_learning.py"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not LAVA.is_file(), reason=f"no Lava venv at {LAVA}")]

SCENARIOS = {
    # fractional impulses (stochastic impulse rounding), a 2^-2 scale (weight rounding)
    "rule_mixed": dict(dw="2^-2*x1*y0 - 2^-2*y1*x0", x1_tau=16, x1_impulse=20.5, y1_tau=10,
                       y1_impulse=15.25, x2_tau=0, x2_impulse=0, t_epoch=2, sign_mode=1,
                       vth=100, seed=1, rng_seed=7, steps=30),
    # STDPLoihi's string, excitatory, epoch 1, a bias so the post neurons fire on their own
    "stdp_exc": dict(dw="(-1)*x0*y1 + (1)*y0*x1", x1_tau=10, x1_impulse=16, y1_tau=5,
                     y1_impulse=16, x2_tau=0, x2_impulse=0, t_epoch=1, sign_mode=2, vth=300,
                     seed=2, rng_seed=11, steps=60),
    # a second pre trace with its own decay, products of three factors, epoch 4
    "three_factor": dict(dw="3*2^-3*x1*y0*(y1-2) - 2^-4*x0*y1*x2 + 2^-5*y0*w", x1_tau=8,
                         x1_impulse=30.75, y1_tau=12, y1_impulse=25, x2_tau=20, x2_impulse=10.5,
                         t_epoch=4, sign_mode=1, vth=150, seed=3, rng_seed=5, steps=48),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_weights_traces_and_spikes_equal_lavas(tmp_path, name):
    sc = SCENARIOS[name]
    rng = np.random.default_rng(sc["seed"])
    steps, n_pre, n_post = sc["steps"], 6, 4
    raster = rng.random((steps, n_pre)) < 0.3
    lo = 0 if sc["sign_mode"] == 2 else -60
    weights = rng.integers(lo, 120, (n_post, n_pre)) * 2
    weights[weights == 0] = 2
    spec = {k: sc[k] for k in ("dw", "x1_tau", "x1_impulse", "y1_tau", "y1_impulse", "x2_tau",
                               "x2_impulse", "t_epoch", "sign_mode", "vth", "rng_seed")}
    np.savez(tmp_path / "spec.npz", raster=raster, weights=weights, weight_exp=0, du=4095, dv=0,
             bias_mant=0, **spec)
    subprocess.run([str(LAVA), str(DRIVER), str(tmp_path / "spec.npz"), str(tmp_path / "lava.npz")],
                   check=True, capture_output=True, timeout=600)
    lava = np.load(tmp_path / "lava.npz", allow_pickle=False)

    np.save(tmp_path / "in.npy", raster)
    np.save(tmp_path / "w.npy", weights)
    mode = {1: "mixed", 2: "excitatory", 3: "inhibitory"}[sc["sign_mode"]]
    (tmp_path / "n.snn").write_text(f"""network lava_{name}
input a[{n_pre}] : spikes(file = "in.npy")
population b[{n_post}] : LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 0, vth_mant = {sc['vth']}, bias_mant = 0, bias_exp = 0)
connect a -> b : dense(weights = "w.npy") native loihi(weights = "w.npy", weight_exp = 0, weight_bits = 8, sign_mode = {mode}) learn rule(dw = "{sc['dw']}", x1_tau = {sc['x1_tau']}, x1_impulse = {sc['x1_impulse']}, x2_tau = {sc['x2_tau']}, x2_impulse = {sc['x2_impulse']}, y1_tau = {sc['y1_tau']}, y1_impulse = {sc['y1_impulse']}, t_epoch = {sc['t_epoch']}, rng_seed = {sc['rng_seed']})
probe a -> b : weights
""")
    res = nc.run(nc.compile(nc.load(tmp_path / "n.snn"), chip="loihi"), steps)
    tr = res.traces["a->b"]
    w = np.zeros((steps, n_post, n_pre), dtype=np.int64)
    pre, post = tr["synapses"].T
    w[:, post, pre] = tr["weights"]
    spikes = np.zeros((steps, n_post), dtype=bool)
    spikes[res.spikes["b"].times, res.spikes["b"].indices] = True
    assert lava["spikes"].sum() > 5  # the post neurons do fire
    assert not np.array_equal(lava["weights"][-1], weights)  # and the weights do learn
    np.testing.assert_array_equal(spikes, lava["spikes"])
    np.testing.assert_array_equal(tr["x1"], lava["x1"])
    np.testing.assert_array_equal(tr["x2"], lava["x2"])
    np.testing.assert_array_equal(tr["y1"], lava["y1"])
    np.testing.assert_array_equal(w, lava["weights"])
    # unprobed, the post side's updates wait in the lag log (learning._log_epoch, for the
    # rules that allow it): the last weights are still Lava's
    (tmp_path / "u.snn").write_text((tmp_path / "n.snn").read_text().replace("probe a -> b : weights\n", ""))
    unprobed = nc.run(nc.compile(nc.load(tmp_path / "u.snn"), chip="loihi"), steps)
    np.testing.assert_array_equal(unprobed.traces["a->b"]["final_weights"], tr["final_weights"])
    assert unprobed.spikes["b"].times.tolist() == res.spikes["b"].times.tolist()
