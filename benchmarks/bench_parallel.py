"""Local parallelism: ``validate`` of ``mnist_mlp`` on Loihi over labelled MNIST samples
with 1 and with N worker processes (``neurocomp.workflows.parallel``), measured in the
same run, alternating, warm (the Mapping compiled and every kernel jitted before timing).

``--samples`` (default 2,000, as a test set of thousands would be) takes the 200 images
of ``examples/data/mnist_test.npz`` repeated as often as needed: sample ``i`` draws its
own input spikes (the rate encoder's seed advances by one per sample), so a repeated
image is a new run, not a copy.

Prints the load average at the start and end (the machine is shared: quote the figure
with its load), each repetition, the medians, samples per second and the speed-up, and
checks that every repetition's report is the same (wall times aside). Then where the
time goes (``neurocomp.workflows.parallel.Timing``): the caller's own serial work, the
samples' work, what the workers cost on top of it; in wall seconds and in CPU seconds,
which other processes on the machine do not stretch as they stretch wall time: from the
CPU seconds, what the speed-up would be on a quiet box. Next to it, in the same run and
alternating, snnTorch's inference over the first 200 samples' input spikes with the same
float weights, batched, on 1 and on N threads (``bench_batch.py``'s peer,
``--torch-python``).

No thread variable is set: ``jobs=N`` must itself keep neurocomp to N cores (one BLAS
thread per worker, and for ``jobs=1``); the CPU / wall figure shows it.

    python benchmarks/bench_parallel.py [--samples 2000] [--steps 100] [--runs 3] [--jobs 2]
    python benchmarks/bench_parallel.py --dask [--chunks 1,4,16,50]
    python benchmarks/bench_parallel.py --emulate [--samples 200] [--runs 5]
    python benchmarks/bench_parallel.py --vs-tree /work/main [--runs 5]

``--vs-tree DIR`` times ``validate`` with ``jobs=1`` in this checkout and in the one at
``DIR`` (each run a fresh process, warmed, alternating): what the batched float reference
and the chunks' batched emulation save without any parallelism.

``--emulate`` times the chip emulation alone of ``--samples`` samples (encoded first):
``emulate_batch`` in one process, ``emulate_samples`` with ``jobs=1``, with ``--jobs``
workers (whole RunResults back, every input spike in them) and with ``jobs`` unset (it
chooses: ``neurocomp.workflows.batch.SPREAD_SECONDS``; ``$NEUROCOMP_JOBS`` must be unset),
alternating; wall
and CPU seconds, and the speed-up the CPU seconds imply on a quiet box.

``--dask`` measures instead what a Dask ``LocalCluster`` (``--jobs`` single-threaded
worker processes) costs per chunk: the chip emulation of the same samples
(``neurocomp.workflows.batch.emulate_samples``) on the cluster and on as many local
workers, for each chunk size, alternating; the overhead per chunk is the difference of
the medians over the number of chunks, and from it the chunk size that keeps that cost
under ``HIDDEN`` (5 %) of a chunk's own work.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np  # before bench_batch, which sets the BLAS thread variables to 1 for
# its own runs: here neurocomp must limit its threads by itself

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_batch import spike_raster, start_torch, torch_pass  # noqa: E402

from neurocomp.workflows.parallel import Timing, last_timing, map_chunks  # noqa: E402

#: the snnTorch peer's batch (bench_batch.py's): the first this many samples
TORCH_BATCH = 200
#: --dask: the share of a chunk's work its per-chunk cost may take
HIDDEN = 0.05


def mnist_samples(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled samples: the bundled 200 repeated as often as needed (see above)."""
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        x, y = data["x"], data["y"]
    reps = -(-n // len(y))
    return np.concatenate([x] * reps)[:n], np.concatenate([y] * reps)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000, help="the bundled 200 repeated (see above)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3, help="repetitions of each (alternating)")
    ap.add_argument("--jobs", type=int, default=2, help="the workers to compare with 1")
    ap.add_argument("--dask", action="store_true", help="measure Dask's overhead per chunk instead")
    ap.add_argument("--chunks", default="1,4,16,50", help="chunk sizes for --dask")
    ap.add_argument("--torch-python", default="/tmp/snntorch-venv/bin/python",
                    help="a Python with torch and snntorch for the peer ('' to skip)")
    ap.add_argument("--compare", default="",
                    help="time nc.compare over these chips (e.g. loihi,truenorth,akida) instead of validate")
    ap.add_argument("--vs-tree", default="",
                    help="a checkout of neurocomp to compare validate's jobs=1 throughput with (e.g. /work/main)")
    ap.add_argument("--emulate", action="store_true", help="time emulate_samples (whole runs back) instead")
    args = ap.parse_args()
    if args.emulate:
        return emulate_spread(args)
    if args.dask:
        return dask_overhead(args)
    if args.vs_tree:
        return versus_tree(args)
    if args.compare:
        return compare_spread(args)

    import neurocomp as nc

    print(f"load average at start: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    samples = mnist_samples(args.samples)
    chip = nc.load_chip("loihi")
    mapping = nc.compile(net, chip)
    nc.validate(net, chip, args.steps, samples=(samples[0][:2], samples[1][:2]), mapping=mapping, jobs=1)  # warm

    n = len(samples[1])
    jobs_list = (1, args.jobs)
    times: dict[int, list[float]] = {k: [] for k in jobs_list}
    cpus: dict[int, list[float]] = {k: [] for k in jobs_list}  # this process's CPU seconds per call
    parts: dict[int, list[Timing]] = {k: [] for k in jobs_list}
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        torch = {}
        if args.torch_python:
            from neurocomp.workflows.samples import sample_inputs

            raster = spike_raster(net, mapping, args.steps, sample_inputs(net, args.steps, samples[0][:TORCH_BATCH]))
            torch = {k: proc for k in sorted(set(jobs_list))
                     if (proc := start_torch(args.torch_python, raster, k, Path(tmp))) is not None}
        torch_times: dict[int, list[float]] = {k: [] for k in torch}
        try:
            for _ in range(args.runs):
                for jobs in jobs_list:
                    start, cpu = time.perf_counter(), time.process_time()
                    rep = nc.validate(net, chip, args.steps, samples=samples, mapping=mapping, jobs=jobs)
                    times[jobs].append(time.perf_counter() - start)
                    cpus[jobs].append(time.process_time() - cpu)
                    parts[jobs].append(last_timing())
                    d = rep.to_dict()
                    d.pop("wall_s")
                    reports.append(d)
                    print(f"  jobs={jobs}: {times[jobs][-1]:.2f} s (load {os.getloadavg()[0]:.2f})", flush=True)
                for k, proc in torch.items():
                    torch_times[k].append(torch_pass(proc)[0])
        finally:
            for proc in torch.values():
                proc.stdin.close()
                proc.wait()
    same = all(r == reports[0] for r in reports)
    m = args.jobs
    one, many = statistics.median(times[1]), statistics.median(times[m])
    copies = f"the {TORCH_BATCH} bundled images x {n / TORCH_BATCH:g}, each sample its own spikes" \
        if n > TORCH_BATCH else "bundled"
    print(f"validate mnist_mlp on loihi, {n} samples ({copies}) x {args.steps} steps, medians of {args.runs}:")
    print(f"  jobs=1: {one:.2f} s = {n / one:.1f} samples/s")
    print(f"  jobs={m}: {many:.2f} s = {n / many:.1f} samples/s")
    print(f"  speed-up {one / many:.2f}x; reports identical: {same}; "
          f"accuracy float {reports[0]['classifier']['accuracy_ref']:.3f}, "
          f"chip {reports[0]['classifier']['accuracy_chip']:.3f}")

    # Where the time goes, medians over the runs of each figure.
    def med(jobs: int, field: str) -> float:
        return statistics.median(getattr(t, field) for t in parts[jobs])

    def serial(jobs: int) -> tuple[float, float]:
        """The caller's own work outside the parallel part (checking and encoding the
        first sample, preparing the reference, the report: not spread): wall, CPU."""
        return (statistics.median(t - p.wall for t, p in zip(times[jobs], parts[jobs])),
                statistics.median(c - p.caller_cpu for c, p in zip(cpus[jobs], parts[jobs])))

    print("  where the time goes (wall seconds, stretched by the other processes on the machine; CPU seconds):")
    for jobs in jobs_list:
        wall_s, cpu_s = serial(jobs)
        line = (f"    jobs={jobs}: the caller's own work {wall_s:.3f} s wall, {cpu_s:.3f} s CPU; the parallel part "
                f"{med(jobs, 'wall'):.2f} s wall = {statistics.median(t.chunks for t in parts[jobs]):.0f} chunks, "
                f"their work {med(jobs, 'work'):.2f} s wall, {med(jobs, 'work_cpu'):.2f} s CPU (summed)")
        if jobs > 1:
            line += (f"; the workers' CPU from fork to exit {med(jobs, 'workers_cpu'):.2f} s, the caller's CPU "
                     f"meanwhile {med(jobs, 'caller_cpu'):.3f} s; wall overheads summed over the workers: start "
                     f"{med(jobs, 'start'):.3f} s, between chunks {med(jobs, 'between'):.3f} s, results back "
                     f"{med(jobs, 'back'):.3f} s, uneven ends {med(jobs, 'uneven'):.3f} s, stopping "
                     f"{med(jobs, 'end'):.3f} s")
        print(line)
    cores1 = statistics.median(c / t for c, t in zip(cpus[1], times[1]))
    print(f"  cores jobs=1 kept busy: {cores1:.2f} (its CPU seconds / wall seconds: 1 at most, less when others "
          f"took the core)")
    # A quiet box, from CPU seconds: jobs=1 is its CPU on one core; jobs=N its serial CPU
    # plus the CPU of the workers and of the caller meanwhile, spread evenly over N cores
    # (a bound: the workers' start and uneven ends are left out, each ~0.01-0.05 s quiet).
    cpu1 = statistics.median(cpus[1])
    s_m = serial(m)[1]
    par = med(m, "workers_cpu") + med(m, "caller_cpu")
    # the same with the chunks' work at jobs=1's CPU seconds: as if sharing the machine
    # did not slow a worker (the workers' own cost, fork to exit less the work, kept)
    par_same = med(1, "work_cpu") + med(m, "workers_cpu") - med(m, "work_cpu") + med(m, "caller_cpu")
    print(f"  CPU seconds: jobs=1 {cpu1:.2f} s; jobs={m}: serial {s_m:.3f} s + parallel {par:.2f} s (the workers' "
          f"chunks {med(m, 'work_cpu'):.2f} s = {med(m, 'work_cpu') / med(1, 'work_cpu'):.2f}x jobs=1's, their "
          f"start, results and exit {med(m, 'workers_cpu') - med(m, 'work_cpu'):.2f} s, the caller's "
          f"{med(m, 'caller_cpu'):.3f} s)")
    print(f"  implied on a quiet box (that CPU spread evenly over {m} cores): {cpu1 / (s_m + par / m):.2f}x; "
          f"with the workers' chunks as fast per sample as jobs=1's: {cpu1 / (s_m + par_same / m):.2f}x")
    start = time.perf_counter()
    for _ in range(5):
        map_chunks(_nothing, None, range(m), jobs=m, chunk_size=1)
    print(f"  starting and stopping {m} forked workers around nothing: "
          f"{(time.perf_counter() - start) / 5 * 1e3:.1f} ms per call")
    for k, ts in torch_times.items():
        t = statistics.median(ts)
        nt = min(n, TORCH_BATCH)
        print(f"  snnTorch, {k} thread{'s' if k > 1 else ''}, batch {nt} (inference only): {t:.3f} s = "
              f"{nt / t:.1f} samples/s")
    print(f"load average at end: {os.getloadavg()}")
    if not same:
        raise SystemExit("the reports differ between runs")


# One warm validate in a fresh process, of the neurocomp found in sys.argv[1]: prints its seconds.
_ONE_VALIDATE = """
import sys, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import numpy as np
import neurocomp as nc
n, steps = int(sys.argv[2]), int(sys.argv[3])
net = nc.load(sys.argv[1] + "/examples/mnist_mlp.snn")
with np.load(sys.argv[1] + "/examples/data/mnist_test.npz") as data:
    reps = -(-n // len(data["y"]))  # as mnist_samples
    samples = (np.concatenate([data["x"]] * reps)[:n], np.concatenate([data["y"]] * reps)[:n])
chip = nc.load_chip("loihi")
mapping = nc.compile(net, chip)
nc.validate(net, chip, steps, samples=(samples[0][:2], samples[1][:2]), mapping=mapping, jobs=1)
start = time.perf_counter()
rep = nc.validate(net, chip, steps, samples=samples, mapping=mapping, jobs=1)
print(time.perf_counter() - start, rep.classifier.accuracy_ref, rep.classifier.accuracy_chip,
      rep.classifier.agreement)
"""


def versus_tree(args: argparse.Namespace) -> None:
    """validate on one process (jobs=1), this checkout against ``--vs-tree``, each run a
    fresh warm process, alternating: the samples' per-call work without parallelism."""
    import subprocess

    print(f"load average at start: {os.getloadavg()}")
    trees = {"this": str(ROOT), "peer": str(Path(args.vs_tree).resolve())}
    times: dict[str, list[float]] = {k: [] for k in trees}
    answers: dict[str, set] = {k: set() for k in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            out = subprocess.run([sys.executable, "-c", _ONE_VALIDATE, tree, str(args.samples), str(args.steps)],
                                 capture_output=True, text=True, check=True, cwd=tree).stdout.split()
            times[name].append(float(out[0]))
            answers[name].add(tuple(out[1:]))
            print(f"  {name}: {times[name][-1]:.2f} s (load {os.getloadavg()[0]:.2f})", flush=True)
    this, peer = statistics.median(times["this"]), statistics.median(times["peer"])
    n = args.samples
    print(f"validate mnist_mlp on loihi, {n} samples x {args.steps} steps, jobs=1, medians of {args.runs}:")
    print(f"  this tree {this:.2f} s = {n / this:.1f} samples/s; {trees['peer']} {peer:.2f} s = "
          f"{n / peer:.1f} samples/s; {peer / this:.2f}x; accuracy float/chip/agreement "
          f"{answers['this']} vs {answers['peer']}")
    print(f"load average at end: {os.getloadavg()}")


def compare_spread(args: argparse.Namespace) -> None:
    """``nc.compare`` of mnist_mlp over ``--compare`` chips and ``--samples`` samples with
    1 and ``--jobs`` workers, alternating: wall and CPU seconds (this process's and its
    ended workers'), and the speed-up the CPU seconds imply on a quiet box."""
    import resource

    import neurocomp as nc

    def cpu_now() -> tuple[float, float]:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time(), kids.ru_utime + kids.ru_stime

    print(f"load average at start: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    samples = mnist_samples(args.samples)
    chips = args.compare.split(",")
    nc.compare(net, chips, args.steps, samples=(samples[0][:2], samples[1][:2]), jobs=1)  # warm
    m = args.jobs
    walls: dict[int, list[float]] = {1: [], m: []}
    mine: dict[int, list[float]] = {1: [], m: []}
    kids: dict[int, list[float]] = {1: [], m: []}
    rows = []
    for _ in range(args.runs):
        for jobs in (1, m):
            start, (c0, k0) = time.perf_counter(), cpu_now()
            table = nc.compare(net, chips, args.steps, samples=samples, jobs=jobs)
            walls[jobs].append(time.perf_counter() - start)
            c1, k1 = cpu_now()
            mine[jobs].append(c1 - c0)
            kids[jobs].append(k1 - k0)
            d = table.to_dict()
            d.pop("wall_s")
            for row in d["chips"]:
                row.pop("wall_s")
            rows.append(d)
            print(f"  jobs={jobs}: {walls[jobs][-1]:.2f} s wall, CPU here {mine[jobs][-1]:.2f} s, in workers "
                  f"{kids[jobs][-1]:.2f} s (load {os.getloadavg()[0]:.2f})", flush=True)
    med = statistics.median
    one, many = med(walls[1]), med(walls[m])
    cpu1 = med(mine[1])
    print(f"compare mnist_mlp on {', '.join(chips)}, {len(samples[1])} samples x {args.steps} steps, medians of "
          f"{args.runs}: jobs=1 {one:.2f} s, jobs={m} {many:.2f} s: {one / many:.2f}x wall; rows identical: "
          f"{all(r == rows[0] for r in rows)}")
    here, there = med(mine[m]), med(kids[m])
    print(f"  CPU seconds: jobs=1 {cpu1:.2f} s; jobs={m} {here:.2f} s here + {there:.2f} s in the workers; "
          f"implied on a quiet box: {cpu1 / (here + there / m):.2f}x if everything done here were serial, "
          f"{cpu1 / ((here + there) / m):.2f}x if all of it spread evenly over {m} cores")
    print(f"load average at end: {os.getloadavg()}")


def emulate_spread(args: argparse.Namespace) -> None:
    """``emulate_batch`` here, ``emulate_samples`` on 1 and on ``--jobs`` workers, over the
    same encoded samples, alternating: wall and CPU seconds (this process's and its ended
    workers'), results compared with the one batch's."""
    import resource
    import warnings

    import neurocomp as nc
    from neurocomp.emulator.run import emulate_batch
    from neurocomp.workflows.batch import emulate_samples
    from neurocomp.workflows.samples import sample_inputs

    warnings.simplefilter("ignore")  # mnist_mlp overflows: one warning per call
    print(f"load average at start: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    mapping = nc.compile(net, "loihi")
    samples = sample_inputs(net, args.steps, mnist_samples(args.samples)[0])
    emulate_batch(mapping, args.steps, samples[:3])  # warm
    emulate_samples(mapping, args.steps, samples[:4], jobs=args.jobs)
    m = args.jobs
    ways = {"emulate_batch": lambda: emulate_batch(mapping, args.steps, samples),
            "jobs=1": lambda: emulate_samples(mapping, args.steps, samples, jobs=1),
            f"jobs={m}": lambda: emulate_samples(mapping, args.steps, samples, jobs=m),
            "default": lambda: emulate_samples(mapping, args.steps, samples)}  # jobs unset: it chooses
    walls: dict[str, list[float]] = {k: [] for k in ways}
    cpus: dict[str, list[float]] = {k: [] for k in ways}
    kids: dict[str, list[float]] = {k: [] for k in ways}
    same = True
    for _ in range(args.runs):
        want = None
        for name, way in ways.items():
            k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            start, cpu = time.perf_counter(), time.process_time()
            got = way()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - cpu)
            k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            kids[name].append(k1.ru_utime + k1.ru_stime - k0.ru_utime - k0.ru_stime)
            if want is None:
                want = got
            else:
                same = same and got.overflows == want.overflows and all(
                    a.spikes.keys() == b.spikes.keys() and all(
                        np.array_equal(a.spikes[p].times, b.spikes[p].times)
                        and np.array_equal(a.spikes[p].indices, b.spikes[p].indices) for p in a.spikes)
                    for a, b in zip(got, want))
        print("  " + ", ".join(f"{k} {walls[k][-1]:.3f} s" for k in ways) + f" (load {os.getloadavg()[0]:.2f})",
              flush=True)
    med = statistics.median
    n = len(samples)
    base = med(walls["emulate_batch"])
    print(f"emulate mnist_mlp on loihi, {n} samples x {args.steps} steps, medians of {args.runs}; "
          f"every way's spikes equal the one batch's: {same}")
    for k in ways:
        print(f"  {k}: {med(walls[k]):.3f} s wall = {n / med(walls[k]):.0f} samples/s ({base / med(walls[k]):.2f}x "
              f"emulate_batch); CPU here {med(cpus[k]):.3f} s, in workers {med(kids[k]):.3f} s")
    here, there = med(cpus[f"jobs={m}"]), med(kids[f"jobs={m}"])
    print(f"  implied on a quiet box (the workers' CPU spread over {m} cores, the caller's serial): jobs={m} "
          f"{med(cpus['emulate_batch']) / (here + there / m):.2f}x emulate_batch, "
          f"{med(cpus['jobs=1']) / (here + there / m):.2f}x jobs=1")
    print(f"load average at end: {os.getloadavg()}")


def _nothing(shared, chunk):
    return chunk


def dask_overhead(args: argparse.Namespace) -> None:
    from distributed import Client, LocalCluster

    import neurocomp as nc
    from neurocomp.workflows.batch import emulate_samples
    from neurocomp.workflows.samples import sample_inputs

    print(f"load average at start: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    x = mnist_samples(args.samples)[0]
    mapping = nc.compile(net, "loihi")
    samples = sample_inputs(net, args.steps, x)
    n = len(samples)
    with LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            Client(cl) as client:
        emulate_samples(mapping, args.steps, samples[:4], client=client, chunk_size=1)  # warm the workers
        emulate_samples(mapping, args.steps, samples[:4], jobs=args.jobs, chunk_size=1)
        # a task's own cost: chunks that do nothing, on the cluster and on local workers
        for where, kw in (("dask", {"client": client}), ("local", {"jobs": args.jobs})):
            per: list[float] = []
            for _ in range(args.runs):
                start = time.perf_counter()
                map_chunks(_nothing, None, range(200), chunk_size=1, **kw)
                per.append((time.perf_counter() - start) / 200)
            print(f"  {where}: 200 chunks that do nothing: {1e3 * statistics.median(per):.2f} ms per chunk "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
        print(f"emulate {n} mnist samples x {args.steps} steps on {args.jobs} workers, medians of {args.runs}:")
        counts, extra, per_sample = [], [], []
        for size in (int(c) for c in args.chunks.split(",")):
            times: dict[str, list[float]] = {"local": [], "dask": []}
            for _ in range(args.runs):
                for where in ("local", "dask"):
                    start = time.perf_counter()
                    if where == "dask":
                        emulate_samples(mapping, args.steps, samples, client=client, chunk_size=size)
                    else:
                        emulate_samples(mapping, args.steps, samples, jobs=args.jobs, chunk_size=size)
                    times[where].append(time.perf_counter() - start)
            local, dask = statistics.median(times["local"]), statistics.median(times["dask"])
            chunks = -(-n // size)
            print(f"  chunk {size:>3} ({chunks:>3} chunks): local {local:.2f} s, dask {dask:.2f} s, "
                  f"dask - local {dask - local:+.2f} s (load {os.getloadavg()[0]:.2f})", flush=True)
            if chunks >= 2 * args.jobs:  # leave out chunkings too coarse to keep the workers even
                counts.append(chunks)
                extra.append(dask - local)
                per_sample.append(local * args.jobs / n)  # a sample's work on one worker
        if len(counts) >= 2:  # dask - local = per call + per chunk x chunks
            slope, intercept = np.polyfit(counts, extra, 1)
            print(f"  fit of dask - local over the chunk counts {counts}: {1e3 * slope:+.1f} ms per chunk, "
                  f"{intercept:+.2f} s per call ({1e3 * intercept / n:+.1f} ms per sample: the samples' "
                  f"inputs and results through the scheduler)")
            # the chunk size at which that per-chunk cost is at most HIDDEN of the chunk's own work
            work = min(per_sample)
            if slope > 0:
                print(f"  a sample's work on a worker {1e3 * work:.2f} ms: chunks of >= "
                      f"{math.ceil(slope / (HIDDEN * work))} samples keep Dask's per-chunk cost under "
                      f"{HIDDEN:.0%} of their work")
            else:
                print("  no per-chunk cost measurable over the local workers': any chunk size hides it")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
