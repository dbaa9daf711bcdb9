"""Correlated and anticorrelated feature sets, and non-uniform superposition (notebook 08): the science.

Training on feature sets: train_correlated is train_toy_model with the independent FeatureStream
swapped for data.sample_feature_sets (the same recipe, best-of-k, evaluation and snapshots, through
train.fit).  The measures:

    set_cosines(W, set_size)     [n_instances, n_sets]  mean cosine W^_a . W^_b over the member pairs a < b of each set
    cross_set_cosines(W, ...)    [n_instances, n_sets, n_sets]  mean cosine between members of two different sets
    collapsed_sets(W, set_size)  [n_instances]  sets whose members all point the same way (cosine > COLLAPSE_COSINE)

And for non-uniform superposition, where two solutions' losses differ by a few percent:

    expected_loss(model, density, importance)  [n_instances]  the loss's expectation over the data, without sampling

A set "collapses onto its principal component" when the model gives all its members one direction:
it then stores their sum (dense correlated features behave like one feature).  The paper's
expectation (and what the tests check): sparse correlated pairs are orthogonal (a local orthogonal
basis, cosine ~0), anticorrelated pairs are antipodal (cosine ~-1), and dense correlated sets collapse
(cosine ~1) one set at a time.

No plotting and no widgets here (see visualize.correlated and widgets).
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import torch

from .data import ProbabilityLike, as_density_tensor, check_relation, sample_feature_sets
from .metrics import as_weights, feature_norms
from .model import ToyModel
from .train import (
    RecipeArgs,
    TrainResult,
    check_data,
    check_importance,
    check_parameters,
    check_recipe,
    fit,
    torch_threads,
    toy_copies,
    toy_loss_fn,
)
from .validate import check_in_range, check_instance, check_positive_int

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "COLLAPSE_COSINE", "EXPECTED_LOSS_BUDGET", "EXPECTED_LOSS_MAX_FEATURES", "train_correlated", "set_cosines",
    "cross_set_cosines", "collapsed_sets", "check_set_size", "expected_loss",
]

COLLAPSE_COSINE = 0.9  # members with cosine above this share a direction (collapsed: ~1; orthogonal: ~0)


def check_set_size(W: torch.Tensor, set_size: object) -> int:
    """set_size must be a positive integer that divides n_features = W.shape[-2]; returns it."""
    s = check_positive_int("set_size", set_size)
    n = W.shape[-2]
    if n % s:
        raise ValueError(f"set_size must divide n_features={n} (features s*set_size .. s*set_size+set_size-1 form "
                         f"set s), got {set_size!r}")
    return s


def _unit_members(W: torch.Tensor, set_size: int) -> torch.Tensor:
    """W^ grouped by set: [K, n_sets, set_size, m] (a zero row stays zero)."""
    K, n, m = W.shape
    return (W / W.norm(dim=-1, keepdim=True).clamp(min=1e-12)).reshape(K, n // set_size, set_size, m)


def set_cosines(W: ToyModel | torch.Tensor, set_size: int = 2) -> torch.Tensor:
    """Mean cosine between the members of each set, [n_instances, n_sets] (for pairs: the pair's cosine).

    cos_s = mean over member pairs a < b of set s of  W^_a . W^_b  (W^ = W / ||W||; a dropped member,
    ||W_a|| ~ 0, gives 0).  ~0: orthogonal members; ~-1: an antipodal pair; ~1: collapsed onto one direction.
    A 2-D W ([n_features, n_hidden]) is one instance.
    """
    Wt = as_weights(W)
    s = check_set_size(Wt, set_size)
    if s == 1:
        raise ValueError("set_size must be at least 2 for a cosine between members, got 1")
    U = _unit_members(Wt, s)
    G = U @ U.transpose(-1, -2)  # [K, n_sets, s, s]
    off = G.sum((-1, -2)) - G.diagonal(dim1=-2, dim2=-1).sum(-1)
    return off / (s * (s - 1))


def cross_set_cosines(W: ToyModel | torch.Tensor, set_size: int = 2) -> torch.Tensor:
    """Mean cosine between members of set s and members of set t, [n_instances, n_sets, n_sets].

    The diagonal (s = t) averages over all member pairs a, b including a = b, so it is (1 + (s-1) cos_s) / s
    for a fully represented set; the off-diagonal entries are what the sets do to each other.
    """
    Wt = as_weights(W)
    s = check_set_size(Wt, set_size)
    U = _unit_members(Wt, s)
    return torch.einsum("ksam,ktbm->kst", U, U) / (s * s)


def collapsed_sets(W: ToyModel | torch.Tensor, set_size: int = 2,
                   cosine_threshold: float = COLLAPSE_COSINE) -> torch.Tensor:
    """How many sets have collapsed onto one direction, [n_instances] (long).

    Set s counts when every pair of its members has cosine > cosine_threshold and both are represented
    (||W_i|| > 0.1: a dropped set is not a collapsed one).
    """
    Wt = as_weights(W)
    s = check_set_size(Wt, set_size)
    cosine_threshold = check_in_range("cosine_threshold", cosine_threshold, -1.0, 1.0, low_open=True, high_open=True,
                                      allowed="a cosine in (-1, 1)")
    U = _unit_members(Wt, s)
    G = U @ U.transpose(-1, -2)
    norms = feature_norms(Wt).reshape(Wt.shape[0], -1, s)
    ok = (G > cosine_threshold).flatten(-2).all(-1) & (norms > 0.1).all(-1)
    return ok.sum(-1)


def train_correlated(model: ToyModel, set_probability: ProbabilityLike, relation: str = "correlated",
                     set_size: int = 2, importance: ProbabilityLike = 1.0, **recipe: Unpack[RecipeArgs]) -> TrainResult:
    """Train every instance of `model` in place on feature sets (data.generate_correlated_features); a TrainResult.

    Like train_toy_model (the same recipe keywords and defaults, AdamW, best-of-k, evaluation on EVAL_BATCHES
    fresh batches, snapshots), except for the data: features s * set_size .. s * set_size + set_size - 1 form
    set s, each set is active with probability set_probability (scalar, [n_instances] or [n_instances, n_sets]),
    and relation says what an active set does ("correlated": all members non-zero; "anticorrelated": exactly
    one, chosen uniformly).  model.n_features must be a multiple of set_size.
    Every best-of-k copy of an instance sees the same batches (common random numbers).
    """
    r = check_recipe(model, ToyModel, ["W", "b"], "train_correlated", recipe)
    check_relation(relation)
    n_inst, n_feat, n_hid, dev = model.n_instances, model.n_features, model.n_hidden, model.device
    s = check_set_size(model.W, set_size)
    n_sets = n_feat // s
    p = as_density_tensor("set_probability", set_probability, n_inst, n_sets, dev)
    imp = check_importance(importance, n_inst, n_feat, dev)
    init_seed = int(np.random.SeedSequence((r.seed, 8)).generate_state(1, dtype=np.uint64)[0] >> 1)
    W, b = toy_copies(model, r.n_seeds, init_seed)

    def stream(data_seed: int):
        g = torch.Generator(device=dev).manual_seed(data_seed)
        return lambda: sample_feature_sets(p, relation, s, r.batch_size, g).to(model.W.dtype).repeat(r.n_seeds, 1, 1)

    return fit(model, ["W", "b"], [W, b], toy_loss_fn(model, imp, r.n_seeds), stream, r,
               work_floats=8 * n_feat + 4 * n_hid)



EXPECTED_LOSS_BUDGET = 4096  # grid points per pattern of active features: 4096 for one, 64 x 64 for two, 16^3, ...
EXPECTED_LOSS_MAX_FEATURES = 8  # 2^n patterns of active features


def _grid_points(k: int) -> int:
    """Midpoint-grid points per active feature when k features are active: about EXPECTED_LOSS_BUDGET in all."""
    return max(3, int(round(EXPECTED_LOSS_BUDGET ** (1.0 / k))))


def expected_loss(model: ToyModel, density: ProbabilityLike, importance: ProbabilityLike = 1.0) -> torch.Tensor:
    """The model's loss per instance, [n_instances] (float64): its expectation over the data, not a sample mean.

    The data: feature i is active with probability p_i (density), independently, and then uniform on [0, 1).
    The loss (train_toy_model's) averages I_i (x_i - x'_i)^2 over the features; its expectation is a sum over
    the 2^n patterns of active features, each with its exact probability, of the loss integrated over the
    active features' values.  Each integral is taken on a midpoint grid of about EXPECTED_LOSS_BUDGET points
    (4,096 when one feature is active, 64 x 64 for two, 16^3 for three, ...), in float64.

    Accuracy (5 features, against grids 4-16x finer): about 1e-4 relative at p = 0.05, 5e-4 at p = 0.3, 1e-2 at
    p = 1: the patterns with many active features get the coarsest grids, so it is meant for sparse features
    (tests/test_correlated.py checks closed forms and 4M samples).  For comparison, the 8,192 samples on
    which train_toy_model ranks best-of-k copies leave the 5 -> 2 losses of notebook 08 uncertain by about 10%.
    Any model kind; n_features <= EXPECTED_LOSS_MAX_FEATURES (the sum has 2^n terms).  No gradient.
    """
    check_instance("model", model, ToyModel)
    check_parameters(model, ["W", "b"])
    n, m, K = model.n_features, model.n_hidden, model.n_instances
    if n > EXPECTED_LOSS_MAX_FEATURES:
        raise ValueError(f"expected_loss sums over the 2^n patterns of active features: n_features must be at most "
                         f"{EXPECTED_LOSS_MAX_FEATURES}, got {n}")
    dev = model.device
    p, imp = check_data(density, importance, K, n, dev)
    p, imp = p.double(), imp.double()
    exact = ToyModel(n, m, K, kind=model.kind, seed=None, device=dev, dtype=torch.float64)
    with torch.no_grad(), torch_threads(1, dev):  # one thread: the same digits on any core count, and no spin-waits
        exact.W.copy_(model.W.detach())
        exact.b.copy_(model.b.detach())
        total = torch.zeros(K, dtype=torch.float64, device=dev)
        for k in range(n + 1):
            N = _grid_points(k) if k else 1
            axis = (torch.arange(N, dtype=torch.float64, device=dev) + 0.5) / N
            mesh = torch.cartesian_prod(*([axis] * k)).reshape(-1, k) if k else axis.new_zeros(1, 0)
            for active in combinations(range(n), k):
                on = torch.zeros(n, dtype=torch.bool, device=dev)
                on[list(active)] = True
                chance = torch.where(on, p, 1.0 - p).prod(-1)  # [K]
                x = torch.zeros(mesh.shape[0], K, n, dtype=torch.float64, device=dev)
                x[:, :, on] = mesh[:, None, :]
                err = (imp * (x - exact(x)) ** 2).mean(-1).mean(0)  # [K]: the pattern's mean loss
                total += chance * err
    return total.cpu()
