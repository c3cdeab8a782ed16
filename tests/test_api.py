"""The Python API (``import neurocomp as nc``): its examples run, it gives what the
command line gives for the same network (same spikes, same energy), and it says what is
wrong with a bad argument."""

from __future__ import annotations

import doctest
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.cli import main
from neurocomp.diagnostics import NeurocompError, UsageError

ROOT = Path(__file__).parent.parent
CHAIN = "examples/chain.snn"
TINY = "tests/data/tiny.toml"
SMALL = "tests/golden/compare/small.snn"
API_DOC = ROOT / "docs" / "api.md"


@pytest.fixture
def at_root(monkeypatch):
    """The examples' paths are relative to the repository's root."""
    monkeypatch.chdir(ROOT)


# --------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("module", ["neurocomp.api", "neurocomp.workflows.compare"])
def test_docstring_examples_run(module, at_root):
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(mod) if t.examples]
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0
    # every public function of the API shows how it is called
    if module == "neurocomp.api":
        documented = {t.name.rsplit(".", 1)[-1] for t in tests}
        assert {"compile", "run", "price", "validate", "compare", "resolve_chip", "as_network"} <= documented


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_docs_api_blocks_run_from_the_repository_root(at_root, tmp_path, monkeypatch):
    blocks = python_blocks(API_DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    scope: dict = {"__name__": "docs_api"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/api.md block {i + 1}", "exec"), scope)  # noqa: S102
        except Exception as exc:  # pragma: no cover - the message says which block
            pytest.fail(f"docs/api.md python block {i + 1} failed: {type(exc).__name__}: {exc}")
    for name in ("chain.map.json", "chain.map.npz"):  # the page cleans up what it writes
        assert not (ROOT / name).exists()


# --------------------------------------------------------------------------- the namespace


def test_import_neurocomp_stays_light():
    code = ("import sys, neurocomp as nc; heavy = [m for m in ('numpy', 'numba', 'rich', 'pydantic', 'lark', "
            "'networkx') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_loading_and_compiling_a_network_leaves_networkx_unimported():
    # networkx (~0.2 s to import) serves Network.graph alone: a command that never asks for
    # it must not pay for it; asking for it still works
    code = ("import sys, neurocomp as nc; net = nc.load('examples/chain.snn'); nc.compile(net, 'loihi'); "
            "print('networkx' in sys.modules); print(sorted(net.graph.nodes) == sorted(net.populations))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["False", "True"]


def test_every_public_name_resolves_and_is_listed():
    assert len(set(nc.__all__)) == len(nc.__all__)
    for name in nc.__all__:
        assert getattr(nc, name) is not None, name
    assert {"load", "compile", "run", "price", "validate", "compare", "simulate", "load_chip", "import_nir",
            "export_nir", "Mapping", "RunResult", "Report", "ValidationReport", "Comparison"} <= set(nc.__all__)
    assert dir(nc) == sorted(nc.__all__)
    with pytest.raises(AttributeError, match="module 'neurocomp' has no attribute 'compil'"):
        nc.compil  # noqa: B018


# --------------------------------------------------------------------------- the same as the CLI


@pytest.mark.parametrize("network, chip, chips", [(CHAIN, TINY, None), (CHAIN, "loihi", None), (SMALL, TINY, 2)],
                         ids=["chain-tiny", "chain-loihi", "small-tiny-x2"])
def test_compile_run_price_give_what_neurocomp_run_gives(network, chip, chips, at_root, tmp_path, capsys):
    argv = ["run", network, "--chip", chip, "--steps", "30", "--out", str(tmp_path)]
    assert main(argv + (["--chips", str(chips)] if chips else [])) == 0
    capsys.readouterr()
    cli_report = json.loads((tmp_path / "report.json").read_text())
    cli_spikes = nc.RunResult.load(tmp_path)

    mapping = nc.compile(network, chip=chip, chips=chips)
    result = nc.run(mapping, steps=30)
    report = nc.price(result, mapping)
    assert set(result.spikes) == set(cli_spikes.spikes)
    for name, ev in result.spikes.items():
        assert np.array_equal(ev.times, cli_spikes.spikes[name].times), name
        assert np.array_equal(ev.indices, cli_spikes.spikes[name].indices), name
    api = report.to_dict()
    assert api["cost"] == cli_report["cost"]  # every energy and latency figure, per core too
    assert api["populations"] == cli_report["populations"]
    assert report.cost.energy_j == cli_report["cost"]["energy_j"]["total"]


def test_a_saved_mapping_runs_like_the_compiled_one(at_root, tmp_path, capsys):
    path = tmp_path / "chain.map.json"
    assert main(["compile", CHAIN, "--chip", TINY, "-o", str(path)]) == 0
    capsys.readouterr()
    loaded = nc.Mapping.load(path)
    compiled = nc.compile(CHAIN, chip=TINY)
    assert loaded.diff(compiled) is None
    a, b = nc.run(loaded, 20), nc.run(compiled, 20)
    assert all(np.array_equal(a.spikes[p].times, b.spikes[p].times) for p in a.spikes)
    # a chip given with a mapping must be the one it was compiled for
    nc.run(loaded, 20, chip=TINY)
    with pytest.raises(UsageError, match=r"the mapping was compiled for tiny \(1 chip\), not loihi \(1\)"):
        nc.run(loaded, 20, chip="loihi")


def test_run_compiles_a_network_for_the_chip_given(at_root):
    by_network = nc.run(CHAIN, 20, chip=TINY)
    by_mapping = nc.run(nc.compile(CHAIN, chip=TINY), 20)
    assert by_network.spikes["c"].times.tolist() == by_mapping.spikes["c"].times.tolist() == [9]
    with pytest.raises(UsageError, match="running network 'chain' needs a chip to compile it for"):
        nc.run(CHAIN, 20)


def test_validate_gives_what_neurocomp_validate_writes(at_root, tmp_path, capsys):
    assert main(["validate", SMALL, "--chip", TINY, "--steps", "30", "--samples",
                 "tests/golden/compare/samples.npz", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    cli = json.loads((tmp_path / "validation.json").read_text())
    api = nc.validate(SMALL, chip=TINY, steps=30, samples="tests/golden/compare/samples.npz").to_dict()
    cli.pop("wall_s"), api.pop("wall_s")
    assert api == cli
    assert api["classifier"]["accuracy_ref"] == 1.0  # the toy classifier's construction


def test_compare_gives_what_neurocomp_compare_prints(at_root, capsys):
    assert main(["compare", CHAIN, "--chips", f"{TINY},akida", "--steps", "20", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    api = nc.compare(CHAIN, [TINY, "akida"], steps=20).to_dict()
    for doc in (cli, api):
        doc.pop("wall_s")
        for row in doc["chips"]:
            row.pop("wall_s")
    assert api == cli


# --------------------------------------------------------------------------- chips and profiles


def test_a_chip_is_a_name_a_path_or_a_chipspec(at_root):
    spec = nc.load_chip(TINY)
    by_spec = nc.compile(CHAIN, chip=spec, chips=2)
    by_path = nc.compile(CHAIN, chip=TINY, chips=2)
    by_pathlib = nc.compile(Path(CHAIN), chip=Path(TINY), chips=2)
    assert by_spec.chip.n_chips == by_path.chip.n_chips == 2
    assert by_spec.diff(by_path) is None and by_pathlib.diff(by_path) is None
    assert nc.compile(CHAIN, chip="loihi", profile="sanafe").chip.active_profile == "sanafe"


def test_a_profile_changes_the_price_not_the_spikes(at_root):
    mapping = nc.compile(CHAIN, chip="loihi")
    result = nc.run(mapping, 20)
    default = nc.price(result, mapping)
    sanafe = nc.price(result, mapping, profile="sanafe")
    assert default.profile == "davies2018" and sanafe.profile == "sanafe"
    assert sanafe.cost.energy_pj != default.cost.energy_pj
    # the same as pricing on a chip loaded with that profile
    again = nc.price(result, nc.compile(CHAIN, chip="loihi", profile="sanafe"))
    assert again.cost.energy_pj == sanafe.cost.energy_pj
    with pytest.raises(UsageError, match="chip 'loihi' has no profile 'sanfe'") as info:
        nc.price(result, mapping, profile="sanfe")
    assert info.value.diagnostics[0].hint == "did you mean 'sanafe'?"


# --------------------------------------------------------------------------- wrong arguments


def test_wrong_types_are_named_like_pythons_own_type_errors(at_root):
    with pytest.raises(TypeError) as info:
        nc.compile(CHAIN, chip=42)
    assert str(info.value) == "chip must be a ChipSpec, a chip name or a path, not 42"
    assert isinstance(info.value, UsageError)  # and the CLI's renderer takes it
    assert info.value.render() == "error: chip must be a ChipSpec, a chip name or a path, not 42"
    with pytest.raises(TypeError, match=r"^network must be a Network or the path of a .snn file, not \[1, 2\]$"):
        nc.compile([1, 2], chip="loihi")
    with pytest.raises(TypeError, match=r"^what to run must be a Network or the path of a .snn file, not 3.5$"):
        nc.run(3.5, 10, chip="loihi")
    with pytest.raises(TypeError, match=r"^mapping must be a Mapping \(from nc.compile\), not 'loihi'$"):
        nc.price(nc.simulate(nc.load(CHAIN), 5), "loihi")


def test_other_mistakes_are_neurocomp_errors(at_root):
    with pytest.raises(UsageError, match="'examples/data/digit.npy' is not a network file: expected a .snn file"):
        nc.compile("examples/data/digit.npy", chip="loihi")
    with pytest.raises(UsageError, match="the number of chips must be a whole number >= 1"):
        nc.compile(CHAIN, chip=nc.load_chip("loihi"), chips=0)
    with pytest.raises(UsageError, match="the run of 'chain' has no work counters to price"):
        mapping = nc.compile(CHAIN, chip=TINY)
        nc.price(nc.simulate(nc.load(CHAIN), 5), mapping)
    with pytest.raises(NeurocompError, match="network 'small' needs 6 cores"):
        nc.compile(SMALL, chip="tests/golden/compare/cramped.toml")


# --------------------------------------------------------------------------- notebooks


def test_every_result_has_a_readable_repr_and_an_html_table(at_root):
    net = nc.load(CHAIN)
    mapping = nc.compile(net, chip=TINY)
    result = nc.run(mapping, 20)
    objects = {"Mapping": mapping, "RunResult": result, "Report": nc.price(result, mapping),
               "ValidationReport": nc.validate(net, chip=TINY, steps=20),
               "Comparison": nc.compare(net, [TINY, "akida"], steps=20)}
    for name, obj in objects.items():
        text = repr(obj)
        assert "array(" not in text and len(text.splitlines()) < 60, name
        assert "'chain'" in text or "chain" in text, name
        page = obj._repr_html_()
        assert page.startswith("<div>") and page.endswith("</div>"), name
        assert "<table>" in page and "<script" not in page.lower(), name
        assert page.count("<tr>") >= 2, name
    assert repr(mapping).startswith("Mapping('chain' on tiny, loihi_cuba_lif: 1 core on 1 of 1 chip(s))")
    assert "<td>a</td>" in objects["RunResult"]._repr_html_()
    assert "416 pJ" in objects["Report"]._repr_html_()  # chain on tiny, docs/energy.md's worked example


def test_html_escapes_names():
    from neurocomp.ir.result import RunResult, SpikeEvents

    run = RunResult(network="<b>", steps=1, dt_ms=1.0,
                    spikes={"<i>": SpikeEvents(times=np.zeros(0, np.int64), indices=np.zeros(0, np.int64), n=1)})
    page = run._repr_html_()
    assert "<b>" not in page and "<i>" not in page and "&lt;i&gt;" in page
