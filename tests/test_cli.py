"""The command line: exit codes, and no traceback for a user's mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neurocomp.cli import main

CHAIN = str(Path(__file__).parent.parent / "examples" / "chain.snn")


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "neurocomp", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("neurocomp ")


def test_missing_file_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "no/such/net.snn"]) == 1
    assert capsys.readouterr().err == "error: no such file: 'no/such/net.snn'\n"


def test_wrong_file_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "weights.npy"]) == 1
    assert capsys.readouterr().err == "error: 'weights.npy' is not a network file: expected a .snn file\n"


def test_bad_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", CHAIN, "--steps", "0"]) == 1
    assert capsys.readouterr().err == "error: --steps must be positive, got 0\n"


def test_bad_arguments_exit_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", CHAIN, "--steps", "many"])
    assert info.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "check" in capsys.readouterr().out


def test_print_round_trips_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["print", CHAIN]) == 0
    text = capsys.readouterr().out
    assert text.startswith("network chain\ndt = 1 ms\n")
    assert "connect b -> c : one_to_one(weight = 0.875, delay = 2)" in text


def test_compile_asks_for_the_chip_as_run_and_validate_do(capsys):
    from pathlib import Path

    from neurocomp.cli import main

    chain = Path(__file__).resolve().parent.parent / "examples" / "chain.snn"
    assert main(["compile", str(chain)]) == 1
    err = capsys.readouterr().err
    assert f"error: to compile '{chain}', say which chip: --chip NAME|PATH" in err
    assert "'neurocomp chips' lists the bundled chips" in err


def test_the_command_runs_with_its_imports_frozen_and_gives_the_collector_back(monkeypatch, capsys) -> None:
    # main freezes what the command's imports made (later sweeps skip it) and undoes it
    # when the command ends, also when it fails; a caller's own setting is kept.
    import gc

    from neurocomp.cli import print_network

    seen = []

    def spy(args):
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        return real(args)

    real = print_network.print_network
    monkeypatch.setattr(print_network, "print_network", spy)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["print", CHAIN]) == 0
    assert seen[-1][0] and seen[-1][1] > 1000  # collecting, the imports' objects frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert main(["print", "no_such_file.snn"]) == 1  # a failing command gives it back too
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        assert main(["print", CHAIN]) == 0
        assert seen[-1] == (False, 0)  # the caller turned collection off: left off, nothing frozen
        assert not gc.isenabled()
    finally:
        gc.enable()
    capsys.readouterr()


def test_compile_draws_its_bar_only_on_a_terminal_and_loads_no_bar_code_otherwise(monkeypatch) -> None:
    import io

    from rich.console import Console

    from neurocomp.cli import common

    with common.compile_progress() as hook:  # the tests' stderr is no terminal
        assert hook is None
    terminal = io.StringIO()
    monkeypatch.setattr(common, "console", lambda **kw: Console(file=terminal, force_terminal=True, width=100))
    with common.compile_progress() as hook:
        assert callable(hook)
    with common.progress_callback("running", unit="steps") as hook:
        assert callable(hook)
    code = ("import sys; from neurocomp.cli import main; "
            f"main(['compile', {CHAIN!r}, '--chip', 'loihi', '-q']); print('rich.progress' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "False"
