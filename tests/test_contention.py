"""The contention replay (neurocomp.report.contention): queues worked out by hand, and
its place in the cost model. Its agreement with SANA-FE's detailed timing model is
checked in test_contention_vs_sanafe (slow; benchmarks/bench_sanafe.py --timing detailed)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.report.contention import Replay, _replay_kernel, _turn_fraction, replay
from neurocomp.report.cost import cost, price_runs

ROOT = Path(__file__).resolve().parent.parent


def _three_in_a_row(link_ns: float, max_pairs: int = 1 << 22):
    """Three cores in a 3 x 1 mesh, one per tile; core 0 fires sources 0 and 1, core 1
    fires source 2, every spike one packet to core 2 costing it 5 ns."""
    spk_t = np.array([0, 0, 0], dtype=np.int64)
    spk_s = np.array([0, 1, 2], dtype=np.int64)
    spk_core = np.array([0, 0, 1], dtype=np.int64)
    spk_turn = np.zeros(3)
    pk_ptr = np.array([0, 1, 2, 3], dtype=np.int64)
    pk_dst = np.array([2, 2, 2], dtype=np.int64)
    pk_work = np.array([5.0, 5.0, 5.0])
    soma = np.zeros((1, 3))
    send = np.array([[2.0, 1.0, 0.0]])  # core 0 sends two packets, core 1 one
    xy = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [2, 0, 0, 0]], dtype=np.int64)
    # spike_out, message_out, spike_in_tile, hop E-W, hop N-S, interchip hop, link, chip link, router
    times = np.array([0.0, 1.0, 1.0, 10.0, 0.0, 0.0, link_ns, 0.0, 0.0])
    src_core = np.array([0, 0, 1], dtype=np.int64)
    return _replay_kernel(1, spk_t, spk_s, spk_core, spk_turn, pk_ptr, pk_dst, pk_work, src_core, soma, send, xy,
                          times, 3, 1, 3, 1, max_pairs)


def test_receiver_takes_packets_in_arrival_order():
    # arrivals: core 1's packet 1 + 1 + 10 = 12 ns; core 0's two packets leave at 1 and
    # 2 ns and fly 1 + 2 x 10: 22 and 23 ns. Core 2 serves 12-17, 22-27, 27-32.
    critical, network = _three_in_a_row(link_ns=5.0)
    assert critical.tolist() == [32.0]
    # the east link out of tile 1 carries all three packets: 3 x 5 ns
    assert network.tolist() == [15.0]


def test_a_congested_link_makes_the_step_longer():
    # 20 ns per packet: the link into tile 2 needs 60 ns for the step's three packets
    critical, network = _three_in_a_row(link_ns=20.0)
    assert network.tolist() == [60.0] and critical.tolist() == [60.0]


def test_cost_uses_the_replayed_critical_path():
    import neurocomp as nc

    chip = load_chip("loihi", profile="sanafe")
    mapping = nc.compile(ROOT / "examples" / "mnist_mlp.snn", chip="loihi", profile="sanafe")
    run = nc.run(mapping, steps=10)
    r = replay(run, mapping, chip)
    plain = cost(run.counters, chip, mapping)
    queued = cost(run.counters, chip, mapping, replayed=r)
    assert queued.step_latency_ns == pytest.approx(r.critical_ns + plain.barrier_ns)
    assert sum(queued.latency_by_kind_ns.values()) == pytest.approx(queued.latency_ns)
    assert queued.latency_by_kind_ns["contention"] == pytest.approx(queued.latency_ns - plain.latency_ns)
    assert queued.energy_by_kind_pj["synaptic"] == plain.energy_by_kind_pj["synaptic"]
    assert price_runs([run], chip, mapping, contention=True).latency_ns == pytest.approx(queued.latency_ns)
    # a real-time chip takes a tick per step: nothing to replay
    tn = load_chip("truenorth")
    with pytest.raises(Exception, match="real time"):
        replay(run, mapping, tn)
    assert isinstance(r, Replay) and (r.network_ns >= 0).all()


@pytest.mark.slow
@pytest.mark.skipif(not Path(os.environ.get("SANAFE_VENV", "/tmp/sanafe-venv"), "bin", "python").exists(),
                    reason="SANA-FE's venv is missing (benchmarks/bench_sanafe.py creates it)")
def test_contention_vs_sanafe_detailed(capsys):
    spec = importlib.util.spec_from_file_location("bench_sanafe", ROOT / "benchmarks" / "bench_sanafe.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_sanafe", bench)
    spec.loader.exec_module(bench)
    assert bench.main(["--timing", "detailed", "--cases", "mnist,recurrent,conv", "--runs", "1",
                       "--venv", os.environ.get("SANAFE_VENV", "/tmp/sanafe-venv")]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "with replay" in ln]
    assert len(lines) == 3
    for ln in lines:
        ratio = float(ln.split("with replay")[1].split("(")[1].split(")")[0])
        assert 0.75 <= ratio <= 1.25, ln


@pytest.mark.slow
@pytest.mark.skipif(not Path(os.environ.get("SANAFE_VENV", "/tmp/sanafe-venv"), "bin", "python").exists(),
                    reason="SANA-FE's venv is missing (benchmarks/bench_sanafe.py creates it)")
def test_contention_vs_sanafe_detailed_spread_over_tiles(capsys):
    # 32 neurons per core: 63 and 65 cores on 16 and 20 tiles, packets cross links and
    # routers (link_ns, router_ns from Davies 2018's 3.44 Gspike/s per tile); mnist_mlp
    # at 8 per core: 18 cores on 5 tiles
    spec = importlib.util.spec_from_file_location("bench_sanafe", ROOT / "benchmarks" / "bench_sanafe.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_sanafe", bench)
    spec.loader.exec_module(bench)
    venv = os.environ.get("SANAFE_VENV", "/tmp/sanafe-venv")
    assert bench.main(["--timing", "detailed", "--cases", "recurrent,conv", "--neurons-per-core", "32",
                       "--runs", "1", "--venv", venv]) == 0
    assert bench.main(["--timing", "detailed", "--cases", "mnist", "--neurons-per-core", "8",
                       "--runs", "1", "--venv", venv]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "with replay" in ln]
    assert len(lines) == 3
    for ln in lines:
        ratio = float(ln.split("with replay")[1].split("(")[1].split(")")[0])
        assert 0.75 <= ratio <= 1.25, ln


def test_replay_never_exceeds_the_serial_bound_without_congestion(tmp_path):
    # Without queues on the mesh, a core's last packet arrives by the end of its sender's
    # work plus its flight, and is done after the receiver's own work: so the replayed
    # step is at most the contention-free one (sending + receiving + flight added up).
    spec = importlib.util.spec_from_file_location("bench_silicon", ROOT / "benchmarks" / "bench_silicon.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_silicon", bench)
    spec.loader.exec_module(bench)
    from neurocomp.emulator.run import emulate
    from neurocomp.ir.build import load
    from neurocomp.workflows.validate import compile_for

    chip = load_chip("loihi", profile="sanafe")
    snn, raster = bench.write_kws(tmp_path)
    mapping = compile_for(load(snn), chip)
    run = emulate(mapping, 20, {"features": raster[:20]})
    assert run.counters.core_ids.size >= 3  # neurons of several cores send to other cores
    r = replay(run, mapping, chip)
    plain = cost(run.counters, chip, mapping)
    bound = plain.step_latency_ns - plain.barrier_ns
    assert (r.critical_ns <= np.maximum(bound, r.network_ns) + 1e-6).all()
    assert (r.critical_ns > 0).all()


def test_turn_fraction_by_hand():
    # core 0 holds compartments 1 and 3, core 1 holds 0 and 2, core 2 holds 4
    assert _turn_fraction(np.array([1, 0, 1, 0, 2])).tolist() == [0.5, 0.5, 1.0, 1.0, 1.0]
    # cores listed out of order and with gaps
    assert _turn_fraction(np.array([5, 5, 5, 2])).tolist() == [1 / 3, 2 / 3, 1.0, 1.0]


def _relay_case(tmp_path):
    """A Loihi variant whose neurons may reach one destination each (as TrueNorth's), so
    that the compiler builds relays: ``a`` fans out to ``b`` and ``c`` on other cores."""
    from neurocomp.emulator.run import emulate
    from neurocomp.ir.build import load
    from neurocomp.workflows.validate import compile_for

    chip = load_chip("loihi", profile="measured")
    chip = chip.model_copy(update={
        "core": chip.core.model_copy(update={"neurons": 16}),
        "connectivity": chip.connectivity.model_copy(update={"destinations_per_neuron": 1})})
    rng = np.random.default_rng(5)
    raster = (rng.random((12, 20)) < 0.3).astype(np.uint8)
    t, i = np.nonzero(raster)
    np.savez(tmp_path / "x.npz", times=t.astype(np.int64), indices=i.astype(np.int64))
    (tmp_path / "relay.snn").write_text(
        "network relay\ndt = 1 ms\n"
        'input x[20] : spikes(file = "x.npz")\n'
        "population a[16] : IF(threshold = 2.0, reset = zero)\n"
        "population b[16] : IF(threshold = 2.0, reset = zero)\n"
        "population c[16] : IF(threshold = 2.0, reset = zero)\n"
        "connect x -> a : random(p = 0.5, weight = 1.0, seed = 1)\n"
        "connect a -> b : random(p = 0.5, weight = 1.0, seed = 2)\n"
        "connect a -> c : random(p = 0.5, weight = 1.0, seed = 3)\n", encoding="utf-8")
    mapping = compile_for(load(tmp_path / "relay.snn"), chip)
    return chip, mapping, emulate(mapping, 12, {"x": raster})


def test_relays_are_replayed_one_step_after_their_neuron(tmp_path):
    from neurocomp.report.contention import _spikes, _with_relays

    chip, mapping, result = _relay_case(tmp_path)
    assert mapping.n_relays > 0
    # the derived relay firings are exactly the emulator's: every compartment's spikes
    # (counters, relays included) minus the neurons' spikes (the run's spike trains)
    neurons = sum(ev.count for name, ev in result.spikes.items() if name != "x")
    spk_t, spk_s = _spikes(result, mapping)
    t, s = _with_relays(mapping, spk_t, spk_s, result.steps)
    n_relay_spikes = int(t.size - spk_t.size)
    assert n_relay_spikes > 0
    assert n_relay_spikes == int(result.counters.spikes_out.sum()) - neurons
    per_step = np.bincount(t[s < mapping.n_comp], minlength=result.steps)
    assert np.array_equal(per_step, result.counters.spikes_out.sum(axis=1))
    # every core's receiving work (counted by the emulator, relayed packets included)
    # fits in the replayed step: a core fed only through relays is not left out
    r = replay(result, mapping, chip)
    T = chip.timing.times_ns
    receive = (result.counters.spikes_in * T["message_in"] + result.counters.synops * T["synop"]).max(axis=1)
    assert (r.critical_ns >= receive - 1e-6).all()


@pytest.mark.parametrize("link_ns", [0.0, 2.0, 30.0])
def test_routes_walked_per_pair_or_per_packet_load_the_mesh_alike(link_ns):
    # up to max_pairs (sender, receiver) pairs the links are loaded once per pair and
    # step (count x service time); beyond it, once per packet: the same queues
    by_pair = _three_in_a_row(link_ns)
    per_packet = _three_in_a_row(link_ns, max_pairs=0)
    assert np.array_equal(by_pair[0], per_packet[0]) and np.array_equal(by_pair[1], per_packet[1])
    # the east link out of tile 0 carries two packets, the next one three
    assert by_pair[1][0] == pytest.approx(3 * link_ns)


def _served_in_order(arr, work):
    """A core's last packet done, packets taken one by one in a stable sort's order."""
    done = 0.0
    for q in np.argsort(arr, kind="stable"):
        done = max(done, arr[q]) + work[q]
    return done


@pytest.mark.parametrize("shape", ["spread", "runs", "bunched", "equal", "few"])
def test_a_core_serves_its_packets_in_arrival_order(shape):
    from neurocomp.report.contention import _served

    rng = np.random.default_rng(3)
    if shape == "spread":  # random arrivals over the step, host packets at 0
        arr = np.concatenate([np.zeros(40), rng.uniform(0, 5e4, 3000)])
    elif shape == "runs":  # what a step gives: one rising run per sender core
        arr = np.concatenate([np.cumsum(rng.uniform(0, 30, 200)) + rng.uniform(0, 99) for _ in range(30)])
    elif shape == "bunched":  # all but one within 1 ns
        arr = np.concatenate([rng.uniform(0, 1, 2000), [1e6]])
    elif shape == "equal":
        arr = np.full(100, 17.0)
    else:
        arr = rng.uniform(0, 100, 7)
    work = rng.uniform(0.5, 40.0, arr.size)
    exact = _served_in_order(arr, work)
    for n_bins in (64, 512, 4096):
        span = arr.max() * 1.001 + 1.0
        lo = 3 * n_bins  # the core's bins sit among other cores' bins
        first = np.full(5 * n_bins, np.inf)
        binned = np.zeros(5 * n_bins)
        b = lo + np.minimum((arr * (n_bins / span)).astype(np.int64), n_bins - 1)
        np.minimum.at(first, b, arr)
        np.add.at(binned, b, work)
        done = _served(first, binned, lo, n_bins)
        # early by less than a bin's width; exact when no bin holds two arrival times
        assert exact - span / n_bins < done <= exact + 1e-9 * exact
        if all(np.unique(arr[b == v]).size == 1 for v in np.unique(b)):
            assert done == pytest.approx(exact, rel=1e-12)
        assert (first == np.inf).all() and (binned == 0).all()  # cleared for the next step
