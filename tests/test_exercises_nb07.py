"""Self-checks of notebook 07: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb07
from toymodel.experiments import privileged_basis


@pytest.fixture(scope="module")
def sweep():
    """A barely trained relu_hidden sweep at p = 1, 0.3, 0.05, given known weights (10 features x 5 neurons)."""
    s = privileged_basis(densities=(1.0, 0.3, 0.05), steps=1, n_seeds=1, progress=False)
    with torch.no_grad():
        s.model.W.zero_()
        for j in range(5):
            s.model.W[0, j, j] = 1.0  # p = 1: 5 monosemantic neurons
        for j in range(3):
            s.model.W[1, j, j] = 1.0  # p = 0.3: 3 monosemantic ...
        s.model.W[1, 3:6, 3:5] = torch.tensor([[0.9, 0.9], [0.9, -0.8], [-0.8, 0.9]])  # ... and 2 polysemantic
        s.model.W[2] = torch.rand(10, 5, generator=torch.Generator().manual_seed(0)) + 0.5  # all polysemantic
    return s


def test_monosemantic_accepts_the_worked_answer(sweep, capsys):
    assert nb07.monosemantic_count(sweep, 0.3) == 3
    for right in (3, 3.0, nb07.monosemantic_count(sweep, 0.3)):
        assert nb07.check_monosemantic(right, sweep) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [5, 2, 0, 3.5, "three", [3], True])
def test_monosemantic_rejects_wrong_answers(sweep, wrong, capsys):
    assert nb07.check_monosemantic(wrong, sweep) is False
    out = capsys.readouterr().out
    assert "Not yet" in out
    if wrong == 2:
        assert "polysemantic" in out


def test_monosemantic_follows_the_sweep(sweep):
    assert nb07.check_monosemantic(0, sweep, sparsity=0.95) is True
    assert nb07.check_monosemantic(5, sweep, sparsity=0.0) is True
    assert nb07.check_monosemantic(3, sweep, sparsity=0.95) is False


def test_neurons_for_abs(capsys):
    assert nb07.check_neurons_for_abs(10) is True
    assert nb07.check_neurons_for_abs(6, n_features=3) is True
    for wrong in (5, 20, 1, 10.5, "ten", None):
        assert nb07.check_neurons_for_abs(wrong) is False
    assert "never both" in capsys.readouterr().out


def test_rotation(capsys):
    right = {"linear": "same", "relu_output": "same", "relu_hidden": "changes"}
    assert nb07.check_rotation(right) is True
    assert nb07.check_rotation({k: v.upper() + " " for k, v in right.items()}) is True
    for wrong in ({"linear": "same", "relu_output": "changes", "relu_hidden": "changes"},
                  {"linear": "changes", "relu_output": "changes", "relu_hidden": "changes"},
                  {"linear": "same", "relu_output": "same", "relu_hidden": "same"},
                  {"linear": "same", "relu_output": "same"}, ["same", "same", "changes"],
                  {"linear": "same", "relu_output": "same", "relu_hidden": "maybe"}):
        assert nb07.check_rotation(wrong) is False
    assert "Not yet" in capsys.readouterr().out


@pytest.mark.parametrize("check", ["monosemantic", "neurons_for_abs", "rotation"])
def test_placeholder_is_unanswered_not_an_error(check, sweep, capsys):
    fn = getattr(nb07, f"check_{check}")
    args = (sweep,) if check == "monosemantic" else ()
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out
