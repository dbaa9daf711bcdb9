"""Tests for toymodel.widgets: sliders show the right precomputed model, without training and without a kernel.

Every explorer draws all its frames when it is built and nests ipywidgets Stacks that follow the sliders
through jslinks (in the browser). `follow_links` below does what those jslinks do, so these tests check
what a browser with no kernel would show (the saved widget state), next to what Python reports.
"""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

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
    return feature_importance(n_features=5, n_hidden=2, importance_decays=(1.0, 0.7), densities=[1.0, 0.3, 0.05],
                              **FAST)


@pytest.fixture(scope="module")
def dims():
    return dimensionality_sweep(n_features=4, hidden_sizes=(1, 2, 3), densities=[1.0, 0.1], **FAST)


@pytest.fixture
def no_training(monkeypatch):
    """Make any training call fail: slider moves must only redraw."""

    def boom(*args, **kwargs):
        raise AssertionError("a slider move trained a model")

    import sys

    import toymodel.experiments  # noqa: F401  (its modules hold their own train_toy_model)
    import toymodel.train

    monkeypatch.setattr(tw.core, "train_toy_model", boom)
    monkeypatch.setattr(toymodel.train, "train_toy_model", boom)
    for name, module in list(sys.modules.items()):
        if name.startswith("toymodel.experiments") and "train_toy_model" in vars(module):
            monkeypatch.setattr(module, "train_toy_model", boom)


def follow_links(explorer) -> widgets.Output:
    """The Output a browser with no kernel shows: descend the Stacks as the jslinks from the sliders pick."""
    links = {(lk.target[0].model_id): lk for lk in explorer.links}
    node = explorer.children[-1]
    while isinstance(node, widgets.Stack):
        link = links[node.model_id]
        slider, trait = link.source
        assert link.target[1] == "selected_index" and slider in explorer.sliders
        node = node.children[getattr(slider, trait)]
    assert isinstance(node, widgets.Output)
    return node


def png_of(output: widgets.Output) -> bytes:
    (out,) = output.outputs
    assert out["output_type"] == "display_data"
    png = base64.b64decode(out["data"]["image/png"])
    assert png.startswith(b"\x89PNG")
    return png


def shown_png(explorer) -> bytes:
    (out,) = explorer.output.outputs
    assert out["output_type"] == "display_data"
    png = base64.b64decode(out["data"]["image/png"])
    assert png.startswith(b"\x89PNG")
    return png


def test_sparsity_slider_is_ordered_dense_to_sparse_and_labelled(sweep):
    ex = tw.SparsityExplorer(sweep)
    assert isinstance(ex, widgets.VBox) and ex.stack in ex.children and ex.slider in ex.children
    assert isinstance(ex.slider, widgets.SelectionSlider)
    assert ex.slider.continuous_update is False
    labels = [label for label, _ in ex.slider.options]
    assert labels == ["p = 1 (S = 0)", "p = 0.3 (S = 0.7)", "p = 0.1 (S = 0.9)", "p = 0.01 (S = 0.99)"]
    assert [k for _, k in ex.slider.options] == [1, 3, 0, 2]  # values are instance indices
    assert ex.index == 1  # starts dense
    shown_png(ex)


@pytest.mark.parametrize("view", ["both", "embedding", "norms", "wtw"])
def test_moving_the_slider_shows_the_chosen_instance(sweep, no_training, view):
    ex = tw.SparsityExplorer(sweep, view=view, prerender=False)  # prerender is ignored: all frames drawn
    assert ex.n_renders == 4
    first = shown_png(ex)
    for k in (2, 3, 0):
        ex.slider.value = k
        assert ex.index == k
        assert sweep.label(k) in ex.title
        png = shown_png(ex)
        assert png != first and png_of(follow_links(ex)) == png  # the browser's pick is the same frame
        first = png
    ex.slider.value = 2
    assert ex.n_renders == 4 and sweep.label(2) in ex.title  # a move never draws
    assert plt.get_fignums() == []  # nothing leaks into pyplot


def test_prerender_draws_everything_up_front(sweep, no_training):
    ex = tw.SparsityExplorer(sweep)
    assert ex.n_renders == 4
    for _, k in ex.slider.options:
        ex.slider.value = k
        assert ex.index == k and sweep.label(k) in ex.title
    assert ex.n_renders == 4


def test_SparsityExplorer_rejects_bad_views(sweep, dims):
    with pytest.raises(ValueError):
        tw.SparsityExplorer(sweep, view="pie")
    with pytest.raises(ValueError, match="n_hidden"):
        tw.SparsityExplorer(dims[1], view="embedding")
    ex = tw.SparsityExplorer(dims[1])  # n_hidden = 1: "both" shows W^T W beside the norms
    assert ex.view == "both" and "4 features → 1 hidden" in ex.title
    shown_png(ex)


def test_repr_is_short_and_stable(sweep):
    text = repr(tw.SparsityExplorer(sweep, view="norms"))
    assert text == "SparsityExplorer(ReLU output, 5 features → 2 hidden, 4 densities, view='norms')"


def test_ImportanceExplorer_picks_the_nearest_grid_point(grid, sweep, no_training):
    ex = tw.ImportanceExplorer(grid)
    assert ex.importance_decay_slider.continuous_update is False and ex.density_slider.continuous_update is False
    assert [v for _, v in ex.importance_decay_slider.options] == [1.0, 0.7]
    assert [v for _, v in ex.density_slider.options] == pytest.approx([1.0, 0.3, 0.05])
    seen = set()
    for decay in (0.7, 1.0):
        for _, p in ex.density_slider.options:
            ex.importance_decay_slider.value = decay
            ex.density_slider.value = p
            k = grid.nearest(density=p, importance_decay=decay)
            assert ex.index == k
            assert grid.label(k) in ex.title
            assert float(grid.importance_decay[k]) == pytest.approx(decay)
            assert float(grid.density[k]) == pytest.approx(p)
            seen.add(shown_png(ex))
    assert len(seen) == 6
    with pytest.raises(ValueError, match="decay"):
        tw.ImportanceExplorer(sweep)


def test_HiddenSizeExplorer(dims, no_training):
    ex = tw.HiddenSizeExplorer(dims)
    assert isinstance(ex.m_slider, widgets.IntSlider) and (ex.m_slider.min, ex.m_slider.max) == (1, 3)
    assert ex.m_slider.continuous_update is False
    ex.m_slider.value = 3
    ex.density_slider.value = ex.density_slider.options[-1][1]
    k = dims[3].nearest(density=0.1)
    assert ex.index == k
    assert "4 features → 3 hidden" in ex.title and dims[3].label(k) in ex.title and "D^*" in ex.title
    shown_png(ex)
    gap = tw.HiddenSizeExplorer({1: dims[1], 3: dims[3]})
    assert isinstance(gap.m_slider, widgets.SelectionSlider)


def test_LiveRetrainer_trains_only_on_click():
    ex = tw.LiveRetrainer(density=0.1, steps=50, train_now=False)
    assert ex.model is None and ex.output.outputs == () and not ex.KERNEL_FREE
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
    assert tw.density_options(torch.tensor([0.05, 1.0])) == [("p = 1 (S = 0)", 1), ("p = 0.05 (S = 0.95)", 0)]


def test_explorers_open_on_an_informative_setting(grid, dims, sweep, no_training):
    ex = tw.ImportanceExplorer(grid)
    assert ex.index == grid.nearest(importance_decay=0.8, density=0.1)
    hx = tw.HiddenSizeExplorer(dims)
    assert hx.m_slider.value == 2 and hx.index == dims[2].nearest(density=0.1)
    first = tw.HiddenSizeExplorer(dims, n_hidden=None, density=None)
    assert first.m_slider.value == min(dims)
    assert tw.SparsityExplorer(sweep, density=0.12).index == 0  # the start is a density, never an index
    assert tw.SparsityExplorer(sweep, density=None).index == 1  # None: the first option, the densest


# ------------------------------------------------------------------ kernel-free: the browser picks the frame


def _positions(slider):
    if isinstance(slider, widgets.IntSlider):
        return list(range(slider.min, slider.max + 1)), "value"
    return list(range(len(slider.options))), "index"


@pytest.mark.parametrize("make", ["importance", "hidden_size"])
def test_every_slider_setting_has_its_frame_in_the_saved_stacks(grid, dims, no_training, make):
    ex = tw.ImportanceExplorer(grid) if make == "importance" else tw.HiddenSizeExplorer(dims)
    n = ex.n_renders
    a, b = ex.sliders
    (pa, ta), (pb, tb) = _positions(a), _positions(b)
    assert n == len(pa) * len(pb)  # every setting drawn once, when the explorer was built
    seen = set()
    for i in pa:
        for j in pb:
            setattr(a, ta, i)
            setattr(b, tb, j)
            png = shown_png(ex)
            assert png_of(follow_links(ex)) == png  # what the jslinks show = what Python selected
            assert ex.output is follow_links(ex)
            seen.add(png)
    assert len(seen) == n and ex.n_renders == n  # distinct frames, none drawn on a move


def test_saved_widget_state_alone_holds_frames_and_links(sweep):
    from ipywidgets.embed import embed_data

    ex = tw.SparsityExplorer(sweep)
    state = embed_data(views=[ex])["manager_state"]["state"]
    ours = f"IPY_MODEL_{ex.slider.model_id}"  # (the state holds every live widget, other tests' too)
    links = [m for m in state.values() if m["model_name"] == "LinkModel" and m["state"]["source"][0] == ours]
    assert len(links) == 1
    source, target = links[0]["state"]["source"], links[0]["state"]["target"]
    assert source == [f"IPY_MODEL_{ex.slider.model_id}", "index"]
    assert target == [f"IPY_MODEL_{ex.stack.model_id}", "selected_index"]
    frames = [state[c.removeprefix("IPY_MODEL_")] for c in state[ex.stack.model_id]["state"]["children"]]
    pngs = {o["data"]["image/png"] for m in frames for o in m["state"]["outputs"]}
    assert len(pngs) == 4  # all four frames are in the state: no kernel needed to show any of them
    assert state[ex.stack.model_id]["state"]["selected_index"] == ex.slider.index


def test_mime_bundle_carries_the_current_frame_as_png(sweep):
    """JupyterLab renders the (unsafe) widget view only in trusted outputs; untrusted, e.g. a notebook just
    opened, it falls back to the best safe type: image/png here, instead of the bare text repr."""
    ex = tw.SparsityExplorer(sweep)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "application/vnd.jupyter.widget-view+json", "image/png"}
    assert base64.b64decode(bundle["image/png"]) == shown_png(ex)
    assert bundle["text/plain"] == repr(ex)
    ex.slider.value = 2
    assert base64.b64decode(ex._repr_mimebundle_()["image/png"]) == shown_png(ex)


def test_frames_are_deterministic_palette_pngs(sweep):
    import io

    from PIL import Image

    a, b = tw.SparsityExplorer(sweep), tw.SparsityExplorer(sweep)
    assert shown_png(a) == shown_png(b)
    assert Image.open(io.BytesIO(shown_png(a))).mode == "P"  # palette: a quarter of an RGB PNG


def test_too_many_settings_are_thinned_to_max_frames(grid, no_training, monkeypatch):
    monkeypatch.setattr(tw.Explorer, "MAX_FRAMES", 4)
    ex = tw.ImportanceExplorer(grid, importance_decay=0.7, density=0.3)  # 2 decays x 3 densities = 6 > 4
    assert ex.n_renders == 4
    assert [v for _, v in ex.importance_decay_slider.options] == [1.0, 0.7]
    densities = [v for _, v in ex.density_slider.options]
    assert len(densities) == 2 and any(v == pytest.approx(0.3) for v in densities)  # kept the start value
    assert ex.index == grid.nearest(importance_decay=0.7, density=0.3)
    assert repr(ex).endswith("2 decays x 2 densities)")


def test_LiveRetrainer_degrades_without_a_kernel():
    ex = tw.LiveRetrainer(density=0.1, steps=50)
    assert "needs a running kernel" in ex.status.value  # what a saved notebook / the static edition shows
    assert base64.b64decode(ex._repr_mimebundle_()["image/png"]) == shown_png(ex)


def test_LiveRetrainer_reads_like_the_other_explorers_and_keeps_its_history():
    """Issue 20: its readout says 'p = 0.1 (S = 0.9)', a click (a running kernel) drops the "needs a running
    kernel" note, and the first model stays on record (notebook 01 checks it whatever the learner clicked)."""
    ex = tw.LiveRetrainer(density=0.1, steps=50)
    assert ex.slider.label == "p = 0.1 (S = 0.9)" and ex.slider.value == 0.1
    assert [label for label, _ in ex.slider.options][0] == "p = 1 (S = 0)"
    first = ex.history[0]
    assert (first["seed"], first["density"], len(ex.history)) == (0, 0.1, 1)
    ex.slider.value = 0.5
    ex.button.click()
    assert "kernel" not in ex.status.value and "seed 1 at p = 0.5 (S = 0.5)" in ex.status.value
    assert len(ex.history) == 2 and ex.history[0] is first and ex.history[1]["density"] == 0.5
    assert torch.equal(ex.history[1]["W"], ex.model.W.detach()[0])
    odd = tw.LiveRetrainer(density=0.123, steps=50, train_now=False)  # a start off the grid is offered too
    assert odd.slider.value == 0.123 and odd.slider.label == "p = 0.123 (S = 0.877)"


# ------------------------------------------------------------- issue 9, item 8: widgets and bad input


def test_retrain_error_does_not_leave_training_up(monkeypatch):
    ex = tw.LiveRetrainer(density=0.1, steps=50, train_now=False)

    def diverge(*args, **kwargs):
        raise FloatingPointError("training diverged")

    monkeypatch.setattr(tw.core, "train_toy_model", diverge)
    with pytest.raises(FloatingPointError):
        ex.retrain()
    assert "training…" not in ex.status.value and "training failed" in ex.status.value
    assert "diverged" in ex.status.value and not ex.button.disabled and ex.model is None


def test_redraw_before_any_training_says_what_to_do():
    ex = tw.LiveRetrainer(density=0.1, steps=50, train_now=False)
    ex.redraw()  # was a bare AssertionError
    (out,) = ex.output.outputs
    assert "press Retrain live" in out["text"] and ex.model is None


@pytest.mark.parametrize("bad", [float("nan"), -0.1, float("inf")])
def test_nan_or_negative_start_values_are_refused(grid, dims, sweep, bad):
    with pytest.raises(ValueError, match="decay"):
        tw.ImportanceExplorer(grid, importance_decay=bad)
    with pytest.raises(ValueError, match="density"):
        tw.ImportanceExplorer(grid, density=bad)
    with pytest.raises(ValueError, match="n_hidden"):
        tw.HiddenSizeExplorer(dims, n_hidden=bad)
    with pytest.raises(ValueError, match="density"):
        tw.HiddenSizeExplorer(dims, density=bad)
    with pytest.raises(ValueError, match="density"):
        tw.LiveRetrainer(density=bad)
    with pytest.raises(ValueError, match="density"):
        tw.SparsityExplorer(sweep, density=bad)


def test_zero_density_and_bad_steps_are_refused(grid):
    with pytest.raises(ValueError, match="density"):
        tw.ImportanceExplorer(grid, density=0.0)  # a log slider: 0 has no place on it
    with pytest.raises(ValueError, match="steps"):
        tw.LiveRetrainer(steps=0)


# ------------------------------------------------------------------------------ the executed notebooks

NB_DIR = Path(os.environ.get("TOYMODEL_NOTEBOOKS_DIR", Path(__file__).resolve().parent.parent / "notebooks"))
NOTEBOOK_LIMIT_BYTES = 3 * 10**6


@pytest.mark.parametrize("path", sorted(NB_DIR.glob("*.ipynb")), ids=lambda p: p.stem)
def test_executed_notebooks_are_small_and_their_explorers_carry_a_picture(path):
    """Each notebook file <= 3 MB (its explorers' frames included), and every explorer output has its
    current frame as image/png (what JupyterLab shows before any cell has run). Re-execute the notebook
    (tools/run_notebooks.py) if this fails after a change to the explorers."""
    assert path.stat().st_size <= NOTEBOOK_LIMIT_BYTES, f"{path.name}: {path.stat().st_size / 1e6:.2f} MB > 3 MB"
    nb = json.loads(path.read_text())
    views = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, f"{path.name}: no explorer output"
    for out in views:
        assert "image/png" in out["data"], f"{path.name}: an explorer output without image/png: " \
                                           f"{out['data']['text/plain']}"
        assert base64.b64decode(out["data"]["image/png"]).startswith(b"\x89PNG")
