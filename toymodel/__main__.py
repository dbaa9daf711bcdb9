"""`python -m toymodel`: run the course's four experiments headless; write figures (PNG) and a summary.

    python -m toymodel                   # full defaults, into ./toymodel-output/
    python -m toymodel --quick           # fewer steps and seeds: a smoke run in seconds
    python -m toymodel --out figs --seed 3

It writes only its own files into --out, never over a file it did not write (or one edited since it wrote it),
and removes only files it wrote in an earlier run that this run no longer writes (toymodel.outputs).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
import sys
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from . import experiments, visualize  # noqa: E402
from .data import density_label  # noqa: E402
from .metrics import (  # noqa: E402
    REPRESENTED_THRESHOLD,
    dimensions_per_feature,
    embedding_angles,
    feature_norms,
    n_represented,
)
from .outputs import OutputError, OutputFolder  # noqa: E402
from .runs import torch_threads  # noqa: E402
from .validate import check_seed  # noqa: E402

__all__ = ["FIGURES", "MANIFEST", "TOOL", "main", "output_folder", "save_figure"]

TOOL = "python -m toymodel"
MANIFEST = ".toymodel-files"  # what this tool wrote into the output folder: one "sha256  name" line per file


def output_folder(path: Path) -> OutputFolder:
    """The CLI's output folder: it overwrites or removes only files it wrote, unchanged since (toymodel.outputs)."""
    return OutputFolder(path, tool=TOOL, manifest=MANIFEST)


def save_figure(out: OutputFolder, fig: plt.Figure, name: str) -> None:
    """Save fig as a PNG file in out (atomically), and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    out.save_bytes(buf.getvalue(), name)


FIGURES = [
    "01_embeddings_relu.png", "01_linear_vs_relu.png", "01_represented.png",
    "02_norms_sweep.png", "02_represented.png",
    "03_importance_norms.png",
    "04_dimensions_per_feature.png", "04_wtw.png",
]


def _fmt(values: torch.Tensor, digits: int = 2) -> str:
    """A short list of numbers, e.g. [1.00, 0.44]."""
    return "[" + ", ".join(f"{float(v):.{digits}f}" for v in values.flatten()) + "]"


def _p(sweep: experiments.Sweep, k: int) -> str:
    return density_label(sweep.density[k])


def experiment_1(out: OutputFolder, opts: dict) -> str:
    relu = experiments.basic_superposition(**opts)
    linear = experiments.basic_superposition(kind="linear", **opts)
    save_figure(out, visualize.plot_sweep(relu, view="embedding"), "01_embeddings_relu.png")
    sparse = relu.nearest(density=0.05)
    save_figure(
        out,
        visualize.compare_models([linear.model, relu.model], ["linear", "ReLU output"], view="embedding",
                                 instances=[sparse, sparse]),
        "01_linear_vs_relu.png",
    )
    save_figure(out, visualize.plot_represented_vs_density([relu, linear], labels=["ReLU output", "linear"]),
                "01_represented.png")
    dense = relu.nearest(density=1.0)
    angles = embedding_angles(relu.W)[sparse]
    return (
        "1. Basic superposition (5 features -> 2 hidden, importance 0.9^i)\n"
        f"   ReLU output, {_p(relu, dense)}: {int(n_represented(relu.W)[dense])} of 5 features represented "
        f"(norms {_fmt(feature_norms(relu.W)[dense])}).\n"
        f"   ReLU output, {_p(relu, sparse)}: {int(n_represented(relu.W)[sparse])} of 5 represented, "
        f"angles between neighbours {_fmt(angles, 1)} degrees (a regular pentagon has 72).\n"
        f"   Represented count from dense to sparse: {n_represented(relu.W).tolist()}.\n"
        f"   Linear model, represented count from dense to sparse: {n_represented(linear.W).tolist()} "
        "(a converged linear model keeps the n_hidden = 2 most important, like PCA).\n"
    )


def experiment_2(out: OutputFolder, opts: dict) -> str:
    relu = experiments.sparse_vs_dense(**opts)
    linear = experiments.sparse_vs_dense(kind="linear", **opts)
    save_figure(out, visualize.plot_sweep(relu, view="norms"), "02_norms_sweep.png")
    save_figure(out, visualize.plot_represented_vs_density([relu, linear], labels=["ReLU output", "linear"]),
                "02_represented.png")
    rows = "\n".join(
        f"   {_p(relu, k)}: {int(n_represented(relu.W)[k])} represented (linear: {int(n_represented(linear.W)[k])})"
        for k in range(len(relu))
    )
    return "2. Sparse vs dense (20 features -> 5 hidden, importance 0.7^i)\n" + rows + "\n"


def _kept_text(norms: torch.Tensor, n_hidden: int) -> str:
    """Which features one model represents, or, where its norms crowd the 0.5 cut (a dense model with equal
    importance spreads its ||W||_F^2 = n_hidden over every feature), that no feature is singled out."""
    if bool(((norms - REPRESENTED_THRESHOLD).abs() > 0.15).all()):
        return f"features represented (norm > 0.5): {torch.nonzero(norms > REPRESENTED_THRESHOLD).flatten().tolist()}"
    return (f"norms {float(norms.min()):.2f}-{float(norms.max()):.2f}: ||W||_F^2 = {float((norms ** 2).sum()):.1f} "
            f"(n_hidden = {n_hidden}) spread over all {norms.numel()} features, none singled out")


def experiment_3(out: OutputFolder, opts: dict) -> str:
    grid = experiments.feature_importance(**opts)
    rates = sorted(set(grid.importance_decay.tolist()), reverse=True)
    picks = [grid.nearest(density=d, importance_decay=r) for r in (rates[0], rates[-1]) for d in (1.0, 0.01)]
    save_figure(out, visualize.plot_sweep(grid, view="norms", instances=picks, ncols=2), "03_importance_norms.png")
    lines = [f"   {grid.label(k)}: {_kept_text(feature_norms(grid.W)[k].detach(), grid.model.n_hidden)}" for k in picks]
    header = "3. Feature importance (10 features -> 3 hidden; importance decay x density grid)\n"
    return header + "\n".join(lines) + "\n"


def experiment_4(out: OutputFolder, opts: dict) -> str:
    sweeps = experiments.dimensionality_sweep(**opts)
    save_figure(out, visualize.plot_dimensions_per_feature(sweeps), "04_dimensions_per_feature.png")
    m = 4 if 4 in sweeps else next(iter(sweeps))
    save_figure(out, visualize.plot_sweep(sweeps[m], view="wtw"), "04_wtw.png")
    rows = []
    for m, s in sweeps.items():
        dstar = _fmt(dimensions_per_feature(s.W))
        rows.append(f"   n_hidden = {m}: D* = {dstar}, represented {n_represented(s.W).tolist()}")
    dens = ", ".join(f"{float(d):.3g}" for d in next(iter(sweeps.values())).density)
    return (
        f"4. Dimensionality sweep (8 features of equal importance; densities p = {dens})\n"
        + "\n".join(rows)
        + "\n   D* = m / ||W||_F^2 sticks at 1 (one feature per dimension) and 1/2 (antipodal pairs).\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a folder it may not or cannot write ends it with one line (SystemExit "error: ...")."""
    parser = argparse.ArgumentParser(prog="python -m toymodel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("toymodel-output"),
                        help="output folder (default: %(default)s); files there that it did not write are kept")
    parser.add_argument("--quick", action="store_true", help="fewer steps and one seed: a fast smoke run")
    parser.add_argument("--seed", type=int, default=0, help="seed for initialisation and data (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        check_seed(args.seed, "--seed")
    except ValueError as err:
        parser.error(str(err))
    try:
        return _run(output_folder(args.out), args.quick, args.seed)
    except OutputError as err:
        raise SystemExit(f"error: {err}") from None


def _run(out: OutputFolder, quick: bool, seed: int) -> int:
    out.check(FIGURES + ["summary.txt"])
    opts = dict(seed=seed, progress=sys.stderr.isatty())
    if quick:
        opts.update(steps=1000, n_seeds=1)

    parts, start = [], time.perf_counter()
    with torch_threads(1, torch.device("cpu")):  # bit-reproducible; the caller's setting is restored after
        for number, run in enumerate([experiment_1, experiment_2, experiment_3, experiment_4], start=1):
            t = time.perf_counter()
            print(f"experiment {number}/4 ...", file=sys.stderr, flush=True)
            parts.append(run(out, opts))
            print(f"experiment {number}/4 done in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    quick_note = ", --quick: 1000 steps, one seed; the solutions may not have converged" if quick else ""
    header = f"Toy Models of Superposition: the course's four experiments (seed {seed}{quick_note})\n\n"
    summary = header + "\n".join(parts)
    out.save_text(summary, "summary.txt")
    for note in out.finish():
        print(f"note: {note}", file=sys.stderr)
    print(summary)
    print(f"wrote {len(out.written)} files to {out.path}/ in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
