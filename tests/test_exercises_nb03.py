"""Self-checks of notebook 03: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb03
from toymodel.experiments import feature_importance


def _set_norms(sweep, k, n_kept):
    """Instance k: features 0 .. n_kept-1 with norm 1 (spread over the hidden dims), the rest 0."""
    m = sweep.model.n_hidden
    with torch.no_grad():
        sweep.model.W[k].zero_()
        for i in range(n_kept):
            sweep.model.W[k, i, i % m] = 1.0 if (i // m) % 2 == 0 else -1.0


@pytest.fixture(scope="module")
def grid():
    """A 2 decay x 2 density grid (barely trained) with known weights: dense 3 features, p = 0.01: 10 and 6."""
    g = feature_importance(importance_decays=(0.9, 0.5), densities=(1.0, 0.01), steps=1, n_seeds=1, progress=False)
    for (r, p), n in {(0.9, 1.0): 3, (0.5, 1.0): 3, (0.9, 0.01): 10, (0.5, 0.01): 6}.items():
        _set_norms(g, g.nearest(density=p, importance_decay=r), n)
    return g


@pytest.fixture(scope="module")
def lin():
    s = feature_importance(kind="linear", importance_decays=(0.9,), densities=(1.0, 0.01), steps=1, n_seeds=1,
                           progress=False)
    for k in range(len(s)):
        _set_norms(s, k, 3)
    return s


def test_importance_role(capsys):
    for right in ("b", "B", "(b)", " b "):
        assert nb03.check_importance_role(right) is True
    for wrong in ("a", "c", "(a)", "d", "", 2, ["b"], True):
        assert nb03.check_importance_role(wrong) is False
    out = capsys.readouterr().out
    assert "Correct" in out and "Not yet" in out and "never touches the inputs" in out


def test_counts_at_sparsity_accepts_the_worked_answer(grid, capsys):
    assert nb03.counts_at(grid, 0.01, (0.9, 0.5)) == (10, 6)
    assert nb03.check_counts_at_sparsity((10, 6), grid) is True
    assert nb03.check_counts_at_sparsity([10.0, 6], grid) is True
    assert nb03.check_counts_at_sparsity(nb03.counts_at(grid, 0.01, (0.9, 0.5)), grid) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [(6, 10), (10, 10), (10,), (10, 6, 3), (10.5, 6), "10, 6", 10, (None, 6)])
def test_counts_at_sparsity_rejects_wrong_answers(grid, wrong, capsys):
    assert nb03.check_counts_at_sparsity(wrong, grid) is False
    assert "Not yet" in capsys.readouterr().out


def test_counts_at_sparsity_hints_at_density_sparsity_mixup(grid, capsys):
    assert nb03.check_counts_at_sparsity((3, 3), grid) is False  # the dense counts: S = 0.99 read as p = 0.99
    assert "p = 1 - S" in capsys.readouterr().out


def test_counts_follow_the_sweep_not_a_constant(grid):
    k = grid.nearest(density=0.01, importance_decay=0.5)
    saved = grid.model.W[k].clone()
    try:
        _set_norms(grid, k, 4)
        assert nb03.check_counts_at_sparsity((10, 4), grid) is True
        assert nb03.check_counts_at_sparsity((10, 6), grid) is False
    finally:
        with torch.no_grad():
            grid.model.W[k] = saved


def test_linear_features(lin, capsys):
    assert nb03.check_linear_features([0, 1, 2], lin) is True
    assert nb03.check_linear_features({2, 1, 0}, lin) is True
    assert nb03.check_linear_features((0.0, 1, 2), lin) is True
    for wrong in ([0, 1], [0, 1, 2, 3], [7, 8, 9], list(range(10)), "012", 3, [0.5, 1, 2]):
        assert nb03.check_linear_features(wrong, lin) is False
    out = capsys.readouterr().out
    assert "never represents more than 3" in out


def test_linear_features_follow_the_sweep(lin):
    k = lin.nearest(density=0.01)
    saved = lin.model.W[k].clone()
    try:
        with torch.no_grad():
            lin.model.W[k].zero_()
            lin.model.W[k, 4, 0] = lin.model.W[k, 5, 1] = lin.model.W[k, 6, 2] = 1.0
        assert nb03.check_linear_features([4, 5, 6], lin) is True
        assert nb03.check_linear_features([0, 1, 2], lin) is False
    finally:
        with torch.no_grad():
            lin.model.W[k] = saved


@pytest.mark.parametrize("check", ["importance_role", "counts_at_sparsity", "linear_features"])
def test_placeholder_is_unanswered_not_an_error(check, grid, lin, capsys):
    fn = getattr(nb03, f"check_{check}")
    args = {"importance_role": (), "counts_at_sparsity": (grid,), "linear_features": (lin,)}[check]
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out
