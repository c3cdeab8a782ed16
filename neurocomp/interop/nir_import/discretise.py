"""How a NIR time constant becomes a per-step decay: the registered discretisations.

NIR states continuous-time ODEs; neurocomp runs one step of ``dt`` at a time. Every
time constant ``tau`` (seconds) becomes the fraction ``h`` of it that one step covers;
decays are ``1 - h`` and the input gain of a leaky node is ``r·h``. The export
(:mod:`neurocomp.interop.nir_export`) inverts the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...diagnostics import UsageError, did_you_mean

__all__ = ["Discretisation", "DISCRETISATIONS", "discretisation", "describe_discretisation", "fmt"]


@dataclass(frozen=True)
class Discretisation:
    """How a time constant ``tau`` (s) becomes the fraction ``h`` of one step ``dt``.

    Decays are ``1 - h``; the input gain of a leaky node is ``r·h``.
    """

    name: str
    title: str
    formula: str
    fraction: Callable[[np.ndarray, float], np.ndarray]

    def h(self, tau_s: np.ndarray | float, dt_s: float) -> np.ndarray:
        """The step fraction, elementwise (``tau = inf`` gives 0)."""
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return self.fraction(np.asarray(tau_s, dtype=np.float64), dt_s)


def _euler(tau_s: np.ndarray, dt_s: float) -> np.ndarray:
    return dt_s / tau_s


def _exponential(tau_s: np.ndarray, dt_s: float) -> np.ndarray:
    return -np.expm1(-dt_s / tau_s)


DISCRETISATIONS: dict[str, Discretisation] = {
    "euler": Discretisation("euler", "forward Euler", "h = dt / tau", _euler),
    "exp": Discretisation("exp", "exponential, input held over the step",
                          "h = 1 - exp(-dt / tau)", _exponential),
}


def discretisation(method: str) -> Discretisation:
    """The registered discretisation called ``method`` (a :class:`UsageError` if none)."""
    if method not in DISCRETISATIONS:
        raise UsageError(f"unknown discretisation '{method}'", hint=did_you_mean(method, DISCRETISATIONS))
    return DISCRETISATIONS[method]


def describe_discretisation(method: str, dt_ms: float) -> str:
    """The discretisation in words, one rule a line (for the `.snn` header and the CLI)."""
    d = discretisation(method)
    return "\n".join([
        f"NIR discretised with dt = {fmt(dt_ms)} ms, {d.title}: {d.formula} (tau in s)",
        "  LIF, LI:          beta = 1 - h;  inputs x r*h;  bias = h*v_leak",
        "  CubaLIF, CubaLI:  alpha = 1 - h_syn, beta = 1 - h_mem;  inputs x (w_in*h_syn)*(r*h_mem);"
        "  bias = h_mem*v_leak",
        "  IF, I:            beta = 1;  inputs x r*dt",
        "  Threshold:        beta = 0;  inputs x 1",
        "  an Affine/Conv2d bias b adds (input gain)*b to the target's bias, which starts at the",
        "  step the target's input first arrives (from bias_source, delayed by depth - 1)",
        "  an input or spike of step t reaches the next neuron node at step t + 1 + delay/dt",
        "  reset to 0 (NIR v_reset = 0); spike when v > threshold (strict, as NIR)",
    ])


def fmt(x: float) -> str:
    """A number for a message: whole numbers without a fraction, others exactly (``repr``)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))
