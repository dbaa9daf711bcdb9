"""Self-checks of notebook 05: True for the worked answers in the <details> blocks, False otherwise."""

import numpy as np
import pytest
import torch

from toymodel.exercises import UNANSWERED, nb05
from toymodel.phase import candidate_losses


def test_antipodal_loss_value():
    assert nb05.antipodal_loss_value() == pytest.approx(0.01)  # (1 + r) p^2 / 12 at r = 2, p = 0.2


def test_p_star_is_where_the_closed_forms_cross():
    from toymodel.phase import candidate_losses

    for r in (0.1, 0.5, 1.0, 3.0, 10.0):
        L = candidate_losses(2, r, nb05.p_star(r))
        assert min(L[0], L[1]) == pytest.approx(L[2])  # the better way to drop a feature ties with the pair
    assert nb05.p_star(3.0) == pytest.approx(4 / 11) and nb05.P_STAR_R1 == pytest.approx(4 / 7)


def test_boundary_accepts_right_answers_written_several_ways(capsys):
    def V(p):
        return p / 3 - p**2 / 4

    def A(p):
        return p**2 / 6

    numeric = max(q / 1000 for q in range(1, 1001) if 4 * A(q / 1000) < V(q / 1000))  # the <details> answer
    for right in (4 / 11, 0.364, "0.3636", numeric, np.float32(4 / 11), torch.tensor(4 / 11)):
        assert nb05.check_boundary(right, r=3.0) is True
    assert "p* = 0.364" in capsys.readouterr().out
    assert nb05.check_boundary(4 / 7, r=1.0) is True and nb05.check_boundary(4 / 9, r=0.5) is True


@pytest.mark.parametrize("wrong, hint", [
    (7 / 11, "sparsity S* = 1 - p*"),  # 1 - p*
    (12 / 17, "drops the more important feature"),  # r V = (1 + r) A: the extra feature dropped
    (0.5, "E[x^2] = p/3"),  # no bias for the ignored feature
    (4 / 7, "boundary at r = 1"),  # importance left out
    (0.8, "BOTH its features"),  # V = A
    (4 / 9, "not r A(p)"),  # V = r A
    (4 / 19, "divide both sides by 2"),  # V / 2 = (1 + r) A
    (0.3, "Which feature is cheaper to drop at r = 3?"),
    ("4/11", "Write a number"), (float("nan"), "Write a number"), (True, "Write a number"),
])
def test_boundary_names_the_mistake(wrong, hint, capsys):
    assert nb05.check_boundary(wrong, r=3.0) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out


def test_boundary_mistakes_below_one_name_the_extra_feature(capsys):
    assert nb05.check_boundary(nb05._crossing(1.0, 1.5), r=0.5) is False  # dropped feature 0 instead of the extra
    assert "the cheaper one to drop is the extra feature" in capsys.readouterr().out


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


def _V(p):
    return p / 3 - p**2 / 4


def _A(p):
    return p**2 / 6


def _cheapest(r, p, pairs):
    losses = [r * _V(p) / 3, _V(p) / 3, (1 + r) * _A(p) / 3, 2 * _A(p) / 3]
    return pairs[losses.index(min(losses))]


def test_shared_pair_reference():
    assert nb05.shared_pair() == {0, 1}  # r = 5, p = 0.5
    assert nb05.shared_pair(r=0.5, p=0.05) == {1, 2}  # a less important extra feature is the one paired
    assert nb05.shared_pair(r=5.0, p=0.7) == set()  # denser than 4/7: a feature is dropped, no pair
    answers = [set(), set(), {1, 2}, {0, 1}]  # who shares a dimension in each candidate
    for r, p in nb05.PAIR_POINTS:  # every check point at least 20% in loss from a candidate with another answer
        L = candidate_losses(3, r, p)
        best = int(L.argmin())
        assert min(L[c] for c in range(4) if answers[c] != answers[best]) > 1.2 * L[best]


def test_shared_pair_accepts_right_answers_written_several_ways(capsys):
    def worked(r, p):  # the <details> answer
        losses = [r * _V(p) / 3, _V(p) / 3, (1 + r) * _A(p) / 3, 2 * _A(p) / 3]
        pairs = [set(), set(), {1, 2}, {0, 1}]
        return pairs[losses.index(min(losses))]

    def with_feature_0(r, p):  # features 0 and 1 are interchangeable; lists, tuples and numpy ints are fine
        return _cheapest(r, p, [[], (), [0, 2], (np.int64(0), 1)])

    def by_rule(r, p):  # the rule, without the losses
        if r < 1:
            return {1, 2} if p < 4 * r / (2 + 5 * r) else set()
        return {0, 1} if p < 4 / 7 else set()

    def library(r, p):
        return [set(), set(), {1, 2}, {0, 1}][int(candidate_losses(3, r, p).argmin())]

    def sampled(r, p):  # V and A estimated from samples (the other <details> answer of section 2)
        x = torch.rand(400_000) * (torch.rand(400_000) < p)
        V = float(((x - x.mean()) ** 2).mean())
        x0, x1 = torch.rand(2, 400_000) * (torch.rand(2, 400_000) < p)
        A = float(((x0 - torch.relu(x0 - x1)) ** 2).mean())
        return _cheapest_values(r, V, A)

    def sampled_V(density):  # section 2's sampled answers, each call drawing new samples
        x = torch.rand(400_000) * (torch.rand(400_000) < density)
        return float(((x - x.mean()) ** 2).mean())

    def sampled_A(density):
        x0, x1 = torch.rand(2, 400_000) * (torch.rand(2, 400_000) < density)
        return float(((x0 - torch.relu(x0 - x1)) ** 2).mean())

    def worked_sampled(r, p):  # the worked answer over sampled V and A: four independent estimates
        losses = [r * sampled_V(p) / 3, sampled_V(p) / 3, (1 + r) * sampled_A(p) / 3, 2 * sampled_A(p) / 3]
        return [set(), set(), {1, 2}, {0, 1}][losses.index(min(losses))]

    for fn in (worked, with_feature_0, by_rule, library, sampled, worked_sampled):
        assert nb05.check_shared_pair(fn) is True, fn.__name__
    assert capsys.readouterr().out.count("Correct") == 6


def _cheapest_values(r, V, A):
    losses = [r * V / 3, V / 3, (1 + r) * A / 3, 2 * A / 3]
    return [set(), set(), {1, 2}, {0, 1}][losses.index(min(losses))]


def _always_pair(r, p):
    return {1, 2} if r < 1 else {0, 1}


def _never_pair(r, p):
    return set()


def _most_important(r, p):
    return _cheapest(r, p, [set(), set(), {0, 1}, {1, 2}])


def _candidate_index(r, p):
    return _cheapest(r, p, [0, 1, 2, 3])


def _one_based(r, p):
    return {i + 1 for i in _cheapest(r, p, [set(), set(), {1, 2}, {0, 1}])}


def _drops_only_the_extra(r, p):  # forgets the candidate that drops feature 0
    losses = [r * _V(p) / 3, (1 + r) * _A(p) / 3, 2 * _A(p) / 3]
    return [set(), {1, 2}, {0, 1}][losses.index(min(losses))]


def _uses_stub_V(r, p):
    V = lambda density: ...  # noqa: E731  # a V cell never filled in
    return {1, 2} if r * V(p) < 1 else set()


def _raises(r, p):
    raise ValueError("boom")


def _string(r, p):
    return "01"


def _three(r, p):
    return {0, 1, 2}


@pytest.mark.parametrize("fn, hint", [
    (_always_pair, "always returns a pair"), (_never_pair, "never returns a pair"),
    (_most_important, "MOST important"), (_candidate_index, "return a set of two feature indices"),
    (_one_based, "numbered 0, 1 and 2"), (_drops_only_the_extra, "shared_pair(5, 0.8) returned [0, 1]"),
    (_uses_stub_V, "still the stubs"), (_raises, "ValueError: boom"), (_string, "return a set"),
    (_three, "return a set"), (42, "Write a function"),
])
def test_shared_pair_names_the_mistake(fn, hint, capsys):
    assert nb05.check_shared_pair(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out


def test_shared_pair_stub_is_unanswered(capsys):
    def shared_pair(r, p):
        """3 -> 2."""
        return ...

    assert nb05.check_shared_pair(shared_pair) is False
    assert nb05.check_shared_pair(lambda r, p: ...) is False
    out = capsys.readouterr().out
    assert out.count(UNANSWERED) == 2 and "Not yet" not in out


def test_shared_pair_puts_back_the_global_state():
    def messy(r, p):
        torch.manual_seed(123)
        torch.set_grad_enabled(False)
        return nb05.shared_pair(r, p)

    state = torch.get_rng_state()
    assert nb05.check_shared_pair(messy) is True
    assert torch.is_grad_enabled() and torch.equal(torch.get_rng_state(), state)


def test_curve_stubs_returning_ellipsis_are_unanswered(capsys):
    def stub(density):
        return ...

    assert nb05.check_V(stub) is False and nb05.check_A(stub) is False
    out = capsys.readouterr().out
    assert out.count(UNANSWERED) == 2 and "Not yet" not in out


def test_curve_stub_returning_none_is_a_mistake(capsys):
    assert nb05.check_V(lambda density: None) is False
    assert "one number" in capsys.readouterr().out


@pytest.mark.parametrize("check", ["boundary", "parallel_loss", "shared_pair", "V", "A"])
def test_placeholder_is_unanswered_not_an_error(check, capsys):
    fn = getattr(nb05, f"check_{check}")
    assert fn(...) is False and fn(None) is False
    assert UNANSWERED in capsys.readouterr().out


def test_a_shared_pair_that_never_returns_is_stopped_and_named(monkeypatch, capsys):
    import signal
    import time

    from toymodel import exercises

    def forever(r, p):
        while True:
            pass

    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.5)
    before, start = signal.getsignal(signal.SIGINT), time.perf_counter()
    assert nb05.check_shared_pair(forever) is False
    assert time.perf_counter() - start < 5 and signal.getsignal(signal.SIGINT) is before
    assert "took more than 0.5 s on r = 0.2, p = 0.05" in capsys.readouterr().out
