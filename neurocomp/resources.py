"""The resource guard: a large allocation is estimated and refused before it is made.

A stage about to materialise something whose size the user controls (the synapses of an
``all_to_all``, the per-step buffers of a long run, a chip system's core table) asks
:func:`require_memory` first, with the bytes it is about to take. The request is refused,
with a :class:`~neurocomp.diagnostics.ResourceError` that names what and how much, when it
exceeds the memory this process may use: the smallest of the memory the machine has
available now (``MemAvailable`` in ``/proc/meminfo``, else the free pages
``os.sysconf`` reports), the process's address-space limit (``ulimit -v``), and
``NEUROCOMP_MAX_MEMORY`` when the user sets it (bytes, or with a unit: ``512M``,
``4G``, ``1.5GiB``), and the cap of the innermost :func:`memory_cap` block (the command
line's ``--max-memory``). A cap holds for the block that sets it, in this thread (and in
the workers :func:`neurocomp.workflows.parallel.map_chunks` starts from inside it), and
ends with it: nothing is left behind for the next call.

Estimates are computed with Python integers, so a size beyond int64 is a number to
compare, never a wrapped one. They are lower bounds of what the stage takes (the arrays
it must hold at once), so a refusal is certain to be right; a request that passes may
still need somewhat more.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
from pathlib import Path
from typing import Any, Iterator

from .diagnostics import ResourceError

__all__ = ["memory_cap", "current_cap", "memory_limit", "require_memory", "bytes_text", "parse_bytes", "array_file_problem"]

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str) -> int:
    """``"4G"`` -> 4_000_000_000; ``"1.5GiB"`` -> 1_610_612_736 (see the module docstring).

    Raises
    ------
    ValueError
        For text that is not a positive size.
    """
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*", text)
    if m is None or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (write e.g. 4G, 512MiB or 1000000)")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise ValueError(f"not a positive size: {text!r}")
    return value


# the cap of the innermost memory_cap block (bytes, where it comes from); a context
# variable, so it ends with its block and never reaches another thread's work
_CAP: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar("neurocomp_memory_cap",
                                                                             default=None)


@contextlib.contextmanager
def memory_cap(size: int | str | tuple[int, str] | None, source: str | None = None) -> Iterator[None]:
    """Within the block, refuse work larger than ``size`` (bytes, or text such as
    ``"4G"``; ``None``: no cap of its own). ``source`` names it in refusals (by default
    ``max_memory=SIZE``). Caps only lower the limit: an outer cap, ``NEUROCOMP_MAX_MEMORY``
    and the machine still count.

    Raises
    ------
    ResourceError
        For text that is not a positive size.
    """
    if size is None:
        yield
        return
    if isinstance(size, tuple):  # (bytes, source), as current_cap() gives it
        size, source = size
    if isinstance(size, str):
        try:
            value = parse_bytes(size)
        except ValueError as exc:
            raise ResourceError(f"{source or 'max_memory'}: {exc}") from None
    elif isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ResourceError(f"{source or 'max_memory'}: not a positive number of bytes: {size!r}")
    else:
        value = int(size)
    cap = (value, source or f"max_memory={size}")
    outer = _CAP.get()
    token = _CAP.set(cap if outer is None else min(cap, outer))
    try:
        yield
    finally:
        _CAP.reset(token)


def current_cap() -> tuple[int, str] | None:
    """The cap of the innermost :func:`memory_cap` block (bytes, source), or ``None``:
    what a worker process must set again to hold its caller's limit."""
    return _CAP.get()


def _available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def memory_limit() -> tuple[int | None, str]:
    """The bytes this process may still allocate, and where that number comes from
    (``None`` when nothing is known)."""
    found: list[tuple[int, str]] = []
    avail = _available()
    if avail is not None:
        found.append((avail, "the memory available on this machine"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            found.append((int(soft), "this process's address-space limit (ulimit -v)"))
    except (ImportError, OSError, ValueError):
        pass
    user = os.environ.get("NEUROCOMP_MAX_MEMORY", "").strip()
    if user:
        try:
            found.append((parse_bytes(user), f"NEUROCOMP_MAX_MEMORY={user}"))
        except ValueError as exc:
            raise ResourceError(f"NEUROCOMP_MAX_MEMORY: {exc}") from None
    cap = _CAP.get()
    if cap is not None:
        found.append(cap)
    if not found:
        return None, "unknown"
    return min(found)


def bytes_text(n: int) -> str:
    """``n`` bytes in words: ``1.5 GiB``, ``149 GiB``, ``8.7e+10 TiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{int(n):,} B"
        value /= 1024
    return f"{value:.3g} TiB"  # pragma: no cover


def require_memory(n_bytes: int, what: str, *, hint: str | None = None, where: str | None = None,
                   span: Any = None) -> None:
    """Refuse, before allocating, ``n_bytes`` for ``what`` when the process may not have them.

    Raises
    ------
    ResourceError
        Naming ``what``, the bytes it needs and the limit (with its source).
    """
    n_bytes = int(n_bytes)
    limit, source = memory_limit()
    if limit is not None and n_bytes > limit:
        raise ResourceError(f"{what} needs at least {bytes_text(n_bytes)}, more than {source} "
                            f"({bytes_text(limit)})", where=where, span=span,
                            hint=hint or "make it smaller, or run it on a machine with more memory")


def array_file_problem(path: str | Path) -> str | None:
    """What is wrong with the headers of a ``.npy`` or ``.npz`` file, read before numpy
    allocates what they declare; ``None`` when nothing is (or it is not such a file:
    numpy's own reading then says why).

    Each array's header declares a shape and dtype; the bytes they make (a Python
    integer) must be what the file (or the zip member) holds, and within
    :func:`memory_limit`. A header declaring 10^12 elements in a 200-byte file is
    refused here instead of by a ``MemoryError`` inside numpy.
    """
    import zipfile

    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if not info.filename.endswith(".npy"):
                        continue
                    with zf.open(info) as fh:
                        problem = _npy_problem(fh, info.file_size, f"array '{info.filename[:-4]}'")
                    if problem:
                        return problem
            return None
        with open(path, "rb") as fh:
            return _npy_problem(fh, path.stat().st_size, "the array")
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, RuntimeError):
        return None  # numpy's reading reports it


def read_npz(path: str | Path, *, hint: str) -> dict[str, Any]:
    """Every array of the ``.npz`` file ``path`` (no pickles), its headers checked first by
    :func:`array_file_problem`.

    Raises
    ------
    InputFileError
        Naming the file: a header that declares more than the file holds (or than memory
        allows), or a file numpy cannot read as an ``.npz`` (then with ``hint``: how to
        write one).
    """
    import numpy as np

    from .diagnostics import InputFileError

    path = Path(path)
    problem = array_file_problem(path)  # before numpy allocates what a header declares
    if problem:
        raise InputFileError(f"'{path}': {problem}", where=str(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # a damaged or foreign file: zip, format or pickle errors
        raise InputFileError(f"'{path}' is not a readable .npz file ({type(exc).__name__}: {exc})",
                             where=str(path), hint=hint) from None


def _npy_problem(fh: Any, size: int, what: str) -> str | None:
    import numpy as np

    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
    except ValueError:
        return None  # not a .npy: numpy says so
    try:
        reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
        if reader is None:
            return None
        shape, _, dtype = reader(fh, max_header_size=100_000)
    except Exception:  # a damaged header (SyntaxError, tokenize's TokenError, ...): numpy says why
        return None
    header = fh.tell()
    if dtype.hasobject:
        return None  # refused as a pickle by allow_pickle=False
    declared = math.prod(int(d) for d in shape) * int(dtype.itemsize)
    stored = int(size) - int(header)
    if declared > stored:
        return (f"{what} declares shape {list(shape)} of {dtype} in its header ({bytes_text(declared)}), "
                f"but the file holds only {bytes_text(max(stored, 0))} of data")
    require_memory(declared, f"{what} (shape {list(shape)} of {dtype})")
    return None
