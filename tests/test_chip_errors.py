"""A broken chip file gives one ChipSpecError listing every problem, never a traceback.

Golden files: ``tests/golden/chips/<case>.toml`` is a broken file and
``<case>.expected`` the exact message. ``pytest --update-golden`` rewrites the
expected files from the current output (review the diff before committing).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neurocomp.chip.load import load_chip
from neurocomp.diagnostics import ChipSpecError, NeurocompError, UsageError

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "chips"
TINY = HERE / "data" / "tiny.toml"
CASES = sorted(p.stem for p in GOLDEN.glob("*.toml"))


def test_there_are_golden_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES)
def test_golden_message(case, monkeypatch, update_golden):
    # Load by bare file name from the golden folder, so messages name "<case>.toml".
    monkeypatch.chdir(GOLDEN)
    with pytest.raises(ChipSpecError) as info:
        load_chip(f"{case}.toml")
    got = info.value.render() + "\n"
    expected_path = GOLDEN / f"{case}.expected"
    if update_golden:
        expected_path.write_text(got)
    assert expected_path.exists(), f"no golden file {expected_path.name}; run pytest --update-golden"
    assert got == expected_path.read_text()


@pytest.mark.parametrize("case", CASES)
def test_every_problem_names_file_line_and_key(case, monkeypatch):
    monkeypatch.chdir(GOLDEN)
    with pytest.raises(ChipSpecError) as info:
        load_chip(f"{case}.toml")
    for diag in info.value.diagnostics:
        location = diag.span.location if diag.span is not None else diag.where
        assert re.fullmatch(rf"{re.escape(case)}\.toml:\d+(:\d+)?", location), location


def test_several_problems_are_reported_together_in_file_order(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    with pytest.raises(ChipSpecError) as info:
        load_chip("several_problems.toml")
    lines = [int(d.where.split(":")[1]) for d in info.value.diagnostics]
    assert len(lines) == 4
    assert lines == sorted(lines)


def test_a_misspelt_key_is_not_also_reported_missing(monkeypatch):
    monkeypatch.chdir(GOLDEN)
    with pytest.raises(ChipSpecError) as info:
        load_chip("several_problems.toml")
    text = info.value.render()
    assert "hop_eastwest_pj: unknown key" in text
    assert "hop_east_west_pj: required key is missing" not in text


# --------------------------------------------------------------------------- usage errors


def test_unknown_chip_name_suggests_the_closest_and_lists_all():
    with pytest.raises(UsageError) as info:
        load_chip("loihii")
    assert info.value.render() == (
        "error: no chip named 'loihii'\n"
        "= help: did you mean 'loihi'? (available chips: akida, loihi, loihi2, truenorth); "
        "or give the path of a chip file")


def test_unknown_chip_name_without_close_match_lists_all():
    with pytest.raises(UsageError) as info:
        load_chip("spinnaker")
    assert info.value.diagnostics[0].hint == (
        "available chips: akida, loihi, loihi2, truenorth; or give the path of a chip file")


def test_missing_chip_file():
    with pytest.raises(UsageError) as info:
        load_chip("no/such/chip.toml")
    assert info.value.diagnostics[0].message == "no such chip file: no/such/chip.toml"


def test_unknown_profile_suggests_the_closest():
    with pytest.raises(UsageError) as info:
        load_chip("loihi", profile="sanfe")
    diag = info.value.diagnostics[0]
    assert diag.message == "chip 'loihi' has no profile 'sanfe'"
    assert diag.hint == "did you mean 'sanafe'?"


@pytest.mark.parametrize("chips", [0, -2, 1.5, True])
def test_chip_count_must_be_a_positive_integer(chips):
    with pytest.raises(UsageError, match="the number of chips must be a whole number >= 1"):
        load_chip("loihi", chips=chips)


def test_chip_count_above_the_chip_maximum():
    # tiny.toml allows at most 4 chips.
    with pytest.raises(UsageError) as info:
        load_chip(TINY, chips=5)
    diag = info.value.diagnostics[0]
    assert diag.message == "--chips asks for 5 chips but chip 'tiny' allows at most 4"
    assert diag.hint == "source: assumed: test chip"


def test_system_file_and_chips_together_is_a_usage_error(tmp_path):
    (tmp_path / "board.toml").write_text(f'chip = "{TINY.as_posix()}"\nchips_x = 2\nchips_y = 1\n')
    with pytest.raises(UsageError, match="sets its own tiling"):
        load_chip(tmp_path / "board.toml", chips=2)


def test_system_file_over_the_chip_maximum(tmp_path):
    (tmp_path / "board.toml").write_text(f'chip = "{TINY.as_posix()}"\nchips_x = 3\nchips_y = 2\n')
    with pytest.raises(UsageError, match=r"system file .*board.toml asks for 6 chips but chip 'tiny' "
                                         r"allows at most 4"):
        load_chip(tmp_path / "board.toml")


def test_system_file_naming_an_unknown_chip(tmp_path):
    (tmp_path / "board.toml").write_text('chip = "truenort"\nchips_x = 2\nchips_y = 1\n')
    with pytest.raises(UsageError, match="no chip named 'truenort'"):
        load_chip(tmp_path / "board.toml")


# --------------------------------------------------------------------------- no tracebacks

_JUNK = ["-5", "0", "1.5", '"text"', "[]", "[1, -1]", "{}", "true", '{ value = 1 }']
_ASSIGN = re.compile(r"^(\s*[A-Za-z0-9_]+\s*=\s*)(\{ value = (.*?), source = .*\}|.*)$")


def _mutations() -> list[tuple[int, str]]:
    lines = TINY.read_text().splitlines()
    found = []
    for number, line in enumerate(lines):
        if _ASSIGN.match(line) and not line.lstrip().startswith("#"):
            found.extend((number, junk) for junk in _JUNK)
    return found


def test_mutations_cover_the_file():
    assert len(_mutations()) > 60 * len(_JUNK)


def test_any_broken_value_gives_a_chip_error_not_a_traceback(tmp_path):
    lines = TINY.read_text().splitlines()
    rejected = 0
    for number, junk in _mutations():
        m = _ASSIGN.match(lines[number])
        if m.group(3) is not None:  # keep the source, break the value
            new = f"{m.group(1)}{m.group(2).replace(m.group(3), junk, 1)}"
        else:
            new = f"{m.group(1)}{junk}"
        path = tmp_path / "mutant.toml"
        path.write_text("\n".join([*lines[:number], new, *lines[number + 1:]]) + "\n")
        try:
            load_chip(path)
        except ChipSpecError as exc:
            rejected += 1
            assert exc.diagnostics and all(d.message for d in exc.diagnostics)
        except NeurocompError as exc:  # pragma: no cover - reported below
            pytest.fail(f"line {number + 1} -> {new!r}: {type(exc).__name__} instead of ChipSpecError")
    # Most junk is rejected; a few values are legal (e.g. 0 delay bits would not be).
    assert rejected > len(_mutations()) * 0.8
