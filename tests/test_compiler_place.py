"""Place: distinct physical cores, costs counted by hand, traffic kept on chip, kinds honoured.

Networks are built so each population fills exactly one tiny core (16 neurons), which
makes the logical cores and the traffic between them easy to write down.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_compiler_partition import TINY, hand_quantize, make_net

import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.compiler.partition import partition
from neurocomp.compiler.place import PLACERS, interchip_weight, place, placement_cost
from neurocomp.diagnostics import CapacityError, UsageError
from neurocomp.ir.connectors import AllToAll, Dense, OneToOne, Sparse
from neurocomp.ir.values import ArrayValue


ROOT = Path(__file__).resolve().parent.parent


def one_synapse() -> Sparse:
    return Sparse(pre=np.array([0]), post=np.array([0]), weights=np.array([1.0]), path="one.npz")


def pops(n: int) -> dict[str, int]:
    return {f"p{i}": 16 for i in range(n)}


def test_hops_and_cost_by_hand_and_the_greedy_placer_beats_row_major():
    # tiny: core 0, 1 on tile (0, 0); core 2, 3 on tile (1, 0). Three full cores:
    # p0 -> p2 with 16 routes, nothing else. Row-major puts p0 on core 0 and p2 on core 2:
    # one east-west hop per route = 16 hops. Greedy puts p2 beside p0 in tile 0: 0 hops.
    chip = load_chip(TINY)
    net = make_net(pops(3), [("a", "p0", "p2", OneToOne(1.0))])
    part = partition(hand_quantize(net, chip), chip, strategy="sequential")
    assert part.n_cores == 3
    naive = place(part, chip, strategy="row_major")
    assert naive.core_id.tolist() == [0, 1, 2]
    assert (naive.report.routes, naive.report.hops, naive.report.cost) == (16, 16, 16)
    assert naive.report.mean_hops == 1.0
    best = place(part, chip, strategy="greedy")
    assert chip.mesh_position(int(best.core_id[0]))[:3] == chip.mesh_position(int(best.core_id[2]))[:3]
    assert (best.report.hops, best.report.cost, best.report.naive_cost) == (0, 0, 16)
    assert best.report.improvement == float("inf")
    assert len(set(best.core_id.tolist())) == 3


def test_cliques_stay_on_their_own_chip():
    # Two rings of four full cores (A = p0, p2, p4, p6; B = p1, p3, p5, p7), 16 routes per
    # ring link, and one single-synapse link p0 -> p1. Two tiny chips of 4 cores: the
    # best placement puts each ring on one chip, so only that one route crosses chips.
    # Row-major (p0..p3 on chip 0) cuts both rings twice: 4 links x 16 = 64 routes.
    chip = load_chip(TINY, chips=2)
    ring_a = [("a01", "p0", "p2"), ("a12", "p2", "p4"), ("a23", "p4", "p6"), ("a30", "p6", "p0")]
    ring_b = [("b01", "p1", "p3"), ("b12", "p3", "p5"), ("b23", "p5", "p7"), ("b30", "p7", "p1")]
    projs = [(n, a, b, OneToOne(1.0)) for n, a, b in ring_a + ring_b] + [("x", "p0", "p1", one_synapse())]
    part = partition(hand_quantize(net := make_net(pops(8), projs), chip), chip, strategy="sequential")
    assert part.n_cores == 8
    naive = place(part, chip, strategy="row_major")
    assert naive.report.interchip_routes == 64
    for strategy in ("greedy", "anneal"):
        placed = place(part, chip, strategy=strategy)
        assert placed.report.interchip_routes == 1, strategy
        assert placed.report.cost < naive.report.cost
        chips_of = placed.core_id // chip.topology.cores_per_chip
        assert len(set(chips_of[[0, 2, 4, 6]].tolist())) == 1 and len(set(chips_of[[1, 3, 5, 7]].tolist())) == 1
    assert net.name == "t"


def test_interchip_weight_and_cost_formula():
    chip = load_chip(TINY, chips=2)
    assert interchip_weight(chip) == chip.topology.tiles_x + chip.topology.tiles_y == 3
    # Core 0 (chip 0, tile 0) to core 6 (chip 1, its tile 1): tiles 0 -> 3 on the system
    # mesh = 3 links, one of them between chips: cost 2 + 3 * 1 = 5.
    ew, ns, ic = chip.hops(0, 6)
    assert (ew, ns, ic) == (2, 0, 1)


def test_the_annealer_is_seeded_and_never_worse_than_greedy():
    chip = load_chip(TINY, chips=4)
    rng = np.random.default_rng(0)
    projs = []
    for k in range(12):
        a, b = rng.choice(10, size=2, replace=False)
        projs.append((f"x{k}", f"p{a}", f"p{b}", one_synapse()))
    part = partition(hand_quantize(make_net(pops(10), projs), chip), chip, strategy="sequential")
    g = place(part, chip, strategy="greedy")
    a1 = place(part, chip, strategy="anneal", seed=3)
    a2 = place(part, chip, strategy="anneal", seed=3)
    assert a1.core_id.tolist() == a2.core_id.tolist()
    assert a1.report.cost <= g.report.cost
    assert placement_cost(part, chip, a1.core_id.astype(np.int64))[3] == a1.report.cost


def test_more_cores_than_the_system_says_how_many_chips():
    chip = load_chip(TINY)
    part = partition(hand_quantize(make_net({"a": 100}, []), chip), chip)
    assert part.n_cores == 7
    with pytest.raises(CapacityError) as info:
        place(part, chip)
    assert info.value.render() == ("error: network 't' needs 7 cores, the system has 4 (1 chip(s) of tiny x 4 "
                                   "cores)\n= help: use --chips 2")
    big = partition(hand_quantize(make_net({"a": 300}, []), chip), chip)
    with pytest.raises(CapacityError) as info:
        place(big, chip)
    assert "5 chips would hold it, but tiny allows at most 4" in info.value.render()


def test_unknown_strategy_lists_the_known_ones():
    chip = load_chip(TINY)
    part = partition(hand_quantize(make_net({"a": 4}, []), chip), chip)
    with pytest.raises(UsageError) as info:
        place(part, chip, strategy="anneall")
    assert "did you mean 'anneal'?" in info.value.render()
    assert set(PLACERS) == {"row_major", "greedy", "anneal"}


def test_akida_dense_layers_go_to_fully_connected_processors():
    # inp[64] -> a[200] dense (4-bit): 200 units x (64 inputs x 6 stored bits / 8 + 16) =
    # 12,800 B fit an FNP3's 44,800 B (the vendor's layout, neurocomp/targets/akida/mapping.py).
    # Akida's processor groups fill core ids in file order: 54 {CNP1, CNP2}, then 18
    # {CNP1, FNP3}, 4 {CNP1, FNP2}.
    chip = load_chip("akida")
    w = ArrayValue(np.ones((200, 64)), "w.npy")
    net = make_net({"inp": 64, "a": 200}, [("fc", "inp", "a", Dense(w))], inputs=("inp",))
    part = partition(hand_quantize(net, chip, weight_bits=4), chip)
    assert [c.processor_kinds for c in part.cores] == [("FNP3",)]
    for strategy in PLACERS:
        placed = place(part, chip, strategy=strategy)
        assert all(54 <= c < 72 for c in placed.core_id.tolist())
        assert set(placed.processor_kind) == {"FNP3"}


def test_akida_with_too_many_dense_cores_names_the_processor_kind():
    chip = load_chip("akida")
    # 23 dense layers of 64 x 1,200 4-bit weights: 1,200 x 64 B = 76,800 B each, more than an
    # NP's 44,800 B of SRAM, so each needs an FNP2 (weights in external memory): 4 on AKD1000.
    projs = []
    sizes = {"inp": 64}
    for k in range(23):
        sizes[f"l{k}"] = 1200
        projs.append((f"fc{k}", "inp", f"l{k}", Dense(ArrayValue(np.ones((1200, 64)), "w.npy"))))
    with pytest.raises(CapacityError) as info:
        partition(hand_quantize(make_net(sizes, projs, inputs=("inp",)), chip, weight_bits=4), chip)
    text = info.value.render()
    assert "layer 'l4': error: not enough NPs of type FNP2: the model's fully connected layers need 23, akida has 4" in text
    assert "its weights (76,800 B) exceed an NP's 44,800 B of SRAM" in text


def test_all_to_all_between_two_cores_reports_its_routes():
    chip = load_chip(TINY)
    net = make_net(pops(2), [("ab", "p0", "p1", AllToAll(1.0))])
    part = partition(hand_quantize(net, chip, weight_bits=1), chip, strategy="sequential")
    # Every neuron of p0 has one route to p1's core: 16 routes.
    assert part.report.total_routes == 16 and part.report.cut_routes == 16
    assert place(part, chip).report.routes == 16


# --------------------------------------------------------------------------- cost with the cores used


@pytest.mark.parametrize("name, chips", [("loihi", 6), ("truenorth", 4), ("akida", 3)])
def test_coordinates_computed_from_ids_match_the_mesh_positions(name, chips):
    """The vectorised table against the per-core definition (mesh_position, global_tile)."""
    chip = load_chip(name, chips=chips)
    ids = np.arange(chip.total_cores, dtype=np.int64)
    expected = np.array([(*chip.global_tile(c), *chip.chip_position(chip.mesh_position(c).chip))
                         for c in ids.tolist()], dtype=np.int64)
    assert np.array_equal(chip.coordinates(), expected)
    assert np.array_equal(chip.coordinates_of(ids[::7]), expected[::7])


def test_placement_cost_grows_with_the_cores_used_not_the_chips_declared():
    """The issue's case: 3 neurons on 16,384 Loihi chips took 25 s (a Python loop over all
    2,097,152 cores); the placer now searches a corner of the system twice the chips used."""
    import time

    net = nc.load(ROOT / "examples" / "chain.snn")
    small = nc.compile(net, chip=load_chip("loihi", chips=1))
    start = time.perf_counter()
    huge = nc.compile(net, chip=load_chip("loihi", chips=16384))
    assert time.perf_counter() - start < 5.0  # 1 chip: about 10 ms; 16,384 chips: the same order
    assert huge.comp_core.tolist() == small.comp_core.tolist() == [0, 0, 0]
    assert huge.chip.n_chips == 16384


def test_a_placement_in_the_window_is_priced_on_the_whole_system(tmp_path):
    """Eight full cores of a ring need 2 tiny chips; on a 4 x 4 system of them the placer
    searches the 2 x 2 corner (chips 0, 1, 4 and 5 of the row-major tiling). The ids it
    gives are the system's: inside that corner, and the hops its report gives are those
    the whole system's geometry counts for them."""
    wide = tmp_path / "wide.toml"
    wide.write_text("\n".join(l for l in TINY.read_text().splitlines() if not l.startswith("max_chips")))
    chip = load_chip(wide, chips=16)
    assert (chip.system.chips_x, chip.system.chips_y) == (4, 4)
    ring = [(f"r{i}", f"p{i}", f"p{(i + 1) % 8}", OneToOne(1.0)) for i in range(8)]
    part = partition(hand_quantize(make_net(pops(8), ring), chip), chip, strategy="sequential")
    assert part.n_cores == 8
    for strategy in PLACERS:
        placed = place(part, chip, strategy=strategy)
        chips = {int(c) // 4 for c in placed.core_id.tolist()}
        assert chips <= {0, 1, 4, 5} and len(set(placed.core_id.tolist())) == 8
        routes, hops, inter, cost = placement_cost(part, chip, placed.core_id.astype(np.int64))
        assert (placed.report.routes, placed.report.hops, placed.report.interchip_routes, placed.report.cost) \
            == (routes, hops, inter, cost)
