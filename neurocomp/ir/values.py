"""Parameter values shared by every IR: scalars, per-neuron arrays from files, distributions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

import numpy as np

__all__ = ["ArrayValue", "Distribution", "Value", "as_array", "same_value"]


@dataclass(frozen=True, eq=False)
class ArrayValue:
    """An array read from a file (``path`` as the user wrote it, for printing back).

    ``values`` is read-only so no stage can overwrite what the user gave.
    """

    values: np.ndarray
    path: str

    def __post_init__(self) -> None:
        self.values.setflags(write=False)


@dataclass(frozen=True)
class Distribution:
    """A random distribution: ``normal(mean, std)`` or ``uniform(low, high)``.

    Drawn with the projection's seed during lowering.
    """

    kind: Literal["normal", "uniform"]
    a: float
    b: float


Value = Union[float, ArrayValue]


def as_array(value: Value, n: int, dtype: type = np.float64) -> np.ndarray:
    """A flat array of ``n`` values (a scalar is broadcast)."""
    if isinstance(value, ArrayValue):
        return np.ascontiguousarray(value.values.reshape(-1), dtype=dtype)
    return np.full(n, value, dtype=dtype)


def same_value(a: object, b: object) -> bool:
    """Structural equality that compares arrays by content."""
    if isinstance(a, ArrayValue) and isinstance(b, ArrayValue):
        return a.values.shape == b.values.shape and bool(np.array_equal(a.values, b.values))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and bool(np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
