"""Seeded mutation fuzzing of every reader: nothing a user hands in ends in a traceback.

Each reader gets files made from a valid one by a few random edits (seeded, so a failure
reproduces: the case's seed is in the test id). The reader must either accept the file
or refuse it with a :class:`NeurocompError`; an accepted mapping must also emulate, or
refuse to, the same way. Any other exception — or a crash of the process, which fails
the whole run — is a bug. The default run takes a few dozen cases per reader; the
``slow`` run, ten times as many.

Each case has a time limit (:data:`CASE_SECONDS`, or ``$NEUROCOMP_FUZZ_CASE_SECONDS``):
a case still running then is a hang, and fails with its name and the limit. An alarm
signal interrupts Python code; a hang inside a compiled kernel never returns to Python
(and holds the GIL), so a watchdog process of its own, told when each case starts and
ends, stops it at three times the limit: it writes ``fuzz case NAME hung ...`` to the
terminal (the stderr pytest's capture saved, so it shows without ``-s``), after
``faulthandler``'s dump of where every thread was, and ends the run; a hang never blocks
the suite. The limit is checked by a timer, so it costs the default run nothing.

The edits: flip bytes, cut the file short, repeat a piece, and (for text) replace a
number with one of the values that broke readers before: 0, -1, 2^31, 2^63 - 1, 1e30,
-1e30, nan, inf, "x".
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import random
import signal
import sys
import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.diagnostics import NeurocompError

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "examples" / "chain.snn"
TINY = ROOT / "tests" / "data" / "tiny.toml"

EXTREMES = ["0", "-1", "2147483648", "9223372036854775807", "1e30", "-1e30", "nan", "inf", '"x"', "[]", "{}"]
FAST, SLOW = 25, 250
#: Seconds one case may take (a case takes well under one; the first compiles kernels).
CASE_SECONDS = float(os.environ.get("NEUROCOMP_FUZZ_CASE_SECONDS", "60"))


# The watchdog: "start SECONDS NAME" and "stop" lines on its stdin; past a start's
# deadline it names the case on the terminal's file descriptor and kills the run.
WATCHDOG = r"""
import os, select, signal, sys, time
parent, fd = int(sys.argv[1]), int(sys.argv[2])
name, deadline, seconds, buf = None, None, "", b""
while True:
    wait = None if deadline is None else max(0.0, deadline - time.monotonic())
    ready, _, _ = select.select([0], [], [], wait)
    if ready:
        chunk = os.read(0, 4096)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            cmd, _, rest = line.decode().partition(" ")
            if cmd == "start":
                seconds, _, name = rest.partition(" ")
                deadline = time.monotonic() + float(seconds)
            else:
                name, deadline = None, None
    elif deadline is not None:
        os.write(fd, f"\nfuzz case {name} hung: still running after {float(seconds):g} s, inside compiled "
                     "code (no Python signal reached it); ending the run\n".encode())
        os.kill(parent, signal.SIGKILL)
        break
"""


def _terminal_fd(config) -> int:
    """The stderr pytest's capture saved (the terminal), else this process's."""
    capman = config.pluginmanager.getplugin("capturemanager")
    fd = getattr(getattr(getattr(capman, "_global_capturing", None), "err", None), "targetfd_save", None)
    return fd if isinstance(fd, int) else sys.__stderr__.fileno()


@pytest.fixture(scope="module")
def watchdog(request):
    import subprocess

    fd = _terminal_fd(request.config)
    proc = subprocess.Popen([sys.executable, "-S", "-c", WATCHDOG, str(os.getpid()), str(fd)],
                            stdin=subprocess.PIPE, pass_fds=(fd,))
    yield proc, fd
    proc.stdin.close()
    proc.wait()


@contextlib.contextmanager
def _time_limit(name: str, seconds: float, watchdog=None) -> Iterator[None]:
    """Fail the case ``name`` when it runs longer than ``seconds``, and end the run at
    three times that (see the module docstring); no alarm is armed off the main thread
    or where SIGALRM does not exist."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def hang(signum, frame):
        pytest.fail(f"fuzz case {name} still running after {seconds:g} s: a hang", pytrace=False)

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    if watchdog is not None:
        proc, fd = watchdog
        faulthandler.dump_traceback_later(3 * seconds, file=fd)
        proc.stdin.write(f"start {3 * seconds + 1} {name}\n".encode())
        proc.stdin.flush()
    try:
        yield
    finally:
        if watchdog is not None:
            proc.stdin.write(b"stop\n")
            proc.stdin.flush()
            faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def case_time_limit(request, watchdog):
    with _time_limit(request.node.nodeid.rsplit("::", 1)[-1], CASE_SECONDS, watchdog):
        yield


def test_a_hanging_case_fails_with_its_name():  # (its own limit disarms the fixture's: harmless here)
    with pytest.raises(pytest.fail.Exception, match=r"fuzz case test_x\[7\] still running after 0.2 s: a hang"):
        with _time_limit("test_x[7]", 0.2):
            while True:
                pass


HANG_IN_KERNEL = """
from numba import njit
from test_fuzz_readers import case_time_limit, watchdog  # the fuzz cases' limit and watchdog

@njit
def spin(n):
    x = 0
    while n >= 0:  # never ends, inside compiled code: no Python signal handler runs
        x = (x * 3 + 1) % 7
    return x

spin(-1)  # compiled here, before the case's clock starts

def test_kernel_hangs():
    spin(1)
"""


def test_a_hang_inside_compiled_code_ends_the_run_naming_the_case(tmp_path):
    import subprocess

    (tmp_path / "test_hang.py").write_text(HANG_IN_KERNEL)
    env = dict(os.environ, NEUROCOMP_FUZZ_CASE_SECONDS="0.5", PYTHONPATH=str(ROOT / "tests"))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_hang.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert ("fuzz case test_kernel_hangs hung: still running after 2.5 s, inside compiled code (no Python "
            "signal reached it); ending the run") in out.stderr, out.stderr[-2000:]
    assert "Timeout" in out.stderr and "test_hang.py" in out.stderr  # faulthandler's dump: where it was


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("flip", "cut", "repeat"))
        if not data:
            break
        i = rng.randrange(len(data))
        if kind == "flip":
            data[i] = rng.randrange(256)
        elif kind == "cut":
            del data[i:]
        else:
            j = min(len(data), i + rng.randint(1, 64))
            data[i:i] = data[i:j]
    return bytes(data)


def _mutate_text(text: str, rng: random.Random) -> str:
    import re

    numbers = list(re.finditer(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])", text))
    for _ in range(rng.randint(1, 3)):
        if numbers and rng.random() < 0.8:
            m = rng.choice(numbers)
            text = text[:m.start()] + rng.choice(EXTREMES) + text[m.end():]
            numbers = list(re.finditer(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])", text))
        else:
            text = _mutate_bytes(text.encode(), rng).decode("utf-8", "replace")
    return text


def _cases(n: int) -> list[int]:
    return list(range(n))


def _accept_or_refuse(fn, *args):
    """Call ``fn``; a NeurocompError is a refusal (fine), anything else fails the test."""
    try:
        return fn(*args)
    except NeurocompError:
        return None


# --------------------------------------------------------------------------- chip TOML


def _fuzz_chip(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / f"c{seed}.toml"
    path.write_text(_mutate_text(TINY.read_text(), rng))
    chip = _accept_or_refuse(nc.load_chip, path)
    if chip is not None:  # accepted: it must compile the chain, or refuse to
        _accept_or_refuse(lambda: nc.run(nc.compile(nc.load(CHAIN), chip=chip), steps=5))


@pytest.mark.parametrize("seed", _cases(FAST))
def test_fuzz_chip_files(tmp_path, seed):
    _fuzz_chip(tmp_path, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", _cases(SLOW))
def test_fuzz_chip_files_long(tmp_path, seed):
    _fuzz_chip(tmp_path, 10_000 + seed)


# --------------------------------------------------------------------------- .npy / .npz


def _fuzz_array_file(tmp_path: Path, seed: int) -> None:
    from neurocomp.dsl.files import FileProblem, load_array, load_npz

    rng = random.Random(seed)
    buf_path = tmp_path / "a.npz"
    if seed % 2:
        np.save(tmp_path / "a.npy", np.arange(12, dtype=np.float64).reshape(3, 4))
        buf_path = tmp_path / "a.npy"
    else:
        np.savez(buf_path, times=np.arange(5), indices=np.zeros(5, dtype=np.int64))
    buf_path.write_bytes(_mutate_bytes(buf_path.read_bytes(), rng))
    for reader in (load_array, load_npz):
        try:
            got = reader(buf_path.name, tmp_path)
        except (FileProblem, NeurocompError):
            continue
        arrays = got.values() if isinstance(got, dict) else [got]
        for a in arrays:  # accepted: real numbers, finite where float
            assert a.dtype.kind in "biufSU" or a.dtype.names is not None
            if a.dtype.kind == "f":
                assert np.all(np.isfinite(a))


@pytest.mark.parametrize("seed", _cases(FAST))
def test_fuzz_array_files(tmp_path, seed):
    _fuzz_array_file(tmp_path, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", _cases(SLOW))
def test_fuzz_array_files_long(tmp_path, seed):
    _fuzz_array_file(tmp_path, 10_000 + seed)


# --------------------------------------------------------------------------- saved mappings


@pytest.fixture(scope="module")
def saved_chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_map")
    json_path, npz_path = nc.compile(nc.load(CHAIN), chip="loihi").save(folder / "m.map.json")
    return json_path.read_text(), npz_path.read_bytes()


def _fuzz_mapping(tmp_path: Path, saved, seed: int) -> None:
    from neurocomp.ir.mapping import Mapping

    rng = random.Random(seed)
    text, npz = saved
    if seed % 3 == 0:  # an array entry set to an extreme value
        path = tmp_path / "arr.npz"
        path.write_bytes(npz)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k].copy() for k in z.files}
        name = rng.choice(sorted(k for k, a in arrays.items() if a.size))
        a = arrays[name]
        info = np.finfo(a.dtype) if a.dtype.kind == "f" else np.iinfo(a.dtype)
        a[rng.randrange(a.size)] = rng.choice([info.max, info.min, -1, a.size, 0] +
                                              ([np.nan, np.inf] if a.dtype.kind == "f" else []))
        np.savez(tmp_path / "m.map.npz", **arrays)
        (tmp_path / "m.map.json").write_text(text)
    elif seed % 3 == 1:  # a number of the JSON replaced
        (tmp_path / "m.map.json").write_text(_mutate_text(text, rng))
        (tmp_path / "m.map.npz").write_bytes(npz)
    else:  # the arrays file's bytes damaged
        (tmp_path / "m.map.json").write_text(text)
        (tmp_path / "m.map.npz").write_bytes(_mutate_bytes(npz, rng))
    mapping = _accept_or_refuse(Mapping.load, tmp_path / "m.map.json")
    if mapping is not None:
        _accept_or_refuse(nc.run, mapping, 10)


@pytest.mark.parametrize("seed", _cases(FAST))
def test_fuzz_saved_mappings(tmp_path, saved_chain, seed):
    _fuzz_mapping(tmp_path, saved_chain, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", _cases(SLOW))
def test_fuzz_saved_mappings_long(tmp_path, saved_chain, seed):
    _fuzz_mapping(tmp_path, saved_chain, 10_000 + seed)


# --------------------------------------------------------------------------- NIR


@pytest.fixture(scope="module")
def chain_nir(tmp_path_factory):
    pytest.importorskip("nir")
    from neurocomp.interop.nir_export import write_nir

    return write_nir(nc.load(CHAIN), tmp_path_factory.mktemp("fuzz_nir") / "c.nir").read_bytes()


def _fuzz_nir(tmp_path: Path, data: bytes, seed: int) -> None:
    from neurocomp.interop import nir_import

    rng = random.Random(seed)
    path = tmp_path / "m.nir"
    path.write_bytes(_mutate_bytes(data, rng))
    _accept_or_refuse(nir_import.import_nir, path, 1.0)


@pytest.mark.parametrize("seed", _cases(10))
def test_fuzz_nir_files(tmp_path, chain_nir, seed):
    _fuzz_nir(tmp_path, chain_nir, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", _cases(SLOW))
def test_fuzz_nir_files_long(tmp_path, chain_nir, seed):
    _fuzz_nir(tmp_path, chain_nir, 10_000 + seed)


# --------------------------------------------------------------------------- CLI arguments

WORDS = ["check", "compile", "run", "simulate", "chips", "--chip", "loihi", "truenorth", "--chips", "--steps",
         "--batch", "--out", "-o", "--force", "--profile", "--inputs", "--strict", "0", "-1", "1e30",
         "99999999999999999999", "nan", "", "x", str(CHAIN), "/", "/proc/x", "--help"]


def _fuzz_cli(tmp_path: Path, capsys, seed: int) -> None:
    from neurocomp.cli import main

    rng = random.Random(seed)
    argv = [rng.choice(WORDS) for _ in range(rng.randint(1, 7))]
    argv = ["--help" if a == "--help" and rng.random() < 0.9 else a for a in argv if a != "--help"]
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: a usage error (2) or --help (0)
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 1, 2), (argv, code)
    assert "Traceback" not in err, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written where not asked


@pytest.mark.parametrize("seed", _cases(FAST))
def test_fuzz_cli_arguments(tmp_path, capsys, monkeypatch, seed):
    monkeypatch.chdir(tmp_path)
    _fuzz_cli(tmp_path, capsys, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", _cases(SLOW))
def test_fuzz_cli_arguments_long(tmp_path, capsys, monkeypatch, seed):
    monkeypatch.chdir(tmp_path)
    _fuzz_cli(tmp_path, capsys, 10_000 + seed)
