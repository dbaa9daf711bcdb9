"""Notebook 09's explorers: the SAE sweep (dictionary size x L1 coefficient) and an SAE's training on the pentagon."""

from __future__ import annotations

from collections.abc import Hashable
import math

from matplotlib.figure import Figure

from .. import visualize as viz
from ..data import density_label
from ..model import ToyModel
from ..sae import SAEScores, SparseAutoencoder, score_sae
from ..validate import check_in_range, check_instance, check_int, check_positive_int
from ..visualize.sae import SAESweepLike
from .explorer import Explorer, frame_title, nearest_position, panels, selection_slider

__all__ = ["SAEExplorer", "SAETrainingScrubber"]


class SAEExplorer(Explorer):
    """Two sliders over the precomputed SAE sweep (toymodel.experiments.sae.load_sae_sweep): the dictionary size d_sae
    and the L1 coefficient.  Left: each represented feature's best cosine with a live latent; right: MMCS (and the
    worst feature) against the L1 coefficient for every d_sae, the current setting marked.  The title gives the
    setting's MMCS, worst feature, dead latents, L0 against the truth, FVU and shrinkage.

    Starts at the d_sae and the coefficient nearest `d_sae` and `l1_coeff` (log scale).  Never trains: every setting
    is drawn once when the cell runs and the browser picks the frame.
    """

    def __init__(self, sweep: SAESweepLike, d_sae: int | None = 40, l1_coeff: float | None = 0.3,
                 model: str = "40->10") -> None:
        if not isinstance(sweep, SAESweepLike):
            raise ValueError("SAEExplorer needs an experiments.SAESweep (toymodel.experiments.sae.load_sae_sweep), "
                             f"got {type(sweep).__name__}")
        if model not in sweep.toy_models:
            raise ValueError(f"model must be one of {sorted(sweep.toy_models)}, got {model!r}")
        self.sweep, self.model = sweep, model
        sizes = list(sweep.d_sae_grid)
        coeffs = sweep.l1_curve(sizes[0], model)[0]
        if any(sweep.l1_curve(d, model)[0] != coeffs for d in sizes):
            raise ValueError("every dictionary size of the sweep must have the same L1 coefficients")
        d0 = None if d_sae is None else check_positive_int("d_sae", d_sae)
        c0 = None if l1_coeff is None else check_in_range("l1_coeff", l1_coeff, 0.0, math.inf, low_open=True,
                                                          allowed="a positive number, or None")
        self.size_slider = selection_slider([(str(d), d) for d in sizes], "dictionary d_sae",
                                            sizes[nearest_position(sizes, d0, log=True)])
        self.l1_slider = selection_slider([(f"{c:g}", c) for c in coeffs], "L1 coefficient",
                                          coeffs[nearest_position(coeffs, c0, log=True)])
        super().__init__([self.size_slider, self.l1_slider])
        self.redraw()

    def _key(self) -> Hashable:
        return int(self.size_slider.value), float(self.l1_slider.value)

    def _index_of(self, key: Hashable) -> int:
        return list(self.sweep.d_sae_grid).index(key[0])  # type: ignore[index]

    def _scores(self, key: Hashable) -> SAEScores:
        d, c = key  # type: ignore[misc]
        coeffs, scores = self.sweep.l1_curve(d, self.model)
        return scores[coeffs.index(c)]

    def _summary(self) -> str:
        return f"{self.model}, {len(self.size_slider.options)} dictionary sizes x {len(self.l1_slider.options)} L1 " \
               "coefficients"

    figsize = (11.0, 4.4)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        d, c = key  # type: ignore[misc]
        s = self._scores(key)
        a0, a1 = panels(fig, 2, width_ratios=[1.25, 1], wspace=0.35, right=0.3)
        viz.plot_best_cosines(s, ax=a0, title="each feature's best latent (orange: below 0.99; dashed: MMCS)")
        viz.plot_sae_sweep(self.sweep, self.model, axes=[a1], panels=("mmcs",), mark=(d, c), legend=False)
        a1.plot([c], [s.mmcs], marker="o", ms=9, mfc="none", mec="0.1", mew=1.5, gid="current")
        a1.legend(loc="lower left", fontsize=7)
        toy: ToyModel = self.sweep.toy_models[self.model]
        return frame_title(fig, f"{toy.n_features} features → {toy.n_hidden} hidden, "
                                f"{density_label(self.sweep.density)}: SAE d_sae = {d}, L1 {c:g}\n"
                                f"MMCS {s.mmcs:.4f} (worst {s.worst:.3f}), {s.dead} dead, L0 {s.l0:.3g} "
                                f"(true {s.true_l0:.3g}), FVU {s.fvu:.3g}, shrinkage {s.shrinkage:.2f}")


class SAETrainingScrubber(Explorer):
    """A slider over the recorded steps of an SAE trained on a 2-D toy model (train_sae(..., snapshot_every=N)):
    the decoder directions over the features at that step (plot_sae_directions) beside MMCS during training with the
    step marked and the untrained baseline dotted.

    baseline: an SAEScores of an untrained SAE (its MMCS is drawn), or None.  until: show the recorded steps up to
    this training step (None: all), and the last.  Starts at the recorded step nearest `step` (None: the first).
    Every frame comes from the recorded snapshots: nothing is retrained.
    """

    def __init__(self, sae: SparseAutoencoder, model: ToyModel, density: float, *, instance: int = 0,
                 baseline: SAEScores | None = None, step: int | None = None, until: int | None = None) -> None:
        check_instance("sae", sae, SparseAutoencoder)
        if sae.snapshots is None:
            raise ValueError("SAETrainingScrubber needs an SAE trained with train_sae(..., snapshot_every=N)")
        if sae.d_in != 2:
            raise ValueError(f"SAETrainingScrubber draws the 2-D hidden plane: d_in must be 2, got {sae.d_in}")
        step = None if step is None else check_int("step", step, low=0)
        until = None if until is None else check_int("until", until, low=0)
        self.sae, self.toy, self.density, self.instance, self.baseline = sae, model, density, instance, baseline
        steps = [int(t) for t in sae.snapshots["step"]]
        self.picks = [j for j, t in enumerate(steps) if until is None or t <= until]
        if self.picks[-1] != len(steps) - 1:
            self.picks.append(len(steps) - 1)
        self.scores = {j: score_sae(sae.at_snapshot(j), model, density, instance=instance) for j in self.picks}
        self.slider = selection_slider([(f"step {steps[j]}", j) for j in self.picks], "training step",
                                       self.picks[nearest_position([steps[j] for j in self.picks], step)])
        super().__init__([self.slider])
        self.redraw()

    def _summary(self) -> str:
        return f"SAE with {self.sae.d_sae} latents, {len(self.slider.options)} recorded steps"

    figsize = (10.5, 5.0)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        j = int(key)
        s = self.scores[j]
        a0, a1 = panels(fig, 2, width_ratios=[1, 1.3], wspace=0.3, right=0.3)
        snap = self.sae.at_snapshot(j)
        viz.plot_sae_directions(self.toy, snap, self.instance, ax=a0, fires=s.firing > 0, legend=False,
                                title="features $W_i$ (solid), latents (dashed,\nfrom $b_{dec}$: ×)")
        steps = self.sae.snapshots["step"][self.picks]  # type: ignore[index]
        viz.plot_mmcs_over_training(steps, [self.scores[p] for p in self.picks], ax=a1, mark=self.picks.index(j),
                                    baseline=None if self.baseline is None else self.baseline.mmcs)
        t = int(self.sae.snapshots["step"][j])  # type: ignore[index]
        return frame_title(fig, f"{self.toy.n_features} features → 2 hidden, {density_label(self.density)}: SAE with "
                                f"{self.sae.d_sae} latents, step {t}\nMMCS {s.mmcs:.4f} (worst feature {s.worst:.3f}), "
                                f"{s.dead} dead, L0 {s.l0:.3g} (true {s.true_l0:.3g})")
