"""Self-checks for notebook 02 (sparse vs dense: 20 features in 5 hidden dimensions).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
The right answers are computed from the sweep the notebook trained, from the data's distribution or from the
geometry (a pair, a pentagon), not hard-coded.  `arrangement` reads how a trained model shares its hidden space
(a dimension each, antipodal pairs, larger groups): the notebook's check cells use it.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..metrics import represented, superposition
from . import as_number, check_weight_measure, feedback, judge_number, measure_test_weights, read_answer, read_pair

__all__ = ["ALONE_COSINE", "OWN_DIMENSION_CUT", "PAIR_COSINE", "RANK_CUT", "arrangement", "check_dropped_bias",
           "check_pair_and_pentagon", "check_superposition"]

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
        ((((W / W.norm(dim=-2, keepdim=True)) @ W.transpose(-1, -2)) ** 2 * (1 - eye)).sum(-1),
         "You normalised along the wrong axis: W.norm(dim=-1, keepdim=True) is each feature's norm ||W_i|| (a row "
         "of W[k]); dim=1 gives each hidden dimension's norm."),
    ]
    return check_weight_measure(
        fn, "my_superposition(W)", right, mistakes,
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


# ------------------------------------------------------------------------------ how the represented features share

PAIR_COSINE = -0.95  # an antipodal partner: cosine below this (the data: about -1.0; in a group at least -0.86)
ALONE_COSINE = 0.1  # ... and no other represented feature above this |cosine| (the data: pairs 0.005, groups 0.5+)
RANK_CUT = 0.1  # singular values of a group's W rows: a dimension it uses (the data: 1.6+) or not (0.005)


def arrangement(sweep: Any, density: float) -> dict[str, Any]:
    """How the represented features share the hidden space at the setting nearest `density`.

    own:   features with a dimension to themselves (superposition below OWN_DIMENSION_CUT);
    pairs: antipodal pairs (i, j): cosine below PAIR_COSINE and no other represented feature within
           |cosine| ALONE_COSINE of either;
    group: the other represented features, which share dimensions with several others; group_dims: how many
           dimensions their directions span (singular values of their rows above RANK_CUT).
    """
    k = sweep.nearest(density=density)
    W = sweep.W[k].double()
    rep = represented(sweep.W)[k]
    kept = [int(i) for i in rep.nonzero().flatten()]
    sup = superposition(sweep.W)[k]
    U = W / W.norm(dim=-1, keepdim=True)
    cos = U @ U.T
    own = [i for i in kept if float(sup[i]) < OWN_DIMENSION_CUT]
    partner = {}
    for i in kept:
        others = sorted((float(cos[i, j]), j) for j in kept if j != i)
        if others and others[0][0] < PAIR_COSINE and all(abs(c) < ALONE_COSINE for c, _ in others[1:]):
            partner[i] = others[0][1]
    pairs = sorted({(min(i, j), max(i, j)) for i, j in partner.items() if partner.get(j) == i})
    paired = {i for p in pairs for i in p}
    group = [i for i in kept if i not in own and i not in paired]
    dims = int((torch.linalg.svdvals(W[group]) > RANK_CUT).sum()) if group else 0
    return {"setting": sweep.label(k), "own": own, "pairs": pairs, "group": group, "group_dims": dims}


# ------------------------------------------------------------------------------ compute it: a pair and a pentagon

def check_pair_and_pentagon(answer: Any) -> bool:
    """Exercise 3: the superposition sum_{j != i} (W^_i . W_j)^2 of one feature (unit vectors) in an antipodal pair,
    and in a regular pentagon (5 unit vectors 72 degrees apart in a plane).  answer = (pair, pentagon)."""
    pair_pent = read_pair(answer, (as_number, as_number),
                          "Write two numbers, e.g. answer = (0.5, 2.0): the pair's value, then the pentagon's.")
    if pair_pent is None:
        return False
    pair, pent = pair_pent
    c1, c2 = math.cos(math.radians(72)), math.cos(math.radians(144))
    right_pent = 2 * c1**2 + 2 * c2**2  # two neighbours at 72 degrees, two at 144: exactly 1.5
    tol = 0.02
    pair_ok, pent_ok = abs(pair - 1.0) <= tol, abs(pent - right_pent) <= tol
    if pair_ok and pent_ok:
        return feedback(True, f"A pair: (-1)^2 = 1. A pentagon: 2 cos^2(72°) + 2 cos^2(144°) = 2 x {c1**2:.4f} + "
                              f"2 x {c2**2:.4f} = {right_pent:.2f}. The number tells a pair from a larger group, "
                              "though the bars' colour scale stops at 1.")
    if not pair_ok:
        mistakes = [(-1.0, "-1 is the overlap W^_i . W_j itself: the measure squares it."),
                    (2.0, "The sum leaves out j = i: only the partner counts."),
                    (0.0, "The partner points the opposite way, W_j = -W_i: its overlap with W_i is -1, not 0.")]
        return judge_number(pair, 1.0, tol, "", mistakes,
                            "In an antipodal pair W_j = -W_i: what is (W^_i . W_j)^2?")
    mistakes = [(2 * c1 + 2 * c2, "That is the signed sum 2 cos(72°) + 2 cos(144°) = -1: square each overlap "
                                  "first, or the neighbours cancel."),
                (2 * abs(c1) + 2 * abs(c2), "Square the overlaps rather than taking their absolute value."),
                (right_pent + 1, "The sum leaves out j = i: 4 other features, not 5."),
                (c1**2 + c2**2, "Each feature of a pentagon has two neighbours at 72° and two at 144°: count all "
                                "four."),
                (2 * c1**2, "The features at 144° count too: each one has two neighbours at 72° and two at 144°."),
                (4 * c1**2, "Only two of the other four are 72° away; the other two are 144° away.")]
    return judge_number(pent, right_pent, tol, "", mistakes,
                        "In a pentagon the other four unit vectors sit at 72°, 144°, 216° = -144° and 288° = -72° "
                        "from W_i: sum the squared cosines.")
