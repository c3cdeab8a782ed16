"""``neurocomp run`` and ``neurocomp validate``: tables, files, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.cli import main
from neurocomp.report.cost import cost

HERE = Path(__file__).parent
EXAMPLES = HERE.parent / "examples"
CHAIN = str(EXAMPLES / "chain.snn")
MNIST = str(EXAMPLES / "mnist_mlp.snn")
TINY = str(HERE / "data" / "tiny.toml")
GOLDEN = HERE / "golden" / "report"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def without_wall(text: str) -> str:
    """The report minus the wall-clock line (it differs from run to run)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("wall: "))


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- run


def test_run_chain_on_the_tiny_chip(capsys, update_golden: bool) -> None:
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "20")
    assert code == 0, err
    check_golden("chain_tiny.txt", without_wall(out), update_golden)
    # chain.snn's hand derivation: a fires 3 times, b 3, c once; 8 input spikes
    for row in ("│ stim       │ input   │       1 │      8 │", "│ a          │ neurons │       1 │      3 │",
                "│ b          │ neurons │       1 │      3 │", "│ c          │ neurons │       1 │      1 │"):
        assert row in out
    assert out.count("wall: ") == 1


def test_the_table_shows_the_cost_of_the_emulated_counters(capsys, tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "20", "--out", str(tmp_path),
                             "--trace")
    assert code == 0, err
    report = json.loads((tmp_path / "report.json").read_text())
    trace = np.load(tmp_path / "counters.npz")
    from neurocomp.ir.result import Counters

    counters = Counters(core_ids=trace["core_ids"], **{f: trace[f] for f in Counters.FIELDS})
    assert trace["synops"].shape == (20, counters.core_ids.size)
    # Independently: 8 input spikes reach a through one synapse each; a's 3 spikes reach b,
    # b's 3 reach c: 8 + 3 + 3 synaptic ops; c's spike goes nowhere.
    assert int(counters.synops.sum()) == 14 and int(counters.spikes_out.sum()) == 7
    priced = cost(counters, load_chip(TINY))
    assert report["cost"]["energy_j"]["total"] == pytest.approx(priced.energy_j, rel=1e-12)
    assert report["cost"]["latency_s"]["total"] == pytest.approx(priced.latency_s, rel=1e-12)
    assert report["populations"]["a"] == {"size": 1, "input": False, "spikes": 3}
    assert report["chip"] == "tiny" and report["profile"] == "unit" and report["steps"] == 20
    # the spikes are the RunResult's files
    from neurocomp.ir.result import RunResult

    saved = RunResult.load(tmp_path)
    assert saved.spikes["c"].times.tolist() == [9]
    assert "wrote " in out and "report.json" in out


def test_run_refuses_to_overwrite_before_running(capsys, tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{}")
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "5", "--out", str(tmp_path))
    assert code == 1 and out == ""
    assert err == (f"error: '{tmp_path / 'report.json'}' already exists; not overwriting a previous run\n"
                   "= help: choose another --out folder, or add --force to replace it\n")
    assert (tmp_path / "report.json").read_text() == "{}"
    code, _, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "5", "--out", str(tmp_path), "--force")
    assert code == 0, err
    assert json.loads((tmp_path / "report.json").read_text())["steps"] == 5


@pytest.mark.parametrize("argv,message", [
    (["--steps", "0"], "error: --steps must be positive, got 0\n"),
    (["--steps", "5", "--batch", "2"], "error: --batch needs --inputs: the samples to run\n"
                                       "= help: give --inputs FILE.npz\n"),
    (["--steps", "5", "--batch", "0"], "error: --batch must be positive, got 0\n"),
])
def test_run_usage_errors(capsys, argv: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, *argv)
    assert (code, out, err) == (1, "", message)


def test_run_of_a_network_needs_a_chip(capsys) -> None:
    assert main(["run", CHAIN, "--steps", "5"]) == 1
    assert capsys.readouterr().err.startswith(
        "error: to run the network '" + CHAIN + "', say which chip: --chip NAME|PATH\n")


def test_inputs_file_names_unknown_population(capsys, tmp_path: Path) -> None:
    np.savez(tmp_path / "in.npz", stimm=np.zeros((5, 1)))
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "5", "--inputs", str(tmp_path / "in.npz"))
    assert code == 1
    assert "has an array 'stimm', but network 'chain' has no input population of that name" in err
    assert "did you mean 'stim'" in err


def test_inputs_raster_replaces_the_encoder(capsys, tmp_path: Path) -> None:
    raster = np.zeros((10, 1), dtype=np.uint8)
    raster[[1, 2], 0] = 1  # two spikes in a row: a fires once (0.375 + 0.75 > 1) at step 3
    np.savez(tmp_path / "in.npz", stim=raster)
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "10", "--inputs",
                             str(tmp_path / "in.npz"), "--out", str(tmp_path / "o"))
    assert code == 0, err
    from neurocomp.ir.result import RunResult

    saved = RunResult.load(tmp_path / "o")
    assert saved.spikes["stim"].times.tolist() == [1, 2]
    assert saved.spikes["a"].times.tolist() == [3] and saved.spikes["b"].times.tolist() == [4]


def test_batch_sums_the_samples(capsys, tmp_path: Path) -> None:
    rasters = np.zeros((3, 10, 1), dtype=np.uint8)
    rasters[0, [1, 2], 0] = 1  # a fires once
    rasters[1, [1, 2, 5, 6], 0] = 1  # a fires twice
    # sample 2: silent
    np.savez(tmp_path / "in.npz", stim=rasters)
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "10", "--inputs",
                             str(tmp_path / "in.npz"), "--batch", "3", "--out", str(tmp_path / "o"), "--trace")
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["samples"] == 3 and report["populations"]["a"]["spikes"] == 3
    counts = np.load(tmp_path / "o" / "batch_counts.npz")
    assert counts["a"].tolist() == [[1], [2], [0]]
    trace = np.load(tmp_path / "o" / "counters.npz")
    assert trace["synops"].shape[:2] == (3, 10)
    # the batch costs the sum of its samples, each priced alone
    from neurocomp.ir.result import Counters

    tiny = load_chip(TINY)
    total = sum(cost(Counters(core_ids=trace["core_ids"], **{f: trace[f][s] for f in Counters.FIELDS}), tiny).energy_j
                for s in range(3))
    assert report["cost"]["energy_j"]["total"] == pytest.approx(total, rel=1e-12)
    assert "x 3 samples" in out and "per sample" in out


def test_batch_with_too_few_samples(capsys, tmp_path: Path) -> None:
    np.savez(tmp_path / "in.npz", stim=np.zeros((2, 10, 1)))
    code, _, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "10", "--inputs",
                           str(tmp_path / "in.npz"), "--batch", "3")
    assert code == 1 and "input 'stim' has 2 samples; --batch asks for 3" in err


def test_profile_changes_the_price_not_the_run(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "run", CHAIN, "--chip", "loihi", "--steps", "20", "--out", str(tmp_path / "d"))
    assert code == 0, err
    code, _, err = run_cli(capsys, "run", CHAIN, "--chip", "loihi", "--profile", "sanafe", "--steps", "20",
                           "--out", str(tmp_path / "s"))
    assert code == 0, err
    d = json.loads((tmp_path / "d" / "report.json").read_text())
    s = json.loads((tmp_path / "s" / "report.json").read_text())
    assert d["profile"] == "davies2018" and s["profile"] == "sanafe"
    assert d["populations"] == s["populations"]
    # davies2018 charges 104 mW of static power; sanafe none
    assert d["cost"]["energy_j"]["by_kind"]["static"] > 0 and s["cost"]["energy_j"]["by_kind"]["static"] == 0


def test_real_time_chip(capsys) -> None:
    code, out, err = run_cli(capsys, "run", CHAIN, "--chip", "truenorth", "--steps", "20")
    assert code == 0, err
    assert "real time: one tick per step" in out and "20 ms" in out


# --------------------------------------------------------------------------- validate


def test_validate_chain(capsys) -> None:
    code, out, err = run_cli(capsys, "validate", CHAIN, "--chip", "loihi", "--steps", "20")
    assert code == 0, err
    assert "float reference vs loihi emulation of 'chain': 20 steps" in out
    # chain's weights and leak are short binary fractions: Loihi reproduces every spike
    assert "│ a          │       1 │      3 │      3 │   1.000 │    150.00 │    150.00 │ +0.0% │         0.00 │" in out


def test_validate_mnist_classifier(capsys, tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "validate", MNIST, "--chip", "loihi", "--steps", "50", "--samples",
                             str(EXAMPLES / "data" / "mnist_test.npz"), "--limit", "40", "--out", str(tmp_path))
    assert code == 0, err
    data = json.loads((tmp_path / "validation.json").read_text())
    c = data["classifier"]
    assert c["samples"] == 40 and c["output"] == "out"
    assert c["accuracy_ref"] >= 0.9 and c["agreement"] >= 0.9
    # the chip's saturating v is reported once, as a note, not as one warning per sample
    assert "warning" not in err.lower()


def test_validate_limit_needs_samples(capsys) -> None:
    code, _, err = run_cli(capsys, "validate", CHAIN, "--chip", "loihi", "--steps", "5", "--limit", "3")
    assert code == 1 and err == "error: --limit needs --samples\n"


def test_validate_missing_sample_file(capsys) -> None:
    code, _, err = run_cli(capsys, "validate", CHAIN, "--chip", "loihi", "--steps", "5", "--samples", "nope.npz")
    assert code == 1 and "no such sample file: 'nope.npz'" in err


def test_run_a_saved_mapping(capsys, tmp_path: Path) -> None:
    m = tmp_path / "chain.map.json"
    code, _, err = run_cli(capsys, "compile", CHAIN, "--chip", TINY, "-o", str(m))
    assert code == 0, err
    code, from_map, err = run_cli(capsys, "run", str(m), "--chip", TINY, "--steps", "20")
    assert code == 0, err
    code, from_snn, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--steps", "20")
    assert code == 0, err
    # the same mapping gives the same report (the snn path also shows the compile time)
    assert without_wall(from_map) == without_wall(from_snn)


def test_a_mapping_runs_only_on_its_chip(capsys, tmp_path: Path) -> None:
    m = tmp_path / "chain.map.json"
    assert main(["compile", CHAIN, "--chip", TINY, "-o", str(m)]) == 0
    capsys.readouterr()
    code, _, err = run_cli(capsys, "run", str(m), "--chip", "loihi", "--steps", "5")
    assert code == 1
    assert err == (f"error: '{m}' was compiled for tiny (1 chip), not loihi (1)\n"
                   "= help: run it with --chip tiny, or compile the network again for this chip\n")


def test_run_a_mapping_with_another_profile(capsys, tmp_path: Path) -> None:
    m = tmp_path / "chain.map.json"
    assert main(["compile", CHAIN, "--chip", "loihi", "-o", str(m)]) == 0
    capsys.readouterr()
    code, out, err = run_cli(capsys, "run", str(m), "--chip", "loihi", "--profile", "sanafe", "--steps", "5")
    assert code == 0, err
    assert "run of 'chain' on loihi (profile sanafe)" in out


def test_not_a_network_file(capsys) -> None:
    code, _, err = run_cli(capsys, "run", "weights.npy", "--chip", TINY, "--steps", "5")
    assert code == 1
    assert err == "error: 'weights.npy' is not a network file: expected a .snn file or a .map.json mapping\n"


def test_every_chip_of_the_system_draws_static_power(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "run", CHAIN, "--chip", TINY, "--chips", "2", "--steps", "20", "--out", str(tmp_path))
    assert code == 0, err
    c = json.loads((tmp_path / "report.json").read_text())["cost"]
    assert c["chips_powered"] == 2
    # 1 mW per chip (tiny.toml) x 2 chips x the run's latency
    assert c["energy_j"]["by_kind"]["static"] == pytest.approx(2 * 1e-3 * c["latency_s"]["total"], rel=1e-12)


def test_a_saved_mapping_runs_without_naming_its_chip_again(tmp_path, capsys):
    # The example: 'neurocomp run mnist.map.json --steps 100 --inputs digits.npz --batch N'.
    from neurocomp.cli import main

    chain = str(Path(__file__).parent.parent / "examples" / "chain.snn")
    out = tmp_path / "chain.map.json"
    assert main(["compile", chain, "--chip", "loihi", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["run", str(out), "--steps", "20"]) == 0
    assert "run of 'chain' on loihi" in capsys.readouterr().out
    assert main(["run", str(out), "--steps", "20", "--chips", "2"]) == 1
    assert "was compiled for 1 chip of loihi, not 2" in capsys.readouterr().err
    assert main(["run", chain, "--steps", "20"]) == 1
    assert "say which chip: --chip NAME|PATH" in capsys.readouterr().err
