"""Write a Network to disk: its `.snn` text and every array it holds, in files beside it.

Input: a :class:`~neurocomp.ir.network.Network` (imported from NIR, or loaded from
text) and the path of a `.snn` file. Output: that file, whose text is
:func:`neurocomp.ir.printer.to_snn`, and one data file per path the text names
(``ArrayValue.path``, an encoder's or a sparse connector's ``path``), relative to the
`.snn` file's folder, so loading the written file gives an equal network. Nothing is
written if any of those files exists, unless asked to overwrite; every file is written
atomically (:mod:`neurocomp.atomic`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

import numpy as np

from ..atomic import write_files
from ..diagnostics import UsageError
from . import connectors as cn
from . import encoders as en
from .network import Network
from .printer import to_snn
from .values import ArrayValue

__all__ = ["write_snn"]


def write_snn(network: Network, out_path: str | Path, *, overwrite: bool = False,
              header: str | None = None) -> list[Path]:
    """Write ``network`` as `.snn` text, with every array it holds in a file beside it.

    Parameters
    ----------
    network
        Any network (imported, or loaded from text). Each array is written to the path it
        carries (``ArrayValue.path``, an encoder's or a sparse connector's ``path``),
        relative to the folder of ``out_path``; the text
        (:func:`neurocomp.ir.printer.to_snn`) names the same paths, so loading the
        written file gives an equal network.
    out_path
        The `.snn` file to write.
    overwrite
        Replace existing files. Without it, nothing is written if any file exists.
    header
        Text put first as ``#`` comment lines (e.g. the discretisation of an import).

    Returns
    -------
    list[Path]
        The `.snn` file first, then each data file written.

    Raises
    ------
    UsageError
        A file exists (and ``overwrite`` is false), or two different arrays claim one path.
    """
    out = Path(out_path)
    if out.suffix != ".snn":
        raise UsageError(f"'{out}' is not a network file name: expected a .snn file")
    folder = out.parent
    files: dict[Path, tuple[str, Callable[[Path, BinaryIO], None], Any]] = {}
    for where, path, writer, content in _data_files(network):
        full = Path(path) if Path(path).is_absolute() else folder / path
        if full in files:
            if not _same_content(files[full][2], content):
                raise UsageError(f"{where} and {files[full][0]} both use '{path}' for different data",
                                 hint="give one of them another file name")
            continue
        files[full] = (where, writer, content)
    targets = [out, *files]
    if not overwrite:
        existing = [p for p in targets if p.exists()]
        if existing:
            raise UsageError(f"'{existing[0]}' already exists; not overwriting it",
                             hint="choose another output name, or overwrite (--force)")
    text = to_snn(network)
    if header:
        text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + "\n" + text
    # every file to a temporary beside it, then renamed (neurocomp.atomic): a failed write
    # leaves the previous files as they were
    write_files([*((full, partial(writer, full)) for full, (_, writer, _) in files.items()),
                 (out, lambda fh: fh.write(text.encode("utf-8")))])
    return targets


def _same_content(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_content(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _save_array(values: np.ndarray) -> Callable[[Path, BinaryIO], None]:
    def write(full: Path, fh: BinaryIO) -> None:
        if full.suffix == ".npz":
            np.savez(fh, values)
        else:  # a file handle keeps np.save from adding '.npy'
            np.save(fh, values, allow_pickle=False)
    return write


def _data_files(network: Network) -> Iterable[tuple[str, str, Callable[[Path, BinaryIO], None], Any]]:
    """(who, path, writer, content) for every file the network's text names."""

    def arrays(where: str, obj: Any) -> Iterable[tuple[str, str, Callable[[Path, BinaryIO], None], Any]]:
        for key in getattr(obj, "__dataclass_fields__", {}):
            value = getattr(obj, key)
            if isinstance(value, ArrayValue):
                yield f"{where} '{key}'", value.path, _save_array(value.values), value.values

    def natives(where: str, native: Any) -> Iterable[tuple[str, str, Callable[[Path, BinaryIO], None], Any]]:
        for chip, params in native.items():
            for key, value in params.items():
                if isinstance(value, ArrayValue):
                    yield (f"{where} native {chip} '{key}'", value.path, _save_array(value.values),
                           value.values)

    for pop in network.populations.values():
        where = f"population '{pop.name}'"
        if pop.neuron is not None:
            yield from arrays(where, pop.neuron)
        enc = pop.encoder
        if isinstance(enc, en.SpikeFile):
            yield where, enc.path, _spike_writer(enc, pop.size), (enc.times, enc.indices)
        elif isinstance(enc, en.EventStream):
            yield where, enc.path, _event_writer(enc), (enc.x, enc.y, enc.t_us, enc.p)
        elif enc is not None:
            yield from arrays(where, enc)
        yield from natives(where, pop.native)
    for proj in network.projections:
        where = f"projection '{proj.name}'"
        conn = proj.connector
        if isinstance(conn, cn.Sparse):
            yield where, conn.path, _sparse_writer(conn), (conn.pre, conn.post, conn.weights,
                                                           None if conn.delays is None else conn.delays.values)
        else:
            yield from arrays(where, conn)
        if isinstance(proj.delay_steps, ArrayValue) and not (isinstance(conn, cn.Sparse) and conn.delays):
            yield f"{where} 'delay'", proj.delay_steps.path, _save_array(proj.delay_steps.values), \
                proj.delay_steps.values
        yield from natives(where, proj.native)


def _spike_writer(enc: en.SpikeFile, n: int) -> Callable[[Path, BinaryIO], None]:
    def write(full: Path, fh: BinaryIO) -> None:
        if full.suffix == ".npz":
            np.savez(fh, times=enc.times.astype(np.int64), indices=enc.indices.astype(np.int64))
        else:  # a dense raster, steps x neurons
            steps = int(enc.times.max()) + 1 if len(enc.times) else 0
            raster = np.zeros((steps, n), dtype=np.uint8)
            raster[enc.times, enc.indices] = 1
            _save_array(raster)(full, fh)
    return write


def _event_writer(enc: en.EventStream) -> Callable[[Path, BinaryIO], None]:
    def write(full: Path, fh: BinaryIO) -> None:
        if full.suffix == ".npz":
            np.savez(fh, x=enc.x, y=enc.y, t=enc.t_us, p=enc.p)
            return
        rec = np.zeros(len(enc.x), dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
        rec["x"], rec["y"], rec["t"], rec["p"] = enc.x, enc.y, enc.t_us, enc.p
        _save_array(rec)(full, fh)
    return write


def _sparse_writer(conn: cn.Sparse) -> Callable[[Path, BinaryIO], None]:
    def write(full: Path, fh: BinaryIO) -> None:
        arrays = {"pre": conn.pre, "post": conn.post, "weight": conn.weights}
        if conn.delays is not None:
            arrays["delay"] = conn.delays.values
        np.savez(fh, **arrays)
    return write
