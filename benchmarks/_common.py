"""Pieces the benchmark scripts share: the canonical network and two measurements."""

from __future__ import annotations

import dataclasses
import importlib.util
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


def module_at(rev: str, path: str, name: str, folder: Path):
    """The file ``path`` as of commit ``rev``, imported as module ``name`` (a sibling of
    the file's own module, so that its relative imports resolve)."""
    try:
        text = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"cannot read {path} at {rev} (the peer needs a git checkout): {e}")
    file = folder / (name.rsplit(".", 1)[-1] + ".py")
    file.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
