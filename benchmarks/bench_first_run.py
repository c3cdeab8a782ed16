"""The first run on a machine: README's first command with an empty Numba cache.

``neurocomp run examples/mnist_mlp.snn --chip loihi --steps 100`` is timed cold (a new,
empty ``NUMBA_CACHE_DIR``) with the emulator kernel compiled alongside the network's
kernels (``neurocomp.cli.warmup``; ``NEUROCOMP_WARMUP=1`` starts it even on a busy
machine) and without (``NEUROCOMP_WARMUP=0``, the peer), alternately; then warm (the cache the last cold run filled). (mnist_mlp is small enough to
be compiled by the compiler kernels' Python forms, which compile nothing, so ``run`` starts
no second process for it and the two cold variants are the same command.) Wall and CPU
seconds (CPU of the command and the processes it waited for), medians; the load average
before and after. Run: ``python benchmarks/bench_first_run.py [--runs 3]``.

``--peer DIR`` compares with another checkout instead (e.g. ``/work/main``, the code
before a change): both run cold without the second process (``NUMBA_CACHE_DIR`` fresh,
``NEUROCOMP_WARMUP=0``, the CPU is the compiling itself), this checkout and ``DIR``
alternately (``PYTHONPATH`` set to each), then warm.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["-m", "neurocomp", "run", "examples/mnist_mlp.snn", "--chip", "loihi", "--steps", "100"]


def timed(env: dict[str, str], root: Path = ROOT) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of the command in checkout ``root``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *COMMAND], cwd=root, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="cold runs of each variant (default 3)")
    ap.add_argument("--peer", metavar="DIR", help="another checkout to compare with (cold, no second process)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    if args.peer:
        return versus(Path(args.peer).resolve(), args.runs)
    cold: dict[str, list[tuple[float, float]]] = {"warm-up alongside": [], "no warm-up": []}
    warm: list[tuple[float, float]] = []
    for _ in range(args.runs):
        for name in cold:
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, NUMBA_CACHE_DIR=cache, NEUROCOMP_WARMUP="0" if name == "no warm-up" else "1")  # 1: even when busy
                cold[name].append(timed(env))
                warm.append(timed(env))
    for name, runs in cold.items():
        print(f"cold, {name:17s}: wall {statistics.median(w for w, _ in runs):6.1f} s, "
              f"CPU {statistics.median(c for _, c in runs):6.1f} s  (walls: "
              + ", ".join(f"{w:.1f}" for w, _ in runs) + ")")
    a, b = (statistics.median(w for w, _ in cold[k]) for k in cold)
    print(f"cold wall, no warm-up / warm-up alongside: {b / a:.2f}x")
    print(f"warm: wall {statistics.median(w for w, _ in warm):.2f} s, CPU {statistics.median(c for _, c in warm):.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def versus(peer: Path, runs: int) -> None:
    """This checkout against ``peer``, cold and warm, alternately."""
    trees = {"this": ROOT, "peer": peer}
    cold: dict[str, list[tuple[float, float]]] = {k: [] for k in trees}
    warm: dict[str, list[tuple[float, float]]] = {k: [] for k in trees}
    for _ in range(runs):
        for name, root in trees.items():
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, NUMBA_CACHE_DIR=cache, NEUROCOMP_WARMUP="0", PYTHONPATH=str(root))
                cold[name].append(timed(env, root))
                warm[name].append(timed(env, root))
    for label, table in (("cold", cold), ("warm", warm)):
        for name, rows in table.items():
            print(f"{label}, {name} ({trees[name]}): wall {statistics.median(w for w, _ in rows):6.1f} s, "
                  f"CPU {statistics.median(c for _, c in rows):6.1f} s  (CPU: "
                  + ", ".join(f"{c:.1f}" for _, c in rows) + ")")
        a, b = (statistics.median(c for _, c in table[k]) for k in trees)
        print(f"{label} CPU, peer / this: {b / a:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
