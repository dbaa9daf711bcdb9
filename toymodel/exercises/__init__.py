"""Self-checks for the notebooks' "Your turn" exercises, one module per notebook (nb01 ... nb04).

Each check takes the learner's answer, prints feedback and returns True or False.  It never
raises on a wrong answer, so a notebook with an unanswered exercise still runs top to bottom.
"""

from __future__ import annotations

from collections.abc import Iterable
import math
from typing import Any

__all__ = ["as_feature_set", "as_number", "as_whole", "feedback", "UNANSWERED", "unanswered"]

UNANSWERED = "✏️  Not answered yet: replace the ... with your answer and run the cell again."


def feedback(ok: bool, right: str, wrong: str) -> bool:
    """Print the right message or the hint, and return ok."""
    print(f"✅ Correct. {right}" if ok else f"❌ Not yet. {wrong}")
    return ok


def unanswered(answer: object) -> bool:
    """True (and a reminder printed) when the learner left the placeholder `...` or None."""
    if answer is ... or answer is None:
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
