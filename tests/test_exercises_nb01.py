"""Self-checks of notebook 01: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb01
from toymodel.experiments import basic_superposition


@pytest.fixture(scope="module")
def linear():
    return basic_superposition(kind="linear", densities=[1.0, 0.3, 0.05], steps=600, progress=False)


def test_density_sparsity_accepts_the_worked_answer(capsys):
    assert nb01.check_density_sparsity((0.02, 0.98)) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [(0.98, 0.02), (0.02, 0.02), (0.2, 0.8), 0.02, "0.02, 0.98", (None, 0.98), (1, 2, 3)])
def test_density_sparsity_rejects_wrong_answers(wrong, capsys):
    assert nb01.check_density_sparsity(wrong) is False
    assert "Not yet" in capsys.readouterr().out


def test_density_sparsity_hints_at_a_swap(capsys):
    nb01.check_density_sparsity((0.98, 0.02))
    assert "swapped" in capsys.readouterr().out


def test_linear_kept_is_computed_from_the_sweep(linear, capsys):
    assert nb01.check_linear_kept([0, 1], linear) is True
    assert nb01.check_linear_kept({1, 0}, linear) is True
    for wrong in ([0, 1, 2], [0], [3, 4], [0, 1, 2, 3, 4], "01", 1, [0.5, 1]):
        assert nb01.check_linear_kept(wrong, linear) is False
    capsys.readouterr()


def test_linear_kept_follows_the_sweep_not_a_constant(linear):
    fake = basic_superposition(kind="linear", densities=[1.0, 0.3, 0.05], steps=1, progress=False)
    with torch.no_grad():
        fake.model.W.zero_()
        fake.model.W[:, 3, 0] = 1.0  # only feature 3 represented
    assert nb01.check_linear_kept([3], fake) is True
    assert nb01.check_linear_kept([0, 1], fake) is False


@pytest.mark.parametrize("check", ["density_sparsity", "linear_kept"])
def test_placeholder_is_unanswered_not_an_error(check, linear, capsys):
    fn = getattr(nb01, f"check_{check}")
    args = (linear,) if check == "linear_kept" else ()
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out


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


def test_feature_angle_unanswered(pentagon_sweep, capsys):
    assert nb01.check_feature_angle(..., pentagon_sweep) is False
    assert UNANSWERED in capsys.readouterr().out


def test_linear_kept_with_three_hidden_dimensions(capsys):
    fake = basic_superposition(kind="linear", n_hidden=3, densities=[0.05], steps=1, progress=False)
    with torch.no_grad():
        fake.model.W.zero_()
        fake.model.W[0, :3] = torch.eye(3)
    assert nb01.check_linear_kept([0, 1, 2], fake) is True
    assert nb01.check_linear_kept([0, 1], fake) is False
    assert "3 hidden dimensions" in capsys.readouterr().out
    assert nb01.check_linear_kept([0, 1, 2, 3], fake) is False
    assert "never represents more" in capsys.readouterr().out
