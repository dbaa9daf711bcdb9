"""The explorers of the core notebooks (01-04): one model per density, importance, hidden size, and the live
retrainer (the one explorer that trains, on a click, and so needs a kernel).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
import html
import math
import time
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure
import torch

from .. import visualize as viz
from ..data import density_label, geometric_importance, importance_label
from ..metrics import dimensions_per_feature, n_represented
from ..model import ToyModel
from ..runs import torch_threads
from ..sweeps import Sweep
from ..train import train_toy_model
from ..validate import check_in_range, check_positive_int
from ..visualize.base import sweep_config
from .explorer import (
    FIGSIZE,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    DensityExplorer,
    Explorer,
    density_start,
    density_value_slider,
    frame_title,
    nearest_position,
    panels,
    selection_slider,
)

__all__ = ["SparsityExplorer", "ImportanceExplorer", "HiddenSizeExplorer", "LiveRetrainer"]


def _represented_text(W: torch.Tensor, k: int) -> str:
    n = W.shape[1]
    return f"{int(n_represented(W)[k])} of {n} features represented"


class SparsityExplorer(DensityExplorer):
    """A density slider over a Sweep's instances, ordered dense -> sparse, redrawing a precomputed model.

    view: "both" (embedding, or W^T W when n_hidden is not 2 or 3, beside the norm bars), "embedding"
    (n_hidden 2 or 3), "norms" or "wtw".  density: the start, the instance nearest this density p = 1 - S
    (None: the densest).  The slider is `.slider` (its value is the instance index).  Every setting is drawn
    once when the cell runs (~0.13 s each, at most MAX_FRAMES) and the browser picks the frame, so the
    explorer works with no kernel; prerender is ignored (kept for compatibility).
    """

    VIEWS = ("both", "embedding", "norms", "wtw")

    def __init__(self, sweep: Sweep, view: str = "both", density: float | None = None,
                 prerender: bool | None = None) -> None:
        if not isinstance(sweep, Sweep):
            raise ValueError(f"SparsityExplorer needs a Sweep (e.g. experiments.basic_superposition), "
                             f"got {type(sweep).__name__}")
        if view not in self.VIEWS:
            raise ValueError(f"view must be one of {self.VIEWS}, got {view!r}")
        m = sweep.model.n_hidden
        if view == "embedding" and m not in (2, 3):
            raise ValueError(f"view='embedding' needs n_hidden = 2 or 3, got {m}: use 'norms', 'wtw' or 'both'")
        self.view = view
        super().__init__(sweep, density)
        self.redraw()  # draws every setting: the browser picks the frame

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        n = self.sweep.model.n_features
        if self.view == "both":
            return FIGSIZE[0], max(FIGSIZE[1], 1.3 + 0.2 * n)
        return (4.6, max(3.5, 1.3 + 0.2 * n)) if self.view == "norms" else (4.6, 3.8)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s, m = self.sweep, self.sweep.model.n_hidden
        left = {"both": "embedding" if m in (2, 3) else "wtw"}.get(self.view, self.view)
        views = [left, "norms"] if self.view == "both" else [left]
        projs = tuple("3d" if v == "embedding" and m == 3 else None for v in views)
        axes = panels(fig, len(views), projections=projs, wspace=0.9 if left == "wtw" else 0.55,
                      right=1.0 if views == ["wtw"] else 0.75)
        for ax, view in zip(axes, views):
            if view == "embedding" and m == 2:
                viz.plot_feature_embeddings_2d(s, k, ax=ax, title="feature directions $W_i$")
            elif view == "embedding":
                viz.plot_embeddings_3d(s, k, ax=ax, title="feature directions $W_i$")
            elif view == "wtw":
                viz.plot_wtw(s, k, ax=ax, title="$W^TW$ and bias $b$")
            else:
                viz.plot_feature_norms(s, k, ax=ax, title="feature norms (colour: superposition)")
        return frame_title(fig, f"{viz.config_title(s, k)}\n{_represented_text(s.W, k)}, loss {float(s.loss[k]):.3g}")


class ImportanceExplorer(Explorer):
    """Importance-decay and density sliders over experiments.feature_importance's grid (sweep.nearest picks the
    instance), showing the importance profile beside the norm bars.

    Starts at the grid point nearest (importance_decay, density); None starts that slider at its first option.
    """

    def __init__(self, sweep: Sweep, importance_decay: float | None = 0.8, density: float | None = 0.1) -> None:
        if not isinstance(sweep, Sweep) or sweep.importance_decay is None:
            raise ValueError("ImportanceExplorer needs a sweep that varies the importance decay "
                             "(experiments.feature_importance)")
        if importance_decay is not None:
            importance_decay = check_in_range("importance_decay", importance_decay, 0.0, math.inf,
                                              allowed="a finite number >= 0, or None")
        density = density_start(density)
        self.sweep = sweep
        rates = sorted({round(float(r), 6) for r in sweep.importance_decay}, reverse=True)
        self.importance_decay_slider = selection_slider(
            [(importance_label(r), r) for r in rates], "importance decay",
            rates[nearest_position(rates, importance_decay)])
        self.density_slider = density_value_slider(sweep.density, density)
        super().__init__([self.importance_decay_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        return self.sweep.nearest(density=self.density_slider.value,
                                  importance_decay=self.importance_decay_slider.value)

    def _summary(self) -> str:
        return (f"{sweep_config(self.sweep)}, {len(self.importance_decay_slider.options)} decays x "
                f"{len(self.density_slider.options)} densities")

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return FIGSIZE[0], max(FIGSIZE[1], 1.3 + 0.2 * self.sweep.model.n_features)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s = self.sweep
        a0, a1 = panels(fig, 2, width_ratios=[1, 1.6])
        viz.plot_importance(s.importance[k], ax=a0, title="importance $I_i$ (weights the loss)")
        viz.plot_feature_norms(s, k, ax=a1, title="feature norms (colour: superposition)")
        return frame_title(fig, f"{viz.config_title(s, k)}\n{_represented_text(s.W, k)}, loss {float(s.loss[k]):.3g}")


class HiddenSizeExplorer(Explorer):
    """Hidden-size and density sliders over experiments.dimensionality_sweep's {n_hidden: Sweep}, showing
    W^T W, the norm bars and D* for that (m, density).  Starts at the setting nearest (n_hidden, density);
    None starts that slider at its first option.

    Its frames take ~0.16 s each: at most 32 (8 widths x 4 densities; notebook 04's 5 densities would take
    6.3 s), so the density slider keeps 4 evenly spread ones (the ends and the start density among them).
    """

    MAX_FRAMES = 32

    def __init__(self, sweeps: Mapping[int, Sweep], n_hidden: int | None = 2, density: float | None = 0.1) -> None:
        if not isinstance(sweeps, Mapping) or not sweeps or not all(isinstance(s, Sweep) for s in sweeps.values()):
            raise ValueError("sweeps must be a non-empty dict {n_hidden: Sweep}, as dimensionality_sweep returns")
        if n_hidden is not None:
            n_hidden = check_positive_int("n_hidden", n_hidden)
        density = density_start(density)
        self.sweeps = dict(sweeps)
        ms = sorted(self.sweeps)
        m0 = ms[nearest_position(ms, n_hidden)]
        if ms == list(range(ms[0], ms[-1] + 1)):
            self.m_slider = widgets.IntSlider(value=m0, min=ms[0], max=ms[-1], description="hidden dims m",
                                              continuous_update=False, layout=SLIDER_LAYOUT, style=SLIDER_STYLE)
        else:
            self.m_slider = selection_slider([(str(m), m) for m in ms], "hidden dims m", m0)
        self.density_slider = density_value_slider(self.sweeps[ms[0]].density, density)
        super().__init__([self.m_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        m = int(self.m_slider.value)
        return m, self.sweeps[m].nearest(density=self.density_slider.value)

    def _index_of(self, key: Hashable) -> int:
        return int(key[1])  # type: ignore[index]

    def _summary(self) -> str:
        ms = sorted(self.sweeps)
        widths = f"{ms[0]}..{ms[-1]}" if ms == list(range(ms[0], ms[-1] + 1)) else ", ".join(map(str, ms))
        return f"n_hidden {widths}, {len(self.density_slider.options)} densities"

    def _draw(self, fig: Figure, key: Hashable) -> str:
        m, k = key  # type: ignore[misc]
        s = self.sweeps[m]
        a0, a1 = panels(fig, wspace=0.9)
        viz.plot_wtw(s, k, ax=a0, title="$W^TW$ and bias $b$")
        viz.plot_feature_norms(s, k, ax=a1, title="feature norms (colour: superposition)")
        d = float(dimensions_per_feature(s.W)[k])
        return frame_title(fig, f"{viz.config_title(s, k)}\n{_represented_text(s.W, k)}, "
                                f"dimensions per feature $D^* = m/\\|W\\|_F^2$ = {d:.3g}")


class LiveRetrainer(Explorer):
    """A "Retrain live" button and a density slider: each click trains a fresh small model (the next seed,
    ~0.5 s for the default 5 -> 2) at the slider's density and redraws it.  Moving the slider alone does not train.

    The one explorer that needs a kernel (it trains on a click).  Until the button is first clicked, its status
    says so (what a saved notebook or the static edition shows, where clicks do nothing); once a click has
    trained a model, a kernel is evidently running and the status stops saying it.
    density: where the slider starts, in [0.001, 1] (the slider offers DENSITIES and this one, labelled
    'p = 0.1 (S = 0.9)' as every explorer's); train_now: train once when built.
    history: one record per model trained, in order (seed, density, n_represented, loss, W), so that a check of
    the first model holds whatever the learner clicked afterwards.
    """

    KERNEL_FREE = False
    NEEDS_KERNEL = "(the button needs a running kernel: in a saved copy, run the notebook's cells first)"
    DENSITIES = (1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01, 0.005, 0.002, 0.001)

    def __init__(self, n_features: int = 5, n_hidden: int = 2, importance_decay: float = 0.9,
                 density: float = 0.05, steps: int = 1000, kind: str = "relu_output", train_now: bool = True) -> None:
        density = check_in_range("density", density, 1e-3, 1.0, allowed="a number in [0.001, 1] (the slider's range)")
        steps = check_positive_int("steps", steps)
        self.n_features, self.n_hidden, self.kind, self.steps = n_features, n_hidden, kind, steps
        self.importance = geometric_importance(n_features, importance_decay)
        self.seed = 0
        self.model: ToyModel | None = None
        self.loss = float("nan")
        self.history: list[dict[str, Any]] = []
        self._clicked = False  # a click reached Python: a kernel is running
        self.slider = density_value_slider(sorted({*self.DENSITIES, density}, reverse=True), density)
        self.button = widgets.Button(description="Retrain live", icon="refresh", button_style="primary",
                                     tooltip="train a fresh model (new random seed) at this density")
        self.status = widgets.HTML(f"press <b>Retrain live</b> to train a model {self.NEEDS_KERNEL}")
        super().__init__([], extra=[self.slider, widgets.HBox([self.button, self.status])])
        self.button.on_click(self._on_click)
        self.slider.observe(self._slider_moved, names="value")
        if train_now:
            self.retrain()

    def _on_click(self, button: Any = None) -> None:
        self._clicked = True
        self.retrain()

    def retrain(self) -> None:
        """Train a fresh model (the next seed) at the slider's density and show it."""
        self.button.disabled = True
        self.status.value = "training…"
        try:
            p = float(self.slider.value)
            model = ToyModel(self.n_features, self.n_hidden, 1, kind=self.kind, seed=self.seed)
            # a model this small trains fastest on one thread (more can be 100x slower on a busy 2-core machine)
            with torch_threads(1, model.device):
                start = time.perf_counter()
                result = train_toy_model(model, p, self.importance, steps=self.steps, seed=self.seed, progress=False)
            self.model, self.loss, self._p = model, float(result.loss[0]), p
            self.train_seconds = time.perf_counter() - start
            W = model.W.detach().clone()
            self.history.append({"seed": self.seed, "density": p, "n_represented": int(n_represented(W)[0]),
                                 "loss": self.loss, "W": W[0]})
            note = "" if self._clicked else f" {self.NEEDS_KERNEL}"
            self.status.value = (f"seed {self.seed} at {density_label(p)}: trained {self.steps} steps in "
                                 f"{self.train_seconds:.2f} s, loss {self.loss:.3g}. Press again for seed "
                                 f"{self.seed + 1}{note}.")
            self._cache.clear()
            self.redraw()
            self.seed += 1
        except Exception as exc:  # never leave "training…" up: say what failed (and re-raise)
            self.status.value = (f"<b>training failed</b> ({html.escape(type(exc).__name__)}: "
                                 f"{html.escape(str(exc))[:300]}); press <b>Retrain live</b> to try again")
            raise
        finally:
            self.button.disabled = False

    def redraw(self, change: Any = None) -> None:
        """Show the last trained model; before any training, a line saying to press the button."""
        if self.model is None:
            hint = "no model trained yet: press Retrain live"
            self._live_output.outputs = ({"output_type": "stream", "name": "stdout", "text": hint + "\n"},)
            note = "" if self._clicked else f" {self.NEEDS_KERNEL}"
            self.status.value = f"press <b>Retrain live</b> to train a model{note}"
            return
        super().redraw(change)

    def _key(self) -> Hashable:
        return self.seed

    def _index_of(self, key: Hashable) -> int:
        return 0

    def _summary(self) -> str:
        return f"{self.n_features} features → {self.n_hidden} hidden, {self.steps} steps per click"

    def _slider_moved(self, change: Any) -> None:
        self.status.value = f"press <b>Retrain live</b> to train at {density_label(change['new'])}"

    def _draw(self, fig: Figure, key: Hashable) -> str:
        assert self.model is not None
        a0, a1 = panels(fig)
        if self.n_hidden == 2:
            viz.plot_feature_embeddings_2d(self.model, ax=a0, importance=self.importance, density=self._p,
                                           title="feature directions $W_i$")
        else:
            viz.plot_wtw(self.model, ax=a0, density=self._p, title="$W^TW$ and bias $b$")
        viz.plot_feature_norms(self.model, ax=a1, title="feature norms (colour: superposition)")
        return frame_title(fig, f"{viz.config_title(self.model, 0, density=self._p)}, seed {self.seed}\n"
                                f"{_represented_text(self.model.W.detach(), 0)}, loss {self.loss:.3g}")
