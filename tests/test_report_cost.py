"""Energy and latency from counters, checked against hand computations.

The tiny test chip (tests/data/tiny.toml, profile ``unit``) has round prices:

    energy (pJ): synop 1, update active 2, inactive 1, spike out 0, message out 0,
                 message in 0, in-tile spike 1, E-W hop 10, N-S hop 20, interchip 100;
                 static 1 mW per chip
    time (ns):   the same numbers for the same events; barrier 10 ns (1 tile),
                 20 ns (2 tiles), 80 ns (8 tiles), linear in between
    mesh:        2 x 1 tiles of 2 cores: cores 0, 1 in tile (0, 0); 2, 3 in tile (1, 0)

and 1 mW x 1 ns = 1 pJ, so every figure below is an exact small number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.diagnostics import UsageError
from neurocomp.ir.result import Counters, RunResult, SpikeEvents
from neurocomp.report.cost import CostReport, cost

TINY = str(Path(__file__).parent / "data" / "tiny.toml")


def counters(core_ids: list[int], **fields: list[list[int]]) -> Counters:
    """Counters with the given (steps x cores) fields and zeros elsewhere."""
    shape = np.asarray(next(iter(fields.values()))).shape
    arrays = {name: np.asarray(fields.get(name, np.zeros(shape)), dtype=np.int64)
              for name in Counters.FIELDS}
    return Counters(core_ids=np.asarray(core_ids, dtype=np.int32), **arrays)


@pytest.fixture(scope="module")
def tiny():
    return load_chip(TINY)


def two_steps() -> Counters:
    """Cores 0 (tile 0) and 2 (tile 1), two steps.

    step 0, core 0: 2 spikes in, 3 synops, 1 active + 1 inactive update, 1 spike that
                    goes out as 2 messages (to core 1: no hop; to core 2: 1 E-W hop)
            core 2: 2 inactive updates
    step 1, core 0: 2 inactive updates
            core 2: 1 spike in, 4 synops, 2 active updates, 2 spikes, 1 message (1 hop)
    """
    return counters(
        [0, 2],
        spikes_in=[[2, 0], [0, 1]],
        synops=[[3, 0], [0, 4]],
        updates_active=[[1, 0], [0, 2]],
        updates_inactive=[[1, 2], [2, 0]],
        spikes_out=[[1, 0], [0, 2]],
        messages_out=[[2, 0], [0, 1]],
        hops_east_west=[[1, 0], [0, 1]],
    )


def test_two_steps_on_two_tiles_by_hand(tiny) -> None:
    r = cost(two_steps(), tiny)
    # Energy, step 0: core 0 = synops 3·1 + updates 1·2 + 1·1 + messages 2·(0 + 1) + hop 1·10 = 18
    #                 core 2 = updates 2·1 = 2                                          -> 20
    #         step 1: core 0 = 2·1 = 2
    #                 core 2 = 4·1 + 2·2 + message 1·1 + hop 10 = 19                   -> 21
    # Time, step 0: core 0 busy = 3 + (2 + 1) + flight (1 in-tile + 10 hop ns / 2 messages = 6) = 12
    #               core 2 busy = 2;  2 tiles used -> barrier 20;  step = 12 + 20 = 32
    #       step 1: core 0 = 2; core 2 = 4 + 4 + flight (1 + 10 / 1 = 11) = 19;  step = 39
    # Static: 1 mW x 1 chip x (32 + 39) ns = 71 pJ.
    assert r.tiles_used == 2 and r.barrier_ns == 20.0
    assert r.step_latency_ns.tolist() == [32.0, 39.0]
    assert r.latency_ns == 71.0 and r.latency_s == pytest.approx(71e-9, rel=1e-12)
    assert r.step_energy_pj.tolist() == [20.0 + 32.0, 21.0 + 39.0]
    assert dict(r.energy_by_kind_pj) == {"synaptic": 7.0, "neuron": 11.0, "routing": 23.0, "static": 71.0}
    assert r.energy_pj == 112.0 and r.energy_j == pytest.approx(112e-12, rel=1e-12)
    assert r.dynamic_energy_pj == 41.0
    # The critical path: step 0 is core 0 (3 syn, 3 neuron, 6 routing), step 1 core 2 (4, 4, 11).
    assert dict(r.latency_by_kind_ns) == {"synaptic": 7.0, "neuron": 7.0, "routing": 17.0, "barrier": 40.0}
    assert r.critical_core.tolist() == [0, 2]
    assert r.energy_by_core_pj.tolist() == [20.0, 21.0]
    assert r.busy_by_core_ns.tolist() == [14.0, 21.0]
    assert r.critical_steps_by_core.tolist() == [1, 1]
    assert r.busiest_core == 2
    assert r.mean_step_latency_ns == 35.5 and r.worst_step_latency_ns == 39.0 and r.worst_step == 1
    assert r.energy_per_step_pj == 56.0


def test_population_split_in_proportion_to_compartments(tiny) -> None:
    # Core 0 holds 3 neurons of a and 1 of b; core 2 holds 4 of b.
    r = cost(two_steps(), tiny, {0: {"a": 3, "b": 1}, 2: {"b": 4}})
    # a = 3/4 of core 0's 20 pJ = 15; b = 1/4 · 20 + 21 = 26 (= the 41 pJ of dynamic energy).
    assert dict(r.energy_by_population_pj) == {"a": 15.0, "b": 26.0}
    # busy time: a = 3/4 · 14 = 10.5; b = 3.5 + 21 = 24.5
    assert dict(r.busy_by_population_ns) == {"a": 10.5, "b": 24.5}


def test_layout_must_cover_every_used_core(tiny) -> None:
    with pytest.raises(UsageError, match="core 2 did work in the run, but the layout does not say"):
        cost(two_steps(), tiny, {0: {"a": 4}})


def test_barrier_interpolates_between_tile_counts(tiny) -> None:
    # Two chips side by side: 4 tiles in a row; cores 0, 2, 4, 6 sit in 4 different tiles.
    # Barrier table 2 tiles -> 20 ns, 8 tiles -> 80 ns, linear: 4 tiles -> 20 + 2/6 · 60 = 40 ns.
    two = tiny.with_system(2, 1, source="user: test")
    r = cost(counters([0, 2, 4, 6], updates_inactive=[[1, 1, 1, 1]]), two)
    assert r.tiles_used == 4 and r.barrier_ns == pytest.approx(40.0)
    # step = 1 ns (one inactive update) + 40 ns; static 1 mW x 2 chips x 41 ns = 82 pJ
    assert r.step_latency_ns.tolist() == pytest.approx([41.0])
    assert r.energy_by_kind_pj["static"] == pytest.approx(82.0)


def test_interchip_link_costs_its_own_price(tiny) -> None:
    # Core 0 (chip 0, tile 0) sends one message to core 4 (chip 1, tile 0): global tiles
    # (0, 0) -> (2, 0): one on-chip E-W link and one chip-to-chip link.
    two = tiny.with_system(2, 1, source="user: test")
    assert tuple(two.hops(0, 4)) == (1, 0, 1)
    r = cost(counters([0, 4], messages_out=[[1, 0]], spikes_out=[[1, 0]], hops_east_west=[[1, 0]],
                      hops_interchip=[[1, 0]], spikes_in=[[0, 1]], synops=[[0, 2]]), two)
    # energy: routing 1·1 (in tile) + 10 + 100 = 111; synops 2 (on core 4)
    # time: core 0 flight = 1 + (10 + 100) / 1 = 111; core 4 = 2 synops = 2; barrier (2 tiles) 20
    # step 131 ns; static 1 mW x 2 chips x 131 ns = 262 pJ
    assert r.step_latency_ns.tolist() == [131.0]
    assert dict(r.energy_by_kind_pj) == {"synaptic": 2.0, "neuron": 0.0, "routing": 111.0, "static": 262.0}


def test_step_barrier_table_takes_the_largest_key_not_above(tiny) -> None:
    # Loihi's sanafe profile: barrier 600 ns (1 tile), 1000 (2), 1400 (4), 1800 (29), step-wise.
    # Cores 0, 4 and 8 are in 3 different tiles (4 cores per tile): 3 tiles -> 1000 ns.
    loihi = load_chip("loihi", profile="sanafe")
    r = cost(counters([0, 4, 8], updates_inactive=[[1, 0, 0]]), loihi)
    assert r.tiles_used == 3 and r.barrier_ns == 1000.0
    # one inactive update: 51.2 pJ and 6.0 ns; no static power in this profile
    assert r.step_latency_ns.tolist() == [1006.0]
    assert r.energy_pj == pytest.approx(51.2)


def test_sanafe_two_layer_example_matches_the_hand_check() -> None:
    # shared/reference/sanafe.md: FC 64->64 on Loihi, 20 steps, SANA-FE reports 88.3 nJ
    # per step; the hand check with its counts (2048 synaptic events, 128 updated neurons,
    # 44.8 spikes, 32 packets per step) gives ~88.7 nJ. The same counts priced here:
    # 2048 · 35.5 + 128 · 72.8 + 44.8 · 69.3 + 32 · 111
    #   = 72,704 + 9,318.4 + 3,104.64 + 3,552 = 88,679.04 pJ per step.
    loihi = load_chip("loihi", profile="sanafe")
    steps = 5
    # 64 inputs on core 0, 64 neurons on core 1; per step 32 packets of 64 synapses each.
    # Spikes: 224 over 5 steps (44.8 per step); the 32 packets are all the inputs'.
    c = counters([0, 1], spikes_in=[[0, 32]] * steps, synops=[[0, 2048]] * steps,
                 updates_active=[[64, 64]] * steps, spikes_out=[[45, 0], [45, 0], [45, 0], [45, 0], [44, 0]],
                 messages_out=[[32, 0]] * steps)
    r = cost(c, loihi)
    assert r.energy_pj / steps == pytest.approx(88679.04, rel=1e-12)


def test_real_time_chip_takes_one_tick_per_step() -> None:
    # TrueNorth, merolla2014: 1 ms per tick, 1.26 pJ per synaptic event, 66.4 mW static.
    tn = load_chip("truenorth")
    assert tn.timing.real_time and tn.timing.tick_ns == 1e6
    r = cost(counters([0], synops=[[10], [0], [5]], updates_inactive=[[256], [256], [256]]), tn)
    assert r.step_latency_ns.tolist() == [1e6, 1e6, 1e6]
    assert r.latency_s == pytest.approx(3e-3, rel=1e-12)
    assert r.energy_pj == pytest.approx(15 * 1.26 + 66.4 * 3e6, rel=1e-12)  # mW x ns = pJ
    assert r.energy_by_kind_pj["synaptic"] == pytest.approx(15 * 1.26, rel=1e-12)
    assert dict(r.latency_by_kind_ns) == {"tick": 3e6}
    assert r.barrier_ns == 0.0 and not r.timed_ops and r.overrun_steps == 0


def test_real_time_static_power_is_charged_for_every_tick() -> None:
    # akopyan2015: the whole chip at 65 mW; 3 ticks of 1 ms = 65e-3 W x 3e-3 s = 195 µJ.
    tn = load_chip("truenorth", profile="akopyan2015")
    r = cost(counters([0], synops=[[10], [0], [5]]), tn)
    assert r.energy_j == pytest.approx(195e-6, rel=1e-12)
    assert r.energy_by_kind_pj["static"] == pytest.approx(195e6, rel=1e-12)


def test_an_idle_run_costs_only_the_barrier_and_static_power(tiny) -> None:
    r = cost(counters([1], synops=[[0], [0]]), tiny)
    # one tile -> 10 ns per step; 1 mW -> 10 pJ per step
    assert r.step_latency_ns.tolist() == [10.0, 10.0]
    assert r.energy_pj == 20.0
    assert r.critical_core.tolist() == [-1, -1] and r.critical_steps_by_core.tolist() == [0]


def test_zero_steps(tiny) -> None:
    empty = np.zeros((0, 2), dtype=np.int64)
    r = cost(Counters(core_ids=np.asarray([0, 1], dtype=np.int32),
                      **{f: empty for f in Counters.FIELDS}), tiny)
    assert r.steps == 0 and r.energy_pj == 0.0 and r.latency_ns == 0.0
    assert r.mean_step_latency_ns == 0.0 and r.worst_step == -1


def test_bad_counters_are_refused(tiny) -> None:
    with pytest.raises(UsageError, match="counters name core 9, but chip 'tiny' has cores 0-3"):
        cost(counters([9], synops=[[1]]), tiny)
    with pytest.raises(UsageError, match="negative count"):
        cost(counters([0], synops=[[-1]]), tiny)
    bad = counters([0, 1], synops=[[1, 1]])
    bad = Counters(core_ids=bad.core_ids, **{f: getattr(bad, f) for f in Counters.FIELDS if f != "hops_interchip"},
                   hops_interchip=np.zeros((1, 3), dtype=np.int64))
    with pytest.raises(UsageError, match=r"counter 'hops_interchip' has shape \(1, 3\); expected \(steps, 2\)"):
        cost(bad, tiny)


def test_combine_is_a_longer_run(tiny) -> None:
    one = cost(two_steps(), tiny, {0: {"a": 3, "b": 1}, 2: {"b": 4}})
    both = CostReport.combine([one, one])
    assert both.steps == 4 and both.samples == 2
    assert both.energy_pj == 224.0 and both.latency_ns == 142.0
    assert both.energy_by_core_pj.tolist() == [40.0, 42.0]
    assert dict(both.energy_by_population_pj) == {"a": 30.0, "b": 52.0}
    assert both.critical_steps_by_core.tolist() == [2, 2]
    other = cost(counters([1], synops=[[1]]), tiny)
    with pytest.raises(UsageError, match="cannot be combined"):
        CostReport.combine([one, other])


def slow_cost(c: Counters, chip) -> tuple[list[float], list[float]]:
    """Per-step energy (pJ) and latency (ns), one event at a time, as docs/energy.md says."""
    e, t = chip.energy, chip.timing
    tiles = chip.tiles_spanned(c.core_ids.tolist())
    steps = c.synops.shape[0]
    energies, latencies = [], []
    for s in range(steps):
        dyn = 0.0
        slowest = 0.0
        for k in range(len(c.core_ids)):
            get = lambda name: int(getattr(c, name)[s, k])  # noqa: E731
            dyn += get("synops") * e.synop_pj
            dyn += get("updates_active") * e.neuron_update_active_pj
            dyn += get("updates_inactive") * e.neuron_update_inactive_pj
            dyn += get("spikes_out") * e.spike_out_pj
            dyn += get("messages_out") * e.message_out_pj + get("messages_out") * e.spike_in_tile_pj
            dyn += get("spikes_in") * e.message_in_pj
            dyn += get("hops_east_west") * e.hop_east_west_pj + get("hops_north_south") * e.hop_north_south_pj
            dyn += get("hops_interchip") * e.interchip_hop_pj
            dyn += get("trace_updates") * e.trace_update_pj + get("synaptic_updates") * e.synaptic_update_pj
            busy = (get("synops") * t.synop_ns + get("updates_active") * t.neuron_update_active_ns
                    + get("trace_updates") * t.trace_update_ns
                    + get("synaptic_updates") * t.synaptic_update_ns
                    + get("updates_inactive") * t.neuron_update_inactive_ns
                    + get("spikes_out") * t.spike_out_ns + get("messages_out") * t.message_out_ns
                    + get("spikes_in") * t.message_in_ns)
            if get("messages_out"):
                hop_time = (get("hops_east_west") * t.hop_east_west_ns
                            + get("hops_north_south") * t.hop_north_south_ns
                            + get("hops_interchip") * t.interchip_hop_ns)
                busy += t.spike_in_tile_ns + hop_time / get("messages_out")
            slowest = max(slowest, busy)
        step = slowest + t.barrier_ns(tiles)
        energies.append(dyn + e.static_power_mw * chip.n_chips * step)
        latencies.append(step)
    return energies, latencies


@pytest.mark.parametrize("chip_name,profile,chips", [("tiny", None, 2), ("loihi", "davies2018", 1),
                                                     ("loihi", "sanafe", 1)])
def test_random_counters_match_the_event_by_event_model(chip_name: str, profile: str | None, chips: int) -> None:
    chip = load_chip(TINY if chip_name == "tiny" else chip_name, chips=chips, profile=profile)
    rng = np.random.default_rng(7)
    cores = np.sort(rng.choice(chip.total_cores, size=min(5, chip.total_cores), replace=False))
    fields = {name: rng.integers(0, 50, size=(6, cores.size)).tolist() for name in Counters.FIELDS}
    fields["messages_out"][2] = [0] * cores.size  # a step with no packets at all
    c = counters(cores.tolist(), **fields)
    r = cost(c, chip)
    energies, latencies = slow_cost(c, chip)
    np.testing.assert_allclose(r.step_energy_pj, energies, rtol=1e-12)
    np.testing.assert_allclose(r.step_latency_ns, latencies, rtol=1e-12)
    # the splits add up to the totals
    assert sum(r.energy_by_kind_pj.values()) == pytest.approx(sum(energies), rel=1e-12)
    assert sum(r.latency_by_kind_ns.values()) == pytest.approx(sum(latencies), rel=1e-12)
    assert r.energy_by_core_pj.sum() == pytest.approx(r.dynamic_energy_pj, rel=1e-12)


def test_to_dict_is_in_si_units(tiny) -> None:
    d = cost(two_steps(), tiny).to_dict()
    assert d["energy_j"]["total"] == pytest.approx(112e-12)
    assert d["latency_s"]["per_step_worst"] == pytest.approx(39e-9)
    assert d["energy_j"]["by_kind"]["static"] == pytest.approx(71e-12)
    assert d["busiest_core"] == 2 and d["tiles_used"] == 2 and d["chips_powered"] == 1
    assert d["cores"][0] == {"core": 0, "energy_j": pytest.approx(20e-12), "busy_s": pytest.approx(14e-9),
                             "critical_steps": 1}


# --------------------------------------------------------------------------- the report

GOLDEN = Path(__file__).parent / "golden" / "report"


def toy_run() -> RunResult:
    """The run behind two_steps(): 2 input spikes, 1 spike of a, 2 of b."""
    def ev(times: list[int], indices: list[int], n: int, is_input: bool = False) -> SpikeEvents:
        return SpikeEvents(times=np.asarray(times, dtype=np.int64), indices=np.asarray(indices, dtype=np.int64),
                           n=n, is_input=is_input)

    return RunResult(network="toy", steps=2, dt_ms=1.0,
                     spikes={"stim": ev([0, 0], [0, 1], 2, True), "a": ev([0], [0], 3), "b": ev([1, 1], [0, 3], 5)})


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8")


def test_report_text_is_pinned(tiny, update_golden: bool) -> None:
    from neurocomp.report.report import report

    layout = {0: {"a": 3, "b": 1}, 2: {"b": 4}}
    rep = report(toy_run(), cost(two_steps(), tiny, layout), tiny, layout)
    text = rep.to_text()
    check_golden("toy_tiny.txt", text, update_golden)
    # the hand-computed figures are what the text shows
    for figure in ("112 pJ", "56 pJ", "71 pJ", "35.5 ns", "39 ns", "71 ns", "step 1, core 2",
                   "busiest core: 2 (chip 0, tile (1, 0)), holds 4 of b", "slowest core in 1 of 2 steps"):
        assert figure in text


def test_batch_report_counts_every_sample(tiny, update_golden: bool) -> None:
    from neurocomp.report.report import report

    layout = {0: {"a": 3, "b": 1}, 2: {"b": 4}}
    one = cost(two_steps(), tiny, layout)
    rep = report([toy_run()] * 3, CostReport.combine([one] * 3), tiny, layout)
    assert rep.samples == 3 and [p.spikes for p in rep.populations] == [6, 3, 6]
    text = rep.to_text()
    check_golden("toy_tiny_batch3.txt", text, update_golden)
    # 3 samples of 112 pJ: 336 pJ in all, 112 pJ per sample, 56 pJ per step
    assert "336 pJ" in text and "     112 pJ │" in text and "step 1 of sample 0, core 2" in text


def test_real_time_report(update_golden: bool) -> None:
    from neurocomp.report.report import report

    tn = load_chip("truenorth")
    run = toy_run()
    rep = report(run, cost(counters([0], synops=[[10], [5]]), tn), tn)
    text = rep.to_text()
    check_golden("toy_truenorth.txt", text, update_golden)
    assert "real time: one tick per step" in text and "2 ms" in text and "18.9 pJ" in text and "132.8 µJ" in text
    assert "busy times are unknown" in text


def test_report_json_and_save(tiny, tmp_path: Path) -> None:
    import json

    from neurocomp.report.report import report

    layout = {0: {"a": 3, "b": 1}, 2: {"b": 4}}
    rep = report(toy_run(), cost(two_steps(), tiny, layout), tiny, layout, wall_s={"emulate": 0.5})
    path = rep.save(tmp_path / "out")
    data = json.loads(path.read_text())
    assert path.name == "report.json"
    assert data["network"] == "toy" and data["chip"] == "tiny" and data["profile"] == "unit"
    assert data["populations"]["b"] == {"size": 5, "input": False, "spikes": 2}
    assert data["cost"]["energy_j"]["total"] == pytest.approx(112e-12)
    assert data["cost"]["energy_j"]["by_population"] == {"a": pytest.approx(15e-12), "b": pytest.approx(26e-12)}
    assert data["busiest_core"] == {"core": 2, "position": "chip 0, tile (1, 0)", "holds": "4 of b"}
    assert data["wall_s"] == {"emulate": 0.5}
    assert "wall: emulate 0.5 s" in rep.to_text()
    with pytest.raises(UsageError, match="report.json' already exists; not overwriting"):
        rep.save(tmp_path / "out")
    rep.save(tmp_path / "out", overwrite=True)


@pytest.mark.parametrize("value,text", [(1.234e-7, "123.4 nJ"), (0.0, "0 J"), (2.5, "2.5 J"),
                                        (999.96e-9, "1 µJ"), (-3e-12, "-3 pJ")])
def test_si_prefixes(value: float, text: str) -> None:
    from neurocomp.report.report import si

    assert si(value, "J") == text


def test_a_step_longer_than_the_tick_is_an_overrun(tiny) -> None:
    # The tiny chip's unit profile made real-time with a 5 ns tick (operation times kept).
    data = tiny.model_dump(by_alias=True)
    data["profiles"]["unit"]["timing"]["tick_ns"] = 5.0
    data["provenance"]["profiles.unit.timing.tick_ns"] = "assumed: test"
    ticking = type(tiny).model_validate(data)
    # step 0: 3 synops = 3 ns (fits); step 1: 6 synops = 6 ns > 5 ns (overrun)
    r = cost(counters([0], synops=[[3], [6]]), ticking)
    assert r.timed_ops and r.overrun_steps == 1
    assert r.step_latency_ns.tolist() == [5.0, 5.0]  # the chip keeps its tick regardless
    assert r.energy_by_kind_pj["static"] == 10.0  # 1 mW x 10 ns
    from neurocomp.report.report import report

    text = report(toy_run(), r, ticking).to_text()
    assert "warning: in 1 step the slowest core needed more than the 5 ns tick" in text
