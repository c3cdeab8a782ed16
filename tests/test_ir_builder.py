"""The Python network builder (neurocomp/ir/builder.py) against the DSL.

The independent expectation is the DSL's own build of the same model (examples/chain.snn,
whose spikes are derived by hand in its header) and the file written by write_snn read
back by the DSL's loader.
"""

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.ir.network import network_diff
from neurocomp.ir.write import write_snn

CHAIN_INPUT = [1, 2, 3, 4, 9, 10, 14, 16]  # examples/chain.snn's header


def chain() -> nc.Network:
    net = nc.NetworkBuilder("chain", dt_ms=1.0)
    net.input("stim", 1, "spikes", times=CHAIN_INPUT, indices=[0] * len(CHAIN_INPUT))
    for name in ("a", "b", "c"):
        net.population(name, 1, "LIF", beta=0.5, threshold=1.0, reset="zero")
    net.connect("stim", "a", "one_to_one", weight=0.75)
    net.connect("a", "b", "one_to_one", weight=1.5)
    net.connect("b", "c", "one_to_one", weight=0.875, delay_ms=2)
    for name in ("a", "b", "c"):
        net.probe(name, "spikes", "voltage")
    return net.build()


def test_chain_equals_the_dsl_network_and_spikes():
    built, loaded = chain(), nc.load("examples/chain.snn")
    assert network_diff(built, loaded) is None
    ours, theirs = nc.simulate(built, 20), nc.simulate("examples/chain.snn", 20)
    for pop, want in {"a": [3, 5, 11], "b": [4, 6, 12], "c": [9]}.items():
        assert ours.spikes[pop].times.tolist() == want  # the header's hand derivation
        assert theirs.spikes[pop].times.tolist() == want
    chip = nc.run(nc.compile(built, "loihi"), steps=20)
    assert chip.spikes["c"].times.tolist() == [9]


def test_numpy_arrays_round_trip_through_snn(tmp_path):
    rng = np.random.default_rng(1)
    net = nc.NetworkBuilder("mixed", dt_ms=0.5)
    net.input("x", (1, 4, 4), "rate", value=rng.random((1, 4, 4)), max_rate_hz=200.0, seed=3)
    net.population("conv", (2, 3, 3), "LIF", tau_mem_ms=10.0, threshold=rng.random(18) + 0.5)
    net.population("out", 5, "LI", beta=0.9)
    net.population("rec", 5, "IF", tau_syn_ms=2.0, refractory_ms=1.0, reset="subtract")
    net.connect("x", "conv", "conv2d", kernel=rng.normal(size=(2, 1, 2, 2)), stride=1,
                delay_ms=np.full((2, 1, 2, 2), 1.0))
    w = rng.normal(size=(5, 18))
    net.connect("conv", "out", "dense", weights=w, delay_ms=0.5)
    net.connect("conv", "rec", "sparse", pre=[0, 3, 17], post=[1, 1, 4], weights=[0.5, -1.0, 2.0],
                delay_ms=[0.0, 1.0, 1.5])
    net.connect("rec", "rec", "random", p=0.5, weight=("normal", 0.0, 0.1), seed=2, allow_self=False)
    net.probe("out", "voltage")
    built = net.build()
    written = write_snn(built, tmp_path / "mixed.snn")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written[1:]) == [
        "mixed_data/conv.threshold.npy", "mixed_data/conv_out.weights.npy",
        "mixed_data/conv_rec.delay.npy", "mixed_data/conv_rec.sparse.npz",
        "mixed_data/x.value.npy", "mixed_data/x_conv.delay.npy", "mixed_data/x_conv.kernel.npy"]
    back = nc.load(tmp_path / "mixed.snn")
    assert network_diff(built, back) is None
    assert np.array_equal(back.projection("conv->out").connector.weights.values, w)
    a, b = nc.simulate(built, 30), nc.simulate(back, 30)
    assert a.spikes["x"].count > 0 and a.spikes["conv"].count > 0  # the arrays were used
    for pop in built.populations:
        assert np.array_equal(a.spikes[pop].times, b.spikes[pop].times)
    assert np.array_equal(a.traces["out"]["voltage"], b.traces["out"]["voltage"])


def test_scipy_matrix_is_read_as_post_pre():
    sp = pytest.importorskip("scipy.sparse")
    m = sp.csc_matrix(np.array([[0.0, 2.0], [3.0, 0.0], [0.0, 0.0]]))  # [post=3, pre=2]
    net = nc.NetworkBuilder("s")
    net.input("i", 2, "current", value=1.0)
    net.population("p", 3, "LI", beta=0.0)
    net.connect("i", "p", "sparse", matrix=m)
    conn = net.build().projections[0].connector
    assert sorted(zip(conn.pre.tolist(), conn.post.tolist(), conn.weights.tolist())) == \
        [(0, 1, 3.0), (1, 0, 2.0)]


@pytest.mark.parametrize("call, message", [
    (lambda n: n.connect("i", "p", "dense", weights=np.zeros((2, 3))),
     "projection 'i->p': weights have shape [2, 3], but [3] <- [2] needs [post, pre] = [3, 2]"),
    (lambda n: n.connect("i", "p", "sparse", pre=[0, 2], post=[0, 1], weights=[1.0, 1.0]),
     "projection 'i->p': the synapse list has a presynaptic index 2, but the source population has 2 neurons"),
    (lambda n: n.population("q", 3, "LIF", threshold=1.0),
     "population 'q': LIF needs 'tau_mem_ms' or 'beta'"),
    (lambda n: n.population("q", 3, "LIF", beta=0.5, threshold=[1.0, 2.0]),
     "population 'q': 'threshold' has 2 values (shape [2]), the population has 3 neurons"),
    (lambda n: n.population("q", 3, "IF", tau_mem=3),
     "population 'q': IF takes no argument 'tau_mem'"),
    (lambda n: n.connect("i", "nope", "one_to_one", weight=1.0),
     "projection 'i->nope': unknown population 'nope'"),
    (lambda n: n.connect("i", "p", "all_to_all", weight=1.0, delay_ms=0.5),
     "projection 'i->p': 'delay_ms' is 0.5 steps, not a whole number of steps (dt = 1 ms)"),
    (lambda n: n.probe("i", "voltage"),
     "probe of 'i': 'i' is an input: only its spikes can be probed"),
])
def test_mistakes_name_the_object_and_the_argument(call, message):
    net = nc.NetworkBuilder("n")
    net.input("i", 2, "current", value=1.0)
    net.population("p", 3, "LI", beta=0.0)
    with pytest.raises(nc.UsageError) as err:
        call(net)
    assert err.value.diagnostics[0].message == message


def test_an_array_without_a_file_name_is_refused_by_the_printer():
    """issue 14: such a network printed as dense(weights = ""), which cannot be read back."""
    from neurocomp.ir import connectors as cn
    from neurocomp.ir.network import Network, Projection
    from neurocomp.ir.values import ArrayValue

    net = chain()
    bare = Projection(name="bare", pre="a", post="b", connector=cn.Dense(ArrayValue(np.ones((1, 1)), "")))
    net = Network(name="chain", populations=net.populations, projections=(*net.projections, bare))
    with pytest.raises(nc.UsageError, match=r"an array of shape \[1, 1\] has no file name"):
        nc.to_snn(net)
    assert 'file = "chain_data/stim.spikes.npz"' in nc.to_snn(chain())


def test_every_encoder_round_trips_through_snn(tmp_path):
    rng = np.random.default_rng(4)
    net = nc.NetworkBuilder("encoders", dt_ms=1.0)
    net.input("s", 3, "spikes", times=[0, 2, 5], indices=[2, 0, 1])
    net.input("lat", 3, "latency", value=[0.5, 2.0, 4.0], tau_ms=5.0, threshold=0.2)
    net.input("d", (2, 3), "delta", signal=rng.normal(size=(20, 3)), threshold=0.3)
    net.input("ev", (2, 2, 2), "events", x=[0, 1], y=[1, 1], t_us=[1500, 4000], p=[1, 0])
    net.input("cur", 3, "current", value=[0.1, 0.2, 0.3])
    net.population("p", 3, "LIF", tau_mem_ms=4.0, tau_syn_ms=2.0, bias=[0.0, 0.1, 0.2])
    net.population("q", (2, 1, 1), "IF", threshold=0.5)
    for src, weight in (("s", [1.0, 2.0, 3.0]), ("lat", 1.5), ("cur", 1.0)):
        net.connect(src, "p", "one_to_one", weight=weight)
    net.connect("d", "p", "all_to_all", weight=0.4)
    net.connect("ev", "q", "sum_pool", size=2)
    built = net.build()
    write_snn(built, tmp_path / "encoders.snn")
    back = nc.load(tmp_path / "encoders.snn")
    assert network_diff(built, back) is None
    a, b = nc.simulate(built, 25), nc.simulate(back, 25)
    assert a.spikes["ev"].count == 2 and a.spikes["s"].count == 3
    for pop in built.populations:
        assert np.array_equal(a.spikes[pop].times, b.spikes[pop].times)
        assert np.array_equal(a.spikes[pop].indices, b.spikes[pop].indices)
