"""Which exporter wrote a graph, read from its conventions where NIR is silent about the step.

NIR has no time step, so the same file means different networks at different ``dt``.
Some exporters leave a fingerprint of the step they wrote their time constants for:

* **snnTorch** writes ``Leaky(beta)`` as ``LIF(tau = dt/(1-beta), r = tau/dt)`` (and
  ``Synaptic`` as ``CubaLIF`` with ``r = tau_mem/dt``, ``w_in = tau_syn/dt``) with
  ``dt = 1e-4 s`` fixed in its exporter, whatever step the model ran at: ``r·1e-4 = tau``
  in every node. Only ``dt = 0.1 ms`` (forward Euler) gives back its ``beta`` and unit
  input weights; at 1 ms a ``beta`` of 0.95 silently becomes 0.5 with the weights × 10.
* **Sinabs** writes ``LIF(tau = tau_mem, r = 1)`` with ``tau_mem`` counted in *steps*
  (so ``tau >= 1``), decaying by ``exp(-1/tau_mem)`` with the input scaled by
  ``1 - exp(-1/tau_mem)``: that is ``dt = 1 s`` with the exponential discretisation.
* **Norse** (1.0 and 1.1) writes ``tau = dt / tau_mem_inv``, i.e. ``tau·dt`` rather than
  ``tau``, with ``r = 1``. Imported at Norse's own ``dt`` the step is longer than every
  ``tau``, which forward Euler refuses; the message then names the right step, ``dt²``
  (1 µs for Norse's default 1 ms). ``r = 1`` alone does not tell Norse from a hand-written
  graph, so nothing is refused on that ground.

Each convention is registered once (:data:`CONVENTIONS`): a test that recognises it, the
step it implies (or none it can know) and what to say. :func:`infer_dt_ms` gives the
step when the caller gave none; :func:`check_dt` refuses a step that contradicts a
recognised convention, naming the right one: never a silent wrong network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ...diagnostics import InteropError, UsageError
from .discretise import fmt

__all__ = ["Convention", "CONVENTIONS", "recognise", "infer_dt_ms", "infer_reset", "check_dt"]

_LEAKY = ("LIF", "CubaLIF", "LI", "CubaLI")


@dataclass(frozen=True)
class Convention:
    """An exporter's fingerprint: ``matches(nodes)`` is true for a graph it wrote."""

    name: str
    matches: Callable[[dict[str, Any]], bool]
    dt_ms: float | None  # the step it implies, or None (it depends on a step not in the file)
    method: str
    why: str
    advice: Callable[[float], str]  # the right --dt, given the step the user passed
    # the reset the framework itself gives the file when it reads it back (NIR cannot state one)
    reset: str = "zero"
    reset_why: str = ""


def _arr(node: Any, attr: str) -> np.ndarray | None:
    raw = getattr(node, attr, None)
    return None if raw is None else np.asarray(raw, dtype=np.float64).reshape(-1)


def _leaky(nodes: dict[str, Any]) -> list[Any]:
    return [n for n in nodes.values() if type(n).__name__ in _LEAKY]


def _snntorch(nodes: dict[str, Any]) -> bool:
    leaky = _leaky(nodes)
    if not leaky:
        return False
    for n in leaky:
        tau = _arr(n, "tau") if _arr(n, "tau") is not None else _arr(n, "tau_mem")
        r = _arr(n, "r")
        if tau is None or r is None or np.all(r == 1) or not np.allclose(r * 1e-4, tau, rtol=1e-6, atol=0):
            return False
        w_in, tau_syn = _arr(n, "w_in"), _arr(n, "tau_syn")
        if w_in is not None and tau_syn is not None and not np.allclose(w_in * 1e-4, tau_syn, rtol=1e-6, atol=0):
            return False
    return True


def _sinabs(nodes: dict[str, Any]) -> bool:
    leaky = _leaky(nodes)
    return bool(leaky) and all(_arr(n, "r") is not None and np.all(_arr(n, "r") == 1) and _arr(n, "tau") is not None
                               and np.all(_arr(n, "tau") >= 1.0) for n in leaky)


def _norse(nodes: dict[str, Any]) -> bool:
    leaky = _leaky(nodes)
    return bool(leaky) and all(_arr(n, "r") is not None and np.all(_arr(n, "r") == 1) for n in leaky)


CONVENTIONS: tuple[Convention, ...] = (
    Convention("snnTorch", _snntorch, 0.1, "euler",
               "every neuron node has r = tau / 1e-4 s: snnTorch's exporter writes its time constants "
               "for a 0.1 ms step, whatever step the model ran at",
               lambda dt_ms: "--dt 0.1ms (dt_ms=0.1), forward Euler: that gives snnTorch's beta and "
                             "unit input weights back",
               "zero", "snnTorch's exporter writes the same LIF for every reset_mechanism, and its own "
                       "import_from_nir reads it back with reset_mechanism='zero'; a model trained with "
                       "the default 'subtract' needs --reset subtract-next"),
    Convention("Sinabs", _sinabs, 1000.0, "exp",
               "every neuron node has r = 1 and a tau of 1 s or more: Sinabs writes tau_mem counted in "
               "steps and decays by exp(-1/tau_mem)",
               lambda dt_ms: "--dt 1s --method exp (dt_ms=1000, method='exp'): one step is one time unit",
               "subtract", "Sinabs' own from_nir reads a LIF back with its default reset, MembraneSubtract "
                           "(the threshold subtracted in the step of the spike)"),
    Convention("Norse", _norse, None, "euler",
               "every neuron node has r = 1 and a tau shorter than the step: Norse's exporter (1.0, 1.1) "
               "writes tau*dt instead of tau",
               lambda dt_ms: f"if Norse ran it at dt = {fmt(dt_ms)} ms, import with --dt "
                             f"{fmt(dt_ms * dt_ms)}us (dt_ms={fmt(dt_ms * dt_ms / 1e3)}: dt squared, "
                             "in seconds), forward Euler",
               "zero", "Norse's LIF resets to v_reset (reset_value), as NIR does"),
)


def recognise(nodes: dict[str, Any]) -> Convention | None:
    """The first registered convention the graph's nodes follow, if any."""
    return next((c for c in CONVENTIONS if c.matches(nodes)), None)


def infer_dt_ms(nodes: dict[str, Any]) -> tuple[float, str]:
    """The step and discretisation a graph's exporter wrote it for (a :class:`UsageError`
    when they cannot be told)."""
    found = recognise(nodes)
    if found is None or found.dt_ms is None:
        raise UsageError("NIR has no time step and this graph does not say which one it was written for"
                         + (f" ({found.name}: {found.why})" if found else ""),
                         hint="give the step the model was trained with: --dt (dt_ms=)")
    return found.dt_ms, found.method


def infer_reset(nodes: dict[str, Any]) -> tuple[str, str]:
    """The reset to import with when none is given, and why: the one the recognised
    exporter's framework reads the file back with, else NIR's (zero)."""
    found = recognise(nodes)
    if found is None:
        return "zero", "NIR's reset (v = v_reset)"
    return found.reset, f"{found.name}: {found.reset_why}"


def check_dt(nodes: dict[str, Any], dt_ms: float, method: str) -> str | None:
    """Refuse ``dt_ms``/``method`` when a recognised convention says they build another network.

    Returns what to say if a time constant turns out shorter than the step (a convention
    whose step is not in the file: the message names the step that would be right).
    """
    found = recognise(nodes)
    if found is None:
        return None
    if found.dt_ms is not None and (not np.isclose(dt_ms, found.dt_ms, rtol=1e-9) or method != found.method):
        raise InteropError(f"this graph was written by {found.name}'s exporter ({found.why}); at dt = "
                           f"{fmt(dt_ms)} ms ({method}) it would be another network",
                           hint=f"import with {found.advice(dt_ms)}")
    if found.dt_ms is None:
        return (f"this looks like {found.name}'s exporter ({found.why}): {found.advice(dt_ms)}; "
                "otherwise choose a smaller dt, or --method exp (a different network: exponential decays)")
    return None
