"""neurocomp: compile spiking networks onto neuromorphic chips and emulate them bit-exactly.

The public API, the same pipeline as the command line (``docs/api.md``)::

    import neurocomp as nc
    net = nc.load("examples/chain.snn")              # parse + build a Network
    mapping = nc.compile(net, chip="loihi")          # quantize, partition, place, route
    result = nc.run(mapping, steps=20)               # bit-exact emulation -> RunResult
    report = nc.price(result, mapping)               # energy and latency -> Report
    check = nc.validate(net, chip="loihi", steps=20) # chip against float -> ValidationReport
    table = nc.compare(net, ["loihi", "truenorth"], steps=20)   # -> Comparison
    grid = nc.sweep(net, {"chip": ["loihi", "truenorth"], "weight_bits": [4, 8]}, steps=20)  # -> Sweep
    reference = nc.simulate(net, steps=20)           # float64 reference run -> RunResult

Every name is imported on first use, so ``import neurocomp`` stays quick (Numba,
pydantic and rich load only when a stage needs them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    # the pipeline
    "load",
    "compile",
    "run",
    "price",
    "validate",
    "compare",
    "sweep",
    "simulate",
    # chips and models
    "load_chip",
    "list_chips",
    "import_nir",
    "export_nir",
    "parse",
    "to_snn",
    "write_snn",
    "NetworkBuilder",
    # what they return
    "Network",
    "ChipSpec",
    "Mapping",
    "RunResult",
    "Report",
    "ValidationReport",
    "Comparison",
    "Sweep",
    # errors
    "NeurocompError",
    "CapacityError",
    "QuantizationError",
    "EmulationError",
    "UsageError",
    "__version__",
]

# Imported on first use, so `import neurocomp` stays quick (Numba loads only to run).
_LAZY = {
    "load": ("neurocomp.ir.build", "load"),
    "compile": ("neurocomp.api", "compile"),
    "run": ("neurocomp.api", "run"),
    "price": ("neurocomp.api", "price"),
    "validate": ("neurocomp.api", "validate"),
    "compare": ("neurocomp.api", "compare"),
    "sweep": ("neurocomp.api", "sweep"),
    "simulate": ("neurocomp.api", "simulate"),
    "load_chip": ("neurocomp.chip.load", "load_chip"),
    "list_chips": ("neurocomp.chip.load", "list_chips"),
    "import_nir": ("neurocomp.interop.nir_import", "import_nir"),
    "export_nir": ("neurocomp.interop.nir_export", "export_nir"),
    "parse": ("neurocomp.dsl.parse", "parse"),
    "to_snn": ("neurocomp.ir.printer", "to_snn"),
    "write_snn": ("neurocomp.ir.write", "write_snn"),
    "NetworkBuilder": ("neurocomp.ir.builder", "NetworkBuilder"),
    "Network": ("neurocomp.ir.network", "Network"),
    "ChipSpec": ("neurocomp.chip.spec", "ChipSpec"),
    "Mapping": ("neurocomp.ir.mapping", "Mapping"),
    "RunResult": ("neurocomp.ir.result", "RunResult"),
    "Report": ("neurocomp.report.report", "Report"),
    "ValidationReport": ("neurocomp.report.validate", "ValidationReport"),
    "Comparison": ("neurocomp.report.compare", "Comparison"),
    "Sweep": ("neurocomp.report.sweep", "Sweep"),
    "NeurocompError": ("neurocomp.diagnostics", "NeurocompError"),
    "CapacityError": ("neurocomp.diagnostics", "CapacityError"),
    "QuantizationError": ("neurocomp.diagnostics", "QuantizationError"),
    "EmulationError": ("neurocomp.diagnostics", "EmulationError"),
    "UsageError": ("neurocomp.diagnostics", "UsageError"),
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import compare, compile, price, run, simulate, sweep, validate
    from .chip.load import list_chips, load_chip
    from .chip.spec import ChipSpec
    from .diagnostics import CapacityError, EmulationError, NeurocompError, QuantizationError, UsageError
    from .dsl.parse import parse
    from .interop.nir_export import export_nir
    from .interop.nir_import import import_nir
    from .ir.build import load
    from .ir.builder import NetworkBuilder
    from .ir.mapping import Mapping
    from .ir.network import Network
    from .ir.printer import to_snn
    from .ir.write import write_snn
    from .ir.result import RunResult
    from .report.compare import Comparison
    from .report.sweep import Sweep
    from .report.report import Report
    from .report.validate import ValidationReport


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
