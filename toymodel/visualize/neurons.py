"""Figures for notebook 07, models with a privileged basis: W read directly (features x neurons), the
per-neuron stacked bar plot, and the count of monosemantic neurons against density.

Internal building blocks (used by toymodel.widgets' NeuronExplorer; not part of the figure API):
NeuronInstance (one instance of a model with neurons) and neuron_model (read one out of a sweep or model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
import numpy as np
import torch

from ..computation import AbsValueModel
from ..neurons import FRACTION, n_monosemantic, neuron_labels, normalize_neurons
from ..sweeps import AbsSweep, Sweep
from .base import (
    DIVERGING,
    QUALITATIVE,
    ModelLike,
    check_index,
    density_axis,
    feature_colors,
    feature_ticks,
    fig_ax,
    importance_vector,
    legend_below,
    resolve_instance,
    styled,
)

__all__ = ["plot_neuron_weights", "plot_neuron_stack", "plot_monosemantic_vs_density", "NeuronInstance",
           "neuron_model"]

NEURON_SHADE = {"monosemantic": "#d9ecf7", "polysemantic": "#fbe3cf", "dead": "white"}  # pale blue / pale orange


@dataclass
class NeuronInstance:
    """One instance of a model with neurons: W [n_features, n_hidden] (feature i -> neuron j) as numpy, and more."""

    W: np.ndarray
    W2: np.ndarray | None  # abs model: neuron j -> output i, rescaled with W (see neurons.normalize_neurons)
    importance: np.ndarray | None
    positive_only: bool  # which weights make a neuron fire (see neurons.carries)
    config: str
    setting: str | None

    def title(self) -> str:
        return self.config + (f", {self.setting}" if self.setting else "")


NeuronModelLike = ModelLike | AbsValueModel | AbsSweep  # what the neuron figures take


def neuron_model(obj: NeuronModelLike, instance: int = 0, importance: Any = None) -> NeuronInstance:
    """A ToyModel / Sweep (relu_hidden: W), an AbsValueModel / AbsSweep (W1 rescaled per neuron) or a W tensor."""
    setting, imp = None, None
    if isinstance(obj, (Sweep, AbsSweep)):
        check_index(instance, len(obj))
        setting, imp, obj = obj.label(instance), obj.importance[instance], obj.model
    if isinstance(obj, AbsValueModel):
        check_index(instance, obj.n_instances)
        W1, W2 = normalize_neurons(obj.W1[instance].detach(), obj.W2[instance].detach())
        W, W2n, positive_only = W1[0].numpy(), W2[0].numpy(), False  # type: ignore[index]
        config = f"|x| model, {W.shape[0]} features → {W.shape[1]} neurons"
    else:
        one = resolve_instance(obj, instance)
        W, W2n, positive_only = one.W, None, True
        config = one.config()
        if one.kind == "relu_hidden":  # its hidden dimensions are neurons
            config = config[: config.rindex(" hidden")] + " neurons"
    if importance is not None:
        imp = importance
    return NeuronInstance(W, W2n, importance_vector(imp, W.shape[0]), positive_only, config, setting)


def _neuron_order(W: np.ndarray, positive_only: bool) -> np.ndarray:
    """Neurons sorted by their largest feature (feature 0 = most important first), ties by that weight."""
    A = np.clip(W, 0, None) if positive_only else np.abs(W)
    top = A.argmax(0)
    return np.lexsort((-A.max(0), top))


@styled
def plot_neuron_weights(
    model: NeuronModelLike, instance: int = 0, ax: Axes | None = None, title: str | None = None, *,
    sort: bool = True, colorbar: bool = True,
) -> Figure:
    """W read directly: a features x neurons heatmap (diverging, white = 0), rows = features (0 at the top).

    model: a relu_hidden ToyModel or Sweep (W), an AbsValueModel or AbsSweep (W1, each neuron rescaled so its
    largest |weight| is 1), or a W tensor.  sort: neurons ordered by their largest feature (the order of
    neurons is arbitrary; this makes a diagonal out of monosemantic ones).
    """
    one = neuron_model(model, instance)
    W = one.W
    order = _neuron_order(W, one.positive_only) if sort else np.arange(W.shape[1])
    n, m = W.shape
    vmax = float(np.abs(W).max(initial=0.0)) or 1.0
    fig, ax = fig_ax(ax, (4.4, 3.6) if n <= 20 and m <= 12 else (8.0, 5.0))
    im = ax.imshow(W[:, order], cmap=DIVERGING, vmin=-vmax, vmax=vmax, interpolation="nearest", aspect="auto")
    feature_ticks(ax, n, "y")
    ax.set_xticks(range(m) if m <= 12 else range(0, m, 5))
    ax.set_xlabel("neuron (sorted by its largest feature)" if sort else "neuron j")
    ax.set_ylabel("feature i")
    ax.spines[:].set_visible(False)
    ax.set_title(one.title().replace(" neurons, ", " neurons\n", 1) if title is None else title)
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.9, label="$W_{1}$ (rescaled)" if one.W2 is not None else "$W_{ij}$")
    return fig


@styled
def plot_neuron_stack(
    model: NeuronModelLike, instance: int = 0, ax: Axes | None = None, title: str | None = None, *,
    importance: Any = None, sort: bool = True, legend: bool = True, colorbar: bool = True,
) -> Figure:
    """The paper's per-neuron stacked bar plot: one column per neuron, one rectangle per feature.

    Rectangle height |W_ij|, colour = the feature (by importance: dark = most important), positive weights
    stacked above the axis (largest at the bottom), negative weights below it.  colorbar: up to 20 features, a
    bar with one labelled swatch per feature (which rectangle is which feature); more, the importance scale.
    The column's background is shaded by what the neuron carries (neurons.neuron_labels): pale blue
    monosemantic, pale orange polysemantic.  For the |x| model each neuron is first rescaled so its largest
    |W1| entry is 1, and neurons are sorted by the importance of their largest feature (as in the paper).
    """
    one = neuron_model(model, instance, importance)
    W = one.W
    n, m = W.shape
    order = _neuron_order(W, one.positive_only) if sort else np.arange(m)
    labels = neuron_labels(torch.as_tensor(W), positive_only=one.positive_only)[0]
    colors, sm = feature_colors(n, one.importance, equal_in_one_colour=False)
    fig, ax = fig_ax(ax, (max(3.2, 1.6 + 0.45 * m) if m <= 12 else 8.0, 3.4))
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
        legend_below(ax, handles, drop_points=30.0)
    if colorbar and n <= 20:
        _feature_colorbar(fig, ax, colors, by_importance=sm is not None)
    elif colorbar and sm is not None:
        fig.colorbar(sm, ax=ax, shrink=0.9, label="feature importance $I_i$")
    return fig


def _feature_colorbar(fig: Figure, ax: Axes, colors: np.ndarray, by_importance: bool) -> None:
    """A colour bar with one labelled swatch per feature (feature 0 at the top), so each rectangle's feature can
    be read off the stacked bar plot."""
    n = len(colors)
    sm = ScalarMappable(norm=BoundaryNorm(np.arange(n + 1) - 0.5, n), cmap=ListedColormap(colors))
    label = "feature i\n(dark = most important)" if by_importance else "feature i"
    bar = fig.colorbar(sm, ax=ax, shrink=0.9, ticks=range(n), label=label)
    bar.ax.invert_yaxis()
    bar.ax.tick_params(length=0)


@styled
def plot_monosemantic_vs_density(
    sweeps: Mapping[str, Sweep | AbsSweep], ax: Axes | None = None, fraction: float = FRACTION,
) -> Figure:
    """The fraction of neurons that are monosemantic (carry exactly one feature) against the density p
    (log x, dense on the left), one line per sweep; a dict's keys label the lines.

    Works for relu_hidden Sweeps (positive weights count) and AbsSweeps (both signs count; see neurons.carries).
    """
    if not isinstance(sweeps, Mapping) or not sweeps:
        raise ValueError("sweeps must be a non-empty dict {label: sweep}")
    fig, ax = fig_ax(ax, (5.2, 3.4))
    for s_i, (label, sweep) in enumerate(sweeps.items()):
        if not isinstance(sweep, (Sweep, AbsSweep)):
            raise ValueError(f"sweeps[{label!r}] must be a relu_hidden Sweep or an AbsSweep, "
                             f"got {type(sweep).__name__}")
        abs_model = isinstance(sweep, AbsSweep)
        W = sweep.W1 if abs_model else sweep.W
        counts = n_monosemantic(W, fraction, positive_only=not abs_model).numpy()
        p = sweep.density.numpy()
        order = np.argsort(-p)
        m = W.shape[-1]
        ax.plot(p[order], counts[order] / m, marker="os^Dv"[s_i % 5], color=QUALITATIVE[s_i % len(QUALITATIVE)],
                lw=1.5, ms=4, label=f"{label} (m = {m})")
    density_axis(ax)
    ax.set_ylim(-0.03, 1.05)
    ax.set_ylabel("monosemantic neurons\n(fraction of the m neurons)")
    ax.set_title("Monosemantic neurons against density")
    ax.legend(loc="upper right")  # the curves fall from the top left: the upper right stays clear
    return fig
