"""The ``neurocomp`` command line: one module per command, on the public Python API.

``main`` builds the parser from the command table
(:data:`neurocomp.cli.common.COMMANDS`) and imports only the module of the command
being run, so ``neurocomp --version`` and ``neurocomp --help`` load neither Numba nor
the stages. Each command module has ``register(subparsers)``, which adds its sub-parser
and sets ``func``, the function that runs it.

Every command has ``--max-memory SIZE`` (:func:`neurocomp.cli.common.add_memory_argument`)
and runs inside :func:`neurocomp.resources.memory_cap`, set here and nowhere else; the cap
ends with the command.

Every :class:`~neurocomp.diagnostics.NeurocompError` is rendered as text and the command
exits with code 1; bad arguments exit with 2 (argparse's convention); Ctrl-C exits with
130 and one line. A user never sees a traceback for their own mistake.

Python's cycle collector sweeps every object it tracks, and a command's imports leave
~75,000 that live until it ends: swept again and again, they cost a small compile ~10 %
of its CPU. So ``main`` collects nothing while the command's modules load, then freezes
what they made (:func:`gc.freeze`: later sweeps skip it) until the command ends.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .common import Parser

__all__ = ["main", "interrupted"]


def _parser(command: str | None) -> "Parser":
    """The parser, with every command listed and ``command``'s arguments registered."""
    import importlib

    from .. import __version__
    from .common import COMMANDS, Parser

    parser = Parser(prog="neurocomp",
                    description="Compile spiking networks onto neuromorphic chips and emulate them.")
    parser.add_argument("--version", action="version", version=f"neurocomp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module, help_line) in COMMANDS.items():
        if name == command:
            importlib.import_module(f"{__name__}.{module}").register(sub)
        else:  # listed in --help; never parsed, as argv names another command
            sub.add_parser(name, help=help_line)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    # the top-level options take no value, so the first word that is not one is the command
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``argv``: the arguments, by default ``sys.argv[1:]``);
    returns the exit code."""
    # everything main needs loads inside the try, so Ctrl-C during imports is caught too
    pressed = bool  # () -> False, until the command runs under ctrl_c()
    # a caller that froze objects or turned collection off keeps its own setting
    settle = gc.isenabled() and gc.get_freeze_count() == 0
    if settle:
        gc.disable()
    try:
        from ..diagnostics import NeurocompError

        args_list = list(sys.argv[1:] if argv is None else argv)
        parser = _parser(_command(args_list))
        args = parser.parse_args(args_list)
        if settle:  # the command's modules are loaded: their objects are not swept again
            gc.freeze()
            gc.enable()
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        from ..resources import memory_cap
        from .common import ctrl_c

        # the one place a run's --max-memory is set; it ends with the command
        with ctrl_c() as pressed, _voice(args), memory_cap(getattr(args, "max_memory", None)), _first_run(args):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:  # first: it may come before NeurocompError is bound
        return interrupted()
    except NeurocompError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except OSError as exc:  # the machine's refusal (a full disk, no permission) reached past a writer
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{where}error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception:  # Ctrl-C that surfaced as another error (cli.common.ctrl_c says how)
        if pressed():
            return interrupted()
        raise
    finally:
        if settle:  # an in-process caller gets every object back to the collector
            gc.unfreeze()
            gc.enable()


def _voice(args: Any) -> Any:
    """``--quiet``: the command's stderr consoles print nothing; ``--verbose``: the
    library's log (each compiler pass, each emulation, with its time) on stderr. Both end
    with the command."""
    import contextlib
    import logging

    from ..diagnostics import UsageError
    from .common import QUIET

    quiet, verbose = bool(getattr(args, "quiet", False)), bool(getattr(args, "verbose", False))
    if quiet and verbose:
        raise UsageError("--quiet and --verbose ask for opposite things; give one of them")

    @contextlib.contextmanager
    def scope():
        token = QUIET.set(quiet)
        log = logging.getLogger("neurocomp")
        handler, level = None, log.level
        if verbose:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        try:
            yield
        finally:
            if handler is not None:
                log.removeHandler(handler)
                log.setLevel(level)
            QUIET.reset(token)

    return scope()


# The commands that compile Numba kernels on a machine's first run (warmup.FirstRun says
# so as it happens); the others never load Numba's event machinery.
_COMPILING = frozenset({"compile", "run", "simulate", "validate", "compare", "sweep"})


def _first_run(args: Any) -> Any:
    import contextlib

    if args.command not in _COMPILING:
        return contextlib.nullcontext()
    from .common import console

    def first_run() -> Any:
        from .warmup import FirstRun  # imports Numba (to listen to its compiles)

        args.first_run = FirstRun(console(stderr=True, width=100))
        return args.first_run

    if args.command == "compile":
        return _when_numba_loads(first_run)
    return first_run()


def _when_numba_loads(make: Any) -> Any:
    """A context that enters ``make()``'s only once a compiler kernel loads Numba: a small
    network is compiled by the kernels' Python forms (``compiler._jit``), and ``compile``
    need not import Numba just to listen for compiles that never come."""
    import contextlib

    from ..compiler._jit import when_loaded

    @contextlib.contextmanager
    def scope() -> Any:
        with contextlib.ExitStack() as stack:
            forget = when_loaded(lambda: stack.enter_context(make()))
            try:
                yield
            finally:
                forget()

    return scope()


def interrupted() -> int:
    """Say that Ctrl-C stopped the command, and give its exit code (130 = 128 + SIGINT)."""
    import signal

    try:  # a second Ctrl-C while Python shuts down must not print a traceback either
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: it cannot be re-armed there
        pass
    print("interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())
