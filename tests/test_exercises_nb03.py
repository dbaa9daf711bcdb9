"""Self-checks of notebook 03: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb03
from toymodel.experiments import feature_importance
from toymodel.metrics import represented


@pytest.fixture(scope="module")
def grid():
    """A 2 decay x 2 density grid (untrained) with known weights. At r = 0.7, p = 0.0251: features 0/1 an antipodal
    pair with b = 0; features 2-4 stretched (norm 1.15) with b = -0.3; features 5-9 not represented, 8 and 9 with
    b = 0.01 (a bias near 0 on a dropped feature)."""
    g = feature_importance(importance_decays=(0.9, 0.7), densities=(1.0, 0.0251), steps=1, n_seeds=1, progress=False)
    k = g.nearest(density=0.0251, importance_decay=0.7)
    with torch.no_grad():
        g.model.W[k].zero_()
        g.model.b[k].zero_()
        g.model.W[k, 0, 0], g.model.W[k, 1, 0] = 1.0, -1.0
        for i in (2, 3, 4):
            g.model.W[k, i, 1 + i % 2] = 1.15
        g.model.b[k, 2:5] = -0.3
        g.model.b[k, 5:8] = -0.2
        g.model.b[k, 8:] = 0.01
    return g


@pytest.fixture(scope="module")
def lin():
    s = feature_importance(kind="linear", importance_decays=(0.9,), densities=(1.0, 0.01), steps=1, n_seeds=1,
                           progress=False)
    with torch.no_grad():
        s.model.W.zero_()
        for k in range(len(s)):
            for i in range(3):
                s.model.W[k, i, i] = 1.0
    return s


def test_importance_role(capsys):
    for right in ("b", "B", "(b)", " b "):
        assert nb03.check_importance_role(right) is True
    for wrong in ("a", "c", "(a)", "d", "", 2, ["b"], True):
        assert nb03.check_importance_role(wrong) is False
    out = capsys.readouterr().out
    assert "Correct" in out and "Not yet" in out and "never touches the inputs" in out


def test_unbiased_features(grid, capsys):
    assert nb03.unbiased_features(grid, 0.0251, 0.7) == {0, 1}
    for right in ([0, 1], {1, 0}, (0.0, 1)):
        assert nb03.check_unbiased_features(right, grid) is True
    out = capsys.readouterr().out
    assert "features [2, 3, 4] have b from -0.30 to -0.30" in out and "norms from 1.15 to 1.15" in out
    for wrong, named in [([0, 1, 8, 9], "not represented"), ([0, 1, 2, 3, 4], "all the represented features"),
                         ([2, 3, 4], "Take k = grid.nearest"), ([0], "Take k = grid.nearest")]:
        assert nb03.check_unbiased_features(wrong, grid) is False
        assert named in capsys.readouterr().out
    for wrong in ("01", 0, [0.5, 1]):
        assert nb03.check_unbiased_features(wrong, grid) is False
    capsys.readouterr()


def test_unbiased_features_follow_the_sweep(grid, capsys, edit_row):
    k = grid.nearest(density=0.0251, importance_decay=0.7)
    with edit_row(grid.model.b, k) as b:
        b[0] = -0.2
        assert nb03.check_unbiased_features([1], grid) is True
        assert nb03.check_unbiased_features([0, 1], grid) is False
    capsys.readouterr()


def test_linear_frobenius(lin, capsys):
    assert nb03.check_linear_frobenius(3.0, lin) is True
    assert nb03.check_linear_frobenius(float((lin.W[lin.nearest(density=0.01)] ** 2).sum()), lin) is True
    assert nb03.check_linear_frobenius("3", lin) is True
    assert "projection onto 3 dimensions" in capsys.readouterr().out
    for wrong, named in [(3**0.5, "square root"), (10, "number of features"), (5.0, "sum the squares")]:
        assert nb03.check_linear_frobenius(wrong, lin) is False
        assert named in capsys.readouterr().out
    for wrong in ("three", [3.0], float("inf")):
        assert nb03.check_linear_frobenius(wrong, lin) is False
    capsys.readouterr()


def test_linear_frobenius_follows_the_sweep(lin, capsys, edit_row):
    k = lin.nearest(density=0.01)
    with edit_row(lin.model.W, k) as W:
        W[3, 0] = 1.0
        assert nb03.check_linear_frobenius(4.0, lin) is True
        assert nb03.check_linear_frobenius(3.0, lin) is False
    capsys.readouterr()


def test_worked_answers_on_a_trained_grid(capsys):
    """The <details> expressions give True on a real (short) training run."""
    g = feature_importance(importance_decays=(0.7,), densities=(0.0251,), steps=1500, progress=False)
    k = g.nearest(density=0.0251, importance_decay=0.7)
    worked = (represented(g.W)[k] & (g.model.b.detach()[k].abs() < 0.05)).nonzero().flatten().tolist()
    assert nb03.check_unbiased_features(worked, g) is True
    lin = feature_importance(kind="linear", importance_decays=(0.9,), densities=(0.01,), steps=1500, progress=False)
    assert nb03.check_linear_frobenius(float((lin.W[lin.nearest(density=0.01)] ** 2).sum()), lin) is True
    capsys.readouterr()


@pytest.mark.parametrize("check", ["importance_role", "unbiased_features", "linear_frobenius"])
def test_placeholder_is_unanswered_not_an_error(check, grid, lin, capsys):
    fn = getattr(nb03, f"check_{check}")
    args = {"importance_role": (), "unbiased_features": (grid,), "linear_frobenius": (lin,)}[check]
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out
