"""BrainChip Akida's event-based layers: integer potentials per frame, quantized activations.

``quantize.py`` chooses weight widths and layer scales; ``kernel.py`` runs each frame from
rest, as BrainChip's own engine does (``tests/test_akida_vendor.py``). Events carry values
(1, 2 or 4-bit activations, 8-bit input pixels): ``native akida(act_bits, act_step)`` on a
population sets its activation (``docs/chips/akida_neuron.md``).
"""

from ...chip.family import Family, register

FAMILY = register(Family(
    name="akida",
    native="akida",
    chip_keys=("numerics.activations",),
    quantizer="neurocomp.targets.akida.quantize:quantize_akida",
    kernel="neurocomp.targets.akida.kernel",
    traces={"voltage": "v"},  # no synaptic current
    payloads=True,  # graded events: activations of 1, 2, 4 bits, input values of up to 8
    native_population={"act_bits": "integers", "act_step": "integers"},
    max_pool=True,  # a layer's max pooling (a max_pool projection)
    # Whole layers on NPs, as BrainChip's mapper does (mapping.py); strategies = its map modes.
    partitioner="neurocomp.targets.akida.mapping:partition_akida",
    strategies=("all_nps", "minimal"),
))
