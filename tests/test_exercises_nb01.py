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


def test_pentagon_angle(capsys):
    assert nb01.check_pentagon_angle(72) is True
    assert nb01.check_pentagon_angle(360 / 5) is True
    for wrong in (90, 144, 60, 1.2566, "seventy-two", float("nan"), True):
        assert nb01.check_pentagon_angle(wrong) is False
    out = capsys.readouterr().out
    assert "radians" in out and "144" in out


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


@pytest.mark.parametrize("check", ["density_sparsity", "pentagon_angle", "linear_kept"])
def test_placeholder_is_unanswered_not_an_error(check, linear, capsys):
    fn = getattr(nb01, f"check_{check}")
    args = (linear,) if check == "linear_kept" else ()
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out
