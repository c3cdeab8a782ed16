"""``neurocomp print NET.snn``: the network back as normalised ``.snn`` text
(:func:`neurocomp.to_snn`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_command, add_memory_argument, load_network

__all__ = ["register", "print_network"]


def register(subparsers: Any) -> None:
    """Add the ``print`` command to an argparse sub-parsers object."""
    p = add_command(subparsers, "print")
    p.add_argument("network", help="a .snn file")
    add_memory_argument(p)
    p.set_defaults(func=print_network)


def print_network(args: argparse.Namespace) -> int:
    """Run ``neurocomp print``; returns the exit code."""
    from ..ir.printer import to_snn

    sys.stdout.write(to_snn(load_network(args.network)))
    return 0
