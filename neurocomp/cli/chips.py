"""The ``neurocomp chips`` command.

``neurocomp chips`` lists the bundled chips; ``neurocomp chips show NAME|PATH`` prints
every parameter of one chip with its source (``docs/chips/generate.py`` writes the same
tables with :data:`SECTIONS` and :func:`format_value`). The ``--chip/--chips/--profile``
options of the other commands are :func:`neurocomp.cli.common.add_chip_arguments`.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..chip.load import list_chips, load_chip
from ..chip.spec import ChipSpec
from .common import add_command, add_memory_argument

__all__ = ["register", "handler", "format_value", "SECTIONS"]

#: Top-level parts of a chip, in the order ``chips show`` and the docs print them.
SECTIONS = ("topology", "system", "core", "numerics", "neuron", "connectivity")


def register(subparsers: Any) -> None:
    """Add the ``chips`` command to an argparse sub-parsers object."""
    chips = add_command(subparsers, "chips", description="List the bundled chips, or show every parameter of "
                                                         "one chip with its source.")
    add_memory_argument(chips)
    sub = chips.add_subparsers(dest="chips_command", metavar="ACTION")
    listing = sub.add_parser("list", help="list the bundled chips (the default)")
    add_memory_argument(listing, action_of_command=True)
    show = sub.add_parser("show", help="every parameter of a chip, with its source")
    add_memory_argument(show, action_of_command=True)
    show.add_argument("chip", metavar="NAME|PATH", help="a bundled chip or a chip/system file")
    show.add_argument("--chips", type=int, default=None, metavar="N",
                      help="show it as a system of N chips")
    show.add_argument("--profile", default=None, metavar="NAME",
                      help="show this profile first and mark it in use")
    chips.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Run ``neurocomp chips [list | show ...]``; returns the exit code."""
    console = _console()
    if getattr(args, "chips_command", None) == "show":
        _show(console, load_chip(args.chip, chips=args.chips, profile=args.profile))
    else:
        _list(console)
    return 0


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=120)


def format_value(value: Any) -> str:
    """A chip value as text: thousands separators, no float noise, lists joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format(value, ",.10g")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _ranges(values: tuple[int, ...]) -> str:
    """``(1, 2, 3, 4, 8)`` as ``"1-4, 8"``."""
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _list(console: Console) -> None:
    table = Table(title="bundled chips ('neurocomp chips show NAME' prints every parameter and its source)",
                  title_justify="left")
    for column, justify in (("chip", "left"), ("vendor", "left"), ("cores", "right"),
                            ("neurons\nper core", "right"), ("synapse memory\nper core", "right"),
                            ("weight\nbits", "left"), ("neuron family", "left"),
                            ("energy per\nsynaptic op", "right"), ("default profile", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    for name in list_chips():
        chip = load_chip(name)
        memory_kib = chip.core.synapse_memory_bits / 8 / 1024
        cells = (chip.name, chip.vendor, format_value(chip.total_cores), format_value(chip.core.neurons),
                 f"{format_value(round(memory_kib, 2))} KiB", _ranges(chip.numerics.weights.bits),
                 chip.neuron.family, f"{format_value(chip.energy.synop_pj)} pJ", chip.default_profile)
        table.add_row(*(Text(c) for c in cells))
    console.print(table)


def _show(console: Console, chip: ChipSpec) -> None:
    console.print(Text(f"{chip.name} ({chip.vendor}): {chip.description}"))
    console.print(Text(f"{format_value(chip.n_chips)} chip(s) of {format_value(chip.topology.cores_per_chip)} "
                       f"cores = {format_value(chip.total_cores)} cores; profile in use: {chip.active_profile}"))
    refs = Table(title="sources", title_justify="left", show_lines=False)
    refs.add_column("key")
    refs.add_column("reference", overflow="fold")
    for ref in chip.sources:
        refs.add_row(Text(ref.key), Text(ref.citation))
    console.print(refs)
    params = chip.parameters(include_unsourced=True)
    for section in SECTIONS:
        rows = [p for p in params if p.key.split(".")[0] == section]
        if rows:
            console.print(_parameter_table(section, rows, strip=f"{section}."))
    order = [chip.active_profile, *(p for p in chip.profiles if p != chip.active_profile)]
    for name in order:
        prefix = f"profiles.{name}."
        rows = [p for p in params if p.key.startswith(prefix)
                and p.key not in (f"{prefix}description", f"{prefix}caveat")]
        marks = [m for m, on in (("default", name == chip.default_profile),
                                 ("in use", name == chip.active_profile)) if on]
        title = f"profile {name}" + (f" ({', '.join(marks)})" if marks else "")
        table = _parameter_table(title, rows, strip=prefix)
        caveat = chip.profiles[name].caveat
        table.caption = chip.profiles[name].description + (f"\n{caveat}" if caveat else "")
        table.caption_justify = "left"
        console.print(table)


def _parameter_table(title: str, rows: list, *, strip: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("key")
    table.add_column("value", justify="right")
    table.add_column("source", overflow="fold")
    for p in rows:
        table.add_row(Text(p.key.removeprefix(strip)), Text(format_value(p.value)), Text(p.source))
    return table
