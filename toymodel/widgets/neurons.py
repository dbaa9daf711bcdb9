"""Notebook 07's explorer: a density slider over models with a privileged basis (a relu_hidden Sweep or an
|x|-model AbsSweep), showing the neuron plots."""

from __future__ import annotations

from collections.abc import Hashable

from matplotlib.figure import Figure
import torch

from .. import visualize as viz
from ..neurons import n_monosemantic
from ..sweeps import AbsSweep, Sweep
from ..visualize.neurons import neuron_model
from .explorer import DensityExplorer, frame_title, panels

__all__ = ["NeuronExplorer"]


class NeuronExplorer(DensityExplorer):
    """One density slider (dense -> sparse) over a relu_hidden Sweep or an AbsSweep (experiments.privileged_basis /
    computation_sweep): W as a features x neurons heatmap beside the per-neuron stacked bar plot (the |x| model,
    with 100 features, shows the stacked plot alone).

    Starts at the model nearest `density` (None: the densest).  Every setting is rendered once up front
    (~0.2-0.5 s each), so each slider move is instant; prerender is ignored (kept for compatibility).
    """

    def __init__(self, sweep: Sweep | AbsSweep, density: float | None = None, prerender: bool = True) -> None:
        self.abs_model = isinstance(sweep, AbsSweep)
        if not self.abs_model and not (isinstance(sweep, Sweep) and sweep.model.kind == "relu_hidden"):
            raise ValueError("NeuronExplorer needs a relu_hidden Sweep (experiments.privileged_basis) or an "
                             "AbsSweep (experiments.computation_sweep)")
        super().__init__(sweep, density)
        self.redraw()  # draws every setting

    @property
    def _W(self) -> torch.Tensor:
        return self.sweep.W1 if self.abs_model else self.sweep.W

    def _summary(self) -> str:
        n, m = self._W.shape[1], self._W.shape[2]
        what = "|x| model" if self.abs_model else "ReLU hidden"
        return f"{what}, {n} features → {m} neurons, {len(self.sweep)} densities"

    figsize = (9.0, 4.2)

    def _draw(self, fig: Figure, key: Hashable) -> str:
        k = int(key)
        s = self.sweep
        if self.abs_model:
            (ax,) = panels(fig, 1, right=0.2)
            viz.plot_neuron_stack(s, k, ax=ax, title="each neuron's $|W_1|$ (rescaled to a largest entry of 1)")
        else:
            a0, a1 = panels(fig, 2, width_ratios=[1, 1.3], wspace=0.7, right=1.3)
            viz.plot_neuron_weights(s, k, ax=a0, title="$W$: feature i → neuron j")
            viz.plot_neuron_stack(s, k, ax=a1, title="per-neuron stacked $|W_{ij}|$")
        fig.subplots_adjust(left=0.95 / fig.get_size_inches()[0])  # room for the two-line y label
        mono = int(n_monosemantic(self._W, positive_only=not self.abs_model)[k])
        m = self._W.shape[2]
        return frame_title(fig, f"{neuron_model(s, k).title()}\n{mono} of {m} neurons monosemantic, "
                                f"loss {float(s.loss[k]):.3g}")
