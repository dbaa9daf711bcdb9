"""The self-checks against a hostile learner: answers that change global state, never return, are interrupted, or
return something the notebook's next cells cannot use.  Each test failed before the checkers were hardened."""

from __future__ import annotations

import random
import signal
import time

import numpy as np
import pytest
import torch

import toymodel.exercises as exercises
from toymodel.exercises import call_learner, nb01, nb02, nb04, nb07, nb08


def right_forward(x, W, b):
    return torch.relu(torch.einsum("bkm,knm->bkn", torch.einsum("bkn,knm->bkm", x, W), W) + b)


def right_loss(x, x_hat, importance):
    return (importance * (x - x_hat) ** 2).mean((0, 2)).sum()


def right_superposition(W):
    U = W / W.norm(dim=-1, keepdim=True)
    overlap = (U @ W.transpose(-1, -2)) ** 2
    return overlap.sum(-1) - overlap.diagonal(dim1=-2, dim2=-1)


def _globals() -> tuple:
    return (torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads(),
            torch.get_rng_state().clone(), np.random.get_state()[1].copy(), random.getstate())


def _same(a: tuple, b: tuple) -> bool:
    return (a[:3] == b[:3] and torch.equal(a[3], b[3]) and np.array_equal(a[4], b[4]) and a[5] == b[5])


@pytest.fixture(autouse=True)
def _independent():
    """Each test starts from the defaults, whatever a failing one before it left behind."""
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    yield
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    torch.set_num_threads(1)


# ------------------------------------------------------------------------------------ global state is restored

def meddling(fn):
    """fn, after it has changed every global setting a learner's code can change."""
    def answer(*args):
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(True)
        torch.set_num_threads(2)
        torch.manual_seed(123)
        np.random.seed(123)
        random.seed(123)
        return fn(*args)
    return answer


@pytest.mark.parametrize("check, fn", [(nb01.check_forward, right_forward), (nb01.check_loss, right_loss),
                                       (nb02.check_superposition, right_superposition)])
def test_a_passing_answer_that_changes_global_state_leaves_none_of_it_changed(check, fn):
    before = _globals()
    check(meddling(fn))
    assert _same(_globals(), before)
    assert torch.get_default_dtype() == torch.float32  # every later seeded model in the notebook stays float32


def test_an_answer_that_raises_leaves_no_global_state_changed():
    def raising(*args):
        torch.set_default_dtype(torch.float64)
        np.random.seed(5)
        raise RuntimeError("boom")
    before = _globals()
    assert nb01.check_forward(raising) is False
    assert _same(_globals(), before)


@pytest.mark.parametrize("check, args", [
    (nb01.check_forward, ()), (nb01.check_generate_batch, ()), (nb08.check_anticorrelated_sampler, ()),
    (nb08.check_digon_loss, ()), (nb07.check_abs_weights, ()),
])
def test_a_keyboard_interrupt_in_the_answer_stops_the_cell_with_global_state_restored(check, args):
    def interrupted(*_):
        torch.set_default_dtype(torch.float64)
        np.random.seed(7)
        torch.manual_seed(7)
        raise KeyboardInterrupt
    before = _globals()
    with pytest.raises(KeyboardInterrupt):
        check(interrupted, *args)
    assert _same(_globals(), before)


# ------------------------------------------------------------------------------------ answers that never return

@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.5)


def forever(*_):
    while True:
        pass


@pytest.mark.parametrize("check", [nb01.check_forward, nb01.check_loss, nb01.check_generate_batch,
                                   nb02.check_superposition, nb04.check_feature_dimensionality,
                                   nb07.check_abs_forward, nb07.check_abs_weights, nb08.check_anticorrelated_sampler,
                                   nb08.check_digon_loss])
def test_an_answer_that_never_returns_is_stopped_and_named(check, short_limit, capsys):
    before = signal.getsignal(signal.SIGINT)
    start = time.perf_counter()
    assert check(forever) is False
    assert time.perf_counter() - start < 5  # stopped, not run to some other limit
    out = capsys.readouterr().out
    assert "took more than 0.5 s" in out and "Vectorise" in out
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C works as before
    deadline = time.perf_counter() + 1.0  # no late interrupt of ours arrives afterwards
    while time.perf_counter() < deadline:
        pass


def test_the_time_limit_names_the_batch_it_was_given(short_limit, capsys):
    nb01.check_generate_batch(forever)
    assert "took more than 0.5 s on a batch of 20,000" in capsys.readouterr().out


def test_a_real_keyboard_interrupt_is_not_mistaken_for_the_time_limit():
    def interrupted():
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        call_learner(interrupted)


def test_a_fast_answer_is_not_stopped(short_limit):
    out, err = call_learner(lambda: 42)
    assert (out, err) == (42, None)


# ------------------------------------------------------------------------------------ answers the notebook cannot use

def forward_numpy(x, W, b):
    return right_forward(x, W, b).detach().numpy()


def forward_detached(x, W, b):
    return right_forward(x, W, b).detach()


def forward_no_grad(x, W, b):
    with torch.no_grad():
        return right_forward(x, W, b)


def forward_complex(x, W, b):
    return right_forward(x, W, b).to(torch.complex64)


def forward_half_detached(x, W, b):  # the values are right; W's gradient only flows through the read-out
    return torch.relu(torch.einsum("bkm,knm->bkn", torch.einsum("bkn,knm->bkm", x, W.detach()), W) + b)


@pytest.mark.parametrize("fn, named", [
    (forward_numpy, "returns a numpy ndarray"),
    (forward_detached, "no gradient"),
    (forward_no_grad, "no gradient"),
    (forward_complex, "complex tensor"),
    (forward_half_detached, "wrong gradient with respect to W"),
])
def test_forward_rejects_what_the_training_loop_cannot_use(fn, named, capsys):
    assert nb01.check_forward(fn) is False
    out = capsys.readouterr().out
    assert named in out and "got Tensor" not in out


@pytest.mark.parametrize("fn, named", [
    (lambda x, y, imp: right_loss(x, y, imp).item(), "returns a Python float"),
    (lambda x, y, imp: right_loss(x, y, imp).detach(), "no gradient"),
    (lambda x, y, imp: right_loss(x, y, imp).detach().numpy(), "returns a numpy"),
    (lambda x, y, imp: right_loss(x, y, imp).to(torch.complex64), "complex tensor"),
    (lambda x, y, imp: right_loss(x, y.detach(), imp) + 0 * y.sum(), "wrong gradient with respect to x_hat"),
])
def test_loss_rejects_what_backward_cannot_use(fn, named, capsys):
    assert nb01.check_loss(fn) is False
    assert named in capsys.readouterr().out


def test_loss_under_no_grad_is_rejected(capsys):
    def loss(x, x_hat, importance):
        with torch.no_grad():
            return right_loss(x, x_hat, importance)
    assert nb01.check_loss(loss) is False
    assert "no gradient" in capsys.readouterr().out


@pytest.mark.parametrize("fn, named", [
    (lambda W: right_superposition(W).numpy(), "returns a numpy ndarray"),
    (lambda W: right_superposition(W).to(torch.complex64), "complex tensor"),
    (lambda W: right_superposition(W).tolist(), "returns a list"),
])
def test_superposition_rejects_what_the_next_cells_cannot_use(fn, named, capsys):
    assert nb02.check_superposition(fn) is False
    assert named in capsys.readouterr().out


def test_the_right_answers_still_pass():
    assert nb01.check_forward(right_forward) is True
    assert nb01.check_loss(right_loss) is True
    assert nb02.check_superposition(right_superposition) is True


def test_after_a_crashed_training_loop_the_check_says_so_not_unanswered(capsys):
    """The notebook's loop leaves W_mine = None when it fails: there is no `...` to replace."""
    assert nb01.check_trained_pentagon(None) is False
    out = capsys.readouterr().out
    assert "Not answered yet" not in out and "has not run to the end" in out
    assert nb01.plot_beside_library(None, None) is None
    assert "Not answered yet" not in capsys.readouterr().out
