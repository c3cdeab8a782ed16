"""Throughput of a batch of samples through one Mapping, next to snnTorch on the CPU.

``mnist_mlp`` (784-128-10 IF neurons, rate-coded pixels) on Loihi, ``--steps`` steps, the
first ``--samples`` images of ``examples/data/mnist_test.npz``, one process, one thread,
warm (Mapping compiled, kernels jitted, tables built), these ways in the same run,
alternating (each round starting one way later), medians of ``--runs``:

* **batched**: :func:`neurocomp.emulator.run.emulate_batch` as it is: bit-exact integer
  emulation, the samples through Loihi's batch runner (``targets/loihi/batch.py``: all
  samples in one compiled call, a step's input events, and its spikes, each as one
  exact integer sum of their sources' rows, the results built for the whole batch at
  once);
* **one by one**: the same call with the batch runner turned off (``kernel.run`` per
  sample, as before it existed): the results of both must be identical (every
  population's spikes, every counter, the probed voltages, the overflow notes);
* **before**: ``emulator/run.py`` of an earlier commit (``--peer``; by default the last
  one that sorted every sample's events) loaded from git as a module of its own
  (``--before``; it runs with today's kernels, and with ``--peer-runner`` with that
  commit's ``targets/loihi/batch.py`` too: ``--peer c32ad69`` is the runner before
  the padded input rows and the spike rows);
* **snnTorch**: the same network in float32 (``snntorch.Leaky``, beta 1, threshold 1,
  reset to zero; the float weights of ``data/mnist_w1.npy`` / ``mnist_w2.npy``), the
  same input spikes (neurocomp's encoder output, saved to a temporary ``.npz``), the whole
  batch in one tensor, ``torch.set_num_threads(--threads)``, in its own venv
  (``--torch-python``; never a dependency of neurocomp) as a subprocess that stays up
  and times each pass itself. Its classes are compared with the chip's (float vs 8-bit
  weights and one step of delay per layer on the chip: close, not equal).

One thread each: the script sets ``OPENBLAS_NUM_THREADS`` (and OMP/MKL) to 1 before numpy
loads (numpy's BLAS would otherwise use every core) and snnTorch
runs ``torch.set_num_threads(1)``. ``--threads 2`` also runs neurocomp's batch on 2 local
worker processes (``emulate_samples(jobs=2)``, one thread each) and snnTorch with 2
threads: on a shared box, quote that figure as measured under its load.

    python benchmarks/bench_batch.py --torch-python /path/to/venv/bin/python
    python benchmarks/bench_batch.py --samples 200 --steps 100 --runs 5 [--threads 2] [--before]
    python benchmarks/bench_batch.py --before --peer c32ad69 --peer-runner --torch-python ...

Load average printed at the start and the end. Each pass is timed in wall seconds and
in CPU seconds of its own process (``time.process_time``; snnTorch's process runs one
compute thread at ``--threads 1``): on a shared box the wall time also holds the waits
for a core, which fall on the two sides unevenly; the CPU seconds do not (cache and
memory sharing still slow both).
"""

from __future__ import annotations

import argparse
import json
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads: one thread, as snnTorch's
import statistics
import subprocess
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

from _common import ROOT, module_at

#: The last commit whose emulate_batch sorted every sample's input and output events.
PEER = "434b438"

_TORCH = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import torch, snntorch as snn

    torch.set_num_threads(int(sys.argv[2]))
    d = np.load(sys.argv[1])
    x = torch.from_numpy(d["spikes"].astype(np.float32))  # [steps, batch, 784]
    fc1 = torch.nn.Linear(784, 128, bias=False)
    fc2 = torch.nn.Linear(128, 10, bias=False)
    with torch.no_grad():
        fc1.weight.copy_(torch.from_numpy(d["w1"]))
        fc2.weight.copy_(torch.from_numpy(d["w2"]))
    lif1 = snn.Leaky(beta=1.0, threshold=1.0, reset_mechanism="zero")
    lif2 = snn.Leaky(beta=1.0, threshold=1.0, reset_mechanism="zero")

    def once():
        mem1, mem2 = lif1.reset_mem(), lif2.reset_mem()
        count = torch.zeros(x.shape[1], 10)
        with torch.no_grad():
            for t in range(x.shape[0]):
                spk1, mem1 = lif1(fc1(x[t]), mem1)
                spk2, mem2 = lif2(fc2(spk1), mem2)
                count += spk2
        return count

    once()  # warm
    for line in sys.stdin:
        if line.strip() != "run":
            break
        t0, c0 = time.perf_counter(), time.process_time()
        count = once()
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(json.dumps({"s": s, "cpu": cpu, "pred": count.argmax(1).tolist()}), flush=True)
''')


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())



def spike_raster(net, mapping, steps: int, samples) -> np.ndarray:
    """uint8 ``[steps, samples, 784]``: the input spikes neurocomp's encoder gives each sample."""
    from neurocomp.compiler.encode import input_events

    raster = np.zeros((steps, len(samples), 784), dtype=np.uint8)
    for i, s in enumerate(samples):
        ev = input_events(net, steps, s, inputs=tuple(mapping.input_offset))["pixels"]
        t = np.repeat(np.arange(steps), np.diff(ev.step_ptr[:steps + 1]))
        raster[t, i, ev.indices[: int(ev.step_ptr[steps])]] = 1
    return raster


def start_torch(python: str, raster: np.ndarray, threads: int, folder: Path):
    """The snnTorch peer as a process that waits for 'run' lines (None, with a note, when
    ``python`` does not exist); close its stdin to end it."""
    if not python or not Path(python).is_file():
        print(f"snnTorch: skipped ({python} not found; python3 -m venv /tmp/snntorch-venv && "
              "/tmp/snntorch-venv/bin/pip install torch snntorch)")
        return None
    data = folder / "mnist.npz"
    if not data.exists():
        np.savez(data, spikes=raster, w1=np.load(ROOT / "examples" / "data" / "mnist_w1.npy"),
                 w2=np.load(ROOT / "examples" / "data" / "mnist_w2.npy"))
    return subprocess.Popen([python, "-c", _TORCH, str(data), str(threads)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def torch_pass(proc) -> tuple[float, float, np.ndarray]:
    """One timed pass of the snnTorch peer over the whole batch: (seconds, CPU seconds
    of its process, classes)."""
    proc.stdin.write("run\n")
    proc.stdin.flush()
    out = json.loads(proc.stdout.readline())
    return out["s"], out["cpu"], np.array(out["pred"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5, help="repetitions of each (alternating)")
    ap.add_argument("--threads", type=int, default=1, help="also 2: neurocomp jobs=2, torch 2 threads")
    ap.add_argument("--peer", default=PEER, help=f"commit whose run.py is the peer (default {PEER})")
    ap.add_argument("--before", action="store_true", help="also run the peer commit's run.py")
    ap.add_argument("--peer-runner", action="store_true",
                    help="with --before: also the peer commit's targets/loihi/batch.py (e.g. --peer c32ad69)")
    ap.add_argument("--torch-python", default="/tmp/snntorch-venv/bin/python",
                    help="a Python with torch and snntorch (never a neurocomp dependency; '' to skip)")
    args = ap.parse_args()

    import neurocomp as nc
    from neurocomp.diagnostics import OverflowWarning
    from neurocomp.emulator import run as emu
    from neurocomp.emulator.run import emulate_batch
    from neurocomp.workflows.batch import emulate_samples
    from neurocomp.workflows.samples import sample_inputs

    # mnist_mlp's hidden v saturates at its floor in most samples: one warning per run
    # otherwise; the overflow notes are compared across the ways below.
    warnings.simplefilter("ignore", OverflowWarning)
    print(f"load average at start: {load()}; cores: {len(os.sched_getaffinity(0))}")
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        x, y = data["x"][: args.samples], data["y"][: args.samples]
    m = nc.compile(net, "loihi")
    samples = sample_inputs(net, args.steps, x)
    n = len(samples)
    raster = spike_raster(net, m, args.steps, samples)

    def one_by_one():
        runner, emu.batch_runner = emu.batch_runner, lambda kernel: None
        try:
            return emulate_batch(m, args.steps, samples)
        finally:
            emu.batch_runner = runner

    ways: dict[str, object] = {"batched": lambda: emulate_batch(m, args.steps, samples),
                               "one by one": one_by_one}
    with tempfile.TemporaryDirectory() as tmp:
        if args.before:
            peer = module_at(args.peer, "neurocomp/emulator/run.py", "neurocomp.emulator._peer_run",
                             Path(tmp))
            if args.peer_runner:  # the peer's Loihi batch runner too, not today's
                runner = module_at(args.peer, "neurocomp/targets/loihi/batch.py",
                                   "neurocomp.targets.loihi._peer_batch", Path(tmp))
                peer.batch_runner = lambda kernel: runner.run_batch
            ways["before"] = lambda: peer.emulate_batch(m, args.steps, samples)
        if args.threads > 1:
            ways[f"now, jobs={args.threads}"] = lambda: emulate_samples(m, args.steps, samples,
                                                                        jobs=args.threads)
        torch = {k: proc for k in sorted({1, args.threads})
                 if (proc := start_torch(args.torch_python, raster, k, Path(tmp))) is not None}
        try:
            results = {name: fn() for name, fn in ways.items()}  # warm (and tables built)
            times: dict[str, list[float]] = {name: [] for name in ways}
            cpu: dict[str, list[float]] = {name: [] for name in ways}
            preds = {}
            for name in torch:
                times[f"snnTorch, {name} thread{'s' if name > 1 else ''}"] = []
                cpu[f"snnTorch, {name} thread{'s' if name > 1 else ''}"] = []
            # Each round starts one way later, so that no way always follows the same one
            # (what ran before leaves the caches warm for some and cold for others).
            order = [("way", name) for name in ways] + [("torch", k) for k in torch]
            for r in range(args.runs):
                for kind, key in order[r % len(order):] + order[:r % len(order)]:
                    if kind == "way":
                        t0, c0 = time.perf_counter(), time.process_time()
                        results[key] = ways[key]()
                        times[key].append(time.perf_counter() - t0)
                        cpu[key].append(time.process_time() - c0)
                        continue
                    seconds, cpu_s, preds[key] = torch_pass(torch[key])
                    times[f"snnTorch, {key} thread{'s' if key > 1 else ''}"].append(seconds)
                    cpu[f"snnTorch, {key} thread{'s' if key > 1 else ''}"].append(cpu_s)
        finally:
            for proc in torch.values():
                proc.stdin.close()
                proc.wait()

    def counts(batch):
        return np.array([np.bincount(r.spikes["out"].indices, minlength=10) for r in batch])

    def identical(a, b) -> bool:
        """Every population's spikes, every counter, every probed trace, the overflow notes."""
        if len(a) != len(b) or a.overflows != b.overflows:
            return False
        for x, y in zip(a, b):
            if any(not np.array_equal(x.spikes[p].times, y.spikes[p].times)
                   or not np.array_equal(x.spikes[p].indices, y.spikes[p].indices) for p in x.spikes):
                return False
            if any(not np.array_equal(getattr(x.counters, f), getattr(y.counters, f))
                   for f in x.counters.FIELDS):
                return False
            if any(not np.array_equal(x.traces[p][v], y.traces[p][v]) for p in x.traces for v in x.traces[p]):
                return False
        return True

    ref = results["one by one"]
    for name, batch in results.items():
        if not identical(batch, ref):
            raise SystemExit(f"'{name}' gives other results than 'one by one'")
    chip_pred = counts(ref).argmax(1)
    print(f"mnist_mlp on loihi, {n} samples x {args.steps} steps, medians of {args.runs} alternating runs, "
          "one thread each:")
    base = statistics.median(times["batched"])
    base_cpu = statistics.median(cpu["batched"])
    for name, ts in times.items():
        med = statistics.median(ts)
        med_cpu = statistics.median(cpu[name])
        print(f"  {name:22s} {med:7.3f} s (min {min(ts):.3f}) = {n / med:7.1f} samples/s; "
              f"{med / base:.2f}x the time of 'batched'; "
              + (f"CPU {med_cpu:.3f} s, {med_cpu / base_cpu:.2f}x" if "jobs=" not in name
                 else "CPU: its workers' not counted"))
    print(f"  results identical across neurocomp's ways (spikes, counters, traces, overflow notes); "
          f"chip accuracy {np.mean(chip_pred == y):.3f}")
    for k, p in preds.items():
        print(f"  snnTorch ({k} thread{'s' if k > 1 else ''}) accuracy {np.mean(p == y):.3f}, "
              f"same class as the chip for {np.mean(p == chip_pred):.3f} of the samples")
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
