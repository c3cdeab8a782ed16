"""The Mapping: the compiler's only product, and the emulator's only input.

It says which neuron sits on which core of which chip, the integers every core stores,
and how every spike is routed. It is complete: the emulator needs nothing else (the
float network rides along only for names and the input encoders).

Vocabulary
----------
compartment
    One neuron slot on a core. Compartments are numbered globally, grouped by core in
    ascending core id; within a core, in the order of ``cores[k].slices``. A compartment
    holds a neuron of a population, or a *relay* (a copy that only forwards spikes, e.g.
    a TrueNorth splitter): ``comp_pop == -1``, ``comp_index`` = the compartment it copies.
source
    Anything that emits spikes: the compartments (source id = compartment id), then the
    neurons of the input populations (source id = ``n_comp + input_offset[pop] + i``).
    Inputs enter the mesh from off-chip (the host); their routes cost no hops.
axon
    An input line of one core (``axon_core``), fed by exactly one source through one
    projection (``axon_projection``); it fans out to that core's compartments through its
    synapses ``axon_syn_ptr[a]:axon_syn_ptr[a+1]``. The distinct axons of a core are what
    its fan-in limit (``axons_in``) counts.
route
    A source's link to one axon: ``route_axon[route_ptr[s]:route_ptr[s+1]]``. The routes of
    a core's compartments are what its fan-out limit (``axons_out``) counts; TrueNorth
    allows one route per compartment.

A spike of source ``s`` at step ``t`` travels every route of ``s``; on arrival at axon
``a`` every synapse ``k`` of ``a`` adds ``syn_weight[k]`` (scaled as the family says, e.g.
``<< axon_weight_exp[a]`` on Loihi) to compartment ``syn_target[k]``'s input of step
``t + 1 + syn_delay[k]``.

All arrays are flat numpy arrays with the dtypes written below; per-compartment neuron
parameters are in ``params`` (keys by family, as in :mod:`neurocomp.ir.quantized`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping as TMapping

import numpy as np

from .network import Network
from .quantized import QuantizationReport

__all__ = ["MAPPING_VERSION", "CoreSlice", "CoreMap", "Mapping"]

MAPPING_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class CoreSlice:
    """Neurons ``start:stop`` (flat indices) of ``population`` on one core; for relays,
    ``population`` is ``"<relay>"`` and the range counts relay compartments."""

    population: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, kw_only=True)
class CoreMap:
    """One used core: its global id, what it holds, and how much of each resource it uses
    (keys as :meth:`ChipSpec.limits`)."""

    core_id: int
    slices: tuple[CoreSlice, ...]
    comp_start: int
    comp_stop: int
    usage: TMapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, eq=False, kw_only=True)
class Mapping:
    """A network compiled onto a chip system (see the module docstring)."""

    chip: Any  # neurocomp.chip.spec.ChipSpec: the system (chips, profile) it was compiled for
    network: Network
    family: str
    version: int = MAPPING_VERSION
    # cores
    cores: tuple[CoreMap, ...]
    # compartments
    comp_core: np.ndarray  # int32 [n_comp], global core id
    comp_pop: np.ndarray  # int32 [n_comp], index into population_names; -1 for a relay
    comp_index: np.ndarray  # int64 [n_comp], neuron in its population (relay: compartment it copies)
    params: TMapping[str, np.ndarray]  # family keys -> int64 [n_comp] (or [n_comp, k])
    v_scale: np.ndarray  # float64 [n_comp]: v_float ≈ v_int * v_scale
    population_names: tuple[str, ...]  # neuron populations in network order
    # sources and routes
    input_offset: TMapping[str, int]  # input population -> first source id minus n_comp
    route_ptr: np.ndarray  # int64 [n_sources + 1]
    route_axon: np.ndarray  # int64 [n_routes]
    # axons and synapses
    axon_core: np.ndarray  # int32 [n_axons]
    axon_projection: np.ndarray  # int32 [n_axons], index into projection_names
    axon_weight_exp: np.ndarray  # int8 [n_axons]
    axon_type: np.ndarray  # int8 [n_axons] (TrueNorth axon type; 0 elsewhere)
    axon_syn_ptr: np.ndarray  # int64 [n_axons + 1]
    syn_target: np.ndarray  # int32 [n_syn], global compartment
    syn_weight: np.ndarray  # int32 [n_syn]
    syn_delay: np.ndarray  # int16 [n_syn], extra steps (0: arrives at t + 1)
    projection_names: tuple[str, ...]
    quantization: QuantizationReport = field(default_factory=QuantizationReport)
    pass_times_s: TMapping[str, float] = field(default_factory=dict)

    @property
    def n_comp(self) -> int:
        return int(self.comp_core.shape[0])

    @property
    def n_sources(self) -> int:
        return int(self.route_ptr.shape[0] - 1)

    @property
    def n_axons(self) -> int:
        return int(self.axon_core.shape[0])

    @property
    def n_synapses(self) -> int:
        return int(self.syn_target.shape[0])
