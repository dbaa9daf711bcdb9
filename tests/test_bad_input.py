"""Bad input gets a ValueError that names the parameter and what is allowed."""

import math

import pytest
import torch

import toymodel
from toymodel import ToyModel, feature_norms, generate_sparse_features, n_represented, train_toy_model
from toymodel.experiments import basic_superposition, dimensionality_sweep


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_features=5, n_hidden=0), "n_hidden must be a positive integer"),
        (dict(n_features=0, n_hidden=2), "n_features must be a positive integer"),
        (dict(n_features=5, n_hidden=2, n_instances=-1), "n_instances"),
        (dict(n_features=5, n_hidden=2.5), "n_hidden"),
        (dict(n_features=5, n_hidden=2, kind="relu"),
         r"kind must be one of \('relu_output', 'linear', 'relu_hidden'\)"),
    ],
)
def test_model_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ToyModel(**kwargs)


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, [0.5, 2.0], "dense"])
def test_probability_outside_0_1_or_nan(p):
    with pytest.raises(ValueError, match="density"):
        generate_sparse_features(8, 5, p, n_instances=2)
    with pytest.raises(ValueError, match="density"):
        train_toy_model(ToyModel(5, 2, n_instances=2), p, steps=1)


def test_probability_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"density has shape \(3,\).*\[n_instances\]=\[2\]"):
        train_toy_model(ToyModel(5, 2, n_instances=2), [0.1, 0.2, 0.3], steps=1)


@pytest.mark.parametrize(
    "importance, match",
    [
        ([1.0, 0.9, 0.8], r"importance has shape \(3,\).*\[n_features\]=\[5\]"),
        ([1.0, -0.9, 0.8, 0.7, 0.6], r"importance must lie in \[0, inf\]"),
        (math.nan, "importance contains NaN"),
        (math.inf, "importance must be finite"),
    ],
)
def test_bad_importance(importance, match):
    with pytest.raises(ValueError, match=match):
        train_toy_model(ToyModel(5, 2), 0.1, importance, steps=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(steps=0), "steps must be a positive integer"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(n_seeds=0), "n_seeds must be a positive integer"),
        (dict(lr=-1.0), "lr must be a positive finite number"),
        (dict(lr=math.nan), "lr must be a positive finite number"),
        (dict(seed=-3), "seed must be a non-negative integer"),
    ],
)
def test_bad_training_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_toy_model(ToyModel(5, 2), 0.1, **kwargs)


def test_metrics_reject_what_is_not_a_weight_matrix():
    with pytest.raises(ValueError, match="W must have shape"):
        feature_norms(torch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match="threshold must be a positive number"):
        n_represented(torch.eye(3), threshold=-1)


def test_experiment_arguments():
    with pytest.raises(ValueError, match=r"densities must hold numbers in \(0, 1\]"):
        basic_superposition(densities=[0.5, 0.0], steps=1)
    with pytest.raises(ValueError, match="hidden_sizes entry must be a positive integer"):
        dimensionality_sweep(hidden_sizes=(2, 0), steps=1)


@pytest.mark.parametrize("name, call", [
    ("train_toy_model", lambda: toymodel.train_toy_model(toymodel.ToyModel(5, 2), 0.1, stepz=10)),
    ("train_abs_model", lambda: toymodel.train_abs_model(toymodel.AbsValueModel(4, 2), 0.1, stepz=10)),
    ("basic_superposition", lambda: toymodel.basic_superposition(stepz=10)),
    ("sparse_vs_dense", lambda: toymodel.sparse_vs_dense(stepz=10)),
    ("dimensionality_sweep", lambda: toymodel.dimensionality_sweep(stepz=10)),
])
def test_an_unknown_training_keyword_is_a_type_error_naming_it(name, call):
    """The trainers and experiments share train_toy_model's recipe keywords; a misspelt one is named, with the
    function the learner called (not one deep inside it), before anything trains."""
    with pytest.raises(TypeError, match=rf"^{name}\(\) got an unexpected keyword argument 'stepz'"):
        call()


# ------------------------------------------------------------------ one rule for densities, sizes that overflow

DENSITY_ZERO = {
    "generate_sparse_features": lambda: generate_sparse_features(8, 5, 0.0),
    "train_toy_model": lambda: train_toy_model(ToyModel(5, 2), 0.0, steps=1),
    "evaluate_loss": lambda: toymodel.evaluate_loss(ToyModel(5, 2), [0.0]),
    "per-feature density": lambda: generate_sparse_features(8, 3, [[0.5, 0.0, 0.5]]),
    "generate_correlated_features": lambda: toymodel.generate_correlated_features(8, 2, 0.0),
    "train_abs_model": lambda: toymodel.train_abs_model(toymodel.AbsValueModel(4, 3), 0.0, steps=1),
    "basic_superposition": lambda: basic_superposition(densities=[1.0, 0.0], steps=1),
}


@pytest.mark.parametrize("call", DENSITY_ZERO.values(), ids=DENSITY_ZERO.keys())
def test_a_density_of_zero_is_refused_everywhere_with_the_rule_stated(call):
    """The paper's p = 1 - S is in (0, 1]; p = 0 used to be accepted by the sampler, training and evaluation."""
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        call()


HUGE = 10**400
HUGE_SIZES = {
    "n_features": lambda: ToyModel(HUGE, 2),
    "n_hidden": lambda: ToyModel(5, HUGE),
    "n_instances": lambda: ToyModel(5, 2, HUGE),
    "batch_size": lambda: generate_sparse_features(HUGE, 5, 0.1),
    "steps": lambda: train_toy_model(ToyModel(5, 2), 0.1, steps=HUGE),
    "n_seeds": lambda: train_toy_model(ToyModel(5, 2), 0.1, n_seeds=HUGE),
    "snapshot_every": lambda: train_toy_model(ToyModel(5, 2), 0.1, steps=1, snapshot_every=HUGE),
    "n_densities": lambda: basic_superposition(n_densities=HUGE),
    "hidden_sizes entry": lambda: dimensionality_sweep(hidden_sizes=[HUGE]),
    "n_sets": lambda: toymodel.generate_correlated_features(4, HUGE, 0.1),
}


@pytest.mark.parametrize("name, call", HUGE_SIZES.items(), ids=HUGE_SIZES.keys())
def test_a_size_too_large_for_any_integer_type_is_a_value_error_naming_it(name, call):
    """10**400 used to escape as an OverflowError (or a TypeError from inside torch)."""
    with pytest.raises(ValueError, match=rf"^{name} must be a positive integer .*\(401 characters\)$"):
        call()


def test_sizes_that_are_integers_but_exhaust_memory_are_refused_before_allocating():
    with pytest.raises(ValueError, match="n_features=4611686018427387904 needs about"):
        toymodel.geometric_importance(2**62)
    with pytest.raises(ValueError, match="n_instances=4611686018427387904 needs about"):
        toymodel.density_sweep(2**62)
