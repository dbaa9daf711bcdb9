"""The course's four experiments as plain functions: each trains one batched model and returns a Sweep.

Used by the notebooks, by `python -m toymodel`, and by the science tests, so all three see the
same defaults.  Every setting of an experiment is one instance of a single ToyModel, trained
together in one run (best of `n_seeds` initialisations per instance; see seeds_for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .data import _check_positive_int, density_sweep, geometric_importance
from .metrics import n_represented
from .model import ToyModel
from .train import TrainResult, train_toy_model

def seeds_for(kind: str, n_seeds: int | None, default: int = 3) -> int:
    """Best-of-k: `default` seeds for the ReLU models, whose losses have real local minima (e.g. two antipodal
    pairs instead of a pentagon); 1 for the linear model, whose local minima are all global
    (Baldi & Hornik, 1989), so extra seeds would only cost time.  An explicit n_seeds wins."""
    if n_seeds is not None:
        return n_seeds
    return 1 if kind == "linear" else default


# The paper's sparsities for the 20 -> 5 figures: S = 0, 0.7, 0.9, 0.97, 0.99, 0.997, 0.999.
PAPER_DENSITIES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


@dataclass
class Sweep:
    """One experiment: instance k of `model` was trained at density[k] with importance[k].

    density:    [n_instances] feature probability p = 1 - S.
    importance: [n_instances, n_features].
    loss:       [n_instances] final loss on a fresh evaluation batch.
    decay:      [n_instances] importance decay (I_i = decay**i), where the experiment varies it.
    """

    model: ToyModel
    density: torch.Tensor
    importance: torch.Tensor
    loss: torch.Tensor
    decay: torch.Tensor | None = None
    train: TrainResult | None = field(default=None, repr=False)

    @property
    def sparsity(self) -> torch.Tensor:
        """S = 1 - p, [n_instances]."""
        return 1.0 - self.density

    @property
    def W(self) -> torch.Tensor:
        """[n_instances, n_features, n_hidden], detached."""
        return self.model.W.detach()

    def __len__(self) -> int:
        return self.model.n_instances

    def label(self, k: int) -> str:
        """A title for instance k, naming density and sparsity, e.g. 'p = 0.05 (S = 0.95)'."""
        p = float(self.density[k])
        text = f"p = {p:.3g} (S = {1 - p:.3g})"
        if self.decay is not None:
            text += f", I = {float(self.decay[k]):.3g}^i"
        return text

    def nearest(self, density: float | None = None, decay: float | None = None) -> int:
        """Index of the instance closest (in log density, then decay) to the given setting."""
        score = torch.zeros(len(self))
        if density is not None:
            score += (self.density.log() - torch.tensor(float(density)).log()).abs()
        if decay is not None:
            if self.decay is None:
                raise ValueError("this sweep does not vary the importance decay; leave decay=None")
            score += 10.0 * (self.decay - float(decay)).abs()
        return int(score.argmin())

    def n_represented(self) -> torch.Tensor:
        """[n_instances] features with ||W_i|| > 0.5."""
        return n_represented(self.W)


def _densities(densities: Sequence[float] | torch.Tensor | None, n_densities: int, p_min: float) -> torch.Tensor:
    if densities is None:
        return density_sweep(n_densities, p_min)
    d = torch.as_tensor(densities, dtype=torch.float32).flatten()
    if d.numel() == 0:
        raise ValueError("densities must hold at least one value in (0, 1]")
    if torch.isnan(d).any() or (d <= 0).any() or (d > 1).any():
        raise ValueError(f"densities must lie in (0, 1] (p = 1 - S), got {d.tolist()}")
    return d


def run_sweep(
    n_features: int,
    n_hidden: int,
    density: torch.Tensor,
    importance: torch.Tensor,
    *,
    kind: str = "relu_output",
    decay: torch.Tensor | None = None,
    seed: int = 0,
    n_seeds: int | None = None,
    steps: int | None = None,
    progress: bool | None = None,
) -> Sweep:
    """Train one batched model, one instance per (density[k], importance[k]); the building block of the experiments.

    density: [n_instances]; importance: [n_features] or [n_instances, n_features].
    """
    n_instances = density.shape[0]
    model = ToyModel(n_features, n_hidden, n_instances, kind=kind, seed=seed)
    n_seeds = seeds_for(kind, n_seeds)
    result = train_toy_model(model, density, importance, steps=steps, seed=seed, n_seeds=n_seeds, progress=progress)
    importance = torch.as_tensor(importance, dtype=torch.float32).expand(n_instances, n_features).clone()
    return Sweep(model, density.clone(), importance, result.loss, decay, result)


def basic_superposition(
    *,
    n_features: int = 5,
    n_hidden: int = 2,
    kind: str = "relu_output",
    densities: Sequence[float] | None = None,
    n_densities: int = 10,
    p_min: float = 0.05,
    importance_decay: float = 0.9,
    seed: int = 0,
    n_seeds: int | None = None,
    steps: int | None = None,
    progress: bool | None = None,
) -> Sweep:
    """Experiment 1: 5 features in 2 dimensions, importance 0.9^i, densities 1 ... 0.05 (the paper's intro figure).

    Dense: the 2 most important features, orthogonal (like PCA). Sparse: all 5 as a pentagon.
    """
    d = _densities(densities, n_densities, p_min)
    imp = geometric_importance(n_features, importance_decay)
    return run_sweep(n_features, n_hidden, d, imp, kind=kind, seed=seed, n_seeds=n_seeds, steps=steps, progress=progress)


def sparse_vs_dense(
    *,
    n_features: int = 20,
    n_hidden: int = 5,
    kind: str = "relu_output",
    densities: Sequence[float] | None = PAPER_DENSITIES,
    importance_decay: float = 0.7,
    seed: int = 0,
    n_seeds: int | None = None,
    steps: int | None = None,
    progress: bool | None = None,
) -> Sweep:
    """Experiment 2: the paper's 20 features -> 5 hidden, importance 0.7^i, S = 0 ... 0.999.

    Dense: the 5 most important features, no superposition. The sparser, the more features are packed in.
    """
    d = _densities(densities, 7, 0.001)
    imp = geometric_importance(n_features, importance_decay)
    return run_sweep(n_features, n_hidden, d, imp, kind=kind, seed=seed, n_seeds=n_seeds, steps=steps, progress=progress)


def feature_importance(
    *,
    n_features: int = 10,
    n_hidden: int = 3,
    kind: str = "relu_output",
    decays: Sequence[float] = (1.0, 0.9, 0.8, 0.7, 0.5),
    densities: Sequence[float] | None = None,
    n_densities: int = 6,
    p_min: float = 0.01,
    seed: int = 0,
    n_seeds: int | None = None,
    steps: int | None = None,
    progress: bool | None = None,
) -> Sweep:
    """Experiment 3: a grid of importance decay x density, trained as one model (decay-major order).

    Instance k = (decay index) * n_densities + (density index), importance I_i = decay**i.
    """
    d = _densities(densities, n_densities, p_min)
    dec = torch.as_tensor(decays, dtype=torch.float32).flatten()
    if dec.numel() == 0 or torch.isnan(dec).any() or (dec <= 0).any() or (dec > 1).any():
        raise ValueError(f"decays must be values in (0, 1], got {list(decays)}")
    grid_decay = dec.repeat_interleave(d.numel())
    grid_density = d.repeat(dec.numel())
    imp = torch.stack([geometric_importance(n_features, float(r)) for r in grid_decay])
    return run_sweep(
        n_features, n_hidden, grid_density, imp, kind=kind, decay=grid_decay,
        seed=seed, n_seeds=n_seeds, steps=steps, progress=progress,
    )


def dimensionality_sweep(
    *,
    n_features: int = 8,
    hidden_sizes: Sequence[int] = tuple(range(1, 9)),
    densities: Sequence[float] | None = (1.0, 0.3, 0.1, 0.03, 0.01),
    kind: str = "relu_output",
    seed: int = 0,
    n_seeds: int | None = None,
    steps: int | None = None,
    progress: bool | None = None,
) -> dict[int, Sweep]:
    """Experiment 4: 8 features of equal importance, n_hidden = 1 ... 8, several densities.

    Returns {n_hidden: Sweep over densities}.  All widths train in one batch: a model of width
    max(hidden_sizes) whose instance k uses only its first m_k hidden dimensions (see
    train_toy_model's active_hidden), then each width is cut out into its own ToyModel.
    """
    d = _densities(densities, 5, 0.01)
    if len(hidden_sizes) == 0:
        raise ValueError("hidden_sizes must hold at least one positive integer")
    for m in hidden_sizes:
        _check_positive_int("hidden_sizes entry", m)
    widths = torch.tensor(list(hidden_sizes)).repeat_interleave(d.numel())  # hidden-major
    m_max = int(widths.max())
    model = ToyModel(n_features, m_max, widths.numel(), kind=kind, seed=seed)
    with torch.no_grad():  # the init scale of each instance's own width
        model.W *= ((m_max / widths) ** 0.5)[:, None, None]
    density = d.repeat(len(hidden_sizes))
    n_seeds = seeds_for(kind, n_seeds, default=2)
    result = train_toy_model(model, density, 1.0, steps=steps, seed=seed, n_seeds=n_seeds, progress=progress,
                             active_hidden=widths)
    out = {}
    for j, m in enumerate(hidden_sizes):
        rows = slice(j * d.numel(), (j + 1) * d.numel())
        part = ToyModel(n_features, m, d.numel(), kind=kind, seed=None)
        with torch.no_grad():
            part.W.copy_(model.W[rows, :, :m])
            part.b.copy_(model.b[rows])
        out[m] = Sweep(part, d.clone(), torch.ones(d.numel(), n_features), result.loss[rows].clone())
    return out


# --------------------------------------------------------------------------------------------- notebook 07
# Superposition in a privileged basis (ReLU hidden layer) and computation in superposition (|x|).

from .computation import AbsTrainResult, AbsValueModel, train_abs_model  # noqa: E402

PRIVILEGED_DENSITIES = (1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01)
COMPUTATION_DENSITIES = (1.0, 0.3, 0.1, 0.03, 0.01)


def privileged_basis(
    *,
    n_features: int = 10,
    n_hidden: int = 5,
    densities: Sequence[float] | None = PRIVILEGED_DENSITIES,
    importance_decay: float = 0.75,
    seed: int = 0,
    n_seeds: int | None = 8,
    steps: int | None = 3_000,
    progress: bool | None = None,
) -> Sweep:
    """The paper's ReLU-hidden model x' = ReLU(W^T ReLU(W x) + b): 10 features, 5 neurons, I_i = 0.75^i.

    The paper keeps the best of 1000 models per density; best of 8 here (all in one batch), which
    gives the same monosemantic / polysemantic counts as best of 32 on every default density.
    """
    d = _densities(densities, 8, 0.01)
    imp = geometric_importance(n_features, importance_decay)
    return run_sweep(n_features, n_hidden, d, imp, kind="relu_hidden", seed=seed, n_seeds=n_seeds, steps=steps,
                     progress=progress)


@dataclass
class AbsSweep:
    """Absolute-value models, one per density: instance k of `model` was trained at density[k].

    density: [n_instances] p = 1 - S; importance: [n_instances, n_features]; loss: [n_instances].
    """

    model: AbsValueModel
    density: torch.Tensor
    importance: torch.Tensor
    loss: torch.Tensor
    train: AbsTrainResult | None = field(default=None, repr=False)

    @property
    def sparsity(self) -> torch.Tensor:
        """S = 1 - p, [n_instances]."""
        return 1.0 - self.density

    @property
    def W1(self) -> torch.Tensor:
        """[n_instances, n_features, n_hidden], detached: feature i -> neuron j."""
        return self.model.W1.detach()

    @property
    def W2(self) -> torch.Tensor:
        """[n_instances, n_features, n_hidden], detached: neuron j -> output i."""
        return self.model.W2.detach()

    def __len__(self) -> int:
        return self.model.n_instances

    def label(self, k: int) -> str:
        """'p = 0.1 (S = 0.9)' for instance k."""
        p = float(self.density[k])
        return f"p = {p:.3g} (S = {1 - p:.3g})"

    def nearest(self, density: float) -> int:
        """Index of the instance closest to `density` (in log density)."""
        return int((self.density.log() - torch.tensor(float(density)).log()).abs().argmin())


def computation_sweep(
    *,
    n_features: int = 100,
    n_hidden: int = 40,
    densities: Sequence[float] | None = COMPUTATION_DENSITIES,
    importance_decay: float = 0.8,
    seed: int = 0,
    n_seeds: int = 1,
    steps: int | None = 2_000,
    progress: bool | None = None,
) -> AbsSweep:
    """The paper's computation-in-superposition experiment: y = |x| with 100 features, 40 neurons, I_i = 0.8^i.

    One AbsValueModel instance per density, trained together.  n_features=3, n_hidden=6, densities=(1.0,)
    gives the paper's first, dense example (each feature gets a positive-side and a negative-side neuron).
    """
    d = _densities(densities, 5, 0.01)
    imp = geometric_importance(n_features, importance_decay)
    model = AbsValueModel(n_features, n_hidden, d.numel(), seed=seed)
    result = train_abs_model(model, d, imp, steps=steps, seed=seed, n_seeds=n_seeds, progress=progress)
    return AbsSweep(model, d.clone(), imp.expand(d.numel(), n_features).clone(), result.loss, result)
