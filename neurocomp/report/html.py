"""One self-contained HTML page for a run: the report's tables and every picture inline.

Input: the report of a run as JSON data (:meth:`Report.to_dict`, what ``report.json``
holds), the pictures (:func:`neurocomp.report.plots.plots`: PNG bytes by file name),
and optionally the validation (:meth:`ValidationReport.to_dict`, ``validation.json``)
and the :class:`~neurocomp.ir.mapping.Mapping` (for the utilization table). Output:
:func:`html` returns the page as text, which ``neurocomp run --html`` writes as
``report.html``.

The page stands alone: each picture is a ``data:image/png;base64`` URI, the style sheet
is inline, the fonts are the reader's own, and there is no script and no address of any
kind (no CDN, no web font, no link): it reads the same offline, attached to a mail, or
years later. The same data give the same page, byte for byte.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any, Iterable, Mapping as TMapping, Sequence

from ..diagnostics import UsageError
from .plots import PICTURES
from .report import si

__all__ = ["html", "comparison_html", "HTML_FILE", "COMPARISON_HTML_FILE", "CAPTIONS"]

HTML_FILE = "report.html"
COMPARISON_HTML_FILE = "comparison.html"

_KIND_NAMES = {"synaptic": "synaptic ops", "neuron": "neuron updates", "routing": "spike routing",
               "host": "host I/O", "contention": "contention (replay)",
               "static": "static", "barrier": "barrier", "tick": "tick (real time)"}

#: How to read each picture, shown under it (docs/report.md says more).
CAPTIONS = {
    "raster.png": "Each tick is a spike: neuron (up) at step (across), one panel per population. "
                  "A vertical stripe is a synchronous volley; an empty band, silent neurons.",
    "raster_full.png": "Every neuron's spikes at one pixel per neuron and step (or per the block the title "
                       "names), drawn at full size: scroll across and down to zoom into the run.",
    "rates.png": "Mean firing rate per neuron of each population, in bins of steps; inputs dashed. "
                 "A rate that climbs or dies out over the run shows the network has not settled.",
    "traces.png": "The probed state of the first neurons of each population, step by step, as the run "
                  "recorded it (after any reset): a voltage that climbs to the threshold and drops is a "
                  "spike; one pinned at a bound has saturated.",
    "maps.png": "Each 2-D population (a conv layer, a camera's input) as images, one per channel: a "
                "pixel is a neuron at its (y, x), as bright as the spikes it fired. A feature map shows "
                "where its kernel found its feature; a dark map, a channel that never fired.",
    "mesh_utilization.png": "The chip seen from above: tiles in their mesh positions, chips outlined, "
                            "a tile's cores as small cells. A used core takes the colour of the population "
                            "with most compartments on it; the darker, the fuller its fullest resource. "
                            "Arrows: the links between cores that carried the most packets, along their "
                            "dimension-order route (east-west, then north-south), as thick as their share "
                            "of the busiest one.",
    "mesh_energy.png": "The same mesh, each core shaded by its dynamic energy relative to the core "
                       "that spent the most. Dark cores are where the energy goes.",
    "cost.png": "Energy by kind of work and the critical path's time by kind (top); dynamic energy and "
                "busy time split over populations by their share of each core (middle); latency and "
                "energy of every step (bottom).",
    "validation.png": "Spikes per neuron in the float64 reference (across) against the chip (up). "
                      "Points on the grey line fired equally often; below it, the chip lost spikes "
                      "(quantization, saturation); above it, it gained some.",
    "comparison.png": "One bar per chip for each figure of the table above: fewer cores, less energy and "
                      "time per step are better; a spike-count r of 1 and a weight error of 0 mean the chip "
                      "computes what the float model does. A chip without a bar says why in its place.",
    "confusion.png": "Rows: the samples' labels; columns: the class each model gave (its output's most "
                     "active neuron). The diagonal is right; a cell off it counts the samples of that "
                     "label taken for that class. Shade: the cell's share of its label's samples.",
}

_FULL_SIZE = ("raster_full.png",)  # pictures shown pixel for pixel in a scrolling box

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0;
       background: #fafafa; line-height: 1.4; }
main { max-width: 1060px; margin: 0 auto; padding: 1.2em 1.5em 3em; background: #fff; }
h1 { font-size: 1.45em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.12em; margin: 1.6em 0 0.5em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta { color: #555; margin: 0 0 1em; font-size: 0.92em; }
.grid { display: flex; flex-wrap: wrap; gap: 1.2em 2.2em; align-items: flex-start; }
table { border-collapse: collapse; font-size: 0.9em; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { padding: 0.22em 0.7em; border-bottom: 1px solid #e6e6e6; }
th { text-align: left; background: #f2f2f2; font-weight: 600; }
td.n, th.n { text-align: right; }
tr.total td { font-weight: 600; border-top: 1px solid #999; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
div.scroll { overflow: auto; max-height: 40em; border: 1px solid #e3e3e3; }
div.scroll img { max-width: none; border: 0; }
figcaption { font-size: 0.88em; color: #444; max-width: 60em; margin-top: 0.3em; }
.note { color: #8a5300; }
code { font-size: 0.95em; }
"""


def html(report: TMapping[str, Any] | None = None, pictures: TMapping[str, bytes] | None = None, *,
         validation: TMapping[str, Any] | None = None, mapping: Any = None, title: str | None = None) -> str:
    """The page for a run (and/or a validation) as one HTML document.

    Parameters
    ----------
    report
        A run's report as :meth:`Report.to_dict` gives it (``report.json``).
    pictures
        PNG files by name (:func:`~neurocomp.report.plots.plots`); shown in
        :data:`~neurocomp.report.plots.PICTURES` order, each with its caption.
    validation
        A :meth:`ValidationReport.to_dict` (``validation.json``): its tables.
    mapping
        The Mapping run: adds the per-resource utilization of the fullest core.
    title
        The page's title; by default said from the network and the chip.

    Returns
    -------
    str
        A complete HTML5 document without any external reference (see the module
        docstring). Every user-given name is escaped.

    Raises
    ------
    UsageError
        When there is neither a report nor a validation to show, or a picture is not PNG.
    """
    if report is None and validation is None:
        raise UsageError("a page needs a run's report or a validation to show")
    pictures = dict(pictures or {})
    for name, data in pictures.items():
        if not bytes(data[:8]) == b"\x89PNG\r\n\x1a\n":
            raise UsageError(f"picture '{name}' is not a PNG image")
    head: TMapping[str, Any] = report if report is not None else validation  # type: ignore[assignment]
    if title is None:
        what = "run" if report is not None else "validation"
        title = f"neurocomp {what}: '{head.get('network', '?')}' on {head.get('chip', '?')}"
    parts = _page_head(title)
    if report is not None:
        parts += _run_sections(report, mapping)
    if validation is not None:
        parts += _validation_sections(validation)
    parts += _pictures(pictures)
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def comparison_html(cmp: Any, pictures: TMapping[str, bytes] | None = None) -> str:
    """The page of ``neurocomp compare --html``: the comparison's head, its table (as
    :meth:`Comparison.to_text` prints it), the notes, then the pictures
    (``comparison.png``). Self-contained like :func:`html`; every name is escaped."""
    pictures = dict(pictures or {})
    for name, data in pictures.items():
        if not bytes(data[:8]) == b"\x89PNG\r\n\x1a\n":
            raise UsageError(f"picture '{name}' is not a PNG image")
    title = f"neurocomp compare: '{cmp.network}' on {len(cmp.rows)} chip{'s' if len(cmp.rows) != 1 else ''}"
    parts = _page_head(title)
    parts += [f'<p class="meta">{escape(line)}</p>' for line in cmp._head()]
    cols = cmp._columns()
    rows = []
    for row in cmp.rows:
        cells, span = cmp._cells(row)
        rows.append(cells + ([span] if span is not None else []) + [""] * (len(cols) - len(cells) - 1))
    parts.append("<h2>Chips</h2>")
    parts.append(_table("the chips, in the order given", [c.replace("\n", " ") for c, _ in cols], rows,
                        [j == "right" for _, j in cols]))
    for row in cmp.rows:
        for note in row.notes:
            parts.append(f'<p class="note">note: {escape(row.label)}: {escape(str(note))}</p>')
    parts += _pictures(pictures)
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- pieces


def _page_head(title: str) -> list[str]:
    return ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
            "<main>", f"<h1>{escape(title)}</h1>"]


def _pictures(pictures: TMapping[str, bytes]) -> list[str]:
    ordered = [n for n in PICTURES if n in pictures] + [n for n in pictures if n not in PICTURES]
    if not ordered:
        return []
    return ["<h2>Pictures</h2>"] + [_figure(name, pictures[name]) for name in ordered]


def _figure(name: str, data: bytes) -> str:
    uri = "data:image/png;base64," + base64.b64encode(bytes(data)).decode("ascii")
    alt = PICTURES.get(name, name)
    caption = CAPTIONS.get(name, "")
    img = f'<img src="{uri}" alt="{escape(alt)}">'
    if name in _FULL_SIZE:
        img = f'<div class="scroll">{img}</div>'  # at its own size; CSS scrolling, no script
    return (f'<figure id="{escape(name.removesuffix(".png"))}">{img}'
            f"<figcaption><b>{escape(name)}</b>: {escape(alt)}. {escape(caption)}</figcaption></figure>")


def _table(caption: str, header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[bool],
           total_last: bool = False) -> str:
    """A table; every cell is escaped here (the callers pass plain text)."""
    rows = list(rows)
    out = [f"<table><caption>{escape(caption)}</caption><thead><tr>"]
    out += [f'<th class="n">{escape(h)}</th>' if n else f"<th>{escape(h)}</th>" for h, n in zip(header, numeric)]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        cls = ' class="total"' if total_last and i == len(rows) - 1 else ""
        cells = [f'<td class="n">{escape(c)}</td>' if n else f"<td>{escape(c)}</td>" for c, n in zip(row, numeric)]
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _banded(caption: str, band: Sequence[float] | None, total: float, unit: str) -> str:
    """A table's caption with its profile's error band on the total, if it has one."""
    if not band:
        return caption
    return f"{caption} (band x{band[0]:g}-x{band[1]:g}: {si(total * band[0], unit)} to {si(total * band[1], unit)})"


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


def _run_sections(rep: TMapping[str, Any], mapping: Any) -> list[str]:
    cost = rep.get("cost", {})
    steps, samples, dt_ms = int(rep.get("steps", 0)), int(rep.get("samples", 1)), float(rep.get("dt_ms", 0.0))
    cores, tiles, chips = int(cost.get("cores_used", 0)), int(cost.get("tiles_used", 0)), \
        int(cost.get("chips_powered", 1))
    meta = (f"{steps:,} steps of {dt_ms:g} ms" + (f" × {samples:,} samples" if samples != 1 else "")
            + f" · cost profile {rep.get('profile', '?')} · {chips} chip{'s' if chips != 1 else ''} powered, "
            f"{cores} core{'s' if cores != 1 else ''} on {tiles} tile{'s' if tiles != 1 else ''}"
            + f" · neurocomp {rep.get('neurocomp', '?')}")
    out = [f'<p class="meta">{escape(meta)}</p>']
    out += _warning_section(rep.get("warnings", ()))
    out += ["<h2>Summary</h2>", '<div class="grid">']

    duration_s = steps * samples * dt_ms * 1e-3
    rows = []
    for name, p in rep.get("populations", {}).items():
        size, spikes = int(p["size"]), int(p["spikes"])
        rate = spikes / (size * duration_s) if size and duration_s else 0.0
        rows.append((name, "input" if p.get("input") else "neurons", f"{size:,}", f"{spikes:,}", f"{rate:.2f} Hz"))
    out.append(_table("spikes", ("population", "kind", "neurons", "spikes", "mean rate"), rows,
                      (False, False, True, True, True)))

    energy = cost.get("energy_j", {})
    total = float(energy.get("total", 0.0))
    by_kind = dict(energy.get("by_kind", {}))
    header = ["kind", "total", "per step"] + (["per sample"] if samples != 1 else []) + ["share"]
    rows = []
    for kind, j in list(by_kind.items()) + [("total", total)]:
        row = [_KIND_NAMES.get(kind, kind), si(j, "J"), si(j / (steps * samples) if steps else 0.0, "J")]
        if samples != 1:
            row.append(si(j / samples, "J"))
        row.append(_pct(j, total))
        rows.append(row)
    band = dict(cost.get("band") or {})
    out.append(_table(_banded("energy", band.get("energy"), total, "J"), header, rows,
                      [False] + [True] * (len(header) - 1), total_last=True))

    lat = cost.get("latency_s", {})
    rows = []
    if cost.get("real_time"):
        rows.append(("per step", si(float(cost.get("tick_s") or 0.0), "s"), "real time: one tick per step"))
    else:
        worst = int(lat.get("worst_step", -1))
        where = ""
        if worst >= 0:
            where = f"step {worst % steps if steps else worst}" + (
                f" of sample {worst // steps}" if samples != 1 and steps else "")
        rows.append(("per step, mean", si(float(lat.get("per_step_mean", 0.0)), "s"), ""))
        rows.append(("per step, worst", si(float(lat.get("per_step_worst", 0.0)), "s"), where))
    lat_total = float(lat.get("total", 0.0))
    rows.append(("total", si(lat_total, "s"), "sum of the steps"))
    if not cost.get("real_time"):
        for kind, s in dict(lat.get("by_kind", {})).items():
            rows.append((f"  {_KIND_NAMES.get(kind, kind)}", si(float(s), "s"),
                         f"{_pct(float(s), lat_total)} of the critical path"))
    out.append(_table(_banded("latency", band.get("latency"), lat_total, "s"), ("", "time", ""), rows,
                      (False, True, False)))

    by_pop = dict(energy.get("by_population", {}))
    if by_pop:
        dynamic = sum(float(v) for v in by_pop.values())
        busy = dict(lat.get("busy_by_population", {}))
        timed = bool(cost.get("timed_ops", True))
        header = ["population", "dynamic energy", "share"] + (["busy time"] if timed else [])
        rows = []
        for name, j in by_pop.items():
            row = [name, si(float(j), "J"), _pct(float(j), dynamic)]
            if timed:
                row.append(si(float(busy.get(name, 0.0)), "s"))
            rows.append(row)
        out.append(_table("by population", header, rows, [False] + [True] * (len(header) - 1)))
    out.append("</div>")

    # the busiest core and the per-core table (the busiest first)
    busiest = rep.get("busiest_core", {})
    core_rows = list(cost.get("cores", []))
    if core_rows:
        key = "busy_s" if cost.get("timed_ops", True) else "energy_j"
        core_rows.sort(key=lambda c: (-float(c[key]), int(c["core"])))
        line = f"busiest core: {busiest.get('core')}"
        if busiest.get("position"):
            line += f" ({busiest['position']})"
        if busiest.get("holds"):
            line += f", holds {busiest['holds']}"
        out.append("<h2>Cores</h2>")
        out.append(f"<p>{escape(line)}</p>")
        shown = core_rows[:16]
        rows = [(str(c["core"]), si(float(c["energy_j"]), "J"), si(float(c["busy_s"]), "s"),
                 f"{int(c['critical_steps']):,}") for c in shown]
        cap = "cores, busiest first" + (f" (16 of {len(core_rows):,})" if len(core_rows) > 16 else "")
        parts = ['<div class="grid">', _table(cap, ("core", "dynamic energy", "busy time", "slowest in steps"),
                                              rows, (True, True, True, True))]
        if mapping is not None:
            util = mapping.utilization()
            urows = []
            for name, used, limit, core in util.worst():
                urows.append((name, str(core), f"{used:,} / {limit:,}", _pct(used, limit)))
            parts.append(_table("fullest core per resource", ("resource", "core", "used / limit", "%"), urows,
                                (False, True, True, True)))
        parts.append("</div>")
        out += parts
    if cost.get("real_time") and int(cost.get("overrun_steps", 0)):
        out.append(f'<p class="note">warning: in {int(cost["overrun_steps"]):,} steps the slowest core needed '
                   "more than the tick (the chip would fall behind real time)</p>")
    wall = dict(rep.get("wall_s", {}))
    if wall:
        out.append(f'<p class="meta">wall: {escape(", ".join(f"{k} {float(v):.3g} s" for k, v in wall.items()))}</p>')
    return out


def _warning_section(items: Iterable[Any]) -> list[str]:
    """What the compile and the run lost, before the tables (report.json's ``warnings``)."""
    from .notices import from_dicts

    notices = from_dicts(items)
    if not notices:
        return []
    out = [f"<h2>Warnings ({len(notices)})</h2>"]
    out += [f'<p class="note warn">{escape(n.line())}</p>' for n in notices]
    return out


def _fmt(value: Any, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def _validation_sections(val: TMapping[str, Any]) -> list[str]:
    steps, samples = int(val.get("steps", 0)), int(val.get("samples", 1))
    meta = (f"float64 reference vs {val.get('chip', '?')} emulation (profile {val.get('profile', '?')}): "
            f"{steps:,} steps" + (f" × {samples:,} samples" if samples != 1 else ""))
    out = ["<h2>Float reference against the chip</h2>", f'<p class="meta">{escape(meta)}</p>']
    rows = []
    for name, p in dict(val.get("populations", {})).items():
        rows.append((name, f"{int(p['size']):,}", f"{int(p['spikes_ref']):,}", f"{int(p['spikes_chip']):,}",
                     _fmt(p.get("correlation"), "{:.3f}"), f"{float(p['rate_ref_hz']):.2f}",
                     f"{float(p['rate_chip_hz']):.2f}", _fmt(p.get("rate_error"), "{:+.1%}"),
                     _fmt(p.get("first_spike_error_steps"), "{:.2f}"), f"{int(p['fire_in_one_only']):,}"))
    out.append('<div class="grid">')
    out.append(_table("spikes per population",
                      ("population", "neurons", "spikes float", "spikes chip", "count r", "rate float (Hz)",
                       "rate chip (Hz)", "rate error", "first spike |dt| (steps)", "fire in one only"),
                      rows, (False,) + (True,) * 9))
    c = val.get("classifier")
    if c:
        out.append(_table(f"classifier (output '{c['output']}', {int(c['samples']):,} samples)",
                          ("accuracy float", "accuracy chip", "agreement", "silent float", "silent chip"),
                          [(f"{float(c['accuracy_ref']):.1%}", f"{float(c['accuracy_chip']):.1%}",
                            f"{float(c['agreement']):.1%}", f"{int(c['silent_ref']):,}",
                            f"{int(c['silent_chip']):,}")], (True,) * 5))
    out.append("</div>")
    for note in val.get("notes", []):
        out.append(f'<p class="note">note: {escape(str(note))}</p>')
    return out
