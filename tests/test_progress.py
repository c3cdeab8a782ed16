"""Progress callbacks: what the float reference, the emulator and the batch workflow report
while they run, and the bar the CLI draws from it on a terminal (only there).

* A run of N steps in pieces reports steps done that never go back and end at exactly
  (N, N), about ``CHUNKS`` times; cutting the run into pieces changes no spike (nor its
  value), trace or counter, nor where strict mode stops (compared with the same run in
  one piece), on every chip family (Loihi, TrueNorth with its random generators, Akida
  with valued events), through ``nc.run`` and ``nc.simulate`` too.
* A batch of S samples reports S samples done, one sample at a time.
* ``simulate``, ``run``, ``compile`` and ``compare`` draw bars (a rate and a time left,
  or the pass that runs) on a terminal, and write the same bytes as before on a pipe or
  under ``-q``.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.compiler.pipeline import compile_network
from neurocomp.emulator.kernels import CHUNKS, chunk_of
from neurocomp.emulator.reference import simulate
from neurocomp.emulator.run import emulate
from neurocomp.ir.build import load

BRUNEL = "examples/brunel.snn"


def recorder() -> tuple[list[tuple[int, int]], object]:
    seen: list[tuple[int, int]] = []
    return seen, lambda done, total: seen.append((done, total))


def check_steps(seen: list[tuple[int, int]], steps: int) -> None:
    """Never backwards, always out of ``steps``, last exactly ``steps``."""
    assert seen, "no progress was reported"
    assert all(total == steps for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and 0 < done[0] and done[-1] == steps
    assert done.count(steps) == 1  # said once, at the end


def test_chunk_sizes() -> None:
    # ceil(steps / CHUNKS), at least 1: 20000 steps in 100 pieces of 200; 7 steps in 7 of 1
    assert CHUNKS == 100
    assert chunk_of(20_000) == 200 and chunk_of(20_001) == 201 and chunk_of(7) == 1 and chunk_of(0) == 1


@pytest.mark.parametrize("steps", [1, 7, 250, 1001])
def test_reference_reports_every_step_and_changes_nothing(steps: int) -> None:
    net = load(BRUNEL)
    seen, progress = recorder()
    pieces = simulate(net, steps, progress=progress)
    whole = simulate(net, steps)
    check_steps(seen, steps)
    # one call per piece of ceil(steps / 100) steps (the spike buffer may add a repeat)
    assert len(seen) >= -(-steps // chunk_of(steps))
    for name in whole.spikes:
        assert np.array_equal(pieces.spikes[name].times, whole.spikes[name].times), name
        assert np.array_equal(pieces.spikes[name].indices, whole.spikes[name].indices), name
    assert pieces.synaptic_events == whole.synaptic_events
    assert sum(s.times.size for s in whole.spikes.values()) > 0


@pytest.fixture
def busy(tmp_path):
    """300 neurons that fire at every step (bias above threshold): the first spike buffers
    (the reference's max(1024, 4n), Loihi's max(1024, 2n)) fill within a few steps, so a
    run in pieces must grow them between pieces."""
    path = tmp_path / "busy.snn"
    path.write_text("network busy\npopulation a[300] : LIF(beta = 0.5, threshold = 0.5, bias = 1, reset = zero)\n"
                    "probe a : spikes\n")
    return load(path)


def test_reference_spike_buffer_grows_between_pieces(busy) -> None:
    seen, progress = recorder()
    r = simulate(busy, 50, progress=progress)
    check_steps(seen, 50)
    assert r.spikes["a"].times.size == 300 * 50


def same_run(pieces, whole) -> None:
    """Equal spikes (and their values), traces and every counter of two runs."""
    from neurocomp.ir.result import Counters

    assert sum(s.times.size for s in whole.spikes.values()) > 0
    assert pieces.spikes.keys() == whole.spikes.keys()
    for name, s in whole.spikes.items():
        p = pieces.spikes[name]
        assert np.array_equal(p.times, s.times) and np.array_equal(p.indices, s.indices), name
        assert (p.values is None) == (s.values is None) and (s.values is None or np.array_equal(p.values, s.values))
    assert pieces.traces.keys() == whole.traces.keys()
    for name, traces in whole.traces.items():
        for var, trace in traces.items():
            assert np.array_equal(pieces.traces[name][var], trace), (name, var)
    for field in Counters.FIELDS:
        assert np.array_equal(getattr(pieces.counters, field), getattr(whole.counters, field)), field


def emulated_in_pieces(mapping, steps: int, **kwargs):
    """The run with a progress callback (in pieces) and without (in one piece), checking
    what the callback saw."""
    seen, progress = recorder()
    pieces = emulate(mapping, steps, progress=progress, **kwargs)
    whole = emulate(mapping, steps, **kwargs)
    check_steps(seen, steps)
    assert len(seen) >= steps // chunk_of(steps)  # in pieces, not once at the end
    same_run(pieces, whole)
    return whole


@pytest.mark.parametrize("example", ["busy", "examples/encoders.snn"])
def test_loihi_emulation_reports_every_step_and_changes_nothing(example: str, busy) -> None:
    net = busy if example == "busy" else load(example)
    emulated_in_pieces(compile_network(net, load_chip("loihi")), 300)


@pytest.fixture
def stochastic(tmp_path):
    """TrueNorth neurons with a random threshold (alpha + a draw of 4 bits) driven by a
    rate input: the spikes depend on every core's generator, which must carry over from
    one piece to the next. About 56 spikes a tick: 1,500 ticks outgrow the first spike
    buffer (whatever room run_resumable starts with, at most 65,536 events), so it grows
    between pieces."""
    path = tmp_path / "s.snn"
    path.write_text("input x[400] : rate(value = 0.5, max_rate = 1000 Hz, seed = 3)\n"
                    "population n[400] : IF(threshold = 2) native truenorth(threshold = 3, threshold_mask = 4)\n"
                    "connect x -> n : one_to_one(weight = 1)\nprobe n : voltage\n")
    return load(path)


def test_truenorth_emulation_runs_in_pieces_and_changes_nothing(stochastic) -> None:
    mapping = compile_network(stochastic, load_chip("truenorth"))
    whole = emulated_in_pieces(mapping, 1500, seed=5)
    assert whole.spikes["n"].count > 1 << 16  # the buffer grew, between pieces
    assert "voltage" in whole.traces["n"]


def test_akida_emulation_runs_in_pieces_and_changes_nothing() -> None:
    # every step is a frame of the same digit: conv1's 512 neurons send valued events
    # every step, so the first buffers (max(1024, 2n)) grow between pieces
    mapping = compile_network(load("examples/digits_cnn_akida.snn"), load_chip("akida"))
    whole = emulated_in_pieces(mapping, 120, probes={"out": ("voltage",)})
    assert whole.spikes["conv1"].values is not None and whole.spikes["conv1"].count > 1024
    assert np.abs(whole.traces["out"]["voltage"]).sum() > 0


def test_strict_mode_stops_at_the_same_step_in_pieces() -> None:
    # Akida with a 12-bit potential: conv1 saturates; strict mode stops a run in pieces
    # at the same step and compartment as in one piece, and says nothing after the stop
    from neurocomp.chip.spec import StateVar
    from neurocomp.diagnostics import EmulationError

    akida = load_chip("akida")
    num = akida.numerics.model_copy(update={"state": {"v": StateVar(bits=12, overflow="saturate")}})
    mapping = compile_network(load("examples/digits_cnn_akida.snn"), akida.model_copy(update={"numerics": num}))
    with pytest.raises(EmulationError) as whole:
        emulate(mapping, 200, strict=True)
    seen, progress = recorder()
    with pytest.raises(EmulationError) as pieces:
        emulate(mapping, 200, strict=True, progress=progress)
    assert str(pieces.value) == str(whole.value) and whole.value.step < 200
    assert seen and all(done <= whole.value.step + 1 for done, _ in seen)


@pytest.mark.parametrize("chip", ["loihi", "truenorth"])
def test_api_run_takes_progress_and_changes_nothing(chip: str) -> None:
    import neurocomp as nc

    net = load("examples/encoders.snn" if chip == "loihi" else "examples/chain.snn")
    mapping = compile_network(net, load_chip(chip))  # no quantization warning
    seen, progress = recorder()
    pieces = nc.run(mapping, steps=200, progress=progress)
    check_steps(seen, 200)
    # 100 pieces of 2 steps (a piece cut short by a full spike buffer says its step twice)
    assert sorted(set(d for d, _ in seen)) == list(range(2, 201, 2))
    same_run(pieces, nc.run(mapping, steps=200))


def test_api_simulate_takes_progress_and_a_path() -> None:
    import neurocomp as nc

    seen, progress = recorder()
    pieces = nc.simulate(BRUNEL, 333, progress=progress)
    check_steps(seen, 333)
    whole = nc.simulate(BRUNEL, 333)
    for name, s in whole.spikes.items():
        assert np.array_equal(pieces.spikes[name].times, s.times) and \
            np.array_equal(pieces.spikes[name].indices, s.indices), name


def test_batch_reports_samples_done() -> None:
    from neurocomp.workflows.batch import emulate_samples

    net = load("examples/chain.snn")
    mapping = compile_network(net, load_chip("loihi"))
    seen, progress = recorder()
    batch = emulate_samples(mapping, 20, [None] * 5, jobs=1, progress=progress)
    assert len(batch) == 5
    assert seen[-1] == (5, 5) and [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- the CLI ------------------------------------------------------------------------------


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run_cli(argv: list[str], monkeypatch, *, tty: bool) -> tuple[int, str, str]:
    from neurocomp.cli import main

    out, err = (Terminal(), Terminal()) if tty else (io.StringIO(), io.StringIO())
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("TERM", raising=False)
    code = main(argv)
    return code, out.getvalue(), err.getvalue()


def rate_bar_on_a_terminal_only(argv: list[str], monkeypatch, label: str, done: str, unit: str) -> None:
    """The command draws ``label``, ``done`` (e.g. ``3/3``), a rate in ``unit`` and a time
    left on a terminal; nothing on stderr in a pipe, nor under ``-q``."""
    code, out_pipe, err_pipe = run_cli(argv, monkeypatch, tty=False)
    assert code == 0 and err_pipe == ""
    code, out_tty, err_tty = run_cli(argv, monkeypatch, tty=True)
    assert code == 0
    assert label in err_tty and done in err_tty and f"{unit}/s" in err_tty
    assert "0:00:00" in err_tty or "-:--:--" in err_tty  # the time left column
    assert label not in out_tty
    code, _, err_quiet = run_cli([*argv, "-q"], monkeypatch, tty=True)
    assert code == 0 and err_quiet == ""


def test_simulate_draws_a_bar_on_a_terminal_only(monkeypatch) -> None:
    rate_bar_on_a_terminal_only(["simulate", BRUNEL, "--steps", "400"], monkeypatch, "simulating", "400/400", "steps")


def test_compile_names_each_pass_on_a_terminal_only(monkeypatch) -> None:
    from neurocomp.compiler.pipeline import PASS_NAMES

    argv = ["compile", "examples/chain.snn", "--chip", "loihi"]
    code, out_pipe, err_pipe = run_cli(argv, monkeypatch, tty=False)
    assert code == 0 and "compiling:" not in err_pipe
    code, out_tty, err_tty = run_cli(argv, monkeypatch, tty=True)
    assert code == 0
    assert "compiling:" in err_tty and f"{len(PASS_NAMES)}/{len(PASS_NAMES)}" in err_tty
    assert "compiling:" not in out_tty


def test_run_draws_compile_and_emulation_bars(monkeypatch) -> None:
    argv = ["run", "examples/chain.snn", "--chip", "loihi", "--steps", "300"]
    code, out_pipe, _ = run_cli(argv, monkeypatch, tty=False)
    assert code == 0
    code, out_tty, err_tty = run_cli(argv, monkeypatch, tty=True)
    assert code == 0
    assert "compiling:" in err_tty and "emulating" in err_tty and "300/300" in err_tty
    code, _, err_quiet = run_cli([*argv, "-q"], monkeypatch, tty=True)
    assert code == 0 and "emulating" not in err_quiet and "compiling" not in err_quiet


def test_compare_draws_a_bar_with_a_rate_on_a_terminal_only(monkeypatch) -> None:
    # the float reference and two chips: 3 done
    argv = ["compare", "examples/chain.snn", "--chips", "loihi,truenorth", "--steps", "20", "--jobs", "1"]
    rate_bar_on_a_terminal_only(argv, monkeypatch, "comparing:", "3/3", "chips")


@pytest.mark.parametrize("speed, text", [(None, "- chips/s"), (0.0, "- chips/s"), (0.25, "0.25 chips/s"),
                                         (0.013, "0.013 chips/s"), (2.56, "2.6 chips/s"),
                                         (4012.4, "4,012 chips/s")])
def test_a_slow_rate_keeps_two_digits(speed, text) -> None:
    from neurocomp.cli.common import rate_text

    assert rate_text(speed, "chips") == text


# -- Ctrl-C that does not surface as a KeyboardInterrupt ----------------------------------

SPIN = """
import os, signal, sys, threading
import numpy as np
from numba import njit
import neurocomp.cli.simulate as command
from neurocomp.cli import main

@njit(nogil=True)  # lets the timer thread send the signal while it runs
def spin(n):
    x = 0.0
    for i in range(n):
        x += np.sqrt(i)
    out = np.full(3, x)
    return out[:2].copy(), out.copy(), 5  # as the kernels do; boxing it runs Python code, where
                                          # the pending SIGINT fires

spin(10)

def handler(args):
    threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
    spin(300_000_000)  # about a second, past the signal
    print("not interrupted")
    return 0

command.simulate = handler
sys.exit(main(["simulate", "examples/chain.snn", "--steps", "1"]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a process needs POSIX")
def test_ctrl_c_inside_compiled_code_exits_130_without_a_traceback() -> None:
    # SIGINT while an njit function runs is handled when it boxes the array it returns,
    # inside Numba's Python helper: it surfaces as a SystemError, not a KeyboardInterrupt
    import signal
    import subprocess
    from pathlib import Path

    root = Path(__file__).parent.parent
    proc = subprocess.run([sys.executable, "-c", SPIN], cwd=root, capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stderr == "interrupted\n" and proc.returncode == 130, (proc.returncode, proc.stderr[-2000:])
    assert "not interrupted" not in proc.stdout


def test_ctrl_c_is_remembered_and_its_ignored_echoes_are_not_printed(capsys) -> None:
    import signal

    from neurocomp.cli.common import ctrl_c

    # Python's own handler, as in a terminal (a shell's background job ignores SIGINT)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        check_ctrl_c(capsys)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ignored: left ignored
        with ctrl_c() as pressed:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and not pressed()
    finally:
        signal.signal(signal.SIGINT, outer)


def check_ctrl_c(capsys) -> None:
    import os
    import signal

    from neurocomp.cli.common import ctrl_c

    before = signal.getsignal(signal.SIGINT)
    hook = sys.unraisablehook
    with pytest.raises(KeyboardInterrupt), ctrl_c() as pressed:  # raised as the block ends
        assert not pressed()
        with pytest.raises(RuntimeError):  # a library turns the interrupt into its own error
            try:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):  # the handler runs between bytecodes
                    pass
            except KeyboardInterrupt:
                raise RuntimeError("no compiled object yet") from None
        assert pressed()
        # what ctypes does with an exception raised in a callback: nothing is printed
        sys.unraisablehook(type("Info", (), {"exc_type": KeyboardInterrupt, "exc_value": KeyboardInterrupt(),
                                              "exc_traceback": None, "err_msg": "ignored", "object": None})())
    # a KeyboardInterrupt that Python dropped (raised in a __del__) still ends the command
    class Swallows:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs here; Python drops what __del__ raises
                pass

    try:
        with pytest.raises(KeyboardInterrupt), ctrl_c() as pressed:
            Swallows()
            assert pressed()  # and the block went on
        # nor what fails as the interrupted process exits (llvmlite's half-made objects)
        sys.unraisablehook(type("Info", (), {"exc_type": AttributeError, "exc_value": AttributeError("x"),
                                              "exc_traceback": None, "err_msg": "ignored", "object": None})())
        assert capsys.readouterr().err == ""
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        sys.unraisablehook = hook
    with ctrl_c() as pressed:  # not pressed: everything as it was
        pass
    assert not pressed() and sys.unraisablehook is hook and signal.getsignal(signal.SIGINT) is before
