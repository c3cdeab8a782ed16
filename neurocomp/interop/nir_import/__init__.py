"""Import a NIR graph as a :class:`~neurocomp.ir.network.Network`.

Input: a ``nir.NIRGraph`` (or the path of a ``.nir`` file), an explicit time step
``dt_ms`` and a discretisation method. Output: a frozen Network whose populations are
the graph's neuron nodes (and its Input nodes), whose projections are the chains of
weight nodes between them, and whose probes are its Output nodes. The graph is not
changed. ``docs/nir.md`` is the user's guide.

The mapping
-----------
NIR states continuous-time ODEs; neurocomp runs one discrete step of ``dt`` at a time
(``docs/models.md``)::

    I[t] = alpha·I[t-1] + x[t];   V[t] = beta·V[t-1] + I[t] + bias;   spike if V > threshold

Every time constant ``tau`` (seconds) becomes a step fraction ``h`` by the chosen
discretisation: ``"euler"`` (forward Euler, the default) ``h = dt / tau``, or ``"exp"``
(exponential, the input held constant over the step) ``h = 1 - exp(-dt / tau)``. Then:

* ``LIF``  ``tau dv/dt = (v_leak - v) + r·u``: ``beta = 1 - h``; everything arriving
  is multiplied by the input gain ``r·h``; ``bias = h·v_leak`` (exact: the voltage
  relaxes towards ``v_leak`` as in NIR).
* ``CubaLIF``: ``alpha = 1 - h_syn``, ``beta = 1 - h_mem``; neurocomp's current is
  ``r·h_mem`` times NIR's, so the input gain is ``(w_in·h_syn)·(r·h_mem)``;
  ``bias = h_mem·v_leak``. The current is updated first and the voltage uses the new
  current (semi-implicit Euler, as Loihi and snnTorch do).
* ``IF`` (``dv/dt = r·u``): ``beta = 1``, gain ``r·dt``. ``I`` (integrator): an ``LI``
  population with ``beta = 1``, gain ``r·dt``. ``LI``/``CubaLI``: as ``LIF``/``CubaLIF``
  without a threshold. ``Threshold`` (``z = H(u - thr)``): ``beta = 0``, gain 1.
* The reset: NIR resets to ``v_reset``, neurocomp to 0, so ``v_reset`` must be 0.
  ``reset="subtract-next"`` writes snnTorch's default reset instead (:mod:`.resets`).
  Both compare strictly (``v > threshold``). NIR has no refractory period.
* ``Affine``, ``Linear``, ``Scale``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``,
  ``Flatten`` and ``Delay`` between two neuron nodes are composed into one projection,
  its weights multiplied by the target's input gain. A constant (an ``Affine`` or
  ``Conv2d`` bias, passed through the later nodes) becomes the target's ``bias``
  (times the gain), started at the layer's depth (:mod:`.depth`). Into a current-based
  target it enters the synaptic current there, through a projection, as NIR filters it;
  where no input reaches the target it is refused unless ``cuba_bias="steady"`` (the
  settled value, added to the voltage from step 0).

Timing: every chain into a neuron delivers one step later: an input or spike at step
``t`` reaches the next neuron node at ``t + 1 + delay/dt``. So ``u[t]`` of a neuron is
the chain applied to its sources' outputs of step ``t - 1`` (nothing before step 0),
plus the constants. A layer ``k`` steps from the input runs ``k`` steps late, so its
constants (bias and ``h·v_leak``) start at step ``k`` too (:mod:`.depth`: a projection
from a source that fires every step), except in a current-based target and in a graph
neurocomp exported itself.

Output nodes fed straight by a neuron or input node become probes; an Output fed
through weight nodes becomes a read-out population (``LI`` with ``beta = 0``: its
voltage is the weighted sum each step). Input nodes become spike inputs reading an
empty event file, to be replaced by the user's data.

The package
-----------
:func:`import_nir` (:mod:`.convert`) is the door. Every NIR node type it reads is a
converter registered once by its type name (:mod:`.registry`): the neuron nodes in
:mod:`.neurons`, the weight and pass-through nodes in :mod:`.connections`. Chains of
those become connectors and delays in :mod:`.chains`; :mod:`.graph` reads, checks and
flattens the graph (and drops Sinabs' leading time axis); :mod:`.discretise` holds the
discretisations; :mod:`.conventions` recognises the exporter (snnTorch, Sinabs, Norse) by
the parameters it writes, to infer or check the step; :mod:`.depth` starts each bias at its
layer's depth; :mod:`.resets` writes the resets NIR cannot state (snnTorch's and Sinabs'
subtraction) with parts every chip has. Writing the imported
network as `.snn` text and data files is :func:`neurocomp.ir.write.write_snn`
(re-exported here).
"""

from ...ir.write import write_snn
from .convert import DEFAULT_DENSE_LIMIT, CubaBias, import_nir
from .discretise import DISCRETISATIONS, Discretisation, describe_discretisation, discretisation
from .graph import identifier as _identifier  # noqa: F401  (the CLI names its output with it)
from .graph import require_nir

__all__ = [
    "import_nir",
    "write_snn",
    "describe_discretisation",
    "require_nir",
    "Discretisation",
    "DISCRETISATIONS",
    "DEFAULT_DENSE_LIMIT",
]
