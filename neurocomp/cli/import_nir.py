"""The ``neurocomp import`` command: a NIR graph as a ``.snn`` network.

``neurocomp import model.nir --dt 1ms -o model.snn`` writes the network text and its
data files (``model_data/``) and prints the discretisation it used
(:func:`neurocomp.interop.nir_import.import_nir`). It needs the optional ``nir`` package.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ..diagnostics import UsageError
from .common import add_command, add_memory_argument, console

__all__ = ["register", "import_command", "parse_dt_ms"]

_DT_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_dt_ms(text: str) -> float:
    """``"1ms"``, ``"0.1 ms"``, ``"100us"``, ``"1e-3s"`` (a bare number is ms) in milliseconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(us|ms|s)?\s*", text)
    if not m:
        raise UsageError(f"--dt '{text}' is not a time", hint="e.g. --dt 1ms, --dt 0.1ms, --dt 100us")
    value = float(m.group(1)) * _DT_UNITS_MS[m.group(2) or "ms"]
    if value <= 0:
        raise UsageError(f"--dt must be positive, got '{text}'")
    return value


def register(subparsers: Any) -> None:
    """Add the ``import`` command to an argparse sub-parsers object."""
    from ..interop.nir_import import DISCRETISATIONS

    imp = add_command(subparsers, "import",
                      description="Import a NIR graph: write the .snn text and its data files (in <name>_data/ "
                                  "beside it), discretised with the time step you give. NIR has no time step.")
    imp.add_argument("model", help="a .nir file (nir.write / snnTorch, Norse, Sinabs, Rockpool exports)")
    imp.add_argument("--dt", metavar="TIME",
                     help="the time step, e.g. 1ms, 0.1ms, 100us (default: the step the exporter wrote "
                          "the graph for, when its conventions tell: snnTorch 0.1ms)")
    imp.add_argument("-o", "--out", required=True, metavar="FILE.snn", help="the network file to write")
    imp.add_argument("--name", help="the network's name (default: the output file's stem)")
    imp.add_argument("--method", choices=sorted(DISCRETISATIONS), default=None,
                     help="how time constants become per-step decays (default: euler, h = dt/tau, or the "
                          "exporter's when the step is inferred; exp: h = 1 - exp(-dt/tau))")
    imp.add_argument("--cuba-bias", choices=("error", "steady"), default="error",
                     help="a bias into a CubaLIF's synaptic current that no input reaches (elsewhere it "
                          "enters the current at its layer's depth, as in NIR): refuse it (default), or "
                          "add its settled value to the voltage")
    imp.add_argument("--reset", choices=("zero", "subtract", "subtract-next"), default=None,
                     help="the reset the model was trained with, which NIR cannot state: zero (NIR's), "
                          "subtract (Sinabs' default: the threshold is subtracted in the step of the spike) "
                          "or subtract-next (snnTorch's default Leaky: subtracted at the next step, after the "
                          "leak). Default: the one the exporter's framework reads the file back with "
                          "(Sinabs: subtract; snnTorch, Norse, others: zero), and the command says which")
    imp.add_argument("--force", action="store_true", help="overwrite existing files")
    add_memory_argument(imp)
    imp.set_defaults(func=import_command)


def import_command(args: argparse.Namespace) -> int:
    """Run ``neurocomp import``; returns the exit code."""
    from ..interop.nir_import import _identifier, describe_discretisation, import_nir, require_nir, write_snn
    from ..interop.nir_import.graph import load_graph

    nir = require_nir()
    dt_ms = parse_dt_ms(args.dt) if args.dt is not None else None
    method = args.method or "euler"
    out = Path(args.out)
    if out.suffix != ".snn":
        raise UsageError(f"'{out}' is not a network file name: expected a .snn file")
    model = Path(args.model)
    graph, _ = load_graph(nir, model)  # its metadata is shown below
    if dt_ms is None:  # the exporter's step and method, read from its conventions
        from ..interop.nir_import.conventions import infer_dt_ms
        from ..interop.nir_import.graph import flatten

        meta_dt = (graph.metadata or {}).get("neurocomp_dt_ms") if isinstance(graph.metadata, dict) else None
        if meta_dt is not None:
            dt_ms = float(meta_dt)
        else:
            dt_ms, inferred = infer_dt_ms(flatten(nir, graph).nodes)
            method = args.method or inferred
    name = args.name or _identifier(out.stem)
    reset, reset_why = args.reset, "as given (--reset)"
    if reset is None and not (isinstance(graph.metadata, dict) and "neurocomp_network" in graph.metadata):
        from ..interop.nir_import.conventions import infer_reset
        from ..interop.nir_import.graph import flatten

        reset, reset_why = infer_reset(flatten(nir, graph).nodes)
    net = import_nir(graph, dt_ms, name=name, method=method, cuba_bias=args.cuba_bias, reset=reset)
    dt_ms = net.dt_ms
    header = "\n".join([f"imported from {model.name} by 'neurocomp import'",
                        describe_discretisation(method, dt_ms)])
    written = write_snn(net, out, overwrite=args.force, header=header)
    shown = console()
    shown.print(describe_discretisation(method, dt_ms))
    if reset is not None:  # NIR cannot state it: say which one the network got, and why
        shown.print(f"reset: {reset} ({reset_why}); the file cannot say how the model was trained: "
                    "--reset zero|subtract|subtract-next")
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    recorded = _recorded_dt_ms(meta.get("neurocomp_dt_ms"))
    if recorded is not None and recorded != dt_ms:
        shown.print(f"note: this graph was exported by neurocomp at dt = {recorded:g} ms")
    n_neurons = sum(p.size for p in net.populations.values() if not p.is_input)
    shown.print(f"wrote {out}: {len(net.populations)} populations ({n_neurons:,} neurons), "
                f"{len(net.projections)} projections, {len(net.probes)} probes; "
                f"{len(written) - 1} data files")
    inputs = [p for p in net.populations.values() if p.is_input and hasattr(p.encoder, "path")]
    for pop in inputs:
        shown.print(f"input '{pop.name}' {list(pop.shape)} reads '{pop.encoder.path}' (no spikes): "  # type: ignore[union-attr]
                    "replace it with your data, or pass inputs= to simulate()")
    return 0


def _recorded_dt_ms(value: object) -> float | None:
    """The step a graph says neurocomp exported it at: a finite positive number, or
    ``None`` (metadata is the file's, not ours: anything else is ignored, not trusted)."""
    import math

    if isinstance(value, bool):
        return None
    try:
        dt = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return dt if math.isfinite(dt) and dt > 0 else None
