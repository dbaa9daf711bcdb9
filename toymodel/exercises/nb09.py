"""Self-checks for notebook 09 (sparse autoencoders on the toy model, scored against the ground truth).

Each check prints feedback and returns True or False; it never raises on a wrong answer, not even when the
learner's code does.  The build-it checkers run the learner's function on fixed inputs (through call_learner:
seeded, time-limited, every global setting restored) and name the classic mistakes: a decoder that is not
normalised, b_dec not subtracted before encoding, the L1 term averaged instead of summed over latents, a cosine
taken over dead latents too, the max taken over the wrong axis.  Answers read off the notebook's precomputed
sweep are judged against that sweep, never against hard-coded numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import (
    as_number,
    as_whole,
    call_learner,
    feedback,
    gradient_problem,
    judge_number,
    learner_tensor,
    read_pair,
    unanswered,
)

__all__ = [
    "check_lowest_fvu", "check_mmcs", "check_pentagon_ten", "check_sae_forward", "check_sae_loss", "lowest_fvu",
    "mmcs_inputs", "reference_mmcs", "reference_sae_forward", "reference_sae_loss", "sae_inputs",
]


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-4, atol=1e-6 * (1 + float(b.abs().max()))))


# ------------------------------------------------------------------------------------------- the forward pass

def sae_inputs() -> dict[str, torch.Tensor]:
    """The fixed inputs the forward and loss checkers use: h [64, 3], W_enc [3, 6], b_enc [6], W_dec [6, 3] with rows
    of norm 0.4 to 2.4 (so a decoder that is not normalised shows), b_dec [3] far from 0 (so forgetting it shows)."""
    g = torch.Generator().manual_seed(9)
    B, d_in, d_sae = 64, 3, 6
    h = torch.randn(B, d_in, generator=g)
    W_dec = torch.randn(d_sae, d_in, generator=g)
    W_dec = W_dec / W_dec.norm(dim=-1, keepdim=True) * torch.linspace(0.4, 2.4, d_sae)[:, None]
    return {"h": h, "W_enc": torch.randn(d_in, d_sae, generator=g), "b_enc": 0.3 * torch.randn(d_sae, generator=g),
            "W_dec": W_dec, "b_dec": torch.tensor([0.8, -0.6, 0.5])}


def reference_sae_forward(h: torch.Tensor, W_enc: torch.Tensor, b_enc: torch.Tensor, W_dec: torch.Tensor,
                          b_dec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The worked answer: z = ReLU((h - b_dec) W_enc + b_enc), h_hat = z W^_dec + b_dec (rows of W_dec normalised)."""
    z = torch.relu((h - b_dec) @ W_enc + b_enc)
    return z, z @ (W_dec / W_dec.norm(dim=-1, keepdim=True)) + b_dec


def check_sae_forward(fn: Any) -> bool:
    """fn(h [batch, d_in], W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in]) -> (z, h_hat):
    z = ReLU((h - b_dec) W_enc + b_enc) [batch, d_sae], h_hat = z W^_dec + b_dec [batch, d_in], with each row of
    W_dec scaled to unit norm."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def sae_forward(h, W_enc, b_enc, W_dec, b_dec): ... return z, h_hat")
    inp = sae_inputs()
    leaves = {k: v.clone().requires_grad_(k != "h") for k, v in inp.items()}
    out, err = call_learner(fn, *leaves.values())
    if err:
        return feedback(False, err + " Shapes: h [batch, d_in], W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, "
                                     "d_in], b_dec [d_in].")
    B, d_sae = inp["h"].shape[0], inp["W_enc"].shape[1]
    d_in = inp["h"].shape[1]
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return feedback(False, "Return two things, the latents and the reconstruction: return z, h_hat.")
    shapes = [tuple(getattr(o, "shape", ())) for o in out]
    if shapes == [(B, d_in), (B, d_sae)]:
        return feedback(False, "The order is (z, h_hat): the latents first, then the reconstruction.")
    z, err = learner_tensor(out[0], (B, d_sae), "z (the first thing sae_forward returns)", need_grad=True,
                            shape_hint="z has one value per sample and latent: [batch, d_sae].")
    if err:
        return feedback(False, err)
    h_hat, err = learner_tensor(out[1], (B, d_in), "h_hat (the second thing sae_forward returns)", need_grad=True,
                                shape_hint="h_hat has the shape of h: [batch, d_in].")
    if err:
        return feedback(False, err)
    x = {k: v.double() for k, v in inp.items()}
    h, W_enc, b_enc, W_dec, b_dec = x.values()
    z_right, h_right = reference_sae_forward(h, W_enc, b_enc, W_dec, b_dec)
    if not _close(z, z_right):
        pre = (h - b_dec) @ W_enc + b_enc
        z_mistakes = [
            (torch.relu(h @ W_enc + b_enc), "b_dec is not subtracted before encoding: z = ReLU((h - b_dec) W_enc + "
                                            "b_enc). The SAE encodes h relative to its own centre b_dec."),
            (torch.relu((h + b_dec) @ W_enc + b_enc), "b_dec is added before encoding; subtract it: (h - b_dec)."),
            (pre, "The ReLU is missing: latents are non-negative, z = ReLU((h - b_dec) W_enc + b_enc)."),
            (torch.relu((h - b_dec) @ W_enc) + b_enc, "b_enc goes inside the ReLU: ReLU((h - b_dec) W_enc + b_enc)."),
            (torch.relu((h - b_dec) @ W_enc), "b_enc is missing: z = ReLU((h - b_dec) W_enc + b_enc)."),
        ]
        for wrong, message in z_mistakes:
            if _close(z, wrong):
                return feedback(False, message)
        return feedback(False, "z is not ReLU((h - b_dec) @ W_enc + b_enc).")
    if not _close(h_hat, h_right):
        unit = W_dec / W_dec.norm(dim=-1, keepdim=True)
        h_mistakes = [
            (z_right @ W_dec + b_dec, "z is right, but the decoder is not normalised: scale each ROW of W_dec to unit "
                                      "norm, W_dec / W_dec.norm(dim=-1, keepdim=True). Otherwise the L1 penalty can be "
                                      "dodged by shrinking z and growing W_dec."),
            (z_right @ (W_dec / W_dec.norm(dim=0, keepdim=True)) + b_dec,
             "z is right; you normalised the columns of W_dec. Each ROW (one latent's direction) gets unit norm: "
             "W_dec.norm(dim=-1, keepdim=True)."),
            (z_right @ unit, "z is right; b_dec is not added back after decoding: h_hat = z W_dec + b_dec."),
            (z_right @ W_dec, "z is right; the decoder is not normalised and b_dec is not added back: "
                              "h_hat = z (W_dec with unit rows) + b_dec."),
            (z_right @ unit - b_dec, "z is right; add b_dec back, do not subtract it: h_hat = z W_dec + b_dec."),
        ]
        for wrong, message in h_mistakes:
            if _close(h_hat, wrong):
                return feedback(False, message)
        return feedback(False, "z is right; h_hat is not z @ (W_dec with unit-norm rows) + b_dec.")
    W = {k: v for k, v in leaves.items() if k != "h"}
    z_inputs = {k: v for k, v in W.items() if k != "W_dec"}  # z does not depend on W_dec
    for j, name, wrt in ((0, "z", z_inputs), (1, "h_hat", W)):
        want = reference_sae_forward(leaves["h"], *W.values())[j]  # a fresh graph for each comparison
        problem = gradient_problem(out[j], want, wrt, f"sae_forward's {name}")
        if problem:
            return feedback(False, problem)
    return feedback(True, "z = ReLU((h - b_dec) W_enc + b_enc) and h_hat = z W^_dec + b_dec, with unit-norm decoder "
                          "rows: the SAE of SAELens and of the library's SparseAutoencoder.")


# ----------------------------------------------------------------------------------------------------- the loss

def reference_sae_loss(h: torch.Tensor, z: torch.Tensor, h_hat: torch.Tensor, l1_coeff: float) -> torch.Tensor:
    """The worked answer: mean over the batch of sum_d (h - h_hat)^2 + l1_coeff * sum_j z_j."""
    return ((h - h_hat) ** 2).sum(-1).mean() + l1_coeff * z.abs().sum(-1).mean()


def check_sae_loss(fn: Any) -> bool:
    """fn(h [batch, d_in], z [batch, d_sae], h_hat [batch, d_in], l1_coeff) -> a 0-d tensor: the batch mean of
    sum_d (h - h_hat)_d^2 + l1_coeff sum_j z_j (the squared error summed over d_in, the L1 summed over latents)."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def sae_loss(h, z, h_hat, l1_coeff): ...")
    inp = sae_inputs()
    _, h0 = reference_sae_forward(*inp.values())
    h = inp["h"]
    z = torch.rand(h.shape[0], inp["W_enc"].shape[1], generator=torch.Generator().manual_seed(10)) + 0.05
    z, h_hat = z.requires_grad_(), h0.detach().clone().requires_grad_()  # z > 0: |z| and z have one gradient
    l1 = 0.3
    out, err = call_learner(fn, h.clone(), z, h_hat, l1)
    if err:
        return feedback(False, err)
    if isinstance(out, torch.Tensor) and out.ndim == 1 and out.shape[0] == h.shape[0]:
        return feedback(False, f"Your loss has one value per sample (shape [{h.shape[0]}]): take its mean over the "
                               "batch.")
    value, err = learner_tensor(out, (), "sae_loss(h, z, h_hat, l1_coeff)", need_grad=True,
                                shape_hint="The loss is one number (a 0-d tensor).")
    if err:
        return feedback(False, err)
    h64, z64, hh64 = h.double(), z.detach().double(), h_hat.detach().double()
    sq = (h64 - hh64) ** 2
    right = reference_sae_loss(h64, z64, hh64, l1)
    if _close(value, right):
        problem = gradient_problem(out, reference_sae_loss(h, z, h_hat, l1), {"z": z, "h_hat": h_hat},
                                   "sae_loss(h, z, h_hat, l1_coeff)")
        if problem:
            return feedback(False, problem)
        return feedback(True, "mean over the batch of sum_d (h - h_hat)^2 + l1_coeff sum_j z_j: the squared error "
                              "summed over the hidden dimensions, the L1 penalty summed over the latents.")
    mse, l1_sum = sq.sum(-1).mean(), z64.sum(-1).mean()
    mistakes = [
        (mse + l1 * z64.mean(), "The L1 term is averaged over the latents: sum it over latents (then average over the "
                                "batch). Averaging makes the penalty d_sae times weaker, and its strength would "
                                "change with the dictionary size."),
        (sq.mean() + l1 * l1_sum, "The squared error is averaged over the hidden dimensions: sum it over d_in (then "
                                  "average over the batch), as SAELens does."),
        (sq.mean() + l1 * z64.mean(), "Both terms are averaged over their last dimension: sum the squared error over "
                                      "d_in and the L1 over the latents, then take the mean over the batch."),
        (sq.sum() + l1 * z64.sum(), "That is the sum over the batch: take the mean over the batch (a loss that does "
                                    "not grow with the batch size)."),
        (mse, "The L1 penalty is missing: + l1_coeff * z.sum(-1).mean()."),
        (mse + l1 * (z64**2).sum(-1).mean(), "The penalty squares z (an L2 penalty): the L1 penalty is the sum of "
                                             "|z_j|, which pushes small latents to exactly 0."),
        ((h64 - hh64).abs().sum(-1).mean() + l1 * l1_sum, "The reconstruction error is not squared: "
                                                          "sum_d (h - h_hat)^2."),
        (mse + l1 * hh64.abs().sum(-1).mean(), "The L1 penalty goes on the latents z, not on the reconstruction."),
        (sq.sum(-1).mean().sqrt() + l1 * l1_sum, "No square root: the loss is the squared error itself."),
    ]
    for wrong, message in mistakes:
        if _close(value, wrong):
            return feedback(False, message)
    return feedback(False, f"Expected {float(right):.5f}, got {float(value):.5f}: ((h - h_hat)**2).sum(-1).mean() "
                           "+ l1_coeff * z.sum(-1).mean().")


# -------------------------------------------------------------------------------------------------------- MMCS

def mmcs_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed inputs of check_mmcs: W_true [5, 3] (rows of norm 0.5 to 1.5), W_dec [7, 3] (rows of norm 0.6 to
    1.8) and fires [7] with latents 5 and 6 dead.  Latent 5 (dead) points exactly along feature 4, latent 2 exactly
    against feature 1 (cosine -1): so counting dead latents, using |cos| or taking the max over the wrong axis
    each give a different number."""
    g = torch.Generator().manual_seed(11)
    W_true = torch.randn(5, 3, generator=g)
    W_true = W_true / W_true.norm(dim=-1, keepdim=True) * torch.linspace(0.5, 1.5, 5)[:, None]
    W_dec = torch.randn(7, 3, generator=g)
    W_dec[2] = -W_true[1]
    W_dec[5] = W_true[4]
    W_dec = W_dec / W_dec.norm(dim=-1, keepdim=True) * torch.linspace(0.6, 1.8, 7)[:, None]
    fires = torch.tensor([True, True, True, True, True, False, False])
    return W_true, W_dec, fires


def _cos(W_true: torch.Tensor, W_dec: torch.Tensor) -> torch.Tensor:
    U = W_true / W_true.norm(dim=-1, keepdim=True)
    return U @ (W_dec / W_dec.norm(dim=-1, keepdim=True)).T  # [n_true, d_sae]


def reference_mmcs(W_true: torch.Tensor, W_dec: torch.Tensor, fires: torch.Tensor) -> torch.Tensor:
    """The worked answer: the mean over the rows of W_true of their largest cosine with a row of W_dec whose latent
    fires (a 0-d tensor)."""
    return _cos(W_true, W_dec)[:, fires].max(dim=1).values.mean()


def check_mmcs(fn: Any) -> bool:
    """fn(W_true [n_true, d], W_dec [d_sae, d], fires bool [d_sae]) -> MMCS, a 0-d tensor (or a number): the mean over
    the true features of the largest cosine with a decoder row of a latent that fires."""
    if unanswered(fn):
        return False
    if not callable(fn):
        return feedback(False, "Write a function: def mmcs(W_true, W_dec, fires): ...")
    W_true, W_dec, fires = mmcs_inputs()
    out, err = call_learner(fn, W_true.clone(), W_dec.clone(), fires.clone())
    if err:
        return feedback(False, err + " Shapes: W_true [n_true, d] (row i: feature i), W_dec [d_sae, d] (row j: "
                                     "latent j), fires: bool [d_sae].")
    if isinstance(out, (float, int, np.floating, np.integer)) and not isinstance(out, bool):
        value = float(out)
    else:
        t, err = learner_tensor(out, (), "mmcs(W_true, W_dec, fires)",
                                shape_hint="MMCS is one number: the mean over the true features.")
        if err:
            return feedback(False, err)
        value = float(t)
    W_true, W_dec = W_true.double(), W_dec.double()
    cos = _cos(W_true, W_dec)
    right = float(reference_mmcs(W_true, W_dec, fires))
    dots = W_true @ W_dec.T
    mistakes = [
        (float(cos.max(dim=1).values.mean()), "Dead latents are counted: latent 5 never fires but points exactly along "
                                              "feature 4. Take the max only over the latents that fire: "
                                              "cos[:, fires].max(dim=1)."),
        (float(cos[:, fires].max(dim=0).values.mean()), "The max is over the wrong axis: for each FEATURE (row of "
                                                        "W_true) take its best latent, max over latents (dim=1), then "
                                                        "the mean over features."),
        (float(cos.max(dim=0).values.mean()), "The max is over the wrong axis, and dead latents are counted: max over "
                                              "the latents that fire, for each feature."),
        (float(cos[:, fires].abs().max(dim=1).values.mean()),
         "Keep the sign of the cosine: a latent is never negative, so a decoder row pointing at -W_i (latent 2 vs "
         "feature 1) does not represent feature i."),
        (float(dots[:, fires].max(dim=1).values.mean()), "Those are dot products, not cosines: divide by both norms "
                                                         "(normalise the rows of W_true and of W_dec)."),
        (float((W_true / W_true.norm(dim=-1, keepdim=True) @ W_dec.T)[:, fires].max(dim=1).values.mean()),
         "Normalise the rows of W_dec too: a cosine ignores both lengths."),
        (float((W_true @ (W_dec / W_dec.norm(dim=-1, keepdim=True)).T)[:, fires].max(dim=1).values.mean()),
         "Normalise the rows of W_true too: a cosine ignores both lengths."),
        (float(cos[:, fires].max(dim=1).values.min()),
         "That is the worst feature's best cosine; MMCS is the MEAN of the best cosines over the features."),
        (float(cos[:, fires].mean()), "That is the mean of all cosines: for each feature keep only its best latent "
                                      "(the max), then average."),
    ]
    return judge_number(value, right, 1e-4,
                        "For each true feature its best cosine with a live latent, averaged: 1 means every feature "
                        "has a latent pointing exactly along it.", mistakes,
                        f"Expected {right:.4f}: normalise the rows of both, cos = U @ D.T [n_true, d_sae], keep the "
                        "columns of latents that fire, max over them (dim=1), mean over features.")


# ---------------------------------------------------------------------------------------------- your turn

def lowest_fvu(sweep: Any) -> Any:
    """The run of the sweep's L1 grid (every d_sae, seed 0) with the lowest FVU: (d_sae, l1_coeff, its scores)."""
    best = None
    for d in sweep.d_sae_grid:
        for c, s in zip(*sweep.l1_curve(d)):
            if best is None or s.fvu < best[2].fvu:
                best = (d, c, s)
    return best


def check_lowest_fvu(answer: Any, sweep: Any) -> bool:
    """Exercise 1: of the L1 grid's SAEs (all three sizes), the one that reconstructs best: answer = (its FVU, its
    MMCS).  The answer is read off the sweep the notebook loaded."""
    pair = read_pair(answer, (as_number, as_number), "Write two numbers: answer = (fvu, mmcs).")
    if pair is None:
        return False
    fvu, value = pair
    d, c, s = lowest_fvu(sweep)
    best_mmcs = max(sc.mmcs for dd in sweep.d_sae_grid for sc in sweep.l1_curve(dd)[1])
    if abs(fvu - s.fvu) > max(1e-3 * s.fvu, 1e-6):
        others = [sc.fvu for dd in sweep.d_sae_grid for sc in sweep.l1_curve(dd)[1]]
        if any(abs(fvu - o) <= max(1e-3 * o, 1e-6) for o in others):
            return feedback(False, "That FVU belongs to another SAE of the grid: take the smallest "
                                   "(min over every d_sae and coefficient).")
        return feedback(False, "Loop over sweep.d_sae_grid and sweep.l1_curve(d) and keep the smallest .fvu.")
    return judge_number(value, s.mmcs, 5e-4,
                        f"The best reconstruction (d_sae = {d}, L1 {c:g}: FVU {s.fvu:.2g}, {s.l0:.1f} latents active "
                        f"per sample against a true {s.true_l0:.2f}) has MMCS {s.mmcs:.3f}, its worst feature "
                        f"{s.worst:.2f}: a dense code that mixes features. The sweep's best MMCS is {best_mmcs:.4f}. "
                        "Reconstruction error does not tell you whether the features were found.",
                        [(s.worst, "That is its worst feature's best cosine (.worst); the question asks for .mmcs.")],
                        "FVU is right; read that SAE's .mmcs.")


def check_pentagon_ten(answer: Any, sweep: Any) -> bool:
    """Exercise 2: train an L1 SAE with d_sae = 10 on the pentagon (seed 0, the defaults) and score it:
    answer = (dead latents, MMCS).  Judged against the same train_sae call stored in the sweep."""
    pair = read_pair(answer, (as_whole, as_number), "Write two numbers: answer = (dead latents, mmcs).")
    if pair is None:
        return False
    dead, value = pair
    s = sweep.run("pentagon", 10, seed=0).scores
    if dead != s.dead:
        if dead == s.d_sae - s.dead:
            return feedback(False, "That counts the latents that fire; the question asks for the dead ones (.dead).")
        return feedback(False, "train_sae(pentagon, 0.05, d_sae=10, seed=0), then score_sae(sae, pentagon, 0.05).dead.")
    return judge_number(value, s.mmcs, 5e-4,
                        f"{s.dead} of the 10 latents never fire and MMCS is {s.mmcs:.4f}: the extra latents are not "
                        "needed, and MMCS does not suffer because dead latents are left out of it.",
                        [(s.worst, "That is the worst feature's best cosine (.worst); the question asks for .mmcs.")],
                        "The dead count is right; read .mmcs of the same scores.")
