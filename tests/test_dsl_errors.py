"""Golden diagnostics: every mistake in tests/golden/errors/*.snn and its exact message.

Each ``<case>.snn`` sits beside ``<case>.err``, the full rendered text. A worse message is
a failing test; ``pytest --update-golden`` rewrites the ``.err`` files for review.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neurocomp.cli import main
from neurocomp.diagnostics import DslError
from neurocomp.ir.build import load

GOLDEN = Path(__file__).parent / "golden" / "errors"
CASES = sorted(p.stem for p in GOLDEN.glob("*.snn"))


def _render(case: str) -> str:
    cwd = os.getcwd()
    os.chdir(GOLDEN)  # messages name files as the user wrote them, relative to here
    try:
        with pytest.raises(DslError) as info:
            load(f"{case}.snn")
    finally:
        os.chdir(cwd)
    return info.value.render().replace(str(GOLDEN.resolve()), "<dir>") + "\n"


@pytest.mark.parametrize("case", CASES)
def test_error_message_is_exact(case: str, update_golden: bool) -> None:
    got = _render(case)
    expected_file = GOLDEN / f"{case}.err"
    if update_golden:
        expected_file.write_text(got, encoding="utf-8")
    assert got == expected_file.read_text(encoding="utf-8")


def test_every_case_has_a_golden_file() -> None:
    assert CASES, "no golden cases found"
    missing = [c for c in CASES if not (GOLDEN / f"{c}.err").exists()]
    assert not missing


def test_cli_prints_the_same_message_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    cwd = os.getcwd()
    os.chdir(GOLDEN)
    try:
        code = main(["check", "unknown_population.snn"])
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err == (GOLDEN / "unknown_population.err").read_text(encoding="utf-8")
    assert "Traceback" not in captured.err


def test_all_errors_of_a_file_are_reported_at_once() -> None:
    text = _render("duplicate_names")
    assert text.count("error:") == 3
