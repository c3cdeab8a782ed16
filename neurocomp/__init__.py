"""neurocomp: compile spiking networks onto neuromorphic chips and emulate them bit-exactly.

The public API, the same pipeline as the command line::

    import neurocomp as nc
    net = nc.load("examples/chain.snn")      # parse + build a Network
    result = nc.simulate(net, steps=20)      # float64 reference run -> RunResult
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "load",
    "parse",
    "simulate",
    "to_snn",
    "load_chip",
    "Network",
    "RunResult",
    "NeurocompError",
    "__version__",
]

# Imported on first use, so `import neurocomp` stays quick (Numba loads only to run).
_LAZY = {
    "load": ("neurocomp.ir.build", "load"),
    "parse": ("neurocomp.dsl.parse", "parse"),
    "simulate": ("neurocomp.emulator.reference", "simulate"),
    "to_snn": ("neurocomp.ir.printer", "to_snn"),
    "load_chip": ("neurocomp.chip.load", "load_chip"),
    "Network": ("neurocomp.ir.network", "Network"),
    "RunResult": ("neurocomp.ir.result", "RunResult"),
    "NeurocompError": ("neurocomp.diagnostics", "NeurocompError"),
}

if TYPE_CHECKING:  # pragma: no cover
    from .diagnostics import NeurocompError
    from .dsl.parse import parse
    from .emulator.reference import simulate
    from .chip.load import load_chip
    from .ir.build import load
    from .ir.network import Network
    from .ir.printer import to_snn
    from .ir.result import RunResult


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurocomp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
