"""Self-checks for notebook 04 (dimensionality sweep: 8 equally important features, n_hidden = 1 ... 8).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweeps the notebook trained.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..metrics import dimensions_per_feature
from . import as_number, as_whole, check_weight_measure, feedback, measure_test_weights, unanswered

__all__ = [
    "check_count_and_dstar", "check_feature_dimensionality", "check_first_m_all", "check_tetrahedron",
    "count_and_dstar", "first_m_all", "TETRAHEDRON",
]






def count_and_dstar(sweeps: Mapping[int, Any], n_hidden: int, density: float) -> tuple[int, float]:
    """(features represented, D* = m / ||W||_F^2) of the model with n_hidden dimensions nearest `density`."""
    s = sweeps[n_hidden]
    k = s.nearest(density=density)
    return int(s.n_represented()[k]), float(dimensions_per_feature(s.W)[k])


def check_count_and_dstar(answer: Any, sweeps: Mapping[int, Any], n_hidden: int = 3, sparsity: float = 0.7) -> bool:
    """Exercise 1: at sparsity S, how many features does the m = n_hidden model represent, and what is its D*?

    answer = (count, D*); D* is accepted within 0.05 of the sweep's value.
    """
    if unanswered(answer):
        return False
    try:
        count, dstar = answer
    except (TypeError, ValueError):
        return feedback(False, "Write two numbers: answer = (count, D*).")
    count, dstar = as_whole(count), as_number(dstar)
    if count is None or dstar is None:
        return feedback(False, "Write a whole number of features and a number for D*: answer = (count, D*).")
    p = 1.0 - sparsity
    right_count, right_dstar = count_and_dstar(sweeps, n_hidden, p)
    ok_count, ok_dstar = count == right_count, abs(dstar - right_dstar) <= 0.05
    if ok_count and ok_dstar:
        per = n_hidden / right_count
        return feedback(True, f"m = {n_hidden} at S = {sparsity:g} (p = {p:.3g}): {right_count} features, "
                              f"D* = {right_dstar:.2f}, about m / count = {per:.2f} dimension per feature"
                              f"{': antipodal pairs' if abs(per - 0.5) < 0.05 else ''}.")
    if not ok_count:
        return feedback(False, f"S = {sparsity:g} is p = 1 - S = {p:.3g}. In the table of counts, read the row "
                               f"m = {n_hidden}, column p = {p:.3g}.")
    return feedback(False, f"The count is right. D* = m / ||W||_F^2: with {right_count} features of norm about 1, "
                           f"||W||_F^2 is about {right_count}, so D* is about {n_hidden} / {right_count}.")


TETRAHEDRON = 0.75


def check_tetrahedron(answer: Any) -> bool:
    """Exercise 2: D_i of one feature of a regular tetrahedron (4 unit vectors in 3-D, pairwise cosine -1/3): 3/4."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None:
        return feedback(False, "Write a number, e.g. answer = 0.5 (or a fraction such as 1 / 2).")
    if abs(value - TETRAHEDRON) <= 0.01:
        return feedback(True, "D_i = 1 / (1 + 3 x (1/3)^2) = 1 / (4/3) = 3/4: four features share three "
                              "dimensions equally.")
    if abs(value - 1.0 / (1.0 + 3.0 / 3.0)) <= 0.01:
        return feedback(False, "Square the cosines first: each of the 3 others adds (-1/3)^2 = 1/9, not 1/3.")
    if abs(value - 1.0) <= 0.01:
        return feedback(False, "D_i = 1 is a feature with a dimension to itself; here three others overlap it.")
    return feedback(False, "D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2 with j = i included: the feature itself "
                           "contributes 1, and each of the 3 others contributes (-1/3)^2.")


def first_m_all(sweeps: Mapping[int, Any], density: float) -> int | None:
    """The smallest n_hidden whose model represents every feature at the setting nearest `density`."""
    for m in sorted(sweeps):
        s = sweeps[m]
        if int(s.n_represented()[s.nearest(density=density)]) == s.model.n_features:
            return m
    return None


def check_first_m_all(answer: Any, sweeps: Mapping[int, Any], sparsity: float = 0.97) -> bool:
    """Exercise 3: the smallest m that represents all features at sparsity S (read from the sweeps)."""
    if unanswered(answer):
        return False
    value = as_whole(answer)
    if value is None:
        return feedback(False, "Write a whole number of hidden dimensions, e.g. answer = 5.")
    p = 1.0 - sparsity
    right = first_m_all(sweeps, p)
    n = next(iter(sweeps.values())).model.n_features
    if right is not None and value == right:
        return feedback(True, f"At S = {sparsity:g} (p = {p:.3g}), m = {right} is the first width that holds all "
                              f"{n} features: {n / right:.3g} features per dimension.")
    if value == n:
        return feedback(False, f"m = {n} gives every feature its own dimension, but sparse features need far "
                               "fewer. Look down the table's column for this density.")
    return feedback(False, f"S = {sparsity:g} is p = 1 - S = {p:.3g}: go down that column of the table of counts "
                           f"to the first m with all {n} features.")


# ------------------------------------------------------------------------------ build it yourself: the measure

def check_feature_dimensionality(fn: Any) -> bool:
    """fn(W [n_instances, n_features, n_hidden]) -> [n_instances, n_features]:
    D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2, with j running over ALL features, i included."""
    W = measure_test_weights()
    U = W / W.norm(dim=-1, keepdim=True)
    proj2 = (U @ W.transpose(-1, -2)) ** 2  # [k, i, j] = (W^_i . W_j)^2
    cos2 = (U @ U.transpose(-1, -2)) ** 2
    eye = torch.eye(W.shape[1], dtype=W.dtype)
    sq = (W**2).sum(-1)
    right = sq / proj2.sum(-1)
    mistakes = [
        (sq / (proj2 * (1 - eye)).sum(-1), "The denominator leaves out j = i: sum over all j, i included (its own "
                                           "term is ||W_i||^2, so an orthogonal feature gets D_i = 1)."),
        (sq / cos2.sum(-1), "The denominator uses cosines (W^_i . W^_j)^2: the paper's is (W^_i . W_j)^2, with only "
                            "W_i normalised."),
        (W.norm(dim=-1) / proj2.sum(-1), "The numerator is ||W_i||; it is the squared norm ||W_i||^2."),
        (proj2.sum(-1) / sq, "Upside down: D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2."),
        ((W.shape[-1] / (W**2).sum((-1, -2)))[:, None].expand_as(sq),
         "That is D* = m / ||W||_F^2, the same for every feature; D_i is per feature: "
         "||W_i||^2 / sum_j (W^_i . W_j)^2."),
    ]
    return check_weight_measure(
        fn, "feature_dimensionality(W)", right, mistakes,
        "D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2: 1 alone, 1/2 in an antipodal pair, 2/5 in a pentagon.",
        "Not ||W_i||^2 / sum_j (W^_i . W_j)^2. With W^ = W / W.norm(dim=-1, keepdim=True): "
        "(W**2).sum(-1) / ((W^ @ W.transpose(-1, -2))**2).sum(-1).",
    )
