"""The IR verifier: the invariants every artifact between two passes must hold.

A pass trusts its input: ``route`` does not re-check what ``partition`` promised. The
verifier is where those promises are written down once, as checks on the artifacts of
:mod:`neurocomp.ir` (``docs/compiler.md``). The pipeline runs it after every pass when
asked (``compile_network(..., verify=True)``, or the environment variable
``NEUROCOMP_VERIFY=1``; the test suite turns it on), so a pass that breaks its contract
fails at the pass that broke it, naming the invariant, instead of miscompiling quietly.

Every check is vectorised numpy over the artifact's arrays (linear in its size), so a
verified compile costs a few percent more than an unverified one.

A broken invariant is a bug in neurocomp (or in a pass or family a user plugged in), not
a mistake in the user's network: :class:`VerifyError` says which pass produced the
artifact and what is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import os
from typing import Any, Callable

import numpy as np

from .lowered import LoweredNetwork
from .mapping import Mapping
from .network import Network
from .partition import Partition, Placement
from .quantized import QuantizedNetwork
from .synapses import Synapses


if TYPE_CHECKING:  # pragma: no cover
    from ..chip.spec import ChipSpec

__all__ = ["VerifyError", "verify", "verify_enabled", "mapping_problems", "VERIFIERS"]


class VerifyError(AssertionError):
    """An artifact that breaks an IR invariant (a compiler bug, not a user's mistake)."""


def verify_enabled() -> bool:
    """Whether ``NEUROCOMP_VERIFY`` asks for verification between passes."""
    return os.environ.get("NEUROCOMP_VERIFY", "") not in ("", "0")


def _require(ok: Any, what: str) -> None:
    if not bool(ok):
        raise VerifyError(what)


def _csr(syn: Synapses, what: str, *, integer_weights: bool) -> None:
    ptr = np.asarray(syn.indptr)
    _require(ptr.shape == (syn.n_pre + 1,) and ptr[0] == 0, f"{what}: indptr has {ptr.size} entries "
             f"for {syn.n_pre} sources, or does not start at 0")
    _require(np.all(np.diff(ptr) >= 0), f"{what}: indptr decreases")
    n = int(ptr[-1])
    _require(len(syn.indices) == n and len(syn.weights) == n, f"{what}: {n} synapses but "
             f"{len(syn.indices)} indices and {len(syn.weights)} weights")
    if n:
        _require(int(np.min(syn.indices)) >= 0 and int(np.max(syn.indices)) < syn.n_post,
                 f"{what}: a target index outside 0..{syn.n_post - 1}")
    if syn.delays is not None:
        _require(len(syn.delays) == n, f"{what}: {len(syn.delays)} delays for {n} synapses")
    if integer_weights:
        _require(syn.weights.dtype == np.int64, f"{what}: weights are {syn.weights.dtype}, not int64")
        _require(not np.any(syn.weights == 0), f"{what}: a weight of 0 is kept as a synapse")


def verify_network(net: Network, chip: ChipSpec | None = None) -> None:
    for proj in net.projections:
        _require(proj.pre in net.populations and proj.post in net.populations,
                 f"projection '{proj.name}' joins a population the network does not have")


def verify_lowered(low: LoweredNetwork, chip: ChipSpec | None = None) -> None:
    verify_network(low.network)
    net = low.network
    _require([p.name for p in net.projections] == list(low.synapses),
             "the lowered synapses are not one per projection, in the network's order")
    for proj in net.projections:
        syn = low.synapses[proj.name]
        _require((syn.n_pre, syn.n_post) == (net.populations[proj.pre].size, net.populations[proj.post].size),
                 f"projection '{proj.name}': synapses of {syn.n_pre} x {syn.n_post} neurons")
        _csr(syn, f"projection '{proj.name}'", integer_weights=False)


def verify_quantized(q: QuantizedNetwork, chip: ChipSpec | None = None) -> None:
    net = q.network
    _require(list(q.populations) == list(net.populations), "quantized populations differ from the network's")
    _require(list(q.projections) == [p.name for p in net.projections],
             "quantized projections differ from the network's")
    _require(chip is None or q.family == chip.neuron.family,
             f"quantized for family '{q.family}', but the chip's is '{getattr(chip, 'neuron', None) and chip.neuron.family}'")
    for name, qp in q.populations.items():
        _require(qp.size == net.populations[name].size and qp.is_input == net.populations[name].is_input,
                 f"population '{name}': size or input flag differs from the network's")
        for key, arr in qp.params.items():
            _require(np.asarray(arr).shape[:1] == (qp.size,),
                     f"population '{name}': parameter '{key}' has shape {np.shape(arr)}, not one per neuron")
        _require(np.isfinite(qp.v_scale), f"population '{name}': v_scale is {qp.v_scale}")
    for name, qj in q.projections.items():
        _csr(qj.synapses, f"projection '{name}'", integer_weights=True)
        syn = qj.synapses
        if chip is not None and syn.n_synapses:
            lo, hi = chip.numerics.delay.min_steps - 1, chip.numerics.delay.max_steps - 1
            d = syn.delays if syn.delays is not None else np.array([syn.delay])
            _require(int(d.min()) >= lo and int(d.max()) <= hi,
                     f"projection '{name}': a delay outside the chip's {lo}..{hi} extra steps")


def verify_partition(part: Partition, chip: ChipSpec | None = None) -> None:
    verify_quantized(part.qnet, chip)
    n_nodes = sum(p.size for p in part.qnet.populations.values())
    _require(part.node_core.shape == (n_nodes,) and part.node_local.shape == (n_nodes,),
             f"node arrays are not one per neuron ({n_nodes})")
    neurons = np.concatenate([np.full(p.size, p.is_input) for p in part.qnet.populations.values()]) \
        if n_nodes else np.zeros(0, dtype=np.bool_)
    _require(np.all((part.node_core < 0) == neurons), "an input is on a core, or a neuron is on none")
    placed = part.node_core >= 0
    _require(np.all(part.node_core[placed] < len(part.cores)), "a neuron on a core that does not exist")
    # every neuron exactly once: (core, local index) pairs are distinct
    keys = part.node_core[placed].astype(np.int64) * (1 << 32) + part.node_local[placed]
    _require(np.unique(keys).size == keys.size, "two neurons share one compartment")
    for core in part.cores:
        for key, used in core.usage.items():
            limit = part.limits.get(key)
            _require(limit is None or used <= limit,
                     f"logical core {core.index}: {key} ({used}) exceeds the limit ({limit})")


def verify_placement(pl: Placement, chip: ChipSpec | None = None) -> None:
    verify_partition(pl.partition, chip)
    ids = np.asarray(pl.core_id)
    _require(ids.shape == (len(pl.partition.cores),), "not one physical core per logical core")
    _require(np.unique(ids).size == ids.size, "two logical cores share one physical core")
    if chip is not None and ids.size:
        _require(int(ids.min()) >= 0 and int(ids.max()) < chip.total_cores,
                 f"a core id outside the system's 0..{chip.total_cores - 1}")


def verify_mapping(m: Mapping, chip: ChipSpec | None = None) -> None:
    problems = mapping_problems(m, chip if chip is not None else m.chip)
    _require(not problems, problems[0] if problems else "")


def mapping_problems(m: Mapping, chip: ChipSpec | None = None) -> list[str]:
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


def _chip_problems(m: Mapping, chip: ChipSpec) -> list[str]:
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


#: artifact type -> its verifier ``fn(artifact, chip)``
VERIFIERS: dict[type, Callable[[Any, Any], None]] = {
    Network: verify_network,
    LoweredNetwork: verify_lowered,
    QuantizedNetwork: verify_quantized,
    Partition: verify_partition,
    Placement: verify_placement,
    Mapping: verify_mapping,
}


def verify(artifact: Any, chip: ChipSpec | None = None) -> None:
    """Check the invariants of one pass's artifact (types in :data:`VERIFIERS`).

    Raises
    ------
    VerifyError
        Naming the first invariant the artifact breaks.
    """
    fn = VERIFIERS.get(type(artifact))
    if fn is None:
        raise VerifyError(f"no verifier for a {type(artifact).__name__}")
    fn(artifact, chip)
