"""Notebook 08's figures: feature sets in 2-D, the non-uniform families' losses, and learning dynamics.

Every function returns the Figure it drew on; pass ax= to draw into your own axes.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.ticker import NullFormatter
import numpy as np
import torch

from .core import FEATURE_CMAP, QUALITATIVE, _fig_ax, _styled

__all__ = [
    "plot_set_embedding_2d", "plot_family_losses", "plot_dimensionality_over_training", "plot_loss_over_training",
]

_MEMBER_STYLES = ("-", "--", ":", "-.")


def _check_run(run: Any, attrs: tuple[str, ...], what: str) -> None:
    """ValueError unless `run` has the attributes of the experiment result the figure draws."""
    if not all(hasattr(run, a) for a in attrs):
        raise ValueError(f"run must be {what}, got {type(run).__name__}")


def _W2(obj: Any, instance: int) -> np.ndarray:
    """[n_features, 2] weights of one instance from a Sweep/ToyModel/tensor."""
    W = getattr(obj, "W", obj)
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().numpy()
    W = np.asarray(W, dtype=float)
    if W.ndim == 3:
        if not isinstance(instance, int) or not 0 <= instance < W.shape[0]:
            raise ValueError(f"instance must be an integer in 0..{W.shape[0] - 1}, got {instance!r}")
        W = W[instance]
    if W.ndim != 2 or W.shape[1] != 2:
        raise ValueError(f"plot_set_embedding_2d needs n_hidden = 2 weights [n_features, 2], got shape {W.shape}")
    return W


@_styled
def plot_set_embedding_2d(
    obj: Any, instance: int = 0, set_size: int | None = None, ax: Axes | None = None, title: str | None = None,
) -> Figure:
    """Each feature's direction W_i in the 2-D hidden space, coloured by its set (Okabe-Ito colours), one line
    style per member (set s = features s*set_size ..): the picture of which features share, oppose or split
    the plane.  obj: a SetSweep (its set_size is used), a ToyModel, or W [n_instances, n, 2] / [n, 2]."""
    W = _W2(obj, instance)
    s = getattr(obj, "set_size", 2) if set_size is None else set_size
    if isinstance(s, bool) or not isinstance(s, int) or s < 1 or W.shape[0] % s:
        raise ValueError(f"set_size must be a positive integer dividing n_features={W.shape[0]}, got {s!r}")
    fig, ax = _fig_ax(ax, (4.2, 3.8))
    ax.add_patch(Circle((0, 0), 1.0, fill=False, ls=":", lw=0.8, ec="0.6", zorder=0))
    norms = np.linalg.norm(W, axis=1)
    for i, (x, y) in enumerate(W):
        k, j = divmod(i, s)
        c = QUALITATIVE[k % len(QUALITATIVE)]
        ax.plot([0, x], [0, y], color=c, ls=_MEMBER_STYLES[j % len(_MEMBER_STYLES)], lw=2, marker="o",
                markevery=[1], ms=4, label=f"set {k}" if j == 0 else None, gid=f"feature-{i}")
        if norms[i] > 0.1:
            ax.annotate(str(i), (x, y), xytext=(10 * x / norms[i], 10 * y / norms[i]), textcoords="offset points",
                        ha="center", va="center", fontsize=8, color=c, fontweight="bold")
    lim = max(1.35, 1.25 * float(norms.max(initial=0.0)))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("hidden dimension 1")
    ax.set_ylabel("hidden dimension 2")
    if W.shape[0] // s <= 6:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, title="solid/dashed: members",
                  title_fontsize=7)
    ax.set_title("feature directions, coloured by set" if title is None else title)
    return fig


@_styled
def plot_family_losses(run: Any, ax: Axes | None = None, mark: float | None = None) -> Figure:
    """Non-uniform superposition: each family's loss against the ratio (feature 4's density = p / ratio), drawn
    where the family keeps its shape, with the crossing (the critical ratio) as a vertical line.
    mark: a ratio to highlight (the explorer's current setting)."""
    _check_run(run, ("ratio", "loss", "intact", "critical_ratio"),
               "an experiments.NonUniformRun (experiments.nonuniform_superposition)")
    fig, ax = _fig_ax(ax, (5.2, 3.4))
    r = run.ratio.numpy()
    for c, (fam, label) in zip(QUALITATIVE, (("pentagon", "pentagon (5 features)"),
                                             ("digons", "two digons (feature 4 dropped)"))):
        ok = run.intact(fam).numpy()
        L = np.where(ok, run.loss[fam].numpy(), np.nan)
        ax.plot(r, L, color=c, marker="o", ms=3.5, lw=1.6, label=label, gid=f"family-{fam}")
    try:
        rc = run.critical_ratio()
        ax.axvline(rc, color="0.35", ls="--", lw=1, gid="critical-ratio")
        ax.text(rc, 0.03, f" crossing ≈ {rc:.2g}×", transform=ax.get_xaxis_transform(), va="bottom", fontsize=8,
                color="0.3")
    except ValueError:
        pass
    if mark is not None:
        ax.axvline(float(mark), color=QUALITATIVE[4], lw=2.5, alpha=0.5, gid="mark")
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 4, 8], ["1", "2", "4", "8"])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("feature 4 is this many times sparser (density p / ratio, log scale)")
    ax.set_ylabel("loss")
    ax.set_title(f"5 features → 2 dims, p = {run.density:.3g}: the two solutions")
    ax.legend(loc="lower left")
    return fig


_DYNAMICS = ("step", "W", "loss", "dimensionality")
_DYNAMICS_WHAT = "an experiments.TrainingRun (experiments.learning_dynamics)"


def _mark(ax: Axes, run: Any, index: int | None) -> None:
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(run.step):
            raise ValueError(f"mark must be a snapshot index in 0..{len(run.step) - 1}, got {index!r}")
        ax.axvline(float(run.step[index]), color=QUALITATIVE[4], lw=2.5, alpha=0.6, gid="mark")


@_styled
def plot_dimensionality_over_training(run: Any, ax: Axes | None = None, mark: int | None = None) -> Figure:
    """Learning dynamics: every feature's dimensionality D_i against the training step, with the paper's
    "energy levels" 1, 1/2 (antipodal pair) and 2/5 (pentagon) as guides.  mark: a snapshot index to highlight."""
    _check_run(run, _DYNAMICS, _DYNAMICS_WHAT)
    fig, ax = _fig_ax(ax, (5.6, 3.2))
    D = run.dimensionality.numpy()
    steps = run.step.numpy()
    for level, name in ((1.0, "1"), (0.5, "1/2"), (0.4, "2/5")):
        ax.axhline(level, color="0.75", lw=0.8, ls=":")
        ax.text(steps[-1], level, f" {name}", va="center", fontsize=7, color="0.4")
    n = D.shape[1]
    for i in range(n):  # the colours of plot_feature_embeddings_2d (by feature index)
        ax.plot(steps, D[:, i], color=FEATURE_CMAP(i / max(1, n - 1)), lw=1.4, label=f"feature {i}", gid=f"D-{i}")
    _mark(ax, run, mark)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("training step")
    ax.set_ylabel("feature dimensionality $D_i$")
    ax.set_title("$D_i$ during training")
    ax.legend(loc="lower right", ncol=2, fontsize=7)
    return fig


@_styled
def plot_loss_over_training(run: Any, ax: Axes | None = None, mark: int | None = None) -> Figure:
    """Learning dynamics: each snapshot's loss on one fixed evaluation set (log scale) against the step."""
    _check_run(run, _DYNAMICS, _DYNAMICS_WHAT)
    fig, ax = _fig_ax(ax, (5.6, 3.0))
    ax.plot(run.step.numpy(), run.loss.numpy(), color="0.15", lw=1.5, gid="loss")
    _mark(ax, run, mark)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (fixed evaluation set)")
    ax.set_title("loss during training")
    return fig
