"""How fast the bit-exact Loihi emulation runs, next to the float reference and Brian2.

The network is perf.md's canonical one, ``examples/brunel.snn`` with its sizes set to N
(80 % excitatory, N/4 Bernoulli inputs at 20 Hz, on average 100 recurrent + 25 input
synapses per neuron, weights +0.12 / +0.04 / -0.20, beta 0.9, threshold 1, reset to
zero, one step per synapse), 1,000 steps of 1 ms, at N = 10,000 and 100,000.

* **emulator**: :func:`neurocomp.emulator.run.emulate` on a Loihi Mapping of that
  network, counting every core's work as it goes. The Mapping is built here by hand
  (``--compiler`` uses neurocomp's compiler instead): neurons in order,
  ``chip.core.neurons`` per core on consecutive cores; one axon per (source, target
  core, projection). Its integers sit on Loihi's grid: threshold 1 -> ``vth_mant`` 50
  (50 << 6), weights x 50 (6, 2, -10, exponent 0), ``du = 4095`` (no synaptic current),
  ``dv = round(0.1 · 4096) = 410`` (beta 0.89990...). Timed: ``RunResult.wall_s``, the
  compiled loop alone.
* **reference**: :func:`neurocomp.emulator.reference.simulate` (float64), same network.
* **Brian2**: ``cpp_standalone`` (a C++ compiler is needed; otherwise ``--brian-device
  runtime``), run from a separate venv (``--brian-python``, default
  ``/tmp/brian-venv/bin/python``; never a dependency of neurocomp), on the same
  synapses and input spikes (saved to a temporary ``.npz``), perf.md's formulation:
  ``run_regularly('v = beta*v + I; I = 0')``, ``on_pre: I_post += w``, threshold
  ``v > 1``, reset ``v = 0``, one-step delays. Timed: the simulation loop as Brian2's
  profiler reports it (``profile=True``; compilation excluded), and its **synapse build**:
  the binary's own clock (``std::chrono``, code inserted with ``device.insert_code``) from
  before the synapses' ``connect`` to after ``Network::run``, less ``Network::run``'s wall
  time (``last_run_info.txt``), both in CPU seconds on one thread (Brian2's own clock
  there, ``std::clock``, which also times its loop's profile) and in wall seconds with
  OpenMP (``omp_get_wtime``, likewise): creating the synapses from the saved index arrays, setting
  their weights, and the before-run steps (the spike queues' preparation, the spike
  generator's time bins). Not counted, printed apart: ``brian_start()``, which allocates
  the arrays and reads the saved ones from disk (the emulator's Mapping is in memory).

End to end is each side's (build + loop): the emulator's ``prepare`` + loop against
Brian2's synapse build + loop. The former figure, Brian2's loop alone against the
emulator's (build + loop), is printed too.

Synaptic events are the sum over emitted spikes and input events of their fan-out
(the emulator's ``synops``), counted for each simulator's own spikes. The emulator's
runs and Brian2's alternate (each emulator run also rebuilds its tables, timed apart:
``prepare``, the end-to-end figure counts it); medians of ``--runs`` / ``--brian-runs``
runs; the load average at the start and the end is printed (a shared 2-core box). Both
run on one thread (Brian2's ``cpp_standalone`` without OpenMP), or with ``--threads N`` on
N: Numba's thread count for the emulator (which takes a second thread where that pays,
see docs/emulator.md), Brian2's OpenMP threads, both with ``OMP_WAIT_POLICY=PASSIVE``
unless it is set (neurocomp's setting; Brian2 with OpenMP's default spinning waits ran
its loop 50x slower under load 12); the emulator's runs on N threads then alternate with
runs on one (checked to give identical spikes and counters).

JIT: the first ``emulate`` call on a tiny Mapping in a fresh process, with an empty
Numba cache (cold, ``NUMBA_CACHE_DIR`` set to a temporary folder) and with it filled
(warm), minus that process's second call.

Memory: the emulator's tables and state (``prepare`` + one run's arrays) over the
Mapping's own arrays.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_emulator.py                    # 10k and 100k
    /work/venv/bin/python benchmarks/bench_emulator.py --sizes 10k --runs 3 --no-brian
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from _common import brunel, jit_seconds

ROOT = Path(__file__).resolve().parent.parent
BRUNEL = ROOT / "examples" / "brunel.snn"
STEPS = 1000
SCALE = 50  # integer units per float unit of v: threshold 1.0 -> vth_mant 50


# -- a Loihi Mapping by hand ------------------------------------------------------------


def loihi_mapping(net, synapses, chip):
    """The network on consecutive Loihi cores (see the module docstring)."""
    from neurocomp.ir.mapping import CoreMap, CoreSlice, Mapping

    neurons = [p for p in net.populations.values() if not p.is_input]
    inputs = [p for p in net.populations.values() if p.is_input]
    per_core = chip.core.neurons
    comp_of, at = {}, 0
    for p in neurons:
        comp_of[p.name], at = at, at + p.size
    n_comp = at
    input_offset, at = {}, 0
    for p in inputs:
        input_offset[p.name], at = at, at + p.size
    n_sources = n_comp + at
    comp_core = (np.arange(n_comp, dtype=np.int64) // per_core).astype(np.int32)
    comp_pop = np.concatenate([np.full(p.size, k, dtype=np.int32) for k, p in enumerate(neurons)])
    comp_index = np.concatenate([np.arange(p.size, dtype=np.int64) for p in neurons])
    n_cores = int(comp_core[-1]) + 1
    if n_cores > chip.total_cores:
        raise SystemExit(f"{n_comp} neurons need {n_cores} cores; chip '{chip.name}' has {chip.total_cores}")

    beta = {p.name: float(p.neuron.beta) for p in neurons}
    params = {
        "du": np.full(n_comp, 4095, dtype=np.int64),
        "dv": np.concatenate([np.full(p.size, round((1 - beta[p.name]) * 4096), dtype=np.int64)
                              for p in neurons]),
        "vth_mant": np.concatenate([np.full(p.size, round(float(p.neuron.threshold) * SCALE),
                                            dtype=np.int64) for p in neurons]),
        "bias_mant": np.zeros(n_comp, dtype=np.int64),
        "bias_exp": np.zeros(n_comp, dtype=np.int64),
        "refractory": np.zeros(n_comp, dtype=np.int64),
    }

    src_l, tgt_l, w_l, proj_l = [], [], [], []
    names = tuple(p.name for p in net.projections)
    for k, proj in enumerate(net.projections):
        syn = synapses[proj.name]
        if syn.max_delay != 0:
            raise SystemExit("this hand mapping covers one-step synapses only")
        base = comp_of[proj.pre] if proj.pre in comp_of else n_comp + input_offset[proj.pre]
        rows = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
        src_l.append(rows + base)
        tgt_l.append(syn.indices.astype(np.int64) + comp_of[proj.post])
        w_l.append(np.rint(syn.weights * SCALE).astype(np.int32))
        proj_l.append(np.full(syn.n_synapses, k, dtype=np.int32))
    src, tgt, w, proj = (np.concatenate(x) for x in (src_l, tgt_l, w_l, proj_l))
    del src_l, tgt_l, w_l, proj_l
    # Group by (source, projection); within a group targets ascend, so cores do too.
    order = np.argsort(src * len(names) + proj, kind="stable")
    src, tgt, w, proj = src[order], tgt[order], w[order], proj[order]
    del order
    key = (src * len(names) + proj) * n_cores + tgt // per_core
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    del key
    axon_src = src[starts]
    route_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    np.cumsum(np.bincount(axon_src, minlength=n_sources), out=route_ptr[1:])

    cores = []
    for c in range(n_cores):
        lo, hi = c * per_core, min(n_comp, (c + 1) * per_core)
        slices = []
        for k, p in enumerate(neurons):
            a, b = max(lo, comp_of[p.name]), min(hi, comp_of[p.name] + p.size)
            if a < b:
                slices.append(CoreSlice(population=p.name, start=a - comp_of[p.name], stop=b - comp_of[p.name]))
        cores.append(CoreMap(core_id=c, slices=tuple(slices), comp_start=lo, comp_stop=hi))
    return Mapping(
        chip=chip, network=net, family=chip.neuron.family, cores=tuple(cores),
        comp_core=comp_core, comp_pop=comp_pop, comp_index=comp_index, params=params,
        v_scale=np.full(n_comp, 1.0 / (SCALE << chip.numerics.threshold.shift), dtype=np.float64),
        population_names=tuple(p.name for p in neurons), input_offset=input_offset,
        route_ptr=route_ptr, route_axon=np.arange(starts.size, dtype=np.int64),
        axon_core=(tgt[starts] // per_core).astype(np.int32),
        axon_projection=proj[starts].astype(np.int32),
        axon_weight_exp=np.zeros(starts.size, dtype=np.int8),
        axon_type=np.zeros(starts.size, dtype=np.int8),
        axon_syn_ptr=np.append(starts, src.size).astype(np.int64),
        syn_target=tgt.astype(np.int32), syn_weight=w, syn_delay=np.zeros(src.size, dtype=np.int16),
        projection_names=names,
    )


def mapping_bytes(m) -> int:
    arrays = [m.comp_core, m.comp_pop, m.comp_index, m.v_scale, m.route_ptr, m.route_axon,
              m.axon_core, m.axon_projection, m.axon_weight_exp, m.axon_type, m.axon_syn_ptr,
              m.syn_target, m.syn_weight, m.syn_delay, *m.params.values()]
    return sum(a.nbytes for a in arrays)


def emulator_bytes(m, steps: int) -> int:
    """Tables built by ``prepare`` plus one run's state, ring buffer and counters."""
    from neurocomp.targets.loihi import kernel as loihi

    tb = loihi.prepare(m)
    total = sum(a.nbytes for a in tb.routing if isinstance(a, np.ndarray))
    total += sum(a.nbytes for a in vars(tb).values() if isinstance(a, np.ndarray))
    total += m.n_comp * (2 * tb.state_dtype.itemsize + tb.refractory.itemsize)  # u, v, counter
    total += tb.info.acc_dtype.itemsize * tb.info.n_slots * tb.info.n_rows  # the ring buffer
    total += 8 * 9 * steps * tb.info.n_cols  # counters
    return total


# -- Brian2, in its own venv ------------------------------------------------------------

_BRIAN = textwrap.dedent(r"""
    import json, sys, time
    import numpy as np
    import brian2 as b2
    data = np.load(sys.argv[1])
    device, build_dir = sys.argv[2], sys.argv[3]
    n, n_in, steps = int(data["n"]), int(data["n_in"]), int(data["steps"])
    standalone = device == "cpp_standalone"
    if standalone:
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = int(sys.argv[4])
        b2.prefs.codegen.cpp.headers += ["<chrono>", "<fstream>"]
        # the binary's own clock: brian_start() (allocating, reading the saved arrays)
        b2.device.insert_code("before_start", "auto _nc_s0 = std::chrono::steady_clock::now();")
        b2.device.insert_code("after_start", "auto _nc_s1 = std::chrono::steady_clock::now();")
    else:
        b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = 1 * b2.ms
    G = b2.NeuronGroup(n, "v : 1\nI : 1\nbeta : 1", threshold="v > 1", reset="v = 0",
                       method="euler")
    G.beta = 0.9
    G.run_regularly("v = beta*v + I\nI = 0", when="groups")
    times = data["in_t"] * b2.ms
    P = b2.SpikeGeneratorGroup(n_in, data["in_i"], times)
    if standalone:  # from here to the loop's end: synapses built, queues set up, the loop
        b2.device.insert_code("main", "auto _nc_t0 = std::chrono::steady_clock::now();"
                                      "std::clock_t _nc_c0 = std::clock();")
    S_rec = b2.Synapses(G, G, "w : 1", on_pre="I_post += w", delay=0 * b2.ms)
    S_rec.connect(i=data["rec_pre"], j=data["rec_post"])
    S_rec.w = data["rec_w"]
    S_in = b2.Synapses(P, G, "w : 1", on_pre="I_post += w", delay=0 * b2.ms)
    S_in.connect(i=data["in_pre"], j=data["in_post"])
    S_in.w = data["in_w"]
    if standalone:
        b2.device.insert_code("main", "auto _nc_tc = std::chrono::steady_clock::now();"
                                      "std::clock_t _nc_cc = std::clock();")
    M = b2.SpikeMonitor(G)
    net = b2.Network(G, P, S_rec, S_in, M)
    t0 = time.perf_counter()
    net.run(steps * b2.ms, profile=True)
    build_s = start_s = connect_s = float("nan")
    if standalone:
        b2.device.insert_code("main", (
            "auto _nc_t1 = std::chrono::steady_clock::now();"
            "std::clock_t _nc_c1 = std::clock();"
            "std::ofstream _nc_out(\"nc_times.txt\");"
            "_nc_out << std::chrono::duration<double>(_nc_s1 - _nc_s0).count() << ' '"
            "        << std::chrono::duration<double>(_nc_t1 - _nc_t0).count() << ' '"
            "        << std::chrono::duration<double>(_nc_tc - _nc_t0).count() << ' '"
            "        << double(_nc_c1 - _nc_c0) / CLOCKS_PER_SEC << ' '"
            "        << double(_nc_cc - _nc_c0) / CLOCKS_PER_SEC << std::endl;"))
        b2.device.build(directory=build_dir, compile=True, run=True, debug=False)
        with open(f"{build_dir}/nc_times.txt") as f:
            start_s, span, connect_s, span_cpu, connect_cpu = (float(x) for x in f.read().split())
        # The span less Network::run's own time: connect, weights, spike queues. Brian2
        # times its run (and its profile, the loop figure) in CPU seconds (std::clock)
        # without OpenMP, in wall seconds with it: the span the same way.
        if not int(sys.argv[4]):
            span, connect_s = span_cpu, connect_cpu
        build_s = span - b2.device._last_run_time
    total = time.perf_counter() - t0
    prof = net.profiling_info
    loop = float(sum(float(t / b2.second) for _, t in prof))
    counts = np.bincount(np.asarray(M.i[:]), minlength=n)
    print(json.dumps({"loop_s": loop, "total_s": total, "build_s": build_s, "start_s": start_s,
                      "connect_s": connect_s, "spikes": int(counts.sum()),
                      "counts": counts.tolist()}))
""")


def brian_inputs(net, synapses, inputs, path: Path) -> None:
    """Save the lowered synapses (global indices) and the input spikes for the Brian2 run."""
    neurons = [p for p in net.populations.values() if not p.is_input]
    off, at = {}, 0
    for p in neurons:
        off[p.name], at = at, at + p.size
    n = at
    rec, ext = ([], [], []), ([], [], [])
    for proj in net.projections:
        syn = synapses[proj.name]
        rows = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
        src = net.populations[proj.pre]
        into = ext if src.is_input else rec
        into[0].append(rows + (0 if src.is_input else off[proj.pre]))
        into[1].append(syn.indices.astype(np.int64) + off[proj.post])
        into[2].append(syn.weights.astype(np.float64))
    (ev,) = [inputs[p.name] for p in net.populations.values() if p.is_input]
    in_t = np.repeat(np.arange(ev.steps, dtype=np.float64), np.diff(ev.step_ptr))
    # Brian's SpikeGeneratorGroup emits at step t; its synapses then act at t, while
    # neurocomp's input at t reaches the neurons' update of t + 1. Brian's schedule
    # (groups -> thresholds -> synapses) puts I += w after the update of step t, so the
    # update of t + 1 reads it: the same timing.
    np.savez(path, n=n, n_in=ev.n, steps=STEPS, in_t=in_t, in_i=ev.indices.astype(np.int64),
             rec_pre=np.concatenate(rec[0]), rec_post=np.concatenate(rec[1]), rec_w=np.concatenate(rec[2]),
             in_pre=np.concatenate(ext[0]), in_post=np.concatenate(ext[1]), in_w=np.concatenate(ext[2]))


def run_brian(python: str, data: Path, device: str, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as build:
        out = subprocess.run([python, "-c", _BRIAN, str(data), device, build,
                              str(threads if threads > 1 else 0)], check=True,
                             capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def syn_events_of(counts: np.ndarray, fanout: np.ndarray, input_events: int) -> int:
    return int(np.dot(counts.astype(np.int64), fanout)) + input_events


# -- JIT ------------------------------------------------------------------------------

_JIT_PROBE = textwrap.dedent(r"""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from bench_emulator import brunel, loihi_mapping
    from neurocomp.chip.load import load_chip
    from neurocomp.compiler.lower import lower
    from neurocomp.emulator.run import emulate
    net = brunel(400)
    m = loihi_mapping(net, lower(net), load_chip("loihi"))
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        emulate(m, 10)
        times.append(time.perf_counter() - t0)
    print(times[0] - times[1])
""")


# -- main -----------------------------------------------------------------------------


def line(name: str, walls: list[float], events: int, updates: int, spikes: int, n: int,
         extra: str = "") -> float:
    wall = statistics.median(walls)
    rate = spikes / (n * STEPS / 1000)
    print(f"  {name:<22} loop {wall * 1e3:8.1f} ms (min {min(walls) * 1e3:7.1f})  "
          f"{events / wall:9.3g} syn ev/s  {updates / wall:9.3g} upd/s  {rate:6.2f} Hz  "
          f"{len(walls)} runs{extra}")
    return events / wall


def bench(n: int, args) -> None:
    from neurocomp.chip.load import load_chip
    from neurocomp.compiler.encode import encode
    from neurocomp.compiler.lower import lower
    from neurocomp.emulator.reference import simulate
    from neurocomp.emulator.run import emulate

    t0 = time.perf_counter()
    net = brunel(n)
    synapses = lower(net)
    inputs = {p.name: encode(p, STEPS, net.dt_ms) for p in net.populations.values() if p.is_input}
    t1 = time.perf_counter()
    chip = load_chip("loihi", chips=args.chips)
    if args.compiler:
        from neurocomp.compiler.pipeline import compile_network, default_passes

        m = compile_network(net, chip, passes=default_passes(place=args.place))
        how = f"compiled ({args.place} placement)"
    else:
        m = loihi_mapping(net, synapses, chip)
        how = "hand mapping"
    t2 = time.perf_counter()
    print(f"\nN = {n:,}: {m.n_synapses:,} synapses, {len(m.cores)} cores, {m.n_axons:,} axons; "
          f"build+lower+encode {t1 - t0:.1f} s, {how} {t2 - t1:.1f} s")
    m_bytes, e_bytes = mapping_bytes(m), emulator_bytes(m, STEPS)
    print(f"  memory: Mapping arrays {m_bytes / 1e6:.1f} MB; emulator tables + state "
          f"{e_bytes / 1e6:.1f} MB ({e_bytes / m_bytes:.2f}x)")

    from neurocomp.emulator.kernels import kernel_for

    kernel = kernel_for(m.family)
    r = emulate(m, STEPS, inputs)  # jit, and the Mapping's tables cached for the loop runs
    brian = None if args.no_brian else Path(args.brian_python)
    if brian is not None and not brian.exists():
        print(f"  Brian2: skipped ({brian} not found; python3 -m venv /tmp/brian-venv && "
              "/tmp/brian-venv/bin/pip install brian2)")
        brian = None
    fanout = np.zeros(n, dtype=np.int64)
    neurons = [p for p in net.populations.values() if not p.is_input]
    at = 0
    for p in neurons:
        for proj in net.projections:
            if proj.pre == p.name:
                fanout[at:at + p.size] += np.diff(synapses[proj.name].indptr)
        at += p.size

    # The emulator (a fresh table build, then the loop) and Brian2, alternating.
    import numba

    walls, builds, b_walls, b_totals, walls1, builds1 = [], [], [], [], [], []
    b_builds, b_starts, b_connects = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "brunel.npz"
        if brian is not None:
            brian_inputs(net, synapses, inputs, data)
        for k in range(max(args.runs, args.brian_runs if brian is not None else 0)):
            if k < args.runs:
                t0 = time.perf_counter()
                kernel.prepare(m)
                builds.append(time.perf_counter() - t0)
                r = emulate(m, STEPS, inputs)
                walls.append(r.wall_s)
            if args.threads > 1 and k < args.runs:  # the same on one thread, for the speed-up
                numba.set_num_threads(1)
                t0 = time.perf_counter()
                kernel.prepare(m)
                builds1.append(time.perf_counter() - t0)
                r1 = emulate(m, STEPS, inputs)
                walls1.append(r1.wall_s)
                numba.set_num_threads(args.threads)
                same = all(np.array_equal(r.spikes[p].times, r1.spikes[p].times)
                           and np.array_equal(r.spikes[p].indices, r1.spikes[p].indices)
                           for p in m.population_names)
                assert same and all(np.array_equal(getattr(r.counters, f), getattr(r1.counters, f))
                                    for f in ("synops", "spikes_in", "messages_out",
                                              "updates_active")), "threads changed the results"
            if brian is not None and k < args.brian_runs:
                out = run_brian(str(brian), data, args.brian_device, args.threads)
                b_walls.append(out["loop_s"])
                b_totals.append(out["total_s"])
                b_builds.append(out["build_s"])
                b_starts.append(out["start_s"])
                b_connects.append(out["connect_s"])
    spikes = sum(r.spikes[p].count for p in m.population_names)
    emu_rate = line("emulator (Loihi)", walls, r.synaptic_events, r.neuron_updates, spikes, n,
                    f"  [{r.counters.synops.sum():,} synops, "
                    f"{r.counters.messages_out.sum():,} messages]")
    build = statistics.median(builds)
    print(f"  {'table build (prepare)':<22} {build * 1e3:8.1f} ms (min {min(builds) * 1e3:7.1f}) "
          f"= {build / statistics.median(walls):.2f}x the loop")

    if walls1:
        loop1, build1 = statistics.median(walls1), statistics.median(builds1)
        print(f"  {'one thread (same runs)':<22} loop {loop1 * 1e3:8.1f} ms, build {build1 * 1e3:7.1f} ms: "
              f"{args.threads} threads are {loop1 / statistics.median(walls):.2f}x (loop), "
              f"{build1 / build:.2f}x (build), {(loop1 + build1) / (build + statistics.median(walls)):.2f}x "
              f"(end to end) as fast; results identical")

    ref_walls = []
    for _ in range(max(1, args.runs // 2)):
        ref = simulate(net, STEPS, inputs, synapses=synapses)
        ref_walls.append(ref.wall_s)
    ref_spikes = sum(ref.spikes[p.name].count for p in net.populations.values() if not p.is_input)
    line("reference (float64)", ref_walls, ref.synaptic_events, ref.neuron_updates, ref_spikes, n)

    if brian is None:
        return
    input_events = ref.synaptic_events - int(np.dot(
        np.concatenate([ref.spike_counts(p.name) for p in neurons]), fanout))
    events = syn_events_of(np.asarray(out["counts"]), fanout, input_events)
    brian_rate = line(f"Brian2 {args.brian_device}", b_walls, events, n * STEPS, out["spikes"], n,
                      f"  [whole run incl. code generation and build {statistics.median(b_totals):.1f} s]")
    loop, b_loop = statistics.median(walls), statistics.median(b_walls)
    print(f"  emulator / Brian2 synaptic events per second (loops): {emu_rate / brian_rate:.2f}x; "
          f"loop times: Brian2 / emulator {b_loop / loop:.2f}x; with the emulator's table build "
          f"counted, Brian2 loop / (build + loop) {b_loop / (build + loop):.2f}x")
    if not np.isnan(b_builds).any():
        b_build = statistics.median(b_builds)
        b_ends = [b + w for b, w in zip(b_builds, b_walls)]
        ends = [b + w for b, w in zip(builds, walls)]
        print(f"  {'Brian2 synapse build':<22} {b_build * 1e3:8.1f} ms (min {min(b_builds) * 1e3:7.1f}) "
              f"in its binary before the loop ({'CPU' if args.threads == 1 else 'wall'} time as "
              f"its loop's; connect from arrays and weights "
              f"{statistics.median(b_connects) * 1e3:.1f} ms, then spike queues and the other "
              f"before-run steps); "
              f"not counted: reading its saved arrays in brian_start() "
              f"{statistics.median(b_starts) * 1e3:.1f} ms")
        print(f"  end to end, each side's (build + loop): emulator "
              f"{statistics.median(ends) * 1e3:.1f} ms, Brian2 {statistics.median(b_ends) * 1e3:.1f} ms: "
              f"{statistics.median(b_ends) / statistics.median(ends):.2f}x "
              f"(the goal: 3x at N = 100,000, {args.threads} thread(s) each)")
    print(f"  load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10k,100k", help="comma-separated N, e.g. 10k,100k")
    ap.add_argument("--runs", type=int, default=5, help="emulator runs per size (median)")
    ap.add_argument("--brian-runs", type=int, default=3, help="Brian2 runs per size")
    ap.add_argument("--brian-python", default="/tmp/brian-venv/bin/python")
    ap.add_argument("--brian-device", default="cpp_standalone", choices=("cpp_standalone", "runtime"))
    ap.add_argument("--no-brian", action="store_true")
    ap.add_argument("--compiler", action="store_true",
                    help="map with neurocomp's compiler (quantize, partition, place, route) "
                         "instead of the hand mapping")
    ap.add_argument("--place", default="row_major", help="placement strategy with --compiler")
    ap.add_argument("--chips", type=int, default=None,
                    help="Loihi chips in the system (the compiler's packing needs ~3 per 10k)")
    ap.add_argument("--no-jit", action="store_true", help="skip the cold/warm JIT measurement")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of each simulator: the emulator's (Numba's thread count; it "
                         "uses a second one where that pays) and Brian2's OpenMP threads")
    args = ap.parse_args()
    # neurocomp's OpenMP setting (emulator/kernels), for Brian2 too: with its default
    # (spinning waits) Brian2's 2-thread loop took 50x its time under load 12
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numba

    numba.set_num_threads(args.threads)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{STEPS} steps of 1 ms; {args.threads} thread(s) each")
    if not args.no_jit:
        cold, warm = jit_seconds(_JIT_PROBE, str(Path(__file__).resolve().parent))
        print(f"JIT: first emulate() call costs {cold:.2f} s with an empty Numba cache (compile), "
              f"{warm:.2f} s with it filled (load)")
    for size in args.sizes.split(","):
        size = size.strip().lower()
        n = int(float(size[:-1]) * 1000) if size.endswith("k") else int(size)
        bench(n, args)


if __name__ == "__main__":
    main()
