"""LoweredNetwork: a network with every projection's synapses made explicit.

Produced by the ``lower`` pass (:func:`neurocomp.compiler.lower.lower`), read by
``quantize``. The network's float parameters are unchanged; ``synapses`` holds one
:class:`~neurocomp.ir.synapses.Synapses` per projection, in the network's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .network import Network
from .synapses import Synapses

__all__ = ["LoweredNetwork"]


@dataclass(frozen=True, eq=False, kw_only=True)
class LoweredNetwork:
    """A network and its lowered synapses (CSR by presynaptic neuron, float weights)."""

    network: Network
    synapses: Mapping[str, Synapses]

    def describe(self) -> str:
        """One line per projection: its synapses and delays (what ``--dump-after lower`` prints)."""
        lines = [f"lowered '{self.network.name}'"]
        for name, syn in self.synapses.items():
            delays = (f"delays {int(syn.delays.min())}..{syn.max_delay}" if syn.delays is not None and len(syn.delays)
                      else f"delay {syn.delay}")
            lines.append(f"projection {name}: {syn.n_pre} -> {syn.n_post}, {syn.n_synapses:,} synapses, {delays}")
        return "\n".join(lines) + "\n"
