"""Self-checks of notebook 05: True for the worked answers in the <details> blocks, False otherwise."""

import pytest

from toymodel.exercises import UNANSWERED, nb05


def test_antipodal_loss_value():
    assert nb05.antipodal_loss_value() == pytest.approx(0.01)  # (1 + r) p^2 / 12 at r = 2, p = 0.2


def test_boundary(capsys):
    assert nb05.check_boundary(4 / 7) is True
    assert nb05.check_boundary(0.571) is True
    for wrong in (0.5, 3 / 7, 2 / 3, 1, "4/7", float("nan")):
        assert nb05.check_boundary(wrong) is False
    out = capsys.readouterr().out
    assert "sparsity S* = 1 - p*" in out and "p/3 - p^2/4" in out


def test_boundary_constant_is_where_the_closed_forms_cross():
    from toymodel.phase import candidate_losses

    L = candidate_losses(2, 1.0, nb05.P_STAR_R1)
    assert L[0] == pytest.approx(L[2])


def test_parallel_loss_accepts_the_worked_answer(capsys):
    assert nb05.parallel_loss_value() == pytest.approx(0.1)
    for right in (0.1, (1 + 2) * 0.2 / 6, "0.1"):
        assert nb05.check_parallel_loss(right) is True
    assert "10 times the antipodal pair" in capsys.readouterr().out


def test_parallel_loss_is_the_sampled_loss_of_w_1_1():
    import torch

    from toymodel import ToyModel, evaluate_loss

    model = ToyModel(2, 1, 1, seed=None)
    with torch.no_grad():
        model.W[0], model.b[0] = torch.tensor([[1.0], [1.0]]), 0.0
    sampled = float(evaluate_loss(model, torch.tensor([0.2]), torch.tensor([[1.0, 2.0]]), batch_size=32768)[0])
    assert sampled == pytest.approx(nb05.parallel_loss_value(), rel=0.03)


@pytest.mark.parametrize("wrong, hint", [
    (0.01, "antipodal pair W = [1, -1]"), (0.2, "MEAN"), (2 * 0.2 / 6, "its own importance"),
    (3 * 0.2**2 / 6, "not p^2"), (3 * (0.2 / 3 - 0.2**2 / 4) / 2, "variance V(p)"), (0.5, "ReLU(x_0 + x_1)"),
    ("zero", "Write a number"), (True, "Write a number"),
])
def test_parallel_loss_rejects_wrong_answers(wrong, hint, capsys):
    assert nb05.check_parallel_loss(wrong) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out


def test_shared_pair(capsys):
    assert nb05.shared_pair() == {0, 1}  # the exercise: r = 5, p = 0.5, just sparser than the dense rows
    for right in ({0, 1}, [1, 0], (0, 1)):
        assert nb05.check_shared_pair(right) is True
    assert "2A/3 = 0.0278" in capsys.readouterr().out
    for wrong in ({0, 2}, {1, 2}, set(), {0}, {0, 1, 2}, {3, 4}, "01", 1):
        assert nb05.check_shared_pair(wrong) is False
    out = capsys.readouterr().out
    assert "(1 + r) A/3 = 0.0833" in out and "still cheaper than dropping" in out and "set()" in out


def test_shared_pair_follows_the_importance_and_the_density(capsys):
    assert nb05.shared_pair(r=0.5, p=0.05) == {1, 2}  # a less important extra feature is the one paired
    for right in ({1, 2}, {0, 2}):  # features 0 and 1 are interchangeable
        assert nb05.check_shared_pair(right, r=0.5, p=0.05) is True
    assert nb05.check_shared_pair({0, 1}, r=0.5, p=0.05) is False
    assert "Which is cheaper when r < 1?" in capsys.readouterr().out
    assert nb05.shared_pair(r=5.0, p=0.7) == set()  # denser than 4/7: a feature is dropped, no pair
    assert nb05.check_shared_pair(set(), r=5.0, p=0.7) is True
    assert nb05.check_shared_pair({0, 1}, r=5.0, p=0.7) is False
    assert "no pair wins" in capsys.readouterr().out


def test_curve_stubs_returning_ellipsis_are_unanswered(capsys):
    def stub(density):
        return ...

    assert nb05.check_V(stub) is False and nb05.check_A(stub) is False
    out = capsys.readouterr().out
    assert out.count(UNANSWERED) == 2 and "Not yet" not in out


def test_curve_stub_returning_none_is_a_mistake(capsys):
    assert nb05.check_V(lambda density: None) is False
    assert "one number" in capsys.readouterr().out


@pytest.mark.parametrize("check", ["boundary", "parallel_loss", "shared_pair"])
def test_placeholder_is_unanswered_not_an_error(check, capsys):
    fn = getattr(nb05, f"check_{check}")
    assert fn(...) is False and fn(None) is False
    assert UNANSWERED in capsys.readouterr().out
