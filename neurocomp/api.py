"""The Python API: the command line's pipeline as functions (``import neurocomp as nc``).

::

    neurocomp command                      function                       returns
    check NET.snn (and every parse)        load(path)                     Network
    compile NET --chip C [--chips N]       compile(net, chip=C, chips=N)  Mapping
    run NET|MAP --chip C --steps T         run(mapping, steps=T)          RunResult
                                           price(result, mapping)         Report
    validate NET --chip C --steps T        validate(net, chip=C, steps=T) ValidationReport
    compare NET --chips A,B --steps T      compare(net, [A, B], steps=T)  Comparison
    sweep NET --chips A,B --steps T        sweep(net, {"chip": [A, B]}, steps=T)  Sweep
    simulate NET --steps T                 simulate(net, steps=T)         RunResult

The functions here are thin: each resolves its arguments the way the command line does
(a chip by name, path or :class:`~neurocomp.chip.spec.ChipSpec`; a network as a
:class:`~neurocomp.ir.network.Network` or the path of its ``.snn`` file) and calls the
stage's own door, so the API and the CLI give the same spikes and the same energy. An
argument of the wrong type raises :class:`ApiTypeError`, which is both a
:class:`~neurocomp.diagnostics.UsageError` and a ``TypeError``; every other mistake
raises a :class:`~neurocomp.diagnostics.NeurocompError` naming the object.

The examples run from the repository's root (``tests/test_api.py`` runs them).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping as TMapping, Sequence

from .diagnostics import ApiTypeError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .ir.mapping import Mapping
    from .ir.network import Network
    from .ir.result import RunResult
    from .report.compare import Comparison
    from .report.sweep import Sweep
    from .report.report import Report
    from .report.validate import ValidationReport

__all__ = ["compile", "run", "simulate", "price", "validate", "compare", "sweep", "as_network", "resolve_chip",
           "ApiTypeError"]


def resolve_chip(chip: Any, *, chips: int | None = None, profile: str | None = None, what: str = "chip") -> Any:
    """A :class:`~neurocomp.chip.spec.ChipSpec` from a chip name, a path or a ChipSpec.

    ``chips`` makes a system of that many chips (tiled as squarely as possible);
    ``profile`` selects a cost profile (:func:`neurocomp.chip.load.resolve_chip`).

    Raises
    ------
    ApiTypeError
        When ``chip`` is none of those (the message shows what it is).
    UsageError
        For a bad ``chips`` or ``profile``, or as :func:`~neurocomp.chip.load.load_chip`
        does for an unknown name or a missing file.
    ChipSpecError
        For a chip file that does not validate.

    Examples
    --------
    >>> import neurocomp as nc
    >>> from neurocomp.api import resolve_chip
    >>> resolve_chip("loihi", chips=4).n_chips
    4
    >>> resolve_chip(nc.load_chip("tests/data/tiny.toml"), chips=2).total_cores
    8
    >>> resolve_chip(None, what="the second chip")
    Traceback (most recent call last):
    ...
    neurocomp.diagnostics.ApiTypeError: the second chip must be a ChipSpec, a chip name or a path, not None
    """
    from .chip.load import resolve_chip as _resolve_chip

    return _resolve_chip(chip, chips=chips, profile=profile, what=what)


def as_network(network: Any, *, what: str = "network") -> "Network":
    """A :class:`~neurocomp.ir.network.Network`, or the one a ``.snn`` path holds.

    Raises
    ------
    ApiTypeError
        When ``network`` is neither.
    UsageError
        For a path that does not end in ``.snn``; :func:`neurocomp.load`'s errors for a
        file that does not parse or build.

    Examples
    --------
    >>> import neurocomp as nc
    >>> from neurocomp.api import as_network
    >>> net = as_network("examples/chain.snn")
    >>> as_network(net) is net, sorted(net.populations)
    (True, ['a', 'b', 'c', 'stim'])
    >>> as_network(7)
    Traceback (most recent call last):
    ...
    neurocomp.diagnostics.ApiTypeError: network must be a Network or the path of a .snn file, not 7
    """
    from .ir.network import Network

    if isinstance(network, Network):
        return network
    if isinstance(network, (str, Path)):
        path = Path(network)
        if path.suffix != ".snn":
            raise UsageError(f"'{network}' is not a network file: expected a .snn file",
                             hint="give a Network (neurocomp.load) or the path of a .snn file")
        from .ir.build import load

        return load(path)
    raise ApiTypeError(f"{what} must be a Network or the path of a .snn file, not {network!r}")


def compile(network: "Network | str | Path", chip: Any, *, chips: int | None = None,  # noqa: A001
            profile: str | None = None, partition: str = "auto", place: str = "anneal", seed: int = 0,
            allow_split: bool = True, on_pass: Callable[[Any, Any, float], None] | None = None) -> "Mapping":
    """Compile a network onto a chip: quantize, partition, place, route.

    The API form of ``neurocomp compile NET --chip CHIP [--chips N] [--profile P]``.

    Parameters
    ----------
    network
        A :class:`~neurocomp.ir.network.Network`, or the path of a ``.snn`` file.
    chip
        A bundled chip name (``"loihi"``), the path of a chip or system file, or a
        :class:`~neurocomp.chip.spec.ChipSpec`.
    chips
        Compile for a system of this many chips, tiled as squarely as possible.
    profile
        The chip's energy/timing profile (kept in the Mapping's chip; it does not change
        the compiled network, only the price of its runs).
    partition, place, seed, allow_split
        The strategies of :func:`neurocomp.compiler.pipeline.default_passes`
        (``--partition``, ``--place``, ``--seed``, ``--no-split``).
    on_pass
        Called as ``on_pass(pass, artifact, seconds)`` after each pass.

    Returns
    -------
    Mapping
        Which neuron sits on which core, what every core stores, how spikes are routed
        (:class:`~neurocomp.ir.mapping.Mapping`; ``save()`` writes it,
        ``Mapping.load()`` reads it back).

    Raises
    ------
    ApiTypeError
        When ``chip`` or ``network`` is of the wrong type.
    CapacityError
        When the network does not fit the chip (the message names the population).
    QuantizationError
        When the chip cannot represent a population or projection.

    Examples
    --------
    >>> import neurocomp as nc
    >>> mapping = nc.compile("examples/chain.snn", chip="loihi")
    >>> len(mapping.cores), mapping.n_comp, mapping.n_synapses
    (1, 3, 3)
    >>> nc.compile("examples/chain.snn", chip="loihi", chips=2).chip.n_chips
    2
    >>> nc.compile("examples/chain.snn", chip=42)
    Traceback (most recent call last):
    ...
    neurocomp.diagnostics.ApiTypeError: chip must be a ChipSpec, a chip name or a path, not 42
    """
    from .compiler.pipeline import compile_network, default_passes

    spec = resolve_chip(chip, chips=chips, profile=profile)
    net = as_network(network)
    passes = default_passes(partition=partition, allow_split=allow_split, place=place, seed=seed)
    mapping = compile_network(net, spec, passes=passes, on_pass=on_pass)
    warn_quantization(mapping, stacklevel=3)
    return mapping


def warn_quantization(mapping: "Mapping", *, stacklevel: int = 2) -> None:
    """One :class:`~neurocomp.diagnostics.QuantizationWarning` per warning of the
    Mapping's quantization report (what the chip lost when it quantized the network)."""
    import warnings

    from .diagnostics import QuantizationWarning

    for text in mapping.quantization.warnings:
        warnings.warn(f"compiling '{mapping.network.name}' for {mapping.chip.name}: {text}",
                      QuantizationWarning, stacklevel=stacklevel)


def run(what: "Mapping | Network | str | Path", steps: int, *, chip: Any = None, chips: int | None = None,
        inputs: TMapping[str, Any] | None = None, strict: bool = False, probes: Any = None,
        seed: int = 0, progress: Callable[[int, int], None] | None = None) -> "RunResult":
    """Emulate a compiled network on its chip, bit-exactly, for ``steps`` steps.

    The API form of ``neurocomp run``; :func:`price` turns the result into the energy
    and latency that command reports.

    Parameters
    ----------
    what
        A :class:`~neurocomp.ir.mapping.Mapping` (from :func:`compile`, or
        ``Mapping.load(path)``), or a network (a Network or a ``.snn`` path), which is
        compiled for ``chip`` first.
    steps
        Number of time steps.
    chip, chips
        The chip to compile a network for (as :func:`compile` takes them). With a
        Mapping they are optional and, when given, must name the chip it was compiled for.
    inputs
        Per input population, a dense ``T x N`` raster or
        :class:`~neurocomp.ir.synapses.InputEvents` to emit instead of its encoder's
        output (as :func:`neurocomp.emulator.run.emulate` takes them).
    strict
        Stop at the first overflow of a state register
        (:class:`~neurocomp.diagnostics.EmulationError`) instead of wrapping or
        saturating as the chip does.
    probes
        What to record: ``None`` for the network's probes, or
        ``{population: ("voltage", ...)}``.
    seed
        Seeds the chip's stochastic modes (TrueNorth's; the stochastic rounding of a
        learning rule without ``rng_seed``, docs/learning.md).
    progress
        Called as ``progress(steps done, steps)`` about a hundred times while the chip
        runs, last with ``(steps, steps)``: the emulation runs in pieces, which change no
        spike, trace or counter (what ``neurocomp run`` draws its bar from). Compiling a
        network first reports nothing; :func:`compile`'s ``on_pass`` does.

    Returns
    -------
    RunResult
        Spikes of every population (``result.spikes[pop].times``, ``.indices``: int64
        arrays), the probed traces (``result.traces[pop][var]``: ``(steps, n)`` arrays),
        and the per-core work ``counters`` (int64 ``(steps, cores)`` arrays).

    Raises
    ------
    UsageError
        For a network without a chip, a Mapping with another chip, bad ``steps``,
        inputs or probes.

    Examples
    --------
    >>> import neurocomp as nc
    >>> mapping = nc.compile("examples/chain.snn", chip="loihi")
    >>> result = nc.run(mapping, steps=20)
    >>> result.spikes["c"].times
    array([9])
    >>> int(result.counters.synops.sum())
    14
    >>> nc.run("examples/chain.snn", steps=20, chip="truenorth").spikes["a"].times
    array([ 3,  5, 11])
    >>> seen = []                               # 200 steps in 100 pieces of 2
    >>> nc.run(mapping, steps=200, progress=lambda done, steps: seen.append(done)).spikes["c"].times
    array([9])
    >>> len(seen), seen[:3], seen[-1]
    (100, [2, 4, 6], 200)
    """
    from .emulator.run import emulate
    from .ir.mapping import Mapping

    if isinstance(what, Mapping):
        mapping = what
        if chip is not None or chips is not None:
            _check_same_chip(mapping, chip, chips)
    else:
        net = as_network(what, what="what to run")
        if chip is None:
            raise UsageError(f"running network '{net.name}' needs a chip to compile it for",
                             hint="give chip='loihi' (or a chip file), or a Mapping from nc.compile")
        mapping = compile(net, chip, chips=chips)
    return emulate(mapping, steps, inputs, strict=strict, probes=probes, seed=seed, progress=progress)


def _check_same_chip(mapping: "Mapping", chip: Any, chips: int | None) -> None:
    compiled = mapping.chip
    asked = resolve_chip(chip if chip is not None else compiled, chips=chips)
    if asked.name != compiled.name or asked.n_chips != compiled.n_chips:
        raise UsageError(f"the mapping was compiled for {compiled.name} ({compiled.n_chips} chip"
                         f"{'s' if compiled.n_chips != 1 else ''}), not {asked.name} ({asked.n_chips})",
                         hint="run it without chip=..., or compile the network again for this chip")


def simulate(network: "Network | str | Path", steps: int, inputs: TMapping[str, Any] | None = None, *,
             progress: Callable[[int, int], None] | None = None) -> "RunResult":
    """Run the float64 reference model of ``network`` (a Network or a ``.snn`` path) for
    ``steps`` steps: :func:`neurocomp.emulator.reference.simulate`, which documents the
    arguments and what it raises. ``progress``, as :func:`run` takes it, is called as
    ``progress(steps done, steps)`` about a hundred times, last with ``(steps, steps)``.

    Examples
    --------
    >>> import neurocomp as nc
    >>> seen = []                               # 20 steps in 20 pieces of 1
    >>> result = nc.simulate("examples/chain.snn", 20, progress=lambda done, steps: seen.append((done, steps)))
    >>> result.spikes["c"].times, seen[:2], seen[-1], len(seen)
    (array([9]), [(1, 20), (2, 20)], (20, 20), 20)
    """
    from .emulator.reference import simulate as _simulate

    return _simulate(as_network(network), steps, inputs, progress=progress)


def price(result: "RunResult | Iterable[RunResult]", mapping: "Mapping", *,
          profile: str | None = None, host_io: bool = True, contention: bool = False) -> "Report":
    """The energy and latency of an emulated run (or a batch of runs) on its chip.

    What ``neurocomp run`` prints after emulating: the work counters of ``result``
    priced with the active profile of the chip the Mapping was compiled for
    (:func:`neurocomp.report.cost.cost`), summarised as a
    :class:`~neurocomp.report.report.Report`.

    Parameters
    ----------
    result
        A :class:`~neurocomp.ir.result.RunResult` of :func:`run`, or several of them
        (the runs of a batch, e.g. an :func:`~neurocomp.emulator.run.emulate_batch`).
    mapping
        The Mapping that was run.
    profile
        Price with another of the chip's profiles.
    host_io
        Charge the host's input spikes and read-outs where the profile prices them
        (``docs/energy.md``); ``False`` keeps the host free.
    contention
        Replay each step's packets through the mesh with queues on links, routers and
        receiving cores (:mod:`neurocomp.report.contention`; event-driven chips).

    Returns
    -------
    Report
        ``report.cost`` holds the totals (``energy_j``, ``latency_s``) and the per-step
        and per-core arrays (``step_energy_pj``, ``step_latency_ns``, ...);
        ``to_text()`` and ``to_dict()`` are what the command prints and writes.

    Raises
    ------
    UsageError
        When a run has no work counters (a float reference run), or the runs mix
        networks or lengths.

    Examples
    --------
    >>> import neurocomp as nc
    >>> mapping = nc.compile("examples/chain.snn", chip="tests/data/tiny.toml")
    >>> report = nc.price(nc.run(mapping, steps=20), mapping)
    >>> report.cost.energy_pj, report.cost.latency_ns
    (416.0, 308.0)
    """
    from .ir.mapping import Mapping
    from .ir.result import RunResult
    from .report.cost import price_runs
    from .report.report import report

    if not isinstance(mapping, Mapping):
        raise ApiTypeError(f"mapping must be a Mapping (from nc.compile), not {mapping!r}")
    runs = [result] if isinstance(result, RunResult) else list(result)
    if not runs:
        raise UsageError("no runs to price")
    for r in runs:
        if not isinstance(r, RunResult):
            raise ApiTypeError(f"result must be a RunResult or several, not {r!r}")
        if r.counters is None:
            raise UsageError(f"the run of '{r.network}' has no work counters to price",
                             hint="price a chip run (nc.run), not a float reference run (nc.simulate)")
    chip = resolve_chip(mapping.chip, profile=profile)
    return report(runs, price_runs(runs, chip, mapping, host_io=host_io, contention=contention), chip, mapping)


def validate(network: "Network | str | Path", chip: Any, steps: int, inputs: TMapping[str, Any] | None = None, *,
             chips: int | None = None, profile: str | None = None,
             samples: "str | Path | tuple[np.ndarray, np.ndarray] | None" = None,
             mapping: "Mapping | None" = None, output: str | None = None, jobs: int | None = None,
             client: Any = None, progress: Callable[[int, int], None] | None = None) -> "ValidationReport":
    """Run the float reference and the chip emulation on the same inputs and compare.

    The API form of ``neurocomp validate``
    (:func:`neurocomp.workflows.validate.validate`).

    Parameters
    ----------
    network
        A Network or the path of a ``.snn`` file.
    chip, chips, profile
        The chip, as :func:`compile` takes it.
    steps
        Steps per run.
    inputs
        Input overrides for one run; by default each input's encoder.
    samples
        A labelled set (``.npz`` path with ``x`` and ``y``, or ``(x, y)``): one run per
        sample, and the accuracy of both models as classifiers.
    mapping
        The network already compiled for ``chip``.
    output
        The population whose spike counts give the class (default: the last probed one
        that projects nowhere but onto itself).
    jobs, client
        Where the samples run: ``jobs`` local worker processes (default: every core, or
        ``$NEUROCOMP_JOBS``) or the workers of a ``dask.distributed.Client``; the
        report does not depend on it (:mod:`neurocomp.workflows.parallel`).
    progress
        Called as ``progress(runs done, runs)`` as the runs (one per sample) finish.

    Returns
    -------
    ValidationReport
        Per neuron population, both runs' spikes and rates and the correlation of their
        spike counts; ``classifier`` holds the accuracies for ``samples``.

    Examples
    --------
    >>> import neurocomp as nc
    >>> report = nc.validate("examples/chain.snn", chip="loihi", steps=20)
    >>> [(p.name, p.spikes_ref, p.spikes_chip, p.correlation) for p in report.populations]
    [('a', 3, 3, 1.0), ('b', 3, 3, 1.0), ('c', 1, 1, 1.0)]
    """
    from .workflows.validate import validate as _validate

    spec = resolve_chip(chip, chips=chips, profile=profile)
    return _validate(as_network(network), spec, steps, inputs, samples=samples, mapping=mapping, output=output,
                     jobs=jobs, client=client, progress=progress)


def compare(network: "Network | str | Path", chips: Sequence[Any], steps: int,
            inputs: TMapping[str, Any] | None = None, *,
            samples: "str | Path | tuple[np.ndarray, np.ndarray] | None" = None, jobs: int | None = None,
            client: Any = None, progress: Callable[[str, int, int], None] | None = None) -> "Comparison":
    """Compile and run a network on several chips and put the results side by side.

    The API form of ``neurocomp compare``
    (:func:`neurocomp.workflows.compare.compare`): per chip the chips and cores used, the
    fullest core, the largest weight error, energy and latency per step and per run (or
    sample), the spikes against the float reference's and, with ``samples``, the
    accuracy. A chip the network does not fit, or that cannot represent it, has a row
    that says why.

    Parameters
    ----------
    network
        A Network or the path of a ``.snn`` file.
    chips
        Chip names, chip or system file paths, or ChipSpecs.
    steps
        Steps per run.
    inputs
        Input overrides for one run; by default each input's encoder.
    samples
        A labelled set (``.npz`` path with ``x`` and ``y``, or ``(x, y)``).
    jobs, client
        Where the chips run, as :func:`validate` takes them.
    progress
        Called as ``progress(label, runs done, runs)`` when the float reference (label
        ``"float reference"``) and then each chip have finished their runs.

    Returns
    -------
    Comparison
        One :class:`~neurocomp.report.compare.ChipRow` per chip (``table["loihi"]``,
        ``table[0]``); ``column(name)`` gives one figure of every chip as a float64 array.

    Examples
    --------
    >>> import neurocomp as nc
    >>> table = nc.compare("examples/chain.snn", ["tests/data/tiny.toml", "truenorth"], steps=20)
    >>> [(row.label, row.status, row.cores, row.spikes_chip) for row in table]
    [('tiny', 'ok', 1, 7), ('truenorth', 'ok', 1, 7)]
    >>> table.column("energy_per_step_j")
    array([2.08000000e-11, 6.64000009e-05])
    """
    from .workflows.compare import compare as _compare

    return _compare(as_network(network), chips, steps, inputs, samples=samples, jobs=jobs, client=client,
                    progress=progress)


def sweep(network: "Network | str | Path", grid: TMapping[str, Any], steps: int,
          inputs: TMapping[str, Any] | None = None, *,
          samples: "str | Path | tuple[np.ndarray, np.ndarray] | None" = None, seed: int = 0,
          jobs: int | None = None, client: Any = None, progress: Callable[[int, int], None] | None = None
          ) -> "Sweep":
    """Compile, run, validate and price a network at every point of a grid of configurations.

    The API form of ``neurocomp sweep`` (:func:`neurocomp.workflows.sweep.sweep`).

    Parameters
    ----------
    network
        A Network or the path of a ``.snn`` file.
    grid
        ``{axis: [values]}`` over ``chip`` (required: names, paths or ChipSpecs),
        ``profile``, ``chips`` (chips in the system), ``weight_bits`` (the widest stored
        weight), ``partition`` and ``place`` (the compiler's strategies); every
        combination is one point.
    steps
        Steps per run.
    inputs, samples
        One run's input overrides, or a labelled set (each point's accuracy).
    seed
        The placer's seed.
    jobs, client
        Where the points run, as :func:`validate` takes them.
    progress
        Called as ``progress(points done, points)`` as points finish.

    Returns
    -------
    Sweep
        One row per point, in grid order (``rows[i]`` for ``points[i]``); ``pareto()``
        the points no other beats on energy, latency and accuracy; ``to_text()``,
        ``to_json()``, ``to_csv()``.

    Examples
    --------
    >>> import neurocomp as nc
    >>> grid = nc.sweep("examples/chain.snn", {"chip": ["loihi", "akida"], "weight_bits": [2, 8]}, steps=20,
    ...                 jobs=1)
    >>> [(p.chip, p.weight_bits, r.status) for p, r in zip(grid.points, grid.rows)]
    [('loihi', 2, 'ok'), ('loihi', 8, 'ok'), ('akida', 2, 'cannot represent'), ('akida', 8, 'cannot represent')]
    """
    from .workflows.sweep import sweep as _sweep

    return _sweep(as_network(network), grid, steps, inputs, samples=samples, seed=seed, jobs=jobs, client=client,
                  progress=progress)
