"""Does the chip still compute what the float model computes? Both runs side by side.

Input: the float reference's runs and the chip's runs of one network on the same inputs
(:mod:`neurocomp.workflows.validate` makes them: the float reference
:func:`neurocomp.emulator.reference.simulate`, float64 and unquantized, and the network
compiled for the chip and run by :func:`neurocomp.emulator.run.emulate`). Output: a
:class:`ValidationReport` (:func:`agreement_report`), drawn as text, HTML or JSON.

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
projects nowhere; the last such one, :func:`neurocomp.workflows.samples.output_population`)
is read by its most active neuron, one run per labelled sample
(:mod:`neurocomp.workflows.samples`). A sample whose output neurons are all silent, or
tie for the most spikes, counts as the lowest-index neuron among the tied, as
``numpy.argmax`` picks; silent output is reported separately (``silent_ref``,
``silent_chip``). A read-out of potentials (a non-spiking ``LI`` output, as Akida's
activation-off layer is) is read by its largest potential instead
(:func:`output_scores`): the probed voltages at the last step where any of them is not
0 (for a frame read-out, ``LI(beta = 0)``, the step its frame arrives; for a leaky
integrator, the run's end); an output whose potentials stay 0 is silent.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from typing import Any, Mapping as TMapping, Sequence

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..diagnostics import UsageError
from ..ir.network import Network
from ..ir.result import RunResult

__all__ = ["ValidationReport", "PopulationAgreement", "ClassifierAgreement", "RunDigest", "agreement_report",
           "digest_run", "pearson"]


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
    scored_by: str = "spike counts"  # or "potentials" (a non-spiking read-out)


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
            t = Table(title=f"classifier (output '{c.output}'{_by(c)}, {c.samples:,} samples)", title_justify="left")
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


def _by(c: ClassifierAgreement) -> str:
    return " by its largest potential" if c.scored_by == "potentials" else ""


def _fmt(value: float | None, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


# --------------------------------------------------------------------------- the door


@dataclass(frozen=True)
class RunDigest:
    """What :func:`agreement_report` reads of one run, and no more (a few kB where the
    run holds every spike and trace: what a worker sends back of a sample).

    ``counts[name]`` and ``first[name]``: each neuron's spike count and first spike step
    (-1 if it never fires), per neuron population; ``scores``: what the classifier reads
    of its output population (:func:`output_scores`), ``None`` without one."""

    counts: dict[str, np.ndarray]
    first: dict[str, np.ndarray]
    scores: np.ndarray | None = None


def digest_run(network: Network, run: RunResult, output: str | None = None) -> RunDigest:
    """``run``'s :class:`RunDigest`: its neuron populations and, with ``output``, the
    classifier's scores. :func:`agreement_report` gives the same report from digests as
    from the runs.

    Raises
    ------
    UsageError
        When a non-spiking read-out's voltage is not probed (see :func:`output_scores`).
    """
    names = [name for name, pop in network.populations.items() if not pop.is_input]
    scores = None if output is None else output_scores(run, output, _spiking(network, output))
    # int32 is plenty for a count or a step of one run, and halves the bytes sent
    return RunDigest(counts={n: run.spike_counts(n).astype(np.int32) for n in names},
                     first={n: _first_spikes(run.spikes[n]).astype(np.int32) for n in names}, scores=scores)


def _counts(run: RunResult | RunDigest, name: str) -> np.ndarray:
    return run.counts[name] if isinstance(run, RunDigest) else run.spike_counts(name)


def _first(run: RunResult | RunDigest, name: str) -> np.ndarray:
    return run.first[name] if isinstance(run, RunDigest) else _first_spikes(run.spikes[name])


def _scores(run: RunResult | RunDigest, output: str, spiking: bool) -> np.ndarray:
    if isinstance(run, RunDigest):
        if run.scores is None:
            raise ValueError("a RunDigest made without the output population cannot be classified")
        return run.scores
    return output_scores(run, output, spiking)


def agreement_report(network: Network, chip: Any, steps: int, ref_runs: Sequence[RunResult | RunDigest],
                     chip_runs: Sequence[RunResult | RunDigest], *, labels: np.ndarray | None = None,
                     output: str | None = None, notes: Sequence[str] = (),
                     wall_s: TMapping[str, float] | None = None, spike_counts: bool = True) -> ValidationReport:
    """How the chip's runs agree with the float reference's, run by run.

    Parameters
    ----------
    network
        The network both ran.
    chip
        The :class:`~neurocomp.chip.spec.ChipSpec` the chip runs were emulated on.
    steps
        Steps per run.
    ref_runs, chip_runs
        The float reference's and the chip's runs, one pair per input (or sample), or
        their :class:`RunDigest` (:func:`digest_run`, with ``output`` for a classifier).
    labels, output
        For a classifier: each run's label and the output population read.
    notes
        Lines the report prints under its tables (the chip runs' warnings).
    wall_s
        Wall-clock times to keep in the report.
    spike_counts
        Keep each population's per-neuron spike counts (for a float-vs-chip scatter).

    Returns
    -------
    ValidationReport
        One :class:`PopulationAgreement` per neuron population; a
        :class:`ClassifierAgreement` when ``labels`` and ``output`` are given.
    """
    dt_ms = float(network.dt_ms)
    pops = tuple(_agreement(name, ref_runs, chip_runs, steps, dt_ms)
                 for name, pop in network.populations.items() if not pop.is_input)
    classifier = None
    if labels is not None and output is not None:
        classifier = _classify(output, ref_runs, chip_runs, labels, _spiking(network, output))
    counts = {}
    if spike_counts:
        counts = {p.name: (np.stack([_counts(r, p.name) for r in ref_runs]).astype(np.int64),
                           np.stack([_counts(r, p.name) for r in chip_runs]).astype(np.int64)) for p in pops}
    return ValidationReport(network=network.name, chip=chip.name, profile=chip.active_profile, steps=steps,
                            samples=len(ref_runs), dt_ms=dt_ms, populations=pops, classifier=classifier,
                            notes=tuple(notes), wall_s={} if wall_s is None else wall_s, spike_counts=counts)


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


def _agreement(name: str, ref: Sequence[RunResult | RunDigest], chip: Sequence[RunResult | RunDigest], steps: int,
               dt_ms: float) -> PopulationAgreement:
    counts_ref = np.stack([_counts(r, name) for r in ref]).astype(np.int64)
    counts_chip = np.stack([_counts(r, name) for r in chip]).astype(np.int64)
    first_ref = np.stack([_first(r, name) for r in ref]).astype(np.int64)
    first_chip = np.stack([_first(r, name) for r in chip]).astype(np.int64)
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


def _spiking(network: Network, output: str) -> bool:
    pop = network.populations.get(output)
    return pop is None or pop.neuron is None or bool(pop.neuron.spiking)


def output_scores(run: RunResult, output: str, spiking: bool) -> np.ndarray:
    """float64 ``(n,)``: what the classifier reads from ``output`` in one run (its class
    is the ``argmax``): the spike counts of a spiking output; for a non-spiking read-out
    the probed potentials at the last step where any of them is not 0 (zeros if none is).

    Raises
    ------
    UsageError
        When a non-spiking read-out's voltage is not probed.
    """
    if spiking:
        return run.spike_counts(output).astype(np.float64)
    v = run.traces.get(output, {}).get("voltage")
    if v is None:
        raise UsageError(f"the read-out '{output}' sends no spikes: its class is its largest potential, "
                         "which is not probed", hint=f"probe it: 'probe {output} : voltage'")
    live = np.flatnonzero(np.any(np.asarray(v) != 0, axis=1))
    return np.asarray(v[live[-1]], dtype=np.float64) if live.size else np.zeros(v.shape[1])


def _classify(output: str, ref: Sequence[RunResult | RunDigest], chip: Sequence[RunResult | RunDigest],
              labels: np.ndarray, spiking: bool = True) -> ClassifierAgreement:
    counts_ref = np.stack([_scores(r, output, spiking) for r in ref])
    counts_chip = np.stack([_scores(r, output, spiking) for r in chip])
    pred_ref = np.argmax(counts_ref, axis=1)
    pred_chip = np.argmax(counts_chip, axis=1)
    n = len(labels)
    return ClassifierAgreement(
        output=output, samples=n, accuracy_ref=float(np.mean(pred_ref == labels)),
        accuracy_chip=float(np.mean(pred_chip == labels)), agreement=float(np.mean(pred_ref == pred_chip)),
        silent_ref=int(np.count_nonzero(np.all(counts_ref == 0, axis=1))),
        silent_chip=int(np.count_nonzero(np.all(counts_chip == 0, axis=1))),
        scored_by="spike counts" if spiking else "potentials")
