"""Sparse autoencoders (dictionary learning) on a trained toy model's hidden layer, scored against the ground truth.

The toy model stores n features in m < n dimensions: h = W x (one instance; row W_i of W [n_features, n_hidden]
is feature i's direction).  A sparse autoencoder (SAE) tries to get the features back out of h alone.  Here, unlike
in a real network, the answer is known: the directions W_i of the represented features (||W_i|| > 0.5).

The SAE (SAELens' names and conventions; d_in = m, d_sae latents):

    encode   z = ReLU((h - b_dec) W_enc + b_enc)                        kind="l1"
             z = the k largest entries of ReLU((h - b_dec) W_enc + b_enc), the others 0     kind="topk"
    decode   h_hat = z W_dec + b_dec
    loss     mean over the batch of  sum_d (h - h_hat)_d^2  +  l1_coeff * sum_j z_j        (TopK: no L1 term)

W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in] (row j: latent j's direction), b_dec [d_in].  The rows
of W_dec are kept at unit norm (renormalised after every step): otherwise the L1 term could be dodged by
shrinking z and growing W_dec.  The L1 term sums over latents (averaging it would make it d_sae times weaker).

The measures (score_sae), on fresh samples of h:

    MMCS       mean over the represented features i of max_j cos(W_i, W_dec_j), j over latents that fire
               (Sharkey, Braun and Millidge 2022); `worst` is the smallest of those best cosines
    dead       latents that never fire
    L0         mean number of latents active per sample, beside true_l0, the mean number of represented
               features active per sample
    FVU        fraction of variance unexplained: sum ||h - h_hat||^2 / sum ||h - mean h||^2
    shrinkage  on samples with exactly one (represented) feature active, h = x_i W_i: the reconstruction's
               length along W_i over the true one, sum (h_hat . W^_i) / sum x_i ||W_i|| (1: no shrinkage)

Training (train_sae) is plain autograd + torch.optim.Adam, fresh batches every step, readable top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import torch
from torch import nn

from .data import ProbabilityLike, as_density_tensor, sparse
from .metrics import REPRESENTED_THRESHOLD, represented, unit_rows
from .model import ToyModel
from .runs import progress_bar, torch_threads
from .validate import (
    check_dtype,
    check_finite,
    check_float_tensor,
    check_in_range,
    check_instance,
    check_int,
    check_memory,
    check_positive_int,
    check_seed,
)

__all__ = [
    "DEFAULT_L1_COEFF", "DEFAULT_SAE_BATCH", "DEFAULT_SAE_LR", "DEFAULT_SAE_STEPS", "DECAY_FRACTION", "EVAL_SAMPLES",
    "RESAMPLE_AT", "RESAMPLE_BELOW", "SAE_KINDS", "SAEScores", "SparseAutoencoder", "best_cosines", "check_sae_kind",
    "hidden_activations", "kth_largest", "mmcs", "sae_lr_at", "score_sae", "score_snapshots", "train_sae",
    "true_features",
]

SAE_KINDS = ("l1", "topk")
DEFAULT_L1_COEFF = 0.3
DEFAULT_SAE_STEPS = 5_000
DEFAULT_SAE_LR = 3e-3
DEFAULT_SAE_BATCH = 1024
DECAY_FRACTION = 0.2  # the learning rate falls linearly to 0 over the last 20% of the steps
RESAMPLE_AT = (0.2, 0.4, 0.6)  # with resample_dead: where (fractions of the steps) dead latents are resampled
RESAMPLE_BELOW = 3e-3  # ... those that fired on fewer than this share of the samples since the last check (a
# latent that stands for a feature of density p fires on about p of them: 0.05 in the course's models)
EVAL_SAMPLES = 2**15  # score_sae's fresh samples


class SparseAutoencoder(nn.Module):
    """A sparse autoencoder h -> z -> h_hat with d_sae latents (see the module docstring for the maths).

    Args:
        d_in: the width of h (the toy model's n_hidden).
        d_sae: the number of latents (the dictionary size).
        kind: "l1" (ReLU latents, an L1 penalty in the loss) or "topk" (keep the k largest, no penalty).
        k: for kind="topk", how many latents may be active per sample (1 <= k <= d_sae); None for "l1".
        seed: seeds the initialisation: W_dec random unit rows, W_enc = W_dec^T, b_enc = b_dec = 0.
        dtype: torch.float32 (default) or torch.float64.

    Attributes (parameters): W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in].
    After train_sae: history {"step": [n_log], "loss": [n_log]}, snapshots (None, or {"step": [n_snap] and one
    [n_snap, ...] entry per parameter}), n_resampled (latents resampled in all), l1_coeff.
    """

    def __init__(self, d_in: int, d_sae: int, kind: str = "l1", k: int | None = None, *, seed: int = 0,
                 dtype: torch.dtype | str | None = None) -> None:
        super().__init__()
        self.d_in, self.d_sae = check_positive_int("d_in", d_in), check_positive_int("d_sae", d_sae)
        self.kind, self.k = check_sae_kind(kind, k, d_sae)
        dtype = check_dtype(dtype)
        check_memory(3 * 8.0 * d_in * d_sae, f"d_in={d_in} x d_sae={d_sae}")
        g = torch.Generator().manual_seed(check_seed(seed))
        W_dec = torch.randn(d_sae, d_in, generator=g, dtype=torch.float32).to(dtype)
        W_dec /= W_dec.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        self.W_dec = nn.Parameter(W_dec)
        self.W_enc = nn.Parameter(W_dec.T.clone())
        self.b_enc = nn.Parameter(torch.zeros(d_sae, dtype=dtype))
        self.b_dec = nn.Parameter(torch.zeros(d_in, dtype=dtype))
        self.history: dict[str, torch.Tensor] | None = None
        self.snapshots: dict[str, torch.Tensor] | None = None
        self.n_resampled = 0
        self.l1_coeff: float | None = None

    def pre_activations(self, h: torch.Tensor) -> torch.Tensor:
        """(h - b_dec) W_enc + b_enc, [batch, d_sae]: b_dec is subtracted before encoding."""
        return (h - self.b_dec) @ self.W_enc + self.b_enc

    def encode(self, h: torch.Tensor) -> torch.Tensor:
        """The latents z [batch, d_sae] of h [batch, d_in]: ReLU of the pre-activations ("l1"), or only the k
        largest of them kept ("topk")."""
        return self._encode(self._check_h(h))

    def _encode(self, h: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.pre_activations(h))
        if self.kind == "topk":
            z = z * (z >= kth_largest(z.detach(), self.k))  # type: ignore[arg-type]
        return z

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """h_hat = z W_dec + b_dec, [batch, d_in]."""
        check_float_tensor("z", z, self.W_dec.dtype)
        if z.shape[-1] != self.d_sae:
            raise ValueError(f"z must have shape [batch, d_sae={self.d_sae}], got {tuple(z.shape)}")
        return z @ self.W_dec + self.b_dec

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """The reconstruction h_hat = decode(encode(h)), [batch, d_in]."""
        return self.decode(self.encode(h))

    def loss(self, h: torch.Tensor, l1_coeff: float = 0.0) -> torch.Tensor:
        """mean over the batch of sum_d (h - h_hat)_d^2 + l1_coeff sum_j z_j (a 0-d tensor; TopK: l1_coeff 0)."""
        l1_coeff = check_in_range("l1_coeff", l1_coeff, 0.0, math.inf, allowed="a finite number >= 0")
        if self.kind == "topk" and l1_coeff != 0.0:
            raise ValueError(f"a TopK SAE has no L1 term: l1_coeff must be 0, got {l1_coeff!r}")
        z = self.encode(h)
        h_hat = z @ self.W_dec + self.b_dec
        return ((h - h_hat) ** 2).sum(-1).mean() + l1_coeff * z.sum(-1).mean()

    @torch.no_grad()
    def remove_parallel_gradient(self) -> None:
        """Drop the part of W_dec's gradient along each row (it would only change the row's norm)."""
        if self.W_dec.grad is not None:
            self.W_dec.grad -= (self.W_dec.grad * self.W_dec).sum(-1, keepdim=True) * self.W_dec

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        """Rescale every row of W_dec to unit norm (train_sae calls it after every optimiser step)."""
        self.W_dec /= self.W_dec.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def at_snapshot(self, j: int) -> SparseAutoencoder:
        """A new SAE holding the weights of recorded snapshot j (train_sae(..., snapshot_every=...))."""
        if self.snapshots is None:
            raise ValueError("this SAE has no snapshots: train it with train_sae(..., snapshot_every=N)")
        j = check_int("j", j, low=0, high=len(self.snapshots["step"]) - 1)
        sae = SparseAutoencoder(self.d_in, self.d_sae, self.kind, self.k, dtype=self.W_dec.dtype)
        with torch.no_grad():
            for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
                getattr(sae, name).copy_(self.snapshots[name][j])
        return sae

    def _check_h(self, h: object) -> torch.Tensor:
        h = check_float_tensor("h", h, self.W_dec.dtype, self.W_dec.device)
        if h.ndim != 2 or h.shape[-1] != self.d_in:
            raise ValueError(f"h must have shape [batch, d_in={self.d_in}], got {tuple(h.shape)}")
        return h

    def extra_repr(self) -> str:
        return f"d_in={self.d_in}, d_sae={self.d_sae}, kind={self.kind!r}" + (f", k={self.k}" if self.k else "")


def kth_largest(z: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th largest entry of each row of z [batch, d], as [batch, 1] (ties counted one by one, as torch.topk
    does; for a small k, k - 1 rounds of argmax then an amax: on these narrow rows several times faster than topk)."""
    if k > 4:
        return z.topk(k, dim=-1).values[:, -1:]
    for _ in range(k - 1):
        z = z.scatter(-1, z.argmax(-1, keepdim=True), -math.inf)
    return z.amax(-1, keepdim=True)


def check_sae_kind(kind: object, k: object, d_sae: int) -> tuple[str, int | None]:
    """(kind, k) checked: kind in SAE_KINDS; k an integer in [1, d_sae] for "topk", None for "l1"."""
    if not isinstance(kind, str) or kind not in SAE_KINDS:
        raise ValueError(f"kind must be one of {SAE_KINDS}, got {kind!r}")
    if kind == "l1":
        if k is not None:
            raise ValueError(f"k is the number of active latents of a TopK SAE: with kind='l1' leave it None, "
                             f"got k={k!r}")
        return kind, None
    if k is None:
        raise ValueError(f"a TopK SAE needs k, the number of active latents: an integer in [1, d_sae={d_sae}]")
    try:
        return kind, check_int("k", k, low=1, high=d_sae)
    except ValueError:
        raise ValueError(f"k must be an integer in [1, d_sae={d_sae}], got {k!r}") from None


# ------------------------------------------------------------------------------------------- data: h = W x


def _instance_weights(model: object, instance: object) -> tuple[torch.Tensor, int]:
    """W [n_features, n_hidden] of one instance of a ToyModel (detached, finite), and the instance index."""
    check_instance("model", model, ToyModel)
    assert isinstance(model, ToyModel)
    try:
        instance = check_int("instance", instance, low=0, high=model.n_instances - 1)
    except ValueError:
        raise ValueError(f"instance must be an integer in [0, {model.n_instances}), got {instance!r}") from None
    W = check_finite("model.W", model.W.detach()[instance].cpu())
    return W, instance


def _density(density: ProbabilityLike, n_features: int) -> torch.Tensor:
    """p [n_features]: a scalar for every feature or one value per feature, each in (0, 1]."""
    return as_density_tensor("density", density, 1, n_features)[0]


def hidden_activations(
    model: ToyModel, density: ProbabilityLike, batch_size: int, *, instance: int = 0,
    generator: torch.Generator | None = None, dtype: torch.dtype | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fresh batch of the toy model's data and hidden activations: (x [batch, n_features], h [batch, n_hidden]).

    x: sparse features at `density` (p = 1 - S: a scalar or [n_features]); h = W x of instance `instance`
    (ReLU'd for a relu_hidden model).  dtype: of x and h (default float32).
    """
    W, instance = _instance_weights(model, instance)
    p = _density(density, W.shape[0])
    batch_size = check_positive_int("batch_size", batch_size)
    check_memory(8.0 * batch_size * (W.shape[0] + W.shape[1]), f"batch_size={batch_size}")
    return _sample_hidden(W.to(check_dtype(dtype)), 1.0 / p, batch_size, generator, model.kind)


def _sample_hidden(W: torch.Tensor, inv_p: torch.Tensor, batch_size: int, generator: torch.Generator | None,
                   kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """hidden_activations without the checks: W [n, m] in the dtype wanted, inv_p = 1/p [n]."""
    u = torch.rand((batch_size, W.shape[0]), generator=generator, dtype=torch.float32)
    x = sparse(u, inv_p).to(W.dtype)
    h = x @ W
    return x, (torch.relu(h) if kind == "relu_hidden" else h)


def true_features(model: ToyModel, instance: int = 0,
                  threshold: float = REPRESENTED_THRESHOLD) -> tuple[torch.Tensor, torch.Tensor]:
    """The ground truth an SAE is scored against: (indices [r] of the represented features, ||W_i|| > threshold,
    and their directions W_i [r, n_hidden])."""
    W, _ = _instance_weights(model, instance)
    keep = represented(W, threshold)[0].nonzero().flatten()
    return keep, W[keep]


# ------------------------------------------------------------------------------------------------ measures


def best_cosines(W_true: torch.Tensor, W_dec: torch.Tensor,
                 fires: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """For each true direction (row of W_true [r, d]), its largest cosine with a decoder row (W_dec [d_sae, d])
    among the latents that fire (fires: bool [d_sae]; None: all): (cosines [r], latent indices [r]).

    A feature with no firing latent at all gets cosine -1 and index -1.  Signs count: a latent is non-negative,
    so a decoder row pointing at -W_i does not represent feature i.
    """
    W_true = check_float_tensor("W_true", W_true).detach()
    W_dec = check_float_tensor("W_dec", W_dec).detach()
    if W_true.ndim != 2 or W_dec.ndim != 2 or W_true.shape[1] != W_dec.shape[1]:
        raise ValueError(f"W_true [n_true, d] and W_dec [d_sae, d] must share d, got {tuple(W_true.shape)} and "
                         f"{tuple(W_dec.shape)}")
    cos = unit_rows(W_true.double()) @ unit_rows(W_dec.double()).T  # [r, d_sae]
    if fires is not None:
        if not isinstance(fires, torch.Tensor) or fires.dtype != torch.bool or fires.shape != (W_dec.shape[0],):
            raise ValueError(f"fires must be a bool tensor [d_sae={W_dec.shape[0]}], got {fires!r}")
        cos = cos.masked_fill(~fires.cpu()[None, :], -math.inf)
    if cos.shape[1] == 0:
        return torch.full((cos.shape[0],), -1.0, dtype=torch.float64), torch.full((cos.shape[0],), -1)
    best, idx = cos.max(dim=1)
    none = torch.isinf(best)
    return best.masked_fill(none, -1.0), idx.masked_fill(none, -1)


def mmcs(W_true: torch.Tensor, W_dec: torch.Tensor, fires: torch.Tensor | None = None) -> float:
    """Mean max cosine similarity: the mean over the true directions (rows of W_true [r, d]) of their best cosine
    with a decoder row (W_dec [d_sae, d]) of a latent that fires (fires: bool [d_sae]; None: every latent)."""
    return float(best_cosines(W_true, W_dec, fires)[0].mean())


@dataclass
class SAEScores:
    """What score_sae measures (floats; see the module docstring for each definition).

    mmcs, worst:    mean and smallest best cosine over the represented features
    dead:           latents that never fired, of d_sae
    l0, true_l0:    mean active latents per sample; mean active represented features per sample
    fvu:            fraction of variance unexplained
    shrinkage:      reconstructed / true length of single active features (NaN if no sample had one)
    best_cosine:    [r] each represented feature's best cosine; best_latent: [r] which latent (-1: none)
    features:       [r] the represented features' indices;  firing: [d_sae] share of samples each latent fires on
    """

    mmcs: float
    worst: float
    dead: int
    d_sae: int
    l0: float
    true_l0: float
    fvu: float
    shrinkage: float
    best_cosine: torch.Tensor = field(repr=False)
    best_latent: torch.Tensor = field(repr=False)
    features: torch.Tensor = field(repr=False)
    firing: torch.Tensor = field(repr=False)

    def __str__(self) -> str:
        return (f"MMCS {self.mmcs:.4f} (worst feature {self.worst:.3f}), {self.dead} of {self.d_sae} latents dead, "
                f"L0 {self.l0:.3g} (true {self.true_l0:.3g}), FVU {self.fvu:.3g}, shrinkage {self.shrinkage:.3g}")


def score_sae(
    sae: SparseAutoencoder, model: ToyModel, density: ProbabilityLike, *, instance: int = 0,
    n_samples: int = EVAL_SAMPLES, seed: int = 0,
) -> SAEScores:
    """Score an SAE against the toy model's ground truth on n_samples fresh samples (seeded), in float64.

    density: the toy model's density p = 1 - S (scalar or [n_features]); instance: which of its instances.
    """
    check_instance("sae", sae, SparseAutoencoder)
    W, instance = _instance_weights(model, instance)
    if W.shape[1] != sae.d_in:
        raise ValueError(f"the SAE reads d_in={sae.d_in} but the toy model has n_hidden={W.shape[1]}")
    p = _density(density, W.shape[0])
    n_samples = check_positive_int("n_samples", n_samples)
    check_memory(8.0 * n_samples * (2 * W.shape[0] + 3 * W.shape[1] + 3 * sae.d_sae),
                 f"n_samples={n_samples} x d_sae={sae.d_sae}")
    for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
        check_finite(f"sae.{name}", getattr(sae, name).detach())
    keep, W_true = true_features(model, instance)
    g = torch.Generator().manual_seed(check_seed(seed))
    W64 = W.double()
    x, h = _sample_hidden(W64, 1.0 / p, n_samples, g, model.kind)
    with torch.no_grad():
        sae64 = _as_float64(sae)
        z = sae64._encode(h)  # encode and decode without the input checks (h is ours)
        h_hat = z @ sae64.W_dec + sae64.b_dec
    active = (z > 0).double()  # [n_samples, d_sae]
    firing = active.mean(0)
    fires = firing > 0
    best, latent = best_cosines(W_true, sae64.W_dec, fires)
    present = (x > 0).double()  # [n_samples, n_features]
    on = present[:, keep]  # the represented features that are active
    fvu = float(((h - h_hat) ** 2).sum() / ((h - h.mean(0)) ** 2).sum().clamp(min=1e-300))
    single = (present.sum(-1) == 1) & (on.sum(-1) == 1)  # exactly one feature active, and it is represented
    if bool(single.any()):
        U = W_true.double() / W_true.double().norm(dim=-1, keepdim=True)
        which = on[single].argmax(-1)
        along = (h_hat[single] * U[which]).sum(-1)  # h_hat . W^_i
        true = (h[single] * U[which]).sum(-1)  # h . W^_i = x_i ||W_i||
        shrink = float(along.sum() / true.sum())
    else:
        shrink = math.nan
    return SAEScores(
        mmcs=float(best.mean()) if len(best) else math.nan, worst=float(best.min()) if len(best) else math.nan,
        dead=int((~fires).sum()), d_sae=sae.d_sae, l0=float(active.sum(-1).mean()), true_l0=float(on.sum(-1).mean()),
        fvu=fvu, shrinkage=shrink, best_cosine=best.float(), best_latent=latent, features=keep, firing=firing.float(),
    )


def score_snapshots(
    sae: SparseAutoencoder, model: ToyModel, density: ProbabilityLike, *, instance: int = 0,
    n_samples: int = EVAL_SAMPLES, seed: int = 0,
) -> list[SAEScores]:
    """score_sae of every recorded snapshot of a run (train_sae(..., snapshot_every=N)), on the same samples."""
    check_instance("sae", sae, SparseAutoencoder)
    if sae.snapshots is None:
        raise ValueError("this SAE has no snapshots: train it with train_sae(..., snapshot_every=N)")
    return [score_sae(sae.at_snapshot(j), model, density, instance=instance, n_samples=n_samples, seed=seed)
            for j in range(len(sae.snapshots["step"]))]


def _as_float64(sae: SparseAutoencoder) -> SparseAutoencoder:
    """The same SAE computing in float64 (a copy, or sae itself if it already does)."""
    if sae.W_dec.dtype == torch.float64:
        return sae
    copy = SparseAutoencoder(sae.d_in, sae.d_sae, sae.kind, sae.k, dtype=torch.float64)
    with torch.no_grad():
        for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
            getattr(copy, name).copy_(getattr(sae, name))
    return copy


# ------------------------------------------------------------------------------------------------- training


def sae_lr_at(t: int, steps: int, lr: float) -> float:
    """Adam's learning rate at step t of `steps`: constant, then linear decay to 0 over the last DECAY_FRACTION."""
    decay_start = int(steps * (1.0 - DECAY_FRACTION))
    if t < decay_start:
        return lr
    return lr * (steps - t) / max(1, steps - decay_start)


def train_sae(
    model: ToyModel,
    density: ProbabilityLike,
    *,
    d_sae: int,
    kind: str = "l1",
    k: int | None = None,
    l1_coeff: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    instance: int = 0,
    lr: float | None = None,
    batch_size: int = DEFAULT_SAE_BATCH,
    resample_dead: bool = False,
    snapshot_every: int | None = None,
    dtype: torch.dtype | str | None = torch.float64,
    progress: bool | None = None,
) -> SparseAutoencoder:
    """Train an SAE on h = W x of one instance of a trained toy model; return it.

    model, density, instance: the toy model, its density p = 1 - S (scalar or [n_features]) and which instance.
    d_sae, kind, k: the SAE (SparseAutoencoder).  l1_coeff: the L1 coefficient for kind="l1" (None:
        DEFAULT_L1_COEFF); leave it None for "topk".
    steps, lr, batch_size: Adam at lr (None: DEFAULT_SAE_LR) for `steps` (None: DEFAULT_SAE_STEPS) steps of fresh
        batches, the lr falling linearly to 0 over the last DECAY_FRACTION of them.
    seed: seeds the SAE's initialisation and the data (the same seed, the same SAE on this machine).
    resample_dead: at the fractions RESAMPLE_AT of training, give every latent that fired on fewer than
        RESAMPLE_BELOW of the samples since the last check (dead, or as good as dead) a new direction: an input
        h - b_dec drawn with probability proportional to the square of its squared error (Bricken et al.
        2023, simplified), with a tied encoder column (as at initialisation), b_enc 0 and fresh Adam moments.
    snapshot_every: record the parameters every this many steps (sae.snapshots; the first and last included).
    dtype: what the SAE computes in: float64 by default (these models are tiny, and float64 makes a run the same
        on any CPU to many more digits than float32 would); torch.float32 also works.
    """
    W, instance = _instance_weights(model, instance)
    p = _density(density, W.shape[0])
    kind, k = check_sae_kind(kind, k, check_positive_int("d_sae", d_sae))
    if kind == "topk" and l1_coeff is not None:
        raise ValueError(f"a TopK SAE has no L1 term: leave l1_coeff None, got {l1_coeff!r}")
    l1 = 0.0 if kind == "topk" else check_in_range(
        "l1_coeff", DEFAULT_L1_COEFF if l1_coeff is None else l1_coeff, 0.0, math.inf, allowed="a finite number >= 0")
    steps = check_positive_int("steps", DEFAULT_SAE_STEPS if steps is None else steps)
    lr = check_in_range("lr", DEFAULT_SAE_LR if lr is None else lr, 0.0, math.inf, low_open=True,
                        allowed="a positive finite number")
    batch_size = check_positive_int("batch_size", batch_size)
    every = None if snapshot_every is None else check_positive_int("snapshot_every", snapshot_every)
    if not isinstance(resample_dead, bool):
        raise ValueError(f"resample_dead must be True or False, got {resample_dead!r}")
    dtype = check_dtype(dtype)
    seed = check_seed(seed)
    check_memory(8.0 * batch_size * (2 * W.shape[0] + 4 * W.shape[1] + 6 * d_sae),
                 f"batch_size={batch_size} x d_sae={d_sae}")

    sae = SparseAutoencoder(W.shape[1], d_sae, kind, k, seed=seed, dtype=dtype)
    opt = torch.optim.Adam(sae.parameters(), lr=lr, fused=True)  # fused: one kernel, 4x faster here
    data = torch.Generator().manual_seed(seed + 1)  # the data stream, apart from the initialisation's
    W_data, inv_p = W.to(dtype), 1.0 / p
    resample_steps = {int(f * steps) for f in RESAMPLE_AT} if resample_dead else set()
    fired = torch.zeros(d_sae, dtype=torch.float64)  # how often each latent fired since the last resampling check
    window_start = 0
    log_every = max(1, steps // 200)
    log_step, log_loss, snaps = [], [], []
    bar = progress_bar(progress, steps, desc="training the SAE")
    with torch_threads(1, torch.device("cpu")):
        for t in range(steps):
            if every is not None and t % every == 0:
                snaps.append((t, _parameters(sae)))
            _, h = _sample_hidden(W_data, inv_p, batch_size, data, model.kind)
            z = sae._encode(h)  # sae.encode(h) without the input checks
            h_hat = z @ sae.W_dec + sae.b_dec
            loss = ((h - h_hat) ** 2).sum(-1).mean() + l1 * z.sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            sae.remove_parallel_gradient()  # the rows stay unit norm: step only along the sphere
            for group in opt.param_groups:
                group["lr"] = sae_lr_at(t, steps, lr)
            opt.step()
            sae.normalize_decoder()
            if resample_steps:
                fired += (z.detach() > 0).sum(0)
            if t % log_every == 0:
                if not math.isfinite(float(loss.detach())):
                    raise FloatingPointError(f"SAE training diverged at step {t} (loss {float(loss)}, lr={lr}); "
                                             "try a smaller lr")
                log_step.append(t)
                log_loss.append(float(loss.detach()))
            if t + 1 in resample_steps:
                rare = fired < RESAMPLE_BELOW * batch_size * (t + 1 - window_start)
                sae.n_resampled += _resample(sae, opt, rare, W_data, inv_p, model.kind, data)
                fired.zero_()
                window_start = t + 1
            if bar is not None and (t + 1) % 100 == 0:
                bar.update(100)
        if bar is not None:
            bar.close()
    if every is not None:
        snaps.append((steps, _parameters(sae)))
        sae.snapshots = {"step": torch.tensor([s for s, _ in snaps])}
        for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
            sae.snapshots[name] = torch.stack([params[name] for _, params in snaps])
    for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
        check_finite(f"the trained SAE's {name}", getattr(sae, name).detach())
    sae.history = {"step": torch.tensor(log_step), "loss": torch.tensor(log_loss, dtype=torch.float64)}
    sae.l1_coeff = l1
    return sae


def _parameters(sae: SparseAutoencoder) -> dict[str, torch.Tensor]:
    return {name: getattr(sae, name).detach().clone() for name in ("W_enc", "b_enc", "W_dec", "b_dec")}


@torch.no_grad()
def _resample(sae: SparseAutoencoder, opt: torch.optim.Optimizer, dead: torch.Tensor, W: torch.Tensor,
              inv_p: torch.Tensor, kind: str, generator: torch.Generator) -> int:
    """Give the dead latents new directions (see train_sae's resample_dead); return how many were resampled."""
    idx = dead.nonzero().flatten()
    if len(idx) == 0:
        return 0
    _, h = _sample_hidden(W, inv_p, 8 * DEFAULT_SAE_BATCH, generator, kind)
    err = ((h - sae(h)) ** 2).sum(-1)
    if float(err.sum()) <= 0:
        return 0
    pick = torch.multinomial(err.double() ** 2, len(idx), replacement=len(idx) > len(err), generator=generator)
    direction = h[pick] - sae.b_dec
    direction /= direction.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    sae.W_dec[idx] = direction
    sae.W_enc[:, idx] = direction.T  # as at initialisation (tied): strong enough to win a TopK slot
    sae.b_enc[idx] = 0.0
    for param, rows in ((sae.W_dec, (idx,)), (sae.W_enc, (slice(None), idx)), (sae.b_enc, (idx,))):
        state = opt.state.get(param, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][rows] = 0.0
    return len(idx)
