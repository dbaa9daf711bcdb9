"""The fast path: train.train_reference's loop with the gradient and the AdamW update written by hand.

For models this small a step's time goes to framework overhead and memory traffic, not flops, so:

- the batch is laid out feature-major, [rows, n_features, batch] (rows: every best-of-k copy of every instance),
  where the batched matmuls run ~10x faster than on [batch, rows, n_features];
- the forward pass and its analytic gradient are five batched matmuls and a few elementwise passes, with no
  autograd graph, and the loss is computed only at the steps that are logged;
- AdamW is five in-place operations per tensor (torch.optim.AdamW's update, without its bookkeeping);
- the step's buffers are allocated once (Workspace) and the data stream reuses one (stream).

tests/test_fast.py checks it against the reference: one step gives autograd's gradient, and a run from the same
seed gives the same weights (float64).  benchmarks/bench_train.py measures the speed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import math
from typing import Any

import torch

from .data import FeatureStream
from .runs import EVAL_BATCHES, TrainingLog

__all__ = ["BETAS", "EPS", "AdamW", "LossFn", "Workspace", "evaluate", "fit", "loss_and_grads", "sparse_into",
           "stream", "toy_loss_fn", "train_fast"]

BETAS = (0.9, 0.999)  # torch.optim.AdamW's defaults, as the reference loop uses them
EPS = 1e-8

# loss_fn(params, x, need_loss, need_grads, workspace) -> (loss [rows] or None, gradients like params or None)
LossFn = Callable[[list[torch.Tensor], torch.Tensor, bool, bool, "Workspace"],
                  tuple[torch.Tensor | None, list[torch.Tensor] | None]]


class Workspace:
    """Step-sized buffers, reused from one step to the next, so that a step allocates no large tensor.

    Without them every step frees and re-allocates a dozen [rows, n, batch] tensors, and glibc, at random from one
    run to the next, hands the memory back to the OS and page-faults it in again: whole runs took 2x longer.
    """

    def __init__(self) -> None:
        self.buffers: dict[str, torch.Tensor] = {}

    def __call__(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        buf = self.buffers.get(name)
        if buf is None or buf.shape != shape or buf.device != like.device or buf.dtype != like.dtype:
            buf = self.buffers[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buf


def sparse_into(u: torch.Tensor, neg_inv_p: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """data.sparse into a buffer: u uniform, neg_inv_p = -1/p broadcastable to out.  Multiply, threshold, negate:
    the three fastest CPU kernels for it (-u/p > -1 keeps u/p < 1; the -0 of a dropped entry becomes +0)."""
    torch.mul(u, neg_inv_p, out=out)
    return torch.nn.functional.threshold_(out, -1.0, -0.0).neg_()


def stream(p: torch.Tensor, recipe: Any, seed: int, dtype: torch.dtype) -> Callable[[], torch.Tensor]:
    """next(): batches of data.FeatureStream(p, recipe.batch_size, seed) for every copy, in the training layout
    [recipe.n_seeds * n_instances, n_features, batch_size] (row j K + i: copy j of instance i), in one buffer."""
    data = FeatureStream(p, recipe.batch_size, seed, dtype)
    neg_inv_p = (-data.inv_p).repeat(recipe.n_seeds, 1)[:, :, None]  # [rows, n, 1]
    out = torch.empty((neg_inv_p.shape[0], *data.shape), device=p.device, dtype=dtype)
    if dtype == torch.float32:
        return lambda: sparse_into(data.uniforms()[None], neg_inv_p, out)
    u = torch.empty(data.shape, device=p.device, dtype=dtype)  # float32 draws, cast into a buffer: a step
    return lambda: sparse_into(u.copy_(data.uniforms())[None], neg_inv_p, out)  # allocates no tensor


def loss_and_grads(
    W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, importance: torch.Tensor | None, kind: str,
    need_loss: bool = True, need_grads: bool = True, ws: Workspace | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """Loss per row and its gradient, by hand.  W: [K, n, m], b: [K, n], x: [K, n, B], importance: [K, n] or None
    (all ones).  Returns loss [K] (None unless need_loss), dL/dW [K, n, m], dL/db [K, n] (None unless need_grads),
    where L = sum_k loss_k and loss_k = mean over b, i of I_ki (x'_kib - x_kib)^2 (model.reconstruction_loss).

    Forward: h = W^T x (ReLU'd for relu_hidden), y = W h + b, x' = ReLU(y) (or y for linear).
    Backward: dy = 2 I (x' - x) / (B n) * [y > 0];  db = sum_b dy;  dW = dy h^T + x (W^T dy * [h > 0])^T.
    Where y > 0, x' - x = y - x: the gradient needs no ReLU of y, only the loss does.
    """
    ws = ws if ws is not None else Workspace()
    K, n, B = x.shape
    hidden_shape = (K, W.shape[2], B)
    Wt = W.transpose(1, 2)
    h_pre = torch.bmm(Wt, x, out=ws("h_pre", hidden_shape, x))
    h = torch.clamp_min(h_pre, 0.0, out=ws("h", hidden_shape, x)) if kind == "relu_hidden" else h_pre
    y = torch.baddbmm(b[:, :, None], W, h, out=ws("y", x.shape, x))
    err = ws("err", x.shape, x)
    if kind == "linear" or not need_loss:
        torch.sub(y, x, out=err)
    else:
        torch.clamp_min(y, 0.0, out=err).sub_(x)
    scale = 2.0 / (B * n)
    dy = torch.mul(err, scale if importance is None else importance[:, :, None] * scale, out=ws("dy", x.shape, x))
    loss = torch.mul(dy, err, out=ws("tmp", x.shape, x)).sum((1, 2)).mul_(0.5) if need_loss else None
    if not need_grads:
        return loss, None, None
    if kind != "linear":  # dy * [y > 0], with the ReLU's own backward kernel (the fastest)
        dy = torch.ops.aten.threshold_backward.grad_input(dy, y, 0.0, grad_input=ws("tmp", x.shape, x))
    db = dy.sum(2)
    dW = torch.bmm(dy, h.transpose(1, 2))
    dh = torch.bmm(Wt, dy, out=ws("dh", hidden_shape, x))
    if kind == "relu_hidden":
        dh = torch.ops.aten.threshold_backward.grad_input(dh, h_pre, 0.0, grad_input=ws("h", hidden_shape, x))
    dW.baddbmm_(x, dh.transpose(1, 2))
    return loss, dW, db


def train_fast(kind: str, W: torch.Tensor, b: torch.Tensor, p: torch.Tensor, imp: torch.Tensor, recipe: Any,
               log: TrainingLog, data_seed: int, eval_seed: int) -> torch.Tensor:
    """train.train_reference's contract, on this path: the copies W [k K, n, m], b [k K, n] of a ToyModel of `kind`
    trained in place; returns each copy's final loss, [k K]."""
    return fit([W, b], toy_loss_fn(kind, imp, recipe.n_seeds), stream(p, recipe, data_seed, W.dtype),
               stream(p, recipe, eval_seed, W.dtype), recipe, log)


def toy_loss_fn(kind: str, importance: torch.Tensor, n_seeds: int) -> LossFn:
    """fit's loss_fn for a ToyModel of `kind`: importance [n_instances, n] repeated for each best-of-k copy."""
    imp = None if bool((importance == 1).all()) else importance.repeat(n_seeds, 1)

    def loss_fn(P: list[torch.Tensor], x: torch.Tensor, need_loss: bool, need_grads: bool, ws: Workspace):
        loss, dW, db = loss_and_grads(P[0], P[1], x, imp, kind, need_loss, need_grads, ws)
        return loss, (None if dW is None else [dW, db])
    return loss_fn


class AdamW:
    """torch.optim.AdamW's update on a list of tensors, in place, without its bookkeeping."""

    def __init__(self, params: list[torch.Tensor], weight_decay: float) -> None:
        self.params, self.weight_decay, self.t = params, weight_decay, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def step(self, grads: list[torch.Tensor], lr: float) -> None:
        self.t += 1
        b1, b2 = BETAS
        bc1, bc2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            p.mul_(1.0 - lr * self.weight_decay)
            m.lerp_(g, 1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = v.sqrt().div_(math.sqrt(bc2)).add_(EPS)
            p.addcdiv_(m, denom, value=-lr / bc1)


def fit(params: list[torch.Tensor], loss_fn: LossFn, next_batch: Callable[[], torch.Tensor],
        next_eval_batch: Callable[[], torch.Tensor], recipe: Any, log: TrainingLog) -> torch.Tensor:
    """train.train_reference's loop, by hand, for any model: params (every copy, [rows, ...]) trained in place for
    recipe.steps steps of AdamW at recipe.lr_at(t), the loss recorded where log.wants_loss(t).  Returns each row's
    final loss, [rows], on EVAL_BATCHES batches of next_eval_batch()."""
    opt, ws = AdamW(params, recipe.weight_decay), Workspace()
    with torch.no_grad():
        for t in range(recipe.steps):
            wants_loss = log.wants_loss(t)
            loss, grads = loss_fn(params, next_batch(), wants_loss, True, ws)
            if wants_loss:
                log.record(t, loss, params)
            opt.step(grads, recipe.lr_at(t))  # type: ignore[arg-type]
    return evaluate(params, loss_fn, next_eval_batch, EVAL_BATCHES)


def evaluate(params: Sequence[torch.Tensor], loss_fn: LossFn, next_batch: Callable[[], torch.Tensor],
             n_batches: int = EVAL_BATCHES) -> torch.Tensor:
    """Each row's loss averaged over n_batches batches, [rows] (no gradients)."""
    ws = Workspace()
    with torch.no_grad():
        return sum(loss_fn(list(params), next_batch(), True, False, ws)[0] for _ in range(n_batches)) / n_batches
