"""Print a Network back to `.snn` text.

The text parses (with the same base folder) to an equal network: numbers are printed
exactly (``repr`` of the float), times in steps, decays as ``beta``/``alpha`` and data
files by the names the user gave. It is also the stable text form used by
``--dump-after`` and in golden tests.
"""

from __future__ import annotations

from typing import Any

from . import connectors as cn
from . import encoders as en
from .network import Network, NeuronModel, Population, Projection
from .values import ArrayValue, Distribution

__all__ = ["to_snn"]


def _num(x: float | int) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _value(v: Any) -> str:
    if isinstance(v, ArrayValue):
        if not v.path:  # '""' would not read back: the text names every array's file
            from ..diagnostics import UsageError

            raise UsageError(f"an array of shape {list(v.values.shape)} has no file name, so the "
                             f"network cannot be printed as .snn text",
                             hint="build networks in Python with neurocomp.NetworkBuilder, "
                                  "which names every array's file")
        return f'"{v.path}"'
    if isinstance(v, Distribution):
        return f"{v.kind}({_num(v.a)}, {_num(v.b)})"
    if isinstance(v, tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, str):
        return v
    return _num(v)


def _args(pairs: list[tuple[str, Any]]) -> str:
    return ", ".join(f"{k} = {_value(v)}" for k, v in pairs)


def _neuron(model: NeuronModel) -> str:
    name = {"lif": "LIF", "if": "IF", "li": "LI"}[model.family]
    pairs: list[tuple[str, Any]] = []
    if model.family != "if":
        pairs.append(("beta", model.beta))
    pairs.append(("alpha", model.alpha))
    if model.family != "li":
        pairs += [("threshold", model.threshold), ("reset", model.reset),
                  ("refractory", model.refractory_steps)]
    pairs.append(("bias", model.bias))
    return f"{name}({_args(pairs)})"


def _encoder(e: en.Encoder) -> str:
    if isinstance(e, en.SpikeFile):
        return f'spikes(file = "{e.path}")'
    if isinstance(e, en.RateCode):
        return (f"rate(value = {_value(e.value)}, max_rate = {_num(e.max_rate_hz)} Hz, "
                f"seed = {e.seed})")
    if isinstance(e, en.LatencyCode):
        return (f"latency(value = {_value(e.value)}, tau = {_num(e.tau_steps)}, "
                f"threshold = {_num(e.threshold)})")
    if isinstance(e, en.DeltaCode):
        return f"delta(signal = {_value(e.signal)}, threshold = {_num(e.threshold)})"
    if isinstance(e, en.EventStream):
        return f'events(file = "{e.path}")'
    if isinstance(e, en.GradedFrames):
        return f"frames(values = {_value(e.values)})"
    if isinstance(e, en.ConstantCurrent):
        return f"current(value = {_value(e.value)})"
    raise TypeError(f"cannot print encoder {e!r}")


def _connector(c: cn.Connector) -> tuple[str, list[tuple[str, Any]]]:
    if isinstance(c, cn.Dense):
        return "dense", [("weights", c.weights)]
    if isinstance(c, cn.Sparse):
        return "sparse", [("file", ArrayValue(c.weights, c.path))]
    if isinstance(c, cn.OneToOne):
        return "one_to_one", [("weight", c.weight)]
    if isinstance(c, cn.AllToAll):
        return "all_to_all", [("weight", c.weight), ("self", c.allow_self)]
    if isinstance(c, cn.Random):
        return "random", [("p", c.p), ("weight", c.weight), ("seed", c.seed),
                          ("self", c.allow_self)]
    if isinstance(c, cn.Conv2d):
        return "conv2d", [("kernel", c.kernel), ("stride", c.stride), ("padding", c.padding)]
    if isinstance(c, cn.Pool2d):
        return f"{c.kind}_pool", [("size", c.size), ("stride", c.stride)]
    raise TypeError(f"cannot print connector {c!r}")


def _natives(native: Any) -> str:
    return "".join(f" native {chip}({_args(list(params.items()))})"
                   for chip, params in native.items())


def _shape(pop: Population) -> str:
    return "[" + ", ".join(str(s) for s in pop.shape) + "]"


def _projection(proj: Projection, default_name: str) -> str:
    kind, pairs = _connector(proj.connector)
    carried = isinstance(proj.connector, cn.Sparse) and proj.connector.delays is not None
    if not carried and (isinstance(proj.delay_steps, ArrayValue) or proj.delay_steps != 0):
        pairs.append(("delay", proj.delay_steps))
    alias = f" as {proj.name}" if proj.name != default_name else ""
    return (f"connect {proj.pre} -> {proj.post}{alias} : {kind}({_args(pairs)})"
            f"{_natives(proj.native)}{_learn(proj)}")


def _learn(proj: Projection) -> str:
    """`` learn rule(...)`` for a plastic projection (stdp(...) is printed as its rule)."""
    rule = proj.learning
    if rule is None:
        return ""
    parts = [f'dw = "{rule.dw}"']
    for name, trace in rule.traces.items():
        parts += [f"{name}_tau = {_num(trace.tau)}", f"{name}_impulse = {_num(trace.impulse)}"]
    parts.append(f"t_epoch = {rule.epoch}")
    if rule.rng_seed is not None:
        parts.append(f"rng_seed = {rule.rng_seed}")
    return f" learn rule({', '.join(parts)})"


def to_snn(network: Network) -> str:
    """The `.snn` text of a network (see the module docstring)."""
    lines = [f"network {network.name}", f"dt = {_num(network.dt_ms)} ms"]
    if network.constants:
        lines.append("")
        lines += [f"const {k} = {v}" for k, v in network.constants.items()]
    lines.append("")
    for pop in network.populations.values():
        if pop.encoder is not None:
            lines.append(f"input {pop.name}{_shape(pop)} : {_encoder(pop.encoder)}")
        else:
            assert pop.neuron is not None
            lines.append(f"population {pop.name}{_shape(pop)} : {_neuron(pop.neuron)}"
                         f"{_natives(pop.native)}")
    if network.projections:
        lines.append("")
    taken: set[str] = set()
    for proj in network.projections:
        base = f"{proj.pre}->{proj.post}"
        default, k = base, 1
        while default in taken:
            k += 1
            default = f"{base}#{k}"
        taken.add(proj.name)
        lines.append(_projection(proj, default))
    if network.probes or any(p.learning is not None and p.learning.probe_weights
                             for p in network.projections):
        lines.append("")
    for probe in network.probes:
        lines.append(f"probe {probe.population} : {', '.join(probe.variables)}")
    for proj in network.projections:
        if proj.learning is not None and proj.learning.probe_weights:
            lines.append(f"probe {proj.pre} -> {proj.post} : weights")
    return "\n".join(lines) + "\n"
