"""Akida's NP mapping (neurocomp/targets/akida/mapping.py) against hand-counted NPs.

Every expectation below is counted by hand from the vendor's rules, which
``tests/test_akida_vendor_map.py`` checks against BrainChip's own mapper (slow, skipped
without the engine): a fully connected layer is one FNP (FNP3 when its weights fit an
NP's 44,800 B, FNP2 with external weights otherwise), a unit's weights take
``ceil(inputs / 32) * 32 * b / 8 + 16`` bytes (b = 6 bits for 4-bit weights), a
convolution is split over 32 x 256 spatial partitions and its filters, ``all_nps``
spreads filters (the smallest common count per NP that fits the 78 NPs), ``minimal``
packs them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.family import Family, register, unregister
from neurocomp.chip.load import load_chip
from neurocomp.cli import main as cli_main
from neurocomp.compiler.partition import partition
from neurocomp.diagnostics import CapacityError, QuantizationError, UsageError
from neurocomp.targets.akida.mapping import Layer, fnp_weight_bytes, map_layers

ROOT = Path(__file__).resolve().parent.parent

AKIDA = load_chip("akida")


def fc(name, n_in, units, act=1):
    return Layer(name=name, kind="dense", in_shape=(1, 1, n_in), filters=units, act_bits=act)


def conv(name, x, y, c, filters, k=3, **kw):
    return Layer(name=name, kind="conv", in_shape=(x, y, c), filters=filters, kernel=(k, k), **kw)


def kinds(plan, layer):
    out: dict[str, int] = {}
    for n in plan.of_layer(layer):
        out[n.kind] = out.get(n.kind, 0) + 1
    return out


# --------------------------------------------------------------------------- the plan


def test_mlp_784_256_10_is_one_fnp2_with_external_weights_and_one_fnp3():
    plan = map_layers((fc("h", 784, 256), fc("o", 256, 10, act=None)), AKIDA)
    # 784 inputs round up to 800: 800 x 6 / 8 + 16 = 616 B a unit, x 256 = 157,696 B (> 44,800: FNP2).
    # 256 inputs: 256 x 6 / 8 + 16 = 208 B a unit, x 10 = 2,080 B (an FNP3).
    assert plan.by_kind() == {"FNP2": 1, "FNP3": 1}
    (h,), (o,) = plan.of_layer("h"), plan.of_layer("o")
    assert (h.kind, h.weight_bytes, h.external_bytes) == ("FNP2", 0, 157_696)
    assert (o.kind, o.weight_bytes, o.external_bytes) == ("FNP3", 2_080, 0)
    assert fnp_weight_bytes(784, 256, 4) == 157_696


def test_the_mlp_the_generic_partitioner_refused_fits_in_three_nps():
    # 4096-2048-2048-10 was refused as needing 221 cores; the vendor maps it on 3 NPs.
    plan = map_layers((fc("fc1", 4096, 2048), fc("fc2", 2048, 2048), fc("fc3", 2048, 10, act=None)), AKIDA)
    assert [kinds(plan, x) for x in ("fc1", "fc2", "fc3")] == [{"FNP2": 1}, {"FNP2": 1}, {"FNP3": 1}]
    # 4096 x 6 / 8 + 16 = 3,088 B a unit x 2,048; 2048 x 6 / 8 + 16 = 1,552 B a unit.
    assert [n.external_bytes for n in plan.nps] == [3_088 * 2048, 1_552 * 2048, 0]
    assert plan.nps[2].weight_bytes == 1_552 * 10


def test_all_nps_spreads_filters_with_one_count_per_np_for_every_convolution():
    layers = (conv("c1", 32, 32, 8, 64), conv("c2", 32, 32, 64, 64), conv("c3", 32, 32, 64, 32))
    # 1 filter a NP: 64 + 64 + 32 = 160 NPs; 2: 32 + 32 + 16 = 80; 3: 22 + 22 + 11 = 55 <= 78.
    spread = map_layers(layers, AKIDA, "all_nps")
    assert [len(spread.of_layer(x.name)) for x in layers] == [22, 22, 11]
    assert sorted({n.filters for n in spread.of_layer("c1")}) == [1, 3]  # 21 x 3 + 1 = 64
    assert map_layers(layers, AKIDA, "minimal").by_kind() == {"CNP1": 3}


def test_fully_connected_nps_leave_fewer_nps_for_the_convolutions():
    # conv 200 filters + fc (FNP2) + fc (FNP3): 76 NPs left; 2 a NP -> 100, 3 a NP -> 67.
    plan = map_layers((conv("c", 16, 16, 8, 200), fc("f", 16 * 16 * 200, 200), fc("g", 200, 10, act=None)), AKIDA)
    assert kinds(plan, "c") == {"CNP1": 67}
    assert kinds(plan, "f") == {"FNP2": 1} and kinds(plan, "g") == {"FNP3": 1}


def test_a_wide_input_is_split_into_spatial_partitions():
    # 64 rows / 32 = 2 partitions. all_nps: 2 x ceil(128 / f) <= 78 first at f = 4 (64 NPs).
    layer = (conv("c", 64, 64, 8, 128),)
    assert len(map_layers(layer, AKIDA, "all_nps").nps) == 64
    assert len(map_layers(layer, AKIDA, "minimal").nps) == 2
    # 300 rows: 10 partitions of 16 filters (minimal); all_nps: 10 x ceil(16 / 3) = 60.
    assert len(map_layers((conv("c", 300, 16, 8, 16),), AKIDA, "minimal").nps) == 10
    assert len(map_layers((conv("c", 300, 16, 8, 16),), AKIDA, "all_nps").nps) == 60


def test_minimal_puts_as_many_filters_on_an_np_as_its_weight_memory_and_504_allow():
    # 3x3 x 64 channels x 4 bits = 288 B a filter: 155 fit 44,800 B, so 256 filters take 2 NPs, 512 take 4.
    assert [n.filters for n in map_layers((conv("c", 16, 16, 64, 256),), AKIDA, "minimal").nps] == [128, 128]
    assert len(map_layers((conv("c", 16, 16, 64, 512),), AKIDA, "minimal").nps) == 4
    # 3x3 x 8 channels: 36 B a filter, the 504-filter limit binds: 1,024 filters on 3 NPs.
    assert len(map_layers((conv("c", 16, 16, 8, 1024),), AKIDA, "minimal").nps) == 3
    assert len(map_layers((conv("c", 16, 16, 8, 504),), AKIDA, "minimal").nps) == 1


def test_more_fnp2_layers_than_the_chip_has_are_refused_naming_the_kind_and_the_fix():
    layers = tuple(fc(f"fc{i}", 1024, 1024) for i in range(6))  # 1,024 x 784 B each: FNP2
    with pytest.raises(CapacityError) as info:
        map_layers(layers, AKIDA)
    text = info.value.render()
    assert "layer 'fc4'" in text and "not enough NPs of type FNP2: the model's fully connected layers need 6, akida has 4" in text
    assert "make fully connected layers smaller" in text


@pytest.mark.parametrize("layers, rule", [
    ((conv("c", 16, 16, 8, 16, same_padding=False),), "only padding same is supported"),
    ((conv("c", 16, 16, 8, 16, k=9),), "kernel size must be 1, 3, 5, 7"),
    ((conv("c", 16, 16, 8, 16, k=5, stride=(2, 2)),), "stride 2 is only supported for 3x3 kernels"),
    ((conv("c", 16, 16, 8, 16, pool="max", pool_size=(3, 3)), conv("d", 8, 8, 16, 16)), "max pooling size must be 1 or 2"),
    ((conv("c", 16, 16, 8, 16, pool="max", pool_size=(2, 2)), fc("f", 1024, 10)), "must be followed by another convolutional"),
    ((fc("a", 64, 16, act=None), fc("b", 16, 10)), "cannot follow a layer whose output needs more than 4 bits"),
    ((fc("f", 200_000, 10),), "input dimensions are too large to fit in a FNP"),
    ((conv("c", 8, 8, 449, 16),), "filter size is too big to fit in a CNP"),
    ((conv("c", 64, 16, 8, 16, pool="global_avg"),), "with average pooling, input height cannot exceed 32"),
    ((Layer(name="ic", kind="input_conv", in_shape=(32, 32, 8), filters=16, kernel=(3, 3), weight_bits=8, in_bits=8),),
     "input_channels must be 1 or 3"),
])
def test_a_layer_the_vendor_refuses_is_refused_with_its_rule_and_a_fix(layers, rule):
    with pytest.raises((QuantizationError, CapacityError)) as info:
        map_layers(layers, AKIDA)
    d = info.value.diagnostics[0]
    assert rule in d.message and d.message.startswith("Akida rule broken")
    assert d.where and d.where.startswith("layer '") and d.hint


def test_unknown_map_mode_suggests_the_vendors():
    with pytest.raises(UsageError) as info:
        map_layers((fc("h", 64, 10),), AKIDA, "minimall")
    assert "did you mean 'minimal'?" in info.value.render()


# --------------------------------------------------------------------------- through the compiler


def write(tmp_path, text, arrays):
    for name, a in arrays.items():
        np.save(tmp_path / name, np.asarray(a, dtype=np.float64))
    (tmp_path / "net.snn").write_text(text)
    return tmp_path / "net.snn"


def ints(rng, shape):
    w = rng.integers(-7, 8, size=shape)
    w[w == 0] = 1
    return w


MLP = """network mlp
dt = 1 ms
input x[784] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population h[256] : LIF(beta = 0, threshold = 3)
population o[10] : LI(beta = 0)
connect x -> h : dense(weights = "w1.npy")
connect h -> o : dense(weights = "w2.npy")
"""

CONV = """network cnn
dt = 1 ms
input x[8, 16, 16] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population c[32, 16, 16] : LIF(beta = 0, threshold = 3)
population gap[32, 1, 1] : LIF(beta = 0, threshold = 0.5)
population o[10] : LI(beta = 0)
connect x -> c : conv2d(kernel = "k.npy", padding = 1)
connect c -> gap : avg_pool(size = 16, stride = 16)
connect gap -> o : dense(weights = "w.npy")
"""


@pytest.fixture
def mlp(tmp_path):
    rng = np.random.default_rng(0)
    return write(tmp_path, MLP, {"w1.npy": ints(rng, (256, 784)), "w2.npy": ints(rng, (10, 256))})


@pytest.fixture
def cnn(tmp_path):
    rng = np.random.default_rng(1)
    return write(tmp_path, CONV, {"k.npy": ints(rng, (32, 8, 3, 3)), "w.npy": ints(rng, (10, 32))})


def test_compiled_mlp_takes_one_np_per_layer_of_the_vendors_kinds(mlp):
    m = nc.compile(mlp, "akida")
    kinds_of = m.compile_report["processor_kinds"]
    held = {c.core_id: {s.population for s in c.slices} for c in m.cores}
    assert sorted(held.values(), key=sorted) == [{"h"}, {"o"}]  # never two layers on one NP
    by_pop = {next(iter(p)): kinds_of[str(c)] for c, p in held.items()}
    assert by_pop == {"h": "FNP2", "o": "FNP3"}
    usage = {next(iter({s.population for s in c.slices})): c.usage for c in m.cores}
    assert usage["h"]["external_bytes"] == 157_696 and usage["h"]["weight_sram_bytes"] == 0
    assert usage["o"]["weight_sram_bytes"] == 2_080


def test_conv_weights_are_counted_once_and_the_pooling_shares_its_layers_nps(cnn):
    m = nc.compile(cnn, "akida", partition="minimal")
    cores = {frozenset(s.population for s in c.slices): c for c in m.cores}
    assert set(cores) == {frozenset({"c", "gap"}), frozenset({"o"})}
    # 32 filters x 3 x 3 x 8 channels x 4 bits / 8 = 1,152 B, where the unrolled
    # synapses (16 x 16 positions x 32 filters x up to 72 taps, 4 bits each) would need ~290 kB.
    assert cores[frozenset({"c", "gap"})].usage["weight_sram_bytes"] == 1_152
    spread = nc.compile(cnn, "akida")  # all_nps: 32 filters -> 32 NPs of 1 filter (+ the fc's FNP3)
    assert len(spread.cores) == 33


def test_a_generic_strategy_maps_in_the_vendors_default_mode_and_says_so(cnn):
    m = nc.compile(cnn, "akida", partition="greedy")
    part = m.compile_report["partition"]
    assert part["strategy"] == "akida all_nps" and len(m.cores) == 33
    assert any("partition strategy 'greedy' packs neurons by synapses" in n for n in part["notes"])
    with pytest.raises(UsageError) as info:
        nc.compile(cnn, "akida", partition="minimall")
    assert "no Akida map mode 'minimall'" in info.value.render() and "did you mean 'minimal'?" in info.value.render()


def test_compile_prints_nps_by_kind_sram_and_external_memory(mlp, capsys):
    assert cli_main(["compile", str(mlp), "--chip", "akida"]) == 0
    out = capsys.readouterr().out
    assert ("Akida NPs (all_nps): 2 NP(s): 1 FNP2, 1 FNP3; weight SRAM 2,080 B, input SRAM 132 B, "
            "external memory 157,696 B") in out
    assert cli_main(["compile", str(mlp), "--chip", "akida", "--partition", "minimal"]) == 0
    assert "Akida NPs (minimal)" in capsys.readouterr().out


def test_the_hrc_is_named_apart_from_the_nps_and_counted_in_the_mappings_cores():
    # digits_cnn_akida: an 8-bit input conv (the HRC), conv2 over 16 CNP1 (one filter each,
    # all_nps), the read-out on an FNP3: 17 NPs, and 18 cores in neurocomp's mapping.
    m = nc.compile(nc.load(ROOT / "examples" / "digits_cnn_akida.snn"), "akida")
    first = m.compile_report["partition"]["notes"]
    line = next(n for n in first if n.startswith("Akida NPs"))
    assert "17 NP(s): 16 CNP1, 1 FNP3; plus the HRC (18 cores in the mapping)" in line
    assert len(m.cores) == 18


def test_a_population_fed_by_a_read_out_is_refused_in_the_vendors_words(tmp_path):
    text = MLP.replace('population o[10] : LI(beta = 0)\n',
                       'population o[10] : LI(beta = 0)\npopulation p[4] : LIF(beta = 0, threshold = 1)\n')
    text += 'connect o -> p : dense(weights = "w3.npy")\n'
    rng = np.random.default_rng(0)
    path = write(tmp_path, text, {"w1.npy": ints(rng, (256, 784)), "w2.npy": ints(rng, (10, 256)),
                                  "w3.npy": ints(rng, (4, 10))})
    with pytest.raises(QuantizationError) as info:
        nc.compile(path, "akida")
    text = info.value.render()
    assert "layer 'p'" in text and "cannot follow a layer whose output needs more than 4 bits ('o' has no activation)" in text
    assert "give 'o' an activation" in text


# --------------------------------------------------------------------------- cost per NP


def test_events_and_the_synaptic_work_they_cause_are_counted_per_np(mlp):
    m = nc.compile(mlp, "akida")
    r = nc.run(m, 6)
    kinds_of = m.compile_report["processor_kinds"]
    col = {kinds_of[str(int(c))]: k for k, c in enumerate(r.counters.core_ids)}
    # Every input event reaches all 256 units of h (no zero weight): its FNP2 does 256
    # synaptic operations per event; every event of h reaches the 10 units of o on the FNP3.
    x_events = r.spikes["x"].count
    h_events = r.spikes["h"].count
    assert x_events > 0 and h_events > 0
    assert int(r.counters.synops[:, col["FNP2"]].sum()) == 256 * x_events
    assert int(r.counters.synops[:, col["FNP3"]].sum()) == 10 * h_events
    assert int(r.counters.spikes_out[:, col["FNP2"]].sum()) == h_events
    priced = nc.price(r, m).cost
    synop_pj = AKIDA.energy.synop_pj
    assert priced.energy_by_core_pj[col["FNP2"]] >= 256 * x_events * synop_pj


def test_every_akida_report_says_its_costs_are_less_certain_than_loihis(mlp):
    m = nc.compile(mlp, "akida")
    rep = nc.price(nc.run(m, 3), m)
    assert "less certain than Loihi's" in rep.to_text(width=200)
    assert "less certain" in rep.to_dict()["caveat"]
    assert load_chip("loihi").cost.caveat is None


# --------------------------------------------------------------------------- the registry hook


def test_a_family_may_declare_its_own_partitioner(mlp):
    """The generic partition() hands a family with a partitioner to it (no if/elif on names)."""
    import dataclasses

    from neurocomp.chip.family import family as family_named
    from neurocomp.compiler.partition import family_strategies
    from neurocomp.compiler.quantize import quantize

    calls = []
    base = family_named("akida")
    toy = Family(name="toy_akida", native="toy", chip_keys=(), quantizer=base.quantizer, kernel=None,
                 partitioner=lambda qnet, chip, strategy: calls.append(strategy) or "partitioned",
                 strategies=("mine",))
    register(toy)
    try:
        qnet = dataclasses.replace(quantize(nc.load(mlp), AKIDA), family="toy_akida")
        assert partition(qnet, AKIDA, strategy="mine") == "partitioned" and calls == ["mine"]
        assert {"all_nps", "minimal", "mine"} <= set(family_strategies())
    finally:
        unregister("toy_akida")
