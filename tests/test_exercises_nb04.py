"""Self-checks of notebook 04: True for the worked answers in the <details> blocks, False otherwise."""

import math

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb04
from toymodel.experiments import dimensionality_sweep
from toymodel.metrics import dimensions_per_feature, feature_dimensionality

# a square antiprism: two squares in planes z = +-h, turned 45 degrees against each other, every vertex of norm 1
_H = 0.5  # height of the squares: D_i is near 3/8 for any h around here
_ANGLES = torch.arange(4) * math.pi / 2


def _antiprism(norm=1.0):
    r = (1 - _H**2) ** 0.5
    top = torch.stack([r * _ANGLES.cos(), r * _ANGLES.sin(), torch.full((4,), _H)], 1)
    a = _ANGLES + math.pi / 4
    bottom = torch.stack([r * a.cos(), r * a.sin(), torch.full((4,), -_H)], 1)
    return torch.cat([top, bottom]) * norm


@pytest.fixture(scope="module")
def dims():
    """Widths 1..3 at p = 1, 0.3, 0.03 (barely trained), with known weights. m = 3 at p = 0.03: 8 features of norm
    1.15 as a square antiprism; m = 3 at p = 1: three orthogonal features (D* = 1)."""
    d = dimensionality_sweep(hidden_sizes=(1, 2, 3), densities=(1.0, 0.3, 0.03), steps=1, n_seeds=1, progress=False)
    with torch.no_grad():
        for m, s in d.items():
            s.model.W.zero_()
            for k in range(len(s)):
                for i in range(min(2 * m, 8)):  # antipodal pairs of norm 1
                    s.model.W[k, i, (i // 2) % m] = 1.0 if i % 2 == 0 else -1.0
        d[3].model.W[d[3].nearest(density=0.03)] = _antiprism(1.15)
        d[3].model.W[d[3].nearest(density=1.0)].zero_()
        d[3].model.W[d[3].nearest(density=1.0), :3] = torch.eye(3)
    return d


def _values(d):
    k = d[3].nearest(density=0.03)
    W = d[3].W[k]
    return float(3 / (W**2).sum()), float(feature_dimensionality(W[None])[0].mean())


def test_fixture_is_what_the_tests_assume(dims):
    dstar, mean_d = _values(dims)
    assert dstar == pytest.approx(3 / (8 * 1.15**2), rel=1e-5)
    assert 0.34 < mean_d < 0.40 and abs(mean_d - dstar) > 0.05
    assert float(dimensions_per_feature(dims[3].W)[dims[3].nearest(density=1.0)]) == pytest.approx(1.0)


def test_dstar_accepts_the_worked_answer(dims, capsys):
    dstar, _ = _values(dims)
    for right in (dstar, round(dstar, 3), dstar + 0.008, nb04.dstar_of(dims, 3, 0.03)):
        assert nb04.check_dstar(right, dims) is True
    out = capsys.readouterr().out
    assert "Correct" in out and "more than one feature" in out  # norms 1.15 > 1 are explained


@pytest.mark.parametrize("wrong, hint", [
    (1.0, "sparsity"),                  # the model nearest density = 0.97, i.e. p = 1
    (3 / 8, "counts squared norms"),    # m / count
    (3 / (8 * 1.15**2) ** 0.5, "squared"),  # m / ||W||_F
    (8 * 1.15**2 / 3, "Upside down"),
    (0.1, "nearest(density=0.03)"),
])
def test_dstar_names_the_mistake(dims, wrong, hint, capsys):
    assert nb04.check_dstar(wrong, dims) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out


@pytest.mark.parametrize("wrong", ["about 0.3", (0.29, 0.3), float("nan"), True])
def test_dstar_rejects_non_numbers(dims, wrong, capsys):
    assert nb04.check_dstar(wrong, dims) is False
    assert "Not yet" in capsys.readouterr().out


def test_dstar_follows_the_sweep(dims, edit_row):
    k = dims[3].nearest(density=0.03)
    with edit_row(dims[3].model.W, k) as W:
        W.copy_(_antiprism(1.0))
        assert nb04.check_dstar(3 / 8, dims) is True
        assert nb04.check_dstar(3 / (8 * 1.15**2), dims) is False


def test_short_third(capsys):
    assert nb04.check_short_third((4 / 9, 1 / 9)) is True
    assert nb04.check_short_third([0.44, 0.11]) is True
    assert "add up to 1" in capsys.readouterr().out
    for wrong, hint in [((1 / 9, 4 / 9), "Swapped"), ((0.5, 1 / 9), "pair alone"), ((1 / 3, 1 / 12), "cosines"),
                        ((4 / 9, 4 / 9), "normalise W_3"), ((4 / 9, 1 / 12), "own term"), ((0.8, 0.1), "For feature 1"),
                        ((4 / 9, 0.5), "D_3 = ||W_3||^2")]:
        assert nb04.check_short_third(wrong) is False
        assert hint in capsys.readouterr().out
    for wrong in (0.44, "0.44, 0.11", (0.44, None), (0.44, 0.11, 0)):
        assert nb04.check_short_third(wrong) is False
    capsys.readouterr()


def test_dimensionality_ignores_a_common_scale():
    """What exercise 4's answer and check_mean_dimensionality say: scaling every W_i by one factor leaves D_i as it
    was (so the antiprism's common norm of 1.14 drops out), while D* = m / ||W||_F^2 falls by the factor squared."""
    W = _antiprism(1.0)[None]
    assert torch.allclose(feature_dimensionality(1.14 * W), feature_dimensionality(W), atol=1e-6)
    assert float(dimensions_per_feature(1.14 * W)[0]) == pytest.approx(float(dimensions_per_feature(W)[0]) / 1.14**2)
    uneven = W * torch.linspace(0.5, 1.5, 8)[None, :, None]  # a scale per feature does change it
    assert not torch.allclose(feature_dimensionality(uneven), feature_dimensionality(W), atol=1e-3)


def test_short_third_matches_the_metric():
    D = feature_dimensionality(torch.tensor([[[1.0], [-1.0], [0.5]]]))[0]
    assert torch.allclose(D[[0, 2]], torch.tensor(nb04.SHORT_THIRD), atol=1e-6)
    assert float(D.sum()) == pytest.approx(1.0) and float(D[1]) == pytest.approx(4 / 9)


def test_mean_dimensionality(dims, capsys):
    dstar, mean_d = _values(dims)
    assert nb04.mean_dimensionality(dims, 3, 0.03) == pytest.approx(mean_d)
    assert nb04.check_mean_dimensionality(mean_d, dims) is True
    assert nb04.check_mean_dimensionality(round(mean_d, 2), dims) is True
    out = capsys.readouterr().out
    assert "3/8" in out and "square antiprism" in out and "about m = 3" in out and "scaled by the same factor" in out
    for wrong, hint in [(dstar, "That is D*"), (8 * mean_d, "sum"), (0.9, "nearest(density=0.03)")]:
        assert nb04.check_mean_dimensionality(wrong, dims) is False
        assert hint in capsys.readouterr().out
    capsys.readouterr()


def test_mean_dimensionality_names_the_sparsity_slip(dims, capsys):
    k = dims[3].nearest(density=1.0)  # what nearest(density=0.97) picks: three orthogonal features, mean D_i 1
    assert nb04.mean_dimensionality(dims, 3, 0.97) == pytest.approx(1.0)
    assert nb04.check_mean_dimensionality(1.0, dims) is False
    assert "p = 1 - S" in capsys.readouterr().out
    assert k == dims[3].nearest(density=0.97)


def _right(W):
    U = W / W.norm(dim=-1, keepdim=True)
    return (W**2).sum(-1) / ((U @ W.transpose(-1, -2)) ** 2).sum(-1)


def test_feature_dimensionality_accepts_right_answers(capsys):
    assert nb04.check_feature_dimensionality(_right) is True
    assert nb04.check_feature_dimensionality(feature_dimensionality) is True
    assert "Correct" in capsys.readouterr().out


def test_feature_dimensionality_names_mistakes(capsys):
    def no_self(W):
        U = W / W.norm(dim=-1, keepdim=True)
        P = (U @ W.transpose(-1, -2)) ** 2
        return (W**2).sum(-1) / (P * (1 - torch.eye(W.shape[1]))).sum(-1)

    def upside_down(W):
        return 1 / _right(W)

    for fn, hint in [(no_self, "leaves out j = i"), (upside_down, "Upside down"), (lambda W: W.sum(), "shape")]:
        assert nb04.check_feature_dimensionality(fn) is False
        assert hint in capsys.readouterr().out


def test_feature_dimensionality_stub_is_unanswered(capsys):
    def my_feature_dimensionality(W):
        ...  # the notebook's stub

    assert nb04.check_feature_dimensionality(my_feature_dimensionality) is False
    assert UNANSWERED in capsys.readouterr().out

    def raises(W):
        raise RuntimeError("boom")

    assert nb04.check_feature_dimensionality(raises) is False
    assert "boom" in capsys.readouterr().out


@pytest.mark.parametrize("check", ["dstar", "short_third", "mean_dimensionality", "feature_dimensionality"])
def test_placeholder_is_unanswered_not_an_error(check, dims, capsys):
    fn = getattr(nb04, f"check_{check}")
    args = (dims,) if check in ("dstar", "mean_dimensionality") else ()
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert capsys.readouterr().out.count(UNANSWERED) == 2
