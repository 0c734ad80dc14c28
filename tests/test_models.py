"""β-VAE, fusion regressor and DSCRNN: shapes, loss values, learning, saving, determinism."""

import numpy as np
import pytest
import torch

from kecg.models import (
    DSCRNN,
    BetaVAE,
    PotassiumRegressor,
    VAEConfig,
    encode,
    load_vae,
    save_model,
    setup_torch,
    train_regressor,
    train_supervised,
    train_vae,
    vae_loss,
)

CPU = torch.device("cpu")


def toy_beats(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two-lead 128-sample beats: an R spike and a T wave whose height grows with K."""
    rng = np.random.default_rng(seed)
    k = rng.uniform(3.5, 8.0, n)
    t = np.arange(128)
    r = np.exp(-0.5 * ((t - 40) / 2.0) ** 2)
    tw = np.exp(-0.5 * ((t[None] - 90) / 8.0) ** 2) * (0.1 * k[:, None])
    beats = np.stack([r + tw, 1.5 * r + 1.5 * tw], axis=1)
    return (beats + rng.normal(0, 0.01, beats.shape)).astype(np.float32), k


@pytest.mark.parametrize("downsample", [0, 2])
def test_vae_shapes(downsample):
    cfg = VAEConfig(channels=4, depth=2, width=128, latent_dim=3, downsample=downsample)
    model = BetaVAE(cfg).eval()
    recon, mu, sigma = model(torch.randn(5, 2, 128))
    assert recon.shape == (5, 2, 128) and mu.shape == sigma.shape == (5, 3)
    assert (sigma >= cfg.softplus_eps).all()
    assert model.mu.in_features == 4 * 128 // 2**downsample


def test_vae_loss_values():
    x = torch.zeros(2, 1, 4)
    mu, sigma = torch.zeros(2, 3), torch.ones(2, 3)
    total, rec, kl = vae_loss(x, x + 0.5, mu, sigma, beta=2.0, reconstruction_loss="mae")
    assert rec.item() == pytest.approx(2.0) and kl.item() == pytest.approx(0.0)
    _, _, kl1 = vae_loss(x, x, torch.ones(2, 3), sigma, beta=2.0)
    assert kl1.item() == pytest.approx(1.5)  # 0.5·μ² per dim, 3 dims
    total, rec, _ = vae_loss(x, x + 2.0, torch.ones(2, 3), sigma, 2.0, "mse")
    assert rec.item() == pytest.approx(16.0) and total.item() == pytest.approx(19.0)
    with pytest.raises(ValueError):
        vae_loss(x, x, mu, sigma, 1.0, "l3")


def test_vae_learns_and_is_deterministic(tmp_path):
    setup_torch(0, 1, "cpu")
    beats, _ = toy_beats(96)
    cfg = VAEConfig(channels=4, depth=2, width=128, latent_dim=2, downsample=2)
    kwargs = dict(beta=1.0, reconstruction_loss="mse", epochs=30, batch_size=16)
    kwargs |= dict(learning_rate=1e-2, seed=0, device=CPU)
    model, manifest = train_vae(beats[:64], beats[64:], cfg, **kwargs)
    assert manifest["best_val"]["val_loss"] < 0.5 * manifest_first_val(beats, cfg, kwargs)
    again, _ = train_vae(beats[:64], beats[64:], cfg, **kwargs)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    save_model(tmp_path / "vae", model, manifest)
    loaded, m2 = load_vae(tmp_path / "vae")
    np.testing.assert_array_equal(encode(model, manifest, beats), encode(loaded, m2, beats))
    assert m2["norm_std_mv"] == pytest.approx(beats[:64].std(axis=(0, 2)).tolist(), rel=1e-5)


def manifest_first_val(beats, cfg, kwargs):
    """Validation loss after the first epoch of the same run."""
    first = []
    train_vae(
        beats[:64],
        beats[64:],
        cfg,
        **(kwargs | {"epochs": 1}),
        on_epoch=lambda e, r: first.append(r),
    )
    return first[0]["val_loss"]


def test_regressor_fits_a_linear_function_with_nan_imputed():
    setup_torch(0, 1, "cpu")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = 5.0 + 0.8 * x[:, 0] - 0.5 * x[:, 1]
    x[::10, 2] = np.nan
    fitted, history = train_supervised(
        PotassiumRegressor(3, hidden=(32, 16), dropout=0.0),
        x[:300], y[:300], x[300:], y[300:],
        scale_axis=0, impute_nan=True, epochs=60, batch_size=32, learning_rate=3e-3,
        patience=20, clip_norm=1.0, seed=0, device=CPU,
    )  # fmt: skip
    assert np.mean(np.abs(fitted.predict(x[300:]) - y[300:])) < 0.12  # y spans ±2 mmol/L
    assert fitted.impute.shape == (1, 3) and np.isfinite(fitted.impute).all()
    assert history[-1]["val_loss"] < history[0]["val_loss"]


def test_ensemble_predicts_the_mean_of_members_fitted_with_their_own_seeds():
    setup_torch(0, 1, "cpu")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 4))
    y = 5.0 + 0.7 * x[:, 0] + 0.3 * np.tanh(x[:, 1]) + rng.normal(0, 0.1, 300)
    options = dict(epochs=40, batch_size=32, learning_rate=3e-3, patience=10, clip_norm=1.0)
    fitted, histories = train_regressor(
        x[:200], y[:200], x[200:], y[200:], hidden=(16, 8), dropout=0.1, members=3, seed=5,
        device=CPU, **options,
    )  # fmt: skip
    assert len(histories) == 3 and len(fitted.net.members) == 3
    z = torch.as_tensor((x[200:] - fitted.x_mean) / fitted.x_std, dtype=torch.float32)
    with torch.no_grad():
        each = torch.cat([m(z) for m in fitted.net.members], dim=-1)
    np.testing.assert_allclose(
        fitted.predict(x[200:]), each.mean(dim=-1).double().numpy() * fitted.y_std + fitted.y_mean,
        rtol=1e-6,
    )  # fmt: skip
    assert float(each.std(dim=-1).mean()) > 1e-3  # different seeds, different members
    second, _ = train_regressor(
        x[:200], y[:200], x[200:], y[200:], hidden=(16, 8), dropout=0.1, members=1, seed=6,
        device=CPU, **options,
    )  # fmt: skip
    with torch.no_grad():
        member1 = fitted.net.members[1](z).squeeze(-1)
        alone = second.net(z)
    assert torch.allclose(member1, alone, atol=1e-5)  # member i is the seed + i model
    assert np.mean(np.abs(fitted.predict(x[200:]) - y[200:])) < 0.2


def test_regressor_refuses_nan_without_imputation():
    x = np.ones((4, 2))
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train_supervised(
            PotassiumRegressor(2), x, np.ones(4), x, np.ones(4), scale_axis=0, impute_nan=False,
            epochs=1, batch_size=2, learning_rate=1e-3, patience=0, clip_norm=0, seed=0, device=CPU,
        )  # fmt: skip


def test_seed_regressor_architecture():
    net = PotassiumRegressor(73)
    linear = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (73, 512),
        (512, 256),
        (256, 128),
        (128, 1),
    ]


def test_dscrnn_is_small_and_learns_t_height():
    setup_torch(0, 1, "cpu")
    beats, k = toy_beats(160, seed=2)
    net = DSCRNN(1, channels=8, n_blocks=3, kernel_size=5, lstm_hidden=8)
    assert sum(p.numel() for p in net.parameters()) < 4000
    fitted, _ = train_supervised(
        net, beats[:120, :1], k[:120], beats[120:, :1], k[120:], scale_axis=(0, 1, 2),
        impute_nan=False, epochs=25, batch_size=16, learning_rate=5e-3, patience=0,
        clip_norm=1.0, seed=0, device=CPU,
    )  # fmt: skip
    mae = np.mean(np.abs(fitted.predict(beats[120:, :1]) - k[120:]))
    assert mae < 0.6 * np.mean(np.abs(k[120:] - k[:120].mean()))
