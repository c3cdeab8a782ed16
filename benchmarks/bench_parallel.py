"""Local parallelism: ``validate`` of ``mnist_mlp`` on Loihi over labelled MNIST samples
with 1 and with N worker processes (``neurocomp.workflows.parallel``), measured in the
same run, alternating, warm (the Mapping compiled and every kernel jitted before timing).

Prints the load average at the start and end (the machine is shared: quote the figure
with its load), each repetition, the medians, samples per second and the speed-up, and
checks that every repetition's report is the same (wall times aside). Then where the
time goes: the samples' own work (timed inside the workers, summed), the caller's serial
work, and what is left with N workers. Next to it, in the same run and alternating,
snnTorch's inference over the same input spikes with the same float weights, batched,
on 1 and on N threads (``bench_batch.py``'s peer, ``--torch-python``).

    python benchmarks/bench_parallel.py [--samples 200] [--steps 100] [--runs 3] [--jobs 2]
    python benchmarks/bench_parallel.py --dask [--chunks 1,4,16,50]
    python benchmarks/bench_parallel.py --vs-tree /work/main [--runs 5]

``--vs-tree DIR`` times ``validate`` with ``jobs=1`` in this checkout and in the one at
``DIR`` (each run a fresh process, warmed, alternating): what the batched float reference
and the chunks' batched emulation save without any parallelism.

``--dask`` measures instead what a Dask ``LocalCluster`` (``--jobs`` single-threaded
worker processes) costs per chunk: the chip emulation of the same samples
(``neurocomp.workflows.batch.emulate_samples``) on the cluster and on as many local
workers, for each chunk size, alternating; the overhead per chunk is the difference of
the medians over the number of chunks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_batch import spike_raster, start_torch, torch_pass  # noqa: E402

from neurocomp.workflows.parallel import Timing, last_timing, map_chunks  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3, help="repetitions of each (alternating)")
    ap.add_argument("--jobs", type=int, default=2, help="the workers to compare with 1")
    ap.add_argument("--dask", action="store_true", help="measure Dask's overhead per chunk instead")
    ap.add_argument("--chunks", default="1,4,16,50", help="chunk sizes for --dask")
    ap.add_argument("--torch-python", default="/tmp/snntorch-venv/bin/python",
                    help="a Python with torch and snntorch for the peer ('' to skip)")
    ap.add_argument("--vs-tree", default="",
                    help="a checkout of neurocomp to compare validate's jobs=1 throughput with (e.g. /work/main)")
    args = ap.parse_args()
    if args.dask:
        return dask_overhead(args)
    if args.vs_tree:
        return versus_tree(args)

    import numpy as np

    import neurocomp as nc

    print(f"load average at start: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        samples = (data["x"][: args.samples], data["y"][: args.samples])
    chip = nc.load_chip("loihi")
    mapping = nc.compile(net, chip)
    nc.validate(net, chip, args.steps, samples=(samples[0][:2], samples[1][:2]), mapping=mapping, jobs=1)  # warm

    times: dict[int, list[float]] = {1: [], args.jobs: []}
    parts: dict[int, list[Timing]] = {1: [], args.jobs: []}
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        torch = {}
        if args.torch_python:
            from neurocomp.workflows.samples import sample_inputs

            raster = spike_raster(net, mapping, args.steps, sample_inputs(net, args.steps, samples[0]))
            torch = {k: proc for k in sorted({1, args.jobs})
                     if (proc := start_torch(args.torch_python, raster, k, Path(tmp))) is not None}
        torch_times: dict[int, list[float]] = {k: [] for k in torch}
        try:
            for _ in range(args.runs):
                for jobs in (1, args.jobs):
                    start = time.perf_counter()
                    rep = nc.validate(net, chip, args.steps, samples=samples, mapping=mapping, jobs=jobs)
                    times[jobs].append(time.perf_counter() - start)
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
    n = len(samples[1])
    one, many = statistics.median(times[1]), statistics.median(times[args.jobs])
    print(f"validate mnist_mlp on loihi, {n} samples x {args.steps} steps, medians of {args.runs}:")
    print(f"  jobs=1: {one:.2f} s = {n / one:.1f} samples/s")
    print(f"  jobs={args.jobs}: {many:.2f} s = {n / many:.1f} samples/s")
    print(f"  speed-up {one / many:.2f}x; reports identical: {same}; "
          f"accuracy float {reports[0]['classifier']['accuracy_ref']:.3f}, "
          f"chip {reports[0]['classifier']['accuracy_chip']:.3f}")
    # Where the time goes (neurocomp.workflows.parallel.Timing, medians over the runs of
    # each figure): the caller's own work outside the parallel part (lowering, encoding,
    # preparing the reference, the report: not spread), the chunks' own work summed over
    # whoever ran them, and what the workers cost on top of it.
    def med(jobs: int, field: str) -> float:
        return statistics.median(getattr(t, field) for t in parts[jobs])

    for jobs, total in ((1, one), (args.jobs, many)):
        print(f"  jobs={jobs}: the caller's own work {total - med(jobs, 'wall'):.2f} s; parallel part "
              f"{med(jobs, 'wall'):.2f} s = {statistics.median(t.chunks for t in parts[jobs]):.0f} chunks, "
              f"work {med(jobs, 'work'):.2f} s summed; over the workers: start {med(jobs, 'start'):.3f} s, "
              f"between chunks {med(jobs, 'between'):.3f} s, results back {med(jobs, 'back'):.3f} s, "
              f"uneven ends {med(jobs, 'uneven'):.3f} s, stopping {med(jobs, 'end'):.3f} s")
    caller1, callern = one - med(1, "wall"), many - med(args.jobs, "wall")
    work1, workn = med(1, "work"), med(args.jobs, "work")
    over = med(args.jobs, "wall") - workn / args.jobs  # the parallel part beyond an even split of its work
    print(f"  the samples' work {work1:.2f} s with jobs=1, {workn:.2f} s summed over {args.jobs} workers "
          f"({workn / work1:.2f}x: above 1 when the workers ran slower than one alone, e.g. sharing a core); "
          f"the parallel part took {over:.2f} s beyond work/{args.jobs} (the workers' start, gaps, last "
          f"results, uneven ends, stopping)")
    print(f"  what that implies with the workers as fast as one alone (the work {work1:.2f} s split evenly) and "
          f"the caller's work of jobs=1 ({caller1:.2f} s) or of jobs={args.jobs} ({callern:.2f} s): "
          f"{one / (caller1 + work1 / args.jobs + over):.2f}x or "
          f"{(callern + work1) / (callern + work1 / args.jobs + over):.2f}x; with no overhead at all: "
          f"{(caller1 + work1) / (caller1 + work1 / args.jobs):.2f}x")
    start = time.perf_counter()
    for _ in range(5):
        map_chunks(_nothing, None, range(args.jobs), jobs=args.jobs, chunk_size=1)
    print(f"  starting and stopping {args.jobs} forked workers around nothing: "
          f"{(time.perf_counter() - start) / 5 * 1e3:.1f} ms per call")
    for k, ts in torch_times.items():
        t = statistics.median(ts)
        print(f"  snnTorch, {k} thread{'s' if k > 1 else ''}, batch {n} (inference only): {t:.3f} s = "
              f"{n / t:.1f} samples/s")
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
    samples = (data["x"][:n], data["y"][:n])
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


def _nothing(shared, chunk):
    return chunk


def dask_overhead(args: argparse.Namespace) -> None:
    import numpy as np
    from distributed import Client, LocalCluster

    import neurocomp as nc
    from neurocomp.workflows.batch import emulate_samples
    from neurocomp.workflows.samples import sample_inputs

    print(f"load average at start: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        x = data["x"][: args.samples]
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
        counts, extra = [], []
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
        if len(counts) >= 2:  # dask - local = per call + per chunk x chunks
            import numpy as np

            slope, intercept = np.polyfit(counts, extra, 1)
            print(f"  fit of dask - local over the chunk counts {counts}: {1e3 * slope:+.1f} ms per chunk, "
                  f"{intercept:+.2f} s per call ({1e3 * intercept / n:+.1f} ms per sample: the samples' "
                  f"inputs and results through the scheduler)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
