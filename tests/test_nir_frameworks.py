"""Models the frameworks exported themselves run in neurocomp as their framework ran them.

``tests/data/nir/<framework>/<model>.nir`` was written by the framework's own NIR exporter
and ``<model>.npz`` holds the framework's own output spike counts for a few input rasters
(both made by ``tools/make_nir_fixtures.py`` in a venv of its own: the frameworks are
not neurocomp dependencies). The float reference, fed the same rasters, must give the
same counts: the expectation is the framework's output, not ours.

neurocomp delivers a spike one step later per layer, so an output layer at depth ``d``
answers the framework's step ``t`` at step ``t + d``: the run is ``T + d`` steps, the
input zero-padded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nir")

import neurocomp as nc  # noqa: E402
from neurocomp.interop.nir_import import import_nir  # noqa: E402
from neurocomp.interop.nir_import.depth import depths  # noqa: E402

DATA = Path(__file__).parent / "data" / "nir"


def counts_in_neurocomp(nir_file: Path, fixture: Path, output: str, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(neurocomp's output spike counts, the framework's), one row per sample."""
    data = np.load(fixture, allow_pickle=False)
    net = import_nir(nir_file, float(data["dt_ms"]), **kw)
    depth = depths(net)[output]
    samples, steps, n_in = data["inputs"].shape
    got = np.zeros_like(data["counts"])
    for s in range(samples):
        x = np.zeros((steps + depth, n_in))
        x[:steps] = data["inputs"][s]
        got[s] = nc.simulate(net, steps + depth, inputs={"input": x}).spike_counts(output)
    return got, data["counts"]


def test_snntorch_leaky_reset_zero_with_biases_gives_snntorch_counts() -> None:
    # Linear -> Leaky(beta 0.9, reset zero) -> Linear -> Leaky(beta 0.8), both Linear with biases;
    # snnTorch's exporter writes its time constants for dt = 0.1 ms.
    got, want = counts_in_neurocomp(DATA / "snntorch" / "leaky_zero.nir", DATA / "snntorch" / "leaky_zero.npz",
                                    "n_3")
    assert want.sum() > 100 and (want > 0).mean() > 0.5  # the comparison means something only with activity
    np.testing.assert_array_equal(got, want)
