"""``neurocomp simulate NET.snn --steps T [--inputs FILE.npz] [--out DIR]``: the float
reference (:func:`neurocomp.simulate`), a table of spikes and rates per population, and
with ``--out`` the run's ``spikes.npz`` and ``summary.json``.

``--inputs`` holds one ``T x N`` raster per input population, named after it (as
``run --inputs``). A raster shorter than ``--steps`` is padded with zeros, and the
command says so: a model imported from a framework that runs every layer within one
step needs ``T + depth`` steps for its last layer to answer the last input step
(docs/nir.md). ``--framework-steps`` then shows and saves each population's steps
counted from its depth, so step ``t`` is the framework's step ``t``
(:mod:`neurocomp.interop.steps`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..diagnostics import UsageError
from .common import (add_command, add_memory_argument, console, fmt_int, load_network, progress_callback,
                     refuse_to_overwrite)

__all__ = ["register", "simulate"]


def register(subparsers: Any) -> None:
    """Add the ``simulate`` command to an argparse sub-parsers object."""
    p = add_command(subparsers, "simulate")
    p.add_argument("network", help="a .snn file")
    p.add_argument("--steps", type=int, required=True, help="number of time steps")
    p.add_argument("--inputs", metavar="FILE.npz",
                   help="one T x N spike raster per input population, named after it (shorter than "
                        "--steps: padded with zeros)")
    p.add_argument("--framework-steps", action="store_true",
                   help="count each population's steps from its depth, as a framework that runs every layer "
                        "within one step does: step t is the framework's step t (docs/nir.md)")
    p.add_argument("--out", help="folder for spikes.npz and summary.json")
    p.add_argument("--force", action="store_true", help="overwrite files in --out")
    add_memory_argument(p)
    p.set_defaults(func=simulate)


def simulate(args: argparse.Namespace) -> int:
    """Run ``neurocomp simulate``; returns the exit code."""
    from rich.table import Table

    from ..emulator.reference import simulate as reference

    if args.steps <= 0:
        raise UsageError(f"--steps must be positive, got {args.steps}")
    net = load_network(args.network)
    if args.out and not args.force:
        refuse_to_overwrite(Path(args.out), ("spikes.npz", "summary.json"))
    out = console()
    from .run import _read_inputs, given_steps, padded_rasters, shift_to_framework

    arrays = _read_inputs(args.inputs, net) if args.inputs else {}
    overrides = padded_rasters(arrays, args.steps, net, out.print) or None
    with progress_callback("simulating", unit="steps") as progress:
        result = reference(net, args.steps, inputs=overrides, progress=progress)
    if args.framework_steps:
        result = shift_to_framework(result, net, given_steps(arrays), out.print)
    table = Table(title=f"float reference: '{net.name}', {result.steps} steps of {net.dt_ms:g} ms",
                  title_justify="left")
    for col in ("population", "neurons", "spikes", "mean rate (Hz)", "silent"):
        table.add_column(col, justify="left" if col == "population" else "right")
    summary = result.summary()
    for name, row in summary["populations"].items():
        table.add_row(name, fmt_int(row["size"]), fmt_int(row["spikes"]),
                      f"{row['mean_rate_hz']:.2f}", f"{100 * row['silent_fraction']:.0f} %")
    out.print(table)
    out.print(f"{fmt_int(result.synaptic_events)} synaptic events in {result.wall_s:.3f} s")
    if args.out:
        result.save(Path(args.out), overwrite=args.force)
        out.print(f"wrote {Path(args.out) / 'spikes.npz'} and {Path(args.out) / 'summary.json'}")
    return 0
