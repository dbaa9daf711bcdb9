"""The course's experiments as plain functions: each trains one batched model and returns its results.

The four core experiments (notebooks 01-04) return a Sweep; the going-further ones return their own
small dataclasses: phase_diagram -> PhaseDiagram (05), feature_geometry_run / load_feature_geometry ->
GeometryRun (06, the 400 -> 30 run is precomputed), privileged_basis -> Sweep and computation_sweep ->
AbsSweep (07).

Used by the notebooks, by `python -m toymodel`, and by the science tests, so all three see the
same defaults.  Every setting of an experiment is one instance of a single ToyModel, trained
together in one run (best of `n_seeds` initialisations per instance; see seeds_for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from pathlib import Path
import zipfile

import numpy as np
import torch

from .computation import AbsValueModel, train_abs_model
from .correlated import train_correlated
from .data import check_relation, density_sweep, geometric_importance
from .metrics import feature_dimensionality
from .model import ToyModel, xavier_normal
from .phase import (
    candidate_losses,
    classify_candidate,
    classify_phase,
    theoretical_candidate,
    theoretical_phase,
)
from .sweeps import AbsSweep, DensitySweep, PhaseDiagram, SetSweep, Sweep
from .train import evaluate_loss, train_toy_model
from .validate import check_finite, check_in_range, check_positive_int, check_seed, holds_bool

__all__ = [
    "AbsSweep", "basic_superposition", "COMPUTATION_DENSITIES", "computation_sweep", "CORRELATED_DENSITIES",
    "correlated_features", "DensitySweep", "digons_init", "dimensionality_sweep", "feature_geometry_densities",
    "FEATURE_GEOMETRY_FILE", "feature_geometry_run", "feature_importance", "GEOMETRY_ENTRIES", "GEOMETRY_N_DENSITIES",
    "GEOMETRY_P_MIN", "GEOMETRY_SEEDS", "GeometryRun", "learning_dynamics", "load_feature_geometry",
    "NONUNIFORM_EVAL_BATCH_SIZE", "NONUNIFORM_EVAL_SEEDS", "NONUNIFORM_RATIOS", "nonuniform_superposition",
    "NonUniformRun", "PAPER_DENSITIES", "pentagon_init", "PHASE_DEFAULTS", "phase_diagram", "PHASE_EVAL_BATCH_SIZE",
    "PhaseDiagram", "privileged_basis", "PRIVILEGED_DENSITIES", "RESULTS_DIR", "run_sweep", "save_feature_geometry",
    "seeds_for", "SetSweep", "small_polytopes", "sparse_vs_dense", "Sweep", "TrainingRun"
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


def _densities(densities: Sequence[float] | torch.Tensor | None, n_densities: int, p_min: float) -> torch.Tensor:
    if densities is None:
        return density_sweep(check_positive_int("n_densities", n_densities), p_min)
    if holds_bool(densities):
        raise ValueError(f"densities must hold numbers in (0, 1] (p = 1 - S), got {densities!r}")
    try:
        d = torch.as_tensor(densities, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"densities must be a sequence of numbers in (0, 1] (p = 1 - S), got {densities!r}") from err
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
    importance_decay: torch.Tensor | None = None,
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
    return run_sweep(n_features, n_hidden, d, imp, kind=kind, seed=seed, n_seeds=n_seeds, steps=steps,
                     progress=progress)


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
    return run_sweep(n_features, n_hidden, d, imp, kind=kind, seed=seed, n_seeds=n_seeds, steps=steps,
                     progress=progress)


def feature_importance(
    *,
    n_features: int = 10,
    n_hidden: int = 3,
    kind: str = "relu_output",
    importance_decays: Sequence[float] = (1.0, 0.9, 0.8, 0.7, 0.5),
    densities: Sequence[float] | None = None,
    n_densities: int = 6,
    p_min: float = 0.01,
    seed: int = 0,
    n_seeds: int | None = None,
    steps: int | None = None,
    progress: bool | None = None,
) -> Sweep:
    """Experiment 3: a grid of importance decay x density, trained as one model (decay-major order).

    Instance k = (decay index) * n_densities + (density index), importance I_i = importance_decay**i.
    """
    d = _densities(densities, n_densities, p_min)
    dec = torch.as_tensor(importance_decays, dtype=torch.float32).flatten()
    if dec.numel() == 0 or torch.isnan(dec).any() or (dec <= 0).any() or (dec > 1).any():
        raise ValueError(f"importance_decays must be values in (0, 1], got {list(importance_decays)}")
    grid_decay = dec.repeat_interleave(d.numel())
    grid_density = d.repeat(dec.numel())
    imp = torch.stack([geometric_importance(n_features, float(r)) for r in grid_decay])
    return run_sweep(
        n_features, n_hidden, grid_density, imp, kind=kind, importance_decay=grid_decay,
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
        check_positive_int("hidden_sizes entry", m)
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


# ------------------------------------------------------------------------- notebook 05: the phase diagram


def _log_grid(name: str, values: Sequence[float] | torch.Tensor | None, n: int, low: float,
              high: float) -> torch.Tensor:
    if values is None:
        check_positive_int(f"n_{name}", n)
        return torch.logspace(torch.log10(torch.tensor(low)), torch.log10(torch.tensor(high)), n)
    try:
        if holds_bool(values):
            raise TypeError("booleans are not numbers here")
        v = torch.as_tensor(values, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a sequence of positive numbers, got {values!r}") from err
    hi_ok = (v <= 1).all() if name == "densities" else torch.isfinite(v).all()
    if v.numel() == 0 or torch.isnan(v).any() or (v <= 0).any() or not hi_ok:
        allowed = "(0, 1] (p = 1 - S)" if name == "densities" else "(0, inf)"
        raise ValueError(f"{name} must hold at least one number in {allowed}, got {values!r}")
    return v


PHASE_EVAL_BATCH_SIZE = 8192  # PhaseDiagram.loss: measured on 8 x 8192 fresh samples
PHASE_DEFAULTS = {  # measured: see notebooks/README.md, "Why the phase diagram's defaults"
    2: {"steps": 2000, "batch_size": 256, "n_seeds": 6},
    3: {"steps": 1000, "batch_size": 2048, "n_seeds": 4},
}


def phase_diagram(
    n_features: int = 2,
    *,
    ratios: Sequence[float] | torch.Tensor | None = None,
    densities: Sequence[float] | torch.Tensor | None = None,
    n_ratios: int = 20,
    n_densities: int = 20,
    n_seeds: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> PhaseDiagram:
    """The paper's phase diagram: n_features -> n_features - 1 (2 -> 1 or 3 -> 2), ReLU output model.

    The last ("extra") feature has importance r, the others 1; every feature has density p.  By default
    r runs over n_ratios log-spaced values from 0.1 to 10 and p over n_densities log-spaced values from
    0.01 to 1 (S = 0.99 ... 0), as in the paper.  Every grid point is one instance of ONE batched
    ToyModel, each the best (lowest loss) of n_seeds initialisations (the paper trains ten per point).
    Defaults (None): PHASE_DEFAULTS (2 -> 1: 2000 steps, batch 256, best of 6; 3 -> 2: 1000 steps, batch
    2048, best of 4); why these, measured, is in notebooks/README.md.
    """
    if isinstance(n_features, bool) or n_features not in (2, 3):
        raise ValueError(f"n_features must be 2 (2 -> 1 dim) or 3 (3 -> 2 dims), got {n_features!r}")
    r = _log_grid("ratios", ratios, n_ratios, 0.1, 10.0)
    p = _log_grid("densities", densities, n_densities, 0.01, 1.0)
    defaults = PHASE_DEFAULTS[n_features]
    n_seeds = defaults["n_seeds"] if n_seeds is None else n_seeds
    steps = defaults["steps"] if steps is None else steps
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    check_positive_int("n_seeds", n_seeds)
    K = len(r) * len(p)
    importance = torch.ones(K, n_features)
    importance[:, -1] = r.repeat_interleave(len(p))
    density = p.repeat(len(r))
    model = ToyModel(n_features, n_features - 1, K, seed=seed)
    result = train_toy_model(model, density, importance, steps=steps, batch_size=batch_size, seed=seed,
                             n_seeds=n_seeds, progress=progress)
    # the loss on a larger evaluation set than training's (8 x batch_size): at small p the interference
    # terms need two features active at once (probability p^2), which a small set hardly samples
    eval_loss = evaluate_loss(model, density, importance, batch_size=max(batch_size, PHASE_EVAL_BATCH_SIZE), seed=seed)
    grid = (len(r), len(p))
    rr, pp = r.double().numpy()[:, None], p.double().numpy()[None, :]
    return PhaseDiagram(
        n_features=n_features, ratio=r, density=p, model=model, loss=eval_loss.view(grid),
        phase=classify_phase(model.W).view(grid), candidate=classify_candidate(model.W).view(grid),
        theory_phase=torch.as_tensor(theoretical_phase(n_features, rr, pp)),
        theory_candidate=torch.as_tensor(theoretical_candidate(n_features, rr, pp)),
        candidate_loss=torch.as_tensor(candidate_losses(n_features, rr, pp), dtype=torch.float32),
        train=result,
    )


# ---------------------------------------------------------------- notebook 06: feature geometry (uniform superposition)


GEOMETRY_N_FEATURES, GEOMETRY_N_HIDDEN = 400, 30  # the paper's uniform-superposition model
GEOMETRY_P_MIN = 0.05  # densest 1, sparsest 0.05: 1/(1-S) from 1 to 20; sparser, D* only creeps down (0.07 at p = 0.02)
GEOMETRY_N_DENSITIES = 20
GEOMETRY_SEEDS = 2  # copies agree to ~0.1% in loss (measured with 3): more buy nothing here
RESULTS_DIR = Path(__file__).resolve().parent / "results"
FEATURE_GEOMETRY_FILE = RESULTS_DIR / "feature_geometry.npz"


def feature_geometry_densities(n_densities: int = GEOMETRY_N_DENSITIES, p_min: float = GEOMETRY_P_MIN) -> torch.Tensor:
    """The precomputed run's densities: p = p_min**linspace(0, 1, n), dense -> sparse, [n_densities]."""
    return density_sweep(check_positive_int("n_densities", n_densities), p_min)


def _geometry_init(n_features: int, n_hidden: int, index: int, copy: int, seed: int) -> torch.Tensor:
    """The xavier-normal init of grid instance `index`, best-of-k copy `copy`: [n_features, n_hidden].

    Each (index, copy) has its own generator, so an instance starts the same whichever others train beside it.
    """
    state = np.random.SeedSequence((check_seed(seed), index, copy)).generate_state(1, dtype=np.uint64)[0]
    g = torch.Generator().manual_seed(int(state >> 1))
    return xavier_normal(1, n_features, n_hidden, g)[0]


@dataclass
class GeometryRun:
    """Uniform superposition across densities (every I_i = 1, every feature with the same density).

    W:           [n_densities, n_features, n_hidden] kept copy (lowest loss) per density.
    density:     [n_densities] p = 1 - S;  index: [n_densities] position of each in the full grid.
    loss:        [n_densities] loss of the kept copy;  copy_losses: [n_seeds, n_densities] every copy's loss.
    """

    W: torch.Tensor
    density: torch.Tensor
    index: torch.Tensor
    loss: torch.Tensor
    copy_losses: torch.Tensor
    steps: int
    lr: float
    seed: int
    version: str = ""

    @property
    def n_seeds(self) -> int:
        return self.copy_losses.shape[0]

    def sweep(self) -> Sweep:
        """The run as a Sweep (a ToyModel holding W, b = 0), for the plotting functions and explorers.

        b is not stored (it does not enter any geometric measure); the Sweep is for looking, not for evaluating.
        """
        n_inst, n, m = self.W.shape
        model = ToyModel(n, m, n_inst, seed=None)
        with torch.no_grad():
            model.W.copy_(self.W)
            model.b.zero_()
        return Sweep(model, self.density.clone(), torch.ones(n_inst, n), self.loss.clone())


def feature_geometry_run(
    indices: Sequence[int] | None = None,
    *,
    n_features: int = GEOMETRY_N_FEATURES,
    n_hidden: int = GEOMETRY_N_HIDDEN,
    n_densities: int = GEOMETRY_N_DENSITIES,
    p_min: float = GEOMETRY_P_MIN,
    n_seeds: int = GEOMETRY_SEEDS,
    steps: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> GeometryRun:
    """Train the paper's uniform-superposition sweep (400 features -> 30 hidden, I_i = 1) at some or all densities.

    indices: which densities of feature_geometry_densities(n_densities, p_min) to train (None: all).
    Best-of-k is done here, not with train_toy_model's n_seeds: copy c of grid instance i starts from
    _geometry_init(.., i, c, seed) and is trained as an instance of its own (n_seeds=1), so an instance's
    init, data (FeatureStream is shared by all rows) and result do not depend on which other indices train
    beside it: a slice reproduces the full run (tests/test_feature_geometry.py).
    """
    check_positive_int("n_seeds", n_seeds)
    grid = feature_geometry_densities(n_densities, p_min)
    try:
        idx = list(range(n_densities)) if indices is None else [int(i) for i in indices]
    except (TypeError, ValueError):
        idx = []
    if not idx or any(i < 0 or i >= n_densities for i in idx) or len(set(idx)) != len(idx):
        raise ValueError(f"indices must be distinct integers in 0..{n_densities - 1}, got {indices!r}")
    K = len(idx)
    model = ToyModel(n_features, n_hidden, K * n_seeds, seed=None)
    with torch.no_grad():  # copy-major: row c * K + j is copy c of density idx[j]
        for c in range(n_seeds):
            for j, i in enumerate(idx):
                model.W[c * K + j] = _geometry_init(n_features, n_hidden, i, c, seed)
    density = grid[idx]
    result = train_toy_model(model, density.repeat(n_seeds), 1.0, steps=steps, lr=lr, seed=seed, progress=progress)
    copy_losses = result.loss.view(n_seeds, K)
    best = copy_losses.argmin(0)
    rows = best * K + torch.arange(K)
    return GeometryRun(
        W=model.W.detach()[rows].clone(), density=density.clone(), index=torch.tensor(idx),
        loss=copy_losses[best, torch.arange(K)].clone(), copy_losses=copy_losses.clone(),
        steps=result.steps, lr=result.lr, seed=seed,
    )


def save_feature_geometry(run: GeometryRun, path: str | Path = FEATURE_GEOMETRY_FILE) -> Path:
    """Write a GeometryRun to a compressed .npz (W as float32; ~1 MB for the full 400 -> 30 run)."""
    from . import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, W=run.W.numpy().astype(np.float32), densities=run.density.numpy(), index=run.index.numpy(),
        n=run.W.shape[1], m=run.W.shape[2], steps=run.steps, lr=run.lr, seed=run.seed, n_seeds=run.n_seeds,
        losses=run.loss.numpy(), copy_losses=run.copy_losses.numpy(), version=__version__,
    )
    return path


GEOMETRY_ENTRIES = ("W", "densities", "index", "losses", "copy_losses", "steps", "lr", "seed", "version")


def load_feature_geometry(path: str | Path = FEATURE_GEOMETRY_FILE) -> GeometryRun:
    """Load the precomputed uniform-superposition run shipped with the package (tools/make_feature_geometry.py)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no precomputed run at {path}: run `python tools/make_feature_geometry.py` to make it")
    remake = "remake it with `python tools/make_feature_geometry.py` (or reinstall the package)"
    try:
        with np.load(path) as f:
            missing = sorted(set(GEOMETRY_ENTRIES) - set(f.files))
            if missing:
                raise KeyError(", ".join(missing))
            run = GeometryRun(
                W=torch.from_numpy(f["W"].astype(np.float32)), density=torch.from_numpy(f["densities"]),
                index=torch.from_numpy(f["index"]), loss=torch.from_numpy(f["losses"]),
                copy_losses=torch.from_numpy(f["copy_losses"]), steps=int(f["steps"]), lr=float(f["lr"]),
                seed=int(f["seed"]), version=str(f["version"]),
            )
    except KeyError as err:
        raise ValueError(f"{path} lacks the entries {err.args[0]}: it is not a complete feature-geometry run; "
                         f"{remake}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is corrupt or truncated ({type(err).__name__}: {err}); {remake}") from None
    for name in ("W", "density", "loss"):
        try:
            check_finite(f"{path}: {name}", getattr(run, name))
        except ValueError as err:
            raise ValueError(f"{err}; {remake}") from None
    n = run.W.shape[0]
    if run.W.ndim != 3 or run.density.shape != (n,) or run.loss.shape != (n,):
        raise ValueError(f"{path} holds arrays of inconsistent shapes (W {tuple(run.W.shape)}, densities "
                         f"{tuple(run.density.shape)}); {remake}")
    return run


def small_polytopes(
    sizes: Sequence[int] = (4, 5, 6, 8),
    n_hidden: int = 3,
    density: float = 0.05,
    *,
    seed: int = 0,
    n_seeds: int = 4,
    steps: int | None = None,
    progress: bool | None = None,
) -> dict[int, torch.Tensor]:
    """Uniform superposition in a few dimensions: for each n in sizes, n equal features -> n_hidden.

    Returns {n: W [n, n_hidden]} (the best of n_seeds), small enough to draw in 3-D.  All sizes train as
    one batched model with max(sizes) features: instance k gives features n_k.. density 0, so they
    never fire and never touch the others (their rows are cut off).
    """
    given, sizes = sizes, [check_positive_int("sizes", n) for n in sizes]
    if not sizes:
        raise ValueError(f"sizes must hold at least one positive integer (a number of features), got {given!r}")
    check_positive_int("n_hidden", n_hidden)
    density = check_in_range("density", density, 0.0, 1.0, low_open=True,
                             allowed="p = 1 - S in (0, 1]")
    N = max(sizes)
    p = torch.zeros(len(sizes), N)
    for k, n in enumerate(sizes):
        p[k, :n] = density
    model = ToyModel(N, n_hidden, len(sizes), seed=seed)
    train_toy_model(model, p, 1.0, steps=steps, seed=seed, n_seeds=n_seeds, progress=progress)
    return {n: model.W.detach()[k, :n].clone() for k, n in enumerate(sizes)}


# --------------------------------------------------------------------------------------------- notebook 07
# Superposition in a privileged basis (ReLU hidden layer) and computation in superposition (|x|).


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
    dtype: torch.dtype = torch.float64,
) -> AbsSweep:
    """The paper's computation-in-superposition experiment: y = |x| with 100 features, 40 neurons, I_i = 0.8^i.

    One AbsValueModel instance per density, trained together.  n_features=3, n_hidden=6, densities=(1.0,)
    gives the paper's first, dense example (each feature gets a positive-side and a negative-side neuron).
    Trained in float64 by default: in float32 the 6th-digit differences between CPUs (MKL's code paths) grow,
    over 2,000 steps of this many-neuron model, into different neurons (monosemantic counts 35 vs 38 at
    p = 0.3); in float64 they stay below the printed precision.  It costs ~1.6x the time.
    """
    d = _densities(densities, 5, 0.01)
    imp = geometric_importance(n_features, importance_decay)
    model = AbsValueModel(n_features, n_hidden, d.numel(), seed=seed, dtype=dtype)
    result = train_abs_model(model, d, imp, steps=steps, seed=seed, n_seeds=n_seeds, progress=progress)
    return AbsSweep(model, d.clone(), imp.expand(d.numel(), n_features).clone(), result.loss, result)


# --------------------------------------------------------------------------------------------- notebook 08
# Non-uniform superposition, correlated / anticorrelated feature sets, and learning dynamics.


CORRELATED_DENSITIES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)


def correlated_features(
    relation: str,
    n_pairs: int = 2,
    n_hidden: int = 2,
    densities: Sequence[float] | torch.Tensor | None = None,
    n_seeds: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
    *,
    set_size: int = 2,
    steps: int | None = None,
) -> SetSweep:
    """Correlated or anticorrelated feature sets -> n_hidden, one instance per density, importance 1 (the paper's).

    relation: "correlated" (an active set switches on all its members, values independent U[0, 1)) or
    "anticorrelated" (an active set switches on exactly one member, chosen uniformly).  Features 2k and
    2k+1 form pair k (set_size members per set in general: n_pairs sets, n_pairs * set_size features).
    densities: the probability that a set is active (default CORRELATED_DENSITIES, 0.01 ... 0.5).
    n_seeds: best-of-k; default 3 when the features fit in antipodal pairs (n_features <= 2 n_hidden), else 8
    (3 correlated pairs in 2-D have many near-equal local minima: best of 3 gave scattered collapse counts).
    Returns a SetSweep (a Sweep; Sweep.density[i] = the set probability of instance i).
    """
    relation = check_relation(relation)
    check_positive_int("n_pairs", n_pairs)
    check_positive_int("n_hidden", n_hidden)
    check_positive_int("set_size", set_size)
    d = _densities(CORRELATED_DENSITIES if densities is None else densities, 8, 0.01)
    n_features = n_pairs * set_size
    n_seeds = check_positive_int("n_seeds", seeds_for("relu_output", n_seeds, 3 if n_features <= 2 * n_hidden else 8))
    model = ToyModel(n_features, n_hidden, d.numel(), seed=seed)
    result = train_correlated(model, d, relation, set_size, steps=steps, seed=seed, n_seeds=n_seeds,
                              progress=progress)
    return SetSweep(model, d.clone(), torch.ones(d.numel(), n_features), result.loss, None, result,
                    relation=relation, set_size=set_size)


NONUNIFORM_RATIOS = (1.0, 1.5, 2.0, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)
NONUNIFORM_EVAL_BATCH_SIZE = 16384  # family losses on NONUNIFORM_EVAL_SEEDS x 8 x 16384 samples (~0.5 M): the two
NONUNIFORM_EVAL_SEEDS = 4      # differ by ~3% next to the crossing; in 4 calls, to keep the memory small


def pentagon_init(n_features: int = 5) -> torch.Tensor:
    """A regular n-gon of unit vectors in 2-D, [n_features, 2] (feature i at angle 2 pi i / n)."""
    a = torch.arange(check_positive_int("n_features", n_features), dtype=torch.float32) * (2 * np.pi / n_features)
    return torch.stack([a.cos(), a.sin()], -1)


def digons_init() -> torch.Tensor:
    """Two antipodal pairs on the axes (features 0, 2 and 1, 3), feature 4 dropped: [5, 2]."""
    return torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [0.0, 0.0]])


@dataclass
class NonUniformRun:
    """5 equal features in 2-D at density p, feature 4 made `ratio` times sparser (density p / ratio).

    ratio:         [n_r] how much sparser feature 4 is (1: uniform; < 1: denser).
    W:             {"pentagon": [n_r, 5, 2], "digons": [n_r, 5, 2]}: each family trained from its own start
                   (pentagon_init, digons_init) at every ratio, so each follows its own local minimum.
    loss:          {"pentagon": [n_r], "digons": [n_r]} on 4 x 8 x NONUNIFORM_EVAL_BATCH_SIZE samples (the same for both).
    random_ratio:  [n_q] ratios at which n_inits random (xavier-normal) starts were trained, one seed each;
    random_W:      [n_inits, n_q, 5, 2] their trained weights; random_loss [n_inits, n_q].
    """

    density: float
    ratio: torch.Tensor
    W: dict[str, torch.Tensor]
    loss: dict[str, torch.Tensor]
    random_ratio: torch.Tensor
    random_W: torch.Tensor
    random_loss: torch.Tensor
    steps: int

    def shape_of(self, W: torch.Tensor) -> torch.Tensor:
        """[...] 1 where W ([..., 5, 2]) is a pentagon-like solution (all 5 represented), 0 where it is two
        digons (feature 4 dropped, the other 4 in two antipodal pairs), -1 otherwise."""
        if not isinstance(W, torch.Tensor) or W.ndim < 2 or tuple(W.shape[-2:]) != (5, 2):
            raise ValueError(f"W must be a tensor [..., 5, 2] (5 features in 2 dims), got "
                             f"{tuple(W.shape) if isinstance(W, torch.Tensor) else type(W).__name__}")
        norms = W.norm(dim=-1)
        rep = norms > 0.5
        pent = rep.all(-1)
        U = W[..., :4, :] / norms[..., :4, None].clamp(min=1e-12)
        antipodal = ((U @ U.transpose(-1, -2)) < -0.95).sum((-1, -2)) == 4  # each of the 4 has one antipode
        dig = rep[..., :4].all(-1) & ~rep[..., 4] & antipodal
        return torch.where(pent, 1, torch.where(dig, 0, -1))

    def intact(self, family: str) -> torch.Tensor:
        """[n_r] bool: the family kept its shape at that ratio (a pentagon with 5 features; two digons)."""
        if family not in self.W:
            raise ValueError(f"family must be 'pentagon' or 'digons', got {family!r}")
        want = 1 if family == "pentagon" else 0
        return self.shape_of(self.W[family]) == want

    def critical_ratio(self) -> float:
        """Where the two families' losses cross: log-linear interpolation of loss(pentagon) - loss(digons)
        between the last ratio where the pentagon is lower and the next one, where the digons are (both intact)."""
        ok = self.intact("pentagon") & self.intact("digons")
        diff = (self.loss["pentagon"] - self.loss["digons"]).double()
        r = self.ratio.double().log()
        for i in range(len(r) - 1):
            if ok[i] and ok[i + 1] and diff[i] < 0 <= diff[i + 1]:
                t = float(-diff[i] / (diff[i + 1] - diff[i]))
                return float(torch.exp(r[i] + t * (r[i + 1] - r[i])))
        raise ValueError("the two families' losses do not cross inside the ratio grid")

    def digon_fraction(self) -> torch.Tensor:
        """[n_q] share of the random starts at each random_ratio that ended as two digons."""
        return (self.shape_of(self.random_W) == 0).float().mean(0)

    def seeds_needed(self, confidence: float = 0.95) -> torch.Tensor:
        """[n_q] best-of-k seeds needed to find the digons with probability `confidence`, from q = digon_fraction:
        the smallest k with 1 - (1 - q)^k >= confidence (inf where no start found them)."""
        if not (isinstance(confidence, float) and 0 < confidence < 1):
            raise ValueError(f"confidence must be a probability in (0, 1), got {confidence!r}")
        q = self.digon_fraction().double()
        k = torch.ceil(math.log(1.0 - confidence) / torch.log1p(-q.clamp(max=1 - 1e-12)) - 1e-9).clamp(min=1)
        return torch.where(q <= 0, torch.full_like(k, float("inf")), k)


def nonuniform_superposition(
    ratios: Sequence[float] | torch.Tensor | None = None,
    density: float = 0.05,
    n_inits: int = 12,
    random_ratios: Sequence[float] | torch.Tensor | None = (2.0, 4.0, 8.0),
    *,
    seed: int = 0,
    steps: int | None = None,
    progress: bool | None = None,
) -> NonUniformRun:
    """The paper's non-uniform superposition: 5 equal features -> 2 dims at density p, feature 4 `ratio` x sparser.

    Trains, as ONE batched model (the library's recipe): the pentagon family and the two-digon family (each
    from its own start at every ratio), and n_inits random starts at each of random_ratios (how often a
    single seed finds each solution: what best-of-k needs).
    """
    r = _log_grid("ratios", NONUNIFORM_RATIOS if ratios is None else ratios, 0, 0.1, 10.0)
    rq = _log_grid("random_ratios", random_ratios, 0, 0.1, 10.0)
    if isinstance(density, bool) or not isinstance(density, (int, float)) or not 0 < density <= 1:
        raise ValueError(f"density must be p = 1 - S in (0, 1], got {density!r}")
    check_positive_int("n_inits", n_inits)
    n_r, n_q = len(r), len(rq)
    model = ToyModel(5, 2, 2 * n_r + n_inits * n_q, seed=seed)  # [pentagons | digons | random, init-major]
    with torch.no_grad():
        model.W[:n_r] = pentagon_init(5)
        model.W[n_r:2 * n_r] = digons_init()
    ratio_of_row = torch.cat([r, r, rq.repeat(n_inits)])
    p = torch.full((len(ratio_of_row), 5), float(density))
    p[:, 4] = density / ratio_of_row
    result = train_toy_model(model, p, 1.0, steps=steps, seed=seed, progress=progress)
    W = model.W.detach()
    fam = ToyModel(5, 2, 2 * n_r, seed=None)
    with torch.no_grad():
        fam.W.copy_(W[:2 * n_r])
        fam.b.copy_(model.b[:2 * n_r])
    fam_loss = sum(evaluate_loss(fam, p[:2 * n_r], batch_size=NONUNIFORM_EVAL_BATCH_SIZE, seed=seed + 1000 * j)
                   for j in range(NONUNIFORM_EVAL_SEEDS)).view(2, n_r) / NONUNIFORM_EVAL_SEEDS
    return NonUniformRun(
        density=float(density), ratio=r, W={"pentagon": W[:n_r].clone(), "digons": W[n_r:2 * n_r].clone()},
        loss={"pentagon": fam_loss[0], "digons": fam_loss[1]}, random_ratio=rq,
        random_W=W[2 * n_r:].reshape(n_inits, n_q, 5, 2).clone(),
        random_loss=result.loss[2 * n_r:].reshape(n_inits, n_q).clone(), steps=result.steps,
    )


@dataclass
class TrainingRun:
    """One model recorded during training (train_toy_model's snapshots), for the learning-dynamics figures.

    step: [n_snap]; W: [n_snap, n_features, n_hidden]; b: [n_snap, n_features];
    train_loss: [n_snap] the training batch's loss at that step; loss: [n_snap] each snapshot's loss on one
    fixed evaluation set (8 x eval_batch samples; smooth, unlike the single-batch training loss).
    """

    step: torch.Tensor
    W: torch.Tensor
    b: torch.Tensor
    train_loss: torch.Tensor
    loss: torch.Tensor
    density: float
    lr: float
    steps: int

    def __len__(self) -> int:
        return len(self.step)

    @property
    def dimensionality(self) -> torch.Tensor:
        """D_i at every snapshot, [n_snap, n_features] (metrics.feature_dimensionality)."""
        return feature_dimensionality(self.W)

    def nearest(self, step: int) -> int:
        """The snapshot closest to training step `step`."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise ValueError(f"step must be an integer training step, got {step!r}")
        return int((self.step - int(step)).abs().argmin())


def learning_dynamics(
    n_features: int = 5,
    n_hidden: int = 2,
    density: float = 0.05,
    *,
    steps: int = 6000,
    lr: float = 1e-3,
    snapshot_every: int = 20,
    eval_batch: int = 8192,
    seed: int = 0,
    progress: bool | None = None,
) -> TrainingRun:
    """Train one model (n equal features -> n_hidden at density p) and record W every snapshot_every steps.

    The recipe: the library's schedule (5% warmup, then cosine decay) at the paper's lr 1e-3 instead of the
    library's 1e-2, so that the jumps are spread over enough steps to be seen (at 1e-2 they all happen in the
    first ~400 steps).  Every snapshot is then scored on the same fixed evaluation set.
    """
    check_positive_int("snapshot_every", snapshot_every)
    check_positive_int("eval_batch", eval_batch)
    if not (isinstance(density, (int, float)) and not isinstance(density, bool) and 0 < density <= 1):
        raise ValueError(f"density must be p = 1 - S in (0, 1], got {density!r}")
    model = ToyModel(n_features, n_hidden, 1, seed=seed)
    result = train_toy_model(model, density, 1.0, steps=steps, lr=lr, seed=seed, progress=progress,
                             snapshot_every=snapshot_every)
    snaps = result.snapshots
    assert snaps is not None
    W, b = snaps["W"][:, 0].clone(), snaps["b"][:, 0].clone()
    losses = []
    for start in range(0, len(W), 32):  # 32 snapshots at a time: the evaluation's memory stays small
        part = slice(start, start + 32)
        frames = ToyModel(n_features, n_hidden, len(W[part]), seed=None)
        with torch.no_grad():
            frames.W.copy_(W[part])
            frames.b.copy_(b[part])
        losses.append(evaluate_loss(frames, density, batch_size=eval_batch, seed=seed))  # same samples each time
    loss = torch.cat(losses)
    return TrainingRun(step=snaps["step"].clone(), W=W, b=b, train_loss=snaps["loss"][:, 0].clone(), loss=loss,
                       density=float(density), lr=result.lr, steps=result.steps)
