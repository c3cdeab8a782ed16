"""The ``neurocomp compare`` command: one network on several chips, one table.

::

    neurocomp compare NET.snn --chips loihi,truenorth,akida --steps 100
                      [--chip FILE.toml ...] [--samples FILE.npz [--limit N]]
                      [--json] [--out DIR [--force] [--plot] [--html]] [--jobs N | --scheduler ADDR]

``--chips`` takes a comma-separated list of bundled chip names or chip/system files;
``--chip`` adds one more and may be repeated (both may be given; the chips keep the
order of the command line). Unlike ``run`` and ``compile``, ``--chips`` here names chips
rather than a number of them: for a system of several chips, give a system file. A chip
the network does not fit, or cannot represent, says why in its row; the exit code is 0
as long as the comparison itself ran. ``--json`` prints the :class:`Comparison` as JSON
instead of the table. ``--plot`` draws ``comparison.png`` (a bar per chip for each
figure) into ``--out``, ``--html`` writes ``comparison.html`` (the table and that
picture in one self-contained page).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..diagnostics import UsageError
from .common import (add_command, add_memory_argument, add_jobs_argument, cluster_from_args, console, load_network,
                     pictures_need_out, positive, progress_bar, samples_from_args)

__all__ = ["register", "handler", "chip_list", "COMPARISON_FILE"]

COMPARISON_FILE = "comparison.json"


def register(subparsers: Any) -> None:
    """Add the ``compare`` command to an argparse sub-parsers object."""
    p = add_command(
        subparsers, "compare",
        description="Compile and run a network on several chips and compare them: cores, the fullest core, "
                    "energy, latency, quantization error, spike agreement with the float reference and, with "
                    "--samples, accuracy.")
    p.add_argument("network", metavar="NET.snn", help="a network file")
    p.add_argument("--chips", action=_ChipItems, split=True, dest="chip_items", default=[],
                   metavar="NAME,NAME,...",
                   help="chips to compare, comma-separated: bundled names or chip/system files")
    p.add_argument("--chip", action=_ChipItems, split=False, dest="chip_items", default=[], metavar="NAME|PATH",
                   help="one more chip; may be repeated")
    p.add_argument("--steps", type=int, required=True, help="number of time steps (per run or sample)")
    p.add_argument("--samples", metavar="FILE.npz",
                   help="labelled samples: x [n, ...] drives the input, y [n] the expected class")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N samples")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON instead of a table")
    p.add_argument("--out", metavar="DIR", help=f"also write {COMPARISON_FILE} into this folder")
    p.add_argument("--force", action="store_true", help=f"overwrite {COMPARISON_FILE} (and the pictures) in --out")
    p.add_argument("--plot", action="store_true",
                   help="draw comparison.png into --out: a bar per chip for cores, energy, latency, agreement")
    p.add_argument("--html", action="store_true",
                   help="write comparison.html into --out: the table and the chart in one self-contained page")
    add_jobs_argument(p, "the chips")
    add_memory_argument(p)
    p.set_defaults(func=handler)


class _ChipItems(argparse.Action):
    """``--chips a,b`` and ``--chip c`` append to one list, in the order they are typed."""

    def __init__(self, *args: Any, split: bool, **kwargs: Any) -> None:
        self.split = split
        super().__init__(*args, **kwargs)

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: Any = None) -> None:
        items = list(getattr(namespace, self.dest) or [])
        items += values.split(",") if self.split else [values]
        setattr(namespace, self.dest, items)


def chip_list(items: list[str]) -> list[str]:
    """The chips the options name, in command-line order, each once.

    Raises
    ------
    UsageError
        When none is given, or one is a bare number (``--chips 2`` as ``run`` takes it).
    """
    out: list[str] = []
    for item in (c.strip() for c in items):
        if item and item not in out:
            out.append(item)
    for item in out:
        if item.isdigit():
            raise UsageError(f"--chips {item}: here --chips lists the chips to compare, not a number of chips",
                             hint="write --chips loihi,truenorth; for a system of several chips give a "
                                  "system file (see docs/api.md)")
    if not out:
        raise UsageError("no chips to compare", hint="give them with --chips loihi,truenorth,akida")
    return out


def handler(args: argparse.Namespace) -> int:
    """Run ``neurocomp compare``; returns the exit code."""
    from ..workflows.compare import compare

    if args.steps <= 0:
        raise UsageError(f"--steps must be positive, got {args.steps}")
    if args.limit is not None and args.limit <= 0:
        raise UsageError(f"--limit must be positive, got {args.limit}")
    if args.limit is not None and not args.samples:
        raise UsageError("--limit needs --samples")
    positive(args.jobs, "--jobs")
    chips = chip_list(args.chip_items)
    pictures_need_out(args, ("--plot", "--html"))
    out = Path(args.out) if args.out else None
    if out is not None and not args.force:
        files = [COMPARISON_FILE] + (["comparison.png"] if args.plot else []) + \
            (["comparison.html"] if args.html else [])
        for name in files:
            if (out / name).exists():
                raise UsageError(f"'{out / name}' already exists; not overwriting a previous comparison",
                                 hint="choose another --out folder, or add --force to replace it")
        if out.exists() and not out.is_dir():
            raise UsageError(f"'{out}' is a file, not a folder", hint="give --out a folder")
    network = load_network(args.network)
    samples = samples_from_args(args)

    # the float reference, then each chip: done/total, a rate and the time left
    with cluster_from_args(args) as client, \
            progress_bar("comparing: {task.description}", disable=False, unit="chips") as bar:
        task = bar.add_task("float reference", total=len(chips) + 1)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, advance=1, description=f"{label} done")

        result = compare(network, chips, args.steps, samples=samples, progress=progress, jobs=args.jobs,
                         client=client)

    if args.json:
        sys.stdout.write(result.to_json())
    else:
        shown = console(width=200, soft_wrap=True)
        result.render(shown)
        parts = ", ".join(f"{k} {v:.3g} s" for k, v in result.wall_s.items())
        shown.print(f"wall: {parts}", soft_wrap=True)
    if out is not None:
        from ..atomic import make_dir, write_text

        written = [write_text(make_dir(out) / COMPARISON_FILE, result.to_json())]
        if args.plot or args.html:
            from ..atomic import write_bytes
            from ..report.html import COMPARISON_HTML_FILE, comparison_html
            from ..report.plots import comparison, png

            pictures = {"comparison.png": png(comparison(result))}
            if args.plot:
                written.append(write_bytes(out / "comparison.png", pictures["comparison.png"]))
            if args.html:
                written.append(write_text(out / COMPARISON_HTML_FILE, comparison_html(result, pictures)))
        if not args.json:
            print("wrote " + ", ".join(str(p) for p in written))
    return 0
