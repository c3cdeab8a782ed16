"""Place: give every logical core a physical core (and so a chip) on the system's mesh.

Input: a :class:`~neurocomp.ir.partition.Partition` and the chip (system).
Output: a :class:`~neurocomp.ir.partition.Placement`: distinct physical core ids, the
processor kind each logical core runs as (Akida), and the traffic figures of the
placement next to those of the naive row-major one.

What is minimised
-----------------
Every route between two logical cores is one packet per spike. Its cost is the links it
crosses under dimension-order routing, a chip-to-chip link weighing ``W`` on-chip links,
``W = topology.tiles_x + topology.tiles_y`` (crossing a chip boundary costs more than
crossing a whole chip)::

    cost = sum over routes a -> b of  |dx| + |dy| + (W - 1) * (|dcx| + |dcy|)

where ``dx, dy`` are the differences of the two cores' tiles on the system-wide mesh and
``dcx, dcy`` those of their chips (``chip.coordinates()``). Routes within a core cost 0;
routes from inputs come from the host and are not placed.

Strategies (:data:`PLACERS`), each a small callable ``(problem, seed) -> core ids``:

``row_major``
    logical core ``i`` on the ``i``-th free core in id order (tile by tile, row-major,
    chip by chip): the baseline every report compares with.
``greedy``
    logical cores in order of traffic (breadth-first from the busiest, always taking the
    core with the most routes to those already placed); each goes to the free core that
    costs least against its placed neighbours (ties: lowest id).
``anneal`` (default)
    ``greedy``, then simulated annealing: moves and swaps of one core, to a tile next to
    one of its neighbours or anywhere, accepted by the Metropolis rule under a geometric
    cooling schedule, seeded (the same seed gives the same placement); the better of the
    two results is kept. A greedy placement of cost 0 (all traffic within tiles) is
    kept without annealing: nothing can be cheaper.

On chips with processor kinds (Akida) a logical core only goes to a core whose processor
group can act as one of the kinds it may run; cores are taken most-constrained first.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
from ._jit import njit

from ..chip.spec import ChipSpec
from ..diagnostics import CapacityError, UsageError, did_you_mean
from ..ir.partition import Partition, Placement, PlacementReport

__all__ = ["place", "PLACERS", "interchip_weight", "placement_cost"]


def interchip_weight(chip: ChipSpec) -> int:
    """On-chip links one chip-to-chip link weighs in the placement cost."""
    return int(chip.topology.tiles_x + chip.topology.tiles_y)


class _Problem(NamedTuple):
    n_logical: int
    n_phys: int
    coords: np.ndarray  # int64 [n_phys, 4]: global tile x, y; chip x, y
    adj_ptr: np.ndarray  # int64 [n_logical + 1]: symmetric traffic graph
    adj_nbr: np.ndarray  # int64
    adj_w: np.ndarray  # int64
    lmask: np.ndarray  # int64 [n_logical]: processor kinds each logical core may run as
    pmask: np.ndarray  # int64 [n_phys]: processor kinds each physical core offers
    tile_core: np.ndarray  # int64 [n_tiles_x * n_tiles_y, cores_per_tile]: core id or -1
    grid: np.ndarray  # int64 [4]: tiles x, tiles y (system-wide), chips x, chips y
    weight: int  # interchip weight W


# =========================================================================== kernels


@njit(cache=True, python=True)
def _dist(coords, p, q, w1):
    return (abs(coords[p, 0] - coords[q, 0]) + abs(coords[p, 1] - coords[q, 1])
            + w1 * (abs(coords[p, 2] - coords[q, 2]) + abs(coords[p, 3] - coords[q, 3])))


@njit(cache=True, python=True)
def _spread(hist, out):
    """out[x] = sum_k hist[k] * |x - k| (two prefix passes)."""
    n = hist.shape[0]
    acc = 0
    run = 0
    for x in range(n):
        out[x] = acc
        run += hist[x]
        acc += run
    acc = 0
    run = 0
    for x in range(n - 1, -1, -1):
        out[x] += acc
        run += hist[x]
        acc += run


@njit(cache=True, python=True)
def _greedy(order, adj_ptr, adj_nbr, adj_w, coords, lmask, pmask, grid, w1, pos):
    """Place logical cores in ``order``, each on the free compatible core of least cost
    against its placed neighbours. Returns 0, or 1 + a logical core with no room."""
    n_phys = coords.shape[0]
    used = np.zeros(n_phys, dtype=np.bool_)
    hx = np.zeros(grid[0], dtype=np.int64)
    hy = np.zeros(grid[1], dtype=np.int64)
    hcx = np.zeros(grid[2], dtype=np.int64)
    hcy = np.zeros(grid[3], dtype=np.int64)
    fx = np.zeros(grid[0], dtype=np.int64)
    fy = np.zeros(grid[1], dtype=np.int64)
    fcx = np.zeros(grid[2], dtype=np.int64)
    fcy = np.zeros(grid[3], dtype=np.int64)
    for i in range(order.shape[0]):
        l = order[i]
        hx[:] = 0
        hy[:] = 0
        hcx[:] = 0
        hcy[:] = 0
        placed_nb = 0
        for e in range(adj_ptr[l], adj_ptr[l + 1]):
            p = pos[adj_nbr[e]]
            if p < 0:
                continue
            placed_nb += 1
            hx[coords[p, 0]] += adj_w[e]
            hy[coords[p, 1]] += adj_w[e]
            hcx[coords[p, 2]] += adj_w[e]
            hcy[coords[p, 3]] += adj_w[e]
        best = -1
        best_cost = 0
        if placed_nb > 0:
            _spread(hx, fx)
            _spread(hy, fy)
            _spread(hcx, fcx)
            _spread(hcy, fcy)
        for q in range(n_phys):
            if used[q] or (lmask[l] & pmask[q]) == 0:
                continue
            if placed_nb == 0:
                best = q
                break
            c = fx[coords[q, 0]] + fy[coords[q, 1]] + w1 * (fcx[coords[q, 2]] + fcy[coords[q, 3]])
            if best < 0 or c < best_cost:
                best = q
                best_cost = c
        if best < 0:
            return 1 + l
        pos[l] = best
        used[best] = True
    return 0


@njit(cache=True, python=True)
def _node_cost(l, at, skip, pos, adj_ptr, adj_nbr, adj_w, coords, w1):
    """Cost of logical core ``l``'s routes if it sat at ``at`` (neighbour ``skip`` left out)."""
    c = 0
    for e in range(adj_ptr[l], adj_ptr[l + 1]):
        b = adj_nbr[e]
        if b == skip:
            continue
        c += adj_w[e] * _dist(coords, at, pos[b], w1)
    return c


@njit(cache=True, python=True)
def _anneal(pos, adj_ptr, adj_nbr, adj_w, coords, lmask, pmask, tile_core, grid, w1, iters, seed, t_scale):
    """Simulated annealing over moves and swaps; ``pos`` is updated in place.
    Returns the change in cost (negative: better)."""
    np.random.seed(seed)
    n_l = pos.shape[0]
    n_phys = coords.shape[0]
    occ = np.full(n_phys, -1, dtype=np.int64)
    for l in range(n_l):
        occ[pos[l]] = l
    slots = tile_core.shape[1]
    # Initial temperature: the mean size of an uphill move among a few random ones.
    total = 0.0
    ups = 0
    for _ in range(200):
        l = np.random.randint(n_l)
        q = np.random.randint(n_phys)
        d = _node_cost(l, q, -1, pos, adj_ptr, adj_nbr, adj_w, coords, w1) - \
            _node_cost(l, pos[l], -1, pos, adj_ptr, adj_nbr, adj_w, coords, w1)
        if d > 0:
            total += d
            ups += 1
    t = t_scale * (total / ups if ups > 0 else 1.0)
    t_end = t * 1e-3
    alpha = math.exp(math.log(t_end / t) / max(iters, 1)) if t > 0 else 1.0
    change = 0
    for it in range(iters):
        l = np.random.randint(n_l)
        deg = adj_ptr[l + 1] - adj_ptr[l]
        p = pos[l]
        if deg > 0 and np.random.random() < 0.5:
            nb = adj_nbr[adj_ptr[l] + np.random.randint(deg)]
            qb = pos[nb]
            tx = coords[qb, 0] + np.random.randint(3) - 1
            ty = coords[qb, 1] + np.random.randint(3) - 1
            if tx < 0 or ty < 0 or tx >= grid[0] or ty >= grid[1]:
                t *= alpha
                continue
            q = tile_core[ty * grid[0] + tx, np.random.randint(slots)]
        else:
            q = np.random.randint(n_phys)
        if q < 0 or q == p or (lmask[l] & pmask[q]) == 0:
            t *= alpha
            continue
        m = occ[q]
        if m >= 0 and (lmask[m] & pmask[p]) == 0:
            t *= alpha
            continue
        d = _node_cost(l, q, m, pos, adj_ptr, adj_nbr, adj_w, coords, w1) - \
            _node_cost(l, p, m, pos, adj_ptr, adj_nbr, adj_w, coords, w1)
        if m >= 0:
            # m moves to p; the l-m route keeps its length and is left out of both sums.
            d += _node_cost(m, p, l, pos, adj_ptr, adj_nbr, adj_w, coords, w1) - \
                _node_cost(m, q, l, pos, adj_ptr, adj_nbr, adj_w, coords, w1)
        if d <= 0 or np.random.random() < math.exp(-d / t):
            pos[l] = q
            occ[q] = l
            occ[p] = m
            if m >= 0:
                pos[m] = p
            change += d
        t *= alpha
    return change


# =========================================================================== problem


def _kinds(chip: ChipSpec) -> list[str]:
    return sorted({k for group in chip.connectivity.processors for k in group.kinds})


def _physical_masks(chip: ChipSpec, kinds: list[str]) -> np.ndarray:
    """Per physical core, the bitmask of processor kinds its group offers.

    The chip file lists processor groups with counts, not positions: they are taken to
    fill each chip's cores in id order, in the order the file lists them.
    """
    n = chip.total_cores
    if not kinds:
        return np.full(n, -1, dtype=np.int64)
    local = np.zeros(chip.topology.cores_per_chip, dtype=np.int64)
    at = 0
    for group in chip.connectivity.processors:
        bits = 0
        for k in group.kinds:
            bits |= 1 << kinds.index(k)
        local[at:at + group.count] = bits
        at += group.count
    return np.tile(local, chip.n_chips)


def _problem(part: Partition, chip: ChipSpec) -> _Problem:
    L = part.n_cores
    coords = np.ascontiguousarray(chip.coordinates(), dtype=np.int64)
    a, b, w = part.traffic_src.astype(np.int64), part.traffic_dst.astype(np.int64), part.traffic_routes
    off = a != b
    a, b, w = a[off], b[off], w[off]
    sa = np.concatenate([a, b])
    sb = np.concatenate([b, a])
    sw = np.concatenate([w, w])
    key, inv = np.unique(sa * max(L, 1) + sb, return_inverse=True)
    weight = np.bincount(np.asarray(inv).reshape(-1), weights=sw, minlength=key.size).astype(np.int64)
    ptr = np.zeros(L + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // max(L, 1), minlength=L), out=ptr[1:])
    kinds = _kinds(chip)
    if kinds:
        lmask = np.array([sum(1 << kinds.index(k) for k in c.processor_kinds) for c in part.cores],
                         dtype=np.int64)
    else:
        lmask = np.full(L, -1, dtype=np.int64)
    pmask = _physical_masks(chip, kinds)
    topo = chip.topology
    gx = topo.tiles_x * chip.system.chips_x
    gy = topo.tiles_y * chip.system.chips_y
    tile_core = np.full((gx * gy, topo.cores_per_tile), -1, dtype=np.int64)
    core_ids = np.arange(chip.total_cores, dtype=np.int64)
    in_tile = np.array([chip.mesh_position(c).core_in_tile for c in range(topo.cores_per_chip)],
                       dtype=np.int64)
    in_tile = np.tile(in_tile, chip.n_chips)
    tile_core[coords[:, 1] * gx + coords[:, 0], in_tile] = core_ids
    grid = np.array([gx, gy, chip.system.chips_x, chip.system.chips_y], dtype=np.int64)
    return _Problem(n_logical=L, n_phys=chip.total_cores, coords=coords, adj_ptr=ptr,
                    adj_nbr=(key % max(L, 1)).astype(np.int64), adj_w=weight, lmask=lmask, pmask=pmask,
                    tile_core=tile_core, grid=grid, weight=interchip_weight(chip))


def _constrained_first(prob: _Problem) -> np.ndarray:
    """Logical cores, those with fewer compatible physical cores first (stable)."""
    if np.all(prob.lmask == -1):
        return np.arange(prob.n_logical, dtype=np.int64)
    room = np.array([np.count_nonzero(prob.pmask & m) for m in prob.lmask.tolist()], dtype=np.int64)
    return np.argsort(room, kind="stable").astype(np.int64)


def _row_major(prob: _Problem, seed: int) -> np.ndarray:
    pos = np.full(prob.n_logical, -1, dtype=np.int64)
    # With no placed neighbours the greedy kernel takes the lowest free compatible core.
    empty = np.zeros(prob.n_logical + 1, dtype=np.int64)
    _check(prob, _greedy(_constrained_first(prob), empty, np.zeros(0, np.int64), np.zeros(0, np.int64),
                         prob.coords, prob.lmask, prob.pmask, prob.grid, prob.weight - 1, pos))
    return pos


def _traffic_order(prob: _Problem) -> np.ndarray:
    """Breadth-first by traffic from the busiest core; most-constrained cores first."""
    import heapq

    L = prob.n_logical
    owner = np.repeat(np.arange(L, dtype=np.int64), np.diff(prob.adj_ptr))
    strength = np.bincount(owner, weights=prob.adj_w, minlength=L)
    first = _constrained_first(prob)
    if not np.all(prob.lmask == -1):
        # Scarce processor kinds are placed first, in traffic order among themselves.
        return first
    done = np.zeros(L, dtype=np.bool_)
    conn = np.zeros(L, dtype=np.int64)
    out = []
    by_strength = np.argsort(-strength, kind="stable")
    cursor = 0
    heap: list[tuple[int, int]] = []
    while len(out) < L:
        if not heap:
            while done[by_strength[cursor]]:
                cursor += 1
            heap.append((0, int(by_strength[cursor])))
        neg, l = heapq.heappop(heap)
        if done[l] or -neg != conn[l]:
            continue
        done[l] = True
        out.append(l)
        for e in range(prob.adj_ptr[l], prob.adj_ptr[l + 1]):
            b = int(prob.adj_nbr[e])
            if not done[b]:
                conn[b] += int(prob.adj_w[e])
                heapq.heappush(heap, (-int(conn[b]), b))
    return np.array(out, dtype=np.int64)


def _greedy_place(prob: _Problem, seed: int) -> np.ndarray:
    pos = np.full(prob.n_logical, -1, dtype=np.int64)
    _check(prob, _greedy(_traffic_order(prob), prob.adj_ptr, prob.adj_nbr, prob.adj_w, prob.coords,
                         prob.lmask, prob.pmask, prob.grid, prob.weight - 1, pos))
    return pos


#: Starting temperature of the annealer, as a fraction of the mean uphill move of a
#: random relocation: low, because it starts from the greedy placement and refines it.
ANNEAL_T0 = 0.05

#: Edge evaluations the annealer may spend (bounds its time on dense traffic graphs).
ANNEAL_BUDGET = 100_000_000


def _anneal_place(prob: _Problem, seed: int) -> np.ndarray:
    start = _greedy_place(prob, seed)
    if prob.n_logical < 2 or prob.adj_nbr.size == 0:
        return start
    # Traffic only between cores of one tile costs 0, which annealing cannot lower (it
    # keeps the greedy placement unless it finds a cheaper one): skip it, and so its
    # compilation on a first run (2 s of CPU for a small network's two cores).
    src = np.repeat(np.arange(prob.n_logical), np.diff(prob.adj_ptr))
    a, b = prob.coords[start[src]], prob.coords[start[prob.adj_nbr]]
    if not np.any((np.abs(a - b).sum(axis=1) > 0) & (prob.adj_w != 0)):
        return start
    pos = start.copy()
    mean_deg = prob.adj_nbr.size / prob.n_logical
    iters = int(min(400 * prob.n_logical + 10_000, ANNEAL_BUDGET / (4 * mean_deg + 4)))
    change = _anneal(pos, prob.adj_ptr, prob.adj_nbr, prob.adj_w, prob.coords, prob.lmask, prob.pmask,
                     prob.tile_core, prob.grid, prob.weight - 1, iters, seed, ANNEAL_T0)
    return pos if change < 0 else start


def _check(prob: _Problem, code: int) -> None:
    if code:
        raise CapacityError(f"logical core {code - 1} finds no free core of a processor kind it can run as")


#: Placement strategies: ``(problem, seed) -> physical core of each logical core``.
PLACERS: dict[str, Callable[[_Problem, int], np.ndarray]] = {
    "row_major": _row_major, "greedy": _greedy_place, "anneal": _anneal_place}


# =========================================================================== driver


def placement_cost(part: Partition, chip: ChipSpec, core_id: np.ndarray) -> tuple[int, int, int, int]:
    """``(routes, hops, interchip routes, cost)`` of a placement (routes counted once)."""
    a = core_id[part.traffic_src.astype(np.int64)]
    b = core_id[part.traffic_dst.astype(np.int64)]
    w = part.traffic_routes.astype(np.int64)
    if w.size == 0:
        return 0, 0, 0, 0
    ew, ns, ic = chip.hops_array(a, b)
    hops = int(((ew + ns + ic) * w).sum())
    inter = int((w * (ic > 0)).sum())
    cost = int(((ew + ns + interchip_weight(chip) * ic) * w).sum())
    return int(w.sum()), hops, inter, cost


def place(partition: Partition, chip: ChipSpec | None = None, *, strategy: str = "anneal", seed: int = 0) -> Placement:
    """Give each logical core of ``partition`` a physical core of ``chip``.

    Parameters
    ----------
    partition
        The logical cores and the traffic between them.
    chip
        The chip or system (default ``partition.chip``).
    strategy
        A key of :data:`PLACERS`.
    seed
        Seed of the annealer's random moves.

    Returns
    -------
    Placement
        Distinct physical ids, processor kinds, and a report with total and mean hops,
        intra- and inter-chip routes, and the same for the row-major placement.

    Raises
    ------
    CapacityError
        More logical cores (or more of one processor kind) than the system has; the
        message says how many chips would hold them.
    """
    chip = partition.chip if chip is None else chip
    if strategy not in PLACERS:
        raise UsageError(f"no placement strategy '{strategy}'", hint=did_you_mean(strategy, PLACERS))
    _check_room(partition, chip)
    window = _window(partition, chip)
    _check_memory(partition, window)
    prob = _problem(partition, window)
    pos = _to_system(PLACERS[strategy](prob, seed), window, chip)
    naive = pos if strategy == "row_major" else _to_system(_row_major(prob, seed), window, chip)
    routes, hops, inter, cost = placement_cost(partition, chip, pos)
    _, n_hops, n_inter, n_cost = placement_cost(partition, chip, naive)
    kinds = _kinds(chip)
    chosen = []
    local_pos = _to_window(pos, window, chip)
    for l, p in enumerate(local_pos.tolist()):
        both = int(prob.lmask[l]) & int(prob.pmask[p])
        chosen.append(next((k for bit, k in enumerate(kinds) if both >> bit & 1), ""))
    chips_used = len(set((pos // chip.topology.cores_per_chip).tolist())) if pos.size else 0
    report = PlacementReport(strategy=strategy, chips_used=chips_used, routes=routes, hops=hops,
                             interchip_routes=inter, cost=cost, naive_hops=n_hops,
                             naive_interchip_routes=n_inter, naive_cost=n_cost,
                             interchip_weight=interchip_weight(chip))
    return Placement(partition=partition, chip=chip, core_id=pos.astype(np.int32), processor_kind=tuple(chosen),
                     report=report)


def _window(part: Partition, chip: ChipSpec) -> ChipSpec:
    """The chips the placer searches: the top-left ``sx`` x ``sy`` chips of the system,
    at least twice the chips the logical cores fill (the whole system when that is not
    smaller). Every placement in the window is one of the system's, with the same hops
    (the window is the corner of the same mesh), so the placer's work grows with the
    cores used, not with the chips declared (``--chips 16384`` for 3 neurons took 25 s).
    """
    sys = chip.system
    per_chip = chip.topology.cores_per_chip
    want = max(2 * -(-part.n_cores // per_chip), 1)
    if chip.connectivity.processors or want >= sys.chips:
        return chip  # processor kinds: their counts were checked on the whole system
    sx = min(sys.chips_x, max(1, math.isqrt(want - 1) + 1))
    sy = min(sys.chips_y, -(-want // sx))
    sx = min(sys.chips_x, -(-want // sy))
    if sx * sy >= sys.chips:
        return chip
    return chip.with_system(sx, sy, source=f"derived: the {sx} x {sy} corner the placer searches")


def _to_system(pos: np.ndarray, window: ChipSpec, chip: ChipSpec) -> np.ndarray:
    """Core ids of the window as the system's ids (chip index row-major in each)."""
    if window is chip:
        return pos
    per_chip = chip.topology.cores_per_chip
    c, local = np.divmod(np.asarray(pos, dtype=np.int64), per_chip)
    cy, cx = np.divmod(c, window.system.chips_x)
    return (cy * chip.system.chips_x + cx) * per_chip + local


def _to_window(pos: np.ndarray, window: ChipSpec, chip: ChipSpec) -> np.ndarray:
    if window is chip:
        return pos
    per_chip = chip.topology.cores_per_chip
    c, local = np.divmod(np.asarray(pos, dtype=np.int64), per_chip)
    cy, cx = np.divmod(c, chip.system.chips_x)
    return (cy * window.system.chips_x + cx) * per_chip + local


def _check_memory(part: Partition, window: ChipSpec) -> None:
    """Refuse a placement whose tables would not fit in memory, before they are made: per
    physical core of the window its coordinates, tile slot, kind mask and the placers'
    occupancy (7 int64 and a flag), per traffic pair both directions with their key,
    inverse and weight (5 int64, twice), per logical core its adjacency and position
    (4 int64). A lower bound, counted in Python integers (no int64 wrap)."""
    from ..resources import require_memory

    n_phys = int(window.total_cores)
    pairs = int(np.asarray(part.traffic_src).size)
    need = n_phys * (7 * 8 + 1) + pairs * 2 * 5 * 8 + int(part.n_cores) * 4 * 8
    require_memory(need, f"placing network '{part.qnet.network.name}' ({part.n_cores:,} core{'s' if part.n_cores != 1 else ''} on "
                         f"{n_phys:,} physical cores, {pairs:,} core pairs that exchange spikes)",
                   hint="use fewer chips (--chips), or a machine with more memory")


def _check_room(part: Partition, chip: ChipSpec) -> None:
    need = part.n_cores
    per_chip = chip.topology.cores_per_chip
    have = chip.total_cores
    name = part.qnet.network.name
    max_chips = chip.system.max_chips
    if need > have:
        chips = math.ceil(need / per_chip)
        hint = f"use --chips {chips}"
        if max_chips is not None and chips > max_chips:
            hint = (f"{chips} chips would hold it, but {chip.name} allows at most {max_chips}: "
                    f"make the network smaller")
        raise CapacityError(f"network '{name}' needs {need:,} cores, the system has {have:,} "
                            f"({chip.n_chips} chip(s) of {chip.name} x {per_chip:,} cores)", hint=hint)
    kinds = _kinds(chip)
    if not kinds:
        return
    pmask = _physical_masks(chip, kinds)
    # Every set of kinds the logical cores need must find enough physical cores.
    wanted: dict[int, int] = {}
    for core in part.cores:
        m = sum(1 << kinds.index(k) for k in core.processor_kinds)
        wanted[m] = wanted.get(m, 0) + 1
    for m, n in wanted.items():
        room = int(np.count_nonzero(pmask & m))
        if n > room:
            per = int(np.count_nonzero(pmask[:per_chip] & m))
            names = "/".join(k for bit, k in enumerate(kinds) if m >> bit & 1)
            chips = math.ceil(n / per) if per else None
            raise CapacityError(f"network '{name}' needs {n:,} cores that run as {names}, the system has "
                                f"{room:,} ({per:,} per chip of {chip.name})",
                                hint=f"use --chips {chips}" if chips else "use a chip with such processors")
