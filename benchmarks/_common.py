"""Pieces the benchmark scripts share: the canonical network and two measurements."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRUNEL = ROOT / "examples" / "brunel.snn"


def brunel(n: int):
    """``examples/brunel.snn`` with ``n`` neurons (80 % exc) and ``n / 4`` inputs, no probes."""
    from neurocomp.dsl.parse import parse
    from neurocomp.ir.build import build

    text = BRUNEL.read_text(encoding="utf-8")
    for name, value in (("n_exc", int(0.8 * n)), ("n_inh", n - int(0.8 * n)), ("n_ext", n // 4)):
        text, found = re.subn(rf"(const {name} = )\d+", rf"\g<1>{value}", text)
        if found != 1:
            raise SystemExit(f"{BRUNEL}: no 'const {name} = ...' to set")
    net = build(parse(text, str(BRUNEL)), BRUNEL.parent)
    return dataclasses.replace(net, probes=())


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def jit_seconds(probe: str, *argv: str) -> tuple[float, float]:
    """(cold, warm): what ``python -c probe argv...`` prints (its first-call overhead),
    with an empty Numba cache, then with that cache filled."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = [float(subprocess.run([sys.executable, "-c", probe, *argv], env=env, check=True,
                                    capture_output=True, text=True).stdout) for _ in range(2)]
    return out[0], out[1]
