"""IBM TrueNorth's neuron (Cassidy et al. 2013): a binary crossbar with four axon types.

``quantize.py`` fits weights to axon types and leaks/thresholds to the neuron's registers;
``kernel.py`` runs the neuron's integer step with its reset and stochastic modes.
"""

from ...chip.family import Family, register

FAMILY = register(Family(
    name="truenorth",
    native="truenorth",
    chip_keys=("numerics.leak", "numerics.threshold", "numerics.negative_threshold",
               "numerics.reset_value", "numerics.prng_bits", "numerics.state.v",
               "connectivity.axon_types", "neuron.threshold_compare"),
    quantizer="neurocomp.targets.truenorth.quantize:quantize_truenorth",
    kernel="neurocomp.targets.truenorth.kernel",
    traces={"voltage": "v"},
    payloads=False,  # axons carry spikes without a payload
    native_population={"leak": "integers", "threshold": "integers", "neg_threshold": "integers",
                       "reset_value": "integers", "reset_mode": ("zero", "linear", "none"),
                       "leak_reversal": "boolean", "axon_weights": "integers",
                       "threshold_mask": "integer"},
    native_projection={"axon_type": "integers"},
))
