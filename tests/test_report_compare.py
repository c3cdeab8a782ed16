"""``neurocomp compare`` and :func:`neurocomp.workflows.compare.compare`: golden tables, rows
that say why a chip fails, and every figure checked against a second way to get it.

Golden files: ``tests/golden/compare/<case>.args`` is a command line (run in that
folder), ``<case>.expected`` its exit code, standard output (minus the ``wall:`` line)
and standard error. ``pytest --update-golden`` rewrites them (review the diff).

The golden network ``small.snn`` is a toy classifier built so that its answers are known
without running it (input i drives hidden 5i..5i+4, which drive output i); ``cramped.toml``
and ``positive.toml`` are the tiny test chip made too small (4 neurons per core) and
unable to store an inhibitory weight.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import main
from neurocomp.diagnostics import UsageError
from neurocomp.report.compare import STATUSES, Comparison
from neurocomp.workflows.compare import compare
from neurocomp.workflows.validate import validate

HERE = Path(__file__).parent
ROOT = HERE.parent
GOLDEN = HERE / "golden" / "compare"
CASES = sorted(p.stem for p in GOLDEN.glob("*.args"))
TINY = str(HERE / "data" / "tiny.toml")
CRAMPED = str(GOLDEN / "cramped.toml")
POSITIVE = str(GOLDEN / "positive.toml")
SMALL = GOLDEN / "small.snn"
CHAIN = ROOT / "examples" / "chain.snn"


def _without_wall(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("wall: "))


# --------------------------------------------------------------------------- golden


@pytest.mark.parametrize("case", CASES)
def test_golden(case, monkeypatch, capsys, update_golden):
    monkeypatch.chdir(GOLDEN)
    args = shlex.split((GOLDEN / f"{case}.args").read_text())
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out = capsys.readouterr()
    got = f"exit {code}\n--- stdout ---\n{_without_wall(out.out)}--- stderr ---\n{out.err}"
    expected = GOLDEN / f"{case}.expected"
    if update_golden:
        expected.write_text(got)
    assert expected.exists(), f"no golden file {expected.name}; run pytest --update-golden"
    assert got == expected.read_text()


def test_there_are_golden_cases():
    assert {"small", "small_samples", "number", "no_chips", "limit_without_samples"} <= set(CASES)


def test_the_golden_network_is_the_classifier_its_header_describes():
    w1, w2 = np.load(GOLDEN / "w1.npy"), np.load(GOLDEN / "w2.npy")
    expected_w1 = np.zeros((20, 4), dtype=np.float32)
    expected_w2 = np.zeros((4, 20), dtype=np.float32)
    for i in range(4):
        expected_w1[5 * i:5 * i + 5, i] = 0.6
        expected_w2[i, 5 * i:5 * i + 5] = 0.5
    assert np.array_equal(w1, expected_w1) and np.array_equal(w2, expected_w2)
    with np.load(GOLDEN / "samples.npz") as data:
        x, y = data["x"], data["y"]
    assert np.array_equal(np.argmax(x, axis=1), y)  # each sample's busiest input is its label


def test_the_golden_table_shows_each_failure_in_its_row():
    text = (GOLDEN / "small.expected").read_text()
    rows = [line for line in text.splitlines() if line.startswith("│ ")]
    # tiny, cramped (does not fit, one line), positive (cannot represent, wrapped over two)
    cells = [[c.strip() for c in row.split("│")[1:-1]] for row in rows]
    assert cells[0][0] == "tiny" and len(cells[0]) == 10
    assert cells[1][0] == "cramped" and len(cells[1]) == 2
    assert cells[1][1].startswith("does not fit: network 'small' needs 6 cores, the system has 4")
    assert cells[2][0] == "positive" and cells[2][1].startswith("cannot represent: projection 'hidden->hidden'")
    assert cells[3][0] == "" and len(cells[3]) == 2  # its reason's second line


# --------------------------------------------------------------------------- rows


@pytest.fixture(scope="module")
def small_table() -> Comparison:
    return compare(nc.load(SMALL), [TINY, CRAMPED, POSITIVE], steps=30)


def test_a_chip_that_is_too_small_says_how_many_cores_it_lacks(small_table):
    row = small_table["cramped"]
    # 20 hidden + 4 output neurons, 4 per core: 6 cores; the chip has 4
    assert row.status == "does not fit" and not row.ok
    assert row.reason.startswith("network 'small' needs 6 cores, the system has 4")
    assert row.cores is None and row.energy_per_step_j is None and row.mapping is None
    assert "help:" in row.error  # the whole error, hint included, stays available
    assert repr(row).startswith("ChipRow('cramped': does not fit, network 'small' needs 6 cores")


def test_a_chip_that_cannot_store_an_inhibitory_weight_names_the_projection(small_table):
    row = small_table["positive"]
    assert row.status == "cannot represent"
    assert row.reason.startswith("projection 'hidden->hidden'")  # the only negative weights
    assert row.more_reasons == 0


def test_a_fitting_chip_has_every_figure_and_they_agree_with_a_separate_run(small_table):
    row = small_table["tiny"]
    assert row.status == "ok" and row.chip == "tiny" and row.profile == "unit"
    mapping = nc.compile(SMALL, TINY)
    assert row.cores == len(mapping.cores) and row.chips_used == 1
    result = nc.run(mapping, steps=30)
    priced = nc.price(result, mapping).cost
    assert row.energy_per_run_j == pytest.approx(priced.energy_j, rel=1e-12)
    assert row.energy_per_step_j == pytest.approx(priced.energy_j / 30, rel=1e-12)
    assert row.latency_per_step_s == pytest.approx(priced.latency_s / 30, rel=1e-12)
    spikes = sum(result.spikes[p].count for p in ("hidden", "out"))
    assert row.spikes_chip == spikes
    reference = nc.simulate(nc.load(SMALL), steps=30)
    assert row.spikes_ref == sum(reference.spikes[p].count for p in ("hidden", "out"))
    assert small_table.spikes_ref == {"hidden": reference.spikes["hidden"].count,
                                      "out": reference.spikes["out"].count}
    # the worst-core figure is the largest used/limit over every core and resource
    util = mapping.utilization()
    fractions = util.used / np.array(util.limits, dtype=np.float64)
    assert row.fullest_fraction == pytest.approx(fractions.max(), rel=1e-12)
    assert row.fullest_resource == util.resources[int(np.argmax(fractions.max(axis=0)))]
    assert row.weight_error_max == max(e.max_error for e in mapping.quantization.projections)


def test_the_static_energy_is_the_chips_static_power_times_the_latency(small_table):
    # tiny.toml's unit profile: 1 mW per chip, one chip; mW x ns = pJ, so the static
    # energy in pJ is the latency in ns
    cost = small_table["tiny"].report.cost
    assert cost.energy_by_kind_pj["static"] == pytest.approx(cost.latency_ns, rel=1e-12)


def test_spike_agreement_is_what_validate_finds(small_table):
    check = validate(nc.load(SMALL), nc.load_chip(TINY), 30)
    row = small_table["tiny"]
    assert row.correlations == {p.name: p.correlation for p in check.populations}
    defined = [p.correlation for p in check.populations if p.correlation is not None]
    assert row.correlation_worst == min(defined)


def test_failing_chips_read_nan_in_a_column(small_table):
    energy = small_table.column("energy_per_step_j")
    assert energy.dtype == np.float64 and energy.shape == (3,)
    assert np.isfinite(energy[0]) and np.isnan(energy[1:]).all()
    with pytest.raises(UsageError, match="'status' is not a numeric figure of a row"):
        small_table.column("status")
    with pytest.raises(UsageError, match="the comparison has no chip 'loihi'"):
        small_table["loihi"]


def test_every_status_is_documented(small_table):
    assert {r.status for r in small_table} <= set(STATUSES)


def test_a_chip_without_an_emulator_keeps_its_compile_figures(monkeypatch):
    import dataclasses

    from neurocomp import targets

    # the family compiles as before, but has no kernel
    monkeypatch.setitem(targets.FAMILIES, "loihi_cuba_lif",
                        dataclasses.replace(targets.family("loihi_cuba_lif"), kernel=None))
    table = compare(nc.load(CHAIN), [TINY], steps=20)
    row = table["tiny"]
    assert row.status == "cannot emulate"
    assert row.reason == "no emulator kernel for neuron family 'loihi_cuba_lif'"
    assert row.cores == 1 and row.weight_error_max is not None and row.energy_per_step_j is None
    line = next(line for line in table.to_text().splitlines() if line.startswith("│ tiny"))
    assert "cannot emulate: no emulator kernel" in line and "│     1 │     1 │" in line


def test_a_chip_that_refuses_the_inputs_says_so_and_the_others_go_on():
    # events of value 0.5: the float model scales the weight by it; a Loihi-family chip's
    # spikes carry no value, so tiny refuses them (the emulator names the input and step)
    raster = np.zeros((20, 1), dtype=np.float64)
    raster[[1, 2, 3, 4], 0] = 0.5
    table = compare(nc.load(CHAIN), [TINY, "truenorth"], 20, inputs={"stim": raster})
    row = table["tiny"]
    assert row.status == "cannot emulate" and row.cores == 1
    assert row.reason.startswith("input 'stim' emits the value 0.5 at step 1")
    assert table["truenorth"].status in STATUSES  # the comparison went on to the next chip
    assert table.spikes_ref == {"a": 0, "b": 0, "c": 0}  # 0.75 * 0.5 per event never crosses 1


def test_an_emulator_warning_becomes_a_note_under_the_table(monkeypatch):
    import warnings

    from neurocomp.emulator import run as run_module

    real = run_module.emulate_batch

    def warning_batch(*args, **kwargs):
        warnings.warn("v saturated 3 times", RuntimeWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "emulate_batch", warning_batch)
    table = compare(nc.load(CHAIN), [TINY], 20)
    assert table["tiny"].notes == ("v saturated 3 times",)
    assert table["tiny"].validation.notes == ("v saturated 3 times",)
    assert table.to_text().splitlines()[-1] == "note: tiny: v saturated 3 times"


# --------------------------------------------------------------------------- samples


@pytest.fixture(scope="module")
def sample_table() -> Comparison:
    return compare(nc.load(SMALL), [TINY, CRAMPED], steps=30, samples=GOLDEN / "samples.npz")


def test_the_toy_classifier_is_right_on_every_sample(sample_table):
    # by construction (see the golden network's header), in float and on the chip
    assert sample_table.classifier and sample_table.output == "out"
    assert sample_table.accuracy_ref == 1.0
    assert sample_table["tiny"].accuracy == 1.0
    assert sample_table["cramped"].accuracy is None


def test_energy_per_sample_is_the_mean_over_separate_runs(sample_table):
    from neurocomp.workflows.samples import load_samples, sample_inputs

    net = nc.load(SMALL)
    mapping = nc.compile(net, TINY)
    x, _ = load_samples(GOLDEN / "samples.npz")
    energies = [nc.price(nc.run(mapping, 30, inputs=s), mapping).cost.energy_j for s in sample_inputs(net, 30, x)]
    row = sample_table["tiny"]
    assert sample_table.runs == len(energies) == 6
    assert row.energy_per_run_j == pytest.approx(float(np.mean(energies)), rel=1e-12)
    assert row.energy_per_step_j == pytest.approx(float(np.mean(energies)) / 30, rel=1e-12)


def test_samples_and_inputs_together_are_refused():
    with pytest.raises(UsageError, match="either inputs .* or samples"):
        compare(nc.load(SMALL), [TINY], 30, inputs={"stim": np.zeros((30, 4))}, samples=GOLDEN / "samples.npz")


# --------------------------------------------------------------------------- chain on the three chips


def test_chain_on_loihi_truenorth_and_akida():
    table = nc.compare(CHAIN, ["loihi", "truenorth", "akida"], steps=20)
    assert [r.label for r in table] == ["loihi", "truenorth", "akida"]
    loihi, truenorth, akida = table
    # Loihi computes chain.snn exactly (its header derives 3 + 3 + 1 spikes by hand)
    assert loihi.status == "ok" and loihi.spikes_chip == loihi.spikes_ref == 7
    assert loihi.correlation_worst == 1.0 and loihi.cores == 1 and loihi.chips_used == 1
    # TrueNorth runs it in real time: one 1 ms tick per step (its chip file), whatever it computes
    assert truenorth.status == "ok" and truenorth.real_time
    assert truenorth.latency_per_step_s == pytest.approx(nc.load_chip("truenorth").timing.tick_ns * 1e-9)
    assert truenorth.spikes_chip == sum(ev.count for name, ev in
                                        nc.run(CHAIN, 20, chip="truenorth").spikes.items() if name != "stim")
    # Akida's neurons keep no leaky potential: the first leaky population is named
    assert akida.status == "cannot represent" and akida.reason.startswith("population 'a'")
    assert akida.cores is None
    text = table.to_text()
    assert "│ akida     │ cannot represent: population 'a'" in text


def test_the_cli_prints_the_same_figures_as_json(capsys, tmp_path):
    code = main(["compare", str(CHAIN), "--chips", f"loihi,{TINY}", "--chip", "akida", "--steps", "20", "--json",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert json.loads((tmp_path / "comparison.json").read_text()) == doc
    assert [c["label"] for c in doc["chips"]] == ["loihi", "tiny", "akida"]  # command-line order
    api = nc.compare(CHAIN, ["loihi", TINY, "akida"], steps=20)
    for got, row in zip(doc["chips"], api):
        want = row.to_dict()
        got.pop("wall_s"), want.pop("wall_s")
        assert got == want
    assert doc["chips"][1]["energy_per_run_j"] == pytest.approx(416e-12, rel=1e-12)  # chain_tiny.txt
    # a second run does not overwrite it
    assert main(["compare", str(CHAIN), "--chips", "loihi", "--steps", "5", "--out", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err


# --------------------------------------------------------------------------- arguments


def test_chips_may_be_listed_and_repeated_in_any_mix(capsys):
    assert main(["compare", str(CHAIN), "--chip", TINY, "--chips", "loihi", "--chip", TINY, "--steps", "5"]) == 0
    rows = [line.split("│")[1].strip() for line in capsys.readouterr().out.splitlines() if line.startswith("│ ")]
    assert rows == ["tiny", "loihi"]  # in order, each once


def test_an_unknown_chip_stops_the_comparison_before_anything_runs(capsys):
    assert main(["compare", str(SMALL), "--chips", f"{TINY},tiny", "--steps", "30"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("error: no chip named 'tiny'\n")


def test_the_same_chip_twice_gets_two_labels():
    chip = nc.load_chip(TINY)
    table = compare(nc.load(CHAIN), [chip, chip, nc.load_chip("loihi", chips=2)], steps=5)
    assert [r.label for r in table] == ["tiny #1", "tiny #2", "loihi x2"]
    assert table["loihi x2"].n_chips == 2


def test_chips_must_be_a_list():
    with pytest.raises(UsageError, match="chips must be a list of chips"):
        compare(nc.load(CHAIN), "loihi", 5)
    with pytest.raises(UsageError, match="no chips to compare"):
        compare(nc.load(CHAIN), [], 5)
    with pytest.raises(TypeError, match="chip must be a ChipSpec, a chip name or a path, not 3"):
        compare(nc.load(CHAIN), [3], 5)
    with pytest.raises(UsageError, match="steps must be a whole number > 0, got 0"):
        compare(nc.load(CHAIN), ["loihi"], 0)


def test_html_has_one_cell_spanning_the_figures_a_failing_chip_lacks(small_table):
    page = small_table._repr_html_()
    assert page.count("<tr>") == 4  # head + three chips
    assert 'colspan="9"' in page  # 10 columns: the chip's name, then its reason
    assert "projection &#x27;hidden-&gt;hidden&#x27;" in page
    assert "<script" not in page
    assert repr(small_table) == small_table.to_text().rstrip("\n")
