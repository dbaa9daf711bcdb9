"""Notebook 08's library: feature-set sampler, training on it, the set measures, non-uniform superposition,
learning dynamics, and their explorers.  Science tests use small runs (a few seconds in all)."""

import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from toymodel import ToyModel  # noqa: E402
from toymodel.correlated import (  # noqa: E402
    check_relation,
    collapsed_sets,
    cross_set_cosines,
    expected_loss,
    generate_correlated_features,
    set_cosines,
    train_correlated,
)
from toymodel.experiments import (  # noqa: E402
    NonUniformRun,
    SetSweep,
    correlated_features,
    digons_init,
    learning_dynamics,
    nonuniform_superposition,
    pentagon_init,
)
from toymodel.visualize import (  # noqa: E402
    plot_dimensionality_over_training,
    plot_family_losses,
    plot_loss_over_training,
    plot_set_embedding_2d,
)
from toymodel.widgets import RatioExplorer, SetExplorer, TrainingScrubber  # noqa: E402


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- the sampler

def test_correlated_members_share_one_draw():
    x = generate_correlated_features(50_000, 3, 0.2, "correlated", generator=gen())
    assert x.shape == (50_000, 1, 6)
    on = (x[:, 0] > 0).reshape(-1, 3, 2)
    assert torch.equal(on[..., 0], on[..., 1])  # both on or both off
    assert abs(on[..., 0].float().mean().item() - 0.2) < 0.01
    v = x[x > 0]
    assert abs(v.mean().item() - 0.5) < 0.01 and v.max() < 1
    a, b = x[:, 0, 0], x[:, 0, 1]
    both = (a > 0) & (b > 0)
    assert abs(torch.corrcoef(torch.stack([a[both], b[both]]))[0, 1].item()) < 0.05  # values independent


@pytest.mark.parametrize("set_size", [2, 3])
def test_anticorrelated_exactly_one_member(set_size):
    p = 0.3
    x = generate_correlated_features(60_000, 2, p, "anticorrelated", set_size=set_size, generator=gen(1))
    on = (x[:, 0] > 0).reshape(-1, 2, set_size)
    assert on.sum(-1).max() == 1  # never two members at once
    assert abs(on.any(-1).float().mean().item() - p) < 0.01  # the set is active with probability p
    assert (on.float().mean(0) - p / set_size).abs().max() < 0.01  # each member p / set_size
    v = x[x > 0]
    assert abs(v.mean().item() - 0.5) < 0.01 and v.min() >= 0 and v.max() < 1
    assert not torch.signbit(x).any()  # no -0.0


def test_sampler_per_instance_density_and_determinism():
    p = torch.tensor([[0.1, 0.5], [0.9, 0.02]])
    x = generate_correlated_features(40_000, 2, p, "correlated", n_instances=2, generator=gen(2))
    on = (x > 0).float().mean(0).reshape(2, 2, 2)[..., 0]
    assert torch.allclose(on, p, atol=0.01)
    y = generate_correlated_features(40_000, 2, p, "correlated", n_instances=2, generator=gen(2))
    assert torch.equal(x, y)


@pytest.mark.parametrize("kwargs, name", [
    ({"batch_size": 0}, "batch_size"), ({"n_sets": 1.5}, "n_sets"), ({"set_size": 0}, "set_size"),
    ({"relation": "anti"}, "relation"), ({"set_probability": 1.5}, "set_probability"),
    ({"set_probability": [0.1, 0.2, 0.3]}, "set_probability"), ({"n_instances": -1}, "n_instances"),
    ({"set_probability": True}, "set_probability"), ({"set_probability": 0.0}, "set_probability"),
])
def test_sampler_bad_input(kwargs, name):
    args = {"batch_size": 4, "n_sets": 2, "set_probability": 0.1, "relation": "correlated", **kwargs}
    with pytest.raises(ValueError, match=name):
        generate_correlated_features(**args)


def test_check_relation():
    assert check_relation("anticorrelated") == "anticorrelated"
    with pytest.raises(ValueError, match="relation must be one of"):
        check_relation(None)


# ---------------------------------------------------------------- the measures

def test_set_cosines_and_collapse_on_known_weights():
    W = torch.tensor([[1.0, 0.0], [0.0, 2.0],      # pair 0: orthogonal
                      [0.5, 0.0], [-3.0, 0.0],     # pair 1: antipodal
                      [0.6, 0.6], [1.0, 1.0]])     # pair 2: collapsed
    c = set_cosines(W)
    assert torch.allclose(c, torch.tensor([[0.0, -1.0, 1.0]]), atol=1e-6)
    assert collapsed_sets(W).tolist() == [1]
    x = cross_set_cosines(W)
    assert x.shape == (1, 3, 3) and torch.allclose(x, x.transpose(1, 2))
    W3 = torch.zeros(1, 3, 2)
    W3[0, :, 0] = 1.0
    assert set_cosines(W3, set_size=3).item() == pytest.approx(1.0)
    dropped = torch.tensor([[1.0, 0.0], [0.01, 0.0]])
    assert collapsed_sets(dropped).tolist() == [0]  # a dropped member is not a collapse


def test_measures_bad_input():
    with pytest.raises(ValueError, match="set_size"):
        set_cosines(torch.zeros(5, 2))  # 2 does not divide 5
    with pytest.raises(ValueError, match="set_size"):
        set_cosines(torch.zeros(4, 2), set_size=1)
    with pytest.raises(ValueError, match="W must be"):
        set_cosines([[1.0, 0.0]])
    with pytest.raises(ValueError, match="cosine_threshold"):
        collapsed_sets(torch.zeros(4, 2), cosine_threshold=1.5)


# ---------------------------------------------------------------- the science

@pytest.fixture(scope="module")
def anti():
    return correlated_features("anticorrelated", densities=(0.05, 0.3), progress=False)  # default: best of 3


@pytest.fixture(scope="module")
def corr():
    return correlated_features("correlated", densities=(0.02, 0.5), n_seeds=3, steps=2000, progress=False)


def test_contract(anti):
    assert isinstance(anti, SetSweep) and anti.relation == "anticorrelated" and anti.set_size == 2
    assert anti.W.shape == (2, 4, 2) and torch.allclose(anti.density, torch.tensor([0.05, 0.3]))
    assert torch.equal(anti.importance, torch.ones(2, 4))
    assert "pair p = 0.05" in anti.label(0)


def test_anticorrelated_pairs_go_antipodal(anti):
    assert (set_cosines(anti.W) < -0.95).all()
    assert (anti.W.norm(dim=-1) > 0.9).all()  # all four features represented


def test_correlated_pairs_are_orthogonal_when_sparse_and_collapse_when_dense(corr):
    sparse, dense = corr.nearest(density=0.02), corr.nearest(density=0.5)
    assert set_cosines(corr.W)[sparse].abs().max() < 0.1  # a local orthogonal basis
    assert (corr.W[sparse].norm(dim=-1) > 0.9).all()
    assert collapsed_sets(corr.W)[sparse] == 0
    assert collapsed_sets(corr.W)[dense] == 2  # both pairs onto their principal component
    assert torch.allclose(corr.W[dense].norm(dim=-1), torch.full((4,), 2 ** -0.5), atol=0.05)


def test_correlated_features_bad_input():
    for kwargs, name in (({"relation": "both"}, "relation"), ({"n_pairs": 0}, "n_pairs"),
                         ({"n_hidden": 0}, "n_hidden"), ({"densities": (0.0,)}, "densities"),
                         ({"n_seeds": 0}, "n_seeds"), ({"set_size": 0}, "set_size")):
        args = {"relation": "correlated", **kwargs}
        with pytest.raises(ValueError, match=name):
            correlated_features(**args)


def test_train_correlated_bad_input():
    with pytest.raises(ValueError, match="model"):
        train_correlated("model", 0.1)
    with pytest.raises(ValueError, match="set_size"):
        train_correlated(ToyModel(5, 2), 0.1, set_size=2)
    with pytest.raises(ValueError, match="relation"):
        train_correlated(ToyModel(4, 2), 0.1, "sideways")
    with pytest.raises(ValueError, match="set_probability"):
        train_correlated(ToyModel(4, 2), 2.0)


def test_train_correlated_snapshots_and_best_of_k():
    m = ToyModel(4, 2, 2, seed=0)
    r = train_correlated(m, [0.1, 0.3], "anticorrelated", steps=60, n_seeds=2, snapshot_every=20, progress=False)
    assert r.seed_losses.shape == (2, 2) and r.snapshots["W"].shape == (4, 2, 4, 2)
    assert r.snapshots["step"].tolist() == [0, 20, 40, 60]  # step 0, every 20, and the final weights
    assert torch.allclose(r.snapshots["W"][-1], m.W.detach())


def test_nonuniform_two_families():
    run = nonuniform_superposition(ratios=(1.0, 8.0), n_inits=2, random_ratios=(8.0,), progress=False)
    assert isinstance(run, NonUniformRun)
    assert run.intact("pentagon")[0] and run.intact("digons")[1]
    # uniform: the pentagon is better; 8x sparser: the digons are (the pentagon does not survive there)
    assert run.shape_of(run.W["pentagon"][0]) == 1 and run.shape_of(run.W["digons"][1]) == 0
    assert run.loss["digons"][1] <= run.loss["pentagon"][1] * 1.001
    assert run.random_W.shape == (2, 1, 5, 2) and run.digon_fraction().shape == (1,)
    assert run.random_loss.shape == run.random_sampled_loss.shape == (2, 1)
    # every loss is the expected loss: the digons at 8x sparser are two unit pairs and a dropped feature,
    # (4 p^2 / 6 + p / (3 r)) / 5 in closed form
    p = 0.05
    assert float(run.loss["digons"][1]) == pytest.approx((4 * p**2 / 6 + p / 8 / 3) / 5, rel=3e-3)


# ---------------------------------------------------------------- the expected loss (no sampling)

def _model(W, b, kind="relu_output"):
    W, b = torch.as_tensor(W, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
    m = ToyModel(W.shape[1], W.shape[2], W.shape[0], kind=kind, seed=None)
    with torch.no_grad():
        m.W.copy_(W)
        m.b.copy_(b)
    return m


def test_expected_loss_closed_forms():
    p = torch.tensor([[0.05], [0.3], [1.0]])
    # one feature, W = 1, b = 0: x' = x, no loss; W = 0, b = 0: E[x^2] = 1/3 whenever it is on
    assert expected_loss(_model(torch.ones(3, 1, 1), torch.zeros(3, 1)), p).abs().max() < 1e-12
    assert torch.allclose(expected_loss(_model(torch.zeros(3, 1, 1), torch.zeros(3, 1)), p), p[:, 0].double() / 3)
    # W = 0, b = c = 0.25: (1 - p) c^2 + p E[(x - c)^2] = (1 - p) c^2 + p (1/3 - c + c^2)
    c = 0.25
    want = (1 - p[:, 0]) * c**2 + p[:, 0] * (1 / 3 - c + c**2)
    assert torch.allclose(expected_loss(_model(torch.zeros(3, 1, 1), torch.full((3, 1), c)), p), want.double(),
                          rtol=1e-9)
    # an antipodal pair in 1-D, unit weights, b = 0: it errs only when both are on, by min(x1, x2)^2 (mean 1/6)
    pair = _model(torch.tensor([[[1.0], [-1.0]]] * 3), torch.zeros(3, 2))
    got = expected_loss(pair, p.expand(3, 2))
    assert torch.allclose(got, p[:, 0].double() ** 2 / 6, rtol=3e-4)  # two active: a 64 x 64 grid


def test_expected_loss_matches_many_samples():
    """A pentagon with a bias, one feature 4x sparser (notebook 08's setting), and a linear model: within 4
    standard errors of the mean over 4M samples, and the importance weights the features' errors."""
    from toymodel.data import generate_sparse_features
    W = torch.stack([pentagon_init(5) * 1.1, pentagon_init(5)])
    model = _model(W, torch.tensor([[-0.1] * 5, [0.0] * 5]))
    p = torch.tensor([[0.05, 0.05, 0.05, 0.05, 0.0125], [0.2] * 5])
    imp = torch.tensor([1.0, 0.9, 0.8, 0.7, 0.6])
    want = expected_loss(model, p, imp)
    g = gen(5)
    s1 = s2 = 0.0
    n = 0
    with torch.no_grad():
        for _ in range(16):
            x = generate_sparse_features(2**18, 5, p, 2, generator=g).double()
            h = torch.einsum("bkn,knm->bkm", x, W.double())
            y = torch.relu(torch.einsum("bkm,knm->bkn", h, W.double()) + model.b.detach().double())
            per = (imp.double() * (x - y) ** 2).mean(-1)  # [batch, instances]
            s1, s2, n = s1 + per.sum(0), s2 + (per**2).sum(0), n + per.shape[0]
    mean, se = s1 / n, ((s2 / n - (s1 / n) ** 2) / n).sqrt()
    assert ((want - mean).abs() < 4 * se).all(), (want, mean, se)


def test_expected_loss_any_kind_and_bad_input():
    lin = _model(torch.zeros(1, 2, 1), torch.full((1, 2), 0.5), kind="linear")  # x' = b: E[(x - 1/2)^2] when on
    p = 0.2
    want = (1 - p) * 0.25 + p * (1 / 3 - 0.5 + 0.25)
    assert float(expected_loss(lin, p)) == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="at most 8"):
        expected_loss(ToyModel(9, 2, seed=0), 0.1)
    with pytest.raises(ValueError, match="density"):
        expected_loss(ToyModel(5, 2, seed=0), 0.0)
    with pytest.raises(ValueError, match="ToyModel"):
        expected_loss(torch.zeros(1, 5, 2), 0.1)


def _tiny_nonuniform_run() -> NonUniformRun:
    """Three ratios (1, 2, 4) with hand-set losses: the pentagon lower at 1 and 2, the digons at 4."""
    r = torch.tensor([1.0, 2.0, 4.0])
    W = {"pentagon": pentagon_init(5).expand(3, 5, 2), "digons": digons_init().expand(3, 5, 2)}
    return NonUniformRun(0.05, r, W, {"pentagon": torch.tensor([1.0, 2.0, 3.0]),
                                      "digons": torch.tensor([3.0, 3.0, 2.0])},
                         torch.tensor([4.0]), digons_init().expand(4, 1, 5, 2), torch.zeros(4, 1), 10)


def test_critical_ratio_interpolates():
    run = _tiny_nonuniform_run()
    assert run.critical_ratio() == pytest.approx(2 * 2 ** 0.5, rel=1e-6)  # halfway in log ratio
    assert run.digon_fraction().tolist() == [1.0] and run.seeds_needed().tolist() == [1.0]
    run.random_W = torch.cat([digons_init().expand(1, 1, 5, 2), pentagon_init(5).expand(3, 1, 5, 2)])
    assert run.seeds_needed().tolist() == [math.ceil(math.log(0.05) / math.log(0.75))]  # q = 1/4: 11 seeds
    with pytest.raises(ValueError, match="family"):
        run.intact("hexagon")
    with pytest.raises(ValueError, match="confidence"):
        run.seeds_needed(1.5)


def test_nonuniform_bad_input():
    with pytest.raises(ValueError, match="density"):
        nonuniform_superposition(density=0.0)
    with pytest.raises(ValueError, match="n_inits"):
        nonuniform_superposition(n_inits=0)
    with pytest.raises(ValueError, match="ratios"):
        nonuniform_superposition(ratios=(-1.0,))
    with pytest.raises(ValueError, match="n_features"):
        pentagon_init(0)


@pytest.fixture(scope="module")
def dyn():
    return learning_dynamics(steps=800, snapshot_every=40, eval_batch=1024, progress=False)


def test_learning_dynamics_records_the_run(dyn):
    assert dyn.step[0] == 0 and len(dyn) == dyn.W.shape[0] and dyn.W.shape[1:] == (5, 2)
    assert dyn.dimensionality.shape == (len(dyn), 5)
    assert dyn.loss[-1] < 0.7 * dyn.loss[0]  # it learned
    assert dyn.step.tolist()[:3] == [0, 40, 80] and dyn.step[dyn.nearest(395)] == 400  # snapshots every 40 steps


def test_learning_dynamics_bad_input():
    with pytest.raises(ValueError, match="snapshot_every"):
        learning_dynamics(snapshot_every=0)
    with pytest.raises(ValueError, match="density"):
        learning_dynamics(density=2.0)


# ---------------------------------------------------------------- figures and explorers

def test_figures(anti, dyn):
    import matplotlib.pyplot as plt

    fig = plot_set_embedding_2d(anti, 0)
    assert len([ln for ln in fig.axes[0].lines if (ln.get_gid() or "").startswith("feature-")]) == 4
    fig2 = plot_dimensionality_over_training(dyn, mark=3)
    assert any(ln.get_gid() == "mark" for ln in fig2.axes[0].lines)
    plot_loss_over_training(dyn)
    with pytest.raises(ValueError, match="n_hidden = 2"):
        plot_set_embedding_2d(torch.zeros(4, 3))
    plt.close("all")


def test_explorers(anti, corr, dyn):
    e = SetExplorer({"anti": anti}, density=0.3)
    assert "1 data sets x 2 set densities" in repr(e) and e.index == 1 and e.n_renders == 2
    assert "member cosines" in e.title
    s = TrainingScrubber(dyn, every=5, step=400)
    assert s.n_renders == len(s.slider.options) and "step 400" in s.title
    with pytest.raises(ValueError, match="sweeps"):
        SetExplorer({})
    with pytest.raises(ValueError, match="same densities"):
        SetExplorer({"a": anti, "c": corr})
    with pytest.raises(ValueError, match="name"):
        SetExplorer({"anti": anti}, name="other")
    with pytest.raises(ValueError, match="every"):
        TrainingScrubber(dyn, every=0)
    with pytest.raises(ValueError, match="NonUniformRun"):
        RatioExplorer(dyn)


def test_RatioExplorer_and_family_plot():
    import matplotlib.pyplot as plt

    run = _tiny_nonuniform_run()
    e = RatioExplorer(run, ratio=4.0)
    assert e.index == 2 and "lower loss here: two digons" in e.title and e.n_renders == 3
    fig = plot_family_losses(run)
    assert any(ln.get_gid() == "critical-ratio" for ln in fig.axes[0].lines)
    plt.close("all")


def test_more_bad_input(dyn):
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match="NonUniformRun"):
        plot_family_losses(dyn)
    with pytest.raises(ValueError, match="TrainingRun"):
        plot_loss_over_training("run")
    with pytest.raises(ValueError, match="mark"):
        plot_dimensionality_over_training(dyn, mark=10_000)
    with pytest.raises(ValueError, match="step"):
        dyn.nearest("last")
    with pytest.raises(ValueError, match="step"):
        TrainingScrubber(dyn, step=1.5)
    with pytest.raises(ValueError, match="until"):
        TrainingScrubber(dyn, until=-1)
    r = torch.tensor([1.0])
    run = NonUniformRun(0.05, r, {"pentagon": pentagon_init(5)[None], "digons": digons_init()[None]},
                        {"pentagon": torch.ones(1), "digons": torch.ones(1)}, r, digons_init()[None, None],
                        torch.zeros(1, 1), 1)
    with pytest.raises(ValueError, match=r"\[\.\.\., 5, 2\]"):
        run.shape_of(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="do not cross"):
        run.critical_ratio()
    plt.close("all")


def test_learning_dynamics_jumps_between_energy_levels():
    """The default recorded run: a plateau with an antipodal pair (D = 1/2) and feature 4 nearly dropped, then a
    jump to the pentagon (every D_i = 2/5) with a sudden drop in the loss."""
    run = learning_dynamics(progress=False)
    D, L = run.dimensionality, run.loss
    plateau, after = run.nearest(1000), run.nearest(3000)
    assert (D[plateau, :2] - 0.5).abs().max() < 0.03 and D[plateau, 4] < 0.15
    assert L[run.nearest(1400)] > 0.95 * L[plateau]  # flat for 400 steps
    assert L[run.nearest(2600)] < 0.6 * L[run.nearest(1400)]  # then a drop of > 40%
    assert (D[after:] - 0.4).abs().max() < 0.02


def test_three_correlated_pairs_side_by_side_then_collapsed():
    s = correlated_features("correlated", n_pairs=3, densities=(0.01, 0.5), progress=False)  # best of 8
    assert collapsed_sets(s.W).tolist() == [0, 3]
    deg = torch.remainder(torch.atan2(s.W[0, :, 1], s.W[0, :, 0]), 2 * math.pi)
    order = torch.argsort(deg)
    assert int((order // 2 == order.roll(-1) // 2).sum()) == 3  # partners adjacent round the circle
    assert (set_cosines(s.W)[0] > 0.2).all()
