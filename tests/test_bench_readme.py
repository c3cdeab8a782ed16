"""benchmarks/run_all.py: the README's commands and tagged figures, the check of a run's logs
against them, and the runner (with a trivial command; the benchmarks themselves never run here).

The log excerpts are lines of quiet runs of 2026-12-03 (the ones added for the newer figures are
from the run the README quotes, 19:46-20:11 UTC); the expected figures were read off them by eye."""

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

# Lines of the quiet run of 2026-12-03 19:46-20:11 UTC for the figures added with it.
EMULATOR_E2E_LOG = """\
  Brian2 synapse build      354.7 ms (min   349.7) in its binary before the loop (CPU time as its loop's; connect from arrays and weights 262.6 ms, then spike queues and the other before-run steps); not counted: reading its saved arrays in brian_start() 180.1 ms
  end to end, each side's (build + loop): emulator 1084.1 ms, Brian2 2334.8 ms: 2.15x (the goal: 3x at N = 100,000, 1 thread(s) each)
"""

COMPILE_LOG = """\
big: 1,000,000 neurons, 100,000,000 synapses on loihi x 16 chips (1 run(s), medians)
  partition 9.61 s (1 pass(es)), place 0.21 s, route 11.13 s: total 20.95 s (target <= 60 s)
  peak memory 1.62 GiB above the network (target <= 8 GiB); the Mapping's arrays 1.00 GiB
  peer: scipy.sparse CSR -> CSC of the same synapses 0.69 s; compile / peer = 30.5x
  order/strategy                    cores   cut routes    of routes   slices passes  wall s   CPU s  auto tries it
  natural/sequential                  150      296,451      396,451      150      1    0.68    0.67  yes
  natural/auto (kept sequential)      150      296,451      396,451      150      1    1.22    1.22  yes
  natural/  in auto: sequential                                                        0.30    0.30
  natural/peer: scipy RCM                                                              0.30    0.30
  shuffled/sequential               2,449    9,797,349    9,806,036    2,449      3    5.05    4.63  yes
  shuffled/bfs                        150      299,653      399,651   99,315      1    1.75    1.75  yes
  shuffled/auto (kept bfs)            150      299,653      399,651   99,315      1    1.71    1.71  yes
  shuffled/  in auto: sequential (stopped)                                                     0.03    0.03
  shuffled/  in auto: bfs                                                              1.23    1.23
"""

PREPARE_LOG = """\
N = 10,000: 1,249,181 synapses, 10 cores, 135,710 axons
  prepare now           0.012 s wall (min 0.010), 0.015 s CPU  = 0.30x the loop in wall time, 0.36x in CPU time
  prepare before        0.085 s wall (min 0.081), 0.085 s CPU  = 2.16x the loop in wall time, 2.05x in CPU time
  now 7.3x faster than 434b438 in wall time, 5.6x in CPU time (tables identical)
  peak allocations during prepare: now 19 MB, before 128 MB

N = 100,000: 12,495,428 synapses, 98 cores, 7,842,401 axons
  prepare now           0.366 s wall (min 0.279), 0.476 s CPU  = 0.59x the loop in wall time, 0.53x in CPU time
  prepare before        7.662 s wall (min 5.885), 7.027 s CPU  = 12.30x the loop in wall time, 7.88x in CPU time
  now 20.9x faster than 434b438 in wall time, 14.8x in CPU time (tables identical)
  peak allocations during prepare: now 335 MB, before 1809 MB
"""

REFERENCE_LOG = """\
JIT: first simulate() call costs 6.28 s with an empty Numba cache (compile), 0.49 s with it filled (load)
  reference  loop     101.3 ms (min 96.1)    1.6e+08 syn events/s   9.87e+07 neuron upd/s  | whole simulate() 119 ms  | 7 runs
  scipy peer loop    1873.5 ms (min 1833.7)   8.67e+06 syn events/s   5.34e+06 neuron upd/s  | 3 runs
  spikes per neuron identical to the reference: yes; reference is 18.5x faster than the peer
"""

LOWER_LOG = """\
small  neurocomp (uniform)    5   9.998e+06     0.478  2.09e+07       115      115     1.00
small  scipy                  5       1e+07     2.399  4.17e+06       305      115     2.66
small  neurocomp vs scipy: 5.0x the synapses/s, 0.38x the peak/CSR
big    neurocomp (uniform)    3       1e+08     4.389  2.28e+07      1152     1152     1.00
big    scipy                  3       1e+08    37.476  2.67e+06      3052     1148     2.66
big    neurocomp vs scipy: 8.5x the synapses/s, 0.38x the peak/CSR
"""

SANAFE_LOG = """\
mnist | 2 on 1 tiles | 321 / 321 (same per step) | 1.09 µJ | 1.09 µJ | +0.00 % | 80.12 µs | 78.91 µs | 1.02 | 0.132 s | 2.149 s | 16.3x | 2.9 ms | 1488.7 ms | 504.7x
conv | 3 on 1 tiles | 10,314 / 10,314 (same per step) | 530.5 nJ | 529.5 nJ | +0.19 % | 52.04 µs | 33.27 µs | 1.56 | 0.600 s | 1.312 s | 2.2x | 3.5 ms | 1030.2 ms | 298.3x
"""

AKIDA_LOG = """\
  akida engine forward        0.0144 ms/frame
  neurocomp emulate           0.1016 ms/frame  (7.06x the engine)
  neurocomp kernel loop       0.0828 ms/frame  (5.76x the engine)
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
    ("bench_emulator.py", EMULATOR_E2E_LOG, "brian_build_ms", 354.7),
    ("bench_emulator.py", EMULATOR_E2E_LOG, "e2e_emulator_ms", 1084.1),
    ("bench_emulator.py", EMULATOR_E2E_LOG, "e2e_brian_ms", 2334.8),
    ("bench_emulator.py", EMULATOR_E2E_LOG, "e2e_x", 2.15),
    ("bench_compile.py", COMPILE_LOG, "big_partition_s", 9.61),
    ("bench_compile.py", COMPILE_LOG, "big_route_s", 11.13),
    ("bench_compile.py", COMPILE_LOG, "big_total_s", 20.95),
    ("bench_compile.py", COMPILE_LOG, "big_peak_gib", 1.62),
    ("bench_compile.py", COMPILE_LOG, "big_peer_s", 0.69),
    ("bench_compile.py", COMPILE_LOG, "big_peer_x", 30.5),
    ("bench_compile.py", COMPILE_LOG, "natural_sequential_s", 0.68),
    ("bench_compile.py", COMPILE_LOG, "natural_auto_s", 1.22),
    ("bench_compile.py", COMPILE_LOG, "natural_in_auto_sequential_s", 0.30),
    ("bench_compile.py", COMPILE_LOG, "natural_rcm_s", 0.30),
    ("bench_compile.py", COMPILE_LOG, "shuffled_sequential_s", 5.05),
    ("bench_compile.py", COMPILE_LOG, "shuffled_bfs_s", 1.75),
    ("bench_compile.py", COMPILE_LOG, "shuffled_auto_s", 1.71),
    # "(stopped)" after the name; the CPU column follows the wall one
    ("bench_compile.py", COMPILE_LOG, "shuffled_in_auto_sequential_s", 0.03),
    ("bench_compile.py", COMPILE_LOG, "shuffled_in_auto_bfs_s", 1.23),
    # the N = 100,000 block, not the 10k one before it
    ("bench_prepare.py", PREPARE_LOG, "now_s", 0.366),
    ("bench_prepare.py", PREPARE_LOG, "before_s", 7.662),
    ("bench_prepare.py", PREPARE_LOG, "loop_x", 0.59),
    ("bench_prepare.py", PREPARE_LOG, "faster_x", 20.9),
    ("bench_prepare.py", PREPARE_LOG, "peak_mb", 335),
    ("bench_prepare.py", PREPARE_LOG, "peak_before_mb", 1809),
    ("bench_reference.py", REFERENCE_LOG, "loop_ms", 101.3),
    ("bench_reference.py", REFERENCE_LOG, "peer_ms", 1873.5),
    ("bench_reference.py", REFERENCE_LOG, "peer_x", 18.5),
    ("bench_reference.py", REFERENCE_LOG, "jit_cold_s", 6.28),
    ("bench_lower.py", LOWER_LOG, "small_s", 0.478),
    ("bench_lower.py", LOWER_LOG, "small_scipy_s", 2.399),
    ("bench_lower.py", LOWER_LOG, "small_x", 5.0),
    ("bench_lower.py", LOWER_LOG, "big_s", 4.389),
    ("bench_lower.py", LOWER_LOG, "big_scipy_s", 37.476),
    ("bench_lower.py", LOWER_LOG, "big_x", 8.5),
    ("bench_lower.py", LOWER_LOG, "big_peak_x", 0.38),
    ("bench_sanafe.py", SANAFE_LOG, "mnist_energy_nc", 1.09),
    ("bench_sanafe.py", SANAFE_LOG, "conv_energy_sanafe", 529.5),
    ("bench_sanafe.py", SANAFE_LOG, "conv_latency_x", 1.56),
    ("bench_sanafe.py", SANAFE_LOG, "mnist_wall_x", 16.3),
    ("bench_sanafe.py", SANAFE_LOG, "mnist_estimate_x", 504.7),
    ("bench_akida_vendor.py", AKIDA_LOG, "engine_ms", 0.0144),
    ("bench_akida_vendor.py", AKIDA_LOG, "emulate_ms", 0.1016),
    ("bench_akida_vendor.py", AKIDA_LOG, "emulate_x", 7.06),
    ("bench_akida_vendor.py", AKIDA_LOG, "kernel_ms", 0.0828),
    ("bench_akida_vendor.py", AKIDA_LOG, "kernel_x", 5.76),
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
