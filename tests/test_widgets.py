"""Tests for toymodel.widgets: sliders redraw the right precomputed model, instantly, without training."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from toymodel import widgets as tw  # noqa: E402
from toymodel.experiments import basic_superposition, dimensionality_sweep, feature_importance  # noqa: E402

FAST = dict(steps=300, n_seeds=1, progress=False)


@pytest.fixture(scope="module")
def sweep():
    # deliberately not in dense -> sparse order, to check the slider sorts
    return basic_superposition(densities=[0.1, 1.0, 0.01, 0.3], **FAST)


@pytest.fixture(scope="module")
def grid():
    return feature_importance(n_features=5, n_hidden=2, decays=(1.0, 0.7), densities=[1.0, 0.3, 0.05], **FAST)


@pytest.fixture(scope="module")
def dims():
    return dimensionality_sweep(n_features=4, hidden_sizes=(1, 2, 3), densities=[1.0, 0.1], **FAST)


@pytest.fixture
def no_training(monkeypatch):
    """Make any training call fail: slider moves must only redraw."""

    def boom(*args, **kwargs):
        raise AssertionError("a slider move trained a model")

    import toymodel.experiments
    import toymodel.train

    monkeypatch.setattr(tw, "train_toy_model", boom)
    monkeypatch.setattr(toymodel.train, "train_toy_model", boom)
    monkeypatch.setattr(toymodel.experiments, "train_toy_model", boom)


def shown_png(explorer) -> bytes:
    (out,) = explorer.output.outputs
    assert out["output_type"] == "display_data"
    png = base64.b64decode(out["data"]["image/png"])
    assert png.startswith(b"\x89PNG")
    return png


def test_sparsity_slider_is_ordered_dense_to_sparse_and_labelled(sweep):
    ex = tw.sparsity_explorer(sweep)
    assert isinstance(ex, widgets.VBox) and ex.output in ex.children and ex.slider in ex.children
    assert isinstance(ex.slider, widgets.SelectionSlider)
    assert ex.slider.continuous_update is False
    labels = [label for label, _ in ex.slider.options]
    assert labels == ["p=1 (S=0)", "p=0.3 (S=0.7)", "p=0.1 (S=0.9)", "p=0.01 (S=0.99)"]
    assert [k for _, k in ex.slider.options] == [1, 3, 0, 2]  # values are instance indices
    assert ex.index == 1  # starts dense
    shown_png(ex)


@pytest.mark.parametrize("view", ["both", "embedding", "norms", "wtw"])
def test_moving_the_slider_shows_the_chosen_instance(sweep, no_training, view):
    ex = tw.sparsity_explorer(sweep, view=view, prerender=False)
    first = shown_png(ex)
    for k in (2, 3, 0):
        ex.slider.value = k
        assert ex.index == k
        assert sweep.label(k) in ex.title
        png = shown_png(ex)
        assert png != first
        first = png
    assert ex.n_renders == 4
    ex.slider.value = 2  # seen before: from the cache, no new figure
    assert ex.n_renders == 4 and sweep.label(2) in ex.title
    assert plt.get_fignums() == []  # nothing leaks into pyplot


def test_prerender_draws_everything_up_front(sweep, no_training):
    ex = tw.sparsity_explorer(sweep)  # 4 settings: prerendered by default
    assert ex.n_renders == 4
    for _, k in ex.slider.options:
        ex.slider.value = k
        assert ex.index == k and sweep.label(k) in ex.title
    assert ex.n_renders == 4


def test_sparsity_explorer_rejects_bad_views(sweep, dims):
    with pytest.raises(ValueError):
        tw.sparsity_explorer(sweep, view="pie")
    with pytest.raises(ValueError, match="n_hidden"):
        tw.sparsity_explorer(dims[1], view="embedding")
    ex = tw.sparsity_explorer(dims[1])  # n_hidden = 1: "both" shows W^T W beside the norms
    assert ex.view == "both" and "4 features → 1 hidden" in ex.title
    shown_png(ex)


def test_repr_is_short_and_stable(sweep):
    text = repr(tw.sparsity_explorer(sweep, view="norms"))
    assert text == "SparsityExplorer(ReLU output, 5 features → 2 hidden, 4 densities, view='norms')"


def test_importance_explorer_picks_the_nearest_grid_point(grid, sweep, no_training):
    ex = tw.importance_explorer(grid)
    assert ex.decay_slider.continuous_update is False and ex.density_slider.continuous_update is False
    assert [v for _, v in ex.decay_slider.options] == [1.0, 0.7]
    assert [v for _, v in ex.density_slider.options] == pytest.approx([1.0, 0.3, 0.05])
    seen = set()
    for decay in (0.7, 1.0):
        for _, p in ex.density_slider.options:
            ex.decay_slider.value = decay
            ex.density_slider.value = p
            k = grid.nearest(density=p, decay=decay)
            assert ex.index == k
            assert grid.label(k) in ex.title
            assert float(grid.decay[k]) == pytest.approx(decay) and float(grid.density[k]) == pytest.approx(p)
            seen.add(shown_png(ex))
    assert len(seen) == 6
    with pytest.raises(ValueError, match="decay"):
        tw.importance_explorer(sweep)


def test_hidden_size_explorer(dims, no_training):
    ex = tw.hidden_size_explorer(dims)
    assert isinstance(ex.m_slider, widgets.IntSlider) and (ex.m_slider.min, ex.m_slider.max) == (1, 3)
    assert ex.m_slider.continuous_update is False
    ex.m_slider.value = 3
    ex.density_slider.value = ex.density_slider.options[-1][1]
    k = dims[3].nearest(density=0.1)
    assert ex.index == k
    assert "4 features → 3 hidden" in ex.title and dims[3].label(k) in ex.title and "D^*" in ex.title
    shown_png(ex)
    gap = tw.hidden_size_explorer({1: dims[1], 3: dims[3]})
    assert isinstance(gap.m_slider, widgets.SelectionSlider)


def test_retrain_button_trains_only_on_click():
    ex = tw.retrain_button(density=0.1, steps=50, train_now=False)
    assert ex.model is None and ex.output.outputs == ()
    ex.slider.value = 0.5  # moving the slider does not train
    assert ex.model is None and "Retrain" in ex.status.value
    threads = torch.get_num_threads()
    ex.button.click()
    assert ex.model is not None and ex.seed == 1
    assert "p = 0.5" in ex.title and "seed 0" in ex.title
    png = shown_png(ex)
    ex.button.click()  # a fresh seed, a fresh picture
    assert ex.seed == 2 and "seed 1" in ex.title and shown_png(ex) != png
    assert torch.get_num_threads() == threads  # the caller's setting is restored
    assert not ex.button.disabled


def test_density_options():
    assert tw.density_options(torch.tensor([0.05, 1.0])) == [("p=1 (S=0)", 1), ("p=0.05 (S=0.95)", 0)]


def test_explorers_open_on_an_informative_setting(grid, dims, no_training):
    ex = tw.importance_explorer(grid)
    assert ex.index == grid.nearest(decay=0.8, density=0.1)
    hx = tw.hidden_size_explorer(dims)
    assert hx.m_slider.value == 2 and hx.index == dims[2].nearest(density=0.1)
    first = tw.hidden_size_explorer(dims, n_hidden=None, density=None)
    assert first.m_slider.value == min(dims)
