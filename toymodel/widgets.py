"""Slider explorers over precomputed sweeps: moving a slider only redraws, it never trains.

In a notebook cell:

    display(sparsity_explorer(sweep))          # or just end the cell with the call

Every explorer is an ipywidgets VBox (sliders on top, an Output below) and exposes
`.sliders`, `.output`, `.redraw()`, `.index` (the instance shown) and `.title` (the figure's
title).  The figure is rendered once per setting to a PNG (cached) and put into the Output as
an image, so the widget works in JupyterLab, in VS Code and in a saved notebook's widget state,
and nothing leaks into the cell's own outputs (no pyplot figure is created).
"""

from __future__ import annotations

import base64
import io
import time
import traceback
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import neurons as _neurons
from . import visualize as viz
from .data import geometric_importance
from .metrics import dimensions_per_feature, n_represented
from .model import ToyModel
from .phase import CANDIDATES as _CANDIDATES, OTHER as _OTHER, PHASES as _PHASES, TRIANGLE as _TRIANGLE
from .phase import TRIANGLE_NAME as _TRIANGLE_NAME
from .train import train_toy_model

if TYPE_CHECKING:
    from .experiments import Sweep

__all__ = [
    "Explorer", "DensityExplorer", "SparsityExplorer", "ImportanceExplorer", "HiddenSizeExplorer", "LiveRetrainer",
    "sparsity_explorer", "importance_explorer", "hidden_size_explorer", "retrain_button", "density_options",
    "PhaseExplorer", "GeometryExplorer", "NeuronExplorer", "phase_explorer", "geometry_explorer", "neuron_explorer",
]

FIGSIZE = (7.0, 3.5)
PRERENDER_MAX = 12  # sparsity_explorer renders all settings up front when the sweep has at most this many
_SLIDER_LAYOUT = {"width": "520px"}
_SLIDER_STYLE = {"description_width": "110px"}


def density_options(density: Any) -> list[tuple[str, int]]:
    """SelectionSlider options [(label, instance)], ordered dense -> sparse, labelled 'p=0.05 (S=0.95)'."""
    p = np.asarray(density, dtype=float).reshape(-1)
    order = sorted(range(len(p)), key=lambda k: (-p[k], k))
    return [(f"p={p[k]:.3g} (S={1 - p[k]:.3g})", k) for k in order]


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=viz.STYLE["savefig.dpi"], facecolor="white")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """A figure outside pyplot: never auto-displayed, never needs closing.

    No layout engine: the explorers use fixed margins (_panels), which halves the redraw time
    (constrained layout measures every text several times).
    """
    return Figure(figsize=figsize, dpi=viz.STYLE["figure.dpi"])


def _panels(fig: Figure, n_panels: int = 2, width_ratios: list[float] | None = None,
                projections: tuple[str | None, ...] = (None, None), wspace: float = 0.55,
                right: float = 0.75) -> list[Any]:
    """1 x n panels with fixed margins in inches: room for a two-line suptitle, panel titles, the
    x labels plus a legend underneath, and the colourbars the panels add on their right."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=0.6 / w, right=1 - right / w, top=1 - 0.85 / h, bottom=0.75 / h, wspace=wspace)
    gs = fig.add_gridspec(1, n_panels, width_ratios=width_ratios)
    return [fig.add_subplot(gs[0, i], projection=projections[i] if i < len(projections) else None)
            for i in range(n_panels)]


class Explorer(widgets.VBox):
    """Sliders + an Output showing one figure per setting; subclasses define _key() and _draw(fig, key)."""

    def __init__(self, sliders: list[widgets.Widget], extra: list[widgets.Widget] | None = None) -> None:
        self.sliders = sliders
        self.output = widgets.Output(layout={"min_height": "260px"})
        self.index: int | None = None
        self.title = ""
        self.n_renders = 0  # figures actually drawn (cache misses)
        self.last_seconds = 0.0  # wall time of the last redraw
        self._cache: dict[Hashable, tuple[str, str]] = {}
        super().__init__(children=[*sliders, *(extra or []), self.output])
        for s in sliders:
            s.observe(self.redraw, names="value")

    def _key(self) -> Hashable:
        """The cache key of the sliders' current values (each explorer defines its own)."""
        raise TypeError(f"{type(self).__name__} is abstract: an explorer must define _key()")

    def _index_of(self, key: Hashable) -> int:
        """The instance a key shows (the key itself unless a subclass says otherwise)."""
        return int(key)  # type: ignore[arg-type]

    def _draw(self, fig: Figure, key: Hashable) -> str:
        """Draw the figure for `key` into `fig`; return its title (each explorer defines its own)."""
        raise TypeError(f"{type(self).__name__} is abstract: an explorer must define _draw()")

    def redraw(self, change: Any = None) -> None:
        """Show the figure for the sliders' current values (from the cache when seen before)."""
        start = time.perf_counter()
        key = self._key()
        self.index = self._index_of(key)
        try:
            if key not in self._cache:
                self._render(key)
            png, self.title = self._cache[key]
            self.output.outputs = (
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": png, "text/plain": f"<figure: {self.title}>"}},
            )
        except Exception:
            self.output.outputs = ({"output_type": "stream", "name": "stderr", "text": traceback.format_exc()},)
            raise
        finally:
            self.last_seconds = time.perf_counter() - start

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return FIGSIZE

    def _render(self, key: Hashable) -> None:
        with viz.style():
            fig = _new_figure(self._figsize(key))
            title = self._draw(fig, key)
            self._cache[key] = (_png(fig), title)
        self.n_renders += 1

    def prerender(self) -> None:
        """Render every setting now (~0.15 s each), so that every slider move is instant."""
        for key in self._all_keys():
            if key not in self._cache:
                self._render(key)

    def _all_keys(self) -> list[Hashable]:
        return []

    def __repr__(self) -> str:  # short and stable: this is the cell's text/plain output (nbval compares it)
        return f"{type(self).__name__}({self._summary()})"

    def _summary(self) -> str:
        return ""


def _closest(values: list[float], target: float | None, log: bool = False) -> float:
    """The value in `values` nearest to target (in log space if log); values[0] when target is None."""
    if target is None:
        return values[0]
    f = (lambda v: float(np.log(v))) if log else float
    return min(values, key=lambda v: abs(f(v) - f(target)))


def _selection_slider(options: list[tuple[str, Any]], description: str, value: Any = None) -> widgets.SelectionSlider:
    return widgets.SelectionSlider(
        options=options, value=options[0][1] if value is None else value, description=description,
        continuous_update=False, layout=_SLIDER_LAYOUT, style=_SLIDER_STYLE,
    )


def _represented_text(W: Any, k: int) -> str:
    n = W.shape[1]
    return f"{int(n_represented(W)[k])} of {n} features represented"


class DensityExplorer(Explorer):
    """One density slider (dense -> sparse) over the instances of a sweep: the base of the sparsity,
    geometry and neuron explorers.  `value` is the instance shown first (None: the first option)."""

    def __init__(self, sweep: Any, value: int | None = None) -> None:
        self.sweep = sweep
        self.slider = _selection_slider(density_options(sweep.density), "density p = 1 - S", value)
        super().__init__([self.slider])

    def _key(self) -> Hashable:
        return int(self.slider.value)

    def _all_keys(self) -> list[Hashable]:
        return [k for _, k in self.slider.options]

    def _summary(self) -> str:
        return f"{viz._sweep_config(self.sweep)}, {len(self.sweep)} densities, view={self.view!r}"


class SparsityExplorer(DensityExplorer):
    """One slider over a Sweep's instances (dense -> sparse); see sparsity_explorer."""

    VIEWS = ("both", "embedding", "norms", "wtw")

    def __init__(self, sweep: Sweep, view: str = "both", value: int | None = None,
                 prerender: bool | None = None) -> None:
        if view not in self.VIEWS:
            raise ValueError(f"view must be one of {self.VIEWS}, got {view!r}")
        m = sweep.model.n_hidden
        if view == "embedding" and m not in (2, 3):
            raise ValueError(f"view='embedding' needs n_hidden = 2 or 3, got {m}: use 'norms', 'wtw' or 'both'")
        self.view = view
        super().__init__(sweep, value)
        if prerender or (prerender is None and len(sweep) <= PRERENDER_MAX):
            self.prerender()
        self.redraw()

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        n = self.sweep.model.n_features
        if self.view == "both":
            return FIGSIZE[0], max(FIGSIZE[1], 1.3 + 0.2 * n)
        return (4.6, max(3.5, 1.3 + 0.2 * n)) if self.view == "norms" else (4.6, 3.8)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s, m = self.sweep, self.sweep.model.n_hidden
        left = {"both": "embedding" if m in (2, 3) else "wtw"}.get(self.view, self.view)
        panels = [left, "norms"] if self.view == "both" else [left]
        projs = tuple("3d" if v == "embedding" and m == 3 else None for v in panels)
        axes = _panels(fig, len(panels), projections=projs, wspace=0.9 if left == "wtw" else 0.55,
                           right=1.0 if panels == ["wtw"] else 0.75)
        for ax, view in zip(axes, panels):
            if view == "embedding" and m == 2:
                viz.plot_feature_embeddings_2d(s, k, ax=ax, title="feature directions $W_i$")
            elif view == "embedding":
                viz.plot_embeddings_3d(s, k, ax=ax, title="feature directions $W_i$")
            elif view == "wtw":
                viz.plot_wtw(s, k, ax=ax, title="$W^TW$ and bias $b$")
            else:
                viz.plot_feature_norms(s, k, ax=ax, title="feature norms (colour: superposition)")
        title = f"{viz.config_title(s, k)}\n{_represented_text(s.W, k)}, loss {float(s.loss[k]):.3g}"
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


class ImportanceExplorer(Explorer):
    """Importance-decay and density sliders over experiments.feature_importance's grid; see importance_explorer."""

    def __init__(self, sweep: Sweep, decay: float | None = 0.8, density: float | None = 0.1) -> None:
        if getattr(sweep, "decay", None) is None:
            raise ValueError("importance_explorer needs a sweep that varies the importance decay "
                             "(experiments.feature_importance)")
        self.sweep = sweep
        decays = sorted({round(float(r), 6) for r in sweep.decay}, reverse=True)
        densities = sorted({float(p) for p in sweep.density}, reverse=True)
        self.decay_slider = _selection_slider([(f"I = {r:.3g}^i", r) for r in decays], "importance decay",
                                              _closest(decays, decay))
        self.density_slider = _selection_slider(
            [(f"p={p:.3g} (S={1 - p:.3g})", p) for p in densities], "density p = 1 - S",
            _closest(densities, density, log=True))
        super().__init__([self.decay_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        return self.sweep.nearest(density=self.density_slider.value, decay=self.decay_slider.value)

    def _summary(self) -> str:
        return (f"{viz._sweep_config(self.sweep)}, {len(self.decay_slider.options)} decays x "
                f"{len(self.density_slider.options)} densities")

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return FIGSIZE[0], max(FIGSIZE[1], 1.3 + 0.2 * self.sweep.model.n_features)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s = self.sweep
        a0, a1 = _panels(fig, 2, width_ratios=[1, 1.6])
        viz.plot_importance(s.importance[k], ax=a0, title="importance $I_i$ (weights the loss)")
        viz.plot_feature_norms(s, k, ax=a1, title="feature norms (colour: superposition)")
        title = f"{viz.config_title(s, k)}\n{_represented_text(s.W, k)}, loss {float(s.loss[k]):.3g}"
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


class HiddenSizeExplorer(Explorer):
    """n_hidden and density sliders over experiments.dimensionality_sweep; see hidden_size_explorer."""

    def __init__(self, sweeps: Mapping[int, Sweep], n_hidden: int | None = 2, density: float | None = 0.1) -> None:
        if not isinstance(sweeps, Mapping) or not sweeps:
            raise ValueError("sweeps must be a non-empty dict {n_hidden: Sweep}, as dimensionality_sweep returns")
        self.sweeps = dict(sweeps)
        ms = sorted(self.sweeps)
        m0 = int(_closest(ms, n_hidden))
        if ms == list(range(ms[0], ms[-1] + 1)):
            self.m_slider = widgets.IntSlider(value=m0, min=ms[0], max=ms[-1], description="hidden dims m",
                                              continuous_update=False, layout=_SLIDER_LAYOUT, style=_SLIDER_STYLE)
        else:
            self.m_slider = _selection_slider([(str(m), m) for m in ms], "hidden dims m", m0)
        densities = sorted({float(p) for p in self.sweeps[ms[0]].density}, reverse=True)
        self.density_slider = _selection_slider(
            [(f"p={p:.3g} (S={1 - p:.3g})", p) for p in densities], "density p = 1 - S",
            _closest(densities, density, log=True))
        super().__init__([self.m_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        m = int(self.m_slider.value)
        return m, self.sweeps[m].nearest(density=self.density_slider.value)

    def _index_of(self, key: Hashable) -> int:
        return int(key[1])  # type: ignore[index]

    def _summary(self) -> str:
        ms = sorted(self.sweeps)
        return f"n_hidden {ms[0]}..{ms[-1]}, {len(self.density_slider.options)} densities"

    def _draw(self, fig: Figure, key: Hashable) -> str:
        m, k = key  # type: ignore[misc]
        s = self.sweeps[m]
        a0, a1 = _panels(fig, wspace=0.9)
        viz.plot_wtw(s, k, ax=a0, title="$W^TW$ and bias $b$")
        viz.plot_feature_norms(s, k, ax=a1, title="feature norms (colour: superposition)")
        d = float(dimensions_per_feature(s.W)[k])
        title = (f"{viz.config_title(s, k)}\n{_represented_text(s.W, k)}, "
                 f"dimensions per feature $D^* = m/\\|W\\|_F^2$ = {d:.3g}")
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


class LiveRetrainer(Explorer):
    """A density slider and a "Retrain live" button that trains a fresh small model; see retrain_button."""

    def __init__(self, n_features: int = 5, n_hidden: int = 2, importance_decay: float = 0.9,
                 density: float = 0.05, steps: int = 1000, kind: str = "relu_output", train_now: bool = True) -> None:
        self.n_features, self.n_hidden, self.kind, self.steps = n_features, n_hidden, kind, steps
        self.importance = geometric_importance(n_features, importance_decay)
        self.seed = 0
        self.model: ToyModel | None = None
        self.loss = float("nan")
        self.slider = widgets.FloatLogSlider(
            value=density, base=10, min=-3, max=0, step=0.05, description="density p = 1 - S",
            readout_format=".3g", continuous_update=False, layout=_SLIDER_LAYOUT, style=_SLIDER_STYLE,
        )
        self.button = widgets.Button(description="Retrain live", icon="refresh", button_style="primary",
                                     tooltip="train a fresh model (new random seed) at this density")
        self.status = widgets.HTML("")
        super().__init__([], extra=[self.slider, widgets.HBox([self.button, self.status])])
        self.button.on_click(lambda _: self.retrain())
        self.slider.observe(self._slider_moved, names="value")
        if train_now:
            self.retrain()

    def retrain(self) -> None:
        """Train a fresh model (the next seed) at the slider's density and show it."""
        self.button.disabled = True
        self.status.value = "training…"
        try:
            p = float(self.slider.value)
            model = ToyModel(self.n_features, self.n_hidden, 1, kind=self.kind, seed=self.seed)
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # a model this small trains fastest on one thread (more can be 100x slower
            try:                      # on a busy 2-core machine); the caller's setting is restored
                start = time.perf_counter()
                result = train_toy_model(model, p, self.importance, steps=self.steps, seed=self.seed, progress=False)
            finally:
                torch.set_num_threads(threads)
            self.model, self.loss, self._p = model, float(result.loss[0]), p
            self.train_seconds = time.perf_counter() - start
            self.status.value = (f"seed {self.seed}: trained {self.steps} steps in {self.train_seconds:.2f} s, "
                                 f"loss {self.loss:.3g}. Click again for another seed.")
            self._cache.clear()
            self.redraw()
            self.seed += 1
        finally:
            self.button.disabled = False

    def _key(self) -> Hashable:
        return self.seed

    def _index_of(self, key: Hashable) -> int:
        return 0

    def _summary(self) -> str:
        return f"{self.n_features} features → {self.n_hidden} hidden, {self.steps} steps per click"

    def _slider_moved(self, change: Any) -> None:
        self.status.value = f"press <b>Retrain live</b> to train at p = {float(change['new']):.3g}"

    def _draw(self, fig: Figure, key: Hashable) -> str:
        assert self.model is not None
        a0, a1 = _panels(fig)
        left = "embedding" if self.n_hidden == 2 else "wtw"
        if left == "embedding":
            viz.plot_feature_embeddings_2d(self.model, ax=a0, importance=self.importance, density=self._p,
                                           title="feature directions $W_i$")
        else:
            viz.plot_wtw(self.model, ax=a0, density=self._p, title="$W^TW$ and bias $b$")
        viz.plot_feature_norms(self.model, ax=a1, title="feature norms (colour: superposition)")
        title = (f"{viz.config_title(self.model, 0, density=self._p)}, seed {self.seed}\n"
                 f"{_represented_text(self.model.W.detach(), 0)}, loss {self.loss:.3g}")
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


def sparsity_explorer(sweep: Sweep, view: str = "both", prerender: bool | None = None) -> SparsityExplorer:
    """A density slider over a Sweep's instances, ordered dense -> sparse, redrawing a precomputed model.

    view: "both" (embedding, or W^T W when n_hidden is not 2 or 3, beside the norm bars), "embedding"
    (n_hidden 2 or 3), "norms" or "wtw".  The slider is `.slider` (its value is the instance index).
    prerender: draw every setting at construction (~0.15 s each) so slider moves cost ~1 ms;
    None: only when the sweep has at most PRERENDER_MAX (12) instances.
    """
    return SparsityExplorer(sweep, view, prerender=prerender)


def importance_explorer(sweep: Sweep, decay: float | None = 0.8, density: float | None = 0.1) -> ImportanceExplorer:
    """Importance-decay and density sliders over experiments.feature_importance's grid (sweep.nearest picks the
    instance), showing the importance profile beside the norm bars. Starts at the grid point nearest
    (decay, density); None starts at the first option."""
    return ImportanceExplorer(sweep, decay, density)


def hidden_size_explorer(
    sweeps: Mapping[int, Sweep], n_hidden: int | None = 2, density: float | None = 0.1
) -> HiddenSizeExplorer:
    """Hidden-size and density sliders over experiments.dimensionality_sweep's {n_hidden: Sweep}, showing
    W^T W, the norm bars and D* for that (m, density). Starts at the setting nearest (n_hidden, density)."""
    return HiddenSizeExplorer(sweeps, n_hidden, density)


def retrain_button(density: float = 0.05, steps: int = 1000, **kwargs: Any) -> LiveRetrainer:
    """A "Retrain live" button + density slider: each click trains a fresh 5 -> 2 model (next seed, ~0.5 s)
    and redraws it.  Moving the slider alone does not train.  kwargs: n_features, n_hidden,
    importance_decay, kind, train_now (train once at construction, default True)."""
    return LiveRetrainer(density=density, steps=steps, **kwargs)


# ------------------------------------------------------------------------- notebook 05: the phase diagram

def _candidate_name(n_features: int, c: int) -> str:
    if c == _OTHER:
        return "none of the candidates"
    return _TRIANGLE_NAME if c == _TRIANGLE else _CANDIDATES[n_features][c]


class PhaseExplorer(Explorer):
    """Relative-importance and density sliders over a trained experiments.PhaseDiagram; see phase_explorer.

    Left: the trained phase map with the chosen grid point circled; middle: that point's trained W
    (2 -> 1: the two weights on the hidden line; 3 -> 2: the three directions in the plane); right:
    each candidate's closed-form loss beside the trained model's loss.  Moving a slider only redraws.
    """

    def __init__(self, diagram: Any, ratio: float | None = 1.0, density: float | None = 0.1) -> None:
        if not all(hasattr(diagram, a) for a in ("ratio", "density", "phase", "candidate_loss", "model")):
            raise ValueError("phase_explorer needs an experiments.PhaseDiagram (from experiments.phase_diagram)")
        self.diagram = diagram
        ratios = [float(r) for r in diagram.ratio]
        densities = [float(p) for p in diagram.density]
        i0 = ratios.index(_closest(ratios, ratio, log=True))
        j0 = densities.index(_closest(densities, density, log=True))
        self.ratio_slider = _selection_slider([(f"r = {r:.3g}", i) for i, r in enumerate(ratios)],
                                              "extra importance r", i0)
        order = sorted(range(len(densities)), key=lambda j: -densities[j])  # dense -> sparse
        self.density_slider = _selection_slider(
            [(f"p={densities[j]:.3g} (S={1 - densities[j]:.3g})", j) for j in order], "density p = 1 - S", j0)
        super().__init__([self.ratio_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        return int(self.ratio_slider.value), int(self.density_slider.value)

    def _index_of(self, key: Hashable) -> int:
        i, j = key  # type: ignore[misc]
        return self.diagram.instance(i, j)

    def _all_keys(self) -> list[Hashable]:
        return [(i, j) for _, i in self.ratio_slider.options for _, j in self.density_slider.options]

    def _summary(self) -> str:
        n = self.diagram.n_features
        return f"{n} features → {n - 1} hidden, {len(self.ratio_slider.options)} ratios x " \
               f"{len(self.density_slider.options)} densities"

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return 12.0, 5.0

    def _draw(self, fig: Figure, key: Hashable) -> str:
        i, j = key  # type: ignore[misc]
        d, n = self.diagram, self.diagram.n_features
        a0, a1, a2 = _panels(fig, 3, width_ratios=[1.0, 1.0, 1.15], wspace=0.75, right=0.3)
        fig.subplots_adjust(bottom=1.45 / fig.get_size_inches()[1])  # room for the map's legend
        viz.plot_phase_map(d, "empirical", ax=a0, mark=(i, j), title="trained models (○ = this point)")
        W = d.W[i, j]
        if n == 2:
            viz.plot_weights_1d(W, ax=a1, labels=["feature 0", "extra"], title="this point's trained W")
        else:
            imp = torch.ones(n)
            imp[-1] = float(d.ratio[i])
            viz.plot_feature_embeddings_2d(W, ax=a1, title="this point's trained W (2 = extra)", colorbar=False)
        viz.plot_candidate_losses(d, i, j, ax=a2)
        cand = _candidate_name(n, int(d.candidate[i, j]))
        theory = _candidate_name(n, int(d.theory_candidate[i, j]))
        title = (f"ReLU output, {n} features → {n - 1} hidden, {d.label(i, j)}\n"
                 f"trained: {_PHASES[int(d.phase[i, j])]} ({cand}); theory: "
                 f"{_PHASES[int(d.theory_phase[i, j])]} ({theory})")
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


def phase_explorer(diagram: Any, ratio: float | None = 1.0, density: float | None = 0.1) -> PhaseExplorer:
    """Two sliders (the extra feature's relative importance r, the density p) over a trained phase diagram.

    Shows the chosen grid point on the trained map, its trained weights, and each candidate's
    closed-form loss next to the trained loss.  Starts at the grid point nearest (ratio, density).
    """
    return PhaseExplorer(diagram, ratio, density)


# ---------------------------------------------------------------- notebook 06: feature geometry (uniform superposition)


class GeometryExplorer(DensityExplorer):
    """A density slider over the precomputed uniform-superposition run; see geometry_explorer."""

    VIEWS = ("histogram", "graph")

    def __init__(self, sweep: Sweep, density: float | None = 0.24, view: str = "histogram",
                 prerender: bool = True) -> None:
        if view not in self.VIEWS:
            raise ValueError(f"view must be one of {self.VIEWS}, got {view!r}")
        self.view = view
        super().__init__(sweep, None if density is None else sweep.nearest(density=density))
        if prerender:  # ~0.2 s of CPU a setting: too close to the 0.3 s budget on a busy machine to draw on demand
            self.prerender()
        self.redraw()

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return 11.0, 4.4

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s = self.sweep
        a0, a1 = _panels(fig, 2, width_ratios=[1.4, 1], wspace=0.42, right=0.3)
        viz.plot_dimensionality_scatter(s, ax=a0, highlight=k)
        a0.set_title("$D_i$ and $D^*$ of all 20 models (band: this one)")
        a0.get_legend().remove()
        if self.view == "histogram":
            viz.plot_dimensionality_histogram(s, k, ax=a1)
        else:
            viz.plot_geometry_graph(s.W[k], ax=a1, max_factors=30, title="feature geometry graph")
        d = float(dimensions_per_feature(s.W)[k])
        title = (f"{viz.config_title(s, k)}, 1/(1-S) = {1 / float(s.density[k]):.3g}: $D^*$ = {d:.3g}\n"
                 f"tegum factors: {viz.factor_summary(s.W[k])}")
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


def geometry_explorer(sweep: Sweep, density: float | None = 0.24, view: str = "histogram",
                      prerender: bool = True) -> GeometryExplorer:
    """A density slider over experiments.load_feature_geometry().sweep(): the paper's D_i scatter with the chosen
    model marked, beside that model's D_i histogram (view="histogram") or feature geometry graph (view="graph").
    The title names D* and the model's tegum factors.  Never trains.  prerender: draw all settings up front
    (~0.2 s of CPU each, ~4 s for 20), so that every slider move takes ~1 ms; False draws each on first visit."""
    return GeometryExplorer(sweep, density, view, prerender)


# --------------------------------------------------------------------------------------------- notebook 07
# A density slider over models with a privileged basis (relu_hidden Sweep or |x| AbsSweep): the neuron plots.


class NeuronExplorer(DensityExplorer):
    """One density slider over a relu_hidden Sweep or an AbsSweep (experiments.privileged_basis /
    computation_sweep): W as a features x neurons heatmap beside the per-neuron stacked bar plot
    (the |x| model, with 100 features, shows the stacked plot alone).  Precomputed: a slider move only redraws."""

    def __init__(self, sweep: Any, value: int | None = None, prerender: bool = True) -> None:
        self.abs_model = hasattr(sweep, "W1")
        if not self.abs_model and getattr(getattr(sweep, "model", None), "kind", None) != "relu_hidden":
            raise ValueError("neuron_explorer needs a relu_hidden Sweep (experiments.privileged_basis) or an "
                             "AbsSweep (experiments.computation_sweep)")
        super().__init__(sweep, value)
        if prerender:
            self.prerender()
        self.redraw()

    @property
    def _W(self) -> torch.Tensor:
        return self.sweep.W1 if self.abs_model else self.sweep.W

    def _summary(self) -> str:
        n, m = self._W.shape[1], self._W.shape[2]
        what = "|x| model" if self.abs_model else "ReLU hidden"
        return f"{what}, {n} features → {m} neurons, {len(self.sweep.density)} densities"

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return (9.0, 4.2)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s = self.sweep
        if self.abs_model:
            (ax,) = _panels(fig, 1, right=0.2)
            viz.plot_neuron_stack(s, k, ax=ax, title="each neuron's $|W_1|$ (rescaled to a largest entry of 1)")
        else:
            a0, a1 = _panels(fig, 2, width_ratios=[1, 1.3], wspace=0.7, right=1.3)
            viz.plot_neuron_weights(s, k, ax=a0, title="$W$: feature i → neuron j")
            viz.plot_neuron_stack(s, k, ax=a1, title="per-neuron stacked $|W_{ij}|$")
        fig.subplots_adjust(left=0.95 / fig.get_size_inches()[0])  # room for the two-line y label
        mono = int(_neurons.n_monosemantic(self._W, positive_only=not self.abs_model)[k])
        m = self._W.shape[2]
        config = viz._neuron_model(s, k).title()
        title = f"{config}\n{mono} of {m} neurons monosemantic, loss {float(s.loss[k]):.3g}"
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


def neuron_explorer(sweep: Any, value: int | None = None) -> NeuronExplorer:
    """A density slider (dense -> sparse) over experiments.privileged_basis (relu_hidden) or
    experiments.computation_sweep (|x| model), redrawing the neuron plots of the precomputed model for that
    density.  Every setting is rendered once up front (~0.2-0.5 s each), so each slider move is instant."""
    return NeuronExplorer(sweep, value)
