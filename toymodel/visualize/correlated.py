"""Notebook 08's figures: feature sets in 2-D, the non-uniform families' losses, and learning dynamics.

Every function returns the Figure it drew on; pass ax= to draw into your own axes.

The learning-dynamics and non-uniform results (experiments.TrainingRun, experiments.NonUniformRun) are
defined in toymodel.experiments, above this package, so they are matched by their shape: the runtime-checkable
protocols TrainingRunLike and NonUniformRunLike (internal building blocks, also used by toymodel.widgets).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.ticker import NullFormatter
import numpy as np
import torch

from ..model import ToyModel
from ..sweeps import SetSweep, Sweep
from ..validate import check_int, check_positive_int
from .base import QUALITATIVE, check_index, feature_colors, fig_ax, styled

__all__ = [
    "plot_set_embedding_2d", "plot_family_losses", "plot_dimensionality_over_training", "plot_loss_over_training",
    "NonUniformRunLike", "TrainingRunLike",
]

_MEMBER_STYLES = ("-", "--", ":", "-.")
_NON_UNIFORM_RUN = "an experiments.NonUniformRun (experiments.nonuniform_superposition)"
_TRAINING_RUN = "an experiments.TrainingRun (experiments.learning_dynamics)"


@runtime_checkable
class NonUniformRunLike(Protocol):
    """What experiments.NonUniformRun offers the figures: 5 features in 2-D, feature 4 `ratio` times sparser.

    ratio [n_r]; W and loss: {"pentagon": ..., "digons": ...} ([n_r, 5, 2] and [n_r]); density p.
    """

    density: float
    ratio: torch.Tensor
    W: dict[str, torch.Tensor]
    loss: dict[str, torch.Tensor]

    def shape_of(self, W: torch.Tensor) -> torch.Tensor: ...

    def intact(self, family: str) -> torch.Tensor: ...

    def critical_ratio(self) -> float: ...


@runtime_checkable
class TrainingRunLike(Protocol):
    """What experiments.TrainingRun offers the figures: step [n_snap], W [n_snap, n, m], loss [n_snap],
    dimensionality [n_snap, n] (D_i at every snapshot), density p and the run's total steps."""

    step: torch.Tensor
    W: torch.Tensor
    loss: torch.Tensor
    density: float
    steps: int

    @property
    def dimensionality(self) -> torch.Tensor: ...


def _W2(obj: SetSweep | Sweep | ToyModel | torch.Tensor | np.ndarray, instance: int) -> np.ndarray:
    """[n_features, 2] weights of one instance from a Sweep/ToyModel/tensor."""
    W = obj.W if isinstance(obj, (Sweep, ToyModel)) else obj
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().numpy()
    W = np.asarray(W, dtype=float)
    if W.ndim == 3:
        W = W[check_index(instance, W.shape[0])]
    if W.ndim != 2 or W.shape[1] != 2:
        raise ValueError(f"plot_set_embedding_2d needs n_hidden = 2 weights [n_features, 2], got shape {W.shape}")
    return W


@styled
def plot_set_embedding_2d(
    obj: SetSweep | Sweep | ToyModel | torch.Tensor | np.ndarray, instance: int = 0, set_size: int | None = None,
    ax: Axes | None = None, title: str | None = None,
) -> Figure:
    """Each feature's direction W_i in the 2-D hidden space, coloured by its set (Okabe-Ito colours), one line
    style per member (set s = features s*set_size ..): the picture of which features share, oppose or split
    the plane.  obj: a SetSweep (its set_size is used), a ToyModel, or W [n_instances, n, 2] / [n, 2]."""
    W = _W2(obj, instance)
    s = (obj.set_size if isinstance(obj, SetSweep) else 2) if set_size is None else set_size
    wrong = f"set_size must be a positive integer dividing n_features={W.shape[0]}, got {s!r}"
    try:
        s = check_positive_int("set_size", s)
    except ValueError:
        raise ValueError(wrong) from None
    if W.shape[0] % s:
        raise ValueError(wrong)
    fig, ax = fig_ax(ax, (4.2, 3.8))
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


@styled
def plot_family_losses(run: NonUniformRunLike, ax: Axes | None = None, mark: float | None = None) -> Figure:
    """Non-uniform superposition: each family's loss against the ratio (feature 4's density = p / ratio), drawn
    where the family keeps its shape, with the crossing (the critical ratio) as a vertical line.
    mark: a ratio to highlight (the explorer's current setting)."""
    if not isinstance(run, NonUniformRunLike):
        raise ValueError(f"run must be {_NON_UNIFORM_RUN}, got {type(run).__name__}")
    fig, ax = fig_ax(ax, (5.2, 3.4))
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
    ax.set_ylabel("expected loss")  # NonUniformRun.loss: correlated.expected_loss, no sampling noise
    ax.set_title(f"5 features → 2 dims, p = {run.density:.3g}: the two solutions")
    ax.legend(loc="lower left")
    return fig


def _check_training_run(run: object) -> None:
    if not isinstance(run, TrainingRunLike):
        raise ValueError(f"run must be {_TRAINING_RUN}, got {type(run).__name__}")


def _mark(ax: Axes, run: TrainingRunLike, index: int | None) -> None:
    if index is not None:
        try:
            index = check_int("mark", index, low=0, high=len(run.step) - 1)
        except ValueError:
            raise ValueError(f"mark must be a snapshot index in 0..{len(run.step) - 1}, got {index!r}") from None
        ax.axvline(float(run.step[index]), color=QUALITATIVE[4], lw=2.5, alpha=0.6, gid="mark")


@styled
def plot_dimensionality_over_training(run: TrainingRunLike, ax: Axes | None = None, mark: int | None = None) -> Figure:
    """Learning dynamics: every feature's dimensionality D_i against the training step, with the paper's
    "energy levels" 1, 1/2 (antipodal pair) and 2/5 (pentagon) as guides.  mark: a snapshot index to highlight."""
    _check_training_run(run)
    fig, ax = fig_ax(ax, (5.6, 3.2))
    D = run.dimensionality.numpy()
    steps = run.step.numpy()
    for level, name in ((1.0, "1"), (0.5, "1/2"), (0.4, "2/5")):
        ax.axhline(level, color="0.75", lw=0.8, ls=":")
        ax.text(steps[-1], level, f" {name}", va="center", fontsize=7, color="0.4")
    colors, _ = feature_colors(D.shape[1], None)  # the colours of plot_feature_embeddings_2d (by feature index)
    for i in range(D.shape[1]):
        ax.plot(steps, D[:, i], color=colors[i], lw=1.4, label=f"feature {i}", gid=f"D-{i}")
    _mark(ax, run, mark)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("training step")
    ax.set_ylabel("feature dimensionality $D_i$")
    ax.set_title("$D_i$ during training")
    ax.legend(loc="lower right", ncol=2, fontsize=7)
    return fig


@styled
def plot_loss_over_training(run: TrainingRunLike, ax: Axes | None = None, mark: int | None = None) -> Figure:
    """Learning dynamics: each snapshot's loss on one fixed evaluation set (log scale) against the step."""
    _check_training_run(run)
    fig, ax = fig_ax(ax, (5.6, 3.0))
    ax.plot(run.step.numpy(), run.loss.numpy(), color="0.15", lw=1.5, gid="loss")
    _mark(ax, run, mark)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (fixed evaluation set)")
    ax.set_title("loss during training")
    return fig
