"""The workflows on a Dask cluster: a LocalCluster of 2 worker processes on this machine
gives the answers of the serial run (the batch by default; validate, compare and the
command line with ``-m slow``: each cluster test costs seconds). Skipped when dask.distributed is not installed
(``pip install neurocomp[dask]``); the refusal without it is tested either way."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.diagnostics import UsageError
from neurocomp.ir.result import Counters
from neurocomp.workflows import parallel as P
from neurocomp.workflows.batch import emulate_samples

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_without_dask_the_scheduler_option_says_how_to_install_it(monkeypatch, capsys):
    from neurocomp.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code = main(["validate", str(EXAMPLES / "chain.snn"), "--chip", "loihi", "--steps", "5",
                 "--scheduler", "tcp://10.0.0.1:8786"])
    assert code == 1
    assert capsys.readouterr().err == (
        "error: a Dask scheduler (tcp://10.0.0.1:8786) needs dask.distributed, which is not installed\n"
        "= help: pip install 'neurocomp[dask]'; without it, work runs on this machine's cores (--jobs N)\n")
    # local parallelism does not need it
    assert P.map_chunks(_double, 1, range(4), jobs=2, chunk_size=1) == [0, 2, 4, 6]


def _double(shared, chunk):
    return [2 * shared * x for x in chunk]


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cl, distributed.Client(cl) as client:
        yield cl, client


def test_calls_with_equal_data_one_after_another_each_get_their_answer(cluster):
    """Equal data scattered by two calls used to share one key: the first call releasing
    it could cancel the second's tasks ('lost dependencies')."""
    _, client = cluster
    for _ in range(4):
        assert P.map_chunks(_double, 1, range(40), client=client, chunk_size=1) == [2 * x for x in range(40)]


def test_a_batch_on_the_cluster_is_the_batch_run_here(cluster):
    _, client = cluster
    from test_emulator_run import exact_case

    _, mapping = exact_case(2)
    rng = np.random.default_rng(3)
    samples = [{"x": rng.random((40, 5)) < p} for p in np.linspace(0.05, 0.6, 8)]
    here = emulate_samples(mapping, 40, samples, jobs=1)
    there = emulate_samples(mapping, 40, samples, client=client, chunk_size=3)
    assert len(there) == len(here) == 8
    for a, b in zip(here, there):
        for pop in ("a", "b", "x"):
            np.testing.assert_array_equal(a.spikes[pop].times, b.spikes[pop].times)
            np.testing.assert_array_equal(a.spikes[pop].indices, b.spikes[pop].indices)
        for f in Counters.FIELDS:
            np.testing.assert_array_equal(getattr(a.counters, f), getattr(b.counters, f))
    # the chunks ran on the cluster's worker processes, not here
    assert P.map_chunks(_pid, None, range(6), client=client, chunk_size=1) != [__import__("os").getpid()] * 6


def _pid(shared, chunk):
    import os

    return [os.getpid() for _ in chunk]


@pytest.mark.slow
def test_validate_and_compare_on_the_cluster_equal_the_serial_answers(cluster):
    _, client = cluster
    net = nc.load(EXAMPLES / "mnist_mlp.snn")
    with np.load(EXAMPLES / "data" / "mnist_test.npz") as data:
        samples = (data["x"][:8], data["y"][:8])
    here = nc.validate(net, "loihi", 30, samples=samples, jobs=1).to_dict()
    there = nc.validate(net, "loihi", 30, samples=samples, client=client).to_dict()
    here.pop("wall_s"), there.pop("wall_s")
    assert here == there and here["classifier"]["samples"] == 8

    chips = ["loihi", "truenorth", "akida"]
    serial = nc.compare(EXAMPLES / "chain.snn", chips, 20, jobs=1)
    spread = nc.compare(EXAMPLES / "chain.snn", chips, 20, client=client)
    assert [r.label for r in spread] == chips
    assert [r.energy_per_step_j for r in spread] == [r.energy_per_step_j for r in serial]
    assert [r.spikes_chip for r in spread] == [r.spikes_chip for r in serial]


@pytest.mark.slow
def test_the_command_line_takes_the_scheduler_from_the_option_or_the_environment(cluster, capsys, monkeypatch):
    from neurocomp.cli import main

    cl, _ = cluster
    argv = ["validate", str(EXAMPLES / "mnist_mlp.snn"), "--chip", "loihi", "--steps", "20",
            "--samples", str(EXAMPLES / "data" / "mnist_test.npz"), "--limit", "6"]
    assert main(argv + ["--jobs", "1"]) == 0
    local = capsys.readouterr().out
    assert main(argv + ["--scheduler", cl.scheduler_address]) == 0
    assert capsys.readouterr().out == local
    monkeypatch.setenv(P.SCHEDULER_ENV, cl.scheduler_address)
    assert main(argv) == 0
    assert capsys.readouterr().out == local


def test_a_client_that_is_not_one_is_refused():
    with pytest.raises(UsageError, match="client must be a dask.distributed.Client, not 'tcp://x'"):
        P.map_chunks(_double, 1, range(3), client="tcp://x")
