"""The first run on a machine (neurocomp.cli.warmup): the command says that it compiles,
and the kernel the second process compiles is the one a real run loads.

The second process compiles a tiny network's emulation; if a real network needed
another specialisation of the kernel, the first run would compile it again after
waiting. So: per family, emulate the tiny network, then real examples, in one process,
and check that no kernel of the emulator gained a signature."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys, warnings
import numba
numba.config.DISABLE_JIT = True   # as the second process: the compiler in plain Python
import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.cli.warmup import _TINY
from neurocomp.dsl.parse import parse
from neurocomp.ir.build import build
chip = load_chip(sys.argv[1])
warnings.simplefilter("ignore")
tiny = nc.compile(build(parse(_TINY), "."), chip)
others = [nc.compile(nc.load(p), chip) for p in sys.argv[2:]]
numba.config.DISABLE_JIT = False
from numba.core.registry import CPUDispatcher
from neurocomp.emulator.run import emulate
def kernels():
    return {f"{m}.{n}": d for m, mod in list(sys.modules.items()) if m.startswith("neurocomp.")
            for n, d in vars(mod).items() if isinstance(d, CPUDispatcher)}
emulate(tiny, 4)
before = {k: len(d.signatures) for k, d in kernels().items() if d.signatures}
for m in others:
    emulate(m, 20)
after = {k: len(d.signatures) for k, d in kernels().items() if d.signatures}
print(json.dumps({"before": before, "after": after}))
"""


AKIDA = """network dense
dt = 1 ms
input x[16] : rate(value = 0.5, seed = 3)
population h[8] : LIF(beta = 0, threshold = 1.0, reset = zero)
population o[3] : LIF(beta = 0, threshold = 1.0, reset = zero)
connect x -> h : random(p = 0.5, weight = 0.6, seed = 1)
connect h -> o : all_to_all(weight = 0.4)
"""


@pytest.mark.parametrize("chip, examples", [
    ("loihi", ["chain.snn", "encoders.snn"]),
    ("truenorth", ["chain.snn", "encoders.snn"]),
    ("akida", ["akida.snn"]),
])
def test_the_tiny_network_compiles_the_kernel_real_runs_use(chip: str, examples: list[str], tmp_path: Path) -> None:
    paths = [str(ROOT / "examples" / e) for e in examples if e != "akida.snn"]
    if "akida.snn" in examples:  # no example runs on Akida yet: a dense layer of IF neurons
        (tmp_path / "akida.snn").write_text(AKIDA)
        paths.append(str(tmp_path / "akida.snn"))
    out = subprocess.run([sys.executable, "-c", PROBE, chip, *paths], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["before"], "the tiny network compiled no kernel"
    assert any("kernel" in k for k in got["before"]), got["before"]
    assert got["after"] == got["before"]  # no kernel compiled again, none added


def test_a_cold_cache_is_announced_and_a_warm_one_is_silent(tmp_path: Path, capsys, monkeypatch) -> None:
    # A kernel defined here, never cached: its first call compiles, which the listener sees.
    import numba

    from neurocomp.cli.common import console
    from neurocomp.cli.warmup import FirstRun

    @numba.njit
    def twice(x):
        return 2 * x

    import io

    from rich.console import Console

    terminal = io.StringIO()
    with FirstRun(Console(file=terminal, force_terminal=True, width=100)) as first:
        assert twice(3) == 6  # compiles
        assert twice(4) == 8  # does not
    assert first.compiled == 1
    assert "compiling neurocomp's kernels for this machine (first run only" in terminal.getvalue()
    with FirstRun(Console(file=terminal, force_terminal=True, width=100)) as again:
        assert twice(5) == 10
    assert again.compiled == 0
    # not a terminal (a pipe, a log, the golden files): nothing, cached or not
    @numba.njit
    def thrice(x):
        return 3 * x

    with FirstRun(console(stderr=True, width=100)) as piped:
        assert thrice(2) == 6
    assert piped.compiled == 1 and capsys.readouterr().err == ""


def test_the_second_process_waits_for_an_idle_core(monkeypatch):
    from neurocomp.cli import warmup
    from neurocomp.cli.common import console

    monkeypatch.setattr(warmup.os, "cpu_count", lambda: 2)
    # where /proc/stat cannot be read: the load average
    monkeypatch.setattr(warmup, "_cpu_times", lambda: None)
    monkeypatch.setattr(warmup.os, "getloadavg", lambda: (0.5, 0.0, 0.0))
    assert warmup._core_to_spare()  # 2 cores - 0.5 busy leaves 1.5: one for it, one for us
    monkeypatch.setattr(warmup.os, "getloadavg", lambda: (0.6, 0.0, 0.0))
    assert not warmup._core_to_spare()
    busy = warmup.FirstRun(console(stderr=True), chip=object())
    busy._spawn()  # nothing started on a busy machine (object() would fail to serialise)
    assert busy._proc is None
    monkeypatch.setattr(warmup.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setenv("NEUROCOMP_WARMUP", "0")
    off = warmup.FirstRun(console(stderr=True), chip=object())
    off._spawn()
    assert off._proc is None


def test_an_idle_core_is_seen_at_once_whatever_the_load_average(monkeypatch):
    """Right after a long ``pip install`` the load average still says busy; the idle time
    of the cores over a tenth of a second says what is free now."""
    from neurocomp.cli import warmup

    monkeypatch.setattr(warmup.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(warmup.os, "getloadavg", lambda: (1.9, 1.0, 0.5))
    monkeypatch.setattr(warmup.time, "sleep", lambda s: None)

    def ticks(*pairs):
        it = iter(pairs)
        monkeypatch.setattr(warmup, "_cpu_times", lambda: next(it))

    # 20 ticks over both cores, 9 of them idle: 9/20 of 2 cores = 0.9 idle (this
    # process busy on the other)
    ticks((5000, 90000), (5009, 90020))
    assert abs(warmup._idle_cores() - 0.9) < 1e-12
    ticks((5000, 90000), (5009, 90020))
    assert warmup._core_to_spare()
    # 2 of 20 idle: 0.2 of a core, someone else is busy
    ticks((5000, 90000), (5002, 90020))
    assert not warmup._core_to_spare()
    # no tick elapsed (a coarse clock): fall back on the load average (1.9: busy)
    ticks((5000, 90000), (5000, 90000))
    assert warmup._idle_cores() is None
    ticks((5000, 90000), (5000, 90000))
    assert not warmup._core_to_spare()
    monkeypatch.setattr(warmup.os, "getloadavg", lambda: (0.4, 1.0, 0.5))
    ticks((5000, 90000), (5000, 90000))
    assert warmup._core_to_spare()


def test_proc_stat_reads_as_idle_and_total_ticks():
    from neurocomp.cli import warmup

    times = warmup._cpu_times()
    if times is None:
        pytest.skip("no /proc/stat here")
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    assert fields[0] == "cpu"
    idle, total = times
    assert 0 <= idle <= total
    # idle + iowait of a later read can only grow, as can the total
    later = warmup._cpu_times()
    assert later[0] >= idle and later[1] >= total
