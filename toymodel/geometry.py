"""The geometry of uniform superposition (the paper's "Geometry of Superposition" section), no training.

Feature dimensionality D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2 (metrics.feature_dimensionality)
clusters at a few fractions, each the D_i of a regular polytope's vertices:

    1    orthogonal (a dimension to itself)      1/2  antipodal pair (2 points on a line)
    3/4  tetrahedron (4 points in 3-D)           2/5  pentagon (5 points in a plane)
    2/3  triangle (3 points in a plane)          3/8  square antiprism (8 points in 3-D)
    0    not learned

For k unit vectors that spread evenly over d dimensions (a "tight frame": sum_j (u_i . u_j)^2 = k/d
for every i) each D_i is exactly d/k: 3/4 = 3 dims / 4 points, 3/8 = 3 dims / 8 points.

The feature geometry graph joins features i and j when |W_i . W_j| is not ~0; its connected
components are the tegum factors (polytopes in mutually orthogonal subspaces), and each factor
has its own D_i.  The Thomson problem (k charges on a sphere, minimal Coulomb energy) has several
of these polytopes as solutions; thomson() solves small instances for comparison.

Everything takes W as a torch tensor, a numpy array or a ToyModel; one instance is [n_features, n_hidden].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .metrics import REPRESENTED_THRESHOLD, feature_dimensionality, feature_norms
from .model import ToyModel
from .validate import check_in_range, check_positive_int, check_seed, check_threshold

__all__ = [
    "FRACTIONS", "fraction_values", "nearest_fraction", "share_near_fractions", "geometry_graph",
    "tegum_factors", "thomson", "thomson_energy", "pairwise_angles", "EDGE_THRESHOLD",
]

# (D_i, label, the polytope whose vertices have it), largest first.
FRACTIONS: tuple[tuple[float, str, str], ...] = (
    (1.0, "1", "orthogonal"),
    (3 / 4, "3/4", "tetrahedron"),
    (2 / 3, "2/3", "triangle"),
    (1 / 2, "1/2", "antipodal pair"),
    (2 / 5, "2/5", "pentagon"),
    (3 / 8, "3/8", "square antiprism"),
    (0.0, "0", "not learned"),
)

# Features i, j are joined in the geometry graph when |W_i . W_j| > EDGE_THRESHOLD.  Within a polytope of
# norm-1 vertices every |dot| is at least ~0.3 (pentagon neighbours cos 72 = 0.31, tetrahedron 1/3, square
# antiprism 0.31); between clean tegum factors a trained model leaves |dot| near 0.  Overlaps in between mean
# the factors are not cleanly orthogonal: the graph then splits them anyway, and their D_i drift off the
# fraction lines (measured: notebooks/README.md, section "Measurements behind the library's defaults").
EDGE_THRESHOLD = 0.2


def _one_instance(W: Any, name: str = "W") -> np.ndarray:
    """W as a float64 numpy array [n_features, n_hidden] (a ToyModel or a 3-D W must hold one instance)."""
    if isinstance(W, ToyModel):
        W = W.W
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().numpy()
    try:
        arr = np.asarray(W, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array [n_features, n_hidden], got {type(W).__name__}") from err
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape [n_features, n_hidden] (one instance), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def fraction_values() -> np.ndarray:
    """The fraction lines' D_i values, largest first: [1, 3/4, 2/3, 1/2, 2/5, 3/8, 0]."""
    return np.array([f for f, _, _ in FRACTIONS])


def nearest_fraction(D: Any) -> tuple[np.ndarray, np.ndarray]:
    """For each value in D (any shape), the index into FRACTIONS of the nearest fraction, and the distance.

    Returns (index, distance), both of D's shape.  FRACTIONS[index][2] names the polytope.
    """
    d = np.asarray(D.detach().cpu() if isinstance(D, torch.Tensor) else D, dtype=np.float64)
    if not np.isfinite(d).all():
        raise ValueError("D must hold finite feature dimensionalities")
    gaps = np.abs(d[..., None] - fraction_values())
    index = gaps.argmin(-1)
    return index, np.take_along_axis(gaps, index[..., None], -1)[..., 0]


def share_near_fractions(W: Any, tol: float = 0.02, threshold: float = REPRESENTED_THRESHOLD) -> float:
    """The share of represented features (||W_i|| > threshold) whose D_i lies within tol of a fraction line.

    W: one instance [n_features, n_hidden].  Returns nan if no feature is represented.
    """
    tol = check_in_range("tol", tol, 0.0, 0.5, low_open=True, high_open=True, allowed="a number in (0, 0.5)")
    threshold = check_threshold(threshold)
    w = torch.from_numpy(_one_instance(W))
    kept = feature_norms(w)[0].numpy() > threshold
    if not kept.any():
        return math.nan
    _, dist = nearest_fraction(feature_dimensionality(w)[0].numpy()[kept])
    return float((dist <= tol).mean())


def geometry_graph(W: Any, edge_threshold: float = EDGE_THRESHOLD,
                   threshold: float = REPRESENTED_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """The paper's feature geometry graph of one instance.

    Nodes: the represented features (||W_i|| > threshold), returned as an index array [n_nodes].
    Edges: |W_i . W_j| > edge_threshold (i != j), returned as a boolean adjacency matrix [n_nodes, n_nodes]
    (the edge weight is |W_i . W_j|; see EDGE_THRESHOLD for why 0.2 separates ~0 from not ~0).
    """
    edge_threshold = check_in_range("edge_threshold", edge_threshold, 0.0, 1.0, low_open=True, high_open=True,
                                    allowed="a number in (0, 1)")
    threshold = check_threshold(threshold)
    w = _one_instance(W)
    nodes = np.flatnonzero(np.linalg.norm(w, axis=1) > threshold)
    G = np.abs(w[nodes] @ w[nodes].T)
    adj = G > edge_threshold
    np.fill_diagonal(adj, False)
    return nodes, adj


def tegum_factors(W: Any, edge_threshold: float = EDGE_THRESHOLD,
                  threshold: float = REPRESENTED_THRESHOLD) -> list[list[int]]:
    """Connected components of the feature geometry graph: the tegum factors, as lists of feature indices.

    Each factor is sorted, and factors are ordered by their smallest feature.  A feature alone in its
    factor has a dimension to itself; an antipodal pair is a factor of 2, a triangle of 3, and so on.
    """
    nodes, adj = geometry_graph(W, edge_threshold, threshold)
    label = -np.ones(len(nodes), dtype=int)
    for start in range(len(nodes)):
        if label[start] >= 0:
            continue
        label[start], stack = start, [start]
        while stack:  # depth-first search
            i = stack.pop()
            for j in np.flatnonzero(adj[i] & (label < 0)):
                label[j] = start
                stack.append(j)
    return [sorted(int(nodes[i]) for i in np.flatnonzero(label == root)) for root in np.unique(label)]


def pairwise_angles(W: Any) -> np.ndarray:
    """Angles in degrees between every pair of rows of W [k, d], sorted ascending, shape [k (k - 1) / 2]."""
    w = _one_instance(W)
    u = w / np.linalg.norm(w, axis=1, keepdims=True).clip(1e-12)
    i, j = np.triu_indices(len(u), 1)
    return np.sort(np.degrees(np.arccos(np.clip((u[i] * u[j]).sum(1), -1.0, 1.0))))


def thomson_energy(points: Any) -> float:
    """The Thomson problem's Coulomb energy sum_{i<j} 1 / |r_i - r_j| of points [k, d]."""
    r = _one_instance(points, "points")
    i, j = np.triu_indices(len(r), 1)
    return float((1.0 / np.linalg.norm(r[i] - r[j], axis=1).clip(1e-12)).sum())


def thomson(k: int, d: int = 3, *, seed: int = 0, n_starts: int = 8, steps: int = 2000) -> np.ndarray:
    """k unit vectors in R^d minimising the Coulomb energy sum_{i<j} 1 / |r_i - r_j| (the Thomson problem).

    Projected gradient descent on the sphere from n_starts seeded random starts; returns the points of
    the lowest-energy run, [k, d] (float64).  Known minima for d = 3: k = 4 tetrahedron, 5 triangular
    bipyramid, 6 octahedron, 8 square antiprism (not the cube).
    """
    check_positive_int("k", k)
    check_positive_int("d", d)
    check_positive_int("n_starts", n_starts)
    check_positive_int("steps", steps)
    if k < 2:
        raise ValueError(f"k must be at least 2 (one point has no energy), got {k}")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    best, best_energy = None, math.inf
    for _ in range(n_starts):
        r = rng.standard_normal((k, d))
        r /= np.linalg.norm(r, axis=1, keepdims=True)
        step = 0.1 / k
        for _ in range(steps):
            diff = r[:, None, :] - r[None, :, :]  # [k, k, d]: r_i - r_j
            dist = np.linalg.norm(diff, axis=-1) + np.eye(k)
            force = (diff / dist[..., None] ** 3).sum(1)  # -dE/dr_i
            force -= (force * r).sum(1, keepdims=True) * r  # keep the tangent part
            r = r + step * force
            r /= np.linalg.norm(r, axis=1, keepdims=True)
        energy = thomson_energy(r)
        if energy < best_energy - 1e-12:
            best, best_energy = r, energy
    return best  # type: ignore[return-value]
