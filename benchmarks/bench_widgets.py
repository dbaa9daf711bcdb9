"""How long each explorer the notebooks use takes to draw its frames, and how big they are.

    python benchmarks/bench_widgets.py

Every explorer draws the figure of every slider setting once, when its cell runs (the browser then picks the
frame: a slider move costs no kernel time at all). Trains the experiments' sweeps once, as the notebooks call them
(notebooks 06 and 09 load their precomputed runs), then, for each explorer, prints how many frames it drew, the cell
time (the construction), the time per frame, and the PNG bytes its frames add to the notebook. Budgets:
6 s a cell, 3 MB a notebook. A slider move in Python (what a live kernel does on top of the browser's own
switch) only selects: its time is printed too.
"""

from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import torch  # noqa: E402

from toymodel import experiments, train_sae, widgets  # noqa: E402

__all__ = ["measure", "main"]

CELL_BUDGET_S = 6.0


def measure(name: str, make) -> None:
    """Build one explorer, then move its first slider across every setting; print the numbers."""
    t = time.perf_counter()
    ex = make()
    cell = time.perf_counter() - t
    png_bytes = ex.frame_bytes
    slider = ex.sliders[0]
    moves = []
    if isinstance(slider, ipywidgets.IntSlider):
        values = list(range(slider.min, slider.max + 1))
    else:
        values = [v for _, v in slider.options]
    for value in values:
        t = time.perf_counter()
        slider.value = value
        moves.append(time.perf_counter() - t)
    print(f"{name:22s} frames {ex.n_renders:3d}  cell {cell:5.2f} s (budget {CELL_BUDGET_S:.0f} s)  "
          f"{cell / max(ex.n_renders, 1) * 1e3:4.0f} ms/frame  PNGs {png_bytes / 1e6:5.2f} MB  "
          f"move (Python side) median {statistics.median(moves) * 1e3:5.2f} ms")


def main() -> None:
    torch.set_num_threads(1)
    basic = experiments.basic_superposition(progress=False)
    measure("SparsityExplorer 01", lambda: widgets.SparsityExplorer(basic))
    paper = experiments.sparse_vs_dense(progress=False)
    measure("SparsityExplorer 02", lambda: widgets.SparsityExplorer(paper))
    grid = experiments.feature_importance(
        importance_decays=(1.0, 0.8, 0.7, 0.5), densities=(1.0, 0.3, 0.1, 0.03, 0.01), progress=False
    )
    measure("ImportanceExplorer", lambda: widgets.ImportanceExplorer(grid, importance_decay=0.7, density=1.0))
    dims = experiments.dimensionality_sweep(
        hidden_sizes=(1, 2, 3, 4, 6, 8), densities=(1.0, 0.3, 0.1, 0.03), progress=False
    )
    narrow = {m: dims[m] for m in (1, 2, 3, 4)}
    measure("HiddenSizeExplorer", lambda: widgets.HiddenSizeExplorer(narrow, n_hidden=2, density=0.1))
    d2 = experiments.phase_diagram(2, progress=False)
    measure("PhaseExplorer 2->1", lambda: widgets.PhaseExplorer(d2, ratio=1.0, density=0.3))
    d3 = experiments.phase_diagram(3, n_ratios=10, n_densities=10, progress=False)
    measure("PhaseExplorer 3->2", lambda: widgets.PhaseExplorer(d3, ratio=5.0, density=0.1))
    ab = experiments.computation_sweep(progress=False)
    geo = experiments.load_feature_geometry().sweep()
    measure("GeometryExplorer", lambda: widgets.GeometryExplorer(geo))
    rh = experiments.privileged_basis(progress=False)
    measure("NeuronExplorer", lambda: widgets.NeuronExplorer(rh))
    measure("NeuronExplorer |x|", lambda: widgets.NeuronExplorer(ab))
    nu = experiments.nonuniform_superposition(progress=False)  # notebook 08, as its cells call them
    measure("RatioExplorer", lambda: widgets.RatioExplorer(nu, ratio=4.0))
    anti2 = experiments.correlated_features("anticorrelated", progress=False)
    corr3 = experiments.correlated_features("correlated", n_pairs=3, progress=False)
    sets = {"2 anticorrelated pairs": anti2, "3 correlated pairs": corr3}
    measure("SetExplorer", lambda: widgets.SetExplorer(sets, name="3 correlated pairs", density=0.05))
    run = experiments.learning_dynamics(progress=False)
    measure("TrainingScrubber", lambda: widgets.TrainingScrubber(run, every=8, step=1440, until=3200))
    sweep = experiments.load_sae_sweep()  # notebook 09
    pentagon = sweep.toy_model("pentagon")
    sae5 = train_sae(pentagon, 0.05, d_sae=5, seed=0, snapshot_every=100, progress=False)
    base5 = sweep.untrained("pentagon", 5)
    measure(
        "SAETrainingScrubber",
        lambda: widgets.SAETrainingScrubber(sae5, pentagon, 0.05, baseline=base5, until=1000),
    )
    measure("SAEExplorer", lambda: widgets.SAEExplorer(sweep, d_sae=40, l1_coeff=0.3))


if __name__ == "__main__":
    main()
