"""The cost vocabulary (neurocomp/chip/events.py) is the one place events and prices are named.

Counters, the chip schema's price keys and the cost model are built from it; a price a
profile leaves out takes its default; a price for an operation the vocabulary does not
know is a located chip error; the generic sum of count x price is, bit for bit, the
hand-written model it replaced.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from neurocomp.chip.events import EVENTS, HOST_OPERATIONS, KINDS, OPERATIONS, PACKETS
from neurocomp.chip.load import load_chip
from neurocomp.chip.spec import ChipSpec, Energy, Timing
from neurocomp.diagnostics import ChipSpecError
from neurocomp.ir.result import Counters
from neurocomp.report.cost import ENERGY_KINDS, TIME_KINDS, cost

TINY = Path(__file__).parent / "data" / "tiny.toml"


def random_counters(rng: np.random.Generator, steps: int, core_ids: list[int]) -> Counters:
    """Counters of plausible size; some cores send nothing in some steps."""
    arrays = {e.name: rng.integers(0, 50, size=(steps, len(core_ids))).astype(np.int64) for e in EVENTS}
    arrays[PACKETS][rng.random(arrays[PACKETS].shape) < 0.3] = 0
    return Counters(core_ids=np.asarray(core_ids, dtype=np.int32), **arrays)


# --------------------------------------------------------------------------- the vocabulary


def test_counters_are_built_from_the_events_in_the_kernels_order():
    from neurocomp.emulator.kernels import routing

    assert Counters.FIELDS == tuple(e.name for e in EVENTS)
    # Until the kernels derive their row constants from EVENTS, they must agree with it.
    assert routing.N_COUNTERS == len(EVENTS)
    for i, name in enumerate(Counters.FIELDS):
        assert getattr(routing, name.upper()) == i, name


def test_counters_by_attribute_by_name_and_from_a_kernel_array():
    rows = np.arange(len(EVENTS) * 3 * 2, dtype=np.int64).reshape(len(EVENTS), 3, 2)
    c = Counters.from_rows(np.array([4, 7], dtype=np.int32), rows)
    for i, name in enumerate(Counters.FIELDS):
        assert getattr(c, name) is c.counts[name]
        np.testing.assert_array_equal(c.counts[name], rows[i])
    again = pickle.loads(pickle.dumps(c))
    assert again.FIELDS == c.FIELDS and np.array_equal(again.hops_interchip, c.hops_interchip)
    with pytest.raises(AttributeError):
        c.synopses
    with pytest.raises(TypeError, match="Counters has no event 'synopses'"):
        Counters(core_ids=c.core_ids, synopses=rows[0], **c.counts)
    with pytest.raises(TypeError, match="missing: hops_interchip"):
        Counters(core_ids=c.core_ids, **{k: v for k, v in c.counts.items() if k != "hops_interchip"})


def test_the_schema_has_one_price_key_per_operation_in_vocabulary_order():
    host = [op.name for op in HOST_OPERATIONS]
    assert list(Energy.model_fields) == ([f"{op.name}_pj" for op in OPERATIONS] + [f"{h}_pj" for h in host]
                                         + ["synop_by_connector", "static_power_mw"])
    assert list(Timing.model_fields) == (["tick_ns"] + [f"{op.name}_ns" for op in OPERATIONS]
                                         + [f"{h}_ns" for h in host]
                                         + ["synop_by_connector", "link_ns", "interchip_link_ns", "router_ns",
                                            "barrier"])
    chip = load_chip("loihi")
    assert list(chip.energy.prices_pj) == list(chip.timing.times_ns) == [op.name for op in OPERATIONS]
    assert chip.energy.prices_pj["synop"] == chip.energy.synop_pj == 23.6
    assert ENERGY_KINDS == KINDS + ("host", "static") and TIME_KINDS[:len(KINDS)] == KINDS


def test_docs_name_every_event_and_operation():
    text = (Path(__file__).parent.parent / "docs" / "energy.md").read_text(encoding="utf-8")
    for event in EVENTS:
        assert f"| `{event.name}` |" in text, event.name
    for op in OPERATIONS:
        assert f"| `{op.name}` |" in text, op.name


# --------------------------------------------------------------------------- defaults


def _tiny_without(tmp_path: Path, *keys: str, extra: str = "") -> Path:
    """tiny.toml with the ``keys`` lines of its energy table left out (and ``extra`` added)."""
    lines = TINY.read_text(encoding="utf-8").splitlines()
    start = lines.index("[profiles.unit.energy]")
    kept = lines[:start + 1] + [line for line in lines[start + 1:] if line.split(" = ")[0] not in keys]
    path = tmp_path / "tiny.toml"
    path.write_text("\n".join(kept) + "\n" + extra, encoding="utf-8")
    return path


def test_a_price_left_out_is_its_default_and_needs_no_source(tmp_path):
    chip = load_chip(str(_tiny_without(tmp_path, "hop_north_south_pj", "static_power_mw")))
    assert chip.energy.hop_north_south_pj == 0.0 and chip.energy.prices_pj["hop_north_south"] == 0.0
    assert chip.energy.static_power_mw == 0.0
    assert chip.energy.hop_east_west_pj == 10.0
    keys = [p.key for p in chip.parameters(include_unsourced=True)]
    assert "profiles.unit.energy.hop_north_south_pj" not in keys
    assert "profiles.unit.energy.hop_east_west_pj" in keys
    # A dumped chip (as a Mapping file holds it) reads back the same.
    dump = chip.model_dump(by_alias=True)
    assert "hop_north_south_pj" not in dump["profiles"]["unit"]["energy"]
    assert ChipSpec.model_validate(dump) == chip
    assert chip.with_system(2, 1, "user: test").energy.prices_pj == chip.energy.prices_pj


def test_a_price_left_out_costs_nothing(tmp_path):
    full = load_chip(str(TINY))
    part = load_chip(str(_tiny_without(tmp_path, "synop_pj")))
    c = random_counters(np.random.default_rng(3), 5, [0, 2])
    a, b = cost(c, full), cost(c, part)
    assert b.energy_by_kind_pj["synaptic"] == 0.0
    assert a.energy_by_kind_pj["synaptic"] == float(c.synops.sum()) * 1.0
    assert b.energy_by_kind_pj["neuron"] == a.energy_by_kind_pj["neuron"]


def test_a_price_for_an_unknown_operation_is_a_located_chip_error(tmp_path):
    path = _tiny_without(tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        "[profiles.unit.energy]\n", "[profiles.unit.energy]\ndendrite_pj = { value = 1.0, source = \"assumed: test\" }\n")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("dendrite_pj = { value = 1.0, source = \"assumed: test\" }") + 1
    with pytest.raises(ChipSpecError) as info:
        load_chip(str(path))
    allowed = ", ".join([f"{op.name}_pj" for op in OPERATIONS] + [f"{op.name}_pj" for op in HOST_OPERATIONS]
                        + ["synop_by_connector", "static_power_mw"])
    rendered = info.value.render()
    assert f"tiny.toml:{line}: error: profiles.unit.energy.dendrite_pj: unknown key; allowed here: {allowed}" \
        in rendered
    assert len(info.value.diagnostics) == 1


def test_an_event_driven_profile_still_needs_every_required_time():
    data = load_chip("loihi").model_dump(by_alias=True)
    del data["profiles"]["davies2018"]["timing"]["hop_north_south_ns"]
    with pytest.raises(Exception, match=re.escape("hop_north_south_ns: required when tick_ns is not set")):
        ChipSpec.model_validate(data)


# --------------------------------------------------------------------------- the sum


def _hand_written(n: dict[str, np.ndarray], chip: ChipSpec) -> tuple[dict, np.ndarray]:
    """The model as it was written term by term before the vocabulary (float order kept)."""
    e, t = chip.energy, chip.timing
    energy = {
        "synaptic": (n["synops"] * e.synop_pj + n["trace_updates"] * e.trace_update_pj
                     + n["synaptic_updates"] * e.synaptic_update_pj),
        "neuron": (n["updates_active"] * e.neuron_update_active_pj
                   + n["updates_inactive"] * e.neuron_update_inactive_pj + n["spikes_out"] * e.spike_out_pj),
        "routing": (n["messages_out"] * (e.message_out_pj + e.spike_in_tile_pj) + n["spikes_in"] * e.message_in_pj
                    + n["hops_east_west"] * e.hop_east_west_pj + n["hops_north_south"] * e.hop_north_south_pj
                    + n["hops_interchip"] * e.interchip_hop_pj),
    }
    hop = (n["hops_east_west"] * t.hop_east_west_ns + n["hops_north_south"] * t.hop_north_south_ns
           + n["hops_interchip"] * t.interchip_hop_ns)
    sent = n["messages_out"]
    flight = np.zeros_like(hop)
    np.divide(hop, sent, out=flight, where=sent > 0)
    flight = np.where(sent > 0, flight + t.spike_in_tile_ns, 0.0)
    busy = ((n["synops"] * t.synop_ns + n["trace_updates"] * t.trace_update_ns
             + n["synaptic_updates"] * t.synaptic_update_ns)
            + (n["updates_active"] * t.neuron_update_active_ns + n["updates_inactive"] * t.neuron_update_inactive_ns
               + n["spikes_out"] * t.spike_out_ns)
            + (sent * t.message_out_ns + n["spikes_in"] * t.message_in_ns + flight))
    return energy, busy


@pytest.mark.parametrize("chip_name,profile", [("loihi", "davies2018"), ("loihi", "sanafe"),
                                                ("akida", None), ("loihi2", None)])
def test_the_generic_sum_is_the_hand_written_model_bit_for_bit(chip_name, profile):
    chip = load_chip(chip_name, chips=2, profile=profile)
    core_ids = [0, 1, 5, chip.total_cores - 1]
    c = random_counters(np.random.default_rng(11), 40, core_ids)
    n = {k: v.astype(np.float64) for k, v in c.counts.items()}
    energy, busy = _hand_written(n, chip)
    r = cost(c, chip)
    for kind in KINDS:
        assert r.energy_by_kind_pj[kind] == float(energy[kind].sum()), kind
    np.testing.assert_array_equal(r.busy_by_core_ns, busy.sum(axis=0))
    np.testing.assert_array_equal(r.energy_by_core_pj, (energy["synaptic"] + energy["neuron"]
                                                        + energy["routing"]).sum(axis=0))
