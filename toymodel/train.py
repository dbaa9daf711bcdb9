"""Training: the paper's recipe as one loop you can read top to bottom.

    every step:  x = a fresh batch;  loss = reconstruction_loss(x, model(x), importance);  backward;  AdamW

Every instance of a ToyModel is an independent model, and so is every copy of best-of-k: they all train at once
as one batched model, and per instance the copy with the lowest final loss is kept.  The library's Recipe differs
from the paper's (AdamW at a constant 1e-3 for 10,000 steps) only in its schedule: linear warmup, then cosine
decay from 3e-2, in 3,000 steps (benchmarks/bench_train.py: the same solutions).

train_toy_model(fast=True), the default, runs this same loop with a hand-derived gradient and AdamW update
(toymodel/fast.py), several times faster; tests/test_fast.py checks that both give the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
import math
from typing import Any

import torch

from . import fast as fast_path
from . import runs
from .data import FeatureStream, ProbabilityLike, as_density_tensor
from .model import ToyModel, reconstruction_loss
from .runs import EVAL_BATCHES, TrainResult
from .validate import check_in_range, check_positive_int, check_seed

__all__ = ["Recipe", "TrainResult", "evaluate_loss", "train_reference", "train_toy_model"]
NULLABLE = ("snapshot_every", "progress", "threads")  # recipe keywords whose None means something


@dataclass(frozen=True)
class Recipe:
    """How a model trains: every setting of the loop, checked (ValueError naming a bad one), with the defaults.

    steps, lr, warmup_fraction: the schedule, lr_at(t): linear warmup to lr over the first warmup_fraction of the
        steps, then cosine decay to 0.  batch_size: fresh samples per step.  weight_decay: AdamW's (the paper's).
    seed: the data, the extra copies' init and the evaluation batches.  n_seeds: best-of-k copies per instance.
    snapshot_every: record the kept copy's weights every this many steps (None: never).
    progress: a progress bar (None: only inside a notebook).  threads: torch CPU threads (None: leave torch's);
        one is fastest for models this small, and bit-reproducible.
    """

    steps: int = 3_000
    lr: float = 3e-2
    batch_size: int = 1024
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    seed: int = 0
    n_seeds: int = 1
    snapshot_every: int | None = None
    progress: bool | None = None
    threads: int | None = 1

    def __post_init__(self) -> None:
        checked = {name: check_positive_int(name, getattr(self, name)) for name in ("steps", "batch_size", "n_seeds")}
        checked["lr"] = check_in_range("lr", self.lr, 0, math.inf, low_open=True, allowed="a positive finite number")
        checked["warmup_fraction"] = check_in_range("warmup_fraction", self.warmup_fraction, 0, 1)
        checked["weight_decay"] = check_in_range("weight_decay", self.weight_decay, 0, math.inf)
        checked["seed"] = check_seed(self.seed)
        for name in ("snapshot_every", "threads"):
            if getattr(self, name) is not None:
                checked[name] = check_positive_int(name, getattr(self, name))
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def of(cls, caller: str, base: Recipe | None = None, **keywords: Any) -> Recipe:
        """`base` (default: Recipe()) with a trainer's keywords; None keeps the default (except for NULLABLE ones).
        An unknown keyword is a TypeError naming it and `caller`."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(keywords) - set(names))
        if unknown:
            raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}; "
                            f"its training keywords are {', '.join(names)}")
        return replace(base or cls(), **{k: v for k, v in keywords.items() if v is not None or k in NULLABLE})

    def lr_at(self, t: int) -> float:
        """The learning rate at step t (0-based): warmup, then cosine decay to 0 (computed per step: no list)."""
        warmup = max(1, int(self.steps * self.warmup_fraction))
        if t < warmup:
            return self.lr * (t + 1) / warmup
        progress = (t - warmup) / max(1, self.steps - warmup)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def train_toy_model(model: ToyModel, density: ProbabilityLike, importance: ProbabilityLike = 1.0, *,
                    recipe: Recipe | None = None, fast: bool = True,
                    active_hidden: Sequence[int] | torch.Tensor | None = None, **keywords: Any) -> TrainResult:
    """Train every instance of `model` in place on sparse features; return a TrainResult.

    density: p = 1 - S, a scalar, [n_instances] or [n_instances, n_features].  importance: I >= 0, weighting
    feature i's squared error (never the inputs): a scalar, [n_features] or [n_instances, n_features].
    recipe, keywords: the Recipe, e.g. steps=1000, n_seeds=3 (Recipe's fields; keywords override `recipe`).
    Best-of-k: copy 0 starts from the model's weights, copies 1..k-1 from fresh xavier-normal ones.
    fast: True (default) trains with toymodel/fast.py; False with the reference loop below (same weights).
    active_hidden: [n_instances] widths: instance k uses only its first active_hidden[k] hidden dimensions (the
        rest of its W is zero and, with zero gradient, stays zero): models of different widths in one batch.
    """
    recipe = Recipe.of("train_toy_model", recipe, **keywords)
    runs.check_parameters(model, ToyModel, ["W", "b"])
    K, n, m = model.n_instances, model.n_features, model.n_hidden
    p = as_density_tensor("density", density, K, n, model.device)
    imp = runs.check_importance(importance, K, n, model.device).to(model.W.dtype)
    widths = None if active_hidden is None else runs.check_widths(active_hidden, K, m, model.device)
    runs.plan_memory(recipe, K, n * (m + 1), 6 * n + 4 * m)
    data_seed, init_seed, eval_seed = runs.derived_seeds(recipe.seed)
    W, b = runs.toy_copies(model, recipe.n_seeds, init_seed, widths)  # every copy of every instance
    log = runs.TrainingLog(recipe, ["W", "b"])
    with runs.torch_threads(recipe.threads, model.device):
        train = fast_path.train_fast if fast else train_reference
        final = train(model.kind, W, b, p, imp, recipe, log, data_seed, eval_seed)
    return runs.keep_best(model, [W, b], final, log)


def train_reference(kind: str, W: torch.Tensor, b: torch.Tensor, p: torch.Tensor, imp: torch.Tensor,
                    recipe: Recipe, log: runs.TrainingLog, data_seed: int, eval_seed: int) -> torch.Tensor:
    """The loop itself: autograd and torch.optim.AdamW on all copies W [k K, n, m], b [k K, n] at once (in place;
    row j K + i is copy j of instance i).  p, imp: [K, n] per instance.  Returns each copy's final loss, [k K]."""
    k = recipe.n_seeds
    copies = ToyModel(W.shape[1], W.shape[2], W.shape[0], kind, seed=None, device=W.device, dtype=W.dtype)
    copies.W, copies.b = torch.nn.Parameter(W), torch.nn.Parameter(b)  # the same memory: W, b train in place
    p, imp = p.repeat(k, 1), imp.repeat(k, 1)  # every copy of instance i sees instance i's data
    opt = torch.optim.AdamW(copies.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    batches = FeatureStream(p, recipe.batch_size, data_seed, W.dtype)
    for t in range(recipe.steps):
        for group in opt.param_groups:
            group["lr"] = recipe.lr_at(t)
        x = batches.next()  # [batch, k K, n]
        losses = reconstruction_loss(x, copies(x), imp, per_instance=True)  # [k K]
        if log.wants_loss(t):
            log.record(t, losses.detach(), [W, b])  # the loss history, snapshots, progress
        opt.zero_grad()
        losses.sum().backward()  # copies never interact: each gets the gradient of its own loss
        opt.step()
    evaluation = FeatureStream(p, recipe.batch_size, eval_seed, W.dtype)
    with torch.no_grad():
        return sum(reconstruction_loss(x, copies(x), imp, per_instance=True)
                   for x in (evaluation.next() for _ in range(EVAL_BATCHES))) / EVAL_BATCHES


def evaluate_loss(model: ToyModel, density: ProbabilityLike, importance: ProbabilityLike = 1.0, *,
                  batch_size: int = 1024, seed: int = 0) -> torch.Tensor:
    """The model's loss per instance, [n_instances], on EVAL_BATCHES fresh batches (no training): the samples of
    train_toy_model's final evaluation with the same seed, so it reproduces TrainResult.loss."""
    runs.check_parameters(model, ToyModel, ["W", "b"])
    recipe = Recipe(batch_size=batch_size, seed=seed)
    p = as_density_tensor("density", density, model.n_instances, model.n_features, model.device)
    imp = runs.check_importance(importance, model.n_instances, model.n_features, model.device).to(model.W.dtype)
    runs.plan_memory(recipe, model.n_instances, 0, 6 * model.n_features + 4 * model.n_hidden)
    params = [model.W.detach(), model.b.detach()]
    batches = fast_path.stream(p, recipe, runs.derived_seeds(recipe.seed)[2], model.W.dtype)
    loss_fn = fast_path.toy_loss_fn(model.kind, imp, 1)
    with runs.torch_threads(1, model.device):  # one thread, as in training: the same digits on any core count
        return fast_path.evaluate(params, loss_fn, batches, EVAL_BATCHES).float().cpu()


