"""Notebooks 01-04: the core experiments, each one batched model returned as a Sweep (or one Sweep per width).

Also the pieces every experiment shares: best-of-k seed counts (seeds_for), the paper's densities, the
density grid (given densities, checked, or a log-spaced default) and run_sweep, the building block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..data import density_sweep, geometric_importance
from ..model import ToyModel
from ..sweeps import Sweep
from ..train import Recipe, train_toy_model
from ..validate import check_densities, check_positive_int, check_positive_ints, check_vector

__all__ = [
    "PAPER_DENSITIES", "basic_superposition", "density_grid", "dimensionality_sweep", "experiment_recipe",
    "feature_importance",
    "run_sweep", "seeds_for", "sparse_vs_dense",
]


def seeds_for(kind: str, n_seeds: int | None, default: int = 3) -> int:
    """Best-of-k: `default` seeds for the ReLU models, whose losses have real local minima (e.g. two antipodal
    pairs instead of a pentagon); 1 for the linear model, whose local minima are all global
    (Baldi & Hornik, 1989), so extra seeds would only cost time.  An explicit n_seeds wins."""
    if n_seeds is not None:
        return n_seeds
    return 1 if kind == "linear" else default


# The paper's sparsities for the 20 -> 5 figures: S = 0, 0.7, 0.9, 0.97, 0.99, 0.997, 0.999.
PAPER_DENSITIES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


def experiment_recipe(caller: str, kind: str, keywords: dict[str, Any], default_seeds: int = 3) -> Recipe:
    """An experiment's Recipe from its training keywords (a TypeError naming `caller` for an unknown one), with
    the experiment's best-of-k default (seeds_for)."""
    n_seeds = seeds_for(kind, keywords.get("n_seeds"), default_seeds)
    return Recipe.of(caller, **{**keywords, "n_seeds": n_seeds})


def density_grid(densities: Sequence[float] | torch.Tensor | None, n_densities: int, p_min: float) -> torch.Tensor:
    """An experiment's densities, [n_instances]: `densities` checked (each in (0, 1]), or, when None,
    data.density_sweep(n_densities, p_min) (log-spaced from 1 down to p_min)."""
    if densities is None:
        return density_sweep(check_positive_int("n_densities", n_densities), p_min)
    return check_densities(densities)


def run_sweep(
    n_features: int,
    n_hidden: int,
    density: torch.Tensor,
    importance: torch.Tensor,
    *,
    kind: str = "relu_output",
    importance_decay: torch.Tensor | None = None,
    caller: str = "run_sweep",
    **recipe: Any,
) -> Sweep:
    """Train one batched model, one instance per (density[k], importance[k]); the building block of the experiments.

    density: [n_instances]; importance: [n_features] or [n_instances, n_features].
    recipe: train_toy_model's keywords (seed, n_seeds, steps, lr, batch_size, progress, ...); n_seeds defaults to
    seeds_for(kind) (3 for the ReLU models, 1 for the linear one).  caller: the name an unknown keyword's
    TypeError gives.
    """
    checked = experiment_recipe(caller, kind, recipe)
    n_instances = density.shape[0]
    model = ToyModel(n_features, n_hidden, n_instances, kind=kind, seed=checked.seed)
    result = train_toy_model(model, density, importance, recipe=checked)
    importance = torch.as_tensor(importance, dtype=torch.float32).expand(n_instances, n_features).clone()
    return Sweep(model, density.clone(), importance, result.loss, importance_decay, result)


def basic_superposition(
    *,
    n_features: int = 5,
    n_hidden: int = 2,
    kind: str = "relu_output",
    densities: Sequence[float] | None = None,
    n_densities: int = 10,
    p_min: float = 0.05,
    importance_decay: float = 0.9,
    **recipe: Any,
) -> Sweep:
    """Experiment 1: 5 features in 2 dimensions, importance 0.9^i, densities 1 ... 0.05 (the paper's intro figure).

    Dense: the 2 most important features, orthogonal (like PCA). Sparse: all 5 as a pentagon.
    recipe: train_toy_model's keywords (seed, n_seeds, steps, lr, progress, ...), as in run_sweep.
    """
    d = density_grid(densities, n_densities, p_min)
    imp = geometric_importance(n_features, importance_decay)
    return run_sweep(n_features, n_hidden, d, imp, kind=kind, caller="basic_superposition", **recipe)


def sparse_vs_dense(
    *,
    n_features: int = 20,
    n_hidden: int = 5,
    kind: str = "relu_output",
    densities: Sequence[float] | None = PAPER_DENSITIES,
    importance_decay: float = 0.7,
    **recipe: Any,
) -> Sweep:
    """Experiment 2: the paper's 20 features -> 5 hidden, importance 0.7^i, S = 0 ... 0.999.

    Dense: the 5 most important features, no superposition. The sparser, the more features are packed in.
    The same experiment as basic_superposition, at the paper's second size; recipe as there.
    """
    Recipe.of("sparse_vs_dense", **recipe)  # an unknown keyword names this experiment
    return basic_superposition(n_features=n_features, n_hidden=n_hidden, kind=kind, densities=densities,
                               n_densities=7, p_min=0.001, importance_decay=importance_decay, **recipe)


def feature_importance(
    *,
    n_features: int = 10,
    n_hidden: int = 3,
    kind: str = "relu_output",
    importance_decays: Sequence[float] = (1.0, 0.9, 0.8, 0.7, 0.5),
    densities: Sequence[float] | None = None,
    n_densities: int = 6,
    p_min: float = 0.01,
    **recipe: Any,
) -> Sweep:
    """Experiment 3: a grid of importance decay x density, trained as one model (decay-major order).

    Instance k = (decay index) * n_densities + (density index), importance I_i = importance_decay**i.
    recipe: train_toy_model's keywords (seed, n_seeds, steps, lr, progress, ...), as in run_sweep.
    """
    d = density_grid(densities, n_densities, p_min)
    dec = check_vector("importance_decays", importance_decays, 0.0, 1.0, low_open=True)
    grid_decay = dec.repeat_interleave(d.numel())
    grid_density = d.repeat(dec.numel())
    imp = torch.stack([geometric_importance(n_features, float(r)) for r in grid_decay])
    return run_sweep(n_features, n_hidden, grid_density, imp, kind=kind, importance_decay=grid_decay,
                     caller="feature_importance", **recipe)


def dimensionality_sweep(
    *,
    n_features: int = 8,
    hidden_sizes: Sequence[int] = tuple(range(1, 9)),
    densities: Sequence[float] | None = (1.0, 0.3, 0.1, 0.03, 0.01),
    kind: str = "relu_output",
    **recipe: Any,
) -> dict[int, Sweep]:
    """Experiment 4: 8 features of equal importance, n_hidden = 1 ... 8, several densities.

    Returns {n_hidden: Sweep over densities}.  All widths train in one batch: a model of width
    max(hidden_sizes) whose instance k uses only its first m_k hidden dimensions (see
    train_toy_model's active_hidden), then each width is cut out into its own ToyModel.
    recipe: train_toy_model's keywords (seed, n_seeds, steps, lr, progress, ...); n_seeds defaults to 2.
    """
    d = density_grid(densities, 5, 0.01)
    hidden_sizes = check_positive_ints("hidden_sizes", hidden_sizes)
    widths = torch.tensor(hidden_sizes).repeat_interleave(d.numel())  # hidden-major
    m_max = int(widths.max())
    checked = experiment_recipe("dimensionality_sweep", kind, recipe, default_seeds=2)
    model = ToyModel(n_features, m_max, widths.numel(), kind=kind, seed=checked.seed)
    with torch.no_grad():  # the init scale of each instance's own width
        model.W *= ((m_max / widths) ** 0.5)[:, None, None]
    density = d.repeat(len(hidden_sizes))
    result = train_toy_model(model, density, 1.0, active_hidden=widths, recipe=checked)
    out = {}
    for j, m in enumerate(hidden_sizes):
        rows = slice(j * d.numel(), (j + 1) * d.numel())
        part = ToyModel(n_features, m, d.numel(), kind=kind, seed=None)
        with torch.no_grad():
            part.W.copy_(model.W[rows, :, :m])
            part.b.copy_(model.b[rows])
        out[m] = Sweep(part, d.clone(), torch.ones(d.numel(), n_features, dtype=torch.float32),
                       result.loss[rows].clone())
    return out
