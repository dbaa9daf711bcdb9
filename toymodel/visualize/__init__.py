"""Matplotlib figures for the toy models, in one consistent style.

Every function returns the matplotlib Figure it drew on (it never calls plt.show() and closes
nothing); pass `ax=` to draw into an axes you own.  Functions that show one model take a
ToyModel, a Sweep (then titles also name p, S and the importance) or a weight tensor W
([n_instances, n_features, n_hidden] or [n_features, n_hidden]), plus `instance=k`.

Colours: sequential data use viridis (0 = dark), signed data the diverging "RdBu_r" with a
symmetric range (white = 0), features that are not represented (||W_i|| <= 0.5) are grey.
Apply the same look to your own figures with `use_style()` or `with style(): ...`.

    base       the style, the palettes, config_title, feature_colors, dstar_guides (and the internal
               building blocks the other modules share: see its docstring)
    model      notebooks 01-04, one model: embeddings in 2-D and 3-D, W^T W, interference, norms, importance
    compare    notebooks 01-04, many models: compare_models, plot_sweep
    summary    notebooks 01-04, whole sweeps: represented features, D*, D_i, superposition, training curves
    phase      notebook 05: phase maps, candidate losses
    geometry   notebook 06: D* vs 1/(1-S), D_i fraction lines, geometry graph, 3-D polytopes
    neurons    notebook 07: W as features x neurons, stacked neuron plots, monosemantic counts
    correlated notebook 08: feature sets in 2-D, the non-uniform families' losses, learning dynamics
    sae        notebook 09: an SAE's latents over the features, best cosines, MMCS in training, the SAE sweep

This package exports the figure API and the palettes; the modules' internal building blocks stay in them.
"""

from .base import (
    DIVERGING,
    FEATURE_CMAP,
    MISSING,
    QUALITATIVE,
    SEQUENTIAL,
    STYLE,
    config_title,
    dstar_guides,
    feature_colors,
    style,
    use_style,
)
from .compare import compare_models, plot_sweep
from .correlated import (
    plot_dimensionality_over_training,
    plot_family_losses,
    plot_loss_over_training,
    plot_set_embedding_2d,
)
from .geometry import (
    factor_summary,
    plot_dimensionality_histogram,
    plot_dimensionality_scatter,
    plot_dstar_vs_sparsity,
    plot_geometry_graph,
    plot_polytopes_3d,
)
from .model import (
    plot_embeddings_3d,
    plot_feature_embeddings_2d,
    plot_feature_norms,
    plot_importance,
    plot_interference_matrix,
    plot_wtw,
)
from .neurons import plot_monosemantic_vs_density, plot_neuron_stack, plot_neuron_weights
from .phase import (
    CANDIDATE_COLORS,
    PHASE_COLORS,
    plot_candidate_losses,
    plot_loss_slice,
    plot_phase_diagram,
    plot_phase_map,
    plot_weights_1d,
)
from .sae import plot_best_cosines, plot_mmcs_over_training, plot_sae_directions, plot_sae_sweep
from .summary import (
    plot_dimensions_per_feature,
    plot_feature_dimensionality,
    plot_represented_vs_density,
    plot_superposition_per_feature,
    plot_training_curves,
)

__all__ = [
    # style and palettes
    "STYLE", "style", "use_style", "SEQUENTIAL", "DIVERGING", "MISSING", "QUALITATIVE", "FEATURE_CMAP",
    "PHASE_COLORS", "CANDIDATE_COLORS",
    # titles, colours, guides
    "config_title", "feature_colors", "dstar_guides",
    # one model
    "plot_feature_embeddings_2d", "plot_embeddings_3d", "plot_interference_matrix", "plot_wtw", "plot_feature_norms",
    "plot_importance",
    # many models
    "compare_models", "plot_sweep",
    # summaries
    "plot_represented_vs_density", "plot_dimensions_per_feature", "plot_feature_dimensionality",
    "plot_superposition_per_feature", "plot_training_curves",
    # notebook 05
    "plot_phase_map", "plot_phase_diagram", "plot_candidate_losses", "plot_weights_1d", "plot_loss_slice",
    # notebook 06
    "plot_dstar_vs_sparsity", "plot_dimensionality_scatter", "plot_dimensionality_histogram", "plot_geometry_graph",
    "factor_summary", "plot_polytopes_3d",
    # notebook 07
    "plot_neuron_weights", "plot_neuron_stack", "plot_monosemantic_vs_density",
    # notebook 08
    "plot_set_embedding_2d", "plot_family_losses", "plot_dimensionality_over_training", "plot_loss_over_training",
    # notebook 09
    "plot_sae_directions", "plot_best_cosines", "plot_mmcs_over_training", "plot_sae_sweep",
]
