"""How fast, and in how much memory, lowering builds a large random network.

Builds one population of N neurons with a recurrent ``random(p, weight, seed,
self = false)`` projection (N²·p synapses) and lowers it to CSR, for two sizes:

* small: N = 100 000, p = 1e-3  ->  1e7 synapses
* big:   N = 1 000 000, p = 1e-4 ->  1e8 synapses

and, as the peer, ``scipy.sparse.random`` of the same shape and density (CSR, float64
uniform weights, then ``sort_indices()`` so both produce the same thing: CSR with
ascending targets per row).

Each measurement runs in a fresh subprocess: after the imports and a small warm-up
(which loads the Numba cache), the peak RSS so far is the baseline; the figure is
``ru_maxrss`` after the build minus that baseline, compared with the size of the CSR
arrays produced. Throughput is synapses / wall seconds; the median over runs is
printed. Run it with::

    /work/venv/bin/python benchmarks/bench_lower.py            # both sizes, both builders
    /work/venv/bin/python benchmarks/bench_lower.py --sizes small --runs 5
    /work/venv/bin/python benchmarks/bench_lower.py --weight normal

Targets: >= 1e7 synapses/s and peak memory <= 2x the CSR arrays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _common import peak_rss_bytes

SIZES = {"small": (100_000, 1e-3), "big": (1_000_000, 1e-4)}


def _worker_neurocomp(n: int, p: float, weight: str, seed: int) -> dict:
    import numpy as np  # noqa: F401  (imported before the baseline)

    from neurocomp.compiler.lower import lower_projection
    from neurocomp.ir.connectors import Random
    from neurocomp.ir.network import NeuronModel, Population, Projection
    from neurocomp.ir.values import Distribution

    law = {"uniform": Distribution("uniform", 0.0, 1.0),
           "normal": Distribution("normal", 0.5, 0.1),
           "const": 0.5}[weight]
    lif = NeuronModel(family="lif", beta=0.9)

    def build(size: int, prob: float):
        a = Population(name="a", shape=(size,), neuron=lif)
        proj = Projection(name="rec", pre="a", post="a",
                          connector=Random(p=prob, weight=law, seed=seed, allow_self=False))
        return lower_projection(proj, a, a)

    build(100, 0.1)  # warm-up: loads (or compiles) the Numba kernels
    base = peak_rss_bytes()
    t0 = time.perf_counter()
    syn = build(n, p)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "synapses": syn.n_synapses, "peak_bytes": peak_rss_bytes() - base,
            "csr_bytes": syn.nbytes}


def _worker_scipy(n: int, p: float, weight: str, seed: int) -> dict:
    import numpy as np
    import scipy.sparse

    scipy.sparse.random(100, 100, density=0.1, format="csr", dtype=np.float64, rng=seed)
    base = peak_rss_bytes()
    t0 = time.perf_counter()
    m = scipy.sparse.random(n, n, density=p, format="csr", dtype=np.float64, rng=seed)
    m.sort_indices()  # a no-op today (tocsr sorts), kept so both build the same thing
    seconds = time.perf_counter() - t0
    csr = m.indptr.nbytes + m.indices.nbytes + m.data.nbytes
    return {"seconds": seconds, "synapses": int(m.nnz),
            "peak_bytes": peak_rss_bytes() - base, "csr_bytes": csr}


def measure(builder: str, n: int, p: float, weight: str, seed: int) -> dict:
    """One measurement in a fresh interpreter (so peak RSS is this build's alone)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", builder, str(n), repr(p), weight,
           str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--runs", type=int, default=5, help="runs per builder for the small size")
    ap.add_argument("--runs-big", type=int, default=3, help="runs per builder for the big size")
    ap.add_argument("--weight", choices=["uniform", "normal", "const"], default="uniform",
                    help="neurocomp's weight law (scipy draws uniform [0, 1) weights)")
    ap.add_argument("--no-scipy", action="store_true", help="skip the scipy.sparse.random peer")
    ap.add_argument("--worker", nargs=5, metavar=("BUILDER", "N", "P", "WEIGHT", "SEED"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        builder, n, p, weight, seed = args.worker
        fn = _worker_neurocomp if builder == "neurocomp" else _worker_scipy
        print(json.dumps(fn(int(n), float(p), weight, int(seed))))
        return

    print(f"load average before: {os.getloadavg()[0]:.2f} (2-core shared machine; medians quoted)")
    header = (f"{'size':6} {'builder':19} {'runs':>4} {'synapses':>11} {'median s':>9} "
              f"{'syn/s':>9} {'peak MiB':>9} {'CSR MiB':>8} {'peak/CSR':>8}")
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        n, p = SIZES[size]
        runs = args.runs if size == "small" else args.runs_big
        medians = {}
        for builder in ["neurocomp"] + ([] if args.no_scipy else ["scipy"]):
            res = [measure(builder, n, p, args.weight, seed) for seed in range(1, runs + 1)]
            sec = statistics.median(r["seconds"] for r in res)
            syn = statistics.median(r["synapses"] for r in res)
            peak = statistics.median(r["peak_bytes"] for r in res)
            csr = statistics.median(r["csr_bytes"] for r in res)
            medians[builder] = (syn / sec, peak / csr)
            label = builder if builder == "scipy" else f"neurocomp ({args.weight})"
            print(f"{size:6} {label:19} {runs:>4} {syn:>11.4g} {sec:>9.3f} {syn / sec:>9.3g} "
                  f"{peak / 2**20:>9.0f} {csr / 2**20:>8.0f} {peak / csr:>8.2f}")
        if "scipy" in medians:
            speed = medians["neurocomp"][0] / medians["scipy"][0]
            mem = medians["neurocomp"][1] / medians["scipy"][1]
            print(f"{size:6} neurocomp vs scipy: {speed:.1f}x the synapses/s, {mem:.2f}x the peak/CSR")


if __name__ == "__main__":
    main()
