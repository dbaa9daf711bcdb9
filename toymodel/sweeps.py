"""What the experiments return: sweeps of trained models, one instance per setting.

A DensitySweep holds one batched model whose instance k was trained at density[k]; Sweep (ReLU-output,
linear and ReLU-hidden toy models), SetSweep (correlated feature sets) and AbsSweep (the |x| model) add
what their experiment varies.  PhaseDiagram is the 2-D grid of notebook 05.  These types sit below
visualize and widgets, which take them as input, and below experiments, which builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import torch

from .computation import AbsValueModel
from .data import density_label, importance_label
from .metrics import n_represented
from .model import ToyModel
from .phase import CANDIDATES
from .train import TrainResult
from .validate import check_density, check_in_range

__all__ = ["AbsSweep", "DensitySweep", "PhaseDiagram", "SetSweep", "Sweep"]


class DensitySweep:
    """What every sweep over densities shares: instance k of `model` was trained at density[k].

    Subclasses are dataclasses with at least `model` (n_instances) and `density` [n_instances].
    """

    model: torch.nn.Module
    density: torch.Tensor

    @property
    def sparsity(self) -> torch.Tensor:
        """S = 1 - p, [n_instances]."""
        return 1.0 - self.density

    def __len__(self) -> int:
        return self.model.n_instances

    def label(self, k: int) -> str:
        """A title for instance k, naming density and sparsity, e.g. 'p = 0.05 (S = 0.95)'."""
        return density_label(self.density[k])

    def nearest(self, density: float) -> int:
        """Index of the instance closest to `density` (in log density)."""
        return int(self._log_distance(density).argmin())

    def _log_distance(self, density: float) -> torch.Tensor:
        """[n_instances] |log p_k - log density|."""
        return (self.density.log() - math.log(check_density(density))).abs()


@dataclass
class Sweep(DensitySweep):
    """One experiment: instance k of `model` was trained at density[k] with importance[k].

    density:    [n_instances] density p = 1 - S.
    importance: [n_instances, n_features].
    loss:       [n_instances] final loss on a fresh evaluation batch.
    importance_decay: [n_instances] importance decay (I_i = importance_decay**i), where the experiment varies it.
    """

    model: ToyModel
    density: torch.Tensor
    importance: torch.Tensor
    loss: torch.Tensor
    importance_decay: torch.Tensor | None = None
    train: TrainResult | None = field(default=None, repr=False)

    @property
    def W(self) -> torch.Tensor:
        """[n_instances, n_features, n_hidden], detached."""
        return self.model.W.detach()

    def label(self, k: int) -> str:
        """A title for instance k, e.g. 'p = 0.05 (S = 0.95)', with ', I = 0.8^i' where the sweep varies the decay."""
        text = super().label(k)
        if self.importance_decay is not None:
            text += ", " + importance_label(float(self.importance_decay[k]))
        return text

    def nearest(self, density: float | None = None, importance_decay: float | None = None) -> int:
        """Index of the instance closest (in log density, then importance decay) to the given setting."""
        score = torch.zeros(len(self), dtype=torch.float32)
        if density is not None:
            score += self._log_distance(density)
        if importance_decay is not None:
            if self.importance_decay is None:
                raise ValueError("this sweep does not vary the importance decay; leave importance_decay=None")
            score += 10.0 * (self.importance_decay - float(importance_decay)).abs()
        return int(score.argmin())

    def n_represented(self) -> torch.Tensor:
        """[n_instances] features with ||W_i|| > 0.5."""
        return n_represented(self.W)


@dataclass
class PhaseDiagram:
    """A trained phase diagram: grid point (i, j) = (relative importance r[i], density p[j]) is instance i * len(p) + j.

    ratio:   [n_r] importance of the extra (last) feature relative to the others (which have importance 1).
    density: [n_p] density p = 1 - S of every feature.
    model:   the batched ToyModel (n_features -> n_features - 1), each instance the best of n_seeds.
    loss:    [n_r, n_p] trained loss, on 8 x experiments.PHASE_EVAL_BATCH_SIZE fresh samples;
    candidate_loss: [n_r, n_p, n_candidates] closed forms.
    phase, candidate:                  [n_r, n_p] of the trained models (phase.classify_phase / classify_candidate).
    theory_phase, theory_candidate:    [n_r, n_p] of the best closed-form candidate.
    """

    n_features: int
    ratio: torch.Tensor
    density: torch.Tensor
    model: ToyModel
    loss: torch.Tensor
    phase: torch.Tensor
    candidate: torch.Tensor
    theory_phase: torch.Tensor
    theory_candidate: torch.Tensor
    candidate_loss: torch.Tensor
    train: TrainResult | None = field(default=None, repr=False)

    @property
    def n_hidden(self) -> int:
        return self.n_features - 1

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ratio), len(self.density)

    @property
    def candidates(self) -> tuple[str, ...]:
        return CANDIDATES[self.n_features]

    @property
    def W(self) -> torch.Tensor:
        """[n_r, n_p, n_features, n_hidden], detached."""
        return self.model.W.detach().view(*self.shape, self.n_features, self.n_hidden)

    @property
    def b(self) -> torch.Tensor:
        """[n_r, n_p, n_features], detached."""
        return self.model.b.detach().view(*self.shape, self.n_features)

    def instance(self, i: int, j: int) -> int:
        """The model instance of grid point (ratio[i], density[j])."""
        return i * len(self.density) + j

    def nearest(self, ratio: float, density: float) -> tuple[int, int]:
        """The grid point (i, j) nearest (in log scale) to the given relative importance and density."""
        ratio = check_in_range("ratio", ratio, 0.0, math.inf, low_open=True, allowed="a positive number")
        i = int((self.ratio.log() - math.log(ratio)).abs().argmin())
        j = int((self.density.log() - math.log(check_density(density))).abs().argmin())
        return i, j

    def agreement(self) -> float:
        """Fraction of grid points whose trained phase equals the theoretical phase."""
        return float((self.phase == self.theory_phase).float().mean())

    def label(self, i: int, j: int) -> str:
        """A title for grid point (i, j), e.g. 'r = 0.8, p = 0.02 (S = 0.98)'."""
        return f"r = {float(self.ratio[i]):.3g}, {density_label(self.density[j])}"


@dataclass
class AbsSweep(DensitySweep):
    """Absolute-value models, one per density: instance k of `model` was trained at density[k].

    density: [n_instances] p = 1 - S; importance: [n_instances, n_features]; loss: [n_instances].
    """

    model: AbsValueModel
    density: torch.Tensor
    importance: torch.Tensor
    loss: torch.Tensor
    train: TrainResult | None = field(default=None, repr=False)

    @property
    def W1(self) -> torch.Tensor:
        """[n_instances, n_features, n_hidden], detached, float32 (for measures and figures): feature i -> neuron j."""
        return self.model.W1.detach().float()

    @property
    def W2(self) -> torch.Tensor:
        """[n_instances, n_features, n_hidden], detached, float32: neuron j -> output i."""
        return self.model.W2.detach().float()


@dataclass
class SetSweep(Sweep):
    """A Sweep over feature sets: features s * set_size .. s * set_size + set_size - 1 form set s.

    density[k] is the probability that a set is active in instance k (not a feature's density: for
    anticorrelated sets each member fires with density / set_size).
    """

    relation: str = "correlated"
    set_size: int = 2

    def label(self, k: int) -> str:
        """'pair p = 0.05 (S = 0.95)' for instance k (p: the probability that a set is active)."""
        what = "pair" if self.set_size == 2 else "set"
        return f"{self.relation} {what}s, {what} {DensitySweep.label(self, k)}"
