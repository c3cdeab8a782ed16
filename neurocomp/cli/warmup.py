"""The first run on a machine: say that Numba is compiling, and compile alongside.

neurocomp's hot loops are Numba functions cached on disk (``cache=True``): the first
command on a machine compiles them (about 30 s of CPU for ``run`` on Loihi, half of it
the chip's emulator kernel), later ones load them in a fraction of a second. Two things
make that first run bearable:

* :class:`FirstRun` listens to Numba's compile events: on a terminal, at the first
  compile it prints one line (``compiling neurocomp's kernels for this machine ...``)
  and keeps a transient status naming the kernel being compiled, so the command is never
  silent. (A pipe or a log gets the same output whether the cache was warm or not.)
* A command that compiles a network and then emulates it (``run``) starts, at that first
  compile, a second process that compiles the chip family's emulator kernel into the
  same cache while this one compiles the network's (:func:`_warm`), and waits for it
  before emulating (:meth:`FirstRun.wait`). The second process builds a tiny network
  with Numba's JIT off (plain Python: nothing of the first process's work is repeated),
  then turns the JIT on and emulates it, so its kernel specialisations are the ones a
  real run uses (``tests/test_first_run.py`` checks that). It is started only when a
  core is idle right now (``/proc/stat``, else the load average), where it can take up to
  half the wall time off the first run; with a warm cache, a busy machine or
  ``NEUROCOMP_WARMUP=0`` nothing is started.

Run as ``python -m neurocomp.cli.warmup`` it is that second process (the chip as JSON on
stdin).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

__all__ = ["FirstRun"]

# A network every family runs: an input and two layers (beta = 0 and no delay: Akida's
# neurons keep no state and its spikes take one step).
_TINY = """network warmup
dt = 1 ms
input x[2] : rate(value = 1.0, max_rate = 500 Hz, seed = 0)
population a[2] : LIF(beta = 0, threshold = 0.5, reset = zero)
population b[1] : LIF(beta = 0, threshold = 0.5, reset = zero)
connect x -> a : one_to_one(weight = 0.75)
connect a -> b : all_to_all(weight = 0.875)
"""


class FirstRun:
    """A context for a command: tells the user when Numba compiles, and (``chip`` given)
    compiles the chip's emulator kernel in a second process while this one compiles the
    network.

    Parameters
    ----------
    console
        A rich console on stderr (the one line and the transient status go there).
    chip
        The :class:`~neurocomp.chip.spec.ChipSpec` the command will emulate, or ``None``.
    """

    def __init__(self, console: Any, chip: Any = None) -> None:
        self.console = console
        self.chip = chip
        self.compiled = 0
        self.started_s = 0.0
        self._depth = 0
        self._status: Any = None
        self._proc: subprocess.Popen | None = None
        self._exit: Any = None

    # -- the context ------------------------------------------------------------------

    def __enter__(self) -> "FirstRun":
        from numba.core import event

        listener = _Listener(self)
        self._exit = event.install_listener("numba:compile", listener)
        self._exit.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop_status()
        if self._exit is not None:
            self._exit.__exit__(*exc)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # the command ended early (an error, Ctrl-C): no orphan
            self._proc.wait()

    def wait(self) -> None:
        """Wait for the second process (if one was started) before emulating, so the
        kernel it compiled is loaded from the cache rather than compiled again."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._show("compiling the chip's emulator kernel (first run only)")
            self._proc.wait()
        self._proc = None

    # -- what the listener calls ------------------------------------------------------

    def _start(self, name: str) -> None:
        self._depth += 1
        if self._depth > 1:
            return
        self.compiled += 1
        if self.compiled == 1:
            self.started_s = time.perf_counter()
            if self.console.is_terminal:  # a pipe or a log gets the same output, cached or not
                self.console.print("compiling neurocomp's kernels for this machine (first run only: they are "
                                   "cached for later runs) ...", soft_wrap=True, highlight=False)
            self._spawn()
        self._show(f"compiling {name}")

    def _end(self) -> None:
        self._depth = max(0, self._depth - 1)

    def _show(self, text: str) -> None:
        if not self.console.is_terminal:
            return
        if self._status is None:
            self._status = self.console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _spawn(self) -> None:
        # A second process pays only with a core to spare: on a busy machine its imports
        # are extra work (benchmarks/bench_first_run.py at load 2 on 2 cores: 58 s with it,
        # 51 s without). NEUROCOMP_WARMUP=0 turns it off, =1 forces it.
        wanted = os.environ.get("NEUROCOMP_WARMUP", "")
        if self.chip is None or wanted == "0" or (wanted != "1" and not _core_to_spare()):
            return
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert self._proc.stdin is not None
            self._proc.stdin.write(self.chip.model_dump_json().encode())
            self._proc.stdin.close()
        except (OSError, ValueError):  # no second process: this one compiles everything
            self._proc = None


def _core_to_spare() -> bool:
    """Whether a core is idle now: from the time the machine's cores spend idle over a
    tenth of a second (``/proc/stat``), else from the 1-minute load average, which must
    leave at least 1.5 cores (this process takes one).

    The load average lags by a minute: right after ``pip install`` (the README's first
    command) a quiet 2-core machine still shows about 1, and the second process did not
    start where it had a core to itself."""
    idle = _idle_cores()
    if idle is not None:
        return idle >= 0.75  # this process is compiling: the idle cores are the others'
    try:
        return os.getloadavg()[0] <= (os.cpu_count() or 1) - 1.5
    except OSError:
        return False


def _idle_cores(window_s: float = 0.1) -> float | None:
    """Cores idle on average over the next ``window_s`` seconds (``None`` where
    ``/proc/stat`` cannot be read)."""
    first = _cpu_times()
    if first is None:
        return None
    time.sleep(window_s)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return None
    return (second[0] - first[0]) / (second[1] - first[1]) * (os.cpu_count() or 1)


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) clock ticks of all cores since boot, from ``/proc/stat``'s ``cpu``
    line (idle counts iowait too), or ``None``."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    except (OSError, ValueError):
        return None
    if fields[:1] != ["cpu"] or len(ticks) < 5:
        return None
    return ticks[3] + ticks[4], sum(ticks)


def _listener_base() -> type:
    from numba.core.event import Listener

    return Listener


class _Listener(_listener_base()):  # type: ignore[misc]
    def __init__(self, owner: FirstRun) -> None:
        self.owner = owner

    def on_start(self, event: Any) -> None:
        func = getattr(event.data.get("dispatcher"), "py_func", None)
        name = f"{func.__module__.removeprefix('neurocomp.')}.{func.__name__}" if func else "a kernel"
        self.owner._start(name)

    def on_end(self, event: Any) -> None:
        self.owner._end()


def _warm(chip_json: str) -> int:
    """The second process: the tiny network compiled in plain Python, then emulated
    with the JIT on (which compiles the family's kernel into the cache)."""
    import warnings

    import numba

    numba.config.DISABLE_JIT = True  # the compiler's kernels: plain Python for 5 neurons
    from ..api import compile as compile_network
    from ..chip.spec import ChipSpec
    from ..dsl.parse import parse
    from ..ir.build import build

    chip = ChipSpec.model_validate_json(chip_json)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapping = compile_network(build(parse(_TINY), "."), chip)
        numba.config.DISABLE_JIT = False  # modules imported from here on are compiled
        from ..emulator.run import emulate

        emulate(mapping, 4)
    return 0


if __name__ == "__main__":
    sys.exit(_warm(sys.stdin.read()))
