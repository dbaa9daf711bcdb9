"""Measures for models with a privileged basis: which features each neuron carries.

With a ReLU on the hidden layer, the hidden basis is special (the "neurons"), so W can be read
directly: entry W[k, i, j] connects feature i to neuron j (column j of W_k is neuron j).

The per-neuron measure used throughout the course:

    features of neuron j = #{ i : w_ij >= fraction * max_i w_ij }     (0 for a dead neuron)

where w_ij = W_ij (positive_only=True, the default) or |W_ij| (positive_only=False).  In the ReLU-hidden
model the inputs are non-negative, so neuron j fires only for features with a positive weight; a negative
weight inhibits it and is not something the neuron "represents".  In the absolute-value model the inputs
are signed, so both signs count (positive_only=False).

A neuron is **monosemantic** when it carries exactly 1 feature, **polysemantic** when it carries 2 or
more, and **dead** when its largest weight is below `dead` (it carries nothing).  The default
fraction 1/2 counts a feature when its weight is at least half the neuron's largest; the paper judges
this by eye.  A neuron with one large "primary" weight and several small "secondary" ones is therefore
monosemantic here.  How notebook 07's counts move with the cut (measured: notebooks/README.md, section
"How notebook 07's neuron counts depend on the cut").
"""

from __future__ import annotations

import torch

from .data import generate_sparse_features
from .metrics import as_weights
from .model import ToyModel
from .validate import check_in_range, check_instance, check_positive_int, check_seed

FRACTION = 0.5  # a feature counts for a neuron when w_ij >= FRACTION * (the neuron's largest w_ij)
DEAD = 0.1  # a neuron whose largest |W_ij| is below this carries nothing

__all__ = ["FRACTION", "DEAD", "carries", "features_per_neuron", "n_monosemantic", "n_polysemantic", "neuron_labels",
           "normalize_neurons", "paired_features", "random_rotation", "relu_active_fraction", "rotate_hidden"]


def _check_fraction(fraction: float, dead: float) -> None:
    check_in_range("fraction", fraction, 0.0, 1.0, low_open=True, allowed="a number in (0, 1]")
    check_in_range("dead", dead, 0.0, allowed="a non-negative number")


def _output_weights(W2: torch.Tensor, W1: torch.Tensor) -> torch.Tensor:
    """W2 as weights (metrics.as_weights) of W1's shape [n_instances, n_features, n_hidden] (ValueError otherwise)."""
    B = as_weights(W2, "W2")
    if B.shape != W1.shape:
        raise ValueError(f"W2 must have the shape of W1 {tuple(W1.shape)}, got {tuple(B.shape)}")
    return B


def carries(W: ToyModel | torch.Tensor, fraction: float = FRACTION, dead: float = DEAD,
            positive_only: bool = True) -> torch.Tensor:
    """Boolean [n_instances, n_features, n_hidden]: neuron j carries feature i (w_ij >= fraction * max_i w_ij,
    and max_i w_ij >= dead), with w = W (positive_only) or |W|."""
    _check_fraction(fraction, dead)
    A = as_weights(W)
    A = A.clamp(min=0.0) if positive_only else A.abs()
    top = A.amax(dim=1, keepdim=True)  # [K, 1, m]: each neuron's largest weight
    return (A >= fraction * top) & (top >= dead)


def features_per_neuron(W: ToyModel | torch.Tensor, fraction: float = FRACTION, dead: float = DEAD,
                        positive_only: bool = True) -> torch.Tensor:
    """How many features each neuron carries, [n_instances, n_hidden] (long): 1 monosemantic, >= 2 polysemantic,
    0 dead.  See the module docstring for the definition."""
    return carries(W, fraction, dead, positive_only).sum(1)


def n_monosemantic(W: ToyModel | torch.Tensor, fraction: float = FRACTION, dead: float = DEAD,
                   positive_only: bool = True) -> torch.Tensor:
    """Neurons that carry exactly one feature, [n_instances] (long)."""
    return (features_per_neuron(W, fraction, dead, positive_only) == 1).sum(-1)


def n_polysemantic(W: ToyModel | torch.Tensor, fraction: float = FRACTION, dead: float = DEAD,
                   positive_only: bool = True) -> torch.Tensor:
    """Neurons that carry two or more features, [n_instances] (long)."""
    return (features_per_neuron(W, fraction, dead, positive_only) >= 2).sum(-1)


def neuron_labels(W: ToyModel | torch.Tensor, fraction: float = FRACTION, dead: float = DEAD,
                  positive_only: bool = True) -> list[list[str]]:
    """Per instance, one label per neuron: "monosemantic", "polysemantic" or "dead"."""
    counts = features_per_neuron(W, fraction, dead, positive_only)
    names = {0: "dead", 1: "monosemantic"}
    return [[names.get(int(c), "polysemantic") for c in row] for row in counts]


def normalize_neurons(W1: torch.Tensor, W2: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Rescale each neuron so its largest |W1| entry is 1, and its W2 column by the inverse (the function is
    unchanged: ReLU(a z) = a ReLU(z) for a > 0).  W1, W2: [n_instances, n_features, n_hidden] (or one
    [n_features, n_hidden]); dead neurons (all zero) are left as they are.  The paper does this before plotting."""
    A = as_weights(W1, "W1")
    scale = A.abs().amax(dim=1, keepdim=True).clamp(min=1e-12)  # [K, 1, m]
    B = None if W2 is None else _output_weights(W2, A)
    return A / scale, None if B is None else B * scale


def paired_features(W1: torch.Tensor, W2: torch.Tensor, fraction: float = FRACTION, dead: float = DEAD) -> torch.Tensor:
    """Boolean [n_instances, n_features]: feature i is computed by a pair of monosemantic neurons,
    |x_i| = ReLU(x_i) + ReLU(-x_i).

    Feature i is paired when it has a "positive side" neuron (carries only feature i, W1_ij > 0) and a
    "negative side" neuron (carries only feature i, W1_ij < 0), and both feed output i positively (W2_ij > 0).
    """
    A = as_weights(W1, "W1")
    B = _output_weights(W2, A)
    c = carries(A, fraction, dead, positive_only=False)
    mono = c & (c.sum(1, keepdim=True) == 1)  # [K, n, m]: neuron j carries only feature i
    feeds = B > 0
    pos = (mono & (A > 0) & feeds).any(-1)
    neg = (mono & (A < 0) & feeds).any(-1)
    return pos & neg


def random_rotation(n_hidden: int, seed: int = 0) -> torch.Tensor:
    """A random orthogonal matrix O [n_hidden, n_hidden] (QR of a Gaussian matrix, signs fixed; det = +1)."""
    n_hidden = check_positive_int("n_hidden", n_hidden)
    g = torch.Generator().manual_seed(check_seed(seed))
    Q, R = torch.linalg.qr(torch.randn(n_hidden, n_hidden, generator=g, dtype=torch.float64))
    Q = Q * torch.sign(torch.diagonal(R))[None, :]
    if torch.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    return Q.float()


def rotate_hidden(model: ToyModel, rotation: torch.Tensor) -> ToyModel:
    """A copy of `model` with its hidden space rotated: W -> W O (every instance), b unchanged.

    rotation: O, [n_hidden, n_hidden] orthogonal (O O^T = I).  The linear and ReLU-output models only use
    the Gram matrix (the paper's W^T W; here, stored as [n, m], W W^T) and (W O)(W O)^T = W W^T: outputs and loss
    do not change.  With relu_hidden they do: the ReLU acts on each neuron separately, so that basis is special.
    """
    check_instance("model", model, ToyModel)
    rot = torch.as_tensor(rotation, dtype=torch.float32)
    m = model.n_hidden
    if rot.shape != (m, m):
        raise ValueError(f"rotation must have shape [n_hidden, n_hidden] = [{m}, {m}], got {tuple(rot.shape)}")
    if not torch.allclose(rot @ rot.T, torch.eye(m, dtype=rot.dtype), atol=1e-4):
        raise ValueError("rotation must be orthogonal (O @ O.T = I)")
    out = ToyModel(model.n_features, m, model.n_instances, kind=model.kind, seed=None, device=model.device,
                   dtype=model.W.dtype)
    with torch.no_grad():
        out.W.copy_(model.W @ rot.to(model.device, model.W.dtype))
        out.b.copy_(model.b)
    return out


def relu_active_fraction(model: ToyModel, density: float, batch_size: int = 4096,
                         seed: int = 0) -> torch.Tensor:
    """How often the hidden ReLU actually cuts something off: among the hidden pre-activations W x that are
    not exactly 0 (an all-zero input gives 0), the fraction below 0; per instance, [n_instances], on fresh
    sparse inputs at density p = density.

    Near 0: the hidden layer behaves linearly, so (as for a linear hidden layer) rotating it barely changes the
    loss and the basis is hardly privileged.  The paper: "the model will only use the ReLU if absolutely forced".
    """
    check_instance("model", model, ToyModel)
    g = torch.Generator().manual_seed(check_seed(seed))
    x = generate_sparse_features(batch_size, model.n_features, density, model.n_instances, generator=g)
    with torch.no_grad():
        pre = torch.einsum("bkn,knm->bkm", x.to(model.device, model.W.dtype), model.W)
    return ((pre < 0).sum((0, 2)) / (pre != 0).sum((0, 2)).clamp(min=1)).cpu()
