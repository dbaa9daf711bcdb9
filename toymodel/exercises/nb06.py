"""Self-checks for notebook 06 (feature geometry: uniform superposition, 400 features -> 30 hidden).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on a trained model, it is computed from the sweep the notebook loaded.
"""

from __future__ import annotations

from typing import Any

from ..geometry import tegum_factors
from ..metrics import feature_dimensionality
from . import as_number, as_whole, feedback, unanswered

__all__ = [
    "check_factor_count", "check_octahedron", "check_sum_dimensionality", "count_factors", "sum_dimensionality"
]


def check_octahedron(answer: Any) -> bool:
    """Exercise 1: 6 unit vectors +-e1, +-e2, +-e3 (an octahedron): each D_i, and how many tegum factors? (1/2, 3)."""
    if unanswered(answer):
        return False
    try:
        d, factors = answer
    except (TypeError, ValueError):
        return feedback(False, "Write two numbers: answer = (D_i, number of factors).")
    d, factors = as_number(d), as_whole(factors)
    if d is None or factors is None:
        return feedback(False, "Write a number for D_i and a whole number of factors: answer = (D_i, factors).")
    ok_d, ok_f = abs(d - 0.5) <= 0.01, factors == 3
    if ok_d and ok_f:
        return feedback(True, "Each vertex overlaps only its antipode: D_i = 1 / (1 + (-1)^2) = 1/2. The other four "
                              "are orthogonal, so the graph falls apart into 3 antipodal pairs: the octahedron is "
                              "the tegum product of three pairs, and it is also the Thomson solution for 6 points.")
    if not ok_d:
        if abs(d - 1.0) <= 0.01:
            return feedback(False, "D_i = 1 is a feature with a dimension to itself, but +e1 shares its axis "
                                   "with -e1: (W^_i . W_j)^2 = 1 for that pair.")
        return feedback(False, "For +e1: the dot products with the other vertices are -1 (with -e1) and 0 (the "
                               "other four). Square them, add 1 for the feature itself, and take 1 / that.")
    return feedback(False, "D_i is right. Factors are the connected pieces of the graph with an edge wherever "
                           "W_i . W_j is not 0: which vertices does +e1 connect to?")


def count_factors(sweep: Any, density: float, size: int) -> int:
    """How many tegum factors of `size` features the model nearest `density` has."""
    k = sweep.nearest(density=density)
    return sum(len(f) == size for f in tegum_factors(sweep.W[k]))


def check_factor_count(answer: Any, sweep: Any, density: float = 0.2, size: int = 5) -> bool:
    """Exercise 2: how many pentagons (tegum factors of 5 features) in the model nearest `density`?"""
    if unanswered(answer):
        return False
    value = as_whole(answer)
    if value is None:
        return feedback(False, "Write a whole number, e.g. answer = 3.")
    k = sweep.nearest(density=density)
    right = count_factors(sweep, density, size)
    if value == right:
        return feedback(True, f"{sweep.label(k)}: {right} factors of {size} features. Their D_i sit at 2/5 only if "
                              "they are regular pentagons: check with feature_dimensionality.")
    if value == right * size and right:
        return feedback(False, f"That counts features; the question asks for factors ({size} features each).")
    return feedback(False, f"Take the model k = sweep.nearest(density={density}), then "
                           f"[len(f) for f in tegum_factors(sweep.W[k])] and count the {size}s.")


def sum_dimensionality(sweep: Any, density: float) -> float:
    """sum_i D_i over every feature of the model nearest `density` (unlearned features add about 0)."""
    k = sweep.nearest(density=density)
    return float(feature_dimensionality(sweep.W[k]).sum())


def check_sum_dimensionality(answer: Any, sweep: Any, density: float = 0.3) -> bool:
    """Exercise 3: the sum of all D_i of the model nearest `density` (the paper: about m when packed efficiently)."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None:
        return feedback(False, "Write a number, e.g. answer = 12.5.")
    right = sum_dimensionality(sweep, density)
    m = sweep.model.n_hidden
    if abs(value - right) <= 0.05 * right:
        return feedback(True, f"sum_i D_i = {right:.3g}, about m = {m}: the hidden dimensions, shared out. "
                              f"Antipodal pairs: {2 * m} features x 1/2 = {m}.")
    if abs(value - right / sweep.model.n_features) <= 0.01:
        return feedback(False, "That is the mean; the question asks for the sum over all features.")
    return feedback(False, f"k = sweep.nearest(density={density}); feature_dimensionality(sweep.W[k]).sum(). "
                           "Features that are not learned add about 0.")
