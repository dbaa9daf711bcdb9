"""`python -m toymodel`: run the course's four experiments headless; write figures (PNG) and a summary.

    python -m toymodel                   # full defaults, into ./toymodel-output/
    python -m toymodel --quick           # fewer steps and seeds: a smoke run in seconds
    python -m toymodel --out figs --seed 3 --force
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
from pathlib import Path
import sys
import tempfile
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
from .runs import torch_threads  # noqa: E402
from .validate import check_seed  # noqa: E402

__all__ = ["FIGURES", "MANIFEST", "OutputFolder", "main"]

MANIFEST = ".toymodel-files"  # what this tool wrote into the output folder: one "sha256  name" line per file
MANIFEST_HEADER = "# python -m toymodel output manifest v2: sha256 and name of every file it wrote here"


class OutputFolder:
    """An output folder that overwrites only files this tool wrote, unchanged since (unless force).

    What counts as "ours": a name listed in the manifest whose current content has the SHA-256 recorded
    there, so a user's file, or one of ours that the user edited, is refused.  Every file is written
    atomically (a temporary name in the folder, then a rename), symbolic links are never written
    through, and the manifest lists both the old and the new content's hash while a file is replaced,
    so an interrupted run (Ctrl-C) leaves every file whole and recognised as ours.
    """

    def __init__(self, path: Path, force: bool) -> None:
        self.path, self.force = Path(path), force
        self.manifest = self.path / MANIFEST
        self.hashes: dict[str, set[str]] = {}
        self.written: list[str] = []

    def check(self, names: list[str]) -> None:
        """Before any work: the folder can be made and written, and no planned file is foreign or a link."""
        self._make_folder()
        self.hashes = self._read_manifest()
        links = [n for n in [*names, MANIFEST] if (self.path / n).is_symlink()]
        if links:
            raise SystemExit(f"error: {self.path} holds symbolic links named {', '.join(links)}; python -m toymodel "
                             "never writes through a link: remove them or choose another --out folder")
        not_files = [n for n in [*names, MANIFEST] if (self.path / n).exists() and not (self.path / n).is_file()]
        if not_files:
            raise SystemExit(f"error: {self.path} holds {', '.join(not_files)}, which are not files; "
                             "choose another --out folder")
        foreign = [n for n in names if (self.path / n).exists() and not self._ours(n)]
        if foreign and not self.force:
            raise SystemExit(
                f"error: {self.path} already holds {', '.join(foreign)}, which python -m toymodel did not write "
                "(or which changed since it wrote them); choose another --out folder, or pass --force to "
                "overwrite them"
            )

    def _make_folder(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.path, prefix=".toymodel-probe-", delete=True)
            probe.close()
        except FileExistsError:
            raise SystemExit(f"error: --out {self.path} exists and is not a folder") from None
        except OSError as err:
            raise SystemExit(f"error: cannot write to --out {self.path}: {err.strerror or err}") from None

    def _read_manifest(self) -> dict[str, set[str]]:
        if not self.manifest.exists() or self.manifest.is_symlink():
            return {}
        lines = self.manifest.read_text(errors="replace").splitlines()
        if not lines or lines[0] != MANIFEST_HEADER:
            if not self.force:
                raise SystemExit(f"error: {self.manifest} was not written by this version of python -m toymodel; "
                                 "choose another --out folder, or pass --force to replace it")
            return {}
        hashes: dict[str, set[str]] = {}
        for line in lines[1:]:
            digest, _, name = line.partition("  ")
            if len(digest) == 64 and name:
                hashes.setdefault(name, set()).add(digest)
        return hashes

    def _ours(self, name: str) -> bool:
        return _sha256((self.path / name).read_bytes()) in self.hashes.get(name, set())

    def save_figure(self, fig: plt.Figure, name: str) -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.save_bytes(buf.getvalue(), name)

    def save_text(self, text: str, name: str) -> None:
        self.save_bytes(text.encode(), name)

    def save_bytes(self, data: bytes, name: str) -> None:
        """Write `name` atomically; the manifest accepts the old and the new content until the rename is done."""
        target = self.path / name
        if target.is_symlink() or (target.exists() and not self._ours(name) and not self.force):
            raise SystemExit(f"error: {target} changed while python -m toymodel ran; it was not overwritten")
        digest = _sha256(data)
        old = {_sha256(target.read_bytes())} if target.is_file() else set()
        self.hashes[name] = old | {digest}
        self._write_manifest()
        _atomic_write(target, data)
        self.hashes[name] = {digest}
        self._write_manifest()
        self.written.append(name)

    def _write_manifest(self) -> None:
        rows = [f"{d}  {n}" for n in sorted(self.hashes) for d in sorted(self.hashes[n])]
        _atomic_write(self.manifest, ("\n".join([MANIFEST_HEADER, *rows]) + "\n").encode())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(target: Path, data: bytes) -> None:
    """Write data to a temporary file beside target, then rename it over target (never through a link)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)  # replaces a link itself, never its target
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    out.save_figure(visualize.plot_sweep(relu, view="embedding"), "01_embeddings_relu.png")
    sparse = relu.nearest(density=0.05)
    out.save_figure(
        visualize.compare_models([linear.model, relu.model], ["linear", "ReLU output"], view="embedding",
                                 instances=[sparse, sparse]),
        "01_linear_vs_relu.png",
    )
    out.save_figure(visualize.plot_represented_vs_density([relu, linear], labels=["ReLU output", "linear"]),
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
    out.save_figure(visualize.plot_sweep(relu, view="norms"), "02_norms_sweep.png")
    out.save_figure(visualize.plot_represented_vs_density([relu, linear], labels=["ReLU output", "linear"]),
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
    out.save_figure(visualize.plot_sweep(grid, view="norms", instances=picks, ncols=2), "03_importance_norms.png")
    lines = [f"   {grid.label(k)}: {_kept_text(feature_norms(grid.W)[k].detach(), grid.model.n_hidden)}" for k in picks]
    header = "3. Feature importance (10 features -> 3 hidden; importance decay x density grid)\n"
    return header + "\n".join(lines) + "\n"


def experiment_4(out: OutputFolder, opts: dict) -> str:
    sweeps = experiments.dimensionality_sweep(**opts)
    out.save_figure(visualize.plot_dimensions_per_feature(sweeps), "04_dimensions_per_feature.png")
    m = 4 if 4 in sweeps else next(iter(sweeps))
    out.save_figure(visualize.plot_sweep(sweeps[m], view="wtw"), "04_wtw.png")
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
    parser = argparse.ArgumentParser(prog="python -m toymodel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("toymodel-output"),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="fewer steps and one seed: a fast smoke run")
    parser.add_argument("--seed", type=int, default=0, help="seed for initialisation and data (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="overwrite files in --out that this tool did not write")
    args = parser.parse_args(argv)
    try:
        check_seed(args.seed, "--seed")
    except ValueError as err:
        parser.error(str(err))

    out = OutputFolder(args.out, args.force)
    out.check(FIGURES + ["summary.txt"])
    opts = dict(seed=args.seed, progress=sys.stderr.isatty())
    if args.quick:
        opts.update(steps=1000, n_seeds=1)

    parts, start = [], time.perf_counter()
    with torch_threads(1, torch.device("cpu")):  # bit-reproducible; the caller's setting is restored after
        for number, run in enumerate([experiment_1, experiment_2, experiment_3, experiment_4], start=1):
            t = time.perf_counter()
            print(f"experiment {number}/4 ...", file=sys.stderr, flush=True)
            parts.append(run(out, opts))
            print(f"experiment {number}/4 done in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    quick = ", --quick: 1000 steps, one seed; the solutions may not have converged" if args.quick else ""
    header = f"Toy Models of Superposition: the course's four experiments (seed {args.seed}{quick})\n\n"
    summary = header + "\n".join(parts)
    out.save_text(summary, "summary.txt")
    print(summary)
    print(f"wrote {len(out.written)} files to {out.path}/ in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
