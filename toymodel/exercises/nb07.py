"""Self-checks for notebook 07 (superposition in a privileged basis; computation in superposition).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweep the notebook trained.
"""

from __future__ import annotations

from typing import Any

import torch

from ..neurons import FRACTION, n_monosemantic, n_polysemantic
from . import as_whole, call_learner, feedback, learner_tensor, read_answer, unanswered

__all__ = [
    "EXERCISE_1", "check_abs_forward", "check_features_for_abs", "check_monosemantic", "check_neuron_symmetries",
    "features_for_abs", "monosemantic_count", "SYMMETRY_ANSWERS",
]


def monosemantic_count(sweep: Any, density: float, fraction: float = FRACTION) -> int:
    """Monosemantic neurons of the relu_hidden model nearest `density` (neurons.n_monosemantic at `fraction`)."""
    return int(n_monosemantic(sweep.W, fraction)[sweep.nearest(density=density)])


EXERCISE_1 = {"sparsity": 0.95, "fraction": 0.4}  # sparse, where the largest weights are negative: W and |W| disagree


def check_monosemantic(answer: Any, sweep: Any, sparsity: float = EXERCISE_1["sparsity"],
                       fraction: float = EXERCISE_1["fraction"]) -> bool:
    """Exercise 1: how many of the 5 neurons are monosemantic at sparsity S, when feature i counts for neuron j
    once W_ij >= fraction * (the neuron's largest weight)?  Computed from the sweep.

    The default setting (EXERCISE_1) is one where counting |W_ij| instead of W_ij gives another number on the
    notebook's trained sweep, so that mistake is caught (tests/test_exercises_nb07.py checks it on that sweep)."""
    value = read_answer(answer, as_whole, "Write a whole number of neurons, e.g. answer = 2.")
    if value is None:
        return False
    p = 1.0 - sparsity
    k = sweep.nearest(density=p)
    right = monosemantic_count(sweep, p, fraction)
    poly = int(n_polysemantic(sweep.W, fraction)[k])
    m = sweep.model.n_hidden
    if value == right:
        return feedback(True, f"At S = {sparsity:g} (p = {p:.3g}), with the cut at {fraction:g} of each neuron's "
                              f"largest weight, {right} of {m} neurons carry one feature each and {poly} carry "
                              "two or more.")
    if value == poly and poly != right:
        return feedback(False, "That is the number of polysemantic neurons (two or more features). "
                               "Count the neurons with exactly one feature.")
    if fraction != FRACTION and value == monosemantic_count(sweep, p):
        return feedback(False, f"That is the count with the library's cut at {FRACTION:g} (the table above). "
                               f"Move the cut to {fraction:g} of each neuron's largest weight.")
    signed = int(n_monosemantic(sweep.W, fraction, positive_only=False)[k])
    if value == signed and signed != right:
        return feedback(False, "That count uses |W_ij|, so a large negative weight counts as the neuron's feature. "
                               "With inputs >= 0 a neuron fires only through its positive weights; a negative weight "
                               "inhibits it. Compare W_ij itself, not |W_ij|, with the cut.")
    return feedback(False, f"S = {sparsity:g} is p = 1 - S = {p:.3g} (sweep.nearest(density=...)). For each neuron "
                           f"(a column of W), count the features whose weight is at least {fraction:g} of the "
                           "column's largest; a monosemantic neuron has exactly one.")


def features_for_abs(n_hidden: int) -> int:
    """Features whose |x_i| a dense model with n_hidden ReLU neurons computes exactly: one pair per feature."""
    return n_hidden // 2


def check_features_for_abs(answer: Any, n_hidden: int = 7) -> bool:
    """Exercise 2: with dense features (no superposition), for how many features can m ReLU neurons compute |x_i|
    exactly?"""
    value = read_answer(answer, as_whole, "Write a whole number of features, e.g. answer = 2.")
    if value is None:
        return False
    right = features_for_abs(n_hidden)
    if value == right:
        extra = " and one neuron is left over: alone it sees only one sign of a feature" if n_hidden % 2 else ""
        return feedback(True, f"|x| = ReLU(x) + ReLU(-x) needs a pair of neurons per feature: {n_hidden} neurons "
                              f"make {right} pairs{extra}.")
    if value == n_hidden:
        return feedback(False, "One neuron ReLU(w x) is zero on one side: it sees either the positive or the "
                               "negative half of x, never both.")
    if value == right + 1:
        return feedback(False, "Half of the neurons, rounded up: but the odd neuron has no partner, and one neuron "
                               "alone computes ReLU(x) or ReLU(-x), not |x|.")
    return feedback(False, "Think of one feature first: which ReLU neurons add up to |x|?")


SYMMETRY_ANSWERS = {"rotation": "changes", "permutation": "same", "sign_flip": "changes"}


def check_neuron_symmetries(answer: Any) -> bool:
    """Exercise 3: which orthogonal O (W -> W O) leave a trained ReLU-hidden model's loss unchanged: a random
    rotation, a permutation of the neurons, flipping one neuron's sign?
    answer = {"rotation": "same" | "changes", "permutation": ..., "sign_flip": ...}."""
    if unanswered(answer):
        return False
    if not isinstance(answer, dict) or set(answer) != set(SYMMETRY_ANSWERS):
        return feedback(False, 'Write a dict with the three matrices: {"rotation": "same", "permutation": ..., '
                               '"sign_flip": ...}.')
    given = {k: str(v).strip().lower() for k, v in answer.items()}
    if any(v not in ("same", "changes") for v in given.values()):
        return feedback(False, 'Each value must be "same" or "changes".')
    if given == SYMMETRY_ANSWERS:
        return feedback(True, "Relabelling the neurons changes nothing: ReLU acts on each one the same way. A random "
                              "rotation mixes neurons, and a sign flip turns ReLU(w.x) into ReLU(-w.x), another "
                              "function: both change the loss. The privileged basis is fixed up to a permutation.")
    hints = {"rotation": "a random rotation mixes several neurons into each new one before the ReLU",
             "permutation": "swapping two neurons (and their read-out weights) only renames them",
             "sign_flip": "ReLU(-z) is not -ReLU(z): flipping a neuron's weights changes which inputs make it fire"}
    wrong = [k for k in SYMMETRY_ANSWERS if given[k] != SYMMETRY_ANSWERS[k]]
    return feedback(False, "Look again at " + "; ".join(f"{k}: {hints[k]}" for k in wrong) + ".")


def _abs_inputs() -> tuple[torch.Tensor, ...]:
    """x [64, 2, 6] signed and sparse, W1 and W2 [2, 6, 4], b [2, 6]: n != m, so a transposed weight shows."""
    g = torch.Generator().manual_seed(7)
    K, n, m, B = 2, 6, 4, 64
    x = (2 * torch.rand(B, K, n, generator=g) - 1) * (torch.rand(B, K, n, generator=g) < 0.5)
    W1, W2 = torch.randn(K, n, m, generator=g), torch.randn(K, n, m, generator=g)
    b = 0.3 * torch.randn(K, n, generator=g)
    return x, W1, W2, b


def check_abs_forward(fn: Any) -> bool:
    """fn(x [batch, n_instances, n_features], W1, W2 [n_instances, n_features, n_hidden], b [n_instances, n_features])
    -> y' = ReLU(W2 ReLU(W1 x) + b), shaped like x: the |x| model's forward pass (toymodel.computation.AbsValueModel).

    W1[k, i, j] is feature i -> neuron j and W2[k, i, j] neuron j -> output i, so
    h = ReLU(einsum('bkn,knm->bkm', x, W1)) and y' = ReLU(einsum('bkm,knm->bkn', h, W2) + b)."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def abs_forward(x, W1, W2, b): ...")
    x, W1, W2, b = _abs_inputs()
    out, err = call_learner(fn, x.clone(), W1.clone(), W2.clone(), b.clone())
    if err:
        return feedback(False, err + " Shapes: x [batch, instances, n], W1 and W2 [instances, n, m], b [instances, n].")
    y, err = learner_tensor(out, tuple(x.shape), "abs_forward(x, W1, W2, b)",
                            shape_hint="y' has the shape of x: [batch, instances, n_features].")
    if err:
        return feedback(False, err)
    x, W1, W2, b = x.double(), W1.double(), W2.double(), b.double()
    pre_h = torch.einsum("bkn,knm->bkm", x, W1)
    read = lambda h, W: torch.einsum("bkm,knm->bkn", h, W)  # noqa: E731
    right = torch.relu(read(torch.relu(pre_h), W2) + b)
    close = lambda a: bool(torch.allclose(y, a, rtol=1e-4, atol=1e-5))  # noqa: E731
    if close(right):
        return feedback(True, "y' = ReLU(W2 ReLU(W1 x) + b): ReLU neurons in the middle, the bias and a ReLU on the "
                              "output, as in the paper's absolute-value model.")
    mistakes = [
        (x.abs(), "That is |x| itself: the model must compute its estimate from W1, W2 and b."),
        (torch.relu(read(pre_h, W2) + b), "The hidden ReLU is missing: without it the model is linear up to the "
                                          "output ReLU and cannot compute |x| = ReLU(x) + ReLU(-x)."),
        (read(torch.relu(pre_h), W2) + b, "The output ReLU is missing: y' = ReLU(W2 h + b)."),
        (torch.relu(read(torch.relu(pre_h), W2)), "The bias b is missing: y' = ReLU(W2 h + b)."),
        (torch.relu(read(torch.relu(pre_h), W2)) + b, "The bias is added after the output ReLU; it goes inside."),
        (torch.relu(read(torch.relu(pre_h), W1) + b), "The read-out uses W1: this model's weights are untied, the "
                                                      "output is W2 h (W2[k, i, j]: neuron j -> output i)."),
    ]
    for wrong, message in mistakes:
        if close(wrong):
            return feedback(False, message)
    return feedback(False, "Not ReLU(W2 ReLU(W1 x) + b). h = ReLU(einsum('bkn,knm->bkm', x, W1)), then "
                           "y' = ReLU(einsum('bkm,knm->bkn', h, W2) + b).")
