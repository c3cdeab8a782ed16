"""Parse `.snn` text into the syntax tree (:mod:`neurocomp.dsl.ast`).

Syntax errors become one :class:`~neurocomp.diagnostics.DslError` with the file, line,
column, the source line with a caret, and what was expected in words.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import lark
from lark import Lark, Token, Transformer, v_args

from ..diagnostics import Diagnostic, DslError, InputFileError, Source, Span
from . import ast

__all__ = ["parse", "parse_file"]

# How expected terminals read in an error message.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a file name in "quotes"',
    "$END": "end of the file",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("neurocomp.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    # Building the LALR tables takes ~0.1 s per process; lark keeps them in a file (checked
    # against a hash of the grammar, the options and lark's version) that we put in this
    # package's __pycache__, as Numba does its kernels, not in a shared temporary folder.
    cache_dir = Path(__file__).resolve().parent / "__pycache__"
    try:
        cache_dir.mkdir(exist_ok=True)
        cache: bool | str = str(cache_dir / "grammar.lark.cache")
    except OSError:  # a read-only install: build the tables every time
        cache = False
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True, cache=cache)


def parse(text: str, name: str = "<string>") -> ast.Module:
    """Parse network text. ``name`` is the file name shown in messages."""
    source = Source(name, text)
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as exc:
        raise DslError(_syntax_diagnostic(exc, source)) from None
    return _ToAst(source).transform(tree)


def parse_file(path: str | Path) -> ast.Module:
    """Read and parse a `.snn` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"no such file: '{path}'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read '{path}': {exc}") from None
    return parse(text, str(path))


def _describe_expected(names: set[str]) -> str:
    parser = _parser()
    words = []
    for name in names:
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            words.append(name)
            continue
        if isinstance(pattern, lark.lexer.PatternStr):
            words.append(f"'{pattern.value}'")
        else:
            words.append(name.lower())
    words = sorted(set(words), key=lambda w: (not w.startswith("'"), w))
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def _syntax_diagnostic(exc: lark.exceptions.UnexpectedInput, source: Source) -> Diagnostic:
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            start = len(source.text.rstrip())
            span = Span(start, start, source)
            found = "end of the file"
        else:
            span = Span(token.start_pos, token.end_pos, source)
            found = f"'{token}'"
        expected = _describe_expected(set(exc.accepts or exc.expected))
        return Diagnostic(f"unexpected {found}, expected {expected}", span=span,
                          hint=_hint_for(token, exc))
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        start = exc.pos_in_stream
        span = Span(start, start + 1, source)
        char = source.text[start]
        expected = _describe_expected(set(exc.allowed)) if exc.allowed else "something else"
        return Diagnostic(f"unexpected character {char!r}, expected {expected}", span=span)
    start = len(source.text)
    return Diagnostic("unexpected end of the file", span=Span(start, start, source))


def _hint_for(token: Token, exc: lark.exceptions.UnexpectedToken) -> str | None:
    expected = set(exc.accepts or exc.expected)
    if token.type == "NAME" and "NAME" not in expected and any(
            k in expected for k in ("POPULATION", "CONNECT", "INPUT", "PROBE", "CONST")):
        return ("a statement starts with 'population', 'input', 'connect', 'probe', "
                "'const' or 'dt'")
    if "COLON" in expected:
        return "write ':' before the model, encoder or connector, e.g. 'population h[10] : LIF(beta = 0.9)'"
    if "ARROW" in expected:
        return "a projection is written 'connect PRE -> POST : connector(...)'"
    return None


def _span(source: Source, meta: object) -> Span:
    if getattr(meta, "empty", True):
        return Span(0, 0, source)
    return Span(meta.start_pos, meta.end_pos, source)  # type: ignore[attr-defined]


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark tree -> frozen AST with spans (offsets into the whole file)."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def _ident(self, token: Token) -> ast.Ident:
        return ast.Ident(str(token), Span(token.start_pos, token.end_pos, self.source))

    def start(self, meta, children):
        header = children[0] if children and isinstance(children[0], ast.Header) else None
        statements = tuple(c for c in children if c is not None and not isinstance(c, ast.Header))
        return ast.Module(header, statements, self.source)

    def header(self, meta, children):
        return ast.Header(self._ident(children[0]), _span(self.source, meta))

    def dt_stmt(self, meta, children):
        return ast.DtStmt(children[0], _span(self.source, meta))

    def const_stmt(self, meta, children):
        return ast.ConstStmt(self._ident(children[0]), children[1], _span(self.source, meta))

    def population(self, meta, children):
        name, shape, model, *natives = children
        return ast.PopulationStmt(self._ident(name), shape, model, tuple(natives),
                                  _span(self.source, meta))

    def input(self, meta, children):
        name, shape, encoder = children
        return ast.InputStmt(self._ident(name), shape, encoder, _span(self.source, meta))

    def connect(self, meta, children):
        pre, _arrow, post, alias, connector, *natives, learn = children
        return ast.ConnectStmt(self._ident(pre), self._ident(post), alias, connector,
                               tuple(natives), _span(self.source, meta), learn)

    def learn(self, meta, children):
        return children[0]

    def probe_projection(self, meta, children):
        pre, _arrow, post, variables = children
        return ast.ProjectionProbeStmt(self._ident(pre), self._ident(post), variables,
                                       _span(self.source, meta))

    def alias(self, meta, children):
        return self._ident(children[0])

    def probe(self, meta, children):
        pops, variables = children
        return ast.ProbeStmt(pops, variables, _span(self.source, meta))

    def names(self, meta, children):
        return tuple(self._ident(t) for t in children)

    def native(self, meta, children):
        chip, kwargs = children
        return ast.Native(self._ident(chip), kwargs or (), _span(self.source, meta))

    def shape(self, meta, children):
        return tuple(children)

    def call(self, meta, children):
        name, kwargs = children
        return ast.Call(self._ident(name), kwargs or (), _span(self.source, meta))

    def kwargs(self, meta, children):
        return tuple(children)

    def kwarg(self, meta, children):
        return ast.Kwarg(self._ident(children[0]), children[1], _span(self.source, meta))

    def args(self, meta, children):
        return tuple(children)

    def _binop(op):  # noqa: N805 - a small factory for the four operators
        def method(self, meta, children):
            return ast.BinOp(op, children[0], children[1], _span(self.source, meta))
        return method

    add = _binop("+")
    sub = _binop("-")
    mul = _binop("*")
    div = _binop("/")

    def neg(self, meta, children):
        return ast.Neg(children[0], _span(self.source, meta))

    def number(self, meta, children):
        token, unit = children
        text = str(token)
        is_int = text.isdigit()
        return ast.Number(float(text), is_int, self._ident(unit) if unit is not None else None,
                          _span(self.source, meta), text)

    def ref(self, meta, children):
        return ast.Ref(str(children[0]), _span(self.source, meta))

    def string(self, meta, children):
        return ast.String(str(children[0])[1:-1], _span(self.source, meta))

    def func(self, meta, children):
        name, args = children
        return ast.Func(self._ident(name), args or (), _span(self.source, meta))

    def list(self, meta, children):
        (items,) = children
        return ast.ListExpr(items or (), _span(self.source, meta))
