"""The precomputed 400 -> 30 uniform-superposition run (toymodel/results/feature_geometry.npz): it is what
tools/make_feature_geometry.py makes, it shows the paper's geometry, and notebook 06's views of it work.

test_a_slice_of_the_run_reproduces_the_file retrains 2 of the 20 densities (2 copies each, 3000 steps):
about 40 s of one CPU core on the course machine; test_small_models_in_3d... trains for ~1 s; every other
test here takes well under a second.
"""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import toymodel  # noqa: E402
from toymodel import visualize as viz  # noqa: E402
from toymodel import widgets as tw  # noqa: E402
from toymodel.experiments import (  # noqa: E402
    FEATURE_GEOMETRY_FILE,
    feature_geometry_densities,
    feature_geometry_run,
    load_feature_geometry,
    small_polytopes,
)
from toymodel.geometry import nearest_fraction, share_near_fractions, tegum_factors  # noqa: E402
from toymodel.metrics import dimensions_per_feature, feature_dimensionality, feature_norms  # noqa: E402

PLATEAU, FRACTIONS = 7, 9  # grid indices: p = 0.33 (D* = 1/2, antipodal pairs) and p = 0.24 (1/2, 2/5 and 3/8)


@pytest.fixture(scope="module")
def run():
    return load_feature_geometry()


@pytest.fixture(scope="module")
def geo(run):
    return run.sweep()


def _profile(W: torch.Tensor) -> tuple[float, int, np.ndarray]:
    """(D*, represented count, share of represented D_i within 0.02 of each fraction line) of one model."""
    kept = feature_norms(W)[0] > 0.5
    D = feature_dimensionality(W)[0][kept].numpy()
    index, dist = nearest_fraction(D)
    shares = np.array([np.mean((index == f) & (dist <= 0.02)) for f in range(7)])
    return float(dimensions_per_feature(W)[0]), int(kept.sum()), shares


def test_the_file_is_the_papers_setup(run):
    assert FEATURE_GEOMETRY_FILE.is_file() and FEATURE_GEOMETRY_FILE.stat().st_size < 2_000_000
    assert FEATURE_GEOMETRY_FILE.parent == Path(toymodel.__file__).parent / "results"  # package data
    assert run.W.shape == (20, 400, 30) and run.W.dtype == torch.float32
    assert torch.allclose(run.density, feature_geometry_densities())
    assert run.density[0] == 1.0 and (run.density.diff() < 0).all()  # log-spaced, dense -> sparse
    assert run.n_seeds >= 2 and run.steps == 3000 and run.version == toymodel.__version__
    assert torch.equal(run.loss, run.copy_losses.min(0).values)  # best of k kept


def test_a_slice_of_the_run_reproduces_the_file(run):
    """Each instance's init, data and training are independent of the others, so a slice retrains to the same
    models: on the machine that made the file the weights come back bit for bit (measured).  Another CPU changes
    float digits past ~6 significant figures, and over 3000 steps that can act like another seed.  So the
    comparison is on what a different seed leaves unchanged, with about 3x the differences measured between
    seed 0 and seed 1 on this slice: D* (0.0002 and 0.0047), represented count (0 and 1), share of D_i on a
    fraction line (0 and 0), loss (0.16% and 0.06%).  Which fractions appear can change with the seed (seed 1
    has no square antiprism at p = 0.24), so they are checked on the shipped file, not here."""
    torch.set_num_threads(1)
    idx = [PLATEAU, FRACTIONS]
    again = feature_geometry_run(idx, n_seeds=run.n_seeds, steps=run.steps, lr=run.lr, seed=run.seed, progress=False)
    assert torch.allclose(again.density, run.density[idx])
    for j, i in enumerate(idx):
        d1, n1, s1 = _profile(again.W[j])
        d0, n0, s0 = _profile(run.W[i])
        assert abs(d1 - d0) < 0.015 and abs(n1 - n0) <= 3
        assert abs(s1.sum() - s0.sum()) < 0.05
    assert torch.allclose(again.loss, run.loss[idx], rtol=5e-3)


def test_dstar_sticks_at_1_and_at_one_half(geo):
    dstar = dimensions_per_feature(geo.W)
    p = geo.density
    assert (dstar[p >= 0.7] - 1).abs().max() < 0.03  # dense plateau: a dimension per feature
    half = (dstar - 0.5).abs() < 0.03
    assert half.sum() >= 3 and (p[half].max() / p[half].min()) > 1.5  # the 1/2 plateau spans a range of p
    assert dstar[-1] < 0.3  # sparse: many features per dimension


def test_feature_dimensionalities_cluster_on_the_fraction_lines(geo):
    assert share_near_fractions(geo.W[PLATEAU]) > 0.95  # all antipodal pairs
    W = geo.W[FRACTIONS]
    assert share_near_fractions(W) > 0.7
    kept = feature_norms(W)[0] > 0.5
    index, dist = nearest_fraction(feature_dimensionality(W)[0][kept])
    found = {int(i) for i in index[dist <= 0.02]}
    assert {4, 5} <= found  # 2/5 pentagons and 3/8 square antiprisms


def test_tegum_factors_have_the_dimensionality_of_their_polytope(geo):
    W = geo.W[FRACTIONS]
    D = feature_dimensionality(W)[0]
    expected = {2: 0.5, 5: 0.4, 8: 0.375}
    seen = set()
    for factor in tegum_factors(W):
        if len(factor) in expected:
            seen.add(len(factor))
            assert (D[factor] - expected[len(factor)]).abs().median() < 0.03
    assert seen == {2, 5, 8}


def test_small_models_in_3d_form_pairs_octahedron_and_antiprism():
    polys = small_polytopes((4, 6, 8), n_seeds=2, steps=1500, progress=False)
    D = {n: np.sort(feature_dimensionality(W)[0].numpy()) for n, W in polys.items()}
    assert D[4] == pytest.approx([0.5, 0.5, 1, 1], abs=0.03)  # a pair + two features alone
    assert D[6] == pytest.approx([0.5] * 6, abs=0.03)  # octahedron = three antipodal pairs
    assert D[8] == pytest.approx([0.375] * 8, abs=0.02)  # square antiprism
    assert sorted(len(f) for f in tegum_factors(polys[6])) == [2, 2, 2]


def test_small_polytopes_rejects_bad_input():
    with pytest.raises(ValueError, match="density must be p = 1 - S"):
        small_polytopes(density=0.0)
    with pytest.raises(ValueError, match="sizes must hold at least one positive integer"):
        small_polytopes(sizes=())
    for bad in ([3, 20], [], [2, 2], ["a"]):
        with pytest.raises(ValueError, match="indices must be distinct integers in 0..19"):
            feature_geometry_run(bad)


def test_load_names_the_script_when_the_file_is_missing(tmp_path):
    with pytest.raises(ValueError, match="make_feature_geometry.py"):
        load_feature_geometry(tmp_path / "nothing.npz")


def test_figures_are_labelled_and_mark_the_chosen_model(geo):
    fig = viz.plot_dstar_vs_sparsity(geo, highlight=3)
    ax = fig.axes[0]
    assert "1 / (1 - S)" in ax.get_xlabel() and "D^*" in ax.get_ylabel() and ax.get_xscale() == "log"
    assert any(line.get_xdata()[0] == pytest.approx(1 / float(geo.density[3])) for line in ax.lines
               if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1])
    fig2 = viz.plot_dimensionality_scatter(geo)
    texts = " ".join(t.get_text() for t in fig2.axes[0].texts)
    for name in ("tetrahedron", "triangle", "antipodal pair", "pentagon", "square antiprism"):
        assert name in texts
    n_points = sum(len(c.get_offsets()) for c in fig2.axes[0].collections)
    assert n_points == int((feature_norms(geo.W) > 0.5).sum())
    fig3 = viz.plot_dimensionality_histogram(geo, FRACTIONS)
    assert fig3.axes[0].get_title().startswith(f"{int((feature_norms(geo.W[FRACTIONS]) > 0.5).sum())} represented")
    fig4 = viz.plot_geometry_graph(geo.W[FRACTIONS])
    assert "pentagons" in fig4.axes[0].get_title() and "square antiprism" in fig4.axes[0].get_title()
    plt.close("all")


def test_explorer_redraws_the_chosen_density_without_training(geo, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("a slider move trained a model")

    monkeypatch.setattr(tw.core, "train_toy_model", boom)
    ex = tw.GeometryExplorer(geo)
    assert ex.n_renders == len(geo)  # every setting drawn once, when it was built: the browser picks the frame
    assert repr(ex) == "GeometryExplorer(ReLU output, 400 features → 30 hidden, 20 densities, view='histogram')"
    assert ex.index == FRACTIONS and "pentagons" in ex.title and "square antiprism" in ex.title
    first = ex.output.outputs[0]["data"]["image/png"]
    ex.slider.value = PLATEAU
    dstar = float(dimensions_per_feature(geo.W[PLATEAU])[0])
    assert ex.index == PLATEAU and f"$D^*$ = {dstar:.3g}" in ex.title
    assert f"tegum factors: {viz.factor_summary(geo.W[PLATEAU])}" in ex.title and "antipodal pairs" in ex.title
    assert ex.output.outputs[0]["data"]["image/png"] != first
    assert base64.b64decode(ex.output.outputs[0]["data"]["image/png"]).startswith(b"\x89PNG")
    assert [label for label, _ in ex.slider.options][0] == "p = 1 (S = 0)"
    with pytest.raises(ValueError, match="view must be one of"):
        tw.GeometryExplorer(geo, view="cube")


def test_prerendered_explorer_draws_every_setting_once(geo, monkeypatch):
    ex = tw.GeometryExplorer(geo)
    assert ex.n_renders == len(geo)
    for _, k in ex.slider.options:
        ex.slider.value = k
    assert ex.n_renders == len(geo)  # every move came from the cache


def test_factor_summary_names_a_polytope_only_when_size_and_dimensionality_fit():
    pentagon = np.stack([np.cos(2 * np.pi * np.arange(5) / 5), np.sin(2 * np.pi * np.arange(5) / 5)], 1)
    W = np.zeros((9, 5))
    W[0:5, 0:2] = pentagon
    W[5:7, 2] = [1.0, -1.0]  # a clean antipodal pair
    W[7, 3], W[8, 4] = 1.0, 1.0  # two features alone
    assert viz.factor_summary(torch.tensor(W)) == "2 features alone, 1 antipodal pair, 1 pentagon"
    W[5, 0] = 0.6  # the pair leaks into the pentagon's plane: one 7-feature factor, no clean pair
    assert viz.factor_summary(torch.tensor(W)) == "2 features alone, 1 7-feature factor"
    W2 = np.array([[1.0, 0.0], [0.5, 0.75**0.5]])  # two features 60 degrees apart: a factor of 2, D_i = 0.8
    assert viz.factor_summary(torch.tensor(W2)) == "1 2-feature factor"
