"""The compile pipeline, ``neurocomp compile`` (golden files), and the Mapping on disk.

Golden files: ``tests/golden/compile/<case>.args`` is a command line (run in that
folder), ``<case>.expected`` its exit code, standard output and standard error, with
the pass times replaced by ``#.###``. ``pytest --update-golden`` rewrites them (review
the diff before committing).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from test_compiler_partition import TINY, hand_quantize, make_net

import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.cli import main
from neurocomp.ir.lowered import LoweredNetwork
from neurocomp.compiler.pipeline import (PASS_NAMES, LowerPass, PartitionPass, PlacePass, QuantizePass, RoutePass, compile,
                                         compile_network, default_passes, describe_artifact)
from neurocomp.diagnostics import InputFileError, UsageError
from neurocomp.ir.connectors import AllToAll
from neurocomp.ir.mapping import Mapping, arrays_path
from neurocomp.ir.partition import Partition, Placement
from neurocomp.ir.quantized import QuantizedNetwork

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "compile"
EXAMPLES = HERE.parent / "examples"
CASES = sorted(p.stem for p in GOLDEN.glob("*.args"))


# --------------------------------------------------------------------------- golden


def _mask_times(text: str) -> str:
    # the padding too: a pass of 10 s or more (a cold Numba cache on a loaded box) pads one less
    return re.sub(r"(│ (?:lower|quantize|partition|place|route|total)\s+│)\s+\d+\.\d{3}", r"\1   #.###", text)


@pytest.mark.parametrize("case", CASES)
def test_golden(case, monkeypatch, capsys, update_golden):
    monkeypatch.chdir(GOLDEN)
    args = shlex.split((GOLDEN / f"{case}.args").read_text())
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out = capsys.readouterr()
    got = f"exit {code}\n--- stdout ---\n{_mask_times(out.out)}--- stderr ---\n{out.err}"
    expected = GOLDEN / f"{case}.expected"
    if update_golden:
        expected.write_text(got)
    assert expected.exists(), f"no golden file {expected.name}; run pytest --update-golden"
    assert got == expected.read_text()


def test_there_are_golden_cases():
    assert {"small", "small_dump", "fanin", "too_big", "no_split", "too_big_for_any"} <= set(CASES)


# --------------------------------------------------------------------------- passes and hooks


@pytest.fixture(scope="module")
def tiny2():
    return load_chip(TINY, chips=2)


def test_the_hook_sees_every_pass_in_order_with_its_artifact(tiny2):
    seen = []
    net = nc.load(GOLDEN / "small.snn")
    m = compile_network(net, tiny2, on_pass=lambda p, a, s: seen.append((p.name, type(a), s >= 0)))
    assert seen == [("lower", LoweredNetwork, True), ("quantize", QuantizedNetwork, True), ("partition", Partition, True),
                    ("place", Placement, True), ("route", Mapping, True)]
    assert list(m.pass_times_s) == list(PASS_NAMES)
    assert compile is compile_network


def test_a_quantized_network_skips_the_quantize_pass(tiny2):
    net = make_net({"inp": 3, "a": 20}, [("p", "inp", "a", AllToAll(1.0))], inputs=("inp",))
    q = hand_quantize(net, tiny2)
    m = compile_network(q, tiny2)
    assert "quantize" not in m.pass_times_s and "lower" not in m.pass_times_s
    assert m.n_synapses == 60


def test_passes_must_end_in_a_mapping(tiny2):
    net = nc.load(GOLDEN / "small.snn")
    with pytest.raises(UsageError) as info:
        compile_network(net, tiny2, passes=(QuantizePass(), PartitionPass()))
    assert info.value.render() == ("error: the passes (quantize, partition) end with a Partition, not a Mapping\n"
                                   "= help: end the pipeline with RoutePass()")


def test_strategies_reach_their_passes(tiny2):
    passes = default_passes(partition="sequential", allow_split=False, place="row_major", seed=4)
    assert passes == (LowerPass(), QuantizePass(), PartitionPass(strategy="sequential", allow_split=False),
                      PlacePass(strategy="row_major", seed=4), RoutePass())
    net = make_net({"a": 10, "b": 10}, [("ab", "a", "b", AllToAll(1.0))])
    m = compile_network(hand_quantize(net, tiny2), tiny2, passes=passes)
    # Whole populations: a and b (10 each) cannot share a 16-neuron core.
    assert [[s.population for s in c.slices] for c in m.cores] == [["a"], ["b"]]
    assert m.compile_report["partition"]["strategy"] == "whole populations"
    assert m.compile_report["placement"]["strategy"] == "row_major"


def test_every_artifact_has_a_text_form(tiny2):
    texts = {}
    compile_network(nc.load(GOLDEN / "small.snn"), tiny2,
                    on_pass=lambda p, a, s: texts.__setitem__(p.name, describe_artifact(a)))
    assert texts["quantize"].startswith("quantized 'small' for tiny (loihi_cuba_lif)\n")
    assert texts["partition"].startswith("partition of 'small' for tiny: ")
    assert texts["place"].startswith("placement of ")
    assert texts["route"].startswith("mapping of 'small' onto tiny (loihi_cuba_lif): ")
    assert all(t.endswith("\n") for t in texts.values())


# --------------------------------------------------------------------------- on disk


@pytest.fixture(scope="module")
def mapping(tiny2) -> Mapping:
    return compile_network(nc.load(GOLDEN / "small.snn"), tiny2)


def test_save_load_gives_equal_arrays(mapping, tmp_path):
    json_path, npz_path = mapping.save(tmp_path / "small.map.json")
    assert npz_path == tmp_path / "small.map.npz" == arrays_path(json_path)
    doc = json.loads(json_path.read_text())
    assert doc["version"] == 1 and doc["format"] == "neurocomp-mapping"
    assert doc["chip"]["name"] == "tiny" and doc["chip"]["system"]["chips_x"] * doc["chip"]["system"]["chips_y"] == 2
    assert doc["network"]["text"].startswith("network small\n")
    assert Path(doc["network"]["base_dir"]).is_absolute()
    with np.load(npz_path, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
    back = Mapping.load(json_path)
    assert mapping.diff(back) is None
    assert back.pass_times_s == pytest.approx(dict(mapping.pass_times_s))
    assert back.quantization == mapping.quantization
    assert back.compile_report == json.loads(json.dumps(dict(mapping.compile_report)))


def test_save_load_emulates_the_same(mapping, tmp_path):
    from neurocomp.emulator.run import emulate
    mapping.save(tmp_path / "m.map.json")
    back = Mapping.load(tmp_path / "m.map.json")
    a, b = emulate(mapping, 50), emulate(back, 50)
    for name in a.spikes:
        assert np.array_equal(a.spikes[name].times, b.spikes[name].times)
        assert np.array_equal(a.spikes[name].indices, b.spikes[name].indices)


def _edit(tmp_path, mapping, change) -> Path:
    path, npz = mapping.save(tmp_path / "m.map.json")
    change(path, npz)
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(InputFileError) as info:
        Mapping.load(path)
    return info.value.render()


def test_a_missing_file_is_one_line(tmp_path):
    assert _load_error(tmp_path / "nope.map.json") == f"{tmp_path / 'nope.map.json'}: error: no such file: " \
                                                      f"'{tmp_path / 'nope.map.json'}'"


def test_bad_json_names_the_line(tmp_path, mapping):
    path = _edit(tmp_path, mapping, lambda p, n: p.write_text('{"format": "neurocomp-mapping",\n  oops}'))
    assert "is not a valid neurocomp mapping: bad JSON at line 2, column 3" in _load_error(path)


def test_another_version_is_refused_by_number(tmp_path, mapping):
    def bump(p, n):
        doc = json.loads(p.read_text())
        doc["version"] = 99
        p.write_text(json.dumps(doc))
    text = _load_error(_edit(tmp_path, mapping, bump))
    assert "it is format version 99; this neurocomp reads version 1" in text


def test_an_edited_field_is_named(tmp_path, mapping):
    def edit(p, n):
        doc = json.loads(p.read_text())
        doc["cores"][0]["comp_start"] = "zero"
        del doc["family"]
        p.write_text(json.dumps(doc))
    text = _load_error(_edit(tmp_path, mapping, edit))
    assert "family: Field required" in text and "cores.0.comp_start: Input should be a valid integer" in text
    assert "Traceback" not in text


def test_edited_arrays_are_named(tmp_path, mapping):
    def edit(p, n):
        with np.load(n) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["syn_target"] = arrays["syn_target"].astype(np.int64)
        del arrays["route_axon"]
        np.savez(n, **arrays)
    text = _load_error(_edit(tmp_path, mapping, edit))
    assert "array 'route_axon' is missing" in text

    def out_of_range(p, n):
        with np.load(n) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["syn_target"][0] = 10_000
        np.savez(n, **arrays)
    text = _load_error(_edit(tmp_path, mapping, out_of_range))
    assert f"array 'syn_target' holds 10,000, outside 0..{mapping.n_comp - 1}" in text

    def wrong_dtype(p, n):
        with np.load(n) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["syn_weight"] = arrays["syn_weight"].astype(np.float64)
        np.savez(n, **arrays)
    assert "array 'syn_weight' is float64[" in _load_error(_edit(tmp_path, mapping, wrong_dtype))


def test_a_pickled_arrays_file_is_refused(tmp_path, mapping):
    def pickled(p, n):
        with np.load(n) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["comp_core"] = np.array([object()], dtype=object)
        np.savez(n, **arrays)
    assert "cannot be read (ValueError" in _load_error(_edit(tmp_path, mapping, pickled))


def test_a_broken_network_text_says_so(tmp_path, mapping):
    def edit(p, n):
        doc = json.loads(p.read_text())
        doc["network"]["text"] = doc["network"]["text"].replace("population", "populaton", 1)
        p.write_text(json.dumps(doc))
    assert "the network it holds does not build" in _load_error(_edit(tmp_path, mapping, edit))


# --------------------------------------------------------------------------- the command


def test_compile_writes_a_mapping_that_loads(tmp_path, capsys):
    out = tmp_path / "small.map.json"
    assert main(["compile", str(GOLDEN / "small.snn"), "--chip", str(TINY), "--chips", "2", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out} and {arrays_path(out)}" in text
    assert Mapping.load(out).n_comp == 30


def test_compile_refuses_a_non_network_file(capsys):
    assert main(["compile", "weights.npy"]) == 1
    assert capsys.readouterr().err == "error: 'weights.npy' is not a network file: expected a .snn file\n"


@pytest.mark.parametrize("example, chip", [("chain", "loihi"), ("mnist_mlp", "loihi"), ("dvs_conv", "loihi"),
                                           ("encoders", "truenorth")])
def test_examples_compile(example, chip, capsys):
    assert main(["compile", str(EXAMPLES / f"{example}.snn"), "--chip", chip]) == 0
    assert f"compiled '{example}' for {chip}:" in capsys.readouterr().out


def test_every_strategy_emulates_the_same_spikes(tiny2):
    # Where neurons sit must not change what they compute: the same quantized network,
    # cut and placed every way, fires the same spikes (Loihi arithmetic, no relays).
    from neurocomp.emulator.run import emulate
    from neurocomp.compiler.quantize import quantize

    q = quantize(nc.load(GOLDEN / "small.snn"), tiny2)
    runs = {}
    for part_s in ("sequential", "bfs", "greedy"):
        for place_s in ("row_major", "anneal"):
            m = compile_network(q, tiny2, passes=default_passes(partition=part_s, place=place_s, seed=1))
            r = emulate(m, 60)
            runs[(part_s, place_s)] = {k: (v.times.tolist(), v.indices.tolist()) for k, v in r.spikes.items()}
    first = next(iter(runs.values()))
    assert sum(len(t) for t, _ in first.values()) > 0
    assert all(r == first for r in runs.values())
