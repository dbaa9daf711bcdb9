"""Self-checks for notebook 08 (non-uniform superposition, correlated and anticorrelated features).

Each check prints feedback and returns True or False; it never raises, not even when the learner's code does.
The samplers are checked by their statistics on a large batch (tolerances of ~5 standard errors), so any
correct implementation passes, however it is written (torch or numpy, loops or vectorised).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from . import as_number, as_whole, call_learner, feedback, read_answer, unanswered

__all__ = [
    "CHECK_BATCH", "EXERCISE_2", "check_anticorrelated_sampler", "check_digon_loss", "check_seeds_needed",
    "reference_anticorrelated_pairs", "reference_digon_loss", "seeds_for",
]

CHECK_BATCH = 40_000


def reference_anticorrelated_pairs(batch_size: int, n_pairs: int, density: float) -> torch.Tensor:
    """The worked answer: [batch_size, 2 n_pairs]; pair k = features 2k, 2k+1 is active with probability
    p = density, and then exactly one member, chosen uniformly, holds a U[0, 1) value."""
    active = torch.rand(batch_size, n_pairs) < density
    member = torch.randint(0, 2, (batch_size, n_pairs))
    values = torch.rand(batch_size, n_pairs)
    x = torch.zeros(batch_size, n_pairs, 2)
    x.scatter_(2, member[:, :, None], (values * active)[:, :, None])
    return x.reshape(batch_size, 2 * n_pairs)


def _as_array(out: Any) -> np.ndarray | None:
    try:
        if isinstance(out, torch.Tensor):
            return out.detach().cpu().double().numpy()
        a = np.asarray(out, dtype=float)
        return a if a.dtype != object else None
    except (TypeError, ValueError, RuntimeError):
        return None


def check_anticorrelated_sampler(fn: Any) -> bool:
    """Exercise 3 (optional): fn(batch_size, n_pairs, density) -> [batch_size, 2 * n_pairs] anticorrelated pairs (the
    paper's construction: a pair is active with probability p, then exactly one member, chosen uniformly, is
    U[0, 1))."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def anticorrelated_pairs(batch_size, n_pairs, density): ...")
    B, n_pairs, p = CHECK_BATCH, 3, 0.3
    out, err = call_learner(fn, B, n_pairs, p, on=f" on a batch of {B:,}")
    if err:
        return feedback(False, err)
    if out is None:
        return feedback(False, "Your function returned None: fill in its body and return the batch.")
    x = _as_array(out)
    if x is None or x.shape != (B, 2 * n_pairs):
        shape = None if x is None else x.shape
        return feedback(False, f"anticorrelated_pairs({B}, {n_pairs}, {p}) should have shape ({B}, {2 * n_pairs}) "
                               f"(batch, features), got {shape}.")
    if not np.isfinite(x).all() or (x < 0).any() or (x >= 1).any():
        return feedback(False, "Every value should lie in [0, 1): 0 when off, U[0, 1) when on.")
    on = x > 0
    pairs = on.reshape(B, n_pairs, 2)
    both = pairs.all(-1).mean()
    pair_active = pairs.any(-1).mean(0)  # [n_pairs]
    se = math.sqrt(p * (1 - p) / B)
    if both > 0:
        return feedback(False, f"Both members of a pair are non-zero in {both:.1%} of the samples. Anticorrelated "
                               "features never fire together: an active pair switches on exactly ONE member.")
    if np.abs(pair_active - 2 * p).max() < 6 * se:
        return feedback(False, f"Each pair is active with probability ~{2 * p:g}, not p = {p:g}: that is ARENA's "
                               "convention (each feature has density p). Here p is the probability that the pair "
                               "is active; the member it switches on then has density p / 2.")
    if np.abs(pair_active - p).max() > 6 * se:
        return feedback(False, f"A pair should be active with probability p = {p:g}; yours are active with "
                               f"probabilities {', '.join(f'{a:.3f}' for a in pair_active)}.")
    member_share = pairs[:, :, 0].mean(0) / np.maximum(pair_active, 1e-12)
    if np.abs(member_share - 0.5).max() > 6 * math.sqrt(0.25 / (B * p)):
        return feedback(False, "Choose the member uniformly: each member of an active pair should be the one "
                               f"switched on half the time (yours: first member {member_share.mean():.2f}).")
    values = x[on]
    if abs(values.mean() - 0.5) > 0.02 or abs((values < 0.25).mean() - 0.25) > 0.02:
        return feedback(False, "The value of the active member should be uniform on [0, 1) (mean 0.5, a quarter "
                               f"below 0.25); yours have mean {values.mean():.3f}.")
    a = pairs.any(-1).astype(float)
    corr = np.corrcoef(a.T)[np.triu_indices(n_pairs, 1)]
    if np.abs(corr).max() > 0.05:
        return feedback(False, "Different pairs should be independent (each pair makes its own on/off draw); "
                               f"yours are correlated ({np.abs(corr).max():.2f}).")
    return feedback(True, f"Each pair is active {p:g} of the time and never has both members on; each member fires "
                          f"with density {p / 2:g}, with U[0, 1) values.")


EXERCISE_2 = {"ratio": 4.0, "confidence": 0.99}  # just past the crossing, where a single seed is a coin toss


def seeds_for(q: float, confidence: float) -> int:
    """The smallest k with 1 - (1 - q)^k >= confidence (best-of-k finds a solution that a fraction q of starts
    reach); q in (0, 1]."""
    if q >= 1:
        return 1
    return max(1, math.ceil(math.log(1 - confidence) / math.log(1 - q) - 1e-9))


def check_seeds_needed(answer: Any, run: Any, ratio: float = EXERCISE_2["ratio"],
                       confidence: float = EXERCISE_2["confidence"]) -> bool:
    """Exercise 2: how many seeds must best-of-k train to find the two digons with probability `confidence`, at
    `ratio`, given the share q of random starts that reached them in the notebook's run (run.digon_fraction())?"""
    value = read_answer(answer, as_whole, "Write a whole number of seeds, e.g. answer = 3.")
    if value is None:
        return False
    j = int((run.random_ratio - ratio).abs().argmin())
    n = int(run.random_W.shape[0])
    hits = round(float(run.digon_fraction()[j]) * n)
    if not 0 < hits:
        return feedback(False, f"No random start reached the digons at r = {ratio:g} in this run: no k is enough.")
    q = hits / n
    right = seeds_for(q, confidence)
    if value == right:
        got = 1 - (1 - q) ** right
        fewer = 1 - (1 - q) ** (right - 1)
        return feedback(True, f"q = {hits}/{n}: {right} seeds find the digons with probability 1 - (1 - q)^{right} = "
                              f"{got:.3f} >= {confidence:g}, and {right - 1} with only {fewer:.3f}.")
    mistakes = []
    if hits < n:
        mistakes.append((seeds_for(1 - q, confidence), f"That uses q = {n - hits}/{n}, the share of starts that end as "
                                                       f"a pentagon. The digons are found by {hits} of {n}."))
    exact_k = math.log(1 - confidence) / math.log(1 - q) if q < 1 else 1.0
    mistakes += [(seeds_for(q, 0.95), f"That is the count for 95%; the question asks for {confidence:g}."),
                 (math.floor(exact_k), f"Rounded down: with {math.floor(exact_k)} seeds the probability is only "
                                       f"{1 - (1 - q) ** math.floor(exact_k):.3f}. Take the next whole number.")]
    for wrong, message in mistakes:
        if value == wrong and wrong != right:
            return feedback(False, message)
    return feedback(False, f"At r = {ratio:g}, q = {hits}/{n} of single starts reach the digons. Best-of-k misses them "
                           f"only if all k starts miss: (1 - q)^k. Find the smallest k with 1 - (1 - q)^k >= "
                           f"{confidence:g} (log both sides).")


def reference_digon_loss(ratio: float, density: float) -> float:
    """The worked answer: the two-digon solution's loss, mean over the 5 features, with unit weights and no bias:
    4 features in antipodal pairs lose p^2/6 each (only when both of a pair are on, E[min(x, y)^2] = 1/6), and the
    dropped feature 4 (density p / ratio) loses E[x^2] = 1/3 whenever it is on."""
    p = density
    return (4 * p**2 / 6 + p / ratio / 3) / 5


def check_digon_loss(fn: Any, run: Any = None) -> bool:
    """Exercise 1: fn(ratio, density) -> the loss of two antipodal pairs at right angles plus a dropped feature 4,
    mean over the 5 features, in closed form.  With the notebook's run, also compares it with the trained digons."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def digon_loss(ratio, density): ...")
    cases = [(4.0, 0.05), (2.0, 0.1), (8.0, 0.02), (1.5, 0.2)]
    got = []
    for r, p in cases:
        out, err = call_learner(fn, r, p)
        if err:
            return feedback(False, err)
        if isinstance(out, torch.Tensor) and out.numel() == 1:
            out = out.item()
        value = as_number(out)
        if value is None:
            return feedback(False, f"digon_loss({r:g}, {p:g}) returned {type(out).__name__} {out!r}: return one "
                                   "number, the loss.")
        got.append(value)

    def close(formula: Any) -> bool:
        return all(math.isclose(g, formula(r, p), rel_tol=1e-3) for g, (r, p) in zip(got, cases))

    if close(reference_digon_loss):
        text = ("Two pairs at p^2/6 per feature, plus p/(3r) for the dropped feature, averaged over the 5 features: "
                "(2p^2/3 + p/(3r)) / 5.")
        if run is not None:
            ok = run.intact("digons")
            mine = torch.tensor([reference_digon_loss(float(r), run.density) for r in run.ratio[ok]])
            off = float(((run.loss["digons"][ok] - mine) / mine).abs().max())
            text += (f" The trained digons of this run sit within {off:.1%} of it at every ratio: they are this "
                     "solution, up to slightly longer weights and small biases.")
        return feedback(True, text)
    mistakes = [
        (lambda r, p: 5 * reference_digon_loss(r, p), "That is the sum over the 5 features; the loss is their mean "
                                                       "(divide by 5)."),
        (lambda r, p: (4 * p**2 / 6 + p / 3) / 5, "Feature 4 is active with density p / ratio, not p."),
        (lambda r, p: (4 * p**2 / 6 + p * r / 3) / 5, "Feature 4 is `ratio` times SPARSER: density p / ratio."),
        (lambda r, p: (4 * p**2 / 6 + p / r / 4) / 5, "A dropped feature loses E[x^2] = 1/3 when it is on (the output "
                                                      "is 0), not E[x]^2 = 1/4."),
        (lambda r, p: (4 * p**2 / 6) / 5, "The dropped feature 4 still costs something: p / ratio x E[x^2]."),
        (lambda r, p: (p / r / 3) / 5, "The pairs cost something too: both members on at once (probability p^2)."),
        (lambda r, p: (2 * p**2 / 6 + p / r / 3) / 5, "Each of the 4 paired features loses p^2/6 (there are 4 of "
                                                      "them, not 2 pairs' worth)."),
        (lambda r, p: (4 * p**2 / 3 + p / r / 3) / 5, "When both of a pair are on, feature i's output is "
                                                      "ReLU(x_i - x_j): the error is min(x_i, x_j)^2, whose mean is "
                                                      "1/6, not 1/3."),
        (lambda r, p: (4 * p * (1 - p) / 6 + p / r / 3) / 5, "The pair errs only when BOTH members are on: p^2, "
                                                             "not p(1 - p)."),
    ]
    for formula, message in mistakes:
        if close(formula):
            return feedback(False, message)
    shown = ", ".join(f"digon_loss({r:g}, {p:g}) = {g:.4g}" for g, (r, p) in zip(got, cases[:2]))
    return feedback(False, f"Not the two-digon loss ({shown}). Add up, per feature: an antipodal member loses only "
                           "when its partner is on too (notebook 05: p^2/6), the dropped feature loses E[x^2] each "
                           "time it is on; then average over the 5 features.")
