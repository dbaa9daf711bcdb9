"""Self-checks for notebook 02 (sparse vs dense: 20 features in 5 hidden dimensions).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
The right answers are computed from the sweep the notebook trained (or from the data's distribution), not
hard-coded.
"""

from __future__ import annotations

from typing import Any

import torch

from ..metrics import represented, superposition
from . import as_feature_set, as_number, check_weight_measure, feedback, judge_number, measure_test_weights, read_answer

__all__ = ["OWN_DIMENSION_CUT", "check_dropped_bias", "check_own_dimension", "check_superposition", "own_dimension"]

OWN_DIMENSION_CUT = 0.1  # superposition below this: the feature has a dimension to itself (the data: ~0 or ~1)


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


# ------------------------------------------------------------------------------ compute it: a dropped feature's bias

def check_dropped_bias(answer: Any, sweep: Any, density: float = 0.3) -> bool:
    """Exercise 2: the bias b_i the model gives a feature it drops, at the setting nearest `density`.

    A dropped feature's output is the constant ReLU(b_i); the constant c that minimises E[(x_i - c)^2] is the mean
    E[x_i] = p * 1/2 (x_i is 0 with probability 1 - p, else uniform on [0, 1)). The trained biases are shown too.
    """
    value = read_answer(answer, as_number, "Write one number, e.g. answer = 0.2.")
    if value is None:
        return False
    k = sweep.nearest(density=density)
    p = float(sweep.density[k])
    right = p / 2
    dropped = ~represented(sweep.W)[k]
    trained = ""
    if bool(dropped.any()):
        b = sweep.model.b.detach()[k][dropped]
        trained = f" The trained model at {sweep.label(k)}: b = {float(b.min()):.2f} to {float(b.max()):.2f}."
    mistakes = [
        (0.5, "0.5 is the mean of a *present* feature, the dense answer (p = 1). At "
              f"p = {p:.3g} the feature is 0 most of the time: what is its mean then?"),
        (p, f"{p:.3g} is the density, the chance that x_i is non-zero. When it is non-zero, its mean is 1/2: "
            "combine the two."),
        (p / 3, "p/3 is E[x_i^2]. The constant c that minimises E[(x_i - c)^2] is E[x_i]."),
        (0.0, "With a bias of 0 the output is 0 and every present value counts as error. A constant c can do "
              "better: which c minimises E[(x_i - c)^2]?"),
    ]
    return judge_number(
        value, right, 0.01 + 0.02 * right,
        f"E[x_i] = p x 1/2 = {right:.3g}: the best constant guess for a feature the model does not store is its "
        "mean." + trained, mistakes,
        "A dropped feature's output is the constant ReLU(b_i). Which constant c minimises "
        f"E[(x_i - c)^2] when x_i is 0 with probability 1 - p = {1 - p:.3g}, else uniform on [0, 1)?")


# ------------------------------------------------------------------------------ read it: who has a dimension of its own

def own_dimension(sweep: Any, density: float) -> set[int]:
    """The represented features with superposition below OWN_DIMENSION_CUT at the setting nearest `density`."""
    k = sweep.nearest(density=density)
    own = represented(sweep.W)[k] & (superposition(sweep.W)[k] < OWN_DIMENSION_CUT)
    return {int(i) for i in own.nonzero().flatten()}


def check_own_dimension(answer: Any, sweep: Any, density: float = 0.3) -> bool:
    """Exercise 3: which represented features have a dimension to themselves (superposition < 0.1)?

    answer: a list (or set) of feature indices; the right answer is read from the sweep."""
    chosen = read_answer(answer, as_feature_set, "Write a list of feature indices, e.g. answer = [4, 5].")
    if chosen is None:
        return False
    k = sweep.nearest(density=density)
    right = own_dimension(sweep, density)
    rep = represented(sweep.W)[k]
    kept = {int(i) for i in rep.nonzero().flatten()}
    sharing = kept - right
    setting = sweep.label(k)
    if chosen == right:
        return feedback(True, f"At {setting}: features {sorted(right)} have a dimension each; "
                              f"{len(sharing)} more share the other {sweep.model.n_hidden - len(right)} "
                              "dimension(s). The most important features are the ones that do not share.")
    if chosen == kept and sharing:
        return feedback(False, f"Those are all the represented features at {setting}. Some of them share: "
                               "keep only those with superposition below 0.1 (the dark bars).")
    if chosen and chosen <= sharing:
        return feedback(False, "Those features share a dimension (superposition about 1 or more, bright bars). "
                               "The question asks for the ones that do not.")
    if chosen - kept:
        return feedback(False, f"Feature(s) {sorted(chosen - kept)} are not represented at {setting} "
                               "(norm at most 0.5): a feature the model drops has no dimension at all.")
    return feedback(False, f"At {setting}, compute superposition(relu.W)[k] (k = relu.nearest(density={density:g})) "
                           "and keep the represented features whose value is below 0.1.")
