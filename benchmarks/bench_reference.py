"""How fast the float reference simulator runs, next to a plain SciPy peer.

The network is ``examples/brunel.snn`` (perf.md's canonical E/I network: 80 % exc,
N/4 Bernoulli 20 Hz inputs, on average 100 recurrent + 25 input synapses per neuron,
weights +0.12 / +0.04 / -0.20, beta 0.9, threshold 1, reset to zero, every synapse one
step), parsed and built with its sizes set to N (10,000 as written; 100,000 with
``--sizes 10k,100k``), lowered once, without probes. Each run is 1,000 steps.

* the reference: :func:`neurocomp.emulator.reference.simulate`; its ``wall_s`` is the
  compiled loop alone;
* the peer: a clock-driven SciPy loop over the same lowered synapses and the same
  input events, ``I = alpha·I + W_rec @ s + W_in @ s_in`` with ``W`` CSR ``[post, pre]``,
  one sparse mat-vec per step (as perf.md's "scipy CSR matvec" row). Its loop alone is
  timed. It must give the same spikes; the script says whether it did.

Throughput is synaptic events (sum over spikes and input events of their fan-out) and
neuron updates (N × steps) per second of loop time. Medians over ``--runs`` (the
reference) and ``--peer-runs`` (SciPy) are printed, with the load average at the start:
the machine is a shared 2-core box, so run it as quietly as you can.

JIT: the time of the first ``simulate`` call on a tiny network in a fresh process, with
an empty Numba cache (cold: compiles the kernel) and again with that cache filled
(warm: loads it), both minus the same process's second call.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_reference.py                 # N = 10k
    /work/venv/bin/python benchmarks/bench_reference.py --sizes 10k,100k --peer-runs 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from _common import brunel, jit_seconds

ROOT = Path(__file__).resolve().parent.parent
BRUNEL = ROOT / "examples" / "brunel.snn"
STEPS = 1000


# -- the peer -------------------------------------------------------------------------


def scipy_peer(net, synapses, inputs, steps: int) -> tuple[float, dict[str, np.ndarray]]:
    """Clock-driven SciPy run; returns (loop seconds, spike count per neuron by population)."""
    import scipy.sparse as sp

    neurons = [p for p in net.populations.values() if not p.is_input]
    sources = [p for p in net.populations.values() if p.is_input]
    off, at = {}, 0
    for pop in neurons:
        off[pop.name], at = at, at + pop.size
    n = at
    in_off, at = {}, 0
    for pop in sources:
        in_off[pop.name], at = at, at + pop.size
    n_in = at

    alpha = np.concatenate([np.broadcast_to(np.float64(p.neuron.alpha), p.size) for p in neurons])
    beta = np.concatenate([np.broadcast_to(np.float64(p.neuron.beta), p.size) for p in neurons])
    thr = np.concatenate([np.broadcast_to(np.float64(p.neuron.threshold), p.size) for p in neurons])
    bias = np.concatenate([np.broadcast_to(np.float64(p.neuron.bias), p.size) for p in neurons])
    for p in neurons:
        if p.neuron.reset != "zero" or p.neuron.refractory_steps or p.neuron.family == "li":
            raise SystemExit("the SciPy peer covers reset = zero, no refractory period, spiking neurons")

    rec = ([], [], [])
    ext = ([], [], [])
    for proj in net.projections:
        syn = synapses[proj.name]
        if syn.max_delay != 0:
            raise SystemExit("the SciPy peer covers one-step synapses only")
        rows = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
        src = net.populations[proj.pre]
        into = rec if not src.is_input else ext
        into[0].append(syn.indices.astype(np.int64) + off[proj.post])
        into[1].append(rows + (in_off if src.is_input else off)[proj.pre])
        into[2].append(syn.weights)

    def csr(parts, n_cols):
        if not parts[0]:
            return sp.csr_matrix((n, n_cols), dtype=np.float64)
        post, pre, w = (np.concatenate(x) for x in parts)
        return sp.csr_matrix((w.astype(np.float64), (post, pre)), shape=(n, n_cols), dtype=np.float64)

    w_rec, w_in = csr(rec, n), csr(ext, n_in)
    ev = [(inputs[p.name], in_off[p.name]) for p in sources]

    v = np.zeros(n, dtype=np.float64)
    cur = np.zeros(n, dtype=np.float64)
    x = np.zeros(n, dtype=np.float64)
    s_in = np.zeros(n_in, dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    start = time.perf_counter()
    for t in range(steps):
        cur = alpha * cur + x
        v = beta * v + cur + bias
        spk = v > thr
        v[spk] = 0.0
        counts += spk
        s_in[:] = 0.0
        for e, o in ev:
            lo, hi = e.step_ptr[t], e.step_ptr[t + 1]
            s_in[e.indices[lo:hi] + o] = e.values[lo:hi]
        x = w_rec @ spk.astype(np.float64) + w_in @ s_in
    seconds = time.perf_counter() - start
    return seconds, {p.name: counts[off[p.name]:off[p.name] + p.size] for p in neurons}


# -- JIT ------------------------------------------------------------------------------

_JIT_PROBE = r"""
import time
import numpy as np
from neurocomp.emulator.reference import simulate
from neurocomp.ir.network import Network, NeuronModel, Population, Projection
from neurocomp.ir.connectors import OneToOne
from neurocomp.ir.encoders import SpikeFile
from neurocomp.ir.synapses import Synapses
net = Network(name="tiny", populations={
    "s": Population(name="s", shape=(1,), encoder=SpikeFile(np.array([0], dtype=np.int64),
                                                         np.array([0], dtype=np.int64), "-")),
    "a": Population(name="a", shape=(1,), neuron=NeuronModel(family="lif", beta=0.9))},
    projections=(Projection(name="p", pre="s", post="a", connector=OneToOne(1.5)),))
syn = {"p": Synapses(projection="p", n_pre=1, n_post=1, indptr=np.array([0, 1], dtype=np.int64),
                     indices=np.array([0], dtype=np.int32), weights=np.array([1.5], dtype=np.float64))}
times = []
for _ in range(2):
    t0 = time.perf_counter()
    simulate(net, 10, synapses=syn)
    times.append(time.perf_counter() - t0)
print(times[0] - times[1])
"""


# -- main -----------------------------------------------------------------------------


def bench(n: int, runs: int, peer_runs: int) -> None:
    from neurocomp.compiler.encode import encode
    from neurocomp.compiler.lower import lower
    from neurocomp.emulator.reference import simulate

    t0 = time.perf_counter()
    net = brunel(n)
    t1 = time.perf_counter()
    synapses = lower(net)
    t2 = time.perf_counter()
    inputs = {p.name: encode(p, STEPS, net.dt_ms) for p in net.populations.values() if p.is_input}
    t3 = time.perf_counter()
    n_syn = sum(s.n_synapses for s in synapses.values())
    print(f"\nN = {n:,}: {n_syn:,} synapses ({n_syn / n:.1f} per neuron); build {t1 - t0:.2f} s, "
          f"lower {t2 - t1:.2f} s, encode {t3 - t2:.2f} s")

    walls, totals = [], []
    for _ in range(runs):
        start = time.perf_counter()
        r = simulate(net, STEPS, inputs, synapses=synapses)
        totals.append(time.perf_counter() - start)
        walls.append(r.wall_s)
    wall = statistics.median(walls)
    s = r.summary()
    print(f"  reference  loop {wall * 1e3:9.1f} ms (min {min(walls) * 1e3:.1f})  "
          f"{r.synaptic_events / wall:9.3g} syn events/s  {r.neuron_updates / wall:9.3g} neuron upd/s  "
          f"| whole simulate() {statistics.median(totals) * 1e3:.0f} ms  | {runs} runs")
    print(f"             {s['totals']['spikes']:,} spikes, {s['totals']['mean_rate_hz']:.3f} Hz, "
          f"silent {s['totals']['silent_fraction']:.3f}, {r.synaptic_events:,} synaptic events")

    if peer_runs <= 0:
        return
    peer = []
    for _ in range(peer_runs):
        seconds, counts = scipy_peer(net, synapses, inputs, STEPS)
        peer.append(seconds)
    pwall = statistics.median(peer)
    same = all(np.array_equal(counts[name], r.spike_counts(name)) for name in counts)
    print(f"  scipy peer loop {pwall * 1e3:9.1f} ms (min {min(peer) * 1e3:.1f})  "
          f"{r.synaptic_events / pwall:9.3g} syn events/s  {r.neuron_updates / pwall:9.3g} neuron upd/s  "
          f"| {peer_runs} runs")
    print(f"  spikes per neuron identical to the reference: {'yes' if same else 'NO'}; "
          f"reference is {pwall / wall:.1f}x faster than the peer")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10k", help="comma-separated N, e.g. 10k,100k")
    ap.add_argument("--runs", type=int, default=7, help="reference runs per size (median)")
    ap.add_argument("--peer-runs", type=int, default=3, help="SciPy runs per size (0: skip)")
    ap.add_argument("--no-jit", action="store_true", help="skip the cold/warm JIT measurement")
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{STEPS} steps of 1 ms")
    if not args.no_jit:
        cold, warm = jit_seconds(_JIT_PROBE)
        print(f"JIT: first simulate() call costs {cold:.2f} s with an empty Numba cache (compile), "
              f"{warm:.2f} s with it filled (load)")
    for size in args.sizes.split(","):
        size = size.strip().lower()
        n = int(float(size[:-1]) * 1000) if size.endswith("k") else int(size)
        bench(n, args.runs, args.peer_runs)


if __name__ == "__main__":
    main()
