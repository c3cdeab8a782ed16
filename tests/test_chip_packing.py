"""Synapse-memory packing rules against values computed by hand."""

from __future__ import annotations

import typing
from pathlib import Path

import numpy as np
import pytest

from neurocomp.chip.load import load_chip
from neurocomp.chip.packing import PACKING_RULES, stored_weight_bits, synapse_memory_bits
from neurocomp.chip.spec import Core

TINY = Path(__file__).parent / "data" / "tiny.toml"


def test_every_rule_in_the_schema_is_registered():
    members = typing.get_args(Core.model_fields["packing"].annotation)  # the discriminated union
    names = {typing.get_args(m.model_fields["rule"].annotation)[0] for m in members}
    assert names == set(PACKING_RULES) == {"loihi_synapse_groups", "crossbar", "packed_weights"}


# --------------------------------------------------------------------------- Loihi
# nengo-loihi bits_per_axon: groups of 64 synapses; a group of n takes
# n * (weight + delay [+ index]) + 4 + 6 bits, rounded up to a multiple of 64.


def test_loihi_dense_one_axon_two_groups():
    loihi = load_chip("loihi")
    # 100 = 64 + 36:  64*8 + 10 = 522 -> 576;  36*8 + 10 = 298 -> 320.
    assert synapse_memory_bits(loihi, [100], weight_bits=8) == 576 + 320 == 896


def test_loihi_seven_bit_weights_are_stored_as_eight():
    loihi = load_chip("loihi")
    assert stored_weight_bits(loihi, 7) == 8
    assert synapse_memory_bits(loihi, [100], weight_bits=7) == 896


def test_loihi_several_axons_each_padded_to_words():
    loihi = load_chip("loihi")
    # 64 -> 576;  1 synapse: 8 + 10 = 18 -> 64;  an axon without synapses takes nothing.
    assert synapse_memory_bits(loihi, np.array([64, 1, 0]), weight_bits=8) == 640


def test_loihi_sparse_synapses_store_an_index():
    loihi = load_chip("loihi")
    # 100 targets need ceil(log2 100) = 7 index bits; (8 + 7) * 10 + 10 = 160 -> 192.
    assert synapse_memory_bits(loihi, [10], weight_bits=8, index_range=100) == 192
    # One target needs 0 bits, but the narrowest index format is 6: (8 + 6) * 10 + 10 = 150 -> 192.
    assert synapse_memory_bits(loihi, [10], weight_bits=8, index_range=1) == 192
    # 1024 targets: 10 bits; (4 + 10) * 64 + 10 = 906 -> 960.
    assert synapse_memory_bits(loihi, [64], weight_bits=4, index_range=1024) == 960


def test_loihi_delay_bits():
    loihi = load_chip("loihi")
    # (4 + 6) * 64 + 10 = 650 -> 704.
    assert synapse_memory_bits(loihi, [64], weight_bits=4, delay_bits=6) == 704


def test_loihi_dense_1024_by_1024_needs_nine_cores_of_synapse_memory():
    loihi = load_chip("loihi")
    bits = synapse_memory_bits(loihi, np.full(1024, 1024), weight_bits=8)
    assert bits == 1024 * 16 * 576
    assert -(-bits // loihi.core.synapse_memory_bits) == 9


def test_loihi_out_of_range_requests():
    loihi = load_chip("loihi")
    with pytest.raises(ValueError, match="at most 8 bits"):
        synapse_memory_bits(loihi, [1], weight_bits=9)
    with pytest.raises(ValueError, match="sparse"):
        synapse_memory_bits(loihi, [1], weight_bits=8, index_range=5000)  # 13 bits > 12
    with pytest.raises(ValueError):
        synapse_memory_bits(loihi, [-1], weight_bits=8)


def test_tiny_chip_small_groups():
    tiny = load_chip(TINY)
    # Groups of 8: 10 = 8 + 2:  8*8 + 10 = 74 -> 128;  2*8 + 10 = 26 -> 64.
    assert synapse_memory_bits(tiny, [10], weight_bits=8) == 192
    # 3-bit weights are stored in 4 bits: 8*4 + 10 = 42 -> 64;  2*4 + 10 = 18 -> 64.
    assert synapse_memory_bits(tiny, [10], weight_bits=3) == 128
    # 16 targets: 4 index bits. (8 + 4) * 8 + 10 = 106 -> 128.
    assert synapse_memory_bits(tiny, [8], weight_bits=8, index_range=16) == 128


# --------------------------------------------------------------------------- TrueNorth, Akida


def test_truenorth_crossbar_rows():
    truenorth = load_chip("truenorth")
    # A used axon takes its whole 256-bit row, however many synapses it sets.
    assert synapse_memory_bits(truenorth, [3, 0, 256, 1], weight_bits=9) == 3 * 256
    assert synapse_memory_bits(truenorth, np.ones(256), weight_bits=9) == truenorth.core.synapse_memory_bits


def test_akida_packed_weights():
    akida = load_chip("akida")
    assert synapse_memory_bits(akida, [600, 400], weight_bits=4) == 4000
    assert synapse_memory_bits(akida, [1000], weight_bits=3) == 4000  # stored as 4 bits
    assert synapse_memory_bits(akida, [3], weight_bits=1) == 8  # rounded up to a byte
    # The 44,800-byte weight SRAM holds 89,600 4-bit weights and not one more.
    assert synapse_memory_bits(akida, [89600], weight_bits=4) == akida.core.synapse_memory_bits
    assert synapse_memory_bits(akida, [89601], weight_bits=4) > akida.core.synapse_memory_bits


def test_one_axon_costs_what_it_costs_among_others() -> None:
    # One axon's cost is worked out in Python ints, several axons' in numpy arrays: an
    # axon's bits must not depend on the way, for every width, delay and index range.
    loihi = load_chip("loihi")
    rng = np.random.default_rng(5)
    counts = np.concatenate([np.arange(0, 300), rng.integers(0, 5000, 200)])
    for weight_bits in (1, 4, 8):
        for delay_bits in (0, 6):
            for index_range in (None, 1, 2, 64, 65, 1000, 4096):
                kw = dict(weight_bits=weight_bits, delay_bits=delay_bits, index_range=index_range)
                each = [synapse_memory_bits(loihi, [int(c)], **kw) for c in counts]
                pairs = [synapse_memory_bits(loihi, np.array([c, 0]), **kw) for c in counts[:20]]
                assert pairs == each[:20]  # an axon without synapses costs nothing
                assert sum(each) == synapse_memory_bits(loihi, counts, **kw)
    assert synapse_memory_bits(loihi, [np.int64(100)], weight_bits=8,
                               index_range=np.int64(100)) == synapse_memory_bits(loihi, [100, 0], weight_bits=8,
                                                                                 index_range=100)
