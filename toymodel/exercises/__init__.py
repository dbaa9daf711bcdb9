"""Self-checks for the notebooks' "Your turn" exercises, one module per notebook (nb01 ... nb04).

Each check takes the learner's answer, prints feedback and returns True or False.  It never
raises on a wrong answer, so a notebook with an unanswered exercise still runs top to bottom.
"""

from __future__ import annotations

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
