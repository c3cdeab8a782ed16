"""Akida's NP mapping, as BrainChip's own mapper does it (pip ``akida`` 2.19.3, AKD1000).

The generic partitioner packs neurons into cores by their synapses; the vendor does not.
Its mapper takes the network layer by layer, gives every layer NPs of its own (never two
layers on one NP), and sizes them by the layer's shape, not by unrolled synapses (a
convolution's filters are stored once and shared by every position). What this module
reproduces, each rule observed on the vendor's virtual AKD1000
(``tests/test_akida_vendor_map.py`` checks the counts against it):

``FullyConnected`` -> one FNP
    on an FNP3 when its weights fit the NP's weight SRAM (44,800 B), else on an FNP2
    whose weights sit in external memory (4 FNP2 on AKD1000; when the 18 FNP3 are taken,
    a layer that would fit one goes on an FNP2 too). A layer is never split: 100,000 units went on one
    FNP2. Stored bytes per unit: ``ceil(inputs / 32) · 32 · b / 8 + 16`` with ``b`` = 1, 2
    and 6 bits for 1, 2 and 4-bit weights (the engine's ``mem_info``). At most 57,334
    inputs (the engine's message).
``Convolutional`` / ``SeparableConvolutional`` -> CNP1
    split over spatial partitions of at most 32 x 256 input positions (first x second
    dimension of the vendor's ``(x, y, c)`` shape: neurocomp's ``[C, H, W]`` is
    ``(H, W, C)``), and over filters. ``Minimal`` puts as many filters on one NP as fit
    (at most 504, and the weight SRAM); ``AllNps`` (the vendor's default) spreads the
    filters: the smallest common number of filters per NP for which every convolutional
    layer of the model fits the CNP-capable NPs left by the fully connected layers.
``InputConvolutional`` (8-bit image, 1 or 3 channels) -> the HRC, outside the NP mesh.

Everything else the vendor refuses is refused here with its rule, the layer and the fix
(:func:`check_layers`). What neurocomp does not model: the vendor's ``HwPr`` mode, and
models that need several hardware *sequences* (the vendor reprograms the mesh between
them; neurocomp maps one, as the vendor does with ``hw_only=True``).

:func:`partition_akida` is the family's partitioner (registered in
:mod:`neurocomp.targets.akida`): the NP plan becomes a
:class:`~neurocomp.ir.partition.Partition` with one logical core per NP.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...chip.spec import ChipSpec
from ...diagnostics import CapacityError, QuantizationError, Span, UsageError, did_you_mean
from ...ir.connectors import Conv2d, Pool2d
from ...ir.encoders import ConstantCurrent, GradedFrames
from ...ir.values import as_array
from ...ir.partition import Partition
from ...ir.quantized import QuantizedNetwork

__all__ = ["Layer", "NP", "Plan", "MODES", "DEFAULT_MODE", "layers_of", "check_layers", "map_layers",
           "partition_akida", "fnp_weight_bytes", "cnp_weight_bytes"]

#: The vendor's map modes neurocomp reproduces (``MapMode.AllNps``, ``MapMode.Minimal``);
#: ``auto`` is the vendor's default, ``AllNps``.
MODES = ("all_nps", "minimal")
DEFAULT_MODE = "all_nps"

# Limits of the 2.19.3 mapper for AKD1000 (NSoC_v2), from its MapConstraints and messages.
CNP_MAX_FILTERS = 504  # MapConstraints.cnp_max_filters_default
CNP_MAX_X = 32  # cnp_max_width_default: positions of the first dimension per NP
CNP_MAX_Y = 256  # cnp_max_height_default
FNP_MAX_INPUTS = 57_334  # "Input dimensions are too large to fit in a FNP. The maximum value is 57334."
HRC_MAX_Y = 256  # "The maximum input second dimension size is 256"
#: The HRC's most filters by kernel and input channels (BrainChip's AKD1000 constraints page;
#: the engine's "num_neurons should be set between 1 and N").
HRC_MAX_FILTERS = {3: {1: 512, 3: 192}, 5: {1: 192, 3: 64}, 7: {1: 96, 3: 32}}
GAP_MAX_X = 32  # "With average pooling, input height cannot exceed 32."
#: bits one weight takes in an FNP's memory, by weight width (the engine's mem_info).
FNP_STORED_BITS = {1: 1, 2: 2, 4: 6}
CONV_KERNELS = (1, 3, 5, 7)
SEPARABLE_KERNELS = (3, 5, 7)


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One Akida layer as the vendor's mapper sees it.

    ``in_shape`` is the vendor's ``(x, y, c)`` (a fully connected layer's input is
    ``(1, 1, n)``); ``act_bits`` is ``None`` for a layer without activation (its output is
    the 20-bit potential). ``pool`` is ``"none"``, ``"max"`` or ``"global_avg"``.
    ``populations`` are neurocomp's populations the layer's neurons are in (the layer's
    own, then a pooling population folded into it). ``source`` names the layer it reads
    (``""``: the input); ``None``, for the vendor's sequential models, is the layer before
    it in the list.
    """

    name: str
    kind: str  # "input_conv" | "conv" | "separable" | "dense" | "pool" (neurocomp's: no vendor layer)
    in_shape: tuple[int, int, int]
    filters: int
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    same_padding: bool = True
    weight_bits: int = 4
    in_bits: int = 1
    act_bits: int | None = 1
    pool: str = "none"
    pool_size: tuple[int, int] = (1, 1)
    populations: tuple[str, ...] = ()
    span: Span | None = None
    source: str | None = None  # the layer it reads ("": the input); None: the one before it

    @property
    def n_inputs(self) -> int:
        return self.in_shape[0] * self.in_shape[1] * self.in_shape[2]

    @property
    def partitions(self) -> int:
        """Spatial partitions of a convolution (1 for other layers)."""
        if self.kind not in ("conv", "separable"):
            return 1
        return math.ceil(self.in_shape[0] / CNP_MAX_X) * math.ceil(self.in_shape[1] / CNP_MAX_Y)

    def where(self) -> str:
        return f"layer '{self.name}'"

    def named(self) -> str:
        """The layer's name to open a message with when a span, not ``where``, locates it."""
        return f"{self.where()}: " if self.span is not None else ""


@dataclass(frozen=True)
class NP:
    """One processor of the plan: the layer it runs, as which kind, and its memory."""

    layer: str
    kind: str  # "CNP1" | "FNP2" | "FNP3" | "HRC"
    filters: int
    weight_bytes: int  # in the NP's weight SRAM
    input_bytes: int  # in its input SRAM
    external_bytes: int  # weights in external memory (FNP2)


@dataclass(frozen=True)
class Plan:
    """The NPs a model takes, in layer order (a layer's NPs are consecutive)."""

    mode: str
    layers: tuple[Layer, ...]
    nps: tuple[NP, ...]
    notes: tuple[str, ...] = ()  # what the vendor would do otherwise (check_layers, strict=False)

    def by_kind(self) -> dict[str, int]:
        """NP kind -> count (the HRC included, under ``"HRC"``)."""
        out: dict[str, int] = {}
        for n in self.nps:
            out[n.kind] = out.get(n.kind, 0) + 1
        return dict(sorted(out.items()))

    def of_layer(self, name: str) -> tuple[NP, ...]:
        return tuple(n for n in self.nps if n.layer == name)

    @property
    def n_nps(self) -> int:
        """Mesh NPs (the HRC is not one)."""
        return sum(1 for n in self.nps if n.kind != "HRC")

    def lines(self) -> list[str]:
        """What ``neurocomp compile --chip akida`` prints."""
        kinds = ", ".join(f"{n} {k}" for k, n in self.by_kind().items() if k != "HRC")
        if len(self.nps) > self.n_nps:
            # The header's core count holds the HRC too (a CNP1 slot in the emulation).
            kinds += f"; plus the HRC ({len(self.nps)} cores in the mapping)"
        sram_w = sum(n.weight_bytes for n in self.nps)
        sram_i = sum(n.input_bytes for n in self.nps)
        ext = sum(n.external_bytes for n in self.nps)
        out = [f"Akida NPs ({self.mode}): {self.n_nps} NP(s): {kinds}; weight SRAM {sram_w:,} B, "
               f"input SRAM {sram_i:,} B, external memory {ext:,} B"]
        for layer in self.layers:
            nps = self.of_layer(layer.name)
            kind = "/".join(sorted({n.kind for n in nps}))
            ext_l = sum(n.external_bytes for n in nps)
            hrc = " (outside the mesh; neurocomp's emulation holds its outputs on a CNP1 slot)" \
                if kind == "HRC" else ""
            out.append(f"  layer '{layer.name}' ({layer.kind}): {len(nps)} {kind}{hrc}, filters per NP "
                       f"{max(n.filters for n in nps):,}, weight SRAM {sum(n.weight_bytes for n in nps):,} B"
                       + (f", external {ext_l:,} B" if ext_l else ""))
        return out + list(self.notes)

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "by_kind": self.by_kind(),
                "nps": [dataclasses.asdict(n) for n in self.nps]}


# --------------------------------------------------------------------------- memory


def fnp_weight_bytes(n_inputs: int, units: int, weight_bits: int) -> int:
    """Bytes a fully connected layer's weights take (the engine's ``mem_info``)."""
    per_unit = math.ceil(n_inputs / 32) * 32 * FNP_STORED_BITS[weight_bits] // 8 + 16
    return per_unit * units


def fnp_input_bytes(n_inputs: int) -> int:
    return math.ceil(n_inputs / 32) * 4


def cnp_weight_bytes(layer: Layer, filters: int) -> int:
    """Bytes ``filters`` filters of a convolution take: their weights, stored once.

    The information content (``kx·ky·c·bits`` per filter; a separable layer's depthwise
    kernel once plus ``c·bits`` per pointwise filter). The vendor's layout rounds up (by
    4 % for 3x3 4-bit kernels, more for 1x1): an approximation, marked so in the docs."""
    kx, ky = layer.kernel
    c = layer.in_shape[2]
    if layer.kind == "separable":
        bits = kx * ky * c * layer.weight_bits + filters * c * layer.weight_bits
    else:
        bits = filters * kx * ky * c * layer.weight_bits
    return math.ceil(bits / 8)


def cnp_input_bytes(layer: Layer) -> int:
    """Input bytes of one NP: its spatial partition of the input (the engine's ``mem_info``
    reports the whole input on every NP; an NP buffers only its own part)."""
    return math.ceil(layer.n_inputs * max(layer.in_bits, 1) / 8 / layer.partitions)


# --------------------------------------------------------------------------- rules


def check_layers(layers: tuple[Layer, ...], chip: ChipSpec, *, strict: bool = True) -> tuple[str, ...]:
    """Refuse what the vendor's engine refuses, quoting its rule.

    ``strict=False`` turns the vendor's *sequence* rules (where a layer with max pooling
    may stand) into notes, returned: the vendor's default mapping runs such a layer in
    software between two hardware sequences, and neurocomp's emulation runs it on a CNP.

    Raises
    ------
    QuantizationError
        A layer the vendor cannot build or map (padding, kernel, stride, pooling, weight
        or input widths, a fully connected layer after a wider output).
    CapacityError
        A layer too large for any NP (inputs of a fully connected layer, input channels
        of a convolution).
    """
    errors: list[Exception] = []
    notes: list[str] = []
    by_name = {x.name: x for x in layers}
    # The layer each reads (None: the input); a layer without ``source`` reads the one before it.
    source = [(layers[i - 1] if i else None) if x.source is None else by_name.get(x.source)
              for i, x in enumerate(layers)]

    def sequence_rule(layer: Layer, rule: str, fix: str) -> None:
        if strict:
            refuse(QuantizationError, layer, rule, fix)
        else:
            notes.append(f"layer '{layer.name}' would not run on the chip's hardware: {rule}; the vendor runs it "
                         f"in software between two hardware sequences, neurocomp emulates it on a CNP1 "
                         f"(fix: {fix})")

    def refuse(cls, layer: Layer, rule: str, fix: str) -> None:
        errors.append(cls(f"{layer.named()}Akida rule broken: {rule}", span=layer.span,
                          where=layer.where(), hint=fix))

    for i, layer in enumerate(layers):
        prev = source[i]
        k = layer.kernel
        if layer.kind == "input_conv":
            if layer.in_shape[2] not in (1, 3):
                refuse(QuantizationError, layer, f"the HRC's input_channels must be 1 or 3 "
                       f"(got {layer.in_shape[2]})", "give the 8-bit input 1 (grey) or 3 (RGB) channels, or "
                       "make the input 1, 2 or 4-bit")
            if layer.in_shape[1] > HRC_MAX_Y:
                refuse(CapacityError, layer, f"the maximum input second dimension size is {HRC_MAX_Y} "
                       f"(got {layer.in_shape[1]})", f"scale the image to at most {HRC_MAX_Y} columns")
            if min(layer.in_shape[:2]) < 5:
                refuse(QuantizationError, layer, f"the HRC's input is at least 5 x 5 (got {layer.in_shape[0]} x "
                       f"{layer.in_shape[1]})", "give the image at least 5 rows and 5 columns")
            if layer.kernel[0] != layer.kernel[1] or layer.kernel[0] not in HRC_MAX_FILTERS:
                refuse(QuantizationError, layer, f"the HRC's kernel size should be 3, 5 or 7 (got "
                       f"{layer.kernel[0]}x{layer.kernel[1]})", "use a square 3x3, 5x5 or 7x7 kernel")
            elif layer.in_shape[2] in (1, 3):
                top = HRC_MAX_FILTERS[layer.kernel[0]][layer.in_shape[2]]
                if layer.filters > top:
                    refuse(CapacityError, layer, f"the HRC's num_neurons should be set between 1 and {top} "
                           f"(a {layer.kernel[0]}x{layer.kernel[0]} kernel on {layer.in_shape[2]} channel(s); "
                           f"got {layer.filters} filters)", f"use at most {top} filters in the first layer")
        elif layer.in_bits == 8:
            refuse(QuantizationError, layer, "an 8-bit input needs a convolutional first layer with 1 or 3 "
                   "channels (InputConvolutional, on the HRC)",
                   "make the first layer a conv2d of a 1- or 3-channel 8-bit image, or quantize the input "
                   "to 1, 2 or 4 bits")
        if layer.kind in ("conv", "separable"):
            if not layer.same_padding:
                refuse(QuantizationError, layer, "only padding same is supported",
                       f"pad by kernel // 2 ({k[0] // 2}, {k[1] // 2}) so the output keeps the input's size")
            allowed = CONV_KERNELS if layer.kind == "conv" else SEPARABLE_KERNELS
            if k[0] != k[1] or k[0] not in allowed:
                refuse(QuantizationError, layer, f"kernel size must be {', '.join(map(str, allowed))} "
                       f"(square; got {k[0]}x{k[1]})", f"use a square kernel of {', '.join(map(str, allowed))}")
            if layer.stride[0] != layer.stride[1] or layer.stride[0] not in (1, 2):
                refuse(QuantizationError, layer, f"convolution stride must be 1 or 2 (got {layer.stride})",
                       "use stride 1, or 2 with a 3x3 kernel")
            elif layer.stride[0] == 2 and k != (3, 3):
                refuse(QuantizationError, layer, "convolution stride 2 is only supported for 3x3 kernels",
                       "use a 3x3 kernel, or stride 1 and max pooling")
            max_c = 896 if layer.weight_bits <= 2 else (149 if k[0] == 7 else 448)
            if layer.in_shape[2] > max_c:
                refuse(CapacityError, layer, f"filter size is too big to fit in a CNP: {layer.in_shape[2]} input "
                       f"channels of {layer.weight_bits}-bit {k[0]}x{k[1]} weights, at most {max_c}",
                       "decrease the input channels or the weight bits")
        if layer.pool == "max":
            if layer.pool_size[0] != layer.pool_size[1]:
                refuse(QuantizationError, layer, "pooling width and height must be equal",
                       "use square max pooling")
            elif layer.pool_size[0] not in (1, 2):
                refuse(QuantizationError, layer, f"max pooling size must be 1 or 2 on AKD1000 (got "
                       f"{layer.pool_size[0]})", "use 2x2 max pooling (twice for 4x4)")
            readers = [x for k, x in enumerate(layers) if source[k] is layer]
            if layer.kind in ("conv", "separable") and \
                    (not readers or any(x.kind not in ("conv", "separable") for x in readers)):
                sequence_rule(layer, "a convolutional or separable convolutional layer with max pooling must be "
                              "followed by another convolutional or separable convolutional layer",
                              "add a convolution after it, or use global average pooling")
        if layer.pool == "global_avg" and layer.in_shape[0] > GAP_MAX_X:
            refuse(QuantizationError, layer, f"with average pooling, input height cannot exceed {GAP_MAX_X} "
                   f"(got {layer.in_shape[0]})", "pool or stride the input down to 32 rows before the layer "
                   "that averages")
        if layer.pool not in ("none", "max", "global_avg"):
            refuse(QuantizationError, layer, f"pooling is max (1 or 2) or global average, not {layer.pool}",
                   "pool over the whole plane (global average) or by 2x2 max")
        wmax = 8 if layer.kind == "input_conv" else 4
        if layer.weight_bits not in ((1, 2, 4) if wmax == 4 else (1, 2, 4, 8)):
            refuse(QuantizationError, layer, f"weight bits should be between 1 and {wmax} "
                   f"(got {layer.weight_bits})", f"quantize the weights to 1, 2 or {wmax} bits")
        if layer.kind == "dense":
            if prev is not None and prev.act_bits is None:
                refuse(QuantizationError, layer, "a FullyConnected layer cannot follow a layer whose output "
                       f"needs more than 4 bits ('{prev.name}' has no activation)",
                       f"give '{prev.name}' an activation (1, 2 or 4 bits)")
            elif prev is None and layer.in_bits > 4:
                refuse(QuantizationError, layer, "a FullyConnected layer cannot take an input wider than 4 bits",
                       "quantize the input to 1, 2 or 4 bits, or start with a convolution")
            if layer.n_inputs > FNP_MAX_INPUTS:
                refuse(CapacityError, layer, f"input dimensions are too large to fit in a FNP: {layer.n_inputs:,}, "
                       f"the maximum is {FNP_MAX_INPUTS:,}", "shrink the layer's input (pool before it, or "
                       "fewer channels)")
    if errors:
        cls = CapacityError if all(isinstance(e, CapacityError) for e in errors) else QuantizationError
        raise cls([d for e in errors for d in e.diagnostics])  # type: ignore[attr-defined]
    return tuple(notes)


# --------------------------------------------------------------------------- NP counts


def _processors(chip: ChipSpec) -> dict[str, int]:
    """NP kind -> NPs of the chip that can run it (a {CNP1, FNP3} NP counts for both)."""
    out: dict[str, int] = {}
    for group in chip.connectivity.processors:
        for k in group.kinds:
            out[k] = out.get(k, 0) + group.count
    return out


def _groups(chip: ChipSpec) -> list[set[str]]:
    return [set(g.kinds) for g in chip.connectivity.processors for _ in range(g.count)]


def _cnp_split(layer: Layer, per_np: int) -> list[int]:
    """Filters of each NP of one partition when at most ``per_np`` go on one: as many NPs
    as that takes, each filled evenly but the last, which takes the rest (the vendor's
    split: 64 filters at 3 a NP are 21 NPs of 3 and one of 1; 1,024 at 504 are 342, 342, 340)."""
    n = math.ceil(layer.filters / per_np)
    p = math.ceil(layer.filters / n)
    return [p] * (n - 1) + [layer.filters - p * (n - 1)]


def _minimal_per_np(layer: Layer, chip: ChipSpec) -> int:
    """The most filters of ``layer`` one CNP holds: 504, and its weight SRAM."""
    sram = chip.core.sram.weight_bytes if chip.core.sram is not None else None
    per = min(CNP_MAX_FILTERS, layer.filters)
    while sram is not None and per > 1 and cnp_weight_bytes(layer, per) > sram:
        per = max(1, min(per - 1, per * sram // max(cnp_weight_bytes(layer, per), 1)))
    return per


def map_layers(layers: tuple[Layer, ...], chip: ChipSpec, mode: str = DEFAULT_MODE, *, strict: bool = True) -> Plan:
    """The NPs each layer takes on ``chip`` in ``mode`` (``all_nps`` or ``minimal``).

    ``strict`` as in :func:`check_layers` (``True``: the verdict of the vendor's mapper
    with ``hw_only=True``, one hardware sequence).

    Raises
    ------
    QuantizationError, CapacityError
        A layer breaks one of the vendor's rules (:func:`check_layers`), or the model
        needs more NPs of a kind than the chip has.
    """
    if mode not in MODES:
        raise UsageError(f"no Akida map mode '{mode}'", hint=did_you_mean(mode, MODES))
    notes = check_layers(layers, chip, strict=strict)
    notes += tuple(f"layer '{x.name}' only pools, which no vendor layer does (it pools inside a convolution): "
                   "neurocomp emulates it on a CNP1 of its own" for x in layers if x.kind == "pool")
    sram = chip.core.sram
    w_sram = sram.weight_bytes if sram is not None else 0
    have = _processors(chip)
    groups = _groups(chip)
    # Fully connected layers first: their NPs are the scarce kinds.
    fnp: dict[str, NP] = {}
    free_fnp3 = sum(1 for g in groups if "FNP3" in g)
    free_fnp2 = sum(1 for g in groups if "FNP2" in g)
    for layer in layers:
        if layer.kind != "dense":
            continue
        wb = fnp_weight_bytes(layer.n_inputs, layer.filters, layer.weight_bits)
        inb = fnp_input_bytes(layer.n_inputs)
        if wb <= w_sram and free_fnp3:
            free_fnp3 -= 1
            fnp[layer.name] = NP(layer.name, "FNP3", layer.filters, wb, inb, 0)
        elif free_fnp2:  # too large for an FNP3's SRAM, or the FNP3 are taken
            free_fnp2 -= 1
            fnp[layer.name] = NP(layer.name, "FNP2", layer.filters, 0, inb, wb)
        else:
            kind = "FNP2" if wb > w_sram else "FNP3"
            need = sum(1 for x in layers if x.kind == "dense" and
                       (fnp_weight_bytes(x.n_inputs, x.filters, x.weight_bits) > w_sram) == (kind == "FNP2"))
            raise CapacityError(
                f"{layer.named()}not enough NPs of type {kind}: the model's fully connected layers need {need}, "
                f"{chip.name} has {have.get(kind, 0)}", span=layer.span, where=layer.where(),
                hint=(f"its weights ({wb:,} B) exceed an NP's {w_sram:,} B of SRAM, so it needs an FNP2 with "
                      "external memory: make fully connected layers smaller (fewer units or inputs) so they fit "
                      "an FNP3 (the vendor would run the model in several sequences, reprogramming the mesh "
                      "between them, which neurocomp does not model)") if kind == "FNP2" else
                "use fewer fully connected layers")
    used_fnp = len(fnp)
    cnp_room = sum(1 for g in groups if "CNP1" in g) - used_fnp - sum(1 for x in layers if x.kind == "pool")
    convs = [x for x in layers if x.kind in ("conv", "separable")]
    mins = {x.name: _minimal_per_np(x, chip) for x in convs}
    if mode == "minimal":
        per = dict(mins)
    else:
        # AllNps: the smallest common number of filters per NP that fits the CNPs left.
        per = dict(mins)
        for f in range(1, max([x.filters for x in convs], default=1) + 1):
            trial = {x.name: min(max(f, 1), mins[x.name]) for x in convs}
            if sum(x.partitions * len(_cnp_split(x, trial[x.name])) for x in convs) <= cnp_room:
                per = trial
                break
    need = sum(x.partitions * len(_cnp_split(x, per[x.name])) for x in convs)
    if need > cnp_room:
        # The layer at which the CNPs run out, as the vendor names it.
        total, at = 0, convs[-1]
        for x in convs:
            total += x.partitions * len(_cnp_split(x, per[x.name]))
            if total > cnp_room:
                at = x
                break
        raise CapacityError(
            f"{at.named()}not enough NPs of type CNP1: the model's convolutions need {need}, {chip.name} has "
            f"{cnp_room} left after {used_fnp} fully connected NP(s)", span=at.span, where=at.where(),
            hint="use fewer or smaller convolutions (filters, input size); the vendor would run the model in "
            "several sequences, reprogramming the mesh between them, which neurocomp does not model")
    nps: list[NP] = []
    for layer in layers:
        if layer.kind == "dense":
            nps.append(fnp[layer.name])
        elif layer.kind == "pool":
            nps.append(NP(layer.name, "CNP1", layer.filters, 0, cnp_input_bytes(layer), 0))
        elif layer.kind == "input_conv":
            kx, ky = layer.kernel
            nps.append(NP(layer.name, "HRC", layer.filters,
                          math.ceil(layer.filters * kx * ky * layer.in_shape[2] * 8 / 8), 0, 0))
        else:
            for _ in range(layer.partitions):
                for f in _cnp_split(layer, per[layer.name]):
                    nps.append(NP(layer.name, "CNP1", f, cnp_weight_bytes(layer, f), cnp_input_bytes(layer), 0))
    return Plan(mode=mode, layers=layers, nps=tuple(nps), notes=notes)


# --------------------------------------------------------------------------- from a network


def _no_activation(qnet: QuantizedNetwork, pop: str) -> bool:
    """A read-out (LI): ``act_bits`` 0, or the largest threshold (the activation off)."""
    qp = qnet.populations[pop]
    bits = qp.params.get("act_bits")
    if bits is not None and np.size(bits) and bool(np.all(np.asarray(bits) == 0)):
        return True
    thr = qp.params.get("threshold")
    return thr is not None and bool(np.all(np.asarray(thr) == np.iinfo(np.int64).max))


def _bits(qnet: QuantizedNetwork, pop: str, default: int) -> int:
    """The width of the events ``pop`` sends: its ``act_bits``; an input's, the narrowest of
    1, 2, 4, 8 bits that holds its values (a graded ``current`` source), else 1 (spikes)."""
    p = qnet.network.populations[pop]
    if p.is_input:
        if isinstance(p.encoder, ConstantCurrent):
            top = float(np.max(as_array(p.encoder.value, p.size), initial=0.0))
            return next((b for b in (1, 2, 4) if top <= 2 ** b - 1), 8)
        if isinstance(p.encoder, GradedFrames):  # a file of frames: its largest value
            top = float(np.max(p.encoder.values.values, initial=0.0))
            return next((b for b in (1, 2, 4) if top <= 2 ** b - 1), 8)
        return 1
    a = qnet.populations[pop].params.get("act_bits")
    return int(np.max(a)) if a is not None and np.size(a) and np.max(a) > 0 else default


def layers_of(qnet: QuantizedNetwork) -> tuple[Layer, ...]:
    """neurocomp's populations as the vendor's layers, in network order.

    A population fed by one ``conv2d`` is a convolution (an ``InputConvolutional`` when
    it reads an 8-bit input, or a 1- or 3-channel input with 8-bit weights); by ``dense``
    (or any other connector) a fully connected layer (several projections into one
    population: one fully connected layer over all their sources); a population fed by ``avg_pool``/``sum_pool`` over a convolution's whole plane
    is that convolution's global average pooling, and shares its NPs.

    Raises
    ------
    QuantizationError
        A population fed by several projections (Akida layers are sequential), or a
        pooling the vendor has no layer for.
    """
    net = qnet.network
    feeds: dict[str, list] = {}
    for proj in net.projections:
        feeds.setdefault(proj.post, []).append(proj)
    layers: list[Layer] = []
    by_pop: dict[str, int] = {}
    for name, pop in net.populations.items():
        if pop.is_input:
            continue
        projs = feeds.get(name, [])
        if not projs:
            raise QuantizationError(f"population '{name}' is fed by no projection; every Akida layer reads one",
                                    span=pop.span, where=f"population '{name}'",
                                    hint=f"connect a population or an input to '{name}', or remove it")
        proj = projs[0]
        pre = net.populations[proj.pre]
        qproj = qnet.projections[proj.name]
        src_name = "" if pre.is_input or proj.pre not in by_pop else layers[by_pop[proj.pre]].name
        in_bits = max(_bits(qnet, p.pre, 1) for p in projs)
        act = None if _no_activation(qnet, name) else _bits(qnet, name, 1)
        # A layer reading the input that is not the HRC's stores at most 4-bit weights: the
        # quantizer may give every projection from an input the input layer's 8 bits, the
        # vendor has them on its InputConvolutional only (the plan counts what it would store).
        wbits = max(min(int(qnet.projections[p.name].weight_bits), 4) if net.populations[p.pre].is_input
                    else int(qnet.projections[p.name].weight_bits) for p in projs)
        if len(projs) > 1:
            # The vendor's layers read one tensor; neurocomp maps several projections into one
            # population as one fully connected layer over all their sources.
            n_in = sum(int(np.prod(net.populations[p.pre].shape)) for p in projs)
            layer = Layer(name=name, kind="dense", in_shape=(1, 1, n_in), filters=pop.size, weight_bits=wbits,
                          in_bits=in_bits, act_bits=act, populations=(name,), span=pop.span, source=src_name)
            by_pop[name] = len(layers)
            layers.append(layer)
            continue
        c = proj.connector
        if isinstance(c, Pool2d):
            src = by_pop.get(proj.pre)
            conv_src = src is not None and layers[src].kind in ("conv", "separable", "input_conv") \
                and layers[src].pool == "none"
            whole = len(pre.shape) == 3 and tuple(c.size) == tuple(pre.shape[1:])
            if conv_src and c.kind == "max":
                # The convolution's max pooling: the layer's activations, pooled (its NPs).
                layers[src] = dataclasses.replace(layers[src], pool="max", pool_size=tuple(c.size),
                                                  populations=layers[src].populations + (name,))
                by_pop[name] = src
                continue
            if conv_src and c.kind in ("avg", "sum") and whole:
                # Global average pooling (the vendor's is a sum over the plane), thresholded by the pool.
                layers[src] = dataclasses.replace(layers[src], pool="global_avg",
                                                  populations=layers[src].populations + (name,), act_bits=act)
                by_pop[name] = src
                continue
            if conv_src:
                raise QuantizationError(
                    f"population '{name}': Akida pools inside a convolutional layer, by 1x1 or 2x2 max or by a "
                    f"global average over the whole plane; {c.kind}_pool of size {tuple(c.size)} on "
                    f"'{proj.pre}' is neither", span=proj.span, where=f"projection '{proj.name}'",
                    hint=f"use max_pool(size = 2), or sum_pool(size = {list(pre.shape[1:])}) for a global average")
            # A pooling of an input or of a fully connected layer: no vendor layer does it.
            shape = tuple(pre.shape) if len(pre.shape) == 3 else (1, 1, int(np.prod(pre.shape)))
            layer = Layer(name=name, kind="pool", in_shape=(shape[1], shape[2], shape[0]), filters=shape[0],
                          kernel=tuple(c.size), stride=tuple(c.stride), in_bits=in_bits, act_bits=act,
                          populations=(name,), span=proj.span, source=src_name)
            by_pop[name] = len(layers)
            layers.append(layer)
            continue
        if isinstance(c, Conv2d):
            k = c.kernel.values.shape
            cin, h, w = pre.shape
            same = tuple(c.padding) == (k[2] // 2, k[3] // 2)
            # A convolution of an 8-bit input is the InputConvolutional (on the HRC); so is a
            # convolution of a 1- or 3-channel input the quantizer gave 8-bit weights, which
            # only the HRC holds. Other convolutions of the input are counted at 4 bits.
            hrc_weights = qproj.weight_bits > 4 and cin in (1, 3)
            kind = "input_conv" if pre.is_input and (in_bits == 8 or hrc_weights) else "conv"
            layer = Layer(name=name, kind=kind, in_shape=(h, w, cin), filters=int(k[0]), kernel=(int(k[2]), int(k[3])),
                          stride=tuple(c.stride), same_padding=same,
                          weight_bits=int(qproj.weight_bits) if kind == "input_conv" else wbits,
                          in_bits=in_bits, act_bits=act, populations=(name,), span=proj.span, source=src_name)
        else:
            n_in = int(np.prod(pre.shape))
            layer = Layer(name=name, kind="dense", in_shape=(1, 1, n_in), filters=pop.size,
                          weight_bits=wbits, in_bits=in_bits, act_bits=act,
                          populations=(name,), span=proj.span, source=src_name)
        by_pop[name] = len(layers)
        layers.append(layer)
    return tuple(layers)



# --------------------------------------------------------------------------- the partitioner


def partition_akida(qnet: QuantizedNetwork, chip: ChipSpec | None = None, *, strategy: str = "auto") -> Partition:
    """The family's partitioner: one logical core per NP of :func:`map_layers`.

    ``strategy`` is a map mode (:data:`MODES`; ``auto`` is the vendor's default; a generic
    strategy's name maps in the default mode, with a note saying so). A
    layer's neurons are cut into its NPs in flat order, filters first (``[C, H, W]``:
    an NP of a single spatial partition holds whole channels, as the vendor's does).
    Each core's usage is the plan's: weight SRAM (a convolution's weights once per NP,
    not per synapse), input SRAM, and ``external_bytes`` (FNP2).
    """
    from ...compiler.partition.measure import measure
    from ...compiler.partition.problem import build, check_delays
    from ...compiler.partition.result import to_partition
    from ...compiler.partition.strategies import Cut

    from ...compiler.partition.strategies import PARTITIONERS

    chip = qnet.chip if chip is None else chip
    notes: tuple[str, ...] = ()
    mode = DEFAULT_MODE if strategy == "auto" else strategy
    if strategy in PARTITIONERS:
        # A generic strategy (a sweep over several chips names one for all): the vendor's
        # default mode instead, said in the summary.
        mode = DEFAULT_MODE
        notes = (f"partition strategy '{strategy}' packs neurons by synapses, which Akida does not do: its "
                 f"layers were mapped as its vendor's mapper does, in map mode {mode} (--partition all_nps "
                 "or minimal)",)
    if mode not in MODES:
        raise UsageError(f"no Akida map mode '{strategy}'", hint=did_you_mean(strategy, ("auto", *MODES)))
    check_delays(qnet, chip)
    layers = layers_of(qnet)
    plan = map_layers(layers, chip, mode, strict=False)
    prob = build(qnet, chip)
    node_core = np.full(prob.n_nodes, -1, dtype=np.int32)
    first = dict(zip(prob.pops, prob.pop_first.tolist()))
    size = dict(zip(prob.pops, prob.pop_size.tolist()))
    core_np: list[NP] = []
    for layer in layers:
        nps = plan.of_layer(layer.name)
        base = len(core_np)
        core_np.extend(nps)
        for pop in layer.populations:
            n = size[pop]
            # Neurons to NPs in proportion to the filters each runs.
            share = np.array([p.filters for p in nps], dtype=np.float64)
            edges = np.round(np.concatenate([[0.0], np.cumsum(share)]) / share.sum() * n).astype(np.int64)
            for k in range(len(nps)):
                node_core[first[pop] + edges[k]:first[pop] + edges[k + 1]] = base + k
    n_cores = len(core_np)
    per_core = np.bincount(node_core[node_core >= 0], minlength=n_cores)
    if n_cores and int(per_core.max()) > chip.core.neurons:
        k = int(per_core.argmax())
        layer = next(x for x in layers if x.name == core_np[k].layer)
        raise CapacityError(f"{layer.named()}one {core_np[k].kind} would hold {int(per_core[k]):,} neurons, "
                            f"{chip.name} has at most {chip.core.neurons:,} per NP", span=layer.span,
                            where=layer.where(), hint="make the layer smaller")
    m = measure(prob, node_core, n_cores)
    part = to_partition(prob, Cut(n_cores, node_core, -1, 0), m, 1, f"akida {mode}", None)
    limits = dict(part.limits)
    cores = []
    for core, np_ in zip(part.cores, core_np):
        usage = dict(core.usage)
        # The plan's memory, not the generic per-synapse count: conv weights are shared,
        # FNP2 weights are external.
        for key in ("synapse_memory_bits", "weight_sram_bytes", "input_sram_bytes"):
            usage.pop(key, None)
        usage.update(weight_sram_bytes=np_.weight_bytes, input_sram_bytes=np_.input_bytes,
                     synapse_memory_bits=np_.weight_bytes * 8, external_bytes=np_.external_bytes)
        # The HRC is outside the NP mesh; neurocomp's emulation holds its outputs on a CNP1 slot.
        kind = "CNP1" if np_.kind == "HRC" else np_.kind
        cores.append(dataclasses.replace(core, usage=usage, processor_kinds=(kind,)))
    report = dataclasses.replace(part.report, notes=(*plan.lines(), *notes))
    return dataclasses.replace(part, cores=tuple(cores), report=report, limits=limits)
