"""Self-checks of notebook 06: True for the worked answers in the <details> blocks, False otherwise."""


import numpy as np
import pytest
import torch

from toymodel.exercises import UNANSWERED, nb06
from toymodel.experiments import GeometryRun
from toymodel.geometry import tegum_factors
from toymodel.metrics import feature_dimensionality


def _polygon(k):
    a = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(a), np.sin(a)], 1)


@pytest.fixture(scope="module")
def sweep():
    """20 features in m = 6, known weights. p = 0.3: 6 antipodal pairs. p = 0.2: 2 pentagons + 2 antipodal pairs.
    p = 0.53: 2 antipodal pairs of norm 1 (dims 0, 1) and 8 short features of norm 0.3 as pairs on dims 2..5."""
    W = torch.zeros(3, 20, 6)
    for i in range(12):
        W[0, i, i // 2] = 1.0 if i % 2 == 0 else -1.0
    W[1, 0:5, 0:2] = torch.tensor(_polygon(5), dtype=torch.float32)
    W[1, 5:10, 2:4] = torch.tensor(_polygon(5), dtype=torch.float32)
    W[1, 10:14, 4:6] = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    for i in range(4):
        W[2, i, i // 2] = 1.0 if i % 2 == 0 else -1.0
    for i in range(8):
        W[2, 4 + i, 2 + i // 2] = 0.3 if i % 2 == 0 else -0.3
    run = GeometryRun(W=W, density=torch.tensor([0.3, 0.2, 0.53]), index=torch.arange(3), loss=torch.zeros(3),
                      copy_losses=torch.zeros(1, 3), steps=1, lr=0.01, seed=0)
    return run.sweep()


def _cube():
    return torch.tensor([[x, y, z] for x in (1, -1) for y in (1, -1) for z in (1, -1)], dtype=torch.float64) / 3**0.5


def test_cube_constant_matches_the_library():
    W = _cube()
    D = feature_dimensionality(W)[0].double()
    assert torch.allclose(D, torch.full((8,), nb06.CUBE[0], dtype=torch.float64), atol=1e-6)
    assert len(tegum_factors(W.float())) == nb06.CUBE[1]


def test_cube_accepts_the_worked_answer(capsys):
    for right in ((0.375, 1), [3 / 8, 1.0], (0.38, 1)):
        assert nb06.check_cube(right) is True
    assert "square antiprism" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    ((0.5, 1), "Not only the antipode"), ((0.6, 1), "leaves out j = i"), ((0.25, 1), "Square"),
    ((0.375, 4), "Not 4 antipodal pairs"), ((0.375, 8), "connected pieces"), ((1, 1), "dot products"),
])
def test_cube_names_the_mistake(wrong, hint, capsys):
    assert nb06.check_cube(wrong) is False
    assert hint in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [0.375, "0.375, 1", (0.375, 1.5), (None, 1), (0.375, 1, 2)])
def test_cube_rejects_malformed_answers(wrong, capsys):
    assert nb06.check_cube(wrong) is False
    assert "Not yet" in capsys.readouterr().out


def test_largest_factor_follows_the_sweep(sweep, capsys):
    assert nb06.count_factors(sweep, 0.2, 5) == 2 and nb06.count_factors(sweep, 0.2, 2) == 2
    assert nb06.count_factors(sweep, 0.3, 5) == 0 and nb06.count_factors(sweep, 0.3, 2) == 6
    assert nb06.largest_factor(sweep, 0.2) == 5 and nb06.largest_factor(sweep, 0.3) == 2
    assert nb06.check_largest_factor(5, sweep, density=0.2) is True
    assert nb06.check_largest_factor(2.0, sweep, density=0.3) is True
    assert "Correct" in capsys.readouterr().out
    for wrong, hint in [(4, "counts the factors"), (2, "not the largest"), (7, "max(len(f)"), (2.5, "whole number")]:
        assert nb06.check_largest_factor(wrong, sweep, density=0.2) is False
        assert hint in capsys.readouterr().out


def test_sums_of_dimensionality(sweep):
    assert nb06.sum_dimensionality(sweep, 0.3) == pytest.approx(6.0, abs=1e-4)  # 12 x 1/2
    assert nb06.sum_dimensionality(sweep, 0.2) == pytest.approx(6.0, abs=1e-4)  # 10 x 2/5 + 4 x 1/2
    assert nb06.sum_dimensionality(sweep, 0.53) == pytest.approx(6.0, abs=1e-4)  # 4 x 1/2 + 8 short x 1/2
    assert nb06.represented_dimensionality(sweep, 0.53) == pytest.approx(2.0, abs=1e-4)  # only the 4 long ones


def test_represented_dimensionality(sweep, capsys):
    for right in (2, 2.04, nb06.represented_dimensionality(sweep, 0.53)):
        assert nb06.check_represented_dimensionality(right, sweep) is True
    out = capsys.readouterr().out
    assert "Correct" in out and "4 represented features take 2 of the 6" in out
    for wrong, hint in [(6, "sum over all features"), (0.5, "mean"), (4, "counts the represented"), (3, "D[kept]")]:
        assert nb06.check_represented_dimensionality(wrong, sweep) is False
        assert hint in capsys.readouterr().out
    assert nb06.check_represented_dimensionality("two", sweep) is False
    capsys.readouterr()


@pytest.mark.parametrize("check", [
    lambda a, s: nb06.check_cube(a), nb06.check_largest_factor, nb06.check_represented_dimensionality,
])
def test_placeholder_is_not_an_answer(check, sweep, capsys):
    for placeholder in (..., None):
        assert check(placeholder, sweep) is False
    assert capsys.readouterr().out.count(UNANSWERED) == 2
