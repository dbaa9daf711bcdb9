"""Self-checks for notebook 01 (basic superposition: 5 features in 2 hidden dimensions).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
"""

from __future__ import annotations

import math
from typing import Any

from ..metrics import represented
from . import as_feature_set, as_number, feedback, unanswered

__all__ = ["check_density_sparsity", "check_linear_kept", "check_pentagon_angle"]




def check_density_sparsity(answer: Any) -> bool:
    """Exercise 1: a feature present in 2% of inputs. answer = (p, S) = (0.02, 0.98)."""
    if unanswered(answer):
        return False
    try:
        p, s = (as_number(a) for a in answer)
    except (TypeError, ValueError):
        return feedback(False, "", "Write two numbers: answer = (p, S).")
    if p is None or s is None:
        return feedback(False, "", "Write two numbers: answer = (p, S).")
    if math.isclose(p, 0.02, abs_tol=1e-6) and math.isclose(s, 0.98, abs_tol=1e-6):
        return feedback(True, "p = 0.02 (the feature is present 2% of the time) and S = 1 - p = 0.98.", "")
    if math.isclose(p, 0.98, abs_tol=1e-6) and math.isclose(s, 0.02, abs_tol=1e-6):
        return feedback(False, "", "You swapped them: the density p is how often a feature is present; "
                                   "the sparsity S = 1 - p is how often it is zero.")
    return feedback(False, "", "The density p is the probability that the feature is non-zero, and S = 1 - p.")


def check_pentagon_angle(answer: Any) -> bool:
    """Exercise 2: the angle between neighbouring features of a regular pentagon, in degrees (72)."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None:
        return feedback(False, "", "Write a number of degrees, e.g. answer = 45.")
    if abs(value - 72.0) <= 1.5:
        return feedback(True, "Five directions share the full circle equally: 360 / 5 = 72 degrees.", "")
    if abs(value - 144.0) <= 1.5:
        return feedback(False, "", "144 degrees is the angle to the features two steps away; "
                                   "what separates *neighbouring* features?")
    if abs(value - math.radians(72.0)) <= 0.03:
        return feedback(False, "", "That is the right angle in radians; the question asks for degrees.")
    return feedback(False, "", "Five directions spaced evenly around a circle: how many degrees between neighbours?")




def check_linear_kept(answer: Any, sweep: Any) -> bool:
    """Exercise 3: which features does the linear model represent at its sparsest setting?

    answer: a list (or set) of feature indices; sweep: the linear model's Sweep.  The right
    answer is computed from the sweep (||W_i|| > 0.5 at the smallest density).
    """
    if unanswered(answer):
        return False
    chosen = as_feature_set(answer)
    if chosen is None:
        return feedback(False, "", "Write a list of feature indices, e.g. answer = [3, 4].")
    k = int(sweep.density.argmin())
    right = {int(i) for i in represented(sweep.W)[k].nonzero().flatten()}
    if chosen == right:
        top = right == set(range(len(right)))
        return feedback(True, f"Features {sorted(right)}" + (": the most important ones. " if top else ". ")
                        + "A linear model does what PCA does, however sparse the features are.", "")
    if len(chosen) > sweep.model.n_hidden:
        return feedback(False, "", f"A linear model with {sweep.model.n_hidden} hidden dimensions never represents "
                                   "more features than that. Look at the last panel of the linear sweep.")
    return feedback(False, "", "Look at the last panel of the linear sweep (the smallest p): which features have "
                               "a long line (||W_i|| > 0.5)? Features are numbered from 0, the most important.")
