"""The paper's measures on exact polytopes, where the answers are known in closed form."""

import math

import pytest
import torch

from toymodel import (
    compute_feature_interference,
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    n_represented,
    superposition,
)
from toymodel.metrics import embedding_angles


def regular_polygon(k: int) -> torch.Tensor:
    """k unit vectors in 2-D, 360/k degrees apart: [k, 2]."""
    theta = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    return torch.stack([theta.cos(), theta.sin()], 1)


TETRAHEDRON = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64) / math.sqrt(3)


@pytest.mark.parametrize(
    "W, D",
    [
        (torch.eye(4, dtype=torch.float64), 1.0),  # orthogonal basis
        (torch.tensor([[1.0], [-1.0]], dtype=torch.float64), 1 / 2),  # antipodal pair
        (regular_polygon(3), 2 / 3),  # triangle
        (TETRAHEDRON, 3 / 4),  # tetrahedron
        (regular_polygon(5), 2 / 5),  # pentagon
    ],
    ids=["orthogonal", "antipodal", "triangle", "tetrahedron", "pentagon"],
)
def test_feature_dimensionality_of_uniform_polytopes(W, D):
    assert feature_dimensionality(W)[0].tolist() == pytest.approx([D] * W.shape[0], abs=1e-6)
    # For a uniform polytope D* equals every D_i: m / ||W||_F^2 = m / n.
    assert dimensions_per_feature(W)[0].item() == pytest.approx(D, abs=1e-6)


def test_superposition_of_polytopes():
    assert superposition(torch.eye(3))[0].tolist() == pytest.approx([0, 0, 0], abs=1e-7)
    assert superposition(torch.tensor([[1.0], [-1.0]]))[0].tolist() == pytest.approx([1, 1])
    # pentagon: sum over the 4 others of cos^2(72 k degrees) = 2 * (cos^2 72 + cos^2 144) = 1.5
    assert superposition(regular_polygon(5))[0].tolist() == pytest.approx([1.5] * 5, abs=1e-6)


def test_interference_is_cosine_and_safe_for_dropped_features():
    W = torch.tensor([[2.0, 0.0], [0.0, 0.0], [-1.0, 0.0], [1.0, 1.0]])
    C = compute_feature_interference(W)[0]
    assert torch.isfinite(C).all()
    assert C[0, 2].item() == pytest.approx(-1.0)
    assert C[0, 3].item() == pytest.approx(1 / math.sqrt(2))
    assert C[1].abs().sum() == 0  # the zero feature interferes with nothing
    # a perfect pentagon: signed cosines average to -0.25 although it is maximal superposition
    P = compute_feature_interference(regular_polygon(5))[0]
    off = P[~torch.eye(5, dtype=bool)]
    assert off.mean().item() == pytest.approx(-0.25, abs=1e-6)


def test_norms_and_represented_count():
    W = torch.tensor([[[1.0, 0.0], [0.0, 0.9], [0.3, 0.0]], [[0.0, 0.0], [0.0, 0.0], [0.6, 0.0]]])
    assert torch.allclose(feature_norms(W), torch.tensor([[1.0, 0.9, 0.3], [0.0, 0.0, 0.6]]))
    assert n_represented(W).tolist() == [2, 1]
    assert n_represented(W, threshold=0.95).tolist() == [1, 0]


def test_dropped_feature_has_zero_dimensionality_and_no_nan():
    W = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    D = feature_dimensionality(W)[0]
    assert D.tolist() == pytest.approx([1.0, 0.0])
    assert torch.isfinite(superposition(W)).all()


def test_embedding_angles_of_a_pentagon():
    angles = embedding_angles(regular_polygon(5).float())[0]
    assert angles.tolist() == pytest.approx([72.0] * 5, abs=1e-3)
    with pytest.raises(ValueError, match="n_hidden = 2"):
        embedding_angles(torch.eye(3))
