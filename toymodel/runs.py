"""The bookkeeping of a training run, shared by every trainer (train.py's two loops, computation, correlated):
best-of-k copies and keeping the best, the log (loss history, snapshots, progress bar, divergence), the checks
before a run, and the torch threads it runs on.  A recipe here is a train.Recipe."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
import sys
import time
from typing import Any

import numpy as np
import torch

from .data import ProbabilityLike, as_instance_feature_tensor
from .model import ToyModel, xavier_normal
from .validate import check_finite, check_float_tensor, check_instance, check_memory

__all__ = ["EVAL_BATCHES", "TrainResult", "TrainingLog", "check_diverged", "check_importance", "check_parameters",
           "check_widths", "derived_seeds", "keep_best", "plan_memory", "progress_bar", "show_progress",
           "torch_threads", "toy_copies"]

EVAL_BATCHES = 8  # the final loss is measured on EVAL_BATCHES x batch_size fresh samples


@dataclass
class TrainResult:
    """What a training run returns (the model itself is trained in place).

    loss:        [n_instances] final loss of the kept copy, on EVAL_BATCHES fresh batches.
    history:     {"step": [n_logged], "loss": [n_logged, n_instances]}: the kept copy's training loss.
    seed_losses: [n_seeds, n_instances] final loss of every copy; best_seed [n_instances]: the copy kept.
    snapshots:   None, or {"step": [n_snap], "loss": [n_snap, n_instances], and per parameter, e.g.
                 "W": [n_snap, n_instances, n_features, n_hidden]}: steps 0, k, 2k, ... and the final weights.
    """

    loss: torch.Tensor
    history: dict[str, torch.Tensor]
    seed_losses: torch.Tensor
    best_seed: torch.Tensor
    recipe: Any  # the train.Recipe it ran
    seconds: float = field(repr=False)
    snapshots: dict[str, torch.Tensor] | None = field(default=None, repr=False)


def toy_copies(model: ToyModel, n_seeds: int, init_seed: int,
               widths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """W, b of all best-of-k copies, seed-major ([n_seeds * K, n, m], [n_seeds * K, n]; row j K + i is copy j of
    instance i): copy 0 is the model's own weights, the others fresh xavier-normal draws from init_seed.
    widths ([K]): instance i uses its first widths[i] hidden dimensions; its fresh copies start at that scale."""
    K, n, m, dev, dtype = model.n_instances, model.n_features, model.n_hidden, model.device, model.W.dtype
    with torch.no_grad():
        W = model.W.detach().clone()
        if n_seeds > 1:
            g = torch.Generator(device=dev).manual_seed(init_seed)
            extra = xavier_normal((n_seeds - 1) * K, n, m, g, dev).to(dtype)
            if widths is not None:
                extra *= ((m / widths) ** 0.5).repeat(n_seeds - 1)[:, None, None]
            W = torch.cat([W, extra])
        if widths is not None:
            W *= (torch.arange(m, device=dev) < widths[:, None])[:, None, :].to(dtype).repeat(n_seeds, 1, 1)
        return W, model.b.detach().repeat(n_seeds, 1)


class TrainingLog:
    """What a run records while it trains: the loss every steps // 200 steps (a NaN or inf there stops the run:
    FloatingPointError, the model left unchanged), snapshots of the parameters, and a progress bar."""

    def __init__(self, recipe: Any, names: Sequence[str]) -> None:
        self.recipe, self.names, self.start = recipe, list(names), time.perf_counter()
        self.every = max(1, recipe.steps // 200)
        self.steps: list[int] = []
        self.losses: list[torch.Tensor] = []
        self.snapshots: dict[str, list] = {"step": [], "loss": [], **{name: [] for name in names}}
        self.bar = progress_bar(recipe.progress, recipe.steps)

    def wants_loss(self, t: int) -> bool:
        """Whether step t is logged (or snapshot): only then is its loss computed."""
        snap = self.recipe.snapshot_every
        return t % self.every == 0 or (snap is not None and t % snap == 0)

    def record(self, t: int, loss: torch.Tensor, params: Sequence[torch.Tensor]) -> None:
        if t % self.every == 0:
            check_diverged(loss, f"at step {t}", self.recipe.lr)
            self.steps.append(t)
            self.losses.append(loss.detach().clone())
        if self.recipe.snapshot_every is not None and t % self.recipe.snapshot_every == 0:
            self.snapshot(t, loss, params)
        if self.bar is not None:
            self.bar.update(t + 1 - self.bar.n)

    def snapshot(self, t: int, loss: torch.Tensor, params: Sequence[torch.Tensor]) -> None:
        self.snapshots["step"].append(t)
        self.snapshots["loss"].append(loss.detach().cpu().clone())
        for name, prm in zip(self.names, params):
            self.snapshots[name].append(prm.detach().cpu().clone())


def keep_best(model: torch.nn.Module, params: Sequence[torch.Tensor], final: torch.Tensor,
              log: TrainingLog) -> TrainResult:
    """Per instance, write the copy with the lowest final loss into `model` (its parameters log.names, each
    [n_instances, ...]; params: the trained copies, seed-major) and return the TrainResult.  A non-finite final
    loss or weight raises FloatingPointError and leaves the model as it was."""
    if log.bar is not None:
        log.bar.close()
    check_diverged(final, "by the end", log.recipe.lr)
    for name, prm in zip(log.names, params):
        if not bool(torch.isfinite(prm).all()):
            raise FloatingPointError(f"training diverged: the trained {name} holds NaN or inf (lr={log.recipe.lr}); "
                                     "the model is unchanged; try a smaller lr")
    if log.recipe.snapshot_every is not None:
        log.snapshot(log.recipe.steps, final, params)
    K = getattr(model, log.names[0]).shape[0]
    seed_losses = final.detach().view(log.recipe.n_seeds, K)
    best = seed_losses.argmin(0)
    kept = best * K + torch.arange(K, device=best.device)
    with torch.no_grad():
        for name, prm in zip(log.names, params):
            getattr(model, name).copy_(prm[kept])
    snapshots = None
    if log.recipe.snapshot_every is not None:
        snapshots = {"step": torch.tensor(log.snapshots["step"])}
        for key in ["loss", *log.names]:
            snapshots[key] = torch.stack(log.snapshots[key])[:, kept.cpu()]
    history = torch.stack(log.losses) if log.losses else torch.empty((0, K * log.recipe.n_seeds))
    return TrainResult(loss=seed_losses[best, torch.arange(K, device=best.device)].cpu(),
                       history={"step": torch.tensor(log.steps), "loss": history[:, kept].cpu()},
                       seed_losses=seed_losses.cpu(), best_seed=best.cpu(), recipe=log.recipe,
                       seconds=time.perf_counter() - log.start, snapshots=snapshots)


def check_diverged(loss: torch.Tensor, when: str, lr: float) -> None:
    bad = ~torch.isfinite(loss)
    if bool(bad.any()):
        raise FloatingPointError(f"training diverged {when}: the loss of {int(bad.sum())} of {loss.numel()} models "
                                 f"is NaN or inf (lr={lr}); the model is unchanged; try a smaller lr")


def derived_seeds(seed: int) -> tuple[int, int, int]:
    """Three independent seeds (data, the extra copies' init, evaluation) from one user seed."""
    states = np.random.SeedSequence(seed).spawn(3)
    return tuple(int(s.generate_state(1, dtype=np.uint64)[0] >> 1) for s in states)  # type: ignore[return-value]


def check_parameters(model: object, cls: type, names: Sequence[str]) -> None:
    """model is a `cls` whose parameters `names` are finite float32 or float64 tensors of one dtype and device."""
    check_instance("model", model, cls)
    first = getattr(model, names[0]).detach()
    for name in names:
        t = check_float_tensor(f"model.{name}", getattr(model, name).detach(), first.dtype, first.device)
        try:
            check_finite(f"model.{name}", t)
        except ValueError as err:
            raise ValueError(f"{err}, before any training: re-create the model (or load finite weights)") from None


def check_importance(importance: ProbabilityLike, K: int, n: int, device: torch.device) -> torch.Tensor:
    """Importance I >= 0 and finite as [K, n]: a scalar, one profile [n_features], or [n_instances, n_features]."""
    imp = as_instance_feature_tensor("importance", importance, K, n, vector="feature", device=device)
    if not torch.isfinite(imp).all():
        raise ValueError("importance must be finite")
    return imp


def check_widths(active_hidden: object, K: int, m: int, device: torch.device) -> torch.Tensor:
    widths = torch.as_tensor(active_hidden, device=device).flatten()
    if widths.shape != (K,) or widths.dtype.is_floating_point or not bool(((widths >= 1) & (widths <= m)).all()):
        raise ValueError(f"active_hidden must hold {K} integers in 1..n_hidden={m}, got {active_hidden!r}")
    return widths


def plan_memory(recipe: Any, K: int, row_floats: int, work_floats: int) -> None:
    """Refuse (ValueError) a run whose step buffers (work_floats per sample and copy) and snapshots
    (row_floats per copy each) would not fit in memory."""
    rows = recipe.n_seeds * K
    n_snap = 0 if recipe.snapshot_every is None else recipe.steps // recipe.snapshot_every + 2
    check_memory(4.0 * rows * (recipe.batch_size * work_floats + (n_snap + 4) * row_floats),
                 f"batch_size={recipe.batch_size} x {rows} models (n_seeds={recipe.n_seeds} x {K} instances)"
                 + (f" with {n_snap} snapshots" if n_snap else ""))


@contextmanager
def torch_threads(threads: int | None, device: torch.device) -> Iterator[None]:
    """Run the block with `threads` torch CPU threads (None: torch's setting), then restore the caller's."""
    previous = torch.get_num_threads()
    if threads is not None and device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def show_progress(progress: bool | None) -> bool:
    """Whether a run shows a progress bar: True / False force it; None means only inside a Jupyter kernel."""
    return "ipykernel" in sys.modules if progress is None else bool(progress)


def progress_bar(progress: bool | None, steps: int, desc: str = "training"):
    """A tqdm bar over `steps` when show_progress(progress), else None."""
    if not show_progress(progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc=desc, unit="step", delay=1.0, leave=False)
