"""The sampler: shapes, the density p = 1 - S, the value distribution, seeding."""

import math

import pytest
import torch

from toymodel import density_sweep, generate_sparse_features, geometric_importance


def test_shape_is_batch_instances_features():
    x = generate_sparse_features(7, 5, 0.5, n_instances=3)
    assert x.shape == (7, 3, 5)


@pytest.mark.parametrize("p", [1.0, 0.3, 0.05])
def test_empirical_density_matches_feature_probability(p):
    g = torch.Generator().manual_seed(0)
    x = generate_sparse_features(20_000, 10, p, generator=g)
    density = (x > 0).float().mean().item()
    assert density == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / x.numel()) + 1e-4)


def test_kept_values_are_uniform_on_0_1():
    g = torch.Generator().manual_seed(1)
    x = generate_sparse_features(50_000, 4, 0.2, generator=g)
    kept = x[x > 0]
    assert kept.max() < 1.0 and kept.min() >= 0.0
    assert kept.mean().item() == pytest.approx(0.5, abs=0.01)
    assert kept.var().item() == pytest.approx(1 / 12, abs=0.005)
    # deciles of U[0,1)
    q = torch.quantile(kept[:100_000], torch.tensor([0.1, 0.5, 0.9]))
    assert torch.allclose(q, torch.tensor([0.1, 0.5, 0.9]), atol=0.01)


def test_a_density_of_zero_is_refused_as_everywhere_in_the_library():
    """The paper's p is in (0, 1]; p = 0 (a feature that never fires) used to give all-zero batches here."""
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\]"):
        generate_sparse_features(100, 3, 0.0)


def test_per_instance_and_per_feature_densities():
    g = torch.Generator().manual_seed(2)
    p = torch.tensor([[1.0, 0.5, 0.1], [0.02, 0.9, 0.3]])
    x = generate_sparse_features(40_000, 3, p, n_instances=2, generator=g)
    assert torch.allclose((x > 0).float().mean(0), p, atol=0.01)
    per_instance = generate_sparse_features(40_000, 3, [1.0, 0.2], n_instances=2, generator=g)
    assert torch.allclose((per_instance > 0).float().mean((0, 2)), torch.tensor([1.0, 0.2]), atol=0.01)


def test_same_generator_seed_same_batch_and_different_seed_differs():
    a = generate_sparse_features(64, 5, 0.3, generator=torch.Generator().manual_seed(5))
    b = generate_sparse_features(64, 5, 0.3, generator=torch.Generator().manual_seed(5))
    c = generate_sparse_features(64, 5, 0.3, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_geometric_importance_and_density_sweep():
    assert torch.allclose(geometric_importance(4, 0.9), torch.tensor([1.0, 0.9, 0.81, 0.729]))
    d = density_sweep(10, 0.05)
    assert d[0] == 1.0 and d[-1] == pytest.approx(0.05) and (d.diff() < 0).all()
