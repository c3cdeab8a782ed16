"""Simulate the statistics of ``brunel.snn`` in plain numpy and print the firing rates.

Writes no data: ``brunel.snn`` needs none. This is an independent check that the
network's parameters give the ~11 Hz asynchronous state of the canonical E/I network,
with its own random draws (the compiler draws ``random(...)`` with the file's seeds, so
its spikes differ; its rates should agree within a few percent).

The model, as in ``neurocomp/ir/network.py`` with ``alpha = 0``: ``V = 0.9 V + x``,
spike when ``V > 1``, reset to zero; a spike at step ``t`` arrives at ``t + 1``.

Run: ``python examples/scripts/check_brunel.py [--steps 1000] [--seed 0]`` (~1 s).
"""

from __future__ import annotations

import argparse

import numpy as np

N_EXC, N_INH, N_EXT = 8000, 2000, 2500
P_REC, P_EXT = 100 / (N_EXC + N_INH), 25 / N_EXT
W_EXT, W_EXC, W_INH = 0.12, 0.04, -0.20
BETA, THRESHOLD = 0.9, 1.0
EXT_RATE_HZ, DT_S = 20.0, 1e-3


def random_csr(rng: np.random.Generator, n_pre: int, n_post: int, p: float,
               allow_self: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli(p) synapses as CSR by presynaptic neuron: (indptr, post indices)."""
    rows = []
    for start in range(0, n_pre, 500):
        block = rng.random((min(500, n_pre - start), n_post)) < p
        if not allow_self:
            i = np.arange(start, start + len(block))
            block[i - start, i] = False
        rows.extend(np.flatnonzero(r).astype(np.int32) for r in block)
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    return indptr, np.concatenate(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = N_EXC + N_INH
    # Neurons 0..7999 are excitatory, 8000..9999 inhibitory: the recurrent projections of
    # brunel.snn together are one Bernoulli(p_rec) matrix without self-loops.
    rec_ptr, rec_idx = random_csr(rng, n, n, P_REC, allow_self=False)
    ext_ptr, ext_idx = random_csr(rng, N_EXT, n, P_EXT, allow_self=True)
    rec_w = np.where(np.repeat(np.arange(n), np.diff(rec_ptr)) < N_EXC, W_EXC, W_INH)

    v = np.zeros(n, dtype=np.float64)
    x = np.zeros(n, dtype=np.float64)              # input arriving at this step
    counts = np.zeros(n, dtype=np.int64)
    p_ext = EXT_RATE_HZ * DT_S
    for _ in range(args.steps):
        v = BETA * v + x
        fired = np.flatnonzero(v > THRESHOLD)
        v[fired] = 0.0
        counts[fired] += 1
        ext = np.flatnonzero(rng.random(N_EXT) < p_ext)
        x = np.zeros(n, dtype=np.float64)
        for ptr, idx, src, w in ((rec_ptr, rec_idx, fired, rec_w), (ext_ptr, ext_idx, ext, None)):
            if len(src) == 0:
                continue
            sel = np.concatenate([np.arange(ptr[i], ptr[i + 1]) for i in src])
            weights = W_EXT if w is None else w[sel]
            x += np.bincount(idx[sel], weights=np.broadcast_to(weights, sel.shape), minlength=n)

    seconds = args.steps * DT_S
    rate = counts / seconds
    print(f"{args.steps} steps, {rec_idx.size} recurrent and {ext_idx.size} input synapses")
    print(f"mean rate: all {rate.mean():.2f} Hz, exc {rate[:N_EXC].mean():.2f} Hz, "
          f"inh {rate[N_EXC:].mean():.2f} Hz; silent neurons {np.mean(counts == 0):.3f}")


if __name__ == "__main__":
    main()
