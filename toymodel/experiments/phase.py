"""Notebook 05: the paper's phase diagram, trained as one batched model (toymodel.phase has the closed forms)."""

from __future__ import annotations

from collections.abc import Sequence
import math

import torch

from ..model import ToyModel
from ..phase import (
    candidate_losses,
    check_n_features,
    classify_candidate,
    classify_phase,
    theoretical_candidate,
    theoretical_phase,
)
from ..sweeps import PhaseDiagram
from ..train import evaluate_loss, train_toy_model
from ..validate import check_densities, check_positive_int, check_vector

__all__ = ["PHASE_DEFAULTS", "PHASE_EVAL_BATCH_SIZE", "phase_diagram"]


def _log_grid(n: int, low: float, high: float, name: str) -> torch.Tensor:
    """n log-spaced values from low to high (ascending), [n]; `name` is the count's parameter in an error."""
    check_positive_int(name, n)
    log10 = lambda v: torch.log10(torch.tensor(v, dtype=torch.float32))  # noqa: E731
    return torch.logspace(log10(low), log10(high), n, dtype=torch.float32)


PHASE_EVAL_BATCH_SIZE = 8192  # PhaseDiagram.loss: measured on 8 x 8192 fresh samples
PHASE_DEFAULTS = {  # why these: notebooks/README.md, section "Why the phase diagram's defaults"
    2: {"steps": 2000, "batch_size": 256, "n_seeds": 6},
    3: {"steps": 1000, "batch_size": 2048, "n_seeds": 4},
}


def phase_diagram(
    n_features: int = 2,
    *,
    ratios: Sequence[float] | torch.Tensor | None = None,
    densities: Sequence[float] | torch.Tensor | None = None,
    n_ratios: int = 20,
    n_densities: int = 20,
    n_seeds: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> PhaseDiagram:
    """The paper's phase diagram: n_features -> n_features - 1 (2 -> 1 or 3 -> 2), ReLU output model.

    The last ("extra") feature has importance r, the others 1; every feature has density p.  By default
    r runs over n_ratios log-spaced values from 0.1 to 10 and p over n_densities log-spaced values from
    0.01 to 1 (S = 0.99 ... 0), as in the paper.  Every grid point is one instance of ONE batched
    ToyModel, each the best (lowest loss) of n_seeds initialisations (the paper trains ten per point).
    Defaults (None): PHASE_DEFAULTS (2 -> 1: 2000 steps, batch 256, best of 6; 3 -> 2: 1000 steps, batch
    2048, best of 4); measured: notebooks/README.md, section "Why the phase diagram's defaults".
    """
    n_features = check_n_features(n_features)
    if ratios is None:
        r = _log_grid(n_ratios, 0.1, 10.0, "n_ratios")
    else:
        r = check_vector("ratios", ratios, 0.0, math.inf, low_open=True, high_open=True)
    p = _log_grid(n_densities, 0.01, 1.0, "n_densities") if densities is None else check_densities(densities)
    defaults = PHASE_DEFAULTS[n_features]
    n_seeds = defaults["n_seeds"] if n_seeds is None else n_seeds
    steps = defaults["steps"] if steps is None else steps
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    check_positive_int("n_seeds", n_seeds)
    K = len(r) * len(p)
    importance = torch.ones(K, n_features, dtype=torch.float32)
    importance[:, -1] = r.repeat_interleave(len(p))
    density = p.repeat(len(r))
    model = ToyModel(n_features, n_features - 1, K, seed=seed)
    result = train_toy_model(model, density, importance, steps=steps, batch_size=batch_size, seed=seed,
                             n_seeds=n_seeds, progress=progress)
    # the loss on a larger evaluation set than training's (8 x batch_size): at small p the interference
    # terms need two features active at once (probability p^2), which a small set hardly samples
    eval_loss = evaluate_loss(model, density, importance, batch_size=max(batch_size, PHASE_EVAL_BATCH_SIZE), seed=seed)
    grid = (len(r), len(p))
    rr, pp = r.double().numpy()[:, None], p.double().numpy()[None, :]
    return PhaseDiagram(
        n_features=n_features, ratio=r, density=p, model=model, loss=eval_loss.view(grid),
        phase=classify_phase(model.W).view(grid), candidate=classify_candidate(model.W).view(grid),
        theory_phase=torch.as_tensor(theoretical_phase(n_features, rr, pp)),
        theory_candidate=torch.as_tensor(theoretical_candidate(n_features, rr, pp)),
        candidate_loss=torch.as_tensor(candidate_losses(n_features, rr, pp), dtype=torch.float32),
        train=result,
    )
