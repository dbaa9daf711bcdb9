"""Figures for notebook 06, uniform superposition: D* against 1/(1-S), the D_i scatter and histogram
with the fraction lines of toymodel.geometry, the feature geometry graph (tegum factors) and 3-D polytopes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from typing import Any

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
import matplotlib.pyplot as plt
from mpl_toolkits.mplot3d import proj3d
import numpy as np
import torch

from ..geometry import EDGE_THRESHOLD, FRACTIONS, nearest_fraction, tegum_factors
from ..metrics import (
    REPRESENTED_THRESHOLD,
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
)
from ..sweeps import Sweep
from .base import MISSING, QUALITATIVE, check_index, dstar_guides, fig_ax, styled, sweep_config
from .model import plot_embeddings_3d

__all__ = ["plot_dstar_vs_sparsity", "plot_dimensionality_scatter", "plot_dimensionality_histogram",
           "plot_geometry_graph", "factor_summary", "plot_polytopes_3d"]


INV_DENSITY_LABEL = "1 / (1 - S) = 1 / p (log scale)"
FACTOR_SIZES = {"tetrahedron": 4, "triangle": 3, "antipodal pair": 2, "pentagon": 5,
                "square antiprism": 8}  # how many features each polytope has


def _inv_density_axis(ax: Axes) -> None:
    """Log x axis of 1/(1 - S) = 1/p: dense (1) on the left, sparse on the right, as in the paper."""
    ax.set_xscale("log")
    ax.set_xlabel(INV_DENSITY_LABEL)
    ax.annotate("sparser →", (1.0, 0.0), xycoords="axes fraction", xytext=(0, -16), textcoords="offset points",
                ha="right", va="top", fontsize=7, color="0.4")


def _highlight(ax: Axes, sweep: Sweep, instance: int | None) -> None:
    if instance is not None:
        check_index(instance, len(sweep))
        ax.axvline(1.0 / float(sweep.density[instance]), color=QUALITATIVE[1], lw=6, alpha=0.25, zorder=0)


@styled
def plot_dstar_vs_sparsity(sweep: Sweep, ax: Axes | None = None, highlight: int | None = None) -> Figure:
    """The paper's D* = m / ||W||_F^2 against 1/(1 - S), log x; dotted plateaus at 1 and 1/2.

    highlight: an instance to mark with a vertical band (the explorer's current model).
    """
    inv = 1.0 / sweep.density.numpy()
    order = np.argsort(inv)
    dstar = dimensions_per_feature(sweep.W).numpy()
    fig, ax = fig_ax(ax, (5.2, 3.4))
    dstar_guides(ax)
    ax.plot(inv[order], dstar[order], color=QUALITATIVE[0], marker="o", ms=4, lw=1.5, label=r"$D^*$")
    _highlight(ax, sweep, highlight)
    _inv_density_axis(ax)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel(r"dimensions per feature $D^* = m/\|W\|_F^2$")
    ax.set_title(f"{sweep_config(sweep)}, all $I_i = 1$:\n$D^*$ sticks at 1 and at 1/2")
    return fig


@styled
def plot_dimensionality_scatter(sweep: Sweep, ax: Axes | None = None, highlight: int | None = None,
                                tol: float = 0.02) -> Figure:
    """D_i of every represented feature (||W_i|| > 0.5) against 1/(1 - S), over D* (the paper's scatter).

    Fraction lines labelled by polytope (3/4 tetrahedron, 2/3 triangle, 1/2 antipodal pair, 2/5 pentagon,
    3/8 square antiprism); dots within tol of a line are blue, the rest grey.
    """
    inv = 1.0 / sweep.density.numpy()
    order = np.argsort(inv)
    Di = feature_dimensionality(sweep.W).numpy()
    kept = feature_norms(sweep.W).numpy() > REPRESENTED_THRESHOLD
    fig, ax = fig_ax(ax, (6.2, 3.8))
    for value, label, name in FRACTIONS:
        if value in (0.0, 1.0):
            continue
        ax.axhline(value, color="0.6", ls=":", lw=0.8, zorder=0)
        nudge = {0.4: 2, 0.375: -2}.get(round(value, 3), 0)  # 2/5 and 3/8 lie close: spread their labels
        ax.annotate(f"{label} {name}", (1.0, value), xycoords=("axes fraction", "data"), xytext=(3, nudge),
                    textcoords="offset points", va="bottom" if nudge > 0 else ("top" if nudge < 0 else "center"),
                    fontsize=7, color="0.3")
    xs = np.repeat(inv[:, None], Di.shape[1], axis=1)[kept]
    d = Di[kept]
    on = nearest_fraction(d)[1] <= tol
    jitter = np.exp(np.random.default_rng(0).uniform(-0.04, 0.04, size=len(d)))  # fixed seed: same picture
    ax.scatter(xs[~on] * jitter[~on], d[~on], s=7, color=MISSING, lw=0, label="$D_i$, off the lines")
    ax.scatter(xs[on] * jitter[on], d[on], s=9, color=QUALITATIVE[0], lw=0, alpha=0.7,
               label=f"$D_i$ within {tol:g} of a fraction")
    ax.plot(inv[order], dimensions_per_feature(sweep.W).numpy()[order], color="0.15", lw=1.2,
            label=r"$D^* = m/\|W\|_F^2$")
    _highlight(ax, sweep, highlight)
    _inv_density_axis(ax)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel(r"feature dimensionality $D_i$")
    ax.set_title(f"{sweep_config(sweep)}, all $I_i = 1$:\n$D_i$ of represented features ($\\|W_i\\| > 0.5$)")
    ax.legend(loc="upper right", fontsize=7, markerscale=1.5)
    return fig


@styled
def plot_dimensionality_histogram(sweep: Sweep, instance: int, ax: Axes | None = None, tol: float = 0.02) -> Figure:
    """Histogram of one model's D_i (represented features), with the fraction lines as labelled vertical guides."""
    check_index(instance, len(sweep))
    Di = feature_dimensionality(sweep.W[instance]).numpy()[0]
    kept = feature_norms(sweep.W[instance]).numpy()[0] > REPRESENTED_THRESHOLD
    fig, ax = fig_ax(ax, (4.4, 3.2))
    d = Di[kept]
    on = nearest_fraction(d)[1] <= tol if d.size else np.zeros(0, bool)
    bins = np.arange(-0.01, 1.11, 0.02)  # centred on 0, 0.02, ...: 3/8, 2/5 and 1/2 fall in separate bins
    n_on, n_off = np.histogram(d[on], bins)[0], np.histogram(d[~on], bins)[0]
    ax.stairs(n_on, bins, fill=True, color=QUALITATIVE[0], label=f"within {tol:g} of a fraction")
    ax.stairs(n_on + n_off, bins, baseline=n_on, fill=True, color=MISSING, label="off the lines")
    for j, (value, label, _) in enumerate(v for v in FRACTIONS if 0 < v[0] < 1):
        ax.axvline(value, color="0.45", ls=":", lw=0.8, zorder=0)
        ax.annotate(label, (value, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 1 + 8 * (j % 2)),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7, color="0.3")
    ax.set_xlabel(r"feature dimensionality $D_i$")
    ax.set_ylabel("represented features")
    ax.set_title(f"{int(kept.sum())} represented features", pad=20)
    ax.legend(loc="upper right", fontsize=7)
    return fig


def _factor_name(size: int, D: np.ndarray, tol: float = 0.03) -> str:
    """A factor's polytope name when its size and median D_i both match one (e.g. 5 features at 2/5: pentagon)."""
    for value, _, name in FRACTIONS:
        if FACTOR_SIZES.get(name) == size and abs(float(np.median(D)) - value) <= tol:
            return name
    return "alone" if size == 1 else f"{size}-feature factor"


def factor_summary(W: Any, edge_threshold: float = EDGE_THRESHOLD, max_kinds: int = 4) -> str:
    """The tegum factors of one model in words, most frequent first, e.g. '21 antipodal pairs, 3 pentagons'.

    A factor is named by its polytope only when its size and its features' median D_i both match (a factor
    of 2 whose D_i is 0.4, not 1/2, is a "2-feature factor": it overlaps weakly with features outside it).
    At most max_kinds kinds are listed; the rest are counted ("and 3 more factors").
    """
    w = torch.as_tensor(W).detach().float().cpu()
    D = feature_dimensionality(w)[0].numpy()
    names = [_factor_name(len(f), D[f]) for f in tegum_factors(w, edge_threshold)]
    if not names:
        return "no represented feature"
    counts = sorted({n: names.count(n) for n in names}.items(), key=lambda kv: (-kv[1], kv[0]))
    words = []
    for name, count in counts[:max_kinds]:
        if name == "alone":
            name = "feature alone" if count == 1 else "features alone"
        elif count > 1:
            name = "antipodal pairs" if name == "antipodal pair" else name + "s"
        words.append(f"{count} {name}")
    rest = sum(count for _, count in counts[max_kinds:])
    if rest:
        words.append(f"and {rest} more factor{'s' if rest > 1 else ''}")
    return ", ".join(words)


@styled
def plot_geometry_graph(W: Any, ax: Axes | None = None, title: str | None = None,
                        edge_threshold: float = EDGE_THRESHOLD, max_factors: int = 40) -> Figure:
    """The paper's feature geometry graph of one model: a node per represented feature, an edge where
    |W_i . W_j| > edge_threshold (width and darkness grow with |W_i . W_j|).

    Each connected component (tegum factor) is drawn as a ring in its own cell, smallest factors first.
    W: [n_features, n_hidden] (one instance).  At most max_factors cells are drawn.
    """
    w = torch.as_tensor(W).detach().float().cpu()
    if w.ndim == 3 and w.shape[0] == 1:
        w = w[0]
    if w.ndim != 2:
        raise ValueError(f"W must have shape [n_features, n_hidden] (one instance), got {tuple(w.shape)}")
    factors = sorted(tegum_factors(w, edge_threshold), key=lambda f: (len(f), f[0]))
    shown = factors[:max_factors]
    ncol = max(1, min(10, len(shown)))
    fig, ax = fig_ax(ax, (6.2, 0.8 + 0.66 * math.ceil(len(shown) / ncol)))
    G = (w @ w.T).abs().numpy()
    segments, strength, points = [], [], []
    for c, factor in enumerate(shown):
        cx, cy = 3.0 * (c % ncol), -3.2 * (c // ncol)  # unit-radius rings, with room between cells
        k = len(factor)
        angle = np.pi / 2 + 2 * np.pi * np.arange(k) / k
        radius = 0.0 if k == 1 else 1.0
        xy = np.stack([cx + radius * np.cos(angle), cy + radius * np.sin(angle)], 1)
        a, b = np.triu_indices(k, 1)
        g = np.minimum(G[np.ix_(factor, factor)][a, b], 1.0)
        edge = g > edge_threshold
        segments.append(np.stack([xy[a[edge]], xy[b[edge]]], 1))
        strength.append(g[edge])
        points.append(xy)
    g = np.concatenate(strength) if strength else np.zeros(0)
    if g.size:  # one collection for all edges: a 300-feature factor has tens of thousands
        ax.add_collection(LineCollection(np.concatenate(segments), colors=[str(0.7 - 0.6 * v) for v in g],
                                         linewidths=0.3 + 2.0 * g ** 2, zorder=1))
    if points:
        ax.scatter(*np.concatenate(points).T, s=16 if len(g) < 2000 else 4, color=QUALITATIVE[0], zorder=2, lw=0)
    ax.set_aspect("equal")
    ax.axis("off")
    more = f" (first {max_factors} of {len(factors)} factors)" if len(factors) > max_factors else ""
    ax.set_title((f"feature geometry graph: {factor_summary(w, edge_threshold)}" if title is None else title) + more)
    return fig


@styled
def plot_polytopes_3d(models: Mapping[str, Any],
                      views: Sequence[tuple[float, float]] = ((22.0, 35.0), (65.0, -60.0)),
                      edges: bool = True) -> Figure:
    """3-D embeddings of several small models (n_hidden = 3), one column per model, one row per view (elev, azim).

    models: {panel title: W [n_features, 3]}.  Each panel is plot_embeddings_3d; with edges, thin grey lines join
    the tips of represented features whose angle is at most 1.2 x the smallest angle in that model (the
    polytope's edges: for an octahedron every 90-degree pair, for a square antiprism its 16 edges).
    """
    if not models:
        raise ValueError("models must be a non-empty dict {title: W [n_features, 3]}")
    fig = plt.figure(figsize=(2.6 * len(models), 2.6 * len(views)), layout="constrained")
    for r, (elev, azim) in enumerate(views):
        for c, (name, W) in enumerate(models.items()):
            ax = fig.add_subplot(len(views), len(models), r * len(models) + c + 1, projection="3d")
            w = torch.as_tensor(W).detach().float().cpu()
            plot_embeddings_3d(w, ax=ax, title=name if r == 0 else f"{name}, turned", elev=elev, azim=azim)
            if edges:
                _polytope_edges(ax, w[w.norm(dim=1) > REPRESENTED_THRESHOLD].numpy())
            _spread_labels(ax, w.numpy(), elev, azim)
    return fig


def _spread_labels(ax: Axes, w: np.ndarray, elev: float, azim: float) -> None:
    """Move the feature-number labels of plot_embeddings_3d off each other, the feature lines and the edges.

    Each label goes to the free spot nearest its tip (preferring outward), searched in the screen plane of
    the view (elev, azim): 4 distances x 16 directions, greedily, label after label, scored on the axes' own
    projection.  The labels get a white halo, so a line that still passes behind one does not hide it.
    w: [n_features, 3], all features (short ones are lines too).
    """
    labels = [t for t in ax.texts if t.get_text().isdigit() and int(t.get_text()) < len(w)]
    if not labels:
        return
    e, a = math.radians(elev), math.radians(azim)
    right = np.array([-math.sin(a), math.cos(a), 0.0])  # the screen's x and y directions in data coordinates
    up = np.array([-math.sin(e) * math.cos(a), -math.sin(e) * math.sin(a), math.cos(e)])
    M = ax.get_proj()

    def project(points: np.ndarray) -> np.ndarray:
        """[k, 3] data points -> [k, 2] positions on the axes' projection plane."""
        x, y, _ = proj3d.proj_transform(points[:, 0], points[:, 1], points[:, 2], M)
        return np.stack([x, y], 1)

    unit = float(np.linalg.norm(project(right[None, :]) - project(np.zeros((1, 3)))))  # one data unit there

    def screen(points: np.ndarray) -> np.ndarray:
        """Projected positions in data units (at the origin's depth), so that sizes below read as data units."""
        return project(points) / unit

    origin = screen(np.zeros((1, 3)))[0]
    tips = screen(w)
    kept = np.linalg.norm(w, axis=1) > REPRESENTED_THRESHOLD
    u = w[kept] / np.linalg.norm(w[kept], axis=1, keepdims=True)
    angle = np.arccos(np.clip(u @ u.T, -1.0, 1.0))
    i_e, j_e = np.triu_indices(len(u), 1)
    close = angle[i_e, j_e] <= angle[i_e, j_e].min() * 1.2 if len(u) >= 3 else np.zeros(0, bool)
    kept_tips = tips[kept]
    # sizes in data units, for the 2.6-inch panels of plot_polytopes_3d (1 unit is about 0.5 inch there, a
    # label about 0.15 x 0.17): room kept free around feature lines and edges, tip markers, other labels
    segments = [(origin, tips[j], 0.14) for j in range(len(w))]  # feature lines
    segments += [(kept_tips[i], kept_tips[j], 0.08) for i, j in zip(i_e[close], j_e[close])]  # polytope edges
    theta = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
    step = np.stack([np.cos(theta), np.sin(theta)], 1)
    radii = (0.18, 0.26, 0.36, 0.48, 0.6)
    cand_dir, cand_r = np.tile(step, (len(radii), 1)), np.repeat(radii, len(step))

    def seg_dist(c: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Distance of points c [k, 2] from the segment p -> q."""
        d = q - p
        t = np.clip(((c - p) @ d) / max(float(d @ d), 1e-12), 0.0, 1.0)
        return np.linalg.norm(c - p - t[:, None] * d, axis=1)

    placed: list[np.ndarray] = []
    for text in labels:
        i = int(text.get_text())
        pos3 = w[i][None, :] + (cand_r[:, None] * cand_dir) @ np.stack([right, up])  # [64, 3] candidates
        c = screen(pos3)
        out = tips[i] - origin
        out = out / max(float(np.linalg.norm(out)), 1e-9)
        cost = 0.5 * cand_r + 0.15 * (1.0 - cand_dir @ out)  # near its tip, outward
        for q in placed:  # other labels: centres at least 0.24 apart
            cost += 10.0 * np.maximum(0.0, 0.24 - np.linalg.norm(c - q, axis=1))
        for p, q, room in segments:
            cost += 10.0 * np.maximum(0.0, room - seg_dist(c, p, q))
        cost += 10.0 * np.maximum(0.0, 0.14 - np.linalg.norm(c[:, None] - tips[None], axis=2)).sum(1)  # markers
        best = int(np.argmin(cost))
        placed.append(c[best])
        text.set_position_3d(pos3[best])
        text.set_verticalalignment("center")
        text.set_path_effects([patheffects.withStroke(linewidth=2.5, foreground="white")])


def _polytope_edges(ax: Axes, w: np.ndarray, ratio: float = 1.2) -> None:
    """Join the tips of w's rows whose angle is at most `ratio` x the smallest angle between any two.

    1.2 keeps both edge lengths of the square antiprism (71.7 and 80.1 degrees) and drops its diagonals (111.7)."""
    if len(w) < 3:
        return
    u = w / np.linalg.norm(w, axis=1, keepdims=True)
    angle = np.degrees(np.arccos(np.clip(u @ u.T, -1.0, 1.0)))
    i, j = np.triu_indices(len(w), 1)
    close = angle[i, j] <= angle[i, j].min() * ratio
    for a, b in zip(i[close], j[close]):
        ax.plot(*np.stack([w[a], w[b]]).T, color="0.55", lw=0.8, zorder=0, gid="edge")
