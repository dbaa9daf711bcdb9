"""Self-checks of notebook 07: True for the worked answers in the <details> blocks, False otherwise."""

import numpy as np
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


def numpy_abs_weights(n, m):
    """Right, written differently: numpy, the pairs in reverse order, weights scaled (ReLU(2x) / 2 = ReLU(x))."""
    W1, W2 = np.zeros((n, m)), np.zeros((n, m))
    for i in range(min(n, m // 2)):
        a, c = m - 1 - 2 * i, m - 2 - 2 * i
        W1[i, a], W1[i, c], W2[i, a], W2[i, c] = 2.0, -2.0, 0.5, 0.5
    return W1, W2, np.zeros(n)


def edit(change):
    """The worked answer with one change(W1, W2, b) applied."""
    def fn(n, m):
        W1, W2, b = nb07.reference_abs_weights(n, m)
        change(W1, W2, b)
        return W1, W2, b
    return fn


def test_abs_weights_accepts_right_answers(capsys):
    for right in (nb07.reference_abs_weights, numpy_abs_weights):
        assert nb07.check_abs_weights(right) is True
    out = capsys.readouterr().out
    assert "Correct" in out and "odd neuron" in out
    assert nb07.check_abs_weights(nb07.reference_abs_weights, n_features=3, n_hidden=6) is True
    assert "odd neuron" not in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (edit(lambda W1, W2, b: W1[:, 1::2].zero_()), "positive half"),  # no negative-side neurons
    (edit(lambda W1, W2, b: W2[:, 1::2].mul_(-1)), "subtracts instead of adding"),  # negative side read out with -1
    (edit(lambda W1, W2, b: (W1[1:].zero_(), W2[1:].zero_())), "room for 3"),  # one feature where 3 fit
    (edit(lambda W1, W2, b: b.__setitem__(0, 0.1)), "b must be 0"),
    (edit(lambda W1, W2, b: W1.__setitem__((1, 0), 0.5)), "also takes feature 1"),  # a shared neuron
    (lambda n, m: tuple(t.T for t in nb07.reference_abs_weights(n, m)[:2]) + (torch.zeros(n),), "shape"),
    (lambda n, m: nb07.reference_abs_weights(5, 7), "abs_weights(3, 6)"),  # only right at the sizes asked about
    (lambda n, m: nb07.reference_abs_weights(n, m)[:2], "three things"),
    (lambda n, m: [w.numpy().tolist() for w in nb07.reference_abs_weights(n, m)], "list"),
    (lambda n, m: 1 / 0, "ZeroDivisionError"),
    ("not a function", "Write a function"),
])
def test_abs_weights_rejects_wrong_answers(wrong, named, capsys):
    assert nb07.check_abs_weights(wrong) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and named in out


def test_abs_weights_worked_answer_is_what_the_library_model_computes():
    """The hand-built weights in the library's AbsValueModel compute |x| exactly for m // 2 features."""
    from toymodel.computation import AbsValueModel
    W1, W2, b = nb07.reference_abs_weights(5, 7)
    model = AbsValueModel(5, 7, seed=None)
    with torch.no_grad():
        model.W1.copy_(W1[None])
        model.W2.copy_(W2[None])
        model.b.copy_(b[None])
    x = 2 * torch.rand(256, 1, 5, generator=torch.Generator().manual_seed(0)) - 1
    err = (model(x) - x.abs()).abs().amax((0, 1))
    assert (err[:3] < 1e-6).all() and (err[3:] > 0.1).all()


def test_abs_weights_stub_is_unanswered(capsys):
    def abs_weights(n_features, n_hidden):
        ...  # the notebook's stub

    assert nb07.check_abs_weights(abs_weights) is False
    assert UNANSWERED in capsys.readouterr().out


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


@pytest.mark.parametrize("check", ["monosemantic", "neuron_symmetries", "abs_weights"])
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
