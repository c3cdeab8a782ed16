"""The README's ``neurocomp import`` line runs as written, on the NIR graph bundled in
examples/: the graph snnTorch's exporter wrote (tools/make_nir_fixtures.py), imported
with the step inferred, its weights scaled as docs/nir.md says (``r * dt / tau``)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from neurocomp.cli import main
from neurocomp.emulator.reference import simulate
from neurocomp.ir.build import load

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "examples" / "snntorch_mlp.nir"


def readme_import_line() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [ln.split("#", 1)[0] for ln in text.splitlines() if re.match(r"neurocomp import \S", ln)]
    assert len(lines) == 1, lines
    return shlex.split(lines[0])[1:]


def test_the_bundled_graph_is_the_one_the_tool_made() -> None:
    assert BUNDLED.read_bytes() == (ROOT / "tests/data/nir/snntorch/leaky_subtract.nir").read_bytes()


def test_the_readme_import_line_runs(tmp_path, monkeypatch) -> None:
    nir = pytest.importorskip("nir")
    argv = readme_import_line()
    assert argv[:2] == ["import", "examples/snntorch_mlp.nir"]
    (tmp_path / "examples").mkdir()
    shutil.copy(BUNDLED, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0
    out = Path(argv[argv.index("-o") + 1])
    net = load(out)
    assert {name: pop.size for name, pop in net.populations.items() if name != "bias_source"} == \
        {"input": 16, "n_1": 24, "n_3": 6}
    graph = nir.read(BUNDLED)
    dt_s = net.dt_ms / 1000
    for node, affine, lif in (("n_0", "0", "1"), ("n_2", "2", "3")):
        w = np.load(out.parent / f"{out.stem}_data" / f"{node}.weight.npy")
        gain = (graph.nodes[lif].r * dt_s / graph.nodes[lif].tau)[:, None]
        np.testing.assert_allclose(w, graph.nodes[affine].weight * gain, rtol=1e-6)
    result = simulate(net, 20)
    assert result.spike_counts("bias_source").sum() == 20  # it runs; the bias neuron fires each step
