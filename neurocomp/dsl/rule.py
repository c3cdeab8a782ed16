"""Parse a sum-of-products learning rule (Loihi's and Lava's form) into products.

``parse_rule("2^-2*x1*y0 - 2^-2*y1*x0")`` returns the :class:`~neurocomp.ir.learning.Product`
tuple of the rule, read the way Lava 0.10 reads it
(``lava/magma/core/learning/product_series.py``, ``ProductSeries._generate_product``):

* a term's first dependency (``x0``, ``y0``, ``u0`` .. ``u9``) gates it; a later ``x0`` or
  ``y0`` is an ordinary factor;
* every number of a term (``3``, ``2^-2``, ``3*2^-2``) multiplies into one scale
  ``mantissa · 2**exponent``; a ``-`` before the term negates the mantissa; while the
  mantissa is even and beyond ``±7`` it is halved (exponent + 1); then the mantissa
  must lie in -8..7 and the exponent in -7..8;
* ``(x1 - 2)`` is a factor with a constant, ``sgn(w + 1)`` the sign of one;
* Lava also learns the tags ``d`` and ``t`` (``dd``, ``dt`` rules); neurocomp learns the
  weight only, so those names are refused.

The text is parsed with lark (never evaluated). A mistake raises :class:`RuleError`
with its offsets in the rule text, so the caller can point into the ``.snn`` file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import lark
from lark import Lark, Token, Transformer, v_args


__all__ = ["RuleError", "parse_rule", "Factor", "Product", "MANTISSA_RANGE", "EXPONENT_RANGE"]

MANTISSA_RANGE = (-8, 7)  # W_S_MANT = 4 signed bits (lava constants.py, product_series.py:723)
EXPONENT_RANGE = (-7, 8)  # stored + 7 in 4 bits (product_series.py:729-738)

_FACTORS = {"x1", "x2", "y1", "y2", "y3", "x0", "y0", "w"}


@dataclass(frozen=True)
class Factor:
    """``var + const`` (or ``sgn(var + const)``); ``var`` is a trace, ``x0``, ``y0`` or ``w``."""

    var: str
    const: int = 0
    sgn: bool = False

    def text(self) -> str:
        inner = self.var if self.const == 0 else \
            f"{self.var} {'+' if self.const > 0 else '-'} {abs(self.const)}"
        if self.sgn:
            return f"sgn({inner})"
        return inner if self.const == 0 else f"({inner})"


@dataclass(frozen=True)
class Product:
    """``mantissa · 2**exponent · dependency · Π factors`` (``decimate`` = k of ``u{k}``)."""

    dependency: str  # "x0", "y0" or "u"
    mantissa: int
    exponent: int
    factors: tuple[Factor, ...] = ()
    decimate: int = 0

    @property
    def scale(self) -> float:
        return self.mantissa * 2.0 ** self.exponent

    def text(self) -> str:
        dep = self.dependency if self.dependency != "u" else f"u{self.decimate}"
        parts = [str(abs(self.mantissa))] if abs(self.mantissa) != 1 else []
        if self.exponent:
            parts.append(f"2^{self.exponent}")
        parts.append(dep)
        parts += [f.text() for f in self.factors]
        return "*".join(parts)



class RuleError(Exception):
    """A mistake in a rule text, at ``start:end`` of it."""

    def __init__(self, message: str, start: int, end: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.start, self.end, self.hint = message, start, end, hint


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("neurocomp.dsl").joinpath("rule.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


@dataclass(frozen=True)
class _Item:
    kind: str  # "num" or "var"
    mantissa: int  # num: m of m·2**e
    exponent: int
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class _Bracket:
    sgn: bool
    negate_var: bool
    items: tuple[_Item, ...]
    signs: tuple[int, ...]  # sign of each item
    start: int
    end: int


def parse_rule(text: str) -> tuple[Product, ...]:
    """The products of ``text`` (see the module docstring).

    Raises
    ------
    RuleError
        For a syntax error, an unknown name, a term without a dependency, a scale the
        chip cannot hold, or mixed ``u`` decimations.
    """
    if not text.strip():
        raise RuleError("the rule is empty", 0, 0, hint='write e.g. "2^-2*x1*y0 - 2^-2*y1*x0"')
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            n = len(text.rstrip())
            raise RuleError("the rule ends too early", n, n) from None
        raise RuleError(f"unexpected '{tok}' in the rule", tok.start_pos, tok.end_pos,
                        hint="a rule is a sum of products like 2^-2*x1*y0 - y1*x0") from None
    except lark.exceptions.UnexpectedCharacters as exc:
        raise RuleError(f"unexpected character {text[exc.pos_in_stream]!r} in the rule",
                        exc.pos_in_stream, exc.pos_in_stream + 1,
                        hint="numbers are integers or powers of two (2^-3); names are x0, y0, "
                             "u0..u9, x1, x2, y1, y2, y3, w") from None
    signs, terms = _ToTerms().transform(tree)
    products = tuple(_product(sign, factors, start, end) for sign, (factors, start, end)
                     in zip(signs, terms))
    decimates = {p.decimate for p in products if p.dependency == "u"}
    if len(decimates) > 1:
        raise RuleError("a rule can use one u decimation only (u0 .. u9, one k)", 0, len(text))
    return products


def _pos(meta) -> tuple[int, int]:
    return (meta.start_pos, meta.end_pos) if not getattr(meta, "empty", False) else (0, 0)


@v_args(meta=True)
class _ToTerms(Transformer):
    def start(self, meta, children):
        sign, *rest = children
        signs = [-1 if sign == "-" else 1]
        terms = [rest[0]]
        for i in range(1, len(rest), 2):
            signs.append(-1 if rest[i] == "-" else 1)
            terms.append(rest[i + 1])
        return signs, terms

    def sign(self, meta, children):
        return str(children[0])

    addop = sign

    def term(self, meta, children):
        return (tuple(children), *_pos(meta))

    def int_lit(self, meta, children):
        tok: Token = children[0]
        return _Item("num", int(tok), 0, "", tok.start_pos, tok.end_pos)

    def pow_lit(self, meta, children):
        tok: Token = children[0]
        exp = int(re.sub(r"\s", "", str(tok)).split("^")[1])
        return _Item("num", 1, exp, "", tok.start_pos, tok.end_pos)

    def var(self, meta, children):
        tok: Token = children[0]
        return _Item("var", 0, 0, str(tok), tok.start_pos, tok.end_pos)

    def inner(self, meta, children):
        sign, first, op, second = children
        items = (first,) if second is None else (first, second)
        signs = (-1 if sign == "-" else 1,) + (() if second is None else (-1 if op == "-" else 1,))
        return items, signs

    def bracket(self, meta, children):
        items, signs = children[0]
        return _Bracket(False, False, items, signs, *_pos(meta))

    def sgn(self, meta, children):
        items, signs = children[-1]
        return _Bracket(True, False, items, signs, *_pos(meta))


def _check_name(item: _Item) -> None:
    name = item.name
    if name in ("d", "t"):
        raise RuleError(f"'{name}' is a synaptic tag; neurocomp learns the weight w only",
                        item.start, item.end, hint="write the rule with x0, y0, u, traces and w")
    if name not in _FACTORS and not re.fullmatch(r"u[0-9]", name):
        raise RuleError(f"unknown name '{name}' in the rule", item.start, item.end,
                        hint="names are x0, y0, u0..u9 (dependencies), x1, x2, y1, y2, y3 "
                             "(traces) and w")


def _product(sign: int, parts: tuple, start: int, end: int) -> Product:
    mant, exp = sign, 0
    dependency, decimate = None, 0
    factors: list[Factor] = []

    def add_var(name: str, const: int, sgn: bool, item: _Item) -> None:
        nonlocal dependency, decimate
        _check_name(item)
        if name.startswith("u") and not sgn and const == 0:
            if dependency is not None:
                raise RuleError(f"'{name}' must be the product's dependency (its first x0, y0 "
                                "or u)", item.start, item.end)
            dependency, decimate = "u", int(name[1])
            return
        if name.startswith("u"):
            raise RuleError(f"'{name}' can only stand alone as a dependency", item.start, item.end)
        if name in ("x0", "y0") and dependency is None and const == 0 and not sgn:
            dependency = name
            return
        factors.append(Factor(name, const, sgn))

    for part in parts:
        if isinstance(part, _Item):
            if part.kind == "num":
                mant *= part.mantissa
                exp += part.exponent
            else:
                add_var(part.name, 0, False, part)
            continue
        nums = [(s, it) for s, it in zip(part.signs, part.items) if it.kind == "num"]
        vars_ = [(s, it) for s, it in zip(part.signs, part.items) if it.kind == "var"]
        if len(vars_) > 1:
            raise RuleError("a bracket holds one name and one integer, e.g. (y2 - 2)",
                            part.start, part.end)
        if not vars_:
            if part.sgn:
                raise RuleError("sgn(...) takes w, e.g. sgn(w) or sgn(w - 4)", part.start, part.end)
            if len(nums) != 1:
                raise RuleError("a bracket holds one name and one integer, e.g. (y2 - 2)",
                                part.start, part.end)
            s, it = nums[0]
            mant *= s * it.mantissa
            exp += it.exponent
            continue
        s_var, var = vars_[0]
        const = sum(s * it.mantissa * 2 ** it.exponent for s, it in nums)
        if const != int(const):
            raise RuleError("the constant of a factor must be an integer", part.start, part.end)
        const = int(const)
        if part.sgn:
            if var.name != "w":
                raise RuleError("sgn(...) applies to the weight w only", var.start, var.end)
            if s_var < 0:
                raise RuleError("the name in sgn(...) cannot be negated", part.start, part.end)
        elif s_var < 0:  # (-x1 + 3) = -(x1 - 3)
            mant, const = -mant, -const
        add_var(var.name, const, part.sgn, var)

    while abs(mant) > 7 and mant % 2 == 0 and exp < 8:
        mant //= 2
        exp += 1
    if dependency is None:
        raise RuleError("this product has no dependency: it needs x0, y0 or u0..u9", start, end,
                        hint="x0 applies it when the pre neuron spiked in the epoch, y0 when "
                             "the post neuron did, u0 every epoch")
    if not MANTISSA_RANGE[0] <= mant <= MANTISSA_RANGE[1]:
        raise RuleError(f"the scale of this product has mantissa {mant}; Loihi holds -8..7 "
                        "(times a power of two)", start, end,
                        hint="write the factor as m*2^e with |m| <= 7, e.g. 3*2^-2")
    if not EXPONENT_RANGE[0] <= exp <= EXPONENT_RANGE[1]:
        raise RuleError(f"the scale of this product is 2^{exp}; Loihi's exponent lies in -7..8",
                        start, end)
    return Product(dependency=dependency, mantissa=mant, exponent=exp, factors=tuple(factors),
                   decimate=decimate)
