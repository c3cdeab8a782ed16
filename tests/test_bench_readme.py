"""benchmarks/run_all.py: the README's commands and tagged figures, the check of a run's logs
against them, and the runner (with a trivial command; the benchmarks themselves never run here).

The log excerpts are lines of the quiet run the README quotes (2026-12-03); the expected figures
were read off them by eye."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module
    spec.loader.exec_module(module)
    return module


BATCH_LOG = """\
load average at start: 1.04 1.71 3.30; cores: 2
mnist_mlp on loihi, 200 samples x 100 steps, medians of 9 alternating runs, one thread each:
  batched                  0.114 s (min 0.112) =  1752.8 samples/s; 1.00x the time of 'batched'; CPU 0.114 s, 1.00x
  one by one               0.820 s (min 0.762) =   243.8 samples/s; 7.19x the time of 'batched'; CPU 0.820 s, 7.19x
  snnTorch, 1 thread       0.090 s (min 0.081) =  2210.3 samples/s; 0.79x the time of 'batched'; CPU 0.090 s, 0.79x
  results identical across neurocomp's ways (spikes, counters, traces, overflow notes); chip accuracy 0.970
"""

EMULATOR_LOG = """\
  emulator (Loihi)       loop    580.1 ms (min   464.4)   2.79e+08 syn ev/s   1.72e+08 upd/s   11.20 Hz  5 runs  [162,022,848 synops, 70,278,973 messages]
  table build (prepare)     331.6 ms (min   314.4) = 0.57x the loop
  one thread (same runs) loop    566.4 ms, build   366.6 ms: 2 threads are 0.98x (loop), 1.11x (build), 1.02x (end to end) as fast; results identical
  Brian2 cpp_standalone  loop   2589.0 ms (min  2525.9)    6.3e+07 syn ev/s   3.86e+07 upd/s   11.32 Hz  3 runs  [whole run incl. code generation and build 13.1 s]
  emulator / Brian2 synaptic events per second (loops): 4.43x; loop times: Brian2 / emulator 4.46x; with the emulator's table build counted, Brian2 loop / (build + loop) 2.84x (the goal: 3x at N = 100,000, 2 thread(s) each)
"""

PARALLEL_LOG = """\
  jobs=1: 6.40 s (load 1.25)
  jobs=2: 2.94 s (load 1.31)
validate mnist_mlp on loihi, 2000 samples (the 200 bundled images x 10, each sample its own spikes) x 100 steps, medians of 5:
  jobs=1: 5.68 s = 352.1 samples/s
  jobs=2: 3.28 s = 610.6 samples/s
  speed-up 1.73x; reports identical: True; accuracy float 0.970, chip 0.969
  implied on a quiet box (that CPU spread evenly over 2 cores): 1.76x; with the workers' chunks as fast per sample as jobs=1's: 1.90x
"""


@pytest.mark.parametrize("script, text, name, expected", [
    ("bench_batch.py", BATCH_LOG, "batched", 1752.8),
    ("bench_batch.py", BATCH_LOG, "one_by_one", 243.8),
    ("bench_batch.py", BATCH_LOG, "one_by_one_x", 7.19),
    ("bench_batch.py", BATCH_LOG, "snntorch", 2210.3),
    ("bench_batch.py", BATCH_LOG, "snntorch_x", 0.79),
    ("bench_batch.py", BATCH_LOG, "accuracy", 0.970),
    ("bench_emulator.py", EMULATOR_LOG, "loop_ms", 580.1),
    ("bench_emulator.py", EMULATOR_LOG, "syn_ev_s", 2.79e8),
    ("bench_emulator.py", EMULATOR_LOG, "build_ms", 331.6),
    ("bench_emulator.py", EMULATOR_LOG, "build_x", 0.57),
    ("bench_emulator.py", EMULATOR_LOG, "one_thread_loop_ms", 566.4),
    ("bench_emulator.py", EMULATOR_LOG, "one_thread_build_ms", 366.6),
    ("bench_emulator.py", EMULATOR_LOG, "threads_loop_x", 0.98),
    ("bench_emulator.py", EMULATOR_LOG, "brian_ms", 2589.0),
    ("bench_emulator.py", EMULATOR_LOG, "brian_whole_s", 13.1),
    ("bench_emulator.py", EMULATOR_LOG, "loops_x", 4.46),
    ("bench_emulator.py", EMULATOR_LOG, "end_to_end_x", 2.84),
    # the per-run lines "jobs=1: 6.40 s (load ...)" come first and are not the median
    ("bench_parallel.py", PARALLEL_LOG, "jobs1", 352.1),
    ("bench_parallel.py", PARALLEL_LOG, "jobs2", 610.6),
    ("bench_parallel.py", PARALLEL_LOG, "speedup", 1.73),
    ("bench_parallel.py", PARALLEL_LOG, "implied", 1.76),
])
def test_figures_are_read_off_the_scripts_output(run_all, script, text, name, expected):
    assert run_all.figure(text, script, name) == pytest.approx(expected)


def test_a_figure_missing_from_the_output_is_none_and_an_unknown_one_an_error(run_all):
    assert run_all.figure(PARALLEL_LOG, "bench_parallel.py", "snntorch") is None
    with pytest.raises(KeyError, match="no figure 'nope'"):
        run_all.figure(BATCH_LOG, "bench_batch.py", "nope")


README = """\
# B

```sh
python benchmarks/run_all.py list
```

```benchmarks
# a comment
batch: python benchmarks/bench_batch.py --torch-python $TORCH_PY --runs 9
emu: python benchmarks/bench_emulator.py --sizes 100k
```

| way | samples/s | x (goal 1x) |
|---|---|---|
| batched, 200 samples | 1,753<!--batch:batched--> | **0.79x**<!--batch:snntorch_x--> |
| one by one | 244<!-- batch:one_by_one --> | 7 `--runs 9` |

Prose: 3.2e8<!--emu:syn_ev_s--> events/s, 580<!--emu:loop_ms--> ms.
"""


def test_commands_come_from_the_benchmarks_blocks_only(run_all):
    got = run_all.commands(README)
    assert [(c.name, c.script, c.line) for c in got] == [("batch", "bench_batch.py", 9), ("emu", "bench_emulator.py", 10)]
    assert got[0].argv == ("python", "benchmarks/bench_batch.py", "--torch-python", "$TORCH_PY", "--runs", "9")
    argv = run_all.expand(got[0].argv, {"TORCH_PY": "/venv/bin/python"})
    assert argv == [sys.executable, "benchmarks/bench_batch.py", "--torch-python", "/venv/bin/python", "--runs", "9"]
    assert run_all.expand(got[0].argv, {})[3] == run_all.PEERS["TORCH_PY"]


@pytest.mark.parametrize("line, message", [
    ("python benchmarks/bench_batch.py", "line 2: expected 'NAME: python"),
    ("batch: python a.py\nbatch: python b.py", "line 3: the log name 'batch' is used twice"),
])
def test_a_bad_command_line_is_named(run_all, line, message):
    with pytest.raises(SystemExit, match=message):
        run_all.commands(f"```benchmarks\n{line}\n```\n")


def test_tagged_figures_and_untagged_numbers(run_all):
    got = [(q.log, q.figure, q.value, q.line) for q in run_all.quotes(README)]
    assert got == [("batch", "batched", 1753.0, 15), ("batch", "snntorch_x", 0.79, 15),
                   ("batch", "one_by_one", 244.0, 16), ("emu", "syn_ev_s", 3.2e8, 18), ("emu", "loop_ms", 580.0, 18)]
    # the header, the first (label) cell, code spans and tagged numbers are not listed
    assert run_all.untagged(README) == [(16, "7")]


def test_check_says_which_figures_a_run_reproduces_within_20_percent(run_all, tmp_path):
    (tmp_path / "batch.log").write_text(BATCH_LOG.replace("2210.3 samples/s; 0.79x", "2210.3 samples/s; 0.99x"))
    # the README's 580 ms against a run's 700 ms: |580 - 700| = 120 <= 0.2 * 700; 3.2e8 / 2.79e8 = 1.15
    (tmp_path / "emu.log").write_text(EMULATOR_LOG.replace("580.1 ms", "700.0 ms"))
    good, bad = run_all.check(README, tmp_path)
    assert [g.split(" (")[1].split(")")[0] for g in good] == [
        "batch:batched", "batch:one_by_one", "emu:syn_ev_s", "emu:loop_ms"]
    assert "README line 18: 580 (emu:loop_ms): run 700, 0.83x" in good[-1]
    assert bad == ["README line 15: 0.79x (batch:snntorch_x): run 0.99, 0.80x (beyond 20%)",
                   "README line 16: 7 has no tag (not checked)"]


def test_within_is_relative_to_the_run(run_all):
    assert run_all.within(1.2, 1.0) and run_all.within(0.8, 1.0)
    assert not run_all.within(1.21, 1.0) and not run_all.within(0.79, 1.0)


def test_check_lists_missing_logs_and_figures_and_not_quiet_runs(run_all, tmp_path):
    (tmp_path / "emu.log").write_text("# run_all emu: ...\n# commit x, load 5.0 NOT QUIET (still >= 1.5 after 0 s)\n"
                                      + EMULATOR_LOG.replace("580.1 ms", "570.0 ms").replace("2.79e+08 syn ev/s", "syn ev/s"))
    good, bad = run_all.check(README, tmp_path)
    assert good == []
    text = "\n".join(bad)
    assert text.count("no log") == 3  # the three batch figures
    assert "(emu:syn_ev_s): not found in emu.log" in text
    assert "(emu:loop_ms): run 570, 1.02x, but emu.log was not run on a quiet box" in text


def test_every_figure_the_readme_quotes_is_tagged_and_readable(run_all):
    """The real README: each tag names a command of a benchmarks block and a figure its script
    prints; each command runs a script that exists; no number in a table goes unchecked."""
    text = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    listed = {c.name: c.script for c in run_all.commands(text)}
    assert all((ROOT / "benchmarks" / script).is_file() for script in listed.values())
    quoted = run_all.quotes(text)
    assert quoted
    for q in quoted:
        assert q.figure in run_all.FIGURES[listed[q.log]], q
    assert run_all.untagged(text) == []


def test_run_waits_for_quiet_and_writes_one_log_per_command(run_all, tmp_path):
    cmd = [run_all.Command("hello", ("python", "-c", "print('jobs=1: 1.0 s = 5.0 samples/s')"), 1),
           run_all.Command("fails", ("python", "-c", "import sys; sys.exit(3)"), 2)]
    assert run_all.run(cmd, tmp_path / "logs", below=1e6, max_wait=0, settle=0, dry_run=False) == 1
    hello = (tmp_path / "logs" / "hello.log").read_text()
    assert "jobs=1: 1.0 s = 5.0 samples/s\n" in hello and hello.rstrip().splitlines()[-1].startswith("# exit 0, wall")
    assert "NOT QUIET" not in hello
    assert "# exit 3" in (tmp_path / "logs" / "fails.log").read_text()
    # a load average can never be below 0: the runner gives up waiting and says so
    assert run_all.run(cmd[:1], tmp_path / "noisy", below=0, max_wait=0, settle=0, dry_run=False) == 0
    assert "NOT QUIET" in (tmp_path / "noisy" / "hello.log").read_text()
    assert run_all.run(cmd, tmp_path / "dry", below=0, max_wait=0, settle=0, dry_run=True) == 0
    assert not (tmp_path / "dry").exists()
