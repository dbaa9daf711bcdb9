"""The paper's measures of superposition, per instance.

Every function takes a ToyModel or a weight tensor W of shape [n_instances, n_features, n_hidden]
(a single [n_features, n_hidden] matrix is treated as one instance).  Row W_i is feature i's
direction; W^_i = W_i / ||W_i|| is its unit vector.
"""

from __future__ import annotations

import torch

from .model import ToyModel
from .validate import check_finite, check_threshold

__all__ = [
    "REPRESENTED_THRESHOLD", "as_weights", "compute_feature_interference", "dimensions_per_feature", "embedding_angles",
    "feature_dimensionality", "feature_norms", "n_represented", "represented", "superposition", "unit_rows",
]

REPRESENTED_THRESHOLD = 0.5  # ||W_i|| ~ 1: represented, ~ 0: not; 0.5 is the cut between


def as_weights(W: ToyModel | torch.Tensor, name: str = "W") -> torch.Tensor:
    """W as a float32 CPU tensor [n_instances, n_features, n_hidden] (a 2-D matrix is one instance).

    ValueError if it is not a ToyModel or a tensor of that shape, or if it holds NaN or inf (a measure of
    a diverged model would otherwise be a silent NaN or a miscount).
    """
    if isinstance(W, ToyModel):
        W = W.W
    if not isinstance(W, torch.Tensor):
        raise ValueError(f"{name} must be a ToyModel or a tensor [n_instances, n_features, n_hidden], "
                         f"got {type(W).__name__}")
    if W.ndim == 2:
        W = W[None]
    if W.ndim != 3:
        raise ValueError(f"{name} must have shape [n_instances, n_features, n_hidden], got {tuple(W.shape)}")
    return check_finite(name, W.detach().float().cpu())


def feature_norms(W: ToyModel | torch.Tensor) -> torch.Tensor:
    """||W_i||, shape [n_instances, n_features]."""
    return as_weights(W).norm(dim=-1)


def unit_rows(W: torch.Tensor) -> torch.Tensor:
    """W^ = W_i / ||W_i||, with zero rows left at zero (no NaN)."""
    return W / W.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def compute_feature_interference(W: ToyModel | torch.Tensor) -> torch.Tensor:
    """Cosine similarity W^_i . W^_j, shape [n_instances, n_features, n_features].

    A zero-norm (dropped) feature has cosine 0 with everything, itself included.
    """
    U = unit_rows(as_weights(W))
    return U @ U.transpose(-1, -2)


def superposition(W: ToyModel | torch.Tensor) -> torch.Tensor:
    """sum_{j != i} (W^_i . W_j)^2, shape [n_instances, n_features].

    How much of other features' weight lies along feature i's direction (0 if i has a
    dimension to itself).  Meaningless for unrepresented features: gate on feature_norms.
    """
    Wt = as_weights(W)
    overlap = (unit_rows(Wt) @ Wt.transpose(-1, -2)) ** 2  # [k, i, j] = (W^_i . W_j)^2
    return overlap.sum(-1) - overlap.diagonal(dim1=-2, dim2=-1)


def dimensions_per_feature(W: ToyModel | torch.Tensor) -> torch.Tensor:
    """D* = m / ||W||_F^2, shape [n_instances]: hidden dimensions spent per (fully represented) feature."""
    Wt = as_weights(W)
    return Wt.shape[-1] / (Wt**2).sum(dim=(-1, -2)).clamp(min=1e-12)


def feature_dimensionality(W: ToyModel | torch.Tensor) -> torch.Tensor:
    """D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2 (j includes i), shape [n_instances, n_features].

    The fraction of a dimension feature i gets: 1 orthogonal, 1/2 antipodal pair, 2/3 triangle,
    3/4 tetrahedron, 2/5 pentagon; 0 for a dropped feature.
    """
    Wt = as_weights(W)
    overlap = ((unit_rows(Wt) @ Wt.transpose(-1, -2)) ** 2).sum(-1)
    return (Wt**2).sum(-1) / overlap.clamp(min=1e-12)


def represented(W: ToyModel | torch.Tensor, threshold: float = REPRESENTED_THRESHOLD) -> torch.Tensor:
    """Boolean mask ||W_i|| > threshold, shape [n_instances, n_features]."""
    return feature_norms(W) > check_threshold(threshold)


def n_represented(W: ToyModel | torch.Tensor, threshold: float = REPRESENTED_THRESHOLD) -> torch.Tensor:
    """How many features have ||W_i|| > threshold, shape [n_instances] (long)."""
    return represented(W, threshold).sum(-1)


def embedding_angles(W: ToyModel | torch.Tensor, threshold: float = REPRESENTED_THRESHOLD) -> list[torch.Tensor]:
    """For n_hidden = 2: the angles (degrees) between neighbouring represented features, per instance.

    Each entry is sorted by direction and sums to 360; a regular pentagon gives five 72s.
    """
    Wt = as_weights(W)
    if Wt.shape[-1] != 2:
        raise ValueError(f"embedding_angles needs n_hidden = 2, got n_hidden = {Wt.shape[-1]}")
    keep = represented(Wt, threshold)
    out = []
    for w, k in zip(Wt, keep):
        theta = torch.rad2deg(torch.atan2(w[k, 1], w[k, 0])).sort().values
        if len(theta) < 2:
            out.append(torch.tensor([360.0], dtype=torch.float32)[: len(theta)])
            continue
        gaps = torch.diff(theta, append=theta[:1] + 360.0)
        out.append(gaps)
    return out
