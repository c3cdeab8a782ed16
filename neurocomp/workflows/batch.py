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
        (:func:`~neurocomp.workflows.parallel.map_chunks`). By default (``jobs``,
        ``client`` and ``$NEUROCOMP_JOBS`` unset, several cores) the first chunk runs
        in this process, and the rest go to the workers only when that chunk's CPU
        seconds per sample say they hold at least :data:`SPREAD_SECONDS` of work; otherwise they
        run here too. Workers send back whole runs (an ``mnist_mlp`` sample is ~1 ms of
        work and a 0.5 MB run) and run 1.3-1.5x slower per sample than this process
        (fresh processes), so a small batch ends sooner here.
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

    shared = (mapping, steps, bool(strict), probes, int(seed))
    if _choose(jobs, client, len(samples)):
        parts = _here_or_spread(shared, samples, chunk_size, finished, progress is not None)
    else:
        parts = map_chunks(_emulate_chunk, shared, samples, jobs=jobs, client=client, chunk_size=chunk_size,
                           on_chunk=finished)
    batch = BatchResult.merge(*parts) if parts else BatchResult(results=())
    warn_overflows(mapping, batch, stacklevel=3)
    return batch


#: The work (CPU seconds in this process) a batch must have left after its first chunk
#: for the default to spread it over workers. Two forked workers cost ~0.1 s of CPU to
#: start and stop, and ran a sample 1.3-1.5x slower than this process (measured under
#: load 7-13: ``bench_parallel.py --emulate``); 200 mnist_mlp samples (~0.25 s of work;
#: their first chunk of 13 says 0.3-0.5 s for the rest, its own once-per-chunk costs
#: included) ran 0.77x as fast on two workers as in one batch by their CPU seconds: they
#: stay here. Chosen with margin, since that load stretches CPU seconds too.
SPREAD_SECONDS = 1.0


def _choose(jobs: int | None, client: Any, n: int) -> bool:
    """Whether the default decides where the samples run (:func:`emulate_samples`)."""
    import os

    from .parallel import JOBS_ENV, resolve_jobs

    return jobs is None and client is None and not os.environ.get(JOBS_ENV, "").strip() \
        and resolve_jobs(None) > 1 and n > 1


def _here_or_spread(shared: tuple, samples: list[Any], chunk_size: int | None,
                    finished: Callable[[int, list[Any]], None], reported: bool) -> list[Any]:
    """The first chunk here, its CPU seconds timed; the rest here too, or on every core
    when it holds at least :data:`SPREAD_SECONDS` of work at that rate. Here and with no
    progress to report (``reported`` false), the rest is one chunk: a chunk's own costs
    (its batch's check of its first overflow) are paid once more, not 16 times."""
    import time

    from .parallel import Interrupted, chunk_sizes, cores

    n = len(samples)
    first = chunk_size or chunk_sizes(n, cores())[0]
    start = time.process_time()  # CPU seconds: the work, which others loading the machine do not stretch
    head = map_chunks(_emulate_chunk, shared, samples[:first], jobs=1, chunk_size=first, on_chunk=finished)
    per_sample = (time.process_time() - start) / max(1, first)
    if first >= n:
        return head
    jobs = cores() if per_sample * (n - first) >= SPREAD_SECONDS else 1
    if jobs == 1 and chunk_size is None and not reported:
        chunk_size = n - first
    try:
        tail = map_chunks(_emulate_chunk, shared, samples[first:], jobs=jobs, chunk_size=chunk_size,
                          on_chunk=lambda at, out: finished(first + at, out))
    except Interrupted as stop:  # the items finished so far, numbered in the whole batch
        done = {k: r for k, r in enumerate(head)}
        done.update({first + k: r for k, r in stop.done.items()})
        raise Interrupted(done, n) from None
    return head + tail


def _emulate_chunk(shared: tuple[Mapping, int, bool, Any, int], chunk: list[Any]) -> list[Any]:
    """One single-sample BatchResult per sample of ``chunk`` (overflows kept, not warned)."""
    from ..emulator.run import BatchResult, emulate_batch

    mapping, steps, strict, probes, seed = shared
    batch = emulate_batch(mapping, steps, chunk, strict=strict, probes=probes, seed=seed, warn=False)
    mine: dict[int, tuple[tuple[int, str], ...]] = {k: ((0, message),) for k, message in batch.overflows}
    return [BatchResult(results=(r,), overflows=mine.get(k, ())) for k, r in enumerate(batch.results)]
