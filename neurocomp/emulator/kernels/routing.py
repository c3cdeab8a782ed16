"""Spike routing shared by every chip kernel: tables built once, one ``@njit`` delivery.

A family kernel (Loihi, TrueNorth, ...) owns its neuron arithmetic; everything between
"source ``s`` fired at step ``t``" and "these integers wait in compartment ``c``'s input
for step ``t + 1 + d``" is here, together with the work counters that it implies. Build
the tables with :func:`routing_tables` (once per Mapping, in a few compiled passes),
pass the resulting :class:`Routing` named tuple straight into your ``@njit`` kernel, and
call :func:`deliver` for every spike.

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

    rt, info = routing_tables(mapping, axon_class)        # once per Mapping
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
import numba
from numba import njit, prange, types
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
    "narrowest_int", "syn_row", "syn_value", "prefetch", "count_routes", "count_sent",
    "gather_received", "flush_received",
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

    Notes
    -----
    The work over every axon, route and synapse (millions of them at 100,000 neurons) is
    done by three compiled passes (``_synapse_pass``, ``_source_pass``, ``_flatten``)
    that write each table in place; numpy whole-array steps here needed a temporary per
    step and took several times the 1,000-step run they prepare. The Mapping's arrays
    are read in their documented dtypes (``neurocomp/ir/mapping.py``), so one compiled
    version serves every Mapping.
    """
    m = mapping
    n_comp, n_axons, n_syn = m.n_comp, m.n_axons, m.n_synapses
    n_sources = m.n_sources
    comp_core = np.asarray(m.comp_core, dtype=np.int64)
    route_ptr = _typed(m, "route_ptr", np.int64)
    route_axon = _typed(m, "route_axon", np.int64)
    axon_core = _typed(m, "axon_core", np.int32)
    axon_syn_ptr = _typed(m, "axon_syn_ptr", np.int64)
    syn_target = _typed(m, "syn_target", np.int32)
    delays = _typed(m, "syn_delay", np.int16)
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
    if n_axons and axon_col.min() < 0:
        bad = int(axon_core[np.argmax(axon_col < 0)])
        raise UsageError(f"an axon sits on core {bad}, which the Mapping does not use")
    sizes = comp_stop - comp_start

    # Blocks: one per (core, class) with at least one axon.
    cls = np.zeros(n_axons, dtype=np.int64) if axon_class is None \
        else np.ascontiguousarray(axon_class, dtype=np.int64)
    if cls.shape != (n_axons,):
        raise UsageError(f"axon_class has shape {cls.shape}, the Mapping has {n_axons} axons")
    block_core, block_key, first, which, dense = _blocks(axon_col, cls, n_cols)
    block_size = sizes[block_core].astype(np.int64)
    block_row = np.zeros(block_size.size, dtype=np.int64)
    if block_size.size:
        np.cumsum(block_size[:-1], out=block_row[1:])
    n_rows = int(block_size.sum())
    if n_rows >= 2**31:
        raise UsageError(f"the Mapping needs {n_rows} accumulator rows; the emulator holds "
                         "at most 2**31 - 1")
    # Row of each axon's first compartment of its core, in its block: a synapse's row is
    # that plus its target's place within the core (written over ``which``: no copy).
    axon_row0 = _axon_rows(which, axon_col, block_row, comp_start) if dense is None else \
        _dense_rows(axon_col, cls, *dense, block_row, comp_start)
    del which, dense

    # int32 when every value fits (the Mapping's weights do): one compiled version of the
    # passes below, and no copy of the weights.
    value = _typed(m, "syn_weight", np.int32) if syn_value is None else np.asarray(syn_value)
    if value.shape != (n_syn,):
        raise UsageError(f"syn_value has shape {value.shape}, the Mapping has {n_syn} synapses")
    if syn_value is not None:
        wide = value.size and (value.min() < -2**31 or value.max() >= 2**31)
        value = np.ascontiguousarray(value, dtype=np.int64 if wide else np.int32)
    comp_relay = (np.asarray(m.comp_pop) == -1).astype(np.uint8)
    # What reaches a row in one step, bounded; synapses per core; a synapse whose target
    # is not on its axon's core (an axon feeds only its own core); the range of the values
    # a spike can deliver (of the synapses of axons that some route reaches).
    pieces = _build_threads(n_syn)
    comp_ptr = np.append(comp_start, comp_stop[-1:] if n_cols else
                         np.zeros(1, dtype=np.int64)).astype(np.int64)
    has_relay = bool(comp_relay.any())
    passes = (route_axon, axon_syn_ptr, syn_target, value, axon_col, axon_row0, comp_ptr, comp_relay,
              has_relay, n_rows, n_cols)
    bound, core_syn, bad, lo, hi = _synapse_pass_threads(*passes, pieces=pieces) if pieces > 1 else \
        _synapse_pass(*passes)
    if bad >= 0:
        raise UsageError("a synapse targets a compartment on another core than its axon's")
    # deliver_many packs a core's synaptic operations of one step into 32 bits; a
    # source fires at most once per step, so a core's synapses bound them.
    if n_syn and core_syn.max() >= 2**32:
        raise UsageError("a core has 2**32 or more synapses; the emulator counts fewer")

    # Per source: its synapses and routes, its column, the links its routes cross.
    hop_pair, hop = _hop_table(m.chip, core_ids, comp_col, axon_col, route_ptr, route_axon,
                               n_comp)
    src = _aligned_rows(n_sources, 8)
    max_nsyn = _source_pass(route_ptr, route_axon, axon_syn_ptr, axon_col, comp_col, hop_pair,
                            hop, n_cols, src)
    n_flat = int(src[-1, SYN_HI]) if n_sources else 0
    route_bits = max(1, int(max_nsyn).bit_length())
    col_bits = max(1, (n_cols - 1).bit_length() if n_cols else 1)
    if route_bits + col_bits > 63:
        raise UsageError("an axon has too many synapses for the emulator's route records")
    vbits = _signed_bits(np.array([lo, hi] if n_flat else [], dtype=np.int64))
    row_bits = max(1, (n_rows - 1).bit_length()) if n_rows else 1

    uniform = delays.size == 0 or delays.min() == delays.max()
    delay = int(delays[0]) if delays.size and uniform else 0
    n_slots = int(delays.max()) + 2 if delays.size else 2
    # Pack each route (column, synapses) and each synapse (row, value) into one integer,
    # written straight into the narrowest type that holds it.
    route = np.empty(route_axon.size, dtype=np.uint16 if route_bits + col_bits <= 16 else
                     np.uint32 if route_bits + col_bits <= 32 else np.uint64)
    _route_words(route_axon, axon_syn_ptr, axon_col, route_bits, route)
    syn = np.empty(n_flat, dtype=np.int32 if row_bits + vbits <= 31 else np.int64)
    syn_delay = np.zeros(0, dtype=np.uint8) if uniform else \
        np.empty(n_flat, dtype=narrowest_int(delays, unsigned_ok=True))
    flat = (route_axon, axon_syn_ptr, axon_row0, syn_target, value, comp_relay, has_relay, delays,
            vbits, syn, syn_delay)
    if pieces > 1:
        _flatten_threads(route_ptr, src, *flat)
    else:
        _flatten(*flat)
    del axon_row0

    rt = Routing(
        src=src, route=route, route_bits=route_bits, syn=syn, syn_vbits=vbits,
        syn_delay=syn_delay, delay=delay, n_slots=n_slots,
        block_row=block_row, block_comp=comp_start[block_core].astype(np.int64),
        block_size=block_size, block_key=block_key,
        block_axon=np.ascontiguousarray(first, dtype=np.int64),
        core_block_ptr=np.searchsorted(block_core, np.arange(n_cols + 1, dtype=np.int64)).astype(np.int64),
        core_comp_ptr=comp_ptr,
        comp_col=comp_col, comp_relay=comp_relay,
    )
    # A row receives each synapse at most once per step (a source fires at most once per
    # step, and a synapse's delay is fixed), so the sum of |value| over the synapses into
    # a row bounds what it can hold; int16 rows halve the ring buffer when that fits.
    acc_dtype = np.dtype(np.int16 if bound < 2**15 else np.int32)
    info = RoutingInfo(n_slots=n_slots, n_rows=n_rows, n_cols=n_cols,
                       core_ids=core_ids.astype(np.int32), acc_dtype=acc_dtype)
    return rt, info


#: Synapses from which the table build runs its passes over synapses on threads (Numba's
#: thread count): below, one thread builds the tables in a few milliseconds, and a small
#: network compiles no parallel pass.
BUILD_THREADS_FROM = 1_000_000


def _build_threads(n_syn: int) -> int:
    """Threads of the table build of ``n_syn`` synapses (1 in a worker process, whose
    Numba thread count is 1: ``workflows/parallel.py``)."""
    return numba.get_num_threads() if n_syn >= BUILD_THREADS_FROM else 1


def _typed(m, name: str, dtype) -> np.ndarray:
    """The Mapping's array ``name`` as a contiguous ``dtype`` array (its documented dtype:
    no copy for a Mapping that follows ``neurocomp/ir/mapping.py``); a hand-built array of
    another integer type is converted when every value fits, else refused (the compiled
    passes below index with these values and check no bounds)."""
    values = np.asarray(getattr(m, name))
    if values.dtype == dtype:
        return np.ascontiguousarray(values)
    out = np.ascontiguousarray(values, dtype=dtype)
    if values.size and (values.dtype.kind not in "iub" or not np.array_equal(out, values)):
        raise UsageError(f"the Mapping's array '{name}' holds values that are not "
                         f"{np.dtype(dtype)} integers",
                         hint="compile the network again; a hand-built Mapping must follow "
                              "neurocomp/ir/mapping.py")
    return out


def _columns(core_ids: np.ndarray, axon_core: np.ndarray) -> np.ndarray:
    """int32: the column of each axon's core in ``core_ids`` (ascending), -1 for a core
    not in it."""
    if axon_core.size == 0 or core_ids.size == 0:
        return np.full(axon_core.size, -1, dtype=np.int32)
    if core_ids[0] >= 0 and core_ids[-1] < axon_core.size + 2**20:
        # A table from core id to column: one load per axon instead of a binary search.
        table = np.full(int(core_ids[-1]) + 1, -1, dtype=np.int32)
        table[core_ids] = np.arange(core_ids.size, dtype=np.int32)
        out = np.empty(axon_core.size, dtype=np.int32)
        _look_up(table, axon_core, out)
        return out
    col = np.searchsorted(core_ids, axon_core)
    np.minimum(col, core_ids.size - 1, out=col)
    return np.where(core_ids[col] == axon_core, col, -1).astype(np.int32)


@njit(cache=True)
def _look_up(table, keys, out):
    """``out[i] = table[keys[i]]``, -1 for a key outside the table."""
    n = table.shape[0]
    for i in range(keys.shape[0]):
        k = keys[i]
        out[i] = table[k] if 0 <= k < n else -1


def _hop_table(chip, core_ids, comp_col, axon_col, route_ptr, route_axon, n_comp,
               by_pair: bool | None = None):
    """The links a route crosses, ``chip.hops_array`` from the sender's core to its
    axon's: ``(True, table)`` with one row (east-west, north-south, inter-chip) per pair
    of used cores (row ``sender column * n_cols + axon column``), else ``(False, table)``
    with one row per route (zeros for the routes of inputs, which come from the host).
    ``by_pair`` None: by pair when there are fewer pairs than routes leaving a core."""
    n_cols = core_ids.size
    n_on_chip = int(route_ptr[n_comp]) if route_ptr.size > n_comp else 0
    if by_pair if by_pair is not None else n_cols * n_cols <= n_on_chip:
        parts = chip.hops_array(np.repeat(core_ids, n_cols), np.tile(core_ids, n_cols))
        return True, np.ascontiguousarray(np.stack(parts, axis=1), dtype=np.int64)
    table = np.zeros((route_axon.size, 3), dtype=np.int64)
    if n_on_chip:
        sender = np.repeat(np.arange(n_comp, dtype=np.int64), np.diff(route_ptr[:n_comp + 1]))
        parts = chip.hops_array(core_ids[comp_col[sender]],
                                core_ids[axon_col[route_axon[:n_on_chip]]])
        table[:n_on_chip] = np.stack(parts, axis=1)
    return False, table


@njit(cache=True)
def _axon_rows(which, axon_col, block_row, comp_start):
    """``block_row[which[a]] - comp_start[axon_col[a]]`` for every axon ``a``, written
    over ``which`` (returned)."""
    for a in range(which.shape[0]):
        which[a] = block_row[which[a]] - comp_start[axon_col[a]]
    return which


@njit(cache=True)
def _dense_rows(axon_col, cls, lo, span, slot, block_row, comp_start):
    """:func:`_axon_rows` from :func:`_dense_blocks`' table of blocks (slot per key), in
    one pass without each axon's block written out first."""
    out = np.empty(axon_col.shape[0], dtype=np.int64)
    for a in range(axon_col.shape[0]):
        col = axon_col[a]
        out[a] = block_row[slot[col * span + (cls[a] - lo)]] - comp_start[col]
    return out


@njit(cache=True)
def _synapse_pass(route_axon, axon_syn_ptr, syn_target, value, axon_col, axon_row0, comp_ptr,
                  comp_relay, has_relay, n_rows, n_cols):
    """One pass over every synapse: ``(bound, core_syn, bad, lo, hi)`` -- the largest sum
    of ``|value|`` over the synapses into one row (a relay's count 1), the synapses of
    each column, the first synapse whose target is not on its axon's core (-1: none), and
    the smallest and largest value (a relay's 1) of the synapses of the axons that some
    route reaches, the flat list's values (0, 0 when there are none)."""
    n_axons = axon_syn_ptr.shape[0] - 1
    reached = np.zeros(n_axons, dtype=np.uint8)
    for r in range(route_axon.shape[0]):
        reached[route_axon[r]] = 1
    into = np.zeros(n_rows, dtype=np.int64)
    core_syn = np.zeros(n_cols, dtype=np.int64)
    bad, lo, hi, _ = _synapses_of(0, n_axons, axon_syn_ptr, syn_target, value, axon_col,
                                  axon_row0, comp_ptr, comp_relay, has_relay, reached, into,
                                  core_syn)
    if bad >= 0:
        return np.int64(0), core_syn, bad, lo, hi
    bound = np.int64(0)
    for i in range(n_rows):
        bound = max(bound, into[i])
    return bound, core_syn, np.int64(-1), lo, hi


@njit(cache=True, parallel=True)
def _synapse_pieces(route_axon, axon_syn_ptr, syn_target, value, axon_col, axon_row0, comp_ptr,
                    comp_relay, has_relay, n_rows, n_cols, pieces):
    """:func:`_synapse_pass` in ``pieces`` ranges of axons, one thread each, with their own
    sums and counts: ``(into, core_syn, out)``, row ``q`` piece ``q``'s (``out[q]`` =
    bad, lo, hi, seen); :func:`_synapse_pass_threads` adds them up."""
    n_axons = axon_syn_ptr.shape[0] - 1
    reached = np.zeros(n_axons, dtype=np.uint8)
    for r in prange(route_axon.shape[0]):
        reached[route_axon[r]] = 1
    into = np.zeros((pieces, n_rows), dtype=np.int64)
    core_syn = np.zeros((pieces, n_cols), dtype=np.int64)
    out = np.zeros((pieces, 4), dtype=np.int64)
    for p in prange(pieces):
        q = np.int64(p)
        bad, lo, hi, seen = _synapses_of(n_axons * q // pieces, n_axons * (q + 1) // pieces,
                                         axon_syn_ptr, syn_target, value, axon_col, axon_row0,
                                         comp_ptr, comp_relay, has_relay, reached, into[q],
                                         core_syn[q])
        out[q, 0], out[q, 1], out[q, 2], out[q, 3] = bad, lo, hi, seen
    return into, core_syn, out


def _synapse_pass_threads(*passes, pieces: int):
    """:func:`_synapse_pass`'s results from :func:`_synapse_pieces` (the same)."""
    into, core_syn, out = _synapse_pieces(*passes, pieces)
    core_syn = core_syn.sum(axis=0)
    bad = out[out[:, 0] >= 0, 0]
    seen = out[:, 3] != 0
    lo, hi = (int(out[seen, 1].min()), int(out[seen, 2].max())) if seen.any() else (0, 0)
    if bad.size:  # the first piece's is the first synapse
        return 0, core_syn, int(bad[0]), lo, hi
    return int(into.sum(axis=0).max(initial=0)), core_syn, -1, lo, hi


@njit(cache=True, inline="always")
def _synapses_of(a0, a1, axon_syn_ptr, syn_target, value, axon_col, axon_row0, comp_ptr,
                 comp_relay, has_relay, reached, into, core_syn):
    """:func:`_synapse_pass` over axons ``a0 .. a1 - 1``, adding into ``into`` and
    ``core_syn``: returns (bad, lo, hi, seen)."""
    lo = np.int64(0)
    hi = np.int64(0)
    seen = False
    # The cores hold consecutive compartments (checked before): a target is on the
    # axon's core when it lies in that core's range, two compares instead of a load
    # from comp_col; comp_relay is read only when the Mapping has relays (has_relay).
    for a in range(a0, a1):
        col = axon_col[a]
        c0, c1 = comp_ptr[col], comp_ptr[col + 1]
        row0 = axon_row0[a]
        k0, k1 = axon_syn_ptr[a], axon_syn_ptr[a + 1]
        core_syn[col] += k1 - k0
        vlo = np.int64(9223372036854775807)
        vhi = -vlo - 1
        for k in range(k0, k1):
            tgt = syn_target[k]
            if tgt < c0 or tgt >= c1:
                return np.int64(k), lo, hi, seen
            v = np.int64(value[k])
            if has_relay and comp_relay[tgt]:
                v = np.int64(1)
            into[row0 + tgt] += abs(v)
            vlo = min(vlo, v)
            vhi = max(vhi, v)
        if reached[a] and k1 > k0:
            if not seen:
                lo, hi, seen = vlo, vhi, True
            lo = min(lo, vlo)
            hi = max(hi, vhi)
    return np.int64(-1), lo, hi, seen


@njit(cache=True)
def _source_pass(route_ptr, route_axon, axon_syn_ptr, axon_col, comp_col, hop_pair, hop, n_cols,
                 src):
    """Fill every source's record in ``src`` (module docstring) and return the most
    synapses of one route's axon."""
    n_comp = comp_col.shape[0]
    max_nsyn = np.int64(0)
    at = np.int64(0)
    for s in range(route_ptr.shape[0] - 1):
        r0, r1 = route_ptr[s], route_ptr[s + 1]
        col = np.int64(comp_col[s]) if s < n_comp else np.int64(-1)
        src[s, SYN_LO] = at
        src[s, ROUTE_LO] = r0
        src[s, ROUTE_HI] = r1
        src[s, COL] = col
        ew = np.int64(0)
        ns = np.int64(0)
        ic = np.int64(0)
        for r in range(r0, r1):
            a = route_axon[r]
            k0, k1 = axon_syn_ptr[a], axon_syn_ptr[a + 1]
            at += k1 - k0
            max_nsyn = max(max_nsyn, k1 - k0)
            if col >= 0:
                h = col * n_cols + axon_col[a] if hop_pair else r
                ew += hop[h, 0]
                ns += hop[h, 1]
                ic += hop[h, 2]
        src[s, SYN_HI] = at
        src[s, HOPS_EW] = ew
        src[s, HOPS_NS] = ns
        src[s, HOPS_IC] = ic
    return max_nsyn


@njit(cache=True)
def _route_words(route_axon, axon_syn_ptr, axon_col, route_bits, route):
    """``route[r] = column << route_bits | synapses`` of route ``r``'s axon."""
    for r in range(route_axon.shape[0]):
        a = route_axon[r]
        route[r] = (np.int64(axon_col[a]) << route_bits) | (axon_syn_ptr[a + 1] - axon_syn_ptr[a])


@njit(cache=True)
def _flatten(route_axon, axon_syn_ptr, axon_row0, syn_target, value, comp_relay, has_relay, delays,
             vbits, syn, syn_delay):
    """Write the flat synapse list (the synapses of every route's axon, route after route)
    into ``syn`` (``row << vbits | value``) and, unless it is empty, ``syn_delay``."""
    _flatten_routes(0, route_axon.shape[0], 0, route_axon, axon_syn_ptr, axon_row0, syn_target,
                    value, comp_relay, has_relay, delays, vbits, syn, syn_delay)


@njit(cache=True, parallel=True)
def _flatten_threads(route_ptr, src, route_axon, axon_syn_ptr, axon_row0, syn_target, value,
                     comp_relay, has_relay, delays, vbits, syn, syn_delay):
    """:func:`_flatten` source by source on threads: source ``s``'s routes start at
    ``src[s, SYN_LO]`` of the flat list (the same list)."""
    for s in prange(route_ptr.shape[0] - 1):
        _flatten_routes(route_ptr[s], route_ptr[s + 1], src[s, SYN_LO], route_axon, axon_syn_ptr,
                        axon_row0, syn_target, value, comp_relay, has_relay, delays, vbits, syn,
                        syn_delay)


@njit(cache=True, inline="always")
def _flatten_routes(r0, r1, j, route_axon, axon_syn_ptr, axon_row0, syn_target, value,
                    comp_relay, has_relay, delays, vbits, syn, syn_delay):
    """:func:`_flatten` for routes ``r0 .. r1 - 1``, from entry ``j`` of the flat list on."""
    vmask = (np.int64(1) << vbits) - 1
    with_delay = syn_delay.shape[0] > 0
    for r in range(r0, r1):
        a = route_axon[r]
        row0 = axon_row0[a]
        k0, k1 = axon_syn_ptr[a], axon_syn_ptr[a + 1]
        if has_relay or with_delay:
            for k in range(k0, k1):
                tgt = syn_target[k]
                v = np.int64(1) if comp_relay[tgt] else np.int64(value[k])
                syn[j] = ((row0 + tgt) << vbits) | (v & vmask)
                if with_delay:
                    syn_delay[j] = delays[k]
                j += 1
        else:  # the common case, without a branch per synapse
            for k in range(k0, k1):
                syn[j + k - k0] = ((row0 + np.int64(syn_target[k])) << vbits) | (np.int64(value[k]) & vmask)
            j += k1 - k0


def _blocks(axon_col: np.ndarray, cls: np.ndarray, n_cols: int):
    """The distinct (column, class) pairs of the axons, in ascending (column, class):
    ``(block_core, block_key, first, which, dense)`` -- each pair's column and class, the
    first axon with it, and each axon's pair. What ``np.unique`` of the stacked pairs
    (``axis=0``) returns, from one sort of one int64 key per axon instead. With few pairs
    ``which`` is None and ``dense`` = ``(lo, span, slot)``, a table from the key
    ``column * span + class - lo`` to the pair (:func:`_dense_rows` reads it)."""
    n = axon_col.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy(), empty.copy(), None
    lo, hi = int(cls.min()), int(cls.max())
    span = hi - lo + 1
    if n_cols * span <= n + 2**20:  # few keys: one table slot per (column, class)
        block_core, block_key, first, slot = _dense_blocks(axon_col, cls, lo, span, n_cols)
        return block_core, block_key, first, None, (lo, span, slot)
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
    return block_core, np.ascontiguousarray(block_key, dtype=np.int64), first, which, None


@njit(cache=True)
def _dense_blocks(axon_col, cls, lo, span, n_cols):
    """:func:`_blocks` through a table with one slot per (column, class) key
    ``column * span + class - lo``: the first axon of each key; the table then holds each
    key's block (returned as the fourth item)."""
    n = axon_col.shape[0]
    slot = np.full(n_cols * span, -1, dtype=np.int64)
    for a in range(n):
        key = axon_col[a] * span + (cls[a] - lo)
        if slot[key] < 0:
            slot[key] = a
    n_blocks = 0
    for key in range(slot.shape[0]):
        if slot[key] >= 0:
            n_blocks += 1
    block_core = np.empty(n_blocks, dtype=np.int64)
    block_key = np.empty(n_blocks, dtype=np.int64)
    first = np.empty(n_blocks, dtype=np.int64)
    b = 0
    for key in range(slot.shape[0]):
        if slot[key] >= 0:
            first[b] = slot[key]
            block_core[b] = key // span
            block_key[b] = key - block_core[b] * span + lo
            slot[key] = b
            b += 1
    return block_core, block_key, first, slot


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
    if route_ptr.size and (route_ptr[0] != 0 or np.any(route_ptr[1:] < route_ptr[:-1])
                           or route_ptr[-1] != route_axon.size):
        problems.append("route_ptr is not a CSR pointer over route_axon")
    if route_axon.size and (route_axon.min() < 0 or route_axon.max() >= n_axons):
        problems.append(f"route_axon names axons outside 0..{n_axons - 1}")
    if axon_syn_ptr.size != n_axons + 1 or axon_syn_ptr[0] != 0 \
            or np.any(axon_syn_ptr[1:] < axon_syn_ptr[:-1]) or axon_syn_ptr[-1] != n_syn:
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
    count_routes(rt, s, t, cnt)
    _scatter(rt, rt.src[s, SYN_LO], rt.src[s, SYN_HI], t, acc)


@njit(cache=True, inline="always")
def count_routes(rt, s, t, cnt):
    """The counting half of :func:`deliver`: in ``cnt[:, t, :]``, the messages and hops of
    source ``s``'s core (none for an input) and the spikes in and synaptic operations of
    each core its routes reach. For a kernel that scatters the synapses its own way."""
    count_sent(rt, s, t, cnt)
    mask = (np.int64(1) << rt.route_bits) - 1
    for r in range(rt.src[s, ROUTE_LO], rt.src[s, ROUTE_HI]):
        w = np.int64(rt.route[r])
        dst = w >> rt.route_bits
        cnt[SPIKES_IN, t, dst] += 1
        cnt[SYNOPS, t, dst] += w & mask


@njit(cache=True, inline="always")
def count_sent(rt, s, t, cnt):
    """The sender's part of :func:`count_routes`: in ``cnt[:, t, :]``, the messages and
    hops of source ``s``'s core (nothing for an input, which has no core)."""
    col = rt.src[s, COL]
    if col >= 0:
        cnt[MESSAGES_OUT, t, col] += rt.src[s, ROUTE_HI] - rt.src[s, ROUTE_LO]
        cnt[HOPS_EAST_WEST, t, col] += rt.src[s, HOPS_EW]
        cnt[HOPS_NORTH_SOUTH, t, col] += rt.src[s, HOPS_NS]
        cnt[HOPS_INTERCHIP, t, col] += rt.src[s, HOPS_IC]


@njit(cache=True, inline="always")
def gather_received(rt, s, inc):
    """The receivers' part of :func:`count_routes` for a list of spikes, gathered in
    ``inc`` (int64 ``[n_cols]``): per receiving core, ``(spikes in << 32) + synaptic
    operations``, one add per route instead of two into ``cnt``
    (:func:`routing_tables` checks that no core can receive ``2**32`` synaptic
    operations in one step). :func:`flush_received` adds them to ``cnt``."""
    bits = rt.route_bits
    mask = (np.int64(1) << bits) - 1
    for r in range(rt.src[s, ROUTE_LO], rt.src[s, ROUTE_HI]):
        w = np.int64(rt.route[r])
        inc[w >> bits] += (np.int64(1) << 32) + (w & mask)


@njit(cache=True, inline="always")
def flush_received(inc, t, cnt):
    """Add what :func:`gather_received` gathered to ``cnt[:, t, :]`` and zero ``inc``."""
    for j in range(inc.shape[0]):
        if inc[j] != 0:
            cnt[SPIKES_IN, t, j] += inc[j] >> 32
            cnt[SYNOPS, t, j] += inc[j] & 0xFFFFFFFF
            inc[j] = 0


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


@njit(cache=True, no_cpython_wrapper=True)
def deliver_many(rt, sources, lo, hi, t, acc, cnt):
    """:func:`deliver` every source ``sources[lo:hi]`` at step ``t`` (each source at most
    once: a list of the step's spikes), with the same effect on ``acc`` and ``cnt``.

    A separate (not inlined) function on purpose: inlined into a large kernel, the
    delivery loop compiles to code several times slower. Called from kernels only, so
    compiled without the CPython wrapper that would unbox ``rt`` (a first run's compile
    time). While one source is delivered,
    the tables of the next ones are prefetched, and the receiving cores' counts are
    gathered in a small array and added to ``cnt`` at the end.
    """
    n_syn = rt.syn.shape[0]
    n_routes = rt.route.shape[0]
    per_line = max(1, 64 // rt.syn.itemsize)
    routes_per_line = max(1, 64 // rt.route.itemsize)
    inc = np.zeros(cnt.shape[2], dtype=np.int64)  # gather_received's counts
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
        count_sent(rt, s, t, cnt)
        gather_received(rt, s, inc)
        _scatter(rt, rt.src[s, SYN_LO], rt.src[s, SYN_HI], t, acc)
    flush_received(inc, t, cnt)
