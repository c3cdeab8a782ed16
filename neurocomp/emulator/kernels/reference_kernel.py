"""The float64 reference kernel: the whole run of current-based neurons in one Numba call.

Everything arrives as flat arrays in one global index space: neurons first
(``0 .. n_neurons-1``), then input sources (``n_neurons .. n_total-1``). Synapses are
one CSR by presynaptic (global) index with postsynaptic neuron indices; future input is
a ring buffer of ``n_slots`` rows of ``n_neurons`` accumulators, row ``t % n_slots``
holding what arrives at step ``t``.

Order of operations within step ``t`` (the same as :mod:`neurocomp.emulator.reference`
and ``docs/models.md`` state)::

    1. x = ring[t % n_slots]; that row is cleared for step t + n_slots
    2. for each neuron j, in index order:
           I[j] = alpha[j]·I[j] + x[j]
           if refractory[j] > 0:  V[j] = 0;  refractory[j] -= 1
           else:
               V[j] = beta[j]·V[j] + I[j] + bias[j]
               if spiking[j] and V[j] > threshold[j]:
                   record the spike (t, j); reset V[j] (zero / subtract / none);
                   refractory[j] = refractory_steps[j];
                   add weight to ring[(t + 1 + delay) % n_slots, target] for every
                   synapse of j
    3. probes record V and I (after any reset) and the spike flags of step t
    4. for each input event (g, value) of step t, in the order given: add
       weight · value to ring[(t + 1 + delay) % n_slots, target] for every synapse of g

Because ``n_slots >= max_delay + 2``, the rows written in steps 2 and 4 are never the
row being read, so scattering a spike as soon as it happens is safe.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["RESET_ZERO", "RESET_SUBTRACT", "RESET_NONE", "run_reference", "run_reference_arrived", "add_input_rows"]

RESET_ZERO = 0
RESET_SUBTRACT = 1
RESET_NONE = 2


@njit(cache=True, inline="always")
def _scatter(ring, t, n_slots, lo, hi, indices, weights, delays, delay, scale):
    """Add ``scale · weights[k]`` into the slot of step ``t + 1 + delay`` for ``k`` in ``lo:hi``."""
    base = (t + 1) % n_slots
    if delays.shape[0] == 0:
        # One delay for every synapse: the slot is fixed for the whole row.
        slot = base + delay
        if slot >= n_slots:
            slot -= n_slots
        row = ring[slot]
        if scale == 1.0:
            for k in range(lo, hi):
                row[indices[k]] += weights[k]
        else:
            for k in range(lo, hi):
                row[indices[k]] += weights[k] * scale
    else:
        for k in range(lo, hi):
            # base + delays[k] < 2·n_slots, so one subtraction replaces the modulo.
            slot = base + delays[k]
            if slot >= n_slots:
                slot -= n_slots
            ring[slot, indices[k]] += weights[k] * scale


@njit(cache=True)
def _grow(a, n):
    """A copy of ``a`` with twice the room, its first ``n`` entries kept."""
    b = np.empty(2 * a.shape[0], dtype=a.dtype)
    b[:n] = a[:n]
    return b


@njit(cache=True)
def run_reference(steps, alpha, beta, threshold, bias, reset_mode, refractory_steps, spiking,
                  indptr, indices, weights, delays, delay, n_slots,
                  in_ptr, in_idx, in_val,
                  v_probe, i_probe, s_col, v_out, i_out, s_out):
    """Run ``steps`` steps from rest (V = I = 0, nobody refractory).

    Parameters
    ----------
    steps : int
        Number of steps to run.
    alpha, beta, threshold, bias : numpy.ndarray
        float64 ``(n_neurons,)``: per-neuron synaptic decay, membrane decay, threshold
        and bias (already per step).
    reset_mode : numpy.ndarray
        int8 ``(n_neurons,)``: ``RESET_ZERO``, ``RESET_SUBTRACT`` or ``RESET_NONE``.
    refractory_steps : numpy.ndarray
        int64 ``(n_neurons,)``: steps a neuron is held at 0 after it spikes.
    spiking : numpy.ndarray
        bool ``(n_neurons,)``: false for ``li`` neurons, which never spike.
    indptr : numpy.ndarray
        int64 ``(n_total + 1,)``: CSR row pointers by global presynaptic index.
    indices : numpy.ndarray
        int32 ``(n_synapses,)``: postsynaptic neuron index.
    weights : numpy.ndarray
        float64 ``(n_synapses,)``.
    delays : numpy.ndarray
        int32 ``(n_synapses,)`` extra delay per synapse, or empty when every synapse
        has the extra delay ``delay``.
    delay : int
        The shared extra delay when ``delays`` is empty.
    n_slots : int
        Rows of the ring buffer, at least ``max_delay + 2``.
    in_ptr : numpy.ndarray
        int64 ``(steps + 1,)``: input events of step ``t`` are ``in_ptr[t]:in_ptr[t+1]``.
    in_idx : numpy.ndarray
        int64: global index of the emitting input source.
    in_val : numpy.ndarray
        float64: value emitted (1.0 for a spike).
    v_probe, i_probe : numpy.ndarray
        int64: neurons whose voltage / current is recorded, one column each.
    s_col : numpy.ndarray
        int64 ``(n_neurons,)``: column of ``s_out`` recording each neuron's spikes, or -1.
    v_out, i_out : numpy.ndarray
        float64 ``(steps, len(v_probe))`` and ``(steps, len(i_probe))``, written.
    s_out : numpy.ndarray
        bool ``(steps, n_spike_probes)``, zeroed by the caller, written.

    Returns
    -------
    spike_times, spike_neurons : numpy.ndarray
        int64, every neuron spike in order of time, then index.
    synaptic_events : int
        Sum over every spike and input event of its fan-out.
    """
    n = alpha.shape[0]
    v = np.zeros(n, dtype=np.float64)
    cur = np.zeros(n, dtype=np.float64)
    refr = np.zeros(n, dtype=np.int64)
    ring = np.zeros((n_slots, n), dtype=np.float64)
    out_t = np.empty(max(1024, 4 * n), dtype=np.int64)
    out_j = np.empty(max(1024, 4 * n), dtype=np.int64)
    # int64, not the literal 0: typed as Literal[int](0) first, the call below compiled
    # _steps a second time for those literals (~8 s of CPU on a cold cache).
    n_out = np.int64(0)
    syn_events = np.int64(0)
    t = np.int64(0)
    while t < steps:
        # Growing the spike buffers here, not inside the step loop, keeps that loop
        # free of array reallocation (which costs Numba reference counting on every
        # access: 10x slower when it was inline).
        if out_t.shape[0] - n_out < n:
            out_t = _grow(out_t, n_out)
            out_j = _grow(out_j, n_out)
        t, n_out, syn_events = _steps(
            t, steps, alpha, beta, threshold, bias, reset_mode, refractory_steps, spiking,
            indptr, indices, weights, delays, delay, n_slots, in_ptr, in_idx, in_val,
            v_probe, i_probe, s_col, v_out, i_out, s_out,
            v, cur, refr, ring, out_t, out_j, n_out, syn_events)
    return out_t[:n_out].copy(), out_j[:n_out].copy(), syn_events


@njit(cache=True)
def _steps(t, steps, alpha, beta, threshold, bias, reset_mode, refractory_steps, spiking,
           indptr, indices, weights, delays, delay, n_slots, in_ptr, in_idx, in_val,
           v_probe, i_probe, s_col, v_out, i_out, s_out,
           v, cur, refr, ring, out_t, out_j, n_out, syn_events):
    """Steps ``t, t+1, ...`` until ``steps``, or until the spike buffers might overflow.

    A step emits at most ``n`` spikes, so a step starts only while that much room is
    left. Returns the next step to run, the spikes recorded and the synaptic events.
    """
    n = alpha.shape[0]
    cap = out_t.shape[0]
    while t < steps and cap - n_out >= n:
        x = ring[t % n_slots]
        for j in range(n):
            cur[j] = alpha[j] * cur[j] + x[j]
            x[j] = 0.0
            if refr[j] > 0:
                v[j] = 0.0
                refr[j] -= 1
                continue
            vj = beta[j] * v[j] + cur[j] + bias[j]
            if spiking[j] and vj > threshold[j]:
                out_t[n_out] = t
                out_j[n_out] = j
                n_out += 1
                mode = reset_mode[j]
                if mode == RESET_ZERO:
                    vj = 0.0
                elif mode == RESET_SUBTRACT:
                    vj = vj - threshold[j]
                refr[j] = refractory_steps[j]
                if s_col[j] >= 0:
                    s_out[t, s_col[j]] = True
                lo = indptr[j]
                hi = indptr[j + 1]
                syn_events += hi - lo
                _scatter(ring, t, n_slots, lo, hi, indices, weights, delays, delay, 1.0)
            v[j] = vj
        for p in range(v_probe.shape[0]):
            v_out[t, p] = v[v_probe[p]]
        for p in range(i_probe.shape[0]):
            i_out[t, p] = cur[i_probe[p]]
        for e in range(in_ptr[t], in_ptr[t + 1]):
            g = in_idx[e]
            lo = indptr[g]
            hi = indptr[g + 1]
            syn_events += hi - lo
            _scatter(ring, t, n_slots, lo, hi, indices, weights, delays, delay, in_val[e])
        t += 1
    return t, n_out, syn_events


@njit(cache=True)
def run_reference_arrived(steps, alpha, beta, threshold, bias, reset_mode, refractory_steps, spiking,
                          indptr, indices, weights, delays, delay, n_slots, arrived,
                          v_probe, i_probe, s_col, v_out, i_out, s_out):
    """:func:`run_reference` of several samples from rest, one after another, whose
    inputs are given as what reaches each neuron per step: ``arrived[b, t, j]`` is what
    sample ``b``'s inputs add to neuron ``j``'s slot of step ``t + 1`` once step ``t``'s
    neurons have updated (its events of step ``t``). Bit for bit the run of
    :func:`run_reference` with one input event per nonzero ``arrived[b, t, j]``, through
    a synapse of weight 1 and delay 0 into ``j``, in order of ``t`` then ``j``: that run
    adds them to the slot after every neuron's own contribution to it, as here (zeros
    are left out, as they are no events).

    ``v_out``, ``i_out``, ``s_out`` are per sample (``[b, steps, columns]``). The other
    arguments are :func:`run_reference`'s (its input events aside).

    Returns
    -------
    spike_times, spike_neurons : numpy.ndarray
        int64, every sample's neuron spikes, sample after sample, each in order of time,
        then index.
    ends : numpy.ndarray
        int64 ``(samples + 1,)``: sample ``b``'s spikes are ``ends[b]:ends[b + 1]``.
    synaptic_events : numpy.ndarray
        int64 ``(samples,)``: per sample, the fan-out of its neurons' spikes (its input
        events' own are not counted).
    """
    n = alpha.shape[0]
    n_samples = arrived.shape[0]
    no_ptr = np.zeros(steps + 2, dtype=np.int64)  # no input events in _steps: they come through the slots
    no_idx = np.zeros(0, dtype=np.int64)
    no_val = np.zeros(0, dtype=np.float64)
    v = np.zeros(n, dtype=np.float64)
    cur = np.zeros(n, dtype=np.float64)
    refr = np.zeros(n, dtype=np.int64)
    ring = np.zeros((n_slots, n), dtype=np.float64)
    out_t = np.empty(max(1024, 4 * n), dtype=np.int64)
    out_j = np.empty(max(1024, 4 * n), dtype=np.int64)
    ends = np.zeros(n_samples + 1, dtype=np.int64)
    syn = np.zeros(n_samples, dtype=np.int64)
    n_out = np.int64(0)
    for b in range(n_samples):
        v[:] = 0.0
        cur[:] = 0.0
        refr[:] = 0
        ring[:, :] = 0.0
        syn_events = np.int64(0)
        t = np.int64(0)
        while t < steps:
            if t > 0:  # the inputs' events of step t - 1, after the neurons' own
                x = ring[t % n_slots]
                a = arrived[b, t - 1]
                for j in range(n):
                    if a[j] != 0.0:
                        x[j] += a[j]
            if out_t.shape[0] - n_out < n:
                out_t = _grow(out_t, n_out)
                out_j = _grow(out_j, n_out)
            t, n_out, syn_events = _steps(
                t, t + 1, alpha, beta, threshold, bias, reset_mode, refractory_steps, spiking,
                indptr, indices, weights, delays, delay, n_slots, no_ptr, no_idx, no_val,
                v_probe, i_probe, s_col, v_out[b], i_out[b], s_out[b],
                v, cur, refr, ring, out_t, out_j, n_out, syn_events)
        ends[b + 1] = n_out
        syn[b] = syn_events
    return out_t[:n_out].copy(), out_j[:n_out].copy(), ends, syn


@njit(cache=True)
def add_input_rows(step_ptr, indices, values, dense, delay, lo, out):
    """Add, for each input event of step ``t`` (CSR by step: ``step_ptr``, ``indices``,
    ``values``), its source's row of ``dense`` (``[sources, m]``) to
    ``out[t + delay, lo:lo + m]`` (``out`` is ``[steps, n]``; events whose ``t + delay``
    falls past it add nothing): the events' raster times ``dense``, without the raster
    and without the products of its zeros, when every event is a single event of value 1.

    Returns ``False`` (``out`` then partly written, to be ignored) as soon as an event
    has another value, a source sends twice in one step or lies outside ``dense``.
    """
    steps = out.shape[0]
    n_pre, m = dense.shape
    last = np.full(n_pre, -1, dtype=np.int64)  # the step each source last sent in
    for t in range(steps):
        for k in range(step_ptr[t], step_ptr[t + 1]):
            i = indices[k]
            if values[k] != 1.0 or i < 0 or i >= n_pre or last[i] == t:
                return False
            last[i] = t
    # summed in a contiguous buffer of their own, then added: ~3x faster than adding each
    # row into out's columns lo.. (which LLVM does not vectorise)
    acc = np.zeros((steps, m), dtype=np.float64)
    for t in range(steps - delay):
        for k in range(step_ptr[t], step_ptr[t + 1]):
            i = indices[k]
            for j in range(m):
                acc[t, j] += dense[i, j]
    for t in range(steps - delay):
        for j in range(m):
            out[t + delay, lo + j] += acc[t, j]
    return True
