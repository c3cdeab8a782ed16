"""neurocomp's Akida model against BrainChip's own engine (pip ``akida``).

The engine is never a dependency of neurocomp: it lives in a venv of its own and is
driven in a subprocess (``ENGINE`` below), so these tests are skipped unless
``NEUROCOMP_AKIDA_PYTHON`` names that venv's Python::

    python3 -m venv /tmp/akida-venv && /tmp/akida-venv/bin/pip install akida
    NEUROCOMP_AKIDA_PYTHON=/tmp/akida-venv/bin/python pytest -m slow -s tests/test_akida_vendor.py

(pip ``akida`` 2.19.3 installs with numpy alone; ``.ci/run`` makes that venv and runs
this file in CI.) Five checks:

* the facts ``docs/chips/akida_neuron.md`` builds the kernel on, asked of the engine's
  software backend (a model mapped to ``None`` runs a bit-accurate CPU emulation): a
  layer keeps nothing between frames; the threshold test is strict; the potential
  saturates at 20 bits signed; weights are symmetric; how ``act_bits`` > 1 quantizes;
* the same small layers mapped by the engine on a virtual AKD1000 and by neurocomp's
  compiler: the processors each layer takes (both counts are printed with ``-s``), conv
  layers on CNPs and fully connected layers on FNPs in both;
* a two-layer fully connected model with known integer weights and thresholds, run frame
  by frame by the engine and step by step by neurocomp's emulator: the same events out
  of the hidden layer and the same potentials in the read-out;
* five models built on both sides (a dense MLP, a CNN on 8-bit images with max pools,
  a separable conv with global average pooling, a global average pool whose sums pass
  the 20-bit limit, binary layers on 4-bit inputs; act_bits 1, 2 and 4, input bits 1, 4
  and 8): every layer's output integer for 24 random frames is the same (``-s`` prints
  the counts);
* ``examples/digits_cnn_akida.snn`` built in the engine from its data files: the engine's
  scores for the 360 test digits are neurocomp's and the integer reference's.
"""

from __future__ import annotations

import collections
import math
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.compiler.pipeline import compile as compile_network
from neurocomp.emulator.run import emulate

from akida_engine import ask, needs_engine

pytestmark = needs_engine

#: Runs in the engine's venv: reads one JSON request on stdin, prints one JSON answer.
ENGINE = r'''
import json, math, sys
import numpy as np
import akida
from akida import MapMode

MARK = "@@neurocomp@@"


POOL = {None: akida.PoolType.NoPooling, "max": akida.PoolType.Max, "gap": akida.PoolType.Average}


def build(layers):
    """A sequential akida Model from layer specs; variables set where given."""
    m = akida.Model()
    for s in layers:
        pool = dict(pool_type=POOL[s.get("pool")], pool_size=(2, 2) if s.get("pool") == "max" else (-1, -1))
        act = dict(activation=s.get("activation", True), act_bits=s.get("act_bits", 1))
        if s["kind"] == "input":
            m.add(akida.InputData(tuple(s["shape"]), input_bits=s["bits"]))
        elif s["kind"] == "inconv":
            m.add(akida.InputConvolutional(input_shape=tuple(s["shape"]), kernel_size=tuple(s["kernel"]),
                                           filters=s["filters"], name=s["name"], weights_bits=8, **pool, **act))
        elif s["kind"] == "fc":
            m.add(akida.FullyConnected(s["units"], name=s["name"], weights_bits=s["weights_bits"], **act))
        elif s["kind"] == "conv":
            m.add(akida.Convolutional(kernel_size=tuple(s["kernel"]), filters=s["filters"], name=s["name"],
                                      weights_bits=s["weights_bits"], **pool, **act))
        elif s["kind"] == "sep":
            m.add(akida.SeparableConvolutional(kernel_size=tuple(s["kernel"]), filters=s["filters"],
                                               name=s["name"], weights_bits=s["weights_bits"], **pool, **act))
        layer = m.layers[-1]
        for var in ("weights", "weights_pw"):
            if s.get(var) is not None:
                shape = layer.variables[var].shape
                layer.set_variable(var, np.asarray(s[var], dtype=np.int8).reshape(shape))
        if s.get("threshold") is not None:
            layer.set_variable("threshold", np.asarray(s["threshold"], dtype=np.int32))
        if s.get("act_step") is not None:
            layer.set_variable("act_step", np.asarray(s["act_step"], dtype=np.float32))
    return m


def calibrate(req):
    """Thresholds and steps that spread each layer's activations, from the potentials the
    engine computes with that layer's activation off (earlier layers already set); then
    every layer's output for the frames. Steps are whole numbers of potential: the
    engine's act_step is that over 2^(4 - act_bits)."""
    layers = [dict(s) for s in req["layers"]]
    frames = np.asarray(req["frames"], dtype=np.uint8)
    params, out = {}, {}
    for k, s in enumerate(layers):
        if s["kind"] == "input":
            continue
        if s.get("activation", True):
            probe = [dict(x) for x in layers[:k + 1]]
            probe[k]["activation"] = False
            m = build(probe)
            m.map(None)
            pot = m.forward(frames).astype(np.float64)
            pot = pot.reshape(-1, pot.shape[-1])
            bits = s.get("act_bits", 1)
            lo, hi = (0.6, 0.6) if bits == 1 else (0.35, 0.97)
            thr = np.floor(np.quantile(pot, lo, axis=0)).astype(int)
            top = np.quantile(pot, hi, axis=0)
            step = np.maximum(1, np.ceil((top - thr) / (2 ** bits - 1))).astype(int)
            s["threshold"] = thr.tolist()
            s["act_step"] = (step / 2.0 ** (4 - bits)).tolist()
            params[s["name"]] = {"threshold": thr.tolist(), "act_step": step.tolist()}
        m = build(layers[:k + 1])
        m.map(None)
        y = m.forward(frames)
        out[s["name"]] = {"shape": list(y.shape), "values": y.astype(np.int64).ravel().tolist()}
    return {"params": params, "outputs": out}


def nps(req):
    out = {}
    for mode in req["modes"]:
        m = build(req["layers"])
        m.map(akida.AKD1000(), mode=getattr(MapMode, mode))
        out[mode] = {L.name: {"nps": len(L.mapping.nps), "types": sorted({str(n.type).split(".")[-1]
                                                                           for n in L.mapping.nps})}
                     for L in m.layers if L.mapping is not None}
    return out


def forward(req):
    """Each requested layer's outputs for the frames: a model cut after that layer."""
    frames = np.asarray(req["frames"], dtype=np.uint8)
    out = {}
    for k, s in enumerate(req["layers"]):
        if s["kind"] == "input":
            continue
        m = build(req["layers"][:k + 1])
        m.map(None)
        x = frames.reshape((frames.shape[0],) + tuple(req["layers"][0]["shape"]))
        out[s["name"]] = m.forward(x).reshape(frames.shape[0], -1).astype(np.int64).tolist()
    return out


def fc(n_in, w, thr=None, act=True, act_bits=1, act_step=None, in_bits=1):
    """A one-layer model: n_in inputs, one unit per column of w."""
    w = np.asarray(w)
    layers = [{"kind": "input", "shape": [1, 1, n_in], "bits": in_bits},
              {"kind": "fc", "name": "fc", "units": w.shape[1], "weights_bits": 4, "activation": act,
               "act_bits": act_bits, "weights": w.tolist(), "threshold": thr, "act_step": act_step}]
    m = build(layers)
    m.map(None)
    return m


def run(m, x):
    x = np.asarray(x, dtype=np.uint8)
    return m.forward(x.reshape(x.shape[0], 1, 1, x.shape[1])).reshape(x.shape[0], -1).astype(np.int64).tolist()


def facts(req):
    f = {}
    # 1. Three identical frames of potential 3 against threshold 4: a layer that kept its
    #    potential would fire at the second.
    f["frames_kept"] = run(fc(4, [[3], [-2], [7], [1]], thr=[4]), [[1, 0, 0, 0]] * 3)
    # 2. The threshold test: potentials 4, 6 and 5 against threshold 4.
    f["at_threshold"] = run(fc(4, [[3], [1], [2], [0]], thr=[4]), [[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 1, 0]])
    # 3. The potential (activation off) of 16,384 4-bit inputs at 15 times 7 or -7:
    #    1,720,320 exactly, and a sum that cancels (first half +7, second half -7).
    n = 16384
    big = []
    for w in (np.full(n, 7), np.full(n, -7), np.r_[np.full(n // 2, 7), np.full(n // 2, -7)]):
        big.append(run(fc(n, w.reshape(n, 1), act=False, in_bits=4), [np.full(n, 15)])[0][0])
    f["potential"] = big
    # 4. Weight ranges per width.
    ranges = {}
    for bits in (1, 2, 4):
        ok = []
        for v in range(-9, 10):
            layers = [{"kind": "input", "shape": [1, 1, 2], "bits": 1},
                      {"kind": "fc", "name": "fc", "units": 1, "weights_bits": bits, "activation": False,
                       "weights": [[v], [0]]}]
            try:
                build(layers)
                ok.append(v)
            except Exception:
                pass
        ranges[bits] = [min(ok), max(ok)]
    f["weight_range"] = ranges
    # 5. act_bits: the event for potentials 0..15 (one 4-bit input at weight 1).
    acts = {}
    for bits in (1, 2, 4):
        for step in (1.0, 0.5, 1.5, 3.0):
            for thr in (0, 3):
                m = fc(16, np.r_[[1], np.zeros(15, dtype=int)].reshape(16, 1), thr=[thr], act_bits=bits,
                       act_step=[step], in_bits=4)
                x = np.zeros((16, 16), dtype=np.uint8)
                x[:, 0] = np.arange(16)
                acts[f"{bits} {step} {thr}"] = [r[0] for r in run(m, x)]
    f["activations"] = acts
    return f


req = json.loads(sys.stdin.read())
answer = {"nps": nps, "forward": forward, "facts": facts, "calibrate": calibrate}[req["op"]](req)
print(MARK + json.dumps(answer))
'''


def engine(request: dict) -> dict:
    """One request to the engine in its own venv."""
    return ask(ENGINE, request)


# --------------------------------------------------------------------------- the engine's facts


def test_the_engine_facts_the_kernel_relies_on():
    f = engine({"op": "facts"})
    # No state between frames: potential 3 three times never reaches threshold 4.
    assert f["frames_kept"] == [[0], [0], [0]]
    # Strict: 4 > 4 is false (no event); 6 > 4 and 5 > 4 are events.
    assert f["at_threshold"] == [[0], [1], [1]]
    # 20-bit signed saturation of the layer's sum (2**19 - 1 = 524,287; -2**19), applied to
    # the whole sum: +7 then -7 over 8,192 inputs each gives 0, not a clipped partial sum.
    assert f["potential"] == [524_287, -524_288, 0]
    # Symmetric signed weights (1 bit is unsigned 0..1).
    assert f["weight_range"] == {"1": [0, 1], "2": [-1, 1], "4": [-7, 7]}
    # Graded events: clip(ceil((pot - threshold) / (act_step * 2**(4 - act_bits))), 0, 2**act_bits - 1).
    for key, got in f["activations"].items():
        bits, step, thr = int(key.split()[0]), float(key.split()[1]), int(key.split()[2])
        want = [min(max(math.ceil((p - thr) / (step * 2 ** (4 - bits))), 0), 2 ** bits - 1) for p in range(16)]
        assert got == want, key


# --------------------------------------------------------------------------- processors


def ints(rng: np.random.Generator, shape, top: int = 7) -> np.ndarray:
    w = rng.integers(-top, top + 1, size=shape)
    w[w == 0] = 1
    return w.astype(np.float64)


def neurocomp_cores(tmp_path: Path, text: str, arrays: dict[str, np.ndarray]):
    for name, a in arrays.items():
        np.save(tmp_path / name, a)
    (tmp_path / "net.snn").write_text(text)
    m = compile_network(nc.load(tmp_path / "net.snn"), load_chip("akida"))
    kinds = m.compile_report["processor_kinds"]
    cores: dict[str, set] = collections.defaultdict(set)
    for core in m.cores:
        for s in core.slices:
            cores[s.population].add(core.core_id)
    return {p: (len(c), sorted({kinds[str(x)] for x in c})) for p, c in cores.items()}


MODELS = {
    # name: (akida layers, neurocomp text, arrays, {akida layer: neurocomp population})
    "mlp 784-128-10": (
        [{"kind": "input", "shape": [1, 1, 784], "bits": 1},
         {"kind": "fc", "name": "fc1", "units": 128, "weights_bits": 4, "activation": True},
         {"kind": "fc", "name": "fc2", "units": 10, "weights_bits": 4, "activation": False}],
        """network mlp
dt = 1 ms
input x[784] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population h[128] : LIF(beta = 0, threshold = 3)
population o[10] : LI(beta = 0)
connect x -> h : dense(weights = "w1.npy")
connect h -> o : dense(weights = "w2.npy")
""", lambda rng: {"w1.npy": ints(rng, (128, 784)), "w2.npy": ints(rng, (10, 128))}, {"fc1": "h", "fc2": "o"}),
    "conv 1-8 on 16x16 + fc": (
        [{"kind": "input", "shape": [16, 16, 1], "bits": 1},
         {"kind": "conv", "name": "conv", "kernel": [3, 3], "filters": 8, "weights_bits": 4, "activation": True},
         {"kind": "fc", "name": "fc", "units": 10, "weights_bits": 4, "activation": False}],
        """network conv8
dt = 1 ms
input x[1, 16, 16] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population c[8, 16, 16] : LIF(beta = 0, threshold = 3)
population o[10] : LI(beta = 0)
connect x -> c : conv2d(kernel = "k.npy", padding = 1)
connect c -> o : dense(weights = "w.npy")
""", lambda rng: {"k.npy": ints(rng, (8, 1, 3, 3)), "w.npy": ints(rng, (10, 2048))}, {"conv": "c", "fc": "o"}),
    "conv 16-64 on 16x16 + fc": (
        [{"kind": "input", "shape": [16, 16, 16], "bits": 1},
         {"kind": "conv", "name": "conv", "kernel": [3, 3], "filters": 64, "weights_bits": 4, "activation": True},
         {"kind": "fc", "name": "fc", "units": 10, "weights_bits": 4, "activation": False}],
        """network conv64
dt = 1 ms
input x[16, 16, 16] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population c[64, 16, 16] : LIF(beta = 0, threshold = 3)
population o[10] : LI(beta = 0)
connect x -> c : conv2d(kernel = "k.npy", padding = 1)
connect c -> o : dense(weights = "w.npy")
""", lambda rng: {"k.npy": ints(rng, (64, 16, 3, 3)), "w.npy": ints(rng, (10, 16384))}, {"conv": "c", "fc": "o"}),
}

CONV = {"CNP1", "CNP2"}
DENSE = {"FNP2", "FNP3"}


@pytest.mark.parametrize("name", list(MODELS))
def test_layers_take_processors_of_the_engines_kind_and_order_of_magnitude(name, tmp_path):
    layers, text, arrays, pop_of = MODELS[name]
    theirs = engine({"op": "nps", "layers": layers, "modes": ["AllNps", "Minimal"]})
    ours = neurocomp_cores(tmp_path, text, arrays(np.random.default_rng(0)))
    print(f"\n{name}: layer: akida AllNps / Minimal NPs (types) | neurocomp cores (kinds)")
    for layer, pop in pop_of.items():
        a, b = theirs["AllNps"][layer], theirs["Minimal"][layer]
        n, kinds = ours[pop]
        print(f"  {layer}: {a['nps']} / {b['nps']} ({', '.join(a['types'])}) | {n} ({', '.join(kinds)})")
        conv = layer.startswith("conv")
        assert set(a["types"]) <= (CONV if conv else DENSE) and set(b["types"]) <= (CONV if conv else DENSE)
        assert set(kinds) <= (CONV if conv else DENSE)
        # Within a factor of 10 of one of the engine's two counts (spread or minimal).
        assert min(abs(math.log10(n / a["nps"])), abs(math.log10(n / b["nps"]))) < 1, (layer, n, a, b)


# --------------------------------------------------------------------------- outputs


def test_a_fully_connected_model_gives_the_engines_events_and_potentials(tmp_path):
    rng = np.random.default_rng(3)
    n_in, n_h, n_o, frames = 24, 16, 6, 40
    w1 = ints(rng, (n_h, n_in))  # [post, pre] for neurocomp; the engine takes [in, units]
    w2 = ints(rng, (n_o, n_h))
    th = rng.integers(0, 8, size=n_h).astype(np.float64)
    x = (rng.random((frames, n_in)) < 0.4).astype(np.uint8)
    layers = [{"kind": "input", "shape": [1, 1, n_in], "bits": 1},
              {"kind": "fc", "name": "hidden", "units": n_h, "weights_bits": 4, "activation": True, "act_bits": 1,
               "weights": w1.T.astype(int).tolist(), "threshold": th.astype(int).tolist()},
              {"kind": "fc", "name": "out", "units": n_o, "weights_bits": 4, "activation": False,
               "weights": w2.T.astype(int).tolist()}]
    theirs = engine({"op": "forward", "layers": layers, "frames": x.tolist()})

    for name, a in {"w1.npy": w1, "w2.npy": w2, "th.npy": th}.items():
        np.save(tmp_path / name, a)
    (tmp_path / "net.snn").write_text(f"""network fc
dt = 1 ms
input x[{n_in}] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population hidden[{n_h}] : LIF(beta = 0, threshold = "th.npy", reset = zero)
population out[{n_o}] : LI(beta = 0)
connect x -> hidden : dense(weights = "w1.npy")
connect hidden -> out : dense(weights = "w2.npy")
probe out : voltage
""")
    m = compile_network(nc.load(tmp_path / "net.snn"), load_chip("akida"))
    # Frame f is the input of step f; it reaches 'hidden' at step f + 1 and 'out' at f + 2.
    raster = np.zeros((frames + 2, n_in), dtype=np.uint8)
    raster[:frames] = x
    r = emulate(m, frames + 2, {"x": raster}, strict=True)
    hidden = np.zeros((frames + 2, n_h), dtype=np.int64)
    hidden[r.spikes["hidden"].times, r.spikes["hidden"].indices] = 1
    np.testing.assert_array_equal(hidden[1:frames + 1], np.asarray(theirs["hidden"]))
    np.testing.assert_array_equal(r.traces["out"]["voltage"][2:], np.asarray(theirs["out"], dtype=np.float64))
    assert 0 < hidden.sum() < hidden[1:frames + 1].size  # events, and not all of them


# --------------------------------------------------------------------------- bit-exact models
#
# Each model is a list of the engine's layers with integer weights drawn here; the engine
# chooses thresholds and activation steps that spread each layer's activations (op
# "calibrate") and returns every layer's output for the frames. neurocomp builds the same
# network from .snn text (one population per layer, plus the layer's parts: a max pool, a
# global average pool, a depthwise step), runs the frames, and every integer is compared.


def spec_models():
    """name -> (input (C, H, W) and bits, the engine's layers without variables)."""
    return {
        "mlp 1-bit in, act 2 and 4": ((64, 1, 1), 1, [
            {"kind": "fc", "name": "fc1", "units": 48, "weights_bits": 4, "act_bits": 2},
            {"kind": "fc", "name": "fc2", "units": 24, "weights_bits": 2, "act_bits": 4},
            {"kind": "fc", "name": "fc3", "units": 10, "weights_bits": 4, "activation": False}]),
        "cnn 8-bit in, max pools": ((1, 8, 8), 8, [
            {"kind": "inconv", "name": "in", "kernel": [3, 3], "filters": 4, "act_bits": 4, "pool": "max"},
            {"kind": "conv", "name": "conv", "kernel": [3, 3], "filters": 6, "weights_bits": 4, "act_bits": 2,
             "pool": "max"},
            {"kind": "fc", "name": "fc", "units": 10, "weights_bits": 4, "activation": False}]),
        "separable + global average, 1-bit in": ((3, 8, 8), 1, [
            {"kind": "sep", "name": "sep", "kernel": [3, 3], "filters": 8, "weights_bits": 4, "act_bits": 4},
            {"kind": "conv", "name": "conv", "kernel": [3, 3], "filters": 6, "weights_bits": 4, "act_bits": 4,
             "pool": "gap"},
            {"kind": "fc", "name": "fc", "units": 10, "weights_bits": 4, "activation": False}]),
        "global average past the 20-bit limit": ((16, 16, 16), 4, [
            {"kind": "conv", "name": "conv", "kernel": [3, 3], "filters": 4, "weights_bits": 4, "activation": False,
             "pool": "gap", "signed_filters": True}]),
        "conv act 1, 4-bit in, fc act 1": ((2, 8, 8), 4, [
            {"kind": "conv", "name": "conv", "kernel": [3, 3], "filters": 4, "weights_bits": 4, "act_bits": 1,
             "pool": "max"},
            {"kind": "fc", "name": "fc1", "units": 16, "weights_bits": 1, "act_bits": 1},
            {"kind": "fc", "name": "fc2", "units": 10, "weights_bits": 2, "activation": False}]),
    }


def weights_of(rng: np.random.Generator, bits: int, shape) -> np.ndarray:
    """Random integer weights of the engine's range for ``bits`` (1 bit: 0..1)."""
    if bits == 1:
        return rng.integers(0, 2, size=shape)
    top = (1 << (bits - 1)) - 1
    return rng.integers(-top, top + 1, size=shape)


def draw(rng: np.random.Generator, in_shape, layers):
    """The layers with weights in both layouts: ``nc`` (neurocomp: conv kernels
    [F, C, kh, kw] as PyTorch, dense [post, pre] over C-order [C, H, W]) and the engine's
    (HWC; Convolutional and SeparableConvolutional are true convolutions, so their kernels
    are flipped; InputConvolutional is a cross-correlation; FullyConnected flattens its
    input in Fortran order)."""
    C, H, W = in_shape
    out = []
    for s in layers:
        s = dict(s)
        if s["kind"] in ("inconv", "conv"):
            bits = 8 if s["kind"] == "inconv" else s["weights_bits"]
            k = weights_of(rng, bits, (s["filters"], C, *s["kernel"]))
            if s.pop("signed_filters", False):  # even filters all positive, odd all negative: sums that saturate
                k = np.abs(k) + (k == 0)
                k[1::2] *= -1
            s["nc"] = {"kernel": k}
            kk = k if s["kind"] == "inconv" else k[:, :, ::-1, ::-1]
            s["weights"] = kk.transpose(2, 3, 1, 0).tolist()
            if s["kind"] == "inconv":
                s["shape"] = [H, W, C]
            C = s["filters"]
        elif s["kind"] == "sep":
            dw = weights_of(rng, s["weights_bits"], (C, *s["kernel"]))
            pw = weights_of(rng, s["weights_bits"], (s["filters"], C))
            s["nc"] = {"depthwise": dw, "pointwise": pw}
            s["weights"] = dw[:, ::-1, ::-1].transpose(1, 2, 0)[..., None].tolist()
            s["weights_pw"] = pw.T.tolist()
            C = s["filters"]
        else:
            w = weights_of(rng, s["weights_bits"], (s["units"], C * H * W))
            s["nc"] = {"weights": w}
            # The engine's FullyConnected reads its (H, W, C) input in Fortran order: index
            # c·W·H + w·H + h (asked of the engine with one-hot inputs).
            s["weights"] = w.reshape(s["units"], C, H, W).transpose(1, 3, 2, 0).reshape(-1, s["units"]).tolist()
            C, H, W = s["units"], 1, 1
        if s.get("pool") == "max":
            H, W = H // 2, W // 2
        elif s.get("pool") == "gap":
            H, W = 1, 1
        out.append(s)
    return out


def neurocomp_text(in_shape, layers, params, tmp_path: Path):
    """The .snn text (and its arrays, saved in ``tmp_path``) of the same model, and per
    layer the population whose output the engine's layer gives, and whether that output
    is its events (an activation) or its potential (activation off)."""
    lines = ["network vendor", "dt = 1 ms",
             f"input x[{', '.join(map(str, in_shape))}] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)"]
    arrays: dict[str, np.ndarray] = {}
    pre, (C, H, W) = "x", in_shape
    out = {}

    def population(name, shape, s, active):
        if not active:
            lines.append(f"population {name}[{', '.join(map(str, shape))}] : LI(beta = 0)")
            lines.append(f"probe {name} : voltage")
            return
        th = np.asarray(params[s["name"]]["threshold"], dtype=np.float64)
        st = np.asarray(params[s["name"]]["act_step"], dtype=np.int64)
        per = int(np.prod(shape[1:])) if len(shape) == 3 else 1  # per filter (channel-major)
        arrays[f"{name}_th.npy"] = np.repeat(th, per).reshape(shape)
        arrays[f"{name}_st.npy"] = np.repeat(st, per).astype(np.float64)
        lines.append(f'population {name}[{", ".join(map(str, shape))}] : LIF(beta = 0, threshold = "{name}_th.npy", '
                     f'reset = zero) native akida(act_bits = {s.get("act_bits", 1)}, act_step = "{name}_st.npy")')

    for s in layers:
        name, act, pool = s["name"], s.get("activation", True), s.get("pool")
        if s["kind"] in ("inconv", "conv", "sep"):
            F = s["filters"]
            if s["kind"] == "sep":
                dw = s["nc"]["depthwise"]
                k = np.zeros((C, C, *dw.shape[1:]))
                k[np.arange(C), np.arange(C)] = dw
                arrays[f"{name}_dw.npy"] = k
                population(f"{name}_dw", (C, H, W), s, False)
                lines.append(f'connect {pre} -> {name}_dw : conv2d(kernel = "{name}_dw.npy", padding = 1)')
                arrays[f"{name}_k.npy"] = s["nc"]["pointwise"][:, :, None, None].astype(np.float64)
                pre, conn = f"{name}_dw", f'conv2d(kernel = "{name}_k.npy")'
            else:
                arrays[f"{name}_k.npy"] = s["nc"]["kernel"].astype(np.float64)
                conn = f'conv2d(kernel = "{name}_k.npy", padding = 1)'
            if pool is None:
                population(name, (F, H, W), s, act)
                lines.append(f"connect {pre} -> {name} : {conn}")
            elif pool == "max":  # the layer's activations, then the pool passes the largest on
                population(f"{name}_c", (F, H, W), s, act)
                lines.append(f"connect {pre} -> {name}_c : {conn}")
                population(name, (F, H // 2, W // 2), s, False)
                lines.append(f"connect {name}_c -> {name} : max_pool(size = 2)")
                H, W = H // 2, W // 2
            else:  # global average: the engine sums the potentials, then activates
                population(f"{name}_c", (F, H, W), s, False)
                lines.append(f"connect {pre} -> {name}_c : {conn}")
                population(name, (F, 1, 1), s, act)
                lines.append(f"connect {name}_c -> {name} : sum_pool(size = [{H}, {W}])")
                H, W = 1, 1
            C = F
        else:
            arrays[f"{name}_w.npy"] = s["nc"]["weights"].astype(np.float64)
            population(name, (s["units"],), s, act)
            lines.append(f'connect {pre} -> {name} : dense(weights = "{name}_w.npy")')
            C, H, W = s["units"], 1, 1
        out[s["name"]] = (name, act and pool != "max")
        pre = name
    for file, a in arrays.items():
        np.save(tmp_path / file, a)
    return "\n".join(lines) + "\n", out


def neurocomp_outputs(net, m, out, frames: np.ndarray, strict: bool = True) -> dict[str, np.ndarray]:
    """Each layer's output per frame (C-order), from one emulated run of all frames
    (``strict``: stop at a saturation, which the model does not expect)."""
    depth = {"x": 0}
    for p in net.projections:  # feed-forward, in order
        depth[p.post] = max(depth.get(p.post, 0), depth[p.pre] + 1)
    n = frames.shape[0]
    steps = n + max(depth.values()) + 1
    raster = np.zeros((steps, frames[0].size))
    raster[:n] = frames.reshape(n, -1)
    r = emulate(m, steps, {"x": raster}, strict=strict)
    got = {}
    for layer, (pop, events) in out.items():
        d, size = depth[pop], net.populations[pop].size
        if events:
            ev = r.spikes[pop]
            a = np.zeros((steps, size), dtype=np.int64)
            a[ev.times, ev.indices] = ev.values
        else:
            a = r.traces[pop]["voltage"].astype(np.int64)
        got[layer] = a[d:d + n]
    return got


@pytest.mark.parametrize("name", list(spec_models()))
def test_the_engines_layers_give_the_same_integers_in_neurocomp(name, tmp_path):
    in_shape, bits, layers = spec_models()[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    layers = draw(rng, in_shape, layers)
    C, H, W = in_shape
    n = 24
    frames = rng.integers(0, 1 << bits, size=(n, C, H, W))
    if "20-bit" in name:  # frames from sparse to dense: sums below and beyond 2**19
        frames *= rng.random(frames.shape) < rng.random((n, 1, 1, 1))
    first = [] if layers[0]["kind"] == "inconv" else [{"kind": "input", "shape": [H, W, C], "bits": bits}]
    engine_layers = first + [{k: v for k, v in s.items() if k != "nc"} for s in layers]
    theirs = engine({"op": "calibrate", "layers": engine_layers, "frames": frames.transpose(0, 2, 3, 1).tolist()})
    text, out = neurocomp_text(in_shape, layers, theirs["params"], tmp_path)
    (tmp_path / "net.snn").write_text(text)
    net = nc.load(tmp_path / "net.snn")
    m = compile_network(net, load_chip("akida"))
    if "20-bit" in name:  # the engine saturates the summed map at 2**19 - 1: so must neurocomp (with a warning)
        with pytest.warns(RuntimeWarning, match=r"v saturated \d+ times"):
            ours = neurocomp_outputs(net, m, out, frames, strict=False)
    else:
        ours = neurocomp_outputs(net, m, out, frames)
    compared = mismatched = 0
    print(f"\n{name}: layer: integers compared, mismatches, distinct values, nonzero share")
    for s in layers:
        y = theirs["outputs"][s["name"]]
        want = np.asarray(y["values"]).reshape(y["shape"]).transpose(0, 3, 1, 2).reshape(n, -1)
        got = ours[s["name"]]
        bad = int((got != want).sum())
        compared += want.size
        mismatched += bad
        print(f"  {s['name']}: {want.size}, {bad}, {len(np.unique(want))}, {np.mean(want != 0):.0%}")
        np.testing.assert_array_equal(got, want, err_msg=s["name"])
        # Not a vacuous comparison: every layer's output varies.
        assert len(np.unique(want)) > 1, s["name"]
        if "20-bit" in name:  # some sums saturated, some not
            assert np.any(np.isin(want, [2**19 - 1, -2**19])) and np.any(np.abs(want) < 2**19 - 1)
    print(f"  all: {compared} integers, {mismatched} mismatches")


def test_the_digits_example_gives_the_engines_scores():
    # examples/digits_cnn_akida.snn built in the engine from its own data files: the
    # engine's scores, neurocomp's and the integer reference's (make_digits_cnn.py) agree.
    data_dir = Path(__file__).resolve().parents[1] / "examples" / "data"
    arr = {name: np.load(data_dir / f"digits_cnn_{name}.npy") for name in ("k1", "k2", "w3", "th1", "st1", "th2", "st2")}
    with np.load(data_dir / "digits_cnn_test.npz", allow_pickle=False) as d:
        x, reference = d["x"], d["out"]
    per_filter = {k: arr[k].reshape(arr[k].shape[0], -1)[:, 0] for k in ("th1", "st1", "th2", "st2")}
    k1, k2, w3 = (arr[k].astype(np.int64) for k in ("k1", "k2", "w3"))
    layers = [  # act_bits 4: the engine's act_step is ours
        {"kind": "inconv", "name": "in", "shape": [8, 8, 1], "kernel": [3, 3], "filters": 8, "act_bits": 4,
         "pool": "max", "weights": k1.transpose(2, 3, 1, 0).tolist(), "threshold": per_filter["th1"].tolist(),
         "act_step": per_filter["st1"].tolist()},
        {"kind": "conv", "name": "conv", "kernel": [3, 3], "filters": 16, "weights_bits": 4, "act_bits": 4,
         "pool": "max", "weights": k2[:, :, ::-1, ::-1].transpose(2, 3, 1, 0).tolist(),
         "threshold": per_filter["th2"].tolist(), "act_step": per_filter["st2"].tolist()},
        {"kind": "fc", "name": "out", "units": 10, "weights_bits": 4, "activation": False,
         "weights": w3.reshape(10, 16, 2, 2).transpose(1, 3, 2, 0).reshape(-1, 10).tolist()}]
    theirs = np.asarray(engine({"op": "forward", "layers": layers,
                                "frames": x.transpose(0, 2, 3, 1).tolist()})["out"])
    np.testing.assert_array_equal(theirs, reference)
    m = compile_network(nc.load(data_dir.parent / "digits_cnn_akida.snn"), load_chip("akida"))
    n = len(x)
    raster = np.zeros((n + 6, 64))
    raster[:n] = x.reshape(n, -1)
    ours = emulate(m, n + 6, {"pixels": raster}, strict=True).traces["out"]["voltage"][5:5 + n]
    np.testing.assert_array_equal(ours.astype(np.int64), theirs)
    print(f"\ndigits_cnn_akida: {theirs.size} scores of {n} frames, engine = neurocomp = reference")
