"""``neurocomp chips`` and the shared ``--chip/--chips/--profile`` options, through argparse."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from rich.console import Console

from neurocomp.chip.load import list_chips, load_chip
from neurocomp.cli import chips as commands
from neurocomp.cli.chips import format_value, register
from neurocomp.cli.common import add_chip_arguments, chip_from_args
from neurocomp.diagnostics import UsageError

TINY = Path(__file__).parent / "data" / "tiny.toml"


def run(argv: list[str]) -> int:
    """Parse like the main CLI does and call the handler the command registered."""
    parser = argparse.ArgumentParser(prog="neurocomp")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def wide(monkeypatch):
    # Wide enough that no source is folded over two lines, so sources can be searched whole.
    monkeypatch.setattr(commands, "_console", lambda: Console(width=400, highlight=False, soft_wrap=False))


def test_list_shows_each_bundled_chip_with_its_headline_numbers(capsys):
    assert run(["chips"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[1:-1]]
            for line in out.splitlines() if line.startswith("│")}
    assert sorted(rows) == list_chips()
    # chip, vendor, cores, neurons/core, synapse memory/core, weight bits, family, pJ/synop, profile
    assert rows["loihi"] == ["loihi", "Intel", "128", "1,024", "128 KiB", "1-6, 8", "loihi_cuba_lif",
                             "23.6 pJ", "davies2018"]
    assert rows["truenorth"] == ["truenorth", "IBM", "4,096", "256", "8 KiB", "9", "truenorth", "1.26 pJ",
                                 "merolla2014"]
    # An NP's outputs: 504 filters x a 32 x 256 spatial partition (the vendor's CNP limits).
    assert rows["akida"][2:6] == ["78", f"{504 * 32 * 256:,}", "43.75 KiB", "1, 2, 4"]


def test_list_is_also_the_list_action(capsys):
    run(["chips"])
    first = capsys.readouterr().out
    run(["chips", "list"])
    assert capsys.readouterr().out == first


@pytest.mark.parametrize("name", list_chips())
def test_show_prints_every_sourced_value_with_its_source(name, capsys, wide):
    assert run(["chips", "show", name]) == 0
    lines = capsys.readouterr().out.splitlines()
    chip = load_chip(name)
    for p in chip.parameters():
        if p.key.startswith("sources."):
            continue
        short = p.key.split(".", 2)[-1] if p.key.startswith("profiles.") else p.key.split(".", 1)[-1]
        matching = [line for line in lines if f"│ {short} " in line and p.source in line]
        assert matching, f"{p.key} with its source"
        assert f" {format_value(p.value)} │" in matching[0], p.key
    for ref in chip.sources:
        assert any(ref.key in line and ref.citation in line for line in lines)


def test_show_orders_the_profile_in_use_first(capsys):
    run(["chips", "show", "loihi", "--profile", "sanafe"])
    out = capsys.readouterr().out
    assert "profile in use: sanafe" in out
    assert out.index("profile sanafe (in use)") < out.index("profile davies2018 (default)")


def test_show_a_user_file_as_a_system(capsys):
    run(["chips", "show", str(TINY), "--chips", "2"])
    assert "2 chip(s) of 4 cores = 8 cores; profile in use: unit" in capsys.readouterr().out


def test_show_an_unknown_chip_is_a_usage_error():
    with pytest.raises(UsageError, match="no chip named 'loihii'"):
        run(["chips", "show", "loihii"])


def test_format_value():
    assert format_value(1048576) == "1,048,576"
    assert format_value(23.6) == "23.6"
    assert format_value(1000000.0) == "1,000,000"
    assert format_value([1, 2, 4]) == "[1, 2, 4]"
    assert format_value(True) == "true"
    assert commands._ranges((1, 2, 3, 4, 5, 6, 8)) == "1-6, 8"
    assert commands._ranges((1, 2, 4)) == "1, 2, 4"


# --------------------------------------------------------------------------- shared options


def _options(argv: list[str], **kwargs) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="neurocomp compile")
    add_chip_arguments(parser, **kwargs)
    return parser.parse_args(argv)


def test_chip_options_select_chip_system_and_profile():
    chip = chip_from_args(_options(["--chip", "loihi", "--chips", "4", "--profile", "sanafe"]))
    assert chip.name == "loihi"
    assert (chip.system.chips_x, chip.system.chips_y) == (2, 2)
    assert chip.active_profile == "sanafe"


def test_chip_options_default_and_paths():
    assert chip_from_args(_options([])).name == "loihi"
    assert chip_from_args(_options(["--chip", str(TINY)])).name == "tiny"
    assert chip_from_args(_options([], default="truenorth")).name == "truenorth"


def test_chip_option_required_without_default(capsys):
    with pytest.raises(SystemExit):
        _options([], default=None)
    assert "--chip" in capsys.readouterr().err


def test_bad_chip_options_are_usage_errors():
    with pytest.raises(UsageError):
        chip_from_args(_options(["--chips", "0"]))
    with pytest.raises(UsageError, match="no profile 'fast'"):
        chip_from_args(_options(["--profile", "fast"]))


def test_the_main_cli_renders_a_chip_mistake(capsys):
    cli = pytest.importorskip("neurocomp.cli")
    assert cli.main(["chips", "show", "loihii"]) == 1
    err = capsys.readouterr().err
    assert "error: no chip named 'loihii'" in err
    assert "did you mean 'loihi'?" in err
