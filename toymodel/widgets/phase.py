"""Notebook 05's explorer: the phase diagram, one grid point (relative importance r, density p) at a time."""

from __future__ import annotations

from collections.abc import Hashable
import math

from matplotlib.figure import Figure

from .. import visualize as viz
from ..data import density_label
from ..phase import CANDIDATES, OTHER, PHASES, TRIANGLE, TRIANGLE_NAME
from ..sweeps import PhaseDiagram
from ..validate import check_in_range
from .explorer import Explorer, density_start, frame_title, nearest_position, panels, selection_slider

__all__ = ["PhaseExplorer"]


def _candidate_name(n_features: int, c: int) -> str:
    if c == OTHER:
        return "none of the candidates"
    return TRIANGLE_NAME if c == TRIANGLE else CANDIDATES[n_features][c]


class PhaseExplorer(Explorer):
    """Relative-importance and density sliders over a trained PhaseDiagram (experiments.phase_diagram).

    Left: the trained phase map with the chosen grid point circled; middle: that point's trained W
    (2 -> 1: the two weights on the hidden line; 3 -> 2: the three directions in the plane); right:
    each candidate's closed-form loss beside the trained model's loss.  Starts at the grid point nearest
    (ratio, density), in log scale; None starts that slider at its first option.  The sliders offer an evenly
    spread 5 x 5 of the grid's points (the ends and the start point among them): its frames take ~0.2 s each.
    """

    MAX_FRAMES = 25

    def __init__(self, diagram: PhaseDiagram, ratio: float | None = 1.0, density: float | None = 0.1) -> None:
        if not isinstance(diagram, PhaseDiagram):
            raise ValueError("PhaseExplorer needs an experiments.PhaseDiagram (from experiments.phase_diagram)")
        if ratio is not None:
            ratio = check_in_range("ratio", ratio, 0.0, math.inf, low_open=True, allowed="a finite number > 0, or None")
        density = density_start(density)
        self.diagram = diagram
        ratios = [float(r) for r in diagram.ratio]
        densities = [float(p) for p in diagram.density]
        self.ratio_slider = selection_slider([(f"r = {r:.3g}", i) for i, r in enumerate(ratios)],
                                             "extra importance r", nearest_position(ratios, ratio, log=True))
        order = sorted(range(len(densities)), key=lambda j: -densities[j])  # dense -> sparse
        j0 = order[0] if density is None else nearest_position(densities, density, log=True)
        self.density_slider = selection_slider([(density_label(densities[j]), j) for j in order],
                                               "density p = 1 - S", j0)
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
        a0, a1, a2 = panels(fig, 3, width_ratios=[1.0, 1.0, 1.15], wspace=0.75, right=0.3)
        fig.subplots_adjust(bottom=1.45 / fig.get_size_inches()[1])  # room for the map's legend
        viz.plot_phase_map(d, "empirical", ax=a0, mark=(i, j), title="trained models (○ = this point)")
        W = d.W[i, j]
        if n == 2:
            viz.plot_weights_1d(W, ax=a1, labels=["feature 0", "extra"], title="this point's trained W")
        else:
            viz.plot_feature_embeddings_2d(W, ax=a1, title="this point's trained W (2 = extra)", colorbar=False)
        viz.plot_candidate_losses(d, i, j, ax=a2)
        cand = _candidate_name(n, int(d.candidate[i, j]))
        theory = _candidate_name(n, int(d.theory_candidate[i, j]))
        return frame_title(fig, f"ReLU output, {n} features → {n - 1} hidden, {d.label(i, j)}\n"
                                f"trained: {PHASES[int(d.phase[i, j])]} ({cand}); theory: "
                                f"{PHASES[int(d.theory_phase[i, j])]} ({theory})")
