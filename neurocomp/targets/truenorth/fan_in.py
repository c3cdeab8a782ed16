"""Fan-in splitting: a neuron with more sources than a core has axons, as partial sums.

A TrueNorth neuron listens to the axons of its own core only (256), so a neuron with more
distinct sources cannot be placed. TrueNorth programs are composed of networks of
cores (the Corelet paradigm: A. Amir et al., "Cognitive computing programming paradigm:
a Corelet language for composing networks of neurosynaptic cores", IJCNN 2013), and a
logical neuron with more sources than a core has axons becomes a tree of partial-sum
neurons (the compiler rule of neurocomp's reference notes on TrueNorth): the sum is
computed in pieces on several cores and added up in a
neuron that listens to them. neurocomp's scheme, per population ``P`` whose neurons need
more than ``limit`` sources:

* the sources of ``P`` (every (projection, source neuron) with a synapse into ``P``) are
  cut into ``K = ceil(sources / limit)`` consecutive groups of at most ``limit``, where
  ``limit`` is the core's axons, less one when ``P`` sends spikes (its splitter neurons
  listen to it on one axon of its own core);
* per group ``k`` two *partial-sum* populations of ``P``'s size: ``P_part{k}_exc`` takes
  the group's positive synapses, ``P_part{k}_inh`` the magnitudes of its negative ones;
  both are integrate-and-fire neurons with a threshold ``θ_p`` and a *subtracting* reset,
  so every unit of charge they receive is passed on, ``θ_p`` per spike, and what is left
  (less than ``θ_p``) waits for the next tick: charge is delayed, never dropped;
* ``P`` keeps its model and listens to its ``2K`` partial neurons one to one, with weight
  ``+θ_p`` from the excitatory ones and ``-θ_p`` from the inhibitory ones.

What it costs: ``2K`` partial neurons per neuron of ``P`` (cores), one tick of latency
(the partial neurons fire one tick after their input), and the charge each partial holds
back (less than ``θ_p`` each, released a tick or more later: a partial fires at most once
per tick, so an input above ``θ_p`` per tick is spread over the following ticks). The
compiler chooses ``θ_p`` just above ``θ / 2`` (``θ`` the threshold of ``P``; see
:data:`PARTIAL_THRESHOLD_FRACTION`): two quanta make a spike.

The limit of the scheme: a group whose input stays above ``θ_p`` per tick saturates its
partials (they fire every tick, the excess piles up until the potential saturates), and
when both the excitatory and the inhibitory partial of a group saturate the neuron hears
nothing of it. 600 dense inputs at 10 % per tick reach it. ``mnist_mlp`` does not lose
much to it: with groups of half or a quarter the size (twice or four times the partials'
throughput) its hidden layer fired as many spikes as with full groups (measured on the
bundled digits); its accuracy on TrueNorth (95.0 % against 97.0 % in float; 95.5 % with
quanta of exactly θ/2) is set by the 4 axon types of ``hidden->out`` (RMS weight error
28 %).

The float model of the network is unchanged: the reference simulation still runs the
network as written; only the quantized network carries the partial populations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np

from ...compiler.lower import lower_projection
from ...ir.connectors import OneToOne, Sparse
from ...ir.network import Network, NeuronModel, Population, Projection
from ...ir.synapses import Synapses
from ...ir.values import ArrayValue, as_array

__all__ = ["split_fan_in", "PARTIAL_THRESHOLD_FRACTION"]

#: ``θ_p = θ ·`` this: the quantum a partial-sum neuron passes on per spike. Just above one
#: half, so that two quanta *exceed* θ: the neuron fires on ``V > θ``, and with quanta of
#: exactly θ/2 it needed three (1.5·θ of charge per spike: ``mnist_mlp``'s hidden layer fired
#: 34 % fewer spikes than in float; with 0.5 + 1/64, 8 % fewer). 1/64 survives the rounding
#: of the quantum at every scale of at least 64 units per threshold.
PARTIAL_THRESHOLD_FRACTION = 0.5 + 1.0 / 64.0


def _sources(incoming: list[tuple[Projection, Synapses]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per synapse into the population: (projection index, source id over all incoming
    projections, target neuron, float weight)."""
    parts = [[], [], [], []]
    off = 0
    for i, (_, syn) in enumerate(incoming):
        pre = np.repeat(np.arange(syn.n_pre, dtype=np.int64), np.diff(syn.indptr))
        parts[0].append(np.full(pre.size, i, dtype=np.int64))
        parts[1].append(pre + off)
        parts[2].append(syn.indices.astype(np.int64))
        parts[3].append(syn.weights.astype(np.float64))
        off += syn.n_pre
    return tuple(np.concatenate(p) if p else np.zeros(0) for p in parts)  # type: ignore[return-value]


def max_fan_in(incoming: list[tuple[Projection, Synapses]], n_post: int) -> int:
    """The largest number of distinct sources one neuron of the population has."""
    _, src, post, _ = _sources(incoming)
    if src.size == 0:
        return 0
    pairs = np.unique(post * (int(src.max()) + 1) + src)
    return int(np.bincount(pairs // (int(src.max()) + 1), minlength=n_post).max())


def _splittable(pop: Population, incoming: list[tuple[Projection, Synapses]]) -> bool:
    model = pop.neuron
    return (model is not None and not pop.native and not any(p.native for p, _ in incoming)
            and bool(np.all(as_array(model.alpha, pop.size) == 0.0))
            and bool(np.all(as_array(model.threshold, pop.size) > 0.0)))


def split_fan_in(network: Network, synapses: Mapping[str, Synapses], limit: int
                 ) -> tuple[Network, dict[str, Synapses], list[str]]:
    """``network`` with every population whose neurons need more than ``limit`` sources
    computed through partial-sum populations (module docstring).

    Returns the network, its lowered synapses (the new projections lowered here) and one
    note per population split. A population with a synaptic current (``alpha > 0``),
    ``native`` pins or a threshold of 0 is left as it is (the partitioner then refuses
    it, as before).
    """
    syn = dict(synapses)
    pops: dict[str, Population] = {}
    projs: list[Projection] = list(network.projections)
    notes: list[str] = []
    senders = {p.pre for p in network.projections}
    for pop in network.populations.values():
        incoming = [(p, syn[p.name]) for p in network.projections if p.post == pop.name]
        # A neuron that sends spikes may need splitter neurons (one destination each),
        # which listen to it on one axon of its own core: keep that axon free.
        room = limit - 1 if pop.name in senders else limit
        if pop.is_input or not incoming or max_fan_in(incoming, pop.size) <= room \
                or not _splittable(pop, incoming):
            pops[pop.name] = pop
            continue
        limit_here = room
        proj_i, src, post, w = _sources(incoming)
        used = np.unique(src)
        k_groups = -(-used.size // limit_here)
        size = -(-used.size // k_groups)
        group_of = np.zeros(int(src.max()) + 1, dtype=np.int64)
        group_of[used] = np.arange(used.size) // size
        offsets = np.cumsum([0] + [s.n_pre for _, s in incoming])
        theta = as_array(pop.neuron.threshold, pop.size)
        theta_p = theta * PARTIAL_THRESHOLD_FRACTION
        partial_model = NeuronModel(family="if", threshold=float(theta_p[0]) if np.all(theta_p == theta_p[0])
                                    else theta_p, reset="subtract")
        combine: list[Projection] = []
        n_partials = 0
        for k in range(k_groups):
            for sign, word in ((1.0, "exc"), (-1.0, "inh")):
                sel = (group_of[src] == k) & (w * sign > 0)
                if not sel.any():
                    continue
                name = f"{pop.name}_part{k}_{word}"
                partial = Population(name=name, shape=(pop.size,), neuron=partial_model, span=pop.span)
                pops[name] = partial
                n_partials += 1
                for i, (proj, _) in enumerate(incoming):
                    s = sel & (proj_i == i)
                    if not s.any():
                        continue
                    pre = src[s] - offsets[i]
                    path = f"{getattr(proj.connector, 'path', proj.name)} (sources of part {k}, {word})"
                    delays = syn[proj.name].delay_array()
                    # The synapses of ``incoming[i]`` in CSR order; ``s`` picks some of them.
                    d = delays[s[proj_i == i]] if delays.size else delays
                    p = Projection(name=f"{proj.name}_part{k}_{word}", pre=proj.pre, post=name,
                                   connector=Sparse(pre=pre, post=post[s], weights=np.abs(w[s]), path=path),
                                   delay_steps=int(d[0]) if d.size and np.all(d == d[0]) else
                                   (as_array_value(d, path) if d.size else 0), span=proj.span)
                    projs.append(p)
                    syn[p.name] = lower_projection(p, network.populations[proj.pre], partial)
                c = Projection(name=f"{name}->{pop.name}", pre=name, post=pop.name,
                               connector=OneToOne(weight=float(sign * theta_p[0]) if np.all(theta_p == theta_p[0])
                                                  else as_array_value(sign * theta_p, f"{name} quantum")),
                               span=pop.span)
                combine.append(c)
                syn[c.name] = lower_projection(c, partial, pop)
        pops[pop.name] = pop
        dropped = {p.name for p, _ in incoming}
        projs = [p for p in projs if p.name not in dropped] + combine
        for name in dropped:
            syn.pop(name)
        notes.append(f"population '{pop.name}': {max_fan_in(incoming, pop.size):,} sources per neuron exceed "
                     f"{limit_here} axons; its inputs are summed in {k_groups} groups of at most {size} sources by "
                     f"{n_partials} partial-sum populations of {pop.size:,} neurons (+{n_partials * pop.size:,} "
                     f"neurons; each passes its charge on in quanta of {PARTIAL_THRESHOLD_FRACTION:g}·threshold "
                     f"and holds back less than one), one tick of extra latency")
    if not notes:
        return network, syn, notes
    # Each population's partials come just before it (``pops`` was filled in that order).
    new = replace(network, populations=pops, projections=tuple(projs))
    return new, {p.name: syn[p.name] for p in new.projections}, notes


def as_array_value(values: np.ndarray, path: str) -> ArrayValue:
    """``values`` as an ArrayValue named ``path`` (delays or quanta made here, not read)."""
    return ArrayValue(np.array(values), path)
