"""Build a :class:`~neurocomp.ir.network.Network` from the syntax tree.

Input: an :class:`~neurocomp.dsl.ast.Module` and the folder its file names are relative
to. Output: a frozen Network with every value checked, converted to steps of ``dt`` and
per-step decays, and every data file loaded (``allow_pickle=False``).

Every mistake is collected, with its span, and all are raised together as one
:class:`~neurocomp.diagnostics.DslError`, so a user fixes five typos in one run.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..diagnostics import Collector, DslError, Span, did_you_mean
from ..dsl import ast
from ..dsl.files import FileProblem, load_array, load_npz
from ..chip.family import families
from . import connectors as cn
from . import encoders as en
from .build_learning import learning_rule
from .network import PROBE_VARIABLES, Network, NeuronModel, Population, Probe, Projection
from .values import ArrayValue, Distribution

__all__ = ["build", "load"]


# ---------------------------------------------------------------------------------------
# Values: numbers carry a dimension, the power of time (1 = a time, -1 = a rate).
# Magnitudes are exact fractions (so printing and re-reading a network is exact), kept in
# milliseconds (times) and per millisecond (rates).

_MILLI = Fraction(1, 1000)
_UNITS = {"us": (_MILLI, 1), "ms": (Fraction(1), 1), "s": (Fraction(1000), 1),
          "Hz": (_MILLI, -1), "kHz": (Fraction(1), -1)}
_DIM_WORDS = {0: "a plain number", 1: "a time", -1: "a rate"}


@dataclass(frozen=True)
class Num:
    value: Fraction
    dim: int
    is_int: bool
    span: Span

    def describe(self) -> str:
        return _DIM_WORDS.get(self.dim, f"a quantity of time^{self.dim}")


@dataclass(frozen=True)
class Word:
    name: str
    span: Span


@dataclass(frozen=True)
class Text:
    value: str
    span: Span


@dataclass(frozen=True)
class FuncV:
    name: str
    args: tuple[Any, ...]
    span: Span


@dataclass(frozen=True)
class ListV:
    items: tuple[Any, ...]
    span: Span


class Bad(Exception):
    """A value that does not fit where it was written; becomes a diagnostic."""

    def __init__(self, message: str, span: Span | None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.span, self.hint = message, span, hint


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


class _Ctx:
    """What a converter needs: constants, dt, the folder of data files, the collector."""

    def __init__(self, base_dir: Path, errors: Collector) -> None:
        self.base_dir = base_dir
        self.errors = errors
        self.constants: dict[str, Num] = {}
        self.const_text: dict[str, str] = {}
        self.dt_ms = Fraction(1)

    # -- evaluation -----------------------------------------------------------------
    def eval(self, e: ast.Expr) -> Any:
        if isinstance(e, ast.Number):
            exact = Fraction(e.text)
            if e.unit is None:
                return Num(exact, 0, e.is_int, e.span)
            if e.unit.text not in _UNITS:
                raise Bad(f"unknown unit '{e.unit.text}'", e.unit.span,
                          hint=did_you_mean(e.unit.text, _UNITS))
            scale, dim = _UNITS[e.unit.text]
            value = exact * scale
            return Num(value, dim, value.denominator == 1, e.span)
        if isinstance(e, ast.Ref):
            if e.name in self.constants:
                c = self.constants[e.name]
                return Num(c.value, c.dim, c.is_int, e.span)
            return Word(e.name, e.span)
        if isinstance(e, ast.String):
            return Text(e.value, e.span)
        if isinstance(e, ast.Func):
            return FuncV(e.name.text, tuple(self.eval(a) for a in e.args), e.span)
        if isinstance(e, ast.ListExpr):
            return ListV(tuple(self.eval(a) for a in e.items), e.span)
        if isinstance(e, ast.Neg):
            v = self.number(self.eval(e.operand), "the operand of '-'")
            return Num(-v.value, v.dim, v.is_int, e.span)
        if isinstance(e, ast.BinOp):
            a = self.number(self.eval(e.left), f"the left side of '{e.op}'")
            b = self.number(self.eval(e.right), f"the right side of '{e.op}'")
            if e.op in "+-":
                if a.dim != b.dim:
                    raise Bad(f"cannot {'add' if e.op == '+' else 'subtract'} {b.describe()} "
                              f"{'to' if e.op == '+' else 'from'} {a.describe()}", e.span)
                value = a.value + b.value if e.op == "+" else a.value - b.value
                return Num(value, a.dim, a.is_int and b.is_int, e.span)
            if e.op == "*":
                return Num(a.value * b.value, a.dim + b.dim, a.is_int and b.is_int, e.span)
            if b.value == 0:
                raise Bad("division by zero", e.right.span)
            value = a.value / b.value
            return Num(value, a.dim - b.dim, value.denominator == 1 and a.is_int, e.span)
        raise AssertionError(f"unknown expression {e!r}")

    def number(self, v: Any, what: str) -> Num:
        if isinstance(v, Num):
            return v
        if isinstance(v, Word):
            hint = did_you_mean(v.name, self.constants) if self.constants else None
            raise Bad(f"unknown name '{v.name}' in {what}", v.span,
                      hint=hint or "define it first with 'const NAME = VALUE'")
        raise Bad(f"expected a number for {what}", v.span)

    # -- conversions ------------------------------------------------------------------
    def plain(self, v: Any, key: str) -> float:
        n = self.number(v, f"'{key}'")
        if n.dim != 0:
            raise Bad(f"'{key}' is a plain number, got {n.describe()}", n.span,
                      hint="remove the unit")
        return float(n.value)

    def integer(self, v: Any, key: str) -> int:
        x = self.plain(v, key)
        if not float(x).is_integer():
            raise Bad(f"'{key}' must be a whole number, got {_fmt_num(x)}", v.span)
        return int(x)

    def steps(self, v: Any, key: str) -> float:
        """A time in steps of dt (a plain number is already steps)."""
        n = self.number(v, f"'{key}'")
        if n.dim == 1:
            return float(n.value / self.dt_ms)
        if n.dim == 0:
            return float(n.value)
        raise Bad(f"'{key}' is a time, got {n.describe()}", n.span,
                  hint="write it in ms or s, e.g. 10 ms")

    def whole_steps(self, v: Any, key: str) -> int:
        x = self.steps(v, key)
        if abs(x - round(x)) > 1e-9:
            raise Bad(f"'{key}' is {_fmt_num(x)} steps, not a whole number of steps "
                      f"(dt = {_fmt_num(self.dt_ms)} ms)", v.span)
        if round(x) < 0:
            raise Bad(f"'{key}' must not be negative, got {_fmt_num(x)} steps", v.span,
                      hint="a spike emitted at step t arrives at t + 1 + delay")
        return int(round(x))

    def rate_hz(self, v: Any, key: str) -> float:
        n = self.number(v, f"'{key}'")
        if n.dim != -1:
            raise Bad(f"'{key}' is a rate, got {n.describe()}", n.span,
                      hint="write it in Hz, e.g. 100 Hz")
        return float(n.value * 1000)

    def word(self, v: Any, key: str, choices: tuple[str, ...]) -> str:
        if not isinstance(v, Word) or v.name not in choices:
            name = v.name if isinstance(v, Word) else None
            hint = did_you_mean(name, choices) if name else \
                "expected one of: " + ", ".join(f"'{c}'" for c in choices)
            shown = f"'{name}'" if name else "this value"
            raise Bad(f"{shown} is not a valid '{key}'", v.span, hint=hint)
        return v.name

    def boolean(self, v: Any, key: str) -> bool:
        return self.word(v, key, ("true", "false")) == "true"

    def text(self, v: Any, key: str) -> str:
        if not isinstance(v, Text):
            raise Bad(f"'{key}' is a file name in quotes, e.g. {key} = \"data/{key}.npy\"",
                      v.span)
        return v.value

    def array(self, v: Any, key: str) -> ArrayValue:
        path = self.text(v, key)
        try:
            values = load_array(path, self.base_dir)
        except FileProblem as p:
            raise Bad(p.message, v.span, hint=p.hint) from None
        if values.dtype.names is not None or not (np.issubdtype(values.dtype, np.number)
                                                   or values.dtype == np.bool_):
            raise Bad(f"'{path}' does not hold numbers", v.span)
        return ArrayValue(values.astype(np.float64), path)

    def number_or_array(self, v: Any, key: str) -> float | ArrayValue:
        return self.array(v, key) if isinstance(v, Text) else self.plain(v, key)

    def pair(self, v: Any, key: str) -> tuple[int, int]:
        if isinstance(v, ListV):
            if len(v.items) != 2:
                raise Bad(f"'{key}' is one number or [y, x], got {len(v.items)} values", v.span)
            y, x = (self.integer(i, key) for i in v.items)
        else:
            y = x = self.integer(v, key)
        if y < 0 or x < 0:
            raise Bad(f"'{key}' must not be negative", v.span)
        return (y, x)

    def int_or_list(self, v: Any, key: str) -> int | tuple[int, ...]:
        if isinstance(v, ListV):
            return tuple(self.integer(i, key) for i in v.items)
        return self.integer(v, key)


# ---------------------------------------------------------------------------------------
# Parameter tables: what each model, encoder, connector and native block accepts.

Conv = Callable[[_Ctx, Any, str], Any]


_NEURON_PARAMS: dict[str, dict[str, Conv]] = {
    "LIF": {"tau_mem": _Ctx.steps, "beta": _Ctx.number_or_array, "tau_syn": _Ctx.steps,
            "alpha": _Ctx.number_or_array, "threshold": _Ctx.number_or_array,
            "reset": lambda c, v, k: c.word(v, k, ("zero", "subtract", "none")),
            "refractory": _Ctx.whole_steps, "bias": _Ctx.number_or_array},
}
_NEURON_PARAMS["IF"] = {k: f for k, f in _NEURON_PARAMS["LIF"].items() if k not in ("tau_mem", "beta")}
_NEURON_PARAMS["LI"] = {k: _NEURON_PARAMS["LIF"][k] for k in ("tau_mem", "beta", "tau_syn", "alpha", "bias")}

_ENCODER_PARAMS: dict[str, dict[str, Conv]] = {
    "spikes": {"file": _Ctx.text},
    "rate": {"value": _Ctx.number_or_array, "max_rate": _Ctx.rate_hz, "seed": _Ctx.integer},
    "latency": {"value": _Ctx.number_or_array, "tau": _Ctx.steps, "threshold": _Ctx.plain},
    "delta": {"signal": _Ctx.array, "threshold": _Ctx.plain},
    "events": {"file": _Ctx.text},
    "current": {"value": _Ctx.number_or_array},
    "frames": {"values": _Ctx.array},
}


def _delay(c: _Ctx, v: Any, k: str) -> int | ArrayValue:
    if isinstance(v, Text):
        arr = c.array(v, k)
        steps = arr.values / 1.0  # a delay file holds steps
        if np.any(steps < 0):
            raise Bad(f"'{arr.path}' holds negative delays", v.span)
        if not np.all(steps == np.round(steps)):
            raise Bad(f"'{arr.path}' holds delays that are not whole steps", v.span)
        return arr
    return c.whole_steps(v, k)


def _weight_dist(c: _Ctx, v: Any, k: str) -> float | Distribution:
    if isinstance(v, FuncV):
        if v.name not in ("normal", "uniform"):
            raise Bad(f"unknown distribution '{v.name}'", v.span,
                      hint=did_you_mean(v.name, ("normal", "uniform")))
        if len(v.args) != 2:
            names = "mean, std" if v.name == "normal" else "low, high"
            raise Bad(f"{v.name}() takes 2 numbers ({names}), got {len(v.args)}", v.span)
        a, b = (c.plain(x, k) for x in v.args)
        if v.name == "normal" and b < 0:
            raise Bad("normal(mean, std) needs std >= 0", v.span)
        if v.name == "uniform" and b < a:
            raise Bad("uniform(low, high) needs low <= high", v.span)
        return Distribution(v.name, a, b)  # type: ignore[arg-type]
    return c.plain(v, k)


def _probability(c: _Ctx, v: Any, k: str) -> float:
    p = c.plain(v, k)
    if not 0.0 <= p <= 1.0:
        raise Bad(f"'{k}' is a probability and must be in [0, 1], got {_fmt_num(p)}", v.span)
    return p


_CONNECTOR_PARAMS: dict[str, dict[str, Conv]] = {
    "dense": {"weights": _Ctx.array},
    "sparse": {"file": _Ctx.text},
    "one_to_one": {"weight": _Ctx.number_or_array},
    "all_to_all": {"weight": _Ctx.plain, "self": _Ctx.boolean},
    "random": {"p": _probability, "weight": _weight_dist, "seed": _Ctx.integer, "self": _Ctx.boolean},
    "conv2d": {"kernel": _Ctx.array, "stride": _Ctx.pair, "padding": _Ctx.pair},
    "sum_pool": {"size": _Ctx.pair, "stride": _Ctx.pair},
    "avg_pool": {"size": _Ctx.pair, "stride": _Ctx.pair},
    "max_pool": {"size": _Ctx.pair, "stride": _Ctx.pair},
}
for _params in _CONNECTOR_PARAMS.values():
    _params["delay"] = _delay


def _int_array(c: _Ctx, v: Any, k: str) -> ArrayValue:
    arr = c.array(v, k)
    if not np.all(arr.values == np.round(arr.values)):
        raise Bad(f"'{arr.path}' must hold integers (chip-native values)", v.span)
    return ArrayValue(arr.values.astype(np.int64), arr.path)


def _int_or_file(c: _Ctx, v: Any, k: str) -> int | tuple[int, ...] | ArrayValue:
    return _int_array(c, v, k) if isinstance(v, Text) else c.int_or_list(v, k)


#: How each kind of native value (:data:`neurocomp.targets.NativeKind`) is read.
_NATIVE_KINDS: dict[str, Conv] = {"integer": _Ctx.integer, "integers": _int_or_file,
                                  "integer_file": _int_array, "boolean": _Ctx.boolean}


def _native_tables(part: str) -> dict[str, dict[str, Conv]]:
    """``native NAME(...)`` name -> parameter -> converter, for every registered family
    that lets ``part`` (``"population"`` or ``"projection"``) pin something."""
    tables: dict[str, dict[str, Conv]] = {}
    for fam in families():
        params = getattr(fam, f"native_{part}")
        if params:
            tables[fam.native] = {
                key: (_NATIVE_KINDS[kind] if isinstance(kind, str)
                      else lambda c, v, k, words=kind: c.word(v, k, words))
                for key, kind in params.items()}
    return tables


# ---------------------------------------------------------------------------------------

def _name_ok(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return name if re.match(r"[A-Za-z_]", name) else f"net_{name}"


class _Builder:
    # handed to the learn clause's builder (build_learning.py), which cannot import this module
    Bad = Bad
    Text = Text

    def __init__(self, module: ast.Module, base_dir: Path) -> None:
        self.module = module
        self.errors = Collector()
        self.ctx = _Ctx(base_dir, self.errors)
        self.populations: dict[str, Population] = {}
        self.pop_spans: dict[str, Span] = {}
        self.declared: dict[str, Span] = {}  # every population's name in the file, as first declared
        self.projections: list[Projection] = []
        self.probes: list[Probe] = []

    def report(self, bad: Bad) -> None:
        self.errors.error(bad.message, span=bad.span, hint=bad.hint)

    def args(self, call: ast.Call | ast.Native, table: dict[str, Conv], what: str) -> dict[str, Any]:
        """Convert each ``key = value`` with its table entry; report unknown and repeated keys."""
        out: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        for kw in call.kwargs:
            key = kw.name.text
            if key in spans:
                self.errors.error(f"'{key}' is given twice", span=kw.name.span)
                continue
            spans[key] = kw.span
            if key not in table:
                self.errors.error(f"{what} has no parameter '{key}'", span=kw.name.span,
                                  hint=did_you_mean(key, table))
                continue
            try:
                out[key] = table[key](self.ctx, self.ctx.eval(kw.value), key)
            except Bad as bad:
                self.report(bad)
                out[key] = _FAILED
        out["__spans__"] = spans
        return out

    # -- statements ----------------------------------------------------------------------
    def run(self, default_name: str) -> Network:
        dts = [s for s in self.module.statements if isinstance(s, ast.DtStmt)]
        for extra in dts[1:]:
            self.errors.error("dt is set twice", span=extra.span, hint="keep one 'dt = ...' line")
        if dts:
            self.dt(dts[0])
        handlers = {ast.ConstStmt: self.const, ast.PopulationStmt: self.population,
                    ast.InputStmt: self.input, ast.ConnectStmt: self.connect,
                    ast.ProbeStmt: self.probe, ast.ProjectionProbeStmt: self.probe_projection}
        # every declaration's line, so a use above it can say where it is
        for stmt in self.module.statements:
            if isinstance(stmt, (ast.PopulationStmt, ast.InputStmt)):
                self.declared.setdefault(stmt.name.text, stmt.name.span)
        for stmt in self.module.statements:
            if not isinstance(stmt, ast.DtStmt):
                handlers[type(stmt)](stmt)
        self.errors.raise_if_any(DslError)
        name = self.module.header.name.text if self.module.header else _name_ok(default_name)
        return Network(name=name, dt_ms=float(self.ctx.dt_ms), constants=dict(self.ctx.const_text),
                       populations=dict(self.populations), projections=tuple(self.projections),
                       probes=tuple(self.probes), base_dir=self.ctx.base_dir)

    def dt(self, stmt: ast.DtStmt) -> None:
        try:
            n = self.ctx.number(self.ctx.eval(stmt.value), "dt")
            if n.dim != 1:
                raise Bad(f"dt is a time, got {n.describe()}", n.span, hint="e.g. dt = 1 ms")
            if n.value <= 0:
                raise Bad("dt must be positive", n.span)
            self.ctx.dt_ms = n.value
        except Bad as bad:
            self.report(bad)

    def const(self, stmt: ast.ConstStmt) -> None:
        name = stmt.name.text
        if name in self.ctx.constants:
            self.errors.error(f"constant '{name}' is defined twice", span=stmt.name.span)
            return
        try:
            n = self.ctx.number(self.ctx.eval(stmt.value), f"constant '{name}'")
        except Bad as bad:
            self.report(bad)
            return
        self.ctx.constants[name] = n
        unit = {0: "", 1: " ms", -1: " kHz"}.get(n.dim)
        self.ctx.const_text[name] = _fmt_num(float(n.value)) + (unit if unit is not None else "")

    def shape(self, exprs: tuple[ast.Expr, ...]) -> tuple[int, ...] | None:
        dims = []
        for e in exprs:
            try:
                d = self.ctx.integer(self.ctx.eval(e), "shape")
                if d <= 0:
                    raise Bad(f"a size must be positive, got {d}", e.span)
                dims.append(d)
            except Bad as bad:
                self.report(bad)
                return None
        size = math.prod(dims)  # Python ints: 1e11 x 1e11 is 1e22, not a wrapped int64
        if size > _INT64_MAX:
            self.report(Bad(f"a population of {size:.3g} neurons: neurocomp counts neurons in 64-bit "
                            f"integers (at most 2^63 - 1)", exprs[0].span))
            return None
        return tuple(dims)

    def declare(self, name: ast.Ident) -> bool:
        if name.text in self.populations or name.text in self.pop_spans:
            first = self.pop_spans[name.text]
            line, _ = first.source.line_col(first.start)
            self.errors.error(f"population '{name.text}' is defined twice", span=name.span,
                              hint=f"the first definition is on line {line}; rename one")
            return False
        self.pop_spans[name.text] = name.span
        return True

    def natives(self, natives: tuple[ast.Native, ...], tables: dict[str, dict[str, Conv]],
                where: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for nat in natives:
            chip = nat.chip.text
            if chip not in tables:
                self.errors.error(f"no native parameters for chip '{chip}' on a {where}",
                                  span=nat.chip.span, hint=did_you_mean(chip, tables))
                continue
            if chip in out:
                self.errors.error(f"'native {chip}' is given twice", span=nat.chip.span)
                continue
            args = self.args(nat, tables[chip], f"native {chip}")
            args.pop("__spans__")
            out[chip] = {k: v for k, v in args.items() if v is not _FAILED}
        return out

    def kind_args(self, call: ast.Call, tables: dict[str, dict[str, Conv]],
                  what: str) -> dict[str, Any] | None:
        """The converted arguments of ``KIND(...)``, or ``None`` for an unknown kind."""
        kind = call.name.text
        if kind not in tables:
            self.errors.error(f"unknown {what} '{kind}'", span=call.name.span,
                              hint=did_you_mean(kind, tables))
            return None
        return self.args(call, tables[kind], kind)

    def population(self, stmt: ast.PopulationStmt) -> None:
        ok = self.declare(stmt.name)
        shape = self.shape(stmt.shape)
        model = stmt.model.name.text
        args = self.kind_args(stmt.model, _NEURON_PARAMS, "neuron model")
        if args is None:
            return
        natives = self.natives(stmt.natives, _native_tables("population"), "population")
        if not ok or shape is None or _FAILED in args.values():
            return
        neuron = self.neuron(model, args, stmt.model, _size_of(shape))
        if neuron is not None:
            self.populations[stmt.name.text] = Population(
                name=stmt.name.text, shape=shape, neuron=neuron, native=natives, span=stmt.name.span)

    def neuron(self, model: str, args: dict[str, Any], call: ast.Call, n: int) -> NeuronModel | None:
        spans = args.pop("__spans__")
        ok = True

        def decay(tau_key: str, decay_key: str, default: float | None) -> Any:
            nonlocal ok
            if tau_key in args and decay_key in args:
                self.errors.error(f"give '{tau_key}' or '{decay_key}', not both",
                                  span=spans[decay_key])
                ok = False
                return None
            if tau_key in args:
                tau = args[tau_key]
                if tau <= 0:
                    self.errors.error(f"'{tau_key}' must be positive", span=spans[tau_key])
                    ok = False
                    return None
                return math.exp(-1.0 / tau)
            if decay_key in args:
                value = args[decay_key]
                values = value.values if isinstance(value, ArrayValue) else np.asarray(value)
                if np.any(values < 0) or np.any(values > 1):
                    self.errors.error(f"'{decay_key}' is a decay per step and must be in [0, 1]",
                                      span=spans[decay_key])
                    ok = False
                return value
            if default is None:
                self.errors.error(f"{model} needs '{tau_key}' or '{decay_key}'", span=call.name.span,
                                  hint=f"e.g. {model}({tau_key} = 20 ms) or {model}({decay_key} = 0.9)")
                ok = False
            return default

        beta = decay("tau_mem", "beta", None) if model != "IF" else 1.0
        alpha = decay("tau_syn", "alpha", 0.0)
        for key in ("beta", "alpha", "threshold", "bias"):
            value = args.get(key)
            if isinstance(value, ArrayValue) and value.values.size != n:
                self.errors.error(f"'{value.path}' has {value.values.size} values, the population "
                                  f"has {n} neurons", span=spans[key])
                ok = False
        if not ok:
            return None
        family = {"LIF": "lif", "IF": "if", "LI": "li"}[model]
        return NeuronModel(family=family, alpha=alpha, beta=beta,  # type: ignore[arg-type]
                           threshold=args.get("threshold", 1.0), bias=args.get("bias", 0.0),
                           reset=args.get("reset", "zero"),
                           refractory_steps=args.get("refractory", 0))

    def input(self, stmt: ast.InputStmt) -> None:
        ok = self.declare(stmt.name)
        shape = self.shape(stmt.shape)
        kind = stmt.encoder.name.text
        args = self.kind_args(stmt.encoder, _ENCODER_PARAMS, "input encoder")
        if args is None or not ok or shape is None or _FAILED in args.values():
            return
        try:
            encoder = _ENCODERS[kind](self, args, stmt.encoder, shape)
        except Bad as bad:
            self.report(bad)
            return
        self.populations[stmt.name.text] = Population(name=stmt.name.text, shape=shape,
                                                      encoder=encoder, span=stmt.name.span)

    def unknown_population(self, ident: ast.Ident, use: str) -> None:
        """``unknown population``, and where it is declared when that is further down."""
        later = self.declared.get(ident.text)
        if later is None:
            self.errors.error(f"unknown population '{ident.text}'", span=ident.span,
                              hint=did_you_mean(ident.text, self.pop_spans))
            return
        line, _ = later.source.line_col(later.start)
        self.errors.error(f"unknown population '{ident.text}': it is declared later, on line {line}",
                          span=ident.span,
                          hint=f"a population is declared before the lines that use it: move line {line} "
                               f"above this {use}")

    def connect(self, stmt: ast.ConnectStmt) -> None:
        ends = []
        for ident in (stmt.pre, stmt.post):
            pop = self.populations.get(ident.text)
            if pop is None and ident.text not in self.pop_spans:
                self.unknown_population(ident, "connect")
            ends.append(pop)
        if ends[1] is not None and ends[1].is_input:
            self.errors.error(f"'{stmt.post.text}' is an input and cannot receive a projection",
                              span=stmt.post.span)
            ends[1] = None
        kind = stmt.connector.name.text
        args = self.kind_args(stmt.connector, _CONNECTOR_PARAMS, "connector")
        if args is None:
            return
        natives = self.natives(stmt.natives, _native_tables("projection"), "projection")
        name = self.projection_name(stmt)
        learning = learning_rule(self, stmt.learn) if stmt.learn is not None else None
        if None in ends or name is None or _FAILED in args.values() \
                or (stmt.learn is not None and learning is None):
            return
        pre, post = ends
        spans = args.pop("__spans__")
        delay = args.pop("delay", 0)
        try:
            connector = _CONNECTORS[kind](self, args, spans, stmt, pre, post)
            problem = connector.check_shapes(pre.shape, post.shape)
            if problem:
                raise Bad(problem, stmt.connector.span,
                          hint=f"'{pre.name}' has shape {list(pre.shape)}, "
                               f"'{post.name}' has shape {list(post.shape)}")
            if isinstance(connector, cn.Sparse) and connector.delays is not None:
                if "delay" in spans:
                    raise Bad(f"'{connector.path}' holds delays; do not give 'delay' too",
                              spans["delay"])
                delay = connector.delays
            self.check_delay(delay, connector, spans.get("delay"), kind, pre, post)
        except Bad as bad:
            self.report(bad)
            return
        self.projections.append(Projection(name=name, pre=pre.name, post=post.name,
                                           connector=connector, delay_steps=delay,
                                           native=natives, span=stmt.span, learning=learning))

    def projection_name(self, stmt: ast.ConnectStmt) -> str | None:
        taken = {p.name for p in self.projections}
        if stmt.alias is not None:
            if stmt.alias.text in taken:
                self.errors.error(f"projection '{stmt.alias.text}' is defined twice",
                                  span=stmt.alias.span)
                return None
            return stmt.alias.text
        base = f"{stmt.pre.text}->{stmt.post.text}"
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}#{k}"
        return name

    def check_delay(self, delay: Any, connector: Any, span: Span | None, kind: str,
                    pre: Population, post: Population) -> None:
        """A delay file is laid out like the synapses it delays (docs/dsl.md)."""
        if not isinstance(delay, ArrayValue):
            return
        layouts = {cn.Dense: lambda c: tuple(c.weights.values.shape),
                   cn.AllToAll: lambda c: (post.size, pre.size),
                   cn.OneToOne: lambda c: (pre.size,),
                   cn.Conv2d: lambda c: tuple(c.kernel.values.shape),
                   cn.Sparse: lambda c: (len(c.pre),)}
        if type(connector) not in layouts:
            raise Bad(f"a delay file needs a fixed synapse layout; {kind} has none", span,
                      hint="give one delay for all synapses, e.g. delay = 2")
        want = layouts[type(connector)](connector)
        got = tuple(delay.values.shape)
        if got != want and not (len(want) == 1 and delay.values.size == want[0]):
            raise Bad(f"delays in '{delay.path}' have shape {list(got)}; {kind} needs "
                      f"{list(want)}, one per synapse in the weights' layout", span)

    def probe(self, stmt: ast.ProbeStmt) -> None:
        variables = []
        for var in stmt.variables:
            if var.text not in PROBE_VARIABLES:
                self.errors.error(f"cannot probe '{var.text}'", span=var.span,
                                  hint=did_you_mean(var.text, PROBE_VARIABLES))
            elif var.text in variables:
                self.errors.error(f"'{var.text}' is listed twice", span=var.span)
            else:
                variables.append(var.text)
        for ident in stmt.populations:
            pop = self.populations.get(ident.text)
            if pop is None:
                if ident.text not in self.pop_spans:
                    self.unknown_population(ident, "probe")
                continue
            if pop.is_input and set(variables) - {"spikes"}:
                self.errors.error(f"'{ident.text}' is an input: only its spikes can be probed",
                                  span=ident.span)
                continue
            if any(p.population == ident.text for p in self.probes):
                self.errors.error(f"'{ident.text}' is probed twice", span=ident.span,
                                  hint="list all its variables in one probe")
                continue
            self.probes.append(Probe(population=ident.text, variables=tuple(variables),
                                     span=ident.span))


    def probe_projection(self, stmt: ast.ProjectionProbeStmt) -> None:
        """``probe PRE -> POST : weights``: the weights of a plastic projection, per step."""
        for var in stmt.variables:
            if var.text != "weights":
                self.errors.error(f"cannot probe '{var.text}' of a projection", span=var.span,
                                  hint="a projection's probe is 'weights'")
                return
        found = [k for k, p in enumerate(self.projections)
                 if (p.pre, p.post) == (stmt.pre.text, stmt.post.text)]
        if not found:
            self.errors.error(f"no projection {stmt.pre.text} -> {stmt.post.text}", span=stmt.span,
                              hint="probe a projection after its 'connect' line")
            return
        if len(found) > 1:
            self.errors.error(f"{len(found)} projections go {stmt.pre.text} -> {stmt.post.text}",
                              span=stmt.span)
            return
        proj = self.projections[found[0]]
        if proj.learning is None:
            self.errors.error(f"projection '{proj.name}' does not learn: its weights are fixed",
                              span=stmt.span, hint="add 'learn stdp(...)' to its connect line")
            return
        if proj.learning.probe_weights:
            self.errors.error(f"the weights of '{proj.name}' are probed twice", span=stmt.span)
            return
        self.projections[found[0]] = dataclasses.replace(
            proj, learning=dataclasses.replace(proj.learning, probe_weights=True))


_FAILED = object()
_Builder.FAILED = _FAILED


# ---------------------------------------------------------------------------------------
# Encoders and connectors: turn checked arguments into IR objects.

def _need(args: dict[str, Any], key: str, call: ast.Call) -> Any:
    if key not in args:
        raise Bad(f"{call.name.text}() needs '{key}'", call.span)
    return args[key]


_INT64_MAX = (1 << 63) - 1

def _size_of(shape: tuple[int, ...]) -> int:
    return math.prod(int(d) for d in shape)  # Python ints: no int64 wrap-around


def _values_fit(value: Any, shape: tuple[int, ...], span: Span, what: str) -> None:
    if isinstance(value, ArrayValue) and value.values.size != _size_of(shape):
        raise Bad(f"'{value.path}' has shape {list(value.values.shape)}, {what} has shape "
                  f"{list(shape)}", span)


def _spikes(b: _Builder, args: dict, call: ast.Call, shape: tuple[int, ...]) -> en.SpikeFile:
    path = _need(args, "file", call)
    span = args["__spans__"]["file"]
    n = _size_of(shape)
    try:
        data = load_npz(path, b.ctx.base_dir)
    except FileProblem as p:
        raise Bad(p.message, span, hint=p.hint) from None
    if "times" in data and "indices" in data:
        times, indices = data["times"], data["indices"]
        if times.shape != indices.shape or times.ndim != 1:
            raise Bad(f"'{path}': 'times' and 'indices' must be 1-D arrays of one length", span)
        for key, a in (("times", times), ("indices", indices)):
            if a.dtype.kind not in "iuf":  # strings, booleans, records: not step numbers
                raise Bad(f"'{path}': '{key}' holds {a.dtype} values; expected whole numbers", span)
    else:
        raster = data.get("raster", data.get(""))
        if raster is None:
            raise Bad(f"'{path}' has neither 'times'/'indices' nor a raster",
                      span, hint="save events with numpy.savez(path, times=..., indices=...)")
        if raster.dtype.kind not in "biuf":
            raise Bad(f"'{path}': the raster holds {raster.dtype} values; expected 0 and 1", span)
        raster = raster.reshape(raster.shape[0], -1) if raster.ndim > 1 else raster
        if raster.ndim != 2 or raster.shape[1] != n:
            raise Bad(f"the raster in '{path}' has shape {list(raster.shape)}, expected "
                      f"[steps, {n}]", span)
        times, indices = np.nonzero(raster)
    if not (np.issubdtype(times.dtype, np.integer) or np.all(times == np.round(times))):
        raise Bad(f"'{path}': spike times must be whole steps", span)
    if not (np.issubdtype(indices.dtype, np.integer) or np.all(indices == np.round(indices))):
        raise Bad(f"'{path}': neuron indices must be whole numbers", span)
    times = times.astype(np.int64)
    indices = indices.astype(np.int64)
    if len(times) and times.min() < 0:
        raise Bad(f"'{path}' has a spike at step {int(times.min())}; steps start at 0", span)
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        bad = int(indices.max()) if indices.max() >= n else int(indices.min())
        raise Bad(f"'{path}' has neuron index {bad}, but the population has {n} neurons "
                  f"(indices 0..{n - 1})", span)
    return en.SpikeFile(times=times, indices=indices, path=path)


def _rate(b: _Builder, args: dict, call: ast.Call, shape: tuple[int, ...]) -> en.RateCode:
    value = args.get("value", 1.0)
    if "value" in args:
        _values_fit(value, shape, args["__spans__"]["value"], "the input")
    max_rate = args.get("max_rate", 1e3 / b.ctx.dt_ms)
    if max_rate < 0:
        raise Bad("'max_rate' must not be negative", args["__spans__"]["max_rate"])
    return en.RateCode(value=value, max_rate_hz=max_rate, seed=args.get("seed", 0))


def _latency(b: _Builder, args: dict, call: ast.Call, shape: tuple[int, ...]) -> en.LatencyCode:
    value = _need(args, "value", call)
    _values_fit(value, shape, args["__spans__"]["value"], "the input")
    tau = _need(args, "tau", call)
    if tau <= 0:
        raise Bad("'tau' must be positive", args["__spans__"]["tau"])
    threshold = args.get("threshold", 0.0)
    if threshold < 0:
        raise Bad("'threshold' must not be negative", args["__spans__"]["threshold"])
    return en.LatencyCode(value=value, tau_steps=tau, threshold=threshold)


def _delta(b: _Builder, args: dict, call: ast.Call, shape: tuple[int, ...]) -> en.DeltaCode:
    signal = _need(args, "signal", call)
    span = args["__spans__"]["signal"]
    if shape[0] != 2 or len(shape) < 2:
        raise Bad(f"a delta input has shape [2, N...] (ON and OFF channels), got {list(shape)}",
                  call.span)
    got = signal.values.shape
    if signal.values.ndim < 2 or _size_of(got[1:]) != _size_of(shape[1:]):
        raise Bad(f"the signal in '{signal.path}' has shape {list(got)}, expected "
                  f"[steps, {', '.join(map(str, shape[1:]))}]", span)
    threshold = _need(args, "threshold", call)
    if threshold < 0:
        raise Bad("'threshold' must not be negative", args["__spans__"]["threshold"])
    return en.DeltaCode(signal=signal, threshold=threshold)


def _events(b: _Builder, args: dict, call: ast.Call, shape: tuple[int, ...]) -> en.EventStream:
    path = _need(args, "file", call)
    span = args["__spans__"]["file"]
    if len(shape) != 3 or shape[0] != 2:
        raise Bad(f"an event-camera input has shape [2, height, width], got {list(shape)}",
                  call.span)
    try:
        data = load_npz(path, b.ctx.base_dir)
    except FileProblem as p:
        raise Bad(p.message, span, hint=p.hint) from None
    if "" in data and data[""].dtype.names is not None:
        rec = data[""]
        fields = {f: rec[f] for f in rec.dtype.names}
    else:
        fields = data
    missing = [f for f in ("x", "y", "t", "p") if f not in fields]
    if missing:
        raise Bad(f"'{path}' lacks the event field(s) {', '.join(missing)}", span,
                  hint="events are a structured array with fields x, y, t, p (as Tonic makes)")
    x, y, t, p = (np.asarray(fields[f]).astype(np.int64) for f in ("x", "y", "t", "p"))
    _, h, w = shape
    if len(x) and (x.min() < 0 or x.max() >= w or y.min() < 0 or y.max() >= h):
        raise Bad(f"'{path}' has events outside the {w} x {h} sensor (x up to {int(x.max())}, "
                  f"y up to {int(y.max())})", span)
    if len(t) and t.min() < 0:
        raise Bad(f"'{path}' has an event at a negative time", span)
    if len(p) and not np.all(np.isin(p, (-1, 0, 1))):
        raise Bad(f"'{path}' has polarities other than 0/1 (or -1/1)", span)
    return en.EventStream(x=x, y=y, t_us=t, p=p, path=path)


def _current(b: _Builder, args: dict, call: ast.Call, shape: tuple[int, ...]) -> en.ConstantCurrent:
    value = _need(args, "value", call)
    _values_fit(value, shape, args["__spans__"]["value"], "the input")
    return en.ConstantCurrent(value=value)


def _frames(b: _Builder, args: dict, call: ast.Call, shape: tuple[int, ...]) -> en.GradedFrames:
    values = _need(args, "values", call)
    got = values.values.shape
    if values.values.ndim < 2 or _size_of(got[1:]) != _size_of(shape):
        raise Bad(f"the frames in '{values.path}' have shape {list(got)}, expected "
                  f"[frames, {', '.join(map(str, shape))}]", args["__spans__"]["values"])
    return en.GradedFrames(values=values)


_ENCODERS = {"spikes": _spikes, "rate": _rate, "latency": _latency, "delta": _delta,
             "events": _events, "current": _current, "frames": _frames}


def _dense(b, args, spans, stmt, pre, post) -> cn.Dense:
    return cn.Dense(weights=_need(args, "weights", stmt.connector))


def _rows_of(ptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))


#: scipy.sparse.save_npz formats: the arrays each needs, and (post, pre, weight) from them.
#: A CSC matrix's pointers run over columns (pre), a CSR matrix's over rows (post).
_SCIPY_FORMATS: dict[str, tuple[set[str], Callable[[Any], tuple[np.ndarray, ...]]]] = {
    "csr": ({"indptr", "indices", "data"}, lambda d: (_rows_of(d["indptr"]), d["indices"], d["data"])),
    "csc": ({"indptr", "indices", "data"}, lambda d: (d["indices"], _rows_of(d["indptr"]), d["data"])),
    "coo": ({"row", "col", "data"}, lambda d: (d["row"], d["col"], d["data"])),
}


def _sparse(b, args, spans, stmt, pre, post) -> cn.Sparse:
    path = _need(args, "file", stmt.connector)
    span = spans["file"]
    try:
        data = load_npz(path, b.ctx.base_dir)
    except FileProblem as p:
        raise Bad(p.message, span, hint=p.hint) from None
    if {"pre", "post", "weight"} <= data.keys():
        pre_i, post_i, w = data["pre"], data["post"], data["weight"]
    elif "format" in data and "shape" in data:
        # scipy.sparse.save_npz of a [post, pre] matrix, in the format the file names
        fmt = np.asarray(data["format"]).reshape(-1)[0]
        fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
        reader = _SCIPY_FORMATS.get(fmt)
        if reader is None or not reader[0] <= data.keys():
            known = ", ".join(_SCIPY_FORMATS)
            raise Bad(f"'{path}' holds a scipy '{fmt}' matrix; neurocomp reads {known} "
                      f"(save it with scipy.sparse.save_npz(path, matrix.tocsr()))", span)
        shape = tuple(int(s) for s in data["shape"])
        if shape != (post.size, pre.size):
            raise Bad(f"the matrix in '{path}' has shape {list(shape)}, {stmt.post.text} <- "
                      f"{stmt.pre.text} needs [post, pre] = [{post.size}, {pre.size}]", span)
        post_i, pre_i, w = reader[1](data)
    else:
        raise Bad(f"'{path}' needs arrays 'pre', 'post', 'weight' (or a scipy sparse matrix)", span)
    if not (pre_i.shape == post_i.shape == w.shape) or pre_i.ndim != 1:
        raise Bad(f"'{path}': 'pre', 'post' and 'weight' must be 1-D arrays of one length", span)
    if len(pre_i) and (pre_i.min() < 0 or post_i.min() < 0):
        raise Bad(f"'{path}' has a negative neuron index", span)
    delays = None
    if "delay" in data:
        d = data["delay"]
        if d.shape != pre_i.shape:
            raise Bad(f"'{path}': 'delay' must have one entry per synapse ({len(pre_i)}), "
                      f"got {d.size}", span)
        if np.any(d < 0) or not np.all(d == np.round(d)):
            raise Bad(f"'{path}': delays must be whole numbers of steps >= 0", span)
        delays = ArrayValue(d.astype(np.float64), path)
    return cn.Sparse(pre=pre_i.astype(np.int64), post=post_i.astype(np.int64),
                     weights=w.astype(np.float64), path=path, delays=delays)


def _one_to_one(b, args, spans, stmt, pre, post) -> cn.OneToOne:
    return cn.OneToOne(weight=_need(args, "weight", stmt.connector))


def _all_to_all(b, args, spans, stmt, pre, post) -> cn.AllToAll:
    return cn.AllToAll(weight=_need(args, "weight", stmt.connector), allow_self=args.get("self", True))


def _random(b, args, spans, stmt, pre, post) -> cn.Random:
    return cn.Random(p=_need(args, "p", stmt.connector), weight=_need(args, "weight", stmt.connector),
                     seed=args.get("seed", 0), allow_self=args.get("self", True))


def _conv2d(b, args, spans, stmt, pre, post) -> cn.Conv2d:
    stride = args.get("stride", (1, 1))
    if 0 in stride:
        raise Bad("'stride' must be at least 1", spans["stride"])
    return cn.Conv2d(kernel=_need(args, "kernel", stmt.connector), stride=stride,
                     padding=args.get("padding", (0, 0)))


def _pool(kind: str):
    def make(b, args, spans, stmt, pre, post) -> cn.Pool2d:
        size = _need(args, "size", stmt.connector)
        stride = args.get("stride", size)
        if 0 in size or 0 in stride:
            raise Bad("'size' and 'stride' must be at least 1", stmt.connector.span)
        return cn.Pool2d(kind=kind, size=size, stride=stride)
    return make


_CONNECTORS = {"dense": _dense, "sparse": _sparse, "one_to_one": _one_to_one,
               "all_to_all": _all_to_all, "random": _random, "conv2d": _conv2d,
               "sum_pool": _pool("sum"), "avg_pool": _pool("avg"), "max_pool": _pool("max")}


# ---------------------------------------------------------------------------------------

def build(module: ast.Module, base_dir: str | Path | None = None) -> Network:
    """Check a parsed `.snn` module and build its :class:`Network`.

    Parameters
    ----------
    module
        The syntax tree from :func:`neurocomp.dsl.parse.parse`.
    base_dir
        Folder that relative file names are resolved against (default: the current one).

    Raises
    ------
    DslError
        With every problem found, each pointing at its place in the text.
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    default_name = Path(module.source.name).stem or "network"
    return _Builder(module, base).run(default_name)


def load(path: str | Path) -> Network:
    """Parse and build a `.snn` file (relative file names are resolved next to it).

    Examples
    --------
    >>> import neurocomp as nc
    >>> net = nc.load("examples/chain.snn")  # doctest: +SKIP
    """
    from ..dsl.parse import parse_file

    path = Path(path)
    return build(parse_file(path), path.parent)
