"""TrueNorth's default profile against Merolla 2014's published chip figures (issue 11, part 4)."""

from __future__ import annotations

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.ir.result import Counters
from neurocomp.report.cost import cost

#: Merolla 2014's typical load: every neuron of a chip at 20 Hz, 128 active synapses each.
TYPICAL_EVENTS_PER_S = 1_048_576 * 20 * 128


def _one_second(chip, events_per_s: float, hops_interchip: int = 0):
    steps = 1000  # 1 ms ticks
    per_step = np.full((steps, 1), events_per_s / steps)
    zeros = np.zeros((steps, 1), dtype=np.int64)
    counts = {name: zeros for name in Counters.FIELDS}
    counts["synops"] = per_step.astype(np.int64)
    counts["hops_interchip"] = np.full((steps, 1), hops_interchip, dtype=np.int64)
    return cost(Counters(core_ids=np.array([0], dtype=np.int32), **counts), chip)


def test_typical_load_is_26_pj_per_event_and_about_70_mw():
    chip = load_chip("truenorth")
    assert chip.active_profile == "merolla2014" and chip.energy.static_power_mw > 0
    c = _one_second(chip, TYPICAL_EVENTS_PER_S)
    watts = c.energy_j / 1.0
    assert 65e-3 / 2 <= watts <= 70e-3 * 2
    assert watts == pytest.approx(69.8e-3, rel=0.01)
    assert c.energy_pj / TYPICAL_EVENTS_PER_S == pytest.approx(26.0, rel=0.02)
    assert c.energy_by_kind_pj["static"] == pytest.approx(66.4e-3 * 1e12, rel=1e-9)


def test_high_load_reaches_400_gsops_per_watt():
    # the other published point the split was derived from (200 Hz x 256 synapses, assumed)
    events = 1_048_576 * 200 * 256
    c = _one_second(load_chip("truenorth"), events)
    assert events / c.energy_j == pytest.approx(400e9, rel=0.02)


def test_interchip_spikes_cost_energy():
    chip = load_chip("truenorth", chips=2)
    a = _one_second(chip, 0)
    b = _one_second(chip, 0, hops_interchip=10)
    assert b.energy_pj - a.energy_pj == pytest.approx(1000 * 10 * chip.energy.interchip_hop_pj)
    assert chip.energy.interchip_hop_pj > 0
