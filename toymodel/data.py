"""Synthetic sparse features, and the importance / sparsity helpers.

The paper's data: each feature x_i is 0 with probability S (the *sparsity*) and
otherwise uniform on [0, 1).  We always pass the *density* (feature probability)
p = 1 - S, because that is what the sampler uses.
"""

from __future__ import annotations

from collections.abc import Sequence
import math

import torch

from .validate import check_in_range, check_memory, check_positive_int, holds_bool

__all__ = [
    "Number", "ProbabilityLike", "RELATIONS", "as_density_tensor", "as_instance_feature_tensor", "check_relation",
    "density_label", "density_sweep", "generate_correlated_features", "generate_sparse_features",
    "geometric_importance", "importance_label", "sample_feature_sets", "sparse_from_uniform",
]

Number = int | float
ProbabilityLike = Number | Sequence[Number] | Sequence[Sequence[Number]] | torch.Tensor


def as_instance_feature_tensor(
    name: str,
    value: ProbabilityLike,
    n_instances: int,
    n_features: int,
    *,
    low: float = 0.0,
    high: float = math.inf,
    low_open: bool = False,
    vector: str = "instance",
    device: torch.device | str | None = None,
    allowed: str | None = None,
) -> torch.Tensor:
    """Broadcast a scalar, a vector or a per-(instance, feature) value to [n_instances, n_features].

    Accepted shapes: scalar, a vector ([n_instances] when vector="instance", as for densities
    in a sweep; [n_features] when vector="feature", as for an importance profile),
    [n_instances, n_features], and (one profile shared by all instances) [1, n_features].  Every entry must
    lie in [low, high] ((low, high] with low_open) and not be NaN; otherwise a ValueError names `name` and the
    allowed values (described by `allowed`, default the interval).
    """
    if holds_bool(value):
        raise ValueError(f"{name} must hold numbers, not booleans, got {value!r}")
    try:
        t = torch.as_tensor(value, dtype=torch.float32, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a number or a sequence of numbers, got {value!r}") from err
    if t.ndim == 0:
        t = t.expand(n_instances, n_features)
    elif t.ndim == 1 and vector == "instance" and t.shape[0] == n_instances:
        t = t[:, None].expand(n_instances, n_features)
    elif t.ndim == 1 and vector == "feature" and t.shape[0] == n_features:
        t = t[None, :].expand(n_instances, n_features)
    elif t.ndim == 2 and t.shape[1] == n_features and t.shape[0] in (1, n_instances):
        t = t.expand(n_instances, n_features)
    else:
        raise ValueError(
            f"{name} has shape {tuple(t.shape)}; allowed: a scalar, [n_{vector}s]="
            f"[{n_instances if vector == 'instance' else n_features}], "
            f"or [n_instances, n_features]=[{n_instances}, {n_features}]"
        )
    allowed = allowed or ("(" if low_open else "[") + f"{low:g}, {high:g}]"
    if torch.isnan(t).any():
        raise ValueError(f"{name} contains NaN; allowed values are in {allowed}")
    outside = (t <= low if low_open else t < low) | (t > high)
    if outside.any():
        raise ValueError(f"{name} must lie in {allowed}, got {t[outside][0].item()!r}")
    return t.contiguous()


def as_density_tensor(name: str, value: ProbabilityLike, n_instances: int, n_features: int,
                      device: torch.device | str | None = None) -> torch.Tensor:
    """Densities p = 1 - S (or a set's probability) as [n_instances, n_features]: every entry in (0, 1], the
    paper's range (0 would be a feature that never fires).  Shapes as in as_instance_feature_tensor."""
    allowed = "(0, 1], as a density p = 1 - S (0 would be a feature that never fires)"
    return as_instance_feature_tensor(name, value, n_instances, n_features, low=0.0, high=1.0, low_open=True,
                                      device=device, allowed=allowed)


def generate_sparse_features(
    batch_size: int,
    n_features: int,
    density: ProbabilityLike,
    n_instances: int = 1,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Sample a batch of sparse features, shape [batch_size, n_instances, n_features].

    Each x_i is kept with probability p = density = 1 - S and is then
    uniform on [0, 1); otherwise it is 0.  `density` is a scalar, one value per
    instance ([n_instances]) or one per instance and feature ([n_instances, n_features]).

    One uniform draw u serves both purposes: keep x_i iff u < p, and then u / p is uniform on
    [0, 1) and independent of the keep event.  This halves the random numbers needed.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("n_features", n_features)
    check_positive_int("n_instances", n_instances)
    if generator is not None:
        device = generator.device
    p = as_density_tensor("density", density, n_instances, n_features, device)
    check_memory(8.0 * batch_size * n_instances * n_features,
                 f"batch_size={batch_size} x n_instances={n_instances} x n_features={n_features}")
    return _sample((batch_size, n_instances, n_features), p, generator)


def _sample(shape: tuple[int, ...], p: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """The sampler without the checks. shape: the output shape; p: validated densities, broadcastable to it."""
    u = torch.rand(shape, generator=generator, device=p.device, dtype=torch.float32)
    return sparse_from_uniform(u, -1.0 / p.clamp(min=1e-30))


def sparse_from_uniform(u: torch.Tensor, neg_inv_p: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Sparse features from uniform draws u (not modified), given -1/p broadcastable to u's shape.

    out: an optional buffer of the broadcast shape to write into (the training loop reuses one).
    v = u / p is uniform on [0, 1) exactly when it is kept (v < 1, probability p); the rest
    become 0.  Written as multiply / threshold / negate: the three fastest CPU kernels for it.
    """
    v = torch.mul(u, neg_inv_p, out=out)  # -u/p
    return torch.nn.functional.threshold_(v, -1.0, -0.0).neg_()  # keeps -u/p > -1 (u/p < 1); -0 -> +0


def geometric_importance(n_features: int, importance_decay: float = 0.9) -> torch.Tensor:
    """The paper's importance profile I_i = importance_decay**i, shape [n_features] (feature 0 most important)."""
    check_positive_int("n_features", n_features)
    check_memory(4.0 * n_features, f"n_features={n_features}")
    importance_decay = check_in_range("importance_decay", importance_decay, 0.0, 1.0, low_open=True)
    return importance_decay ** torch.arange(n_features, dtype=torch.float32)


def importance_label(importance_decay: float) -> str:
    """How the course writes a geometric importance profile: 'I = 0.8^i', or 'equal importance' for a decay of 1."""
    r = float(importance_decay)
    return "equal importance" if r == 1.0 else f"I = {r:.3g}^i"


def density_sweep(n_instances: int, p_min: float = 0.05) -> torch.Tensor:
    """Densities p from 1 (dense, S = 0) down to p_min (sparse), log-spaced, shape [n_instances].

    The paper's sweeps use p = 20**-linspace(0, 1, n), i.e. p_min = 1/20.
    """
    check_positive_int("n_instances", n_instances)
    check_memory(4.0 * n_instances, f"n_instances={n_instances}")
    p_min = check_in_range("p_min", p_min, 0.0, 1.0, low_open=True)
    return p_min ** torch.linspace(0.0, 1.0, n_instances, dtype=torch.float32)


def density_label(p: float) -> str:
    """How the course writes a density: both p and S = 1 - p, e.g. 'p = 0.05 (S = 0.95)'."""
    p = float(p)
    return f"p = {p:.3g} (S = {1 - p:.3g})"


# ------------------------------------------------------------------ notebook 08: correlated and anticorrelated sets

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
