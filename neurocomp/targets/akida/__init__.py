"""BrainChip Akida's event-based layers: integer potentials per frame, thresholded.

``quantize.py`` chooses weight widths and layer scales; ``kernel.py`` runs each frame from
rest, as BrainChip's own engine does (``tests/test_akida_vendor.py``).
"""

from ...chip.family import Family, register

FAMILY = register(Family(
    name="akida",
    native="akida",
    chip_keys=("numerics.activations",),
    quantizer="neurocomp.targets.akida.quantize:quantize_akida",
    kernel="neurocomp.targets.akida.kernel",
    traces={"voltage": "v"},  # no synaptic current
    payloads=False,  # events of value 1 only (act_bits = 1) in this version
    # Whole layers on NPs, as BrainChip's mapper does (mapping.py); strategies = its map modes.
    partitioner="neurocomp.targets.akida.mapping:partition_akida",
    strategies=("all_nps", "minimal"),
))
