"""Train a small CNN on the 8x8 digits and quantize it the Akida way for ``digits_cnn_akida.snn``.

The digits are scikit-learn's bundled ``load_digits`` (1797 8x8 images, pixels 0..16),
shown to the chip as 8-bit frames: ``pixel · 15`` (0..240). 360 images (seeded shuffle)
are held out for the test.

1. Float CNN, plain numpy (Adam, seeded mini-batches):
   ``conv 3x3 (1 -> 8) + bias, ReLU, max pool 2`` -> ``conv 3x3 (8 -> 16) + bias, ReLU,
   max pool 2`` -> ``dense 64 -> 10`` (no bias; the class is the largest output).
   The last epochs train quantization-aware: activations rounded to a 4-bit grid of
   step ``A = 1`` and weights to their integer grids (below), gradients passed straight
   through, so that the chip's widths cost little accuracy.
2. Quantization as the chip stores it (docs/chips/akida_neuron.md):
   * weights: the input convolution 8-bit (``round(w / s)``, ``s = max|w| / 127``), the
     other two 4-bit (``s = max|w| / 7``);
   * activations: 4 bits; a layer's float activation ``a`` is ``q · A`` with
     ``q = 0..15`` and ``A`` the grid it was trained on. With the integer potential ``p = Σ w_int · input_int`` the float pre-activation
     is ``z = u · p + b`` (``u`` the layer's unit: weight step times input step), so
     ``q = round(z / A)`` is the chip's ``clip(ceil((p - θ) / S), 0, 15)`` with
     ``S = round(A / u)`` (the activation step, per filter) and
     ``θ = round(S / 2 - b / u)`` (the threshold: a bias is a negative threshold);
   * the read-out: the potentials of the last layer (activation off).
3. The integer reference: the same integers in plain numpy (cross-correlation with zero
   padding, ``ceil`` activation, max pool), the class is the first largest potential.
   ``tests/test_examples.py`` checks that neurocomp's Akida emulation gives these
   potentials for every test image, integer for integer.

Writes ``digits_cnn_k1.npy`` [8, 1, 3, 3], ``digits_cnn_k2.npy`` [16, 8, 3, 3],
``digits_cnn_w3.npy`` [10, 64] (integers, float32), ``digits_cnn_th1.npy`` and
``digits_cnn_st1.npy`` [8, 8, 8], ``digits_cnn_th2.npy`` and ``digits_cnn_st2.npy``
[16, 4, 4] (per neuron: one value per filter, repeated), ``digits_cnn_digit.npy``
[1, 8, 8] (test image 0) and ``digits_cnn_test.npz`` (``x`` [360, 1, 8, 8] uint8, ``y``
[360], ``out`` [360, 10] int64: the integer reference's potentials).

Run: ``python examples/scripts/make_digits_cnn.py [--out DIR]`` (needs scikit-learn).
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from _common import parse_args, save_npy, save_npz

SEED = 0
N_TEST = 360
EPOCHS = 30
QAT_EPOCHS = 10  # of EPOCHS, the last ones with activations on the 4-bit grid
BATCH = 32
LEARNING_RATE = 2e-3
PIXEL = 15  # 8-bit frame = pixel (0..16) * 15
ACT_LEVELS = 15  # 4-bit activations
QAT_STEP = 1.0  # the activation grid (in float units) while training, and on the chip


# --------------------------------------------------------------------------- numpy CNN


def im2col(x: np.ndarray) -> np.ndarray:
    """[n, c, h, w] -> [n, h, w, c·9]: the 3x3 windows (zero padding 1)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=-1)
    return cols.transpose(0, 2, 3, 1, 4).reshape(n, h, w, c * 9)


def col2im(g: np.ndarray, c: int) -> np.ndarray:
    """The adjoint of :func:`im2col`: [n, h, w, c·9] -> [n, c, h, w]."""
    n, h, w, _ = g.shape
    g = g.reshape(n, h, w, c, 9).transpose(0, 3, 1, 2, 4)
    out = np.zeros((n, c, h + 2, w + 2), dtype=g.dtype)
    for k in range(9):
        i, j = divmod(k, 3)
        out[:, :, i:i + h, j:j + w] += g[..., k]
    return out[:, :, 1:-1, 1:-1]


def conv(x: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-correlation (PyTorch's conv2d, padding 1): [n, c, h, w] * [f, c, 3, 3]."""
    cols = im2col(x)
    return (cols @ k.reshape(k.shape[0], -1).T).transpose(0, 3, 1, 2), cols


def pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max pool 2x2, and which entry of each window won (the first largest)."""
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = win.argmax(axis=-1)
    return np.take_along_axis(win, arg[..., None], axis=-1)[..., 0], arg


def unpool(g: np.ndarray, arg: np.ndarray) -> np.ndarray:
    n, c, h, w = g.shape
    out = np.zeros((n, c, h, w, 4), dtype=g.dtype)
    np.put_along_axis(out, arg[..., None], g[..., None], axis=-1)
    return out.reshape(n, c, h, w, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * h, 2 * w)


def act(z: np.ndarray, grid: float | None) -> np.ndarray:
    """ReLU; on a grid (4-bit, step ``grid``) while training quantization-aware."""
    a = np.maximum(z, 0.0)
    return a if grid is None else np.minimum(np.round(a / grid), ACT_LEVELS) * grid


def fake_quant(w: np.ndarray, top: int) -> np.ndarray:
    """``w`` on its integer grid (``round(w / s) · s``, ``s = max|w| / top``)."""
    s = np.abs(w).max() / top
    return np.rint(w / s) * s


def forward(p: dict, x: np.ndarray, grid: float | None = None) -> tuple[np.ndarray, dict]:
    if grid is not None:  # quantization-aware: the weights on the chip's grids too
        p = {**p, "k1": fake_quant(p["k1"], 127), "k2": fake_quant(p["k2"], 7), "w3": fake_quant(p["w3"], 7)}
    z1, c1 = conv(x, p["k1"])
    z1 = z1 + p["b1"][None, :, None, None]
    a1 = act(z1, grid)
    m1, g1 = pool(a1)
    z2, c2 = conv(m1, p["k2"])
    z2 = z2 + p["b2"][None, :, None, None]
    a2 = act(z2, grid)
    m2, g2 = pool(a2)
    f = m2.reshape(len(x), -1)
    return f @ p["w3"].T, dict(c1=c1, z1=z1, g1=g1, m1=m1, c2=c2, z2=z2, g2=g2, f=f, k2=p["k2"], w3=p["w3"])


def gradients(p: dict, x: np.ndarray, y: np.ndarray, grid: float | None) -> dict:
    logits, s = forward(p, x, grid)
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    prob[np.arange(len(y)), y] -= 1.0
    g = prob / len(y)
    grads = {"w3": g.T @ s["f"]}
    gm2 = (g @ s["w3"]).reshape(s["z2"].shape[0], -1, 2, 2)
    # Straight through the grid: the ReLU's gradient, clipped at the top level.
    top = np.inf if grid is None else ACT_LEVELS * grid
    gz2 = unpool(gm2, s["g2"]) * ((s["z2"] > 0) & (s["z2"] < top))
    grads["b2"] = gz2.sum(axis=(0, 2, 3))
    gz2c = gz2.transpose(0, 2, 3, 1)
    grads["k2"] = np.einsum("nhwf,nhwk->fk", gz2c, s["c2"]).reshape(p["k2"].shape)
    gm1 = col2im(gz2c @ s["k2"].reshape(p["k2"].shape[0], -1), p["k2"].shape[1])
    gz1 = unpool(gm1, s["g1"]) * ((s["z1"] > 0) & (s["z1"] < top))
    grads["b1"] = gz1.sum(axis=(0, 2, 3))
    grads["k1"] = np.einsum("nhwf,nhwk->fk", gz1.transpose(0, 2, 3, 1), s["c1"]).reshape(p["k1"].shape)
    return grads


def train(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> dict:
    p = {"k1": rng.normal(0, np.sqrt(2 / 9), (8, 1, 3, 3)), "b1": np.zeros(8),
         "k2": rng.normal(0, np.sqrt(2 / 72), (16, 8, 3, 3)), "b2": np.zeros(16),
         "w3": rng.normal(0, np.sqrt(1 / 64), (10, 64))}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(a) for k, a in p.items()}
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    for epoch in range(EPOCHS):
        grid = QAT_STEP if epoch >= EPOCHS - QAT_EPOCHS else None
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start:start + BATCH]
            g = gradients(p, x[idx], y[idx], grid)
            step += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
                p[k] -= LEARNING_RATE * (m[k] / (1 - b1 ** step)) / (np.sqrt(v[k] / (1 - b2 ** step)) + eps)
    return p


# --------------------------------------------------------------------------- the chip's integers


def integer_layer(p_int: np.ndarray, theta: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The chip's 4-bit activation per filter (axis 1): clip(ceil((p - θ) / S), 0, 15)."""
    d = p_int - theta[None, :, None, None]
    s = step[None, :, None, None]
    return np.clip(-(-d // s), 0, ACT_LEVELS) * (d > 0)


def integer_reference(q: dict, x8: np.ndarray) -> np.ndarray:
    """The read-out's potentials [n, 10] of the integer network for 8-bit frames [n, 1, 8, 8]."""
    p1 = conv(x8.astype(np.int64), q["k1"])[0]
    a1 = pool(integer_layer(p1, q["th1"], q["st1"]))[0]
    p2 = conv(a1, q["k2"])[0]
    a2 = pool(integer_layer(p2, q["th2"], q["st2"]))[0]
    return a2.reshape(len(x8), -1) @ q["w3"].T


def quantize(p: dict) -> dict:
    """The integers of the module docstring."""
    def levels(w, top):
        s = np.abs(w).max() / top
        return np.rint(w / s).astype(np.int64), s

    k1, s1 = levels(p["k1"], 127)
    k2, s2 = levels(p["k2"], 7)
    w3, _ = levels(p["w3"], 7)
    a_1 = a_2 = QAT_STEP
    u1 = s1 / 255.0  # the float input is the 8-bit frame / 255
    step1 = max(1, round(a_1 / u1))
    u2 = s2 * a_1
    step2 = max(1, round(a_2 / u2))
    q = {"k1": k1, "k2": k2, "w3": w3,
         "st1": np.full(8, step1, dtype=np.int64), "th1": np.rint(step1 / 2 - p["b1"] / u1).astype(np.int64),
         "st2": np.full(16, step2, dtype=np.int64), "th2": np.rint(step2 / 2 - p["b2"] / u2).astype(np.int64)}
    return q


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    x8 = (digits.images.astype(np.int64) * PIXEL).astype(np.uint8)[:, None]  # [n, 1, 8, 8]
    y = digits.target.astype(np.int64)
    order = rng.permutation(len(y))
    test, tr = order[:N_TEST], order[N_TEST:]
    xf = x8.astype(np.float64) / 255.0
    p = train(xf[tr], y[tr], rng)
    acc_float = np.mean(forward(p, xf[test])[0].argmax(axis=1) == y[test])
    acc_grid = np.mean(forward(p, xf[test], QAT_STEP)[0].argmax(axis=1) == y[test])
    q = quantize(p)
    out = integer_reference(q, x8[test])
    acc_int = np.mean(out.argmax(axis=1) == y[test])
    print(f"accuracy on {N_TEST} test digits: float {acc_float:.1%}, float on the 4-bit grid {acc_grid:.1%}, "
          f"integer (8-bit input, 8/4/4-bit weights, 4-bit activations) {acc_int:.1%}")
    print(f"activation steps: {int(q['st1'][0])}, {int(q['st2'][0])}; thresholds "
          f"{q['th1'].min()}..{q['th1'].max()}, {q['th2'].min()}..{q['th2'].max()}")
    f32 = np.float32
    save_npy(args.out / "digits_cnn_k1.npy", q["k1"].astype(f32))
    save_npy(args.out / "digits_cnn_k2.npy", q["k2"].astype(f32))
    save_npy(args.out / "digits_cnn_w3.npy", q["w3"].astype(f32))
    for layer, hw in (("1", 8), ("2", 4)):
        for kind in ("th", "st"):
            per_neuron = np.repeat(q[f"{kind}{layer}"], hw * hw).reshape(-1, hw, hw)
            save_npy(args.out / f"digits_cnn_{kind}{layer}.npy", per_neuron.astype(f32))
    save_npy(args.out / "digits_cnn_digit.npy", x8[test[0]].astype(f32))
    save_npz(args.out / "digits_cnn_test.npz", x=x8[test], y=y[test], out=out.astype(np.int64))


if __name__ == "__main__":
    main()
