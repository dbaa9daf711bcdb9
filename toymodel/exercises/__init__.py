"""Self-checks for the notebooks' "Your turn" exercises, one module per notebook (nb01 ... nb04).

Each check takes the learner's answer, prints feedback and returns True or False.  It never
raises on a wrong answer, so a notebook with an unanswered exercise still runs top to bottom.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
import dis
import math
import random
import signal
import threading
from typing import Any

import numpy as np
import torch

__all__ = [
    "TIME_LIMIT", "UNANSWERED", "as_feature_set", "as_number", "as_whole", "call_learner", "check_weight_measure",
    "feedback", "gradient_problem", "is_stub", "judge_number", "learner_tensor", "measure_test_weights", "read_answer",
    "read_pair", "restored_globals", "time_limit", "unanswered",
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


TIME_LIMIT = 10.0  # seconds a learner's function may run inside a checker


class _TimeUp(BaseException):
    """Raised in the learner's code when its time is up (a BaseException: `except Exception` does not swallow it)."""


@contextmanager
def restored_globals() -> Iterator[None]:
    """Run the block, then put back every global setting a learner's code may change, whatever it did or raised
    (KeyboardInterrupt included): torch's default dtype, grad mode and thread count, and the torch, numpy and
    Python random number generators."""
    dtype, grad, threads = torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads()
    torch_rng, np_rng, py_rng = torch.get_rng_state(), np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        torch.set_num_threads(threads)
        torch.set_rng_state(torch_rng)
        np.random.set_state(np_rng)
        random.setstate(py_rng)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise _TimeUp in the block once it has run `seconds` (main thread only; elsewhere no limit).

    A timer thread interrupts the main thread (_thread.interrupt_main) through a SIGINT handler of our own, so
    it works wherever Python runs (no SIGALRM needed); a real Ctrl-C (or Jupyter's "interrupt kernel") in the
    meantime is still a KeyboardInterrupt.  Python code stops at once; a single long torch call at its end.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired, active = threading.Event(), [True]

    def on_sigint(signum: int, frame: Any) -> None:
        if not fired.is_set():
            raise KeyboardInterrupt
        if active[0]:
            raise _TimeUp
        # our interrupt arrived after the block ended: nothing to stop

    def alarm() -> None:
        fired.set()
        _thread.interrupt_main(signal.SIGINT)

    previous = signal.signal(signal.SIGINT, on_sigint)
    timer = threading.Timer(seconds, alarm)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        active[0] = False
        timer.cancel()
        timer.join()
        for _ in range(100):  # let a pending interrupt of ours reach on_sigint (checked on backward jumps)
            pass
        signal.signal(signal.SIGINT, previous)


def call_learner(fn: Callable[..., Any], *args: Any, seconds: float | None = None,
                 on: str = "") -> tuple[Any, str | None]:
    """Run the learner's function on a fixed RNG state: (its result, None) or (None, a message).

    Never raises for the learner's mistakes: an exception in their code becomes the message, and so does a
    function that runs longer than `seconds` (default TIME_LIMIT; `on` says what it was given, e.g. " on a batch
    of 20,000").  Every global setting it touches is put back afterwards (restored_globals), even when it is
    interrupted; a real KeyboardInterrupt still stops the cell.
    """
    seconds = TIME_LIMIT if seconds is None else seconds
    with restored_globals():
        torch.manual_seed(0)
        np.random.seed(0)
        random.seed(0)
        try:
            with time_limit(seconds):
                return fn(*args), None
        except _TimeUp:
            return None, (f"your function took more than {seconds:g} s{on}: is there a loop that never ends, or a "
                          "Python loop over many values (e.g. a batch)? Vectorise it with torch operations on whole "
                          "tensors.")
        except Exception as err:  # the learner's code raised: report it, never re-raise
            return None, f"your function raised {type(err).__name__}: {err}"


def _not_a_tensor(out: Any, what: str, need_grad: bool) -> str | None:
    """Why `out` is no answer the notebook's next cells can compute with (None if it is a real float tensor)."""
    why = "training needs its gradient" if need_grad else "the notebook's next cells compute with torch"
    if out is None:
        return f"{what} returned None: fill in its body and return the result."
    if isinstance(out, np.ndarray) or type(out).__module__.startswith("numpy"):
        return (f"{what} returns a numpy {type(out).__name__}: return a torch tensor ({why}); drop .numpy() and "
                "np. calls.")
    if isinstance(out, (int, float, complex)) and not isinstance(out, bool):
        return (f"{what} returns a Python {type(out).__name__} ({out!r}): return the torch tensor itself ({why}); "
                "drop .item() / float().")
    if not isinstance(out, torch.Tensor):
        return f"{what} returns a {type(out).__name__}: return a torch tensor ({why})."
    if out.is_complex():
        return (f"{what} returns a complex tensor ({out.dtype}): the model is real; look for a complex number or a "
                "torch.fft call in your code.")
    if not out.is_floating_point():
        return f"{what} returns a tensor of {out.dtype}: return floating-point numbers (float32)."
    return None


def learner_tensor(out: Any, shape: tuple[int, ...], what: str, need_grad: bool = False,
                   shape_hint: str = "", numpy_ok: bool = False) -> tuple[torch.Tensor | None, str | None]:
    """The learner's result as a detached float64 copy of `shape`, or (None, a message saying what is wrong).

    The result must be a real floating-point torch tensor (or, with numpy_ok, where the notebook converts it, a
    numpy array of real floats); with need_grad it must also still be attached to the autograd graph of the inputs
    (not computed under torch.no_grad(), not .detach()ed), as training needs.
    shape_hint: added to the message when only the shape is wrong (e.g. the layout the result should have).
    """
    if numpy_ok and isinstance(out, np.ndarray) and out.dtype.kind in "fiu":
        out = torch.from_numpy(np.array(out, dtype=np.float64))
    problem = _not_a_tensor(out, what, need_grad)
    if problem:
        return None, problem
    if tuple(out.shape) != tuple(shape):
        return None, f"{what} should return shape {list(shape)}, got {list(out.shape)}. {shape_hint}".rstrip()
    if need_grad and out.grad_fn is None:
        return None, (f"{what} returns a tensor with no gradient: it was computed under torch.no_grad() or cut from "
                      "the graph (.detach(), .data, a numpy round trip). Training calls .backward() on it.")
    t = out.detach().cpu().double()
    if not bool(torch.isfinite(t).all()):
        return None, f"{what} returned NaN or inf (a division by a zero norm?)."
    return t, None


def gradient_problem(out: torch.Tensor, right: torch.Tensor, inputs: dict[str, torch.Tensor],
                     what: str) -> str | None:
    """None if the gradients of the learner's `out` with respect to `inputs` (leaves with requires_grad) are those
    of the right answer `right` (computed from the same leaves); else a message naming the input whose gradient
    is missing or wrong (something in the learner's code was cut from the graph)."""
    cotangent = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
    leaves = list(inputs.values())
    try:
        mine = torch.autograd.grad((out * cotangent).sum(), leaves, allow_unused=True, retain_graph=True)
    except RuntimeError as err:
        return f"autograd cannot differentiate what {what} returns: {err}"
    want = torch.autograd.grad((right * cotangent.to(right.dtype)).sum(), leaves, allow_unused=True)
    for name, leaf, g, w in zip(inputs, leaves, mine, want):
        if g is None and w is None:  # neither depends on this input
            continue
        g = torch.zeros_like(leaf) if g is None else g
        w = torch.zeros_like(leaf) if w is None else w
        if not torch.allclose(g.double(), w.double(), rtol=1e-3, atol=1e-6):
            return (f"{what} has the right values but the wrong gradient with respect to {name}: part of the "
                    "computation was cut from the graph (.detach(), .data, torch.no_grad(), a numpy round trip), "
                    "so training would not update it correctly.")
    return None


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
    value, err = learner_tensor(out, tuple(right.shape), signature, shape_hint="One value per instance and feature.")
    if err:
        return feedback(False, err)
    close = lambda a, b: bool(torch.allclose(a, b, rtol=1e-3, atol=1e-5))  # noqa: E731
    if close(value, right):
        return feedback(True, success)
    for wrong, message in mistakes:
        if close(value, wrong):
            return feedback(False, message)
    return feedback(False, hint)
