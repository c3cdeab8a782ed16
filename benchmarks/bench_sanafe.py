"""neurocomp's energy and latency estimates next to SANA-FE's, on the same networks.

SANA-FE (Boyle et al., IEEE TCAD 2025; ``pip install sanafe``) is the closest peer: an
architecture-level simulator that prices spike events with per-event costs. Loihi's
chip file ships a ``sanafe`` profile holding SANA-FE's calibrated Loihi constants
(``chips/loihi.toml``), so with that profile the two tools price the same events with
the same numbers. This script runs both on

* ``dense64``: 64 inputs -> 64 IF neurons, dense;
* ``dense1024``: 1,024 inputs -> 1,024 IF neurons, dense;
* ``mnist``: ``examples/mnist_mlp.snn`` (784 -> 128 -> 10), one test digit,
* ``recurrent``: 200 inputs -> 2,000 IF neurons with sparse random recurrence,
* ``conv``: [2, 16, 16] events -> conv 3x3 to [8, 16, 16] -> dense 10,

and prints energy per step, latency per step and the wall time of each estimate.

Same network, same placement
----------------------------
neurocomp compiles the network for Loihi; SANA-FE is then given *that* network: every
neuron on the core neurocomp placed it on (core ids translated: neurocomp numbers tiles
row by row, SANA-FE column by column), the integer weights the chip stores
(``w << weight_exp``, in units of ``2**input_shift``) and the integer thresholds
(``vth_mant``), every synapse of the mapping and nothing else. Both run the IF
neuron of these networks exactly (Loihi's u is cleared every step, v does not decay;
SANA-FE's Loihi LIF with input_decay 0 and leak_decay 1), so both produce the same
spikes, which the script checks.

Inputs: neurocomp's inputs come from the host (no sending cost, no hops, at each
destination core when the step starts); SANA-FE runs inputs as neurons on a core, whose
packets cost like any other. So that both price the same events, the SANA-FE
architecture (generated from the chip file's ``sanafe`` profile) gets one extra *input
core* beside every neuro core, whose sending costs nothing, and every core that holds
targets of an input gets its own copy of that input (same spike train) on its input
core: its packets then cross no link and queue at their core only. What is left to
price is the same in both: the packets' arrival, the synaptic ops, the neuron updates
and spikes, the packets of neurons and their hops. (``--inputs tile`` gives each tile
one input core instead, as earlier versions did; SANA-FE's detailed model then
serialises the tile's input packets through that core's one link.)

Timing models: SANA-FE's ``simple`` model (per core, the larger of its sending and its
receiving time, plus the barrier table; no hop latency) against neurocomp's (per core,
the sum of all its work plus its last packet's flight, plus the same barrier table).
The latencies are expected to differ by that; energy is the check.

Wall time, measured inside each tool's process (no interpreter start-up, no imports):
``wall`` is the whole estimate from the network text (neurocomp: parse, compile, emulate,
price; SANA-FE: build the network with its Python API, load it onto the chip,
simulate); ``estimate`` starts from the network each tool has built (neurocomp: emulate,
its routing tables included, and price; SANA-FE: load and simulate). Medians of
``--runs`` runs; Numba's cache is warmed first. SANA-FE is given its fastest calls
(``connect_neurons_dense`` for complete blocks of synapses, group-wide attributes).

SANA-FE lives in its own virtual environment (it is GPL-3.0 and never a neurocomp
dependency) and runs in a subprocess; ``--venv`` names it and the script creates it
(``python3 -m venv`` and ``pip install sanafe numpy``) when it is missing.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_sanafe.py                 # all three cases
    /work/venv/bin/python benchmarks/bench_sanafe.py --cases dense64 --runs 5
    /work/venv/bin/python benchmarks/bench_sanafe.py --timing detailed --cases mnist,recurrent,conv
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CASES = ("dense64", "dense1024", "mnist", "recurrent", "conv")


# --------------------------------------------------------------------------- networks


def write_case(case: str, folder: Path, steps: int) -> tuple[Path, dict[str, np.ndarray]]:
    """The case's .snn file (and its data) in ``folder``, and its input rasters."""
    rng = np.random.default_rng(2026)
    if case == "mnist":
        with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
            image = data["x"][0].astype(np.float64)
        # The example's rate code, drawn here so both tools see one raster.
        raster = (rng.random((steps, 784)) < image[None, :]).astype(np.uint8)
        text = (ROOT / "examples" / "mnist_mlp.snn").read_text(encoding="utf-8")
        text = text.replace('"data/', f'"{(ROOT / "examples" / "data").as_posix()}/')
        path = folder / "mnist_mlp.snn"
        path.write_text(text, encoding="utf-8")
        return path, {"pixels": raster}
    if case == "recurrent":
        # 2,000 IF neurons, sparse random recurrence, driven by 200 inputs at p = 0.2
        raster = (rng.random((steps, 200)) < 0.2).astype(np.uint8)
        t, i = np.nonzero(raster)
        np.savez(folder / "recurrent_spikes.npz", times=t.astype(np.int64), indices=i.astype(np.int64))
        path = folder / "recurrent.snn"
        path.write_text(textwrap.dedent("""\
            network recurrent
            dt = 1 ms
            input x[200] : spikes(file = "recurrent_spikes.npz")
            population r[2000] : IF(threshold = 16.0, reset = zero)
            connect x -> r : random(p = 0.1, weight = 4.0, seed = 1)
            connect r -> r : random(p = 0.02, weight = 2.0, seed = 2, self = false)
            probe r : spikes
            """), encoding="utf-8")
        return path, {"x": raster}
    if case == "conv":
        # a small conv net: [2, 16, 16] events -> conv 3x3 to [8, 16, 16] -> dense 10
        k = rng.integers(-2, 5, size=(8, 2, 3, 3)).astype(np.float32)
        np.save(folder / "conv_k.npy", k)
        w = rng.integers(-1, 4, size=(10, 8 * 16 * 16)).astype(np.float32)
        np.save(folder / "conv_w.npy", w)
        raster = (rng.random((steps, 2 * 16 * 16)) < 0.15).astype(np.uint8)
        t, i = np.nonzero(raster)
        np.savez(folder / "conv_spikes.npz", times=t.astype(np.int64), indices=i.astype(np.int64))
        path = folder / "conv.snn"
        path.write_text(textwrap.dedent("""\
            network conv
            dt = 1 ms
            input x[2, 16, 16] : spikes(file = "conv_spikes.npz")
            population c[8, 16, 16] : IF(threshold = 6.0, reset = zero)
            population out[10] : IF(threshold = 40.0, reset = zero)
            connect x -> c : conv2d(kernel = "conv_k.npy", stride = 1, padding = 1)
            connect c -> out : dense(weights = "conv_w.npy")
            probe out : spikes
            """), encoding="utf-8")
        return path, {"x": raster}
    n = {"dense64": 64, "dense1024": 1024}[case]
    # Integer weights (no zeros) so the chip's integers are the written ones; threshold
    # chosen so the layer fires at a moderate rate with inputs at p = 0.5.
    w = rng.integers(-6, 13, size=(n, n)).astype(np.float32)
    w[w == 0] = 1.0
    np.save(folder / f"{case}_w.npy", w)
    threshold = float(n) * 0.8
    raster = (rng.random((steps, n)) < 0.5).astype(np.uint8)
    path = folder / f"{case}.snn"
    path.write_text(textwrap.dedent(f"""\
        network {case}
        dt = 1 ms
        input x[{n}] : spikes(file = "{case}_spikes.npz")
        population y[{n}] : IF(threshold = {threshold}, reset = zero)
        connect x -> y : dense(weights = "{case}_w.npy")
        probe y : spikes
        """), encoding="utf-8")
    t, i = np.nonzero(raster)
    np.savez(folder / f"{case}_spikes.npz", times=t.astype(np.int64), indices=i.astype(np.int64))
    return path, {"x": raster}


# --------------------------------------------------------------------------- neurocomp


def neurocomp_run(snn: Path, chip, steps: int, rasters: dict[str, np.ndarray], contention: bool = False) -> dict:
    from neurocomp.emulator.run import emulate
    from neurocomp.ir.build import load
    from neurocomp.report.contention import replay
    from neurocomp.report.cost import cost
    from neurocomp.workflows.validate import compile_for

    t0 = time.perf_counter()
    network = load(snn)
    mapping = compile_for(network, chip)
    t1, c1 = time.perf_counter(), time.process_time()
    result = emulate(mapping, steps, {k: v[:steps] for k, v in rasters.items()})
    t2 = time.perf_counter()
    priced = cost(result.counters, chip, mapping,
                  replayed=replay(result, mapping, chip) if contention else None)
    t3, c3 = time.perf_counter(), time.process_time()
    # the estimate's CPU time too: on a loaded machine it is steadier than the wall time
    return {"mapping": mapping, "result": result, "cost": priced,
            "wall_build": t1 - t0, "wall_emulate": t2 - t1, "wall_cost": t3 - t2,
            "wall_estimate": t3 - t1, "wall_total": t3 - t0, "cpu_estimate": c3 - c1}


# --------------------------------------------------------------------------- the SANA-FE side


def n_input_cores(chip, inputs: str) -> int:
    """Input cores per SANA-FE tile: one per neuro core (``core``) or one (``tile``)."""
    return chip.topology.cores_per_tile if inputs == "core" else 1


def sanafe_core(chip, core_id: int, inputs: str = "core") -> int:
    """SANA-FE's index (in ``Architecture.cores()``) of neurocomp core ``core_id``.

    neurocomp: tile = core // cores_per_tile, x = tile % tiles_x, y = tile // tiles_x.
    SANA-FE: tile id = x * tiles_y + y (column by column); each of its tiles has
    cores_per_tile neuro cores and then its input cores.
    """
    topo = chip.topology
    tile, offset = divmod(int(core_id), topo.cores_per_tile)
    y, x = divmod(tile, topo.tiles_x)
    return (x * topo.tiles_y + y) * (topo.cores_per_tile + n_input_cores(chip, inputs)) + offset


def sanafe_input_core(chip, core_id: int, inputs: str = "core") -> int:
    """SANA-FE's index of the input core that feeds neurocomp core ``core_id``: its
    own (``core``) or its tile's (``tile``)."""
    offset = int(core_id) % chip.topology.cores_per_tile if inputs == "core" else 0
    return sanafe_core(chip, int(core_id) - int(core_id) % chip.topology.cores_per_tile, inputs) \
        + chip.topology.cores_per_tile + offset


def arch_yaml(chip, n_input_units: int, inputs: str = "core") -> str:
    """A SANA-FE architecture for ``chip``'s mesh, priced by its active profile."""
    e, t = chip.energy, chip.timing
    topo = chip.topology
    if chip.n_chips != 1 or t.real_time:
        raise SystemExit("the comparison is for one event-driven chip")
    sync = ", ".join(f"{n}: {lat * 1e-9!r}" for n, lat in zip(t.barrier.tiles, t.barrier.latency_ns))
    if t.barrier.interpolation != "step":
        raise SystemExit("SANA-FE's sync table is a step function; the profile's barrier is not")
    j, s = (lambda pj: f"{pj * 1e-12!r}"), (lambda ns: f"{ns * 1e-9!r}")
    hops = (f"energy_north_hop: {j(e.hop_north_south_pj)}, latency_north_hop: {s(t.hop_north_south_ns)}, "
            f"energy_south_hop: {j(e.hop_north_south_pj)}, latency_south_hop: {s(t.hop_north_south_ns)}, "
            f"energy_east_hop: {j(e.hop_east_west_pj)}, latency_east_hop: {s(t.hop_east_west_ns)}, "
            f"energy_west_hop: {j(e.hop_east_west_pj)}, latency_west_hop: {s(t.hop_east_west_ns)}")
    core_attrs = f"{{buffer_position: soma, buffer_inside_unit: false, max_neurons_supported: {chip.core.neurons}}}"
    # the input cores hold copies of inputs, as many as a tile needs, whatever the neuro cores hold
    input_attrs = ("{buffer_position: soma, buffer_inside_unit: false, max_neurons_supported: "
                   f"{max(chip.core.neurons, 1 << 16)}}}")
    zero_soma = ("energy_access_neuron: 0.0, latency_access_neuron: 0.0, energy_update_neuron: 0.0, "
                 "latency_update_neuron: 0.0, energy_spike_out: 0.0, latency_spike_out: 0.0")
    return textwrap.dedent(f"""\
        architecture:
          name: {chip.name}_{chip.active_profile}
          attributes: {{topology: mesh, width: {topo.tiles_x}, height: {topo.tiles_y}, link_buffer_size: 16,
                        sync_model: table, latency_sync: {{{sync}}}}}
          tile:
            - name: tile[0..{topo.tiles_x * topo.tiles_y - 1}]
              attributes: {{{hops}}}
              core:
                - name: neuro_core[0..{topo.cores_per_tile - 1}]
                  attributes: {core_attrs}
                  axon_in:
                    - name: packet_in
                      attributes: {{energy_message_in: {j(e.message_in_pj)}, latency_message_in: {s(t.message_in_ns)}}}
                  soma:
                    - name: lif
                      attributes: {{model: leaky_integrate_fire,
                                    energy_access_neuron: {j(e.neuron_update_inactive_pj)},
                                    latency_access_neuron: {s(t.neuron_update_inactive_ns)},
                                    energy_update_neuron: {j(e.neuron_update_active_pj - e.neuron_update_inactive_pj)},
                                    latency_update_neuron: {s(t.neuron_update_active_ns - t.neuron_update_inactive_ns)},
                                    energy_spike_out: {j(e.spike_out_pj)}, latency_spike_out: {s(t.spike_out_ns)}}}
                  dendrite:
                    - name: accumulate
                      attributes: {{model: accumulator, energy_update: 0.0, latency_update: 0.0}}
                  synapse:
                    - name: synapse
                      attributes: {{model: current_based, energy_process_spike: {j(e.synop_pj)},
                                    latency_process_spike: {s(t.synop_ns)}}}
                  axon_out:
                    - name: packet_out
                      attributes: {{energy_message_out: {j(e.message_out_pj + e.spike_in_tile_pj)},
                                    latency_message_out: {s(t.message_out_ns)}}}
                - name: input_core[0..{n_input_cores(chip, inputs) - 1}]
                  attributes: {input_attrs}
                  axon_in:
                    - name: unused_in
                      attributes: {{energy_message_in: 0.0, latency_message_in: 0.0}}
                  soma:
                    - name: source[0..{n_input_units - 1}]
                      attributes: {{model: input, {zero_soma}}}
                  dendrite:
                    - name: unused_dendrite
                      attributes: {{model: accumulator, energy_update: 0.0, latency_update: 0.0}}
                  synapse:
                    - name: unused_synapse
                      attributes: {{model: current_based, energy_process_spike: 0.0, latency_process_spike: 0.0}}
                  axon_out:
                    - name: host_out
                      attributes: {{energy_message_out: 0.0, latency_message_out: 0.0}}
        """)


def sanafe_spec(mapping, chip, rasters: dict[str, np.ndarray], steps: int, folder: Path,
                timing_model: str = "simple", inputs: str = "core") -> Path:
    """Write what the SANA-FE driver needs (spec.json + spec.npz); returns the json path.

    One SANA-FE neuron group per (population, core), and per (input, input core) for the
    input copies, so that a block of synapses between two groups that is complete can use
    SANA-FE's fastest call (``connect_neurons_dense``); other blocks are given as pairs.
    """
    m = mapping
    n_comp = m.n_comp
    if (m.comp_pop < 0).any():
        raise SystemExit("relay compartments are not translated (not needed for Loihi)")
    # Every synapse as (source, target compartment, integer weight in units of 2**input_shift).
    src_of_route = np.repeat(np.arange(m.n_sources, dtype=np.int64), np.diff(m.route_ptr))
    per_axon = np.diff(m.axon_syn_ptr)
    syn_axon = np.repeat(np.arange(m.n_axons, dtype=np.int64), per_axon)
    axon_src = np.full(m.n_axons, -1, dtype=np.int64)
    axon_src[m.route_axon.astype(np.int64)] = src_of_route
    if (axon_src[per_axon > 0] < 0).any():
        raise SystemExit("an axon without a source")
    w = m.syn_weight.astype(np.int64)
    e = m.axon_weight_exp.astype(np.int64)[syn_axon]
    weight = np.where(e >= 0, w << np.maximum(e, 0), w >> np.maximum(-e, 0)).astype(np.float64)
    src = axon_src[syn_axon]
    dst = m.syn_target.astype(np.int64)
    comp_core = m.comp_core.astype(np.int64)
    params = m.params
    full_decay = (1 << chip.numerics.decay.bits) - chip.numerics.decay.offset_u
    if not ((params["du"] == full_decay).all() and (params["dv"] == 0).all()):
        raise SystemExit("the comparison needs IF neurons whose current lasts one step (du full, dv 0)")
    if (params["bias_mant"] != 0).any():
        raise SystemExit("biases are not translated")

    groups: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    # Neuron groups: the compartments of one population on one core, in index order.
    group_of = np.empty(n_comp, dtype=np.int64)
    local_of = np.empty(n_comp, dtype=np.int64)
    for p, pop in enumerate(m.population_names):
        for core in np.unique(comp_core[m.comp_pop == p]):
            comps = np.nonzero((m.comp_pop == p) & (comp_core == core))[0]
            comps = comps[np.argsort(m.comp_index[comps])]
            name = f"{pop}#{int(core)}"
            group_of[comps] = len(groups)
            local_of[comps] = np.arange(comps.size)
            groups.append({"name": name, "kind": "lif", "size": int(comps.size),
                           "core": sanafe_core(chip, int(core), inputs)})
            arrays[f"threshold.{name}"] = params["vth_mant"][comps].astype(np.float64)
    # Input copies: one per (input, input core feeding targets of it): per destination
    # core (``inputs="core"``) or per destination tile (``"tile"``).
    src_group = np.where(src < n_comp, group_of[np.minimum(src, n_comp - 1)], -1)
    src_local = np.where(src < n_comp, local_of[np.minimum(src, n_comp - 1)], -1)
    feeder = np.array([sanafe_input_core(chip, c, inputs) for c in range(int(comp_core.max(initial=0)) + 1)],
                      dtype=np.int64)[comp_core[dst]]
    unit = 0
    input_fired = np.zeros(steps, dtype=np.int64)
    for pop, offset in m.input_offset.items():
        lo = n_comp + int(offset)
        size = m.network.populations[pop].size
        raster = np.asarray(rasters[pop][:steps]).reshape(steps, size) != 0
        mine = (src >= lo) & (src < lo + size)
        for core in np.unique(feeder[mine]):
            name = f"{pop}@{int(core)}"
            here = mine & (feeder == core)
            src_group[here] = len(groups)
            src_local[here] = src[here] - lo
            groups.append({"name": name, "kind": "input", "size": size, "unit_offset": unit,
                           "core": int(core)})
            arrays[f"spikes.{name}"] = raster
            input_fired += raster.sum(axis=1)
        unit += size
    # Edges: the synapses between two groups; complete blocks as dense matrices.
    n_groups = len(groups)
    key = src_group * n_groups + group_of[dst]
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    edges = []
    for k, block in enumerate(np.split(order, bounds) if order.size else []):
        gs, gd = divmod(int(key[block[0]]), n_groups)
        n_src, n_dst = groups[gs]["size"], groups[gd]["size"]
        i, j = src_local[block], local_of[dst[block]]
        dense = block.size == n_src * n_dst and np.unique(i * n_dst + j).size == block.size
        edges.append({"src": groups[gs]["name"], "dst": groups[gd]["name"], "dense": bool(dense)})
        if dense:
            matrix = np.zeros((n_src, n_dst), dtype=np.float64)
            matrix[i, j] = weight[block]
            arrays[f"edge{k}.w"] = matrix
        else:
            arrays[f"edge{k}.src"], arrays[f"edge{k}.dst"], arrays[f"edge{k}.w"] = i, j, weight[block]
    arch = folder / "arch.yaml"
    arch.write_text(arch_yaml(chip, max(unit, 1), inputs), encoding="utf-8")
    np.savez(folder / "spec.npz", **arrays)
    spec = {"arch": str(arch), "arrays": str(folder / "spec.npz"), "steps": steps, "groups": groups,
            "edges": edges, "timing_model": timing_model,
            # SANA-FE counts the input copies' spikes among its fired neurons
            "input_fired": input_fired.tolist()}
    path = folder / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


# The driver runs inside SANA-FE's own environment: it reads the spec, builds the
# network with SANA-FE's Python API, runs it and prints one JSON line.
DRIVER = r'''
import json, sys, time
import numpy as np
import sanafe

spec = json.load(open(sys.argv[1]))
data = np.load(spec["arrays"])
t0 = time.perf_counter()
arch = sanafe.load_arch(spec["arch"])
cores = arch.cores()
net = sanafe.Network()
groups = {}
for g in spec["groups"]:
    name, core = g["name"], cores[g["core"]]
    if g["kind"] == "lif":
        thresholds = data["threshold." + name]
        shared = {"reset": 0.0, "reset_mode": "hard", "input_decay": 0.0, "leak_decay": 1.0}
        uniform = bool((thresholds == thresholds[0]).all())
        if uniform:
            shared["threshold"] = float(thresholds[0])
        group = net.create_neuron_group(name, g["size"], model_attributes=shared)
        for i, neuron in enumerate(group.neurons):
            if not uniform:
                neuron.set_attributes(model_attributes={"threshold": float(thresholds[i])})
            neuron.map_to_core(core)
    else:
        spikes = data["spikes." + name]
        group = net.create_neuron_group(name, g["size"])
        for i, neuron in enumerate(group.neurons):
            neuron.set_attributes(soma_hw_name="source[%d]" % (g["unit_offset"] + i),
                                  model_attributes={"spikes": spikes[:, i].tolist()})
            neuron.map_to_core(core)
    groups[name] = group
for k, e in enumerate(spec["edges"]):
    if e["dense"]:
        groups[e["src"]].connect_neurons_dense(groups[e["dst"]], {"weight": data["edge%d.w" % k].ravel().tolist()})
    else:
        pairs = list(zip(data["edge%d.src" % k].tolist(), data["edge%d.dst" % k].tolist()))
        groups[e["src"]].connect_neurons_sparse(groups[e["dst"]], {"weight": data["edge%d.w" % k].tolist()}, pairs)
t1 = time.perf_counter()
chip = sanafe.SpikingChip(arch)
chip.load(net)
t2 = time.perf_counter()
res = chip.sim(spec["steps"], timing_model=spec["timing_model"], perf_trace=True)
t3 = time.perf_counter()
perf = res["perf_trace"]
print(json.dumps({
    "energy": res["energy"], "sim_time": res["sim_time"], "packets_sent": res["packets_sent"],
    "neurons_updated": res["neurons_updated"], "neurons_fired": res["neurons_fired"],
    "step_energy": perf["total_energy"], "step_time": perf["sim_time"], "fired": perf["fired"],
    "wall_build": t1 - t0, "wall_load": t2 - t1, "wall_sim": t3 - t2}))
'''


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} and installing sanafe into it", file=sys.stderr)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "sanafe", "numpy"], check=True)
    return python


def sanafe_run(python: Path, spec: Path, folder: Path) -> dict:
    driver = folder / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    proc = subprocess.run([str(python), str(driver), str(spec)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"SANA-FE failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main


def fmt(value: float, unit: str) -> str:
    from neurocomp.report.report import si

    return si(value, unit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    parser.add_argument("--steps", type=int, default=20, help="steps per run (default 20)")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and case; medians are shown")
    parser.add_argument("--venv", default="/tmp/sanafe-venv", help="SANA-FE's virtual environment")
    parser.add_argument("--timing", choices=("simple", "detailed"), default="simple",
                        help="SANA-FE's timing model; with 'detailed', neurocomp replays contention "
                             "(neurocomp.report.contention) and the wall times compare with and without it")
    parser.add_argument("--neurons-per-core", type=int, default=None,
                        help="compile for cores of at most this many neurons (default: the chip's 1,024), "
                             "to spread a network over many cores and tiles so that packets cross links")
    parser.add_argument("--inputs", choices=("core", "tile"), default="core",
                        help="SANA-FE's stand-in input cores: one per neuro core, which then feeds only its "
                             "own core (default), or one per tile, whose one link then carries every input "
                             "packet of the tile (SANA-FE's detailed model queues them there)")
    args = parser.parse_args(argv)
    from neurocomp.chip.load import load_chip

    python = ensure_venv(Path(args.venv))
    chip = load_chip("loihi", profile="sanafe")
    if args.neurons_per_core:
        chip = chip.model_copy(update={"core": chip.core.model_copy(update={"neurons": args.neurons_per_core})})
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.steps} steps; medians of {args.runs} runs; "
          f"{chip.core.neurons} neurons per core at most")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            folder = Path(tmp) / case
            folder.mkdir()
            snn, rasters = write_case(case, folder, args.steps)
            detailed = args.timing == "detailed"
            neurocomp_run(snn, chip, args.steps, rasters, detailed)  # warm Numba's cache and the tables
            nc_runs, plain_runs = [], []
            for _ in range(args.runs):  # interleaved: with and without the replay
                nc_runs.append(neurocomp_run(snn, chip, args.steps, rasters, detailed))
                plain_runs.append(neurocomp_run(snn, chip, args.steps, rasters, False))
            nc = nc_runs[-1]
            spec = sanafe_spec(nc["mapping"], chip, rasters, args.steps, folder, args.timing, args.inputs)
            sf_runs = [sanafe_run(python, spec, folder) for _ in range(args.runs)]
            sf = sf_runs[-1]
            spec_data = json.loads(spec.read_text(encoding="utf-8"))
            row = compare(case, nc, nc_runs, sf, sf_runs, args.steps, spec_data["input_fired"])
            row["wall_nc_plain_estimate"] = statistics.median(r["wall_estimate"] for r in plain_runs)
            row["wall_nc_plain"] = statistics.median(r["wall_total"] for r in plain_runs)
            row["cpu_nc_estimate"] = statistics.median(r["cpu_estimate"] for r in nc_runs)
            row["cpu_nc_plain_estimate"] = statistics.median(r["cpu_estimate"] for r in plain_runs)
            row["latency_nc_plain"] = plain_runs[-1]["cost"].latency_s / args.steps
            rows.append(row)
    print_table(rows)
    if args.timing == "detailed":
        print("latency per step, SANA-FE detailed vs neurocomp without and with the contention replay:")
        for r in rows:
            print(f"  {r['case']}: SANA-FE {fmt(r['latency_sf'], 's')}; neurocomp {fmt(r['latency_nc_plain'], 's')} "
                  f"({r['latency_nc_plain'] / r['latency_sf']:.2f}), with replay {fmt(r['latency_nc'], 's')} "
                  f"({r['latency_nc'] / r['latency_sf']:.2f}); estimate wall with/without replay "
                  f"{r['wall_nc_estimate'] / r['wall_nc_plain_estimate']:.2f}x "
                  f"({r['wall_nc_estimate'] * 1e3:.1f} / {r['wall_nc_plain_estimate'] * 1e3:.1f} ms), CPU "
                  f"{r['cpu_nc_estimate'] / r['cpu_nc_plain_estimate']:.2f}x "
                  f"({r['cpu_nc_estimate'] * 1e3:.1f} / {r['cpu_nc_plain_estimate'] * 1e3:.1f} ms), whole run "
                  f"{r['wall_nc'] / r['wall_nc_plain']:.2f}x")
    return 0


def compare(case: str, nc: dict, nc_runs: list, sf: dict, sf_runs: list, steps: int,
            input_fired: list[int]) -> dict:
    c = nc["cost"]
    result = nc["result"]
    counters = result.counters
    nc_spikes = int(sum(ev.count for ev in result.spikes.values() if not ev.is_input))
    nc_per_step = np.zeros(steps, dtype=np.int64)
    for ev in result.spikes.values():
        if not ev.is_input:
            nc_per_step += np.bincount(ev.times, minlength=steps)[:steps]
    # SANA-FE's 'fired' counts the input copies too: take their spikes away.
    sf_per_step = np.asarray(sf["fired"], dtype=np.int64) - np.asarray(input_fired, dtype=np.int64)
    same_spikes = bool(np.array_equal(nc_per_step, sf_per_step))
    nc_energy = c.energy_pj * 1e-12 / steps
    sf_energy = float(sf["energy"]["total"]) / steps
    nc_latency = c.latency_s / steps
    sf_latency = float(sf["sim_time"]) / steps
    return {
        "case": case, "cores": int(counters.core_ids.size), "tiles": c.tiles_used,
        "spikes_nc": nc_spikes, "spikes_sf": int(sf_per_step.sum()), "same_spikes": same_spikes, "packets_nc": int(counters.messages_out.sum() + counters.spikes_in.sum()),
        "packets_sf": int(sf["packets_sent"]),
        "energy_nc": nc_energy, "energy_sf": sf_energy,
        "latency_nc": nc_latency, "latency_sf": sf_latency,
        "wall_nc": statistics.median(r["wall_total"] for r in nc_runs),
        "wall_nc_estimate": statistics.median(r["wall_estimate"] for r in nc_runs),
        "wall_sf": statistics.median(r["wall_build"] + r["wall_load"] + r["wall_sim"] for r in sf_runs),
        "wall_sf_sim": statistics.median(r["wall_load"] + r["wall_sim"] for r in sf_runs),
        "breakdown": {k: statistics.median(r[k] for r in nc_runs)
                      for k in ("wall_build", "wall_emulate", "wall_cost")},
        "sf_breakdown": {k: statistics.median(r[k] for r in sf_runs) for k in ("wall_build", "wall_load", "wall_sim")},
        "sf": sf, "nc_cost": c,
    }


def print_table(rows: list[dict]) -> None:
    head = ("case", "cores", "spikes nc / SANA-FE", "energy/step nc", "SANA-FE", "diff", "latency/step nc", "SANA-FE", "ratio",
            "wall nc", "SANA-FE", "ratio", "estimate nc", "SANA-FE", "ratio")
    print(" | ".join(head))
    for r in rows:
        print(" | ".join([
            r["case"], f"{r['cores']} on {r['tiles']} tiles",
            f"{r['spikes_nc']:,} / {r['spikes_sf']:,} ({'same' if r['same_spikes'] else 'DIFFERENT'} per step)",
            fmt(r["energy_nc"], "J"), fmt(r["energy_sf"], "J"),
            f"{100 * (r['energy_nc'] - r['energy_sf']) / r['energy_sf']:+.2f} %",
            fmt(r["latency_nc"], "s"), fmt(r["latency_sf"], "s"), f"{r['latency_nc'] / r['latency_sf']:.2f}",
            f"{r['wall_nc']:.3f} s", f"{r['wall_sf']:.3f} s", f"{r['wall_sf'] / r['wall_nc']:.1f}x",
            f"{r['wall_nc_estimate'] * 1e3:.1f} ms", f"{r['wall_sf_sim'] * 1e3:.1f} ms",
            f"{r['wall_sf_sim'] / r['wall_nc_estimate']:.1f}x",
        ]))
    print("wall time, medians: neurocomp = parse + compile, emulate, price; SANA-FE = build network, load, simulate")
    for r in rows:
        b, f = r["breakdown"], r["sf_breakdown"]
        print(f"  {r['case']}: neurocomp {b['wall_build']:.3f} + {b['wall_emulate']:.4f} + {b['wall_cost']:.4f} s; "
              f"SANA-FE {f['wall_build']:.3f} + {f['wall_load']:.3f} + {f['wall_sim']:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
