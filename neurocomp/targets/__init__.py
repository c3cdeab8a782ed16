"""Chip families: everything one neuron family needs, in one folder each.

``targets/<family>/__init__.py`` describes the family (a :class:`~neurocomp.chip.family.Family`:
the chip keys it needs, its native parameters, registers, probe variables) and registers
it; ``quantize.py`` beside it turns a float network into the family's integers,
``kernel.py`` emulates the family bit for bit. The generic stages (``chip/``,
``ir/build.py``, ``compiler/``, ``emulator/``) never name a family: they look it up in the
registry, :mod:`neurocomp.chip.family`, by the chip's ``neuron.family``; the registry
imports this package on its first lookup. Importing it reads the descriptions only;
quantizers and kernels are imported when first used. ``docs/extending.md`` walks through
adding a family.
"""

from ..chip.family import FAMILIES, KERNEL_PARTS, Family, NativeKind, families, family, find, register, unregister

# The bundled families; each registers itself, in the order chip errors list them.
from . import loihi  # noqa: E402,F401  (isort: skip)
from . import truenorth  # noqa: E402,F401
from . import akida  # noqa: E402,F401

__all__ = ["Family", "NativeKind", "KERNEL_PARTS", "FAMILIES", "register", "unregister", "family",
           "find", "families"]
