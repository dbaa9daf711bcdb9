#!/usr/bin/env python
"""Train notebook 09's SAE sweep and write toymodel/results/sae_sweep.npz, which the notebook loads.

    python tools/make_sae_sweep.py            # the full sweep (~85 SAEs, ~6 min of one CPU core)

The two toy models (5 -> 2 and 40 -> 10 at p = 0.05) are trained with train_toy_model's recipe, then one train_sae
call per setting (experiments.sae.sae_sweep_configs: an L1 grid of dictionary sizes x coefficients, and five seeds of
the settings the notebook compares).  One torch thread (bit-reproducible on one machine); the SAEs train in float64.
tests/test_sae_sweep.py retrains a slice and compares it with the shipped file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from toymodel.experiments.sae import SAE_SWEEP_FILE, sae_sweep, save_sae_sweep  # noqa: E402

__all__ = ["main"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SAE_SWEEP_FILE)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cpu, wall = time.process_time(), time.perf_counter()
    sweep = sae_sweep(progress=False)
    path = save_sae_sweep(sweep, args.out)
    for run in sweep.runs:
        print(f"{run.config.model:>8}  {run.config.label():<42} {run.scores}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {len(sweep.runs)} SAEs, "
          f"{time.process_time() - cpu:.0f} s CPU, {time.perf_counter() - wall:.0f} s wall")


if __name__ == "__main__":
    main()
