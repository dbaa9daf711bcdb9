"""toymodel: the paper's toy models of superposition, small, fast and faithful.

Elhage et al. (2022), "Toy Models of Superposition", transformer-circuits.pub/2022/toy_model.

The course's API is importable from here: the models and their data, training, every measure of
toymodel.metrics, the experiments and the types they return, and the course outline's four figures.
The going-further science lives in toymodel.phase, toymodel.geometry, toymodel.neurons,
toymodel.computation, toymodel.correlated and toymodel.sae (sparse autoencoders, notebook 09); the figures in
toymodel.visualize, the explorers in toymodel.widgets (imported on its own: it needs ipywidgets), the self-checks in
toymodel.exercises.
"""

__version__ = "0.1.0"  # before the imports: experiments.geometry records it in the files it saves

from .computation import AbsValueModel, evaluate_abs_loss, train_abs_model  # noqa: E402
from .correlated import generate_correlated_features  # noqa: E402
from .data import (  # noqa: E402
    density_label,
    density_sweep,
    generate_sparse_features,
    geometric_importance,
    importance_label,
)
from .experiments import (  # noqa: E402  # noqa: E402
    GeometryRun,
    NonUniformRun,
    SAESweep,
    TrainingRun,
    basic_superposition,
    computation_sweep,
    correlated_features,
    dimensionality_sweep,
    feature_geometry_run,
    feature_importance,
    learning_dynamics,
    load_feature_geometry,
    load_sae_sweep,
    nonuniform_superposition,
    phase_diagram,
    privileged_basis,
    small_polytopes,
    sparse_vs_dense,
)
from .metrics import (  # noqa: E402
    REPRESENTED_THRESHOLD,
    compute_feature_interference,
    dimensions_per_feature,
    embedding_angles,
    feature_dimensionality,
    feature_norms,
    n_represented,
    represented,
    superposition,
)
from .model import ToyModel, reconstruction_loss  # noqa: E402
from .sae import SAEScores, SparseAutoencoder, mmcs, score_sae, train_sae  # noqa: E402
from .sweeps import AbsSweep, DensitySweep, PhaseDiagram, SetSweep, Sweep  # noqa: E402
from .train import Recipe, TrainResult, evaluate_loss, train_toy_model  # noqa: E402
from .visualize import (  # noqa: E402
    compare_models,
    plot_feature_embeddings_2d,
    plot_feature_norms,
    plot_interference_matrix,
)

__all__ = [
    # models, their loss and their data
    "AbsValueModel", "ToyModel", "reconstruction_loss", "density_label", "density_sweep",
    "generate_correlated_features",
    "generate_sparse_features", "geometric_importance", "importance_label",
    # training
    "Recipe", "TrainResult", "evaluate_abs_loss", "evaluate_loss", "train_abs_model", "train_toy_model",
    # measures (toymodel.metrics)
    "REPRESENTED_THRESHOLD", "compute_feature_interference", "dimensions_per_feature", "embedding_angles",
    "feature_dimensionality", "feature_norms", "n_represented", "represented", "superposition",
    # experiments and what they return
    "AbsSweep", "DensitySweep", "GeometryRun", "NonUniformRun", "PhaseDiagram", "SetSweep", "Sweep", "TrainingRun",
    "basic_superposition", "computation_sweep", "correlated_features", "dimensionality_sweep",
    "feature_geometry_run", "feature_importance", "learning_dynamics", "load_feature_geometry",
    "nonuniform_superposition", "phase_diagram", "privileged_basis", "small_polytopes", "sparse_vs_dense",
    # sparse autoencoders on the toy model (notebook 09; the rest: toymodel.sae, toymodel.experiments.sae)
    "SAEScores", "SAESweep", "SparseAutoencoder", "load_sae_sweep", "mmcs", "score_sae", "train_sae",
    # the course outline's figures (the rest: toymodel.visualize)
    "compare_models", "plot_feature_embeddings_2d", "plot_feature_norms", "plot_interference_matrix",
]
