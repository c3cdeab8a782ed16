"""Chip families: everything one neuron family needs, in one folder each.

``targets/<family>/__init__.py`` describes the family (a :class:`~.family.Family`: the chip
keys it needs, its native parameters, registers, probe variables) and registers it;
``quantize.py`` beside it turns a float network into the family's integers, ``kernel.py``
emulates the family bit for bit. The generic stages (``chip/``, ``ir/build.py``,
``compiler/``, ``emulator/``) never name a family: they look it up here by the chip's
``neuron.family``. Importing this package reads the descriptions only; quantizers and
kernels are imported when first used.
"""

from .family import FAMILIES, KERNEL_PARTS, Family, NativeKind, families, family, register, unregister

# The bundled families; each registers itself.
from . import loihi  # noqa: E402,F401  (the order is the order chip errors list them in)
from . import truenorth  # noqa: E402,F401
from . import akida  # noqa: E402,F401

__all__ = ["Family", "NativeKind", "KERNEL_PARTS", "FAMILIES", "register", "unregister", "family",
           "families"]
