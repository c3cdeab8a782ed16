"""Validate: the float reference and the chip emulation on the same inputs, compared.

Input: a :class:`~neurocomp.ir.network.Network`, a chip, a number of steps, and either
input overrides (one run) or a labelled sample set (a classifier,
:mod:`neurocomp.workflows.samples`). Output: a
:class:`~neurocomp.report.validate.ValidationReport` (its figures are defined in
:mod:`neurocomp.report.validate`). The float reference
(:func:`neurocomp.emulator.reference.simulate`, float64, unquantized) and the chip
emulation (the network compiled for ``chip``, then :func:`neurocomp.emulator.run.emulate`)
see exactly the same input events.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping as TMapping

import numpy as np

from ..diagnostics import UsageError
from ..ir.network import Network
from ..ir.result import RunResult
from ..ir.synapses import InputEvents
from ..report.validate import RunDigest, ValidationReport, agreement_report, digest_run
from .parallel import map_chunks
from .samples import labelled_set, runs_of, sample_inputs

__all__ = ["validate", "compile_for"]


def validate(network: Network, chip: Any, steps: int,
             inputs: TMapping[str, InputEvents | np.ndarray] | None = None, *,
             samples: str | Path | tuple[np.ndarray, np.ndarray] | None = None,
             mapping: Any = None, progress: Callable[[int, int], None] | None = None,
             output: str | None = None, jobs: int | None = None, client: Any = None) -> ValidationReport:
    """Run the float reference and the chip emulation on the same inputs and compare.

    Parameters
    ----------
    network
        The network, float parameters as written.
    chip
        The :class:`~neurocomp.chip.spec.ChipSpec` to compile for and emulate.
    steps
        Steps per run (``> 0``).
    inputs
        Input overrides for a single run (as :func:`~neurocomp.emulator.reference.simulate`
        takes them); by default each input population's encoder.
    samples
        A labelled set (an ``.npz`` path with ``x`` and ``y``, or ``(x, y)``): one run
        per sample and the classifier's accuracy (:mod:`neurocomp.workflows.samples`).
        Not together with ``inputs``.
    mapping
        The network already compiled for ``chip`` (it is compiled otherwise).
    progress
        Called as ``progress(done, total)`` as samples finish.
    output
        With ``samples``: the population whose spike counts give the class (default:
        :func:`~neurocomp.workflows.samples.output_population`).
    jobs, client
        Where the samples run: ``jobs`` local worker processes (default: every core, or
        ``$NEUROCOMP_JOBS``), or the workers of a Dask ``client``
        (:mod:`neurocomp.workflows.parallel`). The network, the Mapping and the lowered
        synapses go to each worker once; the report is the same whatever runs it.

    Returns
    -------
    ValidationReport

    Raises
    ------
    UsageError
        For bad ``steps``, ``inputs`` together with ``samples``, a classifier without a
        probed output population or with several inputs.
    InputFileError
        For a sample file that lacks ``x`` or ``y`` or does not fit the input.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise UsageError(f"steps must be a whole number > 0, got {steps!r}")
    steps = int(steps)
    if samples is not None and inputs is not None:
        raise UsageError("give either inputs (one run) or samples (a labelled set), not both")
    from ..compiler.lower import lower

    wall: dict[str, float] = {}
    start = time.perf_counter()
    if mapping is None:
        mapping = compile_for(network, chip)
    wall["compile"] = time.perf_counter() - start
    synapses = lower(network)
    source, items, labels, output = _items(network, steps, inputs, samples, output)

    done = 0

    def finished(first: int, out: list[tuple[RunDigest, RunDigest, str | None, float, float]]) -> None:
        nonlocal done
        done += len(out)
        if progress is not None:
            progress(done, len(items))

    from ..emulator.reference import prepare_reference

    # built once here, shared by every chunk (inherited by forked workers, sent once to
    # others); each chunk encodes its own samples and sends back digests of its runs, so
    # that this process's own work (not spread) stays small
    shared = (network, mapping, prepare_reference(network, steps, synapses), steps, source, output)
    out = map_chunks(_validate_chunk, shared, items, jobs=jobs, client=client, on_chunk=finished,
                     first_here=True)
    ref_runs = [ref for ref, _, _, _, _ in out]
    chip_runs = [chip_run for _, chip_run, _, _, _ in out]
    chip_warnings = [warned for _, _, warned, _, _ in out if warned is not None]  # each run's first
    wall["reference"] = sum(s_ref for _, _, _, s_ref, _ in out)
    wall["emulate"] = sum(s_chip for _, _, _, _, s_chip in out)

    # What the chip lost when it quantized the network (the Mapping's quantization
    # report, as every command shows it), then what overflowed in the chip runs.
    quantized = getattr(mapping, "quantization", None)  # None when the "chip" is the float model
    notes: tuple[str, ...] = tuple(quantized.warnings) if quantized is not None else ()
    if chip_warnings:
        notes += (f"{len(chip_warnings)} of {len(items)} chip run{'s' if len(items) != 1 else ''} warned; "
                 f"the first: {chip_warnings[0]}",)
    return agreement_report(network, chip, steps, ref_runs, chip_runs, labels=labels, output=output,
                            notes=notes, wall_s=wall)


def _items(network: Network, steps: int, inputs: TMapping[str, InputEvents | np.ndarray] | None,
           samples: str | Path | tuple[np.ndarray, np.ndarray] | None, output: str | None
           ) -> tuple[np.ndarray | None, list[Any], np.ndarray | None, str | None]:
    """The samples ``x`` (or ``None``), the items the chunks take (sample numbers, or the
    one run's inputs), the labels and the output population: as
    :func:`~neurocomp.workflows.samples.runs_of`, with the samples left to be encoded by
    the chunks (:func:`_inputs_of`). The first sample is encoded here, so that samples
    that fit no input are refused before anything runs."""
    if samples is None:
        runs, labels, output = runs_of(network, steps, inputs, None, output)
        return None, runs, labels, output
    x, labels, output = labelled_set(network, samples, output)
    sample_inputs(network, steps, x[:1])
    return x, list(range(len(x))), labels, output


def _inputs_of(network: Network, steps: int, source: np.ndarray | None, chunk: list[Any]) -> list[Any]:
    """The inputs of a chunk's runs: its samples encoded (each with its own number's seed,
    as when the whole set is encoded at once), or the runs' inputs as they are."""
    if source is None:
        return chunk
    return [sample_inputs(network, steps, source[i:i + 1], first=i)[0] for i in chunk]


def _validate_chunk(shared: tuple[Network, Any, Any, int, np.ndarray | None, str | None], chunk: list[Any]
                    ) -> list[tuple[RunDigest, RunDigest, str | None, float, float]]:
    """Per run of ``chunk``: the digests (:func:`~neurocomp.report.validate.digest_run`)
    of the reference run and of the chip run, the chip run's first warning as
    :func:`~neurocomp.emulator.run.emulate` of that run alone would give it, and its
    share of the seconds the chunk's reference and chip runs took (encoding the samples
    counts with the reference), run wherever :func:`map_chunks` puts it. The chunk's runs
    go through the reference and the chip as one batch each (their tables built once);
    only the digests go back, a few kB a run where the runs hold every spike (mnist_mlp's
    784 rate-coded pixels are most of a run's bytes)."""
    network, mapping, reference, steps, source, output = shared
    t0 = time.perf_counter()
    runs = _inputs_of(network, steps, source, chunk)
    refs = reference.run_many(runs)
    t1 = time.perf_counter()
    chip_runs = _emulator()(mapping, steps, runs)
    t2 = time.perf_counter()
    n = len(chunk)
    return [(digest_run(network, ref, output), digest_run(network, run, output), warned, (t1 - t0) / n,
             (t2 - t1) / n) for ref, (run, warned) in zip(refs, chip_runs)]


def _emulate_chunk(mapping: Any, steps: int, chunk: list[Any]) -> list[tuple[RunResult, str | None]]:
    """Each sample's chip run and the overflow warning its own :func:`emulate` would give
    (``None`` if none): the chunk runs as one batch, which checks whether an overflow
    changed the spikes for its first overflowing sample only, the one a report quotes."""
    from ..emulator.run import BatchResult, emulate_batch, warn_overflows

    batch = emulate_batch(mapping, steps, chunk, warn=False)
    said: dict[int, str] = {}
    for k, message in batch.overflows:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_overflows(mapping, BatchResult(results=(batch.results[k],), overflows=((0, message),)))
        said[k] = str(caught[0].message)
    return [(r, said.get(k)) for k, r in enumerate(batch.results)]


def compile_for(network: Network, chip: Any) -> Any:
    """The network compiled for ``chip`` by the compiler's default passes."""
    from ..compiler.pipeline import compile_network

    return compile_network(network, chip)


def _emulator() -> Callable[[Any, int, list[Any]], list[tuple[RunResult, str | None]]]:
    # looked up per call, so a test can run the float reference in the chip's place
    return _emulate_chunk
