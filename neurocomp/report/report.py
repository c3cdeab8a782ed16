"""The report of a chip run: spikes, energy, latency, the busiest core; text and JSON.

Input: the :class:`~neurocomp.ir.result.RunResult` of one emulated run (or the results
of a batch), the :class:`~neurocomp.report.cost.CostReport` that priced it, the chip,
and optionally the :class:`~neurocomp.ir.mapping.Mapping` (to say what the busiest core
holds). Output: a :class:`Report`, a frozen summary that renders as text tables
(:meth:`Report.to_text`) and JSON (:meth:`Report.to_json`, :meth:`Report.save` writes
``report.json``). ``docs/energy.md`` says how to read it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping as TMapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..diagnostics import UsageError
from ..ir.result import RunResult
from .cost import _RELAY_SLICE, CostReport
from .notices import Notice

__all__ = ["report", "Report", "PopulationLine", "REPORT_FILE", "si"]

REPORT_FILE = "report.json"

_KIND_NAMES = {"synaptic": "synaptic ops", "neuron": "neuron updates", "routing": "spike routing", "host": "host I/O",
               "contention": "contention (replay)",
               "static": "static", "barrier": "barrier", "tick": "tick (real time)"}


@dataclass(frozen=True, kw_only=True)
class PopulationLine:
    """One population of the run: its size, whether it is an input, its spikes in all."""

    name: str
    size: int
    is_input: bool
    spikes: int


@dataclass(frozen=True, eq=False, kw_only=True)
class Report:
    """What a chip run did and cost.

    Attributes
    ----------
    network, chip, profile : str
        Names of the network, the chip and the cost profile.
    steps : int
        Steps per sample.
    samples : int
        Samples run (1, or the size of a batch).
    dt_ms : float
        Length of one step.
    populations : tuple[PopulationLine, ...]
        Per population (network order), spikes summed over the samples.
    cost : CostReport
        Energy and latency (all samples together).
    busiest_holds : str
        What the busiest core holds (``"hidden[0:64], out[0:10]"``), when known.
    busiest_position : str
        Where the busiest core sits (``"chip 0, tile (1, 0)"``).
    wall_s : Mapping[str, float]
        Wall-clock times of the stages that made it (compile, emulate, cost...).
    caveat : str
        The cost profile's caveat (how far its prices can be trusted), or ``""``.
    warnings : tuple[Notice, ...]
        What the compile and the runs lost (:func:`neurocomp.report.notices.collect`).
    """

    network: str
    chip: str
    profile: str
    steps: int
    samples: int = 1
    dt_ms: float
    populations: tuple[PopulationLine, ...]
    cost: CostReport
    busiest_holds: str = ""
    busiest_position: str = ""
    wall_s: TMapping[str, float] = field(default_factory=dict)
    caveat: str = ""
    warnings: tuple[Notice, ...] = ()

    # -- text -------------------------------------------------------------------------

    def render(self, console: Console) -> None:
        """Print the report's tables on a rich console."""
        c = self.cost
        cores = c.core_ids.size
        head = (f"run of '{self.network}' on {self.chip} (profile {self.profile}): "
                f"{self.steps:,} steps of {self.dt_ms:g} ms")
        if self.samples != 1:
            head += f" x {self.samples:,} samples"
        head += (f"; {c.n_chips} chip{'s' if c.n_chips != 1 else ''} powered, "
                 f"{cores} core{'s' if cores != 1 else ''} on {c.tiles_used} "
                 f"tile{'s' if c.tiles_used != 1 else ''}")
        console.print(Text(head), soft_wrap=True)
        if self.caveat:
            console.print(Text(f"note: {self.caveat}"), soft_wrap=True)
        console.print(self._spike_table())
        console.print(self._energy_table())
        console.print(self._latency_table())
        if c.energy_by_population_pj:
            console.print(self._population_table())
        console.print(Text(self._busiest_line()), soft_wrap=True)
        if c.real_time and c.overrun_steps:
            steps = f"{c.overrun_steps:,} step{'s' if c.overrun_steps != 1 else ''}"
            console.print(Text(f"warning: in {steps} the slowest core needed more than the "
                               f"{si(c.tick_ns * 1e-9, 's')} tick (the chip would fall behind real time)"),
                          soft_wrap=True)
        if self.wall_s:
            parts = ", ".join(f"{k} {v:.3g} s" for k, v in self.wall_s.items())
            console.print(Text(f"wall: {parts}"))

    def to_text(self, width: int = 100) -> str:
        """The report as plain text tables (what ``neurocomp run`` prints)."""
        buf = io.StringIO()
        console = Console(file=buf, width=width, color_system=None, highlight=False,
                          soft_wrap=False, emoji=False)
        self.render(console)
        return buf.getvalue()

    def __repr__(self) -> str:
        return self.to_text().rstrip("\n")

    def _repr_html_(self) -> str:
        """For notebooks: the head, spikes, energy and latency as plain HTML tables."""
        from html import escape

        c = self.cost

        def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
            head = "".join(f"<th>{escape(h)}</th>" for h in header)
            right = ' style="text-align:right"'
            body = "".join("<tr>" + "".join(f"<td{right if i >= left else ''}>{escape(str(v))}</td>"
                                            for i, v in enumerate(row)) + "</tr>" for row in rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        head = (f"run of '{self.network}' on {self.chip} (profile {self.profile}): {self.steps:,} steps of "
                f"{self.dt_ms:g} ms" + (f" x {self.samples:,} samples" if self.samples != 1 else "")
                + f"; {c.core_ids.size} core{'s' if c.core_ids.size != 1 else ''} on {c.tiles_used} "
                f"tile{'s' if c.tiles_used != 1 else ''}")
        duration_s = self.steps * self.samples * self.dt_ms * 1e-3
        spikes = [(p.name, "input" if p.is_input else "neurons", f"{p.size:,}", f"{p.spikes:,}",
                   f"{p.spikes / (p.size * duration_s) if p.size and duration_s else 0.0:.2f} Hz")
                  for p in self.populations]
        energy = [(_KIND_NAMES.get(k, k), si(v * 1e-12, "J"), si(v * 1e-12 / c.steps if c.steps else 0.0, "J"),
                   _percent(v, c.energy_pj)) for k, v in c.energy_by_kind_pj.items()]
        energy.append(("total", si(c.energy_j, "J"), si(c.energy_per_step_pj * 1e-12, "J"), "100.0 %"))
        latency = [("per step (mean)", si(c.mean_step_latency_ns * 1e-9, "s")),
                   ("per step (worst)", si(c.worst_step_latency_ns * 1e-9, "s")),
                   ("total", si(c.latency_s, "s"))]
        return (f"<div><p>{escape(head)}</p>"
                + table(("population", "kind", "neurons", "spikes", "mean rate"), spikes, left=2)
                + table(("energy", "total", "per step", "share"), energy)
                + table(("latency", "time"), latency) + "</div>")

    def _spike_table(self) -> Table:
        duration_s = self.steps * self.samples * self.dt_ms * 1e-3
        table = Table(title="spikes", title_justify="left")
        for col in ("population", "kind", "neurons", "spikes", "mean rate"):
            table.add_column(col, justify="left" if col in ("population", "kind") else "right")
        for p in self.populations:
            rate = p.spikes / (p.size * duration_s) if p.size and duration_s else 0.0
            table.add_row(Text(p.name), "input" if p.is_input else "neurons", f"{p.size:,}",
                          f"{p.spikes:,}", f"{rate:.2f} Hz")
        return table

    def _energy_table(self) -> Table:
        c = self.cost
        table = Table(title="energy", title_justify="left")
        table.add_column("kind")
        for col in ("total", "per step") + (("per sample",) if self.samples != 1 else ()) + ("share",):
            table.add_column(col, justify="right")
        total = c.energy_pj
        rows = [(k, v) for k, v in c.energy_by_kind_pj.items()] + [("total", total)]
        for kind, pj in rows:
            cells = [si(pj * 1e-12, "J"), si(pj * 1e-12 / c.steps if c.steps else 0.0, "J")]
            if self.samples != 1:
                cells.append(si(pj * 1e-12 / self.samples, "J"))
            cells.append(_percent(pj, total))
            table.add_row(_KIND_NAMES.get(kind, kind), *cells,
                          end_section=kind == rows[-2][0])
        table.caption, table.caption_justify = _band_caption(self.profile, c.energy_band, c.energy_j, "J"), "left"
        return table

    def _latency_table(self) -> Table:
        c = self.cost
        table = Table(title="latency", title_justify="left")
        table.add_column("")
        table.add_column("time", justify="right")
        table.add_column("", justify="left")
        if c.real_time:
            table.add_row("per step", si(c.tick_ns * 1e-9, "s"), "real time: one tick per step")
        else:
            worst = c.worst_step
            where = ""
            if worst >= 0:
                core = int(c.critical_core[worst])
                where = f"step {worst % self.steps if self.steps else worst}" + (
                    f" of sample {worst // self.steps}" if self.samples != 1 and self.steps else "")
                if core >= 0:
                    where += f", core {core}"
            table.add_row("per step, mean", si(c.mean_step_latency_ns * 1e-9, "s"), "")
            table.add_row("per step, worst", si(c.worst_step_latency_ns * 1e-9, "s"), where)
        table.add_row("total", si(c.latency_s, "s"),
                      f"{self.steps * self.samples:,} steps" if c.real_time
                      else "sum of the steps", end_section=True)
        if not c.real_time:
            for kind, ns in c.latency_by_kind_ns.items():
                table.add_row(f"  {_KIND_NAMES.get(kind, kind)}", si(ns * 1e-9, "s"),
                              f"{_percent(ns, c.latency_ns)} of the critical path")
        table.caption, table.caption_justify = _band_caption(self.profile, c.latency_band, c.latency_s, "s"), "left"
        return table

    def _population_table(self) -> Table:
        c = self.cost
        table = Table(title="by population", title_justify="left")
        table.add_column("population")
        for col in ("dynamic energy", "share") + (("busy time",) if c.timed_ops else ()):
            table.add_column(col, justify="right")
        dynamic = c.dynamic_energy_pj
        for name, pj in c.energy_by_population_pj.items():
            cells = [si(pj * 1e-12, "J"), _percent(pj, dynamic)]
            if c.timed_ops:
                cells.append(si(c.busy_by_population_ns.get(name, 0.0) * 1e-9, "s"))
            table.add_row(Text(name), *cells)
        return table

    def _busiest_line(self) -> str:
        c = self.cost
        core = c.busiest_core
        if core < 0:
            return "busiest core: none (no core was used)"
        k = int(list(c.core_ids).index(core))
        text = f"busiest core: {core}"
        if self.busiest_position:
            text += f" ({self.busiest_position})"
        if self.busiest_holds:
            text += f", holds {self.busiest_holds}"
        energy = si(float(c.energy_by_core_pj[k]) * 1e-12, "J")
        if c.timed_ops:
            text += (f"\n  busy {si(float(c.busy_by_core_ns[k]) * 1e-9, 's')} in all, the slowest core in "
                     f"{int(c.critical_steps_by_core[k]):,} of {c.steps:,} steps, {energy} of dynamic energy")
        else:
            text += (f"\n  {energy} of dynamic energy, the most of any core "
                     f"(busy times are unknown: profile {c.profile} has no operation times)")
        return text

    # -- JSON -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able digest: everything the text shows, and the per-core table."""
        from .._version import __version__

        return {
            "neurocomp": __version__,
            "network": self.network,
            "chip": self.chip,
            "profile": self.profile,
            **({"caveat": self.caveat} if self.caveat else {}),
            "steps": int(self.steps),
            "samples": int(self.samples),
            "dt_ms": float(self.dt_ms),
            "populations": {p.name: {"size": p.size, "input": p.is_input, "spikes": p.spikes}
                            for p in self.populations},
            "cost": self.cost.to_dict(),
            "busiest_core": {"core": self.cost.busiest_core, "position": self.busiest_position,
                             "holds": self.busiest_holds},
            "wall_s": dict(self.wall_s),
            "warnings": [n.to_dict() for n in self.warnings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, out_dir: str | Path, overwrite: bool = False) -> Path:
        """Write ``report.json`` into ``out_dir`` (created if needed); returns its path.

        Raises
        ------
        UsageError
            When ``out_dir`` is a file, or ``report.json`` exists and ``overwrite`` is
            false (nothing is written then).
        """
        from ..atomic import make_dir, write_text

        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise UsageError(f"'{out}' is a file, not a folder", hint="give a folder to write the report into")
        path = out / REPORT_FILE
        if path.exists() and not overwrite:
            raise UsageError(f"'{path}' already exists; not overwriting a previous report",
                             hint="choose another folder, or pass overwrite=True to replace it")
        make_dir(out)
        return write_text(path, self.to_json())


# --------------------------------------------------------------------------- the door


def report(results: RunResult | Sequence[RunResult], cost: CostReport, chip: Any, layout: Any = None, *,
           wall_s: TMapping[str, float] | None = None, warnings: Sequence[Notice] = ()) -> Report:
    """Summarise a priced run (or a batch of runs of one network) as a :class:`Report`.

    Parameters
    ----------
    results
        The run, or the runs of a batch (same network and steps each).
    cost
        Their price (:func:`neurocomp.report.cost.cost`, or
        :meth:`CostReport.combine` for a batch).
    chip
        The :class:`~neurocomp.chip.spec.ChipSpec` they ran on (for core positions).
    layout
        The :class:`~neurocomp.ir.mapping.Mapping` (or ``{core: {population: n}}``), to
        say what the busiest core holds; optional.
    wall_s
        Wall-clock times to show, by stage name.
    warnings
        What the compile and the runs lost, as :func:`neurocomp.report.notices.collect`
        gathers it (kept in ``report.json`` and shown on the HTML page).

    Raises
    ------
    UsageError
        When ``results`` is empty or mixes networks or lengths.
    """
    runs = [results] if isinstance(results, RunResult) else list(results)
    if not runs:
        raise UsageError("no runs to report")
    first = runs[0]
    if any(r.network != first.network or r.steps != first.steps for r in runs):
        raise UsageError("a report covers runs of one network with one number of steps")
    populations = tuple(
        PopulationLine(name=name, size=int(ev.n), is_input=bool(ev.is_input),
                       spikes=int(sum(r.spikes[name].count for r in runs)))
        for name, ev in first.spikes.items())
    busiest = cost.busiest_core
    position = holds = ""
    if busiest >= 0:
        pos = chip.mesh_position(busiest)
        position = f"chip {pos.chip}, tile ({pos.x}, {pos.y})"
        holds = _holdings(layout, busiest)
    return Report(network=first.network, chip=chip.name, profile=chip.active_profile, steps=first.steps,
                  samples=len(runs), dt_ms=float(first.dt_ms), populations=populations, cost=cost,
                  busiest_holds=holds, busiest_position=position, wall_s=dict(wall_s or {}),
                  caveat=chip.cost.caveat or "", warnings=tuple(warnings))


def _holdings(layout: Any, core_id: int) -> str:
    if layout is None:
        return ""
    if hasattr(layout, "cores"):
        for core in layout.cores:
            if int(core.core_id) == core_id:
                by_pop: dict[str, list] = {}
                for sl in core.slices:
                    by_pop.setdefault(sl.population, []).append(sl)
                parts = []
                for pop, slices in by_pop.items():
                    n = sum(sl.stop - sl.start for sl in slices)
                    if pop == _RELAY_SLICE:
                        parts.append(f"{n} relays")
                    elif len(slices) == 1:
                        parts.append(f"{pop}[{slices[0].start}:{slices[0].stop}]")
                    else:  # scattered neurons: their count, not every range
                        parts.append(f"{n} neurons of {pop} in {len(slices)} ranges")
                return ", ".join(parts)
        return ""
    per = dict(layout).get(core_id, {})
    return ", ".join(f"{n} of {p}" for p, n in dict(per).items())


# --------------------------------------------------------------------------- formatting

_PREFIXES = ((1e0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def si(value: float, unit: str) -> str:
    """``value`` with an SI prefix and 4 significant digits: ``si(1.234e-7, "J") == "123.4 nJ"``."""
    if value == 0:
        return f"0 {unit}"
    mag = abs(value)
    for scale, prefix in _PREFIXES:
        if mag >= scale * 0.9995:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.3e} {unit}"


def _band_caption(profile: str, band: tuple[float, float] | None, total: float, unit: str) -> str | None:
    """The profile's expected error band on a total (None: the profile gives none)."""
    if band is None:
        return None
    lo, hi = band
    return f"band x{lo:g}-x{hi:g} ({profile}): {si(total * lo, unit)} to {si(total * hi, unit)}"


def _percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"
