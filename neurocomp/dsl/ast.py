"""The syntax tree of a `.snn` file: frozen dataclasses, each with its span in the text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..diagnostics import Source, Span

__all__ = [
    "Ident", "Number", "Ref", "String", "Func", "ListExpr", "BinOp", "Neg", "Expr",
    "Kwarg", "Call", "Native", "Header", "DtStmt", "ConstStmt", "PopulationStmt",
    "InputStmt", "ConnectStmt", "ProbeStmt", "ProjectionProbeStmt", "Statement", "Module",
]


@dataclass(frozen=True)
class Ident:
    text: str
    span: Span


@dataclass(frozen=True)
class Number:
    value: float
    is_int: bool
    unit: Ident | None
    span: Span
    text: str = ""  # the literal as written, for exact arithmetic


@dataclass(frozen=True)
class Ref:
    name: str
    span: Span


@dataclass(frozen=True)
class String:
    value: str
    span: Span


@dataclass(frozen=True)
class Func:
    name: Ident
    args: tuple["Expr", ...]
    span: Span


@dataclass(frozen=True)
class ListExpr:
    items: tuple["Expr", ...]
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str  # "+", "-", "*", "/"
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span


Expr = Union[Number, Ref, String, Func, ListExpr, BinOp, Neg]


@dataclass(frozen=True)
class Kwarg:
    name: Ident
    value: Expr
    span: Span


@dataclass(frozen=True)
class Call:
    """``NAME(key = value, ...)``: a neuron model, an encoder or a connector."""

    name: Ident
    kwargs: tuple[Kwarg, ...]
    span: Span


@dataclass(frozen=True)
class Native:
    """``native CHIP(key = value, ...)``: integers a chip stores, pinned by the user."""

    chip: Ident
    kwargs: tuple[Kwarg, ...]
    span: Span


@dataclass(frozen=True)
class Header:
    name: Ident
    span: Span


@dataclass(frozen=True)
class DtStmt:
    value: Expr
    span: Span


@dataclass(frozen=True)
class ConstStmt:
    name: Ident
    value: Expr
    span: Span


@dataclass(frozen=True)
class PopulationStmt:
    name: Ident
    shape: tuple[Expr, ...]
    model: Call
    natives: tuple[Native, ...]
    span: Span


@dataclass(frozen=True)
class InputStmt:
    name: Ident
    shape: tuple[Expr, ...]
    encoder: Call
    span: Span


@dataclass(frozen=True)
class ConnectStmt:
    pre: Ident
    post: Ident
    alias: Ident | None
    connector: Call
    natives: tuple[Native, ...]
    span: Span
    learn: Call | None = None  # ``learn stdp(...)`` / ``learn rule(...)``


@dataclass(frozen=True)
class ProbeStmt:
    populations: tuple[Ident, ...]
    variables: tuple[Ident, ...]
    span: Span


@dataclass(frozen=True)
class ProjectionProbeStmt:
    """``probe PRE -> POST : weights``: what a plastic projection learns."""

    pre: Ident
    post: Ident
    variables: tuple[Ident, ...]
    span: Span


Statement = Union[DtStmt, ConstStmt, PopulationStmt, InputStmt, ConnectStmt, ProbeStmt,
                  ProjectionProbeStmt]


@dataclass(frozen=True)
class Module:
    """A whole `.snn` file."""

    header: Header | None
    statements: tuple[Statement, ...]
    source: Source
