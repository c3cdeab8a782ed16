"""Partition: cut a quantized network into logical cores that each fit one core of the chip.

Input: a :class:`~neurocomp.ir.quantized.QuantizedNetwork` and the chip it targets.
Output: a :class:`~neurocomp.ir.partition.Partition` (logical cores, each holding
population slices; no physical core ids yet).

Invariants of the result:

* every neuron of every non-input population is on exactly one logical core;
* every core is within *every* limit of ``chip.limits()``, counted exactly as the
  Mapping will hold it (the resource model: :mod:`.resources`);
* the result depends only on the network and the chip (no randomness).

The package, in the order a call runs through it:

:mod:`.resources`
    what a slice of a population or projection costs on a core, and :data:`LAYER_KINDS`
    (the per-core registers each neuron family takes are the family's, in
    :mod:`neurocomp.chip.family`).
:mod:`.problem`
    the network and chip as flat arrays, built once per call (and :func:`check_delays`).
:mod:`.kernels`
    the Numba kernels that fill cores neuron by neuron, counting every resource.
:mod:`.orderings` and :mod:`.strategies`
    the order neurons are offered in, and the strategies (:data:`PARTITIONERS`, ``auto``).
:mod:`.fit` and :mod:`.measure`
    cut, measure exactly, and cut again while fan-out or relays were under-reserved.
:mod:`.errors` and :mod:`.result`
    what does not fit, in words; the Partition a fitted cut becomes.

``auto`` (the default strategy) runs every candidate of
:func:`.strategies.auto_candidates` and keeps the cut with the fewest cores, then the
fewest routes that leave their core (ties: the earlier strategy). The next-fit
candidates (:data:`.strategies.BOUNDED`) run last and stop once a pass needs more cores
than the best cut so far (listed in ``tried`` with that reason): they could not win.
A candidate that cannot fit (a neuron whose fan-in, fan-out or relays exceed a core in
that order) is skipped; ``PartitionReport.tried`` lists every candidate, with its reason
when it was refused. Only when every candidate is refused does ``auto`` raise, with the
reason of the candidate that came closest (the smallest need over its limit).

All per-synapse and per-neuron work runs in Numba kernels over flat arrays.
"""

from __future__ import annotations

from ...chip.spec import ChipSpec
import dataclasses
import re

from ...diagnostics import CapacityError, UsageError, did_you_mean
from ...ir.partition import Partition
from ...ir.quantized import QuantizedNetwork
from .errors import resource_phrase
from .fit import Stopped, fit
from .measure import population_usage
from .problem import build, check_delays, new_scratch
from .resources import LAYER_KINDS, RESOURCES
from .result import to_partition
from .strategies import (
    AUTO_GRAPH_MAX_SYNAPSES,
    AUTO_GREEDY_MAX_SYNAPSES,
    BOUNDED,
    GREEDY_ATOMS,
    NO_BOUND,
    PARTITIONERS,
    auto_candidates,
)

__all__ = [
    "partition",
    "family_strategies",
    "PARTITIONERS",
    "LAYER_KINDS",
    "AUTO_GREEDY_MAX_SYNAPSES",
    "AUTO_GRAPH_MAX_SYNAPSES",
    "GREEDY_ATOMS",
    "RESOURCES",
    "check_delays",
    "population_usage",
    "resource_phrase",
]


def partition(qnet: QuantizedNetwork, chip: ChipSpec | None = None, *, strategy: str = "auto", allow_split: bool = True,
              atom_size: int | None = None, max_passes: int = 12) -> Partition:
    """Cut ``qnet`` into logical cores that each fit one core of ``chip``.

    Parameters
    ----------
    qnet
        The quantized network (its projections' synapses are read, never changed).
    chip
        The chip (default ``qnet.chip``); only per-core limits matter here.
    strategy
        ``"auto"``, or a key of :data:`PARTITIONERS` (``"sequential"``, ``"bfs"``, ``"greedy"``).
    allow_split
        ``False`` keeps every population on one core (several may still share one).
    atom_size
        Neurons per atom for ``bfs`` and ``greedy`` (default: neurons / :data:`GREEDY_ATOMS`,
        at least 1).
    max_passes
        How many times a cut may be redone for fan-out and relays (see :mod:`.fit`).

    Returns
    -------
    Partition
        Logical cores with their slices and exact usage, the axons between them, the
        traffic they exchange, and how many relays each neuron needs.

    Raises
    ------
    CapacityError
        A single neuron (or, without splitting, a population) exceeds a per-core limit;
        the message names the population (with its line), the limit and both numbers.
    QuantizationError
        A delay or weight width the chip cannot hold.
    """
    chip = qnet.chip if chip is None else chip
    own = _family_partitioner(qnet)
    if own is not None:  # the family's own rule (Akida: whole layers on NPs)
        return own(qnet, chip, strategy=strategy)
    if strategy != "auto" and strategy not in PARTITIONERS:
        raise UsageError(f"no partition strategy '{strategy}'",
                         hint=did_you_mean(strategy, ["auto", *PARTITIONERS]))
    check_delays(qnet, chip)
    prob = build(qnet, chip)
    s = new_scratch(prob)
    n_syn = sum(q.synapses.n_synapses for q in prob.projs)
    if not allow_split:
        cut, m, passes = fit(prob, s, "whole", atom_size, max_passes)
        return to_partition(prob, cut, m, passes, "whole populations", None)
    if strategy == "auto":
        names, notes = auto_candidates(n_syn)
        runs, refused, stopped = [], [], {}
        # The candidates run in reverse order of preference: the next-fit ones (BOUNDED),
        # the cheapest, run last and stop as soon as a pass needs more cores than the best
        # cut so far (they could not win: see strategies.BOUNDED). Which cut is kept does
        # not depend on the order they ran in.
        for name in reversed(names):
            bound = min((r[1].n_cores for r in runs), default=NO_BOUND) if name in BOUNDED else NO_BOUND
            # A candidate that cannot fit is skipped (and reported), not fatal: another
            # order may place the same neurons so that every core is within its limits.
            try:
                runs.append((name, *fit(prob, s, name, atom_size, max_passes, bound)))
            except CapacityError as err:
                refused.append((name, err))
            except Stopped as stop:
                best = min(runs, key=lambda r: (r[1].n_cores, names.index(r[0])))
                stopped[name] = (f"stopped in pass {stop.passes}: more than the {best[1].n_cores:,} cores "
                                 f"of {best[0]}")
        refused.sort(key=lambda r: names.index(r[0]))  # ties of _best_refusal: the earlier strategy
        if not runs:
            raise _best_refusal(refused)
        # Fewest cores, then fewest routes leaving their core; ties keep the earlier
        # (simpler) strategy, so a graph strategy is kept only when it does better.
        best = min(range(len(runs)), key=lambda i: (runs[i][1].n_cores, runs[i][2].cut_routes,
                                                    names.index(runs[i][0])))
        name, cut, m, passes = runs[best]
        fitted = {n: (n, c.n_cores, mm.cut_routes, None) for n, c, mm, _ in runs}
        fitted.update({n: (n, None, None, err.diagnostics[0].message) for n, err in refused})
        fitted.update({n: (n, None, None, why) for n, why in stopped.items()})
        tried = tuple(fitted[n] for n in names)
        others = [r for r in tried if r[0] != name and r[3] is None]
        baseline = next((r for r in others if r[0] == "sequential"), None) or \
            (min(others, key=lambda r: (r[1], r[2])) if others else None)
        return to_partition(prob, cut, m, passes, name, baseline, notes=tuple(notes), tried=tried)
    cut, m, passes = fit(prob, s, strategy, atom_size, max_passes)
    return to_partition(prob, cut, m, passes, strategy, None)


def _family_partitioner(qnet: QuantizedNetwork):
    from ...chip.family import find

    fam = find(qnet.family)
    return fam.partition_fn() if fam is not None else None


def family_strategies() -> tuple[str, ...]:
    """Strategy names the families' own partitioners accept (``--partition`` choices)."""
    from ...chip.family import families

    return tuple(dict.fromkeys(s for fam in families() for s in fam.strategies))


def _best_refusal(refused: list[tuple[str, CapacityError]]) -> CapacityError:
    """The error of the candidate that came closest to fitting (smallest need / limit;
    ties: the earlier candidate), its hint naming what the others needed when that differs."""
    best_i = min(range(len(refused)), key=lambda i: (getattr(refused[i][1], "excess", float("inf")), i))
    name, err = refused[best_i]
    first = err.diagnostics[0]
    others = "; ".join(f"{n}: {e.diagnostics[0].message}" for n, e in refused
                       if _reason(e.diagnostics[0].message) != _reason(first.message))
    if not others:  # every order refused the same neuron for the same reason
        return err
    hint = (first.hint + "; " if first.hint else "") + f"every partition strategy was refused (nearest: {name}; {others})"
    return CapacityError([dataclasses.replace(first, hint=hint), *err.diagnostics[1:]])


def _reason(message: str) -> str:
    """A refusal without the neuron it names: the same need in another order is the same reason."""
    return re.sub(r" \(neuron [\d,]+\)", "", message)
