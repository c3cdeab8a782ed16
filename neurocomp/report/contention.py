"""Contention: each step's packets replayed through the mesh, for a step latency that
queues.

Input: a chip run (:class:`~neurocomp.ir.result.RunResult`: its spikes and counters),
the :class:`~neurocomp.ir.mapping.Mapping` it ran and the chip whose active profile
gives the times. Output: :class:`Replay`, the critical time of each step (barrier and
host I/O excluded), which :func:`neurocomp.report.cost.cost` uses instead of its
contention-free ``max_k busy`` when given one. ``docs/energy.md`` ("Contention") has
the model; in short, per step:

* **Sending.** A core updates its neurons in compartment order (the step's neuron time,
  from the counters, spread evenly over them); a neuron that fires adds ``T_spike_out``
  and sends one packet per destination core, each adding ``T_message_out``. A packet
  leaves when its neuron's turn has come.
* **Flight.** Dimension-order route (east-west, then north-south): ``T_spike_in_tile``
  plus the hop times. Inputs from the host arrive at the start of the step.
* **Queues.** Every directed link and every router carries the step's packets one after
  another: a link needs ``link_ns`` per packet (``interchip_link_ns`` between chips), a
  router ``router_ns`` per packet through its tile. A step takes at least as long as
  its busiest link or router needs to drain (a fluid FIFO: packets that share a link
  wait for each other).
* **Receiving.** A core takes its packets in arrival order, one after another:
  ``T_message_in`` plus its synapses' ``T_synop`` (per connector kind where the profile
  says) each; it starts a packet when it has arrived and the previous one is done.
  Receiving overlaps the core's own sending.
* The step's critical time is the latest of: every core's last packet done, every
  core's sending done, the busiest link or router drained.

* **Relays** (splitters, where the chip limits a neuron's destinations): the run's spikes
  name neurons only, so a relay's firings are derived from the compiler's rule: a relay
  fires in the step after a spike of the neuron that feeds it (``compiler/route.py``),
  and is replayed like any sender (its turn comes last on its core).

The replay is one compiled pass over the run's spikes in step order (Numba), O(packets
+ receiving cores x bins) per step: arrivals are not sorted but binned per receiving
core over the step's span (128-256 bins, about one per packet a core receives in an
average step), which gives a core's last packet done exactly when no bin holds two
different arrival times, else early by less than one bin's width (span / bins: at
most 1/128 of the step's span).
Limits: a link's queue drains at its rate from the step's start, not from its packets'
arrivals; a real-time chip (TrueNorth) is not replayed: its step is one tick whatever
its traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ..chip.events import connector_kind
from ..diagnostics import UsageError

__all__ = ["Replay", "replay"]


@dataclass(frozen=True, eq=False)
class Replay:
    """Per step (float64 ``(steps,)``, ns): the replayed critical time (``critical_ns``)
    and the part of it that its links and routers alone need (``network_ns``: the busiest
    one's drain time)."""

    critical_ns: np.ndarray
    network_ns: np.ndarray


def _turn_fraction(comp_core: np.ndarray) -> np.ndarray:
    """Per compartment, ``(its position among its core's compartments + 1) / their
    number``: the share of its core's neuron time done when its turn is over."""
    comp_core = np.asarray(comp_core, dtype=np.int64)
    n = comp_core.size
    per_core = np.bincount(comp_core) if n else np.zeros(0, dtype=np.int64)
    order = np.argsort(comp_core, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(np.cumsum(per_core) - per_core, per_core)
    return (rank + 1) / np.maximum(per_core[comp_core], 1) if n else np.zeros(0)


def _packets(mapping: Any, chip: Any, synop_ns: np.ndarray) -> dict[str, np.ndarray]:
    """The packet table of a mapping: one row per (source, destination core), sorted by
    source, with the receiving core's work for it (``T_message_in`` + its synapses)."""
    m = mapping
    times = chip.timing.times_ns
    n_routes = np.diff(np.asarray(m.route_ptr, dtype=np.int64))
    src = np.repeat(np.arange(m.n_sources, dtype=np.int64), n_routes)
    axon = np.asarray(m.route_axon, dtype=np.int64)
    dst = np.asarray(m.axon_core, dtype=np.int64)[axon]
    n_syn = np.diff(np.asarray(m.axon_syn_ptr, dtype=np.int64))[axon].astype(np.float64)
    work = n_syn * synop_ns[axon]
    message_in = float(times["message_in"] or 0.0)
    if np.all((src[1:] != src[:-1]) | (dst[1:] > dst[:-1])):
        # routes already in (source, core) order, one per pair: one packet each
        return {"src": src, "dst": dst, "work": work + message_in,
                "ptr": np.concatenate([[0], np.cumsum(n_routes)])}
    key = src * (int(dst.max(initial=0)) + 1) + dst
    order = np.argsort(key, kind="stable")
    key, src, dst, work = key[order], src[order], dst[order], work[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    group = np.cumsum(first) - 1
    pk_work = np.bincount(group, weights=work, minlength=int(first.sum())) + message_in
    pk_src, pk_dst = src[first], dst[first]
    ptr = np.zeros(m.n_sources + 1, dtype=np.int64)
    np.add.at(ptr, pk_src + 1, 1)
    return {"src": pk_src, "dst": pk_dst, "work": pk_work, "ptr": np.cumsum(ptr)}


def _spikes(result: Any, mapping: Any) -> tuple[np.ndarray, np.ndarray]:
    """The run's spikes as (step, source id): neurons' compartments, then the inputs
    (sources ``n_comp + offset``)."""
    m = mapping
    ts, ss = [], []
    pops = np.asarray(m.comp_pop, dtype=np.int64)
    idx = np.asarray(m.comp_index, dtype=np.int64)
    for p, name in enumerate(m.population_names):
        ev = result.spikes.get(name)
        if ev is None or not ev.count:
            continue
        comps = np.flatnonzero(pops == p)
        table = np.full(int(idx[comps].max(initial=-1)) + 1, -1, dtype=np.int64)
        table[idx[comps]] = comps
        c = table[np.asarray(ev.indices, dtype=np.int64)]
        keep = c >= 0
        ts.append(np.asarray(ev.times, dtype=np.int64)[keep])
        ss.append(c[keep])
    for name, off in m.input_offset.items():
        ev = result.spikes.get(name)
        if ev is not None and ev.count:
            ts.append(np.asarray(ev.times, dtype=np.int64))
            ss.append(m.n_comp + int(off) + np.asarray(ev.indices, dtype=np.int64))
    spk_t = np.concatenate(ts) if ts else np.zeros(0, dtype=np.int64)
    spk_s = np.concatenate(ss) if ss else np.zeros(0, dtype=np.int64)
    return spk_t, spk_s


def _relays_fed(mapping: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per source, the relay compartments its spikes reach: CSR ``(ptr, relay)``."""
    m = mapping
    n_routes = np.diff(np.asarray(m.route_ptr, dtype=np.int64))
    src = np.repeat(np.arange(m.n_sources, dtype=np.int64), n_routes)
    axon = np.asarray(m.route_axon, dtype=np.int64)
    keep = np.asarray(m.axon_projection, dtype=np.int64)[axon] == -1  # relay-input axons
    src, axon = src[keep], axon[keep]
    syn_ptr = np.asarray(m.axon_syn_ptr, dtype=np.int64)
    n_syn = syn_ptr[axon + 1] - syn_ptr[axon]
    first = np.repeat(syn_ptr[axon] - np.cumsum(n_syn) + n_syn, n_syn)
    relay = np.asarray(m.syn_target, dtype=np.int64)[first + np.arange(int(n_syn.sum()))]
    pair_src = np.repeat(src, n_syn)
    order = np.argsort(pair_src, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(pair_src, minlength=m.n_sources))])
    return ptr, relay[order]


def _with_relays(mapping: Any, spk_t: np.ndarray, spk_s: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The spikes plus the relays' firings they cause (one step later, within the run)."""
    if not np.any(np.asarray(mapping.comp_pop) == -1):
        return spk_t, spk_s
    ptr, relay = _relays_fed(mapping)
    all_t, all_s = [spk_t], [spk_s]
    t, s = spk_t, spk_s
    while t.size:  # relays feeding relays: one level per pass
        count = ptr[s + 1] - ptr[s]
        start = np.repeat(ptr[s] - np.cumsum(count) + count, count)
        t = np.repeat(t + 1, count)
        s = relay[start + np.arange(int(count.sum()))]
        keep = t < steps
        t, s = t[keep], s[keep]
        all_t.append(t)
        all_s.append(s)
    return np.concatenate(all_t), np.concatenate(all_s)


def _axon_synop_ns(mapping: Any, chip: Any) -> np.ndarray:
    """Per axon, the time of one of its synaptic operations (per connector kind where
    the profile prices it)."""
    base = float(chip.timing.times_ns["synop"] or 0.0)
    by_kind = chip.timing.synop_by_connector
    out = np.full(mapping.n_axons, base)
    if by_kind:
        projs = {p.name: p for p in mapping.network.projections}
        proj = np.asarray(mapping.axon_projection, dtype=np.int64)
        for i, name in enumerate(mapping.projection_names):
            kind = connector_kind(projs[name].connector) if name in projs else ""
            if kind in by_kind:
                out[proj == i] = float(by_kind[kind])
    return out


def replay(result: Any, mapping: Any, chip: Any) -> Replay:
    """Replay every step's packets of a chip run (see the module docstring).

    Raises
    ------
    UsageError
        When the run has no counters (a float reference run) or the chip runs in real
        time (its steps take one tick whatever the traffic).
    """
    if result.counters is None:
        raise UsageError("the run has no work counters; contention needs a chip run")
    if chip.timing.real_time:
        raise UsageError(f"chip '{chip.name}' runs in real time: a step takes one tick, contention or not")
    m = mapping
    t = chip.timing
    T = {k: float(v or 0.0) for k, v in t.times_ns.items()}
    steps = int(result.steps)
    counters = result.counters
    core_ids = np.asarray(counters.core_ids, dtype=np.int64)

    # the cores the mapping uses, numbered 0..n-1, with their tile coordinates
    comp_core = np.asarray(m.comp_core, dtype=np.int64)
    present = np.zeros(chip.total_cores, dtype=bool)
    for cores in (comp_core, np.asarray(m.axon_core, dtype=np.int64), core_ids):
        present[cores] = True
    used = np.flatnonzero(present)
    at = np.full(chip.total_cores, -1, dtype=np.int64)
    at[used] = np.arange(used.size)
    xy = chip.coordinates_of(used)

    # neuron time of each core and step (from the counters), spread over its compartments
    soma = np.zeros((steps, used.size), dtype=np.float64)
    soma[:, at[core_ids]] = (np.asarray(counters.updates_active, dtype=np.float64) * T["neuron_update_active"]
                             + np.asarray(counters.updates_inactive, dtype=np.float64)
                             * T["neuron_update_inactive"])
    send = soma.copy()
    send[:, at[core_ids]] += (np.asarray(counters.spikes_out, dtype=np.float64) * T["spike_out"]
                              + np.asarray(counters.messages_out, dtype=np.float64) * T["message_out"])
    turn_frac = _turn_fraction(comp_core)

    pk = _packets(m, chip, _axon_synop_ns(m, chip))
    pk_dst = at[pk["dst"]]

    # the run's spikes as (step, source id), in step order; inputs come from the host
    spk_t, spk_s = _with_relays(m, *_spikes(result, m), steps)
    spk_core = np.where(spk_s < m.n_comp, at[comp_core[np.minimum(spk_s, max(m.n_comp - 1, 0))]], -1)
    # by step, then core, then compartment (a core's turn order): one sort of unique keys
    per_t = (used.size + 1) * max(m.n_sources, 1)
    key = np.sort(spk_t * per_t + (spk_core + 1) * m.n_sources + spk_s)
    spk_t, rest = np.divmod(key, per_t)
    spk_core, spk_s = np.divmod(rest, m.n_sources)
    spk_core -= 1
    spk_turn = np.where(spk_core >= 0, turn_frac[np.minimum(spk_s, max(m.n_comp - 1, 0))], 0.0)

    topo = chip.topology
    width = topo.tiles_x * chip.system.chips_x
    height = topo.tiles_y * chip.system.chips_y
    times = np.array([T["spike_out"], T["message_out"], T["spike_in_tile"], T["hop_east_west"],
                      T["hop_north_south"], T["interchip_hop"], float(t.link_ns), float(t.interchip_link_ns),
                      float(t.router_ns)], dtype=np.float64)
    src_core = np.full(m.n_sources, -1, dtype=np.int64)
    src_core[: m.n_comp] = at[comp_core]
    critical, network = _replay_kernel(steps, spk_t, spk_s, spk_core, spk_turn, pk["ptr"], pk_dst, pk["work"],
                                       src_core, soma, send, xy, times, width, height, topo.tiles_x,
                                       topo.tiles_y, _MAX_PAIRS)
    return Replay(critical_ns=critical, network_ns=network)


#: Bins per receiving core and step: one per packet a core receives in an average step,
#: within these bounds (see :func:`_served`: the error is below span / bins).
_MIN_BINS = 128
_MAX_BINS = 256


@njit(cache=True)
def _served(first, work, lo, n_bins):  # pragma: no cover - compiled
    """When a core is done with its step's packets, from its arrival bins
    ``lo .. lo + n_bins - 1`` (per bin, in time order: the earliest arrival ``first``,
    ``inf`` if empty, and the work ``work`` of the packets arriving in it); clears them.

    A core that takes its packets one after another in arrival order is done at
    ``max_j (a_j + S_j)``, ``S_j`` the work of the packets arriving at ``a_j`` or later
    (nothing is served before it arrives; once the last idle time is over it works
    without a break). Per bin that is ``first_b + S_b`` for the bin's earliest packet:
    exact when a bin's packets arrive at one time, else short by less than a bin's width.
    """
    done = 0.0
    after = 0.0
    for b in range(lo + n_bins - 1, lo - 1, -1):  # branch-free: an empty bin adds 0 + inf
        after += work[b]
        end = first[b] + after
        done = end if end > done and end < np.inf else done
        first[b] = np.inf
        work[b] = 0.0
    return done


#: Largest (sender, receiver) table the replay keeps per step (cores used, squared).
_MAX_PAIRS = 1 << 22


@njit(cache=True, inline="always")
def _flight(xy, a, b, t_tile, t_ew, t_ns, t_chip):  # pragma: no cover - compiled
    """A packet's flight from core ``a`` to core ``b``: its tile's router, then the
    dimension-order hops (on-chip links east-west and north-south, chip-to-chip links)."""
    ic = abs(xy[b, 2] - xy[a, 2]) + abs(xy[b, 3] - xy[a, 3])
    ew = abs(xy[b, 0] - xy[a, 0]) - abs(xy[b, 2] - xy[a, 2])
    ns = abs(xy[b, 1] - xy[a, 1]) - abs(xy[b, 3] - xy[a, 3])
    return t_tile + ew * t_ew + ns * t_ns + ic * t_chip


@njit(cache=True, inline="always")
def _walk(load, touched, n_touched, x0, y0, x1, y1, cnt, s_link, s_chip, s_router, width, height, tiles_x,
          tiles_y):  # pragma: no cover - compiled
    """Load ``cnt`` packets' service times on the links and routers of the
    dimension-order route (x0, y0) -> (x1, y1); returns the new ``n_touched``."""
    x, y = x0, y0
    step_x = 1 if x1 > x0 else -1
    while True:
        rid = 4 * height * width + y * width + x
        if load[rid] == 0.0 and s_router > 0.0:
            touched[n_touched] = rid
            n_touched += 1
        load[rid] += s_router * cnt
        if x != x1:
            i = x if step_x > 0 else x - 1
            svc = s_chip if (i + 1) % tiles_x == 0 else s_link
            rid = (y * width + i) * 2 + (1 if step_x > 0 else 0)
            x += step_x
        elif y != y1:
            step_y = 1 if y1 > y else -1
            i = y if step_y > 0 else y - 1
            svc = s_chip if (i + 1) % tiles_y == 0 else s_link
            rid = 2 * height * width + (x * height + i) * 2 + (1 if step_y > 0 else 0)
            y += step_y
        else:
            break
        if load[rid] == 0.0 and svc > 0.0:
            touched[n_touched] = rid
            n_touched += 1
        load[rid] += svc * cnt
    return n_touched


@njit(cache=True)
def _replay_kernel(steps, spk_t, spk_s, spk_core, spk_turn, pk_ptr, pk_dst, pk_work, src_core, soma, send, xy,
                   times, width, height, tiles_x, tiles_y, max_pairs):  # pragma: no cover - compiled
    t_spike, t_msg, t_tile, t_ew, t_ns, t_chip, s_link, s_chip, s_router = (
        times[0], times[1], times[2], times[3], times[4], times[5], times[6], times[7], times[8])
    n_cores = soma.shape[1]
    critical = np.zeros(steps)
    network = np.zeros(steps)
    spikes_done = np.zeros(n_cores)
    msgs_done = np.zeros(n_cores)
    # link loads: east-west links (y, i, dir), north-south links (x, i, dir), routers (x, y)
    n_res = 2 * height * width + 2 * width * height + width * height
    load = np.zeros(n_res)
    touched = np.zeros(n_res, dtype=np.int64)
    n = spk_t.size
    # arrivals are binned per receiving core on the step's time span (no sort): about
    # one bin per packet a core receives in an average step
    total = 0
    for k in range(n):
        total += pk_ptr[spk_s[k] + 1] - pk_ptr[spk_s[k]]
    n_bins = _MIN_BINS
    while n_bins < _MAX_BINS and n_bins * steps * n_cores < total:
        n_bins *= 2
    first = np.full(n_cores * n_bins, np.inf)
    work = np.zeros(n_cores * n_bins)
    n_recv = np.zeros(n_cores, dtype=np.int64)
    k = 0
    # a busy step sends many packets between few pairs of cores: their routes are walked
    # once per pair (up to max_pairs pairs of cores; beyond, once per packet)
    by_pair = n_cores * n_cores <= max_pairs
    n_pair_slots = n_cores * n_cores if by_pair else 1
    pair_cnt = np.zeros(n_pair_slots)
    pair_list = np.empty(n_pair_slots, dtype=np.int64)
    pair_flight = np.zeros(n_pair_slots)
    longest = 0.0
    for a in range(n_cores):
        for b in range(n_cores):
            f = _flight(xy, a, b, t_tile, t_ew, t_ns, t_chip)
            longest = f if f > longest else longest
            if by_pair:
                pair_flight[a * n_cores + b] = f
    # per packet of the table: when it arrives after its spike's sending began (its
    # message out and its flight) and its (sender, receiver) pair
    n_rows = pk_dst.size
    pk_off = np.zeros(n_rows)
    pk_pair = np.zeros(n_rows, dtype=np.int64)
    for src in range(src_core.size):
        core = src_core[src]
        if core >= 0:
            for r in range(pk_ptr[src], pk_ptr[src + 1]):
                d = pk_dst[r]
                f = pair_flight[core * n_cores + d] if by_pair else _flight(xy, core, d, t_tile, t_ew, t_ns, t_chip)
                pk_off[r] = (r - pk_ptr[src] + 1) * t_msg + f
                pk_pair[r] = core * n_cores + d
    for step in range(steps):
        n_touched = 0
        n_pairs = 0
        # every packet arrives by its core's sending time plus the longest flight
        span = 0.0
        for c in range(n_cores):
            span = send[step, c] if send[step, c] > span else span
        span += longest
        per_ns = n_bins / span if span > 0.0 else 0.0
        while k < n and spk_t[k] == step:
            src = spk_s[k]
            core = spk_core[k]
            base = 0.0
            if core >= 0:
                spikes_done[core] += 1.0
                base = soma[step, core] * spk_turn[k] + spikes_done[core] * t_spike + msgs_done[core] * t_msg
                msgs_done[core] += pk_ptr[src + 1] - pk_ptr[src]
            for r in range(pk_ptr[src], pk_ptr[src + 1]):
                d = pk_dst[r]
                a = base + pk_off[r]  # 0 from the host: before the step
                if core >= 0:
                    if by_pair:  # the route is walked once per step and pair, below
                        pid = pk_pair[r]
                        if pair_cnt[pid] == 0.0:
                            pair_list[n_pairs] = pid
                            n_pairs += 1
                        pair_cnt[pid] += 1.0
                    else:
                        n_touched = _walk(load, touched, n_touched, xy[core, 0], xy[core, 1], xy[d, 0],
                                          xy[d, 1], 1.0, s_link, s_chip, s_router, width, height, tiles_x,
                                          tiles_y)
                b = int(a * per_ns)
                b = d * n_bins + (b if b < n_bins else n_bins - 1)
                first[b] = min(a, first[b])
                work[b] += pk_work[r]
                n_recv[d] += 1
            k += 1
        # the mesh: every (sender, receiver) pair's packets load the links and routers of
        # its dimension-order route
        for j in range(n_pairs):
            pid = pair_list[j]
            pc = pair_cnt[pid]
            pair_cnt[pid] = 0.0
            core = pid // n_cores
            d = pid - core * n_cores
            x0, y0 = xy[core, 0], xy[core, 1]
            x1, y1 = xy[d, 0], xy[d, 1]
            n_touched = _walk(load, touched, n_touched, x0, y0, x1, y1, pc, s_link, s_chip, s_router,
                              width, height, tiles_x, tiles_y)
        # receiving: each core takes its packets in arrival order, one after another
        worst = 0.0
        for d in range(n_cores):
            if n_recv[d] > 0:
                n_recv[d] = 0
                done = _served(first, work, d * n_bins, n_bins)
                worst = done if done > worst else worst
        for c in range(n_cores):
            if send[step, c] > worst:
                worst = send[step, c]
            spikes_done[c] = 0.0
            msgs_done[c] = 0.0
        drain = 0.0
        for j in range(n_touched):
            rid = touched[j]
            if load[rid] > drain:
                drain = load[rid]
            load[rid] = 0.0
        network[step] = drain
        critical[step] = worst if worst > drain else drain
    return critical, network
