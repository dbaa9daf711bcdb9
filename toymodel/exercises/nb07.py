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
    "EXERCISE_1", "check_abs_forward", "check_abs_weights", "check_monosemantic", "check_neuron_symmetries",
    "monosemantic_count", "reference_abs_weights", "SYMMETRY_ANSWERS",
]


def monosemantic_count(sweep: Any, density: float, fraction: float = FRACTION) -> int:
    """Monosemantic neurons of the relu_hidden model nearest `density` (neurons.n_monosemantic at `fraction`)."""
    return int(n_monosemantic(sweep.W, fraction)[sweep.nearest(density=density)])


# The cut-counting exercise (the notebook's exercise 2; the name is kept from when it came first): sparse, where the
# largest weights are negative, so counting W and |W| disagree.
EXERCISE_1 = {"sparsity": 0.95, "fraction": 0.4}


def check_monosemantic(answer: Any, sweep: Any, sparsity: float = EXERCISE_1["sparsity"],
                       fraction: float = EXERCISE_1["fraction"]) -> bool:
    """Exercise 2 (optional): how many of the 5 neurons are monosemantic at sparsity S, when feature i counts for
    neuron j once W_ij >= fraction * (the neuron's largest positive weight)?  Computed from the sweep.

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
                              f"largest positive weight, {right} of {m} neurons carry one feature each and {poly} "
                              "carry two or more.")
    if value == poly and poly != right:
        return feedback(False, "That is the number of polysemantic neurons (two or more features). "
                               "Count the neurons with exactly one feature.")
    if fraction != FRACTION and value == monosemantic_count(sweep, p):
        return feedback(False, f"That is the count with the library's cut at {FRACTION:g} (the table above). "
                               f"Move the cut to {fraction:g} of each neuron's largest positive weight.")
    signed = int(n_monosemantic(sweep.W, fraction, positive_only=False)[k])
    if value == signed and signed != right:
        return feedback(False, "That count uses |W_ij|, so a large negative weight counts as the neuron's feature. "
                               "With inputs >= 0 a neuron fires only through its positive weights; a negative weight "
                               "inhibits it. Compare W_ij itself, not |W_ij|, with the cut.")
    return feedback(False, f"S = {sparsity:g} is p = 1 - S = {p:.3g} (sweep.nearest(density=...)). For each neuron "
                           f"(a column of W), count the features whose weight is at least {fraction:g} of the "
                           "column's largest positive weight; a monosemantic neuron has exactly one.")


def _abs_test_inputs(n_features: int) -> torch.Tensor:
    """Signed inputs [batch, n_features] in float64: every feature on at once (dense), both signs, and each
    feature alone at +-1 and +-0.3."""
    g = torch.Generator().manual_seed(11)
    dense = 2 * torch.rand(512, n_features, generator=g, dtype=torch.float64) - 1
    eye = torch.eye(n_features, dtype=torch.float64)
    return torch.cat([dense, eye, -eye, 0.3 * eye, -0.3 * eye])


def _hand_model(W1: torch.Tensor, W2: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y' = ReLU(W2 ReLU(W1 x) + b) for one model: W1[i, j] feature i -> neuron j, W2[i, j] neuron j -> output i."""
    return torch.relu(torch.relu(x @ W1) @ W2.T + b)


def _read_weights(out: Any, n: int, m: int) -> tuple[tuple[torch.Tensor, ...] | None, str | None]:
    """The learner's (W1, W2, b) as float64 tensors of shapes [n, m], [n, m], [n], or (None, what is wrong)."""
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        return None, (f"abs_weights({n}, {m}) should return three things, W1, W2, b; got "
                      f"{type(out).__name__}{f' of length {len(out)}' if isinstance(out, (tuple, list)) else ''}.")
    got = []
    for name, t, shape in zip(("W1", "W2", "b"), out, ((n, m), (n, m), (n,))):
        value, err = learner_tensor(t, shape, f"{name} of abs_weights({n}, {m})", numpy_ok=True,
                                    shape_hint="W1 and W2 are [n_features, n_hidden] (W1[i, j]: feature i -> neuron "
                                               "j; W2[i, j]: neuron j -> output i), b is [n_features].")
        if err:
            return None, err
        got.append(value)
    return tuple(got), None


def _why_not_abs(i: int, x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, W2: torch.Tensor,
                 b: torch.Tensor) -> str:
    """What output i computes instead of |x_i| (a hand-built model), in words."""
    xi, yi = x[:, i], y[:, i]
    close = lambda a: bool(torch.allclose(yi, a, atol=1e-6))  # noqa: E731
    reads = W2[i].abs() > 1e-9  # the neurons output i reads
    if close(torch.zeros_like(xi) + torch.relu(b[i])):
        return f"output {i} ignores x_{i}: no neuron carries feature {i} to it."
    if close(torch.relu(xi + b[i])) or close(torch.relu(-xi + b[i])):
        side = "positive" if close(torch.relu(xi + b[i])) else "negative"
        neg = bool((W2[i][W1[i].abs() > 1e-9] < 0).any())  # a neuron of feature i read out negatively
        extra = (" A neuron ReLU(-x_i) read out with a negative weight subtracts instead of adding: |x| = ReLU(x) + "
                 "ReLU(-x), both with weight +1.") if neg else ""
        return (f"output {i} is ReLU({'' if side == 'positive' else '-'}x_{i}): it only sees the {side} half of "
                f"x_{i}. It needs a positive-side neuron ReLU(x_{i}) AND a negative-side one ReLU(-x_{i}).{extra}")
    if abs(float(b[i])) > 1e-9 and close(torch.relu(xi.abs() + b[i])):
        return f"output {i} is ReLU(|x_{i}| + b_{i}) with b_{i} = {float(b[i]):.3g}: with these weights b must be 0."
    others = [k for k in range(W1.shape[0]) if k != i and bool((W1[k].abs()[reads] > 1e-9).any())]
    if others:
        return (f"output {i} reads a neuron that also takes feature {others[0]} as input: with dense features both are "
                "on at once, and that neuron mixes them. Give each neuron one feature.")
    return (f"output {i} is not |x_{i}|: use weight +1 into a positive-side neuron, -1 into a negative-side one, "
            "and read both out with +1.")


def check_abs_weights(fn: Any, n_features: int = 5, n_hidden: int = 7) -> bool:
    """Exercise 1: fn(n_features, n_hidden) -> (W1 [n, m], W2 [n, m], b [n]) set by hand so that the |x| model
    y' = ReLU(W2 ReLU(W1 x) + b) computes |x_i| exactly, with dense features, for as many features as the neurons
    allow (m // 2: a pair per feature).  Tested at (n_features, n_hidden), then at two other sizes."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def abs_weights(n_features, n_hidden): ... return W1, W2, b")
    sizes = [(n_features, n_hidden), (3, 6), (4, 3)]
    counts = []
    for n, m in sizes:
        out, err = call_learner(fn, n, m)
        if err:
            return feedback(False, err)
        weights, err = _read_weights(out, n, m)
        if err:
            return feedback(False, err)
        W1, W2, b = weights
        x = _abs_test_inputs(n)
        y = _hand_model(W1, W2, b, x)
        exact = ((y - x.abs()).abs() <= 1e-6 * (1 + x.abs())).all(0)  # [n]: output i is |x_i| on every input
        target = min(n, m // 2)
        k = int(exact.sum())
        broken = [i for i in range(n) if not exact[i] and bool((W1[i].abs() > 1e-9).any() or abs(float(b[i])) > 1e-9)]
        if k < target or broken:
            where = f"With n_features = {n}, n_hidden = {m}: |x_i| is computed exactly for {k} feature(s)"
            if broken:
                i = broken[0]
                return feedback(False, f"{where}; {_why_not_abs(i, x, y, W1, W2, b)}")
            return feedback(False, f"{where}, but {m} neurons make {m // 2} pairs: room for {target}. Give each "
                                   "feature a positive-side and a negative-side neuron until the neurons run out.")
        counts.append(k)
    k = counts[0]
    odd = " The odd neuron has no partner: alone it computes ReLU(x) or ReLU(-x), never |x|." if n_hidden % 2 else ""
    return feedback(True, f"{n_hidden} neurons compute |x_i| exactly for {k} features: |x| = ReLU(x) + ReLU(-x) "
                          "takes a pair per feature, so m neurons hold m // 2 features without superposition."
                          f"{odd} (Also right at n = 3, m = 6 and n = 4, m = 3.)")


def reference_abs_weights(n_features: int, n_hidden: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The worked answer of exercise 2: feature i < min(n, m // 2) gets neuron 2i (weight +1, ReLU(x_i)) and neuron
    2i + 1 (weight -1, ReLU(-x_i)), both read out into output i with +1; b = 0."""
    W1, W2 = torch.zeros(n_features, n_hidden), torch.zeros(n_features, n_hidden)
    for i in range(min(n_features, n_hidden // 2)):
        W1[i, 2 * i], W1[i, 2 * i + 1] = 1.0, -1.0
        W2[i, 2 * i], W2[i, 2 * i + 1] = 1.0, 1.0
    return W1, W2, torch.zeros(n_features)


SYMMETRY_ANSWERS = {"rotation": "changes", "permutation": "same", "sign_flip": "changes"}


def check_neuron_symmetries(answer: Any) -> bool:
    """Exercise 3 (optional): which orthogonal O (W -> W O) leave a trained ReLU-hidden model's loss unchanged: a random
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
