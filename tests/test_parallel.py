"""Local parallelism (neurocomp.workflows.parallel): the same results, in order, whatever
the number of workers; what the batch shares reaches each worker once; one thread each."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.diagnostics import UsageError
from neurocomp.emulator.run import BatchResult, emulate, warn_overflows
from neurocomp.ir.result import Counters
from neurocomp.workflows import parallel as P
from neurocomp.workflows.batch import emulate_samples

from test_emulator_run import exact_case

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


# --------------------------------------------------------------------------- map_chunks


def _square_slowly(shared, chunk):
    # the later items finish first: the results must still come back in order
    time.sleep(0.02 * (10 - chunk[0]) / 10)
    return [shared * x * x for x in chunk]


def _who(shared, chunk):
    return [(os.getpid(), id(shared), os.environ.get("OMP_NUM_THREADS")) for _ in chunk]


def _refuse(shared, chunk):
    if 3 in chunk:
        raise UsageError("item 3 is refused", where="item 3")
    return chunk


def test_results_come_back_in_order_whatever_the_workers_and_chunks():
    expected = [2 * x * x for x in range(10)]
    for jobs, size in [(1, None), (2, None), (2, 1), (2, 3), (2, 10)]:
        seen: list[int] = []
        got = P.map_chunks(_square_slowly, 2, range(10), jobs=jobs, chunk_size=size,
                           on_chunk=lambda first, out: seen.extend(range(first, first + len(out))))
        assert got == expected, (jobs, size)
        assert sorted(seen) == list(range(10))


def test_what_the_batch_shares_reaches_each_worker_once_and_each_runs_one_thread():
    rows = P.map_chunks(_who, [1.0] * 1000, range(12), jobs=2, chunk_size=1)
    pids = {pid for pid, _, _ in rows}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    # one shared object per worker, however many chunks it ran
    assert len({(pid, ident) for pid, ident, _ in rows}) == len(pids)
    assert {threads for _, _, threads in rows} == {"1"}


def _blas_threads(shared, chunk):
    from threadpoolctl import threadpool_info

    return [sorted({info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"})
            for _ in chunk]


@pytest.mark.parametrize("jobs", [1, 2])
def test_jobs_n_runs_blas_with_one_thread_per_worker_and_restores_the_callers(jobs):
    """numpy's OpenBLAS starts with a thread per core; a forked worker inherits that count
    (two workers would run four threads on two cores), and jobs=1 would use two cores."""
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):  # as OpenBLAS starts on a 2-core box
        before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
        assert 2 in before
        got = P.map_chunks(_blas_threads, None, range(4), jobs=jobs, chunk_size=1)
        assert got == [[1]] * 4
        # the caller's, as it was (jobs=1 may load OpenMP for Numba's threads: BLAS is compared)
        assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == before


def _pid_and_item(shared, chunk):
    return [(os.getpid(), item) for item in chunk]


def test_first_here_runs_the_first_item_in_the_caller_before_the_workers_start():
    """validate's kernels compile once on a cold cache: the workers fork after the caller
    ran (and compiled for) the first item. Results stay in order, every chunk reported."""
    starts = []
    got = P.map_chunks(_pid_and_item, None, range(40), jobs=2, first_here=True,
                       on_chunk=lambda start, out: starts.append((start, len(out))))
    assert [item for _, item in got] == list(range(40))
    assert got[0][0] == os.getpid()
    assert os.getpid() not in {pid for pid, _ in got[1:]}
    assert starts[0] == (0, 1) and sum(k for _, k in starts) == 40
    # one process, or not asked: every item where it ran before
    assert {pid for pid, _ in P.map_chunks(_pid_and_item, None, range(8), jobs=1, first_here=True)} == {os.getpid()}
    assert os.getpid() not in {pid for pid, _ in P.map_chunks(_pid_and_item, None, range(8), jobs=2)}


def _numba_threads(shared, chunk):
    import numba

    return [numba.get_num_threads() for _ in chunk]


@pytest.mark.parametrize("jobs", [1, 2])
def test_jobs_n_runs_numbas_parallel_loops_on_one_thread_per_worker(jobs):
    """A large Loihi run cuts itself into Numba's thread count of pieces: jobs=1 must not
    take the second core that way, and the caller's count is restored afterwards."""
    import numba

    before = numba.get_num_threads()
    assert P.map_chunks(_numba_threads, None, range(4), jobs=jobs, chunk_size=1) == [1] * 4
    assert numba.get_num_threads() == before


def _spin(shared, chunk):
    end = time.process_time() + shared * len(chunk)
    while time.process_time() < end:
        pass
    return chunk


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_timing_counts_cpu_seconds(jobs):
    # sleeping 0.5 s takes next to no CPU (an idle BLAS thread may spin some ms once)
    P.map_chunks(_nap, 0.125, range(4), jobs=jobs, chunk_size=2)
    assert P.last_timing().work_cpu < 0.25
    P.map_chunks(_spin, 0.1, range(4), jobs=jobs, chunk_size=2)  # spinning takes 0.4 s of it
    t = P.last_timing()
    assert 0.4 <= t.work_cpu < 0.6
    if jobs == 1:
        assert t.workers_cpu == 0.0 and t.caller_cpu >= 0.4
    else:  # the workers' CPU from fork to exit holds their chunks' and a little more
        assert t.workers_cpu >= t.work_cpu and t.caller_cpu < 0.4


def test_a_workers_error_reaches_the_caller_as_it_was_raised():
    for jobs in (1, 2):
        with pytest.raises(UsageError, match="item 3 is refused") as e:
            P.map_chunks(_refuse, None, range(8), jobs=jobs, chunk_size=2)
        assert e.value.render() == "item 3: error: item 3 is refused"


@pytest.mark.parametrize("n", [1, 7, 21, 200, 2000, 4321])
@pytest.mark.parametrize("workers", [1, 2, 8])
def test_default_chunks_cover_the_items_and_shrink_towards_the_end_on_workers(n, workers):
    sizes = P.chunk_sizes(n, workers)
    most = -(-n // max(P.CHUNKS, 4 * workers))
    assert sum(sizes) == n and all(1 <= k <= most for k in sizes)
    assert sizes == sorted(sizes, reverse=True)
    if workers == 1:  # one process: chunks of one size, for progress only
        assert set(sizes[:-1]) <= {most} and len(sizes) <= P.CHUNKS
    else:  # the workers end within a small chunk of each other
        assert sizes[-1] <= max(P.CHUNK_ITEMS, 1)
        assert sum(sizes[-2 * workers:]) <= max(n / 2, 2 * workers * P.CHUNK_ITEMS)
    # 2,000 samples on 2 workers: 21 chunks, where 63 chunks of 32 paid a chunk's cost 3 times as often
    if (n, workers) == (2000, 2):
        assert len(sizes) == 21 and sizes[0] == 125 and sizes[-4:] == [32, 32, 32, 21]


def _arrays(shared, chunk):
    """Per item, arrays of several dtypes and sizes (odd byte counts: the next one's start
    must still be aligned), a view and a scalar: enough bytes to come back by file."""
    if shared == "raise" and chunk[0] == 6:
        raise UsageError("item 6 is refused")
    return [{"f": np.random.default_rng(x).random(40_001), "i": np.arange(x, x + 12_345, dtype=np.int32),
             "b": np.arange(3_001) % (x + 2) == 0, "t": np.full((60, 70), x / 3)[:, ::2], "x": x} for x in chunk]


def _parcels_left() -> list[str]:
    """This process's folders of results by file (another test process may be making its own)."""
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith(f"neurocomp-{os.getpid()}-")) \
        if os.path.isdir("/dev/shm") else []


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm: results come back through the pipe")
def test_large_results_come_back_by_file_equal_aligned_writable_and_leave_no_file():
    before = _parcels_left()
    whole = _arrays(None, list(range(8)))
    two = whole[:2]
    assert P._pack(two, None) is two  # no folder: the pipe
    assert P._pack(two, "/no/such/folder") is two  # a file that cannot be written: the pipe
    folder = P._parcel_folder()
    try:
        assert P._pack(two[0]["x"], folder) == 0  # no arrays: the pipe
        parcel = P._pack(two, folder)
        # the contiguous arrays' bytes are in the file; a strided view's (2 x 16.8 kB) in the pickle
        assert isinstance(parcel, P._Parcel) and len(parcel.data) < 40_000
        unpacked = P._unpack(parcel)
        assert os.listdir(folder) == []  # the file is gone once mapped
    finally:
        os.rmdir(folder)
    for out in (unpacked, P.map_chunks(_arrays, None, range(8), jobs=2, chunk_size=2)):
        for got, want in zip(out, whole):
            assert got.keys() == want.keys() and got["x"] == want["x"]
            for key in "fibt":
                a = got[key]
                assert a.dtype == want[key].dtype and np.array_equal(a, want[key])
                assert a.flags.aligned and a.flags.writeable
                assert key == "t" or a.ctypes.data % 64 == 0  # from the file (the view came in the pickle)
        out[0]["f"][0] = -1.0  # copy on write: nobody else sees it
    assert _parcels_left() == before
    with pytest.raises(UsageError, match="item 6 is refused"):  # an error: the files not read are removed
        P.map_chunks(_arrays, "raise", range(8), jobs=2, chunk_size=2)
    assert _parcels_left() == before


def _first_quick_then_slow(shared, chunk):
    if chunk[0] == 0:
        if shared == "raise":
            raise UsageError("item 0 is refused")
        return chunk
    time.sleep(300)
    return chunk


def _ctrl_c(first, out):
    raise KeyboardInterrupt


@pytest.mark.parametrize("how", ["ctrl-c", "error"])
def test_stopping_ends_the_workers_running_a_chunk(how):
    """Ctrl-C (here from on_chunk) or a chunk's error: the workers still running a chunk
    of 300 s are ended, not waited for, and none is left behind."""
    import multiprocessing

    start = time.monotonic()
    if how == "ctrl-c":
        with pytest.raises(P.Interrupted) as e:
            P.map_chunks(_first_quick_then_slow, None, range(4), jobs=2, chunk_size=1, on_chunk=_ctrl_c)
        assert e.value.done == {0: 0} and e.value.total == 4
    else:
        with pytest.raises(UsageError, match="item 0 is refused"):
            P.map_chunks(_first_quick_then_slow, "raise", range(4), jobs=2, chunk_size=1)
    assert time.monotonic() - start < 100  # not the 300 s of a running chunk
    assert multiprocessing.active_children() == []


_POOL = None


def _half_a_result() -> None:
    """In a forked worker: start a result message of 1 MB in the result pipe, write 8
    bytes of it, and hang, as a worker ended in the middle of sending a result does."""
    import struct

    os.write(_POOL._result_queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 8)
    time.sleep(300)


def test_stopping_a_worker_that_was_sending_a_result_does_not_hang_the_pool():
    """A worker ended mid-result leaves half a message in the pipe: the pool's thread
    must not wait for the rest for ever (the exit of a Ctrl-C'd command hung on it)."""
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    global _POOL
    _POOL = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    try:
        future = _POOL.submit(_half_a_result)
        time.sleep(1.0)  # the worker has written its 12 bytes and sleeps
        assert not future.done()
        P._stop_workers(_POOL)
        ended = threading.Thread(target=_POOL.shutdown, kwargs={"wait": True}, daemon=True)
        ended.start()
        ended.join(30)
        assert not ended.is_alive(), "the pool waited for the rest of the half-sent result"
        assert isinstance(future.exception(timeout=5), Exception)  # failed, not left open
    finally:
        _POOL = None
    assert multiprocessing.active_children() == []


def test_jobs_default_to_every_core_or_the_environment(monkeypatch):
    monkeypatch.delenv(P.JOBS_ENV, raising=False)
    assert P.resolve_jobs() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(P.JOBS_ENV, "3")
    assert P.resolve_jobs() == 3 and P.resolve_jobs(1) == 1
    monkeypatch.setenv(P.JOBS_ENV, "many")
    with pytest.raises(UsageError, match=r"\$NEUROCOMP_JOBS must be a whole number >= 1, got 'many'"):
        P.resolve_jobs()
    for bad in (0, -2, 1.5, True):
        with pytest.raises(UsageError, match="jobs must be a whole number >= 1"):
            P.resolve_jobs(bad)


# --------------------------------------------------------------------------- batches


def test_a_batch_on_two_workers_is_each_sample_run_alone():
    _, mapping = exact_case(2)
    rng = np.random.default_rng(11)
    samples = [{"x": rng.random((40, 5)) < p} for p in np.linspace(0.05, 0.6, 9)] + [None]
    alone = [emulate(mapping, 40, s) for s in samples]  # the independent expectation
    for jobs, size in [(1, None), (2, None), (2, 4)]:
        batch = emulate_samples(mapping, 40, samples, jobs=jobs, chunk_size=size)
        assert len(batch) == len(samples)
        for got, want in zip(batch, alone):
            for pop in ("a", "b", "x"):
                np.testing.assert_array_equal(got.spikes[pop].times, want.spikes[pop].times)
                np.testing.assert_array_equal(got.spikes[pop].indices, want.spikes[pop].indices)
            for f in Counters.FIELDS:
                np.testing.assert_array_equal(getattr(got.counters, f), getattr(want.counters, f))
    assert len({r.spikes["a"].count for r in alone}) > 1  # the samples differ


@pytest.mark.parametrize("spread", [False, True])
def test_by_default_a_batch_runs_here_unless_its_first_chunk_says_workers_pay(spread, monkeypatch, tmp_path):
    """emulate_samples with jobs unset: the first chunk runs here, timed; the rest goes to
    the workers only when it holds SPREAD_SECONDS of work at that rate (here: never, or
    always). Either way the batch is the samples run alone, in order."""
    import neurocomp.workflows.batch as B

    _, mapping = exact_case(2)
    rng = np.random.default_rng(5)
    samples = [{"x": rng.random((40, 5)) < p} for p in np.linspace(0.05, 0.6, 40)]
    alone = [emulate(mapping, 40, s) for s in samples]
    monkeypatch.delenv(P.JOBS_ENV, raising=False)
    monkeypatch.setattr(P, "cores", lambda: 2)
    monkeypatch.setattr(B, "SPREAD_SECONDS", 0.0 if spread else 1e9)
    log = tmp_path / "who.txt"

    import neurocomp.emulator.run as R

    def noted(mapping, steps, chunk, **kw):  # what each chunk calls, wherever it runs (forked)
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {len(chunk)}\n")
        return emulate_batch(mapping, steps, chunk, **kw)

    emulate_batch = R.emulate_batch
    monkeypatch.setattr(R, "emulate_batch", noted)
    done = []
    batch = emulate_samples(mapping, 40, samples, progress=lambda k, n: done.append(k))
    assert [r.spikes["a"].count for r in batch] == [r.spikes["a"].count for r in alone]
    for got, want in zip(batch, alone):
        np.testing.assert_array_equal(got.spikes["b"].times, want.spikes["b"].times)
    rows = [line.split() for line in log.read_text().splitlines()]
    assert rows[0] == [str(os.getpid()), "3"]  # the first chunk here: ceil(40 / 16)
    assert sum(int(k) for _, k in rows) == 40 and done[-1] == 40
    elsewhere = {pid for pid, _ in rows} - {str(os.getpid())}
    assert bool(elsewhere) == spread  # (which workers took the chunks is theirs to race for)
    if not spread:  # the rest here in chunks that report progress: 3 samples each
        assert [k for _, k in rows] == ["3"] * 13 + ["1"]
        log.unlink()  # with no progress to report, the rest is one chunk
        again = emulate_samples(mapping, 40, samples)
        assert [line.split()[1] for line in log.read_text().splitlines()] == ["3", "37"]
        assert [r.spikes["a"].count for r in again] == [r.spikes["a"].count for r in alone]


def test_a_batch_split_over_workers_has_the_overflow_notes_of_the_batch_run_whole():
    # mnist_mlp's hidden v saturates in every sample; a batch checks its first overflowed
    # sample against a wider chip (UNCHANGED_NOTE), so each chunk did too until merging
    # kept that check for the first sample only, as one batch does.
    from neurocomp.diagnostics import OverflowWarning
    from neurocomp.emulator.run import UNCHANGED_NOTE, emulate_batch
    from neurocomp.workflows.samples import sample_inputs

    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        samples = sample_inputs(net, 60, data["x"][:8])
    mapping = nc.compile(net, "loihi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverflowWarning)
        whole = emulate_batch(mapping, 60, samples)
        split = emulate_samples(mapping, 60, samples, jobs=2, chunk_size=3)
    assert len(whole.overflows) == 8  # every sample overflowed
    assert split.overflows == whole.overflows
    assert sum(UNCHANGED_NOTE in m for _, m in whole.overflows) <= 1


def test_merged_overflows_keep_their_place_in_the_whole_batch():
    _, mapping = exact_case(0)
    one = emulate(mapping, 5)
    first = BatchResult(results=(one, one, one), overflows=((1, "v saturated 1 time (first: step 2)"),))
    second = BatchResult(results=(one, one), overflows=((0, "u wrapped 2 times"), (1, "u wrapped 1 time")))
    merged = BatchResult.merge(first, second)
    assert merged.overflows == ((1, "v saturated 1 time (first: step 2)"), (3, "u wrapped 2 times"),
                                (4, "u wrapped 1 time"))
    with pytest.warns(RuntimeWarning) as rec:
        warn_overflows(mapping, merged)
    assert str(rec[0].message).startswith(
        f"emulating '{mapping.network.name}' on {mapping.chip.name} in 3 of 5 samples, first sample 1: "
        "v saturated 1 time (first: step 2). Run with strict=True")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_overflows(mapping, BatchResult(results=(one,)))  # no overflow, no warning


# --------------------------------------------------------------------------- workflows


@pytest.fixture(scope="module")
def mnist():
    with np.load(EXAMPLES / "data" / "mnist_test.npz") as data:
        return nc.load(EXAMPLES / "mnist_mlp.snn"), (data["x"][:10], data["y"][:10])


def _without_wall(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "wall_s"}


def test_validate_on_one_or_two_workers_gives_the_same_report(mnist):
    net, samples = mnist
    chip = nc.load_chip("loihi")
    mapping = nc.compile(net, chip)
    one = nc.validate(net, chip, 30, samples=samples, mapping=mapping, jobs=1)
    two = nc.validate(net, chip, 30, samples=samples, mapping=mapping, jobs=2)
    assert _without_wall(one.to_dict()) == _without_wall(two.to_dict())
    assert one.spike_counts.keys() == two.spike_counts.keys()
    for k in one.spike_counts:
        np.testing.assert_array_equal(one.spike_counts[k], two.spike_counts[k])
    assert one.classifier.samples == 10 and one.classifier.agreement == 1.0


def test_compare_on_one_or_two_workers_gives_the_same_rows_in_order():
    chips = ["loihi", "truenorth", "akida"]
    one = nc.compare(EXAMPLES / "chain.snn", chips, 20, jobs=1)
    two = nc.compare(EXAMPLES / "chain.snn", chips, 20, jobs=2)
    assert [r.label for r in two] == chips
    assert [r.status for r in two] == ["ok", "ok", "cannot represent"]  # as compare's docstring
    for a, b in zip(one, two):
        da, db = a.to_dict(), b.to_dict()
        for d in (da, db):
            d.pop("wall_s", None)
            (d.get("validation") or {}).pop("wall_s", None)
            (d.get("report") or {}).pop("wall_s", None)
        assert da == db


# --------------------------------------------------------------------------- command line


def test_run_batch_on_one_or_two_workers_writes_the_same_files(tmp_path, capsys):
    import json

    from neurocomp.cli import main

    rng = np.random.default_rng(5)
    np.savez(tmp_path / "in.npz", stim=(rng.random((7, 20, 1)) < 0.4).astype(np.uint8))
    folders = {}
    for jobs in ("1", "2"):
        folders[jobs] = tmp_path / f"j{jobs}"
        assert main(["run", str(EXAMPLES / "chain.snn"), "--chip", "loihi", "--steps", "20", "--inputs",
                     str(tmp_path / "in.npz"), "--batch", "7", "--jobs", jobs, "--trace",
                     "--out", str(folders[jobs])]) == 0
    capsys.readouterr()
    reports = [json.loads((f / "report.json").read_text()) for f in folders.values()]
    for r in reports:
        r.pop("wall_s", None)
    assert reports[0] == reports[1] and reports[0]["samples"] == 7
    for name in ("batch_counts.npz", "counters.npz"):
        with np.load(folders["1"] / name) as one, np.load(folders["2"] / name) as two:
            assert one.files == two.files
            for k in one.files:
                np.testing.assert_array_equal(one[k], two[k])


@pytest.mark.parametrize("command", [["validate", "--chip", "loihi"], ["compare", "--chips", "loihi"],
                                     ["run", "--chip", "loihi"]])
def test_jobs_must_be_positive(command, capsys):
    from neurocomp.cli import main

    name, *rest = command
    assert main([name, str(EXAMPLES / "chain.snn"), *rest, "--steps", "5", "--jobs", "0"]) == 1
    assert capsys.readouterr().err == "error: --jobs must be positive, got 0\n"


def test_compare_over_samples_on_two_workers_gives_the_same_accuracies(mnist):
    net, (x, y) = mnist
    one = nc.compare(net, ["loihi", "truenorth"], 20, samples=(x[:6], y[:6]), jobs=1)
    two = nc.compare(net, ["loihi", "truenorth"], 20, samples=(x[:6], y[:6]), jobs=2)
    assert one.accuracy_ref == two.accuracy_ref and one.spikes_ref == two.spikes_ref
    assert [r.accuracy for r in one] == [r.accuracy for r in two]
    assert [r.spikes_chip for r in one] == [r.spikes_chip for r in two]


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a process group needs POSIX")
def test_ctrl_c_at_a_terminal_stops_the_workers_and_ends_with_one_line():
    """Ctrl-C at a terminal reaches the whole process group: the command ends with 130
    and 'interrupted' (the running chunks' workers are ended, the other chunks
    cancelled), no worker prints a traceback, none is left behind."""
    import signal
    import subprocess
    import sys

    def own_group():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgrp()

    cmd = [sys.executable, "-m", "neurocomp", "validate", "examples/mnist_mlp.snn", "--chip", "loihi",
           "--steps", "400", "--samples", "examples/data/mnist_test.npz", "--jobs", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=own_group, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until both workers run
            group = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
            if len(group) >= 3 or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the command ended before its workers started"
        time.sleep(1.0)
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, err.strip(), out) == (130, "interrupted", "")  # (a blank line: the bar)
    assert time.monotonic() - start < 30  # not the remaining chunks' time
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert left == []


# --------------------------------------------------------------------------- where the time goes


def _nap(shared, chunk):
    time.sleep(shared * len(chunk))
    return [os.getpid() for _ in chunk]


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_timing_of_a_call_counts_its_chunks_workers_and_work(jobs):
    pids = P.map_chunks(_nap, 0.05, range(6), jobs=jobs, chunk_size=2)
    t = P.last_timing()
    assert t.chunks == 3 and t.workers == len(set(pids))
    assert (t.workers == 1 and pids == [os.getpid()] * 6) if jobs == 1 else os.getpid() not in pids
    # sleeps are lower bounds: 3 chunks of 0.1 s of work each
    assert t.work >= 0.3 and t.wall >= 0.3 / t.workers
    assert min(t.start, t.between, t.back, t.uneven, t.end) >= 0.0
    assert "3 chunks on" in t.to_text()
