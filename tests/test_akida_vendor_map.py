"""neurocomp's Akida NP mapping against BrainChip's own mapper (pip ``akida``, AKD1000).

The engine is never a dependency of neurocomp: it lives in a venv of its own and is
driven in a subprocess (``ENGINE`` below), so these tests are skipped unless
``NEUROCOMP_AKIDA_PYTHON`` names that venv's Python (as ``tests/test_akida_vendor.py``)::

    python3 -m venv /tmp/akida-venv && /tmp/akida-venv/bin/pip install akida==2.19.3
    NEUROCOMP_AKIDA_PYTHON=/tmp/akida-venv/bin/python pytest -m slow -s tests/test_akida_vendor_map.py

Every model is written once as a list of :class:`~neurocomp.targets.akida.mapping.Layer`;
the engine builds the same layers (random non-zero weights), maps them on a virtual
AKD1000 with ``hw_only=True`` (one hardware sequence, as neurocomp maps) in ``AllNps``
(its default) and ``Minimal``, and answers each layer's NPs (kind, filters, memory) or
its refusal. neurocomp's :func:`~neurocomp.targets.akida.mapping.map_layers` must give
the same NP counts and kinds, and refuse the same models. The models the DSL can write
are also compiled from network text, and the compiled Mapping's cores must be the
engine's NPs (``-s`` prints the table).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.compiler.pipeline import compile as compile_network
from neurocomp.diagnostics import CapacityError, NeurocompError
from neurocomp.targets.akida.mapping import Layer, map_layers

from akida_engine import ask, needs_engine

pytestmark = needs_engine

#: Runs in the engine's venv: one JSON request on stdin, one JSON answer on stdout.
ENGINE = r'''
import json, sys
import numpy as np
import akida
from akida import MapMode, Padding, PoolType

MARK = "@@neurocomp@@"


def build(layers):
    m = akida.Model()
    first = layers[0]
    if first["kind"] != "input_conv":
        m.add(akida.InputData(tuple(first["in_shape"]), input_bits=first["in_bits"]))
    for s in layers:
        common = dict(name=s["name"], weights_bits=s["weight_bits"], activation=s["act_bits"] is not None,
                      act_bits=s["act_bits"] or 1)
        if s["kind"] != "dense":
            common.update(kernel_size=tuple(s["kernel"]), kernel_stride=tuple(s["stride"]),
                          padding=Padding.Same if s["same_padding"] else Padding.Valid)
            if s["pool"] == "max":
                common.update(pool_type=PoolType.Max, pool_size=tuple(s["pool_size"]))
            elif s["pool"] == "global_avg":
                common.update(pool_type=PoolType.Average)
        if s["kind"] == "dense":
            m.add(akida.FullyConnected(units=s["filters"], **common))
        elif s["kind"] == "conv":
            m.add(akida.Convolutional(filters=s["filters"], **common))
        elif s["kind"] == "separable":
            m.add(akida.SeparableConvolutional(filters=s["filters"], **common))
        elif s["kind"] == "input_conv":
            m.add(akida.InputConvolutional(input_shape=tuple(s["in_shape"]), filters=s["filters"], **common))
    rng = np.random.default_rng(0)
    for L in m.layers:
        for v in L.get_variable_names():
            if "weights" in v:
                w = L.get_variable(v)
                top = 1 if L.parameters.weights_bits == 1 else 2 ** (L.parameters.weights_bits - 1) - 1
                L.set_variable(v, rng.integers(1, top + 1, size=w.shape).astype(w.dtype))
    return m


def one(layers, mode):
    try:
        m = build(layers)
        m.map(akida.AKD1000(), mode=getattr(MapMode, mode), hw_only=True)
    except Exception as e:
        return {"error": str(e)}
    out = {}
    for L in m.layers:
        if L.mapping is None:
            continue
        out[L.name] = [{"kind": str(n.type).split(".")[-1], "filters": n.filters,
                        "weight": n.mem_info.weight_size, "external": n.mem_info.external_size}
                       for n in L.mapping.nps]
    return {"layers": out}


req = json.loads(sys.stdin.read())
answer = {name: {mode: one(layers, mode) for mode in ("AllNps", "Minimal")}
          for name, layers in req["models"].items()}
print(MARK + json.dumps(answer))
'''


def engine(models: dict[str, list[Layer]]) -> dict:
    request = {"models": {name: [_spec(x) for x in layers] for name, layers in models.items()}}
    return ask(ENGINE, request, timeout=900)


def _spec(layer: Layer) -> dict:
    return {"name": layer.name, "kind": layer.kind, "in_shape": list(layer.in_shape), "filters": layer.filters,
            "kernel": list(layer.kernel), "stride": list(layer.stride), "same_padding": layer.same_padding,
            "weight_bits": layer.weight_bits, "in_bits": layer.in_bits, "act_bits": layer.act_bits,
            "pool": layer.pool, "pool_size": list(layer.pool_size)}


def fc(name, n_in, units, act=1, in_bits=1):
    return Layer(name=name, kind="dense", in_shape=(1, 1, n_in), filters=units, act_bits=act, in_bits=in_bits)


def conv(name, x, y, c, filters, k=3, kind="conv", **kw):
    return Layer(name=name, kind=kind, in_shape=(x, y, c), filters=filters, kernel=(k, k), **kw)


def chain_fc(sizes):
    return [fc(f"fc{i + 1}", a, b, act=None if i == len(sizes) - 2 else 1) for i, (a, b) in
            enumerate(zip(sizes, sizes[1:]))]


#: name -> the model's layers (the vendor's order: the first layer reads the input).
MODELS: dict[str, list[Layer]] = {
    "mlp 784-256-10": chain_fc([784, 256, 10]),
    "mlp 4096-2048-2048-10": chain_fc([4096, 2048, 2048, 10]),
    "conv 16x16x8: conv 32 + conv 64 with global average pool + fc 10": [
        conv("c1", 16, 16, 8, 32), conv("c2", 16, 16, 32, 64, pool="global_avg"), fc("fc", 64, 10, act=None)],
    "conv 32x32x8 with 2x2 max pool, then conv 64": [
        conv("c1", 32, 32, 8, 32, pool="max", pool_size=(2, 2)), conv("c2", 16, 16, 32, 64)],
    "separable conv 3x3 16x16x16 -> 32": [conv("s", 16, 16, 16, 32, kind="separable")],
    "separable conv 5x5 16x16x64 -> 512": [conv("s", 16, 16, 64, 512, k=5, kind="separable")],
    "conv + separable + conv with pooling + fc": [
        conv("c", 32, 32, 8, 32), conv("s", 32, 32, 32, 64, kind="separable", pool="max", pool_size=(2, 2)),
        conv("c2", 16, 16, 64, 32, pool="global_avg"), fc("f", 32, 10, act=None)],
    "input conv (HRC) 32x32x3 + conv": [
        conv("ic", 32, 32, 3, 16, kind="input_conv", weight_bits=8, in_bits=8, pool="max", pool_size=(2, 2)),
        conv("c", 16, 16, 16, 32)],
    "conv 64x64x8 -> 128 (2 spatial partitions)": [conv("c", 64, 64, 8, 128)],
    "conv 300x16x8 -> 16 (10 spatial partitions)": [conv("c", 300, 16, 8, 16)],
    "three convs sharing the mesh": [conv("c1", 32, 32, 8, 64), conv("c2", 32, 32, 64, 64), conv("c3", 32, 32, 64, 32)],
    "conv 200 filters + fc 200 (FNP2) + fc 10": [conv("c1", 16, 16, 8, 200), fc("fc", 16 * 16 * 200, 200),
                                                 fc("fc2", 200, 10, act=None)],
    "conv 16x16x8 -> 1024 filters": [conv("c", 16, 16, 8, 1024)],
    "twenty small fc (FNP3, then FNP2 slots)": [fc(f"f{i}", 64, 64) for i in range(20)],
    # models that do not fit on one AKD1000 in one sequence
    "six fc 1024 (6 FNP2 needed, 4 exist)": [fc(f"fc{i}", 1024, 1024) for i in range(6)],
    "eighty convs (more CNPs than the mesh)": [conv(f"c{i}", 16, 16, 8 if i == 0 else 64, 64) for i in range(80)],
    "fc with 200,000 inputs": [fc("fc", 200_000, 10)],
    # the vendor's layer rules
    "padding valid": [conv("c", 16, 16, 8, 16, same_padding=False)],
    "max pool 3": [conv("c", 16, 16, 8, 16, pool="max", pool_size=(3, 3)), conv("c2", 16, 16, 16, 16)],
    "max pool last": [conv("c", 16, 16, 8, 16, pool="max", pool_size=(2, 2))],
    "stride 2 on 5x5": [conv("c", 16, 16, 8, 16, k=5, stride=(2, 2))],
    "kernel 9": [conv("c", 16, 16, 8, 16, k=9)],
    "input conv of 8 channels": [conv("ic", 32, 32, 8, 16, kind="input_conv", weight_bits=8, in_bits=8)],
    "conv of 449 channels of 4-bit weights": [conv("c", 8, 8, 449, 16)],
    "global average pooling over 64 rows": [conv("c", 64, 16, 8, 16, pool="global_avg")],
    "global average pooling over 16 x 64": [conv("c", 16, 64, 8, 16, pool="global_avg")],
    "input conv of 4 x 4": [conv("ic", 4, 4, 1, 16, kind="input_conv", weight_bits=8, in_bits=8)],
    "input conv 5x5 of 65 filters on 3 channels": [conv("ic", 32, 32, 3, 65, k=5, kind="input_conv",
                                                        weight_bits=8, in_bits=8)],
    "input conv 300 x 16 (HRC)": [conv("ic", 300, 16, 1, 16, kind="input_conv", weight_bits=8, in_bits=8)],
    "input conv 16 x 300": [conv("ic", 16, 300, 1, 16, kind="input_conv", weight_bits=8, in_bits=8)],
    "conv 16x16x64 -> 512 (weight memory bounds Minimal)": [conv("c", 16, 16, 64, 512)],
}
MODE = {"AllNps": "all_nps", "Minimal": "minimal"}


def ours(layers: list[Layer], mode: str):
    try:
        plan = map_layers(tuple(layers), load_chip("akida"), mode)
    except NeurocompError as err:
        return err
    return plan


@pytest.fixture(scope="module")
def theirs() -> dict:
    return engine(MODELS)


def _kinds(nps) -> dict[str, int]:
    return dict(sorted(collections.Counter(n["kind"] if isinstance(n, dict) else n.kind for n in nps).items()))


def test_np_counts_kinds_and_verdicts_equal_the_vendors_mapper(theirs):
    rows, wrong = [], []
    for name, layers in MODELS.items():
        for vmode, mode in MODE.items():
            t = theirs[name][vmode]
            o = ours(layers, mode)
            if "error" in t or isinstance(o, Exception):
                verdict_t = "refused" if "error" in t else "fits"
                verdict_o = "refused" if isinstance(o, Exception) else "fits"
                rows.append((name, vmode, t.get("error", "fits")[:70], str(o).splitlines()[0][:70]
                             if isinstance(o, Exception) else "fits"))
                if verdict_t != verdict_o:
                    wrong.append((name, vmode, verdict_t, verdict_o))
                continue
            for layer in layers:
                a = _kinds(t["layers"][layer.name])
                b = _kinds(o.of_layer(layer.name))
                rows.append((name, vmode, f"{layer.name}: {a}", f"{b}"))
                if a != b:
                    wrong.append((name, vmode, layer.name, a, b))
                # the filters each NP runs, as a multiset (the HRC reports none)
                fa = sorted(n["filters"] for n in t["layers"][layer.name] if n["kind"] != "HRC")
                fb = sorted(n.filters for n in o.of_layer(layer.name) if n.kind != "HRC")
                if fa != fb:
                    wrong.append((name, vmode, layer.name, "filters", fa[:8], fb[:8]))
    print("\nmodel | mode | vendor | neurocomp")
    for r in rows:
        print(" | ".join(r))
    assert not wrong, wrong


def test_refusals_name_the_vendors_rule(theirs):
    # The same rule in both messages (the vendor's words, lower case).
    words = {"padding valid": "padding same", "max pool 3": "pooling size", "kernel 9": "kernel size must be",
             "stride 2 on 5x5": "stride 2 is only supported for 3x3", "max pool last": "max pooling",
             "input conv of 8 channels": "input_channels must be 1 or 3",
             "six fc 1024 (6 FNP2 needed, 4 exist)": "fnp2", "fc with 200,000 inputs": "too large to fit in a fnp",
             "conv of 449 channels of 4-bit weights": "filter size is too big to fit in a cnp",
             "global average pooling over 64 rows": "with average pooling, input height cannot exceed 32",
             "input conv 5x5 of 65 filters on 3 channels": "num_neurons should be set between 1 and 64",
             "input conv 16 x 300": "maximum input second dimension size is 256"}
    for name, word in words.items():
        t = theirs[name]["Minimal"]
        o = ours(MODELS[name], "minimal")
        assert "error" in t and word in t["error"].lower(), (name, t)
        assert isinstance(o, Exception) and word in str(o).lower(), (name, o)


def test_fully_connected_memory_equals_the_vendors(theirs):
    """FNP weight and external bytes are the vendor's to the byte (its mem_info)."""
    for name in ("mlp 784-256-10", "mlp 4096-2048-2048-10", "conv 200 filters + fc 200 (FNP2) + fc 10"):
        plan = ours(MODELS[name], "all_nps")
        for layer in MODELS[name]:
            if layer.kind != "dense":
                continue
            (t,) = theirs[name]["AllNps"]["layers"][layer.name]
            (o,) = plan.of_layer(layer.name)
            assert (o.weight_bytes, o.external_bytes) == (t["weight"], t["external"]), (name, layer.name)


# --------------------------------------------------------------------------- through the compiler


def _ints(rng, shape):
    w = rng.integers(-7, 8, size=shape)
    w[w == 0] = 1
    return w.astype(np.float64)


DSL = {
    "mlp 784-256-10": ("""network m
dt = 1 ms
input x[784] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population fc1[256] : LIF(beta = 0, threshold = 3)
population fc2[10] : LI(beta = 0)
connect x -> fc1 : dense(weights = "w1.npy")
connect fc1 -> fc2 : dense(weights = "w2.npy")
""", lambda r: {"w1.npy": _ints(r, (256, 784)), "w2.npy": _ints(r, (10, 256))}),
    "mlp 4096-2048-2048-10": ("""network big
dt = 1 ms
input x[4096] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population fc1[2048] : LIF(beta = 0, threshold = 3)
population fc2[2048] : LIF(beta = 0, threshold = 3)
population fc3[10] : LI(beta = 0)
connect x -> fc1 : dense(weights = "w1.npy")
connect fc1 -> fc2 : dense(weights = "w2.npy")
connect fc2 -> fc3 : dense(weights = "w3.npy")
""", lambda r: {"w1.npy": _ints(r, (2048, 4096)), "w2.npy": _ints(r, (2048, 2048)), "w3.npy": _ints(r, (10, 2048))}),
    "conv 16x16x8: conv 32 + conv 64 with global average pool + fc 10": ("""network c
dt = 1 ms
input x[8, 16, 16] : rate(value = 0.5, max_rate = 1000 Hz, seed = 1)
population c1[32, 16, 16] : LIF(beta = 0, threshold = 3)
population c2[64, 16, 16] : LIF(beta = 0, threshold = 3)
population gap[64, 1, 1] : LIF(beta = 0, threshold = 0.5)
population fc[10] : LI(beta = 0)
connect x -> c1 : conv2d(kernel = "k1.npy", padding = 1)
connect c1 -> c2 : conv2d(kernel = "k2.npy", padding = 1)
connect c2 -> gap : avg_pool(size = 16, stride = 16)
connect gap -> fc : dense(weights = "w.npy")
""", lambda r: {"k1.npy": _ints(r, (32, 8, 3, 3)), "k2.npy": _ints(r, (64, 32, 3, 3)), "w.npy": _ints(r, (10, 64))}),
    "six fc 1024 (6 FNP2 needed, 4 exist)": ("network six\ndt = 1 ms\ninput fc0in[1024] : rate(value = 0.5, "
                                             "max_rate = 1000 Hz, seed = 1)\n"
                                             + "".join(f"population fc{i}[1024] : LIF(beta = 0, threshold = 3)\n"
                                                       for i in range(6))
                                             + "connect fc0in -> fc0 : dense(weights = \"w.npy\")\n"
                                             + "".join(f"connect fc{i} -> fc{i + 1} : dense(weights = \"w.npy\")\n"
                                                       for i in range(5)),
                                             lambda r: {"w.npy": _ints(r, (1024, 1024))}),
}


@pytest.mark.parametrize("name", list(DSL))
@pytest.mark.parametrize("vmode", list(MODE))
def test_compiled_networks_take_the_vendors_nps(name, vmode, theirs, tmp_path):
    text, arrays = DSL[name]
    for f, a in arrays(np.random.default_rng(0)).items():
        np.save(tmp_path / f, a)
    (tmp_path / "net.snn").write_text(text)
    t = theirs[name][vmode]
    net = nc.load(tmp_path / "net.snn")
    if "error" in t:
        with pytest.raises(CapacityError):
            nc.compile(net, chip="akida", partition=MODE[vmode])
        return
    m = compile_network(net, load_chip("akida"), passes=None) if vmode == "AllNps" else \
        nc.compile(net, chip="akida", partition="minimal")
    kinds = m.compile_report["processor_kinds"]
    got: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for core in m.cores:
        pops = {s.population for s in core.slices}
        layer = next(p for p in pops if p in t["layers"]) if pops & set(t["layers"]) else None
        assert layer is not None and len(pops - {"gap"}) == 1, pops  # one layer per NP (its pooling with it)
        got[layer][kinds[str(core.core_id)]] += 1
    for layer, nps in t["layers"].items():
        assert dict(got[layer]) == _kinds(nps), (layer, dict(got[layer]), _kinds(nps))
