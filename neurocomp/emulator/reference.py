"""The float reference simulator: the ideal discrete-time model in float64.

This is the yardstick every chip emulator is held against: no quantization, no chip
limits, exactly the equations of :class:`~neurocomp.ir.network.NeuronModel`, run
event-driven over the lowered synapses. ``docs/models.md`` explains the model.

Input: a :class:`~neurocomp.ir.network.Network`, a number of steps, optional input
overrides. Output: a :class:`~neurocomp.ir.result.RunResult`. The network is not
changed.

How the run is laid out (all of it flat arrays, so one Numba call runs every step):

* every population gets a block of one global index space: the neuron populations
  first, in the network's order, then the input populations;
* the projections' CSR (by presynaptic neuron) are concatenated into one CSR by global
  presynaptic index, with global target indices and per-synapse delays (or one shared
  delay); within a row, synapses keep the projections' order, then ascending targets;
* the inputs' events become one CSR by step over the global indices, each step's events
  sorted by global index;
* future input lives in a ring buffer of ``max_delay + 2`` rows of one accumulator per
  neuron.

Order of operations within step ``t``:

1. ``x`` is what arrived for step ``t`` (the ring row ``t mod (max_delay + 2)``).
2. Every neuron, in index order: ``I = alpha·I + x``; then, if it is refractory,
   ``V = 0`` and one refractory step is used up; otherwise ``V = beta·V + I + bias``,
   and (not for ``li``) if ``V > threshold`` it spikes: ``V`` is reset (``zero``:
   ``V = 0``; ``subtract``: ``V -= threshold``; ``none``: kept), it becomes refractory
   for ``refractory_steps`` steps, and every synapse of it adds its weight to the input
   of step ``t + 1 + delay`` of its target.
3. Probes record ``V`` and ``I`` as they are now (after any reset) and the spikes of
   step ``t``.
4. Every input event of step ``t`` (neuron ``i`` emits ``value``) adds
   ``weight · value`` through each synapse of ``i`` to the input of step
   ``t + 1 + delay`` of its target.

So an event emitted at step ``t`` is first seen by its target's current at step
``t + 1 + delay``; every synapse has at least one step of delay.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from ..diagnostics import UsageError, did_you_mean
from ..compiler.encode import input_events
from ..ir.network import PROBE_VARIABLES, Network
from ..ir.result import RunResult, SpikeEvents
from ..ir.synapses import InputEvents, Synapses
from ..ir.values import as_array
from .reference_graded import is_graded, simulate_graded
from .kernels.reference_kernel import (RESET_NONE, RESET_SUBTRACT, RESET_ZERO, _steps, add_input_rows, run_reference,
                                       run_reference_arrived)

__all__ = ["simulate", "simulate_batch", "prepare_reference", "PreparedReference"]

_RESET_CODES = {"zero": RESET_ZERO, "subtract": RESET_SUBTRACT, "none": RESET_NONE}


def simulate(network: Network, steps: int,
             inputs: Mapping[str, InputEvents | np.ndarray] | None = None, *,
             synapses: Mapping[str, Synapses] | None = None,
             progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run ``network`` for ``steps`` steps in float64, from rest.

    Parameters
    ----------
    network
        The network to run, with float parameters as the user wrote them
        (:func:`neurocomp.simulate` also takes the path of a ``.snn`` file).
    steps
        Number of time steps (``>= 0``) of ``network.dt_ms`` each.
    inputs
        Per input population name, what it emits instead of its encoder's output:
        :class:`~neurocomp.ir.synapses.InputEvents`, or a dense ``T x N`` (or
        ``T x shape...``) array whose nonzero entries are emitted with their value.
        It must cover at least ``steps`` steps; later steps are ignored. Inputs not
        named here come from their encoder (:func:`neurocomp.compiler.encode.encode`).
    synapses
        The lowered projections (projection name -> CSR), when they are already at
        hand; by default :func:`neurocomp.compiler.lower.lower` makes them.
    progress
        Called as ``progress(steps done, steps)`` about a hundred times during the run
        (the loop then runs in pieces, keeping its state between them), last with
        ``steps`` done. It changes no result.

    Returns
    -------
    RunResult
        Spikes of every population (inputs included), the probed traces, and the work
        counters; ``wall_s`` times the simulation loop alone.

    Raises
    ------
    UsageError
        For a bad ``steps``, an override naming no input population or of the wrong
        size or length, or synapses that do not fit the network.
    """
    return PreparedReference.of(network, steps, synapses).run(inputs, progress)


def simulate_batch(network: Network, steps: int, samples: Iterable[Mapping[str, InputEvents | np.ndarray] | None],
                   *, synapses: Mapping[str, Synapses] | None = None) -> list[RunResult]:
    """:func:`simulate` of each of ``samples`` (one ``inputs`` argument each, ``None`` for
    the encoders' output), in order: the same RunResults, bit for bit, as one
    :func:`simulate` call per sample.

    What every sample shares is built once for the batch: the checks, the layout, the
    neuron parameters, the one global CSR of every projection (the bulk of a small run's
    time: mnist_mlp's 100,000 synapses) and the compiled kernel. Each sample then only
    encodes its inputs and runs the kernel from rest.

    Where the inputs reach neurons through dense projections whose sums are exact in
    float64 (see :class:`_DenseInputs`), what the inputs bring to each neuron at every
    step is computed for the whole batch as the events' raster times each projection's
    dense weights (each event adding its source's row), and the kernel runs with those sums as its only input events: exact sums do not depend on
    the order of their terms, so the runs are the same, bit for bit.

    Raises
    ------
    UsageError
        As :func:`simulate` does.
    """
    return prepare_reference(network, steps, synapses).run_many(list(samples))


def prepare_reference(network: Network, steps: int, synapses: Mapping[str, Synapses] | None = None
                      ) -> "PreparedReference":
    """What every run of ``network`` for ``steps`` steps shares, built once: its
    :meth:`PreparedReference.run` is :func:`simulate` of one sample. Picklable, so a
    batch spread over workers sends it once (:mod:`neurocomp.workflows.validate`).

    Raises
    ------
    UsageError
        As :func:`simulate` does.
    """
    return PreparedReference.of(network, steps, synapses)


@dataclass(frozen=True)
class PreparedReference:
    """What the runs of one network for one number of steps share (see :func:`simulate_batch`)."""

    network: Network
    steps: int
    synapses: Mapping[str, Synapses]
    layout: "_Layout"
    params: tuple
    csr: tuple
    plastic: tuple
    dense: "_DenseInputs | None" = None

    @classmethod
    def of(cls, network: Network, steps: int, synapses: Mapping[str, Synapses] | None) -> "PreparedReference":
        from .run import _check_steps
        from ..resources import require_memory

        steps = _check_steps(steps)
        gap = cannot_simulate(network)
        if gap is not None:
            raise gap
        layout = _Layout.of(network)
        # per step at least: the input counts, and one float64 per probed neuron and variable
        probed = sum(network.populations[p.population].size * len([v for v in p.variables if v != "spikes"])
                     for p in network.probes if p.population in network.populations)
        require_memory(steps * (2 + probed) * 8, f"simulating {steps:,} steps of '{network.name}'",
                       hint="run fewer steps (or probe fewer populations)")
        if synapses is None:
            from ..compiler.lower import lower

            synapses = lower(network)
        params = _neuron_params(network, layout)
        plastic = tuple(p for p in network.projections if p.learning is not None)
        # plastic synapses stay in the CSR (their events count) with weight 0: the learning
        # loop delivers their changing weights itself
        csr = _global_csr(network, layout, {name: (dataclasses.replace(syn, weights=np.zeros_like(syn.weights))
                                                   if any(p.name == name for p in plastic) else syn)
                                            for name, syn in synapses.items()})
        dense = None if plastic or is_graded(network) else _DenseInputs.of(network, layout, synapses, csr)
        return cls(network, steps, synapses, layout, params, csr, plastic, dense)

    def run_many(self, samples: list[Mapping[str, InputEvents | np.ndarray] | None]) -> list[RunResult]:
        """:meth:`run` of each sample, in order (the inputs' sums by dense weight rows when
        :attr:`dense` allows: see :func:`simulate_batch`)."""
        if self.dense is None or not samples:
            return [self.run(sample) for sample in samples]
        network, steps, layout = self.network, self.steps, self.layout
        out: list[RunResult] = []
        for at in range(0, len(samples), _DENSE_BATCH):  # a few MB of sums at a time
            part = samples[at:at + _DENSE_BATCH]
            events = [input_events(network, steps, sample, inputs=layout.inputs) for sample in part]
            arrived, ok = self.dense.arrivals(events, steps)
            runs = iter(self._run_arrived([ev for ev, good in zip(events, ok) if good],
                                            arrived if ok.all() else arrived[ok]))
            out += [next(runs) if good else self.run(sample) for sample, good in zip(part, ok)]
        return out

    def _run_arrived(self, events: list[Mapping[str, InputEvents]], arrived: np.ndarray) -> list[RunResult]:
        """The runs whose inputs' sums per step and neuron are ``arrived``
        (``[samples, steps, n_neurons]``), in one kernel call."""
        network, steps, layout, dense = self.network, self.steps, self.layout, self.dense
        assert dense is not None
        if not events:
            return []
        probes = _Probes.of(network, layout, steps, len(events))
        start = time.perf_counter()
        spike_t, spike_j, ends, syn_events = run_reference_arrived(
            steps, *self.params, *dense.csr, np.ascontiguousarray(arrived), probes.v_idx, probes.i_idx,
            probes.s_col, probes.v_out, probes.i_out, probes.s_out)
        wall_s = (time.perf_counter() - start) / len(events)
        # the kernel counted the neurons' own synaptic events: add the inputs' own
        return [self._result(ev, probes.sample(b), spike_t[ends[b]:ends[b + 1]], spike_j[ends[b]:ends[b + 1]],
                             int(syn_events[b]) + dense.input_fanout(ev, steps), wall_s, {})
                for b, ev in enumerate(events)]

    def run(self, inputs: Mapping[str, InputEvents | np.ndarray] | None,
            progress: Callable[[int, int], None] | None = None) -> RunResult:
        """One run from rest with ``inputs`` (as :func:`simulate` takes them)."""
        network, steps, layout, csr = self.network, self.steps, self.layout, self.csr
        events = input_events(network, steps, inputs, inputs=layout.inputs)
        in_ptr, in_idx, in_val = _global_events(layout, steps, events)
        probes = _Probes.of(network, layout, steps)

        if is_graded(network):  # graded events or max pooling: the ideal form of Akida's layers
            return simulate_graded(network, steps, events, self.synapses, probes, layout, self.params)
        args = (*self.params, *csr, in_ptr, in_idx, in_val,
                probes.v_idx, probes.i_idx, probes.s_col, probes.v_out, probes.i_out, probes.s_out)
        # A run of 0 steps compiles the kernel (or loads it from Numba's cache) so the
        # timed call below measures the simulation alone.
        run_reference(0, *args)
        learned: dict[str, dict[str, np.ndarray]] = {}
        start = time.perf_counter()
        if self.plastic:
            spike_t, spike_j, syn_events, learned = _run_learning(network, layout, self.synapses, list(self.plastic),
                                                                  steps, args, csr[-1], progress)
        elif progress is not None:
            spike_t, spike_j, syn_events = _run_in_pieces(steps, args, csr[-1], progress)
        else:
            spike_t, spike_j, syn_events = run_reference(steps, *args)
        wall_s = time.perf_counter() - start
        return self._result(events, probes, spike_t, spike_j, syn_events, wall_s, learned)

    def _result(self, events: Mapping[str, InputEvents], probes: "_Probes", spike_t: np.ndarray,
                spike_j: np.ndarray, syn_events: int, wall_s: float,
                learned: dict[str, dict[str, np.ndarray]]) -> RunResult:
        network, steps, layout = self.network, self.steps, self.layout
        spikes: dict[str, SpikeEvents] = {}
        for name in network.populations:
            lo, hi = layout.span(name)
            if name in layout.inputs:
                ev = events[name]
                spikes[name] = _input_spikes(ev, steps)
            else:
                # Spikes come out sorted by time, then global index, so a mask keeps order.
                mine = (spike_j >= lo) & (spike_j < hi)
                spikes[name] = SpikeEvents(times=spike_t[mine], indices=spike_j[mine] - lo, n=hi - lo)
        traces = probes.split(spikes)
        for name, arrays in learned.items():
            traces.setdefault(name, {}).update(arrays)
        return RunResult(network=network.name, steps=steps, dt_ms=float(network.dt_ms),
                         spikes=spikes, traces=traces, wall_s=wall_s,
                         synaptic_events=int(syn_events),
                         neuron_updates=layout.n_neurons * steps)


def _run_in_pieces(steps: int, args: tuple, n_slots: int, progress: Callable[[int, int], None]
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """What ``run_reference(steps, *args)`` returns, its step loop run in about
    :data:`~neurocomp.emulator.kernels.CHUNKS` pieces with ``progress(done, steps)`` after
    each (the state lives here between them)."""
    from .kernels import chunk_of

    n = args[0].shape[0]
    state = (np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros((n_slots, n)))
    out_t = np.empty(max(1024, 4 * n), dtype=np.int64)
    out_j = np.empty_like(out_t)
    t, n_out, syn_events = 0, 0, 0
    chunk = chunk_of(steps)
    while t < steps:
        if out_t.shape[0] - n_out < n:  # a step emits at most n spikes
            out_t = np.concatenate([out_t, np.empty_like(out_t)])
            out_j = np.concatenate([out_j, np.empty_like(out_j)])
        t, n_out, syn_events = _steps(t, min(t + chunk, steps), *args, *state, out_t, out_j, n_out, syn_events)
        progress(t, steps)
    if steps == 0:
        progress(0, 0)
    return out_t[:n_out].copy(), out_j[:n_out].copy(), syn_events


def _run_learning(network: Network, layout: "_Layout", synapses: Mapping[str, Synapses],
                  plastic: list, steps: int, args: tuple, n_slots: int,
                  progress: Callable[[int, int], None] | None = None):
    """:func:`run_reference`'s loop one step at a time, the plastic projections' ideal
    learning (:mod:`.learning_reference`) between steps: it delivers their current weights,
    steps their traces and, at each epoch's end, their weights. Returns the spikes, the
    synaptic events and per plastic projection ``final_weights`` (dense ``[post, pre]``,
    float units) and, when probed, ``weights`` ``[steps, n_synapses]`` and ``synapses``."""
    from .kernels import chunk_of
    from .learning_reference import plastic_float

    (alpha, beta, threshold, bias, reset, refractory, spiking, indptr, indices, weights, delays,
     delay, _, in_ptr, in_idx, in_val, v_idx, i_idx, s_col, v_out, i_out, s_out) = args
    n = alpha.shape[0]
    v = np.zeros(n, dtype=np.float64)
    cur = np.zeros(n, dtype=np.float64)
    refr = np.zeros(n, dtype=np.int64)
    ring = np.zeros((n_slots, n), dtype=np.float64)
    out_t = np.empty(max(1024, 4 * n), dtype=np.int64)
    out_j = np.empty_like(out_t)
    states = []
    for proj in plastic:
        syn = synapses[proj.name]
        pre_pop, post_pop = network.populations[proj.pre], network.populations[proj.post]
        st = plastic_float(proj.learning, syn, pre_pop.size, post_pop.size)
        states.append((proj, st, layout.span(proj.pre)[0], layout.span(proj.post)[0],
                       np.asarray(syn.indptr, dtype=np.int64), syn.delay_array().astype(np.int64),
                       np.zeros((steps, syn.n_synapses)) if proj.learning.probe_weights else None))
    n_out, syn_events = 0, 0
    every = chunk_of(steps)
    for t in range(steps):
        if progress is not None and t and t % every == 0:
            progress(t, steps)
        if out_t.shape[0] - n_out < n:
            out_t = np.concatenate([out_t, np.empty_like(out_t)])
            out_j = np.concatenate([out_j, np.empty_like(out_j)])
        first = n_out
        _, n_out, syn_events = _steps(t, t + 1, alpha, beta, threshold, bias, reset, refractory,
                                      spiking, indptr, indices, weights, delays, delay, n_slots,
                                      in_ptr, in_idx, in_val, v_idx, i_idx, s_col, v_out, i_out,
                                      s_out, v, cur, refr, ring, out_t, out_j, n_out, syn_events)
        fired = out_j[first:n_out]
        ev_idx = in_idx[in_ptr[t]:in_ptr[t + 1]]
        ev_val = in_val[in_ptr[t]:in_ptr[t + 1]]
        sources = np.concatenate([fired, ev_idx])
        values = np.concatenate([np.ones(fired.size), ev_val])
        for proj, st, pre_off, post_off, ptr, dl, rec in states:
            size_pre, size_post = st.x.shape[1], st.y.shape[1]
            mine = (sources >= pre_off) & (sources < pre_off + size_pre)
            pre_fired, scale = sources[mine] - pre_off, values[mine]
            post_g = fired[(fired >= post_off) & (fired < post_off + size_post)]
            for i, val in zip(pre_fired.tolist(), scale.tolist()):
                ks = np.arange(ptr[i], ptr[i + 1])
                np.add.at(ring, ((t + 1 + dl[ks]) % n_slots, post_off + st.post[ks]),
                          st.w[ks] * st.w_unit * val)
            epoch = proj.learning.epoch
            tau = t + 1
            st.decay_and_spike(pre_fired, post_g - post_off, tau % epoch or epoch)
            if tau % epoch == 0:
                st.learn(tau // epoch)
            if rec is not None:
                rec[t] = st.w * st.w_unit
    learned: dict[str, dict[str, np.ndarray]] = {}
    for proj, st, _, _, _, _, rec in states:
        dense = np.zeros((st.y.shape[1], st.x.shape[1]), dtype=np.float64)
        dense[st.post, st.pre] = st.w * st.w_unit
        out = {"final_weights": dense}
        if rec is not None:
            out["weights"] = rec
            out["synapses"] = np.stack([st.pre, st.post], axis=1)
        learned[proj.name] = out
    if progress is not None:
        progress(steps, steps)
    return out_t[:n_out].copy(), out_j[:n_out].copy(), syn_events, learned


# -- dense inputs summed by their weight rows ---------------------------------------------

#: A dense projection from an input is summed by its dense rows when it holds at least
#: this share of its pre x post pairs, and at most this many pairs.
_DENSE_SHARE = 0.25
_DENSE_PAIRS = 1 << 22
#: Samples whose sums are made and run in one kernel call.
_DENSE_BATCH = 32


@dataclass(frozen=True)
class _DenseInputs:
    """How a batch's input events become each neuron's sum per step from dense weight rows.

    Taken only when it changes no bit: every input population reaches neurons through
    dense projections, each with one delay; and every sum a neuron's input slot can hold
    is exact in float64. That holds when every weight into the neurons the inputs reach
    (from inputs and neurons alike) is a whole multiple of ``2**q`` and a slot's largest
    possible sum stays below ``2**(q + 53)``: the sum of ``|w|`` over a neuron's synapses
    times the number of distinct delays among them (a slot holds at most one event per
    source from each step those delays reach back to; a source sends at most one event of
    value 1 per step: checked per sample). Every partial sum, in any order, is then a
    multiple of ``2**q`` that float64 holds exactly, so the kernel's
    one-synapse-at-a-time order and the rows' order give the same number (mnist_mlp's
    float32 weights into 'hidden': at most 7.44 against 8). The kernel then runs with one extra source per neuron, of one
    synapse of weight 1 and delay 0, whose events are those sums.
    """

    projections: tuple  # (input name, its global offset, dense weights [pre, post's size], delay, post's offset)
    csr: tuple  # the kernel's CSR: neurons' rows as before, inputs' rows empty, one row per neuron after
    fanout: np.ndarray  # each global input source's fan-out in the original CSR
    n_neurons: int

    @classmethod
    def of(cls, network: Network, layout: "_Layout", synapses: Mapping[str, Synapses],
           csr: tuple) -> "_DenseInputs | None":
        if not layout.inputs:
            return None
        n = layout.n_neurons
        projections = []
        reached = np.zeros(n, dtype=bool)
        for proj in network.projections:
            if proj.pre not in layout.inputs:
                continue
            syn = synapses[proj.name]
            pairs = syn.n_pre * syn.n_post
            if pairs == 0 or syn.n_pre * n > _DENSE_PAIRS or syn.n_synapses < _DENSE_SHARE * pairs:
                return None
            if syn.delays is not None and len(syn.delays) and syn.delays.min() != syn.delays.max():
                return None
            delay = int(syn.delays[0]) if syn.delays is not None and len(syn.delays) else int(syn.delay)
            lo = layout.span(proj.post)[0]
            # only the post's columns: the product skips the neurons it cannot reach
            dense = np.zeros((syn.n_pre, syn.n_post), dtype=np.float64)
            rows = np.repeat(np.arange(syn.n_pre), np.diff(syn.indptr).astype(np.int64))
            np.add.at(dense, (rows, syn.indices.astype(np.int64)), syn.weights)
            reached[lo:lo + syn.n_post] = True
            projections.append((proj.pre, layout.span(proj.pre)[0], dense, delay, lo))
        if not projections or not _exact_sums(csr, reached, n):
            return None
        indptr, indices, weights, delays, delay, n_slots = csr
        inputs_from = layout.span(layout.inputs[0])[0] if layout.inputs else n
        assert inputs_from == n  # inputs come after the neurons in the global index space
        kept = int(indptr[n])  # the neurons' own synapses, rows 0..n-1
        new_indptr = np.concatenate([indptr[:n + 1], np.full(layout.n_total - n, kept, dtype=np.int64),
                                     kept + np.arange(1, n + 1, dtype=np.int64)])
        new_indices = np.concatenate([indices[:kept], np.arange(n, dtype=np.int32)])
        new_weights = np.concatenate([weights[:kept], np.ones(n)])
        own = delays[:kept] if len(delays) else np.full(kept, delay, dtype=np.int32)
        new_delays = np.concatenate([own, np.zeros(n, dtype=np.int32)]).astype(np.int32)
        fanout = np.diff(indptr).astype(np.int64)
        return cls(tuple(projections), (new_indptr, new_indices, new_weights, new_delays, 0, n_slots), fanout, n)

    def arrivals(self, events: list[Mapping[str, InputEvents]], steps: int) -> tuple[np.ndarray, np.ndarray]:
        """What reaches each neuron at each step, per sample ``[samples, steps, n_neurons]``
        (the events of step ``t - delay`` through each projection), and per sample whether
        that holds it: ``False`` for a sample whose events are not all single events of
        value 1 (its rows are then to be ignored).

        Each event adds its source's row of the dense weights (``add_input_rows``): the
        events' raster times those weights, bit for bit (any order of the additions gives
        the same exact sums: see the class), without the products of the raster's zeros
        (mnist_mlp's rate-coded pixels send in ~1/3 of the steps: 1.4x less CPU than
        building the raster and its float64 matrix product, measured under load)."""
        n_samples = len(events)
        arrived = np.zeros((n_samples, steps, self.n_neurons), dtype=np.float64)
        ok = np.ones(n_samples, dtype=bool)
        for k, ev in enumerate(events):
            for name, _, dense, delay, lo in self.projections:
                e = ev[name]
                if not add_input_rows(np.asarray(e.step_ptr, dtype=np.int64), np.asarray(e.indices, dtype=np.int64),
                                      np.asarray(e.values, dtype=np.float64), dense, delay, lo, arrived[k]):
                    ok[k] = False
                    break
        return arrived, ok

    def input_fanout(self, events: Mapping[str, InputEvents], steps: int) -> int:
        """The synaptic events the inputs' own events make (each event's fan-out)."""
        total = 0
        seen = set()
        for name, offset, *_ in self.projections:
            if name in seen:
                continue
            seen.add(name)
            e = events[name]
            end = int(e.step_ptr[steps])
            total += int(self.fanout[np.asarray(e.indices[:end], dtype=np.int64) + offset].sum())
        return total


def _exact_sums(csr: tuple, reached: np.ndarray, n: int) -> bool:
    """Whether every sum a reached neuron's input slot can hold is exact in float64 (see
    :class:`_DenseInputs`)."""
    indptr, indices, weights, delays, _, _ = csr
    into = reached[indices.astype(np.int64)]  # the synapses into the reached neurons, from anyone
    w = weights[into]
    nonzero = w[w != 0]
    if nonzero.size == 0:
        return True
    if not np.all(np.isfinite(nonzero)):
        return False
    mantissa, exponent = np.frexp(nonzero)  # w = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    as_int = np.abs(mantissa) * 2.0 ** 53  # a whole number: w = as_int * 2**(exponent - 53)
    v = as_int.astype(np.int64)
    low = (v & -v).astype(np.float64)  # the lowest set bit of each
    q = int(np.min(exponent - 53 + np.log2(low).astype(np.int64)))
    per_neuron = np.bincount(indices[into].astype(np.int64), weights=np.abs(w), minlength=n)
    # a slot gets one event per source and step, from the steps its synapses' delays reach back to
    reach = len(np.unique(delays[into])) if len(delays) else 1
    return bool(reach * per_neuron.max() < 2.0 ** (q + 53))


# -- layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where each population sits in the global index space (neurons, then inputs)."""

    offsets: Mapping[str, tuple[int, int]]
    neurons: tuple[str, ...]
    inputs: tuple[str, ...]
    n_neurons: int
    n_total: int

    @classmethod
    def of(cls, network: Network) -> "_Layout":
        neurons: list[str] = []
        inputs: list[str] = []
        for name, pop in network.populations.items():
            if pop.is_input:
                inputs.append(name)
            elif pop.neuron is not None:
                neurons.append(name)
            else:
                raise UsageError(f"population '{name}' has neither a neuron model nor an encoder",
                                 where=f"population '{name}'")
        offsets: dict[str, tuple[int, int]] = {}
        at = 0
        for name in neurons + inputs:
            size = network.populations[name].size
            offsets[name] = (at, at + size)
            at += size
        n_neurons = offsets[neurons[-1]][1] if neurons else 0
        return cls(offsets, tuple(neurons), tuple(inputs), n_neurons, at)

    def span(self, name: str) -> tuple[int, int]:
        return self.offsets[name]


def _neuron_params(network: Network, layout: _Layout) -> tuple[np.ndarray, ...]:
    """Per-neuron float64 alpha, beta, threshold, bias; int8 reset; int64 refractory; bool spiking."""
    n = layout.n_neurons
    alpha = np.zeros(n, dtype=np.float64)
    beta = np.zeros(n, dtype=np.float64)
    threshold = np.zeros(n, dtype=np.float64)
    bias = np.zeros(n, dtype=np.float64)
    reset = np.zeros(n, dtype=np.int8)
    refractory = np.zeros(n, dtype=np.int64)
    spiking = np.zeros(n, dtype=np.bool_)
    for name in layout.neurons:
        pop = network.populations[name]
        model = pop.neuron
        assert model is not None  # _Layout put only neuron populations here
        lo, hi = layout.span(name)
        for field_name, out in (("alpha", alpha), ("beta", beta),
                                ("threshold", threshold), ("bias", bias)):
            values = as_array(getattr(model, field_name), pop.size, np.float64)
            if values.size != pop.size:
                raise UsageError(f"population '{name}': {field_name} has {values.size} values, "
                                 f"the population has {pop.size} neurons",
                                 where=f"population '{name}'",
                                 hint="give one value per neuron, or a single number")
            out[lo:hi] = values
        if model.reset not in _RESET_CODES:
            raise UsageError(f"population '{name}': unknown reset '{model.reset}'",
                             hint=did_you_mean(model.reset, _RESET_CODES))
        if model.refractory_steps < 0:
            raise UsageError(f"population '{name}': refractory_steps must be >= 0, "
                             f"got {model.refractory_steps}")
        reset[lo:hi] = _RESET_CODES[model.reset]
        refractory[lo:hi] = model.refractory_steps
        spiking[lo:hi] = model.spiking
    return alpha, beta, threshold, bias, reset, refractory, spiking


# -- synapses -------------------------------------------------------------------------


def _global_csr(network: Network, layout: _Layout, synapses: Mapping[str, Synapses]) -> tuple:
    """One CSR by global presynaptic index: (indptr, indices, weights, delays, delay, n_slots).

    ``delays`` is empty when every synapse shares the one extra delay ``delay``.
    """
    parts: list[tuple[int, int, Synapses]] = []
    for proj in network.projections:
        syn = synapses.get(proj.name)
        if syn is None:
            raise UsageError(f"no synapses for projection '{proj.name}'",
                             hint="pass the lowering of this network (lower(network))")
        for role, pop_name in (("source", proj.pre), ("target", proj.post)):
            if pop_name not in network.populations:
                raise UsageError(f"projection '{proj.name}': {role} population '{pop_name}' "
                                 "does not exist",
                                 hint=did_you_mean(pop_name, network.populations))
        if proj.post in layout.inputs:
            raise UsageError(f"projection '{proj.name}' targets input population '{proj.post}'",
                             hint="inputs only emit events; connect to a neuron population")
        pre_size = network.populations[proj.pre].size
        post_size = network.populations[proj.post].size
        if (syn.n_pre, syn.n_post) != (pre_size, post_size) or len(syn.indptr) != pre_size + 1:
            raise UsageError(f"synapses of projection '{proj.name}' are {syn.n_pre} -> {syn.n_post}, "
                             f"the populations are {pre_size} -> {post_size}",
                             hint="lower this network again")
        if syn.max_delay < 0 or (syn.delays is not None and len(syn.delays) and syn.delays.min() < 0):
            raise UsageError(f"projection '{proj.name}' has a negative delay")
        parts.append((layout.span(proj.pre)[0], layout.span(proj.post)[0], syn))

    n_total = layout.n_total
    counts = np.zeros(n_total, dtype=np.int64)
    for pre_off, _, syn in parts:
        counts[pre_off:pre_off + syn.n_pre] += np.diff(syn.indptr).astype(np.int64)
    indptr = np.zeros(n_total + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    weights = np.empty(nnz, dtype=np.float64)

    # One extra delay shared by every synapse lets the kernel skip the delay array.
    seen: set[int] = set()
    for _, _, syn in parts:
        if syn.n_synapses == 0:
            continue
        if syn.delays is None:
            seen.add(int(syn.delay))
        else:
            seen.update({int(syn.delays.min()), int(syn.delays.max())})
    uniform = len(seen) <= 1
    delay = seen.pop() if uniform and seen else 0
    delays = np.empty(0 if uniform else nnz, dtype=np.int32)
    max_delay = max((syn.max_delay for _, _, syn in parts if syn.n_synapses), default=0)

    # Where each row's next synapse goes: rows fill up projection after projection.
    fill = indptr[:-1].copy()
    for pre_off, post_off, syn in parts:
        row_counts = np.diff(syn.indptr).astype(np.int64)
        rows = slice(pre_off, pre_off + syn.n_pre)
        local = np.arange(syn.n_synapses, dtype=np.int64) - np.repeat(syn.indptr[:-1].astype(np.int64),
                                                                      row_counts)
        dest = np.repeat(fill[rows], row_counts) + local
        indices[dest] = syn.indices.astype(np.int64) + post_off
        weights[dest] = syn.weights
        if not uniform:
            delays[dest] = syn.delay_array()
        fill[rows] += row_counts
    return indptr, indices, weights, delays, delay, max_delay + 2


# -- inputs ---------------------------------------------------------------------------


def _truncate(ev: InputEvents, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times int64, indices int64, values float64) of the events before ``steps``, sorted."""
    end = int(ev.step_ptr[steps])
    times = np.repeat(np.arange(steps, dtype=np.int64), np.diff(ev.step_ptr[:steps + 1]))
    indices = np.asarray(ev.indices[:end], dtype=np.int64)
    values = np.asarray(ev.values[:end], dtype=np.float64)
    # Within a step the CSR needs no order; the result lists spikes by index.
    order = _sorting(indices, times)
    if order is None:
        return times, indices, values
    return times[order], indices[order], values[order]


def _sorting(minor: np.ndarray, major: np.ndarray) -> np.ndarray | None:
    """``np.lexsort((minor, major))``, or ``None`` when that order is the order they have
    (a stable sort leaves sorted keys where they are; an encoder's events mostly are)."""
    if major.size < 2:
        return None
    step = np.diff(major)
    if bool(np.all((step > 0) | ((step == 0) & (np.diff(minor) >= 0)))):
        return None
    return np.lexsort((minor, major))


def _global_events(layout: _Layout, steps: int,
                   events: Mapping[str, InputEvents]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All inputs' events as one CSR by step over global indices (ptr, index, value)."""
    t_parts = [np.zeros(0, dtype=np.int64)]
    g_parts = [np.zeros(0, dtype=np.int64)]
    v_parts = [np.zeros(0, dtype=np.float64)]
    for name, ev in events.items():
        times, indices, values = _truncate(ev, steps)
        t_parts.append(times)
        g_parts.append(indices + layout.span(name)[0])
        v_parts.append(values)
    times = np.concatenate(t_parts)
    gidx = np.concatenate(g_parts)
    vals = np.concatenate(v_parts)
    order = _sorting(gidx, times)
    ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(times, minlength=steps).astype(np.int64), out=ptr[1:])
    if order is not None:
        gidx, vals = gidx[order], vals[order]
    return ptr, np.ascontiguousarray(gidx, dtype=np.int64), np.ascontiguousarray(vals, dtype=np.float64)


def _input_spikes(ev: InputEvents, steps: int) -> SpikeEvents:
    times, indices, _ = _truncate(ev, steps)
    return SpikeEvents(times=times, indices=indices, n=ev.n, is_input=True)


# -- probes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Probes:
    """Which neurons the kernel records, into which preallocated arrays."""

    wanted: Mapping[str, tuple[str, ...]]
    layout: _Layout
    steps: int
    v_idx: np.ndarray
    i_idx: np.ndarray
    s_col: np.ndarray
    v_out: np.ndarray
    i_out: np.ndarray
    s_out: np.ndarray

    @classmethod
    def of(cls, network: Network, layout: _Layout, steps: int, samples: int | None = None) -> "_Probes":
        """The probes of one run, or with ``samples`` of that many runs (each array with
        a first axis by sample: :meth:`sample` gives one run's)."""
        wanted: dict[str, tuple[str, ...]] = {}
        for probe in network.probes:
            if probe.population not in network.populations:
                raise UsageError(f"a probe names population '{probe.population}', which the "
                                 "network does not have",
                                 hint=did_you_mean(probe.population, network.populations))
            for var in probe.variables:
                if var not in PROBE_VARIABLES:
                    raise UsageError(f"cannot probe '{var}' of '{probe.population}'",
                                     hint=did_you_mean(var, PROBE_VARIABLES))
                if var != "spikes" and probe.population in layout.inputs:
                    raise UsageError(f"cannot probe the {var} of input '{probe.population}'; "
                                     "inputs have only spikes")
            have = wanted.get(probe.population, ())
            wanted[probe.population] = have + tuple(v for v in probe.variables if v not in have)
        ranges = {var: [np.arange(*layout.span(p), dtype=np.int64) for p, vs in wanted.items()
                        if var in vs and p not in layout.inputs] for var in PROBE_VARIABLES}
        cols = {var: np.concatenate(r) if r else np.zeros(0, dtype=np.int64)
                for var, r in ranges.items()}
        s_col = np.full(layout.n_neurons, -1, dtype=np.int64)
        s_col[cols["spikes"]] = np.arange(cols["spikes"].size, dtype=np.int64)
        lead = () if samples is None else (samples,)
        return cls(
            wanted=wanted, layout=layout, steps=steps,
            v_idx=cols["voltage"], i_idx=cols["current"], s_col=s_col,
            v_out=np.zeros((*lead, steps, cols["voltage"].size), dtype=np.float64),
            i_out=np.zeros((*lead, steps, cols["current"].size), dtype=np.float64),
            s_out=np.zeros((*lead, steps, cols["spikes"].size), dtype=np.bool_),
        )

    def sample(self, b: int) -> "_Probes":
        """Run ``b``'s probes, of probes made for several runs."""
        return dataclasses.replace(self, v_out=self.v_out[b], i_out=self.i_out[b], s_out=self.s_out[b])

    def split(self, spikes: Mapping[str, SpikeEvents]) -> dict[str, dict[str, np.ndarray]]:
        """``traces[pop][var]``, one contiguous ``(steps, n)`` array each."""
        at = {var: 0 for var in PROBE_VARIABLES}
        big = {"voltage": self.v_out, "current": self.i_out, "spikes": self.s_out}
        traces: dict[str, dict[str, np.ndarray]] = {}
        for pop, variables in self.wanted.items():
            lo, hi = self.layout.span(pop)
            n = hi - lo
            for var in PROBE_VARIABLES:
                if var not in variables:
                    continue
                if pop in self.layout.inputs:
                    ev = spikes[pop]
                    raster = np.zeros((self.steps, n), dtype=np.bool_)
                    raster[ev.times, ev.indices] = True
                    traces.setdefault(pop, {})[var] = raster
                    continue
                col = at[var]
                traces.setdefault(pop, {})[var] = np.ascontiguousarray(big[var][:, col:col + n])
                # Columns were laid out in the order of ``wanted``, as walked here.
                at[var] = col + n
        return traces


def cannot_simulate(network: Network) -> UsageError | None:
    """Why the float model cannot compute ``network`` (the error :func:`simulate` raises),
    or ``None``. A graded network (:mod:`.reference_graded`) with a learning rule, or with a
    ``max_pool`` projection that shares its target, is not computed."""
    from ..ir.connectors import Pool2d

    if not is_graded(network):
        return None
    for proj in network.projections:
        if proj.learning is not None:
            return UsageError(f"projection '{proj.name}': the float reference does not learn in a graded "
                              "network (events with values or max pooling)", where=f"projection '{proj.name}'",
                              hint="remove the learn clause, or the native akida(...) activations")
        if isinstance(proj.connector, Pool2d) and proj.connector.kind == "max":
            others = [p.name for p in network.projections if p.post == proj.post and p.name != proj.name]
            if others:
                return UsageError(f"projection '{proj.name}': a max_pool projection must be the only one into "
                                  f"'{proj.post}', which also gets {', '.join(others)}",
                                  where=f"projection '{proj.name}'", hint="pool into a population of its own")
    return None
