"""The float reference of a graded network: events that carry a value, max pooling.

:func:`neurocomp.emulator.reference.simulate` comes here when a network has what an
Akida layer computes and the binary-spike kernel does not: a population that pins
``native akida(act_bits = ..., act_step = ...)`` (graded activations) or a
``max_pool`` projection. This is the ideal, real-valued form of those layers
(``docs/chips/akida_neuron.md``, "The float reference of a graded network"); an Akida
run is its quantized image.

The step is :mod:`.reference`'s (the same order of operations, delays and probes), with
three differences:

* what a neuron sends: a population with ``native akida(act_bits = b, act_step = S)``
  sends ``a = clip(ceil((V - threshold) / S), 0, 2^b - 1)`` (in float: ``V`` is not
  rounded), when ``a > 0``; any other spiking population sends 1 when ``V > threshold``;
  a non-spiking (``LI``) population that projects somewhere sends its potential ``V``
  when ``V != 0`` (Akida's activation-off layer). A neuron that sent is reset as its model
  says (so a probe reads 0 after an ``LIF`` event, as the chip shows it);
* an event of value ``a`` through a synapse of weight ``w`` adds ``w · a``;
* a neuron fed by a ``max_pool`` projection takes, of what arrives for a step, the
  largest ``w · a`` (from 0: pooled values are at least 0, as the quantizer requires)
  instead of the sum; such a projection must be its target's only one.

"No state across frames" is the network's own ``beta = 0`` (and ``alpha = 0``): this
module runs whatever ``alpha``/``beta`` it is given, like the binary reference.
The work counters count one synaptic event per synapse an event crosses, whatever its
value. Plastic projections are not run here (a graded network has none).
"""

from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np

from ..diagnostics import UsageError
from ..ir.connectors import Pool2d
from ..ir.network import Network
from ..ir.result import RunResult, SpikeEvents
from ..ir.synapses import InputEvents, Synapses
from ..ir.values import ArrayValue
from .kernels.reference_kernel import RESET_SUBTRACT, RESET_ZERO

__all__ = ["is_graded", "simulate_graded", "activation_of"]

_NATIVE = "akida"  # the chip whose layers these are (its ``native`` block names them)


def is_graded(network: Network) -> bool:
    """Whether ``network`` has graded activations or a max pool (then this module runs it)."""
    return any("act_bits" in pop.native.get(_NATIVE, {}) or "act_step" in pop.native.get(_NATIVE, {})
               for pop in network.populations.values()) or \
        any(_is_max(proj) for proj in network.projections)


def _is_max(proj: Any) -> bool:
    return isinstance(proj.connector, Pool2d) and proj.connector.kind == "max"


def _per_neuron(value: Any, n: int, where: str, key: str) -> np.ndarray:
    arr = np.asarray(value.values if isinstance(value, ArrayValue) else value, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        arr = np.full(n, arr[0])
    if arr.size != n:
        raise UsageError(f"{where}: native {_NATIVE} {key} has {arr.size} values, expected 1 or {n}",
                         where=where, hint="give one value per neuron, or a single number")
    return arr


def activation_of(pop: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(levels, step)`` float64 per neuron of a graded population (``levels = 2^b - 1``),
    or ``None`` for a population that sends binary spikes or its potential."""
    pins = pop.native.get(_NATIVE, {})
    if not pop.neuron.spiking or not ({"act_bits", "act_step"} & set(pins)):
        return None
    where = f"population '{pop.name}'"
    bits = _per_neuron(pins.get("act_bits", 1), pop.size, where, "act_bits")
    step = _per_neuron(pins.get("act_step", 1), pop.size, where, "act_step")
    if np.any(bits < 1) or np.any(bits != np.rint(bits)) or np.any(step <= 0):
        raise UsageError(f"{where}: native {_NATIVE} act_bits must be whole numbers >= 1 and act_step > 0",
                         where=where)
    return 2.0 ** bits - 1.0, step


def simulate_graded(network: Network, steps: int, events: Mapping[str, InputEvents],
                    synapses: Mapping[str, Synapses], probes: Any, layout: Any, params: tuple) -> RunResult:
    """Run a graded network (see the module docstring); the arguments are
    :func:`~neurocomp.emulator.reference.simulate`'s, already checked and laid out."""
    alpha, beta, threshold, bias, reset, refractory, spiking = params
    n = layout.n_neurons
    # per neuron: levels (0 = binary spike), step, and whether an LI neuron sends its V
    levels = np.zeros(n)
    act_step = np.ones(n)
    sends_v = np.zeros(n, dtype=bool)
    has_targets = {proj.pre for proj in network.projections}
    for name in layout.neurons:
        lo, hi = layout.span(name)
        pop = network.populations[name]
        act = activation_of(pop)
        if act is not None:
            levels[lo:hi], act_step[lo:hi] = act
        sends_v[lo:hi] = (not pop.neuron.spiking) and name in has_targets

    # Per projection: its CSR with global indices and delays, for delivering events.
    routes = []
    max_delay = 0
    for proj in network.projections:
        syn = synapses[proj.name]
        delays = syn.delay_array().astype(np.int64)
        max_delay = max(max_delay, int(delays.max()) if delays.size else 0)
        routes.append((layout.span(proj.pre), layout.span(proj.post)[0], _is_max(proj),
                       np.asarray(syn.indptr, dtype=np.int64), np.asarray(syn.indices, dtype=np.int64),
                       np.asarray(syn.weights, dtype=np.float64), delays))
    slots = max_delay + 2
    ring = np.zeros((slots, layout.n_total))
    in_events = {name: layout.span(name) for name in layout.inputs}

    v = np.zeros(n)
    cur = np.zeros(n)
    refr = np.zeros(n, dtype=np.int64)
    out_t: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_a: list[np.ndarray] = []
    syn_events = 0
    start = time.perf_counter()
    for t in range(steps):
        row = t % slots
        x = ring[row, :n].copy()
        ring[row] = 0.0
        cur = alpha * cur + x
        resting = refr > 0
        v = np.where(resting, 0.0, beta * v + cur + bias)
        refr = np.where(resting, refr - 1, refr)
        a = np.zeros(n)
        free = ~resting
        graded = free & spiking & (levels > 0)
        a[graded] = np.clip(np.ceil((v[graded] - threshold[graded]) / act_step[graded]), 0.0, levels[graded])
        binary = free & spiking & (levels == 0)
        a[binary] = (v[binary] > threshold[binary]).astype(np.float64)
        a[sends_v] = v[sends_v]
        fired = np.flatnonzero(a != 0)
        spiked = fired[spiking[fired]]
        v[spiked[reset[spiked] == RESET_ZERO]] = 0.0
        sub = spiked[reset[spiked] == RESET_SUBTRACT]
        v[sub] -= threshold[sub]
        refr[spiked] = refractory[spiked]
        probes.v_out[t] = v[probes.v_idx]
        probes.i_out[t] = cur[probes.i_idx]
        cols = probes.s_col[fired]
        probes.s_out[t, cols[cols >= 0]] = True
        out_t.append(np.full(fired.size, t, dtype=np.int64))
        out_j.append(fired)
        out_a.append(a[fired])
        # what is sent now: the neurons' events, then the inputs' events of step t
        sent = np.zeros(layout.n_total)
        sent[fired] = a[fired]
        for name, (lo, _) in in_events.items():
            ev = events[name]
            k0, k1 = int(ev.step_ptr[t]), int(ev.step_ptr[t + 1])
            np.add.at(sent, lo + np.asarray(ev.indices[k0:k1], dtype=np.int64),
                      np.asarray(ev.values[k0:k1], dtype=np.float64))
        for (lo, hi), post_off, pools, ptr, idx, w, dl in routes:
            src = np.flatnonzero(sent[lo:hi])
            if src.size == 0:
                continue
            counts = ptr[src + 1] - ptr[src]
            ks = np.repeat(ptr[src] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
            syn_events += ks.size
            dest = ((t + 1 + dl[ks]) % slots, post_off + idx[ks])
            contrib = w[ks] * np.repeat(sent[lo + src], counts)
            if pools:
                np.maximum.at(ring, dest, contrib)
            else:
                np.add.at(ring, dest, contrib)
    wall_s = time.perf_counter() - start

    spike_t = np.concatenate(out_t) if out_t else np.zeros(0, dtype=np.int64)
    spike_j = np.concatenate(out_j) if out_j else np.zeros(0, dtype=np.int64)
    spike_a = np.concatenate(out_a) if out_a else np.zeros(0)
    spikes: dict[str, SpikeEvents] = {}
    for name in network.populations:
        lo, hi = layout.span(name)
        if name in layout.inputs:
            ev = events[name]
            end = int(ev.step_ptr[steps])
            times = np.repeat(np.arange(steps, dtype=np.int64), np.diff(ev.step_ptr[:steps + 1]))
            idx = np.asarray(ev.indices[:end], dtype=np.int64)
            order = np.lexsort((idx, times))
            spikes[name] = SpikeEvents(times=times[order], indices=idx[order], n=hi - lo, is_input=True,
                                       values=np.asarray(ev.values[:end], dtype=np.float64)[order])
        else:
            mine = (spike_j >= lo) & (spike_j < hi)
            spikes[name] = SpikeEvents(times=spike_t[mine], indices=spike_j[mine] - lo, n=hi - lo,
                                       values=spike_a[mine])
    return RunResult(network=network.name, steps=steps, dt_ms=float(network.dt_ms), spikes=spikes,
                     traces=probes.split(spikes), wall_s=wall_s, synaptic_events=int(syn_events),
                     neuron_updates=n * steps)
