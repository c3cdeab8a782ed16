"""Write ``chain_input.npz``, the spike file that drives ``examples/chain.snn``.

One input neuron (index 0) fires at steps 1, 2, 3, 4, 9, 10, 14 and 16: a burst of
four, a close pair and a spaced pair, chosen so that every voltage in the chain is a
short binary fraction (see the table in ``chain.snn``).

Run: ``python examples/scripts/make_chain.py [--out DIR]``.
"""

from __future__ import annotations

import numpy as np

from _common import parse_args, save_npz

SPIKE_STEPS = (1, 2, 3, 4, 9, 10, 14, 16)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    times = np.array(SPIKE_STEPS, dtype=np.int64)
    indices = np.zeros(len(SPIKE_STEPS), dtype=np.int64)
    save_npz(args.out / "chain_input.npz", times=times, indices=indices)
    print(f"chain_input.npz: {len(times)} spikes of neuron 0 at steps {list(SPIKE_STEPS)}")


if __name__ == "__main__":
    main()
