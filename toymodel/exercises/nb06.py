"""Self-checks for notebook 06 (feature geometry: uniform superposition, 400 features -> 30 hidden).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on a trained model, it is computed from the sweep the notebook loaded.
"""

from __future__ import annotations

from typing import Any

from ..geometry import tegum_factors
from ..metrics import REPRESENTED_THRESHOLD, feature_dimensionality, feature_norms
from . import as_number, as_whole, feedback, read_answer, read_pair

__all__ = [
    "check_cube", "check_largest_factor", "check_represented_dimensionality", "count_factors",
    "largest_factor", "represented_dimensionality", "sum_dimensionality", "CUBE",
]

CUBE = (3 / 8, 1)  # 8 unit vectors (+-1, +-1, +-1) / sqrt(3): each D_i, and the number of tegum factors


def check_cube(answer: Any) -> bool:
    """Exercise 1: 8 unit vectors at the corners of a cube, (+-1, +-1, +-1) / sqrt(3): each D_i, and how many
    tegum factors (edges where |W_i . W_j| > 0.2)?  (3/8, 1)."""
    pair = read_pair(answer, (as_number, as_whole),
                     "Write a number for D_i and a whole number of factors: answer = (D_i, factors).")
    if pair is None:
        return False
    d, factors = pair
    ok_d, ok_f = abs(d - CUBE[0]) <= 0.01, factors == CUBE[1]
    if ok_d and ok_f:
        return feedback(True, "Each corner overlaps its antipode (-1), 3 neighbours (+1/3) and 3 others (-1/3): "
                              "D_i = 1 / (1 + 1 + 6 x 1/9) = 3/8, and every |W_i . W_j| is above 0.2, so the graph "
                              "is one factor. The same D_i as the square antiprism: 8 unit vectors spread evenly "
                              "over 3 dimensions get 3/8 whatever their shape, so D_i cannot tell the two apart; the "
                              "Thomson energy can (section 5: the cube's is higher).")
    if not ok_d:
        if abs(d - 0.5) <= 0.01:
            return feedback(False, "Not only the antipode: each corner also has 6 others at cosine +-1/3. Add "
                                   "their (1/3)^2 = 1/9 each to the sum.")
        if abs(d - 0.6) <= 0.01:
            return feedback(False, "The sum leaves out j = i: the feature itself adds ||W_i||^2 = 1.")
        if abs(d - 0.25) <= 0.01:
            return feedback(False, "Square the dot products: (-1/3)^2 = 1/9, not 1/3.")
        return feedback(False, "For one corner, the dot products with the other 7 are -1 (its antipode), +1/3 (3 "
                               "neighbours) and -1/3 (3 more). D_i = 1 / (1 + the sum of their squares).")
    if factors == 4:
        return feedback(False, "D_i is right. Not 4 antipodal pairs: an edge joins every pair with |W_i . W_j| > 0.2, "
                               "and 1/3 > 0.2, so the neighbours are joined too.")
    return feedback(False, "D_i is right. Factors are the connected pieces of the graph with an edge wherever "
                           "|W_i . W_j| > 0.2: which corners does one corner connect to?")


def count_factors(sweep: Any, density: float, size: int) -> int:
    """How many tegum factors of `size` features the model nearest `density` has."""
    k = sweep.nearest(density=density)
    return sum(len(f) == size for f in tegum_factors(sweep.W[k]))


def largest_factor(sweep: Any, density: float) -> int:
    """The number of features in the largest tegum factor of the model nearest `density` (0 if none)."""
    k = sweep.nearest(density=density)
    return max((len(f) for f in tegum_factors(sweep.W[k])), default=0)


def check_largest_factor(answer: Any, sweep: Any, density: float = 0.18) -> bool:
    """Exercise 2: how many features has the largest tegum factor of the model nearest `density`?"""
    value = read_answer(answer, as_whole, "Write a whole number of features, e.g. answer = 5.")
    if value is None:
        return False
    k = sweep.nearest(density=density)
    factors = tegum_factors(sweep.W[k])
    right = largest_factor(sweep, density)
    if value == right:
        return feedback(True, f"{sweep.label(k)}: the largest of its {len(factors)} factors has {right} features, "
                              "far more than any small polytope: sparser, the features crowd into large, "
                              "irregular factors, and their D_i leave the fraction lines.")
    if value == len(factors):
        return feedback(False, "That counts the factors; the question asks for the size of the largest one.")
    if value in {len(f) for f in factors}:
        return feedback(False, "There is such a factor, but not the largest. (The explorer's title lists the most "
                               "frequent kinds first and puts the rest in 'and ... more'.) Take the max.")
    return feedback(False, f"k = geo.nearest(density={density}); max(len(f) for f in tegum_factors(geo.W[k])).")


def sum_dimensionality(sweep: Any, density: float) -> float:
    """sum_i D_i over every feature of the model nearest `density` (unlearned features add about 0)."""
    k = sweep.nearest(density=density)
    return float(feature_dimensionality(sweep.W[k]).sum())


def represented_dimensionality(sweep: Any, density: float) -> float:
    """sum_i D_i over the represented features (||W_i|| > 0.5) of the model nearest `density`."""
    k = sweep.nearest(density=density)
    kept = feature_norms(sweep.W[k])[0] > REPRESENTED_THRESHOLD
    return float(feature_dimensionality(sweep.W[k])[0][kept].sum())


def check_represented_dimensionality(answer: Any, sweep: Any, density: float = 0.53) -> bool:
    """Exercise 3: how much of the m dimensions the represented features take, sum_i D_i over ||W_i|| > 0.5,
    in the model nearest `density` (in the transition it is well below m)."""
    value = read_answer(answer, as_number, "Write a number, e.g. answer = 12.5.")
    if value is None:
        return False
    k = sweep.nearest(density=density)
    kept = feature_norms(sweep.W[k])[0] > REPRESENTED_THRESHOLD
    n_kept = int(kept.sum())
    right = represented_dimensionality(sweep, density)
    total = sum_dimensionality(sweep, density)
    m = sweep.model.n_hidden
    if abs(value - right) <= max(0.03 * right, 0.05):
        return feedback(True, f"{sweep.label(k)}: the {n_kept} represented features take {right:.3g} of the {m} "
                              f"dimensions; all {sweep.model.n_features} features together take {total:.3g}. The "
                              f"other {total - right:.2g} belong to features still on their way, below the cut.")
    if abs(value - total) <= 0.03 * total:
        return feedback(False, "That is the sum over all features (about m). Sum only over the represented ones: "
                               "D[kept].sum() with kept = feature_norms(W)[0] > 0.5.")
    if n_kept and abs(value - right / n_kept) <= 0.01:
        return feedback(False, "That is the mean; the question asks for the sum over the represented features.")
    if value == n_kept:
        return feedback(False, f"That counts the represented features ({n_kept}); sum their D_i instead.")
    return feedback(False, f"k = geo.nearest(density={density}); D = feature_dimensionality(geo.W[k])[0]; "
                           "kept = feature_norms(geo.W[k])[0] > 0.5; then D[kept].sum().")
