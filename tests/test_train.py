"""The training loop: gradients, optimiser, importance, best-of-k, determinism, no NaN."""

import sys
import types

import pytest
import torch

from toymodel import ToyModel, evaluate_loss, train_toy_model
from toymodel.train import _AdamW, loss_and_grads, show_progress


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
    ours = _AdamW([p_ours])
    ref = torch.optim.AdamW([p_torch], lr=1e-2, weight_decay=0.01)
    for _ in range(20):
        grad = torch.randn(4, 3, generator=g)
        ours.step([grad], 1e-2)
        p_torch.grad = grad.clone()
        ref.step()
    assert torch.allclose(p_ours, p_torch.detach(), atol=1e-6)


def test_importance_weights_the_loss_not_the_inputs():
    model = ToyModel(4, 2, seed=0)
    imp = torch.tensor([1.0, 0.0, 2.0, 0.5])
    x = torch.rand(1, 4, 1000)  # layout [K, n, B]
    with torch.no_grad():
        loss, _, _ = loss_and_grads(model.W, model.b, x, imp[None], model.kind)
        x_bkn = x.permute(2, 0, 1)
        out = model(x_bkn)  # the model sees the raw inputs
    assert loss.item() == pytest.approx((imp * (out - x_bkn) ** 2).mean().item(), rel=1e-5)
    # Only feature 1 matters: no other feature's error reaches the bias gradient.
    _, _, db = loss_and_grads(model.W.detach(), model.b.detach(), x, torch.tensor([[0.0, 1.0, 0.0, 0.0]]), "linear")
    assert db[0, [0, 2, 3]].abs().max() == 0 and db[0, 1] != 0


def test_training_reduces_loss_and_logs_history():
    model = ToyModel(5, 2, n_instances=2, seed=0)
    before = evaluate_loss(model, [1.0, 0.1])
    result = train_toy_model(model, [1.0, 0.1], steps=500, progress=False)
    assert (result.loss < 0.5 * before).all()
    assert result.history["loss"].shape == (len(result.history["step"]), 2)
    assert result.history["loss"][-1].mean() < result.history["loss"][0].mean()


def test_best_of_k_keeps_the_lowest_loss_copy():
    model = ToyModel(5, 2, n_instances=4, seed=0)
    p = [1.0, 0.3, 0.1, 0.05]
    result = train_toy_model(model, p, 0.9 ** torch.arange(5.0), steps=400, n_seeds=4, progress=False)
    assert result.seed_losses.shape == (4, 4)
    assert torch.equal(result.loss, result.seed_losses.min(0).values)
    assert torch.equal(result.best_seed, result.seed_losses.argmin(0))
    assert len(set(result.seed_losses[:, 0].tolist())) > 1  # the copies really differ
    # the weights written back are the kept copy's: re-evaluating them gives the kept loss
    again = evaluate_loss(model, p, 0.9 ** torch.arange(5.0), seed=0)
    assert torch.allclose(again, result.loss, rtol=1e-5)


def test_same_seed_same_weights_different_seed_different_weights():
    def run(seed):
        model = ToyModel(5, 2, n_instances=2, seed=0)
        train_toy_model(model, [0.5, 0.05], steps=200, seed=seed, n_seeds=2, progress=False)
        return model.W.detach()

    assert torch.equal(run(0), run(0))
    assert not torch.allclose(run(0), run(1))


@pytest.mark.parametrize(
    "p, imp",
    [(1e-4, 1.0), (1.0, 0.0), (1e-6, 1.0), ([1.0, 1e-4], [0.0, 1.0, 1e3, 0.0, 1e-6]), (0.5, 100.0)],
)
def test_no_nan_on_accepted_inputs(p, imp):
    model = ToyModel(5, 2, n_instances=2, seed=0)
    result = train_toy_model(model, p, imp, steps=50, progress=False)
    assert torch.isfinite(result.loss).all() and torch.isfinite(model.W).all()


def test_progress_decision_is_on_in_a_kernel_off_outside_and_forced_by_a_bool(monkeypatch):
    """show_progress is THE decision: progress=None means a bar only inside a Jupyter kernel; True / False force it."""
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert show_progress(None) is False  # a script, a test, the CLI: no bar
    assert show_progress(True) is True and show_progress(False) is False
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert show_progress(None) is True  # inside a kernel: a bar
    assert show_progress(False) is False and show_progress(True) is True


def test_training_draws_the_bar_that_show_progress_asks_for(monkeypatch):
    """The training loop follows the decision: a bar over every step when it says yes, none when it says no."""
    import tqdm.auto

    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    train_toy_model(ToyModel(5, 2), 0.1, steps=100)  # progress=None outside a kernel
    train_toy_model(ToyModel(5, 2), 0.1, steps=100, progress=False)
    assert bars == []
    train_toy_model(ToyModel(5, 2), 0.1, steps=100, progress=True)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    train_toy_model(ToyModel(5, 2), 0.1, steps=100)  # progress=None inside a kernel
    assert [(bar.total, bar.n, bar.closed) for bar in bars] == [(100, 100, True)] * 2


def test_threads_are_restored_and_results_do_not_depend_on_them():
    before = torch.get_num_threads()
    a, b = ToyModel(5, 2, seed=0), ToyModel(5, 2, seed=0)
    train_toy_model(a, 0.1, steps=100, progress=False)
    assert torch.get_num_threads() == before
    torch.set_num_threads(2)
    try:
        train_toy_model(b, 0.1, steps=100, progress=False)  # threads=1 inside, whatever the caller set
    finally:
        torch.set_num_threads(before)
    assert torch.equal(a.W, b.W)


def test_active_hidden_trains_narrower_models_inside_a_wide_one():
    wide = ToyModel(6, 4, n_instances=2, seed=0)
    train_toy_model(wide, 0.05, steps=300, n_seeds=2, progress=False, active_hidden=[2, 4])
    assert wide.W[0, :, 2:].abs().max() == 0  # instance 0 never used dimensions 3 and 4
    assert wide.W[1, :, 2:].abs().max() > 0.1
    with pytest.raises(ValueError, match="active_hidden must hold 2 integers in 1..n_hidden=4"):
        train_toy_model(wide, 0.05, steps=1, active_hidden=[2, 5])
