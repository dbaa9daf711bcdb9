"""Correlated and anticorrelated feature sets, and non-uniform superposition (notebook 08): the science.

Sampling feature sets: generate_correlated_features (and sample_feature_sets, its training layout).
Training on them: train_correlated is train_toy_model's fast path with data.FeatureStream swapped for
sample_feature_sets (the same recipe, best-of-k, evaluation and snapshots).  The measures:

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
from typing import Any

import numpy as np
import torch

from . import fast, runs
from .data import ProbabilityLike, as_density_tensor
from .metrics import as_weights, feature_norms
from .model import ToyModel
from .runs import TrainResult
from .train import Recipe
from .validate import check_in_range, check_positive_int

__all__ = [
    "COLLAPSE_COSINE", "EXPECTED_LOSS_BUDGET", "EXPECTED_LOSS_MAX_FEATURES", "RELATIONS", "check_relation",
    "check_set_size", "collapsed_sets", "cross_set_cosines", "expected_loss", "generate_correlated_features",
    "sample_feature_sets", "set_cosines", "train_correlated",
]

RELATIONS = ("correlated", "anticorrelated")


def generate_correlated_features(
    batch_size: int,
    n_sets: int,
    set_probability: ProbabilityLike,
    relation: str = "correlated",
    set_size: int = 2,
    n_instances: int = 1,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Sample features that come in sets, shape [batch_size, n_instances, n_sets * set_size].

    Feature s * set_size + j is member j of set s (with set_size=2: features 2k and 2k+1 form pair k).
    Each set is active with probability p = set_probability (scalar, [n_instances] or
    [n_instances, n_sets]); sets are independent of each other.

    - relation="correlated": an active set switches on ALL its members, each with its own value
      U[0, 1) (independent values, one shared on/off draw); an inactive set is all zeros.
      Every feature then has density p, and two members are either both zero or both non-zero.
    - relation="anticorrelated" (the paper's construction): an active set switches on exactly ONE
      member, chosen uniformly, with value U[0, 1); the others stay 0.  Members never co-occur, and
      each feature has density p / set_size.

    One uniform draw u per set decides both, as in generate_sparse_features: the set is active iff
    u < p, and then v = set_size * u / p is uniform on [0, set_size): floor(v) picks the member and
    v - floor(v), uniform on [0, 1) and independent of the pick, is its value.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("n_sets", n_sets)
    check_positive_int("set_size", set_size)
    check_positive_int("n_instances", n_instances)
    check_relation(relation)
    if generator is not None:
        device = generator.device
    p = as_density_tensor("set_probability", set_probability, n_instances, n_sets, device)
    x = sample_feature_sets(p, relation, set_size, batch_size, generator)  # [n_instances, n, batch]
    return x.permute(2, 0, 1).contiguous()


def check_relation(relation: object) -> str:
    """relation must be "correlated" or "anticorrelated" (ValueError otherwise)."""
    if not isinstance(relation, str) or relation not in RELATIONS:
        raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")
    return relation


def sample_feature_sets(
    p: torch.Tensor, relation: str, set_size: int, batch_size: int, generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The set sampler without the checks, in the training layout [n_instances, n_sets * set_size, batch].

    p: validated set probabilities [n_instances, n_sets].  See generate_correlated_features.
    """
    K, n_sets = p.shape
    u = torch.rand((K, n_sets, batch_size), generator=generator, device=p.device, dtype=torch.float32)
    if relation == "correlated":
        active = u < p[:, :, None]
        values = torch.rand((K, n_sets, set_size, batch_size), generator=generator, device=p.device,
                            dtype=torch.float32)
        x = values.mul_(active[:, :, None, :])
    else:  # v = set_size u / p; member j holds v - j where 0 <= v - j < 1 (none when the set is off: v >= set_size)
        v = u.mul_((set_size / p.clamp(min=1e-30))[:, :, None])
        slots = torch.arange(set_size, device=p.device, dtype=v.dtype)[None, None, :, None]
        x = v[:, :, None, :] - slots
        x.mul_((x >= 0) & (x < 1)).add_(0.0)  # -0.0 (from the negative v - j) -> +0.0
    return x.reshape(K, n_sets * set_size, batch_size)

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
                     set_size: int = 2, importance: ProbabilityLike = 1.0, *, recipe: Recipe | None = None,
                     **keywords: Any) -> TrainResult:
    """Train every instance of `model` in place on feature sets (generate_correlated_features); a TrainResult.

    Like train_toy_model (the same Recipe, keywords and defaults, AdamW, best-of-k, evaluation on EVAL_BATCHES
    fresh batches, snapshots), except for the data: features s * set_size .. s * set_size + set_size - 1 form
    set s, each set is active with probability set_probability (scalar, [n_instances] or [n_instances, n_sets]),
    and relation says what an active set does ("correlated": all members non-zero; "anticorrelated": exactly
    one, chosen uniformly).  model.n_features must be a multiple of set_size.
    Every best-of-k copy of an instance sees the same batches (common random numbers).
    """
    r = Recipe.of("train_correlated", recipe, **keywords)
    runs.check_parameters(model, ToyModel, ["W", "b"])
    check_relation(relation)
    n_inst, n_feat, n_hid, dev, dtype = model.n_instances, model.n_features, model.n_hidden, model.device, model.W.dtype
    s = check_set_size(model.W, set_size)
    p = as_density_tensor("set_probability", set_probability, n_inst, n_feat // s, dev)
    imp = runs.check_importance(importance, n_inst, n_feat, dev).to(dtype)
    runs.plan_memory(r, n_inst, n_feat * (n_hid + 1), 8 * n_feat + 4 * n_hid)
    data_seed, _, eval_seed = runs.derived_seeds(r.seed)
    init_seed = int(np.random.SeedSequence((r.seed, 8)).generate_state(1, dtype=np.uint64)[0] >> 1)
    W, b = runs.toy_copies(model, r.n_seeds, init_seed)

    def batches(seed: int):
        g = torch.Generator(device=dev).manual_seed(seed)
        return lambda: sample_feature_sets(p, relation, s, r.batch_size, g).to(dtype).repeat(r.n_seeds, 1, 1)

    log = runs.TrainingLog(r, ["W", "b"])
    with runs.torch_threads(r.threads, dev):
        final = fast.fit([W, b], fast.toy_loss_fn(model.kind, imp, r.n_seeds), batches(data_seed),
                         batches(eval_seed), r, log)
    return runs.keep_best(model, [W, b], final, log)



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
    runs.check_parameters(model, ToyModel, ["W", "b"])
    n, m, K = model.n_features, model.n_hidden, model.n_instances
    if n > EXPECTED_LOSS_MAX_FEATURES:
        raise ValueError(f"expected_loss sums over the 2^n patterns of active features: n_features must be at most "
                         f"{EXPECTED_LOSS_MAX_FEATURES}, got {n}")
    dev = model.device
    p = as_density_tensor("density", density, K, n, dev).double()
    imp = runs.check_importance(importance, K, n, dev).double()
    exact = ToyModel(n, m, K, kind=model.kind, seed=None, device=dev, dtype=torch.float64)
    with torch.no_grad(), runs.torch_threads(1, dev):  # one thread: the same digits on any core count
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
