"""The ``learn`` clause of ``connect``: ``learn stdp(...)`` or ``learn rule(dw = "...", ...)``.

Called by :mod:`neurocomp.ir.build` for each ``connect`` with a ``learn`` clause; returns a
:class:`~neurocomp.ir.learning.LearningRule` or reports located mistakes. The parameter
names are Lava 0.10's (``Loihi2FLearningRule``: ``x1_impulse``, ``x1_tau``, ...,
``t_epoch``, ``rng_seed``; ``STDPLoihi``: ``learning_rate``, ``A_plus``, ``A_minus``,
``tau_plus``, ``tau_minus``), so a Lava rule can be pasted. docs/learning.md.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..diagnostics import Span
from ..dsl import ast
from ..dsl.rule import RuleError, parse_rule
from .learning import TRACES, LearningRule, Trace

__all__ = ["learning_rule", "lava_literal"]


def lava_literal(value: float) -> str:
    """Lava's ``float_to_literal`` (``lava/magma/core/learning/utils.py``): the mantissa is
    ``max(int(|p|), 1)``, the rest a power of two rounded in log2 (so 0.3 becomes 2^-2
    and 2.5 becomes 2). STDP parameters go through it as in ``STDPLoihi``."""
    if value == 0:
        return "0"
    sign = int(np.sign(value))
    mag = abs(value)
    mant = max(int(mag), 1)
    rest = mag / mant
    if rest == 1:
        return f"({sign * mant})"
    return f"({sign * mant})*2^{int(np.round(np.log2(rest)))}"


def _tables(builder: Any) -> tuple[dict[str, Callable], dict[str, Callable]]:
    Bad = builder.Bad

    def tau(c, v, k):
        x = c.steps(v, k)
        if x < 0:
            raise Bad(f"'{k}' must not be negative", v.span)
        return x

    def impulse(c, v, k):
        x = c.plain(v, k)
        if x < 0:
            raise Bad(f"'{k}' must not be negative (Lava: impulse >= 0)", v.span)
        return x

    def epoch(c, v, k):
        n = c.integer(v, k)
        if n < 1:
            raise Bad(f"'{k}' is the learning epoch in steps, at least 1", v.span)
        return n

    def seed(c, v, k):
        n = c.integer(v, k)
        if n < 0:
            raise Bad(f"'{k}' must not be negative", v.span)
        return n

    def text(c, v, k):
        if not isinstance(v, builder.Text):
            raise Bad(f"'{k}' is a rule in quotes, e.g. {k} = \"2^-2*x1*y0 - 2^-2*y1*x0\"", v.span)
        return v

    common = {"t_epoch": epoch, "epoch": epoch, "rng_seed": seed, "seed": seed}
    rule: dict[str, Callable] = {"dw": text}
    for name in TRACES:
        rule[f"{name}_tau"] = tau
        rule[f"{name}_impulse"] = impulse
    rule.update(common)
    plain = lambda c, v, k: c.plain(v, k)  # noqa: E731
    stdp = {"learning_rate": plain, "A_plus": plain, "A_minus": plain, "a_plus": plain,
            "a_minus": plain, "tau_plus": tau, "tau_minus": tau, "x1_impulse": impulse,
            "y1_impulse": impulse}
    stdp.update(common)
    return rule, stdp


def learning_rule(builder: Any, call: ast.Call) -> LearningRule | None:
    """The rule of one ``learn`` clause, or ``None`` after reporting its mistakes.

    ``builder`` is :mod:`neurocomp.ir.build`'s builder: its ``args``, ``report`` and
    ``errors``, and the value types it hands over (``Bad``, ``Text``, ``FAILED``), so that
    this module does not import it back."""
    rule_table, stdp_table = _tables(builder)
    kind = call.name.text
    tables = {"rule": rule_table, "stdp": stdp_table}
    if kind not in tables:
        builder.errors.error(f"unknown learning rule '{kind}'", span=call.name.span,
                             hint="write 'learn stdp(...)' or 'learn rule(dw = \"...\", ...)'")
        return None
    tags = [kw for kw in call.kwargs if kw.name.text in ("dd", "dt")]
    for kw in tags:  # Lava's LearningDense takes these; say why they are refused
        builder.errors.error(f"'{kw.name.text}' (a rule for Lava's synaptic tag "
                             f"{'d' if kw.name.text == 'dd' else 't'}) is not modelled: neurocomp's "
                             "learning engine learns the weight w only", span=kw.name.span,
                             hint="remove it (docs/learning.md, 'What is not modelled')")
    if tags:
        return None
    args = builder.args(call, tables[kind], f"learning rule {kind}()")
    spans = args.pop("__spans__")
    if any(v is builder.FAILED for v in args.values()):
        return None
    for a, b in (("t_epoch", "epoch"), ("rng_seed", "seed"), ("A_plus", "a_plus"),
                 ("A_minus", "a_minus")):
        if a in args and b in args:
            builder.errors.error(f"give '{a}' or '{b}', not both", span=spans[b])
            return None
        if b in args:
            args[a] = args.pop(b)
    epoch = args.pop("t_epoch", 1)
    seed = args.pop("rng_seed", None)
    Bad = builder.Bad
    try:
        if kind == "stdp":
            for key in ("A_plus", "A_minus"):
                if key not in args:
                    raise Bad(f"stdp() needs '{key}'", call.span,
                              hint="e.g. stdp(A_plus = 1, A_minus = -1, tau_plus = 10, tau_minus = 10)")
            lr = args.get("learning_rate", 1.0)
            # STDPLoihi's string (lava/proc/learning_rules/stdp_learning_rule.py)
            dw = (f"{lava_literal(lr)}*{lava_literal(args['A_minus'])}*x0*y1 + "
                  f"{lava_literal(lr)}*{lava_literal(args['A_plus'])}*y0*x1")
            traces = {"x1": Trace(args.get("tau_plus", 0.0), args.get("x1_impulse", 16.0)),
                      "y1": Trace(args.get("tau_minus", 0.0), args.get("y1_impulse", 16.0))}
            try:
                products = parse_rule(dw)
            except RuleError as err:
                raise Bad(f"these STDP parameters give the rule \"{dw}\": {err.message}",
                          call.span) from None
            params = {k: float(v) for k, v in args.items()}
        else:
            if "dw" not in args:
                raise Bad("rule() needs 'dw', the weight change per epoch", call.span,
                          hint='e.g. rule(dw = "2^-2*x1*y0 - 2^-2*y1*x0", x1_tau = 16, '
                               'x1_impulse = 20, y1_tau = 16, y1_impulse = 20)')
            text = args["dw"]
            dw = text.value
            try:
                products = parse_rule(dw)
            except RuleError as err:
                start = text.span.start + 1 + err.start
                raise Bad(err.message, Span(start, max(start + 1, text.span.start + 1 + err.end),
                                            text.span.source), hint=err.hint) from None
            traces = {name: Trace(args.get(f"{name}_tau", 0.0), args.get(f"{name}_impulse", 0.0))
                      for name in TRACES if f"{name}_tau" in args or f"{name}_impulse" in args}
            params = {}
    except Bad as bad:
        builder.report(bad)
        return None
    rule = LearningRule(dw=dw, products=products, traces=traces, epoch=epoch, rng_seed=seed,
                        kind=kind, params=params, span=call.span)
    unused = sorted(n for n in rule.used if n in TRACES and n not in traces)
    if unused:
        builder.errors.error(f"the rule reads the trace{'s' if len(unused) > 1 else ''} "
                             f"{', '.join(unused)}, which {'are' if len(unused) > 1 else 'is'} "
                             "not configured (its impulse is 0: it stays 0)", span=call.span,
                             hint=f"give {unused[0]}_impulse and {unused[0]}_tau")
        return None
    if not all(math.isfinite(t.tau) and math.isfinite(t.impulse) for t in traces.values()):
        builder.errors.error("trace parameters must be finite", span=call.span)
        return None
    return rule
