"""Write docs/cli.md from the command line's own parsers, so it never drifts from ``--help``.

The conventions every command follows and one or two examples per command are written
here by hand; each command's usage and its table of options come from the parser that
``neurocomp COMMAND --help`` prints (``neurocomp.cli._parser``), at 100 columns.

Run ``python docs/generate_cli.py`` after changing a command; ``--check`` exits 1 when
the committed page differs from what would be generated (tests/test_cli_docs.py runs the
same comparison, and parses every example with the real parser).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE / "cli.md"

INTRO = """\
# The command line

`neurocomp COMMAND [ARGUMENTS] [OPTIONS]`; `neurocomp --help` lists the commands,
`neurocomp COMMAND --help` shows one (this page is generated from the same parsers:
`docs/generate_cli.py`). The same from Python: `docs/api.md`.

## One convention for every command

- **Inputs first, options after.** The network (`NET.snn`), a mapping (`MAP.map.json`) or
  a run folder is the positional argument; everything else is an option.
- **Chips.** `--chip NAME|PATH` names one chip: a bundled one (`neurocomp chips`) or a
  chip or system file. `compile`, `run` and `validate` ask for it (a `.map.json` given to
  `run` names its own); `--chips N` makes a system of N chips and `--profile NAME` picks
  the cost profile. `compare` and `sweep` take several chips: `--chip` repeated, or
  `--chips NAME,NAME` (a bare number there is refused, as it is the system size
  elsewhere; `sweep`'s system sizes are `--n-chips N,...`).
- **Output.** Results go to stdout; `warning:` lines (what quantization lost, what
  overflowed and whether the spikes can differ from the float model), `note:` lines,
  progress bars and the first-run notice go to stderr. `--out DIR` (or `-o FILE`) writes
  files; a file that exists is never replaced without `--force`, and every file is
  written whole or not at all (a temporary file, then a rename).
- **How much it says.** `-q/--quiet` keeps stderr empty (results and errors only: no
  warnings, notes or progress); `-v/--verbose` also logs each compiler pass and each
  emulation with its time (Python logging of the `neurocomp` logger, on stderr). Tables
  take the terminal's width, and 100-120 columns in a pipe or a file.
- **Progress.** On a terminal, a long job draws a bar on stderr that goes when it ends:
  `simulate` and `run` count steps, `run --batch`, `validate`, `compare` and `sweep`
  count samples, runs, chips or points, each with the rate and the time left; `compile`
  and `run` name the compiler pass that runs. In a pipe or a file, and under `-q`,
  there is none, so what is written there does not change. In Python the same counts
  come to a `progress(done, total)` callback of `nc.run` and `nc.simulate` (every chip's
  emulator runs in about 100 pieces for it, with the same results), `nc.validate` and
  `nc.sweep` (`nc.compare`: `progress(label, done, total)`); `nc.compile` calls
  `on_pass` after each pass.
- **Memory.** `--max-memory SIZE` (`4G`, `512MiB`, bytes) on every command: work larger
  than that, or than the machine has, is refused before it is allocated.
- **Parallel work.** Commands that run many samples, chips or points take `--jobs N`
  (local worker processes; results do not depend on N) or `--scheduler ADDRESS` (a Dask
  cluster).
- **Exit codes.** 0 done; 1 a mistake in what was handed in (one message naming where and
  what, with a hint; never a traceback); 2 a bad argument; 130 Ctrl-C, at any moment.
- **The first run** on a machine compiles the Numba kernels (then cached): the command
  says so on a terminal as it starts, and `run` compiles the chip's emulator kernel in a
  second process meanwhile when a core is idle.

Environment: `NEUROCOMP_MAX_MEMORY` (as `--max-memory`, for every command),
`NEUROCOMP_JOBS` and `NEUROCOMP_SCHEDULER` (the defaults of `--jobs` and `--scheduler`),
`NEUROCOMP_WARMUP=0` or `1` (never, or always, the second process of a first run), `NUMBA_CACHE_DIR` (where the
compiled kernels are kept).
"""

#: Per command, examples (each one command line after ``neurocomp``) and what each does.
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "check": [("check examples/mnist_mlp.snn", "parse and validate; populations, projections, synapses")],
    "simulate": [("simulate examples/brunel.snn --steps 1000", "the float64 reference model"),
                 ("simulate examples/chain.snn --steps 20 --out runs/chain-float",
                  "and write spikes.npz and summary.json")],
    "print": [("print examples/chain.snn", "the network as normalised .snn text")],
    "chips": [("chips", "the bundled chips, one line each"),
              ("chips show loihi --chips 4", "every parameter of a 4-chip Loihi system, with its source")],
    "compile": [("compile examples/mnist_mlp.snn --chip loihi -o mnist.map.json",
                 "the mapping, with the utilization of every resource"),
                ("compile examples/brunel.snn --chip loihi --chips 2 --per-core --dump-after partition",
                 "on two chips; every core; the partition as text")],
    "run": [("run examples/mnist_mlp.snn --chip loihi --steps 100", "compile, emulate, print the report"),
            ("run mnist.map.json --steps 100 --out runs/mnist --html",
             "a saved mapping; report.json, spikes.npz and report.html")],
    "validate": [("validate examples/mnist_mlp.snn --chip loihi --steps 100 --samples examples/data/mnist_test.npz",
                  "accuracy and spike agreement of the chip against the float model")],
    "report": [("report runs/mnist", "draw the pictures and report.html of a saved run again")],
    "import": [("import model.nir --dt 1ms -o model.snn", "a NIR graph as a .snn file and its data files")],
    "export": [("export examples/chain.snn -o chain.nir", "a network as a NIR graph")],
    "compare": [("compare examples/chain.snn --chips loihi,truenorth,akida --steps 20",
                 "one table: cores, energy, latency, agreement")],
    "sweep": [("sweep examples/mnist_mlp.snn --chips loihi,truenorth --weight-bits 4,8 --steps 100 "
               "--samples examples/data/mnist_test.npz --out sweeps/mnist",
               "every combination; sweep.json, sweep.csv")],
}


def _parser(command: str) -> argparse.ArgumentParser:
    from neurocomp.cli import _parser as build

    top = build(command)
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _options(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| option | value | what it does |", "|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                rows.append(f"| `{name}` (action) | | {_cell(_help_of(action, name))} |")
                rows += [f"| &nbsp;&nbsp;{row[2:]}" for row in _options(sub)[2:]]
            continue
        if action.dest in ("max_memory", "quiet", "verbose"):
            continue  # every command has them: the conventions above say what they do
        if not action.option_strings:  # a positional argument: its name says its value
            rows.append(f"| `{_cell(action.metavar or action.dest)}` | | {_cell(action.help or '')} |")
            continue
        name = ", ".join(f"`{s}`" for s in action.option_strings)
        if action.nargs == 0:
            value = ""
        elif action.choices:
            value = "{" + ",".join(str(c) for c in action.choices) + "}"
        else:
            value = action.metavar or action.dest.upper()
        text = (action.help or "") % {"default": action.default} if action.help else ""
        if action.required and action.option_strings:
            text += " (required)"
        rows.append(f"| {name} | {_cell(value)} | {_cell(text)} |")
    return rows


def _help_of(action: argparse._SubParsersAction, name: str) -> str:
    for choice in action._choices_actions:
        if choice.dest == name:
            return choice.help or ""
    return ""


def render() -> str:
    """The whole page."""
    from neurocomp.cli.common import COMMANDS

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps the usage at the terminal's width
    try:
        out = [INTRO]
        out.append("## The commands\n")
        out.append("| command | what it does |\n|---|---|")
        out += [f"| [`{name}`](#neurocomp-{name}) | {line} |" for name, (_, line) in COMMANDS.items()]
        out.append("")
        for name, (_, line) in COMMANDS.items():
            parser = _parser(name)
            out.append(f"## neurocomp {name}\n")
            out.append((parser.description or line[0].upper() + line[1:] + ".") + "\n")
            out.append("```text\n" + parser.format_usage().strip() + "\n```\n")
            out += _options(parser)
            out.append("")
            out.append("Examples:\n")
            out.append("```text")  # parsed by tests/test_cli_docs.py, not run (some take minutes)
            for command, what in EXAMPLES.get(name, []):
                out.append(f"$ neurocomp {command}    # {what}")
            out.append("```\n")
        return "\n".join(out).rstrip("\n") + "\n"
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def main() -> int:
    ap = argparse.ArgumentParser(description="Write docs/cli.md from the command line's parsers.")
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/cli.md is stale; write nothing")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE} is stale: run python docs/generate_cli.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
