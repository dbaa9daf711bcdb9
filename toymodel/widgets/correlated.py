"""Notebook 08's explorers: correlated feature sets, non-uniform superposition, and learning dynamics."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
import math

from matplotlib.figure import Figure

from .. import visualize as viz
from ..correlated import collapsed_sets, set_cosines
from ..data import density_label
from ..sweeps import SetSweep
from ..validate import check_in_range, check_int, check_positive_int
from ..visualize.correlated import NonUniformRunLike, TrainingRunLike
from .explorer import Explorer, density_start, frame_title, nearest_position, panels, selection_slider

__all__ = ["SetExplorer", "RatioExplorer", "TrainingScrubber"]


class SetExplorer(Explorer):
    """Two sliders (which data: a dict {name: SetSweep} from experiments.correlated_features; the set density)
    over precomputed 2-D models: the embedding coloured by set beside W^T W, the member cosines and the number
    of collapsed sets in the title.

    Starts at `name` (None: the first) and the set density nearest `density` (None: the first option, the
    sparsest).  Never trains; every frame is drawn once.
    """

    def __init__(self, sweeps: Mapping[str, SetSweep], name: str | None = None, density: float | None = 0.05) -> None:
        if not isinstance(sweeps, Mapping) or not sweeps:
            raise ValueError("sweeps must be a non-empty dict {name: SetSweep} (experiments.correlated_features)")
        for key, s in sweeps.items():
            if not isinstance(s, SetSweep) or s.model.n_hidden != 2:
                raise ValueError(f"sweeps[{key!r}] must be a SetSweep with n_hidden = 2 "
                                 "(experiments.correlated_features(..., n_hidden=2))")
        self.sweeps = dict(sweeps)
        names = list(self.sweeps)
        if name is not None and name not in names:
            raise ValueError(f"name must be one of {names} or None, got {name!r}")
        density = density_start(density)
        first = self.sweeps[names[0]]
        densities = [float(p) for p in first.density]
        if any([float(p) for p in s.density] != densities for s in self.sweeps.values()):
            raise ValueError("every sweep must share the same densities")
        self.data_slider = selection_slider([(n, n) for n in names], "data", name)
        order = sorted(range(len(densities)), key=lambda k: densities[k])  # sparse -> dense: collapse to the right
        k0 = order[0] if density is None else nearest_position(densities, density, log=True)
        self.density_slider = selection_slider([(density_label(densities[k]), k) for k in order], "set density p", k0)
        super().__init__([self.data_slider, self.density_slider])
        self.redraw()

    def _key(self) -> Hashable:
        return str(self.data_slider.value), int(self.density_slider.value)

    def _index_of(self, key: Hashable) -> int:
        return int(key[1])  # type: ignore[index]

    def _summary(self) -> str:
        return f"{len(self.sweeps)} data sets x {len(self.density_slider.options)} set densities"

    figsize = (9.5, 4.2)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        name, k = key  # type: ignore[misc]
        s = self.sweeps[name]
        a0, a1 = panels(fig, 2, width_ratios=[1.15, 1], wspace=0.95, right=1.2)
        viz.plot_set_embedding_2d(s, k, ax=a0, title="feature directions (colour: set)")
        viz.plot_wtw(s, k, ax=a1, title="$W^TW$ and bias $b$")
        cos = set_cosines(s.W, s.set_size)[k]
        n_col = int(collapsed_sets(s.W, s.set_size)[k])
        return frame_title(fig, f"{s.label(k)}\nmember cosines " + ", ".join(f"{float(c):+.2f}" for c in cos)
                           + f"; {n_col} of {len(cos)} sets collapsed; loss {float(s.loss[k]):.3g}")


class RatioExplorer(Explorer):
    """A slider over experiments.nonuniform_superposition's ratios (how much sparser feature 4 is): the two
    families' trained W at that ratio beside their loss curves (the ratio marked).

    Starts at the ratio nearest `ratio`, in log scale (None: the first).  Never trains.
    """

    def __init__(self, run: NonUniformRunLike, ratio: float | None = 1.0) -> None:
        if not isinstance(run, NonUniformRunLike):
            raise ValueError("RatioExplorer needs an experiments.NonUniformRun (experiments.nonuniform_superposition)")
        if ratio is not None:
            ratio = check_in_range("ratio", ratio, 0.0, math.inf, low_open=True, allowed="a finite number > 0, or None")
        self.run = run
        ratios = [float(r) for r in run.ratio]
        self.slider = selection_slider([(f"{r:.3g}×", i) for i, r in enumerate(ratios)], "feature 4 sparser",
                                       nearest_position(ratios, ratio, log=True))
        super().__init__([self.slider])
        self.redraw()

    def _summary(self) -> str:
        return f"5 features → 2 dims, p = {self.run.density:.3g}, {len(self.run.ratio)} ratios"

    figsize = (12.0, 4.2)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        i = int(key)
        run = self.run
        axes = panels(fig, 3, width_ratios=[1, 1, 1.5], wspace=0.45, right=0.3)
        names = {"pentagon": "from a pentagon", "digons": "from two digons"}
        for ax, fam in zip(axes[:2], ("pentagon", "digons")):
            shape = {1: "pentagon", 0: "two digons"}.get(int(run.shape_of(run.W[fam][i])), "other")
            viz.plot_feature_embeddings_2d(run.W[fam][i], ax=ax, colorbar=False,
                                           title=f"{names[fam]}: ends as {shape}\nloss {float(run.loss[fam][i]):.4g}")
        viz.plot_family_losses(run, ax=axes[2], mark=float(run.ratio[i]))
        lower = "pentagon" if run.loss["pentagon"][i] < run.loss["digons"][i] else "two digons"
        return frame_title(fig, f"5 equal features → 2 dims, p = {run.density:.3g}; feature 4 "
                                f"{float(run.ratio[i]):.3g}× sparser (p = {run.density / float(run.ratio[i]):.3g})\n"
                                f"lower loss here: {lower}")


class TrainingScrubber(Explorer):
    """A slider over the recorded steps of an experiments.TrainingRun (experiments.learning_dynamics): the 2-D
    embedding at that step beside the loss and D_i curves, the step marked.

    every: show every `every`-th snapshot up to training step `until` (None: all), and the last.  Starts at the
    recorded step nearest `step` (None: the first).  Every frame comes from the recorded snapshots: no retraining.
    """

    def __init__(self, run: TrainingRunLike, every: int = 5, step: int | None = None, until: int | None = None) -> None:
        if not isinstance(run, TrainingRunLike):
            raise ValueError("TrainingScrubber needs an experiments.TrainingRun (experiments.learning_dynamics)")
        if run.W.shape[-1] != 2:
            raise ValueError(f"TrainingScrubber draws the 2-D embedding: n_hidden must be 2, got {run.W.shape[-1]}")
        every = check_positive_int("every", every)
        until = None if until is None else check_int("until", until, low=0)
        step = None if step is None else check_int("step", step, low=0)
        self.run = run
        picks = [j for j in range(0, len(run.step), every) if until is None or int(run.step[j]) <= until]
        if picks[-1] != len(run.step) - 1:
            picks.append(len(run.step) - 1)
        start = picks[nearest_position([int(run.step[j]) for j in picks], step)]
        self.slider = selection_slider([(f"step {int(run.step[j])}", j) for j in picks], "training step", start)
        super().__init__([self.slider])
        self.redraw()

    def _summary(self) -> str:
        n, m = self.run.W.shape[1:]
        return f"{n} features → {m} dims, p = {self.run.density:.3g}, {len(self.slider.options)} recorded steps"

    figsize = (12.0, 4.0)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        j = int(key)
        run = self.run
        a0, a1, a2 = panels(fig, 3, width_ratios=[1, 1.4, 1.4], wspace=0.4, right=0.3)
        viz.plot_feature_embeddings_2d(run.W[j], ax=a0, colorbar=False, title="feature directions $W_i$")
        viz.plot_dimensionality_over_training(run, ax=a1, mark=j)
        viz.plot_loss_over_training(run, ax=a2, mark=j)
        D = run.dimensionality[j]
        return frame_title(fig, f"5 equal features → 2 dims, p = {run.density:.3g}: step {int(run.step[j])} of "
                                f"{run.steps}\nloss {float(run.loss[j]):.3g}; $D_i$ "
                                + ", ".join(f"{float(d):.2f}" for d in D))
