"""plot_importance's log axis (notebook 02): every feature's bar is visible, however small its importance."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from toymodel import geometric_importance  # noqa: E402
from toymodel.visualize import plot_importance  # noqa: E402


def test_log_axis_shows_every_bar_to_its_value():
    imp = geometric_importance(20, 0.7).numpy()
    ax = plot_importance(imp, log=True).axes[0]
    assert ax.get_xscale() == "log"
    low, high = ax.get_xlim()
    assert 0 < low < imp.min() and high > imp.max()  # 0.7^19 ~ 1.1e-3 lies inside the axis, not at its edge
    bars = ax.patches
    np.testing.assert_allclose([b.get_x() + b.get_width() for b in bars], imp, rtol=1e-6)  # each bar ends at I_i
    assert all(b.get_x() == pytest.approx(low) for b in bars)  # ... and starts at the axis' left edge
    assert "log" in ax.get_xlabel()
    plt.close("all")


def test_log_axis_of_equal_importances_still_draws_bars():
    ax = plot_importance(np.ones(5), log=True).axes[0]
    assert all(b.get_width() > 0 for b in ax.patches) and ax.get_xlim()[0] < 1
    plt.close("all")


def test_linear_axis_is_unchanged_and_log_needs_positive_importances():
    ax = plot_importance(0.9 ** np.arange(5)).axes[0]
    assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
    np.testing.assert_allclose([b.get_width() for b in ax.patches], 0.9 ** np.arange(5), rtol=1e-6)
    with pytest.raises(ValueError, match="> 0"):
        plot_importance(np.array([1.0, 0.0]), log=True)
    plt.close("all")
