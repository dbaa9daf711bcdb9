"""The paper's results, reproduced with the library's defaults (the reason the library exists)."""

import pytest
import torch

from toymodel import feature_norms, n_represented
from toymodel.experiments import basic_superposition, dimensionality_sweep, sparse_vs_dense
from toymodel.metrics import compute_feature_interference, dimensions_per_feature, embedding_angles


@pytest.fixture(scope="module")
def relu_5_2():
    return basic_superposition(progress=False)


@pytest.fixture(scope="module")
def linear_5_2():
    return basic_superposition(kind="linear", progress=False)


def test_sparse_5_to_2_forms_a_regular_pentagon(relu_5_2):
    k = relu_5_2.nearest(density=0.05)
    assert relu_5_2.density[k].item() == pytest.approx(0.05)
    assert n_represented(relu_5_2.W)[k] == 5
    angles = embedding_angles(relu_5_2.W)[k]
    assert angles.tolist() == pytest.approx([72.0] * 5, abs=4.0)
    norms = feature_norms(relu_5_2.W)[k]
    assert (norms - norms.mean()).abs().max() < 0.1  # all five about equally long


def test_dense_5_to_2_keeps_the_two_most_important_features_orthogonal(relu_5_2):
    k = relu_5_2.nearest(density=1.0)
    norms = feature_norms(relu_5_2.W)[k]
    assert norms[:2].tolist() == pytest.approx([1.0, 1.0], abs=0.05)
    assert (norms[2:] < 0.3).all()
    assert compute_feature_interference(relu_5_2.W)[k, 0, 1].abs() < 0.02


def test_dense_5_to_2_reaches_the_dense_optimum_for_the_dropped_features(relu_5_2):
    """At p = 1 the best a dropped feature can do is W_i = 0 and b_i = E[x_i] = 1/2 (the paper's recipe gets there)."""
    k = relu_5_2.nearest(density=1.0)
    assert (feature_norms(relu_5_2.W)[k, 2:] < 0.05).all()
    assert relu_5_2.model.b[k, 2:].tolist() == pytest.approx([0.5] * 3, abs=0.02)


def test_intermediate_sparsity_gives_antipodal_pairs(relu_5_2):
    """Between dense and pentagon the model stores 4 features as two antipodal pairs."""
    four = [k for k in range(len(relu_5_2)) if n_represented(relu_5_2.W)[k] == 4]
    assert four, "no instance with exactly 4 represented features"
    C = compute_feature_interference(relu_5_2.W)[four[0]]
    kept = torch.nonzero(feature_norms(relu_5_2.W)[four[0]] > 0.5).flatten()
    most_negative = C[kept][:, kept].min(1).values
    assert (most_negative < -0.98).all()  # each kept feature has an antipodal partner


def test_represented_count_grows_with_sparsity(relu_5_2):
    counts = n_represented(relu_5_2.W)  # densities go from 1 down to 0.05
    assert counts[0] == 2 and counts[-1] == 5
    assert (counts.diff() >= 0).all()


def test_linear_model_never_represents_more_than_n_hidden(linear_5_2):
    assert (n_represented(linear_5_2.W) <= 2).all()
    assert (n_represented(linear_5_2.W) == 2).all()  # and it keeps the 2 most important (PCA)
    assert (feature_norms(linear_5_2.W)[:, :2] > 0.9).all()


def test_sparse_features_pack_more_features_into_5_dimensions():
    sweep = sparse_vs_dense(densities=(1.0, 0.01), progress=False)
    dense, sparse = n_represented(sweep.W).tolist()
    assert dense == 5
    assert (feature_norms(sweep.W)[0, :5] > 0.9).all()  # the five most important
    assert sparse >= 10


def test_dimensions_per_feature_sticks_at_one_and_one_half():
    sweeps = dimensionality_sweep(hidden_sizes=(2, 4), densities=(1.0, 0.01), progress=False)
    assert dimensions_per_feature(sweeps[2].W)[0].item() == pytest.approx(1.0, abs=0.03)  # dense
    assert dimensions_per_feature(sweeps[4].W)[1].item() == pytest.approx(0.5, abs=0.03)  # 8 in 4: antipodal
