"""Many models side by side: compare_models (one panel per model) and plot_sweep (small multiples over a
Sweep's instances, the static companion of every slider explorer).
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import Any

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
import matplotlib.pyplot as plt
import numpy as np

from ..sweeps import Sweep
from .base import (
    DIVERGING,
    MISSING,
    NORM_LABEL,
    SEQUENTIAL,
    SUPERPOSITION_LABEL,
    ModelLike,
    check_index,
    resolve_instance,
    styled,
    sweep_config,
)
from .model import (
    plot_embeddings_3d,
    plot_feature_embeddings_2d,
    plot_feature_norms,
    plot_interference_matrix,
    plot_wtw,
)

__all__ = ["compare_models", "plot_sweep"]

_VIEWS = ("embedding", "norms", "wtw", "interference")


def _draw(view: str, obj: ModelLike, k: int, ax: Axes, title: str | None, **kw: Any) -> None:
    if view == "embedding":
        if ax.name == "3d":
            plot_embeddings_3d(obj, k, ax=ax, title=title)
        else:
            plot_feature_embeddings_2d(obj, k, ax=ax, title=title, colorbar=False)
    elif view == "norms":
        plot_feature_norms(obj, k, ax=ax, title=title, colorbar=False, legend=False)
    elif view == "wtw":
        plot_wtw(obj, k, ax=ax, title=title, **kw)
    elif view == "interference":
        plot_interference_matrix(obj, k, ax=ax, title=title, colorbar=False, legend=False, **kw)
    else:
        raise ValueError(f"view must be one of {_VIEWS}, got {view!r}")


TITLE_CHARS_PER_INCH = 12.5  # panel titles (10 pt) longer than this per inch of panel width are wrapped


def _panel_size(view: str, n_features: int) -> tuple[float, float]:
    if view == "norms":
        return 3.0, max(2.0, 0.8 + 0.17 * n_features)
    if view == "wtw":
        return 3.0, 2.7
    if view == "interference":
        return 2.7, 2.7
    return 2.6, 2.6


def _n_hidden(obj: ModelLike) -> int:
    return resolve_instance(obj, 0).n_hidden


def _projection(view: str, obj: ModelLike) -> str | None:
    if view != "embedding":
        return None
    m = _n_hidden(obj)
    if m == 3:
        return "3d"
    if m != 2:
        raise ValueError(f"view='embedding' needs n_hidden = 2 or 3, got {m}: use 'norms' or 'wtw'")
    return None


def _finish_panels(fig: Figure, axes: list[Axes], view: str) -> None:
    """One shared colourbar (and legend) for panels drawn without their own."""
    if view == "norms":
        shrink = 0.9 if fig.get_size_inches()[1] < 4 else 0.6
        fig.colorbar(ScalarMappable(Normalize(0, 1), colormaps[SEQUENTIAL]), ax=axes, extend="max", shrink=shrink,
                     label=SUPERPOSITION_LABEL, aspect=25)
        fig.legend(handles=[
            plt.Line2D([], [], color="0.25", ls="--", lw=1, label=f"represented: {NORM_LABEL} > 0.5"),
            Patch(fc=MISSING, ec="0.3", lw=0.5, label="not represented"),
        ], loc="outside lower center", ncol=2)
    elif view == "interference":
        fig.colorbar(ScalarMappable(Normalize(-1, 1), colormaps[DIVERGING]), ax=axes, shrink=0.8, aspect=25,
                     label=r"cosine $\hat W_i\cdot\hat W_j$")
        fig.legend(handles=[Patch(fc=MISSING, label=f"not represented ({NORM_LABEL} ≤ 0.5)")],
                   loc="outside lower center")


@styled
def compare_models(
    models_or_Ws: Sequence[ModelLike],
    titles: Sequence[str] | None = None,
    view: str = "embedding",
    instances: Sequence[int] | int | None = None,
) -> Figure:
    """Side-by-side panels of one view ("embedding", "norms", "wtw" or "interference"), one per model.

    instances: one index per model (default 0 each), or an int for all; with a single model and
    several instances, one panel per instance.  titles default to each model's config title.
    """
    models = list(models_or_Ws)
    if not models:
        raise ValueError("compare_models needs at least one model")
    if view not in _VIEWS:
        raise ValueError(f"view must be one of {_VIEWS}, got {view!r}")
    if instances is None:
        idx = [0] * len(models)
    elif isinstance(instances, (int, np.integer)):
        idx = [int(instances)] * len(models)
    else:
        idx = [int(i) for i in instances]
        if len(models) == 1:
            models = models * len(idx)
    if len(idx) != len(models):
        raise ValueError(f"got {len(models)} models but {len(idx)} instances")
    if titles is not None and len(titles) != len(models):
        raise ValueError(f"got {len(models)} panels but {len(titles)} titles")
    n_feat = max(resolve_instance(m, k).n_features for m, k in zip(models, idx))
    w, h = _panel_size(view, n_feat)
    fig = plt.figure(figsize=(w * len(models) + (0.8 if view in ("norms", "interference") else 0), h + 0.4),
                     layout="constrained")
    axes = []
    for p, (m, k) in enumerate(zip(models, idx)):
        ax = fig.add_subplot(1, len(models), p + 1, projection=_projection(view, m))
        t = titles[p] if titles is not None else _wrap_title(resolve_instance(m, k).title())
        _draw(view, m, k, ax, t)
        axes.append(ax)
    _finish_panels(fig, axes, view)
    return fig


def _wrap_title(text: str) -> str:
    """Break a long config title after its model part, for narrow panels."""
    return text.replace(" hidden, ", " hidden\n", 1) if len(text) > 34 else text


@styled
def plot_sweep(
    sweep: Sweep, view: str = "norms", instances: Sequence[int] | None = None, ncols: int | None = None
) -> Figure:
    """Small multiples of one view over a Sweep's instances, each panel titled sweep.label(k).

    The static companion of every slider explorer (it renders on GitHub).  view: "norms",
    "embedding" (n_hidden 2 or 3), "wtw" or "interference"; instances: which instances (default all).
    """
    if view not in _VIEWS:
        raise ValueError(f"view must be one of {_VIEWS}, got {view!r}")
    idx = list(range(len(sweep))) if instances is None else [int(k) for k in instances]
    if not idx:
        raise ValueError("instances must name at least one instance")
    for k in idx:
        check_index(k, len(sweep))
    ncols = min(len(idx), 5) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols}")
    nrows = math.ceil(len(idx) / ncols)
    proj = _projection(view, sweep)
    w, h = _panel_size(view, sweep.model.n_features)
    extra_w = 0.9 if view in ("norms", "interference") else 0.0
    titles = [sweep.label(k) for k in idx]
    wrap = max(map(len, titles)) > TITLE_CHARS_PER_INCH * w  # a long title would run into the next panel's
    if wrap:
        titles = [t.replace(", ", ",\n", 1) for t in titles]
    fig = plt.figure(figsize=(w * ncols + extra_w,
                              h * nrows + 0.5 + (0.3 if view == "norms" else 0) + (0.2 * nrows if wrap else 0)),
                     layout="constrained")
    axes = []
    for p, (k, title) in enumerate(zip(idx, titles)):
        ax = fig.add_subplot(nrows, ncols, p + 1, projection=proj)
        _draw(view, sweep, k, ax, title, **({"annotate": False} if view == "interference" else {}))
        if proj is None and p % ncols:  # inner 2-D panels: the row's first panel carries the y label
            ax.set_ylabel("")
        if proj is None and p < len(idx) - ncols:
            ax.set_xlabel("")
        axes.append(ax)
    _finish_panels(fig, axes, view)
    what = {"norms": "feature norms", "embedding": "feature directions", "wtw": "$W^TW$ and bias",
            "interference": "cosine interference"}[view]
    fig.suptitle(f"{sweep_config(sweep)}: {what}, one model per setting")
    return fig
