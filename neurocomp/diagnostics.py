"""Source text, spans, the one error family and the one renderer.

Every mistake a user can cause (bad network text, a bad chip file, a weight file of the
wrong shape, a network that does not fit) is raised as a :class:`NeurocompError` that
carries one or more :class:`Diagnostic`. The CLI renders them with :func:`render` and
exits non-zero; a user never sees a traceback for their own mistake.

Spans are offsets into the whole source text (not per line), so a diagnostic can be
rendered long after parsing without any global state.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

__all__ = [
    "Source",
    "Span",
    "Diagnostic",
    "NeurocompError",
    "DslError",
    "InputFileError",
    "OutputFileError",
    "ResourceError",
    "ChipSpecError",
    "CapacityError",
    "QuantizationError",
    "EmulationError",
    "UsageError",
    "ApiTypeError",
    "InteropError",
    "QuantizationWarning",
    "OverflowWarning",
    "did_you_mean",
    "render",
]


@dataclass(frozen=True, eq=False)
class Source:
    """A named text: a `.snn` file, a chip file, or a string given to the API."""

    name: str
    text: str = field(repr=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        line_start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - line_start + 1

    def line_text(self, line: int) -> str:
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def offset_of(self, line: int, column: int) -> int:
        """Character offset of a 1-based (line, column)."""
        lines = self.text.split("\n")
        line = max(1, min(line, len(lines)))
        return sum(len(part) + 1 for part in lines[: line - 1]) + max(0, column - 1)


@dataclass(frozen=True, eq=False)
class Span:
    """Characters ``[start, end)`` of a :class:`Source`."""

    start: int
    end: int
    source: Source = field(repr=False)

    @property
    def location(self) -> str:
        line, col = self.source.line_col(self.start)
        return f"{self.source.name}:{line}:{col}"

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One message: what went wrong, where, and what to do.

    ``span`` points into source text when there is any; otherwise ``where`` names the
    object (a file, a population, a chip key) in words.
    """

    message: str
    span: Span | None = None
    hint: str | None = None
    where: str | None = None
    severity: Severity = "error"

    def render(self) -> str:
        if self.span is not None:
            head = f"{self.span.location}: {self.severity}: {self.message}"
            lines = [head, *_excerpt(self.span)]
        elif self.where:
            lines = [f"{self.where}: {self.severity}: {self.message}"]
        else:
            lines = [f"{self.severity}: {self.message}"]
        if self.hint:
            pad = " " * _gutter_width(self.span)
            lines.append(f"{pad}= help: {self.hint}")
        return "\n".join(lines)


def _gutter_width(span: Span | None) -> int:
    if span is None:
        return 0
    line, _ = span.source.line_col(span.start)
    return len(str(line)) + 1


def _excerpt(span: Span) -> list[str]:
    line, col = span.source.line_col(span.start)
    text = span.source.line_text(line).rstrip("\r")
    # A span running past its first line is underlined to the end of that line.
    end_line, end_col = span.source.line_col(max(span.start, span.end - 1))
    width = (end_col - col + 1) if end_line == line else len(text) - col + 1
    width = max(1, width)
    gutter = " " * (len(str(line)) + 1)
    return [
        f" {line} | {text}",
        f"{gutter} | {' ' * (col - 1)}{'^' * width}",
    ]


class NeurocompError(Exception):
    """Base of every error a user can cause. Holds one or more diagnostics."""

    def __init__(self, diagnostics: Diagnostic | str | Sequence[Diagnostic], *, hint: str | None = None,
                 where: str | None = None, span: Span | None = None, notes: Sequence[str] = ()) -> None:
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(diagnostics, span=span, hint=hint, where=where)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        #: What the diagnostics add up to (e.g. what would have to change), after them.
        self.notes: tuple[str, ...] = tuple(notes)
        super().__init__(self.render())

    def render(self) -> str:
        text = render(self.diagnostics)
        return text + "\n\n" + "\n".join(f"note: {n}" for n in self.notes) if self.notes else text


class DslError(NeurocompError):
    """A mistake in network text: syntax, names, units, shapes."""


class InputFileError(NeurocompError):
    """A weight, parameter or spike file that is missing, unreadable or does not fit."""


class OutputFileError(NeurocompError):
    """A file that cannot be written (a full disk, no permission, a path under a file);
    the previous file, if any, is left as it was (:mod:`neurocomp.atomic`)."""


class ResourceError(NeurocompError):
    """Work larger than the memory this process may use, refused before it is allocated
    (:mod:`neurocomp.resources`)."""


class ChipSpecError(NeurocompError):
    """A chip file that does not validate."""


class CapacityError(NeurocompError):
    """A network that does not fit the chip."""


class QuantizationError(NeurocompError):
    """A value the chip cannot represent."""


class EmulationError(NeurocompError):
    """An overflow or invalid state met during emulation in strict mode."""


class UsageError(NeurocompError):
    """A bad command-line argument or API call."""


class ApiTypeError(UsageError, TypeError):
    """An argument of the wrong type: both a :class:`UsageError` (the command line
    renders it) and a ``TypeError``. Its ``str`` is the message alone, as Python's own
    type errors read."""

    def __str__(self) -> str:
        return self.diagnostics[0].message if self.diagnostics else super().__str__()


class QuantizationWarning(UserWarning):
    """Precision a chip loses when it quantizes a network (weights rounded to zero or
    clipped, values out of range): ``nc.compile`` issues one per warning of the
    Mapping's quantization report."""


class OverflowWarning(RuntimeWarning):
    """State registers that wrapped or saturated in a non-strict emulation.

    Its text is the sentence a user reads; ``detail`` is what overflowed in the kernel's
    words (population, variable, bound, count, whether spikes can differ), ``overflowed``
    how many of the batch's ``samples`` overflowed and ``first`` the first of them, so
    :func:`neurocomp.report.notices.collect` can carry it into ``report.json``.
    """

    def __init__(self, message: str, *, detail: str = "", overflowed: int = 1, samples: int = 1,
                 first: int = 0) -> None:
        super().__init__(message)
        self.detail = detail or message
        self.overflowed, self.samples, self.first = int(overflowed), int(samples), int(first)

    def __reduce__(self):  # type: ignore[override]  # keyword-only fields survive pickling
        return (_overflow_warning, (str(self), self.detail, self.overflowed, self.samples, self.first))


def _overflow_warning(message: str, detail: str, overflowed: int, samples: int, first: int) -> OverflowWarning:
    return OverflowWarning(message, detail=detail, overflowed=overflowed, samples=samples, first=first)


class InteropError(NeurocompError):
    """A model from another tool (a NIR graph) that neurocomp cannot represent, or a
    network that the other format cannot carry."""


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest of ``choices``, or listing them when none is close."""
    choices = sorted(set(choices))
    if not choices:
        return None
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of: " + ", ".join(f"'{c}'" for c in choices)


def render(diagnostics: Iterable[Diagnostic]) -> str:
    """The text of several diagnostics, blank line between them."""
    return "\n\n".join(d.render() for d in diagnostics)


@dataclass
class Collector:
    """Gathers diagnostics so a pass can report every mistake at once."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, span: Span | None = None, hint: str | None = None,
              where: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(message, span=span, hint=hint, where=where))

    def raise_if_any(self, kind: type[NeurocompError] = DslError) -> None:
        if self.diagnostics:
            raise kind(self.diagnostics)
