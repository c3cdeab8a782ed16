"""A Mapping's invariants and its chip's limits, as a list of problems in words.

One place for the checks that both :meth:`Mapping.load <neurocomp.ir.mapping.Mapping.load>`
(a saved file, which a user may have edited: every problem becomes one located error)
and the pipeline's verifier (:func:`neurocomp.ir.verify.verify_mapping`: a compiler bug)
run before a kernel sees a Mapping. It reads the fields of a Mapping ``m`` and of its
:class:`~neurocomp.chip.spec.ChipSpec` ``chip`` only, so it imports neither (the Mapping
module imports it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["mapping_problems"]


def mapping_problems(m: Any, chip: Any = None) -> list[str]:
    """Every way a Mapping breaks its invariants or its chip's limits, in words.

    The structure (one entry per compartment, axon, synapse and source; every index in
    range; the CSR pointers rising to their ends), then, with a chip, its widths (weights,
    weight exponents, delays, axon types), the compartments and resources per core, and
    every float finite. :meth:`Mapping.load <neurocomp.ir.mapping.Mapping.load>` runs it
    on a file before any kernel sees the arrays; the pipeline, after the route pass.
    Linear in the Mapping's size. Later checks are skipped when a length is wrong (they
    would index past the arrays).
    """
    problems: list[str] = []
    n_comp, n_axons, n_syn = m.n_comp, m.n_axons, m.n_synapses
    net = m.network
    inputs = {name: net.populations[name].size if name in net.populations else 0 for name in m.input_offset}
    n_inputs = sum(inputs.values())

    def length(names, n, what):
        for name in names:
            a = np.asarray(getattr(m, name))
            if a.ndim != 1 or a.shape[0] != n:
                problems.append(f"array '{name}' has {a.shape[0] if a.ndim else 0:,} entries, expected {n:,} ({what})")

    length(("comp_pop", "comp_index", "v_scale"), n_comp, "one per compartment")
    length(("axon_projection", "axon_weight_exp", "axon_type"), n_axons, "one per axon")
    length(("syn_weight", "syn_delay"), n_syn, "one per synapse")
    length(("route_ptr",), n_comp + n_inputs + 1, "sources + 1")
    length(("axon_syn_ptr",), n_axons + 1, "axons + 1")
    for key, a in m.params.items():
        if np.ndim(a) < 1 or np.shape(a)[0] != n_comp:
            problems.append(f"array 'params.{key}' has shape {list(np.shape(a))}, expected {n_comp:,} rows")
    if problems:
        return problems

    def ptr(name, end, what):
        a = getattr(m, name)
        if a[0] != 0 or np.any(np.diff(a) < 0) or a[-1] != end:
            problems.append(f"array '{name}' must rise from 0 to {end:,} ({what})")

    def within(name, a, lo, hi, what):
        """``lo <= a < hi``; ``what`` says what an entry outside means."""
        if a.size:
            low, high = int(a.min()), int(a.max())
            if low < lo or high >= hi:
                bad = low if low < lo else high
                span = f"{lo:,}..{hi - 1:,}" if hi > lo else "nothing (there is none)"
                problems.append(f"array '{name}' holds {bad:,}, outside {span} ({what})")

    ptr("route_ptr", m.n_routes, "the number of routes")
    ptr("axon_syn_ptr", n_syn, "the number of synapses")
    within("route_axon", m.route_axon, 0, n_axons, "a route to an axon that does not exist")
    within("syn_target", m.syn_target, 0, n_comp, "a synapse onto a compartment that does not exist")
    within("comp_pop", m.comp_pop, -1, len(m.population_names), "a population that does not exist")
    within("axon_projection", m.axon_projection, -1, len(m.projection_names), "a projection that does not exist")
    within("syn_delay", m.syn_delay, 0, 1 << 15, "a negative synaptic delay")
    # comp_index: a neuron of its population, or (a relay) the compartment it copies
    comp_pop = np.asarray(m.comp_pop, dtype=np.int64)
    comp_index = np.asarray(m.comp_index, dtype=np.int64)
    if not problems and n_comp:
        sizes = np.array([net.populations[p].size if p in net.populations else 0 for p in m.population_names]
                         + [n_comp], dtype=np.int64)  # the last entry: relays (comp_pop -1)
        bad = (comp_index < 0) | (comp_index >= sizes[comp_pop])
        if np.any(bad):
            c = int(np.flatnonzero(bad)[0])
            owner = f"population '{m.population_names[comp_pop[c]]}'" if comp_pop[c] >= 0 else "the compartments"
            problems.append(f"array 'comp_index' holds {int(comp_index[c]):,} at compartment {c:,}, outside "
                            f"{owner} (0..{int(sizes[comp_pop[c]]) - 1:,})")
        elif np.any(comp_pop == -1) and np.any(comp_pop[comp_index[comp_pop == -1]] == -1):
            problems.append("array 'comp_index': a relay copies another relay, not a neuron")
    # input_offset: each input's sources inside the sources, none shared
    spans = []
    for name, offset in m.input_offset.items():
        size = inputs[name]
        if name not in net.populations or not net.populations[name].is_input:
            problems.append(f"input_offset names '{name}', which is not an input of the network")
        elif not 0 <= offset <= n_inputs - size:
            problems.append(f"input_offset['{name}'] is {offset:,}: its {size:,} sources must lie in "
                            f"0..{n_inputs - 1:,}, the input sources")
        else:
            spans.append((offset, offset + size, name))
    spans.sort()
    for (_, stop, a), (start, _, b) in zip(spans, spans[1:]):
        if start < stop:
            problems.append(f"input_offset: inputs '{a}' and '{b}' share sources")
    v_scale = np.asarray(m.v_scale)
    if v_scale.dtype.kind != "f" or not np.all(np.isfinite(v_scale)):
        problems.append("array 'v_scale' holds a value that is not a finite number")
    if chip is None:
        return problems
    problems += _chip_problems(m, chip)
    return problems


def _chip_problems(m: Any, chip: Any) -> list[str]:
    """The Mapping against its chip: core ids, widths, delays, per-core resources."""
    problems: list[str] = []

    def within(name, a, lo, hi, what):  # lo..hi inclusive
        a = np.asarray(a)
        if a.size:
            low, high = int(a.min()), int(a.max())
            if low < lo or high > hi:
                problems.append(f"array '{name}' holds {low if low < lo else high:,}, outside {lo:,}..{hi:,} "
                                f"({what})")

    total = chip.total_cores
    within("comp_core", m.comp_core, 0, total - 1, f"the cores of {chip.name} x {chip.n_chips}")
    within("axon_core", m.axon_core, 0, total - 1, f"the cores of {chip.name} x {chip.n_chips}")
    w = chip.numerics.weights
    bits = max(w.max_bits, w.input_layer_bits or 0)  # the widest a layer may store
    within("syn_weight", m.syn_weight, -(1 << bits), (1 << bits) - 1, f"the chip's {bits}-bit weights")
    within("axon_weight_exp", m.axon_weight_exp, min(w.exponent_min, 0), max(w.exponent_max, 0),
           "the chip's weight exponents")
    d = chip.numerics.delay
    within("syn_delay", m.syn_delay, 0, d.max_steps - 1, "the chip's delays, in extra steps")
    n_types = getattr(chip.connectivity, "axon_types", None) or 1
    within("axon_type", m.axon_type, 0, int(n_types) - 1, "the chip's axon types")
    limits = chip.limits()
    for k, core in enumerate(m.cores):
        held = core.comp_stop - core.comp_start
        if not 0 <= core.core_id < total:
            problems.append(f"cores.{k}: core {core.core_id:,} is not one of the system's {total:,} cores")
        if held > limits["neurons"]:
            problems.append(f"cores.{k}: core {core.core_id} holds {held:,} compartments, the chip's cores "
                            f"{limits['neurons']:,}")
        for key, used in core.usage.items():
            if key in limits and used > limits[key]:
                problems.append(f"cores.{k}: {key} ({used:,}) exceeds the chip's limit ({limits[key]:,})")
    return problems


