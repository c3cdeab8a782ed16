"""Resets NIR does not state: the ones a framework applies on its own, as a lowering.

NIR resets the voltage to ``v_reset``; snnTorch's default ``Leaky`` (and ``RLeaky``)
instead subtracts the threshold, and does so at the *next* step, after the leak::

    mem[t] = beta·mem[t-1] + x[t] - threshold·spike[t-1]

(snnTorch's ``_base_sub``; its exporter writes the same NIR ``LIF`` for every reset
mechanism, so the file cannot say which one). neurocomp's ``reset = subtract`` subtracts
before the leak (``beta·(mem - threshold)``), and Loihi resets to zero only. So the
import writes this reset with parts every chip has: the membrane is held in the
current, the voltage is the current of the step, and a self-connection subtracts the
threshold one step after each spike::

    alpha' = beta;  beta' = 0;  reset zero (V is recomputed from I every step);
    a one_to_one projection pop -> pop of weight -threshold (arrives at t + 1)

so ``I[t] = beta·I[t-1] + x[t] - threshold·spike[t-1]`` and ``V[t] = I[t]``: snnTorch's
``mem``. Sinabs' default reset (``MembraneSubtract``) subtracts in the step of the spike,
before the next leak, ``v[t] = beta·(v[t-1] - threshold·spike[t-1]) + x[t]``: the same
form with the self-connection's weight ``-beta·threshold`` (``reset="subtract"``; this is
neurocomp's own ``reset = subtract``, written so that Loihi runs it too). The current keeps its value over a spike (a zero reset sets only ``V``), and a
bias must arrive through a projection into the current (:mod:`.depth` puts every bias of
a population an input reaches there).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from ...diagnostics import InteropError, UsageError, did_you_mean
from ...ir import connectors as cn
from ...ir.network import Network, Projection
from ...ir.values import ArrayValue, as_array

__all__ = ["ResetConvention", "RESETS", "apply_reset"]

ResetConvention = Literal["zero", "subtract", "subtract-next"]

#: The reset conventions ``import_nir(reset=...)`` takes, and what each means.
RESETS: dict[str, str] = {
    "zero": "NIR's: v = v_reset (= 0) after a spike (snnTorch reset_mechanism='zero', Norse, Sinabs' "
            "reset to zero)",
    "subtract": "the threshold is subtracted in the step of the spike, before the next leak (Sinabs' "
                "default MembraneSubtract; neurocomp's reset = subtract)",
    "subtract-next": "snnTorch's default Leaky (reset_mechanism='subtract'): the threshold is "
                     "subtracted at the next step, after the leak",
}


def apply_reset(net: Network, reset: str, keep: tuple[str, ...] = ()) -> Network:
    """``net`` with every spiking population but those in ``keep`` (the bias source) reset
    by ``reset`` (see the module's docstring)."""
    if reset not in RESETS:
        raise UsageError(f"unknown reset '{reset}'", hint=did_you_mean(reset, RESETS))
    if reset == "zero":
        return net
    populations = dict(net.populations)
    added: list[Projection] = []
    for name, pop in net.populations.items():
        model = pop.neuron
        if model is None or not model.spiking or name in keep:
            continue
        n = pop.size
        if np.any(as_array(model.alpha, n)):
            raise InteropError(f"population '{name}' has a synaptic current (alpha != 0), so it cannot "
                               "hold the membrane: reset 'subtract-next' is for LIF/IF nodes (snnTorch Leaky)",
                               hint="import with reset='zero' (--reset zero)")
        if np.any(as_array(model.bias, n)):
            raise InteropError(f"population '{name}' has a bias that no input reaches to start it, and "
                               "reset 'subtract-next' needs it to arrive through a projection",
                               hint="give the population an input, or import with reset='zero'")
        loss = as_array(model.threshold, n) * (as_array(model.beta, n) if reset == "subtract" else 1.0)
        weight: float | ArrayValue = (-float(loss[0]) + 0.0 if np.all(loss == loss[0]) else
                                      ArrayValue(-loss.reshape(pop.shape), f"{net.name}_data/{name}.reset.npy"))
        populations[name] = dataclasses.replace(pop, neuron=dataclasses.replace(
            model, alpha=model.beta, beta=0.0, reset="zero", refractory_steps=0))
        added.append(Projection(name=f"{name}_reset", pre=name, post=name, connector=cn.OneToOne(weight=weight)))
    return dataclasses.replace(net, populations=populations, projections=net.projections + tuple(added))
