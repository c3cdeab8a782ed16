"""Emulate a Mapping on its chip, bit-exactly, counting the work every core does.

Input: a :class:`~neurocomp.ir.mapping.Mapping` (the compiler's product), a number of
steps, optional input overrides. Output: a :class:`~neurocomp.ir.result.RunResult` with
the spikes of every population, the probed traces (floats, in the network's units) and
:class:`~neurocomp.ir.result.Counters` per core and step. The Mapping is not changed.

The chip's arithmetic is one kernel per neuron family (``mapping.family``), found through
the family registry (:mod:`neurocomp.chip.family`); this module only turns user-facing inputs
and probes into the kernel's flat arrays and its output back into a RunResult.
``docs/emulator.md`` lists what every family computes and counts.

Batches: :func:`emulate_batch` runs many input samples through one Mapping, building the
integer tables once and reusing the compiled kernel; samples are independent, so a
:class:`BatchResult` can be split, run anywhere and merged (:meth:`BatchResult.merge`).
"""

from __future__ import annotations

import logging
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping as TMapping, Sequence

import numpy as np

from ..diagnostics import UsageError, did_you_mean
from ..compiler.encode import input_events
from ..ir.mapping import Mapping
from ..ir.network import PROBE_VARIABLES, Probe  # Probe, Sequence: ProbeSpec
from ..ir.result import Counters, RunResult, SpikeEvents, StepTimes
from ..ir.synapses import InputEvents
from ..chip.family import Family, family as family_named
from .kernels import KernelInputs, KernelRun, batch_runner, kernel_for

__all__ = ["emulate", "emulate_batch", "warn_overflows", "BatchResult"]

Inputs = TMapping[str, "InputEvents | np.ndarray"]
ProbeSpec = "Sequence[Probe] | TMapping[str, Sequence[str]] | None"

_log = logging.getLogger(__name__)

# Tables built from a Mapping, kept while the Mapping lives (Mappings are immutable).
_PREPARED: "weakref.WeakKeyDictionary[Mapping, Any]" = weakref.WeakKeyDictionary()


def emulate(mapping: Mapping, steps: int, inputs: Inputs | None = None, *,
            strict: bool = False, probes: Any = None, seed: int = 0,
            progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run ``mapping`` for ``steps`` steps from rest, as its chip would.

    Parameters
    ----------
    mapping
        The compiled network.
    steps
        Number of time steps (``>= 0``).
    inputs
        Per input population name, what it emits instead of its encoder's output:
        :class:`~neurocomp.ir.synapses.InputEvents`, or a dense ``T x N`` array whose
        nonzero entries are events (as :func:`neurocomp.emulator.reference.simulate`).
        Inputs not named here come from their encoder. A chip without graded spikes
        (Loihi) accepts only events of value 1.
    strict
        Raise :class:`~neurocomp.diagnostics.EmulationError` (naming the core,
        compartment, variable and step) at the first wrap-around or saturation of a
        state variable. Otherwise they are counted and one warning is issued per run.
    probes
        What to record: ``None`` for the network's probes, a sequence of
        :class:`~neurocomp.ir.network.Probe`, or ``{population: ("voltage", ...)}``.
        ``voltage`` and ``current`` are the chip's integer state times ``v_scale``.
    seed
        Seeds the chip's own random number generators (TrueNorth's stochastic synapse,
        leak and threshold modes), so a stochastic run is reproducible.
    progress
        Called as ``progress(steps done, steps)`` now and then during the run (about a
        hundred times where the family's kernel runs in pieces, else once at the end),
        last with ``steps`` done. It changes no result.

    Returns
    -------
    RunResult
        Spikes of every population (inputs included), the probed traces, and
        ``counters`` per used core and step. ``wall_s`` times the kernel's loop alone.

    Raises
    ------
    UsageError
        For a bad ``steps``, inputs or probes, or a Mapping whose arrays do not fit.
    EmulationError
        In strict mode, on the first overflow.
    """
    return _run(mapping, steps, [inputs], strict, probes, seed, progress=progress).results[0]


def emulate_batch(mapping: Mapping, steps: int, samples: Iterable[Inputs | None], *,
                  strict: bool = False, probes: Any = None, seed: int = 0, warn: bool = True) -> "BatchResult":
    """Run several independent input samples through one Mapping.

    Each sample is one ``inputs`` argument of :func:`emulate` (``None`` for the
    encoders' output) and starts from rest. The integer tables are built once and the
    compiled kernel is reused for every sample. Every sample runs with the same ``seed``,
    so a sample's result does not depend on its place in the batch.

    ``warn=False`` issues no overflow warning: the batch keeps them
    (:attr:`BatchResult.overflows`) for :func:`warn_overflows`, so the parts of a batch
    run elsewhere warn once, as one batch would.

    Returns
    -------
    BatchResult
        One RunResult per sample, in order, and the counters summed over samples.
    """
    return _run(mapping, steps, samples, strict, probes, seed, warn=warn)


def _run(mapping: Mapping, steps: int, samples: Iterable[Inputs | None], strict: bool,
         probes: Any, seed: int = 0, warn: bool = True,
         progress: Callable[[int, int], None] | None = None) -> "BatchResult":
    """The body of :func:`emulate` and :func:`emulate_batch` (called by them only, so the
    overflow warning points at the caller's line)."""
    steps = _check_steps(steps)
    kernel = kernel_for(mapping.family)
    family = family_named(mapping.family)
    recorder = _Recorder.of(mapping, probes)
    _check_run_memory(mapping, steps, recorder.comp.size)
    prepared = _prepared(mapping, kernel)
    refusal = _payload_refusal(mapping, family)
    results: list[RunResult] = []
    overflowed: list[tuple[int, str]] = []
    # Several samples at once through the family's batch runner when it has one (it may
    # decline a batch: then one by one); a progress callback needs the runs one by one.
    together = batch_runner(kernel) if progress is None else None
    pending: list[tuple[Any, KernelInputs, set[str]]] = []

    def finish(runs: Sequence[KernelRun] | None) -> None:
        logged = _log.isEnabledFor(logging.INFO)
        done: list[KernelRun] = []
        for i, (events, inputs, ordered) in enumerate(pending):
            k = len(results) + i
            t0 = time.perf_counter()
            run = runs[i] if runs is not None else kernel.run(prepared, inputs)
            if progress is not None:
                progress(steps, steps)  # a kernel that runs in one piece says nothing before
            if logged:
                _log.info("emulated %d steps of '%s' on %s (sample %d) in %.3f s, %d spikes", steps,
                          mapping.network.name, mapping.chip.name, k,
                          run.wall_s if runs is not None else time.perf_counter() - t0, run.spike_step.size)
            message = kernel.overflow_message(prepared, run)
            if message and not overflowed and "spikes can differ" in message \
                    and _unchanged_without_overflow(mapping, kernel, run, steps, inputs.in_ptr, inputs.in_src,
                                                    inputs.in_val, seed, together if runs is not None else None):
                message += f"; {UNCHANGED_NOTE}"
            if message:
                overflowed.append((k, message))
            if runs is None:  # one by one: each result as its run ends (a later one may raise)
                results.append(_result(mapping, steps, events, run, recorder, family.traces, ordered))
            else:
                done.append(run)
        if done:
            results.extend(_results(mapping, steps, [events for events, _, _ in pending], done, recorder,
                                    family.traces, [ordered for _, _, ordered in pending]))
        pending.clear()

    for sample in samples:
        try:
            events = input_events(mapping.network, steps, sample, inputs=tuple(mapping.input_offset))
            ordered: set[str] = set()
            in_ptr, in_src, in_val = _sources_by_step(mapping, steps, events, refusal, ordered)
        except Exception:
            finish(None)  # the samples before a bad one run (and may raise) first, as one by one
            raise
        pending.append((events, KernelInputs(steps=steps, in_ptr=in_ptr, in_src=in_src, in_val=in_val,
                                             probe_comp=recorder.comp, strict=bool(strict), seed=int(seed),
                                             progress=_steps_done(progress, steps)), ordered))
        if together is None:
            finish(None)
        elif len(pending) == BATCH_SAMPLES:
            finish(together(prepared, [inputs for _, inputs, _ in pending]))
    if pending:
        finish(together(prepared, [inputs for _, inputs, _ in pending]) if together is not None and len(pending) > 1
               else None)
    batch = BatchResult(results=tuple(results), overflows=tuple(overflowed))
    if warn:
        warn_overflows(mapping, batch, stacklevel=4)
    return batch


def _steps_done(progress: Callable[[int, int], None] | None, steps: int) -> Callable[[int], None] | None:
    """The kernel's ``progress(steps run)`` for ``progress(done, steps)``; it stops short of
    ``steps`` (the caller says that last, once the run is complete)."""
    if progress is None:
        return None
    return lambda done: progress(done, steps) if done < steps else None


#: Samples handed to a family's batch runner at once (their inputs are held meanwhile).
BATCH_SAMPLES = 256


#: What an overflow warning adds when the spikes of its run are known not to differ.
UNCHANGED_NOTE = ("but in this run they did not: with every state register 16 bits wider, where nothing "
                  "overflows, the same run fires the same spikes")


# The tables of each Mapping on its chip with wider registers (for the next batch's check).
_WIDER: "weakref.WeakKeyDictionary[Mapping, Any]" = weakref.WeakKeyDictionary()


def _unchanged_without_overflow(mapping: Mapping, kernel: Any, run: KernelRun, steps: int, in_ptr: np.ndarray,
                                in_src: np.ndarray, in_val: np.ndarray | None, seed: int,
                                together: Any = None) -> bool:
    """Whether an overflow left the spikes of ``run`` as they would be without it: the
    same inputs through the same Mapping on the chip with every state register 16 bits
    wider (at most 40: the kernels' int64 products keep their room) fire the same spikes
    and overflow nowhere. Run for the first sample of a batch that overflowed (the one
    its warning describes); a kernel that refuses the wider chip leaves it unknown.
    ``together``: the batch runner ``run`` itself came from, if any (only then is the
    check run through it: a call run one by one, e.g. the CLI's single run, would compile
    the whole batch runner for this one check, ~6 s of CPU on a first run)."""
    from dataclasses import replace

    from ..diagnostics import NeurocompError

    numerics = mapping.chip.numerics
    if not numerics.state:
        return False

    def prepare_wider() -> Any:
        wider = {name: var.model_copy(update={"bits": min(var.bits + 16, 40)}) for name, var in numerics.state.items()}
        chip = mapping.chip.model_copy(update={"numerics": numerics.model_copy(update={"state": wider})})
        return kernel.prepare(replace(mapping, chip=chip))

    try:
        wider = _cached(_WIDER, mapping, kernel, prepare_wider)
        inputs = KernelInputs(steps=steps, in_ptr=in_ptr, in_src=in_src, in_val=in_val, strict=False, seed=int(seed))
        # through the batch runner the call used (the same run, bit for bit, several times
        # faster than the kernel's for mnist_mlp), else the kernel's
        runs = together(wider, [inputs]) if together is not None else None
        again = runs[0] if runs is not None else kernel.run(wider, inputs)
    except NeurocompError:
        return False
    return (not any(again.overflows.values()) and np.array_equal(run.spike_step, again.spike_step)
            and np.array_equal(run.spike_comp, again.spike_comp)
            and (run.spike_value is None or np.array_equal(run.spike_value, again.spike_value)))


def warn_overflows(mapping: Mapping, batch: "BatchResult", *, stacklevel: int = 2) -> None:
    """One warning for the overflows of ``batch`` (none when it had none): how many
    samples overflowed, and the first overflow of the first of them."""
    if not batch.overflows:
        return
    from ..diagnostics import OverflowWarning

    k, message = batch.overflows[0]
    where = f" in {len(batch.overflows)} of {len(batch)} samples, first sample {k}:" \
        if len(batch) > 1 else ":"
    hint = "" if UNCHANGED_NOTE in message else \
        " Run with strict=True (--strict on the command line) to stop at the first overflow."
    warnings.warn(OverflowWarning(
        f"emulating '{mapping.network.name}' on {mapping.chip.name}{where} {message}.{hint}",
        detail=message, overflowed=len(batch.overflows), samples=len(batch), first=k), stacklevel=stacklevel)


# --------------------------------------------------------------------------- batches


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The results of independent samples through one Mapping.

    ``counters`` is the element-wise sum of every sample's counters (the work of the
    whole batch, per core and step). Batches of one Mapping and one number of steps
    merge by concatenation, so a batch may be split and run anywhere. ``overflows`` holds,
    per sample whose state wrapped or saturated, its index in the batch and the kernel's
    account of its first overflow.
    """

    results: tuple[RunResult, ...]
    overflows: tuple[tuple[int, str], ...] = ()

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[RunResult]:
        return iter(self.results)

    def __getitem__(self, i: int) -> RunResult:
        return self.results[i]

    @property
    def counters(self) -> Counters | None:
        with_counts = [r.counters for r in self.results if r.counters is not None]
        if not with_counts:
            return None
        first = with_counts[0]
        for other in with_counts[1:]:
            if not np.array_equal(other.core_ids, first.core_ids) \
                    or other.spikes_in.shape != first.spikes_in.shape:
                raise UsageError("cannot sum counters of runs on different cores or of "
                                 "different lengths")
        return Counters(core_ids=first.core_ids,
                        **{f: np.sum([getattr(c, f) for c in with_counts], axis=0, dtype=np.int64)
                           for f in Counters.FIELDS})

    @property
    def wall_s(self) -> float:
        return float(sum(r.wall_s for r in self.results))

    @classmethod
    def merge(cls, *batches: "BatchResult") -> "BatchResult":
        """One batch holding the samples of ``batches`` in order.

        Raises
        ------
        UsageError
            When the batches are of different networks or numbers of steps.
        """
        results = tuple(r for b in batches for r in b.results)
        if len({(r.network, r.steps) for r in results}) > 1:
            raise UsageError("cannot merge batches of different networks or numbers of steps")
        overflows: list[tuple[int, str]] = []
        at = 0
        for b in batches:
            overflows += [(at + k, message) for k, message in b.overflows]
            at += len(b)
        # One batch checks its first overflowed sample only (UNCHANGED_NOTE): so do the
        # merged ones, whatever the parts were, so that a batch split over workers equals
        # the batch run whole.
        suffix = f"; {UNCHANGED_NOTE}"
        overflows[1:] = [(k, m[: -len(suffix)] if m.endswith(suffix) else m) for k, m in overflows[1:]]
        return cls(results=results, overflows=tuple(overflows))


# --------------------------------------------------------------------------- helpers


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise UsageError(f"steps must be a whole number >= 0, got {steps!r}")
    if steps > _MAX_STEPS:  # a Python int beyond what numpy's int64 step arrays can hold
        raise UsageError(f"steps = {steps:.3g} is more than an int64 step counter holds (2^62)",
                         hint="run fewer steps")
    return int(steps)


_MAX_STEPS = 1 << 62


def _check_run_memory(mapping: Mapping, steps: int, n_probed: int) -> None:
    """Refuse a run whose per-step buffers alone exceed the memory this process may use
    (before a kernel allocates them): one int64 per counter per core per step, the input
    counts per step, and one int64 per probed compartment per step."""
    from ..resources import require_memory

    per_step = (len(Counters.FIELDS) * max(len(mapping.cores), 1) + 2 + n_probed) * 8
    require_memory(steps * per_step, f"emulating {steps:,} steps of '{mapping.network.name}'",
                   hint="run fewer steps (or probe fewer populations)")


def _prepared(mapping: Mapping, kernel) -> Any:
    return _cached(_PREPARED, mapping, kernel, lambda: kernel.prepare(mapping))


def _cached(store: "weakref.WeakKeyDictionary[Mapping, Any]", mapping: Mapping, kernel: Any,
            build: Callable[[], Any]) -> Any:
    """``build()``, kept in ``store`` while ``mapping`` lives (for this ``kernel``)."""
    try:
        hit = store.get(mapping)
    except TypeError:  # not weak-referenceable
        hit = None
    if hit is not None and hit[0] is kernel:
        return hit[1]
    value = build()
    try:
        store[mapping] = (kernel, value)
    except TypeError:
        pass
    return value


def _payload_refusal(mapping: Mapping, family: Family) -> str | None:
    """Why events of a value other than 1 cannot be emulated, or ``None`` when they can."""
    chip = mapping.chip
    if chip.neuron.spike_payload_bits is None:
        return "this chip's spikes carry no value (only 1 is allowed)"
    if not family.payloads:
        return (f"{chip.name}'s spikes carry values, but the {family.name} kernel emulates only "
                "spikes of value 1")
    return None


def _sources_by_step(mapping: Mapping, steps: int, events: TMapping[str, InputEvents],
                     refusal: str | None, ordered: set[str] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """All inputs' events of the first ``steps`` steps as one CSR by step of source ids,
    and their values (``None`` when the kernel takes none).

    ``refusal`` (from :func:`_payload_refusal`) refuses events of a value other than 1.
    The names of inputs found in (step, index) order are added to ``ordered``."""
    t_parts = [np.zeros(0, dtype=np.int64)]
    s_parts = [np.zeros(0, dtype=np.int64)]
    v_parts = [np.zeros(0, dtype=np.float64)]
    from .csr import first_not_one

    for name, ev in events.items():
        end = int(ev.step_ptr[steps])
        values = np.asarray(ev.values[:end], dtype=np.float64)
        if refusal is not None and (k := int(first_not_one(values))) >= 0:
            t = int(np.searchsorted(ev.step_ptr, k, side="right") - 1)
            raise UsageError(f"input '{name}' emits the value {values[k]:g} at step {t}; {refusal}",
                             where=f"input '{name}'",
                             hint="use a spiking encoder (rate, latency, spikes) or fold the "
                                  "value into the weights")
        if len(events) == 1 and refusal is not None and ev.step_ptr[0] == 0 \
                and _csr_in_order(ev.step_ptr, ev.indices, steps):
            # One input, its events in order already (the usual case): the CSR as it is.
            if ordered is not None:
                ordered.add(name)
            return np.array(ev.step_ptr[:steps + 1], dtype=np.int64), \
                np.asarray(ev.indices[:end], dtype=np.int64) + (mapping.n_comp + int(mapping.input_offset[name])), None
        v_parts.append(values)
        t_parts.append(np.repeat(np.arange(steps, dtype=np.int64),
                                 np.diff(ev.step_ptr[:steps + 1]).astype(np.int64)))
        s_parts.append(np.asarray(ev.indices[:end], dtype=np.int64)
                       + mapping.n_comp + int(mapping.input_offset[name]))
    times = np.concatenate(t_parts)
    src = np.concatenate(s_parts)
    order = _order_of(times, src)
    ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(times, minlength=steps).astype(np.int64), out=ptr[1:])
    values = None if refusal is not None else np.ascontiguousarray(np.concatenate(v_parts)[order])
    return ptr, np.ascontiguousarray(src[order], dtype=np.int64), values


def _event_order(times: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The permutation that puts events in (time, index) order, as ``np.lexsort((idx,
    times))`` gives it; without a sort when they are in that order already (the usual
    case: encoders and kernels emit them so; a sort was half of a small network's run)."""
    order = _order_of(times, idx)
    return np.arange(times.size) if isinstance(order, slice) else order


def _order_of(times: np.ndarray, idx: np.ndarray) -> "np.ndarray | slice":
    """:func:`_event_order`, or ``slice(None)`` (no copy to make) when already in order."""
    t_up = times[1:] > times[:-1]
    if np.all(t_up | ((times[1:] == times[:-1]) & (idx[1:] >= idx[:-1]))):
        return slice(None)
    if times.size and times.min() >= 0 and idx.min() >= 0:
        width = int(idx.max()) + 1
        if int(times.max()) < (1 << 62) // width - 1:
            # one stable sort of one int64 key: the lexsort's order, 5x faster than it
            return np.argsort(times * width + idx, kind="stable")
    return np.lexsort((idx, times))


def _grouped_order(times: np.ndarray, idx: np.ndarray) -> "np.ndarray | slice":
    """:func:`_order_of` for events whose ``times`` never fall (spikes as a kernel
    emits them), compiled (:func:`.csr.grouped_order`): the events of each time sorted
    on their own, in one pass where they are two ascending pieces (a population on
    two cores)."""
    from .csr import grouped_order

    order, ok, moved = grouped_order(times, idx)
    if not ok:
        return _order_of(times, idx)
    return order if moved else slice(None)


def _csr_in_order(step_ptr: np.ndarray, idx: np.ndarray, steps: int) -> bool:
    """Whether the events of steps ``0 .. steps - 1`` of a CSR by step (``step_ptr[0] ==
    0``) are in (step, index) order: only the indices within each step are compared
    (compiled: :func:`.csr.csr_in_order`)."""
    from .csr import csr_in_order

    ptr = np.ascontiguousarray(step_ptr[:steps + 1], dtype=np.int64)
    return bool(csr_in_order(ptr, np.asarray(idx), ptr.size - 1))


@dataclass(frozen=True)
class _Recorder:
    """Which compartments the kernel records, and where each population's traces go."""

    wanted: TMapping[str, tuple[str, ...]]
    comp: np.ndarray  # int64: compartments recorded, population after population
    spans: TMapping[str, tuple[int, int]]  # population -> columns of comp

    @classmethod
    def of(cls, mapping: Mapping, probes: Any) -> "_Recorder":
        net = mapping.network
        if probes is None:
            probes = net.probes
        if isinstance(probes, TMapping):
            items = [(pop, tuple([vs] if isinstance(vs, str) else vs)) for pop, vs in probes.items()]
        else:
            items = [(p.population, tuple(p.variables)) for p in probes]
        wanted: dict[str, tuple[str, ...]] = {}
        for pop, variables in items:
            if pop not in net.populations:
                raise UsageError(f"a probe names population '{pop}', which the network does not have",
                                 hint=did_you_mean(pop, net.populations))
            for var in variables:
                if var not in PROBE_VARIABLES:
                    raise UsageError(f"cannot probe '{var}' of '{pop}'",
                                     hint=did_you_mean(var, PROBE_VARIABLES))
                if var != "spikes" and net.populations[pop].is_input:
                    raise UsageError(f"cannot probe the {var} of input '{pop}'; inputs have only spikes")
            have = wanted.get(pop, ())
            wanted[pop] = have + tuple(v for v in variables if v not in have)
        parts: list[np.ndarray] = []
        spans: dict[str, tuple[int, int]] = {}
        at = 0
        for pop, variables in wanted.items():
            if net.populations[pop].is_input or not ({"voltage", "current"} & set(variables)):
                continue
            comps = _population_comps(mapping, pop)
            parts.append(comps)
            spans[pop] = (at, at + comps.size)
            at += comps.size
        comp = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return cls(wanted=wanted, comp=comp.astype(np.int64), spans=spans)


def _population_comps(mapping: Mapping, pop: str) -> np.ndarray:
    """int64 ``[size]``: the compartment of each neuron of ``pop``."""
    p = mapping.population_names.index(pop)
    size = mapping.network.populations[pop].size
    mine = np.flatnonzero(np.asarray(mapping.comp_pop) == p)
    idx = np.asarray(mapping.comp_index, dtype=np.int64)[mine]
    out = np.full(size, -1, dtype=np.int64)
    out[idx] = mine
    if mine.size != size or np.any(out < 0):
        raise UsageError(f"the Mapping does not give each neuron of population '{pop}' exactly "
                         "one compartment", hint="compile the network again")
    return out


def _probed_state(roles: TMapping[str, str], var: str, pop: str, mapping: Mapping) -> str:
    """The kernel state a probe of ``var`` reads (a located error when the family has none)."""
    state = roles.get(var)
    if state is None:
        raise UsageError(f"cannot probe the {var} of '{pop}': neuron family "
                         f"'{mapping.family}' has no such state")
    return state


def _result(mapping: Mapping, steps: int, events: TMapping[str, InputEvents], run: KernelRun,
            rec: _Recorder, roles: TMapping[str, str], ordered: set[str] = frozenset()) -> RunResult:
    """The RunResult of ``run``; ``ordered`` names inputs whose events are known to be in
    (step, index) order (:func:`_sources_by_step`)."""
    net = mapping.network
    comp_pop = np.asarray(mapping.comp_pop, dtype=np.int64)
    comp_index = np.asarray(mapping.comp_index, dtype=np.int64)
    pop_of = comp_pop[run.spike_comp]
    valued = run.spike_value is not None  # the kernel's events carry values: so do the inputs'
    spikes: dict[str, SpikeEvents] = {}
    n_neurons = 0
    for name, pop in net.populations.items():
        if name in events:
            ev = events[name]
            end = int(ev.step_ptr[steps])
            # the steps stay a CSR until read (StepTimes), unless the events need sorting
            times: StepTimes | np.ndarray = StepTimes(ev.step_ptr[:steps + 1])
            idx = np.asarray(ev.indices[:end], dtype=np.int64)
            order: np.ndarray | slice = slice(None)
            if name not in ordered and not _csr_in_order(ev.step_ptr, ev.indices, steps):
                times = times.array()
                order = _order_of(times, idx)
                times = times[order]
            vals = np.asarray(ev.values[:end], dtype=np.float64)[order] if valued else None
            spikes[name] = SpikeEvents(times=times, indices=idx[order], n=pop.size,
                                       is_input=True, values=vals)
        elif name in mapping.population_names:
            p = mapping.population_names.index(name)
            mine = pop_of == p
            times = run.spike_step[mine]
            idx = comp_index[run.spike_comp[mine]]
            order = _order_of(times, idx)
            vals = None if run.spike_value is None else np.asarray(run.spike_value)[mine][order]
            spikes[name] = SpikeEvents(times=times[order], indices=idx[order], n=pop.size, values=vals)
            n_neurons += pop.size

    traces: dict[str, dict[str, np.ndarray]] = {}
    v_scale = np.asarray(mapping.v_scale, dtype=np.float64)
    for pop, variables in rec.wanted.items():
        for var in variables:
            if var == "spikes":
                ev = spikes[pop]
                raster = np.zeros((steps, ev.n), dtype=np.bool_)
                raster[ev.times, ev.indices] = True
                traces.setdefault(pop, {})[var] = raster
                continue
            lo, hi = rec.spans[pop]
            ints = run.traces[_probed_state(roles, var, pop, mapping)][:, lo:hi]
            traces.setdefault(pop, {})[var] = ints.astype(np.float64) * v_scale[rec.comp[lo:hi]]
    for proj, arrays in run.learned.items():  # plastic projections (docs/learning.md)
        traces.setdefault(proj, {}).update(arrays)
    counters = Counters.from_rows(np.asarray(run.core_ids, dtype=np.int32),
                                  [np.ascontiguousarray(row) for row in run.counters])
    return RunResult(network=net.name, steps=steps, dt_ms=float(net.dt_ms), spikes=spikes,
                     traces=traces, wall_s=run.wall_s,
                     synaptic_events=int(counters.synops.sum()),
                     neuron_updates=n_neurons * steps, counters=counters)


def _results(mapping: Mapping, steps: int, events: Sequence[TMapping[str, InputEvents]],
             runs: Sequence[KernelRun], rec: _Recorder, roles: TMapping[str, str],
             ordered: Sequence[set[str]]) -> list[RunResult]:
    """``[_result(mapping, steps, events[k], runs[k], rec, roles, ordered[k]) for k]``, the
    same results, with the array work done once for the whole batch (a batch runner's
    samples cost ~0.4 ms each of Python one by one; their whole run, ~0.5 ms).

    Runs whose events carry values or that learned are built one by one."""
    if not runs or any(r.spike_value is not None or r.learned for r in runs) \
            or any(ev.keys() != events[0].keys() or ev[name].step_ptr[0] != 0 for ev in events for name in ev):
        return [_result(mapping, steps, ev, r, rec, roles, o) for ev, r, o in zip(events, runs, ordered)]
    net = mapping.network
    n = len(runs)
    comp_pop = np.asarray(mapping.comp_pop, dtype=np.int64)
    comp_index = np.asarray(mapping.comp_index, dtype=np.int64)
    sizes = np.array([r.spike_step.size for r in runs], dtype=np.int64)
    step = np.concatenate([r.spike_step for r in runs]).astype(np.int64, copy=False)
    comp = np.concatenate([r.spike_comp for r in runs]).astype(np.int64, copy=False)
    sample = np.repeat(np.arange(n, dtype=np.int64), sizes)
    pop_of = comp_pop[comp]
    # per population, per sample: (times, indices), sorted by (step, index) in each sample
    spikes: list[dict[str, SpikeEvents]] = [{} for _ in range(n)]
    where: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # (sample, step, index) of every spike
    n_neurons = 0
    for name, pop in net.populations.items():
        size = pop.size
        if name in events[0]:
            evs = [ev[name] for ev in events]
            ptrs = np.stack([np.asarray(ev.step_ptr[:steps + 1], dtype=np.int64) for ev in evs])
            for k in range(n):
                # the steps stay a CSR until read (StepTimes): most callers never read them
                t: StepTimes | np.ndarray = StepTimes(ptrs[k])
                i = np.asarray(evs[k].indices[:int(ptrs[k, -1])], dtype=np.int64)  # a view when int64
                if name not in ordered[k] and not _csr_in_order(evs[k].step_ptr, evs[k].indices, steps):
                    t = t.array()
                    order = _order_of(t, i)
                    t, i = t[order], i[order]
                spikes[k][name] = SpikeEvents(times=t, indices=i, n=size, is_input=True)
            if "spikes" in rec.wanted.get(name, ()):
                where[name] = (np.repeat(np.arange(n), ptrs[:, -1]),
                               np.concatenate([spikes[k][name].times for k in range(n)]),
                               np.concatenate([spikes[k][name].indices for k in range(n)]))
        elif name in mapping.population_names:
            mine = pop_of == mapping.population_names.index(name)
            t, i, b = step[mine], comp_index[comp[mine]], sample[mine]
            # each sample's (step, index) order, samples kept apart: (sample, step) as one
            # time, since a step is below ``steps``
            order = _grouped_order(b * steps + t, i)
            t, i, b = t[order], i[order], b[order]
            cut = np.searchsorted(b, np.arange(n + 1))
            where[name] = (b, t, i)
            for k in range(n):
                spikes[k][name] = SpikeEvents(times=t[cut[k]:cut[k + 1]], indices=i[cut[k]:cut[k + 1]], n=size)
            n_neurons += size
    probed: dict[tuple[str, str], np.ndarray] = {}
    v_scale = np.asarray(mapping.v_scale, dtype=np.float64)
    for pop, variables in rec.wanted.items():
        for var in variables:
            if var == "spikes":
                raster = np.zeros((n, steps, net.populations[pop].size), dtype=np.bool_)
                raster[where[pop]] = True
                probed[pop, var] = raster
                continue
            lo, hi = rec.spans[pop]
            state = _probed_state(roles, var, pop, mapping)
            ints = np.stack([r.traces[state][:, lo:hi] for r in runs])
            probed[pop, var] = ints.astype(np.float64) * v_scale[rec.comp[lo:hi]]
    synops = Counters.FIELDS.index("synops")
    core_ids = np.asarray(runs[0].core_ids, dtype=np.int32)
    out = []
    for k, run in enumerate(runs):
        traces: dict[str, dict[str, np.ndarray]] = {}
        for (pop, var), arr in probed.items():
            traces.setdefault(pop, {})[var] = arr[k]
        same = run.core_ids is runs[0].core_ids
        counters = Counters.from_rows(core_ids if same else np.asarray(run.core_ids, dtype=np.int32),
                                      np.ascontiguousarray(run.counters))  # its rows: contiguous
        out.append(RunResult(network=net.name, steps=steps, dt_ms=float(net.dt_ms), spikes=spikes[k],
                             traces=traces, wall_s=run.wall_s,
                             synaptic_events=int(run.counters[synops].sum()),
                             neuron_updates=n_neurons * steps, counters=counters))
    return out
