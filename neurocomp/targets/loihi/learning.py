"""Loihi's learning engine as Lava 0.10 models it (its fixed-point, "bit-approximate" model).

Semantics from ``lava/magma/core/model/py/connection.py`` (``conn.py``,
``LearningConnectionModelBitApproximate``) and
``lava/magma/core/learning/learning_rule_applier.py`` (``LearningRuleApplierBitApprox``);
docs/learning.md gives the line numbers and what Lava's comments say about the chip.
Lava step ``τ = t + 1`` is neurocomp step ``t``. Per plastic projection and step:

1. Spiking (every step). The projection delivers ``w`` of each pre neuron that fired
   (with the weights as they are before this step's learning). A pre neuron that
   already fired in this epoch (``tx > 0``) gets its ``x1``, ``x2`` impulse at once,
   rounded up when the impulse has a fraction (Lava passes the random number 0), clipped
   to 0..127; then ``tx = within-epoch step`` (1..E). Likewise a post neuron with
   ``ty > 0`` gets ``y1..y3`` impulses at once, rounded with the y-impulse random number
   of this step; then ``ty = within-epoch step``. Post spikes reach the engine in the
   step they are emitted.
2. Learning (at the end of each epoch, ``τ % E == 0``): ``x0 = tx > 0``, ``y0 = ty > 0``.
   The trace histories ``h[0] =`` the stored trace, for ``k = 1..E``:
   ``h[k] = floor(exp(-1/tau)·h[k-1]) + (r_decay < frac)`` (``tau = 0``: ``h[k] = 0``),
   then ``+ floor(impulse) + (r_imp < round(frac(impulse)·256))``, clipped to 0..127, for
   the neurons with ``tx == k`` (``ty == k``). One ``r_decay`` and one ``r_imp`` (a
   7-bit integer, compared with an 8-bit fraction) per stream and epoch, shared by
   every neuron and trace. The stored traces become ``h[E]``.
3. Each synapse: ``acc = w << 7``; per product ``cur = dep · Π clip(F + c, -2**b,
   2**b - 1) · m`` (int32, wrapping as numpy's int32 does), ``cur >>= max(0, Σb + 4 - 15)``,
   ``cur <<= e + 7``, ``cur`` and ``acc + cur`` clipped to ``[-2**15 - 1, 2**15 - 1]``;
   widths ``b``: x0, y0 1; traces 7; w 9. Traces are read at the dependency's time:
   ``h[tx]`` for x0 products, ``h[ty]`` for y0 products, ``h[E]`` for u. Then
   ``acc = max(acc, 0)`` (excitatory) or ``min(acc, 0)`` (inhibitory);
   ``w = (acc >> 7) + (r_conn < (acc & 127) / 128)``; ``w`` clipped to -256..255 (mixed),
   0..255 (excitatory), -255..0 (inhibitory). Learned weights are not truncated again to
   the projection's weight bits (Lava does not). Then ``tx = ty = 0``.

Random numbers (Lava's streams, ``conn.py:680-692``, ``random.py``): x decay
``default_rng(seed)``, x impulse ``default_rng(seed + 1)``, y decay ``seed + 2``, y impulse
``seed + 3``: one draw at construction, two per step; the learning of step ``τ`` uses
draw ``2τ``, a post multi-spike at ``τ`` draw ``2τ - 1``. The weight rounding uses
``default_rng(2)`` (Lava ignores the rule's seed there), draw ``k`` at epoch ``k``. A rule
with ``rng_seed`` uses exactly these streams (bit for bit with Lava); without one, the
seed is the run's ``seed`` and the weight stream ``default_rng(seed + 4)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ...diagnostics import UsageError
from ...emulator.kernels.routing import SYN_HI, SYN_LO, SYNAPTIC_UPDATES, TRACE_UPDATES, routing_tables

__all__ = ["check_learning", "W_TRACE_MAX", "PlasticTables", "plastic_projections", "sizing_values", "prepare_plastic",
           "LearningState", "new_state", "new_lag", "catch_up", "catch_up_all", "whole_steps", "LAG_EPOCHS",
           "spikes_step", "learn_epoch", "deliver_plastic",
           "lava_draws", "rule_tables", "FACTOR_CODES", "SIGN_BOUNDS", "float_weights"]

W_TRACE_MAX = 127  # 7-bit traces (lava constants.py W_TRACE)
# Factor codes: x0, y0, x1, x2, y1, y2, y3, w; widths from lava constants.py:60-72.
FACTOR_CODES = {"x0": 0, "y0": 1, "x1": 2, "x2": 3, "y1": 4, "y2": 5, "y3": 6, "w": 7}
FACTOR_WIDTH = np.array([1, 1, 7, 7, 7, 7, 7, 9], dtype=np.int64)
DEP_CODES = {"x0": 0, "y0": 1, "u": 2}
# clip_weights (lava/utils/weightutils.py) with 8 unsigned weight bits
SIGN_BOUNDS = {"mixed": (-256, 255), "excitatory": (0, 255), "inhibitory": (-255, 0)}
SIGN_CODES = {"mixed": 0, "excitatory": 1, "inhibitory": 2}


@dataclass(frozen=True, eq=False)
class PlasticTables:
    """One plastic projection, built once per Mapping (no run state)."""

    name: str
    index: int  # in mapping.projection_names
    rule: Any  # LearningRule
    n_pre: int
    n_post: int
    syn_pre: np.ndarray  # int64 [n_s]
    syn_post: np.ndarray  # int64 [n_s]
    w0: np.ndarray  # int64 [n_s]: the stored weights before learning
    row: np.ndarray  # int64 [n_s]: acc row of the target
    delay: np.ndarray  # int64 [n_s]: extra steps
    pre_ptr: np.ndarray  # int64 [n_pre + 1]: synapses of pre i (sorted by pre)
    post_ptr: np.ndarray  # int64 [n_post + 1]: post_syn[post_ptr[j]:post_ptr[j+1]] are post j's
    post_syn: np.ndarray  # int64 [n_s]: synapse indices sorted by post
    pre_of_source: np.ndarray  # int64 [n_sources]: pre index, -1
    post_of_comp: np.ndarray  # int64 [n_comp]: post index, -1
    sign_mode: str
    weight_exp: int
    post_col: np.ndarray  # int64 [n_post]: column (core) of each post neuron
    cols: np.ndarray  # int64: the columns holding this projection's synapses
    # the rule as arrays
    prod_dep: np.ndarray  # int64 [P]
    prod_mant: np.ndarray  # int64 [P]
    prod_exp: np.ndarray  # int64 [P] (the real exponent, -7..8)
    prod_decimate: np.ndarray  # int64 [P]
    fac_var: np.ndarray  # int64 [P, F] (-1: none)
    fac_const: np.ndarray  # int64 [P, F]
    fac_sgn: np.ndarray  # bool [P, F]
    x_int: np.ndarray  # int64 [2]
    x_frac: np.ndarray  # int64 [2] (1/256)
    y_int: np.ndarray  # int64 [3]
    y_frac: np.ndarray
    x_decay: np.ndarray  # float64 [2]: exp(-1/tau), as numpy computes it (0 with tau = 0)
    y_decay: np.ndarray
    x_has_tau: np.ndarray  # bool [2]
    y_has_tau: np.ndarray
    # the fast path (rule_tables): whether it applies, each product's value per factor value
    fast_ok: bool
    fast_src: np.ndarray  # int64 [P]
    fast_tab: np.ndarray  # int64 [P, 512]
    dense: bool  # every pre row holds posts 0 .. n_post - 1 in order (synapse = row start + post)
    straight: bool  # no delays, and each pre row's synapses reach consecutive acc rows in order
    # the one y0 product of a pre trace whose updates may wait in the lag log (see
    # _log_epoch), -1 when the rule or the layout does not allow it
    lazy_prod: int


def check_learning(errors, proj, chip) -> None:
    """Report what the chip's learning engine cannot hold of ``proj``'s rule (located at
    its ``learn`` clause): the limits of ``numerics.learning`` in the chip file."""
    rule = proj.learning
    lim = chip.numerics.learning
    where = f"projection '{proj.name}'"
    span = rule.span or proj.span
    if lim is None:
        errors.error(f"{where} learns, but chip '{chip.name}' gives no numerics.learning "
                     "(trace widths, epoch, rule limits)", span=span,
                     hint="compile for a chip file with a [numerics.learning] section (loihi)")
        return
    if rule.epoch > lim.epoch_max_steps:
        errors.error(f"{where}: the learning epoch is {rule.epoch} steps; {chip.name} counts "
                     f"at most {lim.epoch_max_steps}", span=span, hint=f"t_epoch = {lim.epoch_max_steps} or less")
    if len(rule.products) > lim.products_max:
        errors.error(f"{where}: the rule has {len(rule.products)} products; {chip.name} takes at "
                     f"most {lim.products_max}", span=span)
    m_lo, m_hi = -(1 << (lim.scale_mantissa_bits - 1)), (1 << (lim.scale_mantissa_bits - 1)) - 1
    for k, prod in enumerate(rule.products, 1):
        if len(prod.factors) > lim.factors_max:
            errors.error(f"{where}: product {k} ({prod.text()}) has {len(prod.factors)} factors; "
                         f"{chip.name} takes at most {lim.factors_max}", span=span)
        if not (m_lo <= prod.mantissa <= m_hi
                and lim.scale_exponent_min <= prod.exponent <= lim.scale_exponent_max):
            errors.error(f"{where}: product {k} ({prod.text()}) has the scale {prod.mantissa}*2^"
                         f"{prod.exponent}; {chip.name} holds mantissas {m_lo}..{m_hi} and "
                         f"exponents {lim.scale_exponent_min}..{lim.scale_exponent_max}", span=span)
    top = (1 << lim.trace_bits) - 1
    for name, trace in rule.traces.items():
        if trace.impulse > top:
            errors.error(f"{where}: the impulse of {name} is {trace.impulse:g}; a {lim.trace_bits}-bit "
                         f"trace holds 0..{top}", span=span)
    delay = proj.delay_steps
    if not isinstance(delay, int) or delay != 0:
        errors.error(f"{where} learns and has synaptic delays; the learning engine neurocomp "
                     "follows (Lava 0.10's LearningDense) has none", span=span,
                     hint="remove the delay of the plastic projection")


def plastic_projections(mapping) -> list[int]:
    """Indices (into ``mapping.projection_names``) of the projections that learn."""
    net = mapping.network
    out = []
    for k, name in enumerate(mapping.projection_names):
        try:
            proj = net.projection(name)
        except KeyError:
            continue
        if proj.learning is not None:
            out.append(k)
    return out


def _sign_mode(mapping, name: str, w: np.ndarray) -> str:
    for pe in mapping.quantization.projections:
        if pe.projection == name and pe.sign_mode:
            return pe.sign_mode
    return "mixed" if (w.min(initial=0) < 0 and w.max(initial=0) > 0) else \
        ("inhibitory" if w.min(initial=0) < 0 else "excitatory")


def sizing_values(mapping, plastic: list[int]) -> np.ndarray:
    """``syn_value`` for :func:`routing_tables` that sizes the packed values and ``acc`` for
    any weight a plastic synapse can learn (its largest magnitude, 256)."""
    value = np.asarray(mapping.syn_weight, dtype=np.int64).copy()
    syn_proj = _syn_projection(mapping)
    value[np.isin(syn_proj, plastic)] = -256
    return value


def _syn_projection(mapping) -> np.ndarray:
    ptr = np.asarray(mapping.axon_syn_ptr, dtype=np.int64)
    return np.repeat(np.asarray(mapping.axon_projection, dtype=np.int64), np.diff(ptr))


def prepare_plastic(mapping, rt, axon_class: np.ndarray, plastic: list[int]) -> list[PlasticTables]:
    """The tables of every plastic projection; zeroes their values in ``rt.syn`` (the
    engine delivers them itself, with the weights it learns; the routing still counts
    their synaptic operations, from its routes). A source whose synapses are all plastic
    gets an empty range of them in ``rt.src``: the routing would only add its zeros."""
    n_comp, n_syn = mapping.n_comp, mapping.n_synapses
    zeroed = np.zeros(rt.syn.shape[0] + 1, dtype=np.int64)
    # Which mapping synapse each flat synapse of rt is: route the synapse ids themselves.
    # (ids from 2: a synapse onto a relay reads 1 whatever it is given)
    ids, _ = routing_tables(mapping, axon_class, syn_value=np.arange(n_syn, dtype=np.int64) + 2)
    comp_relay = np.asarray(mapping.comp_pop) == -1
    vb = ids.syn_vbits
    flat_id = ((ids.syn.astype(np.int64) << (64 - vb)) >> (64 - vb)) - 2
    flat_row = rt.syn.astype(np.int64) >> rt.syn_vbits
    ptr = np.asarray(mapping.axon_syn_ptr, dtype=np.int64)
    syn_axon = np.repeat(np.arange(mapping.n_axons, dtype=np.int64), np.diff(ptr))
    syn_proj = np.asarray(mapping.axon_projection, dtype=np.int64)[syn_axon]
    route_src = np.repeat(np.arange(mapping.n_sources, dtype=np.int64),
                          np.diff(np.asarray(mapping.route_ptr, dtype=np.int64)))
    axon_src = np.full(mapping.n_axons, -1, dtype=np.int64)
    axon_src[np.asarray(mapping.route_axon, dtype=np.int64)] = route_src
    target = np.asarray(mapping.syn_target, dtype=np.int64)
    comp_index = np.asarray(mapping.comp_index, dtype=np.int64)
    comp_pop = np.asarray(mapping.comp_pop, dtype=np.int64)
    delays = np.asarray(mapping.syn_delay, dtype=np.int64)
    net = mapping.network
    out = []
    for p in plastic:
        name = mapping.projection_names[p]
        proj = net.projection(name)
        pre_pop, post_pop = net.populations[proj.pre], net.populations[proj.post]
        mine = np.flatnonzero(syn_proj == p)
        if np.any(comp_relay[target[mine]]):
            raise UsageError(f"projection '{name}' learns but reaches its targets through relays",
                             where=f"projection '{name}'")
        src = axon_src[syn_axon[mine]]
        if proj.pre in mapping.input_offset:
            pre_idx = src - n_comp - int(mapping.input_offset[proj.pre])
        else:
            if np.any(src >= n_comp) or np.any(comp_pop[src] < 0):
                raise UsageError(f"projection '{name}' learns but its pre spikes come through relays",
                                 where=f"projection '{name}'")
            pre_idx = comp_index[src]
        post_idx = comp_index[target[mine]]
        # flat position of each of these synapses (an axon has one route)
        pos = np.full(n_syn, -1, dtype=np.int64)
        is_mine = np.zeros(n_syn + 1, dtype=bool)
        is_mine[mine] = True
        sel = np.flatnonzero(is_mine[np.where(flat_id >= 0, flat_id, n_syn)])
        pos[flat_id[sel]] = sel
        if np.any(pos[mine] < 0):
            raise UsageError(f"projection '{name}' learns but a synapse of it has no route",
                             where=f"projection '{name}'")
        rows = flat_row[pos[mine]]
        # zero the value bits of these flat synapses: the engine delivers them
        rt.syn[sel] = (flat_row[sel] << rt.syn_vbits).astype(rt.syn.dtype)
        zeroed[sel + 1] = 1
        order = np.lexsort((post_idx, pre_idx))
        mine, pre_idx, post_idx, rows = mine[order], pre_idx[order], post_idx[order], rows[order]
        w0 = np.asarray(mapping.syn_weight, dtype=np.int64)[mine]
        pre_ptr = np.zeros(pre_pop.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre_idx, minlength=pre_pop.size), out=pre_ptr[1:])
        pre_of_source = np.full(mapping.n_sources, -1, dtype=np.int64)
        if proj.pre in mapping.input_offset:
            first = n_comp + int(mapping.input_offset[proj.pre])
            pre_of_source[first:first + pre_pop.size] = np.arange(pre_pop.size)
        else:
            k = mapping.population_names.index(proj.pre)
            comps = np.flatnonzero(comp_pop == k)
            pre_of_source[comps] = comp_index[comps]
        post_of_comp = np.full(n_comp, -1, dtype=np.int64)
        k = mapping.population_names.index(proj.post)
        comps = np.flatnonzero(comp_pop == k)
        post_of_comp[comps] = comp_index[comps]
        exps = np.asarray(mapping.axon_weight_exp, dtype=np.int64)[syn_axon[mine]]
        post_col = np.zeros(post_pop.size, dtype=np.int64)
        post_col[comp_index[comps]] = rt.comp_col[comps]
        out.append(_tables(name, p, proj.learning, pre_pop.size, post_pop.size, pre_idx, post_idx,
                           w0, rows, delays[mine], pre_ptr, pre_of_source, post_of_comp,
                           _sign_mode(mapping, name, w0), int(exps[0]) if exps.size else 0,
                           post_col, np.unique(post_col[post_idx]).astype(np.int64)))
    np.cumsum(zeroed, out=zeroed)
    lo, hi = rt.src[:, SYN_LO], rt.src[:, SYN_HI]
    all_plastic = (hi > lo) & (zeroed[hi] - zeroed[lo] == hi - lo)
    rt.src[all_plastic, SYN_HI] = lo[all_plastic]
    return out


def _tables(name, index, rule, n_pre, n_post, pre, post, w0, rows, delay, pre_ptr, pre_of_source,
            post_of_comp, sign_mode, weight_exp, post_col, cols) -> PlasticTables:
    n_prod = len(rule.products)
    n_fac = max([len(p.factors) for p in rule.products] + [1])
    fac_var = np.full((n_prod, n_fac), -1, dtype=np.int64)
    fac_const = np.zeros((n_prod, n_fac), dtype=np.int64)
    fac_sgn = np.zeros((n_prod, n_fac), dtype=np.bool_)
    for i, prod in enumerate(rule.products):
        for j, f in enumerate(prod.factors):
            fac_var[i, j] = FACTOR_CODES[f.var]
            fac_const[i, j] = f.const
            fac_sgn[i, j] = f.sgn

    def traces(names):
        imp = np.array([rule.trace(n).impulse for n in names], dtype=np.float64)
        taus = np.array([rule.trace(n).tau for n in names], dtype=np.float64)
        ints = np.floor(imp)
        fracs = np.round((imp - ints) * 2 ** 8)  # _decompose_impulses (W_TRACE_FRACTIONAL_PART)
        has = taus != 0
        decay = np.zeros(len(names), dtype=np.float64)
        if np.any(has):
            # as conn.py _decay_trace computes it: np.exp(-t / taus) on an array
            decay[has] = np.exp(-1 / taus[has][:, np.newaxis])[:, 0]
        return ints.astype(np.int64), fracs.astype(np.int64), decay, has

    x_int, x_frac, x_decay, x_has = traces(("x1", "x2"))
    y_int, y_frac, y_decay, y_has = traces(("y1", "y2", "y3"))
    prod_dep = np.array([DEP_CODES[p.dependency] for p in rule.products], dtype=np.int64)
    prod_mant = np.array([p.mantissa for p in rule.products], dtype=np.int64)
    prod_exp = np.array([p.exponent for p in rule.products], dtype=np.int64)
    fast_ok, fast_src, fast_tab = rule_tables(prod_dep, prod_mant, prod_exp, fac_var, fac_const, fac_sgn)
    counts = np.diff(pre_ptr)
    dense = bool(np.all(counts == n_post)) and bool(np.array_equal(post, np.tile(np.arange(n_post), n_pre)))
    return PlasticTables(
        name=name, index=index, rule=rule, n_pre=n_pre, n_post=n_post,
        syn_pre=np.ascontiguousarray(pre, dtype=np.int64),
        syn_post=np.ascontiguousarray(post, dtype=np.int64),
        w0=np.ascontiguousarray(w0, dtype=np.int64), row=np.ascontiguousarray(rows, dtype=np.int64),
        delay=np.ascontiguousarray(delay, dtype=np.int64), pre_ptr=pre_ptr,
        post_ptr=_ptr(post, n_post), post_syn=np.argsort(post, kind="stable").astype(np.int64),
        pre_of_source=pre_of_source, post_of_comp=post_of_comp, sign_mode=sign_mode,
        weight_exp=weight_exp, post_col=post_col, cols=cols,
        prod_dep=prod_dep, prod_mant=prod_mant, prod_exp=prod_exp,
        prod_decimate=np.array([p.decimate for p in rule.products], dtype=np.int64),
        fac_var=fac_var, fac_const=fac_const, fac_sgn=fac_sgn,
        x_int=x_int, x_frac=x_frac, y_int=y_int, y_frac=y_frac, x_decay=x_decay, y_decay=y_decay,
        x_has_tau=x_has, y_has_tau=y_has, fast_ok=fast_ok, fast_src=fast_src, fast_tab=fast_tab,
        dense=dense, straight=_straight(rows, delay, pre_ptr),
        lazy_prod=_lazy_product(prod_dep, fast_ok, fast_src, dense))


def _lazy_product(prod_dep, fast_ok, fast_src, dense) -> int:
    """The product whose post-side updates :func:`_fast_epoch` may leave in the lag log
    (pairwise STDP's ``y0 * x1``): on a dense table path, the rule's one ``y0`` product, of a
    pre trace, and no ``u`` product. A row whose pre did not fire then changes by that product
    alone, so its updates can wait until the row is next read (:func:`catch_up`)."""
    ys = np.flatnonzero(prod_dep == 1)
    if not (fast_ok and dense and ys.size == 1 and not np.any(prod_dep == 2)
            and 3 <= fast_src[ys[0]] < 5):
        return -1
    return int(ys[0])


def _straight(rows: np.ndarray, delay: np.ndarray, pre_ptr: np.ndarray) -> bool:
    """Whether :func:`deliver_plastic` may add each pre row's weights as one run of acc rows."""
    if np.any(delay != 0):
        return False
    step = np.diff(rows) == 1
    starts = pre_ptr[1:-1]
    starts = starts[(starts > 0) & (starts < rows.size)]
    step[starts - 1] = True  # (from one pre row to the next, the acc row may jump)
    return bool(np.all(step))


# Where a product's one factor is read (rule_tables): 0 none, 1 x0, 2 y0, 3-4 x1-x2, 5-7
# y1-y3, 8 w; the table index is the factor's value (w: value + 256).
_SRC_OF_VAR = np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=np.int64)  # by FACTOR_CODES
TABLE_SIZE = 512


def rule_tables(prod_dep, prod_mant, prod_exp, fac_var, fac_const, fac_sgn):
    """The fast path of :func:`learn_epoch`: when every product has at most one factor,
    its contribution ``cur`` (step 3 of the module docstring, for an active dependency)
    depends on that factor's value alone, so it is tabled here once, by the very arithmetic
    of the generic path (:func:`_product_value`). Returns ``(ok, src [P], tab [P, 512])``;
    ``ok`` is false when a product has two factors or more (the generic path runs)."""
    n_prod = prod_dep.shape[0]
    src = np.zeros(n_prod, dtype=np.int64)
    tab = np.zeros((n_prod, TABLE_SIZE), dtype=np.int64)
    if n_prod and fac_var.shape[1] > 1 and np.any(fac_var[:, 1] >= 0):
        return False, src, tab
    for p in range(n_prod):
        v = int(fac_var[p, 0]) if fac_var.shape[1] else -1
        src[p] = 0 if v < 0 else _SRC_OF_VAR[v]
        values = np.arange(-256, 256) if v == 7 else np.arange(TABLE_SIZE) if v >= 0 else np.zeros(1, np.int64)
        tab[p, :values.size] = [_product_value(p, int(val), prod_mant, prod_exp, fac_var, fac_const,
                                               fac_sgn, FACTOR_WIDTH) for val in values]
    return True, src, tab


def float_weights(mapping, pt: PlasticTables, w: np.ndarray) -> np.ndarray:
    """Learned integer weights as a dense float ``[n_post, n_pre]`` array in the network's
    units (the inverse of the quantizer's ``w_int = w · s / 2**(exp + input_shift)``), so
    that it can be saved and given to ``dense(weights = ...)`` again."""
    k = mapping.population_names.index(mapping.network.projection(pt.name).post)
    comps = np.flatnonzero(np.asarray(mapping.comp_pop) == k)
    v_scale = float(np.asarray(mapping.v_scale, dtype=np.float64)[comps[0]]) if comps.size else 1.0
    shift = int(mapping.chip.numerics.input_shift) + pt.weight_exp
    dense = np.zeros((pt.n_post, pt.n_pre), dtype=np.float64)
    dense[pt.syn_post, pt.syn_pre] = w.astype(np.float64) * 2.0 ** shift * v_scale
    return dense


def _ptr(index: np.ndarray, n: int) -> np.ndarray:
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(index, minlength=n), out=ptr[1:])
    return ptr


# --------------------------------------------------------------------------- random numbers


@dataclass(frozen=True, eq=False)
class Draws:
    """Every random number a run of ``steps`` steps reads, in Lava's order."""

    x_decay: np.ndarray  # float64 [2 * steps + 1]
    x_imp: np.ndarray  # int64 [2 * steps + 1]
    y_decay: np.ndarray
    y_imp: np.ndarray
    conn: np.ndarray  # float64 [n_epochs + 1]


def lava_draws(seed: int, steps: int, epoch: int, conn_seed: int = 2) -> Draws:
    """Lava's streams (``TraceRandom``, ``ConnVarRandom``), one call per draw as Lava makes
    them (a bulk ``integers`` call would buffer differently)."""
    n = 2 * steps + 1

    def floats(s):
        rng = np.random.default_rng(seed=s)
        return np.array([rng.random(1)[0] for _ in range(n)], dtype=np.float64)

    def ints(s):
        rng = np.random.default_rng(seed=s)
        return np.array([rng.integers(0, 2 ** 7, size=1, dtype=int)[0] for _ in range(n)],
                        dtype=np.int64)

    rng = np.random.default_rng(seed=conn_seed)
    conn = np.array([rng.random(1)[0] for _ in range(steps // epoch + 1)], dtype=np.float64)
    return Draws(floats(seed), ints(seed + 1), floats(seed + 2), ints(seed + 3), conn)


# --------------------------------------------------------------------------- run state


@dataclass(frozen=True, eq=False)
class LearningState:
    """One plastic projection's state during a run (arrays updated in place)."""

    w: np.ndarray  # int16 [n_s] (-256..255; 2 bytes: a post's synapses lie one per pre row, so
    # the post side of an epoch reads the weights strided, and 1e6 of them then stay in cache)
    x: np.ndarray  # int64 [2, n_pre]
    y: np.ndarray  # int64 [3, n_post]
    tx: np.ndarray  # int64 [n_pre]
    ty: np.ndarray  # int64 [n_post]
    draws: Draws
    # The lag log (_log_epoch): (row_from int64 [n_pre], n_logged int64 [1], log_h uint8
    # [L, E, n_pre], log_ptr int64 [L * E + 1], log_post int64 [L * n_post], log_thr int64
    # [L]), L = LAG_EPOCHS, or 0 when the updates do not wait.
    lag: tuple


# Epochs (with post spikes) the lag log holds; when it is full, every row is caught up.
LAG_EPOCHS = 64


def new_lag(n_pre: int, n_post: int, epoch: int, n_log: int) -> tuple:
    """An empty lag log of ``n_log`` epochs (0: the post side's updates do not wait)."""
    return (np.zeros(n_pre, dtype=np.int64), np.zeros(1, dtype=np.int64),
            np.zeros((n_log, epoch, n_pre), dtype=np.uint8), np.zeros(n_log * epoch + 1, dtype=np.int64),
            np.zeros(n_log * n_post, dtype=np.int64), np.zeros(n_log, dtype=np.int64))


def new_state(pt: PlasticTables, steps: int, seed: int) -> LearningState:
    """A run's state; the post side's updates wait in the lag log when the rule allows it
    (``pt.lazy_prod``) and the weights are not probed (a probe reads them every step)."""
    rule = pt.rule
    draws = lava_draws(rule.rng_seed, steps, rule.epoch) if rule.rng_seed is not None else \
        lava_draws(int(seed), steps, rule.epoch, conn_seed=int(seed) + 4)
    n_log = LAG_EPOCHS if pt.lazy_prod >= 0 and not rule.probe_weights else 0
    lag = new_lag(pt.n_pre, pt.n_post, rule.epoch, n_log)
    return LearningState(w=pt.w0.astype(np.int16), x=np.zeros((2, pt.n_pre), dtype=np.int64),
                         y=np.zeros((3, pt.n_post), dtype=np.int64),
                         tx=np.zeros(pt.n_pre, dtype=np.int64), ty=np.zeros(pt.n_post, dtype=np.int64),
                         draws=draws, lag=lag)


# --------------------------------------------------------------------------- kernels


@njit(cache=True)
def deliver_plastic(pre_fired, pre_ptr, row, delay, w, acc, t, n_slots, straight):
    """Add ``w`` of each synapse of each fired pre neuron to its row, for step
    ``t + 1 + delay``; with ``straight`` (:func:`_straight`) one plain loop per pre row."""
    slot = (t + 1) % n_slots
    for q in range(pre_fired.shape[0]):
        i = pre_fired[q]
        if straight:
            dst = acc[slot]
            lo = np.uint64(pre_ptr[i])
            r0 = np.uint64(row[lo]) if pre_ptr[i + 1] > pre_ptr[i] else np.uint64(0)
            # (unsigned indices: no test for negative ones, so the loop vectorises)
            for k in range(np.uint64(pre_ptr[i + 1] - pre_ptr[i])):
                dst[r0 + k] += w[lo + k]
            continue
        for k in range(pre_ptr[i], pre_ptr[i + 1]):
            # (check_learning refuses delays on a plastic projection; kept general here)
            if delay[k] == 0:
                acc[slot, row[k]] += w[k]
            else:
                acc[(t + 1 + delay[k]) % n_slots, row[k]] += w[k]


@njit(cache=True, inline="always")
def _add_impulse(value, r, imp_int, imp_frac):
    v = value + imp_int + (1 if r < imp_frac else 0)
    return min(max(v, 0), 127)


@njit(cache=True)
def spikes_step(pre_fired, post_fired, within, x, y, tx, ty, x_int, x_frac, y_int, y_frac, r_y_imp):
    """Step 1 of the module docstring for one step's pre and post spikes. Returns the
    number of trace updates (immediate impulses)."""
    n = 0
    for q in range(pre_fired.shape[0]):
        i = pre_fired[q]
        if tx[i] > 0:
            for c in range(2):
                x[c, i] = _add_impulse(x[c, i], 0, x_int[c], x_frac[c])
                n += 1
        tx[i] = within
    for q in range(post_fired.shape[0]):
        j = post_fired[q]
        if ty[j] > 0:
            for c in range(3):
                y[c, j] = _add_impulse(y[c, j], r_y_imp, y_int[c], y_frac[c])
                n += 1
        ty[j] = within
    return n


@njit(cache=True)
def _history(h0, t_spk, epoch, decay, has_tau, imp_int, imp_frac, r_decay, r_imp):
    n_tr, n = h0.shape
    hist = np.empty((epoch + 1, n_tr, n), dtype=np.int64)
    for c in range(n_tr):
        for i in range(n):
            hist[0, c, i] = h0[c, i]
    # A trace holds 0..127 and one decay step of a value depends on that value alone (one
    # r_decay per epoch): the 128 results are tabled once per trace, by the same float
    # arithmetic, instead of once per neuron and step.
    step = np.zeros((n_tr, W_TRACE_MAX + 1), dtype=np.int64)  # (no tau: every value -> 0)
    for c in range(n_tr):
        if has_tau[c]:
            f = decay[c]
            for h in range(W_TRACE_MAX + 1):
                val = f * np.float64(h)
                fl = np.floor(val)
                step[c, h] = np.int64(fl) + (1 if r_decay < val - fl else 0)
    for k in range(1, epoch + 1):
        for c in range(n_tr):
            if not has_tau[c]:  # every value decays to 0 (a trace the rule leaves unused, often)
                for i in range(n):
                    hist[k, c, i] = 0
                continue
            for i in range(n):
                hist[k, c, i] = step[c, hist[k - 1, c, i]]
        for i in range(n):
            if t_spk[i] == k:
                for c in range(n_tr):
                    hist[k, c, i] = _add_impulse(hist[k, c, i], r_imp, imp_int[c], imp_frac[c])
    return hist


@njit(cache=True)
def _copy_last(h, hist):
    """``h[:, :] = hist[-1]`` (a loop: Numba's array assignment compiles an error message)."""
    last = hist.shape[0] - 1
    for c in range(h.shape[0]):
        for i in range(h.shape[1]):
            h[c, i] = hist[last, c, i]


@njit(cache=True)
def _reset(tx, ty):
    """``tx[:] = ty[:] = 0`` (loops, as in :func:`_copy_last`)."""
    for i in range(tx.shape[0]):
        tx[i] = 0
    for j in range(ty.shape[0]):
        ty[j] = 0


@njit(cache=True, inline="always")
def _wrap32(v):
    """``v`` as numpy's int32 arithmetic leaves it (two's complement wrap-around)."""
    return ((v + np.int64(2147483648)) & np.int64(0xFFFFFFFF)) - np.int64(2147483648)


# The product arithmetic of step 3 in two pieces, shared by the generic path (:func:`_update`)
# and the table builder (:func:`_product_value`), so that the tables are that arithmetic by
# construction. (Plain compiled functions: LLVM inlines them; Numba's own inlining would
# type each call site again, which costs compile time.)
@njit(cache=True)
def _times_factor(cur, val, const, sgn, bw):
    """``cur`` times one factor of value ``val``: plus its constant, its sign when ``sgn``,
    clipped to ``bw`` bits (signed), multiplied in wrapping int32."""
    val += const
    if sgn:
        val = np.int64(1) if val > 0 else (np.int64(-1) if val < 0 else np.int64(0))
    val = min(max(val, -(np.int64(1) << bw)), (np.int64(1) << bw) - 1)
    return _wrap32(cur * val)


@njit(cache=True)
def _scaled(cur, width_sum, mant, exp):
    """A product's factors' value ``cur`` (of ``width_sum`` bits) times its scale
    ``mant * 2**exp``, as it is added to ``acc`` (Lava's bounds, learning_rule_applier.py:
    -(2**15) - 1 .. 2**15 - 1)."""
    lim = np.int64(32767)
    cur = _wrap32(cur * mant)
    cur = cur >> max(0, width_sum + 4 - 15)
    cur = _wrap32(cur << (exp + 7))
    return min(max(cur, -lim - 2), lim)


@njit(cache=True)
def _product_value(p, val, prod_mant, prod_exp, fac_var, fac_const, fac_sgn, fac_width):
    """``cur`` of product ``p`` (at most one factor, of value ``val``) with its dependency
    active, for :func:`rule_tables`: :func:`_update`'s arithmetic."""
    cur = np.int64(1)
    width_sum = 0
    if fac_var.shape[1] > 0 and fac_var[p, 0] >= 0:
        bw = fac_width[fac_var[p, 0]]
        cur = _times_factor(cur, val, fac_const[p, 0], fac_sgn[p, 0], bw)
        width_sum += bw
    return _scaled(cur, width_sum, prod_mant[p], prod_exp[p])


@njit(cache=True, inline="always")
def _fast_update(k, i, j, w, hx, hy, tx, ty, thr, prod_dep, fast_src, fast_tab, sign_code, w_lo, w_hi):
    """:func:`_update` through the tables of :func:`rule_tables`, in an epoch with no ``u``
    product on. A product whose dependency is off adds 0 (``acc`` stays as it is), so it is
    skipped; ``thr = floor(r_conn * 128)``: ``r_conn < m / 128`` is ``m > thr`` for an
    integer ``m`` (both sides scaled by 128 exactly)."""
    lim = np.int64(32767)
    x_at = tx[i]
    y_at = ty[j]
    w_old = w[k]
    acc = w_old << 7
    for p in range(prod_dep.shape[0]):
        dep = prod_dep[p]
        if dep == 0:
            if x_at == 0:
                continue
            at = x_at
        elif dep == 1:
            if y_at == 0:
                continue
            at = y_at
        else:
            continue
        src = fast_src[p]
        if src == 0:
            idx = np.int64(0)
        elif src == 1:
            idx = np.int64(1 if x_at > 0 else 0)
        elif src == 2:
            idx = np.int64(1 if y_at > 0 else 0)
        elif src < 5:
            idx = hx[at, src - 3, i]
        elif src < 8:
            idx = hy[at, src - 5, j]
        else:
            idx = w_old + 256
        acc = min(max(acc + fast_tab[p, idx], -lim - 2), lim)
    if sign_code == 1:
        acc = max(acc, 0)
    elif sign_code == 2:
        acc = min(acc, 0)
    new = (acc >> 7) + (1 if (acc & 127) > thr else 0)
    w[k] = min(max(new, w_lo), w_hi)


@njit(cache=True)
def catch_up(i, w, pre_ptr, lag, tab, whole, sign_code, w_lo, w_hi):
    """Apply to pre row ``i`` the post-side updates logged since it was last caught up
    (:func:`_log_epoch`), epoch after epoch as :func:`_fast_epoch` would have applied them:
    each synapse gets the same updates in the same order, so the weights are those of the
    eager path to the bit. ``tab``: the lazy product's table; ``whole`` (:func:`whole_steps`):
    its every value is a multiple of 128, so an update is ``clip(w + value / 128)``. The
    posts of an epoch are logged by spike time, so each group adds one value."""
    row_from, n_logged, log_h, log_ptr, log_post, log_thr = lag
    n = n_logged[0]
    lim = np.int64(32767)
    acc_lo = np.int64(0) if sign_code == 1 else -lim - 2
    acc_hi = np.int64(0) if sign_code == 2 else lim
    base = pre_ptr[i]
    n_at = log_h.shape[1]
    for e in range(row_from[i], n):
        thr = log_thr[e]
        for at in range(n_at):
            a = tab[log_h[e, at, i]]
            if a == 0:  # (as _fast_epoch skips a row that adds 0)
                continue
            g = e * n_at + at
            if whole:
                a >>= 7
                for q in range(log_ptr[g], log_ptr[g + 1]):
                    k = base + log_post[q]
                    w[k] = min(max(np.int64(w[k]) + a, w_lo), w_hi)
                continue
            for q in range(log_ptr[g], log_ptr[g + 1]):
                k = base + log_post[q]
                acc = min(max((np.int64(w[k]) << 7) + a, acc_lo), acc_hi)
                new = (acc >> 7) + (1 if (acc & 127) > thr else 0)
                w[k] = min(max(new, w_lo), w_hi)
    row_from[i] = n


@njit(cache=True)
def whole_steps(tab):
    """Whether every value of ``tab`` is a multiple of 128. Then an update leaves no fraction
    in ``acc`` (no rounding), and ``acc``'s bounds (Lava's, and the sign mode's) bind only
    where ``w``'s bounds do: ``clip(acc >> 7, w_lo, w_hi)`` is ``clip(w + value / 128, w_lo,
    w_hi)``. (E.g. ``w = 255``, excitatory, ``value = 128``: acc clips at 32767, rounds to 255
    or 256, clipped to 255.)"""
    for v in range(tab.shape[0]):
        if tab[v] & 127:
            return False
    return True


@njit(cache=True)
def catch_up_all(w, pre_ptr, lag, tab, sign_code, w_lo, w_hi):
    """Catch every row up (:func:`catch_up`) and empty the lag log."""
    row_from, n_logged = lag[0], lag[1]
    whole = whole_steps(tab)
    for i in range(row_from.shape[0]):
        if row_from[i] < n_logged[0]:
            catch_up(i, w, pre_ptr, lag, tab, whole, sign_code, w_lo, w_hi)
    for i in range(row_from.shape[0]):
        row_from[i] = 0
    n_logged[0] = 0


@njit(cache=True)
def _log_epoch(lag, hx, c, tx, ty, active, n_y, thr):
    """The post side of an epoch, left to wait: the rows whose pre did not fire change by
    the lazy product alone, which reads the row's pre trace ``c`` at its post's spike time
    (``hx``) and rounds with this epoch's ``thr``. Those are logged (the posts that fired,
    their times, the pre traces, ``thr``), and a row is caught up when it is next read
    (:func:`catch_up`: its delivery, a full log, the run's end). Rows whose pre fired were caught up when
    they fired and are updated now, so they skip this epoch."""
    row_from, n_logged, log_h, log_ptr, log_post, log_thr = lag
    e = n_logged[0]  # (< the log's length: the loop empties a full log before the epoch)
    log_thr[e] = thr
    n_at = log_h.shape[1]
    for at in range(n_at):
        for i in range(log_h.shape[2]):
            log_h[e, at, i] = hx[at + 1, c, i]
    # the posts by spike time (a counting sort): group e * E + at - 1 holds those with ty = at
    p = log_ptr[e * n_at]
    for at in range(1, n_at + 1):
        for q in range(n_y):
            if ty[active[q]] == at:
                log_post[p] = active[q]
                p += 1
        log_ptr[e * n_at + at] = p
    n_logged[0] = e + 1
    for i in range(tx.shape[0]):
        if tx[i] > 0:
            row_from[i] = e + 1


@njit(cache=True)
def _fast_epoch(syn_post, pre_ptr, post_ptr, post_syn, syn_pre, w, hx, hy, tx, ty, thr, prod_dep,
                fast_src, fast_tab, sign_code, w_lo, w_hi, post_col, per_col, dense, lag):
    """Step 3 by the tables, for the synapses of the pre and post neurons that spiked.
    Pre rows are contiguous; a post's synapses are strided (one per row): in a ``dense``
    projection they are found by position (row start + post), else through ``post_syn``.
    Pairwise STDP's two sides run as straight loops; every other synapse to update is
    listed first, then updated in one loop (one inlined copy of :func:`_fast_update`: each
    copy costs compile time). With a lag log (``lag``, see :func:`new_state`) pairwise
    STDP's post side waits in it (:func:`_log_epoch`)."""
    n_pre = pre_ptr.shape[0] - 1
    n_post = post_ptr.shape[0] - 1
    n_eval = 0
    active = np.empty(n_post, dtype=np.int64)
    n_y = 0
    n_y_syn = 0
    for j in range(n_post):
        if ty[j] > 0:
            active[n_y] = j
            n_y += 1
            n_y_syn += post_ptr[j + 1] - post_ptr[j]
    n_x = 0
    n_x_syn = 0
    for i in range(n_pre):
        if tx[i] > 0:
            n_x += 1
            n_x_syn += pre_ptr[i + 1] - pre_ptr[i]
    # Pairwise STDP's pre side: one x0 product, of a post trace. A synapse whose post did
    # not spike gets that product alone (the y0 products are off), so a dense row is one
    # straight loop over it (its posts that spiked are listed, and updated in full later).
    # Likewise the post side's one y0 product of a pre trace (the x0 products are off).
    pair = -1
    pair_y = -1
    n_dep_x = 0
    n_dep_y = 0
    for p in range(prod_dep.shape[0]):
        if prod_dep[p] == 0:
            n_dep_x += 1
            pair = p
        elif prod_dep[p] == 1:
            n_dep_y += 1
            pair_y = p
    if not (dense and n_dep_x == 1 and fast_src[pair] >= 5 and fast_src[pair] < 8):
        pair = -1
    if not (dense and n_dep_y == 1 and fast_src[pair_y] >= 3 and fast_src[pair_y] < 5):
        pair_y = -1
    lim = np.int64(32767)
    # Lava's bounds on acc, then the sign mode's: one clip to where the two intervals meet
    acc_lo = np.int64(0) if sign_code == 1 else -lim - 2
    acc_hi = np.int64(0) if sign_code == 2 else lim
    visit = np.empty((n_x * n_y if pair >= 0 else n_x_syn) + (0 if pair_y >= 0 else n_y_syn),
                     dtype=np.int64)
    n_v = 0
    saved = np.empty(n_y, dtype=w.dtype)
    # The pre side's one product per post and dependency time, read from its table once
    # per epoch (not once per synapse): the row loop below then has no gather left.
    add = np.empty((hy.shape[0] if pair >= 0 else 0, n_post), dtype=np.int64)
    if pair >= 0:
        for at in range(1, hy.shape[0]):
            for j in range(n_post):
                add[at, j] = fast_tab[pair, hy[at, fast_src[pair] - 5, j]]
    for i in range(n_pre):
        if tx[i] == 0:
            continue
        if pair < 0:
            for k in range(pre_ptr[i], pre_ptr[i + 1]):
                visit[n_v] = k
                n_v += 1
            continue
        base = pre_ptr[i]
        for q in range(n_y):
            saved[q] = w[base + active[q]]
        a = add[tx[i]]
        ub = np.uint64(base)
        # (unsigned indices: Numba then drops its test for negative ones from the loop)
        for j in range(np.uint64(n_post)):
            k = ub + j
            acc = min(max((np.int64(w[k]) << 7) + a[j], acc_lo), acc_hi)
            new = (acc >> 7) + (1 if (acc & 127) > thr else 0)
            w[k] = min(max(new, w_lo), w_hi)
        if pair_y < 0:
            for q in range(n_y):
                w[base + active[q]] = saved[q]
                visit[n_v] = base + active[q]
                n_v += 1
            continue
        # Pairwise STDP: a synapse whose pre and post both fired gets its two products
        # (in the rule's order, each clipped to Lava's bounds), as _fast_update adds them
        c_y = fast_src[pair_y] - 3
        for q in range(n_y):
            j = active[q]
            b = fast_tab[pair_y, hx[ty[j], c_y, i]]
            acc = np.int64(saved[q]) << 7
            if pair < pair_y:
                acc = min(max(min(max(acc + a[j], -lim - 2), lim) + b, -lim - 2), lim)
            else:
                acc = min(max(min(max(acc + b, -lim - 2), lim) + a[j], -lim - 2), lim)
            acc = min(max(acc, acc_lo), acc_hi)  # (the sign mode's bound)
            new = (acc >> 7) + (1 if (acc & 127) > thr else 0)
            w[base + j] = min(max(new, w_lo), w_hi)
    if dense:
        n_rest = n_pre - n_x
        for j in range(n_post):
            per_col[post_col[j]] += n_x
        for q in range(n_y):
            per_col[post_col[active[q]]] += n_rest
        n_eval = n_x * n_post + n_y * n_rest
        add_y = np.empty(hx.shape[0], dtype=np.int64)
        if pair_y >= 0 and lag[2].shape[0] > 0:
            if n_y:
                _log_epoch(lag, hx, fast_src[pair_y] - 3, tx, ty, active, n_y, thr)
            n_y = 0  # (the loop below then has nothing to do)
        for i in range(n_pre if n_y else 0):
            if tx[i] > 0:
                continue  # done above
            base = pre_ptr[i]
            if pair_y < 0:
                for q in range(n_y):
                    visit[n_v] = base + active[q]
                    n_v += 1
                continue
            c = fast_src[pair_y] - 3
            # A row whose pre trace adds 0 at every step of the epoch leaves its weights as
            # they are (acc = w << 7 rounds back to w, within its bounds): skipped. With
            # STDP most rows are so (the pre trace has decayed to 0).
            adds = False
            for at in range(1, hx.shape[0]):
                add_y[at] = fast_tab[pair_y, hx[at, c, i]]
                if add_y[at] != 0:
                    adds = True
            if not adds:
                continue
            if hx.shape[0] == 2:  # epoch 1: one value for the whole row
                a = add_y[1]
                for q in range(n_y):
                    k = base + active[q]
                    acc = min(max((np.int64(w[k]) << 7) + a, acc_lo), acc_hi)
                    new = (acc >> 7) + (1 if (acc & 127) > thr else 0)
                    w[k] = min(max(new, w_lo), w_hi)
                continue
            for q in range(n_y):
                k = base + active[q]
                acc = min(max((np.int64(w[k]) << 7) + add_y[ty[active[q]]], acc_lo), acc_hi)
                new = (acc >> 7) + (1 if (acc & 127) > thr else 0)
                w[k] = min(max(new, w_lo), w_hi)
    else:
        n_eval = n_v
        for q in range(n_v):
            per_col[post_col[syn_post[visit[q]]]] += 1
        for q in range(n_y):
            j = active[q]
            for r in range(post_ptr[j], post_ptr[j + 1]):
                k = post_syn[r]
                if tx[syn_pre[k]] > 0:
                    continue  # listed with its pre
                visit[n_v] = k
                n_v += 1
                n_eval += 1
                per_col[post_col[j]] += 1
    for q in range(n_v):
        k = visit[q]
        _fast_update(k, syn_pre[k], syn_post[k], w, hx, hy, tx, ty, thr, prod_dep, fast_src, fast_tab,
                     sign_code, w_lo, w_hi)
    return n_eval


@njit(cache=True, inline="always")
def _update(k, i, j, w, hx, hy, tx, ty, epoch, u_on, r_conn, prod_dep, prod_mant, prod_exp,
            fac_var, fac_const, fac_sgn, fac_width, sign_code, w_lo, w_hi):
    """Step 3 of the module docstring for synapse ``k`` (pre ``i``, post ``j``)."""
    lim = np.int64(32767)
    x0 = tx[i] > 0
    y0 = ty[j] > 0
    w_old = w[k]
    acc = w_old << 7
    for p in range(prod_dep.shape[0]):
        dep = prod_dep[p]
        if dep == 0:
            on = x0
            at = tx[i]
        elif dep == 1:
            on = y0
            at = ty[j]
        else:
            on = u_on
            at = epoch
        cur = np.int64(1 if on else 0)
        width_sum = 0
        for f in range(fac_var.shape[1]):
            v = fac_var[p, f]
            if v < 0:
                break
            if v == 0:
                val = np.int64(1 if x0 else 0)
            elif v == 1:
                val = np.int64(1 if y0 else 0)
            elif v < 4:
                val = hx[at, v - 2, i]
            elif v < 7:
                val = hy[at, v - 4, j]
            else:
                val = w_old
            cur = _times_factor(cur, val, fac_const[p, f], fac_sgn[p, f], fac_width[v])
            width_sum += fac_width[v]
        acc = min(max(acc + _scaled(cur, width_sum, prod_mant[p], prod_exp[p]), -lim - 2), lim)
    if sign_code == 1:
        acc = max(acc, 0)
    elif sign_code == 2:
        acc = min(acc, 0)
    new = (acc >> 7) + (1 if r_conn < np.float64(acc & 127) / 128.0 else 0)
    w[k] = min(max(new, w_lo), w_hi)


@njit(cache=True)
def _synapses_of_active(ptr, spiked):
    """How many synapses the neurons with ``spiked[i] > 0`` have (``ptr``: their CSR)."""
    n = 0
    for i in range(ptr.shape[0] - 1):
        if spiked[i] > 0:
            n += ptr[i + 1] - ptr[i]
    return n


@njit(cache=True)
def learn_epoch(syn_pre, syn_post, pre_ptr, post_ptr, post_syn, w, x, y, tx, ty, epoch, u_on,
                x_decay, y_decay, x_has, y_has, x_int, x_frac, y_int, y_frac, r_xd, r_xi, r_yd,
                r_yi, r_conn, prod_dep, prod_mant, prod_exp, fac_var, fac_const, fac_sgn,
                fac_width, sign_code, w_lo, w_hi, post_col, per_col, fast_ok, fast_src, fast_tab,
                dense, lag):
    """Steps 2 and 3 of the module docstring; resets ``tx``, ``ty``. Returns the number of
    synapses whose rule was evaluated (those with an active dependency), and adds them per
    column of their post neuron (``post_col``) into ``per_col``.

    Synapses are sorted by pre (``pre_ptr``: those of pre ``i``); ``post_syn[post_ptr[j]:
    post_ptr[j + 1]]`` are those of post ``j``. A synapse none of whose dependencies is
    active does not change (``acc = w << 7`` rounds back to ``w``), so only the synapses
    of the pre and post neurons that spiked are visited (all of them when a ``u``
    product is on). With ``fast_ok`` (:func:`rule_tables`) and no ``u`` product on, the
    products are read from their tables (:func:`_fast_epoch`)."""
    hx = _history(x, tx, epoch, x_decay, x_has, x_int, x_frac, r_xd, r_xi)
    hy = _history(y, ty, epoch, y_decay, y_has, y_int, y_frac, r_yd, r_yi)
    _copy_last(x, hx)
    _copy_last(y, hy)
    n_eval = 0
    if fast_ok and not u_on:
        thr = np.int64(np.floor(r_conn * 128.0))
        n_eval = _fast_epoch(syn_post, pre_ptr, post_ptr, post_syn, syn_pre, w, hx, hy, tx, ty, thr,
                             prod_dep, fast_src, fast_tab, sign_code, w_lo, w_hi, post_col, per_col,
                             dense, lag)
        _reset(tx, ty)
        return n_eval
    # The synapses of the posts that spiked lie strided through memory (sorted by pre): when
    # they are more than half of all, one pass over every synapse in order is cheaper than
    # gathering them (measured: ~10 ns per scanned synapse, ~20 ns per gathered one, 1,000 x
    # 1,000 dense). Else the synapses to visit are listed first. (Two call sites of _update
    # in all: each inlined one costs compile time.)
    n_post_syn = _synapses_of_active(post_ptr, ty)
    if u_on or 2 * n_post_syn > syn_pre.shape[0]:
        for k in range(syn_pre.shape[0]):
            i = syn_pre[k]
            j = syn_post[k]
            if u_on or tx[i] > 0 or ty[j] > 0:
                _update(k, i, j, w, hx, hy, tx, ty, epoch, u_on, r_conn, prod_dep, prod_mant,
                        prod_exp, fac_var, fac_const, fac_sgn, fac_width, sign_code, w_lo, w_hi)
                n_eval += 1
                per_col[post_col[j]] += 1
        _reset(tx, ty)
        return n_eval
    n_pre_syn = _synapses_of_active(pre_ptr, tx)
    visit = np.empty(n_pre_syn + n_post_syn, dtype=np.int64)
    for i in range(pre_ptr.shape[0] - 1):
        if tx[i] > 0:
            for k in range(pre_ptr[i], pre_ptr[i + 1]):
                visit[n_eval] = k
                n_eval += 1
    for j in range(post_ptr.shape[0] - 1):
        if ty[j] > 0:
            for q in range(post_ptr[j], post_ptr[j + 1]):
                k = post_syn[q]
                if tx[syn_pre[k]] == 0:  # (else visited with its pre)
                    visit[n_eval] = k
                    n_eval += 1
    for q in range(n_eval):
        k = visit[q]
        _update(k, syn_pre[k], syn_post[k], w, hx, hy, tx, ty, epoch, u_on, r_conn, prod_dep, prod_mant,
                prod_exp, fac_var, fac_const, fac_sgn, fac_width, sign_code, w_lo, w_hi)
        per_col[post_col[syn_post[k]]] += 1
    _reset(tx, ty)
    return n_eval
