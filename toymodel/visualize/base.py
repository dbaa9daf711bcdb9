"""The shared style, palettes and axis labels, and the small helpers every figure module builds on.

See the package docstring (toymodel.visualize) for the conventions every figure follows.  Public here (and
re-exported by toymodel.visualize): STYLE, style, use_style, the palettes (SEQUENTIAL, DIVERGING, MISSING,
QUALITATIVE, FEATURE_CMAP), config_title, feature_colors, dstar_guides.

Internal building blocks (shared by the figure modules of this package and by toymodel.widgets; not part of
the figure API, so toymodel.visualize does not re-export them):

    styled            decorator: run a figure function inside `with style():`
    Instance          one instance of a model as numpy (W, b, kind, importance, its setting) and its title
    resolve_instance  read one Instance out of a Sweep, a ToyModel or a W tensor/array
    importance_vector importance as a flat array of n_features values
    check_index       ValueError unless an instance index is an integer in [0, n)
    sweep_config      "ReLU output, 5 features → 2 hidden": a sweep's model in words
    fig_ax            the (figure, axes) to draw on: the caller's axes, or a new constrained figure
    feature_ticks     integer feature ticks, thinned for many features
    legend_below      a legend under the x label, where it covers no data
    density_axis      the log density axis, dense (p = 1) on the left
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
import functools
from typing import Any, TypeVar

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, ListedColormap, Normalize
from matplotlib.figure import Figure
import matplotlib.pyplot as plt
from matplotlib.transforms import offset_copy
import numpy as np
import torch

from ..data import density_label
from ..model import ToyModel
from ..sweeps import DensitySweep, Sweep
from ..validate import check_int

__all__ = [
    # the style and palettes (public)
    "STYLE", "style", "use_style", "SEQUENTIAL", "DIVERGING", "MISSING", "QUALITATIVE", "FEATURE_CMAP",
    "KIND_NAMES", "NORM_LABEL", "SUPERPOSITION_LABEL", "P_AXIS_LABEL",
    # small public helpers
    "config_title", "feature_colors", "dstar_guides",
    # internal building blocks (see the module docstring)
    "ModelLike", "styled", "Instance", "resolve_instance", "importance_vector", "check_index", "sweep_config",
    "fig_ax", "feature_ticks", "legend_below", "density_axis",
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
ModelLike = ToyModel | Sweep | torch.Tensor | np.ndarray  # what the one-model figures take


def style() -> AbstractContextManager[Any]:
    """Context manager applying STYLE: `with style(): fig, ax = plt.subplots()`."""
    return plt.rc_context(STYLE)


def use_style() -> None:
    """Apply STYLE globally (e.g. once in a notebook's setup cell)."""
    plt.rcParams.update(STYLE)


def styled(func: F) -> F:
    """Decorator: run the figure function inside `with style():`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with style():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- inputs


@dataclass
class Instance:
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


def importance_vector(importance: Any, n_features: int) -> np.ndarray | None:
    """Importance as a flat numpy array of n_features values (None stays None); ValueError on a wrong length."""
    if importance is None:
        return None
    imp = np.asarray(torch.as_tensor(importance, dtype=torch.float32).cpu()).reshape(-1)
    if imp.shape[0] != n_features:
        raise ValueError(f"importance must have one value per feature ({n_features}), got {imp.shape[0]}")
    return imp


def check_index(instance: object, n: int) -> int:
    """The instance index as an int; ValueError unless it is an integer in [0, n)."""
    try:
        return check_int("instance", instance, low=0, high=n - 1)
    except ValueError:
        raise ValueError(f"instance must be an integer in [0, {n}), got {instance!r}") from None


def resolve_instance(obj: ModelLike, instance: int = 0, importance: Any = None,
                     density: float | None = None) -> Instance:
    """Read one instance out of a Sweep, a ToyModel or a W tensor/array ([n_instances, n, m] or [n, m]).

    A Sweep gives the setting (sweep.label) and the importance; `importance` and `density` override them.
    """
    kind, b, setting, imp = None, None, None, None
    if isinstance(obj, Sweep):
        sweep = obj
        obj = sweep.model
        check_index(instance, len(sweep))
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
    instance = check_index(instance, W.shape[0])
    W3 = W[instance : instance + 1].float().cpu()
    if importance is not None:
        imp = importance
    if density is not None:
        setting = density_label(density)
    return Instance(
        W=W3[0].numpy(),
        b=None if b is None else b[instance].float().cpu().numpy(),
        kind=kind,
        importance=importance_vector(imp, W.shape[1]),
        setting=setting,
        instance=instance,
        n_instances=W.shape[0],
        W3=W3,
    )


def config_title(model_or_W: ModelLike, instance: int = 0, density: float | None = None) -> str:
    """The title every figure uses, e.g. 'ReLU output, 5 features → 2 hidden, p = 0.05 (S = 0.95)'."""
    return resolve_instance(model_or_W, instance, density=density).title()


def sweep_config(sweep: DensitySweep) -> str:
    """A sweep's model in words, e.g. 'ReLU output, 5 features → 2 hidden'."""
    m = sweep.model
    return f"{KIND_NAMES.get(m.kind, m.kind)}, {m.n_features} features → {m.n_hidden} hidden"


# --------------------------------------------------------------------------------------------- small figure helpers


def fig_ax(ax: Axes | None, figsize: tuple[float, float], projection: str | None = None) -> tuple[Figure, Axes]:
    """(figure, axes) to draw on: the figure of the caller's `ax`, or a new constrained-layout figure."""
    if ax is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot(projection=projection)
        return fig, ax
    return ax.get_figure(root=True), ax


def feature_ticks(ax: Axes, n: int, axis: str = "both") -> None:
    """Ticks at feature indices 0, 1, ... (every 2nd or ~10 in all for many features) on the x and/or y axis."""
    step = 1 if n <= 12 else (2 if n <= 24 else max(1, n // 10))
    ticks = list(range(0, n, step))
    if axis in ("x", "both"):
        ax.set_xticks(ticks)
    if axis in ("y", "both"):
        ax.set_yticks(ticks)


def legend_below(ax: Axes, handles: list[Any], ncol: int = 2, drop_points: float = 30.0) -> None:
    """A legend under the x label (drop_points below the axes), where it covers no data."""
    trans = offset_copy(ax.transAxes, fig=ax.get_figure(root=True), x=0, y=-drop_points, units="points")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=trans, ncol=ncol)


def density_axis(ax: Axes) -> None:
    """Log density axis, dense (p = 1) on the left, sparse on the right."""
    ax.set_xscale("log")
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    ax.set_xlabel(P_AXIS_LABEL)
    ax.annotate("sparser →", (1.0, 0.0), xycoords="axes fraction", xytext=(0, -16), textcoords="offset points",
                ha="right", va="top", fontsize=7, color="0.4")


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
