"""The shared style and the figures of the core notebooks (01-04): embeddings, W^T W, norms, sweeps, D*, D_i.

See the package docstring (toymodel.visualize) for the conventions every figure follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
import functools
import math
from typing import TYPE_CHECKING, Any, TypeVar

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch
import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, MaxNLocator
from matplotlib.transforms import offset_copy
import numpy as np
import torch

from ..geometry import FRACTIONS
from ..metrics import (
    REPRESENTED_THRESHOLD,
    compute_feature_interference,
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    superposition,
)
from ..model import ToyModel
from ..train import TrainResult

if TYPE_CHECKING:  # only for type hints: experiments imports this module's neighbours, not the reverse
    from ..experiments import Sweep

__all__ = [
    "STYLE", "style", "use_style", "config_title", "feature_colors", "dstar_guides",
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
P_AXIS_LABEL = "density p = 1 - S (log scale)"

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


def _importance_vector(imp: Any, n_features: int) -> np.ndarray | None:
    """Importance as a flat numpy array of n_features values (None stays None); ValueError on a wrong length."""
    if imp is None:
        return None
    imp = np.asarray(torch.as_tensor(imp, dtype=torch.float32).cpu()).reshape(-1)
    if imp.shape[0] != n_features:
        raise ValueError(f"importance must have one value per feature ({n_features}), got {imp.shape[0]}")
    return imp


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
    imp = _importance_vector(imp, W.shape[1])
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


def feature_colors(n: int, importance: np.ndarray | None,
                   equal_in_one_colour: bool = True) -> tuple[np.ndarray, ScalarMappable | None]:
    """One colour per feature, [n, 4], and the importance colour scale (None when colours are not importance).

    By importance (most important = dark) if known and not all equal; equal importances get one colour
    (equal_in_one_colour) or, like unknown importance, a colour per feature index.
    """
    imp = importance
    if imp is not None and float(imp.max() - imp.min()) > 1e-9:
        norm = Normalize(float(imp.min()), float(imp.max()))
        cmap = FEATURE_CMAP.reversed()
        return cmap(norm(imp)), ScalarMappable(norm=norm, cmap=cmap)
    if imp is not None and equal_in_one_colour:
        return np.repeat(np.asarray(FEATURE_CMAP(0.35))[None], n, axis=0), None
    return FEATURE_CMAP(np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)), None


def dstar_guides(ax: Axes) -> None:
    """Dotted, labelled guides at D* = 1 (a dimension per feature) and 1/2 (antipodal pairs)."""
    for level, text in ((1.0, "1: a dimension per feature"), (0.5, "1/2: antipodal pairs")):
        ax.axhline(level, color="0.45", ls=":", lw=1, zorder=0)
        ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"), xytext=(-3, 2),
                    textcoords="offset points", ha="right", va="bottom", fontsize=7, color="0.3")


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
    colors, _ = feature_colors(one.n_features, one.importance)
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
    n_feat = max(_resolve(m, k).n_features for m, k in zip(models, idx))
    w, h = _panel_size(view, n_feat)
    fig = plt.figure(figsize=(w * len(models) + (0.8 if view in ("norms", "interference") else 0), h + 0.4),
                     layout="constrained")
    axes = []
    for p, (m, k) in enumerate(zip(models, idx)):
        ax = fig.add_subplot(1, len(models), p + 1, projection=_projection(view, m))
        t = titles[p] if titles is not None else _wrap_title(_resolve(m, k).title())
        _draw(view, m, k, ax, t)
        axes.append(ax)
    _finish_panels(fig, axes, view)
    return fig


def _wrap_title(text: str) -> str:
    """Break a long config title after its model part, for narrow panels."""
    return text.replace(" hidden, ", " hidden\n", 1) if len(text) > 34 else text


@_styled
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
    dstar_guides(ax)
    top = min(max(values + [1.0]) * 1.08, 3.0)
    ax.set_ylim(0, max(1.2, top))
    ax.set_ylabel(r"dimensions per feature $D^* = m/\|W\|_F^2$")
    n = first.model.n_features
    ax.set_title(f"{KIND_NAMES.get(first.model.kind, first.model.kind)}, {n} features: $D^*$")
    return fig




@_styled
def plot_feature_dimensionality(sweep: Sweep, ax: Axes | None = None) -> Figure:
    """Feature dimensionality D_i of every represented feature against density (the paper's sticky fractions).

    Dots: D_i = ||W_i||^2 / sum_j (W^_i . W_j)^2 for features with ||W_i|| > 0.5, one column per
    instance; line: D* of each instance; dotted guides at the fractions of geometry.FRACTIONS (1 ... 3/8).
    """
    order = np.argsort(-sweep.density.numpy())
    p = sweep.density.numpy()
    Di = feature_dimensionality(sweep.W).numpy()
    kept = feature_norms(sweep.W).numpy() > REPRESENTED_THRESHOLD
    fig, ax = _fig_ax(ax, (5.2, 3.4))
    for level, text, _ in (f for f in FRACTIONS if f[0] > 0):
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
    smoothing = "" if window == 1 else f"\nmean of {window} logged batches"
    ax.set_ylabel(f"training loss (log scale){smoothing}")
    head = f"{_sweep_config(sweep)}: " if sweep is not None else ""
    ax.set_title(f"{head}training loss per instance ({result.steps} steps)")
    if n_inst <= 12:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
