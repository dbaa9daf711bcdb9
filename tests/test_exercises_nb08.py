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


# ---------------------------------------------------------------- exercise 2: the pair cosine

def test_pair_cosine_accepts_right_answers(capsys):
    def numpy_version(W):
        a = np.asarray(W)
        u = a / np.linalg.norm(a, axis=1, keepdims=True)
        return [float(u[2 * k] @ u[2 * k + 1]) for k in range(len(a) // 2)]

    def cosine_similarity(W):
        return torch.nn.functional.cosine_similarity(W[::2], W[1::2], dim=-1)

    for right in (nb08.reference_pair_cosine, numpy_version, cosine_similarity):
        assert nb08.check_pair_cosine(right) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda W: (W[0::2] * W[1::2]).sum(-1), "divide by both norms"),
    (lambda W: nb08.reference_pair_cosine(W).abs(), "Keep the sign"),
    (lambda W: torch.nn.functional.cosine_similarity(W[:3], W[3:], dim=-1), "not k and k + n/2"),
    (lambda W: nb08.reference_pair_cosine(W)[:2], "one per pair"),
    (lambda W: 1 / 0, "raised ZeroDivisionError"),
    (lambda W: torch.zeros(3), "Normalise"),
    (lambda W: None, "returned None"),
])
def test_pair_cosine_rejects_wrong_answers(wrong, hint, capsys):
    assert nb08.check_pair_cosine(wrong) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out


# ---------------------------------------------------------------- exercise 3: the critical ratio

class FakeRun:
    def critical_ratio(self):
        return 3.8


def test_critical_ratio(capsys):
    run = FakeRun()
    for right in (3.8, 4, "3.6", np.float32(4.2)):
        assert nb08.check_critical_ratio(right, run) is True
    for wrong in (2.5, 8, 1 / 3.8, -1, "four", True):
        assert nb08.check_critical_ratio(wrong, run) is False
    out = capsys.readouterr().out
    assert "inverse" in out
    assert nb08.check_critical_ratio(..., run) is False
