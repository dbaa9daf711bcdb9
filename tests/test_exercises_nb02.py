"""Self-checks of notebook 02: True for the worked answers in the <details> blocks, False otherwise.

The checks compute the right answer from the sweep, so the tests build sweeps whose answers are known.
(The build-it check, check_superposition, is tested with the other measures in test_exercises_build.py.)
"""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb02
from toymodel.experiments import sparse_vs_dense
from toymodel.metrics import represented, superposition

DENSITIES = [1.0, 0.3, 0.01]


@pytest.fixture(scope="module")
def sweep():
    """A 20 -> 5 sweep (untrained) with known weights. p = 0.3: features 0, 1, 2 on axes 0, 1, 2 (own dimensions),
    3/4 and 5/6 antipodal pairs on axes 3 and 4; dropped features get bias p/2 (dense 0.5), except 19 (0.25)."""
    s = sparse_vs_dense(densities=DENSITIES, steps=1, n_seeds=1, progress=False)
    with torch.no_grad():
        s.model.W.zero_()
        s.model.b.zero_()
        for k, p in enumerate(DENSITIES):
            for i in range(3):
                s.model.W[k, i, i] = 1.0
            for i, (axis, sign) in zip(range(3, 7), [(3, 1.0), (3, -1.0), (4, 1.0), (4, -1.0)]):
                s.model.W[k, i, axis] = sign
            s.model.b[k, 7:] = p / 2
            s.model.b[k, 19] = 0.25
    return s


def test_the_made_up_sweep_is_what_the_tests_assume(sweep):
    k = sweep.nearest(density=0.3)
    assert represented(sweep.W)[k].nonzero().flatten().tolist() == list(range(7))
    assert superposition(sweep.W)[k, :3].abs().max() < 1e-6 and (superposition(sweep.W)[k, 3:7] - 1).abs().max() < 1e-6


def test_dropped_bias(sweep, capsys):
    assert nb02.check_dropped_bias(0.15, sweep) is True
    assert nb02.check_dropped_bias(0.3 / 2, sweep) is True
    assert nb02.check_dropped_bias("0.15", sweep) is True
    assert nb02.check_dropped_bias(0.5 * 0.3, sweep, density=0.3) is True
    assert nb02.check_dropped_bias(0.5, sweep, density=1.0) is True
    out = capsys.readouterr().out
    assert "b = 0.15 to 0.25" in out  # the trained (here: made-up) biases are reported
    for wrong, named in [(0.5, "mean of a *present* feature"), (0.3, "the density"), (0.1, "E[x_i^2]"),
                         (0.0, "bias of 0"), (0.7, "Which constant")]:
        assert nb02.check_dropped_bias(wrong, sweep) is False
        assert named in capsys.readouterr().out
    for wrong in ("half", None, float("nan"), [0.15]):
        assert nb02.check_dropped_bias(wrong, sweep) is False
    capsys.readouterr()


def test_dropped_bias_follows_the_density(sweep, capsys):
    assert nb02.check_dropped_bias(0.005, sweep, density=0.01) is True
    assert nb02.check_dropped_bias(0.15, sweep, density=0.01) is False
    capsys.readouterr()


def test_own_dimension(sweep, capsys):
    assert nb02.own_dimension(sweep, 0.3) == {0, 1, 2}
    for right in ([0, 1, 2], {2, 1, 0}, (0.0, 1, 2)):
        assert nb02.check_own_dimension(right, sweep) is True
    assert "share the other 2 dimension(s)" in capsys.readouterr().out
    for wrong, named in [(list(range(7)), "all the represented features"), ([3, 4, 5, 6], "share a dimension"),
                         ([0, 1, 2, 7], "not represented"), ([0, 1], "keep the represented features")]:
        assert nb02.check_own_dimension(wrong, sweep) is False
        assert named in capsys.readouterr().out
    for wrong in ("012", 3, [0.5, 1, 2]):
        assert nb02.check_own_dimension(wrong, sweep) is False
    capsys.readouterr()


def test_own_dimension_follows_the_sweep(sweep, capsys, edit_row):
    k = sweep.nearest(density=0.3)
    with edit_row(sweep.model.W, k) as W:
        W[2, 3] = 0.8  # feature 2 now overlaps the 3/4 pair
        assert nb02.own_dimension(sweep, 0.3) == {0, 1}
        assert nb02.check_own_dimension([0, 1], sweep) is True
        assert nb02.check_own_dimension([0, 1, 2], sweep) is False
    capsys.readouterr()


def test_worked_answers_on_a_trained_sweep(capsys):
    """The <details> expressions give True on a real (short) training run."""
    trained = sparse_vs_dense(densities=(0.3,), steps=1500, progress=False)
    assert nb02.check_dropped_bias(0.3 / 2, trained) is True
    k = trained.nearest(density=0.3)
    worked = (represented(trained.W)[k] & (superposition(trained.W)[k] < 0.1)).nonzero().flatten().tolist()
    assert nb02.check_own_dimension(worked, trained) is True
    capsys.readouterr()


def test_superposition_stub_is_unanswered(capsys):
    def my_superposition(W):
        ...

    assert nb02.check_superposition(my_superposition) is False
    assert UNANSWERED in capsys.readouterr().out


@pytest.mark.parametrize("check", ["dropped_bias", "own_dimension"])
def test_placeholder_is_unanswered_not_an_error(check, sweep, capsys):
    fn = getattr(nb02, f"check_{check}")
    assert fn(..., sweep) is False
    assert fn(None, sweep) is False
    assert UNANSWERED in capsys.readouterr().out
