"""Notebook 06's explorer: feature geometry (uniform superposition), one density at a time."""

from __future__ import annotations

from collections.abc import Hashable

from matplotlib.figure import Figure

from .. import visualize as viz
from ..metrics import dimensions_per_feature
from ..sweeps import Sweep
from .explorer import DensityExplorer, frame_title, panels

__all__ = ["GeometryExplorer"]


class GeometryExplorer(DensityExplorer):
    """A density slider over experiments.load_feature_geometry().sweep(): the paper's D_i scatter with the chosen
    model marked, beside that model's D_i histogram (view="histogram") or feature geometry graph (view="graph").

    The title names D* and the model's tegum factors.  Starts at the model nearest `density` (None: the
    densest).  Never trains: every setting is drawn once when the cell runs (~0.15 s of CPU each, ~3 s for 20)
    and the browser picks the frame, so the explorer works with no kernel; prerender is ignored (kept for
    compatibility).
    """

    VIEWS = ("histogram", "graph")

    def __init__(self, sweep: Sweep, density: float | None = 0.24, view: str = "histogram",
                 prerender: bool = True) -> None:
        if view not in self.VIEWS:
            raise ValueError(f"view must be one of {self.VIEWS}, got {view!r}")
        if not isinstance(sweep, Sweep):
            raise ValueError(f"GeometryExplorer needs a Sweep (experiments.load_feature_geometry().sweep()), "
                             f"got {type(sweep).__name__}")
        self.view = view
        super().__init__(sweep, density)
        self.redraw()  # draws every setting

    figsize = (11.0, 4.4)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s = self.sweep
        a0, a1 = panels(fig, 2, width_ratios=[1.4, 1], wspace=0.42, right=0.3)
        viz.plot_dimensionality_scatter(s, ax=a0, highlight=k)
        a0.set_title("$D_i$ and $D^*$ of all 20 models (band: this one)")
        a0.get_legend().remove()
        if self.view == "histogram":
            viz.plot_dimensionality_histogram(s, k, ax=a1)
        else:
            viz.plot_geometry_graph(s.W[k], ax=a1, max_factors=30, title="feature geometry graph")
        d = float(dimensions_per_feature(s.W)[k])
        return frame_title(fig, f"{viz.config_title(s, k)}, 1/(1-S) = {1 / float(s.density[k]):.3g}: $D^*$ = {d:.3g}\n"
                                f"tegum factors: {viz.factor_summary(s.W[k])}")
