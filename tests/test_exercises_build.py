"""The build-it-yourself checkers: right answers written in different ways pass; each known mistake fails and
is named; nothing the learner writes makes a checker raise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toymodel.exercises import nb01, nb02, nb04, nb05, nb07

# ------------------------------------------------------------------------------------------------ samplers


def batch_uniform_threshold(batch_size, n_features, density):
    p = density[None, :, None]
    keep = torch.rand(batch_size, len(density), n_features) < p
    return torch.where(keep, torch.rand(batch_size, len(density), n_features), 0.0)


def batch_bernoulli(batch_size, n_features, density):
    p = density[None, :, None].expand(batch_size, -1, n_features)
    return torch.bernoulli(p) * torch.rand(p.shape)


def batch_numpy_loop(batch_size, n_features, density):  # another library, loops: still right
    out = np.zeros((batch_size, len(density), n_features))
    for k, p in enumerate(density.tolist()):
        keep = np.random.rand(batch_size, n_features) < p
        out[:, k] = keep * np.random.rand(batch_size, n_features)
    return out


def batch_one_draw(batch_size, n_features, density):
    u = torch.rand(batch_size, len(density), n_features)
    return u * (u < density[None, :, None])  # kept values uniform on [0, p)


def batch_swapped(batch_size, n_features, density):
    u = torch.rand(batch_size, len(density), n_features)
    return torch.where(u < 1 - density[None, :, None], torch.rand(u.shape), 0.0)


def batch_shared_draw(batch_size, n_features, density):
    keep = torch.rand(batch_size, len(density), 1) < density[None, :, None]
    return keep * torch.rand(batch_size, len(density), n_features)


def batch_wrong_layout(batch_size, n_features, density):
    return batch_uniform_threshold(batch_size, n_features, density).transpose(0, 1)


def batch_first_density_only(batch_size, n_features, density):
    return batch_uniform_threshold(batch_size, n_features, density[:1].expand(3))


def batch_ones(batch_size, n_features, density):
    return (batch_uniform_threshold(batch_size, n_features, density) > 0).float()


@pytest.mark.parametrize("fn", [batch_uniform_threshold, batch_bernoulli, batch_numpy_loop])
def test_generate_batch_accepts_right_samplers(fn, capsys):
    assert nb01.check_generate_batch(fn) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("fn, named", [
    (batch_one_draw, "ONE draw"),
    (batch_swapped, "Density and sparsity are swapped"),
    (batch_shared_draw, "switch on independently"),
    (batch_wrong_layout, "[batch, n_instances, n_features]"),
    (batch_first_density_only, "Use each instance's own p"),
    (batch_ones, "uniform on [0, 1)"),
    (lambda b, n, p: None, "returned None"),
    (lambda b, n, p: 1 / 0, "raised ZeroDivisionError"),
])
def test_generate_batch_names_the_mistake(fn, named, capsys):
    assert nb01.check_generate_batch(fn) is False
    assert named in capsys.readouterr().out


def test_the_checkers_leave_the_learners_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    nb01.check_generate_batch(batch_uniform_threshold)
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------------------------------------- forward pass

def forward_einsum(x, W, b):
    h = torch.einsum("bkn,knm->bkm", x, W)
    return torch.relu(torch.einsum("bkm,knm->bkn", h, W) + b)


def forward_matmul(x, W, b):  # batch-first matmuls instead of einsum
    h = (x.transpose(0, 1) @ W)  # [k, b, m]
    return torch.relu(h @ W.transpose(1, 2) + b[:, None, :]).transpose(0, 1)


def forward_loop(x, W, b):
    out = torch.zeros_like(x)
    for k in range(W.shape[0]):
        out[:, k] = torch.relu(x[:, k] @ W[k] @ W[k].T + b[k])
    return out


@pytest.mark.parametrize("fn", [forward_einsum, forward_matmul, forward_loop])
def test_forward_accepts_right_implementations(fn):
    assert nb01.check_forward(fn) is True


@pytest.mark.parametrize("fn, named", [
    (lambda x, W, b: torch.relu(torch.einsum("bkm,knm->bkn", torch.relu(torch.einsum("bkn,knm->bkm", x, W)), W) + b),
     "ReLU on the hidden layer"),
    (lambda x, W, b: torch.relu(torch.einsum("bkm,knm->bkn", torch.einsum("bkn,knm->bkm", x, W), W)),
     "bias b is missing"),
    (lambda x, W, b: forward_einsum(x, W, 0 * b) + b, "after the ReLU"),
    (lambda x, W, b: torch.einsum("bkm,knm->bkn", torch.einsum("bkn,knm->bkm", x, W), W) + b,
     "ReLU on the output is missing"),
    (lambda x, W, b: forward_einsum(x + b, W, 0 * b), "added to the input"),
    (lambda x, W, b: torch.einsum("bkn,knm->bkm", x, W), "should return shape"),
    (lambda x, W, b: x @ W.mT, "raised"),
])
def test_forward_names_the_mistake(fn, named, capsys):
    assert nb01.check_forward(fn) is False
    assert named in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------------ loss

def loss_vectorised(x, x_hat, importance):
    return (importance * (x - x_hat) ** 2).mean((0, 2)).sum()


def loss_loop(x, x_hat, importance):  # by a different route (a loop over instances): still right
    total = torch.zeros(())
    for k in range(x.shape[1]):
        total = total + ((x[:, k] - x_hat[:, k]) ** 2 * importance).mean()
    return total


@pytest.mark.parametrize("fn", [loss_vectorised, loss_loop])
def test_loss_accepts_right_implementations(fn):
    assert nb01.check_loss(fn) is True


@pytest.mark.parametrize("fn, named", [
    (lambda x, y, imp: (imp * (x - y) ** 2).sum(), "take the mean over them"),
    (lambda x, y, imp: (imp * (x - y) ** 2).mean(), "sum over instances"),
    (lambda x, y, imp: ((imp * x - y) ** 2).mean((0, 2)).sum(), "Importance multiplies the input"),
    (lambda x, y, imp: ((imp * (x - y)) ** 2).mean((0, 2)).sum(), "Importance is squared"),
    (lambda x, y, imp: ((x - y) ** 2).mean((0, 2)).sum(), "importance weights are missing"),
    (lambda x, y, imp: (imp * (x - y) ** 2).mean((0, 2)), "one value per instance"),
    (lambda x, y, imp: (imp * (x - y).abs()).mean((0, 2)).sum(), "absolute error"),
    (lambda x, y, imp: "loss", "returns a str: return a torch tensor"),
    (lambda x, y, imp: float((imp * (x - y) ** 2).mean((0, 2)).sum()), "returns a Python float"),
])
def test_loss_names_the_mistake(fn, named, capsys):
    assert nb01.check_loss(fn) is False
    assert named in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- the measures

def superposition_vectorised(W):
    U = W / W.norm(dim=-1, keepdim=True)
    overlap = (U @ W.transpose(-1, -2)) ** 2
    return overlap.sum(-1) - overlap.diagonal(dim1=-2, dim2=-1)


def superposition_loop(W):
    K, n, _ = W.shape
    out = torch.zeros(K, n)
    for k in range(K):
        for i in range(n):
            u = W[k, i] / W[k, i].norm()
            out[k, i] = sum(float(u @ W[k, j]) ** 2 for j in range(n) if j != i)
    return out


@pytest.mark.parametrize("fn", [superposition_vectorised, superposition_loop])
def test_superposition_accepts_right_implementations(fn):
    assert nb02.check_superposition(fn) is True


def _unit(W):
    return W / W.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("fn, named", [
    (lambda W: superposition_vectorised(_unit(W)), "cosines"),
    (lambda W: ((_unit(W) @ W.transpose(-1, -2)) ** 2).sum(-1), "includes j = i"),
    (lambda W: (_unit(W) @ W.transpose(-1, -2)).sum(-1) - W.norm(dim=-1), "not squared"),
    (lambda W: ((W @ W.transpose(-1, -2)) ** 2).sum(-1) - W.norm(dim=-1) ** 4, "not normalised"),
    (lambda W: ((W @ _unit(W).transpose(-1, -2)) ** 2).sum(-1) - W.norm(dim=-1) ** 2, "normalised W_j instead"),
    (lambda W: W.norm(dim=-1), "sum_{j != i}"),
    (lambda W: W.sum(-1)[None], "should return shape"),
])
def test_superposition_names_the_mistake(fn, named, capsys):
    assert nb02.check_superposition(fn) is False
    assert named in capsys.readouterr().out


def dimensionality_vectorised(W):
    return (W**2).sum(-1) / ((_unit(W) @ W.transpose(-1, -2)) ** 2).sum(-1)


def dimensionality_einsum(W):
    proj = torch.einsum("kim,kjm->kij", _unit(W), W)
    return torch.einsum("kim,kim->ki", W, W) / proj.pow(2).sum(-1)


@pytest.mark.parametrize("fn", [dimensionality_vectorised, dimensionality_einsum])
def test_feature_dimensionality_accepts_right_implementations(fn):
    assert nb04.check_feature_dimensionality(fn) is True


@pytest.mark.parametrize("fn, named", [
    (lambda W: (W**2).sum(-1) / superposition_vectorised(W), "leaves out j = i"),
    (lambda W: (W**2).sum(-1) / ((_unit(W) @ _unit(W).transpose(-1, -2)) ** 2).sum(-1), "uses cosines"),
    (lambda W: W.norm(dim=-1) / ((_unit(W) @ W.transpose(-1, -2)) ** 2).sum(-1), "squared norm"),
    (lambda W: 1 / dimensionality_vectorised(W), "Upside down"),
    (lambda W: (W.shape[-1] / (W**2).sum((-1, -2)))[:, None].expand(-1, W.shape[1]), "That is D*"),
    (lambda W: torch.full(W.shape[:2], float("nan")), "NaN"),
    (lambda W: W[..., 0] * 0 + 0.5, "Not ||W_i||^2"),
])
def test_feature_dimensionality_names_the_mistake(fn, named, capsys):
    assert nb04.check_feature_dimensionality(fn) is False
    assert named in capsys.readouterr().out


@pytest.mark.parametrize("check", [nb01.check_generate_batch, nb01.check_forward, nb01.check_loss,
                                   nb02.check_superposition, nb04.check_feature_dimensionality,
                                   nb05.check_V, nb05.check_A, nb07.check_abs_forward])
def test_unanswered_and_non_functions_never_raise(check, capsys):
    assert check(...) is False
    assert "Not answered yet" in capsys.readouterr().out
    assert check(42) is False
    assert "Write a function" in capsys.readouterr().out


# ------------------------------------------------------------------------------------- 01: the training loop


def train_5_to_2(generate_batch=batch_uniform_threshold, density=0.05, steps=2000, seed=0):
    """The exercise's worked answer: plain torch, autograd, AdamW, the learner's three functions."""
    torch.manual_seed(seed)
    W = torch.nn.Parameter(0.5 * torch.randn(1, 5, 2))
    b = torch.nn.Parameter(torch.zeros(1, 5))
    importance = 0.9 ** torch.arange(5.0)
    opt = torch.optim.AdamW([W, b], lr=1e-2)
    for _ in range(steps):
        x = generate_batch(1024, 5, torch.tensor([density]))
        loss = loss_vectorised(x, forward_einsum(x, W, b), importance)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return W.detach()


def pentagon(radius=1.1, offset=10.0):
    angles = torch.deg2rad(offset + 72.0 * torch.arange(5.0))
    return radius * torch.stack([angles.cos(), angles.sin()], 1)


def test_a_plain_torch_loop_with_the_learners_functions_finds_the_pentagon(capsys):
    W = train_5_to_2()
    assert nb01.check_trained_pentagon(W) is True
    assert "72 degrees" in capsys.readouterr().out
    assert nb01.plot_beside_library(W, pentagon()[None]) is not None


def test_the_loop_on_dense_features_finds_the_dense_solution_the_hidden_answer_describes(capsys):
    """Notebook 01, section 8's "Try" (p = 1 instead of 0.05, the loop as shipped): two features at right angles,
    norm about 1, the other three fading; the check calls it the dense solution."""
    W = train_5_to_2(density=1.0)[0]
    norms = W.norm(dim=1)
    assert ((norms[:2] - 1).abs() < 0.05).all() and (norms[2:] < 0.1).all()
    assert abs(float(W[0] @ W[1] / (norms[0] * norms[1]))) < 0.05
    assert nb01.check_trained_pentagon(W) is False
    assert "dense solution" in capsys.readouterr().out


@pytest.mark.parametrize("W, named", [
    (lambda: pentagon(0.01), "hardly moved"),
    (lambda: train_5_to_2(density=1.0, steps=400), "dense solution"),
    (lambda: torch.cat([pentagon()[:1], -pentagon()[:1], torch.tensor([[0.0, 1.0], [0.0, -1.0], [0.01, 0.0]])]),
     "local minimum"),
    (lambda: torch.cat([pentagon()[:3], torch.zeros(2, 2)]), "3 of 5"),
    (lambda: torch.stack([torch.deg2rad(torch.tensor([0.0, 60, 130, 200, 290])).cos(),
                          torch.deg2rad(torch.tensor([0.0, 60, 130, 200, 290])).sin()], 1), "not evenly spaced"),
    (lambda: torch.zeros(5, 3), "shape [5, 2]"),
    (lambda: None, "Nothing trained yet"),
])
def test_the_trained_pentagon_check_names_the_mistake(W, named, capsys):
    assert nb01.check_trained_pentagon(W()) is False
    assert named in capsys.readouterr().out


def test_the_trained_pentagon_check_takes_the_layouts_a_learner_returns(capsys):
    P = pentagon()
    for W in (P, P[None], (P[None], torch.zeros(1, 5)), torch.nn.Parameter(P[None])):
        assert nb01.check_trained_pentagon(W) is True
    assert nb01.plot_beside_library(None, P[None]) is None


# --------------------------------------------------------------------------------------- 05: V(p) and A(p)


def V_by_hand(density):
    return density / 3 - density**2 / 4


def V_by_sampling(density):
    x = torch.rand(400_000) * (torch.rand(400_000) < density)
    return float(((x - x.mean()) ** 2).mean())


def A_by_hand(density):
    return density**2 / 6


def A_by_sampling(density):
    x0, x1 = (torch.rand(2, 400_000) * (torch.rand(2, 400_000) < density)).double()
    return np.mean(((x0 - torch.relu(x0 - x1)) ** 2).numpy())  # a numpy scalar: still one number


@pytest.mark.parametrize("fn", [V_by_hand, V_by_sampling, lambda p: torch.tensor(p / 3 - p * p / 4)])
def test_V_accepts_a_closed_form_or_a_sampler(fn, capsys):
    assert nb05.check_V(fn) is True, capsys.readouterr().out


@pytest.mark.parametrize("fn", [A_by_hand, A_by_sampling])
def test_A_accepts_a_closed_form_or_a_sampler(fn, capsys):
    assert nb05.check_A(fn) is True, capsys.readouterr().out


@pytest.mark.parametrize("fn, named", [
    (lambda p: p / 3, "E[x^2]"),
    (lambda p: p / 12, "p Var(U)"),
    (lambda p: p / 3 - p / 4, "E[x]^2 written p/4"),
    (lambda p: V_by_hand(1 - p), "swapped"),
    (lambda p: 1 / 0, "ZeroDivisionError"),
    (lambda p: [p, p], "one number"),
    (lambda p: p, "V(0.02) = 0.02"),
])
def test_V_names_the_mistake(fn, named, capsys):
    assert nb05.check_V(fn) is False
    assert named in capsys.readouterr().out


@pytest.mark.parametrize("fn, named", [
    (lambda p: p / 6, "BOTH features active"),
    (lambda p: p**2 / 12, "EACH is off"),
    (lambda p: p**2 / 4, "1/6, not 1/4"),
    (lambda p: p**2 / 3, "not x_0 itself"),
    (lambda p: (1 - p) ** 2 / 6, "swapped"),
    (lambda p: torch.ones(3) * p, "one number"),
])
def test_A_names_the_mistake(fn, named, capsys):
    assert nb05.check_A(fn) is False
    assert named in capsys.readouterr().out


# ---------------------------------------------------------------------------------------- 07: the |x| model


def abs_forward_einsum(x, W1, W2, b):
    h = torch.relu(torch.einsum("bkn,knm->bkm", x, W1))
    return torch.relu(torch.einsum("bkm,knm->bkn", h, W2) + b)


def abs_forward_matmul(x, W1, W2, b):  # instance-first matmuls: the same maths
    h = torch.relu(x.transpose(0, 1) @ W1)  # [K, B, m]
    return torch.relu(h @ W2.transpose(1, 2) + b[:, None, :]).transpose(0, 1)


def test_abs_forward_is_the_library_model(capsys):
    from toymodel.computation import AbsValueModel

    model = AbsValueModel(6, 4, 2, seed=1)
    x = torch.rand(8, 2, 6) * 2 - 1
    with torch.no_grad():
        model.b.normal_()
        assert torch.allclose(abs_forward_einsum(x, model.W1, model.W2, model.b), model(x))


@pytest.mark.parametrize("fn", [abs_forward_einsum, abs_forward_matmul])
def test_abs_forward_accepts_right_implementations(fn, capsys):
    assert nb07.check_abs_forward(fn) is True, capsys.readouterr().out


@pytest.mark.parametrize("fn, named", [
    (lambda x, W1, W2, b: x.abs(), "|x| itself"),
    (lambda x, W1, W2, b: torch.relu(torch.einsum("bkm,knm->bkn", torch.einsum("bkn,knm->bkm", x, W1), W2) + b),
     "hidden ReLU is missing"),
    (lambda x, W1, W2, b: abs_forward_einsum(x, W1, W2, b * 0), "bias b is missing"),
    (lambda x, W1, W2, b: abs_forward_einsum(x, W1, W2, b * 0) + b, "after the output ReLU"),
    (lambda x, W1, W2, b: abs_forward_einsum(x, W1, W1, b), "uses W1"),
    (lambda x, W1, W2, b: torch.einsum("bkn,knm->bkm", x, W1), "shape"),
    (lambda x, W1, W2, b: abs_forward_einsum(x, W1, W2, b) * 2, "Not ReLU(W2 ReLU(W1 x) + b)"),
])
def test_abs_forward_names_the_mistake(fn, named, capsys):
    assert nb07.check_abs_forward(fn) is False
    assert named in capsys.readouterr().out
