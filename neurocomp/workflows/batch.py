"""A batch: many independent input samples through one Mapping, on every core.

Input: a :class:`~neurocomp.ir.mapping.Mapping`, a number of steps, and the samples (each
one ``inputs`` argument of :func:`~neurocomp.emulator.run.emulate`, ``None`` for the
encoders' output). Output: the :class:`~neurocomp.emulator.run.BatchResult` that
:func:`~neurocomp.emulator.run.emulate_batch` gives for the same samples, bit for bit and
in order, with its one overflow warning, wherever the samples ran
(:mod:`neurocomp.workflows.parallel`: local worker processes or a Dask cluster; the
Mapping goes to each worker once and the samples in chunks).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..ir.mapping import Mapping
from .parallel import map_chunks

__all__ = ["emulate_samples"]


def emulate_samples(mapping: Mapping, steps: int, samples: Sequence[Any], *, strict: bool = False,
                    probes: Any = None, seed: int = 0, jobs: int | None = None, client: Any = None,
                    chunk_size: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> Any:
    """Run ``samples`` through ``mapping`` on ``jobs`` local workers or a Dask ``client``.

    Parameters
    ----------
    mapping, steps, samples, strict, probes, seed
        As :func:`~neurocomp.emulator.run.emulate_batch` takes them.
    jobs, client, chunk_size
        Where and in what chunks the samples run
        (:func:`~neurocomp.workflows.parallel.map_chunks`).
    progress
        Called as ``progress(done, total)`` as samples finish.

    Returns
    -------
    BatchResult
        One RunResult per sample, in order; one warning for all the samples that
        overflowed, as :func:`~neurocomp.emulator.run.emulate_batch` issues it.

    Raises
    ------
    UsageError, EmulationError
        As :func:`~neurocomp.emulator.run.emulate_batch` does (the first one any chunk
        raised).
    """
    from ..emulator.run import BatchResult, warn_overflows

    samples = list(samples)
    done = 0

    def finished(first: int, out: list[Any]) -> None:
        nonlocal done
        done += len(out)
        if progress is not None:
            progress(done, len(samples))

    parts = map_chunks(_emulate_chunk, (mapping, steps, bool(strict), probes, int(seed)), samples, jobs=jobs,
                       client=client, chunk_size=chunk_size, on_chunk=finished)
    batch = BatchResult.merge(*parts) if parts else BatchResult(results=())
    warn_overflows(mapping, batch, stacklevel=3)
    return batch


def _emulate_chunk(shared: tuple[Mapping, int, bool, Any, int], chunk: list[Any]) -> list[Any]:
    """One single-sample BatchResult per sample of ``chunk`` (overflows kept, not warned)."""
    from ..emulator.run import BatchResult, emulate_batch

    mapping, steps, strict, probes, seed = shared
    batch = emulate_batch(mapping, steps, chunk, strict=strict, probes=probes, seed=seed, warn=False)
    mine: dict[int, tuple[tuple[int, str], ...]] = {k: ((0, message),) for k, message in batch.overflows}
    return [BatchResult(results=(r,), overflows=mine.get(k, ())) for k, r in enumerate(batch.results)]
