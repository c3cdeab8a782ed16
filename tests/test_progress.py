"""Progress callbacks: what the float reference, the emulator and the batch workflow report
while they run, and the bar the CLI draws from it on a terminal (only there).

* A run of N steps in pieces reports steps done that never go back and end at exactly
  (N, N), about ``CHUNKS`` times; cutting the run into pieces changes no spike, trace or
  counter (compared with the same run in one piece).
* A batch of S samples reports S samples done, one sample at a time.
* ``simulate`` draws a bar (a rate and a time left) on a terminal, and writes the same
  bytes as before on a pipe or under ``-q``.
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


@pytest.mark.parametrize("example", ["busy", "examples/encoders.snn"])
def test_loihi_emulation_reports_every_step_and_changes_nothing(example: str, busy) -> None:
    net = busy if example == "busy" else load(example)
    mapping = compile_network(net, load_chip("loihi"))
    steps = 300
    seen, progress = recorder()
    pieces = emulate(mapping, steps, progress=progress)
    whole = emulate(mapping, steps)
    check_steps(seen, steps)
    assert len(seen) >= steps // chunk_of(steps)  # in pieces, not once at the end
    assert sum(s.times.size for s in whole.spikes.values()) > 0
    for name in whole.spikes:
        assert np.array_equal(pieces.spikes[name].times, whole.spikes[name].times), name
        assert np.array_equal(pieces.spikes[name].indices, whole.spikes[name].indices), name
    from neurocomp.ir.result import Counters

    for field in Counters.FIELDS:
        assert np.array_equal(getattr(pieces.counters, field), getattr(whole.counters, field)), field


def test_a_kernel_in_one_piece_reports_the_end() -> None:
    # TrueNorth's kernel runs every tick in one call: the emulator says (N, N) once
    net = load("examples/chain.snn")
    mapping = compile_network(net, load_chip("truenorth"))
    seen, progress = recorder()
    emulate(mapping, 20, progress=progress)
    assert seen == [(20, 20)]


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


def test_simulate_draws_a_bar_on_a_terminal_only(monkeypatch) -> None:
    argv = ["simulate", BRUNEL, "--steps", "400"]
    code, out_pipe, err_pipe = run_cli(argv, monkeypatch, tty=False)
    assert code == 0 and err_pipe == ""
    code, out_tty, err_tty = run_cli(argv, monkeypatch, tty=True)
    assert code == 0
    assert "simulating" in err_tty and "400/400" in err_tty and "steps/s" in err_tty
    assert "0:00:00" in err_tty or "-:--:--" in err_tty  # the time left column
    assert "simulating" not in out_tty
    code, _, err_quiet = run_cli([*argv, "-q"], monkeypatch, tty=True)
    assert code == 0 and err_quiet == ""


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
