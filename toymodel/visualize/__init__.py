"""Matplotlib figures for the toy models, in one consistent style.

Every function returns the matplotlib Figure it drew on (it never calls plt.show() and closes
nothing); pass `ax=` to draw into an axes you own.  Functions that show one model take a
ToyModel, a Sweep (then titles also name p, S and the importance) or a weight tensor W
([n_instances, n_features, n_hidden] or [n_features, n_hidden]), plus `instance=k`.

Colours: sequential data use viridis (0 = dark), signed data the diverging "RdBu_r" with a
symmetric range (white = 0), features that are not represented (||W_i|| <= 0.5) are grey.
Apply the same look to your own figures with `use_style()` or `with style(): ...`.

    core       the style, and the figures of notebooks 01-04 (embeddings, W^T W, norms, sweeps, D*, D_i)
    phase      notebook 05: phase maps, candidate losses
    geometry   notebook 06: D* vs 1/(1-S), D_i fraction lines, geometry graph, 3-D polytopes
    neurons    notebook 07: W as features x neurons, stacked neuron plots, monosemantic counts
    correlated notebook 08: feature sets in 2-D, the non-uniform families' losses, learning dynamics
"""

from . import core, correlated, geometry, neurons, phase
from .core import *  # noqa: F401,F403
from .core import MISSING, _sweep_config  # noqa: F401  (used by toymodel.widgets)
from .correlated import *  # noqa: F401,F403
from .geometry import *  # noqa: F401,F403
from .neurons import *  # noqa: F401,F403
from .neurons import _neuron_model  # noqa: F401  (used by toymodel.widgets)
from .phase import *  # noqa: F401,F403

__all__ = [*core.__all__, *phase.__all__, *geometry.__all__, *neurons.__all__, *correlated.__all__]
