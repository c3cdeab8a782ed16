"""Compare: one network compiled, run and priced on several chips, side by side.

Input: a :class:`~neurocomp.ir.network.Network`, the chips (bundled names, chip or
system files, or :class:`~neurocomp.chip.spec.ChipSpec`), a number of steps, and either
input overrides (one run) or a labelled sample set (a classifier), exactly as
:func:`neurocomp.workflows.validate.validate` takes them. Output: a
:class:`~neurocomp.report.compare.Comparison` (its figures are defined in
:mod:`neurocomp.report.compare`).

The float reference (:func:`neurocomp.emulator.reference.simulate`) runs once (its runs
spread over the workers in chunks, each chunk one reference batch); it does not depend
on the chip. Then, for each chip (the steps spread over the workers as ``compare``'s
``jobs`` says):

1. compile (:func:`neurocomp.compiler.pipeline.compile`, the default passes). A
   :class:`~neurocomp.diagnostics.CapacityError` (the network does not fit) or a
   :class:`~neurocomp.diagnostics.QuantizationError` (the chip cannot represent it)
   ends that chip's row with the error's first message, which names the population,
   projection or core; the other chips go on;
2. emulate every run (:func:`neurocomp.emulator.run.emulate_batch`). A chip whose neuron
   family has no emulator kernel, or that refuses the inputs (graded values where its
   spikes carry none), keeps its compile figures and says why;
3. price the runs with the chip's active profile (:func:`neurocomp.report.cost.cost`)
   and summarise them (:func:`neurocomp.report.report.report`). Each run is priced and
   digested where it was emulated, so a worker sends back a few kB a run (its price, its
   spike counts, its :class:`~neurocomp.report.validate.RunDigest`), not the run with
   every input spike; the chip's price is the runs' prices combined in order, as
   :func:`~neurocomp.report.cost.price_runs` combines them;
4. compare its spikes with the reference's, with the metrics of
   :mod:`neurocomp.report.validate` (per population; accuracy for a classifier).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping as TMapping, Sequence

import numpy as np

from ..chip.load import resolve_chip
from ..diagnostics import CapacityError, EmulationError, NeurocompError, QuantizationError, UsageError
from ..ir.network import Network
from ..ir.result import RunResult
from ..ir.synapses import InputEvents
from ..report.compare import ChipRow, Comparison, error_reason, mapping_figures, row_labels, run_figures
from ..report.validate import RunDigest, agreement_report, digest_run
from .parallel import map_chunks
from .samples import runs_of

__all__ = ["compare", "reference_runs"]

# The compile errors that end one chip's row rather than the whole comparison.
_ROW_ERRORS: dict[type[NeurocompError], str] = {CapacityError: "does not fit",
                                                 QuantizationError: "cannot represent"}


def compare(network: Network, chips: Sequence[Any], steps: int,
            inputs: TMapping[str, InputEvents | np.ndarray] | None = None, *,
            samples: str | Path | tuple[np.ndarray, np.ndarray] | None = None,
            progress: Callable[[str, int, int], None] | None = None,
            jobs: int | None = None, client: Any = None) -> Comparison:
    """Compile and run ``network`` on each chip, and put the results side by side.

    Parameters
    ----------
    network
        The network, float parameters as written.
    chips
        The chips, each a bundled name (``"loihi"``), the path of a chip or system file,
        or a :class:`~neurocomp.chip.spec.ChipSpec` (for a system of several chips or
        another profile: ``load_chip("loihi", chips=2, profile=...)``).
    steps
        Steps per run (``> 0``).
    inputs
        Input overrides for a single run (as :func:`~neurocomp.emulator.run.emulate`
        takes them); by default each input population's encoder.
    samples
        A labelled set (an ``.npz`` path with ``x`` and ``y``, or ``(x, y)``): one run per
        sample and each chip's accuracy as a classifier, as
        :func:`~neurocomp.workflows.validate.validate` does. Not together with ``inputs``.
    progress
        Called as ``progress(chip label, runs done, runs)`` as each chip's runs finish
        (and with the label ``"float reference"`` for the reference).
    jobs, client
        Where the work runs: ``jobs`` local worker processes (default: every core, or
        ``$NEUROCOMP_JOBS``), or the workers of a Dask ``client``
        (:mod:`neurocomp.workflows.parallel`). The chips compile side by side; then
        every chip's runs are emulated and priced in chunks of (chip, run) pairs, so
        the runs of one chip spread over the workers too; then each chip's row adds up
        its runs' prices and is validated. The rows come back in the order of ``chips``, the same, bit for bit,
        whatever runs them.

    Returns
    -------
    Comparison
        One row per chip, in the order given. A chip the network does not fit or that
        cannot represent it has a row that says why instead of figures.

    Raises
    ------
    UsageError
        For bad ``steps``, no chips, an unknown chip name, ``inputs`` together with
        ``samples``, or samples for a network that is not a classifier.
    ChipSpecError
        For a chip file that does not validate.
    InputFileError
        For a sample file that lacks ``x`` or ``y`` or does not fit the input.

    Examples
    --------
    >>> import neurocomp as nc
    >>> from neurocomp.workflows.compare import compare
    >>> net = nc.load("examples/chain.snn")
    >>> table = compare(net, ["loihi", "truenorth", "akida"], steps=20)
    >>> [row.status for row in table]
    ['ok', 'ok', 'cannot represent']
    >>> table["loihi"].spikes_chip, table["loihi"].spikes_ref, table["loihi"].correlation_worst
    (7, 7, 1.0)
    >>> table["akida"].reason.split(":")[0]      # the first message names the object
    "population 'a'"
    >>> print(table.to_text())                  # doctest: +ELLIPSIS
    'chain' on 3 chips: 20 steps of 1 ms per run, 1 run
    float reference: 7 spikes (a 3, b 3, c 1)
    ...
    │ akida     │ cannot represent: population 'a': beta = 0.5 ...
    ...
    """
    from ..compiler.lower import lower
    from ..emulator.reference import cannot_simulate

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise UsageError(f"steps must be a whole number > 0, got {steps!r}")
    steps = int(steps)
    if isinstance(chips, (str, Path)) or not isinstance(chips, Sequence):
        raise UsageError(f"chips must be a list of chips (names, paths or ChipSpecs), not {chips!r}",
                         hint="compare(net, ['loihi', 'truenorth'], steps=...)")
    if not chips:
        raise UsageError("no chips to compare", hint="give at least one chip: compare(net, ['loihi'], steps=...)")
    if samples is not None and inputs is not None:
        raise UsageError("give either inputs (one run) or samples (a labelled set), not both")
    specs = [resolve_chip(c) for c in chips]  # every chip loads before anything runs
    runs, labels, output = runs_of(network, steps, inputs, samples)

    start = time.perf_counter()
    synapses = lower(network)
    # A network the float model cannot compute (an Akida max pool) is compared without it.
    gap = cannot_simulate(network)
    # digests of the reference's runs (what the rows read of them), made where the runs ran
    ref_runs = None if gap is not None else _reference_digests(network, steps, runs, synapses, output, jobs,
                                                                client)
    wall = {"float reference": time.perf_counter() - start}
    if progress is not None:
        progress("float reference", len(runs), len(runs))
    neuron_pops = [name for name, pop in network.populations.items() if not pop.is_input]
    spikes_ref = {} if ref_runs is None else \
        {name: int(sum(int(r.counts[name].sum()) for r in ref_runs)) for name in neuron_pops}
    accuracy_ref = None
    if labels is not None and output is not None and ref_runs is not None:
        pred = np.array([int(np.argmax(r.scores)) for r in ref_runs], dtype=np.int64)
        accuracy_ref = float(np.mean(pred == labels))

    labels_of = row_labels(specs)
    rows, seconds = _spread_rows(network, specs, labels_of, steps, runs, ref_runs, labels, output, jobs, client,
                                 progress)
    wall.update(zip(labels_of, seconds))
    return Comparison(network=network.name, steps=steps, runs=len(runs), dt_ms=float(network.dt_ms),
                      classifier=labels is not None, output=output, accuracy_ref=accuracy_ref,
                      spikes_ref=spikes_ref, rows=tuple(rows), wall_s=wall,
                      reference_missing=None if gap is None else gap.diagnostics[0].message)


def reference_runs(network: Network, steps: int, runs: list[Any], synapses: Any, *, jobs: int | None = None,
                   client: Any = None) -> list[RunResult]:
    """The float reference's run of each input (the same runs, in order, wherever they
    ran: :func:`~neurocomp.workflows.parallel.map_chunks`; each chunk one
    :func:`~neurocomp.emulator.reference.simulate_batch`, its tables built once, here)."""
    from ..emulator.reference import prepare_reference

    return map_chunks(_reference_chunk, prepare_reference(network, steps, synapses), runs, jobs=jobs, client=client)


def _reference_chunk(reference: Any, chunk: list[Any]) -> list[RunResult]:
    return reference.run_many(chunk)


def _reference_digests(network: Network, steps: int, runs: list[Any], synapses: Any, output: str | None,
                       jobs: int | None, client: Any) -> list[RunDigest]:
    """:func:`reference_runs`' runs as :class:`~neurocomp.report.validate.RunDigest` (with
    the classifier's scores when ``output`` is given), each made where its run ran: a few
    kB a run come back, not every input spike."""
    from ..emulator.reference import prepare_reference

    return map_chunks(_reference_digest_chunk, (prepare_reference(network, steps, synapses), output), runs,
                      jobs=jobs, client=client)


def _reference_digest_chunk(shared: tuple[Any, str | None], chunk: list[Any]) -> list[RunDigest]:
    reference, output = shared
    return [digest_run(reference.network, r, output) for r in reference.run_many(chunk)]


def _spread_rows(network: Network, specs: list[Any], labels_of: list[str], steps: int, runs: list[Any],
                 ref_runs: list[RunResult] | None, labels: np.ndarray | None, output: str | None,
                 jobs: int | None, client: Any, progress: Callable[[str, int, int], None] | None
                 ) -> tuple[list[ChipRow], list[float]]:
    """Every chip's row and the seconds it took (summed over wherever its parts ran), in
    two spreads over the workers: the chips compile (one item each); every chip's runs
    are emulated, priced and digested, the (chip, run) pairs in chunks, so one chip's runs
    spread over the workers too and three chips on two workers end together. Then, here,
    each chip's row adds up its runs' prices and is validated. The rows are what
    :func:`_row` gives chip by chip, in order, whatever ran them: the runs of a chip are
    put back in order and its overflows warned once, as one batch would."""
    compiled = map_chunks(_compile_chunk, (network, steps), list(zip(specs, labels_of)), jobs=jobs, client=client)
    mappings = [c.mapping for c in compiled]
    pairs = [(c, k) for c, m in enumerate(mappings) if m is not None for k in range(len(runs))]
    emulated = map_chunks(_emulate_chunk, (network, specs, mappings, steps, runs, output), pairs, jobs=jobs,
                          client=client)
    per_chip: dict[int, list[Any]] = {}
    for (c, _), out in zip(pairs, emulated):
        per_chip.setdefault(c, []).append(out)
    work = [(c, compiled[c], per_chip.get(c, [])) for c in range(len(specs))]

    def finished(first: int, out: list[tuple[ChipRow, float]]) -> None:
        if progress is not None:
            for row, _ in out:
                progress(row.label, len(runs), len(runs))

    # here: the runs came back priced and digested, so what is left is adding up (forking
    # the workers again for it cost more than it spread)
    done = map_chunks(_finish_chunk, (network, specs, labels_of, steps, ref_runs, labels, output), work,
                      jobs=1, on_chunk=finished)
    return [row for row, _ in done], [s for _, s in done]


def _compile_chunk(shared: tuple[Network, int], chunk: list[tuple[Any, str]]) -> list["_Compiled"]:
    network, _steps = shared
    return [_compiled(network, spec, label) for spec, label in chunk]


def _emulate_chunk(shared: tuple[Network, list[Any], list[Any], int, list[Any], str | None],
                   chunk: list[tuple[int, int]]) -> list[Any]:
    """Per (chip, run) pair: the chip's run priced and digested (:class:`_Priced`: what
    the chip's row reads of it, a few kB where the run holds every spike) and its
    overflow message (or ``None``), or the error that stopped the chip's batch at this
    run; the warnings the batch raised go with the first run of each chip in the chunk.
    The pairs of one chip in ``chunk`` run as one batch (its tables built once)."""
    network, specs, mappings, steps, runs, output = shared
    out: list[Any] = []
    at = 0
    while at < len(chunk):
        chip = chunk[at][0]
        end = at
        while end < len(chunk) and chunk[end][0] == chip:
            end += 1
        done = _emulated(mappings[chip], steps, [runs[k] for _, k in chunk[at:end]])
        out += [(_priced(network, specs[chip], mappings[chip], r, output), *rest) for r, *rest in done]
        at = end
    return out


@dataclass(frozen=True)
class _Priced:
    """What a chip's row reads of one of its runs: its price with the chip's active
    profile (:func:`~neurocomp.report.cost.price_runs` of the run alone), its digest for
    the agreement with the reference, and its spike counts for the summary
    (:class:`_Summary`)."""

    cost: Any
    digest: RunDigest
    summary: "_Summary"


@dataclass(frozen=True)
class _Spikes:
    n: int
    is_input: bool
    count: int


@dataclass(frozen=True)
class _Summary:
    """The fields of a RunResult that :func:`~neurocomp.report.report.report` reads: the
    network, the steps and, per population, its size, whether it is an input and its
    spike count."""

    network: str
    steps: int
    dt_ms: float
    spikes: dict[str, _Spikes]


def _priced(network: Network, chip: Any, mapping: Any, run: Any, output: str | None) -> Any:
    """``run`` (a RunResult) as a :class:`_Priced`; an error or a missing run as it is."""
    from ..report.cost import price_runs

    if not isinstance(run, RunResult):
        return run
    summary = _Summary(network=run.network, steps=run.steps, dt_ms=run.dt_ms,
                       spikes={name: _Spikes(n=int(ev.n), is_input=bool(ev.is_input), count=int(ev.count))
                               for name, ev in run.spikes.items()})
    return _Priced(cost=price_runs([run], chip, mapping), digest=digest_run(network, run, output), summary=summary)


def _finish_chunk(shared: tuple[Any, ...], chunk: list[tuple[int, "_Compiled", list[Any]]]
                  ) -> list[tuple[ChipRow, float]]:
    network, specs, labels_of, steps, ref_runs, labels, output = shared
    out = []
    for c, compiled, emulated in chunk:
        start = time.perf_counter()
        row = _finished(network, specs[c], labels_of[c], steps, compiled, emulated, ref_runs, labels, output)
        out.append((row, compiled.seconds + sum(e[3] for e in emulated) + time.perf_counter() - start))
    return out


def _row(network: Network, chip: Any, label: str, steps: int, runs: list[Any], ref_runs: list[RunResult],
         labels: np.ndarray | None, output: str | None, passes: Any = None) -> ChipRow:
    """One chip's row: compiled (by ``passes``, default the compiler's default passes),
    emulated, priced and validated as far as it gets."""
    compiled = _compiled(network, chip, label, passes)
    emulated = [] if compiled.mapping is None else _emulated(compiled.mapping, steps, runs)
    return _finished(network, chip, label, steps, compiled, emulated, ref_runs, labels, output)


@dataclass(frozen=True)
class _Compiled:
    """A chip's compile: its Mapping and figures, or the row that ends there."""

    mapping: Any
    row: ChipRow | None
    figures: dict[str, Any]
    wall: dict[str, float]
    seconds: float


def _compiled(network: Network, chip: Any, label: str, passes: Any = None) -> _Compiled:
    """``network`` compiled for ``chip``; a Mapping without an emulator kernel ends its row."""
    from ..compiler.pipeline import compile_network
    from ..emulator.kernels import kernel_for

    ident = dict(label=label, chip=chip.name, profile=chip.active_profile, n_chips=chip.n_chips)
    wall: dict[str, float] = {}
    start = time.perf_counter()
    try:
        mapping = compile_network(network, chip, passes=passes)
    except tuple(_ROW_ERRORS) as exc:
        status = next(s for kind, s in _ROW_ERRORS.items() if isinstance(exc, kind))
        return _Compiled(None, ChipRow(**ident, status=status, **error_reason(exc)), {}, wall,
                         time.perf_counter() - start)
    wall["compile"] = time.perf_counter() - start

    figures = mapping_figures(mapping, chip)
    try:
        kernel_for(mapping.family)
    except UsageError as exc:
        row = ChipRow(**ident, status="cannot emulate", **error_reason(exc), **figures, wall_s=wall)
        return _Compiled(None, row, figures, wall, time.perf_counter() - start)
    return _Compiled(mapping, None, figures, wall, time.perf_counter() - start)


def _emulated(mapping: Any, steps: int, runs: list[Any]) -> list[tuple[Any, str | None, tuple[str, ...], float]]:
    """Per run: (its RunResult, or the error that stopped the batch at it, as
    :func:`~neurocomp.report.compare.error_reason` gives it; its overflow message or
    ``None``; the other warnings the batch raised, with the first run only; its share of
    the seconds). The runs go as one batch, which keeps its overflow warning."""
    from ..emulator.run import emulate_batch

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            batch = emulate_batch(mapping, steps, runs, warn=False)
        except (UsageError, EmulationError) as exc:
            # what this chip refuses to run: inputs that carry values where its spikes
            # carry none (the reference took the same inputs, so they are well formed)
            return [(error_reason(exc), None, (), 0.0)] + [(None, None, (), 0.0)] * (len(runs) - 1)
    share = (time.perf_counter() - start) / max(1, len(runs))
    said = dict(batch.overflows)
    others = tuple(str(w.message) for w in caught)
    return [(r, said.get(k), others if k == 0 else (), share) for k, r in enumerate(batch.results)]


def _finished(network: Network, chip: Any, label: str, steps: int, compiled: _Compiled,
              emulated: list[tuple[Any, str | None, tuple[str, ...], float]],
              ref_runs: Sequence[RunResult | RunDigest] | None, labels: np.ndarray | None,
              output: str | None) -> ChipRow:
    """The row of a chip compiled and emulated (its runs whole or already
    :class:`_Priced`): priced, summarised and validated."""
    from ..emulator.run import BatchResult, warn_overflows
    from ..report.cost import CostReport
    from ..report.report import report

    if compiled.row is not None:
        return compiled.row
    ident = dict(label=label, chip=chip.name, profile=chip.active_profile, n_chips=chip.n_chips)
    mapping, figures = compiled.mapping, compiled.figures
    wall = dict(compiled.wall)
    refused = next((r for r, *_ in emulated if isinstance(r, dict)), None)
    if refused is not None:
        return ChipRow(**ident, status="cannot emulate", **refused, **figures, wall_s=wall)
    wall["emulate"] = sum(e[3] for e in emulated)
    chip_runs = [r if isinstance(r, _Priced) else _priced(network, chip, mapping, r, output) for r, *_ in emulated]
    batch = BatchResult(results=tuple(chip_runs),
                        overflows=tuple((k, m) for k, (_, m, _, _) in enumerate(emulated) if m is not None))
    with warnings.catch_warnings(record=True) as caught:  # the batch's one overflow warning
        warnings.simplefilter("always")
        warn_overflows(mapping, batch)
    said = [m for _, _, others, _ in emulated for m in others] + [str(w.message) for w in caught]
    # price_runs of the runs together: each run's price, combined in order
    costs = [r.cost for r in chip_runs]
    total = costs[0] if len(costs) == 1 else CostReport.combine(costs)
    rep = report([r.summary for r in chip_runs], total, chip, mapping, wall_s=wall)  # type: ignore[arg-type]

    # what the chip lost when it quantized the network (as every command shows it), then the
    # batch's warning: once for all its runs (the message counts the samples that overflowed)
    quantized = getattr(mapping, "quantization", None)
    notes = tuple(quantized.warnings) if quantized is not None else ()
    notes += tuple(said[:1])
    if len(said) > 1:
        notes += (f"and {len(said) - 1} more warning{'s' if len(said) > 2 else ''}",)
    if rep.caveat:  # how far this chip's prices can be trusted (Akida's are estimates)
        notes += (rep.caveat,)
    if ref_runs is None:  # nothing to agree with: the chip's own figures
        spikes = sum(r.summary.spikes[p].count for r in chip_runs for p in mapping.population_names)
        return ChipRow(**ident, status="ok", **figures,
                       **run_figures(total, None, steps=steps, runs=len(chip_runs), spikes_chip=spikes),
                       notes=notes, wall_s=wall, report=rep)
    validation = agreement_report(network, chip, steps, ref_runs, [r.digest for r in chip_runs], labels=labels,
                                  output=output, notes=notes, wall_s=wall, spike_counts=False)
    return ChipRow(**ident, status="ok", **figures, **run_figures(total, validation),
                   notes=notes, wall_s=wall, report=rep, validation=validation)
