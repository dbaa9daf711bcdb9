"""Self-checks for notebook 07 (superposition in a privileged basis; computation in superposition).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweep the notebook trained.
"""

from __future__ import annotations

from typing import Any

from ..neurons import n_monosemantic, n_polysemantic
from . import as_whole, feedback, unanswered

__all__ = [
    "check_monosemantic", "check_neurons_for_abs", "check_rotation", "monosemantic_count", "neurons_for_abs",
    "ROTATION_ANSWERS"
]


def monosemantic_count(sweep: Any, density: float) -> int:
    """Monosemantic neurons of the relu_hidden model nearest `density` (neurons.n_monosemantic)."""
    return int(n_monosemantic(sweep.W)[sweep.nearest(density=density)])


def check_monosemantic(answer: Any, sweep: Any, sparsity: float = 0.7) -> bool:
    """Exercise 1: how many of the 5 neurons are monosemantic at sparsity S?  Read from the sweep."""
    if unanswered(answer):
        return False
    value = as_whole(answer)
    if value is None:
        return feedback(False, "Write a whole number of neurons, e.g. answer = 2.")
    p = 1.0 - sparsity
    k = sweep.nearest(density=p)
    right = monosemantic_count(sweep, p)
    poly = int(n_polysemantic(sweep.W)[k])
    m = sweep.model.n_hidden
    if value == right:
        return feedback(True, f"At S = {sparsity:g} (p = {p:.3g}) {right} of {m} neurons carry one feature each and "
                              f"{poly} share {'the' if poly else 'no'} less important features between them.")
    if value == poly and poly != right:
        return feedback(False, "That is the number of polysemantic neurons (two or more features). "
                               "Count the neurons with exactly one feature.")
    return feedback(False, f"S = {sparsity:g} is p = 1 - S = {p:.3g}. Move the explorer's slider there and "
                           "count the pale-blue columns (one feature each).")


def neurons_for_abs(n_features: int) -> int:
    """Neurons needed to compute |x_i| exactly for n dense features with ReLU neurons: 2 per feature."""
    return 2 * n_features


def check_neurons_for_abs(answer: Any, n_features: int = 5) -> bool:
    """Exercise 2: how many ReLU neurons does y = |x| need for n dense features, without superposition?"""
    if unanswered(answer):
        return False
    value = as_whole(answer)
    if value is None:
        return feedback(False, "Write a whole number of neurons, e.g. answer = 7.")
    right = neurons_for_abs(n_features)
    if value == right:
        return feedback(True, f"|x| = ReLU(x) + ReLU(-x): a positive-side and a negative-side neuron per feature, "
                              f"{right} neurons for {n_features} features.")
    if value == n_features:
        return feedback(False, "One neuron ReLU(w x) is zero on one side: it sees either the positive or the "
                               "negative half of x, never both.")
    return feedback(False, "Think of one feature first: which ReLU neurons add up to |x|?")


ROTATION_ANSWERS = {"relu_output": "same", "linear": "same", "relu_hidden": "changes"}


def check_rotation(answer: Any) -> bool:
    """Exercise 3: rotate the hidden space (W -> W O) of a linear, a ReLU-output and a ReLU-hidden model.
    Which losses stay the same?  answer = {"linear": "same" | "changes", "relu_output": ..., "relu_hidden": ...}."""
    if unanswered(answer):
        return False
    if not isinstance(answer, dict) or set(answer) != set(ROTATION_ANSWERS):
        return feedback(False, 'Write a dict with the three kinds: {"linear": "same", "relu_output": ..., '
                               '"relu_hidden": ...}.')
    given = {k: str(v).strip().lower() for k, v in answer.items()}
    if any(v not in ("same", "changes") for v in given.values()):
        return feedback(False, 'Each value must be "same" or "changes".')
    if given == ROTATION_ANSWERS:
        return feedback(True, "The linear and ReLU-output models only see the Gram matrix W^T W, which a rotation "
                              "keeps; the ReLU on the hidden layer acts on each neuron, so rotating mixes what it "
                              "cuts off: that basis is privileged.")
    wrong = sorted(k for k in ROTATION_ANSWERS if given[k] != ROTATION_ANSWERS[k])
    return feedback(False, f"Look again at {', '.join(wrong)}: which models apply a function to each hidden "
                           "coordinate separately?")
