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
