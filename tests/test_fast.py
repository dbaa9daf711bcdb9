"""The fast path (toymodel/fast.py) against the reference loop (train.train_reference): one step gives autograd's
gradient and torch.optim.AdamW's update, and a whole run from the same seed gives the same weights."""

import re

import pytest
import torch

from toymodel import ToyModel, reconstruction_loss, train_toy_model
from toymodel.fast import AdamW, loss_and_grads

KINDS = ["relu_output", "linear", "relu_hidden"]


@pytest.mark.parametrize("kind", KINDS)
def test_one_fast_step_is_one_autograd_step_of_the_model_and_its_loss(kind):
    """loss_and_grads in the fast layout [K, n, B] = autograd through ToyModel.forward and reconstruction_loss in
    the model's layout [B, K, n]; then one AdamW step of each lands on the same weights."""
    model = ToyModel(6, 2, 3, kind=kind, seed=0, dtype=torch.float64)
    with torch.no_grad():
        model.b.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(2)
    x = torch.rand(32, 3, 6, generator=g, dtype=torch.float64) * (torch.rand(32, 3, 6, generator=g) < 0.5)
    imp = torch.rand(3, 6, generator=g, dtype=torch.float64)
    per = reconstruction_loss(x, model(x), imp, per_instance=True)
    per.sum().backward()
    W, b = model.W.detach().clone(), model.b.detach().clone()
    loss, dW, db = loss_and_grads(W, b, x.permute(1, 2, 0).contiguous(), imp, kind)
    assert torch.allclose(loss, per.detach(), rtol=1e-12, atol=0)
    assert torch.allclose(dW, model.W.grad, rtol=1e-10, atol=1e-14)
    assert torch.allclose(db, model.b.grad, rtol=1e-10, atol=1e-14)
    torch.optim.AdamW(model.parameters(), lr=3e-2, weight_decay=0.01).step()
    AdamW([W, b], weight_decay=0.01).step([dW, db], 3e-2)
    assert torch.allclose(W, model.W.detach(), rtol=0, atol=1e-14)
    assert torch.allclose(b, model.b.detach(), rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_loss_and_grads_gives_the_same_gradient_with_or_without_the_loss(kind):
    """The fast path skips the loss at steps that are not logged: the gradient must not change (bit for bit)."""
    g = torch.Generator().manual_seed(3)
    W, b = torch.randn(4, 5, 2, generator=g), 0.1 * torch.randn(4, 5, generator=g)
    x = torch.rand(4, 5, 64, generator=g)
    loss, dW, db = loss_and_grads(W, b, x, None, kind, need_loss=True)
    no_loss, dW2, db2 = loss_and_grads(W, b, x, None, kind, need_loss=False)
    assert loss is not None and no_loss is None
    assert torch.equal(dW, dW2) and torch.equal(db, db2)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_and_reference_loops_train_the_same_weights_from_the_same_seed(kind):
    """float64, 300 steps, best of 2, an importance profile and two widths: the same weights to ~1e-6 (measured:
    ~3e-16), the same kept copies and the same logged losses."""
    results = {}
    for fast in (True, False):
        model = ToyModel(6, 3, 3, kind=kind, seed=0, dtype=torch.float64)
        r = train_toy_model(model, [1.0, 0.2, 0.05], 0.9 ** torch.arange(6.0), steps=300, n_seeds=2, fast=fast,
                            active_hidden=[3, 2, 3], snapshot_every=100)
        results[fast] = (model.W.detach(), model.b.detach(), r)
    (W, b, fast), (W_ref, b_ref, ref) = results[True], results[False]
    assert torch.allclose(W, W_ref, rtol=0, atol=1e-6) and torch.allclose(b, b_ref, rtol=0, atol=1e-6)
    assert torch.equal(fast.best_seed, ref.best_seed)
    assert torch.allclose(fast.loss, ref.loss, rtol=1e-9)
    assert torch.allclose(fast.history["loss"], ref.history["loss"], rtol=1e-9)
    assert torch.allclose(fast.snapshots["W"], ref.snapshots["W"], rtol=0, atol=1e-6)
    assert W_ref[1, :, 2].abs().max() == 0  # the width-2 instance never used its third dimension, in either loop


def test_the_reference_loop_is_autograd_with_torch_optim_adamw(monkeypatch):
    """fast=False really runs torch.optim.AdamW over autograd (and fast=True does not)."""
    made = []
    real = torch.optim.AdamW

    def spy(*args, **kwargs):
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", spy)
    train_toy_model(ToyModel(5, 2), 0.1, steps=5)
    assert made == []
    train_toy_model(ToyModel(5, 2), 0.1, steps=5, fast=False, lr=1e-2)
    assert made == [{"lr": 1e-2, "weight_decay": 0.01}]


def test_reconstruction_loss_is_the_papers_formula():
    g = torch.Generator().manual_seed(4)
    x, x_hat = torch.rand(7, 3, 4, generator=g), torch.rand(7, 3, 4, generator=g)
    imp = torch.tensor([1.0, 0.5, 0.25, 0.0])
    per = torch.stack([(imp * (x[:, k] - x_hat[:, k]) ** 2).mean() for k in range(3)])  # mean over batch, features
    assert torch.allclose(reconstruction_loss(x, x_hat, imp, per_instance=True), per)
    assert torch.allclose(reconstruction_loss(x, x_hat, imp), per.sum())  # summed over instances
    assert reconstruction_loss(x, x, imp) == 0


@pytest.mark.parametrize("x_hat, says", [
    (torch.zeros(7, 3, 5), "got (7, 3, 4) and (7, 3, 5)"),  # one feature too many
    (torch.zeros(7, 4), "got (7, 3, 4) and (7, 4)"),  # no instance axis
    (torch.zeros(7, 3, 4).numpy(), "x_hat must be a torch.Tensor"),
])
def test_reconstruction_loss_names_a_wrong_input(x_hat, says):
    with pytest.raises((ValueError, TypeError), match=re.escape(says)):
        reconstruction_loss(torch.zeros(7, 3, 4), x_hat, torch.ones(4))
@pytest.mark.parametrize("kind", ["relu_output", "linear", "relu_hidden"])
def test_analytic_gradient_matches_autograd(kind):
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 6, 2, generator=g, dtype=torch.float64, requires_grad=True)
    b = (0.1 * torch.randn(3, 6, generator=g, dtype=torch.float64)).requires_grad_()
    x = torch.rand(3, 6, 32, generator=g, dtype=torch.float64)  # feature-major layout [K, n, B]
    imp = torch.rand(3, 6, generator=g, dtype=torch.float64)
    h = W.transpose(1, 2) @ x
    h = h.relu() if kind == "relu_hidden" else h
    y = W @ h + b[:, :, None]
    out = y if kind == "linear" else y.relu()
    loss = (imp[:, :, None] * (out - x) ** 2).mean((1, 2))
    loss.sum().backward()
    ours, dW, db = loss_and_grads(W.detach(), b.detach(), x, imp, kind)
    assert torch.allclose(ours, loss.detach(), atol=1e-12)
    assert torch.allclose(dW, W.grad, atol=1e-12)
    assert torch.allclose(db, b.grad, atol=1e-12)


def test_adamw_matches_torch_optim_adamw():
    g = torch.Generator().manual_seed(1)
    p_ours, p_torch = torch.randn(4, 3, generator=g), None
    p_torch = torch.nn.Parameter(p_ours.clone())
    ours = AdamW([p_ours], weight_decay=0.01)
    ref = torch.optim.AdamW([p_torch], lr=1e-2, weight_decay=0.01)
    for _ in range(20):
        grad = torch.randn(4, 3, generator=g)
        ours.step([grad], 1e-2)
        p_torch.grad = grad.clone()
        ref.step()
    assert torch.allclose(p_ours, p_torch.detach(), atol=1e-6)




def _big_allocations(train, steps: int, n_bytes: int) -> int:
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        train(steps)
    return sum(1 for e in prof.events() if e.name in ("aten::empty", "aten::empty_strided")
               and e.cpu_memory_usage >= n_bytes)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_fast_training_step_allocates_no_batch_sized_tensor(dtype):
    """Every step reuses its buffers (Workspace, the streams): more steps, no more batch-sized allocations.  A
    per-step one (e.g. a float32 draw cast to float64, a mask cast to the batch's dtype) made glibc keep freed
    memory, and notebook 07's kernel peaked at 0.5-1 GB instead of ~0.4 GB at random."""
    from toymodel import AbsValueModel, train_abs_model
    rows, n, batch = 4, 20, 1024
    n_bytes = rows * n * batch * torch.finfo(dtype).bits // 8 // 2  # half a batch buffer: masks and casts too
    toy = lambda steps: train_toy_model(ToyModel(n, 3, 2, seed=0, dtype=dtype), 0.1, steps=steps, n_seeds=2)  # noqa: E731
    abs_ = lambda steps: train_abs_model(AbsValueModel(n, 6, 2, seed=0, dtype=dtype), 0.1, steps=steps,  # noqa: E731
                                         n_seeds=2)
    for train in (toy, abs_):
        assert _big_allocations(train, 40, n_bytes) == _big_allocations(train, 10, n_bytes)
