"""How long the table build before a run takes, next to the run it prepares.

``neurocomp.targets.loihi.kernel.prepare`` turns a Mapping into the integer tables the
compiled loop reads (``emulator/kernels/routing.py``'s ``routing_tables`` does most of
it); ``emulate`` calls it once per Mapping. This script times it on the network of
``bench_emulator.py`` (perf.md's Brunel network, N substituted, hand-built Loihi
Mapping, 1,000 steps), three ways in the same process, interleaved run by run:

* **now**: ``prepare`` as it is;
* **before**: ``prepare`` with the two steps the table build used to take kept here as
  the peer -- the (column, class) blocks from ``np.unique(..., axis=0)`` over the
  stacked pairs, each axon's column from a ``dict.get`` loop, and the links each
  route crosses from the chip's coordinates of its two cores, route by route -- patched into
  ``routing.py`` for that run only; the tables of both are checked equal, array by array;
* **loop**: one ``emulate`` of 1,000 steps, the compiled loop alone (``RunResult.wall_s``).

Medians of ``--runs``; the load average at the start is printed (a shared 2-core box).
Memory: the peak of Python-visible allocations (``tracemalloc``; numpy reports its
arrays there) during one ``prepare`` of each kind, above what was allocated before it.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_prepare.py                  # 10k and 100k
    /work/venv/bin/python benchmarks/bench_prepare.py --sizes 10k --runs 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import tracemalloc

import numpy as np

from _common import brunel
from bench_emulator import STEPS, loihi_mapping


# -- the peer: the two steps as they were ------------------------------------------------


def _old_columns(core_ids, axon_core):
    col_of = {int(c): j for j, c in enumerate(core_ids)}
    return np.array([col_of.get(int(c), -1) for c in axon_core], dtype=np.int32) \
        if axon_core.size else np.zeros(0, dtype=np.int32)


def _old_blocks(axon_col, cls, n_cols):
    pairs, first, which = np.unique(np.stack([axon_col.astype(np.int64), cls], axis=1), axis=0,
                                    return_index=True, return_inverse=True) \
        if axon_col.size else (np.zeros((0, 2), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    which = np.asarray(which, dtype=np.int64).reshape(-1)
    return (pairs[:, 0], np.ascontiguousarray(pairs[:, 1], dtype=np.int64),
            np.ascontiguousarray(first, dtype=np.int64), which)


def _old_hops(chip, core_ids, comp_col, axon_col, sender, axon):
    return chip.hops_array(core_ids[comp_col[sender]], core_ids[axon_col[axon]])


@contextlib.contextmanager
def before():
    from neurocomp.emulator.kernels import routing

    saved = routing._columns, routing._blocks, routing._hops
    routing._columns, routing._blocks, routing._hops = _old_columns, _old_blocks, _old_hops
    try:
        yield
    finally:
        routing._columns, routing._blocks, routing._hops = saved


# -- measurements -----------------------------------------------------------------------


def timed_prepare(m, old: bool):
    from neurocomp.targets.loihi import kernel as loihi

    with before() if old else contextlib.nullcontext():
        t0 = time.perf_counter()
        tables = loihi.prepare(m)
        return time.perf_counter() - t0, tables


def peak_prepare(m, old: bool) -> int:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        timed_prepare(m, old)
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
    now_t, old_t, loop_t = [], [], []
    for _ in range(args.runs):
        t, new = timed_prepare(m, old=False)
        now_t.append(t)
        del new
        if not args.no_before:
            t, _ = timed_prepare(m, old=True)
            old_t.append(t)
        loop_t.append(emulate(m, STEPS, inputs).wall_s)
    if not args.no_before:
        same_tables(timed_prepare(m, False)[1], timed_prepare(m, True)[1])
    loop = statistics.median(loop_t)
    now = statistics.median(now_t)
    print(f"  loop ({STEPS} steps)   {loop:8.3f} s (min {min(loop_t):.3f})")
    print(f"  prepare now        {now:8.3f} s (min {min(now_t):.3f})  = {now / loop:.2f}x the loop")
    if old_t:
        old = statistics.median(old_t)
        print(f"  prepare before     {old:8.3f} s (min {min(old_t):.3f})  = {old / loop:.2f}x the loop; "
              f"now {old / now:.1f}x faster (tables identical)")
    if not args.no_memory:
        p_now = peak_prepare(m, False)
        line = f"  peak allocations during prepare: now {p_now / 1e6:.0f} MB"
        if not args.no_before:
            p_old = peak_prepare(m, True)
            line += f", before {p_old / 1e6:.0f} MB"
        print(line)
    print(f"  {args.runs} runs each, interleaved; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10k,100k", help="comma-separated N, e.g. 10k,100k")
    ap.add_argument("--runs", type=int, default=5, help="runs of each (median)")
    ap.add_argument("--no-before", action="store_true", help="skip the old build (the peer)")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc peaks")
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{STEPS} steps of 1 ms")
    for size in args.sizes.split(","):
        size = size.strip().lower()
        n = int(float(size[:-1]) * 1000) if size.endswith("k") else int(size)
        bench(n, args)


if __name__ == "__main__":
    main()
