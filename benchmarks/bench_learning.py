"""How fast the Loihi learning engine runs: a 1,000 -> 1,000 plastic projection.

The network: ``pre[N]`` input spikes (Bernoulli, 2 % per step, seeded) through a dense
``N x N`` projection (excitatory integer weights, seeded) into ``post[N]`` LIF
compartments (pinned Loihi registers, so both sides run the same integers). Three runs:

* ``static``: no ``learn`` clause (the Loihi kernel alone);
* ``plastic``: ``learn rule(dw = "(-1)*x0*y1 + (1)*y0*x1", ...)`` (STDP, epoch ``--epoch``);
* ``lava`` (when Lava's venv exists, ``$NEUROCOMP_LAVA_PYTHON`` or
  ``/work/venvs/lava/bin/python``, made by ``tools/make_lava_venv.sh``): the same network
  in Lava 0.10's fixed-point ``LearningDense`` + ``LIF`` (``benchmarks/lava_learning_peer.py``),
  fewer steps (``--lava-steps``: Lava is slow), ``--lava-runs`` runs interleaved with
  neurocomp's, median printed.

Throughput is synaptic events (input spikes x their fan-out N) per second of loop time
(``RunResult.wall_s``: the emulation loop alone, learning included). neurocomp's runs are
interleaved, ``--runs`` each, medians printed; the load average is printed first (a
shared 2-core machine: run it as quietly as you can).

Run from the repository root::

    .venv/bin/python benchmarks/bench_learning.py            # N = 1000, 500 steps, epoch 1
    .venv/bin/python benchmarks/bench_learning.py --epoch 4 --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LAVA = Path(os.environ.get("NEUROCOMP_LAVA_PYTHON", "/work/venvs/lava/bin/python"))
RULE = "(-1)*x0*y1 + (1)*y0*x1"


def write_network(folder: Path, n: int, steps: int, epoch: int, plastic: bool) -> Path:
    rng = np.random.default_rng(7)
    raster = rng.random((steps, n)) < 0.02
    weights = rng.integers(0, 16, (n, n)) * 2 + 2  # even (Lava's 8-bit mixed grid), never 0
    np.save(folder / "in.npy", raster)
    np.save(folder / "w.npy", weights)
    learn = (f' learn rule(dw = "{RULE}", x1_tau = 10, x1_impulse = 16, y1_tau = 10, '
             f'y1_impulse = 16, t_epoch = {epoch}, rng_seed = 1)') if plastic else ""
    path = folder / ("plastic.snn" if plastic else "static.snn")
    path.write_text(f"""network bench_learning
input pre[{n}] : spikes(file = "in.npy")
population post[{n}] : LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 256, vth_mant = 5000, bias_mant = 0, bias_exp = 0)
connect pre -> post : dense(weights = "w.npy") native loihi(weights = "w.npy", weight_exp = 0, weight_bits = 8, sign_mode = excitatory){learn}
""")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--epoch", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lava-steps", type=int, default=20)
    parser.add_argument("--lava-runs", type=int, default=3, help="Lava runs (each a subprocess)")
    args = parser.parse_args()
    import neurocomp as nc

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        maps = {kind: nc.compile(nc.load(write_network(folder, args.n, args.steps, args.epoch,
                                                         kind == "plastic")), chip="loihi")
                for kind in ("static", "plastic")}
        for m in maps.values():  # compile the kernels (or load them from the cache)
            nc.run(m, 2)
        rates: dict[str, list[float]] = {k: [] for k in maps}
        spikes = {}
        lava_runs = args.lava_runs if LAVA.is_file() else 0
        if lava_runs:
            rng = np.random.default_rng(7)
            raster = rng.random((args.steps, args.n)) < 0.02
            weights = rng.integers(0, 16, (args.n, args.n)) * 2 + 2
            np.savez(folder / "spec.npz", raster=raster, weights=weights, dw=RULE, tau=10,
                     t_epoch=args.epoch, dv=256, vth=5000)
            rates["lava"] = []
        for r in range(max(args.runs, lava_runs)):
            if r < args.runs:
                for kind, m in maps.items():
                    res = nc.run(m, args.steps)
                    rates[kind].append(res.synaptic_events / res.wall_s)
                    spikes[kind] = res.spikes["post"].count
            if r < lava_runs:  # Lava's runs interleaved with neurocomp's
                out = subprocess.run([str(LAVA), str(ROOT / "benchmarks" / "lava_learning_peer.py"),
                                      str(folder / "spec.npz"), str(args.lava_steps)],
                                     check=True, capture_output=True, text=True, timeout=3600).stdout
                seconds, events = out.split()
                rates["lava"].append(int(events) / float(seconds))
        med = {k: statistics.median(v) for k, v in rates.items()}
        print(f"N = {args.n}, {args.steps} steps, epoch {args.epoch}, {args.runs} interleaved runs "
              f"(post spikes: static {spikes['static']}, plastic {spikes['plastic']})")
        for kind in maps:
            print(f"  {kind:8s} {med[kind]:12.4g} synaptic events/s")
        print(f"  learning costs {med['static'] / med['plastic']:.2f}x the static network's time")
        if not lava_runs:
            why = "--lava-runs 0" if LAVA.is_file() else f"no venv at {LAVA}; tools/make_lava_venv.sh makes one"
            print(f"  lava: skipped ({why})")
            return
        print(f"  lava     {med['lava']:12.4g} synaptic events/s ({args.lava_steps} steps, median of "
              f"{lava_runs} runs: {' '.join(f'{x:.3g}' for x in rates['lava'])})")
        print(f"  neurocomp plastic / lava: {med['plastic'] / med['lava']:.0f}x")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
