"""Self-checks for notebook 03 (feature importance: a grid of importance decay x density, 10 features -> 3 hidden).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweep the notebook trained.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..metrics import represented
from . import as_feature_set, as_whole, feedback, unanswered

__all__ = ["check_counts_at_sparsity", "check_importance_role", "check_linear_features", "counts_at"]






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


def counts_at(sweep: Any, density: float, importance_decays: Iterable[float]) -> tuple[int, ...]:
    """Represented features (||W_i|| > 0.5) at the grid points nearest (density, importance_decay) for each decay."""
    n_rep = sweep.n_represented()
    return tuple(int(n_rep[sweep.nearest(density=density, importance_decay=r)]) for r in importance_decays)


def check_counts_at_sparsity(answer: Any, sweep: Any, sparsity: float = 0.99,
                             importance_decays: tuple[float, float] = (0.9, 0.5)) -> bool:
    """Exercise 2: at sparsity S (density p = 1 - S), how many features are represented for each decay?

    answer = (n for importance_decays[0], n for importance_decays[1]); the right counts are read from the sweep.
    """
    if unanswered(answer):
        return False
    r0, r1 = importance_decays
    try:
        values = [as_whole(a) for a in answer]
    except TypeError:
        values = []
    if len(values) != 2 or any(v is None for v in values):
        return feedback(False, f"Write 2 whole numbers: answer = (n_{r0}, n_{r1}).")
    p = 1.0 - sparsity
    right = counts_at(sweep, p, importance_decays)
    if tuple(values) == right:
        return feedback(True, f"At S = {sparsity:g} (p = {p:.3g}): {right[0]} features with I = {r0:g}^i, "
                              f"{right[1]} with I = {r1:g}^i. The steeper the decay, the less the "
                              "unimportant features are worth their interference.")
    dense = counts_at(sweep, 1.0, importance_decays)
    if tuple(values) == dense and dense != right:
        return feedback(False, f"Those are the counts at p = 1 (dense). S = {sparsity:g} is sparse: "
                               f"p = 1 - S = {p:.3g}.")
    return feedback(False, f"S = {sparsity:g} means p = 1 - S = {p:.3g}. Find the rows decay r = {r0:g} and "
                           f"r = {r1:g} in the table of counts (or move the explorer's sliders there).")




def check_linear_features(answer: Any, sweep: Any, density: float = 0.01) -> bool:
    """Exercise 3: which features does the linear model represent at the setting nearest `density`?

    answer: a list (or set) of feature indices; the right answer is read from the linear sweep.
    """
    if unanswered(answer):
        return False
    chosen = as_feature_set(answer)
    if chosen is None:
        return feedback(False, "Write a list of feature indices, e.g. answer = [4, 5].")
    k = sweep.nearest(density=density)
    right = {int(i) for i in represented(sweep.W)[k].nonzero().flatten()}
    m = sweep.model.n_hidden
    if chosen == right:
        return feedback(True, f"Features {sorted(right)}, the same as at every other density (the most important). "
                              "A linear model cannot filter interference, so it never superposes, "
                              "however sparse the features.")
    if len(chosen) > m:
        return feedback(False, f"A linear model with {m} hidden dimensions never represents more than {m} "
                               "features, at any sparsity.")
    return feedback(False, f"Find the linear panel titled {sweep.label(k)}: which bars reach past the dashed "
                           "0.5 line? Feature 0 is the most important.")
