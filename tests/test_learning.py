"""On-chip learning (docs/learning.md): the rule language, hand-derived weight changes,
and the Numba engine against a plain-Python twin of Lava 0.10's fixed-point model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.diagnostics import DslError
from neurocomp.dsl.rule import RuleError, parse_rule
from neurocomp.ir.learning import Factor, Product
from neurocomp.targets.loihi import learning as lrn
from neurocomp.targets.loihi.kernel import prepare

from learning_twin import twin_epoch, twin_spikes


# ------------------------------------------------------------------ the rule language


def test_rule_reads_as_lava_reads_it():
    # product_series.py: the first dependency gates; literals fold into m * 2^e; a
    # mantissa beyond 7 that is even is halved into the exponent (16 = 4 * 2^2)
    assert parse_rule("2^-2*x1*y0 - 2^-2*y1*x0") == (
        Product("y0", 1, -2, (Factor("x1"),)), Product("x0", -1, -2, (Factor("y1"),)))
    assert parse_rule("16*x0*x1") == (Product("x0", 4, 2, (Factor("x1"),)),)
    assert parse_rule("3*2^-2*u0*(y2-2)*sgn(w+1)") == (
        Product("u", 3, -2, (Factor("y2", -2), Factor("w", 1, True))),)
    assert parse_rule("x0*(-x1+3)") == (Product("x0", -1, 0, (Factor("x1", -3),)),)
    assert parse_rule("y0 * x0") == (Product("y0", 1, 0, (Factor("x0"),)),)


@pytest.mark.parametrize("text, message, where", [
    ("y1*x1", "this product has no dependency: it needs x0, y0 or u0..u9", (0, 5)),
    ("x0*q1", "unknown name 'q1' in the rule", (3, 5)),
    ("9*x0", "the scale of this product has mantissa 9; Loihi holds -8..7 (times a power of two)",
     (0, 4)),
    ("2^9*x0", "the scale of this product is 2^9; Loihi's exponent lies in -7..8", (0, 6)),
    ("x0*d", "'d' is a synaptic tag; neurocomp learns the weight w only", (3, 4)),
    ("x0*sgn(x1)", "sgn(...) applies to the weight w only", (7, 9)),
    ("x0 +", "the rule ends too early", (4, 4)),
])
def test_rule_errors_say_what_and_where(text, message, where):
    with pytest.raises(RuleError) as exc:
        parse_rule(text)
    assert exc.value.message == message
    assert (exc.value.start, exc.value.end) == where


def _write(tmp_path: Path, text: str) -> Path:
    np.save(tmp_path / "w.npy", np.full((2, 3), 0.5))
    np.save(tmp_path / "in.npy", np.zeros((10, 3), dtype=bool))
    path = tmp_path / "net.snn"
    path.write_text(text)
    return path


HEAD = """input a[3] : spikes(file = "in.npy")
population b[2] : LIF(tau_mem = 10 ms, threshold = 1)
"""


def test_bad_rule_points_into_the_file(tmp_path):
    line = 'connect a -> b : dense(weights = "w.npy") learn rule(dw = "x0*y1 - 2^-2*q*y0", ' \
        'y1_tau = 4, y1_impulse = 8)'
    path = _write(tmp_path, HEAD + line + "\n")
    with pytest.raises(DslError) as exc:
        nc.load(path)
    text = str(exc.value)
    col = line.index("q*y0") + 1  # the caret sits under the bad name, in the file's line
    assert f"net.snn:3:{col}: error: unknown name 'q' in the rule" in text
    caret = text.splitlines()[2]
    assert caret.index("^") - caret.index("|") - 2 == col - 1


def test_learn_clause_checks_its_parameters(tmp_path):
    path = _write(tmp_path, HEAD + 'connect a -> b : dense(weights = "w.npy") learn stdp(A_plus = 1)\n'
                  'connect a -> b : dense(weights = "w.npy") learn hebb(rate = 1)\n'
                  'connect a -> b : dense(weights = "w.npy") learn rule(dw = "x0*y1")\n'
                  'connect a -> b : dense(weights = "w.npy") learn rule(dw = "x0", dt = "x0*y1", '
                  'x1_tau = 4, x1_impulse = 8)\n'
                  'probe b -> a : weights\n')
    with pytest.raises(DslError) as exc:
        nc.load(path)
    text = str(exc.value)
    assert "stdp() needs 'A_minus'" in text
    assert "unknown learning rule 'hebb'" in text
    assert "the rule reads the trace y1, which is not configured" in text
    assert "net.snn:6:" in text and "'dt' (a rule for Lava's synaptic tag t) is not modelled" in text
    assert "no projection b -> a" in text


def test_stdp_is_lavas_stdp_string(tmp_path):
    # STDPLoihi: dw = lr*A_minus*x0*y1 + lr*A_plus*y0*x1, floats through float_to_literal
    path = _write(tmp_path, HEAD + 'connect a -> b : dense(weights = "w.npy") learn stdp(A_plus = 1, '
                  'A_minus = -1, tau_plus = 10 ms, tau_minus = 5, t_epoch = 2)\nprobe a -> b : weights\n')
    rule = nc.load(path).projections[0].learning
    assert rule.products == (Product("x0", -1, 0, (Factor("y1"),)), Product("y0", 1, 0, (Factor("x1"),)))
    assert (rule.trace("x1").tau, rule.trace("x1").impulse) == (10.0, 16.0)
    assert (rule.trace("y1").tau, rule.trace("y1").impulse) == (5.0, 16.0)
    assert rule.epoch == 2 and rule.probe_weights
    # 0.3 is not m*2^e: Lava's float_to_literal makes it 2^-2 (utils.py); so do we
    from neurocomp.ir.build_learning import lava_literal
    assert lava_literal(0.3) == "(1)*2^-2" and lava_literal(2.5) == "(2)*2^0" and lava_literal(-3) == "(-3)"


# ------------------------------------------------------------------ hand-derived cases


def _pair_network(tmp_path: Path, rule: str, pre_step: int, post_drive_step: int, w: int,
                  epoch: int = 10, steps: int = 12, seed: int = 3) -> "nc.RunResult":
    """One pre neuron ``a`` (plastic, weight ``w``) and a driver ``c`` into one neuron ``b``
    that fires exactly one step after ``c`` does (du = 4095: the current lasts one step)."""
    raster_a = np.zeros((steps, 1), dtype=bool)
    raster_a[pre_step, 0] = True
    raster_c = np.zeros((steps, 1), dtype=bool)
    raster_c[post_drive_step, 0] = True
    np.save(tmp_path / "a.npy", raster_a)
    np.save(tmp_path / "c.npy", raster_c)
    np.save(tmp_path / "wa.npy", np.array([[w]]))
    np.save(tmp_path / "wc.npy", np.array([[254]]))
    (tmp_path / "p.snn").write_text(f"""network pair
input a[1] : spikes(file = "a.npy")
input c[1] : spikes(file = "c.npy")
population b[1] : LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 4095, vth_mant = 100, bias_mant = 0, bias_exp = 0)
connect c -> b : dense(weights = "wc.npy") native loihi(weights = "wc.npy", weight_exp = 0, weight_bits = 8, sign_mode = mixed)
connect a -> b : dense(weights = "wa.npy") native loihi(weights = "wa.npy", weight_exp = 0, weight_bits = 8, sign_mode = mixed) learn rule(dw = "{rule}", x1_tau = 8, x1_impulse = 20, y1_tau = 8, y1_impulse = 30, t_epoch = {epoch}, rng_seed = {seed})
probe a -> b : weights
""")
    mapping = nc.compile(nc.load(tmp_path / "p.snn"), chip="loihi")
    return nc.run(mapping, steps)


def _decayed(value: int, steps: int, tau: float, r: float) -> int:
    """Lava's stochastic decay, one step at a time, with one random number r."""
    f = math.exp(-1 / tau)
    for _ in range(steps):
        v = f * value
        value = math.floor(v) + (1 if r < v - math.floor(v) else 0)
    return value


def test_pre_then_post_potentiates_by_the_decayed_pre_trace(tmp_path):
    # pre at step 2 (Lava step 3, within-epoch 3); c at 5 -> b fires at 6 (within-epoch 7)
    res = _pair_network(tmp_path, "2*y0*x1 - x0*y1", pre_step=2, post_drive_step=5, w=40)
    b = res.spikes["b"]
    assert list(b.times) == [6]
    tr = res.traces["a->b"]
    # the epoch ends at Lava step 10 = step 9: the x decay uses draw 2*10 of default_rng(3)
    rng = np.random.default_rng(3)
    r = [rng.random(1)[0] for _ in range(21)][20]
    x1_at_post = _decayed(20, 7 - 3, 8, r)  # impulse 20 at 3, read at 7
    # LTD: y1 at the pre spike is 0 (b had not fired yet); LTP: 2 * x1 at the post spike,
    # whole (scale 2 = 2 * 2^0: no fraction, so no rounding): w + 2 * x1
    assert list(tr["weights"][:9, 0]) == [40] * 9
    assert tr["weights"][9, 0] == 40 + 2 * x1_at_post
    assert tr["x1"][9, 0] == _decayed(20, 10 - 3, 8, r)  # the stored trace: the end of the epoch
    assert tr["final_weights"].shape == (1, 1)


def test_post_then_pre_depresses_by_the_decayed_post_trace(tmp_path):
    # c at 1 -> b fires at 2 (within 3); pre at 6 (within 7)
    res = _pair_network(tmp_path, "2*y0*x1 - x0*y1", pre_step=6, post_drive_step=1, w=100)
    assert list(res.spikes["b"].times) == [2]
    rng = np.random.default_rng(3 + 2)  # the y decay stream: seed + 2
    r = [rng.random(1)[0] for _ in range(21)][20]
    y1_at_pre = _decayed(30, 7 - 3, 8, r)
    assert res.traces["a->b"]["weights"][9, 0] == 100 - y1_at_pre


def test_a_scale_below_one_rounds_with_the_weight_stream(tmp_path):
    # 2^-2 * x1: x1 / 4 has a fraction; Lava's weight stream is default_rng(2), draw 1
    res = _pair_network(tmp_path, "2^-2*y0*x1 - 2^-2*x0*y1", pre_step=2, post_drive_step=5, w=40)
    rng = np.random.default_rng(3)
    r = [rng.random(1)[0] for _ in range(21)][20]
    x1 = _decayed(20, 4, 8, r)
    rng2 = np.random.default_rng(2)
    r_conn = [rng2.random(1)[0] for _ in range(2)][1]
    acc = (40 << 7) + ((x1 * 1) << 5)  # (x1 * m) << (e + 7) with m = 1, e = -2
    expected = (acc >> 7) + (1 if r_conn < (acc & 127) / 128 else 0)
    assert res.traces["a->b"]["weights"][9, 0] == expected


# ------------------------------------------------------------------ engine vs twin


def _random_case(rng: np.random.Generator, one_factor: bool = False):
    n_pre, n_post, epoch = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
    names = ["x0", "y0", "x1", "x2", "y1", "y2", "y3", "w"]
    n_prod = int(rng.integers(1, 4))
    prods = []
    for _ in range(n_prod):
        dep = ["x0", "y0", "u"][int(rng.integers(0, 3))]
        facs = tuple(Factor(names[int(rng.integers(0, 8))], int(rng.integers(-3, 4)),
                            False) for _ in range(int(rng.integers(0, 2 if one_factor else 4))))
        if rng.random() < 0.3 and not (one_factor and facs):
            facs += (Factor("w", int(rng.integers(-2, 3)), True),)
        prods.append(Product(dep, int(rng.integers(-8, 8)), int(rng.integers(-7, 9)), facs))
    return n_pre, n_post, epoch, tuple(prods)


@pytest.mark.parametrize("case", range(40))
def test_engine_matches_the_python_twin(case):
    rng = np.random.default_rng(1000 + case)
    # cases 0-19: rules of one factor per product at most (the table path), half of them
    # on a dense projection (its positional loop); 20-39: any rule (the generic path)
    n_pre, n_post, epoch, prods = _random_case(rng, one_factor=case < 20)
    _engine_against_twin(rng, n_pre, n_post, epoch, prods, case % 2 == 1,
                         ["mixed", "excitatory", "inhibitory"][case % 3])


@pytest.mark.parametrize("case", range(12))
def test_pairwise_stdp_matches_the_python_twin(case):
    # pairwise STDP shapes on a dense projection (the table path's straight loops: a fired
    # pre's row, the synapses whose pre and post both fired, a silent pre's post side),
    # the two products in either order, scales that leave fractions in acc or not
    rng = np.random.default_rng(2000 + case)
    n_pre, n_post, epoch = int(rng.integers(3, 9)), int(rng.integers(3, 9)), int(rng.integers(1, 5))
    x_side = Product("x0", int(rng.integers(-8, 0)), int(rng.integers(-7, 3)),
                     (Factor(["y1", "y2"][case % 2], 0, False),))
    y_side = Product("y0", int(rng.integers(1, 8)), int(rng.integers(-7, 3)),
                     (Factor(["x1", "x2"][case // 2 % 2], 0, False),))
    prods = (x_side, y_side) if case % 3 else (y_side, x_side)
    _engine_against_twin(rng, n_pre, n_post, epoch, prods, True, ["mixed", "excitatory", "inhibitory"][case % 3],
                         fire=0.5)


def _engine_against_twin(rng, n_pre, n_post, epoch, prods, dense, mode, fire=0.4):
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    keep = rng.random(pre.size) < (1.0 if dense else 0.8)
    syn_pre, syn_post = pre.ravel()[keep].astype(np.int64), post.ravel()[keep].astype(np.int64)
    lo, hi = lrn.SIGN_BOUNDS[mode]
    w = rng.integers(lo, hi + 1, syn_pre.size).astype(np.int64)
    x = rng.integers(0, 128, (2, n_pre)).astype(np.int64)
    y = rng.integers(0, 128, (3, n_post)).astype(np.int64)
    tx = np.zeros(n_pre, dtype=np.int64)
    ty = np.zeros(n_post, dtype=np.int64)
    imp = rng.random(5) * 40
    taus = np.where(rng.random(5) < 0.2, 0.0, rng.random(5) * 30 + 0.5)
    ints, fracs = np.floor(imp).astype(np.int64), np.round((imp - np.floor(imp)) * 256).astype(np.int64)
    has = taus != 0
    decay = np.zeros(5)
    decay[has] = np.exp(-1 / taus[has][:, None])[:, 0]
    state_e = [a.copy() for a in (x, y, tx, ty)]
    state_t = [a.copy() for a in (x, y, tx, ty)]
    for k in range(1, epoch + 1):  # spikes of each step of one epoch
        pf = np.flatnonzero(rng.random(n_pre) < fire).astype(np.int64)
        qf = np.flatnonzero(rng.random(n_post) < fire).astype(np.int64)
        r = int(rng.integers(0, 128))
        lrn.spikes_step(pf, qf, k, *state_e, ints[:2], fracs[:2], ints[2:], fracs[2:], r)
        twin_spikes(pf, qf, k, *state_t, ints[:2], fracs[:2], ints[2:], fracs[2:], r)
    for a, b in zip(state_e, state_t):
        np.testing.assert_array_equal(a, b)
    u_on = bool(rng.random() < 0.5)
    rs = (float(rng.random()), int(rng.integers(0, 128)), float(rng.random()), int(rng.integers(0, 128)),
          float(rng.random()))
    w_e, w_t = w.astype(np.int16), w.copy()  # the engine keeps weights in int16 (LearningState)
    fac_n = max([len(p.factors) for p in prods] + [1])
    fac_var = np.full((len(prods), fac_n), -1, dtype=np.int64)
    fac_const = np.zeros((len(prods), fac_n), dtype=np.int64)
    fac_sgn = np.zeros((len(prods), fac_n), dtype=np.bool_)
    for i, p in enumerate(prods):
        for j, f in enumerate(p.factors):
            fac_var[i, j], fac_const[i, j], fac_sgn[i, j] = lrn.FACTOR_CODES[f.var], f.const, f.sgn
    pre_ptr = lrn._ptr(syn_pre, n_pre)  # syn_pre is sorted (meshgrid 'ij' order)
    post_ptr = lrn._ptr(syn_post, n_post)
    post_syn = np.argsort(syn_post, kind="stable").astype(np.int64)
    dep = np.array([lrn.DEP_CODES[p.dependency] for p in prods], dtype=np.int64)
    mant = np.array([p.mantissa for p in prods], dtype=np.int64)
    exp = np.array([p.exponent for p in prods], dtype=np.int64)
    # the table path (every product with one factor at most) when the rule allows it; a
    # dense layout (every pair kept) takes its positional loop
    fast = lrn.rule_tables(dep, mant, exp, fac_var, fac_const, fac_sgn)
    dense = bool(keep.all())
    lrn.learn_epoch(syn_pre, syn_post, pre_ptr, post_ptr, post_syn, w_e, *state_e, epoch, u_on, decay[:2], decay[2:], has[:2],
                    has[2:], ints[:2], fracs[:2], ints[2:], fracs[2:], *rs, dep, mant, exp,
                    fac_var, fac_const, fac_sgn, lrn.FACTOR_WIDTH, lrn.SIGN_CODES[mode], lo, hi,
                    np.zeros(n_post, dtype=np.int64), np.zeros(1, dtype=np.int64), *fast, dense,
                    lrn.new_lag(n_pre, n_post, epoch, 0))
    twin_epoch(syn_pre, syn_post, w_t, *state_t, epoch, u_on, taus, imp, rs, prods, mode)
    np.testing.assert_array_equal(w_e, w_t)
    for a, b in zip(state_e, state_t):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ chips and round trips


@pytest.mark.parametrize("chip", ["truenorth", "akida"])
def test_a_chip_without_learning_refuses_the_learn_clause(tmp_path, chip):
    path = _write(tmp_path, HEAD + 'connect a -> b : dense(weights = "w.npy") learn stdp(A_plus = 1, '
                  'A_minus = -1, tau_plus = 4, tau_minus = 4)\n')
    with pytest.raises(nc.NeurocompError if hasattr(nc, "NeurocompError") else Exception) as exc:
        nc.compile(nc.load(path), chip=chip)
    assert f"projection 'a->b' learns, but chip '{chip}'" in str(exc.value)
    assert "has no on-chip learning engine" in str(exc.value)


def test_learned_weights_compile_again_for_inference(tmp_path):
    res = _pair_network(tmp_path, "2*y0*x1 - x0*y1", pre_step=2, post_drive_step=5, w=40)
    learned = res.traces["a->b"]["final_weights"]
    w_int = res.traces["a->b"]["weights"][-1, 0]
    np.save(tmp_path / "learned.npy", learned)
    (tmp_path / "inf.snn").write_text("""network inference
input a[1] : spikes(file = "a.npy")
population b[1] : LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 4095, vth_mant = 100, bias_mant = 0, bias_exp = 0)
connect a -> b : dense(weights = "learned.npy") native loihi(weight_exp = 0, weight_bits = 8, sign_mode = mixed)
""")
    mapping = nc.compile(nc.load(tmp_path / "inf.snn"), chip="loihi")
    # the float weights quantize back to the learned integer (same exponent and scale)
    assert int(np.asarray(mapping.syn_weight)[0]) == int(w_int)


def test_the_chip_file_limits_are_located_errors(tmp_path):
    path = _write(tmp_path, HEAD + 'connect a -> b : dense(weights = "w.npy", delay = 2) learn '
                  'rule(dw = "x0*y1*y2*y3*x1*x2", x1_tau = 16, x1_impulse = 200, y1_tau = 16, '
                  'y1_impulse = 20, y2_impulse = 1, y3_impulse = 1, x2_impulse = 1, t_epoch = 64)\n')
    with pytest.raises(Exception) as exc:
        nc.compile(nc.load(path), chip="loihi")
    text = str(exc.value)
    for part in ("the learning epoch is 64 steps; loihi counts at most 63",  # davies2018
                 "product 1 (x0*y1*y2*y3*x1*x2) has 5 factors; loihi takes at most 4",
                 "the impulse of x1 is 200; a 7-bit trace holds 0..127",
                 "learns and has synaptic delays"):
        assert part in text
    assert "net.snn:3:" in text
    with pytest.raises(Exception) as exc:  # a Loihi-family chip file without [numerics.learning]
        nc.compile(nc.load(path), chip="loihi2")
    assert "gives no numerics.learning" in str(exc.value)


def test_each_pre_trace_setting_takes_a_stdp_pre_register(tmp_path):
    # loihi.toml: config_registers.stdp_pre = 3 (nengo-loihi validate_core)
    lines = [HEAD.strip()]
    for k in range(4):
        lines.append(f'connect a -> b : dense(weights = "w.npy") learn stdp(A_plus = 1, A_minus = -1, '
                     f'tau_plus = {4 + k}, tau_minus = 4)')
    path = _write(tmp_path, "\n".join(lines[:-1]) + "\n")
    mapping = nc.compile(nc.load(path), chip="loihi")
    assert [c.usage["config_registers.stdp_pre"] for c in mapping.cores] == [3]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(Exception) as exc:
        nc.compile(nc.load(path), chip="loihi")
    assert "needs 4 'stdp_pre' config registers on one core" in str(exc.value)


def test_the_stdp_example_learns_its_pattern():
    # examples/stdp.snn: channels 0-9 repeat a pattern; 10-19 are noise (make_stdp.py)
    net = nc.load(Path(__file__).parent.parent / "examples" / "stdp.snn")
    res = nc.run(nc.compile(net, chip="loihi"), 400)
    tr = res.traces["inp->out"]
    w, pre = tr["weights"], tr["synapses"][:, 0]
    assert np.all(w[0] == w[0, 0])  # every synapse starts equal
    pattern, noise = w[-1, pre < 10], w[-1, pre >= 10]
    assert pattern.min() > noise.mean() and pattern.mean() > noise.mean() + 50
    assert res.spikes["out"].count > 5


# ------------------------------------------------------------------ the float reference


def test_the_float_reference_learns_the_ideal_rule(tmp_path):
    # a (weight 0.1, too weak to fire b) at step 2; c (weight 2) at 5 -> b fires at 6
    steps = 12
    for name, step in (("a", 2), ("c", 5)):
        raster = np.zeros((steps, 1), dtype=bool)
        raster[step, 0] = True
        np.save(tmp_path / f"{name}.npy", raster)
    np.save(tmp_path / "wa.npy", np.array([[0.1]]))
    np.save(tmp_path / "wc.npy", np.array([[2.0]]))
    (tmp_path / "f.snn").write_text("""network ideal
input a[1] : spikes(file = "a.npy")
input c[1] : spikes(file = "c.npy")
population b[1] : LIF(tau_mem = 10 ms, threshold = 1)
connect c -> b : dense(weights = "wc.npy")
connect a -> b : dense(weights = "wa.npy") learn rule(dw = "2*y0*x1 - x0*y1", x1_tau = 8, x1_impulse = 20, y1_tau = 8, y1_impulse = 30, t_epoch = 10)
probe a -> b : weights
""")
    res = nc.simulate(nc.load(tmp_path / "f.snn"), steps)
    assert list(res.spikes["b"].times) == [6]
    w = res.traces["a->b"]["weights"][:, 0]
    unit = 0.1 / 128  # w_unit: max |initial weight| / 128
    # x1 at the post spike: 20 * exp(-(7 - 3) / 8), real; y1 at the pre spike: 0
    expected = 0.1 + 2 * 20 * math.exp(-4 / 8) * unit
    assert np.allclose(w[:9], 0.1) and math.isclose(w[9], expected, rel_tol=1e-12)
    assert math.isclose(res.traces["a->b"]["final_weights"][0, 0], expected, rel_tol=1e-12)


def test_learning_work_is_counted_and_priced(tmp_path):
    # one pre spike (step 2) and one post spike (step 6) in one 10-step epoch, x1 and y1
    # decaying: the epoch steps 1 x trace (1 pre) and 1 y trace (1 post) 10 times each on
    # the one core; one synapse had an active dependency
    res = _pair_network(tmp_path, "2*y0*x1 - x0*y1", pre_step=2, post_drive_step=5, w=40)
    c = res.counters
    assert int(c.trace_updates.sum()) == 10 + 10
    assert int(c.synaptic_updates.sum()) == 1 and int(c.synaptic_updates[9].sum()) == 1
    mapping = nc.compile(nc.load(tmp_path / "p.snn"), chip="loihi")
    report = nc.price(res, mapping)
    # davies2018 Table 2: 23.6 pJ per synaptic op, 120 pJ per synaptic update (pairwise
    # STDP); trace updates priced 0 (assumed, in chips/loihi.toml)
    synops = int(c.synops.sum())
    assert math.isclose(report.cost.energy_by_kind_pj["synaptic"], synops * 23.6 + 1 * 120.0)


def test_a_plastic_network_prints_and_saves_with_its_rule(tmp_path):
    net = nc.load(Path(__file__).parent.parent / "examples" / "stdp.snn")
    text = nc.to_snn(net)
    assert 'learn rule(dw = "(1)*(-1)*x0*y1 + (1)*(1)*y0*x1", x1_tau = 8, x1_impulse = 16' in text
    assert "probe inp -> out : weights" in text
    mapping = nc.compile(net, chip="loihi")
    mapping.save(tmp_path / "m.map.json")
    again = nc.Mapping.load(tmp_path / "m.map.json")
    assert again.network == net  # the rule (products, traces, epoch, seed, probe) rides along
    a, b = nc.run(mapping, 120), nc.run(again, 120)
    assert np.array_equal(a.traces["inp->out"]["weights"], b.traces["inp->out"]["weights"])


def test_without_rng_seed_the_run_seed_draws_the_rounding(tmp_path):
    # a 2^-2 scale leaves fractions, so the weight stream decides roundings
    text = (Path(__file__).parent.parent / "examples" / "stdp.snn").read_text()
    text = text.replace("A_plus = 1, A_minus = -1", "learning_rate = 0.25, A_plus = 1, A_minus = -1")
    text = text.replace(", rng_seed = 1", "").replace('"data/', f'"{Path(__file__).parent.parent}/examples/data/')
    (tmp_path / "s.snn").write_text(text)
    mapping = nc.compile(nc.load(tmp_path / "s.snn"), chip="loihi")
    w = {seed: nc.run(mapping, 150, seed=seed).traces["inp->out"]["weights"] for seed in (0, 0, 5)}
    again = nc.run(mapping, 150, seed=0).traces["inp->out"]["weights"]
    assert np.array_equal(w[0], again)  # reproducible
    assert not np.array_equal(w[0], w[5])  # and another seed draws otherwise
    assert main_ok(tmp_path)


def main_ok(tmp_path) -> bool:
    from neurocomp.cli import main
    code = main(["run", str(tmp_path / "s.snn"), "--chip", "loihi", "--steps", "40", "--seed", "5",
                 "--out", str(tmp_path / "r")])
    return code == 0 and (tmp_path / "r" / "spikes.npz").is_file()


def test_batch_runs_take_the_seed(tmp_path):
    # 'x0*2^-2' adds 1/4 per pre spike: the weight stream rounds it up or down, so when the
    # weight passes the threshold (and b starts to fire) depends on the seed alone
    steps = 120
    np.save(tmp_path / "w.npy", np.array([[10]]))
    (tmp_path / "s.snn").write_text("""network seeded
input a[1] : spikes(file = "a.npy")
population b[1] : LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 4095, vth_mant = 20, bias_mant = 0, bias_exp = 0)
connect a -> b : dense(weights = "w.npy") native loihi(weights = "w.npy", weight_exp = 0, weight_bits = 8, sign_mode = excitatory) learn rule(dw = "2^-2*x0", x1_tau = 8, x1_impulse = 20, t_epoch = 1)
""")
    np.save(tmp_path / "a.npy", np.ones((steps, 1), dtype=bool))
    rasters = np.ones((2, steps, 1), dtype=np.uint8)
    rasters[1, ::2] = 0  # a second sample: every other step
    np.savez(tmp_path / "in.npz", a=rasters)
    mapping = nc.compile(nc.load(tmp_path / "s.snn"), chip="loihi")
    from neurocomp.cli import main

    fired = {}
    for seed in (3, 8):
        assert main(["run", str(tmp_path / "s.snn"), "--chip", "loihi", "--steps", str(steps), "--inputs",
                     str(tmp_path / "in.npz"), "--batch", "2", "--seed", str(seed), "--trace",
                     "--out", str(tmp_path / f"r{seed}")]) == 0
        fired[seed] = np.load(tmp_path / f"r{seed}" / "counters.npz")["spikes_out"]
        for k in range(2):  # each sample as a single run with that seed gives
            alone = nc.run(mapping, steps, inputs={"a": rasters[k].astype(bool)}, seed=seed)
            assert np.array_equal(fired[seed][k], alone.counters.spikes_out)
    assert not np.array_equal(fired[3], fired[8])


@pytest.mark.parametrize("r_conn", [0.0, 0.5, 37 / 128, 37 / 128 - 1e-12, 127 / 128, 0.999999])
@pytest.mark.parametrize("dense", [True, False])
def test_table_path_rounds_as_the_generic_path(r_conn, dense):
    # '2^-7*x0*y1' adds y1/128: post j (y1 = j) leaves the fraction j/128 in acc, so every
    # fraction meets the weight stream's r_conn, on its boundary too (r_conn = 37/128); a
    # second product (post spikes) adds 3*x1*2^-3 on top, clipped at the excitatory top;
    # pre 3's trace is 0, so its row adds nothing (the table path skips it)
    dep, mant, exp = np.array([0, 1]), np.array([1, 3]), np.array([-7, -3])
    fac_var = np.array([[lrn.FACTOR_CODES["y1"]], [lrn.FACTOR_CODES["x1"]]])
    fac_const, fac_sgn = np.zeros((2, 1), dtype=np.int64), np.zeros((2, 1), dtype=bool)
    fast = lrn.rule_tables(dep, mant, exp, fac_var, fac_const, fac_sgn)
    assert fast[0]
    n_pre, n_post = 4, 128
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    syn_pre, syn_post = pre.ravel().astype(np.int64), post.ravel().astype(np.int64)
    w0 = np.random.default_rng(5).integers(0, 256, syn_pre.size).astype(np.int64)
    out = []
    for table in (fast, (False, *fast[1:])):
        w = w0.astype(np.int16)
        x = np.array([[0, 90, 127, 0], [0, 0, 0, 0]], dtype=np.int64)
        y = np.stack([np.arange(n_post), np.zeros(n_post), np.zeros(n_post)]).astype(np.int64)
        tx = np.array([1, 0, 0, 0], dtype=np.int64)  # pre 0 fired
        ty = np.zeros(n_post, dtype=np.int64)
        ty[::5] = 1  # and every fifth post
        keep = np.zeros(1, dtype=np.int64)
        lrn.learn_epoch(syn_pre, syn_post, lrn._ptr(syn_pre, n_pre), lrn._ptr(syn_post, n_post),
                        np.argsort(syn_post, kind="stable").astype(np.int64), w, x, y, tx, ty, 1, False,
                        np.ones(2), np.ones(3), np.ones(2, bool), np.ones(3, bool), np.zeros(2, np.int64),
                        np.zeros(2, np.int64), np.zeros(3, np.int64), np.zeros(3, np.int64), 0.0, 0, 0.0, 0,
                        r_conn, dep, mant, exp, fac_var, fac_const, fac_sgn, lrn.FACTOR_WIDTH, 1, 0, 255,
                        np.zeros(n_post, dtype=np.int64), keep, *table, dense, lrn.new_lag(n_pre, n_post, 1, 0))
        out.append((w, keep[0]))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert out[0][1] == out[1][1] == n_post + 3 * 26  # pre 0's row, and the 26 posts' other synapses
    np.testing.assert_array_equal(out[0][0][3 * n_post:], w0[3 * n_post:])  # pre 3's row unchanged
    # by hand, pre 0's synapse onto post 37: w + 37/128 rounded up iff r_conn < 37/128
    assert out[0][0][37] == min(w0[37] + (1 if r_conn < 37 / 128 else 0), 255)


def test_two_plastic_projections_learn_as_each_alone(tmp_path):
    # two plastic projections run in one fused loop (one alone: a loop over one projection):
    # two disjoint halves must each learn what they learn alone
    steps = 60
    rng = np.random.default_rng(11)
    for name in ("a", "c"):
        np.save(tmp_path / f"{name}.npy", rng.random((steps, 4)) < 0.3)
    np.save(tmp_path / "w.npy", rng.integers(20, 120, (3, 4)))
    native = 'native loihi(weights = "w.npy", weight_exp = 0, weight_bits = 8, sign_mode = excitatory)'
    rule = ('learn stdp(learning_rate = 0.25, A_plus = 2, A_minus = -1, tau_plus = 6, tau_minus = 4, '
            't_epoch = 2)')
    lif = 'LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 3000, vth_mant = 60, bias_mant = 0, bias_exp = 0)'

    def half(pre, post):
        return (f'input {pre}[4] : spikes(file = "{pre}.npy")\npopulation {post}[3] : {lif}\n'
                f'connect {pre} -> {post} : dense(weights = "w.npy") {native} {rule}\n'
                f'probe {pre} -> {post} : weights\n')

    (tmp_path / "both.snn").write_text("network both\n" + half("a", "b") + half("c", "d"))
    (tmp_path / "one.snn").write_text("network one\n" + half("c", "d"))
    both_map = nc.compile(nc.load(tmp_path / "both.snn"), chip="loihi")
    both = nc.run(both_map, steps, seed=4)
    one = nc.run(nc.compile(nc.load(tmp_path / "one.snn"), chip="loihi"), steps, seed=4)
    w = both.traces["c->d"]["weights"]
    assert not np.array_equal(w[0], w[-1])  # it learned
    np.testing.assert_array_equal(w, one.traces["c->d"]["weights"])
    assert both.spikes["d"].times.tolist() == one.spikes["d"].times.tolist()
    # with progress, the loop runs in pieces (stopping and resuming between steps): reported
    # as it goes, and the same run to the bit
    seen = []
    pieces = nc.run(both_map, steps, seed=4, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) > 2 and seen[-1] == (steps, steps) and seen == sorted(seen)
    for proj in ("a->b", "c->d"):
        np.testing.assert_array_equal(pieces.traces[proj]["weights"], both.traces[proj]["weights"])
        np.testing.assert_array_equal(pieces.traces[proj]["x1"], both.traces[proj]["x1"])
    assert pieces.spikes["b"].times.tolist() == both.spikes["b"].times.tolist()


def test_plastic_delivery_straight_rows_equal_numpy():
    # deliver_plastic's one-loop-per-row path (acc rows consecutive, no delays) against
    # numpy's np.add.at, and _straight telling that layout from others
    rng = np.random.default_rng(5)
    n_pre, n_post = 7, 13
    pre_ptr = np.arange(n_pre + 1, dtype=np.int64) * n_post
    row = np.tile(np.arange(n_post, dtype=np.int64) + 3, n_pre)  # each pre row: acc rows 3..15
    delay = np.zeros(n_pre * n_post, dtype=np.int64)
    assert lrn._straight(row, delay, pre_ptr)
    assert not lrn._straight(row[::-1].copy(), delay, pre_ptr)
    assert not lrn._straight(row, np.ones_like(delay), pre_ptr)
    w = rng.integers(-256, 256, n_pre * n_post).astype(np.int16)
    fired = np.array([0, 4, 6], dtype=np.int64)
    for straight in (True, False):
        acc = np.zeros((2, 20), dtype=np.int32)
        lrn.deliver_plastic(fired, pre_ptr, row, delay, w, acc, 4, 2, straight)
        want = np.zeros(20, dtype=np.int64)
        for i in fired:
            np.add.at(want, row[i * n_post:(i + 1) * n_post], w[i * n_post:(i + 1) * n_post])
        np.testing.assert_array_equal(acc[1], want)  # step 4 + 1 -> slot 1
        assert not acc[0].any()


@pytest.mark.parametrize("epoch, mode, n_log, scale", [(1, "excitatory", 64, "2^-1"), (1, "excitatory", 3, "1"),
                                                       (3, "mixed", 2, "2^-1"), (4, "excitatory", 64, "1"),
                                                       (2, "mixed", 3, "1")])
def test_waiting_post_side_learns_as_the_eager_one(tmp_path, monkeypatch, epoch, mode, n_log, scale):
    # Unprobed, pairwise STDP's post-side updates wait in the lag log until their row is
    # read (its delivery, a full log, the end of a piece of the run). A probed run reads
    # the weights every step, so it applies them at once (the path the Lava twin checks):
    # both runs must end with the same weights and spikes, with or without progress pieces.
    # (A scale of 1 makes every post-side step a whole weight unit: catch_up's short form.)
    monkeypatch.setattr(lrn, "LAG_EPOCHS", n_log)
    steps, n_pre, n_post = 150, 40, 30
    rng = np.random.default_rng(epoch * 10 + n_log)
    np.save(tmp_path / "in.npy", rng.random((steps, n_pre)) < 0.15)
    w = rng.integers(1, 60, (n_post, n_pre)) * 2
    if mode == "mixed":
        w[rng.random(w.shape) < 0.3] *= -1
    np.save(tmp_path / "w.npy", w)
    rule = (f'learn rule(dw = "{scale}*y0*x1 - 2^-2*x0*y1", x1_tau = 6, x1_impulse = 40.5, y1_tau = 5, '
            f'y1_impulse = 30, t_epoch = {epoch}, rng_seed = 3)')
    net = f"""network lag
input a[{n_pre}] : spikes(file = "in.npy")
population b[{n_post}] : LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 3000, vth_mant = 40, bias_mant = 0, bias_exp = 0)
connect a -> b : dense(weights = "w.npy") native loihi(weights = "w.npy", weight_exp = 0, weight_bits = 8, sign_mode = {mode}) {rule}
"""
    (tmp_path / "lazy.snn").write_text(net)
    (tmp_path / "eager.snn").write_text(net + "probe a -> b : weights\n")
    lazy_map = nc.compile(nc.load(tmp_path / "lazy.snn"), chip="loihi")
    assert [pt.lazy_prod for pt in prepare(lazy_map).plastic] == [0]  # the rule's y0 product waits
    eager = nc.run(nc.compile(nc.load(tmp_path / "eager.snn"), chip="loihi"), steps)
    lazy = nc.run(lazy_map, steps)
    pieces = nc.run(lazy_map, steps, progress=lambda done, total: None)
    assert eager.spikes["b"].times.size > 20
    w_end = eager.traces["a->b"]["final_weights"]
    w_seen = eager.traces["a->b"]["weights"]
    assert np.count_nonzero(w_seen[-1] != w_seen[0]) > n_pre * n_post // 4  # it learned
    for run in (lazy, pieces):
        np.testing.assert_array_equal(run.traces["a->b"]["final_weights"], w_end)
        assert run.spikes["b"].times.tolist() == eager.spikes["b"].times.tolist()
        assert run.spikes["b"].indices.tolist() == eager.spikes["b"].indices.tolist()


def test_plastic_only_sources_leave_the_routing_and_stay_counted(tmp_path):
    # the engine delivers plastic synapses itself: a source whose synapses are all plastic
    # gets an empty range in the routing (a source with a static projection too keeps
    # its own), and the synaptic operations, counted from the routes, are those of the
    # same network without learning (input spikes x fan-out, whatever the weights)
    from neurocomp.emulator.kernels.routing import SYN_HI, SYN_LO
    steps = 40
    rng = np.random.default_rng(4)
    np.save(tmp_path / "a.npy", rng.random((steps, 6)) < 0.3)
    np.save(tmp_path / "c.npy", rng.random((steps, 5)) < 0.3)
    np.save(tmp_path / "w.npy", rng.integers(2, 60, (4, 6)) * 2)
    np.save(tmp_path / "v.npy", rng.integers(2, 60, (4, 5)) * 2)
    lif = 'LIF(tau_mem = 10 ms, threshold = 1) native loihi(du = 4095, dv = 3000, vth_mant = 30, bias_mant = 0, bias_exp = 0)'
    rule = 'learn stdp(A_plus = 2, A_minus = -1, tau_plus = 6, tau_minus = 4, t_epoch = 1)'

    def net(learn):
        return (f'network n\ninput a[6] : spikes(file = "a.npy")\ninput c[5] : spikes(file = "c.npy")\n'
                f'population b[4] : {lif}\npopulation d[4] : {lif}\n'
                f'connect a -> b : dense(weights = "w.npy") {learn}\n'
                f'connect c -> b : dense(weights = "v.npy") {learn}\n'
                f'connect c -> d : dense(weights = "v.npy")\n')

    (tmp_path / "p.snn").write_text(net(rule))
    (tmp_path / "s.snn").write_text(net(""))
    plastic, static = (nc.compile(nc.load(tmp_path / f"{k}.snn"), chip="loihi") for k in "ps")
    rt = prepare(plastic).routing
    n_comp = plastic.n_comp
    a0, c0 = n_comp + int(plastic.input_offset["a"]), n_comp + int(plastic.input_offset["c"])
    assert np.all(rt.src[a0:a0 + 6, SYN_HI] == rt.src[a0:a0 + 6, SYN_LO])
    assert np.all(rt.src[c0:c0 + 5, SYN_HI] - rt.src[c0:c0 + 5, SYN_LO] == 8)  # 4 plastic (zeroed) + 4 static
    p, s = nc.run(plastic, steps), nc.run(static, steps)
    assert p.counters.synops.sum() == s.counters.synops.sum() > 0
    np.testing.assert_array_equal(p.counters.synops, s.counters.synops)
    # c's static synapses still arrive (d hears only them, in both networks)
    assert p.spikes["d"].times.size > 0
    assert p.spikes["d"].times.tolist() == s.spikes["d"].times.tolist()
