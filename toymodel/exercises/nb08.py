"""Self-checks for notebook 08 (non-uniform superposition, correlated and anticorrelated features).

Each check prints feedback and returns True or False; it never raises, not even when the learner's code does.
The samplers are checked by their statistics on a large batch (tolerances of ~5 standard errors), so any
correct implementation passes, however it is written (torch or numpy, loops or vectorised).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from . import as_number, call_learner, feedback, unanswered

__all__ = [
    "CHECK_BATCH", "reference_anticorrelated_pairs", "reference_pair_cosine", "check_anticorrelated_sampler",
    "check_pair_cosine", "check_critical_ratio",
]

CHECK_BATCH = 40_000


def reference_anticorrelated_pairs(batch_size: int, n_pairs: int, density: float) -> torch.Tensor:
    """The worked answer: [batch_size, 2 n_pairs]; pair k = features 2k, 2k+1 is active with probability
    p = density, and then exactly one member, chosen uniformly, holds a U[0, 1) value."""
    active = torch.rand(batch_size, n_pairs) < density
    member = torch.randint(0, 2, (batch_size, n_pairs))
    values = torch.rand(batch_size, n_pairs)
    x = torch.zeros(batch_size, n_pairs, 2)
    x.scatter_(2, member[:, :, None], (values * active)[:, :, None])
    return x.reshape(batch_size, 2 * n_pairs)


def reference_pair_cosine(W: torch.Tensor) -> torch.Tensor:
    """The worked answer: the cosine between features 2k and 2k+1 of W [n_features, n_hidden], [n_features // 2]."""
    U = W / W.norm(dim=-1, keepdim=True)
    return (U[0::2] * U[1::2]).sum(-1)


def _as_array(out: Any) -> np.ndarray | None:
    try:
        if isinstance(out, torch.Tensor):
            return out.detach().cpu().double().numpy()
        a = np.asarray(out, dtype=float)
        return a if a.dtype != object else None
    except (TypeError, ValueError, RuntimeError):
        return None


def check_anticorrelated_sampler(fn: Any) -> bool:
    """Exercise 1: fn(batch_size, n_pairs, density) -> [batch_size, 2 * n_pairs] anticorrelated pairs (the paper's
    construction: a pair is active with probability p, then exactly one member, chosen uniformly, is U[0, 1))."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def anticorrelated_pairs(batch_size, n_pairs, density): ...")
    B, n_pairs, p = CHECK_BATCH, 3, 0.3
    out, err = call_learner(fn, B, n_pairs, p, on=f" on a batch of {B:,}")
    if err:
        return feedback(False, err)
    if out is None:
        return feedback(False, "Your function returned None: fill in its body and return the batch.")
    x = _as_array(out)
    if x is None or x.shape != (B, 2 * n_pairs):
        shape = None if x is None else x.shape
        return feedback(False, f"anticorrelated_pairs({B}, {n_pairs}, {p}) should have shape ({B}, {2 * n_pairs}) "
                               f"(batch, features), got {shape}.")
    if not np.isfinite(x).all() or (x < 0).any() or (x >= 1).any():
        return feedback(False, "Every value should lie in [0, 1): 0 when off, U[0, 1) when on.")
    on = x > 0
    pairs = on.reshape(B, n_pairs, 2)
    both = pairs.all(-1).mean()
    pair_active = pairs.any(-1).mean(0)  # [n_pairs]
    se = math.sqrt(p * (1 - p) / B)
    if both > 0:
        return feedback(False, f"Both members of a pair are non-zero in {both:.1%} of the samples. Anticorrelated "
                               "features never fire together: an active pair switches on exactly ONE member.")
    if np.abs(pair_active - 2 * p).max() < 6 * se:
        return feedback(False, f"Each pair is active with probability ~{2 * p:g}, not p = {p:g}: that is ARENA's "
                               "convention (each feature has density p). Here p is the probability that the pair "
                               "is active; the member it switches on then has density p / 2.")
    if np.abs(pair_active - p).max() > 6 * se:
        return feedback(False, f"A pair should be active with probability p = {p:g}; yours are active with "
                               f"probabilities {', '.join(f'{a:.3f}' for a in pair_active)}.")
    member_share = pairs[:, :, 0].mean(0) / np.maximum(pair_active, 1e-12)
    if np.abs(member_share - 0.5).max() > 6 * math.sqrt(0.25 / (B * p)):
        return feedback(False, "Choose the member uniformly: each member of an active pair should be the one "
                               f"switched on half the time (yours: first member {member_share.mean():.2f}).")
    values = x[on]
    if abs(values.mean() - 0.5) > 0.02 or abs((values < 0.25).mean() - 0.25) > 0.02:
        return feedback(False, "The value of the active member should be uniform on [0, 1) (mean 0.5, a quarter "
                               f"below 0.25); yours have mean {values.mean():.3f}.")
    a = pairs.any(-1).astype(float)
    corr = np.corrcoef(a.T)[np.triu_indices(n_pairs, 1)]
    if np.abs(corr).max() > 0.05:
        return feedback(False, "Different pairs should be independent (each pair makes its own on/off draw); "
                               f"yours are correlated ({np.abs(corr).max():.2f}).")
    return feedback(True, f"Each pair is active {p:g} of the time and never has both members on; each member fires "
                          f"with density {p / 2:g}, with U[0, 1) values.")


def check_pair_cosine(fn: Any) -> bool:
    """Exercise 2: fn(W) -> the cosine between features 2k and 2k+1 of W [n_features, n_hidden], [n_features // 2]."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def pair_cosine(W): ...")
    g = torch.Generator().manual_seed(0)
    W = torch.randn(6, 2, generator=g) * torch.tensor([0.3, 1.0, 2.0, 0.5, 1.5, 0.8])[:, None]
    out, err = call_learner(fn, W.clone())
    if err:
        return feedback(False, err)
    if out is None:
        return feedback(False, "Your function returned None: fill in its body and return the cosines.")
    got = _as_array(out)
    want = reference_pair_cosine(W).double().numpy()
    if got is None or got.size != want.size:
        return feedback(False, f"pair_cosine(W) for W of shape {tuple(W.shape)} should return {want.size} numbers "
                               f"(one per pair), got {None if got is None else got.shape}.")
    got = got.reshape(-1)
    if np.allclose(got, want, atol=1e-4):
        return feedback(True, "The cosine ignores the lengths: W^_2k . W^_2k+1 with W^ = W / ||W||.")
    dots = (W[0::2] * W[1::2]).sum(-1).double().numpy()
    if np.allclose(got, dots, atol=1e-4):
        return feedback(False, "That is the dot product W_2k . W_2k+1: divide by both norms to get a cosine.")
    if np.allclose(got, np.abs(want), atol=1e-4):
        return feedback(False, "Keep the sign: an antipodal pair has cosine -1, a collapsed one +1.")
    U = W / W.norm(dim=-1, keepdim=True)
    halves = (U[:3] * U[3:]).sum(-1).double().numpy()
    if np.allclose(got, halves, atol=1e-4):
        return feedback(False, "Pair k is features 2k and 2k+1 (0 with 1, 2 with 3, ...), not k and k + n/2.")
    return feedback(False, "Normalise each row of W, then take the dot product of rows 2k and 2k+1.")


def check_critical_ratio(answer: Any, run: Any) -> bool:
    """Exercise 3: read off where the two families' loss curves cross (run.critical_ratio()), within 15%."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None or value <= 0:
        return feedback(False, "Write a positive number: how many times sparser feature 4 is at the crossing.")
    right = run.critical_ratio()
    if abs(math.log(value / right)) < math.log(1.15):
        return feedback(True, f"The curves cross near {right:.2g}x: sparser than that, dropping feature 4 and "
                              "storing the other four as two digons costs less.")
    if abs(math.log(value * right)) < math.log(1.15):
        return feedback(False, "That is the inverse: the ratio counts how many times SPARSER feature 4 is (> 1).")
    return feedback(False, "Read the x position where the blue (pentagon) and orange (digons) curves cross.")
