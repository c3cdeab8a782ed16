"""The chip schema: one pydantic model that says everything chip-specific.

A chip is data (``chips/<name>.toml``), validated by :class:`ChipSpec`. The compiler, the
emulator and the cost model ask the chip for every limit, width and cost, so no pass
ever tests which chip it is compiling for.

Every number in a chip file carries its source. In the file a sourced value is written
as an inline table next to its key::

    [core]
    neurons = { value = 1024, source = "davies2018 p.89: 1,024 compartments per core" }

The loader (:mod:`neurocomp.chip.load`) lifts the sources out of the values: the model
holds plain numbers (``chip.core.neurons == 1024``) and a flat ``provenance`` mapping
from dotted key to source (``chip.provenance["core.neurons"]``). A source covers the
value it is attached to, including everything inside it when the value is a list or a
table. A source is one of

* ``"<key> <where>"`` -- a reference key declared in the chip's ``[[sources]]`` list,
  then where in that reference (table, page, file);
* ``"derived: <how>"`` -- computed from other sourced facts;
* ``"assumed: <why>"`` -- no source exists; the reason for the choice;
* ``"user: <what>"`` -- chosen by the user (``--chips``, a system file).

:class:`ChipSpec` checks that every number is covered; ``schema`` (the file-format
version) is the one number that needs no source.

Cross-field rules (a mesh that holds the cores, a crossbar that matches the core, a
default profile that exists, ...) are ``model_validator(mode="after")``. A rule that
fails raises a ``chip_rule`` error whose context lists ``(dotted key, message)`` pairs,
so the loader can report each with its file line.
"""

from __future__ import annotations

import operator
import re
from functools import cached_property
from typing import Annotated, Any, Iterable, Iterator, Literal, NamedTuple, Union

import numpy as np
from numpy.typing import ArrayLike
from pydantic import (BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, StrictBool, StrictFloat,
                      StrictInt, StrictStr, create_model, model_serializer, model_validator)
from pydantic_core import PydanticCustomError

from .events import CONNECTORS, HOST_OPERATIONS, OPERATIONS
from .family import FAMILIES, find

__all__ = [
    "SCHEMA_VERSION",
    "SOURCE_PREFIXES",
    "ChipSpec",
    "Reference",
    "Topology",
    "System",
    "SystemFile",
    "Core",
    "Crossbar",
    "NpSram",
    "LoihiSynapseGroups",
    "CrossbarPacking",
    "PackedWeights",
    "Numerics",
    "WeightFormat",
    "StateVar",
    "Decay",
    "Leak",
    "Threshold",
    "Bias",
    "ResetValue",
    "DelayRange",
    "Activations",
    "Neuron",
    "Connectivity",
    "ProcessorGroup",
    "Barrier",
    "Timing",
    "Energy",
    "Profile",
    "Uncertainty",
    "MeshPosition",
    "Hops",
    "Parameter",
    "rule_error",
    "has_number",
    "needs_source",
    "toml_text",
]

#: The chip-file format this code reads (the ``schema`` key of a chip file).
SCHEMA_VERSION = 1

#: Prefixes of a source that is not a reference key.
SOURCE_PREFIXES = ("derived:", "assumed:", "user:")

_KEY = r"[a-z][a-z0-9_]*"
_REF_KEY = re.compile(rf"^({_KEY})(?=$|[\s,;:.()\[\]])")

PosInt = Annotated[StrictInt, Field(gt=0)]
NonNegInt = Annotated[StrictInt, Field(ge=0)]
NonNegFloat = Annotated[StrictFloat, Field(ge=0)]
PosFloat = Annotated[StrictFloat, Field(gt=0)]
Text = Annotated[StrictStr, Field(min_length=1)]
Name = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_\-]*$")]

Overflow = Literal["wrap", "saturate"]
Connector = Literal[CONNECTORS]
SignMode = Literal["mixed", "excitatory", "inhibitory"]
ResetMode = Literal["zero", "value", "subtract", "none"]


#: The largest integer a chip file may hold: exact in a float64, where costs are computed.
_MAX_EXACT = 1 << 53

#: The largest core id a Mapping can store (``comp_core`` and ``axon_core`` are int32).
_MAX_CORE_ID = (1 << 31) - 1

def rule_error(problems: list[tuple[str, str]]) -> PydanticCustomError:
    """The error a cross-field rule raises: ``(dotted key, message)`` per problem.

    Keys are relative to the model whose validator raises; the loader prefixes the
    model's own location.
    """
    summary = "; ".join(f"{key}: {msg}" if key else msg for key, msg in problems)
    return PydanticCustomError("chip_rule", "{summary}", {"summary": summary, "problems": tuple(problems)})


class _Model(BaseModel):
    # allow_inf_nan: every float in a chip file is a finite number (an energy of inf is a typo)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- identity


class Reference(_Model):
    """One publication or code base a chip file cites; ``key`` is how sources name it."""

    key: Annotated[StrictStr, Field(pattern=rf"^{_KEY}$")]
    citation: Text


# --------------------------------------------------------------------------- topology


class Topology(_Model):
    """The on-chip mesh: ``tiles_x`` x ``tiles_y`` routers, ``cores_per_tile`` cores each.

    Cores are numbered tile by tile, row-major (x fastest), skipping ``reserved_slots``
    (positions on the mesh that hold no usable core, e.g. Akida's DMA engines). Spikes
    travel by dimension-order routing: first east-west, then north-south.
    """

    tiles_x: PosInt
    tiles_y: PosInt
    cores_per_tile: PosInt
    cores_per_chip: PosInt
    reserved_slots: tuple[NonNegInt, ...] = ()

    @property
    def slots(self) -> int:
        """Core positions on the mesh, usable or not."""
        return self.tiles_x * self.tiles_y * self.cores_per_tile

    @model_validator(mode="after")
    def _fits(self) -> "Topology":
        problems = []
        bad = [s for s in self.reserved_slots if s >= self.slots]
        if bad:
            problems.append(("reserved_slots", f"slots must be < tiles_x * tiles_y * cores_per_tile = "
                                               f"{self.slots} (got {bad})"))
        if len(set(self.reserved_slots)) != len(self.reserved_slots):
            problems.append(("reserved_slots", f"each slot may be listed once (got {list(self.reserved_slots)})"))
        usable = self.slots - len(set(self.reserved_slots))
        if not problems and self.cores_per_chip != usable:
            problems.append(("cores_per_chip", f"must equal tiles_x * tiles_y * cores_per_tile - reserved "
                                               f"slots = {self.tiles_x} * {self.tiles_y} * "
                                               f"{self.cores_per_tile} - {len(self.reserved_slots)} = "
                                               f"{usable} (got {self.cores_per_chip})"))
        if problems:
            raise rule_error(problems)
        return self


class System(_Model):
    """How many chips, tiled ``chips_x`` x ``chips_y``, extending the mesh off-chip."""

    chips_x: PosInt
    chips_y: PosInt
    max_chips: PosInt | None = None

    @property
    def chips(self) -> int:
        return self.chips_x * self.chips_y

    @model_validator(mode="after")
    def _within_max(self) -> "System":
        if self.max_chips is not None and self.chips > self.max_chips:
            raise rule_error([("chips_x", f"chips_x * chips_y = {self.chips} exceeds max_chips "
                                          f"({self.max_chips})")])
        return self


class SystemFile(_Model):
    """A system file: which chip, and how many of it tiled ``chips_x`` x ``chips_y``.

    The numbers are the user's choice, so they need no source.
    """

    chip: Text
    chips_x: PosInt
    chips_y: PosInt
    profile: Name | None = None


# --------------------------------------------------------------------------- core


class Crossbar(_Model):
    """A fixed axon x neuron synapse array (TrueNorth): one row per input axon."""

    axons: PosInt
    neurons: PosInt
    synapse_bits: PosInt


class NpSram(_Model):
    """Per-processor SRAM (Akida NPs): input activations and weights."""

    input_bytes: PosInt
    weight_bytes: PosInt


class LoihiSynapseGroups(_Model):
    """Loihi synapse memory: per input axon, synapses in groups, each group word-aligned.

    A group of ``n`` synapses takes ``n * (weight + delay [+ index]) + format_index_bits
    + count_bits`` bits, rounded up to a multiple of ``word_bits``. Index bits are only
    stored for sparse synapses and take the smallest width in ``index_bits`` that can
    address the targets. See :func:`neurocomp.chip.packing.synapse_memory_bits`.
    """

    rule: Literal["loihi_synapse_groups"]
    synapses_per_group: PosInt
    format_index_bits: NonNegInt
    count_bits: NonNegInt
    word_bits: PosInt
    index_bits: Annotated[tuple[PosInt, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _ordered(self) -> "LoihiSynapseGroups":
        if list(self.index_bits) != sorted(set(self.index_bits)):
            raise rule_error([("index_bits", f"must be increasing without repeats "
                                             f"(got {list(self.index_bits)})")])
        return self


class CrossbarPacking(_Model):
    """Every input axon used takes one full crossbar row (``core.crossbar``)."""

    rule: Literal["crossbar"]


class PackedWeights(_Model):
    """Weights stored back to back at their width, rounded up to whole words."""

    rule: Literal["packed_weights"]
    word_bits: PosInt


Packing = Annotated[Union[LoihiSynapseGroups, CrossbarPacking, PackedWeights], Field(discriminator="rule")]


class Core(_Model):
    """What one core (neuro core, neurosynaptic core, NP) holds.

    ``axons_in`` / ``axons_out`` are ``None`` on chips that have no such limit.
    ``config_registers`` counts distinct parameter sets a core can hold, by kind.
    """

    neurons: PosInt
    axons_in: PosInt | None = None
    axons_out: PosInt | None = None
    synapse_memory_bits: PosInt
    packing: Packing
    config_registers: dict[Name, NonNegInt] = {}
    crossbar: Crossbar | None = None
    sram: NpSram | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "Core":
        problems = []
        if isinstance(self.packing, CrossbarPacking) and self.crossbar is None:
            problems.append(("packing.rule", "'crossbar' packing needs a [core.crossbar] section"))
        if self.crossbar is not None:
            xb = self.crossbar
            if self.axons_in is not None and xb.axons != self.axons_in:
                problems.append(("crossbar.axons", f"must equal core.axons_in ({self.axons_in}) "
                                                   f"(got {xb.axons})"))
            if xb.neurons != self.neurons:
                problems.append(("crossbar.neurons", f"must equal core.neurons ({self.neurons}) "
                                                     f"(got {xb.neurons})"))
            bits = xb.axons * xb.neurons * xb.synapse_bits
            if bits != self.synapse_memory_bits:
                problems.append(("synapse_memory_bits", f"must equal crossbar axons * neurons * "
                                                        f"synapse_bits = {bits} (got {self.synapse_memory_bits})"))
        if self.sram is not None and self.sram.weight_bytes * 8 != self.synapse_memory_bits:
            problems.append(("synapse_memory_bits", f"must equal sram.weight_bytes * 8 = "
                                                    f"{self.sram.weight_bytes * 8} (got {self.synapse_memory_bits})"))
        if problems:
            raise rule_error(problems)
        return self


# --------------------------------------------------------------------------- numerics


class WeightFormat(_Model):
    """Stored synaptic weights: widths, the per-projection exponent and sign modes.

    ``input_layer_bits`` is the width of a first (input) layer's weights where it
    differs (Akida's InputConvolutional).
    """

    bits: Annotated[tuple[PosInt, ...], Field(min_length=1)]
    exponent_min: StrictInt
    exponent_max: StrictInt
    sign_modes: Annotated[tuple[SignMode, ...], Field(min_length=1)]
    input_layer_bits: PosInt | None = None

    @property
    def max_bits(self) -> int:
        return max(self.bits)

    @model_validator(mode="after")
    def _ordered(self) -> "WeightFormat":
        problems = []
        if list(self.bits) != sorted(set(self.bits)):
            problems.append(("bits", f"must be increasing without repeats (got {list(self.bits)})"))
        if self.exponent_min > self.exponent_max:
            problems.append(("exponent_min", f"must be <= exponent_max ({self.exponent_max}) "
                                             f"(got {self.exponent_min})"))
        if problems:
            raise rule_error(problems)
        return self


class StateVar(_Model):
    """A signed state register: its width and what happens past its range."""

    bits: PosInt
    overflow: Overflow


class Decay(_Model):
    """Multiplicative decay: ``x * (2**bits - (d + offset)) >> bits`` per step."""

    bits: PosInt
    offset_u: NonNegInt
    offset_v: NonNegInt


class Leak(_Model):
    """Additive leak (TrueNorth): a signed constant added every tick."""

    bits: PosInt
    signed: StrictBool


class Threshold(_Model):
    """A threshold: an unsigned mantissa, compared after ``<< shift``.

    ``mask_bits`` is the widest random mask a stochastic threshold can add (TrueNorth).
    """

    mantissa_bits: PosInt
    shift: NonNegInt
    mask_bits: NonNegInt | None = None


class ResetValue(_Model):
    """The value a neuron's potential is set to on reset (TrueNorth's ``V_R``)."""

    bits: PosInt
    signed: StrictBool


class Bias(_Model):
    """A constant input: ``mantissa << exponent``."""

    mantissa_bits: PosInt
    exponent_bits: NonNegInt
    signed: StrictBool


class DelayRange(_Model):
    """Synaptic delay in steps, counted so a spike sent at ``t`` arrives at ``t + steps``."""

    min_steps: PosInt
    max_steps: PosInt

    @model_validator(mode="after")
    def _ordered(self) -> "DelayRange":
        if self.min_steps > self.max_steps:
            raise rule_error([("min_steps", f"must be <= max_steps ({self.max_steps}) (got {self.min_steps})")])
        return self


class Activations(_Model):
    """Graded activations between layers (Akida): allowed widths, and the input's."""

    bits: Annotated[tuple[PosInt, ...], Field(min_length=1)]
    input_bits: tuple[PosInt, ...]


class Learning(_Model):
    """The learning engine (Loihi; docs/learning.md): trace and rule widths, the epoch."""

    trace_bits: PosInt  # unsigned trace width (values 0 .. 2**bits - 1)
    impulse_fraction_bits: NonNegInt  # fraction bits of a trace impulse
    epoch_max_steps: PosInt
    scale_mantissa_bits: PosInt  # signed mantissa of a product's scale
    scale_exponent_min: StrictInt
    scale_exponent_max: StrictInt
    products_max: PosInt  # products in one rule
    factors_max: PosInt  # factors in one product (the dependency not counted)


class Numerics(_Model):
    """Every width the chip computes with. Optional sections are family-specific.

    ``input_shift`` aligns synaptic input with the state (Loihi: ``<< 6``);
    ``prng_bits`` is the width of the random numbers stochastic modes draw.
    """

    weights: WeightFormat
    delay: DelayRange
    state: dict[Name, StateVar] = {}
    decay: Decay | None = None
    leak: Leak | None = None
    threshold: Threshold | None = None
    negative_threshold: Threshold | None = None
    reset_value: ResetValue | None = None
    bias: Bias | None = None
    input_shift: NonNegInt | None = None
    activations: Activations | None = None
    prng_bits: PosInt | None = None
    learning: Learning | None = None


# --------------------------------------------------------------------------- neuron, routing

class Neuron(_Model):
    """The neuron family the emulator runs, and the features the chip offers.

    ``native`` is the chip name used in ``native CHIP(...)`` clauses of network text.
    ``spike_payload_bits`` is the width of the value a spike carries (absent: spikes carry
    no value, only their arrival counts); the family's kernel says whether it emulates them
    (:attr:`neurocomp.targets.Family.payloads`).
    """

    family: StrictStr
    native: Name
    reset_modes: Annotated[tuple[ResetMode, ...], Field(min_length=1)]
    threshold_compare: Literal[">", ">="] | None = None
    refractory_max_steps: NonNegInt
    stochastic_modes: tuple[Name, ...] = ()
    spike_payload_bits: PosInt | None = None


class ProcessorGroup(_Model):
    """``count`` processors on a chip that can each act as any of ``kinds``."""

    kinds: Annotated[tuple[StrictStr, ...], Field(min_length=1)]
    count: PosInt


class Connectivity(_Model):
    """Rules on who can talk to whom.

    ``destinations_per_neuron`` is ``None`` where only ``core.axons_out`` limits fan-out.
    ``axon_types`` is the number of axon types (each neuron holds one weight per type).
    ``processors`` divides a chip's cores into kinds; ``extra_processors`` are units
    outside the core mesh (Akida's input converter); ``layer_kinds`` says which layer
    kinds each processor kind runs.
    """

    destinations_per_neuron: PosInt | None = None
    axon_types: PosInt | None = None
    processors: tuple[ProcessorGroup, ...] = ()
    extra_processors: tuple[ProcessorGroup, ...] = ()
    layer_kinds: dict[StrictStr, tuple[StrictStr, ...]] = {}

    @model_validator(mode="after")
    def _kinds_known(self) -> "Connectivity":
        problems = []
        for group_name in ("processors", "extra_processors"):
            for i, group in enumerate(getattr(self, group_name)):
                missing = [k for k in group.kinds if k not in self.layer_kinds]
                if missing:
                    problems.append((f"{group_name}.{i}.kinds", f"kinds {missing} have no entry in "
                                                                f"connectivity.layer_kinds"))
        if problems:
            raise rule_error(problems)
        return self


# --------------------------------------------------------------------------- costs


class Barrier(_Model):
    """Time to synchronise all cores at the end of a step, by number of mapped tiles.

    ``step``: the value of the largest ``tiles`` entry <= n. ``linear``: interpolated
    between entries. Both hold the end values outside the table.
    """

    tiles: Annotated[tuple[PosInt, ...], Field(min_length=1)]
    latency_ns: Annotated[tuple[NonNegFloat, ...], Field(min_length=1)]
    interpolation: Literal["step", "linear"]

    @model_validator(mode="after")
    def _table(self) -> "Barrier":
        problems = []
        if len(self.tiles) != len(self.latency_ns):
            problems.append(("latency_ns", f"must have one entry per tiles entry ({len(self.tiles)}) "
                                           f"(got {len(self.latency_ns)})"))
        if any(b <= a for a, b in zip(self.tiles, self.tiles[1:])):
            problems.append(("tiles", f"must be strictly increasing (got {list(self.tiles)})"))
        if problems:
            raise rule_error(problems)
        return self

    def at(self, n_tiles: int) -> float:
        """Barrier latency in ns when ``n_tiles`` tiles take part."""
        tiles, lat = self.tiles, self.latency_ns
        if n_tiles <= tiles[0]:
            return float(lat[0])
        if n_tiles >= tiles[-1]:
            return float(lat[-1])
        i = max(k for k, t in enumerate(tiles) if t <= n_tiles)
        if self.interpolation == "step" or tiles[i] == n_tiles:
            return float(lat[i])
        frac = (n_tiles - tiles[i]) / (tiles[i + 1] - tiles[i])
        return float(lat[i] + frac * (lat[i + 1] - lat[i]))


class _Prices(_Model):
    """What :class:`Timing` and :class:`Energy` share: one key per priced operation.

    A price with a numeric default that the file does not give is not part of the chip:
    it needs no source, and it is left out of the chip's dump (so a dumped chip, in a
    Mapping file, reads back the same).
    """

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name, info in type(self).model_fields.items():
            if isinstance(info.default, (float, dict)) and name not in self.model_fields_set:
                data.pop(name, None)
        return data


class _TimingRules(_Prices):
    tick_ns: PosFloat | None = None

    @property
    def real_time(self) -> bool:
        return self.tick_ns is not None

    @property
    def times_ns(self) -> dict[str, float | None]:
        """Time per operation (name of :data:`~neurocomp.chip.events.OPERATIONS` -> ns):
        the file's, else the operation's ``default_ns``; ``None`` for a time a real-time
        profile leaves out."""
        return {op.name: getattr(self, f"{op.name}_ns") for op in OPERATIONS}

    @model_validator(mode="after")
    def _complete(self) -> "_TimingRules":
        if self.tick_ns is None:
            missing = [f"{op.name}_ns" for op in OPERATIONS if getattr(self, f"{op.name}_ns") is None]
            missing += ["barrier"] if getattr(self, "barrier") is None else []
            if missing:
                raise rule_error([(k, "required when tick_ns is not set (an event-driven chip "
                                      "needs every operation time)") for k in missing])
        return self

    def barrier_ns(self, n_tiles: int) -> float:
        """Barrier latency for ``n_tiles`` mapped tiles (0 for a real-time chip)."""
        barrier = getattr(self, "barrier")
        return 0.0 if barrier is None else barrier.at(n_tiles)


Timing = create_model(
    "Timing", __base__=_TimingRules, __module__=__name__,
    __doc__="""Time per operation (ns), or a fixed step period for chips that run in real time.

    Per step a core is busy for the sum of its operations' times; the step takes the
    slowest core, its traffic and the barrier. With ``tick_ns`` set the step takes
    exactly ``tick_ns`` and the operation times, when given, are informative.

    Keys: ``tick_ns``; ``<op>_ns`` for every operation ``op`` of
    :data:`~neurocomp.chip.events.OPERATIONS`, each charged per count of its event (a
    time not given is the operation's ``default_ns``; where that is ``None``, an
    event-driven profile must give it); ``host_in_ns``, ``host_out_ns`` per host I/O event
    (:data:`~neurocomp.chip.events.HOST_OPERATIONS`, default 0); ``synop_by_connector``:
    the synaptic operation's time for synapses of one connector kind (``conv2d = 3.1``),
    instead of ``synop_ns``; ``link_ns``, ``interchip_link_ns``, ``router_ns``: the time an
    on-chip link, a chip-to-chip link and a router need per packet, used only when
    contention is replayed (:mod:`neurocomp.report.contention`; default 0, no queues);
    ``barrier`` (required without ``tick_ns``).
    :attr:`times_ns` gives the times by operation.
    """,
    **{f"{op.name}_ns": (NonNegFloat | None, op.default_ns) for op in OPERATIONS},
    **{f"{op.name}_ns": (NonNegFloat, 0.0) for op in HOST_OPERATIONS},
    synop_by_connector=(dict[Connector, NonNegFloat], {}),
    link_ns=(NonNegFloat, 0.0),
    interchip_link_ns=(NonNegFloat, 0.0),
    router_ns=(NonNegFloat, 0.0),
    barrier=(Barrier | None, None),
)


class _EnergyRules(_Prices):
    @property
    def prices_pj(self) -> dict[str, float]:
        """Energy per operation (name of :data:`~neurocomp.chip.events.OPERATIONS` -> pJ):
        the file's, else the operation's ``default_pj``."""
        return {op.name: getattr(self, f"{op.name}_pj") for op in OPERATIONS}


Energy = create_model(
    "Energy", __base__=_EnergyRules, __module__=__name__,
    __doc__="""Energy per operation (pJ) and static power per chip (mW).

    Keys: ``<op>_pj`` for every operation ``op`` of
    :data:`~neurocomp.chip.events.OPERATIONS` (the operations of :class:`Timing`), each
    charged per count of its event; an energy not given is the operation's
    ``default_pj`` (0). ``host_in_pj``, ``host_out_pj``: per host I/O event (default 0).
    ``synop_by_connector``: the synaptic operation's energy for synapses of one
    connector kind, instead of ``synop_pj``. ``static_power_mw``: drawn by every chip of
    the system for the whole run; 0 when not given. :attr:`prices_pj` gives the
    energies by operation.
    """,
    **{f"{op.name}_pj": (NonNegFloat, op.default_pj) for op in OPERATIONS},
    **{f"{op.name}_pj": (NonNegFloat, 0.0) for op in HOST_OPERATIONS},
    synop_by_connector=(dict[Connector, NonNegFloat], {}),
    static_power_mw=(NonNegFloat, 0.0),
)


class Uncertainty(_Model):
    """How far a profile's figures may be from the chip's, as factors of the model's value.

    ``energy = [0.7, 1.3]``: the chip's energy is expected between 0.7x and 1.3x the
    figure. The report prints each figure with its band.
    """

    energy: tuple[PosFloat, PosFloat] | None = None
    latency: tuple[PosFloat, PosFloat] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Uncertainty":
        problems = [(k, f"must be [low, high] with low <= 1 <= high (got {list(band)})")
                    for k, band in (("energy", self.energy), ("latency", self.latency))
                    if band is not None and not band[0] <= 1.0 <= band[1]]
        if problems:
            raise rule_error(problems)
        return self


class Profile(_Model):
    """One consistent set of costs (a paper's table, a calibrated simulator's values).

    ``uncertainty``, when given, is its expected error band; ``caveat``: how far the costs
    can be trusted, when that is less than a measured table (every report priced with the
    profile prints it)."""

    description: Text
    timing: Timing
    energy: Energy
    uncertainty: Uncertainty | None = None
    caveat: Text | None = None


# --------------------------------------------------------------------------- the chip


class MeshPosition(NamedTuple):
    """Where a core sits: chip index, tile column and row on that chip, core in tile."""

    chip: int
    x: int
    y: int
    core_in_tile: int


class Hops(NamedTuple):
    """Links a spike crosses: on-chip east-west, on-chip north-south, chip boundaries."""

    east_west: int
    north_south: int
    interchip: int

    @property
    def total(self) -> int:
        return self.east_west + self.north_south + self.interchip


class Parameter(NamedTuple):
    """One sourced value of a chip: dotted key, value, source."""

    key: str
    value: Any
    source: str


class ChipSpec(_Model):
    """A neuromorphic chip (or a system of identical chips), as data.

    Attributes are grouped as in the chip file: identity (``name``, ``vendor``,
    ``description``, ``sources``), ``topology`` (the on-chip mesh), ``system``
    (chips and their tiling), ``core`` (per-core resources), ``numerics`` (widths),
    ``neuron`` (family and features), ``connectivity`` (routing rules) and
    ``profiles`` (named energy/timing cost sets; ``default_profile`` is used unless
    ``profile`` selects another). ``provenance`` maps dotted keys to sources.
    """

    schema_version: StrictInt = Field(alias="schema")
    name: Name
    vendor: Text
    description: Text
    sources: Annotated[tuple[Reference, ...], Field(min_length=1)]
    topology: Topology
    system: System
    core: Core
    numerics: Numerics
    neuron: Neuron
    connectivity: Connectivity
    profiles: Annotated[dict[Name, Profile], Field(min_length=1)]
    default_profile: Name
    profile: Name | None = None
    provenance: dict[StrictStr, StrictStr] = {}

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    # ----------------------------------------------------------------- validation

    @model_validator(mode="after")
    def _cross_section_rules(self) -> "ChipSpec":
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i, ref in enumerate(self.sources):
            if ref.key in seen:
                problems.append((f"sources.{i}.key", f"reference key '{ref.key}' is declared twice"))
            seen.add(ref.key)
        if self.schema_version != SCHEMA_VERSION:
            problems.append(("schema", f"this neurocomp reads chip files of schema {SCHEMA_VERSION} "
                                       f"(got {self.schema_version})"))
        for name in ("default_profile", "profile"):
            chosen = getattr(self, name)
            if chosen is not None and chosen not in self.profiles:
                problems.append((name, f"no profile named '{chosen}'; profiles: "
                                       f"{', '.join(self.profiles)}"))
        family = find(self.neuron.family)
        if family is None:
            problems.append(("neuron.family", f"unknown neuron family '{self.neuron.family}'; known: "
                                              f"{', '.join(FAMILIES)}"))
        else:
            missing = [key for key in family.chip_keys if self._lookup(key) is None]
            if missing:
                problems.append(("neuron.family", f"family '{self.neuron.family}' needs keys this chip "
                                                  f"lacks: {', '.join(missing)}"))
        if self.total_cores > _MAX_CORE_ID + 1:
            problems.append(("system", f"{self.system.chips:,} chips of {self.topology.cores_per_chip:,} cores are "
                                       f"{self.total_cores:,} cores; a Mapping numbers cores with 32-bit "
                                       f"integers (at most 2^31)"))
        if self.connectivity.processors:
            total = sum(g.count for g in self.connectivity.processors)
            if total != self.topology.cores_per_chip:
                problems.append(("connectivity.processors", f"counts must add up to "
                                                            f"topology.cores_per_chip "
                                                            f"({self.topology.cores_per_chip}) (got {total})"))
        problems += self._magnitude_problems()
        problems += self._provenance_problems()
        if problems:
            raise rule_error(problems)
        return self

    def _magnitude_problems(self) -> list[tuple[str, str]]:
        """Numbers the emulator's 64-bit arithmetic can hold: a width or shift of at most
        63 bits, and every integer exact in a float64 (|n| <= 2^53). (A width of 2^63 - 1
        bits ended in an OverflowError inside the quantizer.)"""
        problems = []
        for key, value in _leaves(self.model_dump(by_alias=True, exclude={"provenance"})):
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                if not isinstance(v, int) or isinstance(v, bool):
                    continue
                last = key.rsplit(".", 1)[-1]
                if key.startswith("numerics.") and (last.endswith("bits") or last.endswith("shift")
                                                     or last.startswith("exponent_")) and abs(v) > 63:
                    problems.append((key, f"{v} bits is wider than the emulator's 64-bit integers (at most 63)"))
                elif abs(v) > _MAX_EXACT:
                    problems.append((key, f"{v} is beyond what neurocomp computes exactly (at most 2^53)"))
        return problems

    def _lookup(self, dotted: str) -> Any:
        node: Any = self
        for part in dotted.split("."):
            if isinstance(node, dict):
                node = node.get(part)
            else:
                node = getattr(node, part, None)
            if node is None:
                return None
        return node

    def _provenance_problems(self) -> list[tuple[str, str]]:
        problems = []
        keys = {r.key for r in self.sources}
        leaves = dict(_leaves(self.model_dump(by_alias=True, exclude={"provenance"})))
        containers = {k.rsplit(".", n)[0] for k in leaves for n in range(1, k.count(".") + 1)}
        for key, source in self.provenance.items():
            if key not in leaves and key not in containers:
                problems.append((key, "has a source but no such key exists"))
            elif not source.strip():
                problems.append((key, "source must not be empty"))
            elif not source.startswith(SOURCE_PREFIXES):
                m = _REF_KEY.match(source)
                if m is None or m.group(1) not in keys:
                    problems.append((key, f"source {toml_text(source)} must start with a key of [[sources]] "
                                          f"({', '.join(sorted(keys))}) or with "
                                          f"{', '.join(repr(p) for p in SOURCE_PREFIXES)}"))
        for key, value in leaves.items():
            if key == "schema" or not has_number(value):
                continue
            if self.source_of(key) is None:
                problems.append((key, needs_source(value)))
        return problems

    # ----------------------------------------------------------------- provenance

    def source_of(self, key: str) -> str | None:
        """The source of a dotted key: its own, or the nearest enclosing value's."""
        parts = key.split(".")
        for n in range(len(parts), 0, -1):
            source = self.provenance.get(".".join(parts[:n]))
            if source is not None:
                return source
        return None

    def parameters(self, *, include_unsourced: bool = False) -> list[Parameter]:
        """Every value with its source, in schema order: ``(dotted key, value, source)``.

        A table or array of tables is given leaf by leaf, each with the source that
        covers it. Values without a source (names, modes) are included, with source
        ``""``, when ``include_unsourced``; absent optional values never are.
        """
        found = []
        for key, value in _leaves(self.model_dump(by_alias=True, exclude={"provenance"})):
            if value is None or value == ():
                continue
            source = self.source_of(key)
            if source is not None or include_unsourced:
                found.append(Parameter(key, value, source or ""))
        return found

    def reference(self, key: str) -> Reference | None:
        """The ``[[sources]]`` entry named ``key``."""
        return next((r for r in self.sources if r.key == key), None)

    # ----------------------------------------------------------------- profiles

    @property
    def active_profile(self) -> str:
        """Name of the cost profile in use: ``profile`` if chosen, else the default."""
        return self.profile or self.default_profile

    @property
    def cost(self) -> Profile:
        return self.profiles[self.active_profile]

    @property
    def energy(self) -> Energy:
        """Energy costs of the active profile."""
        return self.cost.energy

    @property
    def timing(self) -> Timing:
        """Timing costs of the active profile."""
        return self.cost.timing

    # ----------------------------------------------------------------- capacity

    @property
    def n_chips(self) -> int:
        return self.system.chips

    @property
    def total_cores(self) -> int:
        """Usable cores in the whole system."""
        return self.topology.cores_per_chip * self.system.chips

    def limits(self) -> dict[str, int]:
        """Per-core capacities by resource name, only those this chip has.

        Always ``neurons`` and ``synapse_memory_bits``; then, where the chip has them,
        ``axons_in``, ``axons_out``, ``input_sram_bytes``, ``weight_sram_bytes`` and
        ``config_registers.<kind>``. A partitioner checks a slice against every entry.
        """
        core = self.core
        out: dict[str, int] = {"neurons": core.neurons}
        if core.axons_in is not None:
            out["axons_in"] = core.axons_in
        if core.axons_out is not None:
            out["axons_out"] = core.axons_out
        out["synapse_memory_bits"] = core.synapse_memory_bits
        if core.sram is not None:
            out["input_sram_bytes"] = core.sram.input_bytes
            out["weight_sram_bytes"] = core.sram.weight_bytes
        for kind, count in core.config_registers.items():
            out[f"config_registers.{kind}"] = count
        return out

    # ----------------------------------------------------------------- geometry

    @cached_property
    def _usable_slots(self) -> tuple[int, ...]:
        reserved = set(self.topology.reserved_slots)
        return tuple(s for s in range(self.topology.slots) if s not in reserved)

    def _core_index(self, core_id: Any) -> int:
        # operator.index accepts Python and numpy integers but not floats; bools are refused.
        try:
            index = operator.index(core_id)
        except TypeError:
            index = None
        if index is None or isinstance(core_id, (bool, np.bool_)) or not 0 <= index < self.total_cores:
            raise ValueError(f"core id must be an integer in [0, {self.total_cores}) for chip "
                             f"'{self.name}' (got {core_id!r})")
        return index

    def mesh_position(self, core_id: int) -> MeshPosition:
        """``(chip, x, y, core_in_tile)`` of a global core id (x, y: tile on that chip)."""
        core_id = self._core_index(core_id)
        chip, local = divmod(core_id, self.topology.cores_per_chip)
        tile, core_in_tile = divmod(self._usable_slots[local], self.topology.cores_per_tile)
        y, x = divmod(tile, self.topology.tiles_x)
        return MeshPosition(chip, x, y, core_in_tile)

    def chip_position(self, chip: int) -> tuple[int, int]:
        """``(chip_x, chip_y)`` of a chip index in the system's tiling (row-major)."""
        if not 0 <= chip < self.system.chips:
            raise ValueError(f"chip index must be in [0, {self.system.chips}) (got {chip!r})")
        cy, cx = divmod(chip, self.system.chips_x)
        return cx, cy

    def global_tile(self, core_id: int) -> tuple[int, int]:
        """Tile coordinates of a core on the system-wide mesh (chips side by side)."""
        pos = self.mesh_position(core_id)
        cx, cy = self.chip_position(pos.chip)
        return cx * self.topology.tiles_x + pos.x, cy * self.topology.tiles_y + pos.y

    def hops(self, core_a: int, core_b: int) -> Hops:
        """Links a spike from ``core_a`` to ``core_b`` crosses under dimension-order routing.

        Every link is counted once: a link between two chips counts in ``interchip``,
        not in ``east_west``/``north_south``. Cores in one tile: ``(0, 0, 0)``.
        """
        ax, ay = self.global_tile(core_a)
        bx, by = self.global_tile(core_b)
        acx, acy = self.chip_position(self.mesh_position(core_a).chip)
        bcx, bcy = self.chip_position(self.mesh_position(core_b).chip)
        chips_x, chips_y = abs(acx - bcx), abs(acy - bcy)
        return Hops(abs(ax - bx) - chips_x, abs(ay - by) - chips_y, chips_x + chips_y)

    def tiles_spanned(self, core_ids: Iterable[int]) -> int:
        """Number of distinct tiles (over all chips) holding the given cores."""
        return len({self.mesh_position(c)[:3] for c in core_ids})

    @cached_property
    def _coordinates(self) -> "_Cached":
        from ..resources import require_memory

        require_memory(self.total_cores * 4 * 8, f"the core table of {self.n_chips:,} chips of {self.name} "
                       f"({self.total_cores:,} cores)", hint="declare fewer chips")
        table = self.coordinates_of(np.arange(self.total_cores, dtype=np.int64))
        table.flags.writeable = False
        return _Cached(table)

    @cached_property
    def _local_tiles(self) -> "_Cached":
        """Per core of one chip: its tile's x and y on that chip (the same on every chip)."""
        tiles = np.array(self._usable_slots, dtype=np.int64) // self.topology.cores_per_tile
        return _Cached(np.stack([tiles % self.topology.tiles_x, tiles // self.topology.tiles_x], axis=1))

    def coordinates_of(self, core_ids: ArrayLike) -> np.ndarray:
        """``(n, 4)`` int64: global tile x, y and chip x, y of each core id (ids must be
        in range), computed from the ids alone: the cost grows with the cores asked
        about, not with the system's size (:meth:`mesh_position`, vectorised)."""
        ids = np.asarray(core_ids, dtype=np.int64)
        chip, local = np.divmod(ids, self.topology.cores_per_chip)
        cy, cx = np.divmod(chip, self.system.chips_x)
        xy = self._local_tiles.value[local]
        return np.stack([cx * self.topology.tiles_x + xy[..., 0], cy * self.topology.tiles_y + xy[..., 1],
                         cx, cy], axis=-1).astype(np.int64, copy=False)

    def coordinates(self) -> np.ndarray:
        """Read-only ``(total_cores, 4)`` int64 array: global tile x, y and chip x, y per core."""
        return self._coordinates.value

    def hops_array(self, core_a: ArrayLike, core_b: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`hops` for arrays of core ids: ``(east_west, north_south, interchip)`` arrays."""
        a = np.asarray(core_a, dtype=np.int64)
        b = np.asarray(core_b, dtype=np.int64)
        for ids in (a, b):
            if ids.size and (ids.min() < 0 or ids.max() >= self.total_cores):
                raise ValueError(f"core ids must be in [0, {self.total_cores}) for chip '{self.name}'")
        ca, cb = self.coordinates_of(a), self.coordinates_of(b)  # no whole-system table
        d = np.abs(ca - cb)
        return d[..., 0] - d[..., 2], d[..., 1] - d[..., 3], d[..., 2] + d[..., 3]

    # ----------------------------------------------------------------- variants

    def with_profile(self, profile: str | None) -> "ChipSpec":
        """This chip with another cost profile selected (validated)."""
        return self._replace(profile=profile)

    def with_system(self, chips_x: int, chips_y: int, source: str) -> "ChipSpec":
        """This chip as a ``chips_x`` x ``chips_y`` system; ``source`` says who chose it."""
        provenance = dict(self.provenance)
        provenance["system.chips_x"] = source
        provenance["system.chips_y"] = source
        system = dict(self.system.model_dump(), chips_x=chips_x, chips_y=chips_y)
        return self._replace(system=system, provenance=provenance)

    def _replace(self, **changes: Any) -> "ChipSpec":
        data = self.model_dump(by_alias=True)
        data.update(changes)
        return type(self).model_validate(data)


class _Cached:
    """A value computed from a chip and kept on it; never part of the chip's equality.

    (pydantic compares models by ``__dict__``, where ``cached_property`` stores values.)
    """

    __slots__ = ("value",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Cached)


def has_number(value: Any) -> bool:
    """True for a number, or an array holding one (booleans are not numbers)."""
    if isinstance(value, (list, tuple)):
        return any(has_number(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def needs_source(value: Any) -> str:
    """The message for a number written without a source."""
    return f"needs a source: write {{ value = {toml_text(value)}, source = \"...\" }}"


def toml_text(value: Any) -> str:
    """A value as it would be written in TOML (for messages)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_text(v)}" for k, v in value.items()) + " }"
    return repr(value)


def _leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every leaf of a dumped model.

    Tables and arrays of tables are walked (array items by index); an array of scalars
    is one leaf, as it is one value in the file.
    """
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, (list, tuple)) and any(isinstance(v, dict) for v in node):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{prefix}.{i}")
    else:
        yield prefix, node
