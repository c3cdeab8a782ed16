"""The .snn parser's LALR tables are cached by lark in ``neurocomp/dsl/__pycache__``: a
cached parser reads text as a freshly built one does, and a damaged cache file is rebuilt
(never an error for the user)."""

from pathlib import Path

import pytest

from neurocomp.dsl import parse as parse_mod

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache_file():
    path = Path(parse_mod.__file__).resolve().parent / "__pycache__" / "grammar.lark.cache"
    parse_mod._parser.cache_clear()
    parse_mod._parser()  # writes the file if it was missing
    if not path.exists():
        pytest.skip("the package folder is read-only here: no cache to test")
    saved = path.read_bytes()
    yield path
    path.write_bytes(saved)
    parse_mod._parser.cache_clear()


def test_a_cached_or_damaged_cache_parses_as_a_fresh_parser(cache_file):
    text = (ROOT / "examples" / "mnist_mlp.snn").read_text(encoding="utf-8")
    fresh = parse_mod.Lark(parse_mod.resources.files("neurocomp.dsl").joinpath("grammar.lark").read_text(),
                           parser="lalr", propagate_positions=True, maybe_placeholders=True)
    want = fresh.parse(text)
    parse_mod._parser.cache_clear()
    assert parse_mod._parser().parse(text) == want  # read from the cache file
    cache_file.write_bytes(b"not a cache\n")
    parse_mod._parser.cache_clear()
    assert parse_mod._parser().parse(text) == want  # rebuilt ...
    assert cache_file.read_bytes().split(b"\n", 1)[0] != b"not a cache"  # ... and written again
    with pytest.raises(parse_mod.DslError):  # errors still located as before
        parse_mod.parse("population a = lif(", "bad.snn")
