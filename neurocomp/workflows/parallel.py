"""Independent work spread over the local cores, or over a Dask cluster.

The workflows' batches (samples through one Mapping, chips of a comparison, points of a
sweep) are independent: each item's result depends on that item and on what the whole
batch shares (the network, the Mapping, the steps), never on the other items. So they
run anywhere, in any order, and are put back in order here:

* ``jobs = 1`` (or a single chunk): in this process, one chunk after another;
* ``jobs = N``: ``N`` worker processes on this machine, started for the call. What the
  batch shares reaches each worker **once**, when it starts (the pool's initializer),
  never with a chunk: on Linux the workers are forked and inherit it, the items too (a
  task names its chunk by number: nothing is pickled on the way out) and the kernels
  Numba compiled already; elsewhere they are spawned, what is shared is pickled once for
  all of them and each chunk goes with its task. Each worker runs BLAS (numpy's matrix
  products), OpenMP and Numba's parallel loops with one thread, so ``N`` workers use ``N``
  cores and no more; and ``jobs = 1`` runs the chunks here with one BLAS thread too (one
  core, not the two that OpenBLAS would take for a product on its own). A chunk whose
  results hold large arrays (runs with every spike: ~0.5 MB an mnist_mlp sample) sends
  them back through a file in memory (``/dev/shm``), not the pool's pipe: the worker
  writes the arrays' bytes once and this process maps the file, where the pipe pickled,
  sent and unpickled them, copying each byte four times (:func:`_pack`);
* ``client``: a :class:`dask.distributed.Client`. What the batch shares is scattered to
  the workers once; the chunks are submitted as tasks; the results are gathered in order.

:func:`last_timing` tells where the last call's seconds went (the workers' start, the
chunks' own work, the gaps, the results' way back, uneven ends): ``benchmarks/
bench_parallel.py`` prints it.

``jobs=None`` means the environment variable ``NEUROCOMP_JOBS`` when it is set, else
every core this process may use. The result never depends on ``jobs``, the chunk size
or the client: the same items give the same results, in the same order.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import shutil
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, TypeVar

from ..diagnostics import UsageError
from ..resources import current_cap, memory_cap

__all__ = ["resolve_jobs", "map_chunks", "chunk_sizes", "cores", "CHUNKS", "JOBS_ENV", "SCHEDULER_ENV", "dask_client", "Interrupted",
           "Timing", "last_timing"]

T = TypeVar("T")
R = TypeVar("R")

#: The environment variable that sets the default number of local workers.
JOBS_ENV = "NEUROCOMP_JOBS"
#: The environment variable that names a Dask scheduler for the command line.
SCHEDULER_ENV = "NEUROCOMP_SCHEDULER"

# the thread pools a worker limits to one thread (read by each library when it loads)
_ONE_THREAD = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: Chunks a batch is cut into by default (at least): enough for ``on_chunk`` to report
#: progress in steps of 1/16. In one process that is all; on workers the chunks shrink
#: towards the end (:func:`chunk_sizes`), so that the workers end together.
CHUNKS = 16
#: On workers, the last chunks hold this many items at most (or half the first ones, if
#: less): 32 mnist_mlp samples of 100 steps are ~0.1 s of ``validate``'s work,
#: so two workers end within ~0.1 s of each other. The first chunks are larger, since
#: each chunk costs something once (~10 ms for an emulated batch's check of its first
#: overflow on a wider chip, measured: ``bench_parallel.py``).
CHUNK_ITEMS = 32

_SHARED: Any = None  # in a worker process: what the batch shares, unpickled once
_CHUNKS: Any = None  # in a forked worker process: the chunks, inherited
_PARCELS: str | None = None  # in a worker process: the call's folder for results sent by file

#: A chunk's results whose arrays hold at least this many bytes come back by file
#: (:func:`_pack`); smaller ones through the pool's pipe, where a file costs more than it saves.
BY_FILE = 1 << 18
_ALIGN = 64  # each array's bytes start on a multiple of this in the file (aligned, as NumPy's own)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`map_chunks`: ``done`` holds the results of the items that had
    finished, by index (the others were cancelled). A ``KeyboardInterrupt``, so code that
    does not look for it stops as on any Ctrl-C."""

    def __init__(self, done: dict[int, Any], total: int) -> None:
        super().__init__(f"interrupted after {len(done)} of {total} items")
        self.done = done
        self.total = total


def cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_jobs(jobs: Any = None) -> int:
    """The number of local workers: ``jobs``, else ``$NEUROCOMP_JOBS``, else :func:`cores`.

    Raises
    ------
    UsageError
        When ``jobs`` (or the variable) is not a whole number >= 1.
    """
    what = "jobs"
    if jobs is None:
        text = os.environ.get(JOBS_ENV, "").strip()
        if not text:
            return cores()
        what = f"${JOBS_ENV}"
        try:
            jobs = int(text)
        except ValueError:
            raise UsageError(f"{what} must be a whole number >= 1, got {text!r}") from None
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"{what} must be a whole number >= 1, got {jobs!r}",
                         hint="jobs=1 runs everything in this process")
    return jobs


def map_chunks(fn: Callable[[Any, list[T]], list[R]], shared: Any, items: Sequence[T], *,
               jobs: int | None = None, client: Any = None, chunk_size: int | None = None,
               on_chunk: Callable[[int, list[R]], None] | None = None, first_here: bool = False) -> list[R]:
    """``fn(shared, chunk)`` over ``items`` in chunks; the results of every item, in order.

    Parameters
    ----------
    fn
        A module-level function (workers import it by name) taking what the batch shares
        and a list of items, and returning one result per item.
    shared
        What every chunk needs (picklable): sent once to each worker.
    items
        The independent items (picklable).
    jobs
        Local workers (see :func:`resolve_jobs`); ignored with ``client``.
    client
        A :class:`dask.distributed.Client` to run the chunks on instead.
    chunk_size
        Items per chunk; by default :func:`chunk_sizes`.
    on_chunk
        Called in this process as ``on_chunk(first item's index, results)`` as each
        chunk finishes (in the order they finish).
    first_here
        Before forking local workers, run the first item here, as a chunk of its own: the
        workers inherit the kernels it compiled, so a cold cache compiles them once instead
        of once in every worker at the same time. (Its time counts as the caller's own work
        in :func:`last_timing`.) For calls whose items all take the same kernels.

    Raises
    ------
    NeurocompError
        The first error a chunk raised (the other chunks are cancelled; local workers
        running one are ended).
    Interrupted
        On Ctrl-C (or a ``KeyboardInterrupt`` from ``on_chunk``), with the results of the
        items that had finished (local workers still running a chunk are ended).
    """
    items = list(items)
    n = len(items)
    if n == 0:
        return []
    workers = _dask_workers(client) if client is not None else min(resolve_jobs(jobs), n)
    if chunk_size is None:
        sizes = chunk_sizes(n, workers)
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise UsageError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    else:
        sizes = [min(chunk_size, n - s) for s in range(0, n, chunk_size)]
    here = 1 if first_here and client is None and workers > 1 and len(sizes) > 1 and _can_fork() else 0
    if here and sizes[0] > 1:
        sizes = [1, sizes[0] - 1, *sizes[1:]]
    starts = [0, *itertools.accumulate(sizes[:-1])]
    chunks = [items[s:s + size] for s, size in zip(starts, sizes)]
    results: list[list[R] | None] = [None] * len(chunks)

    def done(k: int, out: list[R]) -> None:
        if len(out) != len(chunks[k]):
            raise RuntimeError(f"{fn.__name__} returned {len(out)} results for {len(chunks[k])} items")
        results[k] = out
        if on_chunk is not None:
            on_chunk(starts[k], out)

    global _LAST
    clock = _Clock(time.perf_counter())
    try:
        if client is not None:
            _on_dask(client, fn, shared, chunks, done, clock)
        elif workers <= 1 or len(chunks) == 1:
            with _one_thread(), _numba_one_thread():  # jobs=1 is one core
                for k, chunk in enumerate(chunks):
                    t0, c0 = time.perf_counter(), time.process_time()
                    out = fn(shared, chunk)
                    clock.ran(k, os.getpid(), t0, time.perf_counter(), time.process_time() - c0)
                    done(k, out)
        else:
            if here:  # (not timed as a worker's chunk: it is part of the caller's work)
                with _one_thread(), _numba_one_thread():
                    done(0, fn(shared, chunks[0]))
            _on_processes(min(workers, len(chunks) - here), fn, shared, chunks, done, clock, first=here)
    except KeyboardInterrupt:
        finished = {starts[k] + j: r for k, out in enumerate(results) if out is not None for j, r in enumerate(out)}
        raise Interrupted(finished, n) from None
    _LAST = clock.timing(len(chunks), time.perf_counter())
    return [r for out in results for r in out]  # type: ignore[union-attr]


def chunk_sizes(n: int, workers: int) -> list[int]:
    """The items of each default chunk of ``n`` items on ``workers`` workers, in order.

    At most ``ceil(n / CHUNKS)`` items each (:data:`CHUNKS`; four chunks per worker
    when there are more workers than that). In one process, chunks of that size. On
    several workers the chunks shrink towards the end ("guided"): each takes half a
    worker's share of the items left, down to :data:`CHUNK_ITEMS` (or half the first
    chunks, if less), so the first chunks are few and large (what a chunk does once
    is paid rarely) and the last are small (the workers end together)."""
    most = max(1, -(-n // max(CHUNKS, 4 * workers)))
    if workers <= 1:
        return [min(most, n - s) for s in range(0, n, most)]
    least = max(1, min(CHUNK_ITEMS, -(-most // 2)))
    sizes = []
    left = n
    while left:
        size = min(left, most, max(least, -(-left // (2 * workers))))
        sizes.append(size)
        left -= size
    return sizes


@dataclass(frozen=True)
class Timing:
    """Where the seconds of one :func:`map_chunks` call went (:func:`last_timing`).

    Every figure is in seconds. ``wall`` is the whole call; ``work`` the chunks' own
    time (``fn``, summed over the chunks, wherever they ran); ``start`` the time from the
    call to each worker's first chunk, summed over the workers (starting them, and the
    first chunk reaching them); ``between`` the gaps inside each worker between one
    chunk's end and the next one's start (a chunk waiting for the worker), summed;
    ``back`` the time from each chunk's end in its worker to its results in this process
    (pickling, sending, unpickling, waiting to be read), summed over the chunks;
    ``uneven`` the time each worker sat idle after its last chunk while another still
    ran, summed; ``end`` the time from the last chunk's results to the call's return
    (stopping the workers). In one process ``start``, ``between``, ``back``, ``uneven``
    and ``end`` are about 0.

    CPU seconds, which a machine loaded by others does not stretch as it stretches wall
    time: ``work_cpu`` the chunks' own (the process's CPU time around ``fn``, summed);
    ``workers_cpu`` everything the local worker processes used, from fork to exit
    (the chunks' work, unpickling, sending results back; 0 in one process and on Dask);
    ``caller_cpu`` this process's during the call (with workers: feeding them, receiving
    and unpickling their results, starting and stopping them).
    """

    workers: int
    chunks: int
    wall: float
    work: float
    start: float
    between: float
    back: float
    uneven: float
    end: float
    work_cpu: float = 0.0
    workers_cpu: float = 0.0
    caller_cpu: float = 0.0

    def to_text(self) -> str:
        return (f"{self.chunks} chunks on {self.workers} worker{'s' if self.workers != 1 else ''}: "
                f"wall {self.wall:.3f} s; work {self.work:.3f} s (summed); overheads summed over the "
                f"workers: start {self.start:.3f} s, between chunks {self.between:.3f} s, results back "
                f"{self.back:.3f} s (summed over chunks, partly overlapping the work), uneven ends "
                f"{self.uneven:.3f} s, stopping {self.end:.3f} s; CPU: work {self.work_cpu:.3f} s, workers "
                f"{self.workers_cpu:.3f} s, caller {self.caller_cpu:.3f} s")


_LAST: Timing | None = None


def last_timing() -> Timing | None:
    """The :class:`Timing` of this process's last completed :func:`map_chunks` call."""
    return _LAST


class _Clock:
    """Per chunk: who ran it, when it started and ended there, when its results arrived
    here (``time.perf_counter`` is the system's monotonic clock on Linux, the same in
    every local process; on a Dask cluster of other machines it is not, and the split
    figures mean little)."""

    def __init__(self, begun: float) -> None:
        self.begun = begun
        self.rows: dict[int, tuple[Any, float, float, float]] = {}
        self.cpu = 0.0
        self.caller_cpu = time.process_time()
        self.children_cpu = _children_cpu()

    def ran(self, k: int, who: Any, t0: float, t1: float, cpu: float = 0.0) -> None:
        self.rows[k] = (who, t0, t1, time.perf_counter())
        self.cpu += cpu

    def timing(self, chunks: int, now: float) -> Timing:
        by_worker: dict[Any, list[tuple[float, float]]] = {}
        for who, t0, t1, _ in self.rows.values():
            by_worker.setdefault(who, []).append((t0, t1))
        last = max((t1 for _, _, t1, _ in self.rows.values()), default=self.begun)
        received = max((r for _, _, _, r in self.rows.values()), default=now)
        start = between = uneven = 0.0
        for spans in by_worker.values():
            spans.sort()
            start += max(0.0, spans[0][0] - self.begun)
            between += sum(max(0.0, b[0] - a[1]) for a, b in zip(spans, spans[1:]))
            uneven += last - spans[-1][1]
        return Timing(workers=len(by_worker), chunks=chunks, wall=now - self.begun,
                      work=sum(t1 - t0 for _, t0, t1, _ in self.rows.values()), start=start,
                      between=between, back=sum(max(0.0, r - t1) for _, _, t1, r in self.rows.values()),
                      uneven=uneven, end=max(0.0, now - received), work_cpu=self.cpu,
                      workers_cpu=_children_cpu() - self.children_cpu,
                      caller_cpu=time.process_time() - self.caller_cpu)


def _children_cpu() -> float:
    """CPU seconds of this process's ended (and waited for) child processes."""
    try:
        import resource
    except ImportError:  # not on a Unix
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- local processes


def _on_processes(workers: int, fn: Callable, shared: Any, chunks: list[list[Any]],
                  done: Callable[[int, list[Any]], None], clock: _Clock, first: int = 0) -> None:
    """The chunks from number ``first`` on, on ``workers`` local processes."""
    import multiprocessing

    forked = _can_fork()
    parcels = _parcel_folder()
    if forked:  # the workers inherit what the batch shares, the chunks (a task names its
        # chunk by number) and the compiled kernels: nothing of it is pickled
        context, env = multiprocessing.get_context("fork"), contextlib.nullcontext()
        initargs: tuple = (shared, False, chunks, parcels)
    else:  # pickled once for all workers, unpickled once by each; chunks go with their task
        context = multiprocessing.get_context("spawn")
        initargs = (pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL), True, None, parcels)
        env = _one_thread_env()  # read by each library as a spawned worker loads it
    try:
        with env:
            _spread(workers, context, initargs, fn, forked, chunks, done, clock, first)
    finally:  # the files of results not read (an error, Ctrl-C), and any a worker ended half written
        if parcels is not None:
            shutil.rmtree(parcels, ignore_errors=True)


def _spread(workers: int, context: Any, initargs: tuple, fn: Callable, forked: bool, chunks: list[list[Any]],
            done: Callable[[int, list[Any]], None], clock: _Clock, first: int = 0) -> None:
    """The chunks from number ``first`` on, on a pool of ``workers`` processes, each result
    passed to ``done``."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=initargs)
    finished_well = False
    try:  # from the first submit to the pool's end: Ctrl-C anywhere in it stops the workers
        cap = current_cap()  # the caller's memory cap holds in the workers too
        futures = {pool.submit(_run_chunk, fn, k if forked else chunk, cap): k
                   for k, chunk in enumerate(chunks) if k >= first}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in sorted(finished, key=futures.__getitem__):
                out, pid, t0, t1, cpu = f.result()
                out = _unpack(out)
                clock.ran(futures[f], pid, t0, t1, cpu)
                done(futures[f], out)
        pool.shutdown(wait=True)
        finished_well = True
    finally:
        if not finished_well:  # an error or Ctrl-C: stop the workers; the pool then fails
            # every open future, the chunks not yet started with them. (Not cancelled:
            # Python 3.11's pool, finding a cancelled future among those it fails, dies
            # with InvalidStateError before it closes its queues, and the exit hangs.)
            _stop_workers(pool)
            pool.shutdown(wait=True)  # quick: the workers are gone, the pipe closed


def _stop_workers(pool: Any) -> None:
    """End ``pool``'s worker processes now (SIGTERM), so that leaving the pool does not
    wait for the chunks they run. The pool sees them die, fails its open futures and
    shuts down; it closes its call queue's reading end as it does, so that a chunk still
    being sent cannot block it (cpython issue 94777, fixed in the 3.11 series).

    A worker ended while it wrote a result leaves half a message in the result pipe, and
    the pool's thread would wait for the rest for ever (the exit with it). So once the
    workers are gone, the caller's own copy of the pipe's writing end is closed too: with
    no writer left, that read ends (EOF) and the pool sees a broken pool, as it should."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5.0)
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None and not any(process.is_alive() for process in processes):
        writer.close()


def _can_fork() -> bool:
    """Fork on Linux: no re-import of ``__main__`` (a script needs no ``__main__`` guard)
    and nothing to pickle. Elsewhere (macOS, Windows) fork is unsafe or missing: spawn."""
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


_CONTROLLER: list[Any] = [None, -1]  # threadpoolctl's view of the loaded libraries, and len(sys.modules) then


def _one_thread() -> Any:
    """BLAS and OpenMP at one thread in this process while the context lasts (threadpoolctl
    finds the libraries loaded, whichever they are: OpenBLAS, MKL, BLIS, libgomp...)."""
    from threadpoolctl import ThreadpoolController  # (a dependency; imported when chunks run, not at start-up)

    if _CONTROLLER[1] != len(sys.modules):  # looking for the libraries takes ~10 ms: again
        # only when a module was imported since (it may have loaded one)
        _CONTROLLER[:] = [ThreadpoolController(), len(sys.modules)]
    return _CONTROLLER[0].limit(limits=1)


@contextlib.contextmanager
def _numba_one_thread() -> Iterator[None]:
    """Numba's parallel loops (a large Loihi run's pieces) at one thread while the context
    lasts. Every chunk function emulates, so Numba is loaded here if it is not yet."""
    import numba

    saved = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(saved)


@contextlib.contextmanager
def _one_thread_env() -> Iterator[None]:
    """The thread-count variables at 1 while worker processes start (they inherit them)."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update({k: "1" for k in _ONE_THREAD})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _start_worker(shared: Any, pickled: bool, chunks: list[list[Any]] | None, parcels: str | None = None) -> None:
    """A worker's initializer: what the batch shares (unpickled once per worker), the
    chunks when forked, the folder for results sent by file, and one thread for Numba's
    parallel loops."""
    global _SHARED, _CHUNKS, _PARCELS
    import signal

    # Ctrl-C at a terminal reaches the whole process group: the caller handles it (and
    # stops the workers); a worker must not die of it on its own, printing a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    numba = sys.modules.get("numba")
    launched = numba is not None and _numba_threads_started()
    # a forked worker whose parent started Numba's pool keeps that pool's size: Numba
    # re-reads the variables at every compile and refuses a size other than the started one
    os.environ.update({k: "1" for k in _ONE_THREAD if not (launched and k == "NUMBA_NUM_THREADS")})
    # a forked worker inherits BLAS loaded with the parent's thread count (two threads per
    # worker on two cores: oversubscribed), which the variables above no longer change
    _one_thread().__enter__()  # for the worker's life (never restored)
    if numba is not None:  # a forked worker: Numba loaded already
        if not launched:
            numba.config.reload_config()  # the pool starts at the size set above
        numba.set_num_threads(1)  # (started: one thread of the parent's size)
    _SHARED = pickle.loads(shared) if pickled else shared
    _CHUNKS = chunks
    _PARCELS = parcels


def _run_chunk(fn: Callable, chunk: list[Any] | int, cap: tuple[int, str] | None = None
               ) -> tuple[list[Any], int, float, float, float]:
    """``fn`` over ``chunk`` (or the inherited chunk of that number), its pid, start and
    end, and the CPU seconds it took."""
    t0, c0 = time.perf_counter(), time.process_time()
    with memory_cap(cap):
        out = fn(_SHARED, _CHUNKS[chunk] if isinstance(chunk, int) else chunk)
        t1 = time.perf_counter()
        out = _pack(out, _PARCELS)  # (counted with the results' way back, as the pipe's pickling is)
    return out, os.getpid(), t0, t1, time.process_time() - c0


@dataclass(frozen=True)
class _Parcel:
    """A chunk's results sent by file: their pickle without the arrays' bytes
    (``data``), and where those bytes are (``path``; one array after another, each at
    ``offsets[k]`` with ``sizes[k]`` bytes)."""

    path: str
    data: bytes
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]


def _parcel_folder() -> str | None:
    """A new folder for one call's results sent by file, in memory (``/dev/shm``) where
    there is one; ``None`` (every result through the pipe) where there is not."""
    import tempfile  # (not at start-up)

    if not os.path.isdir("/dev/shm"):
        return None
    try:
        return tempfile.mkdtemp(prefix=f"neurocomp-{os.getpid()}-", dir="/dev/shm")  # (whose it is)
    except OSError:  # not writable: the pipe
        return None


def _pack(out: Any, folder: str | None) -> Any:
    """``out``, or a :class:`_Parcel` of it when its arrays hold at least :data:`BY_FILE`
    bytes: pickled without them (protocol 5's out-of-band buffers, not copied), their
    bytes written to a file of ``folder``. A file that cannot be written (the folder full)
    leaves ``out`` to the pipe."""
    import tempfile

    if folder is None:
        return out
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(out, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    if sum(r.nbytes for r in raws) < BY_FILE:
        return out
    offsets, at = [], 0
    for r in raws:
        offsets.append(at)
        at += -(-r.nbytes // _ALIGN) * _ALIGN
    path = None
    try:
        fd, path = tempfile.mkstemp(dir=folder, suffix=".parcel")
        with os.fdopen(fd, "wb") as f:
            for r, offset in zip(raws, offsets):
                f.seek(offset)
                f.write(r)
            f.truncate(at)
    except OSError:
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return out
    return _Parcel(path, data, tuple(offsets), tuple(r.nbytes for r in raws))


def _unpack(out: Any) -> Any:
    """:func:`_pack` undone: the arrays are views of the file mapped into memory (copy on
    write, so they are writable; the file itself is removed at once)."""
    if not isinstance(out, _Parcel):
        return out
    import mmap

    with open(out.path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    os.unlink(out.path)
    view = memoryview(mapped)
    return pickle.loads(out.data, buffers=[view[o:o + n] for o, n in zip(out.offsets, out.sizes)])


def _capped(fn: Callable, cap: tuple[int, str] | None, shared: Any, chunk: list[Any]
            ) -> tuple[list[Any], int, float, float, float]:
    """``fn(shared, chunk)`` under the caller's memory cap (on a Dask worker), with
    :func:`_run_chunk`'s pid, times and CPU seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    with memory_cap(cap):
        out = fn(shared, chunk)
    return out, os.getpid(), t0, time.perf_counter(), time.process_time() - c0


# --------------------------------------------------------------------------- Dask


def dask_client(address: str) -> Any:
    """A :class:`dask.distributed.Client` connected to the scheduler at ``address``.

    Raises
    ------
    UsageError
        When Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(f"a Dask scheduler ({address}) needs dask.distributed, which is not installed",
                         hint="pip install 'neurocomp[dask]'; without it, work runs on this machine's "
                              "cores (--jobs N)") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address} ({exc})",
                         hint="start one with 'dask scheduler' and workers with 'dask worker ADDRESS' "
                              "(docs/scale-out.md)") from None


def _dask_workers(client: Any) -> int:
    try:
        info = client.scheduler_info()
    except AttributeError:
        raise UsageError(f"client must be a dask.distributed.Client, not {client!r}") from None
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))


def _on_dask(client: Any, fn: Callable, shared: Any, chunks: list[list[Any]],
             done: Callable[[int, list[Any]], None], clock: _Clock) -> None:
    from distributed import as_completed

    # shipped once to every worker; keys of their own (hash=False): equal data scattered by
    # an earlier call would share its key, and that call releasing it can lose this one's
    [handle] = client.scatter([shared], broadcast=True, hash=False)
    # the chunks go as data, not inside the task graph (a graph of many MB makes Dask warn)
    cap = current_cap()
    futures = [client.submit(_capped, fn, cap, handle, data, pure=False)
               for data in client.scatter(chunks, hash=False)]
    index = {f.key: k for k, f in enumerate(futures)}
    try:
        for f in as_completed(futures):
            out, pid, t0, t1, cpu = f.result()
            clock.ran(index[f.key], pid, t0, t1, cpu)
            done(index[f.key], out)
    except BaseException:
        client.cancel(futures)
        raise


def _numba_threads_started() -> bool:
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    return bool(getattr(parallel, "_is_initialized", False))
