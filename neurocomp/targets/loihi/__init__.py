"""Intel Loihi's compartment: Lava's bit-accurate CUBA LIF (``loihi_cuba_lif``).

``quantize.py`` holds Lava's Dense weight rule and the decay/threshold/bias registers;
``kernel.py`` the bit-exact step (``docs/emulator.md``). Loihi 2 chip files use this family
too, with Loihi 1 arithmetic.
"""

from ...chip.family import Family, register

FAMILY = register(Family(
    name="loihi_cuba_lif",
    native="loihi",
    chip_keys=("numerics.decay", "numerics.threshold", "numerics.bias", "numerics.input_shift",
               "numerics.state.u", "numerics.state.v", "neuron.threshold_compare"),
    quantizer="neurocomp.targets.loihi.quantize:quantize_loihi",
    kernel="neurocomp.targets.loihi.kernel",
    traces={"voltage": "v", "current": "u"},
    payloads=False,  # Loihi 1 spikes carry no value
    # distinct (du, dv, refractory) take one compartment config each; distinct vth one VthConfig
    neuron_registers={"compartment": ("du", "dv", "refractory"), "vth": ("vth_mant",)},
    synapse_registers=("synapse",),
    native_population={"du": "integer", "dv": "integer", "vth_mant": "integer",
                       "bias_mant": "integers", "bias_exp": "integer", "refractory": "integer"},
    native_projection={"weights": "integer_file", "weight_exp": "integer", "weight_bits": "integer",
                       "sign_mode": ("mixed", "excitatory", "inhibitory")},
    learning=True,  # learning.py: Lava 0.10's fixed-point learning engine
    learning_registers=("stdp_pre",),  # nengo-loihi's StdpPreCfg: the pre-trace setting
))
