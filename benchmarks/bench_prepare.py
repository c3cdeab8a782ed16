"""How long the table build before a run takes, next to the run it prepares.

``neurocomp.targets.loihi.kernel.prepare`` turns a Mapping into the integer tables the
compiled loop reads (``emulator/kernels/routing.py``'s ``routing_tables`` does most of
it); ``emulate`` calls it once per Mapping. This script times it on the network of
``bench_emulator.py`` (perf.md's Brunel network, N substituted, hand-built Loihi
Mapping, 1,000 steps), three ways in the same process, interleaved run by run:

* **now**: ``prepare`` as it is;
* **before**: ``prepare`` with the table build of an earlier commit (``--peer``, by
  default the last one whose ``routing_tables`` was made of numpy whole-array steps and
  whose ``_segments`` sorted every compartment's parameter row): ``routing.py``'s
  ``routing_tables`` and ``kernel.py``'s ``_segments`` of that commit (``git show``) are
  loaded as modules of their own and patched into ``prepare`` for that run only; the
  tables of both are checked equal, array by array;
* **loop**: one ``emulate`` of 1,000 steps, the compiled loop alone (``RunResult.wall_s``;
  its CPU time is that of the whole ``emulate`` call, which the loop dominates).

Medians of ``--runs``; the load average at the start and at the end of each size is
printed (a shared 2-core box). Wall time and this process's CPU time are both given: on
a loaded box the CPU time is the steadier of the two. Memory: the peak of Python-visible
allocations (``tracemalloc``; numpy reports its arrays there) during one ``prepare`` of
each kind, above what was allocated before it.

Run from the repository root (a git checkout, for the peer)::

    python benchmarks/bench_prepare.py                  # 10k and 100k
    python benchmarks/bench_prepare.py --sizes 10k --runs 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from _common import brunel, module_at
from bench_emulator import STEPS, loihi_mapping

#: The last commit with the former build (numpy whole-array steps in routing_tables,
#: np.unique(axis=0) over every compartment in _segments).
PEER = "434b438"


# -- the peer: the build of an earlier commit -------------------------------------------


class Peer:
    """The former ``routing_tables`` and ``_segments``, loaded from commit ``rev``."""

    def __init__(self, rev: str, folder: Path):
        self.rev = rev
        self.routing = module_at(rev, "neurocomp/emulator/kernels/routing.py",
                                 "neurocomp.emulator.kernels._peer_routing", folder)
        self.kernel = module_at(rev, "neurocomp/targets/loihi/kernel.py",
                                "neurocomp.targets.loihi._peer_kernel", folder)

    @contextlib.contextmanager
    def patched(self):
        from neurocomp.targets.loihi import kernel

        saved = kernel.routing_tables, kernel._segments
        kernel.routing_tables, kernel._segments = self.routing.routing_tables, self.kernel._segments
        try:
            yield
        finally:
            kernel.routing_tables, kernel._segments = saved


# -- measurements -----------------------------------------------------------------------


def timed_prepare(m, peer: Peer | None):
    """(wall seconds, CPU seconds, tables) of one ``prepare``, by the peer's build if given."""
    from neurocomp.targets.loihi import kernel as loihi

    with peer.patched() if peer else contextlib.nullcontext():
        t0, c0 = time.perf_counter(), time.process_time()
        tables = loihi.prepare(m)
        return time.perf_counter() - t0, time.process_time() - c0, tables


def peak_prepare(m, peer: Peer | None) -> int:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        timed_prepare(m, peer)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def same_tables(a, b) -> None:
    for name, x in a.routing._asdict().items():
        y = getattr(b.routing, name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y):
                raise SystemExit(f"the tables differ: {name}")
        elif x != y:
            raise SystemExit(f"the tables differ: {name}")
    for name in ("block_exp", "seg_start", "seg_stop", "seg_cfg", "cfg", "relay_local"):
        if not np.array_equal(getattr(a, name), getattr(b, name)):
            raise SystemExit(f"the tables differ: {name}")


def bench(n: int, args) -> None:
    from neurocomp.chip.load import load_chip
    from neurocomp.compiler.encode import encode
    from neurocomp.compiler.lower import lower
    from neurocomp.emulator.run import emulate

    net = brunel(n)
    synapses = lower(net)
    inputs = {p.name: encode(p, STEPS, net.dt_ms) for p in net.populations.values() if p.is_input}
    m = loihi_mapping(net, synapses, load_chip("loihi"))
    del synapses
    print(f"\nN = {n:,}: {m.n_synapses:,} synapses, {len(m.cores)} cores, {m.n_axons:,} axons")
    emulate(m, STEPS, inputs)  # jit, and the Mapping's tables cached for the loop runs
    peer = args.peer_build
    now_t, old_t, loop_t = [], [], []
    for _ in range(args.runs):
        *t, new = timed_prepare(m, None)
        now_t.append(t)
        del new
        if peer:
            *t, old = timed_prepare(m, peer)
            old_t.append(t)
            del old
        c0 = time.process_time()
        wall = emulate(m, STEPS, inputs).wall_s
        loop_t.append((wall, time.process_time() - c0))
    if peer:
        same_tables(timed_prepare(m, None)[2], timed_prepare(m, peer)[2])
    loop = statistics.median(t[0] for t in loop_t)
    loop_cpu = statistics.median(t[1] for t in loop_t)
    now = statistics.median(t[0] for t in now_t)
    now_cpu = statistics.median(t[1] for t in now_t)
    print(f"  loop ({STEPS} steps)   {loop:8.3f} s wall (min {min(t[0] for t in loop_t):.3f}), "
          f"{loop_cpu:.3f} s CPU (the whole emulate call)")
    print(f"  prepare now        {now:8.3f} s wall (min {min(t[0] for t in now_t):.3f}), "
          f"{now_cpu:.3f} s CPU  = {now / loop:.2f}x the loop in wall time, "
          f"{now_cpu / loop_cpu:.2f}x in CPU time")
    if old_t:
        old = statistics.median(t[0] for t in old_t)
        old_cpu = statistics.median(t[1] for t in old_t)
        print(f"  prepare before     {old:8.3f} s wall (min {min(t[0] for t in old_t):.3f}), "
              f"{old_cpu:.3f} s CPU  = {old / loop:.2f}x the loop in wall time, "
              f"{old_cpu / loop_cpu:.2f}x in CPU time")
        print(f"  now {old / now:.1f}x faster than {peer.rev} in wall time, {old_cpu / now_cpu:.1f}x "
              f"in CPU time (tables identical)")
    if not args.no_memory:
        p_now = peak_prepare(m, None)
        line = f"  peak allocations during prepare: now {p_now / 1e6:.0f} MB"
        if peer:
            p_old = peak_prepare(m, peer)
            line += f", before {p_old / 1e6:.0f} MB"
        print(line)
    print(f"  {args.runs} runs each, interleaved; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10k,100k", help="comma-separated N, e.g. 10k,100k")
    ap.add_argument("--runs", type=int, default=5, help="runs of each (median)")
    ap.add_argument("--peer", default=PEER, help=f"commit whose build is the peer (default {PEER})")
    ap.add_argument("--no-before", action="store_true", help="skip the peer's build")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc peaks")
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{STEPS} steps of 1 ms")
    with tempfile.TemporaryDirectory() as folder:
        args.peer_build = None if args.no_before else Peer(args.peer, Path(folder))
        for size in args.sizes.split(","):
            size = size.strip().lower()
            n = int(float(size[:-1]) * 1000) if size.endswith("k") else int(size)
            bench(n, args)


if __name__ == "__main__":
    main()
