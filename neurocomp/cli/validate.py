"""The ``neurocomp validate`` command.

``validate`` runs the float reference and the chip on the same inputs
(:func:`neurocomp.workflows.validate.validate`) and prints how their spikes agree (and,
with ``--samples``, the accuracy of each as a classifier). With ``--out`` it writes
``validation.json``; with ``--plot`` it also draws ``validation.png`` (float against chip
spike counts per neuron) and, with ``--samples``, ``confusion.png`` (the classifier's
confusion matrices), and saves those counts (and labels) in ``validation_counts.npz``;
``--html`` writes ``report.html``, the tables and those pictures in one page.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..diagnostics import UsageError
from .common import (add_chip_arguments, add_command, add_memory_argument, add_jobs_argument, cluster_from_args, chip_from_args, console, load_network, pictures_need_out,
                     positive, progress_bar, refuse_to_overwrite, samples_from_args)

__all__ = ["register", "validate_command"]

VALIDATION_FILE = "validation.json"


def register(subparsers: Any) -> None:
    """Add the ``validate`` command to an argparse sub-parsers object."""
    val = add_command(subparsers, "validate",
                      description="Run the float reference and the chip emulation on the same inputs and compare "
                                  "their spikes (and, with --samples, their accuracy as a classifier).")
    val.add_argument("network", metavar="NET.snn", help="a network file")
    add_chip_arguments(val, default=None)
    val.add_argument("--steps", type=int, required=True, help="number of time steps (per sample)")
    val.add_argument("--samples", metavar="FILE.npz",
                     help="labelled samples: x [n, ...] drives the input, y [n] the expected class")
    val.add_argument("--output", metavar="POP",
                     help="the population whose spike counts give the class (default: the last probed one "
                          "that projects nowhere but onto itself)")
    val.add_argument("--limit", type=int, metavar="N", help="use only the first N samples")
    val.add_argument("--out", metavar="DIR", help="folder for validation.json")
    val.add_argument("--force", action="store_true", help="overwrite validation.json in --out")
    val.add_argument("--html", action="store_true",
                     help="write report.html into --out: the validation's tables and its pictures in one "
                          "self-contained page")
    val.add_argument("--plot", action="store_true",
                     help="draw validation.png into --out: float against chip spike counts per neuron "
                          "(with --samples also confusion.png, the classifier's confusion matrices)")
    add_jobs_argument(val, "the samples")
    add_memory_argument(val)
    val.set_defaults(func=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    """``neurocomp validate``; returns the exit code."""
    from ..report.folder import VALIDATION_COUNTS_FILE, render, save_validation_counts
    from ..workflows.validate import validate

    positive(args.steps, "--steps")
    positive(args.limit, "--limit")
    positive(args.jobs, "--jobs")
    pictures_need_out(args, ("--plot", "--html"))
    out = Path(args.out) if args.out else None
    drawn = args.plot or args.html
    if out is not None and not args.force:
        refuse_to_overwrite(out, [VALIDATION_FILE] + ([VALIDATION_COUNTS_FILE] if drawn else [])
                            + (["validation.png", "confusion.png"] if args.plot else [])
                            + (["report.html"] if args.html else []))
    network = load_network(args.network)
    chip = chip_from_args(args)
    samples = samples_from_args(args)
    if samples is None and args.limit:
        raise UsageError("--limit needs --samples")
    if args.output and not args.samples:
        raise UsageError("--output needs --samples")

    if samples is not None:
        _say_how_samples_fit(network, args.steps, samples[0], args.output)
    n = 1 if samples is None else len(samples[1])
    with cluster_from_args(args) as client, progress_bar("float and chip runs", disable=n < 2, unit="runs") as bar:
        task = bar.add_task("validate", total=n)
        result = validate(network, chip, args.steps, samples=samples, output=args.output, jobs=args.jobs,
                          client=client,
                          progress=lambda done, total: bar.update(task, completed=done))
    shown = console()
    result.render(shown)
    if out is not None:
        from ..atomic import make_dir, write_json

        write_json(make_dir(out) / VALIDATION_FILE, result.to_dict())
        written = [out / VALIDATION_FILE]
        if drawn:
            labels = None if samples is None else samples[1]
            written.append(save_validation_counts(out / VALIDATION_COUNTS_FILE, result.spike_counts, labels))
            written += render(out, plot=args.plot, page=args.html, validation=result.to_dict(),
                              validation_counts=result.spike_counts, labels=labels)
        shown.print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _say_how_samples_fit(network: Any, steps: int, x: Any, output: str | None) -> None:
    """Say when rasters are padded, and when the run is too short for the output to answer
    the last input step (a spike crosses one layer per step)."""
    from ..interop.nir_import.depth import depths
    from ..workflows.samples import output_population

    if x.ndim < 3:
        return
    given = int(x.shape[1])
    shown = console()
    if given < steps:
        shown.print(f"samples are rasters of {given} steps: padded with zeros to --steps {steps}")
    out = output_population(network, output)
    deep = depths(network).get(out)
    if deep is not None and steps < given + deep:
        shown.print(f"note: '{out}' is {deep} step{'s' if deep != 1 else ''} from the input, so input steps after "
                    f"{steps - deep - 1} do not reach it in {steps} steps; --steps {given + deep} runs the whole "
                    "raster")
