"""Make the framework fixtures of tests/data/nir/: a .nir file each framework wrote, and
the framework's own output spike counts for a few inputs.

The frameworks are never neurocomp dependencies. This script builds a venv of its own
and runs itself inside it::

    python tools/make_nir_fixtures.py            # makes /tmp/snn-venv if needed, then writes
    python tools/make_nir_fixtures.py --inside   # (what it runs in the venv)

The venv: ``torch==2.13.0`` (CPU) ``snntorch norse sinabs nir``. Each fixture is
``tests/data/nir/<framework>/<model>.nir`` plus ``<model>.npz`` with ``inputs`` (``[S, T, N]``
0/1 spike rasters, the framework's steps), ``counts`` (``[S, outputs]``, the framework's
output spike counts over those T steps), ``spikes`` (``[S, T, outputs]``, its output
spikes step by step) and ``dt_ms`` (the step to import it with, which
is not always the step the framework ran at: see docs/nir.md).
The models are randomly initialised with a fixed seed and scaled so that both layers
spike; they are not trained (equality of spike counts does not need training).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# where the fixtures go (tests/test_nir_frameworks_vendor.py points it elsewhere to compare)
OUT = Path(os.environ.get("NEUROCOMP_NIR_FIXTURES", ROOT / "tests" / "data" / "nir"))
# (venv, packages, what runs in it): sinabs pins nir<=1.0.4, which snnTorch 1.0's exporter cannot use
VENV_DIR = Path(os.environ.get("NEUROCOMP_NIR_VENV_DIR", "/tmp"))  # where the venvs are made
VENVS = [(VENV_DIR / "snn-venv", ["torch==2.13.0", "snntorch", "norse", "nir==1.0.8"], "--inside"),
         (VENV_DIR / "sinabs-venv", ["torch==2.13.0", "sinabs", "nir<=1.0.4"], "--inside-sinabs")]
SAMPLES, STEPS, N_IN, N_HID, N_OUT = 12, 25, 16, 24, 6


def outside() -> None:
    for where, packages, flag in VENVS:
        py = where / "bin" / "python"
        if not py.exists():
            venv.create(where, with_pip=True)
            subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
        subprocess.run([str(py), __file__, flag], check=True)


def inputs_for_all():
    import numpy as np

    rng = np.random.default_rng(12)
    return (rng.random((SAMPLES, STEPS, N_IN)) < 0.3).astype(np.float32)


def inside() -> None:  # runs in the venv: torch and the frameworks are importable here
    import nir
    import numpy as np
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    def snntorch_model(reset: str, seed: int) -> tuple[torch.nn.Module, list]:
        torch.manual_seed(seed)
        fc1, fc2 = torch.nn.Linear(N_IN, N_HID), torch.nn.Linear(N_HID, N_OUT)
        with torch.no_grad():  # scaled so that both layers spike often, with sizeable biases
            fc1.weight.mul_(2.0)
            fc1.bias.uniform_(-0.3, 0.3)
            fc2.weight.mul_(2.5)
            fc2.bias.uniform_(-0.2, 0.4)
        # snnTorch 1.0's exporter needs beta and threshold as one value per neuron (a scalar
        # fails NIR's shape check)
        lif1 = snn.Leaky(beta=torch.full((N_HID,), 0.9), threshold=torch.ones(N_HID),
                         reset_mechanism=reset, init_hidden=True)
        lif2 = snn.Leaky(beta=torch.full((N_OUT,), 0.8), threshold=torch.ones(N_OUT),
                         reset_mechanism=reset, init_hidden=True, output=True)
        return torch.nn.Sequential(fc1, lif1, fc2, lif2), [lif1, lif2]

    inputs = inputs_for_all()
    for reset in ("zero", "subtract"):
        net, lifs = snntorch_model(reset, seed=12)
        spikes = np.zeros((SAMPLES, STEPS, N_OUT), dtype=np.uint8)
        with torch.no_grad():
            for s in range(SAMPLES):
                for lif in lifs:
                    lif.reset_hidden()
                for t in range(STEPS):
                    spk, _ = net(torch.from_numpy(inputs[s, t][None]))
                    spikes[s, t] = spk[0].numpy()
        counts = spikes.sum(1, dtype=np.int64)
        for lif in lifs:
            lif.reset_hidden()
        graph = export_to_nir(net, torch.zeros(N_IN))  # a batch dimension fails type inference
        where = OUT / "snntorch"
        where.mkdir(parents=True, exist_ok=True)
        nir.write(where / f"leaky_{reset}.nir", graph)
        np.savez(where / f"leaky_{reset}.npz", inputs=inputs.astype(np.uint8), counts=counts, spikes=spikes,
                 dt_ms=0.1)
        print(f"snntorch leaky_{reset}: output spikes per sample {counts.sum(1).tolist()}")

    # Norse: Linear -> LIFBoxCell -> Linear -> LIFBoxCell at dt = 1 ms (Norse's default), with biases
    import norse.torch as norse

    torch.manual_seed(13)
    fc1, fc2 = torch.nn.Linear(N_IN, N_HID), torch.nn.Linear(N_HID, N_OUT)
    with torch.no_grad():
        fc1.weight.mul_(30.0)
        fc1.bias.uniform_(-3.0, 6.0)
        fc2.weight.mul_(40.0)
        fc2.bias.uniform_(-2.0, 6.0)
    p1 = norse.LIFBoxParameters(tau_mem_inv=torch.full((N_HID,), 100.0), v_th=torch.ones(N_HID),
                                v_leak=torch.zeros(N_HID), v_reset=torch.zeros(N_HID))
    p2 = norse.LIFBoxParameters(tau_mem_inv=torch.full((N_OUT,), 50.0), v_th=torch.ones(N_OUT),
                                v_leak=torch.zeros(N_OUT), v_reset=torch.zeros(N_OUT))
    net = norse.SequentialState(fc1, norse.LIFBoxCell(p1), fc2, norse.LIFBoxCell(p2))
    spikes = np.zeros((SAMPLES, STEPS, N_OUT), dtype=np.uint8)
    with torch.no_grad():
        for s in range(SAMPLES):
            state = None
            for t in range(STEPS):
                out, state = net(torch.from_numpy(inputs[s, t]), state)
                spikes[s, t] = out.numpy()
    counts = spikes.sum(1, dtype=np.int64)
    graph = norse.to_nir(net, torch.zeros(N_IN), dt=0.001)
    where = OUT / "norse"
    where.mkdir(parents=True, exist_ok=True)
    nir.write(where / "lifbox.nir", graph)
    # Norse 1.1 writes tau*dt for tau: the step that imports it is dt squared (1 us), not Norse's 1 ms
    np.savez(where / "lifbox.npz", inputs=inputs.astype(np.uint8), counts=counts, spikes=spikes, dt_ms=0.001,
             framework_dt_ms=1.0)
    print(f"norse lifbox: output spikes per sample {counts.sum(1).tolist()}")


def inside_sinabs() -> None:  # runs in the sinabs venv
    import nir
    import numpy as np
    import sinabs
    import sinabs.layers as sl
    import torch

    inputs = inputs_for_all()
    torch.manual_seed(14)
    fc1, fc2 = torch.nn.Linear(N_IN, N_HID), torch.nn.Linear(N_HID, N_OUT)
    with torch.no_grad():  # norm_input scales the input by 1 - alpha: larger weights
        fc1.weight.mul_(15.0)
        fc1.bias.uniform_(-1.0, 3.0)
        fc2.weight.mul_(20.0)
        fc2.bias.uniform_(-1.0, 3.0)
    # tau_mem in steps; SingleSpike (the default MultiSpike emits several spikes a step, which NIR
    # cannot say); the default reset subtracts the threshold in the same step; threshold per neuron
    # (a scalar fails NIR's shape check)
    net = torch.nn.Sequential(
        fc1, sl.LIF(tau_mem=torch.full((N_HID,), 10.0), spike_threshold=torch.ones(N_HID),
                    spike_fn=sinabs.activation.SingleSpike),
        fc2, sl.LIF(tau_mem=torch.full((N_OUT,), 5.0), spike_threshold=torch.ones(N_OUT),
                    spike_fn=sinabs.activation.SingleSpike))
    with torch.no_grad():
        spikes = net(torch.from_numpy(inputs)).numpy().astype(np.uint8)  # [samples, T, outputs]: the whole raster
    counts = spikes.sum(1, dtype=np.int64)
    for m in net:
        if isinstance(m, sl.LIF):
            m.reset_states()
    graph = sinabs.to_nir(net, torch.zeros(1, STEPS, N_IN))  # its Input node is [T, N]
    where = OUT / "sinabs"
    where.mkdir(parents=True, exist_ok=True)
    nir.write(where / "lif.nir", graph)
    np.savez(where / "lif.npz", inputs=inputs.astype(np.uint8), counts=counts, spikes=spikes, dt_ms=1000.0)
    print(f"sinabs lif: output spikes per sample {counts.sum(1).tolist()}")


if __name__ == "__main__":
    if "--inside" in sys.argv:
        inside()
    elif "--inside-sinabs" in sys.argv:
        inside_sinabs()
    else:
        outside()
