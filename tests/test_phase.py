"""The phase change (notebook 05): closed forms against the library's own loss, the theoretical map,
the classifier, a small trained grid, the figure, the explorer and bad input."""

import math

import matplotlib
import numpy as np
import pytest
import torch

import toymodel
from toymodel import phase
from toymodel.experiments import PhaseDiagram, phase_diagram
from toymodel.train import evaluate_loss

matplotlib.use("Agg")

N_CANDIDATES = {2: 3, 3: 4}


@pytest.mark.parametrize("n", [2, 3])
def test_closed_forms_match_monte_carlo(n):
    """Each candidate's closed form equals the library's loss (evaluate_loss) within 5 standard errors."""
    settings = [(c, r, p) for c in range(N_CANDIDATES[n]) for r in (0.5, 3.0) for p in (1.0, 0.3, 0.1)]
    model, p, imp = phase.candidate_model(n, settings)
    runs = torch.stack([evaluate_loss(model, p, imp, batch_size=32768, seed=s) for s in range(8)])
    mc, se = runs.mean(0).double(), runs.std(0).double() / math.sqrt(len(runs))
    closed = torch.tensor([phase.candidate_losses(n, r, q)[c] for c, r, q in settings])
    assert ((mc - closed).abs() <= 5 * se + 1e-7).all(), (mc, closed, se)
    # and the check has teeth: E[min(U, V)^2] = 1/4 instead of 1/6 would be far outside it
    wrong = torch.tensor([phase.candidate_losses(n, r, q)[c] * (1.5 if c >= 2 else 1) for c, r, q in settings])
    anti = torch.tensor([c >= 2 for c, _, _ in settings])
    assert ((mc - wrong).abs() > 5 * se)[anti].all()


def test_the_two_expectations():
    assert phase.ignored_loss(1.0) == pytest.approx(1 / 3 - 1 / 4)  # Var(U) = 1/12
    assert phase.antipodal_loss(1.0) == pytest.approx(1 / 6)
    u, v = np.random.default_rng(0).random((2, 400_000))
    assert np.mean(np.minimum(u, v) ** 2) == pytest.approx(1 / 6, abs=2e-3)


def test_candidate_losses_broadcast_over_a_grid():
    r, p = np.geomspace(0.1, 10, 5), np.geomspace(0.01, 1, 7)
    L = phase.candidate_losses(3, r[:, None], p[None, :])
    assert L.shape == (5, 7, 4)
    assert L[2, 3, 2] == pytest.approx(phase.candidate_losses(3, r[2], p[3])[2])


def test_theoretical_corners_2_to_1():
    tp = lambda r, p: int(phase.theoretical_phase(2, r, p))  # noqa: E731
    assert tp(0.1, 1.0) == phase.NOT_LEARNED  # dense, unimportant: dropped
    assert tp(10.0, 1.0) == phase.DEDICATED  # dense, important: takes the dimension
    assert tp(1.0, 0.01) == phase.SUPERPOSITION  # sparse, equal: antipodal
    assert tp(0.1, 0.01) == phase.SUPERPOSITION and tp(10.0, 0.01) == phase.SUPERPOSITION


def test_boundary_2_to_1_is_where_the_closed_forms_cross():
    """Ignoring the extra feature (r V / 2) ties with the antipodal pair ((1 + r) A / 2) at p* = 2r / (1 + 5r/2)."""
    for r in (0.2, 0.5, 1.0):
        p_star = 2 * r / (1 + 2.5 * r)
        assert int(phase.theoretical_phase(2, r, p_star * 1.02)) == phase.NOT_LEARNED
        assert int(phase.theoretical_phase(2, r, p_star * 0.98)) == phase.SUPERPOSITION
    ignored, _, antipodal = phase.candidate_losses(2, 1.0, 4 / 7)  # r = 1: p* = 4/7, the exercise's answer
    assert ignored == pytest.approx(antipodal)


def test_theoretical_candidates_3_to_2():
    tc = lambda r, p: int(phase.theoretical_candidate(3, r, p))  # noqa: E731
    assert tc(0.1, 1.0) == 0 and tc(10.0, 1.0) == 1
    assert tc(0.5, 0.01) == 2  # less important extra: antipodal with another feature
    assert tc(5.0, 0.01) == 3  # more important extra: its own dimension, the other two antipodal
    assert tc(0.999, 0.05) == 2 and tc(1.001, 0.05) == 3  # the two superposition candidates swap at r = 1


# ------------------------------------------------------------------------------------------- classifier


@pytest.mark.parametrize("n", [2, 3])
def test_classifier_names_every_candidate(n):
    Ws = [phase.candidate_weights(n, c, 0.3)[0] for c in range(N_CANDIDATES[n])]
    got = phase.classify_candidate(torch.stack(Ws))
    assert got.tolist() == list(range(N_CANDIDATES[n]))
    assert phase.classify_phase(torch.stack(Ws)).tolist() == list(phase.CANDIDATE_PHASE[n])


def test_classifier_is_rotation_and_scale_robust():
    theta = 0.7
    R = torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    Ws = torch.stack([phase.candidate_weights(3, c)[0] @ R.T * 0.9 for c in range(4)])
    Ws = Ws + 0.05 * torch.randn(Ws.shape, generator=torch.Generator().manual_seed(0))
    assert phase.classify_candidate(Ws).tolist() == [0, 1, 2, 3]
    tri = phase.candidate_weights(3, phase.TRIANGLE)[0]
    assert phase.classify_candidate(tri).tolist() == [phase.TRIANGLE]
    assert phase.classify_phase(tri).tolist() == [phase.SUPERPOSITION]


def test_classifier_hand_made_2_to_1():
    W = torch.tensor([[[1.0], [0.2]], [[0.1], [-0.9]], [[1.0], [-0.8]], [[1.0], [0.9]], [[0.3], [0.3]]])
    # extra short / alone / antipodal / same sign (no candidate has that) / nothing represented
    assert phase.classify_candidate(W).tolist() == [0, 1, 2, phase.OTHER, 0]
    assert phase.classify_phase(W).tolist() == [phase.NOT_LEARNED, phase.DEDICATED, phase.SUPERPOSITION,
                                               phase.SUPERPOSITION, phase.NOT_LEARNED]  # same sign: not its own
    # the norm threshold is 0.5, as in the rest of the library
    assert phase.classify_phase(torch.tensor([[[1.0], [-0.49]]])).item() == phase.NOT_LEARNED
    assert phase.classify_phase(torch.tensor([[[1.0], [-0.51]]])).item() == phase.SUPERPOSITION


# ------------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def small2():
    """r = 0.8 rather than 1: at r = 1 and p = 1 dropping either feature costs the same (a tie)."""
    return phase_diagram(2, ratios=(0.1, 0.8, 10.0), densities=(1.0, 0.02), steps=1000, progress=False)


def test_small_trained_grid_agrees_with_theory(small2):
    assert small2.shape == (3, 2)
    assert torch.equal(small2.phase, small2.theory_phase)
    assert small2.phase[0, 0] == phase.NOT_LEARNED and small2.phase[2, 0] == phase.DEDICATED
    assert (small2.phase[:, 1] == phase.SUPERPOSITION).all()
    # the trained loss is close to the best candidate's where that candidate is exact (dense: ignored / dedicated)
    best = small2.candidate_loss.min(-1).values
    assert torch.allclose(small2.loss[[0, 2], 0], best[[0, 2], 0], rtol=0.1)


def test_small_trained_grid_3_to_2():
    d = phase_diagram(3, ratios=(0.2, 5.0), densities=(1.0, 0.1), progress=False)
    assert d.theory_candidate.tolist() == [[0, 2], [1, 3]]
    assert torch.equal(d.candidate, d.theory_candidate)
    assert d.W.shape == (2, 2, 3, 2) and d.b.shape == (2, 2, 3)


def test_phase_diagram_layout(small2):
    i, j = small2.nearest(9.0, 0.03)
    assert (i, j) == (2, 1)
    k = small2.instance(i, j)
    assert torch.equal(small2.W[i, j], small2.model.W[k].detach())
    assert small2.model.n_instances == 6 and small2.n_hidden == 1
    assert 0.0 <= small2.agreement() <= 1.0 and small2.agreement() == 1.0
    assert small2.label(1, 1) == "r = 0.8, p = 0.02 (S = 0.98)"


def test_phase_diagram_is_deterministic(small2):
    again = phase_diagram(2, ratios=(0.1, 0.8, 10.0), densities=(1.0, 0.02), steps=1000, progress=False)
    assert torch.equal(again.model.W, small2.model.W) and torch.equal(again.loss, small2.loss)


# ------------------------------------------------------------------------------------------- figure, explorer


def test_phase_figure(small2):
    from toymodel import visualize as viz

    fig = viz.plot_phase_diagram(small2, mark=(1, 1))
    emp, th = fig.axes[:2]
    for ax in (emp, th):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "importance" in ax.get_xlabel() and "p = 1 - S" in ax.get_ylabel()
        assert len(ax.collections) == 1  # the map
        assert any(ln.get_gid() == "boundary" for ln in ax.get_lines())  # the analytic boundaries
        assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == list(phase.PHASES)
    # 2 -> 1: the boundary p* = 4r / (2 + 5r) (r <= 1) passes through r = 0.5, p = 4/9
    pts = np.concatenate([ln.get_xydata() for ln in th.get_lines() if ln.get_gid() == "boundary"])
    near = pts[np.abs(np.log(pts[:, 0] / 0.5)) < 0.03]
    assert len(near) and np.allclose(near[:, 1], 4 / 9, rtol=0.05)
    marks = [ln for ln in emp.get_lines() if ln.get_gid() == "mark"]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == pytest.approx(0.8)
    matplotlib.pyplot.close("all")


def test_explorer_redraws_without_training(small2):
    from toymodel.widgets import PhaseExplorer

    W_before = small2.model.W.detach().clone()
    e = PhaseExplorer(small2, ratio=0.8, density=0.02)
    assert e.index == small2.instance(1, 1) and "superposition" in e.title
    assert repr(e) == "PhaseExplorer(2 features → 1 hidden, 3 ratios x 2 densities)"
    e.ratio_slider.value = 0
    e.density_slider.value = 0
    assert e.index == small2.instance(0, 0) and "trained: not learned" in e.title
    e.ratio_slider.value = 2
    assert "dedicated dimension" in e.title and e.n_renders == 6  # every grid point, drawn when it was built
    e.ratio_slider.value = 0
    assert e.n_renders == 6  # a slider move never draws
    assert torch.equal(small2.model.W.detach(), W_before)
    png = e.output.outputs[0]["data"]["image/png"]
    assert len(png) > 1000


# ------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, name", [
    (lambda: phase.candidate_losses(4, 1.0, 0.5), "n_features"),
    (lambda: phase.candidate_losses(True, 1.0, 0.5), "n_features"),
    (lambda: phase.candidate_losses(2, 0.0, 0.5), "ratio"),
    (lambda: phase.candidate_losses(2, -1.0, 0.5), "ratio"),
    (lambda: phase.candidate_losses(2, 1.0, 0.0), "density"),
    (lambda: phase.candidate_losses(2, 1.0, 1.5), "density"),
    (lambda: phase.candidate_losses(2, 1.0, float("nan")), "density"),
    (lambda: phase.candidate_losses(2, "big", 0.5), "ratio"),
    (lambda: phase.candidate_weights(2, 3), "candidate"),
    (lambda: phase.candidate_weights(2, phase.TRIANGLE), "candidate"),
    (lambda: phase.candidate_weights(3, 2, density=0.0), "density"),
    (lambda: phase.classify_candidate(torch.zeros(2, 4, 3)), "n_features"),
    (lambda: phase.candidate_model(2, []), "settings"),
    (lambda: phase.candidate_model(2, [(0, -1.0, 0.5)]), "ratio"),
    (lambda: phase.classify_phase(torch.zeros(2, 3, 2), threshold=0), "threshold"),
    (lambda: phase_diagram(4), "n_features"),
    (lambda: phase_diagram(2, ratios=[]), "ratios"),
    (lambda: phase_diagram(2, ratios=[0.0, 1.0]), "ratios"),
    (lambda: phase_diagram(2, densities=[0.5, 2.0]), "densities"),
    (lambda: phase_diagram(2, n_ratios=0), "n_ratios"),
    (lambda: phase_diagram(2, n_seeds=0), "n_seeds"),
])
def test_bad_input_raises_a_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()


def test_error_messages_name_the_parameter():
    with pytest.raises(ValueError, match=r"n_features must be 2 .* or 3 .*, got 4"):
        phase.candidate_losses(4, 1.0, 0.5)
    with pytest.raises(ValueError, match=r"density must hold numbers in \(0, 1\]"):
        phase.candidate_losses(2, 1.0, 1.5)
    with pytest.raises(ValueError, match=r"densities must hold .* \(0, 1\]"):
        phase_diagram(2, densities=[0.5, 2.0])
    with pytest.raises(ValueError, match="PhaseExplorer needs an experiments.PhaseDiagram"):
        from toymodel.widgets import PhaseExplorer
        PhaseExplorer(object())
    assert PhaseDiagram is toymodel.sweeps.PhaseDiagram  # the result type, re-exported by experiments


def test_same_direction_in_one_dimension_is_not_dedicated():
    """m = 1: two learned features on the same line share it, whichever way they point."""
    W = torch.tensor([[[1.0], [0.8]], [[1.0], [-0.8]], [[0.0], [1.0]], [[1.0], [0.3]]])
    assert phase.classify_phase(W).tolist() == [phase.SUPERPOSITION, phase.SUPERPOSITION, phase.DEDICATED,
                                                phase.NOT_LEARNED]
    assert phase.classify_candidate(W).tolist() == [phase.OTHER, 2, 1, 0]
