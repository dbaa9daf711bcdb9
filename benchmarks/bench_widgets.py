"""How long a slider move takes to redraw, for each explorer the notebooks use.

    python benchmarks/bench_widgets.py

Trains the experiments' sweeps once (default settings; notebook 06 loads its precomputed run), then, for each explorer, moves its
slider to every setting not yet drawn (the slow case: a first render; a revisit hits the cache)
and prints the median and worst redraw time against the course's budget of 0.3 s per move.
The baseline beside it is the naive way: pyplot figure + tight_layout + savefig for the same view.
"""

from __future__ import annotations

import io
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from toymodel import experiments, visualize, widgets  # noqa: E402

BUDGET_S = 0.3


def first_renders(explorer, slider, values) -> list[float]:
    """Seconds per slider move to a not-yet-drawn value."""
    times = []
    for value in values:
        t = time.perf_counter()
        slider.value = value
        times.append(time.perf_counter() - t)
    return times


def naive_redraw(sweep, k: int) -> float:
    """The baseline: a fresh pyplot figure with tight_layout, saved to PNG."""
    t = time.perf_counter()
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
    visualize.plot_feature_norms(sweep.model, instance=k, ax=axes[1])
    fig.tight_layout()
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return time.perf_counter() - t


def report(name: str, times: list[float], baseline: list[float] | None = None) -> None:
    med, worst = statistics.median(times), max(times)
    line = f"{name:22s} n={len(times):3d}  median {med * 1e3:6.0f} ms  worst {worst * 1e3:6.0f} ms  " \
           f"median/budget {med / BUDGET_S:4.2f}"
    if baseline:
        line += f"  naive pyplot median {statistics.median(baseline) * 1e3:6.0f} ms (x{statistics.median(baseline) / med:.1f})"
    print(line)


def main() -> None:
    torch.set_num_threads(1)
    basic = experiments.basic_superposition(progress=False)
    grid = experiments.feature_importance(progress=False)
    dims = experiments.dimensionality_sweep(progress=False)

    ex = widgets.sparsity_explorer(basic, prerender=False)
    values = [v for _, v in ex.slider.options if v != ex.slider.value]
    report("sparsity_explorer", first_renders(ex, ex.slider, values), [naive_redraw(basic, k) for k in values])

    ex = widgets.importance_explorer(grid)
    values = [v for _, v in ex.density_slider.options if v != ex.density_slider.value]
    report("importance_explorer", first_renders(ex, ex.density_slider, values))

    ex = widgets.hidden_size_explorer(dims)
    values = [m for m in dims if m != ex.m_slider.value]
    report("hidden_size_explorer", first_renders(ex, ex.m_slider, values))

    # the going-further notebooks (05-07); 06 and 07 draw every setting up front in the notebooks, here on demand
    phase = experiments.phase_diagram(2, progress=False)
    ex = widgets.phase_explorer(phase)
    values = [v for _, v in ex.density_slider.options if v != ex.density_slider.value]
    report("phase_explorer", first_renders(ex, ex.density_slider, values))

    ex = widgets.geometry_explorer(experiments.load_feature_geometry().sweep(), prerender=False)
    values = [v for _, v in ex.slider.options if v != ex.slider.value]
    report("geometry_explorer", first_renders(ex, ex.slider, values))

    ex = widgets.NeuronExplorer(experiments.privileged_basis(progress=False), prerender=False)
    values = [v for _, v in ex.slider.options if v != ex.slider.value]
    report("neuron_explorer", first_renders(ex, ex.slider, values))


if __name__ == "__main__":
    main()
