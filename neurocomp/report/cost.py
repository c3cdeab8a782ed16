"""Energy and latency of a chip run: the work counters priced with the chip's costs.

Input: the :class:`~neurocomp.ir.result.Counters` of an emulated run (int64
``(steps, n_cores)`` arrays of work per step and used core), the
:class:`~neurocomp.chip.spec.ChipSpec` whose *active profile* supplies the prices, and
optionally what each core holds (a :class:`~neurocomp.ir.mapping.Mapping`, or a plain
``{core_id: {population: compartments}}``). Output: a :class:`CostReport`. Nothing
here knows which chip it prices; every number comes from ``chip.energy`` and
``chip.timing``. ``docs/energy.md`` explains the model with a worked example.

The prices are generic: every operation ``op`` of the cost vocabulary
(:data:`~neurocomp.chip.events.OPERATIONS`) is charged per count of its event
(``n_op`` below: a counter of step ``t`` and core ``k``), at the active profile's
``E_op`` (pJ, :attr:`~neurocomp.chip.spec.Energy.prices_pj`) and ``T_op`` (ns,
:attr:`~neurocomp.chip.spec.Timing.times_ns`); each operation has a kind (synaptic,
neuron, routing) and a time role (``work`` or ``flight``).

Energy (pJ), per step and core::

    energy[kind] = sum over operations of that kind of n_op · E_op
    static       = P_static · chips · step latency        (mW · ns = pJ, exactly)

Time (ns), per step and core (``packets``: the core's ``messages_out``)::

    work[kind]   = sum over ``work`` operations of that kind of n_op · T_op
    route[t, k]  = sum over ``flight`` operations of n_op · T_op / packets
                   (0 without packets; T_op itself for an operation charged per packet)
    busy[t, k]   = sum over kinds of work[kind]  +  route
    step[t]      = max_k busy[t, k] + barrier(tiles used)
    run          = sum_t step[t]

With the bundled vocabulary that is ``synaptic = n_synops · E_synop``, ``neuron``
the active and inactive updates and the spikes out, ``routing`` the packets sent
(``message_out`` and ``spike_in_tile``), received (``message_in``) and their hops;
``route = T_spike_in_tile + (n_hops_ew · T_ew + n_hops_ns · T_ns + n_hops_chip ·
T_chip) / n_messages_out``.

``route`` is the flight of the core's last packet: packets are sent one after another
(their sending time is in ``busy``), fly through the mesh without contention, so only
the last one's flight is not hidden behind later work. The counters give the hops of
a core's packets together, so the mean path stands in for the last packet's; it is
exact when every packet of the core travels equally far.

A chip that runs in real time (``chip.timing.tick_ns`` set, TrueNorth) takes exactly
one tick per step: ``step[t] = tick`` and the barrier is not added. Where its profile
gives operation times, ``busy`` is still computed and a step whose slowest core needs
more than the tick is counted in :attr:`CostReport.overrun_steps`.

Static power is charged for every chip of the system (``chip.n_chips``: a system is
powered as a whole), for the whole run latency.

Splits:

* by kind: ``synaptic``, ``neuron``, ``routing``, ``static`` for energy (as in the
  equations above); for time the same split of the *critical* core of each step (the
  slowest one, the first in the counters' order on a tie), where a kind's time is its
  ``work`` plus the ``route`` of its ``flight`` operations (all of them ``routing``:
  the packets' sending, receiving and flight), plus ``barrier`` (or ``tick`` for a
  real-time chip);
* by core: dynamic energy and busy time (``busy + route``) summed over steps, and the
  number of steps each core was the critical one;
* by population: each core's dynamic energy and busy time is divided among the
  populations on it in proportion to their compartments (relay compartments count as
  ``"(relays)"``). A core that holds one population attributes exactly; a shared core
  approximates, since the counters do not say whose synapses an event touched. Static
  energy is never attributed to populations.

Limits (what the model leaves out): link contention and buffering, host (off-chip)
input and output, power gating of idle cores or chips, voltage and temperature; every
event of one kind costs the same whatever its operands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping as TMapping, Sequence

import numpy as np

from ..chip.events import EVENTS, HOST_OPERATIONS, KINDS, OPERATIONS, PACKETS, Operation, connector_kind
from ..diagnostics import UsageError
from ..ir.result import Counters

__all__ = ["cost", "price_runs", "prices_host", "host_traffic", "CostReport", "HostTraffic", "ENERGY_KINDS", "TIME_KINDS", "RELAYS"]

#: Kinds of energy, in report order (``host`` only when host traffic was priced).
ENERGY_KINDS = KINDS + ("host", "static")
#: Kinds of time on the critical path, in report order (``tick`` for real-time chips;
#: ``host`` only when host traffic was priced, ``contention`` only when replayed).
TIME_KINDS = KINDS + ("contention", "host", "barrier", "tick")
#: The name under which relay compartments (copies that only forward spikes) are counted.
RELAYS = "(relays)"
_RELAY_SLICE = "<relay>"


@dataclass(frozen=True, eq=False, kw_only=True)
class CostReport:
    """What a run cost: energy in pJ and time in ns, whole and split.

    Attributes
    ----------
    chip, profile : str
        The chip and the cost profile that priced the run.
    steps : int
        Steps priced (for a batch, the steps of all samples together).
    samples : int
        Runs combined into this report (1 for a single run).
    n_chips : int
        Chips charged static power.
    tiles_used : int
        Distinct tiles holding a used core (what the barrier is looked up with).
    barrier_ns : float
        The barrier added to every step (0 for a real-time chip).
    tick_ns : float or None
        The fixed step period of a real-time chip.
    core_ids : numpy.ndarray
        int32 ``(n_cores,)``: the used cores, as in the counters.
    step_energy_pj, step_latency_ns : numpy.ndarray
        float64 ``(steps,)``: energy (static share included) and latency of each step.
    critical_core : numpy.ndarray
        int32 ``(steps,)``: the id of each step's slowest core (-1 when no core worked
        or none was used).
    energy_by_kind_pj, latency_by_kind_ns : Mapping[str, float]
        Totals by kind (:data:`ENERGY_KINDS`, :data:`TIME_KINDS`); they add up to
        :attr:`energy_pj` and :attr:`latency_ns`.
    energy_by_core_pj, busy_by_core_ns : numpy.ndarray
        float64 ``(n_cores,)``: dynamic energy and busy time (work plus its packets'
        flight) of each core, over all steps.
    critical_steps_by_core : numpy.ndarray
        int64 ``(n_cores,)``: in how many steps each core was the slowest.
    energy_by_population_pj, busy_by_population_ns : Mapping[str, float]
        Dynamic energy and busy time attributed to populations (see the module
        docstring); empty when the caller did not say what each core holds.
    timed_ops : bool
        False when the profile lacks an operation time (a real-time chip that gives only
        its tick): busy times then count the known operations only.
    overrun_steps : int
        Steps of a real-time chip whose slowest core needed more than the tick.
    energy_band, latency_band : tuple of float or None
        The profile's expected error band, as factors ``(low, high)`` of the figures
        (``[profiles.NAME.uncertainty]``); ``None`` when the profile gives none.
    """

    chip: str
    profile: str
    steps: int
    samples: int = 1
    n_chips: int
    tiles_used: int
    barrier_ns: float
    tick_ns: float | None
    core_ids: np.ndarray
    step_energy_pj: np.ndarray
    step_latency_ns: np.ndarray
    critical_core: np.ndarray
    energy_by_kind_pj: TMapping[str, float]
    latency_by_kind_ns: TMapping[str, float]
    energy_by_core_pj: np.ndarray
    busy_by_core_ns: np.ndarray
    critical_steps_by_core: np.ndarray
    energy_by_population_pj: TMapping[str, float] = field(default_factory=dict)
    busy_by_population_ns: TMapping[str, float] = field(default_factory=dict)
    timed_ops: bool = True
    overrun_steps: int = 0
    energy_band: tuple[float, float] | None = None
    latency_band: tuple[float, float] | None = None

    # -- totals -----------------------------------------------------------------------

    @property
    def real_time(self) -> bool:
        return self.tick_ns is not None

    @property
    def energy_pj(self) -> float:
        """Total energy in pJ, static included."""
        return float(sum(self.energy_by_kind_pj.values()))

    @property
    def energy_j(self) -> float:
        return self.energy_pj * 1e-12

    @property
    def dynamic_energy_pj(self) -> float:
        return self.energy_pj - float(self.energy_by_kind_pj.get("static", 0.0))

    @property
    def latency_ns(self) -> float:
        """Total latency of the run in ns (the sum of its steps)."""
        return float(self.step_latency_ns.sum())

    @property
    def latency_s(self) -> float:
        return self.latency_ns * 1e-9

    @property
    def energy_per_step_pj(self) -> float:
        return self.energy_pj / self.steps if self.steps else 0.0

    @property
    def mean_step_latency_ns(self) -> float:
        return self.latency_ns / self.steps if self.steps else 0.0

    @property
    def worst_step_latency_ns(self) -> float:
        return float(self.step_latency_ns.max()) if self.steps else 0.0

    @property
    def worst_step(self) -> int:
        """Index of the slowest step (the first of equals; -1 for an empty run)."""
        return int(np.argmax(self.step_latency_ns)) if self.steps else -1

    @property
    def busiest_core(self) -> int:
        """Id of the core with the most busy time (the first in the counters' order on a
        tie; -1 if none). Without operation times (``timed_ops`` false): the core that
        spent the most dynamic energy."""
        if self.core_ids.size == 0:
            return -1
        key = self.busy_by_core_ns if self.timed_ops else self.energy_by_core_pj
        return int(self.core_ids[int(np.argmax(key))])

    # -- combining --------------------------------------------------------------------

    @classmethod
    def combine(cls, reports: Sequence["CostReport"]) -> "CostReport":
        """Several runs of one mapping (a batch) as one report.

        The steps of the runs follow each other: per-step arrays are concatenated, and
        totals, per-core and per-population figures add up. The runs must have been
        priced for the same chip, profile and cores.

        Raises
        ------
        UsageError
            When ``reports`` is empty or the runs were priced differently.
        """
        if not reports:
            raise UsageError("no runs to combine")
        first = reports[0]
        for r in reports[1:]:
            if (r.chip, r.profile, r.n_chips, r.tick_ns) != (first.chip, first.profile, first.n_chips,
                                                              first.tick_ns) \
                    or not np.array_equal(r.core_ids, first.core_ids):
                raise UsageError("runs priced for different chips, profiles or cores cannot be combined",
                                 hint="combine only the runs of one mapping priced with one profile")
        return cls(
            chip=first.chip, profile=first.profile, steps=sum(r.steps for r in reports),
            samples=sum(r.samples for r in reports), n_chips=first.n_chips,
            tiles_used=first.tiles_used, barrier_ns=first.barrier_ns, tick_ns=first.tick_ns,
            core_ids=first.core_ids,
            step_energy_pj=np.concatenate([r.step_energy_pj for r in reports]).astype(np.float64),
            step_latency_ns=np.concatenate([r.step_latency_ns for r in reports]).astype(np.float64),
            critical_core=np.concatenate([r.critical_core for r in reports]).astype(np.int32),
            energy_by_kind_pj=_sum_dicts(r.energy_by_kind_pj for r in reports),
            latency_by_kind_ns=_sum_dicts(r.latency_by_kind_ns for r in reports),
            energy_by_core_pj=np.sum([r.energy_by_core_pj for r in reports], axis=0, dtype=np.float64),
            busy_by_core_ns=np.sum([r.busy_by_core_ns for r in reports], axis=0, dtype=np.float64),
            critical_steps_by_core=np.sum([r.critical_steps_by_core for r in reports], axis=0,
                                          dtype=np.int64),
            energy_by_population_pj=_sum_dicts(r.energy_by_population_pj for r in reports),
            busy_by_population_ns=_sum_dicts(r.busy_by_population_ns for r in reports),
            timed_ops=all(r.timed_ops for r in reports),
            overrun_steps=sum(r.overrun_steps for r in reports),
            energy_band=first.energy_band, latency_band=first.latency_band,
        )

    # -- output -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able digest in SI units (J, s), with the per-core table."""
        busiest = self.busiest_core
        return {
            "chip": self.chip,
            "profile": self.profile,
            "steps": int(self.steps),
            "samples": int(self.samples),
            "chips_powered": int(self.n_chips),
            "cores_used": int(self.core_ids.size),
            "tiles_used": int(self.tiles_used),
            "real_time": self.real_time,
            "tick_s": None if self.tick_ns is None else self.tick_ns * 1e-9,
            "barrier_s": self.barrier_ns * 1e-9,
            "energy_j": {
                "total": self.energy_j,
                "per_step": self.energy_per_step_pj * 1e-12,
                "per_sample": self.energy_j / self.samples if self.samples else 0.0,
                "by_kind": {k: v * 1e-12 for k, v in self.energy_by_kind_pj.items()},
                "by_population": {k: v * 1e-12 for k, v in self.energy_by_population_pj.items()},
            },
            "latency_s": {
                "total": self.latency_s,
                "per_step_mean": self.mean_step_latency_ns * 1e-9,
                "per_step_worst": self.worst_step_latency_ns * 1e-9,
                "worst_step": self.worst_step,
                "by_kind": {k: v * 1e-9 for k, v in self.latency_by_kind_ns.items()},
                "busy_by_population": {k: v * 1e-9 for k, v in self.busy_by_population_ns.items()},
            },
            "timed_ops": self.timed_ops,
            "overrun_steps": int(self.overrun_steps),
            "band": {"energy": None if self.energy_band is None else list(self.energy_band),
                     "latency": None if self.latency_band is None else list(self.latency_band)},
            "busiest_core": busiest,
            "cores": [
                {"core": int(c), "energy_j": float(e) * 1e-12, "busy_s": float(b) * 1e-9,
                 "critical_steps": int(n)}
                for c, e, b, n in zip(self.core_ids, self.energy_by_core_pj, self.busy_by_core_ns,
                                      self.critical_steps_by_core)
            ],
        }


def _sum_dicts(dicts: Iterable[TMapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0.0) + float(v)
    return out


@dataclass(frozen=True, eq=False)
class HostTraffic:
    """What crossed the host link in each step (int64 ``(steps,)`` each): packets the
    host sent to the chip (``host_in``) and spikes it read out (``host_out``), the
    events of :data:`~neurocomp.chip.events.HOST_OPERATIONS`."""

    host_in: np.ndarray
    host_out: np.ndarray


def host_traffic(result: Any, mapping: Any) -> HostTraffic:
    """The host I/O of a chip run: per step, one packet per input spike and core that
    holds targets of it, and one read-out per spike of a population probed for spikes.

    Parameters
    ----------
    result
        The run (:class:`~neurocomp.ir.result.RunResult`; its ``spikes``).
    mapping
        The :class:`~neurocomp.ir.mapping.Mapping` it ran (routes, probes).
    """
    steps = int(result.steps)
    m = mapping
    host_in = np.zeros(steps, dtype=np.int64)
    host_out = np.zeros(steps, dtype=np.int64)
    n_comp = int(m.n_comp)
    per_route_src = np.repeat(np.arange(m.n_sources, dtype=np.int64), np.diff(m.route_ptr))
    axon_core = np.asarray(m.axon_core, dtype=np.int64)[np.asarray(m.route_axon, dtype=np.int64)]
    # destination cores per source (a source routed twice to one core sends one packet)
    pairs = np.unique(per_route_src * (int(axon_core.max(initial=0)) + 1) + axon_core)
    cores_of = np.bincount(pairs // (int(axon_core.max(initial=0)) + 1), minlength=m.n_sources)
    for pop, offset in m.input_offset.items():
        ev = result.spikes.get(pop)
        if ev is None or not ev.count:
            continue
        fan = cores_of[n_comp + int(offset) + np.asarray(ev.indices, dtype=np.int64)]
        host_in += np.bincount(ev.times, weights=fan, minlength=steps)[:steps].astype(np.int64)
    read = {p.population for p in m.network.probes if "spikes" in p.variables}
    for pop in read:
        ev = result.spikes.get(pop)
        if ev is not None and ev.count and not ev.is_input:
            host_out += np.bincount(ev.times, minlength=steps)[:steps]
    return HostTraffic(host_in=host_in, host_out=host_out)


# --------------------------------------------------------------------------- the door


def cost(counters: Counters, chip: Any, layout: Any = None, *, host: HostTraffic | None = None,
         replayed: Any = None) -> CostReport:
    """Price a run's work counters with the chip's active cost profile.

    Parameters
    ----------
    counters
        Per step and used core, the work done (:class:`~neurocomp.ir.result.Counters`).
    chip
        The :class:`~neurocomp.chip.spec.ChipSpec` (system) the run was emulated on;
        ``chip.energy`` and ``chip.timing`` of its active profile are the prices. Select
        another profile with ``chip.with_profile(name)``.
    layout
        What each core holds, for the split by population: a
        :class:`~neurocomp.ir.mapping.Mapping` (its ``cores``), or
        ``{core_id: {population: compartments}}``. ``None``: no split by population.
        A Mapping also lets a profile's ``synop_by_connector`` price each core's
        synaptic operations by the connector kinds of the synapses it holds.
    host
        The run's host I/O (:func:`host_traffic`), priced with the profile's
        ``host_in``/``host_out`` prices: its energy is kind ``host`` and its time adds
        to each step. ``None``: the host is free (and no ``host`` kind is reported).
    replayed
        A :class:`~neurocomp.report.contention.Replay` of the run: its per-step critical
        time replaces ``max_k busy`` (queues on links, routers and receiving cores; an
        event-driven chip only). The difference is reported as time kind
        ``contention`` (negative where the replay overlaps a core's sending with its
        receiving, which the contention-free model adds up).

    Returns
    -------
    CostReport
        Energy and latency, whole and split (the equations are in the module docstring).
        Invariants: the kinds add up to the totals; ``step_energy_pj`` sums to the total
        energy; ``step_latency_ns`` sums to the total latency; with a layout, the
        populations add up to the dynamic energy.

    Raises
    ------
    UsageError
        When the counters' arrays disagree in shape, hold negative counts or name a core
        the chip does not have, or the layout misses a used core.
    """
    core_ids = np.asarray(counters.core_ids, dtype=np.int64).reshape(-1)
    n = {name: _counts(counters, name, core_ids.size) for name in Counters.FIELDS}
    steps = n[Counters.FIELDS[0]].shape[0]
    bad = core_ids[(core_ids < 0) | (core_ids >= chip.total_cores)]
    if bad.size:
        raise UsageError(f"the counters name core {int(bad[0])}, but chip '{chip.name}' has cores "
                         f"0-{chip.total_cores - 1}",
                         hint="price a run with the chip (and --chips) it was emulated on")
    if len(set(core_ids.tolist())) != core_ids.size:
        raise UsageError("the counters list a core twice", hint="one column per used core")
    energy, timing = chip.energy, chip.timing

    # Energy per step and core, by kind (float64; counts are exact in float64 up to 2**53).
    prices = dict(energy.prices_pj)
    times = timing.times_ns
    timed_ops = all(v is not None for v in times.values())
    times = {k: (0.0 if v is None else float(v)) for k, v in times.items()}
    if (energy.synop_by_connector or timing.synop_by_connector) and hasattr(layout, "axon_core") \
            and core_ids.size:
        share = _connector_shares(layout, core_ids)
        prices["synop"] = _blend(share, energy.synop_by_connector, prices["synop"])
        times["synop"] = _blend(share, timing.synop_by_connector, times["synop"])
    e_kind = _priced(n, prices, OPERATIONS)

    # Time per step and core, by kind. A missing operation time (a real-time chip's
    # profile) counts as 0 and clears timed_ops.
    t_kind = _priced(n, times, [op for op in OPERATIONS if op.time == "work"])
    for kind, flight in _flight(n, times).items():
        t_kind[kind] = t_kind[kind] + flight
    busy = _total(t_kind.values())  # (steps, n_cores)

    # The critical (slowest) core of each step; argmax takes the first, i.e. the lowest
    # column, and columns are in the counters' order.
    if core_ids.size:
        col = np.argmax(busy, axis=1) if steps else np.zeros(0, dtype=np.int64)
        rows = np.arange(steps)
        worst = busy[rows, col]
        worked = worst > 0
        critical = np.where(worked, core_ids[col], -1).astype(np.int32)
        crit = {kind: np.where(worked, x[rows, col], 0.0) for kind, x in t_kind.items()}
        critical_steps = np.bincount(col[worked], minlength=core_ids.size).astype(np.int64)
    else:
        worst = np.zeros(steps, dtype=np.float64)
        crit = {kind: worst for kind in KINDS}
        critical = np.full(steps, -1, dtype=np.int32)
        critical_steps = np.zeros(0, dtype=np.int64)

    tiles_used = chip.tiles_spanned(core_ids.tolist()) if core_ids.size else 0
    if timing.real_time:
        tick = float(timing.tick_ns)
        step_latency = np.full(steps, tick, dtype=np.float64)
        barrier = 0.0
        overruns = int(np.count_nonzero(worst > tick)) if timed_ops else 0
        latency_by_kind = {"tick": tick * steps}
    else:
        tick = None
        barrier = float(timing.barrier_ns(tiles_used)) if core_ids.size else 0.0
        step_latency = (worst + barrier).astype(np.float64)
        overruns = 0
        latency_by_kind = {kind: float(x.sum()) for kind, x in crit.items()}
        if replayed is not None:
            critical_ns = np.asarray(replayed.critical_ns, dtype=np.float64).reshape(-1)
            if critical_ns.shape != (steps,):
                raise UsageError(f"the replay has {critical_ns.size} steps; the counters {steps}")
            step_latency = (critical_ns + barrier).astype(np.float64)
            latency_by_kind["contention"] = float((critical_ns - worst).sum())
        latency_by_kind["barrier"] = barrier * steps

    host_e = host_t = None
    if host is not None:
        h = {op.name: np.asarray(getattr(host, op.name), dtype=np.float64).reshape(-1) for op in HOST_OPERATIONS}
        if any(a.shape != (steps,) for a in h.values()):
            raise UsageError(f"the host traffic has {[a.shape for a in h.values()]} entries; expected ({steps},)")
        host_e = sum(h[op.name] * float(getattr(energy, f"{op.name}_pj")) for op in HOST_OPERATIONS)
        host_t = sum(h[op.name] * float(getattr(timing, f"{op.name}_ns")) for op in HOST_OPERATIONS)
        if not timing.real_time:
            step_latency = step_latency + host_t
            latency_by_kind = {**{k: v for k, v in latency_by_kind.items() if k != "barrier"},
                               "host": float(host_t.sum()), "barrier": latency_by_kind["barrier"]}

    n_chips = int(chip.n_chips)
    static_step = energy.static_power_mw * n_chips * step_latency  # mW x ns = pJ
    dynamic = _total(e_kind.values())
    dyn_step = dynamic.sum(axis=1) if core_ids.size else np.zeros(steps)
    if host_e is not None:
        dyn_step = dyn_step + host_e
    energy_by_core = dynamic.sum(axis=0).astype(np.float64)
    busy_by_core = busy.sum(axis=0).astype(np.float64)

    by_pop_e: dict[str, float] = {}
    by_pop_t: dict[str, float] = {}
    if layout is not None and core_ids.size:
        names, share = _shares(layout, core_ids)
        for j, name in enumerate(names):
            by_pop_e[name] = float(energy_by_core @ share[:, j])
            by_pop_t[name] = float(busy_by_core @ share[:, j])

    return CostReport(
        chip=chip.name, profile=chip.active_profile, steps=int(steps), n_chips=n_chips,
        tiles_used=int(tiles_used), barrier_ns=barrier, tick_ns=tick,
        core_ids=core_ids.astype(np.int32),
        step_energy_pj=(dyn_step + static_step).astype(np.float64),
        step_latency_ns=step_latency, critical_core=critical,
        energy_by_kind_pj={**{kind: float(x.sum()) for kind, x in e_kind.items()},
                           **({} if host_e is None else {"host": float(host_e.sum())}),
                           "static": float(static_step.sum())},
        latency_by_kind_ns=latency_by_kind,
        energy_by_core_pj=energy_by_core, busy_by_core_ns=busy_by_core,
        critical_steps_by_core=critical_steps,
        energy_by_population_pj=by_pop_e, busy_by_population_ns=by_pop_t,
        timed_ops=timed_ops, overrun_steps=overruns,
        energy_band=_band(chip, "energy"), latency_band=_band(chip, "latency"),
    )


def prices_host(chip: Any) -> bool:
    """Whether the chip's active profile charges anything for host I/O."""
    e, t = chip.energy, chip.timing
    return any(float(getattr(e, f"{op.name}_pj")) or float(getattr(t, f"{op.name}_ns"))
               for op in HOST_OPERATIONS)


def price_runs(runs: Sequence[Any], chip: Any, mapping: Any, *, host_io: bool = True,
               contention: bool = False) -> CostReport:
    """Price chip runs of ``mapping`` (one report; a batch combined).

    ``host_io``: charge the runs' host traffic (:func:`host_traffic`) when the active
    profile prices it (Loihi's ``measured`` profile does); ``False`` keeps the host free.
    ``contention``: replay each step's packets through the mesh with queues
    (:func:`neurocomp.report.contention.replay`; event-driven chips only).
    """
    from .contention import replay

    host = host_io and prices_host(chip)
    queue = contention and not chip.timing.real_time
    costs = [cost(r.counters, chip, mapping, host=host_traffic(r, mapping) if host else None,
                  replayed=replay(r, mapping, chip) if queue else None) for r in runs]
    return costs[0] if len(costs) == 1 else CostReport.combine(costs)


def _band(chip: Any, what: str) -> tuple[float, float] | None:
    """The active profile's error band for ``what`` (energy or latency), if it has one."""
    u = chip.profiles[chip.active_profile].uncertainty
    band = None if u is None else getattr(u, what)
    return None if band is None else (float(band[0]), float(band[1]))


def _connector_shares(mapping: Any, core_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Per connector kind, float64 ``(n_cores,)``: the fraction of each core's stored
    synapses that belong to projections of that kind (relay synapses: kind ``""``)."""
    per_axon = np.diff(np.asarray(mapping.axon_syn_ptr, dtype=np.int64))
    proj = np.asarray(mapping.axon_projection, dtype=np.int64)
    by_name = {proj.name: proj for proj in mapping.network.projections}
    kinds = [connector_kind(by_name[name].connector) if name in by_name else ""
             for name in mapping.projection_names]
    axon_kind = np.array([kinds[p] if p >= 0 else "" for p in proj], dtype=object)
    col = {int(c): k for k, c in enumerate(core_ids.tolist())}
    axon_col = np.array([col.get(int(c), -1) for c in mapping.axon_core], dtype=np.int64)
    mine = axon_col >= 0
    total = np.bincount(axon_col[mine], weights=per_axon[mine], minlength=core_ids.size)
    out = {}
    for kind in set(axon_kind[mine].tolist()):
        sel = mine & (axon_kind == kind)
        part = np.bincount(axon_col[sel], weights=per_axon[sel], minlength=core_ids.size)
        out[kind] = np.divide(part, total, out=np.zeros_like(part), where=total > 0)
    return out


def _blend(share: dict[str, np.ndarray], by_kind: TMapping[str, float], base: float) -> Any:
    """Per core, the synaptic operation's price averaged over the connector kinds of the
    synapses it holds (``base`` for kinds not priced on their own); ``base`` itself
    when no kind of the run is priced on its own (so nothing changes by a bit)."""
    if not any(k in by_kind for k in share):
        return base
    price = 0.0
    rest = None
    for kind, frac in share.items():
        price = price + frac * float(by_kind.get(kind, base))
        rest = frac if rest is None else rest + frac
    # a core with no synapses keeps the base price (it does no synaptic work anyway)
    return np.where(rest > 0, price, base)


def _priced(n: dict[str, np.ndarray], prices: TMapping[str, float],
            operations: Sequence[Operation]) -> dict[str, np.ndarray]:
    """Per kind (every one of :data:`KINDS`, in order), the sum of ``n_op · price_op``
    over the given operations of that kind: float64 ``(steps, n_cores)``.

    The operations of one event are priced together, ``n · (p1 + p2)``, and events are
    added in the counters' order, so that an operation or an event priced 0 changes no
    bit of the result.
    """
    shape = next(iter(n.values())).shape
    out = {}
    for kind in KINDS:
        acc = np.zeros(shape, dtype=np.float64)
        for event in EVENTS:
            mine = [op for op in operations if op.kind == kind and op.event == event.name]
            if mine:
                acc = acc + n[event.name] * sum(prices[op.name] for op in mine)
        out[kind] = acc
    return out


def _flight(n: dict[str, np.ndarray], times: TMapping[str, float]) -> dict[str, np.ndarray]:
    """Per kind that has ``flight`` operations, the core's last packet's flight in ns:
    their ``n_op · T_op`` spread over the core's packets (the mean path; an operation
    charged per packet adds its ``T_op`` whole), 0 for a core that sent nothing."""
    sent = n[PACKETS]
    flying = [op for op in OPERATIONS if op.time == "flight"]
    path = _priced(n, times, [op for op in flying if op.event != PACKETS])
    out = {}
    for kind in KINDS:
        if not any(op.kind == kind for op in flying):
            continue
        per_packet = sum(times[op.name] for op in flying if op.kind == kind and op.event == PACKETS)
        flight = np.zeros_like(path[kind])
        np.divide(path[kind], sent, out=flight, where=sent > 0)
        out[kind] = np.where(sent > 0, flight + per_packet, 0.0)
    return out


def _total(arrays: Iterable[np.ndarray]) -> np.ndarray:
    """The sum of the kinds' arrays, left to right (the report's order)."""
    total = None
    for x in arrays:
        total = x if total is None else total + x
    return total


def _counts(counters: Counters, name: str, n_cores: int) -> np.ndarray:
    """One counter as float64 ``(steps, n_cores)``, checked."""
    raw = np.asarray(getattr(counters, name))
    if raw.ndim != 2 or raw.shape[1] != n_cores:
        raise UsageError(f"counter '{name}' has shape {raw.shape}; expected (steps, {n_cores}), "
                         "one column per core in core_ids")
    if raw.size and raw.min() < 0:
        raise UsageError(f"counter '{name}' holds a negative count ({int(raw.min())})")
    return raw.astype(np.float64)


def _shares(layout: Any, core_ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Populations in first-seen order, and float64 ``(n_cores, n_pops)``: the fraction of
    each core's compartments that belong to each population (rows sum to 1, or 0 for a
    core with no compartments)."""
    held: dict[int, dict[str, int]] = {}
    if hasattr(layout, "cores"):  # a Mapping
        for core in layout.cores:
            per = held.setdefault(int(core.core_id), {})
            for sl in core.slices:
                name = RELAYS if sl.population == _RELAY_SLICE else sl.population
                per[name] = per.get(name, 0) + int(sl.stop - sl.start)
    else:
        for core_id, pops in dict(layout).items():
            held[int(core_id)] = {str(p): int(c) for p, c in dict(pops).items()}
    names: list[str] = []
    for per in held.values():
        for name in per:
            if name not in names:
                names.append(name)
    share = np.zeros((core_ids.size, len(names)), dtype=np.float64)
    for k, core_id in enumerate(core_ids.tolist()):
        per = held.get(int(core_id))
        if per is None:
            raise UsageError(f"core {core_id} did work in the run, but the layout does not say what it holds",
                             hint="pass the Mapping the run was emulated from")
        total = sum(per.values())
        for name, count in per.items():
            if total:
                share[k, names.index(name)] = count / total
    return names, share
