"""Peers' rules that the benchmarks (and the tests that compare against them) measure neurocomp by.

Import it with ``benchmarks/`` on ``sys.path``, as the benchmark scripts import ``_common``.
"""

from __future__ import annotations

import math

from neurocomp.compiler.partition import population_usage
from neurocomp.ir.quantized import QuantizedNetwork

__all__ = ["nengo_loihi_cores"]


def nengo_loihi_cores(qnet: QuantizedNetwork, chip=None) -> int:
    """Cores nengo-loihi's rule would take: one block per core, each population split
    into ``n_split = max(ceil(usage / limit))`` equal blocks over compartments, in- and
    out-axons and synapse memory (nengo-loihi 1.1 ``split_blocks.py``).

    Its blocks are not re-checked here: on irregular graphs an equal split can still leave
    a block over a limit (nengo-loihi says so in its code), so this is a lower bound on
    what it would need.
    """
    chip = qnet.chip if chip is None else chip
    limits = chip.limits()
    total = 0
    for usage in population_usage(qnet, chip).values():
        total += max(math.ceil(usage[r] / limits[r]) for r in ("neurons", "axons_in", "axons_out",
                                                               "synapse_memory_bits") if r in limits)
    return total
