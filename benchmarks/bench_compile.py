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
   Only the strategies ``auto`` tries at that size are timed (``--all-strategies`` adds the
   others), wall and CPU time each, alone and then inside ``auto`` (which builds the
   problem once and stops a next-fit candidate as soon as it needs more cores than the
   best cut so far); the peers, timed in the same process between the
   strategies, are the CSR -> CSC transpose above and scipy's reverse Cuthill-McKee of the
   same synapse graph (what ``bfs`` computes on atoms, by a well-kept library). Goal
   (issue 18): every strategy ``auto`` tries within 3 s, natural or shuffled order.
3. **examples**: cores used for every example on Loihi (quantized by
   ``neurocomp.compiler.quantize``) next to nengo-loihi's rule (one block per core,
   ``n_split = max(ceil(usage / limit))`` per population), from
   ``nengo_loihi_cores`` in ``benchmarks/baselines.py``.
4. **startup**: whole processes, timed from outside (wall, and the child's CPU time from
   the kernel's accounting), interleaved run by run, medians, warm Numba cache:
   ``neurocomp --version`` next to the interpreter starting and doing nothing
   (``python -c pass``), and ``neurocomp compile examples/mnist_mlp.snn --chip loihi``
   next to the least a process with a cached Numba kernel pays (importing Numba and
   building its CPU target, which loading any cached kernel does; a network as small as
   mnist_mlp is compiled by the kernels' Python forms and no longer pays it, see
   ``docs/compiler.md``); also ``nc.compile`` of
   the same network in a process that has compiled it once (no imports, no Numba set-up).
   Goals (issue 18): ``--version`` <= 0.3 s, the compile <= 0.5 s.

Run it from the repository root::

    /work/venv/bin/python benchmarks/bench_compile.py                 # all three parts
    /work/venv/bin/python benchmarks/bench_compile.py --parts big --runs 3
    /work/venv/bin/python benchmarks/bench_compile.py --neurons 200000  # a smaller "big"
    /work/venv/bin/python benchmarks/bench_compile.py --parts startup --runs 9
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


def worker_partitioners(n: int, k: int, window: int, chips: int, seed: int, every: bool = False) -> dict:
    import scipy.sparse
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    from neurocomp.chip.load import load_chip
    from neurocomp.compiler.partition import partition
    from neurocomp.compiler.partition.strategies import PARTITIONERS, auto_candidates

    chip = load_chip("loihi", chips=chips)
    _warm_up(chip)
    rows = {}
    for shuffle in (False, True):
        q, _ = local_network(n, k, window, seed, shuffle=shuffle)
        syn = q.projections["rec"].synapses
        tried, _notes = auto_candidates(int(syn.n_synapses))
        order = "shuffled" if shuffle else "natural"
        for strategy in (PARTITIONERS if every else tried):
            t0, c0 = time.perf_counter(), time.process_time()
            p = partition(q, chip, strategy=strategy)
            rows[f"{order}/{strategy}"] = {
                "cores": p.n_cores, "cut_routes": p.report.cut_routes, "routes": p.report.total_routes,
                "slices": sum(len(c.slices) for c in p.cores), "seconds": time.perf_counter() - t0,
                "cpu": time.process_time() - c0, "auto": strategy in tried, "passes": p.report.passes}
        rows.update(_timed_auto(q, chip, order, tried))
        mat = scipy.sparse.csr_matrix((syn.weights, syn.indices, syn.indptr), shape=(n, n))
        t0, c0 = time.perf_counter(), time.process_time()
        mat.tocsc()
        rows[f"{order}/peer: CSR -> CSC"] = {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}
        t0, c0 = time.perf_counter(), time.process_time()
        reverse_cuthill_mckee((mat + mat.T).tocsr(), symmetric_mode=True)
        rows[f"{order}/peer: scipy RCM"] = {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}
        del mat
    return rows


def _timed_auto(q, chip, order: str, tried: list[str]) -> dict:
    """``auto`` as a whole (the problem built once, every candidate), and each candidate's
    time inside it (its ``fit``: cut, measure and recut; a next-fit candidate that cannot
    win stops early there, see ``partition.strategies.BOUNDED``)."""
    import neurocomp.compiler.partition as P

    inner, fit = {}, P.fit

    def timed_fit(prob, s, name, *args):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fit(prob, s, name, *args)
        finally:
            inner[name] = (time.perf_counter() - t0, time.process_time() - c0)

    P.fit = timed_fit
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        p = P.partition(q, chip, strategy="auto")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        P.fit = fit
    rows = {f"{order}/auto (kept {p.report.strategy})": {
        "cores": p.n_cores, "cut_routes": p.report.cut_routes, "routes": p.report.total_routes,
        "slices": sum(len(c.slices) for c in p.cores), "seconds": wall, "cpu": cpu, "auto": True,
        "passes": p.report.passes}}
    for name, cores, _cut, why in p.report.tried:
        w, c = inner[name]
        label = f"{order}/  in auto: {name}" + (" (stopped)" if why and why.startswith("stopped") else "")
        rows[label] = {"seconds": w, "cpu": c}
    return rows


def _timed_process(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``argv``, output thrown away; the CPU time is the
    child's user + system time as the kernel accounted it."""
    import tempfile

    with tempfile.TemporaryFile() as err:  # a file, not a pipe: the child never waits on us
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} exited {code}:\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def worker_warm_compile(runs: int) -> list[float]:
    """Seconds of ``nc.compile(mnist_mlp, loihi)`` in a process that compiled it once."""
    import neurocomp as nc

    chip = nc.load_chip("loihi")
    nc.compile(nc.load(ROOT / "examples" / "mnist_mlp.snn"), chip)
    out = []
    for _ in range(runs):
        net = nc.load(ROOT / "examples" / "mnist_mlp.snn")  # a fresh network: nothing cached on it
        t0 = time.perf_counter()
        nc.compile(net, chip)
        out.append(time.perf_counter() - t0)
    return out


def startup(runs: int) -> dict:
    """Interleaved runs of the start-up commands and their peers: {name: [(wall, cpu), ...]}."""
    script = Path(sys.executable).parent / "neurocomp"
    cli = [str(script)] if script.exists() else [sys.executable, "-c",
                                                  "import sys; from neurocomp.cli import main; sys.exit(main())"]
    commands = {
        "neurocomp --version": cli + ["--version"],
        "peer: python -c pass": [sys.executable, "-c", "pass"],
        "neurocomp compile mnist_mlp": cli + ["compile", "examples/mnist_mlp.snn", "--chip", "loihi", "-q"],
        "peer: import numba + its CPU target": [
            sys.executable, "-c", "from numba.core.registry import cpu_target; cpu_target.target_context.refresh()"],
    }
    for argv in commands.values():  # fill the Numba cache, warm the file cache
        _timed_process(argv)
    times: dict[str, list] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(_timed_process(argv))
    return times


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
    ap.add_argument("--parts", nargs="+", default=["big", "partitioners", "examples", "startup"],
                    choices=["big", "partitioners", "examples", "startup"])
    ap.add_argument("--all-strategies", action="store_true",
                    help="partitioners: time every strategy, not only those auto tries (greedy takes minutes)")
    ap.add_argument("--neurons", type=int, default=1_000_000)
    ap.add_argument("--synapses-per-neuron", type=int, default=100)
    ap.add_argument("--window", type=int, default=2048)
    ap.add_argument("--chips", type=int, default=16)
    ap.add_argument("--runs", type=int, default=1,
                    help="repetitions of the big case and of each start-up command (median reported)")
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
        rows = _run_worker("worker_partitioners", n, args.synapses_per_neuron, args.window, args.chips, 0,
                           args.all_strategies)
        print(f"\npartitioners: {n:,} neurons x {args.synapses_per_neuron} synapses, window {args.window} "
              f"(goal: every strategy auto tries <= 3 s)")
        print(f"  {'order/strategy':32s} {'cores':>6s} {'cut routes':>12s} {'of routes':>12s} {'slices':>8s} "
              f"{'passes':>6s} {'wall s':>7s} {'CPU s':>7s}  auto tries it")
        for key, row in rows.items():
            if "cores" not in row:
                print(f"  {key:32s} {'':6s} {'':12s} {'':12s} {'':8s} {'':6s} {row['seconds']:7.2f} {row['cpu']:7.2f}")
                continue
            print(f"  {key:32s} {row['cores']:6,d} {row['cut_routes']:12,d} {row['routes']:12,d} "
                  f"{row['slices']:8,d} {row['passes']:6d} {row['seconds']:7.2f} {row['cpu']:7.2f}  "
                  f"{'yes' if row['auto'] else 'no'}")
        print(f"  load average after: {os.getloadavg()[0]:.2f}")

    if "examples" in args.parts:
        print("\nexamples on loihi (4 chips): cores used, and nengo-loihi's rule")
        print(f"  {'example':12s} {'neurons':>8s} {'cores':>6s} {'nengo-loihi':>12s}  strategy")
        for row in examples():
            print(f"  {row['example']:12s} {row['neurons']:8,d} {row['cores']:6d} {row['nengo_loihi']:12d}  "
                  f"{row['strategy']}")


    if "startup" in args.parts:
        runs = max(args.runs, 5)
        times = startup(runs)
        warm = _run_worker("worker_warm_compile", runs)
        print(f"\nstart-up: whole processes, warm Numba cache, {runs} interleaved runs each (medians; "
              f"goals: --version <= 0.3 s, compile <= 0.5 s)")
        med = {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
               for name, t in times.items()}
        names = list(med)
        for i, name in enumerate(names):
            wall, cpu = med[name]
            line = f"  {name:40s} wall {wall:6.3f} s   CPU {cpu:6.3f} s"
            if not name.startswith("peer") and i + 1 < len(names):
                peer_wall, peer_cpu = med[names[i + 1]]
                line += f"   = {wall / peer_wall:.2f}x / {cpu / peer_cpu:.2f}x its peer (wall / CPU)"
            print(line)
        print(f"  nc.compile(mnist_mlp) in a process that compiled it once: {statistics.median(warm):.3f} s "
              f"(median of {runs})")
        print(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
