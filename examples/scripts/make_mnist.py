"""Train a 784-128-10 MLP on upscaled digits and convert it to the SNN of ``mnist_mlp.snn``.

MNIST cannot be downloaded here, so the digits are scikit-learn's bundled 8x8
``load_digits`` (1797 images, shipped inside the package) upscaled to 28x28 by
bilinear interpolation and clipped to [0, 1].

1. Split: 200 images (seeded shuffle) are held out as the test set, the rest train.
2. ANN: ``h = relu(W1 x)``, ``logits = W2 h``, no biases (so the SNN needs none);
   plain numpy, Adam on the softmax cross-entropy, seeded mini-batches.
3. Conversion (data-based max-activation normalisation, Diehl et al. 2015; Rueckauer
   et al. 2017 use a high percentile instead of the max for robustness): with input
   spike probability ``p = x * p_max`` per step (``p_max = max_rate * dt``), IF neurons
   with threshold 1 fire at about ``rate = a / lambda`` when each
   layer's weights are scaled as ``W1' = W1 / (lambda1 * p_max)`` and
   ``W2' = W2 * lambda1 / lambda2``, where ``lambda_l`` is the 99.9th percentile of
   layer ``l``'s positive activations on the training set.
4. Check: a numpy simulation of the converted SNN on the test set (Bernoulli input,
   spike at t arrives at t + 1, IF with reset to zero, as Loihi resets; the class is the
   output neuron with the most spikes). Reset to zero drops what a neuron had above
   the threshold, so rates fall a little below ``a / lambda``; the class is unchanged.

Writes ``mnist_w1.npy`` [128, 784] and ``mnist_w2.npy`` [10, 128] (float32,
``[post, pre]``), ``digit.npy`` [784] (one test digit, float32 in [0, 1]) and
``mnist_test.npz`` (``x`` [200, 784] float32, ``y`` [200] int64).

Run: ``python examples/scripts/make_mnist.py [--out DIR]`` (needs scikit-learn, scipy).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import zoom
from sklearn.datasets import load_digits

from _common import parse_args, save_npy, save_npz

SEED = 0
N_TEST = 200
N_HIDDEN = 128
EPOCHS = 40
BATCH = 32
LEARNING_RATE = 1e-3
PERCENTILE = 99.9

# Must match mnist_mlp.snn: rate(max_rate = MAX_RATE_HZ) with dt = DT_S.
MAX_RATE_HZ = 1000.0
DT_S = 1e-3
P_MAX = MAX_RATE_HZ * DT_S

SNN_STEPS = 100
SNN_SEED = 1


def load_images() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 digits upscaled to 28x28, flattened: x [1797, 784] float32, y int64."""
    digits = load_digits()
    small = digits.images.astype(np.float64) / 16.0            # [n, 8, 8] in [0, 1]
    big = zoom(small, (1, 28 / 8, 28 / 8), order=1)            # [n, 28, 28], bilinear
    x = np.clip(big, 0.0, 1.0).reshape(len(small), 28 * 28).astype(np.float32)
    return x, digits.target.astype(np.int64)


def train(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A no-bias ReLU MLP; returns ``W1`` [128, 784] and ``W2`` [10, 128] (float64)."""
    n_in, n_out = x.shape[1], 10
    params = [rng.normal(0.0, np.sqrt(2.0 / n_in), (N_HIDDEN, n_in)),
              rng.normal(0.0, np.sqrt(1.0 / N_HIDDEN), (n_out, N_HIDDEN))]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    x64 = x.astype(np.float64)
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start:start + BATCH]
            xb, yb = x64[idx], y[idx]
            w1, w2 = params
            h = np.maximum(xb @ w1.T, 0.0)
            logits = h @ w2.T
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            prob[np.arange(len(idx)), yb] -= 1.0                # d loss / d logits
            g_logits = prob / len(idx)
            g_w2 = g_logits.T @ h
            g_h = (g_logits @ w2) * (h > 0)
            g_w1 = g_h.T @ xb
            step += 1
            for p, (m, v), g in zip(params, moments, (g_w1, g_w2)):
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                p -= LEARNING_RATE * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
    return params[0], params[1]


def convert(w1: np.ndarray, w2: np.ndarray, x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale the weights so that IF neurons with threshold 1 fire at a / lambda."""
    h = np.maximum(x_train.astype(np.float64) @ w1.T, 0.0)
    out = h @ w2.T
    lam1 = np.percentile(h[h > 0], PERCENTILE)
    lam2 = np.percentile(out[out > 0], PERCENTILE)
    print(f"normalisation: lambda1 = {lam1:.4f}, lambda2 = {lam2:.4f} "
          f"({PERCENTILE}th percentile of positive activations)")
    return w1 / (lam1 * P_MAX), w2 * lam1 / lam2


def simulate_snn(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, steps: int,
                 seed: int) -> np.ndarray:
    """Output spike counts [n, 10] of the converted SNN (float64 reference, IF, reset to zero)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    w1, w2 = w1.astype(np.float64), w2.astype(np.float64)
    v1 = np.zeros((n, w1.shape[0]))
    v2 = np.zeros((n, w2.shape[0]))
    s_in = np.zeros((n, w1.shape[1]))           # input spikes emitted at t - 1
    s1 = np.zeros((n, w1.shape[0]))             # hidden spikes emitted at t - 1
    counts = np.zeros((n, w2.shape[0]), dtype=np.int64)
    p = np.clip(x.astype(np.float64), 0.0, 1.0) * P_MAX
    for _ in range(steps):
        v1 += s_in @ w1.T
        v2 += s1 @ w2.T
        new1 = v1 > 1.0
        v1[new1] = 0.0
        new2 = v2 > 1.0
        v2[new2] = 0.0
        counts += new2
        s1 = new1.astype(np.float64)
        s_in = (rng.random(p.shape) < p).astype(np.float64)
    return counts


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rng = np.random.default_rng(SEED)
    x, y = load_images()
    order = rng.permutation(len(x))
    test, tr = order[:N_TEST], order[N_TEST:]
    x_train, y_train, x_test, y_test = x[tr], y[tr], x[test], y[test]

    w1, w2 = train(x_train, y_train, rng)
    ann = lambda xs: np.argmax(np.maximum(xs.astype(np.float64) @ w1.T, 0) @ w2.T, axis=1)
    acc_train = np.mean(ann(x_train) == y_train)
    acc_test = np.mean(ann(x_test) == y_test)
    print(f"ANN accuracy: train {acc_train:.4f} ({len(x_train)}), test {acc_test:.4f} ({N_TEST})")

    s1, s2 = convert(w1, w2, x_train)
    s1, s2 = s1.astype(np.float32), s2.astype(np.float32)
    counts = simulate_snn(s1, s2, x_test, SNN_STEPS, SNN_SEED)
    snn = np.argmax(counts, axis=1)
    silent = np.mean(counts.max(axis=1) == 0)
    print(f"SNN accuracy ({SNN_STEPS} steps, max_rate {MAX_RATE_HZ:g} Hz): "
          f"{np.mean(snn == y_test):.4f}; test images with no output spike: {silent:.3f}")
    for steps in (25, 50, 200):
        c = simulate_snn(s1, s2, x_test, steps, SNN_SEED)
        print(f"    {steps:4d} steps: {np.mean(np.argmax(c, axis=1) == y_test):.4f}")

    save_npy(args.out / "mnist_w1.npy", s1)
    save_npy(args.out / "mnist_w2.npy", s2)
    save_npy(args.out / "digit.npy", x_test[0])
    save_npz(args.out / "mnist_test.npz", x=x_test, y=y_test)
    print(f"digit.npy: test image 0, label {int(y_test[0])}")


if __name__ == "__main__":
    main()
