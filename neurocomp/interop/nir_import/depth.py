"""Biases that start where a layer's input starts: each population's depth.

The frameworks that write NIR (snnTorch, Norse, Sinabs) pass a spike through every
layer within one step; neurocomp delivers it one step later per layer. So layer ``k``
of a stack runs ``k`` steps late: its step ``t + k`` is the framework's step ``t``.
Its input arrives from step ``k`` on, but a ``bias`` is on from step 0, so a layer
with a bias would integrate it ``k`` extra times (the framework starts it together with
the input). :func:`start_biases_at_depth` moves every such bias onto a projection from
one source that fires at every step, delayed so that it arrives from the layer's depth
on: the layer is then at rest until the step its input can first arrive, exactly as
the framework's layer is before its step 0. The source is one neuron (``beta = 0``,
``bias = 1 > threshold = 0.5``) that fires at every step from step 0, so every chip that
runs a LIF runs it, and the network's inputs stay the model's own.

A population's *depth* is the first step anything from an input can reach it: the
fewest ``1 + delay`` steps over the projections of a path from an input population
(a population no input reaches keeps its bias from step 0). The bias enters the
current through the projection, so a ``bias`` is moved only for populations whose
current holds one step's input (``alpha = 0``), where that is the same as adding it to
the voltage. A constant that NIR puts into a synaptic current (an ``Affine`` bias before
a ``CubaLIF``) is handed over apart (``currents``) and rides on such a projection too: it
then enters the current, is filtered by ``alpha`` as NIR filters it, and starts at the
layer's depth (snnTorch's ``Synaptic`` adds ``fc(x)``, bias included, to ``syn``).
"""

from __future__ import annotations

import dataclasses
import heapq
from typing import Mapping

import numpy as np

from ...ir import connectors as cn
from ...ir.network import Network, NeuronModel, Population, Projection
from ...ir.values import ArrayValue, as_array

__all__ = ["depths", "start_biases_at_depth", "BIAS_SOURCE"]

#: The name of the population that fires at every step and carries the biases.
BIAS_SOURCE = "bias_source"


def depths(net: Network) -> dict[str, int]:
    """The first step an input can reach each population (inputs 0; unreachable: absent)."""
    first: dict[str, int] = {}
    heap = [(0, name) for name, p in net.populations.items() if p.is_input]
    out: dict[str, list[tuple[str, int]]] = {}
    for proj in net.projections:
        d = proj.delay_steps
        least = int(np.min(d.values)) if isinstance(d, ArrayValue) and d.values.size else int(
            d if not isinstance(d, ArrayValue) else 0)
        out.setdefault(proj.pre, []).append((proj.post, 1 + least))
    while heap:
        step, name = heapq.heappop(heap)
        if name in first:
            continue
        first[name] = step
        for post, hop in out.get(name, []):
            if post not in first:
                heapq.heappush(heap, (step + hop, post))
    return first


def start_biases_at_depth(net: Network, currents: Mapping[str, np.ndarray] | None = None
                          ) -> tuple[Network, str | None, tuple[str, ...]]:
    """``net`` with the bias of every population at depth >= 1 (and ``alpha = 0``), and each
    constant input ``currents[pop]`` (flat, per step, into the current), moved onto a delayed
    projection from a source named :data:`BIAS_SOURCE` (see the module's docstring); the
    source's name (None when nothing moved); the populations of ``currents`` no input
    reaches (left to the caller)."""
    currents = currents or {}
    first = depths(net)
    populations = dict(net.populations)
    added: list[Projection] = []
    source = BIAS_SOURCE
    k = 1
    while source in populations:
        k += 1
        source = f"{BIAS_SOURCE}_{k}"
    data_dir = f"{net.name}_data"
    for name, pop in net.populations.items():
        model = pop.neuron
        depth = first.get(name, 0)
        if model is None or depth < 1:
            continue
        bias = as_array(model.bias, pop.size)
        if name in currents:  # into the synaptic current, where NIR has it; the bias stays
            carried = np.asarray(currents[name], dtype=np.float64).reshape(-1)
        elif not np.any(bias) or np.any(as_array(model.alpha, pop.size)):
            continue
        else:
            carried = bias
            populations[name] = dataclasses.replace(pop, neuron=dataclasses.replace(model, bias=0.0))
        weights = ArrayValue(carried.reshape(pop.size, 1).copy(), f"{data_dir}/{source}_{name}.weights.npy")
        added.append(Projection(name=f"{source}->{name}", pre=source, post=name,
                                connector=cn.Dense(weights=weights), delay_steps=depth - 1))
    unplaced = tuple(name for name in currents if first.get(name, 0) < 1)
    if not added:
        return net, None, unplaced
    # V = 0·V + 1 > 0.5 at every step: a spike at every step from step 0
    populations[source] = Population(name=source, shape=(1,), neuron=NeuronModel(
        family="lif", alpha=0.0, beta=0.0, threshold=0.5, bias=1.0, reset="zero"))
    return (dataclasses.replace(net, populations=populations, projections=net.projections + tuple(added)), source,
            unplaced)
