"""The partition and the placement: where neurons go, before the routing tables exist.

:func:`neurocomp.compiler.partition.partition` cuts a
:class:`~neurocomp.ir.quantized.QuantizedNetwork` into *logical cores*: each holds
slices of populations (several small slices may share a core) and fits every per-core
limit of the chip. :func:`neurocomp.compiler.place.place` then gives every logical core
a physical core id (and so a chip) and returns a :class:`Placement`. Both artifacts are
frozen; :meth:`Partition.describe` and :meth:`Placement.describe` are their stable text
forms (``neurocomp compile --dump-after partition``).

Vocabulary
----------
node
    One population neuron, numbered over *all* populations in network order (inputs
    included): node ``node_offset[pop] + i`` is neuron ``i`` (flat, C order) of ``pop``.
    Input nodes live off-chip; their ``node_core`` is ``-1``.
axon (logical)
    One per (source node, logical destination core, projection) with at least one
    synapse, as in the Mapping. ``axon_proj``, ``axon_pre`` (the source neuron's index in
    its population), ``axon_core`` and ``axon_count`` (its synapses) list them, ordered
    by projection, then source neuron, then first target.
relay
    A compartment that only forwards spikes (a TrueNorth splitter). A neuron whose spikes
    must reach more (core, projection) pairs than the chip's
    ``connectivity.destinations_per_neuron`` sends them to one axon on its own core
    instead; that axon feeds ``relay_count[node]`` relay compartments on the same core,
    one per (core, projection) pair, and each relay has one route. A relay fires in the
    step a spike reaches it, so it adds one step on the way (see ``docs/compiler.md``).
traffic
    Routes between logical cores: ``traffic_src[k] -> traffic_dst[k]`` carries
    ``traffic_routes[k]`` routes (a spike of every neuron sends that many packets). Routes
    within a core are listed too (they cost no hop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .mapping import CoreSlice
from .quantized import QuantizedNetwork


if TYPE_CHECKING:  # pragma: no cover
    from ..chip.spec import ChipSpec

__all__ = ["LogicalCore", "PartitionReport", "Partition", "PlacementReport", "Placement",
           "RELAY_SLICE", "format_usage"]

#: The population name of a relay slice (as in :class:`~neurocomp.ir.mapping.CoreSlice`).
RELAY_SLICE = "<relay>"


def format_usage(usage: Mapping[str, int], limits: Mapping[str, int]) -> str:
    """``"neurons 16/16, axons_in 3/32, ..."`` in the chip's resource order."""
    return ", ".join(f"{key} {usage.get(key, 0):,}/{limit:,}" for key, limit in limits.items())


@dataclass(frozen=True, kw_only=True)
class LogicalCore:
    """One core's worth of neurons, before it has a physical id.

    ``slices`` are ordered by population (network order), then start; a relay slice
    (``RELAY_SLICE``, ``0:n``) comes last. Compartments are numbered in this order.
    ``usage`` holds every resource of ``chip.limits()``, computed exactly from the
    synapses it receives. ``processor_kinds`` are the processor kinds (Akida NP kinds)
    that can run every layer on it; empty where the chip has a single kind of core.
    """

    index: int
    slices: tuple[CoreSlice, ...]
    usage: Mapping[str, int]
    processor_kinds: tuple[str, ...] = ()

    @property
    def n_compartments(self) -> int:
        return sum(s.size for s in self.slices)

    @property
    def n_relays(self) -> int:
        return sum(s.size for s in self.slices if s.population == RELAY_SLICE)


@dataclass(frozen=True, kw_only=True)
class PartitionReport:
    """How the partition was made and what it costs in traffic.

    ``cut_routes``: routes (packets per spike of every neuron) that leave their core;
    ``total_routes``: all routes from neurons and relays. ``baseline_*`` are the same
    figures for the plain sequential split when another strategy was compared with it.
    ``passes``: how many times the cut was redone because fan-out or relays, which
    depend on where the targets went, did not fit.
    """

    strategy: str
    cores: int
    cut_routes: int
    total_routes: int
    passes: int = 1
    baseline_strategy: str | None = None
    baseline_cores: int | None = None
    baseline_cut_routes: int | None = None
    relays: int = 0
    notes: tuple[str, ...] = ()
    #: every candidate ``auto`` ran: ``(strategy, cores, cut routes, None)`` when it fitted,
    #: ``(strategy, None, None, reason)`` when it was refused, or stopped once it could not win
    tried: tuple[tuple[str, int | None, int | None, str | None], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {k: ([list(x) if isinstance(x, tuple) else x for x in v] if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False, kw_only=True)
class Partition:
    """A quantized network cut into logical cores that each fit the chip (see the module
    docstring for nodes, axons, relays and traffic).

    Invariants: every non-input node is on exactly one core (``node_core >= 0``),
    ``node_local`` numbers a core's compartments ``0 .. n-1`` in slice order, and every
    core's ``usage`` is within ``chip.limits()``.
    """

    qnet: QuantizedNetwork
    chip: ChipSpec
    cores: tuple[LogicalCore, ...]
    node_offset: Mapping[str, int]  # population -> first node id
    node_core: np.ndarray  # int32 [n_nodes]: logical core, -1 for input nodes
    node_local: np.ndarray  # int32 [n_nodes]: compartment index within its core, -1 for inputs
    relay_count: np.ndarray  # int32 [n_nodes]: relays serving each node (0: routed directly)
    axon_proj: np.ndarray  # int32 [n_axons]
    axon_pre: np.ndarray  # int64 [n_axons]
    axon_core: np.ndarray  # int32 [n_axons]
    axon_count: np.ndarray  # int64 [n_axons]
    traffic_src: np.ndarray  # int32 [n_pairs]
    traffic_dst: np.ndarray  # int32 [n_pairs]
    traffic_routes: np.ndarray  # int64 [n_pairs]
    report: PartitionReport
    limits: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_cores(self) -> int:
        return len(self.cores)

    @property
    def n_nodes(self) -> int:
        return int(self.node_core.shape[0])

    def describe(self) -> str:
        """The stable text form: one line per core (slices, then usage / limit)."""
        r = self.report
        lines = [f"partition of '{self.qnet.network.name}' for {self.chip.name}: {r.cores} logical "
                 f"cores, strategy {r.strategy}, {r.passes} pass(es)",
                 f"routes: {r.total_routes:,} in all, {r.cut_routes:,} leave their core"
                 + (f" ({r.baseline_strategy}: {r.baseline_cut_routes:,} on {r.baseline_cores} cores)"
                    if r.baseline_cut_routes is not None else "")
                 + (f"; {r.relays:,} relay compartments" if r.relays else "")]
        for core in self.cores:
            held = ", ".join(f"{s.population}[{s.start}:{s.stop}]" for s in core.slices)
            kinds = f" on {'/'.join(core.processor_kinds)}" if core.processor_kinds else ""
            lines.append(f"core {core.index}{kinds}: {held}")
            lines.append(f"    {format_usage(core.usage, self.limits)}")
        for note in r.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True)
class PlacementReport:
    """What the placement costs on the mesh, and how much better it is than row-major.

    A route's *hops* are the links it crosses under dimension-order routing (on-chip and
    chip-to-chip links each count one); ``cost`` weighs a chip-to-chip link as
    ``interchip_weight`` on-chip links, which is what the placer minimises. Every figure
    counts each route once (as if every neuron fired once).
    """

    strategy: str
    chips_used: int
    routes: int
    hops: int
    interchip_routes: int
    cost: int
    naive_hops: int
    naive_interchip_routes: int
    naive_cost: int
    interchip_weight: int

    @property
    def mean_hops(self) -> float:
        return self.hops / self.routes if self.routes else 0.0

    @property
    def intrachip_routes(self) -> int:
        return self.routes - self.interchip_routes

    @property
    def improvement(self) -> float:
        """Row-major cost over this placement's cost (1.0: no better)."""
        if self.cost == 0:
            return 1.0 if self.naive_cost == 0 else float("inf")
        return self.naive_cost / self.cost

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.update(mean_hops=self.mean_hops, intrachip_routes=self.intrachip_routes,
                   improvement=self.improvement if np.isfinite(self.improvement) else None)
        return out


@dataclass(frozen=True, eq=False, kw_only=True)
class Placement:
    """Logical core ``i`` of ``partition`` sits on physical core ``core_id[i]`` (global
    id over the system's chips). ``processor_kind[i]`` is the processor kind chosen for
    it (Akida), or ``""``. Physical ids are distinct."""

    partition: Partition
    chip: ChipSpec
    core_id: np.ndarray  # int32 [n_logical]
    processor_kind: tuple[str, ...]
    report: PlacementReport

    def describe(self) -> str:
        """The stable text form: logical -> physical core, then the traffic figures."""
        r = self.report
        chip = self.chip
        lines = [f"placement of {self.partition.n_cores} logical cores on {chip.name} "
                 f"({chip.n_chips} chip(s) x {chip.topology.cores_per_chip} cores), strategy {r.strategy}"]
        for i, core in enumerate(self.core_id.tolist()):
            pos = chip.mesh_position(core)
            kind = f" as {self.processor_kind[i]}" if self.processor_kind[i] else ""
            lines.append(f"logical {i} -> core {core} (chip {pos.chip}, tile {pos.x},{pos.y}){kind}")
        lines.append(f"routes {r.routes:,}: {r.hops:,} hops (mean {r.mean_hops:.3f}), "
                     f"{r.interchip_routes:,} cross chips; row-major: {r.naive_hops:,} hops, "
                     f"{r.naive_interchip_routes:,} cross chips; cost {r.cost:,} vs {r.naive_cost:,}")
        return "\n".join(lines) + "\n"
