"""The ``neurocomp run`` command.

``run`` compiles a network for a chip (or takes a compiled ``.map.json``), emulates it,
prices the work with the chip's cost profile and prints the report: spikes per
population, energy (total, per step, by kind), latency (mean and worst step, total), and
the busiest core. With ``--out`` it writes ``report.json`` and the spikes
(``spikes.npz`` and ``summary.json``, as :meth:`RunResult.save`); ``--trace`` adds
``counters.npz``, the per-core per-step work counters. ``--batch N`` runs N samples of
``--inputs`` through one mapping and sums their cost (and writes ``batch_counts.npz``,
the spike counts per sample, population and neuron, instead of ``spikes.npz``).
``--plot`` draws the run's pictures into ``--out`` (PNG files named by what they show,
:mod:`neurocomp.report.plots`) and ``--html`` writes ``report.html``, one self-contained
page with the tables and every picture inline (:mod:`neurocomp.report.html`); either
also saves the mapping (``mapping.map.json`` and its ``.npz``) and ``counters.npz``, so
``neurocomp report DIR`` can draw them again from the folder
(:mod:`neurocomp.report.folder`).

The input file of ``run --inputs`` holds one array per input population, named after
it: a raster ``T x N`` (or ``T x shape``, nonzero entries are emitted with their value)
for a single run, padded with zeros when shorter than ``--steps`` (the command says so);
``--framework-steps`` saves its spikes with each population's steps counted from its
depth, as snnTorch, Norse and Sinabs count them (:mod:`neurocomp.interop.steps`); with ``--batch``, a leading sample axis: ``S x T x N`` rasters, or
``S x N`` values that replace the input encoder's ``value`` (as ``validate --samples``
does, :func:`neurocomp.workflows.samples.encode_samples`). Inputs not in the file come
from their encoders.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from rich.text import Text

from ..diagnostics import InputFileError, UsageError, did_you_mean
from ..ir.result import Counters, RunResult
from ..report.folder import COUNTERS_FILE as TRACE_FILE
from .common import (add_chip_arguments, add_command, add_jobs_argument, add_memory_argument, chip_from_args,
                     cluster_from_args, console as console_, pictures_need_out, positive, progress_bar,
                     compile_progress, progress_callback,
                     refuse_to_overwrite, warning_lines)

__all__ = ["register", "run_command", "batch_inputs", "padded_rasters", "given_steps", "shift_to_framework"]

BATCH_FILE = "batch_counts.npz"


def register(subparsers: Any) -> None:
    """Add the ``run`` command to an argparse sub-parsers object."""
    run = add_command(subparsers, "run",
                      description="Emulate a network on a chip and report its spikes, energy and latency.")
    run.add_argument("network", metavar="NET.snn|MAP.map.json",
                     help="a network file, or a mapping written by 'neurocomp compile'")
    add_chip_arguments(run, default=None, required=False)  # a .map.json names its own chip
    run.add_argument("--steps", type=int, required=True, help="number of time steps (per sample)")
    run.add_argument("--out", metavar="DIR", help="folder for report.json, spikes.npz and summary.json")
    run.add_argument("--force", action="store_true", help="overwrite files in --out")
    run.add_argument("--inputs", metavar="FILE.npz",
                     help="one array per input population: a T x N raster (with --batch: S x T x N, or S x N values)")
    run.add_argument("--framework-steps", action="store_true",
                     help="save spikes.npz with each population's steps counted from its depth, as a framework "
                          "that runs every layer within one step counts them (docs/nir.md)")
    run.add_argument("--batch", type=int, metavar="N",
                     help="run the first N samples of --inputs and sum their cost")
    run.add_argument("--trace", action="store_true",
                     help="also write counters.npz: the per-core, per-step work counters")
    run.add_argument("--contention", action="store_true",
                     help="replay each step's packets through the mesh with queues (event-driven chips)")
    run.add_argument("--no-host-io", action="store_true",
                     help="do not charge the host's input spikes and read-outs (where the profile prices them)")
    run.add_argument("--seed", type=int, default=0, metavar="N",
                     help="seed of the chip's stochastic modes (a learning rule without rng_seed; "
                          "with --batch, every sample's)")
    run.add_argument("--strict", action="store_true",
                     help="stop at the first overflow of a state register instead of wrapping/saturating")
    run.add_argument("--plot", action="store_true",
                     help="draw the run's pictures into --out (spike raster, rates, the mesh, energy and latency)")
    run.add_argument("--html", action="store_true",
                     help="write --out/report.html: the report's tables and every picture in one file")
    add_jobs_argument(run, "the samples of --batch")
    add_memory_argument(run)
    run.set_defaults(func=run_command)


# --------------------------------------------------------------------------- run


def run_command(args: argparse.Namespace) -> int:
    """``neurocomp run``; returns the exit code."""
    from ..report.cost import price_runs
    from ..report.report import report
    from ..compiler.pipeline import compile_network, is_small

    positive(args.steps, "--steps")
    positive(args.batch, "--batch")
    positive(args.jobs, "--jobs")
    if args.batch is not None and not args.inputs:
        raise UsageError("--batch needs --inputs: the samples to run", hint="give --inputs FILE.npz")
    if args.framework_steps and (args.batch is not None or not args.out):
        raise UsageError("--framework-steps renumbers the steps of the spikes.npz a single run saves",
                         hint="give --out DIR, without --batch")
    pictures_need_out(args, ("--plot", "--html"))
    pictures = bool(args.plot or args.html)
    out = Path(args.out) if args.out else None
    if out is not None and not args.force:
        names = ["report.json", "summary.json", BATCH_FILE if args.batch else "spikes.npz"]
        names += [TRACE_FILE] if args.trace or pictures else []
        if pictures:
            from ..ir.mapping import arrays_path
            from ..report.folder import MAPPING_FILE, picture_names

            names += [MAPPING_FILE, arrays_path(MAPPING_FILE).name]
        if args.plot:
            names += picture_names(single_run=args.batch is None, mapping=True, cost=True)
        if args.html:
            names.append("report.html")
        refuse_to_overwrite(out, names)

    wall: dict[str, float] = {}
    start = time.perf_counter()
    path = Path(args.network)
    if _is_mapping_file(path):
        mapping = _load_mapping(path)
        chip = _check_mapping_chip(mapping, chip_from_args(args) if args.chip else None, path, args)
        network = mapping.network
    else:
        if args.chip is None:
            raise UsageError(f"to run the network '{path}', say which chip: --chip NAME|PATH",
                             hint="'neurocomp chips' lists the bundled chips; a compiled .map.json "
                                  "needs no --chip")
        chip = chip_from_args(args)
        network = _load_network(path)
        first_run = getattr(args, "first_run", None)
        if first_run is not None and not is_small(network):
            # a cold cache: the chip's kernel compiles alongside the network's (a small
            # network compiles no kernel: a second process would only repeat this one's work)
            first_run.chip = chip
        with compile_progress() as on_pass:
            mapping = compile_network(network, chip, on_pass=on_pass)
        wall["compile"] = time.perf_counter() - start
    _print_lines(warning_lines(mapping))  # before a long emulation, and for a loaded mapping too

    arrays = _read_inputs(args.inputs, network) if args.inputs else {}
    if getattr(args, "first_run", None) is not None:
        args.first_run.wait()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.batch is None:
            from ..emulator.run import emulate

            overrides = padded_rasters(arrays, args.steps, network, console_(stderr=True, width=100).print)
            with progress_callback("emulating", unit="steps") as progress:
                runs = [emulate(mapping, args.steps, overrides or None, strict=args.strict, seed=args.seed,
                                progress=progress)]
        else:
            with cluster_from_args(args) as client:
                runs = _run_batch(mapping, network, args.steps, arrays, args.batch, args.strict, args.jobs, client,
                                  args.seed)
    wall["emulate"] = time.perf_counter() - start
    _print_lines(warning_lines(None, caught))

    start = time.perf_counter()
    for r in runs:
        if r.counters is None:
            raise UsageError("the emulator returned no work counters; nothing to price")
    priced = price_runs(runs, chip, mapping, host_io=not args.no_host_io, contention=args.contention)
    wall["cost"] = time.perf_counter() - start
    from ..report.notices import collect

    rep = report(runs, priced, chip, mapping, wall_s=wall, warnings=collect(mapping, caught))

    console = console_(width=100)
    rep.render(console)
    if out is not None:
        written = [rep.save(out, overwrite=args.force)]
        if args.batch is None:
            saved = runs[0]
            if args.framework_steps:
                saved = shift_to_framework(saved, network, given_steps(arrays), console.print)
            saved.save(out, overwrite=args.force)
            written += [out / "spikes.npz", out / "summary.json"]
        else:
            written.append(_save_batch_counts(out / BATCH_FILE, runs))
        if args.trace or pictures:
            written.append(_save_trace(out / TRACE_FILE, [r.counters for r in runs]))
        if pictures:
            written += _save_pictures(out, args, rep, runs, mapping, priced)
        console.print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _save_pictures(out: Path, args: argparse.Namespace, rep: Any, runs: Sequence[RunResult], mapping: Any,
                   priced: Any) -> list[Path]:
    """The mapping (so ``neurocomp report`` can draw again), the pictures and the page."""
    from ..report.folder import MAPPING_FILE, render

    written = list(mapping.save(out / MAPPING_FILE))
    single = len(runs) == 1 and args.batch is None
    counts = None
    if not single:
        counts = {name: np.sum([r.spike_counts(name) for r in runs], axis=0, dtype=np.int64)
                  for name in runs[0].spikes}
    return written + render(out, plot=args.plot, page=args.html, report=rep.to_dict(),
                            result=runs[0] if single else None, spike_counts=counts, mapping=mapping,
                            cost=priced)


def _print_lines(lines: Sequence[str]) -> None:
    """Warnings on stderr, one unfolded line each."""
    if lines:
        err = console_(stderr=True, width=100)
        for line in lines:
            err.print(Text(line), soft_wrap=True)


def _is_mapping_file(path: Path) -> bool:
    return path.name.endswith(".json")


def _load_network(path: Path):
    from ..ir.build import load

    if path.suffix != ".snn":
        raise UsageError(f"'{path}' is not a network file: expected a .snn file or a .map.json mapping")
    return load(path)


def _load_mapping(path: Path):
    from ..ir.mapping import Mapping

    if not path.is_file():
        raise UsageError(f"no such file: '{path}'")
    return Mapping.load(path)


def _check_mapping_chip(mapping: Any, chip: Any, path: Path, args: argparse.Namespace) -> Any:
    """The chip to price a loaded mapping with: the one it was compiled for, with the
    profile ``--profile`` selects. ``--chip`` and ``--chips`` must agree with it."""
    compiled = mapping.chip
    if chip is None and args.chips is not None and args.chips != compiled.n_chips:
        raise UsageError(f"'{path}' was compiled for {compiled.n_chips} chip"
                         f"{'s' if compiled.n_chips != 1 else ''} of {compiled.name}, not {args.chips}",
                         hint="compile the network again for that system")
    if chip is not None and (chip.name != compiled.name or chip.n_chips != compiled.n_chips):
        raise UsageError(f"'{path}' was compiled for {compiled.name} ({compiled.n_chips} chip"
                         f"{'s' if compiled.n_chips != 1 else ''}), not {chip.name} ({chip.n_chips})",
                         hint=f"run it with --chip {compiled.name}"
                              + (f" --chips {compiled.n_chips}" if compiled.n_chips != 1 else "")
                              + ", or compile the network again for this chip")
    return compiled.with_profile(args.profile) if args.profile else compiled


def _read_inputs(path_text: str, network: Any) -> dict[str, np.ndarray]:
    """The arrays of an ``--inputs`` file, each named after an input population."""
    path = Path(path_text)
    if not path.is_file():
        raise InputFileError(f"no such input file: '{path}'")
    from ..resources import read_npz

    arrays = read_npz(path, hint="write it with numpy.savez(path, <input name>=array, ...)")
    inputs = [name for name, pop in network.populations.items() if pop.is_input]
    for name in arrays:
        if name not in inputs:
            raise InputFileError(f"'{path}' has an array '{name}', but network '{network.name}' has no "
                                 "input population of that name",
                                 hint=did_you_mean(name, inputs) or f"its inputs: {', '.join(inputs) or 'none'}")
    for name, a in arrays.items():
        if a.dtype.kind not in "biuf":  # strings, complex numbers (an imaginary part dropped)
            raise InputFileError(f"'{path}': array '{name}' holds {a.dtype} values; expected real numbers")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise InputFileError(f"'{path}': array '{name}' holds NaN or infinite values")
    return arrays


def padded_rasters(arrays: dict[str, np.ndarray], steps: int, network: Any, say: Any) -> dict[str, np.ndarray]:
    """Each ``T x N`` raster of a single run, a shorter one padded with zeros to ``steps``
    (saying so: a model from a framework that runs every layer within one step needs
    ``T + depth`` steps for its last layer to answer the last input step, docs/nir.md)."""
    out = {}
    for name, a in arrays.items():
        if a.ndim >= 2 and a.shape[0] < steps:
            say(f"input '{name}': {a.shape[0]} steps given, padded with zeros to {steps}")
            a = np.concatenate([a, np.zeros((steps - a.shape[0], *a.shape[1:]), dtype=a.dtype)])
        out[name] = _raster(name, a, steps, network)
    return out


def given_steps(arrays: dict[str, np.ndarray]) -> int | None:
    """The longest raster's steps (the framework's run), None without rasters."""
    return max((int(a.shape[0]) for a in arrays.values() if a.ndim >= 2), default=None)


def shift_to_framework(result: RunResult, network: Any, steps: int | None, say: Any) -> RunResult:
    """``--framework-steps``: each population's steps counted from its depth
    (:func:`neurocomp.interop.steps.framework_steps`), saying what moved."""
    from ..interop.steps import framework_steps

    shifted, shift = framework_steps(result, network, steps)
    moved = ", ".join(f"'{k}' by {d}" for k, d in shift.items() if d)
    say(f"framework steps: {shifted.steps} steps, each population's step t + depth shown as step t "
        f"({moved or 'nothing moved: every population is at depth 0'})")
    return shifted


def _raster(name: str, array: np.ndarray, steps: int, network: Any) -> np.ndarray:
    size = network.populations[name].size
    if array.ndim < 2 or int(np.prod(array.shape[1:])) != size or array.shape[0] < steps:
        raise InputFileError(f"input '{name}': array of shape {array.shape} is not a raster of >= {steps} "
                             f"steps x {size} neurons", where=f"input '{name}'",
                             hint="a single run takes a T x N array; use --batch for S x T x N")
    return array[:steps].reshape(steps, size)


def batch_inputs(network: Any, steps: int, arrays: dict[str, np.ndarray], n: int) -> list[dict[str, Any]]:
    """Per sample ``i < n``, the overrides that ``arrays[pop][i]`` make (see the module docstring)."""
    from ..workflows.samples import encode_samples

    for name, a in arrays.items():  # every array checked before a sample is made
        if a.ndim < 2 or a.shape[0] < n:
            raise InputFileError(f"input '{name}' has {a.shape[0] if a.ndim else 0} samples; --batch asks for "
                                 f"{n:,}", where=f"input '{name}'", hint="the leading axis of each array is the sample")
    samples: list[dict[str, Any]] = [{} for _ in range(n)]
    for name, a in arrays.items():
        pop = network.populations[name]
        for i, given in enumerate(encode_samples(pop, steps, float(network.dt_ms), a[:n])):
            samples[i][name] = given
    return samples


def _run_batch(mapping: Any, network: Any, steps: int, arrays: dict[str, np.ndarray], n: int,
               strict: bool, jobs: int | None, client: Any, seed: int = 0) -> list[RunResult]:
    """Every sample through one mapping (:func:`neurocomp.workflows.batch.emulate_samples`,
    on ``jobs`` worker processes or a Dask ``client``), with a progress bar. Every sample
    runs with ``seed`` (``--seed``), so each one's learning is reproducible on its own."""
    from ..workflows.batch import emulate_samples

    samples = [s or None for s in batch_inputs(network, steps, arrays, n)]
    with progress_bar("emulating", disable=n < 2, unit="samples") as bar:
        task = bar.add_task("batch", total=n)
        return list(emulate_samples(mapping, steps, samples, strict=strict, seed=seed, jobs=jobs, client=client,
                                    progress=lambda done, total: bar.update(task, completed=done)))


def _save_batch_counts(path: Path, runs: Sequence[RunResult]) -> Path:
    from ..atomic import save_npz

    arrays = {name: np.stack([r.spike_counts(name) for r in runs]).astype(np.int64) for name in runs[0].spikes}
    return save_npz(path, arrays, compressed=True)


def _save_trace(path: Path, counters: Sequence[Counters | None]) -> Path:
    """``core_ids`` and one int64 array per counter: ``(steps, cores)``, or
    ``(samples, steps, cores)`` for a batch."""
    present = [c for c in counters if c is not None]
    arrays: dict[str, np.ndarray] = {"core_ids": np.asarray(present[0].core_ids, dtype=np.int32)}
    for name in Counters.FIELDS:
        stacked = [np.asarray(getattr(c, name), dtype=np.int64) for c in present]
        arrays[name] = stacked[0] if len(stacked) == 1 else np.stack(stacked)
    from ..atomic import save_npz

    return save_npz(path, arrays, compressed=True)
