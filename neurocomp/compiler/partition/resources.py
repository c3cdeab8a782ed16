"""The resource model: what a slice of a population or projection costs on one core.

Every resource the chip names in ``chip.limits()`` is counted exactly as the Mapping will
hold it (per core):

``neurons``
    its compartments: neurons plus relays.
``axons_in`` (fan-in)
    distinct (source neuron, projection) pairs with a synapse onto the core (one axon
    each), plus one axon per relaying neuron (the splitter's input).
``axons_out`` (fan-out)
    routes from its compartments: one per (compartment, destination core, projection).
``synapse_memory_bits``
    per projection, :func:`neurocomp.chip.packing.synapse_memory_bits` over the synapse
    counts of its axons on the core, with the projection's weight width and a delay
    field of ``max_delay.bit_length()`` bits. Dense format (no index) when every axon of
    the projection reaches every compartment the core holds of the target population,
    sparse otherwise with ``index_range`` = that number of compartments; the cheaper of
    the two when both apply.
``weight_sram_bytes`` / ``input_sram_bytes`` (Akida)
    synapse memory in bytes; the activations of the core's input axons (each source's
    ``act_bits``; input populations at the chip's widest input width) in bytes.
``config_registers.<kind>``
    distinct parameter sets on the core: the parameters that share a register, as the
    chip's neuron family declares them (:attr:`~neurocomp.chip.family.Family.neuron_registers`),
    or per projection the synapse format (:attr:`~neurocomp.chip.family.Family.synapse_registers`).
    A kind the family does not name is counted 0. Learning registers
    (:attr:`~neurocomp.chip.family.Family.learning_registers`, Loihi's ``stdp_pre``): one per
    distinct pre-trace setting (x1, x2) of the plastic projections into the core.
processor kinds (Akida)
    a core runs one processor kind, which must run every layer kind
    (:data:`LAYER_KINDS`) whose output the core holds.

This module holds the tables and the per-projection rules; :mod:`.problem` turns them into
the flat arrays the kernels count with, and :mod:`.measure` counts a finished cut.
"""

from __future__ import annotations

import math

import numpy as np

from ...chip.spec import ChipSpec
from ...chip.packing import UnaddressableError
from ...chip.packing import synapse_memory_bits as _packing_bits
from ...diagnostics import QuantizationError
from ...ir.connectors import AllToAll, Conv2d, Dense, OneToOne, Pool2d, Random, Sparse
from ...ir.quantized import QProjection, QuantizedNetwork

__all__ = ["RESOURCES", "LAYER_KINDS", "synapse_memory_bits"]

#: Resource names in the order the kernels count them (a chip has a subset).
RESOURCES = ("neurons", "axons_in", "axons_out", "synapse_memory_bits", "input_sram_bytes",
             "weight_sram_bytes")
# The kernel slot of each of RESOURCES; config registers follow from slot len(RESOURCES).
NEURONS, AXONS_IN, AXONS_OUT, SYNAPSE_MEM, INPUT_SRAM, WEIGHT_SRAM = range(6)
#: The limit of a resource the chip does not name (large, yet safe to add to).
NO_LIMIT = np.iinfo(np.int64).max // 4

#: Layer kind of each connector (Akida's ``connectivity.layer_kinds`` vocabulary).
LAYER_KINDS: dict[type, str] = {Conv2d: "conv", Pool2d: "conv", Dense: "dense", Sparse: "dense",
                                Random: "dense", AllToAll: "dense", OneToOne: "dense"}


def synapse_memory_bits(chip: ChipSpec, counts, **kwargs):
    """The packing rule's bits, or one more than a core holds where the sparse format cannot
    address the targets (so the partitioner splits the target population instead)."""
    try:
        return _packing_bits(chip, counts, **kwargs)
    except UnaddressableError:
        return chip.core.synapse_memory_bits + 1


def packing_weight_bits(chip: ChipSpec, qp: QProjection, pre_is_input: bool, where: str, span) -> tuple[int, int]:
    """Weight width to hand the packing rule, and how many stored weights one synapse takes.

    An input layer's wider weights (``numerics.weights.input_layer_bits``, Akida) are
    counted as several weights of the widest regular width."""
    bits = chip.numerics.weights
    if qp.weight_bits <= bits.max_bits:
        return int(qp.weight_bits), 1
    if pre_is_input and bits.input_layer_bits is not None and qp.weight_bits <= bits.input_layer_bits:
        return bits.max_bits, -(-int(qp.weight_bits) // bits.max_bits)
    raise QuantizationError(f"{where} has {qp.weight_bits}-bit weights, but {chip.name} stores at most "
                            f"{bits.max_bits} bits per weight", span=span, where=where,
                            hint="quantize the network for this chip (neurocomp.compiler.quantize)")


def layer_kinds_into(qnet: QuantizedNetwork, pop: str) -> str:
    """The layer kinds feeding ``pop``, in words (``"conv, dense"``)."""
    kinds = sorted({LAYER_KINDS.get(type(p.connector), "dense") for p in qnet.network.projections
                    if p.post == pop})
    return ", ".join(kinds)


def processor_masks(qnet: QuantizedNetwork, chip: ChipSpec, pops: list[str]) -> tuple[list[str], np.ndarray]:
    """Processor kinds of the chip, and per population the bitmask of those that run
    every layer kind feeding it (all ones on chips without processor kinds)."""
    conn = chip.connectivity
    kinds = sorted({k for group in conn.processors for k in group.kinds})
    masks = np.full(len(pops), -1, dtype=np.int64)
    if not kinds:
        return [], masks
    index = {p: i for i, p in enumerate(pops)}
    needs: dict[str, set[str]] = {p: set() for p in pops}
    for proj in qnet.network.projections:
        kind = LAYER_KINDS.get(type(proj.connector), "dense")
        needs[proj.post].add(kind)
    for pop, wanted in needs.items():
        mask = 0
        for bit, kind in enumerate(kinds):
            if wanted <= set(conn.layer_kinds.get(kind, ())):
                mask |= 1 << bit
        masks[index[pop]] = mask
    return kinds, masks


def synapse_tables(chip: ChipSpec, neurons_limit: int, spec: list[tuple[int, int, int, int, bool]]):
    """Per projection, bits per axon by synapse count for the dense format (column 0) and
    every sparse index width (columns 1..): ``tab[o * L + c]``.

    ``spec`` rows: (weight bits, multiplier, delay bits, longest count, dense allowed).
    A packing rule's cost may depend on ``index_range`` only through its bit width, so
    sparse columns are computed for ranges 1, 2, 4, ... up to the core's neuron count.
    """
    widths = max(1, math.ceil(math.log2(max(neurons_limit, 1)))) + 1
    ranges = [None] + [1 << w for w in range(widths)]
    cache: dict[tuple, np.ndarray] = {}

    def column(wbits, mult, dbits, L, index_range):
        key = (wbits, mult, dbits, L, index_range)
        if key not in cache:
            cache[key] = np.array([synapse_memory_bits(chip, [c * mult], weight_bits=wbits, delay_bits=dbits,
                                                       index_range=index_range) for c in range(L + 1)],
                                  dtype=np.int64)
        return cache[key]

    per_proj = [[column(wbits, mult, dbits, L, r) for r in ranges] for wbits, mult, dbits, L, _dense in spec]
    # Index widths that cost the same for every projection share one column (Loihi's
    # narrowest index is 6 bits: ranges 1..64 all cost alike).
    signature = [tuple(cols[o].tobytes() for cols in per_proj) for o in range(len(ranges))]
    keep: list[int] = []
    column_of = np.zeros(len(ranges), dtype=np.int64)
    for o, sig in enumerate(signature):
        match = next((k for k, kept in enumerate(keep) if signature[kept] == sig and o > 0 and kept > 0), None)
        if match is None:
            keep.append(o)
            match = len(keep) - 1
        column_of[o] = match
    tabs, offs, lens = [], [], []
    off = 0
    for cols, (_w, _m, _d, L, _dense) in zip(per_proj, spec):
        tabs.append(np.concatenate([cols[o] for o in keep]))
        offs.append(off)
        lens.append(L + 1)
        off += (L + 1) * len(keep)
    n = np.arange(neurons_limit + 2, dtype=np.int64)
    need = np.zeros_like(n)
    need[2:] = np.ceil(np.log2(n[2:])).astype(np.int64)
    opt_of_n = column_of[1 + np.minimum(need, widths - 1)]
    tab = np.concatenate(tabs) if tabs else np.zeros(1, dtype=np.int64)
    return tab, np.array(offs, dtype=np.int64), np.array(lens, dtype=np.int64), len(keep), opt_of_n


def set_ids(columns: list[np.ndarray], valid: np.ndarray, offset: int) -> tuple[np.ndarray, int]:
    """Ids of distinct rows of ``columns`` (where ``valid``), starting at ``offset``; -1 elsewhere."""
    n = valid.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    if not columns or not valid.any():
        return out, 0
    stacked = np.stack([c[valid] for c in columns], axis=1)
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = np.asarray(inverse, dtype=np.int64).reshape(-1)
    out[valid] = inverse + offset
    return out, int(inverse.max()) + 1 if inverse.size else 0
