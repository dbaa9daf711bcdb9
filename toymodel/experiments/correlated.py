"""Notebook 08: correlated and anticorrelated feature sets, non-uniform superposition, learning dynamics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math

import numpy as np
import torch

from ..correlated import check_relation, expected_loss, train_correlated
from ..metrics import feature_dimensionality
from ..model import ToyModel
from ..sweeps import SetSweep
from ..train import evaluate_loss, train_toy_model
from ..validate import check_density, check_in_range, check_int, check_positive_int, check_vector
from .core import density_grid, seeds_for

__all__ = [
    "CORRELATED_DENSITIES", "CORRELATED_LR", "NONUNIFORM_RATIOS",
    "NonUniformRun", "TrainingRun", "correlated_features", "digons_init", "learning_dynamics",
    "nonuniform_superposition", "pentagon_init",
]


CORRELATED_DENSITIES = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
CORRELATED_LR = 1e-2  # see correlated_features


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
    lr: float = CORRELATED_LR,
) -> SetSweep:
    """Correlated or anticorrelated feature sets -> n_hidden, one instance per density, importance 1 (the paper's).

    relation: "correlated" (an active set switches on all its members, values independent U[0, 1)) or
    "anticorrelated" (an active set switches on exactly one member, chosen uniformly).  Features 2k and
    2k+1 form pair k (set_size members per set in general: n_pairs sets, n_pairs * set_size features).
    densities: the probability that a set is active (default CORRELATED_DENSITIES, 0.01 ... 0.5).
    n_seeds: best-of-k; default 3 when the features fit in antipodal pairs (n_features <= 2 n_hidden), else 8
    (3 correlated pairs in 2-D have many near-equal local minima; measured: notebooks/README.md, section
    "Measurements behind the library's defaults").
    lr: the peak learning rate, CORRELATED_LR = 1e-2 rather than the library's DEFAULT_LR: from 2e-2 up, the
    anticorrelated pairs at p = 0.05 settle orthogonal (loss 4e-5) instead of antipodal (3e-10) on every seed.
    Returns a SetSweep (a Sweep; Sweep.density[i] = the set probability of instance i).
    """
    relation = check_relation(relation)
    check_positive_int("n_pairs", n_pairs)
    check_positive_int("n_hidden", n_hidden)
    check_positive_int("set_size", set_size)
    d = density_grid(CORRELATED_DENSITIES if densities is None else densities, 8, 0.01)
    n_features = n_pairs * set_size
    n_seeds = check_positive_int("n_seeds", seeds_for("relu_output", n_seeds, 3 if n_features <= 2 * n_hidden else 8))
    model = ToyModel(n_features, n_hidden, d.numel(), seed=seed)
    result = train_correlated(model, d, relation, set_size, steps=steps, lr=lr, seed=seed, n_seeds=n_seeds,
                              progress=progress)
    return SetSweep(model, d.clone(), torch.ones(d.numel(), n_features, dtype=torch.float32), result.loss, None, result,
                    relation=relation, set_size=set_size)


NONUNIFORM_RATIOS = (1.0, 1.5, 2.0, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)
# Every loss of a NonUniformRun is correlated.expected_loss (no sampling noise): next to the crossing the two
# families differ by 2-3%, and sampled losses scatter by more (about 10% on the 8,192 samples of train_toy_model's
# final evaluation, 1-2% on half a million).


def _ratios(name: str, ratios: Sequence[float] | torch.Tensor | None) -> torch.Tensor:
    return check_vector(name, ratios, 0.0, math.inf, low_open=True, high_open=True)


def pentagon_init(n_features: int = 5) -> torch.Tensor:
    """A regular n-gon of unit vectors in 2-D, [n_features, 2] (feature i at angle 2 pi i / n)."""
    a = torch.arange(check_positive_int("n_features", n_features), dtype=torch.float32) * (2 * np.pi / n_features)
    return torch.stack([a.cos(), a.sin()], -1)


def digons_init() -> torch.Tensor:
    """Two antipodal pairs on the axes (features 0, 2 and 1, 3), feature 4 dropped: [5, 2]."""
    return torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [0.0, 0.0]], dtype=torch.float32)


@dataclass
class NonUniformRun:
    """5 equal features in 2-D at density p, feature 4 made `ratio` times sparser (density p / ratio).

    ratio:         [n_r] how much sparser feature 4 is (1: uniform; < 1: denser).
    W:             {"pentagon": [n_r, 5, 2], "digons": [n_r, 5, 2]}: each family trained from its own start
                   (pentagon_init, digons_init) at every ratio, so each follows its own local minimum.
    loss:          {"pentagon": [n_r], "digons": [n_r]} expected losses (correlated.expected_loss: no sampling).
    random_ratio:  [n_q] ratios at which n_inits random (xavier-normal) starts were trained, one seed each;
    random_W:      [n_inits, n_q, 5, 2] their trained weights; random_loss [n_inits, n_q] their expected losses;
    random_sampled_loss: [n_inits, n_q] the same losses as train_toy_model measures them to pick the best of k
                   seeds (on EVAL_BATCHES x 1024 = 8,192 samples), for comparison.
    """

    density: float
    ratio: torch.Tensor
    W: dict[str, torch.Tensor]
    loss: dict[str, torch.Tensor]
    random_ratio: torch.Tensor
    random_W: torch.Tensor
    random_loss: torch.Tensor
    steps: int
    random_sampled_loss: torch.Tensor | None = None

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
        confidence = check_in_range("confidence", confidence, 0.0, 1.0, low_open=True, high_open=True,
                                    allowed="a probability in (0, 1)")
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
    single seed finds each solution: what best-of-k needs).  Every model is then scored by its expected loss
    (correlated.expected_loss), since sampled losses are noisier than the gaps between the solutions.
    """
    r = _ratios("ratios", NONUNIFORM_RATIOS if ratios is None else ratios)
    rq = _ratios("random_ratios", random_ratios)
    density = check_density(density)
    check_positive_int("n_inits", n_inits)
    n_r, n_q = len(r), len(rq)
    model = ToyModel(5, 2, 2 * n_r + n_inits * n_q, seed=seed)  # [pentagons | digons | random, init-major]
    with torch.no_grad():
        model.W[:n_r] = pentagon_init(5)
        model.W[n_r:2 * n_r] = digons_init()
    ratio_of_row = torch.cat([r, r, rq.repeat(n_inits)])
    p = torch.full((len(ratio_of_row), 5), float(density), dtype=torch.float32)
    p[:, 4] = density / ratio_of_row
    result = train_toy_model(model, p, 1.0, steps=steps, seed=seed, progress=progress)
    W = model.W.detach()
    loss = expected_loss(model, p)
    fam_loss = loss[:2 * n_r].view(2, n_r)
    return NonUniformRun(
        density=float(density), ratio=r, W={"pentagon": W[:n_r].clone(), "digons": W[n_r:2 * n_r].clone()},
        loss={"pentagon": fam_loss[0].clone(), "digons": fam_loss[1].clone()}, random_ratio=rq,
        random_W=W[2 * n_r:].reshape(n_inits, n_q, 5, 2).clone(),
        random_loss=loss[2 * n_r:].reshape(n_inits, n_q).clone(), steps=result.recipe.steps,
        random_sampled_loss=result.loss[2 * n_r:].reshape(n_inits, n_q).clone(),
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
        step = check_int("step", step)
        return int((self.step - step).abs().argmin())


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
    library's 3e-2, so that the jumps are spread over enough steps to be seen (at 1e-2 they all happen early
    on).  Every snapshot is then scored on the same fixed evaluation set.
    """
    check_positive_int("snapshot_every", snapshot_every)
    check_positive_int("eval_batch", eval_batch)
    density = check_density(density)
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
                       density=float(density), lr=result.recipe.lr, steps=result.recipe.steps)
