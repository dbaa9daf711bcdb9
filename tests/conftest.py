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
