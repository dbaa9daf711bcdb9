"""Self-checks for notebook 03 (feature importance: a grid of importance decay x density, 10 features -> 3 hidden).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweep the notebook trained.
"""

from __future__ import annotations

from typing import Any

from ..metrics import feature_norms, represented
from . import as_feature_set, as_number, feedback, judge_number, read_answer, unanswered

__all__ = ["UNBIASED_CUT", "check_importance_role", "check_linear_frobenius", "check_unbiased_features",
           "unbiased_features"]

UNBIASED_CUT = 0.05  # |b_i| below this: no bias (the data: ~0.000 for pairs and own dimensions, <= -0.2 when crowded)


def check_importance_role(answer: Any) -> bool:
    """Exercise 1: what does the importance I_i change?  (a) the input, (b) the loss, (c) both.  Right: "b"."""
    if unanswered(answer):
        return False
    if not isinstance(answer, str):
        return feedback(False, 'Write one letter as a string, e.g. answer = "a".')
    choice = answer.strip().strip("()").strip().lower()
    if choice == "b":
        return feedback(True, "Importance weights feature i's squared error in the loss, "
                              "I_i (x_i - x'_i)^2. The inputs are the same whatever the importance: "
                              "a present feature is uniform on [0, 1).")
    if choice in ("a", "c"):
        return feedback(False, "Importance never touches the inputs: generate_sparse_features has no importance "
                               "argument, and a present feature is uniform on [0, 1) whatever I_i is. "
                               "Where does I_i appear in the loss?")
    return feedback(False, 'Choose one of "a", "b" or "c".')


def unbiased_features(sweep: Any, density: float, importance_decay: float) -> set[int]:
    """Represented features with |b_i| < UNBIASED_CUT at the grid point nearest (density, importance_decay)."""
    k = sweep.nearest(density=density, importance_decay=importance_decay)
    b = sweep.model.b.detach()[k]
    hit = represented(sweep.W)[k] & (b.abs() < UNBIASED_CUT)
    return {int(i) for i in hit.nonzero().flatten()}


def check_unbiased_features(answer: Any, sweep: Any, density: float = 0.0251, importance_decay: float = 0.7) -> bool:
    """Exercise 2: which represented features of one grid model have no bias (|b_i| < 0.05)?

    answer: a list (or set) of feature indices; the right answer is read from the sweep. The feedback then
    compares their norms with those of the biased (crowded) features: ||W_i||^2 ~ 1 - b_i."""
    chosen = read_answer(answer, as_feature_set, "Write a list of feature indices, e.g. answer = [4, 5].")
    if chosen is None:
        return False
    k = sweep.nearest(density=density, importance_decay=importance_decay)
    setting = sweep.label(k)
    rep = represented(sweep.W)[k]
    b = sweep.model.b.detach()[k]
    norms = feature_norms(sweep.W)[k]
    right = unbiased_features(sweep, density, importance_decay)
    kept = {int(i) for i in rep.nonzero().flatten()}
    near_zero = {int(i) for i in (b.abs() < UNBIASED_CUT).nonzero().flatten()}
    if chosen == right:
        rest = sorted(kept - right)
        text = f"At {setting}: features {sorted(right)} have b ~ 0 and norm ~ 1"
        if right:
            text += f" ({float(norms[sorted(right)].min()):.2f} to {float(norms[sorted(right)].max()):.2f})"
        if rest:
            text += (f"; features {rest} have b from {float(b[rest].min()):.2f} to {float(b[rest].max()):.2f} and "
                     f"norms from {float(norms[rest].min()):.2f} to {float(norms[rest].max()):.2f}, close to "
                     "sqrt(1 - b_i): the crowded ones are stretched")
        return feedback(True, text + ".")
    if chosen - kept and (chosen - kept) <= (near_zero - kept):
        return feedback(False, f"Feature(s) {sorted(chosen - kept)} have b ~ 0 but are not represented at {setting} "
                               "(norm at most 0.5): keep only represented features.")
    if chosen == kept:
        return feedback(False, f"Those are all the represented features at {setting}. Some of them have a clearly "
                               "negative bias: keep only those with |b_i| < 0.05.")
    return feedback(False, f"Take k = grid.nearest(density={density:g}, importance_decay={importance_decay:g}), then "
                           "the represented features (represented(grid.W)[k]) whose bias grid.model.b[k] is within "
                           "0.05 of zero.")


def check_linear_frobenius(answer: Any, sweep: Any, density: float = 0.01) -> bool:
    """Exercise 3: ||W||_F^2 = sum_i ||W_i||^2 of the (linear) model at the setting nearest `density`."""
    value = read_answer(answer, as_number, "Write one number, e.g. answer = 4.2.")
    if value is None:
        return False
    k = sweep.nearest(density=density)
    right = float((sweep.W[k] ** 2).sum())
    m, n = sweep.model.n_hidden, sweep.model.n_features
    mistakes = [
        (right**0.5, "That is ||W||_F, the square root. Sum the squared norms: (W ** 2).sum()."),
        (float(n), f"{n} is the number of features. Most of them have norm ~ 0 in the linear model."),
    ]
    return judge_number(
        value, right, 0.02 * max(right, 1.0),
        f"||W||_F^2 = {right:.2f} ~ m = {m}: W^T W is a projection onto {m} dimensions, and the sum of the squared "
        f"norms is its trace. The linear model stores {m} features' worth, however sparse the data.", mistakes,
        f"Take k = lin.nearest(density={density:g}) and sum the squares of every entry of lin.W[k] (the same as "
        "summing ||W_i||^2 over the features).")
