"""Self-checks of notebook 07: True for the worked answers in the <details> blocks, False otherwise."""

import pytest
import torch

from toymodel.exercises import UNANSWERED, nb07
from toymodel.experiments import privileged_basis
from toymodel.neurons import n_monosemantic


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
        assert nb07.check_monosemantic(right, sweep, sparsity=0.7, fraction=0.5) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [5, 2, 0, 3.5, "three", [3], True])
def test_monosemantic_rejects_wrong_answers(sweep, wrong, capsys):
    assert nb07.check_monosemantic(wrong, sweep, sparsity=0.7, fraction=0.5) is False
    out = capsys.readouterr().out
    assert "Not yet" in out
    if wrong == 2:
        assert "polysemantic" in out


def test_monosemantic_follows_the_sweep(sweep):
    assert nb07.check_monosemantic(0, sweep, sparsity=0.95) is True
    assert nb07.check_monosemantic(5, sweep, sparsity=0.0) is True
    assert nb07.check_monosemantic(3, sweep, sparsity=0.95) is False


def test_monosemantic_at_another_cut_names_the_default_cut(sweep, capsys):
    """Exercise 1 as the notebook asks it: S = 0, cut at a tenth of each neuron's largest weight."""
    with torch.no_grad():
        sweep.model.W[0, 5:7, 0] = 0.2  # neuron 0 of the dense model: two small secondary weights ...
        sweep.model.W[0, 7, 1] = -0.3  # ... neuron 1: a negative one (never counts)
    try:
        assert nb07.monosemantic_count(sweep, 1.0) == 5 and nb07.monosemantic_count(sweep, 1.0, fraction=0.1) == 4
        assert nb07.check_monosemantic(4, sweep, sparsity=0.0, fraction=0.1) is True
        assert nb07.check_monosemantic(5, sweep, sparsity=0.0, fraction=0.1) is False
        assert "library's cut" in capsys.readouterr().out
        assert nb07.check_monosemantic(1, sweep, sparsity=0.0, fraction=0.1) is False  # the polysemantic count
        assert "polysemantic" in capsys.readouterr().out
        assert nb07.check_monosemantic(3, sweep, sparsity=0.0, fraction=0.1) is False  # |W| instead of W
        assert "|W_ij|" in capsys.readouterr().out
    finally:
        with torch.no_grad():
            sweep.model.W[0, 5:8, :2] = 0.0


def test_features_for_abs(capsys):
    assert nb07.features_for_abs(7) == 3 and nb07.features_for_abs(40) == 20
    assert nb07.check_features_for_abs(3) is True and nb07.check_features_for_abs(3.0, n_hidden=7) is True
    assert "left over" in capsys.readouterr().out
    assert nb07.check_features_for_abs(20, n_hidden=40) is True
    for wrong, named in ((7, "never both"), (4, "rounded up"), (14, "one feature first"), (3.5, "whole number"),
                         ("three", "whole number")):
        assert nb07.check_features_for_abs(wrong) is False
        assert named in capsys.readouterr().out


def test_neuron_symmetries(capsys):
    right = {"rotation": "changes", "permutation": "same", "sign_flip": "changes"}
    assert nb07.check_neuron_symmetries(right) is True
    assert nb07.check_neuron_symmetries({k: " " + v.upper() for k, v in right.items()}) is True
    assert "Correct" in capsys.readouterr().out
    for wrong, named in (({**right, "permutation": "changes"}, "only renames"),
                         ({**right, "sign_flip": "same"}, "ReLU(-z)"),
                         ({**right, "rotation": "same"}, "mixes"),
                         ({"rotation": "changes", "permutation": "same"}, "three matrices"),
                         (["changes", "same", "changes"], "three matrices"),
                         ({**right, "sign_flip": "maybe"}, '"same" or "changes"')):
        assert nb07.check_neuron_symmetries(wrong) is False
        assert named in capsys.readouterr().out


def test_neuron_symmetries_answer_is_what_a_trained_model_does():
    """The worked answer, measured: only the permutation leaves a trained ReLU-hidden model's loss unchanged."""
    from toymodel import ToyModel, evaluate_loss, train_toy_model
    from toymodel.neurons import random_rotation, rotate_hidden
    imp = 0.75 ** torch.arange(10.0)
    model = ToyModel(10, 5, kind="relu_hidden", seed=0)
    train_toy_model(model, 0.3, imp, steps=1000, progress=False)
    before = evaluate_loss(model, 0.3, imp).item()
    rots = {"rotation": random_rotation(5, seed=7), "permutation": torch.eye(5)[[1, 0, 2, 3, 4]],
         "sign_flip": torch.diag(torch.tensor([-1.0, 1, 1, 1, 1]))}
    after = {k: evaluate_loss(rotate_hidden(model, o), 0.3, imp).item() for k, o in rots.items()}
    measured = {k: "same" if abs(v - before) < 1e-6 * before else "changes" for k, v in after.items()}
    assert measured == nb07.SYMMETRY_ANSWERS
    assert after["rotation"] > 1.2 * before and after["sign_flip"] > 1.2 * before


def test_abs_forward_stub_is_unanswered(capsys):
    def abs_forward(x, W1, W2, b):
        ...  # the notebook's stub

    assert nb07.check_abs_forward(abs_forward) is False
    assert UNANSWERED in capsys.readouterr().out


@pytest.mark.parametrize("check", ["monosemantic", "features_for_abs", "neuron_symmetries"])
def test_placeholder_is_unanswered_not_an_error(check, sweep, capsys):
    fn = getattr(nb07, f"check_{check}")
    args = (sweep,) if check == "monosemantic" else ()
    assert fn(..., *args) is False
    assert fn(None, *args) is False
    assert UNANSWERED in capsys.readouterr().out


def test_exercise_1_tells_w_from_abs_w_on_the_notebooks_own_sweep(capsys):
    """Exercise 1's setting is one where counting |W_ij| gives another number than W_ij on the sweep notebook 07
    trains (at p = 1 the two counts agree, so the |W| mistake used to pass), and the checker names that mistake."""
    rh = privileged_basis(progress=False)  # the notebook's call
    k = rh.nearest(density=1 - nb07.EXERCISE_1["sparsity"])
    fraction = nb07.EXERCISE_1["fraction"]
    signed = int(n_monosemantic(rh.W, fraction)[k])
    unsigned = int(n_monosemantic(rh.W, fraction, positive_only=False)[k])
    assert signed != unsigned
    assert nb07.check_monosemantic(unsigned, rh) is False
    assert "|W_ij|" in capsys.readouterr().out
    assert nb07.check_monosemantic(signed, rh) is True
