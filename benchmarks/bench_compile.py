"""How fast, and in how much memory, the compiler partitions, places and routes a big network.

Three parts:

1. **big**: one population of N = 1,000,000 LIF neurons, each with K = 100 synapses to
   distinct random targets within a window of 2,048 neighbours (1e8 synapses; local, as
   cortical models are, so it fits cores of 1,024 compartments at all), 4-bit weights,
   compiled for a 16-chip Loihi system (2,048 cores). At ~500 neurons per core (synapse
   memory binds: about 50,000 synapses of 4 + 9 bits each per 1 Mbit core) it takes
   about 2,000 cores, so 8 chips are not enough. Each pass (partition, place, route) is
   timed in a fresh process; peak memory is ``ru_maxrss`` after the compile minus before
   it. Target: at most 60 s and 8 GiB. The peer, timed in the same process, is
   ``scipy.sparse`` turning the same 1e8-synapse CSR matrix into CSC: one transpose, the
   least any partitioner that looks at fan-in must do.
2. **partitioners**: the same generator at 100,000 neurons (1e7 synapses), once in its
   natural order and once with the neuron ids shuffled (the same graph, irregular as far
   as a sequential split can tell): cores and routes that leave their core for the
   sequential split and the two graph partitioners (``bfs``: Cuthill-McKee order, and
   ``greedy``: graph growth).
3. **examples**: cores used for every example on Loihi (quantized by
   ``neurocomp.compiler.quantize``) next to nengo-loihi's rule (one block per core,
   ``n_split = max(ceil(usage / limit))`` per population), from
   ``nengo_loihi_cores`` in ``benchmarks/baselines.py``.

Run it from the repository root::

    /work/venv/bin/python benchmarks/bench_compile.py                 # all three parts
    /work/venv/bin/python benchmarks/bench_compile.py --parts big --runs 3
    /work/venv/bin/python benchmarks/bench_compile.py --neurons 200000  # a smaller "big"
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

from _common import peak_rss_bytes

ROOT = Path(__file__).resolve().parent.parent


def local_network(n: int, k: int, window: int, seed: int, shuffle: bool = False):
    """A QuantizedNetwork of one population, each neuron to ``k`` distinct targets in a
    window of ``window`` neighbours (one target per bin of ``window / k``), 4-bit weights.

    Returns (qnet, seconds spent building it)."""
    import numpy as np

    from neurocomp.ir.network import Network, NeuronModel, Population, Projection
    from neurocomp.ir.connectors import AllToAll
    from neurocomp.ir.quantized import QPopulation, QProjection, QuantizationReport, QuantizedNetwork
    from neurocomp.ir.synapses import Synapses

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    bin_w = window // k
    start = np.clip(np.arange(n, dtype=np.int64) - window // 2, 0, n - window)
    idx = np.empty((n, k), dtype=np.int32)
    for j in range(k):  # k passes over n: one distinct, ascending target per bin
        idx[:, j] = (start + j * bin_w + rng.integers(0, bin_w, size=n)).astype(np.int32)
    if shuffle:
        perm = rng.permutation(n).astype(np.int32)
        rows = np.empty(n, dtype=np.int64)
        rows[perm] = np.arange(n)
        idx = perm[idx][rows]  # row perm[i] holds the targets of old row i, renamed
        idx.sort(axis=1)
    indices = idx.reshape(-1)
    del idx
    indptr = np.arange(n + 1, dtype=np.int64) * k
    weights = rng.integers(1, 8, size=n * k, dtype=np.int64)
    weights[::3] *= -1
    lif = NeuronModel(family="lif", beta=0.9)
    net = Network(name=f"local{n}", populations={"a": Population(name="a", shape=(n,), neuron=lif)},
                  projections=(Projection(name="rec", pre="a", post="a", connector=AllToAll(1.0)),))
    syn = Synapses(projection="rec", n_pre=n, n_post=n, indptr=indptr, indices=indices, weights=weights)
    params = {key: np.full(n, v, dtype=np.int64) for key, v in
              dict(du=4095, dv=410, vth_mant=100, bias_mant=0, bias_exp=0, refractory=0).items()}
    qnet = QuantizedNetwork(network=net, chip=None, family="loihi_cuba_lif",
                            populations={"a": QPopulation(name="a", size=n, is_input=False, params=params)},
                            projections={"rec": QProjection(name="rec", pre="a", post="a", synapses=syn,
                                                            weight_bits=4)},
                            report=QuantizationReport())
    return qnet, time.perf_counter() - t0


def _warm_up(chip) -> None:
    """Load the Numba caches (same dtypes as the real run) so JIT time is not counted."""
    from neurocomp.compiler.partition import partition
    from neurocomp.compiler.place import place
    from neurocomp.compiler.route import route

    q, _ = local_network(4096, 16, 256, 0)
    route(place(partition(q, chip, strategy="auto"), chip), q, chip)


def worker_big(n: int, k: int, window: int, chips: int, seed: int) -> dict:
    import scipy.sparse

    from neurocomp.chip.load import load_chip
    from neurocomp.compiler.partition import partition
    from neurocomp.compiler.place import place
    from neurocomp.compiler.route import route

    chip = load_chip("loihi", chips=chips)
    _warm_up(chip)
    q, build_s = local_network(n, k, window, seed)
    syn = q.projections["rec"].synapses
    base = peak_rss_bytes()
    t0 = time.perf_counter()
    part = partition(q, chip, strategy="sequential")
    t1 = time.perf_counter()
    placed = place(part, chip)
    t2 = time.perf_counter()
    m = route(placed, q, chip)
    t3 = time.perf_counter()
    peak = peak_rss_bytes() - base
    util = {name: (used, limit) for name, used, limit, _ in m.utilization().worst()}
    out = {
        "n": n, "synapses": int(syn.n_synapses), "chips": chips, "build_s": build_s,
        "partition_s": t1 - t0, "place_s": t2 - t1, "route_s": t3 - t2, "total_s": t3 - t0,
        "peak_bytes": peak, "cores": len(m.cores), "chips_used": placed.report.chips_used,
        "passes": part.report.passes, "routes": placed.report.routes, "cut_routes": part.report.cut_routes,
        "mean_hops": placed.report.mean_hops, "interchip_routes": placed.report.interchip_routes,
        "naive_cost": placed.report.naive_cost, "cost": placed.report.cost, "worst": util,
        "mapping_bytes": int(sum(getattr(m, a).nbytes for a in ("syn_target", "syn_weight", "syn_delay",
                                                                 "axon_syn_ptr", "route_axon", "route_ptr"))),
    }
    del m, placed, part
    mat = scipy.sparse.csr_matrix((syn.weights, syn.indices, syn.indptr), shape=(n, n))
    t0 = time.perf_counter()
    mat.tocsc()
    out["peer_tocsc_s"] = time.perf_counter() - t0
    return out


def worker_partitioners(n: int, k: int, window: int, chips: int, seed: int) -> dict:
    from neurocomp.chip.load import load_chip
    from neurocomp.compiler.partition import partition

    chip = load_chip("loihi", chips=chips)
    _warm_up(chip)
    rows = {}
    for shuffle in (False, True):
        q, _ = local_network(n, k, window, seed, shuffle=shuffle)
        for strategy in ("sequential", "bfs", "greedy"):
            t0 = time.perf_counter()
            p = partition(q, chip, strategy=strategy)
            rows[f"{'shuffled' if shuffle else 'natural'}/{strategy}"] = {
                "cores": p.n_cores, "cut_routes": p.report.cut_routes, "routes": p.report.total_routes,
                "slices": sum(len(c.slices) for c in p.cores), "seconds": time.perf_counter() - t0}
    return rows


def examples() -> list[dict]:
    import neurocomp as nc
    from neurocomp.chip.load import load_chip
    from baselines import nengo_loihi_cores
    from neurocomp.compiler.partition import partition
    from neurocomp.compiler.quantize import quantize

    out = []
    for name in ("chain", "mnist_mlp", "dvs_conv", "encoders", "brunel"):
        net = nc.load(ROOT / "examples" / f"{name}.snn")
        chip = load_chip("loihi", chips=4)
        q = quantize(net, chip)
        p = partition(q, chip)
        out.append({"example": name, "neurons": net.n_neurons, "cores": p.n_cores,
                    "nengo_loihi": nengo_loihi_cores(q, chip), "strategy": p.report.strategy,
                    "cut_routes": p.report.cut_routes})
    return out


def _run_worker(fn: str, *args) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bench_compile as b; "
            f"print(json.dumps(b.{fn}(*{args!r})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", nargs="+", default=["big", "partitioners", "examples"],
                    choices=["big", "partitioners", "examples"])
    ap.add_argument("--neurons", type=int, default=1_000_000)
    ap.add_argument("--synapses-per-neuron", type=int, default=100)
    ap.add_argument("--window", type=int, default=2048)
    ap.add_argument("--chips", type=int, default=16)
    ap.add_argument("--runs", type=int, default=1, help="repetitions of the big case (median reported)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")

    if "big" in args.parts:
        runs = [_run_worker("worker_big", args.neurons, args.synapses_per_neuron, args.window, args.chips, s)
                for s in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in
               ("partition_s", "place_s", "route_s", "total_s", "peak_bytes", "peer_tocsc_s", "build_s")}
        r = runs[0]
        print(f"\nbig: {r['n']:,} neurons, {r['synapses']:,} synapses on loihi x {r['chips']} chips "
              f"({args.runs} run(s), medians)")
        print(f"  network built in {med['build_s']:.1f} s (not counted)")
        print(f"  partition {med['partition_s']:.2f} s ({r['passes']} pass(es)), place {med['place_s']:.2f} s, "
              f"route {med['route_s']:.2f} s: total {med['total_s']:.2f} s (target <= 60 s)")
        print(f"  peak memory {med['peak_bytes'] / 2**30:.2f} GiB above the network (target <= 8 GiB); "
              f"the Mapping's arrays {r['mapping_bytes'] / 2**30:.2f} GiB")
        print(f"  {r['cores']:,} cores on {r['chips_used']} chips; routes {r['routes']:,}, "
              f"{r['cut_routes']:,} leave their core, {r['interchip_routes']:,} cross chips, "
              f"mean {r['mean_hops']:.2f} hops; placement cost {r['cost']:,} vs row-major {r['naive_cost']:,}")
        print("  fullest core: " + ", ".join(f"{k} {u:,}/{lim:,}" for k, (u, lim) in r["worst"].items()))
        print(f"  peer: scipy.sparse CSR -> CSC of the same synapses {med['peer_tocsc_s']:.2f} s; "
              f"compile / peer = {med['total_s'] / med['peer_tocsc_s']:.1f}x")

    if "partitioners" in args.parts:
        n = max(args.neurons // 10, 10_000)
        rows = _run_worker("worker_partitioners", n, args.synapses_per_neuron, args.window, args.chips, 0)
        print(f"\npartitioners: {n:,} neurons x {args.synapses_per_neuron} synapses, window {args.window}")
        print(f"  {'order/strategy':24s} {'cores':>6s} {'cut routes':>12s} {'of routes':>12s} {'slices':>8s} {'s':>7s}")
        for key, row in rows.items():
            print(f"  {key:24s} {row['cores']:6,d} {row['cut_routes']:12,d} {row['routes']:12,d} "
                  f"{row['slices']:8,d} {row['seconds']:7.2f}")

    if "examples" in args.parts:
        print("\nexamples on loihi (4 chips): cores used, and nengo-loihi's rule")
        print(f"  {'example':12s} {'neurons':>8s} {'cores':>6s} {'nengo-loihi':>12s}  strategy")
        for row in examples():
            print(f"  {row['example']:12s} {row['neurons']:8,d} {row['cores']:6d} {row['nengo_loihi']:12d}  "
                  f"{row['strategy']}")


if __name__ == "__main__":
    main()
