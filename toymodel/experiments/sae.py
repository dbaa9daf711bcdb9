"""Notebook 09: sparse autoencoders on the toy model.  The precomputed sweep (train / save / load): two trained toy
models (the 5 -> 2 pentagon and 40 -> 10 at I = 0.9^i), both at p = 0.05, and SAEs trained on them: an L1 grid of
dictionary sizes x L1 coefficients, and five seeds of the settings the notebook discusses.

Every SAE of the sweep is one call of sae.train_sae on a toy model stored in the file, so any point retrains with
that call (SAERun.retrain); tests/test_sae_sweep.py retrains a slice and compares it with the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import math
from pathlib import Path
import zipfile

import numpy as np
import torch

from .. import __version__
from ..data import geometric_importance
from ..model import ToyModel
from ..sae import (
    DEFAULT_L1_COEFF,
    DEFAULT_SAE_STEPS,
    SAEScores,
    SparseAutoencoder,
    check_sae_kind,
    score_sae,
    train_sae,
)
from ..train import train_toy_model
from ..validate import check_finite, check_positive_int
from .geometry import RESULTS_DIR

__all__ = [
    "SAEConfig", "SAERun", "SAESweep", "SAE_D_SAE", "SAE_DENSITY", "SAE_IMPORTANCE_DECAY", "SAE_L1_COEFFS",
    "SAE_SEEDS", "SAE_SWEEP_FILE", "SAE_TOY_MODELS", "load_sae_sweep", "sae_sweep", "sae_sweep_configs",
    "sae_toy_models", "save_sae_sweep",
]

SAE_DENSITY = 0.05  # p = 1 - S of both toy models (S = 0.95)
SAE_IMPORTANCE_DECAY = 0.9  # the 40 -> 10 model's importance I_i = 0.9^i; the pentagon's features are equal
SAE_TOY_MODELS = {"pentagon": (5, 2, 1.0), "40->10": (40, 10, SAE_IMPORTANCE_DECAY)}  # name: (n, m, decay)
SAE_D_SAE = (20, 40, 80)  # n/2, n, 2n for the 40 -> 10 model
SAE_L1_COEFFS = (0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0)
SAE_SEEDS = 5
SAE_SWEEP_FILE = RESULTS_DIR / "sae_sweep.npz"
_PARAMS = ("W_enc", "b_enc", "W_dec", "b_dec")
_SCORES = ("mmcs", "worst", "dead", "d_sae", "l0", "true_l0", "fvu", "shrinkage")
_SCORE_ARRAYS = ("best_cosine", "best_latent", "features", "firing")


@dataclass(frozen=True)
class SAEConfig:
    """One SAE of the sweep: which toy model ("pentagon" or "40->10") and train_sae's settings."""

    model: str
    d_sae: int
    kind: str = "l1"
    k: int | None = None
    l1_coeff: float | None = None  # for "l1": None means DEFAULT_L1_COEFF; always None for "topk"
    resample_dead: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind == "l1":
            object.__setattr__(self, "l1_coeff", float(DEFAULT_L1_COEFF if self.l1_coeff is None else self.l1_coeff))

    def label(self) -> str:
        """E.g. 'L1 0.2, d_sae = 40, seed 0' or 'TopK k = 1, d_sae = 5, resampled, seed 3'."""
        head = f"TopK k = {self.k}" if self.kind == "topk" else f"L1 {self.l1_coeff:g}"
        return f"{head}, d_sae = {self.d_sae}" + (", resampled" if self.resample_dead else "") + f", seed {self.seed}"


@dataclass
class SAERun:
    """A trained SAE of the sweep: its config, its parameters (float64) and its scores (score_sae, seed 0)."""

    config: SAEConfig
    params: dict[str, torch.Tensor]
    scores: SAEScores

    def sae(self) -> SparseAutoencoder:
        """The trained SAE, rebuilt from the stored parameters."""
        c = self.config
        sae = SparseAutoencoder(self.params["W_dec"].shape[1], c.d_sae, c.kind, c.k, dtype=torch.float64)
        with torch.no_grad():
            for name in _PARAMS:
                getattr(sae, name).copy_(self.params[name])
        sae.l1_coeff = 0.0 if c.kind == "topk" else c.l1_coeff
        return sae


@dataclass
class SAESweep:
    """The precomputed SAEs of notebook 09 (see the module docstring).

    toy_models: {"pentagon": ToyModel 5 -> 2, "40->10": ToyModel 40 -> 10}, both trained at `density`.
    runs: every SAE (SAERun).  steps: train_sae's steps for each.
    """

    toy_models: dict[str, ToyModel]
    density: float
    runs: list[SAERun]
    steps: int
    version: str = ""
    _untrained: dict[tuple[str, int, int], SAEScores] = field(default_factory=dict, repr=False)

    def toy_model(self, name: str) -> ToyModel:
        """The toy model "pentagon" or "40->10"."""
        if name not in self.toy_models:
            raise ValueError(f"name must be one of {sorted(self.toy_models)}, got {name!r}")
        return self.toy_models[name]

    def run(self, model: str, d_sae: int, kind: str = "l1", k: int | None = None, l1_coeff: float | None = None,
            resample_dead: bool = False, seed: int = 0) -> SAERun:
        """The run with these settings (l1_coeff None: DEFAULT_L1_COEFF for kind "l1"); ValueError if there is none."""
        want = _wanted(model, d_sae, kind, k, l1_coeff, resample_dead, seed)
        for r in self.runs:
            if r.config == want:
                return r
        raise ValueError(f"the sweep has no run {want}; train it with train_sae (sweep.retrain(config) does)")

    def seeds(self, model: str, d_sae: int, kind: str = "l1", k: int | None = None, l1_coeff: float | None = None,
              resample_dead: bool = False) -> list[SAEScores]:
        """The scores of every seed of one setting, in seed order (ValueError if the sweep has none)."""
        want = _wanted(model, d_sae, kind, k, l1_coeff, resample_dead, 0)
        runs = sorted((r for r in self.runs if replace(r.config, seed=0) == want), key=lambda r: r.config.seed)
        if not runs:
            raise ValueError(f"the sweep has no run of {want} at any seed")
        return [r.scores for r in runs]

    def configs(self) -> list[SAEConfig]:
        """Every run's settings, in the order they were trained."""
        return [r.config for r in self.runs]

    def l1_curve(self, d_sae: int, model: str = "40->10", seed: int = 0) -> tuple[list[float], list[SAEScores]]:
        """The L1 grid at one dictionary size: (coefficients, ascending; their scores)."""
        runs = sorted((r for r in self.runs if r.config.model == model and r.config.kind == "l1"
                       and r.config.d_sae == d_sae and r.config.seed == seed and not r.config.resample_dead),
                      key=lambda r: r.config.l1_coeff)
        if not runs:
            raise ValueError(f"the sweep has no L1 runs of {model} with d_sae = {d_sae}")
        return [float(r.config.l1_coeff) for r in runs], [r.scores for r in runs]  # type: ignore[arg-type]

    @property
    def d_sae_grid(self) -> list[int]:
        """The dictionary sizes of the 40 -> 10 L1 grid, ascending."""
        return sorted({r.config.d_sae for r in self.runs if r.config.model == "40->10" and r.config.kind == "l1"
                       and r.config.seed == 0 and not r.config.resample_dead and
                       len(self.l1_curve(r.config.d_sae)[0]) > 1})

    def untrained(self, model: str, d_sae: int, seed: int = 0) -> SAEScores:
        """The baseline: an untrained SparseAutoencoder(seed=seed), scored like the runs: what MMCS gives for free."""
        key = (model, check_positive_int("d_sae", d_sae), seed)
        if key not in self._untrained:
            toy = self.toy_model(model)
            sae = SparseAutoencoder(toy.n_hidden, d_sae, seed=seed, dtype=torch.float64)
            self._untrained[key] = score_sae(sae, toy, self.density)
        return self._untrained[key]

    def retrain(self, config: SAEConfig, progress: bool | None = None) -> SparseAutoencoder:
        """Train the SAE of `config` again: the one train_sae call that made it."""
        return _train(self.toy_model(config.model), self.density, config, self.steps, progress)


def _wanted(model: str, d_sae: int, kind: str, k: int | None, l1_coeff: float | None, resample_dead: bool,
            seed: int) -> SAEConfig:
    return SAEConfig(model, d_sae, kind, k, None if l1_coeff is None else float(l1_coeff), resample_dead, seed)


def sae_toy_models(density: float = SAE_DENSITY, seed: int = 0) -> dict[str, ToyModel]:
    """The two toy models of the sweep, trained with the library's recipe (train_toy_model, one seed each)."""
    out = {}
    for name, (n, m, decay) in SAE_TOY_MODELS.items():
        model = ToyModel(n, m, seed=seed)
        importance = 1.0 if decay == 1.0 else geometric_importance(n, decay)
        train_toy_model(model, density, importance, seed=seed, progress=False)
        out[name] = model
    return out


def sae_sweep_configs(seeds: int = SAE_SEEDS) -> list[SAEConfig]:
    """What the notebook shows: the L1 grid on 40 -> 10 (SAE_D_SAE x SAE_L1_COEFFS, seed 0), then `seeds` seeds of the
    settings it compares (default L1 on both models, TopK k = 1 and 2, with and without resampling)."""
    seeds = check_positive_int("seeds", seeds)
    grid = [SAEConfig("40->10", d, l1_coeff=c) for d in SAE_D_SAE for c in SAE_L1_COEFFS]
    l1 = DEFAULT_L1_COEFF
    settings = [
        SAEConfig("pentagon", 5, l1_coeff=l1), SAEConfig("pentagon", 10, l1_coeff=l1),
        SAEConfig("pentagon", 5, "topk", 1), SAEConfig("pentagon", 5, "topk", 1, resample_dead=True),
        SAEConfig("40->10", 40, l1_coeff=l1), SAEConfig("40->10", 20, l1_coeff=l1),
        SAEConfig("40->10", 80, l1_coeff=l1), SAEConfig("40->10", 40, l1_coeff=l1, resample_dead=True),
        SAEConfig("40->10", 80, l1_coeff=l1, resample_dead=True), SAEConfig("40->10", 40, "topk", 1),
        SAEConfig("40->10", 40, "topk", 2), SAEConfig("40->10", 40, "topk", 2, resample_dead=True),
    ]
    out = list(grid)
    for c in settings:
        out += [replace(c, seed=s) for s in range(seeds) if replace(c, seed=s) not in out]
    return out


def _train(toy: ToyModel, density: float, c: SAEConfig, steps: int, progress: bool | None) -> SparseAutoencoder:
    return train_sae(toy, density, d_sae=c.d_sae, kind=c.kind, k=c.k, l1_coeff=c.l1_coeff, steps=steps, seed=c.seed,
                     resample_dead=c.resample_dead, progress=progress)


def sae_sweep(configs: Sequence[SAEConfig] | None = None, *, toy_models: dict[str, ToyModel] | None = None,
              density: float = SAE_DENSITY, steps: int | None = None, progress: bool | None = None) -> SAESweep:
    """Train the toy models (unless given) and one SAE per config (default: sae_sweep_configs()), and score each."""
    toy_models = sae_toy_models(density) if toy_models is None else toy_models
    configs = sae_sweep_configs() if configs is None else list(configs)
    steps = DEFAULT_SAE_STEPS if steps is None else check_positive_int("steps", steps)
    runs = []
    for c in configs:
        if c.model not in toy_models:
            raise ValueError(f"config.model must be one of {sorted(toy_models)}, got {c.model!r}")
        check_sae_kind(c.kind, c.k, c.d_sae)
        sae = _train(toy_models[c.model], density, c, steps, progress)
        params = {name: getattr(sae, name).detach().clone() for name in _PARAMS}
        runs.append(SAERun(c, params, score_sae(sae, toy_models[c.model], density)))
    return SAESweep(toy_models, float(density), runs, steps, __version__)


def save_sae_sweep(sweep: SAESweep, path: str | Path = SAE_SWEEP_FILE) -> Path:
    """Write an SAESweep to a compressed .npz (parameters as float64; ~0.3 MB for the default sweep)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"density": np.float64(sweep.density), "steps": np.int64(sweep.steps),
                                     "version": np.str_(sweep.version), "n_runs": np.int64(len(sweep.runs)),
                                     "toy_names": np.array(list(sweep.toy_models))}
    for name, toy in sweep.toy_models.items():
        arrays[f"toy/{name}/W"] = toy.W.detach().numpy()
        arrays[f"toy/{name}/b"] = toy.b.detach().numpy()
    for i, r in enumerate(sweep.runs):
        c = r.config
        arrays[f"run{i}/config"] = np.array([c.model, c.kind, str(c.d_sae), str(c.k), repr(c.l1_coeff),
                                             str(c.resample_dead), str(c.seed)])
        for name in _PARAMS:
            arrays[f"run{i}/{name}"] = r.params[name].numpy()
        arrays[f"run{i}/scores"] = np.array([float(getattr(r.scores, s)) for s in _SCORES])
        for name in _SCORE_ARRAYS:
            arrays[f"run{i}/{name}"] = getattr(r.scores, name).numpy()
    np.savez_compressed(path, **arrays)
    return path


def _config(fields: np.ndarray) -> SAEConfig:
    model, kind, d_sae, k, l1, resample, seed = (str(f) for f in fields)
    return SAEConfig(model, int(d_sae), kind, None if k == "None" else int(k), None if l1 == "None" else float(l1),
                     resample == "True", int(seed))


def load_sae_sweep(path: str | Path = SAE_SWEEP_FILE) -> SAESweep:
    """Load the precomputed SAE sweep shipped with the package (tools/make_sae_sweep.py makes it)."""
    path = Path(path)
    remake = "remake it with `python tools/make_sae_sweep.py` (or reinstall the package)"
    if not path.is_file():
        raise ValueError(f"no precomputed SAE sweep at {path}: run `python tools/make_sae_sweep.py` to make it")
    try:
        with np.load(path) as f:
            toy_models = {}
            for name in f["toy_names"]:
                W, b = torch.from_numpy(f[f"toy/{name}/W"]), torch.from_numpy(f[f"toy/{name}/b"])
                toy = ToyModel(W.shape[1], W.shape[2], W.shape[0], seed=None)
                with torch.no_grad():
                    toy.W.copy_(check_finite(f"{path}: toy/{name}/W", W))
                    toy.b.copy_(check_finite(f"{path}: toy/{name}/b", b))
                toy_models[str(name)] = toy
            runs = []
            for i in range(int(f["n_runs"])):
                params = {n: check_finite(f"{path}: run{i}/{n}", torch.from_numpy(f[f"run{i}/{n}"])) for n in _PARAMS}
                values = dict(zip(_SCORES, f[f"run{i}/scores"].tolist()))
                scores = SAEScores(**{s: (int(v) if s in ("dead", "d_sae") else float(v)) for s, v in values.items()},
                                   **{n: torch.from_numpy(f[f"run{i}/{n}"]) for n in _SCORE_ARRAYS})
                runs.append(SAERun(_config(f[f"run{i}/config"]), params, scores))
            sweep = SAESweep(toy_models, float(f["density"]), runs, int(f["steps"]), str(f["version"]))
    except KeyError as err:
        raise ValueError(f"{path} lacks the entry {err.args[0]}: it is not a complete SAE sweep; {remake}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is corrupt or truncated ({type(err).__name__}: {err}); {remake}") from None
    if not math.isfinite(sweep.density) or not sweep.runs:
        raise ValueError(f"{path} holds no runs; {remake}")
    return sweep
