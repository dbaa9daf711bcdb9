"""Summaries of whole sweeps (notebooks 01-04): features represented and D* against density or width, the
feature dimensionalities D_i, superposition per feature, and the training curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from typing import Any

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
import numpy as np

from ..data import density_label
from ..geometry import FRACTIONS
from ..metrics import (
    REPRESENTED_THRESHOLD,
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    superposition,
)
from ..sweeps import AbsSweep, Sweep
from ..train import TrainResult
from .base import (
    FEATURE_CMAP,
    KIND_NAMES,
    MISSING,
    NORM_LABEL,
    QUALITATIVE,
    SEQUENTIAL,
    SUPERPOSITION_LABEL,
    density_axis,
    dstar_guides,
    feature_ticks,
    fig_ax,
    legend_below,
    styled,
    sweep_config,
)

__all__ = [
    "plot_represented_vs_density", "plot_dimensions_per_feature", "plot_feature_dimensionality",
    "plot_superposition_per_feature", "plot_training_curves",
]


def _as_sweeps(sweeps_or_sweep: Sweep | Sequence[Sweep] | Mapping[Any, Sweep]) -> tuple[list[Sweep], list[str] | None]:
    if isinstance(sweeps_or_sweep, Sweep):
        return [sweeps_or_sweep], None  # type: ignore[list-item]
    if isinstance(sweeps_or_sweep, Mapping):
        return list(sweeps_or_sweep.values()), [str(k) for k in sweeps_or_sweep]
    return list(sweeps_or_sweep), None  # type: ignore[arg-type]


@styled
def plot_represented_vs_density(
    sweeps_or_sweep: Sweep | Sequence[Sweep] | Mapping[str, Sweep],
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """How many features are represented (||W_i|| > 0.5) against the density p (log x, dense left).

    One line per sweep (e.g. ReLU output vs linear; a dict's keys become the labels); dotted lines
    at n_hidden (m) and n_features (n) of each sweep.
    """
    sweeps, keys = _as_sweeps(sweeps_or_sweep)
    labels = list(labels) if labels is not None else keys
    if labels is not None and len(labels) != len(sweeps):
        raise ValueError(f"got {len(sweeps)} sweeps but {len(labels)} labels")
    fig, ax = fig_ax(ax, (5.2, 3.4))
    guides: set[tuple[int, str]] = set()
    for s_i, sweep in enumerate(sweeps):
        order = np.argsort(-sweep.density.numpy())
        p = sweep.density.numpy()[order]
        n_rep = sweep.n_represented().numpy()[order]
        label = labels[s_i] if labels is not None else sweep_config(sweep)
        ax.plot(p, n_rep, marker="os^Dv"[s_i % 5], color=QUALITATIVE[s_i % len(QUALITATIVE)], lw=1.5, ms=4,
                label=label)
        guides.add((sweep.model.n_hidden, "m"))
        guides.add((sweep.model.n_features, "n"))
    for value, name in sorted(guides):
        ax.axhline(value, color="0.5", ls=":", lw=1, zorder=0)
        text = f"{name} = {value} hidden dims" if name == "m" else f"{name} = {value} features"
        ax.annotate(text, (0.0, value), xycoords=("axes fraction", "data"), xytext=(3, 2),
                    textcoords="offset points", fontsize=7, color="0.35", va="bottom")
    density_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(v for v, _ in guides) + 0.7)
    ax.set_ylabel(f"features represented ({NORM_LABEL} > 0.5)")
    sizes = {(s.model.n_features, s.model.n_hidden) for s in sweeps}
    config = "{} features → {} hidden dims: ".format(*sizes.pop()) if len(sizes) == 1 else ""
    ax.set_title(f"{config}features represented per density")  # the config, not the result
    ax.legend(loc="center left" if len(sweeps) > 1 else "lower right")
    return fig


@styled
def plot_dimensions_per_feature(
    sweeps: Mapping[int, Sweep], ax: Axes | None = None, against: str = "n_hidden"
) -> Figure:
    """Dimensions per feature D* = m / ||W||_F^2 for the dimensionality sweep ({n_hidden: Sweep}).

    against="n_hidden": x = m, one line per density; against="density": x = p (log), one line per m.
    Dotted guides at D* = 1 (every represented feature has a dimension) and 1/2 (antipodal pairs).
    """
    if not isinstance(sweeps, Mapping) or not sweeps:
        raise ValueError("sweeps must be a non-empty dict {n_hidden: Sweep}, as dimensionality_sweep returns")
    if against not in ("n_hidden", "density"):
        raise ValueError(f"against must be 'n_hidden' or 'density', got {against!r}")
    ms = sorted(sweeps)
    dstar = {m: dimensions_per_feature(sweeps[m].W).numpy() for m in ms}
    first = sweeps[ms[0]]
    densities = sorted({float(p) for p in first.density}, reverse=True)
    fig, ax = fig_ax(ax, (5.2, 3.4))
    cmap = FEATURE_CMAP
    values = []
    if against == "n_hidden":
        for j, p in enumerate(densities):
            y = [float(dstar[m][sweeps[m].nearest(density=p)]) for m in ms]
            values += y
            ax.plot(ms, y, marker="o", ms=4, lw=1.5, color=cmap(j / max(1, len(densities) - 1)),
                    label=density_label(p))
        ax.set_xlabel("hidden dimensions m")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(title="density", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        for j, m in enumerate(ms):
            s = sweeps[m]
            order = np.argsort(-s.density.numpy())
            y = dstar[m][order]
            values += list(y)
            ax.plot(s.density.numpy()[order], y, marker="o", ms=4, lw=1.5, color=cmap(j / max(1, len(ms) - 1)),
                    label=f"m = {m}")
        density_axis(ax)
        ax.legend(title="hidden dims", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    dstar_guides(ax)
    top = min(max(values + [1.0]) * 1.08, 3.0)
    ax.set_ylim(0, max(1.2, top))
    ax.set_ylabel(r"dimensions per feature $D^* = m/\|W\|_F^2$")
    n = first.model.n_features
    ax.set_title(f"{KIND_NAMES.get(first.model.kind, first.model.kind)}, {n} features: $D^*$")
    return fig


@styled
def plot_feature_dimensionality(sweep: Sweep, ax: Axes | None = None) -> Figure:
    """Feature dimensionality D_i of every represented feature against density (the paper's sticky fractions).

    Dots: D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2 for features with ||W_i|| > 0.5, one column per
    instance; line: D* of each instance; dotted guides at the fractions of geometry.FRACTIONS (1 ... 3/8).
    """
    order = np.argsort(-sweep.density.numpy())
    p = sweep.density.numpy()
    Di = feature_dimensionality(sweep.W).numpy()
    kept = feature_norms(sweep.W).numpy() > REPRESENTED_THRESHOLD
    fig, ax = fig_ax(ax, (5.2, 3.4))
    for level, text, _ in (f for f in FRACTIONS if f[0] > 0):
        ax.axhline(level, color="0.55", ls=":", lw=0.9, zorder=0)
        ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7, color="0.3")
    xs = np.repeat(p[:, None], Di.shape[1], axis=1)[kept]
    ax.scatter(xs, Di[kept], s=14, color=QUALITATIVE[0], alpha=0.6, lw=0, label="$D_i$ of a represented feature")
    ax.plot(p[order], dimensions_per_feature(sweep.W).numpy()[order], color="0.15", lw=1.2,
            label=r"$D^* = m/\|W\|_F^2$")
    density_axis(ax)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("dimensions per feature")
    ax.set_title(f"{sweep_config(sweep)}: feature dimensionality")
    ax.legend(loc="lower left")
    return fig


@styled
def plot_superposition_per_feature(sweep: Sweep, ax: Axes | None = None) -> Figure:
    """Heatmap instance x feature of each represented feature's superposition (0..1 viridis, >= 1 saturates).

    Features that are not represented (||W_i|| <= 0.5) are grey: their superposition means nothing
    and is never averaged in.  Rows are labelled sweep.label(k).
    """
    sup = superposition(sweep.W).numpy()
    kept = feature_norms(sweep.W).numpy() > REPRESENTED_THRESHOLD
    data = np.ma.masked_array(sup, mask=~kept)
    n_inst, n = sup.shape
    cmap = colormaps[SEQUENTIAL].with_extremes(bad=MISSING)
    fig, ax = fig_ax(ax, (min(3.2 + 0.3 * n, 9.0) + 1.5, min(1.6 + 0.2 * n_inst, 10.0)))
    im = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    feature_ticks(ax, n, "x")
    step = max(1, math.ceil(n_inst / 24))
    rows = list(range(0, n_inst, step))
    ax.set_yticks(rows, [sweep.label(k) for k in rows])
    ax.set_xlabel("feature i")
    ax.set_ylabel("model (setting)")
    ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, extend="max", shrink=0.9 if n_inst <= 10 else 0.5, label=SUPERPOSITION_LABEL)
    legend_below(ax, [Patch(fc=MISSING, label=f"not represented ({NORM_LABEL} ≤ 0.5)")], ncol=1)
    ax.set_title(f"{sweep_config(sweep)}: superposition per feature")
    return fig


@styled
def plot_training_curves(
    train_result_or_sweep: TrainResult | Sweep,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
    smooth: int | None = None,
) -> Figure:
    """Training loss (log y) against step, one line per instance (dark = first instance).

    Takes a TrainResult or a Sweep (its .train); a legend names the instances when there are at most 12.
    smooth: moving-average window over logged points (None: about 1/50 of the run; 1: raw batch losses).
    """
    sweep = train_result_or_sweep if isinstance(train_result_or_sweep, (Sweep, AbsSweep)) else None
    result = sweep.train if sweep is not None else train_result_or_sweep
    if not isinstance(result, TrainResult):
        raise ValueError("expected a TrainResult or a Sweep that holds one (sweep.train)")
    steps = result.history["step"].numpy()
    loss = result.history["loss"].numpy()
    n_inst = loss.shape[1]
    if labels is None and sweep is not None:
        labels = [sweep.label(k) for k in range(n_inst)]
    if labels is not None and len(labels) != n_inst:
        raise ValueError(f"got {n_inst} instances but {len(labels)} labels")
    window = max(1, len(steps) // 50) if smooth is None else int(smooth)
    if window < 1:
        raise ValueError(f"smooth must be a positive integer, got {smooth!r}")
    if window > 1 and len(steps) >= window:
        kernel = np.ones(window) / window
        loss = np.stack([np.convolve(loss[:, k], kernel, mode="valid") for k in range(n_inst)], axis=1)
        steps = steps[window - 1 :]
    fig, ax = fig_ax(ax, (6.2, 3.4))
    for k in range(n_inst):
        ax.plot(steps, np.clip(loss[:, k], 1e-12, None), lw=1.1, color=FEATURE_CMAP(k / max(1, n_inst - 1)),
                label=labels[k] if labels is not None else f"instance {k}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    smoothing = "" if window == 1 else f"\nmean of {window} logged batches"
    ax.set_ylabel(f"training loss (log scale){smoothing}")
    head = f"{sweep_config(sweep)}: " if sweep is not None else ""
    ax.set_title(f"{head}training loss per instance ({result.recipe.steps} steps)")
    if n_inst <= 12:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
