"""The figures of docs/nir.md: a model trained in snnTorch, exported, and run in neurocomp.

The seed network of the field, snnTorch ``Linear(64,128) -> Leaky -> Linear(128,10) -> Leaky``
with biases, trained on scikit-learn's bundled 8x8 digits (rate-coded, 25 steps), once per
reset mechanism. Step 1 runs in the frameworks' venv (see tools/make_nir_fixtures.py)::

    /tmp/snn-venv/bin/pip install scikit-learn
    /tmp/snn-venv/bin/python tools/measure_nir_frameworks.py --train /tmp/digits

writes ``/tmp/digits/<reset>.nir`` and ``<reset>.npz`` (the test inputs, labels, and
snnTorch's output counts). Step 2 runs with neurocomp::

    python tools/measure_nir_frameworks.py --measure /tmp/digits

and prints, per reset: the % of test samples whose output spike counts the float
reference reproduces exactly, snnTorch's accuracy, and Loihi emulation's accuracy.
"""

from __future__ import annotations

import sys
from pathlib import Path

STEPS, HIDDEN = 25, 128


def train(out: Path) -> None:
    import nir
    import numpy as np
    import snntorch as snn
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from snntorch.export_nir import export_to_nir

    out.mkdir(parents=True, exist_ok=True)
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=360, random_state=0, stratify=y)
    rng = np.random.default_rng(0)
    spikes_te = (rng.random((len(x_te), STEPS, 64)) < x_te[:, None, :]).astype(np.float32)
    for reset in ("zero", "subtract"):
        torch.manual_seed(0)
        fc1, fc2 = torch.nn.Linear(64, HIDDEN), torch.nn.Linear(HIDDEN, 10)
        lif1 = snn.Leaky(beta=torch.full((HIDDEN,), 0.9), threshold=torch.ones(HIDDEN), reset_mechanism=reset)
        lif2 = snn.Leaky(beta=torch.full((10,), 0.9), threshold=torch.ones(10), reset_mechanism=reset)

        def run(spk_in: torch.Tensor) -> torch.Tensor:  # [batch, T, 64] -> output counts [batch, 10]
            m1, m2 = lif1.init_leaky(), lif2.init_leaky()
            total = 0
            for t in range(STEPS):
                s1, m1 = lif1(fc1(spk_in[:, t]), m1)
                s2, m2 = lif2(fc2(s1), m2)
                total = total + s2
            return total

        params = list(fc1.parameters()) + list(fc2.parameters())
        opt = torch.optim.Adam(params, lr=2e-3)
        xt = torch.from_numpy(x_tr.astype(np.float32))
        yt = torch.from_numpy(y_tr)
        for epoch in range(30):
            perm = torch.randperm(len(xt))
            for i in range(0, len(xt), 64):
                idx = perm[i:i + 64]
                spk = (torch.rand(len(idx), STEPS, 64) < xt[idx, None, :]).float()
                loss = torch.nn.functional.cross_entropy(run(spk), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            counts = run(torch.from_numpy(spikes_te)).numpy().astype(np.int64)
        acc = float(np.mean(np.argmax(counts, 1) == y_te))
        print(f"snnTorch reset={reset}: test accuracy {acc:.4f}")
        net = torch.nn.Sequential(fc1, snn.Leaky(beta=lif1.beta, threshold=lif1.threshold, init_hidden=True,
                                                 reset_mechanism=reset),
                                  fc2, snn.Leaky(beta=lif2.beta, threshold=lif2.threshold, init_hidden=True,
                                                 reset_mechanism=reset, output=True))
        nir.write(out / f"{reset}.nir", export_to_nir(net, torch.zeros(64)))
        np.savez(out / f"{reset}.npz", inputs=spikes_te.astype(np.uint8), labels=y_te, counts=counts)


def measure(where: Path) -> None:
    import warnings

    import numpy as np

    import neurocomp as nc
    from neurocomp.interop.nir_import import import_nir

    warnings.simplefilter("ignore")
    for reset, form in (("zero", "zero"), ("subtract", "subtract-next")):
        data = np.load(where / f"{reset}.npz", allow_pickle=False)
        net = import_nir(where / f"{reset}.nir", reset=form)
        samples, steps, n_in = data["inputs"].shape
        x = np.zeros((samples, steps + 2, n_in))
        x[:, :steps] = data["inputs"]
        exact = 0
        for s in range(samples):
            got = nc.simulate(net, steps + 2, inputs={"input": x[s]}).spike_counts("n_3")
            exact += int(np.array_equal(got, data["counts"][s]))
        report = nc.validate(net, "loihi", steps + 2, samples=(x, data["labels"]), output="n_3")
        fw = float(np.mean(np.argmax(data["counts"], 1) == data["labels"]))
        c = report.classifier
        print(f"reset={reset}: exact counts {exact}/{samples} ({100 * exact / samples:.1f} %); accuracy "
              f"snnTorch {100 * fw:.1f} %, float reference {100 * c.accuracy_ref:.1f} %, "
              f"Loihi {100 * c.accuracy_chip:.1f} %")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("--train", "--measure"):
        sys.exit(__doc__)
    (train if sys.argv[1] == "--train" else measure)(Path(sys.argv[2]))
