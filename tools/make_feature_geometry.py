#!/usr/bin/env python
"""Train the paper's uniform-superposition sweep (400 features -> 30 hidden, 20 densities, best of 2 seeds)
and write toymodel/results/feature_geometry.npz, which notebook 06 loads.

    python tools/make_feature_geometry.py                 # the full run (~10 min of one CPU core)
    python tools/make_feature_geometry.py --indices 0 9   # a slice, e.g. to try a recipe

One torch thread (bit-reproducible on one machine). The code is experiments.feature_geometry_run;
tests/test_feature_geometry.py reruns a slice of it and compares it with the shipped file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from toymodel.experiments import FEATURE_GEOMETRY_FILE, feature_geometry_run, save_feature_geometry  # noqa: E402
from toymodel.metrics import dimensions_per_feature  # noqa: E402

__all__ = ["main"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--indices", type=int, nargs="*", default=None, help="grid indices to train (default all)")
    parser.add_argument("--out", type=Path, default=FEATURE_GEOMETRY_FILE)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cpu, wall = time.process_time(), time.perf_counter()
    run = feature_geometry_run(args.indices, progress=True)
    path = save_feature_geometry(run, args.out)
    dstar = dimensions_per_feature(run.W)
    for p, d, loss in zip(run.density.tolist(), dstar.tolist(), run.loss.tolist()):
        print(f"p = {p:.4g} (1/(1-S) = {1 / p:.3g}): D* = {d:.4f}, loss = {loss:.5g}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {time.process_time() - cpu:.0f} s CPU, "
          f"{time.perf_counter() - wall:.0f} s wall")


if __name__ == "__main__":
    main()
