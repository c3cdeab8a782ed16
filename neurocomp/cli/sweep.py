"""The ``neurocomp sweep`` command: one network over a grid of configurations.

::

    neurocomp sweep NET.snn --chips loihi,truenorth,akida --steps 100
                    [--weight-bits 4,8] [--partition auto,greedy] [--place anneal,greedy]
                    [--profiles NAME,...] [--n-chips 1,2] [--samples FILE.npz [--limit N]]
                    [--json] [--out DIR [--force]] [--jobs N | --scheduler ADDR]

Every combination of the lists is one point (:func:`neurocomp.workflows.sweep.sweep`):
compiled, run, validated against the float model and priced, on every core (or a Dask
cluster). The table marks the Pareto front (``*``: no other point has lower energy,
latency and higher accuracy together); ``--out`` writes ``sweep.json`` and
``sweep.csv``, and with ``--plot`` ``sweep.png`` (:meth:`Sweep.figure`). A point that does not fit or that the chip cannot represent is a row that
says why; the exit code is 0 as long as the sweep ran. Ctrl-C stops the workers; the
points that finished are printed and written all the same, marked partial (exit code 130).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..diagnostics import UsageError
from .common import (add_command, add_memory_argument, add_jobs_argument, cluster_from_args, console, load_network, pictures_need_out,
                     positive, refuse_to_overwrite, samples_from_args)
from .compare import _ChipItems, chip_list

__all__ = ["register", "handler", "SWEEP_FILE", "SWEEP_CSV", "SWEEP_PNG"]

SWEEP_FILE = "sweep.json"
SWEEP_CSV = "sweep.csv"
SWEEP_PNG = "sweep.png"


def register(subparsers: Any) -> None:
    """Add the ``sweep`` command to an argparse sub-parsers object."""
    p = add_command(subparsers, "sweep",
                    description="Compile, run, validate and price a network at every combination of chips, "
                                "profiles, weight widths, partitioners, placers and chip counts; one table with "
                                "the Pareto front of energy, latency and accuracy.")
    p.add_argument("network", metavar="NET.snn", help="a network file")
    p.add_argument("--chips", action=_ChipItems, split=True, dest="chip_items", default=[], metavar="NAME,...",
                   help="chips to sweep, comma-separated: bundled names or chip/system files")
    p.add_argument("--chip", action=_ChipItems, split=False, dest="chip_items", default=[], metavar="NAME|PATH",
                   help="one more chip; may be repeated")
    p.add_argument("--profiles", type=_names, metavar="NAME,...", help="cost profiles (default: each chip's own)")
    p.add_argument("--n-chips", type=_counts, metavar="N,...", help="chips in the system (default: the chip file's)")
    p.add_argument("--weight-bits", type=_counts, metavar="B,...",
                   help="the widest stored weight, in bits (default: the chip's widths)")
    p.add_argument("--partition", type=_names, metavar="NAME,...", help="partitioners (default: auto)")
    p.add_argument("--place", type=_names, metavar="NAME,...", help="placers (default: anneal)")
    p.add_argument("--seed", type=int, default=0, help="the placer's seed (default: 0)")
    p.add_argument("--steps", type=int, required=True, help="number of time steps (per run or sample)")
    p.add_argument("--samples", metavar="FILE.npz",
                   help="labelled samples: x [n, ...] drives the input, y [n] the expected class")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N samples")
    p.add_argument("--json", action="store_true", help="print the sweep as JSON instead of a table")
    p.add_argument("--out", metavar="DIR", help=f"also write {SWEEP_FILE} and {SWEEP_CSV} into this folder")
    p.add_argument("--force", action="store_true", help=f"overwrite {SWEEP_FILE} and {SWEEP_CSV} in --out")
    p.add_argument("--plot", action="store_true",
                   help=f"also draw {SWEEP_PNG} into --out: latency and accuracy against energy, the Pareto front marked")
    add_jobs_argument(p, "the points")
    add_memory_argument(p)
    p.set_defaults(func=handler)


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return names


def _counts(text: str) -> list[int]:
    try:
        values = [int(t) for t in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers > 0, got {text!r}")
    return values


def handler(args: argparse.Namespace) -> int:
    """Run ``neurocomp sweep``; returns the exit code."""
    from ..workflows.sweep import SweepInterrupted, sweep

    positive(args.steps, "--steps")
    positive(args.limit, "--limit")
    if args.limit is not None and not args.samples:
        raise UsageError("--limit needs --samples")
    grid: dict[str, Any] = {"chip": chip_list(args.chip_items)}
    for axis, value in (("profile", args.profiles), ("chips", args.n_chips), ("weight_bits", args.weight_bits),
                        ("partition", args.partition), ("place", args.place)):
        if value:
            grid[axis] = value
    pictures_need_out(args, ("--plot",))
    out = Path(args.out) if args.out else None
    if out is not None and not args.force:
        refuse_to_overwrite(out, [SWEEP_FILE, SWEEP_CSV] + ([SWEEP_PNG] if args.plot else []))
    network = load_network(args.network)
    samples = samples_from_args(args)

    from .common import progress_bar

    interrupted = False
    with cluster_from_args(args) as client, progress_bar("points", disable=False, unit="points") as bar:
        task = bar.add_task("sweep", total=None)
        try:
            result = sweep(network, grid, args.steps, samples=samples, seed=args.seed, jobs=args.jobs,
                           client=client, progress=lambda done, total: bar.update(task, completed=done, total=total))
        except SweepInterrupted as exc:  # Ctrl-C: show and write what finished, marked partial
            result, interrupted = exc.sweep, True
    if args.json:
        sys.stdout.write(result.to_json())
    else:
        shown = console(width=200, soft_wrap=True)
        result.render(shown)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / SWEEP_FILE).write_text(result.to_json(), encoding="utf-8")
        (out / SWEEP_CSV).write_text(result.to_csv(), encoding="utf-8")
        written = [out / SWEEP_FILE, out / SWEEP_CSV]
        if args.plot:
            from ..report.plots import png

            (out / SWEEP_PNG).write_bytes(png(result.figure()))
            written.append(out / SWEEP_PNG)
        if not args.json:
            print("wrote " + ", ".join(str(p) for p in written))
    if interrupted:
        from . import interrupted as stopped

        return stopped()
    return 0
