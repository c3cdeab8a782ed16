"""Helpers shared by the example data scripts.

Every script takes ``--out DIR`` (default: ``examples/data``) and writes byte-stable
files: ``.npy`` through :func:`numpy.save`, ``.npz`` through :func:`save_npz`, which fixes
the zip members' timestamps so that running a script twice gives identical bytes.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# The date stored for every zip member (the earliest a zip file can hold).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def parse_args(description: str) -> argparse.Namespace:
    """The command line every script shares: ``--out DIR``; the folder is created."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=DATA_DIR,
                        help=f"folder to write the data into (default: {DATA_DIR})")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def save_npy(path: Path, array: np.ndarray) -> None:
    """Save one array as ``.npy`` (no pickles)."""
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Save arrays as a compressed ``.npz`` with fixed member dates (byte-stable).

    :func:`numpy.savez_compressed` stamps each member with the current time, so two
    runs differ in their bytes; this writes the same format with a fixed date.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
