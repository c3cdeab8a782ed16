"""One network on several chips, side by side: what each costs and how well it agrees.

:mod:`neurocomp.workflows.compare` compiles and runs the network on each chip; this
module holds what it fills and how that is drawn: a :class:`Comparison`, one
:class:`ChipRow` per chip in the order given and the float reference's figures, as text
(a box table), HTML and JSON, and the helpers that turn one chip's artifacts (its
Mapping, its priced runs, its :class:`~neurocomp.report.validate.ValidationReport`)
into a row's figures.

The figures of a row (``R`` runs of ``T`` steps; ``E`` and ``L`` the priced energy and
latency of all runs together)::

    chips_used, cores       chips and cores the Mapping occupies
    fullest                 max over resources r and cores k of used[k, r] / limit[r]
    energy_per_step_j       E / (R · T)         energy_per_run_j   = E / R
    latency_per_step_s      L / (R · T)         latency_per_run_s  = L / R
                            (a real-time chip: its tick, and T ticks per run)
    weight_error_max        max over projections of the quantization's max_error
                            (relative to the projection's largest weight)
    spikes_chip, spikes_ref spikes of the neuron populations, all runs
    correlation_worst       the lowest spike-count correlation (Pearson's r between the
                            two runs' counts per neuron) among the populations where it
                            is defined; correlation_undefined counts the others
    accuracy                the chip's accuracy as a classifier (samples only)
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from html import escape
from typing import Any, Mapping as TMapping, Sequence

import numpy as np

from ..diagnostics import NeurocompError, UsageError
from .cost import CostReport
from .report import Report, si
from .validate import ValidationReport

__all__ = ["Comparison", "ChipRow", "STATUSES", "row_labels", "error_reason", "mapping_figures", "run_figures"]

#: What a row's ``status`` may be, and what each means.
STATUSES = {
    "ok": "compiled, emulated and priced",
    "does not fit": "the compiler raised a CapacityError",
    "cannot represent": "the compiler raised a QuantizationError",
    "cannot emulate": "compiled, but not emulated: no emulator kernel runs its neuron family, or the "
                      "chip refuses the inputs (values where its spikes carry none)",
    "no such chip": "a sweep's point asks for a profile or a weight width the chip does not have",
    "interrupted": "a sweep's point that Ctrl-C stopped before it finished",
}


@dataclass(frozen=True, eq=False, kw_only=True)
class ChipRow:
    """One chip of a :class:`Comparison` (see the module docstring for the figures).

    A figure the chip did not get to (it did not fit, or could not be emulated) is
    ``None``. ``reason`` is the first message of the error that stopped it (it names the
    object), ``more_reasons`` how many further messages the error held, ``error`` the
    error's full text. ``mapping``, ``report`` and ``validation`` are the artifacts the
    row was made from, for a closer look.
    """

    label: str
    chip: str
    profile: str
    n_chips: int
    status: str
    reason: str | None = None
    more_reasons: int = 0
    error: str | None = None
    chips_used: int | None = None
    cores: int | None = None
    fullest_resource: str | None = None
    fullest_fraction: float | None = None
    fullest_core: int | None = None
    weight_error_max: float | None = None
    weight_error_projection: str | None = None
    real_time: bool = False
    energy_per_step_j: float | None = None
    energy_per_run_j: float | None = None
    latency_per_step_s: float | None = None
    latency_per_run_s: float | None = None
    spikes_chip: int | None = None
    spikes_ref: int | None = None
    correlation_worst: float | None = None
    correlation_population: str | None = None
    correlation_undefined: int = 0
    correlations: TMapping[str, float | None] = field(default_factory=dict)
    accuracy: float | None = None
    energy_band: tuple[float, float] | None = None
    latency_band: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()
    wall_s: TMapping[str, float] = field(default_factory=dict)
    mapping: Any = None
    report: Report | None = None
    validation: ValidationReport | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __repr__(self) -> str:
        parts = [f"ChipRow({self.label!r}: {self.status}"]
        if self.cores is not None:
            parts.append(f"{self.cores:,} core{'s' if self.cores != 1 else ''} on {self.chips_used} chip(s)")
        if self.energy_per_step_j is not None:
            parts.append(f"{si(self.energy_per_step_j, 'J')} and {si(self.latency_per_step_s or 0.0, 's')} per step")
            parts.append(f"spikes {self.spikes_chip:,} / {_count(self.spikes_ref)}")
        if self.accuracy is not None:
            parts.append(f"accuracy {self.accuracy:.1%}")
        if self.reason is not None:
            parts.append(self.reason)
        return ", ".join(parts) + ")"

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-able values (no artifacts; SI units)."""
        out = {k: getattr(self, k) for k in (
            "label", "chip", "profile", "n_chips", "status", "reason", "more_reasons", "error", "chips_used",
            "cores", "fullest_resource", "fullest_fraction", "fullest_core", "weight_error_max",
            "weight_error_projection", "real_time", "energy_per_step_j", "energy_per_run_j",
            "latency_per_step_s", "latency_per_run_s", "spikes_chip", "spikes_ref", "correlation_worst",
            "correlation_population", "correlation_undefined", "accuracy")}
        out["correlations"] = dict(self.correlations)
        out["band"] = {"energy": None if self.energy_band is None else list(self.energy_band),
                       "latency": None if self.latency_band is None else list(self.latency_band)}
        out["notes"] = list(self.notes)
        out["wall_s"] = dict(self.wall_s)
        return out


@dataclass(frozen=True, eq=False, kw_only=True)
class Comparison:
    """A network on several chips: one :class:`ChipRow` per chip, and the reference.

    Attributes
    ----------
    network : str
        The network's name.
    steps : int
        Steps per run.
    runs : int
        Runs per chip: 1, or the number of samples.
    dt_ms : float
        Length of one step.
    classifier : bool
        Whether the runs were labelled samples (the rows then have an ``accuracy``).
    output : str or None
        The classifier's output population.
    accuracy_ref : float or None
        The float reference's accuracy on the samples.
    spikes_ref : Mapping[str, int]
        The reference's spikes per neuron population, over all runs.
    rows : tuple[ChipRow, ...]
        One per chip, in the order given.
    wall_s : Mapping[str, float]
        Wall-clock time of the reference and of each chip (by label).
    reference_missing : str or None
        Why the float reference could not run (a max pool, which only Akida computes):
        the rows then hold the chips' own figures, without agreement.
    """

    network: str
    steps: int
    runs: int
    dt_ms: float
    classifier: bool = False
    output: str | None = None
    accuracy_ref: float | None = None
    spikes_ref: TMapping[str, int] = field(default_factory=dict)
    rows: tuple[ChipRow, ...] = ()
    wall_s: TMapping[str, float] = field(default_factory=dict)
    reference_missing: str | None = None  # why the float reference could not run (then no agreement)

    # -- queries ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key: int | str) -> ChipRow:
        """A row by position, or by label or chip name."""
        if isinstance(key, str):
            for row in self.rows:
                if key in (row.label, row.chip):
                    return row
            from ..diagnostics import did_you_mean

            raise UsageError(f"the comparison has no chip '{key}'",
                             hint=did_you_mean(key, [r.label for r in self.rows]))
        return self.rows[key]

    def column(self, name: str) -> np.ndarray:
        """float64 ``(len(rows),)``: one numeric figure of every row, NaN where missing.

        ``name`` is a numeric field of :class:`ChipRow` (``"energy_per_step_j"``,
        ``"cores"``, ``"accuracy"``...).
        """
        numeric = _NUMERIC
        if name not in numeric:
            from ..diagnostics import did_you_mean

            raise UsageError(f"'{name}' is not a numeric figure of a row", hint=did_you_mean(name, numeric))
        return np.array([np.nan if getattr(r, name) is None else float(getattr(r, name)) for r in self.rows],
                        dtype=np.float64)

    # -- text -------------------------------------------------------------------------

    def _head(self) -> list[str]:
        per = "sample" if self.classifier else "run"
        runs = f"{self.runs:,} samples" if self.classifier else \
            f"{self.runs:,} run{'s' if self.runs != 1 else ''}"
        lines = [f"'{self.network}' on {len(self.rows)} chip{'s' if len(self.rows) != 1 else ''}: "
                 f"{self.steps:,} steps of {self.dt_ms:g} ms per {per}, {runs}"]
        spikes = ", ".join(f"{name} {n:,}" for name, n in self.spikes_ref.items())
        ref = f"float reference: {sum(self.spikes_ref.values()):,} spikes ({spikes})" if spikes else \
            "float reference: no neuron populations"
        if self.reference_missing is not None:
            ref = f"float reference: none ({self.reference_missing}); the chips' own figures only"
        if self.classifier and self.accuracy_ref is not None:
            ref += f"; accuracy {self.accuracy_ref:.1%} (output '{self.output}')"
        lines.append(ref)
        return lines

    def _columns(self) -> list[tuple[str, str]]:
        per = "sample" if self.classifier else "run"
        cols = [("chip", "left"), ("chips", "right"), ("cores", "right"), ("fullest core", "right"),
                ("weight\nerror", "right"), ("energy\nper step", "right"), (f"energy\nper {per}", "right"),
                ("latency\nper step", "right"), ("spikes\nchip / float", "right"), ("count r\n(worst)", "right")]
        if self.classifier:
            cols.append(("accuracy", "right"))
        return cols

    def _cells(self, row: ChipRow) -> tuple[list[str], str | None]:
        """A row's cells, and the text spanning the columns it has no cells for."""
        cells = [row.label]
        if row.cores is None:
            return cells, _why(row)
        cells += [f"{row.chips_used:,}", f"{row.cores:,}", _fullest(row),
                  "-" if row.weight_error_max is None else f"{row.weight_error_max:.2%}"]
        if row.energy_per_step_j is None:
            return cells, _why(row)
        latency = si(row.latency_per_step_s or 0.0, "s") + (" tick" if row.real_time else _band(row.latency_band))
        r = _fmt_r(row)
        cells += [si(row.energy_per_step_j, "J"), si(row.energy_per_run_j or 0.0, "J") + _band(row.energy_band),
                  latency, f"{row.spikes_chip:,} / {_count(row.spikes_ref)}", r]
        if self.classifier:
            cells.append("n/a" if row.accuracy is None else f"{row.accuracy:.1%}")
        return cells, None

    def to_text(self) -> str:
        """The comparison as plain text: a head, one table, notes (what ``neurocomp
        compare`` prints)."""
        lines = self._head()
        lines += _box_table(self._columns(), [self._cells(r) for r in self.rows])
        for row in self.rows:
            for note in row.notes:
                lines.append(f"note: {row.label}: {note}")
        return "\n".join(lines) + "\n"

    def render(self, console: Any) -> None:
        """Print :meth:`to_text` on a rich console (as plain text, never wrapped)."""
        from rich.text import Text

        console.print(Text(self.to_text().rstrip("\n")), soft_wrap=True)

    def __repr__(self) -> str:
        return self.to_text().rstrip("\n")

    def _repr_html_(self) -> str:
        cols = self._columns()
        head = "".join(f"<th style=\"text-align:{j}\">{escape(c).replace(chr(10), '<br>')}</th>" for c, j in cols)
        body = []
        for row in self.rows:
            cells, span = self._cells(row)
            tds = "".join(f"<td style=\"text-align:{cols[i][1]}\">{escape(c)}</td>" for i, c in enumerate(cells))
            if span is not None:
                tds += f"<td colspan=\"{len(cols) - len(cells)}\" style=\"text-align:left\">{escape(span)}</td>"
            body.append(f"<tr>{tds}</tr>")
        notes = "".join(f"<p>note: {escape(row.label)}: {escape(n)}</p>" for row in self.rows for n in row.notes)
        heads = "".join(f"<p>{escape(line)}</p>" for line in self._head())
        return (f"<div>{heads}<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>{notes}</div>")

    # -- JSON -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able digest: the reference and every row (:meth:`ChipRow.to_dict`)."""
        from .._version import __version__

        return {
            "neurocomp": __version__,
            "network": self.network,
            "steps": int(self.steps),
            "runs": int(self.runs),
            "dt_ms": float(self.dt_ms),
            "classifier": self.classifier,
            "reference": {"spikes": dict(self.spikes_ref), "accuracy": self.accuracy_ref, "output": self.output,
                          "missing": self.reference_missing},
            "chips": [r.to_dict() for r in self.rows],
            "wall_s": dict(self.wall_s),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


#: The numeric figures of a row (what :meth:`Comparison.column` gives).
_NUMERIC = ("n_chips", "chips_used", "cores", "fullest_fraction", "fullest_core", "weight_error_max",
            "energy_per_step_j", "energy_per_run_j", "latency_per_step_s", "latency_per_run_s", "spikes_chip",
            "spikes_ref", "correlation_worst", "correlation_undefined", "accuracy", "more_reasons")


def _count(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def _band(band: tuple[float, float] | None) -> str:
    """A figure's error band as its profile gives it (empty when it gives none)."""
    return "" if band is None else f" (x{band[0]:g}-x{band[1]:g})"


def _why(row: ChipRow) -> str:
    more = f" (and {row.more_reasons} more)" if row.more_reasons else ""
    return f"{row.status}: {row.reason}{more}"


def _fullest(row: ChipRow) -> str:
    if row.fullest_fraction is None or row.fullest_resource is None:
        return "-"
    name = row.fullest_resource.replace("config_registers.", "registers ").replace("_bits", "") \
        .replace("_bytes", "").replace("_", " ")
    return f"{100.0 * row.fullest_fraction:.1f} % {name}"


def _fmt_r(row: ChipRow) -> str:
    if row.correlation_worst is None:
        return "n/a"
    text = f"{row.correlation_worst:.3f}"
    return text + (f" ({row.correlation_undefined} n/a)" if row.correlation_undefined else "")


def _box_table(columns: Sequence[tuple[str, str]], rows: Sequence[tuple[list[str], str | None]],
               span_width: int = 40) -> list[str]:
    """A table drawn like rich's heavy-headed tables, where a row may end in one cell that
    spans the remaining columns (what rich cannot draw); that text wraps at the width of
    the columns it spans, or ``span_width`` if they are narrower."""
    n = len(columns)
    heads = [c.split("\n") for c, _ in columns]
    height = max(len(h) for h in heads)
    heads = [[""] * (height - len(h)) + h for h in heads]  # headers sit on the bottom line
    widths = [max(len(line) for line in h) for h in heads]
    for cells, _ in rows:
        for i, c in enumerate(cells):
            widths[i] = max(widths[i], len(c))
    for cells, span in rows:
        if span is not None:
            k = len(cells)
            room = sum(widths[k:]) + 3 * (n - k - 1)
            if room < min(span_width, len(span)):  # widen the last column so the text fits
                widths[-1] += min(span_width, len(span)) - room

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cell(text: str, i: int) -> str:
        return text.ljust(widths[i]) if columns[i][1] == "left" else text.rjust(widths[i])

    out = [line("┏", "┳", "┓", "━")]
    for r in range(height):
        out.append("┃ " + " ┃ ".join(cell(heads[i][r], i) for i in range(n)) + " ┃")
    out.append(line("┡", "╇", "┩", "━"))
    for cells, span in rows:
        k = len(cells)
        if span is None:
            out.append("│ " + " │ ".join(cell(c, i) for i, c in enumerate(cells)) + " │")
            continue
        room = sum(widths[k:]) + 3 * (n - k - 1)
        wrapped = textwrap.wrap(span, room, break_on_hyphens=False) or [""]
        for j, text in enumerate(wrapped):
            left = [cell(c if j == 0 else "", i) for i, c in enumerate(cells)]
            out.append("│ " + " │ ".join([*left, text.ljust(room)]) + " │")
    out.append(line("└", "┴", "┘", "─"))
    return out


# --------------------------------------------------------------------------- a row's figures


def row_labels(specs: Sequence[Any]) -> list[str]:
    """``loihi``; ``loihi x2`` for a system of two; ``loihi [sanafe]`` for another profile;
    a ``#k`` suffix where two chips would still read the same."""
    labels = []
    for spec in specs:
        text = spec.name + (f" x{spec.n_chips}" if spec.n_chips != 1 else "")
        if spec.active_profile != spec.default_profile:
            text += f" [{spec.active_profile}]"
        labels.append(text)
    out = []
    for i, text in enumerate(labels):
        out.append(f"{text} #{labels[:i + 1].count(text)}" if labels.count(text) > 1 else text)
    return out


def error_reason(exc: NeurocompError) -> dict[str, Any]:
    """A row's ``reason``, ``more_reasons``, ``error`` and ``notes``: the first message of
    an error (it names the population, projection or core), how many more it holds, its
    whole text, and what it adds up to (what would have to change)."""
    first = exc.diagnostics[0].message.splitlines()[0] if exc.diagnostics else str(exc).splitlines()[0]
    return dict(reason=first, more_reasons=max(0, len(exc.diagnostics) - 1), error=exc.render(),
                notes=tuple(getattr(exc, "notes", ())))


def mapping_figures(mapping: Any, chip: Any) -> dict[str, Any]:
    """A row's compile figures of ``mapping`` on ``chip`` (the ChipSpec it was compiled
    for): chips and cores used, the fullest core, the largest weight error (and the
    Mapping itself)."""
    per_chip = chip.topology.cores_per_chip
    util = mapping.utilization()
    fullest = max(((used / limit, name, core) for name, used, limit, core in util.worst() if limit),
                  default=None, key=lambda t: t[0])
    worst_q = max(mapping.quantization.projections, key=lambda e: e.max_error, default=None)
    return dict(chips_used=len({c.core_id // per_chip for c in mapping.cores}), cores=len(mapping.cores),
                fullest_fraction=None if fullest is None else float(fullest[0]),
                fullest_resource=None if fullest is None else fullest[1],
                fullest_core=None if fullest is None else int(fullest[2]),
                weight_error_max=None if worst_q is None else float(worst_q.max_error),
                weight_error_projection=None if worst_q is None else worst_q.projection,
                real_time=chip.timing.real_time, mapping=mapping)


def run_figures(total: CostReport, validation: ValidationReport | None, *, steps: int = 0, runs: int = 0,
                spikes_chip: int | None = None) -> dict[str, Any]:
    """A row's run figures: energy and latency per step and per run from the priced runs
    together, and the spikes, correlations and accuracy from their validation; without a
    validation (no float reference), ``steps``, ``runs`` and ``spikes_chip`` given and no
    agreement figures."""
    if validation is None:
        return dict(energy_per_step_j=total.energy_pj * 1e-12 / (steps * runs),
                    energy_per_run_j=total.energy_pj * 1e-12 / runs,
                    latency_per_step_s=total.latency_ns * 1e-9 / (steps * runs),
                    latency_per_run_s=total.latency_ns * 1e-9 / runs, spikes_chip=spikes_chip)
    steps, n_runs = validation.steps, validation.samples
    pops = validation.populations
    defined = [(p.correlation, p.name) for p in pops if p.correlation is not None]
    worst = min(defined, default=None)
    classifier = validation.classifier
    return dict(
        energy_per_step_j=total.energy_pj * 1e-12 / (steps * n_runs),
        energy_per_run_j=total.energy_pj * 1e-12 / n_runs,
        latency_per_step_s=total.latency_ns * 1e-9 / (steps * n_runs),
        latency_per_run_s=total.latency_ns * 1e-9 / n_runs,
        spikes_chip=sum(p.spikes_chip for p in pops), spikes_ref=sum(p.spikes_ref for p in pops),
        correlation_worst=None if worst is None else float(worst[0]),
        correlation_population=None if worst is None else worst[1],
        correlation_undefined=len(pops) - len(defined),
        correlations={p.name: p.correlation for p in pops},
        accuracy=None if classifier is None else classifier.accuracy_chip,
        energy_band=total.energy_band, latency_band=total.latency_band)
