"""Self-checks of notebook 03: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb03
from toymodel.experiments import feature_importance
from toymodel.metrics import represented


@pytest.fixture(scope="module")
def grid():
    """A 3 decay x 2 density grid (untrained) with known weights.
    p = 0.1, r = 0.8: features 0/2 an antipodal pair with b = 0; features 1, 3, 4 stretched (norm 1.15) with
    b = -0.3; features 5-9 not represented, 8 and 9 with b = 0.01 (a bias near 0 on a dropped feature).
    p = 0.01: r = 0.8 keeps features 0-8 (drops 9, I = 0.8^9), r = 0.5 keeps 0-5 (least important kept: 0.5^5)."""
    g = feature_importance(importance_decays=(0.8, 0.7, 0.5), densities=(0.1, 0.01), steps=1, n_seeds=1,
                           progress=False)
    k = g.nearest(density=0.1, importance_decay=0.8)
    with torch.no_grad():
        g.model.W.zero_()
        g.model.b.zero_()
        g.model.W[k, 0, 0], g.model.W[k, 2, 0] = 1.0, -1.0
        for i in (1, 3, 4):
            g.model.W[k, i, 1 + i % 2] = 1.15
        g.model.b[k, [1, 3, 4]] = -0.3
        g.model.b[k, 5:8] = -0.2
        g.model.b[k, 8:] = 0.01
        for decay, n_kept in ((0.8, 9), (0.5, 6)):
            j = g.nearest(density=0.01, importance_decay=decay)
            g.model.W[j, :n_kept, 0] = 1.0
    return g


@pytest.fixture(scope="module")
def lin():
    s = feature_importance(kind="linear", importance_decays=(0.8,), densities=(1.0, 0.01), steps=1, n_seeds=1,
                           progress=False)
    with torch.no_grad():
        s.model.W.zero_()
        for k in range(len(s)):
            for i in range(3):
                s.model.W[k, i, i] = 1.0
    return s


def test_importance_bar(grid, capsys):
    dropped, kept = 0.8**9, 0.5**5
    assert nb03.importance_bar(grid, 0.01, 0.8) == (pytest.approx(dropped), pytest.approx(0.8**8))
    assert nb03.importance_bar(grid, 0.01, 0.5) == (pytest.approx(0.5**6), pytest.approx(kept))
    for right in ((dropped, kept), [0.134, 0.031], ("0.134", 0.0312), (dropped * 1.01, kept * 0.99)):
        assert nb03.check_importance_bar(right, grid) is True
    out = capsys.readouterr().out
    assert "drops feature 9 (I = 0.134)" in out and "keeps feature 5 (I = 0.031)" in out and "4.3 times" in out
    for wrong, named in [((9, 5), "feature indices"), ((kept, dropped), "wrong order"),
                         ((0.8**8, kept), "feature 8 of the r = 0.8 model, which it keeps"),
                         ((dropped, 0.5**6), "feature 6 of the r = 0.5 model, which it drops"),
                         ((0.5**9, kept), "no feature's importance in the r = 0.8 model"),
                         ((0.8**8, 0.5**6), "least important feature it keeps")]:
        assert nb03.check_importance_bar(wrong, grid) is False
        assert named in capsys.readouterr().out, wrong
    for wrong in (0.134, "0.134, 0.031", [0.134], (0.134, 0.031, 1.0), (0.134, None), (float("nan"), 0.031)):
        assert nb03.check_importance_bar(wrong, grid) is False
        assert "Write two numbers" in capsys.readouterr().out, wrong


def test_importance_bar_follows_the_sweep(grid, capsys, edit_row):
    j = grid.nearest(density=0.01, importance_decay=0.8)
    with edit_row(grid.model.W, j) as W:
        W[8, 0] = 0.0  # now feature 8 is dropped too: the most important dropped one is 8
        assert nb03.check_importance_bar((0.8**8, 0.5**5), grid) is True
        assert nb03.check_importance_bar((0.8**9, 0.5**5), grid) is False
    with edit_row(grid.model.W, j) as W:
        W[9, 0] = 1.0  # nothing dropped: the exercise cannot be done on this grid
        assert nb03.check_importance_bar((0.8**9, 0.5**5), grid) is False
        assert "drops no feature" in capsys.readouterr().out
    capsys.readouterr()


def test_unbiased_features(grid, capsys):
    assert nb03.unbiased_features(grid, 0.1, 0.8) == {0, 2}
    for right in ([0, 2], {2, 0}, (0.0, 2)):
        assert nb03.check_unbiased_features(right, grid) is True
    out = capsys.readouterr().out
    assert "features [1, 3, 4] have b from -0.30 to -0.30" in out and "norms from 1.15 to 1.15" in out
    for wrong, named in [([0, 2, 8, 9], "not represented"), ([0, 2, 5], "not represented"),
                         ([0, 1, 2, 3, 4], "all the represented features"),
                         ([1, 3, 4], "Take k = grid.nearest"), ([0], "Take k = grid.nearest")]:
        assert nb03.check_unbiased_features(wrong, grid) is False
        assert named in capsys.readouterr().out
    for wrong in ("02", 0, [0.5, 2]):
        assert nb03.check_unbiased_features(wrong, grid) is False
    capsys.readouterr()


def test_unbiased_features_follow_the_sweep(grid, capsys, edit_row):
    k = grid.nearest(density=0.1, importance_decay=0.8)
    with edit_row(grid.model.b, k) as b:
        b[0] = -0.2
        assert nb03.check_unbiased_features([2], grid) is True
        assert nb03.check_unbiased_features([0, 2], grid) is False
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
    g = feature_importance(importance_decays=(0.8, 0.5), densities=(0.1, 0.01), steps=1500, progress=False)
    k = g.nearest(density=0.1, importance_decay=0.8)
    worked = (represented(g.W)[k] & (g.model.b.detach()[k].abs() < 0.05)).nonzero().flatten().tolist()
    assert nb03.check_unbiased_features(worked, g) is True
    k8, k5 = (g.nearest(density=0.01, importance_decay=r) for r in (0.8, 0.5))
    answer = (float(g.importance[k8][~represented(g.W)[k8]].max()), float(g.importance[k5][represented(g.W)[k5]].min()))
    assert nb03.check_importance_bar(answer, g) is True
    lin = feature_importance(kind="linear", importance_decays=(0.8,), densities=(0.01,), steps=1500, progress=False)
    assert nb03.check_linear_frobenius(float((lin.W[lin.nearest(density=0.01)] ** 2).sum()), lin) is True
    capsys.readouterr()


@pytest.mark.parametrize("check", ["importance_bar", "unbiased_features", "linear_frobenius"])
def test_placeholder_is_unanswered_not_an_error(check, grid, lin, capsys):
    fn = getattr(nb03, f"check_{check}")
    args = {"importance_bar": (grid,), "unbiased_features": (grid,), "linear_frobenius": (lin,)}[check]
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out
