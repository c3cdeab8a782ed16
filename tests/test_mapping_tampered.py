"""A saved Mapping that was edited by hand is refused before any kernel sees it.

Each case changes one field of the chain example compiled for Loihi (3 compartments a,
b, c on core 0; one input 'stim' of one neuron, so 4 sources; 3 axons, 3 synapses) the way
a hostile or careless edit would; several of them used to crash the emulator (exit 139,
a segmentation fault) or to run on silently. The expected messages count by hand from
that mapping and from chips/loihi.toml (8-bit weights: -256..255, weight exponents
-7..7, 61 extra delay steps at most).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.diagnostics import InputFileError, NeurocompError
from neurocomp.ir.mapping import Mapping

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "examples" / "chain.snn"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("chain")
    return nc.compile(nc.load(CHAIN), chip="loihi").save(folder / "chain.map.json")


def _tamper(saved, tmp_path, *, doc=None, arrays=None) -> Path:
    src_json, src_npz = saved
    data = json.loads(src_json.read_text())
    if doc:
        doc(data)
    with np.load(src_npz, allow_pickle=False) as z:
        arrs = {k: z[k] for k in z.files}
    if arrays:
        arrays(arrs)
    out = tmp_path / "t.map.json"
    data["arrays"] = "t.map.npz"
    out.write_text(json.dumps(data))
    np.savez(tmp_path / "t.map.npz", **arrs)
    return out


def _set(name, index, value):
    def change(a):
        a[name][index] = value
    return change


def _doc(*keys, value):
    def change(d):
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


CASES = {
    # the one that segfaulted: sources far past the input spike buffer
    "input_offset": (dict(doc=_doc("input_offset", "stim", value=10**9)),
                     "input_offset['stim'] is 1,000,000,000: its 1 sources must lie in 0..0, the input sources"),
    "comp_index": (dict(arrays=_set("comp_index", 1, 7)),
                   "array 'comp_index' holds 7 at compartment 1, outside population 'b' (0..0)"),
    "comp_index of a relay": (dict(arrays=lambda a: (_set("comp_pop", 2, -1)(a), _set("comp_index", 2, 9)(a))),
                              "array 'comp_index' holds 9 at compartment 2, outside the compartments (0..2)"),
    "route_axon": (dict(arrays=_set("route_axon", 0, 3)),
                   "array 'route_axon' holds 3, outside 0..2 (a route to an axon that does not exist)"),
    "route_ptr": (dict(arrays=_set("route_ptr", 1, 5)), "array 'route_ptr' must rise from 0 to 3"),
    "axon_syn_ptr": (dict(arrays=_set("axon_syn_ptr", -1, 2)), "array 'axon_syn_ptr' must rise from 0 to 3"),
    "syn_target": (dict(arrays=_set("syn_target", 0, -1)),
                   "array 'syn_target' holds -1, outside 0..2 (a synapse onto a compartment"),
    "syn_weight": (dict(arrays=_set("syn_weight", 0, 1 << 30)),
                   "array 'syn_weight' holds 1,073,741,824, outside -256..255 (the chip's 8-bit weights)"),
    "weight exponent": (dict(arrays=_set("axon_weight_exp", 0, 100)),
                        "array 'axon_weight_exp' holds 100, outside -7..7 (the chip's weight exponents)"),
    "delay": (dict(arrays=_set("syn_delay", 0, 1000)),
              "array 'syn_delay' holds 1,000, outside 0..61 (the chip's delays, in extra steps)"),
    "v_scale": (dict(arrays=_set("v_scale", 0, np.nan)),
                "array 'v_scale' holds a value that is not a finite number"),
    "comp_core": (dict(arrays=lambda a: a.__setitem__("comp_core", np.full(3, 10**6, dtype=np.int32))),
                  "comp_core disagrees with core 0's range"),
    "one neuron per core": (dict(doc=_doc("chip", "core", "neurons", value=1)),
                            "cores.0: core 0 holds 3 compartments, the chip's cores 1"),
    "usage": (dict(doc=lambda d: d["cores"][0]["usage"].__setitem__("axons_in", 10**6)),
              "cores.0: axons_in (1,000,000) exceeds the chip's limit (4,096)"),
    "an infinite energy": (dict(doc=lambda d: d["chip"]["profiles"]["davies2018"]["energy"]
                                .__setitem__("synop_pj", float("inf"))),
                           "chip.profiles.davies2018.energy.synop_pj: Input should be a finite number"),
    "another family": (dict(doc=_doc("family", value="truenorth")),
                       "family: 'truenorth', but its chip's neuron family is 'loihi_cuba_lif'"),
    "a slice": (dict(doc=lambda d: d["cores"][0]["slices"][0].__setitem__("stop", 1)
                     or d["cores"][0]["slices"][0].__setitem__("population", "zz")),
                "cores.0.slices.0: zz[0:1] is not a range of a population of the network"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_tampered_mapping_is_refused_naming_the_field(saved, tmp_path, case):
    edit, expected = CASES[case]
    path = _tamper(saved, tmp_path, **edit)
    with pytest.raises(InputFileError) as info:
        Mapping.load(path)
    text = info.value.render()
    assert f"'{path}' is not a valid neurocomp mapping" in text
    assert expected in text


def test_the_untampered_copy_loads_and_runs(saved, tmp_path):
    path = _tamper(saved, tmp_path)  # the same content, written through the helper
    result = nc.run(Mapping.load(path), steps=20)
    assert [int(t) for t in result.spikes["c"].times] == [9]  # examples/chain.snn's header


def test_the_command_line_exits_1_not_139(saved, tmp_path):
    """The case that segfaulted, through the command line: one error line, exit 1."""
    path = _tamper(saved, tmp_path, **CASES["input_offset"][0])
    proc = subprocess.run([sys.executable, "-m", "neurocomp", "run", str(path), "--steps", "20"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "input_offset['stim']" in proc.stderr


def test_the_verifier_and_the_loader_share_their_checks(saved):
    """A Mapping built in memory with the same fault fails verify() with the same words."""
    import dataclasses

    from neurocomp.ir.verify import VerifyError, verify

    m = Mapping.load(saved[0])
    bad = dataclasses.replace(m, input_offset={"stim": 10**9})
    with pytest.raises(VerifyError, match=r"input_offset\['stim'\] is 1,000,000,000"):
        verify(bad, m.chip)
    assert not issubclass(VerifyError, NeurocompError)  # a compiler bug, not the user's mistake


@pytest.mark.parametrize("key, value, expected", [
    ("bias_exp", 100, "bias_exp = 100 is outside -63..63 (a shift of a 64-bit integer)"),
    ("du", 10**6, "du = 1000000 is outside 0..4095 (12-bit decay)"),
    ("refractory", 10**9, "refractory = 1000000000 is outside 0..63 (the chip's refractory_max_steps)"),
])
def test_family_parameters_out_of_the_chips_range_are_refused_before_the_kernel_runs(saved, tmp_path, key,
                                                                                      value, expected):
    """Per-neuron parameters are the family's: its kernel's prepare() checks them against the
    chip (loihi.toml: 12-bit decays, refractory_max_steps 63) before a step runs."""
    path = _tamper(saved, tmp_path, arrays=_set(f"params.{key}", 0, value))
    mapping = Mapping.load(path)
    with pytest.raises(NeurocompError) as info:
        nc.run(mapping, steps=5)
    assert expected in info.value.render()
