"""A slow plain-numpy twin of Lava 0.10's fixed-point learning, written the way Lava's
``conn.py`` and ``learning_rule_applier.py`` compute (whole arrays, numpy int32 products,
float history arrays), to check the Numba engine of ``neurocomp/targets/loihi/learning.py``."""

from __future__ import annotations

import numpy as np

WIDTH = {"x0": 1, "y0": 1, "x1": 7, "x2": 7, "y1": 7, "y2": 7, "y3": 7, "w": 9}


def _impulse(values, r, imp):
    ints = np.floor(imp)
    frac = np.round((imp - ints) * 256)
    out = values + ints.astype(int) + (r < frac).astype(int)
    return np.clip(out, 0, 127)


def _impulse_int(values, r, ints, fracs):
    return np.clip(values + ints + (r < fracs).astype(int), 0, 127)


def twin_spikes(pre, post, within, x, y, tx, ty, x_int, x_frac, y_int, y_frac, r_y):
    spiked = np.zeros(tx.size, dtype=bool)
    spiked[pre] = True
    multi = (tx > 0) & spiked
    for c in range(2):
        x[c, multi] = _impulse_int(x[c, multi], 0, x_int[c], x_frac[c])
    tx[spiked] = within
    bap = np.zeros(ty.size, dtype=bool)
    bap[post] = True
    multi = (ty > 0) & bap
    for c in range(3):
        y[c, multi] = _impulse_int(y[c, multi], r_y, y_int[c], y_frac[c])
    ty[bap] = within


def _history(h0, t_spk, epoch, taus, imps, r_dec, r_imp):
    hist = np.zeros((epoch + 1,) + h0.shape, dtype=int)
    hist[0] = h0
    has = taus != 0
    for t in range(1, epoch + 1):
        if np.any(has):
            val = np.exp(-1 / taus[has][:, np.newaxis]) * hist[t - 1][has]
            frac = val % 1
            hist[t][has] = (np.floor(val) + (r_dec < frac).astype(int)).astype(int)
        ids = np.where(t_spk == t)[0]
        for c in range(h0.shape[0]):
            hist[t][c, ids] = _impulse(hist[t][c, ids], r_imp, imps[c])
    return hist


def twin_epoch(syn_pre, syn_post, w, x, y, tx, ty, epoch, u_on, taus, imps, rs, products, mode):
    r_xd, r_xi, r_yd, r_yi, r_conn = rs
    hx = _history(x.copy(), tx, epoch, taus[:2], imps[:2], r_xd, r_xi)
    hy = _history(y.copy(), ty, epoch, taus[2:], imps[2:], r_yd, r_yi)
    x0, y0 = tx > 0, ty > 0
    x[:] = hx[-1]
    y[:] = hy[-1]
    pre, post = syn_pre, syn_post
    acc = (w << 7).astype(np.int64)
    for p in products:
        if p.dependency == "x0":
            cur = np.ones(pre.size, dtype=np.int32) * x0[pre]
            at_x, at_y = tx[pre], tx[pre]
        elif p.dependency == "y0":
            cur = np.ones(pre.size, dtype=np.int32) * y0[post]
            at_x, at_y = ty[post], ty[post]
        else:
            cur = np.ones(pre.size, dtype=np.int32) * int(u_on)
            at_x = at_y = np.full(pre.size, epoch)
        width = 0
        for f in p.factors:
            if f.var == "x0":
                val = x0[pre].astype(int)
            elif f.var == "y0":
                val = y0[post].astype(int)
            elif f.var in ("x1", "x2"):
                val = hx[at_x, int(f.var[1]) - 1, pre]
            elif f.var in ("y1", "y2", "y3"):
                val = hy[at_y, int(f.var[1]) - 1, post]
            else:
                val = w.copy()
            val = val + f.const
            if f.sgn:
                val = np.sign(val)
            width += WIDTH[f.var]
            val = np.clip(val, -(2 ** WIDTH[f.var]), 2 ** WIDTH[f.var] - 1)
            with np.errstate(over="ignore"):
                cur = cur * val.astype(np.int32)
        with np.errstate(over="ignore"):
            cur = (cur * np.int32(p.mantissa)).astype(np.int32)
            cur = np.right_shift(cur, max(0, width + 4 - 15))
            cur = np.left_shift(cur, np.int32(p.exponent + 7)).astype(np.int32)
        cur = np.clip(cur, -(2 ** 15) - 1, 2 ** 15 - 1)
        active = x0[pre] | y0[post] | bool(u_on)
        acc = np.where(active, np.clip(acc + cur, -(2 ** 15) - 1, 2 ** 15 - 1), acc)
    if mode == "excitatory":
        acc = np.maximum(acc, 0)
    elif mode == "inhibitory":
        acc = np.minimum(acc, 0)
    q = acc / 128
    new = (np.floor(q) + (r_conn < q % 1)).astype(int)
    lo, hi = {"mixed": (-256, 255), "excitatory": (0, 255), "inhibitory": (-255, 0)}[mode]
    active = x0[pre] | y0[post] | bool(u_on)
    w[:] = np.where(active, np.clip(new, lo, hi), w)
    tx[:] = 0
    ty[:] = 0
