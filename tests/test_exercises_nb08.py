"""Self-checks of notebook 08: True for right answers (however written), False with the right hint otherwise."""

import numpy as np
import pytest
import torch

from toymodel.exercises import UNANSWERED, nb08

# ---------------------------------------------------------------- exercise 1: the anticorrelated sampler

def numpy_version(batch_size, n_pairs, p):
    """Right, written differently: numpy, a uniform draw for the member, returns an ndarray."""
    rng = np.random.default_rng(1)
    x = np.zeros((batch_size, n_pairs, 2))
    active = rng.random((batch_size, n_pairs)) < p
    first = rng.random((batch_size, n_pairs)) < 0.5
    v = rng.random((batch_size, n_pairs))
    x[..., 0] = np.where(active & first, v, 0)
    x[..., 1] = np.where(active & ~first, v, 0)
    return x.reshape(batch_size, -1)


def loop_version(batch_size, n_pairs, p):
    """Right, written as loops over pairs with torch.where."""
    cols = []
    for _ in range(n_pairs):
        u = torch.rand(batch_size)
        on = u < p
        which = torch.rand(batch_size) < 0.5
        val = torch.rand(batch_size)
        cols += [torch.where(on & which, val, 0.0), torch.where(on & ~which, val, 0.0)]
    return torch.stack(cols, 1)


def correlated(batch_size, n_pairs, p):  # both members on together
    on = (torch.rand(batch_size, n_pairs, 1) < p).float()
    return (torch.rand(batch_size, n_pairs, 2) * on).reshape(batch_size, -1)


def independent(batch_size, n_pairs, p):  # every feature on independently with p
    return torch.rand(batch_size, 2 * n_pairs) * (torch.rand(batch_size, 2 * n_pairs) < p)


def half_each(batch_size, n_pairs, p):  # each member on independently with p/2: sometimes both
    return torch.rand(batch_size, 2 * n_pairs) * (torch.rand(batch_size, 2 * n_pairs) < p / 2)


def arena(batch_size, n_pairs, p):  # ARENA's convention: the pair is active with 2p
    return nb08.reference_anticorrelated_pairs(batch_size, n_pairs, min(1.0, 2 * p))


def always_first(batch_size, n_pairs, p):
    x = torch.zeros(batch_size, n_pairs, 2)
    x[..., 0] = torch.rand(batch_size, n_pairs) * (torch.rand(batch_size, n_pairs) < p)
    return x.reshape(batch_size, -1)


def ones(batch_size, n_pairs, p):  # value 1 instead of U[0, 1)
    return (nb08.reference_anticorrelated_pairs(batch_size, n_pairs, p) > 0).float() * 0.999


def shared_pairs(batch_size, n_pairs, p):  # one on/off draw for all pairs
    on = torch.rand(batch_size, 1) < p
    which = torch.randint(0, 2, (batch_size, n_pairs))
    x = torch.zeros(batch_size, n_pairs, 2)
    x.scatter_(2, which[..., None], (torch.rand(batch_size, n_pairs) * on)[..., None])
    return x.reshape(batch_size, -1)


def wrong_shape(batch_size, n_pairs, p):
    return nb08.reference_anticorrelated_pairs(batch_size, n_pairs, p).reshape(batch_size, n_pairs, 2)


def raises(batch_size, n_pairs, p):
    raise RuntimeError("boom")


@pytest.mark.parametrize("right", [nb08.reference_anticorrelated_pairs, numpy_version, loop_version])
def test_sampler_accepts_right_answers(right, capsys):
    assert nb08.check_anticorrelated_sampler(right) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (correlated, "never fire together"), (independent, "never fire together"), (half_each, "never fire together"),
    (arena, "ARENA"), (always_first, "uniformly"), (ones, "uniform on [0, 1)"), (shared_pairs, "independent"),
    (wrong_shape, "shape"), (raises, "raised RuntimeError: boom"), ("not a function", "Write a function"),
    (lambda batch_size, n_pairs, p: None, "returned None"),
])
def test_sampler_rejects_wrong_answers(wrong, hint, capsys):
    assert nb08.check_anticorrelated_sampler(wrong) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out


def test_sampler_unanswered_and_rng_restored(capsys):
    assert nb08.check_anticorrelated_sampler(...) is False
    assert UNANSWERED in capsys.readouterr().out
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    nb08.check_anticorrelated_sampler(nb08.reference_anticorrelated_pairs)
    assert torch.equal(torch.rand(3), expected)  # the check does not move the learner's RNG


# ---------------------------------------------------------------- exercise 2: seeds for best-of-k

class FakeRun:
    """A NonUniformRun's random starts: 12 per ratio at r = 2, 4, 8; `digons` of them ended as two digons."""

    def __init__(self, digons=(3, 7, 12)):
        self.random_ratio = torch.tensor([2.0, 4.0, 8.0])
        self.random_W = torch.zeros(12, 3, 5, 2)
        self._q = torch.tensor(digons, dtype=torch.float32) / 12

    def digon_fraction(self):
        return self._q


def test_seeds_for():
    assert nb08.seeds_for(7 / 12, 0.99) == 6 and nb08.seeds_for(7 / 12, 0.95) == 4
    assert nb08.seeds_for(1.0, 0.99) == 1 and nb08.seeds_for(0.5, 0.75) == 2  # 1 - 0.5^2 = 0.75 exactly


def test_seeds_needed_accepts_the_right_count(capsys):
    run = FakeRun()
    for right in (6, 6.0, np.int64(6), torch.tensor(6)):
        assert nb08.check_seeds_needed(right, run) is True
    assert "7/12" in capsys.readouterr().out
    assert nb08.check_seeds_needed(9, FakeRun((3, 5, 12))) is True  # q = 5/12 -> 9 seeds


@pytest.mark.parametrize("wrong, named", [
    (4, "95%"), (5, "Rounded down"), (9, "pentagon"), (7, "(1 - q)^k"), (6.5, "whole number"), ("six", "whole number"),
    (True, "whole number"),
])
def test_seeds_needed_names_the_mistake(wrong, named, capsys):
    assert nb08.check_seeds_needed(wrong, FakeRun()) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and named in out


def test_seeds_needed_unanswered_and_no_digons(capsys):
    assert nb08.check_seeds_needed(..., FakeRun()) is False
    assert UNANSWERED in capsys.readouterr().out
    assert nb08.check_seeds_needed(3, FakeRun((3, 0, 12))) is False
    assert "No random start" in capsys.readouterr().out


# ---------------------------------------------------------------- exercise 3: the two-digon loss

def test_digon_loss_accepts_right_answers(capsys):
    def as_tensor(ratio, density):
        p = torch.tensor(density)
        return (2 * p**2 / 3 + p / (3 * ratio)) / 5

    def per_feature(ratio, density):
        losses = [density**2 / 6] * 4 + [density / ratio / 3]
        return float(np.mean(losses))

    for right in (nb08.reference_digon_loss, as_tensor, per_feature):
        assert nb08.check_digon_loss(right) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, named", [
    (lambda r, p: 5 * nb08.reference_digon_loss(r, p), "mean"),
    (lambda r, p: (4 * p**2 / 6 + p / 3) / 5, "density p / ratio"),
    (lambda r, p: (4 * p**2 / 6 + p * r / 3) / 5, "SPARSER"),
    (lambda r, p: (4 * p**2 / 6 + p / r / 4) / 5, "E[x^2] = 1/3"),
    (lambda r, p: (4 * p**2 / 6) / 5, "still costs"),
    (lambda r, p: (p / r / 3) / 5, "pairs cost"),
    (lambda r, p: (2 * p**2 / 6 + p / r / 3) / 5, "4 of"),
    (lambda r, p: (4 * p**2 / 3 + p / r / 3) / 5, "min(x_i, x_j)^2"),
    (lambda r, p: (4 * p * (1 - p) / 6 + p / r / 3) / 5, "BOTH"),
    (lambda r, p: 0.001, "Not the two-digon loss"),
    (lambda r, p: [0.001], "return one number"),
    (lambda r, p: float("nan"), "return one number"),
    (lambda r, p: 1 / 0, "ZeroDivisionError"),
    ("not a function", "Write a function"),
])
def test_digon_loss_names_the_mistake(wrong, named, capsys):
    assert nb08.check_digon_loss(wrong) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and named in out


def test_digon_loss_against_the_trained_digons(capsys):
    """With the notebook's run the check also says how close the trained digons sit to the closed form."""
    from toymodel.experiments import nonuniform_superposition
    run = nonuniform_superposition(ratios=(2.0, 8.0), n_inits=1, random_ratios=(8.0,), progress=False)
    assert bool(run.intact("digons").all())
    assert nb08.check_digon_loss(nb08.reference_digon_loss, run) is True
    assert "within" in capsys.readouterr().out
    closed = torch.tensor([nb08.reference_digon_loss(float(r), 0.05) for r in run.ratio], dtype=torch.float64)
    assert torch.allclose(run.loss["digons"].double(), closed, rtol=3e-3)  # trained digons: the closed form


def test_digon_loss_unanswered(capsys):
    def digon_loss(ratio, density):
        ...

    assert nb08.check_digon_loss(digon_loss) is False
    assert UNANSWERED in capsys.readouterr().out
