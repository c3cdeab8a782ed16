"""The one collector of what a compile or a run lost: quantization and overflow warnings.

Input: the :class:`~neurocomp.ir.mapping.Mapping` (its quantization report's warnings)
and the warnings a run issued (:class:`~neurocomp.diagnostics.OverflowWarning` from the
emulator, or any other). Output: :class:`Notice` records, in that order, each naming the
stage, the populations or projections it is about, what was lost and whether the spikes
can differ from the float model because of it. Every command prints them the same way
(:meth:`Notice.line`), ``report.json`` keeps them (:meth:`Notice.to_dict`) and the HTML
page shows them, so a warning reaches the user wherever they look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping as TMapping

from ..diagnostics import OverflowWarning, QuantizationWarning

__all__ = ["Notice", "collect", "from_dicts"]

# The objects a message names: "population 'x'", "projection 'x'", "input 'x'".
_SUBJECT = re.compile(r"\b(population|projection|input) '([^']*)'")

CAN_DIFFER = "spikes can differ from the float model"
UNCHANGED = "spikes unchanged"


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One warning of a compile or a run.

    Attributes
    ----------
    stage : str
        ``"quantization"`` (the compiler rounded, clipped or approximated) or
        ``"emulation"`` (a register wrapped or saturated while the chip ran).
    about : tuple[str, ...]
        What it names, in order: ``("population 'hidden'",)``.
    message : str
        What was lost, in words (without the ``warning:`` prefix).
    spikes_can_differ : bool
        Whether the spikes can differ from the float model's because of it.
    overflowed, samples : int
        For an emulation warning, how many of the run's samples overflowed.
    """

    stage: str
    about: tuple[str, ...]
    message: str
    spikes_can_differ: bool
    overflowed: int = 0
    samples: int = 0

    def line(self) -> str:
        """``warning: population 'a': ... (spikes can differ from the float model)``: what
        every command prints."""
        text = self.message
        if self.stage == "emulation" and self.samples > 1:
            text = f"in {self.overflowed:,} of {self.samples:,} samples: {text}"
        if CAN_DIFFER not in text and UNCHANGED not in text:
            text += f" ({CAN_DIFFER if self.spikes_can_differ else UNCHANGED})"
        return f"warning: {text}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "about": list(self.about), "message": self.message,
                               "spikes_can_differ": self.spikes_can_differ}
        if self.stage == "emulation":
            out |= {"samples_overflowed": self.overflowed, "samples": self.samples}
        return out


def collect(mapping: Any = None, caught: Iterable[Any] = ()) -> tuple[Notice, ...]:
    """The notices of a compile (``mapping``'s quantization warnings) and of the runs
    that issued ``caught`` (warning instances or ``warnings.WarningMessage`` records, as
    ``warnings.catch_warnings(record=True)`` gathers them); a repeated one is kept once.

    A quantization warning can change the spikes unless it says otherwise; an overflow
    says so itself (the Loihi kernel names the bound and its effect), and one that does
    not is taken to be able to.
    """
    out: list[Notice] = []
    quantization = getattr(mapping, "quantization", None)
    for text in getattr(quantization, "warnings", ()) or ():
        out.append(Notice(stage="quantization", about=_about(text), message=str(text),
                          spikes_can_differ=_can_differ(str(text))))
    for item in caught:
        w = getattr(item, "message", item)
        if isinstance(w, QuantizationWarning):
            continue  # the Mapping's own warnings, already above
        if isinstance(w, OverflowWarning):
            out.append(Notice(stage="emulation", about=_about(w.detail), message=w.detail,
                              spikes_can_differ=_can_differ(w.detail), overflowed=w.overflowed,
                              samples=w.samples))
        elif isinstance(w, Warning):
            out.append(Notice(stage="emulation", about=_about(str(w)), message=str(w),
                              spikes_can_differ=_can_differ(str(w))))
    seen: set[tuple[str, str, int]] = set()
    unique = []
    for n in out:
        key = (n.stage, n.message, n.samples)
        if key not in seen:
            seen.add(key)
            unique.append(n)
    return tuple(unique)


def from_dicts(items: Iterable[TMapping[str, Any]]) -> tuple[Notice, ...]:
    """The notices ``report.json`` holds (:meth:`Notice.to_dict`), read back."""
    return tuple(Notice(stage=str(d.get("stage", "")), about=tuple(str(a) for a in d.get("about", ())),
                        message=str(d.get("message", "")), spikes_can_differ=bool(d.get("spikes_can_differ", True)),
                        overflowed=int(d.get("samples_overflowed", 0)), samples=int(d.get("samples", 0)))
                 for d in items if isinstance(d, dict))


def _about(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for kind, name in _SUBJECT.findall(text):
        subject = f"{kind} '{name}'"
        if subject not in names:
            names.append(subject)
    return tuple(names)


def _can_differ(text: str) -> bool:
    # Taken at its word: a message that says the spikes are unchanged and never that they
    # can differ, or whose run was checked against wider registers (emulator.run).
    return not ((UNCHANGED in text and CAN_DIFFER not in text) or "in this run they did not" in text)

