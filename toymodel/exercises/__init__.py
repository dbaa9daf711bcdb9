"""Self-checks for the notebooks' "Your turn" exercises, one module per notebook (nb01 ... nb04).

Each check takes the learner's answer, prints feedback and returns True or False.  It never
raises on a wrong answer, so a notebook with an unanswered exercise still runs top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import dis
import math
from typing import Any

import numpy as np
import torch

__all__ = [
    "as_feature_set", "as_number", "as_whole", "call_learner", "check_weight_measure", "feedback", "is_stub",
    "judge_number", "learner_tensor", "measure_test_weights", "read_answer", "read_pair", "UNANSWERED", "unanswered",
]

UNANSWERED = "✏️  Not answered yet: replace the ... with your answer and run the cell again."


def feedback(ok: bool, message: str) -> bool:
    """Print message (why it is right, or what to fix) after a ✅ or ❌, and return ok."""
    print(f"✅ Correct. {message}" if ok else f"❌ Not yet. {message}")
    return ok


def is_stub(fn: object) -> bool:
    """True for a `def` whose body is still only `...`, `pass` or `return ...` (a docstring allowed): a
    notebook's stub."""
    code = getattr(fn, "__code__", None)
    if not callable(fn) or code is None or code.co_name == "<lambda>":
        return False
    ops = [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in ("RESUME", "NOP", "CACHE")]
    return any(ops in ([("LOAD_CONST", c), ("RETURN_VALUE", None)], [("RETURN_CONST", c)]) for c in (None, ...))


def unanswered(answer: object) -> bool:
    """True (and a reminder printed) when the learner left the placeholder `...` or None, or a stub function
    `def f(...): ...` whose body is still to be written."""
    if answer is ... or answer is None or is_stub(answer):
        print(UNANSWERED)
        return True
    return False


def as_number(answer: Any) -> float | None:
    """answer as a finite float, or None if it is not a number (True/False do not count)."""
    if isinstance(answer, bool):
        return None
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def as_whole(answer: Any) -> int | None:
    """answer as an int if it is a whole number (3 or 3.0), else None."""
    value = as_number(answer)
    if value is None or value != int(value):
        return None
    return int(value)


def as_feature_set(answer: Any) -> set[int] | None:
    """A collection of feature indices as a set of ints, or None if any entry is not a whole number."""
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Iterable):
        return None
    out = set()
    for a in answer:
        i = as_whole(a)
        if i is None:
            return None
        out.add(i)
    return out


def read_answer(answer: Any, parse: Callable[[Any], Any], how: str) -> Any:
    """The learner's answer parsed by `parse` (as_number, as_whole, as_feature_set), or None once a reminder
    (the placeholder is still there) or `how` (what to write instead, e.g. "Write a number, e.g. answer = 45.")
    has been printed."""
    if unanswered(answer):
        return None
    value = parse(answer)
    if value is None:
        feedback(False, how)
    return value


Parse = Callable[[Any], Any]


def read_pair(answer: Any, parse: tuple[Parse, Parse], how: str) -> tuple[Any, Any] | None:
    """A two-part answer (a, b), each part parsed by its own function, or None once a reminder or `how` has
    been printed (as read_answer)."""
    if unanswered(answer):
        return None
    try:
        a, b = answer
        a, b = parse[0](a), parse[1](b)
    except (TypeError, ValueError):  # not two parts
        a = b = None
    if a is None or b is None:
        feedback(False, how)
        return None
    return a, b


def judge_number(value: float, right: float, tol: float, success: str,
                 mistakes: Iterable[tuple[float, str]] = (), hint: str = "") -> bool:
    """Feedback on a number: `success` within tol of right, else the message of the first known mistake
    within tol of it (a value and what it means, e.g. (right / n, "That is the mean ...")), else `hint`."""
    if abs(value - right) <= tol:
        return feedback(True, success)
    for wrong, message in mistakes:
        if abs(value - wrong) <= tol:
            return feedback(False, message)
    return feedback(False, hint)


def call_learner(fn: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """Run the learner's function on a fixed RNG state (restored after): (its result, None) or (None, a message).

    Never raises: an exception in the learner's code becomes the message, so the checker can report it.
    """
    np_state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):  # repeatable checks; the learner's own RNG state is left alone
            torch.manual_seed(0)
            np.random.seed(0)
            return fn(*args), None
    except Exception as err:  # the learner's code raised: report it, never re-raise
        return None, f"your function raised {type(err).__name__}: {err}"
    finally:
        np.random.set_state(np_state)


def learner_tensor(out: Any, shape: tuple[int, ...], what: str) -> tuple[torch.Tensor | None, str | None]:
    """The learner's result as a float64 tensor of `shape`, or (None, a message saying what is wrong)."""
    if out is None:
        return None, f"{what} returned None: fill in its body and return the result."
    try:
        array = np.asarray(out.detach().cpu() if isinstance(out, torch.Tensor) else out)
        t = torch.as_tensor(array, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None, f"{what} should return a tensor, got {type(out).__name__}."
    if tuple(t.shape) != tuple(shape):
        return None, f"{what} should return shape {list(shape)}, got {list(t.shape)}."
    if not bool(torch.isfinite(t).all()):
        return None, f"{what} returned NaN or inf (a division by a zero norm?)."
    return t, None


def measure_test_weights() -> torch.Tensor:
    """The W [3 instances, 6 features, 3 hidden] the measure checkers use: random, with no zero-norm row and
    norms from ~0.3 to ~1.7 (so that normalising the wrong factor, or forgetting to, shows)."""
    g = torch.Generator().manual_seed(3)
    W = torch.randn(3, 6, 3, generator=g, dtype=torch.float64)
    return W / W.norm(dim=-1, keepdim=True) * (0.3 + 1.4 * torch.rand(3, 6, 1, generator=g, dtype=torch.float64))


def check_weight_measure(fn: Any, signature: str, right: torch.Tensor,
                         mistakes: list[tuple[torch.Tensor, str]], success: str, hint: str) -> bool:
    """Run the learner's fn(W) -> [n_instances, n_features] on measure_test_weights() and compare it with
    `right`, then with each known mistake (its value and the message that names it)."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, f"Write a function: def {signature}: ...")
    W = measure_test_weights()
    out, err = call_learner(fn, W.float().clone())
    if err:
        return feedback(False, err + " W has shape [instances, n_features, n_hidden]; row W[k, i] is W_i.")
    value, err = learner_tensor(out, tuple(right.shape), signature)
    if err:
        return feedback(False, err + " One value per instance and feature.")
    close = lambda a, b: bool(torch.allclose(a, b, rtol=1e-3, atol=1e-5))  # noqa: E731
    if close(value, right):
        return feedback(True, success)
    for wrong, message in mistakes:
        if close(value, wrong):
            return feedback(False, message)
    return feedback(False, hint)
