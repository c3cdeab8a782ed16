"""The outcome of a run: spikes, probed traces and work counters.

Every simulator produces a :class:`RunResult`: the float reference
(:func:`neurocomp.emulator.reference.simulate`) and the chip emulators alike, so two
runs of one network can be compared field by field. Nothing in it says which produced
it.

On disk a result is a folder with two files::

    spikes.npz    <pop>.times, <pop>.indices (int64) for every population,
                  <pop>.values (int64 or float64) for a population whose events carry
                  a value (Akida's graded activations and input pixels),
                  <pop>.<var> for every probed trace (voltage, current: float64
                  (steps, n); spikes: bool (steps, n))
    summary.json  the counters and per-population sizes and rates (:meth:`summary`)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import numpy as np

from ..chip.events import EVENTS
from ..diagnostics import UsageError, did_you_mean

__all__ = ["SpikeEvents", "StepTimes", "Counters", "RunResult"]

SPIKES_FILE = "spikes.npz"
SUMMARY_FILE = "summary.json"


class StepTimes:
    """The steps of events ordered by step, kept as a CSR by step until first read:
    ``step_ptr[t]:step_ptr[t + 1]`` are the events of step ``t`` (``step_ptr[0] == 0``).

    A :class:`SpikeEvents` given one as ``times`` makes its int64 array when ``times`` is
    first read: a batch's input populations carry millions of events whose steps most
    callers never look at (mnist_mlp's 200 samples: 5.4 M, ~15 % of a batched run)."""

    __slots__ = ("step_ptr",)

    def __init__(self, step_ptr: np.ndarray) -> None:
        self.step_ptr = np.asarray(step_ptr, dtype=np.int64)

    @property
    def size(self) -> int:
        return int(self.step_ptr[-1])

    def array(self) -> np.ndarray:
        """The int64 step of each event."""
        return np.repeat(np.arange(self.step_ptr.size - 1, dtype=np.int64), np.diff(self.step_ptr))

    def __getstate__(self) -> np.ndarray:
        return self.step_ptr

    def __setstate__(self, state: np.ndarray) -> None:
        self.step_ptr = state


class _Times:
    """``SpikeEvents.times``: a :class:`StepTimes` given for it becomes its array when first
    read (the dataclass's ``__init__`` stores through ``__set__``; no default)."""

    def __get__(self, obj: Any, owner: Any = None) -> np.ndarray:
        if obj is None:
            raise AttributeError("times")
        t = obj.__dict__["times"]
        if isinstance(t, StepTimes):
            t = t.array()
            obj.__dict__["times"] = t
        return t

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["times"] = value


@dataclass(frozen=True, eq=False, kw_only=True)
class SpikeEvents:
    """The spikes of one population: neuron ``indices[k]`` fired at step ``times[k]``.

    Events are sorted by time, then by index. For an input population these are the
    events it emitted (for a graded source, one per neuron and step it emitted at).

    Parameters
    ----------
    times : numpy.ndarray or StepTimes
        int64, the step of each spike (a :class:`StepTimes`: made when first read).
    indices : numpy.ndarray
        int64, the flat (C-order) index of the neuron in its population.
    n : int
        The population's size.
    is_input : bool
        Whether the population is an input source rather than neurons.
    values : numpy.ndarray or None
        int64 or float64, the value each event carried, on a chip whose events carry one
        (Akida's graded activations and input pixels); ``None``: every event is worth 1.
    """

    times: np.ndarray = _Times()  # type: ignore[assignment]
    indices: np.ndarray
    n: int
    is_input: bool = False
    values: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "indices", np.ascontiguousarray(self.indices, dtype=np.int64))
        t = self.__dict__["times"]
        if isinstance(t, StepTimes):
            shape: tuple[int, ...] = (t.size,)
        else:
            object.__setattr__(self, "times", np.ascontiguousarray(t, dtype=np.int64))
            shape = self.times.shape
        if shape != self.indices.shape or len(shape) != 1:
            raise ValueError(f"times {shape} and indices {self.indices.shape} "
                             "must be 1-D and of one length")
        if self.values is not None and np.shape(self.values) != shape:
            raise ValueError(f"values {np.shape(self.values)} must have one entry per event")

    @property
    def count(self) -> int:
        """Number of spikes in all."""
        return int(self.indices.size)

    @property
    def counts(self) -> np.ndarray:
        """int64 ``(n,)``: spikes per neuron."""
        return np.bincount(self.indices, minlength=self.n).astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False, init=False)
class Counters:
    """Work the chip did, per step and per used core: what energy and latency are made of.

    One int64 ``(steps, n_cores)`` array per event of the cost vocabulary
    (:data:`neurocomp.chip.events.EVENTS`, which says what each one counts); column
    ``k`` is core ``core_ids[k]``. ``counts`` maps the event's name to its array, and
    each is also an attribute (``counters.synops``)::

        Counters(core_ids=ids, spikes_in=a, synops=b, ...)   # every event, by name
        Counters.from_rows(ids, cnt)   # a kernel's (len(FIELDS), steps, n_cores) array

    :attr:`FIELDS` lists the events' names in the kernels' order (``spikes_in``,
    ``synops``, ...).
    """

    core_ids: np.ndarray  # int32 [n_cores]
    counts: Mapping[str, np.ndarray]

    #: The events' names, in the kernels' order.
    FIELDS: ClassVar[tuple[str, ...]] = tuple(e.name for e in EVENTS)

    def __init__(self, *, core_ids: np.ndarray, **counts: np.ndarray) -> None:
        unknown = [name for name in counts if name not in self.FIELDS]
        if unknown:
            raise TypeError(f"Counters has no event '{unknown[0]}'; events: {', '.join(self.FIELDS)}")
        missing = [name for name in self.FIELDS if name not in counts]
        if missing:
            raise TypeError(f"Counters needs every event; missing: {', '.join(missing)}")
        object.__setattr__(self, "core_ids", core_ids)
        object.__setattr__(self, "counts", MappingProxyType({name: counts[name] for name in self.FIELDS}))

    @classmethod
    def from_rows(cls, core_ids: np.ndarray, rows: np.ndarray) -> "Counters":
        """From a kernel's ``(len(FIELDS), steps, n_cores)`` array: row ``i`` is ``FIELDS[i]``."""
        if len(rows) != len(cls.FIELDS):
            raise ValueError(f"expected {len(cls.FIELDS)} rows, one per event (got {len(rows)})")
        return cls(core_ids=core_ids, **{name: rows[i] for i, name in enumerate(cls.FIELDS)})

    def __getattr__(self, name: str) -> np.ndarray:
        # Only reached when ordinary lookup fails: the events' arrays by name.
        if name in Counters.FIELDS and "counts" in self.__dict__:
            return self.__dict__["counts"][name]
        raise AttributeError(f"'Counters' object has no attribute '{name}'")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (for worker processes) as its constructor call; a mappingproxy does not pickle.
        return (_counters, (self.core_ids, dict(self.counts)))


def _counters(core_ids: np.ndarray, counts: dict[str, np.ndarray]) -> Counters:
    return Counters(core_ids=core_ids, **counts)


@dataclass(frozen=True, eq=False, kw_only=True)
class RunResult:
    """Spikes, probed traces and work counters of one run of ``steps`` steps.

    Parameters
    ----------
    network : str
        The network's name.
    steps : int
        Number of simulated steps.
    dt_ms : float
        Length of one step in milliseconds.
    spikes : Mapping[str, SpikeEvents]
        Per population (neurons and inputs, in the network's order), its spike events.
    traces : Mapping[str, Mapping[str, numpy.ndarray]]
        ``traces[pop][var]``: ``(steps, n)`` arrays of the probed variables; float64 for
        ``voltage`` and ``current`` (the state at the end of each step, after any
        reset), bool for ``spikes``.
    wall_s : float
        Wall-clock time of the simulation loop alone (no set-up, no compilation).
    synaptic_events : int
        Sum over every emitted event (neuron spikes and input events) of its fan-out.
    neuron_updates : int
        Neuron state updates: (non-input) neurons × steps.
    """

    network: str
    steps: int
    dt_ms: float
    spikes: Mapping[str, SpikeEvents]
    traces: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    wall_s: float = 0.0
    synaptic_events: int = 0
    neuron_updates: int = 0
    counters: Counters | None = None  # chip runs only

    # -- queries ----------------------------------------------------------------------

    @property
    def duration_s(self) -> float:
        """Simulated (biological) time in seconds."""
        return self.steps * self.dt_ms / 1000.0

    def _events(self, pop: str) -> SpikeEvents:
        try:
            return self.spikes[pop]
        except KeyError:
            raise UsageError(f"the run has no population '{pop}'",
                             hint=did_you_mean(pop, self.spikes)) from None

    def spike_counts(self, pop: str) -> np.ndarray:
        """int64 ``(n,)``: spikes per neuron of population ``pop``."""
        return self._events(pop).counts

    def rates_hz(self, pop: str) -> np.ndarray:
        """float64 ``(n,)``: the mean firing rate of each neuron of ``pop`` in Hz."""
        counts = self._events(pop).counts.astype(np.float64)
        if self.duration_s == 0.0:
            return np.zeros(counts.shape, dtype=np.float64)
        return counts / self.duration_s

    def summary(self) -> dict[str, Any]:
        """A JSON-able digest: per population size, spikes, mean rate, silent fraction.

        ``totals`` counts the neurons (not the inputs); ``input_events`` counts what the
        inputs emitted. Throughputs are per second of ``wall_s`` (0 when unmeasured).
        """
        pops: dict[str, Any] = {}
        n_neurons = n_spikes = n_silent = n_input_events = 0
        for name, ev in self.spikes.items():
            counts = ev.counts
            silent = int(np.count_nonzero(counts == 0))
            rate = ev.count / (ev.n * self.duration_s) if ev.n and self.duration_s else 0.0
            pops[name] = {
                "size": int(ev.n),
                "input": bool(ev.is_input),
                "spikes": ev.count,
                "mean_rate_hz": float(rate),
                "silent_fraction": float(silent / ev.n) if ev.n else 0.0,
            }
            if ev.is_input:
                n_input_events += ev.count
            else:
                n_neurons += ev.n
                n_spikes += ev.count
                n_silent += silent
        wall = float(self.wall_s)
        return {
            "network": self.network,
            "steps": int(self.steps),
            "dt_ms": float(self.dt_ms),
            "duration_s": float(self.duration_s),
            "populations": pops,
            "totals": {
                "neurons": n_neurons,
                "spikes": n_spikes,
                "mean_rate_hz": float(n_spikes / (n_neurons * self.duration_s))
                if n_neurons and self.duration_s else 0.0,
                "silent_fraction": float(n_silent / n_neurons) if n_neurons else 0.0,
                "input_events": n_input_events,
            },
            "wall_s": wall,
            "synaptic_events": int(self.synaptic_events),
            "neuron_updates": int(self.neuron_updates),
            "synaptic_events_per_s": float(self.synaptic_events / wall) if wall > 0 else 0.0,
            "neuron_updates_per_s": float(self.neuron_updates / wall) if wall > 0 else 0.0,
        }

    # -- files ------------------------------------------------------------------------

    def save(self, out_dir: str | Path, overwrite: bool = False) -> None:
        """Write ``spikes.npz`` and ``summary.json`` into ``out_dir`` (created if needed).

        Raises
        ------
        UsageError
            When either file already exists and ``overwrite`` is false; nothing is
            written then.
        """
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise UsageError(f"'{out}' is a file, not a folder", hint="give a folder to write the run into")
        if not overwrite:
            for name in (SPIKES_FILE, SUMMARY_FILE):
                if (out / name).exists():
                    raise UsageError(f"'{out / name}' already exists",
                                     hint="choose another folder, or pass overwrite=True to replace it")
        from ..atomic import make_dir, npz_writer, write_files

        make_dir(out)
        arrays: dict[str, np.ndarray] = {}
        for name, ev in self.spikes.items():
            arrays[f"{name}.times"] = ev.times
            arrays[f"{name}.indices"] = ev.indices
            if ev.values is not None:
                arrays[f"{name}.values"] = ev.values
        for name, per_var in self.traces.items():
            for var, trace in per_var.items():
                arrays[f"{name}.{var}"] = trace
        summary = (json.dumps(self.summary(), indent=2) + "\n").encode("utf-8")
        write_files([(out / SPIKES_FILE, npz_writer(arrays, compressed=True)),
                     (out / SUMMARY_FILE, lambda fh: fh.write(summary))])

    @classmethod
    def load(cls, directory: str | Path) -> "RunResult":
        """Read a result written by :meth:`save`.

        Raises
        ------
        UsageError
            When the folder lacks ``spikes.npz`` or ``summary.json``.
        """
        d = Path(directory)
        for name in (SPIKES_FILE, SUMMARY_FILE):
            if not (d / name).is_file():
                raise UsageError(f"'{d / name}' does not exist",
                                 hint="give a folder written by RunResult.save")
        try:
            summary = json.loads((d / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise UsageError(f"'{d / SUMMARY_FILE}' cannot be read as JSON ({type(exc).__name__})",
                             hint="give a folder written by RunResult.save") from None
        spikes: dict[str, SpikeEvents] = {}
        traces: dict[str, dict[str, np.ndarray]] = {}
        with np.load(d / SPIKES_FILE, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        for name, info in summary["populations"].items():
            values = arrays.get(f"{name}.values")
            if values is not None and (values.shape != np.shape(arrays.get(f"{name}.times"))
                                       or values.dtype.kind not in "iuf"):
                raise UsageError(f"'{d / SPIKES_FILE}': '{name}.values' ({values.dtype}, {values.shape}) does not "
                                 f"give one number per event of '{name}'",
                                 hint="write the run again with 'neurocomp run --out'")
            spikes[name] = SpikeEvents(times=arrays.pop(f"{name}.times"),
                                       indices=arrays.pop(f"{name}.indices"),
                                       n=int(info["size"]), is_input=bool(info["input"]),
                                       values=arrays.pop(f"{name}.values", None))
        for key, trace in arrays.items():
            name, var = key.rsplit(".", 1)
            traces.setdefault(name, {})[var] = trace
        return cls(network=summary["network"], steps=int(summary["steps"]),
                   dt_ms=float(summary["dt_ms"]), spikes=spikes, traces=traces,
                   wall_s=float(summary["wall_s"]),
                   synaptic_events=int(summary["synaptic_events"]),
                   neuron_updates=int(summary["neuron_updates"]))

    def __repr__(self) -> str:
        lines = [f"RunResult({self.network!r}: {self.steps} steps of {self.dt_ms:g} ms, "
                 f"wall {self.wall_s * 1e3:.3g} ms, {self.synaptic_events} synaptic events)"]
        width = max((len(n) for n in self.spikes), default=0)
        for name, ev in self.spikes.items():
            rate = ev.count / (ev.n * self.duration_s) if ev.n and self.duration_s else 0.0
            kind = "inputs " if ev.is_input else "neurons"
            probed = ", ".join(self.traces.get(name, {}))
            lines.append(f"  {name:<{width}}  {ev.n:>8} {kind} {ev.count:>10} spikes "
                         f"{rate:8.3f} Hz" + (f"  probed: {probed}" if probed else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """For notebooks: the head line and one table row per population."""
        from html import escape

        rows = []
        for name, ev in self.spikes.items():
            rate = ev.count / (ev.n * self.duration_s) if ev.n and self.duration_s else 0.0
            probed = ", ".join(self.traces.get(name, {}))
            rows.append(f"<tr><td>{escape(name)}</td><td>{'input' if ev.is_input else 'neurons'}</td>"
                        f"<td style=\"text-align:right\">{ev.n:,}</td>"
                        f"<td style=\"text-align:right\">{ev.count:,}</td>"
                        f"<td style=\"text-align:right\">{rate:.3f} Hz</td><td>{escape(probed)}</td></tr>")
        head = repr(self).split("\n")[0]
        return (f"<div><p>{escape(head)}</p><table><thead><tr><th>population</th><th>kind</th>"
                "<th>neurons</th><th>spikes</th><th>mean rate</th><th>probed</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table></div>")
