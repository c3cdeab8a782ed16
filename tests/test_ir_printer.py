"""Printing a Network gives .snn text that parses back to an equal network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurocomp.dsl.parse import parse
from neurocomp.ir.build import build, load
from neurocomp.ir.network import network_diff
from neurocomp.ir.printer import to_snn

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.snn"))


def _round_trip(net):
    text = to_snn(net)
    again = build(parse(text, "printed.snn"), net.base_dir)
    return text, again


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips(path: Path) -> None:
    net = load(path)
    text, again = _round_trip(net)
    assert network_diff(net, again) is None, text
    assert to_snn(again) == text  # printing is stable


def test_round_trip_keeps_every_kind_of_value(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.array([[0.1, 0.0], [0.0, -0.3]]))
    np.save(tmp_path / "d.npy", np.array([[1, 0], [0, 4]]))
    np.save(tmp_path / "k.npy", np.ones((3, 2, 2, 2)))
    np.save(tmp_path / "sig.npy", np.zeros((5, 2)))
    np.save(tmp_path / "wi.npy", np.array([[1, 0], [0, -3]]))
    text = """
        network everything
        dt = 0.25 ms
        const g = 5
        input r[2] : rate(value = 0.3, max_rate = 33.3 Hz, seed = 4)
        input l[2] : latency(value = 2, tau = 1.5 ms, threshold = 0.2)
        input d[2, 2] : delta(signal = "sig.npy", threshold = 0.01)
        input c[2] : current(value = -0.7)
        population a[2] : LIF(tau_mem = 7 ms, tau_syn = 3 ms, threshold = 0.3, reset = subtract, refractory = 1 ms, bias = 0.01)
            native loihi(du = 1, dv = 2, vth_mant = 3, bias_mant = 4, bias_exp = 5)
        population b[2, 3, 3] : IF(reset = none) native truenorth(axon_weights = [1, 2, 3, 4], leak_reversal = false)
        population o[2] : LI(beta = 0.125)
        connect r -> a : dense(weights = "w.npy", delay = "d.npy") native loihi(weights = "wi.npy", weight_exp = 1)
        connect a -> b : random(p = 0.3, weight = normal(0.1, 0.05), seed = 2, self = true)
        connect a -> a : all_to_all(weight = -0.1 * g, self = false, delay = 1 ms)
        connect l -> o : one_to_one(weight = 1e-3)
        probe a, o : voltage, current
        probe b : spikes
    """
    net = build(parse(text, "x.snn"), tmp_path)
    printed, again = _round_trip(net)
    assert network_diff(net, again) is None, printed
    assert "max_rate = 33.3 Hz" in printed
    assert " as " not in printed  # default projection names need no alias


def test_sparse_file_with_its_own_delays_round_trips_and_lowers(tmp_path: Path) -> None:
    from neurocomp.compiler.lower import lower

    np.savez(tmp_path / "s.npz", pre=np.array([0, 1, 1]), post=np.array([1, 0, 1]),
             weight=np.array([0.5, 0.25, -1.0]), delay=np.array([3, 0, 2]))
    net = build(parse("population a[2] : IF()\nconnect a -> a : sparse(file = \"s.npz\")", "s.snn"),
                tmp_path)
    printed, again = _round_trip(net)
    assert network_diff(net, again) is None, printed
    syn = lower(net)["a->a"]
    # row 0: 0 -> 1 (delay 3); row 1: 1 -> 0 (delay 0), 1 -> 1 (delay 2)
    assert syn.indptr.tolist() == [0, 1, 3]
    assert syn.indices.tolist() == [1, 0, 1]
    assert syn.delay_array().tolist() == [3, 0, 2]
