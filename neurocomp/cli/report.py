"""The ``neurocomp report`` command: a saved run's pictures and page, drawn again.

``neurocomp report RUN_DIR [--plot] [--html]`` reads what ``neurocomp run --out RUN_DIR``
(or ``neurocomp validate --out RUN_DIR``) wrote (:func:`neurocomp.report.folder.load_folder`)
and draws the pictures (``--plot``) and the self-contained page (``report.html``,
``--html``) from those files alone (:func:`neurocomp.report.folder.render`); with
neither option, both. It replaces earlier pictures and pages in the folder (they are
made from the folder's data, so nothing is lost). What a folder lacks is said, and the
rest is drawn.
"""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_command, add_memory_argument, console

__all__ = ["register", "report_command"]


def register(subparsers: Any) -> None:
    """Add the ``report`` command to an argparse sub-parsers object."""
    rep = add_command(subparsers, "report",
                      description="Draw the pictures (PNG) and the HTML page of a run saved with 'neurocomp run "
                                  "--out' (or 'neurocomp validate --out') from the files in its folder. With "
                                  "neither --plot nor --html, both.")
    rep.add_argument("folder", metavar="RUN_DIR", help="a folder written by 'neurocomp run --out'")
    rep.add_argument("--plot", action="store_true", help="write the pictures (PNG files) into RUN_DIR")
    rep.add_argument("--html", action="store_true", help="write RUN_DIR/report.html, every picture inline")
    add_memory_argument(rep)
    rep.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    """``neurocomp report``; returns the exit code."""
    from rich.text import Text

    from ..report.folder import load_folder, render
    from ..report.plots import require_matplotlib

    plot, page = bool(args.plot), bool(args.html)
    if not plot and not page:
        plot = page = True
    require_matplotlib()
    run = load_folder(args.folder)
    written = render(run.path, plot=plot, page=page, report=run.report, validation=run.validation,
                     result=run.result, spike_counts=run.spike_counts, mapping=run.mapping, cost=run.cost,
                     validation_counts=run.validation_counts, labels=run.labels)
    shown = console(width=100)
    for note in run.missing:
        shown.print(Text(f"note: {note}"), soft_wrap=True)
    shown.print(Text("wrote " + ", ".join(str(p) for p in written)), soft_wrap=True)
    return 0
