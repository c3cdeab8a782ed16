"""Make the synthetic event-camera stream and the hand-built filters of ``dvs_conv.snn``.

The stream: an ideal 32x32 dynamic vision sensor watches four bright bars on a dark
background, one after the other, each 4 pixels wide and moving 1 pixel per ms
perpendicular to itself (a diagonal one 1 pixel along x or y, i.e. 1/sqrt(2) pixel
across): a vertical bar moving right, a horizontal bar moving down, a "/" bar moving
down-right and a "\\" bar moving up-right. A pixel emits an ON event (p = 1) when it
turns bright and an OFF event (p = 0) when it turns dark, at a random microsecond
within the millisecond of the change; sparse random noise events are added. Saved as
a structured array like Tonic's (fields x, y int16, t int64 in microseconds, p int8),
sorted by time.

The filters: ``dvs_kernels.npy`` [4, 2, 3, 3] are oriented line detectors, the same for
both polarities: +0.5 on the line ("|", "-", "/", "\\") and -0.25 elsewhere, so a full
line gives 1.5 (> threshold 1) and a line of another orientation gives exactly 0.
``dvs_readout.npy`` [4, 256] ([post, pre] over the pooled [4, 8, 8] map, flattened in C
order) gives read-out neuron k +0.25 from every pooled unit of channel k and -0.125
from the other channels: one read-out neuron per orientation.

Also prints a float64 reference simulation of ``dvs_conv.snn`` (read-out spikes per
phase), the check that each read-out neuron answers its own bar.

Run: ``python examples/scripts/make_dvs.py [--out DIR]``.
"""

from __future__ import annotations

import numpy as np

from _common import parse_args, save_npy

SEED = 7
SIZE = 32                    # sensor height and width
BAR_WIDTH = 4
GAP_STEPS = 10               # quiet (noise only) steps before, between and after bars
NOISE_PER_STEP = 0.5         # mean noise events per ms over the whole sensor
EVENT_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "i1")])

ORIENTATIONS = ("vertical |", "horizontal -", "diagonal /", "diagonal \\")
LINE_WEIGHT, OFF_WEIGHT = 0.5, -0.25
POOL = 4
READ_OWN, READ_OTHER = 0.25, -0.125


def bar_phases() -> list[tuple[str, np.ndarray]]:
    """Per bar, its brightness masks over time: (name, bool [steps, H, W])."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    phases = []
    for name, coord in (("vertical bar moving right", x),
                        ("horizontal bar moving down", y),
                        ("diagonal / bar moving down-right", x + y),
                        ("diagonal \\ bar moving up-right", x - y)):
        lo, hi = int(coord.min()), int(coord.max())
        starts = np.arange(lo - BAR_WIDTH, hi + 2)       # from just outside to just past
        masks = np.stack([(coord >= c) & (coord < c + BAR_WIDTH) for c in starts])
        phases.append((name, masks))
    return phases


def make_events(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """The event stream and each phase's (name, first step, end step)."""
    frames = [np.zeros((GAP_STEPS, SIZE, SIZE), dtype=bool)]
    spans = []
    step = GAP_STEPS
    for name, masks in bar_phases():
        frames.append(masks)
        spans.append((name, step, step + len(masks)))
        step += len(masks)
        frames.append(np.zeros((GAP_STEPS, SIZE, SIZE), dtype=bool))
        step += GAP_STEPS
    bright = np.concatenate(frames)                           # [steps, H, W]
    change = np.diff(bright.astype(np.int8), axis=0)          # change into step s + 1
    s, yy, xx = np.nonzero(change)
    pol = (change[s, yy, xx] > 0).astype(np.int8)             # 1 = ON, 0 = OFF
    steps = s.astype(np.int64) + 1
    n_noise = rng.poisson(NOISE_PER_STEP * len(bright))
    steps = np.concatenate([steps, rng.integers(0, len(bright), n_noise)])
    yy = np.concatenate([yy, rng.integers(0, SIZE, n_noise)])
    xx = np.concatenate([xx, rng.integers(0, SIZE, n_noise)])
    pol = np.concatenate([pol, rng.integers(0, 2, n_noise).astype(np.int8)])
    t_us = steps * 1000 + rng.integers(0, 1000, len(steps))
    order = np.argsort(t_us, kind="stable")
    events = np.zeros(len(order), dtype=EVENT_DTYPE)
    events["x"], events["y"] = xx[order], yy[order]
    events["t"], events["p"] = t_us[order], pol[order]
    return events, spans


def make_kernels() -> np.ndarray:
    """[4, 2, 3, 3] oriented line detectors (rows are y, columns x)."""
    lines = np.zeros((4, 3, 3), dtype=bool)
    lines[0, :, 1] = True                           # |
    lines[1, 1, :] = True                           # -
    lines[2] = np.fliplr(np.eye(3, dtype=bool))     # /  (x + y constant)
    lines[3] = np.eye(3, dtype=bool)                # \  (x - y constant)
    k = np.where(lines, LINE_WEIGHT, OFF_WEIGHT).astype(np.float32)
    return np.repeat(k[:, None], 2, axis=1)         # same filter for OFF and ON


def make_readout(n_channels: int, pooled_hw: int) -> np.ndarray:
    """[n_channels, n_channels * pooled_hw**2]: +own channel, -other channels."""
    channel_of_pre = np.repeat(np.arange(n_channels), pooled_hw * pooled_hw)
    own = channel_of_pre[None, :] == np.arange(n_channels)[:, None]
    return np.where(own, READ_OWN, READ_OTHER).astype(np.float32)


def simulate(events: np.ndarray, kernels: np.ndarray, readout: np.ndarray,
             steps: int) -> np.ndarray:
    """Read-out spikes [steps, 4] of dvs_conv.snn in float64 (spike at t arrives at t + 1)."""
    frames = np.zeros((steps, 2, SIZE, SIZE))
    frames[events["t"] // 1000, events["p"], events["y"], events["x"]] = 1.0
    c_out = kernels.shape[0]
    hw = SIZE // POOL

    def lif(v, x, beta, threshold):
        v = beta * v + x
        s = v > threshold
        return np.where(s, 0.0, v), s.astype(np.float64)

    v_conv = np.zeros((c_out, SIZE, SIZE))
    v_pool = np.zeros((c_out, hw, hw))
    v_out = np.zeros(c_out)
    s_in = np.zeros((2, SIZE, SIZE))
    s_conv, s_pool = np.zeros_like(v_conv), np.zeros_like(v_pool)
    out = np.zeros((steps, c_out), dtype=bool)
    for t in range(steps):
        padded = np.pad(s_in, ((0, 0), (1, 1), (1, 1)))
        x_conv = np.zeros_like(v_conv)
        for dy in range(3):
            for dx in range(3):
                window = padded[:, dy:dy + SIZE, dx:dx + SIZE]
                x_conv += np.einsum("oc,chw->ohw", kernels[:, :, dy, dx], window)
        x_pool = s_conv.reshape(c_out, hw, POOL, hw, POOL).sum(axis=(2, 4))
        x_out = readout @ s_pool.reshape(-1)
        v_conv, new_conv = lif(v_conv, x_conv, CONV_BETA, CONV_THRESHOLD)
        v_pool, new_pool = lif(v_pool, x_pool, POOL_BETA, POOL_THRESHOLD)
        v_out, new_out = lif(v_out, x_out, OUT_BETA, OUT_THRESHOLD)
        out[t] = new_out > 0
        s_in, s_conv, s_pool = frames[t], new_conv, new_pool
    return out


# The neuron parameters of dvs_conv.snn (for the check simulation only).
CONV_BETA, CONV_THRESHOLD = 0.5, 1.0
POOL_BETA, POOL_THRESHOLD = 0.5, 2.5
OUT_BETA, OUT_THRESHOLD = 0.8, 1.0


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rng = np.random.default_rng(SEED)
    events, spans = make_events(rng)
    kernels = make_kernels()
    readout = make_readout(kernels.shape[0], SIZE // POOL)
    save_npy(args.out / "dvs_events.npy", events)
    save_npy(args.out / "dvs_kernels.npy", kernels)
    save_npy(args.out / "dvs_readout.npy", readout)

    steps = int(events["t"].max() // 1000) + 1 + GAP_STEPS
    print(f"dvs_events.npy: {len(events)} events, {steps - GAP_STEPS} ms; "
          f"kernels {kernels.shape}, readout {readout.shape}")
    out = simulate(events, kernels, readout, steps)
    print(f"read-out spikes per phase ({steps} steps), columns {', '.join(ORIENTATIONS)}:")
    for name, start, end in spans:
        counts = out[start:end + 3].sum(axis=0)     # + 3: the three layers' latency
        print(f"  steps {start:3d}-{end + 2:3d} {name:34s} {counts.tolist()}")
    quiet = out.sum(axis=0) - sum(out[s:e + 3].sum(axis=0) for _, s, e in spans)
    print(f"  outside the bars{'':26s} {quiet.tolist()}")


if __name__ == "__main__":
    main()
