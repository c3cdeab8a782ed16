"""Capacity errors: what does not fit, in words that name the population, the limit and both numbers.

A kernel reports a failure as a code (``1 +`` the slot of the broken limit, or one past
the limits for "no processor kind runs it"); this module turns it into a
:class:`~neurocomp.diagnostics.CapacityError` that says ``population 'x' needs <amount>
on one core ..., limit <max> on <chip>`` and what to reduce.
"""

from __future__ import annotations

import numpy as np

from ...diagnostics import CapacityError, Diagnostic
from .kernels import Scratch, single_usage
from .problem import Problem
from .resources import RESOURCES

__all__ = ["resource_phrase", "neuron_error", "population_error"]

_PHRASES = {
    "neurons": "{v} compartments",
    "axons_in": "fan-in {v} axons",
    "axons_out": "fan-out {v} axons",
    "synapse_memory_bits": "{v} bits of synapse memory",
    "input_sram_bytes": "{v} bytes of input SRAM",
    "weight_sram_bytes": "{v} bytes of weight SRAM",
}

_REDUCE = {
    "neurons": "reduce its fan-out (each relay takes a compartment)",
    "axons_in": "reduce fan-in",
    "axons_out": "reduce fan-out",
    "synapse_memory_bits": "reduce fan-in or the weight width",
    "input_sram_bytes": "reduce fan-in or the activation width",
    "weight_sram_bytes": "reduce fan-in or the weight width",
}


def resource_phrase(resource: str, value: int) -> str:
    """``"fan-in 5,000 axons"``: a resource and an amount in words."""
    if resource.startswith("config_registers."):
        return f"{value:,} '{resource.split('.', 1)[1]}' config registers"
    return _PHRASES[resource].format(v=f"{value:,}")


def _single_usage(prob: Problem, s: Scratch, nodes: range | list[int]) -> np.ndarray:
    """What ``nodes`` alone take on a fresh core (limits not enforced)."""
    single_usage(prob.g, s, np.asarray(list(nodes), dtype=np.int64), prob.fresh_epochs(1))
    return s.usage.copy()


def _limit_name(prob: Problem, code: int) -> str | None:
    """The resource a kernel's failure ``code`` names; None for "no processor kind"."""
    slot = code - 1
    if slot >= prob.g.limits.shape[0]:
        return None
    if slot < len(RESOURCES):
        return RESOURCES[slot]
    regs = [r for r in prob.res_names if r.startswith("config_registers.")]
    return regs[slot - len(RESOURCES)]


def neuron_error(prob: Problem, s: Scratch, j: int, code: int) -> CapacityError:
    """Node ``j`` alone breaks the limit of ``code`` on an empty core."""
    q = int(prob.g.node_pop[j])
    pop = prob.pops[q]
    p = prob.qnet.network.populations[pop]
    where = f"population '{pop}'"
    resource = _limit_name(prob, code)
    if resource is None:
        return CapacityError(f"{where} has a neuron that no processor kind of {prob.chip.name} can run",
                             span=p.span, where=where)
    usage = _single_usage(prob, s, [j])
    slot = code - 1
    value, limit = int(usage[slot]), int(prob.g.limits[slot])
    hint = _REDUCE.get(resource, "reduce what the population needs")
    if resource == "axons_in" and prob.chip.core.crossbar is not None:
        hint = ("reduce fan-in: the quantizer spreads a neuron's inputs over partial-sum neurons only "
                "when its population has no native pins and no synaptic current (alpha)")
    elif resource == "axons_in":
        hint = "reduce fan-in (partial-sum neurons are not supported yet)"
    msg = (f"{where} needs {resource_phrase(resource, value)} on one core for a single neuron "
           f"(neuron {j - int(prob.pop_first[q]):,}), limit {limit:,} on {prob.chip.name}")
    err = CapacityError([Diagnostic(msg, span=p.span, where=where, hint=hint)])
    err.excess = value / max(limit, 1)  # how far over: ``auto`` reports the nearest refusal
    return err


def population_error(prob: Problem, s: Scratch, q: int, code: int) -> CapacityError:
    """Population ``q`` as a whole (no splitting) breaks the limit of ``code`` on an empty core."""
    pop = prob.pops[q]
    p = prob.qnet.network.populations[pop]
    where = f"population '{pop}'"
    resource = _limit_name(prob, code)
    if resource is None:
        return CapacityError(f"{where} needs a processor kind {prob.chip.name} does not have", span=p.span,
                             where=where)
    lo = int(prob.pop_first[q])
    usage = _single_usage(prob, s, range(lo, lo + int(prob.pop_size[q])))
    slot = code - 1
    value, limit = int(usage[slot]), int(prob.g.limits[slot])
    reduce = _REDUCE.get(resource, "reduce what it needs").replace("reduce its fan-out (each relay takes a "
                                                                  "compartment)", "reduce its size")
    if resource == "neurons":
        reduce = "reduce its size"
    msg = f"{where} needs {resource_phrase(resource, value)} on one core, limit {limit:,} on {prob.chip.name}"
    return CapacityError([Diagnostic(msg, span=p.span, where=where,
                                     hint=f"allow splitting, add chips with --chips, or {reduce}")])
