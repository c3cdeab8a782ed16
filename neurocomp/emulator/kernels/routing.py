"""Spike routing shared by every chip kernel: tables built once, one ``@njit`` delivery.

A family kernel (Loihi, TrueNorth, ...) owns its neuron arithmetic; everything between
"source ``s`` fired at step ``t``" and "these integers wait in compartment ``c``'s input
for step ``t + 1 + d``" is here, together with the work counters that it implies. Build
the tables with :func:`routing_tables` (plain numpy, once per Mapping), pass the
resulting :class:`Routing` named tuple straight into your ``@njit`` kernel, and call
:func:`deliver` for every spike.

The accumulator layout
----------------------
Future input lives in ``acc``, an integer ring buffer of shape ``(n_slots, n_rows)``
(int32, or ``info.acc_dtype``: int16 when no row can receive more than 2**15 - 1 in one
step, bounded by the sum of ``|value|`` of the synapses into it):
slot ``t % n_slots`` holds what arrives for step ``t``. ``n_slots`` is
``max(syn_delay) + 2``, so a spike of step ``t`` (landing at ``t + 1`` ...
``t + n_slots - 1``) never writes the slot of step ``t``: a kernel may drain (read and
zero) that slot core by core, interleaved with the deliveries of the spikes of step
``t``, as long as every row is drained before step ``t + 1``.

Rows are grouped in *blocks*. A block is one (core, class) pair: the compartments of
one core, one row each, for one *class* of axons. The class is a family's key (an
int64 per axon, :func:`routing_tables`'s ``axon_class``) for inputs that must be kept
apart until the neuron update: Loihi's weight exponents (a sum of weights is shifted
per projection), TrueNorth's axon types (a count is multiplied by the neuron's weight
for that type). Block ``b`` covers rows ``block_row[b] : block_row[b] + block_size[b]``
for compartments ``block_comp[b] : block_comp[b] + block_size[b]`` (all of its core),
its key is ``block_key[b]``, and ``block_axon[b]`` is one axon of that class on that
core (to look up any other per-axon attribute). Blocks are ordered by core column, then
ascending key; the blocks of column ``j`` are ``core_block_ptr[j] : core_block_ptr[j+1]``. A compartment with no incoming axon of some class has no row for it;
a core with no incoming axon has no block.

What a spike touches is laid out per *source*, so that delivering it reads one record
and two short contiguous runs, and follows no pointer from one table to the next:

* ``src[s]``, one 64-byte record (int64 x 8, aligned to a cache line): its synapses
  ``SYN_LO .. SYN_HI``, its routes ``ROUTE_LO .. ROUTE_HI``, the column of its core
  ``COL`` (-1 for an input) and the links its routes cross, ``HOPS_EW``, ``HOPS_NS``,
  ``HOPS_IC`` (column indices below);
* its routes, one unsigned integer each, ``route[r] = col << route_bits | n`` (``col``
  the column of the receiving core, ``n`` the synapses of the route's axon; uint16
  when both fit 16 bits, else uint32 or uint64) -- only the counters read them;
* its synapses (every synapse of every axon it reaches, route after route):
  ``syn[k]`` packs the row of ``acc`` and the value, ``row << syn_vbits | value`` (value
  in ``syn_vbits``-bit two's complement; int32 when both fit in 31 bits, else int64;
  :func:`syn_row` and :func:`syn_value` unpack it). The row is the target's row in the
  block of its axon's class; the value is added to that row of the slot of step
  ``t + 1 + syn_delay[k]``.

The value is the Mapping's ``syn_weight`` (or the family's ``syn_value``); a synapse onto
a *relay* (``comp_pop == -1``) always adds 1, so a relay's rows count the spikes that
reached it.

Bytes a spike touches: one 64-byte record; per route 2 (4 or 8 when the column and
the axon's synapses need more than 16 bits together); per synapse 4 (or 8) + ``syn_delay``
(1, only when delays differ; otherwise the one ``delay`` is used). At 100,000 neurons a
spike reaches ~70 cores with 1-2 synapses on each, from a random place in memory: the
cost is waiting for memory, not arithmetic, so :func:`deliver_many` prefetches the
records and lists of the spikes a few places ahead. (A first layout that read each
axon's tables in turn, 28 bytes and a chain of dependent loads per route, ran 10x
slower there; int16 pairs per route instead of one packed uint16 cost 15 % more
at 100,000 neurons, where a spike reaches ~60 routes and ~100 synapses.)

The counter layout
------------------
``cnt`` is int64 ``(9, steps, n_cols)``; ``cnt[f]`` is the ``(steps, n_cols)`` array of
:class:`neurocomp.ir.result.Counters` field ``Counters.FIELDS[f]`` (constants
``SPIKES_IN`` ... ``HOPS_INTERCHIP`` below). Column ``j`` is core ``core_ids[j]``, the
Mapping's used cores in ascending id. :func:`deliver` counts, at the sending step ``t``:

* on the sender's core (not for inputs, which come from the host): ``messages_out``
  += routes of ``s``; ``hops_*`` += the links those routes cross (dimension-order);
* on each receiving core: ``spikes_in`` += 1 per route, ``synops`` += the synapses of
  the route's axon.

The kernel counts ``spikes_out`` (one per firing compartment, relays included) and
``updates_active`` / ``updates_inactive`` itself.

Calling convention
------------------
::

    rt, info = routing_tables(mapping, axon_class)        # numpy, once
    acc = np.zeros((info.n_slots, info.n_rows), dtype=info.acc_dtype)  # or int32
    cnt = np.zeros((N_COUNTERS, steps, info.n_cols), dtype=np.int64)
    run_my_family(rt, acc, cnt, ...)                      # your @njit(cache=True) kernel

    # inside the kernel, step t:
    slot = t % rt.n_slots
    for b in range(rt.block_row.shape[0]):                # drain what arrives now
        for i in range(rt.block_size[b]):
            x = acc[slot, rt.block_row[b] + i]            # compartment rt.block_comp[b] + i
            acc[slot, rt.block_row[b] + i] = 0
            ...family arithmetic with rt.block_key[b]...
    ...neuron updates; for each compartment c that fires:
            cnt[SPIKES_OUT, t, rt.comp_col[c]] += 1
            deliver(rt, c, t, acc, cnt)
    ...for each input source s = n_comp + input_offset[pop] + i emitting at t:
            deliver(rt, s, t, acc, cnt)

A relay (``rt.comp_relay[c] == 1``) fires at step ``t`` iff one of its rows is nonzero;
:func:`relay_fires` tests that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ...chip.events import EVENTS
from ...diagnostics import UsageError

__all__ = [
    "SPIKES_IN", "SYNOPS", "UPDATES_ACTIVE", "UPDATES_INACTIVE", "SPIKES_OUT", "MESSAGES_OUT",
    "HOPS_EAST_WEST", "HOPS_NORTH_SOUTH", "HOPS_INTERCHIP", "TRACE_UPDATES", "SYNAPTIC_UPDATES",
    "N_COUNTERS",
    "SYN_LO", "SYN_HI", "ROUTE_LO", "ROUTE_HI", "COL", "HOPS_EW", "HOPS_NS", "HOPS_IC",
    "Routing", "RoutingInfo", "routing_tables", "deliver", "deliver_many", "relay_fires",
    "narrowest_int", "syn_row", "syn_value", "prefetch",
]

# Rows of ``cnt``: the events of the cost vocabulary, in its order (plain module ints,
# so Numba folds them as constants; a cached kernel keeps the values it was compiled
# with, which is why events.py only ever appends events).
_ROW = {event.name: i for i, event in enumerate(EVENTS)}
SPIKES_IN = _ROW["spikes_in"]
SYNOPS = _ROW["synops"]
UPDATES_ACTIVE = _ROW["updates_active"]
UPDATES_INACTIVE = _ROW["updates_inactive"]
SPIKES_OUT = _ROW["spikes_out"]
MESSAGES_OUT = _ROW["messages_out"]
HOPS_EAST_WEST = _ROW["hops_east_west"]
HOPS_NORTH_SOUTH = _ROW["hops_north_south"]
HOPS_INTERCHIP = _ROW["hops_interchip"]
TRACE_UPDATES = _ROW["trace_updates"]  # counted by the Loihi learning engine
SYNAPTIC_UPDATES = _ROW["synaptic_updates"]
N_COUNTERS = len(EVENTS)


# Columns of Routing.src
SYN_LO, SYN_HI, ROUTE_LO, ROUTE_HI, COL, HOPS_EW, HOPS_NS, HOPS_IC = range(8)


class Routing(NamedTuple):
    """The routing tables a kernel reads (see the module docstring for the layout)."""

    src: np.ndarray  # int64 [n_sources, 8], one cache line per source
    route: np.ndarray  # uint16 / uint32 / uint64 [n_routes]: column << route_bits | synapses
    route_bits: int
    syn: np.ndarray  # int32 / int64 [n_flat]: row << syn_vbits | value
    syn_vbits: int
    syn_delay: np.ndarray  # uint8 / int16 extra steps; empty when all equal ``delay``
    delay: int  # the one extra delay when ``syn_delay`` is empty
    n_slots: int
    # blocks [n_blocks]
    block_row: np.ndarray  # int64
    block_comp: np.ndarray  # int64, first compartment (global id)
    block_size: np.ndarray  # int64
    block_key: np.ndarray  # int64, the family's class key
    block_axon: np.ndarray  # int64, one axon of the block's class and core
    core_block_ptr: np.ndarray  # int64 [n_cols + 1], blocks of column j
    # compartments [n_comp]
    core_comp_ptr: np.ndarray  # int64 [n_cols + 1], compartments of column j
    comp_col: np.ndarray  # int32, column of the compartment's core
    comp_relay: np.ndarray  # uint8, 1 for a relay


@dataclass(frozen=True)
class RoutingInfo:
    """Sizes a caller needs to allocate ``acc`` and ``cnt``."""

    n_slots: int
    n_rows: int
    n_cols: int
    core_ids: np.ndarray  # int32 [n_cols]
    acc_dtype: np.dtype = np.dtype(np.int32)  # int16 when no row can exceed it

    @property
    def acc_shape(self) -> tuple[int, int]:
        return (self.n_slots, self.n_rows)


def narrowest_int(values: np.ndarray, *, unsigned_ok: bool = False) -> np.dtype:
    """The narrowest of int8 / int16 / int32 / int64 (uint8 / uint16 first when
    ``unsigned_ok`` and nothing is negative) that holds every entry of ``values``."""
    if values.size == 0:
        return np.dtype(np.uint8 if unsigned_ok else np.int8)
    lo, hi = int(values.min()), int(values.max())
    kinds = ((np.uint8, np.uint16) if unsigned_ok and lo >= 0 else ()) + \
        (np.int8, np.int16, np.int32, np.int64)
    for kind in kinds:
        info = np.iinfo(kind)
        if info.min <= lo and hi <= info.max:
            return np.dtype(kind)
    raise UsageError(f"integer values {lo}..{hi} do not fit 64 bits")


def routing_tables(mapping, axon_class: np.ndarray | None = None,
                   syn_value: np.ndarray | None = None) -> tuple[Routing, RoutingInfo]:
    """The routing tables of ``mapping`` in the layout of the module docstring.

    Parameters
    ----------
    mapping : neurocomp.ir.mapping.Mapping
        The compiled network.
    axon_class : numpy.ndarray, optional
        int64 ``[n_axons]``: the family's class key of each axon (inputs that must stay
        apart until the neuron update). Default: one class (all zeros).
    syn_value : numpy.ndarray, optional
        int64 ``[n_syn]``: what each synapse adds. Default: ``mapping.syn_weight``.
        Synapses onto relays add 1 whatever is given.

    Returns
    -------
    (Routing, RoutingInfo)
        The tables (pass ``Routing`` into a kernel as is) and the sizes of ``acc`` and
        ``cnt``.

    Raises
    ------
    UsageError
        When the Mapping's arrays are inconsistent (wrong lengths, ids out of range,
        negative delays).
    """
    m = mapping
    n_comp, n_axons, n_syn = m.n_comp, m.n_axons, m.n_synapses
    n_sources = m.n_sources
    comp_core = np.asarray(m.comp_core, dtype=np.int64)
    route_ptr = np.ascontiguousarray(m.route_ptr, dtype=np.int64)
    route_axon = np.asarray(m.route_axon, dtype=np.int64)
    axon_core = np.asarray(m.axon_core, dtype=np.int64)
    axon_syn_ptr = np.ascontiguousarray(m.axon_syn_ptr, dtype=np.int64)
    syn_target = np.asarray(m.syn_target, dtype=np.int64)
    delays = np.asarray(m.syn_delay, dtype=np.int64)
    _check(m, n_comp, n_sources, n_axons, n_syn, route_ptr, route_axon, axon_core,
           axon_syn_ptr, syn_target, delays)

    core_ids = np.array([c.core_id for c in m.cores], dtype=np.int64)
    if np.any(np.diff(core_ids) <= 0):
        raise UsageError("the Mapping's cores are not in ascending core id")
    n_cols = int(core_ids.size)
    comp_start = np.array([c.comp_start for c in m.cores], dtype=np.int64)
    comp_stop = np.array([c.comp_stop for c in m.cores], dtype=np.int64)
    if n_cols and (comp_start[0] != 0 or comp_stop[-1] != n_comp
                   or np.any(comp_start[1:] != comp_stop[:-1]) or np.any(comp_stop < comp_start)):
        raise UsageError("the Mapping's cores do not hold its compartments as consecutive "
                         "ranges in ascending core id")
    comp_col = np.full(n_comp, -1, dtype=np.int32)
    for j in range(n_cols):
        comp_col[comp_start[j]:comp_stop[j]] = j
    if n_comp and (np.any(comp_col < 0) or np.any(core_ids[comp_col] != comp_core)):
        raise UsageError("the Mapping's cores do not cover its compartments in order "
                         "(comp_start/comp_stop disagree with comp_core)")
    axon_col = _columns(core_ids, axon_core)
    if np.any(axon_col < 0):
        bad = int(axon_core[np.argmax(axon_col < 0)])
        raise UsageError(f"an axon sits on core {bad}, which the Mapping does not use")

    # Targets must sit on their axon's core: an axon feeds only its own core.
    syn_axon = np.repeat(np.arange(n_axons, dtype=np.int64), np.diff(axon_syn_ptr))
    if n_syn and np.any(comp_col[syn_target] != axon_col[syn_axon]):
        raise UsageError("a synapse targets a compartment on another core than its axon's")
    sizes = comp_stop - comp_start

    # Blocks: one per (core, class) with at least one axon.
    cls = np.zeros(n_axons, dtype=np.int64) if axon_class is None \
        else np.asarray(axon_class, dtype=np.int64)
    if cls.shape != (n_axons,):
        raise UsageError(f"axon_class has shape {cls.shape}, the Mapping has {n_axons} axons")
    block_core, block_key, first, which = _blocks(axon_col, cls, n_cols)
    block_size = sizes[block_core].astype(np.int64)
    block_row = np.zeros(block_size.size, dtype=np.int64)
    if block_size.size:
        np.cumsum(block_size[:-1], out=block_row[1:])
    n_rows = int(block_size.sum())
    if n_rows >= 2**31:
        raise UsageError(f"the Mapping needs {n_rows} accumulator rows; the emulator holds "
                         "at most 2**31 - 1")
    # Row of synapse k: its axon's block, at its target's place within the core.
    row = (block_row[which[syn_axon]] + syn_target - comp_start[comp_col[syn_target]]) \
        if n_syn else np.zeros(0, dtype=np.int64)

    value = np.asarray(m.syn_weight if syn_value is None else syn_value, dtype=np.int64).copy()
    if value.shape != (n_syn,):
        raise UsageError(f"syn_value has shape {value.shape}, the Mapping has {n_syn} synapses")
    comp_relay = (np.asarray(m.comp_pop) == -1).astype(np.uint8)
    if n_syn:
        value[comp_relay[syn_target] == 1] = 1

    # Flatten: for each source, the synapses of its routes' axons, in route order.
    nsyn_of_axon = np.diff(axon_syn_ptr)
    route_nsyn = nsyn_of_axon[route_axon] if route_axon.size else np.zeros(0, dtype=np.int64)
    src_syn_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    route_src = np.repeat(np.arange(n_sources, dtype=np.int64), np.diff(route_ptr))
    np.cumsum(np.bincount(route_src, weights=route_nsyn, minlength=n_sources).astype(np.int64),
              out=src_syn_ptr[1:])
    n_flat = int(src_syn_ptr[-1])
    # Synapse j of the flat list is synapse axon_syn_ptr[a] + (j - start of its route).
    route_start = np.zeros(route_nsyn.size, dtype=np.int64)
    if route_nsyn.size:
        np.cumsum(route_nsyn[:-1], out=route_start[1:])
    flat_route = np.repeat(np.arange(route_nsyn.size, dtype=np.int64), route_nsyn)
    flat = axon_syn_ptr[route_axon[flat_route]] + (np.arange(n_flat, dtype=np.int64)
                                                   - route_start[flat_route])
    del flat_route, route_start

    uniform = delays.size == 0 or delays.min() == delays.max()
    delay = int(delays[0]) if delays.size and uniform else 0
    syn_delay = np.zeros(0, dtype=np.uint8) if uniform else \
        delays[flat].astype(narrowest_int(delays, unsigned_ok=True))
    n_slots = int(delays.max()) + 2 if delays.size else 2

    # Per source: messages, and the links they cross from the sender's core.
    src = _aligned_rows(n_sources, 8)
    src[:, SYN_LO] = src_syn_ptr[:-1]
    src[:, SYN_HI] = src_syn_ptr[1:]
    src[:, ROUTE_LO] = route_ptr[:-1]
    src[:, ROUTE_HI] = route_ptr[1:]
    src[:, COL] = -1
    src[:n_comp, COL] = comp_col
    src[:, HOPS_EW:] = 0
    on_chip = route_src < n_comp
    if np.any(on_chip):
        hops = _hops(m.chip, core_ids, comp_col, axon_col, route_src[on_chip], route_axon[on_chip])
        for k, part in zip((HOPS_EW, HOPS_NS, HOPS_IC), hops):
            src[:, k] = np.bincount(route_src[on_chip], weights=part,
                                    minlength=n_sources).astype(np.int64)
    route_col = axon_col[route_axon].astype(np.int64) if route_axon.size \
        else np.zeros(0, dtype=np.int64)
    route_nsyn = route_nsyn.astype(np.int64)
    route_bits = max(1, int(route_nsyn.max()).bit_length() if route_nsyn.size else 1)
    col_bits = max(1, (n_cols - 1).bit_length() if n_cols else 1)
    if route_bits + col_bits > 63:
        raise UsageError("an axon has too many synapses for the emulator's route records")
    route = np.ascontiguousarray(
        (route_col.astype(np.uint64) << np.uint64(route_bits)) | route_nsyn.astype(np.uint64),
        dtype=np.uint16 if route_bits + col_bits <= 16 else
        np.uint32 if route_bits + col_bits <= 32 else np.uint64)
    # deliver_many packs a core's synaptic operations of one step into 32 bits; a
    # source fires at most once per step, so a core's synapses bound them.
    if n_syn and np.bincount(axon_col[syn_axon], minlength=n_cols).max() >= 2**32:
        raise UsageError("a core has 2**32 or more synapses; the emulator counts fewer")

    # Pack each synapse's row and value into one integer.
    flat_value = value[flat]
    vbits = _signed_bits(flat_value)
    row_bits = max(1, (n_rows - 1).bit_length()) if n_rows else 1
    packed = (row[flat] << vbits) | (flat_value & ((1 << vbits) - 1))
    syn = packed.astype(np.int32 if row_bits + vbits <= 31 else np.int64)

    rt = Routing(
        src=src, route=route, route_bits=route_bits, syn=syn, syn_vbits=vbits,
        syn_delay=syn_delay, delay=delay, n_slots=n_slots,
        block_row=block_row, block_comp=comp_start[block_core].astype(np.int64),
        block_size=block_size, block_key=block_key,
        block_axon=np.ascontiguousarray(first, dtype=np.int64),
        core_block_ptr=np.searchsorted(block_core, np.arange(n_cols + 1, dtype=np.int64)).astype(np.int64),
        core_comp_ptr=np.append(comp_start, comp_stop[-1:] if n_cols else
                                np.zeros(1, dtype=np.int64)).astype(np.int64),
        comp_col=comp_col, comp_relay=comp_relay,
    )
    # A row receives each synapse at most once per step (a source fires at most once per
    # step, and a synapse's delay is fixed), so the sum of |value| over the synapses into
    # a row bounds what it can hold; int16 rows halve the ring buffer when that fits.
    bound = np.bincount(row, weights=np.abs(value), minlength=n_rows).max() if n_syn else 0
    acc_dtype = np.dtype(np.int16 if bound < 2**15 else np.int32)
    info = RoutingInfo(n_slots=n_slots, n_rows=n_rows, n_cols=n_cols,
                       core_ids=core_ids.astype(np.int32), acc_dtype=acc_dtype)
    return rt, info


def _columns(core_ids: np.ndarray, axon_core: np.ndarray) -> np.ndarray:
    """int32: the column of each axon's core in ``core_ids`` (ascending), -1 for a core
    not in it."""
    if axon_core.size == 0 or core_ids.size == 0:
        return np.full(axon_core.size, -1, dtype=np.int32)
    col = np.searchsorted(core_ids, axon_core)
    np.minimum(col, core_ids.size - 1, out=col)
    return np.where(core_ids[col] == axon_core, col, -1).astype(np.int32)


def _hops(chip, core_ids, comp_col, axon_col, sender, axon) -> tuple:
    """``chip.hops_array`` from the core of each ``sender`` compartment to the core of
    its route's ``axon``: from a table over every pair of used cores when there are
    fewer pairs than routes, else route by route."""
    n_cols = core_ids.size
    if n_cols * n_cols <= sender.size:
        table = chip.hops_array(np.repeat(core_ids, n_cols), np.tile(core_ids, n_cols))
        pair = comp_col[sender].astype(np.int64) * n_cols + axon_col[axon]
        return tuple(np.asarray(part)[pair] for part in table)
    return chip.hops_array(core_ids[comp_col[sender]], core_ids[axon_col[axon]])


def _blocks(axon_col: np.ndarray, cls: np.ndarray, n_cols: int):
    """The distinct (column, class) pairs of the axons, in ascending (column, class):
    ``(block_core, block_key, first, which)`` -- each pair's column and class, the first
    axon with it, and each axon's pair. What ``np.unique`` of the stacked pairs
    (``axis=0``) returns, from one sort of one int64 key per axon instead."""
    n = axon_col.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy(), empty.copy()
    lo, hi = int(cls.min()), int(cls.max())
    span = hi - lo + 1
    if n_cols * span < 2**62:  # the class itself, shifted to 0.., fits beside the column
        cls_of, classes = cls - lo, None
    else:  # the rank of the class among the distinct ones
        classes, cls_of = np.unique(cls, return_inverse=True)
        span = classes.size
    key = axon_col.astype(np.int64) * span
    key += cls_of
    del cls_of
    # A stable sort: the first axon of each run of equal keys is its first occurrence.
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    del key
    head = np.empty(n, dtype=bool)
    head[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=head[1:])
    starts = np.flatnonzero(head)
    block_of_sorted = np.cumsum(head, dtype=np.int64)
    block_of_sorted -= 1
    del head
    which = np.empty(n, dtype=np.int64)
    which[order] = block_of_sorted
    del block_of_sorted
    first = order[starts].astype(np.int64)
    block_key_packed = sorted_key[starts]
    block_core = block_key_packed // span
    rank = block_key_packed - block_core * span
    block_key = rank + lo if classes is None else classes[rank].astype(np.int64)
    return block_core, np.ascontiguousarray(block_key, dtype=np.int64), first, which


def _aligned_rows(n: int, width: int) -> np.ndarray:
    """An int64 ``(n, width)`` array whose data starts on a 64-byte boundary."""
    raw = np.empty(n * width + 8, dtype=np.int64)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip:skip + n * width].reshape(n, width)


def _signed_bits(values: np.ndarray) -> int:
    """Bits of two's complement that hold every entry of ``values`` (at least 1)."""
    if values.size == 0:
        return 1
    lo, hi = int(values.min()), int(values.max())
    return max(1, hi.bit_length() + 1 if hi > 0 else 1, (-lo - 1).bit_length() + 1 if lo < 0 else 1)


@njit(cache=True, inline="always")
def syn_row(rt, k):
    """The ``acc`` row of flat synapse ``k``."""
    return np.int64(rt.syn[k]) >> rt.syn_vbits


@njit(cache=True, inline="always")
def syn_value(rt, k):
    """The value flat synapse ``k`` adds (sign-extended from ``syn_vbits`` bits)."""
    p = np.int64(rt.syn[k])
    shift = 64 - rt.syn_vbits
    return (p << shift) >> shift


def _check(m, n_comp, n_sources, n_axons, n_syn, route_ptr, route_axon, axon_core,
           axon_syn_ptr, syn_target, delays) -> None:
    """Raise UsageError naming the first inconsistent array of a Mapping."""
    problems = []
    n_inputs = sum(m.network.populations[p].size for p in m.input_offset)
    if n_sources != n_comp + n_inputs:
        problems.append(f"route_ptr covers {n_sources} sources, expected {n_comp} compartments "
                        f"+ {n_inputs} input neurons")
    if route_ptr.size and (route_ptr[0] != 0 or np.any(np.diff(route_ptr) < 0)
                           or route_ptr[-1] != route_axon.size):
        problems.append("route_ptr is not a CSR pointer over route_axon")
    if route_axon.size and (route_axon.min() < 0 or route_axon.max() >= n_axons):
        problems.append(f"route_axon names axons outside 0..{n_axons - 1}")
    if axon_syn_ptr.size != n_axons + 1 or axon_syn_ptr[0] != 0 \
            or np.any(np.diff(axon_syn_ptr) < 0) or axon_syn_ptr[-1] != n_syn:
        problems.append("axon_syn_ptr is not a CSR pointer over the synapses")
    if syn_target.size and (syn_target.min() < 0 or syn_target.max() >= n_comp):
        problems.append(f"syn_target names compartments outside 0..{n_comp - 1}")
    if delays.shape != syn_target.shape or (delays.size and delays.min() < 0):
        problems.append("syn_delay must hold one delay >= 0 per synapse")
    if problems:
        raise UsageError("the Mapping is inconsistent: " + "; ".join(problems),
                         hint="compile the network again; a hand-built Mapping must follow "
                              "neurocomp/ir/mapping.py")


@njit(cache=True, inline="always")
def deliver(rt, s, t, acc, cnt):
    """Send a spike of source ``s`` at step ``t`` along all its routes.

    Adds each synapse's value to ``acc[(t + 1 + delay_k) % n_slots, row_k]`` for every
    synapse ``k`` that ``s`` reaches, and counts, in ``cnt[:, t, :]``, the messages and
    hops of the sender's core and the spikes in and synaptic operations of each
    receiving core (module docstring).
    """
    col = rt.src[s, COL]
    r0 = rt.src[s, ROUTE_LO]
    r1 = rt.src[s, ROUTE_HI]
    if col >= 0:
        cnt[MESSAGES_OUT, t, col] += r1 - r0
        cnt[HOPS_EAST_WEST, t, col] += rt.src[s, HOPS_EW]
        cnt[HOPS_NORTH_SOUTH, t, col] += rt.src[s, HOPS_NS]
        cnt[HOPS_INTERCHIP, t, col] += rt.src[s, HOPS_IC]
    mask = (np.int64(1) << rt.route_bits) - 1
    for r in range(r0, r1):
        w = np.int64(rt.route[r])
        dst = w >> rt.route_bits
        cnt[SPIKES_IN, t, dst] += 1
        cnt[SYNOPS, t, dst] += w & mask
    _scatter(rt, rt.src[s, SYN_LO], rt.src[s, SYN_HI], t, acc)


@njit(cache=True, inline="always")
def _scatter(rt, k0, k1, t, acc):
    """Add the values of flat synapses ``k0 .. k1 - 1`` sent at step ``t`` into ``acc``.

    (Plain indices, no array views: a view per spike costs reference counting.)"""
    n_slots = rt.n_slots
    vbits = rt.syn_vbits
    shift = 64 - vbits
    if rt.syn_delay.shape[0] == 0:
        slot = (t + 1 + rt.delay) % n_slots
        for k in range(k0, k1):
            p = np.int64(rt.syn[k])
            acc[slot, np.uint64(p >> vbits)] += (p << shift) >> shift
    else:
        base_slot = (t + 1) % n_slots
        for k in range(k0, k1):
            # base_slot + delay < 2 * n_slots: one subtraction replaces the modulo.
            slot = base_slot + rt.syn_delay[k]
            if slot >= n_slots:
                slot -= n_slots
            p = np.int64(rt.syn[k])
            acc[slot, np.uint64(p >> vbits)] += (p << shift) >> shift


@njit(cache=True, inline="always")
def relay_fires(rt, acc, slot, c):
    """Whether relay compartment ``c`` received a spike for the step of ``slot``.

    Looks at the rows of ``c`` in every block of its core (relay rows count spikes).
    """
    col = rt.comp_col[c]
    for b in range(rt.core_block_ptr[col], rt.core_block_ptr[col + 1]):
        if acc[slot, rt.block_row[b] + c - rt.block_comp[b]] != 0:
            return True
    return False


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to start loading element ``idx`` (a flat, C-order offset from the start
    of the contiguous array ``arr``) into its caches (``llvm.prefetch``: a read, kept
    close). Only a hint: nothing is read, and an offset past the end is harmless."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = builder.gep(ary.data, [index])
        i32 = ir.IntType(32)
        byte_ptr = ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


# How many sources ahead deliver_many asks for the synapse lists (and, twice as far
# ahead, for the pointers to them). A spike's lists sit at a random place in memory, so
# without the hint every spike waits for main memory first.
_AHEAD = 4


@njit(cache=True)
def deliver_many(rt, sources, lo, hi, t, acc, cnt):
    """:func:`deliver` every source ``sources[lo:hi]`` at step ``t`` (each source at most
    once: a list of the step's spikes), with the same effect on ``acc`` and ``cnt``.

    A separate (not inlined) function on purpose: inlined into a large kernel, the
    delivery loop compiles to code several times slower. While one source is delivered,
    the tables of the next ones are prefetched, and the receiving cores' counts are
    gathered in a small array and added to ``cnt`` at the end.
    """
    n_syn = rt.syn.shape[0]
    n_routes = rt.route.shape[0]
    per_line = max(1, 64 // rt.syn.itemsize)
    routes_per_line = max(1, 64 // rt.route.itemsize)
    bits = rt.route_bits
    mask = (np.int64(1) << bits) - 1
    # Per receiving core, (spikes in << 32) + synaptic operations: one add per route into
    # a small array, instead of two into the counters (routing_tables checks that no core
    # can receive 2**32 synaptic operations in one step).
    inc = np.zeros(cnt.shape[2], dtype=np.int64)
    for e in range(lo, hi):
        if e + 2 * _AHEAD < hi:
            prefetch(rt.src, sources[e + 2 * _AHEAD] * 8)
        if e + _AHEAD < hi:
            a = sources[e + _AHEAD]
            for k in range(rt.src[a, SYN_LO], min(rt.src[a, SYN_HI], n_syn), per_line):
                prefetch(rt.syn, k)
            for r in range(rt.src[a, ROUTE_LO], min(rt.src[a, ROUTE_HI], n_routes),
                           routes_per_line):
                prefetch(rt.route, r)
        # deliver(rt, sources[e], t, acc, cnt), with the receivers' counts batched
        s = sources[e]
        col = rt.src[s, COL]
        r0 = rt.src[s, ROUTE_LO]
        r1 = rt.src[s, ROUTE_HI]
        if col >= 0:
            cnt[MESSAGES_OUT, t, col] += r1 - r0
            cnt[HOPS_EAST_WEST, t, col] += rt.src[s, HOPS_EW]
            cnt[HOPS_NORTH_SOUTH, t, col] += rt.src[s, HOPS_NS]
            cnt[HOPS_INTERCHIP, t, col] += rt.src[s, HOPS_IC]
        for r in range(r0, r1):
            w = np.int64(rt.route[r])
            inc[w >> bits] += (np.int64(1) << 32) + (w & mask)
        _scatter(rt, rt.src[s, SYN_LO], rt.src[s, SYN_HI], t, acc)
    for j in range(inc.shape[0]):
        if inc[j] != 0:
            cnt[SPIKES_IN, t, j] += inc[j] >> 32
            cnt[SYNOPS, t, j] += inc[j] & 0xFFFFFFFF
