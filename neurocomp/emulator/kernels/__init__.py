"""What the emulator and a family's kernel exchange, and the helpers every kernel shares.

Each neuron family's kernel lives in its own folder, ``neurocomp/targets/<family>/kernel.py``,
and is found through the family registry (:mod:`neurocomp.chip.family`); :func:`kernel_for`
returns it. :func:`neurocomp.emulator.run.emulate` only talks to that module.

What a kernel module provides (:data:`neurocomp.chip.family.KERNEL_PARTS`)
---------------------------------------------------------------------
``prepare(mapping) -> prepared``
    Everything that depends on the Mapping alone, built once (integer parameter arrays,
    the :mod:`~neurocomp.emulator.kernels.routing` tables). ``prepared`` is reused for
    every run of a batch, so it holds no run state.
``run(prepared, inputs: KernelInputs) -> KernelRun``
    One run from rest: allocates fresh state, runs every step in one ``@njit`` call,
    raises :class:`~neurocomp.diagnostics.EmulationError` in strict mode.
``overflow_message(prepared, run: KernelRun) -> str | None``
    One sentence on the wraps and saturations of a run (``None`` when there were none).

Optionally, ``run_batch(prepared, inputs: Sequence[KernelInputs]) -> list[KernelRun] | None``
(in the kernel module or in a ``batch`` module next to it, :func:`batch_runner`): the
runs of several samples at once, each equal to ``run(prepared, inputs[k])`` (raising
what the first failing sample's ``run`` raises), or ``None`` to decline (the samples then
run one by one). The inputs share ``steps``, ``probe_comp`` and ``strict``.

The family's description (:class:`neurocomp.chip.family.Family`) says which integer state
variables the probes ``voltage`` and ``current`` read (``traces``) and whether the kernel
takes spikes that carry a value (``payloads``).

The spike-routing helpers every kernel shares are in
:mod:`neurocomp.emulator.kernels.routing`; the float reference's kernel is
:mod:`neurocomp.emulator.kernels.reference_kernel`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping

import numpy as np

from ...diagnostics import UsageError, did_you_mean
from ...chip.family import FAMILIES, find

__all__ = ["where_is", "overflow_sentence", "KernelInputs", "KernelRun", "kernel_for", "batch_runner", "run_resumable",
           "CHUNKS", "chunk_of", "spike_buffers", "doubled"]

# OpenMP threads that wait for work sleep at once instead of spinning: with another
# program on the second core, spinning threads (OpenMP's default) made a threaded Loihi
# run up to 10x slower than one thread. Read when Numba starts its threads (its first
# parallel loop, or numba.set_num_threads), so set here, before any kernel runs; set
# OMP_WAIT_POLICY to choose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True, eq=False, kw_only=True)
class KernelInputs:
    """What one run feeds a kernel.

    Input events are one CSR by step over source ids: the sources emitting at step
    ``t`` are ``in_src[in_ptr[t]:in_ptr[t+1]]`` (``n_comp + input_offset[pop] + i``),
    ascending within a step. ``probe_comp`` lists the compartments whose state is
    recorded at the end of every step. ``in_val`` holds each event's value for a kernel
    that takes valued events (``Family.payloads``); ``None``: every event is worth 1.
    """

    steps: int
    in_ptr: np.ndarray  # int64 [steps + 1]
    in_src: np.ndarray  # int64 [n_events]
    in_val: np.ndarray | None = None  # float64 [n_events]
    probe_comp: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    strict: bool = False
    seed: int = 0  # for the chip's stochastic modes (TrueNorth); deterministic kernels ignore it
    # called with the steps run so far, now and then during the run (a kernel may ignore it)
    progress: Callable[[int], None] | None = None
    # threads of one run (a kernel may use fewer): None lets the kernel choose (Numba's
    # thread count, which a worker process sets to 1, where a second thread pays); the
    # results are the same whatever the number
    threads: int | None = None


@dataclass(frozen=True, eq=False, kw_only=True)
class KernelRun:
    """What a kernel returns for one run.

    ``spike_step``/``spike_comp`` are sorted by step, then compartment. ``counters`` is
    int64 ``(9, steps, n_cols)`` in the order of ``Counters.FIELDS``; column ``j`` is core
    ``core_ids[j]``. ``traces[var]`` is int64 ``(steps, len(probe_comp))``.
    ``overflows[var]`` counts the wraps and saturations of each state variable (zero in
    strict mode, which raises on the first); ``first_overflow[var]`` is
    ``(step, compartment)`` of the first. ``spike_value`` is each event's value from a
    kernel whose events carry one (``None``: every event is worth 1).
    """

    spike_step: np.ndarray
    spike_comp: np.ndarray
    counters: np.ndarray
    core_ids: np.ndarray
    traces: Mapping[str, np.ndarray] = field(default_factory=dict)
    overflows: Mapping[str, int] = field(default_factory=dict)
    first_overflow: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    wall_s: float = 0.0
    spike_value: np.ndarray | None = None
    # per plastic projection, what it learned (docs/learning.md): name -> var -> array
    learned: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)


def where_is(mapping: Any, comp: int) -> tuple[int, str]:
    """The core of compartment ``comp`` and what it holds, for messages."""
    core = int(mapping.comp_core[comp])
    pop = int(mapping.comp_pop[comp])
    name = "a relay" if pop < 0 else \
        f"population '{mapping.population_names[pop]}' neuron {int(mapping.comp_index[comp])}"
    return core, name


def overflow_sentence(mapping: Any, run: "KernelRun", var: str, wrapped: bool, *,
                      what: str | None = None) -> str | None:
    """``v saturated 3 times (first: step 7, core 0, compartment 2, population 'a' neuron 2)``
    for the overflow record ``var`` of a non-strict run, or ``None`` when it never
    overflowed. With ``what`` (e.g. ``v saturated at its 24-bit floor``) the population
    leads: ``population 'a': v saturated at its 24-bit floor 3 times (first: step 7,
    core 0, compartment 2, neuron 2)``."""
    count = run.overflows.get(var, 0)
    if not count:
        return None
    step, comp = run.first_overflow[var]
    core, name = where_is(mapping, comp)
    if what is None:
        return (f"{var} {'wrapped' if wrapped else 'saturated'} {count} time{'s' if count != 1 else ''} "
                f"(first: step {step}, core {core}, compartment {comp}, {name})")
    pop, _, neuron = name.rpartition(" neuron ")
    where = f"{pop}: " if pop else ""
    at = f", neuron {neuron}" if pop else f", {name}"
    return (f"{where}{what} {count} time{'s' if count != 1 else ''} "
            f"(first: step {step}, core {core}, compartment {comp}{at})")


def kernel_for(family: str) -> ModuleType:
    """The kernel module of a neuron family.

    Raises
    ------
    UsageError
        When no family of that name is registered, it has no kernel, or its module is
        not installed.
    """
    fam = find(family)
    if fam is None:
        raise UsageError(f"no emulator kernel for neuron family '{family}'",
                         hint=did_you_mean(family, FAMILIES))
    return fam.kernel_module()


def batch_runner(kernel: ModuleType) -> Callable[..., Any] | None:
    """The ``run_batch`` of a kernel module (module docstring): its own, or that of the
    ``batch`` module of its package; ``None`` when it has neither."""
    own = getattr(kernel, "run_batch", None)
    if own is not None or not kernel.__package__:
        return own
    name = f"{kernel.__package__}.batch"
    if importlib.util.find_spec(name) is None:
        return None
    return getattr(importlib.import_module(name), "run_batch", None)


#: How many pieces a run with a progress callback is cut into: often enough for a rate and
#: a time left, rarely enough that the calls cost nothing next to the steps.
CHUNKS = 100


def chunk_of(steps: int) -> int:
    """The steps of one piece of a run of ``steps`` steps with a progress callback."""
    return max(1, -(-steps // CHUNKS))


#: The most spike-buffer entries :func:`run_resumable` starts with (12 bytes each).
RESUMABLE_CAP = 1 << 16


def spike_buffers(steps: int, n_comp: int, comp_dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """The spike buffers (steps, compartments) a resumable loop starts with: room for
    every compartment firing in every step up to :data:`RESUMABLE_CAP` events (below it a
    run never stops for room; a small network's runs stopped once or twice each)."""
    cap = max(1024, 2 * n_comp, min(steps * n_comp + n_comp, RESUMABLE_CAP))
    return np.empty(cap, dtype=np.int64), np.empty(cap, dtype=comp_dtype)


def doubled(spike_t: np.ndarray, spike_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The spike buffers twice as big, their entries kept (a loop stopped for room)."""
    return (np.concatenate([spike_t, np.empty_like(spike_t)]),
            np.concatenate([spike_c, np.empty_like(spike_c)]))


def run_resumable(loop: Callable[..., tuple[int, int, int]], steps: int, n_comp: int,
                  args: tuple[Any, ...], comp_dtype: type = np.int64,
                  progress: Callable[[int], None] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, int, int, float]:
    """Drive a family's T-step loop that stops when its spike buffer might overflow.

    ``loop(t, steps, spike_t, spike_c, n_spikes, *args)`` runs from step ``t`` and
    returns ``(n_spikes, t, stopped)``: it stops early when the next step might not fit
    the buffer (then it is called again from that step with a buffer twice as big), or
    with ``stopped >= 0`` at a strict-mode overflow. Reallocating inside the Numba loop
    would cost more than the neuron updates. A first call of 0 steps compiles the loop
    (or loads it from Numba's cache), so ``wall_s`` measures the emulation alone.

    With ``progress``, the loop runs in about :data:`CHUNKS` chunks of steps and
    ``progress(steps run)`` is called after each (the loop keeps its state in ``args``,
    so where it stops changes nothing); without, in one call.

    Returns ``(spike_t, spike_c, n_spikes, stopped, wall_s)``.
    """
    spike_t, spike_c = spike_buffers(steps, n_comp, comp_dtype)
    loop(0, 0, spike_t, spike_c, 0, *args)
    start = time.perf_counter()
    t, n_spikes, stopped = 0, 0, -1
    chunk = chunk_of(steps) if progress is not None else steps
    while True:
        end = min(t + chunk, steps)
        n_spikes, t, stopped = loop(t, end, spike_t, spike_c, n_spikes, *args)
        if progress is not None:
            progress(t)
        if t >= steps or stopped >= 0:
            break
        if t < end:  # stopped early: the spike buffer might not hold step t
            spike_t, spike_c = doubled(spike_t, spike_c)
    return spike_t, spike_c, n_spikes, stopped, time.perf_counter() - start

