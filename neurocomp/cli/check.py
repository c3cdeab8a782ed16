"""``neurocomp check NET.snn``: parse and validate a network; list its populations and
projections with their synapse counts (after :func:`neurocomp.compiler.lower.lower`)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_command, add_memory_argument, console, fmt_int, load_network

__all__ = ["register", "check"]


def register(subparsers: Any) -> None:
    """Add the ``check`` command to an argparse sub-parsers object."""
    p = add_command(subparsers, "check")
    p.add_argument("network", help="a .snn file")
    add_memory_argument(p)
    p.set_defaults(func=check)


def _describe_population(pop: Any) -> str:
    if pop.encoder is not None:
        return type(pop.encoder).__name__
    return {"lif": "LIF", "if": "IF", "li": "LI"}[pop.neuron.family]


def check(args: argparse.Namespace) -> int:
    """Run ``neurocomp check``; returns the exit code."""
    from rich.table import Table

    from ..compiler.lower import lower

    net = load_network(args.network)
    synapses = lower(net)
    out = console()
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
                     fmt_int(pop.size), fmt_int(fan_in[pop.name]), fmt_int(fan_out[pop.name]))
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
                          fmt_int(syn.n_synapses), delay)
        out.print(projs)
    total = sum(s.n_synapses for s in synapses.values())
    out.print(f"{len(net.populations)} populations, {fmt_int(net.n_neurons)} neurons, "
              f"{len(net.projections)} projections, {fmt_int(total)} synapses: ok")
    return 0
