"""Self-checks for notebook 07 (superposition in a privileged basis; computation in superposition).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
Where the right answer depends on training, it is computed from the sweep the notebook trained.
"""

from __future__ import annotations

from typing import Any

import torch

from ..neurons import n_monosemantic, n_polysemantic
from . import as_whole, call_learner, feedback, learner_tensor, unanswered

__all__ = [
    "check_abs_forward", "check_monosemantic", "check_neurons_for_abs", "check_rotation", "monosemantic_count",
    "neurons_for_abs", "ROTATION_ANSWERS",
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
    y, err = learner_tensor(out, tuple(x.shape), "abs_forward(x, W1, W2, b)")
    if err:
        return feedback(False, err + " y' has the shape of x: [batch, instances, n_features].")
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
