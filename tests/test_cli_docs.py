"""docs/cli.md is generated from the command line's parsers (docs/generate_cli.py): the
committed page must match, every command must have examples, and every example must
parse with the real parser."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from neurocomp.cli import _parser
from neurocomp.cli.common import COMMANDS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("cli_docs_generate", DOCS / "generate_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _generator()


def test_committed_page_equals_generated():
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == generate.render(), (
        "docs/cli.md is stale: run python docs/generate_cli.py")


def test_every_command_has_a_section_and_examples():
    page = generate.render()
    assert set(generate.EXAMPLES) == set(COMMANDS)
    for name in COMMANDS:
        assert f"## neurocomp {name}\n" in page and generate.EXAMPLES[name]


@pytest.mark.parametrize("command", [c for examples in generate.EXAMPLES.values() for c, _ in examples])
def test_every_example_parses(command):
    argv = shlex.split(command)
    args = _parser(argv[0]).parse_args(argv)  # exits 2 (SystemExit) on an option that does not exist
    assert args.command == argv[0] and callable(args.func)


def test_every_option_of_the_help_is_on_the_page(capsys):
    page = generate.render()
    for name in COMMANDS:
        with pytest.raises(SystemExit):
            _parser(name).parse_args([name, "--help"])
        shown = capsys.readouterr().out
        options = re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", shown, flags=re.M)
        assert {"--max-memory", "--quiet", "--verbose"} <= set(options)
        for option in options:
            if option not in ("--help", "--max-memory", "--quiet", "--verbose"):  # the conventions cover these
                assert f"`{option}`" in page, (name, option)
