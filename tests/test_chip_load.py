"""Bundled chips load and say what their sources say; geometry accessors by hand."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from neurocomp.chip.load import bundled_chip_dirs, chip_path, list_chips, load_chip, most_square
from neurocomp.chip.spec import ChipSpec, Hops, MeshPosition, has_number

HERE = Path(__file__).parent
TINY = HERE / "data" / "tiny.toml"
REPO_CHIPS = HERE.parent / "chips"


def _numeric_leaves(chip: ChipSpec):
    from neurocomp.chip.spec import _leaves

    return [(k, v) for k, v in _leaves(chip.model_dump(by_alias=True, exclude={"provenance"}))
            if k != "schema" and has_number(v)]


# --------------------------------------------------------------------------- bundled chips


def test_bundled_chips_are_the_files_in_chips():
    assert list_chips() == sorted(p.stem for p in REPO_CHIPS.glob("*.toml"))
    assert {"loihi", "truenorth", "akida"} <= set(list_chips())
    assert REPO_CHIPS.resolve() in [d.resolve() for d in bundled_chip_dirs()]


@pytest.mark.parametrize("name", list_chips())
def test_bundled_chip_loads_and_is_named_as_its_file(name):
    chip = load_chip(name)
    assert chip.name == name
    assert chip_path(name).name == f"{name}.toml"
    assert chip.active_profile == chip.default_profile


@pytest.mark.parametrize("name", [*list_chips(), str(TINY)])
def test_every_number_has_a_non_empty_source(name):
    chip = load_chip(name)
    leaves = _numeric_leaves(chip)
    assert len(leaves) > 30
    for key, _ in leaves:
        source = chip.source_of(key)
        assert source and source.strip(), key


@pytest.mark.parametrize("name", list_chips())
def test_every_cited_reference_is_declared(name):
    chip = load_chip(name)
    keys = {r.key for r in chip.sources}
    for p in chip.parameters():
        head = p.source.split(":")[0]
        if head in ("assumed", "derived", "user"):
            assert p.source.split(":", 1)[1].strip(), p.key
        else:
            assert re.match(r"[a-z][a-z0-9_]*", p.source).group(0) in keys, (p.key, p.source)


@pytest.mark.parametrize("name", list_chips())
def test_round_trip_through_a_dump(name):
    chip = load_chip(name, profile=None)
    again = ChipSpec.model_validate(chip.model_dump(by_alias=True))
    assert again == chip


def test_chip_spec_is_frozen():
    chip = load_chip("loihi")
    with pytest.raises(ValidationError):
        chip.name = "other"
    with pytest.raises(ValidationError):
        chip.core.neurons = 1


# --------------------------------------------------------------------------- values vs sources


def test_loihi_per_core_limits_match_davies_and_nengo_loihi():
    chip = load_chip("loihi")
    # loihi.md §3.1: MAX_COMPARTMENTS 1024, MAX_IN/OUT_AXONS 4096, MAX_SYNAPSE_BITS 16384*64.
    assert chip.limits() == {
        "neurons": 1024,
        "axons_in": 4096,
        "axons_out": 4096,
        "synapse_memory_bits": 16384 * 64,
        "config_registers.compartment": 32,
        "config_registers.vth": 16,
        "config_registers.synapse": 16,
        "config_registers.stdp_pre": 3,
    }
    assert chip.total_cores == 128 == 8 * 4 * 4
    assert chip.core.synapse_memory_bits // 8 // 1024 == 128  # 128 KiB


def test_loihi_arithmetic_matches_lava_bit_accurate_model():
    n = load_chip("loihi").numerics
    # loihi.md §1.1: u, v 24-bit; u wraps, v saturates; du/dv 12-bit with offsets 1 and 0;
    # vth << 6; 8-bit weights with an exponent; bias 13-bit signed mantissa, 3-bit exponent.
    assert (n.state["u"].bits, n.state["u"].overflow) == (24, "wrap")
    assert (n.state["v"].bits, n.state["v"].overflow) == (24, "saturate")
    assert (n.decay.bits, n.decay.offset_u, n.decay.offset_v) == (12, 1, 0)
    assert (n.threshold.mantissa_bits, n.threshold.shift) == (17, 6)
    assert (n.bias.mantissa_bits, n.bias.exponent_bits, n.bias.signed) == (13, 3, True)
    assert n.input_shift == 6
    assert n.weights.max_bits == 8
    assert n.weights.bits == (1, 2, 3, 4, 5, 6, 8)
    assert (n.weights.exponent_min, n.weights.exponent_max) == (-7, 7)
    assert set(n.weights.sign_modes) == {"mixed", "excitatory", "inhibitory"}


def test_loihi_profiles_davies_default_and_sanafe():
    chip = load_chip("loihi")
    assert chip.default_profile == "davies2018"
    e, t = chip.energy, chip.timing
    # Davies 2018 Table 2.
    assert (e.synop_pj, e.neuron_update_active_pj, e.neuron_update_inactive_pj) == (23.6, 81.0, 52.0)
    assert (e.spike_in_tile_pj, e.hop_east_west_pj, e.hop_north_south_pj) == (1.7, 3.0, 4.0)
    assert (t.synop_ns, t.neuron_update_active_ns, t.neuron_update_inactive_ns) == (3.5, 8.4, 5.3)
    assert (t.spike_in_tile_ns, t.hop_east_west_ns, t.hop_north_south_ns) == (2.1, 4.1, 6.5)
    assert t.barrier_ns(1) == 113.0 and t.barrier_ns(32) == 465.0
    # SANA-FE arch/loihi.yaml (sanafe.md §2): access 51.2 pJ / 6.0 ns, update +21.6 pJ / +3.7 ns.
    s = load_chip("loihi", profile="sanafe")
    assert s.active_profile == "sanafe"
    assert s.energy.synop_pj == 35.5 and s.timing.synop_ns == 3.8
    assert s.energy.neuron_update_inactive_pj == 51.2
    assert s.energy.neuron_update_active_pj == pytest.approx(51.2 + 21.6)
    assert s.timing.neuron_update_active_ns == pytest.approx(6.0 + 3.7)
    assert (s.energy.spike_out_pj, s.energy.message_out_pj) == (69.3, 111.0)
    assert s.energy.hop_north_south_pj == 4.2
    assert s.energy.static_power_mw == 0.0


def test_davies_barrier_interpolates_linearly():
    t = load_chip("loihi").timing
    # Between (1 tile, 113 ns) and (32 tiles, 465 ns): 113 + (16 - 1) / 31 * 352.
    assert t.barrier_ns(16) == pytest.approx(113 + 15 / 31 * 352)
    assert t.barrier_ns(0) == 113.0  # below the table: its first value
    # Between (32, 465) and (24576 = 768 chips x 32 tiles, 16200 ns).
    assert t.barrier_ns(64) == pytest.approx(465 + 32 / 24544 * (16200 - 465))
    assert t.barrier_ns(10**6) == 16200.0


def test_sanafe_barrier_is_a_step_table():
    t = load_chip("loihi", profile="sanafe").timing
    # {1: 0.6 us, 2: 1.0 us, 4: 1.4 us, 29: 1.8 us}: the largest key <= n.
    assert [t.barrier_ns(n) for n in (1, 2, 3, 4, 28, 29, 32)] == [600, 1000, 1000, 1400, 1400, 1800, 1800]


def test_truenorth_core_is_a_256_crossbar_with_one_destination():
    chip = load_chip("truenorth")
    assert chip.total_cores == 4096 == 64 * 64
    assert chip.limits() == {"neurons": 256, "axons_in": 256, "axons_out": 256,
                             "synapse_memory_bits": 256 * 256}
    assert (chip.core.crossbar.axons, chip.core.crossbar.neurons, chip.core.crossbar.synapse_bits) == (256, 256, 1)
    assert chip.connectivity.destinations_per_neuron == 1
    assert chip.connectivity.axon_types == 4
    assert chip.numerics.weights.bits == (9,)
    assert (chip.numerics.delay.min_steps, chip.numerics.delay.max_steps) == (1, 15)
    assert chip.timing.real_time and chip.timing.tick_ns == 1e6
    assert chip.energy.synop_pj == 1.26 and chip.energy.static_power_mw == 66.4
    assert chip.neuron.threshold_compare == ">="


def test_truenorth_26pj_matches_the_70mw_chip_power():
    # Merolla 2014's typical load: 2**20 neurons x 20 Hz x 128 synapses at 26 pJ each is
    # ~70 mW; the profile splits it into passive power and a marginal energy per event.
    e = load_chip("truenorth").energy
    events = 2**20 * 20 * 128
    watts = e.static_power_mw * 1e-3 + events * e.synop_pj * 1e-12
    assert watts == pytest.approx(0.070, abs=0.001)
    assert watts / events * 1e12 == pytest.approx(26.0, rel=0.02)


def test_akida_has_78_usable_nps_with_their_kinds_and_sram():
    chip = load_chip("akida")
    assert chip.total_cores == 78 == 20 * 4 - 2
    assert [(g.kinds, g.count) for g in chip.connectivity.processors] == [
        (("CNP1", "CNP2"), 54), (("CNP1", "FNP3"), 18), (("CNP1", "FNP2"), 4), (("CNP1",), 2)]
    assert (chip.core.sram.input_bytes, chip.core.sram.weight_bytes) == (43008, 44800)
    assert chip.limits()["weight_sram_bytes"] == 44800
    assert "axons_in" not in chip.limits()
    assert chip.numerics.weights.bits == (1, 2, 4)
    assert chip.numerics.weights.input_layer_bits == 8
    assert chip.numerics.activations.bits == (1, 2, 4)
    assert chip.connectivity.layer_kinds["FNP3"] == ("dense",)
    # The reserved (DMA) slots are skipped: core 9 is slot 9, core 10 is slot 12.
    assert chip.mesh_position(9) == MeshPosition(0, 2, 0, 1)
    assert chip.mesh_position(10) == MeshPosition(0, 3, 0, 0)


def test_loihi2_marks_what_is_not_sourced():
    chip = load_chip("loihi2")
    assert chip.core.neurons == 8192
    assumed = [p for p in chip.parameters() if p.source.startswith("assumed:")]
    assert len(assumed) > len(chip.parameters()) / 2


def test_tiny_chip_for_splitting_tests():
    chip = load_chip(TINY)
    assert chip.name == "tiny"
    assert chip.total_cores == 4
    assert chip.limits()["neurons"] == 16
    assert chip.limits()["axons_in"] == 32
    assert chip.neuron.family == "loihi_cuba_lif"
    assert load_chip(str(TINY)) == chip


# --------------------------------------------------------------------------- geometry


def test_mesh_position_numbers_cores_tile_by_tile_row_major():
    chip = load_chip("loihi")  # 8 x 4 tiles of 4 cores
    assert chip.mesh_position(0) == MeshPosition(0, 0, 0, 0)
    assert chip.mesh_position(3) == MeshPosition(0, 0, 0, 3)
    assert chip.mesh_position(4) == MeshPosition(0, 1, 0, 0)
    assert chip.mesh_position(31) == MeshPosition(0, 7, 0, 3)
    assert chip.mesh_position(32) == MeshPosition(0, 0, 1, 0)
    assert chip.mesh_position(127) == MeshPosition(0, 7, 3, 3)


@pytest.mark.parametrize("bad", [-1, 128, 1.0, True])
def test_mesh_position_rejects_cores_outside_the_system(bad):
    with pytest.raises(ValueError):
        load_chip("loihi").mesh_position(bad)


def test_hops_on_one_chip():
    chip = load_chip("loihi")
    assert chip.hops(0, 3) == Hops(0, 0, 0)  # same tile
    assert chip.hops(0, 4) == Hops(1, 0, 0)  # next tile east
    assert chip.hops(5, 127) == Hops(6, 3, 0)  # tile (1,0) to tile (7,3)
    assert chip.hops(127, 5) == chip.hops(5, 127)
    assert chip.hops(5, 127).total == 9


def test_multi_chip_tiling_is_most_square():
    assert [most_square(n) for n in (1, 2, 4, 6, 7, 12, 16)] == [
        (1, 1), (2, 1), (2, 2), (3, 2), (7, 1), (4, 3), (4, 4)]
    chip = load_chip("loihi", chips=6)
    assert (chip.system.chips_x, chip.system.chips_y) == (3, 2)
    assert chip.n_chips == 6
    assert chip.total_cores == 6 * 128
    assert chip.source_of("system.chips_x") == "user: --chips 6, tiled 3 x 2"


def test_hops_across_chips_count_each_link_once():
    chip = load_chip("loihi", chips=4)  # 2 x 2 chips of 8 x 4 tiles
    assert chip.mesh_position(128) == MeshPosition(1, 0, 0, 0)
    assert chip.chip_position(3) == (1, 1)
    assert chip.global_tile(128 + 31) == (15, 0)
    # Core 31 sits at tile (7, 0) of chip 0; core 128 at tile (0, 0) of chip 1: one link.
    assert chip.hops(31, 128) == Hops(0, 0, 1)
    # Chip 0 tile (0,0) to chip 3 tile (7,3) = global (15, 7): 14 E-W + 6 N-S + 2 boundaries.
    assert chip.hops(0, 3 * 128 + 127) == Hops(14, 6, 2)


def test_tiny_multi_chip_hops():
    chip = load_chip(TINY, chips=4)  # 2 x 2 chips of 2 x 1 tiles, 2 cores per tile
    assert chip.hops(0, 1) == Hops(0, 0, 0)
    assert chip.hops(0, 2) == Hops(1, 0, 0)
    # Core 15: chip 3 = (1, 1), tile x 1 -> global (3, 1): x 0->1 on chip, 1->2 boundary,
    # 2->3 on chip; y 0->1 is a boundary.
    assert chip.hops(0, 15) == Hops(2, 0, 2)
    assert chip.tiles_spanned([0, 1, 2, 15]) == 3


def test_system_file(tmp_path):
    (tmp_path / "board.toml").write_text(
        '# a board of two tiny chips\nchip = "tiny.toml"\nchips_x = 2\nchips_y = 1\nprofile = "unit"\n')
    (tmp_path / "tiny.toml").write_text(TINY.read_text())
    chip = load_chip(tmp_path / "board.toml")
    assert (chip.system.chips_x, chip.system.chips_y) == (2, 1)
    assert chip.total_cores == 8
    assert chip.active_profile == "unit"
    assert chip.source_of("system.chips_y").startswith("user: system file ")
    assert chip.hops(3, 4) == Hops(0, 0, 1)


def test_system_file_naming_a_bundled_chip(tmp_path):
    (tmp_path / "nahuku.toml").write_text('chip = "loihi"\nchips_x = 8\nchips_y = 4\n')
    chip = load_chip(tmp_path / "nahuku.toml", profile="sanafe")
    assert chip.n_chips == 32 and chip.total_cores == 32 * 128
    assert chip.active_profile == "sanafe"


def test_with_profile_and_unknown_profile_in_the_model():
    chip = load_chip("loihi")
    assert chip.with_profile("sanafe").energy.synop_pj == 35.5
    with pytest.raises(ValidationError, match="no profile named 'nope'"):
        chip.with_profile("nope")


def test_a_source_for_a_key_that_does_not_exist_is_rejected():
    data = load_chip("loihi").model_dump(by_alias=True)
    data["provenance"]["core.nuerons"] = "davies2018 p.89"
    with pytest.raises(ValidationError, match="core.nuerons: has a source but no such key exists"):
        ChipSpec.model_validate(data)


def test_a_number_without_source_is_rejected_by_the_model_too():
    data = load_chip("loihi").model_dump(by_alias=True)
    del data["provenance"]["core.neurons"]
    with pytest.raises(ValidationError, match=r"core.neurons: needs a source: write \{ value = 1024"):
        ChipSpec.model_validate(data)


def test_numpy_core_ids_are_accepted():
    import numpy as np

    chip = load_chip("loihi")
    assert chip.mesh_position(np.int64(4)) == MeshPosition(0, 1, 0, 0)
    assert chip.hops(np.int32(0), np.int64(127)) == Hops(7, 3, 0)


def test_hops_array_equals_hops_pair_by_pair():
    import numpy as np

    chip = load_chip("loihi", chips=6)
    rng = np.random.default_rng(0)
    a = rng.integers(0, chip.total_cores, 500)
    b = rng.integers(0, chip.total_cores, 500)
    ew, ns, inter = chip.hops_array(a, b)
    assert [tuple(map(int, t)) for t in zip(ew, ns, inter)] == [tuple(chip.hops(int(p), int(q)))
                                                                for p, q in zip(a, b)]
    assert chip.coordinates().shape == (6 * 128, 4)
    assert not chip.coordinates().flags.writeable
    with pytest.raises(ValueError):
        chip.hops_array([0], [chip.total_cores])


def test_cached_geometry_does_not_change_equality():
    a, b = load_chip("loihi"), load_chip("loihi")
    a.coordinates()
    assert a == b
    b.coordinates()
    assert a == b
    assert a != load_chip("loihi", profile="sanafe")


def _variant(**changes):
    data = load_chip("loihi").model_dump(by_alias=True)
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return data


def test_unknown_neuron_family_names_the_known_ones():
    with pytest.raises(ValidationError, match="neuron.family: unknown neuron family 'izhikevich'; "
                                              "known: loihi_cuba_lif, truenorth, akida"):
        ChipSpec.model_validate(_variant(neuron__family="izhikevich"))


def test_reference_keys_must_be_unique():
    data = _variant()
    data["sources"] = [*data["sources"], dict(data["sources"][0])]
    with pytest.raises(ValidationError, match="reference key 'davies2018' is declared twice"):
        ChipSpec.model_validate(data)


def test_processor_counts_must_add_up_to_the_cores():
    data = load_chip("akida").model_dump(by_alias=True)
    data["connectivity"]["processors"][0]["count"] = 53
    with pytest.raises(ValidationError, match=r"counts must add up to topology.cores_per_chip \(78\) \(got 77\)"):
        ChipSpec.model_validate(data)


def test_crossbar_must_match_the_core():
    data = load_chip("truenorth").model_dump(by_alias=True)
    data["core"]["crossbar"]["neurons"] = 128
    with pytest.raises(ValidationError, match=r"crossbar.neurons: must equal core.neurons \(256\) \(got 128\)"):
        ChipSpec.model_validate(data)


def test_event_driven_timing_needs_every_operation_time():
    data = _variant(profiles__davies2018__timing__synop_ns=None)
    with pytest.raises(ValidationError, match="synop_ns: required when tick_ns is not set"):
        ChipSpec.model_validate(data)
