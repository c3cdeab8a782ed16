"""Reading the user's data files (weights, parameters, spikes) safely.

Arrays are loaded with ``allow_pickle=False``: a file holding Python objects is refused,
never executed. Every failure is a :class:`FileProblem` with a message in words, which
the builder turns into a diagnostic pointing at the file name in the network text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FileProblem", "load_array", "load_npz"]


class FileProblem(Exception):
    """A data file that is missing, unreadable, or not what was asked for."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


_PICKLE_HINT = "save plain numeric arrays, e.g. numpy.save(path, array.astype(numpy.float32))"


def _resolve(path: str, base_dir: Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


def _open(path: str, base_dir: Path):
    full = _resolve(path, base_dir)
    if not full.exists():
        raise FileProblem(f"file not found: '{path}'",
                          hint=f"file names are relative to the .snn file's folder, "
                               f"here {base_dir.resolve()}")
    if full.is_dir():
        raise FileProblem(f"'{path}' is a folder, not a file")
    from ..resources import array_file_problem

    problem = array_file_problem(full)  # before numpy allocates what a header declares
    if problem:
        raise FileProblem(f"'{path}': {problem}")
    try:
        return np.load(full, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise FileProblem(f"'{path}' holds Python objects (a pickle); neurocomp reads "
                              "numeric arrays only", hint=_PICKLE_HINT) from None
        raise FileProblem(f"cannot read '{path}': {exc}") from None
    except Exception as exc:  # a damaged header: numpy raises SyntaxError, TokenError, EOFError...
        raise FileProblem(f"cannot read '{path}': not a .npy or .npz file ({type(exc).__name__}: {exc})") from None


def _member(data: Any, key: str, path: str) -> np.ndarray:
    """One array of an open ``.npz`` (read on access: a damaged member fails here)."""
    try:
        return data[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise FileProblem(f"'{path}' holds Python objects (a pickle); neurocomp reads "
                              "numeric arrays only", hint=_PICKLE_HINT) from None
        raise FileProblem(f"cannot read array '{key}' of '{path}': {exc}") from None
    except Exception as exc:  # zip CRC errors, a truncated member, a damaged header
        raise FileProblem(f"cannot read array '{key}' of '{path}' ({type(exc).__name__}: {exc})") from None


def load_array(path: str, base_dir: Path) -> np.ndarray:
    """One array from a ``.npy`` file (or the only array of an ``.npz``)."""
    data = _open(path, base_dir)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = list(data.keys())
            if len(keys) != 1:
                raise FileProblem(f"'{path}' holds {len(keys)} arrays ({', '.join(keys)}); "
                                  "expected one", hint="give a .npy file")
            return _checked(_member(data, keys[0], path), path)
    return _checked(data, path)


def load_npz(path: str, base_dir: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file (a ``.npy`` file gives ``{"": array}``)."""
    data = _open(path, base_dir)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            return {k: _checked(_member(data, k, path), path) for k in data.keys()}
    return {"": _checked(data, path)}


def _checked(array: np.ndarray, path: str) -> np.ndarray:
    if array.dtype.names is None and not (np.issubdtype(array.dtype, np.number)
                                          or array.dtype == np.bool_ or array.dtype.kind in "SU"):
        raise FileProblem(f"'{path}' holds {array.dtype} values; expected numbers")
    if array.dtype.kind == "c":  # its imaginary part would be dropped without a word
        raise FileProblem(f"'{path}' holds complex numbers ({array.dtype}); expected real ones",
                          hint="save the real part: numpy.save(path, array.real)")
    if array.dtype.names is None and np.issubdtype(array.dtype, np.floating) \
            and not np.all(np.isfinite(array)):
        raise FileProblem(f"'{path}' holds NaN or infinite values")
    return array
