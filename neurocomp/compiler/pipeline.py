"""The compile pipeline: passes from a Network to a Mapping, with a hook between them.

A pass is a small frozen object with a ``name`` and ``run(artifact, chip)`` that returns
the next artifact; the default pipeline is::

    Network --lower--> LoweredNetwork --quantize--> QuantizedNetwork
            --partition--> Partition --place--> Placement --route--> Mapping

Each artifact type is in :mod:`neurocomp.ir`; the invariants each must hold are written
once in :mod:`neurocomp.ir.verify`, which the pipeline checks after every pass when
``verify`` is on (the test suite turns it on; ``NEUROCOMP_VERIFY=1`` does elsewhere), so
the passes themselves do not re-check what the previous one promised.

:func:`compile_network` (also exported as ``compile``) runs a list of passes, times each
one and calls ``on_pass(pass, artifact, seconds)`` after it: that hook gives
``neurocomp compile --dump-after PASS`` (print :func:`describe_artifact`) and the per-pass
times the summary shows, and the Mapping keeps the times in ``pass_times_s``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Protocol, Sequence

from ..chip.spec import ChipSpec
from ..diagnostics import UsageError
from ..ir.lowered import LoweredNetwork
from ..ir.mapping import Mapping
from ..ir.network import Network
from ..ir.partition import Partition, Placement
from ..ir.quantized import QuantizedNetwork
from ..ir.verify import VerifyError, verify, verify_enabled
from ._jit import python_forms

_log = logging.getLogger(__name__)

__all__ = ["Pass", "LowerPass", "QuantizePass", "PartitionPass", "PlacePass", "RoutePass", "PASS_NAMES",
           "default_passes", "compile_network", "compile", "describe_artifact", "PassHook"]


class Pass(Protocol):
    """What a pipeline runs: ``name`` and ``run(artifact, chip) -> next artifact``."""

    name: ClassVar[str]

    def run(self, artifact: Any, chip: ChipSpec) -> Any: ...


#: ``on_pass(pass, artifact it produced, seconds it took)``
PassHook = Callable[[Pass, Any, float], None]


@dataclass(frozen=True)
class LowerPass:
    """Network -> LoweredNetwork (:func:`neurocomp.compiler.lower.lower`; needs no chip)."""

    name: ClassVar[str] = "lower"

    def run(self, network: Network, chip: ChipSpec) -> LoweredNetwork:
        from .lower import lower

        return LoweredNetwork(network=network, synapses=lower(network))


@dataclass(frozen=True)
class QuantizePass:
    """LoweredNetwork -> QuantizedNetwork (:func:`neurocomp.compiler.quantize.quantize`).

    A pipeline without :class:`LowerPass` may hand it a Network, which ``quantize``
    lowers first."""

    name: ClassVar[str] = "quantize"

    def run(self, lowered: LoweredNetwork | Network, chip: ChipSpec) -> QuantizedNetwork:
        from .quantize import quantize

        if isinstance(lowered, Network):
            return quantize(lowered, chip)
        return quantize(lowered.network, chip, synapses=lowered.synapses)


@dataclass(frozen=True)
class PartitionPass:
    """QuantizedNetwork -> Partition (:func:`neurocomp.compiler.partition.partition`)."""

    strategy: str = "auto"
    allow_split: bool = True
    atom_size: int | None = None
    name: ClassVar[str] = "partition"

    def run(self, qnet: QuantizedNetwork, chip: ChipSpec) -> Partition:
        from .partition import partition

        return partition(qnet, chip, strategy=self.strategy, allow_split=self.allow_split,
                         atom_size=self.atom_size)


@dataclass(frozen=True)
class PlacePass:
    """Partition -> Placement (:func:`neurocomp.compiler.place.place`)."""

    strategy: str = "anneal"
    seed: int = 0
    name: ClassVar[str] = "place"

    def run(self, part: Partition, chip: ChipSpec) -> Placement:
        from .place import place

        return place(part, chip, strategy=self.strategy, seed=self.seed)


@dataclass(frozen=True)
class RoutePass:
    """Placement -> Mapping (:func:`neurocomp.compiler.route.route`)."""

    name: ClassVar[str] = "route"

    def run(self, placement: Placement, chip: ChipSpec) -> Mapping:
        from .route import route

        return route(placement, placement.partition.qnet, chip)


#: Pass names in pipeline order (``--dump-after`` choices).
PASS_NAMES = ("lower", "quantize", "partition", "place", "route")


def default_passes(*, partition: str = "auto", allow_split: bool = True, place: str = "anneal",
                   seed: int = 0, atom_size: int | None = None) -> tuple[Pass, ...]:
    """The standard pipeline with the given strategies."""
    return (LowerPass(), QuantizePass(), PartitionPass(strategy=partition, allow_split=allow_split, atom_size=atom_size),
            PlacePass(strategy=place, seed=seed), RoutePass())


#: Below this estimate of lowering's memory, a network too big for the system is left to
#: the partition, whose refusal counts the cores it needs exactly; above it, the neuron
#: count refuses it before anything is allocated.
_CHEAP_LOWERING_BYTES = 64 << 20


def _check_neuron_count(network: Network, chip: ChipSpec) -> None:
    """Refuse a network with more neurons than the whole system has compartments, before
    any stage allocates per neuron or per synapse (a billion neurons on one Loihi must
    not be lowered to learn that). Relays and splitters can only add to the count."""
    from ..diagnostics import CapacityError
    from .lower import estimated_bytes

    neurons = sum(pop.size for pop in network.populations.values() if not pop.is_input)
    per_core = chip.core.neurons
    have = chip.total_cores * per_core
    if neurons > have and estimated_bytes(network) > _CHEAP_LOWERING_BYTES:
        cores = -(-neurons // per_core)
        chips = -(-cores // chip.topology.cores_per_chip)
        hint = f"use --chips {chips}"
        if chip.system.max_chips is not None and chips > chip.system.max_chips:
            hint = (f"{chips:,} chips would be needed, but {chip.name} allows at most {chip.system.max_chips}: "
                    "make the network smaller")
        raise CapacityError(f"network '{network.name}' has {neurons:,} neurons, the system holds {have:,} "
                            f"({chip.n_chips} chip(s) of {chip.name} x {chip.topology.cores_per_chip:,} cores "
                            f"x {per_core:,} neurons)", hint=hint)


#: A network of at most this many neurons (inputs included) and synapses is compiled by
#: the kernels' Python forms (:mod:`._jit`): no Numba is loaded or compiled for it, which
#: saves a second per process and ~10 s of compiling on a machine's first run, while
#: the Python forms take well under a second at this size.
PYTHON_MAX_NEURONS = 4_096
PYTHON_MAX_SYNAPSES = 1 << 20


def is_small(artifact: Any) -> bool:
    """Whether the passes run on ``artifact`` use the kernels' Python forms (sizes above).
    A Network counts its neurons only (its synapses are not made yet); the later artifacts
    count both, from the network's synapses."""
    while not isinstance(artifact, Network):
        synapses = getattr(artifact, "synapses", None)
        if isinstance(artifact, QuantizedNetwork):
            synapses = {k: p.synapses for k, p in artifact.projections.items()}
        if synapses is not None:
            if sum(int(s.n_synapses) for s in synapses.values()) > PYTHON_MAX_SYNAPSES:
                return False
            return artifact.network.n_neurons <= PYTHON_MAX_NEURONS
        nxt = getattr(artifact, "qnet", None) or getattr(artifact, "partition", None)
        if nxt is None:
            return False
        artifact = nxt
    return artifact.n_neurons <= PYTHON_MAX_NEURONS


def compile_network(network: Network | QuantizedNetwork, chip: ChipSpec, *,
                    passes: Sequence[Pass] | None = None, on_pass: PassHook | None = None,
                    verify_passes: bool | None = None) -> Mapping:
    """Compile ``network`` for ``chip``: run ``passes`` (default :func:`default_passes`).

    Parameters
    ----------
    network
        A built network; or an already quantized one, in which case the passes named
        ``lower`` and ``quantize`` are skipped.
    chip
        The :class:`~neurocomp.chip.spec.ChipSpec` (chip or system) to compile for.
    passes
        The passes to run, in order; the last must produce a Mapping.
    on_pass
        Called after every pass with the pass, its artifact and its wall time in seconds.
    verify_passes
        Check every artifact's invariants (:func:`neurocomp.ir.verify.verify`) after the
        pass that made it; ``None`` follows the ``NEUROCOMP_VERIFY`` environment variable.

    Returns
    -------
    Mapping
        With ``pass_times_s`` holding each pass's wall time.

    Raises
    ------
    NeurocompError
        Whatever a pass raises for the user's network (capacity, quantization, ...).
    VerifyError
        A pass produced an artifact that breaks an IR invariant (a bug in that pass).
    UsageError
        The passes do not end in a Mapping.
    """
    passes = tuple(default_passes() if passes is None else passes)
    check = verify_enabled() if verify_passes is None else verify_passes
    if isinstance(network, Network):
        _check_neuron_count(network, chip)  # before lowering materialises anything
    artifact: Any = network
    times: dict[str, float] = {}
    for p in passes:
        if p.name in ("lower", "quantize") and isinstance(artifact, QuantizedNetwork):
            continue
        t0 = time.perf_counter()
        with python_forms(is_small(artifact)):
            artifact = p.run(artifact, chip)
        dt = time.perf_counter() - t0
        if check:
            try:
                verify(artifact, chip)
            except VerifyError as exc:
                raise type(exc)(f"after pass '{p.name}': {exc}") from None
        times[p.name] = times.get(p.name, 0.0) + dt
        _log.info("compiling '%s' for %s: %s took %.3f s", getattr(network, "name", "?"), chip.name, p.name, dt)
        if on_pass is not None:
            on_pass(p, artifact, dt)
    if not isinstance(artifact, Mapping):
        raise UsageError(f"the passes ({', '.join(p.name for p in passes)}) end with a "
                         f"{type(artifact).__name__}, not a Mapping", hint="end the pipeline with RoutePass()")
    return dataclasses.replace(artifact, pass_times_s={**dict(artifact.pass_times_s), **times})


#: The public name: ``neurocomp.compiler.pipeline.compile(network, chip)``.
compile = compile_network  # noqa: A001 (shadows the builtin on purpose, as the API names it)


def describe_artifact(artifact: Any) -> str:
    """The stable text form of any pass's artifact (what ``--dump-after`` prints)."""
    if hasattr(artifact, "describe"):
        return artifact.describe()
    if isinstance(artifact, QuantizedNetwork):
        return _describe_qnet(artifact)
    if isinstance(artifact, Network):
        from ..ir.printer import to_snn

        return to_snn(artifact)
    return f"{artifact!r}\n"


def _describe_qnet(q: QuantizedNetwork) -> str:
    from .quantize import report_text

    lines = [f"quantized '{q.network.name}' for {q.chip.name} ({q.family})"]
    for name, pop in q.populations.items():
        if pop.is_input:
            lines.append(f"input {name}[{pop.size}]")
            continue
        keys = ", ".join(sorted(pop.params))
        lines.append(f"population {name}[{pop.size}]: {keys}; v_scale {pop.v_scale:.6g}")
    for name, proj in q.projections.items():
        lines.append(f"projection {name} ({proj.pre} -> {proj.post}): {proj.synapses.n_synapses:,} synapses, "
                     f"{proj.weight_bits}-bit weights, exponent {proj.weight_exp}, {proj.sign_mode}")
    lines.append("")
    lines.append(report_text(q.report))
    return "\n".join(lines) + "\n"
