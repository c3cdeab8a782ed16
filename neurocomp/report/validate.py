"""Does the chip still compute what the float model computes? Both runs side by side.

Input: a :class:`~neurocomp.ir.network.Network`, a chip, a number of steps, and either
input overrides (one run) or a labelled sample set (a classifier). Output: a
:class:`ValidationReport`. The float reference
(:func:`neurocomp.emulator.reference.simulate`, float64, unquantized) and the chip
emulation (the network compiled for ``chip``, then
:func:`neurocomp.emulator.run.emulate`) see exactly the same input events.

Per neuron population, over every neuron (and every sample):

* ``correlation``: Pearson's r between the two runs' spike counts per neuron; ``None``
  where it is undefined (one run's counts are all equal and the other's are not); 1.0
  when both runs give every neuron the same count;
* ``rate_ref_hz`` / ``rate_chip_hz``: mean firing rates; ``rate_error``: their relative
  difference ``(chip - ref) / ref`` (``None`` when the reference is silent);
  ``rate_mae_hz``: the mean over neurons of ``|rate_chip - rate_ref|``;
* ``first_spike_error_steps``: the mean ``|t_chip - t_ref|`` of the first spike, over
  neurons that fire in both runs (``None`` if none does); ``fire_in_one_only``: neurons
  that fire in one run and not the other.

A classifier is a network whose output population (a probed neuron population that
projects nowhere; the last such one) is read by its most active neuron. Given samples
``x`` ``[n, ...]`` and labels ``y`` ``[n]``, each sample drives the network's one input
population: when ``x[i]`` has the population's size it replaces the encoder's ``value``
(rate, latency and current inputs), the rate encoder's seed advancing by one per sample
so samples draw independent spikes; when it is ``T x N`` with ``T >= steps`` it is the
input raster itself. A sample whose output neurons are all silent, or tie for the most
spikes, counts as the lowest-index neuron among the tied, as ``numpy.argmax`` picks;
silent output is reported separately (``silent_ref``, ``silent_chip``).
"""

from __future__ import annotations

import dataclasses
import io
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping as TMapping, Sequence

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..diagnostics import InputFileError, UsageError
from ..ir.network import Network
from ..ir.result import RunResult
from ..ir.synapses import InputEvents

__all__ = ["validate", "ValidationReport", "PopulationAgreement", "ClassifierAgreement", "load_samples",
           "sample_inputs", "encode_samples", "output_population", "pearson"]


@dataclass(frozen=True, kw_only=True)
class PopulationAgreement:
    """How one population's spikes compare between the float and the chip run."""

    name: str
    size: int
    spikes_ref: int
    spikes_chip: int
    correlation: float | None
    rate_ref_hz: float
    rate_chip_hz: float
    rate_error: float | None
    rate_mae_hz: float
    first_spike_error_steps: float | None
    fire_in_one_only: int


@dataclass(frozen=True, kw_only=True)
class ClassifierAgreement:
    """Accuracy of each model on labelled samples, and how often they agree."""

    output: str
    samples: int
    accuracy_ref: float
    accuracy_chip: float
    agreement: float
    silent_ref: int
    silent_chip: int


@dataclass(frozen=True, eq=False, kw_only=True)
class ValidationReport:
    """The float reference against the chip, population by population."""

    network: str
    chip: str
    profile: str
    steps: int
    samples: int
    dt_ms: float
    populations: tuple[PopulationAgreement, ...]
    classifier: ClassifierAgreement | None = None
    notes: tuple[str, ...] = ()
    wall_s: TMapping[str, float] = field(default_factory=dict)
    # per neuron population: int64 [samples, n] spike counts of the float run and of
    # the chip run (what a float-vs-chip scatter plots); not part of to_dict()
    spike_counts: TMapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def population(self, name: str) -> PopulationAgreement:
        for p in self.populations:
            if p.name == name:
                return p
        raise UsageError(f"the validation has no population '{name}'")

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network, "chip": self.chip, "profile": self.profile,
            "steps": self.steps, "samples": self.samples, "dt_ms": self.dt_ms,
            "populations": {p.name: {k: v for k, v in dataclasses.asdict(p).items() if k != "name"}
                            for p in self.populations},
            "classifier": None if self.classifier is None else dataclasses.asdict(self.classifier),
            "notes": list(self.notes),
            "wall_s": dict(self.wall_s),
        }

    def render(self, console: Console) -> None:
        head = f"float reference vs {self.chip} emulation of '{self.network}': {self.steps:,} steps"
        if self.samples != 1:
            head += f" x {self.samples:,} samples"
        console.print(Text(head))
        table = Table(title="spikes per population", title_justify="left")
        for col in ("population", "neurons", "spikes\nfloat", "spikes\nchip", "count r", "rate (Hz)\nfloat",
                    "rate (Hz)\nchip", "rate\nerror", "first spike\n|dt| (steps)", "fire in\none only"):
            table.add_column(col, justify="left" if col == "population" else "right", no_wrap=True)
        for p in self.populations:
            table.add_row(Text(p.name), f"{p.size:,}", f"{p.spikes_ref:,}", f"{p.spikes_chip:,}",
                          _fmt(p.correlation, "{:.3f}"), f"{p.rate_ref_hz:.2f}", f"{p.rate_chip_hz:.2f}",
                          _fmt(p.rate_error, "{:+.1%}"), _fmt(p.first_spike_error_steps, "{:.2f}"),
                          f"{p.fire_in_one_only:,}")
        console.print(table)
        c = self.classifier
        if c is not None:
            t = Table(title=f"classifier (output '{c.output}', {c.samples:,} samples)", title_justify="left")
            for col in ("accuracy float", "accuracy chip", "agreement", "silent float", "silent chip"):
                t.add_column(col, justify="right")
            t.add_row(f"{c.accuracy_ref:.1%}", f"{c.accuracy_chip:.1%}", f"{c.agreement:.1%}",
                      f"{c.silent_ref:,}", f"{c.silent_chip:,}")
            console.print(t)
        for note in self.notes:
            console.print(Text(f"note: {note}"), soft_wrap=True)

    def to_text(self, width: int = 120) -> str:
        buf = io.StringIO()
        self.render(Console(file=buf, width=width, color_system=None, highlight=False, soft_wrap=False))
        return buf.getvalue()

    def __repr__(self) -> str:
        return self.to_text().rstrip("\n")

    def _repr_html_(self) -> str:
        """For notebooks: the head, the populations and the classifier as plain HTML tables."""
        from html import escape

        def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
            head = "".join(f"<th>{escape(h)}</th>" for h in header)
            right = ' style="text-align:right"'
            body = "".join("<tr>" + "".join(f"<td{right if i else ''}>{escape(str(v))}</td>"
                                            for i, v in enumerate(row)) + "</tr>" for row in rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        head = f"float reference vs {self.chip} emulation of '{self.network}': {self.steps:,} steps" + (
            f" x {self.samples:,} samples" if self.samples != 1 else "")
        pops = [(p.name, f"{p.size:,}", f"{p.spikes_ref:,}", f"{p.spikes_chip:,}", _fmt(p.correlation, "{:.3f}"),
                 f"{p.rate_ref_hz:.2f}", f"{p.rate_chip_hz:.2f}", _fmt(p.rate_error, "{:+.1%}"),
                 _fmt(p.first_spike_error_steps, "{:.2f}"), f"{p.fire_in_one_only:,}") for p in self.populations]
        parts = [f"<p>{escape(head)}</p>",
                 table(("population", "neurons", "spikes float", "spikes chip", "count r", "rate float (Hz)",
                        "rate chip (Hz)", "rate error", "first spike |dt| (steps)", "fire in one only"), pops)]
        c = self.classifier
        if c is not None:
            parts.append(table(("output", "samples", "accuracy float", "accuracy chip", "agreement"),
                               [(c.output, f"{c.samples:,}", f"{c.accuracy_ref:.1%}", f"{c.accuracy_chip:.1%}",
                                 f"{c.agreement:.1%}")]))
        parts += [f"<p>note: {escape(n)}</p>" for n in self.notes]
        return "<div>" + "".join(parts) + "</div>"


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


# --------------------------------------------------------------------------- the door


def validate(network: Network, chip: Any, steps: int,
             inputs: TMapping[str, InputEvents | np.ndarray] | None = None, *,
             samples: str | Path | tuple[np.ndarray, np.ndarray] | None = None,
             mapping: Any = None, progress: Callable[[int, int], None] | None = None) -> ValidationReport:
    """Run the float reference and the chip emulation on the same inputs and compare.

    Parameters
    ----------
    network
        The network, float parameters as written.
    chip
        The :class:`~neurocomp.chip.spec.ChipSpec` to compile for and emulate.
    steps
        Steps per run (``> 0``).
    inputs
        Input overrides for a single run (as :func:`~neurocomp.emulator.reference.simulate`
        takes them); by default each input population's encoder.
    samples
        A labelled set (an ``.npz`` path with ``x`` and ``y``, or ``(x, y)``): one run
        per sample and the classifier's accuracy (see the module docstring). Not
        together with ``inputs``.
    mapping
        The network already compiled for ``chip`` (it is compiled otherwise).
    progress
        Called as ``progress(done, total)`` after each sample.

    Returns
    -------
    ValidationReport

    Raises
    ------
    UsageError
        For bad ``steps``, ``inputs`` together with ``samples``, a classifier without a
        probed output population or with several inputs.
    InputFileError
        For a sample file that lacks ``x`` or ``y`` or does not fit the input.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise UsageError(f"steps must be a whole number > 0, got {steps!r}")
    steps = int(steps)
    if samples is not None and inputs is not None:
        raise UsageError("give either inputs (one run) or samples (a labelled set), not both")
    from ..compiler.lower import lower
    from ..emulator.reference import simulate

    wall: dict[str, float] = {}
    start = time.perf_counter()
    if mapping is None:
        mapping = compile_for(network, chip)
    wall["compile"] = time.perf_counter() - start
    synapses = lower(network)
    emulate = _emulator()

    runs: list[dict[str, InputEvents | np.ndarray] | None]
    labels: np.ndarray | None = None
    output: str | None = None
    if samples is None:
        runs = [dict(inputs) if inputs else None]
    else:
        x, labels = load_samples(samples) if not isinstance(samples, tuple) else _check_samples(*samples, "samples")
        output = output_population(network)
        runs = sample_inputs(network, steps, x)  # type: ignore[assignment]

    ref_runs: list[RunResult] = []
    chip_runs: list[RunResult] = []
    t_ref = t_chip = 0.0
    chip_warnings: list[str] = []  # first warning of each chip run that had any
    for i, run_inputs in enumerate(runs):
        t0 = time.perf_counter()
        ref_runs.append(simulate(network, steps, run_inputs, synapses=synapses))
        t1 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            chip_runs.append(emulate(mapping, steps, run_inputs))
        if caught:
            chip_warnings.append(str(caught[0].message))
        t2 = time.perf_counter()
        t_ref += t1 - t0
        t_chip += t2 - t1
        if progress is not None:
            progress(i + 1, len(runs))
    wall["reference"] = t_ref
    wall["emulate"] = t_chip

    pops = tuple(_agreement(name, ref_runs, chip_runs, steps, float(network.dt_ms))
                 for name, pop in network.populations.items() if not pop.is_input)
    classifier = None
    if labels is not None and output is not None:
        classifier = _classify(output, ref_runs, chip_runs, labels)
    notes = ()
    if chip_warnings:
        notes = (f"{len(chip_warnings)} of {len(runs)} chip run{'s' if len(runs) != 1 else ''} warned; "
                 f"the first: {chip_warnings[0]}",)
    counts = {p.name: (np.stack([r.spike_counts(p.name) for r in ref_runs]).astype(np.int64),
                       np.stack([r.spike_counts(p.name) for r in chip_runs]).astype(np.int64)) for p in pops}
    return ValidationReport(network=network.name, chip=chip.name, profile=chip.active_profile, steps=steps,
                            samples=len(runs), dt_ms=float(network.dt_ms), populations=pops,
                            classifier=classifier, notes=notes, wall_s=wall, spike_counts=counts)


# --------------------------------------------------------------------------- stages


def compile_for(network: Network, chip: Any) -> Any:
    """The network compiled for ``chip`` by the compiler's pipeline."""
    from ..compiler import pipeline

    fn = getattr(pipeline, "compile", None) or getattr(pipeline, "compile_network")
    return fn(network, chip)


def _emulator() -> Callable[..., RunResult]:
    from ..emulator.run import emulate

    return emulate


# --------------------------------------------------------------------------- samples


def load_samples(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``x`` ``[n, ...]`` and integer ``y`` ``[n]`` from an ``.npz`` file (no pickles).

    Raises
    ------
    InputFileError
        When the file is missing or unreadable, or lacks ``x`` or ``y``, or they
        disagree in length.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"no such sample file: '{p}'", hint="give an .npz file with arrays x and y")
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # numpy raises several kinds for a file that is not an npz
        raise InputFileError(f"'{p}' is not a readable .npz file ({exc})",
                             hint="write it with numpy.savez(path, x=..., y=...)") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise InputFileError(f"'{p}' lacks array{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"(it has: {', '.join(arrays) or 'nothing'})",
                             hint="samples go in x [n, ...] and their labels in y [n]")
    return _check_samples(arrays["x"], arrays["y"], f"'{p}'")


def _check_samples(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise InputFileError(f"{what}: x {x.shape} and y {y.shape} must be [n, ...] and [n]")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputFileError(f"{what}: labels y must be integers (got {y.dtype})")
    return x, y.astype(np.int64)


def output_population(network: Network) -> str:
    """The classifier's output: the last probed neuron population that projects nowhere.

    Raises
    ------
    UsageError
        When no probed neuron population projects nowhere.
    """
    projecting = {p.pre for p in network.projections}
    probed = {p.population for p in network.probes}
    candidates = [name for name, pop in network.populations.items()
                  if not pop.is_input and name in probed and name not in projecting]
    if not candidates:
        raise UsageError(f"network '{network.name}' has no probed output population to classify with",
                         hint="probe the output population: 'probe out : spikes'")
    return candidates[-1]


def sample_inputs(network: Network, steps: int, x: np.ndarray) -> list[dict[str, InputEvents | np.ndarray]]:
    """Per sample, the input overrides that make the network's one input show ``x[i]``.

    Raises
    ------
    UsageError
        When the network has no or several input populations (or see
        :func:`encode_samples`).
    """
    inputs = [name for name, pop in network.populations.items() if pop.is_input]
    if len(inputs) != 1:
        raise UsageError(f"samples drive one input population; network '{network.name}' has "
                         f"{len(inputs)} ({', '.join(inputs) or 'none'})",
                         hint="give per-population inputs with 'neurocomp run --inputs' instead")
    pop = network.populations[inputs[0]]
    return [{pop.name: ev} for ev in encode_samples(pop, steps, float(network.dt_ms), x)]


def encode_samples(pop: Any, steps: int, dt_ms: float, x: np.ndarray) -> list[InputEvents | np.ndarray]:
    """What input population ``pop`` emits for each sample ``x[i]``.

    ``x[i]`` of the population's size replaces the encoder's ``value`` (and, for an
    encoder with a seed, the seed becomes ``seed + i``); ``x[i]`` of shape ``T x size``
    (``T >= steps``) is the raster itself.

    Raises
    ------
    UsageError
        When ``x[i]`` is a value but the input's encoder takes none.
    InputFileError
        When a sample fits neither form.
    """
    from ..compiler.encode import encode

    x = np.asarray(x)
    where = f"input '{pop.name}'"
    per_sample = int(np.prod(x.shape[1:], dtype=np.int64))
    if per_sample == pop.size:
        encoder = pop.encoder
        names = {f.name for f in dataclasses.fields(encoder)} if dataclasses.is_dataclass(encoder) else set()
        if "value" not in names:
            raise UsageError(f"input '{pop.name}' ({type(encoder).__name__}) takes no value to replace "
                             "with a sample", where=where, hint="give the samples as rasters [n, T, N] instead")
        out: list[InputEvents | np.ndarray] = []
        for i in range(x.shape[0]):
            changes: dict[str, Any] = {"value": np.asarray(x[i], dtype=np.float64).reshape(pop.shape)}
            if "seed" in names:
                changes["seed"] = int(encoder.seed) + i
            sample_pop = dataclasses.replace(pop, encoder=dataclasses.replace(encoder, **changes))
            out.append(encode(sample_pop, steps, dt_ms))
        return out
    if x.ndim >= 3 and x.shape[1] >= steps and int(np.prod(x.shape[2:], dtype=np.int64)) == pop.size:
        return [np.asarray(x[i][:steps]).reshape(steps, pop.size) for i in range(x.shape[0])]
    raise InputFileError(f"a sample of shape {x.shape[1:]} fits neither input '{pop.name}' "
                         f"({pop.size} values) nor a raster of >= {steps} steps x {pop.size}", where=where)


# --------------------------------------------------------------------------- metrics


def _first_spikes(ev: Any) -> np.ndarray:
    """int64 ``(n,)``: each neuron's first spike step, -1 if it never fires."""
    first = np.full(ev.n, -1, dtype=np.int64)
    if ev.count:
        # events are sorted by time, so the first occurrence of an index is its first spike
        idx, at = np.unique(ev.indices, return_index=True)
        first[idx] = ev.times[at]
    return first


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r of two equal-length vectors; 1.0 if they are equal (constant or not),
    ``None`` if one of them is constant and they differ."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if np.array_equal(a, b):
        return 1.0  # exactly, where rounding would give 0.9999999999999998
    da, db = a - a.mean() if a.size else a, b - b.mean() if b.size else b
    na, nb = float(np.sqrt((da * da).sum())), float(np.sqrt((db * db).sum()))
    if na == 0.0 or nb == 0.0:
        return None
    return float((da * db).sum() / (na * nb))


def _agreement(name: str, ref: Sequence[RunResult], chip: Sequence[RunResult], steps: int,
               dt_ms: float) -> PopulationAgreement:
    counts_ref = np.stack([r.spike_counts(name) for r in ref]).astype(np.int64)
    counts_chip = np.stack([r.spike_counts(name) for r in chip]).astype(np.int64)
    first_ref = np.stack([_first_spikes(r.spikes[name]) for r in ref])
    first_chip = np.stack([_first_spikes(r.spikes[name]) for r in chip])
    n = int(counts_ref.shape[1])
    seconds = steps * dt_ms * 1e-3
    rate_ref = counts_ref / seconds
    rate_chip = counts_chip / seconds
    mean_ref = float(rate_ref.mean()) if rate_ref.size else 0.0
    mean_chip = float(rate_chip.mean()) if rate_chip.size else 0.0
    both = (first_ref >= 0) & (first_chip >= 0)
    one = (first_ref >= 0) != (first_chip >= 0)
    return PopulationAgreement(
        name=name, size=n, spikes_ref=int(counts_ref.sum()), spikes_chip=int(counts_chip.sum()),
        correlation=pearson(counts_ref, counts_chip), rate_ref_hz=mean_ref, rate_chip_hz=mean_chip,
        rate_error=(mean_chip - mean_ref) / mean_ref if mean_ref else None,
        rate_mae_hz=float(np.abs(rate_chip - rate_ref).mean()) if rate_ref.size else 0.0,
        first_spike_error_steps=float(np.abs(first_chip - first_ref)[both].mean()) if both.any() else None,
        fire_in_one_only=int(one.sum()))


def _classify(output: str, ref: Sequence[RunResult], chip: Sequence[RunResult],
              labels: np.ndarray) -> ClassifierAgreement:
    counts_ref = np.stack([r.spike_counts(output) for r in ref])
    counts_chip = np.stack([r.spike_counts(output) for r in chip])
    pred_ref = np.argmax(counts_ref, axis=1)
    pred_chip = np.argmax(counts_chip, axis=1)
    n = len(labels)
    return ClassifierAgreement(
        output=output, samples=n, accuracy_ref=float(np.mean(pred_ref == labels)),
        accuracy_chip=float(np.mean(pred_chip == labels)), agreement=float(np.mean(pred_ref == pred_chip)),
        silent_ref=int(np.count_nonzero(counts_ref.sum(axis=1) == 0)),
        silent_chip=int(np.count_nonzero(counts_chip.sum(axis=1) == 0)))
