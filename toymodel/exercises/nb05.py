"""Self-checks for notebook 05 (the phase change: 2 features in 1 dimension, 3 in 2).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
The right answers come from the closed forms in toymodel.phase, not from training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..phase import candidate_losses, theoretical_candidate
from . import (
    UNANSWERED,
    as_feature_set,
    as_number,
    call_learner,
    feedback,
    judge_number,
    read_answer,
    unanswered,
)

__all__ = [
    "antipodal_loss_value", "check_A", "check_boundary", "check_parallel_loss", "check_shared_pair", "check_V",
    "CHECK_DENSITIES", "P_STAR_R1", "PAIR_POINTS", "p_star", "parallel_loss_value", "shared_pair",
]


def antipodal_loss_value(r: float = 2.0, p: float = 0.2) -> float:
    """The closed-form loss of W = [1, -1], b = 0 (2 -> 1): (1 + r) p^2 / 12."""
    return float(candidate_losses(2, r, p)[2])


def parallel_loss_value(r: float = 2.0, p: float = 0.2) -> float:
    """The loss of W = [1, 1], b = 0 (2 -> 1, both features the same way): (1 + r) p / 6.

    x'_0 = x'_1 = ReLU(x_0 + x_1) = x_0 + x_1, so feature 0 is off by x_1 whenever x_1 is active (and feature 1
    by x_0): each costs E[x^2] = p/3 times its importance, averaged over the 2 features.
    """
    return (1 + r) * p / 6


def check_parallel_loss(answer: Any, r: float = 2.0, p: float = 0.2) -> bool:
    """Exercise 1: the expected loss of W = [1, 1], b = 0 (both features pointing the same way) at r and p."""
    value = read_answer(answer, as_number,
                        "Write a number, e.g. answer = 0.123 (or a formula such as (1 + 2) * 0.2 / 6).")
    if value is None:
        return False
    right = parallel_loss_value(r, p)
    close = lambda target: abs(value - target) <= 0.02 * abs(target)  # noqa: E731
    if close(right):
        return feedback(True, f"x'_0 = x'_1 = x_0 + x_1, so each feature is off by the OTHER one whenever it is "
                              f"active: E[x^2] = p/3 each, (1 + r) p / 6 = {right:.4g} in all, "
                              f"{right / antipodal_loss_value(r, p):.3g} times the antipodal pair's loss. A "
                              "positive interference is never cut off by the ReLU.")
    if close(antipodal_loss_value(r, p)):
        return feedback(False, "That is the antipodal pair W = [1, -1]. Here the interference is positive: "
                               "x'_0 = ReLU(x_0 + x_1), and the ReLU cuts nothing off.")
    if close(2 * right):
        return feedback(False, "Close: the library's loss is the MEAN over the 2 features, not their sum.")
    if close(right * 2 / (1 + r)) or close(right * 2 * r / (1 + r)):
        return feedback(False, "Weight each feature's error by its own importance: 1 for feature 0, r for the "
                               "extra one.")
    if close((1 + r) * p**2 / 6):
        return feedback(False, "Feature 0 is off by x_1 whenever x_1 is active, whether or not x_0 is: the "
                               "error has probability p, not p^2.")
    if close((1 + r) * (p / 3 - p**2 / 4) / 2):
        return feedback(False, "That uses the variance V(p). With b = 0 the error is x_1 itself, so its mean "
                               "square is E[x^2] = p/3.")
    return feedback(False, "Write x'_0 = ReLU(x_0 + x_1) = x_0 + x_1: feature 0's error is x_1. Its mean square "
                           "is E[x^2] = p/3; weight by importance (1 and r) and average over the 2 features.")


def p_star(r: float) -> float:
    """2 -> 1: the density below which the unit antipodal pair (W = [1, -1], b = 0) loses less than the better way
    to drop a feature.  Dropping costs min(r, 1) V / 2 (the less important feature goes), the pair (1 + r) A / 2:
    p* = 4r / (2 + 5r) for r <= 1, 4 / (5 + 2r) for r >= 1."""
    return 4 * r / (2 + 5 * r) if r <= 1 else 4 / (5 + 2 * r)


P_STAR_R1 = p_star(1.0)  # 4/7


def _crossing(dropped: float, pair: float, ignored_is_variance: bool = True) -> float:
    """The p > 0 where dropped * (ignored feature's loss) = pair * A(p), with A = p^2/6 and the ignored feature's
    loss V = p/3 - p^2/4 (or E[x^2] = p/3 when ignored_is_variance is False)."""
    return (dropped / 3) / ((dropped / 4 if ignored_is_variance else 0.0) + pair / 6)


def _boundary_mistakes(r: float) -> list[tuple[float, str]]:
    """Known wrong answers for the boundary at r (their values and what each one means)."""
    lo, hi = min(r, 1.0), max(r, 1.0)  # importance of the cheaper feature to drop, and of the other one
    cheap = "the extra feature" if r < 1 else "feature 0"
    drop = "r V(p) / 2" if r < 1 else "V(p) / 2"
    return [
        (1 - p_star(r), "That is the sparsity S* = 1 - p*. The question asks for the density p*."),
        (_crossing(hi, 1 + r),
         f"That drops the more important feature. At r = {r:g} the cheaper one to drop is {cheap} (importance "
         f"{lo:g}): compare {drop} with the pair's (1 + r) A(p) / 2."),
        (_crossing(lo, 1 + r, ignored_is_variance=False),
         "That uses E[x^2] = p/3 for the ignored feature. Its best constant output is b = p/2, not 0, so it costs "
         "only its variance V(p) = p/3 - p^2/4."),
        (P_STAR_R1, f"That is the boundary at r = 1. The pair costs each feature A(p) times its OWN importance: "
                    f"(1 + r) A(p) / 2 with r = {r:g}."),
        (_crossing(lo, 1.0), "The pair costs BOTH its features: (1 + r) A(p) / 2, not A(p) / 2."),
        (_crossing(lo, r), "The pair costs both its features, each A(p) times its importance: (1 + r) A(p), "
                           "not r A(p)."),
        (_crossing(lo / 2, 1 + r), "Both losses are means over the 2 features: divide both sides by 2, or neither."),
    ]


def check_boundary(answer: Any, r: float = 3.0) -> bool:
    """Exercise 1: at relative importance r, the density p* below which the unit antipodal pair W = [1, -1], b = 0
    beats the better way to drop a feature (p_star(r); 4/11 at r = 3).  Trained models, not limited to unit weights
    and zero bias, share a little denser too."""
    value = read_answer(answer, as_number, "Write a number, e.g. answer = 0.5 (or a fraction such as 1 / 2).")
    if value is None:
        return False
    right = p_star(r)
    drop = "r V(p) / 2" if r < 1 else "V(p) / 2"
    return judge_number(
        value, right, 0.01,
        f"{drop} = (1 + r) A(p) / 2 at p* = {right:.3f} (S* = {1 - right:.3f}): sparser than that, the unit "
        "antipodal pair beats dropping the less important feature. That is the boundary of the candidate family; "
        "trained models (section 6) share a little denser too.",
        [(w, m) for w, m in _boundary_mistakes(r) if abs(w - right) > 0.02],
        f"Which feature is cheaper to drop at r = {r:g}? Set its loss, {drop} with V = p/3 - p^2/4, equal "
        "to the pair's (1 + r) A(p) / 2 with A = p^2/6, and solve for p > 0 (or scan p numerically).")


def shared_pair(r: float = 5.0, p: float = 0.5) -> set[int]:
    """3 -> 2: the two features that share a dimension (antipodal) in the best closed-form candidate at (r, p);
    the empty set when the best candidate has no pair (a feature dropped instead)."""
    c = int(theoretical_candidate(3, r, p))
    return {2: {1, 2}, 3: {0, 1}}.get(c, set())


# (r, p) where the check calls the learner's shared_pair: both sides of r = 1, sparse and dense, every point at
# least 20% in loss from a candidate with another answer, so a sampled V and A give the same answer
PAIR_POINTS = ((0.2, 0.05), (0.2, 0.5), (0.3, 0.1), (0.5, 0.2), (0.5, 0.8), (2.0, 0.3), (2.0, 0.9), (5.0, 0.05),
               (5.0, 0.8), (10.0, 0.2))


def _pair_losses(r: float, p: float) -> str:
    L = candidate_losses(3, r, p)
    return (f"At r = {r:g}, p = {p:g}: r V/3 = {L[0]:.3g}, V/3 = {L[1]:.3g}, (1 + r) A/3 = {L[2]:.3g}, "
            f"2A/3 = {L[3]:.3g}")


def _same_pair(got: set[int], right: set[int]) -> bool:
    """Features 0 and 1 are interchangeable (both importance 1): {0, 2} is as right as {1, 2}."""
    return got == right or (right == {1, 2} and got == {0, 2})


def check_shared_pair(fn: Any) -> bool:
    """Exercise 2: fn(r, p) -> the set of the two features antipodal in the cheapest 3 -> 2 candidate, or set()."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def shared_pair(r, p): ... returning a set such as {0, 2}.")
    got = {}
    for r, p in PAIR_POINTS:
        out, err = call_learner(fn, r, p, on=f" on r = {r:g}, p = {p:g}")
        if err:
            if "ellipsis" in err:
                return feedback(False, f"{err}. Are V and A still the stubs? Finish them first (section 2).")
            return feedback(False, err)
        if out is ...:
            print(UNANSWERED)
            return False
        chosen = None if isinstance(out, (str, bytes)) else as_feature_set(out) if out is not None else None
        if chosen is None or len(chosen) not in (0, 2):
            return feedback(False, f"shared_pair({r:g}, {p:g}) returned {out!r}: return a set of two feature "
                                   "indices, e.g. {0, 2}, or set() when the cheapest candidate has no pair.")
        if not chosen <= {0, 1, 2}:
            return feedback(False, f"shared_pair({r:g}, {p:g}) returned {sorted(chosen)}: the features are numbered 0, "
                                   "1 and 2 (the extra one is 2).")
        got[r, p] = chosen
    right = {rp: shared_pair(*rp) for rp in PAIR_POINTS}
    wrong = [rp for rp in PAIR_POINTS if not _same_pair(got[rp], right[rp])]
    if not wrong:
        return feedback(True, "At all 10 points. Sparse, the two cheapest features share a dimension (the extra one "
                              "with feature 0 or 1 when r < 1, features 0 and 1 when r > 1); dense, dropping a "
                              "feature is cheaper.")
    sparse_pair = [rp for rp in PAIR_POINTS if right[rp]]
    dense_none = [rp for rp in PAIR_POINTS if not right[rp]]
    if all(got[rp] for rp in dense_none) and all(rp not in wrong for rp in sparse_pair):
        rp = dense_none[0]
        return feedback(False, f"Your function always returns a pair. {_pair_losses(*rp)}: dropping a feature is "
                               "cheaper there. Compare all four candidates, the two that drop a feature too.")
    if all(not got[rp] for rp in PAIR_POINTS):
        rp = sparse_pair[0]
        return feedback(False, f"Your function never returns a pair. {_pair_losses(*rp)}.")
    swapped = {rp: ({0, 1} if rp[0] < 1 else {1, 2}) if right[rp] else set() for rp in PAIR_POINTS}
    if all(_same_pair(got[rp], swapped[rp]) or got[rp] == swapped[rp] for rp in sparse_pair):
        rp = next(rp for rp in sparse_pair if rp[0] > 1)
        return feedback(False, f"That pairs the MOST important features. A pair costs each member A times its "
                               f"importance, so the cheap features share. {_pair_losses(*rp)}.")
    rp = wrong[0]
    shown = sorted(got[rp]) if got[rp] else "set()"
    return feedback(False, f"shared_pair({rp[0]:g}, {rp[1]:g}) returned {shown}, but: {_pair_losses(*rp)}; the "
                           f"cheapest is {sorted(right[rp]) if right[rp] else 'a candidate with no pair (set())'}.")


CHECK_DENSITIES = (0.02, 0.1, 0.3, 0.6, 1.0)


def _learner_curve(fn: Any, name: str) -> tuple[np.ndarray | None, np.ndarray, str | None]:
    """Run fn on CHECK_DENSITIES, one call per density (a float), so a closed form and a sampler both fit."""
    p = np.array(CHECK_DENSITIES)
    if not callable(fn):
        return None, p, f"Write a function: def {name}(density): ... returning one number."
    values = []
    for q in CHECK_DENSITIES:
        out, err = call_learner(fn, q)
        if err:
            return None, p, err
        if out is ...:  # the stub's `return ...` not filled in yet
            return None, p, UNANSWERED
        if isinstance(out, torch.Tensor):
            out = out.item() if out.numel() == 1 else None
        elif isinstance(out, np.ndarray):
            out = out.item() if out.size == 1 else None
        value = as_number(out)
        if value is None:
            return None, p, f"{name}({q}) should return one number, got {type(out).__name__}."
        values.append(value)
    return np.array(values), p, None


def _check_curve(fn: Any, name: str, right: np.ndarray, mistakes: list[tuple[np.ndarray, str]],
                 success: str, hint: str) -> bool:
    """Compare fn on CHECK_DENSITIES with `right` (5% or 3e-4: room for a sampling estimate), then with each
    known mistake."""
    if unanswered(fn):
        return False
    value, p, err = _learner_curve(fn, name)
    if err == UNANSWERED:
        print(UNANSWERED)
        return False
    if err:
        return feedback(False, err)
    close = lambda a, b: bool(np.all(np.abs(a - b) <= 0.05 * np.abs(b) + 3e-4))  # noqa: E731
    if close(value, right):
        return feedback(True, success)
    for wrong, message in mistakes:
        if close(value, wrong):
            return feedback(False, message)
    shown = ", ".join(f"{name}({q:g}) = {v:.4g}" for q, v in zip(p, value))
    return feedback(False, f"{shown}. {hint}")


def check_V(fn: Any) -> bool:
    """Build V(p): fn(density) -> the loss of a feature the model ignores, E[(x - b)^2] at its best constant
    output b = E[x], for x = 0 with probability 1 - p, else U[0, 1).  Right: p/3 - p^2/4 (by hand or by sampling)."""
    p = np.array(CHECK_DENSITIES)
    return _check_curve(
        fn, "V", p / 3 - p**2 / 4,
        [(p / 3, "That is E[x^2]. The best constant output is b = E[x] = p/2, not 0: subtract E[x]^2 = p^2/4."),
         (p / 12, "That is p/12: p Var(U), which misses the spread between 'absent' (0) and 'present' (mean "
                  "1/2), or p/3 - p/4 with E[x]^2 written p/4. V = E[x^2] - E[x]^2 with E[x^2] = p/3 and "
                  "E[x]^2 = (p/2)^2."),
         ((1 - p) / 3 - (1 - p) ** 2 / 4, "Density and sparsity are swapped: the feature is present with "
                                          "probability p = density, absent with probability S = 1 - p."),
         (p / 3 - p**2 / 2, "E[x]^2 = (p/2)^2 = p^2/4, not p^2/2.")],
        "V(p) = E[x^2] - E[x]^2 = p/3 - p^2/4: the variance of a feature, the loss of its best constant guess.",
        "V(p) = E[(x - E[x])^2] for x = 0 with probability 1 - p, else U[0, 1). E[x^2] = p * E[U^2].")


def check_A(fn: Any) -> bool:
    """Build A(p): fn(density) -> the loss of ONE feature of a unit antipodal pair (W = [1, -1], b = 0):
    E[(x_0 - x'_0)^2] with x'_0 = ReLU(x_0 - x_1), both features independent at density p.  Right: p^2/6."""
    p = np.array(CHECK_DENSITIES)
    return _check_curve(
        fn, "A", p**2 / 6,
        [(p / 6, "An error needs BOTH features active (probability p * p = p^2), not one: when x_1 = 0 the "
                 "ReLU returns x_0 exactly."),
         (p**2 / 12, "When both are active, the larger comes out as max - min and the smaller as 0: EACH is off "
                     "by min(x_0, x_1). Count feature 0's error in both cases (x_0 > x_1 and x_0 < x_1)."),
         (p**2 / 4, "E[min(U, V)^2] is 1/6, not 1/4: min(U, V) has density 2(1 - t) on [0, 1]."),
         (p**2 / 3, "The error is min(x_0, x_1), not x_0 itself: with x_0 > x_1 the output is x_0 - x_1."),
         ((1 - p) ** 2 / 6, "Density and sparsity are swapped: each feature is present with probability p.")],
        "A(p) = p^2 E[min(U, V)^2] = p^2/6: only when both features fire does the pair interfere.",
        "Feature 0's error is nonzero only when both features are active (probability p^2), and then it is "
        "min(x_0, x_1). What is E[min(U, V)^2]?")
