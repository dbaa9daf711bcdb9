"""toymodel.geometry: fraction lines, tegum factors and the Thomson solver, on polytopes with known answers."""

import math

import numpy as np
import pytest
import torch

from toymodel.geometry import (
    FRACTIONS,
    fraction_values,
    geometry_graph,
    nearest_fraction,
    pairwise_angles,
    share_near_fractions,
    tegum_factors,
    thomson,
    thomson_energy,
)
from toymodel.metrics import feature_dimensionality


def polygon(k: int) -> np.ndarray:
    a = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(a), np.sin(a)], 1)


def tetrahedron() -> np.ndarray:
    return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / math.sqrt(3)


def embed(*blocks: np.ndarray) -> np.ndarray:
    """The tegum product: each block in its own orthogonal coordinates."""
    rows, cols = sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)
    out, r, c = np.zeros((rows, cols)), 0, 0
    for b in blocks:
        out[r:r + b.shape[0], c:c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


PAIR = np.array([[1.0], [-1.0]])


@pytest.mark.parametrize("points, value", [
    (tetrahedron(), 3 / 4), (polygon(3), 2 / 3), (PAIR, 1 / 2), (polygon(5), 2 / 5), (np.eye(3), 1.0),
])
def test_each_fraction_is_the_dimensionality_of_its_polytope(points, value):
    D = feature_dimensionality(torch.tensor(points, dtype=torch.float32))[0].numpy()
    assert np.allclose(D, value, atol=1e-5)
    index, dist = nearest_fraction(D)
    assert (fraction_values()[index] == pytest.approx(value)) and dist.max() < 1e-5


def test_fraction_table_names_the_papers_polytopes():
    names = {label: name for _, label, name in FRACTIONS}
    assert names == {"1": "orthogonal", "3/4": "tetrahedron", "2/3": "triangle", "1/2": "antipodal pair",
                     "2/5": "pentagon", "3/8": "square antiprism", "0": "not learned"}
    assert list(fraction_values()) == sorted(fraction_values(), reverse=True)


def test_nearest_fraction_keeps_shape_and_picks_the_closest():
    index, dist = nearest_fraction([[0.51, 0.38], [0.02, 0.9]])  # 0.38: 0.005 from 3/8, 0.02 from 2/5
    assert index.shape == (2, 2)
    labels = [[FRACTIONS[i][1] for i in row] for row in index]
    assert labels == [["1/2", "3/8"], ["0", "1"]]
    assert dist[0, 0] == pytest.approx(0.01)


def test_tegum_factors_split_a_product_into_its_pieces():
    W = embed(polygon(3), PAIR, tetrahedron(), np.ones((1, 1)))  # 3 + 2 + 4 + 1 features in 2 + 1 + 3 + 1 dims
    W = np.vstack([W, np.zeros((2, W.shape[1]))])  # two unlearned features: not in any factor
    assert tegum_factors(W) == [[0, 1, 2], [3, 4], [5, 6, 7, 8], [9]]
    nodes, adj = geometry_graph(W)
    assert list(nodes) == list(range(10)) and adj.sum() == 2 * (3 + 1 + 6)


def test_tegum_factors_threshold_decides_what_counts_as_orthogonal():
    W = embed(PAIR, PAIR)
    W[0, 1] = 0.15  # a small leak between the two pairs
    assert len(tegum_factors(W)) == 2  # below the documented threshold 0.2
    assert len(tegum_factors(W, edge_threshold=0.1)) == 1


def test_share_near_fractions_counts_only_represented_features():
    W = embed(polygon(5), np.array([[1.0, 0.0], [0.3, 0.9]]))  # pentagon + two unequal features in a plane
    W = np.vstack([W, np.zeros((3, 4)) + 0.01])
    D = feature_dimensionality(torch.tensor(W, dtype=torch.float32))[0]
    assert share_near_fractions(W) == pytest.approx(5 / 7)
    assert not (abs(D[5:7] - 0.5) < 0.02).all()


@pytest.mark.parametrize("k, d, energy", [(4, 3, 3.674234), (5, 3, 6.474691), (6, 3, 9.985281), (8, 3, 19.675288),
                                          (5, 2, 6.881910)])
def test_thomson_reaches_the_known_minimum_energy(k, d, energy):
    r = thomson(k, d, n_starts=3, steps=1500)
    assert r.shape == (k, d) and np.allclose(np.linalg.norm(r, axis=1), 1.0)
    assert thomson_energy(r) == pytest.approx(energy, abs=1e-4)


def test_thomson_solutions_are_the_papers_polytopes():
    tet, bipyramid, octa, antiprism = (thomson(k, 3, n_starts=3, steps=1500) for k in (4, 5, 6, 8))
    assert pairwise_angles(tet) == pytest.approx([109.47] * 6, abs=0.1)
    D5 = np.sort(feature_dimensionality(torch.tensor(bipyramid))[0].numpy())
    assert D5 == pytest.approx([0.5, 0.5, 2 / 3, 2 / 3, 2 / 3], abs=1e-3)  # triangle x antipodal pair
    assert sorted(len(f) for f in tegum_factors(bipyramid)) == [2, 3]
    assert sorted(len(f) for f in tegum_factors(octa)) == [2, 2, 2]  # three antipodal pairs
    D8 = feature_dimensionality(torch.tensor(antiprism))[0].numpy()
    assert D8 == pytest.approx([3 / 8] * 8, abs=0.003)  # square antiprism
    cube = np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T / 3**0.5
    assert thomson_energy(antiprism) < thomson_energy(cube)  # the antiprism beats the more famous cube


def test_thomson_is_seeded():
    one = thomson(5, 3, seed=1, n_starts=2, steps=200)
    assert np.array_equal(one, thomson(5, 3, seed=1, n_starts=2, steps=200))
    assert not np.allclose(one, thomson(5, 3, seed=2, n_starts=2, steps=200))  # the seed is used


@pytest.mark.parametrize("call, match", [
    (lambda: thomson(1), "k must be at least 2"),
    (lambda: thomson(4, 0), "d must be a positive integer"),
    (lambda: thomson(4, seed=-1), "seed must be a non-negative integer"),
    (lambda: tegum_factors(np.ones((3, 2)), edge_threshold=1.5), r"edge_threshold must be a number in \(0, 1\)"),
    (lambda: tegum_factors(np.ones((2, 3, 2))), r"shape \[n_features, n_hidden\]"),
    (lambda: share_near_fractions(np.ones((3, 2)), tol=0.7), r"tol must be a number in \(0, 0.5\)"),
    (lambda: nearest_fraction([0.5, float("nan")]), "finite"),
])
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
