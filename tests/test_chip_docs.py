"""docs/chips/ pages are generated from the chip files: committed text must match."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from neurocomp.chip.load import list_chips, load_chip

DOCS = Path(__file__).parent.parent / "docs" / "chips"


def _generator():
    spec = importlib.util.spec_from_file_location("chip_docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _generator()


def test_every_bundled_chip_has_a_page():
    assert generate.pages() == list_chips()


@pytest.mark.parametrize("path", sorted(generate.outputs()), ids=lambda p: p.name)
def test_committed_page_equals_generated(path):
    assert path.exists(), f"{path.name} missing: run python docs/chips/generate.py"
    assert path.read_text(encoding="utf-8") == generate.outputs()[path], (
        f"{path.name} is stale: run python docs/chips/generate.py")


@pytest.mark.parametrize("name", generate.pages())
def test_page_explains_the_four_questions_and_lists_sources(name):
    text = generate.render(name)
    for heading in ("## What a core holds", "## How a spike travels", "## What limits a mapping",
                    "## What costs energy", "## Every parameter and its source", "## Sources"):
        assert heading in text, heading
    assert "{{" not in text and "}}" not in text
    for ref in load_chip(name).sources:
        assert f"- **{ref.key}**:" in text


def test_pages_quote_the_chip_file():
    # Change a number in the chip and the page changes with it.
    loihi = generate.render("loihi")
    assert "| neurons (*compartments*) | 1,024 | 131,072 |" in loihi
    assert "| synaptic operation | 23.6 pJ, 3.5 ns | 35.5 pJ, 3.8 ns |" in loihi
    # 1,024 8-bit synapses on one axon = 16 groups of 576 bits; 1,048,576 // 9,216 = 113.
    assert "takes 9,216\nbits, so a full core of a dense layer can listen to only\n113 such inputs" in loihi
    truenorth = generate.render("truenorth")
    # 66.4 mW + 2**20 neurons x 20 Hz x 128 x 1.26 pJ = 69.8 mW, 26 pJ per event
    assert "1.26 pJ\n= 69.8 mW, 26 pJ per synaptic" in truenorth


def test_derived_numbers_by_hand():
    d = generate.derived(load_chip("loihi"))
    assert d["neurons_per_chip"] == 128 * 1024
    assert d["max_hops"] == 7 + 3
    assert d["corner_route_pj"] == pytest.approx(1.7 + 7 * 3.0 + 3 * 4.0)
    assert d["corner_route_ns"] == pytest.approx(2.1 + 7 * 4.1 + 3 * 6.5)
    assert d["threshold_max"] == (2**17 - 1) * 64


def test_unknown_placeholder_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "loihi.md").write_text("{{core.nuerons}}\n")
    monkeypatch.setattr(generate, "TEMPLATES", tmp_path)
    with pytest.raises(SystemExit, match=r"unknown placeholder \{\{core.nuerons\}\}"):
        generate.render("loihi")
