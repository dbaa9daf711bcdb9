"""Each kind's forward math against a hand computation; shapes; initialisation."""

import pytest
import torch

from toymodel import ToyModel


def _hand_forward(W, b, x, kind):
    """Loop-by-hand version of the paper's equations for one instance: W [n, m], b [n], x [n]."""
    n, m = len(W), len(W[0])
    h = [sum(W[i][j] * x[i] for i in range(n)) for j in range(m)]
    if kind == "relu_hidden":
        h = [max(v, 0.0) for v in h]
    y = [sum(W[i][j] * h[j] for j in range(m)) + b[i] for i in range(n)]
    return y if kind == "linear" else [max(v, 0.0) for v in y]


@pytest.mark.parametrize("kind", ["relu_output", "linear", "relu_hidden"])
def test_forward_matches_hand_computation(kind):
    model = ToyModel(4, 2, n_instances=3, kind=kind, seed=3)
    with torch.no_grad():
        model.b.copy_(torch.randn(3, 4) * 0.3)
    x = torch.randn(5, 3, 4)  # signed inputs exercise both ReLUs
    out = model(x)
    assert out.shape == (5, 3, 4)
    for batch in range(5):
        for k in range(3):
            want = _hand_forward(model.W[k].tolist(), model.b[k].tolist(), x[batch, k].tolist(), kind)
            assert out[batch, k].tolist() == pytest.approx(want, abs=1e-5)


def test_kinds_differ_where_they_should():
    x = torch.tensor([[[1.0, -1.0]]])
    lin, relu = ToyModel(2, 2, kind="linear", seed=0), ToyModel(2, 2, seed=0)
    assert (relu(x) >= 0).all()
    assert (lin(x) < 0).any()


def test_parameter_shapes_and_zero_bias():
    model = ToyModel(5, 2, n_instances=10)
    assert model.W.shape == (10, 5, 2) and model.b.shape == (10, 5)
    assert model.b.abs().sum() == 0


def test_init_scale_is_the_papers_and_independent_of_n_instances():
    model = ToyModel(200, 20, n_instances=50, seed=0)
    assert model.W.std().item() == pytest.approx(1 / (200 * 20) ** 0.5, rel=0.03)


def test_seeded_init_is_deterministic():
    assert torch.equal(ToyModel(5, 2, seed=1).W, ToyModel(5, 2, seed=1).W)
    assert not torch.equal(ToyModel(5, 2, seed=1).W, ToyModel(5, 2, seed=2).W)


def test_instances_do_not_interact():
    model = ToyModel(3, 2, n_instances=2, seed=0)
    x = torch.rand(4, 2, 3)
    x2 = x.clone()
    x2[:, 1] = 0.0  # change instance 1's input only
    assert torch.equal(model(x)[:, 0], model(x2)[:, 0])


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="n_features=5"):
        ToyModel(5, 2)(torch.rand(3, 1, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_device():
    model = ToyModel(5, 2, device="cuda")
    assert model.W.device.type == "cuda"
    assert model(torch.rand(3, 1, 5, device="cuda")).device.type == "cuda"


def test_the_courses_public_names_are_importable_from_the_package():
    import toymodel

    for name in ["ToyModel", "generate_sparse_features", "train_toy_model", "compute_feature_interference",
                 "plot_feature_embeddings_2d", "plot_interference_matrix", "plot_feature_norms", "compare_models"]:
        assert callable(getattr(toymodel, name)), name


# what the notebooks import from the top level (the rest comes from toymodel.visualize, widgets, exercises and
# the going-further science modules)
NOTEBOOK_NAMES = """ToyModel basic_superposition compute_feature_interference computation_sweep correlated_features
dimensionality_sweep dimensions_per_feature embedding_angles evaluate_loss feature_dimensionality feature_importance
feature_norms generate_correlated_features generate_sparse_features geometric_importance learning_dynamics
load_feature_geometry n_represented nonuniform_superposition phase_diagram privileged_basis represented
small_polytopes sparse_vs_dense superposition train_toy_model""".split()


def test_the_top_level_exports_the_courses_api_and_nothing_it_lacks():
    import toymodel
    from toymodel import experiments, metrics, sweeps

    assert set(NOTEBOOK_NAMES) <= set(toymodel.__all__)
    assert [name for name in toymodel.__all__ if not hasattr(toymodel, name)] == []
    measures = {name for name in metrics.__all__ if name not in ("as_weights", "unit_rows")}  # helpers, not measures
    assert measures <= set(toymodel.__all__)
    assert set(sweeps.__all__) <= set(toymodel.__all__) and set(sweeps.__all__) <= set(experiments.__all__)
    assert toymodel.Sweep is experiments.Sweep is sweeps.Sweep


def test_importing_the_package_does_not_pull_in_the_widgets():
    import subprocess
    import sys

    code = "import sys, toymodel; print('ipywidgets' in sys.modules, 'toymodel.widgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "False"]
