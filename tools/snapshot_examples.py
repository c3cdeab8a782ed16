"""Run every bundled example on every bundled chip and keep what the run wrote.

    python tools/snapshot_examples.py OUT_DIR [--steps N]
    python tools/snapshot_examples.py --compare DIR_A DIR_B

The first form writes, per example and chip, the CLI's outputs (``map.json``/``map.npz``
from ``compile``; ``report.json``, ``spikes.npz``, ``summary.json`` and ``counters.npz``
from ``run``) and the text both commands printed. The second compares two such folders
file by file, byte for byte, except the fields that hold wall-clock times. Use it to show
that a change of structure left every result unchanged: snapshot before, snapshot after,
compare.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path.cwd()  # run from the repository root
CHIPS = ("loihi", "loihi2", "truenorth", "akida")
#: keys whose values are wall-clock measurements (or the checkout's path), not results
WALL_KEYS = ("wall", "time_s", "seconds", "elapsed", "pass_times", "timings", "per_s", "base_dir")


def snapshot(out: Path, steps: int, only: list[str] | None = None) -> None:
    exe = [sys.executable, "-m", "neurocomp"]
    for example in sorted((ROOT / "examples").glob("*.snn")):
        if only and example.stem not in only:
            continue
        for chip in CHIPS:
            folder = out / f"{example.stem}-{chip}"
            folder.mkdir(parents=True, exist_ok=True)
            mp = folder / "net.map.json"
            cmd = exe + ["compile", str(example.relative_to(ROOT)), "--chip", chip, "-o", str(mp), "--force"]
            c = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            more = re.search(r"use --chips (\d+)", c.stderr)
            if c.returncode != 0 and more:  # a system of several chips, as the refusal suggests
                c = subprocess.run(cmd + ["--chips", more.group(1)], capture_output=True, text=True, cwd=ROOT)
            (folder / "compile.txt").write_text(f"rc={c.returncode}\n{c.stdout}\n{c.stderr}")
            if c.returncode != 0:
                print(f"{folder.name}: compile refused ({c.returncode})")
                continue
            r = subprocess.run(exe + ["run", str(mp), "--steps", str(steps), "--out", str(folder / "run"),
                                      "--trace", "--force"], capture_output=True, text=True, cwd=ROOT)
            (folder / "run.txt").write_text(f"rc={r.returncode}\n{r.stdout}\n{r.stderr}")
            print(f"{folder.name}: compile 0, run {r.returncode}")


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if not any(w in k for w in WALL_KEYS)}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _paths(a, b, path=""):
    """The JSON paths where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                yield f"{path}/{k} (only in {'the second' if k in b else 'the first'})"
            else:
                yield from _paths(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _paths(x, y, f"{path}[{i}]")
    elif a != b:
        yield path or "/"


def compare(a: Path, b: Path) -> int:
    import numpy as np
    bad = 0
    files = sorted({p.relative_to(a) for p in a.rglob("*") if p.is_file()}
                   | {p.relative_to(b) for p in b.rglob("*") if p.is_file()})
    for rel in files:
        pa, pb = a / rel, b / rel
        if not pa.exists() or not pb.exists():
            print(f"only in one: {rel}")
            bad += 1
            continue
        if rel.suffix == ".txt":
            continue  # printed text carries timings; results are in the files below
        if rel.suffix == ".json":
            ja, jb = _strip(json.loads(pa.read_text())), _strip(json.loads(pb.read_text()))
            same = ja == jb
            if not same:
                print(f"differs: {rel}: " + ", ".join(list(_paths(ja, jb))[:5]))
                bad += 1
                continue
        elif rel.suffix == ".npz":
            za, zb = np.load(pa, allow_pickle=False), np.load(pb, allow_pickle=False)
            same = sorted(za.files) == sorted(zb.files) and all(
                za[k].dtype == zb[k].dtype and np.array_equal(za[k], zb[k]) for k in za.files)
        else:
            same = pa.read_bytes() == pb.read_bytes()
        if not same:
            print(f"differs: {rel}")
            bad += 1
    print(f"{len(files)} files compared, {bad} differ")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--only", action="append", help="an example's name (repeatable); default: all")
    args = ap.parse_args()
    if args.compare:
        return compare(*args.dirs)
    snapshot(args.dirs[0], args.steps, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
