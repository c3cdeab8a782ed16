"""A run folder: what ``neurocomp run --out`` (or ``validate --out``) writes, read back and drawn.

:func:`render` draws a run's pictures (:func:`neurocomp.report.plots.plots`) and its
self-contained page (:func:`neurocomp.report.html.html`, ``report.html``) into a folder;
:func:`load_folder` reads a saved folder so ``neurocomp report RUN_DIR`` can draw them
again from its files alone. Each picture needs some of the files; what a folder lacks is
said (``RunFolder.missing``), and the rest is drawn:

==================================  ===============================================
picture                             made from
==================================  ===============================================
``raster.png``, ``rates.png``       ``spikes.npz`` + ``summary.json`` (a single run)
``raster_full.png``, ``traces.png`` the same, when a population has more than 256 neurons,
                                    or the run probed a voltage or current
``maps.png``                        ``mapping.map.json`` (the shapes) + the spikes (or
                                    ``batch_counts.npz``), when a population is 2-D
``mesh_utilization.png``            ``mapping.map.json`` (+ ``.npz``); links weighted
                                    by the spikes (or ``batch_counts.npz``)
``mesh_energy.png``, ``cost.png``   ``mapping.map.json`` + ``counters.npz``, priced again
                                    with the profile ``report.json`` names
``validation.png``                  ``validation_counts.npz``
``confusion.png``                   ``validation_counts.npz`` with the samples' ``labels``
                                    (a validation on labelled samples)
==================================  ===============================================

``neurocomp run --plot`` / ``--html`` save the mapping and the counters for this, and
:func:`render` is what ``run``, ``validate`` and ``report`` call, so a page drawn again
is the page the run wrote, byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping as TMapping

import numpy as np

from ..diagnostics import InputFileError, UsageError

__all__ = ["render", "load_folder", "RunFolder", "MAPPING_FILE",
           "COUNTERS_FILE", "VALIDATION_COUNTS_FILE", "save_validation_counts", "picture_names"]

MAPPING_FILE = "mapping.map.json"
COUNTERS_FILE = "counters.npz"
VALIDATION_COUNTS_FILE = "validation_counts.npz"
_REPORT_FILE = "report.json"
_VALIDATION_FILE = "validation.json"
_BATCH_FILE = "batch_counts.npz"


def picture_names(*, single_run: bool, mapping: bool, cost: bool, validation: bool = False,
                  classifier: bool = False) -> list[str]:
    """The picture files :func:`render` writes for a run with these parts."""
    names = []
    if single_run:
        names += ["raster.png", "raster_full.png", "rates.png", "traces.png"]
    if mapping:
        names += ["maps.png", "mesh_utilization.png"]
        if cost:
            names.append("mesh_energy.png")
    if cost:
        names.append("cost.png")
    if validation:
        names.append("validation.png")
        if classifier:
            names.append("confusion.png")
    return names


# --------------------------------------------------------------------------- folder


@dataclass(frozen=True, eq=False, kw_only=True)
class RunFolder:
    """What a run folder holds, loaded; ``None`` for what it lacks (``missing`` says why)."""

    path: Path
    report: TMapping[str, Any] | None = None
    validation: TMapping[str, Any] | None = None
    result: Any = None  # RunResult of a single run
    spike_counts: TMapping[str, np.ndarray] | None = None  # a batch: summed over samples
    mapping: Any = None
    cost: Any = None
    validation_counts: TMapping[str, tuple[np.ndarray, np.ndarray]] | None = None
    labels: np.ndarray | None = None  # the labelled samples' labels of a validation
    missing: tuple[str, ...] = field(default_factory=tuple)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise InputFileError(f"'{path}' is JSON nested too deeply to be a run's file", where=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"'{path}' cannot be read as JSON ({exc})", where=str(path),
                             hint="write the run again with 'neurocomp run --out'") from None
    if not isinstance(data, dict):
        raise InputFileError(f"'{path}' does not hold a JSON object", where=str(path))
    return data


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    from ..resources import read_npz

    return read_npz(path, hint="write the run again with 'neurocomp run --out'")


def load_folder(folder: str | Path) -> RunFolder:
    """Load every part of a run (or validation) folder that is there.

    Raises
    ------
    UsageError
        When the folder does not exist or holds neither ``report.json`` nor
        ``validation.json``.
    InputFileError
        When a file that is there cannot be read.
    """
    d = Path(folder)
    if not d.is_dir():
        raise UsageError(f"no such folder: '{d}'", hint="give the --out folder of 'neurocomp run'")
    report = _read_json(d / _REPORT_FILE) if (d / _REPORT_FILE).is_file() else None
    validation = _read_json(d / _VALIDATION_FILE) if (d / _VALIDATION_FILE).is_file() else None
    if report is None and validation is None:
        raise UsageError(f"'{d}' holds no run: it has neither {_REPORT_FILE} nor {_VALIDATION_FILE}",
                         hint="write one with 'neurocomp run NET --chip CHIP --steps N --out DIR'")
    missing: list[str] = []
    result = spike_counts = mapping = priced = vcounts = labels = None
    if report is not None:
        from ..ir.result import SPIKES_FILE, SUMMARY_FILE, RunResult

        if (d / SPIKES_FILE).is_file() and (d / SUMMARY_FILE).is_file():
            result = RunResult.load(d)
        elif (d / _BATCH_FILE).is_file():
            spike_counts = {k: np.asarray(v, dtype=np.int64).sum(axis=0)
                            for k, v in _read_npz(d / _BATCH_FILE).items()}
        else:
            missing.append(f"no {SPIKES_FILE}: no raster or rates")
        if (d / MAPPING_FILE).is_file():
            from ..ir.mapping import Mapping

            mapping = Mapping.load(d / MAPPING_FILE)
        else:
            missing.append(f"no {MAPPING_FILE}: no mesh pictures (write it with 'neurocomp run --plot')")
        if (d / COUNTERS_FILE).is_file() and mapping is not None:
            priced = _price(d / COUNTERS_FILE, mapping, report)
        elif mapping is not None:
            missing.append(f"no {COUNTERS_FILE}: no cost picture and no mesh by energy "
                           "(write it with 'neurocomp run --plot' or '--trace')")
    if validation is not None:
        if (d / VALIDATION_COUNTS_FILE).is_file():
            vcounts = _validation_counts(d / VALIDATION_COUNTS_FILE)
            labels = _read_npz(d / VALIDATION_COUNTS_FILE).get("labels")
        else:
            missing.append(f"no {VALIDATION_COUNTS_FILE}: no validation picture "
                           "(write it with 'neurocomp validate --plot')")
    return RunFolder(path=d, report=report, validation=validation, result=result, spike_counts=spike_counts,
                     mapping=mapping, cost=priced, validation_counts=vcounts, labels=labels,
                     missing=tuple(missing))


def _price(path: Path, mapping: Any, report: TMapping[str, Any]) -> Any:
    """The run priced again from its saved counters, with the profile it was priced with."""
    from ..ir.result import Counters
    from .cost import CostReport, cost

    arrays = _read_npz(path)
    absent = [k for k in ("core_ids",) + Counters.FIELDS if k not in arrays]
    if absent:
        raise InputFileError(f"'{path}' lacks the counters {', '.join(absent)}", where=str(path))
    try:
        chip = mapping.chip.with_profile(report.get("profile"))
    except Exception:  # a profile the saved chip does not have: a pydantic validation error
        raise InputFileError(f"the run's profile {report.get('profile')!r} is not one of chip "
                             f"'{mapping.chip.name}''s profiles", where=str(path.parent / _REPORT_FILE)) from None
    per_sample = arrays["synops"].ndim == 3
    n = arrays["synops"].shape[0] if per_sample else 1
    costs = []
    for i in range(n):
        fields = {f: (arrays[f][i] if per_sample else arrays[f]) for f in Counters.FIELDS}
        costs.append(cost(Counters(core_ids=arrays["core_ids"], **fields), chip, mapping))
    return costs[0] if len(costs) == 1 else CostReport.combine(costs)


def _validation_counts(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    arrays = _read_npz(path)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in arrays:
        name, _, side = key.rpartition(".")
        if side == "float" and f"{name}.chip" in arrays:
            out[name] = (arrays[key], arrays[f"{name}.chip"])
    return out


def save_validation_counts(path: Path, counts: TMapping[str, tuple[np.ndarray, np.ndarray]],
                           labels: np.ndarray | None = None) -> Path:
    """``<pop>.float`` and ``<pop>.chip``: int64 ``[samples, n]`` spike counts; ``labels``
    (no dot, so no population's key): int64 ``(samples,)``, for the confusion matrix."""
    arrays: dict[str, np.ndarray] = {}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64).reshape(-1)
    for name, (ref, got) in counts.items():
        arrays[f"{name}.float"] = np.asarray(ref, dtype=np.int64)
        arrays[f"{name}.chip"] = np.asarray(got, dtype=np.int64)
    from ..atomic import save_npz

    return save_npz(path, arrays, compressed=True)


# --------------------------------------------------------------------------- drawing


def render(out: Path, *, plot: bool, page: bool, report: TMapping[str, Any] | None = None,
           validation: TMapping[str, Any] | None = None, result: Any = None,
           spike_counts: TMapping[str, np.ndarray] | None = None, mapping: Any = None, cost: Any = None,
           validation_counts: TMapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
           labels: np.ndarray | None = None) -> list[Path]:
    """Draw the pictures of a run and write them (``plot``) and/or the page (``page``)
    into ``out``; returns the paths written. The one path from a run's parts to its
    files, for ``neurocomp run``, ``validate`` and ``report`` alike. ``labels``: a
    validation's sample labels, for its classifier's confusion matrix."""
    from .html import HTML_FILE, html
    from .plots import plots

    chip_name = (report or validation or {}).get("chip")
    classifier = (validation or {}).get("classifier")
    pictures = plots(result=result, mapping=mapping, cost=cost, spike_counts=spike_counts,
                     validation_counts=validation_counts, chip_name=chip_name,
                     classifier=None if labels is None or not classifier else (classifier["output"], labels))
    from ..atomic import make_dir, write_bytes, write_text

    make_dir(out)
    written: list[Path] = []
    if plot:
        for name, data in pictures.items():
            written.append(write_bytes(out / name, data))
    if page:
        text = html(report, pictures, validation=validation, mapping=mapping)
        written.append(write_text(out / HTML_FILE, text))
    return written
