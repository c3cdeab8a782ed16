"""The ``neurocomp export`` command: a ``.snn`` network as a NIR graph.

``neurocomp export net.snn -o net.nir`` writes a NIR graph
(:func:`neurocomp.interop.nir_export.write_nir`) with time constants chosen so that
importing it with the same dt and method gives the same network back. It needs the
optional ``nir`` package.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..diagnostics import UsageError
from .common import add_command, add_memory_argument, console

__all__ = ["register", "export_command"]


def register(subparsers: Any) -> None:
    """Add the ``export`` command to an argparse sub-parsers object."""
    from ..interop.nir_import import DISCRETISATIONS

    exp = add_command(subparsers, "export",
                      description="Export a network as a NIR graph, with time constants chosen so that importing "
                                  "it with the same dt and method gives the same network back.")
    exp.add_argument("network", help="a .snn file")
    exp.add_argument("-o", "--out", required=True, metavar="FILE.nir", help="the NIR file to write")
    exp.add_argument("--method", choices=sorted(DISCRETISATIONS), default="euler",
                     help="the discretisation the importer will use (default: euler)")
    exp.add_argument("--extensions", action="store_true",
                     help="keep reset = subtract/none and refractory periods in node metadata "
                          "(read back by neurocomp only) instead of refusing them")
    exp.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_memory_argument(exp)
    exp.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Run ``neurocomp export``; returns the exit code."""
    from ..interop.nir_export import write_nir
    from ..interop.nir_import import DISCRETISATIONS
    from ..ir.build import load

    path = Path(args.network)
    if path.suffix != ".snn":
        raise UsageError(f"'{path}' is not a network file: expected a .snn file")
    net = load(path)
    out = write_nir(net, Path(args.out), overwrite=args.force, method=args.method,
                    extensions=args.extensions)
    d = DISCRETISATIONS[args.method]
    console().print(f"wrote {out}: {len(net.populations)} populations, {len(net.projections)} "
                    f"projections; time constants for dt = {net.dt_ms:g} ms, {d.title} ({d.formula}): "
                    f"import it with --dt {net.dt_ms:g}ms --method {d.name} to get the same network")
    return 0
