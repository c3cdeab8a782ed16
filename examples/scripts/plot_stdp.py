"""Plot the weights of ``examples/stdp.snn`` over time from a run folder.

Run: ``neurocomp run examples/stdp.snn --chip loihi --steps 400 --out runs/stdp`` then
``python examples/scripts/plot_stdp.py runs/stdp [--out docs/img/stdp_weights.png]``.
Needs matplotlib.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the folder 'neurocomp run --out' wrote")
    parser.add_argument("--out", type=Path, default=Path("docs/img/stdp_weights.png"))
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with np.load(args.run / "spikes.npz", allow_pickle=False) as data:
        weights = data["inp->out.weights"]
        synapses = data["inp->out.synapses"]
        post_spikes = data["out.times"]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    steps = np.arange(weights.shape[0])
    for k in range(weights.shape[1]):
        pattern = synapses[k, 0] < 10
        ax.plot(steps, weights[:, k], color="tab:red" if pattern else "tab:gray",
                lw=1.2 if pattern else 0.8, alpha=0.9 if pattern else 0.6,
                label=("pattern channel (0-9)" if k == 0 else None) if pattern else
                ("noise channel (10-19)" if synapses[k, 0] == 10 else None))
    ax.plot(post_spikes, np.full(post_spikes.size, 262), "|", color="black", ms=6, label="post spike")
    ax.set_xlabel("step")
    ax.set_ylabel("weight (Loihi 8-bit mantissa)")
    ax.set_ylim(0, 270)
    ax.set_title("examples/stdp.snn on loihi: STDP picks out the repeated pattern")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
