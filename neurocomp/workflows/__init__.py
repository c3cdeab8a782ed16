"""The orchestration layer: the workflows that chain the stages.

``validate`` (float reference against chip emulation) and ``compare`` (one network on
several chips) compile, emulate and price; ``samples`` turns a labelled sample file into
the runs' input overrides. They sit above :mod:`neurocomp.report`, whose result types
(:class:`~neurocomp.report.validate.ValidationReport`,
:class:`~neurocomp.report.compare.Comparison`) they fill, and below the public door
:mod:`neurocomp.api` and the command line.
"""
