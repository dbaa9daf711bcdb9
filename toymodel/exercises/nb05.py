"""Self-checks for notebook 05 (the phase change: 2 features in 1 dimension, 3 in 2).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
The right answers come from the closed forms in toymodel.phase, not from training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..phase import candidate_losses, theoretical_candidate
from . import UNANSWERED, as_feature_set, as_number, call_learner, feedback, read_answer, unanswered

__all__ = [
    "antipodal_loss_value", "check_A", "check_boundary", "check_parallel_loss",
    "check_shared_pair", "check_V", "CHECK_DENSITIES", "P_STAR_R1", "parallel_loss_value", "shared_pair",
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


P_STAR_R1 = 4 / 7


def check_boundary(answer: Any) -> bool:
    """Exercise 2: at r = 1, the density p* below which the unit candidate W = [1, -1], b = 0 beats dropping a
    feature: V/2 = A -> p* = 4/7.  (Trained models, not limited to unit weights and zero bias, share a little
    denser too.)"""
    value = read_answer(answer, as_number, "Write a number, e.g. answer = 0.5 (or a fraction such as 1 / 2).")
    if value is None:
        return False
    if abs(value - P_STAR_R1) <= 0.01:
        return feedback(True, "(p/3 - p^2/4) / 2 = 2 p^2 / 12  ->  p/3 = 7 p^2 / 12  ->  p* = 4/7 ≈ 0.571 "
                              "(S ≈ 0.43): sparser than that, the unit antipodal pair beats dropping a feature. "
                              "That is the boundary of the candidate family; section 4 trained a shortened pair "
                              "with biases that wins a little denser too.")
    if abs(value - (1 - P_STAR_R1)) <= 0.01:
        return feedback(False, "That is the sparsity S* = 1 - p*. The question asks for the density p*.")
    if abs(value - 2 / 3) <= 0.01:
        return feedback(False, "Keep the -p^2/4 of the variance: V(p) = p/3 - p^2/4, not p/3.")
    return feedback(False, "Set the two losses equal: r V(p) / 2 with V = p/3 - p^2/4 (drop the extra feature) and "
                           "(1 + r) p^2 / 12 (antipodal pair), with r = 1, and solve for p > 0.")


def shared_pair(r: float = 5.0, p: float = 0.5) -> set[int]:
    """3 -> 2: the two features that share a dimension (antipodal) in the best closed-form candidate at (r, p);
    the empty set when the best candidate has no pair (a feature dropped instead)."""
    c = int(theoretical_candidate(3, r, p))
    return {2: {1, 2}, 3: {0, 1}}.get(c, set())


def check_shared_pair(answer: Any, r: float = 5.0, p: float = 0.5) -> bool:
    """Exercise 3: 3 -> 2 at (r, p): which two features form the antipodal pair (set() if none does)?"""
    if unanswered(answer):
        return False
    chosen = as_feature_set(answer)
    if chosen is None or len(chosen) not in (0, 2) or not chosen <= {0, 1, 2}:
        return feedback(False, "Write the two feature indices (0, 1 or 2; the extra feature is 2), "
                               "e.g. answer = {0, 2}, or answer = set() if no two features share a dimension.")
    right = shared_pair(r, p)
    if right == {1, 2} and chosen == {0, 2}:
        right = chosen  # features 0 and 1 are interchangeable (both importance 1): either pairs with the extra one
    L = candidate_losses(3, r, p)
    losses = f"r V/3 = {L[0]:.3g}, V/3 = {L[1]:.3g}, (1 + r) A/3 = {L[2]:.3g}, 2A/3 = {L[3]:.3g}"
    if chosen == right:
        if not right:
            return feedback(True, f"No pair: dropping a feature is cheapest here ({losses}).")
        return feedback(True, f"At r = {r:g}, p = {p:g} the pair is {sorted(right)} ({losses}): an antipodal pair "
                              "costs each of its features A(p) times its importance, so the model pairs the two "
                              "cheapest ones and gives the most important feature a dimension of its own.")
    if not chosen:
        return feedback(False, f"A pair is still cheaper than dropping a feature at p = {p:g}: {losses}. "
                               "Which candidate is the lowest?")
    if not right:
        return feedback(False, f"At p = {p:g} no pair wins: dropping a feature is cheaper ({losses}).")
    if 2 in chosen and 2 not in right:
        return feedback(False, f"Pairing the extra feature costs (1 + r) A/3 = {L[2]:.3g}; pairing the other two "
                               f"costs 2A/3 = {L[3]:.3g}. Which is cheaper when r > 1?")
    if 2 not in chosen and 2 in right:
        return feedback(False, f"Pairing features 0 and 1 costs 2A/3 = {L[3]:.3g}; pairing the extra feature "
                               f"with one of them costs (1 + r) A/3 = {L[2]:.3g}. Which is cheaper when r < 1?")
    return feedback(False, "Compare the closed forms of W ⊥ [0,1,1] and W ⊥ [1,1,0].")


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
