"""Self-checks of notebook 02: True for the worked answers in the <details> blocks, False otherwise.

The checks compute the right answer from the sweep, so the tests build sweeps whose answers are known.
"""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb02
from toymodel.experiments import sparse_vs_dense
from toymodel.metrics import represented

DENSITIES = [1.0, 0.01, 0.001]


def made_up_sweep(n_kept):
    """A 20 -> 5 sweep (untrained) whose instance k represents exactly the features in n_kept[k]."""
    sweep = sparse_vs_dense(densities=DENSITIES, steps=1, n_seeds=1, progress=False)
    with torch.no_grad():
        sweep.model.W.zero_()
        for k, kept in enumerate(n_kept):
            for i in kept:
                sweep.model.W[k, i, i % 5] = 1.0
    return sweep


@pytest.fixture(scope="module")
def sweep():
    # dense: 0-4; p = 0.01: 0-9 and 11; p = 0.001: 0-12 (feature 13 is the first one dropped)
    return made_up_sweep([range(5), [*range(10), 11], range(13)])


@pytest.fixture(scope="module")
def trained():
    return sparse_vs_dense(densities=DENSITIES, steps=800, progress=False)


def test_n_represented(sweep, capsys):
    assert nb02.check_n_represented(11, sweep, density=0.01) is True
    assert nb02.check_n_represented(int(sweep.n_represented()[sweep.nearest(density=0.01)]), sweep) is True
    assert nb02.check_n_represented(5, sweep, density=1.0) is True
    assert nb02.check_n_represented("11", sweep, density=0.01) is True  # a number written as text is fine
    for wrong in (10, 12, 5, 11.5, "eleven", None):
        assert nb02.check_n_represented(wrong, sweep, density=0.01) is False
    capsys.readouterr()


def test_first_dropped(sweep, capsys):
    assert nb02.first_dropped(sweep) == 13
    k = sweep.nearest(density=0.001)
    worked = int((~represented(sweep.W)[k]).nonzero()[0])  # the worked answer's expression
    assert nb02.check_first_dropped(worked, sweep) is True
    for wrong in (12, 14, 19, 0, 13.5, "thirteen", -1, 25):
        assert nb02.check_first_dropped(wrong, sweep) is False
    out = capsys.readouterr().out
    assert "is represented" in out  # the hint for 12, a represented feature


def test_first_dropped_when_nothing_is_dropped(capsys):
    full = made_up_sweep([range(20)] * 3)
    assert nb02.first_dropped(full) is None
    assert nb02.check_first_dropped(19, full) is False
    capsys.readouterr()


def test_dims_per_feature(sweep, capsys):
    assert nb02.check_dims_per_feature(5 / 13, sweep) is True
    assert nb02.check_dims_per_feature(0.385, sweep) is True
    for wrong in (13 / 5, 1.0, 5 / 20, 0.5, "5/13", float("inf")):
        assert nb02.check_dims_per_feature(wrong, sweep) is False
    capsys.readouterr()


def test_worked_answers_on_a_trained_sweep(trained, capsys):
    """The <details> expressions give True on a real (short) training run."""
    k01, k001 = trained.nearest(density=0.01), trained.nearest(density=0.001)
    assert nb02.check_n_represented(int(trained.n_represented()[k01]), trained, density=0.01) is True
    first = nb02.first_dropped(trained)
    if first is not None:
        assert nb02.check_first_dropped(int((~represented(trained.W)[k001]).nonzero()[0]), trained) is True
    assert nb02.check_dims_per_feature(5 / int(trained.n_represented()[k001]), trained) is True
    assert nb02.check_n_represented(int(trained.n_represented()[k01]) + 1, trained, density=0.01) is False
    capsys.readouterr()


@pytest.mark.parametrize("check", ["n_represented", "first_dropped", "dims_per_feature"])
def test_placeholder_is_unanswered_not_an_error(check, sweep, capsys):
    fn = getattr(nb02, f"check_{check}")
    assert fn(..., sweep) is False
    assert fn(None, sweep) is False
    assert UNANSWERED in capsys.readouterr().out
