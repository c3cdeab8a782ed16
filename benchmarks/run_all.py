"""Rerun the benchmarks ``benchmarks/README.md`` quotes, and check the README against a run.

The README is the list: every fenced block whose info string is ``benchmarks`` holds lines
``NAME: python benchmarks/SCRIPT.py ARGS`` (``#`` starts a comment). ``run`` runs them one
at a time, each after the box has gone quiet (the 1-minute load average below
``--load-below``, printed), and writes each command's output to ``LOGS/NAME.log`` with a
header (command, commit, load before and after, wall time, exit status). ``$TORCH_PY``,
``$BRIAN_PY``, ``$AKIDA_PY`` and ``$SANAFE_VENV`` in a command are the peers'
interpreters (environment variables of those names, else this box's defaults below;
``LAVA_PY`` reaches ``bench_learning.py`` as ``NEUROCOMP_LAVA_PYTHON``); ``python`` is this
interpreter.

A figure the README quotes is a number followed by a tag naming where it comes from,
``0.79x<!--batch:snntorch_x-->``: log ``batch``, figure ``snntorch_x`` of that log's script
(``FIGURES`` below reads it from the output). ``check`` reads each tagged figure from a
folder of logs and says whether the run reproduces it within 20 %; a number in a README
table's value cells without a tag is listed as unchecked.

    python benchmarks/run_all.py list
    python benchmarks/run_all.py run --logs /tmp/bench-logs [--only batch startup] [--dry-run]
    python benchmarks/run_all.py check /tmp/bench-logs [--readme benchmarks/README.md]

Do not run it on a shared box: ``run`` waits for quiet (``--max-wait``, then runs anyway and
marks the log NOT QUIET).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "benchmarks" / "README.md"
TOLERANCE = 0.20

# Peers' interpreters on the project's benchmark box (override with the environment).
PEERS = {
    "TORCH_PY": "/work/venvs/snn/bin/python",
    "LAVA_PY": "/work/venvs/lava/bin/python",
    "BRIAN_PY": "/tmp/brian-venv/bin/python",
    "AKIDA_PY": "/work/venvs/akida/bin/python",
    "SANAFE_VENV": "/tmp/sanafe-venv",
}

_N = r"([\d.]+(?:e[+-]?\d+)?)"  # one figure as the scripts print it
# Per script: figure -> a pattern whose one group is the figure in that script's output.
FIGURES: dict[str, dict[str, str]] = {
    "bench_batch.py": {
        "batched": rf"batched\s+[\d.]+ s .*?= *{_N} samples/s",
        "one_by_one": rf"one by one\s+[\d.]+ s .*?= *{_N} samples/s",
        "one_by_one_x": rf"one by one\s.*?samples/s; {_N}x the time",
        "snntorch": rf"snnTorch, 1 thread\s+[\d.]+ s .*?= *{_N} samples/s",
        "snntorch_x": rf"snnTorch, 1 thread\s.*?samples/s; {_N}x the time",
        "accuracy": rf"chip accuracy {_N}",
    },
    "bench_parallel.py": {
        "jobs1": rf"^  jobs=1: [\d.]+ s = {_N} samples/s",
        "jobs2": rf"^  jobs=2: [\d.]+ s = {_N} samples/s",
        "speedup": rf"speed-up {_N}x",
        "implied": rf"implied on a quiet box [^:]*: {_N}x",
        "chunk_cpu_x": rf"the workers' chunks [\d.]+ s = {_N}x jobs=1's",
        "results_back": rf"jobs=2: .*results back {_N} s",
        "snntorch": rf"snnTorch, 1 thread, batch \d+ .*= {_N} samples/s",
        "snntorch2": rf"snnTorch, 2 threads, batch \d+ .*= {_N} samples/s",
    },
    "bench_learning.py": {
        "static": rf"static\s+{_N} synaptic events/s",
        "plastic": rf"plastic\s+{_N} synaptic events/s",
        "cost_x": rf"learning costs {_N}x",
        "lava": rf"lava\s+{_N} synaptic events/s",
        "lava_x": rf"neurocomp plastic / lava: {_N}x",
    },
    "bench_emulator.py": {
        "loop_ms": rf"emulator \(Loihi\)\s+loop\s+{_N} ms",
        "syn_ev_s": rf"emulator \(Loihi\)\s+loop\s+[\d.]+ ms \(min\s+[\d.]+\)\s+{_N} syn ev/s",
        "build_ms": rf"table build \(prepare\)\s+{_N} ms",
        "build_x": rf"table build \(prepare\).*= {_N}x the loop",
        "reference_ms": rf"reference \(float64\)\s+loop\s+{_N} ms",
        "brian_ms": rf"Brian2 cpp_standalone\s+loop\s+{_N} ms",
        "brian_whole_s": rf"incl\. code generation and build {_N} s",
        "loops_x": rf"loop times: Brian2 / emulator {_N}x",
        "end_to_end_x": rf"Brian2 loop / \(build \+ loop\) {_N}x",
        "one_thread_loop_ms": rf"one thread \(same runs\) loop\s+{_N} ms",
        "one_thread_build_ms": rf"one thread \(same runs\) loop .*build\s+{_N} ms",
        "threads_loop_x": rf"threads are {_N}x \(loop\)",
        "tables_mb": rf"emulator tables \+ state {_N} MB",
        "brian_build_ms": rf"Brian2 synapse build\s+{_N} ms",
        "e2e_emulator_ms": rf"end to end, each side's \(build \+ loop\): emulator {_N} ms",
        "e2e_brian_ms": rf"end to end, each side's \(build \+ loop\): .*Brian2 {_N} ms",
        "e2e_x": rf"end to end, each side's \(build \+ loop\): .* ms: {_N}x",
    },
    "bench_first_run.py": {
        "cold_wall": rf"cold, warm-up alongside: wall\s+{_N} s",
        "cold_cpu": rf"cold, warm-up alongside: .*CPU\s+{_N} s",
        "cold_nowarmup_cpu": rf"cold, no warm-up\s*: .*CPU\s+{_N} s",
        "warm_wall": rf"^warm: wall {_N} s",
    },
    "bench_compile.py": {
        "version_s": rf"neurocomp --version\s+wall\s+{_N} s",
        "version_x": rf"neurocomp --version .*= {_N}x",
        "compile_s": rf"neurocomp compile mnist_mlp\s+wall\s+{_N} s",
        "compile_cpu_s": rf"neurocomp compile mnist_mlp .*CPU\s+{_N} s",
        "compile_x": rf"neurocomp compile mnist_mlp .*= {_N}x",
        "numba_s": rf"peer: import numba \+ its CPU target\s+wall\s+{_N} s",
        "nc_compile_s": rf"nc\.compile\(mnist_mlp\) in a process that compiled it once: {_N} s",
        # big: 1e6 neurons / 1e8 synapses on 16 chips
        "big_partition_s": rf"^  partition {_N} s",
        "big_route_s": rf"^  partition .*, route {_N} s",
        "big_total_s": rf"^  partition .*: total {_N} s",
        "big_peak_gib": rf"^  peak memory {_N} GiB above the network",
        "big_peer_s": rf"peer: scipy\.sparse CSR -> CSC of the same synapses {_N} s",
        "big_peer_x": rf"compile / peer = {_N}x",
        # partitioners: wall seconds of each row (ORDER_STRATEGY_s; in_auto_*: that part of auto's run)
        **{f"{order}_{name}_s": rf"^  {order}/{label}(?:\s+[\d,]+){{5}}\s+{_N}"
           for order in ("natural", "shuffled")
           for name, label in (("sequential", "sequential"), ("bfs", "bfs"), ("auto", r"auto \(kept \w+\)"))},
        **{f"{order}_in_auto_{name}_s": rf"^  {order}/  in auto: {name}(?: \(stopped\))?\s+{_N}"
           for order in ("natural", "shuffled") for name in ("sequential", "bfs")},
        **{f"{order}_rcm_s": rf"^  {order}/peer: scipy RCM\s+{_N}" for order in ("natural", "shuffled")},
    },
    "bench_prepare.py": {
        # the N = 100,000 block (the 10k block comes first)
        "now_s": rf"N = 100,000:(?s:.*?)prepare now\s+{_N} s wall",
        "before_s": rf"N = 100,000:(?s:.*?)prepare before\s+{_N} s wall",
        "loop_x": rf"N = 100,000:(?s:.*?)prepare now .*= {_N}x the loop in wall time",
        "faster_x": rf"N = 100,000:(?s:.*?)now {_N}x faster than \w+ in wall time",
        "peak_mb": rf"N = 100,000:(?s:.*?)peak allocations during prepare: now {_N} MB",
        "peak_before_mb": rf"N = 100,000:(?s:.*?)peak allocations during prepare: now [\d.]+ MB, before {_N} MB",
    },
    "bench_reference.py": {
        "loop_ms": rf"^  reference  loop\s+{_N} ms",
        "peer_ms": rf"^  scipy peer loop\s+{_N} ms",
        "peer_x": rf"reference is {_N}x faster than the peer",
        "jit_cold_s": rf"costs {_N} s with an empty Numba cache",
    },
    "bench_lower.py": {
        **{f"{size}_s": rf"^{size}\s+neurocomp \(uniform\)\s+\d+\s+[\d.e+]+\s+{_N}" for size in ("small", "big")},
        **{f"{size}_scipy_s": rf"^{size}\s+scipy\s+\d+\s+[\d.e+]+\s+{_N}" for size in ("small", "big")},
        **{f"{size}_x": rf"^{size}\s+neurocomp vs scipy: {_N}x the synapses/s" for size in ("small", "big")},
        **{f"{size}_peak_x": rf"^{size}\s+neurocomp vs scipy: .*, {_N}x the peak/CSR" for size in ("small", "big")},
    },
    "bench_sanafe.py": {
        # one row per case: CASE | cores | spikes | energy nc | SANA-FE | diff | latency nc | SANA-FE | ratio
        #                   | wall nc | SANA-FE | ratio | estimate nc | SANA-FE | ratio
        **{f"{case}_{name}": rf"^{case} \|(?:[^|]*\|){{{cells}}} {_N}"
           for case in ("dense64", "dense1024", "mnist", "recurrent", "conv")
           for name, cells in (("energy_nc", 2), ("energy_sanafe", 3), ("latency_x", 7),
                               ("wall_x", 10), ("estimate_x", 13))},
    },
    "bench_akida_vendor.py": {
        "engine_ms": rf"akida engine forward\s+{_N} ms/frame",
        "emulate_ms": rf"neurocomp emulate\s+{_N} ms/frame",
        "emulate_x": rf"neurocomp emulate\s+.*\({_N}x the engine\)",
        "kernel_ms": rf"neurocomp kernel loop\s+{_N} ms/frame",
        "kernel_x": rf"neurocomp kernel loop\s+.*\({_N}x the engine\)",
    },
}

_TAG = re.compile(r"<!--\s*([\w.-]+):(\w+)\s*-->")
# A quoted figure: a number, its unit or emphasis (no digits), then its tag.
_QUOTED = re.compile(r"(\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?)([^\d<|]{0,24}?)<!--\s*([\w.-]+):(\w+)\s*-->")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]  # as written, placeholders unexpanded
    line: int

    @property
    def script(self) -> str:
        return next((Path(a).name for a in self.argv if a.endswith(".py")), "")


@dataclass(frozen=True)
class Quote:
    log: str
    figure: str
    value: float
    text: str
    line: int


def commands(readme: str) -> list[Command]:
    """The ``NAME: command`` lines of the README's ``benchmarks`` blocks, in order."""
    out: list[Command] = []
    inside = False
    for number, raw in enumerate(readme.splitlines(), 1):
        text = raw.strip()
        if text.startswith("```"):
            inside = not inside and text[3:].strip() == "benchmarks"
            continue
        if not inside or not text or text.startswith("#"):
            continue
        name, sep, command = text.partition(":")
        if not sep or not re.fullmatch(r"[\w.-]+", name.strip()) or not command.strip():
            raise SystemExit(f"README line {number}: expected 'NAME: python benchmarks/SCRIPT.py ARGS', got {text!r}")
        if any(c.name == name.strip() for c in out):
            raise SystemExit(f"README line {number}: the log name {name.strip()!r} is used twice")
        out.append(Command(name.strip(), tuple(shlex.split(command)), number))
    return out


def quotes(readme: str) -> list[Quote]:
    """Every tagged figure in the README."""
    out = []
    for number, line in enumerate(readme.splitlines(), 1):
        for m in _QUOTED.finditer(line):
            out.append(Quote(m.group(3), m.group(4), float(m.group(1).replace(",", "")),
                             m.group(0).split("<!--")[0].strip(" *_"), number))
    return out


def untagged(readme: str) -> list[tuple[int, str]]:
    """Numbers in a table's value cells (every cell but the first; not the header) that
    carry no tag."""
    out = []
    lines = readme.splitlines()
    rule = re.compile(r"\s*\|[\s|:-]+")  # the line under a table's header
    for number, line in enumerate(lines, 1):
        following = lines[number] if number < len(lines) else ""
        if not line.lstrip().startswith("|") or rule.fullmatch(line) or rule.fullmatch(following):
            continue
        cells = line.strip().strip("|").split("|")
        for cell in cells[1:]:
            cell = re.sub(r"`[^`]*`", "", _QUOTED.sub("", cell))
            out += [(number, n) for n in _NUMBER.findall(_TAG.sub("", cell))]
    return out


def figure(log_text: str, script: str, name: str) -> float | None:
    """Figure ``name`` of ``script``'s output ``log_text`` (the first match), or None."""
    pattern = FIGURES.get(script, {}).get(name)
    if pattern is None:
        raise KeyError(f"{script} has no figure {name!r} (known: {', '.join(FIGURES.get(script, {})) or 'none'})")
    m = re.search(pattern, log_text, re.MULTILINE)
    return float(m.group(1)) if m else None


def _header(path: Path) -> str:
    """The ``# `` lines ``run`` wrote before the command's output."""
    with path.open(encoding="utf-8", errors="replace") as f:
        return "".join(line for line, _ in zip(f, range(2)) if line.startswith("# "))


def within(quoted: float, measured: float, tolerance: float = TOLERANCE) -> bool:
    """The README's figure is within ``tolerance`` of the run's (relative to the run's)."""
    return abs(quoted - measured) <= tolerance * abs(measured)


def check(readme: str, logs: Path, tolerance: float = TOLERANCE) -> tuple[list[str], list[str]]:
    """(reproduced, not reproduced): one line per tagged figure; untagged numbers go in
    the second list too."""
    scripts = {c.name: c.script for c in commands(readme)}
    good, bad = [], []
    for q in quotes(readme):
        where = f"README line {q.line}: {q.text} ({q.log}:{q.figure})"
        if q.log not in scripts:
            bad.append(f"{where}: no command named {q.log!r} in a ```benchmarks block")
            continue
        path = logs / f"{q.log}.log"
        if not path.is_file():
            bad.append(f"{where}: no log {path}")
            continue
        try:
            measured = figure(path.read_text(encoding="utf-8", errors="replace"), scripts[q.log], q.figure)
        except KeyError as e:
            bad.append(f"{where}: {e.args[0]}")
            continue
        if measured is None:
            bad.append(f"{where}: not found in {path.name} (the output changed, or the run failed)")
        elif not within(q.value, measured, tolerance):
            bad.append(f"{where}: run {measured:g}, {q.value / measured:.2f}x (beyond {tolerance:.0%})")
        elif "NOT QUIET" in _header(path):
            bad.append(f"{where}: run {measured:g}, {q.value / measured:.2f}x, but {path.name} was not run on a quiet box")
        else:
            good.append(f"{where}: run {measured:g}, {q.value / measured:.2f}x")
    bad += [f"README line {n}: {v} has no tag (not checked)" for n, v in untagged(readme)]
    return good, bad


def expand(argv: tuple[str, ...], env: dict[str, str]) -> list[str]:
    values = {k: env.get(k, v) for k, v in PEERS.items()}
    out = [string.Template(a).safe_substitute(values) for a in argv]
    if out and out[0] in ("python", "python3"):
        out[0] = sys.executable
    return out


def child_env() -> dict[str, str]:
    """This environment, with Lava's interpreter where ``bench_learning.py`` looks for it."""
    env = dict(os.environ)
    env.setdefault("NEUROCOMP_LAVA_PYTHON", env.get("LAVA_PY", PEERS["LAVA_PY"]))
    return env


def wait_quiet(below: float, max_wait: float, poll: float = 10.0) -> tuple[float, bool]:
    """Wait until the 1-minute load average is below ``below`` (at most ``max_wait`` s);
    (seconds waited, quiet)."""
    t0 = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - t0
        if load < below:
            return waited, True
        if waited >= max_wait:
            return waited, False
        print(f"  waiting for quiet: load {load:.2f} >= {below} ({waited:.0f} s)", flush=True)
        time.sleep(poll)


def commit() -> str:
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(selected: list[Command], logs: Path, below: float, max_wait: float, settle: float,
        dry_run: bool) -> int:
    failed = 0
    if not dry_run:
        logs.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(selected):
        argv = expand(c.argv, dict(os.environ))
        print(f"[{i + 1}/{len(selected)}] {c.name}: {shlex.join(argv)}", flush=True)
        if dry_run:
            continue
        if i:
            time.sleep(settle)  # let the last run's processes leave the load average
        waited, quiet = wait_quiet(below, max_wait)
        before = os.getloadavg()
        path = logs / f"{c.name}.log"
        with path.open("w", encoding="utf-8") as log:
            log.write(f"# run_all {c.name}: {shlex.join(argv)}\n# commit {commit()}, started "
                      f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC after waiting {waited:.0f} s; "
                      f"load {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}"
                      f"{'' if quiet else f' NOT QUIET (still >= {below} after {max_wait:.0f} s)'}\n")
            log.flush()
            t0 = time.perf_counter()
            rc = subprocess.run(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=child_env()).returncode
            wall = time.perf_counter() - t0
            after = os.getloadavg()
            log.write(f"# exit {rc}, wall {wall:.1f} s; load after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}\n")
        failed += rc != 0
        print(f"  exit {rc}, {wall:.0f} s, load {before[0]:.2f} -> {after[0]:.2f}: {path}", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", type=Path, default=README)
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("list", help="the commands the README gives")
    r = sub.add_parser("run", help="run them one at a time on a quiet box, output to LOGS/NAME.log")
    r.add_argument("--logs", type=Path, required=True, help="the folder of logs (made if missing)")
    r.add_argument("--only", nargs="+", metavar="NAME", help="these commands only")
    r.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="all but these")
    r.add_argument("--load-below", type=float, default=1.5, help="start when the 1-minute load is below this")
    r.add_argument("--max-wait", type=float, default=1800.0, help="seconds to wait for quiet before running anyway")
    r.add_argument("--settle", type=float, default=20.0, help="seconds between one command and the next")
    r.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    c = sub.add_parser("check", help="which tagged README figures a folder of logs reproduces")
    c.add_argument("logs", type=Path)
    c.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = ap.parse_args(argv)
    try:
        readme = args.readme.read_text(encoding="utf-8")
    except OSError as e:
        raise SystemExit(f"cannot read the README {args.readme}: {e.strerror}")
    listed = commands(readme)
    if args.what == "list":
        for cmd in listed:
            print(f"{cmd.name}: {shlex.join(expand(cmd.argv, dict(os.environ)))}")
        return 0
    if args.what == "run":
        names = {cmd.name for cmd in listed}
        unknown = sorted((set(args.only or []) | set(args.skip)) - names)
        if unknown:
            raise SystemExit(f"--only/--skip: no command named {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        selected = [cmd for cmd in listed if (not args.only or cmd.name in args.only) and cmd.name not in args.skip]
        print(f"{len(selected)} commands; load now {os.getloadavg()[0]:.2f}, each starts below {args.load_below}")
        return run(selected, args.logs, args.load_below, args.max_wait, args.settle, args.dry_run)
    if not args.logs.is_dir():
        raise SystemExit(f"no folder of logs at {args.logs}")
    good, bad = check(readme, args.logs, args.tolerance)
    print(f"reproduced within {args.tolerance:.0%} ({len(good)}):")
    print("".join(f"  {g}\n" for g in good), end="")
    print(f"not reproduced or not checked ({len(bad)}):")
    print("".join(f"  {b}\n" for b in bad), end="")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
