"""Training: all instances (and all seeds of best-of-k) in one batched run.

Loss, per instance k:  L_k = mean over batch b and features i of  I_ki (x_bki - x'_bki)^2,
and the total minimised is sum_k L_k (instances never interact).

Why this is fast: for models this small the time goes to per-step framework overhead, not
flops.  So the step is written by hand: one fused sampler, the forward pass and its analytic
gradient as five batched matmuls (no autograd graph), and AdamW as a handful of in-place ops.
The default recipe (warmup then cosine decay from a larger learning rate, see DEFAULT_LR and
DEFAULT_STEPS) reaches the paper's solutions in a fraction of the reference's 10,000 steps;
benchmarks/bench_train.py checks that against the reference loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
import math
import sys
import time
from typing import Any, TypedDict

import numpy as np
import torch

from .data import ProbabilityLike, as_density_tensor, as_instance_feature_tensor, sparse_from_uniform
from .model import ToyModel, xavier_normal
from .validate import (
    check_finite,
    check_float_tensor,
    check_in_range,
    check_instance,
    check_memory,
    check_positive_int,
    check_seed,
)

__all__ = [
    "BETAS", "DEFAULT_LR", "DEFAULT_STEPS", "EPS", "EVAL_BATCHES", "FeatureStream", "LossFn", "RECIPE_DEFAULTS",
    "Recipe", "RecipeArgs", "TrainResult",
    "WARMUP_FRACTION", "WEIGHT_DECAY", "Workspace", "check_data", "check_importance", "check_parameters",
    "check_recipe", "check_recipe_keywords", "derived_seeds", "evaluate_loss", "fit", "loss_and_grads", "lr_at",
    "lr_schedule", "show_progress", "torch_threads", "toy_copies", "toy_loss_fn", "train_toy_model",
]

DEFAULT_STEPS = 3_000
DEFAULT_LR = 3e-2
WARMUP_FRACTION = 0.05
WEIGHT_DECAY = 0.01  # AdamW's default, as in the paper's companion notebook
BETAS = (0.9, 0.999)
EPS = 1e-8
EVAL_BATCHES = 8  # the final loss is measured on EVAL_BATCHES x batch_size fresh samples


@dataclass
class TrainResult:
    """What train_toy_model (and computation.train_abs_model) return.

    loss:        [n_instances] final loss of the kept copy, on a fresh evaluation batch.
    history:     {"step": [n_logged] steps, "loss": [n_logged, n_instances] training loss of the kept copy}.
    seed_losses: [n_seeds, n_instances] final loss of every copy (best-of-k keeps the row minimum).
    best_seed:   [n_instances] which copy was kept.
    snapshots:   None, or (with snapshot_every=k) the kept copy's parameters during training:
                 {"step": [n_snap] (0, k, 2k, ..., and the last step), "loss": [n_snap, n_instances] the
                 training loss at that step, and one entry per parameter, e.g. "W": [n_snap, n_instances,
                 n_features, n_hidden] and "b": [n_snap, n_instances, n_features]}; the last entry holds the
                 final weights.
    """

    loss: torch.Tensor
    history: dict[str, torch.Tensor]
    seed_losses: torch.Tensor
    best_seed: torch.Tensor
    steps: int
    lr: float
    batch_size: int
    seconds: float = field(repr=False)
    snapshots: dict[str, torch.Tensor] | None = field(default=None, repr=False)


def lr_at(t: int, steps: int, lr: float, warmup_fraction: float = WARMUP_FRACTION) -> float:
    """The learning rate at step t (0-based) of `steps`: linear warmup over the first warmup_fraction
    of the steps, then cosine decay to 0.  Computed per step, so a long run costs no memory."""
    warmup = max(1, int(steps * warmup_fraction))
    if t < warmup:
        return lr * (t + 1) / warmup
    progress = (t - warmup) / max(1, steps - warmup)
    return lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def lr_schedule(steps: int, lr: float, warmup_fraction: float = WARMUP_FRACTION) -> list[float]:
    """lr_at for every step, as a list of length `steps` (for plotting; training calls lr_at)."""
    return [lr_at(t, steps, lr, warmup_fraction) for t in range(steps)]


def derived_seeds(seed: int) -> tuple[int, int, int]:
    """Three independent integer seeds (data, init of extra copies, evaluation) from one user seed."""
    states = np.random.SeedSequence(seed).spawn(3)
    return tuple(int(s.generate_state(1, dtype=np.uint64)[0] >> 1) for s in states)  # type: ignore[return-value]


class Workspace:
    """Step-sized buffers, reused from one step to the next, so a training step allocates no large tensor.

    Without it every step frees and re-allocates a dozen [K, n, batch] tensors; glibc then, at
    random from one run to the next, hands the memory back to the OS and page-faults it in again,
    which slows whole training runs down (measured: notebooks/README.md, section "Measurements behind the
    library's defaults").
    """

    def __init__(self) -> None:
        self.buffers: dict[str, torch.Tensor] = {}

    def __call__(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        buf = self.buffers.get(name)
        if buf is None or buf.shape != shape or buf.device != like.device:
            buf = self.buffers[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buf


def loss_and_grads(
    W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, importance: torch.Tensor | None, kind: str,
    need_grads: bool = True, ws: Workspace | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Per-instance loss and its analytic gradient, in the feature-major layout.

    W: [K, n, m], b: [K, n], x: [K, n, B] (batch last: the matmuls then run ~10x faster on
    small models), importance: [K, n] or None (all ones); ws: buffers to reuse between calls.
    Returns loss [K], dL/dW [K, n, m], dL/db [K, n], where L = sum_k loss_k.

    Forward: h = W^T x (ReLU'd for relu_hidden), y = W h + b, x' = ReLU(y) (or y for linear).
    Backward: dy = 2 I (x' - x) / (B n) * [y > 0];  db = sum_b dy;  dW = dy h^T + x (W^T dy * [h > 0])^T.
    """
    ws = ws if ws is not None else Workspace()
    K, n, B = x.shape
    hidden_shape = (K, W.shape[2], B)
    Wt = W.transpose(1, 2)
    h_pre = torch.bmm(Wt, x, out=ws("h_pre", hidden_shape, x))
    h = torch.clamp_min(h_pre, 0.0, out=ws("h", hidden_shape, x)) if kind == "relu_hidden" else h_pre
    y = torch.baddbmm(b[:, :, None], W, h, out=ws("y", x.shape, x))
    err = ws("err", x.shape, x)
    if kind == "linear":
        torch.sub(y, x, out=err)
    else:
        torch.clamp_min(y, 0.0, out=err).sub_(x)
    scale = 2.0 / (B * n)
    dy = torch.mul(err, scale if importance is None else importance[:, :, None] * scale, out=ws("dy", x.shape, x))
    loss = torch.mul(dy, err, out=ws("tmp", x.shape, x)).sum((1, 2)).mul_(0.5)  # = sum I err^2 / (B n)
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


class FeatureStream:
    """Batches of sparse features in the training layout [copies * n_instances, n_features, batch].

    One uniform draw u of shape [n_features, batch] per step serves every row: row k keeps
    x_ki = u_i / p_ki where u_i < p_ki.  Each row's stream has exactly the paper's
    distribution; rows are correlated, which is harmless because instances never interact (and
    it makes comparisons between settings and between best-of-k copies fairer: common random
    numbers).  It cuts the random numbers per step by a factor of n_instances * copies, which
    on a CPU is most of the cost of a step.  On the CPU u comes from numpy's PCG64.
    """

    def __init__(self, p: torch.Tensor, batch_size: int, copies: int, seed: int,
                 dtype: torch.dtype = torch.float32) -> None:
        # [copies * K, n, 1]; the uniforms are float32 (exact in float64 too), the batch has the model's dtype
        self.neg_inv_p = (-1.0 / p.to(dtype).clamp(min=1e-30)).repeat(copies, 1)[:, :, None]
        self.shape = (1, p.shape[1], batch_size)
        self.out: torch.Tensor | None = None  # the batch buffer, refilled by every next()
        if p.device.type == "cpu":
            self.rng = np.random.Generator(np.random.PCG64(seed))
            self.buffer = np.empty(self.shape, dtype=np.float32)
            self.u = torch.from_numpy(self.buffer)  # shares memory with buffer
        else:
            self.rng, self.gen = None, torch.Generator(device=p.device).manual_seed(seed)

    def next(self) -> torch.Tensor:
        """The next batch, [copies * n_instances, n_features, batch_size]."""
        if self.rng is not None:
            self.rng.random(dtype=np.float32, out=self.buffer)
            u = self.u
        else:
            u = torch.rand(self.shape, generator=self.gen, device=self.neg_inv_p.device, dtype=torch.float32)
        if self.out is None:
            self.out = torch.empty((self.neg_inv_p.shape[0], *self.shape[1:]), device=u.device,
                                   dtype=self.neg_inv_p.dtype)
        return sparse_from_uniform(u, self.neg_inv_p, out=self.out)


class _AdamW:
    """AdamW on a list of tensors, in place (same update as torch.optim.AdamW, minus the bookkeeping)."""

    def __init__(self, params: list[torch.Tensor], weight_decay: float = WEIGHT_DECAY) -> None:
        self.params = params
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.weight_decay = weight_decay
        self.t = 0

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


def show_progress(progress: bool | None) -> bool:
    """Whether a training run shows a progress bar: progress=True / False forces it on / off; None (the
    default) means on only inside a Jupyter kernel (ipykernel loaded), so scripts, tests and the CLI stay quiet."""
    if progress is None:
        return "ipykernel" in sys.modules
    return bool(progress)


def _progress_bar(progress: bool | None, steps: int):
    """A tqdm bar (shown only once the run passes 1 s), or None where show_progress says no."""
    if not show_progress(progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc="training", unit="step", delay=1.0, leave=False)


class RecipeArgs(TypedDict, total=False):
    """The training recipe's keywords, as train_toy_model takes them; train_abs_model and train_correlated
    take the same (**recipe).  Defaults: RECIPE_DEFAULTS (steps and lr None: DEFAULT_STEPS, DEFAULT_LR)."""

    steps: int | None
    batch_size: int
    lr: float | None
    seed: int
    n_seeds: int
    progress: bool | None
    threads: int | None
    snapshot_every: int | None


RECIPE_DEFAULTS: RecipeArgs = {"steps": None, "batch_size": 1024, "lr": None, "seed": 0, "n_seeds": 1,
                               "progress": None, "threads": 1, "snapshot_every": None}


@dataclass(frozen=True)
class Recipe:
    """A checked training recipe (check_recipe): plain Python numbers, defaults filled in."""

    steps: int
    lr: float
    batch_size: int
    n_seeds: int
    seed: int
    progress: bool | None
    threads: int | None
    snapshot_every: int | None


def check_recipe_keywords(caller: str, recipe: Mapping[str, Any]) -> None:
    """TypeError naming the first keyword in `recipe` that is not a recipe keyword (RecipeArgs) of `caller`."""
    unknown = sorted(set(recipe) - set(RECIPE_DEFAULTS))
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}; "
                        f"its training keywords are {', '.join(RECIPE_DEFAULTS)}")


def check_recipe(model: torch.nn.Module, model_type: type, names: Sequence[str], trainer: str,
                 recipe: Mapping[str, Any]) -> Recipe:
    """Validate a trainer's model (a model_type whose parameters `names` are finite floats on one device) and
    its recipe keywords (TypeError for an unknown one, ValueError naming a bad value); the defaults filled in."""
    check_instance("model", model, model_type)
    check_recipe_keywords(trainer, recipe)
    r = {**RECIPE_DEFAULTS, **recipe}
    steps = check_positive_int("steps", DEFAULT_STEPS if r["steps"] is None else r["steps"])
    lr = check_in_range("lr", DEFAULT_LR if r["lr"] is None else r["lr"], 0.0, math.inf, low_open=True,
                        allowed="a positive finite number")
    threads = None if r["threads"] is None else check_positive_int("threads", r["threads"])
    every = None if r["snapshot_every"] is None else check_positive_int("snapshot_every", r["snapshot_every"])
    checked = Recipe(steps=steps, lr=lr, batch_size=check_positive_int("batch_size", r["batch_size"]),
                     n_seeds=check_positive_int("n_seeds", r["n_seeds"]), seed=check_seed(r["seed"]),
                     progress=r["progress"], threads=threads, snapshot_every=every)
    check_parameters(model, names)
    return checked


def check_data(
    density: ProbabilityLike, importance: ProbabilityLike, n_instances: int, n_features: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Density p and importance I as [n_instances, n_features] tensors on `device`, validated (ValueError)."""
    p = as_density_tensor("density", density, n_instances, n_features, device)
    return p, check_importance(importance, n_instances, n_features, device)


def check_importance(importance: ProbabilityLike, n_instances: int, n_features: int,
                     device: torch.device) -> torch.Tensor:
    """Importance I >= 0 and finite, as an [n_instances, n_features] tensor on `device` (ValueError otherwise).

    Accepted shapes: a scalar, one profile [n_features] for all instances, or [n_instances, n_features].
    """
    imp = as_instance_feature_tensor("importance", importance, n_instances, n_features, vector="feature", device=device)
    if not torch.isfinite(imp).all():
        raise ValueError("importance must be finite")
    return imp


def check_parameters(model: torch.nn.Module, names: Sequence[str]) -> None:
    """The model's parameters are float32 or float64 (all the same), on one device, and finite (a NaN model
    is not a diverged run)."""
    first = getattr(model, names[0])
    check_float_tensor(f"model.{names[0]}", first.detach())
    for name in names:
        t = getattr(model, name)
        check_float_tensor(f"model.{name}", t.detach(), first.dtype, first.device)
        try:
            check_finite(f"model.{name}", t.detach())
        except ValueError as err:
            raise ValueError(f"{err}, before any training: re-create the model (or load finite weights)") from None


@contextmanager
def torch_threads(threads: int | None, device: torch.device) -> Iterator[None]:
    """Run the block with `threads` torch CPU threads (None: leave torch's setting), then restore the caller's."""
    previous = torch.get_num_threads()
    if threads is not None and device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


LossFn = Callable[[list[torch.Tensor], torch.Tensor, bool, Workspace], tuple[torch.Tensor, list[torch.Tensor] | None]]


def fit(
    model: torch.nn.Module,
    names: Sequence[str],
    params: list[torch.Tensor],
    loss_fn: LossFn,
    stream: Callable[[int], Callable[[], torch.Tensor]],
    recipe: Recipe,
    work_floats: int = 0,
) -> TrainResult:
    """THE training loop, for every model of the library: AdamW on `params`, best-of-k, in place.

    model, names: the module and the names of its parameters (e.g. ["W", "b"]), each [n_instances, ...].
    params: the same parameters for all copies, seed-major ([n_seeds * n_instances, ...]; row j * n_instances + k
        is copy j of instance k); trained in place.
    loss_fn(params, x, need_grads, workspace) -> (loss [rows], gradients like params or None).
    stream(seed) -> next(): a function returning the next training batch (in loss_fn's layout).
    recipe: check_recipe's; trains on recipe.threads torch threads (the caller's setting restored after).
    work_floats: floats of step buffers per (row, sample), for the memory estimate.

    Divergence (a non-finite loss at a logged step, or non-finite final weights or losses) raises
    FloatingPointError and leaves the model as it was; otherwise, per instance, the copy with the lowest
    evaluation loss (EVAL_BATCHES fresh batches from the evaluation seed) is written into the model.
    """
    n_inst = getattr(model, names[0]).shape[0]
    rows, dev = params[0].shape[0], params[0].device
    steps, lr, batch_size, n_seeds, snapshot_every = (recipe.steps, recipe.lr, recipe.batch_size, recipe.n_seeds,
                                                      recipe.snapshot_every)
    data_seed, _, eval_seed = derived_seeds(recipe.seed)
    n_snap = 0 if snapshot_every is None else steps // snapshot_every + 2
    row_floats = sum(p[0].numel() for p in params)
    check_memory(4.0 * rows * (batch_size * work_floats + (n_snap + 4) * row_floats),
                 f"batch_size={batch_size} x {rows} models (n_seeds={n_seeds} x {n_inst} instances)"
                 + (f" with {n_snap} snapshots" if n_snap else ""))
    opt = _AdamW(params)
    next_batch, ws = stream(data_seed), Workspace()
    log_every = max(1, steps // 200)
    logged_steps = list(range(0, steps, log_every))
    history = torch.empty((len(logged_steps), rows), device=dev, dtype=params[0].dtype)
    snaps: dict[str, list[torch.Tensor]] = {"step": [], "loss": [], **{name: [] for name in names}}
    bar = _progress_bar(recipe.progress, steps)
    start = time.perf_counter()
    with torch.no_grad(), torch_threads(recipe.threads, dev):
        for t in range(steps):
            loss, grads = loss_fn(params, next_batch(), True, ws)
            if t % log_every == 0:
                history[t // log_every] = loss
                _check_diverged(loss, f"at step {t}", lr)
            if n_snap and t % snapshot_every == 0:  # type: ignore[operator]
                _snapshot(snaps, names, params, t, loss)
            opt.step(grads, lr_at(t, steps, lr))  # type: ignore[arg-type]
            if bar is not None and (t + 1) % 50 == 0:
                bar.update(50)
        if bar is not None:
            bar.close()
        eval_batch, eval_ws = stream(eval_seed), Workspace()
        final = sum(loss_fn(params, eval_batch(), False, eval_ws)[0] for _ in range(EVAL_BATCHES)) / EVAL_BATCHES
        _check_diverged(final, "by the end", lr)
        for name, prm in zip(names, params):
            if not bool(torch.isfinite(prm).all()):
                raise FloatingPointError(f"training diverged: the trained {name} holds NaN or inf (lr={lr}); "
                                         "the model is unchanged; try a smaller lr")
        if n_snap:
            _snapshot(snaps, names, params, steps, final)

    seed_losses = final.view(n_seeds, n_inst)
    best = seed_losses.argmin(0)
    kept = best * n_inst + torch.arange(n_inst, device=dev)
    with torch.no_grad():
        for name, prm in zip(names, params):
            getattr(model, name).copy_(prm[kept])
    snapshots = None
    if n_snap:
        snapshots = {"step": torch.tensor(snaps["step"])}
        for key in ["loss", *names]:
            snapshots[key] = torch.stack(snaps[key])[:, kept.cpu()]
    return TrainResult(
        loss=seed_losses[best, torch.arange(n_inst, device=dev)].cpu(),
        history={"step": torch.tensor(logged_steps), "loss": history[:, kept].cpu()},
        seed_losses=seed_losses.cpu(),
        best_seed=best.cpu(),
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        seconds=time.perf_counter() - start,
        snapshots=snapshots,
    )


def _check_diverged(loss: torch.Tensor, when: str, lr: float) -> None:
    bad = ~torch.isfinite(loss)
    if bool(bad.any()):
        raise FloatingPointError(
            f"training diverged {when}: the loss of {int(bad.sum())} of {loss.numel()} models is NaN or inf "
            f"(lr={lr}); the model is unchanged; try a smaller lr"
        )


def _snapshot(snaps: dict[str, list[torch.Tensor]], names: Sequence[str], params: list[torch.Tensor], t: int,
              loss: torch.Tensor) -> None:
    snaps["step"].append(t)  # type: ignore[arg-type]
    snaps["loss"].append(loss.detach().cpu().clone())
    for name, prm in zip(names, params):
        snaps[name].append(prm.detach().cpu().clone())


def train_toy_model(
    model: ToyModel,
    density: ProbabilityLike,
    importance: ProbabilityLike = 1.0,
    *,
    steps: int | None = None,
    batch_size: int = 1024,
    lr: float | None = None,
    seed: int = 0,
    n_seeds: int = 1,
    progress: bool | None = None,
    active_hidden: Sequence[int] | torch.Tensor | None = None,
    threads: int | None = 1,
    snapshot_every: int | None = None,
) -> TrainResult:
    """Train every instance of `model` in place on sparse features; return a TrainResult.

    density: p = 1 - S: scalar, [n_instances] or [n_instances, n_features].
    importance: I, weighting feature i's squared error (never the inputs), >= 0: scalar,
        [n_features] (one profile for all instances) or [n_instances, n_features].
    steps, lr: default to the library's recipe (DEFAULT_STEPS, DEFAULT_LR, warmup + cosine decay, AdamW).
    seed: seeds the data stream, the extra copies' initialisation and the evaluation batch.
    n_seeds: best-of-k. Copy 0 starts from the model's current weights, copies 1..k-1 from fresh
        xavier-normal weights; all train together and, per instance, the copy with the lowest
        evaluation loss is written back into the model.
    progress: show a progress bar (None: only in a notebook, and only for runs longer than a second).
    active_hidden: [n_instances] ints in 1..n_hidden: instance k uses only its first active_hidden[k]
        hidden dimensions (the rest of its W is zeroed and, having zero gradient, stays zero).
        This trains models of different widths in one batch (the dimensionality sweep).
    threads: torch CPU threads while training (restored after); None keeps torch's setting.
        One is the default: these models are too small to gain from more, one thread makes
        runs bit-reproducible, and it avoids the oversubscription of torch's default (one thread
        per core it sees) on a busy machine or a 1-CPU Binder container (measured: notebooks/README.md,
        section "Measurements behind the library's defaults").
    snapshot_every: record the kept copy's W and b every this many steps (TrainResult.snapshots);
        None (the default) records nothing.
    """
    recipe = check_recipe(model, ToyModel, ["W", "b"], "train_toy_model", {
        "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "n_seeds": n_seeds, "progress": progress,
        "threads": threads, "snapshot_every": snapshot_every})
    n_inst, n_feat, n_hid, dev, dtype = model.n_instances, model.n_features, model.n_hidden, model.device, model.W.dtype
    p, imp = check_data(density, importance, n_inst, n_feat, dev)
    imp = imp.to(dtype)
    init_seed = derived_seeds(recipe.seed)[1]
    m_active = None
    if active_hidden is not None:
        m_active = torch.as_tensor(active_hidden, device=dev).flatten()
        in_range = bool(((m_active >= 1) & (m_active <= n_hid)).all())
        if m_active.shape != (n_inst,) or m_active.dtype.is_floating_point or not in_range:
            raise ValueError(
                f"active_hidden must hold {n_inst} integers in 1..n_hidden={n_hid}, got {active_hidden!r}"
            )

    k = recipe.n_seeds
    W, b = toy_copies(model, k, init_seed, m_active)
    return fit(model, ["W", "b"], [W, b], toy_loss_fn(model, imp, k),
               lambda s: FeatureStream(p, recipe.batch_size, k, s, dtype).next, recipe,
               work_floats=6 * n_feat + 4 * n_hid)


def toy_copies(model: ToyModel, n_seeds: int, init_seed: int,
               m_active: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """W, b for all best-of-k copies of all instances, seed-major: row j * n_instances + k is copy j of instance k.

    Copy 0 is the model's own weights; copies 1..n_seeds-1 are fresh xavier-normal draws from init_seed.
    m_active ([n_instances] widths): instance k uses only its first m_active[k] hidden dimensions (the rest
    zeroed), and its fresh copies start at the narrower width's scale, std 1 / sqrt(n m_k).
    """
    n_inst, n_feat, n_hid, dev, dtype = model.n_instances, model.n_features, model.n_hidden, model.device, model.W.dtype
    with torch.no_grad():
        W = model.W.detach().clone()
        if n_seeds > 1:
            g = torch.Generator(device=dev).manual_seed(init_seed)
            extra = xavier_normal((n_seeds - 1) * n_inst, n_feat, n_hid, g, dev).to(dtype)
            if m_active is not None:
                extra *= ((n_hid / m_active) ** 0.5).repeat(n_seeds - 1)[:, None, None]
            W = torch.cat([W, extra])
        if m_active is not None:
            mask = (torch.arange(n_hid, device=dev) < m_active[:, None])[:, None, :].to(dtype)  # [K, 1, m]
            W *= mask.repeat(n_seeds, 1, 1)
        b = model.b.detach().repeat(n_seeds, 1)
    return W, b


def toy_loss_fn(model: ToyModel, importance: torch.Tensor, n_seeds: int) -> LossFn:
    """fit's loss_fn for a ToyModel: loss_and_grads of its kind, importance [n_instances, n] repeated per copy."""
    imp_arg = None if bool((importance == 1).all()) else importance.to(model.W.dtype).repeat(n_seeds, 1)

    def loss_fn(P: list[torch.Tensor], x: torch.Tensor, need_grads: bool, ws: Workspace):
        loss, dW, db = loss_and_grads(P[0], P[1], x, imp_arg, model.kind, need_grads=need_grads, ws=ws)
        return loss, (None if dW is None else [dW, db])
    return loss_fn


def evaluate_loss(
    model: ToyModel, density: ProbabilityLike, importance: ProbabilityLike = 1.0,
    *, batch_size: int = 1024, seed: int = 0,
) -> torch.Tensor:
    """The model's loss per instance, [n_instances], on EVAL_BATCHES fresh batches (no training).

    The same samples as train_toy_model's final evaluation with the same seed, so evaluate_loss on a
    trained model reproduces TrainResult.loss.
    """
    check_instance("model", model, ToyModel)
    batch_size, seed = check_positive_int("batch_size", batch_size), check_seed(seed)
    check_parameters(model, ["W", "b"])
    n_inst, n_feat, dev = model.n_instances, model.n_features, model.device
    p, imp = check_data(density, importance, n_inst, n_feat, dev)
    check_memory(4.0 * n_inst * batch_size * (6 * n_feat + 4 * model.n_hidden), f"batch_size={batch_size}")
    data, ws = FeatureStream(p, batch_size, 1, derived_seeds(seed)[2], model.W.dtype), Workspace()
    imp = imp.to(model.W.dtype)
    with torch.no_grad(), torch_threads(1, dev):  # one thread, as in training: the same digits on any core count
        total = torch.zeros(n_inst, device=dev, dtype=torch.float32)
        for _ in range(EVAL_BATCHES):
            total += loss_and_grads(model.W, model.b, data.next(), imp, model.kind, need_grads=False, ws=ws)[0]
    return (total / EVAL_BATCHES).cpu()
