"""The ``neurocomp`` command line.

Every :class:`~neurocomp.diagnostics.NeurocompError` is rendered as text and the command
exits with code 1; bad arguments exit with 2 (argparse's convention). A user never sees
a traceback for their own mistake.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.table import Table

from . import __version__
from .diagnostics import NeurocompError, UsageError

__all__ = ["main"]


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=120)


def _load(path: str):
    from .ir.build import load

    p = Path(path)
    if p.suffix != ".snn":
        raise UsageError(f"'{path}' is not a network file: expected a .snn file")
    return load(p)


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _describe_population(pop) -> str:
    if pop.encoder is not None:
        return type(pop.encoder).__name__
    model = pop.neuron
    return {"lif": "LIF", "if": "IF", "li": "LI"}[model.family]


def _cmd_check(args: argparse.Namespace) -> int:
    from .compiler.lower import lower

    net = _load(args.network)
    synapses = lower(net)
    out = _console()
    pops = Table(title=f"network '{net.name}' (dt = {net.dt_ms:g} ms)", title_justify="left")
    for col in ("population", "kind", "shape", "neurons", "fan-in synapses", "fan-out synapses"):
        pops.add_column(col, justify="right" if "synapses" in col or col == "neurons" else "left")
    fan_in = {name: 0 for name in net.populations}
    fan_out = {name: 0 for name in net.populations}
    for proj in net.projections:
        n = synapses[proj.name].n_synapses
        fan_in[proj.post] += n
        fan_out[proj.pre] += n
    for pop in net.populations.values():
        pops.add_row(pop.name, _describe_population(pop), "x".join(map(str, pop.shape)),
                     _fmt_int(pop.size), _fmt_int(fan_in[pop.name]), _fmt_int(fan_out[pop.name]))
    out.print(pops)
    if net.projections:
        projs = Table(title="projections", title_justify="left")
        for col in ("projection", "from", "to", "connector", "synapses", "delay (steps)"):
            projs.add_column(col, justify="right" if col in ("synapses", "delay (steps)") else "left")
        for proj in net.projections:
            syn = synapses[proj.name]
            delay = (f"{int(syn.delays.min())}-{syn.max_delay}" if syn.delays is not None
                     and syn.n_synapses else str(syn.delay))
            projs.add_row(proj.name, proj.pre, proj.post, type(proj.connector).__name__,
                          _fmt_int(syn.n_synapses), delay)
        out.print(projs)
    total = sum(s.n_synapses for s in synapses.values())
    out.print(f"{len(net.populations)} populations, {_fmt_int(net.n_neurons)} neurons, "
              f"{len(net.projections)} projections, {_fmt_int(total)} synapses: ok")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .emulator.reference import simulate

    if args.steps <= 0:
        raise UsageError(f"--steps must be positive, got {args.steps}")
    net = _load(args.network)
    if args.out and not args.force:
        _refuse_to_overwrite(Path(args.out), ("spikes.npz", "summary.json"))
    result = simulate(net, args.steps)
    out = _console()
    table = Table(title=f"float reference: '{net.name}', {args.steps} steps of {net.dt_ms:g} ms",
                  title_justify="left")
    for col in ("population", "neurons", "spikes", "mean rate (Hz)", "silent"):
        table.add_column(col, justify="left" if col == "population" else "right")
    summary = result.summary()
    for name, row in summary["populations"].items():
        table.add_row(name, _fmt_int(row["size"]), _fmt_int(row["spikes"]),
                      f"{row['mean_rate_hz']:.2f}", f"{100 * row['silent_fraction']:.0f} %")
    out.print(table)
    out.print(f"{_fmt_int(result.synaptic_events)} synaptic events in {result.wall_s:.3f} s")
    if args.out:
        result.save(Path(args.out), overwrite=args.force)
        out.print(f"wrote {Path(args.out) / 'spikes.npz'} and {Path(args.out) / 'summary.json'}")
    return 0


def _refuse_to_overwrite(folder: Path, names: tuple[str, ...]) -> None:
    # Checked before the run, so a long simulation never ends in a refusal.
    existing = [folder / n for n in names if (folder / n).exists()]
    if existing:
        raise UsageError(f"'{existing[0]}' already exists; not overwriting a previous run",
                         hint="choose another --out folder, or add --force to replace it")


def _cmd_print(args: argparse.Namespace) -> int:
    from .ir.printer import to_snn

    sys.stdout.write(to_snn(_load(args.network)))
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neurocomp",
                     description="Compile spiking networks onto neuromorphic chips and emulate them.")
    parser.add_argument("--version", action="version", version=f"neurocomp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser("check", help="parse and validate a network; list its populations and projections")
    check.add_argument("network", help="a .snn file")
    check.set_defaults(func=_cmd_check)

    simulate = sub.add_parser("simulate", help="run the float reference simulator")
    simulate.add_argument("network", help="a .snn file")
    simulate.add_argument("--steps", type=int, required=True, help="number of time steps")
    simulate.add_argument("--out", help="folder for spikes.npz and summary.json")
    simulate.add_argument("--force", action="store_true", help="overwrite files in --out")
    simulate.set_defaults(func=_cmd_simulate)

    printer = sub.add_parser("print", help="print a network back as normalised .snn text")
    printer.add_argument("network", help="a .snn file")
    printer.set_defaults(func=_cmd_print)

    for register in _plugins():
        register(sub)
    return parser


# Sub-commands that live beside their stage; each module has ``register(subparsers)``.
_COMMAND_MODULES = ("neurocomp.chip.commands", "neurocomp.compiler.commands",
                    "neurocomp.emulator.commands", "neurocomp.report.commands",
                    "neurocomp.interop.commands", "neurocomp.report.compare_commands")


def _plugins():
    import importlib

    registers = []
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that stage has no commands (yet); anything else is a bug
                continue
            raise
        registers.append(module.register)
    return registers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NeurocompError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
