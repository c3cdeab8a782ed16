"""Partition: every core within every limit, counted by hand; splitting, packing, relays.

``hand_quantize`` (also imported by the place/route/pipeline tests) builds a
QuantizedNetwork by hand, as the brief for the compiler asks until the quantize pass
lands: integer weights = round(float weights * scale), parameters as int arrays.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.chip.packing import synapse_memory_bits
from neurocomp.compiler.lower import lower
from neurocomp.compiler.partition import check_delays, partition, population_usage
from neurocomp.diagnostics import CapacityError, QuantizationError, Source, Span
from neurocomp.ir.connectors import AllToAll, Dense, OneToOne, Random, Sparse
from neurocomp.ir.encoders import SpikeFile
from neurocomp.ir.network import Network, NeuronModel, Population, Projection
from neurocomp.ir.quantized import QPopulation, QProjection, QuantizationReport, QuantizedNetwork
from neurocomp.ir.synapses import Synapses
from neurocomp.ir.values import ArrayValue

ROOT = Path(__file__).resolve().parent.parent
# nengo-loihi's splitting rule is a benchmark baseline, not part of the compiler.
sys.path.insert(0, str(ROOT / "benchmarks"))
from baselines import nengo_loihi_cores  # noqa: E402
TINY = ROOT / "tests" / "data" / "tiny.toml"
LIF = NeuronModel(family="lif", beta=0.9)


# --------------------------------------------------------------------------- helpers


def hand_quantize(net: Network, chip, *, weight_bits: int | None = None, scale: float | None = None,
                  synapses: dict[str, Synapses] | None = None, params: dict | None = None) -> QuantizedNetwork:
    """A QuantizedNetwork made by hand: weights ``round(w * scale)`` (scale so the largest
    weight is the largest integer of ``weight_bits``), one parameter set per population."""
    syn = lower(net) if synapses is None else synapses
    family = chip.neuron.family
    bits = weight_bits or chip.numerics.weights.max_bits
    qprojs = {}
    for proj in net.projections:
        s = syn[proj.name]
        w = np.asarray(s.weights, dtype=np.float64)
        if family == "truenorth":
            iw = np.ones(w.shape, dtype=np.int64)
        else:
            top = float(np.abs(w).max()) if w.size else 1.0
            k = scale if scale is not None else (2 ** (bits - 1) - 1) / (top or 1.0)
            iw = np.clip(np.round(w * k), -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1).astype(np.int64)
        qs = Synapses(projection=s.projection, n_pre=s.n_pre, n_post=s.n_post, indptr=s.indptr,
                      indices=s.indices, weights=iw, delay=s.delay, delays=s.delays)
        axon_type = np.zeros(s.n_pre, dtype=np.int8) if family == "truenorth" else None
        qprojs[proj.name] = QProjection(name=proj.name, pre=proj.pre, post=proj.post, synapses=qs,
                                        weight_bits=bits, axon_type=axon_type)
    qpops = {}
    for name, pop in net.populations.items():
        n = pop.size
        if pop.is_input:
            qpops[name] = QPopulation(name=name, size=n, is_input=True)
            continue
        if family == "loihi_cuba_lif":
            base = dict(du=4096, dv=410, vth_mant=100, bias_mant=0, bias_exp=0, refractory=0)
        elif family == "truenorth":
            base = dict(leak=0, threshold=1, neg_threshold=0, reset_value=0, reset_mode=0, leak_reversal=0,
                        threshold_mask=0)
        else:
            base = dict(threshold=1, act_bits=1, scale_shift=0)
        base.update((params or {}).get(name, {}))
        arrays = {k: np.full(n, v, dtype=np.int64) if np.isscalar(v) else np.asarray(v, dtype=np.int64)
                  for k, v in base.items()}
        if family == "truenorth":
            arrays["axon_weights"] = np.tile(np.array([1, -1, 0, 0], dtype=np.int64), (n, 1))
        qpops[name] = QPopulation(name=name, size=n, is_input=False, params=arrays)
    return QuantizedNetwork(network=net, chip=chip, family=family, populations=qpops, projections=qprojs,
                            report=QuantizationReport())


def span_at(text: str, needle: str) -> Span:
    src = Source("net.snn", text)
    start = text.index(needle)
    return Span(start, start + len(needle), src)


def make_net(pops: dict[str, int | tuple], projs: list[tuple], inputs: tuple[str, ...] = (),
             name: str = "t") -> Network:
    """Populations (name -> size) and projections ``(name, pre, post, connector[, delay])``."""
    populations = {}
    for pname, size in pops.items():
        shape = size if isinstance(size, tuple) else (size,)
        if pname in inputs:
            enc = SpikeFile(times=np.zeros(0, np.int64), indices=np.zeros(0, np.int64), path="x.npz")
            populations[pname] = Population(name=pname, shape=shape, encoder=enc)
        else:
            populations[pname] = Population(name=pname, shape=shape, neuron=LIF)
    projections = tuple(Projection(name=p[0], pre=p[1], post=p[2], connector=p[3],
                                   delay_steps=p[4] if len(p) > 4 else 0) for p in projs)
    return Network(name=name, populations=populations, projections=projections)


def dense(n_post: int, n_pre: int, value: float = 1.0) -> Dense:
    return Dense(ArrayValue(np.full((n_post, n_pre), value), "w.npy"))


@pytest.fixture(scope="module")
def tiny():
    return load_chip(TINY)


# --------------------------------------------------------------------------- the limits, by hand


def test_a_population_larger_than_a_core_is_split_sequentially(tiny):
    # 40 neurons, 16 per core: 16 + 16 + 8.
    net = make_net({"a": 40}, [])
    part = partition(hand_quantize(net, tiny), tiny, strategy="sequential")
    assert [[(s.population, s.start, s.stop) for s in c.slices] for c in part.cores] == \
        [[("a", 0, 16)], [("a", 16, 32)], [("a", 32, 40)]]
    assert [c.usage["neurons"] for c in part.cores] == [16, 16, 8]
    assert part.node_local.tolist() == list(range(16)) * 2 + list(range(8))


def test_small_populations_share_a_core(tiny):
    # a (5) -> b (6) -> c (4): 15 neurons, one core; nengo-loihi would take three.
    net = make_net({"a": 5, "b": 6, "c": 4}, [("ab", "a", "b", AllToAll(1.0)), ("bc", "b", "c", AllToAll(1.0))])
    q = hand_quantize(net, tiny)
    part = partition(q, tiny)
    assert part.n_cores == 1
    assert [(s.population, s.start, s.stop) for s in part.cores[0].slices] == [("a", 0, 5), ("b", 0, 6),
                                                                              ("c", 0, 4)]
    assert nengo_loihi_cores(q, tiny) == 3
    assert part.report.cut_routes == 0
    # Fan-in: 5 axons (ab) + 6 axons (bc); fan-out: a 5 neurons x 1 + b 6 x 1.
    assert part.cores[0].usage["axons_in"] == 11
    assert part.cores[0].usage["axons_out"] == 11


def test_synapse_memory_by_hand_dense_and_sparse(tiny):
    # tiny packing: groups of 8 synapses, header 4 + 6 bits, 64-bit words, index 4/6/8 bits.
    # inp (3) -> a (10) all-to-all with 8-bit weights: every axon reaches all 10
    # compartments -> dense format, per axon: a group of 8 (8*8 + 10 = 74 -> 2 words)
    # and one of 2 (2*8 + 10 = 26 -> 1 word): 3 words = 192 bits; 3 axons = 576 bits.
    net = make_net({"inp": 3, "a": 10}, [("p", "inp", "a", AllToAll(1.0))], inputs=("inp",))
    part = partition(hand_quantize(net, tiny), tiny)
    assert part.cores[0].usage["synapse_memory_bits"] == 576
    assert part.cores[0].usage["synapse_memory_bits"] == 3 * synapse_memory_bits(tiny, [10], weight_bits=8)
    # one_to_one: each axon reaches 1 of 10 -> sparse, 10 targets need 4 index bits:
    # 1 * (8 + 4) + 10 = 22 bits -> one word per axon, 10 axons = 640 bits.
    net = make_net({"inp": 10, "a": 10}, [("p", "inp", "a", OneToOne(1.0))], inputs=("inp",))
    part = partition(hand_quantize(net, tiny), tiny)
    assert part.cores[0].usage["synapse_memory_bits"] == 640
    assert part.cores[0].usage["axons_in"] == 10


def test_fan_in_limit_splits_a_population(tiny):
    # 40 inputs all-to-all onto 4 neurons: 40 fan-in axons > 32 -> a single neuron does
    # not fit; the error names the population, the limit and both numbers.
    text = "population a[4] : LIF()"
    net = make_net({"inp": 40, "a": 4}, [("p", "inp", "a", AllToAll(1.0))], inputs=("inp",))
    pops = dict(net.populations)
    pops["a"] = Population(name="a", shape=(4,), neuron=LIF, span=span_at(text, "population a[4]"))
    net = Network(name="t", populations=pops, projections=net.projections)
    with pytest.raises(CapacityError) as info:
        partition(hand_quantize(net, tiny), tiny)
    assert info.value.render() == (
        "net.snn:1:1: error: population 'a' needs fan-in 40 axons on one core for a single neuron "
        "(neuron 0), limit 32 on tiny\n"
        " 1 | population a[4] : LIF()\n"
        "   | ^^^^^^^^^^^^^^^\n"
        "  = help: reduce fan-in (partial-sum neurons are not supported yet)")


def test_no_split_names_the_population_and_says_what_to_do(tiny):
    net = make_net({"a": 20}, [])
    with pytest.raises(CapacityError) as info:
        partition(hand_quantize(net, tiny), tiny, allow_split=False)
    assert info.value.render() == (
        "population 'a': error: population 'a' needs 20 compartments on one core, limit 16 on tiny\n"
        "= help: allow splitting, add chips with --chips, or reduce its size")


def test_fan_in_of_a_slice_counts_distinct_sources(tiny):
    # 30 inputs, each to 2 of 32 neurons (i -> i, i + 1 ... a band): fan-in grows by about
    # one axon per neuron, so fan-in (32) never binds before the 16 neurons do.
    pre = np.repeat(np.arange(30), 2)
    post = np.stack([np.arange(30), np.arange(30) + 2], axis=1).reshape(-1)
    sp = Sparse(pre=pre, post=post, weights=np.ones(60), path="s.npz")
    net = make_net({"inp": 30, "a": 32}, [("p", "inp", "a", sp)], inputs=("inp",))
    part = partition(hand_quantize(net, tiny), tiny, strategy="sequential")
    # Expected: the sources of neurons 0..15 are 0..15 (i -> i) and 0..13 (i -> i + 2):
    # 16 distinct; of neurons 16..31: 16..29 and 14..29 -> 16 distinct.
    assert [c.usage["axons_in"] for c in part.cores] == [16, 16]


def test_config_registers_limit_distinct_parameter_sets(tiny):
    # tiny has 4 compartment registers: 8 neurons with 8 different decays need 2 cores.
    net = make_net({"a": 8}, [])
    q = hand_quantize(net, tiny, params={"a": {"du": np.arange(8) * 100}})
    part = partition(q, tiny)
    assert [c.usage["config_registers.compartment"] for c in part.cores] == [4, 4]
    assert [c.usage["neurons"] for c in part.cores] == [4, 4]


def test_fan_out_is_measured_and_the_cut_redone(tiny):
    # a (16) -> b (64) all-to-all: b spans 4 cores of 16, so every neuron of a has 4 routes
    # (64 for the core) > 32 fan-out: the first cut reserves 1 route per neuron, the
    # measurement finds 4, and the second cut puts at most 8 neurons of a on a core.
    net = make_net({"a": 16, "b": 64}, [("ab", "a", "b", AllToAll(1.0))])
    chip = load_chip(TINY, chips=4)
    part = partition(hand_quantize(net, chip, weight_bits=1), chip, strategy="sequential")
    assert part.report.passes >= 2
    for core in part.cores:
        assert core.usage["axons_out"] <= 32
    a_cores = [c for c in part.cores if any(s.population == "a" for s in c.slices)]
    assert all(sum(s.size for s in c.slices if s.population == "a") <= 8 for c in a_cores)


def test_delays_out_of_range_are_a_quantization_error(tiny):
    text = "connect a -> b : one_to_one(weight = 1, delay = 9)"
    net = make_net({"a": 2, "b": 2}, [("ab", "a", "b", OneToOne(1.0), 9)])
    proj = Projection(name="ab", pre="a", post="b", connector=OneToOne(1.0), delay_steps=9,
                      span=span_at(text, "connect a -> b"))
    net = Network(name="t", populations=net.populations, projections=(proj,))
    with pytest.raises(QuantizationError) as info:
        check_delays(hand_quantize(net, tiny), tiny)
    # tiny: min_steps 1, max_steps 8 -> extra delays 0..7.
    assert info.value.render().splitlines()[0] == (
        "net.snn:1:1: error: projection 'ab' has a delay of 9 steps; tiny delays a spike by 0..7 extra "
        "steps (numerics.delay: 1..8 steps, counting the one-step transit)")


def test_population_usage_is_what_one_block_needs(tiny):
    net = make_net({"inp": 3, "a": 20}, [("p", "inp", "a", AllToAll(1.0))], inputs=("inp",))
    use = population_usage(hand_quantize(net, tiny), tiny)
    assert use["a"]["neurons"] == 20 and use["a"]["axons_in"] == 3
    # 20 targets per axon: 2 full groups (8*8+10 = 74 -> 2 words) + 4 (42 -> 1 word) = 5
    # words = 320 bits per axon, dense (every axon reaches all 20).
    assert use["a"]["synapse_memory_bits"] == 3 * 320


# --------------------------------------------------------------------------- graph partitioner


def _permuted_ring(n: int, k: int, seed: int):
    """A ring lattice (each neuron to its k next neighbours), neuron ids shuffled."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    pre = np.repeat(np.arange(n), k)
    post = (pre + np.tile(np.arange(1, k + 1), n)) % n
    return Sparse(pre=perm[pre], post=perm[post], weights=np.ones(pre.size), path="ring.npz")


def test_greedy_cuts_less_traffic_than_sequential_on_a_shuffled_ring():
    chip = load_chip(TINY, chips=4)
    net = make_net({"a": 128}, [("rec", "a", "a", _permuted_ring(128, 2, 1))])
    q = hand_quantize(net, chip, weight_bits=1)
    seq = partition(q, chip, strategy="sequential")
    gre = partition(q, chip, strategy="greedy")
    assert gre.n_cores == seq.n_cores == 8
    # A ring cut into 8 arcs needs about 2 routes out per arc boundary; shuffled order
    # makes nearly every route leave its core.
    assert gre.report.cut_routes < seq.report.cut_routes / 4
    auto = partition(q, chip)
    assert auto.report.strategy == "greedy"
    assert auto.report.baseline_cut_routes == seq.report.cut_routes


def test_every_neuron_is_on_one_core_and_slices_cover_populations():
    chip = load_chip(TINY, chips=4)
    net = make_net({"a": 50, "b": 30}, [("ab", "a", "b", Random(p=0.1, weight=1.0, seed=3)),
                                        ("ba", "b", "a", Random(p=0.1, weight=1.0, seed=4))])
    for strategy in ("sequential", "greedy"):
        part = partition(hand_quantize(net, chip, weight_bits=1), chip, strategy=strategy)
        covered = {"a": np.zeros(50, int), "b": np.zeros(30, int)}
        for core in part.cores:
            for s in core.slices:
                covered[s.population][s.start:s.stop] += 1
        assert all((v == 1).all() for v in covered.values())
        assert (part.node_core >= 0).all()


def _band(n: int, k: int, window: int, seed: int, shuffle: bool) -> Sparse:
    """Each neuron to k distinct targets among its ``window`` neighbours (one per bin);
    with ``shuffle`` the neuron ids are permuted (the same graph, irregular to a
    sequential split)."""
    rng = np.random.default_rng(seed)
    b = window // k
    start = np.clip(np.arange(n) - window // 2, 0, n - window)
    post = (start[:, None] + np.arange(k)[None, :] * b + rng.integers(0, b, size=(n, k))).reshape(-1)
    pre = np.repeat(np.arange(n), k)
    if shuffle:
        perm = rng.permutation(n)
        pre, post = perm[pre], perm[post]
    return Sparse(pre=pre, post=post, weights=np.ones(pre.size), path="band.npz")


def test_breadth_first_finds_the_neighbourhoods_of_a_shuffled_local_network():
    # 160 neurons, 4 targets each within 16 neighbours. In natural order the sequential
    # split is near ideal; shuffled, each core's sources are scattered, fan-in (32) fills
    # first and it needs twice the cores. Cuthill-McKee order recovers the bands.
    chip = load_chip(TINY, chips=4)
    natural = hand_quantize(make_net({"a": 160}, [("rec", "a", "a", _band(160, 4, 16, 1, False))]), chip,
                            weight_bits=1)
    shuffled = hand_quantize(make_net({"a": 160}, [("rec", "a", "a", _band(160, 4, 16, 1, True))]), chip,
                             weight_bits=1)
    ideal = partition(natural, chip, strategy="sequential")
    blind = partition(shuffled, chip, strategy="sequential")
    found = partition(shuffled, chip, strategy="bfs")
    assert blind.n_cores >= 2 * ideal.n_cores
    assert found.n_cores == ideal.n_cores
    assert found.report.cut_routes <= 1.1 * ideal.report.cut_routes < blind.report.cut_routes / 4
    auto = partition(shuffled, chip)
    assert auto.report.strategy == "bfs"
    assert [t[0] for t in auto.report.tried] == ["sequential", "bfs", "greedy"]
    assert auto.report.tried[1] == ("bfs", found.n_cores, found.report.cut_routes, None)


def test_a_core_larger_than_the_sparse_index_reaches_still_partitions():
    # loihi2.toml: 8,192 compartments per core but a 12-bit sparse index (4,096 targets).
    # The partitioner must keep sparse targets within reach (or use the dense format),
    # never stop with the packing rule's ValueError.
    import neurocomp as nc

    chip = nc.load_chip("loihi2")
    assert chip.core.neurons > 2 ** max(chip.core.packing.index_bits)
    mapping = nc.compile(nc.load(Path(__file__).parent.parent / "examples" / "mnist_mlp.snn"), chip=chip)
    for core in mapping.cores:
        assert core.usage["synapse_memory_bits"] <= chip.core.synapse_memory_bits


@pytest.mark.slow
def test_no_split_of_a_population_bigger_than_a_core_reads_no_table_past_its_end(tmp_path):
    # The capacity error prices the whole population on one core; the synapse tables stop
    # at a full core. Numba reads past an array silently (once a segfault, exit 139), so
    # the compile runs with bounds checks on, in a fresh process and cache (about a minute).
    import os
    import subprocess

    (tmp_path / "big.snn").write_text(
        "network big\ndt = 1 ms\n"
        "input stim[4] : rate(value = 1, max_rate = 10 Hz)\n"
        "population a[40] : LIF(beta = 0.9, threshold = 1.0, reset = zero)\n"
        "connect stim -> a : all_to_all(weight = 0.5)\n")
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "neurocomp", "compile", "big.snn", "--chip", str(TINY),
                           "--no-split"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr
    assert "population 'a' needs 40 compartments on one core, limit 16 on tiny" in done.stderr


# --------------------------------------------------------------------------- auto skips refusals


def _lenet_like(tmp_path: Path, c1: int = 6, c2: int = 64, seed: int = 0):
    """A LeNet-like conv net on TrueNorth: 1x28x28 -> conv5 ``c1`` -> pool2 -> conv5 ``c2`` ->
    pool4 -> dense 10. Every conv2 neuron has 25 ``c1`` (at most 256) inputs and every read-out 256, so each
    neuron fits a core; but a p1 neuron feeds ``c2`` x 25 conv2 neurons, whose cores decide
    how many splitter (relay) neurons it needs next to it."""
    import neurocomp as nc

    # One weight per projection: TrueNorth's quantizer then needs one axon per source
    # (no copies), so the cores depend on the connectivity alone.
    rng = np.random.default_rng(seed)
    np.save(tmp_path / "k1.npy", np.full((c1, 1, 5, 5), 0.1))
    np.save(tmp_path / "k2.npy", np.full((c2, c1, 5, 5), 0.05))
    np.save(tmp_path / "fc.npy", np.full((10, c2 * 2 * 2), 0.1))
    np.save(tmp_path / "img.npy", rng.random((1, 28, 28)))
    (tmp_path / "lenet.snn").write_text(f"""network lenet
dt = 1 ms
input img[1, 28, 28] : rate(value = "img.npy", max_rate = 500 Hz, seed = 1)
population c1[{c1}, 24, 24] : IF(threshold = 1.0, reset = zero)
population p1[{c1}, 12, 12] : IF(threshold = 1.0, reset = zero)
population c2[{c2}, 8, 8] : IF(threshold = 1.0, reset = zero)
population p2[{c2}, 2, 2] : IF(threshold = 1.0, reset = zero)
population out[10] : IF(threshold = 1.0, reset = zero)
connect img -> c1 : conv2d(kernel = "k1.npy", stride = 1, padding = 0)
connect c1 -> p1 : sum_pool(size = 2, stride = 2)
connect p1 -> c2 : conv2d(kernel = "k2.npy", stride = 1, padding = 0)
connect c2 -> p2 : sum_pool(size = 4, stride = 4)
connect p2 -> out : dense(weights = "fc.npy")
""")
    from neurocomp.compiler.quantize import quantize

    chip = nc.load_chip("truenorth")
    return quantize(nc.load(tmp_path / "lenet.snn"), chip), chip


def test_auto_skips_a_candidate_that_cannot_fit_and_keeps_searching(tmp_path):
    # The LeNet-like case of issue 11: in network order (and in greedy growth) a p1 neuron's
    # conv2 targets are spread over so many cores that it needs more splitters than a core
    # has compartments; in breadth-first order they are not. ``auto`` used to stop at the
    # first refusal; now it reports it and keeps the candidate that fits.
    qnet, chip = _lenet_like(tmp_path)
    with pytest.raises(CapacityError, match=r"'p1' needs \d+ compartments on one core for a single neuron"):
        partition(qnet, chip, strategy="sequential")
    alone = partition(qnet, chip, strategy="bfs")
    auto = partition(qnet, chip)
    assert auto.report.strategy == "bfs" and auto.n_cores == alone.n_cores
    tried = {t[0]: t for t in auto.report.tried}
    assert list(tried) == ["sequential", "bfs", "greedy"]
    assert tried["bfs"] == ("bfs", alone.n_cores, alone.report.cut_routes, None)
    name, cores, cut, why = tried["sequential"]
    # bfs ran first; the sequential split stopped once it needed more cores than bfs's cut,
    # before the neuron it refuses (a next-fit candidate that cannot win: strategies.BOUNDED)
    assert cores is None and cut is None and why == f"stopped in pass 1: more than the {alone.n_cores:,} cores of bfs"
    assert auto.report.baseline_strategy in (None, "greedy")  # a refused candidate is no baseline


def test_auto_fails_only_when_every_candidate_fails_and_names_the_nearest(tmp_path):
    # With 10 channels before conv2 no order fits: each refuses a p1 neuron that needs more
    # splitters than a core holds, by different amounts. The error is the nearest refusal
    # (the smallest need over the limit), its hint listing the others.
    qnet, chip = _lenet_like(tmp_path, c1=10)
    needs = {}
    for name in ("sequential", "bfs", "greedy"):
        with pytest.raises(CapacityError) as info:
            partition(qnet, chip, strategy=name)
        needs[name] = int(re.search(r"needs (\d+) compartments", info.value.diagnostics[0].message)[1])
    nearest = min(needs, key=lambda n: (needs[n], list(needs).index(n)))
    with pytest.raises(CapacityError) as info:
        partition(qnet, chip)
    (d,) = info.value.diagnostics
    assert d.message.startswith(f"population 'p1' needs {needs[nearest]} compartments on one core")
    assert f"every partition strategy was refused (nearest: {nearest}; " in d.hint
    assert len(set(needs.values())) > 1
    for name in set(needs) - {nearest}:
        if needs[name] != needs[nearest]:
            assert f"{name}: population 'p1' needs {needs[name]} compartments" in d.hint
        else:  # the same need in another order is the same reason, said once
            assert f"{name}: " not in d.hint


def test_auto_refused_everywhere_for_one_reason_says_it_once():
    # Fan-in 300 > 256 axons refuses the same neuron in every order: the error is the one a
    # single strategy gives, not three copies of it.
    chip = load_chip("truenorth")
    qnet = hand_quantize(make_net({"a": 300, "b": 4}, [("ab", "a", "b", dense(4, 300))], inputs=("a",)), chip)
    with pytest.raises(CapacityError) as alone:
        partition(qnet, chip, strategy="sequential")
    with pytest.raises(CapacityError) as auto:
        partition(qnet, chip)
    assert str(auto.value) == str(alone.value)
    assert "population 'b' needs fan-in 300 axons on one core for a single neuron" in str(auto.value)


@pytest.mark.parametrize("n_keys", [1, 7, 1 << 16, (1 << 16) + 1, 1 << 22])
def test_measure_sorts_and_counts_keys_as_numpy_does(n_keys):
    # measure's per-core order (radix sort of 16-bit keys) and traffic pairs (bincount)
    # against numpy's stable argsort and unique, on keys with many ties
    from neurocomp.compiler.partition.measure import count_pairs, stable_order

    rng = np.random.default_rng(n_keys)
    for size in (0, 1, 1000):
        keys = rng.integers(0, min(n_keys, 50) if size == 1000 else n_keys, size=size).astype(np.int32)
        keys[: size // 2] = rng.integers(0, n_keys, size=size // 2)
        assert np.array_equal(stable_order(keys, n_keys), np.argsort(keys, kind="stable"))
        pair, count = count_pairs(keys.astype(np.int64), n_keys)
        want_pair, want_count = np.unique(keys.astype(np.int64), return_counts=True)
        assert np.array_equal(pair, want_pair) and np.array_equal(count, want_count)
