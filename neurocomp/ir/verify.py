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
from .mapping_checks import mapping_problems
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
