from contextlib import contextmanager

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)  # bit-identical small runs (see shared notes); also what the notebooks use

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test starts with no open pyplot figure, whatever ran before it (tests assert nothing leaks)."""
    plt.close("all")
    yield


@pytest.fixture
def edit_row():
    """edit_row(param, k): a context manager yielding row k of a model's parameter to edit in place (outside
    autograd); the row is restored afterwards, so module-scoped trained fixtures stay as trained."""
    @contextmanager
    def edit(param: torch.Tensor, k: int):
        row = param.detach()[k]
        saved = row.clone()
        try:
            yield row
        finally:
            row.copy_(saved)
    return edit
