"""Build a Network in Python, with numpy arrays: the same frozen Network the DSL builds.

One call per DSL statement, with the DSL's names (``docs/dsl.md``); times carry their
unit in the argument name (``tau_mem_ms``, ``delay_ms``, ``max_rate_hz``)::

    import numpy as np
    import neurocomp as nc

    net = nc.NetworkBuilder("chain", dt_ms=1.0)
    net.input("stim", 1, "spikes", times=[1, 2, 3], indices=[0, 0, 0])
    net.population("a", 1, "LIF", beta=0.5, threshold=1.0)
    net.connect("stim", "a", "dense", weights=np.array([[0.75]]), delay_ms=2)
    net.probe("a", "spikes", "voltage")
    network = net.build()          # a neurocomp.Network: compile, run, simulate, write_snn

Every array is copied and gets a file name (``<network>_data/<owner>.<argument>.npy``)
so :func:`neurocomp.ir.write.write_snn` writes it beside the `.snn` text. A mistake
raises one :class:`~neurocomp.diagnostics.UsageError` at the call, naming the population
or projection and the argument.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import numpy as np

from ..diagnostics import UsageError, did_you_mean
from . import connectors as cn
from . import encoders as en
from .network import PROBE_VARIABLES, Network, NeuronModel, Population, Probe, Projection
from .values import ArrayValue, Distribution

__all__ = ["NetworkBuilder"]

_MODELS = {"LIF": "lif", "IF": "if", "LI": "li"}
_NEURON_ARGS = {
    "LIF": ("tau_mem_ms", "beta", "tau_syn_ms", "alpha", "threshold", "bias", "reset", "refractory_ms"),
    "IF": ("tau_syn_ms", "alpha", "threshold", "bias", "reset", "refractory_ms"),
    "LI": ("tau_mem_ms", "beta", "tau_syn_ms", "alpha", "bias"),
}
_ENCODER_ARGS = {
    "spikes": ("times", "indices"),
    "rate": ("value", "max_rate_hz", "seed"),
    "latency": ("value", "tau_ms", "threshold"),
    "delta": ("signal", "threshold"),
    "events": ("x", "y", "t_us", "p"),
    "current": ("value",),
    "frames": ("values",),
}
_CONNECTOR_ARGS = {
    "dense": ("weights",),
    "sparse": ("matrix", "pre", "post", "weights"),
    "one_to_one": ("weight",),
    "all_to_all": ("weight", "allow_self"),
    "random": ("p", "weight", "seed", "allow_self"),
    "conv2d": ("kernel", "stride", "padding"),
    "sum_pool": ("size", "stride"),
    "avg_pool": ("size", "stride"),
    "max_pool": ("size", "stride"),
}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "x"


class NetworkBuilder:
    """Collects populations, inputs, projections and probes; :meth:`build` returns the
    frozen :class:`~neurocomp.ir.network.Network`.

    Parameters
    ----------
    name
        The network's name (also the folder its arrays are written to: ``<name>_data/``).
    dt_ms
        The time step in milliseconds; ``*_ms`` arguments are converted with it.
    """

    def __init__(self, name: str, *, dt_ms: float = 1.0) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
            raise UsageError(f"network name {name!r} is not a name", hint="use letters, digits and _")
        if not (isinstance(dt_ms, (int, float)) and dt_ms > 0):
            raise UsageError(f"network '{name}': 'dt_ms' must be a positive number, got {dt_ms!r}")
        self.name = name
        self.dt_ms = float(dt_ms)
        self._pops: dict[str, Population] = {}
        self._projs: list[Projection] = []
        self._probes: list[Probe] = []

    # -- values -----------------------------------------------------------------------
    def _array(self, where: str, owner: str, key: str, value: Any, *, size: int | None = None,
               ndim: int | None = None) -> ArrayValue:
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise UsageError(f"{where}: '{key}' must be numbers, got {type(value).__name__}") from None
        if not np.all(np.isfinite(arr)):
            raise UsageError(f"{where}: '{key}' holds NaN or infinite values")
        if size is not None and arr.size != size:
            raise UsageError(f"{where}: '{key}' has {arr.size} values (shape {list(arr.shape)}), "
                             f"the population has {size} neurons")
        if ndim is not None and arr.ndim != ndim:
            raise UsageError(f"{where}: '{key}' has shape {list(arr.shape)}, expected {ndim} dimensions")
        return ArrayValue(arr, f"{self.name}_data/{_safe(owner)}.{key}.npy")

    def _value(self, where: str, owner: str, key: str, value: Any, size: int) -> float | ArrayValue:
        """A scalar, or one value per neuron."""
        if np.ndim(value) == 0:
            return self._number(where, key, value)
        return self._array(where, owner, key, value, size=size)

    @staticmethod
    def _number(where: str, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(value)):
            raise UsageError(f"{where}: '{key}' must be a finite number, got {value!r}")
        return float(value)

    def _steps(self, where: str, key: str, value: Any) -> int:
        x = self._number(where, key, value) / self.dt_ms
        if abs(x - round(x)) > 1e-9:
            raise UsageError(f"{where}: '{key}' is {x:g} steps, not a whole number of steps "
                             f"(dt = {self.dt_ms:g} ms)")
        if round(x) < 0:
            raise UsageError(f"{where}: '{key}' must not be negative, got {value!r}")
        return int(round(x))

    def _shape(self, where: str, shape: Any) -> tuple[int, ...]:
        dims = (shape,) if np.ndim(shape) == 0 else tuple(shape)
        if not dims or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                               for d in dims):
            raise UsageError(f"{where}: the shape must be positive whole numbers, got {shape!r}",
                             hint="e.g. 10 or (2, 28, 28)")
        return tuple(int(d) for d in dims)

    def _declare(self, kind: str, name: Any) -> str:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UsageError(f"{kind} name {name!r} is not a name", hint="use letters, digits and _")
        if name in self._pops:
            raise UsageError(f"{kind} '{name}' is defined twice")
        return name

    @staticmethod
    def _check_args(where: str, what: str, kind: str, table: dict[str, tuple[str, ...]],
                    args: dict[str, Any]) -> tuple[str, ...]:
        if kind not in table:
            raise UsageError(f"{where}: unknown {what} {kind!r}", hint=did_you_mean(str(kind), table)
                             or "one of: " + ", ".join(table))
        allowed = table[kind]
        for key in args:
            if key not in allowed:
                raise UsageError(f"{where}: {kind} takes no argument '{key}'",
                                 hint=did_you_mean(key, allowed) or "it takes: " + ", ".join(allowed))
        return allowed

    # -- statements ---------------------------------------------------------------------
    def population(self, name: str, shape: Any, model: str = "LIF", /, **params: Any) -> str:
        """``population NAME[shape] : MODEL(...)``: ``model`` is ``"LIF"``, ``"IF"`` or
        ``"LI"``; ``params`` are ``tau_mem_ms`` or ``beta``, ``tau_syn_ms`` or ``alpha``,
        ``threshold``, ``bias``, ``reset`` (``"zero"``, ``"subtract"``, ``"none"``),
        ``refractory_ms``. ``beta``, ``alpha``, ``threshold`` and ``bias`` take a number or
        one value per neuron. Returns ``name``."""
        self._declare("population", name)
        where = f"population '{name}'"
        shape = self._shape(where, shape)
        self._check_args(where, "neuron model", model, _NEURON_ARGS, params)
        n = math.prod(shape)

        def decay(tau_key: str, decay_key: str, default: float | None) -> float | ArrayValue:
            if tau_key in params and decay_key in params:
                raise UsageError(f"{where}: give '{tau_key}' or '{decay_key}', not both")
            if tau_key in params:
                tau = self._number(where, tau_key, params[tau_key])
                if tau <= 0:
                    raise UsageError(f"{where}: '{tau_key}' must be positive, got {tau:g}")
                return math.exp(-1.0 / (tau / self.dt_ms))  # as the DSL: tau in steps first
            if decay_key in params:
                value = self._value(where, name, decay_key, params[decay_key], n)
                values = value.values if isinstance(value, ArrayValue) else np.asarray(value)
                if np.any(values < 0) or np.any(values > 1):
                    raise UsageError(f"{where}: '{decay_key}' is a decay per step and must be in [0, 1]")
                return value
            if default is None:
                raise UsageError(f"{where}: {model} needs '{tau_key}' or '{decay_key}'",
                                 hint=f"e.g. population(..., {model!r}, {tau_key}=20.0)")
            return default

        beta = 1.0 if model == "IF" else decay("tau_mem_ms", "beta", None)
        alpha = decay("tau_syn_ms", "alpha", 0.0)
        reset = params.get("reset", "zero")
        if reset not in ("zero", "subtract", "none"):
            raise UsageError(f"{where}: 'reset' must be 'zero', 'subtract' or 'none', got {reset!r}")
        neuron = NeuronModel(
            family=_MODELS[model], alpha=alpha, beta=beta,  # type: ignore[arg-type]
            threshold=self._value(where, name, "threshold", params.get("threshold", 1.0), n),
            bias=self._value(where, name, "bias", params.get("bias", 0.0), n), reset=reset,
            refractory_steps=self._steps(where, "refractory_ms", params.get("refractory_ms", 0)))
        self._pops[name] = Population(name=name, shape=shape, neuron=neuron)
        return name

    def input(self, name: str, shape: Any, encoder: str, /, **params: Any) -> str:
        """``input NAME[shape] : ENCODER(...)``, with numpy arrays instead of files:

        - ``"spikes"``: ``times`` (steps) and ``indices`` (flat neuron index), one per spike;
        - ``"rate"``: ``value`` (number or per neuron, in [0, 1]), ``max_rate_hz``, ``seed``;
        - ``"latency"``: ``value``, ``tau_ms``, ``threshold``;
        - ``"delta"``: ``signal`` (``[steps, N...]``, shape ``[2, N...]``), ``threshold``;
        - ``"events"``: ``x``, ``y``, ``t_us``, ``p`` (shape ``[2, H, W]``);
        - ``"current"``: ``value``.

        Returns ``name``."""
        self._declare("input", name)
        where = f"input '{name}'"
        shape = self._shape(where, shape)
        self._check_args(where, "input encoder", encoder, _ENCODER_ARGS, params)
        n = math.prod(shape)
        enc = _ENCODERS[encoder](self, where, name, shape, n, params)
        self._pops[name] = Population(name=name, shape=shape, encoder=enc)
        return name

    def connect(self, pre: str, post: str, connector: str, /, *, name: str | None = None,
                delay_ms: Any = 0, **params: Any) -> str:
        """``connect PRE -> POST : CONNECTOR(...)``. Connectors and their arguments:

        - ``"dense"``: ``weights`` ``[post.size, pre.size]``;
        - ``"sparse"``: ``matrix`` (a scipy sparse ``[post, pre]`` matrix) or ``pre``,
          ``post``, ``weights`` (flat indices, one entry per synapse);
        - ``"one_to_one"``: ``weight`` (number or one per neuron);
        - ``"all_to_all"``: ``weight``, ``allow_self``;
        - ``"random"``: ``p``, ``weight`` (number, ``("normal", mean, std)`` or
          ``("uniform", low, high)``), ``seed``, ``allow_self``;
        - ``"conv2d"``: ``kernel`` ``[C_out, C_in, kH, kW]``, ``stride``, ``padding``;
        - ``"sum_pool"``, ``"avg_pool"``, ``"max_pool"`` (Akida only): ``size``, ``stride``.

        ``delay_ms`` is one delay, or an array laid out like the synapses (as in the DSL).
        Returns the projection's name (``name``, or ``"pre->post"``)."""
        label = name if name is not None else f"{pre}->{post}"
        taken = {p.name for p in self._projs}
        if name is not None and name in taken:
            raise UsageError(f"projection '{name}' is defined twice")
        base, k = label, 1
        while label in taken:
            k += 1
            label = f"{base}#{k}"
        where = f"projection '{label}'"
        ends = []
        for end in (pre, post):
            if end not in self._pops:
                raise UsageError(f"{where}: unknown population {end!r}",
                                 hint=did_you_mean(str(end), self._pops) or "declare it first")
            ends.append(self._pops[end])
        if ends[1].is_input:
            raise UsageError(f"{where}: '{post}' is an input and cannot receive a projection")
        self._check_args(where, "connector", connector, _CONNECTOR_ARGS, params)
        conn, delays = _CONNECTORS[connector](self, where, label, ends[0], ends[1], params)
        problem = conn.check_shapes(ends[0].shape, ends[1].shape)
        if problem:
            # the connectors name the file an array came from; here the user gave the array
            problem = re.sub(r" in '[^']*'", "", problem)
            problem = re.sub(r"'[^']*\.npz'", "the synapse list", problem)
            raise UsageError(f"{where}: {problem}", hint=f"'{pre}' has shape {list(ends[0].shape)}, "
                                                         f"'{post}' has shape {list(ends[1].shape)}")
        if delays is not None:
            if np.any(np.asarray(delay_ms) != 0):
                raise UsageError(f"{where}: the sparse synapses carry delays; do not give 'delay_ms' too")
            delay: int | ArrayValue = delays
        elif np.ndim(delay_ms) == 0:
            delay = self._steps(where, "delay_ms", delay_ms)
        else:
            delay = self._delay_array(where, label, conn, ends[0], ends[1], delay_ms)
        self._projs.append(Projection(name=label, pre=pre, post=post, connector=conn, delay_steps=delay))
        return label

    def _delay_array(self, where: str, label: str, conn: Any, pre: Population, post: Population,
                     delay_ms: Any) -> ArrayValue:
        layouts: dict[type, Callable[[Any], tuple[int, ...]]] = {
            cn.Dense: lambda c: tuple(c.weights.values.shape),
            cn.AllToAll: lambda c: (post.size, pre.size),
            cn.OneToOne: lambda c: (pre.size,),
            cn.Conv2d: lambda c: tuple(c.kernel.values.shape),
            cn.Sparse: lambda c: (len(c.pre),)}
        if type(conn) not in layouts:
            raise UsageError(f"{where}: an array of delays needs a fixed synapse layout; this "
                             f"connector has none", hint="give one delay for all synapses")
        arr = self._array(where, label, "delay", delay_ms)
        steps = arr.values / self.dt_ms
        if np.any(steps < 0) or not np.all(np.abs(steps - np.round(steps)) <= 1e-9):
            raise UsageError(f"{where}: 'delay_ms' must be whole steps >= 0 (dt = {self.dt_ms:g} ms)")
        want = layouts[type(conn)](conn)
        if arr.values.shape != want and not (len(want) == 1 and arr.values.size == want[0]):
            raise UsageError(f"{where}: 'delay_ms' has shape {list(arr.values.shape)}, the synapses "
                             f"need {list(want)}, one per synapse in the weights' layout")
        return ArrayValue(np.round(steps), arr.path)

    def probe(self, population: str, /, *variables: str) -> None:
        """``probe NAME : VARIABLES``: record ``"spikes"``, ``"voltage"``, ``"current"``
        (only spikes for an input)."""
        where = f"probe of '{population}'"
        pop = self._pops.get(population)
        if pop is None:
            raise UsageError(f"{where}: unknown population {population!r}",
                             hint=did_you_mean(str(population), self._pops))
        variables = variables or ("spikes",)
        for v in variables:
            if v not in PROBE_VARIABLES:
                raise UsageError(f"{where}: cannot probe {v!r}", hint=did_you_mean(str(v), PROBE_VARIABLES))
        if len(set(variables)) != len(variables):
            raise UsageError(f"{where}: a variable is listed twice")
        if pop.is_input and set(variables) - {"spikes"}:
            raise UsageError(f"{where}: '{population}' is an input: only its spikes can be probed")
        if any(p.population == population for p in self._probes):
            raise UsageError(f"{where}: '{population}' is probed twice",
                             hint="list all its variables in one probe")
        self._probes.append(Probe(population=population, variables=tuple(variables)))

    def build(self) -> Network:
        """The frozen Network (the builder can go on; each build is a new Network)."""
        return Network(name=self.name, dt_ms=self.dt_ms, populations=dict(self._pops),
                       projections=tuple(self._projs), probes=tuple(self._probes))


# ---------------------------------------------------------------------------------------
# Encoders: (builder, where, name, shape, n, params) -> Encoder

def _int_array(where: str, key: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.dtype.kind not in "iuf" and arr.size:
        raise UsageError(f"{where}: '{key}' must be a 1-D array of whole numbers")
    if arr.size and not np.all(arr == np.round(arr)):
        raise UsageError(f"{where}: '{key}' must hold whole numbers")
    return arr.astype(np.int64)


def _need(where: str, params: dict, key: str) -> Any:
    if key not in params:
        raise UsageError(f"{where}: '{key}' is missing")
    return params[key]


def _spikes(b: NetworkBuilder, where: str, name: str, shape: tuple, n: int, params: dict) -> en.SpikeFile:
    times = _int_array(where, "times", _need(where, params, "times"))
    indices = _int_array(where, "indices", _need(where, params, "indices"))
    if times.shape != indices.shape:
        raise UsageError(f"{where}: 'times' and 'indices' must have one length "
                         f"({len(times)} != {len(indices)})")
    if len(times) and times.min() < 0:
        raise UsageError(f"{where}: a spike at step {int(times.min())}; steps start at 0")
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        raise UsageError(f"{where}: neuron index out of range; the input has {n} neurons "
                         f"(indices 0..{n - 1})")
    return en.SpikeFile(times=times, indices=indices, path=f"{b.name}_data/{_safe(name)}.spikes.npz")


def _rate(b: NetworkBuilder, where: str, name: str, shape: tuple, n: int, params: dict) -> en.RateCode:
    max_rate = b._number(where, "max_rate_hz", params.get("max_rate_hz", 1e3 / b.dt_ms))
    if max_rate < 0:
        raise UsageError(f"{where}: 'max_rate_hz' must not be negative")
    seed = params.get("seed", 0)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise UsageError(f"{where}: 'seed' must be a whole number, got {seed!r}")
    return en.RateCode(value=b._value(where, name, "value", params.get("value", 1.0), n),
                       max_rate_hz=max_rate, seed=int(seed))


def _latency(b: NetworkBuilder, where: str, name: str, shape: tuple, n: int, params: dict) -> en.LatencyCode:
    value = b._value(where, name, "value", _need(where, params, "value"), n)
    tau = b._number(where, "tau_ms", _need(where, params, "tau_ms"))
    if tau <= 0:
        raise UsageError(f"{where}: 'tau_ms' must be positive")
    threshold = b._number(where, "threshold", params.get("threshold", 0.0))
    if threshold < 0:
        raise UsageError(f"{where}: 'threshold' must not be negative")
    return en.LatencyCode(value=value, tau_steps=tau / b.dt_ms, threshold=threshold)


def _delta(b: NetworkBuilder, where: str, name: str, shape: tuple, n: int, params: dict) -> en.DeltaCode:
    if shape[0] != 2 or len(shape) < 2:
        raise UsageError(f"{where}: a delta input has shape [2, N...] (ON and OFF channels), "
                         f"got {list(shape)}")
    signal = b._array(where, name, "signal", _need(where, params, "signal"))
    got = signal.values.shape
    if signal.values.ndim < 2 or math.prod(got[1:]) != math.prod(shape[1:]):
        raise UsageError(f"{where}: 'signal' has shape {list(got)}, expected "
                         f"[steps, {', '.join(map(str, shape[1:]))}]")
    threshold = b._number(where, "threshold", _need(where, params, "threshold"))
    if threshold < 0:
        raise UsageError(f"{where}: 'threshold' must not be negative")
    return en.DeltaCode(signal=signal, threshold=threshold)


def _events(b: NetworkBuilder, where: str, name: str, shape: tuple, n: int, params: dict) -> en.EventStream:
    if len(shape) != 3 or shape[0] != 2:
        raise UsageError(f"{where}: an event-camera input has shape [2, height, width], got {list(shape)}")
    x, y, t, p = (_int_array(where, k, _need(where, params, k)) for k in ("x", "y", "t_us", "p"))
    if not len(x) == len(y) == len(t) == len(p):
        raise UsageError(f"{where}: 'x', 'y', 't_us' and 'p' must have one length")
    _, h, w = shape
    if len(x) and (x.min() < 0 or x.max() >= w or y.min() < 0 or y.max() >= h):
        raise UsageError(f"{where}: events outside the {w} x {h} sensor")
    if len(t) and t.min() < 0:
        raise UsageError(f"{where}: an event at a negative time")
    if len(p) and not np.all(np.isin(p, (-1, 0, 1))):
        raise UsageError(f"{where}: polarities other than 0/1 (or -1/1)")
    return en.EventStream(x=x, y=y, t_us=t, p=p, path=f"{b.name}_data/{_safe(name)}.events.npz")


def _current(b: NetworkBuilder, where: str, name: str, shape: tuple, n: int, params: dict) -> en.ConstantCurrent:
    return en.ConstantCurrent(value=b._value(where, name, "value", _need(where, params, "value"), n))


def _frames(b: NetworkBuilder, where: str, name: str, shape: tuple, n: int, params: dict) -> en.GradedFrames:
    values = b._array(where, name, "values", _need(where, params, "values"))
    got = values.values.shape
    if values.values.ndim < 2 or math.prod(got[1:]) != math.prod(shape):
        raise UsageError(f"{where}: 'values' has shape {list(got)}, expected [frames, {', '.join(map(str, shape))}]")
    return en.GradedFrames(values=values)


_ENCODERS = {"spikes": _spikes, "rate": _rate, "latency": _latency, "delta": _delta,
             "events": _events, "current": _current, "frames": _frames}


# ---------------------------------------------------------------------------------------
# Connectors: (builder, where, label, pre, post, params) -> (Connector, delays of a sparse one)

def _pair(where: str, key: str, value: Any, minimum: int) -> tuple[int, int]:
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and v >= minimum for v in pair):
        raise UsageError(f"{where}: '{key}' must be a whole number >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _flag(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{where}: '{key}' must be True or False, got {value!r}")
    return value


def _dense(b, where, label, pre, post, params):
    return cn.Dense(weights=b._array(where, label, "weights", _need(where, params, "weights"), ndim=2)), None


def _sparse(b, where, label, pre, post, params):
    if "matrix" in params:
        if {"pre", "post", "weights"} & params.keys():
            raise UsageError(f"{where}: give 'matrix' or 'pre', 'post', 'weights', not both")
        m = params["matrix"]
        if not hasattr(m, "tocoo"):
            raise UsageError(f"{where}: 'matrix' must be a scipy sparse matrix, got {type(m).__name__}")
        if tuple(m.shape) != (post.size, pre.size):
            raise UsageError(f"{where}: 'matrix' has shape {list(m.shape)}, needs [post, pre] = "
                             f"[{post.size}, {pre.size}]")
        coo = m.tocoo()
        post_i, pre_i, w = coo.row, coo.col, coo.data
    else:
        pre_i, post_i, w = (_need(where, params, k) for k in ("pre", "post", "weights"))
    pre_i = _int_array(where, "pre", pre_i)
    post_i = _int_array(where, "post", post_i)
    w = b._array(where, label, "weights", w, ndim=1).values
    if not len(pre_i) == len(post_i) == len(w):
        raise UsageError(f"{where}: 'pre', 'post' and 'weights' must have one length")
    if len(pre_i) and (pre_i.min() < 0 or post_i.min() < 0):
        raise UsageError(f"{where}: a negative neuron index")
    return cn.Sparse(pre=pre_i, post=post_i, weights=w,
                     path=f"{b.name}_data/{_safe(label)}.sparse.npz"), None


def _one_to_one(b, where, label, pre, post, params):
    return cn.OneToOne(weight=b._value(where, label, "weight", _need(where, params, "weight"), pre.size)), None


def _all_to_all(b, where, label, pre, post, params):
    return cn.AllToAll(weight=b._number(where, "weight", _need(where, params, "weight")),
                       allow_self=_flag(where, "allow_self", params.get("allow_self", True))), None


def _random(b, where, label, pre, post, params):
    p = b._number(where, "p", _need(where, params, "p"))
    if not 0.0 <= p <= 1.0:
        raise UsageError(f"{where}: 'p' is a probability and must be in [0, 1], got {p:g}")
    weight = _need(where, params, "weight")
    if isinstance(weight, tuple):
        if len(weight) != 3 or weight[0] not in ("normal", "uniform"):
            raise UsageError(f"{where}: 'weight' must be a number, ('normal', mean, std) or "
                             f"('uniform', low, high), got {weight!r}")
        lo, hi = (b._number(where, "weight", x) for x in weight[1:])
        if (weight[0] == "normal" and hi < 0) or (weight[0] == "uniform" and hi < lo):
            raise UsageError(f"{where}: 'weight' {weight!r}: needs std >= 0 / low <= high")
        weight = Distribution(weight[0], lo, hi)
    else:
        weight = b._number(where, "weight", weight)
    seed = params.get("seed", 0)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise UsageError(f"{where}: 'seed' must be a whole number, got {seed!r}")
    return cn.Random(p=p, weight=weight, seed=int(seed),
                     allow_self=_flag(where, "allow_self", params.get("allow_self", True))), None


def _conv2d(b, where, label, pre, post, params):
    kernel = b._array(where, label, "kernel", _need(where, params, "kernel"), ndim=4)
    return cn.Conv2d(kernel=kernel, stride=_pair(where, "stride", params.get("stride", 1), 1),
                     padding=_pair(where, "padding", params.get("padding", 0), 0)), None


def _pool(kind: str):
    def make(b, where, label, pre, post, params):
        size = _pair(where, "size", _need(where, params, "size"), 1)
        return cn.Pool2d(kind=kind, size=size, stride=_pair(where, "stride", params.get("stride", size), 1)), None
    return make


_CONNECTORS = {"dense": _dense, "sparse": _sparse, "one_to_one": _one_to_one,
               "all_to_all": _all_to_all, "random": _random, "conv2d": _conv2d,
               "sum_pool": _pool("sum"), "avg_pool": _pool("avg"), "max_pool": _pool("max")}
