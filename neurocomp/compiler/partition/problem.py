"""The partitioning problem: a quantized network and a chip as the flat arrays the kernels read.

:func:`build` checks what the chip must hold whatever the cut (delays, weight widths,
processor kinds), then lays the synapses out by target neuron (CSC keys), tabulates the
synapse memory of every projection (:func:`.resources.synapse_tables`), numbers the
distinct register sets, and gathers the limits in kernel order. It runs once per call;
the strategies and the measurement only read it (and the per-neuron reservations that
:mod:`.fit` raises between passes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...chip.spec import ChipSpec
from ...diagnostics import CapacityError, QuantizationError
from ...chip.family import family as family_named
from ...ir.quantized import QProjection, QuantizedNetwork
from .kernels import Scratch, Static, csc_count, csc_fill, has_duplicates
from .resources import (
    NO_LIMIT,
    RESOURCES,
    layer_kinds_into,
    packing_weight_bits,
    processor_masks,
    set_ids,
    synapse_memory_bits,
    synapse_tables,
)

__all__ = ["Problem", "build", "new_scratch", "check_delays"]


@dataclass(eq=False)
class Problem:
    """Everything the kernels need, built once per call (plain numpy)."""

    qnet: QuantizedNetwork
    chip: object
    pops: list[str]
    pop_input: np.ndarray  # bool [n_pops]
    pop_first: np.ndarray  # int64 [n_pops]
    pop_size: np.ndarray  # int64 [n_pops]
    projs: list[QProjection]
    proj_pre: np.ndarray  # int64
    proj_post: np.ndarray  # int64
    key_base: np.ndarray  # int64 [n_proj]
    n_nodes: int
    n_keys: int
    res_names: list[str]  # the chip's resources, in kernel order
    res_index: list[int]  # kernel slot of each chip resource
    proc_kinds: list[str]
    pack_bits: list[tuple[int, int]]  # per projection: (weight bits for packing, count multiplier)
    delay_bits: list[int]
    relay_weight_bits: int
    g: Static
    max_indeg: int
    n_sets: int
    n_opts: int
    epoch: int = 0  # stamps in the scratch arrays are epochs: each core gets a fresh one

    def fresh_epochs(self, n: int) -> int:
        """Reserve ``n`` epochs no stamp has used; returns the first."""
        first = self.epoch
        self.epoch += n
        return first

    @property
    def neurons_limit(self) -> int:
        return int(self.chip.core.neurons)


def proj_span(qnet: QuantizedNetwork, name: str):
    """The source span of projection ``name``, or None (a network built in code)."""
    try:
        return qnet.network.projection(name).span
    except KeyError:
        return None


def check_delays(qnet: QuantizedNetwork, chip: ChipSpec) -> None:
    """Raise :class:`QuantizationError` for a synaptic delay the chip cannot hold.

    A chip delays a spike by ``min_steps .. max_steps`` steps counting the one-step
    transit (``chip.numerics.delay``); a synapse's extra delay ``d`` takes ``d + 1``.
    """
    rng = chip.numerics.delay
    lo, hi = rng.min_steps - 1, rng.max_steps - 1
    for qp in qnet.projections.values():
        syn = qp.synapses
        if syn.n_synapses == 0:
            continue
        if syn.delays is None:  # one delay for all: no need to spell it out per synapse
            d_min = d_max = int(syn.delay)
        else:
            d_min, d_max = int(syn.delays.min()), int(syn.delays.max())
        if d_min >= lo and d_max <= hi:
            continue
        bad = d_max if d_max > hi else d_min
        where = f"projection '{qp.name}'"
        raise QuantizationError(
            f"{where} has a delay of {bad:,} steps; {chip.name} delays a spike by {lo}..{hi} extra "
            f"steps (numerics.delay: {rng.min_steps}..{rng.max_steps} steps, counting the one-step transit)",
            span=proj_span(qnet, qp.name), where=where,
            hint=f"use delays between {lo} and {hi} steps, or a chip with longer delays")


def _require_problem(qnet: QuantizedNetwork) -> None:
    """Refuse a problem whose arrays cannot fit, before :func:`build` makes them. It holds
    at once at least, per node (neuron or input), its population (int32), its in-synapse
    pointer and its fill cursor (int64 each): 20 B; per axon key (source row of a
    projection), its projection (int32): 4 B; per synapse, its key (int32, or int64 from
    2^31 keys on). Python integers: no wrap-around."""
    from ...resources import require_memory

    net = qnet.network
    projs = [qnet.projections[p.name] for p in net.projections if p.name in qnet.projections]
    n_nodes = sum(int(p.size) for p in net.populations.values())
    n_keys = sum(int(q.synapses.n_pre) for q in projs)
    n_syn = sum(int(np.asarray(q.synapses.indices).size) for q in projs)
    need = 20 * n_nodes + 4 * n_keys + (4 if n_keys < 2**31 else 8) * n_syn
    require_memory(need, f"partitioning network '{net.name}' ({n_nodes:,} neurons, {n_syn:,} synapses)",
                   where=f"network '{net.name}'", hint="use fewer neurons or sparser connectors")


def build(qnet: QuantizedNetwork, chip: ChipSpec) -> Problem:
    """The problem of cutting ``qnet`` for ``chip`` (see the module docstring).

    Raises
    ------
    QuantizationError
        A projection's weights are wider than the chip stores.
    CapacityError
        A population is fed by layer kinds no processor kind of the chip runs.
    """
    net = qnet.network
    _require_problem(qnet)
    pops = list(net.populations)
    index = {p: i for i, p in enumerate(pops)}
    pop_input = np.array([net.populations[p].is_input for p in pops], dtype=np.bool_)
    pop_size = np.array([net.populations[p].size for p in pops], dtype=np.int64)
    pop_first = np.zeros(len(pops), dtype=np.int64)
    if len(pops) > 1:
        np.cumsum(pop_size[:-1], out=pop_first[1:])
    n_nodes = int(pop_size.sum())
    node_pop = np.repeat(np.arange(len(pops), dtype=np.int32), pop_size)

    projs = [qnet.projections[p.name] for p in net.projections if p.name in qnet.projections]
    proj_pre = np.array([index[q.pre] for q in projs], dtype=np.int64)
    proj_post = np.array([index[q.post] for q in projs], dtype=np.int64)
    key_base = np.zeros(len(projs), dtype=np.int64)
    n_pre = np.array([q.synapses.n_pre for q in projs], dtype=np.int64)
    if len(projs) > 1:
        np.cumsum(n_pre[:-1], out=key_base[1:])
    n_keys = int(n_pre.sum())
    key_proj = np.repeat(np.arange(len(projs), dtype=np.int32), n_pre)

    # In-synapses by target node (counting sort; one pass to count, one to fill).
    counts = np.zeros(n_nodes, dtype=np.int64)
    for q, post in zip(projs, proj_post):
        csc_count(q.synapses.indptr, q.synapses.indices, pop_first[post], counts)
    csc_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=csc_ptr[1:])
    max_indeg = int(counts.max()) if n_nodes else 0
    del counts
    # Keys are int32 when they fit (half the memory of the largest array built here).
    csc_key = np.empty(int(csc_ptr[-1]), dtype=np.int32 if n_keys < 2**31 else np.int64)
    cursor = csc_ptr[:-1].copy()
    for q, post, base in zip(projs, proj_post, key_base):
        csc_fill(q.synapses.indptr, q.synapses.indices, pop_first[post], base, cursor, csc_key)
    del cursor

    pop_in = [[i for i, post in enumerate(proj_post) if post == q] for q in range(len(pops))]
    pop_in_ptr = np.zeros(len(pops) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in pop_in], out=pop_in_ptr[1:])
    pop_in_proj = np.array([i for x in pop_in for i in x], dtype=np.int64)

    # Synapse memory tables.
    neurons_limit = int(chip.core.neurons)
    spec, pack_bits, delay_bits, dense_ok = [], [], [], []
    for q, pre in zip(projs, proj_pre):
        where = f"projection '{q.name}'"
        wbits, mult = packing_weight_bits(chip, q, bool(pop_input[pre]), where, proj_span(qnet, q.name))
        syn = q.synapses
        dbits = int(syn.max_delay).bit_length() if syn.n_synapses else 0
        rows = np.diff(syn.indptr)
        longest = int(rows.max()) if rows.size else 0
        dup = bool(has_duplicates(syn.indptr, syn.indices)) if syn.n_synapses else False
        L = longest if dup else min(longest, neurons_limit)
        spec.append((wbits, mult, dbits, max(L, 1), not dup))
        pack_bits.append((wbits, mult))
        delay_bits.append(dbits)
        dense_ok.append(not dup)
    tab, tab_off, tab_len, n_opts, opt_of_n = synapse_tables(chip, neurons_limit, spec)

    # Registers: parameter sets per neuron kind, synapse formats per projection kind.
    family = qnet.family
    res_names = list(chip.limits())
    base_names = [r for r in RESOURCES]
    reg_names = [r for r in res_names if r.startswith("config_registers.")]
    limits = np.full(len(RESOURCES) + len(reg_names), NO_LIMIT, dtype=np.int64)
    chip_limits = chip.limits()
    for i, r in enumerate(base_names):
        if r in chip_limits:
            limits[i] = chip_limits[r]
    for i, r in enumerate(reg_names):
        limits[len(RESOURCES) + i] = chip_limits[r]
    res_index = [base_names.index(r) if r in base_names else len(RESOURCES) + reg_names.index(r)
                 for r in res_names]

    registers = family_named(family)  # an unknown family is an error, not zero registers
    neuron_kinds = registers.neuron_registers
    valid = ~pop_input[node_pop] if n_nodes else np.zeros(0, dtype=np.bool_)
    node_cols, reg_node, n_sets = [], [], 0
    for r, name in enumerate(reg_names):
        kind = name.split(".", 1)[1]
        keys = neuron_kinds.get(kind)
        if not keys:
            continue
        columns = []
        for key in keys:
            col = np.zeros(n_nodes, dtype=np.int64)
            present = False
            for q, pop in enumerate(pops):
                qp = qnet.populations.get(pop)
                if qp is None or pop_input[q] or key not in qp.params:
                    continue
                vals = np.asarray(qp.params[key]).reshape(pop_size[q], -1)
                col[pop_first[q]:pop_first[q] + pop_size[q]] = vals[:, 0] if vals.shape[1] else 0
                present = True
            if present:
                columns.append(col)
        ids, n = set_ids(columns, valid, n_sets)
        node_cols.append(ids)
        reg_node.append(r)
        n_sets += n
    node_sets = np.stack(node_cols, axis=1) if node_cols else np.zeros((n_nodes, 0), dtype=np.int64)

    syn_kinds = registers.synapse_registers
    proj_cols, reg_proj = [], []
    for r, name in enumerate(reg_names):
        if name.split(".", 1)[1] not in syn_kinds or not projs:
            continue
        fmt = [(q.weight_bits, q.weight_exp, q.sign_mode, d) for q, d in zip(projs, delay_bits)]
        distinct = {f: i for i, f in enumerate(dict.fromkeys(fmt))}
        proj_cols.append(np.array([distinct[f] + n_sets for f in fmt], dtype=np.int64))
        reg_proj.append(r)
        n_sets += len(distinct)
    # Learning registers (Loihi's stdp_pre): one per distinct pre-trace setting of the
    # plastic projections on a core; a projection that does not learn takes none (-1).
    for r, name in enumerate(reg_names):
        if name.split(".", 1)[1] not in registers.learning_registers or not projs:
            continue
        keys = []
        for q in projs:
            rule = net.projection(q.name).learning
            keys.append(None if rule is None else (rule.trace("x1"), rule.trace("x2")))
        distinct = {k: i for i, k in enumerate(dict.fromkeys(k for k in keys if k is not None))}
        proj_cols.append(np.array([-1 if k is None else distinct[k] + n_sets for k in keys],
                                  dtype=np.int64))
        reg_proj.append(r)
        n_sets += len(distinct)
    proj_sets = np.stack(proj_cols, axis=1) if proj_cols else np.zeros((len(projs), 0), dtype=np.int64)

    # Activation bits of each axon's source (Akida's input SRAM).
    key_bits = np.zeros(n_keys, dtype=np.int64)
    if chip.core.sram is not None:
        acts = chip.numerics.activations
        input_bits = max(acts.input_bits) if acts is not None and acts.input_bits else 8
        for i, q in enumerate(projs):
            pre = proj_pre[i]
            seg = slice(key_base[i], key_base[i] + q.synapses.n_pre)
            qp = qnet.populations.get(pops[pre])
            if pop_input[pre] or qp is None or "act_bits" not in qp.params:
                key_bits[seg] = input_bits if pop_input[pre] else (max(acts.bits) if acts else 1)
            else:
                key_bits[seg] = np.asarray(qp.params["act_bits"], dtype=np.int64).reshape(-1)

    proc_kinds, pop_mask = processor_masks(qnet, chip, pops)
    for q, pop in enumerate(pops):
        if not pop_input[q] and pop_size[q] and pop_mask[q] == 0:
            p = net.populations[pop]
            raise CapacityError(f"population '{pop}' is fed by layers ({layer_kinds_into(qnet, pop)}) that no "
                                f"processor kind of {chip.name} runs ({', '.join(proc_kinds)})",
                                span=p.span, where=f"population '{pop}'",
                                hint="feed it with one kind of layer (conv or dense)")

    relay_wbits = min(chip.numerics.weights.bits)
    relay_tab = np.zeros(1, dtype=np.int64)
    if chip.connectivity.destinations_per_neuron is not None:
        relay_tab = np.array([synapse_memory_bits(chip, [k], weight_bits=relay_wbits, delay_bits=0,
                                                  index_range=neurons_limit)
                              for k in range(neurons_limit + 1)], dtype=np.int64)

    g = Static(csc_ptr=csc_ptr, csc_key=csc_key, key_proj=key_proj, key_bits=key_bits, node_pop=node_pop,
               pop_in_ptr=pop_in_ptr, pop_in_proj=pop_in_proj, proj_post=proj_post,
               proj_dense=np.array(dense_ok, dtype=np.int8), tab=tab, tab_off=tab_off, tab_len=tab_len,
               opt_of_n=opt_of_n, node_sets=node_sets, proj_sets=proj_sets,
               reg_node=np.array(reg_node, dtype=np.int64), reg_proj=np.array(reg_proj, dtype=np.int64),
               pop_mask=pop_mask, limits=limits,
               routes_est=np.zeros(n_nodes, dtype=np.int64), relay_est=np.zeros(n_nodes, dtype=np.int64),
               relay_tab=relay_tab)
    return Problem(qnet=qnet, chip=chip, pops=pops, pop_input=pop_input, pop_first=pop_first,
                   pop_size=pop_size, projs=projs, proj_pre=proj_pre, proj_post=proj_post, key_base=key_base,
                   n_nodes=n_nodes, n_keys=n_keys, res_names=res_names, res_index=res_index,
                   proc_kinds=proc_kinds, pack_bits=pack_bits, delay_bits=delay_bits,
                   relay_weight_bits=relay_wbits, g=g, max_indeg=max_indeg, n_sets=n_sets,
                   n_opts=n_opts)


def new_scratch(prob: Problem) -> Scratch:
    """The kernels' working arrays for ``prob`` (reused by every pass and strategy)."""
    g = prob.g
    n_proj = len(prob.projs)
    n_opts = prob.n_opts
    n_regs = g.limits.shape[0] - len(RESOURCES)
    return Scratch(
        key_stamp=np.full(prob.n_keys, -1, dtype=np.int64), key_cnt=np.zeros(prob.n_keys, dtype=np.int64),
        set_stamp=np.full(max(prob.n_sets, 1), -1, dtype=np.int64),
        proj_stamp=np.full(n_proj, -1, dtype=np.int64), pop_stamp=np.full(len(prob.pops), -1, dtype=np.int64),
        S=np.zeros((n_proj, n_opts), dtype=np.int64), naxons=np.zeros(n_proj, dtype=np.int64),
        full=np.zeros(n_proj, dtype=np.int64), touch=np.zeros(n_proj, dtype=np.int64),
        pop_n=np.zeros(len(prob.pops), dtype=np.int64), core_projs=np.zeros(n_proj, dtype=np.int64),
        scal=np.zeros(8 + n_regs, dtype=np.int64), snap=np.zeros(8 + n_regs, dtype=np.int64),
        log_key=np.zeros(max(prob.max_indeg, 1), dtype=np.int64),
        log_old=np.zeros(max(prob.max_indeg, 1), dtype=np.int64),
        log_proj=np.zeros(max(n_proj, 1), dtype=np.int64),
        log_set=np.zeros(g.node_sets.shape[1] + n_proj * g.proj_sets.shape[1] + 1, dtype=np.int64),
        log_full=np.zeros(max(n_proj, 1), dtype=np.int64),
        usage=np.zeros(len(RESOURCES) + n_regs, dtype=np.int64))
