"""Write ``stdp_input.npz`` and ``stdp_w.npy``, the data of ``examples/stdp.snn``.

Twenty input channels over 400 steps. Channels 0-9 carry a *pattern*: every 25 steps
they fire together. All twenty channels also fire at random (2 % per step, seeded):
background noise. Every channel starts with the same weight, 0.15, into one neuron.

Run: ``python examples/scripts/make_stdp.py [--out DIR]``.
"""

from __future__ import annotations

import numpy as np

from _common import parse_args, save_npz

STEPS, CHANNELS, PATTERN, PERIOD = 400, 20, 10, 25


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rng = np.random.default_rng(16)
    raster = rng.random((STEPS, CHANNELS)) < 0.02
    for start in range(0, STEPS - 5, PERIOD):
        raster[start, :PATTERN] = True
    times, indices = np.nonzero(raster)
    save_npz(args.out / "stdp_input.npz", times=times.astype(np.int64), indices=indices.astype(np.int64))
    np.save(args.out / "stdp_w.npy", np.full((1, CHANNELS), 0.15, dtype=np.float32))
    print(f"stdp_input.npz: {times.size} spikes on {CHANNELS} channels over {STEPS} steps; "
          f"stdp_w.npy: 1 x {CHANNELS} weights of 0.15")


if __name__ == "__main__":
    main()
