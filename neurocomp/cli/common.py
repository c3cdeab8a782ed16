"""What the commands share: the command table, the parser class, the ``--chip`` options,
the console, and the checks every command makes before it starts a long run.

Only the standard library is imported here, so ``neurocomp --version`` and
``neurocomp --help`` stay quick; rich loads when a command prints.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..diagnostics import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.progress import Progress

    from ..chip.spec import ChipSpec
    from ..ir.network import Network

__all__ = ["COMMANDS", "Parser", "add_command", "add_chip_arguments", "chip_from_args", "console", "progress_bar",
           "progress_callback", "compile_progress",
           "load_network", "refuse_to_overwrite", "pictures_need_out", "positive", "fmt_int", "add_jobs_argument",
           "cluster_from_args", "add_memory_argument", "MEMORY_OPTION", "samples_from_args",
           "warning_lines", "ctrl_c"]

#: Every command, in the order ``neurocomp --help`` lists them: the module of
#: ``neurocomp.cli`` that registers it, and its line in that list. A command's module is
#: imported only when the command runs. (No module is named after a builtin, ``print``
#: or ``compile``: as an attribute of the package it would hide the builtin there.)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("check", "parse and validate a network; list its populations and projections"),
    "simulate": ("simulate", "run the float reference simulator"),
    "print": ("print_network", "print a network back as normalised .snn text"),
    "chips": ("chips", "list the bundled chips, or show one chip's parameters"),
    "compile": ("compile_network", "compile a network onto a chip (quantize, partition, place, route)"),
    "run": ("run", "compile (or load a mapping), emulate on a chip, report energy and latency"),
    "validate": ("validate", "compare the chip emulation with the float reference"),
    "report": ("report", "draw a saved run's pictures and its self-contained HTML page again"),
    "import": ("import_nir", "import a NIR graph (.nir) as a .snn network"),
    "export": ("export_nir", "export a .snn network as a NIR graph (.nir)"),
    "compare": ("compare", "compile and run a network on several chips; one table of cost and agreement"),
    "sweep": ("sweep", "run a network over a grid of chips, profiles, weight widths and compiler strategies"),
}


class Parser(argparse.ArgumentParser):
    """argparse's parser, with the usage and one error line on stderr and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_command(subparsers: Any, name: str, *, description: str | None = None) -> argparse.ArgumentParser:
    """The sub-parser of command ``name``, with its line from :data:`COMMANDS` and the
    options every command has: ``-q/--quiet`` and ``-v/--verbose``."""
    parser = subparsers.add_parser(name, help=COMMANDS[name][1], description=description)
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print the results and errors only: no warnings, notes or progress on stderr")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also log each stage as it runs, with its time (Python logging on stderr)")
    return parser


#: Whether the running command was given ``--quiet``: its stderr consoles print nothing.
QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("neurocomp_quiet", default=False)


def add_chip_arguments(parser: argparse.ArgumentParser, *, default: str | None = "loihi",
                       required: bool | None = None) -> None:
    """Add ``--chip NAME|PATH``, ``--chips N`` and ``--profile NAME`` to a command.

    ``default=None`` makes ``--chip`` required, unless ``required=False`` (the command
    then decides, e.g. a saved mapping names its own chip).
    """
    required = default is None if required is None else required
    parser.add_argument("--chip", default=default, required=required, metavar="NAME|PATH",
                        help="a bundled chip (see 'neurocomp chips') or a chip/system file"
                             + (f" (default: {default})" if default else ""))
    parser.add_argument("--chips", type=int, default=None, metavar="N",
                        help="a system of N chips, tiled as squarely as possible")
    parser.add_argument("--profile", default=None, metavar="NAME",
                        help="energy/timing profile of the chip (default: the chip's default)")


#: The option that caps the memory of a run; ``main`` runs the command inside
#: :func:`neurocomp.resources.memory_cap` with its value.
MEMORY_OPTION = "--max-memory"


def _size(text: str) -> tuple[int, str]:
    """``"4G"`` -> ``(4_000_000_000, "--max-memory 4G")``: the bytes, and the option as
    written, which refusals name."""
    from ..resources import parse_bytes

    try:
        return parse_bytes(text), f"{MEMORY_OPTION} {text}"
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_memory_argument(parser: argparse.ArgumentParser, *, action_of_command: bool = False) -> None:
    """Add ``--max-memory SIZE``: work larger than ``SIZE`` (``4G``, ``512MiB``, bytes) is
    refused before it is allocated (:mod:`neurocomp.resources`), for this run only.
    ``action_of_command``: the parser of an action (``chips show``) whose command has the
    option too; left out there, it keeps the command's value."""
    parser.add_argument(MEMORY_OPTION, type=_size, default=argparse.SUPPRESS if action_of_command else None,
                        metavar="SIZE", dest="max_memory",
                        help="refuse work that needs more memory than SIZE (e.g. 4G, 512MiB; default: what the "
                             "machine has available, or $NEUROCOMP_MAX_MEMORY), before allocating it")


def add_jobs_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--jobs N`` (how many local worker processes run ``what``; default: every
    core, or ``$NEUROCOMP_JOBS``) and ``--scheduler ADDRESS`` (a Dask cluster instead;
    default ``$NEUROCOMP_SCHEDULER``); :mod:`neurocomp.workflows.parallel`."""
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help=f"run {what} on N worker processes (default: every core, or $NEUROCOMP_JOBS; "
                             "results do not depend on N)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help=f"run {what} on the Dask cluster of this scheduler instead (default: "
                             "$NEUROCOMP_SCHEDULER; needs 'pip install neurocomp[dask]')")


@contextlib.contextmanager
def cluster_from_args(args: argparse.Namespace) -> Iterator[Any]:
    """The Dask client that ``--scheduler`` (or ``$NEUROCOMP_SCHEDULER``) names, closed
    afterwards; ``None`` when neither is given (work stays on this machine)."""
    import os

    from ..workflows.parallel import SCHEDULER_ENV, dask_client

    positive(getattr(args, "jobs", None), "--jobs")
    address = getattr(args, "scheduler", None) or os.environ.get(SCHEDULER_ENV, "").strip() or None
    if address is None:
        yield None
        return
    client = dask_client(address)
    try:
        yield client
    finally:
        client.close()


def chip_from_args(args: argparse.Namespace) -> "ChipSpec":
    """The chip that ``--chip``, ``--chips`` and ``--profile`` select."""
    from ..chip.load import load_chip

    return load_chip(args.chip, chips=args.chips, profile=args.profile)


def console(*, stderr: bool = False, width: int | None = 120, soft_wrap: bool = False) -> "Console":
    """A rich console for a command's tables: no highlighting; on a terminal its width,
    elsewhere (a pipe, a file, the tests) a fixed ``width`` (``None``: rich's guess).
    On stderr under ``--quiet`` it prints nothing."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if width is not None and stream.isatty():
        width = None  # the terminal's own width
    return Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap, width=width,
                   quiet=stderr and QUIET.get())


def progress_bar(text: str, *, disable: bool, unit: str | None = None, elapsed: bool = False) -> "Progress":
    """A transient bar on stderr (``text``, done/total, with ``unit`` the rate, then the
    time left, or with ``elapsed`` the time so far), drawn only on a terminal and not
    under ``--quiet``: pipes and files get nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, \
        TimeElapsedColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(rate_text(task.speed, unit or ""))

    err = console(stderr=True, width=100)
    return Progress(TextColumn(text), BarColumn(), MofNCompleteColumn(), *([Rate()] if unit else []),
                    TimeElapsedColumn() if elapsed else TimeRemainingColumn(), console=err, transient=True,
                    disable=disable or err.quiet or not err.is_terminal)


def _no_bar() -> bool:
    """Whether :func:`progress_bar` would draw nothing (``--quiet``, or stderr not a
    terminal), asked before ``rich.progress`` is imported for nothing."""
    err = console(stderr=True, width=100)
    return err.quiet or not err.is_terminal


def rate_text(speed: float | None, unit: str) -> str:
    """``4,012 steps/s``; a slow rate keeps two digits (``0.25 chips/s``), so a few chips
    or samples a minute do not read as ``0``; ``- steps/s`` before there is a rate."""
    if not speed:
        return f"- {unit}/s"
    return f"{speed:,.0f} {unit}/s" if speed >= 10 else f"{speed:.2g} {unit}/s"


@contextlib.contextmanager
def progress_callback(text: str, *, unit: str) -> Iterator["Callable[[int, int], None] | None"]:
    """A bar (:func:`progress_bar`) fed by a ``progress(done, total)`` callback, which the
    workflows, :func:`neurocomp.emulator.run.emulate` and the float reference take.
    Yields ``None`` where no bar is drawn (a pipe, a file, ``--quiet``): the run then
    goes in one piece, as without a bar."""
    if _no_bar():
        yield None
        return
    with progress_bar(text, disable=False, unit=unit) as bar:
        if bar.disable:
            yield None
            return
        task = bar.add_task(text, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextlib.contextmanager
def compile_progress() -> Iterator["Callable[[Any, Any, float], None] | None"]:
    """A bar over the compiler's passes (``lower`` ... ``route``), naming the one that
    runs, with the time so far: an ``on_pass`` hook for
    :func:`neurocomp.compiler.pipeline.compile_network`. ``None`` where no bar is drawn
    (a pipe, a file, ``--quiet``). The passes take very different times, so it shows no
    rate."""
    from ..compiler.pipeline import PASS_NAMES

    if _no_bar():
        yield None
        return
    with progress_bar("compiling: {task.description}", disable=False, elapsed=True) as bar:
        if bar.disable:
            yield None
            return
        task = bar.add_task(PASS_NAMES[0], total=len(PASS_NAMES))

        def on_pass(p: Any, artifact: Any, seconds: float) -> None:
            done = PASS_NAMES.index(p.name) + 1 if p.name in PASS_NAMES else len(PASS_NAMES)
            bar.update(task, completed=done, description=PASS_NAMES[done] if done < len(PASS_NAMES) else "done")

        yield on_pass


@contextlib.contextmanager
def ctrl_c() -> Iterator[Callable[[], bool]]:
    """Make every way Ctrl-C can end a command recognisable; yields ``pressed()``.

    SIGINT raises :class:`KeyboardInterrupt` as Python's own handler does, and is also
    remembered, since it does not always surface as one: raised inside Python code
    that compiled code calls (Numba boxing an array it returns), it comes out as a
    ``SystemError``; raised inside a ctypes callback (llvmlite while Numba compiles),
    Python prints it as "Exception ignored" and the compiler fails later with an error of
    its own; raised in a ``__del__`` or a callback whose errors Python drops, it is lost
    and the command goes on, so leaving the block after Ctrl-C raises
    :class:`KeyboardInterrupt`. ``pressed()`` says the command's error came from Ctrl-C. Once it was
    pressed, what Python reports as "Exception ignored" is not printed, then or later
    (the interrupted KeyboardInterrupt, and llvmlite objects left half made that fail
    as they are collected at exit): the command ends with one line. Where SIGINT is
    ignored (a job a shell started in the background) or this is not the main thread,
    signals are left as they are."""
    import signal

    pressed = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal pressed
        pressed = True
        raise KeyboardInterrupt

    def unraisable(info: Any) -> None:
        if not pressed:
            hook(info)

    try:
        previous = signal.getsignal(signal.SIGINT)
        if previous is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: signals go to the main thread's handler
        previous = None
    hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield lambda: pressed
    finally:
        if not pressed:  # else the process is ending: keep its exit quiet
            sys.unraisablehook = hook
        if previous not in (None, signal.SIG_IGN) and signal.getsignal(signal.SIGINT) is on_sigint:
            signal.signal(signal.SIGINT, previous)
    if pressed:  # the command went on: its KeyboardInterrupt was raised where Python drops it
        raise KeyboardInterrupt


def load_network(path_text: str) -> "Network":
    """The network of a ``.snn`` file (:func:`neurocomp.load`).

    Raises
    ------
    UsageError
        For a path that does not end in ``.snn``.
    """
    from ..ir.build import load

    path = Path(path_text)
    if path.suffix != ".snn":
        raise UsageError(f"'{path_text}' is not a network file: expected a .snn file")
    return load(path)


def refuse_to_overwrite(folder: Path, names: Sequence[str]) -> None:
    """Refuse an ``--out`` folder that holds one of ``names`` already, or is a file.

    Checked before the run, so a long run never ends in a refusal.
    """
    existing = [folder / n for n in names if (folder / n).exists()]
    if existing:
        raise UsageError(f"'{existing[0]}' already exists; not overwriting a previous run",
                         hint="choose another --out folder, or add --force to replace it")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"'{folder}' is a file, not a folder", hint="give --out a folder")


def pictures_need_out(args: argparse.Namespace, options: Sequence[str]) -> None:
    """``--plot`` / ``--html`` write files: they need ``--out``, and matplotlib (checked
    before the run, so a long emulation never ends in a refusal)."""
    asked = [o for o in options if getattr(args, o.lstrip("-"), False)]
    if not asked:
        return
    if not args.out:
        raise UsageError(f"{asked[0]} writes into the --out folder", hint="add --out DIR")
    from ..report.plots import require_matplotlib

    require_matplotlib()


def positive(value: int | None, option: str) -> None:
    """Refuse a count option that is given and not positive."""
    if value is not None and value <= 0:
        raise UsageError(f"{option} must be positive, got {value}")


def fmt_int(n: int) -> str:
    """``12,345``."""
    return f"{n:,}"


def samples_from_args(args: Any) -> "tuple[Any, Any] | None":
    """The labelled samples ``--samples FILE.npz`` names (the first ``--limit`` of them),
    or ``None`` without ``--samples``."""
    if not args.samples:
        return None
    from ..workflows.samples import load_samples

    x, y = load_samples(args.samples)
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    return x, y


def warning_lines(mapping: Any, caught: Any = ()) -> list[str]:
    """``warning: ...`` for each notice of :func:`neurocomp.report.notices.collect`: the
    Mapping's quantization warnings, then what the runs that issued ``caught`` overflowed.
    What every command that compiles or runs prints (``compile`` on stdout with its
    summary, the others on stderr)."""
    from ..report.notices import collect

    return [n.line() for n in collect(mapping, caught)]
