"""Matplotlib figures for the toy models, in one consistent style.

Every function returns the matplotlib Figure it drew on (it never calls plt.show() and closes
nothing); pass `ax=` to draw into an axes you own.  Functions that show one model take a
ToyModel, a Sweep (then titles also name p, S and the importance) or a weight tensor W
([n_instances, n_features, n_hidden] or [n_features, n_hidden]), plus `instance=k`.

Colours: sequential data use viridis (0 = dark), signed data the diverging "RdBu_r" with a
symmetric range (white = 0), features that are not represented (||W_i|| <= 0.5) are grey.
Apply the same look to your own figures with `use_style()` or `with style(): ...`.
"""

from __future__ import annotations

import functools
import math
from contextlib import AbstractContextManager
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator
from matplotlib.transforms import offset_copy

from .metrics import (
    REPRESENTED_THRESHOLD,
    compute_feature_interference,
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    superposition,
)
from .model import ToyModel
from .train import TrainResult

if TYPE_CHECKING:  # only for type hints: experiments imports this module's neighbours, not the reverse
    from .experiments import Sweep

__all__ = [
    "STYLE", "style", "use_style", "config_title",
    "plot_feature_embeddings_2d", "plot_embeddings_3d", "plot_interference_matrix", "plot_wtw",
    "plot_feature_norms", "plot_importance", "compare_models", "plot_sweep",
    "plot_represented_vs_density", "plot_dimensions_per_feature", "plot_feature_dimensionality",
    "plot_superposition_per_feature", "plot_training_curves",
]

STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "normal",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "viridis",
    "figure.facecolor": "white",
}

SEQUENTIAL = "viridis"  # 0 = dark
DIVERGING = "RdBu_r"  # blue < 0 < red, white at 0
MISSING = "0.82"  # grey: not represented
# Okabe-Ito: a qualitative palette that colour-blind readers can tell apart (for lines of different models).
QUALITATIVE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# viridis without its pale yellow end, so thin lines stay visible on white; feature 0 / most important = dark.
FEATURE_CMAP: Colormap = ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.85, 256)), name="viridis_feature")
KIND_NAMES = {"relu_output": "ReLU output", "linear": "linear", "relu_hidden": "ReLU hidden"}
NORM_LABEL = r"$\|W_i\|$"
SUPERPOSITION_LABEL = r"superposition $\Sigma_{j\neq i}(\hat W_i\cdot W_j)^2$"
P_AXIS_LABEL = "feature probability p = 1 - S (log scale)"

F = TypeVar("F", bound=Callable[..., Any])
ModelLike = Any  # ToyModel | Sweep | torch.Tensor | np.ndarray


def style() -> AbstractContextManager[Any]:
    """Context manager applying STYLE: `with style(): fig, ax = plt.subplots()`."""
    return plt.rc_context(STYLE)


def use_style() -> None:
    """Apply STYLE globally (e.g. once in a notebook's setup cell)."""
    plt.rcParams.update(STYLE)


def _styled(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with style():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- inputs


def _is_sweep(obj: object) -> bool:
    return all(hasattr(obj, a) for a in ("model", "density", "importance", "label", "nearest"))


def _density_text(p: float) -> str:
    return f"p = {p:.3g} (S = {1 - p:.3g})"


@dataclass
class _One:
    """One instance, as numpy: W [n_features, n_hidden], b [n_features] or None, and what is known about it."""

    W: np.ndarray
    b: np.ndarray | None
    kind: str | None
    importance: np.ndarray | None
    setting: str | None  # e.g. "p = 0.05 (S = 0.95)"
    instance: int
    n_instances: int
    W3: torch.Tensor  # [1, n_features, n_hidden], for the metrics

    @property
    def n_features(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]

    def config(self) -> str:
        """E.g. 'ReLU output, 5 features → 2 hidden'."""
        head = f"{KIND_NAMES.get(self.kind, self.kind)}, " if self.kind else ""
        return f"{head}{self.n_features} features → {self.n_hidden} hidden"

    def title(self) -> str:
        tail = f", {self.setting}" if self.setting else ""
        if not self.setting and self.n_instances > 1:
            tail = f", instance {self.instance}"
        return self.config() + tail


def _resolve(obj: ModelLike, instance: int = 0, importance: Any = None, density: float | None = None) -> _One:
    """Read one instance out of a Sweep, a ToyModel or a W tensor/array."""
    kind, b, setting, imp = None, None, None, None
    if _is_sweep(obj):
        sweep = obj
        obj = sweep.model
        _check_instance(instance, sweep.model.n_instances)
        setting = sweep.label(instance)
        imp = sweep.importance[instance]
    if isinstance(obj, ToyModel):
        kind = obj.kind
        W = obj.W.detach()
        b = obj.b.detach()
    elif isinstance(obj, (torch.Tensor, np.ndarray)):
        W = torch.as_tensor(obj).detach()
    else:
        raise ValueError(f"expected a ToyModel, Sweep or W tensor, got {type(obj).__name__}")
    if W.ndim == 2:
        W = W[None]
    if W.ndim != 3:
        raise ValueError(f"W must have shape [n_instances, n_features, n_hidden], got {tuple(W.shape)}")
    _check_instance(instance, W.shape[0])
    W3 = W[instance : instance + 1].float().cpu()
    if importance is not None:
        imp = importance
    if imp is not None:
        imp = np.asarray(torch.as_tensor(imp, dtype=torch.float32).cpu()).reshape(-1)
        if imp.shape[0] != W.shape[1]:
            raise ValueError(f"importance must have one value per feature ({W.shape[1]}), got {imp.shape[0]}")
    if density is not None:
        setting = _density_text(float(density))
    return _One(
        W=W3[0].numpy(),
        b=None if b is None else b[instance].float().cpu().numpy(),
        kind=kind,
        importance=imp,
        setting=setting,
        instance=instance,
        n_instances=W.shape[0],
        W3=W3,
    )


def _check_instance(instance: int, n: int) -> None:
    if isinstance(instance, bool) or not isinstance(instance, (int, np.integer)) or not 0 <= instance < n:
        raise ValueError(f"instance must be an integer in [0, {n}), got {instance!r}")


def config_title(model_or_W: ModelLike, instance: int = 0, density: float | None = None) -> str:
    """The title every figure uses, e.g. 'ReLU output, 5 features → 2 hidden, p = 0.05 (S = 0.95)'."""
    return _resolve(model_or_W, instance, density=density).title()


def _sweep_config(sweep: Sweep) -> str:
    m = sweep.model
    return f"{KIND_NAMES.get(m.kind, m.kind)}, {m.n_features} features → {m.n_hidden} hidden"


def _fig_ax(ax: Axes | None, figsize: tuple[float, float], projection: str | None = None) -> tuple[Figure, Axes]:
    if ax is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot(projection=projection)
        return fig, ax
    return ax.get_figure(root=True), ax


def _feature_ticks(ax: Axes, n: int, axis: str = "both") -> None:
    step = 1 if n <= 12 else (2 if n <= 24 else max(1, n // 10))
    ticks = list(range(0, n, step))
    if axis in ("x", "both"):
        ax.set_xticks(ticks)
    if axis in ("y", "both"):
        ax.set_yticks(ticks)


def _legend_below(ax: Axes, handles: list[Any], ncol: int = 2, drop_points: float = 30.0) -> None:
    """A legend under the x label (drop_points below the axes), where it covers no data."""
    trans = offset_copy(ax.transAxes, fig=ax.get_figure(root=True), x=0, y=-drop_points, units="points")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=trans, ncol=ncol)


def _feature_colors(one: _One) -> tuple[np.ndarray, ScalarMappable | None]:
    """One colour per feature: by importance (most important = dark) if known and not all equal, else by index."""
    n = one.n_features
    imp = one.importance
    if imp is not None and float(imp.max() - imp.min()) > 1e-9:
        norm = Normalize(float(imp.min()), float(imp.max()))
        cmap = FEATURE_CMAP.reversed()
        return cmap(norm(imp)), ScalarMappable(norm=norm, cmap=cmap)
    if imp is not None:  # all equally important: one colour
        return np.repeat(np.asarray(FEATURE_CMAP(0.35))[None], n, axis=0), None
    return FEATURE_CMAP(np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)), None


# --------------------------------------------------------------------------------------------- one model


@_styled
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
    one = _resolve(model_or_W, instance, importance, density)
    if one.n_hidden != 2:
        raise ValueError(
            f"plot_feature_embeddings_2d needs n_hidden = 2, got n_hidden = {one.n_hidden} "
            "(use plot_embeddings_3d for 3, plot_wtw or plot_feature_norms otherwise)"
        )
    fig, ax = _fig_ax(ax, (4.2, 3.6))
    colors, mappable = _feature_colors(one)
    norms = np.linalg.norm(one.W, axis=1)
    ax.add_patch(Circle((0, 0), 1.0, fill=False, ls=":", lw=0.8, ec="0.6", zorder=0))
    for i, (x, y) in enumerate(one.W):
        ax.plot([0.0, x], [0.0, y], color=colors[i], lw=2, marker="o", markevery=[1], ms=4,
                solid_capstyle="round", label=f"feature {i}", gid=f"feature-{i}")
        if norms[i] > REPRESENTED_THRESHOLD:
            ux, uy = x / norms[i], y / norms[i]
            ax.annotate(str(i), (x, y), xytext=(9 * ux, 9 * uy), textcoords="offset points",
                        ha="center", va="center", fontsize=8, color=colors[i], fontweight="bold")
    lim = max(1.35, 1.25 * float(norms.max(initial=0.0)))  # room for labels and the corner note
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("hidden dimension 1")
    ax.set_ylabel("hidden dimension 2")
    dropped = [str(i) for i in range(one.n_features) if norms[i] <= REPRESENTED_THRESHOLD]
    if dropped:
        ax.text(0.02, 0.02, "not represented: " + ", ".join(dropped), transform=ax.transAxes,
                fontsize=7, color="0.35", va="bottom")
    ax.set_title(one.title() if title is None else title)
    if colorbar and mappable is not None:
        fig.colorbar(mappable, ax=ax, shrink=0.8, label="importance $I_i$")
    return fig


@_styled
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
    one = _resolve(model_or_W, instance, importance, density)
    if one.n_hidden != 3:
        raise ValueError(f"plot_embeddings_3d needs n_hidden = 3, got n_hidden = {one.n_hidden}")
    if ax is not None and getattr(ax, "name", "") != "3d":
        raise ValueError("ax must be a 3-D axes: fig.add_subplot(projection='3d')")
    fig, ax = _fig_ax(ax, (4.4, 4.0), projection="3d")
    colors, _ = _feature_colors(one)
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


def _annotate_cells(ax: Axes, M: np.ndarray, vmax: float) -> None:
    for (i, j), v in np.ndenumerate(np.ma.filled(M, np.nan)):
        if np.isnan(v):
            continue
        ax.text(j, i, f"{v:.2f}".replace("-0.00", "0.00"), ha="center", va="center", fontsize=7,
                color="white" if abs(v) > 0.6 * vmax else "0.15")


@_styled
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
    one = _resolve(model_or_W, instance, density=density)
    C = compute_feature_interference(one.W3)[0].numpy()
    kept = np.linalg.norm(one.W, axis=1) > REPRESENTED_THRESHOLD
    hidden = ~(kept[:, None] & kept[None, :]) if gate else np.zeros_like(C, dtype=bool)
    fig, ax = _fig_ax(ax, (4.4, 3.8))
    cmap = colormaps[DIVERGING].with_extremes(bad=MISSING)
    im = ax.imshow(np.ma.masked_array(C, mask=hidden), cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    if annotate or (annotate is None and one.n_features <= 8):
        _annotate_cells(ax, np.ma.masked_array(C, mask=hidden), 1.0)
    if legend and hidden.any():
        _legend_below(ax, [Patch(fc=MISSING, label=f"not represented ({NORM_LABEL} ≤ 0.5)")], ncol=1)
    _feature_ticks(ax, one.n_features)
    ax.set_xlabel("feature j")
    ax.set_ylabel("feature i")
    ax.spines[:].set_visible(False)
    ax.set_title(one.title().replace(" neurons, ", " neurons\n", 1) if title is None else title)
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.85, label=r"cosine $\hat W_i\cdot\hat W_j$")
    return fig


@_styled
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
    one = _resolve(model_or_W, instance, density=density)
    M = one.W @ one.W.T
    show_b = bias and one.b is not None
    vmax = float(np.abs(M).max(initial=0.0))
    if show_b:
        vmax = max(vmax, float(np.abs(one.b).max(initial=0.0)))
    vmax = vmax if vmax > 0 else 1.0
    n = one.n_features
    fig, ax = _fig_ax(ax, (4.6, 3.6))
    im = ax.imshow(M, cmap=DIVERGING, vmin=-vmax, vmax=vmax, interpolation="nearest")
    _feature_ticks(ax, n)
    ax.set_xlabel("feature j")
    ax.set_ylabel("feature i")
    ax.spines[:].set_visible(False)
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


@_styled
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
    one = _resolve(model_or_W, instance, density=density)
    norms = feature_norms(one.W3)[0].numpy()
    sup = superposition(one.W3)[0].numpy()
    cmap, norm = colormaps[SEQUENTIAL], Normalize(0.0, 1.0)
    colors = cmap(norm(np.clip(sup, 0.0, 1.0)))
    kept = norms > REPRESENTED_THRESHOLD
    colors[~kept] = (0.82, 0.82, 0.82, 1.0)
    n = one.n_features
    fig, ax = _fig_ax(ax, (4.6, max(2.8, 1.4 + 0.2 * n)))
    ax.barh(np.arange(n), norms, color=colors, edgecolor="0.3", linewidth=0.5, height=0.8)
    ax.axvline(REPRESENTED_THRESHOLD, color="0.25", ls="--", lw=1,
               label=f"represented: {NORM_LABEL} > {REPRESENTED_THRESHOLD}")
    ax.set_ylim(n - 0.5, -0.5)  # feature 0 at the top
    ax.set_xlim(0, max(1.15, 1.08 * float(norms.max(initial=0.0))))
    _feature_ticks(ax, n, "y")
    ax.set_xlabel(NORM_LABEL)
    ax.set_ylabel("feature i")
    ax.set_title(one.title() if title is None else title)
    if legend:
        handles = [ax.get_lines()[-1]]
        if not kept.all():
            handles.append(Patch(fc=MISSING, ec="0.3", lw=0.5, label="not represented"))
        _legend_below(ax, handles)
    if colorbar:
        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, extend="max", shrink=0.9 if n <= 8 else 0.6,
                     label=SUPERPOSITION_LABEL)
    return fig


@_styled
def plot_importance(importance: Any, ax: Axes | None = None, title: str | None = "importance profile") -> Figure:
    """Importance I_i per feature as horizontal bars (feature 0 at the top), coloured like the embeddings."""
    imp = np.asarray(torch.as_tensor(importance, dtype=torch.float32).cpu()).reshape(-1)
    n = imp.shape[0]
    one = _One(np.zeros((n, 1)), None, None, imp, None, 0, 1, torch.zeros(1, n, 1))
    colors, _ = _feature_colors(one)
    fig, ax = _fig_ax(ax, (3.0, max(2.2, 0.9 + 0.2 * n)))
    ax.barh(np.arange(n), imp, color=colors, edgecolor="0.3", linewidth=0.5, height=0.8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, max(1.0, float(imp.max(initial=0.0))) * 1.05)
    _feature_ticks(ax, n, "y")
    ax.set_xlabel("importance $I_i$")
    ax.set_ylabel("feature i")
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------- many models

_VIEWS = ("embedding", "norms", "wtw", "interference")


def _draw(view: str, obj: ModelLike, k: int, ax: Axes, title: str | None, **kw: Any) -> None:
    if view == "embedding":
        if getattr(ax, "name", "") == "3d":
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


def _panel_size(view: str, n_features: int) -> tuple[float, float]:
    if view == "norms":
        return 3.0, max(2.0, 0.8 + 0.17 * n_features)
    if view == "wtw":
        return 3.0, 2.7
    if view == "interference":
        return 2.7, 2.7
    return 2.6, 2.6


def _n_hidden(obj: ModelLike) -> int:
    return _resolve(obj, 0).n_hidden


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


@_styled
def compare_models(
    models_or_Ws: Sequence[ModelLike],
    titles: Sequence[str] | None = None,
    kind: str = "embedding",
    instances: Sequence[int] | int | None = None,
) -> Figure:
    """Side-by-side panels of one view ("embedding", "norms", "wtw" or "interference"), one per model.

    instances: one index per model (default 0 each), or an int for all; with a single model and
    several instances, one panel per instance.  titles default to each model's config title.
    """
    models = list(models_or_Ws)
    if not models:
        raise ValueError("compare_models needs at least one model")
    if kind not in _VIEWS:
        raise ValueError(f"kind must be one of {_VIEWS}, got {kind!r}")
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
    n_feat = max(_resolve(m, k).n_features for m, k in zip(models, idx))
    w, h = _panel_size(kind, n_feat)
    fig = plt.figure(figsize=(w * len(models) + (0.8 if kind in ("norms", "interference") else 0), h + 0.4),
                     layout="constrained")
    axes = []
    for p, (m, k) in enumerate(zip(models, idx)):
        ax = fig.add_subplot(1, len(models), p + 1, projection=_projection(kind, m))
        t = titles[p] if titles is not None else _wrap_title(_resolve(m, k).title())
        _draw(kind, m, k, ax, t)
        axes.append(ax)
    _finish_panels(fig, axes, kind)
    return fig


def _wrap_title(text: str) -> str:
    """Break a long config title after its model part, for narrow panels."""
    return text.replace(" hidden, ", " hidden\n", 1) if len(text) > 34 else text


@_styled
def plot_sweep(
    sweep: Sweep, view: str = "norms", indices: Sequence[int] | None = None, ncols: int | None = None
) -> Figure:
    """Small multiples of one view over a Sweep's instances, each panel titled sweep.label(k).

    The static companion of every slider explorer (it renders on GitHub).  view: "norms",
    "embedding" (n_hidden 2 or 3), "wtw" or "interference"; indices: which instances (default all).
    """
    if view not in _VIEWS:
        raise ValueError(f"view must be one of {_VIEWS}, got {view!r}")
    idx = list(range(len(sweep))) if indices is None else [int(k) for k in indices]
    if not idx:
        raise ValueError("indices must name at least one instance")
    for k in idx:
        _check_instance(k, len(sweep))
    ncols = min(len(idx), 5) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols}")
    nrows = math.ceil(len(idx) / ncols)
    proj = _projection(view, sweep)
    w, h = _panel_size(view, sweep.model.n_features)
    extra_w = 0.9 if view in ("norms", "interference") else 0.0
    fig = plt.figure(figsize=(w * ncols + extra_w, h * nrows + 0.5 + (0.3 if view == "norms" else 0)),
                     layout="constrained")
    axes = []
    for p, k in enumerate(idx):
        ax = fig.add_subplot(nrows, ncols, p + 1, projection=proj)
        _draw(view, sweep, k, ax, sweep.label(k), **({"annotate": False} if view == "interference" else {}))
        if proj is None and p % ncols:  # inner 2-D panels: the row's first panel carries the y label
            ax.set_ylabel("")
        if proj is None and p < len(idx) - ncols:
            ax.set_xlabel("")
        axes.append(ax)
    _finish_panels(fig, axes, view)
    what = {"norms": "feature norms", "embedding": "feature directions", "wtw": "$W^TW$ and bias",
            "interference": "cosine interference"}[view]
    fig.suptitle(f"{_sweep_config(sweep)}: {what}, one model per setting")
    return fig


# --------------------------------------------------------------------------------------------- summaries


def _as_sweeps(sweeps_or_sweep: Sweep | Sequence[Sweep] | Mapping[Any, Sweep]) -> tuple[list[Sweep], list[str] | None]:
    if _is_sweep(sweeps_or_sweep):
        return [sweeps_or_sweep], None  # type: ignore[list-item]
    if isinstance(sweeps_or_sweep, Mapping):
        return list(sweeps_or_sweep.values()), [str(k) for k in sweeps_or_sweep]
    return list(sweeps_or_sweep), None  # type: ignore[arg-type]


def _density_axis(ax: Axes) -> None:
    """Log density axis, dense (p = 1) on the left, sparse on the right."""
    ax.set_xscale("log")
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    ax.set_xlabel(P_AXIS_LABEL)
    ax.annotate("sparser →", (1.0, 0.0), xycoords="axes fraction", xytext=(0, -16), textcoords="offset points",
                ha="right", va="top", fontsize=7, color="0.4")


@_styled
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
    fig, ax = _fig_ax(ax, (5.2, 3.4))
    guides: set[tuple[int, str]] = set()
    for s_i, sweep in enumerate(sweeps):
        order = np.argsort(-sweep.density.numpy())
        p = sweep.density.numpy()[order]
        n_rep = sweep.n_represented().numpy()[order]
        label = labels[s_i] if labels is not None else _sweep_config(sweep)
        ax.plot(p, n_rep, marker="os^Dv"[s_i % 5], color=QUALITATIVE[s_i % len(QUALITATIVE)], lw=1.5, ms=4,
                label=label)
        guides.add((sweep.model.n_hidden, "m"))
        guides.add((sweep.model.n_features, "n"))
    for value, name in sorted(guides):
        ax.axhline(value, color="0.5", ls=":", lw=1, zorder=0)
        text = f"{name} = {value} hidden dims" if name == "m" else f"{name} = {value} features"
        ax.annotate(text, (0.0, value), xycoords=("axes fraction", "data"), xytext=(3, 2),
                    textcoords="offset points", fontsize=7, color="0.35", va="bottom")
    _density_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(v for v, _ in guides) + 0.7)
    ax.set_ylabel(f"features represented ({NORM_LABEL} > 0.5)")
    ax.set_title("Sparser features → more of them represented")
    ax.legend(loc="center left" if len(sweeps) > 1 else "lower right")
    return fig


@_styled
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
    fig, ax = _fig_ax(ax, (5.2, 3.4))
    cmap = FEATURE_CMAP
    values = []
    if against == "n_hidden":
        for j, p in enumerate(densities):
            y = [float(dstar[m][sweeps[m].nearest(density=p)]) for m in ms]
            values += y
            ax.plot(ms, y, marker="o", ms=4, lw=1.5, color=cmap(j / max(1, len(densities) - 1)),
                    label=_density_text(p))
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
        _density_axis(ax)
        ax.legend(title="hidden dims", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for level, text in ((1.0, "1: a dimension per feature"), (0.5, "1/2: antipodal pairs")):
        ax.axhline(level, color="0.45", ls=":", lw=1, zorder=0)
        ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(-3, 2),
                    textcoords="offset points", ha="right", va="bottom", fontsize=7, color="0.3")
    top = min(max(values + [1.0]) * 1.08, 3.0)
    ax.set_ylim(0, max(1.2, top))
    ax.set_ylabel(r"dimensions per feature $D^* = m/\|W\|_F^2$")
    n = first.model.n_features
    ax.set_title(f"{KIND_NAMES.get(first.model.kind, first.model.kind)}, {n} features: $D^*$")
    return fig


FRACTIONS = ((1.0, "1"), (0.75, "3/4"), (2 / 3, "2/3"), (0.5, "1/2"), (0.4, "2/5"))


@_styled
def plot_feature_dimensionality(sweep: Sweep, ax: Axes | None = None) -> Figure:
    """Feature dimensionality D_i of every represented feature against density (the paper's sticky fractions).

    Dots: D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2 for features with ||W_i|| > 0.5, one column per
    instance; line: D* of each instance; dotted guides at 1, 3/4, 2/3, 1/2 and 2/5.
    """
    order = np.argsort(-sweep.density.numpy())
    p = sweep.density.numpy()
    Di = feature_dimensionality(sweep.W).numpy()
    kept = feature_norms(sweep.W).numpy() > REPRESENTED_THRESHOLD
    fig, ax = _fig_ax(ax, (5.2, 3.4))
    for level, text in FRACTIONS:
        ax.axhline(level, color="0.55", ls=":", lw=0.9, zorder=0)
        ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7, color="0.3")
    xs = np.repeat(p[:, None], Di.shape[1], axis=1)[kept]
    ax.scatter(xs, Di[kept], s=14, color=QUALITATIVE[0], alpha=0.6, lw=0, label="$D_i$ of a represented feature")
    ax.plot(p[order], dimensions_per_feature(sweep.W).numpy()[order], color="0.15", lw=1.2,
            label=r"$D^* = m/\|W\|_F^2$")
    _density_axis(ax)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("dimensions per feature")
    ax.set_title(f"{_sweep_config(sweep)}: feature dimensionality")
    ax.legend(loc="lower left")
    return fig


@_styled
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
    fig, ax = _fig_ax(ax, (min(3.2 + 0.3 * n, 9.0) + 1.5, min(1.6 + 0.2 * n_inst, 10.0)))
    im = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    _feature_ticks(ax, n, "x")
    step = max(1, math.ceil(n_inst / 24))
    rows = list(range(0, n_inst, step))
    ax.set_yticks(rows, [sweep.label(k) for k in rows])
    ax.set_xlabel("feature i")
    ax.set_ylabel("model (setting)")
    ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, extend="max", shrink=0.9 if n_inst <= 10 else 0.5, label=SUPERPOSITION_LABEL)
    _legend_below(ax, [Patch(fc=MISSING, label=f"not represented ({NORM_LABEL} ≤ 0.5)")], ncol=1)
    ax.set_title(f"{_sweep_config(sweep)}: superposition per feature")
    return fig


@_styled
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
    sweep = train_result_or_sweep if _is_sweep(train_result_or_sweep) else None
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
    fig, ax = _fig_ax(ax, (6.2, 3.4))
    for k in range(n_inst):
        ax.plot(steps, np.clip(loss[:, k], 1e-12, None), lw=1.1, color=FEATURE_CMAP(k / max(1, n_inst - 1)),
                label=labels[k] if labels is not None else f"instance {k}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (log scale)" if window == 1 else f"training loss (log scale)\nmean of {window} logged batches")
    head = f"{_sweep_config(sweep)}: " if sweep is not None else ""
    ax.set_title(f"{head}training loss per instance ({result.steps} steps)")
    if n_inst <= 12:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# ------------------------------------------------------------------------- notebook 05: the phase diagram

from .phase import (  # noqa: E402  (kept with the block it serves, so the three branches merge cleanly)
    CANDIDATES as _CANDIDATES, OTHER as _OTHER, PHASES as _PHASES, TRIANGLE as _TRIANGLE,
    TRIANGLE_NAME as _TRIANGLE_NAME, candidate_losses as _candidate_losses,
    theoretical_candidate as _theoretical_candidate,
)

# Okabe-Ito colours: not learned = grey, superposition = blue, dedicated dimension = orange (2 -> 1);
# for 3 -> 2 each candidate has its own colour, the paper's unconsidered triangle pink, no match white.
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
        return list(_PHASES), list(PHASE_COLORS)
    names = list(_CANDIDATES[n_features]) + ([_TRIANGLE_NAME] if n_features == 3 else [])
    return names, list(CANDIDATE_COLORS[n_features])


def _phase_view(diagram: Any, view: str | None) -> str:
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
    best = _theoretical_candidate(n_features, rr[None, :], pp[:, None])  # [p, r]
    lines = []
    for c in range(len(_CANDIDATES[n_features])):
        if (best == c).any() and not (best == c).all():
            gen = contourpy.contour_generator(rr, pp, (best == c).astype(float))
            lines += [np.asarray(line) for line in gen.lines(0.5)]
    return lines


def _draw_boundaries(ax: Axes, n_features: int, r: np.ndarray, p: np.ndarray) -> None:
    """The analytic phase boundaries as black lines, over the whole map (to the cells' outer edges)."""
    re, pe = _log_edges(r), _log_edges(p)
    for line in _boundary_lines(n_features, float(re[0]), float(re[-1]), float(pe[0]), min(float(pe[-1]), 1.0)):
        ax.plot(line[:, 0], line[:, 1], color="black", lw=1.2, gid="boundary")


@_styled
def plot_phase_map(
    diagram: Any, which: str = "empirical", ax: Axes | None = None, *, view: str | None = None,
    mark: tuple[int, int] | None = None, boundaries: bool = True, legend: bool = True, title: str | None = None,
) -> Figure:
    """One phase map of an experiments.PhaseDiagram on log-log axes: x = relative importance r, y = density p.

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
    shown = np.where(codes == _OTHER, len(names), codes)
    r, p = np.asarray(diagram.ratio, dtype=float), np.asarray(diagram.density, dtype=float)
    fig, ax = _fig_ax(ax, (4.4, 3.8))
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
    ax.set_ylabel("feature probability p = 1 - S (log scale)")
    what = "trained models" if which == "empirical" else "theory: the best closed-form candidate"
    ax.set_title(f"{what}, {n} features → {n - 1} hidden" if title is None else title)
    if legend:
        present = set(np.unique(codes).tolist())
        always = len(names) if view == "phase" else len(_CANDIDATES[n])  # the triangle only when it occurs
        handles = [Patch(facecolor=colors[c], edgecolor="0.5", label=names[c]) for c in range(len(names))
                   if c < always or c in present]
        if _OTHER in present:
            handles.append(Patch(facecolor=OTHER_COLOR, edgecolor="0.5", label="none of these"))
        if boundaries:
            handles.append(plt.Line2D([], [], color="black", lw=1.2, label="analytic boundary"))
        _legend_below(ax, handles, ncol=2, drop_points=34)
    return fig


@_styled
def plot_phase_diagram(diagram: Any, *, view: str | None = None, mark: tuple[int, int] | None = None) -> Figure:
    """The paper's phase diagram, trained (left) beside theory (right), with the analytic boundaries on both."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 5.2), layout="constrained")
    for ax, which in zip(axes, ("empirical", "theory")):
        plot_phase_map(diagram, which, ax=ax, view=view, mark=mark)
    n = diagram.n_features
    fig.suptitle(f"ReLU output, {n} features → {n - 1} hidden; extra feature: importance r (the others 1); "
                 f"{len(diagram.ratio)} × {len(diagram.density)} grid")
    return fig


@_styled
def plot_candidate_losses(diagram: Any, i: int, j: int, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Bars: each candidate's closed-form loss at grid point (ratio[i], density[j]) on a log axis, the best outlined;
    a dashed line: the trained model's loss."""
    n = diagram.n_features
    names = list(_CANDIDATES[n])
    losses = np.asarray(diagram.candidate_loss[i, j], dtype=float)
    fig, ax = _fig_ax(ax, (4.2, 3.2))
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


@_styled
def plot_weights_1d(
    W: Any, ax: Axes | None = None, title: str | None = None, labels: Sequence[str] | None = None
) -> Figure:
    """2 -> 1: each feature's weight W_i as a point on the single hidden axis (antipodal = opposite sides)."""
    w = np.asarray(torch.as_tensor(W, dtype=torch.float32).reshape(-1))
    fig, ax = _fig_ax(ax, (4.2, 2.0))
    labels = list(labels) if labels is not None else [f"feature {i}" for i in range(len(w))]
    lim = max(1.3, 1.2 * float(np.abs(w).max(initial=0.0)))
    ax.axhline(0, color="0.6", lw=1, zorder=0)
    ax.axvspan(-REPRESENTED_THRESHOLD, REPRESENTED_THRESHOLD, color="0.93", zorder=0, label="|W_i| <= 0.5")
    colors = FEATURE_CMAP(np.linspace(0, 1, len(w)) if len(w) > 1 else np.zeros(1))  # as in the 2-D embeddings
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


@_styled
def plot_loss_slice(diagram: Any, i: int, ax: Axes | None = None) -> Figure:
    """One row of the diagram: every candidate's closed-form loss against p at ratio[i] (lines), the trained
    models' losses (dots), and the analytic phase changes (dotted verticals, where the best candidate switches)."""
    n = diagram.n_features
    r = float(diagram.ratio[i])
    p_data = np.asarray(diagram.density, dtype=float)
    pp = np.geomspace(p_data.min(), p_data.max(), 400)
    L = _candidate_losses(n, r, pp)  # [400, C]
    fig, ax = _fig_ax(ax, (5.6, 3.8))
    for c, name in enumerate(_CANDIDATES[n]):
        ax.plot(pp, L[:, c], color=CANDIDATE_COLORS[n][c], lw=2, label=name, gid=f"candidate-{c}")
    ax.plot(p_data, np.asarray(diagram.loss[i], dtype=float), "o", color="black", ms=4, label="trained (best of k)",
            gid="trained")
    best = L.argmin(1)
    for s in np.flatnonzero(np.diff(best)):
        ax.axvline(np.sqrt(pp[s] * pp[s + 1]), color="0.3", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("feature probability p = 1 - S (log scale)")
    ax.set_ylabel("expected loss (log scale)")
    ax.set_title(f"ReLU output, {n} features → {n - 1} hidden, r = {r:.3g}:\n"
                 "candidates' closed forms and trained losses")
    ax.legend(loc="lower right")
    return fig


# ---------------------------------------------------------------- notebook 06: feature geometry (uniform superposition)

from matplotlib.collections import LineCollection  # noqa: E402

from .geometry import FRACTIONS as GEOMETRY_FRACTIONS, GRAPH_THRESHOLD, nearest_fraction, tegum_factors  # noqa: E402

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
        _check_instance(instance, len(sweep))
        ax.axvline(1.0 / float(sweep.density[instance]), color=QUALITATIVE[1], lw=6, alpha=0.25, zorder=0)


@_styled
def plot_dstar_vs_sparsity(sweep: Sweep, ax: Axes | None = None, highlight: int | None = None) -> Figure:
    """The paper's D* = m / ||W||_F^2 against 1/(1 - S), log x; dotted plateaus at 1 and 1/2.

    highlight: an instance to mark with a vertical band (the explorer's current model).
    """
    inv = 1.0 / sweep.density.numpy()
    order = np.argsort(inv)
    dstar = dimensions_per_feature(sweep.W).numpy()
    fig, ax = _fig_ax(ax, (5.2, 3.4))
    for level, text in ((1.0, "1: a dimension per feature"), (0.5, "1/2: antipodal pairs")):
        ax.axhline(level, color="0.45", ls=":", lw=1, zorder=0)
        ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(-3, 2),
                    textcoords="offset points", ha="right", va="bottom", fontsize=7, color="0.3")
    ax.plot(inv[order], dstar[order], color=QUALITATIVE[0], marker="o", ms=4, lw=1.5, label=r"$D^*$")
    _highlight(ax, sweep, highlight)
    _inv_density_axis(ax)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel(r"dimensions per feature $D^* = m/\|W\|_F^2$")
    ax.set_title(f"{_sweep_config(sweep)}, all $I_i = 1$:\n$D^*$ sticks at 1 and at 1/2")
    return fig


@_styled
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
    fig, ax = _fig_ax(ax, (6.2, 3.8))
    for value, label, name in GEOMETRY_FRACTIONS:
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
    ax.set_title(f"{_sweep_config(sweep)}, all $I_i = 1$:\n$D_i$ of represented features ($\\|W_i\\| > 0.5$)")
    ax.legend(loc="upper right", fontsize=7, markerscale=1.5)
    return fig


@_styled
def plot_dimensionality_histogram(sweep: Sweep, instance: int, ax: Axes | None = None, tol: float = 0.02) -> Figure:
    """Histogram of one model's D_i (represented features), with the fraction lines as labelled vertical guides."""
    _check_instance(instance, len(sweep))
    Di = feature_dimensionality(sweep.W[instance]).numpy()[0]
    kept = feature_norms(sweep.W[instance]).numpy()[0] > REPRESENTED_THRESHOLD
    fig, ax = _fig_ax(ax, (4.4, 3.2))
    d = Di[kept]
    on = nearest_fraction(d)[1] <= tol if d.size else np.zeros(0, bool)
    bins = np.arange(-0.01, 1.11, 0.02)  # centred on 0, 0.02, ...: 3/8, 2/5 and 1/2 fall in separate bins
    n_on, n_off = np.histogram(d[on], bins)[0], np.histogram(d[~on], bins)[0]
    ax.stairs(n_on, bins, fill=True, color=QUALITATIVE[0], label=f"within {tol:g} of a fraction")
    ax.stairs(n_on + n_off, bins, baseline=n_on, fill=True, color=MISSING, label="off the lines")
    for j, (value, label, _) in enumerate(v for v in GEOMETRY_FRACTIONS if 0 < v[0] < 1):
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
    for value, _, name in GEOMETRY_FRACTIONS:
        if FACTOR_SIZES.get(name) == size and abs(float(np.median(D)) - value) <= tol:
            return name
    return "alone" if size == 1 else f"{size}-feature factor"


def factor_summary(W: Any, threshold: float = GRAPH_THRESHOLD, max_kinds: int = 4) -> str:
    """The tegum factors of one model in words, most frequent first, e.g. '21 antipodal pairs, 3 pentagons'.

    A factor is named by its polytope only when its size and its features' median D_i both match (a factor
    of 2 whose D_i is 0.4, not 1/2, is a "2-feature factor": it overlaps weakly with features outside it).
    At most max_kinds kinds are listed; the rest are counted ("and 3 more factors").
    """
    w = torch.as_tensor(W).detach().float().cpu()
    D = feature_dimensionality(w)[0].numpy()
    names = [_factor_name(len(f), D[f]) for f in tegum_factors(w, threshold)]
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


@_styled
def plot_geometry_graph(W: Any, ax: Axes | None = None, title: str | None = None,
                        threshold: float = GRAPH_THRESHOLD, max_factors: int = 40) -> Figure:
    """The paper's feature geometry graph of one model: a node per represented feature, an edge where
    |W_i . W_j| > threshold (width and darkness grow with |W_i . W_j|).

    Each connected component (tegum factor) is drawn as a ring in its own cell, smallest factors first.
    W: [n_features, n_hidden] (one instance).  At most max_factors cells are drawn.
    """
    w = torch.as_tensor(W).detach().float().cpu()
    if w.ndim == 3 and w.shape[0] == 1:
        w = w[0]
    if w.ndim != 2:
        raise ValueError(f"W must have shape [n_features, n_hidden] (one instance), got {tuple(w.shape)}")
    factors = sorted(tegum_factors(w, threshold), key=lambda f: (len(f), f[0]))
    shown = factors[:max_factors]
    ncol = max(1, min(10, len(shown)))
    fig, ax = _fig_ax(ax, (6.2, 0.8 + 0.66 * math.ceil(len(shown) / ncol)))
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
        edge = g > threshold
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
    ax.set_title((f"feature geometry graph: {factor_summary(w, threshold)}" if title is None else title) + more)
    return fig


@_styled
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
    return fig


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


# --------------------------------------------------------------------------------------------- notebook 07
# Models with a privileged basis: W read directly (features x neurons), the per-neuron stacked bar plot,
# and the count of monosemantic neurons against density.

from matplotlib.collections import PolyCollection  # noqa: E402

from . import neurons as _neurons  # noqa: E402

__all__ += ["plot_neuron_weights", "plot_neuron_stack", "plot_monosemantic_vs_density"]

NEURON_SHADE = {"monosemantic": "#d9ecf7", "polysemantic": "#fbe3cf", "dead": "white"}  # pale blue / pale orange


@dataclass
class _Neurons:
    """One instance of a model with neurons: W [n_features, n_hidden] (feature i -> neuron j) as numpy, and more."""

    W: np.ndarray
    W2: np.ndarray | None  # abs model: neuron j -> output i, rescaled with W (see neurons.normalize_neurons)
    importance: np.ndarray | None
    positive_only: bool  # which weights make a neuron fire (see neurons.carries)
    config: str
    setting: str | None

    def title(self) -> str:
        return self.config + (f", {self.setting}" if self.setting else "")


def _neuron_model(obj: Any, instance: int = 0, importance: Any = None) -> _Neurons:
    """A ToyModel / Sweep (relu_hidden: W), an AbsValueModel / AbsSweep (W1 rescaled per neuron) or a W tensor."""
    setting, imp = None, None
    if hasattr(obj, "density") and hasattr(obj, "model") and hasattr(obj, "label"):  # a sweep
        _check_instance(instance, len(obj.density))
        setting, imp, obj = obj.label(instance), obj.importance[instance], obj.model
    if hasattr(obj, "W1") and hasattr(obj, "W2"):  # the absolute-value model
        _check_instance(instance, obj.W1.shape[0])
        W1, W2 = _neurons.normalize_neurons(obj.W1[instance].detach(), obj.W2[instance].detach())
        W, W2n, positive_only = W1[0].numpy(), W2[0].numpy(), False  # type: ignore[index]
        config = f"|x| model, {W.shape[0]} features → {W.shape[1]} neurons"
    else:
        one = _resolve(obj, instance)
        W, W2n, positive_only = one.W, None, True
        config = one.config()
        if one.kind == "relu_hidden":  # its hidden dimensions are neurons
            config = config[: config.rindex(" hidden")] + " neurons"
    if importance is not None:
        imp = importance
    if imp is not None:
        imp = np.asarray(torch.as_tensor(imp, dtype=torch.float32).cpu()).reshape(-1)
        if imp.shape[0] != W.shape[0]:
            raise ValueError(f"importance must have one value per feature ({W.shape[0]}), got {imp.shape[0]}")
    return _Neurons(W, W2n, imp, positive_only, config, setting)


def _neuron_order(W: np.ndarray, positive_only: bool) -> np.ndarray:
    """Neurons sorted by their largest feature (feature 0 = most important first), ties by that weight."""
    A = np.clip(W, 0, None) if positive_only else np.abs(W)
    top = A.argmax(0)
    return np.lexsort((-A.max(0), top))


@_styled
def plot_neuron_weights(
    model: Any, instance: int = 0, ax: Axes | None = None, title: str | None = None, *,
    sort: bool = True, colorbar: bool = True,
) -> Figure:
    """W read directly: a features x neurons heatmap (diverging, white = 0), rows = features (0 at the top).

    model: a relu_hidden ToyModel or Sweep (W), an AbsValueModel or AbsSweep (W1, each neuron rescaled so its
    largest |weight| is 1), or a W tensor.  sort: neurons ordered by their largest feature (the order of
    neurons is arbitrary; this makes a diagonal out of monosemantic ones).
    """
    one = _neuron_model(model, instance)
    W = one.W
    order = _neuron_order(W, one.positive_only) if sort else np.arange(W.shape[1])
    n, m = W.shape
    vmax = float(np.abs(W).max(initial=0.0)) or 1.0
    fig, ax = _fig_ax(ax, (4.4, 3.6) if n <= 20 and m <= 12 else (8.0, 5.0))
    im = ax.imshow(W[:, order], cmap=DIVERGING, vmin=-vmax, vmax=vmax, interpolation="nearest", aspect="auto")
    _feature_ticks(ax, n, "y")
    ax.set_xticks(range(m) if m <= 12 else range(0, m, 5))
    ax.set_xlabel("neuron (sorted by its largest feature)" if sort else "neuron j")
    ax.set_ylabel("feature i")
    ax.spines[:].set_visible(False)
    ax.set_title(one.title().replace(" neurons, ", " neurons\n", 1) if title is None else title)
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.9, label="$W_{1}$ (rescaled)" if one.W2 is not None else "$W_{ij}$")
    return fig


@_styled
def plot_neuron_stack(
    model: Any, instance: int = 0, ax: Axes | None = None, title: str | None = None, *,
    importance: Any = None, sort: bool = True, legend: bool = True, colorbar: bool = True,
) -> Figure:
    """The paper's per-neuron stacked bar plot: one column per neuron, one rectangle per feature.

    Rectangle height |W_ij|, colour = the feature (by importance: dark = most important), positive weights
    stacked above the axis (largest at the bottom), negative weights below it.  The column's background
    is shaded by what the neuron carries (neurons.neuron_labels): pale blue monosemantic, pale orange
    polysemantic.  For the |x| model each neuron is first rescaled so its largest |W1| entry is 1, and
    neurons are sorted by the importance of their largest feature (as in the paper).
    """
    one = _neuron_model(model, instance, importance)
    W = one.W
    n, m = W.shape
    order = _neuron_order(W, one.positive_only) if sort else np.arange(m)
    labels = _neurons.neuron_labels(torch.as_tensor(W), positive_only=one.positive_only)[0]
    imp = one.importance
    if imp is not None and float(imp.max() - imp.min()) > 1e-9:
        norm = Normalize(float(imp.min()), float(imp.max()))
        cmap = FEATURE_CMAP.reversed()
        colors, sm = cmap(norm(imp)), ScalarMappable(norm=norm, cmap=cmap)
    else:
        colors, sm = FEATURE_CMAP(np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)), None
    fig, ax = _fig_ax(ax, (max(3.2, 1.6 + 0.45 * m) if m <= 12 else 8.0, 3.4))
    edge = 0.4 if n <= 20 else 0.0  # 100 thin outlines would hide the colours
    # All rectangles as one PolyCollection (one ax.bar per weight takes seconds for 100 x 40 weights).
    boxes, face = [], []
    top, bottom = 0.0, 0.0
    for col, j in enumerate(order):
        ax.axvspan(col - 0.5, col + 0.5, color=NEURON_SHADE[labels[j]], zorder=0, lw=0)
        w = W[:, j]
        stacked = {True: 0.0, False: 0.0}  # running height above / below the axis
        for i in np.argsort(-np.abs(w)):  # largest next to the axis
            base = stacked[bool(w[i] >= 0)]
            x0, x1 = col - 0.375, col + 0.375
            boxes.append([(x0, base), (x1, base), (x1, base + w[i]), (x0, base + w[i])])
            face.append(colors[i])
            stacked[bool(w[i] >= 0)] = base + w[i]
        top, bottom = max(top, stacked[True]), min(bottom, stacked[False])
    ax.add_collection(PolyCollection(boxes, facecolors=face, edgecolors="0.25", linewidths=edge, zorder=2))
    ax.axhline(0, color="0.2", lw=0.8, zorder=3)
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(bottom * 1.05 - 0.05, top * 1.05 + 0.05)
    ax.set_xticks(range(m) if m <= 12 else range(0, m, 5))
    ax.set_xlabel("neuron (sorted by its largest feature)" if sort else "neuron j")
    what = "$|W_{1}|$ (rescaled)" if one.W2 is not None else "$|W_{ij}|$"
    ax.set_ylabel(f"{what}, stacked\n(negative weights below 0)")
    ax.set_title(one.title() if title is None else title)
    if legend:
        n_mono = labels.count("monosemantic")
        handles = [Patch(fc=NEURON_SHADE["monosemantic"], label=f"monosemantic neuron ({n_mono})"),
                   Patch(fc=NEURON_SHADE["polysemantic"], label=f"polysemantic ({labels.count('polysemantic')})")]
        _legend_below(ax, handles, drop_points=30.0)
    if colorbar and sm is not None:
        fig.colorbar(sm, ax=ax, shrink=0.9, label="feature importance $I_i$")
    return fig


@_styled
def plot_monosemantic_vs_density(
    sweeps: Mapping[str, Any], ax: Axes | None = None, fraction: float = _neurons.FRACTION,
) -> Figure:
    """The fraction of neurons that are monosemantic (carry exactly one feature) against the density p
    (log x, dense on the left), one line per sweep; a dict's keys label the lines.

    Works for relu_hidden Sweeps (positive weights count) and AbsSweeps (both signs count; see neurons.carries).
    """
    if not isinstance(sweeps, Mapping) or not sweeps:
        raise ValueError("sweeps must be a non-empty dict {label: sweep}")
    fig, ax = _fig_ax(ax, (5.2, 3.4))
    for s_i, (label, sweep) in enumerate(sweeps.items()):
        abs_model = hasattr(sweep, "W1")
        W = sweep.W1 if abs_model else sweep.W
        counts = _neurons.n_monosemantic(W, fraction, positive_only=not abs_model).numpy()
        p = sweep.density.numpy()
        order = np.argsort(-p)
        m = W.shape[-1]
        ax.plot(p[order], counts[order] / m, marker="os^Dv"[s_i % 5], color=QUALITATIVE[s_i % len(QUALITATIVE)],
                lw=1.5, ms=4, label=f"{label} (m = {m})")
    _density_axis(ax)
    ax.set_ylim(-0.03, 1.05)
    ax.set_ylabel("monosemantic neurons\n(fraction of the m neurons)")
    ax.set_title("Dense → monosemantic neurons; sparse → polysemantic")
    ax.legend(loc="lower left")
    return fig
