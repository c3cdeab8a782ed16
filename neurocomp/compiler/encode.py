"""Input encoders: turn an input population into the events it emits, step by step.

Input: an input :class:`~neurocomp.ir.network.Population` (its ``encoder`` is one of
the classes in :mod:`neurocomp.ir.encoders`), a number of steps and the step length.
Output: :class:`~neurocomp.ir.synapses.InputEvents`, CSR by step.

Invariants of every result:

* ``step_ptr`` is int64 of length ``steps + 1``, starts at 0 and never decreases;
* ``indices`` is int64, flat neuron indices in C order of the population's shape,
  strictly ascending within a step (no neuron emits twice in one step);
* ``values`` is float64: 1.0 for a spike, the graded value for a current;
* nothing is emitted at or beyond ``steps``.

Each encoder type has one function in a registry (:data:`ENCODERS`), looked up by the
encoder's type; :func:`encode` is the only entry point the compiler needs.
:func:`events_from_raster` and :func:`events_from_spikes` build the same structure from
data a user hands over at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping, TypeVar

import numpy as np

from ..diagnostics import DslError, InputFileError, NeurocompError, Span, UsageError, did_you_mean
from ..ir.encoders import (
    ConstantCurrent,
    DeltaCode,
    GradedFrames,
    Encoder,
    EventStream,
    LatencyCode,
    RateCode,
    SpikeFile,
)
from ..ir.network import Network, Population
from ..ir.synapses import InputEvents
from ..ir.values import ArrayValue, as_array

__all__ = ["encode", "input_events", "events_from_raster", "events_from_spikes", "ENCODERS", "EncodeJob"]

# How many uniform draws the rate encoder holds in memory at once (8 bytes each, so
# 32 MiB). Not a hardware number: only memory use depends on it, never the result.
DEFAULT_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class EncodeJob:
    """What every encoder function is asked: which population, how long, how fine.

    ``chunk_elements`` bounds the working memory of encoders that draw random numbers;
    their result does not depend on it.
    """

    name: str
    shape: tuple[int, ...]
    steps: int
    dt_ms: float
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS
    span: Span | None = None

    @property
    def n(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def where(self) -> str:
        return f"input {self.name!r}"

    def bad_parameter(self, message: str, hint: str | None = None) -> DslError:
        """An error in how the input was declared, pointing at its declaration.

        The builder checks these first; they are repeated here so a network made in
        Python cannot slip through.
        """
        return DslError(f"{self.where}: {message}", span=self.span, where=self.where, hint=hint)


E = TypeVar("E")
EncoderFn = Callable[[E, EncodeJob], InputEvents]

_REGISTRY: dict[type, EncoderFn] = {}

ENCODERS: Mapping[type, EncoderFn] = MappingProxyType(_REGISTRY)
"""Encoder type -> the function that encodes it (read-only view of the registry)."""


def _register(kind: type) -> Callable[[EncoderFn], EncoderFn]:
    def add(fn: EncoderFn) -> EncoderFn:
        _REGISTRY[kind] = fn
        return fn

    return add


def encode(population: Population, steps: int, dt_ms: float, *,
           chunk_elements: int = DEFAULT_CHUNK_ELEMENTS) -> InputEvents:
    """The events an input population emits during ``steps`` steps of ``dt_ms``.

    Parameters
    ----------
    population
        An input population (``population.encoder`` is set).
    steps
        Number of time steps to encode (``>= 0``); events at or after it are dropped.
    dt_ms
        Length of one step in milliseconds (``> 0``); used by rate coding (``max_rate``
        is in Hz) and event streams (timestamps are in µs).
    chunk_elements
        At most this many random numbers are held in memory at once (rate coding).
        The result does not depend on it.

    Returns
    -------
    InputEvents
        CSR by step; see the module docstring for its invariants.

    Raises
    ------
    UsageError
        When the population is not an input, ``steps < 0`` or ``dt_ms <= 0``.
    InputFileError
        When the encoder's data does not fit the population (shape, polarity, range).
    """
    if population.encoder is None:
        raise UsageError(f"population {population.name!r} is not an input; only inputs are encoded",
                         where=f"population {population.name!r}")
    if steps < 0:
        raise UsageError(f"steps must be >= 0, got {steps}", where=f"input {population.name!r}")
    if not dt_ms > 0:
        raise UsageError(f"dt must be > 0 ms, got {dt_ms}", where=f"input {population.name!r}")
    encoder: Encoder = population.encoder
    fn = _REGISTRY.get(type(encoder))
    if fn is None:
        raise UsageError(f"no encoder registered for {type(encoder).__name__}",
                         where=f"input {population.name!r}",
                         hint="known: " + ", ".join(sorted(k.__name__ for k in _REGISTRY)))
    job = EncodeJob(population.name, tuple(population.shape), int(steps), float(dt_ms),
                    max(1, int(chunk_elements)), population.span)
    return fn(encoder, job)


# --- building CSR ---------------------------------------------------------------------


def _csr(name: str, n: int, steps: int, times: np.ndarray, indices: np.ndarray,
         values: np.ndarray | None = None, *, dedupe: bool = False) -> InputEvents:
    """Events ``(times[k], indices[k], values[k])`` as CSR by step.

    Drops events at or after ``steps``. With ``dedupe``, several events of one neuron in
    one step become one (the first value is kept; spikes are all 1.0). The events need
    not be sorted.
    """
    times = np.asarray(times, dtype=np.int64).reshape(-1)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    values = (np.ones(times.shape, dtype=np.float64) if values is None
              else np.asarray(values, dtype=np.float64).reshape(-1))
    keep = times < steps
    if not keep.all():
        times, indices, values = times[keep], indices[keep], values[keep]
    # One int64 key per (step, neuron) sorts step-major then by neuron; steps * n fits
    # int64 for any network that fits in memory.
    width = np.int64(max(n, 1))
    key = times * width + indices
    if dedupe:
        key, first = np.unique(key, return_index=True)
        values = values[first]
    else:
        order = np.argsort(key, kind="stable")
        key, values = key[order], values[order]
    times, indices = np.divmod(key, width)
    counts = np.bincount(times, minlength=steps).astype(np.int64)
    step_ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(counts, out=step_ptr[1:])
    return InputEvents(population=name, n=int(n), steps=int(steps), step_ptr=step_ptr,
                       indices=np.ascontiguousarray(indices, dtype=np.int64),
                       values=np.ascontiguousarray(values, dtype=np.float64))


def _from_hits(name: str, n: int, steps: int, t_parts: list[np.ndarray],
               i_parts: list[np.ndarray], v_parts: list[np.ndarray] | None = None) -> InputEvents:
    """CSR from parts that are already sorted step-major, ascending and unique."""
    times = np.concatenate(t_parts) if t_parts else np.zeros(0, dtype=np.int64)
    indices = np.concatenate(i_parts) if i_parts else np.zeros(0, dtype=np.int64)
    if v_parts is None:
        values = np.ones(indices.shape, dtype=np.float64)
    else:
        values = np.concatenate(v_parts) if v_parts else np.zeros(0, dtype=np.float64)
    counts = np.bincount(times.astype(np.int64), minlength=steps)[:steps].astype(np.int64)
    step_ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(counts, out=step_ptr[1:])
    return InputEvents(population=name, n=int(n), steps=int(steps), step_ptr=step_ptr,
                       indices=np.ascontiguousarray(indices, dtype=np.int64),
                       values=np.ascontiguousarray(values, dtype=np.float64))


def _per_neuron(value: float | ArrayValue, job: EncodeJob, what: str) -> np.ndarray:
    """A flat float64 array of one value per neuron (a scalar is broadcast)."""
    if isinstance(value, ArrayValue) and value.values.size != job.n:
        raise InputFileError(
            f"{what} has shape {list(value.values.shape)} ({value.values.size} values) but the "
            f"population has shape {list(job.shape)} ({job.n} neurons)",
            where=f"{job.where}: {value.path}",
            hint="give one value per neuron, in the population's shape or flat, or a single number")
    return as_array(value, job.n, np.float64)


# --- public builders for run-time inputs ----------------------------------------------


def events_from_spikes(name: str, n: int, steps: int, times: np.ndarray,
                       indices: np.ndarray) -> InputEvents:
    """Spikes given as parallel arrays: neuron ``indices[k]`` fires at step ``times[k]``.

    Parameters
    ----------
    name
        The input population's name.
    n
        Number of neurons (flat).
    steps
        Number of steps; spikes at or after it are dropped.
    times, indices
        Integer arrays of equal length, in any order. Several spikes of one neuron in
        one step are one spike.

    Raises
    ------
    UsageError
        When the arrays differ in length, hold a negative time, or an index outside
        ``[0, n)``.
    """
    times = np.asarray(times).reshape(-1)
    indices = np.asarray(indices).reshape(-1)
    where = f"input {name!r}"
    if times.shape != indices.shape:
        raise UsageError(f"times ({times.size}) and indices ({indices.size}) differ in length",
                         where=where)
    _check_integral(times, "spike times", where)
    _check_integral(indices, "spike indices", where)
    if times.size and times.min() < 0:
        raise UsageError(f"spike time {int(times.min())} is before step 0", where=where)
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        bad = int(indices.min()) if indices.min() < 0 else int(indices.max())
        raise UsageError(f"spike index {bad} is outside the population (0..{n - 1})", where=where)
    return _csr(name, n, steps, times, indices, dedupe=True)


def events_from_raster(population_name: str, raster: np.ndarray) -> InputEvents:
    """Events from a dense ``T x N`` array: every nonzero entry is emitted with its value.

    Parameters
    ----------
    population_name
        The input population's name.
    raster
        ``T x N`` (or ``T x shape...``, flattened in C order); ``T`` is the number of
        steps. Booleans become 1.0.

    Raises
    ------
    UsageError
        When ``raster`` has no time axis.
    """
    raster = np.asarray(raster)
    if raster.ndim < 1:
        raise UsageError("a raster needs a time axis (T x N)", where=f"input {population_name!r}")
    steps = raster.shape[0]
    n = int(np.prod(raster.shape[1:], dtype=np.int64))
    dense = raster.reshape(steps, n)
    # np.nonzero walks C order: step-major, neurons ascending, as the CSR wants.
    t, i = np.nonzero(dense)
    return _from_hits(population_name, n, steps, [t.astype(np.int64)], [i.astype(np.int64)],
                      [dense[t, i].astype(np.float64)])


def _check_integral(a: np.ndarray, what: str, where: str,
                    kind: type[NeurocompError] = UsageError) -> None:
    """Raise ``kind`` unless ``a`` holds whole numbers (integers, booleans or whole floats)."""
    if a.dtype.kind in "iub":
        return
    if a.dtype.kind == "f" and np.all(np.isfinite(a) & (a == np.floor(a))):
        return
    raise kind(f"{what} must be whole numbers (dtype {a.dtype})", where=where)


# --- the encoders ---------------------------------------------------------------------


@_register(SpikeFile)
def _spike_file(enc: SpikeFile, job: EncodeJob) -> InputEvents:
    """Recorded spikes; the builder already checked times >= 0 and indices in range."""
    return _csr(job.name, job.n, job.steps, enc.times, enc.indices, dedupe=True)


@_register(RateCode)
def _rate_code(enc: RateCode, job: EncodeJob) -> InputEvents:
    """Bernoulli spikes, one uniform draw per (step, neuron), consumed step-major.

    The ``steps x n`` matrix of uniforms is drawn from ``default_rng(seed)`` in blocks of
    whole rows (``rng.random((rows, n))`` one block after another). For float64 the
    generator's stream is consumed in that order whatever the block size, so the result
    equals ``rng.random((steps, n)) < p`` exactly, with bounded memory.
    """
    n, steps = job.n, job.steps
    value = np.clip(_per_neuron(enc.value, job, "rate value"), 0.0, 1.0)
    p = np.clip(value * float(enc.max_rate_hz) * (job.dt_ms / 1000.0), 0.0, 1.0)
    if n == 0 or steps == 0 or not np.any(p > 0):
        # No neuron can fire: the draws could not change anything.
        return _from_hits(job.name, n, steps, [], [])
    rng = np.random.default_rng(enc.seed)
    rows = max(1, job.chunk_elements // n)
    t_parts: list[np.ndarray] = []
    i_parts: list[np.ndarray] = []
    for start in range(0, steps, rows):
        block = min(rows, steps - start)
        # u < p: u is in [0, 1), so p = 1 always fires and p = 0 never does. The flat
        # positions split by divmod are the 2-D nonzero's hits in its order, for less
        # (a 100 x 784 block's draws and hits: 1.7x less CPU).
        t, i = np.divmod(np.flatnonzero(rng.random((block, n)) < p), n)
        t_parts.append(t + start)
        i_parts.append(i)
    return _from_hits(job.name, n, steps, t_parts, i_parts)


@_register(LatencyCode)
def _latency_code(enc: LatencyCode, job: EncodeJob) -> InputEvents:
    """One spike per neuron at ``floor(tau · ln(I / (I − θ)))``; none when ``I <= θ``.

    Computed as written (as snnTorch's latency code does), in float64. ``I = +inf``
    fires at step 0 (the limit); NaN never fires.
    """
    if not enc.threshold >= 0:
        raise job.bad_parameter(f"latency threshold must be >= 0, got {enc.threshold}",
                                hint="a negative threshold would put spikes before step 0")
    if not enc.tau_steps >= 0:
        raise job.bad_parameter(f"latency tau must be >= 0, got {enc.tau_steps} steps")
    current = _per_neuron(enc.value, job, "latency value")
    theta = float(enc.threshold)
    fires = current > theta  # False for NaN and for I at or below θ (zero, negative)
    idx = np.flatnonzero(fires).astype(np.int64)
    I = current[idx]
    tau = float(enc.tau_steps)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # inf / inf is NaN; the limit of ln(I/(I−θ)) as I grows is 0.
        ratio = np.where(np.isinf(I), 1.0, I / (I - theta))
        # tau = 0 fires everything above θ at once (0 · inf would be NaN).
        t_float = np.floor(tau * np.log(ratio)) if tau > 0 else np.zeros(I.shape)
    # I just above θ makes the ratio huge (or inf): t is past the run, or inf, and is
    # dropped here before any integer cast.
    in_run = t_float < job.steps
    return _csr(job.name, job.n, job.steps, t_float[in_run].astype(np.int64), idx[in_run])


@_register(DeltaCode)
def _delta_code(enc: DeltaCode, job: EncodeJob) -> InputEvents:
    """ON/OFF spikes where the signal moved more than ``threshold`` from its reference.

    Vectorised over neurons; one pass over time. ON spikes of a step (indices ``i``)
    come before OFF spikes (``N + i``), so indices stay ascending.
    """
    if len(job.shape) < 1 or job.shape[0] != 2:
        raise job.bad_parameter(
            f"a delta input has shape [2, N...] (ON and OFF channels), got {list(job.shape)}",
            hint=f"declare it as [2, {', '.join(map(str, job.shape)) or 'N'}]")
    if not enc.threshold >= 0:
        raise job.bad_parameter(f"delta threshold must be >= 0, got {enc.threshold}",
                                hint="a negative threshold would fire ON and OFF together")
    signal = np.asarray(enc.signal.values, dtype=np.float64)
    n_half = job.n // 2
    per_step = int(np.prod(signal.shape[1:], dtype=np.int64))
    if signal.ndim < 1 or per_step != n_half:
        raise InputFileError(
            f"the signal has shape {list(signal.shape)}; expected T x {list(job.shape[1:])} "
            f"({n_half} values per step) for an input of shape {list(job.shape)}",
            where=f"{job.where}: {enc.signal.path}",
            hint="the signal's first axis is time; the rest is the input's shape without "
                 "its channel axis")
    signal = signal.reshape(signal.shape[0], n_half)
    threshold = float(enc.threshold)
    last = min(signal.shape[0], job.steps)
    t_parts: list[np.ndarray] = []
    i_parts: list[np.ndarray] = []
    if last > 0:
        ref = signal[0].copy()
        for t in range(1, last):
            x = signal[t]
            on = x - ref > threshold
            off = ref - x > threshold
            fired = on | off
            if not fired.any():
                continue
            ref[fired] = x[fired]
            hits = np.concatenate([np.flatnonzero(on), np.flatnonzero(off) + n_half])
            t_parts.append(np.full(hits.size, t, dtype=np.int64))
            i_parts.append(hits.astype(np.int64))
    return _from_hits(job.name, job.n, job.steps, t_parts, i_parts)


@_register(EventStream)
def _event_stream(enc: EventStream, job: EncodeJob) -> InputEvents:
    """Event-camera events binned into steps of ``dt``, one spike per pixel and step.

    ``step = t_us // dt_us``, in integer arithmetic when ``dt`` is a whole number of
    microseconds (the usual case) so bin edges are exact. Polarity is 0 (OFF) / 1 (ON)
    or booleans; a stream in -1/+1 (as some Tonic datasets give it) is read with -1 as 0.
    """
    where = f"{job.where}: {enc.path}"
    if len(job.shape) != 3 or job.shape[0] != 2:
        raise job.bad_parameter(f"an event input has shape [2, H, W], got {list(job.shape)}",
                                hint="declare it as [2, height, width]")
    _, height, width = job.shape
    x = np.asarray(enc.x).reshape(-1)
    y = np.asarray(enc.y).reshape(-1)
    t_us = np.asarray(enc.t_us).reshape(-1)
    pol = _polarity(np.asarray(enc.p).reshape(-1), where)
    if not (x.size == y.size == t_us.size == pol.size):
        raise InputFileError("fields x, y, t, p differ in length "
                             f"({x.size}, {y.size}, {t_us.size}, {pol.size})", where=where)
    for arr, what in ((x, "x"), (y, "y")):
        _check_integral(arr, f"event field {what}", where, InputFileError)
    x = x.astype(np.int64)
    y = y.astype(np.int64)
    for arr, what, size in ((x, "x", width), (y, "y", height)):
        if arr.size and (arr.min() < 0 or arr.max() >= size):
            bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
            raise InputFileError(f"event {what} = {bad} is outside the sensor (0..{size - 1})",
                                 where=where,
                                 hint=f"the input's shape is [2, {height}, {width}]: "
                                      "[polarity, y, x]")
    steps = _bin_us(t_us, job.dt_ms, where)
    if steps.size and steps.min() < 0:
        raise InputFileError(f"event time {t_us.min()} µs is before 0", where=where)
    index = pol * (height * width) + y * width + x
    return _csr(job.name, job.n, job.steps, steps, index, dedupe=True)


def _polarity(p: np.ndarray, where: str) -> np.ndarray:
    """0/1 polarity as int64 from 0/1, booleans, or -1/+1."""
    if p.dtype == np.bool_:
        return p.astype(np.int64)
    _check_integral(p, "event field p", where, InputFileError)
    p = p.astype(np.int64)
    seen = set(np.unique(p).tolist())
    if seen <= {0, 1}:
        return p
    if seen <= {-1, 1}:
        # -1/+1 streams: -1 is OFF, the same channel 0 as a 0/1 stream's 0.
        return (p > 0).astype(np.int64)
    raise InputFileError(f"event polarity takes values {sorted(seen)}; expected 0/1 (or -1/+1)",
                         where=where)


def _bin_us(t_us: np.ndarray, dt_ms: float, where: str) -> np.ndarray:
    """Step of each timestamp: ``floor(t_us / dt_us)``, exact where the inputs allow it."""
    dt_us = dt_ms * 1000.0
    dt_int = round(dt_us)
    whole_dt = dt_int >= 1 and math.isclose(dt_us, dt_int, rel_tol=1e-12, abs_tol=0.0)
    if t_us.dtype.kind in "iu" or (t_us.dtype.kind == "f" and
                                   (not t_us.size or np.all(t_us == np.floor(t_us)))):
        if whole_dt:
            return t_us.astype(np.int64) // np.int64(dt_int)
    if t_us.dtype.kind not in "iuf":
        raise InputFileError(f"event field t must be numbers (dtype {t_us.dtype})", where=where)
    if t_us.size and not np.all(np.isfinite(t_us)):
        raise InputFileError("event field t holds a non-finite time", where=where)
    return np.floor(t_us.astype(np.float64) / dt_us).astype(np.int64)


@_register(ConstantCurrent)
def _constant_current(enc: ConstantCurrent, job: EncodeJob) -> InputEvents:
    """Every neuron emits its value at every step.

    A neuron whose value is exactly 0 emits nothing: it would add ``weight · 0`` to its
    targets, and leaving it out keeps the events equal to those of the same raster.
    """
    value = _per_neuron(enc.value, job, "current value")
    idx = np.flatnonzero(value).astype(np.int64)
    k, steps = idx.size, job.steps
    step_ptr = np.arange(steps + 1, dtype=np.int64) * np.int64(k)
    return InputEvents(population=job.name, n=job.n, steps=steps, step_ptr=step_ptr,
                       indices=np.tile(idx, steps), values=np.tile(value[idx], steps))


@_register(GradedFrames)
def _graded_frames(enc: GradedFrames, job: EncodeJob) -> InputEvents:
    """Frame ``t`` at step ``t``: each nonzero value is an event carrying it; nothing after
    the last frame (a run longer than the file lets the network's last layers answer)."""
    frames = np.asarray(enc.values.values, dtype=np.float64)
    if frames.ndim < 2 or int(np.prod(frames.shape[1:], dtype=np.int64)) != job.n:
        raise InputFileError(f"the frames have shape {list(frames.shape)}; expected [frames, "
                             f"{', '.join(map(str, job.shape))}]", where=f"{job.where}: {enc.values.path}",
                             hint="the first axis is the frame (one per step); the rest is the input's shape")
    if not np.all(np.isfinite(frames)):
        raise InputFileError("the frames hold NaN or infinite values", where=f"{job.where}: {enc.values.path}")
    raster = np.zeros((job.steps, job.n))
    last = min(job.steps, frames.shape[0])
    raster[:last] = frames[:last].reshape(last, job.n)
    t, i = np.nonzero(raster)
    step_ptr = np.zeros(job.steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=job.steps), out=step_ptr[1:])
    return InputEvents(population=job.name, n=job.n, steps=job.steps, step_ptr=step_ptr,
                       indices=i.astype(np.int64), values=raster[t, i])


# -- a run's inputs: the user's where given, else each encoder's --------------------------

def input_events(network: Network, steps: int,
                 overrides: Mapping[str, InputEvents | np.ndarray] | None = None,
                 *, inputs: tuple[str, ...] | None = None) -> dict[str, InputEvents]:
    """The events of every input population for a run of ``steps`` steps.

    Parameters
    ----------
    network
        The network whose input populations emit.
    steps
        Steps of the run; an override must cover at least this many.
    overrides
        Per input population, what it emits instead of its encoder's output: events,
        or a dense ``T x N`` (or ``T x shape...``) raster whose nonzero entries are
        emitted with their value.
    inputs
        The input populations, in the order the caller lays them out (default: the
        network's order).

    Raises
    ------
    UsageError
        An override naming no input population, or of the wrong size or length.
    """
    overrides = {} if overrides is None else overrides
    if inputs is None:
        inputs = tuple(name for name, pop in network.populations.items() if pop.is_input)
    if not isinstance(overrides, Mapping):
        raise UsageError(f"inputs must map input population names to events or rasters, "
                         f"got {type(overrides).__name__}")
    for name in overrides:
        if name not in inputs:
            what = "which is not an input" if name in network.populations else \
                "which the network does not have"
            raise UsageError(f"inputs name population '{name}', {what}",
                             hint=did_you_mean(name, inputs) or "the network has no inputs")
    return {name: (_override(network.populations[name], steps, overrides[name]) if name in overrides
                   else encode(network.populations[name], steps, network.dt_ms))
            for name in inputs}


def _override(pop: Population, steps: int, given: InputEvents | np.ndarray) -> InputEvents:
    """Check a user's input for ``pop`` and return it as events."""
    where = f"input '{pop.name}'"
    if isinstance(given, InputEvents):
        ev = given
        if ev.n != pop.size:
            raise UsageError(f"the events given for input '{pop.name}' are for {ev.n} neurons, "
                             f"the population has {pop.size}", where=where)
        if len(ev.step_ptr) != ev.steps + 1 or len(ev.indices) != len(ev.values) \
                or len(ev.indices) != ev.n_events:
            raise UsageError(f"the events given for input '{pop.name}' are malformed: step_ptr has "
                             f"{len(ev.step_ptr)} entries for {ev.steps} steps and "
                             f"{len(ev.indices)} indices, {len(ev.values)} values", where=where)
        if ev.n_events and (ev.indices.min() < 0 or ev.indices.max() >= pop.size):
            raise UsageError(f"the events given for input '{pop.name}' name neurons outside "
                             f"0..{pop.size - 1}", where=where)
    else:
        raster = np.asarray(given)
        if raster.ndim < 2 or raster.shape[1:] not in [(pop.size,), tuple(pop.shape)]:
            raise UsageError(f"the raster given for input '{pop.name}' has shape "
                             f"{list(raster.shape)}; expected [steps, {pop.size}]"
                             + (f" or [steps, {', '.join(map(str, pop.shape))}]"
                                if len(pop.shape) > 1 else ""), where=where,
                             hint="one row per step, one column per neuron; nonzero = emit")
        if raster.dtype.kind not in "biuf":
            raise UsageError(f"the raster given for input '{pop.name}' holds {raster.dtype} values; "
                             "expected numbers or booleans", where=where)
        ev = events_from_raster(pop.name, raster)
    if ev.steps < steps:
        raise UsageError(f"the input given for '{pop.name}' covers {ev.steps} steps, the run has "
                         f"{steps}", where=where, hint=f"give at least {steps} steps, or run fewer")
    return ev
