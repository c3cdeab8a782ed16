"""Writing files so that a failed write never destroys what was there.

Every file neurocomp writes (a Mapping and its arrays, a run folder's report, spikes,
counters, pictures and page, an imported network and its arrays) goes through
:func:`write_files`: each file is written to a temporary file in its own folder
(``.<name>.<random>.tmp``), flushed to disk, and only when every file of the group is
complete are they renamed over their targets (``os.replace``, atomic on POSIX within one
file system). A full disk, a size limit (``ulimit -f``), a folder without write
permission or a path under a file therefore leaves the previous output as it was, removes
the temporary files, and becomes one :class:`~neurocomp.diagnostics.OutputFileError` that
names the path and what to do, never an ``OSError`` traceback.

A group of files (a Mapping's ``.json`` and ``.npz``) is replaced file by file after all
are written: the only window where the pair disagrees is between two renames.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Mapping

import numpy as np

from .diagnostics import OutputFileError

__all__ = ["write_files", "write_bytes", "write_text", "write_json", "write_by_name", "npz_writer", "save_npz",
           "make_dir", "output_error"]

#: ``fn(file)`` writes one file's content into an open binary file.
Writer = Callable[[BinaryIO], None]

_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, or write somewhere else",
    errno.EDQUOT: "the disk quota is used up: free some space, or write somewhere else",
    errno.EFBIG: "the file is larger than this process may write (ulimit -f): raise the limit, "
                 "or write a smaller output",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EROFS: "the file system is read-only: choose another folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "that is a folder: give a file name",
    errno.EEXIST: "a part of the path is a file, not a folder: choose another path",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter path",
}


def output_error(path: Path, exc: OSError) -> OutputFileError:
    """The error an ``OSError`` met writing ``path`` becomes."""
    reason = exc.strerror or type(exc).__name__
    return OutputFileError(f"cannot write '{path}': {reason}", where=str(path),
                           hint=_HINTS.get(exc.errno or 0, "choose another path"))


def make_dir(path: str | Path) -> Path:
    """``path`` as a folder (made with its parents if needed).

    Raises
    ------
    OutputFileError
        When it is a file, or cannot be made.
    """
    path = Path(path)
    for folder in (path, *path.parents):  # the nearest that exists must be a folder
        if folder.exists():
            if not folder.is_dir():
                raise OutputFileError(f"cannot write into '{folder}': it is a file, not a folder",
                                      where=str(path), hint="give a folder to write into")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc) from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_files(files: Iterable[tuple[str | Path, Writer]]) -> list[Path]:
    """Write every ``(path, writer)`` to a temporary file beside it, then rename them all.

    Returns the paths written. On any failure nothing is renamed (the previous files
    stay), the temporary files are removed, and an ``OSError`` becomes an
    :class:`OutputFileError`.
    """
    staged: list[tuple[Path, str]] = []
    mode = 0o666 & ~_umask()
    current: Path | None = None
    try:
        for target, writer in files:
            current = Path(target)
            if current.is_dir():
                raise OutputFileError(f"cannot write '{current}': it is a folder", where=str(current),
                                      hint="give a file name, not a folder")
            make_dir(current.parent)
            fd, tmp = tempfile.mkstemp(dir=current.parent, prefix=f".{current.name}.", suffix=".tmp")
            staged.append((current, tmp))
            os.close(fd)
            with open(tmp, "wb") as fh:  # opened by name: fh.name is the temporary's path
                writer(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
        for target, tmp in staged:
            current = target
            os.replace(tmp, target)
    except OSError as exc:
        _discard(staged)
        raise output_error(current if current is not None else Path("."), exc) from None
    except BaseException:
        _discard(staged)
        raise
    return [target for target, _ in staged]


def _discard(staged: list[tuple[Path, str]]) -> None:
    for _, tmp in staged:
        try:
            os.unlink(tmp)
        except OSError:
            pass  # already renamed, or never made


def write_by_name(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Atomically write ``path`` with a library that takes a file name, not a file
    (``nir.write``): ``write`` is given the temporary's name (beside ``path``)."""
    def through_name(fh: BinaryIO) -> None:
        write(Path(str(fh.name)))
    return write_files([(path, through_name)])[0]


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`write_files`)."""
    return write_files([(path, lambda fh: fh.write(data))])[0]


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, value: Any, *, indent: int = 2) -> Path:
    """Write ``value`` as JSON (and a final newline) to ``path`` atomically."""
    return write_text(path, json.dumps(value, indent=indent) + "\n")


def npz_writer(arrays: Mapping[str, np.ndarray], *, compressed: bool = False) -> Writer:
    """A writer of an ``.npz`` file of ``arrays`` (never pickled)."""
    def write(fh: BinaryIO) -> None:
        (np.savez_compressed if compressed else np.savez)(fh, **arrays)
    return write


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray], *, compressed: bool = False) -> Path:
    """Write ``arrays`` as an ``.npz`` file at ``path`` atomically."""
    return write_files([(path, npz_writer(arrays, compressed=compressed))])[0]
