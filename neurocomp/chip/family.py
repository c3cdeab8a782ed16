"""The neuron-family registry: what one chip family's neurons are, registered once.

A chip file names its family (``neuron.family``); everything that depends on the family
is looked up here, through one :class:`Family` record, by the generic stages:

==========================  ============================================================
who asks                    what the family tells
==========================  ============================================================
the chip loader             ``chip_keys``: the dotted keys a chip of this family must give
``ir/build.py``             ``native``, ``native_population``, ``native_projection``: what
                            ``native NAME(...)`` blocks in network text may pin, and how
                            each value is read
``compiler/quantize.py``    ``quantizer``: the function turning floats into the family's
                            integers
``compiler/partition``      ``neuron_registers``, ``synapse_registers``: the per-core
                            registers that distinct parameter sets take; ``partitioner``:
                            a family's own partition rule, which replaces the generic one
                            (Akida maps whole layers onto NPs, as its vendor does), and
                            ``strategies``, the names it accepts
``emulator/run.py``         ``kernel``: the module that emulates the family bit for bit;
                            ``traces``: which integer state a probe reads; ``payloads``:
                            whether the kernel emulates spikes that carry a value
==========================  ============================================================

The registry sits low in the house (beside the chip schema that names a family), and the
families sit high: each is a folder ``neurocomp/targets/<family>/`` whose quantizer and
kernel build on the compiler and the emulator. So a family's quantizer and kernel are
named by import path (``"package.module:function"``, ``"package.module"``) and imported
on first use; the bundled families (:mod:`neurocomp.targets`) register themselves when the
registry is first asked, and reading a chip file or a network never compiles a Numba
kernel. A family registered by other code may hand the objects themselves (a test
registering a toy family does).

Whether a chip's spikes carry a value at all is chip data (``neuron.spike_payload_bits``);
``payloads`` says whether this family's kernel can emulate such spikes. ``docs/extending.md``
walks through adding a family.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any, Callable, Iterator, Mapping

from ..diagnostics import UsageError, did_you_mean

__all__ = ["Family", "NativeKind", "KERNEL_PARTS", "register", "unregister", "family", "families",
           "find", "FAMILIES"]

#: How a native value is read from network text: ``"integer"`` (one whole number),
#: ``"integers"`` (a whole number, a list of them, or a ``.npy`` file of them),
#: ``"integer_file"`` (a ``.npy`` file of whole numbers), ``"boolean"``, or a tuple of the
#: words allowed.
NativeKind = str | tuple[str, ...]

#: What every kernel module provides (``docs/emulator.md`` describes each).
KERNEL_PARTS = ("prepare", "run", "overflow_message")

_NATIVE_KINDS = ("integer", "integers", "integer_file", "boolean")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, kw_only=True, eq=False)
class Family:
    """Everything the generic stages need to know about one neuron family.

    Parameters
    ----------
    name
        The value of ``neuron.family`` in chip files (``"loihi_cuba_lif"``).
    native
        The name of ``native NAME(...)`` blocks in network text (``"loihi"``).
    chip_keys
        Dotted keys a chip file of this family must give (``"numerics.decay"``); a chip
        lacking one is refused when it is loaded, naming the keys.
    quantizer
        ``fn(network, chip, synapses) -> QuantizedNetwork``, or its import path
        ``"module:function"``.
    kernel
        The emulator kernel module (it provides :data:`KERNEL_PARTS`), or its import path;
        ``None`` for a family that compiles but cannot be emulated.
    traces
        Probe variable (``"voltage"``, ``"current"``) -> the kernel's integer state
        variable it reads, scaled by the Mapping's ``v_scale``.
    payloads
        Whether the kernel emulates spikes that carry a value; a chip's spikes carry one
        when its ``neuron.spike_payload_bits`` is above 0.
    neuron_registers
        Register kind -> the population parameters whose distinct combinations each take
        one register of a core (nengo-loihi's CompartmentConfig / VthConfig).
    synapse_registers
        Register kinds taken once per distinct synapse format among the projections a
        core receives.
    native_population, native_projection
        Parameter -> :data:`NativeKind`: what ``native NAME(...)`` may pin on a population
        or a projection (empty: nothing can be pinned).
    max_pool
        Whether the kernel computes ``max_pool`` projections (their target takes the
        largest input); the quantizer refuses them for the other families.
    partitioner
        ``fn(qnet, chip, *, strategy) -> Partition``, or its import path: the family's own
        partition rule, used instead of the generic partitioner (``None``: the generic one).
    strategies
        The strategy names ``partitioner`` accepts besides ``"auto"`` (``--partition``).
    """

    name: str
    native: str
    chip_keys: tuple[str, ...]
    quantizer: Callable[..., Any] | str
    kernel: ModuleType | str | None
    traces: Mapping[str, str] = field(default_factory=dict)
    payloads: bool = False
    neuron_registers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    synapse_registers: tuple[str, ...] = ()
    native_population: Mapping[str, NativeKind] = field(default_factory=dict)
    native_projection: Mapping[str, NativeKind] = field(default_factory=dict)
    max_pool: bool = False
    partitioner: Callable[..., Any] | str | None = None
    strategies: tuple[str, ...] = ()
    learning: bool = False  # its kernel runs plastic projections (``learn``; docs/learning.md)
    learning_registers: tuple[str, ...] = ()  # per core: one per distinct pre-trace setting

    def __post_init__(self) -> None:
        for name in ("traces", "neuron_registers", "native_population", "native_projection"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for table in (self.native_population, self.native_projection):
            for key, kind in table.items():
                if not (isinstance(kind, tuple) or kind in _NATIVE_KINDS):
                    raise ValueError(f"family {self.name!r}: native parameter {key!r} has kind "
                                     f"{kind!r}; kinds: {', '.join(_NATIVE_KINDS)} or a tuple of words")

    def quantize_fn(self) -> Callable[..., Any]:
        """The quantizer, imported on first use."""
        return _resolve(self.quantizer) if isinstance(self.quantizer, str) else self.quantizer

    def partition_fn(self) -> Callable[..., Any] | None:
        """The family's own partitioner, imported on first use (``None``: the generic one)."""
        if self.partitioner is None:
            return None
        return _resolve(self.partitioner) if isinstance(self.partitioner, str) else self.partitioner

    def kernel_module(self) -> ModuleType:
        """The emulator kernel module, imported on first use.

        Raises
        ------
        UsageError
            When the family has no kernel, or its module is not installed.
        """
        if self.kernel is None:
            raise UsageError(f"no emulator kernel for neuron family '{self.name}'")
        if not isinstance(self.kernel, str):
            return self.kernel
        if importlib.util.find_spec(self.kernel) is None:
            raise UsageError(f"the emulator kernel for neuron family '{self.name}' ({self.kernel}) "
                             "is not available in this version")
        return importlib.import_module(self.kernel)


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj


#: neuron family name -> its :class:`Family`, in registration order. Fill it with
#: :func:`register`; read it through :func:`family`, :func:`find` or :func:`families`,
#: which register the bundled families first.
FAMILIES: dict[str, Family] = {}

#: The package whose import registers the bundled families.
BUNDLED = "neurocomp.targets"


def _bundled() -> dict[str, Family]:
    importlib.import_module(BUNDLED)  # once: later calls find it in sys.modules
    return FAMILIES


def register(fam: Family) -> Family:
    """Add ``fam`` to :data:`FAMILIES` and return it.

    Raises
    ------
    ValueError
        Another family of the same name is already registered (a programming error, not
        a user's); registering the very same record again is allowed.
    """
    old = FAMILIES.get(fam.name)
    if old is not None and old is not fam:
        raise ValueError(f"a neuron family named {fam.name!r} is already registered")
    FAMILIES[fam.name] = fam
    return fam


def unregister(name: str) -> None:
    """Remove a family (tests that register a toy family clean up with this)."""
    FAMILIES.pop(name, None)


def family(name: str, *, chip: str | None = None) -> Family:
    """The registered family ``name``.

    Raises
    ------
    UsageError
        No family of that name is registered (the message names the chip when given).
    """
    fam = _bundled().get(name)
    if fam is None:
        where = f"chip '{chip}': " if chip else ""
        raise UsageError(f"{where}unknown neuron family '{name}'", hint=did_you_mean(name, FAMILIES))
    return fam


def find(name: str) -> Family | None:
    """The registered family ``name``, or ``None``."""
    return _bundled().get(name)


def families() -> Iterator[Family]:
    """Every registered family, in registration order (the bundled ones first)."""
    return iter(tuple(_bundled().values()))
