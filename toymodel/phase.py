"""The paper's phase change: closed-form losses of the natural solutions, and a phase classifier.

Setup (paper, "Superposition as a Phase Change"): the ReLU output model x' = ReLU(W^T W x + b)
with one "extra" feature (the last one) of importance r, the others of importance 1, every feature
of density p = 1 - S (0 with probability 1 - p, else uniform on [0, 1)).

Loss convention: the library's, L = mean over the n features of I_i E[(x_i - x'_i)^2].
Two expectations make every closed form (x one feature, U, V independent U[0, 1)):

    V(p) = Var(x) = E[x^2] - E[x]^2 = p/3 - p^2/4
           the loss of a feature the model ignores: its best constant output is b_i = E[x] = p/2.
    A(p) = p^2 E[min(U, V)^2] = p^2 / 6
           the loss of one feature of an antipodal pair (W_j = -W_i, unit norms, b = 0): alone, a
           feature is reconstructed exactly (ReLU cuts its partner's negative interference); when both
           are active (probability p^2) the larger comes out as max - min and the smaller as 0, so
           EACH feature is off by min(x_i, x_j).  min(U, V) has density 2(1 - t): E[min^2] = 1/6.

The candidates use unit weights and zero bias (the paper's and Wattenberg's choice), except for the
ignored feature's optimal constant p/2.  Represented features alone in their dimension are then exact,
so only the antipodal candidates could lower their loss with a smaller scale or a negative bias: the
closed forms are upper bounds there, and the theoretical map slightly under-rates superposition.

Candidates (W is stored [n_features, n_hidden]; the paper writes "W perp v" for W v = 0):

    2 features -> 1 dim       loss                  phase of the extra feature
      W = [1, 0]              r V / 2               not learned
      W = [0, 1]              V / 2                 dedicated dimension
      W = [1, -1]             (1 + r) A / 2         superposition
    3 features -> 2 dims (feature 2 is the extra one)
      W perp [0, 0, 1]        r V / 3               not learned
      W perp [1, 0, 0]        V / 3                 dedicated dimension (one other feature dropped)
      W perp [0, 1, 1]        (1 + r) A / 3         superposition (antipodal with feature 1)
      W perp [1, 1, 0]        2 A / 3               dedicated dimension (the other two antipodal)
    The paper leaves out W perp [1, 1, 1] (all three at 120 degrees); the classifier still names it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .metrics import REPRESENTED_THRESHOLD, as_weights, unit_rows
from .model import ToyModel
from .validate import check_numbers, check_threshold

__all__ = [
    "antipodal_loss", "candidate_losses", "candidate_model", "CANDIDATE_PHASE", "candidate_weights", "CANDIDATES",
    "check_n_features", "classify_candidate", "classify_phase", "DEDICATED", "ignored_loss", "INTERACTION_THRESHOLD",
    "NOT_LEARNED", "OTHER", "PHASES", "SUPERPOSITION", "theoretical_candidate", "theoretical_phase", "TRIANGLE",
    "TRIANGLE_NAME",
]

PHASES = ("not learned", "superposition", "dedicated dimension")
NOT_LEARNED, SUPERPOSITION, DEDICATED = 0, 1, 2
OTHER = -1  # a trained model that matches none of the candidates

CANDIDATES = {
    2: ("W = [1, 0]", "W = [0, 1]", "W = [1, -1]"),
    3: ("W ⊥ [0,0,1]", "W ⊥ [1,0,0]", "W ⊥ [0,1,1]", "W ⊥ [1,1,0]"),
}
# the extra feature's phase in each candidate
CANDIDATE_PHASE = {2: (NOT_LEARNED, DEDICATED, SUPERPOSITION), 3: (NOT_LEARNED, DEDICATED, SUPERPOSITION, DEDICATED)}
TRIANGLE = 4  # 3 -> 2 only: W perp [1, 1, 1], all three features in joint superposition (not in the paper)
TRIANGLE_NAME = "W ⊥ [1,1,1]"
INTERACTION_THRESHOLD = -0.25  # |cos(W_extra, W_j)| above -this: the extra feature shares a line with j


def check_n_features(n_features: object) -> int:
    """n_features must be 2 (the 2 -> 1 diagram) or 3 (3 -> 2); returned as an int."""
    if isinstance(n_features, bool) or n_features not in CANDIDATES:
        raise ValueError(f"n_features must be 2 (2 -> 1 dim) or 3 (3 -> 2 dims), got {n_features!r}")
    return int(n_features)  # type: ignore[call-overload]


def _densities(density: Any) -> np.ndarray:
    return check_numbers("density", density, 0.0, 1.0, low_open=True)


def _ratios(ratio: Any) -> np.ndarray:
    return check_numbers("ratio", ratio, 0.0, math.inf, low_open=True, high_open=True)


def ignored_loss(density: Any) -> np.ndarray:
    """V(p) = p/3 - p^2/4: E[(x - p/2)^2], the loss of a feature that gets only its best constant output."""
    p = _densities(density)
    return p / 3 - p**2 / 4


def antipodal_loss(density: Any) -> np.ndarray:
    """A(p) = p^2 / 6: the loss of one feature of a unit antipodal pair (b = 0), E[1{both active} min(x_i, x_j)^2]."""
    p = _densities(density)
    return p**2 / 6


def candidate_losses(n_features: int, ratio: Any, density: Any) -> np.ndarray:
    """Closed-form expected loss of each candidate, shape broadcast(ratio, density).shape + [n_candidates].

    ratio r: the extra feature's importance relative to the others (> 0); density p: of every feature,
    in (0, 1].  Both broadcast (pass r[:, None] and p[None, :] for a grid).  Order: CANDIDATES[n_features].
    """
    n = check_n_features(n_features)
    r = _ratios(ratio)
    V, A = ignored_loss(density), antipodal_loss(density)
    r, V, A = np.broadcast_arrays(r, V, A)
    if n == 2:
        out = [r * V, V, (1 + r) * A]
    else:
        out = [r * V, V, (1 + r) * A, 2 * A]
    return np.stack(out, axis=-1) / n


def theoretical_candidate(n_features: int, ratio: Any, density: Any) -> np.ndarray:
    """Index (into CANDIDATES[n_features]) of the candidate with the lowest closed-form loss, broadcast shape."""
    return candidate_losses(n_features, ratio, density).argmin(-1)


def theoretical_phase(n_features: int, ratio: Any, density: Any) -> np.ndarray:
    """The extra feature's phase (NOT_LEARNED, SUPERPOSITION or DEDICATED) in the best candidate."""
    n = check_n_features(n_features)
    return np.asarray(CANDIDATE_PHASE[n])[theoretical_candidate(n, ratio, density)]


def candidate_weights(n_features: int, candidate: int, density: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The candidate's (W [n_features, n_hidden], b [n_features]): unit weights, b_i = p/2 for an ignored feature.

    candidate: an index into CANDIDATES[n_features], or TRIANGLE (3 -> 2 only; unit vectors 120 degrees apart, b = 0).
    """
    n = check_n_features(n_features)
    names = CANDIDATES[n]
    if isinstance(candidate, bool) or candidate not in (*range(len(names)), *((TRIANGLE,) if n == 3 else ())):
        raise ValueError(f"candidate must be an index into {names}" + (" or TRIANGLE (4)" if n == 3 else "")
                         + f", got {candidate!r}")
    p = float(_densities(density))
    b = torch.zeros(n, dtype=torch.float32)
    if n == 2:
        W = torch.tensor([[1.0], [0.0]] if candidate == 0 else [[0.0], [1.0]] if candidate == 1 else [[1.0], [-1.0]],
                         dtype=torch.float32)
        if candidate in (0, 1):
            b[1 - candidate] = p / 2
        return W, b
    e1, e2 = [1.0, 0.0], [0.0, 1.0]
    if candidate == TRIANGLE:
        angles = torch.tensor([90.0, 210.0, 330.0], dtype=torch.float32).deg2rad()
        return torch.stack([angles.cos(), angles.sin()], 1), b
    rows = {0: [e1, e2, [0.0, 0.0]], 1: [[0.0, 0.0], e1, e2], 2: [e1, e2, [0.0, -1.0]], 3: [e1, [-1.0, 0.0], e2]}
    if candidate in (0, 1):
        b[2 if candidate == 0 else 0] = p / 2
    return torch.tensor(rows[candidate], dtype=torch.float32), b


def candidate_model(
    n_features: int, settings: list[tuple[int, float, float]]
) -> tuple[ToyModel, torch.Tensor, torch.Tensor]:
    """A ToyModel with one instance per (candidate, r, p) in settings, its W and b set to that candidate.

    Returns (model, density [K], importance [K, n_features]) ready for train.evaluate_loss, which then
    samples the very loss the closed forms compute.
    """
    n = check_n_features(n_features)
    if not settings:
        raise ValueError("settings must hold at least one (candidate, r, p) triple")
    model = ToyModel(n, n - 1, len(settings), seed=None)
    importance = torch.ones(len(settings), n, dtype=torch.float32)
    with torch.no_grad():
        for k, (c, r, p) in enumerate(settings):
            model.W[k], model.b[k] = candidate_weights(n, c, p)
            importance[k, -1] = float(_ratios(r))
    return model, torch.tensor([float(p) for _, _, p in settings], dtype=torch.float32), importance


def classify_candidate(W: Any, threshold: float = REPRESENTED_THRESHOLD) -> torch.Tensor:
    """Which candidate each trained instance resembles, [n_instances] long (OTHER = -1 if none).

    W: [n_instances, n_features, n_hidden] (or a ToyModel) with n_features 2 or 3, the extra feature last.
    Rule: a feature is represented when ||W_i|| > threshold (0.5, as everywhere in the library); two
    represented features share a dimension when their cosine is below INTERACTION_THRESHOLD (-0.25:
    ReLU makes negative interference cheap, so shared dimensions are antipodal, cos ~ -1, or 120
    degrees apart, cos -0.5; orthogonal features have cos ~ 0).
      2 -> 1: extra not represented -> [1, 0]; extra alone -> [0, 1]; both, sharing -> [1, -1].
      3 -> 2: represented set {0, 1} -> perp [0,0,1]; {0, 2} or {1, 2} -> perp [1,0,0] (one dropped);
              all three: exactly one sharing pair, (extra, j) -> perp [0,1,1], (0, 1) -> perp [1,1,0];
              all three pairs sharing -> TRIANGLE (perp [1,1,1]).
      Anything else (e.g. a dense model's tilted projection) is OTHER.
    """
    Wt = as_weights(W)
    n = check_n_features(Wt.shape[1])
    check_threshold(threshold)
    rep = Wt.norm(dim=-1) > threshold  # [K, n]
    U = unit_rows(Wt)
    shares = (U @ U.transpose(-1, -2) < INTERACTION_THRESHOLD) & rep[:, :, None] & rep[:, None, :]  # [K, n, n]
    out = torch.full((Wt.shape[0],), OTHER, dtype=torch.long)
    for k in range(Wt.shape[0]):
        kept = tuple(int(i) for i in torch.nonzero(rep[k]).flatten())
        pairs = {(i, j) for i in range(n) for j in range(i + 1, n) if bool(shares[k, i, j])}
        if n == 2:
            if kept in ((0,), ()):
                out[k] = 0
            elif kept == (1,):
                out[k] = 1
            elif pairs == {(0, 1)}:
                out[k] = 2
            continue
        if kept == (0, 1) and not pairs:
            out[k] = 0
        elif kept in ((0, 2), (1, 2)) and not pairs:
            out[k] = 1
        elif kept == (0, 1, 2):
            if pairs in ({(0, 2)}, {(1, 2)}):
                out[k] = 2
            elif pairs == {(0, 1)}:
                out[k] = 3
            elif len(pairs) == 3:
                out[k] = TRIANGLE
    return out


def classify_phase(W: Any, threshold: float = REPRESENTED_THRESHOLD) -> torch.Tensor:
    """The extra (last) feature's phase per instance, [n_instances] long: NOT_LEARNED, SUPERPOSITION or DEDICATED.

    Not learned: ||W_extra|| <= threshold.  Superposition: represented and on the same line as a represented
    feature (|cosine| > -INTERACTION_THRESHOLD: antipodal, or pointing the same way).  Dedicated: represented
    and near-orthogonal (|cosine| <= 0.25) to every other represented feature.
    Unlike classify_candidate this never answers OTHER: it looks at the extra feature only.
    """
    Wt = as_weights(W)
    check_n_features(Wt.shape[1])
    check_threshold(threshold)
    norms = Wt.norm(dim=-1)
    rep = norms > threshold
    U = unit_rows(Wt)
    cos = (U[:, :-1] @ U[:, -1:].transpose(-1, -2))[..., 0]  # [K, n - 1]: cos(W_j, W_extra)
    shares = ((cos.abs() > -INTERACTION_THRESHOLD) & rep[:, :-1]).any(-1)
    phase = torch.where(shares, SUPERPOSITION, DEDICATED)
    return torch.where(rep[:, -1], phase, NOT_LEARNED).long()
