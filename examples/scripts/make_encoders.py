"""Make the image and the signal that ``encoders.snn`` codes three ways.

The image: an 8x8 bright blob (a Gaussian, peak 1 at the centre, width 2 pixels) whose
values are quantised to sixteenths, so every value is exact in binary.

The signal: the same image fading in and out, ``signal[t] = image * envelope[t]`` with
``envelope`` = 0 for 5 steps, rising by 1/16 per step to 1 (16 steps), 1 for 20
steps, falling by 1/16 per step to 0 (16 steps), 0 for 5 steps: 62 steps. Every
sample is a multiple of 1/256, and the delta threshold (0.05) is not, so no comparison
is ever a tie.

Also prints what each code should give (latency: one spike at
``floor(tau * ln(x / (x - theta)))``; delta: ON/OFF spike counts), using the
parameters of ``encoders.snn``.

Run: ``python examples/scripts/make_encoders.py [--out DIR]``.
"""

from __future__ import annotations

import numpy as np

from _common import parse_args, save_npy

SIZE = 8
SIGMA_PX = 2.0

# The parameters of encoders.snn (for the printed summary only).
LATENCY_TAU_STEPS = 10.0
LATENCY_THRESHOLD = 0.1
DELTA_THRESHOLD = 0.05


def make_image() -> np.ndarray:
    """[8, 8] float32 in [0, 1], multiples of 1/16."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    c = (SIZE - 1) / 2
    blob = np.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * SIGMA_PX ** 2))
    return (np.round(blob / blob.max() * 16) / 16).astype(np.float32)


def make_envelope() -> np.ndarray:
    """[62] float64: off, fade in, on, fade out, off."""
    rise = np.arange(1, 17) / 16
    return np.concatenate([np.zeros(5), rise, np.ones(20), rise[::-1][1:], np.zeros(6)])


def delta_counts(signal: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """ON and OFF spike counts per element of a [T, ...] signal (docs/encoders.md)."""
    ref = signal[0].astype(np.float64).copy()
    on = np.zeros(signal.shape[1:], dtype=np.int64)
    off = np.zeros_like(on)
    for s in signal[1:].astype(np.float64):
        up, down = s - ref > threshold, ref - s > threshold
        on += up
        off += down
        ref = np.where(up | down, s, ref)
    return on, off


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    image = make_image()
    envelope = make_envelope()
    signal = (envelope[:, None, None] * image[None]).astype(np.float32)
    save_npy(args.out / "encoders_image.npy", image)
    save_npy(args.out / "encoders_signal.npy", signal)

    x = image.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.floor(LATENCY_TAU_STEPS * np.log(x / (x - LATENCY_THRESHOLD)))
    fires = x > LATENCY_THRESHOLD
    on, off = delta_counts(signal, DELTA_THRESHOLD)
    print(f"encoders_image.npy {image.shape}: values {sorted(set((image * 16).astype(int).ravel().tolist()))} / 16")
    print(f"encoders_signal.npy {signal.shape}")
    print("latency spike step per pixel (-1 = silent):")
    print(np.where(fires, t, -1).astype(int))
    print(f"delta: {on.sum()} ON and {off.sum()} OFF spikes; ON per pixel:")
    print(on)


if __name__ == "__main__":
    main()
