"""Tests for toymodel.visualize: what each figure draws, checked against the numbers it should show."""

import matplotlib

matplotlib.use("Agg")

from matplotlib import colormaps  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from toymodel import visualize as viz  # noqa: E402
from toymodel.experiments import basic_superposition, dimensionality_sweep  # noqa: E402
from toymodel.metrics import (  # noqa: E402
    compute_feature_interference,
    dimensions_per_feature,
    feature_norms,
    superposition,
)
from toymodel.model import ToyModel  # noqa: E402

FAST = dict(steps=300, n_seeds=1, progress=False)


@pytest.fixture(scope="module")
def sweep():
    """5 -> 2, 10 densities 1 ... 0.05 (instance 9: p = 0.05, S = 0.95)."""
    return basic_superposition(**FAST)


@pytest.fixture(scope="module")
def sweep3():
    return basic_superposition(n_features=4, n_hidden=3, densities=[1.0, 0.1], **FAST)


@pytest.fixture(scope="module")
def dim_sweeps():
    return dimensionality_sweep(n_features=4, hidden_sizes=(1, 2, 3), densities=[1.0, 0.1], **FAST)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def antipodal_plus_orthogonal():
    """Features 0 and 1 antipodal (superposition 1 each), feature 2 orthogonal to both (superposition 0)."""
    return torch.tensor([[[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]])


def feature_lines(ax):
    return {ln.get_gid(): ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("feature-")}


# ------------------------------------------------------------------------------------------- embeddings


def test_embedding_2d_draws_one_line_per_feature_ending_at_W_i():
    W = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(1))
    fig = viz.plot_feature_embeddings_2d(W, instance=2)
    assert isinstance(fig, Figure)
    lines = feature_lines(fig.axes[0])
    assert sorted(lines) == [f"feature-{i}" for i in range(5)]
    for i in range(5):
        x, y = lines[f"feature-{i}"].get_data()
        np.testing.assert_allclose([x[0], y[0]], [0.0, 0.0])
        np.testing.assert_allclose([x[-1], y[-1]], W[2, i].numpy(), rtol=1e-6)
    assert fig.axes[0].get_aspect() == 1.0
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()


def test_embedding_2d_from_model_and_sweep(sweep):
    fig = viz.plot_feature_embeddings_2d(sweep.model, instance=4)
    x, y = feature_lines(fig.axes[0])["feature-3"].get_data()
    np.testing.assert_allclose([x[-1], y[-1]], sweep.W[4, 3].numpy(), rtol=1e-6)
    fig = viz.plot_feature_embeddings_2d(sweep, instance=9)
    title = fig.axes[0].get_title()
    assert "p = 0.05" in title and "S = 0.95" in title and "ReLU output" in title and "5 features" in title
    assert len(fig.axes) == 2  # the plot and its importance colourbar (importance 0.9^i varies)
    assert len(viz.plot_feature_embeddings_2d(sweep, 9, colorbar=False).axes) == 1


def test_embedding_2d_colours_follow_importance():
    W = torch.eye(2).repeat(2, 1)[None] * torch.tensor([1.0, 1.0, -1.0, -1.0])[None, :, None]
    fig = viz.plot_feature_embeddings_2d(W, importance=[1.0, 0.1, 0.5, 1.0])
    lines = feature_lines(fig.axes[0])
    c = {i: np.array(lines[f"feature-{i}"].get_color()) for i in range(4)}
    np.testing.assert_allclose(c[0], c[3])  # same importance, same colour
    assert not np.allclose(c[0], c[1])


@pytest.mark.parametrize("m", [1, 3, 5])
def test_embedding_2d_needs_two_hidden_dimensions(m):
    with pytest.raises(ValueError, match="n_hidden = 2"):
        viz.plot_feature_embeddings_2d(torch.randn(1, 4, m))


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="instance"):
        viz.plot_feature_embeddings_2d(torch.randn(2, 4, 2), instance=2)
    with pytest.raises(ValueError):
        viz.plot_feature_norms("not a model")
    with pytest.raises(ValueError, match="importance"):
        viz.plot_feature_embeddings_2d(torch.randn(1, 4, 2), importance=[1.0, 0.5])


def test_embedding_3d(sweep3):
    fig = viz.plot_embeddings_3d(sweep3, instance=1)
    ax = fig.axes[0]
    assert ax.name == "3d"
    lines = feature_lines(ax)
    assert len(lines) == 4
    for i in range(4):
        xs, ys, zs = lines[f"feature-{i}"].get_data_3d()
        np.testing.assert_allclose([xs[-1], ys[-1], zs[-1]], sweep3.W[1, i].numpy(), rtol=1e-6)
    assert "p = 0.1" in ax.get_title()
    with pytest.raises(ValueError, match="n_hidden = 3"):
        viz.plot_embeddings_3d(torch.randn(1, 4, 2))
    _, flat = plt.subplots()
    with pytest.raises(ValueError, match="3-D axes"):
        viz.plot_embeddings_3d(sweep3, ax=flat)


# ------------------------------------------------------------------------------------------- heatmaps


def test_interference_matrix_is_the_cosine_matrix_on_a_fixed_range(sweep):
    fig = viz.plot_interference_matrix(sweep, instance=9)
    assert len(fig.axes) == 2  # heatmap + colourbar
    im = fig.axes[0].images[0]
    assert im.get_clim() == (-1.0, 1.0)
    assert im.get_cmap().name.startswith("RdBu_r")
    C = compute_feature_interference(sweep.W)[9].numpy()
    kept = feature_norms(sweep.W)[9].numpy() > 0.5
    data = im.get_array()
    np.testing.assert_allclose(data.data[np.ix_(kept, kept)], C[np.ix_(kept, kept)], rtol=1e-6)
    assert data.mask[np.ix_(~kept, np.ones(5, bool))].all()  # unrepresented rows are greyed out
    assert "p = 0.05" in fig.axes[0].get_title()


def test_interference_greys_out_unrepresented_features():
    W = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.01, 0.02]]])
    data = viz.plot_interference_matrix(W).axes[0].images[0].get_array()
    assert data.mask[2].all() and data.mask[:, 2].all() and not data.mask[:2, :2].any()
    data = viz.plot_interference_matrix(W, gate=False).axes[0].images[0].get_array()
    assert not np.ma.getmaskarray(data).any()


def test_wtw_image_is_W_W_transpose_with_bias_column(sweep):
    fig = viz.plot_wtw(sweep.model, instance=9)
    ax = fig.axes[0]
    W = sweep.W[9].numpy()
    M = ax.images[0].get_array()
    np.testing.assert_allclose(M, W @ W.T, rtol=1e-5, atol=1e-7)
    lo, hi = ax.images[0].get_clim()
    assert lo == -hi and hi >= np.abs(W @ W.T).max() - 1e-6
    bias_axes = [c for c in ax.child_axes if c.get_gid() == "bias"]
    assert len(bias_axes) == 1
    np.testing.assert_allclose(bias_axes[0].images[0].get_array()[:, 0], sweep.model.b[9].detach().numpy())
    assert bias_axes[0].images[0].get_clim() == (lo, hi)  # one colour scale for both
    # a bare W has no bias; bias=False drops it too
    assert not [c for c in viz.plot_wtw(sweep.W, 9).axes[0].child_axes if c.get_gid() == "bias"]
    assert not [c for c in viz.plot_wtw(sweep, 9, bias=False).axes[0].child_axes if c.get_gid() == "bias"]


# ------------------------------------------------------------------------------------------- norm bars


def test_feature_norm_bars_match_norms_and_colour_by_superposition():
    W = antipodal_plus_orthogonal()
    fig = viz.plot_feature_norms(W)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 3
    np.testing.assert_allclose([b.get_width() for b in bars], feature_norms(W)[0].numpy(), rtol=1e-6)
    sup = superposition(W)[0].numpy()
    np.testing.assert_allclose(sup, [1.0, 1.0, 0.0], atol=1e-6)
    cmap = colormaps["viridis"]
    for b, s in zip(bars, sup):
        np.testing.assert_allclose(b.get_facecolor(), cmap(float(np.clip(s, 0, 1))), atol=1e-6)

    def brightness(rgba):
        r, g, b_, _ = rgba
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    assert brightness(bars[0].get_facecolor()) > brightness(bars[2].get_facecolor()) + 0.3
    # feature 0 at the top
    assert bars[0].get_y() < bars[2].get_y() and ax.yaxis_inverted()


def test_feature_norms_scale_cut_and_grey_unrepresented():
    W = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.2, 0.1]]])
    fig = viz.plot_feature_norms(W)
    ax, cbar_ax = fig.axes
    assert ax.patches[2].get_facecolor() == pytest.approx(matplotlib.colors.to_rgba(viz.MISSING))
    cuts = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(cuts) == 1 and np.allclose(cuts[0].get_xdata(), 0.5)
    legend_text = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "0.5" in legend_text and "not represented" in legend_text
    assert cbar_ax.get_ylim() == pytest.approx((0.0, 1.0))  # fixed 0..1 superposition scale
    assert ax.get_xlabel()


def test_norms_title_states_the_setting(sweep):
    for k in (0, 9):
        assert sweep.label(k) in viz.plot_feature_norms(sweep, k).axes[0].get_title()
    assert "p = 0.3 (S = 0.7)" in viz.plot_feature_norms(sweep.W, 0, density=0.3).axes[0].get_title()


# ------------------------------------------------------------------------------------------- many panels


@pytest.mark.parametrize("kind, n_axes", [("embedding", 2), ("norms", 3), ("wtw", 2), ("interference", 3)])
def test_compare_models_panels(sweep, kind, n_axes):
    fig = viz.compare_models([sweep.model, sweep.W], ["first", "second"], view=kind, instances=[0, 9])
    assert len(fig.axes) == n_axes  # one per model, plus one shared colourbar for norms / interference
    assert [fig.axes[0].get_title(), fig.axes[1].get_title()] == ["first", "second"]


def test_compare_models_one_model_several_instances(sweep, sweep3):
    fig = viz.compare_models([sweep], view="embedding", instances=[0, 5, 9])
    assert len(fig.axes) == 3 and "p = 0.05" in fig.axes[2].get_title()
    assert viz.compare_models([sweep3], view="embedding", instances=[0, 1]).axes[0].name == "3d"
    with pytest.raises(ValueError):
        viz.compare_models([sweep, sweep], ["only one title"])
    with pytest.raises(ValueError):
        viz.compare_models([sweep], view="bars")


def test_plot_sweep_small_multiples(sweep):
    fig = viz.plot_sweep(sweep, "norms")
    panels = fig.axes[:10]
    assert len(fig.axes) == 11  # 10 instances + a shared colourbar
    assert [ax.get_title() for ax in panels] == [sweep.label(k) for k in range(10)]
    for k, ax in enumerate(panels):
        np.testing.assert_allclose([b.get_width() for b in ax.patches], feature_norms(sweep.W)[k].numpy(), rtol=1e-6)
    assert "ReLU output" in fig.get_suptitle()
    fig = viz.plot_sweep(sweep, "embedding", instances=[0, 9], ncols=1)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == sweep.label(9)
    assert len(viz.plot_sweep(sweep, "wtw", instances=[1, 2, 3]).axes) == 3


def test_plot_sweep_embedding_needs_2_or_3_hidden(sweep3, dim_sweeps):
    assert all(ax.name == "3d" for ax in viz.plot_sweep(sweep3, "embedding").axes)
    with pytest.raises(ValueError, match="n_hidden"):
        viz.plot_sweep(dim_sweeps[1], "embedding")
    with pytest.raises(ValueError):
        viz.plot_sweep(sweep3, "norms", instances=[5])


# ------------------------------------------------------------------------------------------- summaries


def test_represented_vs_density(sweep):
    linear = basic_superposition(kind="linear", **FAST)
    fig = viz.plot_represented_vs_density({"ReLU output": sweep, "linear": linear})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "density p = 1 - S (log scale)"
    data = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert set(data) == {"ReLU output", "linear"}
    x, y = data["linear"].get_data()
    order = np.argsort(-linear.density.numpy())
    np.testing.assert_allclose(x, linear.density.numpy()[order])
    np.testing.assert_array_equal(y, linear.n_represented().numpy()[order])
    hlines = [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert 2 in hlines and 5 in hlines  # n_hidden and n_features


def test_dimensions_per_feature(dim_sweeps):
    fig = viz.plot_dimensions_per_feature(dim_sweeps)
    ax = fig.axes[0]
    curves = [ln for ln in ax.get_lines() if ln.get_label().startswith("p = ")]
    assert len(curves) == 2  # one per density
    dense = next(ln for ln in curves if ln.get_label() == "p = 1 (S = 0)")
    expected = [float(dimensions_per_feature(dim_sweeps[m].W)[0]) for m in (1, 2, 3)]
    np.testing.assert_allclose(dense.get_ydata(), expected, rtol=1e-5)
    np.testing.assert_array_equal(dense.get_xdata(), [1, 2, 3])
    guides = sorted(ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == ":")
    assert guides == [0.5, 1.0]
    fig = viz.plot_dimensions_per_feature(dim_sweeps, against="density")
    assert fig.axes[0].get_xscale() == "log"
    assert len([ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("m = ")]) == 3
    with pytest.raises(ValueError):
        viz.plot_dimensions_per_feature(dim_sweeps, against="loss")


def test_superposition_per_feature_is_gated_on_norm(sweep):
    fig = viz.plot_superposition_per_feature(sweep)
    im = fig.axes[0].images[0]
    data = im.get_array()
    kept = feature_norms(sweep.W).numpy() > 0.5
    sup = superposition(sweep.W).numpy()
    assert data.shape == (10, 5)
    np.testing.assert_array_equal(np.ma.getmaskarray(data), ~kept)
    np.testing.assert_allclose(data.data[kept], sup[kept], rtol=1e-6)
    assert im.get_clim() == (0.0, 1.0)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == sweep.label(0)


def test_training_curves(sweep):
    fig = viz.plot_training_curves(sweep, smooth=1)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 10
    np.testing.assert_allclose(lines[3].get_ydata(), sweep.train.history["loss"][:, 3].numpy(), rtol=1e-6)
    assert lines[3].get_label() == sweep.label(3)
    assert len(viz.plot_training_curves(sweep.train).axes[0].get_lines()) == 10
    with pytest.raises(ValueError):
        viz.plot_training_curves(sweep.model)


def test_feature_dimensionality_and_importance(sweep):
    fig = viz.plot_feature_dimensionality(sweep)
    assert fig.axes[0].get_xscale() == "log"
    guides = sorted(round(ln.get_ydata()[0], 3) for ln in fig.axes[0].get_lines() if ln.get_linestyle() == ":")
    assert guides == [0.375, 0.4, 0.5, 0.667, 0.75, 1.0]  # geometry.FRACTIONS: 3/8 ... 1
    fig = viz.plot_importance(sweep.importance[0])
    np.testing.assert_allclose([b.get_width() for b in fig.axes[0].patches], 0.9 ** np.arange(5), rtol=1e-6)


# ------------------------------------------------------------------------------------------- conventions


def test_drawing_into_a_given_axes_creates_no_figure(sweep):
    fig, axes = plt.subplots(1, 3)
    before = plt.get_fignums()
    assert viz.plot_feature_embeddings_2d(sweep, 9, ax=axes[0]) is fig
    assert viz.plot_feature_norms(sweep, 9, ax=axes[1]) is fig
    assert viz.plot_wtw(sweep, 9, ax=axes[2]) is fig
    assert plt.get_fignums() == before


def test_one_style(sweep):
    ax = viz.plot_feature_norms(sweep, 0).axes[0]
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
    assert ax.figure.dpi == viz.STYLE["figure.dpi"]
    assert matplotlib.rcParams["axes.spines.top"] == matplotlib.rcParamsDefault["axes.spines.top"]  # not leaked


def test_config_title():
    m = ToyModel(6, 3, 2, kind="linear")
    assert viz.config_title(m, 1) == "linear, 6 features → 3 hidden, instance 1"
    assert viz.config_title(m, 0, density=0.05) == "linear, 6 features → 3 hidden, p = 0.05 (S = 0.95)"
