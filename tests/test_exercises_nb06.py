"""Self-checks of notebook 06: True for the worked answers in the <details> blocks, False otherwise."""


import numpy as np
import pytest
import torch

from toymodel.exercises import UNANSWERED, nb06
from toymodel.experiments import GeometryRun


def _polygon(k):
    a = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(a), np.sin(a)], 1)


@pytest.fixture(scope="module")
def sweep():
    """20 features in m = 6, known weights. p = 0.3: 6 antipodal pairs. p = 0.2: 2 pentagons + 2 antipodal pairs."""
    W = torch.zeros(2, 20, 6)
    for i in range(12):
        W[0, i, i // 2] = 1.0 if i % 2 == 0 else -1.0
    W[1, 0:5, 0:2] = torch.tensor(_polygon(5), dtype=torch.float32)
    W[1, 5:10, 2:4] = torch.tensor(_polygon(5), dtype=torch.float32)
    W[1, 10:14, 4:6] = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    run = GeometryRun(W=W, density=torch.tensor([0.3, 0.2]), index=torch.arange(2), loss=torch.zeros(2),
                      copy_losses=torch.zeros(1, 2), steps=1, lr=0.01, seed=0)
    return run.sweep()


def test_octahedron_accepts_the_worked_answer(capsys):
    for right in ((0.5, 3), [1 / 2, 3.0], (0.505, 3)):
        assert nb06.check_octahedron(right) is True
    assert "tegum product" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [(1, 3), (0.5, 6), (1 / 6, 1), (0.75, 3), 0.5, "0.5, 3", (0.5, 2.5), (None, 3)])
def test_octahedron_rejects_wrong_answers(wrong, capsys):
    assert nb06.check_octahedron(wrong) is False
    assert "Not yet" in capsys.readouterr().out


def test_factor_count_follows_the_sweep(sweep, capsys):
    assert nb06.count_factors(sweep, 0.2, 5) == 2 and nb06.count_factors(sweep, 0.2, 2) == 2
    assert nb06.count_factors(sweep, 0.3, 5) == 0 and nb06.count_factors(sweep, 0.3, 2) == 6
    assert nb06.check_factor_count(2, sweep) is True
    assert nb06.check_factor_count(6, sweep, density=0.3, size=2) is True
    assert "Correct" in capsys.readouterr().out
    for wrong in (10, 0, 3, 2.5, "two"):
        assert nb06.check_factor_count(wrong, sweep) is False
    assert "counts features" in capsys.readouterr().out  # 10 = 2 pentagons x 5 features gets its own hint


def test_sum_dimensionality_is_m_for_efficient_packings(sweep, capsys):
    assert nb06.sum_dimensionality(sweep, 0.3) == pytest.approx(6.0, abs=1e-4)  # 12 x 1/2
    assert nb06.sum_dimensionality(sweep, 0.2) == pytest.approx(6.0, abs=1e-4)  # 10 x 2/5 + 4 x 1/2
    for right in (6, 6.1, nb06.sum_dimensionality(sweep, 0.3)):
        assert nb06.check_sum_dimensionality(right, sweep) is True
    assert "about m = 6" in capsys.readouterr().out
    for wrong in (12, 0.3, 5, "six"):
        assert nb06.check_sum_dimensionality(wrong, sweep) is False
    assert "mean" in capsys.readouterr().out


@pytest.mark.parametrize("check", [
    lambda a, s: nb06.check_octahedron(a), nb06.check_factor_count, nb06.check_sum_dimensionality,
])
def test_placeholder_is_not_an_answer(check, sweep, capsys):
    for placeholder in (..., None):
        assert check(placeholder, sweep) is False
    assert capsys.readouterr().out.count(UNANSWERED) == 2
