"""Sweep: one network over a grid of configurations, each compiled, run, validated, priced.

Input: a :class:`~neurocomp.ir.network.Network`, a grid ``{axis: [values]}`` over
:data:`AXES`, a number of steps, and input overrides (one run) or a labelled sample set,
as :func:`neurocomp.workflows.compare.compare` takes them. Output: a
:class:`~neurocomp.report.sweep.Sweep`, one row per point of the grid (the Cartesian
product of the axes, in the order of :data:`AXES`, each axis in the order given).

The axes:

``chip``
    bundled chip names, chip or system files, or ChipSpecs (required);
``profile``
    the chip's cost profile (``None``: its default; a chip without that profile is a
    row that says so);
``chips``
    a system of that many chips (``None``: the chip file's own);
``weight_bits``
    the widest stored weight: the chip keeps only its weight widths up to this many
    bits (``None``: all of them; a point whose chip has none is a row that says so);
``partition``, ``place``
    the compiler's strategies (:func:`neurocomp.compiler.pipeline.default_passes`).

The float reference runs once (its samples spread like the points). Each point is independent: its chip is built, the
network compiled with its passes and then run, priced and validated exactly as one row
of a comparison (:func:`neurocomp.workflows.compare`), so a point that does not fit or
cannot be represented is a row that says why and the sweep goes on. The points run on
``jobs`` local workers or a Dask ``client`` (:mod:`neurocomp.workflows.parallel`); the
rows do not depend on where.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from pathlib import Path
from typing import Any, Callable, Mapping as TMapping, Sequence

import numpy as np

from ..diagnostics import UsageError, did_you_mean
from ..ir.network import Network
from ..ir.synapses import InputEvents
from ..report.sweep import Sweep, SweepPoint
from .compare import reference_runs
from .parallel import Interrupted, map_chunks
from .samples import runs_of

__all__ = ["sweep", "AXES", "weight_variant", "SweepInterrupted"]

#: The axes of a sweep, in the order points are enumerated, with their default value.
AXES: dict[str, Any] = {"chip": None, "profile": None, "chips": None, "weight_bits": None,
                        "partition": "auto", "place": "anneal"}


def sweep(network: Network, grid: TMapping[str, Any], steps: int,
          inputs: TMapping[str, InputEvents | np.ndarray] | None = None, *,
          samples: str | Path | tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
          jobs: int | None = None, client: Any = None,
          progress: Callable[[int, int], None] | None = None) -> Sweep:
    """Compile, run, validate and price ``network`` at every point of ``grid``.

    Parameters
    ----------
    network
        The network, float parameters as written.
    grid
        ``{axis: value or [values]}`` over :data:`AXES`; ``chip`` is required.
    steps
        Steps per run (``> 0``).
    inputs, samples
        One run's input overrides, or a labelled set (one run per sample and each
        point's accuracy), as :func:`~neurocomp.workflows.compare.compare` takes them.
    seed
        The placer's seed (the same at every point).
    jobs, client
        Where the points run (:mod:`neurocomp.workflows.parallel`).
    progress
        Called as ``progress(points done, points)`` as points finish.

    Returns
    -------
    Sweep
        One row per point, in grid order.

    Raises
    ------
    SweepInterrupted
        On Ctrl-C while the points run; its ``sweep`` holds the points that finished.
    UsageError
        For an unknown axis, an empty axis, no chip, a bad strategy name or
        ``weight_bits``, or as :func:`compare` does.
    """
    from ..chip.load import resolve_chip
    from ..compiler.lower import lower
    from ..compiler.pipeline import default_passes
    from ..report.compare import ChipRow, error_reason, row_labels

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise UsageError(f"steps must be a whole number > 0, got {steps!r}")
    steps = int(steps)
    axes = _axes(grid)
    points: list[SweepPoint] = []
    work: list[tuple[Any, Any, UsageError | None]] = []
    for values in itertools.product(*axes.values()):
        point = dict(zip(axes, values))
        spec = resolve_chip(point["chip"], chips=point["chips"])  # an unknown chip stops the sweep here
        passes = default_passes(partition=point["partition"], place=point["place"], seed=seed)
        refused = None
        try:  # a profile or a width this chip lacks: the point says so
            if point["profile"] is not None:
                spec = resolve_chip(spec, profile=point["profile"])
            if point["weight_bits"] is not None:
                spec = weight_variant(spec, point["weight_bits"])
        except UsageError as exc:
            refused = exc
        work.append((spec, passes, refused))
        points.append(SweepPoint(chip=spec.name, profile=spec.active_profile, n_chips=spec.n_chips,
                                 weight_bits=point["weight_bits"], partition=point["partition"],
                                 place=point["place"]))
    labels_ = row_labels([spec for spec, _, _ in work])
    runs, labels, output = runs_of(network, steps, inputs, samples)

    start = time.perf_counter()
    synapses = lower(network)
    ref_runs = reference_runs(network, steps, runs, synapses, jobs=jobs, client=client)
    wall = {"float reference": time.perf_counter() - start}
    accuracy_ref = None
    if labels is not None and output is not None:
        pred = np.array([int(np.argmax(r.spike_counts(output))) for r in ref_runs], dtype=np.int64)
        accuracy_ref = float(np.mean(pred == labels))

    done = 0

    def finished(first: int, out: list[Any]) -> None:
        nonlocal done
        done += len(out)
        if progress is not None:
            progress(done, len(points))

    start = time.perf_counter()
    todo = [k for k, (_, _, refused) in enumerate(work) if refused is None]
    rows: list[Any] = [None] * len(work)
    for k, (spec, _, refused) in enumerate(work):
        if refused is not None:
            rows[k] = ChipRow(label=labels_[k], chip=spec.name, profile=spec.active_profile, n_chips=spec.n_chips,
                              status="no such chip", **error_reason(refused))
            finished(k, [rows[k]])
    interrupted = None
    try:
        ran = dict(enumerate(map_chunks(_points, (network, steps, runs, ref_runs, labels, output),
                                        [(work[k][0], labels_[k], work[k][1]) for k in todo],
                                        jobs=jobs, client=client, on_chunk=finished)))
    except Interrupted as exc:  # keep the points that finished; the others say so
        interrupted, ran = exc, exc.done
    for j, k in enumerate(todo):
        spec = work[k][0]
        rows[k] = ran.get(j) or ChipRow(label=labels_[k], chip=spec.name, profile=spec.active_profile,
                                        n_chips=spec.n_chips, status="interrupted",
                                        reason="Ctrl-C stopped the sweep before this point finished")
    wall["points"] = time.perf_counter() - start
    result = Sweep(network=network.name, steps=steps, runs=len(runs), dt_ms=float(network.dt_ms),
                   classifier=labels is not None, accuracy_ref=accuracy_ref, points=tuple(points),
                   rows=tuple(rows), wall_s=wall, partial=interrupted is not None)
    if interrupted is not None:
        raise SweepInterrupted(result) from None
    return result


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`sweep`: ``sweep`` holds the points that finished (the others
    have status ``interrupted``; ``sweep.partial`` is true)."""

    def __init__(self, sweep: Sweep) -> None:
        done = sum(r.status != "interrupted" for r in sweep.rows)
        super().__init__(f"sweep interrupted after {done} of {len(sweep)} points")
        self.sweep = sweep


def weight_variant(spec: Any, weight_bits: int) -> Any:
    """``spec`` with only its weight widths of at most ``weight_bits`` bits.

    Raises
    ------
    UsageError
        When ``weight_bits`` is not a whole number > 0, or the chip has no such width.
    """
    if isinstance(weight_bits, bool) or not isinstance(weight_bits, (int, np.integer)) or weight_bits <= 0:
        raise UsageError(f"weight_bits must be a whole number > 0, got {weight_bits!r}")
    have = tuple(spec.numerics.weights.bits)
    keep = tuple(b for b in have if b <= weight_bits)
    if not keep:
        raise UsageError(f"{spec.name} has no weight width of at most {weight_bits} bits "
                         f"(its widths: {', '.join(map(str, have))})",
                         hint="sweep weight_bits over widths the chip has")
    if keep == have:
        return spec
    data = spec.model_dump(by_alias=True)
    data["numerics"]["weights"]["bits"] = keep
    provenance = dict(spec.provenance)
    provenance["numerics.weights.bits"] = (f"user: a sweep keeps {spec.name}'s widths up to {weight_bits} bits "
                                           f"(was: {provenance.get('numerics.weights.bits', 'the chip file')})")
    data["provenance"] = provenance
    return type(spec).model_validate(data)


def _axes(grid: TMapping[str, Any]) -> dict[str, list[Any]]:
    """Every axis of :data:`AXES` as a list of values (the default where not given)."""
    if not isinstance(grid, TMapping):
        raise UsageError(f"the grid must be a dict of axes, not {grid!r}",
                         hint="sweep(net, {'chip': ['loihi', 'truenorth'], 'weight_bits': [4, 8]}, steps=...)")
    for axis in grid:
        if axis not in AXES:
            raise UsageError(f"a sweep has no axis '{axis}'",
                             hint=did_you_mean(axis, AXES) or f"the axes: {', '.join(AXES)}")
    if "chip" not in grid:
        raise UsageError("a sweep needs the chips to sweep: grid['chip']",
                         hint="sweep(net, {'chip': ['loihi']}, steps=...)")
    axes: dict[str, list[Any]] = {}
    for axis, default in AXES.items():
        value = grid.get(axis, [default])
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            raise UsageError(f"the sweep's axis '{axis}' has no values")
        axes[axis] = values
    return axes


def _points(shared: tuple[Any, ...], chunk: list[tuple[Any, str, Any]]) -> list[Any]:
    """Each point's row (a comparison's row, its artifacts dropped so it travels light)."""
    from .compare import _row

    network, steps, runs, ref_runs, labels, output = shared
    out = []
    for spec, label, passes in chunk:
        start = time.perf_counter()
        row = _row(network, spec, label, steps, runs, ref_runs, labels, output, passes=passes)
        wall = dict(row.wall_s, point=time.perf_counter() - start)
        out.append(dataclasses.replace(row, mapping=None, report=None, validation=None, wall_s=wall))
    return out
