"""Figures of one model (notebooks 01-04): feature directions in 2-D and 3-D, W^T W, the cosine interference
matrix, the norm bars, and the importance profile.

Each takes a ToyModel, a Sweep (then titles also name p, S and the importance) or a weight tensor W
([n_instances, n_features, n_hidden] or [n_features, n_hidden]), plus `instance=k`.
"""

from __future__ import annotations

from typing import Any

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch
from matplotlib.ticker import FixedLocator
import numpy as np
import torch

from ..metrics import REPRESENTED_THRESHOLD, compute_feature_interference, feature_norms, superposition
from .base import (
    DIVERGING,
    MISSING,
    NORM_LABEL,
    SEQUENTIAL,
    SUPERPOSITION_LABEL,
    ModelLike,
    feature_colors,
    feature_ticks,
    fig_ax,
    legend_below,
    resolve_instance,
    styled,
)

__all__ = [
    "plot_feature_embeddings_2d", "plot_embeddings_3d", "plot_interference_matrix", "plot_wtw", "plot_feature_norms",
    "plot_importance",
]


@styled
def plot_feature_embeddings_2d(
    model_or_W: ModelLike,
    instance: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
    importance: Any = None,
    *,
    density: float | None = None,
    colorbar: bool = True,
) -> Figure:
    """The paper's picture: each feature's direction W_i as a line from the origin of the 2-D hidden space.

    One Line2D per feature (its gid is "feature-i", data [0, W_i0], [0, W_i1]), coloured by
    importance (darker = more important; by feature index if no importance is known), labelled
    with i at its tip; the unit circle is drawn faintly; features with ||W_i|| <= 0.5 are listed
    as not represented.  Raises ValueError unless n_hidden = 2.
    """
    one = resolve_instance(model_or_W, instance, importance, density)
    if one.n_hidden != 2:
        raise ValueError(
            f"plot_feature_embeddings_2d needs n_hidden = 2, got n_hidden = {one.n_hidden} "
            "(use plot_embeddings_3d for 3, plot_wtw or plot_feature_norms otherwise)"
        )
    fig, ax = fig_ax(ax, (4.2, 3.6))
    colors, mappable = feature_colors(one.n_features, one.importance)
    norms = np.linalg.norm(one.W, axis=1)
    ax.add_patch(Circle((0, 0), 1.0, fill=False, ls=":", lw=0.8, ec="0.6", zorder=0))
    for i, (x, y) in enumerate(one.W):
        ax.plot([0.0, x], [0.0, y], color=colors[i], lw=2, marker="o", markevery=[1], ms=4,
                solid_capstyle="round", label=f"feature {i}", gid=f"feature-{i}")
        if norms[i] > REPRESENTED_THRESHOLD:
            ux, uy = x / norms[i], y / norms[i]
            ax.annotate(str(i), (x, y), xytext=(9 * ux, 9 * uy), textcoords="offset points",
                        ha="center", va="center", fontsize=8, color=colors[i], fontweight="bold")
    lim = max(1.35, 1.25 * float(norms.max(initial=0.0)))  # room for the labels at the tips
    dropped = [str(i) for i in range(one.n_features) if norms[i] <= REPRESENTED_THRESHOLD]
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-1.2 * lim if dropped else -lim, lim)  # a band below every label for the corner note
    ax.set_aspect("equal")
    ax.set_xlabel("hidden dimension 1")
    ax.set_ylabel("hidden dimension 2")
    if dropped:
        ax.text(0.02, 0.02, "not represented: " + ", ".join(dropped), transform=ax.transAxes,
                fontsize=7, color="0.35", va="bottom")
    ax.set_title(one.title() if title is None else title)
    if colorbar and mappable is not None:
        fig.colorbar(mappable, ax=ax, shrink=0.8, label="importance $I_i$")
    return fig


@styled
def plot_embeddings_3d(
    model_or_W: ModelLike,
    instance: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
    importance: Any = None,
    *,
    density: float | None = None,
    elev: float = 22.0,
    azim: float = 35.0,
) -> Figure:
    """Each feature's W_i as a line from the origin of the 3-D hidden space (n_hidden = 3).

    Colours and labels as in plot_feature_embeddings_2d; faint grey lines are the hidden axes.
    `ax` must be a 3-D axes (fig.add_subplot(projection="3d")).  Raises ValueError unless n_hidden = 3.
    """
    one = resolve_instance(model_or_W, instance, importance, density)
    if one.n_hidden != 3:
        raise ValueError(f"plot_embeddings_3d needs n_hidden = 3, got n_hidden = {one.n_hidden}")
    if ax is not None and ax.name != "3d":
        raise ValueError("ax must be a 3-D axes: fig.add_subplot(projection='3d')")
    fig, ax = fig_ax(ax, (4.4, 4.0), projection="3d")
    colors, _ = feature_colors(one.n_features, one.importance)
    norms = np.linalg.norm(one.W, axis=1)
    lim = max(1.1, 1.1 * float(norms.max(initial=0.0)))
    for d in range(3):
        seg = np.zeros((3, 2))
        seg[d] = (-lim, lim)
        ax.plot(*seg, color="0.75", lw=0.7, gid="axis")
    for i, w in enumerate(one.W):
        ax.plot([0, w[0]], [0, w[1]], [0, w[2]], color=colors[i], lw=2.2, marker="o", markevery=[1], ms=4,
                label=f"feature {i}", gid=f"feature-{i}")
        if norms[i] > REPRESENTED_THRESHOLD:
            t = w * (1 + 0.15 / norms[i])
            ax.text(t[0], t[1], t[2], str(i), color=colors[i], fontsize=8, fontweight="bold", ha="center")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), zlim=(-lim, lim))
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=elev, azim=azim)
    ax.set_xlabel("hidden 1", labelpad=-6)
    ax.set_ylabel("hidden 2", labelpad=-6)
    ax.set_zlabel("hidden 3", labelpad=-6)
    ticks = [-1.0, 0.0, 1.0]
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(FixedLocator(ticks))
    ax.tick_params(labelsize=7, pad=-2)
    ax.set_title(one.title() if title is None else title)
    return fig


def _matrix_axes(ax: Axes, n: int) -> None:
    """An n x n feature-by-feature heatmap's axes: feature ticks, labels, no frame."""
    feature_ticks(ax, n)
    ax.set_xlabel("feature j")
    ax.set_ylabel("feature i")
    ax.spines[:].set_visible(False)


def _feature_bars(ax: Axes, values: np.ndarray, colors: Any, left: float = 0.0) -> None:
    """One horizontal bar per feature, feature 0 at the top, each from `left` to its value."""
    n = len(values)
    ax.barh(np.arange(n), values - left, left=left, color=colors, edgecolor="0.3", linewidth=0.5, height=0.8)
    ax.set_ylim(n - 0.5, -0.5)
    feature_ticks(ax, n, "y")
    ax.set_ylabel("feature i")


def _annotate_cells(ax: Axes, M: np.ndarray, vmax: float) -> None:
    for (i, j), v in np.ndenumerate(np.ma.filled(M, np.nan)):
        if np.isnan(v):
            continue
        ax.text(j, i, f"{v:.2f}".replace("-0.00", "0.00"), ha="center", va="center", fontsize=7,
                color="white" if abs(v) > 0.6 * vmax else "0.15")


@styled
def plot_interference_matrix(
    model_or_W: ModelLike,
    instance: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
    *,
    density: float | None = None,
    annotate: bool | None = None,
    colorbar: bool = True,
    gate: bool = True,
    legend: bool = True,
) -> Figure:
    """Cosine similarity W^_i . W^_j (compute_feature_interference) as a heatmap, colours fixed to [-1, 1].

    Red = same direction, blue = opposite (antipodal), white = orthogonal.  With gate=True the rows
    and columns of features that are not represented (||W_i|| <= 0.5) are grey: their direction is
    noise.  Cells carry their value when n_features <= 8 (annotate=None).
    """
    one = resolve_instance(model_or_W, instance, density=density)
    C = compute_feature_interference(one.W3)[0].numpy()
    kept = np.linalg.norm(one.W, axis=1) > REPRESENTED_THRESHOLD
    hidden = ~(kept[:, None] & kept[None, :]) if gate else np.zeros_like(C, dtype=bool)
    fig, ax = fig_ax(ax, (4.4, 3.8))
    cmap = colormaps[DIVERGING].with_extremes(bad=MISSING)
    im = ax.imshow(np.ma.masked_array(C, mask=hidden), cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    if annotate or (annotate is None and one.n_features <= 8):
        _annotate_cells(ax, np.ma.masked_array(C, mask=hidden), 1.0)
    if legend and hidden.any():
        legend_below(ax, [Patch(fc=MISSING, label=f"not represented ({NORM_LABEL} ≤ 0.5)")], ncol=1)
    _matrix_axes(ax, one.n_features)
    ax.set_title(one.title().replace(" neurons, ", " neurons\n", 1) if title is None else title)
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.85, label=r"cosine $\hat W_i\cdot\hat W_j$")
    return fig


@styled
def plot_wtw(
    model_or_W: ModelLike,
    instance: int = 0,
    ax: Axes | None = None,
    bias: bool = True,
    title: str | None = None,
    *,
    density: float | None = None,
    colorbar: bool = True,
) -> Figure:
    """The paper's W^T W (n x n; W @ W.T in our [n_features, n_hidden] storage), and the bias b beside it.

    Diagonal = ||W_i||^2, off-diagonal = W_i . W_j (interference).  Diverging colours with a range
    symmetric about 0 shared by both panels; b is drawn (as a column) when a ToyModel or Sweep is given.
    """
    one = resolve_instance(model_or_W, instance, density=density)
    M = one.W @ one.W.T
    show_b = bias and one.b is not None
    vmax = float(np.abs(M).max(initial=0.0))
    if show_b:
        vmax = max(vmax, float(np.abs(one.b).max(initial=0.0)))
    vmax = vmax if vmax > 0 else 1.0
    n = one.n_features
    fig, ax = fig_ax(ax, (4.6, 3.6))
    im = ax.imshow(M, cmap=DIVERGING, vmin=-vmax, vmax=vmax, interpolation="nearest")
    _matrix_axes(ax, n)
    x0 = 1.0
    if show_b:
        w = max(1.0 / n, 0.06)
        bax = ax.inset_axes([x0 + 0.04, 0.0, w, 1.0])
        bax.imshow(one.b[:, None], cmap=DIVERGING, vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
        bax.set_xticks([0], ["b"])
        bax.set_yticks([])
        bax.spines[:].set_visible(False)
        bax.set_gid("bias")
        x0 += 0.04 + w
    if colorbar:
        cax = ax.inset_axes([x0 + 0.06, 0.0, 0.05, 1.0])
        fig.colorbar(im, cax=cax)
    ax.set_title((one.title() if title is None else title) + ("\n" if title is None else ""), loc="center")
    if title is None:
        ax.text(0.5, 1.02, r"$W^TW$" + (" and bias $b$" if show_b else ""), transform=ax.transAxes,
                ha="center", va="bottom", fontsize=8, color="0.3")
    return fig


@styled
def plot_feature_norms(
    model_or_W: ModelLike,
    instance: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
    *,
    density: float | None = None,
    colorbar: bool = True,
    legend: bool = True,
) -> Figure:
    """The paper's bar picture: ||W_i|| per feature (feature 0 at the top) as horizontal bars.

    Bar colour = superposition of feature i on a fixed 0..1 viridis scale (dark = has a dimension to
    itself, bright = shares it; >= 1 saturates); features with ||W_i|| <= 0.5 are not represented,
    their superposition is meaningless and their bars are grey.  Dashed line: the 0.5 cut.
    """
    one = resolve_instance(model_or_W, instance, density=density)
    norms = feature_norms(one.W3)[0].numpy()
    sup = superposition(one.W3)[0].numpy()
    cmap, norm = colormaps[SEQUENTIAL], Normalize(0.0, 1.0)
    colors = cmap(norm(np.clip(sup, 0.0, 1.0)))
    kept = norms > REPRESENTED_THRESHOLD
    colors[~kept] = (0.82, 0.82, 0.82, 1.0)
    n = one.n_features
    fig, ax = fig_ax(ax, (4.6, max(2.8, 1.4 + 0.2 * n)))
    _feature_bars(ax, norms, colors)
    ax.axvline(REPRESENTED_THRESHOLD, color="0.25", ls="--", lw=1,
               label=f"represented: {NORM_LABEL} > {REPRESENTED_THRESHOLD}")
    ax.set_xlim(0, max(1.15, 1.08 * float(norms.max(initial=0.0))))
    ax.set_xlabel(NORM_LABEL)
    ax.set_title(one.title() if title is None else title)
    if legend:
        handles = [ax.get_lines()[-1]]
        if not kept.all():
            handles.append(Patch(fc=MISSING, ec="0.3", lw=0.5, label="not represented"))
        legend_below(ax, handles)
    if colorbar:
        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, extend="max", shrink=0.9 if n <= 8 else 0.6,
                     label=SUPERPOSITION_LABEL)
    return fig


@styled
def plot_importance(importance: Any, ax: Axes | None = None, title: str | None = "importance profile", *,
                    log: bool = False) -> Figure:
    """Importance I_i per feature as horizontal bars (feature 0 at the top), coloured like the embeddings.

    log: a log x axis, so that a steep profile's smallest importances (e.g. 0.7^19 ~ 0.001) stay visible; the bars
    start at the axis' left edge (importances must then be positive)."""
    imp = np.asarray(torch.as_tensor(importance, dtype=torch.float32).cpu()).reshape(-1)
    n = imp.shape[0]
    if log and not (imp > 0).all():
        raise ValueError("plot_importance(log=True) needs every importance > 0")
    colors, _ = feature_colors(n, imp)
    fig, ax = fig_ax(ax, (3.0, max(2.2, 0.9 + 0.2 * n)))
    top = max(1.0, float(imp.max(initial=0.0)))
    if log:
        low = 10 ** np.floor(np.log10(float(imp.min())) - 1e-9)  # a power of ten below the smallest importance
        ax.set_xscale("log")
        _feature_bars(ax, imp, colors, left=low)
        ax.set_xlim(low, top * 1.5)
        ax.set_xlabel("importance $I_i$ (log scale)")
    else:
        _feature_bars(ax, imp, colors)
        ax.set_xlim(0, top * 1.05)
        ax.set_xlabel("importance $I_i$")
    if title:
        ax.set_title(title)
    return fig
