"""Pictures of a run: spikes, the chip's mesh, energy and latency, float against chip.

Input: whatever parts of a run are at hand — the :class:`~neurocomp.ir.result.RunResult`
(spikes), the :class:`~neurocomp.ir.mapping.Mapping` (what sits on which core, the
routes), the :class:`~neurocomp.report.cost.CostReport` (energy and time), the spike
counts of a batch, the float-vs-chip spike counts of a validation. Output:
:func:`plots` returns every picture those parts allow, as PNG bytes keyed by a file
name that says what the picture shows:

=======================  ================================================================
``raster.png``           one spike raster per population (time across, neuron up)
``raster_full.png``      when a population has more than 256 neurons: every neuron's
                         spikes as pixels, at full size, to scroll through
``rates.png``            each population's mean firing rate over time, in bins
``traces.png``           the probed voltages and currents over time, one panel per
                         population and variable, a line per neuron (the first 8)
``maps.png``             the spike counts of every 2-D population (a conv layer, an
                         event camera) as images, one per channel
``mesh_utilization.png`` the chip's mesh: every used core coloured by the population it
                         mostly holds, shaded by its fullest resource; the busiest
                         core-to-core links drawn along their dimension-order path
``mesh_energy.png``      the same mesh shaded by each core's dynamic energy
``cost.png``             energy and critical-path time by kind of work and by
                         population, and both per step
``validation.png``       float against chip spike counts, one point per neuron (and
                         sample), with the identity line
``confusion.png``        a classifier's confusion matrices, float64 and chip side by
                         side: how many samples of each label got each class
``comparison.png``       ``neurocomp compare``: cores, energy and latency per step,
                         spike agreement (and accuracy) of every chip, a bar each
=======================  ================================================================

``docs/report.md`` says how to read each one. Every figure is a bare
:class:`matplotlib.figure.Figure` drawn by the Agg canvas: no pyplot, no display, no
global backend switched (a notebook's own backend is left alone). matplotlib is the
``plot`` extra and is imported on first use; without it a :class:`UsageError` says
``pip install neurocomp[plot]``.

Packets on a link (for the mesh) are counted from the Mapping's routes and the run's
spikes: core ``A`` sends to core ``B`` ``sum(spikes(c) * routes(c -> B))`` over the
compartments ``c`` on ``A`` — exactly the emulator's ``messages_out`` split by
destination. A relay (a compartment that only copies another's spikes) is counted with
the spikes of the compartment it copies, which it repeats one step later: a spike in
the run's last step is counted although the relay had no step left to send it.
"""

from __future__ import annotations

import io
import math
from typing import Any, Mapping as TMapping, Sequence

import numpy as np

from ..diagnostics import UsageError

__all__ = ["plots", "raster", "raster_full", "rates", "traces", "maps", "mesh", "costs", "validation", "confusion", "comparison",
           "confusion_counts", "core_traffic", "png",
           "population_colours", "require_matplotlib", "PICTURES"]

#: Every picture :func:`plots` can make, in the order it makes them, with a caption.
PICTURES = {
    "raster.png": "spike raster per population",
    "raster_full.png": "every neuron's spikes, at full size",
    "rates.png": "firing rate over time",
    "traces.png": "probed voltages and currents over time",
    "maps.png": "spike counts of the 2-D populations, one image per channel",
    "mesh_utilization.png": "cores on the mesh, shaded by utilization",
    "mesh_energy.png": "cores on the mesh, shaded by dynamic energy",
    "cost.png": "energy and latency by kind of work, by population and per step",
    "validation.png": "float against chip spike counts per neuron",
    "confusion.png": "confusion matrices of the classifier, float and chip",
    "comparison.png": "the chips side by side",
}

_DPI = 100
_RELAY_SLICE = "<relay>"
_RELAYS = "(relays)"
_RELAY_COLOUR = (0.55, 0.55, 0.55)
_KIND_COLOURS = {"synaptic": "#4c72b0", "neuron": "#dd8452", "routing": "#55a868", "static": "#8c8c8c",
                 "barrier": "#c44e52", "tick": "#8172b3"}
_KIND_NAMES = {"synaptic": "synaptic ops", "neuron": "neuron updates", "routing": "spike routing",
               "static": "static", "barrier": "barrier", "tick": "tick (real time)"}
_MAX_ROWS = 12  # populations shown one below the other before the rest are left out


# --------------------------------------------------------------------------- matplotlib


def require_matplotlib() -> None:
    """Raise :class:`UsageError` (``pip install neurocomp[plot]``) unless matplotlib imports."""
    _mpl()


def _mpl() -> tuple[Any, Any]:
    """``(Figure, FigureCanvasAgg)``, imported on first use."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("drawing pictures needs matplotlib, which is not installed",
                         hint="pip install neurocomp[plot]") from None
    return Figure, FigureCanvasAgg


def _figure(width_in: float, height_in: float) -> Any:
    Figure, FigureCanvasAgg = _mpl()
    fig = Figure(figsize=(width_in, height_in), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas, whatever backend the process has chosen
    return fig


def png(fig: Any) -> bytes:
    """The figure as PNG bytes (``_DPI`` dots per inch; no timestamp, so a figure drawn
    twice from the same data gives the same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


# --------------------------------------------------------------------------- colours


def population_colours(names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """A colour per population, by position in ``names`` (the network's order, inputs
    included), so every picture of one network colours a population alike; relays grey."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    out = {name: tuple(float(c) for c in cmap(i % cmap.N)[:3]) for i, name in enumerate(names)}
    out[_RELAYS] = _RELAY_COLOUR
    return out


def _tint(rgb: Sequence[float], amount: float) -> tuple[float, float, float]:
    """``rgb`` mixed with white: ``amount`` 1 is the full colour, 0 nearly white."""
    a = 0.12 + 0.88 * min(max(float(amount), 0.0), 1.0)
    return tuple(1.0 - a * (1.0 - float(c)) for c in rgb)  # type: ignore[return-value]


# --------------------------------------------------------------------------- spikes


def raster(result: Any, *, max_neurons: int = 256, colours: TMapping[str, Any] | None = None,
           populations: Sequence[str] | None = None, neurons: tuple[int, int] | None = None,
           steps: tuple[int, int] | None = None) -> Any:
    """One spike raster per population, one below the other on a shared time axis.

    A dot at ``(t, i)``: neuron ``i`` fired at step ``t``. A population (or window) of
    more than ``max_neurons`` neurons shows every ``k``-th neuron (``k = ceil(n /
    max_neurons)``; the panel says so); more than 12 populations: the first 12.

    To zoom in, give ``populations`` (the panels to draw, in that order), ``neurons =
    (start, stop)`` (the neuron indices shown in every panel, ``stop`` excluded and cut
    to the population's size) and/or ``steps = (start, stop)``; the axes keep the true
    neuron and step numbers.
    """
    names = list(result.spikes) if populations is None else list(populations)
    for name in names:
        if name not in result.spikes:
            from ..diagnostics import did_you_mean

            raise UsageError(f"the run has no population '{name}'", hint=did_you_mean(name, list(result.spikes)))
    t0, t1 = (0, max(int(result.steps), 1)) if steps is None else (int(steps[0]), int(steps[1]))
    if not 0 <= t0 < t1:
        raise UsageError(f"steps=({t0}, {t1}) is not a window of steps: 0 <= start < stop")
    if neurons is not None and not 0 <= int(neurons[0]) < int(neurons[1]):
        raise UsageError(f"neurons=({neurons[0]}, {neurons[1]}) is not a window of neurons: 0 <= start < stop")
    colours = colours or population_colours(list(result.spikes))
    shown = names[:_MAX_ROWS]
    rows = max(len(shown), 1)
    fig = _figure(9.0, 0.6 + 1.35 * rows)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for ax, name in zip(axes, shown):
        ev = result.spikes[name]
        size = int(ev.n)
        lo, hi = (0, size) if neurons is None else (min(int(neurons[0]), size), min(int(neurons[1]), size))
        n = max(hi - lo, 1)
        k = max(1, math.ceil(n / max_neurons))
        keep = ((ev.indices - lo) % k == 0) & (ev.indices >= lo) & (ev.indices < hi) \
            & (ev.times >= t0) & (ev.times < t1)
        t, i = ev.times[keep], (ev.indices[keep] - lo) // k
        n_shown = math.ceil(n / k)
        # a tick per spike about as tall as a neuron's row (row height ~70 pt)
        mark = min(max(60.0 / n_shown, 1.5), 10.0)
        ax.plot(t, i, linestyle="none", marker="|", markersize=mark, markeredgewidth=0.8,
                color=colours.get(name, "k"))
        ax.set_ylim(-0.5, n_shown - 0.5)
        ax.set_xlim(t0 - 0.5, t1 - 0.5)
        kind = "input" if ev.is_input else "neurons"
        every = f", every {k}th neuron" if k > 1 else ""
        window = f", neurons {lo}-{hi - 1}" if neurons is not None else ""
        spikes = ev.count if neurons is None and steps is None else int(np.count_nonzero(
            (ev.indices >= lo) & (ev.indices < hi) & (ev.times >= t0) & (ev.times < t1)))
        ax.set_title(f"{name} ({size:,} {kind}{window}{every}): {spikes:,} spikes", loc="left", fontsize=9)
        ax.set_ylabel("neuron", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        # a row is neuron lo + row * k: the axis says the neuron's own index
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos, lo=lo, k=k: f"{lo + int(round(y)) * k:g}"))
    if not shown:
        axes[0].set_title("no populations", loc="left", fontsize=9)
    axes[-1].set_xlabel(f"step ({result.dt_ms:g} ms)", fontsize=8)
    if len(names) > len(shown):
        fig.suptitle(f"first {len(shown)} of {len(names)} populations", fontsize=9)
    return fig


def raster_full(result: Any, *, max_rows: int = 4096, max_columns: int = 2048,
                colours: TMapping[str, Any] | None = None) -> Any:
    """Every neuron's spikes as pixels, to be looked at at full size (zoomed by scrolling).

    One image per population, one below the other: pixel row ``r`` is neuron ``r * k``
    and pixel column ``c`` steps ``c * b`` to ``(c + 1) * b - 1``, its colour as strong
    as the spikes in that cell (``k = ceil(all neurons / max_rows)``, ``b = ceil(steps /
    max_columns)``, both 1 unless the run is that big; the titles say). The axes are
    exactly that many pixels, so nothing is resampled; more than 12 populations: the
    first 12.
    """
    names = list(result.spikes)[:_MAX_ROWS]
    colours = colours or population_colours(list(result.spikes))
    steps = max(int(result.steps), 1)
    b = max(1, math.ceil(steps / max_columns))
    cols = math.ceil(steps / b)
    total = sum(max(int(result.spikes[n].n), 1) for n in names)
    k = max(1, math.ceil(total / max_rows))
    heights = [math.ceil(max(int(result.spikes[n].n), 1) / k) for n in names]
    left, right, top, gap, bottom = 70, 30, 40, 50, 50  # pixels around and between the images
    width_px = left + cols + right
    height_px = top + sum(heights) + gap * max(len(names) - 1, 0) + bottom
    fig = _figure(width_px / _DPI, height_px / _DPI)
    fig.set_layout_engine(None)
    from matplotlib.colors import LinearSegmentedColormap

    y = top
    for name, h in zip(names, heights):
        ev = result.spikes[name]
        cells = np.zeros((h, cols), dtype=np.int64)
        np.add.at(cells, (ev.indices // k, np.minimum(ev.times // b, cols - 1)), 1)
        ax = fig.add_axes((left / width_px, 1.0 - (y + h) / height_px, cols / width_px, h / height_px))
        cmap = LinearSegmentedColormap.from_list(name, [(1.0, 1.0, 1.0), colours.get(name, (0.0, 0.0, 0.0))])
        ax.imshow(cells, cmap=cmap, vmin=0, vmax=max(int(cells.max(initial=0)), 1), interpolation="nearest",
                  aspect="auto", extent=(0, cols * b, h * k, 0))
        cell = (f"; a pixel: {k} neurons" if k > 1 else "") + (f" x {b} steps" if b > 1 else "")
        if cell and k == 1:
            cell = f"; a pixel: {b} steps"
        ax.set_title(f"{name} ({int(ev.n):,} {'input' if ev.is_input else 'neurons'}): {ev.count:,} spikes{cell}",
                     loc="left", fontsize=9)
        ax.set_ylabel("neuron", fontsize=8)
        ax.tick_params(labelsize=8)
        for spine in ax.spines.values():  # a frame would cover the edge neurons' pixels
            spine.set_visible(False)
        y += h + gap
    if names:
        fig.axes[-1].set_xlabel(f"step ({result.dt_ms:g} ms)", fontsize=8)
    return fig


def rates(result: Any, *, bin_steps: int | None = None, colours: TMapping[str, Any] | None = None) -> Any:
    """Each population's mean firing rate (Hz per neuron) over time, in bins of
    ``bin_steps`` steps (default: the run in about 50 bins); inputs dashed."""
    names = list(result.spikes)
    colours = colours or population_colours(names)
    steps = max(int(result.steps), 1)
    b = int(bin_steps) if bin_steps else max(1, round(steps / 50))
    if b <= 0:
        raise UsageError(f"bin_steps must be positive, got {bin_steps}")
    n_bins = math.ceil(steps / b)
    edges = np.arange(n_bins + 1, dtype=np.int64) * b
    width = np.minimum(edges[1:], steps) - edges[:-1]  # the last bin may be shorter
    fig = _figure(9.0, 3.6)
    ax = fig.subplots()
    for name in names:
        ev = result.spikes[name]
        per_bin = np.bincount(ev.times // b, minlength=n_bins)[:n_bins].astype(np.float64)
        seconds = width * result.dt_ms * 1e-3 * max(int(ev.n), 1)
        hz = per_bin / seconds
        ax.stairs(hz, np.minimum(edges, steps), color=colours.get(name, "k"), lw=1.4,
                  linestyle="--" if ev.is_input else "-", label=name)
    ax.set_xlim(0, steps)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"step ({result.dt_ms:g} ms); bins of {b} step{'s' if b != 1 else ''}", fontsize=8)
    ax.set_ylabel("mean rate per neuron (Hz)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_title(f"firing rates of '{result.network}'", loc="left", fontsize=9)
    if names:
        fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    return fig


def _analog_traces(result: Any) -> list[tuple[str, str, np.ndarray]]:
    """``(population, variable, (steps, n) float array)`` of every probed trace that is
    not spikes (those are the raster), in the result's order."""
    out = []
    for name, per_var in result.traces.items():
        for var, trace in per_var.items():
            arr = np.asarray(trace)
            if var != "spikes" and arr.dtype != np.bool_ and arr.ndim == 2:
                out.append((name, var, arr))
    return out


def traces(result: Any, *, max_neurons: int = 8, colours: TMapping[str, Any] | None = None) -> Any:
    """The probed voltages and currents over time: one panel per population and
    variable, one below the other on a shared time axis; a line per neuron for the first
    ``max_neurons`` neurons (the panel says how many of how many), each value the state
    at the end of its step, as the run recorded it. More than 12 panels: the first 12."""
    found = _analog_traces(result)
    colours = colours or population_colours(list(result.spikes))
    shown = found[:_MAX_ROWS]
    rows = max(len(shown), 1)
    fig = _figure(9.0, 0.6 + 1.7 * rows)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    steps = np.arange(int(result.steps))
    for ax, (name, var, arr) in zip(axes, shown):
        n = int(arr.shape[1])
        k = min(n, max(int(max_neurons), 1))
        base = colours.get(name, (0.0, 0.0, 0.0))
        for j in range(k):
            # the population's colour, lighter for each further neuron
            ax.plot(steps[: arr.shape[0]], arr[:, j], lw=1.0, drawstyle="steps-post",
                    color=_tint(base, 1.0 - 0.6 * j / max(k - 1, 1)), label=f"{j}")
        if k > 1:
            ax.legend(title="neuron", fontsize=7, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                      frameon=False)
        which = f"neurons 0-{k - 1} of {n:,}" if k < n else f"{n:,} neuron{'s' if n != 1 else ''}"
        ax.set_title(f"{name}.{var} ({which})", loc="left", fontsize=9)
        ax.set_ylabel(var, fontsize=8)
        ax.tick_params(labelsize=8)
    if not shown:
        _empty(axes[0], "no voltage or current was probed")
    else:
        axes[-1].set_xlabel(f"step ({result.dt_ms:g} ms)", fontsize=8)
        axes[-1].set_xlim(0, max(int(result.steps), 1))
    if len(found) > len(shown):
        fig.suptitle(f"first {len(shown)} of {len(found)} traces", fontsize=9)
    return fig


_MAX_CHANNELS = 8  # channels of a population drawn side by side before the rest are left out


def _map_shape(shape: Sequence[int]) -> tuple[int, int, int] | None:
    """``(channels, height, width)`` of a population drawn as images: ``[H, W]`` is one
    channel, ``[C, H, W]`` (the conv layers' order) C channels; else ``None``."""
    dims = tuple(int(d) for d in shape)
    if len(dims) == 2 and min(dims) > 1:
        return (1,) + dims  # type: ignore[return-value]
    if len(dims) == 3 and min(dims[1:]) > 1:
        return dims  # type: ignore[return-value]
    return None


def maps(spike_counts: TMapping[str, np.ndarray], shapes: TMapping[str, Sequence[int]], *,
         steps: int | None = None, dt_ms: float | None = None) -> Any:
    """The spike count of every neuron of each 2-D population (``[H, W]`` or
    ``[C, H, W]``, row-major as the network flattens them) as images: a row per
    population, a panel per channel (the first 8), pixel ``(y, x)`` of channel ``c`` the
    count of neuron ``(c, y, x)``; one colour scale per population, from 0 to its busiest
    neuron. With ``steps`` and ``dt_ms`` the colour bar says Hz as well."""
    names = [n for n in spike_counts if n in shapes and _map_shape(shapes[n]) is not None][:_MAX_ROWS]
    rows = max(len(names), 1)
    cols = max([min(_map_shape(shapes[n])[0], _MAX_CHANNELS) for n in names] + [1])  # type: ignore[index]
    fig = _figure(min(1.0 + 2.0 * cols, 17.0), 0.5 + 2.2 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, name in enumerate(names):
        c_n, h, w = _map_shape(shapes[name])  # type: ignore[misc]
        counts = np.asarray(spike_counts[name], dtype=np.int64).reshape(c_n, h, w)
        top = max(int(counts.max(initial=0)), 1)
        shown = min(c_n, _MAX_CHANNELS)
        image = None
        for c in range(cols):
            ax = axes[r, c]
            if c >= shown:
                ax.set_axis_off()
                continue
            image = ax.imshow(counts[c], cmap="magma", vmin=0, vmax=top, interpolation="nearest")
            ax.set_title(f"{name}[{c}]" if c_n > 1 else name, loc="left", fontsize=8)
            ax.tick_params(labelsize=7)
        more = f" (first {shown} of {c_n} channels)" if shown < c_n else ""
        axes[r, 0].set_ylabel(f"y ({h} x {w}){more}", fontsize=7)
        # the bar at the row's right end, so the channels of every row stay in columns
        bar = fig.colorbar(image, ax=list(axes[r, :]), shrink=0.85, aspect=15, pad=0.01)
        label = "spikes"
        if steps and dt_ms:
            label += f" (÷ {steps * dt_ms * 1e-3:g} s = Hz)"
        bar.set_label(label, fontsize=7)
        bar.ax.tick_params(labelsize=7)
    if not names:
        _empty(axes[0, 0], "no 2-D population")
        for ax in axes.reshape(-1)[1:]:
            ax.set_axis_off()
    return fig


# --------------------------------------------------------------------------- mesh


def core_traffic(mapping: Any, spike_counts: TMapping[str, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packets between cores: ``(src_core, dst_core, packets)``, int64 arrays, one entry
    per pair of cores that a route joins (a core to itself included), sorted by pair.

    With ``spike_counts`` (``{population: int64 (n,)}``, spikes per neuron) a route of
    compartment ``c`` carries ``spikes(c)`` packets (a relay: the spikes of the
    compartment it copies), so the packets a core sends add up to the emulator's
    ``messages_out``; without, every route counts 1 (the static traffic).
    Routes from the inputs (the host) are not counted.
    """
    n_comp = int(mapping.n_comp)
    per_comp = np.diff(mapping.route_ptr[: n_comp + 1]).astype(np.int64)
    src = np.repeat(np.arange(n_comp, dtype=np.int64), per_comp)
    dst_core = mapping.axon_core[mapping.route_axon[: int(mapping.route_ptr[n_comp])]].astype(np.int64)
    src_core = mapping.comp_core[src].astype(np.int64)
    if spike_counts is None:
        weight = np.ones(src.size, dtype=np.int64)
    else:
        weight = _comp_spikes(mapping, spike_counts)[src]
    total = int(mapping.chip.total_cores)
    key = src_core * total + dst_core
    pairs, inverse = np.unique(key, return_inverse=True)
    packets = np.bincount(inverse.reshape(-1), weights=weight, minlength=pairs.size)
    return pairs // total, pairs % total, np.rint(packets).astype(np.int64)


def _comp_spikes(mapping: Any, spike_counts: TMapping[str, np.ndarray]) -> np.ndarray:
    """int64 ``(n_comp,)``: spikes of each compartment; a relay takes its original's."""
    comp = np.arange(mapping.n_comp, dtype=np.int64)
    pop = mapping.comp_pop.astype(np.int64)
    idx = mapping.comp_index.astype(np.int64)
    # follow relay -> copied compartment until a neuron is reached (relays of relays)
    for _ in range(mapping.n_comp + 1):
        relay = pop[comp] < 0
        if not relay.any():
            break
        comp = np.where(relay, idx[comp], comp)
    out = np.zeros(mapping.n_comp, dtype=np.int64)
    for p, name in enumerate(mapping.population_names):
        counts = spike_counts.get(name)
        if counts is None:
            continue
        counts = np.asarray(counts, dtype=np.int64).reshape(-1)
        sel = pop[comp] == p
        out[sel] = counts[idx[comp[sel]]]
    return out


def _core_population(mapping: Any) -> dict[int, tuple[str, dict[str, int]]]:
    """Per used core: the neuron population with the most compartments on it (first on a
    tie; relays only when the core holds nothing else: a TrueNorth core may hold more
    splitters than neurons), and every population's compartments there."""
    out: dict[int, tuple[str, dict[str, int]]] = {}
    for core in mapping.cores:
        held: dict[str, int] = {}
        for sl in core.slices:
            name = _RELAYS if sl.population == _RELAY_SLICE else sl.population
            held[name] = held.get(name, 0) + int(sl.stop - sl.start)
        neurons = {p: n for p, n in held.items() if p != _RELAYS}
        top = max(neurons, key=lambda p: neurons[p]) if neurons else _RELAYS
        out[int(core.core_id)] = (top, held)
    return out


def _slot_positions(chip: Any, core_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Lower-left corner ``(x, y)`` of each core's cell in global tile units, and the
    cell's width and height: the cores of a tile sit in a near-square grid in it."""
    topo = chip.topology
    cpt = int(topo.cores_per_tile)
    sx = math.ceil(math.sqrt(cpt))
    sy = math.ceil(cpt / sx)
    reserved = set(topo.reserved_slots)
    usable = np.array([s for s in range(topo.slots) if s not in reserved], dtype=np.int64)
    local = core_ids % int(topo.cores_per_chip)
    in_tile = usable[local] % cpt
    table = chip.coordinates()[core_ids]
    pad = 0.08
    w, h = (1.0 - 2 * pad) / sx, (1.0 - 2 * pad) / sy
    x = table[:, 0] + pad + (in_tile % sx) * w
    y = table[:, 1] + pad + (in_tile // sx) * h
    return x.astype(np.float64), y.astype(np.float64), w, h


def mesh(mapping: Any, *, shade: str = "utilization", cost: Any = None,
         spike_counts: TMapping[str, np.ndarray] | None = None, routes: int = 12,
         colours: TMapping[str, Any] | None = None) -> Any:
    """The chip system's mesh with the used cores on it.

    Tiles are squares at their (system-wide) mesh position, ``(0, 0)`` top left; chips
    are outlined; a tile's cores are small cells in it. A used core is coloured by the
    population with the most compartments on it and shaded (pale to full) by
    ``shade``: ``"utilization"`` — its fullest resource, used / limit; ``"energy"`` —
    its dynamic energy over the busiest core's (needs ``cost``). The ``routes`` links
    between cores that carry the most packets (:func:`core_traffic`; with
    ``spike_counts``, or else routes) are drawn along their dimension-order path, east-
    west first, as thick as their share of the busiest link. Only the chips that hold a
    used core (and those between them) are drawn.
    """
    if shade not in ("utilization", "energy"):
        raise UsageError(f"shade must be 'utilization' or 'energy', got {shade!r}")
    if shade == "energy" and cost is None:
        raise UsageError("a mesh shaded by energy needs the run's cost")
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import FancyArrowPatch, Patch, Rectangle
    
    chip = mapping.chip
    topo = chip.topology
    names = list(mapping.network.populations)
    colours = colours or population_colours(names)
    holds = _core_population(mapping)
    used = np.array(sorted(holds), dtype=np.int64)

    # how much of each used core: utilization (fullest resource) or energy share
    if shade == "utilization":
        util = mapping.utilization()
        limits = np.array(util.limits, dtype=np.float64)
        frac = np.divide(util.used, limits, out=np.zeros(util.used.shape), where=limits > 0)
        level = dict(zip(util.core_ids.tolist(), frac.max(axis=1).tolist() if frac.size else []))
        label = "fullest resource, used / limit"
    else:
        e = np.asarray(cost.energy_by_core_pj, dtype=np.float64)
        top = float(e.max()) if e.size else 0.0
        level = {int(c): (float(v) / top if top else 0.0) for c, v in zip(cost.core_ids, e)}
        from .report import si

        label = f"dynamic energy / busiest core's ({si(top * 1e-12, 'J')})"

    # the chips in view: the box of chips that hold used cores
    cpc = int(topo.cores_per_chip)
    chips_used = sorted({int(c) // cpc for c in used}) or [0]
    cxy = np.array([chip.chip_position(c) for c in chips_used], dtype=np.int64)
    cx0, cy0 = cxy.min(axis=0)
    cx1, cy1 = cxy.max(axis=0)
    tx, ty = int(topo.tiles_x), int(topo.tiles_y)
    x0, y0 = cx0 * tx, cy0 * ty
    x1, y1 = (cx1 + 1) * tx, (cy1 + 1) * ty
    # a big mesh whose used tiles fill less than half of it along an axis: zoom in on
    # them, 2 tiles of margin (a TrueNorth chip is 64 x 64 tiles of one core each)
    zoomed = ""
    if used.size:
        tiles = chip.coordinates()[used][:, :2]
        ux0, uy0 = (int(v) for v in tiles.min(axis=0))
        ux1, uy1 = (int(v) + 1 for v in tiles.max(axis=0))
        if x1 - x0 > 16 and ux1 - ux0 < (x1 - x0) / 2:
            x0, x1 = max(x0, ux0 - 2), min(x1, ux1 + 2)
            zoomed = f"tiles x {x0}-{x1 - 1}"
        if y1 - y0 > 16 and uy1 - uy0 < (y1 - y0) / 2:
            y0, y1 = max(y0, uy0 - 2), min(y1, uy1 + 2)
            zoomed += (", " if zoomed else "tiles ") + f"y {y0}-{y1 - 1}"
    width_tiles, height_tiles = x1 - x0, y1 - y0

    side = 7.5  # inches across the mesh; the legend takes the right, the colour bar the bottom
    aspect = height_tiles / width_tiles
    fig = _figure(side + 2.4, min(max(side * aspect, 1.0), 9.0) + 1.7)
    ax = fig.add_subplot()
    ax.set_aspect("equal")

    # empty core slots and tile outlines, faint, when there are few enough to see
    view_chips = [cy * chip.system.chips_x + cx for cy in range(cy0, cy1 + 1) for cx in range(cx0, cx1 + 1)]
    if len(view_chips) * cpc <= 20_000:
        all_ids = np.concatenate([np.arange(c * cpc, (c + 1) * cpc, dtype=np.int64) for c in view_chips])
        sx, sy, w, h = _slot_positions(chip, all_ids)
        ax.add_collection(PatchCollection([Rectangle((a, b), w, h) for a, b in zip(sx, sy)],
                                          facecolor="none", edgecolor="#d0d0d0", linewidth=0.4))
    if width_tiles * height_tiles <= 4096:
        segs = [[(x, y0), (x, y1)] for x in range(x0, x1 + 1)] + [[(x0, y), (x1, y)] for y in range(y0, y1 + 1)]
        ax.add_collection(LineCollection(segs, colors="#bbbbbb", linewidths=0.5))
    chip_boxes = [Rectangle((cx * tx, cy * ty), tx, ty) for cy in range(cy0, cy1 + 1) for cx in range(cx0, cx1 + 1)]
    ax.add_collection(PatchCollection(chip_boxes, facecolor="none", edgecolor="#333333", linewidth=1.6))

    # the used cores
    if used.size:
        ux, uy, w, h = _slot_positions(chip, used)
        faces = [_tint(colours.get(holds[int(c)][0], _RELAY_COLOUR), level.get(int(c), 0.0)) for c in used]
        ax.add_collection(PatchCollection([Rectangle((a, b), w, h) for a, b in zip(ux, uy)],
                                          facecolor=faces, edgecolor="#222222", linewidth=0.6))
        centre = {int(c): (a + w / 2, b + h / 2) for c, a, b in zip(used, ux, uy)}

    # the busiest links between distinct cores
    src, dst, packets = core_traffic(mapping, spike_counts)
    between = (src != dst) & (packets > 0)
    src, dst, packets = src[between], dst[between], packets[between]
    order = np.lexsort((dst, src, -packets))[: max(int(routes), 0)]
    unit = "packets" if spike_counts is not None else "routes"
    heaviest = int(packets[order[0]]) if order.size else 0
    # draw the lightest first, so the heaviest lie on top; arcs, so that the two
    # directions of a link and links along one row stay apart
    for j in order[::-1]:
        a, b = centre[int(src[j])], centre[int(dst[j])]
        lw = 0.6 + 3.4 * float(packets[j]) / heaviest
        # the arc bulges rad x length / 2 to the side: a third of a tile at most
        rad = min(max(0.6 / max(math.dist(a, b), 1e-9), 0.08), 0.35)
        ax.add_patch(FancyArrowPatch(a, b, connectionstyle=f"arc3,rad={rad:.3f}", arrowstyle="-|>",
                                     mutation_scale=6 + 2 * lw, linewidth=lw, color="black", alpha=0.7,
                                     shrinkA=2, shrinkB=2, zorder=3))

    ax.set_xlim(x0 - 0.1, x1 + 0.1)
    ax.set_ylim(y1 + 0.1, y0 - 0.1)  # row 0 at the top, as tiles are numbered
    ax.set_xlabel("tile x", fontsize=8)
    ax.set_ylabel("tile y", fontsize=8)
    ax.tick_params(labelsize=8)
    # a tick at every tile's centre (every k-th on a big mesh), labelled with its index
    for axis, lo, hi in ((ax.xaxis, x0, x1), (ax.yaxis, y0, y1)):
        k = max(1, math.ceil((hi - lo) / 16))
        axis.set_ticks(np.arange(lo, hi, k) + 0.5, labels=[str(v) for v in range(lo, hi, k)])
    n_chips_used = len(set(chips_used)) if used.size else 0
    ax.set_title(f"'{mapping.network.name}' on {chip.name}: {used.size} core{'s' if used.size != 1 else ''} "
                 f"on {n_chips_used} of {chip.n_chips} chip{'s' if chip.n_chips != 1 else ''}"
                 + (f" (zoomed in: {zoomed} of {tx * chip.system.chips_x} x {ty * chip.system.chips_y})"
                    if zoomed else ""), loc="left", fontsize=9)
    # core ids in the cells, when the cells are big enough to read them
    cell_in = w * (side / max(width_tiles, 1))
    if used.size and used.size <= 64 and cell_in >= 0.22:
        for c in used:
            cx, cy = centre[int(c)]
            ax.text(cx, cy + 0.32 * h, str(int(c)), ha="center", va="center", fontsize=7, color="#111111",
                    zorder=4)

    # legends: populations present, the links; a colour bar for the shade
    present = []
    for c in used:
        top = holds[int(c)][0]
        if top not in present:
            present.append(top)
    present.sort(key=lambda p: names.index(p) if p in names else len(names))
    handles = [Patch(facecolor=colours.get(p, _RELAY_COLOUR), edgecolor="#222222", label=p) for p in present]
    if order.size:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="black", lw=4.0, label=f"busiest link: {heaviest:,} {unit}"))
        handles.append(Line2D([], [], color="white", lw=0,
                              label=f"({order.size} of {int(between.sum()):,} links drawn)"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False,
               title="core holds mostly", title_fontsize=8, alignment="left")
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    greys = LinearSegmentedColormap.from_list("shade", [_tint((0.25, 0.25, 0.25), 0.0),
                                                         _tint((0.25, 0.25, 0.25), 1.0)])
    bar = fig.colorbar(ScalarMappable(norm=Normalize(0.0, 1.0), cmap=greys), ax=ax, location="bottom",
                       shrink=0.5, aspect=30, pad=0.02)
    bar.set_ticks([0.0, 0.25, 0.5, 0.75, 1.0], labels=["0 %", "25 %", "50 %", "75 %", "100 %"])
    bar.ax.tick_params(labelsize=7)
    bar.set_label(f"shade: {label}", fontsize=8)
    return fig


# --------------------------------------------------------------------------- cost


def _scale(values: Sequence[float], unit: str) -> tuple[float, str]:
    """A divisor and unit label (SI prefix) for values in base units (J or s)."""
    top = max((abs(float(v)) for v in values), default=0.0)
    for scale, prefix in ((1e0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if top >= scale:
            return scale, f"{prefix}{unit}"
    return 1e-15, f"f{unit}"


def _bars(ax: Any, labels: Sequence[str], values_base: Sequence[float], colours: Sequence[Any], unit: str,
          title: str) -> None:
    from .report import si

    scale, label = _scale(values_base, unit)
    total = float(sum(values_base))
    y = np.arange(len(labels), dtype=np.float64)
    bars = ax.barh(y, [v / scale for v in values_base], color=list(colours), height=0.65)
    ax.set_yticks(y, list(labels), fontsize=8)
    texts = [f"{si(v, unit)}  {100.0 * v / total:.1f} %" if total else si(v, unit) for v in values_base]
    ax.bar_label(bars, labels=texts, padding=3, fontsize=7)
    ax.set_ylim(max(len(labels), 4) - 0.5, -0.5)  # a few bars stay bars, not blocks
    ax.set_xlabel(label, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.margins(x=0.45)
    ax.set_title(title, loc="left", fontsize=9)


def costs(cost: Any, *, colours: TMapping[str, Any] | None = None) -> Any:
    """Energy and latency in six panels: energy by kind of work; the critical path's
    time by kind (the barrier, or the tick of a real-time chip, included); dynamic energy
    and busy time by population; energy and latency of every step."""
    pops = list(cost.energy_by_population_pj)
    colours = colours or population_colours([p for p in pops if p != _RELAYS])
    fig = _figure(10.0, 8.0)
    axes = fig.subplots(3, 2)
    kinds = [k for k in cost.energy_by_kind_pj]
    _bars(axes[0, 0], [_KIND_NAMES.get(k, k) for k in kinds], [cost.energy_by_kind_pj[k] * 1e-12 for k in kinds],
          [_KIND_COLOURS.get(k, "k") for k in kinds], "J",
          f"energy by kind of work (total {_si(cost.energy_pj * 1e-12, 'J')})")
    tk = [k for k in cost.latency_by_kind_ns]
    _bars(axes[0, 1], [_KIND_NAMES.get(k, k) for k in tk], [cost.latency_by_kind_ns[k] * 1e-9 for k in tk],
          [_KIND_COLOURS.get(k, "k") for k in tk], "s",
          f"latency on the critical path (total {_si(cost.latency_s, 's')})")
    if pops:
        pc = [colours.get(p, _RELAY_COLOUR) for p in pops]
        _bars(axes[1, 0], pops, [cost.energy_by_population_pj[p] * 1e-12 for p in pops], pc, "J",
              "dynamic energy by population")
        if cost.timed_ops:
            _bars(axes[1, 1], pops, [cost.busy_by_population_ns.get(p, 0.0) * 1e-9 for p in pops], pc, "s",
                  "busy time by population (all cores)")
        else:
            _empty(axes[1, 1], f"busy time unknown: profile {cost.profile} gives no operation times")
    else:
        _empty(axes[1, 0], "no split by population (the layout was not given)")
        _empty(axes[1, 1], "")
    steps = np.arange(cost.step_latency_ns.size)
    for ax, series, unit, title, colour in (
            (axes[2, 0], cost.step_latency_ns * 1e-9, "s", "latency per step", "#c44e52"),
            (axes[2, 1], cost.step_energy_pj * 1e-12, "J", "energy per step (static included)", "#4c72b0")):
        scale, label = _scale(series, unit)
        ax.plot(steps, series / scale, color=colour, lw=1.0, drawstyle="steps-post")
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, max(int(steps.size), 1))
        ax.set_ylabel(label, fontsize=8)
        ax.set_xlabel("step" + (" (samples one after another)" if cost.samples != 1 else ""), fontsize=8)
        ax.tick_params(labelsize=8)
        ax.set_title(title, loc="left", fontsize=9)
    head = f"{cost.chip} (profile {cost.profile}): {cost.steps:,} steps"
    if cost.samples != 1:
        head += f", {cost.samples:,} samples"
    fig.suptitle(head, fontsize=10)
    return fig


def _si(value: float, unit: str) -> str:
    from .report import si

    return si(value, unit)


def _empty(ax: Any, text: str) -> None:
    ax.set_axis_off()
    if text:
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, wrap=True, transform=ax.transAxes)


# --------------------------------------------------------------------------- validation


def validation(counts: TMapping[str, tuple[np.ndarray, np.ndarray]], *, chip: str = "chip",
               max_points: int = 50_000, colours: TMapping[str, Any] | None = None) -> Any:
    """Float against chip spike counts: one panel per population, one point per neuron
    and sample (``counts[pop] = (float, chip)``, int ``[samples, n]``), the identity
    line ``chip = float``, and Pearson's r. A point on the line: the neuron fired as
    often on the chip as in float64. More than ``max_points`` points: a fixed random
    subset (seed 0)."""
    from .validate import pearson

    names = list(counts)[:_MAX_ROWS]
    colours = colours or population_colours(list(counts))
    n = max(len(names), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = _figure(3.4 * cols + 0.4, 3.3 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    rng = np.random.default_rng(0)
    for ax, name in zip(axes, names):
        ref, got = (np.asarray(a, dtype=np.int64).reshape(-1) for a in counts[name])
        r = pearson(ref, got)
        if ref.size > max_points:
            pick = rng.choice(ref.size, size=max_points, replace=False)
            x, y = ref[pick], got[pick]
        else:
            x, y = ref, got
        top = float(max(ref.max(initial=0), got.max(initial=0), 1)) * 1.06
        ax.plot([0, top], [0, top], color="#888888", lw=1.0, zorder=1)
        alpha = 0.8 if x.size < 500 else 0.35
        ax.scatter(x, y, s=12 if x.size < 500 else 5, alpha=alpha, color=colours.get(name, "k"),
                   edgecolors="none", zorder=2)
        ax.set_xlim(-0.03 * top, top)
        ax.set_ylim(-0.03 * top, top)
        ax.set_aspect("equal")
        same = int(np.count_nonzero(ref == got))
        ax.set_title(f"{name}: r = {'n/a' if r is None else f'{r:.3f}'}\n"
                     f"{same:,} of {ref.size:,} counts equal", loc="left", fontsize=9)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("spikes, float64 reference", fontsize=8)
        ax.set_ylabel(f"spikes, {chip}", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    if not names:
        _empty(axes[0], "no neuron populations to compare")
    return fig


def confusion_counts(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """int64 ``[n_classes, n_classes]``: entry ``[i, j]`` is how many samples of label
    ``i`` were classed ``j``. Labels or classes outside ``0..n_classes-1`` raise."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    predicted = np.asarray(predicted).reshape(-1).astype(np.int64)
    if labels.size != predicted.size:
        raise UsageError(f"{labels.size} labels for {predicted.size} predictions")
    for what, v in (("label", labels), ("class", predicted)):
        if v.size and (v.min() < 0 or v.max() >= n_classes):
            raise UsageError(f"a {what} outside 0..{n_classes - 1}: {int(v.min())}..{int(v.max())}")
    flat = np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def predictions(counts: np.ndarray) -> np.ndarray:
    """The class of each sample: its most active output neuron (``numpy.argmax``, the
    first on a tie, class 0 when the output is silent), as the validation scores it."""
    return np.argmax(np.asarray(counts).reshape(len(counts), -1), axis=1).astype(np.int64)


def confusion(labels: np.ndarray, output_counts: tuple[np.ndarray, np.ndarray], *, output: str = "output",
              chip: str = "chip") -> Any:
    """The classifier's confusion matrices, float64 reference left, chip right: a cell
    ``(label, class)`` holds how many samples of that label the model classed so (read
    from ``output_counts = (float, chip)``, spike counts ``[samples, n]`` of the output
    population, by :func:`predictions`); the diagonal is right. Each cell is shaded by
    its share of its label's samples and says its count."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    ref, got = (np.asarray(a) for a in output_counts)
    n_classes = int(max(ref.shape[1] if ref.ndim == 2 else 1, labels.max(initial=-1) + 1, 1))
    mats = [confusion_counts(labels, predictions(a), n_classes) for a in (ref, got)]
    side = min(2.0 + 0.42 * n_classes, 7.5)
    fig = _figure(2 * side + 0.8, side + 0.6)
    axes = fig.subplots(1, 2)
    for ax, mat, who in zip(axes, mats, ("float64 reference", chip)):
        per_label = mat.sum(axis=1, keepdims=True)
        share = np.divide(mat, per_label, out=np.zeros(mat.shape), where=per_label > 0)
        ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
        if n_classes <= 20:
            for i in range(n_classes):
                for j in range(n_classes):
                    if mat[i, j]:
                        ax.text(j, i, str(int(mat[i, j])), ha="center", va="center", fontsize=7,
                                color="white" if share[i, j] > 0.55 else "black")
        right = int(np.trace(mat))
        total = int(mat.sum())
        ax.set_title(f"{who}: {right:,} of {total:,} right ({100.0 * right / total if total else 0.0:.1f} %)",
                     loc="left", fontsize=9)
        ax.set_xlabel(f"class (most active neuron of '{output}')", fontsize=8)
        ax.set_ylabel("label", fontsize=8)
        step = max(1, math.ceil(n_classes / 20))
        ax.set_xticks(range(0, n_classes, step))
        ax.set_yticks(range(0, n_classes, step))
        ax.tick_params(labelsize=7)
    return fig


# --------------------------------------------------------------------------- compare

#: The panels of :func:`comparison`: (row field, title, unit or "" / "%" / "r").
_COMPARE_PANELS = (("cores", "cores", ""), ("energy_per_step_j", "energy per step", "J"),
                   ("latency_per_step_s", "latency per step", "s"),
                   ("correlation_worst", "spike-count r, worst population", "r"),
                   ("weight_error_max", "largest weight error", "%"), ("accuracy", "accuracy", "%"))


def comparison(cmp: Any) -> Any:
    """A :class:`~neurocomp.report.compare.Comparison` as bars: one panel per figure
    (cores; energy and latency per step; the worst population's spike-count r; the
    largest weight error; with samples, accuracy, the float reference's as a dashed
    line), one bar per chip in the comparison's order, each labelled with its value. A
    chip without the figure (it did not fit, could not be represented or emulated) has
    no bar but its status in its place."""
    panels = [p for p in _COMPARE_PANELS if p[0] != "accuracy" or cmp.classifier]
    labels = [r.label for r in cmp.rows]
    colours = population_colours(labels)
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig = _figure(10.0, 0.8 + (0.5 + 0.32 * max(len(labels), 2)) * rows)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    y = np.arange(len(labels), dtype=np.float64)
    for ax, (name, title, unit) in zip(axes, panels):
        values = cmp.column(name)
        have = ~np.isnan(values)
        if unit in ("J", "s"):
            scale, axis_label = _scale(values[have], unit)
            texts = [_si(v, unit) for v in values]
        elif unit == "%":
            scale, axis_label = 0.01, "%"
            texts = [f"{100.0 * v:.1f} %" for v in values]
        elif unit == "r":
            scale, axis_label = 1.0, "Pearson's r"
            texts = [f"{v:.3f}" for v in values]
        else:
            scale, axis_label = 1.0, "count"
            texts = [f"{int(v):,}" if v == v else "" for v in values]
        bars = ax.barh(y[have], values[have] / scale, color=[colours[lb] for lb, h in zip(labels, have) if h],
                       height=0.6)
        ax.bar_label(bars, labels=[t for t, h in zip(texts, have) if h], padding=3, fontsize=7)
        for i in np.flatnonzero(~have):
            ax.text(0.01, y[i], cmp.rows[i].status if cmp.rows[i].status != "ok" else "n/a", fontsize=7,
                    va="center", ha="left", color="#8a5300", transform=ax.get_yaxis_transform())
        if name == "accuracy" and cmp.accuracy_ref is not None:
            ax.axvline(100.0 * cmp.accuracy_ref, color="#444444", lw=1.0, linestyle="--",
                       label=f"float {100.0 * cmp.accuracy_ref:.1f} %")
            ax.legend(fontsize=7, loc="lower right", frameon=False)
        if unit == "r":
            ax.axvline(1.0, color="#888888", lw=0.8)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(max(len(labels), 2) - 0.5, -0.5)
        ax.set_xlabel(axis_label, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.margins(x=0.3)
        ax.set_title(title, loc="left", fontsize=9)
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    per = "sample" if cmp.classifier else "run"
    fig.suptitle(f"'{cmp.network}' on {len(labels)} chip{'s' if len(labels) != 1 else ''}: "
                 f"{cmp.steps:,} steps per {per}", fontsize=10)
    return fig


# --------------------------------------------------------------------------- the door


def plots(*, result: Any = None, mapping: Any = None, cost: Any = None,
          spike_counts: TMapping[str, np.ndarray] | None = None,
          validation_counts: TMapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
          chip_name: str | None = None, classifier: tuple[str, np.ndarray] | None = None,
          shapes: TMapping[str, Sequence[int]] | None = None) -> dict[str, bytes]:
    """Every picture the given parts of a run allow, as PNG bytes by file name.

    Parameters
    ----------
    result
        A :class:`~neurocomp.ir.result.RunResult`: ``raster.png``, ``rates.png``, and
        ``traces.png`` when it holds a probed voltage or current; its spike counts weight
        the mesh's links.
    mapping
        The :class:`~neurocomp.ir.mapping.Mapping` run: ``mesh_utilization.png``, and
        with ``cost`` ``mesh_energy.png``.
    cost
        The run's :class:`~neurocomp.report.cost.CostReport`: ``cost.png``.
    spike_counts
        ``{population: int (n,)}`` spikes per neuron, for the links when there is no
        ``result`` (a batch: the sum over samples).
    validation_counts
        ``{population: (float, chip)}`` spike counts ``[samples, n]``: ``validation.png``.
    chip_name
        The chip's name for the validation picture's axis.
    shapes
        ``{population: shape}`` for ``maps.png`` (by default the Mapping's network's
        shapes); drawn from the spike counts when a population is 2-D.
    classifier
        ``(output population, labels (samples,))`` of a validation on labelled samples:
        ``confusion.png`` from the output's counts in ``validation_counts``.

    Returns
    -------
    dict[str, bytes]
        PNG files in the order of :data:`PICTURES`; the same inputs give the same bytes.

    Raises
    ------
    UsageError
        When matplotlib is not installed (``pip install neurocomp[plot]``).
    """
    require_matplotlib()
    names: list[str] = []
    if result is not None:
        names = list(result.spikes)
    elif mapping is not None:
        names = list(mapping.network.populations)
    elif validation_counts is not None:
        names = list(validation_counts)
    colours = population_colours(names)
    if result is not None and spike_counts is None:
        spike_counts = {name: result.spike_counts(name) for name in result.spikes}
    if shapes is None and mapping is not None:
        shapes = {name: pop.shape for name, pop in mapping.network.populations.items()}
    out: dict[str, bytes] = {}
    if result is not None:
        out["raster.png"] = png(raster(result, colours=colours))
        if any(int(ev.n) > 256 for ev in result.spikes.values()):
            out["raster_full.png"] = png(raster_full(result, colours=colours))
        out["rates.png"] = png(rates(result, colours=colours))
        if _analog_traces(result):
            out["traces.png"] = png(traces(result, colours=colours))
    if spike_counts is not None and shapes and any(n in shapes and _map_shape(shapes[n]) is not None
                                                   for n in spike_counts):
        out["maps.png"] = png(maps(spike_counts, shapes, steps=None if result is None else result.steps,
                                   dt_ms=None if result is None else result.dt_ms))
    if mapping is not None:
        out["mesh_utilization.png"] = png(mesh(mapping, shade="utilization", spike_counts=spike_counts,
                                               colours=colours))
        if cost is not None:
            out["mesh_energy.png"] = png(mesh(mapping, shade="energy", cost=cost, spike_counts=spike_counts,
                                              colours=colours))
    if cost is not None:
        out["cost.png"] = png(costs(cost, colours=colours))
    if validation_counts is not None:
        out["validation.png"] = png(validation(validation_counts, chip=chip_name or "chip", colours=colours))
        if classifier is not None and classifier[0] in validation_counts:
            output, labels = classifier
            out["confusion.png"] = png(confusion(labels, validation_counts[output], output=output,
                                                 chip=chip_name or "chip"))
    return out
