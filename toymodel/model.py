"""The paper's toy models, many independent instances in one batched tensor.

W has shape [n_instances, n_features, n_hidden]: row W[k, i] is feature i's direction in the
hidden space of instance k (the paper's W is m x n; we store its transpose, one per instance).

    linear        x' = W^T W x + b
    relu_output   x' = ReLU(W^T W x + b)          (the paper's main model, the default)
    relu_hidden   x' = ReLU(W^T ReLU(W x) + b)    (the privileged-basis variant)

and the loss they are trained on, reconstruction_loss: the importance-weighted squared error.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .validate import check_device, check_dtype, check_float_tensor, check_memory, check_positive_int, check_seed

__all__ = ["KINDS", "ToyModel", "check_input", "reconstruction_loss", "xavier_normal"]

KINDS = ("relu_output", "linear", "relu_hidden")


def xavier_normal(
    n_instances: int, n_features: int, n_hidden: int, generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The paper's xavier-normal init, made independent of n_instances: std = 1 / sqrt(n m).

    Shape [n_instances, n_features, n_hidden].  The paper calls xavier_normal_ on the whole
    [n_instances, n, m] tensor, whose fans (n m and n_instances m) give std = sqrt(2 / (m (n + n_instances))).
    We set n_instances := n there, so an instance starts the same however many train beside it,
    with ||W||_F^2 ~ 1 (each feature's squared norm ~ 1/n).  The small scale matters: an
    init with every feature half-represented (plain per-matrix xavier) gets stuck in dense regimes.
    """
    std = 1.0 / math.sqrt(n_features * n_hidden)
    if generator is not None:
        device = generator.device
    w = torch.randn((n_instances, n_features, n_hidden), generator=generator, device=device, dtype=torch.float32)
    return w.mul_(std)


def check_input(x: object, model: nn.Module) -> torch.Tensor:
    """x for a forward pass: a tensor [batch, n_instances, n_features] of the model's dtype (float32 or
    float64), on the model's device (TypeError / ValueError naming what is wrong)."""
    param = next(model.parameters())
    check_float_tensor("model's parameters", param)
    x = check_float_tensor("x", x, param.dtype, param.device)
    shape = (model.n_instances, model.n_features)  # type: ignore[attr-defined]
    if x.ndim != 3 or tuple(x.shape[1:]) != shape:
        raise ValueError(
            f"x must have shape [batch, n_instances={shape[0]}, n_features={shape[1]}], got {tuple(x.shape)}"
        )
    return x


class ToyModel(nn.Module):
    """A batch of independent toy models (the paper's "instances").

    Args:
        n_features: n, the number of input features.
        n_hidden: m, the hidden dimension (the bottleneck).
        n_instances: how many independent models to train side by side.
        kind: "relu_output" (default), "linear" or "relu_hidden".
        seed: seeds the xavier-normal initialisation (None: torch's global RNG).
        device: "cpu" (default) or e.g. "cuda".
        dtype: torch.float32 (default) or torch.float64.  float64 costs time and makes results the same on
            every CPU to many more digits: a long, chaotic training run can amplify float32's CPU-dependent
            low digits into a different solution (measured: notebooks/README.md, section "The same outputs
            on every CPU").

    Attributes:
        W: [n_instances, n_features, n_hidden]
        b: [n_instances, n_features]
    """

    def __init__(
        self,
        n_features: int,
        n_hidden: int,
        n_instances: int = 1,
        kind: str = "relu_output",
        *,
        seed: int | None = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | str | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("n_features", n_features)
        check_positive_int("n_hidden", n_hidden)
        check_positive_int("n_instances", n_instances)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.n_features, self.n_hidden, self.n_instances, self.kind = n_features, n_hidden, n_instances, kind
        device, dtype = check_device(device), check_dtype(dtype)
        check_memory(2 * 8.0 * n_instances * n_features * n_hidden,
                     f"n_instances={n_instances} x n_features={n_features} x n_hidden={n_hidden}")
        generator = None
        if seed is not None:
            generator = torch.Generator(device=device).manual_seed(check_seed(seed))
        W = xavier_normal(n_instances, n_features, n_hidden, generator, device)  # drawn in float32 either way
        self.W = nn.Parameter(W.to(dtype))
        self.b = nn.Parameter(torch.zeros((n_instances, n_features), device=device, dtype=dtype))

    @property
    def device(self) -> torch.device:
        return self.W.device

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h = W x (ReLU'd for relu_hidden): [batch, n_instances, n_features] -> [batch, n_instances, n_hidden]."""
        h = torch.einsum("bkn,knm->bkm", x, self.W)
        return torch.relu(h) if self.kind == "relu_hidden" else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x' for x of shape [batch, n_instances, n_features]; returns the same shape."""
        check_input(x, self)
        y = torch.einsum("bkm,knm->bkn", self.hidden(x), self.W) + self.b
        return y if self.kind == "linear" else torch.relu(y)

    def extra_repr(self) -> str:
        return (
            f"n_features={self.n_features}, n_hidden={self.n_hidden}, "
            f"n_instances={self.n_instances}, kind={self.kind!r}"
        )


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor, importance: torch.Tensor,
                        per_instance: bool = False) -> torch.Tensor:
    """The paper's loss: sum over instances k of  mean over batch b and features i of  I_ki (x_bki - x'_bki)^2.

    x, x_hat: [batch, n_instances, n_features]; importance: [n_features] or [n_instances, n_features].
    Returns a scalar (instances never interact, so the sum trains each on its own loss), or with per_instance
    the [n_instances] terms of that sum.  Importance weights the error; it never scales the inputs.
    """
    check_float_tensor("x", x), check_float_tensor("x_hat", x_hat)
    if x.shape != x_hat.shape or x.ndim != 3:
        raise ValueError(f"x and x_hat must both be [batch, n_instances, n_features], got {tuple(x.shape)} and "
                         f"{tuple(x_hat.shape)}")
    per = (importance * (x - x_hat) ** 2).mean(dim=(0, 2))  # [n_instances]
    return per if per_instance else per.sum()
