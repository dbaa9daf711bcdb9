"""Speed of train_toy_model against the paper's reference recipe, side by side in one process.

Baseline (written out below, as in the paper's companion notebook): einsum forward, autograd,
torch.optim.AdamW(lr=1e-3), 10,000 steps, batch 1024, constant lr, fresh data every step.
Ours: train_toy_model with its defaults (fast=True), and once more with fast=False (the library's readable
autograd loop, train.train_reference, on the same recipe).  All are scored on the same evaluation batches.

    python benchmarks/bench_train.py              # configs a and b (b's baseline takes minutes)
    python benchmarks/bench_train.py --config a   # just the 5 -> 2 config
    python benchmarks/bench_train.py --ref-steps 2000   # a quicker, shorter baseline (not the reference)

Prints, per config: wall time of each, the speed-up, the final loss per instance of both and their
relative difference (ours should be within 2% of the reference's, or lower), and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from toymodel import (
    ToyModel,
    density_sweep,
    evaluate_loss,
    generate_sparse_features,
    geometric_importance,
    train_toy_model,
)

__all__ = ["CONFIGS", "main", "peak_rss_mb", "reference_training", "run"]

CONFIGS = {
    # name: (n_features, n_hidden, n_instances, importance decay)
    "a": (5, 2, 10, 0.9),
    "b": (200, 20, 20, 1.0),
}


def reference_training(n: int, m: int, k: int, p: torch.Tensor, imp: torch.Tensor, steps: int,
                       seed: int = 0) -> ToyModel:
    """The paper's recipe, plainly: einsum + autograd + AdamW(1e-3), batch 1024, constant lr."""
    torch.manual_seed(seed)
    W = torch.nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(k, n, m)))
    b = torch.nn.Parameter(torch.zeros(k, n))
    opt = torch.optim.AdamW([W, b], lr=1e-3)
    for _ in range(steps):
        x = generate_sparse_features(1024, n, p, k)
        h = torch.einsum("bkn,knm->bkm", x, W)
        out = torch.relu(torch.einsum("bkm,knm->bkn", h, W) + b)
        loss = (imp * (x - out) ** 2).mean(dim=(0, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = ToyModel(n, m, k)
    with torch.no_grad():
        model.W.copy_(W)
        model.b.copy_(b)
    return model


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(name: str, ref_steps: int) -> None:
    n, m, k, decay = CONFIGS[name]
    p = density_sweep(k, 1 / 20)  # 20 ** -linspace(0, 1, k)
    imp = geometric_importance(n, decay)
    print(f"\n== config {name}: {n} features -> {m} hidden, {k} instances, importance {decay}^i, "
          f"p = 20^-linspace(0, 1, {k}), threads = {torch.get_num_threads()}")

    t0 = time.perf_counter()
    ours = ToyModel(n, m, k, seed=0)
    result = train_toy_model(ours, p, imp, progress=False)
    t_ours = time.perf_counter() - t0
    rss_ours = peak_rss_mb()

    t0 = time.perf_counter()
    slow = ToyModel(n, m, k, seed=0)
    train_toy_model(slow, p, imp, progress=False, fast=False)  # the library's own reference loop (train.py)
    t_slow = time.perf_counter() - t0
    same = float((slow.W - ours.W).detach().abs().max())

    t0 = time.perf_counter()
    ref = reference_training(n, m, k, p, imp, ref_steps)
    t_ref = time.perf_counter() - t0
    rss_ref = peak_rss_mb()

    loss_ours = evaluate_loss(ours, p, imp, seed=12345)
    loss_ref = evaluate_loss(ref, p, imp, seed=12345)
    rel = (loss_ours - loss_ref) / loss_ref * 100

    print(f"reference: {ref_steps} steps, {t_ref:8.2f} s   peak RSS so far {rss_ref:6.0f} MB")
    print(f"ours     : {result.recipe.steps} steps, {t_ours:8.2f} s   peak RSS so far {rss_ours:6.0f} MB "
          "(ours ran first)")
    print(f"speed-up : {t_ref / t_ours:.1f}x")
    print(f"ours with fast=False (train.py's autograd loop, the same recipe): {t_slow:.2f} s, so fast=True is "
          f"{t_slow / t_ours:.1f}x faster; max |W difference| {same:.1e} (float32)")
    print(" instance   density   loss ref     loss ours    ours vs ref")
    for i in range(k):
        print(f" {i:8d}   {p[i]:7.4f}   {loss_ref[i]:.4e}   {loss_ours[i]:.4e}   {rel[i]:+7.2f}%")
    worst = rel.max().item()
    verdict = "OK" if worst <= 2.0 else "WORSE than the reference by more than 2%"
    print(f"worst instance: {worst:+.2f}%  ({verdict}); "
          f"total loss ref {loss_ref.sum():.4e}, ours {loss_ours.sum():.4e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    parser.add_argument("--ref-steps", type=int, default=10_000, help="baseline steps (the reference is 10,000)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for both (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in CONFIGS if args.config == "all" else [args.config]:
        run(name, args.ref_steps)


if __name__ == "__main__":
    main()
