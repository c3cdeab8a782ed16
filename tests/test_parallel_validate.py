"""validate's chunks encode their own samples and send back digests of their runs
(``report.validate.digest_run``): the report is the one made in the caller from the full
runs of the whole set encoded at once (the second implementation: ``sample_inputs``,
``simulate`` and ``emulate`` per sample, ``agreement_report`` over the runs)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.emulator.reference import simulate
from neurocomp.emulator.run import emulate
from neurocomp.report.validate import agreement_report, digest_run
from neurocomp.workflows.samples import sample_inputs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist():
    net = nc.load(ROOT / "examples" / "mnist_mlp.snn")
    with np.load(ROOT / "examples" / "data" / "mnist_test.npz") as data:
        x, y = data["x"][:20], data["y"][:20]
    chip = nc.load_chip("loihi")
    return net, chip, nc.compile(net, chip), x, y


def _report(rep) -> dict:
    d = rep.to_dict()
    d.pop("wall_s")
    d.pop("notes")  # the overflow note is compared by test_parallel_reference's per-sample test
    return d


@pytest.mark.parametrize("jobs", [1, 2])
def test_validate_reports_what_full_runs_of_the_whole_set_give(mnist, jobs):
    net, chip, mapping, x, y = mnist
    steps = 20
    got = nc.validate(net, chip, steps, samples=(x, y), mapping=mapping, jobs=jobs)  # chunks of 2 samples
    runs = sample_inputs(net, steps, x)  # the whole set at once: sample i's seed is seed + i
    ref = [simulate(net, steps, inputs) for inputs in runs]
    with warnings.catch_warnings():  # mnist_mlp's hidden v may saturate at its floor
        warnings.simplefilter("ignore")
        chip_runs = [emulate(mapping, steps, inputs) for inputs in runs]
    want = agreement_report(net, chip, steps, ref, chip_runs, labels=y, output="out")
    assert _report(got) == _report(want)
    # and the digests give what the runs give
    digests = agreement_report(net, chip, steps, [digest_run(net, r, "out") for r in ref],
                               [digest_run(net, r, "out") for r in chip_runs], labels=y, output="out")
    assert _report(digests) == _report(want)


def test_samples_encoded_in_parts_are_the_set_encoded_at_once(mnist):
    net, _, _, x, _ = mnist
    whole = sample_inputs(net, 30, x[:7])
    parts = sample_inputs(net, 30, x[:3]) + sample_inputs(net, 30, x[3:7], first=3)
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_array_equal(a["pixels"].step_ptr, b["pixels"].step_ptr)
        np.testing.assert_array_equal(a["pixels"].indices, b["pixels"].indices)
    # and a part that forgot its start draws other spikes
    assert not np.array_equal(whole[3]["pixels"].indices, sample_inputs(net, 30, x[3:4])[0]["pixels"].indices)


def test_a_digest_is_small(mnist):
    import pickle

    net, chip, mapping, x, _ = mnist
    run = simulate(net, 100, sample_inputs(net, 100, x[:1])[0])
    assert len(pickle.dumps(digest_run(net, run, "out"))) < len(pickle.dumps(run)) / 10
