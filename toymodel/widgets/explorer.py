"""The Explorer base class: sliders over a stack of figures drawn once, and what every explorer shares.

Public: Explorer, DensityExplorer (one density slider over a sweep's instances), density_options.

Internal building blocks (shared by the explorer modules of this package; not re-exported by toymodel.widgets):

    FIGSIZE, SLIDER_LAYOUT, SLIDER_STYLE   the default frame size and the sliders' look
    panels            1 x n axes with fixed margins (no layout engine: half the redraw time)
    frame_title       the two-line title at the top of a frame
    selection_slider  a SelectionSlider in the explorers' look
    density_start     a density start: None or p = 1 - S in (0, 1]
    nearest_position  where in a list of option values the one nearest a start value is
"""

from __future__ import annotations

import base64
from collections.abc import Hashable, Sequence
import io
import itertools
import math
import time
import traceback
from typing import Any

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
from PIL import Image

from ..data import density_label
from ..sweeps import DensitySweep
from ..validate import check_density
from ..visualize import STYLE, style
from ..visualize.base import sweep_config

__all__ = [
    "Explorer", "DensityExplorer", "density_options",
    # internal building blocks (see the module docstring)
    "FIGSIZE", "MAX_FRAMES", "PNG_COLORS", "SLIDER_LAYOUT", "SLIDER_STYLE", "panels", "frame_title",
    "selection_slider", "density_start", "density_value_slider", "nearest_position",
]

FIGSIZE = (7.0, 3.5)
MAX_FRAMES = 40  # frames an explorer draws when its cell runs (~0.13 s each: <= ~6 s a cell); more are thinned
PNG_COLORS = 128  # frames are palette PNGs: a quarter of the RGB size, no visible loss on these flat figures
SLIDER_LAYOUT = {"width": "520px"}
SLIDER_STYLE = {"description_width": "110px"}


def density_options(density: Any) -> list[tuple[str, int]]:
    """SelectionSlider options [(label, instance)], ordered dense -> sparse, labelled 'p = 0.05 (S = 0.95)'."""
    p = np.asarray(density, dtype=float).reshape(-1)
    order = sorted(range(len(p)), key=lambda k: (-p[k], k))
    return [(density_label(p[k]), k) for k in order]


def density_start(value: object, name: str = "density") -> float | None:
    """A density start: None (the first option), or a density p = 1 - S in (0, 1]; else a ValueError naming `name`."""
    return None if value is None else check_density(value, name)


def nearest_position(values: Sequence[float], target: float | None, log: bool = False) -> int:
    """Position in `values` of the value nearest to target (in log space if log; the first of ties); 0 for None.

    target must already be checked (finite; > 0 when log).
    """
    if target is None:
        return 0
    f = math.log if log else float
    return min(range(len(values)), key=lambda j: abs(f(values[j]) - f(target)))


def selection_slider(options: list[tuple[str, Any]], description: str, value: Any = None) -> widgets.SelectionSlider:
    """A SelectionSlider over [(label, value)] options in the explorers' look, at `value` (None: the first)."""
    return widgets.SelectionSlider(
        options=options, value=options[0][1] if value is None else value, description=description,
        continuous_update=False, layout=SLIDER_LAYOUT, style=SLIDER_STYLE,
    )


def density_value_slider(density: Any, start: float | None) -> widgets.SelectionSlider:
    """A slider over the distinct densities in `density` (values, dense -> sparse, labelled by density_label),
    at the one nearest `start` in log density (None: the densest)."""
    values = sorted({float(p) for p in np.asarray(density, dtype=float).reshape(-1)}, reverse=True)
    return selection_slider([(density_label(p), p) for p in values], "density p = 1 - S",
                            values[nearest_position(values, start, log=True)])


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

    No layout engine: the explorers use fixed margins (panels), which halves the redraw time
    (constrained layout measures every text several times).
    """
    return Figure(figsize=figsize, dpi=STYLE["savefig.dpi"], facecolor="white")


def panels(fig: Figure, n_panels: int = 2, width_ratios: list[float] | None = None,
           projections: tuple[str | None, ...] = (None, None), wspace: float = 0.55,
           right: float = 0.75) -> list[Any]:
    """1 x n panels with fixed margins in inches: room for a two-line suptitle, panel titles, the
    x labels plus a legend underneath, and the colourbars the panels add on their right."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=0.6 / w, right=1 - right / w, top=1 - 0.85 / h, bottom=0.75 / h, wspace=wspace)
    gs = fig.add_gridspec(1, n_panels, width_ratios=width_ratios)
    return [fig.add_subplot(gs[0, i], projection=projections[i] if i < len(projections) else None)
            for i in range(n_panels)]


def frame_title(fig: Figure, title: str) -> str:
    """Write `title` (two lines at most) at the top of a frame, in the margin panels() leaves; return it."""
    fig.suptitle(title, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
    return title


def _link_trait(slider: widgets.Widget) -> tuple[str, int, int]:
    """(trait, first position, last position): the slider trait a Stack's selected_index follows."""
    if isinstance(slider, widgets.SelectionSlider):
        return "index", 0, len(slider.options) - 1
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
    def frame_bytes(self) -> int:
        """Bytes of the PNG frames drawn so far: what they add to the saved notebook (before base64)."""
        return sum(len(base64.b64decode(png)) for png, _ in self._cache.values())

    @property
    def stack(self) -> widgets.Widget | None:
        """The outermost Stack of frames (None before the first redraw, and for a live explorer)."""
        return self._stacks[0][1] if self._stacks else None

    def _key(self) -> Hashable:
        """The cache key of the sliders' current values: by default the value of the one slider `self.slider`
        (an explorer with other sliders defines its own)."""
        slider = getattr(self, "slider", None)
        if slider is None:
            raise TypeError(f"{type(self).__name__} is abstract: an explorer must define _key() or a `slider`")
        return int(slider.value)

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

    figsize: tuple[float, float] = FIGSIZE  # the figure's size in inches; _figsize may vary it with the key

    def _figsize(self, key: Hashable) -> tuple[float, float]:
        return self.figsize

    def _render(self, key: Hashable) -> None:
        with style():
            fig = _new_figure(self._figsize(key))
            title = self._draw(fig, key)
            self._cache[key] = (_png(fig), title)
        self.n_renders += 1

    def _thin_sliders(self) -> None:
        """Thin the selection sliders (most settings first) until their combinations fit MAX_FRAMES."""
        spans = [_link_trait(s) for s in self.sliders]
        counts = [hi - lo + 1 for _, lo, hi in spans]
        target = list(counts)
        thinnable = [i for i, s in enumerate(self.sliders) if isinstance(s, widgets.SelectionSlider)]
        while int(np.prod(target)) > self.MAX_FRAMES:
            candidates = [i for i in thinnable if target[i] > 2]
            if not candidates:
                raise ValueError(f"{type(self).__name__}: {int(np.prod(counts))} slider settings cannot be thinned "
                                 f"to MAX_FRAMES = {self.MAX_FRAMES} frames")
            target[max(candidates, key=lambda i: (target[i], -i))] -= 1
        for i in thinnable:
            if target[i] < counts[i]:
                s = self.sliders[i]
                options = list(s.options)
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


class DensityExplorer(Explorer):
    """One density slider (dense -> sparse) over the instances of a sweep: the base of the sparsity,
    geometry and neuron explorers.

    density: where the slider starts, the instance nearest this density p = 1 - S (in log density);
    None: the first option (the densest).  The slider's values are instance indices.
    """

    def __init__(self, sweep: DensitySweep, density: float | None = None) -> None:
        if not isinstance(sweep, DensitySweep):
            raise ValueError(f"{type(self).__name__} needs a sweep (a toymodel.sweeps.DensitySweep, e.g. from "
                             f"toymodel.experiments), got {type(sweep).__name__}")
        self.sweep = sweep
        options = density_options(sweep.density)
        start = None if density is None else sweep.nearest(density=density_start(density))
        self.slider = selection_slider(options, "density p = 1 - S", start)
        super().__init__([self.slider])

    def _all_keys(self) -> list[Hashable]:
        return [k for _, k in self.slider.options]

    def _summary(self) -> str:
        return f"{sweep_config(self.sweep)}, {len(self.sweep)} densities, view={self.view!r}"
