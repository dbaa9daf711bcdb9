"""Self-checks for notebook 04 (dimensionality sweep: 8 equally important features, n_hidden = 1 ... 8).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweeps the notebook trained.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..geometry import FRACTIONS, nearest_fraction
from ..metrics import dimensions_per_feature, feature_dimensionality, feature_norms, represented
from . import as_number, check_weight_measure, feedback, judge_number, measure_test_weights, read_answer, read_pair

__all__ = [
    "check_dstar", "check_feature_dimensionality", "check_mean_dimensionality", "check_short_third",
    "dstar_of", "mean_dimensionality", "SHORT_THIRD",
]


def _model(sweeps: Mapping[int, Any], n_hidden: int, density: float) -> tuple[Any, int]:
    s = sweeps[n_hidden]
    return s, s.nearest(density=density)


def dstar_of(sweeps: Mapping[int, Any], n_hidden: int, density: float) -> float:
    """D* = m / ||W||_F^2 of the model with n_hidden dimensions nearest `density`."""
    s, k = _model(sweeps, n_hidden, density)
    return float(dimensions_per_feature(s.W)[k])


def check_dstar(answer: Any, sweeps: Mapping[int, Any], n_hidden: int = 3, sparsity: float = 0.97) -> bool:
    """Exercise 1: D* = m / ||W||_F^2 of the m = n_hidden model at sparsity S, computed from its weights.

    Accepted within 0.01 of dimensions_per_feature; the usual slips (S used as the density, m / count,
    m / ||W||_F, the ratio upside down) get their own hints.
    """
    value = read_answer(answer, as_number, "Write one number: answer = D*, e.g. answer = 0.5.")
    if value is None:
        return False
    p = 1.0 - sparsity
    s, k = _model(sweeps, n_hidden, p)
    W = s.W[k]
    frob2 = float((W**2).sum())
    right = n_hidden / frob2
    count = int(represented(W[None])[0].sum())
    close = lambda x: abs(value - x) <= 0.01  # noqa: E731
    if close(right):
        norms = feature_norms(W[None])[0][represented(W[None])[0]]
        why = ""
        if count and float(norms.min()) > 1.03:
            lo, hi = f"{float(norms.min()):.2f}", f"{float(norms.max()):.2f}"
            span = f"about {lo}" if lo == hi else f"{lo} to {hi}"
            why = (f" The {count} features have norms {span}: a norm above 1 counts for more than one feature "
                   "in ||W||_F^2, so D* is below m / count.")
        return feedback(True, f"{s.label(k)}: ||W||_F^2 = {frob2:.2f}, D* = {n_hidden} / {frob2:.2f} = {right:.3f}."
                              + why)
    if close(dstar_of(sweeps, n_hidden, sparsity)):
        return feedback(False, f"That is the model nearest density {sparsity:g}. S = {sparsity:g} is the sparsity; "
                               f"the density is p = 1 - S = {p:.3g}: k = dims[{n_hidden}].nearest(density={p:.3g}).")
    if count and close(n_hidden / count):
        return feedback(False, f"That is m / (features above 0.5) = {n_hidden} / {count}. D* divides by "
                               "||W||_F^2 = (W**2).sum(), which counts squared norms, not features.")
    if close(n_hidden / frob2**0.5):
        return feedback(False, "The norm is squared: ||W||_F^2 = (W**2).sum(), not its square root.")
    if close(frob2 / n_hidden):
        return feedback(False, "Upside down: D* = m / ||W||_F^2, dimensions per feature.")
    return feedback(False, f"k = dims[{n_hidden}].nearest(density={p:.3g}); W = dims[{n_hidden}].W[k]; "
                           f"D* = {n_hidden} / (W**2).sum().")


SHORT_THIRD = (4 / 9, 1 / 9)  # m = 1: W_1 = 1, W_2 = -1, W_3 = 1/2: D_1 = D_2 = 1 / (1 + 1 + 1/4), D_3 = (1/4) / (9/4)


def check_short_third(answer: Any) -> bool:
    """Exercise 3: one hidden dimension, an antipodal pair W_1 = 1, W_2 = -1 and a short W_3 = 1/2:
    (D_1, D_3) = (4/9, 1/9)."""
    pair = read_pair(answer, (as_number, as_number), "Write two numbers: answer = (D_1, D_3), e.g. (0.5, 0.5).")
    if pair is None:
        return False
    d1, d3 = pair
    ok1, ok3 = abs(d1 - SHORT_THIRD[0]) <= 0.01, abs(d3 - SHORT_THIRD[1]) <= 0.01
    if ok1 and ok3:
        return feedback(True, "D_1 = D_2 = 1 / (1 + 1 + (1/2)^2) = 4/9 and D_3 = (1/4) / (1 + 1 + 1/4) = 1/9: the "
                              "three add up to 1 = m. D* = 1 / ||W||_F^2 = 1 / 2.25 = 4/9 too: the short feature "
                              "pulls the pair below 1/2, as for m = 1 in the notebook's sweep.")
    if abs(d1 - SHORT_THIRD[1]) <= 0.01 and abs(d3 - SHORT_THIRD[0]) <= 0.01:
        return feedback(False, "Swapped: answer = (D_1, D_3), and feature 1 (norm 1) has the larger share.")
    if not ok1:  # judged against the known slips only: d1 is not the right value
        return judge_number(d1, SHORT_THIRD[0], 0.01, "", [
            (0.5, "D_1 = 1/2 is the pair alone. The short feature lies on the same axis: it adds "
                  "(W^_1 . W_3)^2 = (1/2)^2 to feature 1's sum."),
            (1 / 3, "You used cosines (W^_i . W^_j)^2: the paper's denominator is sum_j (W^_i . W_j)^2, with only "
                    "W_i normalised, so a short W_j adds little."),
        ], "For feature 1 (W^_1 = 1): (W^_1 . W_j)^2 is 1 for itself, 1 for W_2 = -1 and 1/4 for W_3 = 1/2. "
           "D_1 = ||W_1||^2 / that sum.")
    return judge_number(d3, SHORT_THIRD[1], 0.01, "", [
        (4 / 9, "D_1 is right. For feature 3, normalise W_3 first (W^_3 = 1): (W^_3 . W_1)^2 = 1, "
                "not (W_3 . W_1)^2 = 1/4."),
        (1 / 12, "D_1 is right. For feature 3 you used cosines: its own term is (W^_3 . W_3)^2 = ||W_3||^2 = 1/4, "
                 "not 1."),
    ], "D_1 is right. D_3 = ||W_3||^2 / sum_j (W^_3 . W_j)^2, with W^_3 = 1: the terms are 1 (W_1), 1 (W_2) and "
       "1/4 (itself).")


def mean_dimensionality(sweeps: Mapping[int, Any], n_hidden: int, density: float) -> float:
    """Mean D_i over the represented features (||W_i|| > 0.5) of the model nearest `density`."""
    s, k = _model(sweeps, n_hidden, density)
    kept = represented(s.W[k][None])[0]
    return float(feature_dimensionality(s.W[k][None])[0][kept].mean()) if kept.any() else 0.0


def check_mean_dimensionality(answer: Any, sweeps: Mapping[int, Any], n_hidden: int = 3,
                              sparsity: float = 0.97) -> bool:
    """Exercise 4: the mean D_i of the represented features of the m = n_hidden model at sparsity S."""
    value = read_answer(answer, as_number, "Write one number: answer = the mean D_i, e.g. answer = 0.5.")
    if value is None:
        return False
    p = 1.0 - sparsity
    s, k = _model(sweeps, n_hidden, p)
    W = s.W[k][None]
    kept = represented(W)[0]
    D = feature_dimensionality(W)[0]
    right = mean_dimensionality(sweeps, n_hidden, p)
    close = lambda x: abs(value - x) <= 0.01  # noqa: E731
    if close(right):
        index, dist = nearest_fraction(torch.tensor([right]))
        _, label, name = FRACTIONS[int(index[0])]
        shape = (f"within {float(dist[0]):.2f} of {label}, the {name}" if float(dist[0]) <= 0.02
                 else f"not on a fraction line (nearest {label}, the {name})")
        dstar = float(dimensions_per_feature(W)[0])
        return feedback(True, f"{s.label(k)}: {int(kept.sum())} features, mean D_i = {right:.3f}, {shape}. "
                              f"Summed over all features D_i gives {float(D.sum()):.2f}, about m = {n_hidden}, "
                              f"while D* = {dstar:.2f}: D* counts squared norms, and D_i does not change when every "
                              "W_i is scaled by the same factor.")
    if close(dstar_of(sweeps, n_hidden, p)):
        return feedback(False, "That is D* = m / ||W||_F^2 (exercise 1). The question asks for the mean of the "
                               "per-feature D_i over the represented features.")
    if close(float(D.sum())) or close(float(D[kept].sum())):
        return feedback(False, "That is the sum of the D_i (about m); the question asks for their mean.")
    if close(mean_dimensionality(sweeps, n_hidden, sparsity)):
        return feedback(False, f"S = {sparsity:g} is the sparsity; the density is p = 1 - S = {p:.3g}.")
    return feedback(False, f"k = dims[{n_hidden}].nearest(density={p:.3g}); W = dims[{n_hidden}].W[k]; take "
                           "D_i of every feature (your function, or feature_dimensionality) and average over "
                           "the features with ||W_i|| > 0.5.")


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
