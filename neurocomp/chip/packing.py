"""Synapse-memory packing rules: how many bits of a core's synapse memory a slice uses.

A chip file names its rule (``[core.packing] rule = "..."``) and gives the rule's
numbers; this module holds one pure function per rule, registered by that name. The
partitioner calls :func:`synapse_memory_bits` and compares the result with
``chip.core.synapse_memory_bits``; it never needs to know which rule applies.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from .spec import ChipSpec, CrossbarPacking, LoihiSynapseGroups, PackedWeights

__all__ = ["PACKING_RULES", "packing_rule", "synapse_memory_bits", "stored_weight_bits"]

#: ``(chip, synapses per input axon, weight bits, delay bits, index range) -> bits``
PackingFn = Callable[[ChipSpec, np.ndarray, int, int, "int | None"], int]

PACKING_RULES: dict[str, PackingFn] = {}


def packing_rule(name: str) -> Callable[[PackingFn], PackingFn]:
    """Register a packing function under the ``rule`` name chip files use."""

    def register(fn: PackingFn) -> PackingFn:
        if name in PACKING_RULES:
            raise ValueError(f"packing rule '{name}' is registered twice")
        PACKING_RULES[name] = fn
        return fn

    return register


def stored_weight_bits(chip: ChipSpec, weight_bits: int) -> int:
    """The width a weight of ``weight_bits`` bits is stored at: the next width the chip has."""
    for bits in chip.numerics.weights.bits:
        if bits >= weight_bits:
            return bits
    raise ValueError(f"chip '{chip.name}' stores weights of at most {chip.numerics.weights.max_bits} "
                     f"bits (asked for {weight_bits})")


def synapse_memory_bits(chip: ChipSpec, synapses_per_axon: ArrayLike, *, weight_bits: int,
                        delay_bits: int = 0, index_range: int | None = None) -> int:
    """Bits of synapse memory that a core spends on a set of input axons.

    Parameters
    ----------
    chip
        The chip; its ``core.packing.rule`` picks the formula.
    synapses_per_axon
        For each input axon of the core, how many synapses (targets in this core) it has.
    weight_bits
        Weight width the quantizer chose; rounded up to a width the chip stores.
    delay_bits
        Width of a per-synapse delay field (0 when no synapse of the slice has a delay).
    index_range
        ``None`` for dense synapses (one per target, no index stored); otherwise the
        number of target positions a sparse synapse must be able to address.

    Returns
    -------
    int
        Bits used, to compare with ``chip.core.synapse_memory_bits``.
    """
    counts = np.asarray(synapses_per_axon, dtype=np.int64).reshape(-1)
    if counts.size and counts.min() < 0:
        raise ValueError(f"synapse counts must be >= 0 (got {int(counts.min())})")
    if delay_bits < 0:
        raise ValueError(f"delay_bits must be >= 0 (got {delay_bits})")
    if index_range is not None and index_range < 1:
        raise ValueError(f"index_range must be >= 1 or None (got {index_range})")
    return PACKING_RULES[chip.core.packing.rule](chip, counts, weight_bits, delay_bits, index_range)


class UnaddressableError(ValueError):
    """The sparse format's widest index cannot address that many targets on one core."""


@packing_rule("loihi_synapse_groups")
def _loihi_synapse_groups(chip: ChipSpec, counts: np.ndarray, weight_bits: int, delay_bits: int,
                          index_range: int | None) -> int:
    # nengo-loihi SynapseConfig.bits_per_axon: per axon, synapses are cut into groups;
    # each group carries a format index and a count, then is padded to whole words.
    rule = chip.core.packing
    assert isinstance(rule, LoihiSynapseGroups)
    per_synapse = stored_weight_bits(chip, weight_bits) + delay_bits
    if index_range is not None:
        needed = (int(index_range) - 1).bit_length()  # ceil(log2(index_range)), 0 for 1
        fitting = [b for b in rule.index_bits if b >= needed]
        if not fitting:
            raise UnaddressableError(f"chip '{chip.name}' addresses at most 2**{max(rule.index_bits)} "
                                     f"sparse targets (asked for {index_range})")
        per_synapse += fitting[0]
    group = rule.synapses_per_group
    header = rule.format_index_bits + rule.count_bits

    def words(n):  # an int or an int64 array
        return -(-(n * per_synapse + header) // rule.word_bits)

    # One axon (the partitioner tabulates its cost count by count) in Python ints: numpy's
    # overhead per call on one-element arrays was 3-4x the arithmetic.
    full, rest = divmod(int(counts[0]), group) if counts.size == 1 else np.divmod(counts, group)
    bits = full * words(group) + (rest > 0) * words(rest)
    return int(bits if counts.size == 1 else bits.sum()) * rule.word_bits


@packing_rule("crossbar")
def _crossbar(chip: ChipSpec, counts: np.ndarray, weight_bits: int, delay_bits: int,
              index_range: int | None) -> int:
    # A used axon owns a whole crossbar row, however few of its synapses are set; the
    # weight itself lives with the neuron (one per axon type), not in the crossbar.
    assert isinstance(chip.core.packing, CrossbarPacking) and chip.core.crossbar is not None
    xb = chip.core.crossbar
    return int(np.count_nonzero(counts > 0)) * xb.neurons * xb.synapse_bits


@packing_rule("packed_weights")
def _packed_weights(chip: ChipSpec, counts: np.ndarray, weight_bits: int, delay_bits: int,
                    index_range: int | None) -> int:
    rule = chip.core.packing
    assert isinstance(rule, PackedWeights)
    bits = int(counts.sum()) * (stored_weight_bits(chip, weight_bits) + delay_bits)
    return -(-bits // rule.word_bits) * rule.word_bits
