"""The Mapping: the compiler's only product, and the emulator's only input.

It says which neuron sits on which core of which chip, the integers every core stores,
and how every spike is routed. It is complete: the emulator needs nothing else (the
float network rides along only for names and the input encoders).

Vocabulary
----------
compartment
    One neuron slot on a core. Compartments are numbered globally, grouped by core in
    ascending core id; within a core, in the order of ``cores[k].slices``. A compartment
    holds a neuron of a population, or a *relay* (a copy that only forwards spikes, e.g.
    a TrueNorth splitter): ``comp_pop == -1``, ``comp_index`` = the compartment it copies.
source
    Anything that emits spikes: the compartments (source id = compartment id), then the
    neurons of the input populations (source id = ``n_comp + input_offset[pop] + i``).
    Inputs enter the mesh from off-chip (the host); their routes cost no hops.
axon
    An input line of one core (``axon_core``), fed by exactly one source through one
    projection (``axon_projection``); it fans out to that core's compartments through its
    synapses ``axon_syn_ptr[a]:axon_syn_ptr[a+1]``. The distinct axons of a core are what
    its fan-in limit (``axons_in``) counts.
route
    A source's link to one axon: ``route_axon[route_ptr[s]:route_ptr[s+1]]``. The routes of
    a core's compartments are what its fan-out limit (``axons_out``) counts; TrueNorth
    allows one route per compartment.
relay input
    The axon through which a neuron feeds its relays (on its own core). It belongs to no
    projection: ``axon_projection == -1``, weight 1, delay 0.

A spike of source ``s`` at step ``t`` travels every route of ``s``; on arrival at axon
``a`` every synapse ``k`` of ``a`` adds ``syn_weight[k]`` (scaled as the family says, e.g.
``<< axon_weight_exp[a]`` on Loihi) to compartment ``syn_target[k]``'s input of step
``t + 1 + syn_delay[k]``.

All arrays are flat numpy arrays with the dtypes written below; per-compartment neuron
parameters are in ``params`` (keys by family, as in :mod:`neurocomp.ir.quantized`).

On disk (:meth:`Mapping.save`, :meth:`Mapping.load`) a Mapping is a JSON file (format
version, the chip, the network as ``.snn`` text and the folder its file names are
relative to, the cores, names and reports) and, beside it, an ``.npz`` file with every
array (``params.<key>`` for the parameters), written without pickling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping as TMapping

import numpy as np

from .mapping_checks import mapping_problems
from .network import Network
from .quantized import PopulationError, ProjectionError, QuantizationReport


if TYPE_CHECKING:  # pragma: no cover
    from ..chip.spec import ChipSpec

__all__ = ["MAPPING_VERSION", "CoreSlice", "CoreMap", "Mapping", "Utilization", "arrays_path"]

MAPPING_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class CoreSlice:
    """Neurons ``start:stop`` (flat indices) of ``population`` on one core; for relays,
    ``population`` is ``"<relay>"`` and the range counts relay compartments."""

    population: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, kw_only=True)
class CoreMap:
    """One used core: its global id, what it holds, and how much of each resource it uses
    (keys as :meth:`ChipSpec.limits`)."""

    core_id: int
    slices: tuple[CoreSlice, ...]
    comp_start: int
    comp_stop: int
    usage: TMapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, eq=False, kw_only=True)
class Mapping:
    """A network compiled onto a chip system (see the module docstring)."""

    chip: ChipSpec  # the system (chips, profile) it was compiled for
    network: Network
    family: str
    version: int = MAPPING_VERSION
    # cores
    cores: tuple[CoreMap, ...]
    # compartments
    comp_core: np.ndarray  # int32 [n_comp], global core id
    comp_pop: np.ndarray  # int32 [n_comp], index into population_names; -1 for a relay
    comp_index: np.ndarray  # int64 [n_comp], neuron in its population (relay: compartment it copies)
    params: TMapping[str, np.ndarray]  # family keys -> int64 [n_comp] (or [n_comp, k])
    v_scale: np.ndarray  # float64 [n_comp]: v_float ≈ v_int * v_scale
    population_names: tuple[str, ...]  # neuron populations in network order
    # sources and routes
    input_offset: TMapping[str, int]  # input population -> first source id minus n_comp
    route_ptr: np.ndarray  # int64 [n_sources + 1]
    route_axon: np.ndarray  # int64 [n_routes]
    # axons and synapses
    axon_core: np.ndarray  # int32 [n_axons]
    axon_projection: np.ndarray  # int32 [n_axons], index into projection_names
    axon_weight_exp: np.ndarray  # int8 [n_axons]
    axon_type: np.ndarray  # int8 [n_axons] (TrueNorth axon type; 0 elsewhere)
    axon_syn_ptr: np.ndarray  # int64 [n_axons + 1]
    syn_target: np.ndarray  # int32 [n_syn], global compartment
    syn_weight: np.ndarray  # int32 [n_syn]
    syn_delay: np.ndarray  # int16 [n_syn], extra steps (0: arrives at t + 1)
    projection_names: tuple[str, ...]
    quantization: QuantizationReport = field(default_factory=QuantizationReport)
    pass_times_s: TMapping[str, float] = field(default_factory=dict)
    # what the compiler found on the way (partition, placement, relays); JSON-ready
    compile_report: TMapping[str, Any] = field(default_factory=dict)

    @property
    def n_comp(self) -> int:
        return int(self.comp_core.shape[0])

    @property
    def n_sources(self) -> int:
        return int(self.route_ptr.shape[0] - 1)

    @property
    def n_axons(self) -> int:
        return int(self.axon_core.shape[0])

    @property
    def n_synapses(self) -> int:
        return int(self.syn_target.shape[0])

    @property
    def n_routes(self) -> int:
        return int(self.route_axon.shape[0])

    @property
    def n_relays(self) -> int:
        return int(np.count_nonzero(self.comp_pop == -1))

    # ----------------------------------------------------------------- reading it

    def utilization(self) -> "Utilization":
        """Per core and per resource: used against the chip's limit (``chip.limits()``)."""
        limits = dict(self.chip.limits())
        names = tuple(limits)
        used = np.array([[int(core.usage.get(n, 0)) for n in names] for core in self.cores],
                        dtype=np.int64).reshape(len(self.cores), len(names))
        return Utilization(resources=names, limits=tuple(int(limits[n]) for n in names),
                           core_ids=np.array([c.core_id for c in self.cores], dtype=np.int64), used=used)

    def traffic(self) -> dict[str, float]:
        """Routes from compartments (packets if every neuron and relay fired once), the
        links they cross (dimension-order routing) and how many cross chips."""
        n_comp = self.n_comp
        counts = np.diff(self.route_ptr[: n_comp + 1])
        src = np.repeat(np.arange(n_comp, dtype=np.int64), counts)
        dst = self.axon_core[self.route_axon[: int(self.route_ptr[n_comp])]]
        if src.size == 0:
            return {"routes": 0, "hops": 0, "mean_hops": 0.0, "interchip_routes": 0, "leave_core": 0}
        ew, ns, ic = self.chip.hops_array(self.comp_core[src], dst)
        hops = int((ew + ns + ic).sum())
        return {"routes": int(src.size), "hops": hops, "mean_hops": hops / src.size,
                "interchip_routes": int(np.count_nonzero(ic)),
                "leave_core": int(np.count_nonzero(self.comp_core[src] != dst))}

    def describe(self) -> str:
        """The stable text form: totals, then one block per core (slices, usage / limit)."""
        limits = self.chip.limits()
        chips = sorted({int(c.core_id) // self.chip.topology.cores_per_chip for c in self.cores})
        lines = [f"mapping of '{self.network.name}' onto {self.chip.name} ({self.family}): "
                 f"{len(self.cores)} cores on {len(chips)} of {self.chip.n_chips} chip(s)",
                 f"{self.n_comp:,} compartments ({self.n_relays:,} relays), {self.n_sources:,} sources, "
                 f"{self.n_routes:,} routes, {self.n_axons:,} axons, {self.n_synapses:,} synapses"]
        for core in self.cores:
            held = ", ".join(f"{s.population}[{s.start}:{s.stop}]" for s in core.slices)
            pos = self.chip.mesh_position(core.core_id)
            lines.append(f"core {core.core_id} (chip {pos.chip}, tile {pos.x},{pos.y}) "
                         f"compartments {core.comp_start}:{core.comp_stop}: {held}")
            lines.append("    " + ", ".join(f"{k} {int(core.usage.get(k, 0)):,}/{v:,}" for k, v in limits.items()))
        return "\n".join(lines) + "\n"

    def diff(self, other: "Mapping") -> str | None:
        """The first difference from another Mapping, in words (``None`` when equal).

        Arrays, names, cores and the family are compared exactly; the chip by value; the
        network by its structure."""
        for name in _ARRAYS:
            a, b = getattr(self, name), getattr(other, name)
            if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
                return f"{name} differs"
        if set(self.params) != set(other.params):
            return "params keys differ"
        for key in self.params:
            if not np.array_equal(self.params[key], other.params[key]):
                return f"params[{key!r}] differs"
        for name in ("family", "population_names", "projection_names", "cores"):
            if getattr(self, name) != getattr(other, name):
                return f"{name} differs"
        if dict(self.input_offset) != dict(other.input_offset):
            return "input_offset differs"
        if self.chip != other.chip:
            return "chip differs"
        if self.network != other.network:
            return "network differs"
        return None

    def __repr__(self) -> str:
        chips = len({int(c.core_id) // self.chip.topology.cores_per_chip for c in self.cores})
        lines = [f"Mapping({self.network.name!r} on {self.chip.name}, {self.family}: {len(self.cores):,} "
                 f"core{'s' if len(self.cores) != 1 else ''} on {chips} of {self.chip.n_chips} chip(s))",
                 f"  {self.n_comp:,} compartments ({self.n_relays:,} relays), {self.n_axons:,} axons, "
                 f"{self.n_routes:,} routes, {self.n_synapses:,} synapses"]
        full = [(used / limit, name, used, limit, core) for name, used, limit, core in self.utilization().worst()
                if limit]
        if full and self.cores:
            frac, name, used, limit, core = max(full, key=lambda t: t[0])
            lines.append(f"  fullest core: core {core}, {name} {used:,} of {limit:,} ({100.0 * frac:.1f} %)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """For notebooks: the head line and the fullest core of each resource, as a table."""
        from html import escape

        head, *rest = repr(self).split("\n")
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td style=\"text-align:right\">{used:,}</td>"
            f"<td style=\"text-align:right\">{limit:,}</td>"
            f"<td style=\"text-align:right\">{100.0 * used / limit if limit else 0.0:.1f} %</td>"
            f"<td style=\"text-align:right\">{core}</td></tr>"
            for name, used, limit, core in self.utilization().worst())
        return (f"<div><p>{escape(head)}<br>{escape(rest[0].strip())}</p>"
                "<table><thead><tr><th>resource</th><th>used</th><th>limit</th><th>full</th>"
                f"<th>on core</th></tr></thead><tbody>{rows}</tbody></table></div>")

    # ----------------------------------------------------------------- on disk

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``path`` (JSON) and its arrays beside it (``.npz``, no pickles).

        Returns the two paths written. See :func:`arrays_path` for the array file's name.
        Both are written atomically (:mod:`neurocomp.atomic`): when the save fails (a full
        disk, no permission), the previous files stay and an
        :class:`~neurocomp.diagnostics.OutputFileError` says why.
        """
        from .printer import to_snn

        path = Path(path)
        npz = arrays_path(path)
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays.update({f"params.{k}": np.asarray(v) for k, v in self.params.items()})
        doc = {
            "format": _FORMAT,
            "version": self.version,
            "family": self.family,
            "arrays": npz.name,
            "chip": self.chip.model_dump(by_alias=True),
            "network": {"text": to_snn(self.network), "base_dir": str(Path(self.network.base_dir).resolve())},
            "population_names": list(self.population_names),
            "projection_names": list(self.projection_names),
            "input_offset": {k: int(v) for k, v in self.input_offset.items()},
            "params": sorted(self.params),
            "cores": [{"core_id": int(c.core_id), "comp_start": int(c.comp_start), "comp_stop": int(c.comp_stop),
                       "slices": [{"population": s.population, "start": int(s.start), "stop": int(s.stop)}
                                  for s in c.slices],
                       "usage": {k: int(v) for k, v in c.usage.items()}} for c in self.cores],
            "quantization": asdict(self.quantization),
            "pass_times_s": {k: float(v) for k, v in self.pass_times_s.items()},
            "compile_report": _jsonable(self.compile_report),
        }
        from ..atomic import npz_writer, write_files

        # both files to temporaries first, then renamed: a failed save keeps the previous pair
        write_files([(npz, npz_writer(arrays)),
                     (path, lambda fh: fh.write((json.dumps(doc, indent=1) + "\n").encode("utf-8")))])
        return path, npz

    @classmethod
    def load(cls, path: str | Path) -> "Mapping":
        """Read a Mapping written by :meth:`save`.

        Every check (JSON syntax, fields and types, format version, the chip, the
        network text, the arrays' names, dtypes, shapes and index ranges) ends in one
        :class:`~neurocomp.diagnostics.InputFileError` that names the file and lists what
        is wrong, never in a traceback.
        """
        return _load(cls, Path(path))


#: The arrays a Mapping stores, with their dtypes (the order of the .npz file).
_ARRAYS = ("comp_core", "comp_pop", "comp_index", "v_scale", "route_ptr", "route_axon", "axon_core",
           "axon_projection", "axon_weight_exp", "axon_type", "axon_syn_ptr", "syn_target", "syn_weight",
           "syn_delay")
_DTYPES = {"comp_core": np.int32, "comp_pop": np.int32, "comp_index": np.int64, "v_scale": np.float64,
           "route_ptr": np.int64, "route_axon": np.int64, "axon_core": np.int32, "axon_projection": np.int32,
           "axon_weight_exp": np.int8, "axon_type": np.int8, "axon_syn_ptr": np.int64, "syn_target": np.int32,
           "syn_weight": np.int32, "syn_delay": np.int16}
_FORMAT = "neurocomp-mapping"


def arrays_path(path: str | Path) -> Path:
    """The ``.npz`` beside a Mapping's JSON: ``out.map.json`` -> ``out.map.npz``."""
    path = Path(path)
    if path.suffix == ".json":
        return path.with_suffix(".npz")
    return path.with_name(path.name + ".npz")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict) or isinstance(value, TMapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass(frozen=True, eq=False)
class Utilization:
    """How full each core is: ``used[k, r]`` of resource ``resources[r]`` on core
    ``core_ids[k]``, against ``limits[r]`` (the same on every core)."""

    resources: tuple[str, ...]
    limits: tuple[int, ...]
    core_ids: np.ndarray  # int64 [n_cores]
    used: np.ndarray  # int64 [n_cores, n_resources]

    def worst(self) -> list[tuple[str, int, int, int]]:
        """Per resource: ``(name, used on the fullest core, limit, that core's id)``.

        Ties go to the lowest core id; with no cores, used 0 and core -1."""
        out = []
        for r, name in enumerate(self.resources):
            if self.used.shape[0] == 0:
                out.append((name, 0, self.limits[r], -1))
                continue
            k = int(np.argmax(self.used[:, r]))
            out.append((name, int(self.used[k, r]), self.limits[r], int(self.core_ids[k])))
        return out

    def text(self, *, per_core: bool = True) -> str:
        """A plain table: the worst core per resource, then (optionally) every core."""
        lines = ["resource                          worst core    used / limit     %"]
        for name, used, limit, core in self.worst():
            pct = 100.0 * used / limit if limit else 0.0
            lines.append(f"{name:32s}  {core:>10}  {used:>9,} / {limit:<9,} {pct:5.1f}")
        if per_core:
            lines.append("core  " + "  ".join(self.resources))
            for k, core in enumerate(self.core_ids.tolist()):
                lines.append(f"{core:<5} " + "  ".join(f"{int(v):,}/{lim:,}" for v, lim in
                                                        zip(self.used[k].tolist(), self.limits)))
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- loading


def _file_models():
    """The pydantic models of the JSON file (built on first use: pydantic loads lazily)."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

    NonNeg = Field(ge=0)

    class _M(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    class Slice(_M):
        population: StrictStr
        start: StrictInt = NonNeg
        stop: StrictInt = NonNeg

    class Core(_M):
        core_id: StrictInt = NonNeg
        comp_start: StrictInt = NonNeg
        comp_stop: StrictInt = NonNeg
        slices: list[Slice]
        usage: dict[str, StrictInt]

    class Net(_M):
        text: StrictStr
        base_dir: StrictStr

    class File(_M):
        format: Literal["neurocomp-mapping"]
        version: StrictInt
        family: StrictStr
        arrays: StrictStr
        chip: dict
        network: Net
        population_names: list[StrictStr]
        projection_names: list[StrictStr]
        input_offset: dict[str, StrictInt]
        params: list[StrictStr]
        cores: list[Core]
        quantization: dict
        pass_times_s: dict[str, StrictFloat | StrictInt]
        compile_report: dict

    return File


def _fail(path: Path, problems: list[str], hint: str | None = None):
    from ..diagnostics import InputFileError

    shown = problems[:6]
    more = f" (and {len(problems) - 6} more)" if len(problems) > 6 else ""
    text = shown[0] if len(shown) == 1 else "; ".join(shown)
    return InputFileError(f"'{path}' is not a valid neurocomp mapping: {text}{more}", where=str(path),
                          hint=hint or "compile the network again (neurocomp compile ... -o FILE)")


def _load(cls, path: Path) -> "Mapping":
    from pydantic import ValidationError

    from ..chip.spec import ChipSpec
    from ..diagnostics import NeurocompError

    try:
        text = path.read_text()
    except FileNotFoundError:
        from ..diagnostics import InputFileError
        raise InputFileError(f"no such file: '{path}'", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, [f"cannot read it ({exc})"]) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, [f"bad JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except RecursionError:
        raise _fail(path, ["its JSON is nested too deeply to be a mapping"]) from None
    if isinstance(raw, dict) and raw.get("format") == _FORMAT and raw.get("version") != MAPPING_VERSION:
        raise _fail(path, [f"it is format version {raw.get('version')!r}; this neurocomp reads version "
                           f"{MAPPING_VERSION}"])
    try:
        doc = _file_models().model_validate(raw)
    except ValidationError as exc:
        raise _fail(path, [f"{'.'.join(str(x) for x in e['loc']) or '(top)'}: {e['msg']}"
                           for e in exc.errors()]) from None
    try:
        chip = ChipSpec.model_validate(doc.chip)
    except ValidationError as exc:
        raise _fail(path, [f"chip.{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
                           for e in exc.errors()]) from None
    try:
        from ..dsl.parse import parse
        from .build import build

        network = build(parse(doc.network.text, name=f"{path.name} (network)"), Path(doc.network.base_dir))
    except NeurocompError as exc:
        first = exc.diagnostics[0].message if exc.diagnostics else str(exc)
        raise _fail(path, [f"the network it holds does not build: {first}"],
                    hint="its data files are read from network.base_dir "
                         f"('{doc.network.base_dir}'); move them back or compile again") from None
    npz = path.parent / doc.arrays
    from ..resources import array_file_problem

    problem = array_file_problem(npz) if npz.is_file() else None
    if problem:  # before numpy allocates what a header declares
        raise _fail(path, [f"its arrays file '{npz}': {problem}"])
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise _fail(path, [f"its arrays file '{npz}' is missing"]) from None
    except Exception as exc:  # a damaged or foreign .npz: zip, format or pickle errors
        raise _fail(path, [f"its arrays file '{npz}' cannot be read ({type(exc).__name__}: {exc})"]) from None
    problems = _check_arrays(doc, chip, network, arrays)
    if problems:
        raise _fail(path, problems)
    cores = tuple(CoreMap(core_id=c.core_id, comp_start=c.comp_start, comp_stop=c.comp_stop,
                          slices=tuple(CoreSlice(population=s.population, start=s.start, stop=s.stop)
                                       for s in c.slices), usage=dict(c.usage)) for c in doc.cores)
    try:
        report = _quantization_report(doc.quantization)
    except (TypeError, ValueError) as exc:
        raise _fail(path, [f"quantization: {exc}"]) from None
    mapping = cls(chip=chip, network=network, family=doc.family, version=doc.version, cores=cores,
                  params={k: arrays[f"params.{k}"] for k in doc.params},
                  population_names=tuple(doc.population_names), input_offset=dict(doc.input_offset),
                  projection_names=tuple(doc.projection_names), quantization=report,
                  pass_times_s={k: float(v) for k, v in doc.pass_times_s.items()},
                  compile_report=dict(doc.compile_report), **{k: arrays[k] for k in _ARRAYS})
    problems = mapping_problems(mapping, chip)
    if problems:
        raise _fail(path, problems)
    return mapping


def _quantization_report(raw: dict) -> QuantizationReport:
    """The report from its JSON form, by the dataclasses' own fields (so an added field
    with a default still loads)."""
    from dataclasses import fields

    items = {"projections": ProjectionError, "populations": PopulationError}
    known = {f.name for f in fields(QuantizationReport)}
    extra = set(raw) - known
    if extra:
        raise ValueError(f"unknown keys {sorted(extra)}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, list):
            raise ValueError(f"'{key}' must be a list")
        if key in items:
            kind = items[key]
            names = {f.name for f in fields(kind)}
            for i, item in enumerate(value):
                if not isinstance(item, dict) or set(item) - names:
                    raise ValueError(f"{key}.{i}: expected the fields {sorted(names)}")
            out[key] = tuple(kind(**item) for item in value)
        else:
            if not all(isinstance(v, str) for v in value):
                raise ValueError(f"'{key}' must be a list of strings")
            out[key] = tuple(value)
    return QuantizationReport(**out)


def _check_arrays(doc, chip, network: Network, arrays: dict[str, np.ndarray]) -> list[str]:
    """Every way the arrays can disagree with each other and with the JSON, in words."""
    problems: list[str] = []
    wanted = set(_ARRAYS) | {f"params.{k}" for k in doc.params}
    for name in sorted(wanted - set(arrays)):
        problems.append(f"array '{name}' is missing")
    for name in sorted(set(arrays) - wanted):
        problems.append(f"array '{name}' is not part of a mapping")
    if problems:
        return problems
    for name, dtype in _DTYPES.items():
        a = arrays[name]
        if a.dtype != np.dtype(dtype) or a.ndim != 1:
            problems.append(f"array '{name}' is {a.dtype}{list(a.shape)}, expected 1-D {np.dtype(dtype)}")
    if problems:
        return problems
    n_comp = arrays["comp_core"].shape[0]
    inputs = {name: pop.size for name, pop in network.populations.items() if pop.is_input}
    for key in doc.params:
        a = arrays[f"params.{key}"]
        if a.dtype != np.int64 or a.ndim < 1 or a.shape[0] != n_comp:
            problems.append(f"array 'params.{key}' is {a.dtype}{list(a.shape)}, expected int64 with "
                            f"{n_comp:,} rows")
    if doc.family != chip.neuron.family:
        problems.append(f"family: '{doc.family}', but its chip's neuron family is '{chip.neuron.family}'")
    names = [p for p, pop in network.populations.items() if not pop.is_input]
    if list(doc.population_names) != names:
        problems.append(f"population_names {list(doc.population_names)} are not the network's {names}")
    known = [p.name for p in network.projections]
    unknown = [n for n in doc.projection_names if n not in known]
    if unknown:
        problems.append(f"projection_names {unknown} are not in the network")
    if set(doc.input_offset) != set(inputs):
        problems.append(f"input_offset names {sorted(doc.input_offset)}, the network's inputs are {sorted(inputs)}")
    at = 0
    last = -1
    for k, core in enumerate(doc.cores):
        if core.core_id <= last or core.comp_start != at or core.comp_stop < core.comp_start:
            problems.append(f"cores.{k}: cores must be in ascending id and hold consecutive compartments "
                            f"(core {core.core_id} holds {core.comp_start}:{core.comp_stop}, expected to start at {at})")
            break
        if sum(s.stop - s.start for s in core.slices) != core.comp_stop - core.comp_start:
            problems.append(f"cores.{k}: its slices hold {sum(s.stop - s.start for s in core.slices)} "
                            f"compartments, its range {core.comp_stop - core.comp_start}")
        if n_comp and core.comp_stop > core.comp_start and core.comp_stop <= n_comp and \
                np.any(arrays["comp_core"][core.comp_start:core.comp_stop] != core.core_id):
            problems.append(f"cores.{k}: comp_core disagrees with core {core.core_id}'s range")
        for j, sl in enumerate(core.slices):
            size = network.populations[sl.population].size if sl.population in names else None
            if sl.population != "<relay>" and (size is None or not sl.start <= sl.stop <= size):
                problems.append(f"cores.{k}.slices.{j}: {sl.population}[{sl.start}:{sl.stop}] is not a range of "
                                f"a population of the network")
        at, last = core.comp_stop, core.core_id
    if not problems and at != n_comp:
        problems.append(f"cores hold {at:,} compartments, the arrays {n_comp:,}")
    return problems
