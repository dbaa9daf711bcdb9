"""Computation in superposition: the paper's absolute-value model, batched, with its trainer.

Data: each feature x_i is 0 with probability S (the sparsity), else uniform on [-1, 1]; density p = 1 - S.
Target y = |x|.  Model (untied weights, ReLU on the hidden layer AND on the output):

    h  = ReLU(W1 x)           W1: m x n  (stored per instance as W1 [n_features, n_hidden])
    y' = ReLU(W2 h + b)       W2: n x m  (stored per instance as W2 [n_features, n_hidden])

Both weights are stored feature-major, like ToyModel.W: W1[k, i, j] is the weight from feature i
to neuron j, W2[k, i, j] the weight from neuron j to output i.  Loss per instance:
mean over batch and features of I_i (|x_i| - y'_i)^2; importance weights the loss, never the inputs.

With one neuron per sign, |x| = ReLU(x) + ReLU(-x): 2 neurons per feature compute it exactly.
The trainer reuses train.py's pieces (learning-rate schedule, AdamW, buffers, feature stream, seeds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time

import torch
from torch import nn

from .data import ProbabilityLike, _check_positive_int, as_instance_feature_tensor
from .model import xavier_normal
from .train import (
    EVAL_BATCHES, FeatureStream, Workspace, _AdamW, _progress_bar, _seeds, check_data, check_recipe, lr_schedule,
    torch_threads,
)

__all__ = ["AbsValueModel", "AbsTrainResult", "abs_explained", "abs_loss_and_grads", "signed_features",
           "train_abs_model", "evaluate_abs_loss"]


class AbsValueModel(nn.Module):
    """A batch of independent absolute-value models, y' = ReLU(W2 ReLU(W1 x) + b).

    Args:
        n_features: n, inputs (and outputs).
        n_hidden: m, the neurons.
        n_instances: independent models trained side by side.
        seed: seeds the xavier-normal initialisation of W1 and W2 (None: torch's global RNG).

    Attributes (feature-major, like ToyModel.W):
        W1: [n_instances, n_features, n_hidden]  feature i -> neuron j
        W2: [n_instances, n_features, n_hidden]  neuron j -> output i
        b:  [n_instances, n_features]
    """

    kind = "abs"

    def __init__(self, n_features: int, n_hidden: int, n_instances: int = 1, *, seed: int | None = 0,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        _check_positive_int("n_features", n_features)
        _check_positive_int("n_hidden", n_hidden)
        _check_positive_int("n_instances", n_instances)
        self.n_features, self.n_hidden, self.n_instances = n_features, n_hidden, n_instances
        device = torch.device(device) if device is not None else torch.device("cpu")
        g = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        self.W1 = nn.Parameter(xavier_normal(n_instances, n_features, n_hidden, g, device))
        self.W2 = nn.Parameter(xavier_normal(n_instances, n_features, n_hidden, g, device))
        self.b = nn.Parameter(torch.zeros((n_instances, n_features), device=device))

    @property
    def device(self) -> torch.device:
        return self.W1.device

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h = ReLU(W1 x): [batch, n_instances, n_features] -> [batch, n_instances, n_hidden]."""
        return torch.relu(torch.einsum("bkn,knm->bkm", x, self.W1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """y' for x of shape [batch, n_instances, n_features]; returns the same shape."""
        if x.ndim != 3 or x.shape[1:] != (self.n_instances, self.n_features):
            raise ValueError(
                f"x must have shape [batch, n_instances={self.n_instances}, n_features={self.n_features}], "
                f"got {tuple(x.shape)}"
            )
        return torch.relu(torch.einsum("bkm,knm->bkn", self.hidden(x), self.W2) + self.b)

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}, n_hidden={self.n_hidden}, n_instances={self.n_instances}"


def signed_features(batch_size: int, n_features: int, feature_probability: ProbabilityLike, n_instances: int = 1,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Sparse signed features, [batch_size, n_instances, n_features]: 0 with probability 1 - p, else uniform on [-1, 1).

    One uniform draw u per entry: kept iff u < p, and then 2 u / p - 1 is uniform on [-1, 1).
    """
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("n_features", n_features)
    _check_positive_int("n_instances", n_instances)
    p = as_instance_feature_tensor("feature_probability", feature_probability, n_instances, n_features, high=1.0)
    u = torch.rand((batch_size, n_instances, n_features), generator=generator)
    return torch.where(u < p, 2.0 * u / p.clamp(min=1e-30) - 1.0, torch.zeros(()))


def _signed(v: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """FeatureStream's batch v (0, or u / p uniform on [0, 1) where kept) -> 0, or 2 v - 1 on [-1, 1)."""
    torch.mul(v, 2.0, out=out).sub_(1.0)
    return out.mul_(v > 0)  # v = 0 exactly only where dropped (a kept u = 0 has probability ~2^-24)


def abs_loss_and_grads(
    W1: torch.Tensor, W2: torch.Tensor, b: torch.Tensor, x: torch.Tensor, importance: torch.Tensor | None,
    need_grads: bool = True, ws: Workspace | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """Per-instance loss and its analytic gradient, in the feature-major layout (as train.loss_and_grads).

    W1, W2: [K, n, m], b: [K, n], x: [K, n, B] signed inputs, importance: [K, n] or None (all ones).
    Returns loss [K], dL/dW1 [K, n, m], dL/dW2 [K, n, m], dL/db [K, n], where L = sum_k loss_k.

    Forward: h_pre = W1^T x, h = ReLU(h_pre), y = W2 h + b, y' = ReLU(y), err = y' - |x|.
    Backward: dy = 2 I err / (B n) * [y > 0];  db = sum_b dy;  dW2 = dy h^T;
              dh = W2^T dy * [h_pre > 0];  dW1 = x dh^T.
    """
    ws = ws if ws is not None else Workspace()
    K, n, B = x.shape
    hidden_shape = (K, W1.shape[2], B)
    h_pre = torch.bmm(W1.transpose(1, 2), x, out=ws("h_pre", hidden_shape, x))
    h = torch.clamp_min(h_pre, 0.0, out=ws("h", hidden_shape, x))
    y = torch.baddbmm(b[:, :, None], W2, h, out=ws("y", x.shape, x))
    err = torch.clamp_min(y, 0.0, out=ws("err", x.shape, x)).sub_(torch.abs(x, out=ws("abs", x.shape, x)))
    scale = 2.0 / (B * n)
    dy = torch.mul(err, scale if importance is None else importance[:, :, None] * scale, out=ws("dy", x.shape, x))
    loss = torch.mul(dy, err, out=ws("tmp", x.shape, x)).sum((1, 2)).mul_(0.5)  # = sum I err^2 / (B n)
    if not need_grads:
        return loss, None, None, None
    dy = torch.ops.aten.threshold_backward.grad_input(dy, y, 0.0, grad_input=ws("tmp", x.shape, x))
    db = dy.sum(2)
    dW2 = torch.bmm(dy, h.transpose(1, 2))
    dh = torch.bmm(W2.transpose(1, 2), dy, out=ws("dh", hidden_shape, x))
    dh = torch.ops.aten.threshold_backward.grad_input(dh, h_pre, 0.0, grad_input=ws("h", hidden_shape, x))
    dW1 = torch.bmm(x, dh.transpose(1, 2))
    return loss, dW1, dW2, db


@dataclass
class AbsTrainResult:
    """What train_abs_model returns (the fields mean what they mean in train.TrainResult)."""

    loss: torch.Tensor
    seed_losses: torch.Tensor
    best_seed: torch.Tensor
    steps: int
    lr: float
    batch_size: int
    seconds: float = field(repr=False)


def _stream(p: torch.Tensor, batch_size: int, copies: int, seed: int) -> tuple[FeatureStream, torch.Tensor]:
    data = FeatureStream(p, batch_size, copies, seed)
    return data, torch.empty((copies * p.shape[0], p.shape[1], batch_size), device=p.device)


def train_abs_model(
    model: AbsValueModel,
    feature_probability: ProbabilityLike,
    importance: ProbabilityLike = 1.0,
    *,
    steps: int | None = None,
    batch_size: int = 1024,
    lr: float | None = None,
    seed: int = 0,
    n_seeds: int = 1,
    progress: bool | None = None,
    threads: int | None = 1,
) -> AbsTrainResult:
    """Train every instance of an AbsValueModel in place to output |x|; return an AbsTrainResult.

    Same recipe and arguments as train_toy_model (AdamW, warmup + cosine decay, best-of-k over n_seeds
    copies trained in one batch; copy 0 starts from the model's weights).  feature_probability is the
    density p = 1 - S (scalar, [n_instances] or [n_instances, n_features]); importance I weights each
    feature's squared error.
    """
    if not isinstance(model, AbsValueModel):
        raise ValueError(f"model must be an AbsValueModel, got {type(model).__name__}")
    steps, lr = check_recipe(steps, lr, batch_size, n_seeds, seed, threads)
    K, n, m, dev = model.n_instances, model.n_features, model.n_hidden, model.device
    p, imp = check_data(feature_probability, importance, K, n, dev)
    data_seed, init_seed, eval_seed = _seeds(seed)
    with torch.no_grad():  # all copies, seed-major: row j * K + k is copy j of instance k
        W1, W2 = model.W1.detach().clone(), model.W2.detach().clone()
        if n_seeds > 1:
            g = torch.Generator(device=dev).manual_seed(init_seed)
            W1 = torch.cat([W1, xavier_normal((n_seeds - 1) * K, n, m, g, dev)])
            W2 = torch.cat([W2, xavier_normal((n_seeds - 1) * K, n, m, g, dev)])
        b = model.b.detach().repeat(n_seeds, 1)
    imp_arg = None if bool((imp == 1).all()) else imp.repeat(n_seeds, 1)

    with torch_threads(threads, dev):
        start = time.perf_counter()
        schedule = lr_schedule(steps, lr)
        opt = _AdamW([W1, W2, b])
        (data, x), ws = _stream(p, batch_size, n_seeds, data_seed), Workspace()
        bar = _progress_bar(progress, steps)
        with torch.no_grad():
            for t in range(steps):
                loss, dW1, dW2, db = abs_loss_and_grads(W1, W2, b, _signed(data.next(), x), imp_arg, ws=ws)
                if t % 100 == 0 and not torch.isfinite(loss).all():
                    raise FloatingPointError(f"training diverged at step {t} (lr={lr}); try a smaller lr")
                opt.step([dW1, dW2, db], schedule[t])  # type: ignore[list-item]
                if bar is not None and (t + 1) % 50 == 0:
                    bar.update(50)
            if bar is not None:
                bar.close()
            final = _evaluate(W1, W2, b, p, imp_arg, batch_size, eval_seed)

    seed_losses = final.view(n_seeds, K)
    best = seed_losses.argmin(0)
    rows = best * K + torch.arange(K, device=dev)
    with torch.no_grad():
        model.W1.copy_(W1[rows])
        model.W2.copy_(W2[rows])
        model.b.copy_(b[rows])
    return AbsTrainResult(loss=seed_losses[best, torch.arange(K, device=dev)].cpu(), seed_losses=seed_losses.cpu(),
                          best_seed=best.cpu(), steps=steps, lr=lr, batch_size=batch_size,
                          seconds=time.perf_counter() - start)


def _evaluate(W1: torch.Tensor, W2: torch.Tensor, b: torch.Tensor, p: torch.Tensor, importance: torch.Tensor | None,
              batch_size: int, seed: int) -> torch.Tensor:
    """Mean loss per row over EVAL_BATCHES fresh batches drawn from `seed` (the same samples for every copy): [rows]."""
    (data, x), ws = _stream(p, batch_size, W1.shape[0] // p.shape[0], seed), Workspace()
    total = torch.zeros(W1.shape[0], device=W1.device)
    for _ in range(EVAL_BATCHES):
        total += abs_loss_and_grads(W1, W2, b, _signed(data.next(), x), importance, need_grads=False, ws=ws)[0]
    return total / EVAL_BATCHES


def evaluate_abs_loss(model: AbsValueModel, feature_probability: ProbabilityLike, importance: ProbabilityLike = 1.0,
                      *, batch_size: int = 1024, seed: int = 0) -> torch.Tensor:
    """The model's loss per instance, [n_instances], on EVAL_BATCHES fresh batches (no training)."""
    if not isinstance(model, AbsValueModel):
        raise ValueError(f"model must be an AbsValueModel, got {type(model).__name__}")
    K, n, dev = model.n_instances, model.n_features, model.device
    p, imp = check_data(feature_probability, importance, K, n, dev)
    with torch.no_grad():
        return _evaluate(model.W1, model.W2, model.b, p, imp, batch_size, _seeds(seed)[2]).cpu()


def abs_explained(model: AbsValueModel, feature_probability: ProbabilityLike, *, batch_size: int = 8192,
                  seed: int = 0) -> torch.Tensor:
    """How well each output computes its feature's absolute value, [n_instances, n_features]:

        explained_i = 1 - E[(y'_i - |x_i|)^2] / Var(|x_i|)

    on batch_size fresh inputs at density p = feature_probability (a scalar, or one per instance, e.g. a
    sweep's densities).  1: output i is exactly |x_i|; 0: no better than the best constant (what a model that
    drops feature i can do with its bias); below 0: worse (interference).  Computed in chunks of 1024 samples.
    """
    if not isinstance(model, AbsValueModel):
        raise ValueError(f"model must be an AbsValueModel, got {type(model).__name__}")
    _check_positive_int("batch_size", batch_size)
    K, n = model.n_instances, model.n_features
    p = as_instance_feature_tensor("feature_probability", feature_probability, K, n, high=1.0)
    g = torch.Generator().manual_seed(seed)
    err, s1, s2 = torch.zeros(K, n), torch.zeros(K, n), torch.zeros(K, n)
    with torch.no_grad():
        for start in range(0, batch_size, 1024):
            x = signed_features(min(1024, batch_size - start), n, p, K, generator=g)
            a = x.abs()
            err += ((model(x.to(model.device)).cpu() - a) ** 2).sum(0)
            s1 += a.sum(0)
            s2 += (a**2).sum(0)
    var = s2 / batch_size - (s1 / batch_size) ** 2
    return 1.0 - (err / batch_size) / var.clamp(min=1e-12)
