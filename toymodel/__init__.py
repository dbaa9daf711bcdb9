"""toymodel: the paper's toy models of superposition, small, fast and faithful.

Elhage et al. (2022), "Toy Models of Superposition", transformer-circuits.pub/2022/toy_model.
The course's API is importable from here; the going-further science lives in toymodel.phase,
toymodel.geometry, toymodel.neurons and toymodel.computation, the experiments in toymodel.experiments.
"""

from .data import density_sweep, generate_sparse_features, geometric_importance
from .metrics import (
    compute_feature_interference,
    dimensions_per_feature,
    embedding_angles,
    feature_dimensionality,
    feature_norms,
    n_represented,
    represented,
    superposition,
)
from .model import ToyModel
from .train import TrainResult, evaluate_loss, train_toy_model
from .visualize import compare_models, plot_feature_embeddings_2d, plot_feature_norms, plot_interference_matrix

__version__ = "0.1.0"

__all__ = [
    "ToyModel", "TrainResult", "compare_models", "compute_feature_interference", "density_sweep",
    "dimensions_per_feature", "embedding_angles", "evaluate_loss", "feature_dimensionality", "feature_norms",
    "generate_sparse_features", "geometric_importance", "n_represented", "plot_feature_embeddings_2d",
    "plot_feature_norms", "plot_interference_matrix", "represented", "superposition", "train_toy_model",
]
