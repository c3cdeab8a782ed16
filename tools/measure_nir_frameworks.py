"""The figures of docs/nir.md: models trained in snnTorch, Norse and Sinabs, exported by
the framework, and run in neurocomp.

The seed network of the field, ``Linear(64,128) -> LIF -> Linear(128,10) -> LIF`` with
biases, trained on scikit-learn's bundled 8x8 digits (rate-coded, 25 steps, the same
test spikes for every framework): in snnTorch (``Leaky``, once per reset mechanism), in
Norse (``LIFBoxCell`` at dt = 1 ms) and in Sinabs (``LIF`` with ``SingleSpike``, its
default subtracting reset). Step 1 runs in the frameworks' venvs (see
tools/make_nir_fixtures.py; scikit-learn added)::

    /tmp/snn-venv/bin/python tools/measure_nir_frameworks.py --train /tmp/digits
    /tmp/snn-venv/bin/python tools/measure_nir_frameworks.py --train-norse /tmp/digits
    /tmp/sinabs-venv/bin/python tools/measure_nir_frameworks.py --train-sinabs /tmp/digits

writes ``/tmp/digits/<model>.nir`` and ``<model>.npz`` (the test inputs, labels, and the
framework's output counts). Step 2 runs with neurocomp::

    python tools/measure_nir_frameworks.py --measure /tmp/digits

and prints, per model: the % of test samples whose output spike counts the float
reference reproduces exactly, the framework's accuracy, the float reference's and Loihi
emulation's.
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
    from snntorch.export_nir import export_to_nir

    out.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr, spikes_te, y_te = digits()
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

        # The generator goes on from the layers' initialisation (the fixtures were made so).
        fit(run, list(fc1.parameters()) + list(fc2.parameters()), x_tr, y_tr, seed=None)
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


def digits():
    """Train and test sets (test: 360 digits as fixed spike rasters), as every framework sees them."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=360, random_state=0, stratify=y)
    rng = np.random.default_rng(0)
    spikes_te = (rng.random((len(x_te), STEPS, 64)) < x_te[:, None, :]).astype(np.float32)
    return x_tr, y_tr, spikes_te, y_te


def fit(run, params, x_tr, y_tr, epochs: int = 30, seed: int | None = 0) -> None:
    """Adam on the cross-entropy of the output spike counts, fresh rate-coded spikes per batch
    (torch's generator seeded with ``seed`` first, or left as it is with None)."""
    import numpy as np
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    opt = torch.optim.Adam(params, lr=2e-3)
    xt, yt = torch.from_numpy(x_tr.astype(np.float32)), torch.from_numpy(y_tr)
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            spk = (torch.rand(len(idx), STEPS, 64) < xt[idx, None, :]).float()
            loss = torch.nn.functional.cross_entropy(run(spk), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def train_norse(out: Path) -> None:
    """Norse 1.1: Linear -> LIFBoxCell -> Linear -> LIFBoxCell at dt = 1 ms (tau_mem_inv = 100/s:
    a decay of 0.9 a step), exported with ``to_nir(..., dt=0.001)`` (it writes tau*dt)."""
    import nir
    import norse.torch as norse
    import numpy as np
    import torch

    out.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr, spikes_te, y_te = digits()
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(64, HIDDEN), torch.nn.Linear(HIDDEN, 10)
    with torch.no_grad():  # Norse's input gain is dt*tau_mem_inv = 0.1: larger weights to start with
        fc1.weight.mul_(15.0)
        fc2.weight.mul_(15.0)
    # alpha: the width of Norse's SuperSpike surrogate (default 100: too narrow to learn here)
    params = [norse.LIFBoxParameters(tau_mem_inv=torch.full((n,), 100.0), v_th=torch.ones(n),
                                     v_leak=torch.zeros(n), v_reset=torch.zeros(n), alpha=torch.tensor(20.0))
              for n in (HIDDEN, 10)]
    net = norse.SequentialState(fc1, norse.LIFBoxCell(params[0]), fc2, norse.LIFBoxCell(params[1]))

    def run(spk_in: torch.Tensor) -> torch.Tensor:
        state, total = None, 0
        for t in range(STEPS):
            z, state = net(spk_in[:, t], state)
            total = total + z
        return total

    fit(run, list(fc1.parameters()) + list(fc2.parameters()), x_tr, y_tr)
    with torch.no_grad():
        counts = run(torch.from_numpy(spikes_te)).numpy().astype(np.int64)
    print(f"Norse LIFBoxCell: test accuracy {np.mean(np.argmax(counts, 1) == y_te):.4f}")
    nir.write(out / "norse.nir", norse.to_nir(net, torch.zeros(64), dt=0.001))
    np.savez(out / "norse.npz", inputs=spikes_te.astype(np.uint8), labels=y_te, counts=counts)


def train_sinabs(out: Path) -> None:
    """Sinabs 3.1: Linear -> LIF(tau_mem = 10 steps, SingleSpike) -> Linear -> LIF, its default
    MembraneSubtract reset, exported with ``sinabs.to_nir``."""
    import nir
    import numpy as np
    import sinabs
    import sinabs.layers as sl
    import torch

    out.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr, spikes_te, y_te = digits()
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(64, HIDDEN), torch.nn.Linear(HIDDEN, 10)
    with torch.no_grad():  # norm_input scales the input by 1 - exp(-1/tau): larger weights to start with
        fc1.weight.mul_(10.0)
        fc2.weight.mul_(10.0)
    net = torch.nn.Sequential(
        fc1, sl.LIF(tau_mem=torch.full((HIDDEN,), 10.0), spike_threshold=torch.ones(HIDDEN),
                    spike_fn=sinabs.activation.SingleSpike),
        fc2, sl.LIF(tau_mem=torch.full((10,), 10.0), spike_threshold=torch.ones(10),
                    spike_fn=sinabs.activation.SingleSpike))

    def run(spk_in: torch.Tensor) -> torch.Tensor:  # Sinabs runs the whole [batch, T, N] raster
        for m in net:
            if isinstance(m, sl.LIF):
                m.reset_states(randomize=False)
                m.v_mem = torch.zeros(len(spk_in), *m.v_mem.shape[1:]) if m.v_mem.ndim else m.v_mem
        return net(spk_in).sum(1)

    fit(run, list(fc1.parameters()) + list(fc2.parameters()), x_tr, y_tr)
    with torch.no_grad():
        counts = run(torch.from_numpy(spikes_te)).numpy().astype(np.int64)
    print(f"Sinabs LIF: test accuracy {np.mean(np.argmax(counts, 1) == y_te):.4f}")
    for m in net:
        if isinstance(m, sl.LIF):
            m.reset_states()
    nir.write(out / "sinabs.nir", sinabs.to_nir(net, torch.zeros(1, STEPS, 64)))
    np.savez(out / "sinabs.npz", inputs=spikes_te.astype(np.uint8), labels=y_te, counts=counts)


#: (model file stem, import arguments) of every model step 1 may have written
MODELS = [("zero", {}), ("subtract", {"reset": "subtract-next"}),
          ("norse", {"dt_ms": 0.001}), ("sinabs", {"reset": "subtract"})]


def measure(where: Path) -> None:
    import warnings

    import numpy as np

    import neurocomp as nc
    from neurocomp.interop.nir_import import import_nir
    from neurocomp.interop.nir_import.depth import depths

    warnings.simplefilter("ignore")
    for stem, kw in MODELS:
        if not (where / f"{stem}.nir").exists():
            continue
        data = np.load(where / f"{stem}.npz", allow_pickle=False)
        net = import_nir(where / f"{stem}.nir", **kw)
        output = [p.population for p in net.probes][-1]
        depth = depths(net)[output]
        samples, steps, n_in = data["inputs"].shape
        x = np.zeros((samples, steps + depth, n_in))
        x[:, :steps] = data["inputs"]
        exact = 0
        for s in range(samples):
            got = nc.simulate(net, steps + depth, inputs={"input": x[s]}).spike_counts(output)
            exact += int(np.array_equal(got, data["counts"][s]))
        report = nc.validate(net, "loihi", steps + depth, samples=(x, data["labels"]), output=output)
        fw = float(np.mean(np.argmax(data["counts"], 1) == data["labels"]))
        c = report.classifier
        print(f"{stem} {kw}: exact counts {exact}/{samples} ({100 * exact / samples:.1f} %); accuracy "
              f"framework {100 * fw:.1f} %, float reference {100 * c.accuracy_ref:.1f} %, "
              f"Loihi {100 * c.accuracy_chip:.1f} %")


if __name__ == "__main__":
    modes = {"--train": train, "--train-norse": train_norse, "--train-sinabs": train_sinabs, "--measure": measure}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        sys.exit(__doc__)
    modes[sys.argv[1]](Path(sys.argv[2]))
