"""Self-checks for notebook 01 (basic superposition: 5 features in 2 hidden dimensions).

Each check prints feedback and returns True or False; it never raises on a wrong answer.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from . import (
    as_number,
    call_learner,
    feedback,
    gradient_problem,
    learner_tensor,
    read_answer,
    unanswered,
)

__all__ = ["check_feature_angle", "check_forward", "check_generate_batch", "check_loss", "check_trained_pentagon"]


def check_feature_angle(answer: Any, sweep: Any, i: int = 0, j: int = 1, density: float | None = None) -> bool:
    """Exercise 1: the angle in degrees between W_i and W_j (default features 0 and 1) of the sweep's model at
    `density` (the instance nearest it; None: the sparsest), computed from the sweep: arccos of the cosine, in
    [0, 180]."""
    value = read_answer(answer, as_number, "Write a number of degrees, e.g. answer = 45.")
    if value is None:
        return False
    k = int(sweep.density.argmin()) if density is None else int(sweep.nearest(density=density))
    w = sweep.W[k].double()
    cos = float(w[i] @ w[j] / (w[i].norm() * w[j].norm()))
    right = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
    if abs(value - right) <= 1.5:
        where = ("neighbours: 360 / 5 = 72 degrees apart." if abs(right - 72) < 10 else
                 "two steps apart (2 x 72 = 144 degrees), not neighbours: the pentagon does not have to put the "
                 "features in order of importance." if abs(right - 144) < 10 else "not a regular pentagon's angle.")
        return feedback(True, f"W_{i} and W_{j} are {right:.0f} degrees apart: {where}")
    if abs(value - math.radians(right)) <= 0.03:
        return feedback(False, "That is the right angle in radians; the question asks for degrees.")
    if abs(value - cos) <= 0.01:
        return feedback(False, "That is the cosine; the question asks for the angle: arccos of it, in degrees.")
    if abs(value - (360.0 - right)) <= 1.5:
        return feedback(False, "That is the angle the long way round; the angle between two directions is at most "
                               "180 degrees (the arccos of their cosine).")
    if abs(value - 72.0) <= 1.5 or abs(value - 144.0) <= 1.5:
        return feedback(False, "72 and 144 are a pentagon's two angles, but which one separates these two features? "
                               "Compute it from the weights rather than guessing.")
    return feedback(False, f"Compute cos = W_{i} . W_{j} / (||W_{i}|| ||W_{j}||) from the model's W (shape [5, 2], "
                           "row i is W_i), then the angle in degrees: torch.rad2deg(torch.arccos(cos)).")


# ------------------------------------------------------------------------- build it yourself: data, model, loss
# The learner writes the sampler, the forward pass and the loss; each checker runs their function on fixed
# inputs, compares it with the paper's definition, and names the mistake when it is one learners (and earlier
# public versions of this course) make.

def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=1e-6 * (1 + float(b.abs().max()))))


def check_generate_batch(fn: Any) -> bool:
    """fn(batch_size, n_features, density [n_instances]) -> x [batch, n_instances, n_features]:
    each x_i is 0 with probability 1 - p (the sparsity S), else uniform on [0, 1), independently.

    Checked statistically on 20,000 samples at densities p = 0.1, 0.5, 1 (5-sigma tolerances)."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: "
                               "def generate_batch(batch_size, n_features, density): ...")
    B, n, p = 20_000, 5, torch.tensor([0.1, 0.5, 1.0])
    out, err = call_learner(fn, B, n, p.clone(), on=f" on a batch of {B:,}")
    if err:
        return feedback(False, err)
    x, err = learner_tensor(out, (B, 3, n), f"generate_batch({B}, {n}, tensor([0.1, 0.5, 1.0]))",
                            shape_hint="The layout is [batch, n_instances, n_features], one instance per density.",
                            numpy_ok=True)  # the training loop below converts it with torch.as_tensor
    if err:
        return feedback(False, err)
    if (x < 0).any() or (x >= 1).any():
        return feedback(False, "Every x_i should lie in [0, 1): 0 when absent, uniform on [0, 1) when present.")
    present = (x > 0).double().mean((0, 2))  # [3]: fraction non-zero per instance
    se = torch.sqrt(p * (1 - p) / (B * n)).double() + 1e-9
    if (present - (1 - p.double())).abs().max() < 5 * se.max() and (present - p).abs().max() > 0.1:
        return feedback(False, "Density and sparsity are swapped: density p is the chance that x_i is "
                               "NON-zero (S = 1 - p is the chance it is zero). Keep x_i where rand < p.")
    on = (x[:, 1] > 0).double()  # the p = 0.5 instance: are features drawn independently?
    corr = torch.corrcoef(on.T)[torch.triu_indices(n, n, 1).unbind()]
    if corr.abs().max() > 0.05:
        return feedback(False, "Features should switch on independently (one draw per feature and sample); yours "
                               f"are correlated (correlation {float(corr.abs().max()):.2f}).")
    if ((present - p.double()).abs() > 5 * se).any():
        return feedback(False, f"At p = 0.1, 0.5, 1 the share of non-zero x_i should be about p; yours is "
                               f"{', '.join(f'{v:.3f}' for v in present.tolist())}. Use each instance's own p.")
    values = x[x > 0]
    if abs(float(values.mean()) - 0.5) > 0.01:
        one_draw = abs(float(x[:, 0][x[:, 0] > 0].mean()) - 0.05) < 0.01  # p = 0.1: values uniform on [0, 0.1)
        hint = (" It looks like rand * (rand < p) with ONE draw: the kept values are then uniform on [0, p). Draw "
                "the value separately, or divide the kept draw by p." if one_draw else "")
        return feedback(False, f"A present x_i should be uniform on [0, 1) (mean 0.5); yours have mean "
                               f"{float(values.mean()):.3f}.{hint}")
    if abs(float(values.var()) - 1 / 12) > 0.01:
        return feedback(False, f"A present x_i should be uniform on [0, 1) (variance 1/12 = 0.083); yours have "
                               f"variance {float(values.var()):.3f}.")
    return feedback(True, "Each x_i is non-zero with probability p and then uniform on [0, 1), independently.")


def _forward_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    K, n, m, B = 3, 5, 2, 64
    x = torch.rand(B, K, n, generator=g) * (torch.rand(B, K, n, generator=g) < 0.5)
    W = torch.randn(K, n, m, generator=g) * 0.8
    b = torch.randn(K, n, generator=g) * 0.3
    return x, W, b


def check_forward(fn: Any) -> bool:
    """fn(x [batch, n_instances, n_features], W [n_instances, n_features, n_hidden], b [n_instances, n_features])
    -> ReLU(W^T W x + b), shaped like x (the ReLU-output model: h = W x has no ReLU; the bias is on the output)."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def forward(x, W, b): ...")
    x, W, b = _forward_inputs()
    W, b = W.clone().requires_grad_(), b.clone().requires_grad_()  # leaves, as in training
    out, err = call_learner(fn, x.clone(), W, b)
    if err:
        return feedback(False, err + " Shapes: x [batch, instances, n], W [instances, n, m], b [instances, n]; "
                                     "h = einsum('bkn,knm->bkm', x, W).")
    y, err = learner_tensor(out, tuple(x.shape), "forward(x, W, b)", need_grad=True,
                            shape_hint="x' has the shape of x: [batch, instances, n_features].")
    if err:
        return feedback(False, err)
    right = _forward(x, W, b)
    x64, W64, b64 = x.double(), W.detach().double(), b.detach().double()
    if _close(y, _forward(x64, W64, b64)):
        problem = gradient_problem(out, right, {"W": W, "b": b}, "forward(x, W, b)")
        if problem:
            return feedback(False, problem)
        return feedback(True, "x' = ReLU(W^T W x + b): a linear hidden layer, the bias and the ReLU on the output.")
    h = torch.einsum("bkn,knm->bkm", x64, W64)
    pre = torch.einsum("bkm,knm->bkn", h, W64)
    mistakes = [
        (torch.relu(torch.einsum("bkm,knm->bkn", torch.relu(h), W64) + b64),
         "There is a ReLU on the hidden layer: that is the privileged-basis variant (notebook 07). The paper's main "
         "model keeps h = W x linear and puts the ReLU on the output only."),
        (torch.relu(pre), "The bias b is missing: x' = ReLU(W^T W x + b)."),
        (torch.relu(pre) + b64, "The bias is added after the ReLU; it goes inside: ReLU(W^T W x + b)."),
        (pre + b64, "The ReLU on the output is missing (that is the linear model): x' = ReLU(W^T W x + b)."),
        (torch.relu(torch.einsum("bkm,knm->bkn", torch.einsum("bkn,knm->bkm", x64 + b64, W64), W64)),
         "The bias is added to the input; it belongs after W^T W x, inside the ReLU: ReLU(W^T W x + b)."),
    ]
    for wrong, message in mistakes:
        if _close(y, wrong):
            return feedback(False, message)
    return feedback(False, "Not ReLU(W^T W x + b). With W stored as [instances, n, m]: h = einsum('bkn,knm->bkm', "
                           "x, W), then x' = ReLU(einsum('bkm,knm->bkn', h, W) + b).")


def _forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The worked answer: ReLU(W^T W x + b), [batch, n_instances, n_features]."""
    return torch.relu(torch.einsum("bkm,knm->bkn", torch.einsum("bkn,knm->bkm", x, W), W) + b)


def check_loss(fn: Any) -> bool:
    """fn(x, x_hat [batch, n_instances, n_features], importance [n_features]) -> a scalar:
    L = sum over instances k of  mean over batch and features of  I_i (x - x_hat)^2."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def loss(x, x_hat, importance): ...")
    g = torch.Generator().manual_seed(2)
    B, K, n = 64, 3, 5
    x, x_hat = torch.rand(B, K, n, generator=g), torch.rand(B, K, n, generator=g).requires_grad_()
    imp = 0.7 ** torch.arange(n, dtype=torch.float32)
    out, err = call_learner(fn, x.clone(), x_hat, imp.clone())
    if err:
        return feedback(False, err)
    if isinstance(out, torch.Tensor) and out.numel() == K and out.ndim == 1:
        return feedback(False, f"Your loss has one value per instance (shape [{K}]): sum them, the instances train "
                               "independently and their losses add.")
    value, err = learner_tensor(out, (), "loss(x, x_hat, importance)", need_grad=True,
                                shape_hint="The loss is one number (a 0-d tensor).")
    if err:
        return feedback(False, err)
    problem = gradient_problem(out, (imp * (x - x_hat) ** 2).mean((0, 2)).sum(), {"x_hat": x_hat},
                               "loss(x, x_hat, importance)")
    x, x_hat, imp = x.double(), x_hat.detach().double(), imp.double()
    per = (imp * (x - x_hat) ** 2).mean((0, 2))  # [K]
    right = per.sum()
    if _close(value, right):
        if problem:
            return feedback(False, problem)
        return feedback(True, "L = sum_k mean_{b,i} I_i (x_i - x'_i)^2: importance weights the squared error.")
    mistakes = [
        ((imp * (x - x_hat) ** 2).sum(), "That is the sum over the batch and features; take the mean over them "
                                         "(and sum over instances)."),
        (per.mean(), "That is the mean over instances too; sum over instances: they are independent models."),
        ((((imp * x) - x_hat) ** 2).mean((0, 2)).sum(), "Importance multiplies the input: it should weight the "
                                                        "squared error, I_i (x_i - x'_i)^2, never scale x."),
        (((imp * (x - x_hat)) ** 2).mean((0, 2)).sum(), "Importance is squared: multiply the squared error by I_i, "
                                                        "not the error before squaring."),
        (((x - x_hat) ** 2).mean((0, 2)).sum(), "The importance weights are missing: I_i (x_i - x'_i)^2."),
        ((imp * (x - x_hat).abs()).mean((0, 2)).sum(), "That is an absolute error; the loss uses the squared error."),
    ]
    for wrong, message in mistakes:
        if _close(value, wrong):
            return feedback(False, message)
    return feedback(False, f"Expected {float(right):.5f}, got {float(value):.5f}: "
                           "sum over instances of the mean over batch and features of I_i (x - x_hat)^2.")


def _as_five_by_two(W: Any) -> tuple[torch.Tensor | None, str | None]:
    """The learner's trained W as a [5, 2] float64 tensor (one instance), or (None, a message)."""
    if isinstance(W, (tuple, list)) and W and isinstance(W[0], torch.Tensor):
        W = W[0]  # (W, b) returned together
    shape = tuple(getattr(W, "shape", ()))
    if shape == (1, 5, 2):
        W = W[0]
    return learner_tensor(W, (5, 2), "train_5_to_2()",
                          shape_hint="Return the trained W (detached), shape [1, 5, 2] or [5, 2].")


def check_trained_pentagon(W: Any) -> bool:
    """The training-loop exercise: W [5, 2] (or [1, 5, 2], or (W, b)) trained by the learner's own loop
    (their generate_batch, forward and loss; torch.optim.AdamW) on 5 features at p = 0.05 should be a
    regular pentagon: every ||W_i|| > 0.5 and neighbouring directions 72 degrees apart (within 8)."""
    if W is None:
        return feedback(False, "Nothing trained yet: the training loop above has not run to the end. Make all three "
                               "checks print ✅, then run the loop cell again (an error in it leaves W_mine = None).")
    w, err = _as_five_by_two(W)
    if err:
        return feedback(False, err)
    norms = w.norm(dim=1)
    if float(norms.max()) < 0.1:
        return feedback(False, f"W hardly moved (largest norm {float(norms.max()):.3f}): is the loop calling "
                               "opt.zero_grad(), loss.backward() and opt.step() every step, on a W created with "
                               "requires_grad (torch.nn.Parameter)?")
    kept = norms > 0.5
    n_kept = int(kept.sum())
    top = w[norms.argsort(descending=True)[:2]]
    cos_top = float((top[0] @ top[1]).abs() / (top[0].norm() * top[1].norm()))
    if n_kept <= 2 or (n_kept == 3 and cos_top < 0.2):
        return feedback(False, "Two features on orthogonal axes and the rest fading: that is the dense solution "
                               "(PCA). Train on sparse inputs, p = 0.05: is density or sparsity passed to "
                               "generate_batch?")
    angles = torch.atan2(w[kept, 1], w[kept, 0]).rad2deg().sort().values
    gaps = torch.diff(torch.cat([angles, angles[:1] + 360.0]))
    if n_kept == 4 and bool(((gaps - 90.0).abs() < 10).all()):
        return feedback(False, "Two antipodal pairs at right angles: a local minimum (the 5th feature is "
                               "dropped). Train again with another seed; the paper keeps the best of several.")
    if n_kept < 5:
        return feedback(False, f"{n_kept} of 5 features are represented (||W_i|| > 0.5). Train longer, or check "
                               "the learning rate (AdamW, lr about 1e-2 for 2,000 steps).")
    if float((gaps - 72.0).abs().max()) > 8.0:
        return feedback(False, "All 5 features are represented but not evenly spaced (gaps "
                               f"{', '.join(f'{g:.0f}' for g in gaps.tolist())} degrees): train longer.")
    return feedback(True, "Your own sampler, model, loss and loop found the pentagon: 5 features in 2 dimensions, "
                          f"72 degrees apart (gaps {', '.join(f'{g:.0f}' for g in gaps.tolist())}).")


def plot_beside_library(W: Any, library: Any, instance: int = 0) -> Any:
    """Your trained W [5, 2] next to the library's (a ToyModel, Sweep or W tensor; `instance` picks the model):
    the figure, or None (with a reminder) while W is not a trained [5, 2] tensor yet."""
    from ..visualize import compare_models  # figures only when asked for: checkers stay light

    if W is None:
        print("Nothing to draw yet: the training loop above has not run to the end.")
        return None
    w, err = _as_five_by_two(W)
    if err:
        print(f"Nothing to draw yet: {err}")
        return None
    return compare_models([w[None].float(), library], ["your loop", "the library (train_toy_model)"],
                          view="embedding", instances=[0, instance])
