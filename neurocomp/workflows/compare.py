"""Compare: one network compiled, run and priced on several chips, side by side.

Input: a :class:`~neurocomp.ir.network.Network`, the chips (bundled names, chip or
system files, or :class:`~neurocomp.chip.spec.ChipSpec`), a number of steps, and either
input overrides (one run) or a labelled sample set (a classifier), exactly as
:func:`neurocomp.workflows.validate.validate` takes them. Output: a
:class:`~neurocomp.report.compare.Comparison` (its figures are defined in
:mod:`neurocomp.report.compare`).

The float reference (:func:`neurocomp.emulator.reference.simulate`) runs once (its runs
spread over the workers as the chips are, below); it does
not depend on the chip. Then, for each chip:

1. compile (:func:`neurocomp.compiler.pipeline.compile`, the default passes). A
   :class:`~neurocomp.diagnostics.CapacityError` (the network does not fit) or a
   :class:`~neurocomp.diagnostics.QuantizationError` (the chip cannot represent it)
   ends that chip's row with the error's first message, which names the population,
   projection or core; the other chips go on;
2. emulate every run (:func:`neurocomp.emulator.run.emulate_batch`). A chip whose neuron
   family has no emulator kernel, or that refuses the inputs (graded values where its
   spikes carry none), keeps its compile figures and says why;
3. price the runs with the chip's active profile (:func:`neurocomp.report.cost.cost`)
   and summarise them (:func:`neurocomp.report.report.report`);
4. compare its spikes with the reference's, with the metrics of
   :mod:`neurocomp.report.validate` (per population; accuracy for a classifier).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping as TMapping, Sequence

import numpy as np

from ..chip.load import resolve_chip
from ..diagnostics import CapacityError, EmulationError, NeurocompError, QuantizationError, UsageError
from ..ir.network import Network
from ..ir.result import RunResult
from ..ir.synapses import InputEvents
from ..report.compare import ChipRow, Comparison, error_reason, mapping_figures, row_labels, run_figures
from ..report.validate import agreement_report
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
        Where the chips run, each independent of the others: ``jobs`` local worker
        processes (default: every core, or ``$NEUROCOMP_JOBS``), or the workers of a Dask
        ``client`` (:mod:`neurocomp.workflows.parallel`). The network, the runs' inputs
        and the reference's results go to each worker once; the rows come back in the
        order of ``chips``, the same whatever runs them.

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
    ref_runs = None if gap is not None else reference_runs(network, steps, runs, synapses, jobs=jobs,
                                                            client=client)
    wall = {"float reference": time.perf_counter() - start}
    if progress is not None:
        progress("float reference", len(runs), len(runs))
    neuron_pops = [name for name, pop in network.populations.items() if not pop.is_input]
    spikes_ref = {} if ref_runs is None else \
        {name: int(sum(r.spikes[name].count for r in ref_runs)) for name in neuron_pops}
    accuracy_ref = None
    if labels is not None and output is not None and ref_runs is not None:
        from ..report.validate import output_scores

        spiking = network.populations[output].neuron.spiking
        pred = np.array([int(np.argmax(output_scores(r, output, spiking))) for r in ref_runs], dtype=np.int64)
        accuracy_ref = float(np.mean(pred == labels))

    def finished(first: int, out: list[tuple[ChipRow, float]]) -> None:
        if progress is not None:
            for row, _ in out:
                progress(row.label, len(runs), len(runs))

    shared = (network, steps, runs, ref_runs, labels, output)
    rows = []
    for row, seconds in map_chunks(_rows, shared, list(zip(specs, row_labels(specs))), jobs=jobs, client=client,
                                   on_chunk=finished):
        rows.append(row)
        wall[row.label] = seconds
    return Comparison(network=network.name, steps=steps, runs=len(runs), dt_ms=float(network.dt_ms),
                      classifier=labels is not None, output=output, accuracy_ref=accuracy_ref,
                      spikes_ref=spikes_ref, rows=tuple(rows), wall_s=wall,
                      reference_missing=None if gap is None else gap.diagnostics[0].message)


def reference_runs(network: Network, steps: int, runs: list[Any], synapses: Any, *, jobs: int | None = None,
                   client: Any = None) -> list[RunResult]:
    """The float reference's run of each input (the same runs, in order, wherever they
    ran: :func:`~neurocomp.workflows.parallel.map_chunks`)."""
    return map_chunks(_reference_chunk, (network, steps, synapses), runs, jobs=jobs, client=client)


def _reference_chunk(shared: tuple[Network, int, Any], chunk: list[Any]) -> list[RunResult]:
    from ..emulator.reference import simulate

    network, steps, synapses = shared
    return [simulate(network, steps, r, synapses=synapses) for r in chunk]


def _rows(shared: tuple[Any, ...], chunk: list[tuple[Any, str]]) -> list[tuple[ChipRow, float]]:
    """Each chip's row of ``chunk`` and the seconds it took (run wherever
    :func:`~neurocomp.workflows.parallel.map_chunks` puts it)."""
    network, steps, runs, ref_runs, labels, output = shared
    out = []
    for spec, label in chunk:
        start = time.perf_counter()
        row = _row(network, spec, label, steps, runs, ref_runs, labels, output)
        out.append((row, time.perf_counter() - start))
    return out


def _row(network: Network, chip: Any, label: str, steps: int, runs: list[Any], ref_runs: list[RunResult],
         labels: np.ndarray | None, output: str | None, passes: Any = None) -> ChipRow:
    """One chip's row: compiled (by ``passes``, default the compiler's default passes),
    emulated, priced and validated as far as it gets."""
    from ..compiler.pipeline import compile_network
    from ..emulator.kernels import kernel_for
    from ..emulator.run import emulate_batch
    from ..report.cost import price_runs
    from ..report.report import report

    ident = dict(label=label, chip=chip.name, profile=chip.active_profile, n_chips=chip.n_chips)
    wall: dict[str, float] = {}
    start = time.perf_counter()
    try:
        mapping = compile_network(network, chip, passes=passes)
    except tuple(_ROW_ERRORS) as exc:
        status = next(s for kind, s in _ROW_ERRORS.items() if isinstance(exc, kind))
        return ChipRow(**ident, status=status, **error_reason(exc))
    wall["compile"] = time.perf_counter() - start

    compiled = mapping_figures(mapping, chip)
    try:
        kernel_for(mapping.family)
    except UsageError as exc:
        return ChipRow(**ident, status="cannot emulate", **error_reason(exc), **compiled, wall_s=wall)

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            chip_runs = list(emulate_batch(mapping, steps, runs))
        except (UsageError, EmulationError) as exc:
            # what this chip refuses to run: inputs that carry values where its spikes
            # carry none (the reference took the same inputs, so they are well formed)
            return ChipRow(**ident, status="cannot emulate", **error_reason(exc), **compiled, wall_s=wall)
    wall["emulate"] = time.perf_counter() - start
    total = price_runs(chip_runs, chip, mapping)
    rep = report(chip_runs, total, chip, mapping, wall_s=wall)

    # what the chip lost when it quantized the network (as every command shows it), then the
    # batch's warning: once for all its runs (the message counts the samples that overflowed)
    quantized = getattr(mapping, "quantization", None)
    notes = tuple(quantized.warnings) if quantized is not None else ()
    notes += tuple(str(w.message) for w in caught[:1])
    if len(caught) > 1:
        notes += (f"and {len(caught) - 1} more warning{'s' if len(caught) > 2 else ''}",)
    if rep.caveat:  # how far this chip's prices can be trusted (Akida's are estimates)
        notes += (rep.caveat,)
    if ref_runs is None:  # nothing to agree with: the chip's own figures
        spikes = sum(r.spikes[p].count for r in chip_runs for p in mapping.population_names)
        return ChipRow(**ident, status="ok", **compiled,
                       **run_figures(total, None, steps=steps, runs=len(chip_runs), spikes_chip=spikes),
                       notes=notes, wall_s=wall, report=rep)
    validation = agreement_report(network, chip, steps, ref_runs, chip_runs, labels=labels, output=output,
                                  notes=notes, wall_s=wall, spike_counts=False)
    return ChipRow(**ident, status="ok", **compiled, **run_figures(total, validation),
                   notes=notes, wall_s=wall, report=rep, validation=validation)
