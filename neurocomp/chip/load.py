"""Load chips: bundled names (``loihi``), user chip files, and system files.

A bundled name resolves to the package's chip files: ``neurocomp/_chips`` in a wheel,
``<repo>/chips`` in a source checkout. Anything that looks like a path (has a directory
separator or ends in ``.toml``) is read as a user file. A *system file* is a small TOML
that names a chip and a tiling::

    chip = "loihi"        # a bundled name, or a path relative to this file
    chips_x = 4
    chips_y = 2
    profile = "sanafe"    # optional

Every problem in a file is reported at once as one :class:`ChipSpecError`, one
diagnostic per problem, each naming the file and line, the dotted key, the rule and
the value found. A bad name, path, profile or chip count is a :class:`UsageError`.
"""

from __future__ import annotations

import math
import re
import tomllib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ..diagnostics import ApiTypeError, ChipSpecError, Diagnostic, Source, Span, UsageError, did_you_mean
from .spec import ChipSpec, SystemFile, has_number, needs_source, toml_text

__all__ = ["load_chip", "resolve_chip", "with_chips", "list_chips", "chip_path", "most_square", "bundled_chip_dirs"]

_REPO_CHIPS = Path(__file__).resolve().parents[2] / "chips"
_SINGLE_CHIP_SOURCE = "assumed: one chip unless --chips or a system file asks for more"


# --------------------------------------------------------------------------- finding files


def bundled_chip_dirs() -> list[Path]:
    """Folders holding bundled chip files, the installed package's first."""
    dirs = []
    try:
        packaged = resources.files("neurocomp") / "_chips"
        if packaged.is_dir():
            dirs.append(Path(str(packaged)))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - odd installs
        pass
    if _REPO_CHIPS.is_dir():
        dirs.append(_REPO_CHIPS)
    return dirs


def list_chips() -> list[str]:
    """Names of the bundled chips, sorted."""
    names: set[str] = set()
    for folder in bundled_chip_dirs():
        names.update(p.stem for p in folder.glob("*.toml"))
    return sorted(names)


def chip_path(name: str) -> Path:
    """The file of a bundled chip; :class:`UsageError` naming the chips there are."""
    for folder in bundled_chip_dirs():
        path = folder / f"{name}.toml"
        if path.is_file():
            return path
    raise UsageError(f"no chip named '{name}'", hint=_chip_hint(name))


def _chip_hint(name: str) -> str:
    close = did_you_mean(name, list_chips())
    available = "available chips: " + ", ".join(list_chips())
    text = f"{close} ({available})" if close and close.startswith("did you mean") else available
    return text + "; or give the path of a chip file"


def _looks_like_path(name_or_path: str | Path) -> bool:
    if isinstance(name_or_path, Path):
        return True
    return "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith(".toml")


# --------------------------------------------------------------------------- the entry point


def load_chip(name_or_path: str | Path, *, chips: int | None = None, profile: str | None = None) -> ChipSpec:
    """Load and validate a chip.

    Parameters
    ----------
    name_or_path
        A bundled chip name (see :func:`list_chips`), or the path of a chip file or a
        system file.
    chips
        Build a system of this many chips, tiled as squarely as possible
        (:func:`most_square`; wider than tall).
    profile
        The energy/timing profile to use instead of the chip's default.

    Returns
    -------
    ChipSpec
        The validated chip.

    Raises
    ------
    ChipSpecError
        The file does not parse or does not validate; every problem is listed.
    UsageError
        Unknown chip name, missing file, unknown profile, or an impossible chip count.
    """
    if isinstance(name_or_path, str) and not name_or_path:
        raise UsageError("no chip given", hint=_chip_hint(""))
    if _looks_like_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise UsageError(f"no such chip file: {path}", hint=_chip_hint(path.stem))
        display = str(name_or_path)
    else:
        path = chip_path(str(name_or_path))
        display = f"chips/{path.name}"
    spec, file_profile = _load_file(path, display, chips_requested=chips is not None)
    if chips is not None:
        spec = with_chips(spec, chips)
    return _with_profile(spec, profile if profile is not None else file_profile)


def _with_profile(spec: ChipSpec, profile: str | None) -> ChipSpec:
    """``spec`` with ``profile`` chosen (unchanged for ``None``)."""
    if profile is None:
        return spec
    if profile not in spec.profiles:
        raise UsageError(f"chip '{spec.name}' has no profile '{profile}'",
                         hint=did_you_mean(profile, spec.profiles))
    return spec.with_profile(profile)


def most_square(n: int) -> tuple[int, int]:
    """``(x, y)`` with ``x * y == n``, ``x >= y`` and ``x - y`` as small as possible."""
    if n < 1:
        raise ValueError(f"need at least one chip (got {n})")
    y = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return n // y, y


def resolve_chip(chip: Any, *, chips: int | None = None, profile: str | None = None,
                 what: str = "chip") -> ChipSpec:
    """A :class:`~neurocomp.chip.spec.ChipSpec` from a chip name, a path or a ChipSpec.

    ``chips`` makes a system of that many chips (tiled as squarely as possible);
    ``profile`` selects a cost profile. A ChipSpec given with ``chips`` becomes the
    system :func:`load_chip` would build for its name, so both ways give equal chips.

    Raises
    ------
    ApiTypeError
        When ``chip`` is none of those (the message shows what it is; ``what`` names
        the argument).
    UsageError
        For a bad ``chips`` or ``profile``, or as :func:`load_chip` does for an unknown
        name or a missing file.
    ChipSpecError
        For a chip file that does not validate.
    """
    if isinstance(chip, ChipSpec):
        return _with_profile(with_chips(chip, chips) if chips is not None else chip, profile)
    if isinstance(chip, (str, Path)):
        return load_chip(chip, chips=chips, profile=profile)
    raise ApiTypeError(f"{what} must be a ChipSpec, a chip name or a path, not {chip!r}")


def with_chips(spec: ChipSpec, chips: int) -> ChipSpec:
    """``spec`` as a system of ``chips`` chips, tiled as squarely as possible.

    Raises
    ------
    UsageError
        When ``chips`` is not a whole number >= 1 or exceeds the chip's ``max_chips``.
    """
    if isinstance(chips, bool) or not isinstance(chips, int) or chips < 1:
        raise UsageError(f"the number of chips must be a whole number >= 1 (got {chips!r})")
    _check_max_chips(spec, chips, "--chips")
    x, y = most_square(chips)
    return _tiled(spec, x, y, f"user: --chips {chips}, tiled {x} x {y}", f"--chips {chips}")


def _check_max_chips(spec: ChipSpec, chips: int, asked_by: str) -> None:
    limit = spec.system.max_chips
    if limit is not None and chips > limit:
        raise UsageError(f"{asked_by} asks for {chips} chips but chip '{spec.name}' allows at most {limit}",
                         hint=f"source: {spec.source_of('system.max_chips')}")


def _load_file(path: Path, display: str, *, chips_requested: bool) -> tuple[ChipSpec, str | None]:
    text, data = _read_toml(path, display)
    if "chip" in data and "topology" not in data:
        return _load_system_file(path, display, text, data, chips_requested=chips_requested)
    return _build(data, text, display), None


def _read_toml(path: Path, display: str) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read chip file {display}: {exc}") from None
    try:
        return text, tomllib.loads(text)
    except RecursionError:
        raise ChipSpecError("its TOML is nested too deeply to be a chip file", where=display) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        source = Source(display, text)
        span = None
        if m:
            line, column = int(m.group(1)), int(m.group(2))
            if message.startswith("Cannot overwrite"):  # tomllib points past the value
                text_line = source.line_text(line)
                column = len(text_line) - len(text_line.lstrip()) + 1
            offset = source.offset_of(line, column)
            span = Span(offset, min(offset + 1, len(text)) if text else 0, source)
            message = message[: m.start()]
        elif "(at end of document)" in message:
            span = Span(len(text), len(text), source)
            message = message.replace(" (at end of document)", "")
        diag = Diagnostic(f"not valid TOML: {message[:1].lower()}{message[1:]}", span=span,
                          where=None if span else display)
        raise ChipSpecError(diag) from None


def _tiled(base: ChipSpec, chips_x: int, chips_y: int, source: str, display: str) -> ChipSpec:
    """``base`` as a ``chips_x`` x ``chips_y`` system; a system the schema refuses (more
    cores than a Mapping can number) is one located error."""
    try:
        return base.with_system(chips_x, chips_y, source=source)
    except ValidationError as exc:
        msgs = [str(e.get("ctx", {}).get("summary") or e["msg"]) for e in exc.errors()]
        raise ChipSpecError("; ".join(msgs), where=display) from None


#: The system files being loaded (a system file names a chip file, which may be a system
#: file in turn): one that leads back to itself is refused instead of recursing forever.
_LOADING: set[Path] = set()


def _load_system_file(path: Path, display: str, text: str, data: dict[str, Any], *,
                      chips_requested: bool) -> tuple[ChipSpec, str | None]:
    plain, _, problems = split_sources(data, require_sources=False)
    try:
        system = SystemFile.model_validate(plain)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, SystemFile)
        raise _error(problems, display, text) from None
    if problems:
        raise _error(problems, display, text)
    if chips_requested:
        raise UsageError(f"{display} is a system file that sets its own tiling; do not also give --chips")
    target = system.chip
    if _looks_like_path(target):
        target_path = Path(target) if Path(target).is_absolute() else path.parent / target
        key = target_path.resolve()
        if key in _LOADING or key == path.resolve():
            raise ChipSpecError(f"its chip '{target}' leads back to this system file (a loop)",
                                where=display, hint="name a chip file, not a system file that names this one")
        _LOADING.add(path.resolve())
        try:
            base = load_chip(target_path)
        finally:
            _LOADING.discard(path.resolve())
    else:
        base = load_chip(target)
    _check_max_chips(base, system.chips_x * system.chips_y, f"system file {display}")
    spec = _tiled(base, system.chips_x, system.chips_y, f"user: system file {display}", display)
    return spec, system.profile


# --------------------------------------------------------------------------- validation


def split_sources(data: Any, *, require_sources: bool = True) -> tuple[Any, dict[str, str], list[tuple[str, str]]]:
    """Lift ``{ value = ..., source = "..." }`` tables out of raw TOML data.

    Returns the data with plain values, the ``dotted key -> source`` mapping, and the
    problems found: malformed sourced values, and (when ``require_sources``) numbers
    written without a source.
    """
    provenance: dict[str, str] = {}
    problems: list[tuple[str, str]] = []

    def walk(node: Any, key: str, sourced: bool) -> Any:
        if isinstance(node, dict) and ("value" in node or "source" in node):
            extra = sorted(set(node) - {"value", "source"})
            if extra:
                problems.append((key, f"a sourced value has only 'value' and 'source' (got also "
                                      f"{', '.join(repr(e) for e in extra)})"))
            source = node.get("source")
            if isinstance(source, str) and source.strip():
                provenance[key] = source
            elif "source" in node or not extra:  # a misspelt 'source' was reported above
                problems.append((key, "needs a non-empty 'source' string next to its value"))
            if "value" not in node:
                problems.append((key, "has a 'source' but no 'value'"))
                return None
            return walk(node["value"], key, True)
        if isinstance(node, dict):
            return {k: walk(v, f"{key}.{k}" if key else k, sourced) for k, v in node.items()}
        if isinstance(node, list) and any(isinstance(v, dict) for v in node):
            return [walk(v, f"{key}.{i}", sourced) for i, v in enumerate(node)]
        if require_sources and not sourced and key != "schema" and has_number(node):
            problems.append((key, needs_source(node)))
        return node

    plain = walk(data, "", False)
    return plain, provenance, problems


def _build(data: dict[str, Any], text: str, display: str) -> ChipSpec:
    plain, provenance, problems = split_sources(data)
    if not isinstance(plain.get("provenance", {}), dict):
        problems.append(("provenance", "must be a table of dotted key = source"))
    else:
        provenance = {**plain.pop("provenance", {}), **provenance}
    system = plain.setdefault("system", {})
    if isinstance(system, dict):
        for axis in ("chips_x", "chips_y"):
            if axis not in system:
                system[axis] = 1
                provenance[f"system.{axis}"] = _SINGLE_CHIP_SOURCE
    plain["provenance"] = provenance
    try:
        spec = ChipSpec.model_validate(plain)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, ChipSpec)
        raise _error(problems, display, text) from None
    if problems:  # a malformed source that still let the values validate
        raise _error(problems, display, text)
    return spec


_MESSAGES = {
    "missing": "required key is missing",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "tuple_type": "must be an array",
    "list_type": "must be an array",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "string_too_short": "must not be empty",
}

_NAME_PATTERN = "^[a-z][a-z0-9_\\-]*$"


def _pydantic_problems(exc: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        kind, ctx = err["type"], err.get("ctx", {})
        parts, parent = _clean_loc(model, err["loc"])
        key = ".".join(parts)
        got = f" (got {toml_text(err['input'])})" if "input" in err and kind != "missing" else ""
        if kind == "chip_rule":
            for sub, msg in ctx["problems"]:
                problems.append((".".join(p for p in (key, sub) if p), msg))
            continue
        if kind == "extra_forbidden":
            allowed = _allowed_keys(parent)
            msg = f"unknown key; allowed here: {', '.join(allowed)}"
            close = did_you_mean(parts[-1], allowed)
            if close and close.startswith("did you mean"):
                msg += f" ({close})"
            problems.append((key, msg))
            continue
        if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            op, bound = {"greater_than": (">", "gt"), "greater_than_equal": (">=", "ge"),
                         "less_than": ("<", "lt"), "less_than_equal": ("<=", "le")}[kind]
            msg = f"must be {op} {ctx[bound]}"
        elif kind == "literal_error":
            msg = f"must be one of {ctx['expected']}"
        elif kind == "string_pattern_mismatch":
            msg = ("must be lowercase letters, digits, '_' or '-', starting with a letter"
                   if ctx.get("pattern") == _NAME_PATTERN else f"must match {ctx.get('pattern')}")
        elif kind == "too_short":
            n = ctx.get("min_length")
            msg = f"must have at least {n} entr{'y' if n == 1 else 'ies'}"
            got = f" (got {ctx.get('actual_length')})"
        elif kind == "union_tag_invalid":
            key = ".".join(p for p in (key, ctx["discriminator"].strip("'")) if p)
            msg, got = f"must be one of {ctx['expected_tags']}", f" (got \"{ctx['tag']}\")"
        elif kind == "union_tag_not_found":
            key = ".".join(p for p in (key, ctx["discriminator"].strip("'")) if p)
            msg, got = "required key is missing", ""
        elif kind == "value_error":
            msg = err["msg"].removeprefix("Value error, ")
        else:
            msg = _MESSAGES.get(kind) or (err["msg"][:1].lower() + err["msg"][1:])
        problems.append((key, msg + got))
    return _drop_missing_explained(problems)


def _drop_missing_explained(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop "missing" for a key that an unknown sibling key is a misspelling of."""
    explained = set()
    for key, msg in problems:
        m = re.search(r"\(did you mean '([^']+)'\?\)$", msg)
        if m and msg.startswith("unknown key"):
            explained.add(".".join([*key.split(".")[:-1], m.group(1)]))
    return [(k, m) for k, m in problems if not (k in explained and m == _MESSAGES["missing"])]


def _clean_loc(model: type[BaseModel], loc: Iterable[Any]) -> tuple[list[str], Any]:
    """The dotted path of a pydantic error location, and the model holding its last key.

    Discriminated-union tags that pydantic adds to locations are dropped; field names
    are given as written in the file (aliases).
    """
    parts: list[str] = []
    ann: Any = model
    parent: Any = model
    for item in loc:
        cls = _unwrap(ann)
        if isinstance(cls, tuple):  # a union: a tag names the member, and is not a key
            member = next((m for m in cls if _tag_of(m) == item), None)
            if member is not None:
                ann = member
                continue
            cls = next((m for m in cls if isinstance(m, type) and issubclass(m, BaseModel)), None)
        parent = cls
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            field = _field_by_key(cls, str(item))
            parts.append(str(item))
            ann = field.annotation if field is not None else None
        else:
            parts.append(str(item))
            ann = _item_type(cls)
    return parts, parent


def _unwrap(ann: Any) -> Any:
    """A model class, a tuple of union members, or a container type."""
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        members = tuple(_unwrap(a) for a in typing.get_args(ann) if a is not type(None))
        return members[0] if len(members) == 1 else members
    return ann


def _item_type(container: Any) -> Any:
    args = typing.get_args(container)
    origin = typing.get_origin(container)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (tuple, list) and args:
        return args[0]
    return None


def _tag_of(member: Any) -> Any:
    if isinstance(member, type) and issubclass(member, BaseModel) and "rule" in member.model_fields:
        args = typing.get_args(member.model_fields["rule"].annotation)
        return args[0] if args else None
    return None


def _field_by_key(cls: type[BaseModel], key: str) -> FieldInfo | None:
    for name, field in cls.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _allowed_keys(cls: Any) -> list[str]:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return [f.alias or n for n, f in cls.model_fields.items() if n != "provenance"]
    return []


# --------------------------------------------------------------------------- reporting


def _error(problems: list[tuple[str, str]], display: str, text: str) -> ChipSpecError:
    lines = key_lines(text)
    seen: set[tuple[str, str]] = set()
    located = []
    flagged = {key for key, msg in problems if not msg.startswith("needs a source")}
    for order, (key, msg) in enumerate(problems):
        if (key, msg) in seen:
            continue
        if msg.startswith("needs a source") and any(key == f or key.startswith(f + ".") for f in flagged):
            continue  # the key is wrong anyway; its source is the lesser problem
        seen.add((key, msg))
        line = _line_of(key, lines)
        located.append((line if line is not None else math.inf, order, key, msg, line))
    located.sort()
    diagnostics = [Diagnostic(f"{key}: {msg}" if key else msg,
                              where=f"{display}:{line}" if line is not None else display)
                   for _, _, key, msg, line in located]
    return ChipSpecError(diagnostics)


def _line_of(key: str, lines: dict[str, int]) -> int | None:
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        line = lines.get(".".join(parts[:n]))
        if line is not None:
            return line
    return None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_ASSIGN = re.compile(r"^\s*((?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _split_key(text: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text)]


def key_lines(text: str) -> dict[str, int]:
    """First line (1-based) on which each dotted key is written: a best-effort index.

    Table headers and ``key =`` lines are recorded; keys inside inline tables resolve
    to the line of their enclosing key. Arrays of tables get ``.0``, ``.1``, ...
    """
    lines: dict[str, int] = {}
    table: list[str] = []
    counts: dict[str, int] = {}
    in_multiline = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if in_multiline:  # inside a multi-line string: no keys here
            if stripped.count('"""') % 2 == 1 or stripped.count("'''") % 2 == 1:
                in_multiline = False
            continue
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(raw)
        if header:
            path = _split_key(header.group(2))
            for n in range(1, len(path)):  # [a.b] is where a starts, if nothing earlier
                lines.setdefault(".".join(path[:n]), number)
            dotted = ".".join(path)
            if header.group(1) == "[[":
                index = counts.get(dotted, 0)
                counts[dotted] = index + 1
                lines.setdefault(dotted, number)
                path = [*path, str(index)]
            table = path
            lines.setdefault(".".join(table), number)
            continue
        assign = _ASSIGN.match(raw)
        if assign:
            path = [*table, *_split_key(assign.group(1))]
            for n in range(len(table) + 1, len(path) + 1):
                lines.setdefault(".".join(path[:n]), number)
            rest = raw[assign.end():]
            if rest.count('"""') % 2 == 1 or rest.count("'''") % 2 == 1:
                in_multiline = True
    return lines
