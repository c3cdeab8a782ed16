"""``compare`` spreads one chip's runs over the workers, in chunks of (chip, run) pairs:
its rows equal, bit for bit and in order, the rows made chip by chip with all of a chip's
runs in one batch (``_row``, the path ``sweep`` takes), whatever the workers and chunks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.load import resolve_chip
from neurocomp.compiler.lower import lower
from neurocomp.report.compare import row_labels
from neurocomp.workflows import compare as C
from neurocomp.workflows import parallel as P
from neurocomp.workflows.samples import runs_of

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def plain(row) -> dict:
    d = row.to_dict()
    d.pop("wall_s", None)
    for part in ("validation", "report"):
        (d.get(part) or {}).pop("wall_s", None)
    return d


def rows_chip_by_chip(network, chips, steps, samples):
    """The second implementation: each chip compiled, all its runs emulated as one batch,
    priced and validated, in this process."""
    specs = [resolve_chip(c) for c in chips]
    runs, labels, output = runs_of(network, steps, None, samples)
    ref_runs = C.reference_runs(network, steps, runs, lower(network), jobs=1)
    return [C._row(network, spec, label, steps, runs, ref_runs, labels, output)
            for spec, label in zip(specs, row_labels(specs))]


@pytest.fixture(scope="module")
def mnist():
    with np.load(EXAMPLES / "data" / "mnist_test.npz") as data:
        return nc.load(EXAMPLES / "mnist_mlp.snn"), (data["x"][:7], data["y"][:7])


@pytest.mark.parametrize("jobs,chunks", [(1, 16), (2, 16), (2, 3)])
def test_rows_equal_the_chip_by_chip_rows(mnist, jobs, chunks, monkeypatch):
    # 3 chips x 7 samples: with 3 chunks per spread, chunks hold the runs of two chips
    net, samples = mnist
    chips = ["loihi", "truenorth", "akida"]
    monkeypatch.setattr(P, "CHUNKS", chunks)
    got = nc.compare(net, chips, 40, samples=samples, jobs=jobs)
    want = rows_chip_by_chip(net, chips, 40, samples)
    assert [r.label for r in got] == chips
    assert [plain(r) for r in got] == [plain(r) for r in want]
    # loihi's runs overflow at 40 steps: the note (one warning for the chip's batch, its
    # first overflow checked) came through the spread unchanged
    assert any("overflow" in n or "saturated" in n for n in got["loihi"].notes)


def _note_pid(real, path):
    def emulated(mapping, steps, runs):
        with open(path, "a") as f:
            f.write(f"{mapping.chip.name} {os.getpid()} {len(runs)}\n")
        return real(mapping, steps, runs)
    return emulated


def test_one_chips_runs_spread_over_both_workers(mnist, tmp_path, monkeypatch):
    net, (x, y) = mnist
    log = tmp_path / "who.txt"
    monkeypatch.setattr(C, "_emulated", _note_pid(C._emulated, log))
    monkeypatch.setattr(P, "CHUNKS", 4)
    nc.compare(net, ["loihi"], 10, samples=(x[:6], y[:6]), jobs=2)
    rows = [line.split() for line in log.read_text().splitlines()]
    assert sum(int(n) for _, _, n in rows) == 6  # every run emulated once
    assert len({pid for _, pid, _ in rows}) == 2 and str(os.getpid()) not in {pid for _, pid, _ in rows}


def test_a_chip_refusing_a_later_chunks_runs_gives_the_batchs_error(monkeypatch):
    """The chip's row names the first run its batch refused, as one batch would, even
    when that run is in the second chunk."""
    tiny = str(ROOT / "tests" / "data" / "tiny.toml")
    raster = np.zeros((4, 20, 1), dtype=np.float64)
    raster[:, [1, 2], 0] = 1.0
    raster[3, 5, 0] = 0.5  # the fourth run's event of value 0.5: a Loihi-family chip refuses it
    net = nc.load(EXAMPLES / "chain.snn")
    samples = (raster, np.zeros(4, dtype=np.int64))
    monkeypatch.setattr(P, "CHUNKS", 2)
    got = nc.compare(net, [tiny, "truenorth"], 20, samples=samples, jobs=2)
    want = rows_chip_by_chip(net, [tiny, "truenorth"], 20, samples)
    assert got["tiny"].status == "cannot emulate" and got["tiny"].reason.startswith("input 'stim' emits the value 0.5")
    assert [plain(r) for r in got] == [plain(r) for r in want]


def test_runs_priced_one_by_one_where_they_ran_give_the_price_of_the_runs_together(mnist):
    """compare prices each run in the worker that emulated it and sends back its price,
    digest and spike counts; the row's report must be what the former path made in the
    caller: ``price_runs`` and ``report`` over the chip's whole runs (one batch, here)."""
    from neurocomp.emulator.run import emulate_batch
    from neurocomp.report.cost import price_runs
    from neurocomp.report.report import report

    net, samples = mnist
    chip = resolve_chip("loihi")
    got = nc.compare(net, ["loihi"], 40, samples=samples, jobs=2)["loihi"]
    runs, _, _ = runs_of(net, 40, None, samples)
    mapping = nc.compile(net, chip)
    whole = list(emulate_batch(mapping, 40, runs, warn=False))
    want = report(whole, price_runs(whole, chip, mapping), chip, mapping, wall_s=got.report.wall_s)
    assert got.report.to_dict() == want.to_dict()
    assert got.report.cost.samples == len(runs) and got.report.populations[0].spikes > 0
    assert got.energy_per_run_j == pytest.approx(want.cost.energy_j / len(runs), rel=1e-12)
