"""Input preparation: labelled samples as the input overrides of one run each.

Input: an ``.npz`` file (or arrays) of samples ``x`` ``[n, ...]`` and labels ``y``
``[n]``. Output: per sample, the ``{input population: events or raster}`` overrides that
:func:`~neurocomp.emulator.reference.simulate` and :func:`~neurocomp.emulator.run.emulate`
take, and the network's output population that reads the class.

Each sample drives the network's one input population: when ``x[i]`` has the
population's size it replaces the encoder's ``value`` (rate, latency and current
inputs), the rate encoder's seed advancing by one per sample so samples draw independent
spikes; when it is ``T x N`` with ``T >= steps`` it is the input raster itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping as TMapping

import numpy as np

from ..compiler.encode import encode
from ..diagnostics import InputFileError, UsageError, did_you_mean
from ..ir.network import Network
from ..ir.synapses import InputEvents

__all__ = ["runs_of", "labelled_set", "load_samples", "check_samples", "output_population", "sample_inputs", "encode_samples"]

def runs_of(network: Network, steps: int, inputs: TMapping[str, InputEvents | np.ndarray] | None,
            samples: str | Path | tuple[np.ndarray, np.ndarray] | None, output: str | None = None
            ) -> tuple[list[dict[str, InputEvents | np.ndarray] | None], np.ndarray | None, str | None]:
    """The runs a validation or comparison makes: their inputs, and for ``samples`` the
    labels and the output population that reads the class.

    ``inputs`` (or nothing) is one run; ``samples`` (an ``.npz`` path or ``(x, y)``) is
    one run per sample; ``output`` names the population that reads the class (default:
    :func:`output_population`).

    Raises
    ------
    UsageError
        For ``inputs`` together with ``samples``, or samples for a network that is not a
        classifier (see :func:`output_population`, :func:`sample_inputs`).
    InputFileError
        For a sample file that lacks ``x`` or ``y`` or does not fit the input.
    """
    if samples is not None and inputs is not None:
        raise UsageError("give either inputs (one run) or samples (a labelled set), not both")
    if samples is None:
        return [dict(inputs) if inputs else None], None, None
    x, labels, output = labelled_set(network, samples, output)
    return list(sample_inputs(network, steps, x)), labels, output


def labelled_set(network: Network, samples: str | Path | tuple[np.ndarray, np.ndarray], output: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, str]:
    """``x``, the labels and the output population of a labelled set (an ``.npz`` path or
    ``(x, y)``), as :func:`runs_of` reads it, before any sample is encoded.

    Raises
    ------
    UsageError, InputFileError
        As :func:`runs_of`.
    """
    x, labels = load_samples(samples) if not isinstance(samples, tuple) else check_samples(*samples, "samples")
    return x, labels, output_population(network, output)


def load_samples(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``x`` ``[n, ...]`` and integer ``y`` ``[n]`` from an ``.npz`` file (no pickles).

    Raises
    ------
    InputFileError
        When the file is missing or unreadable, or lacks ``x`` or ``y``, or they
        disagree in length.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"no such sample file: '{p}'", hint="give an .npz file with arrays x and y")
    from ..resources import read_npz

    arrays = read_npz(p, hint="write it with numpy.savez(path, x=..., y=...)")
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise InputFileError(f"'{p}' lacks array{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"(it has: {', '.join(arrays) or 'nothing'})",
                             hint="samples go in x [n, ...] and their labels in y [n]")
    return check_samples(arrays["x"], arrays["y"], f"'{p}'")


def check_samples(x: np.ndarray, y: np.ndarray, what: str = "samples") -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as ``[n, ...]`` samples and int64 ``[n]`` labels.

    Raises
    ------
    InputFileError
        When the shapes disagree or the labels are not integers (``what`` names them).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise InputFileError(f"{what}: x {x.shape} and y {y.shape} must be [n, ...] and [n]")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputFileError(f"{what}: labels y must be integers (got {y.dtype})")
    if x.dtype.kind not in "biuf":  # strings, complex numbers (an imaginary part dropped), objects
        raise InputFileError(f"{what}: samples x must be real numbers (got {x.dtype})")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise InputFileError(f"{what}: samples x hold {x[tuple(bad)]} at {list(map(int, bad))}; "
                             "every value must be a finite number")
    return x, y.astype(np.int64)


def output_population(network: Network, chosen: str | None = None) -> str:
    """The classifier's output: the last probed neuron population that projects nowhere
    but onto itself (a recurrent read-out, or a reset written as a self-connection).

    Raises
    ------
    UsageError
        When no probed neuron population projects nowhere.
    """
    if chosen is not None:
        found = network.populations.get(chosen)
        if found is None or found.is_input:
            names = [n for n, p in network.populations.items() if not p.is_input]
            raise UsageError(f"network '{network.name}' has no neuron population '{chosen}' to classify with",
                             hint=did_you_mean(chosen, names))
        return chosen
    projecting = {p.pre for p in network.projections if p.pre != p.post}
    probed = {p.population for p in network.probes}
    candidates = [name for name, pop in network.populations.items()
                  if not pop.is_input and name in probed and name not in projecting]
    if not candidates:
        raise UsageError(f"network '{network.name}' has no probed output population to classify with",
                         hint="probe the output population: 'probe out : spikes'")
    return candidates[-1]


def sample_inputs(network: Network, steps: int, x: np.ndarray, first: int = 0
                  ) -> list[dict[str, InputEvents | np.ndarray]]:
    """Per sample, the input overrides that make the network's one input show ``x[i]``
    (``x[i]`` is sample ``first + i`` of a larger set: see :func:`encode_samples`).

    Raises
    ------
    UsageError
        When the network has no or several input populations (or see
        :func:`encode_samples`).
    """
    inputs = [name for name, pop in network.populations.items() if pop.is_input]
    if len(inputs) != 1:
        raise UsageError(f"samples drive one input population; network '{network.name}' has "
                         f"{len(inputs)} ({', '.join(inputs) or 'none'})",
                         hint="give per-population inputs with 'neurocomp run --inputs' instead")
    pop = network.populations[inputs[0]]
    return [{pop.name: ev} for ev in encode_samples(pop, steps, float(network.dt_ms), x, first)]


def encode_samples(pop: Any, steps: int, dt_ms: float, x: np.ndarray, first: int = 0
                   ) -> list[InputEvents | np.ndarray]:
    """What input population ``pop`` emits for each sample ``x[i]``.

    ``x[i]`` of the population's size replaces the encoder's ``value`` (and, for an
    encoder with a seed, the seed becomes ``seed + first + i``: a sample draws the same
    spikes whether its set is encoded whole or in parts, ``first`` being the part's
    start); ``x[i]`` of shape ``T x size`` (``T >= steps``) is the raster itself.

    Raises
    ------
    UsageError
        When ``x[i]`` is a value but the input's encoder takes none.
    InputFileError
        When a sample fits neither form.
    """
    x = np.asarray(x)
    where = f"input '{pop.name}'"
    per_sample = int(np.prod(x.shape[1:], dtype=np.int64))
    if per_sample == pop.size:
        encoder = pop.encoder
        names = {f.name for f in dataclasses.fields(encoder)} if dataclasses.is_dataclass(encoder) else set()
        if "value" not in names:
            raise UsageError(f"input '{pop.name}' ({type(encoder).__name__}) takes no value to replace "
                             "with a sample", where=where, hint="give the samples as rasters [n, T, N] instead")
        out: list[InputEvents | np.ndarray] = []
        for i in range(x.shape[0]):
            changes: dict[str, Any] = {"value": np.asarray(x[i], dtype=np.float64).reshape(-1)}  # flat: as_array's form
            if "seed" in names:
                changes["seed"] = int(encoder.seed) + first + i
            sample_pop = dataclasses.replace(pop, encoder=dataclasses.replace(encoder, **changes))
            out.append(encode(sample_pop, steps, dt_ms))
        return out
    if x.ndim >= 3 and int(np.prod(x.shape[2:], dtype=np.int64)) == pop.size:
        # a raster shorter than the run is padded with zeros (a network k layers deep answers
        # its input's last step k steps later)
        rasters = np.zeros((x.shape[0], max(steps, x.shape[1]), pop.size), dtype=np.float64)
        rasters[:, :x.shape[1]] = np.asarray(x, dtype=np.float64).reshape(x.shape[0], x.shape[1], pop.size)
        return [rasters[i, :steps] for i in range(x.shape[0])]
    raise InputFileError(f"a sample of shape {x.shape[1:]} fits neither input '{pop.name}' "
                         f"({pop.size} values) nor a raster of steps x {pop.size}", where=where)
