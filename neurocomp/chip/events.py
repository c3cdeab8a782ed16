"""The cost model's vocabulary: the work the emulator counts and what a chip prices it at.

Declared once, here; the rest is built from these two tables:

* :data:`EVENTS`: the work counters, in the order the kernels count them (row ``i`` of
  a kernel's int64 ``(len(EVENTS), steps, cores)`` counter array is ``EVENTS[i]``).
  :class:`~neurocomp.ir.result.Counters` holds one ``(steps, cores)`` array per event.
* :data:`OPERATIONS`: what a cost profile prices, in chip-file order. Operation ``op``
  is charged once per count of its event: ``<op>_pj`` in a profile's ``energy`` table
  and ``<op>_ns`` in its ``timing`` table (:class:`~neurocomp.chip.spec.Energy`,
  :class:`~neurocomp.chip.spec.Timing` have one key per operation, generated from this
  table). One event may carry several operations (a packet sent is charged for leaving
  its core and for crossing its tile's router).

The cost model (:func:`neurocomp.report.cost.cost`) is the sum over operations of
count × price, split by the operation's ``kind``; an operation's ``time`` says whether
the core is busy for it or it is part of the packets' flight (``docs/energy.md``).

A new energy term is one :class:`Event` (if nothing counts it yet), one
:class:`Operation`, and the kernels that count it; its price defaults to
``default_pj`` (and ``default_ns``), so no chip file has to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Event", "Operation", "HostOperation", "EVENTS", "OPERATIONS", "HOST_OPERATIONS", "KINDS",
           "PACKETS", "CONNECTORS", "connector_kind"]

Kind = Literal["synaptic", "neuron", "routing"]
TimeRole = Literal["work", "flight"]

#: Kinds of dynamic energy and time, in report order.
KINDS: tuple[str, ...] = ("synaptic", "neuron", "routing")


@dataclass(frozen=True)
class Event:
    """One work counter: what the emulator counts per step and core.

    Attributes
    ----------
    name : str
        The counter's name (an attribute of :class:`~neurocomp.ir.result.Counters`, a key
        of ``counters.npz``).
    counts : str
        What one count is.
    unit : str
        One count, as a noun (``synaptic operation``).
    counted_on : str
        Which core's column the count goes to.
    """

    name: str
    counts: str
    unit: str
    counted_on: str


@dataclass(frozen=True)
class Operation:
    """One priced operation: ``<name>_pj`` and ``<name>_ns`` per count of ``event``.

    Attributes
    ----------
    name : str
        The price keys' stem in a chip file's profile.
    event : str
        The :class:`Event` it is charged per.
    kind : {"synaptic", "neuron", "routing"}
        Which energy and time kind it adds to.
    time : {"work", "flight"}
        ``work``: the core is busy for it. ``flight``: it is part of a packet's flight
        through the mesh, of which only the core's last packet's is on the step's
        critical path (the mean over the core's packets of ``count · T``; for an
        operation charged per packet, that is ``T``).
    does : str
        What one operation is, for the docs.
    default_pj : float
        Energy when a profile does not give ``<name>_pj``.
    default_ns : float or None
        Time when a profile does not give ``<name>_ns``. ``None``: an event-driven
        profile (no ``tick_ns``) must give it, and a real-time profile that leaves it out
        does not time its operations.
    """

    name: str
    event: str
    kind: Kind
    time: TimeRole
    does: str
    default_pj: float = 0.0
    default_ns: float | None = None


#: The work counters, in the kernels' order (never reorder: saved ``counters.npz`` and
#: the kernels' row constants follow it).
EVENTS: tuple[Event, ...] = (
    Event("spikes_in", "a spike packet arriving at the core (inputs from the host included)",
          "packet received", "the receiving core"),
    Event("synops", "one synapse an arriving spike looked up and accumulated",
          "synaptic operation", "the receiving core"),
    Event("updates_active", "a neuron updated while active (input arrived, or its state or bias is "
                            "nonzero; SANA-FE's rule)", "active update", "its core"),
    Event("updates_inactive", "a neuron updated while idle", "inactive update", "its core"),
    Event("spikes_out", "a compartment fired (relays included)", "spike", "its core"),
    Event("messages_out", "a packet sent (one per firing compartment and destination core)",
          "packet sent", "the sending core"),
    Event("hops_east_west", "an on-chip east-west link a packet crossed (dimension-order routing: "
                            "east-west first)", "hop", "the sending core"),
    Event("hops_north_south", "an on-chip north-south link a packet crossed", "hop", "the sending core"),
    Event("hops_interchip", "a link between two chips a packet crossed (off-chip input crosses none)",
          "hop", "the sending core"),
    # on-chip learning (docs/learning.md): counted by the Loihi learning engine
    Event("trace_updates", "a learning trace stepped (decayed and given its spikes' impulses) "
                           "once, in an epoch's history or by a repeated spike", "trace update",
          "the core of the plastic synapses"),
    Event("synaptic_updates", "a plastic synapse whose rule ran at an epoch's end (one of its "
                              "dependencies was active)", "synaptic update", "the core of the synapse"),
)

#: The event whose count is a core's packets: flight is averaged over it.
PACKETS = "messages_out"

#: The priced operations, in chip-file order (the order of the keys a chip error lists).
OPERATIONS: tuple[Operation, ...] = (
    Operation("synop", "synops", "synaptic", "work", "one synapse looked up and accumulated"),
    Operation("neuron_update_active", "updates_active", "neuron", "work",
              "one neuron's update in one step while active (charged instead of an inactive one)"),
    Operation("neuron_update_inactive", "updates_inactive", "neuron", "work",
              "one neuron's update in one step while idle"),
    Operation("spike_out", "spikes_out", "neuron", "work", "a neuron fires"),
    Operation("message_out", "messages_out", "routing", "work", "a core sends one spike packet"),
    Operation("message_in", "spikes_in", "routing", "work", "a core receives one spike packet"),
    Operation("spike_in_tile", "messages_out", "routing", "flight", "a packet crosses its tile's router"),
    Operation("hop_east_west", "hops_east_west", "routing", "flight", "a packet crosses one east-west link"),
    Operation("hop_north_south", "hops_north_south", "routing", "flight",
              "a packet crosses one north-south link"),
    Operation("interchip_hop", "hops_interchip", "routing", "flight", "a packet crosses one chip-to-chip link"),
    Operation("trace_update", "trace_updates", "synaptic", "work", "a learning trace stepped once",
              default_ns=0.0),
    Operation("synaptic_update", "synaptic_updates", "synaptic", "work",
              "a learning rule applied to one synapse", default_ns=0.0),
)


@dataclass(frozen=True)
class HostOperation:
    """Traffic between the host and the chip: ``<name>_pj`` and ``<name>_ns`` per event.

    The kernels do not count it (the host is not a core); the cost model counts it from
    a run's spikes (:func:`neurocomp.report.cost.host_traffic`). Its time is serial on
    the host link and adds to the step (the chip waits for its inputs and for the
    read-out); its energy is kind ``host``. Both default to 0: a profile that does not
    price the host keeps the host free.

    Attributes
    ----------
    name : str
        The price keys' stem.
    counts : str
        What one event is.
    """

    name: str
    counts: str


#: Host I/O, priced per event when the run's traffic is given to the cost model.
HOST_OPERATIONS: tuple[HostOperation, ...] = (
    HostOperation("host_in", "a spike packet the host sends to one core (one per input spike and "
                             "destination core)"),
    HostOperation("host_out", "a spike of a probed population the host reads out"),
)

#: Connector kinds a profile may price synaptic operations for on their own
#: (``synop_by_connector``): the connector classes of :mod:`neurocomp.ir.connectors`.
CONNECTORS: tuple[str, ...] = ("dense", "sparse", "one_to_one", "all_to_all", "random", "conv2d", "pool2d")


def connector_kind(connector: Any) -> str:
    """A connector's kind as ``synop_by_connector`` names it (``Conv2d`` -> ``conv2d``,
    ``OneToOne`` -> ``one_to_one``)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", type(connector).__name__).lower()


def _check() -> None:
    """Refuse a vocabulary that contradicts itself (a programming error, at import)."""
    names = [e.name for e in EVENTS]
    problems = [f"event '{n}' is declared twice" for n in set(names) if names.count(n) > 1]
    ops = [op.name for op in OPERATIONS]
    problems += [f"operation '{n}' is declared twice" for n in set(ops) if ops.count(n) > 1]
    for op in OPERATIONS:
        if op.event not in names:
            problems.append(f"operation '{op.name}' is charged per unknown event '{op.event}'")
        if op.kind not in KINDS:
            problems.append(f"operation '{op.name}' has unknown kind '{op.kind}'")
        if op.time not in ("work", "flight"):
            problems.append(f"operation '{op.name}' has unknown time role '{op.time}'")
    if PACKETS not in names:
        problems.append(f"PACKETS names unknown event '{PACKETS}'")
    if problems:
        raise ValueError("the cost vocabulary is inconsistent: " + "; ".join(problems))


_check()
