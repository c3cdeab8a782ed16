"""The IR verifier: a pass that breaks its contract is named, with the invariant it broke.

(Every compile in the test suite runs the verifier after each pass: conftest.py sets
NEUROCOMP_VERIFY=1, so the other tests show that correct artifacts pass it.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.chip.load import load_chip
from neurocomp.compiler.lower import lower
from neurocomp.compiler.pipeline import RoutePass, compile_network, default_passes
from neurocomp.compiler.quantize import quantize
from neurocomp.ir.lowered import LoweredNetwork
from neurocomp.ir.verify import VerifyError, verify, verify_enabled

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "examples" / "chain.snn"


@pytest.fixture(scope="module")
def loihi():
    return load_chip("loihi")


def test_the_test_suite_verifies_every_pass():
    assert verify_enabled()


def test_a_zero_weight_kept_as_a_synapse_is_named(loihi):
    q = quantize(nc.load(CHAIN), loihi)
    proj = q.projections["a->b"]
    bad = dataclasses.replace(proj, synapses=dataclasses.replace(
        proj.synapses, weights=np.zeros_like(proj.synapses.weights)))
    broken = dataclasses.replace(q, projections={**q.projections, "a->b": bad})
    verify(q, loihi)
    with pytest.raises(VerifyError, match="projection 'a->b': a weight of 0 is kept as a synapse"):
        verify(broken, loihi)


def test_a_target_outside_the_population_is_named():
    net = nc.load(CHAIN)
    syn = lower(net)
    bad = dict(syn)
    bad["b->c"] = dataclasses.replace(syn["b->c"], indices=np.array([5], dtype=np.int32))
    verify(LoweredNetwork(network=net, synapses=syn))
    with pytest.raises(VerifyError, match=r"projection 'b->c': a target index outside 0..0"):
        verify(LoweredNetwork(network=net, synapses=bad))


def test_two_neurons_on_one_compartment_are_named(loihi):
    seen = {}
    compile_network(nc.load(CHAIN), loihi, on_pass=lambda p, a, s: seen.setdefault(p.name, a))
    part = seen["partition"]  # a, b and c on one core, compartments 0, 1, 2
    broken = dataclasses.replace(part, node_local=np.zeros_like(part.node_local))
    with pytest.raises(VerifyError, match="two neurons share one compartment"):
        verify(broken, loihi)


@dataclasses.dataclass(frozen=True)
class _BrokenRoute(RoutePass):
    """A route pass that points the last synapse past the last compartment."""

    def run(self, placement, chip):
        m = super().run(placement, chip)
        target = m.syn_target.copy()
        target[-1] = m.n_comp
        return dataclasses.replace(m, syn_target=target)


def test_the_pipeline_names_the_pass_that_broke_an_invariant(loihi):
    passes = default_passes()[:-1] + (_BrokenRoute(),)
    with pytest.raises(VerifyError, match=r"after pass 'route': array 'syn_target' holds 3, outside 0..2 "
                                          r"\(a synapse onto a compartment that does not exist\)"):
        compile_network(nc.load(CHAIN), loihi, passes=passes, verify_passes=True)
    # unverified, the broken Mapping goes through: the check is the verifier's, not route's
    assert compile_network(nc.load(CHAIN), loihi, passes=passes, verify_passes=False).syn_target[-1] == 3
