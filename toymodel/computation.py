"""Computation in superposition: the paper's absolute-value model, batched, with its trainer.

Data: each feature x_i is 0 with probability S (the sparsity), else uniform on [-1, 1]; density p = 1 - S.
Target y = |x|.  Model (untied weights, ReLU on the hidden layer AND on the output):

    h  = ReLU(W1 x)           W1: m x n  (stored per instance as W1 [n_features, n_hidden])
    y' = ReLU(W2 h + b)       W2: n x m  (stored per instance as W2 [n_features, n_hidden])

Both weights are stored feature-major, like ToyModel.W: W1[k, i, j] is the weight from feature i
to neuron j, W2[k, i, j] the weight from neuron j to output i.  Loss per instance:
mean over batch and features of I_i (|x_i| - y'_i)^2; importance weights the loss, never the inputs.

With one neuron per sign, |x| = ReLU(x) + ReLU(-x): 2 neurons per feature compute it exactly.
The trainer is train_toy_model's fast path (fast.fit, runs' bookkeeping) with this model's hand-derived step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from . import fast, runs
from .data import ProbabilityLike, as_density_tensor
from .model import check_input, xavier_normal
from .runs import EVAL_BATCHES, TrainResult
from .train import Recipe
from .validate import check_device, check_dtype, check_instance, check_memory, check_positive_int, check_seed

__all__ = ["NAMES", "AbsValueModel", "abs_explained", "abs_loss_and_grads", "signed_features",
           "train_abs_model", "evaluate_abs_loss"]


NAMES = ["W1", "W2", "b"]  # the parameters training trains


class AbsValueModel(nn.Module):
    """A batch of independent absolute-value models, y' = ReLU(W2 ReLU(W1 x) + b).

    Args:
        n_features: n, inputs (and outputs).
        n_hidden: m, the neurons.
        n_instances: independent models trained side by side.
        seed: seeds the xavier-normal initialisation of W1 and W2 (None: torch's global RNG).
        device, dtype: as for ToyModel (float64 makes a chaotic run the same on every CPU).

    Attributes (feature-major, like ToyModel.W):
        W1: [n_instances, n_features, n_hidden]  feature i -> neuron j
        W2: [n_instances, n_features, n_hidden]  neuron j -> output i
        b:  [n_instances, n_features]
    """

    kind = "abs"

    def __init__(self, n_features: int, n_hidden: int, n_instances: int = 1, *, seed: int | None = 0,
                 device: torch.device | str | None = None, dtype: torch.dtype | str | None = None) -> None:
        super().__init__()
        check_positive_int("n_features", n_features)
        check_positive_int("n_hidden", n_hidden)
        check_positive_int("n_instances", n_instances)
        self.n_features, self.n_hidden, self.n_instances = n_features, n_hidden, n_instances
        device, dtype = check_device(device), check_dtype(dtype)
        check_memory(3 * 8.0 * n_instances * n_features * n_hidden,
                     f"n_instances={n_instances} x n_features={n_features} x n_hidden={n_hidden}")
        g = torch.Generator(device=device).manual_seed(check_seed(seed)) if seed is not None else None
        self.W1 = nn.Parameter(xavier_normal(n_instances, n_features, n_hidden, g, device).to(dtype))
        self.W2 = nn.Parameter(xavier_normal(n_instances, n_features, n_hidden, g, device).to(dtype))
        self.b = nn.Parameter(torch.zeros((n_instances, n_features), device=device, dtype=dtype))

    @property
    def device(self) -> torch.device:
        return self.W1.device

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h = ReLU(W1 x): [batch, n_instances, n_features] -> [batch, n_instances, n_hidden]."""
        return torch.relu(torch.einsum("bkn,knm->bkm", x, self.W1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """y' for x of shape [batch, n_instances, n_features]; returns the same shape."""
        check_input(x, self)
        return torch.relu(torch.einsum("bkm,knm->bkn", self.hidden(x), self.W2) + self.b)

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, n_hidden={self.n_hidden}, n_instances={self.n_instances}"


def signed_features(batch_size: int, n_features: int, density: ProbabilityLike, n_instances: int = 1,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Sparse signed features, [batch_size, n_instances, n_features]: 0 with probability 1 - p, else uniform on [-1, 1).

    One uniform draw u per entry: kept iff u < p, and then 2 u / p - 1 is uniform on [-1, 1).
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("n_features", n_features)
    check_positive_int("n_instances", n_instances)
    p = as_density_tensor("density", density, n_instances, n_features)
    check_memory(12.0 * batch_size * n_instances * n_features,
                 f"batch_size={batch_size} x n_instances={n_instances} x n_features={n_features}")
    u = torch.rand((batch_size, n_instances, n_features), generator=generator, dtype=torch.float32)
    return torch.where(u < p, 2.0 * u / p.clamp(min=1e-30) - 1.0, torch.zeros((), dtype=torch.float32))


def _signed(v: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """FeatureStream's batch v (0, or u / p uniform on [0, 1) where kept) -> 0, or 2 v - 1 on [-1, 1)."""
    torch.mul(v, 2.0, out=out).sub_(1.0)  # -1 exactly where dropped (v = 0), above -1 where kept
    return torch.nn.functional.threshold_(out, -1.0, 0.0)  # in place: no mask allocated every step


def abs_loss_and_grads(
    W1: torch.Tensor, W2: torch.Tensor, b: torch.Tensor, x: torch.Tensor, importance: torch.Tensor | None,
    need_loss: bool = True, need_grads: bool = True, ws: fast.Workspace | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """Loss per instance and its analytic gradient, in the feature-major layout (as fast.loss_and_grads).

    W1, W2: [K, n, m], b: [K, n], x: [K, n, B] signed inputs, importance: [K, n] or None (all ones).
    Returns loss [K] (None unless need_loss), dL/dW1 [K, n, m], dL/dW2 [K, n, m], dL/db [K, n] (None unless
    need_grads), where L = sum_k loss_k.

    Forward: h_pre = W1^T x, h = ReLU(h_pre), y = W2 h + b, y' = ReLU(y), err = y' - |x|.
    Backward: dy = 2 I err / (B n) * [y > 0];  db = sum_b dy;  dW2 = dy h^T;
              dh = W2^T dy * [h_pre > 0];  dW1 = x dh^T.
    """
    ws = ws if ws is not None else fast.Workspace()
    K, n, B = x.shape
    hidden_shape = (K, W1.shape[2], B)
    h_pre = torch.bmm(W1.transpose(1, 2), x, out=ws("h_pre", hidden_shape, x))
    h = torch.clamp_min(h_pre, 0.0, out=ws("h", hidden_shape, x))
    y = torch.baddbmm(b[:, :, None], W2, h, out=ws("y", x.shape, x))
    target = torch.abs(x, out=ws("abs", x.shape, x))
    err = ws("err", x.shape, x)
    if need_loss:
        torch.clamp_min(y, 0.0, out=err).sub_(target)
    else:  # where y > 0 (all the gradient sees) y' - |x| = y - |x|
        torch.sub(y, target, out=err)
    scale = 2.0 / (B * n)
    dy = torch.mul(err, scale if importance is None else importance[:, :, None] * scale, out=ws("dy", x.shape, x))
    loss = torch.mul(dy, err, out=ws("tmp", x.shape, x)).sum((1, 2)).mul_(0.5) if need_loss else None
    if not need_grads:
        return loss, None, None, None
    dy = torch.ops.aten.threshold_backward.grad_input(dy, y, 0.0, grad_input=ws("tmp", x.shape, x))
    db = dy.sum(2)
    dW2 = torch.bmm(dy, h.transpose(1, 2))
    dh = torch.bmm(W2.transpose(1, 2), dy, out=ws("dh", hidden_shape, x))
    dh = torch.ops.aten.threshold_backward.grad_input(dh, h_pre, 0.0, grad_input=ws("h", hidden_shape, x))
    dW1 = torch.bmm(x, dh.transpose(1, 2))
    return loss, dW1, dW2, db


def _stream(p: torch.Tensor, recipe: Recipe, seed: int, dtype: torch.dtype) -> Callable[[], torch.Tensor]:
    """next(): batches of signed features in the training layout [n_seeds * K, n, batch_size]."""
    unsigned = fast.stream(p, recipe, seed, dtype)
    x = torch.empty((recipe.n_seeds * p.shape[0], p.shape[1], recipe.batch_size), device=p.device, dtype=dtype)
    return lambda: _signed(unsigned(), x)


def _loss_fn(importance: torch.Tensor | None) -> fast.LossFn:
    def loss_fn(P: list[torch.Tensor], x: torch.Tensor, need_loss: bool, need_grads: bool, ws: fast.Workspace):
        loss, *grads = abs_loss_and_grads(P[0], P[1], P[2], x, importance, need_loss, need_grads, ws)
        return loss, (grads if need_grads else None)
    return loss_fn


def train_abs_model(model: AbsValueModel, density: ProbabilityLike, importance: ProbabilityLike = 1.0, *,
                    recipe: Recipe | None = None, **keywords: Any) -> TrainResult:
    """Train every instance of an AbsValueModel in place to output |x|; return a TrainResult.

    The recipe (train.Recipe, or its fields as keywords), the defaults and the loop are train_toy_model's fast
    path (AdamW, warmup + cosine decay, best-of-k over n_seeds copies in one batch; copy 0 starts from the
    model's weights).  density is p = 1 - S (scalar, [n_instances] or [n_instances, n_features]); importance I
    weights each feature's squared error.  Snapshots hold "W1", "W2" and "b".
    """
    r = Recipe.of("train_abs_model", recipe, **keywords)
    runs.check_parameters(model, AbsValueModel, NAMES)
    K, n, m, dev, dtype = model.n_instances, model.n_features, model.n_hidden, model.device, model.W1.dtype
    p = as_density_tensor("density", density, K, n, dev)
    imp = runs.check_importance(importance, K, n, dev).to(dtype)
    runs.plan_memory(r, K, 2 * n * m + n, 8 * n + 4 * m)
    data_seed, init_seed, eval_seed = runs.derived_seeds(r.seed)
    k = r.n_seeds
    with torch.no_grad():  # all copies, seed-major: row j * K + i is copy j of instance i
        W1, W2 = model.W1.detach().clone(), model.W2.detach().clone()
        if k > 1:
            g = torch.Generator(device=dev).manual_seed(init_seed)
            W1 = torch.cat([W1, xavier_normal((k - 1) * K, n, m, g, dev).to(dtype)])
            W2 = torch.cat([W2, xavier_normal((k - 1) * K, n, m, g, dev).to(dtype)])
        b = model.b.detach().repeat(k, 1)
    imp_arg = None if bool((imp == 1).all()) else imp.repeat(k, 1)
    log = runs.TrainingLog(r, NAMES)
    with runs.torch_threads(r.threads, dev):
        final = fast.fit([W1, W2, b], _loss_fn(imp_arg), _stream(p, r, data_seed, dtype),
                         _stream(p, r, eval_seed, dtype), r, log)
    return runs.keep_best(model, [W1, W2, b], final, log)


def evaluate_abs_loss(model: AbsValueModel, density: ProbabilityLike, importance: ProbabilityLike = 1.0,
                      *, batch_size: int = 1024, seed: int = 0) -> torch.Tensor:
    """The model's loss per instance, [n_instances], on EVAL_BATCHES fresh batches (no training)."""
    runs.check_parameters(model, AbsValueModel, NAMES)
    r = Recipe(batch_size=batch_size, seed=seed)
    K, n, dev, dtype = model.n_instances, model.n_features, model.device, model.W1.dtype
    p = as_density_tensor("density", density, K, n, dev)
    imp = runs.check_importance(importance, K, n, dev).to(dtype)
    runs.plan_memory(r, K, 0, 8 * n + 4 * model.n_hidden)
    params = [model.W1.detach(), model.W2.detach(), model.b.detach()]
    batches = _stream(p, r, runs.derived_seeds(r.seed)[2], dtype)
    with runs.torch_threads(1, dev):  # one thread, as in training: the same digits on any core count
        return fast.evaluate(params, _loss_fn(imp), batches, EVAL_BATCHES).cpu()


def abs_explained(model: AbsValueModel, density: ProbabilityLike, *, batch_size: int = 8192,
                  seed: int = 0) -> torch.Tensor:
    """How well each output computes its feature's absolute value, [n_instances, n_features]:

        explained_i = 1 - E[(y'_i - |x_i|)^2] / Var(|x_i|)

    on batch_size fresh inputs at density p (a scalar, or one per instance, e.g. a
    sweep's densities).  1: output i is exactly |x_i|; 0: no better than the best constant (what a model that
    drops feature i can do with its bias); below 0: worse (interference).  Computed in chunks of 1024 samples.
    """
    check_instance("model", model, AbsValueModel)
    check_positive_int("batch_size", batch_size)
    K, n = model.n_instances, model.n_features
    p = as_density_tensor("density", density, K, n)
    g = torch.Generator().manual_seed(check_seed(seed))
    err, s1, s2 = (torch.zeros(K, n, dtype=torch.float32) for _ in range(3))
    with torch.no_grad(), runs.torch_threads(1, model.device):
        for start in range(0, batch_size, 1024):
            x = signed_features(min(1024, batch_size - start), n, p, K, generator=g)
            a = x.abs()
            err += ((model(x.to(model.device, model.W1.dtype)).float().cpu() - a) ** 2).sum(0)
            s1 += a.sum(0)
            s2 += (a**2).sum(0)
    var = s2 / batch_size - (s1 / batch_size) ** 2
    return 1.0 - (err / batch_size) / var.clamp(min=1e-12)
