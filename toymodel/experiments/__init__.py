"""The course's experiments as plain functions: each trains one batched model and returns its results.

The four core experiments (notebooks 01-04) return a Sweep; the going-further ones return their own
small result types: phase_diagram -> PhaseDiagram (05), feature_geometry_run / load_feature_geometry ->
GeometryRun (06, the 400 -> 30 run is precomputed), privileged_basis -> Sweep and computation_sweep ->
AbsSweep (07), correlated_features -> SetSweep, nonuniform_superposition -> NonUniformRun and
learning_dynamics -> TrainingRun (08).  The sweep types live in toymodel.sweeps and are re-exported here.

Used by the notebooks, by `python -m toymodel`, and by the science tests, so all three see the
same defaults.  Every setting of an experiment is one instance of a single ToyModel, trained
together in one run (best of `n_seeds` initialisations per instance; see seeds_for).

    core        notebooks 01-04: basic superposition, sparse vs dense, importance, dimensionality; run_sweep
    phase       notebook 05: the phase diagram
    geometry    notebook 06: the uniform-superposition run (train / save / load), small polytopes
    neurons     notebook 07: privileged basis, computation in superposition
    correlated  notebook 08: feature sets, non-uniform superposition, learning dynamics
    sae         notebook 09: sparse autoencoders on trained toy models (a precomputed sweep, train / save / load)
"""

from ..sweeps import AbsSweep, DensitySweep, PhaseDiagram, SetSweep, Sweep
from . import core, correlated, geometry, neurons, phase, sae
from .core import *  # noqa: F401,F403
from .correlated import *  # noqa: F401,F403
from .geometry import *  # noqa: F401,F403
from .neurons import *  # noqa: F401,F403
from .phase import *  # noqa: F401,F403
from .sae import *  # noqa: F401,F403

__all__ = [
    "AbsSweep", "DensitySweep", "PhaseDiagram", "SetSweep", "Sweep",  # the result types, from toymodel.sweeps
    *core.__all__, *phase.__all__, *geometry.__all__, *neurons.__all__, *correlated.__all__, *sae.__all__,
]
