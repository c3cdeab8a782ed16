"""A run's steps as a framework's steps: each population counted from its depth.

snnTorch, Norse and Sinabs pass a spike through every layer within one step; neurocomp
delivers it one step later per layer (docs/nir.md, "Layer latency"), so a population at
depth ``d`` (:func:`~neurocomp.interop.nir_import.depth.depths`) answers the framework's
step ``t`` at step ``t + d``. :func:`framework_steps` shifts every population's spikes and
traces back by its depth, so that step ``t`` of each is the framework's step ``t`` and the
rasters can be compared with the framework's, step for step.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..diagnostics import UsageError
from ..ir.network import Network
from ..ir.result import RunResult, SpikeEvents
from .nir_import.depth import depths

__all__ = ["framework_steps"]


def framework_steps(result: RunResult, network: Network, steps: int | None = None) -> tuple[RunResult, dict[str, int]]:
    """``result`` with population ``p``'s step ``t + depth(p)`` renumbered ``t``, for
    ``t < steps``, and every population's shift (its depth; 0 for an input or a population
    no input reaches).

    ``steps`` (the framework's number of steps, e.g. the input raster's length) defaults
    to the run's steps minus the deepest population's depth: the steps every population
    answered in full. What a population did before its depth (nothing can reach it then)
    and after ``steps`` is dropped.

    Raises
    ------
    UsageError
        When the run is too short for the deepest population to answer ``steps`` steps.
    """
    first = depths(network)
    shift = {name: int(first.get(name, 0)) for name in result.spikes}
    deepest = max(shift.values(), default=0)
    if steps is None:
        steps = result.steps - deepest
    if steps <= 0 or steps + deepest > result.steps:
        name = max(shift, key=lambda k: shift[k])
        raise UsageError(f"{result.steps} steps are too few for {steps} framework steps: '{name}' is {deepest} "
                         f"step{'s' if deepest != 1 else ''} from the input",
                         hint=f"run {max(steps, 1) + deepest} steps (the raster's length plus {deepest})")
    spikes = {}
    for name, ev in result.spikes.items():
        d = shift[name]
        keep = (ev.times >= d) & (ev.times < d + steps)
        spikes[name] = SpikeEvents(times=ev.times[keep] - d, indices=ev.indices[keep], n=ev.n, is_input=ev.is_input,
                                   values=None if ev.values is None else ev.values[keep])
    traces = {name: {var: np.asarray(trace)[shift.get(name, 0):shift.get(name, 0) + steps]
                     for var, trace in per_var.items()}
              for name, per_var in result.traces.items()}
    return dataclasses.replace(result, steps=steps, spikes=spikes, traces=traces), shift
