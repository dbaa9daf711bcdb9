"""Slider explorers over precomputed sweeps: moving a slider only redraws, it never trains.

In a notebook cell:

    display(sparsity_explorer(sweep))          # or just end the cell with the call

Every explorer is an ipywidgets VBox (sliders on top, the figure below) and exposes
`.sliders`, `.output` (the Output showing the current figure), `.redraw()`, `.index` (the instance
shown) and `.title` (the figure's title).  When the cell runs, the figure of every slider setting is
drawn once to a palette PNG, each in its own Output, inside nested ipywidgets Stacks whose
selected_index follows the sliders through jslinks: the browser picks the frame.  So the explorers
work from the saved widget state alone, with no kernel (nbviewer, exported HTML, the static edition
from tools/build_site.py), and a slider move never waits on the kernel.  The cell's mime bundle also
carries the current frame as image/png, the picture JupyterLab shows before any cell has run.
Nothing leaks into the cell's own outputs (no pyplot figure is created).  The live retrainer
(retrain_button) is the exception: it trains on a click, so it needs a kernel.
"""

from __future__ import annotations

import base64
from collections.abc import Hashable, Mapping
import html
import io
import itertools
import time
import traceback
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
from PIL import Image
import torch

from . import correlated as _correlated
from . import neurons as _neurons
from . import visualize as viz
from .data import geometric_importance
from .metrics import dimensions_per_feature, n_represented
from .model import ToyModel
from .phase import CANDIDATES as _CANDIDATES
from .phase import OTHER as _OTHER
from .phase import PHASES as _PHASES
from .phase import TRIANGLE as _TRIANGLE
from .phase import TRIANGLE_NAME as _TRIANGLE_NAME
from .train import train_toy_model

if TYPE_CHECKING:
    from .experiments import Sweep

__all__ = [
    "Explorer", "DensityExplorer", "SparsityExplorer", "ImportanceExplorer", "HiddenSizeExplorer", "LiveRetrainer",
    "sparsity_explorer", "importance_explorer", "hidden_size_explorer", "retrain_button", "density_options",
    "PhaseExplorer", "GeometryExplorer", "NeuronExplorer", "phase_explorer", "geometry_explorer", "neuron_explorer",
    "SetExplorer", "RatioExplorer", "TrainingScrubber", "set_explorer", "ratio_explorer", "training_scrubber",
]

FIGSIZE = (7.0, 3.5)
MAX_FRAMES = 40  # frames an explorer draws when its cell runs (~0.13 s each: <= ~6 s a cell); more are thinned
PNG_COLORS = 128  # frames are palette PNGs: a quarter of the RGB size, no visible loss on these flat figures
_SLIDER_LAYOUT = {"width": "520px"}
_SLIDER_STYLE = {"description_width": "110px"}


def density_options(density: Any) -> list[tuple[str, int]]:
    """SelectionSlider options [(label, instance)], ordered dense -> sparse, labelled 'p=0.05 (S=0.95)'."""
    p = np.asarray(density, dtype=float).reshape(-1)
    order = sorted(range(len(p)), key=lambda k: (-p[k], k))
    return [(f"p={p[k]:.3g} (S={1 - p[k]:.3g})", k) for k in order]


def _png(fig: Figure) -> str:
    """The figure as a base64 palette PNG (deterministic bytes: no metadata, no timestamp)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    w, h = canvas.get_width_height()
    rgb = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buf = io.BytesIO()
    # fast octree + zlib level 6: ~4 ms a frame (median cut + level 9: ~35 ms, for 10% fewer bytes)
    rgb.quantize(colors=PNG_COLORS, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG", compress_level=6)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """A figure outside pyplot: never auto-displayed, never needs closing.

    No layout engine: the explorers use fixed margins (_panels), which halves the redraw time
    (constrained layout measures every text several times).
    """
    return Figure(figsize=figsize, dpi=viz.STYLE["savefig.dpi"], facecolor="white")


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


def _is_selection(slider: widgets.Widget) -> bool:
    return hasattr(slider, "index") and hasattr(slider, "_options_values")


def _link_trait(slider: widgets.Widget) -> tuple[str, int, int]:
    """(trait, first position, last position): the slider trait a Stack's selected_index follows."""
    if _is_selection(slider):
        return "index", 0, len(slider._options_values) - 1
    if isinstance(slider, widgets.IntSlider) and slider.step == 1 and slider.min >= 0:
        return "value", int(slider.min), int(slider.max)
    raise TypeError(f"an explorer slider must be a selection slider or an IntSlider with step 1 and min >= 0, "
                    f"got {type(slider).__name__}")


def _position(slider: widgets.Widget) -> int:
    return int(getattr(slider, _link_trait(slider)[0]))


def _set_position(slider: widgets.Widget, pos: int) -> None:
    setattr(slider, _link_trait(slider)[0], pos)


def _thin(n: int, m: int, keep: int) -> list[int]:
    """m of the positions 0..n-1, evenly spread, the ends and `keep` among them."""
    picks = sorted({round(j * (n - 1) / (m - 1)) for j in range(m)})
    if keep not in picks:
        inner = [p for p in picks if p not in (0, n - 1)] or picks
        picks[picks.index(min(inner, key=lambda p: abs(p - keep)))] = keep
    return sorted(picks)


class Explorer(widgets.VBox):
    """Sliders over a stack of figures drawn once: the browser picks the frame, the kernel is never waited on.

    Subclasses define _key() (the setting the sliders' current values select), _draw(fig, key) (draw that
    setting; return its title), and optionally _index_of, _figsize, _summary.  The first redraw() (every
    subclass calls it at the end of its __init__) draws the figure of every slider setting (at most
    MAX_FRAMES: sliders with more settings are thinned to evenly spread ones), puts each PNG into its own
    Output, and nests ipywidgets Stacks (one level per slider) whose selected_index follows its slider
    through a jslink, in the browser.  The saved widget state alone therefore works with no kernel
    (nbviewer, exported HTML, the static edition), and a slider move is instant on a busy kernel.  The
    cell's mime bundle also carries the current frame as image/png, which JupyterLab shows when it cannot
    render the widget (an untrusted notebook before any cell has run).

    KERNEL_FREE = False (the live retrainer) draws on demand into one Output instead: that needs a kernel.
    """

    KERNEL_FREE = True
    MAX_FRAMES = MAX_FRAMES

    def __init__(self, sliders: list[widgets.Widget], extra: list[widgets.Widget] | None = None) -> None:
        self.sliders = list(sliders)
        self.index: int | None = None
        self.title = ""
        self.n_renders = 0  # figures actually drawn
        self.last_seconds = 0.0  # wall time of the last redraw (the first one draws every frame)
        self._cache: dict[Hashable, tuple[str, str]] = {}
        self._frames: dict[Hashable, widgets.Output] = {}  # one Output per distinct setting
        self._stacks: list[tuple[int, widgets.Stack]] = []  # (slider level, stack)
        self.links: list[widgets.Widget] = []  # the jslinks slider -> stack (kept alive with the explorer)
        self._quiet = False
        self._shown: Hashable | None = None  # the key of the figure shown
        self._live_output = widgets.Output(layout={"min_height": "260px"})
        super().__init__(children=[*self.sliders, *(extra or []), self._live_output])
        for s in self.sliders:
            s.observe(self.redraw, names="value")

    @property
    def output(self) -> widgets.Output:
        """The Output showing the current figure (the current frame's Output once the frames are drawn)."""
        return self._frames.get(self._shown, self._live_output)

    @property
    def stack(self) -> widgets.Widget | None:
        """The outermost Stack of frames (None before the first redraw, and for a live explorer)."""
        return self._stacks[0][1] if self._stacks else None

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
        """Show the figure for the sliders' current values.

        The first call draws every frame; later calls only select (what the jslinks already did in the
        browser; this keeps the Python side, .index and .title in step, e.g. with no frontend at all).
        """
        if self._quiet:
            return
        start = time.perf_counter()
        try:
            if not self.KERNEL_FREE:
                key = self._key()
                if key not in self._cache:
                    self._render(key)
                self._live_output.outputs = (self._display_data(key),)
            else:
                if not self._frames:
                    self._build_frames()
                key = self._key()
                for level, stack in self._stacks:
                    stack.selected_index = _position(self.sliders[level])
            self.index = self._index_of(key)
            self.title = self._cache[key][1]
            self._shown = key
        except Exception:
            self._live_output.outputs = (
                {"output_type": "stream", "name": "stderr", "text": traceback.format_exc()},)
            raise
        finally:
            self.last_seconds = time.perf_counter() - start

    def prerender(self) -> None:
        """Draw every frame now (the first redraw does it anyway)."""
        if self.KERNEL_FREE and not self._frames:
            self._build_frames()

    def _display_data(self, key: Hashable) -> dict[str, Any]:
        png, title = self._cache[key]
        return {"output_type": "display_data", "metadata": {},
                "data": {"image/png": png, "text/plain": f"<figure: {title}>"}}

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return FIGSIZE

    def _render(self, key: Hashable) -> None:
        with viz.style():
            fig = _new_figure(self._figsize(key))
            title = self._draw(fig, key)
            self._cache[key] = (_png(fig), title)
        self.n_renders += 1

    def _thin_sliders(self) -> None:
        """Thin the selection sliders (most settings first) until their combinations fit MAX_FRAMES."""
        spans = [_link_trait(s) for s in self.sliders]
        counts = [hi - lo + 1 for _, lo, hi in spans]
        target = list(counts)
        thinnable = [i for i, s in enumerate(self.sliders) if _is_selection(s)]
        while int(np.prod(target)) > self.MAX_FRAMES:
            candidates = [i for i in thinnable if target[i] > 2]
            if not candidates:
                raise ValueError(f"{type(self).__name__}: {int(np.prod(counts))} slider settings cannot be thinned "
                                 f"to MAX_FRAMES = {self.MAX_FRAMES} frames")
            target[max(candidates, key=lambda i: (target[i], -i))] -= 1
        for i in thinnable:
            if target[i] < counts[i]:
                s = self.sliders[i]
                options = list(zip(s._options_labels, s._options_values))
                keep = _thin(counts[i], target[i], int(s.index))
                value = s.value
                s.options = [options[j] for j in keep]
                s.value = value

    def _build_frames(self) -> None:
        """Draw one frame per distinct setting and nest the Stacks that the sliders' jslinks drive."""
        self._quiet = True
        try:
            self._thin_sliders()
            start = [_position(s) for s in self.sliders]
            spans = [_link_trait(s) for s in self.sliders]
            keys: dict[tuple[int, ...], Hashable] = {}
            for combo in itertools.product(*(range(lo, hi + 1) for _, lo, hi in spans)):
                for s, pos in zip(self.sliders, combo):
                    _set_position(s, pos)
                keys[combo] = self._key()
            for s, pos in zip(self.sliders, start):
                _set_position(s, pos)
        finally:
            self._quiet = False
        for key in keys.values():
            if key not in self._frames:
                if key not in self._cache:
                    self._render(key)
                frame = widgets.Output(layout={"min_height": "260px"})
                frame.outputs = (self._display_data(key),)
                self._frames[key] = frame

        def nest(level: int, prefix: tuple[int, ...]) -> widgets.Widget:
            if level == len(self.sliders):
                return self._frames[keys[prefix]]
            trait, lo, hi = spans[level]
            children = [widgets.Box() for _ in range(lo)] + [nest(level + 1, (*prefix, p)) for p in range(lo, hi + 1)]
            stack = widgets.Stack(children=children, selected_index=start[level])
            self._stacks.append((level, stack))
            self.links.append(widgets.jslink((self.sliders[level], trait), (stack, "selected_index")))
            return stack

        root = nest(0, ())
        self._stacks.sort(key=lambda ls: ls[0])  # the outermost first
        self.children = (*self.children[:-1], root)

    def _all_keys(self) -> list[Hashable]:
        """Every setting the sliders can select (the frames drawn)."""
        return list(self._frames)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, its short text repr, and the current frame as image/png: what JupyterLab shows
        when it cannot render the widget (JupyterLab renders the unsafe widget view only in trusted outputs)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        if isinstance(bundle, tuple):  # (data, metadata)
            bundle = bundle[0]
        if self._shown is None:
            try:
                self.redraw()
            except Exception:  # the widget view shows the error; the bundle stays as ipywidgets made it
                return bundle
        if self._shown in self._cache:
            bundle = {**bundle, "image/png": self._cache[self._shown][0]}
        return bundle

    def __repr__(self) -> str:  # short and stable: this is the cell's text/plain output (nbval compares it)
        return f"{type(self).__name__}({self._summary()})"

    def _summary(self) -> str:
        return ""


def _check_start(name: str, value: Any, log: bool = False) -> float | None:
    """A slider start value: None, or a finite real number (> 0 when log); else a ValueError naming it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) and not (
            isinstance(value, torch.Tensor) and value.numel() == 1):
        raise ValueError(f"{name} must be a real number or None, got {value!r}")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (log and v == 0):
        allowed = "a finite number > 0" if log else "a finite number >= 0"
        raise ValueError(f"{name} must be {allowed} (or None), got {value!r}")
    return v


def _closest(values: list[float], target: float | None, log: bool = False, name: str = "value") -> float:
    """The value in `values` nearest to target (in log space if log); values[0] when target is None.
    A NaN, infinite or negative target (zero too when log) is a ValueError naming `name`."""
    target = _check_start(name, target, log)
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
        options = density_options(sweep.density)
        allowed = [k for _, k in options]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or int(value) not in allowed):
            raise ValueError(f"value must be None or an instance index in 0..{len(allowed) - 1}, got {value!r}")
        self.slider = _selection_slider(options, "density p = 1 - S", None if value is None else int(value))
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
        self.redraw()  # draws every setting: the browser picks the frame (prerender is kept for compatibility)

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

    def __init__(self, sweep: Sweep, importance_decay: float | None = 0.8, density: float | None = 0.1) -> None:
        if getattr(sweep, "importance_decay", None) is None:
            raise ValueError("importance_explorer needs a sweep that varies the importance decay "
                             "(experiments.feature_importance)")
        self.sweep = sweep
        rates = sorted({round(float(r), 6) for r in sweep.importance_decay}, reverse=True)
        densities = sorted({float(p) for p in sweep.density}, reverse=True)
        self.importance_decay_slider = _selection_slider([(f"I = {r:.3g}^i", r) for r in rates], "importance decay",
                                              _closest(rates, importance_decay, name="importance_decay"))
        self.density_slider = _selection_slider(
            [(f"p={p:.3g} (S={1 - p:.3g})", p) for p in densities], "density p = 1 - S",
            _closest(densities, density, log=True, name="density"))
        super().__init__([self.importance_decay_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        return self.sweep.nearest(density=self.density_slider.value, importance_decay=self.importance_decay_slider.value)

    def _summary(self) -> str:
        return (f"{viz._sweep_config(self.sweep)}, {len(self.importance_decay_slider.options)} decays x "
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
    """n_hidden and density sliders over experiments.dimensionality_sweep; see hidden_size_explorer.

    Its frames take ~0.16 s each: at most 32 (8 widths x 4 densities; notebook 04's 5 densities would take
    6.3 s), so the density slider keeps 4 evenly spread ones (the ends and the start density among them).
    """

    MAX_FRAMES = 32

    def __init__(self, sweeps: Mapping[int, Sweep], n_hidden: int | None = 2, density: float | None = 0.1) -> None:
        if not isinstance(sweeps, Mapping) or not sweeps:
            raise ValueError("sweeps must be a non-empty dict {n_hidden: Sweep}, as dimensionality_sweep returns")
        self.sweeps = dict(sweeps)
        ms = sorted(self.sweeps)
        m0 = int(_closest(ms, n_hidden, name="n_hidden"))
        if ms == list(range(ms[0], ms[-1] + 1)):
            self.m_slider = widgets.IntSlider(value=m0, min=ms[0], max=ms[-1], description="hidden dims m",
                                              continuous_update=False, layout=_SLIDER_LAYOUT, style=_SLIDER_STYLE)
        else:
            self.m_slider = _selection_slider([(str(m), m) for m in ms], "hidden dims m", m0)
        densities = sorted({float(p) for p in self.sweeps[ms[0]].density}, reverse=True)
        self.density_slider = _selection_slider(
            [(f"p={p:.3g} (S={1 - p:.3g})", p) for p in densities], "density p = 1 - S",
            _closest(densities, density, log=True, name="density"))
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
    """A density slider and a "Retrain live" button that trains a fresh small model; see retrain_button.

    The one explorer that needs a kernel (it trains on a click).  With none (a saved notebook, the static
    edition) it shows the figure of its last training and says that the button needs a running kernel.
    """

    KERNEL_FREE = False
    NEEDS_KERNEL = "(the button needs a running kernel: run the notebook's cells first)"

    def __init__(self, n_features: int = 5, n_hidden: int = 2, importance_decay: float = 0.9,
                 density: float = 0.05, steps: int = 1000, kind: str = "relu_output", train_now: bool = True) -> None:
        if isinstance(density, bool) or not isinstance(density, (int, float, np.integer, np.floating)) \
                or not 1e-3 <= float(density) <= 1:
            raise ValueError(f"density must be a number in [0.001, 1] (the slider's range), got {density!r}")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        density = float(density)
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
        self.status = widgets.HTML(f"press <b>Retrain live</b> to train a model {self.NEEDS_KERNEL}")
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
                                 f"loss {self.loss:.3g}. Click again for another seed {self.NEEDS_KERNEL}.")
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
            self.status.value = f"press <b>Retrain live</b> to train a model {self.NEEDS_KERNEL}"
            return
        super().redraw(change)

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
    Every setting is drawn once when the cell runs (~0.13 s each, at most MAX_FRAMES) and the browser picks
    the frame, so the explorer works with no kernel; prerender is ignored (kept for compatibility).
    """
    return SparsityExplorer(sweep, view, prerender=prerender)


def importance_explorer(sweep: Sweep, importance_decay: float | None = 0.8, density: float | None = 0.1) -> ImportanceExplorer:
    """Importance-decay and density sliders over experiments.feature_importance's grid (sweep.nearest picks the
    instance), showing the importance profile beside the norm bars. Starts at the grid point nearest
    (importance_decay, density); None starts at the first option."""
    return ImportanceExplorer(sweep, importance_decay, density)


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
    each candidate's closed-form loss beside the trained model's loss.  The sliders offer an evenly spread
    5 x 5 of the grid's points (the ends and the start point among them): its frames take ~0.2 s each.
    """

    MAX_FRAMES = 25

    def __init__(self, diagram: Any, ratio: float | None = 1.0, density: float | None = 0.1) -> None:
        if not all(hasattr(diagram, a) for a in ("ratio", "density", "phase", "candidate_loss", "model")):
            raise ValueError("phase_explorer needs an experiments.PhaseDiagram (from experiments.phase_diagram)")
        self.diagram = diagram
        ratios = [float(r) for r in diagram.ratio]
        densities = [float(p) for p in diagram.density]
        i0 = ratios.index(_closest(ratios, ratio, log=True, name="ratio"))
        j0 = densities.index(_closest(densities, density, log=True, name="density"))
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
        density = _check_start("density", density, log=True)
        super().__init__(sweep, None if density is None else sweep.nearest(density=density))
        self.redraw()  # draws every setting (prerender is kept for compatibility)

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
    (~0.15 s of CPU each, ~3 s for 20) and the browser picks the frame, so the explorer works with no kernel;
    prerender is ignored (kept for compatibility)."""
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
        self.redraw()  # draws every setting (prerender is kept for compatibility)

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


# ---- notebook 08: non-uniform superposition, correlated feature sets, and learning dynamics


class SetExplorer(Explorer):
    """A data slider (which SetSweep) and a set-density slider over precomputed experiments.correlated_features
    sweeps: the 2-D embedding coloured by set beside W^T W.  Never trains; every frame is drawn once."""

    def __init__(self, sweeps: Mapping[str, Any], name: str | None = None, density: float | None = 0.05) -> None:
        if not isinstance(sweeps, Mapping) or not sweeps:
            raise ValueError("sweeps must be a non-empty dict {name: SetSweep} (experiments.correlated_features)")
        for key, s in sweeps.items():
            if not hasattr(s, "set_size") or getattr(getattr(s, "model", None), "n_hidden", None) != 2:
                raise ValueError(f"sweeps[{key!r}] must be a SetSweep with n_hidden = 2 "
                                 "(experiments.correlated_features(..., n_hidden=2))")
        self.sweeps = dict(sweeps)
        names = list(self.sweeps)
        if name is not None and name not in names:
            raise ValueError(f"name must be one of {names} or None, got {name!r}")
        first = self.sweeps[names[0]]
        densities = [float(p) for p in first.density]
        if any([float(p) for p in s.density] != densities for s in self.sweeps.values()):
            raise ValueError("every sweep must share the same densities")
        self.data_slider = _selection_slider([(n, n) for n in names], "data", name)
        order = sorted(range(len(densities)), key=lambda k: densities[k])  # sparse -> dense: collapse to the right
        d0 = _closest(densities, density, log=True, name="density")
        self.density_slider = _selection_slider([(f"p={densities[k]:.3g} (S={1 - densities[k]:.3g})", k)
                                                 for k in order], "set density p", densities.index(d0))
        super().__init__([self.data_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        return str(self.data_slider.value), int(self.density_slider.value)

    def _index_of(self, key: Hashable) -> int:
        return int(key[1])  # type: ignore[index]

    def _summary(self) -> str:
        return f"{len(self.sweeps)} data sets x {len(self.density_slider.options)} set densities"

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return 9.5, 4.2

    def _draw(self, fig: Figure, key: Hashable) -> str:
        name, k = key  # type: ignore[misc]
        s = self.sweeps[name]
        a0, a1 = _panels(fig, 2, width_ratios=[1.15, 1], wspace=0.95, right=1.2)
        viz.plot_set_embedding_2d(s, k, ax=a0, title="feature directions (colour: set)")
        viz.plot_wtw(s, k, ax=a1, title="$W^TW$ and bias $b$")
        cos = _correlated.set_cosines(s.W, s.set_size)[k]
        n_col = int(_correlated.collapsed_sets(s.W, s.set_size)[k])
        title = (f"{s.label(k)}\nmember cosines " + ", ".join(f"{float(c):+.2f}" for c in cos)
                 + f"; {n_col} of {len(cos)} sets collapsed; loss {float(s.loss[k]):.3g}")
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


class RatioExplorer(Explorer):
    """A slider over experiments.nonuniform_superposition's ratios: both families' trained W at that ratio beside
    their loss curves (the ratio marked).  Never trains."""

    def __init__(self, run: Any, ratio: float | None = 1.0) -> None:
        if not all(hasattr(run, a) for a in ("ratio", "W", "loss", "intact", "critical_ratio")):
            raise ValueError("ratio_explorer needs an experiments.NonUniformRun (experiments.nonuniform_superposition)")
        self.run = run
        ratios = [float(r) for r in run.ratio]
        r0 = _closest(ratios, ratio, log=True, name="ratio")
        self.slider = _selection_slider([(f"{r:.3g}×", i) for i, r in enumerate(ratios)], "feature 4 sparser",
                                        ratios.index(r0))
        super().__init__([self.slider])
        self.redraw()

    def _key(self) -> Hashable:
        return int(self.slider.value)

    def _summary(self) -> str:
        return f"5 features → 2 dims, p = {self.run.density:.3g}, {len(self.run.ratio)} ratios"

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return 12.0, 4.2

    def _draw(self, fig: Figure, key: Hashable) -> str:
        i = int(key)
        run = self.run
        axes = _panels(fig, 3, width_ratios=[1, 1, 1.5], wspace=0.45, right=0.3)
        names = {"pentagon": "from a pentagon", "digons": "from two digons"}
        for ax, fam in zip(axes[:2], ("pentagon", "digons")):
            shape = {1: "pentagon", 0: "two digons"}.get(int(run.shape_of(run.W[fam][i])), "other")
            viz.plot_feature_embeddings_2d(run.W[fam][i], ax=ax, colorbar=False,
                                           title=f"{names[fam]}: ends as {shape}\nloss {float(run.loss[fam][i]):.4g}")
        viz.plot_family_losses(run, ax=axes[2], mark=float(run.ratio[i]))
        lower = "pentagon" if run.loss["pentagon"][i] < run.loss["digons"][i] else "two digons"
        title = (f"5 equal features → 2 dims, p = {run.density:.3g}; feature 4 {float(run.ratio[i]):.3g}× sparser "
                 f"(p = {run.density / float(run.ratio[i]):.3g})\nlower loss here: {lower}")
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


class TrainingScrubber(Explorer):
    """A slider over the recorded training steps of an experiments.TrainingRun: the 2-D embedding at that step
    beside the loss and D_i curves with the step marked.  Every frame comes from the recorded snapshots."""

    def __init__(self, run: Any, every: int = 5, step: int | None = None, until: int | None = None) -> None:
        if not all(hasattr(run, a) for a in ("step", "W", "loss", "dimensionality")):
            raise ValueError("training_scrubber needs an experiments.TrainingRun (experiments.learning_dynamics)")
        if run.W.shape[-1] != 2:
            raise ValueError(f"training_scrubber draws the 2-D embedding: n_hidden must be 2, got {run.W.shape[-1]}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer (show every k-th snapshot), got {every!r}")
        if until is not None and (isinstance(until, bool) or not isinstance(until, int) or until < 0):
            raise ValueError(f"until must be None or a training step >= 0, got {until!r}")
        if step is not None and (isinstance(step, bool) or not isinstance(step, (int, np.integer))):
            raise ValueError(f"step must be None or an integer training step, got {step!r}")
        self.run = run
        picks = [j for j in range(0, len(run.step), every) if until is None or int(run.step[j]) <= until]
        if picks[-1] != len(run.step) - 1:
            picks.append(len(run.step) - 1)
        start = picks[0] if step is None else min(picks, key=lambda j: abs(int(run.step[j]) - int(step)))
        self.slider = _selection_slider([(f"step {int(run.step[j])}", j) for j in picks], "training step", start)
        super().__init__([self.slider])
        self.redraw()

    def _key(self) -> Hashable:
        return int(self.slider.value)

    def _summary(self) -> str:
        n, m = self.run.W.shape[1:]
        return f"{n} features → {m} dims, p = {self.run.density:.3g}, {len(self.slider.options)} recorded steps"

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return 12.0, 4.0

    def _draw(self, fig: Figure, key: Hashable) -> str:
        j = int(key)
        run = self.run
        a0, a1, a2 = _panels(fig, 3, width_ratios=[1, 1.4, 1.4], wspace=0.4, right=0.3)
        viz.plot_feature_embeddings_2d(run.W[j], ax=a0, colorbar=False, title="feature directions $W_i$")
        viz.plot_dimensionality_over_training(run, ax=a1, mark=j)
        viz.plot_loss_over_training(run, ax=a2, mark=j)
        D = run.dimensionality[j]
        title = (f"5 equal features → 2 dims, p = {run.density:.3g}: step {int(run.step[j])} of {run.steps}\n"
                 f"loss {float(run.loss[j]):.3g}; $D_i$ " + ", ".join(f"{float(d):.2f}" for d in D))
        fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
        return title


def set_explorer(sweeps: Mapping[str, Any], name: str | None = None, density: float | None = 0.05) -> SetExplorer:
    """Two sliders (which data: a dict {name: SetSweep} from experiments.correlated_features; the set density)
    over precomputed 2-D models: the embedding coloured by set beside W^T W, the member cosines and the number
    of collapsed sets in the title.  Starts at `name` (None: the first) and the density nearest `density`."""
    return SetExplorer(sweeps, name, density)


def ratio_explorer(run: Any, ratio: float | None = 1.0) -> RatioExplorer:
    """A slider over experiments.nonuniform_superposition's ratios (how much sparser feature 4 is): the two
    families' trained W at that ratio beside their loss curves.  Starts at the ratio nearest `ratio`."""
    return RatioExplorer(run, ratio)


def training_scrubber(run: Any, every: int = 5, step: int | None = None, until: int | None = None) -> TrainingScrubber:
    """A slider over the recorded steps of experiments.learning_dynamics (every `every`-th snapshot up to step
    `until` (None: all), and the last): the embedding at that step beside D_i and the loss during training,
    the step marked.  Starts at the recorded step nearest `step`.  No retraining."""
    return TrainingScrubber(run, every, step, until)
