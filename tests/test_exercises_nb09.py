"""Notebook 09's self-checks: each accepts the right answer, names each classic mistake when given it, reports an
unanswered stub, and rejects answers the next cells cannot use."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from toymodel.exercises import nb09

# ------------------------------------------------------------------------------------------- the forward pass


def unit(W):
    return W / W.norm(dim=-1, keepdim=True)


def right_forward(h, W_enc, b_enc, W_dec, b_dec):
    z = torch.relu((h - b_dec) @ W_enc + b_enc)
    return z, z @ unit(W_dec) + b_dec


FORWARD_MISTAKES = {
    "decoder is not normalised": lambda h, We, be, Wd, bd: (torch.relu((h - bd) @ We + be),
                                                             torch.relu((h - bd) @ We + be) @ Wd + bd),
    "b_dec is not subtracted": lambda h, We, be, Wd, bd: (torch.relu(h @ We + be),
                                                          torch.relu(h @ We + be) @ unit(Wd) + bd),
    "normalised the columns": lambda h, We, be, Wd, bd: (
        torch.relu((h - bd) @ We + be), torch.relu((h - bd) @ We + be) @ (Wd / Wd.norm(dim=0, keepdim=True)) + bd),
    "b_dec is not added back": lambda h, We, be, Wd, bd: (torch.relu((h - bd) @ We + be),
                                                          torch.relu((h - bd) @ We + be) @ unit(Wd)),
    "ReLU is missing": lambda h, We, be, Wd, bd: ((h - bd) @ We + be, ((h - bd) @ We + be) @ unit(Wd) + bd),
    "b_enc goes inside the ReLU": lambda h, We, be, Wd, bd: (torch.relu((h - bd) @ We) + be,
                                                             (torch.relu((h - bd) @ We) + be) @ unit(Wd) + bd),
    "The order is (z, h_hat)": lambda *a: right_forward(*a)[::-1],
    "no gradient": lambda *a: tuple(t.detach() for t in right_forward(*a)),
}


def test_forward_right_answer_passes(capsys):
    assert nb09.check_sae_forward(right_forward)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("message", list(FORWARD_MISTAKES))
def test_forward_names_the_mistake(message, capsys):
    assert not nb09.check_sae_forward(FORWARD_MISTAKES[message])
    assert message in capsys.readouterr().out


def test_forward_a_half_detached_decoder_is_caught(capsys):
    def half(h, W_enc, b_enc, W_dec, b_dec):
        z = torch.relu((h - b_dec) @ W_enc + b_enc)
        return z, z @ unit(W_dec).detach() + b_dec
    assert not nb09.check_sae_forward(half)
    assert "wrong gradient with respect to W_dec" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------- the loss


def right_loss(h, z, h_hat, l1):
    return ((h - h_hat) ** 2).sum(-1).mean() + l1 * z.sum(-1).mean()


LOSS_MISTAKES = {
    "L1 term is averaged over the latents": lambda h, z, hh, l1: ((h - hh) ** 2).sum(-1).mean() + l1 * z.mean(),
    "squared error is averaged over the hidden dimensions": lambda h, z, hh, l1: ((h - hh) ** 2).mean()
    + l1 * z.sum(-1).mean(),
    "Both terms are averaged": lambda h, z, hh, l1: ((h - hh) ** 2).mean() + l1 * z.mean(),
    "sum over the batch": lambda h, z, hh, l1: ((h - hh) ** 2).sum() + l1 * z.sum(),
    "L1 penalty is missing": lambda h, z, hh, l1: ((h - hh) ** 2).sum(-1).mean(),
    "an L2 penalty": lambda h, z, hh, l1: ((h - hh) ** 2).sum(-1).mean() + l1 * (z**2).sum(-1).mean(),
    "not squared": lambda h, z, hh, l1: (h - hh).abs().sum(-1).mean() + l1 * z.sum(-1).mean(),
    "not on the reconstruction": lambda h, z, hh, l1: ((h - hh) ** 2).sum(-1).mean() + l1 * hh.abs().sum(-1).mean(),
    "one value per sample": lambda h, z, hh, l1: ((h - hh) ** 2).sum(-1) + l1 * z.sum(-1),
    "Python float": lambda *a: float(right_loss(*a).detach()),
    "numpy": lambda *a: right_loss(*a).detach().numpy(),
}


def test_loss_right_answer_passes(capsys):
    assert nb09.check_sae_loss(right_loss)
    assert nb09.check_sae_loss(lambda h, z, hh, l1: ((h - hh) ** 2).sum(-1).mean() + l1 * z.abs().sum(-1).mean())
    assert capsys.readouterr().out.count("✅") == 2


@pytest.mark.parametrize("message", list(LOSS_MISTAKES))
def test_loss_names_the_mistake(message, capsys):
    assert not nb09.check_sae_loss(LOSS_MISTAKES[message])
    assert message in capsys.readouterr().out


# -------------------------------------------------------------------------------------------------------- MMCS


def right_mmcs(W_true, W_dec, fires):
    return (unit(W_true) @ unit(W_dec).T)[:, fires].max(dim=1).values.mean()


MMCS_MISTAKES = {
    "Dead latents are counted": lambda Wt, Wd, f: (unit(Wt) @ unit(Wd).T).max(dim=1).values.mean(),
    "wrong axis": lambda Wt, Wd, f: (unit(Wt) @ unit(Wd).T)[:, f].max(dim=0).values.mean(),
    "Keep the sign": lambda Wt, Wd, f: (unit(Wt) @ unit(Wd).T)[:, f].abs().max(dim=1).values.mean(),
    "dot products, not cosines": lambda Wt, Wd, f: (Wt @ Wd.T)[:, f].max(dim=1).values.mean(),
    "Normalise the rows of W_dec too": lambda Wt, Wd, f: (unit(Wt) @ Wd.T)[:, f].max(dim=1).values.mean(),
    "Normalise the rows of W_true too": lambda Wt, Wd, f: (Wt @ unit(Wd).T)[:, f].max(dim=1).values.mean(),
    "worst feature's best cosine": lambda Wt, Wd, f: (unit(Wt) @ unit(Wd).T)[:, f].max(dim=1).values.min(),
    "mean of all cosines": lambda Wt, Wd, f: (unit(Wt) @ unit(Wd).T)[:, f].mean(),
}


def test_mmcs_right_answers_pass(capsys):
    assert nb09.check_mmcs(right_mmcs)
    assert nb09.check_mmcs(lambda *a: float(right_mmcs(*a)))  # a number is fine for a measure
    assert capsys.readouterr().out.count("✅") == 2


@pytest.mark.parametrize("message", list(MMCS_MISTAKES))
def test_mmcs_names_the_mistake(message, capsys):
    assert not nb09.check_mmcs(MMCS_MISTAKES[message])
    assert message in capsys.readouterr().out


def test_the_mmcs_inputs_tell_the_mistakes_apart():
    """Every mistake gives a value at least 20 times the checker's tolerance (1e-4) from the right one and from every
    other mistake, so each answer gets its own message."""
    W_true, W_dec, fires = nb09.mmcs_inputs()
    answers = [right_mmcs, *MMCS_MISTAKES.values()]
    values = [float(f(W_true, W_dec, fires)) for f in answers]
    gaps = [abs(a - b) for i, a in enumerate(values) for b in values[i + 1:]]
    assert min(gaps) > 20 * 1e-4


# --------------------------------------------------------------------------------------------- every checker


CHECKS = [nb09.check_sae_forward, nb09.check_sae_loss, nb09.check_mmcs]


@pytest.mark.parametrize("check", CHECKS)
def test_an_unanswered_stub_is_reported(check, capsys):
    def stub(*args):
        ...
    assert not check(stub) and not check(...)
    assert capsys.readouterr().out.count("Not answered yet") == 2


@pytest.mark.parametrize("check", CHECKS)
def test_a_raising_answer_is_reported_not_raised(check, capsys):
    def boom(*args):
        raise RuntimeError("boom")
    assert not check(boom)
    assert "raised RuntimeError: boom" in capsys.readouterr().out


@pytest.mark.parametrize("check, fn", [(nb09.check_sae_forward, right_forward), (nb09.check_sae_loss, right_loss),
                                       (nb09.check_mmcs, right_mmcs)])
def test_global_state_is_restored(check, fn):
    def meddling(*args):
        torch.set_default_dtype(torch.float64)
        torch.manual_seed(5)
        np.random.seed(5)
        random.seed(5)
        return fn(*[a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args])
    torch.manual_seed(1)
    before = torch.get_rng_state().clone(), np.random.get_state()[1].copy(), random.getstate()
    try:
        check(meddling)
        assert torch.get_default_dtype() == torch.float32
        assert torch.equal(torch.get_rng_state(), before[0])
        assert np.array_equal(np.random.get_state()[1], before[1]) and random.getstate() == before[2]
    finally:
        torch.set_default_dtype(torch.float32)


def test_reference_answers_match_the_library():
    """The worked answers are the library's SparseAutoencoder and mmcs."""
    from toymodel.sae import SparseAutoencoder, mmcs

    sae = SparseAutoencoder(3, 6, seed=0, dtype=torch.float64)
    with torch.no_grad():
        sae.b_dec.copy_(torch.tensor([0.1, -0.2, 0.3]))
    h = torch.randn(8, 3, dtype=torch.float64)
    z, h_hat = nb09.reference_sae_forward(h, sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec)
    assert torch.allclose(z, sae.encode(h)) and torch.allclose(h_hat, sae(h))
    assert float(nb09.reference_sae_loss(h, z, h_hat, 0.3).detach()) == pytest.approx(float(sae.loss(h, 0.3).detach()))
    W_true, W_dec, fires = nb09.mmcs_inputs()
    assert float(nb09.reference_mmcs(W_true, W_dec, fires)) == pytest.approx(mmcs(W_true, W_dec, fires))


# ----------------------------------------------------------------------------------------- your turn (the sweep)


@pytest.fixture(scope="module")
def sweep():
    from toymodel.experiments.sae import load_sae_sweep

    return load_sae_sweep()


def test_lowest_fvu_is_judged_on_the_sweep(sweep, capsys):
    d, c, s = nb09.lowest_fvu(sweep)
    assert all(s.fvu <= t.fvu for dd in sweep.d_sae_grid for t in sweep.l1_curve(dd)[1])
    assert nb09.check_lowest_fvu((s.fvu, s.mmcs), sweep)
    assert not nb09.check_lowest_fvu((s.fvu, s.worst), sweep)
    other = sweep.run("40->10", 40, l1_coeff=0.3).scores
    assert not nb09.check_lowest_fvu((other.fvu, other.mmcs), sweep)
    assert not nb09.check_lowest_fvu(..., sweep) and not nb09.check_lowest_fvu("0.1", sweep)
    out = capsys.readouterr().out
    assert "✅" in out and "worst feature's best cosine" in out and "belongs to another SAE" in out
    assert "Not answered yet" in out and "Write two numbers" in out


def test_pentagon_ten_is_judged_on_the_stored_run(sweep, capsys):
    s = sweep.run("pentagon", 10, seed=0).scores
    assert nb09.check_pentagon_ten((s.dead, s.mmcs), sweep)
    assert not nb09.check_pentagon_ten((s.d_sae - s.dead, s.mmcs), sweep)
    assert not nb09.check_pentagon_ten((s.dead, s.worst - 0.5), sweep)
    out = capsys.readouterr().out
    assert "✅" in out and "latents that fire" in out and "Not yet" in out
