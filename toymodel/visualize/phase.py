"""Figures for notebook 05, the phase change: phase maps (trained next to theory), candidate losses, 1-D weights.

Colours are Okabe-Ito (colour-blind safe): not learned = grey, superposition = blue, dedicated
dimension = orange (2 -> 1); for 3 -> 2 each candidate has its own colour, the paper's unconsidered
triangle pink, no match white.  The theory is toymodel.phase; the trained grids come from
toymodel.experiments.phase_diagram.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools
from typing import Any

from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
import matplotlib.pyplot as plt
from matplotlib.ticker import NullLocator
import numpy as np
import torch

from ..metrics import REPRESENTED_THRESHOLD
from ..phase import CANDIDATES, OTHER, PHASES, TRIANGLE_NAME, candidate_losses, theoretical_candidate
from ..sweeps import PhaseDiagram
from .base import P_AXIS_LABEL, feature_colors, fig_ax, legend_below, styled

__all__ = ["plot_phase_map", "plot_phase_diagram", "plot_candidate_losses", "plot_weights_1d", "plot_loss_slice",
           "PHASE_COLORS", "CANDIDATE_COLORS"]


PHASE_COLORS = ("#BBBBBB", "#0072B2", "#E69F00")
CANDIDATE_COLORS = {2: ("#BBBBBB", "#E69F00", "#0072B2"),
                    3: ("#BBBBBB", "#E69F00", "#0072B2", "#009E73", "#CC79A7")}
OTHER_COLOR = "white"
RATIO_LABEL = "relative importance r of the extra feature (log scale)"


def _log_edges(values: np.ndarray) -> np.ndarray:
    """Cell edges for a log-spaced grid: geometric midpoints, extended by half a step at both ends."""
    v = np.log(np.asarray(values, dtype=float))
    if len(v) == 1:
        return np.exp(v[0] + np.array([-0.5, 0.5]))
    mid = (v[1:] + v[:-1]) / 2
    return np.exp(np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]]))


def _phase_categories(n_features: int, view: str) -> tuple[list[str], list[str]]:
    """(names, colours) of the categories a map shows: the 3 phases, or the candidates (+ triangle for 3 -> 2)."""
    if view == "phase":
        return list(PHASES), list(PHASE_COLORS)
    names = list(CANDIDATES[n_features]) + ([TRIANGLE_NAME] if n_features == 3 else [])
    return names, list(CANDIDATE_COLORS[n_features])


def _phase_view(diagram: PhaseDiagram, view: str | None) -> str:
    view = ("phase" if diagram.n_features == 2 else "candidate") if view is None else view
    if view not in ("phase", "candidate"):
        raise ValueError(f"view must be 'phase', 'candidate' or None, got {view!r}")
    return view


@functools.lru_cache(maxsize=16)
def _boundary_lines(n_features: int, r_lo: float, r_hi: float, p_lo: float, p_hi: float,
                    resolution: int = 200) -> list[np.ndarray]:
    """The analytic phase boundaries (where the best closed-form candidate changes) as [k, 2] (r, p) polylines.

    Traced once per range with contourpy (matplotlib's own contour engine) and cached, so that an
    explorer redraw only draws them.
    """
    import contourpy

    rr = np.geomspace(r_lo, r_hi, resolution)
    pp = np.minimum(np.geomspace(p_lo, p_hi, resolution), 1.0)
    best = theoretical_candidate(n_features, rr[None, :], pp[:, None])  # [p, r]
    lines = []
    for c in range(len(CANDIDATES[n_features])):
        if (best == c).any() and not (best == c).all():
            gen = contourpy.contour_generator(rr, pp, (best == c).astype(float))
            lines += [np.asarray(line) for line in gen.lines(0.5)]
    return lines


def _draw_boundaries(ax: Axes, n_features: int, r: np.ndarray, p: np.ndarray) -> None:
    """The analytic phase boundaries as black lines, over the whole map (to the cells' outer edges)."""
    re, pe = _log_edges(r), _log_edges(p)
    for line in _boundary_lines(n_features, float(re[0]), float(re[-1]), float(pe[0]), min(float(pe[-1]), 1.0)):
        ax.plot(line[:, 0], line[:, 1], color="black", lw=1.2, gid="boundary")


@styled
def plot_phase_map(
    diagram: PhaseDiagram, which: str = "empirical", ax: Axes | None = None, *, view: str | None = None,
    mark: tuple[int, int] | None = None, boundaries: bool = True, legend: bool = True, title: str | None = None,
) -> Figure:
    """One phase map of a PhaseDiagram (experiments.phase_diagram), log-log: x = relative importance r, y = density p.

    which: "empirical" (the trained models, classified by phase.classify_phase / classify_candidate) or
    "theory" (the best closed-form candidate).  view: "phase" (3 phases of the extra feature; the
    default for 2 -> 1) or "candidate" (which solution; the default for 3 -> 2).  The analytic
    boundaries are drawn as black lines; mark=(i, j) circles grid point (ratio[i], density[j]).
    """
    if which not in ("empirical", "theory"):
        raise ValueError(f"which must be 'empirical' or 'theory', got {which!r}")
    view = _phase_view(diagram, view)
    n = diagram.n_features
    names, colors = _phase_categories(n, view)
    if which == "empirical":
        grid = diagram.phase if view == "phase" else diagram.candidate
    else:
        grid = diagram.theory_phase if view == "phase" else diagram.theory_candidate
    codes = np.asarray(grid, dtype=int).T  # [p, r]
    shown = np.where(codes == OTHER, len(names), codes)
    r, p = np.asarray(diagram.ratio, dtype=float), np.asarray(diagram.density, dtype=float)
    fig, ax = fig_ax(ax, (4.4, 3.8))
    cmap = ListedColormap([*colors, OTHER_COLOR])
    ax.pcolormesh(_log_edges(r), _log_edges(p), shown, cmap=cmap, vmin=-0.5, vmax=len(names) + 0.5,
                  edgecolors="face", linewidth=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    # decades only, as plain text: minor log ticks and mathtext labels would double the explorer's redraw time
    for axis, values in ((ax.xaxis, r), (ax.yaxis, p)):
        lo, hi = int(np.floor(np.log10(values.min()))), int(np.ceil(np.log10(values.max())))
        decades = [10.0**e for e in range(lo, hi + 1)]
        axis.set_ticks(decades, [f"{v:g}" for v in decades])
        axis.set_minor_locator(NullLocator())
    if boundaries:
        _draw_boundaries(ax, n, r, p)
    if mark is not None:
        ax.plot([r[mark[0]]], [p[mark[1]]], marker="o", ms=11, mfc="none", mec="black", mew=2, gid="mark")
    ax.set_xlabel(RATIO_LABEL)
    ax.set_ylabel(P_AXIS_LABEL)
    what = "trained models" if which == "empirical" else "theory: the best closed-form candidate"
    ax.set_title(f"{what}, {n} features → {n - 1} hidden" if title is None else title)
    if legend:
        present = set(np.unique(codes).tolist())
        always = len(names) if view == "phase" else len(CANDIDATES[n])  # the triangle only when it occurs
        handles = [Patch(facecolor=colors[c], edgecolor="0.5", label=names[c]) for c in range(len(names))
                   if c < always or c in present]
        if OTHER in present:
            handles.append(Patch(facecolor=OTHER_COLOR, edgecolor="0.5", label="none of these"))
        if boundaries:
            handles.append(plt.Line2D([], [], color="black", lw=1.2, label="analytic boundary"))
        legend_below(ax, handles, ncol=2, drop_points=34)
    return fig


@styled
def plot_phase_diagram(
    diagram: PhaseDiagram, *, view: str | None = None, mark: tuple[int, int] | None = None
) -> Figure:
    """The paper's phase diagram, trained (left) beside theory (right), with the analytic boundaries on both."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 5.2), layout="constrained")
    for ax, which in zip(axes, ("empirical", "theory")):
        plot_phase_map(diagram, which, ax=ax, view=view, mark=mark)
    n = diagram.n_features
    fig.suptitle(f"ReLU output, {n} features → {n - 1} hidden; extra feature: importance r (the others 1); "
                 f"{len(diagram.ratio)} × {len(diagram.density)} grid")
    return fig


@styled
def plot_candidate_losses(
    diagram: PhaseDiagram, i: int, j: int, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Bars: each candidate's closed-form loss at grid point (ratio[i], density[j]) on a log axis, the best outlined;
    a dashed line: the trained model's loss."""
    n = diagram.n_features
    names = list(CANDIDATES[n])
    losses = np.asarray(diagram.candidate_loss[i, j], dtype=float)
    fig, ax = fig_ax(ax, (4.2, 3.2))
    colors = CANDIDATE_COLORS[n][: len(names)]
    best = int(np.argmin(losses))
    bars = ax.barh(range(len(names)), losses, color=colors, edgecolor=["black" if c == best else "none"
                                                                        for c in range(len(names))], linewidth=1.5)
    for c, bar in enumerate(bars):
        bar.set_gid(f"candidate-{c}")
    trained = float(diagram.loss[i, j])
    ax.axvline(trained, color="black", ls="--", lw=1.2, label=f"trained model: {trained:.3g}", gid="trained")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xscale("log")  # the candidates' losses differ by orders of magnitude
    ax.set_xlabel("expected loss (log scale)")
    lo, hi = min(float(losses.min()), trained), max(float(losses.max()), trained)
    ax.set_xlim(lo / 4, hi * 3)
    decades = [10.0**e for e in range(int(np.ceil(np.log10(lo / 4))), int(np.floor(np.log10(hi * 3))) + 1)]
    ax.set_xticks(decades, [f"{v:g}" for v in decades])  # plain text: mathtext labels are slow to draw
    ax.xaxis.set_minor_locator(NullLocator())
    ax.legend(loc="lower right")
    ax.set_title("closed-form loss of each candidate" if title is None else title)
    return fig


@styled
def plot_weights_1d(
    W: Any, ax: Axes | None = None, title: str | None = None, labels: Sequence[str] | None = None
) -> Figure:
    """2 -> 1: each feature's weight W_i as a point on the single hidden axis (antipodal = opposite sides)."""
    w = np.asarray(torch.as_tensor(W, dtype=torch.float32).reshape(-1))
    fig, ax = fig_ax(ax, (4.2, 2.0))
    labels = list(labels) if labels is not None else [f"feature {i}" for i in range(len(w))]
    lim = max(1.3, 1.2 * float(np.abs(w).max(initial=0.0)))
    ax.axhline(0, color="0.6", lw=1, zorder=0)
    ax.axvspan(-REPRESENTED_THRESHOLD, REPRESENTED_THRESHOLD, color="0.93", zorder=0, label="|W_i| <= 0.5")
    colors, _ = feature_colors(len(w), None)  # by feature index, as in the 2-D embeddings
    for i, x in enumerate(w):
        y = 0.25 * (1 if i % 2 == 0 else -1)
        ax.annotate("", (x, 0), xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": colors[i], "lw": 2})
        ax.plot([x], [0], "o", color=colors[i], gid=f"feature-{i}")
        ax.text(x, y, f"{labels[i]}\nW_{i} = {x:.2f}", ha="center", va="center", fontsize=8, color=colors[i])
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-0.6, 0.6)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("the hidden dimension")
    ax.set_title("trained weights on the hidden line" if title is None else title)
    return fig


@styled
def plot_loss_slice(diagram: PhaseDiagram, i: int, ax: Axes | None = None) -> Figure:
    """One row of the diagram: every candidate's closed-form loss against p at ratio[i] (lines), the trained
    models' losses (dots), and the analytic phase changes (dotted verticals, where the best candidate switches)."""
    n = diagram.n_features
    r = float(diagram.ratio[i])
    p_data = np.asarray(diagram.density, dtype=float)
    pp = np.geomspace(p_data.min(), p_data.max(), 400)
    L = candidate_losses(n, r, pp)  # [400, C]
    fig, ax = fig_ax(ax, (5.6, 3.8))
    for c, name in enumerate(CANDIDATES[n]):
        ax.plot(pp, L[:, c], color=CANDIDATE_COLORS[n][c], lw=2, label=name, gid=f"candidate-{c}")
    ax.plot(p_data, np.asarray(diagram.loss[i], dtype=float), "o", color="black", ms=4, label="trained (best of k)",
            gid="trained")
    best = L.argmin(1)
    for s in np.flatnonzero(np.diff(best)):
        ax.axvline(np.sqrt(pp[s] * pp[s + 1]), color="0.3", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(P_AXIS_LABEL)
    ax.set_ylabel("expected loss (log scale)")
    ax.set_title(f"ReLU output, {n} features → {n - 1} hidden, r = {r:.3g}:\n"
                 "candidates' closed forms and trained losses")
    ax.legend(loc="lower right")
    return fig
