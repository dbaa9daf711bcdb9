"""toymodel.sae: the sparse autoencoder's conventions, its measures, bad input, and what its defaults reach on the
course's toy models (the numbers an independent reference reached, to meet or beat).

The three science tests train one SAE each with the library's defaults (5,000 Adam steps in float64): about 2-7 s of
one CPU core each on a quiet course machine; the others take well under a second (resampling: ~2 s).  What the other
settings reach, over five seeds each, is checked on the precomputed sweep (tests/test_sae_sweep.py), which a slice
retrain ties to this code.
"""

from __future__ import annotations

import math

import pytest
import torch

from toymodel import ToyModel, geometric_importance, train_toy_model
from toymodel.sae import (
    DEFAULT_L1_COEFF,
    SAEScores,
    SparseAutoencoder,
    best_cosines,
    hidden_activations,
    kth_largest,
    mmcs,
    sae_lr_at,
    score_sae,
    score_snapshots,
    train_sae,
    true_features,
)

P = 0.05


@pytest.fixture(scope="module")
def pentagon() -> ToyModel:
    model = ToyModel(5, 2, seed=0)
    train_toy_model(model, P, 1.0, seed=0, progress=False)
    return model


@pytest.fixture(scope="module")
def toy40() -> ToyModel:
    model = ToyModel(40, 10, seed=0)
    train_toy_model(model, P, geometric_importance(40, 0.9), seed=0, progress=False)
    return model


def _h(d_in: int = 3, batch: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, d_in, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---------------------------------------------------------------------------------------------- conventions


def test_shapes_and_unit_norm_decoder_rows_at_init():
    sae = SparseAutoencoder(3, 7, seed=1)
    assert sae.W_enc.shape == (3, 7) and sae.W_dec.shape == (7, 3)
    assert sae.b_enc.shape == (7,) and sae.b_dec.shape == (3,)
    assert torch.allclose(sae.W_dec.norm(dim=-1), torch.ones(7))
    assert torch.equal(sae.W_enc.detach(), sae.W_dec.detach().T)  # tied initialisation


def test_encode_subtracts_b_dec_and_decode_adds_it():
    sae = SparseAutoencoder(3, 5, seed=0, dtype=torch.float64)
    with torch.no_grad():
        sae.b_dec.copy_(torch.tensor([0.5, -1.0, 2.0]))
        sae.b_enc.copy_(torch.linspace(-0.2, 0.2, 5))
    h = _h()
    z = sae.encode(h)
    assert torch.allclose(z, torch.relu((h - sae.b_dec) @ sae.W_enc + sae.b_enc))
    assert not torch.allclose(z, torch.relu(h @ sae.W_enc + sae.b_enc))
    assert torch.allclose(sae.decode(z), z @ sae.W_dec + sae.b_dec)
    assert torch.allclose(sae(h), sae.decode(z))


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_topk_keeps_the_k_largest_latents(k):
    sae = SparseAutoencoder(4, 8, "topk", k, seed=2, dtype=torch.float64)
    h = _h(4, 64)
    with torch.no_grad():
        z = sae.encode(h)
        pre = torch.relu(sae.pre_activations(h))
    assert int((z > 0).sum(-1).max()) <= k
    kept = pre.topk(k, dim=-1)
    assert torch.allclose(z.gather(-1, kept.indices), kept.values)  # the k largest kept, unchanged
    assert float(z.sum()) == pytest.approx(float(kept.values.sum()))  # and nothing else
    assert torch.allclose(kth_largest(pre, k), kept.values[:, -1:])


def test_loss_is_summed_squared_error_plus_l1_summed_over_latents():
    sae = SparseAutoencoder(3, 6, seed=0, dtype=torch.float64)
    h = _h()
    loss = float(sae.loss(h, 0.3).detach())
    with torch.no_grad():
        z, h_hat = sae.encode(h), sae(h)
    assert loss == pytest.approx(float(((h - h_hat) ** 2).sum(-1).mean() + 0.3 * z.sum(-1).mean()))
    assert loss != pytest.approx(float(((h - h_hat) ** 2).sum(-1).mean() + 0.3 * z.mean()))


def test_topk_loss_has_no_l1_term():
    sae = SparseAutoencoder(3, 6, "topk", 2, seed=0, dtype=torch.float64)
    h = _h()
    with torch.no_grad():
        assert float(sae.loss(h)) == pytest.approx(float(((h - sae(h)) ** 2).sum(-1).mean()))
    with pytest.raises(ValueError, match="no L1 term"):
        sae.loss(h, 0.1)


def test_lr_is_constant_then_falls_to_zero_over_the_last_fifth():
    assert sae_lr_at(0, 100, 1.0) == sae_lr_at(79, 100, 1.0) == 1.0
    assert sae_lr_at(90, 100, 1.0) == pytest.approx(0.5)
    assert 0 < sae_lr_at(99, 100, 1.0) < 0.1


# ---------------------------------------------------------------------------------------------- measures


def test_mmcs_ignores_dead_latents():
    W_true = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    W_dec = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    assert mmcs(W_true, W_dec) == pytest.approx(1.0)
    fires = torch.tensor([True, False, True])  # the latent along feature 0 is dead
    assert mmcs(W_true, W_dec, fires) == pytest.approx((0.6 + 1.0) / 2)
    best, idx = best_cosines(W_true, W_dec, fires)
    assert idx.tolist() == [2, 0]


def test_best_cosine_is_max_over_latents_per_feature_and_keeps_the_sign():
    W_true = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    W_dec = torch.tensor([[-1.0, 0.0], [0.0, 3.0]])  # rows need not be unit norm
    best, idx = best_cosines(W_true, W_dec)
    assert best.tolist() == pytest.approx([0.0, 1.0, 1.0])  # feature 0's antipodal latent does not count
    assert idx.tolist() == [1, 1, 0]
    none = best_cosines(W_true, W_dec, torch.tensor([False, False]))
    assert none[0].tolist() == [-1.0] * 3 and none[1].tolist() == [-1] * 3


def _orthogonal_toy() -> ToyModel:
    model = ToyModel(2, 2, seed=0)
    with torch.no_grad():
        model.W.copy_(torch.eye(2)[None])
    return model


def test_scores_of_a_hand_built_sae_on_an_orthogonal_toy():
    """Two features on the two axes, an SAE that reads each axis at half strength: MMCS 1, shrinkage 1/2 exactly."""
    toy = _orthogonal_toy()
    sae = SparseAutoencoder(2, 3, seed=0, dtype=torch.float64)
    with torch.no_grad():
        sae.W_dec.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-0.6, -0.8]]))
        sae.W_enc.copy_(0.5 * sae.W_dec.T)
    s = score_sae(sae, toy, 0.3, n_samples=4096)
    assert isinstance(s, SAEScores)
    assert s.mmcs == pytest.approx(1.0) and s.worst == pytest.approx(1.0)
    assert s.dead == 1 and s.d_sae == 3  # the third latent points away from all data
    assert s.shrinkage == pytest.approx(0.5)
    assert s.true_l0 == pytest.approx(0.6, abs=0.03) and s.l0 == pytest.approx(s.true_l0)
    # h - h_hat = h / 2: a quarter of E||h||^2 = 2 p/3, over the variance 2 (p/3 - p^2/4)
    assert s.fvu == pytest.approx(0.25 * 0.1 / (0.1 - 0.3**2 / 4), rel=0.05)
    assert s.features.tolist() == [0, 1] and s.best_latent.tolist() == [0, 1]


def test_fvu_is_zero_for_a_perfect_reconstruction():
    toy = _orthogonal_toy()
    sae = SparseAutoencoder(2, 2, seed=0, dtype=torch.float64)
    with torch.no_grad():
        sae.W_dec.copy_(torch.eye(2))
        sae.W_enc.copy_(torch.eye(2))
    s = score_sae(sae, toy, 0.3, n_samples=2048)
    assert s.fvu == pytest.approx(0.0, abs=1e-12) and s.shrinkage == pytest.approx(1.0)


def test_true_features_are_the_represented_ones(toy40):
    keep, W_true = true_features(toy40)
    assert len(keep) == 25
    assert bool((W_true.norm(dim=-1) > 0.5).all())
    assert keep.tolist() == sorted(keep.tolist())


def test_hidden_activations_are_W_x(pentagon):
    x, h = hidden_activations(pentagon, P, 256, generator=torch.Generator().manual_seed(0))
    assert x.shape == (256, 5) and h.shape == (256, 2)
    assert torch.allclose(h, x @ pentagon.W.detach()[0])
    assert 0.02 < float((x > 0).double().mean()) < 0.08


# ---------------------------------------------------------------------------------------------- training


def test_training_is_seeded_and_keeps_decoder_rows_unit_norm(pentagon):
    a = train_sae(pentagon, P, d_sae=5, steps=150, seed=3, progress=False)
    b = train_sae(pentagon, P, d_sae=5, steps=150, seed=3, progress=False)
    c = train_sae(pentagon, P, d_sae=5, steps=150, seed=4, progress=False)
    assert torch.equal(a.W_dec, b.W_dec) and torch.equal(a.b_enc, b.b_enc)
    assert not torch.equal(a.W_dec, c.W_dec)
    assert torch.allclose(a.W_dec.norm(dim=-1), torch.ones(5, dtype=torch.float64), atol=1e-12)
    assert not torch.allclose(a.W_dec, SparseAutoencoder(2, 5, seed=3, dtype=torch.float64).W_dec)  # it trained
    assert a.l1_coeff == DEFAULT_L1_COEFF and a.history["loss"].shape == a.history["step"].shape


def test_training_leaves_global_state_alone(pentagon):
    torch.manual_seed(123)
    threads, state = torch.get_num_threads(), torch.get_rng_state()
    train_sae(pentagon, P, d_sae=5, steps=20, progress=False)
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads


def test_snapshots_record_first_and_last_step(pentagon):
    sae = train_sae(pentagon, P, d_sae=4, steps=100, snapshot_every=40, progress=False)
    assert sae.snapshots["step"].tolist() == [0, 40, 80, 100]
    assert sae.snapshots["W_dec"].shape == (4, 4, 2)
    assert torch.equal(sae.at_snapshot(3).W_dec, sae.W_dec)
    assert len(score_snapshots(sae, pentagon, P, n_samples=512)) == 4


def test_resampling_gives_rare_latents_new_directions(toy40):
    """With 100 latents for 25 features many latents fire rarely; resampling moves them (and counts them)."""
    plain = train_sae(toy40, P, d_sae=100, kind="topk", k=1, steps=200, progress=False)
    again = train_sae(toy40, P, d_sae=100, kind="topk", k=1, steps=200, resample_dead=True, progress=False)
    assert plain.n_resampled == 0 and again.n_resampled > 0
    assert not torch.equal(plain.W_dec, again.W_dec)


# ---------------------------------------------------------------------------------------------- the science


def test_untrained_baselines_are_far_from_zero(pentagon, toy40):
    """An untrained SAE already scores high on a 2-D model: MMCS is only meaningful against this baseline."""
    pent10 = score_sae(SparseAutoencoder(2, 10, seed=0, dtype=torch.float64), pentagon, P)
    wide = score_sae(SparseAutoencoder(10, 40, seed=0, dtype=torch.float64), toy40, P)
    assert 0.88 < pent10.mmcs < 0.98
    assert 0.55 < wide.mmcs < 0.72


def test_topk_k1_with_40_latents_finds_every_feature_of_the_40_to_10_model(toy40):
    s = score_sae(train_sae(toy40, P, d_sae=40, kind="topk", k=1, progress=False), toy40, P)
    assert s.mmcs >= 0.999 and s.dead == 0 and s.worst > 0.99


def test_l1_with_40_latents_finds_the_40_to_10_features(toy40):
    s = score_sae(train_sae(toy40, P, d_sae=40, progress=False), toy40, P)
    assert s.mmcs >= 0.99
    assert s.shrinkage < 0.9  # the L1 penalty shrinks what it reconstructs


def test_l1_finds_the_pentagon_with_five_latents(pentagon):
    s = score_sae(train_sae(pentagon, P, d_sae=5, progress=False), pentagon, P)
    assert s.mmcs >= 0.995 and s.dead == 0



# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "relu"}, "kind must be one of"),
    ({"kind": "topk"}, "needs k"),
    ({"kind": "topk", "k": 0}, r"k must be an integer in \[1, d_sae=5\]"),
    ({"kind": "topk", "k": 6}, r"k must be an integer in \[1, d_sae=5\]"),
    ({"kind": "topk", "k": 2.5}, "k must be an integer"),
    ({"k": 2}, "leave it None"),
    ({"kind": "topk", "k": 1, "l1_coeff": 0.1}, "no L1 term"),
    ({"l1_coeff": -0.1}, "l1_coeff must be a finite number >= 0"),
    ({"l1_coeff": math.nan}, "l1_coeff must be a finite number >= 0"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"lr": 0}, "lr must be a positive finite number"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"instance": 1}, r"instance must be an integer in \[0, 1\)"),
    ({"resample_dead": "yes"}, "resample_dead must be True or False"),
    ({"snapshot_every": 0}, "snapshot_every must be a positive integer"),
    ({"dtype": torch.int64}, "dtype must be torch.float32 or torch.float64"),
    ({"d_sae": 10**12}, r"batch_size=1024 x d_sae=1000000000000 needs about .* GB of memory"),  # names d_sae
])
def test_train_sae_names_the_bad_argument(pentagon, kwargs, match):
    args = {"d_sae": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_sae(pentagon, P, **args)


@pytest.mark.parametrize("density, match", [(0.0, "density"), (1.5, "density"), ([0.1, 0.2], "density")])
def test_train_sae_rejects_bad_densities(pentagon, density, match):
    with pytest.raises(ValueError, match=match):
        train_sae(pentagon, density, d_sae=5)


def test_train_sae_rejects_a_model_that_is_not_a_toy_model():
    with pytest.raises(ValueError, match="model must be a ToyModel"):
        train_sae(torch.zeros(5, 2), P, d_sae=5)
    with pytest.raises(TypeError):
        train_sae(ToyModel(5, 2), P, 5)  # d_sae is keyword-only


def test_train_sae_rejects_a_nan_model():
    model = ToyModel(5, 2)
    with torch.no_grad():
        model.W[0, 0, 0] = math.nan
    with pytest.raises(ValueError, match="model.W holds non-finite values"):
        train_sae(model, P, d_sae=5)


def test_the_sae_rejects_bad_inputs():
    sae = SparseAutoencoder(3, 4)
    with pytest.raises(ValueError, match=r"h must have shape \[batch, d_in=3\]"):
        sae.encode(torch.zeros(2, 4))
    with pytest.raises(TypeError, match="h is torch.float64 but the model computes in torch.float32"):
        sae.encode(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="h must be a torch.Tensor"):
        sae.encode([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"z must have shape \[batch, d_sae=4\]"):
        sae.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="d_sae must be a positive integer"):
        SparseAutoencoder(3, 0)
    with pytest.raises(ValueError, match="fires must be a bool tensor"):
        mmcs(torch.ones(2, 3), torch.ones(4, 3), torch.ones(4))
    with pytest.raises(ValueError, match="must share d"):
        mmcs(torch.ones(2, 3), torch.ones(4, 2))


def test_score_sae_rejects_a_mismatched_sae(pentagon):
    with pytest.raises(ValueError, match="d_in=3 but the toy model has n_hidden=2"):
        score_sae(SparseAutoencoder(3, 5), pentagon, P)
    with pytest.raises(ValueError, match="sae must be a SparseAutoencoder"):
        score_sae(pentagon, pentagon, P)
    with pytest.raises(ValueError, match="no snapshots"):
        score_snapshots(SparseAutoencoder(2, 5), pentagon, P)
