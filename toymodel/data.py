"""Synthetic sparse features, and the importance / sparsity helpers.

The paper's data: each feature x_i is 0 with probability S (the *sparsity*) and
otherwise uniform on [0, 1).  We always pass the *density* (feature probability)
p = 1 - S, because that is what the sampler uses.
"""

from __future__ import annotations

from collections.abc import Sequence
import math

import numpy as np
import torch

from .validate import check_in_range, check_memory, check_positive_int, holds_bool

__all__ = [
    "FeatureStream", "Number", "ProbabilityLike", "as_density_tensor", "as_instance_feature_tensor", "density_label",
    "density_sweep", "generate_sparse_features", "geometric_importance", "importance_label", "sparse",
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

    One uniform draw u serves both purposes (see `sparse`): this halves the random numbers needed.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("n_features", n_features)
    check_positive_int("n_instances", n_instances)
    if generator is not None:
        device = generator.device
    p = as_density_tensor("density", density, n_instances, n_features, device)
    check_memory(8.0 * batch_size * n_instances * n_features,
                 f"batch_size={batch_size} x n_instances={n_instances} x n_features={n_features}")
    u = torch.rand((batch_size, n_instances, n_features), generator=generator, device=p.device, dtype=torch.float32)
    return sparse(u, 1.0 / p)


def sparse(u: torch.Tensor, inv_p: torch.Tensor) -> torch.Tensor:
    """Sparse features from uniform draws u, given 1/p (broadcastable to u): v = u / p is uniform on [0, 1) exactly
    when it is kept (v < 1, probability p), so one draw decides both whether x_i is present and its value."""
    v = u * inv_p
    return torch.where(v < 1, v, 0.0)


class FeatureStream:
    """Training batches x [batch_size, n_instances, n_features] with the paper's distribution, from a seed.

    One uniform draw u [batch_size, n_features] per batch serves every instance: instance k gets x_ki = u_i / p_ki
    where u_i < p_ki, else 0.  Each instance's stream has exactly the paper's distribution; instances are
    correlated, which is harmless since they never interact (and makes settings fairer to compare: common random
    numbers), and it cuts the random numbers per step by n_instances, most of a step's cost on a CPU.
    density: validated p, [n_instances, n_features]; dtype: the batches' (the model's).  On the CPU u comes from
    numpy's PCG64, twice as fast as torch.rand.
    """

    def __init__(self, density: torch.Tensor, batch_size: int, seed: int, dtype: torch.dtype = torch.float32) -> None:
        self.inv_p = 1.0 / density.to(dtype)  # [n_instances, n_features]
        self.shape = (density.shape[1], batch_size)  # u is drawn feature-major: the fast path's layout
        if density.device.type == "cpu":
            self.rng = np.random.Generator(np.random.PCG64(seed))
            self.buffer = np.empty(self.shape, dtype=np.float32)
        else:
            self.rng, self.generator = None, torch.Generator(device=density.device).manual_seed(seed)

    def uniforms(self) -> torch.Tensor:
        """The next draw u, [n_features, batch_size], float32 (on the CPU a buffer that the next call refills)."""
        if self.rng is None:
            return torch.rand(self.shape, generator=self.generator, device=self.inv_p.device, dtype=torch.float32)
        self.rng.random(dtype=np.float32, out=self.buffer)
        return torch.from_numpy(self.buffer)

    def next(self) -> torch.Tensor:
        """The next batch, [batch_size, n_instances, n_features]."""
        return sparse(self.uniforms().T[:, None, :], self.inv_p)


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
