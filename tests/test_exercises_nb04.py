"""Self-checks of notebook 04: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb04
from toymodel.experiments import dimensionality_sweep
from toymodel.metrics import feature_dimensionality


def _pairs(sweep, k, n_kept):
    """Instance k: features 0 .. n_kept-1 of norm 1 as antipodal pairs (+e_d, -e_d), the rest 0."""
    with torch.no_grad():
        sweep.model.W[k].zero_()
        for i in range(n_kept):
            sweep.model.W[k, i, (i // 2) % sweep.model.n_hidden] = 1.0 if i % 2 == 0 else -1.0


@pytest.fixture(scope="module")
def dims():
    """Widths 1..3 at p = 1, 0.3, 0.03 (barely trained), with known weights: antipodal pairs, 2m features."""
    d = dimensionality_sweep(hidden_sizes=(1, 2, 3), densities=(1.0, 0.3, 0.03), steps=1, n_seeds=1, progress=False)
    for m, s in d.items():
        for k in range(len(s)):
            _pairs(s, k, min(2 * m, 8))
    # p = 0.03: m = 2 holds 5 features, m = 3 all 8
    k = d[2].nearest(density=0.03)
    with torch.no_grad():
        d[2].model.W[k].zero_()
        angles = torch.arange(5) * 2 * torch.pi / 5
        d[2].model.W[k, :5] = torch.stack([angles.cos(), angles.sin()], dim=1)
        d[3].model.W[d[3].nearest(density=0.03)] = torch.nn.functional.normalize(torch.randn(8, 3), dim=1)
    return d


def test_count_and_dstar_accepts_the_worked_answer(dims, capsys):
    count, dstar = nb04.count_and_dstar(dims, 3, 0.3)
    assert count == 6 and abs(dstar - 0.5) < 1e-4
    for right in ((6, 0.5), [6, 0.52], (6.0, 1 / 2), nb04.count_and_dstar(dims, 3, 0.3)):
        assert nb04.check_count_and_dstar(right, dims) is True
    out = capsys.readouterr().out
    assert "Correct" in out and "antipodal" in out


@pytest.mark.parametrize(
    "wrong", [(6, 0.6), (3, 0.5), (8, 0.375), (6,), 6, "6, 0.5", (6, None), (6.5, 0.5), (6, 0.5, 1)]
)
def test_count_and_dstar_rejects_wrong_answers(dims, wrong, capsys):
    assert nb04.check_count_and_dstar(wrong, dims) is False
    assert "Not yet" in capsys.readouterr().out


def test_count_and_dstar_follows_the_sweep(dims):
    k = dims[3].nearest(density=0.3)
    saved = dims[3].model.W[k].clone()
    try:
        _pairs(dims[3], k, 4)  # only 4 features
        assert nb04.check_count_and_dstar((4, 0.75), dims) is True
        assert nb04.check_count_and_dstar((6, 0.5), dims) is False
    finally:
        with torch.no_grad():
            dims[3].model.W[k] = saved


def test_tetrahedron(capsys):
    assert nb04.check_tetrahedron(3 / 4) is True
    assert nb04.check_tetrahedron(0.75) is True
    for wrong in (0.5, 1, 2 / 3, 0.4, "3/4", float("nan"), True):
        assert nb04.check_tetrahedron(wrong) is False
    assert "Square" in capsys.readouterr().out


def test_tetrahedron_constant_matches_the_metric():
    W = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / 3**0.5
    assert torch.allclose(feature_dimensionality(W)[0], torch.full((4,), nb04.TETRAHEDRON), atol=1e-5)


def test_first_m_all(dims, capsys):
    assert nb04.first_m_all(dims, 0.03) == 3
    assert nb04.check_first_m_all(3, dims) is True
    assert nb04.check_first_m_all(3.0, dims) is True
    for wrong in (1, 2, 4, 8, 3.5, "three", [3]):
        assert nb04.check_first_m_all(wrong, dims) is False
    capsys.readouterr()


def test_first_m_all_follows_the_sweep(dims):
    k = dims[2].nearest(density=0.03)
    saved = dims[2].model.W[k].clone()
    try:
        with torch.no_grad():
            dims[2].model.W[k] = torch.nn.functional.normalize(torch.randn(8, 2), dim=1)  # all 8 in 2 dims
        assert nb04.check_first_m_all(2, dims) is True
        assert nb04.check_first_m_all(3, dims) is False
    finally:
        with torch.no_grad():
            dims[2].model.W[k] = saved


@pytest.mark.parametrize("check", ["count_and_dstar", "tetrahedron", "first_m_all"])
def test_placeholder_is_unanswered_not_an_error(check, dims, capsys):
    fn = getattr(nb04, f"check_{check}")
    args = () if check == "tetrahedron" else (dims,)
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out
