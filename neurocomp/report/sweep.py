"""A sweep's result: one network at every point of a grid of configurations.

Made by :func:`neurocomp.workflows.sweep.sweep`. Each row is the
:class:`~neurocomp.report.compare.ChipRow` of one point (its figures are defined in
:mod:`neurocomp.report.compare`: energy and latency per run, spikes, accuracy), next to
the :class:`SweepPoint` that says which configuration it is. :meth:`Sweep.pareto` marks
the points no other point beats on energy, latency and accuracy together.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, Mapping as TMapping

from .compare import ChipRow, _box_table

__all__ = ["Sweep", "SweepPoint"]


@dataclass(frozen=True)
class SweepPoint:
    """One configuration: the chip (and its profile and number of chips), the widest
    stored weight (``None``: the chip's own widths), the compiler's strategies."""

    chip: str
    profile: str
    n_chips: int
    weight_bits: int | None
    partition: str
    place: str

    def to_dict(self) -> dict[str, Any]:
        return {"chip": self.chip, "profile": self.profile, "n_chips": self.n_chips,
                "weight_bits": self.weight_bits, "partition": self.partition, "place": self.place}


@dataclass(frozen=True, eq=False, kw_only=True)
class Sweep:
    """Every point of a sweep and its row, in grid order.

    Attributes
    ----------
    network, steps, runs, dt_ms
        The network's name, steps per run, runs per point (1 or the samples), step.
    classifier
        Whether the runs were labelled samples (rows then have ``accuracy``).
    accuracy_ref
        The float reference's accuracy on the samples.
    points, rows
        The configurations and their rows, one to one.
    wall_s
        Seconds: the float reference, and all the points together.
    partial
        Ctrl-C stopped the sweep: the rows with status ``interrupted`` did not finish.
    """

    network: str
    steps: int
    runs: int
    dt_ms: float
    classifier: bool
    accuracy_ref: float | None
    points: tuple[SweepPoint, ...]
    rows: tuple[ChipRow, ...]
    wall_s: TMapping[str, float] = field(default_factory=dict)
    partial: bool = False

    def __len__(self) -> int:
        return len(self.rows)

    def pareto(self) -> list[int]:
        """The indices of the points that ran (status ``ok``) and that no other such
        point beats: none has energy per run and latency per run no higher and (for a
        classifier) accuracy no lower, with at least one of them strictly better."""
        ok = [i for i, r in enumerate(self.rows) if r.status == "ok" and r.energy_per_run_j is not None]

        def key(i: int) -> tuple[float, float, float]:
            r = self.rows[i]
            return (r.energy_per_run_j, r.latency_per_run_s, -(r.accuracy or 0.0))

        front = []
        for i in ok:
            a = key(i)
            beaten = any(all(x <= y for x, y in zip(key(j), a)) and key(j) != a for j in ok if j != i)
            if not beaten:
                front.append(i)
        return front

    # -- text -------------------------------------------------------------------------

    def _columns(self) -> list[tuple[str, str]]:
        cols = [("#", "right"), ("chip", "left"), ("profile", "left"), ("chips", "right"),
                ("weight\nbits", "right"), ("partition", "left"), ("place", "left"), ("status", "left"),
                ("cores", "right"), ("energy\n/run (J)", "right"), ("latency\n/run (s)", "right"),
                ("spikes", "right")]
        if self.classifier:
            cols.append(("accuracy", "right"))
        return cols + [("pareto", "left")]

    def _cells(self, i: int, front: set[int]) -> tuple[list[str], str | None]:
        p, r = self.points[i], self.rows[i]
        cells = [str(i), p.chip, p.profile, str(p.n_chips), "chip's" if p.weight_bits is None else str(p.weight_bits),
                 p.partition, p.place]
        if r.status != "ok":
            return cells, f"{r.status}: {r.reason}"
        cells += [r.status, str(r.cores), f"{r.energy_per_run_j:.3e}", f"{r.latency_per_run_s:.3e}",
                  str(r.spikes_chip)]
        if self.classifier:
            cells.append("n/a" if r.accuracy is None else f"{r.accuracy:.1%}")
        cells.append("*" if i in front else "")
        return cells, None

    def to_text(self) -> str:
        """A head line, one table (``*`` marks the Pareto front) and the notes."""
        runs = f"{self.runs} run{'s' if self.runs != 1 else ''}"
        head = [f"sweep of '{self.network}' over {len(self)} point{'s' if len(self) != 1 else ''}: "
                f"{self.steps} steps of {self.dt_ms:g} ms per run, {runs}"]
        if self.partial:
            done = sum(r.status != "interrupted" for r in self.rows)
            head.append(f"partial: interrupted after {done} of {len(self)} points")
        if self.accuracy_ref is not None:
            head.append(f"float reference accuracy: {self.accuracy_ref:.1%}")
        front = set(self.pareto())
        lines = head + _box_table(self._columns(), [self._cells(i, front) for i in range(len(self))])
        for i, row in enumerate(self.rows):
            for note in row.notes:
                lines.append(f"note: #{i}: {note}")
        return "\n".join(lines) + "\n"

    def render(self, console: Any) -> None:
        """Print :meth:`to_text` on a rich console (as plain text, never wrapped)."""
        from rich.text import Text

        console.print(Text(self.to_text().rstrip("\n")), soft_wrap=True)

    def __repr__(self) -> str:
        return self.to_text().rstrip("\n")

    # -- picture ----------------------------------------------------------------------

    def figure(self) -> Any:
        """Latency against energy per run (and, for a classifier, accuracy against energy
        per run): one point per point that ran, the Pareto front ringed in red and
        labelled with its ``#``. A bare matplotlib Figure
        (:func:`neurocomp.report.plots.png` turns it into PNG bytes)."""
        from .plots import _empty, _figure

        front = set(self.pareto())
        ok = [i for i, r in enumerate(self.rows) if r.status == "ok" and r.energy_per_run_j is not None]
        panels = [("latency per run (s)", lambda r: r.latency_per_run_s)]
        if self.classifier:
            panels.append(("accuracy", lambda r: r.accuracy))
        fig = _figure(4.2 * len(panels) + 0.4, 3.6)
        axes = fig.subplots(1, len(panels), squeeze=False).reshape(-1)
        for ax, (label, value) in zip(axes, panels):
            pts = [(i, self.rows[i].energy_per_run_j, value(self.rows[i])) for i in ok
                   if value(self.rows[i]) is not None]
            if not pts:
                _empty(ax, "no point ran")
                continue
            rest = [p for p in pts if p[0] not in front]
            best = [p for p in pts if p[0] in front]
            if rest:
                ax.scatter([p[1] for p in rest], [p[2] for p in rest], s=22, color="#7f7f7f", label="point")
            ax.scatter([p[1] for p in best], [p[2] for p in best], s=40, facecolors="none", edgecolors="#d62728",
                       linewidths=1.6, label="Pareto front")
            labels: dict[tuple[float, float], list[str]] = {}
            for i, x, y in best:  # points that coincide share one label
                labels.setdefault((x, y), []).append(f"#{i}")
            for (x, y), names in labels.items():
                ax.annotate(" ".join(names), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
            xs = [p[1] for p in pts]
            if min(xs) > 0 and max(xs) / min(xs) > 30:
                ax.set_xscale("log")
            ax.set_xlabel("energy per run (J)", fontsize=8)
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=8)
            ax.legend(fontsize=7, loc="best")
        fig.suptitle(f"sweep of '{self.network}': {len(ok)} of {len(self)} points ran", fontsize=9)
        return fig

    # -- files ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able digest: the grid's points with their rows (:meth:`ChipRow.to_dict`)."""
        from .._version import __version__

        front = set(self.pareto())
        return {
            "neurocomp": __version__, "network": self.network, "steps": int(self.steps), "runs": int(self.runs),
            "dt_ms": float(self.dt_ms), "classifier": self.classifier, "accuracy_ref": self.accuracy_ref,
            "partial": self.partial,
            "points": [dict(point=p.to_dict(), pareto=i in front, **r.to_dict())
                       for i, (p, r) in enumerate(zip(self.points, self.rows))],
            "wall_s": dict(self.wall_s),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    CSV_FIELDS = ("chip", "profile", "n_chips", "weight_bits", "partition", "place", "status", "reason", "cores",
                  "energy_per_run_j", "latency_per_run_s", "energy_per_step_j", "latency_per_step_s",
                  "spikes_chip", "spikes_ref", "accuracy", "pareto")

    def to_csv(self) -> str:
        """One line per point: its configuration and figures (empty where none)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.CSV_FIELDS)
        front = set(self.pareto())
        for i, (p, r) in enumerate(zip(self.points, self.rows)):
            values = dict(p.to_dict(), **{k: v for k, v in r.to_dict().items() if k not in p.to_dict()},
                          pareto=i in front)
            writer.writerow(["" if values.get(k) is None else values[k] for k in self.CSV_FIELDS])
        return out.getvalue()
