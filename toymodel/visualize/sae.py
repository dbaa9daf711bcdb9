"""Notebook 09's figures: an SAE's latents over the toy model's features in 2-D, each feature's best cosine, MMCS
during training, and the sweep's Goldilocks figure (MMCS, L0, shrinkage and dead latents against the L1 coefficient).

Every function returns the Figure it drew on; pass ax= (or axes=) to draw into your own.

The sweep (experiments.SAESweep, from toymodel.experiments.sae) is defined above this package, so it is matched by its
shape: the runtime-checkable protocol SAESweepLike (an internal building block, also used by toymodel.widgets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
import matplotlib.pyplot as plt
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
import numpy as np
import torch

from ..data import density_label
from ..model import ToyModel
from ..sae import SAEScores, SparseAutoencoder
from ..validate import check_instance
from .base import QUALITATIVE, ModelLike, fig_ax, legend_below, resolve_instance, styled
from .model import plot_feature_embeddings_2d

__all__ = [
    "plot_sae_directions", "plot_best_cosines", "plot_mmcs_over_training", "plot_sae_sweep", "SAESweepLike",
    "LATENT_COLOR",
]

LATENT_COLOR = QUALITATIVE[1]  # vermillion: the SAE's latents, beside the features' viridis
_SWEEP = "an experiments.SAESweep (toymodel.experiments.sae.load_sae_sweep)"


@runtime_checkable
class SAESweepLike(Protocol):
    """What experiments.SAESweep offers the figures: the L1 grid per dictionary size (l1_curve, d_sae_grid), the
    untrained baseline, the toy models and their density."""

    density: float
    toy_models: dict[str, ToyModel]

    def l1_curve(self, d_sae: int, model: str = ..., seed: int = ...) -> tuple[list[float], list[SAEScores]]: ...

    @property
    def d_sae_grid(self) -> list[int]: ...

    def untrained(self, model: str, d_sae: int, seed: int = ...) -> SAEScores: ...


@styled
def plot_sae_directions(
    model_or_W: ModelLike, sae: SparseAutoencoder, instance: int = 0, ax: Axes | None = None,
    title: str | None = None, *, fires: torch.Tensor | None = None, legend: bool = True,
) -> Figure:
    """The toy model's features W_i (as plot_feature_embeddings_2d draws them) and, over them, what each latent j of
    the SAE can reconstruct: the ray b_dec + t W_dec_j (t >= 0), dashed, from b_dec (marked x).  With b_dec near 0
    a latent that found feature i lies on W_i.  fires: bool [d_sae]; latents that never fire are drawn grey and
    dotted; the legend (legend=False: none) sits under the axes.  Needs n_hidden = 2.
    """
    check_instance("sae", sae, SparseAutoencoder)
    one = resolve_instance(model_or_W, instance)
    if one.n_hidden != 2 or sae.d_in != 2:
        raise ValueError(f"plot_sae_directions draws the 2-D hidden plane: n_hidden and d_in must be 2, got "
                         f"n_hidden = {one.n_hidden}, d_in = {sae.d_in}")
    fig, ax = fig_ax(ax, (4.6, 4.6))
    plot_feature_embeddings_2d(model_or_W, instance, ax=ax, colorbar=False, title="")
    D = sae.W_dec.detach().double().numpy()
    b = sae.b_dec.detach().double().numpy()
    live = np.ones(sae.d_sae, bool) if fires is None else fires.detach().cpu().numpy().astype(bool)
    reach = 1.2 + float(np.linalg.norm(b))
    for j, d in enumerate(D):
        color, ls = (LATENT_COLOR, "--") if live[j] else ("0.6", ":")
        end = b + reach * d
        ax.plot([b[0], end[0]], [b[1], end[1]], color=color, ls=ls, lw=1.6, gid=f"latent-{j}", zorder=3)
        tip = b + 1.0 * d
        ax.annotate(str(j), tip, xytext=(6 * d[0], 6 * d[1] - 8), textcoords="offset points", fontsize=7,
                    color=color, ha="center", va="center")
    ax.plot([b[0]], [b[1]], marker="x", ms=7, mew=2, color="0.1", ls="none", gid="b_dec", zorder=4)
    lim = max(abs(ax.get_xlim()[0]), abs(ax.get_ylim()[1]), 1.15 * float(np.abs(b).max()) + 0.3)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(min(ax.get_ylim()[0], -lim), lim)
    ax.set_xticks([-1.0, 0.0, 1.0])
    ax.set_yticks([-1.0, 0.0, 1.0])
    handles = [Line2D([], [], color="0.3", lw=2, label="feature $W_i$"),
               Line2D([], [], color=LATENT_COLOR, ls="--", lw=1.6, label="latent: $b_{dec} + t\\,W_{dec,j}$"),
               Line2D([], [], color="0.1", marker="x", ls="none", label="$b_{dec}$")]
    if not live.all():
        handles.append(Line2D([], [], color="0.6", ls=":", lw=1.6, label="dead latent"))
    if legend:
        legend_below(ax, handles, ncol=2)
    ax.set_title(f"{one.title()}: SAE with {sae.d_sae} latents" if title is None else title)
    return fig


@styled
def plot_best_cosines(scores: SAEScores, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Each represented feature's best cosine with a latent that fires (one bar per feature, by feature index; orange
    below 0.99), the MMCS as a dashed line: how well the SAE found each feature."""
    check_instance("scores", scores, SAEScores)
    fig, ax = fig_ax(ax, (5.0, 3.0))
    cos = scores.best_cosine.double().numpy()
    features = scores.features.numpy()
    ax.bar(np.arange(len(cos)), cos, color=[QUALITATIVE[0] if c >= 0.99 else QUALITATIVE[1] for c in cos],
           width=0.8, gid="best-cosine")
    ax.axhline(scores.mmcs, color="0.2", lw=1, ls="--", gid="mmcs")
    ax.set_ylim(min(0.0, float(cos.min(initial=0.0)) - 0.05), 1.08)
    ax.set_yticks([0.0, 0.5, 1.0] if cos.min(initial=0.0) >= 0 else [-1.0, -0.5, 0.0, 0.5, 1.0])
    ticks = list(range(len(cos)))
    step = 1 if len(cos) <= 12 else (2 if len(cos) <= 24 else max(1, len(cos) // 10))
    ax.set_xticks(ticks[::step], [str(int(features[t])) for t in ticks[::step]])
    ax.set_xlabel("represented feature i")
    ax.set_ylabel("best cosine with a live latent")
    ax.set_title("each feature's best latent (orange: below 0.99; dashed: MMCS)" if title is None else title)
    return fig


@styled
def plot_mmcs_over_training(
    step: Sequence[int] | torch.Tensor, scores: Sequence[SAEScores], ax: Axes | None = None, *,
    baseline: float | None = None, mark: int | None = None,
) -> Figure:
    """MMCS and the worst feature's best cosine at each recorded step (sae.score_snapshots), the untrained baseline
    as a dotted line; mark: a snapshot index to highlight."""
    steps = np.asarray(torch.as_tensor(step), dtype=float)
    if len(steps) != len(scores) or not len(scores):
        raise ValueError(f"step and scores must have the same, non-zero length, got {len(steps)} and {len(scores)}")
    fig, ax = fig_ax(ax, (4.8, 3.2))
    ax.plot(steps, [s.mmcs for s in scores], color=QUALITATIVE[0], lw=1.8, marker="o", ms=3, label="MMCS", gid="mmcs")
    ax.plot(steps, [s.worst for s in scores], color=QUALITATIVE[1], lw=1.2, ls="--", label="worst feature",
            gid="worst")
    if baseline is not None:
        ax.axhline(baseline, color="0.45", ls=":", lw=1, gid="baseline")
        ax.text(steps[-1], baseline, "untrained SAE ", ha="right", va="bottom", fontsize=7, color="0.35")
    if mark is not None:
        ax.axvline(steps[int(mark)], color=QUALITATIVE[4], lw=2.5, alpha=0.6, gid="mark")
    lo = min(min(s.worst for s in scores), baseline if baseline is not None else 1.0)
    ax.set_ylim(max(-1.05, lo - 0.05), 1.02)
    ax.set_xlabel("training step")
    ax.set_ylabel("cosine")
    ax.set_title("MMCS during training")
    ax.legend(loc="lower right")
    return fig


@styled
def plot_sae_sweep(sweep: SAESweepLike, model: str = "40->10", axes: Sequence[Axes] | None = None,
                   mark: tuple[int, float] | None = None, panels: Sequence[str] = ("mmcs", "l0", "shrinkage", "dead"),
                   legend: bool = True) -> Figure:
    """The Goldilocks figure: against the L1 coefficient (log scale), one line per dictionary size d_sae, the panels
    in `panels`: "mmcs" (MMCS solid, the worst feature dashed, the untrained SAE's MMCS dotted), "l0" (active latents
    per sample, the true number of active features dashed), "shrinkage" (1 = none) and "dead" (latents that never
    fire).  mark: (d_sae, l1_coeff) to highlight (the explorer's setting).  axes: one per panel.  legend: one legend
    for the figure, under the panels (with axes= of a figure without a layout engine, pass False)."""
    if not isinstance(sweep, SAESweepLike):
        raise ValueError(f"sweep must be {_SWEEP}, got {type(sweep).__name__}")
    known = ("mmcs", "l0", "shrinkage", "dead")
    if not panels or any(p not in known for p in panels):
        raise ValueError(f"panels must be a non-empty sequence of {known}, got {panels!r}")
    own_figure = axes is None
    if axes is None:
        n = len(panels)
        fig, grid = plt.subplots(1 if n < 3 else 2, min(n, 2), figsize=(9.0, 3.2 if n < 3 else 6.0),
                                 layout="constrained", squeeze=False)
        axes = list(grid.flat)[:n]
    else:
        axes = list(axes)
        if len(axes) != len(panels):
            raise ValueError(f"axes must hold one axes per panel ({len(panels)}), got {len(axes)}")
        fig = axes[0].get_figure(root=True)
    sizes = sweep.d_sae_grid
    curves = {d: sweep.l1_curve(d, model) for d in sizes}
    n_features = int(sweep.toy_models[model].n_features)
    for ax, panel in zip(axes, panels):
        for c, d in zip(QUALITATIVE, sizes):
            coeffs, scores = curves[d]
            label = f"d_sae = {d}" + (f" (n/{n_features // d})" if d < n_features else
                                      " (n)" if d == n_features else f" ({d // n_features}n)")
            if panel == "mmcs":
                ax.plot(coeffs, [s.mmcs for s in scores], color=c, marker="o", ms=3.5, lw=1.6, label=label,
                        gid=f"mmcs-{d}")
                ax.plot(coeffs, [s.worst for s in scores], color=c, ls="--", lw=1, gid=f"worst-{d}")
            elif panel == "l0":
                ax.plot(coeffs, [s.l0 for s in scores], color=c, marker="o", ms=3.5, lw=1.6, label=label, gid=f"l0-{d}")
            elif panel == "shrinkage":
                ax.plot(coeffs, [s.shrinkage for s in scores], color=c, marker="o", ms=3.5, lw=1.6, label=label,
                        gid=f"shrinkage-{d}")
            else:
                ax.plot(coeffs, [s.dead for s in scores], color=c, marker="o", ms=3.5, lw=1.6, label=label,
                        gid=f"dead-{d}")
        if mark is not None:
            ax.axvline(float(mark[1]), color=QUALITATIVE[4], lw=2.5, alpha=0.5, gid="mark")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([0.01, 0.1, 1.0]))
        ax.xaxis.set_major_formatter(FixedFormatter(["0.01", "0.1", "1"]))
        ax.xaxis.set_minor_locator(NullLocator())  # few ticks: a frame draws ~2x faster
        ax.set_xlabel("L1 coefficient (log scale)")
        _decorate(ax, panel, sweep, model, curves[sizes[0]][1][0])
    if own_figure:
        toy = sweep.toy_models[model]
        fig.suptitle(f"{toy.n_features} features → {toy.n_hidden} hidden, {density_label(sweep.density)}: L1 SAEs "
                     "against the L1 coefficient (seed 0)")
    if legend:
        handles, labels = axes[0].get_legend_handles_labels()
        if panels[0] == "mmcs":
            handles += [Line2D([], [], color="0.3", ls="--", lw=1), Line2D([], [], color="0.45", ls=":", lw=1)]
            labels += ["worst feature (dashed)", "untrained SAE, d_sae = n"]
        fig.legend(handles, labels, loc="outside lower center", ncol=min(5, len(labels)), fontsize=8)
    return fig


def _decorate(ax: Axes, panel: str, sweep: Any, model: str, first: SAEScores) -> None:
    n = int(sweep.toy_models[model].n_features)
    if panel == "mmcs":
        ax.axhline(sweep.untrained(model, n).mmcs, color="0.45", ls=":", lw=1, gid="untrained")
        ax.set_ylabel("cosine")
        ax.set_title("MMCS (solid) and the worst feature (dashed)")
        ax.set_ylim(top=1.02)
    elif panel == "l0":
        ax.axhline(first.true_l0, color="0.2", ls="--", lw=1, gid="true-l0")
        ax.text(ax.get_xlim()[0], first.true_l0, f" true: {first.true_l0:.2f}", va="bottom", fontsize=7, color="0.2")
        ax.set_yscale("log")
        ax.set_ylabel("L0: active latents per sample")
        ax.set_title("L0 against the true number of active features")
    elif panel == "shrinkage":
        ax.axhline(1.0, color="0.2", ls="--", lw=1)
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("reconstructed / true length")
        ax.set_title("shrinkage of a single active feature")
    else:
        ax.set_ylabel("latents that never fire")
        ax.set_title("dead latents")
