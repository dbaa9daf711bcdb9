"""Self-checks of notebook 01: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb01
from toymodel.experiments import basic_superposition

# ------------------------------------------------------------------ build it yourself: the notebook's stubs


def stub_generate_batch(batch_size, n_features, density):
    """The notebook's stub, unanswered."""
    ...  # your code


def stub_forward(x, W, b):
    ...  # your code


def stub_loss(x, x_hat, importance):
    pass


def forgot_return(x, x_hat, importance):
    (importance * (x - x_hat) ** 2).mean((0, 2)).sum()


@pytest.mark.parametrize("check, stub", [(nb01.check_generate_batch, stub_generate_batch),
                                         (nb01.check_forward, stub_forward), (nb01.check_loss, stub_loss)])
def test_an_unanswered_stub_is_not_answered_yet(check, stub, capsys):
    assert check(stub) is False
    out = capsys.readouterr().out
    assert out == UNANSWERED + "\n"  # one stable line: the notebook runs under nbval with its stubs empty


def test_a_function_that_forgets_to_return_is_a_mistake_not_a_stub(capsys):
    assert nb01.check_loss(forgot_return) is False
    assert "returned None" in capsys.readouterr().out


@pytest.fixture(scope="module")
def pentagon_sweep():
    """A sweep whose sparsest model is a regular pentagon with features 0 and 1 two steps apart (144 degrees)."""
    sweep = basic_superposition(densities=[1.0, 0.05], n_seeds=1, steps=1, progress=False)
    order = torch.tensor([0, 2, 4, 1, 3])  # going round the circle: 0, 3, 1, 4, 2
    angles = torch.deg2rad(72.0 * order.float() + 10.0)
    with torch.no_grad():
        sweep.model.W[1] = 1.1 * torch.stack([angles.cos(), angles.sin()], 1)
    return sweep


def test_feature_angle_is_computed_from_the_sweep(pentagon_sweep, capsys):
    assert nb01.check_feature_angle(144, pentagon_sweep) is True
    assert "not neighbours" in capsys.readouterr().out
    assert nb01.check_feature_angle(72, pentagon_sweep, 0, 3) is True
    assert "neighbours" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [(72, "Compute it from the weights"), (216, "the long way round"),
                                          (2.513, "radians"), (-0.809, "the cosine"), (100, "arccos"),
                                          ("144 degrees", "Write a number"), (True, "Write a number")])
def test_feature_angle_names_the_mistake(pentagon_sweep, wrong, named, capsys):
    assert nb01.check_feature_angle(wrong, pentagon_sweep) is False
    assert named in capsys.readouterr().out


def test_feature_angle_reads_the_model_at_the_density_asked(pentagon_sweep, capsys):
    """Exercise 1 asks about a pentagon that is not the sparsest: density= picks the instance nearest it."""
    dense_pair = pentagon_sweep.W[0].double()  # p = 1: whatever the 1-step model holds
    cos = float(dense_pair[0] @ dense_pair[1] / (dense_pair[0].norm() * dense_pair[1].norm()))
    right = torch.rad2deg(torch.arccos(torch.tensor(cos))).item()
    assert nb01.check_feature_angle(right, pentagon_sweep, density=0.9) is True
    assert nb01.check_feature_angle(144, pentagon_sweep, density=0.9) is (abs(right - 144) <= 1.5)
    assert nb01.check_feature_angle(144, pentagon_sweep, density=0.06) is True
    capsys.readouterr()


def test_feature_angle_on_the_notebooks_sweep_accepts_the_worked_answer(capsys):
    """The notebook's exercise: p = 0.0697 of the default sweep, answered with the hidden answer's code."""
    relu = basic_superposition(progress=False)
    W_k = relu.W[relu.nearest(density=0.0697)]
    cos = W_k[0] @ W_k[1] / (W_k[0].norm() * W_k[1].norm())
    answer = float(torch.rad2deg(torch.arccos(cos)))
    assert nb01.check_feature_angle(answer, relu, density=0.0697) is True
    assert "neighbours: 360 / 5 = 72 degrees apart" in capsys.readouterr().out
    assert nb01.check_feature_angle(answer, relu) is False  # the sparsest model's pair is 144 degrees apart


def test_feature_angle_unanswered(pentagon_sweep, capsys):
    assert nb01.check_feature_angle(..., pentagon_sweep) is False
    assert UNANSWERED in capsys.readouterr().out
