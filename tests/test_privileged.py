"""Superposition in a privileged basis: rotation (in)variance, neuron measures, the neuron figures and explorer."""

from matplotlib.collections import PolyCollection
import numpy as np
import pytest
import torch

from toymodel import ToyModel, evaluate_loss, train_toy_model
from toymodel.experiments import Sweep, computation_sweep, privileged_basis
from toymodel.neurons import (
    features_per_neuron,
    n_monosemantic,
    n_polysemantic,
    neuron_labels,
    paired_features,
    random_rotation,
    rotate_hidden,
)
from toymodel.visualize import plot_monosemantic_vs_density, plot_neuron_stack, plot_neuron_weights
from toymodel.widgets import NeuronExplorer


def test_random_rotation_is_orthogonal_and_seeded():
    rot = random_rotation(5, seed=3)
    assert torch.allclose(rot @ rot.T, torch.eye(5), atol=1e-5)
    assert torch.det(rot).item() == pytest.approx(1.0, abs=1e-5)
    assert torch.equal(rot, random_rotation(5, seed=3)) and not torch.equal(rot, random_rotation(5, seed=4))


@pytest.fixture(scope="module")
def trained_pair():
    """A ReLU-output and a ReLU-hidden 10 -> 5 model trained at p = 0.3 (I_i = 0.75^i)."""
    imp = 0.75 ** torch.arange(10.0)
    out = {}
    for kind in ("relu_output", "relu_hidden"):
        model = ToyModel(10, 5, 1, kind=kind, seed=0)
        train_toy_model(model, 0.3, imp, steps=1500, progress=False)
        out[kind] = model
    return out, imp


def test_rotating_the_hidden_space_leaves_a_relu_output_model_unchanged(trained_pair):
    models, imp = trained_pair
    model = models["relu_output"]
    rotated = rotate_hidden(model, random_rotation(5, seed=0))
    assert not torch.allclose(rotated.W, model.W, atol=0.1)  # the weights do change ...
    assert torch.allclose(rotated.W @ rotated.W.transpose(1, 2), model.W @ model.W.transpose(1, 2), atol=1e-5)
    before, after = evaluate_loss(model, 0.3, imp), evaluate_loss(rotated, 0.3, imp)
    assert after.item() == pytest.approx(before.item(), rel=1e-4)  # ... the loss does not


def test_rotating_the_hidden_space_changes_a_relu_hidden_model(trained_pair):
    models, imp = trained_pair
    model = models["relu_hidden"]
    before = evaluate_loss(model, 0.3, imp).item()
    for seed in range(3):
        after = evaluate_loss(rotate_hidden(model, random_rotation(5, seed=seed)), 0.3, imp).item()
        assert after > 1.5 * before  # the neurons' basis is privileged: rotating it costs loss


def test_features_per_neuron_on_hand_built_weights():
    W = torch.tensor([[1.0, 0.0, 0.9, 0.0],
                      [0.1, 0.0, 0.8, -2.0],
                      [0.0, 0.05, 0.0, 0.0]])  # 3 features x 4 neurons
    assert features_per_neuron(W).tolist() == [[1, 0, 2, 0]]  # neuron 3: only a negative weight -> never fires
    assert features_per_neuron(W, positive_only=False).tolist() == [[1, 0, 2, 1]]
    assert features_per_neuron(W, fraction=0.05).tolist() == [[2, 0, 2, 0]]  # 0.1 >= 0.05 * 1.0 counts now
    assert features_per_neuron(W, dead=0.01).tolist() == [[1, 1, 2, 0]]  # neuron 1 (0.05) is no longer dead
    assert n_monosemantic(W).tolist() == [1] and n_polysemantic(W).tolist() == [1]
    assert neuron_labels(W) == [["monosemantic", "dead", "polysemantic", "dead"]]


def test_paired_features_on_hand_built_weights():
    W1 = torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -0.9]])
    W2 = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    assert paired_features(W1, W2).tolist() == [[True, True]]
    W2_bad = W2.clone()
    W2_bad[1, 3] = -1.0  # the negative side does not feed output 1
    assert paired_features(W1, W2_bad).tolist() == [[True, False]]
    W1_mixed = W1.clone()
    W1_mixed[1, 0] = 0.8  # neuron 0 now carries two features
    assert paired_features(W1_mixed, W2).tolist() == [[False, True]]


@pytest.fixture(scope="module")
def small_sweep():
    return privileged_basis(densities=(0.5, 0.05), n_seeds=4, steps=2000, progress=False)


def test_monosemantic_when_dense_polysemantic_when_sparse(small_sweep):
    assert n_monosemantic(small_sweep.W).tolist() == [5, 0]
    assert n_polysemantic(small_sweep.W).tolist() == [0, 5]
    mono = small_sweep.W[0].clamp(min=0).argmax(0)  # p = 0.5: each neuron one of the 5 most important features
    assert sorted(mono.tolist()) == [0, 1, 2, 3, 4]


def test_stack_plot_draws_every_weight_with_negatives_below_the_axis(small_sweep):
    fig = plot_neuron_stack(small_sweep, 1)
    ax = fig.axes[0]
    (coll,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    boxes = [p.vertices for p in coll.get_paths()]
    assert len(boxes) == 10 * 5  # one rectangle per weight
    W = small_sweep.W[1].numpy()
    heights = sorted(float(b[:, 1].max() - b[:, 1].min()) for b in boxes)
    assert np.allclose(heights, np.sort(np.abs(W).ravel()), atol=1e-5)  # height |W_ij|
    below = sum(float(b[:, 1].min()) < -1e-9 for b in boxes)
    assert below == int((W < 0).sum())  # negative weights below the axis
    assert "p = 0.05 (S = 0.95)" in ax.get_title()
    (bar,) = [a for a in fig.axes if a is not ax]  # the colour bar: one labelled swatch per feature
    assert [t.get_text() for t in bar.get_yticklabels()] == [str(i) for i in range(10)]
    assert bar.get_ylim()[0] > bar.get_ylim()[1]  # feature 0 at the top
    assert "feature i" in bar.get_ylabel()
    assert len(plot_neuron_stack(small_sweep, 1, colorbar=False).axes) == 1


def test_heatmap_shows_w_with_neurons_sorted(small_sweep):
    fig = plot_neuron_weights(small_sweep, 0)
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (10, 5)
    assert (np.asarray(img)[:5].argmax(0) == np.arange(5)).all()  # sorted: a diagonal of monosemantic neurons


def test_monosemantic_plot_and_bad_input(small_sweep):
    fig = plot_monosemantic_vs_density({"ReLU hidden": small_sweep})
    (line,) = fig.axes[0].get_lines()
    assert line.get_ydata().tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="sweeps"):
        plot_monosemantic_vs_density({})


def test_explorer_redraws_precomputed_models(small_sweep):
    e = NeuronExplorer(small_sweep)
    assert repr(e) == "NeuronExplorer(ReLU hidden, 10 features → 5 neurons, 2 densities)"
    assert e.n_renders == 2 and "5 of 5 neurons monosemantic" in e.title
    W_before = small_sweep.W.clone()
    e.slider.value = 1
    assert e.index == 1 and "0 of 5 neurons monosemantic" in e.title and "S = 0.95" in e.title
    assert e.n_renders == 2 and e.last_seconds < 0.3  # from the cache
    assert torch.equal(small_sweep.W, W_before)  # nothing was trained


def test_explorer_on_the_abs_model():
    s = computation_sweep(n_features=6, n_hidden=4, densities=(1.0, 0.1), steps=20, progress=False)
    e = NeuronExplorer(s)
    assert repr(e) == "NeuronExplorer(|x| model, 6 features → 4 neurons, 2 densities)"
    assert e.title.startswith("|x| model, 6 features → 4 neurons, p = 1 (S = 0)")


def test_bad_input_is_a_value_error(small_sweep):
    with pytest.raises(ValueError, match="relu_hidden"):
        NeuronExplorer(Sweep(ToyModel(3, 2), torch.ones(1), torch.ones(1, 3), torch.ones(1)))  # relu_output
    with pytest.raises(ValueError, match="orthogonal"):
        rotate_hidden(ToyModel(4, 2), torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"rotation must have shape"):
        rotate_hidden(ToyModel(4, 2), torch.eye(3))
    with pytest.raises(ValueError, match="model must be a ToyModel"):
        rotate_hidden(small_sweep.W, torch.eye(5))
    with pytest.raises(ValueError, match="fraction"):
        features_per_neuron(small_sweep.W, fraction=0.0)
    with pytest.raises(ValueError, match="dead"):
        features_per_neuron(small_sweep.W, dead=-1)
    with pytest.raises(ValueError, match="n_hidden"):
        random_rotation(0)
    with pytest.raises(ValueError, match="W2 must have the shape"):
        paired_features(torch.ones(3, 2), torch.ones(2, 3))
    with pytest.raises(ValueError, match="instance"):
        plot_neuron_stack(small_sweep, 5)


def test_relu_active_fraction(small_sweep):
    from toymodel.neurons import relu_active_fraction
    positive = ToyModel(4, 2, seed=None)
    with torch.no_grad():
        positive.W.fill_(0.5)
    assert relu_active_fraction(positive, 0.5).tolist() == [0.0]  # non-negative inputs, positive weights: never cut
    dense, sparse = (relu_active_fraction(small_sweep.model, p)[k].item() for k, p in ((0, 0.5), (1, 0.05)))
    assert sparse > 2 * dense  # the sparse model relies on the ReLU far more
    with pytest.raises(ValueError, match="model must be a ToyModel"):
        relu_active_fraction(small_sweep.W, 0.5)
