"""Explicit synapses: the lowered form of one projection, and input events per step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Synapses", "InputEvents"]


@dataclass(frozen=True, eq=False, kw_only=True)
class Synapses:
    """One projection as CSR by presynaptic neuron.

    Row ``i`` (source neuron ``i``, flat index) holds the synapses
    ``indptr[i]:indptr[i+1]``: target neuron ``indices[k]`` (flat index in the target
    population), weight ``weights[k]``, extra delay ``delays[k]`` steps (or the one
    ``delay`` for all when ``delays`` is ``None``). Within a row, targets are
    non-decreasing (a sparse file may list one pair twice).
    """

    projection: str
    n_pre: int
    n_post: int
    indptr: np.ndarray  # int64, n_pre + 1
    indices: np.ndarray  # int32
    weights: np.ndarray  # float64
    delay: int = 0
    delays: np.ndarray | None = None  # int32 per synapse, overrides ``delay``

    @property
    def n_synapses(self) -> int:
        return int(self.indptr[-1])

    @property
    def max_delay(self) -> int:
        if self.delays is not None and len(self.delays):
            return int(self.delays.max())
        return self.delay

    def delay_array(self) -> np.ndarray:
        """Per-synapse delays (materialised when one delay is shared)."""
        if self.delays is not None:
            return self.delays
        return np.full(self.n_synapses, self.delay, dtype=np.int32)

    @property
    def nbytes(self) -> int:
        extra = self.delays.nbytes if self.delays is not None else 0
        return self.indptr.nbytes + self.indices.nbytes + self.weights.nbytes + extra


@dataclass(frozen=True, eq=False, kw_only=True)
class InputEvents:
    """What an input population emits, step by step, as CSR by step.

    Events of step ``t`` are ``step_ptr[t]:step_ptr[t+1]``: neuron ``indices[k]`` emits
    ``values[k]`` (1.0 for a spike, the current for a graded source).
    """

    population: str
    n: int
    steps: int
    step_ptr: np.ndarray  # int64, steps + 1
    indices: np.ndarray  # int64
    values: np.ndarray  # float64

    @property
    def n_events(self) -> int:
        return int(self.step_ptr[-1])

    def raster(self) -> np.ndarray:
        """A dense ``steps x n`` array of the emitted values (for tests and plots)."""
        out = np.zeros((self.steps, self.n), dtype=np.float64)
        t = np.repeat(np.arange(self.steps), np.diff(self.step_ptr))
        out[t, self.indices] = self.values
        return out
