"""Sweeps (neurocomp.workflows.sweep, neurocomp.report.sweep, ``neurocomp sweep``): every
point of the grid is the comparison row of its configuration, in grid order, the same on
any number of workers; a point that cannot be made says why and the sweep goes on."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.diagnostics import UsageError
from neurocomp.report.compare import ChipRow
from neurocomp.report.sweep import Sweep, SweepPoint
from neurocomp.workflows.sweep import weight_variant

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CHAIN = EXAMPLES / "chain.snn"
TINY = str(ROOT / "tests" / "data" / "tiny.toml")


def _bare(d: dict) -> dict:
    d = dict(d)
    d.pop("wall_s", None)
    d["points"] = [{k: v for k, v in p.items() if k != "wall_s"} for p in d["points"]]
    return d


def test_the_grid_is_every_combination_in_axis_order_and_each_point_is_its_comparison_row():
    grid = nc.sweep(CHAIN, {"chip": ["loihi", TINY], "partition": ["auto", "greedy"], "place": ["greedy"]},
                    20, jobs=1)
    assert [(p.chip, p.partition, p.place) for p in grid.points] == [
        ("loihi", "auto", "greedy"), ("loihi", "greedy", "greedy"), ("tiny", "auto", "greedy"),
        ("tiny", "greedy", "greedy")]
    table = nc.compare(CHAIN, ["loihi", TINY], 20, jobs=1)  # the second path to the same figures
    for p, r in zip(grid.points, grid.rows):
        want = table[p.chip]
        assert r.status == want.status == "ok"
        assert (r.energy_per_run_j, r.latency_per_run_s, r.spikes_chip) == \
            (want.energy_per_run_j, want.latency_per_run_s, want.spikes_chip)
    # two workers: the same sweep
    again = nc.sweep(CHAIN, {"chip": ["loihi", TINY], "partition": ["auto", "greedy"], "place": ["greedy"]},
                     20, jobs=2)
    assert _bare(again.to_dict()) == _bare(grid.to_dict())


def test_fewer_weight_bits_give_a_larger_weight_error_on_mnist():
    net = nc.load(EXAMPLES / "mnist_mlp.snn")
    with np.load(EXAMPLES / "data" / "mnist_test.npz") as data:
        samples = (data["x"][:6], data["y"][:6])
    grid = nc.sweep(net, {"chip": ["loihi", "truenorth"], "weight_bits": [2, 4, 8]}, 20, samples=samples)
    loihi = [r for p, r in zip(grid.points, grid.rows) if p.chip == "loihi"]
    assert [r.status for r in loihi] == ["ok", "ok", "ok"]
    errors = [r.weight_error_max for r in loihi]
    assert errors[0] > errors[1] > errors[2]  # 2 bits round more coarsely than 4, 4 than 8
    assert all(r.accuracy is not None for r in loihi) and grid.accuracy_ref is not None
    # TrueNorth stores 9-bit weights only: its points say so, and the sweep went on
    tn = [r for p, r in zip(grid.points, grid.rows) if p.chip == "truenorth"]
    assert [r.status for r in tn] == ["no such chip"] * 3
    assert tn[0].reason == "truenorth has no weight width of at most 2 bits (its widths: 9)"


def test_a_weight_variant_keeps_the_narrower_widths_and_says_who_chose_them():
    loihi = nc.load_chip("loihi")
    four = weight_variant(loihi, 4)
    assert four.numerics.weights.bits == (1, 2, 3, 4) and loihi.numerics.weights.bits == (1, 2, 3, 4, 5, 6, 8)
    assert four.provenance["numerics.weights.bits"].startswith("user: a sweep keeps loihi's widths up to 4 bits")
    assert weight_variant(loihi, 8) is loihi
    with pytest.raises(UsageError, match="weight_bits must be a whole number > 0, got 0"):
        weight_variant(loihi, 0)


def test_a_profile_the_chip_lacks_is_a_row_not_a_failure():
    grid = nc.sweep(CHAIN, {"chip": ["loihi", "truenorth"], "profile": ["sanafe"]}, 20, jobs=1)
    assert [r.status for r in grid.rows] == ["ok", "no such chip"]
    assert grid.points[0].profile == "sanafe"
    assert "sanafe" in grid.rows[1].reason


def _row(energy, latency, accuracy, status="ok"):
    return ChipRow(label="x", chip="x", profile="p", n_chips=1, status=status, energy_per_run_j=energy,
                   latency_per_run_s=latency, accuracy=accuracy)


def test_the_pareto_front_by_hand():
    rows = (_row(1.0, 5.0, 0.90),   # 0: lowest energy
            _row(2.0, 1.0, 0.90),   # 1: lowest latency
            _row(2.0, 2.0, 0.90),   # 2: beaten by 1 (same energy, slower, same accuracy)
            _row(3.0, 3.0, 0.99),   # 3: best accuracy
            _row(3.0, 3.0, 0.95),   # 4: beaten by 3
            _row(None, None, None, status="does not fit"))
    point = SweepPoint(chip="x", profile="p", n_chips=1, weight_bits=None, partition="auto", place="anneal")
    sweep = Sweep(network="n", steps=1, runs=1, dt_ms=1.0, classifier=True, accuracy_ref=1.0,
                  points=(point,) * len(rows), rows=rows)
    assert sweep.pareto() == [0, 1, 3]
    assert [p["pareto"] for p in sweep.to_dict()["points"]] == [True, True, False, True, False, False]


@pytest.mark.parametrize("grid,message", [
    ({"chip": ["loihi"], "weight_bit": [4]}, "a sweep has no axis 'weight_bit'"),
    ({"weight_bits": [4]}, r"a sweep needs the chips to sweep: grid\['chip'\]"),
    ({"chip": []}, "the sweep's axis 'chip' has no values"),
    ({"chip": ["loihi"], "partition": ["nope"]}, "nope"),
    ({"chip": ["loihix"]}, "loihix"),
])
def test_a_bad_grid_is_refused_before_anything_runs(grid, message):
    with pytest.raises(UsageError, match=message):
        nc.sweep(CHAIN, grid, 20)


def test_the_command_writes_the_table_json_and_csv(tmp_path, capsys):
    from neurocomp.cli import main

    argv = ["sweep", str(CHAIN), "--chips", f"loihi,{TINY}", "--weight-bits", "2,8", "--steps", "20",
            "--out", str(tmp_path), "--jobs", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("sweep of 'chain' over 4 points: 20 steps of 1 ms per run, 1 run\n")
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert [(p["point"]["chip"], p["point"]["weight_bits"]) for p in saved["points"]] == [
        ("loihi", 2), ("loihi", 8), ("tiny", 2), ("tiny", 8)]
    lines = list(csv.DictReader(io.StringIO((tmp_path / "sweep.csv").read_text())))
    assert [line["chip"] for line in lines] == ["loihi", "loihi", "tiny", "tiny"]
    assert [float(line["energy_per_run_j"]) for line in lines] == [p["energy_per_run_j"] for p in saved["points"]]
    assert main(argv) == 1  # the files exist now
    assert "already exists; not overwriting" in capsys.readouterr().err


def test_the_command_refuses_bad_lists(capsys):
    from neurocomp.cli import main

    with pytest.raises(SystemExit) as e:
        main(["sweep", str(CHAIN), "--chips", "loihi", "--weight-bits", "4,x", "--steps", "5"])
    assert e.value.code == 2
    assert "expected whole numbers separated by commas, got '4,x'" in capsys.readouterr().err


def test_the_picture_shows_every_point_that_ran_and_rings_the_front():
    pytest.importorskip("matplotlib")
    rows = (_row(1.0, 5.0, 0.90), _row(2.0, 1.0, 0.90), _row(2.0, 2.0, 0.90),
            _row(None, None, None, status="does not fit"))
    point = SweepPoint(chip="x", profile="p", n_chips=1, weight_bits=None, partition="auto", place="anneal")
    sweep = Sweep(network="n", steps=1, runs=1, dt_ms=1.0, classifier=True, accuracy_ref=1.0,
                  points=(point,) * len(rows), rows=rows)
    fig = sweep.figure()
    latency, accuracy = fig.axes
    grey, red = latency.collections
    assert grey.get_offsets().tolist() == [[2.0, 2.0]]                 # beaten by #1
    assert red.get_offsets().tolist() == [[1.0, 5.0], [2.0, 1.0]]      # the front: #0 and #1
    assert [t.get_text() for t in latency.texts] == ["#0", "#1"]
    assert accuracy.collections[1].get_offsets().tolist() == [[1.0, 0.9], [2.0, 0.9]]
    assert fig._suptitle.get_text() == "sweep of 'n': 3 of 4 points ran"


def test_ctrl_c_keeps_the_points_that_finished(monkeypatch):
    from neurocomp.workflows import sweep as S

    real = S.map_chunks

    def stop_after_two(fn, shared, items, **kw):
        seen = []

        def on_chunk(first, out):
            kw_on = kw.get("on_chunk")
            if kw_on is not None:
                kw_on(first, out)
            seen.append(first)
            if fn is S._points and len(seen) == 2:
                raise KeyboardInterrupt  # as Ctrl-C arriving after the second point
        return real(fn, shared, items, **dict(kw, on_chunk=on_chunk, jobs=1))

    monkeypatch.setattr(S, "map_chunks", stop_after_two)
    with pytest.raises(S.SweepInterrupted) as e:
        nc.sweep(CHAIN, {"chip": ["loihi", TINY], "weight_bits": [2, 8]}, 20)
    partial = e.value.sweep
    assert partial.partial and [r.status for r in partial.rows] == ["ok", "ok", "interrupted", "interrupted"]
    assert partial.to_dict()["partial"] is True
    assert "partial: interrupted after 2 of 4 points" in partial.to_text()
    monkeypatch.undo()
    whole = nc.sweep(CHAIN, {"chip": ["loihi"], "weight_bits": [2, 8]}, 20, jobs=1)
    assert [r.energy_per_run_j for r in partial.rows[:2]] == [r.energy_per_run_j for r in whole.rows]


def test_the_command_writes_a_partial_sweep_on_ctrl_c_and_exits_130(monkeypatch, tmp_path, capsys):
    from neurocomp.cli import main
    from neurocomp.workflows import sweep as S

    real = S.map_chunks

    def stop_after_one(fn, shared, items, **kw):
        def on_chunk(first, out):
            if fn is S._points:
                raise KeyboardInterrupt
        return real(fn, shared, items, **dict(kw, on_chunk=on_chunk, jobs=1))

    monkeypatch.setattr(S, "map_chunks", stop_after_one)
    code = main(["sweep", str(CHAIN), "--chips", "loihi", "--weight-bits", "2,8", "--steps", "20",
                 "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 130 and captured.err.endswith("interrupted\n")
    assert "partial: interrupted after 1 of 2 points" in captured.out
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["partial"] is True and [p["status"] for p in saved["points"]] == ["ok", "interrupted"]
