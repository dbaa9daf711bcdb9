"""Notebook 06: feature geometry.  The paper's uniform-superposition run (400 features -> 30 hidden, I_i = 1, 20
densities), trained here or loaded precomputed from toymodel/results/, and small polytopes to draw in 3-D."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
import zipfile

import numpy as np
import torch

from .. import __version__
from ..data import density_sweep
from ..model import ToyModel, xavier_normal
from ..sweeps import Sweep
from ..train import train_toy_model
from ..validate import check_density, check_finite, check_int, check_positive_int, check_positive_ints, check_seed

__all__ = [
    "FEATURE_GEOMETRY_FILE", "GEOMETRY_ENTRIES", "GEOMETRY_N_DENSITIES", "GEOMETRY_N_FEATURES", "GEOMETRY_N_HIDDEN",
    "GEOMETRY_P_MIN", "GEOMETRY_SEEDS", "GeometryRun", "RESULTS_DIR", "feature_geometry_densities",
    "feature_geometry_run", "load_feature_geometry", "save_feature_geometry", "small_polytopes",
]


GEOMETRY_N_FEATURES, GEOMETRY_N_HIDDEN = 400, 30  # the paper's uniform-superposition model
GEOMETRY_P_MIN = 0.05  # densest 1, sparsest 0.05: 1/(1-S) from 1 to 20; sparser, D* only creeps down (measured:
# notebooks/README.md, section "Measurements behind the library's defaults")
GEOMETRY_N_DENSITIES = 20
GEOMETRY_SEEDS = 2  # more buy nothing here (measured: notebooks/README.md, section "Measurements behind the
# library's defaults")
RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"  # toymodel/results/, shipped as package data
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
        return Sweep(model, self.density.clone(), torch.ones(n_inst, n, dtype=torch.float32), self.loss.clone())


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
        idx = list(range(n_densities)) if indices is None else [check_int("indices", i, 0, n_densities - 1)
                                                                for i in indices]
    except (TypeError, ValueError):
        idx = []
    if not idx or len(set(idx)) != len(idx):
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
    for name, values in (("W", run.W), ("density", run.density), ("loss", run.loss)):
        try:
            check_finite(f"{path}: {name}", values)
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
    one batched model with max(sizes) features: instance k gives features n_k.. the density 1e-30 (the
    sampler's floor for p, so they never fire: 0 itself is refused), and their rows are cut off.
    """
    sizes = check_positive_ints("sizes", sizes)  # numbers of features
    check_positive_int("n_hidden", n_hidden)
    density = check_density(density)
    N = max(sizes)
    p = torch.full((len(sizes), N), 1e-30, dtype=torch.float32)  # features beyond n: never fire
    for k, n in enumerate(sizes):
        p[k, :n] = density
    model = ToyModel(N, n_hidden, len(sizes), seed=seed)
    train_toy_model(model, p, 1.0, steps=steps, seed=seed, n_seeds=n_seeds, progress=progress)
    return {n: model.W.detach()[k, :n].clone() for k, n in enumerate(sizes)}
