"""Self-checks for notebook 03 (feature importance: a grid of importance decay x density, 10 features -> 3 hidden).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweep the notebook trained.
"""

from __future__ import annotations

from typing import Any

from ..metrics import feature_norms, represented
from . import as_feature_set, as_number, feedback, judge_number, read_answer, read_pair

__all__ = ["UNBIASED_CUT", "check_importance_bar", "check_linear_frobenius", "check_unbiased_features",
           "importance_bar", "unbiased_features"]

UNBIASED_CUT = 0.05  # |b_i| below this: no bias (the data: ~0.000 for pairs and own dimensions, <= -0.15 when crowded)


def importance_bar(sweep: Any, density: float, importance_decay: float) -> tuple[float | None, float | None]:
    """(importance of the most important feature the model drops, importance of the least important one it keeps)
    at the grid point nearest (density, importance_decay); None where it drops (or keeps) none."""
    k = sweep.nearest(density=density, importance_decay=importance_decay)
    imp, kept = sweep.importance[k].double(), represented(sweep.W)[k]
    dropped = float(imp[~kept].max()) if (~kept).any() else None
    least_kept = float(imp[kept].min()) if kept.any() else None
    return dropped, least_kept


def check_importance_bar(answer: Any, sweep: Any, density: float = 0.01, dropping_decay: float = 0.8,
                         keeping_decay: float = 0.5) -> bool:
    """Exercise 1: at one density, (the importance of the most important feature the r = dropping_decay model
    drops, the importance of the least important feature the r = keeping_decay model keeps).

    answer: a pair of numbers; the right one is read from the sweep (relative tolerance 2%). The feedback names
    feature indices given for importances, the pair in the wrong order, and a feature one off (the last kept for
    the first dropped, or the other way round)."""
    pair = read_pair(answer, (as_number, as_number),
                     "Write two numbers, e.g. answer = (0.2, 0.05): the importance of the dropped feature first.")
    if pair is None:
        return False
    first, second = pair
    where = f"p = {density:g}"
    dropped, _ = importance_bar(sweep, density, dropping_decay)
    _, kept = importance_bar(sweep, density, keeping_decay)
    if dropped is None or kept is None:
        return feedback(False, f"At {where} the r = {dropping_decay:g} model drops no feature, or the "
                               f"r = {keeping_decay:g} model keeps none: this exercise needs the notebook's grid.")
    close = lambda a, b: abs(a - b) <= 0.02 * abs(b) + 1e-9  # noqa: E731
    k_drop = sweep.nearest(density=density, importance_decay=dropping_decay)
    k_keep = sweep.nearest(density=density, importance_decay=keeping_decay)
    i_drop = int(sweep.importance[k_drop].double().sub(dropped).abs().argmin())
    i_keep = int(sweep.importance[k_keep].double().sub(kept).abs().argmin())
    if close(first, dropped) and close(second, kept):
        return feedback(True, f"At {where} the r = {dropping_decay:g} model drops feature {i_drop} "
                              f"(I = {dropped:.3f}), while the r = {keeping_decay:g} model keeps feature {i_keep} "
                              f"(I = {kept:.3f}), {dropped / kept:.1f} times less important. No fixed importance "
                              "decides: what a feature must be worth depends on the features it would share with.")
    if (first, second) == (i_drop, i_keep):
        return feedback(False, f"Those are the feature indices ({i_drop} and {i_keep}). The exercise asks for their "
                               "importances, I_i = r^i: grid.importance[k][i].")
    if close(first, kept) and close(second, dropped):
        return feedback(False, "Right numbers, wrong order: first the importance of the feature the "
                               f"r = {dropping_decay:g} model drops, then that of the feature the "
                               f"r = {keeping_decay:g} model keeps.")
    msgs = []
    if not close(first, dropped):
        msgs.append(_which_feature(first, sweep, k_drop, dropped, i_drop, dropping_decay, "drops", "most"))
    if not close(second, kept):
        msgs.append(_which_feature(second, sweep, k_keep, kept, i_keep, keeping_decay, "keeps", "least"))
    return feedback(False, " ".join(msgs))


def _which_feature(value: float, sweep: Any, k: int, right: float, i_right: int, decay: float, verb: str,
                   end: str) -> str:
    """What a wrong importance for the r = decay model is: another feature's importance (which one), or neither."""
    imp = sweep.importance[k].double()
    near = (imp - value).abs() <= 0.02 * imp
    if near.any():
        i = int(near.nonzero()[0])
        kept = bool(represented(sweep.W)[k][i])
        return (f"{value:g} is the importance of feature {i} of the r = {decay:g} model, which it "
                f"{'keeps' if kept else 'drops'}: you want the {end} important feature it {verb}. "
                "Check represented(grid.W)[k] (norm above 0.5).")
    return (f"{value:g} is no feature's importance in the r = {decay:g} model (I_i = {decay:g}^i). Find the {end} "
            f"important feature it {verb} with represented(grid.W)[k], then read grid.importance[k][i].")


def unbiased_features(sweep: Any, density: float, importance_decay: float) -> set[int]:
    """Represented features with |b_i| < UNBIASED_CUT at the grid point nearest (density, importance_decay)."""
    k = sweep.nearest(density=density, importance_decay=importance_decay)
    b = sweep.model.b.detach()[k]
    hit = represented(sweep.W)[k] & (b.abs() < UNBIASED_CUT)
    return {int(i) for i in hit.nonzero().flatten()}


def check_unbiased_features(answer: Any, sweep: Any, density: float = 0.1, importance_decay: float = 0.8) -> bool:
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
    if chosen - kept and chosen & kept == right:
        return feedback(False, f"Feature(s) {sorted(chosen - kept)} are not represented at {setting} (norm at most "
                               "0.5), whatever their bias: keep only represented features.")
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

