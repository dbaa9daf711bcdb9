"""Self-checks of notebook 02: True for the worked answers in the <details> blocks, False otherwise.

The checks compute the right answer from the sweep, so the tests build sweeps whose answers are known.
(The build-it check, check_superposition, is tested with the other measures in test_exercises_build.py and
test_hostile_answers.py; the slip only notebook 02 names, normalising along the wrong axis, here.)
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


def test_arrangement_of_the_made_up_sweep(sweep):
    assert nb02.arrangement(sweep, 0.3) == {"setting": "p = 0.3 (S = 0.7)", "own": [0, 1, 2], "pairs": [(3, 4), (5, 6)],
                                            "group": [], "group_dims": 0}


def test_arrangement_finds_a_group_and_its_dimensions(sweep, edit_row):
    k = sweep.nearest(density=0.01)
    with edit_row(sweep.model.W, k) as W:
        W.zero_()
        W[0, 0] = 1.0  # alone
        W[1, 1], W[2, 1] = 1.0, -0.98  # a pair (its cosine is -1 whatever the norms)
        for i, angle in zip((3, 4, 5), (0.0, 2.1, 4.2)):  # a triangle in the plane of axes 2 and 3
            W[i, 2], W[i, 3] = torch.cos(torch.tensor(angle)), torch.sin(torch.tensor(angle))
        W[6, 4] = 0.3  # not represented (norm 0.3): in no arrangement
        a = nb02.arrangement(sweep, 0.01)
        assert (a["own"], a["pairs"], a["group"], a["group_dims"]) == ([0], [(1, 2)], [3, 4, 5], 2)
        W[3, 1] = 0.3  # feature 3 now overlaps the pair: its members are no longer alone with each other
        a = nb02.arrangement(sweep, 0.01)
        assert a["pairs"] == [] and a["group"] == [1, 2, 3, 4, 5] and a["group_dims"] == 3


def test_pair_and_pentagon(capsys):
    for right in [(1, 1.5), (1.0, 1.5), ("1", "1.5"), [1, 3 / 2], (1.01, 1.49)]:
        assert nb02.check_pair_and_pentagon(right) is True
    assert "1.50" in capsys.readouterr().out
    for wrong, named in [((-1, 1.5), "squares it"), ((2, 1.5), "leaves out j = i"), ((0, 1.5), "not 0"),
                         ((0.5, 1.5), "what is"), ((1, -1), "signed sum"), ((1, 2.236), "absolute value"),
                         ((1, 2.5), "4 other features"), ((1, 0.75), "count all four"), ((1, 0.19), "144° count too"),
                         ((1, 0.38), "144° away"), ((1, 1.0), "sum the squared cosines")]:
        assert nb02.check_pair_and_pentagon(wrong) is False
        assert named in capsys.readouterr().out, wrong
    for unusable in ["1, 1.5", 1.5, (1,), (1, 1.5, 2), (1, None), (float("nan"), 1.5), (True, 1.5)]:
        assert nb02.check_pair_and_pentagon(unusable) is False
        assert "Write two numbers" in capsys.readouterr().out, unusable
    for placeholder in (..., None):
        assert nb02.check_pair_and_pentagon(placeholder) is False
        assert UNANSWERED in capsys.readouterr().out


def test_superposition_names_normalising_along_the_wrong_axis(capsys):
    def my_superposition(W):
        U = W / W.norm(dim=1, keepdim=True)  # each hidden dimension's norm, not each feature's
        overlap = (U @ W.transpose(-1, -2)) ** 2
        return overlap.sum(-1) - overlap.diagonal(dim1=-2, dim2=-1)

    assert nb02.check_superposition(my_superposition) is False
    assert "wrong axis" in capsys.readouterr().out


def test_worked_answers_on_a_trained_sweep(capsys):
    """The <details> answers give True on a real (short) training run, and arrangement reads its p = 0.3 model as
    the notebook does: the most important features alone, the next ones in antipodal pairs."""
    trained = sparse_vs_dense(densities=(0.3,), steps=1500, progress=False)
    assert nb02.check_dropped_bias(0.3 / 2, trained) is True
    assert nb02.check_pair_and_pentagon((1, 1.5)) is True
    a = nb02.arrangement(trained, 0.3)
    assert a["own"] and a["pairs"] and not a["group"] and max(a["own"]) < min(min(p) for p in a["pairs"])
    capsys.readouterr()


def test_superposition_stub_is_unanswered(capsys):
    def my_superposition(W):
        ...

    assert nb02.check_superposition(my_superposition) is False
    assert UNANSWERED in capsys.readouterr().out


def test_placeholder_is_unanswered_not_an_error(sweep, capsys):
    assert nb02.check_dropped_bias(..., sweep) is False
    assert nb02.check_dropped_bias(None, sweep) is False
    assert UNANSWERED in capsys.readouterr().out
