"""The orchestration layer: the workflows that chain the stages.

``validate`` (float reference against chip emulation), ``compare`` (one network on
several chips) and ``sweep`` (one network over a grid of configurations) compile, emulate
and price; ``batch`` runs many samples through one Mapping; ``samples`` turns a labelled
sample file into the runs' input overrides; ``parallel`` spreads their independent runs
over the local cores or a Dask cluster, results in order and the same wherever they ran.
They sit above :mod:`neurocomp.report`, whose result types
(:class:`~neurocomp.report.validate.ValidationReport`,
:class:`~neurocomp.report.compare.Comparison`, :class:`~neurocomp.report.sweep.Sweep`)
they fill, and below the public door :mod:`neurocomp.api` and the command line.
"""
