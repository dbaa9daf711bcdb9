"""Self-checks for notebook 02 (sparse vs dense: 20 features in 5 hidden dimensions).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
The right answers are computed from the sweep the notebook trained, not hard-coded.
"""

from __future__ import annotations

from typing import Any

import torch

from ..metrics import represented
from . import as_number, check_weight_measure, feedback, measure_test_weights, unanswered

__all__ = [
    "check_dims_per_feature", "check_first_dropped", "check_n_represented", "check_superposition", "first_dropped",
]






def check_n_represented(answer: Any, sweep: Any, density: float = 0.01) -> bool:
    """Exercise 1: how many features does the model represent at the setting nearest `density`?"""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None or value != int(value):
        return feedback(False, "Write a whole number of features, e.g. answer = 6.")
    k = sweep.nearest(density=density)
    right = int(sweep.n_represented()[k])
    setting = sweep.label(k)
    if int(value) == right:
        return feedback(True, f"At {setting}, {right} features have ||W_i|| > 0.5, "
                              f"in {sweep.model.n_hidden} hidden dimensions.")
    return feedback(False, f"Find the panel titled {setting} and count the bars that reach past the dashed "
                           "0.5 line (grey bars are not represented).")


def first_dropped(sweep: Any) -> int | None:
    """The most important (lowest-index) feature that is not represented at the sparsest setting."""
    k = int(sweep.density.argmin())
    missing = (~represented(sweep.W)[k]).nonzero().flatten()
    return int(missing[0]) if len(missing) else None


def check_first_dropped(answer: Any, sweep: Any) -> bool:
    """Exercise 2: at the sparsest setting, the most important feature that is NOT represented."""
    if unanswered(answer):
        return False
    right = first_dropped(sweep)
    k = int(sweep.density.argmin())
    value = as_number(answer)
    if right is None:  # every feature is represented: there is no right index to give
        return feedback(False, f"At {sweep.label(k)} every feature is represented in this run.")
    if value is None or value != int(value):
        return feedback(False, "Write one feature index, e.g. answer = 7.")
    if int(value) == right:
        return feedback(True, f"Feature {right} (importance {float(sweep.importance[k, right]):.3g}) is the first "
                              "gap from the top: the model drops the least important features.")
    if 0 <= int(value) < sweep.model.n_features and bool(represented(sweep.W)[k, int(value)]):
        return feedback(False, f"Feature {int(value)} is represented at {sweep.label(k)} (its bar passes 0.5). "
                               "Look for the first grey bar from the top.")
    return feedback(False, f"In the panel titled {sweep.label(k)}, go down from feature 0: "
                           "which is the first grey (not represented) bar?")


def check_dims_per_feature(answer: Any, sweep: Any) -> bool:
    """Exercise 3: hidden dimensions per represented feature at the sparsest setting (m / n_represented)."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None:
        return feedback(False, "Write a number (a fraction is fine, e.g. answer = 5 / 8).")
    k = int(sweep.density.argmin())
    m, n_rep = sweep.model.n_hidden, int(sweep.n_represented()[k])
    right = m / n_rep
    if abs(value - right) <= 0.01:
        return feedback(True, f"{m} dimensions / {n_rep} features = {right:.2f} of a dimension per feature: "
                              "less than 1, which is only possible in superposition.")
    if abs(value - n_rep / m) <= 0.01:
        return feedback(False, "That is features per dimension; the question asks for dimensions per feature.")
    return feedback(False, f"Divide the {m} hidden dimensions by the number of features represented at "
                           f"{sweep.label(k)}.")


# ------------------------------------------------------------------------------ build it yourself: the measure

def check_superposition(fn: Any) -> bool:
    """fn(W [n_instances, n_features, n_hidden]) -> [n_instances, n_features]: sum over j != i of (W^_i . W_j)^2,
    with W^_i = W_i / ||W_i|| (the paper's measure: how much of the other features lies along feature i)."""
    W = measure_test_weights()
    U = W / W.norm(dim=-1, keepdim=True)
    proj = U @ W.transpose(-1, -2)  # [k, i, j] = W^_i . W_j
    cos = U @ U.transpose(-1, -2)
    eye = torch.eye(W.shape[1], dtype=W.dtype)
    right = ((proj**2) * (1 - eye)).sum(-1)
    mistakes = [
        (((cos**2) * (1 - eye)).sum(-1), "You used cosines (W^_i . W^_j)^2: the paper normalises only feature i, "
                                         "(W^_i . W_j)^2, so a short W_j adds little."),
        ((proj**2).sum(-1), "The sum includes j = i, which adds ||W_i||^2: sum over j != i only."),
        ((proj * (1 - eye)).sum(-1), "The terms are not squared: signed overlaps cancel (a pentagon would sum to "
                                     "less than zero); square each W^_i . W_j."),
        (((W @ W.transpose(-1, -2)) ** 2 * (1 - eye)).sum(-1), "W_i is not normalised: use W^_i = W_i / ||W_i|| in "
                                                              "(W^_i . W_j)^2."),
        ((proj.transpose(-1, -2) ** 2 * (1 - eye)).sum(-1), "You normalised W_j instead of W_i: it is "
                                                           "(W^_i . W_j)^2 with W^_i = W_i / ||W_i||."),
        ((proj.abs() * (1 - eye)).sum(-1), "Square the overlaps rather than taking their absolute value."),
    ]
    return check_weight_measure(
        fn, "superposition(W)", right, mistakes,
        "sum_{j != i} (W^_i . W_j)^2: 0 for a feature with a dimension of its own, ~1 in an antipodal pair.",
        "Not sum_{j != i} (W^_i . W_j)^2. Normalise each row (W^ = W / W.norm(dim=-1, keepdim=True)), take "
        "W^ @ W.transpose(-1, -2) (entry [k, i, j] is W^_i . W_j), square it, and leave out the diagonal.",
    )
