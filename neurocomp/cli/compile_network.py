"""The ``neurocomp compile`` command: a network onto a chip, and a summary of the result.

::

    neurocomp compile NET.snn --chip loihi [--chips N] [-o out.map.json]
                      [--dump-after PASS ...] [--partition auto|sequential|greedy]
                      [--place anneal|greedy|row_major] [--no-split] [--per-core]

The summary says how many chips and cores the network takes, how full the fullest core
is in every per-core resource, how the populations were cut, the spike traffic and its
hops (as if every neuron fired once), the quantization error per projection and the
time each pass took. ``docs/compiler.md`` explains how to read it.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import api
from ..compiler.partition import PARTITIONERS, family_strategies
from ..compiler.pipeline import PASS_NAMES, describe_artifact
from ..compiler.place import PLACERS
from ..diagnostics import QuantizationWarning, UsageError
from ..ir.mapping import Mapping, arrays_path
from .common import (add_chip_arguments, add_command, add_memory_argument, chip_from_args, compile_progress,
                     console as make_console, load_network, warning_lines)

__all__ = ["register", "handler", "summary"]


def register(subparsers: Any) -> None:
    """Add the ``compile`` command to an argparse sub-parsers object."""
    p = add_command(subparsers, "compile", description="Compile a network onto a chip and print what it takes.")
    p.add_argument("network", help="a .snn file")
    add_chip_arguments(p, default=None, required=False)  # asked for by name, as run and validate do
    p.add_argument("-o", "--out", metavar="FILE.map.json",
                   help="write the Mapping (JSON, with its arrays in a .npz beside it)")
    p.add_argument("--force", action="store_true", help="overwrite the files of -o")
    p.add_argument("--dump-after", action="append", choices=PASS_NAMES, default=[], metavar="PASS",
                   help=f"print the artifact after a pass ({', '.join(PASS_NAMES)}); may be repeated")
    p.add_argument("--partition", default="auto", choices=["auto", *PARTITIONERS, *family_strategies()],
                   help="partition strategy (default: auto); on akida the vendor's map mode: all_nps "
                        "(its default) or minimal")
    p.add_argument("--place", default="anneal", choices=list(PLACERS), help="placement strategy (default: anneal)")
    p.add_argument("--no-split", action="store_true", help="keep every population on one core")
    p.add_argument("--seed", type=int, default=0, help="seed of the annealing placer (default: 0)")
    p.add_argument("--per-core", action="store_true", help="also print every core's usage")
    add_memory_argument(p)
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Run ``neurocomp compile``; returns the exit code."""
    if Path(args.network).suffix != ".snn":
        raise UsageError(f"'{args.network}' is not a network file: expected a .snn file")
    out = Path(args.out) if args.out else None
    if out is not None and not args.force:
        existing = [f for f in (out, arrays_path(out)) if f.exists()]
        if existing:
            raise UsageError(f"'{existing[0]}' already exists; not overwriting a previous mapping",
                             hint="choose another -o file, or add --force to replace it")
    if args.chip is None:
        raise UsageError(f"to compile '{args.network}', say which chip: --chip NAME|PATH",
                         hint="'neurocomp chips' lists the bundled chips")
    net = load_network(args.network)
    chip = chip_from_args(args)
    # tables fit 120 columns; lines of text are never folded (they may hold file names)
    console = make_console(soft_wrap=True)
    dumps = set(args.dump_after)

    def hook(p, artifact, seconds):
        if p.name in dumps:
            console.print(Text(f"--- after {p.name} ---"))
            console.print(Text(describe_artifact(artifact).rstrip("\n")))

    with warnings.catch_warnings():
        # summary() prints the quantization report's warnings, as every command does.
        warnings.simplefilter("ignore", QuantizationWarning)
        with compile_progress() as bar:
            mapping = api.compile(net, chip, partition=args.partition, place=args.place, seed=args.seed,
                                  allow_split=not args.no_split, on_pass=hook if bar is None else both(hook, bar))
    summary(mapping, console, per_core=args.per_core)
    if out is not None:
        json_path, npz_path = mapping.save(out)
        console.print(Text(f"wrote {json_path} and {npz_path}"))
    return 0


def both(*hooks: Any) -> Any:
    """One ``on_pass`` hook that calls ``hooks`` in order."""
    def on_pass(p: Any, artifact: Any, seconds: float) -> None:
        for hook in hooks:
            hook(p, artifact, seconds)

    return on_pass


def _n(x: int | float) -> str:
    return f"{x:,}"


def _pct(used: int, limit: int) -> str:
    return f"{100.0 * used / limit:.1f} %" if limit else "-"


def _held(slices) -> str:
    """``a[0:16], b (3 slices, 40 neurons)``: what a core holds, one entry per population."""
    by_pop: dict[str, list] = {}
    for s in slices:
        by_pop.setdefault(s.population, []).append(s)
    parts = []
    for name, runs in by_pop.items():
        if len(runs) == 1:
            parts.append(f"{name}[{runs[0].start}:{runs[0].stop}]")
        else:
            parts.append(f"{name} ({len(runs)} slices, {sum(r.size for r in runs):,})")
    return ", ".join(parts)


def summary(m: Mapping, console: Console, *, per_core: bool = False, times: bool = True) -> None:
    """Print the compile summary of ``m`` (rich tables)."""
    chip = m.chip
    per_chip = chip.topology.cores_per_chip
    chips_used = len({c.core_id // per_chip for c in m.cores})
    rep = dict(m.compile_report)
    part = rep.get("partition", {})
    plc = rep.get("placement", {})
    cores = f"{len(m.cores):,} core{'' if len(m.cores) == 1 else 's'}"
    console.print(Text(f"compiled '{m.network.name}' for {chip.name}: {cores} on {chips_used} of "
                       f"{chip.n_chips} chip(s) ({_n(per_chip)} cores each); partition {part.get('strategy', '?')}, "
                       f"placement {plc.get('strategy', '?')}"))

    util = m.utilization()
    t = Table(title="per-core resources (the fullest core of each)", title_justify="left")
    for col, just in (("resource", "left"), ("used", "right"), ("limit", "right"), ("full", "right"),
                      ("on core", "right"), ("mean over cores", "right")):
        t.add_column(col, justify=just)
    for r, (name, used, limit, core) in enumerate(util.worst()):
        mean = float(util.used[:, r].mean()) if util.used.shape[0] else 0.0
        t.add_row(name, _n(used), _n(limit), _pct(used, limit), str(core), f"{mean:,.1f}")
    console.print(t)

    t = Table(title="populations", title_justify="left")
    for col, just in (("population", "left"), ("neurons", "right"), ("cores", "right"), ("slices", "right"),
                      ("shares a core", "left")):
        t.add_column(col, justify=just)
    held: dict[str, list[int]] = {}
    slices: dict[str, int] = {}
    shared: dict[str, bool] = {}
    for core in m.cores:
        names = {s.population for s in core.slices}
        for s in core.slices:
            held.setdefault(s.population, [])
            if core.core_id not in held[s.population]:
                held[s.population].append(core.core_id)
            slices[s.population] = slices.get(s.population, 0) + 1
            shared[s.population] = shared.get(s.population, False) or len(names) > 1
    for name in [*m.population_names, "<relay>"]:
        if name not in held:
            continue
        size = m.network.populations[name].size if name in m.network.populations else \
            sum(s.size for c in m.cores for s in c.slices if s.population == name)
        t.add_row(name, _n(size), _n(len(held[name])), _n(slices[name]), "yes" if shared[name] else "")
    console.print(t)

    traffic = m.traffic()
    console.print(Text(f"{_n(m.n_comp)} compartments ({_n(m.n_relays)} relays), {_n(m.n_axons)} axons, "
                       f"{_n(m.n_synapses)} synapses"))
    line = (f"spike traffic, every neuron firing once: {_n(traffic['routes'])} packets, "
            f"{_n(traffic['leave_core'])} leave their core, {_n(traffic['interchip_routes'])} cross chips; "
            f"{_n(traffic['hops'])} hops, mean {traffic['mean_hops']:.2f} per packet")
    console.print(Text(line))
    if plc:
        naive = plc.get("naive_hops", 0)
        better = plc.get("improvement")
        cost, naive_cost = plc.get("cost", 0), plc.get("naive_cost", 0)
        if cost == naive_cost:
            verdict = "the same"
        elif cost and better is not None:
            verdict = f"{better:.2f}x lower" if cost < naive_cost else f"{naive_cost / cost:.2f}x of it"
        else:
            verdict = "no hop at all"
        text = (f"row-major placement: {_n(naive)} hops, {_n(plc.get('naive_interchip_routes', 0))} cross chips; "
                f"placement cost {_n(cost)} against {_n(naive_cost)} for row-major ({verdict})")
        console.print(Text(text))
    if len(part.get("tried", [])) > 1:
        tried = ", ".join(f"{name} {cores:,} cores / {cut:,} packets leave" if why is None else f"{name} not kept ({why})"
                          for name, cores, cut, why in part["tried"])
        console.print(Text(f"partition candidates: {tried}; kept {part['strategy']}"))
    extra = rep.get("relay_extra_step_synapses", 0)
    if extra:
        console.print(Text(f"note: {_n(extra)} synapses behind relays arrive one step late (their delay was 0; "
                           f"see docs/compiler.md)"))
    for note in part.get("notes", []):
        console.print(Text(f"note: {note}"))

    q = m.quantization
    if q.projections:
        t = Table(title="quantization error per projection (relative to the largest weight)", title_justify="left")
        for col, just in (("projection", "left"), ("bits", "right"), ("exp", "right"), ("max err", "right"),
                          ("rms err", "right"), ("clipped", "right"), ("zeroed", "right")):
            t.add_column(col, justify=just)
        for e in q.projections:
            t.add_row(e.projection, str(e.weight_bits), str(e.weight_exp), f"{e.max_error:.2%}",
                      f"{e.rms_error:.2%}", f"{e.clipped_fraction:.1%}", f"{e.zeroed_fraction:.1%}")
        console.print(t)
    for line in warning_lines(m):
        console.print(Text(line))

    if per_core:
        t = Table(title="every core (used / limit)", title_justify="left")
        t.add_column("core", justify="right")
        t.add_column("holds", justify="left")
        for name in util.resources:
            t.add_column(name.replace("config_registers.", "cfg."), justify="right")
        for k, core in enumerate(m.cores):
            t.add_row(str(core.core_id), _held(core.slices), *(_n(int(v)) for v in util.used[k].tolist()))
        console.print(t)

    if times and m.pass_times_s:
        t = Table(title="pass times", title_justify="left")
        t.add_column("pass", justify="left")
        t.add_column("seconds", justify="right")
        for name, sec in m.pass_times_s.items():
            t.add_row(name, f"{sec:.3f}")
        t.add_row("total", f"{sum(m.pass_times_s.values()):.3f}")
        console.print(t)
